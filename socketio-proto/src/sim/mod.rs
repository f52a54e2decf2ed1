//! A deterministic simulation of Socket.IO over our Engine.IO machines: a [`Server`] with a
//! [`ServerConn`] per Engine.IO session, and [`ClientConn`]s each driving one Engine.IO client
//! at a time (a new one per reconnection), all on the virtual clock and seeded network of
//! [`engineio_proto::sim::Sim`]. Enabled by the `sim` feature.
//!
//! The server side plays a small application: it accepts every CONNECT (unless
//! [`SioSim::reject_connect`] says otherwise), records every event, and, when
//! [`SioSim::auto_ack`] is on, answers every ack request with the same arguments.

pub mod ops;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use engineio_proto::client::{ClientConfig as EioClientConfig, ClientEvent as EioClientEvent};
use engineio_proto::server::{ServerConfig as EioServerConfig, SessionEvent};
use engineio_proto::sim::{NetConfig, Sim};

use crate::client::{ClientConfig, ClientConn, ClientEvent};
use crate::server::{
    Broadcast, ConnEvent, ConnId, ConnectRequest, Plan, Server, ServerConfig, ServerConn,
};
use crate::{Nsp, SocketIoVersion};

/// Decides a CONNECT: `Some((message, data))` rejects it.
pub type RejectFn = Box<dyn FnMut(&ConnectRequest) -> Option<(String, Option<serde_json::Value>)>>;

struct SimClient {
    conn: ClientConn,
    eio_config: EioClientConfig,
    /// The Engine.IO client index in the Engine.IO simulation, and how many of its events
    /// were consumed.
    eio: Option<(usize, usize)>,
    events: Vec<(Duration, ClientEvent)>,
}

/// The simulation. See the module docs.
pub struct SioSim {
    /// The Engine.IO simulation underneath.
    pub eio: Sim,
    /// The Socket.IO server.
    pub server: Server,
    conns: BTreeMap<ConnId, (usize, ServerConn)>,
    /// Messages an Engine.IO session or client refused for now (its buffer was full): kept in
    /// order and retried, as a runtime adapter applies back-pressure.
    server_backlog: BTreeMap<ConnId, std::collections::VecDeque<engineio_proto::Message>>,
    client_backlog: BTreeMap<usize, std::collections::VecDeque<engineio_proto::Message>>,
    /// Engine.IO client index -> events of its session consumed.
    session_read: BTreeMap<usize, usize>,
    clients: Vec<SimClient>,
    server_events: Vec<(Duration, ConnId, ConnEvent)>,
    /// Answer every ack request with its own arguments.
    pub auto_ack: bool,
    /// Decides CONNECTs (default: accept all).
    pub reject_connect: Option<RejectFn>,
}

impl std::fmt::Debug for SioSim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SioSim")
            .field("eio", &self.eio)
            .field("server", &self.server)
            .finish_non_exhaustive()
    }
}

impl SioSim {
    /// A simulation starting at `start`; the server has namespaces `/` and `/admin`.
    pub fn new(
        start: Instant,
        eio_config: EioServerConfig,
        config: ServerConfig,
        net: NetConfig,
        seed: u64,
    ) -> Self {
        let mut n = 0u8;
        let mut server = Server::new(
            config,
            Box::new(move |b: &mut [u8]| {
                n = n.wrapping_add(1);
                b.fill(n.wrapping_add(100));
            }),
        );
        server.add_namespace("/");
        server.add_namespace("/admin");
        SioSim {
            eio: Sim::new(start, eio_config, net, seed),
            server,
            conns: BTreeMap::new(),
            server_backlog: BTreeMap::new(),
            client_backlog: BTreeMap::new(),
            session_read: BTreeMap::new(),
            clients: Vec::new(),
            server_events: Vec::new(),
            auto_ack: true,
            reject_connect: None,
        }
    }

    /// The current virtual time.
    pub fn now(&self) -> Instant {
        self.eio.now()
    }

    /// Adds a client that joins `nsps` (with no auth) and opens its Engine.IO connection.
    pub fn add_client(
        &mut self,
        config: ClientConfig,
        eio_config: EioClientConfig,
        nsps: &[&str],
    ) -> usize {
        let now = self.now();
        let mut conn = ClientConn::new(now, config);
        for nsp in nsps {
            conn.connect(*nsp, None);
        }
        let idx = self.clients.len();
        self.clients.push(SimClient {
            conn,
            eio_config: eio_config.clone(),
            eio: None,
            events: Vec::new(),
        });
        self.open_engine(idx);
        idx
    }

    fn open_engine(&mut self, c: usize) {
        let config = self.clients[c].eio_config.clone();
        let e = self.eio.add_client(config);
        self.clients[c].eio = Some((e, 0));
    }

    /// The index of client `c`'s current Engine.IO client in [`SioSim::eio`].
    pub fn eio_index(&self, c: usize) -> Option<usize> {
        self.clients[c].eio.map(|(e, _)| e)
    }

    /// The client machine.
    pub fn client(&mut self, c: usize) -> &mut ClientConn {
        &mut self.clients[c].conn
    }

    /// Runs `f` on client `c` (emit, ack, connect, ...) and sends what it produced.
    pub fn with_client<R>(&mut self, c: usize, f: impl FnOnce(&mut ClientConn, Instant) -> R) -> R {
        let now = self.now();
        let r = f(&mut self.clients[c].conn, now);
        self.pump();
        r
    }

    /// Runs `f` on the server connection of client `c`'s current Engine.IO session.
    pub fn with_conn<R>(
        &mut self,
        c: usize,
        f: impl FnOnce(&mut Server, &mut ServerConn, Instant) -> R,
    ) -> Option<R> {
        let now = self.now();
        let (e, _) = self.clients[c].eio?;
        let sid = self.eio.sid_of(e)?.as_str().to_owned();
        let (_, conn) = self.conns.get_mut(sid.as_str())?;
        let r = f(&mut self.server, conn, now);
        self.pump();
        Some(r)
    }

    /// Plans and delivers a broadcast; returns the plan and how many recipients took it.
    pub fn broadcast(&mut self, b: &Broadcast) -> (Plan, usize) {
        let now = self.now();
        let plan = self.server.plan(now, b);
        let mut delivered = 0;
        for (conn_id, _) in &plan.targets {
            let Some((e, conn)) = self.conns.get_mut(conn_id) else {
                continue;
            };
            let writable = self
                .eio
                .session_of(*e)
                .is_some_and(|s| s.can_send(plan.delivery.packet.text().len()));
            if conn.deliver(now, &plan.delivery, writable) {
                delivered += 1;
            }
        }
        self.pump();
        (plan, delivered)
    }

    /// Events client `c` reported, with the time since the start.
    pub fn client_events(&self, c: usize) -> &[(Duration, ClientEvent)] {
        &self.clients[c].events
    }

    /// Events of every server connection, with the time and connection.
    pub fn server_events(&self) -> &[(Duration, ConnId, ConnEvent)] {
        &self.server_events
    }

    /// Runs for `d` of virtual time in 1 ms steps.
    pub fn run_for(&mut self, d: Duration) {
        let until = self.now() + d;
        self.pump();
        while self.now() < until {
            let step = Duration::from_millis(1).min(until - self.now());
            self.eio.run_for(step);
            self.pump();
        }
    }

    /// Moves every message and event between the layers until nothing moves.
    fn pump(&mut self) {
        for _ in 0..10_000 {
            if !self.pump_once() {
                return;
            }
        }
        panic!("socket.io simulation does not settle");
    }

    fn pump_once(&mut self) -> bool {
        let now = self.now();
        let elapsed = self.eio.elapsed();
        let mut moved = false;
        // Server side: new sessions, their events.
        let eio_clients: Vec<(usize, String, SocketIoVersion)> = (0..self.eio_client_count())
            .filter_map(|e| {
                let session = self.eio.session_of(e)?;
                Some((
                    e,
                    session.sid().as_str().to_owned(),
                    session.version().into(),
                ))
            })
            .collect();
        for (e, sid, version) in eio_clients {
            let id = ConnId::new(sid.as_str());
            if !self.conns.contains_key(sid.as_str()) && !self.session_closed(e) {
                let conn = ServerConn::new(now, id.clone(), version, self.server.config().clone());
                self.conns.insert(id.clone(), (e, conn));
                moved = true;
            }
            let read = self.session_read.entry(e).or_insert(0);
            let events: Vec<SessionEvent> = self.eio.session_events(&sid)[*read..].to_vec();
            *read += events.len();
            let Some((_, conn)) = self.conns.get_mut(sid.as_str()) else {
                continue;
            };
            for ev in events {
                moved = true;
                match ev {
                    SessionEvent::Message(m) => conn.handle_message(now, m),
                    SessionEvent::Closed(r) => conn.handle_engine_closed(now, r),
                    _ => {}
                }
            }
        }
        // Server connections: timers, transmits, events.
        let ids: Vec<ConnId> = self.conns.keys().cloned().collect();
        for id in ids {
            let (e, conn) = self.conns.get_mut(&id).expect("listed");
            let e = *e;
            if conn.poll_timeout().is_some_and(|t| t <= now) {
                conn.handle_timeout(now);
            }
            let backlog = self.server_backlog.entry(id.clone()).or_default();
            while let Some(out) = conn.poll_transmit() {
                moved = true;
                backlog.push_back(out.message);
            }
            while let Some(m) = backlog.pop_front() {
                if let Err(engineio_proto::UsageError::BufferFull) =
                    self.eio.server_send(e, m.clone())
                {
                    backlog.push_front(m);
                    break;
                }
                moved = true;
            }
            let mut events = Vec::new();
            while let Some(ev) = conn.poll_event() {
                events.push(ev);
            }
            let mut updates = Vec::new();
            while let Some(u) = conn.poll_server_update() {
                updates.push(u);
            }
            for u in updates {
                self.server.handle_update(now, u);
            }
            for ev in events {
                moved = true;
                self.server_app(now, &id, e, &ev);
                self.server_events.push((elapsed, id.clone(), ev));
            }
        }
        // Client side.
        for c in 0..self.clients.len() {
            if let Some((e, read)) = self.clients[c].eio {
                let events: Vec<EioClientEvent> = self.eio.client_events(e)[read..].to_vec();
                self.clients[c].eio = Some((e, read + events.len()));
                let conn = &mut self.clients[c].conn;
                for ev in events {
                    moved = true;
                    match ev {
                        EioClientEvent::Open(open) => conn.handle_engine_open(now, &open.sid),
                        EioClientEvent::Message(m) => conn.handle_message(now, m),
                        EioClientEvent::Closed(r) => conn.handle_engine_closed(now, r),
                        _ => {}
                    }
                }
            }
            let conn = &mut self.clients[c].conn;
            if conn.poll_timeout().is_some_and(|t| t <= now) {
                conn.handle_timeout(now);
            }
            let mut out = Vec::new();
            while let Some(m) = conn.poll_transmit() {
                out.push(m);
            }
            let mut events = Vec::new();
            while let Some(ev) = conn.poll_event() {
                events.push(ev);
            }
            let backlog = self.client_backlog.entry(c).or_default();
            backlog.extend(out);
            if let Some((e, _)) = self.clients[c].eio {
                while let Some(m) = backlog.pop_front() {
                    if let Err(engineio_proto::UsageError::BufferFull) =
                        self.eio.client_send(e, m.clone())
                    {
                        backlog.push_front(m);
                        break;
                    }
                    moved = true;
                }
            }
            for ev in events {
                moved = true;
                match ev {
                    ClientEvent::CloseEngine => {
                        if let Some((e, _)) = self.clients[c].eio {
                            self.eio.client_close(e);
                        }
                    }
                    ClientEvent::Reconnect => self.open_engine(c),
                    _ => {}
                }
                self.clients[c].events.push((elapsed, ev));
            }
        }
        moved
    }

    fn eio_client_count(&self) -> usize {
        self.clients
            .iter()
            .filter_map(|c| c.eio.map(|(e, _)| e + 1))
            .max()
            .unwrap_or(0)
    }

    fn session_closed(&self, e: usize) -> bool {
        self.eio.session_of(e).is_none_or(|s| s.is_closed())
    }

    /// The small server application: accept (or reject) CONNECTs, auto-ack.
    fn server_app(&mut self, now: Instant, id: &ConnId, e: usize, ev: &ConnEvent) {
        let Some((_, conn)) = self.conns.get_mut(id) else {
            return;
        };
        match ev {
            ConnEvent::Connect(req) => {
                let Some(req) = self.server.resolve(conn, req.clone()) else {
                    return;
                };
                let verdict = self.reject_connect.as_mut().and_then(|f| f(&req));
                match verdict {
                    Some((message, data)) => conn.reject(req, &message, data),
                    None => {
                        let _ = self.server.accept(now, conn, req);
                    }
                }
            }
            ConnEvent::Event { nsp, packet, .. } if self.auto_ack => {
                if let (Some(id), Some(args)) = (packet.ack_id(), packet.raw_args()) {
                    let nsp: &Nsp = nsp;
                    let _ = conn.ack_raw(nsp, id, &args);
                }
            }
            ConnEvent::Closed(_) => {
                self.eio.server_close(e);
            }
            _ => {}
        }
    }
}
