//! Property: random interleavings of join, leave, broadcast and disconnect never deliver to a
//! non-member and deliver to every member exactly once.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use proptest::prelude::*;

use socketio_proto::rooms::Room;
use socketio_proto::server::{Broadcast, ConnId, Server, ServerConfig, ServerConn};
use socketio_proto::{Encoder, Nsp, SocketIoVersion};

#[allow(clippy::disallowed_methods)]
fn start() -> Instant {
    Instant::now()
}

#[derive(Debug, Clone)]
enum Op {
    Join(usize, u8),
    Leave(usize, u8),
    Disconnect(usize),
    Connect(usize),
    Broadcast { to: Vec<u8>, except: Vec<u8> },
}

const CONNS: usize = 6;
const ROOMS: u8 = 4;

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..CONNS, 0..ROOMS).prop_map(|(c, r)| Op::Join(c, r)),
        2 => (0..CONNS, 0..ROOMS).prop_map(|(c, r)| Op::Leave(c, r)),
        1 => (0..CONNS).prop_map(Op::Disconnect),
        1 => (0..CONNS).prop_map(Op::Connect),
        3 => (prop::collection::vec(0..ROOMS, 0..3), prop::collection::vec(0..ROOMS, 0..2))
            .prop_map(|(to, except)| Op::Broadcast { to, except }),
    ]
}

fn room(r: u8) -> Room {
    Room::from(format!("r{r}"))
}

struct Model {
    server: Server,
    conns: Vec<Option<ServerConn>>,
    rooms: Vec<BTreeSet<u8>>,
    generation: u32,
}

impl Model {
    fn connect(&mut self, c: usize, now: Instant) {
        if self.conns[c].is_some() {
            return;
        }
        self.generation += 1;
        let id = ConnId::new(format!("conn{c}-{}", self.generation));
        let mut conn = ServerConn::new(now, id, SocketIoVersion::V5, self.server.config().clone());
        conn.handle_message(now, "0".into()); // Socket.IO CONNECT `/` (Engine.IO `40`)
        let Some(socketio_proto::server::ConnEvent::Connect(req)) = conn.poll_event() else {
            panic!("no connect")
        };
        let req = self
            .server
            .resolve(&mut conn, req)
            .expect("known namespace");
        self.server.accept(now, &mut conn, req);
        while conn.poll_transmit().is_some() {}
        self.conns[c] = Some(conn);
        self.rooms[c].clear();
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn broadcasts_reach_members_exactly_once(ops in prop::collection::vec(op(), 1..80)) {
        let now = start();
        let mut n = 0u8;
        let mut server = Server::new(ServerConfig::default(), Box::new(move |b: &mut [u8]| { n = n.wrapping_add(1); b.fill(n) }));
        server.add_namespace("/");
        let mut m = Model { server, conns: (0..CONNS).map(|_| None).collect(), rooms: vec![BTreeSet::new(); CONNS], generation: 0 };
        for c in 0..CONNS {
            m.connect(c, now);
        }
        let root = Nsp::main();
        let mut enc = Encoder::default();
        let mut seq = 0u32;
        for op in ops {
            match op {
                Op::Join(c, r) => {
                    if let Some(conn) = &m.conns[c] {
                        let socket = conn.socket(&root).unwrap().clone();
                        m.server.join(&root, &socket, room(r));
                        m.rooms[c].insert(r);
                    }
                }
                Op::Leave(c, r) => {
                    if let Some(conn) = &m.conns[c] {
                        let socket = conn.socket(&root).unwrap().clone();
                        m.server.leave(&root, &socket, &room(r));
                        m.rooms[c].remove(&r);
                    }
                }
                Op::Disconnect(c) => {
                    if let Some(mut conn) = m.conns[c].take() {
                        conn.handle_engine_closed(now, engineio_proto::CloseReason::TransportClose);
                        while let Some(u) = conn.poll_server_update() {
                            m.server.handle_update(now, u);
                        }
                    }
                }
                Op::Connect(c) => m.connect(c, now),
                Op::Broadcast { to, except } => {
                    seq += 1;
                    let packet = enc.event(&root, "b", &(seq,), None).unwrap();
                    let mut b = Broadcast::new(&root, &packet);
                    for r in &to { b = b.to(room(*r)); }
                    for r in &except { b = b.except(room(*r)); }
                    let plan = m.server.plan(now, &b);
                    let mut by_conn: BTreeMap<ConnId, usize> = BTreeMap::new();
                    for (conn_id, _) in &plan.targets {
                        *by_conn.entry(conn_id.clone()).or_default() += 1;
                    }
                    for (c, slot) in m.conns.iter_mut().enumerate() {
                        let expected = slot.is_some()
                            && (to.is_empty() || to.iter().any(|r| m.rooms[c].contains(r)))
                            && !except.iter().any(|r| m.rooms[c].contains(r));
                        let Some(conn) = slot else { continue };
                        let planned = by_conn.get(conn.id()).copied().unwrap_or(0);
                        prop_assert_eq!(planned, usize::from(expected), "conn {} rooms {:?} to {:?} except {:?}", c, m.rooms[c], to, except);
                        if planned == 1 {
                            prop_assert!(conn.deliver(now, &plan.delivery, true));
                        }
                        let got: Vec<_> = std::iter::from_fn(|| conn.poll_transmit()).collect();
                        prop_assert_eq!(got.len(), usize::from(expected));
                    }
                    // No target is a socket that left.
                    prop_assert!(plan.targets.iter().all(|(id, _)| m.conns.iter().flatten().any(|c| c.id() == id)));
                }
            }
        }
    }
}
