//! Property tests over random schedules and network faults: every message sent by either side
//! arrives exactly once and in order, unless the session closed, and then both sides report
//! the close.

use std::time::{Duration, Instant};

use proptest::prelude::*;

use engineio_proto::client::{ClientConfig, ClientEvent};
use engineio_proto::http::TransportKind;
use engineio_proto::server::{ServerConfig, SessionEvent};
use engineio_proto::sim::{NetConfig, Sim};
use engineio_proto::{Bytes, EngineIoVersion, Message};

#[allow(clippy::disallowed_methods)]
fn start() -> Instant {
    Instant::now()
}

#[derive(Debug, Clone)]
enum Op {
    ClientSend { binary: bool, len: usize },
    ServerSend { binary: bool, len: usize },
    Wait(u64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (any::<bool>(), 0usize..300).prop_map(|(binary, len)| Op::ClientSend { binary, len }),
        (any::<bool>(), 0usize..300).prop_map(|(binary, len)| Op::ServerSend { binary, len }),
        (0u64..80).prop_map(Op::Wait),
    ]
}

/// A message that names itself: `i` in the first bytes, padded to `len`.
fn message(tag: char, i: usize, binary: bool, len: usize) -> Message {
    let mut text = format!("{tag}{i}:");
    while text.len() < len {
        text.push('€');
    }
    if binary {
        Message::Binary(Bytes::from(text.into_bytes()))
    } else {
        Message::Text(text.into())
    }
}

#[derive(Debug, Clone)]
struct Setup {
    version: EngineIoVersion,
    transport: TransportKind,
    upgrade: bool,
    b64: bool,
    latency_min: u64,
    jitter: u64,
    lossy: bool,
    loss: f64,
    max_payload: usize,
    seed: u64,
}

fn setup() -> impl Strategy<Value = Setup> {
    (
        prop_oneof![Just(EngineIoVersion::V3), Just(EngineIoVersion::V4)],
        prop_oneof![Just(TransportKind::Polling), Just(TransportKind::WebSocket)],
        any::<bool>(),
        any::<bool>(),
        0u64..20,
        0u64..40,
        any::<bool>(),
        0.0f64..0.05,
        prop_oneof![Just(1_000_000usize), 500usize..2000],
        any::<u64>(),
    )
        .prop_map(
            |(
                version,
                transport,
                upgrade,
                b64,
                latency_min,
                jitter,
                lossy,
                loss,
                max_payload,
                seed,
            )| Setup {
                version,
                transport,
                upgrade,
                b64,
                latency_min,
                jitter,
                lossy,
                loss,
                max_payload,
                seed,
            },
        )
}

fn run(setup: &Setup, ops: &[Op]) -> Result<(), TestCaseError> {
    let mut server = ServerConfig::default();
    // The pong deadline must cover the network: worst case a ping travels one way (60 ms),
    // waits for the POST in flight (a round trip), travels back, or waits out an upgrade's
    // pause (noop tick 100 ms + round trips). 500 ms covers it; tighter settings would make
    // heartbeat timeouts a legitimate outcome of the simulated latency.
    server.ping_interval = Duration::from_millis(300);
    server.ping_timeout = Duration::from_millis(500);
    server.allow_eio3 = true;
    server.max_payload = setup.max_payload;
    let net = NetConfig {
        latency_min: Duration::from_millis(setup.latency_min),
        latency_max: Duration::from_millis(setup.latency_min + setup.jitter),
        loss: if setup.lossy { setup.loss } else { 0.0 },
    };
    let mut sim = Sim::new(start(), server, net, setup.seed);
    let mut config = ClientConfig::default();
    config.version = setup.version;
    config.transport = setup.transport;
    config.upgrade = setup.upgrade;
    config.b64 = setup.b64;
    let c = sim.add_client(config);

    let (mut client_sent, mut server_sent) = (Vec::new(), Vec::new());
    for op in ops {
        match *op {
            Op::ClientSend { binary, len } => {
                let m = message('c', client_sent.len(), binary, len);
                if sim.client_send(c, m.clone()).is_ok() {
                    client_sent.push(m);
                }
            }
            Op::ServerSend { binary, len } => {
                let m = message('s', server_sent.len(), binary, len);
                if sim.server_send(c, m.clone()).is_ok() {
                    server_sent.push(m);
                }
            }
            Op::Wait(ms) => sim.run_for(Duration::from_millis(ms)),
        }
    }
    // Long enough for every heartbeat deadline to notice a dead peer.
    sim.run_for(Duration::from_secs(3));
    // A fault in the last moments: the other side must notice within its heartbeat deadline
    // (300 + 500 ms) plus the network's latency.
    sim.run_until(Duration::from_secs(2), |sim| {
        let client = sim
            .client_events(c)
            .iter()
            .any(|e| matches!(e, ClientEvent::Closed(_)));
        let server = sim
            .server_events(c)
            .iter()
            .any(|e| matches!(e, SessionEvent::Closed(_)))
            || sim.sid_of(c).is_none();
        client == server
    });

    let client_got: Vec<Message> = sim
        .client_events(c)
        .iter()
        .filter_map(|e| match e {
            ClientEvent::Message(m) => Some(m.clone()),
            _ => None,
        })
        .collect();
    let server_got: Vec<Message> = sim
        .server_events(c)
        .iter()
        .filter_map(|e| match e {
            SessionEvent::Message(m) => Some(m.clone()),
            _ => None,
        })
        .collect();
    let client_closed = sim
        .client_events(c)
        .iter()
        .any(|e| matches!(e, ClientEvent::Closed(_)));
    // A handshake lost on the way never opened a session: nothing to close on the server.
    let server_closed = sim
        .server_events(c)
        .iter()
        .any(|e| matches!(e, SessionEvent::Closed(_)))
        || sim.sid_of(c).is_none();
    let transcript = || sim.transcript().join("\n");

    prop_assert!(
        server_sent.starts_with(&client_got),
        "client got {} of {} server messages out of order or duplicated\n{}",
        client_got.len(),
        server_sent.len(),
        transcript()
    );
    prop_assert!(
        client_sent.starts_with(&server_got),
        "server got {} of {} client messages out of order or duplicated\n{}",
        server_got.len(),
        client_sent.len(),
        transcript()
    );
    prop_assert_eq!(
        client_closed,
        server_closed,
        "only one side closed\n{}",
        transcript()
    );
    if !setup.lossy {
        prop_assert!(
            !client_closed,
            "closed without faults: {:?}\n{}",
            sim.client_events(c),
            transcript()
        );
    }
    if !client_closed {
        prop_assert_eq!(client_got.len(), server_sent.len(), "{}", transcript());
        prop_assert_eq!(server_got.len(), client_sent.len(), "{}", transcript());
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn messages_arrive_once_in_order_or_both_sides_close(
        setup in setup(),
        ops in prop::collection::vec(op(), 0..60),
    ) {
        run(&setup, &ops)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// The fuzz target `engineio_sessions` as a property: arbitrary operation sequences
    /// (requests, frames, time jumps, sends, closes, aborts) keep every invariant.
    #[test]
    fn arbitrary_server_operations_keep_invariants(bytes in prop::collection::vec(any::<u8>(), 0..4096)) {
        use arbitrary::{Arbitrary, Unstructured};
        use engineio_proto::sim::server_ops::{run, ServerOp};
        let mut u = Unstructured::new(&bytes);
        let ops = Vec::<ServerOp>::arbitrary(&mut u).unwrap_or_default();
        if let Err(e) = run(start(), &ops) {
            return Err(TestCaseError::fail(format!("{e}\n{ops:#?}")));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// The fuzz target `engineio_client` as a property: a hostile server never makes the
    /// client panic, double-book a transport, or hang once silent.
    #[test]
    fn arbitrary_server_behaviour_keeps_client_invariants(
        v4 in any::<bool>(),
        websocket in any::<bool>(),
        bytes in prop::collection::vec(any::<u8>(), 0..4096),
    ) {
        use arbitrary::{Arbitrary, Unstructured};
        use engineio_proto::sim::client_ops::{run, ClientOp};
        let mut u = Unstructured::new(&bytes);
        let ops = Vec::<ClientOp>::arbitrary(&mut u).unwrap_or_default();
        let version = if v4 { EngineIoVersion::V4 } else { EngineIoVersion::V3 };
        if let Err(e) = run(start(), version, websocket, &ops) {
            return Err(TestCaseError::fail(format!("{e}\n{ops:#?}")));
        }
    }
}

/// Found by the `engineio_client` fuzz target: a client closed by the application while its
/// polling handshake had just completed stayed open once the server went silent.
#[test]
fn client_closed_during_its_upgrade_still_ends_when_the_server_goes_silent() {
    use engineio_proto::sim::client_ops::{run, ClientOp};
    let ops = vec![
        ClientOp::Send {
            binary: false,
            len: 50115,
        },
        ClientOp::Respond {
            newest: false,
            status: 200,
            binary: false,
            open: true,
            body: vec![255, 79],
        },
        ClientOp::WsOpen,
        ClientOp::WsOpen,
        ClientOp::Close,
        ClientOp::WsOpen,
        ClientOp::Respond {
            newest: false,
            status: 20303,
            binary: true,
            open: true,
            body: vec![37, 87, 87, 50, 87, 87, 87, 40, 79, 79, 255, 0],
        },
        ClientOp::Advance { ms: 54227 },
        ClientOp::Send {
            binary: true,
            len: 54227,
        },
        ClientOp::Send {
            binary: true,
            len: 0,
        },
    ];
    for version in [EngineIoVersion::V4, EngineIoVersion::V3] {
        for websocket in [false, true] {
            if let Err(e) = run(start(), version, websocket, &ops) {
                panic!("{version:?} websocket={websocket}: {e}");
            }
        }
    }
}
