//! The chat application, runtime-neutral: the `chat` example serves it on tokio, and the
//! browser test on tokio and on smol.
//!
//! One listener serves the page at `/`, the unmodified browser bundle of the npm
//! `socket.io-client` at `/socket.io.min.js` (installed by `scripts/setup`) and Socket.IO at
//! `/socket.io/`.
//!
//! Namespace `/`, events from the client (each acked with an object, `{"error": ...}` when
//! refused):
//!
//! - `nick` (name): takes a nickname (1 to 20 characters, unique ignoring case); acked with
//!   `{"nick"}`.
//! - `join` (room): leaves the current room and joins `room` (1 to 30 characters; a nickname
//!   is needed first); acked with `{"room", "members"}` (the members' nicknames, sorted).
//! - `say` (text): sends up to 500 characters to the current room, sender included, as
//!   `message` `{"from", "text", "room", "time"}` (time in ms since the Unix epoch); acked with
//!   `{"ok": true}`.
//!
//! The server also emits `notice` `{"text", "room", "time"}` to a room when someone joins,
//! leaves, disconnects or changes nickname in it, and `members` `{"room", "members"}` with the
//! room's new member list.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderValue, ALLOW, CACHE_CONTROL, CONTENT_TYPE};
use hyper::{Method, Response, StatusCode};
use serde_json::{json, Value};
use socketio_adapters_core::socketio_proto::rooms::SocketId;
use socketio_adapters_core::{AckSender, Fallback, Runtime, SioSocket, SocketIoServer};

/// The page, built into the binary.
const INDEX_HTML: &str = include_str!("index.html");

/// The npm client's browser bundle, as `scripts/setup` installs it.
const BUNDLE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../interop/node_modules/socket.io-client/dist/socket.io.min.js"
);

const NICK_MAX: usize = 20;
const ROOM_MAX: usize = 30;
const TEXT_MAX: usize = 500;

/// The chat: Socket.IO (serve `io.engine()`) and the page and bundle (serve `pages` as the
/// fallback for every other path).
pub(crate) struct Chat {
    pub(crate) io: SocketIoServer,
    pub(crate) pages: Fallback,
}

/// Builds the chat on `runtime`; fails when the browser bundle is not installed.
pub(crate) fn app(runtime: Arc<dyn Runtime>) -> Result<Chat, String> {
    let bundle = std::fs::read(BUNDLE).map_err(|e| {
        format!("cannot read the socket.io-client browser bundle {BUNDLE}: {e}; run scripts/setup")
    })?;
    let io = SocketIoServer::builder().build(runtime);
    let state = Arc::new(Mutex::new(State::default()));
    io.namespace("/", move |socket| on_connect(socket, state.clone()));
    Ok(Chat {
        io,
        pages: pages(Bytes::from(bundle)),
    })
}

/// Who is who: every connected socket's nickname and room, once chosen.
#[derive(Default)]
struct State {
    users: HashMap<SocketId, User>,
}

#[derive(Default)]
struct User {
    nick: Option<String>,
    room: Option<String>,
}

impl State {
    /// The nicknames in `room`, sorted.
    fn members(&self, room: &str) -> Vec<String> {
        let mut nicks: Vec<String> = self
            .users
            .values()
            .filter(|u| u.room.as_deref() == Some(room))
            .filter_map(|u| u.nick.clone())
            .collect();
        nicks.sort_by_key(|n| n.to_lowercase());
        nicks
    }
}

type Shared = Arc<Mutex<State>>;

fn lock(state: &Shared) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A new socket: its handlers. Every event takes one string argument and is acked with an
/// object, `{"error": ...}` when refused.
async fn on_connect(socket: SioSocket, state: Shared) {
    lock(&state)
        .users
        .insert(socket.id().clone(), User::default());
    for event in ["nick", "join", "say"] {
        let state = state.clone();
        socket.on(event, move |socket, arg: Option<Value>, ack| {
            let state = state.clone();
            async move {
                let arg = arg.and_then(|a| a.as_str().map(str::to_owned));
                let reply = match event {
                    "nick" => set_nick(&socket, &state, arg).await,
                    "join" => join(&socket, &state, arg).await,
                    _ => say(&socket, &state, arg).await,
                };
                answer(ack, reply).await;
            }
        });
    }
    socket.on_any(|_, packet, ack| async move {
        let name = packet.event_name().unwrap_or_default().to_owned();
        answer(ack, Err(format!("unknown event {name}"))).await;
    });
    socket.on_disconnect(move |socket, _reason| {
        let state = state.clone();
        async move { left(&socket, &state).await }
    });
}

async fn answer(ack: Option<AckSender>, reply: Result<Value, String>) {
    if let Some(ack) = ack {
        let reply = reply.unwrap_or_else(|error| json!({ "error": error }));
        let _ = ack.send(&(reply,)).await;
    }
}

/// Disconnected: the server already took the socket out of its rooms.
async fn left(socket: &SioSocket, state: &Shared) {
    let user = lock(state).users.remove(socket.id());
    if let Some(User {
        nick: Some(nick),
        room: Some(room),
    }) = user
    {
        let members = lock(state).members(&room);
        notice(socket, &room, format!("{nick} left")).await;
        send_members(socket, &room, members).await;
    }
}

/// `arg` trimmed, when it is 1 to `max` characters without control characters.
fn valid(arg: Option<String>, what: &str, max: usize) -> Result<String, String> {
    let arg = arg.ok_or_else(|| format!("the {what} must be a string"))?;
    let arg = arg.trim();
    if arg.is_empty() {
        return Err(format!("the {what} is empty"));
    }
    if arg.chars().count() > max {
        return Err(format!("the {what} is longer than {max} characters"));
    }
    if arg.chars().any(char::is_control) {
        return Err(format!("the {what} has control characters"));
    }
    Ok(arg.to_owned())
}

async fn set_nick(
    socket: &SioSocket,
    state: &Shared,
    arg: Option<String>,
) -> Result<Value, String> {
    let nick = valid(arg, "nickname", NICK_MAX)?;
    let (old, room, members) = {
        let mut state = lock(state);
        let folded = nick.to_lowercase();
        let taken = state.users.iter().any(|(id, u)| {
            id != socket.id() && u.nick.as_ref().is_some_and(|n| n.to_lowercase() == folded)
        });
        if taken {
            return Err(format!("the nickname {nick} is taken"));
        }
        let Some(user) = state.users.get_mut(socket.id()) else {
            return Err("disconnected".to_owned());
        };
        let old = user.nick.replace(nick.clone());
        let room = user.room.clone();
        let members = room.as_deref().map(|r| state.members(r));
        (old, room, members)
    };
    if let (Some(old), Some(room), Some(members)) = (old, room, members) {
        if old != nick {
            notice(socket, &room, format!("{old} is now known as {nick}")).await;
            send_members(socket, &room, members).await;
        }
    }
    Ok(json!({ "nick": nick }))
}

async fn join(socket: &SioSocket, state: &Shared, arg: Option<String>) -> Result<Value, String> {
    let room = valid(arg, "room name", ROOM_MAX)?;
    let (nick, old, members, old_members) = {
        let mut state = lock(state);
        let Some(user) = state.users.get_mut(socket.id()) else {
            return Err("disconnected".to_owned());
        };
        let Some(nick) = user.nick.clone() else {
            return Err("choose a nickname first".to_owned());
        };
        if user.room.as_deref() == Some(room.as_str()) {
            let members = state.members(&room);
            return Ok(json!({ "room": room, "members": members }));
        }
        let old = user.room.replace(room.clone());
        // The Socket.IO rooms follow the state under its lock.
        if let Some(old) = &old {
            socket.leave(room_key(old));
        }
        socket.join(room_key(&room));
        let old_members = old.as_deref().map(|r| state.members(r));
        (nick, old, state.members(&room), old_members)
    };
    if let (Some(old), Some(old_members)) = (old, old_members) {
        notice(socket, &old, format!("{nick} left")).await;
        send_members(socket, &old, old_members).await;
    }
    notice(socket, &room, format!("{nick} joined")).await;
    send_members(socket, &room, members.clone()).await;
    Ok(json!({ "room": room, "members": members }))
}

async fn say(socket: &SioSocket, state: &Shared, arg: Option<String>) -> Result<Value, String> {
    let text = arg.ok_or_else(|| "the message must be a string".to_owned())?;
    if text.trim().is_empty() {
        return Err("the message is empty".to_owned());
    }
    if text.chars().count() > TEXT_MAX {
        return Err(format!("the message is longer than {TEXT_MAX} characters"));
    }
    let (nick, room) = {
        let state = lock(state);
        match state.users.get(socket.id()) {
            Some(User {
                nick: Some(nick),
                room: Some(room),
            }) => (nick.clone(), room.clone()),
            _ => return Err("join a room first".to_owned()),
        }
    };
    let message = json!({ "from": nick, "text": text, "room": room, "time": now_ms() });
    to_room(socket, &room, "message", message).await;
    Ok(json!({ "ok": true }))
}

/// The Socket.IO room of chat room `room` (apart from the sockets' own rooms, named by id).
fn room_key(room: &str) -> String {
    format!("chat:{room}")
}

async fn notice(socket: &SioSocket, room: &str, text: String) {
    let data = json!({ "text": text, "room": room, "time": now_ms() });
    to_room(socket, room, "notice", data).await;
}

async fn send_members(socket: &SioSocket, room: &str, members: Vec<String>) {
    let data = json!({ "room": room, "members": members });
    to_room(socket, room, "members", data).await;
}

/// Emits `event` with `data` to everyone in chat room `room`: encoded once, one broadcast.
async fn to_room(socket: &SioSocket, room: &str, event: &str, data: Value) {
    let _ = socket
        .server()
        .of(socket.nsp().as_str())
        .to(room_key(room))
        .emit(event, &(data,))
        .await;
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The page and the bundle, for every path Socket.IO does not serve.
fn pages(bundle: Bytes) -> Fallback {
    let index = Bytes::from_static(INDEX_HTML.as_bytes());
    Arc::new(move |req| {
        let file = match req.uri().path() {
            "/" | "/index.html" => Some((index.clone(), "text/html; charset=utf-8")),
            "/socket.io.min.js" => Some((bundle.clone(), "text/javascript; charset=utf-8")),
            _ => None,
        };
        let res = match (file, req.method()) {
            (Some((body, kind)), &Method::GET | &Method::HEAD) => {
                let mut res = Response::new(Full::new(body));
                let h = res.headers_mut();
                h.insert(CONTENT_TYPE, HeaderValue::from_static(kind));
                h.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
                res
            }
            (Some(_), _) => {
                let mut res = status(StatusCode::METHOD_NOT_ALLOWED);
                res.headers_mut()
                    .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
                res
            }
            (None, _) => status(StatusCode::NOT_FOUND),
        };
        Box::pin(async move { res })
    })
}

fn status(code: StatusCode) -> Response<Full<Bytes>> {
    let mut res = Response::new(Full::new(Bytes::from(
        code.canonical_reason().unwrap_or_default(),
    )));
    *res.status_mut() = code;
    res
}
