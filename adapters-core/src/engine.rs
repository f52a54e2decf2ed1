//! The Engine.IO server driver: the router, one task per session, the application's handles.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll};
use std::time::Instant;

use engineio_proto::http::{HeaderValue, HttpRequest, HttpResponse, RequestHead, RequestId};
use engineio_proto::server::{
    Engine, Route, ServerConfig, Session, SessionEvent, SessionRequest, Transmit,
};
use engineio_proto::{CloseReason, Message, WsFrame};
use futures_channel::{mpsc, oneshot};
use futures_util::{Sink, SinkExt, Stream, StreamExt};

use crate::inbox::Inbox;
use crate::runtime::{BoxFuture, Runtime};

/// Messages the application may queue towards one session before `send` waits.
const APP_TO_SESSION: usize = 64;
/// Messages a session may queue towards the application before its driver waits.
const SESSION_TO_APP: usize = 256;
/// Sends waiting for room in a session's buffer before its driver stops reading the
/// application's commands (and the application's `send` waits).
const BLOCKED: usize = 64;
/// How long a WebSocket the session let go of is still read (for the peer's close frame).
pub(crate) const WS_LINGER: std::time::Duration = std::time::Duration::from_secs(5);
/// Frames waiting for a slow WebSocket before its session stops taking input that makes more.
const WS_OUT: usize = 64;
/// Requests held back while a session waits for its new WebSocket to be attached, before it
/// stops holding them back (a bound: a client cannot make the session buffer more).
const DEFERRED: usize = 16;

/// What to send on a WebSocket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WsOut {
    /// A frame.
    Frame(WsFrame),
    /// Close the WebSocket with this code (`None`: no status code).
    Close(Option<u16>),
}

/// What [`EngineIoServer::handle_http`] decided.
#[derive(Debug)]
pub enum HttpOutcome {
    /// Write this response.
    Response(HttpResponse),
    /// Complete the WebSocket upgrade (101, with these extra headers), then hand the socket to
    /// `attach`.
    Upgrade {
        /// Extra response headers (CORS).
        headers: Vec<(&'static str, HeaderValue)>,
        /// Where the WebSocket goes.
        attach: WsAttach,
    },
}

/// What a WebSocket's reader hands its session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WsIn {
    /// A data frame (a whole message).
    Frame(WsFrame),
    /// A message the WebSocket library refused to read whole: longer than its size limit
    /// (set above `max_payload`). The session closes the socket with 1009.
    TooLarge,
}

/// Hands an upgraded WebSocket to its session (or, for a WebSocket the session refused after
/// its 101, closes it).
pub struct WsAttach {
    target: Option<AttachTarget>,
}

enum AttachTarget {
    /// The session's WebSocket; `generation` says which of them (see [`Driver::ws_generation`]).
    Session { channels: Channels, generation: u64 },
    /// A WebSocket the session refused: closed at once, without a status code.
    Refused(Arc<dyn Runtime>),
}

impl fmt::Debug for WsAttach {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WsAttach").finish_non_exhaustive()
    }
}

impl WsAttach {
    /// Connects the WebSocket: `incoming` yields its frames (ending when it closes or fails),
    /// `outgoing` takes what the session sends. Dropping the `WsAttach` instead (the upgrade
    /// failed) tells the session its WebSocket closed.
    pub fn attach<I, O>(mut self, incoming: I, outgoing: O)
    where
        I: Stream<Item = WsIn> + Send + 'static,
        O: Sink<WsOut> + Send + 'static,
    {
        let outgoing: WsOutgoing = Box::pin(outgoing.sink_map_err(|_| ()));
        self.attach_boxed(Box::pin(incoming), outgoing);
    }

    fn attach_boxed(&mut self, incoming: WsIncoming, outgoing: WsOutgoing) {
        match self.target.take() {
            Some(AttachTarget::Session {
                channels,
                generation,
            }) => {
                // The session's own task reads and writes the socket (no task and no channel
                // in between). The control lane always takes it.
                let _ = channels.control(Input::WsAttached(outgoing, incoming, generation));
            }
            Some(AttachTarget::Refused(runtime)) => {
                let mut out = WsWriter {
                    sink: Some(outgoing),
                    ..WsWriter::default()
                };
                out.queue.push_back(WsOut::Close(None));
                linger(&runtime, Some(incoming), out);
            }
            None => {}
        }
    }
}

impl Drop for WsAttach {
    fn drop(&mut self) {
        // Never attached (the upgrade failed, or the request's connection went away): the
        // session must not wait for this WebSocket.
        if self.target.is_some() {
            self.attach_boxed(
                Box::pin(futures_util::stream::empty()),
                Box::pin(futures_util::sink::drain().sink_map_err(|_| ())),
            );
        }
    }
}

/// A WebSocket's sending side, driven by its session's task: frames wait in `queue` until the
/// socket takes them, and are flushed together.
#[derive(Default)]
struct WsWriter {
    sink: Option<WsOutgoing>,
    queue: std::collections::VecDeque<WsOut>,
    /// Frames were handed to the sink and not flushed yet.
    dirty: bool,
    /// A close frame was handed over: the sink goes once it is flushed.
    release: bool,
}

impl WsWriter {
    /// Hands queued frames to the socket and flushes them, as far as it takes them now;
    /// whether anything moved.
    fn pump(&mut self, cx: &mut Context<'_>) -> bool {
        let Some(sink) = &mut self.sink else {
            return false;
        };
        let mut moved = false;
        while !self.queue.is_empty() && !self.release {
            match sink.as_mut().poll_ready(cx) {
                Poll::Ready(Ok(())) => {
                    let out = self.queue.pop_front().expect("not empty");
                    self.release = matches!(out, WsOut::Close(_));
                    if sink.as_mut().start_send(out).is_err() {
                        return self.fail();
                    }
                    self.dirty = true;
                    moved = true;
                }
                Poll::Ready(Err(())) => return self.fail(),
                Poll::Pending => break,
            }
        }
        // Usually one frame at a time: an idle socket keeps room for one.
        keep_room_for_one(&mut self.queue);
        if self.dirty {
            match sink.as_mut().poll_flush(cx) {
                Poll::Ready(Ok(())) => {
                    self.dirty = false;
                    moved = true;
                    if self.release {
                        // After our close frame nothing else goes on this socket.
                        self.sink = None;
                        self.release = false;
                        self.queue.clear();
                    }
                }
                Poll::Ready(Err(())) => return self.fail(),
                Poll::Pending => {}
            }
        }
        moved
    }

    /// The socket failed: what it did not take is dropped (its reading side ends too).
    fn fail(&mut self) -> bool {
        self.sink = None;
        self.queue.clear();
        self.dirty = false;
        self.release = false;
        true
    }

    /// Whether frames wait for the socket.
    fn busy(&self) -> bool {
        self.sink.is_some() && (!self.queue.is_empty() || self.dirty)
    }
}

/// The way into a session driver: its control lane (long-polls, aborts, WebSocket attach) is
/// always read; its data lane (POST bodies) is paused while the application lags, so a slow
/// application slows its client down without stopping the long-polls that drain the session's
/// output (which the application may be waiting on).
type Channels = Inbox<Input>;

enum Reply {
    Http(HttpResponse),
    /// Complete the upgrade and attach the WebSocket (dropping the attach, if the request's
    /// connection goes away first, tells the session).
    Upgrade(Vec<(&'static str, HeaderValue)>, WsAttach),
    /// Complete the upgrade, then close the WebSocket at once.
    Refuse(Vec<(&'static str, HeaderValue)>),
}

/// The frames of a WebSocket, read by its session's task.
type WsIncoming = std::pin::Pin<Box<dyn Stream<Item = WsIn> + Send>>;
/// The sending side of a WebSocket, written by its session's task.
type WsOutgoing = std::pin::Pin<Box<dyn Sink<WsOut, Error = ()> + Send>>;

/// Inputs from the transport carry the time they arrived: a driver that is late reading them
/// (a busy runtime) must not let a deadline pass over a pong that arrived in time.
enum Input {
    Request {
        req: SessionRequest,
        reply: oneshot::Sender<Reply>,
        at: Instant,
    },
    Aborted(RequestId),
    /// Inputs of a WebSocket carry its generation: a socket the session has replaced (an
    /// abandoned probe still sending) is not taken for the current one.
    WsAttached(WsOutgoing, WsIncoming, u64),
    WsFrame(WsIn, Instant, u64),
    WsClosed(Instant, u64),
    Send(Message),
    Close,
    Shutdown,
}

/// Why a message could not be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendError {
    /// The session is closed.
    Closed,
    /// The session's outgoing buffer is full.
    Full,
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SendError::Closed => "the session is closed",
            SendError::Full => "the session's outgoing buffer is full",
        })
    }
}

impl std::error::Error for SendError {}

/// The application's handle on one Engine.IO session.
#[derive(Debug)]
pub struct EioSocket {
    sid: String,
    version: engineio_proto::EngineIoVersion,
    /// The application's commands (a channel of their own, so that a driver waiting on a slow
    /// transport or a slow reader still takes them: no cycle between `send` and `recv`).
    commands: mpsc::Sender<Input>,
    messages: mpsc::Receiver<Message>,
    writable: Arc<AtomicBool>,
    handshake: Arc<RequestHead>,
}

impl Input {
    /// When a transport input arrived.
    fn arrived(&self) -> Option<Instant> {
        match self {
            Input::Request { at, .. } | Input::WsFrame(_, at, _) | Input::WsClosed(at, _) => {
                Some(*at)
            }
            _ => None,
        }
    }
}

impl fmt::Debug for Input {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Input")
    }
}

impl EioSocket {
    /// The session id.
    pub fn sid(&self) -> &str {
        &self.sid
    }

    /// The protocol revision the client speaks.
    pub fn version(&self) -> engineio_proto::EngineIoVersion {
        self.version
    }

    /// The request that opened the session (its URI and headers; the body is not kept).
    pub fn handshake(&self) -> &Arc<RequestHead> {
        &self.handshake
    }

    /// Whether a message sent now would leave at once ([`Session::is_writable`], and nothing
    /// waiting in this driver): what volatile emits check. A snapshot, updated by the
    /// session's task after each step.
    pub fn is_writable(&self) -> bool {
        self.writable.load(Ordering::Relaxed)
    }

    /// The next message from the client; `None` once the session is closed.
    pub async fn recv(&mut self) -> Option<Message> {
        self.messages.next().await
    }

    /// Sends a message to the client. Waits while the session's outgoing buffer and the
    /// messages waiting for it are full (back-pressure); does not wait for the session to take
    /// this one. Fails once the session has ended (a message sent while it closes is dropped).
    pub async fn send(&mut self, message: impl Into<Message>) -> Result<(), SendError> {
        self.commands
            .send(Input::Send(message.into()))
            .await
            .map_err(|_| SendError::Closed)
    }

    /// Closes the session (queued messages are sent first).
    pub async fn close(&self) {
        let mut commands = self.commands.clone();
        let _ = commands.send(Input::Close).await;
    }
}

type OnConnection = Box<dyn Fn(EioSocket) + Send + Sync>;

/// A message handler run inside a session's own task, in arrival order: what it sends (through
/// the callback) is queued before the session looks at its next input, as an event handler of
/// the Node server would. Used instead of an [`EioSocket`] when replies must batch with the
/// input that caused them (an echo answering a whole POST in one long-poll).
pub type InlineHandler = Box<dyn FnMut(Message, &mut dyn FnMut(Message)) + Send>;

/// An application run inside each session's own task, with no channel between the session and
/// it (the Socket.IO server): the session hands it the client's messages and its end, and
/// sends what it produces, in order, before looking at its next input.
pub(crate) trait Hosted: Send {
    /// A message from the client. `cx` is the session task's: the futures the application
    /// starts (handlers) are polled with it.
    fn message(&mut self, cx: &mut Context<'_>, now: Instant, message: Message);
    /// The session ended, for `reason`.
    fn ended(&mut self, cx: &mut Context<'_>, now: Instant, reason: CloseReason);
    /// The application's next deadline.
    fn poll_timeout(&self) -> Option<Instant>;
    /// Its deadline passed.
    fn timeout(&mut self, cx: &mut Context<'_>, now: Instant);
    /// Runs the application's own futures; `Ready` when it has work for [`Hosted::work`].
    fn poll_wake(&mut self, cx: &mut Context<'_>) -> Poll<()>;
    /// Does that work; `writable` says whether the session's transport could take a message
    /// at once (volatile emits).
    fn work(&mut self, cx: &mut Context<'_>, now: Instant, writable: bool);
    /// The next message for the client.
    fn poll_transmit(&mut self) -> Option<Message>;
    /// Whether the application asks for the session to be closed.
    fn take_close(&mut self) -> bool;
    /// Whether it takes client messages now (false: the client waits).
    fn ready(&self) -> bool;
}

/// Makes the hosted application of a new session: the server (for the application to keep
/// while its session runs; the maker itself must not hold it, or the server would own
/// itself), the sid, protocol revision and handshake.
pub(crate) type MakeHosted = Box<
    dyn Fn(
            &EngineIoServer,
            &str,
            engineio_proto::EngineIoVersion,
            Arc<RequestHead>,
        ) -> Box<dyn Hosted>
        + Send
        + Sync,
>;

enum App {
    /// Each session goes to the application as an [`EioSocket`].
    Socket(OnConnection),
    /// Each session gets a handler of its own, run in its task.
    Inline(Box<dyn Fn(&str) -> InlineHandler + Send + Sync>),
    /// Each session gets an application of its own, run in its task.
    Hosted(MakeHosted),
}

struct Inner {
    /// Read on every request: kept out of the engine's lock.
    path: String,
    max_payload: usize,
    engine: Mutex<Engine>,
    sessions: Mutex<HashMap<String, Channels>>,
    runtime: Arc<dyn Runtime>,
    app: App,
}

/// A raw Engine.IO server: no Socket.IO on top.
///
/// Cheap to clone: every clone is a handle on the same server. The server lives while a
/// handle or a session's task is alive (each session's task holds one until the session
/// ends); after [`EngineIoServer::shutdown`], once the sessions have ended and every handle
/// is dropped, it is freed with its application.
#[derive(Clone)]
pub struct EngineIoServer {
    inner: Arc<Inner>,
}

impl fmt::Debug for EngineIoServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EngineIoServer").finish_non_exhaustive()
    }
}

/// A handle on an [`EngineIoServer`] that does not keep it alive, from
/// [`EngineIoServer::downgrade`].
#[derive(Clone)]
pub struct WeakEngineIoServer {
    inner: Weak<Inner>,
}

impl fmt::Debug for WeakEngineIoServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WeakEngineIoServer").finish_non_exhaustive()
    }
}

impl WeakEngineIoServer {
    /// The server, if it is still alive.
    pub fn upgrade(&self) -> Option<EngineIoServer> {
        self.inner.upgrade().map(|inner| EngineIoServer { inner })
    }
}

impl EngineIoServer {
    /// A server with `config` on `runtime`; `on_connection` receives each new session.
    pub fn new(
        config: ServerConfig,
        runtime: Arc<dyn Runtime>,
        on_connection: impl Fn(EioSocket) + Send + Sync + 'static,
    ) -> Self {
        Self::with_app(config, runtime, App::Socket(Box::new(on_connection)))
    }

    /// A server whose sessions are answered by handlers run inside each session's task
    /// (`make` builds one per session, from its sid).
    pub fn with_inline_handler(
        config: ServerConfig,
        runtime: Arc<dyn Runtime>,
        make: impl Fn(&str) -> InlineHandler + Send + Sync + 'static,
    ) -> Self {
        Self::with_app(config, runtime, App::Inline(Box::new(make)))
    }

    /// A server whose sessions each run an application in their own task.
    pub(crate) fn hosting(
        config: ServerConfig,
        runtime: Arc<dyn Runtime>,
        make: MakeHosted,
    ) -> Self {
        Self::with_app(config, runtime, App::Hosted(make))
    }

    fn with_app(config: ServerConfig, runtime: Arc<dyn Runtime>, app: App) -> Self {
        let rt = runtime.clone();
        let path = config.path.clone();
        let max_payload = config.max_payload;
        let engine = Engine::new(config, Box::new(move |buf: &mut [u8]| rt.fill_random(buf)));
        EngineIoServer {
            inner: Arc::new(Inner {
                path,
                max_payload,
                engine: Mutex::new(engine),
                sessions: Mutex::new(HashMap::new()),
                runtime,
                app,
            }),
        }
    }

    /// A handle that does not keep the server alive (for an application callback that needs
    /// the server without owning it: the server keeps its callbacks).
    pub fn downgrade(&self) -> WeakEngineIoServer {
        WeakEngineIoServer {
            inner: Arc::downgrade(&self.inner),
        }
    }

    /// The server settings.
    pub fn config(&self) -> ServerConfig {
        self.lock_engine().config().clone()
    }

    /// Closes every session with reason `ServerShutdown`: queued packets go out, then the
    /// close (a `close` packet on a long-poll, a WebSocket close). New handshakes are still
    /// answered: stop accepting connections first.
    pub async fn shutdown(&self) {
        let sessions: Vec<Channels> = self.sessions().values().cloned().collect();
        for session in sessions {
            let _ = session.control(Input::Shutdown);
        }
    }

    /// The runtime the server drives its tasks on.
    pub fn runtime(&self) -> Arc<dyn Runtime> {
        self.inner.runtime.clone()
    }

    /// The path prefix served.
    pub fn path(&self) -> &str {
        &self.inner.path
    }

    /// The largest body or WebSocket message accepted.
    pub fn max_payload(&self) -> usize {
        self.inner.max_payload
    }

    /// Open sessions.
    pub fn session_count(&self) -> usize {
        self.lock_engine().session_count()
    }

    fn lock_engine(&self) -> std::sync::MutexGuard<'_, Engine> {
        // A panic while holding the lock cannot leave the engine half-updated in a way that
        // matters more than refusing service; keep serving.
        self.inner
            .engine
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn sessions(&self) -> std::sync::MutexGuard<'_, HashMap<String, Channels>> {
        self.inner
            .sessions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Handles one HTTP request (body read, at most `max_payload` bytes; a longer one flagged `body_too_large`). Resolves when
    /// the answer is known: at once for most requests, when the session has something to say
    /// for a long-poll. Dropping the future before it resolves (the client went away) aborts
    /// the request, as the protocol requires for a held long-poll.
    pub async fn handle_http(&self, request: HttpRequest) -> HttpOutcome {
        let routed = self.lock_engine().handle_request(request);
        let id = routed.id;
        let (reply_tx, reply_rx) = oneshot::channel();
        let channels = match routed.route {
            Route::Reply(response) => return HttpOutcome::Response(response),
            Route::Handshake(incoming) => {
                let now = self.inner.runtime.now();
                let handshake = Arc::new(RequestHead::new(incoming.request()));
                let session = self.lock_engine().accept(now, incoming);
                self.spawn_session(session, handshake, id, reply_tx)
            }
            Route::Session(sid, req) => {
                let channels = self.sessions().get(sid.as_str()).cloned();
                let Some(channels) = channels else {
                    // Closed between routing and now.
                    return HttpOutcome::Response(HttpResponse::new(400));
                };
                let post = req.request().method == engineio_proto::http::Method::Post;
                let input = Input::Request {
                    req,
                    reply: reply_tx,
                    at: self.inner.runtime.now(),
                };
                let sent = if post {
                    channels.data(input).await
                } else {
                    channels.control(input)
                };
                if sent.is_err() {
                    return HttpOutcome::Response(HttpResponse::new(400));
                }
                channels
            }
            // A route this driver does not know (a newer engineio-proto): refuse.
            _ => return HttpOutcome::Response(HttpResponse::new(500)),
        };
        let mut guard = AbortGuard {
            id,
            control: Some(channels),
        };
        let reply = reply_rx.await;
        guard.control = None;
        match reply {
            Ok(Reply::Http(response)) => HttpOutcome::Response(response),
            Ok(Reply::Upgrade(headers, attach)) => HttpOutcome::Upgrade { headers, attach },
            Ok(Reply::Refuse(headers)) => HttpOutcome::Upgrade {
                headers,
                attach: WsAttach {
                    target: Some(AttachTarget::Refused(self.inner.runtime.clone())),
                },
            },
            // The session ended without answering.
            Err(_) => HttpOutcome::Response(HttpResponse::new(400)),
        }
    }

    /// Starts the driver of a new session; `first` is the request its first transmit answers.
    fn spawn_session(
        &self,
        session: Session,
        handshake: Arc<RequestHead>,
        first: RequestId,
        reply: oneshot::Sender<Reply>,
    ) -> Channels {
        let sid = session.sid().as_str().to_owned();
        let version = session.version();
        let (channels, receiver) = crate::inbox::inbox(APP_TO_SESSION);
        // The channels to and from an application's `EioSocket`, when it takes one.
        let socket_app = match &self.inner.app {
            App::Socket(on_connection) => Some((
                on_connection,
                mpsc::channel(APP_TO_SESSION),
                mpsc::channel(SESSION_TO_APP),
            )),
            _ => None,
        };
        self.sessions().insert(sid.clone(), channels.clone());
        let pending = vec![(first, reply)];
        let writable = Arc::new(AtomicBool::new(false));
        let driver = Driver {
            server: self.clone(),
            session,
            pending,
            ws_out: WsWriter::default(),
            ws_in: None,
            ws_read: WsReadWaker::new(),
            ws_attaching: false,
            ws_generation: 0,
            app: socket_app
                .as_ref()
                .map(|(_, _, (app_tx, _))| app_tx.clone()),
            inline: match &self.inner.app {
                App::Inline(make) => Some(make(&sid)),
                _ => None,
            },
            hosted: match &self.inner.app {
                App::Hosted(make) => Some(make(self, &sid, version, handshake.clone())),
                _ => None,
            },
            to_app: std::collections::VecDeque::new(),
            blocked: std::collections::VecDeque::new(),
            writable: writable.clone(),
        };
        let span = tracing::info_span!("engineio_session", sid = %sid);
        let (socket_app, commands_rx) = match socket_app {
            Some((on_connection, (commands_tx, commands_rx), (_, app_rx))) => (
                Some((on_connection, commands_tx, app_rx)),
                Some(commands_rx),
            ),
            None => (None, None),
        };
        let run = SessionTask {
            driver,
            inbox: receiver,
            commands_open: commands_rx.is_some(),
            commands: commands_rx,
            timer: None,
            deferred: std::collections::VecDeque::new(),
            started: false,
        };
        self.inner
            .runtime
            .spawn(Box::pin(tracing::Instrument::instrument(run, span)));
        if let Some((on_connection, commands, messages)) = socket_app {
            on_connection(EioSocket {
                sid,
                version,
                commands,
                messages,
                writable,
                handshake,
            });
        }
        channels
    }
}

/// Aborts a request whose future was dropped before its answer.
struct AbortGuard {
    id: RequestId,
    control: Option<Channels>,
}

impl Drop for AbortGuard {
    fn drop(&mut self) {
        if let Some(control) = self.control.take() {
            let _ = control.control(Input::Aborted(self.id));
        }
    }
}

/// Wakes a session's task for its WebSocket's reading side and remembers that it did, so that
/// the socket is read only after it said it may have something (reading a socket with nothing
/// to read still costs a lock, a buffer fill and a readiness check, on every wake-up of the
/// session: each emit or broadcast it is handed).
struct ReadWake {
    woken: AtomicBool,
    task: futures_util::task::AtomicWaker,
}

impl std::task::Wake for ReadWake {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::Release);
        self.task.wake();
    }
}

/// The reading side's waker and its flag.
struct WsReadWaker {
    shared: Arc<ReadWake>,
    waker: std::task::Waker,
}

impl WsReadWaker {
    fn new() -> Self {
        let shared = Arc::new(ReadWake {
            woken: AtomicBool::new(true),
            task: futures_util::task::AtomicWaker::new(),
        });
        WsReadWaker {
            waker: std::task::Waker::from(shared.clone()),
            shared,
        }
    }

    /// Reads the next frame of `ws_in` if it may have one (woken since it was last pending,
    /// or never read); `cx` is the session task's.
    fn poll_next(&self, cx: &mut Context<'_>, ws_in: &mut WsIncoming) -> Poll<Option<WsIn>> {
        self.shared.task.register(cx.waker());
        if !self.shared.woken.swap(false, Ordering::AcqRel) {
            return Poll::Pending;
        }
        let polled = ws_in
            .as_mut()
            .poll_next(&mut Context::from_waker(&self.waker));
        if polled.is_ready() {
            // More may be buffered: a stream does not wake after an item.
            self.shared.woken.store(true, Ordering::Release);
        }
        polled
    }

    /// Reads the next frame of `ws_in` whether or not it was woken: a frame the client sent
    /// before a request on another connection may already be in the socket while its
    /// readiness has not reached this task yet.
    fn poll_forced(&self, cx: &mut Context<'_>, ws_in: &mut WsIncoming) -> Poll<Option<WsIn>> {
        self.shared.woken.store(true, Ordering::Release);
        self.poll_next(cx, ws_in)
    }

    /// A new socket is to be read at once.
    fn reset(&self) {
        self.shared.woken.store(true, Ordering::Release);
    }
}

enum Wake {
    CommandsClosed,
    Written,
    Frame(Option<WsIn>),
    Timer,
    Hosted,
    AppReady(bool),
    Input(Input),
}

struct Driver {
    server: EngineIoServer,
    session: Session,
    /// The requests waiting for their answer (a few at most: the engine answers a second
    /// long-poll or POST at once).
    pending: Vec<(RequestId, oneshot::Sender<Reply>)>,
    /// The current WebSocket's sending side (frames wait there before it is attached).
    ws_out: WsWriter,
    /// Counts the WebSockets the session accepted; the current one's inputs carry this.
    ws_generation: u64,
    /// The frames of the current WebSocket (read while the application keeps up).
    ws_in: Option<WsIncoming>,
    /// Whether `ws_in` may have a frame.
    ws_read: WsReadWaker,
    /// A WebSocket was accepted and its socket is not attached yet.
    ws_attaching: bool,
    app: Option<mpsc::Sender<Message>>,
    /// The session's inline handler, if the server has one (then `app` stays unused).
    inline: Option<InlineHandler>,
    /// The session's hosted application, if the server has one (then `app` stays unused).
    hosted: Option<Box<dyn Hosted>>,
    /// Messages for the application not yet taken by its channel. While it holds
    /// [`SESSION_TO_APP`] messages the transport is not read: a slow application slows its
    /// client down instead of growing memory.
    to_app: std::collections::VecDeque<Message>,
    /// Sends waiting for room in the session's buffer, in order.
    blocked: std::collections::VecDeque<Message>,
    /// Published after each drain for [`EioSocket::is_writable`].
    writable: Arc<AtomicBool>,
}

/// A session's task: its driver and the inputs it waits on, polled by hand in a fixed order
/// (nothing is rebuilt per wake-up, and the task holds little more than the driver).
impl Driver {
    /// A frame the WebSocket has already received, read before `input` when `input` is an
    /// HTTP request and the session has a WebSocket: the client may have sent `2probe` and
    /// `5` and then this request on another connection (engineio.md §8), and the frames'
    /// readiness can reach this task after the request does (another executor thread, a
    /// reactor batch not dispatched yet). Costs one read attempt per such request.
    fn frame_before(
        &mut self,
        cx: &mut Context<'_>,
        input: &Input,
        read_data: bool,
    ) -> Option<Option<WsIn>> {
        if !read_data || !matches!(input, Input::Request { .. }) {
            return None;
        }
        let ws_in = self.ws_in.as_mut()?;
        match self.ws_read.poll_forced(cx, ws_in) {
            Poll::Ready(f) => Some(f),
            Poll::Pending => None,
        }
    }
}

struct SessionTask {
    driver: Driver,
    inbox: crate::inbox::Receiver<Input>,
    /// The application's commands (when it has an [`EioSocket`]).
    commands: Option<mpsc::Receiver<Input>>,
    /// The armed deadline and its timer.
    timer: Option<(Instant, BoxFuture)>,
    /// Control inputs (long-polls, aborts) that arrived while a new WebSocket was being
    /// attached: the frames the client sent on it before them are read first. A client sends
    /// `2probe` and `5` and then a GET, expecting the 400 of an upgraded session; the GET can
    /// reach the session before the socket does (the upgrade completes on another task).
    deferred: std::collections::VecDeque<Input>,
    /// The application may drop its handle (or never had one): the session lives on, it
    /// just takes no more commands.
    commands_open: bool,
    started: bool,
}

impl Future for SessionTask {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let runtime = this.driver.server.inner.runtime.clone();
        if !this.started {
            this.started = true;
            // The hosted application may have something to say at once (a v4 connection's
            // implicit CONNECT to `/`).
            let now = runtime.now();
            if let Some(h) = &mut this.driver.hosted {
                h.work(cx, now, false);
            }
            this.driver.pump_hosted(now);
        }
        loop {
            this.driver.drain(cx);
            this.driver.ws_out.pump(cx);
            if this.driver.session.is_closed() {
                this.finish(cx);
                return Poll::Ready(());
            }
            let deadline = match (
                this.driver.session.poll_timeout(),
                this.driver.hosted_timeout(),
            ) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            if this.timer.as_ref().map(|(d, _)| *d) != deadline {
                this.timer = deadline.map(|d| (d, runtime.sleep_until(d)));
            }
            let Some(wake) = this.poll_inputs(cx) else {
                return Poll::Pending;
            };
            if !this.handle(cx, runtime.now(), wake) {
                this.finish(cx);
                return Poll::Ready(());
            }
        }
    }
}

impl SessionTask {
    /// The first input that is ready, in priority order: the application's commands, the
    /// client's WebSocket frames, control (long-polls, aborts, WebSocket attach), the socket
    /// taking our frames, the hosted application's output (before the client's next input),
    /// the client's POST bodies, room in the application's channel, the timer. Inputs come
    /// before the timer: what arrived before a deadline is handled at its arrival time.
    ///
    /// WebSocket frames come before long-polls: a client that sends `2probe` and `5` and then
    /// a GET (on another connection) must find the session upgraded (engineio.md §8), so
    /// frames already readable are handled first, and long-polls that arrive while a new
    /// WebSocket is still being attached wait for it ([`SessionTask::deferred`]).
    fn poll_inputs(&mut self, cx: &mut Context<'_>) -> Option<Wake> {
        let d = &mut self.driver;
        // While the socket is behind, nothing that makes more output is looked at.
        let ws_full = d.ws_out.queue.len() >= WS_OUT;
        let read_data = d.to_app.len() < SESSION_TO_APP
            && d.hosted.as_ref().is_none_or(|h| h.ready())
            && !ws_full;
        if let (Some(commands), true) = (
            &mut self.commands,
            self.commands_open && d.blocked.len() < BLOCKED && !ws_full,
        ) {
            if let Poll::Ready(c) = commands.poll_next_unpin(cx) {
                return Some(match c {
                    Some(c) => Wake::Input(c),
                    None => Wake::CommandsClosed,
                });
            }
        }
        if read_data {
            if let Some(ws_in) = &mut d.ws_in {
                if let Poll::Ready(f) = d.ws_read.poll_next(cx, ws_in) {
                    return Some(Wake::Frame(f));
                }
            }
        }
        if !d.ws_attaching {
            if let Some(input) = self.deferred.pop_front() {
                if let Some(f) = d.frame_before(cx, &input, read_data) {
                    self.deferred.push_front(input);
                    return Some(Wake::Frame(f));
                }
                return Some(Wake::Input(input));
            }
        }
        while let Poll::Ready(input) = self.inbox.poll_control(cx) {
            if d.ws_attaching
                && !matches!(input, Input::WsAttached(..))
                && self.deferred.len() < DEFERRED
            {
                self.deferred.push_back(input);
                continue;
            }
            if let Some(f) = d.frame_before(cx, &input, read_data) {
                // Handled after the frames it followed (at most one input waits beyond the
                // deferred ones' bound: this one).
                self.deferred.push_back(input);
                return Some(Wake::Frame(f));
            }
            return Some(Wake::Input(input));
        }
        if d.ws_out.busy() && d.ws_out.pump(cx) {
            return Some(Wake::Written);
        }
        if let (Some(h), false) = (&mut d.hosted, ws_full) {
            if h.poll_wake(cx).is_ready() {
                return Some(Wake::Hosted);
            }
        }
        if read_data {
            if let Poll::Ready(input) = self.inbox.poll_data(cx) {
                if let Some(f) = d.frame_before(cx, &input, read_data) {
                    self.deferred.push_back(input);
                    return Some(Wake::Frame(f));
                }
                return Some(Wake::Input(input));
            }
        }
        if let (Some(app), false) = (&mut d.app, d.to_app.is_empty()) {
            if let Poll::Ready(r) = app.poll_ready(cx) {
                return Some(Wake::AppReady(r.is_ok()));
            }
        }
        if let Some((_, sleep)) = &mut self.timer {
            if sleep.as_mut().poll(cx).is_ready() {
                return Some(Wake::Timer);
            }
        }
        None
    }

    /// Handles one input at `now`; `false` when the session's task is to end.
    fn handle(&mut self, cx: &mut Context<'_>, now: Instant, wake: Wake) -> bool {
        let d = &mut self.driver;
        if d.hosted_timeout().is_some_and(|t| t <= now) {
            if let Some(h) = &mut d.hosted {
                h.timeout(cx, now);
            }
            self.timer = None;
            d.pump_hosted(now);
        }
        match wake {
            Wake::Timer => {
                self.timer = None;
                if d.session.poll_timeout().is_some_and(|t| t <= now) {
                    d.session.handle_timeout(now);
                }
            }
            Wake::Hosted => {
                if d.session.poll_timeout().is_some_and(|t| t <= now) {
                    d.session.handle_timeout(now);
                    self.timer = None;
                    d.drain(cx);
                }
                let writable = d.is_writable();
                if let Some(h) = &mut d.hosted {
                    h.work(cx, now, writable);
                }
                d.pump_hosted(now);
            }
            Wake::AppReady(true) => d.feed_app(),
            Wake::AppReady(false) => d.app = None,
            Wake::Input(input) => {
                let at = input.arrived().map_or(now, |t| t.min(now));
                // Deadlines that passed before this input arrived come first (a request
                // after the pong deadline finds the session closed); later ones wait.
                if d.session.poll_timeout().is_some_and(|t| t <= at) {
                    d.session.handle_timeout(at);
                    self.timer = None;
                    d.drain(cx);
                }
                d.handle(at, input);
            }
            Wake::Written => {}
            Wake::Frame(frame) => {
                let generation = d.ws_generation;
                let input = match frame {
                    Some(frame) => Input::WsFrame(frame, now, generation),
                    None => {
                        d.ws_in = None;
                        Input::WsClosed(now, generation)
                    }
                };
                if d.session.poll_timeout().is_some_and(|t| t <= now) {
                    d.session.handle_timeout(now);
                    self.timer = None;
                    d.drain(cx);
                }
                d.handle(now, input);
            }
            Wake::CommandsClosed => self.commands_open = false,
        }
        true
    }

    /// The session is over: its WebSocket finishes on its own, what the application was not
    /// given yet still goes, and requests still queued are answered (code 1, unknown sid).
    fn finish(&mut self, cx: &mut Context<'_>) {
        let d = &mut self.driver;
        tracing::debug!("session closed");
        let (ws_in, ws_out) = (d.ws_in.take(), std::mem::take(&mut d.ws_out));
        linger(&d.server.inner.runtime, ws_in, ws_out);
        d.server.sessions().remove(d.session.sid().as_str());
        d.feed_app();
        self.inbox.close();
        d.ws_attaching = false;
        while let Some(input) = self.deferred.pop_front().or_else(|| self.inbox.try_recv()) {
            let now = d.server.inner.runtime.now();
            d.handle(now, input);
            d.drain(cx);
        }
    }
}

impl Driver {
    /// The answer channel of request `id`, taken (an idle session keeps no room for any).
    fn take_pending(&mut self, id: RequestId) -> Option<oneshot::Sender<Reply>> {
        let i = self.pending.iter().position(|(r, _)| *r == id)?;
        let (_, reply) = self.pending.swap_remove(i);
        if self.pending.is_empty() {
            self.pending = Vec::new();
        }
        Some(reply)
    }

    /// Hands queued messages to the application's channel while it has room.
    fn feed_app(&mut self) {
        let Some(app) = &mut self.app else {
            self.to_app.clear();
            return;
        };
        while let Some(m) = self.to_app.pop_front() {
            match app.try_send(m) {
                Ok(()) => {}
                Err(e) if e.is_full() => {
                    self.to_app.push_front(e.into_inner());
                    return;
                }
                Err(_) => {
                    self.app = None;
                    self.to_app.clear();
                    return;
                }
            }
        }
        keep_room_for_one(&mut self.to_app);
    }

    fn handle(&mut self, now: Instant, input: Input) {
        match input {
            Input::Request { req, reply, .. } => {
                self.pending.push((req.id(), reply));
                self.session.handle_request(now, req);
            }
            Input::Aborted(id) => {
                self.take_pending(id);
                self.session.handle_request_aborted(now, id);
            }
            Input::WsAttached(_, _, g) | Input::WsFrame(_, _, g) | Input::WsClosed(_, g)
                if g != self.ws_generation =>
            {
                // A replaced WebSocket: its writer ends with its sender dropped here.
            }
            Input::WsAttached(outgoing, incoming, _) => {
                // Frames queued before it was attached go first.
                self.ws_attaching = false;
                self.ws_in = Some(incoming);
                self.ws_read.reset();
                self.ws_out.sink = Some(outgoing);
            }
            Input::WsFrame(WsIn::Frame(frame), _, _) => self.session.handle_ws_frame(now, frame),
            Input::WsFrame(WsIn::TooLarge, _, _) => self.session.handle_ws_too_large(now),
            Input::WsClosed(_, _) => {
                self.ws_out = WsWriter::default();
                self.session.handle_ws_closed(now);
            }
            Input::Send(message) => {
                self.blocked.push_back(message);
                self.unblock();
            }
            Input::Close => self.session.close(now),
            Input::Shutdown => self.session.shutdown(now),
        }
    }

    /// Queues waiting sends while the session takes them; a full buffer keeps the rest
    /// waiting (and, past [`BLOCKED`] of them, the application's commands unread, so its
    /// `send` waits); a closing session drops them.
    fn unblock(&mut self) {
        while let Some(message) = self.blocked.front() {
            if !self.session.is_open() {
                self.blocked.clear();
                return;
            }
            if !self.session.can_send(message.len()) {
                // The buffer is full: it waits for room.
                return;
            }
            let message = self.blocked.pop_front().expect("not empty");
            let _ = self.session.send(message);
        }
        keep_room_for_one(&mut self.blocked);
    }

    /// Transmits, then events, then engine updates (the drain rule); again while handling
    /// events (an inline handler's replies) queued more.
    fn drain(&mut self, cx: &mut Context<'_>) {
        while self.drain_once(cx) {}
        let writable = self.is_writable();
        self.writable.store(writable, Ordering::Relaxed);
    }

    /// Whether a message sent now would leave at once.
    fn is_writable(&self) -> bool {
        self.session.is_writable()
            && self.blocked.is_empty()
            && (self.session.transport() == engineio_proto::http::TransportKind::Polling
                || (self.ws_out.sink.is_some() && !self.ws_out.busy()))
    }

    fn hosted_timeout(&self) -> Option<Instant> {
        self.hosted.as_ref().and_then(|h| h.poll_timeout())
    }

    /// Queues what the hosted application produced, in order, and closes the session when it
    /// asks to.
    fn pump_hosted(&mut self, now: Instant) {
        let Some(h) = &mut self.hosted else {
            return;
        };
        while let Some(m) = h.poll_transmit() {
            self.blocked.push_back(m);
        }
        let close = h.take_close();
        self.unblock();
        if close {
            self.session.close(now);
        }
    }

    /// One pass of [`Driver::drain`]; whether an event was handled.
    fn drain_once(&mut self, cx: &mut Context<'_>) -> bool {
        loop {
            // What was flushed may have made room for waiting sends.
            self.unblock();
            let Some(t) = self.session.poll_transmit() else {
                break;
            };
            match t {
                Transmit::Response { request, response } => {
                    if let Some(reply) = self.take_pending(request) {
                        let _ = reply.send(Reply::Http(response));
                    }
                }
                Transmit::AcceptWebSocket { request, headers } => {
                    // A new WebSocket: nothing queued for an earlier one carries over.
                    let (old_in, old_out) = (self.ws_in.take(), std::mem::take(&mut self.ws_out));
                    linger(&self.server.inner.runtime, old_in, old_out);
                    self.ws_generation += 1;
                    let channels = self
                        .server
                        .sessions()
                        .get(self.session.sid().as_str())
                        .cloned();
                    if let (Some(reply), Some(channels)) = (self.take_pending(request), channels) {
                        // Long-polls wait for it (see `SessionTask::deferred`). The attach
                        // always comes: a `WsAttach` dropped unused (the reply not taken, the
                        // upgrade failed) attaches a closed socket.
                        self.ws_attaching = true;
                        let attach = WsAttach {
                            target: Some(AttachTarget::Session {
                                channels,
                                generation: self.ws_generation,
                            }),
                        };
                        let _ = reply.send(Reply::Upgrade(headers, attach));
                    }
                }
                Transmit::RefuseWebSocket { request, headers } => {
                    if let Some(reply) = self.take_pending(request) {
                        let _ = reply.send(Reply::Refuse(headers));
                    }
                }
                Transmit::WsFrame(frame) => self.ws_out.queue.push_back(WsOut::Frame(frame)),
                Transmit::CloseWebSocket { code } => {
                    self.ws_out.queue.push_back(WsOut::Close(code))
                }
                _ => {}
            }
        }
        let mut handled = false;
        while let Some(e) = self.session.poll_event() {
            handled = true;
            match e {
                SessionEvent::Message(m) => match (&mut self.inline, &mut self.hosted) {
                    (Some(handler), _) => {
                        let blocked = &mut self.blocked;
                        handler(m, &mut |reply| blocked.push_back(reply));
                        self.unblock();
                    }
                    (_, Some(h)) => {
                        let now = self.server.inner.runtime.now();
                        h.message(cx, now, m);
                        self.pump_hosted(now);
                    }
                    _ if self.app.is_some() => self.to_app.push_back(m),
                    _ => {}
                },
                SessionEvent::Closed(reason) => {
                    tracing::debug!(sid = %self.session.sid(), %reason, "closed");
                    if let Some(h) = &mut self.hosted {
                        let now = self.server.inner.runtime.now();
                        h.ended(cx, now, reason);
                    }
                }
                _ => {}
            }
        }
        while let Some(u) = self.session.poll_engine_update() {
            self.server.lock_engine().handle_update(u);
        }
        self.feed_app();
        if self.session.is_closed() && self.to_app.is_empty() {
            // Closing the channel ends the application's `recv` loop.
            self.app = None;
        }
        handled
    }
}

/// Finishes with a WebSocket a session let go of (or refused), for a while, on a task of its
/// own: what was queued for it (a close frame) is written, and it is read until the peer
/// answers our close, so that the connection ends cleanly.
fn linger(runtime: &Arc<dyn Runtime>, ws_in: Option<WsIncoming>, mut ws_out: WsWriter) {
    if ws_in.is_none() && !ws_out.busy() {
        return;
    }
    let deadline = runtime.sleep_until(runtime.now() + WS_LINGER);
    runtime.spawn(Box::pin(async move {
        let write = futures_util::future::poll_fn(|cx| {
            while ws_out.busy() {
                if !ws_out.pump(cx) {
                    return Poll::Pending;
                }
            }
            Poll::Ready(())
        });
        let read = async move {
            if let Some(ws_in) = ws_in {
                ws_in.for_each(|_| futures_util::future::ready(())).await;
            }
        };
        let both = futures_util::future::join(write, read);
        futures_util::pin_mut!(both);
        futures_util::future::select(both, deadline).await;
    }));
}

/// Gives back the room an empty queue kept from a burst, but for one item: an idle session
/// holds no room for the largest burst it had.
fn keep_room_for_one<T>(queue: &mut std::collections::VecDeque<T>) {
    if queue.is_empty() && queue.capacity() > 1 {
        queue.shrink_to(1);
    }
}
