//! Arbitrary operation sequences against a [`Server`] with its [`ServerConn`]s and against a
//! [`ClientConn`]: the driver behind the `socketio_ops` fuzz target and its proptest twin.
//!
//! Invariants: nothing panics; pending acks and offline buffers stay within their limits; the
//! rooms index only holds sockets of open connections; once time runs past every deadline,
//! no ack is left pending.

use std::time::{Duration, Instant};

use engineio_proto::{Bytes, CloseReason, Message};

use crate::client::{ClientConfig, ClientConn};
use crate::server::{Broadcast, ConnEvent, ConnId, Server, ServerConfig, ServerConn};
use crate::{AckId, Encoder, Nsp, SocketIoVersion};

/// One operation.
#[derive(Debug, Clone)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum SioOp {
    /// A new server connection (v4 when `v4`).
    NewConn {
        /// Protocol v4.
        v4: bool,
    },
    /// A message from the peer to server connection `conn` (or to the client when
    /// `to_client`).
    Message {
        /// To the client instead of a server connection.
        to_client: bool,
        /// Connection index.
        conn: u8,
        /// Binary instead of text (lossily made UTF-8).
        binary: bool,
        /// The data.
        data: Vec<u8>,
    },
    /// A well-formed packet from a small set, to reach deeper states.
    Packet {
        /// To the client instead of a server connection.
        to_client: bool,
        /// Connection index.
        conn: u8,
        /// Which packet.
        which: u8,
        /// Its ack id, namespace choice, argument.
        n: u8,
    },
    /// The Engine.IO session below ends.
    EngineClosed {
        /// The client's instead of a server connection's.
        client: bool,
        /// Connection index.
        conn: u8,
    },
    /// The client's Engine.IO connection opens.
    EngineOpen,
    /// Time moves on.
    Advance {
        /// Milliseconds.
        ms: u16,
    },
    /// Emits (with an ack when `ack`) from the server connection or the client.
    Emit {
        /// From the client.
        client: bool,
        /// Connection index.
        conn: u8,
        /// Namespace choice.
        nsp: u8,
        /// With ack.
        ack: bool,
    },
    /// A broadcast.
    Broadcast {
        /// Room choice (none: everyone).
        room: Option<u8>,
        /// Except room choice.
        except: Option<u8>,
        /// Volatile.
        volatile: bool,
        /// With ack.
        ack: bool,
    },
    /// Joins or leaves a room.
    Room {
        /// Connection index.
        conn: u8,
        /// Room choice.
        room: u8,
        /// Join (else leave).
        join: bool,
    },
    /// Connects or disconnects a namespace (client), or disconnects it (server).
    Namespace {
        /// On the client.
        client: bool,
        /// Connection index.
        conn: u8,
        /// Namespace choice.
        nsp: u8,
        /// Connect (client only).
        connect: bool,
    },
    /// Closes a server connection or the client.
    Close {
        /// The client.
        client: bool,
        /// Connection index.
        conn: u8,
    },
}

const NSPS: [&str; 3] = ["/", "/admin", "/nope"];

fn nsp(n: u8) -> Nsp {
    Nsp::from(NSPS[usize::from(n) % NSPS.len()])
}

fn packet_text(which: u8, n: u8) -> String {
    let ns = NSPS[usize::from(n) % NSPS.len()];
    let prefix = if ns == "/" {
        String::new()
    } else {
        format!("{ns},")
    };
    match which % 10 {
        0 => format!("0{prefix}"),
        1 => format!("0{prefix}{{\"sid\":\"s{n}\",\"pid\":\"p\"}}"),
        2 => format!("2{prefix}[\"e\",{n}]"),
        3 => format!("2{prefix}{n}[\"e\",{n}]"),
        4 => format!("3{prefix}{n}[{n}]"),
        5 => format!("1{prefix}"),
        6 => format!("4{prefix}{{\"message\":\"no\"}}"),
        7 => format!("51-{prefix}{n}[\"b\",{{\"_placeholder\":true,\"num\":0}}]"),
        8 => format!("61-{prefix}{n}[{{\"_placeholder\":true,\"num\":0}}]"),
        _ => format!("2{prefix}[\"e\",\"off{n}\"]"),
    }
}

/// Runs `ops`; returns a description of the first broken invariant.
pub fn run(start: Instant, ops: &[SioOp]) -> Result<(), String> {
    let config = ServerConfig {
        max_pending_acks: 8,
        connect_timeout: Duration::from_millis(5000),
        recovery: Some(crate::server::RecoveryConfig {
            max_sessions: 4,
            max_packets: 8,
            ..Default::default()
        }),
        ..ServerConfig::default()
    };
    let mut counter = 0u8;
    let mut server = Server::new(
        config,
        Box::new(move |b: &mut [u8]| {
            counter = counter.wrapping_add(1);
            b.fill(counter);
        }),
    );
    server.add_namespace("/");
    server.add_namespace("/admin");
    let client_config = ClientConfig {
        max_offline_packets: 8,
        max_pending_acks: 8,
        ..ClientConfig::default()
    };
    let mut now = start;
    let mut client = ClientConn::new(now, client_config.clone());
    client.connect("/", None);
    let mut conns: Vec<ServerConn> = Vec::new();
    let mut enc = Encoder::default();
    let mut next_conn = 0u32;
    let pick = |i: u8, len: usize| (len > 0).then(|| usize::from(i) % len);
    for op in ops {
        match op {
            SioOp::NewConn { v4 } => {
                if conns.len() < 8 {
                    next_conn += 1;
                    let version = if *v4 {
                        SocketIoVersion::V4
                    } else {
                        SocketIoVersion::V5
                    };
                    let id = ConnId::new(format!("c{next_conn}"));
                    conns.push(ServerConn::new(now, id, version, server.config().clone()));
                }
            }
            SioOp::Message {
                to_client,
                conn,
                binary,
                data,
            } => {
                let m = if *binary {
                    Message::Binary(Bytes::from(data.clone()))
                } else {
                    Message::Text(String::from_utf8_lossy(data).into_owned().into())
                };
                if *to_client {
                    client.handle_message(now, m);
                } else if let Some(k) = pick(*conn, conns.len()) {
                    conns[k].handle_message(now, m);
                }
            }
            SioOp::Packet {
                to_client,
                conn,
                which,
                n,
            } => {
                let text: Message = packet_text(*which, *n).into();
                let attachment = (which % 10 == 7 || which % 10 == 8)
                    .then(|| Message::Binary(Bytes::from_static(&[1, 2])));
                if *to_client {
                    client.handle_message(now, text);
                    if let Some(a) = attachment {
                        client.handle_message(now, a);
                    }
                } else if let Some(k) = pick(*conn, conns.len()) {
                    conns[k].handle_message(now, text);
                    if let Some(a) = attachment {
                        conns[k].handle_message(now, a);
                    }
                }
            }
            SioOp::EngineClosed { client: true, .. } => {
                client.handle_engine_closed(now, CloseReason::TransportClose)
            }
            SioOp::EngineClosed { conn, .. } => {
                if let Some(k) = pick(*conn, conns.len()) {
                    conns[k].handle_engine_closed(now, CloseReason::PingTimeout);
                }
            }
            SioOp::EngineOpen => client.handle_engine_open(now, "eio"),
            SioOp::Advance { ms } => {
                now += Duration::from_millis(u64::from(*ms));
                for c in &mut conns {
                    c.handle_timeout(now);
                }
                client.handle_timeout(now);
            }
            SioOp::Emit {
                client: true,
                nsp: n,
                ack,
                ..
            } => {
                let _ = if *ack {
                    client
                        .emit_with_ack(now, &nsp(*n), "e", &(1,), Duration::from_millis(1000))
                        .map(|_| ())
                } else {
                    client.emit(&nsp(*n), "e", &(1,))
                };
            }
            SioOp::Emit {
                conn, nsp: n, ack, ..
            } => {
                if let Some(k) = pick(*conn, conns.len()) {
                    let ns = nsp(*n);
                    let _ = if *ack {
                        let id = server.next_ack_id(&ns);
                        conns[k].emit_with_ack(
                            now,
                            &ns,
                            "e",
                            &(1,),
                            id,
                            Duration::from_millis(1000),
                        )
                    } else {
                        conns[k].emit(&ns, "e", &(1,))
                    };
                }
            }
            SioOp::Broadcast {
                room,
                except,
                volatile,
                ack,
            } => {
                let root = Nsp::main();
                let ack_id = ack.then(|| server.next_ack_id(&root));
                let Ok(packet) = enc.event(&root, "b", &(1,), ack_id) else {
                    continue;
                };
                let mut b = Broadcast::new(&root, &packet);
                if let Some(r) = room {
                    b = b.to(format!("r{}", r % 3));
                }
                if let Some(r) = except {
                    b = b.except(format!("r{}", r % 3));
                }
                if *volatile {
                    b = b.volatile();
                }
                if let Some(id) = ack_id {
                    b = b.with_ack(id, Duration::from_millis(500));
                }
                let plan = server.plan(now, &b);
                for (conn_id, _) in &plan.targets {
                    let Some(c) = conns.iter_mut().find(|c| c.id() == conn_id) else {
                        return Err(format!("planned for unknown connection {conn_id}"));
                    };
                    c.deliver(now, &plan.delivery, true);
                }
            }
            SioOp::Room { conn, room, join } => {
                if let Some(k) = pick(*conn, conns.len()) {
                    let root = Nsp::main();
                    if let Some(socket) = conns[k].socket(&root).cloned() {
                        let r = crate::rooms::Room::from(format!("r{}", room % 3));
                        if *join {
                            server.join(&root, &socket, r);
                        } else {
                            server.leave(&root, &socket, &r);
                        }
                    }
                }
            }
            SioOp::Namespace {
                client: true,
                nsp: n,
                connect,
                ..
            } => {
                if *connect {
                    client.connect(nsp(*n), None);
                } else {
                    client.disconnect(&nsp(*n));
                }
            }
            SioOp::Namespace { conn, nsp: n, .. } => {
                if let Some(k) = pick(*conn, conns.len()) {
                    let _ = conns[k].disconnect(&nsp(*n));
                }
            }
            SioOp::Close { client: true, .. } => client.close(),
            SioOp::Close { conn, .. } => {
                if let Some(k) = pick(*conn, conns.len()) {
                    conns[k].close();
                }
            }
        }
        drain(now, &mut server, &mut conns, &mut client)?;
        check(&server, &conns, &client, &client_config)?;
    }
    // Past every deadline, nothing is left pending.
    now += Duration::from_secs(600);
    for c in &mut conns {
        c.handle_timeout(now);
    }
    client.handle_timeout(now);
    drain(now, &mut server, &mut conns, &mut client)?;
    if let Some(c) = conns.iter().find(|c| c.pending_acks() > 0) {
        return Err(format!(
            "{} acks still pending on {}",
            c.pending_acks(),
            c.id()
        ));
    }
    if conns
        .iter()
        .any(|c| !c.is_closed() && c.namespaces().next().is_none() && c.poll_timeout().is_some())
    {
        return Err("a connection without namespaces keeps a deadline".to_owned());
    }
    Ok(())
}

fn drain(
    now: Instant,
    server: &mut Server,
    conns: &mut [ServerConn],
    client: &mut ClientConn,
) -> Result<(), String> {
    for c in conns.iter_mut() {
        while c.poll_transmit().is_some() {}
        let mut connects = Vec::new();
        while let Some(e) = c.poll_event() {
            if let ConnEvent::Connect(req) = e {
                connects.push(req);
            }
        }
        for req in connects {
            if let Some(req) = server.resolve(c, req) {
                if req.auth().get("reject").is_some() {
                    c.reject(req, "no", None);
                } else {
                    server.accept(now, c, req);
                }
            }
        }
        while c.poll_event().is_some() {}
        while let Some(u) = c.poll_server_update() {
            server.handle_update(now, u);
        }
    }
    while client.poll_transmit().is_some() {}
    while client.poll_event().is_some() {}
    Ok(())
}

fn check(
    server: &Server,
    conns: &[ServerConn],
    client: &ClientConn,
    cc: &ClientConfig,
) -> Result<(), String> {
    for c in conns {
        if c.pending_acks() > server.config().max_pending_acks {
            return Err(format!("{} pending acks", c.pending_acks()));
        }
    }
    for n in NSPS {
        let n = Nsp::from(n);
        if client.offline_len(&n) > cc.max_offline_packets {
            return Err(format!(
                "offline buffer of {n} holds {}",
                client.offline_len(&n)
            ));
        }
        for (conn_id, socket) in server.sockets(&n, &[], &[]) {
            let ok = conns
                .iter()
                .any(|c| c.id() == &conn_id && !c.is_closed() && c.socket(&n) == Some(&socket));
            if !ok {
                return Err(format!("rooms of {n} hold {socket} of a gone connection"));
            }
        }
    }
    let _ = AckId(0);
    Ok(())
}
