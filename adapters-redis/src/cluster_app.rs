//! The `cluster` example's node (the same on tokio and smol): a Socket.IO server in a Redis
//! fleet whose clients drive the fleet's operations by events. The runtime crates' examples
//! bind the port and serve it.
//!
//! Environment: `PORT` (default 3000), `REDIS_URL` (default `redis://127.0.0.1:6379/`; RESP3
//! is turned on here), `ADAPTER` (`classic`, the default, or `sharded`: the sharded adapter with
//! `subscriptionMode: "dynamic"`), `NODE_NAME` (default `node`).
//!
//! On namespace `/` (arguments may hold binary anywhere):
//! - on connect, the socket joins every room named in its auth's `rooms` array;
//! - `"bcast"` `{"rooms":[..],"except":[..],"event":"E","args":[..]}`: `io.to(rooms)
//!   .except(except).emit(E, ...args)` across the fleet, then acks `"ok"` (also while Redis is
//!   down: the local sockets get it, the failed publish is counted and logged);
//! - `"bcast-ack"`: the same plus `"timeout"` (ms), with acks; acks back the answers, sorted
//!   by their JSON text;
//! - `"fetch"` `{"rooms":[..]}`: acks back `[{"id":..,"rooms":[..sorted]}, ..]` of every
//!   matching socket of the fleet, sorted by id;
//! - `"join"` / `"leave"` `{"rooms":[..],"room":"r"}`, `"kick"` `{"rooms":[..]}`: the matching
//!   sockets of the fleet join or leave `r`, or are disconnected by the server; this node's
//!   first, then the fleet's; acks `"ok"`;
//! - `"sse"` `{"event":"E","args":[..],"timeout":ms}`: a server-side emit with acks to the
//!   other nodes; acks back their answers, sorted; every node answers `"whoami"` with its
//!   `NODE_NAME`;
//! - `"echo"`: acks back its arguments.
//!
//! Clients of a fleet connect with WebSocket only (`transports: ["websocket"]`, as the fleet
//! tests do) or through a load balancer with sticky sessions: the polling requests of one
//! Engine.IO session must all reach the node that holds it.
//!
//! Where `bcast-ack`, `fetch` or `sse` time out or fail, the ack is
//! `{"error":"<what>","answers":[<what came, sorted>]}`. One socket's events are handled one
//! after the other, in order.

use std::sync::Arc;
use std::time::Duration;

use futures_channel::mpsc;
use futures_util::StreamExt;
use serde_json::{json, Value as Json};
use socketio_adapters_core::socketio_cluster_proto::{convert, msgpack, MsgValue};
use socketio_adapters_core::socketio_proto::Packet;
use socketio_adapters_core::{
    AckSender, BoxFuture, BroadcastOperator, Runtime, SioSocket, SocketIoServer,
};

use crate::{NodeConfig, Protocol, RedisAdapter, SubscriptionMode};

/// The node's settings, from the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// `PORT`.
    pub port: u16,
    /// `REDIS_URL`.
    pub redis_url: String,
    /// `ADAPTER`.
    pub adapter: String,
    /// `NODE_NAME`.
    pub node_name: String,
}

impl Settings {
    /// Reads `PORT`, `REDIS_URL`, `ADAPTER` and `NODE_NAME`.
    pub fn from_env() -> Result<Settings, String> {
        let var = |k: &str, d: &str| std::env::var(k).unwrap_or_else(|_| d.to_owned());
        let port = var("PORT", "3000");
        let settings = Settings {
            port: port
                .parse()
                .map_err(|_| format!("PORT={port} is no port"))?,
            redis_url: var("REDIS_URL", "redis://127.0.0.1:6379/"),
            adapter: var("ADAPTER", "classic"),
            node_name: var("NODE_NAME", "node"),
        };
        settings.protocol()?;
        Ok(settings)
    }

    /// The fleet protocol `ADAPTER` names.
    pub fn protocol(&self) -> Result<Protocol, String> {
        match self.adapter.as_str() {
            "classic" => Ok(Protocol::Classic),
            "sharded" => Ok(Protocol::Sharded(SubscriptionMode::Dynamic)),
            other => Err(format!("ADAPTER={other}: classic or sharded")),
        }
    }
}

/// The node: connected to Redis, its handlers registered.
pub async fn build(
    settings: &Settings,
    runtime: Arc<dyn Runtime>,
) -> Result<SocketIoServer, String> {
    let protocol = settings.protocol()?;
    let adapter = RedisAdapter::connect_with(
        &settings.redis_url,
        protocol,
        NodeConfig::default(),
        runtime.clone(),
    )
    .await
    .map_err(|e| format!("Redis at {}: {e}", settings.redis_url))?;
    let io = SocketIoServer::builder()
        .adapter(adapter)
        .build(runtime.clone());
    let name = settings.node_name.clone();
    io.on_server_side_emit("/", "whoami", move |_args, ack| {
        let name = name.clone();
        async move {
            if let Some(ack) = ack {
                ack.send(Json::String(name));
            }
        }
    });
    io.namespace("/", move |socket| {
        let runtime = runtime.clone();
        async move { on_connect(socket, runtime) }
    });
    Ok(io)
}

fn on_connect(socket: SioSocket, runtime: Arc<dyn Runtime>) {
    if let Some(rooms) = socket.auth().get("rooms").and_then(Json::as_array) {
        for r in rooms.iter().filter_map(Json::as_str) {
            socket.join(r);
        }
    }
    // One socket's events, one after the other.
    let (tx, mut rx) = mpsc::unbounded::<BoxFuture>();
    runtime.spawn(Box::pin(async move {
        while let Some(job) = rx.next().await {
            job.await;
        }
    }));
    socket.on_any(move |socket, packet, ack| {
        let _ = tx.unbounded_send(Box::pin(handle(socket, packet, ack)));
        async {}
    });
}

fn get<'a>(v: &'a MsgValue, key: &str) -> Option<&'a MsgValue> {
    match v {
        MsgValue::Map(pairs) => pairs
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(_, v)| v),
        _ => None,
    }
}

fn strings(v: Option<&MsgValue>) -> Vec<String> {
    match v {
        Some(MsgValue::Array(items)) => items
            .iter()
            .filter_map(|i| i.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

/// `io.to(rooms).except(except)` on `/`.
fn operator(io: &SocketIoServer, spec: &MsgValue) -> BroadcastOperator {
    let mut op = io.of("/");
    for r in strings(get(spec, "rooms")) {
        op = op.to(r.as_str());
    }
    for r in strings(get(spec, "except")) {
        op = op.except(r.as_str());
    }
    op
}

async fn reply(ack: Option<AckSender>, values: &[MsgValue]) {
    if let (Some(ack), Ok(raw)) = (ack, convert::to_raw_args(values)) {
        let _ = ack.send_raw(&raw).await;
    }
}

fn sorted(mut values: Vec<MsgValue>) -> MsgValue {
    values.sort_by_cached_key(convert::json_text);
    MsgValue::Array(values)
}

fn failure(what: &str, answers: MsgValue) -> MsgValue {
    MsgValue::Map(vec![
        (MsgValue::from("error"), MsgValue::from(what)),
        (MsgValue::from("answers"), answers),
    ])
}

async fn handle(socket: SioSocket, packet: Packet, ack: Option<AckSender>) {
    let io = socket.server().clone();
    let args = convert::args_values(&packet).unwrap_or_default();
    let spec = args.first().cloned().unwrap_or(MsgValue::Nil);
    let ok = || [MsgValue::from("ok")];
    match packet.event_name().unwrap_or("") {
        "echo" => {
            if let (Some(ack), Some(raw)) = (ack, packet.raw_args()) {
                let _ = ack.send_raw(&raw).await;
            }
        }
        "bcast" => {
            let event = get(&spec, "event").and_then(MsgValue::as_str).unwrap_or("");
            let values = match get(&spec, "args") {
                Some(MsgValue::Array(a)) => a.clone(),
                _ => Vec::new(),
            };
            if let Ok(raw) = convert::to_raw_args(&values) {
                if let Err(e) = operator(&io, &spec).emit_raw(event, &raw).await {
                    tracing::warn!(error = %e, "bcast failed");
                }
            }
            reply(ack, &ok()).await;
        }
        "bcast-ack" => {
            let event = get(&spec, "event").and_then(MsgValue::as_str).unwrap_or("");
            let values = match get(&spec, "args") {
                Some(MsgValue::Array(a)) => a.clone(),
                _ => Vec::new(),
            };
            let timeout = get(&spec, "timeout")
                .and_then(MsgValue::as_u64)
                .unwrap_or(5000);
            let op = operator(&io, &spec).timeout(Duration::from_millis(timeout));
            let Ok(raw) = convert::to_raw_args(&values) else {
                return;
            };
            let answer = match op.emit_with_ack_raw(event, &raw).await {
                Ok(responses) => {
                    let answers = sorted(responses.answers().map(convert::ack_value).collect());
                    match responses.result {
                        Ok(()) => answers,
                        Err(e) => failure(&e.to_string(), answers),
                    }
                }
                Err(e) => failure(&e.to_string(), MsgValue::Array(Vec::new())),
            };
            reply(ack, &[answer]).await;
        }
        "fetch" => {
            let fetched = operator(&io, &spec).fetch_sockets().await;
            let list = fetched
                .all()
                .into_iter()
                .map(|mut s| {
                    s.rooms.sort();
                    json!({"id": s.id, "rooms": s.rooms})
                })
                .map(|j| msgpack::from_json(&j))
                .collect();
            let list = MsgValue::Array(list);
            let answer = match fetched.result {
                Ok(()) => list,
                Err(e) => failure(&e.to_string(), list),
            };
            reply(ack, &[answer]).await;
        }
        kind @ ("join" | "leave") => {
            let room = get(&spec, "room").and_then(MsgValue::as_str).unwrap_or("");
            let op = operator(&io, &spec);
            if kind == "join" {
                op.join(room);
            } else {
                op.leave(room);
            }
            reply(ack, &ok()).await;
        }
        "kick" => {
            operator(&io, &spec).disconnect().await;
            reply(ack, &ok()).await;
        }
        "sse" => {
            let event = get(&spec, "event").and_then(MsgValue::as_str).unwrap_or("");
            let values: Vec<Json> = match get(&spec, "args") {
                Some(MsgValue::Array(a)) => a
                    .iter()
                    .map(|v| serde_json::from_str(&convert::json_text(v)).unwrap_or(Json::Null))
                    .collect(),
                _ => Vec::new(),
            };
            let timeout = get(&spec, "timeout")
                .and_then(MsgValue::as_u64)
                .unwrap_or(5000);
            let got = io
                .server_side_emit_with_ack("/", event, values, Some(Duration::from_millis(timeout)))
                .await;
            let answers = sorted(got.answers.iter().map(msgpack::from_json).collect());
            let answer = match got.result {
                Ok(()) => answers,
                Err(e) => failure(&e.to_string(), answers),
            };
            reply(ack, &[answer]).await;
        }
        _ => {}
    }
}
