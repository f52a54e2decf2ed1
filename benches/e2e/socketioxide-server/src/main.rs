//! The end-to-end benchmarks' socketioxide peer, on the `bench-server` contract: Socket.IO v5 at
//! `ws://127.0.0.1:$PORT/socket.io/`; event `echo` is acked with its first argument, event
//! `bcast` is re-emitted with its first argument to every socket of `/`. Default settings, on
//! hyper 1 directly (no router in front), the tokio multi-threaded runtime as `#[tokio::main]`
//! makes it (its worker count follows the CPU affinity the benchmark pins it to).

use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use socketioxide::extract::{AckSender, Data, SocketRef};
use socketioxide::SocketIo;
use tokio::net::TcpListener;

fn register(s: SocketRef, all: SocketIo) {
    s.on("echo", async |Data(first): Data<Value>, ack: AckSender| {
        let _ = ack.send(&first);
    });
    s.on("bcast", move |Data(first): Data<Value>| {
        let all = all.clone();
        async move {
            let _ = all.emit("bcast", &first).await;
        }
    });
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(3000);
    let (svc, io) = SocketIo::new_svc();
    let all = io.clone();
    io.ns("/", move |s: SocketRef| {
        let all = all.clone();
        async move { register(s, all) }
    });
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    println!("socketioxide bench server on ws://127.0.0.1:{port}/socket.io/");
    loop {
        let (stream, _) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        let svc = svc.clone();
        tokio::spawn(async move {
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), svc)
                .with_upgrades()
                .await;
        });
    }
}
