//! The conformance application on plain blocking threads, no async runtime:
//! `PORT=3000 ALLOW_EIO3=0|1 cargo run --release -p socketio-embedded --example embedded`.

use std::net::TcpListener;

fn main() -> std::io::Result<()> {
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(3000);
    let allow_eio3 = std::env::var("ALLOW_EIO3").is_ok_and(|v| v == "1");
    let listener = TcpListener::bind(("127.0.0.1", port))?;
    println!("embedded: Engine.IO at /engine.io/, Socket.IO at /socket.io/ on 127.0.0.1:{port}");
    socketio_embedded::serve(listener, allow_eio3)
}
