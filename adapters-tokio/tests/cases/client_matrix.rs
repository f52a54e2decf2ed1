// The client conformance matrix, run once per client runtime (`RT`): `sio --json` against
// the npm socket.io 4.8 server (allowEIO3: both generations), the npm socket.io 2.5 server
// (Engine.IO v3), python-socketio's asyncio server and ours, over polling, WebSocket and
// upgrade.

use std::time::Duration;

use serde_json::{json, Value};

use super::support::client::{args_of, server, Peer, ServerOptions, Sio};

/// Transport modes: the name and `--transports`.
const MODES: [(&str, &str); 3] = [
    ("polling", "polling"),
    ("websocket", "websocket"),
    ("upgrade", "polling,websocket"),
];

/// Servers and the generations the client speaks to them.
const PEERS: [(Peer, &str); 8] = [
    (Peer::Node4, "4"),
    (Peer::Node4, "3"),
    (Peer::Node2, "3"),
    (Peer::Python, "4"),
    (Peer::Socketioxide, "4"),
    (Peer::Socketioxide, "3"),
    (Peer::Ours, "4"),
    (Peer::Ours, "3"),
];

fn start(url: &str, mode: &str, eio: &str, extra: &[&str]) -> Sio {
    let mut args = vec!["--json", "--transports", mode, "--eio", eio];
    args.extend_from_slice(extra);
    args.push(url);
    Sio::start(RT, &args)
}

/// The `transport` lines a mode prints: the first, and `websocket` after an upgrade.
async fn opened(sio: &mut Sio, mode: &str) {
    let first = sio.until_type("transport").await;
    let expected = if mode == "websocket" { "websocket" } else { "polling" };
    assert_eq!(first["name"], expected, "{:#?}", sio.seen);
}

/// Under `upgrade`, waits for the upgrade (which may have come before the connection).
async fn upgraded(sio: &mut Sio, mode: &str) {
    let done = |l: &Value| l["type"] == "transport" && l["name"] == "websocket";
    if mode == "upgrade" && !sio.seen.iter().any(done) {
        sio.until("the upgrade", done).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_with_auth_is_echoed_by_the_server() {
    for (peer, eio) in PEERS {
        let s = server(peer, ServerOptions::default()).await;
        for (mode, transports) in MODES {
            let auth = r#"{"token":"abc","n":1}"#;
            let mut sio = start(&s.url(), transports, eio, &["--auth", auth]);
            opened(&mut sio, mode).await;
            let connect = sio.until_type("connect").await;
            let ctx = format!("{peer:?} eio {eio} {mode}: {:#?}", sio.seen);
            assert_eq!(connect["nsp"], "/", "{ctx}");
            assert_eq!(connect["recovered"], false, "{ctx}");
            assert!(connect["id"].as_str().is_some_and(|id| !id.is_empty()), "{ctx}");
            let welcome = sio.event("welcome").await;
            let w = &welcome["args"][0];
            let ctx = format!("{peer:?} eio {eio} {mode}: {:#?}", sio.seen);
            assert_eq!(w["nsp"], "/", "{ctx}");
            if eio == "4" {
                // The auth object itself, numbers as numbers.
                assert_eq!(w["auth"], json!({"token": "abc", "n": 1}), "{ctx}");
            } else {
                // socket.io-client 2's way: a query string, every value text.
                assert_eq!(w["query"]["token"], "abc", "{ctx}");
                assert_eq!(w["query"]["n"], "1", "{ctx}");
                // Under Engine.IO v3 the id of `/` is the Engine.IO session id.
                assert!(!connect["id"].as_str().unwrap().contains('#'), "{ctx}");
            }
            upgraded(&mut sio, mode).await;
            sio.close().await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn middleware_connect_error_carries_its_data() {
    for (peer, eio) in PEERS {
        let s = server(peer, ServerOptions::default()).await;
        for (mode, transports) in MODES {
            let url = format!("{}/guarded", s.url());
            let mut sio = start(&url, transports, eio, &["--auth", r#"{"token":"nope"}"#]);
            let error = sio.until_type("connect_error").await;
            let ctx = format!("{peer:?} eio {eio} {mode}: {:#?}", sio.seen);
            assert_eq!(error["nsp"], "/guarded", "{ctx}");
            if peer == Peer::Socketioxide && eio == "3" {
                // socketioxide does not split a protocol v4 CONNECT's query off the name
                // (`0/guarded?token=nope,`): it refuses the namespace itself, as it would
                // socket.io-client 2's.
                assert_eq!(error["data"]["message"], "Invalid namespace", "{ctx}");
            } else if peer == Peer::Socketioxide {
                // socketioxide's middleware errors carry their message only.
                assert_eq!(error["data"], json!({"message": "not authorized"}), "{ctx}");
            } else if eio == "4" {
                assert_eq!(
                    error["data"],
                    json!({"message": "not authorized", "data": {"reason": "bad token"}}),
                    "{ctx}"
                );
            } else {
                // Protocol v4's ERROR carries the message (socket.io 2.x), or the error's
                // data when it has some (socket.io 4.x answering a v3 client).
                assert!(
                    error["data"] == json!("not authorized")
                        || error["data"] == json!({"reason": "bad token"}),
                    "{ctx}"
                );
            }
            // A refusal does not end the program; the other namespaces still work.
            sio.send(json!({"op": "connect", "nsp": "/a"}));
            if peer == Peer::Socketioxide && eio == "3" {
                // The same auth query: refused the same way.
                let again = sio.until_type("connect_error").await;
                assert_eq!(again["nsp"], "/a", "{:#?}", sio.seen);
            } else {
                let connect = sio.until_type("connect").await;
                assert_eq!(connect["nsp"], "/a", "{:#?}", sio.seen);
            }
            sio.close().await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_namespaces_share_one_connection() {
    for (peer, eio) in PEERS {
        let s = server(peer, ServerOptions::default()).await;
        for (mode, transports) in MODES {
            let extra = ["--namespace", "/", "--namespace", "/a", "--namespace", "/b"];
            let mut sio = start(&s.url(), transports, eio, &extra);
            let mut connected = Vec::new();
            let mut ids = Vec::new();
            while connected.len() < 3 {
                let c = sio.until_type("connect").await;
                connected.push(c["nsp"].as_str().unwrap().to_owned());
                ids.push(c["id"].as_str().unwrap().to_owned());
            }
            connected.sort();
            let ctx = format!("{peer:?} eio {eio} {mode}: {:#?}", sio.seen);
            assert_eq!(connected, ["/", "/a", "/b"], "{ctx}");
            ids.sort();
            ids.dedup();
            // Socket.IO v5 gives each namespace socket its own id; socketioxide reuses the
            // Engine.IO session's for all of them.
            // (Under Engine.IO v3 the client derives them, `nsp#sid`.)
            let distinct = if peer == Peer::Socketioxide && eio == "4" { 1 } else { 3 };
            assert_eq!(ids.len(), distinct, "{ctx}");
            for nsp in ["/b", "/a", "/"] {
                sio.send(json!({"op": "emit", "nsp": nsp, "event": "echo", "args": [nsp], "ack": nsp}));
                let ack = sio.until_type("ack").await;
                assert_eq!(ack["ack"], nsp, "{:#?}", sio.seen);
                assert_eq!(ack["args"], json!([nsp]), "{:#?}", sio.seen);
            }
            // One Engine.IO connection: one opening transport line (and one upgrade).
            let opened = sio
                .seen
                .iter()
                .filter(|l| l["type"] == "transport")
                .count();
            assert!(opened <= 2, "{:#?}", sio.seen);
            sio.close().await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_and_acks_both_ways_with_binary() {
    let bin = json!({"$binary": "AAECAw=="});
    let nested = json!({"file": {"$binary": "/wA="}, "name": "x"});
    for (peer, eio) in PEERS {
        let s = server(peer, ServerOptions::default()).await;
        // socketioxide writes binary in Engine.IO v3 payloads in v4's form (see
        // socketioxide_v3_binary_is_refused_as_a_parse_error): no binary there.
        let binary = !(peer == Peer::Socketioxide && eio == "3");
        let (bin, nested) = if binary {
            (bin.clone(), nested.clone())
        } else {
            (json!("no binary"), json!({"name": "x"}))
        };
        for (mode, transports) in MODES {
            let mut sio = start(&s.url(), transports, eio, &[]);
            sio.until_type("connect").await;
            let ctx = |sio: &Sio| format!("{peer:?} eio {eio} {mode}: {:#?}", sio.seen);
            // Client → server with an ack, binary inside.
            let args = json!(["text", 1, [1, 2], null, bin, nested]);
            sio.send(json!({"op": "emit", "event": "echo", "args": args, "ack": "a1"}));
            let ack = sio.until_type("ack").await;
            assert_eq!(ack["args"], args, "{}", ctx(&sio));
            // The server emits back.
            sio.send(json!({"op": "emit", "event": "emit-back", "args": [bin, "two"]}));
            let echo = sio.event("echo").await;
            assert_eq!(args_of(&echo, false), [bin.clone(), json!("two")], "{}", ctx(&sio));
            assert_eq!(echo["ack_id"], Value::Null, "{}", ctx(&sio));
            // Server → client with an ack, answered with binary.
            sio.send(json!({"op": "emit", "event": "ask", "args": ["q?", 7]}));
            let question = sio.event("question").await;
            assert_eq!(args_of(&question, false), [json!("q?"), json!(7)], "{}", ctx(&sio));
            let id = question["ack_id"].as_u64().expect("an ack id");
            sio.send(json!({"op": "ack", "ack_id": id, "args": ["yes", bin]}));
            let answer = sio.event("answer").await;
            assert_eq!(args_of(&answer, false), [json!("yes"), bin.clone()], "{}", ctx(&sio));
            // No arguments at all, and a lone null.
            sio.send(json!({"op": "emit", "event": "echo", "args": [], "ack": "none"}));
            assert_eq!(sio.until_type("ack").await["args"], json!([]), "{}", ctx(&sio));
            sio.send(json!({"op": "emit", "event": "echo", "args": [null], "ack": "null"}));
            assert_eq!(sio.until_type("ack").await["args"], json!([null]), "{}", ctx(&sio));
            upgraded_or_not(&sio, mode);
            sio.close().await;
        }
    }
}

/// socketioxide runs each event's handler as a task of its own, so one socket's events may be
/// answered out of their order: for it, what matters is that each came once.
fn in_order_or_sorted(peer: Peer, got: &mut [u64]) {
    if peer == Peer::Socketioxide {
        got.sort_unstable();
    }
}

fn upgraded_or_not(sio: &Sio, mode: &str) {
    let names: Vec<&Value> = sio
        .seen
        .iter()
        .filter(|l| l["type"] == "transport")
        .map(|l| &l["name"])
        .collect();
    match mode {
        "polling" => assert_eq!(names, [&json!("polling")], "{:#?}", sio.seen),
        "websocket" => assert_eq!(names, [&json!("websocket")], "{:#?}", sio.seen),
        _ => assert!(names.len() <= 2 && names[0] == "polling", "{:#?}", sio.seen),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn io_server_disconnect_is_not_followed_by_a_reconnection() {
    for (peer, eio) in PEERS {
        let s = server(peer, ServerOptions::default()).await;
        for (mode, transports) in MODES {
            let mut sio = start(&s.url(), transports, eio, &["--reconnection-delay", "50"]);
            sio.until_type("connect").await;
            sio.send(json!({"op": "emit", "event": "echo", "args": [1], "ack": "pending"}));
            sio.until_type("ack").await;
            sio.send(json!({"op": "emit", "event": "kick"}));
            let d = sio.until_type("disconnect").await;
            let ctx = format!("{peer:?} eio {eio} {mode}: {:#?}", sio.seen);
            assert_eq!(d["reason"], "io server disconnect", "{ctx}");
            let after = sio.lines_within(Duration::from_millis(600)).await;
            assert!(
                after
                    .iter()
                    .all(|l| l["type"] != "connect" && l["type"] != "reconnect_attempt"),
                "{peer:?} eio {eio} {mode}: {after:#?}"
            );
            // The process goes on: it ends with its input.
            assert_eq!(sio.end_input().await, 0);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_posts_are_split_under_a_small_max_payload() {
    // Engine.IO v4 handshakes announce maxPayload; v3 ones do not (a socket.io-client 2 posts
    // everything it holds in one body), so this is a generation 4 behaviour.
    for (peer, eio) in PEERS.into_iter().filter(|(_, eio)| *eio == "4") {
        let o = ServerOptions {
            max_payload: Some(1000),
            ..Default::default()
        };
        let s = server(peer, o).await;
        let mut sio = start(&s.url(), "polling", eio, &[]);
        sio.until_type("connect").await;
        let text = "x".repeat(150);
        for i in 0..20 {
            sio.send(json!({"op": "emit", "event": "emit-back", "args": [i, text]}));
        }
        let mut got = Vec::new();
        for _ in 0..20 {
            let echo = sio.event("echo").await;
            let args = args_of(&echo, false);
            assert_eq!(args[1], json!(text), "{peer:?} eio {eio}: {:#?}", sio.seen);
            got.push(args[0].as_u64().unwrap());
        }
        in_order_or_sorted(peer, &mut got);
        assert_eq!(got, (0..20).collect::<Vec<u64>>(), "{peer:?} eio {eio}: {:#?}", sio.seen);
        assert!(
            sio.seen.iter().all(|l| l["type"] != "disconnect"),
            "{peer:?} eio {eio}: {:#?}",
            sio.seen
        );
        sio.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_other_generation_is_a_clear_error() {
    let cases = [
        (Peer::Node2, "4", false),
        (Peer::Node4, "3", true),
        (Peer::Ours, "3", true),
    ];
    for (peer, eio, no_eio3) in cases {
        let o = ServerOptions {
            no_eio3,
            ..Default::default()
        };
        let s = server(peer, o).await;
        for (mode, transports) in MODES {
            let mut sio = start(&s.url(), transports, eio, &[]);
            let error = sio.until_type("error").await;
            let ctx = format!("{peer:?} eio {eio} {mode}: {:#?}", sio.seen);
            let message = error["message"].as_str().unwrap();
            assert!(
                message.contains("Engine.IO v3") && message.contains("Engine.IO v4"),
                "{ctx}"
            );
            assert_eq!(sio.exit_status().await, 1, "{ctx}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnection_attempts_count_as_socket_io_client_then_give_up() {
    // A port nothing listens on.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}");
    for (mode, transports) in MODES {
        let extra = [
            "--reconnection-attempts",
            "2",
            "--reconnection-delay",
            "20",
            "--reconnection-delay-max",
            "40",
        ];
        let mut sio = start(&url, transports, "4", &extra);
        sio.until_type("reconnect_failed").await;
        assert_eq!(sio.exit_status().await, 1, "{mode}: {:#?}", sio.seen);
        let kinds: Vec<String> = sio
            .seen
            .iter()
            .filter(|l| l["type"] != "connect_error")
            .map(|l| match l["type"].as_str().unwrap() {
                "reconnect_attempt" => format!("attempt {}", l["attempt"]),
                other => other.to_owned(),
            })
            .collect();
        assert_eq!(
            kinds,
            ["attempt 1", "attempt 2", "reconnect_failed"],
            "{mode}: {:#?}",
            sio.seen
        );
        // Each failed attempt (the first connection included) says why.
        let errors = sio
            .seen
            .iter()
            .filter(|l| l["type"] == "connect_error")
            .count();
        assert_eq!(errors, 3, "{mode}: {:#?}", sio.seen);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_server_gets_the_buffered_emits_once_and_in_order() {
    let peers = [
        (Peer::Node4, "4"),
        (Peer::Node4, "3"),
        (Peer::Python, "4"),
        (Peer::Socketioxide, "4"),
        (Peer::Ours, "4"),
    ];
    for (peer, eio) in peers {
        for (mode, transports) in MODES {
            let s = server(peer, ServerOptions::default()).await;
            let port = s.port;
            let extra = ["--reconnection-delay", "100", "--reconnection-delay-max", "200"];
            let mut sio = start(&s.url(), transports, eio, &extra);
            sio.until_type("connect").await;
            s.stop().await;
            let d = sio.until_type("disconnect").await;
            assert_ne!(d["reason"], "io server disconnect", "{:#?}", sio.seen);
            for i in 0..5 {
                sio.send(json!({"op": "emit", "event": "emit-back", "args": [i]}));
            }
            // Down long enough for an attempt or two to fail.
            tokio::time::sleep(Duration::from_millis(300)).await;
            let o = ServerOptions {
                port: Some(port),
                ..Default::default()
            };
            let _s = server(peer, o).await;
            let reconnect = sio.until_type("reconnect").await;
            assert!(reconnect["attempt"].as_u64().unwrap() >= 1, "{:#?}", sio.seen);
            let mut got = Vec::new();
            for _ in 0..5 {
                got.push(args_of(&sio.event("echo").await, false)[0].as_u64().unwrap());
            }
            in_order_or_sorted(peer, &mut got);
            assert_eq!(got, [0, 1, 2, 3, 4], "{peer:?} eio {eio} {mode}: {:#?}", sio.seen);
            let more = sio.lines_within(Duration::from_millis(300)).await;
            assert!(
                more.iter().all(|l| l["event"] != "echo"),
                "sent twice: {more:#?}"
            );
            sio.close().await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missed_events_are_recovered_once_and_in_order_from_node() {
    let o = ServerOptions {
        recovery: true,
        ..Default::default()
    };
    let s = server(Peer::Node4, o).await;
    for (mode, transports) in MODES {
        let extra = ["--reconnection-delay", "300", "--reconnection-delay-max", "300"];
        let mut sio = start(&s.url(), transports, "4", &extra);
        let first = sio.until_type("connect").await;
        upgraded(&mut sio, mode).await;
        sio.send(json!({"op": "emit", "event": "break"}));
        let d = sio.until_type("disconnect").await;
        assert_eq!(d["reason"], "transport close", "{mode}: {:#?}", sio.seen);
        let again = sio.until_type("connect").await;
        assert_eq!(again["recovered"], true, "{mode}: {:#?}", sio.seen);
        assert_eq!(again["id"], first["id"], "{mode}: {:#?}", sio.seen);
        let mut missed = Vec::new();
        for _ in 0..3 {
            missed.push(args_of(&sio.event("missed").await, true)[0].clone());
        }
        assert_eq!(missed, [1, 2, 3], "{mode}: {:#?}", sio.seen);
        let more = sio.lines_within(Duration::from_millis(300)).await;
        assert!(
            more.iter().all(|l| l["event"] != "missed"),
            "replayed twice: {more:#?}"
        );
        sio.close().await;
    }
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_server_is_detected_by_the_heartbeat() {
    for eio in ["4", "3"] {
        for (mode, transports) in MODES {
            let o = ServerOptions {
                ping: Some((300, 200)),
                ..Default::default()
            };
            let s = server(Peer::Node4, o).await;
            let mut sio = start(&s.url(), transports, eio, &["--no-reconnect"]);
            sio.until_type("connect").await;
            upgraded(&mut sio, mode).await;
            let pid = s.pid().to_string();
            let stop = std::process::Command::new("kill")
                .args(["-STOP", &pid])
                .status()
                .unwrap();
            assert!(stop.success());
            let d = sio.until_type("disconnect").await;
            let _ = std::process::Command::new("kill")
                .args(["-CONT", &pid])
                .status();
            assert_eq!(d["reason"], "ping timeout", "eio {eio} {mode}: {:#?}", sio.seen);
            assert_eq!(sio.end_input().await, 0);
        }
    }
}


/// A user's TLS check: a Node server with a self-signed certificate, trusted with `--ca`;
/// without it the connection fails the certificate check.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_with_a_self_signed_certificate_and_ca() {
    let dir = std::env::temp_dir().join(format!("sio-tls-{}-{:?}", std::process::id(), RT));
    std::fs::create_dir_all(&dir).unwrap();
    let (cert, key) = super::support::client::self_signed(&dir);
    let o = ServerOptions {
        tls: Some((cert.clone(), key)),
        ..Default::default()
    };
    let s = server(Peer::Node4, o).await;
    let ca = cert.to_str().unwrap();
    for (mode, transports) in MODES {
        let mut sio = start(&s.url(), transports, "4", &["--ca", ca]);
        opened(&mut sio, mode).await;
        sio.until_type("connect").await;
        let welcome = sio.event("welcome").await;
        assert_eq!(welcome["args"][0]["nsp"], "/", "{mode}: {:#?}", sio.seen);
        upgraded(&mut sio, mode).await;
        sio.close().await;

        let mut untrusted = start(&s.url(), transports, "4", &["--no-reconnect"]);
        let error = untrusted.until_type("connect_error").await;
        assert!(error["data"]["message"].is_string(), "{mode}: {:#?}", untrusted.seen);
        let after = untrusted.lines_within(Duration::from_millis(300)).await;
        assert!(
            after.iter().all(|l| l["type"] != "connect"),
            "{mode}: {after:#?}"
        );
        assert_eq!(untrusted.end_input().await, 0);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The library itself (no `sio`): typed handlers, a typed ack answer, an ack awaited, the
/// disconnect reason, against our server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typed_handlers_and_acks_through_the_library() {
    use futures_util::StreamExt;
    use socketio_tokio::client::Client;

    #[derive(serde::Deserialize, Debug)]
    struct Welcome {
        nsp: String,
        auth: Value,
    }
    let s = server(Peer::Ours, ServerOptions::default()).await;
    let client = Client::builder(&format!("{}/a", s.url()))
        .unwrap()
        .auth(json!({"token": "t"}))
        .build(RT.runtime())
        .unwrap();
    let (tx, mut rx) = futures_channel::mpsc::unbounded::<String>();
    let socket = client.main_socket();
    assert_eq!(socket.nsp().as_str(), "/a");
    let t = tx.clone();
    socket.on("welcome", move |_, w: Welcome, _| {
        let t = t.clone();
        async move {
            let _ = t.unbounded_send(format!("welcome {} {}", w.nsp, w.auth));
        }
    });
    socket.on("question", |_, (q, n): (String, u32), ack| async move {
        if let Some(ack) = ack {
            let _ = ack.send(&(format!("{q}!"), n + 1)).await;
        }
    });
    let t = tx.clone();
    socket.on("answer", move |_, (a, n): (String, u32), _| {
        let t = t.clone();
        async move {
            let _ = t.unbounded_send(format!("answer {a} {n}"));
        }
    });
    let t = tx.clone();
    socket.on_connect(move |socket| {
        let t = t.clone();
        async move {
            let _ = t.unbounded_send(format!("connect {}", socket.connected()));
        }
    });
    let t = tx.clone();
    socket.on_disconnect(move |_, reason| {
        let t = t.clone();
        async move {
            let _ = t.unbounded_send(format!("disconnect {}", reason.as_str()));
        }
    });
    socket.connect();
    async fn next(rx: &mut futures_channel::mpsc::UnboundedReceiver<String>) -> String {
        tokio::time::timeout(Duration::from_secs(10), rx.next())
            .await
            .expect("an event within 10 s")
            .unwrap()
    }
    assert_eq!(next(&mut rx).await, "connect true");
    assert_eq!(next(&mut rx).await, r#"welcome /a {"token":"t"}"#);
    let answer = socket.emit_with_ack("echo", &("a", 1)).await.unwrap().unwrap();
    assert_eq!(answer.args::<(String, u32)>().unwrap(), ("a".to_owned(), 1));
    socket.emit("ask", &("q", 41)).await.unwrap();
    assert_eq!(next(&mut rx).await, "answer q! 42");
    socket.emit("kick", &()).await.unwrap();
    assert_eq!(next(&mut rx).await, "disconnect io server disconnect");
    assert!(!socket.connected());
    // Left: emits are refused, not buffered.
    assert!(matches!(
        socket.emit("echo", &()).await,
        Err(socketio_tokio::EmitError::NotConnected)
    ));
    client.close();
    assert!(client.is_closed());
}

/// The msgpack parser through the library against the npm socket.io 4.8 server with
/// socket.io-msgpack-parser and against ours with it, over polling, WebSocket and upgrade:
/// the welcome (auth echoed), an ack with binary both ways, a server-requested ack.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn msgpack_parser_events_acks_and_binary() {
    use futures_util::StreamExt;
    use socketio_tokio::client::{Client, Transports};
    use socketio_tokio::{Binary, Parser};

    async fn next(rx: &mut futures_channel::mpsc::UnboundedReceiver<String>, what: &str) -> String {
        tokio::time::timeout(Duration::from_secs(10), rx.next())
            .await
            .unwrap_or_else(|_| panic!("{what}: no event within 10 s"))
            .unwrap()
    }
    for peer in [Peer::Node4, Peer::Ours] {
        let o = ServerOptions {
            msgpack: true,
            ..ServerOptions::default()
        };
        let s = server(peer, o).await;
        for transports in [
            Transports::Polling,
            Transports::WebSocket,
            Transports::PollingThenWebSocket,
        ] {
            let what = format!("{peer:?} {transports:?}");
            let client = Client::builder(&format!("{}/a", s.url()))
                .unwrap()
                .parser(Parser::Msgpack)
                .transports(transports)
                .auth(json!({"token": "m", "n": 1.5}))
                .build(RT.runtime())
                .unwrap();
            let (tx, mut rx) = futures_channel::mpsc::unbounded::<String>();
            let socket = client.main_socket();
            let t = tx.clone();
            socket.on("welcome", move |_, w: Value, _| {
                let t = t.clone();
                async move {
                    let _ = t.unbounded_send(format!("welcome {} {}", w["nsp"], w["auth"]));
                }
            });
            socket.on("question", |_, (q, b): (String, Binary), ack| async move {
                if let Some(ack) = ack {
                    let _ = ack.send(&(format!("{q}!"), Binary::from(b.to_vec()))).await;
                }
            });
            let t = tx.clone();
            socket.on("answer", move |_, (a, b): (String, Binary), _| {
                let t = t.clone();
                async move {
                    let _ = t.unbounded_send(format!("answer {a} {:?}", &b[..]));
                }
            });
            socket.connect();
            assert_eq!(
                next(&mut rx, &format!("{what} welcome")).await,
                r#"welcome "/a" {"n":1.5,"token":"m"}"#,
                "{what}"
            );
            let bin = Binary::from(vec![1u8, 2, 250]);
            let answer = socket
                .emit_with_ack("echo", &("a", 1, &bin, json!({"deep": [&bin]})))
                .await
                .unwrap()
                .unwrap();
            let (a, n, b, deep): (String, u32, Binary, Value) = answer.args().unwrap();
            assert_eq!((a.as_str(), n, &b[..]), ("a", 1, &[1u8, 2, 250][..]), "{what}");
            assert_eq!(deep, json!({"deep": [[1, 2, 250]]}), "{what}");
            socket
                .emit("ask", &("q", Binary::from(vec![7u8])))
                .await
                .unwrap();
            assert_eq!(
                next(&mut rx, &format!("{what} answer")).await,
                "answer q! [7]",
                "{what}"
            );
            client.close();
        }
    }
}

/// socketioxide 0.18 writes a binary attachment inside an Engine.IO v3 binary payload as a
/// text element `b<base64>` (v4's form; v3 is `b4<base64>`): the element's first character is
/// then read as its packet type. Our client refuses the payload as the protocol error it is
/// (`parse error`, then it reconnects).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn socketioxide_v3_binary_is_refused_as_a_parse_error() {
    let s = server(Peer::Socketioxide, ServerOptions::default()).await;
    let mut sio = start(&s.url(), "polling", "3", &[]);
    sio.until_type("connect").await;
    sio.send(json!({"op": "emit", "event": "echo", "args": [{"$binary": "AAE="}], "ack": "b"}));
    let d = sio.until_type("disconnect").await;
    assert_eq!(d["reason"], "parse error", "{:#?}", sio.seen);
    let e = sio.until_type("ack_error").await;
    assert_eq!(e["error"], "disconnected", "{:#?}", sio.seen);
    sio.until_type("connect").await;
    sio.close().await;
}

/// The `--json` details: an ack the server never sends ends with `ack_error` `timeout` after
/// `--ack-timeout`; a bad input line is reported and skipped; `nsp` defaults to the first
/// namespace.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_lines_report_ack_timeouts_and_bad_lines() {
    let s = server(Peer::Ours, ServerOptions::default()).await;
    let extra = ["--ack-timeout", "200", "--namespace", "/b", "--namespace", "/a"];
    let mut sio = start(&s.url(), "websocket", "4", &extra);
    sio.until_type("connect").await;
    sio.until_type("connect").await;
    // No handler: the server never acks it.
    sio.send(json!({"op": "emit", "event": "nothing-answers", "ack": "t"}));
    let e = sio.until_type("ack_error").await;
    assert_eq!(e, json!({"type": "ack_error", "ack": "t", "error": "timeout"}));
    for bad in ["not json", r#"{"op":"fly"}"#, r#"{"op":"emit"}"#, r#"{"op":"ack","ack_id":99}"#] {
        sio.send_raw(bad);
        let error = sio.until_type("error").await;
        assert!(error["message"].is_string(), "{bad}: {error}");
    }
    // Still running; the default namespace is the first --namespace.
    sio.send(json!({"op": "emit", "event": "echo", "args": ["x"], "ack": "ok"}));
    assert_eq!(sio.until_type("ack").await["args"], json!(["x"]));
    sio.send(json!({"op": "emit", "event": "emit-back", "args": ["here"]}));
    assert_eq!(sio.event("echo").await["nsp"], "/b");
    sio.close().await;
}

/// Without `--json`: the readable form (lines in, lines out).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interactive_mode_reads_and_prints_lines() {
    let s = server(Peer::Ours, ServerOptions::default()).await;
    let mut sio = super::support::client::Sio::start_text(
        RT,
        &["--transports", "websocket", "--namespace", "/a", &s.url()],
    );
    let connected = sio.until_text(|l| l.starts_with("* connected /a")).await;
    assert!(connected.contains("recovered false"), "{connected}");
    sio.send_raw(r#"emit-back "hi" {"n":1}"#);
    let echo = sio.until_text(|l| l.starts_with("< /a echo")).await;
    assert_eq!(echo, r#"< /a echo ["hi",{"n":1}]"#);
    sio.send_raw("/ emit-back 7");
    sio.until_text(|l| l.starts_with("! ")).await; // not joined: emit refused, reported
    sio.send_raw(":connect /b");
    sio.until_text(|l| l.starts_with("* connected /b")).await;
    sio.send_raw("ask 1");
    let question = sio.until_text(|l| l.contains("question")).await;
    assert!(question.ends_with("(ack 0)") || question.contains("(ack "), "{question}");
    let id: String = question
        .rsplit("(ack ")
        .next()
        .unwrap()
        .trim_end_matches(')')
        .to_owned();
    sio.send_raw(&format!(":ack {id} \"yes\""));
    let answer = sio.until_text(|l| l.contains(" answer ")).await;
    assert_eq!(answer, r#"< /a answer ["yes"]"#);
    sio.send_raw(":close");
    assert_eq!(sio.exit_status().await, 0);
}
