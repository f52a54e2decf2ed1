use std::net::SocketAddr;
use std::process::Stdio;
use std::time::Duration;

use super::support::{get, start_with_fallback};

/// Starts the chat application on 127.0.0.1:0.
async fn start_chat() -> SocketAddr {
    start_with_fallback(RT, |runtime| {
        let chat = super::chat_app::app(runtime).unwrap_or_else(|e| panic!("{e}"));
        (vec![chat.io.engine().clone()], Some(chat.pages))
    })
    .await
}

#[tokio::test]
async fn serves_the_page_and_the_browser_bundle_beside_socketio() {
    let addr = start_chat().await;
    let (status, page) = get(addr, "/").await;
    assert_eq!(status, 200);
    assert!(page.contains(r#"<script src="/socket.io.min.js">"#), "{page}");
    let (status, bundle) = get(addr, "/socket.io.min.js").await;
    assert_eq!(status, 200);
    let installed = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../interop/node_modules/socket.io-client/dist/socket.io.min.js"
    ))
    .unwrap();
    assert_eq!(bundle, installed, "the bundle is served unmodified");
    assert_eq!(get(addr, "/nothing-here").await.0, 404);
    assert_eq!(
        super::support::post(addr, "/", "").await.0,
        405,
        "the page is GET only"
    );
    // Socket.IO is still routed by its path.
    let (status, open) = get(addr, "/socket.io/?EIO=4&transport=polling").await;
    assert_eq!(status, 200);
    assert!(open.starts_with("0{"), "{open}");
}

/// Two Chromium pages set nicknames and join one room, one sends, both show the message; a
/// third page in another room does not (`interop/chat-browser.js`).
#[tokio::test]
async fn two_browser_pages_chat_in_a_room_and_a_third_room_hears_nothing() {
    let addr = start_chat().await;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../interop/chat-browser.js");
    let child = tokio::process::Command::new("node")
        .arg(script)
        .arg(format!("http://{addr}/"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("node: {e} (run scripts/setup)"));
    let out = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("the browser test did not finish within 60 s")
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("all ok"),
        "chat-browser.js ({}):\n{stdout}\n{stderr}",
        out.status
    );
}
