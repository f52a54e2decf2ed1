use futures_util::SinkExt;
use tokio_tungstenite::tungstenite::Message;

use super::support::{next_text, start_with, ws, Ws};

async fn joined(addr: std::net::SocketAddr) -> Ws {
    let mut socket = ws(addr, "/socket.io/?EIO=4&transport=websocket").await.unwrap();
    next_text(&mut socket).await;
    socket.send(Message::text("40")).await.unwrap();
    assert!(next_text(&mut socket).await.starts_with("40{\"sid\":"));
    socket
}

#[tokio::test]
async fn echo_is_acked_and_bcast_reaches_every_socket() {
    let addr = start_with(RT, |runtime| {
        vec![socketio_tokio::conformance::bench(runtime).engine().clone()]
    })
    .await;
    let mut a = joined(addr).await;
    let mut b = joined(addr).await;
    a.send(Message::text(r#"427["echo",{"n":1},"ignored"]"#)).await.unwrap();
    assert_eq!(next_text(&mut a).await, r#"437[{"n":1}]"#);
    a.send(Message::text(r#"42["bcast","hi"]"#)).await.unwrap();
    assert_eq!(next_text(&mut a).await, r#"42["bcast","hi"]"#);
    assert_eq!(next_text(&mut b).await, r#"42["bcast","hi"]"#);
}
