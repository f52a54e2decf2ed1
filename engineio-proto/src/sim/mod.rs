//! A deterministic simulation: an [`Engine`] with its [`Session`]s and any number of
//! [`Client`]s, a virtual clock and a seeded network (latency, loss, reordering across
//! connections). Enabled by the `sim` feature.
//!
//! Every HTTP request, response and WebSocket frame travels through the simulated network and
//! is written to a text transcript (`C0->S GET /engine.io/?EIO=4&transport=polling`,
//! `S->C0 200 0{"sid":...}`), so tests can compare the wire as text. Nothing reads a real
//! clock: the caller supplies the starting [`Instant`] and the simulation moves it.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use engineio_proto::client::{ClientConfig, ClientEvent};
//! use engineio_proto::server::ServerConfig;
//! use engineio_proto::sim::{NetConfig, Sim};
//!
//! # #[allow(clippy::disallowed_methods)]
//! let mut sim = Sim::new(Instant::now(), ServerConfig::default(), NetConfig::default(), 1);
//! let c = sim.add_client(ClientConfig::default());
//! sim.run_for(Duration::from_millis(100));
//! sim.client_send(c, "hello").unwrap();
//! sim.run_for(Duration::from_millis(100));
//! assert_eq!(sim.server_messages(c), ["hello"]);
//! assert!(sim.client_events(c).iter().any(|e| matches!(e, ClientEvent::Upgraded)));
//! ```

pub mod client_ops;
pub mod server_ops;

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use crate::client::{Client, ClientConfig, ClientEvent, ClientTransmit};
use crate::http::{HttpRequest, HttpResponse, RequestId};
use crate::message::{Message, UsageError};
pub use crate::rng::SplitMix64;
use crate::server::{Engine, Route, ServerConfig, Session, SessionEvent, Sid, Transmit};
use crate::WsFrame;

/// Network behaviour.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NetConfig {
    /// Smallest one-way latency.
    pub latency_min: Duration,
    /// Largest one-way latency; deliveries on different connections may overtake each other
    /// when it exceeds `latency_min`. Frames of one WebSocket stay in order.
    pub latency_max: Duration,
    /// Probability (0..=1) that a message breaks its connection instead of arriving: an HTTP
    /// request or response fails, a WebSocket frame closes its WebSocket on both ends.
    pub loss: f64,
}

impl Default for NetConfig {
    fn default() -> Self {
        NetConfig {
            latency_min: Duration::from_millis(5),
            latency_max: Duration::from_millis(5),
            loss: 0.0,
        }
    }
}

#[derive(Debug)]
enum Delivery {
    ServerHttp {
        client: usize,
        id: RequestId,
        request: HttpRequest,
    },
    ServerWsOpen {
        client: usize,
        gen: u64,
        request: HttpRequest,
    },
    ServerWsFrame {
        client: usize,
        gen: u64,
        frame: WsFrame,
    },
    ServerWsClosed {
        client: usize,
        gen: u64,
    },
    ServerAborted {
        sid: Sid,
        id: RequestId,
    },
    ClientResponse {
        client: usize,
        id: RequestId,
        response: HttpResponse,
    },
    ClientRequestFailed {
        client: usize,
        id: RequestId,
    },
    ClientWsOpen {
        client: usize,
        gen: u64,
    },
    ClientWsFrame {
        client: usize,
        gen: u64,
        frame: WsFrame,
    },
    ClientWsClosed {
        client: usize,
        gen: u64,
    },
}

#[derive(Debug)]
struct ClientSlot {
    /// `None` for a raw connection driven by the test.
    client: Option<Client>,
    /// What a raw connection received, as transcript text (`200 ok`, `WS 3probe`, ...).
    raw: Vec<String>,
    events: Vec<ClientEvent>,
    sid: Option<Sid>,
    /// The generation of the client's current WebSocket; deliveries for older ones are
    /// dropped (their connection is gone).
    ws_gen: u64,
    ws_live: bool,
    /// Server-side ids of this client's requests still waiting for an answer.
    pending: Vec<(Sid, RequestId)>,
}

/// Where a server-side request came from.
#[derive(Debug, Clone, Copy)]
enum Origin {
    Http { client: usize, id: RequestId },
    Ws { client: usize, gen: u64 },
}

/// The simulation. See the module docs.
#[derive(Debug)]
pub struct Sim {
    start: Instant,
    now: Instant,
    rng: SplitMix64,
    net: NetConfig,
    engine: Engine,
    sessions: BTreeMap<Sid, Session>,
    session_events: BTreeMap<Sid, Vec<SessionEvent>>,
    clients: Vec<ClientSlot>,
    /// Server-side request id -> where the answer goes.
    origins: HashMap<RequestId, Origin>,
    /// Sid -> the client whose WebSocket it has.
    session_ws: HashMap<Sid, (usize, u64)>,
    queue: BTreeMap<(Instant, u64), Delivery>,
    /// Per-connection FIFO: the last delivery time of each WebSocket direction.
    ws_last: HashMap<(usize, u64, bool), Instant>,
    seq: u64,
    transcript: Vec<String>,
    /// Whether handshakes are accepted.
    pub accept_handshakes: bool,
}

impl Sim {
    /// A simulation starting at `start`, serving `server`, with network `net` and `seed` for
    /// both the network and the session ids.
    pub fn new(start: Instant, server: ServerConfig, net: NetConfig, seed: u64) -> Self {
        // Session ids from a counter, so transcripts are stable: the n-th session's id is the
        // base64url of 15 bytes of value n.
        let mut counter = 0u8;
        let random = Box::new(move |buf: &mut [u8]| {
            counter = counter.wrapping_add(1);
            buf.fill(counter);
        });
        Sim {
            start,
            now: start,
            rng: SplitMix64::new(seed),
            net,
            engine: Engine::new(server, random),
            sessions: BTreeMap::new(),
            session_events: BTreeMap::new(),
            clients: Vec::new(),
            origins: HashMap::new(),
            session_ws: HashMap::new(),
            queue: BTreeMap::new(),
            ws_last: HashMap::new(),
            seq: 0,
            transcript: Vec::new(),
            accept_handshakes: true,
        }
    }

    /// The current virtual time.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// The time since the start.
    pub fn elapsed(&self) -> Duration {
        self.now - self.start
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Adds a client; it starts its handshake at once.
    pub fn add_client(&mut self, config: ClientConfig) -> usize {
        let idx = self.clients.len();
        self.clients.push(ClientSlot {
            client: Some(Client::new(self.now, config)),
            raw: Vec::new(),
            events: Vec::new(),
            sid: None,
            ws_gen: 0,
            ws_live: false,
            pending: Vec::new(),
        });
        self.drain_client(idx);
        idx
    }

    /// Adds a raw connection: the test writes its requests and frames by hand
    /// ([`Sim::raw_request`], [`Sim::raw_ws_open`], [`Sim::raw_ws_send`]) and reads what came
    /// back with [`Sim::raw_received`].
    pub fn add_raw(&mut self) -> usize {
        let idx = self.clients.len();
        self.clients.push(ClientSlot {
            client: None,
            raw: Vec::new(),
            events: Vec::new(),
            sid: None,
            ws_gen: 0,
            ws_live: false,
            pending: Vec::new(),
        });
        idx
    }

    /// Sends a raw HTTP request from raw connection `c`.
    pub fn raw_request(&mut self, c: usize, request: HttpRequest) {
        self.log(format_args!("C{c}->S {}", describe_request(&request)));
        let id = RequestId(self.seq);
        let at = self.now + self.latency();
        self.schedule(
            at,
            Delivery::ServerHttp {
                client: c,
                id,
                request,
            },
        );
    }

    /// Aborts raw connection `c`'s requests that wait for an answer (the TCP connection
    /// drops).
    pub fn raw_abort(&mut self, c: usize) {
        self.log(format_args!("C{c}->S abort"));
        let pending = std::mem::take(&mut self.clients[c].pending);
        for (sid, id) in pending {
            let at = self.now + self.latency();
            self.schedule(at, Delivery::ServerAborted { sid, id });
        }
    }

    /// Opens a WebSocket from raw connection `c` (closing the previous one, if any).
    pub fn raw_ws_open(&mut self, c: usize, uri: &str) {
        self.open_ws(c, HttpRequest::websocket(uri));
    }

    /// Connection `c` opens a (new) WebSocket with `request`.
    fn open_ws(&mut self, c: usize, request: HttpRequest) {
        self.log(format_args!("C{c}->S WS {}", request.uri));
        let slot = &mut self.clients[c];
        slot.ws_gen += 1;
        slot.ws_live = true;
        let gen = slot.ws_gen;
        let open = Delivery::ServerWsOpen {
            client: c,
            gen,
            request,
        };
        self.schedule_ws(c, gen, true, open);
    }

    /// Sends a frame on raw connection `c`'s WebSocket (never lost: the test wrote it).
    pub fn raw_ws_send(&mut self, c: usize, frame: WsFrame) {
        self.ws_to_server(c, frame, false);
    }

    /// A frame from connection `c` to the server; with `lossy`, the network may break the
    /// WebSocket instead.
    fn ws_to_server(&mut self, c: usize, frame: WsFrame, lossy: bool) {
        self.log(format_args!("C{c}->S WS {}", describe_frame(&frame)));
        let gen = self.clients[c].ws_gen;
        if lossy && self.lost() {
            return self.break_ws(c, gen);
        }
        let d = Delivery::ServerWsFrame {
            client: c,
            gen,
            frame,
        };
        self.schedule_ws(c, gen, true, d);
    }

    /// Closes raw connection `c`'s WebSocket.
    pub fn raw_ws_close(&mut self, c: usize) {
        self.log(format_args!("C{c}->S WS close"));
        let gen = self.clients[c].ws_gen;
        self.clients[c].ws_live = false;
        self.schedule_ws(c, gen, true, Delivery::ServerWsClosed { client: c, gen });
    }

    /// What raw connection `c` received so far, as transcript text.
    pub fn raw_received(&self, c: usize) -> &[String] {
        &self.clients[c].raw
    }

    /// The client machine of connection `c` (panics for a raw connection).
    pub fn client(&self, c: usize) -> &Client {
        self.clients[c]
            .client
            .as_ref()
            .expect("not a raw connection")
    }

    /// The session of client `c`, once its handshake was accepted.
    pub fn session_of(&self, c: usize) -> Option<&Session> {
        self.sessions.get(self.clients[c].sid.as_ref()?)
    }

    /// The sid of client `c`'s session.
    pub fn sid_of(&self, c: usize) -> Option<&Sid> {
        self.clients[c].sid.as_ref()
    }

    /// Sends a message from client `c`.
    pub fn client_send(&mut self, c: usize, msg: impl Into<Message>) -> Result<(), UsageError> {
        let r = self.machine(c).send(msg);
        self.drain_client(c);
        r
    }

    /// Closes client `c`.
    pub fn client_close(&mut self, c: usize) {
        let now = self.now;
        self.machine(c).close(now);
        self.drain_client(c);
    }

    /// Sends a message from the server to client `c`'s session.
    pub fn server_send(&mut self, c: usize, msg: impl Into<Message>) -> Result<(), UsageError> {
        let sid = self.clients[c]
            .sid
            .clone()
            .ok_or(UsageError::NotConnected)?;
        let session = self.sessions.get_mut(&sid).ok_or(UsageError::Closed)?;
        let r = session.send(msg);
        self.drain_session(&sid);
        r
    }

    /// Closes client `c`'s session from the server.
    pub fn server_close(&mut self, c: usize) {
        let Some(sid) = self.clients[c].sid.clone() else {
            return;
        };
        if let Some(s) = self.sessions.get_mut(&sid) {
            s.close(self.now);
            self.drain_session(&sid);
        }
    }

    /// Events client `c` reported so far.
    pub fn client_events(&self, c: usize) -> &[ClientEvent] {
        &self.clients[c].events
    }

    /// Events client `c`'s session reported so far.
    pub fn server_events(&self, c: usize) -> &[SessionEvent] {
        self.clients[c]
            .sid
            .as_ref()
            .and_then(|sid| self.session_events.get(sid))
            .map_or(&[], Vec::as_slice)
    }

    /// Events the session `sid` reported so far (for raw connections).
    pub fn session_events(&self, sid: &str) -> &[SessionEvent] {
        self.session_events
            .iter()
            .find(|(k, _)| k.as_str() == sid)
            .map_or(&[], |(_, v)| v.as_slice())
    }

    /// Text messages client `c` received.
    pub fn client_messages(&self, c: usize) -> Vec<String> {
        self.client_events(c)
            .iter()
            .filter_map(|e| match e {
                ClientEvent::Message(m) => Some(message_text(m)),
                _ => None,
            })
            .collect()
    }

    /// Text messages client `c`'s session received.
    pub fn server_messages(&self, c: usize) -> Vec<String> {
        self.server_events(c)
            .iter()
            .filter_map(|e| match e {
                SessionEvent::Message(m) => Some(message_text(m)),
                _ => None,
            })
            .collect()
    }

    /// The transcript so far, one line per message on the wire.
    pub fn transcript(&self) -> &[String] {
        &self.transcript
    }

    /// Clears the transcript.
    pub fn clear_transcript(&mut self) {
        self.transcript.clear();
    }

    fn machine(&mut self, c: usize) -> &mut Client {
        self.clients[c]
            .client
            .as_mut()
            .expect("not a raw connection")
    }

    /// Runs until `d` of virtual time has passed (or 1 000 000 steps, then panics: a
    /// simulation that never settles is a bug).
    pub fn run_for(&mut self, d: Duration) {
        let until = self.now + d;
        let mut steps = 0u32;
        while let Some(at) = self.next_event_time().filter(|t| *t <= until) {
            steps += 1;
            assert!(steps < 1_000_000, "simulation does not settle");
            self.now = self.now.max(at);
            self.step();
        }
        self.now = until;
    }

    /// Runs until `pred` holds (checked after every step), at most `limit` of virtual time.
    /// Returns whether it held.
    pub fn run_until(&mut self, limit: Duration, mut pred: impl FnMut(&Sim) -> bool) -> bool {
        let until = self.now + limit;
        let mut steps = 0u32;
        while !pred(self) {
            let Some(at) = self.next_event_time().filter(|t| *t <= until) else {
                self.now = until;
                return pred(self);
            };
            steps += 1;
            assert!(steps < 1_000_000, "simulation does not settle");
            self.now = self.now.max(at);
            self.step();
        }
        true
    }

    fn next_event_time(&self) -> Option<Instant> {
        let net = self.queue.keys().next().map(|(t, _)| *t);
        let sessions = self
            .sessions
            .values()
            .filter_map(Session::poll_timeout)
            .min();
        let clients = self
            .clients
            .iter()
            .filter_map(|c| c.client.as_ref()?.poll_timeout())
            .min();
        [net, sessions, clients].into_iter().flatten().min()
    }

    fn step(&mut self) {
        let now = self.now;
        // Deliveries due now first, in send order; then timers.
        while let Some(entry) = self.queue.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let d = entry.remove();
            self.deliver(d);
        }
        let due: Vec<Sid> = self
            .sessions
            .iter()
            .filter(|(_, s)| s.poll_timeout().is_some_and(|t| t <= now))
            .map(|(sid, _)| sid.clone())
            .collect();
        for sid in due {
            if let Some(s) = self.sessions.get_mut(&sid) {
                s.handle_timeout(now);
            }
            self.drain_session(&sid);
        }
        for c in 0..self.clients.len() {
            let Some(client) = self.clients[c].client.as_mut() else {
                continue;
            };
            if client.poll_timeout().is_some_and(|t| t <= now) {
                client.handle_timeout(now);
                self.drain_client(c);
            }
        }
    }

    fn latency(&mut self) -> Duration {
        let span = self.net.latency_max.saturating_sub(self.net.latency_min);
        let jitter = span.mul_f64(self.rng.next_f64());
        self.net.latency_min + jitter
    }

    fn lost(&mut self) -> bool {
        self.net.loss > 0.0 && self.rng.next_f64() < self.net.loss
    }

    fn schedule(&mut self, at: Instant, d: Delivery) {
        self.seq += 1;
        self.queue.insert((at, self.seq), d);
    }

    /// Schedules a WebSocket delivery after every earlier one in the same direction.
    fn schedule_ws(&mut self, client: usize, gen: u64, to_server: bool, d: Delivery) {
        let mut at = self.now + self.latency();
        let last = self.ws_last.entry((client, gen, to_server)).or_insert(at);
        at = at.max(*last);
        *last = at;
        self.schedule(at, d);
    }

    fn log(&mut self, line: std::fmt::Arguments<'_>) {
        let ms = (self.now - self.start).as_millis();
        let mut s = String::new();
        let _ = write!(s, "[{ms:>6}] {line}");
        self.transcript.push(s);
    }

    fn deliver(&mut self, d: Delivery) {
        let now = self.now;
        match d {
            Delivery::ServerHttp {
                client,
                id,
                request,
            } => {
                let routed = self.engine.handle_request(request);
                self.route(client, id, routed.id, routed.route);
            }
            Delivery::ServerWsOpen {
                client,
                gen,
                request,
            } => {
                if self.clients[client].ws_gen != gen {
                    return;
                }
                let routed = self.engine.handle_request(request);
                self.origins.insert(routed.id, Origin::Ws { client, gen });
                self.route(client, RequestId(u64::MAX), routed.id, routed.route);
            }
            Delivery::ServerWsFrame { client, gen, frame } => {
                if let Some(sid) = self.ws_session(client, gen) {
                    if let Some(s) = self.sessions.get_mut(&sid) {
                        s.handle_ws_frame(now, frame);
                    }
                    self.drain_session(&sid);
                }
            }
            Delivery::ServerWsClosed { client, gen } => {
                if let Some(sid) = self.ws_session(client, gen) {
                    self.session_ws.remove(&sid);
                    if let Some(s) = self.sessions.get_mut(&sid) {
                        s.handle_ws_closed(now);
                    }
                    self.drain_session(&sid);
                }
            }
            Delivery::ServerAborted { sid, id } => {
                self.origins.remove(&id);
                if let Some(s) = self.sessions.get_mut(&sid) {
                    s.handle_request_aborted(now, id);
                }
                self.drain_session(&sid);
            }
            Delivery::ClientResponse {
                client,
                id,
                response,
            } => {
                let slot = &mut self.clients[client];
                match slot.client.as_mut() {
                    Some(m) => m.handle_response(now, id, response),
                    None => slot.raw.push(describe_response(&response)),
                }
                self.drain_client(client);
            }
            Delivery::ClientRequestFailed { client, id } => {
                let slot = &mut self.clients[client];
                match slot.client.as_mut() {
                    Some(m) => m.handle_request_failed(now, id),
                    None => slot.raw.push("failed".to_owned()),
                }
                self.drain_client(client);
            }
            Delivery::ClientWsOpen { client, gen } => {
                let slot = &mut self.clients[client];
                if slot.ws_gen == gen && slot.ws_live {
                    match slot.client.as_mut() {
                        Some(m) => m.handle_ws_open(now),
                        None => slot.raw.push("WS 101".to_owned()),
                    }
                    self.drain_client(client);
                }
            }
            Delivery::ClientWsFrame { client, gen, frame } => {
                let slot = &mut self.clients[client];
                if slot.ws_gen == gen && slot.ws_live {
                    match slot.client.as_mut() {
                        Some(m) => m.handle_ws_frame(now, frame),
                        None => slot.raw.push(format!("WS {}", describe_frame(&frame))),
                    }
                    self.drain_client(client);
                }
            }
            Delivery::ClientWsClosed { client, gen } => {
                let slot = &mut self.clients[client];
                if slot.ws_gen == gen && slot.ws_live {
                    slot.ws_live = false;
                    match slot.client.as_mut() {
                        Some(m) => m.handle_ws_closed(now),
                        None => slot.raw.push("WS closed".to_owned()),
                    }
                    self.drain_client(client);
                }
            }
        }
    }

    fn ws_session(&self, client: usize, gen: u64) -> Option<Sid> {
        self.session_ws
            .iter()
            .find(|(_, &(c, g))| c == client && g == gen)
            .map(|(sid, _)| sid.clone())
    }

    /// Acts on the engine's routing decision for a request from `client` (client-side id
    /// `cid`, server-side id `sid_req`).
    fn route(&mut self, client: usize, cid: RequestId, server_id: RequestId, route: Route) {
        let now = self.now;
        self.origins
            .entry(server_id)
            .or_insert(Origin::Http { client, id: cid });
        match route {
            Route::Reply(response) => self.answer(server_id, response),
            Route::Handshake(incoming) => {
                if self.accept_handshakes {
                    let session = self.engine.accept(now, incoming);
                    let sid = session.sid().clone();
                    if let Some(slot) = self.clients.get_mut(client) {
                        slot.sid = Some(sid.clone());
                    }
                    self.sessions.insert(sid.clone(), session);
                    self.drain_session(&sid);
                } else {
                    let (id, response) = self.engine.reject(incoming, None);
                    self.answer(id, response);
                }
            }
            Route::Session(sid, req) => {
                if let (Some(slot), Origin::Http { .. }) =
                    (self.clients.get_mut(client), self.origins[&server_id])
                {
                    slot.pending.push((sid.clone(), server_id));
                }
                if let Some(s) = self.sessions.get_mut(&sid) {
                    s.handle_request(now, req);
                }
                self.drain_session(&sid);
            }
        }
    }

    /// Sends an HTTP answer (or a refused WebSocket) back to where request `id` came from.
    fn answer(&mut self, id: RequestId, response: HttpResponse) {
        let Some(origin) = self.origins.remove(&id) else {
            return;
        };
        match origin {
            Origin::Http { client, id: cid } => {
                self.log(format_args!(
                    "S->C{} {}",
                    client,
                    describe_response(&response)
                ));
                if let Some(slot) = self.clients.get_mut(client) {
                    slot.pending.retain(|(_, r)| *r != id);
                } else {
                    return;
                }
                let at = self.now + self.latency();
                let d = if self.lost() {
                    self.log(format_args!("  (lost: the request fails)"));
                    Delivery::ClientRequestFailed { client, id: cid }
                } else {
                    Delivery::ClientResponse {
                        client,
                        id: cid,
                        response,
                    }
                };
                self.schedule(at, d);
            }
            Origin::Ws { client, gen } => {
                self.log(format_args!(
                    "S->C{} WS refused {}",
                    client,
                    describe_response(&response)
                ));
                self.schedule_ws(client, gen, false, Delivery::ClientWsClosed { client, gen });
            }
        }
    }

    fn drain_session(&mut self, sid: &Sid) {
        loop {
            let Some(session) = self.sessions.get_mut(sid) else {
                return;
            };
            let Some(t) = session.poll_transmit() else {
                break;
            };
            match t {
                Transmit::Response { request, response } => self.answer(request, response),
                Transmit::AcceptWebSocket { request, .. } => {
                    if let Some(Origin::Ws { client, gen }) = self.origins.remove(&request) {
                        self.log(format_args!("S->C{} WS 101", client));
                        self.session_ws.insert(sid.clone(), (client, gen));
                        self.schedule_ws(
                            client,
                            gen,
                            false,
                            Delivery::ClientWsOpen { client, gen },
                        );
                    }
                }
                Transmit::RefuseWebSocket { request, .. } => {
                    // Opened, then closed at once; the session's own WebSocket is untouched.
                    if let Some(Origin::Ws { client, gen }) = self.origins.remove(&request) {
                        self.log(format_args!("S->C{} WS 101, then WS close", client));
                        self.schedule_ws(
                            client,
                            gen,
                            false,
                            Delivery::ClientWsOpen { client, gen },
                        );
                        self.schedule_ws(
                            client,
                            gen,
                            false,
                            Delivery::ClientWsClosed { client, gen },
                        );
                    }
                }
                Transmit::WsFrame(frame) => {
                    if let Some(&(client, gen)) = self.session_ws.get(sid) {
                        self.log(format_args!("S->C{} WS {}", client, describe_frame(&frame)));
                        if self.lost() {
                            self.break_ws(client, gen);
                        } else {
                            self.schedule_ws(
                                client,
                                gen,
                                false,
                                Delivery::ClientWsFrame { client, gen, frame },
                            );
                        }
                    }
                }
                Transmit::CloseWebSocket { code } => {
                    if let Some((client, gen)) = self.session_ws.remove(sid) {
                        self.log(format_args!(
                            "S->C{} WS close{}",
                            client,
                            code.map(|c| format!(" {c}")).unwrap_or_default()
                        ));
                        self.schedule_ws(
                            client,
                            gen,
                            false,
                            Delivery::ClientWsClosed { client, gen },
                        );
                    }
                }
            }
        }
        let session = self.sessions.get_mut(sid).expect("checked above");
        let mut updates = Vec::new();
        while let Some(u) = session.poll_engine_update() {
            updates.push(u);
        }
        let events = self.session_events.entry(sid.clone()).or_default();
        while let Some(e) = session.poll_event() {
            events.push(e);
        }
        for u in updates {
            self.engine.handle_update(u);
        }
    }

    /// A WebSocket breaks: both ends see it closed.
    fn break_ws(&mut self, client: usize, gen: u64) {
        self.log(format_args!("C{} WS broken", client));
        self.schedule_ws(client, gen, false, Delivery::ClientWsClosed { client, gen });
        self.schedule_ws(client, gen, true, Delivery::ServerWsClosed { client, gen });
    }

    fn drain_client(&mut self, c: usize) {
        let Some(machine) = self.clients[c].client.as_mut() else {
            return;
        };
        let mut transmits = Vec::new();
        while let Some(t) = machine.poll_transmit() {
            transmits.push(t);
        }
        let mut events = Vec::new();
        while let Some(e) = machine.poll_event() {
            events.push(e);
        }
        for t in transmits {
            match t {
                ClientTransmit::Request { id, request } => {
                    self.log(format_args!("C{c}->S {}", describe_request(&request)));
                    let at = self.now + self.latency();
                    let d = if self.lost() {
                        self.log(format_args!("  (lost: the request fails)"));
                        Delivery::ClientRequestFailed { client: c, id }
                    } else {
                        Delivery::ServerHttp {
                            client: c,
                            id,
                            request,
                        }
                    };
                    self.schedule(at, d);
                }
                ClientTransmit::OpenWebSocket { request } => self.open_ws(c, request),
                ClientTransmit::WsFrame(frame) => self.ws_to_server(c, frame, true),
                ClientTransmit::CloseWebSocket => {
                    self.log(format_args!("C{c}->S WS close"));
                    let gen = self.clients[c].ws_gen;
                    self.clients[c].ws_live = false;
                    self.schedule_ws(c, gen, true, Delivery::ServerWsClosed { client: c, gen });
                }
            }
        }
        let closed = events.iter().any(|e| matches!(e, ClientEvent::Closed(_)));
        self.clients[c].events.extend(events);
        if closed {
            // The client's runtime drops its connections: held requests are aborted on the
            // server and an open WebSocket closes.
            let pending = std::mem::take(&mut self.clients[c].pending);
            for (sid, id) in pending {
                let at = self.now + self.latency();
                self.schedule(at, Delivery::ServerAborted { sid, id });
            }
            if self.clients[c].ws_live {
                self.clients[c].ws_live = false;
                let gen = self.clients[c].ws_gen;
                self.schedule_ws(c, gen, true, Delivery::ServerWsClosed { client: c, gen });
            }
        }
    }
}

fn message_text(m: &Message) -> String {
    match m {
        Message::Text(t) => t.to_string(),
        Message::Binary(b) => format!("<binary {}>", hex(b)),
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().fold(String::new(), |mut s, x| {
        let _ = write!(s, "{x:02x}");
        s
    })
}

/// Text with control characters escaped (`\x1e`), binary as hex.
fn describe_body(b: &[u8]) -> String {
    match std::str::from_utf8(b) {
        Ok(s) => s.chars().fold(String::new(), |mut out, ch| {
            if ch.is_control() {
                let _ = write!(out, "\\x{:02x}", ch as u32);
            } else {
                out.push(ch);
            }
            out
        }),
        Err(_) => format!("<hex {}>", hex(b)),
    }
}

fn describe_request(r: &HttpRequest) -> String {
    let mut s = format!("{} {}", r.method.as_str(), r.uri);
    if !r.body.is_empty() {
        s.push(' ');
        s.push_str(&describe_body(&r.body));
    }
    s
}

fn describe_response(r: &HttpResponse) -> String {
    let mut s = r.status.to_string();
    if !r.body.is_empty() {
        s.push(' ');
        s.push_str(&describe_body(&r.body));
    }
    s
}

fn describe_frame(f: &WsFrame) -> String {
    match f.clone().joined() {
        WsFrame::Binary(b) => format!("<binary {}>", hex(&b)),
        WsFrame::Text(t) | WsFrame::TextPacket { data: t, .. } => describe_body(t.as_bytes()),
    }
}
