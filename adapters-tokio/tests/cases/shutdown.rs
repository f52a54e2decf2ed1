use futures_util::SinkExt;
use tokio_tungstenite::tungstenite::Message;

use super::support::{get, next, next_text, start_with, ws};

#[tokio::test]
async fn engineio_shutdown_closes_every_session_with_the_right_packets() {
    let runtime = RT.runtime();
    let eio = socketio_tokio::conformance::engineio_echo(runtime, false);
    let handle = eio.clone();
    let addr = start_with(RT, move |_| vec![eio]).await;
    let mut socket = ws(addr, "/engine.io/?EIO=4&transport=websocket").await.unwrap();
    next_text(&mut socket).await;
    let (_, content) = get(addr, "/engine.io/?EIO=4&transport=polling").await;
    let v: serde_json::Value = serde_json::from_str(&content[1..]).unwrap();
    let uri = format!("/engine.io/?EIO=4&transport=polling&sid={}", v["sid"].as_str().unwrap());
    let held = tokio::spawn(async move { get(addr, &uri).await });
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    assert_eq!(handle.session_count(), 2);
    handle.shutdown().await;
    // The long-poll carries the close packet; the WebSocket closes (no `1` on WebSocket).
    assert_eq!(held.await.unwrap(), (200, "1".to_owned()));
    assert_eq!(next(&mut socket).await, None);
    assert_eq!(handle.session_count(), 0);
}

#[tokio::test]
async fn socketio_shutdown_disconnects_every_socket_then_closes() {
    let runtime = RT.runtime();
    let io = socketio_tokio::conformance::socketio(runtime, false);
    let engine = io.engine().clone();
    let addr = start_with(RT, move |_| vec![engine]).await;
    let mut socket = ws(addr, "/socket.io/?EIO=4&transport=websocket").await.unwrap();
    next_text(&mut socket).await;
    socket.send(Message::text("40/custom,")).await.unwrap();
    next_text(&mut socket).await; // CONNECT reply
    next_text(&mut socket).await; // auth
    io.shutdown().await;
    assert_eq!(next_text(&mut socket).await, "41/custom,");
    assert_eq!(next(&mut socket).await, None);
}
