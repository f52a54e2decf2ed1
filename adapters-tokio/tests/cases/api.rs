use std::sync::{Arc, Mutex};
use std::time::Duration;

use socketio_tokio::socketio_proto::server::{DisconnectReason, NspPattern};
use socketio_tokio::{
    AckError, ConnectError, EngineIoServer, Middleware, Runtime, SioSocket, SocketIoServer,
};

use super::support::{run_client, start_with};

/// What the server's handlers saw, for the test to check after the client's script.
type Log = Arc<Mutex<Vec<String>>>;

#[derive(Debug, serde::Deserialize)]
struct Chat {
    text: String,
    n: u32,
}

/// The team a socket's handshake named (its per-socket state).
struct Team(String);

fn app(runtime: Arc<dyn Runtime>, log: Log) -> Vec<EngineIoServer> {
    let io = SocketIoServer::builder()
        .path("/api/")
        .ack_timeout(Duration::from_secs(5))
        .build(runtime);
    let middleware: Middleware = Arc::new(|_req, handshake| match handshake.query_param("team") {
        Some(_) => Ok(()),
        None => Err(ConnectError::new("no team").with_data(serde_json::json!({"hint": "add ?team="}))),
    });
    io.namespace_with("/", Some(middleware), move |socket: SioSocket| {
        let log = log.clone();
        async move {
            let team = socket.handshake().query_param("team").unwrap_or_default().into_owned();
            socket.join(team.as_str());
            socket.set_state(Team(team));
            socket.on("chat", |socket, (chat,): (Chat,), ack| async move {
                let team = socket.state::<Team>().expect("set on connect");
                if let Some(ack) = ack {
                    let _ = ack.send(&(format!("{}:{}:{}", team.0, chat.text, chat.n),)).await;
                }
            });
            socket.on("inc", |_, (n,): (u32,), ack| async move {
                if let Some(ack) = ack {
                    let _ = ack.send(&(n + 1,)).await;
                }
            });
            socket.on_any(|_, packet, ack| async move {
                let name = packet.event_name().unwrap_or_default().to_owned();
                let count = packet.args::<socketio_tokio::Args>().map_or(0, |a| a.len());
                if let Some(ack) = ack {
                    let _ = ack.send(&(("caught", name, count),)).await;
                }
            });
            socket.on("ask-room", |socket, (room,): (String,), ack| async move {
                let answers = socket
                    .server()
                    .of("/")
                    .to(room.as_str())
                    .timeout(Duration::from_millis(300))
                    .emit_with_ack("question", &(1,))
                    .await
                    .expect("encodes");
                if let Some(ack) = ack {
                    let _ = ack.send(&(summary(answers),)).await;
                }
            });
            socket.on("ask-others", |socket, (): (), ack| async move {
                let answers = socket
                    .broadcast()
                    .timeout(Duration::from_millis(300))
                    .emit_with_ack("question", &(1,))
                    .await
                    .expect("encodes");
                if let Some(ack) = ack {
                    let _ = ack.send(&(summary(answers),)).await;
                }
            });
            socket.on(
                "news-except",
                |socket, (to, except, text): (String, String, String), ack| async move {
                    let op = socket.server().of("/").to(to.as_str()).except(except.as_str());
                    let _ = op.emit("news", &(text,)).await;
                    if let Some(ack) = ack {
                        let _ = ack.send(&("sent",)).await;
                    }
                },
            );
            socket.on("volatile-news", |socket, (text,): (String,), ack| async move {
                let _ = socket.server().of("/").volatile().emit("news", &(text,)).await;
                if let Some(ack) = ack {
                    let _ = ack.send(&("sent",)).await;
                }
            });
            socket.on("fetch", |socket, (room,): (String,), ack| async move {
                let sockets = socket.server().of("/").to(room.as_str()).sockets();
                assert!(sockets.iter().all(|s| s.connected() && s.rooms().contains(&room.as_str().into())));
                if let Some(ack) = ack {
                    let _ = ack.send(&(sockets.len(),)).await;
                }
            });
            socket.on("move", |socket, (from, to): (String, String), ack| async move {
                let op = socket.server().of("/").to(from.as_str());
                op.join(to.as_str());
                op.leave(from.as_str());
                let moved = socket.server().sockets(socket.nsp(), &[to.as_str().into()]).len();
                if let Some(ack) = ack {
                    let _ = ack.send(&(moved,)).await;
                }
            });
            socket.on("my-rooms", |socket, (): (), ack| async move {
                let mut rooms: Vec<String> = socket
                    .rooms()
                    .iter()
                    .map(|r| r.as_str().to_owned())
                    .filter(|r| r != socket.id().as_str())
                    .collect();
                rooms.sort();
                if let Some(ack) = ack {
                    let _ = ack.send(&(rooms,)).await;
                }
            });
            socket.on("kick", |socket, (room,): (String,), ack| async move {
                if let Some(ack) = ack {
                    let _ = ack.send(&("kicking",)).await;
                }
                socket.server().of("/").to(room.as_str()).disconnect().await;
            });
            socket.on_disconnect(move |socket, reason: DisconnectReason| {
                let log = log.clone();
                async move {
                    let team = socket.state::<Team>().map(|t| t.0.clone()).unwrap_or_default();
                    assert!(!socket.connected());
                    log.lock().unwrap().push(format!("{team} {}", reason.as_str()));
                }
            });
        }
    });
    // Dynamic namespaces: every `/team-*`, with a middleware of their own. On connect the
    // server asks the client for its colour (an ack from the client) and reports it back.
    let only_red: Middleware = Arc::new(|req, _| match req.nsp().as_str() {
        "/team-blue" => Err(ConnectError::new("blue is closed")),
        _ => Ok(()),
    });
    io.dynamic_namespace(
        NspPattern::Glob("/team-*".into()),
        Some(only_red),
        |socket: SioSocket| async move {
            let answer = socket
                .emit_with_ack_timeout("colour?", &(socket.nsp().as_str(),), Duration::from_secs(2))
                .await
                .expect("encodes");
            let colour = match answer {
                Ok(packet) => packet.args::<String>().unwrap_or_default(),
                Err(e) => e.to_string(),
            };
            let _ = socket.emit("colour", &(socket.nsp().as_str(), colour)).await;
        },
    );
    vec![io.engine().clone()]
}

/// The answers' values, `"timeout"` for a socket that did not answer in time; sorted.
fn summary(answers: socketio_tokio::AckResponses) -> Vec<serde_json::Value> {
    let mut values: Vec<serde_json::Value> = answers
        .local
        .into_iter()
        .map(|(_, a)| match a {
            Ok(p) => p.args::<(serde_json::Value,)>().map(|(v,)| v).unwrap_or_default(),
            Err(AckError::Timeout) => "timeout".into(),
            Err(e) => e.to_string().into(),
        })
        .collect();
    values.sort_by_key(|v| (v.is_string(), v.to_string()));
    values
}

async fn run(mode: &str) {
    let log: Log = Arc::default();
    let server_log = log.clone();
    let addr = start_with(RT, move |runtime| app(runtime, server_log)).await;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../interop/api.js");
    run_client("node", &[script], addr, mode, &[]).await;
    // The last socket's disconnect handler runs once its DISCONNECT (or its transport's end)
    // reached the server.
    let want = [
        "blue client namespace disconnect",
        "red server namespace disconnect",
        "red server namespace disconnect",
    ];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let mut seen = log.lock().unwrap().clone();
        seen.sort();
        if seen == want || tokio::time::Instant::now() > deadline {
            assert_eq!(seen, want, "disconnect handlers over {mode}");
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn handler_api_with_npm_client_over_polling() {
    run("polling").await;
}

#[tokio::test]
async fn handler_api_with_npm_client_over_websocket() {
    run("websocket").await;
}

#[tokio::test]
async fn handler_api_with_npm_client_with_upgrade() {
    run("upgrade").await;
}
