use std::time::Duration;

use futures_util::SinkExt;
use tokio_tungstenite::tungstenite::Message;

use super::support::{get, next_text, post, start_with, ws};

/// The echo server with default heartbeat timings: this is about back-pressure, and the
/// suites' 200 ms pong deadline would turn a slow debug run into a heartbeat test.
async fn echo_server() -> std::net::SocketAddr {
    start_with(RT, |runtime| {
        let rt = runtime.clone();
        let config = socketio_tokio::engineio::ServerConfig::default();
        vec![socketio_tokio::EngineIoServer::new(config, runtime, move |mut socket| {
            rt.spawn(Box::pin(async move {
                while let Some(message) = socket.recv().await {
                    if socket.send(message).await.is_err() {
                        break;
                    }
                }
            }));
        })]
    })
    .await
}

#[tokio::test]
async fn websocket_echo_burst_arrives_whole_and_in_order() {
    let addr = echo_server().await;
    let mut socket = ws(addr, "/engine.io/?EIO=4&transport=websocket")
        .await
        .unwrap();
    next_text(&mut socket).await;
    const N: usize = 5000;
    let (mut tx, mut rx) = futures_util::StreamExt::split(socket);
    let (pong_tx, mut pongs) = tokio::sync::mpsc::unbounded_channel::<()>();
    let writer = tokio::spawn(async move {
        // Answer the pings the reader sees as they come, between the burst's frames, so the
        // session outlives a slow run.
        let mut i = 0;
        loop {
            tokio::select! {
                biased;
                pong = pongs.recv() => match pong {
                    Some(()) => tx.send(Message::text("3")).await.unwrap(),
                    None => break,
                },
                () = std::future::ready(()), if i < N => {
                    tx.send(Message::text(format!("4m{i}"))).await.unwrap();
                    i += 1;
                }
            }
        }
    });
    let started = std::time::Instant::now();
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
    eprintln!("{RT:?}: {N} echoes in {:?}", started.elapsed());
    drop(pong_tx);
    writer.await.unwrap();
}

#[tokio::test]
async fn polling_echo_burst_arrives_whole_and_in_order() {
    let addr = echo_server().await;
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
