//! The captured vectors of `../shared/protocol/redis-adapter.md` §5.1 (classic adapter and
//! emitter, Node socket.io 4.8.4 + @socket.io/redis-adapter 8.3.0): decoded into values, and
//! our encoding of those values byte-identical to Node's.

use serde_json::json;
use socketio_cluster_proto::msgpack::from_json;
use socketio_cluster_proto::{
    channels, Broadcast, BroadcastOpts, BroadcastPacket, MsgValue, RemoteSocket, Request, Response,
    RoomsOpts,
};

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn event(nsp: &str, data: serde_json::Value) -> BroadcastPacket {
    let serde_json::Value::Array(items) = data else {
        panic!()
    };
    BroadcastPacket::event(nsp, items.iter().map(from_json).collect())
}

#[test]
fn plain_broadcast() {
    let bytes = hex("93a663623176324283a47479706502a46461746197a5706c61696ea568656c6c6f01cb4004000000000000c3c081a16ba176a36e7370a12f83a5726f6f6d7390a665786365707490a5666c61677380");
    let b = Broadcast {
        uid: "cb1v2B".into(),
        packet: event(
            "/",
            json!(["plain", "hello", 1, 2.5, true, null, {"k": "v"}]),
        ),
        opts: BroadcastOpts::default(),
    };
    assert_eq!(b.encode(), bytes);
    assert_eq!(Broadcast::decode(&bytes).unwrap(), b);
    assert_eq!(b.channel("socket.io"), "socket.io#/#");
}

#[test]
fn room_broadcast_with_except_goes_to_the_room_channel() {
    let bytes = hex("93a663623176324283a47479706502a46461746192a6726f6f6d657681a16101a36e7370a12f83a5726f6f6d7391a5726f6f6d31a665786365707491a5726f6f6d32a5666c61677380");
    let b = Broadcast {
        uid: "cb1v2B".into(),
        packet: event("/", json!(["roomev", {"a": 1}])),
        opts: BroadcastOpts {
            rooms: vec!["room1".into()],
            except: vec!["room2".into()],
            flags: Vec::new(),
        },
    };
    assert_eq!(b.encode(), bytes);
    assert_eq!(Broadcast::decode(&bytes).unwrap(), b);
    assert_eq!(b.channel("socket.io"), "socket.io#/#room1#");
    assert_eq!(
        channels::room_of("socket.io", "/", "socket.io#/#room1#"),
        Some("room1")
    );
    assert_eq!(
        channels::room_of("socket.io", "/", "socket.io#/#"),
        Some("")
    );
    assert_eq!(
        channels::room_of("socket.io", "/", "socket.io#/chat#"),
        None
    );
}

#[test]
fn binary_travels_inline_and_the_type_stays_event() {
    let bytes = hex("93a663623176324283a47479706502a46461746193a362696ec40301020381a66e6573746564c4020405a36e7370a12f83a5726f6f6d7390a665786365707490a5666c61677380");
    let b = Broadcast {
        uid: "cb1v2B".into(),
        packet: BroadcastPacket::event(
            "/",
            vec![
                MsgValue::from("bin"),
                MsgValue::Binary(vec![1, 2, 3]),
                MsgValue::Map(vec![(
                    MsgValue::from("nested"),
                    MsgValue::Binary(vec![4, 5]),
                )]),
            ],
        ),
        opts: BroadcastOpts::default(),
    };
    assert_eq!(b.encode(), bytes);
    assert_eq!(Broadcast::decode(&bytes).unwrap(), b);
}

#[test]
fn volatile_flags_keep_their_order() {
    let b = Broadcast {
        uid: "cb1v2B".into(),
        packet: event("/", json!(["volev", 1])),
        opts: BroadcastOpts {
            flags: vec![
                ("volatile".into(), MsgValue::Boolean(true)),
                ("compress".into(), MsgValue::Boolean(false)),
            ],
            ..Default::default()
        },
    };
    let bytes = b.encode();
    let tail = hex("a5666c61677382a8766f6c6174696c65c3a8636f6d7072657373c2");
    assert!(bytes.ends_with(&tail), "{bytes:02x?}");
    assert_eq!(Broadcast::decode(&bytes).unwrap(), b);
}

#[test]
fn fetch_sockets_request_and_response() {
    let bytes = hex("7b22756964223a22636231763242222c22726571756573744964223a2254594739344a222c2274797065223a352c226f707473223a7b22726f6f6d73223a5b22726f6f6d31225d2c22657863657074223a5b5d7d7d");
    let r = Request::RemoteFetch {
        uid: Some("cb1v2B".into()),
        request_id: "TYG94J".into(),
        opts: RoomsOpts {
            rooms: vec!["room1".into()],
            except: vec![],
        },
    };
    assert_eq!(r.encode(), bytes);
    assert_eq!(Request::decode(&bytes).unwrap(), r);
    assert_eq!(r.request_id(), Some("TYG94J"));
    let response = br#"{"requestId":"TYG94J","sockets":[{"id":"NYj3ZQBuSQCEC7LdAAAA","handshake":{"address":"127.0.0.1","auth":{"name":"cB"}},"rooms":["NYj3ZQBuSQCEC7LdAAAA","room1"],"data":{"name":"cB","server":"B"}}]}"#;
    let decoded = Response::decode(response).unwrap();
    assert_eq!(
        decoded,
        Response::Sockets {
            request_id: "TYG94J".into(),
            sockets: vec![RemoteSocket {
                id: "NYj3ZQBuSQCEC7LdAAAA".into(),
                handshake: json!({"address": "127.0.0.1", "auth": {"name": "cB"}}),
                rooms: vec!["NYj3ZQBuSQCEC7LdAAAA".into(), "room1".into()],
                data: json!({"name": "cB", "server": "B"}),
            }],
        }
    );
    assert_eq!(decoded.encode(), response);
}

#[test]
fn all_rooms_request_and_response() {
    let request = br#"{"uid":"cb1v2B","requestId":"2G_W7T","type":1}"#;
    let r = Request::decode(request).unwrap();
    assert_eq!(
        r,
        Request::AllRooms {
            uid: Some("cb1v2B".into()),
            request_id: "2G_W7T".into()
        }
    );
    assert_eq!(r.encode(), request);
    let response = br#"{"requestId":"2G_W7T","rooms":["NYj3ZQBuSQCEC7LdAAAA","room1"]}"#;
    let decoded = Response::decode(response).unwrap();
    assert!(matches!(&decoded, Response::Rooms { rooms, .. } if rooms.len() == 2));
    assert_eq!(decoded.encode(), response);
}

#[test]
fn server_side_emit_with_and_without_ack() {
    let bytes = hex("7b22756964223a22636231763242222c22726571756573744964223a22494f35336934222c2274797065223a362c2264617461223a5b2270696e672d73657276657273222c34325d7d");
    let r = Request::ServerSideEmit {
        uid: Some("cb1v2B".into()),
        request_id: Some("IO53i4".into()),
        data: vec![json!("ping-servers"), json!(42)],
    };
    assert_eq!(r.encode(), bytes);
    assert_eq!(Request::decode(&bytes).unwrap(), r);
    let no_ack = br#"{"uid":"cb1v2B","type":6,"data":["hello-servers","no ack"]}"#;
    let r = Request::decode(no_ack).unwrap();
    assert_eq!(r.request_id(), None);
    assert_eq!(r.encode(), no_ack);
    let response = br#"{"type":6,"requestId":"IO53i4","data":{"from":"B","got":[42]}}"#;
    let decoded = Response::decode(response).unwrap();
    assert_eq!(
        decoded,
        Response::ServerSideEmit {
            request_id: "IO53i4".into(),
            data: json!({"from": "B", "got": [42]})
        }
    );
    assert_eq!(decoded.encode(), response);
}

#[test]
fn remote_join_leave_and_disconnect() {
    let bytes = hex("7b22756964223a22636231763242222c2274797065223a322c226f707473223a7b22726f6f6d73223a5b224e596a335a5142755351434543374c6441414141225d2c22657863657074223a5b5d7d2c22726f6f6d73223a5b22726f6f6d33225d7d");
    let r = Request::RemoteJoinLeave {
        join: true,
        uid: Some("cb1v2B".into()),
        opts: RoomsOpts {
            rooms: vec!["NYj3ZQBuSQCEC7LdAAAA".into()],
            except: vec![],
        },
        rooms: vec!["room3".into()],
    };
    assert_eq!(r.encode(), bytes);
    assert_eq!(Request::decode(&bytes).unwrap(), r);
    let disconnect =
        br#"{"uid":"cb1v2B","type":4,"opts":{"rooms":["NYj3ZQBuSQCEC7LdAAAA"],"except":[]},"close":true}"#;
    let r = Request::decode(disconnect).unwrap();
    assert!(matches!(r, Request::RemoteDisconnect { close: true, .. }));
    assert_eq!(r.encode(), disconnect);
    // The emitter's requests carry no uid.
    let emitter =
        br#"{"type":2,"opts":{"rooms":["NYj3ZQBuSQCEC7LdAAAA"],"except":[]},"rooms":["room7"]}"#;
    let r = Request::decode(emitter).unwrap();
    assert!(matches!(
        &r,
        Request::RemoteJoinLeave {
            uid: None,
            join: true,
            ..
        }
    ));
    assert_eq!(r.encode(), emitter);
    // 7.x's one-socket form, still answered.
    let legacy = br#"{"uid":"x","requestId":"r1","type":2,"sid":"s1","room":"room9"}"#;
    let r = Request::decode(legacy).unwrap();
    assert!(matches!(&r, Request::Legacy { kind: 2, room: Some(room), .. } if room == "room9"));
    assert_eq!(r.encode(), legacy);
    assert_eq!(
        Response::Done {
            request_id: "r1".into()
        }
        .encode(),
        br#"{"requestId":"r1"}"#
    );
}

#[test]
fn broadcast_with_ack_request_count_and_answers() {
    let bytes = hex("85a3756964a6636231763242a9726571756573744964a639676e575041a47479706507a67061636b657483a47479706502a46461746192a561636b6576a87175657374696f6ea36e7370a12fa46f70747383a5726f6f6d7390a665786365707490a5666c61677381a774696d656f7574cd07d0");
    let r = Request::BroadcastWithAck {
        uid: "cb1v2B".into(),
        request_id: "9gnWPA".into(),
        packet: event("/", json!(["ackev", "question"])),
        opts: BroadcastOpts {
            flags: vec![("timeout".into(), MsgValue::from(2000))],
            ..Default::default()
        },
    };
    assert_eq!(r.encode(), bytes);
    let decoded = Request::decode(&bytes).unwrap();
    assert_eq!(decoded, r);
    let count = br#"{"type":8,"requestId":"9gnWPA","clientCount":1}"#;
    let c = Response::decode(count).unwrap();
    assert_eq!(
        c,
        Response::BroadcastClientCount {
            request_id: "9gnWPA".into(),
            client_count: 1
        }
    );
    assert_eq!(c.encode(), count);
    let ack = hex("83a47479706509a9726571756573744964a639676e575041a67061636b657481a6616e73776572a766726f6d206342");
    let a = Response::BroadcastAck {
        request_id: "9gnWPA".into(),
        packet: from_json(&json!({"answer": "from cB"})),
    };
    assert_eq!(a.encode(), ack);
    assert_eq!(Response::decode(&ack).unwrap(), a);
}

#[test]
fn emitter_broadcasts_decode_with_their_key_order() {
    let plain = hex("93a7656d697474657283a47479706502a46461746192ab66726f6d656d6974746572a26531a36e7370a12f83a5726f6f6d7390a5666c61677380a665786365707490");
    let b = Broadcast::decode(&plain).unwrap();
    assert_eq!(b.uid, "emitter");
    assert_eq!(b.packet, event("/", json!(["fromemitter", "e1"])));
    assert_eq!(b.opts, BroadcastOpts::default());
    let bin = hex("93a7656d697474657283a47479706502a46461746192af66726f6d656d69747465722d62696ec402deada36e7370a12f83a5726f6f6d7390a5666c61677380a665786365707490");
    let b = Broadcast::decode(&bin).unwrap();
    assert_eq!(b.packet.data[1], MsgValue::Binary(vec![0xde, 0xad]));
}

#[test]
fn malformed_messages_are_errors_not_panics() {
    let cases: [&[u8]; 8] = [
        b"",
        b"{",
        b"{\"type\":99}",
        b"{\"type\":5}",
        &[0x93, 0xa1, 0x61],
        &[0x92, 0xa1, 0x61, 0x80],
        &[0x81, 0xa4, b't', b'y', b'p', b'e', 0x07],
        &[0xdd, 0xff, 0xff, 0xff, 0xff],
    ];
    for bytes in cases {
        assert!(Broadcast::decode(bytes).is_err(), "{bytes:?}");
        assert!(Request::decode(bytes).is_err(), "{bytes:?}");
        assert!(Response::decode(bytes).is_err(), "{bytes:?}");
    }
}
