//! Fleets on Redis (Debian's `redis-server`, started here on a free port): our `cluster`
//! nodes (socketio_redis::cluster_app, on tokio and on smol) beside Node ones (npm socket.io
//! 4.8 + @socket.io/redis-adapter 8.3, interop/cluster-node.js), driven by npm
//! socket.io-client 4 and @socket.io/redis-emitter (interop/cluster-driver.js), which checks
//! what every client of every node receives.

mod support;

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use socketio_redis::cluster_app::{build, Settings};
use support::client::interop_dir;
use support::{start_stoppable, Rt, Stop};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

/// A redis-server of its own; killed when dropped.
struct Redis {
    port: u16,
    child: Child,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Redis {
    async fn start(port: u16) -> Redis {
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("redis-server: {e} (run scripts/setup)"));
        let redis = Redis { port, child };
        for _ in 0..200 {
            if redis.command(&["PING"]).await.as_deref() == Some("+PONG\r\n") {
                return redis;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("redis-server did not start on port {port}");
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// One command over RESP2, its raw reply.
    async fn command(&self, args: &[&str]) -> Option<String> {
        let mut s = tokio::net::TcpStream::connect(("127.0.0.1", self.port))
            .await
            .ok()?;
        let mut req = format!("*{}\r\n", args.len());
        for a in args {
            req.push_str(&format!("${}\r\n{a}\r\n", a.len()));
        }
        s.write_all(req.as_bytes()).await.ok()?;
        let mut buf = vec![0u8; 512];
        let n = tokio::time::timeout(Duration::from_secs(2), s.read(&mut buf))
            .await
            .ok()?
            .ok()?;
        Some(String::from_utf8_lossy(&buf[..n]).into_owned())
    }

    /// Subscribers of the request channel of `/` (the sharded adapter: of its shard channel):
    /// the fleet's size as Node counts it.
    async fn nodes(&self, adapter: &str) -> u64 {
        let count = if adapter == "sharded" {
            ["PUBSUB", "SHARDNUMSUB", "socket.io#/#"]
        } else {
            ["PUBSUB", "NUMSUB", "socket.io-request#/#"]
        };
        let reply = self.command(&count).await.unwrap_or_default();
        // *2\r\n$20\r\nsocket.io-request#/#\r\n:N\r\n
        reply
            .rsplit(':')
            .next()
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or(0)
    }

    async fn wait_for_nodes(&self, adapter: &str, n: u64) {
        for _ in 0..400 {
            if self.nodes(adapter).await == n {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("the fleet has {} nodes, not {n}", self.nodes(adapter).await);
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A node of the fleet: its URL, and what keeps it running.
struct FleetNode {
    url: String,
    name: String,
    _keep: Keep,
}

#[allow(dead_code)]
enum Keep {
    Ours(Stop, socketio_tokio::SocketIoServer),
    Node(tokio::process::Child),
}

async fn ours(rt: Rt, redis: &Redis, adapter: &str, name: &str) -> FleetNode {
    let settings = Settings {
        port: 0,
        redis_url: redis.url(),
        adapter: adapter.into(),
        node_name: name.into(),
    };
    let runtime = rt.runtime();
    let io = match rt {
        Rt::Tokio => build(&settings, runtime).await,
        // Connected from a smol thread: the redis crate runs on the runtime it is called in.
        _ => std::thread::spawn(move || smol::block_on(build(&settings, runtime)))
            .join()
            .unwrap(),
    }
    .expect("our node");
    let (addr, stop) = start_stoppable(rt, vec![io.engine().clone()]).await;
    FleetNode {
        url: format!("http://{addr}"),
        name: name.into(),
        _keep: Keep::Ours(stop, io),
    }
}

async fn node_js(redis: &Redis, adapter: &str, name: &str, silent: bool) -> FleetNode {
    let mut cmd = tokio::process::Command::new("node");
    cmd.arg("cluster-node.js")
        .current_dir(interop_dir())
        .env("ADAPTER", adapter)
        .env("PORT", "0")
        .env("REDIS_URL", redis.url())
        .env("NODE_NAME", name)
        .env("REQUESTS_TIMEOUT", "3000")
        .stdout(Stdio::piped())
        .kill_on_drop(true);
    if silent {
        cmd.env("SILENT", "1");
    }
    let mut child = cmd.spawn().expect("node (run scripts/setup)");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
        .await
        .expect("the Node node started in time")
        .unwrap()
        .expect("the Node node's listening line");
    let addr = line.strip_prefix("listening on ").expect("listening line");
    FleetNode {
        url: format!("http://{addr}"),
        name: name.into(),
        _keep: Keep::Node(child),
    }
}

/// Runs the driver's scenario set against `nodes`; panics with its report when one failed.
async fn drive(set: &str, redis: &Redis, nodes: &[&FleetNode]) {
    let names: Vec<&str> = nodes.iter().map(|n| n.name.as_str()).collect();
    let out = tokio::process::Command::new("node")
        .arg("cluster-driver.js")
        .arg(set)
        .args(nodes.iter().map(|n| n.url.as_str()))
        .current_dir(interop_dir())
        .env("NAMES", names.join(","))
        .env("REDIS_URL", redis.url())
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(240), out)
        .await
        .expect("the driver ended in time")
        .expect("node");
    let report = String::from_utf8_lossy(&out.stdout);
    println!("{report}");
    assert!(
        out.status.success() && report.contains(" passed, 0 failed"),
        "{set} against {names:?}:\n{report}{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

mod classic {
    use super::*;
    const C: &str = "classic";
    const FLEET: &str = "fleet";

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn mixed_fleet_two_node_nodes_and_ours_on_tokio() {
        let redis = Redis::start(free_port()).await;
        let a = node_js(&redis, C, "A", false).await;
        let b = node_js(&redis, C, "B", false).await;
        let r = ours(Rt::Tokio, &redis, C, "R").await;
        redis.wait_for_nodes(C, 3).await;
        drive(FLEET, &redis, &[&a, &b, &r]).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn mixed_fleet_two_node_nodes_and_ours_on_smol() {
        let redis = Redis::start(free_port()).await;
        let a = node_js(&redis, C, "A", false).await;
        let s = ours(Rt::Smol, &redis, C, "S").await;
        let b = node_js(&redis, C, "B", false).await;
        redis.wait_for_nodes(C, 3).await;
        drive(FLEET, &redis, &[&a, &s, &b]).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_fleet_of_only_our_nodes_on_both_runtimes() {
        let redis = Redis::start(free_port()).await;
        let t = ours(Rt::Tokio, &redis, C, "T").await;
        let s = ours(Rt::Smol, &redis, C, "S").await;
        let u = ours(Rt::Tokio, &redis, C, "U").await;
        redis.wait_for_nodes(C, 3).await;
        drive(FLEET, &redis, &[&t, &s, &u]).await;
    }

    /// The control: a subscriber that never answers is counted as a node, so requests from Node
    /// and from ours must fail (the other scenarios would catch a node of ours that went silent).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_silent_node_makes_every_nodes_requests_fail() {
        let redis = Redis::start(free_port()).await;
        let a = node_js(&redis, C, "A", false).await;
        let r = ours(Rt::Tokio, &redis, C, "R").await;
        let _silent = node_js(&redis, C, "silent", true).await;
        redis.wait_for_nodes(C, 3).await;
        drive("silent", &redis, &[&a, &r]).await;
    }

    /// Redis goes away under a mixed fleet and comes back on the same port: every node keeps
    /// serving its own sockets meanwhile, reconnects, subscribes again, and the fleet works as
    /// before.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn redis_restarted_mid_run() {
        let port = free_port();
        let mut redis = Redis::start(port).await;
        let a = node_js(&redis, C, "A", false).await;
        let t = ours(Rt::Tokio, &redis, C, "T").await;
        let s = ours(Rt::Smol, &redis, C, "S").await;
        redis.wait_for_nodes(C, 3).await;
        redis.kill();
        drive("down", &redis, &[&a, &t, &s]).await;
        let redis = Redis::start(port).await;
        redis.wait_for_nodes(C, 3).await;
        drive(FLEET, &redis, &[&a, &t, &s]).await;
    }
}

/// The same fleets on the sharded adapter (`subscriptionMode: "dynamic"`): Node targets our
/// socket ids on the namespace's channel and our public rooms on their own channels, which our
/// node subscribes to as rooms come and go. The emitter speaks only the classic protocol.
mod sharded {
    use super::*;
    const C: &str = "sharded";
    const FLEET: &str = "fleet-sharded";

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn mixed_fleet_a_node_node_and_ours_on_tokio_and_smol() {
        let redis = Redis::start(free_port()).await;
        let a = node_js(&redis, C, "A", false).await;
        let t = ours(Rt::Tokio, &redis, C, "T").await;
        let s = ours(Rt::Smol, &redis, C, "S").await;
        redis.wait_for_nodes(C, 3).await;
        drive(FLEET, &redis, &[&a, &t, &s]).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_fleet_of_only_our_nodes() {
        let redis = Redis::start(free_port()).await;
        let t = ours(Rt::Tokio, &redis, C, "T").await;
        let s = ours(Rt::Smol, &redis, C, "S").await;
        redis.wait_for_nodes(C, 2).await;
        drive(FLEET, &redis, &[&t, &s]).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_silent_node_makes_every_nodes_requests_fail() {
        let redis = Redis::start(free_port()).await;
        let a = node_js(&redis, C, "A", false).await;
        let r = ours(Rt::Tokio, &redis, C, "R").await;
        let _silent = node_js(&redis, C, "silent", true).await;
        redis.wait_for_nodes(C, 3).await;
        drive("silent", &redis, &[&a, &r]).await;
    }
}

/// What the `cluster` example cannot express, through the library's own API: two of our nodes,
/// a client of ours on each node in `/` and `/chat`.
mod api {
    use super::*;
    use std::sync::{Arc, Mutex};

    use serde_json::{json, Value};
    use socketio_redis::{NodeConfig, RedisAdapter};
    use socketio_tokio::client::{Client, Transports};
    use socketio_tokio::{SocketIoServer, TokioRuntime};

    type Log = Arc<Mutex<Vec<(String, Value)>>>;

    struct Node {
        io: SocketIoServer,
        adapter: Arc<RedisAdapter>,
        url: String,
        /// Server-side emits this node's handler got.
        notes: Log,
        _stop: Stop,
    }

    async fn node(redis: &Redis) -> Node {
        let runtime: Arc<dyn socketio_tokio::Runtime> = Arc::new(TokioRuntime);
        let config = NodeConfig {
            requests_timeout: Duration::from_secs(2),
            ..NodeConfig::default()
        };
        let adapter = RedisAdapter::connect(&redis.url(), config, runtime.clone())
            .await
            .expect("Redis");
        let io = SocketIoServer::builder()
            .adapter(adapter.clone())
            .build(runtime);
        for nsp in ["/", "/chat"] {
            io.namespace(nsp, |s| async move {
                if let Some(room) = s.auth().get("room").and_then(Value::as_str) {
                    s.join(room);
                }
            });
        }
        let notes: Log = Arc::default();
        let log = notes.clone();
        io.on_server_side_emit("/", "note", move |args, _ack| {
            log.lock()
                .unwrap()
                .push(("note".into(), Value::Array(args)));
            async {}
        });
        let (addr, stop) = start_stoppable(Rt::Tokio, vec![io.engine().clone()]).await;
        Node {
            io,
            adapter,
            url: format!("http://{addr}"),
            notes,
            _stop: stop,
        }
    }

    /// A client of `nsp` on `node` (in room `room`), recording every event.
    async fn client(node: &Node, nsp: &str, room: &str) -> (Client, Log) {
        let client = Client::builder(&format!("{}{nsp}", node.url))
            .unwrap()
            .transports(Transports::WebSocket)
            .auth(json!({ "room": room }))
            .build(Arc::new(TokioRuntime))
            .unwrap();
        let log: Log = Arc::default();
        let socket = client.main_socket();
        let l = log.clone();
        socket.on_any(move |_, packet, _| {
            let name = packet.event_name().unwrap_or("").to_owned();
            let args = packet.args_value().map(Value::Array).unwrap_or_default();
            l.lock().unwrap().push((name, args));
            async {}
        });
        socket.connect();
        assert!(
            support::eventually(|| socket.connected()).await,
            "client connected"
        );
        (client, log)
    }

    fn got(log: &Log, event: &str) -> Vec<Value> {
        log.lock()
            .unwrap()
            .iter()
            .filter(|(e, _)| e == event)
            .map(|(_, a)| a.clone())
            .collect()
    }

    async fn settle() {
        tokio::time::sleep(Duration::from_millis(400)).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn local_stays_on_its_node_volatile_crosses_and_namespaces_stay_apart() {
        let redis = Redis::start(free_port()).await;
        let (n1, n2) = (node(&redis).await, node(&redis).await);
        redis.wait_for_nodes("classic", 2).await;
        let (_c1, main1) = client(&n1, "/", "r").await;
        let (_c2, main2) = client(&n2, "/", "r").await;
        let (_c3, chat1) = client(&n1, "/chat", "r").await;
        let (_c4, chat2) = client(&n2, "/chat", "r").await;

        n1.io.of("/").local().emit("loc", &(1,)).await.unwrap();
        n1.io.of("/").volatile().emit("vol", &(2,)).await.unwrap();
        n1.io.of("/chat").to("r").emit("chat", &(3,)).await.unwrap();
        settle().await;
        assert_eq!(got(&main1, "loc"), [json!([1])]);
        assert_eq!(
            got(&main2, "loc"),
            Vec::<Value>::new(),
            "local crossed the fleet"
        );
        assert_eq!(got(&main1, "vol"), [json!([2])]);
        assert_eq!(got(&main2, "vol"), [json!([2])], "volatile did not cross");
        for log in [&chat1, &chat2] {
            assert_eq!(got(log, "chat"), [json!([3])]);
        }
        for log in [&main1, &main2] {
            assert_eq!(
                got(log, "chat"),
                Vec::<Value>::new(),
                "another namespace's broadcast"
            );
        }
        assert_eq!(n1.adapter.failed_publishes(), 0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn all_rooms_and_server_side_emit_without_ack_cross_the_fleet() {
        let redis = Redis::start(free_port()).await;
        let (n1, n2) = (node(&redis).await, node(&redis).await);
        redis.wait_for_nodes("classic", 2).await;
        let (_c1, _) = client(&n1, "/", "here").await;
        let (_c2, _) = client(&n2, "/", "there").await;
        let (rooms, result) = n1.io.all_rooms("/").await;
        assert_eq!(result, Ok(()));
        assert!(
            rooms.contains("here") && rooms.contains("there"),
            "{rooms:?}"
        );
        n1.io
            .server_side_emit("/", "note", vec![json!("hi"), json!(7)]);
        assert!(support::eventually(|| !n2.notes.lock().unwrap().is_empty()).await);
        assert_eq!(
            *n2.notes.lock().unwrap(),
            [("note".to_owned(), json!(["hi", 7]))]
        );
        settle().await;
        assert!(
            n1.notes.lock().unwrap().is_empty(),
            "a node got its own server-side emit"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn with_redis_down_publishes_are_counted_and_requests_fail_at_once() {
        let mut redis = Redis::start(free_port()).await;
        let n1 = node(&redis).await;
        redis.wait_for_nodes("classic", 1).await;
        let (_c1, main1) = client(&n1, "/", "r").await;
        redis.kill();
        assert!(support::eventually(|| !n1.adapter.is_connected()).await);
        n1.io.to("r").emit("still", &(1,)).await.unwrap();
        settle().await;
        assert_eq!(got(&main1, "still"), [json!([1])], "local delivery stopped");
        assert!(n1.adapter.failed_publishes() >= 1);
        let started = std::time::Instant::now();
        let fetched = n1.io.of("/").fetch_sockets().await;
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "the request waited"
        );
        assert!(
            matches!(
                fetched.result,
                Err(socketio_tokio::FleetError::Unavailable(_))
            ),
            "{:?}",
            fetched.result
        );
        assert_eq!(fetched.local.len(), 1);
    }
}
