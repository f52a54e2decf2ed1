//! The client side: one Engine.IO connection, over polling, WebSocket, or polling upgraded to
//! WebSocket.
//!
//! The [`Client`] asks for HTTP requests and a WebSocket with [`ClientTransmit`]; the runtime
//! adapter performs them and feeds back responses, frames and failures. After each input or
//! command drain [`Client::poll_transmit`], then [`Client::poll_event`], then read
//! [`Client::poll_timeout`].

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::BytesMut;

use crate::http::{percent_encode_into, HttpRequest, HttpResponse, RequestId, TransportKind};
use crate::message::{CloseReason, Message, UsageError};
use crate::payload::{self, PayloadFormat};
use crate::timer::{Clock, Timers};
use crate::WsFrame;
use crate::{decode_ws_frame, encode_ws_frame, EngineIoVersion, OpenPacket, Packet};

/// Client settings.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClientConfig {
    /// The protocol revision to ask for (default v4).
    pub version: EngineIoVersion,
    /// The server path, with its trailing slash (default `/engine.io/`).
    pub path: String,
    /// Extra query parameters sent on every request (Socket.IO v2 puts its query here).
    pub query: Vec<(String, String)>,
    /// Extra headers sent on every request and on the WebSocket handshake.
    pub headers: Vec<(String, String)>,
    /// The transport to open with (default polling).
    pub transport: TransportKind,
    /// Whether to upgrade a polling connection to WebSocket when the server offers it
    /// (default true).
    pub upgrade: bool,
    /// Ask the server for base64 binary (`b64=1`) instead of binary frames and payloads
    /// (default false).
    pub b64: bool,
    /// How long the probe WebSocket may take to answer `3probe` (default 10 s).
    pub upgrade_timeout: Duration,
    /// How long the handshake may take before the connection is given up with
    /// [`CloseReason::HandshakeFailed`] (default 20 s, the Socket.IO client's `timeout`).
    pub connect_timeout: Duration,
    /// The largest response body or WebSocket message accepted (default 100 MB); a larger
    /// one closes the connection with [`CloseReason::ParseError`].
    pub max_payload: usize,
    /// Packets `send` may queue while the transport is busy (default 1024).
    pub max_buffered_packets: usize,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            version: EngineIoVersion::V4,
            path: "/engine.io/".to_owned(),
            query: Vec::new(),
            headers: Vec::new(),
            transport: TransportKind::Polling,
            upgrade: true,
            b64: false,
            upgrade_timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(20),
            max_payload: 100_000_000,
            max_buffered_packets: 1024,
        }
    }
}

/// Output of the client, pulled with [`Client::poll_transmit`].
#[derive(Debug)]
#[non_exhaustive]
pub enum ClientTransmit {
    /// Perform this HTTP request; report with [`Client::handle_response`] or
    /// [`Client::handle_request_failed`].
    Request {
        /// Names the request in the report.
        id: RequestId,
        /// The request (`uri` is path and query; the adapter adds scheme and host).
        request: HttpRequest,
    },
    /// Open a WebSocket with this request; report with [`Client::handle_ws_open`], then
    /// frames and its end. The client has at most one WebSocket at a time.
    OpenWebSocket {
        /// The upgrade request.
        request: HttpRequest,
    },
    /// Send a frame on the WebSocket.
    WsFrame(WsFrame),
    /// Close the WebSocket.
    CloseWebSocket,
}

/// What the client reports, pulled with [`Client::poll_event`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientEvent {
    /// The handshake completed.
    Open(OpenPacket),
    /// A message from the server.
    Message(Message),
    /// The connection moved from polling to WebSocket.
    Upgraded,
    /// The connection is closed.
    Closed(CloseReason),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Opening,
    Open,
    /// `close` was called over polling: the `close` packet is being posted.
    Closing,
    Closed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Upgrade {
    None,
    /// The probe WebSocket is being opened.
    Connecting,
    /// `2probe` sent.
    Probing,
    /// `3probe` received: polling paused, waiting for the in-flight GET and POST.
    Pausing,
}

const HEARTBEAT: usize = 0;
const PING_DUE: usize = 1;
const UPGRADE_DEADLINE: usize = 2;
const CONNECT_DEADLINE: usize = 3;
/// A close over polling waits for the POST that carries the `close` packet; a silent server
/// gets one heartbeat window (ping interval + ping timeout), as long as the reference client's
/// heartbeat keeps running while its close waits for the write buffer to drain.
const CLOSE_DEADLINE: usize = 4;

/// One Engine.IO client connection.
#[derive(Debug)]
pub struct Client {
    config: ClientConfig,
    clock: Clock,
    state: State,
    transport: TransportKind,
    upgrade: Upgrade,
    handshake: Option<OpenPacket>,
    ws_open: bool,
    get: Option<RequestId>,
    post: Option<RequestId>,
    /// Whether the in-flight POST carries the `close` packet.
    post_closes: bool,
    next_request: u64,
    outbox: VecDeque<Packet>,
    timers: Timers<5>,
    transmits: VecDeque<ClientTransmit>,
    events: VecDeque<ClientEvent>,
    buf: BytesMut,
}

impl Client {
    /// A client that starts its handshake at once: the first transmit is the handshake GET or
    /// the WebSocket to open.
    pub fn new(now: Instant, config: ClientConfig) -> Self {
        let mut c = Client {
            transport: config.transport,
            config,
            clock: Clock::new(now),
            state: State::Opening,
            upgrade: Upgrade::None,
            handshake: None,
            ws_open: false,
            get: None,
            post: None,
            post_closes: false,
            next_request: 0,
            outbox: VecDeque::new(),
            timers: Timers::new(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            buf: BytesMut::new(),
        };
        c.timers
            .set(CONNECT_DEADLINE, now + c.config.connect_timeout);
        match c.transport {
            TransportKind::Polling => {
                let request = c.request(TransportKind::Polling, HttpRequest::get(String::new()));
                let id = c.next_id();
                c.get = Some(id);
                c.transmits
                    .push_back(ClientTransmit::Request { id, request });
            }
            TransportKind::WebSocket => {
                let request = c.request(
                    TransportKind::WebSocket,
                    HttpRequest::websocket(String::new()),
                );
                c.transmits
                    .push_back(ClientTransmit::OpenWebSocket { request });
            }
        }
        c
    }

    /// The handshake, once open.
    pub fn handshake(&self) -> Option<&OpenPacket> {
        self.handshake.as_ref()
    }

    /// The current transport.
    pub fn transport(&self) -> TransportKind {
        self.transport
    }

    /// Whether the connection is closed.
    pub fn is_closed(&self) -> bool {
        self.state == State::Closed
    }

    /// Queues a message. Errors when closed or closing, or when the outgoing buffer is full.
    /// Messages sent before the handshake completes wait for it.
    pub fn send(&mut self, message: impl Into<Message>) -> Result<(), UsageError> {
        if matches!(self.state, State::Closing | State::Closed) {
            return Err(UsageError::Closed);
        }
        if self.outbox.len() >= self.config.max_buffered_packets {
            return Err(UsageError::BufferFull);
        }
        self.outbox.push_back(message.into().into_packet());
        Ok(())
    }

    /// Closes the connection: over polling the `close` packet is posted (after what is
    /// queued; a server that answers none of it within a heartbeat window ends the connection
    /// all the same), over WebSocket the socket is closed. `Closed(ForcedClose)` follows.
    pub fn close(&mut self, now: Instant) {
        let now = self.clock.advance(now);
        match self.state {
            State::Closing | State::Closed => {}
            State::Opening => self.finish(CloseReason::ForcedClose),
            State::Open => {
                if self.transport == TransportKind::WebSocket {
                    self.flush_ws();
                    self.transmits.push_back(ClientTransmit::CloseWebSocket);
                    self.finish(CloseReason::ForcedClose);
                } else {
                    if self.upgrade != Upgrade::None {
                        self.cancel_probe();
                    }
                    self.state = State::Closing;
                    self.timers.clear_all();
                    if let Some(open) = &self.handshake {
                        let window = open.ping_interval.saturating_add(open.ping_timeout);
                        self.timers
                            .set(CLOSE_DEADLINE, now + Duration::from_millis(window));
                    }
                    self.outbox.push_back(Packet::Close);
                }
            }
        }
    }

    /// Handles the response to request `id`.
    pub fn handle_response(&mut self, now: Instant, id: RequestId, response: HttpResponse) {
        let now = self.clock.advance(now);
        if self.get == Some(id) {
            self.get = None;
            if self.state == State::Opening {
                return self.handle_handshake_response(now, response);
            }
            if matches!(self.state, State::Closing | State::Closed) {
                return;
            }
            if response.status != 200 {
                return self.finish(CloseReason::TransportError);
            }
            let format = PayloadFormat::from_content_type(response.header("content-type"));
            match payload::decode_payload(
                self.config.version,
                format,
                response.body,
                self.config.max_payload,
            ) {
                Ok(packets) => {
                    for p in packets {
                        if self.state != State::Open {
                            break;
                        }
                        self.handle_packet(now, p);
                    }
                }
                Err(_) => return self.finish(CloseReason::ParseError),
            }
            self.maybe_finish_pause();
        } else if self.post == Some(id) {
            self.post = None;
            if self.post_closes {
                return self.finish(CloseReason::ForcedClose);
            }
            if self.state == State::Closed {
                return;
            }
            if response.status != 200 {
                return self.finish(CloseReason::TransportError);
            }
            self.maybe_finish_pause();
        }
    }

    /// Handles the failure of request `id` (connection refused or lost).
    pub fn handle_request_failed(&mut self, now: Instant, id: RequestId) {
        self.clock.advance(now);
        if self.get == Some(id) || self.post == Some(id) {
            self.get = self.get.filter(|g| *g != id);
            self.post = self.post.filter(|p| *p != id);
            if self.state == State::Opening {
                self.finish(CloseReason::HandshakeFailed);
            } else if self.post_closes && self.post.is_none() {
                self.finish(CloseReason::ForcedClose);
            } else {
                self.finish(CloseReason::TransportError);
            }
        }
    }

    fn handle_handshake_response(&mut self, now: Instant, response: HttpResponse) {
        if response.status != 200 {
            return self.handshake_refused(&response);
        }
        if self.other_version_body(&response.body) {
            return self.finish(CloseReason::VersionMismatch);
        }
        let format = PayloadFormat::from_content_type(response.header("content-type"));
        let packets = match payload::decode_payload(
            self.config.version,
            format,
            response.body,
            self.config.max_payload,
        ) {
            Ok(p) => p,
            Err(_) => return self.finish(CloseReason::HandshakeFailed),
        };
        let mut packets = packets.into_iter();
        match packets.next() {
            Some(p @ Packet::Open(_)) => self.handle_open(now, &p),
            _ => return self.finish(CloseReason::HandshakeFailed),
        }
        // A server's `initialPacket` may follow the handshake.
        for p in packets {
            if self.state != State::Open {
                break;
            }
            self.handle_packet(now, p);
        }
    }

    /// An error answer to the handshake: code 5 ("Unsupported protocol version") is the
    /// server refusing our revision (a JSON body over HTTP; the reference answers a
    /// WebSocket handshake with the bare message).
    fn handshake_refused(&mut self, response: &HttpResponse) {
        let unsupported = response.status == 400
            && (serde_json::from_slice::<serde_json::Value>(&response.body)
                .ok()
                .and_then(|v| v.get("code").and_then(serde_json::Value::as_u64))
                == Some(5)
                || response.body.as_ref() == b"Unsupported protocol version");
        self.finish(if unsupported {
            CloseReason::VersionMismatch
        } else {
            CloseReason::HandshakeFailed
        });
    }

    /// Whether a handshake body is in the other revision's payload format: a v3 body starts
    /// with a length prefix (`96:0{`), a v4 body with the open packet itself (`0{`).
    fn other_version_body(&self, body: &[u8]) -> bool {
        match self.config.version {
            EngineIoVersion::V4 => {
                let digits = body.iter().take_while(|b| b.is_ascii_digit()).count();
                digits > 0 && body.get(digits) == Some(&b':')
                    || body.first().is_some_and(|&b| b <= 1)
            }
            EngineIoVersion::V3 => body.starts_with(b"0{"),
        }
    }

    fn handle_open(&mut self, now: Instant, packet: &Packet) {
        let Ok(open) = OpenPacket::try_from(packet) else {
            return self.finish(CloseReason::HandshakeFailed);
        };
        self.state = State::Open;
        self.timers.clear(CONNECT_DEADLINE);
        self.arm_watchdog(now, &open);
        if self.config.version == EngineIoVersion::V3 {
            self.timers
                .set(PING_DUE, now + Duration::from_millis(open.ping_interval));
        }
        let probe = self.transport == TransportKind::Polling
            && self.config.upgrade
            && open.upgrades.iter().any(|u| u == "websocket");
        self.handshake = Some(open.clone());
        self.events.push_back(ClientEvent::Open(open));
        if probe {
            let request = self.request(
                TransportKind::WebSocket,
                HttpRequest::websocket(String::new()),
            );
            self.upgrade = Upgrade::Connecting;
            self.timers
                .set(UPGRADE_DEADLINE, now + self.config.upgrade_timeout);
            self.transmits
                .push_back(ClientTransmit::OpenWebSocket { request });
        }
    }

    fn arm_watchdog(&mut self, now: Instant, open: &OpenPacket) {
        self.timers.set(
            HEARTBEAT,
            now + Duration::from_millis(open.ping_interval.saturating_add(open.ping_timeout)),
        );
    }

    /// Handles the WebSocket being open (the 101 arrived).
    pub fn handle_ws_open(&mut self, now: Instant) {
        self.clock.advance(now);
        self.ws_open = true;
        if self.upgrade == Upgrade::Connecting {
            self.upgrade = Upgrade::Probing;
            self.push_frame(Packet::ping_probe());
        }
    }

    /// Handles a frame received on the WebSocket.
    pub fn handle_ws_frame(&mut self, now: Instant, frame: WsFrame) {
        let now = self.clock.advance(now);
        if self.state == State::Closed || !self.ws_open {
            return;
        }
        let packet = match decode_ws_frame(self.config.version, frame, self.config.max_payload) {
            Ok(p) => p,
            Err(_) if self.upgrade != Upgrade::None => return self.cancel_probe(),
            Err(_) => {
                self.transmits.push_back(ClientTransmit::CloseWebSocket);
                return self.finish(CloseReason::ParseError);
            }
        };
        if self.upgrade != Upgrade::None {
            return match packet {
                Packet::Pong(data) if data == "probe" && self.upgrade == Upgrade::Probing => {
                    // engineio.md §8 step 5: pause polling, wait for what is in flight.
                    self.upgrade = Upgrade::Pausing;
                    self.maybe_finish_pause();
                }
                _ => self.cancel_probe(),
            };
        }
        if self.transport != TransportKind::WebSocket {
            return;
        }
        match self.state {
            State::Opening => match packet {
                Packet::Open(_) => self.handle_open(now, &packet),
                _ => {
                    self.transmits.push_back(ClientTransmit::CloseWebSocket);
                    self.finish(CloseReason::HandshakeFailed);
                }
            },
            State::Open => self.handle_packet(now, packet),
            State::Closing | State::Closed => {}
        }
    }

    /// Handles a WebSocket handshake the server answered with an HTTP error instead of 101.
    /// For a WebSocket-only connection's handshake it is read as a refused handshake
    /// (a `400` with code 5 is [`CloseReason::VersionMismatch`]); otherwise as the socket's
    /// end ([`Client::handle_ws_closed`]).
    pub fn handle_ws_refused(&mut self, now: Instant, response: HttpResponse) {
        if self.state == State::Opening && self.transport == TransportKind::WebSocket {
            self.clock.advance(now);
            self.ws_open = false;
            return self.handshake_refused(&response);
        }
        self.handle_ws_closed(now);
    }

    /// Handles the end of the WebSocket (closed by the server, or failed).
    pub fn handle_ws_closed(&mut self, now: Instant) {
        self.clock.advance(now);
        self.ws_open = false;
        if self.state == State::Closed {
            return;
        }
        if self.upgrade != Upgrade::None {
            // The probe failed: polling goes on.
            self.upgrade = Upgrade::None;
            self.timers.clear(UPGRADE_DEADLINE);
        } else if self.transport == TransportKind::WebSocket {
            self.finish(if self.state == State::Opening {
                CloseReason::HandshakeFailed
            } else {
                CloseReason::TransportClose
            });
        }
    }

    /// Handles expired timers; call when [`Client::poll_timeout`] is reached.
    pub fn handle_timeout(&mut self, now: Instant) {
        let now = self.clock.advance(now);
        while let Some((key, _)) = self.timers.take_due(now) {
            match key {
                HEARTBEAT => {
                    if self.transport == TransportKind::WebSocket {
                        self.transmits.push_back(ClientTransmit::CloseWebSocket);
                    }
                    self.finish(CloseReason::PingTimeout);
                }
                PING_DUE => {
                    // v3: the client pings and expects an answer within pingTimeout.
                    self.outbox.push_front(Packet::Ping(Default::default()));
                    if let Some(open) = &self.handshake {
                        let deadline = now + Duration::from_millis(open.ping_timeout);
                        self.timers.set(HEARTBEAT, deadline);
                    }
                }
                UPGRADE_DEADLINE => self.cancel_probe(),
                CLOSE_DEADLINE => self.finish(CloseReason::ForcedClose),
                CONNECT_DEADLINE => {
                    if self.transport == TransportKind::WebSocket {
                        self.transmits.push_back(ClientTransmit::CloseWebSocket);
                    }
                    self.finish(CloseReason::HandshakeFailed);
                }
                _ => {}
            }
        }
    }

    fn handle_packet(&mut self, now: Instant, packet: Packet) {
        // Every packet proves the server alive: the watchdog restarts (the reference 3.x client
        // does this in v3; in v4 it keeps a backlogged server from being declared dead while
        // its ping waits behind data).
        if let Some(open) = self.handshake.clone() {
            self.arm_watchdog(now, &open);
        }
        match packet {
            Packet::Message(t) => self
                .events
                .push_back(ClientEvent::Message(Message::Text(t))),
            Packet::Binary(b) => self
                .events
                .push_back(ClientEvent::Message(Message::Binary(b))),
            Packet::Ping(_) if self.config.version == EngineIoVersion::V4 => {
                // engineio.md §4.1: answer at once; heartbeats go ahead of queued data.
                self.outbox.push_front(Packet::Pong(Default::default()));
            }
            Packet::Pong(_) if self.config.version == EngineIoVersion::V3 => {
                if let Some(open) = &self.handshake {
                    self.timers
                        .set(PING_DUE, now + Duration::from_millis(open.ping_interval));
                }
            }
            Packet::Close => {
                if self.transport == TransportKind::WebSocket {
                    self.transmits.push_back(ClientTransmit::CloseWebSocket);
                }
                self.finish(CloseReason::TransportClose);
            }
            _ => {}
        }
    }

    /// Completes a paused upgrade once nothing is in flight on polling: `5`, then the
    /// buffered packets, on the WebSocket.
    fn maybe_finish_pause(&mut self) {
        if self.upgrade != Upgrade::Pausing
            || self.get.is_some()
            || self.post.is_some()
            || self.state != State::Open
        {
            return;
        }
        self.upgrade = Upgrade::None;
        self.timers.clear(UPGRADE_DEADLINE);
        self.transport = TransportKind::WebSocket;
        self.push_frame(Packet::Upgrade);
        self.events.push_back(ClientEvent::Upgraded);
    }

    fn cancel_probe(&mut self) {
        if self.ws_open || self.upgrade == Upgrade::Connecting {
            self.transmits.push_back(ClientTransmit::CloseWebSocket);
        }
        self.ws_open = false;
        self.upgrade = Upgrade::None;
        self.timers.clear(UPGRADE_DEADLINE);
    }

    /// The next output, or `None` once drained.
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<ClientTransmit> {
        if self.transmits.is_empty() {
            self.flush();
        }
        self.transmits.pop_front()
    }

    /// The next event, or `None`.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<ClientEvent> {
        self.events.pop_front()
    }

    /// When to call [`Client::handle_timeout`] next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next()
    }

    fn flush(&mut self) {
        match (self.state, self.transport) {
            (State::Open, TransportKind::WebSocket) => self.flush_ws(),
            (State::Open | State::Closing, TransportKind::Polling) => {
                let paused = self.upgrade == Upgrade::Pausing;
                if self.get.is_none() && self.state == State::Open && !paused {
                    let request =
                        self.request(TransportKind::Polling, HttpRequest::get(String::new()));
                    let id = self.next_id();
                    self.get = Some(id);
                    self.transmits
                        .push_back(ClientTransmit::Request { id, request });
                }
                if self.post.is_none() && !self.outbox.is_empty() && !paused {
                    self.post_batch();
                }
            }
            _ => {}
        }
    }

    fn flush_ws(&mut self) {
        while let Some(p) = self.outbox.pop_front() {
            self.push_frame(p);
        }
    }

    /// POSTs the longest prefix of the outbox that fits the server's `maxPayload` (at least
    /// one packet, as the reference client).
    fn post_batch(&mut self) {
        let version = self.config.version;
        let max = self
            .handshake
            .as_ref()
            .and_then(|h| h.max_payload)
            .map_or(usize::MAX, |m| usize::try_from(m).unwrap_or(usize::MAX));
        let n = payload::batch_len(version, &self.outbox, max);
        let batch: Vec<Packet> = self.outbox.drain(..n).collect();
        let format = payload::encode_payload(version, &batch, !self.config.b64, &mut self.buf);
        let body = self.buf.split().freeze();
        let content_type = match format {
            PayloadFormat::Text => "text/plain;charset=UTF-8",
            PayloadFormat::Binary => "application/octet-stream",
        };
        let request = self
            .request(
                TransportKind::Polling,
                HttpRequest::post(String::new(), body),
            )
            .with_header("content-type", content_type);
        let id = self.next_id();
        self.post = Some(id);
        self.post_closes = batch.last() == Some(&Packet::Close);
        self.transmits
            .push_back(ClientTransmit::Request { id, request });
    }

    fn push_frame(&mut self, packet: Packet) {
        let frame = encode_ws_frame(self.config.version, packet, !self.config.b64, &mut self.buf);
        self.transmits.push_back(ClientTransmit::WsFrame(frame));
    }

    fn next_id(&mut self) -> RequestId {
        let id = RequestId(self.next_request);
        self.next_request += 1;
        id
    }

    /// Fills in the URI and headers of `req` for `transport`.
    fn request(&self, transport: TransportKind, mut req: HttpRequest) -> HttpRequest {
        let mut uri = String::with_capacity(64);
        uri.push_str(&self.config.path);
        uri.push_str("?EIO=");
        uri.push_str(self.config.version.as_query());
        uri.push_str("&transport=");
        uri.push_str(transport.as_str());
        if let Some(open) = &self.handshake {
            uri.push_str("&sid=");
            percent_encode_into(&open.sid, &mut uri);
        }
        if self.config.b64 {
            uri.push_str("&b64=1");
        }
        for (k, v) in &self.config.query {
            uri.push('&');
            percent_encode_into(k, &mut uri);
            uri.push('=');
            percent_encode_into(v, &mut uri);
        }
        req.uri = uri;
        req.headers.extend(self.config.headers.iter().cloned());
        req
    }

    /// Ends the connection with `reason`.
    fn finish(&mut self, reason: CloseReason) {
        if self.state == State::Closed {
            return;
        }
        if self.upgrade != Upgrade::None {
            self.cancel_probe();
        }
        self.state = State::Closed;
        self.ws_open = false;
        self.get = None;
        self.post = None;
        self.outbox.clear();
        self.timers.clear_all();
        self.events.push_back(ClientEvent::Closed(reason));
    }
}
