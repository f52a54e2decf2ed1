use std::net::SocketAddr;
use std::time::Duration;

use futures_util::SinkExt;
use tokio_tungstenite::tungstenite::Message;

use super::support::{check_v4_handshake, fetch, get, next, next_text, post, ws};

const PING_INTERVAL: u64 = 300;
const PING_TIMEOUT: u64 = 200;

async fn server() -> SocketAddr {
    super::support::start(RT, false).await
}

async fn init_long_polling_session(addr: SocketAddr) -> String {
    let (_, content) = get(addr, "/engine.io/?EIO=4&transport=polling").await;
    let v: serde_json::Value = serde_json::from_str(&content[1..]).unwrap();
    v["sid"].as_str().unwrap().to_owned()
}


// handshake / HTTP long-polling

#[tokio::test]
async fn handshake_polling_successfully_opens_a_session() {
    let addr = server().await;
    let (status, content) = get(addr, "/engine.io/?EIO=4&transport=polling").await;
    assert_eq!(status, 200);
    check_v4_handshake(&content, serde_json::json!(["websocket"]));
}

#[tokio::test]
async fn handshake_polling_fails_with_an_invalid_eio_query_parameter() {
    let addr = server().await;
    assert_eq!(get(addr, "/engine.io/?transport=polling").await.0, 400);
    assert_eq!(
        get(addr, "/engine.io/?EIO=abc&transport=polling").await.0,
        400
    );
}

#[tokio::test]
async fn handshake_polling_fails_with_an_invalid_transport_query_parameter() {
    let addr = server().await;
    assert_eq!(get(addr, "/engine.io/?EIO=4").await.0, 400);
    assert_eq!(get(addr, "/engine.io/?EIO=4&transport=abc").await.0, 400);
}

#[tokio::test]
async fn handshake_polling_fails_with_an_invalid_request_method() {
    let addr = server().await;
    assert_eq!(
        post(addr, "/engine.io/?EIO=4&transport=polling", "")
            .await
            .0,
        400
    );
    assert_eq!(
        fetch(addr, "PUT", "/engine.io/?EIO=4&transport=polling", "")
            .await
            .0,
        400
    );
}

// handshake / WebSocket

#[tokio::test]
async fn handshake_websocket_successfully_opens_a_session() {
    let addr = server().await;
    let mut socket = ws(addr, "/engine.io/?EIO=4&transport=websocket")
        .await
        .unwrap();
    let data = next_text(&mut socket).await;
    check_v4_handshake(&data, serde_json::json!([]));
}

#[tokio::test]
async fn handshake_websocket_fails_with_an_invalid_eio_query_parameter() {
    let addr = server().await;
    assert!(ws(addr, "/engine.io/?transport=websocket").await.is_err());
    assert!(ws(addr, "/engine.io/?EIO=abc&transport=websocket")
        .await
        .is_err());
}

#[tokio::test]
async fn handshake_websocket_fails_with_an_invalid_transport_query_parameter() {
    let addr = server().await;
    assert!(ws(addr, "/engine.io/?EIO=4").await.is_err());
    assert!(ws(addr, "/engine.io/?EIO=4&transport=abc").await.is_err());
}

// message / HTTP long-polling

async fn round_trip_polling(body: &str) {
    let addr = server().await;
    let sid = init_long_polling_session(addr).await;
    let uri = format!("/engine.io/?EIO=4&transport=polling&sid={sid}");
    assert_eq!(post(addr, &uri, body).await, (200, "ok".to_owned()));
    assert_eq!(get(addr, &uri).await, (200, body.to_owned()));
}

#[tokio::test]
async fn message_polling_one_plain_text_packet() {
    round_trip_polling("4hello").await;
}

#[tokio::test]
async fn message_polling_several_plain_text_packets() {
    round_trip_polling("4test1\x1e4test2\x1e4test3").await;
}

#[tokio::test]
async fn message_polling_plain_text_and_binary_packets() {
    round_trip_polling("4hello\x1ebAQIDBA==").await;
}

#[tokio::test]
async fn message_polling_closes_the_session_upon_invalid_packet_format() {
    let addr = server().await;
    let sid = init_long_polling_session(addr).await;
    let uri = format!("/engine.io/?EIO=4&transport=polling&sid={sid}");
    // The suite accepts any answer here (the reference says `ok`); the session must be gone.
    let _ = post(addr, &uri, "abc").await;
    assert_eq!(get(addr, &uri).await.0, 400);
}

#[tokio::test]
async fn message_polling_closes_the_session_upon_duplicate_poll_requests() {
    let addr = server().await;
    let sid = init_long_polling_session(addr).await;
    let uri = format!("/engine.io/?EIO=4&transport=polling&sid={sid}");
    let first = tokio::spawn({
        let uri = uri.clone();
        async move { get(addr, &uri).await }
    });
    tokio::time::sleep(Duration::from_millis(5)).await;
    let second = get(addr, &format!("{uri}&t=burst")).await;
    let first = first.await.unwrap();
    assert_eq!(first, (200, "1".to_owned()));
    assert!(matches!(second.0, 400 | 500), "{second:?}");
    assert_eq!(get(addr, &uri).await.0, 400);
}

// message / WebSocket

#[tokio::test]
async fn message_websocket_plain_text_packet() {
    let addr = server().await;
    let mut socket = ws(addr, "/engine.io/?EIO=4&transport=websocket")
        .await
        .unwrap();
    next_text(&mut socket).await; // handshake
    socket.send(Message::text("4hello")).await.unwrap();
    assert_eq!(next_text(&mut socket).await, "4hello");
}

#[tokio::test]
async fn message_websocket_binary_packet() {
    let addr = server().await;
    let mut socket = ws(addr, "/engine.io/?EIO=4&transport=websocket")
        .await
        .unwrap();
    next_text(&mut socket).await;
    socket
        .send(Message::binary(vec![1u8, 2, 3, 4]))
        .await
        .unwrap();
    match next(&mut socket).await {
        Some(Message::Binary(b)) => assert_eq!(&b[..], &[1, 2, 3, 4]),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn message_websocket_closes_the_session_upon_invalid_packet_format() {
    let addr = server().await;
    let mut socket = ws(addr, "/engine.io/?EIO=4&transport=websocket")
        .await
        .unwrap();
    next_text(&mut socket).await;
    socket.send(Message::text("abc")).await.unwrap();
    assert_eq!(next(&mut socket).await, None);
}

// heartbeat

#[tokio::test]
async fn heartbeat_polling_sends_ping_pong_packets() {
    let addr = server().await;
    let sid = init_long_polling_session(addr).await;
    let uri = format!("/engine.io/?EIO=4&transport=polling&sid={sid}");
    for _ in 0..3 {
        assert_eq!(get(addr, &uri).await, (200, "2".to_owned()));
        assert_eq!(post(addr, &uri, "3").await.0, 200);
    }
}

#[tokio::test]
async fn heartbeat_polling_closes_the_session_upon_ping_timeout() {
    let addr = server().await;
    let sid = init_long_polling_session(addr).await;
    tokio::time::sleep(Duration::from_millis(PING_INTERVAL + PING_TIMEOUT)).await;
    let uri = format!("/engine.io/?EIO=4&transport=polling&sid={sid}");
    assert_eq!(get(addr, &uri).await.0, 400);
}

#[tokio::test]
async fn heartbeat_websocket_sends_ping_pong_packets() {
    let addr = server().await;
    let mut socket = ws(addr, "/engine.io/?EIO=4&transport=websocket")
        .await
        .unwrap();
    next_text(&mut socket).await;
    for _ in 0..3 {
        assert_eq!(next_text(&mut socket).await, "2");
        socket.send(Message::text("3")).await.unwrap();
    }
}

#[tokio::test]
async fn heartbeat_websocket_closes_the_session_upon_ping_timeout() {
    let addr = server().await;
    let mut socket = ws(addr, "/engine.io/?EIO=4&transport=websocket")
        .await
        .unwrap();
    next_text(&mut socket).await; // handshake
    assert_eq!(next_text(&mut socket).await, "2");
    assert_eq!(next(&mut socket).await, None);
}

// close

#[tokio::test]
async fn close_polling_forcefully_closes_the_session() {
    let addr = server().await;
    let sid = init_long_polling_session(addr).await;
    let uri = format!("/engine.io/?EIO=4&transport=polling&sid={sid}");
    let poll = tokio::spawn({
        let uri = uri.clone();
        async move { get(addr, &uri).await }
    });
    tokio::time::sleep(Duration::from_millis(5)).await;
    assert_eq!(post(addr, &uri, "1").await.0, 200);
    assert_eq!(poll.await.unwrap(), (200, "6".to_owned()));
    assert_eq!(get(addr, &uri).await.0, 400);
}

#[tokio::test]
async fn close_websocket_forcefully_closes_the_session() {
    let addr = server().await;
    let mut socket = ws(addr, "/engine.io/?EIO=4&transport=websocket")
        .await
        .unwrap();
    next_text(&mut socket).await;
    socket.send(Message::text("1")).await.unwrap();
    assert_eq!(next(&mut socket).await, None);
}

// upgrade

#[tokio::test]
async fn upgrade_successfully_upgrades_from_polling_to_websocket() {
    let addr = server().await;
    let sid = init_long_polling_session(addr).await;
    let mut socket = ws(
        addr,
        &format!("/engine.io/?EIO=4&transport=websocket&sid={sid}"),
    )
    .await
    .unwrap();
    socket.send(Message::text("2probe")).await.unwrap();
    assert_eq!(next_text(&mut socket).await, "3probe");
    let uri = format!("/engine.io/?EIO=4&transport=polling&sid={sid}");
    assert_eq!(get(addr, &uri).await, (200, "6".to_owned()));
    socket.send(Message::text("5")).await.unwrap();
    socket.send(Message::text("4hello")).await.unwrap();
    assert_eq!(next_text(&mut socket).await, "4hello");
}

/// As the official case: `2probe` and `5` back to back, then the GET at once (no waiting for
/// `3probe`): the session must have taken both frames before the GET (engineio.md §8). The
/// official client's `3probe` arrives while it awaits the GET, before it listens again, so
/// its next message is `4hello`; here frames queue, so `3probe` is read first.
#[tokio::test]
async fn upgrade_ignores_http_requests_with_same_sid_after_upgrade() {
    let addr = server().await;
    let sid = init_long_polling_session(addr).await;
    let mut socket = ws(
        addr,
        &format!("/engine.io/?EIO=4&transport=websocket&sid={sid}"),
    )
    .await
    .unwrap();
    socket.send(Message::text("2probe")).await.unwrap();
    socket.send(Message::text("5")).await.unwrap();
    let uri = format!("/engine.io/?EIO=4&transport=polling&sid={sid}");
    assert_eq!(get(addr, &uri).await.0, 400);
    socket.send(Message::text("4hello")).await.unwrap();
    assert_eq!(next_text(&mut socket).await, "3probe");
    assert_eq!(next_text(&mut socket).await, "4hello");
}

/// As the official case: the second WebSocket opens (a 101) and is then closed by the server;
/// the session keeps its WebSocket.
#[tokio::test]
async fn upgrade_ignores_websocket_connection_with_same_sid_after_upgrade() {
    let addr = server().await;
    let sid = init_long_polling_session(addr).await;
    let uri = format!("/engine.io/?EIO=4&transport=websocket&sid={sid}");
    let mut socket = ws(addr, &uri).await.unwrap();
    socket.send(Message::text("2probe")).await.unwrap();
    socket.send(Message::text("5")).await.unwrap();
    let mut socket2 = ws(addr, &uri)
        .await
        .expect("the second WebSocket completes its handshake");
    assert_eq!(next(&mut socket2).await, None);
    socket.send(Message::text("4hello")).await.unwrap();
    assert_eq!(next_text(&mut socket).await, "3probe");
    assert_eq!(next_text(&mut socket).await, "4hello");
}
