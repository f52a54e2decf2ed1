//! A burst larger than every channel and buffer on the way: the echo server must deliver it
//! all, in order, without a deadlock between the application's `send` and `recv`.

#[path = "../examples/conformance.rs"]
mod conformance;
mod support;

use std::time::Duration;

use futures_util::SinkExt;
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;

use support::{get, next_text, post, ws};

#[tokio::test]
async fn websocket_echo_burst_arrives_whole_and_in_order() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(conformance::serve(listener, false));
    let mut socket = ws(addr, "/engine.io/?EIO=4&transport=websocket")
        .await
        .unwrap();
    next_text(&mut socket).await;
    const N: usize = 5000;
    let (mut tx, mut rx) = futures_util::StreamExt::split(socket);
    let (pong_tx, mut pongs) = tokio::sync::mpsc::unbounded_channel::<()>();
    let writer = tokio::spawn(async move {
        for i in 0..N {
            tx.send(Message::text(format!("4m{i}"))).await.unwrap();
        }
        // Then answer the pings the reader saw, so the session outlives a slow run.
        while pongs.recv().await.is_some() {
            tx.send(Message::text("3")).await.unwrap();
        }
    });
    let mut got = 0;
    while got < N {
        let m = tokio::time::timeout(
            Duration::from_secs(10),
            futures_util::StreamExt::next(&mut rx),
        )
        .await
        .expect("echo stalled")
        .unwrap()
        .unwrap();
        match m {
            Message::Text(t) if t.as_str() == "2" => pong_tx.send(()).unwrap(),
            Message::Text(t) => {
                assert_eq!(t.as_str(), format!("4m{got}"));
                got += 1;
            }
            other => panic!("{other:?}"),
        }
    }
    drop(pong_tx);
    writer.await.unwrap();
}

#[tokio::test]
async fn polling_echo_burst_arrives_whole_and_in_order() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(conformance::serve(listener, false));
    let (_, content) = get(addr, "/engine.io/?EIO=4&transport=polling").await;
    let v: serde_json::Value = serde_json::from_str(&content[1..]).unwrap();
    let uri = format!(
        "/engine.io/?EIO=4&transport=polling&sid={}",
        v["sid"].as_str().unwrap()
    );
    const N: usize = 3000;
    let body: Vec<String> = (0..N).map(|i| format!("4m{i}")).collect();
    assert_eq!(
        post(addr, &uri, &body.join("\x1e")).await,
        (200, "ok".to_owned())
    );
    let mut got = Vec::new();
    while got.len() < N {
        let (status, text) = get(addr, &uri).await;
        assert_eq!(status, 200);
        for p in text.split('\x1e') {
            if p == "2" {
                assert_eq!(post(addr, &uri, "3").await.0, 200);
            } else {
                got.push(p.to_owned());
            }
        }
    }
    assert_eq!(got, body);
}
