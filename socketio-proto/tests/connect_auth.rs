//! The auth a CONNECT carries: protocol v5's JSON payload, protocol v4's namespace query
//! (socketio.md §8; socket.io-client 2.x sends `0/custom?token=abc,`).

use std::sync::Arc;
use std::time::Instant;

use engineio_proto::Message;
use serde_json::json;
use socketio_proto::server::{ConnEvent, ConnId, ConnectRequest, Server, ServerConfig, ServerConn};
use socketio_proto::{Nsp, SocketIoVersion};

#[allow(clippy::disallowed_methods)]
fn start() -> Instant {
    Instant::now()
}

fn server() -> Server {
    let mut server = Server::new(ServerConfig::default(), Box::new(|b: &mut [u8]| b.fill(7)));
    server.add_namespace("/");
    server.add_namespace("/custom");
    server
}

fn conn(now: Instant, version: SocketIoVersion) -> ServerConn {
    ServerConn::new(
        now,
        ConnId::new("sid-0001"),
        version,
        Arc::new(ServerConfig::default()),
    )
}

/// Feeds `text` and returns the CONNECT request it makes.
fn connect_request(now: Instant, conn: &mut ServerConn, text: &str) -> ConnectRequest {
    conn.handle_message(now, Message::Text(text.into()));
    match conn.poll_event() {
        Some(ConnEvent::Connect(req)) => req,
        other => panic!("{text:?}: expected a CONNECT, got {other:?}"),
    }
}

fn transmits(conn: &mut ServerConn) -> Vec<String> {
    std::iter::from_fn(|| conn.poll_transmit())
        .map(|out| match out.message {
            Message::Text(t) => t.to_string(),
            Message::Binary(b) => format!("<{b:?}>"),
        })
        .collect()
}

#[test]
fn v4_connect_query_becomes_auth() {
    let now = start();
    let mut server = server();
    let mut conn = conn(now, SocketIoVersion::V4);

    // The implicit `/` of a v4 connection: no query, empty auth.
    let main = match conn.poll_event() {
        Some(ConnEvent::Connect(req)) => req,
        other => panic!("expected the implicit CONNECT to `/`, got {other:?}"),
    };
    assert_eq!(
        (main.nsp(), main.auth(), main.query()),
        (&Nsp::main(), &json!({}), None)
    );
    let main = server.resolve(&mut conn, main).expect("`/` exists");
    server.accept(now, &mut conn, main);
    assert_eq!(transmits(&mut conn), ["0"]);

    let req = connect_request(now, &mut conn, "0/custom?token=abc&name=a%20b+%C3%A9,");
    assert_eq!(req.nsp().as_str(), "/custom");
    assert_eq!(req.auth(), &json!({"token": "abc", "name": "a b é"}));
    assert_eq!(req.query(), Some("token=abc&name=a%20b+%C3%A9"));
    let req = server.resolve(&mut conn, req).expect("`/custom` exists");
    let accepted = server.accept(now, &mut conn, req);
    // The v4 ack names the namespace without the query, and carries no payload.
    assert_eq!(transmits(&mut conn), ["0/custom,"]);
    assert_eq!(accepted.socket.as_str(), "/custom#sid-0001");
    assert!(conn.poll_event().is_none());
}

#[test]
fn v4_connect_without_query_has_empty_auth() {
    let now = start();
    for text in ["0/custom,", "0/custom", "0/custom?,"] {
        let mut conn = conn(now, SocketIoVersion::V4);
        let _ = conn.poll_event();
        let req = connect_request(now, &mut conn, text);
        assert_eq!(
            (req.nsp().as_str(), req.auth()),
            ("/custom", &json!({})),
            "{text:?}"
        );
    }
}

/// The reference reads only the query of an EIO3 client's CONNECT: a JSON payload (which a
/// 2.x client never sends) is not its auth.
#[test]
fn v4_connect_json_payload_is_not_auth() {
    let now = start();
    for (text, auth) in [
        (r#"0/custom,{"token":"abc"}"#, json!({})),
        (r#"0/custom?token=q,{"token":"abc"}"#, json!({"token": "q"})),
    ] {
        let mut conn = conn(now, SocketIoVersion::V4);
        let _ = conn.poll_event();
        let req = connect_request(now, &mut conn, text);
        assert_eq!(req.auth(), &auth, "{text:?}");
    }
}

/// Repeated keys, keys without `=`: what `Object.fromEntries(url.searchParams)` gives.
#[test]
fn v4_connect_query_repeated_and_bare_keys_follow_the_reference() {
    let now = start();
    let mut conn = conn(now, SocketIoVersion::V4);
    let _ = conn.poll_event();
    let req = connect_request(now, &mut conn, "0/custom?a=1&flag&a=2&=x&b=%zz#frag,");
    assert_eq!(
        req.auth(),
        &json!({"a": "2", "flag": "", "": "x", "b": "%zz"})
    );
}

/// v5 clients send their auth as the CONNECT payload; a query after the namespace is only
/// split off the name, never read as auth.
#[test]
fn v5_connect_query_is_not_auth() {
    let now = start();
    for (text, auth) in [
        (r#"0/custom?token=abc,{"n":1}"#, json!({"n": 1})),
        ("0/custom?token=abc,", json!({})),
        (r#"0/custom,{"token":"abc"}"#, json!({"token": "abc"})),
    ] {
        let mut conn = conn(now, SocketIoVersion::V5);
        let req = connect_request(now, &mut conn, text);
        assert_eq!(
            (req.nsp().as_str(), req.auth()),
            ("/custom", &auth),
            "{text:?}"
        );
    }
}

/// The auth a connect middleware decides on is the query: refusing by it answers the v4 way
/// (the ERROR payload is the data, or the message), and the connection stays usable.
#[test]
fn v4_connect_query_auth_is_what_the_application_decides_on() {
    let now = start();
    let mut server = server();
    let mut conn = conn(now, SocketIoVersion::V4);
    let main = match conn.poll_event() {
        Some(ConnEvent::Connect(req)) => req,
        other => panic!("{other:?}"),
    };
    let main = server.resolve(&mut conn, main).unwrap();
    server.accept(now, &mut conn, main);
    let _ = transmits(&mut conn);

    let req = connect_request(now, &mut conn, "0/custom?token=bad,");
    let req = server.resolve(&mut conn, req).unwrap();
    // The application answers with what it saw (v4: the data is the ERROR payload).
    let seen = req.auth().clone();
    conn.reject(req, "not authorized", Some(seen));
    assert_eq!(transmits(&mut conn), [r#"4/custom,{"token":"bad"}"#]);
    assert!(!conn.is_closed());

    // A new attempt with another token is a new request with its own auth.
    let req = connect_request(now, &mut conn, "0/custom?token=good,");
    assert_eq!(req.auth(), &json!({"token": "good"}));
    let req = server.resolve(&mut conn, req).unwrap();
    server.accept(now, &mut conn, req);
    assert_eq!(transmits(&mut conn), ["0/custom,"]);
}

/// Room events (what a sharded fleet adapter follows) are recorded for namespaces declared
/// after they were turned on, as for those declared before.
#[test]
fn room_events_cover_namespaces_declared_after_turning_them_on() {
    let now = start();
    let mut server = Server::new(ServerConfig::default(), Box::new(|b: &mut [u8]| b.fill(7)));
    server.record_room_events(true);
    server.add_namespace("/");
    let mut c = conn(now, SocketIoVersion::V5);
    let req = connect_request(now, &mut c, "0");
    let socket = server.accept(now, &mut c, req).socket;
    server.join(&Nsp::main(), &socket, "news");
    let mut created = Vec::new();
    while let Some((nsp, event)) = server.poll_room_event() {
        assert_eq!(nsp, Nsp::main());
        if let socketio_proto::rooms::RoomEvent::Created(room) = event {
            created.push(room.as_str().to_owned());
        }
    }
    assert_eq!(created, [socket.as_str().to_owned(), "news".to_owned()]);
}

/// The reference's decoder rejects a CONNECT whose payload is not JSON and closes the
/// connection; ours reads the payload when the CONNECT is handled, with the same outcome.
#[test]
fn connect_with_malformed_payload_closes_the_connection() {
    for (text, version) in [
        ("0{", SocketIoVersion::V5),
        (r#"0{"token":}"#, SocketIoVersion::V5),
        (r#"0/custom,{"a":1"#, SocketIoVersion::V5),
        (r#"0{"a":1}x"#, SocketIoVersion::V5),
        (r#"0/custom,{"a":1"#, SocketIoVersion::V4),
    ] {
        let now = start();
        let mut conn = conn(now, version);
        if version == SocketIoVersion::V4 {
            // The implicit CONNECT to `/`.
            assert!(matches!(conn.poll_event(), Some(ConnEvent::Connect(_))));
        }
        conn.handle_message(now, Message::Text(text.into()));
        assert!(
            matches!(conn.poll_event(), Some(ConnEvent::Closed(_))),
            "{text}"
        );
        assert!(conn.is_closed(), "{text}");
    }
}
