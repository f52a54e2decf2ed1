//! One client process of the client benchmark: `client-bench ours|rust_socketio URL SECONDS
//! CONNECTIONS`. Each connection (WebSocket transport, namespace `/`) emits `echo` with an
//! ack and waits for it, again and again, for SECONDS; the process then prints one JSON line:
//! the round trips completed and its own CPU time (user + system, `getrusage`), so that the
//! script can compare round trips per client CPU-second.

#![allow(unsafe_code)]

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::FutureExt;
use serde_json::json;

/// User and system CPU seconds of this process.
fn cpu_seconds() -> (f64, f64) {
    // SAFETY: getrusage fills the struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    (tv(usage.ru_utime), tv(usage.ru_stime))
}

async fn ours(url: String, done: Arc<AtomicBool>, count: Arc<AtomicU64>) {
    use socketio_tokio::client::{Client, Transports};
    let client = Client::builder(&url)
        .unwrap()
        .transports(Transports::WebSocket)
        .build(Arc::new(socketio_tokio::TokioRuntime))
        .unwrap();
    let socket = client.main_socket();
    let (tx, rx) = tokio::sync::oneshot::channel();
    let tx = std::sync::Mutex::new(Some(tx));
    socket.on_connect(move |_| {
        if let Some(tx) = tx.lock().unwrap().take() {
            let _ = tx.send(());
        }
        async {}
    });
    socket.connect();
    rx.await.unwrap();
    let mut i = 0u64;
    while !done.load(Ordering::Relaxed) {
        let answer = socket.emit_with_ack("echo", &(i,)).await.unwrap().unwrap();
        assert_eq!(answer.args::<(u64,)>().unwrap().0, i);
        i += 1;
        count.fetch_add(1, Ordering::Relaxed);
    }
    client.close();
}

async fn rust_socketio(url: String, done: Arc<AtomicBool>, count: Arc<AtomicU64>) {
    use rust_socketio::asynchronous::{Client, ClientBuilder};
    use rust_socketio::{Payload, TransportType};
    // `connect()` returns once the connection is open (the measurement starts after a
    // warm-up anyway).
    let socket = ClientBuilder::new(url)
        .namespace("/")
        .transport_type(TransportType::Websocket)
        .connect()
        .await
        .unwrap();
    let mut i = 0u64;
    while !done.load(Ordering::Relaxed) {
        let (tx, rx) = tokio::sync::oneshot::channel::<Payload>();
        let tx = Arc::new(std::sync::Mutex::new(Some(tx)));
        let callback = move |payload: Payload, _: Client| {
            if let Some(tx) = tx.lock().unwrap().take() {
                let _ = tx.send(payload);
            }
            async {}.boxed()
        };
        socket
            .emit_with_ack("echo", json!(i), Duration::from_secs(5), callback)
            .await
            .unwrap();
        let answer = match tokio::time::timeout(Duration::from_secs(5), rx).await {
            Ok(answer) => answer.unwrap(),
            Err(_) => {
                eprintln!("rust_socketio: no ack within 5 s");
                return;
            }
        };
        match answer {
            // rust_socketio hands an ack's arguments over as one array.
            Payload::Text(values) => assert!(
                values[0] == json!(i) || values[0] == json!([i]),
                "{values:?}"
            ),
            other => panic!("{other:?}"),
        }
        i += 1;
        count.fetch_add(1, Ordering::Relaxed);
    }
    let _ = socket.disconnect().await;
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, which, url, seconds, connections] = &args[..] else {
        eprintln!("usage: client-bench ours|rust_socketio URL SECONDS CONNECTIONS");
        std::process::exit(2);
    };
    let seconds: f64 = seconds.parse().unwrap();
    let connections: usize = connections.parse().unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let (url, done, count) = (url.clone(), done.clone(), count.clone());
        tasks.push(match which.as_str() {
            "ours" => tokio::spawn(ours(url, done, count)),
            "rust_socketio" => tokio::spawn(rust_socketio(url, done, count)),
            _ => panic!("ours or rust_socketio"),
        });
    }
    // Connected and warm: measure from here.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (c0, n0, t0) = (cpu_seconds(), count.load(Ordering::Relaxed), Instant::now());
    tokio::time::sleep(Duration::from_secs_f64(seconds)).await;
    let (c1, n1, t1) = (cpu_seconds(), count.load(Ordering::Relaxed), Instant::now());
    done.store(true, Ordering::Relaxed);
    let round_trips = n1 - n0;
    let (user, system) = (c1.0 - c0.0, c1.1 - c0.1);
    let cpu = user + system;
    println!(
        "{}",
        json!({
            "client": which,
            "connections": connections,
            "round_trips": round_trips,
            "wall_s": (t1 - t0).as_secs_f64(),
            "client_cpu_s": cpu,
            "user_us_per_rt": user * 1e6 / round_trips as f64,
            "system_us_per_rt": system * 1e6 / round_trips as f64,
            "rt_per_client_cpu_s": round_trips as f64 / cpu,
        })
    );
    std::process::exit(0);
}
