use std::net::SocketAddr;
use std::time::Duration;

use futures_util::SinkExt;
use tokio_tungstenite::tungstenite::Message;

use super::support::{check_v4_handshake, fetch, get, next, next_text, post, ws, Ws};

const PING_INTERVAL: u64 = 300;
const PING_TIMEOUT: u64 = 200;
const WS: &str = "/socket.io/?EIO=4&transport=websocket";
const POLLING: &str = "/socket.io/?EIO=4&transport=polling";

async fn server() -> SocketAddr {
    super::support::start(RT, false).await
}

async fn init_long_polling_session(addr: SocketAddr) -> String {
    let (_, content) = get(addr, POLLING).await;
    let v: serde_json::Value = serde_json::from_str(&content[1..]).unwrap();
    v["sid"].as_str().unwrap().to_owned()
}

fn polling(sid: &str) -> String {
    format!("{POLLING}&sid={sid}")
}

/// The next frame that is not a ping, as the suite's `waitForPackets` skips them.
async fn next_packet(ws: &mut Ws) -> Option<Message> {
    loop {
        match next(ws).await {
            Some(Message::Text(t)) if t.as_str() == "2" => continue,
            other => return other,
        }
    }
}

async fn next_packet_text(ws: &mut Ws) -> String {
    match next_packet(ws).await {
        Some(Message::Text(t)) => t.as_str().to_owned(),
        other => panic!("expected a text frame, got {other:?}"),
    }
}

/// `initSocketIOConnection`: Engine.IO handshake, `40`, the CONNECT reply, the `auth` event.
async fn init_socketio_connection(addr: SocketAddr) -> Ws {
    let mut socket = ws(addr, WS).await.unwrap();
    next_text(&mut socket).await; // Engine.IO handshake
    socket.send(Message::text("40")).await.unwrap();
    next_text(&mut socket).await; // Socket.IO handshake
    next_text(&mut socket).await; // "auth" packet
    socket
}


// Engine.IO protocol, at /socket.io/

#[tokio::test]
async fn engineio_handshake_polling_should_successfully_open_a_session() {
    let addr = server().await;
    let (status, content) = get(addr, POLLING).await;
    assert_eq!(status, 200);
    check_v4_handshake(&content, serde_json::json!(["websocket"]));
}

#[tokio::test]
async fn engineio_handshake_polling_should_fail_with_invalid_eio_transport_or_method() {
    let addr = server().await;
    assert_eq!(get(addr, "/socket.io/?transport=polling").await.0, 400);
    assert_eq!(
        get(addr, "/socket.io/?EIO=abc&transport=polling").await.0,
        400
    );
    assert_eq!(get(addr, "/socket.io/?EIO=4").await.0, 400);
    assert_eq!(get(addr, "/socket.io/?EIO=4&transport=abc").await.0, 400);
    assert_eq!(post(addr, POLLING, "").await.0, 400);
    assert_eq!(fetch(addr, "PUT", POLLING, "").await.0, 400);
}

#[tokio::test]
async fn engineio_handshake_websocket_should_successfully_open_a_session() {
    let addr = server().await;
    let mut socket = ws(addr, WS).await.unwrap();
    check_v4_handshake(&next_text(&mut socket).await, serde_json::json!([]));
}

#[tokio::test]
async fn engineio_handshake_websocket_should_fail_with_invalid_eio_or_transport() {
    let addr = server().await;
    for uri in [
        "/socket.io/?transport=websocket",
        "/socket.io/?EIO=abc&transport=websocket",
        "/socket.io/?EIO=4",
        "/socket.io/?EIO=4&transport=abc",
    ] {
        assert!(ws(addr, uri).await.is_err(), "{uri}");
    }
}

#[tokio::test]
async fn engineio_heartbeat_polling_should_send_ping_pong_packets() {
    let addr = server().await;
    let sid = init_long_polling_session(addr).await;
    for _ in 0..3 {
        assert_eq!(get(addr, &polling(&sid)).await, (200, "2".to_owned()));
        assert_eq!(post(addr, &polling(&sid), "3").await.0, 200);
    }
}

#[tokio::test]
async fn engineio_heartbeat_polling_should_close_the_session_upon_ping_timeout() {
    let addr = server().await;
    let sid = init_long_polling_session(addr).await;
    tokio::time::sleep(Duration::from_millis(PING_INTERVAL + PING_TIMEOUT)).await;
    assert_eq!(get(addr, &polling(&sid)).await.0, 400);
}

#[tokio::test]
async fn engineio_heartbeat_websocket_should_send_ping_pong_packets() {
    let addr = server().await;
    let mut socket = ws(addr, WS).await.unwrap();
    next_text(&mut socket).await;
    for _ in 0..3 {
        assert_eq!(next_text(&mut socket).await, "2");
        socket.send(Message::text("3")).await.unwrap();
    }
}

#[tokio::test]
async fn engineio_heartbeat_websocket_should_close_the_session_upon_ping_timeout() {
    let addr = server().await;
    let mut socket = ws(addr, WS).await.unwrap();
    next_text(&mut socket).await;
    assert_eq!(next_packet(&mut socket).await, None);
}

#[tokio::test]
async fn engineio_close_polling_should_forcefully_close_the_session() {
    let addr = server().await;
    let sid = init_long_polling_session(addr).await;
    let poll = tokio::spawn({
        let uri = polling(&sid);
        async move { get(addr, &uri).await }
    });
    tokio::time::sleep(Duration::from_millis(5)).await;
    assert_eq!(post(addr, &polling(&sid), "1").await.0, 200);
    assert_eq!(poll.await.unwrap(), (200, "6".to_owned()));
    assert_eq!(get(addr, &polling(&sid)).await.0, 400);
}

#[tokio::test]
async fn engineio_close_websocket_should_forcefully_close_the_session() {
    let addr = server().await;
    let mut socket = ws(addr, WS).await.unwrap();
    next_text(&mut socket).await;
    socket.send(Message::text("1")).await.unwrap();
    assert_eq!(next_packet(&mut socket).await, None);
}

#[tokio::test]
async fn engineio_upgrade_should_successfully_upgrade_from_polling_to_websocket() {
    let addr = server().await;
    let sid = init_long_polling_session(addr).await;
    let mut socket = ws(addr, &format!("{WS}&sid={sid}")).await.unwrap();
    socket.send(Message::text("2probe")).await.unwrap();
    assert_eq!(next_text(&mut socket).await, "3probe");
    assert_eq!(get(addr, &polling(&sid)).await, (200, "6".to_owned()));
    socket.send(Message::text("5")).await.unwrap();
}

/// As the official case: `2probe` and `5` back to back, then the GET at once.
#[tokio::test]
async fn engineio_upgrade_should_ignore_http_requests_with_same_sid_after_upgrade() {
    let addr = server().await;
    let sid = init_long_polling_session(addr).await;
    let mut socket = ws(addr, &format!("{WS}&sid={sid}")).await.unwrap();
    socket.send(Message::text("2probe")).await.unwrap();
    socket.send(Message::text("5")).await.unwrap();
    assert_eq!(get(addr, &polling(&sid)).await.0, 400);
}

/// As the official case: the second WebSocket opens (a 101) and is then closed by the server.
#[tokio::test]
async fn engineio_upgrade_should_ignore_websocket_connection_with_same_sid_after_upgrade() {
    let addr = server().await;
    let sid = init_long_polling_session(addr).await;
    let mut socket = ws(addr, &format!("{WS}&sid={sid}")).await.unwrap();
    socket.send(Message::text("2probe")).await.unwrap();
    socket.send(Message::text("5")).await.unwrap();
    let mut socket2 = ws(addr, &format!("{WS}&sid={sid}"))
        .await
        .expect("the second WebSocket completes its handshake");
    assert_eq!(next(&mut socket2).await, None);
}

// Socket.IO protocol

async fn connect(addr: SocketAddr, packet: &str, reply_prefix: &str, auth: &str) {
    let mut socket = ws(addr, WS).await.unwrap();
    next_text(&mut socket).await; // Engine.IO handshake
    socket.send(Message::text(packet)).await.unwrap();
    let data = next_text(&mut socket).await;
    assert!(data.starts_with(reply_prefix), "{data}");
    let handshake: serde_json::Value = serde_json::from_str(&data[reply_prefix.len()..]).unwrap();
    let keys: Vec<&str> = handshake
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, ["sid"]);
    assert!(handshake["sid"].is_string());
    assert_eq!(next_text(&mut socket).await, auth);
}

#[tokio::test]
async fn socketio_connect_should_allow_connection_to_the_main_namespace() {
    connect(server().await, "40", "40", r#"42["auth",{}]"#).await;
}

#[tokio::test]
async fn socketio_connect_should_allow_connection_to_the_main_namespace_with_a_payload() {
    connect(
        server().await,
        r#"40{"token":"123"}"#,
        "40",
        r#"42["auth",{"token":"123"}]"#,
    )
    .await;
}

#[tokio::test]
async fn socketio_connect_should_allow_connection_to_a_custom_namespace() {
    connect(
        server().await,
        "40/custom,",
        "40/custom,",
        r#"42/custom,["auth",{}]"#,
    )
    .await;
}

#[tokio::test]
async fn socketio_connect_should_allow_connection_to_a_custom_namespace_with_a_payload() {
    connect(
        server().await,
        r#"40/custom,{"token":"abc"}"#,
        "40/custom,",
        r#"42/custom,["auth",{"token":"abc"}]"#,
    )
    .await;
}

#[tokio::test]
async fn socketio_connect_should_disallow_connection_to_an_unknown_namespace() {
    let addr = server().await;
    let mut socket = ws(addr, WS).await.unwrap();
    next_text(&mut socket).await;
    socket.send(Message::text("40/random")).await.unwrap();
    assert_eq!(
        next_text(&mut socket).await,
        r#"44/random,{"message":"Invalid namespace"}"#
    );
}

#[tokio::test]
async fn socketio_connect_should_disallow_connection_with_an_invalid_handshake() {
    let addr = server().await;
    let mut socket = ws(addr, WS).await.unwrap();
    next_text(&mut socket).await;
    socket.send(Message::text("4abc")).await.unwrap();
    assert_eq!(next_packet(&mut socket).await, None);
}

#[tokio::test]
async fn socketio_connect_should_close_the_connection_if_no_handshake_is_received() {
    let addr = server().await;
    let mut socket = ws(addr, WS).await.unwrap();
    next_text(&mut socket).await;
    // Answer the pings: only the connect timeout (1000 ms) may close it, not the heartbeat.
    let started = tokio::time::Instant::now();
    loop {
        match next(&mut socket).await {
            Some(Message::Text(t)) if t.as_str() == "2" => {
                socket.send(Message::text("3")).await.unwrap();
            }
            None => break,
            other => panic!("{other:?}"),
        }
    }
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(900), "{waited:?}");
}

#[tokio::test]
async fn socketio_disconnect_should_disconnect_from_the_main_namespace() {
    let addr = server().await;
    let mut socket = init_socketio_connection(addr).await;
    socket.send(Message::text("41")).await.unwrap();
    assert_eq!(next_text(&mut socket).await, "2");
}

#[tokio::test]
async fn socketio_disconnect_should_connect_then_disconnect_from_a_custom_namespace() {
    let addr = server().await;
    let mut socket = init_socketio_connection(addr).await;
    assert_eq!(next_text(&mut socket).await, "2"); // ping
    socket.send(Message::text("3")).await.unwrap();
    socket.send(Message::text("40/custom")).await.unwrap();
    next_text(&mut socket).await; // Socket.IO handshake
    next_text(&mut socket).await; // auth packet
    socket.send(Message::text("41/custom")).await.unwrap();
    socket
        .send(Message::text(
            r#"42["message","message to main namespace"]"#,
        ))
        .await
        .unwrap();
    assert_eq!(
        next_packet_text(&mut socket).await,
        r#"42["message-back","message to main namespace"]"#
    );
}

#[tokio::test]
async fn socketio_message_should_send_a_plain_text_packet() {
    let addr = server().await;
    let mut socket = init_socketio_connection(addr).await;
    socket
        .send(Message::text(r#"42["message",1,"2",{"3":[true]}]"#))
        .await
        .unwrap();
    assert_eq!(
        next_packet_text(&mut socket).await,
        r#"42["message-back",1,"2",{"3":[true]}]"#
    );
}

async fn binary_round_trip(header: &str, expected: &str) {
    let addr = server().await;
    let mut socket = init_socketio_connection(addr).await;
    socket.send(Message::text(header)).await.unwrap();
    socket.send(Message::binary(vec![1u8, 2, 3])).await.unwrap();
    socket.send(Message::binary(vec![4u8, 5, 6])).await.unwrap();
    assert_eq!(next_packet_text(&mut socket).await, expected);
    for bytes in [[1u8, 2, 3], [4, 5, 6]] {
        match next_packet(&mut socket).await {
            Some(Message::Binary(b)) => assert_eq!(&b[..], &bytes),
            other => panic!("{other:?}"),
        }
    }
}

#[tokio::test]
async fn socketio_message_should_send_a_packet_with_binary_attachments() {
    binary_round_trip(
        r#"452-["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#,
        r#"452-["message-back",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#,
    )
    .await;
}

#[tokio::test]
async fn socketio_message_should_send_a_plain_text_packet_with_an_ack() {
    let addr = server().await;
    let mut socket = init_socketio_connection(addr).await;
    socket
        .send(Message::text(
            r#"42456["message-with-ack",1,"2",{"3":[false]}]"#,
        ))
        .await
        .unwrap();
    assert_eq!(
        next_packet_text(&mut socket).await,
        r#"43456[1,"2",{"3":[false]}]"#
    );
}

#[tokio::test]
async fn socketio_message_should_send_a_packet_with_binary_attachments_and_an_ack() {
    binary_round_trip(
        r#"452-789["message-with-ack",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#,
        r#"462-789[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#,
    )
    .await;
}

async fn closes_upon(packet: &str) {
    let addr = server().await;
    let mut socket = init_socketio_connection(addr).await;
    socket.send(Message::text(packet)).await.unwrap();
    assert_eq!(next_packet(&mut socket).await, None, "{packet}");
}

#[tokio::test]
async fn socketio_message_should_close_the_connection_upon_invalid_format_unknown_packet_type() {
    closes_upon("4abc").await;
}

#[tokio::test]
async fn socketio_message_should_close_the_connection_upon_invalid_format_invalid_payload_format() {
    closes_upon("42{}").await;
}

#[tokio::test]
async fn socketio_message_should_close_the_connection_upon_invalid_format_invalid_ack_id() {
    closes_upon(r#"42abc["message-with-ack",1,"2",{"3":[false]}]"#).await;
}
