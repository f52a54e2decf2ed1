//! `sio`, the command-line Socket.IO client (the `sio` example of each runtime crate): a
//! `wscat` for Socket.IO, and the driver of the client interop tests.
//!
//! ```text
//! sio [OPTIONS] URL
//!   --transports polling|websocket|polling,websocket   (default polling,websocket)
//!   --eio 3|4                     protocol generation (default 4)
//!   --path P                      server path (default /socket.io/)
//!   --namespace NSP               repeatable; all on one connection (default: the URL's path, or /)
//!   --auth JSON                   auth payload of every namespace
//!   --query k=v                   repeatable
//!   --header 'Name: value'        repeatable
//!   --no-reconnect
//!   --reconnection-delay MS
//!   --reconnection-delay-max MS
//!   --reconnection-attempts N
//!   --ack-timeout MS              (default 5000)
//!   --ca FILE                     trust this PEM certificate (authority) too
//!   --json                        JSON lines on stdin and stdout
//! ```
//!
//! With `--json`, stdin takes one object per line:
//! `{"op":"emit","nsp":"/","event":"E","args":[..],"ack":"ID"}` (`ack` optional),
//! `{"op":"ack","nsp":"/","ack_id":N,"args":[..]}`, `{"op":"connect","nsp":"/x"}`,
//! `{"op":"disconnect","nsp":"/x"}`, `{"op":"close"}`; `nsp` defaults to the first namespace
//! and `{"$binary":"BASE64"}` anywhere in `args` is a binary attachment. Stdout gets one
//! object per line: `transport`, `connect`, `connect_error`, `disconnect`, `event`, `ack`,
//! `ack_error`, `reconnect_attempt`, `reconnect`, `reconnect_failed`, `error`.
//!
//! Without `--json` it is interactive: a line `EVENT ARG...` emits (arguments are JSON
//! values separated by spaces; `/nsp EVENT ARG...` on another namespace), `:ack ID ARG...`
//! answers the server's request `ID`, `:connect /nsp`, `:disconnect /nsp` and `:close`;
//! what arrives is printed one line each.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use futures_channel::mpsc;
use futures_util::{FutureExt, Stream, StreamExt};
use serde::de::{MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use socketio_proto::{Args, Binary, Packet};

use crate::client::{
    Client, ClientAckSender, ClientBuilder, ClientSocket, ConnectionError, Generation, Transports,
};
use crate::runtime::Runtime;
use crate::socketio::AckError;

/// A JSON value that keeps object keys in their order, with binary data beside it (printed
/// and read as `{"$binary":"BASE64"}`).
#[derive(Debug, Clone, PartialEq)]
enum J {
    Null,
    Bool(bool),
    Num(serde_json::Number),
    Str(String),
    Arr(Vec<J>),
    Obj(Vec<(String, J)>),
    Bin(Bytes),
}

impl J {
    fn get(&self, key: &str) -> Option<&J> {
        match self {
            J::Obj(fields) => fields.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    fn as_str(&self) -> Option<&str> {
        match self {
            J::Str(s) => Some(s),
            _ => None,
        }
    }

    fn s(text: &str) -> J {
        J::Str(text.to_owned())
    }

    /// `{"$binary":"BASE64"}` read as binary data, everywhere in the tree.
    fn read_binary(self) -> Result<J, String> {
        Ok(match self {
            J::Obj(fields) if fields.len() == 1 && fields[0].0 == "$binary" => {
                let text = fields[0]
                    .1
                    .as_str()
                    .ok_or("$binary takes a base64 string")?;
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(text)
                    .map_err(|e| format!("bad $binary: {e}"))?;
                J::Bin(Bytes::from(bytes))
            }
            J::Obj(fields) => J::Obj(
                fields
                    .into_iter()
                    .map(|(k, v)| v.read_binary().map(|v| (k, v)))
                    .collect::<Result<_, _>>()?,
            ),
            J::Arr(items) => J::Arr(
                items
                    .into_iter()
                    .map(J::read_binary)
                    .collect::<Result<_, _>>()?,
            ),
            other => other,
        })
    }

    /// The packet's placeholders (`{"_placeholder":true,"num":N}`) as its attachments.
    fn fill_placeholders(self, attachments: &[Bytes]) -> J {
        match self {
            J::Obj(fields) => {
                let placeholder = fields.len() == 2
                    && fields
                        .iter()
                        .any(|(k, v)| k == "_placeholder" && *v == J::Bool(true));
                let num = fields
                    .iter()
                    .find(|(k, _)| k == "num")
                    .and_then(|(_, v)| match v {
                        J::Num(n) => n.as_u64(),
                        _ => None,
                    })
                    .and_then(|n| usize::try_from(n).ok());
                match (placeholder, num.and_then(|n| attachments.get(n))) {
                    (true, Some(b)) => J::Bin(b.clone()),
                    _ => J::Obj(
                        fields
                            .into_iter()
                            .map(|(k, v)| (k, v.fill_placeholders(attachments)))
                            .collect(),
                    ),
                }
            }
            J::Arr(items) => J::Arr(
                items
                    .into_iter()
                    .map(|v| v.fill_placeholders(attachments))
                    .collect(),
            ),
            other => other,
        }
    }
}

impl From<&str> for J {
    fn from(s: &str) -> J {
        J::s(s)
    }
}

impl Serialize for J {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        match self {
            J::Null => s.serialize_unit(),
            J::Bool(b) => s.serialize_bool(*b),
            J::Num(n) => n.serialize(s),
            J::Str(t) => s.serialize_str(t),
            J::Arr(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            J::Obj(fields) => {
                let mut map = s.serialize_map(Some(fields.len()))?;
                for (k, v) in fields {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
            J::Bin(b) => Binary(b.clone()).serialize(s),
        }
    }
}

/// Prints binary as `{"$binary":"BASE64"}` (for stdout; [`J`]'s own `Serialize` hands binary
/// to the packet encoder as an attachment).
struct Printed<'a>(&'a J);

impl Serialize for Printed<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        match self.0 {
            J::Bin(b) => {
                let mut map = s.serialize_map(Some(1))?;
                map.serialize_entry(
                    "$binary",
                    &base64::engine::general_purpose::STANDARD.encode(b),
                )?;
                map.end()
            }
            J::Arr(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(&Printed(item))?;
                }
                seq.end()
            }
            J::Obj(fields) => {
                let mut map = s.serialize_map(Some(fields.len()))?;
                for (k, v) in fields {
                    map.serialize_entry(k, &Printed(v))?;
                }
                map.end()
            }
            other => other.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for J {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<J, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = J;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("JSON")
            }
            fn visit_unit<E>(self) -> Result<J, E> {
                Ok(J::Null)
            }
            fn visit_none<E>(self) -> Result<J, E> {
                Ok(J::Null)
            }
            fn visit_bool<E>(self, b: bool) -> Result<J, E> {
                Ok(J::Bool(b))
            }
            fn visit_i64<E>(self, n: i64) -> Result<J, E> {
                Ok(J::Num(n.into()))
            }
            fn visit_u64<E>(self, n: u64) -> Result<J, E> {
                Ok(J::Num(n.into()))
            }
            fn visit_f64<E: serde::de::Error>(self, n: f64) -> Result<J, E> {
                serde_json::Number::from_f64(n)
                    .map(J::Num)
                    .ok_or_else(|| E::custom("not a JSON number"))
            }
            fn visit_str<E>(self, s: &str) -> Result<J, E> {
                Ok(J::s(s))
            }
            fn visit_string<E>(self, s: String) -> Result<J, E> {
                Ok(J::Str(s))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<J, A::Error> {
                let mut items = Vec::new();
                while let Some(v) = seq.next_element()? {
                    items.push(v);
                }
                Ok(J::Arr(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<J, A::Error> {
                let mut fields = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, J>()? {
                    fields.push((k, v));
                }
                Ok(J::Obj(fields))
            }
        }
        d.deserialize_any(V)
    }
}

/// The arguments of an event (after its name) or an ack, binary in place.
fn packet_args(packet: &Packet) -> Vec<J> {
    let Some(json) = packet.payload_json() else {
        return Vec::new();
    };
    let Ok(J::Arr(mut items)) = serde_json::from_str::<J>(json) else {
        return Vec::new();
    };
    if packet.event_name().is_some() && !items.is_empty() {
        items.remove(0);
    }
    items
        .into_iter()
        .map(|v| v.fill_placeholders(packet.attachments()))
        .collect()
}

/// The command line.
#[derive(Debug, Clone, PartialEq)]
struct Options {
    url: String,
    transports: Transports,
    generation: Generation,
    path: Option<String>,
    namespaces: Vec<String>,
    auth: Option<serde_json::Value>,
    query: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    reconnect: bool,
    delay: Option<u64>,
    delay_max: Option<u64>,
    attempts: Option<u32>,
    ack_timeout: u64,
    ca: Option<String>,
    json: bool,
}

const USAGE: &str = "usage: sio [--transports polling|websocket|polling,websocket] [--eio 3|4] \
[--path P] [--namespace NSP]... [--auth JSON] [--query k=v]... [--header 'Name: value']... \
[--no-reconnect] [--reconnection-delay MS] [--reconnection-delay-max MS] \
[--reconnection-attempts N] [--ack-timeout MS] [--ca FILE] [--json] URL";

fn parse_args(args: &[String]) -> Result<Options, String> {
    let mut o = Options {
        url: String::new(),
        transports: Transports::PollingThenWebSocket,
        generation: Generation::V4,
        path: None,
        namespaces: Vec::new(),
        auth: None,
        query: Vec::new(),
        headers: Vec::new(),
        reconnect: true,
        delay: None,
        delay_max: None,
        attempts: None,
        ack_timeout: 5000,
        ca: None,
        json: false,
    };
    let mut it = args.iter();
    let number = |name: &str, v: Option<&String>| -> Result<u64, String> {
        v.ok_or(format!("{name} needs a value"))?
            .parse::<u64>()
            .map_err(|e| format!("{name}: {e}"))
    };
    while let Some(arg) = it.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v.to_owned())),
            _ => (arg.as_str(), None),
        };
        let mut value = || -> Result<String, String> {
            inline
                .clone()
                .or_else(|| it.next().cloned())
                .ok_or(format!("{flag} needs a value"))
        };
        match flag {
            "--transports" => {
                o.transports = match value()?.as_str() {
                    "polling" => Transports::Polling,
                    "websocket" => Transports::WebSocket,
                    "polling,websocket" => Transports::PollingThenWebSocket,
                    other => return Err(format!("--transports: unknown {other:?}")),
                }
            }
            "--eio" => {
                o.generation = match value()?.as_str() {
                    "4" => Generation::V4,
                    "3" => Generation::V3,
                    other => return Err(format!("--eio: 3 or 4, not {other:?}")),
                }
            }
            "--path" => o.path = Some(value()?),
            "--namespace" => o.namespaces.push(value()?),
            "--auth" => {
                o.auth = Some(serde_json::from_str(&value()?).map_err(|e| format!("--auth: {e}"))?)
            }
            "--query" => {
                let v = value()?;
                let (k, v) = v.split_once('=').unwrap_or((&v, ""));
                o.query.push((k.to_owned(), v.to_owned()));
            }
            "--header" => {
                let v = value()?;
                let (k, v) = v
                    .split_once(':')
                    .ok_or(format!("--header: {v:?} is not 'Name: value'"))?;
                o.headers.push((k.trim().to_owned(), v.trim().to_owned()));
            }
            "--no-reconnect" => o.reconnect = false,
            "--reconnection-delay" => o.delay = Some(number(flag, Some(&value()?))?),
            "--reconnection-delay-max" => o.delay_max = Some(number(flag, Some(&value()?))?),
            "--reconnection-attempts" => {
                let n = number(flag, Some(&value()?))?;
                o.attempts = Some(u32::try_from(n).map_err(|e| format!("{flag}: {e}"))?);
            }
            "--ack-timeout" => o.ack_timeout = number(flag, Some(&value()?))?,
            "--ca" => o.ca = Some(value()?),
            "--json" => o.json = true,
            "-h" | "--help" => return Err(USAGE.to_owned()),
            f if f.starts_with("--") => return Err(format!("unknown option {f}\n{USAGE}")),
            url if o.url.is_empty() => o.url = url.to_owned(),
            extra => return Err(format!("unexpected argument {extra:?}\n{USAGE}")),
        }
    }
    if o.url.is_empty() {
        return Err(USAGE.to_owned());
    }
    Ok(o)
}

/// Where the lines go.
type Out = Arc<Mutex<Box<dyn FnMut(&str) + Send>>>;

/// Prints events as JSON lines or as readable text.
#[derive(Clone)]
struct Printer {
    out: Out,
    json: bool,
}

impl Printer {
    fn line(&self, text: &str) {
        let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
        (*out)(text);
    }

    /// One event: `fields` in order, `human` for the readable form.
    fn event(&self, fields: Vec<(&str, J)>, human: impl FnOnce() -> String) {
        if self.json {
            let obj = J::Obj(fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect());
            self.line(&serde_json::to_string(&Printed(&obj)).unwrap_or_default());
        } else {
            self.line(&human());
        }
    }

    fn error(&self, message: &str) {
        self.event(
            vec![("type", "error".into()), ("message", message.into())],
            || format!("! error: {message}"),
        );
    }
}

fn text(values: &[J]) -> String {
    serde_json::to_string(&Printed(&J::Arr(values.to_vec()))).unwrap_or_default()
}

fn json_text(v: &serde_json::Value) -> J {
    serde_json::from_value::<J>(v.clone()).unwrap_or(J::Null)
}

/// State the handlers share.
struct Cli {
    printer: Printer,
    client: Client,
    /// The server's ack requests, by namespace and id.
    pending: Mutex<HashMap<(String, u64), ClientAckSender>>,
    runtime: Arc<dyn Runtime>,
    ack_timeout: Duration,
    /// Reports the exit status once the program must end.
    exit: mpsc::UnboundedSender<i32>,
    default_nsp: String,
}

impl Cli {
    fn socket(self: &Arc<Self>, nsp: &str) -> ClientSocket {
        let socket = self.client.socket(nsp);
        let cli = self.clone();
        socket.on_any(move |socket, packet, ack| {
            let cli = cli.clone();
            async move {
                let args = packet_args(&packet);
                let event = packet.event_name().unwrap_or_default().to_owned();
                let nsp = socket.nsp().as_str().to_owned();
                let id = ack.as_ref().map(|a| a.id().0);
                if let Some(ack) = ack {
                    lock(&cli.pending).insert((nsp.clone(), ack.id().0), ack);
                }
                cli.printer.event(
                    vec![
                        ("type", "event".into()),
                        ("nsp", J::s(&nsp)),
                        ("event", J::s(&event)),
                        ("args", J::Arr(args.clone())),
                        ("ack_id", id.map_or(J::Null, |id| J::Num(id.into()))),
                    ],
                    || match id {
                        Some(id) => format!("< {nsp} {event} {} (ack {id})", text(&args)),
                        None => format!("< {nsp} {event} {}", text(&args)),
                    },
                );
            }
        });
        let cli = self.clone();
        socket.on_connect(move |socket| {
            let cli = cli.clone();
            async move {
                let id = socket.id().unwrap_or_default();
                let nsp = socket.nsp().as_str().to_owned();
                let recovered = socket.recovered();
                cli.printer.event(
                    vec![
                        ("type", "connect".into()),
                        ("nsp", J::s(&nsp)),
                        ("id", J::s(&id)),
                        ("recovered", J::Bool(recovered)),
                    ],
                    || format!("* connected {nsp} (id {id}, recovered {recovered})"),
                );
            }
        });
        let cli = self.clone();
        socket.on_connect_error(move |socket, data| {
            let cli = cli.clone();
            async move {
                let nsp = socket.nsp().as_str().to_owned();
                cli.printer.event(
                    vec![
                        ("type", "connect_error".into()),
                        ("nsp", J::s(&nsp)),
                        ("data", json_text(&data)),
                    ],
                    || format!("! connect_error {nsp} {data}"),
                );
            }
        });
        let cli = self.clone();
        socket.on_disconnect(move |socket, reason| {
            let cli = cli.clone();
            async move {
                let nsp = socket.nsp().as_str().to_owned();
                lock(&cli.pending).retain(|(n, _), _| *n != nsp);
                cli.printer.event(
                    vec![
                        ("type", "disconnect".into()),
                        ("nsp", J::s(&nsp)),
                        ("reason", reason.as_str().into()),
                    ],
                    || format!("* disconnected {nsp} ({})", reason.as_str()),
                );
            }
        });
        socket
    }

    /// Handles one input line.
    fn input(self: &Arc<Self>, line: &str) {
        let line = line.trim();
        if line.is_empty() {
            return;
        }
        let r = if self.printer.json {
            self.json_input(line)
        } else {
            self.human_input(line)
        };
        if let Err(e) = r {
            self.printer.error(&e);
        }
    }

    fn json_input(self: &Arc<Self>, line: &str) -> Result<(), String> {
        let v: J = serde_json::from_str(line).map_err(|e| format!("bad input line: {e}"))?;
        let op = v
            .get("op")
            .and_then(J::as_str)
            .ok_or("bad input line: no \"op\"")?;
        let nsp = v
            .get("nsp")
            .and_then(J::as_str)
            .unwrap_or(&self.default_nsp)
            .to_owned();
        let args = || -> Result<Vec<J>, String> {
            match v.get("args") {
                None | Some(J::Null) => Ok(Vec::new()),
                Some(J::Arr(items)) => items.iter().cloned().map(J::read_binary).collect(),
                Some(_) => Err("\"args\" must be an array".to_owned()),
            }
        };
        match op {
            "emit" => {
                let event = v
                    .get("event")
                    .and_then(J::as_str)
                    .ok_or("emit needs an \"event\" string")?;
                let ack = match v.get("ack") {
                    None | Some(J::Null) => None,
                    Some(J::Str(s)) => Some(s.clone()),
                    Some(_) => return Err("\"ack\" must be a string".to_owned()),
                };
                self.emit(&nsp, event, args()?, ack)
            }
            "ack" => {
                let id = match v.get("ack_id") {
                    Some(J::Num(n)) => n.as_u64().ok_or("\"ack_id\" must be an integer")?,
                    _ => return Err("ack needs an \"ack_id\" number".to_owned()),
                };
                self.answer(&nsp, id, args()?)
            }
            "connect" => {
                self.socket(&nsp).connect();
                Ok(())
            }
            "disconnect" => {
                self.client.socket(&nsp).disconnect();
                Ok(())
            }
            "close" => {
                self.client.close();
                let _ = self.exit.unbounded_send(0);
                Ok(())
            }
            other => Err(format!("unknown op {other:?}")),
        }
    }

    fn human_input(self: &Arc<Self>, line: &str) -> Result<(), String> {
        let (head, rest) = line.split_once(' ').unwrap_or((line, ""));
        let values = |text: &str| -> Result<Vec<J>, String> {
            serde_json::Deserializer::from_str(text)
                .into_iter::<J>()
                .map(|v| v.map_err(|e| format!("bad argument: {e}")))
                .collect()
        };
        match head {
            ":close" => {
                self.client.close();
                let _ = self.exit.unbounded_send(0);
                Ok(())
            }
            ":connect" => {
                self.socket(rest.trim()).connect();
                Ok(())
            }
            ":disconnect" => {
                self.client.socket(rest.trim()).disconnect();
                Ok(())
            }
            ":ack" => {
                let (id, rest) = rest.split_once(' ').unwrap_or((rest, ""));
                let id = id.parse::<u64>().map_err(|e| format!(":ack ID: {e}"))?;
                let nsp = self.default_nsp.clone();
                self.answer(&nsp, id, values(rest)?)
            }
            nsp if nsp.starts_with('/') => {
                let (event, rest) = rest.split_once(' ').unwrap_or((rest, ""));
                self.emit(nsp, event, values(rest)?, None)
            }
            event => {
                let nsp = self.default_nsp.clone();
                self.emit(&nsp, event, values(rest)?, None)
            }
        }
    }

    fn emit(
        self: &Arc<Self>,
        nsp: &str,
        event: &str,
        args: Vec<J>,
        ack: Option<String>,
    ) -> Result<(), String> {
        let socket = self.client.socket(nsp);
        let args = Args(args);
        match ack {
            None => socket
                .emit(event, &args)
                .now_or_never()
                .unwrap_or(Ok(()))
                .map_err(|e| format!("emit failed: {e}")),
            Some(label) => {
                let cli = self.clone();
                let event = event.to_owned();
                let timeout = self.ack_timeout;
                // The packet is handed over now (in input order); the answer is awaited apart.
                let mut waiting =
                    Box::pin(
                        async move { socket.emit_with_ack_timeout(&event, &args, timeout).await },
                    );
                let first = (&mut waiting).now_or_never();
                let report = move |r: Result<
                    Result<Packet, AckError>,
                    crate::socketio::EmitError,
                >| {
                    match r {
                        Ok(Ok(packet)) => {
                            let args = packet_args(&packet);
                            cli.printer.event(
                                vec![
                                    ("type", "ack".into()),
                                    ("ack", J::s(&label)),
                                    ("args", J::Arr(args.clone())),
                                ],
                                || format!("< ack {label} {}", text(&args)),
                            );
                        }
                        Ok(Err(e)) => {
                            let error = match e {
                                AckError::Timeout => "timeout",
                                _ => "disconnected",
                            };
                            cli.printer.event(
                                vec![
                                    ("type", "ack_error".into()),
                                    ("ack", J::s(&label)),
                                    ("error", error.into()),
                                ],
                                || format!("! ack {label}: {error}"),
                            );
                        }
                        Err(e) => cli.printer.error(&format!("emit failed: {e}")),
                    }
                };
                match first {
                    Some(r) => report(r),
                    None => self.runtime.spawn(Box::pin(async move {
                        report(waiting.await);
                    })),
                }
                Ok(())
            }
        }
    }

    fn answer(&self, nsp: &str, id: u64, args: Vec<J>) -> Result<(), String> {
        let nsp = self.client.socket(nsp).nsp().as_str().to_owned();
        let sender = lock(&self.pending)
            .remove(&(nsp.clone(), id))
            .ok_or(format!("no ack {id} pending on {nsp}"))?;
        sender
            .send(&Args(args))
            .now_or_never()
            .unwrap_or(Ok(()))
            .map_err(|e| format!("ack failed: {e}"))
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Runs `sio` with the command line `args` (without the program name), reading `input`
/// lines and writing output lines to `out`; returns the exit status. What the example's
/// `main` calls, and what tests drive.
pub async fn run(
    runtime: Arc<dyn Runtime>,
    args: Vec<String>,
    input: impl Stream<Item = String> + Unpin + Send,
    out: Box<dyn FnMut(&str) + Send>,
) -> i32 {
    let o = match parse_args(&args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            return 2;
        }
    };
    let printer = Printer {
        out: Arc::new(Mutex::new(out)),
        json: o.json,
    };
    let client = match build(&o, runtime.clone()) {
        Ok(c) => c,
        Err(e) => {
            printer.error(&e);
            return 1;
        }
    };
    // The URL's path names the first namespace; --namespace adds more; `/` without either.
    let mut namespaces = Vec::new();
    if o.url_has_path() {
        namespaces.push(client.main_socket().nsp().as_str().to_owned());
    }
    for n in &o.namespaces {
        let n = client.socket(n).nsp().as_str().to_owned();
        if !namespaces.contains(&n) {
            namespaces.push(n);
        }
    }
    if namespaces.is_empty() {
        namespaces.push("/".to_owned());
    }
    let (exit, mut exited) = mpsc::unbounded();
    let cli = Arc::new(Cli {
        printer: printer.clone(),
        client: client.clone(),
        pending: Mutex::new(HashMap::new()),
        runtime,
        ack_timeout: Duration::from_millis(o.ack_timeout),
        exit: exit.clone(),
        default_nsp: namespaces[0].clone(),
    });
    {
        let printer0 = printer.clone();
        client.on_transport(move |t| {
            let printer = printer0.clone();
            async move {
                printer.event(
                    vec![("type", "transport".into()), ("name", t.as_str().into())],
                    || format!("* transport {}", t.as_str()),
                );
            }
        });
        let printer1 = printer.clone();
        client.on_reconnect_attempt(move |n| {
            let printer = printer1.clone();
            async move {
                printer.event(
                    vec![
                        ("type", "reconnect_attempt".into()),
                        ("attempt", J::Num(n.into())),
                    ],
                    || format!("* reconnect attempt {n}"),
                );
            }
        });
        let printer2 = printer.clone();
        client.on_reconnect(move |n| {
            let printer = printer2.clone();
            async move {
                printer.event(
                    vec![("type", "reconnect".into()), ("attempt", J::Num(n.into()))],
                    || format!("* reconnected after {n} attempt(s)"),
                );
            }
        });
        let printer3 = printer.clone();
        let exit3 = exit.clone();
        client.on_reconnect_failed(move || {
            let printer = printer3.clone();
            let exit = exit3.clone();
            async move {
                printer.event(vec![("type", "reconnect_failed".into())], || {
                    "! reconnection failed".to_owned()
                });
                let _ = exit.unbounded_send(1);
            }
        });
        let printer4 = printer.clone();
        let exit4 = exit.clone();
        client.on_error(move |e: ConnectionError| {
            let printer = printer4.clone();
            let exit = exit4.clone();
            async move {
                printer.error(&e.to_string());
                let _ = exit.unbounded_send(1);
            }
        });
    }
    for nsp in &namespaces {
        cli.socket(nsp).connect();
    }
    let mut input = input.fuse();
    let code = loop {
        futures_util::select_biased! {
            code = exited.next() => break code.unwrap_or(0),
            line = input.next() => match line {
                Some(line) => cli.input(&line),
                None => break 0,
            },
        }
    };
    client.close();
    code
}

impl Options {
    fn url_has_path(&self) -> bool {
        let rest = self.url.split_once("://").map_or("", |(_, r)| r);
        let path = rest.find('/').map_or("", |i| &rest[i..]);
        let path = path.split(['?', '#']).next().unwrap_or("");
        !path.is_empty() && path != "/"
    }
}

fn build(o: &Options, runtime: Arc<dyn Runtime>) -> Result<Client, String> {
    let mut b: ClientBuilder = Client::builder(&o.url).map_err(|e| e.to_string())?;
    b = b
        .transports(o.transports)
        .generation(o.generation)
        .reconnection(o.reconnect)
        .ack_timeout(Duration::from_millis(o.ack_timeout));
    if let Some(p) = &o.path {
        b = b.path(p);
    }
    if let Some(a) = &o.auth {
        b = b.auth(a.clone());
    }
    for (k, v) in &o.query {
        b = b.query(k, v);
    }
    for (k, v) in &o.headers {
        b = b.header(k, v);
    }
    if let Some(d) = o.delay {
        b = b.reconnection_delay(Duration::from_millis(d));
    }
    if let Some(d) = o.delay_max {
        b = b.reconnection_delay_max(Duration::from_millis(d));
    }
    if let Some(n) = o.attempts {
        b = b.reconnection_attempts(n);
    }
    if let Some(ca) = &o.ca {
        let pem = std::fs::read(ca).map_err(|e| format!("--ca {ca}: {e}"))?;
        b = b
            .add_root_certificate_pem(&pem)
            .map_err(|e| format!("--ca {ca}: {e}"))?;
    }
    b.build(runtime).map_err(|e| e.to_string())
}

/// `sio` as a program: the command line from the environment, stdin lines (read on a
/// thread of their own), stdout flushed per line. Returns the exit status.
pub async fn main(runtime: Arc<dyn Runtime>) -> i32 {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (tx, rx) = mpsc::unbounded();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if tx.unbounded_send(line).is_err() {
                break;
            }
        }
    });
    let out = Box::new(|line: &str| {
        use std::io::Write;
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(stdout, "{line}");
        let _ = stdout.flush();
    });
    run(runtime, args, rx, out).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<String> {
        line.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn options_parse_as_documented() {
        let mut line = args(
            "--transports websocket --eio 3 --path /x --namespace /a --namespace /b \
             --auth {\"t\":1} --query k=v --header",
        );
        line.push("X-A: b".to_owned());
        line.extend(args(
            "--no-reconnect --reconnection-delay 10 --reconnection-delay-max 20 \
             --reconnection-attempts 3 --ack-timeout 100 --json http://h:1",
        ));
        let o = parse_args(&line).unwrap();
        assert_eq!(o.headers, [("X-A".to_owned(), "b".to_owned())]);
        assert_eq!(o.transports, Transports::WebSocket);
        assert_eq!(o.generation, Generation::V3);
        assert_eq!(o.path.as_deref(), Some("/x"));
        assert_eq!(o.namespaces, ["/a", "/b"]);
        assert_eq!(o.auth, Some(serde_json::json!({"t": 1})));
        assert_eq!(o.query, [("k".to_owned(), "v".to_owned())]);
        assert!(!o.reconnect);
        assert_eq!(
            (o.delay, o.delay_max, o.attempts),
            (Some(10), Some(20), Some(3))
        );
        assert_eq!(o.ack_timeout, 100);
        assert!(o.json);
        assert_eq!(o.url, "http://h:1");
        assert!(parse_args(&args("--eio 5 http://h")).is_err());
        assert!(parse_args(&args("--bogus http://h")).is_err());
        assert!(parse_args(&[]).is_err());
        assert!(!parse_args(&args("http://h:1/")).unwrap().url_has_path());
        assert!(parse_args(&args("http://h:1/admin?x=1"))
            .unwrap()
            .url_has_path());
    }

    #[test]
    fn json_keeps_key_order_and_binary_round_trips() {
        let v: J = serde_json::from_str(r#"[{"b":1,"a":[{"$binary":"AAE="}]},2.5,null]"#).unwrap();
        let v = v.read_binary().unwrap();
        assert_eq!(
            serde_json::to_string(&Printed(&v)).unwrap(),
            r#"[{"b":1,"a":[{"$binary":"AAE="}]},2.5,null]"#
        );
        let placeholder: J = serde_json::from_str(r#"[{"_placeholder":true,"num":0}]"#).unwrap();
        let filled = placeholder.fill_placeholders(&[Bytes::from_static(b"\x00\x01")]);
        assert_eq!(
            serde_json::to_string(&Printed(&filled)).unwrap(),
            r#"[{"$binary":"AAE="}]"#
        );
        assert!(serde_json::from_str::<J>(r#"{"$binary":7}"#)
            .unwrap()
            .read_binary()
            .is_err());
    }
}
