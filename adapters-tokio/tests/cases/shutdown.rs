use futures_util::SinkExt;
use tokio_tungstenite::tungstenite::Message;

use super::support::{get, next, next_text, post, start_with, ws};

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

/// As the reference's `io.close()`: no DISCONNECT packet (a client would not reconnect after
/// one), the connection closes and the client reconnects to whatever serves next.
#[tokio::test]
async fn socketio_shutdown_closes_every_connection_without_disconnect_packets() {
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
    assert_eq!(next(&mut socket).await, None);
}

/// A Socket.IO server whose namespaces hold `alive` in their handlers: `/` acks `echo` with
/// its argument and joins room `r`; `/admin` does nothing.
fn sio_app(alive: &std::sync::Arc<()>) -> socketio_tokio::SocketIoServer {
    let io = socketio_tokio::SocketIoServer::builder().build(RT.runtime());
    for nsp in ["/", "/admin"] {
        let alive = alive.clone();
        io.namespace(nsp, move |socket: socketio_tokio::SioSocket| {
            let alive = alive.clone();
            async move {
                socket.join("r");
                socket.on("echo", move |_, (text,): (String,), ack| {
                    let _alive = alive.clone();
                    async move {
                        if let Some(ack) = ack {
                            let _ = ack.send(&(text,)).await;
                        }
                    }
                });
            }
        });
    }
    io
}

/// Serves one WebSocket client in `/` and `/admin` (an event acked on the way) and one
/// polling client in `/`; returns them.
async fn connect_clients(addr: std::net::SocketAddr) -> (super::support::Ws, String) {
    let mut socket = ws(addr, "/socket.io/?EIO=4&transport=websocket").await.unwrap();
    next_text(&mut socket).await;
    socket.send(Message::text("40")).await.unwrap();
    assert!(next_text(&mut socket).await.starts_with("40{\"sid\":"));
    socket.send(Message::text("40/admin,")).await.unwrap();
    assert!(next_text(&mut socket).await.starts_with("40/admin,{\"sid\":"));
    socket.send(Message::text(r#"421["echo","hi"]"#)).await.unwrap();
    assert_eq!(next_text(&mut socket).await, r#"431["hi"]"#);

    let (_, open) = get(addr, "/socket.io/?EIO=4&transport=polling").await;
    let v: serde_json::Value = serde_json::from_str(&open[1..]).unwrap();
    let uri = format!("/socket.io/?EIO=4&transport=polling&sid={}", v["sid"].as_str().unwrap());
    assert_eq!(post(addr, &uri, "40").await, (200, "ok".to_owned()));
    let (status, joined) = get(addr, &uri).await;
    assert!(status == 200 && joined.starts_with("40{\"sid\":"), "{joined}");
    (socket, uri)
}

/// After `shutdown` (as the reference's `io.close()`, no DISCONNECT packets): the WebSocket
/// client gets the close, the polling client the Engine.IO close on its next poll.
async fn see_clients_out(addr: std::net::SocketAddr, mut socket: super::support::Ws, uri: &str) {
    let mut frames = Vec::new();
    while let Some(m) = next(&mut socket).await {
        frames.push(m.into_text().unwrap().as_str().to_owned());
    }
    assert_eq!(frames, Vec::<String>::new());
    drop(socket);
    assert_eq!(get(addr, uri).await, (200, "1".to_owned()));
}

#[tokio::test]
async fn socketio_server_is_freed_after_shutdown_and_drop() {
    let alive = std::sync::Arc::new(());
    let io = sio_app(&alive);
    let handlers = std::sync::Arc::downgrade(&alive);
    drop(alive);
    let (weak_io, weak_engine) = (io.downgrade(), io.engine().downgrade());
    let (addr, stop) = super::support::start_stoppable(RT, vec![io.engine().clone()]).await;
    let (socket, uri) = connect_clients(addr).await;
    assert_eq!(io.engine().session_count(), 2);

    io.shutdown().await;
    see_clients_out(addr, socket, &uri).await;
    drop(io);
    drop(stop);
    // The sessions' tasks end on their own; then nothing holds the servers.
    assert!(
        super::support::eventually(|| weak_engine.upgrade().is_none()).await,
        "the Engine.IO server outlived shutdown and its handles"
    );
    assert!(weak_io.upgrade().is_none(), "the Socket.IO server outlived its engine");
    assert_eq!(handlers.strong_count(), 0, "the handlers outlived the server");
}

#[tokio::test]
async fn socketio_server_that_served_nobody_is_freed_after_shutdown_and_drop() {
    let alive = std::sync::Arc::new(());
    let io = sio_app(&alive);
    let handlers = std::sync::Arc::downgrade(&alive);
    drop(alive);
    let (weak_io, weak_engine) = (io.downgrade(), io.engine().downgrade());
    io.shutdown().await;
    drop(io);
    // No task holds it: it goes with its last handle.
    assert!(weak_io.upgrade().is_none());
    assert!(weak_engine.upgrade().is_none());
    assert_eq!(handlers.strong_count(), 0);
}

/// Serving a Socket.IO server's engine alone keeps the Socket.IO server alive (its handlers
/// answer), and shutting that engine down and dropping it frees both.
#[tokio::test]
async fn socketio_server_served_through_its_engine_alone_lives_until_shutdown_and_drop() {
    let alive = std::sync::Arc::new(());
    let io = sio_app(&alive);
    let handlers = std::sync::Arc::downgrade(&alive);
    drop(alive);
    let (weak_io, weak_engine) = (io.downgrade(), io.engine().downgrade());
    let engine = io.engine().clone();
    drop(io);
    assert!(weak_io.upgrade().is_some(), "the engine keeps the Socket.IO server");
    let (addr, stop) = super::support::start_stoppable(RT, vec![engine.clone()]).await;
    let (socket, uri) = connect_clients(addr).await;

    engine.shutdown().await;
    let mut socket = socket;
    assert_eq!(next(&mut socket).await, None, "the WebSocket closes");
    drop(socket);
    // The Engine.IO shutdown closes the session at once: no DISCONNECT, the close packet.
    assert_eq!(get(addr, &uri).await, (200, "1".to_owned()));
    drop(engine);
    drop(stop);
    assert!(
        super::support::eventually(|| weak_engine.upgrade().is_none()).await,
        "the Engine.IO server outlived shutdown and its handles"
    );
    assert!(weak_io.upgrade().is_none());
    assert_eq!(handlers.strong_count(), 0);
}
