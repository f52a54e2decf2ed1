//! A fleet node (classic or sharded, by the first byte) fed arbitrary messages on each of its
//! channels, requests started, rooms created and deleted and clocks advanced in any order:
//! never a panic, and it keeps no more than its limits.

#![no_main]

use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use socketio_cluster_proto::node::{ClassicNode, FleetNode, NodeConfig, Operation};
use socketio_cluster_proto::sharded::{ShardedNode, SubscriptionMode};
use socketio_cluster_proto::{BroadcastOpts, BroadcastPacket, MsgValue, RoomsOpts};

fuzz_target!(|data: &[u8]| {
    let Some((&which, data)) = data.split_first() else {
        return;
    };
    let config = NodeConfig {
        max_pending: 4,
        max_answers: 8,
        ..NodeConfig::default()
    };
    let mut seed = 1u8;
    let random = Box::new(move |b: &mut [u8]| {
        for x in b {
            seed = seed.wrapping_mul(75).wrapping_add(74);
            *x = seed;
        }
    });
    let mut node: Box<dyn FleetNode> = match which % 4 {
        0 | 1 => Box::new(ClassicNode::new(config, random)),
        2 => Box::new(ShardedNode::new(config, SubscriptionMode::Dynamic, random)),
        _ => Box::new(ShardedNode::new(config, SubscriptionMode::Static, random)),
    };
    let _ = node.add_namespace("/");
    let _ = node.add_namespace("/a");
    let uid = node.uid().to_owned();
    let channels = [
        "socket.io#/#".to_owned(),
        "socket.io#/#r#".to_owned(),
        "socket.io-request#/#".to_owned(),
        "socket.io-response#/#".to_owned(),
        format!("socket.io-response#/#{uid}#"),
        format!("socket.io#/#{uid}#"),
        "socket.io-request#/a#".to_owned(),
        "other".to_owned(),
    ];
    let start = Instant::now();
    let mut now = start;
    let mut ids = Vec::new();
    let mut rest = data;
    while let [op, arg, tail @ ..] = rest {
        rest = tail;
        match op % 5 {
            0 => {
                let len = usize::from(*arg).min(rest.len());
                let (msg, tail) = rest.split_at(len);
                rest = tail;
                let _ = node.receive(&channels[usize::from(op / 5) % channels.len()], msg);
            }
            1 => {
                let op = match arg % 3 {
                    0 => Operation::FetchSockets(RoomsOpts::default()),
                    1 => Operation::AllRooms,
                    _ => Operation::BroadcastWithAck {
                        packet: BroadcastPacket::event("/", vec![MsgValue::from("e")]),
                        opts: BroadcastOpts::default(),
                    },
                };
                let others = (arg & 0x80 != 0).then_some(u64::from(arg & 3));
                if let Some(id) = node.request(now, "/", op, others, None).request_id {
                    ids.push(id);
                }
            }
            2 => {
                if let Some(id) = ids.get(usize::from(*arg) % ids.len().max(1)) {
                    let _ = node.set_others(id, u64::from(arg & 3));
                }
            }
            3 => {
                let room = format!("r{}", arg % 4);
                if arg & 0x10 == 0 {
                    let _ = node.room_created("/", &room, arg & 0x20 != 0);
                } else {
                    let _ = node.room_deleted("/", &room);
                }
            }
            _ => {
                now += Duration::from_millis(u64::from(*arg) * 50);
                let _ = node.poll_timeouts(now);
            }
        }
        assert!(node.pending() <= 4);
    }
    // Everything ends by the longest timeout.
    let _ = node.poll_timeouts(now + Duration::from_secs(6));
    assert_eq!(node.pending(), 0);
});
