//! The classic node machine in a fleet of three on an in-memory bus that stands in for Redis
//! (every publish reaches every subscriber, the publisher included, in order), with a virtual
//! clock.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use proptest::prelude::*;
use serde_json::json;
use socketio_cluster_proto::msgpack::from_json;
use socketio_cluster_proto::node::{
    requester, Answers, ClassicNode, Completed, NodeConfig, Operation, Publish, RandomSource,
    Received, RequestFailure, Subscription,
};
use socketio_cluster_proto::{
    BroadcastOpts, BroadcastPacket, MsgValue, RemoteSocket, Request, Response, RoomsOpts,
};

/// A deterministic random source (a 64-bit LCG's high bytes).
fn counter(seed: u8) -> RandomSource {
    let mut n = u64::from(seed);
    Box::new(move |b: &mut [u8]| {
        for x in b {
            n = n
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            *x = (n >> 56) as u8;
        }
    })
}

fn node(seed: u8) -> ClassicNode {
    let mut n = ClassicNode::new(NodeConfig::default(), counter(seed));
    n.add_namespace("/").unwrap();
    n
}

/// Glob match of Redis patterns as the machine uses them (a trailing `*`).
fn matches(sub: &Subscription, channel: &str) -> bool {
    match sub {
        Subscription::Channel(c) | Subscription::Shard(c) => c == channel,
        Subscription::Pattern(p) => channel.starts_with(p.trim_end_matches('*')),
    }
}

/// What each node received, in order.
fn deliver(nodes: &[&ClassicNode], p: &Publish) -> Vec<usize> {
    nodes
        .iter()
        .enumerate()
        .filter(|(_, n)| n.subscriptions().iter().any(|s| matches(s, &p.channel)))
        .map(|(i, _)| i)
        .collect()
}

#[test]
fn subscriptions_are_the_reference_ones() {
    let mut n = ClassicNode::new(NodeConfig::default(), counter(1));
    let subs = n.add_namespace("/chat").unwrap();
    let uid = n.uid().to_owned();
    assert_eq!(uid.len(), 6);
    assert_eq!(
        subs,
        vec![
            Subscription::Pattern("socket.io#/chat#*".into()),
            Subscription::Channel("socket.io-request#/chat#".into()),
            Subscription::Channel("socket.io-response#/chat#".into()),
            Subscription::Channel(format!("socket.io-response#/chat#{uid}#")),
        ]
    );
    assert!(n.add_namespace("/chat").unwrap().is_empty());
    assert!(n.add_namespace("/a*").is_err());
    assert_eq!(n.count_channel("/chat"), "socket.io-request#/chat#");
}

#[test]
fn a_broadcast_reaches_the_others_and_not_its_sender() {
    let mut a = node(1);
    let mut b = node(2);
    let p = a.broadcast(
        BroadcastPacket::event(
            "/",
            vec![MsgValue::from("ev"), MsgValue::Binary(vec![1, 2])],
        ),
        BroadcastOpts {
            rooms: vec!["r1".into()],
            ..Default::default()
        },
    );
    assert_eq!(p.channel, "socket.io#/#r1#");
    assert_eq!(deliver(&[&a, &b], &p), [0, 1]);
    assert_eq!(a.receive(&p.channel, &p.payload), Ok(Received::Nothing));
    let Ok(Received::Broadcast(got)) = b.receive(&p.channel, &p.payload) else {
        panic!()
    };
    assert_eq!(got.uid, a.uid());
    assert_eq!(got.packet.data[1], MsgValue::Binary(vec![1, 2]));
    assert_eq!(got.opts.rooms, ["r1"]);
    // Another namespace's broadcast is not ours.
    let other = a.broadcast(
        BroadcastPacket::event("/x", vec![]),
        BroadcastOpts::default(),
    );
    assert_eq!(
        b.receive(&other.channel, &other.payload),
        Ok(Received::Nothing)
    );
}

/// Runs a request from node 0 through the bus: every other node answers with `answer`.
fn run(
    nodes: &mut [ClassicNode],
    now: Instant,
    op: Operation,
    answer: impl Fn(usize, &Request) -> Vec<Response>,
) -> Option<Completed> {
    let others = nodes.len() as u64 - 1;
    let started = nodes[0].request(now, "/", op, Some(others), None);
    if let Some(c) = started.completed {
        return Some(c);
    }
    let mut queue: VecDeque<Publish> = started.publish.into_iter().collect();
    let mut done = None;
    while let Some(p) = queue.pop_front() {
        let refs: Vec<&ClassicNode> = nodes.iter().collect();
        for i in deliver(&refs, &p) {
            match nodes[i].receive(&p.channel, &p.payload).unwrap() {
                Received::Request { nsp, request } => {
                    let who = requester(&request).map(str::to_owned);
                    for r in answer(i, &request) {
                        queue.push_back(nodes[i].respond(&nsp, who.as_deref(), &r));
                    }
                }
                Received::Completed(c) => {
                    assert!(done.is_none(), "completed twice");
                    assert_eq!(i, 0);
                    done = Some(c);
                }
                Received::Nothing => {}
                Received::Broadcast(_) => panic!("no broadcast here"),
            }
        }
    }
    done
}

fn socket(id: &str) -> RemoteSocket {
    RemoteSocket {
        id: id.into(),
        handshake: json!({}),
        rooms: vec![id.into()],
        data: json!(null),
    }
}

#[test]
fn fetch_sockets_collects_one_answer_per_other_node() {
    let now = Instant::now();
    let mut nodes = vec![node(1), node(2), node(3)];
    let done = run(
        &mut nodes,
        now,
        Operation::FetchSockets(RoomsOpts::default()),
        |i, r| {
            let id = r.request_id().unwrap().to_owned();
            let sockets = if i == 1 { vec![socket("s1")] } else { vec![] };
            vec![Response::Sockets {
                request_id: id,
                sockets,
            }]
        },
    )
    .expect("complete");
    assert_eq!(done.outcome, Ok(()));
    assert_eq!(done.answers, Answers::Sockets(vec![socket("s1")]));
    assert_eq!(nodes[0].pending(), 0);
}

#[test]
fn a_request_without_other_nodes_ends_at_once_and_publishes_nothing() {
    let mut a = node(1);
    let s = a.request(Instant::now(), "/", Operation::AllRooms, Some(0), None);
    assert_eq!(s.publish, None);
    let c = s.completed.unwrap();
    assert_eq!(c.answers, Answers::Rooms(vec![]));
    assert_eq!(c.outcome, Ok(()));
}

#[test]
fn a_silent_node_makes_the_request_time_out_with_what_came() {
    let now = Instant::now();
    let mut nodes = vec![node(1), node(2), node(3)];
    let done = run(&mut nodes, now, Operation::AllRooms, |i, r| {
        if i == 2 {
            return vec![];
        }
        vec![Response::Rooms {
            request_id: r.request_id().unwrap().into(),
            rooms: vec!["b".into(), "a".into()],
        }]
    });
    assert_eq!(done, None);
    let deadline = nodes[0].next_deadline().unwrap();
    assert_eq!(deadline, now + Duration::from_secs(5));
    assert!(nodes[0]
        .poll_timeouts(deadline - Duration::from_millis(1))
        .is_empty());
    let ended = nodes[0].poll_timeouts(deadline);
    assert_eq!(ended.len(), 1);
    assert_eq!(
        ended[0].answers,
        Answers::Rooms(vec!["a".into(), "b".into()])
    );
    assert_eq!(
        ended[0].outcome,
        Err(RequestFailure::Timeout {
            received: 1,
            expected: 2
        })
    );
    assert_eq!(
        ended[0].outcome.unwrap_err().to_string(),
        "timeout reached: only 1 responses received out of 2"
    );
    assert_eq!(nodes[0].next_deadline(), None);
}

#[test]
fn a_request_waits_its_own_timeout_when_given() {
    let now = Instant::now();
    let mut a = node(1);
    let s = a.request(
        now,
        "/",
        Operation::FetchSockets(RoomsOpts::default()),
        Some(1),
        Some(Duration::from_millis(300)),
    );
    assert!(s.publish.is_some());
    assert_eq!(a.next_deadline(), Some(now + Duration::from_millis(300)));
}

#[test]
fn server_side_emit_with_ack_is_not_received_by_its_sender() {
    let now = Instant::now();
    let mut nodes = vec![node(1), node(2), node(3)];
    let done = run(
        &mut nodes,
        now,
        Operation::ServerSideEmit {
            data: vec![json!("whoami")],
            ack: true,
        },
        |i, r| {
            assert_ne!(i, 0, "the sender got its own server-side emit");
            vec![Response::ServerSideEmit {
                request_id: r.request_id().unwrap().into(),
                data: json!(format!("node{i}")),
            }]
        },
    )
    .unwrap();
    assert_eq!(
        done.answers,
        Answers::ServerSideEmit(vec![json!("node1"), json!("node2")])
    );
    // Without ack: nothing waits, and the sender drops its echo.
    let s = nodes[0].request(
        now,
        "/",
        Operation::ServerSideEmit {
            data: vec![json!("hi")],
            ack: false,
        },
        None,
        None,
    );
    let p = s.publish.unwrap();
    assert_eq!(nodes[0].pending(), 0);
    assert_eq!(
        nodes[0].receive(&p.channel, &p.payload),
        Ok(Received::Nothing)
    );
    assert!(matches!(
        nodes[1].receive(&p.channel, &p.payload),
        Ok(Received::Request { .. })
    ));
}

#[test]
fn join_leave_and_disconnect_echoes_are_dropped_by_their_sender() {
    let mut nodes = [node(1), node(2)];
    for op in [
        Operation::JoinLeave {
            join: true,
            opts: RoomsOpts::default(),
            rooms: vec!["r".into()],
        },
        Operation::Disconnect {
            opts: RoomsOpts::default(),
            close: false,
        },
    ] {
        let p = nodes[0]
            .request(Instant::now(), "/", op, None, None)
            .publish
            .unwrap();
        assert_eq!(
            nodes[0].receive(&p.channel, &p.payload),
            Ok(Received::Nothing)
        );
        assert!(matches!(
            nodes[1].receive(&p.channel, &p.payload),
            Ok(Received::Request { .. })
        ));
    }
    // The emitter's requests carry no uid: applied by everyone.
    let emitter = br#"{"type":2,"opts":{"rooms":["a"],"except":[]},"rooms":["b"]}"#;
    assert!(matches!(
        nodes[0].receive("socket.io-request#/#", emitter),
        Ok(Received::Request { .. })
    ));
}

fn ack_op(timeout_ms: u64) -> Operation {
    Operation::BroadcastWithAck {
        packet: BroadcastPacket::event("/", vec![from_json(&json!("q"))]),
        opts: BroadcastOpts {
            flags: vec![("timeout".into(), MsgValue::from(timeout_ms))],
            ..Default::default()
        },
    }
}

#[test]
fn a_broadcast_with_acks_waits_for_every_count_and_every_ack() {
    let now = Instant::now();
    let mut nodes = vec![node(1), node(2), node(3)];
    let done = run(&mut nodes, now, ack_op(2000), |i, r| {
        let id = r.request_id().unwrap().to_owned();
        // Node 1 has two clients, node 2 none.
        let n = if i == 1 { 2 } else { 0 };
        let mut out = vec![Response::BroadcastClientCount {
            request_id: id.clone(),
            client_count: n,
        }];
        for k in 0..n {
            out.push(Response::BroadcastAck {
                request_id: id.clone(),
                packet: MsgValue::from(k),
            });
        }
        out
    })
    .unwrap();
    assert_eq!(done.outcome, Ok(()));
    assert_eq!(
        done.answers,
        Answers::BroadcastAcks {
            clients: 2,
            acks: vec![MsgValue::from(0), MsgValue::from(1)]
        }
    );
}

#[test]
fn a_broadcast_with_acks_times_out_at_its_own_timeout() {
    let now = Instant::now();
    let mut a = node(1);
    let s = a.request(now, "/", ack_op(700), None, None);
    let id = s.request_id.unwrap();
    // The count arrives, then one of its two acks; the node count comes after the publish.
    let count = Response::BroadcastClientCount {
        request_id: id.clone(),
        client_count: 2,
    }
    .encode();
    assert_eq!(
        a.receive("socket.io-response#/#", &count),
        Ok(Received::Nothing)
    );
    assert_eq!(a.set_others(&id, 1), None);
    let ack = Response::BroadcastAck {
        request_id: id.clone(),
        packet: MsgValue::from("x"),
    }
    .encode();
    assert_eq!(
        a.receive("socket.io-response#/#", &ack),
        Ok(Received::Nothing)
    );
    assert_eq!(a.next_deadline(), Some(now + Duration::from_millis(700)));
    let ended = a.poll_timeouts(now + Duration::from_millis(700));
    assert_eq!(
        ended[0].outcome,
        Err(RequestFailure::Timeout {
            received: 2,
            expected: 3
        })
    );
    // A late answer finds nothing waiting.
    assert_eq!(
        a.receive("socket.io-response#/#", &ack),
        Ok(Received::Nothing)
    );
}

#[test]
fn answers_past_the_limit_end_the_request() {
    let config = NodeConfig {
        max_answers: 3,
        ..NodeConfig::default()
    };
    let mut a = ClassicNode::new(config, counter(9));
    a.add_namespace("/").unwrap();
    let s = a.request(Instant::now(), "/", ack_op(1000), Some(1), None);
    let id = s.request_id.unwrap();
    let mut ended = None;
    for k in 0..10u64 {
        let ack = Response::BroadcastAck {
            request_id: id.clone(),
            packet: MsgValue::from(k),
        }
        .encode();
        if let Received::Completed(c) = a.receive("socket.io-response#/#", &ack).unwrap() {
            ended = Some(c);
            break;
        }
    }
    let c = ended.expect("ended");
    assert_eq!(c.outcome, Err(RequestFailure::TooManyAnswers));
    assert_eq!(a.pending(), 0);
}

#[test]
fn too_many_pending_requests_fail_at_once() {
    let config = NodeConfig {
        max_pending: 2,
        ..NodeConfig::default()
    };
    let mut a = ClassicNode::new(config, counter(3));
    a.add_namespace("/").unwrap();
    let now = Instant::now();
    for _ in 0..2 {
        assert!(a
            .request(now, "/", Operation::AllRooms, Some(1), None)
            .publish
            .is_some());
    }
    let s = a.request(now, "/", Operation::AllRooms, Some(1), None);
    assert_eq!(s.publish, None);
    assert_eq!(
        s.completed.unwrap().outcome,
        Err(RequestFailure::TooManyPending)
    );
}

#[test]
fn answers_go_to_the_requesters_channel_when_configured() {
    let config = NodeConfig {
        specific_response_channel: true,
        ..NodeConfig::default()
    };
    let mut b = ClassicNode::new(config, counter(4));
    b.add_namespace("/").unwrap();
    let mut a = node(5);
    let s = a.request(Instant::now(), "/", Operation::AllRooms, Some(1), None);
    let p = s.publish.unwrap();
    let Received::Request { nsp, request } = b.receive(&p.channel, &p.payload).unwrap() else {
        panic!()
    };
    let r = b.respond(
        &nsp,
        requester(&request),
        &Response::Rooms {
            request_id: s.request_id.unwrap(),
            rooms: vec![],
        },
    );
    assert_eq!(r.channel, format!("socket.io-response#/#{}#", a.uid()));
    assert!(matches!(
        a.receive(&r.channel, &r.payload),
        Ok(Received::Completed(_))
    ));
}

proptest! {
    /// Any bytes on any of a node's channels: a typed error or a meaning, never a panic, and
    /// nothing pending grows.
    #[test]
    fn arbitrary_messages_never_panic(
        msgs in proptest::collection::vec((0usize..5, proptest::collection::vec(any::<u8>(), 0..64)), 0..40)
    ) {
        let mut a = node(7);
        let uid = a.uid().to_owned();
        let s = a.request(Instant::now(), "/", Operation::AllRooms, Some(2), None);
        prop_assert!(s.publish.is_some());
        let chans = [
            "socket.io#/#".to_owned(),
            "socket.io#/#room#".to_owned(),
            "socket.io-request#/#".to_owned(),
            "socket.io-response#/#".to_owned(),
            format!("socket.io-response#/#{uid}#"),
        ];
        for (c, bytes) in msgs {
            let _ = a.receive(&chans[c], &bytes);
            prop_assert!(a.pending() <= 1);
        }
    }

    /// Answers in any order and any count complete a request exactly once, and only when each
    /// expected answer came.
    #[test]
    fn answers_complete_exactly_once(counts in proptest::collection::vec(0u64..4, 1..5), order in any::<u64>()) {
        let mut a = node(11);
        let now = Instant::now();
        let s = a.request(now, "/", ack_op(5000), None, None);
        let id = s.request_id.unwrap();
        let mut msgs = Vec::new();
        for &n in &counts {
            msgs.push(Response::BroadcastClientCount { request_id: id.clone(), client_count: n }.encode());
            for k in 0..n {
                msgs.push(Response::BroadcastAck { request_id: id.clone(), packet: MsgValue::from(k) }.encode());
            }
        }
        // A deterministic shuffle.
        let mut seed = order;
        for i in (1..msgs.len()).rev() {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            msgs.swap(i, (seed >> 33) as usize % (i + 1));
        }
        let mut completed = 0;
        let total = msgs.len();
        let set_at = (order as usize) % (total + 1);
        for (i, m) in msgs.iter().enumerate() {
            if i == set_at && a.set_others(&id, counts.len() as u64).is_some() {
                completed += 1;
            }
            if let Received::Completed(c) = a.receive("socket.io-response#/#", m).unwrap() {
                prop_assert_eq!(i + 1, total);
                prop_assert_eq!(c.outcome, Ok(()));
                completed += 1;
            }
        }
        if set_at == total && a.set_others(&id, counts.len() as u64).is_some() {
            completed += 1;
        }
        prop_assert_eq!(completed, 1);
        prop_assert_eq!(a.pending(), 0);
    }
}

mod sharded {
    use super::*;
    use socketio_cluster_proto::node::FleetNode;
    use socketio_cluster_proto::sharded::{ShardedNode, SubscriptionMode};

    fn sharded(seed: u8) -> ShardedNode {
        let mut n = ShardedNode::new(
            NodeConfig::default(),
            SubscriptionMode::Dynamic,
            counter(seed),
        );
        n.add_namespace("/").unwrap();
        n
    }

    /// Delivers `first` and what it causes; node 0's completed requests.
    fn run(
        nodes: &mut [ShardedNode],
        first: Publish,
        answer: impl Fn(usize, &Request) -> Vec<Response>,
    ) -> Vec<Completed> {
        let mut queue = VecDeque::from([first]);
        let mut done = Vec::new();
        while let Some(p) = queue.pop_front() {
            assert!(p.sharded);
            for (i, node) in nodes.iter_mut().enumerate() {
                if !node.subscriptions().iter().any(|s| matches(s, &p.channel)) {
                    continue;
                }
                match node.receive(&p.channel, &p.payload).unwrap() {
                    Received::Request { nsp, request } => {
                        let who = requester(&request).map(str::to_owned);
                        for r in answer(i, &request) {
                            queue.extend(node.respond(&nsp, who.as_deref(), &r));
                        }
                    }
                    Received::Completed(c) => done.push(c),
                    Received::Broadcast(b) => panic!("node {i} got a broadcast {b:?}"),
                    Received::Nothing => {}
                }
            }
        }
        done
    }

    #[test]
    fn uids_are_sixteen_hex_digits_and_channels_the_references() {
        let n = sharded(1);
        assert_eq!(n.uid().len(), 16);
        assert!(n.uid().bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(
            n.subscriptions(),
            [
                Subscription::Shard("socket.io#/#".into()),
                Subscription::Shard(format!("socket.io#/#{}#", n.uid())),
            ]
        );
        assert_eq!(n.count("/"), ("SHARDNUMSUB", "socket.io#/#".to_owned()));
    }

    #[test]
    fn a_fetch_collects_every_other_nodes_sockets_on_the_requesters_channel() {
        let mut nodes = [sharded(1), sharded(2), sharded(3)];
        let s = nodes[0].request(
            Instant::now(),
            "/",
            Operation::FetchSockets(RoomsOpts::default()),
            Some(2),
            None,
        );
        let done = run(&mut nodes, s.publish.unwrap(), |i, r| {
            vec![Response::Sockets {
                request_id: r.request_id().unwrap().into(),
                sockets: vec![socket(&format!("s{i}"))],
            }]
        });
        assert_eq!(done.len(), 1);
        assert_eq!(
            done[0].answers,
            Answers::Sockets(vec![socket("s1"), socket("s2")])
        );
    }

    #[test]
    fn dynamic_mode_gives_public_rooms_a_channel_and_socket_ids_none() {
        let mut a = sharded(1);
        let mut b = sharded(2);
        let id = "abcdefghijklmnopqrst";
        assert_eq!(b.room_created("/", id, true), None);
        assert_eq!(
            b.room_created("/", "news", false),
            Some(Subscription::Shard("socket.io#/#news#".into()))
        );
        // A one-room broadcast goes to the room's channel, unless the room looks like an id.
        let to_news = a.broadcast(
            BroadcastPacket::event("/", vec![MsgValue::from("e")]),
            BroadcastOpts {
                rooms: vec!["news".into()],
                ..Default::default()
            },
        );
        assert_eq!(to_news.channel, "socket.io#/#news#");
        assert!(matches!(
            b.receive(&to_news.channel, &to_news.payload),
            Ok(Received::Broadcast(_))
        ));
        assert_eq!(
            a.receive(&to_news.channel, &to_news.payload),
            Ok(Received::Nothing)
        );
        let to_id = a.broadcast(
            BroadcastPacket::event("/", vec![MsgValue::from("e")]),
            BroadcastOpts {
                rooms: vec![id.into()],
                ..Default::default()
            },
        );
        assert_eq!(to_id.channel, "socket.io#/#");
        assert_eq!(
            b.room_deleted("/", "news"),
            Some(Subscription::Shard("socket.io#/#news#".into()))
        );
        assert_eq!(b.room_deleted("/", "news"), None);
        assert!(!b
            .subscriptions()
            .iter()
            .any(|s| matches!(s, Subscription::Shard(c) if c.ends_with("news#"))));
    }

    #[test]
    fn static_mode_keeps_every_broadcast_on_the_namespace_channel() {
        let mut n = ShardedNode::new(NodeConfig::default(), SubscriptionMode::Static, counter(4));
        n.add_namespace("/").unwrap();
        assert!(!n.wants_room_events());
        assert_eq!(n.room_created("/", "news", false), None);
        let p = n.broadcast(
            BroadcastPacket::event("/", vec![MsgValue::from("e")]),
            BroadcastOpts {
                rooms: vec!["news".into()],
                ..Default::default()
            },
        );
        assert_eq!(p.channel, "socket.io#/#");
        // dynamic-private: socket ids get channels too.
        let mut p = ShardedNode::new(
            NodeConfig::default(),
            SubscriptionMode::DynamicPrivate,
            counter(5),
        );
        p.add_namespace("/").unwrap();
        assert_eq!(
            p.room_created("/", "abcdefghijklmnopqrst", true),
            Some(Subscription::Shard(
                "socket.io#/#abcdefghijklmnopqrst#".into()
            ))
        );
    }

    #[test]
    fn all_rooms_is_not_part_of_the_protocol() {
        let mut a = sharded(1);
        let s = a.request(Instant::now(), "/", Operation::AllRooms, Some(2), None);
        assert_eq!(s.publish, None);
        assert_eq!(
            s.completed.unwrap().outcome,
            Err(RequestFailure::Unsupported)
        );
    }

    #[test]
    fn a_broadcast_with_acks_counts_and_collects_across_nodes() {
        let mut nodes = [sharded(1), sharded(2), sharded(3)];
        let s = nodes[0].request(Instant::now(), "/", ack_op(2000), None, None);
        let id = s.request_id.clone().unwrap();
        let mut done = run(&mut nodes, s.publish.unwrap(), |i, r| {
            let request_id = r.request_id().unwrap().to_owned();
            vec![
                Response::BroadcastClientCount {
                    request_id: request_id.clone(),
                    client_count: 1,
                },
                Response::BroadcastAck {
                    request_id,
                    packet: MsgValue::Binary(vec![i as u8]),
                },
            ]
        });
        assert!(done.is_empty(), "complete before the node count is known");
        done.extend(nodes[0].set_others(&id, 2));
        assert_eq!(
            done[0].answers,
            Answers::BroadcastAcks {
                clients: 2,
                acks: vec![MsgValue::Binary(vec![1]), MsgValue::Binary(vec![2])]
            }
        );
    }
}
