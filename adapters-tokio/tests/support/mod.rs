//! The conformance tests' client: `fetch`-like HTTP requests, one per connection, and a
//! WebSocket read one frame at a time.

#![allow(dead_code, unreachable_pub)]

pub mod client;

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// One HTTP request on its own connection, as `fetch` does; the status and the body.
pub async fn fetch(addr: SocketAddr, method: &str, uri: &str, body: &str) -> (u16, String) {
    let (status, body) = fetch_bytes(addr, method, uri, body).await;
    (status, String::from_utf8_lossy(&body).into_owned())
}

/// Like [`fetch`], the body as bytes.
pub async fn fetch_bytes(addr: SocketAddr, method: &str, uri: &str, body: &str) -> (u16, Bytes) {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(conn);
    let req = Request::builder()
        .method(method)
        .uri(uri)
        .header("host", addr.to_string())
        .body(Full::new(Bytes::from(body.to_owned())))
        .unwrap();
    let res = sender.send_request(req).await.unwrap();
    let status = res.status().as_u16();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    (status, body)
}

pub async fn get(addr: SocketAddr, uri: &str) -> (u16, String) {
    fetch(addr, "GET", uri, "").await
}

pub async fn post(addr: SocketAddr, uri: &str, body: &str) -> (u16, String) {
    fetch(addr, "POST", uri, body).await
}

/// A WebSocket client as the official suites' `ws` one: Nagle's algorithm off (`ws` calls
/// `setNoDelay`), so that frames sent back to back leave at once and in order with the
/// requests that follow them on other connections.
pub async fn ws(addr: SocketAddr, uri: &str) -> Result<Ws, tokio_tungstenite::tungstenite::Error> {
    tokio_tungstenite::connect_async_with_config(format!("ws://{addr}{uri}"), None, true)
        .await
        .map(|(ws, _)| ws)
}

/// The next data frame, or `None` when the socket closed (close frame, error, or end).
pub async fn next(ws: &mut Ws) -> Option<Message> {
    loop {
        let m = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .expect("no frame within 5 s");
        match m {
            Some(Ok(Message::Text(t))) => return Some(Message::Text(t)),
            Some(Ok(Message::Binary(b))) => return Some(Message::Binary(b)),
            Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return None,
            Some(Ok(_)) => continue,
        }
    }
}

pub async fn next_text(ws: &mut Ws) -> String {
    match next(ws).await {
        Some(Message::Text(t)) => t.as_str().to_owned(),
        other => panic!("expected a text frame, got {other:?}"),
    }
}

/// The runtime a case runs the server on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rt {
    /// `socketio-tokio`, in the test's tokio runtime.
    Tokio,
    /// `socketio-smol`, on a thread of its own.
    Smol,
    /// `socketio-embedded`: the machines on plain blocking threads, no async runtime.
    Embedded,
}

impl Rt {
    /// The runtime's services, for building servers.
    pub fn runtime(self) -> std::sync::Arc<dyn socketio_tokio::Runtime> {
        match self {
            Rt::Tokio => std::sync::Arc::new(socketio_tokio::TokioRuntime),
            Rt::Smol => std::sync::Arc::new(socketio_smol::SmolRuntime),
            Rt::Embedded => panic!("the embedded server has no async runtime"),
        }
    }
}

/// Starts the conformance servers (`/engine.io/` and `/socket.io/`) on 127.0.0.1:0.
pub async fn start(rt: Rt, allow_eio3: bool) -> SocketAddr {
    if rt == Rt::Embedded {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || socketio_embedded::serve(listener, allow_eio3));
        return addr;
    }
    start_with(rt, move |runtime| {
        socketio_tokio::conformance::servers(runtime, allow_eio3)
    })
    .await
}

/// Starts the conformance servers and the interop tests' extra server (`/interop/`).
pub async fn start_interop(rt: Rt) -> SocketAddr {
    start_with(rt, |runtime| {
        let mut servers = socketio_tokio::conformance::servers(runtime.clone(), true);
        servers.push(
            socketio_tokio::conformance::interop(runtime)
                .engine()
                .clone(),
        );
        servers
    })
    .await
}

/// Starts the servers `make` builds on 127.0.0.1:0, on runtime `rt`.
pub async fn start_with(
    rt: Rt,
    make: impl FnOnce(std::sync::Arc<dyn socketio_tokio::Runtime>) -> Vec<socketio_tokio::EngineIoServer>
        + Send
        + 'static,
) -> SocketAddr {
    start_with_fallback(rt, move |runtime| (make(runtime), None)).await
}

/// Ends the accept loop of a server started by [`start_stoppable`] when dropped: the loop's
/// handles on the servers go with it.
pub struct Stop(smol::channel::Sender<()>);

/// Serves `servers` on 127.0.0.1:0 on runtime `rt` until the returned [`Stop`] is dropped.
pub async fn start_stoppable(
    rt: Rt,
    servers: Vec<socketio_tokio::EngineIoServer>,
) -> (SocketAddr, Stop) {
    let (stop, stopped) = smol::channel::bounded::<()>(1);
    let addr = serve_on(rt, Box::new(move |_| (servers, None)), Some(stopped)).await;
    (addr, Stop(stop))
}

/// Polls `done` every 10 ms until it holds, for at most 10 s; whether it held.
pub async fn eventually(mut done: impl FnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while tokio::time::Instant::now() < deadline {
        if done() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    done()
}

type MakeWithFallback = Box<
    dyn FnOnce(
            std::sync::Arc<dyn socketio_tokio::Runtime>,
        ) -> (
            Vec<socketio_tokio::EngineIoServer>,
            Option<socketio_tokio::Fallback>,
        ) + Send,
>;

/// Starts the servers `make` builds on 127.0.0.1:0, on runtime `rt`, with the fallback it
/// gives (if any) answering the other paths.
pub async fn start_with_fallback(
    rt: Rt,
    make: impl FnOnce(
            std::sync::Arc<dyn socketio_tokio::Runtime>,
        ) -> (
            Vec<socketio_tokio::EngineIoServer>,
            Option<socketio_tokio::Fallback>,
        ) + Send
        + 'static,
) -> SocketAddr {
    serve_on(rt, Box::new(make), None).await
}

/// Serves what `make` builds on 127.0.0.1:0 on runtime `rt`; until `stopped` gets a message
/// or its sender is dropped, when given (then the accept loop and its handles on the servers
/// are dropped).
async fn serve_on(
    rt: Rt,
    make: MakeWithFallback,
    stopped: Option<smol::channel::Receiver<()>>,
) -> SocketAddr {
    type Serving = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;
    async fn until_stopped(serve: Serving, stopped: Option<smol::channel::Receiver<()>>) {
        match stopped {
            Some(stopped) => {
                let stopped = std::pin::pin!(stopped.recv());
                futures_util::future::select(serve, stopped).await;
            }
            None => serve.await,
        }
    }
    match rt {
        Rt::Tokio => {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let (servers, fallback) = make(std::sync::Arc::new(socketio_tokio::TokioRuntime));
            let serve: Serving = match fallback {
                Some(f) => Box::pin(async move {
                    let _ = socketio_tokio::serve_with_fallback(listener, servers, f).await;
                }),
                None => Box::pin(async move {
                    let _ = socketio_tokio::serve(listener, servers).await;
                }),
            };
            tokio::spawn(until_stopped(serve, stopped));
            addr
        }
        Rt::Smol => {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = listener.local_addr().unwrap();
            std::thread::spawn(move || {
                smol::block_on(async move {
                    let listener = smol::net::TcpListener::try_from(listener).unwrap();
                    let (servers, fallback) = make(std::sync::Arc::new(socketio_smol::SmolRuntime));
                    let serve: Serving = match fallback {
                        Some(f) => Box::pin(async move {
                            let _ = socketio_smol::serve_with_fallback(listener, servers, f).await;
                        }),
                        None => Box::pin(async move {
                            let _ = socketio_smol::serve(listener, servers).await;
                        }),
                    };
                    until_stopped(serve, stopped).await;
                })
            });
            addr
        }
        Rt::Embedded => panic!("the embedded server serves only the conformance application"),
    }
}

/// The keys of the JSON object `json`, in the order they are written (a `serde_json::Value`
/// sorts them, serde_json's `preserve_order` being off).
pub fn object_keys(json: &str) -> Vec<String> {
    struct Keys;
    impl<'de> serde::de::Visitor<'de> for Keys {
        type Value = Vec<String>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            mut map: A,
        ) -> Result<Vec<String>, A::Error> {
            let mut keys = Vec::new();
            while let Some(key) = map.next_key::<String>()? {
                map.next_value::<serde::de::IgnoredAny>()?;
                keys.push(key);
            }
            Ok(keys)
        }
    }
    serde::Deserializer::deserialize_map(&mut serde_json::Deserializer::from_str(json), Keys)
        .unwrap_or_else(|e| panic!("{json}: {e}"))
}

/// The v4 handshake as the suites check it: exactly the reference's keys, in its order, with
/// the suites' settings (pingInterval 300, pingTimeout 200, maxPayload 1e6).
pub fn check_v4_handshake(content: &str, upgrades: serde_json::Value) {
    assert!(content.starts_with('0'), "{content}");
    let v: serde_json::Value = serde_json::from_str(&content[1..]).unwrap();
    assert_eq!(
        object_keys(&content[1..]),
        [
            "sid",
            "upgrades",
            "pingInterval",
            "pingTimeout",
            "maxPayload"
        ]
    );
    assert!(v["sid"].is_string());
    assert_eq!(v["upgrades"], upgrades);
    assert_eq!(v["pingInterval"], 300);
    assert_eq!(v["pingTimeout"], 200);
    assert_eq!(v["maxPayload"], 1_000_000);
}

/// Runs `program` with `args`, then the server's URL (`http://{addr}`) and `mode`, then
/// `extra`; asserts it exits 0 having printed `all ok` (within 60 s).
pub async fn run_client(
    program: &str,
    args: &[&str],
    addr: SocketAddr,
    mode: &str,
    extra: &[&str],
) {
    let child = tokio::process::Command::new(program)
        .args(args)
        .arg(format!("http://{addr}"))
        .arg(mode)
        .args(extra)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("{program}: {e} (run scripts/setup)"));
    let out = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("the client did not finish within 60 s")
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("all ok"),
        "{args:?} {extra:?} over {mode}:\n{stdout}\n{stderr}"
    );
}
