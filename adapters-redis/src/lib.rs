//! A Redis adapter for the Socket.IO server, wire-compatible with Node's
//! `@socket.io/redis-adapter` 8.x, both of its fleet protocols: the classic `createAdapter()`
//! (which `@socket.io/redis-emitter` drives) and the sharded `createShardedAdapter()` (Redis 7
//! sharded pub/sub, [`Protocol::Sharded`]). Rust and Node servers share one fleet.
//!
//! ```no_run
//! # async fn run(runtime: std::sync::Arc<dyn socketio_adapters_core::Runtime>) -> Result<(), redis::RedisError> {
//! use socketio_adapters_core::SocketIoServer;
//! use socketio_redis::{NodeConfig, RedisAdapter};
//!
//! let adapter = RedisAdapter::connect("redis://127.0.0.1:6379/", NodeConfig::default(), runtime.clone()).await?;
//! let io = SocketIoServer::builder().adapter(adapter).build(runtime);
//! io.namespace("/", |socket| async move {
//!     // Reaches the sockets of every node in room "news".
//!     let _ = socket.server().to("news").emit("hello", &("from rust",)).await;
//! });
//! # Ok(()) }
//! ```
//!
//! The protocol lives in [socketio-cluster-proto](https://docs.rs/socketio-cluster-proto)
//! (messages and the node machine); the servers are those of
//! [socketio-tokio](https://docs.rs/socketio-tokio) and
//! [socketio-smol](https://docs.rs/socketio-smol). This crate only moves the messages (and
//! has no optional features): one RESP3 multiplexed connection per node carries publishes,
//! `PUBSUB NUMSUB` and the subscriptions (push messages). The connection runs on the runtime
//! the server runs on (tokio or smol; the `redis` crate picks the one whose context it is
//! called in).
//!
//! When Redis goes away the node keeps serving its own sockets: broadcasts still reach them,
//! their publishes are counted ([`RedisAdapter::failed_publishes`]) and logged, requests to
//! the fleet end at once with [`FleetError::Unavailable`]; it reconnects (with backoff) and
//! subscribes again by itself.

#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod cluster_app;

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::Duration;

use futures_channel::{mpsc, oneshot};
use futures_util::future::{select, Either};
use futures_util::StreamExt;
use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, PushInfo, PushKind, Value};
use socketio_adapters_core::socketio_cluster_proto::node::{
    requester, Answers, ClassicNode, Completed, FleetNode, Operation, Publish, Received,
    Subscription,
};
use socketio_adapters_core::socketio_cluster_proto::sharded::ShardedNode;
use socketio_adapters_core::socketio_cluster_proto::{BroadcastOpts, BroadcastPacket, Response};
use socketio_adapters_core::{
    Adapter, FleetAnswers, FleetError, FleetFuture, Runtime, WeakSocketIoServer,
};

pub use socketio_adapters_core::socketio_cluster_proto::node::NodeConfig;
pub use socketio_adapters_core::socketio_cluster_proto::sharded::SubscriptionMode;

/// Which of `@socket.io/redis-adapter`'s fleet protocols a node speaks (a fleet speaks one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Protocol {
    /// `createAdapter()`: `PUBLISH`/`PSUBSCRIBE`, the one `@socket.io/redis-emitter` drives.
    #[default]
    Classic,
    /// `createShardedAdapter({subscriptionMode})`: Redis 7 `SPUBLISH`/`SSUBSCRIBE`.
    Sharded(SubscriptionMode),
}

/// Messages waiting to be published at once; past it new ones are dropped and counted (Redis
/// far behind, or down for long).
const MAX_QUEUED: usize = 100_000;
/// Messages written to Redis in one pipeline.
const BATCH: usize = 256;
/// The longest wait between two reconnection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(2);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What the writer task does, in the order the server asked.
enum Out {
    Publish(Publish),
    /// A request published; then the fleet's size is asked to learn how many answers to wait
    /// for.
    Request {
        nsp: String,
        publish: Publish,
        request_id: String,
    },
    Subscribe(Vec<Subscription>),
    Unsubscribe(Vec<Subscription>),
}

struct Inner {
    runtime: Arc<dyn Runtime>,
    node: Mutex<Box<dyn FleetNode>>,
    server: OnceLock<WeakSocketIoServer>,
    /// Requests waiting for the fleet's answers.
    waiters: Mutex<HashMap<String, oneshot::Sender<FleetAnswers>>>,
    out: mpsc::UnboundedSender<Out>,
    queued: AtomicUsize,
    /// Wakes the timer task when a request with a new deadline starts.
    timer: mpsc::UnboundedSender<()>,
    connected: AtomicBool,
    failed_publishes: AtomicU64,
}

/// A node of a classic `@socket.io/redis-adapter` fleet (see the crate docs).
#[derive(Clone)]
pub struct RedisAdapter {
    inner: Arc<Inner>,
}

impl fmt::Debug for RedisAdapter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisAdapter")
            .field("uid", &self.uid())
            .field("connected", &self.is_connected())
            .finish_non_exhaustive()
    }
}

/// `url` with RESP3 asked for (push messages need it), unless it already names a protocol.
pub fn resp3_url(url: &str) -> String {
    if url.contains("protocol=") {
        url.to_owned()
    } else if url.contains('?') {
        format!("{url}&protocol=resp3")
    } else {
        format!("{url}?protocol=resp3")
    }
}

impl RedisAdapter {
    /// Connects to Redis at `url` (`redis://host:port/db`; RESP3 is turned on here) as a node
    /// of a classic fleet and starts the node's tasks on `runtime`. Fails when the first
    /// connection fails; later losses are repaired in the background.
    pub async fn connect(
        url: &str,
        config: NodeConfig,
        runtime: Arc<dyn Runtime>,
    ) -> Result<Arc<RedisAdapter>, redis::RedisError> {
        Self::connect_with(url, Protocol::Classic, config, runtime).await
    }

    /// [`RedisAdapter::connect`] for a fleet of either protocol (`config.key` is the sharded
    /// adapter's `channelPrefix`).
    pub async fn connect_with(
        url: &str,
        protocol: Protocol,
        config: NodeConfig,
        runtime: Arc<dyn Runtime>,
    ) -> Result<Arc<RedisAdapter>, redis::RedisError> {
        let client = redis::Client::open(resp3_url(url))?;
        let (push_tx, push_rx) = mpsc::unbounded::<PushInfo>();
        let first = open(&client, push_tx.clone()).await?;
        let rt = runtime.clone();
        let random = Box::new(move |b: &mut [u8]| rt.fill_random(b));
        let node: Box<dyn FleetNode> = match protocol {
            Protocol::Classic => Box::new(ClassicNode::new(config, random)),
            Protocol::Sharded(mode) => Box::new(ShardedNode::new(config, mode, random)),
        };
        let (out_tx, out_rx) = mpsc::unbounded();
        let (timer_tx, timer_rx) = mpsc::unbounded();
        let inner = Arc::new(Inner {
            runtime: runtime.clone(),
            node: Mutex::new(node),
            server: OnceLock::new(),
            waiters: Mutex::new(HashMap::new()),
            out: out_tx,
            queued: AtomicUsize::new(0),
            timer: timer_tx,
            connected: AtomicBool::new(true),
            failed_publishes: AtomicU64::new(0),
        });
        let conn = Arc::new(Mutex::new(Some(first)));
        let (lost_tx, lost_rx) = mpsc::unbounded();
        runtime.spawn(Box::pin(reader(inner.clone(), push_rx, lost_tx)));
        runtime.spawn(Box::pin(writer(inner.clone(), conn.clone(), out_rx)));
        runtime.spawn(Box::pin(timer(inner.clone(), timer_rx)));
        runtime.spawn(Box::pin(supervisor(
            Arc::downgrade(&inner),
            client,
            push_tx,
            conn,
            lost_rx,
        )));
        Ok(Arc::new(RedisAdapter { inner }))
    }

    /// The node's uid in the fleet.
    pub fn uid(&self) -> String {
        lock(&self.inner.node).uid().to_owned()
    }

    /// Whether the connection to Redis is up.
    pub fn is_connected(&self) -> bool {
        self.inner.connected.load(Ordering::Relaxed)
    }

    /// Messages that could not be published (Redis down, or too far behind) since the start.
    pub fn failed_publishes(&self) -> u64 {
        self.inner.failed_publishes.load(Ordering::Relaxed)
    }
}

impl Inner {
    fn send(&self, out: Out) {
        if !self.connected.load(Ordering::Relaxed) {
            self.failed(1, "Redis is down");
            if let Out::Request { request_id, .. } = out {
                self.fail_request(&request_id, "Redis is down");
            }
            return;
        }
        if self.queued.fetch_add(1, Ordering::Relaxed) >= MAX_QUEUED {
            self.queued.fetch_sub(1, Ordering::Relaxed);
            self.failed(1, "too many messages waiting for Redis");
            if let Out::Request { request_id, .. } = out {
                self.fail_request(&request_id, "too many messages waiting for Redis");
            }
            return;
        }
        let _ = self.out.unbounded_send(out);
    }

    /// Queues a change of subscriptions (while Redis is down, the reconnection subscribes to
    /// what the node lists then).
    fn subscribe(&self, out: Out) {
        if self.connected.load(Ordering::Relaxed) {
            self.queued.fetch_add(1, Ordering::Relaxed);
            let _ = self.out.unbounded_send(out);
        }
    }

    fn failed(&self, n: u64, why: &str) {
        let total = self.failed_publishes.fetch_add(n, Ordering::Relaxed) + n;
        tracing::warn!(messages = n, total, why, "fleet publish failed");
    }

    /// Ends a request that could not be sent.
    fn fail_request(&self, request_id: &str, why: &str) {
        let answers = lock(&self.node).cancel(request_id);
        if let Some(tx) = lock(&self.waiters).remove(request_id) {
            let _ = tx.send(FleetAnswers {
                answers: answers.unwrap_or(Answers::Sockets(Vec::new())),
                result: Err(FleetError::Unavailable(why.to_owned())),
            });
        }
    }

    fn complete(&self, c: Completed) {
        if let Some(tx) = lock(&self.waiters).remove(&c.request_id) {
            let _ = tx.send(FleetAnswers {
                answers: c.answers,
                result: c.outcome.map_err(FleetError::from),
            });
        }
    }

    fn server(&self) -> Option<socketio_adapters_core::SocketIoServer> {
        self.server.get()?.upgrade()
    }
}

impl Adapter for RedisAdapter {
    fn attach(&self, server: WeakSocketIoServer) {
        let _ = self.inner.server.set(server);
    }

    fn add_namespace(&self, nsp: &str) {
        let subs = match lock(&self.inner.node).add_namespace(nsp) {
            Ok(subs) => subs,
            Err(e) => {
                tracing::warn!(nsp, error = %e, "namespace not joined to the fleet");
                return;
            }
        };
        if !subs.is_empty() {
            // While Redis is down the reconnection subscribes to every namespace anyway.
            self.inner.subscribe(Out::Subscribe(subs));
        }
    }

    fn wants_room_events(&self) -> bool {
        lock(&self.inner.node).wants_room_events()
    }

    fn room_created(&self, nsp: &str, room: &str, is_socket: bool) {
        if let Some(sub) = lock(&self.inner.node).room_created(nsp, room, is_socket) {
            self.inner.subscribe(Out::Subscribe(vec![sub]));
        }
    }

    fn room_deleted(&self, nsp: &str, room: &str) {
        if let Some(sub) = lock(&self.inner.node).room_deleted(nsp, room) {
            self.inner.subscribe(Out::Unsubscribe(vec![sub]));
        }
    }

    fn broadcast(&self, _nsp: &str, packet: BroadcastPacket, opts: BroadcastOpts) {
        let publish = lock(&self.inner.node).broadcast(packet, opts);
        self.inner.send(Out::Publish(publish));
    }

    fn request(&self, nsp: &str, op: Operation, timeout: Option<Duration>) -> Option<FleetFuture> {
        let now = self.inner.runtime.now();
        let started = lock(&self.inner.node).request(now, nsp, op, None, timeout);
        let publish = started.publish?;
        let Some(request_id) = started.request_id else {
            // Nothing to wait for.
            self.inner.send(Out::Publish(publish));
            return None;
        };
        let (tx, rx) = oneshot::channel();
        lock(&self.inner.waiters).insert(request_id.clone(), tx);
        let _ = self.inner.timer.unbounded_send(());
        self.inner.send(Out::Request {
            nsp: nsp.to_owned(),
            publish,
            request_id,
        });
        Some(Box::pin(async move {
            rx.await.unwrap_or(FleetAnswers {
                answers: Answers::Sockets(Vec::new()),
                result: Err(FleetError::Unavailable("the adapter stopped".into())),
            })
        }))
    }
}

async fn open(
    client: &redis::Client,
    push: mpsc::UnboundedSender<PushInfo>,
) -> Result<MultiplexedConnection, redis::RedisError> {
    let config = AsyncConnectionConfig::new()
        .set_connection_timeout(Some(Duration::from_secs(2)))
        .set_response_timeout(Some(Duration::from_secs(5)))
        .set_push_sender(move |info: PushInfo| push.unbounded_send(info));
    client
        .get_multiplexed_async_connection_with_config(&config)
        .await
}

async fn subscribe(
    conn: &mut MultiplexedConnection,
    subs: &[Subscription],
) -> Result<(), redis::RedisError> {
    for s in subs {
        match s {
            Subscription::Pattern(p) => conn.psubscribe(p).await?,
            Subscription::Channel(c) => conn.subscribe(c).await?,
            // No `ssubscribe` on a standalone connection in the redis crate: the raw command.
            Subscription::Shard(c) => redis::cmd("SSUBSCRIBE").arg(c).exec_async(conn).await?,
        }
    }
    Ok(())
}

async fn unsubscribe(
    conn: &mut MultiplexedConnection,
    subs: &[Subscription],
) -> Result<(), redis::RedisError> {
    for s in subs {
        match s {
            Subscription::Pattern(p) => conn.punsubscribe(p).await?,
            Subscription::Channel(c) => conn.unsubscribe(c).await?,
            Subscription::Shard(c) => {
                redis::cmd("SUNSUBSCRIBE").arg(c).exec_async(conn).await?;
            }
        }
    }
    Ok(())
}

/// Publishes in the order asked, a pipeline per batch; after each request, the fleet's size.
async fn writer(
    inner: Arc<Inner>,
    conn: Arc<Mutex<Option<MultiplexedConnection>>>,
    mut rx: mpsc::UnboundedReceiver<Out>,
) {
    while let Some(first) = rx.next().await {
        let mut batch = vec![first];
        while batch.len() < BATCH {
            match rx.try_recv() {
                Ok(o) => batch.push(o),
                Err(_) => break,
            }
        }
        inner.queued.fetch_sub(batch.len(), Ordering::Relaxed);
        let current = lock(&conn).clone();
        let Some(mut c) = current else {
            fail_batch(&inner, batch, "Redis is down");
            continue;
        };
        // Subscriptions first, in order, each before the publishes that follow it.
        let mut pipe = redis::pipe();
        let mut counts = Vec::new();
        let mut requests = Vec::new();
        let mut subscribed_ok = true;
        let mut publishes = 0u64;
        for o in &batch {
            match o {
                Out::Subscribe(subs) | Out::Unsubscribe(subs) => {
                    if !pipe.is_empty() {
                        let p = std::mem::replace(&mut pipe, redis::pipe());
                        let got: Result<Vec<Value>, _> = p.query_async(&mut c).await;
                        handle_replies(&inner, got, &counts, &requests, publishes);
                        counts.clear();
                        requests.clear();
                        publishes = 0;
                    }
                    let done = match o {
                        Out::Subscribe(_) => subscribe(&mut c, subs).await,
                        _ => unsubscribe(&mut c, subs).await,
                    };
                    if let Err(e) = done {
                        tracing::warn!(error = %e, "fleet subscription change failed");
                        subscribed_ok = false;
                    }
                }
                Out::Publish(p) => {
                    add_publish(&mut pipe, p);
                    publishes += 1;
                }
                Out::Request {
                    nsp,
                    publish,
                    request_id,
                } => {
                    add_publish(&mut pipe, publish);
                    publishes += 1;
                    let (command, channel) = lock(&inner.node).count(nsp);
                    pipe.cmd("PUBSUB").arg(command).arg(channel);
                    counts.push(request_id.clone());
                    requests.push(request_id.clone());
                }
            }
        }
        if !subscribed_ok {
            tracing::warn!("some fleet messages may be missed until Redis reconnects");
        }
        if !pipe.is_empty() {
            let got: Result<Vec<Value>, _> = pipe.query_async(&mut c).await;
            handle_replies(&inner, got, &counts, &requests, publishes);
        }
    }
}

fn add_publish(pipe: &mut redis::Pipeline, p: &Publish) {
    let command = if p.sharded { "SPUBLISH" } else { "PUBLISH" };
    pipe.cmd(command).arg(&p.channel).arg(&p.payload[..]);
}

fn fail_batch(inner: &Inner, batch: Vec<Out>, why: &str) {
    let mut n = 0;
    for o in batch {
        match o {
            Out::Publish(_) => n += 1,
            Out::Request { request_id, .. } => {
                n += 1;
                inner.fail_request(&request_id, why);
            }
            Out::Subscribe(_) | Out::Unsubscribe(_) => {}
        }
    }
    if n > 0 {
        inner.failed(n, why);
    }
}

/// The pipeline's replies: the `NUMSUB` ones (one per request, in order) tell each request
/// how many other nodes will answer.
fn handle_replies(
    inner: &Inner,
    got: Result<Vec<Value>, redis::RedisError>,
    counts: &[String],
    requests: &[String],
    publishes: u64,
) {
    let replies = match got {
        Ok(r) => r,
        Err(e) => {
            inner.failed(publishes, &e.to_string());
            for id in requests {
                inner.fail_request(id, &e.to_string());
            }
            return;
        }
    };
    let mut numsubs = replies.iter().filter_map(numsub);
    for id in counts {
        let n = numsubs.next().unwrap_or(1);
        let done = lock(&inner.node).set_others(id, n.saturating_sub(1));
        if let Some(c) = done {
            inner.complete(c);
        }
    }
}

/// The count of a `PUBSUB NUMSUB ch` reply (`[ch, n]`, or a map in RESP3).
fn numsub(v: &Value) -> Option<u64> {
    match v {
        Value::Array(items) if items.len() == 2 => match &items[1] {
            Value::Int(n) => u64::try_from(*n).ok(),
            _ => None,
        },
        Value::Map(pairs) if pairs.len() == 1 => match &pairs[0].1 {
            Value::Int(n) => u64::try_from(*n).ok(),
            _ => None,
        },
        _ => None,
    }
}

fn bytes(v: &Value) -> Option<&[u8]> {
    match v {
        Value::BulkString(b) => Some(b),
        Value::SimpleString(s) => Some(s.as_bytes()),
        _ => None,
    }
}

/// Applies what the fleet sends, in arrival order.
async fn reader(
    inner: Arc<Inner>,
    mut rx: mpsc::UnboundedReceiver<PushInfo>,
    lost: mpsc::UnboundedSender<()>,
) {
    while let Some(info) = rx.next().await {
        let (channel, payload) = match (&info.kind, &info.data[..]) {
            (PushKind::Disconnection, _) => {
                let _ = lost.unbounded_send(());
                continue;
            }
            (PushKind::Message | PushKind::SMessage, [c, p]) => (c, p),
            (PushKind::PMessage, [_, c, p]) => (c, p),
            _ => continue,
        };
        let (Some(channel), Some(payload)) = (bytes(channel), bytes(payload)) else {
            continue;
        };
        let Ok(channel) = std::str::from_utf8(channel) else {
            continue;
        };
        let received = lock(&inner.node).receive(channel, payload);
        match received {
            Ok(Received::Broadcast(b)) => {
                if let Some(server) = inner.server() {
                    server.apply_broadcast(&b).await;
                }
            }
            Ok(Received::Request { nsp, request }) => {
                let Some(server) = inner.server() else {
                    continue;
                };
                let who = requester(&request).map(str::to_owned);
                let weak = Arc::downgrade(&inner);
                let reply_nsp = nsp.clone();
                let respond = Arc::new(move |r: Response| {
                    if let Some(inner) = weak.upgrade() {
                        let p = lock(&inner.node).respond(&reply_nsp, who.as_deref(), &r);
                        if let Some(p) = p {
                            inner.send(Out::Publish(p));
                        }
                    }
                });
                server.apply_request(&nsp, request, respond).await;
            }
            Ok(Received::Completed(c)) => inner.complete(c),
            Ok(Received::Nothing) => {}
            Err(e) => tracing::debug!(channel, error = %e, "unreadable fleet message dropped"),
        }
    }
}

/// Ends requests at their deadline.
async fn timer(inner: Arc<Inner>, mut wake: mpsc::UnboundedReceiver<()>) {
    loop {
        let next = lock(&inner.node).next_deadline();
        let sleep = match next {
            Some(d) => inner.runtime.sleep_until(d),
            None => inner
                .runtime
                .sleep_until(inner.runtime.now() + Duration::from_secs(3600)),
        };
        if let Either::Right((None, _)) = select(sleep, wake.next()).await {
            return;
        }
        let now = inner.runtime.now();
        let ended = lock(&inner.node).poll_timeouts(now);
        for c in ended {
            inner.complete(c);
        }
    }
}

/// Reconnects after a loss, with backoff, and subscribes again to every namespace.
async fn supervisor(
    weak: std::sync::Weak<Inner>,
    client: redis::Client,
    push: mpsc::UnboundedSender<PushInfo>,
    conn: Arc<Mutex<Option<MultiplexedConnection>>>,
    mut lost: mpsc::UnboundedReceiver<()>,
) {
    while lost.next().await.is_some() {
        let Some(inner) = weak.upgrade() else { return };
        inner.connected.store(false, Ordering::Relaxed);
        *lock(&conn) = None;
        tracing::warn!("lost the connection to Redis; reconnecting");
        let mut backoff = Duration::from_millis(100);
        loop {
            match open(&client, push.clone()).await {
                Ok(mut c) => {
                    let subs = lock(&inner.node).subscriptions();
                    match subscribe(&mut c, &subs).await {
                        Ok(()) => {
                            *lock(&conn) = Some(c);
                            inner.connected.store(true, Ordering::Relaxed);
                            tracing::info!("reconnected to Redis");
                            break;
                        }
                        Err(e) => tracing::warn!(error = %e, "resubscribing failed"),
                    }
                }
                Err(e) => tracing::debug!(error = %e, "Redis still unreachable"),
            }
            inner
                .runtime
                .sleep_until(inner.runtime.now() + backoff)
                .await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
        // Losses reported by the connection just replaced are stale.
        while lost.try_recv().is_ok() {}
    }
}
