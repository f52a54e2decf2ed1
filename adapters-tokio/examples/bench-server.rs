//! The end-to-end benchmark server: Socket.IO v5 at `ws://127.0.0.1:$PORT/socket.io/`; event
//! `echo` is acked with its first argument, event `bcast` is re-emitted with its first argument
//! to every socket of `/`.
//!
//! `PORT=3000 cargo run --release -p socketio-tokio --example bench-server`

use std::sync::Arc;

use socketio_tokio::{conformance, serve, TokioRuntime};
use tokio::net::TcpListener;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(3000);
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    println!("bench server on ws://127.0.0.1:{port}/socket.io/");
    let io = conformance::bench(Arc::new(TokioRuntime));
    serve(listener, vec![io.engine().clone()]).await
}
