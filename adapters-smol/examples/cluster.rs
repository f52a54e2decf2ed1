//! `cluster`: a node of a Socket.IO fleet on Redis (wire-compatible with Node's
//! `@socket.io/redis-adapter`), on smol.
//!
//! `PORT=3001 REDIS_URL=redis://127.0.0.1:6379/ ADAPTER=classic NODE_NAME=a cargo run --release
//! -p socketio-smol --example cluster`; the events it answers are in
//! `socketio_redis::cluster_app`.

use std::sync::Arc;

use socketio_redis::cluster_app::{build, Settings};

fn main() {
    // Warnings (a failed publish, Redis lost and back) on stderr.
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_writer(std::io::stderr)
        .init();
    let code = smol::block_on(async {
        let settings = match Settings::from_env() {
            Ok(s) => s,
            Err(e) => {
                eprintln!("cluster: {e}");
                return 2;
            }
        };
        let io = match build(&settings, Arc::new(socketio_smol::SmolRuntime)).await {
            Ok(io) => io,
            Err(e) => {
                eprintln!("cluster: {e}");
                return 1;
            }
        };
        let listener = match smol::net::TcpListener::bind(("127.0.0.1", settings.port)).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("cluster: port {}: {e}", settings.port);
                return 1;
            }
        };
        let addr = listener
            .local_addr()
            .map(|a| a.to_string())
            .unwrap_or_default();
        println!("listening on {addr}");
        match socketio_smol::serve(listener, vec![io.engine().clone()]).await {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("cluster: {e}");
                1
            }
        }
    });
    std::process::exit(code);
}
