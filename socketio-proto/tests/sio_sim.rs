//! Socket.IO simulation scenarios: our Socket.IO client and server over our Engine.IO client
//! and server, on a virtual clock with seeded faults. Each name states the rule checked.

use std::time::{Duration, Instant};

use engineio_proto::client::ClientConfig as EioClientConfig;
use engineio_proto::http::TransportKind;
use engineio_proto::server::ServerConfig as EioServerConfig;
use engineio_proto::sim::NetConfig;
use socketio_proto::client::{ClientConfig, ClientDisconnectReason, ClientEvent};
use socketio_proto::server::{
    AckFailure, Broadcast, ConnEvent, DisconnectReason, RecoveryConfig, ServerConfig,
};
use socketio_proto::sim::SioSim;
use socketio_proto::{AckId, Binary, Encoder, Nsp, SocketIoVersion};

#[allow(clippy::disallowed_methods)]
fn start() -> Instant {
    Instant::now()
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn eio_server() -> EioServerConfig {
    let mut c = EioServerConfig::default();
    c.ping_interval = ms(300);
    c.ping_timeout = ms(200);
    c.allow_eio3 = true;
    c.path = "/socket.io/".into();
    c
}

fn eio_client(version: SocketIoVersion, transport: TransportKind) -> EioClientConfig {
    let mut c = EioClientConfig::default();
    c.path = "/socket.io/".into();
    c.version = match version {
        SocketIoVersion::V5 => engineio_proto::EngineIoVersion::V4,
        SocketIoVersion::V4 => engineio_proto::EngineIoVersion::V3,
    };
    c.transport = transport;
    c
}

fn client(version: SocketIoVersion) -> ClientConfig {
    let mut c = ClientConfig::default();
    c.version = version;
    c
}

fn sim(config: ServerConfig) -> SioSim {
    SioSim::new(start(), eio_server(), config, NetConfig::default(), 3)
}

const BOTH: [SocketIoVersion; 2] = [SocketIoVersion::V5, SocketIoVersion::V4];

fn connected(s: &SioSim, c: usize) -> Vec<(String, String, bool)> {
    s.client_events(c)
        .iter()
        .filter_map(|(_, e)| match e {
            ClientEvent::Connected {
                nsp,
                sid,
                recovered,
            } => Some((nsp.as_str().to_owned(), sid.clone(), *recovered)),
            _ => None,
        })
        .collect()
}

/// Event names and arguments a client received on `nsp`, as JSON text.
fn client_received(s: &SioSim, c: usize, nsp: &str) -> Vec<String> {
    s.client_events(c)
        .iter()
        .filter_map(|(_, e)| match e {
            ClientEvent::Event { nsp: n, packet } if n.as_str() == nsp => {
                Some(serde_json::to_string(&packet.args_value().unwrap()).unwrap())
            }
            _ => None,
        })
        .collect()
}

fn server_received(s: &SioSim) -> Vec<(String, String)> {
    s.server_events()
        .iter()
        .filter_map(|(_, _, e)| match e {
            ConnEvent::Event { nsp, packet, .. } => Some((
                nsp.as_str().to_owned(),
                format!(
                    "{}{}",
                    packet.event_name().unwrap(),
                    serde_json::to_string(&packet.args_value().unwrap()).unwrap()
                ),
            )),
            _ => None,
        })
        .collect()
}

#[test]
fn multiplexed_namespaces_get_their_own_socket_ids() {
    for v in BOTH {
        let mut s = sim(ServerConfig::default());
        let c = s.add_client(
            client(v),
            eio_client(v, TransportKind::Polling),
            &["/", "/admin"],
        );
        s.run_for(ms(100));
        let got = connected(&s, c);
        assert_eq!(got.len(), 2, "{v:?} {got:?}");
        assert_ne!(got[0].1, got[1].1);
        let eio_sid = s
            .eio
            .sid_of(s.eio_index(c).unwrap())
            .unwrap()
            .as_str()
            .to_owned();
        match v {
            // v5: fresh ids, never the Engine.IO sid (pitfall 18).
            SocketIoVersion::V5 => assert!(got
                .iter()
                .all(|(_, sid, _)| sid.len() == 20 && *sid != eio_sid)),
            // v4: derived on both sides.
            SocketIoVersion::V4 => {
                let sids: Vec<&str> = got.iter().map(|(_, sid, _)| sid.as_str()).collect();
                assert!(sids.contains(&eio_sid.as_str()));
                assert!(sids.contains(&format!("/admin#{eio_sid}").as_str()));
            }
        }
        // Events on each namespace reach their own socket.
        for nsp in ["/", "/admin"] {
            let n = Nsp::from(nsp);
            s.with_client(c, |cl, _| cl.emit(&n, "ping", &(nsp,)).unwrap());
        }
        s.run_for(ms(50));
        assert_eq!(
            server_received(&s),
            [
                ("/".to_owned(), r#"ping["/"]"#.to_owned()),
                ("/admin".to_owned(), r#"ping["/admin"]"#.to_owned())
            ]
        );
    }
}

#[test]
fn v4_wire_format_for_namespaces_and_acks() {
    let mut s = sim(ServerConfig::default());
    let v = SocketIoVersion::V4;
    let c = s.add_client(
        client(v),
        eio_client(v, TransportKind::WebSocket),
        &["/", "/admin"],
    );
    s.run_for(ms(60));
    let admin = Nsp::from("/admin");
    s.with_client(c, |cl, now| {
        cl.emit_with_ack(now, &admin, "q", &(1,), ms(500)).unwrap()
    });
    s.run_for(ms(60));
    let t = s.eio.transcript().join("\n");
    // `/` is joined by the server on its own; `/admin` is asked for without payload.
    assert!(
        t.contains("S->C0 WS 40\n") || t.ends_with("S->C0 WS 40"),
        "{t}"
    );
    assert!(t.contains("C0->S WS 40/admin,\n"), "{t}");
    assert!(t.contains("S->C0 WS 40/admin,\n"), "{t}");
    assert!(t.contains(r#"C0->S WS 42/admin,0["q",1]"#), "{t}");
    assert!(t.contains(r#"S->C0 WS 43/admin,0[1]"#), "{t}");
}

#[test]
fn ack_timeout_fires_when_server_never_answers() {
    for v in BOTH {
        let mut s = sim(ServerConfig::default());
        s.auto_ack = false;
        let c = s.add_client(client(v), eio_client(v, TransportKind::WebSocket), &["/"]);
        s.run_for(ms(50));
        let root = Nsp::main();
        let at = s.eio.elapsed();
        let id = s.with_client(c, |cl, now| {
            cl.emit_with_ack(now, &root, "q", &(), ms(400)).unwrap()
        });
        s.run_for(ms(1000));
        let timed_out: Vec<Duration> = s
            .client_events(c)
            .iter()
            .filter(|(_, e)| matches!(e, ClientEvent::AckTimedOut { id: i, .. } if *i == id))
            .map(|(t, _)| *t)
            .collect();
        assert_eq!(timed_out, [at + ms(400)], "{v:?}");
        assert!(!s
            .client_events(c)
            .iter()
            .any(|(_, e)| matches!(e, ClientEvent::Ack { .. })));
    }
}

#[test]
fn server_ack_requests_are_answered_by_the_client_or_time_out() {
    for v in BOTH {
        let mut s = sim(ServerConfig::default());
        let c = s.add_client(client(v), eio_client(v, TransportKind::Polling), &["/"]);
        s.run_for(ms(100));
        let root = Nsp::main();
        let (id0, id1) = s
            .with_conn(c, |server, conn, now| {
                let a = server.next_ack_id(&root);
                conn.emit_with_ack(now, &root, "question", &(42,), a, ms(300))
                    .unwrap();
                let b = server.next_ack_id(&root);
                conn.emit_with_ack(now, &root, "ignored", &(), b, ms(300))
                    .unwrap();
                (a, b)
            })
            .unwrap();
        assert_eq!(
            (id0, id1),
            (AckId(0), AckId(1)),
            "per-namespace counter from 0"
        );
        s.run_for(ms(50));
        // The client answers the first request only (the thing rust_socketio users fork for).
        let pending: Vec<AckId> = s
            .client_events(c)
            .iter()
            .filter_map(|(_, e)| match e {
                ClientEvent::Event { packet, .. } if packet.event_name() == Some("question") => {
                    packet.ack_id()
                }
                _ => None,
            })
            .collect();
        assert_eq!(pending, [id0]);
        s.with_client(c, |cl, _| cl.ack(&root, id0, &("yes",)).unwrap());
        s.run_for(ms(400));
        let outcomes: Vec<String> = s
            .server_events()
            .iter()
            .filter_map(|(_, _, e)| match e {
                ConnEvent::Ack { id, packet, .. } => {
                    Some(format!("ack {} {}", id.0, packet.payload_json().unwrap()))
                }
                ConnEvent::AckFailed { id, reason, .. } => {
                    Some(format!("failed {} {reason:?}", id.0))
                }
                _ => None,
            })
            .collect();
        assert_eq!(outcomes, [r#"ack 0 ["yes"]"#, "failed 1 Timeout"], "{v:?}");
    }
}

#[test]
fn binary_acks_round_trip() {
    for v in BOTH {
        let mut s = sim(ServerConfig::default());
        let c = s.add_client(client(v), eio_client(v, TransportKind::WebSocket), &["/"]);
        s.run_for(ms(50));
        let root = Nsp::main();
        let file = Binary::from(vec![1u8, 2, 3]);
        s.with_client(c, |cl, now| {
            cl.emit_with_ack(now, &root, "upload", &("a", &file), ms(500))
                .unwrap()
        });
        s.run_for(ms(50));
        let t = s.eio.transcript().join("\n");
        assert!(
            t.contains(r#"C0->S WS 451-0["upload","a",{"_placeholder":true,"num":0}]"#),
            "{t}"
        );
        assert!(
            t.contains(r#"S->C0 WS 461-0["a",{"_placeholder":true,"num":0}]"#),
            "{t}"
        );
        let ack = s
            .client_events(c)
            .iter()
            .find_map(|(_, e)| match e {
                ClientEvent::Ack { packet, .. } => Some(packet.clone()),
                _ => None,
            })
            .expect("ack");
        let (name, data): (String, Binary) = ack.args().unwrap();
        assert_eq!((name.as_str(), &data[..]), ("a", &[1u8, 2, 3][..]));
    }
}

#[test]
fn broadcast_to_room_except_room() {
    let mut s = sim(ServerConfig::default());
    let v = SocketIoVersion::V5;
    let clients: Vec<usize> = (0..3)
        .map(|_| s.add_client(client(v), eio_client(v, TransportKind::WebSocket), &["/"]))
        .collect();
    s.run_for(ms(60));
    let root = Nsp::main();
    let rooms: [&[&str]; 3] = [&["a"], &["a", "b"], &["b"]];
    for (c, rs) in clients.iter().zip(rooms) {
        s.with_conn(*c, |server, conn, _| {
            let socket = conn.socket(&root).unwrap().clone();
            for r in rs {
                server.join(&root, &socket, *r);
            }
        });
    }
    let packet = Encoder::default()
        .event(&root, "news", &("x",), None)
        .unwrap();
    let (plan, delivered) = s.broadcast(&Broadcast::new(&root, &packet).to("a").except("b"));
    assert_eq!((plan.targets.len(), delivered), (1, 1));
    // Every member of "a" or "b" except those in "b"... and one to everyone.
    let (_, all) = s.broadcast(&Broadcast::new(&root, &packet));
    assert_eq!(all, 3);
    s.run_for(ms(50));
    let got: Vec<usize> = clients
        .iter()
        .map(|c| client_received(&s, *c, "/").len())
        .collect();
    assert_eq!(got, [2, 1, 1]);
}

#[test]
fn broadcast_with_acks_collects_every_recipient() {
    let mut s = sim(ServerConfig::default());
    let v = SocketIoVersion::V5;
    let clients: Vec<usize> = (0..3)
        .map(|_| s.add_client(client(v), eio_client(v, TransportKind::WebSocket), &["/"]))
        .collect();
    s.run_for(ms(60));
    let root = Nsp::main();
    let id = s.server.next_ack_id(&root);
    let packet = Encoder::default()
        .event(&root, "vote", &(), Some(id))
        .unwrap();
    let broadcast = Broadcast::new(&root, &packet).with_ack(id, ms(300));
    // A broadcast is a plain value: it crosses a wire (a Redis adapter) as JSON and back.
    let json = serde_json::to_string(&broadcast).unwrap();
    assert_eq!(serde_json::from_str::<Broadcast>(&json).unwrap(), broadcast);
    let (plan, delivered) = s.broadcast(&broadcast);
    assert_eq!(delivered, 3);
    let mut collector = socketio_proto::server::AckCollector::new(&plan).unwrap();
    s.run_for(ms(20));
    // Two of three answer.
    for c in &clients[..2] {
        s.with_client(*c, |cl, _| cl.ack(&root, id, &("yes",)).unwrap());
    }
    s.run_for(ms(400));
    for (_, _, e) in s.server_events() {
        collector.handle(e);
    }
    assert!(collector.is_complete());
    assert_eq!(collector.responses().len(), 2);
    assert_eq!(collector.failures().len(), 1);
    assert_eq!(collector.failures()[0].1, AckFailure::Timeout);
    assert_eq!(
        collector.responses()[0].1.payload_json(),
        Some(r#"["yes"]"#)
    );
    assert_eq!(plan.targets.len(), 3);
}

#[test]
fn volatile_broadcasts_are_dropped_under_back_pressure() {
    let mut eio = eio_server();
    eio.max_buffered_packets = 4;
    let mut s = SioSim::new(
        start(),
        eio,
        ServerConfig::default(),
        NetConfig::default(),
        3,
    );
    let v = SocketIoVersion::V5;
    let mut cfg = eio_client(v, TransportKind::Polling);
    cfg.upgrade = false;
    let c = s.add_client(client(v), cfg, &["/"]);
    s.run_for(ms(100));
    let root = Nsp::main();
    let packet = Encoder::default().event(&root, "tick", &(), None).unwrap();
    // No long-poll lands between these: the session's buffer fills up.
    let delivered: Vec<usize> = (0..10)
        .map(|_| s.broadcast(&Broadcast::new(&root, &packet).volatile()).1)
        .collect();
    // The first answers the held long-poll; four fill the session's buffer; the rest are
    // dropped.
    assert_eq!(delivered, [1, 1, 1, 1, 1, 0, 0, 0, 0, 0]);
    let taken: usize = delivered.iter().sum();
    s.run_for(ms(100));
    assert_eq!(client_received(&s, c, "/").len(), taken);
}

#[test]
fn recovery_replays_missed_packets_once_and_in_order() {
    let mut config = ServerConfig::default();
    config.recovery = Some(RecoveryConfig::default());
    let mut s = sim(config);
    let v = SocketIoVersion::V5;
    let c = s.add_client(client(v), eio_client(v, TransportKind::WebSocket), &["/"]);
    s.run_for(ms(60));
    let root = Nsp::main();
    let mut enc = Encoder::default();
    let mut send = |s: &mut SioSim, n: u32| {
        let p = enc.event(&root, "m", &(n,), None).unwrap();
        s.broadcast(&Broadcast::new(&root, &p));
    };
    send(&mut s, 0);
    s.run_for(ms(20));
    let first = connected(&s, c)[0].clone();
    // The server drops the connection; while the client is away two more go out.
    s.with_conn(c, |_, conn, _| {
        conn.handle_engine_closed(start(), engineio_proto::CloseReason::TransportClose)
    });
    s.eio.server_close(s.eio_index(c).unwrap());
    s.run_for(ms(20));
    send(&mut s, 1);
    send(&mut s, 2);
    s.run_for(ms(3000));
    let got = connected(&s, c);
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(
        got[1],
        (first.0.clone(), first.1.clone(), true),
        "same id, recovered"
    );
    let msgs = client_received(&s, c, "/");
    // Each with its offset as last argument; m1 and m2 replayed before the new CONNECT reply
    // and delivered after the Connected event.
    let nums: Vec<&str> = msgs.iter().map(|m| &m[1..2]).collect();
    assert_eq!(nums, ["0", "1", "2"], "{msgs:?}");
    let t = s.eio.transcript().join("\n");
    let replay = t.find(r#"42["m",2,"#).unwrap();
    let reply = t.rfind(r#"S->C1 WS 40{"sid""#).unwrap();
    assert!(replay < reply, "{t}");
}

#[test]
fn recovery_refused_after_a_client_namespace_disconnect() {
    let mut config = ServerConfig::default();
    config.recovery = Some(RecoveryConfig::default());
    let mut s = sim(config);
    let v = SocketIoVersion::V5;
    let c = s.add_client(client(v), eio_client(v, TransportKind::WebSocket), &["/"]);
    s.run_for(ms(60));
    let root = Nsp::main();
    let p = Encoder::default().event(&root, "m", &(0,), None).unwrap();
    s.broadcast(&Broadcast::new(&root, &p));
    s.run_for(ms(20));
    s.with_client(c, |cl, _| cl.disconnect(&root));
    s.run_for(ms(20));
    s.with_client(c, |cl, _| cl.connect("/", None));
    s.run_for(ms(50));
    let got = connected(&s, c);
    assert_eq!(got.len(), 2);
    assert!(!got[1].2, "not recovered");
    assert_ne!(got[0].1, got[1].1);
}

#[test]
fn reconnect_backoff_schedule_is_seeded_and_capped() {
    let run = |seed: u64| {
        let mut s = sim(ServerConfig::default());
        s.eio.accept_handshakes = false;
        let mut cfg = client(SocketIoVersion::V5);
        cfg.seed = seed;
        cfg.reconnect.max_attempts = Some(6);
        let c = s.add_client(
            cfg,
            eio_client(SocketIoVersion::V5, TransportKind::Polling),
            &["/"],
        );
        s.run_for(ms(40_000));
        s.client_events(c)
            .iter()
            .filter_map(|(_, e)| match e {
                ClientEvent::ReconnectScheduled { attempt, delay } => Some((*attempt, *delay)),
                ClientEvent::ReconnectFailed => Some((0, Duration::ZERO)),
                _ => None,
            })
            .collect::<Vec<_>>()
    };
    let a = run(1);
    assert_eq!(a, run(1), "same seed, same schedule");
    assert_ne!(a, run(2), "the jitter comes from the seed");
    assert_eq!(a.len(), 7, "{a:?}");
    assert_eq!(a[6], (0, Duration::ZERO), "gives up after max_attempts");
    for (attempt, delay) in &a[..6] {
        let base = 1000.0 * 2f64.powi(*attempt as i32 - 1);
        let d = delay.as_secs_f64() * 1000.0;
        let (lo, hi) = ((base * 0.5).min(5000.0), (base * 1.5).min(5000.0));
        assert!(d >= lo - 1e-6 && d <= hi + 1e-6, "{attempt} {d}");
    }
}

#[test]
fn offline_buffer_is_bounded_and_flushed_in_order_on_reconnect() {
    let mut s = sim(ServerConfig::default());
    let v = SocketIoVersion::V5;
    let mut cfg = client(v);
    cfg.max_offline_packets = 3;
    let c = s.add_client(cfg, eio_client(v, TransportKind::WebSocket), &["/"]);
    let root = Nsp::main();
    // Before the first connection: buffered.
    s.with_client(c, |cl, _| cl.emit(&root, "m", &(0,)).unwrap());
    s.run_for(ms(60));
    s.eio.server_close(s.eio_index(c).unwrap());
    s.run_for(ms(20));
    for n in 1..3 {
        s.with_client(c, |cl, _| cl.emit(&root, "m", &(n,)).unwrap());
    }
    s.with_client(c, |cl, _| cl.emit(&root, "m", &(3,)).unwrap());
    let full = s.with_client(c, |cl, _| cl.emit(&root, "m", &(4,)));
    assert!(matches!(
        full,
        Err(socketio_proto::client::ClientError::BufferFull)
    ));
    s.run_for(ms(3000));
    let got: Vec<String> = server_received(&s).into_iter().map(|(_, e)| e).collect();
    assert_eq!(got, ["m[0]", "m[1]", "m[2]", "m[3]"]);
}

#[test]
fn connect_error_carries_middleware_data_and_unknown_namespace_is_refused() {
    for v in BOTH {
        let mut s = sim(ServerConfig::default());
        s.reject_connect = Some(Box::new(|req| {
            (req.nsp().as_str() == "/admin").then(|| {
                (
                    "not authorized".to_owned(),
                    Some(serde_json::json!({"content": "retry later"})),
                )
            })
        }));
        let c = s.add_client(
            client(v),
            eio_client(v, TransportKind::WebSocket),
            &["/", "/admin", "/nope"],
        );
        s.run_for(ms(100));
        let errors: Vec<(String, serde_json::Value)> = s
            .client_events(c)
            .iter()
            .filter_map(|(_, e)| match e {
                ClientEvent::ConnectError { nsp, data } => {
                    Some((nsp.as_str().to_owned(), data.clone()))
                }
                _ => None,
            })
            .collect();
        let expected_admin = match v {
            SocketIoVersion::V5 => {
                r#"{"message":"not authorized","data":{"content":"retry later"}}"#
            }
            SocketIoVersion::V4 => r#"{"content":"retry later"}"#,
        };
        let parse = |json: &str| serde_json::from_str::<serde_json::Value>(json).unwrap();
        assert_eq!(
            errors,
            [
                ("/admin".to_owned(), parse(expected_admin)),
                (
                    "/nope".to_owned(),
                    parse(r#"{"message":"Invalid namespace"}"#)
                )
            ],
            "{v:?}"
        );
        // On the wire, in the reference's key order.
        let t = s.eio.transcript().join("\n");
        assert!(
            t.contains(&format!("S->C0 WS 44/admin,{expected_admin}\n")),
            "{t}"
        );
        assert!(
            t.contains(r#"S->C0 WS 44/nope,{"message":"Invalid namespace"}"#),
            "{t}"
        );
        // The Engine.IO connection stays, `/` works.
        assert_eq!(connected(&s, c).len(), 1);
    }
}

/// socketio.md §8: a v4 client's namespace query is its auth, the same over polling,
/// WebSocket and after an upgrade; the application decides on it, and a refusal leaves the
/// connection usable.
#[test]
fn v4_namespace_query_is_the_auth_over_polling_websocket_and_upgrade() {
    let modes = [
        ("polling", TransportKind::Polling, false, "POST"),
        ("websocket", TransportKind::WebSocket, false, "WS"),
        ("upgrade", TransportKind::Polling, true, "WS"),
    ];
    for (mode, transport, upgrade, carrier) in modes {
        let mut s = sim(ServerConfig::default());
        s.reject_connect = Some(Box::new(|req| {
            (req.auth()["token"] == "bad")
                .then(|| ("not authorized".to_owned(), Some(req.auth().clone())))
        }));
        let v = SocketIoVersion::V4;
        let mut eio = eio_client(v, transport);
        eio.upgrade = upgrade;
        let c = s.add_client(client(v), eio, &["/"]);
        s.run_for(ms(100));
        let e = s.eio_index(c).unwrap();
        s.eio
            .client_send(e, "0/admin?token=bad,".to_owned())
            .unwrap();
        s.run_for(ms(100));
        s.eio
            .client_send(e, "0/admin?token=abc&name=a%20b,".to_owned())
            .unwrap();
        s.run_for(ms(100));
        let requests: Vec<(String, serde_json::Value)> = s
            .server_events()
            .iter()
            .filter_map(|(_, _, e)| match e {
                ConnEvent::Connect(req) => {
                    Some((req.nsp().as_str().to_owned(), req.auth().clone()))
                }
                _ => None,
            })
            .collect();
        assert_eq!(
            requests,
            [
                ("/".to_owned(), serde_json::json!({})),
                ("/admin".to_owned(), serde_json::json!({"token": "bad"})),
                (
                    "/admin".to_owned(),
                    serde_json::json!({"token": "abc", "name": "a b"})
                ),
            ],
            "{mode}"
        );
        let t = s.eio.transcript();
        let sent = |text: &str| {
            t.iter()
                .any(|l| l.contains(&format!("C0->S {carrier}")) && l.contains(text))
        };
        assert!(sent("40/admin?token=abc&name=a%20b,"), "{mode}\n{t:#?}");
        // The answers: the refusal's ERROR payload is the auth the application saw; the ack
        // names the namespace without the query.
        let answers: Vec<&String> = t
            .iter()
            .filter(|l| l.contains("S->C0") && l.contains("/admin"))
            .collect();
        assert_eq!(answers.len(), 2, "{mode}\n{t:#?}");
        assert!(
            answers[0].ends_with(r#"44/admin,{"token":"bad"}"#),
            "{mode}\n{t:#?}"
        );
        assert!(answers[1].ends_with("40/admin,"), "{mode}\n{t:#?}");
        assert_eq!(s.eio.engine().session_count(), 1, "{mode}");
    }
}

#[test]
fn dynamic_namespaces_by_pattern_and_predicate() {
    use socketio_proto::server::NspPattern;
    let mut s = sim(ServerConfig::default());
    s.server
        .add_dynamic_namespace(NspPattern::Glob("/room-*".into()));
    s.server
        .add_dynamic_namespace(NspPattern::Predicate(Box::new(|n| {
            n.len() == 4 && n.starts_with("/t")
        })));
    let v = SocketIoVersion::V5;
    let c = s.add_client(
        client(v),
        eio_client(v, TransportKind::WebSocket),
        &["/room-1", "/tab", "/tabs"],
    );
    s.run_for(ms(100));
    let ok: Vec<String> = connected(&s, c).into_iter().map(|(n, _, _)| n).collect();
    assert_eq!(ok, ["/room-1", "/tab"]);
    assert!(s.server.namespaces().any(|n| n.as_str() == "/room-1"));
}

#[test]
fn connect_timeout_closes_a_connection_that_joins_nothing() {
    let mut config = ServerConfig::default();
    config.connect_timeout = ms(1000);
    let mut s = sim(config);
    let v = SocketIoVersion::V5;
    let c = s.add_client(client(v), eio_client(v, TransportKind::WebSocket), &[]);
    s.run_for(ms(1500));
    let closed: Vec<Duration> = s
        .server_events()
        .iter()
        .filter(|(_, _, e)| matches!(e, ConnEvent::Closed(_)))
        .map(|(t, _, _)| *t)
        .collect();
    assert_eq!(closed.len(), 1);
    assert!(closed[0] >= ms(1000) && closed[0] <= ms(1010), "{closed:?}");
    assert_eq!(s.eio.engine().session_count(), 0);
    let _ = c;
}

#[test]
fn leaving_every_namespace_keeps_the_engine_session() {
    let mut s = sim(ServerConfig::default());
    let v = SocketIoVersion::V5;
    let c = s.add_client(client(v), eio_client(v, TransportKind::WebSocket), &["/"]);
    s.run_for(ms(60));
    s.with_client(c, |cl, _| cl.disconnect(&Nsp::main()));
    s.run_for(ms(2000));
    assert_eq!(s.eio.engine().session_count(), 1);
    let reasons: Vec<DisconnectReason> = s
        .server_events()
        .iter()
        .filter_map(|(_, _, e)| match e {
            ConnEvent::Disconnected { reason, .. } => Some(*reason),
            _ => None,
        })
        .collect();
    assert_eq!(reasons, [DisconnectReason::ClientNamespaceDisconnect]);
    // Joining again gives a new socket.
    s.with_client(c, |cl, _| cl.connect("/", None));
    s.run_for(ms(60));
    assert_eq!(connected(&s, c).len(), 2);
}

#[test]
fn server_disconnect_is_not_retried() {
    let mut s = sim(ServerConfig::default());
    let v = SocketIoVersion::V5;
    let c = s.add_client(client(v), eio_client(v, TransportKind::WebSocket), &["/"]);
    s.run_for(ms(60));
    s.with_conn(c, |_, conn, _| conn.disconnect(&Nsp::main()).unwrap());
    s.run_for(ms(3000));
    let reasons: Vec<ClientDisconnectReason> = s
        .client_events(c)
        .iter()
        .filter_map(|(_, e)| match e {
            ClientEvent::Disconnected { reason, .. } => Some(*reason),
            _ => None,
        })
        .collect();
    assert_eq!(reasons, [ClientDisconnectReason::ServerDisconnect]);
    assert_eq!(connected(&s, c).len(), 1);
}

#[test]
fn fatal_packets_close_the_connection() {
    // Engine.IO message data (the `4` of the Engine.IO message packet is not part of it):
    // socketio.md §10.2, after `40` joined `/`.
    let cases: &[(&str, bool)] = &[
        (r#"2["echo",1]"#, false),
        (r#"2"#, false),
        (r#"2[1,"numeric"]"#, false),
        (r#"3999[]"#, false),
        (r#"2["disconnect"]"#, true),
        (r#"0"#, true),
        (r#"4{}"#, true),
        (r#"2{}"#, true),
        (r#"2[]"#, true),
        (r#"1{}"#, true),
        (r#"2/other,["x"]"#, true),
        (r#"2/admin["x"]"#, true),
        (r#"2["echo",1"#, true),
        (r#"2abc["x"]"#, true),
        ("abc", true),
        ("", true),
        (r#"511-["echo"]"#, true),
        (r#"50-["echo"]"#, true),
    ];
    for (raw, fatal) in cases {
        let mut s = sim(ServerConfig::default());
        let v = SocketIoVersion::V5;
        let c = s.add_client(client(v), eio_client(v, TransportKind::WebSocket), &["/"]);
        s.run_for(ms(60));
        let e = s.eio_index(c).unwrap();
        s.eio.client_send(e, raw.to_string()).unwrap();
        s.run_for(ms(60));
        let closed = s
            .server_events()
            .iter()
            .any(|(_, _, e)| matches!(e, ConnEvent::Closed(DisconnectReason::ParseError)));
        assert_eq!(closed, *fatal, "{raw:?}");
        assert_eq!(
            s.eio.engine().session_count(),
            usize::from(!fatal),
            "{raw:?}"
        );
    }
}

#[test]
fn acks_across_loss_resolve_exactly_once() {
    for seed in 0..8 {
        let net = NetConfig {
            latency_min: ms(2),
            latency_max: ms(30),
            loss: 0.02,
        };
        let mut s = SioSim::new(start(), eio_server(), ServerConfig::default(), net, seed);
        let v = if seed % 2 == 0 {
            SocketIoVersion::V5
        } else {
            SocketIoVersion::V4
        };
        let c = s.add_client(client(v), eio_client(v, TransportKind::Polling), &["/"]);
        let root = Nsp::main();
        let mut ids = Vec::new();
        for i in 0..40 {
            s.run_for(ms(25));
            if let Ok(id) = s.with_client(c, |cl, now| {
                cl.emit_with_ack(now, &root, "q", &(i,), ms(2000))
            }) {
                ids.push(id);
            }
        }
        s.run_for(ms(8000));
        for id in &ids {
            let outcomes = s
                .client_events(c)
                .iter()
                .filter(|(_, e)| match e {
                    ClientEvent::Ack { id: i, .. }
                    | ClientEvent::AckTimedOut { id: i, .. }
                    | ClientEvent::AckDisconnected { id: i, .. } => i == id,
                    _ => false,
                })
                .count();
            assert_eq!(outcomes, 1, "seed {seed} ack {id:?}");
        }
        // Answers carry the request's own arguments (auto-ack echoes them).
        for (_, e) in s.client_events(c) {
            if let ClientEvent::Ack { id, packet, .. } = e {
                let args = packet.args_value().unwrap();
                assert_eq!(args.len(), 1, "seed {seed} {id:?}");
            }
        }
    }
}

/// The reference client's `_clearAcks`: a disconnection ends the ack requests that went out
/// (`AckDisconnected`, once, before any timeout); a request still in the offline buffer keeps
/// waiting and is answered after the reconnection. A namespace left by the application ends
/// every request.
#[test]
fn acks_sent_end_on_disconnect_and_buffered_ones_wait_for_the_reconnection() {
    let mut s = sim(ServerConfig::default());
    s.auto_ack = false;
    let v = SocketIoVersion::V5;
    let c = s.add_client(client(v), eio_client(v, TransportKind::WebSocket), &["/"]);
    let root = Nsp::main();
    s.run_for(ms(60));
    let sent = s.with_client(c, |cl, now| {
        cl.emit_with_ack(now, &root, "q", &(1,), ms(10_000))
            .unwrap()
    });
    s.run_for(ms(20));
    s.eio.server_close(s.eio_index(c).unwrap());
    s.run_for(ms(20));
    // Disconnected now: this one is buffered.
    s.auto_ack = true;
    let buffered = s.with_client(c, |cl, now| {
        cl.emit_with_ack(now, &root, "q", &(2,), ms(10_000))
            .unwrap()
    });
    s.run_for(ms(3000));
    let outcomes: Vec<String> = s
        .client_events(c)
        .iter()
        .filter_map(|(_, e)| match e {
            ClientEvent::Ack { id, .. } => Some(format!("ack {}", id.0)),
            ClientEvent::AckTimedOut { id, .. } => Some(format!("timeout {}", id.0)),
            ClientEvent::AckDisconnected { id, .. } => Some(format!("disconnected {}", id.0)),
            _ => None,
        })
        .collect();
    assert_eq!(
        outcomes,
        [
            format!("disconnected {}", sent.0),
            format!("ack {}", buffered.0)
        ]
    );
    // Leaving the namespace ends every request, buffered or sent.
    s.auto_ack = false;
    let pending = s.with_client(c, |cl, now| {
        cl.emit_with_ack(now, &root, "q", &(3,), ms(10_000))
            .unwrap()
    });
    s.run_for(ms(20));
    s.with_client(c, |cl, _| cl.disconnect(&root));
    s.run_for(ms(20_000));
    let last: Vec<&ClientEvent> = s
        .client_events(c)
        .iter()
        .map(|(_, e)| e)
        .filter(|e| {
            matches!(e, ClientEvent::AckDisconnected { id, .. } | ClientEvent::AckTimedOut { id, .. } if *id == pending)
        })
        .collect();
    assert_eq!(last.len(), 1, "{last:?}");
    assert!(matches!(last[0], ClientEvent::AckDisconnected { .. }));
}

/// socket.io-client 2 (protocol v4) sends its query after the namespace name; ours writes the
/// auth object there, strings as they are and other values as JSON text.
#[test]
fn v4_client_sends_its_auth_as_the_namespace_query() {
    let mut s = sim(ServerConfig::default());
    let v = SocketIoVersion::V4;
    let c = s.add_client(client(v), eio_client(v, TransportKind::WebSocket), &["/"]);
    s.with_client(c, |cl, _| {
        cl.connect(
            "/admin",
            Some(serde_json::json!({"token": "a b&c", "n": 1, "ok": true})),
        )
    });
    s.run_for(ms(100));
    let auth: Vec<serde_json::Value> = s
        .server_events()
        .iter()
        .filter_map(|(_, _, e)| match e {
            ConnEvent::Connect(req) if req.nsp().as_str() == "/admin" => Some(req.auth().clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        auth,
        [serde_json::json!({"n": "1", "ok": "true", "token": "a b&c"})]
    );
    let t = s.eio.transcript();
    assert!(
        t.iter()
            .any(|l| l.contains("40/admin?n=1&ok=true&token=a%20b%26c,")),
        "{t:#?}"
    );
    assert_eq!(connected(&s, c).len(), 2);
    assert_eq!(
        socketio_proto::client::v4_auth_query(&serde_json::json!("x")),
        Vec::<(String, String)>::new()
    );
    // `/`'s auth goes on the Engine.IO handshake under v4 only.
    let auth = serde_json::json!({"token": "t"});
    assert_eq!(
        socketio_proto::client::handshake_query(SocketIoVersion::V4, Some(&auth)),
        [("token".to_owned(), "t".to_owned())]
    );
    assert!(socketio_proto::client::handshake_query(SocketIoVersion::V5, Some(&auth)).is_empty());
    assert_eq!(
        engineio_proto::EngineIoVersion::from(SocketIoVersion::V4),
        engineio_proto::EngineIoVersion::V3
    );
}
