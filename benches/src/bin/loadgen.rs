//! The end-to-end load tool: a raw Socket.IO v5 WebSocket client (string slicing, no Socket.IO
//! machinery) on one thread, driving any server that honours the `bench-server` contract
//! (`adapters-tokio/examples/bench-server.rs`).
//!
//! ```text
//! loadgen --port 3000 [--pid PID] [--clk-tck 100] PHASE...
//!   echo:C:SECS[:WARM]   C connections, each a closed loop of `42<id>["echo",P]` -> `43<id>[P]`
//!                        for SECS seconds after WARM (default 1) seconds of warm-up
//!   bcast:N:K            N connections; one sends `42["bcast",P]`, time until all N got it,
//!                        K times
//!   idle:N               server RSS before and after N connections are open and settled
//! ```
//!
//! Every phase opens its own connections and prints one JSON line. With `--pid`, the server's
//! CPU time over the measured window is read from `/proc`: the sum of every thread's
//! `/proc/PID/task/*/schedstat` run time (nanoseconds) and, as a cross-check, utime + stime of
//! `/proc/PID/stat` (clock ticks; threads that ended are included there). The tool's own CPU
//! time over the window is reported too (`tool_cpu_pct`): near 100 % means the load tool, not the
//! server, bounded the rate.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, Notify};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

type Ws = WebSocketStream<TcpStream>;
type BoxError = Box<dyn std::error::Error>;

/// The argument every `echo` and `bcast` carries.
const PAYLOAD: &str = r#"{"msg":"hello","n":1}"#;
/// Connection attempts in flight at once while a phase connects its clients.
const CONNECT_CONCURRENCY: usize = 64;
/// How long one connection may take from TCP connect to the Socket.IO `40{...}` reply.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(20);

struct Opts {
    port: u16,
    pid: Option<u32>,
    clk_tck: u64,
    phases: Vec<String>,
}

fn usage() -> ! {
    eprintln!(
        "usage: loadgen --port PORT [--pid PID] [--clk-tck N] PHASE...\n\
         phases: echo:C:SECS[:WARM]  bcast:N:K  idle:N"
    );
    std::process::exit(2)
}

fn parse_args() -> Opts {
    let mut opts = Opts {
        port: 3000,
        pid: None,
        clk_tck: 100,
        phases: Vec::new(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| usage());
        match arg.as_str() {
            "--port" => opts.port = value().parse().unwrap_or_else(|_| usage()),
            "--pid" => opts.pid = Some(value().parse().unwrap_or_else(|_| usage())),
            "--clk-tck" => opts.clk_tck = value().parse().unwrap_or_else(|_| usage()),
            "-h" | "--help" => usage(),
            _ if !arg.starts_with('-') => opts.phases.push(arg),
            _ => usage(),
        }
    }
    if opts.phases.is_empty() {
        usage()
    }
    opts
}

// ---------------------------------------------------------------------------------------------
// /proc readings

/// CPU time of a process: per-thread scheduler run time and utime + stime.
#[derive(Clone, Copy, Default)]
struct Cpu {
    /// Sum of `/proc/PID/task/*/schedstat` first fields, in nanoseconds.
    sched_ns: u64,
    /// utime + stime from `/proc/PID/stat`, in clock ticks.
    ticks: u64,
}

fn read_cpu(pid: &str) -> Option<Cpu> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses and may contain anything.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after `(comm)`.
    let ticks = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    let mut sched_ns = 0;
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).ok()? {
        let path = task.ok()?.path().join("schedstat");
        if let Ok(s) = std::fs::read_to_string(path) {
            sched_ns += s
                .split_whitespace()
                .next()
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0);
        }
    }
    Some(Cpu { sched_ns, ticks })
}

/// Resident set size in KiB (`VmRSS` of `/proc/PID/status`).
fn read_rss_kib(pid: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The server's CPU and the tool's own over one window.
struct Window {
    server: Option<(Cpu, Cpu)>,
    tool: (Cpu, Cpu),
    start: Instant,
    end: Option<Instant>,
}

impl Window {
    fn open(pid: Option<&str>) -> Self {
        Window {
            server: pid.and_then(read_cpu).map(|c| (c, c)),
            tool: read_cpu("self").map(|c| (c, c)).unwrap_or_default(),
            start: Instant::now(),
            end: None,
        }
    }

    fn close(&mut self, pid: Option<&str>) {
        if let (Some((_, end)), Some(now)) = (&mut self.server, pid.and_then(read_cpu)) {
            *end = now;
        }
        if let Some(now) = read_cpu("self") {
            self.tool.1 = now;
        }
        self.end = Some(Instant::now());
    }

    fn secs(&self) -> f64 {
        (self.end.unwrap_or_else(Instant::now) - self.start).as_secs_f64()
    }

    /// Server CPU seconds over the window: (schedstat, utime + stime).
    fn server_cpu_s(&self, clk_tck: u64) -> Option<(f64, f64)> {
        let (a, b) = self.server?;
        Some((
            (b.sched_ns - a.sched_ns) as f64 / 1e9,
            (b.ticks - a.ticks) as f64 / clk_tck as f64,
        ))
    }

    fn tool_cpu_pct(&self) -> f64 {
        let (a, b) = self.tool;
        100.0 * (b.sched_ns - a.sched_ns) as f64 / 1e9 / self.secs()
    }
}

// ---------------------------------------------------------------------------------------------
// The raw client

fn text(ws_msg: &Message) -> Option<&str> {
    match ws_msg {
        Message::Text(t) => Some(t.as_str()),
        _ => None,
    }
}

/// Opens a WebSocket, reads the Engine.IO open packet, connects to `/` and waits for `40{...}`.
async fn connect(port: u16) -> Result<Ws, BoxError> {
    let handshake = async {
        let tcp = TcpStream::connect(("127.0.0.1", port)).await?;
        tcp.set_nodelay(true)?;
        let url = format!("ws://127.0.0.1:{port}/socket.io/?EIO=4&transport=websocket");
        // Small read buffers: ten thousand clients live in this one process.
        let config = WebSocketConfig::default().read_buffer_size(4096);
        let (mut ws, _) =
            tokio_tungstenite::client_async_with_config(url, tcp, Some(config)).await?;
        let mut opened = false;
        loop {
            let msg = ws.next().await.ok_or("closed during the handshake")??;
            match text(&msg) {
                Some(t) if !opened && t.starts_with('0') => {
                    opened = true;
                    ws.send(Message::text("40")).await?;
                }
                Some("2") => ws.send(Message::text("3")).await?,
                Some(t) if opened && t.starts_with("40") => return Ok::<_, BoxError>(ws),
                Some(t) if opened && t.starts_with("44") => {
                    return Err(format!("connect refused: {t}").into())
                }
                _ => {}
            }
        }
    };
    tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake)
        .await
        .map_err(|_| "handshake timed out")?
}

/// Opens `n` connections, at most [`CONNECT_CONCURRENCY`] handshakes at a time.
async fn connect_many(port: u16, n: usize) -> Result<Vec<Ws>, BoxError> {
    let results: Vec<Result<Ws, BoxError>> = futures_util::stream::iter(0..n)
        .map(|_| connect(port))
        .buffer_unordered(CONNECT_CONCURRENCY)
        .collect()
        .await;
    results.into_iter().collect()
}

// ---------------------------------------------------------------------------------------------
// Phases

/// One completed echo round trip, in microseconds since the phase's base instant.
type Trip = (u32, u32);

async fn echo_loop(mut ws: Ws, base: Instant, stop: Instant) -> Result<(Vec<Trip>, u64), String> {
    let mut trips = Vec::new();
    let mut bad = 0u64;
    let mut frame = String::new();
    let mut expected = String::new();
    let mut id: u64 = 0;
    while Instant::now() < stop {
        id += 1;
        frame.clear();
        let _ = write!(frame, r#"42{id}["echo",{PAYLOAD}]"#);
        expected.clear();
        let _ = write!(expected, "43{id}[{PAYLOAD}]");
        let t0 = Instant::now();
        ws.send(Message::text(frame.as_str()))
            .await
            .map_err(|e| e.to_string())?;
        loop {
            let msg = ws
                .next()
                .await
                .ok_or("connection closed")?
                .map_err(|e| e.to_string())?;
            match text(&msg) {
                Some("2") => ws
                    .send(Message::text("3"))
                    .await
                    .map_err(|e| e.to_string())?,
                Some(t) if t.starts_with("43") => {
                    let digits = t[2..].bytes().take_while(u8::is_ascii_digit).count();
                    if t[2..2 + digits].parse::<u64>().ok() != Some(id) {
                        continue;
                    }
                    if t != expected {
                        bad += 1;
                    }
                    break;
                }
                _ => {}
            }
        }
        let t1 = Instant::now();
        let us = |t: Instant| (t - base).as_micros() as u32;
        trips.push((us(t0), us(t1)));
    }
    drop(ws);
    Ok((trips, bad))
}

fn percentile(sorted: &[u32], p: f64) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[rank]
}

async fn phase_echo(
    opts: &Opts,
    c: usize,
    secs: f64,
    warm: f64,
) -> Result<serde_json::Value, BoxError> {
    let pid = opts.pid.map(|p| p.to_string());
    let pid = pid.as_deref();
    let conns = connect_many(opts.port, c).await?;
    let base = Instant::now();
    let warm_end = base + Duration::from_secs_f64(warm);
    let stop = warm_end + Duration::from_secs_f64(secs);
    let tasks: Vec<_> = conns
        .into_iter()
        .map(|ws| tokio::spawn(echo_loop(ws, base, stop)))
        .collect();
    tokio::time::sleep_until(warm_end.into()).await;
    let mut window = Window::open(pid);
    tokio::time::sleep_until(stop.into()).await;
    window.close(pid);
    let (from, to) = (
        (window.start - base).as_micros() as u32,
        (window.end.unwrap_or(stop) - base).as_micros() as u32,
    );
    let mut latencies = Vec::new();
    let mut completed = 0u64;
    let mut bad = 0u64;
    for task in tasks {
        let (trips, b) = task.await??;
        bad += b;
        for (t0, t1) in trips {
            if t1 >= from && t1 <= to {
                completed += 1;
                if t0 >= from {
                    latencies.push(t1 - t0);
                }
            }
        }
    }
    latencies.sort_unstable();
    let window_s = (to - from) as f64 / 1e6;
    let mut out = json!({
        "phase": "echo",
        "connections": c,
        "window_s": window_s,
        "round_trips": completed,
        "rt_per_s": completed as f64 / window_s,
        "p50_us": percentile(&latencies, 0.5),
        "p99_us": percentile(&latencies, 0.99),
        // The shape of the tail: a closed loop's p99 can sit on a cliff (a share of the round
        // trips waiting in a scheduler's slow lane), which p50 and p99 alone do not show.
        "p90_us": percentile(&latencies, 0.9),
        "p95_us": percentile(&latencies, 0.95),
        "p999_us": percentile(&latencies, 0.999),
        "max_us": latencies.last().copied().unwrap_or(0),
        "wrong_acks": bad,
        "tool_cpu_pct": window.tool_cpu_pct(),
    });
    if let Some((sched, ticks)) = window.server_cpu_s(opts.clk_tck) {
        out["server_cpu_s"] = json!(sched);
        out["server_cpu_s_ticks"] = json!(ticks);
        out["server_cpu_us_per_rt"] = json!(sched * 1e6 / completed.max(1) as f64);
        out["rt_per_server_cpu_s"] = json!(completed as f64 / sched.max(1e-9));
    }
    if bad > 0 {
        return Err(format!("{bad} acks differ from the expected text: {out}").into());
    }
    Ok(out)
}

/// Reads one client's frames until it closes: answers pings, counts broadcasts, and (for the
/// sender) writes the frames it is handed.
async fn hold(
    mut ws: Ws,
    mut outgoing: Option<mpsc::UnboundedReceiver<String>>,
    received: Arc<AtomicUsize>,
    wrong: Arc<AtomicUsize>,
    target: Arc<AtomicUsize>,
    done: Arc<Notify>,
) {
    let expected = format!(r#"42["bcast",{PAYLOAD}]"#);
    loop {
        let next = async {
            match &mut outgoing {
                Some(rx) => rx.recv().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            msg = ws.next() => {
                let Some(Ok(msg)) = msg else { return };
                match text(&msg) {
                    Some("2") if ws.send(Message::text("3")).await.is_err() => return,
                    Some(t) if t.starts_with(r#"42["bcast","#) => {
                        if t != expected {
                            wrong.fetch_add(1, Ordering::Relaxed);
                        }
                        let n = received.fetch_add(1, Ordering::Relaxed) + 1;
                        if n == target.load(Ordering::Relaxed) {
                            done.notify_one();
                        }
                    }
                    _ => {}
                }
            }
            frame = next => {
                let Some(frame) = frame else { return };
                if ws.send(Message::text(frame)).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// The clients of a `bcast` or `idle` phase, each held by its own task.
struct Held {
    sender: mpsc::UnboundedSender<String>,
    received: Arc<AtomicUsize>,
    wrong: Arc<AtomicUsize>,
    target: Arc<AtomicUsize>,
    done: Arc<Notify>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Held {
    fn new(conns: Vec<Ws>) -> Self {
        let (sender, rx) = mpsc::unbounded_channel();
        let mut rx = Some(rx);
        let received = Arc::new(AtomicUsize::new(0));
        let wrong = Arc::new(AtomicUsize::new(0));
        let target = Arc::new(AtomicUsize::new(usize::MAX));
        let done = Arc::new(Notify::new());
        let tasks = conns
            .into_iter()
            .map(|ws| {
                tokio::spawn(hold(
                    ws,
                    rx.take(),
                    received.clone(),
                    wrong.clone(),
                    target.clone(),
                    done.clone(),
                ))
            })
            .collect();
        Held {
            sender,
            received,
            wrong,
            target,
            done,
            tasks,
        }
    }

    fn close(self) {
        for task in self.tasks {
            task.abort();
        }
    }
}

async fn phase_bcast(opts: &Opts, n: usize, k: usize) -> Result<serde_json::Value, BoxError> {
    let pid = opts.pid.map(|p| p.to_string());
    let pid = pid.as_deref();
    let conns = connect_many(opts.port, n).await?;
    let held = Held::new(conns);
    // Let the server finish whatever the connections started.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let frame = format!(r#"42["bcast",{PAYLOAD}]"#);
    let mut times_us = Vec::with_capacity(k);
    let mut window = Window::open(pid);
    for rep in 0..k {
        held.target.store(n * (rep + 1), Ordering::Relaxed);
        let t0 = Instant::now();
        held.sender.send(frame.clone())?;
        let waited = tokio::time::timeout(Duration::from_secs(30), held.done.notified()).await;
        let t1 = Instant::now();
        if waited.is_err() {
            let got = held.received.load(Ordering::Relaxed) - n * rep;
            held.close();
            return Err(format!("broadcast {rep}: {got} of {n} clients got it within 30 s").into());
        }
        times_us.push((t1 - t0).as_micros() as u64);
    }
    window.close(pid);
    let wrong = held.wrong.load(Ordering::Relaxed);
    held.close();
    let mut sorted = times_us.clone();
    sorted.sort_unstable();
    let delivered = (n * k) as f64;
    let mut out = json!({
        "phase": "bcast",
        "clients": n,
        "repeats": k,
        "median_us": sorted[sorted.len() / 2],
        "min_us": sorted[0],
        "max_us": sorted[sorted.len() - 1],
        "wrong_frames": wrong,
        "tool_cpu_pct": window.tool_cpu_pct(),
    });
    if let Some((sched, ticks)) = window.server_cpu_s(opts.clk_tck) {
        out["server_cpu_s"] = json!(sched);
        out["server_cpu_s_ticks"] = json!(ticks);
        out["server_cpu_ns_per_msg"] = json!(sched * 1e9 / delivered);
    }
    if wrong > 0 {
        return Err(
            format!("{wrong} broadcast frames differ from the expected text: {out}").into(),
        );
    }
    Ok(out)
}

async fn phase_idle(opts: &Opts, n: usize) -> Result<serde_json::Value, BoxError> {
    let pid = opts.pid.map(|p| p.to_string());
    let pid = pid.as_deref().ok_or("idle needs --pid")?;
    let before = read_rss_kib(pid).ok_or("cannot read the server's VmRSS")?;
    let started = Instant::now();
    let conns = connect_many(opts.port, n).await?;
    let connect_s = started.elapsed().as_secs_f64();
    let held = Held::new(conns);
    // Settle: wait until the RSS stops moving (two readings 500 ms apart within 0.5 %), 10 s
    // at most.
    let mut after = read_rss_kib(pid).ok_or("cannot read the server's VmRSS")?;
    for _ in 0..20 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let now = read_rss_kib(pid).ok_or("cannot read the server's VmRSS")?;
        let stable = now.abs_diff(after) * 200 <= now;
        after = now;
        if stable {
            break;
        }
    }
    held.close();
    Ok(json!({
        "phase": "idle",
        "clients": n,
        "connect_s": connect_s,
        "rss_before_kib": before,
        "rss_after_kib": after,
        "bytes_per_conn": (after as f64 - before as f64) * 1024.0 / n as f64,
    }))
}

async fn run_phase(opts: &Opts, phase: &str) -> Result<serde_json::Value, BoxError> {
    let parts: Vec<&str> = phase.split(':').collect();
    let num = |i: usize| -> Result<f64, BoxError> {
        Ok(parts
            .get(i)
            .ok_or_else(|| format!("{phase}: missing field {i}"))?
            .parse::<f64>()?)
    };
    match parts[0] {
        "echo" => {
            let warm = if parts.len() > 3 { num(3)? } else { 1.0 };
            phase_echo(opts, num(1)? as usize, num(2)?, warm).await
        }
        "bcast" => phase_bcast(opts, num(1)? as usize, num(2)? as usize).await,
        "idle" => phase_idle(opts, num(1)? as usize).await,
        _ => Err(format!("unknown phase {phase}").into()),
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let opts = parse_args();
    let mut failed = false;
    for phase in &opts.phases {
        match run_phase(&opts, phase).await {
            Ok(mut out) => {
                out["spec"] = json!(phase);
                println!("{out}");
            }
            Err(e) => {
                failed = true;
                println!("{}", json!({ "spec": phase, "error": e.to_string() }));
            }
        }
        // Let the server see the connections go before the next phase.
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    if failed {
        std::process::exit(1);
    }
}
