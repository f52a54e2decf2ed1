//! JSON key order on the wire without serde_json's `preserve_order`: the crates leave that
//! feature to their users (Cargo unifies features, so turning it on here would make every
//! user's `serde_json::Value` IndexMap-backed), and write the keys the wire orders from structs
//! or from the text the peer sent.

use std::time::{Duration, Instant};

use engineio_proto::{CloseReason, Message};
use serde_json::json;
use socketio_proto::client::{ClientConfig, ClientConn};
use socketio_proto::server::{ConnEvent, ConnId, ServerConfig, ServerConn};
use socketio_proto::SocketIoVersion;

/// No crate this test is built with turns on `preserve_order` (none of ours in their normal
/// dependencies, nor a dev-dependency here): a `serde_json::Map` iterates sorted. With
/// `cargo test --workspace` the build unifies the features of every workspace member, so this
/// covers all of them.
#[test]
fn serde_json_maps_stay_sorted_without_preserve_order() {
    let mut map = serde_json::Map::new();
    map.insert("b".into(), json!(1));
    map.insert("a".into(), json!(2));
    assert_eq!(map.keys().collect::<Vec<_>>(), ["a", "b"]);
    assert_eq!(
        serde_json::Value::Object(map).to_string(),
        r#"{"a":2,"b":1}"#
    );
}

fn text(message: Message) -> String {
    match message {
        Message::Text(t) => t.to_string(),
        Message::Binary(b) => panic!("binary {b:?}"),
    }
}

/// The server keeps the auth payload as the client wrote it, to be passed on verbatim.
#[test]
fn connect_auth_json_keeps_the_client_key_order() {
    #[allow(clippy::disallowed_methods)]
    let now = Instant::now();
    let config = std::sync::Arc::new(ServerConfig::default());
    let mut conn = ServerConn::new(now, ConnId::new("e1"), SocketIoVersion::V5, config);
    let sent = r#"{"z":1,"a":{"y":2,"b":[3]}}"#;
    conn.handle_message(now, Message::Text(format!("0/admin,{sent}").into()));
    let Some(ConnEvent::Connect(req)) = conn.poll_event() else {
        panic!("a CONNECT")
    };
    assert_eq!(&req.auth_json()[..], sent);
    assert_eq!(req.auth(), &json!({"z": 1, "a": {"y": 2, "b": [3]}}));
    conn.handle_message(now, Message::Text("0/other,".into()));
    let Some(ConnEvent::Connect(req)) = conn.poll_event() else {
        panic!("a CONNECT")
    };
    assert_eq!((&req.auth_json()[..], req.auth()), ("{}", &json!({})));
}

/// socketio.md §7: a recovering client's CONNECT has `pid` and `offset` first, then its auth.
#[test]
fn client_connect_payload_puts_pid_and_offset_first() {
    #[allow(clippy::disallowed_methods)]
    let now = Instant::now();
    let mut client = ClientConn::new(now, ClientConfig::default());
    client.connect("/", Some(json!({"token": "t", "pid": "mine"})));
    client.handle_engine_open(now, "e1");
    assert_eq!(
        text(client.poll_transmit().unwrap()),
        r#"0{"pid":"mine","token":"t"}"#
    );
    client.handle_message(now, Message::Text(r#"0{"sid":"s1","pid":"P1"}"#.into()));
    client.handle_message(now, Message::Text(r#"2["news",1,"O7"]"#.into()));
    client.handle_engine_closed(now, CloseReason::TransportClose);
    let later = now + Duration::from_secs(10);
    client.handle_timeout(later);
    client.handle_engine_open(later, "e2");
    assert_eq!(
        text(client.poll_transmit().unwrap()),
        r#"0{"pid":"P1","offset":"O7","token":"t"}"#
    );
}
