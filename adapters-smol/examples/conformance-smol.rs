//! The server the official conformance suites run against, on smol (the application is
//! `socketio_adapters_core::conformance`, shared with the tokio adapter).
//!
//! `PORT=3000 ALLOW_EIO3=0|1 cargo run --release -p socketio-smol --example conformance-smol`

use std::sync::Arc;

use socketio_smol::{conformance, serve, SmolRuntime};

fn main() -> std::io::Result<()> {
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(3000);
    let allow_eio3 = std::env::var("ALLOW_EIO3").is_ok_and(|v| v == "1");
    smol::block_on(async {
        let listener = smol::net::TcpListener::bind(("127.0.0.1", port)).await?;
        println!("conformance server on http://127.0.0.1:{port} (EIO3 allowed: {allow_eio3})");
        serve(
            listener,
            conformance::servers(Arc::new(SmolRuntime), allow_eio3),
        )
        .await
    })
}
