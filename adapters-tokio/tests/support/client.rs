//! The client matrix's harness: `sio --json` run in-process on the client runtime under
//! test, the servers it talks to (the npm socket.io 4.8 and 2.5 servers of
//! `interop/server.js`, and ours running the same application), and line matching.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use futures_channel::{mpsc, oneshot};
use futures_util::StreamExt;
use serde_json::{json, Value};
use socketio_tokio::{ConnectError, Middleware, SioSocket, SocketIoServer};

use super::Rt;

/// One `sio` run: lines in, JSON lines out, its exit status.
pub struct Sio {
    input: Option<mpsc::UnboundedSender<String>>,
    lines: mpsc::UnboundedReceiver<String>,
    exit: Option<oneshot::Receiver<i32>>,
    /// Every line read so far (for failure messages).
    pub seen: Vec<Value>,
    /// The command line (for failure messages).
    pub label: String,
}

impl Sio {
    /// Starts `sio` with `args` on the client runtime `rt`.
    pub fn start(rt: Rt, args: &[&str]) -> Sio {
        Self::spawn(rt, args)
    }

    /// Starts `sio` in its readable form (no `--json`); read it with [`Sio::until_text`].
    pub fn start_text(rt: Rt, args: &[&str]) -> Sio {
        Self::spawn(rt, args)
    }

    fn spawn(rt: Rt, args: &[&str]) -> Sio {
        let (input, input_rx) = mpsc::unbounded::<String>();
        let (out_tx, lines) = mpsc::unbounded::<String>();
        let (exit_tx, exit) = oneshot::channel();
        let label = format!("{rt:?} sio {}", args.join(" "));
        let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        let out = Box::new(move |line: &str| {
            let _ = out_tx.unbounded_send(line.to_owned());
        });
        match rt {
            Rt::Tokio => {
                tokio::spawn(async move {
                    let runtime = Arc::new(socketio_tokio::TokioRuntime);
                    let code = socketio_tokio::sio_cli::run(runtime, args, input_rx, out).await;
                    let _ = exit_tx.send(code);
                });
            }
            Rt::Smol => {
                std::thread::spawn(move || {
                    let runtime = Arc::new(socketio_smol::SmolRuntime);
                    let code =
                        smol::block_on(socketio_smol::sio_cli::run(runtime, args, input_rx, out));
                    let _ = exit_tx.send(code);
                });
            }
            Rt::Embedded => panic!("the client runs on tokio or smol"),
        }
        Sio {
            input: Some(input),
            lines,
            exit: Some(exit),
            seen: Vec::new(),
            label,
        }
    }

    /// Sends one input line.
    pub fn send(&self, line: Value) {
        self.send_raw(&line.to_string());
    }

    /// Sends one input line as it is.
    pub fn send_raw(&self, line: &str) {
        if let Some(input) = &self.input {
            let _ = input.unbounded_send(line.to_owned());
        }
    }

    /// The next output line, within `within`; `None` when there is none by then.
    pub async fn next_within(&mut self, within: Duration) -> Option<Value> {
        let line = tokio::time::timeout(within, self.lines.next())
            .await
            .ok()
            .flatten()?;
        let v: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{line}: {e}"));
        self.seen.push(v.clone());
        Some(v)
    }

    /// The first output line of the readable form that `pred` accepts (within 10 s).
    pub async fn until_text(&mut self, pred: impl Fn(&str) -> bool) -> String {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let line = tokio::time::timeout(left, self.lines.next())
                .await
                .ok()
                .flatten();
            match line {
                Some(l) if pred(&l) => return l,
                Some(l) => self.seen.push(Value::String(l)),
                None => panic!(
                    "{}: no such line within 10 s; lines: {:#?}",
                    self.label, self.seen
                ),
            }
        }
    }

    /// The first output line that `pred` accepts (within 10 s).
    pub async fn until(&mut self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next_within(left).await {
                Some(v) if pred(&v) => return v,
                Some(_) => {}
                None => panic!(
                    "{}: no {what} within 10 s; lines: {:#?}",
                    self.label, self.seen
                ),
            }
        }
    }

    /// The next line of type `ty` (other lines skipped).
    pub async fn until_type(&mut self, ty: &str) -> Value {
        self.until(ty, |v| v["type"] == ty).await
    }

    /// The next event `event` (other lines skipped).
    pub async fn event(&mut self, event: &str) -> Value {
        self.until(event, |v| v["type"] == "event" && v["event"] == event)
            .await
    }

    /// Lines that arrive within `within` (none expected, say).
    pub async fn lines_within(&mut self, within: Duration) -> Vec<Value> {
        let deadline = tokio::time::Instant::now() + within;
        let mut out = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                return out;
            }
            match self.next_within(left).await {
                Some(v) => out.push(v),
                None => return out,
            }
        }
    }

    /// Closes stdin without `close` and waits for the exit status (within 10 s).
    pub async fn end_input(&mut self) -> i32 {
        self.input = None;
        self.exit_status().await
    }

    /// Waits for the exit status (within 10 s).
    pub async fn exit_status(&mut self) -> i32 {
        let exit = self.exit.take().expect("exit status read once");
        tokio::time::timeout(Duration::from_secs(10), exit)
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "{}: no exit within 10 s; lines: {:#?}",
                    self.label, self.seen
                )
            })
            .expect("sio's task ended without a status")
    }

    /// Sends `close` and expects exit status 0.
    pub async fn close(mut self) {
        self.send(json!({"op": "close"}));
        let code = self.exit_status().await;
        assert_eq!(code, 0, "{:#?}", self.seen);
    }
}

/// The `args` of an event line, without the recovery offset a server with connection state
/// recovery appends (a string, last).
pub fn args_of(line: &Value, recovering: bool) -> Vec<Value> {
    let mut args = line["args"].as_array().cloned().unwrap_or_default();
    if recovering {
        assert!(args.last().is_some_and(Value::is_string), "{line}");
        args.pop();
    }
    args
}

/// A server of the matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peer {
    /// npm socket.io 4.8 (`allowEIO3` unless said otherwise).
    Node4,
    /// npm socket.io 2.5.
    Node2,
    /// python-socketio's asyncio server (aiohttp), from the setup script's venv.
    Python,
    /// socketioxide 0.18 (`interop/socketioxide-server`, built by the setup script).
    Socketioxide,
    /// Ours, on tokio.
    Ours,
}

/// Settings of a matrix server.
#[derive(Debug, Clone, Default)]
pub struct ServerOptions {
    pub no_eio3: bool,
    pub ping: Option<(u64, u64)>,
    pub max_payload: Option<usize>,
    pub recovery: bool,
    /// A port to listen on (a restart), else any.
    pub port: Option<u16>,
    /// Serve HTTPS with this certificate and key (PEM files; Node only).
    pub tls: Option<(PathBuf, PathBuf)>,
    /// The msgpack parser (socket.io-msgpack-parser; Node 4 and ours).
    pub msgpack: bool,
}

/// A running matrix server; stopped when dropped.
pub struct Server {
    pub port: u16,
    pub peer: Peer,
    pub tls: bool,
    node: Option<tokio::process::Child>,
    ours: Option<(tokio::task::JoinHandle<()>, SocketIoServer)>,
}

impl Server {
    pub fn url(&self) -> String {
        if self.tls {
            // The certificate names `localhost`.
            format!("https://localhost:{}", self.port)
        } else {
            format!("http://127.0.0.1:{}", self.port)
        }
    }

    /// The Node server's process id.
    pub fn pid(&self) -> u32 {
        self.node
            .as_ref()
            .and_then(|c| c.id())
            .expect("a Node server")
    }

    /// Stops it: Node's process is killed; ours stops accepting and closes its sessions.
    pub async fn stop(mut self) {
        if let Some(mut child) = self.node.take() {
            let _ = child.kill().await;
        }
        if let Some((accept, io)) = self.ours.take() {
            accept.abort();
            io.shutdown().await;
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some((accept, _)) = &self.ours {
            accept.abort();
        }
    }
}

/// A self-signed certificate for `localhost` and 127.0.0.1 (an end-entity certificate, not a
/// CA) and its key, made with the `openssl` command in `dir`.
pub fn self_signed(dir: &std::path::Path) -> (PathBuf, PathBuf) {
    let config = dir.join("cert.cnf");
    std::fs::write(
        &config,
        "[req]\ndistinguished_name = dn\nx509_extensions = ext\nprompt = no\n\
         [dn]\nCN = localhost\n\
         [ext]\nbasicConstraints = critical, CA:FALSE\n\
         keyUsage = critical, digitalSignature, keyEncipherment\n\
         extendedKeyUsage = serverAuth\n\
         subjectAltName = DNS:localhost, IP:127.0.0.1\n",
    )
    .unwrap();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let status = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
        ])
        .args(["-nodes", "-days", "2", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .arg("-config")
        .arg(&config)
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap_or_else(|e| panic!("openssl: {e} (run scripts/setup)"));
    assert!(status.success(), "openssl failed");
    (cert, key)
}

pub fn interop_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../interop")
}

/// Starts a matrix server.
pub async fn server(peer: Peer, o: ServerOptions) -> Server {
    match peer {
        Peer::Node4 | Peer::Node2 | Peer::Python | Peer::Socketioxide => {
            let mut cmd = if peer == Peer::Python {
                let mut cmd = tokio::process::Command::new(interop_dir().join(".venv/bin/python"));
                cmd.arg("server.py");
                cmd
            } else if peer == Peer::Socketioxide {
                let bin = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                    .join("../target/e2e-peers/debug/socketioxide-matrix-server");
                tokio::process::Command::new(bin)
            } else {
                let mut cmd = tokio::process::Command::new("node");
                cmd.arg("server.js");
                cmd
            };
            cmd.current_dir(interop_dir())
                .env("SERVER", if peer == Peer::Node2 { "v2" } else { "v4" })
                .env("PORT", o.port.unwrap_or(0).to_string())
                .stdout(std::process::Stdio::piped())
                .kill_on_drop(true);
            if !o.no_eio3 {
                cmd.env("ALLOW_EIO3", "1");
            }
            if let Some((interval, timeout)) = o.ping {
                cmd.env("PING_INTERVAL", interval.to_string())
                    .env("PING_TIMEOUT", timeout.to_string());
            }
            if let Some(m) = o.max_payload {
                cmd.env("MAX_PAYLOAD", m.to_string());
            }
            if o.recovery {
                cmd.env("RECOVERY", "1");
            }
            if let Some((cert, key)) = &o.tls {
                cmd.env("TLS_CERT", cert).env("TLS_KEY", key);
            }
            if o.msgpack {
                assert_eq!(peer, Peer::Node4, "msgpack: Node 4 and ours only");
                cmd.env("PARSER", "msgpack");
            }
            let mut child = cmd
                .spawn()
                .unwrap_or_else(|e| panic!("{peer:?} server: {e} (run scripts/setup)"));
            let stdout = child.stdout.take().unwrap();
            let mut lines = tokio::io::AsyncBufReadExt::lines(tokio::io::BufReader::new(stdout));
            let first = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
                .await
                .expect("the server did not start within 20 s")
                .unwrap()
                .expect("the server printed nothing");
            let v: Value = serde_json::from_str(&first).unwrap();
            Server {
                port: u16::try_from(v["port"].as_u64().unwrap()).unwrap(),
                peer,
                tls: o.tls.is_some(),
                node: Some(child),
                ours: None,
            }
        }
        Peer::Ours => {
            let io = matrix_app(&o);
            let listener = tokio::net::TcpListener::bind(("127.0.0.1", o.port.unwrap_or(0)))
                .await
                .unwrap();
            let port = listener.local_addr().unwrap().port();
            let engine = io.engine().clone();
            let accept = tokio::spawn(async move {
                let _ = socketio_tokio::serve(listener, vec![engine]).await;
            });
            assert!(o.tls.is_none(), "TLS is served by the Node server");
            Server {
                port,
                peer,
                tls: false,
                node: None,
                ours: Some((accept, io)),
            }
        }
    }
}

const ENGINE_KEYS: [&str; 6] = ["EIO", "transport", "t", "sid", "b64", "j"];

/// Our server with the application of `interop/server.js` (all but `break`: the recovery
/// scenario runs against Node).
fn matrix_app(o: &ServerOptions) -> SocketIoServer {
    let mut b = SocketIoServer::builder().allow_eio3(!o.no_eio3);
    if let Some((interval, timeout)) = o.ping {
        b = b
            .ping_interval(Duration::from_millis(interval))
            .ping_timeout(Duration::from_millis(timeout));
    }
    if let Some(m) = o.max_payload {
        b = b.max_payload(m);
    }
    if o.msgpack {
        b = b.parser(socketio_tokio::Parser::Msgpack);
    }
    let io = b.build(Arc::new(socketio_tokio::TokioRuntime));
    let guard: Middleware = Arc::new(|req, handshake| {
        if req.auth().get("token").and_then(Value::as_str) == Some("ok")
            || handshake.query_param("token").as_deref() == Some("ok")
        {
            Ok(())
        } else {
            Err(ConnectError::new("not authorized").with_data(json!({"reason": "bad token"})))
        }
    });
    for (nsp, middleware) in [
        ("/", None),
        ("/a", None),
        ("/b", None),
        ("/guarded", Some(guard)),
    ] {
        io.namespace_with(nsp, middleware, |socket: SioSocket| async move {
            let query: serde_json::Map<String, Value> = socket
                .handshake()
                .query()
                .split('&')
                .filter_map(|p| p.split_once('='))
                .filter(|(k, _)| !ENGINE_KEYS.contains(k))
                .map(|(k, v)| (k.to_owned(), Value::String(v.to_owned())))
                .collect();
            let welcome = json!({
                "nsp": socket.nsp().as_str(),
                "auth": socket.auth(),
                "query": query,
            });
            let _ = socket.emit("welcome", &welcome).await;
            socket.on_packet("echo", |_, packet, ack| async move {
                if let (Some(args), Some(ack)) = (packet.raw_args(), ack) {
                    let _ = ack.send_raw(&args).await;
                }
            });
            socket.on_packet("emit-back", |socket, packet, _| async move {
                if let Some(args) = packet.raw_args() {
                    let _ = socket.emit_raw("echo", &args).await;
                }
            });
            socket.on("ask", |socket, args: socketio_tokio::Args, _| async move {
                let answer = socket.emit_with_ack("question", &args).await;
                if let Ok(Ok(answer)) = answer {
                    if let Some(args) = answer.raw_args() {
                        let _ = socket.emit_raw("answer", &args).await;
                    }
                }
            });
            socket.on("kick", |socket, (): (), _| async move {
                socket.disconnect().await;
            });
        });
    }
    io
}
