//! The client side: namespaces multiplexed over one Engine.IO connection at a time, acks with
//! timeouts, an offline buffer, reconnection with backoff, connection state recovery.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use engineio_proto::rng::SplitMix64;
use engineio_proto::{CloseReason, Message};
use serde::Serialize;

use crate::acks::AckTable;
use crate::{
    AckId, Decoder, DecoderConfig, EncodeError, Encoded, Encoder, EncoderConfig, Nsp, Packet,
    PacketKind, RawArgs, SocketIoVersion,
};

/// Reconnection policy (the reference client's defaults).
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct ReconnectPolicy {
    /// Whether to reconnect after losing the Engine.IO connection (default true).
    pub enabled: bool,
    /// The first delay (default 1 s); it doubles with each attempt.
    pub initial_delay: Duration,
    /// The largest delay (default 5 s).
    pub max_delay: Duration,
    /// Jitter: each delay moves by up to this fraction, either way (default 0.5).
    pub randomization: f64,
    /// Attempts before giving up; `None` (the default) never gives up.
    pub max_attempts: Option<u32>,
}

impl Default for ReconnectPolicy {
    fn default() -> Self {
        ReconnectPolicy {
            enabled: true,
            initial_delay: Duration::from_millis(1000),
            max_delay: Duration::from_millis(5000),
            randomization: 0.5,
            max_attempts: None,
        }
    }
}

impl ReconnectPolicy {
    /// The delay before attempt `attempt` (1-based), with `random` in `[0, 1)`: doubling from
    /// `initial_delay`, moved by up to `randomization` of itself, capped at `max_delay` (the
    /// reference's `Backoff`).
    pub fn delay(&self, attempt: u32, random: f64) -> Duration {
        let base =
            self.initial_delay.as_secs_f64() * 2f64.powi(attempt.saturating_sub(1).min(62) as i32);
        let deviation = (random * self.randomization * base).max(0.0);
        // The reference picks the direction from another digit of the same random number.
        let ms = if ((random * 10.0) as u32) & 1 == 0 {
            base - deviation
        } else {
            base + deviation
        };
        Duration::from_secs_f64(ms.clamp(0.0, self.max_delay.as_secs_f64()))
    }
}

/// Client settings.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ClientConfig {
    /// The protocol revision (v5 over Engine.IO v4 by default).
    pub version: SocketIoVersion,
    /// Emits kept per namespace while not connected; further emits are refused (default 1024).
    pub max_offline_packets: usize,
    /// Acks waiting at once; further `emit_with_ack` calls are refused (default 4096).
    pub max_pending_acks: usize,
    /// Binary attachments per packet (default 10).
    pub max_attachments: usize,
    /// Reconnection.
    pub reconnect: ReconnectPolicy,
    /// Seed of the jitter of reconnection delays.
    pub seed: u64,
    /// The wire format (the default parser unless set; it must be the server's).
    pub parser: crate::Parser,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            version: SocketIoVersion::V5,
            max_offline_packets: 1024,
            max_pending_acks: 4096,
            max_attachments: 10,
            reconnect: ReconnectPolicy::default(),
            seed: 0x5eed,
            parser: crate::Parser::default(),
        }
    }
}

/// Why a namespace socket of the client ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientDisconnectReason {
    /// The server sent DISCONNECT (no reconnection for that namespace).
    ServerDisconnect,
    /// The application disconnected it.
    ClientDisconnect,
    /// The Engine.IO connection ended (reconnection follows when enabled).
    Transport(CloseReason),
    /// The server sent something that does not decode; the connection is closed.
    ParseError,
}

impl ClientDisconnectReason {
    /// The reason as socket.io-client names it (`"io server disconnect"`, `"transport close"`,
    /// ...).
    pub fn as_str(self) -> &'static str {
        match self {
            ClientDisconnectReason::ServerDisconnect => "io server disconnect",
            ClientDisconnectReason::ClientDisconnect => "io client disconnect",
            ClientDisconnectReason::Transport(r) => r.as_str(),
            ClientDisconnectReason::ParseError => "parse error",
        }
    }
}

/// What the client reports, pulled with [`ClientConn::poll_event`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ClientEvent {
    /// A namespace is connected.
    Connected {
        /// The namespace.
        nsp: Nsp,
        /// The socket id the server gave.
        sid: String,
        /// Whether the server recovered the previous session (same id; missed events were
        /// delivered before this event).
        recovered: bool,
    },
    /// The server refused a namespace (its CONNECT_ERROR payload).
    ConnectError {
        /// The namespace.
        nsp: Nsp,
        /// The payload: `{"message":…,"data":…}` in v5, a string or object in v4.
        data: serde_json::Value,
    },
    /// An event. When `packet.ack_id()` is set, the server waits for [`ClientConn::ack`].
    Event {
        /// The namespace.
        nsp: Nsp,
        /// The packet.
        packet: Packet,
    },
    /// The server answered an ack request.
    Ack {
        /// The namespace.
        nsp: Nsp,
        /// The ack id.
        id: AckId,
        /// The answer.
        packet: Packet,
    },
    /// The namespace disconnected after the ack request went out: the answer will not come
    /// (the reference client's "socket has been disconnected"). Requests still in the
    /// offline buffer keep waiting, as they will go out on the next connection.
    AckDisconnected {
        /// The namespace.
        nsp: Nsp,
        /// The ack id.
        id: AckId,
    },
    /// An ack request that will not be answered.
    AckTimedOut {
        /// The namespace.
        nsp: Nsp,
        /// The ack id.
        id: AckId,
    },
    /// A namespace socket ended.
    Disconnected {
        /// The namespace.
        nsp: Nsp,
        /// Why.
        reason: ClientDisconnectReason,
    },
    /// Close the Engine.IO connection (the application closed, or the server broke the
    /// protocol); report its end with [`ClientConn::handle_engine_closed`] as usual.
    CloseEngine,
    /// A reconnection is planned after `delay`.
    ReconnectScheduled {
        /// The attempt number, from 1.
        attempt: u32,
        /// The delay.
        delay: Duration,
    },
    /// Time to open a new Engine.IO connection; report it with
    /// [`ClientConn::handle_engine_open`] or [`ClientConn::handle_engine_closed`].
    Reconnect,
    /// The reconnection attempts are exhausted.
    ReconnectFailed,
    /// The server answered a CONNECT the way a protocol v4 server (socket.io 2.x) does, with
    /// no session id: it speaks the other generation. [`ClientEvent::CloseEngine`] follows
    /// and the client stops (no reconnection).
    VersionMismatch,
}

/// Why an emit was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The namespace was never asked for (call [`ClientConn::connect`]) or was left.
    #[error("not connected to the namespace")]
    NotConnected,
    /// The offline buffer is full.
    #[error("the offline buffer is full")]
    BufferFull,
    /// Too many acks are pending.
    #[error("too many pending acks")]
    TooManyPendingAcks,
    /// The client was closed.
    #[error("the client is closed")]
    Closed,
    /// The packet could not be encoded.
    #[error(transparent)]
    Encode(#[from] EncodeError),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NsState {
    /// Not asked for, or given up (server DISCONNECT, CONNECT_ERROR, app disconnect).
    Idle,
    /// Wanted; CONNECT not sent (no Engine.IO connection).
    Waiting,
    /// CONNECT sent.
    Connecting,
    Connected,
}

#[derive(Debug)]
struct Namespace {
    state: NsState,
    auth: Option<serde_json::Value>,
    sid: Option<String>,
    pid: Option<String>,
    offset: Option<String>,
    /// Emits waiting for the connection, in order, with the ack id they ask for.
    offline: VecDeque<(Encoded, Option<AckId>)>,
    /// Events that arrived before the CONNECT reply (recovery replays).
    early: Vec<Packet>,
    next_ack: u64,
}

/// The Socket.IO client: namespaces over one Engine.IO connection at a time.
///
/// Feed it the Engine.IO connection's opening, messages and end, and timeouts. After each input
/// or command drain [`ClientConn::poll_transmit`] (messages for the Engine.IO client, in
/// order), then [`ClientConn::poll_event`], then read [`ClientConn::poll_timeout`].
#[derive(Debug)]
pub struct ClientConn {
    config: ClientConfig,
    decoder: Decoder,
    encoder: Encoder,
    engine_open: bool,
    /// v4 socket ids are derived from it.
    engine_sid: String,
    namespaces: BTreeMap<Nsp, Namespace>,
    acks: AckTable,
    attempts: u32,
    reconnect_at: Option<Instant>,
    /// Jitter of reconnection delays, from the configured seed.
    rng: SplitMix64,
    closed: bool,
    last_now: Instant,
    transmits: VecDeque<Message>,
    events: VecDeque<ClientEvent>,
}

impl ClientConn {
    fn decoder(config: &ClientConfig) -> Decoder {
        Decoder::new(
            DecoderConfig::default()
                .with_max_attachments(config.max_attachments)
                .with_parser(config.parser),
        )
    }

    fn encoder_config(config: &ClientConfig) -> EncoderConfig {
        let c = EncoderConfig::default()
            .with_max_attachments(config.max_attachments)
            .with_parser(config.parser);
        #[cfg(feature = "msgpack")]
        let c = c.with_msgpack_side(crate::msgpack::Side::Client);
        c
    }

    /// A client; ask for namespaces with [`ClientConn::connect`], then open the Engine.IO
    /// connection and report it with [`ClientConn::handle_engine_open`].
    pub fn new(now: Instant, config: ClientConfig) -> Self {
        ClientConn {
            decoder: Self::decoder(&config),
            encoder: Encoder::new(Self::encoder_config(&config)),
            rng: SplitMix64::new(config.seed),
            config,
            engine_open: false,
            engine_sid: String::new(),
            namespaces: BTreeMap::new(),
            acks: AckTable::default(),
            attempts: 0,
            reconnect_at: None,
            closed: false,
            last_now: now,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    fn advance(&mut self, now: Instant) -> Instant {
        if now > self.last_now {
            self.last_now = now;
        }
        self.last_now
    }

    /// Whether `nsp` is connected.
    pub fn is_connected(&self, nsp: &Nsp) -> bool {
        self.namespaces
            .get(nsp)
            .is_some_and(|n| n.state == NsState::Connected)
    }

    /// The socket id of `nsp`, once connected.
    pub fn sid(&self, nsp: &Nsp) -> Option<&str> {
        self.namespaces.get(nsp)?.sid.as_deref()
    }

    /// Whether `nsp` was asked for and not left (connected, connecting, or waiting for the
    /// connection).
    pub fn is_wanted(&self, nsp: &Nsp) -> bool {
        self.namespaces
            .get(nsp)
            .is_some_and(|n| n.state != NsState::Idle)
    }

    /// Whether any namespace is wanted: when none is, the reference client closes the
    /// Engine.IO connection.
    pub fn wants_connection(&self) -> bool {
        self.namespaces.values().any(|n| n.state != NsState::Idle)
    }

    /// Emits waiting in `nsp`'s offline buffer.
    pub fn offline_len(&self, nsp: &Nsp) -> usize {
        self.namespaces.get(nsp).map_or(0, |n| n.offline.len())
    }

    /// Asks to join `nsp` with an optional auth object (v5; v4 clients cannot send one). The
    /// CONNECT goes out now if the Engine.IO connection is open, else when it opens.
    pub fn connect(&mut self, nsp: impl Into<Nsp>, auth: Option<serde_json::Value>) {
        let nsp = nsp.into();
        if self.closed {
            return;
        }
        let ns = self
            .namespaces
            .entry(nsp.clone())
            .or_insert_with(|| Namespace {
                state: NsState::Idle,
                auth: None,
                sid: None,
                pid: None,
                offset: None,
                offline: VecDeque::new(),
                early: Vec::new(),
                next_ack: 0,
            });
        ns.auth = auth;
        if ns.state == NsState::Idle {
            ns.state = NsState::Waiting;
            if self.engine_open {
                self.send_connect(&nsp);
            }
        }
    }

    fn send_connect(&mut self, nsp: &Nsp) {
        let version = self.config.version;
        let Some(ns) = self.namespaces.get_mut(nsp) else {
            return;
        };
        ns.state = NsState::Connecting;
        ns.early.clear();
        if version == SocketIoVersion::V4 {
            // v4: `/` is joined by the server on its own; others send `0/nsp,`.
            if !nsp.is_main() {
                // socket.io-client 2 sends its query after the name: `0/admin?token=abc,`.
                let named = match ns.auth.as_ref().map(v4_auth_query) {
                    Some(query) if !query.is_empty() => {
                        let mut name = String::from(nsp.as_str());
                        name.push('?');
                        write_query(&query, &mut name);
                        Nsp::from(name.as_str())
                    }
                    _ => nsp.clone(),
                };
                let packet = self.encoder.connect::<()>(&named, None);
                if let Ok(p) = packet {
                    queue(&mut self.transmits, &p);
                }
            }
            return;
        }
        let recovery = match (&ns.pid, &ns.offset) {
            (Some(pid), Some(offset)) => Some((pid.as_str(), offset.as_str())),
            _ => None,
        };
        let packet = if recovery.is_none() && ns.auth.is_none() {
            self.encoder.connect::<()>(nsp, None)
        } else {
            let auth = match &ns.auth {
                Some(serde_json::Value::Object(auth)) => Some(auth),
                _ => None,
            };
            self.encoder
                .connect(nsp, Some(&ConnectPayload { recovery, auth }))
        };
        if let Ok(p) = packet {
            queue(&mut self.transmits, &p);
        }
    }

    /// Handles the Engine.IO connection opening (its session id is `engine_sid`): the
    /// CONNECTs of every wanted namespace go out.
    pub fn handle_engine_open(&mut self, now: Instant, engine_sid: &str) {
        self.advance(now);
        if self.closed {
            return;
        }
        self.engine_sid = engine_sid.to_owned();
        self.engine_open = true;
        self.reconnect_at = None;
        self.attempts = 0;
        self.decoder = Self::decoder(&self.config);
        let wanted: Vec<Nsp> = self
            .namespaces
            .iter()
            .filter(|(_, n)| n.state != NsState::Idle)
            .map(|(k, _)| k.clone())
            .collect();
        for nsp in wanted {
            self.send_connect(&nsp);
        }
    }

    /// Handles the end (or a failed opening) of the Engine.IO connection: connected namespaces
    /// report it, and a reconnection is planned when the policy allows.
    pub fn handle_engine_closed(&mut self, now: Instant, reason: CloseReason) {
        let now = self.advance(now);
        self.engine_open = false;
        self.transmits.clear();
        let mut lost = Vec::new();
        for (nsp, ns) in &mut self.namespaces {
            if matches!(ns.state, NsState::Connected | NsState::Connecting) {
                if ns.state == NsState::Connected {
                    lost.push(nsp.clone());
                }
                ns.state = NsState::Waiting;
            }
        }
        for nsp in lost {
            self.ended(&nsp, ClientDisconnectReason::Transport(reason), false);
        }
        let wanted = self
            .namespaces
            .values()
            .any(|n| n.state == NsState::Waiting);
        if self.closed || !wanted || !self.config.reconnect.enabled {
            return;
        }
        self.attempts += 1;
        if self
            .config
            .reconnect
            .max_attempts
            .is_some_and(|max| self.attempts > max)
        {
            self.events.push_back(ClientEvent::ReconnectFailed);
            return;
        }
        let random = self.next_random();
        let delay = self.config.reconnect.delay(self.attempts, random);
        self.reconnect_at = Some(now + delay);
        self.events.push_back(ClientEvent::ReconnectScheduled {
            attempt: self.attempts,
            delay,
        });
    }

    fn next_random(&mut self) -> f64 {
        self.rng.next_f64()
    }

    /// Handles one message of the Engine.IO connection.
    pub fn handle_message(&mut self, now: Instant, message: Message) {
        self.advance(now);
        if !self.engine_open {
            return;
        }
        let decoded = match message {
            Message::Text(t) => self.decoder.decode_text(t),
            Message::Binary(b) => self.decoder.decode_binary(b),
        };
        match decoded {
            Ok(crate::Decoded::Packet(p)) => self.handle_packet(p),
            Ok(_) => {}
            Err(_) => self.fatal(),
        }
    }

    /// The server broke the protocol: namespaces end with `parse error` (and will reconnect
    /// once the Engine.IO connection is reported closed).
    fn fatal(&mut self) {
        self.events.push_back(ClientEvent::CloseEngine);
        let mut lost = Vec::new();
        for (nsp, ns) in &mut self.namespaces {
            if ns.state == NsState::Connected {
                lost.push(nsp.clone());
            }
            if ns.state != NsState::Idle {
                ns.state = NsState::Waiting;
            }
        }
        for nsp in lost {
            self.ended(&nsp, ClientDisconnectReason::ParseError, false);
        }
        // Nothing more is read from this Engine.IO connection; the adapter closes it.
        self.engine_open = false;
    }

    fn mismatch(&mut self) {
        self.events.push_back(ClientEvent::VersionMismatch);
        self.close();
    }

    fn handle_packet(&mut self, packet: Packet) {
        let nsp = packet.nsp_owned();
        let Some(ns) = self.namespaces.get_mut(&nsp) else {
            return; // a namespace we never asked for: ignored
        };
        match packet.kind() {
            PacketKind::Connect if ns.state == NsState::Connecting => {
                let sid = match self.config.version {
                    SocketIoVersion::V5 => {
                        #[derive(serde::Deserialize)]
                        struct Ack {
                            sid: String,
                            pid: Option<String>,
                        }
                        match packet.data_owned::<Ack>() {
                            Ok(Some(ack)) => {
                                let recovered = ack.pid.is_some() && ack.pid == ns.pid;
                                if !recovered {
                                    ns.offset = None;
                                }
                                ns.pid = ack.pid;
                                (ack.sid, recovered)
                            }
                            // `40` alone: a protocol v4 (socket.io 2.x) server.
                            Ok(None) => return self.mismatch(),
                            // Garbage.
                            Err(_) => return self.fatal(),
                        }
                    }
                    // socketio.md §8: v4 ids are derived, the Engine.IO sid for `/`.
                    SocketIoVersion::V4 if nsp.is_main() => (self.engine_sid.clone(), false),
                    SocketIoVersion::V4 => (format!("{}#{}", nsp.as_str(), self.engine_sid), false),
                };
                let ns = self.namespaces.get_mut(&nsp).expect("present");
                ns.state = NsState::Connected;
                ns.sid = Some(sid.0.clone());
                let early = std::mem::take(&mut ns.early);
                let offline = std::mem::take(&mut ns.offline);
                self.events.push_back(ClientEvent::Connected {
                    nsp: nsp.clone(),
                    sid: sid.0,
                    recovered: sid.1,
                });
                for p in early {
                    self.events.push_back(ClientEvent::Event {
                        nsp: nsp.clone(),
                        packet: p,
                    });
                }
                for (p, _) in offline {
                    queue(&mut self.transmits, &p);
                }
            }
            PacketKind::ConnectError if ns.state == NsState::Connecting => {
                ns.state = NsState::Idle;
                let data = match packet.data_owned::<serde_json::Value>() {
                    Ok(Some(v)) => v,
                    _ => serde_json::Value::Null,
                };
                self.events
                    .push_back(ClientEvent::ConnectError { nsp, data });
            }
            PacketKind::Disconnect if ns.state == NsState::Connected => {
                ns.state = NsState::Idle;
                ns.offline.clear();
                self.ended(&nsp, ClientDisconnectReason::ServerDisconnect, true);
            }
            PacketKind::Event | PacketKind::BinaryEvent => {
                if !packet.has_payload() {
                    return;
                }
                if packet.validate().is_err() {
                    return self.fatal();
                }
                if ns.pid.is_some() {
                    // Recovery: the last argument, if a string, is the packet's offset.
                    if let Ok(args) = packet.args_value() {
                        if let Some(serde_json::Value::String(o)) = args.last() {
                            ns.offset = Some(o.clone());
                        }
                    }
                }
                match ns.state {
                    NsState::Connected => self.events.push_back(ClientEvent::Event { nsp, packet }),
                    NsState::Connecting if ns.early.len() < self.config.max_offline_packets => {
                        ns.early.push(packet);
                    }
                    _ => {}
                }
            }
            PacketKind::Ack | PacketKind::BinaryAck => {
                if packet.validate().is_err() {
                    return self.fatal();
                }
                let Some(id) = packet.ack_id() else { return };
                if self.acks.remove(&nsp, id) {
                    self.events.push_back(ClientEvent::Ack { nsp, id, packet });
                }
            }
            _ => {}
        }
    }

    /// Handles expired timers: ack timeouts and the reconnection delay.
    pub fn handle_timeout(&mut self, now: Instant) {
        let now = self.advance(now);
        if self.reconnect_at.is_some_and(|t| t <= now) {
            self.reconnect_at = None;
            self.events.push_back(ClientEvent::Reconnect);
        }
        while let Some((nsp, id)) = self.acks.pop_expired(now) {
            self.events.push_back(ClientEvent::AckTimedOut { nsp, id });
        }
    }

    /// When to call [`ClientConn::handle_timeout`] next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        [self.acks.next_deadline(), self.reconnect_at]
            .into_iter()
            .flatten()
            .min()
    }

    /// The next message for the Engine.IO client, or `None`.
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<Message> {
        self.transmits.pop_front()
    }

    /// The next event, or `None`.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<ClientEvent> {
        self.events.pop_front()
    }

    /// Sends `packet` on `nsp` now when connected, or keeps it in the offline buffer.
    fn send_or_buffer(
        &mut self,
        nsp: &Nsp,
        packet: Encoded,
        ack: Option<AckId>,
    ) -> Result<(), ClientError> {
        let limit = self.config.max_offline_packets;
        let ns = self
            .namespaces
            .get_mut(nsp)
            .ok_or(ClientError::NotConnected)?;
        match ns.state {
            NsState::Idle => Err(ClientError::NotConnected),
            NsState::Connected if self.engine_open => {
                queue(&mut self.transmits, &packet);
                Ok(())
            }
            _ if ns.offline.len() >= limit => Err(ClientError::BufferFull),
            _ => {
                ns.offline.push_back((packet, ack));
                Ok(())
            }
        }
    }

    fn check(&self, nsp: &Nsp) -> Result<(), ClientError> {
        if self.closed {
            return Err(ClientError::Closed);
        }
        match self.namespaces.get(nsp) {
            Some(ns) if ns.state != NsState::Idle => Ok(()),
            _ => Err(ClientError::NotConnected),
        }
    }

    /// Emits `event` on `nsp` (kept in the offline buffer while not connected). Reserved
    /// event names are refused.
    pub fn emit<T: ?Sized + Serialize>(
        &mut self,
        nsp: &Nsp,
        event: &str,
        args: &T,
    ) -> Result<(), ClientError> {
        self.check(nsp)?;
        let packet = self.encoder.event(nsp, event, args, None)?;
        self.send_or_buffer(nsp, packet, None)
    }

    /// Emits `event` with arguments passed on unparsed (kept in the offline buffer while not
    /// connected).
    pub fn emit_raw(&mut self, nsp: &Nsp, event: &str, args: &RawArgs) -> Result<(), ClientError> {
        self.check(nsp)?;
        let packet = self.encoder.event_raw(nsp, event, args, None)?;
        self.send_or_buffer(nsp, packet, None)
    }

    /// Emits `event` asking for an ack within `timeout`; returns the ack id. The answer comes
    /// as [`ClientEvent::Ack`] or [`ClientEvent::AckTimedOut`].
    pub fn emit_with_ack<T: ?Sized + Serialize>(
        &mut self,
        now: Instant,
        nsp: &Nsp,
        event: &str,
        args: &T,
        timeout: Duration,
    ) -> Result<AckId, ClientError> {
        let now = self.advance(now);
        self.check(nsp)?;
        if self.acks.len() >= self.config.max_pending_acks {
            return Err(ClientError::TooManyPendingAcks);
        }
        let ns = self
            .namespaces
            .get_mut(nsp)
            .ok_or(ClientError::NotConnected)?;
        let id = AckId(ns.next_ack);
        let packet = self.encoder.event(nsp, event, args, Some(id))?;
        self.send_or_buffer(nsp, packet, Some(id))?;
        if let Some(ns) = self.namespaces.get_mut(nsp) {
            ns.next_ack += 1;
        }
        self.acks.insert(now + timeout, nsp, id);
        Ok(id)
    }

    /// Answers the server's ack request `id` on `nsp` (BINARY_ACK when `args` carry binary).
    pub fn ack<T: ?Sized + Serialize>(
        &mut self,
        nsp: &Nsp,
        id: AckId,
        args: &T,
    ) -> Result<(), ClientError> {
        if !self.is_connected(nsp) || !self.engine_open {
            return Err(ClientError::NotConnected);
        }
        let packet = self.encoder.ack(nsp, id, args)?;
        queue(&mut self.transmits, &packet);
        Ok(())
    }

    /// Answers the server's ack request `id` with arguments passed on unparsed.
    pub fn ack_raw(&mut self, nsp: &Nsp, id: AckId, args: &RawArgs) -> Result<(), ClientError> {
        if !self.is_connected(nsp) || !self.engine_open {
            return Err(ClientError::NotConnected);
        }
        let packet = self.encoder.ack_raw(nsp, id, args);
        queue(&mut self.transmits, &packet);
        Ok(())
    }

    /// Leaves `nsp`: DISCONNECT goes out if it was connected; no reconnection for it.
    pub fn disconnect(&mut self, nsp: &Nsp) {
        let Some(ns) = self.namespaces.get_mut(nsp) else {
            return;
        };
        let was = ns.state;
        ns.state = NsState::Idle;
        ns.offline.clear();
        if matches!(was, NsState::Connected | NsState::Connecting) && self.engine_open {
            let p = self.encoder.disconnect(nsp);
            queue(&mut self.transmits, &p);
        }
        if was == NsState::Connected {
            self.ended(nsp, ClientDisconnectReason::ClientDisconnect, true);
        } else {
            // Never connected: its buffered requests will not go out either.
            self.fail_acks(nsp, true);
        }
    }

    /// `nsp` is no longer connected: reports it, then ends the ack requests that went out
    /// (every one when `for_good`: the namespace will not reconnect on its own).
    fn ended(&mut self, nsp: &Nsp, reason: ClientDisconnectReason, for_good: bool) {
        self.events.push_back(ClientEvent::Disconnected {
            nsp: nsp.clone(),
            reason,
        });
        self.fail_acks(nsp, for_good);
    }

    fn fail_acks(&mut self, nsp: &Nsp, all: bool) {
        let buffered: Vec<AckId> = match self.namespaces.get(nsp) {
            Some(ns) if !all => ns.offline.iter().filter_map(|(_, id)| *id).collect(),
            _ => Vec::new(),
        };
        // A buffered request goes out on the next connection: it keeps waiting.
        for id in self
            .acks
            .remove_nsp_where(nsp, |id| !buffered.contains(&id))
        {
            self.events.push_back(ClientEvent::AckDisconnected {
                nsp: nsp.clone(),
                id,
            });
        }
    }

    /// Leaves every namespace and asks for the Engine.IO connection to close; no
    /// reconnection follows.
    pub fn close(&mut self) {
        let nsps: Vec<Nsp> = self.namespaces.keys().cloned().collect();
        for nsp in &nsps {
            self.disconnect(nsp);
        }
        self.closed = true;
        self.reconnect_at = None;
        self.events.push_back(ClientEvent::CloseEngine);
    }
}

/// A protocol v4 (socket.io-client 2) client's auth as the query it sends instead: each key
/// of an object, a string as it is and any other value as its JSON text. Empty for anything
/// but an object. For `/` the query goes on the Engine.IO handshake (the adapter's
/// `engineio_proto::client::ClientConfig::query`); other namespaces carry it in their CONNECT,
/// which [`ClientConn`] writes.
pub fn v4_auth_query(auth: &serde_json::Value) -> Vec<(String, String)> {
    let serde_json::Value::Object(map) = auth else {
        return Vec::new();
    };
    map.iter()
        .map(|(k, v)| {
            let v = match v {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            (k.clone(), v)
        })
        .collect()
}

/// What a client of protocol `version` adds to its Engine.IO handshake's query for its auth:
/// under v4 (socket.io-client 2) the auth of `/` travels there ([`v4_auth_query`]); under v5
/// nothing (the auth is in the CONNECT packet).
pub fn handshake_query(
    version: SocketIoVersion,
    auth: Option<&serde_json::Value>,
) -> Vec<(String, String)> {
    match (version, auth) {
        (SocketIoVersion::V4, Some(auth)) => v4_auth_query(auth),
        _ => Vec::new(),
    }
}

fn write_query(pairs: &[(String, String)], out: &mut String) {
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        engineio_proto::http::percent_encode_into(k, out);
        out.push('=');
        engineio_proto::http::percent_encode_into(v, out);
    }
}

fn queue(transmits: &mut VecDeque<Message>, packet: &Encoded) {
    transmits.extend(packet.engineio_packets().filter_map(Message::from_packet));
}

/// A v5 CONNECT payload: socketio.md §7, `pid` and `offset` first, then the auth keys (those
/// not named `pid` or `offset` when recovering). Written in that order whatever the order of
/// serde_json's map (sorted unless `preserve_order` is on).
struct ConnectPayload<'a> {
    recovery: Option<(&'a str, &'a str)>,
    auth: Option<&'a serde_json::Map<String, serde_json::Value>>,
}

impl serde::Serialize for ConnectPayload<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(None)?;
        if let Some((pid, offset)) = self.recovery {
            map.serialize_entry("pid", pid)?;
            map.serialize_entry("offset", offset)?;
        }
        for (k, v) in self.auth.into_iter().flatten() {
            if self.recovery.is_none() || (k != "pid" && k != "offset") {
                map.serialize_entry(k, v)?;
            }
        }
        map.end()
    }
}
