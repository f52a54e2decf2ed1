//! The client's task: drives the Engine.IO and Socket.IO client machines, performs their
//! requests and WebSockets, and runs the application's handlers in arrival order.

use std::collections::VecDeque;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Instant;

use engineio_proto::client::{
    Client as EioClient, ClientConfig as EioConfig, ClientEvent as EioEvent, ClientTransmit,
};
use engineio_proto::http::{HttpResponse, Method, RequestId, TransportKind};
use engineio_proto::CloseReason;
use futures_channel::mpsc;
use futures_util::stream::FuturesUnordered;
use futures_util::task::AtomicWaker;
use futures_util::{SinkExt, StreamExt};
use socketio_proto::client::{ClientConn, ClientDisconnectReason, ClientEvent};
use socketio_proto::{Nsp, Packet, SocketIoVersion};

use super::net::{self, Lane, Target, Ws};
use super::tls::Tls;
use super::{
    lock, Client, ClientAckSender, ClientBuilder, ClientHandlers, ClientSocket, ConnectionError,
    Generation, Shared, SocketShared, State, Transports,
};
use crate::engine::{WsOut, WS_LINGER};
use crate::runtime::{BoxFuture, Runtime};
use crate::socketio::AckError;
use crate::ws::{Opened, Read};

/// What the IO tasks report, tagged with the Engine.IO connection (and WebSocket) they
/// belong to: reports of an older one are dropped.
enum Io {
    Response {
        engine: u64,
        id: RequestId,
        lane: usize,
        result: io::Result<(HttpResponse, Option<Lane>)>,
    },
    WsOpened {
        engine: u64,
        ws: u64,
        result: io::Result<crate::ws::Opened<crate::runtime::BoxIo>>,
    },
}

/// What the application hears about, in order.
enum UserEvent {
    Transport(TransportKind),
    Connect(Nsp),
    ConnectError(Nsp, serde_json::Value),
    Event(Nsp, Packet),
    Disconnect(Nsp, ClientDisconnectReason),
    ReconnectAttempt(u32),
    Reconnect(u32),
    ReconnectFailed,
    Error(ConnectionError),
}

const GET: usize = 0;
const POST: usize = 1;

pub(super) fn start(b: ClientBuilder, tls: Tls, runtime: Arc<dyn Runtime>) -> Client {
    let sio_version = match b.generation {
        Generation::V4 => SocketIoVersion::V5,
        Generation::V3 => SocketIoVersion::V4,
    };
    let mut seed = [0u8; 8];
    runtime.fill_random(&mut seed);
    let mut sio = socketio_proto::client::ClientConfig::default();
    sio.version = sio_version;
    sio.reconnect = b.reconnect;
    sio.seed = u64::from_le_bytes(seed);
    sio.max_offline_packets = b.max_offline_packets;
    sio.parser = b.parser;
    let mut eio = EioConfig::default();
    eio.version = sio_version.into();
    eio.path = b.path.clone();
    eio.query = b.query.clone();
    eio.query.extend(socketio_proto::client::handshake_query(
        sio_version,
        b.auth.as_ref(),
    ));
    eio.headers = b.headers.clone();
    eio.connect_timeout = b.connect_timeout;
    (eio.transport, eio.upgrade) = match b.transports {
        Transports::Polling => (TransportKind::Polling, false),
        Transports::WebSocket => (TransportKind::WebSocket, false),
        Transports::PollingThenWebSocket => (TransportKind::Polling, true),
    };
    let now = runtime.now();
    let shared = Arc::new(Shared {
        runtime: runtime.clone(),
        ack_timeout: b.ack_timeout,
        auth: b.auth.clone(),
        url_nsp: super::normalize_nsp(&b.target.nsp),
        state: Mutex::new(State {
            sio: ClientConn::new(now, sio),
            acks: Default::default(),
            sockets: Default::default(),
            want_engine: false,
            closed: false,
        }),
        handlers: Mutex::new(ClientHandlers::default()),
        waker: AtomicWaker::new(),
        notified: AtomicBool::new(false),
    });
    let (io_tx, io_rx) = mpsc::channel(64);
    let driver = Driver {
        shared: shared.clone(),
        runtime: runtime.clone(),
        target: Arc::new(b.target),
        tls: Arc::new(tls),
        eio_config: eio,
        generation: b.generation,
        eio: None,
        engine: 0,
        ws: 0,
        opened: false,
        lanes: [None, None],
        socket: None,
        io_tx,
        io_rx,
        timer: None,
        running: FuturesUnordered::new(),
        attempt: 0,
        waiting_reconnect: false,
        actions: Vec::new(),
        user: VecDeque::new(),
    };
    runtime.spawn(Box::pin(driver));
    Client { shared }
}

struct Driver {
    shared: Arc<Shared>,
    runtime: Arc<dyn Runtime>,
    target: Arc<Target>,
    tls: Arc<Tls>,
    eio_config: EioConfig,
    generation: Generation,
    /// The current Engine.IO connection.
    eio: Option<EioClient>,
    /// Counts Engine.IO connections: IO reports carry it.
    engine: u64,
    /// Counts WebSockets: IO reports carry it.
    ws: u64,
    /// Whether the current Engine.IO connection completed its handshake.
    opened: bool,
    /// Kept-alive HTTP connections: one for long-polls, one for POSTs (at most one request
    /// in flight on each, as the reference client).
    lanes: [Option<Lane>; 2],
    /// The current WebSocket, read and written by this task.
    socket: Option<Ws>,
    io_tx: mpsc::Sender<Io>,
    io_rx: mpsc::Receiver<Io>,
    timer: Option<(Instant, BoxFuture)>,
    /// Handlers still running.
    running: FuturesUnordered<BoxFuture>,
    /// The reconnection attempt in progress (0 when none).
    attempt: u32,
    waiting_reconnect: bool,
    actions: Vec<ClientTransmit>,
    user: VecDeque<UserEvent>,
}

impl Future for Driver {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        this.shared.waker.register(cx.waker());
        loop {
            let mut busy = this.shared.notified.swap(false, Ordering::AcqRel);
            let mut due = false;
            while let Poll::Ready(Some(io)) = this.io_rx.poll_next_unpin(cx) {
                this.handle_io(io);
                busy = true;
            }
            busy |= this.poll_socket(cx);
            if let Some((_, sleep)) = &mut this.timer {
                if sleep.as_mut().poll(cx).is_ready() {
                    this.timer = None;
                    due = true;
                    busy = true;
                }
            }
            if busy {
                this.pump(due);
                this.perform();
                this.flush_socket(cx);
                this.dispatch(cx);
            }
            while let Poll::Ready(Some(())) = this.running.poll_next_unpin(cx) {}
            if this.finished() {
                return Poll::Ready(());
            }
            let deadline = this.deadline();
            // A timer set for an earlier deadline stays (when it fires, the machines find
            // nothing due and it is set again): each ack asked moves the next deadline later,
            // and setting a timer per emit is a good part of an emit's cost.
            let rearm = match (&this.timer, deadline) {
                (Some((t, _)), Some(d)) => d < *t,
                (None, Some(_)) => true,
                (_, None) => false,
            };
            if let (true, Some(d)) = (rearm, deadline) {
                this.timer = Some((d, this.runtime.sleep_until(d)));
                continue;
            }
            if !busy && !this.shared.notified.load(Ordering::Acquire) {
                return Poll::Pending;
            }
        }
    }
}

impl Driver {
    /// Drops the current WebSocket, closing it properly in the background.
    /// Closes the WebSocket on a task of its own: our close frame (without a status code, as
    /// the reference client's), then the server's answer awaited for a while.
    fn close_socket(&mut self) {
        if let Some(mut socket) = self.socket.take() {
            socket.send(WsOut::Close(None));
            let deadline = self.runtime.sleep_until(self.runtime.now() + WS_LINGER);
            self.runtime.spawn(Box::pin(async move {
                let closed = futures_util::future::poll_fn(move |cx| {
                    while let Poll::Ready(read) = socket.poll_read(cx) {
                        if matches!(read, Read::Closed | Read::Refused(_)) {
                            return Poll::Ready(());
                        }
                    }
                    Poll::Pending
                });
                futures_util::future::select(Box::pin(closed), deadline).await;
            }));
        }
    }

    /// Reads and writes the WebSocket; whether anything happened.
    fn poll_socket(&mut self, cx: &mut Context<'_>) -> bool {
        let Some(conn) = &mut self.socket else {
            return false;
        };
        let mut read_count = 0;
        let now = self.runtime.now();
        while read_count < WS_READS_PER_POLL {
            let Poll::Ready(read) = conn.poll_read(cx) else {
                break;
            };
            read_count += 1;
            let Some(eio) = &mut self.eio else { break };
            match read {
                Read::Frame(frame) => eio.handle_ws_frame(now, frame),
                // Over the limit: the codec closes with 1009; the machine sees the end.
                Read::TooLarge => {
                    eio.handle_ws_closed(now);
                    self.close_socket();
                    return true;
                }
                Read::Refused(response) => {
                    eio.handle_ws_refused(now, response);
                    self.socket = None;
                    return true;
                }
                Read::Closed => {
                    eio.handle_ws_closed(now);
                    self.socket = None;
                    return true;
                }
            }
        }
        if read_count == WS_READS_PER_POLL {
            // Possibly more to read: come back after the rest of the work.
            cx.waker().wake_by_ref();
        }
        read_count > 0
    }

    /// Writes the frames queued for the WebSocket.
    fn flush_socket(&mut self, cx: &mut Context<'_>) {
        let Some(conn) = &mut self.socket else { return };
        if let Poll::Ready(Err(_)) = conn.poll_write_all(cx) {
            // Reported by the read side.
            cx.waker().wake_by_ref();
        }
    }

    fn finished(&self) -> bool {
        self.eio.is_none()
            && self.running.is_empty()
            && self.user.is_empty()
            && self.shared.lock().closed
    }

    fn deadline(&self) -> Option<Instant> {
        let sio = self.shared.lock().sio.poll_timeout();
        let eio = self.eio.as_ref().and_then(EioClient::poll_timeout);
        [sio, eio].into_iter().flatten().min()
    }

    fn handle_io(&mut self, io: Io) {
        let now = self.runtime.now();
        let current = |engine: u64, driver: &Driver| engine == driver.engine;
        match io {
            Io::Response {
                engine,
                id,
                lane,
                result,
            } => {
                if !current(engine, self) {
                    return;
                }
                let Some(eio) = &mut self.eio else { return };
                match result {
                    Ok((response, kept)) => {
                        self.lanes[lane] = kept;
                        eio.handle_response(now, id, response);
                    }
                    Err(e) => {
                        tracing::debug!(error = %e, "request failed");
                        eio.handle_request_failed(now, id);
                    }
                }
            }
            Io::WsOpened { engine, ws, result } => {
                if !current(engine, self) || ws != self.ws {
                    return;
                }
                let Some(eio) = &mut self.eio else { return };
                match result {
                    Ok(Opened::Open(socket)) => {
                        self.socket = Some(socket);
                        eio.handle_ws_open(now);
                    }
                    Ok(Opened::Refused(response)) => eio.handle_ws_refused(now, response),
                    Err(e) => {
                        tracing::debug!(error = %e, "WebSocket failed to open");
                        eio.handle_ws_closed(now);
                    }
                }
            }
        }
    }

    /// Feeds the machines into each other until neither has anything more to say.
    fn pump(&mut self, due: bool) {
        let now = self.runtime.now();
        let shared = self.shared.clone();
        let mut st = shared.lock();
        if due {
            if let Some(eio) = &mut self.eio {
                eio.handle_timeout(now);
            }
            st.sio.handle_timeout(now);
        }
        loop {
            let mut progress = false;
            if self.eio.is_none() && st.want_engine && !self.waiting_reconnect && !st.closed {
                self.open_engine(now);
                progress = true;
            }
            while let Some(m) = st.sio.poll_transmit() {
                progress = true;
                if let Some(eio) = &mut self.eio {
                    if let Err(e) = eio.send(m) {
                        tracing::warn!(error = %e, "packet dropped: the connection's buffer is full");
                    }
                }
            }
            let mut events = Vec::new();
            if let Some(eio) = &mut self.eio {
                while let Some(t) = eio.poll_transmit() {
                    self.actions.push(t);
                    progress = true;
                }
                while let Some(e) = eio.poll_event() {
                    events.push(e);
                }
            }
            for e in events {
                progress = true;
                self.on_engine_event(&mut st, now, e);
            }
            while let Some(e) = st.sio.poll_event() {
                progress = true;
                self.on_sio_event(&mut st, now, e);
            }
            if !progress {
                break;
            }
        }
    }

    fn open_engine(&mut self, now: Instant) {
        self.engine += 1;
        self.ws += 1;
        self.opened = false;
        self.lanes = [None, None];
        self.close_socket();
        self.eio = Some(EioClient::new(now, self.eio_config.clone()));
    }

    fn on_engine_event(&mut self, st: &mut State, now: Instant, event: EioEvent) {
        match event {
            EioEvent::Open(open) => {
                self.opened = true;
                st.sio.handle_engine_open(now, &open.sid);
                let transport = self
                    .eio
                    .as_ref()
                    .map_or(TransportKind::Polling, EioClient::transport);
                self.user.push_back(UserEvent::Transport(transport));
                if self.attempt > 0 {
                    self.user.push_back(UserEvent::Reconnect(self.attempt));
                    self.attempt = 0;
                }
            }
            EioEvent::Message(m) => st.sio.handle_message(now, m),
            EioEvent::Upgraded => self
                .user
                .push_back(UserEvent::Transport(TransportKind::WebSocket)),
            EioEvent::Closed(reason) => {
                let was_websocket = self
                    .eio
                    .as_ref()
                    .is_some_and(|e| e.transport() == TransportKind::WebSocket);
                self.eio = None;
                self.engine += 1;
                self.ws += 1;
                self.lanes = [None, None];
                self.close_socket();
                if reason == CloseReason::VersionMismatch {
                    self.mismatch(st);
                    return;
                }
                if !self.opened {
                    // socket.io-client reports a failed attempt to every socket waiting.
                    let message = match (reason, was_websocket) {
                        (CloseReason::HandshakeFailed, false) => "xhr poll error",
                        (CloseReason::HandshakeFailed, true) => "websocket error",
                        (r, _) => r.as_str(),
                    };
                    for nsp in st.sockets.keys() {
                        if st.sio.is_wanted(nsp) {
                            self.user.push_back(UserEvent::ConnectError(
                                nsp.clone(),
                                serde_json::json!({ "message": message }),
                            ));
                        }
                    }
                }
                // Another connection only when the machine plans a reconnection (or the
                // application asks again).
                st.want_engine = false;
                st.sio.handle_engine_closed(now, reason);
            }
            _ => {}
        }
    }

    /// The server speaks the other generation: every waiting socket hears it, the
    /// connection stops for good.
    fn mismatch(&mut self, st: &mut State) {
        let error = ConnectionError::VersionMismatch {
            asked: self.generation,
        };
        for nsp in st.sockets.keys() {
            if st.sio.is_wanted(nsp) {
                self.user.push_back(UserEvent::ConnectError(
                    nsp.clone(),
                    serde_json::json!({ "message": error.to_string() }),
                ));
            }
        }
        self.user.push_back(UserEvent::Error(error));
        st.want_engine = false;
        st.closed = true;
        st.sio.close();
        while st.sio.poll_event().is_some() {}
        while st.sio.poll_transmit().is_some() {}
        for (_, tx) in st.acks.drain() {
            let _ = tx.send(Err(AckError::Disconnected));
        }
    }

    fn on_sio_event(&mut self, st: &mut State, now: Instant, event: ClientEvent) {
        match event {
            ClientEvent::Connected {
                nsp,
                sid,
                recovered,
            } => {
                if let Some(s) = st.sockets.get(&nsp) {
                    *lock(&s.id) = Some(sid);
                    s.recovered.store(recovered, Ordering::Release);
                    s.connected.store(true, Ordering::Release);
                }
                self.user.push_back(UserEvent::Connect(nsp));
            }
            ClientEvent::ConnectError { nsp, data } => {
                self.user.push_back(UserEvent::ConnectError(nsp, data));
            }
            ClientEvent::Event { nsp, packet } => {
                self.user.push_back(UserEvent::Event(nsp, packet));
            }
            ClientEvent::Ack { nsp, id, packet } => {
                if let Some(tx) = st.acks.remove(&(nsp, id)) {
                    let _ = tx.send(Ok(packet));
                }
            }
            ClientEvent::AckTimedOut { nsp, id } => {
                if let Some(tx) = st.acks.remove(&(nsp, id)) {
                    let _ = tx.send(Err(AckError::Timeout));
                }
            }
            ClientEvent::AckDisconnected { nsp, id } => {
                if let Some(tx) = st.acks.remove(&(nsp, id)) {
                    let _ = tx.send(Err(AckError::Disconnected));
                }
            }
            ClientEvent::Disconnected { nsp, reason } => {
                if let Some(s) = st.sockets.get(&nsp) {
                    s.connected.store(false, Ordering::Release);
                }
                self.user.push_back(UserEvent::Disconnect(nsp, reason));
                let left = matches!(
                    reason,
                    ClientDisconnectReason::ServerDisconnect
                        | ClientDisconnectReason::ClientDisconnect
                );
                // The reference closes the connection when its last socket is gone.
                if left && !st.sio.wants_connection() {
                    st.want_engine = false;
                    if let Some(eio) = &mut self.eio {
                        eio.close(now);
                    }
                }
            }
            ClientEvent::CloseEngine => {
                if let Some(eio) = &mut self.eio {
                    eio.close(now);
                }
            }
            ClientEvent::ReconnectScheduled { attempt, .. } => {
                self.attempt = attempt;
                self.waiting_reconnect = true;
                st.want_engine = true;
            }
            ClientEvent::Reconnect => {
                self.waiting_reconnect = false;
                self.user
                    .push_back(UserEvent::ReconnectAttempt(self.attempt));
            }
            ClientEvent::VersionMismatch => {
                if let Some(eio) = &mut self.eio {
                    eio.close(now);
                }
                self.mismatch(st);
            }
            ClientEvent::ReconnectFailed => {
                self.attempt = 0;
                st.want_engine = false;
                self.user.push_back(UserEvent::ReconnectFailed);
            }
            _ => {}
        }
    }

    /// Starts what the Engine.IO machine asked for.
    fn perform(&mut self) {
        for t in std::mem::take(&mut self.actions) {
            match t {
                ClientTransmit::Request { id, request } => {
                    let lane = if request.method == Method::Post {
                        POST
                    } else {
                        GET
                    };
                    let kept = self.lanes[lane].take();
                    let (runtime, target, tls) =
                        (self.runtime.clone(), self.target.clone(), self.tls.clone());
                    let mut tx = self.io_tx.clone();
                    let engine = self.engine;
                    let max = self.eio_config.max_payload;
                    self.runtime.spawn(Box::pin(async move {
                        let result = net::http(runtime, target, tls, kept, request, max).await;
                        let _ = tx
                            .send(Io::Response {
                                engine,
                                id,
                                lane,
                                result,
                            })
                            .await;
                    }));
                }
                ClientTransmit::OpenWebSocket { request } => {
                    self.ws += 1;
                    let ws = self.ws;
                    let engine = self.engine;
                    let (runtime, target, tls) =
                        (self.runtime.clone(), self.target.clone(), self.tls.clone());
                    let mut tx = self.io_tx.clone();
                    let max = self.eio_config.max_payload;
                    self.runtime.spawn(Box::pin(async move {
                        let result = net::websocket(runtime, target, tls, request, max).await;
                        let _ = tx.send(Io::WsOpened { engine, ws, result }).await;
                    }));
                }
                ClientTransmit::WsFrame(frame) => {
                    if let Some(conn) = &mut self.socket {
                        conn.send(WsOut::Frame(frame));
                    }
                }
                ClientTransmit::CloseWebSocket => {
                    // A probe still opening is stale from now on.
                    self.ws += 1;
                    self.close_socket();
                }
                _ => {}
            }
        }
    }

    /// Runs the handlers of what happened, in order: each is polled once at once, so what
    /// it does before its first wait happens in arrival order.
    fn dispatch(&mut self, cx: &mut Context<'_>) {
        while let Some(event) = self.user.pop_front() {
            let future = self.handler_for(event);
            if let Some(mut f) = future {
                if f.as_mut().poll(cx).is_pending() {
                    self.running.push(f);
                }
            }
        }
    }

    fn socket(&self, nsp: &Nsp) -> Option<ClientSocket> {
        let shared: Arc<SocketShared> = self.shared.lock().sockets.get(nsp)?.clone();
        Some(ClientSocket {
            client: Client {
                shared: self.shared.clone(),
            },
            shared,
        })
    }

    fn handler_for(&self, event: UserEvent) -> Option<BoxFuture> {
        let handlers = || lock(&self.shared.handlers);
        match event {
            UserEvent::Transport(t) => {
                let h = handlers().transport.clone()?;
                Some(h(t))
            }
            UserEvent::ReconnectAttempt(n) => {
                let h = handlers().reconnect_attempt.clone()?;
                Some(h(n))
            }
            UserEvent::Reconnect(n) => {
                let h = handlers().reconnect.clone()?;
                Some(h(n))
            }
            UserEvent::ReconnectFailed => {
                let h = handlers().reconnect_failed.clone()?;
                Some(h())
            }
            UserEvent::Error(e) => {
                let h = handlers().error.clone()?;
                Some(h(e))
            }
            UserEvent::Connect(nsp) => {
                let socket = self.socket(&nsp)?;
                let h = lock(&socket.shared.handlers).connect.clone()?;
                Some(h(socket))
            }
            UserEvent::ConnectError(nsp, data) => {
                let socket = self.socket(&nsp)?;
                let h = lock(&socket.shared.handlers).connect_error.clone()?;
                Some(h(socket, data))
            }
            UserEvent::Disconnect(nsp, reason) => {
                let socket = self.socket(&nsp)?;
                let h = lock(&socket.shared.handlers).disconnect.clone()?;
                Some(h(socket, reason))
            }
            UserEvent::Event(nsp, packet) => {
                let socket = self.socket(&nsp)?;
                let h = {
                    let hs = lock(&socket.shared.handlers);
                    packet
                        .event_name()
                        .and_then(|name| hs.events.get(name).cloned())
                        .or_else(|| hs.any.clone())
                }?;
                let ack = packet.ack_id().map(|id| ClientAckSender {
                    client: socket.client.clone(),
                    nsp: nsp.clone(),
                    id,
                });
                h(socket, packet, ack)
            }
        }
    }
}

/// Frames read per wake-up before other work gets its turn.
const WS_READS_PER_POLL: usize = 64;
