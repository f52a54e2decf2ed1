//! The end-to-end benchmarks' limit server: the least work a server honouring the `bench-server`
//! contract can do over tokio + tokio-tungstenite, with no Socket.IO machinery at all.
//!
//! - The WebSocket handshake is tokio-tungstenite's (the path and query are not checked), with
//!   tungstenite's defaults but for a 4 KiB read buffer (the default 128 KiB buffer is zeroed
//!   up to its capacity before every read: 128 KiB resident per connection and a 128 KiB
//!   `memset` per read; socketioxide's engine sets 4 KiB too). The server then sends an Engine.IO open packet, answers `40` with
//!   `40{"sid":...}`, sends a ping `2` every 25 s and closes a connection whose previous ping
//!   went unanswered at the next one.
//! - `42<id>["echo",<arg>]` is answered with `43<id>[<arg>]` by slicing the text; this assumes a
//!   single argument, which is what the load tool sends.
//! - `42["bcast",<arg>]` is re-emitted as the same text (again: one argument): the frame is
//!   built once and the same `Message` (a reference-counted `Utf8Bytes`) is handed to every
//!   connection's channel; each connection's task writes it to its socket.
//!
//! `PORT=3000 cargo run --release` from this directory.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;

/// Every open connection's outgoing channel, by connection number.
type Registry = Arc<Mutex<HashMap<u64, mpsc::UnboundedSender<Message>>>>;

const PING_INTERVAL: Duration = Duration::from_secs(25);

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(3000);
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    println!("limit bench server on ws://127.0.0.1:{port}/socket.io/");
    let registry: Registry = Arc::default();
    let next = Arc::new(AtomicU64::new(0));
    loop {
        let (stream, _) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        let n = next.fetch_add(1, Ordering::Relaxed);
        tokio::spawn(connection(stream, n, registry.clone()));
    }
}

/// A session id from the connection number: 20 characters, like Engine.IO's.
fn sid(n: u64, salt: u64) -> String {
    format!("{:020x}", n.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ salt)
}

async fn connection(stream: TcpStream, n: u64, registry: Registry) {
    let config = WebSocketConfig::default().read_buffer_size(4096);
    let Ok(mut ws) = tokio_tungstenite::accept_async_with_config(stream, Some(config)).await else {
        return;
    };
    let open = format!(
        r#"0{{"sid":"{}","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}}"#,
        sid(n, 0)
    );
    if ws.send(Message::text(open)).await.is_err() {
        return;
    }
    let (tx, mut rx) = mpsc::unbounded_channel();
    let mut ping =
        tokio::time::interval_at(tokio::time::Instant::now() + PING_INTERVAL, PING_INTERVAL);
    let mut awaiting_pong = false;
    let mut connected = false;
    loop {
        tokio::select! {
            incoming = ws.next() => {
                let text = match incoming {
                    Some(Ok(Message::Text(text))) => text,
                    Some(Ok(_)) => continue,
                    _ => break,
                };
                let t = text.as_str();
                if t == "3" {
                    awaiting_pong = false;
                } else if t == "40" || t.starts_with("40{") {
                    if !connected {
                        connected = true;
                        registry.lock().unwrap().insert(n, tx.clone());
                        let reply = format!(r#"40{{"sid":"{}"}}"#, sid(n, 0x5A5A));
                        if ws.send(Message::text(reply)).await.is_err() {
                            break;
                        }
                    }
                } else if let Some(rest) = t.strip_prefix("42") {
                    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
                    let (id, body) = rest.split_at(digits);
                    if let Some(arg) = body.strip_prefix(r#"["echo","#) {
                        if id.is_empty() {
                            continue;
                        }
                        let mut ack = String::with_capacity(4 + id.len() + arg.len());
                        ack.push_str("43");
                        ack.push_str(id);
                        ack.push('[');
                        ack.push_str(arg);
                        if ws.send(Message::text(ack)).await.is_err() {
                            break;
                        }
                    } else if id.is_empty() && body.starts_with(r#"["bcast","#) {
                        // The same text goes to everyone: build the message once.
                        let frame = Message::Text(text.clone());
                        for peer in registry.lock().unwrap().values() {
                            let _ = peer.send(frame.clone());
                        }
                    }
                }
            }
            Some(out) = rx.recv() => {
                if ws.feed(out).await.is_err() {
                    break;
                }
                // Write whatever else is queued in one go, then flush.
                let mut failed = false;
                while let Ok(out) = rx.try_recv() {
                    if ws.feed(out).await.is_err() {
                        failed = true;
                        break;
                    }
                }
                if failed || ws.flush().await.is_err() {
                    break;
                }
            }
            _ = ping.tick() => {
                if awaiting_pong || ws.send(Message::text("2")).await.is_err() {
                    break;
                }
                awaiting_pong = true;
            }
        }
    }
    registry.lock().unwrap().remove(&n);
}
