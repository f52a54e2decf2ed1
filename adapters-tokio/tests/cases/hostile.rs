use std::time::Duration;

use futures_util::SinkExt;
use tokio_tungstenite::tungstenite::Message;

use super::support::{fetch, get, next, next_text, post, start_with, ws};

/// The conformance servers, with a handle on the Engine.IO one to watch its session count.
async fn servers() -> (std::net::SocketAddr, socketio_tokio::EngineIoServer) {
    let runtime = RT.runtime();
    let eio = socketio_tokio::conformance::engineio_echo(runtime.clone(), true);
    let io = socketio_tokio::conformance::socketio(runtime, true);
    let handle = eio.clone();
    let addr = start_with(RT, move |_| vec![eio, io.engine().clone()]).await;
    (addr, handle)
}

/// Waits (at most 3 s, the suites' heartbeats are 300 + 200 ms) for the count to reach 0.
async fn drains_to_zero(server: &socketio_tokio::EngineIoServer) {
    for _ in 0..300 {
        if server.session_count() == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{} sessions left", server.session_count());
}

#[tokio::test]
async fn abandoned_handshakes_are_reclaimed_by_the_heartbeat() {
    let (addr, server) = servers().await;
    for i in 0..2000 {
        let eio = if i % 2 == 0 { 4 } else { 3 };
        let (status, _) = get(addr, &format!("/engine.io/?EIO={eio}&transport=polling")).await;
        assert_eq!(status, 200);
    }
    // The earliest already timed out (500 ms) while the last were being opened.
    assert!(server.session_count() > 0);
    drains_to_zero(&server).await;
    // Still serving.
    assert_eq!(get(addr, "/engine.io/?EIO=4&transport=polling").await.0, 200);
}

#[tokio::test]
async fn malformed_input_closes_sessions_and_the_server_keeps_serving() {
    let (addr, server) = servers().await;
    // Hostile polling bodies, each on a fresh session: all refused, none crashes anything.
    let bodies: &[&str] = &[
        "", "abc", "4a\x1e\x1e4b", "\x1e", "b!!!", "9", "99999999999:4a", "2:4€", "6:4hel",
        "4\u{0}", "bAQID\x1e", "1:7",
    ];
    for body in bodies {
        let (_, content) = get(addr, "/engine.io/?EIO=4&transport=polling").await;
        let v: serde_json::Value = serde_json::from_str(&content[1..]).unwrap();
        let uri = format!("/engine.io/?EIO=4&transport=polling&sid={}", v["sid"].as_str().unwrap());
        let _ = post(addr, &uri, body).await;
    }
    // An oversized body: 413, the session survives.
    let (_, content) = get(addr, "/engine.io/?EIO=4&transport=polling").await;
    let v: serde_json::Value = serde_json::from_str(&content[1..]).unwrap();
    let uri = format!("/engine.io/?EIO=4&transport=polling&sid={}", v["sid"].as_str().unwrap());
    let big = format!("4{}", "x".repeat(1_000_000));
    assert_eq!(post(addr, &uri, &big).await.0, 413);
    assert_eq!(post(addr, &uri, "4ok").await, (200, "ok".to_owned()));
    // Garbage and empty WebSocket frames, and Socket.IO packets behind past CVEs.
    for frame in ["", "abc", "7", "\u{0}"] {
        let mut socket = ws(addr, "/engine.io/?EIO=4&transport=websocket").await.unwrap();
        next_text(&mut socket).await;
        socket.send(Message::text(frame)).await.unwrap();
        assert_eq!(next(&mut socket).await, None, "{frame:?}");
    }
    for packet in [
        r#"451-["x",{"_placeholder":true,"num":"__proto__"}]"#,
        r#"4599999999999999999999-["x"]"#,
        r#"42["x",{"_placeholder":true,"num":0}]"#,
        "42[",
        r#"40{"__proto__":{"admin":true}}"#,
    ] {
        let mut socket = ws(addr, "/socket.io/?EIO=4&transport=websocket").await.unwrap();
        next_text(&mut socket).await;
        socket.send(Message::text("40")).await.unwrap();
        socket.send(Message::text(packet)).await.unwrap();
        // Whatever the verdict (close, or ignore), the server answers the next request.
        let _ = tokio::time::timeout(Duration::from_millis(100), next(&mut socket)).await;
    }
    // A binary frame with no header pending, on Socket.IO.
    let mut socket = ws(addr, "/socket.io/?EIO=4&transport=websocket").await.unwrap();
    next_text(&mut socket).await;
    socket.send(Message::text("40")).await.unwrap();
    next_text(&mut socket).await;
    next_text(&mut socket).await;
    socket.send(Message::binary(vec![1u8, 2, 3])).await.unwrap();
    assert_eq!(next(&mut socket).await, None);
    let _ = fetch(addr, "DELETE", "/engine.io/?EIO=4&transport=polling", "").await;
    drains_to_zero(&server).await;
    assert_eq!(get(addr, "/engine.io/?EIO=4&transport=polling").await.0, 200);
}

/// The close frame's code, skipping data frames (within 5 s).
async fn close_code(socket: &mut super::support::Ws) -> Option<u16> {
    use futures_util::StreamExt;
    loop {
        let m = tokio::time::timeout(Duration::from_secs(5), socket.next())
            .await
            .expect("no close within 5 s");
        match m {
            Some(Ok(Message::Close(frame))) => return frame.map(|f| f.code.into()),
            Some(Ok(_)) => continue,
            Some(Err(_)) | None => return None,
        }
    }
}

/// engineio.md §7/§11: a WebSocket message longer than maxPayload closes the socket with 1009
/// once it was read (the WebSocket library reads up to twice the limit whole, so the client
/// finishes writing and reads the close); one at the limit is echoed.
#[tokio::test]
async fn oversized_websocket_messages_close_with_1009() {
    let (addr, server) = servers().await;
    let at_limit = format!("4{}", "x".repeat(999_999));
    let mut socket = ws(addr, "/engine.io/?EIO=4&transport=websocket").await.unwrap();
    next_text(&mut socket).await;
    socket.send(Message::text(at_limit.clone())).await.unwrap();
    assert_eq!(next_text(&mut socket).await.len(), at_limit.len());
    for size in [1_000_001, 1_000_002, 1_100_000, 1_999_999] {
        let mut socket = ws(addr, "/engine.io/?EIO=4&transport=websocket").await.unwrap();
        next_text(&mut socket).await;
        let big = format!("4{}", "x".repeat(size - 1));
        socket
            .send(Message::text(big))
            .await
            .unwrap_or_else(|e| panic!("{size} bytes: {e}"));
        assert_eq!(close_code(&mut socket).await, Some(1009), "{size} bytes");
    }
    drop(socket);
    drains_to_zero(&server).await;
}

/// A client that sends its first frames in the same write as its upgrade request: the server
/// reads them with the request (hyper keeps what it read past it), and they must reach the
/// session before anything read from the socket afterwards.
#[tokio::test]
async fn frames_sent_with_the_upgrade_request_are_read() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let (addr, _server) = servers().await;
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    tcp.set_nodelay(true).unwrap();
    let mut request = format!(
        "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: {addr}\r\n\
         Upgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    .into_bytes();
    // Two masked text frames: CONNECT to `/`, then an event asking for an ack.
    for text in [&b"40"[..], &br#"421["message-with-ack","early"]"#[..]] {
        let mask = [0x37, 0xfa, 0x21, 0x3d];
        request.extend_from_slice(&[0x81, 0x80 | text.len() as u8]);
        request.extend_from_slice(&mask);
        request.extend(text.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    }
    tcp.write_all(&request).await.unwrap();
    // The 101 and whatever frames came with it.
    let mut head = Vec::new();
    let end = loop {
        let mut chunk = [0u8; 1024];
        let n = tcp.read(&mut chunk).await.unwrap();
        assert!(n > 0, "closed before the 101");
        head.extend_from_slice(&chunk[..n]);
        if let Some(at) = head.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
    };
    assert!(head.starts_with(b"HTTP/1.1 101"), "{}", String::from_utf8_lossy(&head));
    let rest = head.split_off(end);
    let mut ws = tokio_tungstenite::WebSocketStream::from_partially_read(
        tokio_tungstenite::MaybeTlsStream::Plain(tcp),
        rest,
        tokio_tungstenite::tungstenite::protocol::Role::Client,
        None,
    )
    .await;
    assert!(next_text(&mut ws).await.starts_with("0{"), "the open packet");
    assert!(next_text(&mut ws).await.starts_with("40{"), "the CONNECT answered");
    // The conformance server acks `message-with-ack` with its arguments (and emits `auth`).
    loop {
        let text = next_text(&mut ws).await;
        if text.starts_with("43") {
            assert_eq!(text, r#"431["early"]"#);
            break;
        }
    }
}
