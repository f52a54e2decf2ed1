//! A chat server: a page at `http://127.0.0.1:$PORT/` (default 3000) that loads the
//! unmodified browser bundle of the npm `socket.io-client`, with nicknames and rooms, over
//! Socket.IO at `/socket.io/`. The application is in `app.rs`, runtime-neutral.
//!
//! `scripts/chat` (installs the bundle when missing, then runs this), or
//! `PORT=3000 cargo run --release -p socketio-tokio --example chat` after `scripts/setup`.

use std::process::ExitCode;
use std::sync::Arc;

use socketio_tokio::{serve_with_fallback, TokioRuntime};
use tokio::net::TcpListener;

mod app;

#[tokio::main]
async fn main() -> ExitCode {
    let port: u16 = match std::env::var("PORT") {
        Ok(p) => match p.parse() {
            Ok(p) => p,
            Err(_) => {
                eprintln!("PORT={p} is not a port number");
                return ExitCode::FAILURE;
            }
        },
        Err(_) => 3000,
    };
    let chat = match app::app(Arc::new(TokioRuntime)) {
        Ok(chat) => chat,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let listener = match TcpListener::bind(("127.0.0.1", port)).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("cannot listen on 127.0.0.1:{port}: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("chat on http://127.0.0.1:{port}/ (open it in two browser windows)");
    if let Err(e) = serve_with_fallback(listener, vec![chat.io.engine().clone()], chat.pages).await
    {
        eprintln!("server stopped: {e}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
