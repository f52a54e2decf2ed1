//! The client matrix's socketioxide server: the application of `interop/server.js` (see
//! there) on socketioxide 0.18, on hyper 1. Prints {"port":N} once listening.
//!
//! Env: PORT (default 0), PING_INTERVAL / PING_TIMEOUT (ms), MAX_PAYLOAD (bytes). Engine.IO
//! v3 clients are served (socketioxide's `v4` feature). socketioxide has no connection state
//! recovery (no "break"), and its CONNECT_ERROR carries the message only.

use std::fmt;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use serde::de::{SeqAccess, Visitor};
use serde::ser::SerializeTuple;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{json, Map, Value};
use socketioxide::extract::{AckSender, Data, SocketRef};
use socketioxide::handler::ConnectHandler;
use socketioxide::SocketIo;
use tokio::net::TcpListener;

/// Every argument of an event, however many (binary kept): read and written as a tuple, the
/// way socketioxide tells several arguments from one.
#[derive(Debug, Clone, Default)]
struct AllArgs(Vec<rmpv::Value>);

impl<'de> Deserialize<'de> for AllArgs {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = AllArgs;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("arguments")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<AllArgs, A::Error> {
                let mut out = Vec::new();
                while let Some(v) = seq.next_element()? {
                    out.push(v);
                }
                Ok(AllArgs(out))
            }
        }
        d.deserialize_tuple(usize::MAX, V)
    }
}

impl Serialize for AllArgs {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut t = s.serialize_tuple(self.0.len())?;
        for v in &self.0 {
            t.serialize_element(v)?;
        }
        t.end()
    }
}

const ENGINE_KEYS: [&str; 6] = ["EIO", "transport", "t", "sid", "b64", "j"];

fn query_of(s: &SocketRef) -> Map<String, Value> {
    s.req_parts()
        .uri
        .query()
        .unwrap_or("")
        .split('&')
        .filter_map(|p| p.split_once('='))
        .filter(|(k, _)| !ENGINE_KEYS.contains(k))
        .map(|(k, v)| (k.to_owned(), Value::String(v.to_owned())))
        .collect()
}

fn welcome(s: SocketRef, auth: Value) {
    let welcome = json!({"nsp": s.ns(), "auth": auth, "query": query_of(&s)});
    let _ = s.emit("welcome", &welcome);
}

/// Registers the event handlers. Called from a connect middleware: socketioxide spawns the
/// connect handler as a task of its own after sending the CONNECT reply, so handlers
/// registered there can miss the events a client sends right after (its buffered emits);
/// middlewares finish before the reply.
fn register(s: &SocketRef) {
    // socketioxide runs each handler as a task of its own: events of one socket may be
    // handled out of their arrival order.
    s.on("echo", async |Data(args): Data<AllArgs>, ack: AckSender| {
        let _ = ack.send(&args);
    });
    s.on(
        "emit-back",
        async |s: SocketRef, Data(args): Data<AllArgs>| {
            let _ = s.emit("echo", &args);
        },
    );
    s.on("ask", async |s: SocketRef, Data(args): Data<AllArgs>| {
        if let Ok(stream) = s.emit_with_ack::<_, AllArgs>("question", &args) {
            if let Ok(answer) = stream.await {
                let _ = s.emit("answer", &answer);
            }
        }
    });
    s.on("kick", async |s: SocketRef| {
        let _ = s.disconnect();
    });
}

fn env_ms(name: &str) -> Option<Duration> {
    std::env::var(name)
        .ok()?
        .parse()
        .ok()
        .map(Duration::from_millis)
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut b = SocketIo::builder();
    if let Some(d) = env_ms("PING_INTERVAL") {
        b = b.ping_interval(d);
    }
    if let Some(d) = env_ms("PING_TIMEOUT") {
        b = b.ping_timeout(d);
    }
    if let Some(m) = std::env::var("MAX_PAYLOAD")
        .ok()
        .and_then(|m| m.parse().ok())
    {
        b = b.max_payload(m);
    }
    let (svc, io) = b.build_svc();
    let setup = async |s: SocketRef| -> Result<(), &'static str> {
        register(&s);
        Ok(())
    };
    for nsp in ["/", "/a", "/b"] {
        io.ns(
            nsp,
            (async |s: SocketRef, Data(auth): Data<Value>| welcome(s, auth)).with(setup),
        );
    }
    let guard = async |s: SocketRef, Data(auth): Data<Value>| {
        let token = auth.get("token").and_then(Value::as_str).map(str::to_owned);
        let query = query_of(&s).get("token").cloned();
        if token.as_deref() == Some("ok") || query == Some(Value::String("ok".into())) {
            register(&s);
            Ok(())
        } else {
            Err("not authorized")
        }
    };
    io.ns(
        "/guarded",
        (async |s: SocketRef, Data(auth): Data<Value>| welcome(s, auth)).with(guard),
    );
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    println!("{}", json!({"port": listener.local_addr()?.port()}));
    loop {
        let (stream, _) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        let svc = svc.clone();
        tokio::spawn(async move {
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), svc)
                .with_upgrades()
                .await;
        });
    }
}
