//! One server-side session: transports, heartbeat, upgrade, outgoing queue.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

use bytes::BytesMut;

use super::config::{ErrorCode, ServerConfig};
use super::{EngineUpdate, Incoming, RequestId, SessionRequest, Sid, TransportKind, UpdateKind};
use crate::http::{HeaderValue, HttpResponse, Method};
use crate::keep_room_for_one;
use crate::message::{CloseReason, Message, UsageError};
use crate::payload::{self, PayloadFormat};
use crate::timer::{Clock, Timers};
use crate::WsFrame;
use crate::{decode_ws_frame, encode_ws_frame, DecodeError, EngineIoVersion, OpenPacket, Packet};

/// Output of a session, pulled with [`Session::poll_transmit`].
#[derive(Debug)]
#[non_exhaustive]
pub enum Transmit {
    /// Answer HTTP request `request` with `response`.
    Response {
        /// The request answered.
        request: RequestId,
        /// The response.
        response: HttpResponse,
    },
    /// Complete the WebSocket upgrade of request `request` (101), with these extra headers.
    /// Frames for that WebSocket follow as [`Transmit::WsFrame`].
    AcceptWebSocket {
        /// The upgrade request accepted.
        request: RequestId,
        /// Extra response headers (CORS).
        headers: Vec<(&'static str, HeaderValue)>,
    },
    /// Complete the WebSocket upgrade of request `request` (101, with these extra headers),
    /// then close that WebSocket at once without a status code and never read it into the
    /// session: the reference's answer to a WebSocket for a session that is already upgrading
    /// or upgraded (the session itself is left alone).
    RefuseWebSocket {
        /// The upgrade request refused.
        request: RequestId,
        /// Extra response headers (CORS).
        headers: Vec<(&'static str, HeaderValue)>,
    },
    /// Send a frame on the session's WebSocket (the probe WebSocket while an upgrade is under
    /// way: a session has at most one).
    WsFrame(WsFrame),
    /// Close the session's WebSocket, with this close code (`None`: no status code, as the
    /// reference closes).
    CloseWebSocket {
        /// The close code: 1009 for an oversized message, otherwise none.
        code: Option<u16>,
    },
}

/// What a session reports to the application, pulled with [`Session::poll_event`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionEvent {
    /// A message from the client.
    Message(Message),
    /// The session moved from polling to WebSocket.
    Upgraded,
    /// The session is closed; nothing more will come out of it but error replies.
    Closed(CloseReason),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Open,
    /// `close` was called: queued packets go out first, then the transport closes.
    Closing,
    Closed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Upgrade {
    /// No probe WebSocket.
    None,
    /// A probe WebSocket is accepted; waiting for `2probe`.
    Probing,
    /// `3probe` sent; waiting for `5`. Held long-polls are released with `noop`.
    Probed,
}

/// Timer keys.
const PING_DUE: usize = 0;
/// v4: the pong deadline; v3: the client's ping deadline.
const HEARTBEAT_DEADLINE: usize = 1;
const UPGRADE_DEADLINE: usize = 2;
const NOOP_TICK: usize = 3;
const CLOSE_DEADLINE: usize = 4;

#[derive(Debug)]
struct HeldGet {
    id: RequestId,
    cors: Vec<(&'static str, HeaderValue)>,
}

/// One Engine.IO session on the server, created by [`super::Engine::accept`].
///
/// Feed it the requests the engine routes to it ([`Session::handle_request`]), its WebSocket's
/// frames and close ([`Session::handle_ws_frame`], [`Session::handle_ws_closed`]), aborted
/// requests and timeouts. After each input or command drain [`Session::poll_transmit`], then
/// [`Session::poll_event`] and [`Session::poll_engine_update`], then read
/// [`Session::poll_timeout`].
#[derive(Debug)]
pub struct Session {
    sid: Sid,
    version: EngineIoVersion,
    config: Arc<ServerConfig>,
    /// Whether binary goes out as binary (false when the client asked for `b64`).
    binary: bool,
    clock: Clock,
    state: State,
    close_reason: CloseReason,
    transport: TransportKind,
    upgrade: Upgrade,
    held_get: Option<HeldGet>,
    /// Packets waiting for the transport, and the bytes of message data among them.
    queue: VecDeque<Packet>,
    queued_bytes: usize,
    /// A pong is queued and not yet sent (v3: pongs to a ping flood coalesce).
    pong_queued: bool,
    timers: Timers<5>,
    transmits: VecDeque<Transmit>,
    events: VecDeque<SessionEvent>,
    updates: VecDeque<EngineUpdate>,
    buf: BytesMut,
}

impl Session {
    pub(super) fn new(now: Instant, sid: Sid, config: Arc<ServerConfig>, inc: Incoming) -> Self {
        let mut s = Session {
            sid,
            version: inc.version,
            binary: !inc.b64,
            clock: Clock::new(now),
            state: State::Open,
            close_reason: CloseReason::ForcedClose,
            transport: inc.transport,
            upgrade: Upgrade::None,
            held_get: None,
            queue: VecDeque::new(),
            queued_bytes: 0,
            pong_queued: false,
            timers: Timers::new(),
            transmits: VecDeque::new(),
            // Usually one event at a time: `poll_event` keeps room for one (an idle session
            // does not hold room for four).
            events: VecDeque::with_capacity(1),
            updates: VecDeque::new(),
            buf: BytesMut::new(),
            config,
        };
        let upgrades = if inc.transport == TransportKind::Polling
            && s.config.allow_upgrades
            && s.config.websocket
        {
            vec!["websocket".to_owned()]
        } else {
            Vec::new()
        };
        let open = OpenPacket {
            sid: s.sid.as_str().to_owned(),
            upgrades,
            ping_interval: s.config.ping_interval.as_millis() as u64,
            ping_timeout: s.config.ping_timeout.as_millis() as u64,
            max_payload: Some(s.config.max_payload as u64),
        }
        .to_packet();
        match inc.transport {
            TransportKind::Polling => {
                let mut response = s.polling_response(inc.cors, std::slice::from_ref(&open));
                if let Some(cookie) = &s.config.cookie {
                    response
                        .headers
                        .push(("set-cookie", cookie.header(s.sid.as_str()).into()));
                }
                s.transmits.push_back(Transmit::Response {
                    request: inc.id,
                    response,
                });
            }
            TransportKind::WebSocket => {
                s.transmits.push_back(Transmit::AcceptWebSocket {
                    request: inc.id,
                    headers: inc.cors,
                });
                let frame = encode_ws_frame(s.version, open, s.binary, &mut s.buf);
                s.transmits.push_back(Transmit::WsFrame(frame));
            }
        }
        // Heartbeat (engineio.md §4): v4 pings after one interval (never at once, pitfall
        // 16); v3 expects the client's first ping within interval + timeout.
        match s.version {
            EngineIoVersion::V4 => s.timers.set(PING_DUE, now + s.config.ping_interval),
            EngineIoVersion::V3 => s.arm_v3_deadline(now),
        }
        s
    }

    /// The session id.
    pub fn sid(&self) -> &Sid {
        &self.sid
    }

    /// The protocol revision.
    pub fn version(&self) -> EngineIoVersion {
        self.version
    }

    /// The current transport.
    pub fn transport(&self) -> TransportKind {
        self.transport
    }

    /// Whether the session takes messages ([`Session::send`]): it is neither closing nor
    /// closed.
    pub fn is_open(&self) -> bool {
        self.state == State::Open
    }

    /// Whether the session is closed.
    pub fn is_closed(&self) -> bool {
        self.state == State::Closed
    }

    /// Packets queued for the client.
    pub fn buffered_packets(&self) -> usize {
        self.queue.len()
    }

    /// Bytes of message data queued for the client.
    pub fn buffered_bytes(&self) -> usize {
        self.queued_bytes
    }

    /// Whether [`Session::send`] would accept a message of `len` bytes now.
    pub fn can_send(&self, len: usize) -> bool {
        self.state == State::Open
            && self.queue.len() < self.config.max_buffered_packets
            && self.queued_bytes + len <= self.config.max_buffered_bytes
    }

    /// Whether a message sent now would leave at once (the reference's `transport.writable`):
    /// the session is open and not between `3probe` and `5`, nothing is queued before it, and
    /// the transport can carry it now (a WebSocket, or a held long-poll). A volatile message
    /// is dropped when this is false, as the reference drops it.
    pub fn is_writable(&self) -> bool {
        self.state == State::Open
            && self.upgrade != Upgrade::Probed
            && self.queue.is_empty()
            && match self.transport {
                TransportKind::WebSocket => true,
                TransportKind::Polling => self.held_get.is_some(),
            }
    }

    /// Queues a message for the client. Errors when the session is closing or closed, or when
    /// the outgoing buffer is full (the limits are [`ServerConfig::max_buffered_packets`] and
    /// [`ServerConfig::max_buffered_bytes`]); the message is then not queued.
    pub fn send(&mut self, message: impl Into<Message>) -> Result<(), UsageError> {
        let message = message.into();
        if self.state != State::Open {
            return Err(UsageError::Closed);
        }
        if !self.can_send(message.len()) {
            return Err(UsageError::BufferFull);
        }
        self.queued_bytes += message.len();
        self.queue.push_back(message.into_packet());
        Ok(())
    }

    /// Closes the session: queued packets are sent first, then the `close` packet on a
    /// long-poll (waiting up to [`ServerConfig::close_timeout`] for one) or the WebSocket is
    /// closed. `Closed(ForcedClose)` follows.
    pub fn close(&mut self, now: Instant) {
        self.close_with(now, CloseReason::ForcedClose);
    }

    /// Like [`Session::close`], reporting `Closed(ServerShutdown)`.
    pub fn shutdown(&mut self, now: Instant) {
        self.close_with(now, CloseReason::ServerShutdown);
    }

    fn close_with(&mut self, now: Instant, reason: CloseReason) {
        let now = self.clock.advance(now);
        if self.state != State::Open {
            return;
        }
        self.close_reason = reason;
        if self.upgrade != Upgrade::None {
            self.cancel_probe();
        }
        match self.transport {
            TransportKind::WebSocket => {
                // Queued packets leave as frames in poll_transmit, then the WebSocket closes.
                self.state = State::Closing;
                self.finish_close(reason, false);
            }
            TransportKind::Polling => {
                self.state = State::Closing;
                self.queue.push_back(Packet::Close);
                self.timers.clear_all();
                self.timers
                    .set(CLOSE_DEADLINE, now + self.config.close_timeout);
            }
        }
    }

    /// Handles a request the engine routed here ([`super::Route::Session`]).
    ///
    /// Afterwards a [`Transmit::Response`] for it is ready, unless it is a long-poll with
    /// nothing to send (held until there is) or an accepted WebSocket
    /// ([`Transmit::AcceptWebSocket`]).
    pub fn handle_request(&mut self, now: Instant, req: SessionRequest) {
        let now = self.clock.advance(now);
        let SessionRequest { id, request, cors } = req;
        if self.state == State::Closed {
            return self.reply(id, ErrorCode::UnknownSid.response(None, cors));
        }
        if request.websocket {
            return self.handle_probe_request(now, id, cors);
        }
        if self.transport == TransportKind::WebSocket {
            // engineio.md §5.2: the sid now lives on its WebSocket.
            return self.reply(id, ErrorCode::BadRequest.response(None, cors));
        }
        match request.method {
            Method::Get => {
                if let Some(held) = self.held_get.take() {
                    // engineio.md §5.2: overlap. The new GET gets 400, the held one `1`.
                    let mut res = HttpResponse::new(400);
                    res.headers = cors;
                    self.reply(id, res);
                    self.held_get = Some(held);
                    self.finish_close(CloseReason::ProtocolError, false);
                    return;
                }
                self.held_get = Some(HeldGet { id, cors });
                if self.upgrade == Upgrade::Probed && self.queue.is_empty() {
                    // Released by the next noop tick (engineio.md §8 step 4).
                    if self.timers.get(NOOP_TICK).is_none() {
                        self.timers
                            .set(NOOP_TICK, now + self.config.upgrade_noop_interval);
                    }
                }
            }
            Method::Post => self.handle_post(now, id, request, cors),
            // engineio.md §5.1: any other method with a valid sid gets 500, session kept.
            _ => {
                let mut res = HttpResponse::new(500);
                res.headers = cors;
                self.reply(id, res);
            }
        }
    }

    fn handle_post(
        &mut self,
        now: Instant,
        id: RequestId,
        request: crate::http::HttpRequest,
        cors: Vec<(&'static str, HeaderValue)>,
    ) {
        let format = PayloadFormat::from_content_type(request.header("content-type"));
        let packets = if request.body_too_large {
            Err(DecodeError::PayloadTooLarge)
        } else {
            payload::decode_payload(self.version, format, request.body, self.config.max_payload)
        };
        let ok = |cors: Vec<(&'static str, HeaderValue)>| {
            let mut res = HttpResponse::new(200).with_body("ok");
            res.headers = cors;
            res.headers.push(("content-type", "text/html".into()));
            res.headers.push(("cache-control", "no-store".into()));
            res
        };
        match packets {
            Ok(packets) => {
                self.reply(id, ok(cors));
                for packet in packets {
                    if self.state == State::Closed {
                        break;
                    }
                    self.handle_main_packet(now, packet);
                }
            }
            // engineio.md §5.2: 413, payload dropped, session kept.
            Err(DecodeError::PayloadTooLarge) => {
                let mut res = HttpResponse::new(413);
                res.headers = cors;
                self.reply(id, res);
            }
            // engineio.md §5.2: a v4 binary POST gets 400 and closes the session.
            Err(DecodeError::BinaryPayloadV4) => {
                let mut res = HttpResponse::new(400);
                res.headers = cors;
                self.reply(id, res);
                self.finish_close(CloseReason::ProtocolError, false);
            }
            // engineio.md §5.1: garbage is still answered `ok`; the session closes.
            Err(_) => {
                self.reply(id, ok(cors));
                self.finish_close(CloseReason::ParseError, false);
            }
        }
    }

    fn handle_probe_request(
        &mut self,
        now: Instant,
        id: RequestId,
        cors: Vec<(&'static str, HeaderValue)>,
    ) {
        if self.transport == TransportKind::WebSocket
            || self.upgrade != Upgrade::None
            || self.state == State::Closing
        {
            // engineio.md §7: a second WebSocket for the same sid (another probe, or one after
            // the upgrade) is accepted and closed at once, as the reference does; the session
            // keeps its transport.
            self.transmits.push_back(Transmit::RefuseWebSocket {
                request: id,
                headers: cors,
            });
            return;
        }
        if !self.config.allow_upgrades {
            return self.reply(id, ErrorCode::BadRequest.response(None, cors));
        }
        self.upgrade = Upgrade::Probing;
        self.timers
            .set(UPGRADE_DEADLINE, now + self.config.upgrade_timeout);
        self.transmits.push_back(Transmit::AcceptWebSocket {
            request: id,
            headers: cors,
        });
    }

    /// Handles a frame received on the session's WebSocket (the probe WebSocket during an
    /// upgrade). Frames, a close or events may be ready afterwards.
    pub fn handle_ws_frame(&mut self, now: Instant, frame: WsFrame) {
        let now = self.clock.advance(now);
        if self.state == State::Closed {
            return;
        }
        let probing = self.upgrade != Upgrade::None;
        if self.transport != TransportKind::WebSocket && !probing {
            return; // no WebSocket of ours is open: a stale frame
        }
        let packet = match decode_ws_frame(self.version, frame, self.config.max_payload) {
            Ok(p) => p,
            Err(e) => {
                self.refuse_ws_frame(e == DecodeError::PayloadTooLarge);
                return;
            }
        };
        if probing {
            self.handle_probe_packet(now, packet);
        } else {
            self.handle_main_packet(now, packet);
        }
    }

    /// engineio.md §8: only `2probe` then `5` may arrive on the probe WebSocket.
    fn handle_probe_packet(&mut self, now: Instant, packet: Packet) {
        match (&packet, self.upgrade) {
            (Packet::Ping(data), Upgrade::Probing) if data == "probe" => {
                let pong = Packet::pong_probe();
                let frame = encode_ws_frame(self.version, pong, self.binary, &mut self.buf);
                self.transmits.push_back(Transmit::WsFrame(frame));
                self.upgrade = Upgrade::Probed;
                self.release_held_get_with_noop();
                self.timers
                    .set(NOOP_TICK, now + self.config.upgrade_noop_interval);
            }
            (Packet::Upgrade, Upgrade::Probed) => {
                self.upgrade = Upgrade::None;
                self.timers.clear(UPGRADE_DEADLINE);
                self.timers.clear(NOOP_TICK);
                // A long-poll still held belongs to the discarded transport; the client ignores
                // what it carries.
                self.release_held_get_with_noop();
                self.transport = TransportKind::WebSocket;
                self.updates.push_back(EngineUpdate {
                    sid: self.sid.clone(),
                    kind: UpdateKind::Upgraded,
                });
                self.events.push_back(SessionEvent::Upgraded);
            }
            _ => self.cancel_probe(),
        }
    }

    /// A packet on the session's transport (polling POST, or its WebSocket).
    fn handle_main_packet(&mut self, now: Instant, packet: Packet) {
        match packet {
            Packet::Message(text) => self
                .events
                .push_back(SessionEvent::Message(Message::Text(text))),
            Packet::Binary(data) => self
                .events
                .push_back(SessionEvent::Message(Message::Binary(data))),
            Packet::Ping(_) if self.version == EngineIoVersion::V3 => {
                // engineio.md §4.2: answer with a plain `3` (even to `2probe`), re-arm.
                if !self.pong_queued && self.state == State::Open {
                    // Heartbeats go ahead of queued data, so a backlog cannot starve them.
                    self.pong_queued = true;
                    self.queue.push_front(Packet::Pong(Default::default()));
                }
                self.arm_v3_deadline(now);
            }
            // A pong answering our ping restarts the interval from its arrival (§4.1); a stray
            // pong changes nothing.
            Packet::Pong(_)
                if self.version == EngineIoVersion::V4
                    && self.timers.get(HEARTBEAT_DEADLINE).is_some() =>
            {
                self.timers.clear(HEARTBEAT_DEADLINE);
                self.timers.set(PING_DUE, now + self.config.ping_interval);
            }
            Packet::Pong(_) if self.version == EngineIoVersion::V4 => {}
            // engineio.md §4: "invalid heartbeat direction".
            Packet::Ping(_) | Packet::Pong(_) => {
                self.finish_close(CloseReason::ProtocolError, false)
            }
            // engineio.md §9: the client closes. Honoured on WebSocket too (faster, still
            // conformant).
            Packet::Close => {
                let ws = self.transport == TransportKind::WebSocket;
                if ws {
                    self.transmits
                        .push_back(Transmit::CloseWebSocket { code: None });
                }
                if let Some(held) = self.held_get.take() {
                    let res = self.polling_response(held.cors, &[Packet::Noop]);
                    self.reply(held.id, res);
                }
                self.finish_close(CloseReason::TransportClose, ws);
            }
            // engineio.md §2.3: unexpected `0`, `5`, `6` are ignored.
            _ => {}
        }
    }

    /// Handles a WebSocket message the adapter did not read whole because it is longer than its
    /// WebSocket library's size limit (which should be above [`ServerConfig::max_payload`],
    /// so that the session judges the boundary): the socket is closed with 1009, as for an
    /// oversized frame (engineio.md §7, §11).
    pub fn handle_ws_too_large(&mut self, now: Instant) {
        self.clock.advance(now);
        if self.state == State::Closed {
            return;
        }
        if self.transport == TransportKind::WebSocket || self.upgrade != Upgrade::None {
            self.refuse_ws_frame(true);
        }
    }

    /// A WebSocket frame that cannot be taken: an oversized one closes the socket with 1009,
    /// another with no code. A probe's failure abandons the upgrade (polling goes on); the
    /// session's own WebSocket failing closes the session.
    fn refuse_ws_frame(&mut self, too_large: bool) {
        let code = too_large.then_some(1009);
        self.transmits.push_back(Transmit::CloseWebSocket { code });
        if self.upgrade != Upgrade::None {
            self.abandon_upgrade();
        } else {
            let reason = if too_large {
                CloseReason::MessageTooLarge
            } else {
                CloseReason::ParseError
            };
            self.finish_close(reason, true);
        }
    }

    /// Handles the end of the session's WebSocket (closed by the peer or failed).
    pub fn handle_ws_closed(&mut self, now: Instant) {
        self.clock.advance(now);
        if self.state == State::Closed {
            return;
        }
        if self.upgrade != Upgrade::None {
            // An abandoned upgrade: polling goes on (pitfall 5).
            self.abandon_upgrade();
        } else if self.transport == TransportKind::WebSocket {
            self.finish_close(CloseReason::TransportClose, true);
        }
    }

    /// Handles a request whose connection went away before it was answered. A held long-poll
    /// that is aborted closes the session (engineio.md §5.2).
    pub fn handle_request_aborted(&mut self, now: Instant, request: RequestId) {
        self.clock.advance(now);
        if self.held_get.as_ref().is_some_and(|h| h.id == request) {
            self.held_get = None;
            self.finish_close(CloseReason::TransportError, false);
        }
    }

    /// Handles expired timers; call when [`Session::poll_timeout`] is reached.
    pub fn handle_timeout(&mut self, now: Instant) {
        let now = self.clock.advance(now);
        while let Some((key, due)) = self.timers.take_due(now) {
            match key {
                PING_DUE => {
                    // Ahead of queued data: the pong deadline must not depend on a backlog.
                    self.queue.push_front(Packet::Ping(Default::default()));
                    // Counted from when the ping was due, not from a late wake-up: a silent
                    // client is dropped pingInterval + pingTimeout after the last pong
                    // (engineio.md §4.1), whatever the runtime's timer precision.
                    self.timers
                        .set(HEARTBEAT_DEADLINE, due + self.config.ping_timeout);
                }
                HEARTBEAT_DEADLINE => self.finish_close(CloseReason::PingTimeout, false),
                UPGRADE_DEADLINE => self.cancel_probe(),
                NOOP_TICK if self.upgrade == Upgrade::Probed => {
                    if self.queue.is_empty() {
                        self.release_held_get_with_noop();
                    }
                    self.timers
                        .set(NOOP_TICK, now + self.config.upgrade_noop_interval);
                }
                CLOSE_DEADLINE => {
                    let reason = self.close_reason;
                    self.finish_close(reason, false);
                }
                _ => {}
            }
        }
    }

    /// The next output for the network, or `None` once drained.
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        if let Some(t) = self.transmits.pop_front() {
            return Some(t);
        }
        self.flush();
        let t = self.transmits.pop_front();
        if t.is_none() {
            // Drained: an idle session keeps room for one transmit and one packet, not for the
            // largest burst it had (a `Transmit` is about 160 bytes).
            keep_room_for_one(&mut self.transmits);
            keep_room_for_one(&mut self.queue);
        }
        t
    }

    /// The next event for the application, or `None`.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<SessionEvent> {
        let event = self.events.pop_front();
        if event.is_none() {
            keep_room_for_one(&mut self.events);
        }
        event
    }

    /// The next routing update for the engine ([`super::Engine::handle_update`]), or `None`.
    #[must_use]
    pub fn poll_engine_update(&mut self) -> Option<EngineUpdate> {
        self.updates.pop_front()
    }

    /// When to call [`Session::handle_timeout`] next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next()
    }

    /// Moves queued packets onto the transport.
    fn flush(&mut self) {
        if self.queue.is_empty() || self.state == State::Closed {
            return;
        }
        match self.transport {
            TransportKind::WebSocket => self.flush_ws_queue(),
            TransportKind::Polling => {
                let Some(held) = self.held_get.take() else {
                    return;
                };
                let n = payload::batch_len(self.version, &self.queue, self.config.max_payload);
                let batch: Vec<Packet> = self.queue.drain(..n).collect();
                for p in &batch {
                    self.dequeued(p);
                }
                let closing = batch.last() == Some(&Packet::Close);
                let res = self.polling_response(held.cors, &batch);
                self.reply(held.id, res);
                if closing {
                    let reason = self.close_reason;
                    self.finish_close(reason, false);
                }
            }
        }
    }

    fn dequeued(&mut self, packet: &Packet) {
        match packet {
            Packet::Message(t) => self.queued_bytes -= t.len(),
            Packet::Binary(b) => self.queued_bytes -= b.len(),
            Packet::Pong(_) => self.pong_queued = false,
            _ => {}
        }
    }

    fn polling_response(
        &mut self,
        cors: Vec<(&'static str, HeaderValue)>,
        packets: &[Packet],
    ) -> HttpResponse {
        let format = payload::encode_payload(self.version, packets, self.binary, &mut self.buf);
        let mut res = HttpResponse::new(200).with_body(self.buf.split().freeze());
        res.headers = cors;
        res.headers
            .push(("content-type", format.content_type().into()));
        res.headers.push(("cache-control", "no-store".into()));
        res
    }

    fn release_held_get_with_noop(&mut self) {
        if let Some(held) = self.held_get.take() {
            let res = self.polling_response(held.cors, &[Packet::Noop]);
            self.reply(held.id, res);
        }
    }

    /// Closes the probe WebSocket and forgets the upgrade; polling goes on.
    fn cancel_probe(&mut self) {
        self.transmits
            .push_back(Transmit::CloseWebSocket { code: None });
        self.abandon_upgrade();
    }

    fn abandon_upgrade(&mut self) {
        self.upgrade = Upgrade::None;
        self.timers.clear(UPGRADE_DEADLINE);
        self.timers.clear(NOOP_TICK);
    }

    fn arm_v3_deadline(&mut self, now: Instant) {
        self.timers.set(
            HEARTBEAT_DEADLINE,
            now + self.config.ping_interval + self.config.ping_timeout,
        );
    }

    fn reply(&mut self, request: RequestId, response: HttpResponse) {
        self.transmits
            .push_back(Transmit::Response { request, response });
    }

    /// Ends the session. `ws_gone`: the WebSocket is already closed (or its close is queued).
    fn finish_close(&mut self, reason: CloseReason, ws_gone: bool) {
        if self.state == State::Closed {
            return;
        }
        if self.transport == TransportKind::WebSocket && !ws_gone {
            // Close the WebSocket, after what `close` left queued for it (engineio.md §9: no
            // status code, no `1` packet).
            if self.state == State::Closing {
                self.flush_ws_queue();
            }
            self.transmits
                .push_back(Transmit::CloseWebSocket { code: None });
        }
        if self.upgrade != Upgrade::None {
            self.cancel_probe();
        }
        if let Some(held) = self.held_get.take() {
            let res = self.polling_response(held.cors, &[Packet::Close]);
            self.reply(held.id, res);
        }
        self.state = State::Closed;
        self.queue.clear();
        self.queued_bytes = 0;
        self.pong_queued = false;
        self.timers.clear_all();
        self.updates.push_back(EngineUpdate {
            sid: self.sid.clone(),
            kind: UpdateKind::Closed,
        });
        self.events.push_back(SessionEvent::Closed(reason));
    }

    fn flush_ws_queue(&mut self) {
        while let Some(packet) = self.queue.pop_front() {
            self.dequeued(&packet);
            let frame = encode_ws_frame(self.version, packet, self.binary, &mut self.buf);
            self.transmits.push_back(Transmit::WsFrame(frame));
        }
    }
}
