//! Simulation scenarios: our client (or a raw connection written by hand) against our server,
//! on a virtual clock. Each name states the rule checked.

use std::time::{Duration, Instant};

use engineio_proto::client::{ClientConfig, ClientEvent};
use engineio_proto::http::{HttpRequest, TransportKind};
use engineio_proto::server::{ServerConfig, SessionEvent};
use engineio_proto::sim::{NetConfig, Sim};
use engineio_proto::{Bytes, CloseReason, EngineIoVersion, Message, WsFrame};

#[allow(clippy::disallowed_methods)]
fn start() -> Instant {
    Instant::now()
}

/// The conformance suites' timings: pingInterval 300 ms, pingTimeout 200 ms.
fn fast() -> ServerConfig {
    let mut c = ServerConfig::default();
    c.ping_interval = Duration::from_millis(300);
    c.ping_timeout = Duration::from_millis(200);
    c.allow_eio3 = true;
    c
}

fn sim(server: ServerConfig) -> Sim {
    Sim::new(start(), server, NetConfig::default(), 7)
}

fn client(version: EngineIoVersion, transport: TransportKind, upgrade: bool) -> ClientConfig {
    let mut c = ClientConfig::default();
    c.version = version;
    c.transport = transport;
    c.upgrade = upgrade;
    c
}

const SID1: &str = "AQEBAQEBAQEBAQEBAQEB";

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn closed(events: &[SessionEvent]) -> Option<CloseReason> {
    events.iter().find_map(|e| match e {
        SessionEvent::Closed(r) => Some(*r),
        _ => None,
    })
}

fn client_closed(events: &[ClientEvent]) -> Option<CloseReason> {
    events.iter().find_map(|e| match e {
        ClientEvent::Closed(r) => Some(*r),
        _ => None,
    })
}

fn assert_transcript(sim: &Sim, expected: &str) {
    let got = sim.transcript().join("\n");
    let expected: Vec<&str> = expected
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(got, expected.join("\n"), "\n--- got ---\n{got}\n");
}

#[test]
fn polling_handshake_v4_transcript() {
    let mut s = sim(fast());
    let c = s.add_client(client(EngineIoVersion::V4, TransportKind::Polling, false));
    s.run_for(ms(20));
    s.client_send(c, "hello").unwrap();
    s.server_send(c, "world").unwrap();
    s.run_for(ms(20));
    assert_transcript(
        &s,
        r#"
        [     0] C0->S GET /engine.io/?EIO=4&transport=polling
        [     5] S->C0 200 0{"sid":"AQEBAQEBAQEBAQEBAQEB","upgrades":["websocket"],"pingInterval":300,"pingTimeout":200,"maxPayload":1000000}
        [    10] C0->S GET /engine.io/?EIO=4&transport=polling&sid=AQEBAQEBAQEBAQEBAQEB
        [    20] C0->S POST /engine.io/?EIO=4&transport=polling&sid=AQEBAQEBAQEBAQEBAQEB 4hello
        [    20] S->C0 200 4world
        [    25] S->C0 200 ok
        [    25] C0->S GET /engine.io/?EIO=4&transport=polling&sid=AQEBAQEBAQEBAQEBAQEB
        "#,
    );
    assert_eq!(s.server_messages(c), ["hello"]);
    assert_eq!(s.client_messages(c), ["world"]);
}

#[test]
fn polling_handshake_v3_uses_length_prefixes() {
    let mut s = sim(fast());
    let c = s.add_client(client(EngineIoVersion::V3, TransportKind::Polling, false));
    s.run_for(ms(20));
    s.client_send(c, "€😀").unwrap();
    s.server_send(c, "x").unwrap();
    s.run_for(ms(20));
    assert_transcript(
        &s,
        r#"
        [     0] C0->S GET /engine.io/?EIO=3&transport=polling
        [     5] S->C0 200 114:0{"sid":"AQEBAQEBAQEBAQEBAQEB","upgrades":["websocket"],"pingInterval":300,"pingTimeout":200,"maxPayload":1000000}
        [    10] C0->S GET /engine.io/?EIO=3&transport=polling&sid=AQEBAQEBAQEBAQEBAQEB
        [    20] C0->S POST /engine.io/?EIO=3&transport=polling&sid=AQEBAQEBAQEBAQEBAQEB 4:4€😀
        [    20] S->C0 200 2:4x
        [    25] S->C0 200 ok
        [    25] C0->S GET /engine.io/?EIO=3&transport=polling&sid=AQEBAQEBAQEBAQEBAQEB
        "#,
    );
    assert_eq!(s.server_messages(c), ["€😀"]);
}

#[test]
fn websocket_handshake_v4_transcript() {
    let mut s = sim(fast());
    let c = s.add_client(client(EngineIoVersion::V4, TransportKind::WebSocket, true));
    s.run_for(ms(20));
    s.client_send(c, "hello").unwrap();
    s.server_send(c, Bytes::from_static(&[1, 2, 3])).unwrap();
    s.run_for(ms(20));
    assert_transcript(
        &s,
        r#"
        [     0] C0->S WS /engine.io/?EIO=4&transport=websocket
        [     5] S->C0 WS 101
        [     5] S->C0 WS 0{"sid":"AQEBAQEBAQEBAQEBAQEB","upgrades":[],"pingInterval":300,"pingTimeout":200,"maxPayload":1000000}
        [    20] C0->S WS 4hello
        [    20] S->C0 WS <binary 010203>
        "#,
    );
    assert_eq!(s.server_messages(c), ["hello"]);
    assert_eq!(s.client_messages(c), ["<binary 010203>"]);
}

#[test]
fn websocket_handshake_v3_prefixes_binary_with_4() {
    let mut s = sim(fast());
    let c = s.add_client(client(EngineIoVersion::V3, TransportKind::WebSocket, true));
    s.run_for(ms(20));
    s.client_send(c, Bytes::from_static(&[9])).unwrap();
    s.server_send(c, Bytes::from_static(&[1, 2, 3])).unwrap();
    s.run_for(ms(20));
    let t = s.transcript().join("\n");
    assert!(t.contains("C0->S WS <binary 0409>"), "{t}");
    assert!(t.contains("S->C0 WS <binary 04010203>"), "{t}");
    assert_eq!(s.server_messages(c), ["<binary 09>"]);
    assert_eq!(s.client_messages(c), ["<binary 010203>"]);
}

#[test]
fn upgrade_flushes_held_poll_with_noop() {
    let mut s = sim(fast());
    let c = s.add_client(client(EngineIoVersion::V4, TransportKind::Polling, true));
    s.run_for(ms(40));
    s.client_send(c, "after").unwrap();
    s.run_for(ms(20));
    assert_transcript(
        &s,
        r#"
        [     0] C0->S GET /engine.io/?EIO=4&transport=polling
        [     5] S->C0 200 0{"sid":"AQEBAQEBAQEBAQEBAQEB","upgrades":["websocket"],"pingInterval":300,"pingTimeout":200,"maxPayload":1000000}
        [    10] C0->S WS /engine.io/?EIO=4&transport=websocket&sid=AQEBAQEBAQEBAQEBAQEB
        [    10] C0->S GET /engine.io/?EIO=4&transport=polling&sid=AQEBAQEBAQEBAQEBAQEB
        [    15] S->C0 WS 101
        [    20] C0->S WS 2probe
        [    25] S->C0 WS 3probe
        [    25] S->C0 200 6
        [    30] C0->S WS 5
        [    40] C0->S WS 4after
        "#,
    );
    assert!(s.server_events(c).contains(&SessionEvent::Upgraded));
    assert!(s.client_events(c).contains(&ClientEvent::Upgraded));
    assert_eq!(s.server_messages(c), ["after"]);
    // The sid now lives on the WebSocket: polling requests for it are refused (code 3).
    let raw = s.add_raw();
    s.raw_request(
        raw,
        HttpRequest::get(format!("/engine.io/?EIO=4&transport=polling&sid={SID1}")),
    );
    s.run_for(ms(20));
    assert_eq!(
        s.raw_received(raw),
        [r#"400 {"code":3,"message":"Bad request"}"#]
    );
}

#[test]
fn heartbeat_v4_transcript_over_websocket() {
    let mut s = sim(fast());
    let c = s.add_client(client(EngineIoVersion::V4, TransportKind::WebSocket, false));
    s.run_for(ms(700));
    assert_transcript(
        &s,
        r#"
        [     0] C0->S WS /engine.io/?EIO=4&transport=websocket
        [     5] S->C0 WS 101
        [     5] S->C0 WS 0{"sid":"AQEBAQEBAQEBAQEBAQEB","upgrades":[],"pingInterval":300,"pingTimeout":200,"maxPayload":1000000}
        [   305] S->C0 WS 2
        [   310] C0->S WS 3
        [   615] S->C0 WS 2
        [   620] C0->S WS 3
        "#,
    );
    assert_eq!(closed(s.server_events(c)), None);
}

#[test]
fn heartbeat_v3_transcript_over_polling() {
    let mut s = sim(fast());
    let c = s.add_client(client(EngineIoVersion::V3, TransportKind::Polling, false));
    s.run_for(ms(340));
    assert_transcript(
        &s,
        r#"
        [     0] C0->S GET /engine.io/?EIO=3&transport=polling
        [     5] S->C0 200 114:0{"sid":"AQEBAQEBAQEBAQEBAQEB","upgrades":["websocket"],"pingInterval":300,"pingTimeout":200,"maxPayload":1000000}
        [    10] C0->S GET /engine.io/?EIO=3&transport=polling&sid=AQEBAQEBAQEBAQEBAQEB
        [   310] C0->S POST /engine.io/?EIO=3&transport=polling&sid=AQEBAQEBAQEBAQEBAQEB 1:2
        [   315] S->C0 200 ok
        [   315] S->C0 200 1:3
        [   320] C0->S GET /engine.io/?EIO=3&transport=polling&sid=AQEBAQEBAQEBAQEBAQEB
        "#,
    );
    s.run_for(ms(3000));
    assert_eq!(closed(s.server_events(c)), None);
    assert_eq!(client_closed(s.client_events(c)), None);
}

#[test]
fn heartbeat_v3_still_enforced_after_upgrade() {
    // The reference stops enforcing it after an upgrade (engineio.md §8); we do not.
    let mut s = sim(fast());
    let raw = s.add_raw();
    s.raw_request(raw, HttpRequest::get("/engine.io/?EIO=3&transport=polling"));
    s.run_for(ms(20));
    s.raw_ws_open(
        raw,
        &format!("/engine.io/?EIO=3&transport=websocket&sid={SID1}"),
    );
    s.raw_ws_send(raw, WsFrame::Text("2probe".into()));
    s.raw_ws_send(raw, WsFrame::Text("5".into()));
    s.run_for(ms(40));
    assert_eq!(&s.raw_received(raw)[1..], ["WS 101", "WS 3probe"]);
    let t0 = s.elapsed();
    s.run_until(ms(5000), |s| s.engine().session_count() == 0);
    // Handshake at 5 ms; no ping ever: closed at 5 + 300 + 200.
    assert!(
        s.elapsed() >= ms(505) && s.elapsed() < ms(515),
        "{:?} {t0:?}",
        s.elapsed()
    );
    s.run_for(ms(20));
    assert_eq!(s.raw_received(raw).last().unwrap(), "WS closed");
}

#[test]
fn missing_pong_closes_after_ping_interval_plus_timeout() {
    let mut s = sim(fast());
    let raw = s.add_raw();
    s.raw_request(raw, HttpRequest::get("/engine.io/?EIO=4&transport=polling"));
    s.run_for(ms(20));
    s.raw_request(
        raw,
        HttpRequest::get(format!("/engine.io/?EIO=4&transport=polling&sid={SID1}")),
    );
    s.run_until(ms(5000), |s| s.engine().session_count() == 0);
    // Session opened at 5 ms: ping at 305, no pong, closed at 505.
    assert_eq!(s.elapsed(), ms(505));
    assert_eq!(s.raw_received(raw)[1], "200 2");
    s.raw_request(
        raw,
        HttpRequest::get(format!("/engine.io/?EIO=4&transport=polling&sid={SID1}")),
    );
    s.run_for(ms(20));
    assert_eq!(
        s.raw_received(raw)[2],
        r#"400 {"code":1,"message":"Session ID unknown"}"#
    );
}

#[test]
fn second_concurrent_get_closes_session() {
    let mut s = sim(fast());
    let raw = s.add_raw();
    s.raw_request(raw, HttpRequest::get("/engine.io/?EIO=4&transport=polling"));
    s.run_for(ms(20));
    let uri = format!("/engine.io/?EIO=4&transport=polling&sid={SID1}");
    s.raw_request(raw, HttpRequest::get(uri.clone()));
    s.run_for(ms(20));
    s.raw_request(raw, HttpRequest::get(uri.clone()));
    s.run_for(ms(20));
    // The second GET gets 400, the held one the close packet.
    assert_eq!(&s.raw_received(raw)[1..], ["400", "200 1"]);
    assert_eq!(s.engine().session_count(), 0);
    s.raw_request(raw, HttpRequest::get(uri));
    s.run_for(ms(20));
    assert_eq!(
        s.raw_received(raw)[3],
        r#"400 {"code":1,"message":"Session ID unknown"}"#
    );
}

#[test]
fn oversized_post_gets_413_and_session_survives() {
    let mut config = fast();
    config.max_payload = 1000;
    let mut s = sim(config);
    let raw = s.add_raw();
    s.raw_request(raw, HttpRequest::get("/engine.io/?EIO=4&transport=polling"));
    s.run_for(ms(20));
    let uri = format!("/engine.io/?EIO=4&transport=polling&sid={SID1}");
    s.raw_request(
        raw,
        HttpRequest::post(uri.clone(), format!("4{}", "x".repeat(1000))),
    );
    s.run_for(ms(20));
    s.raw_request(
        raw,
        HttpRequest::post(uri.clone(), format!("4{}", "x".repeat(999))),
    );
    s.run_for(ms(20));
    assert_eq!(&s.raw_received(raw)[1..], ["413", "200 ok"]);
    assert_eq!(s.engine().session_count(), 1);
}

#[test]
fn unknown_sid_gets_code_1() {
    let mut s = sim(fast());
    let raw = s.add_raw();
    s.raw_request(
        raw,
        HttpRequest::get("/engine.io/?EIO=4&transport=polling&sid=nope"),
    );
    s.raw_request(
        raw,
        HttpRequest::post("/engine.io/?EIO=4&transport=polling&sid=nope", "4x"),
    );
    s.raw_ws_open(raw, "/engine.io/?EIO=4&transport=websocket&sid=nope");
    s.run_for(ms(20));
    let code1 = r#"400 {"code":1,"message":"Session ID unknown"}"#;
    assert_eq!(s.raw_received(raw), [code1, code1, "WS closed"]);
}

#[test]
fn several_posts_during_an_upgrade_are_all_delivered() {
    let mut s = sim(fast());
    let raw = s.add_raw();
    s.raw_request(raw, HttpRequest::get("/engine.io/?EIO=4&transport=polling"));
    s.run_for(ms(20));
    let uri = format!("/engine.io/?EIO=4&transport=polling&sid={SID1}");
    s.raw_request(raw, HttpRequest::get(uri.clone()));
    s.raw_ws_open(
        raw,
        &format!("/engine.io/?EIO=4&transport=websocket&sid={SID1}"),
    );
    s.run_for(ms(20));
    s.raw_ws_send(raw, WsFrame::Text("2probe".into()));
    for i in 0..3 {
        s.raw_request(raw, HttpRequest::post(uri.clone(), format!("4m{i}")));
        s.run_for(ms(20));
    }
    s.raw_ws_send(raw, WsFrame::Text("5".into()));
    s.raw_ws_send(raw, WsFrame::Text("4m3".into()));
    s.run_for(ms(20));
    let sid_events: Vec<String> = s
        .transcript()
        .iter()
        .filter(|l| l.contains("S->C0"))
        .map(|l| l[9..].to_owned())
        .collect();
    assert_eq!(
        &sid_events[1..],
        [
            "S->C0 WS 101",
            "S->C0 WS 3probe",
            "S->C0 200 6",
            "S->C0 200 ok",
            "S->C0 200 ok",
            "S->C0 200 ok"
        ]
    );
    let got: Vec<&SessionEvent> = s.session_events(SID1).iter().collect();
    let text = |t: &'static str| SessionEvent::Message(Message::from(t));
    assert_eq!(
        got,
        [
            &text("m0"),
            &text("m1"),
            &text("m2"),
            &SessionEvent::Upgraded,
            &text("m3")
        ]
    );
    assert_eq!(s.engine().session_count(), 1);
}

#[test]
fn abandoned_upgrade_is_reclaimed_and_polling_goes_on() {
    let mut config = fast();
    config.upgrade_timeout = ms(1000);
    config.ping_interval = ms(3000);
    let mut s = sim(config);
    let raw = s.add_raw();
    s.raw_request(raw, HttpRequest::get("/engine.io/?EIO=4&transport=polling"));
    s.run_for(ms(20));
    s.raw_ws_open(
        raw,
        &format!("/engine.io/?EIO=4&transport=websocket&sid={SID1}"),
    );
    s.run_for(ms(20));
    s.raw_ws_send(raw, WsFrame::Text("2probe".into()));
    s.run_for(ms(1100));
    assert_eq!(
        &s.raw_received(raw)[1..],
        ["WS 101", "WS 3probe", "WS closed"]
    );
    // Polling still works, and a new probe may start.
    let uri = format!("/engine.io/?EIO=4&transport=polling&sid={SID1}");
    s.raw_request(raw, HttpRequest::post(uri, "4still here"));
    s.raw_ws_open(
        raw,
        &format!("/engine.io/?EIO=4&transport=websocket&sid={SID1}"),
    );
    s.run_for(ms(20));
    assert_eq!(&s.raw_received(raw)[4..], ["200 ok", "WS 101"]);
}

#[test]
fn probe_websocket_closed_by_client_keeps_polling() {
    let mut s = sim(fast());
    let raw = s.add_raw();
    s.raw_request(raw, HttpRequest::get("/engine.io/?EIO=4&transport=polling"));
    s.run_for(ms(20));
    s.raw_ws_open(
        raw,
        &format!("/engine.io/?EIO=4&transport=websocket&sid={SID1}"),
    );
    s.run_for(ms(20));
    s.raw_ws_close(raw);
    s.run_for(ms(20));
    let uri = format!("/engine.io/?EIO=4&transport=polling&sid={SID1}");
    s.raw_request(raw, HttpRequest::post(uri, "4x"));
    s.run_for(ms(20));
    assert_eq!(s.raw_received(raw).last().unwrap(), "200 ok");
}

#[test]
fn v3_binary_payloads_without_b64() {
    let mut s = sim(fast());
    let c = s.add_client(client(EngineIoVersion::V3, TransportKind::Polling, false));
    s.run_for(ms(6)); // no long-poll held yet: the server batches
    s.client_send(c, "4x").unwrap();
    s.client_send(c, Bytes::from_static(&[1, 2, 3])).unwrap();
    s.server_send(c, "hello").unwrap();
    s.server_send(c, Bytes::from_static(&[1, 2, 3, 4])).unwrap();
    s.run_for(ms(40));
    let t = s.transcript().join("\n");
    // Server: XHR2 binary payload (engineio.md §6.3 vector); client POST likewise.
    assert!(
        t.contains("S->C0 200 <hex 0006ff3468656c6c6f0105ff0401020304>"),
        "{t}"
    );
    assert!(t.contains("POST /engine.io/?EIO=3&transport=polling&sid=AQEBAQEBAQEBAQEBAQEB <hex 0003ff3434780104ff04010203>"), "{t}");
    assert_eq!(s.server_messages(c), ["4x", "<binary 010203>"]);
    assert_eq!(s.client_messages(c), ["hello", "<binary 01020304>"]);
}

#[test]
fn v3_b64_clients_get_text_payloads() {
    let mut s = sim(fast());
    let mut config = client(EngineIoVersion::V3, TransportKind::Polling, false);
    config.b64 = true;
    let c = s.add_client(config);
    s.run_for(ms(6));
    s.server_send(c, "hello").unwrap();
    s.server_send(c, Bytes::from_static(&[1, 2, 3, 4])).unwrap();
    s.run_for(ms(20));
    let t = s.transcript().join("\n");
    assert!(t.contains("S->C0 200 6:4hello10:b4AQIDBA=="), "{t}");
    assert_eq!(s.client_messages(c), ["hello", "<binary 01020304>"]);
}

#[test]
fn client_close_over_polling_releases_held_get_with_noop() {
    let mut s = sim(fast());
    let c = s.add_client(client(EngineIoVersion::V4, TransportKind::Polling, false));
    s.run_for(ms(20));
    s.client_close(c);
    s.run_for(ms(20));
    let t = s.transcript().join("\n");
    assert!(
        t.contains("POST /engine.io/?EIO=4&transport=polling&sid=AQEBAQEBAQEBAQEBAQEB 1"),
        "{t}"
    );
    assert!(t.contains("S->C0 200 6"), "{t}");
    assert_eq!(
        closed(s.server_events(c)),
        Some(CloseReason::TransportClose)
    );
    assert_eq!(
        client_closed(s.client_events(c)),
        Some(CloseReason::ForcedClose)
    );
    assert_eq!(s.engine().session_count(), 0);
}

#[test]
fn server_close_over_polling_sends_queued_then_close() {
    let mut s = sim(fast());
    let c = s.add_client(client(EngineIoVersion::V4, TransportKind::Polling, false));
    s.run_for(ms(6)); // between the handshake and the first long-poll: both packets queue
    s.server_send(c, "bye").unwrap();
    s.server_close(c);
    s.run_for(ms(20));
    let t = s.transcript().join("\n");
    assert!(t.contains("S->C0 200 4bye\\x1e1"), "{t}");
    assert_eq!(s.client_messages(c), ["bye"]);
    assert_eq!(closed(s.server_events(c)), Some(CloseReason::ForcedClose));
    assert_eq!(
        client_closed(s.client_events(c)),
        Some(CloseReason::TransportClose)
    );
}

#[test]
fn server_close_over_websocket_flushes_then_closes() {
    let mut s = sim(fast());
    let c = s.add_client(client(EngineIoVersion::V4, TransportKind::WebSocket, false));
    s.run_for(ms(20));
    s.server_send(c, "bye").unwrap();
    s.server_close(c);
    s.run_for(ms(20));
    assert_eq!(s.client_messages(c), ["bye"]);
    assert_eq!(
        client_closed(s.client_events(c)),
        Some(CloseReason::TransportClose)
    );
    assert_eq!(s.engine().session_count(), 0);
}

#[test]
fn aborted_long_poll_closes_session() {
    let mut s = sim(fast());
    let raw = s.add_raw();
    s.raw_request(raw, HttpRequest::get("/engine.io/?EIO=4&transport=polling"));
    s.run_for(ms(20));
    s.raw_request(
        raw,
        HttpRequest::get(format!("/engine.io/?EIO=4&transport=polling&sid={SID1}")),
    );
    s.run_for(ms(20));
    s.raw_abort(raw);
    s.run_for(ms(20));
    assert_eq!(s.engine().session_count(), 0);
}

#[test]
fn handshake_rejected_by_application_gets_403() {
    let mut s = sim(fast());
    s.accept_handshakes = false;
    let c = s.add_client(client(EngineIoVersion::V4, TransportKind::Polling, false));
    s.run_for(ms(20));
    assert!(s
        .transcript()
        .join("\n")
        .contains(r#"S->C0 403 {"code":4,"message":"Forbidden"}"#));
    assert_eq!(
        client_closed(s.client_events(c)),
        Some(CloseReason::HandshakeFailed)
    );
}

#[test]
fn eio3_refused_unless_allowed_and_client_reports_version_mismatch() {
    let mut config = fast();
    config.allow_eio3 = false;
    let mut s = sim(config);
    let c = s.add_client(client(EngineIoVersion::V3, TransportKind::Polling, false));
    s.run_for(ms(20));
    assert!(s
        .transcript()
        .join("\n")
        .contains(r#"S->C0 400 {"code":5,"message":"Unsupported protocol version"}"#));
    assert_eq!(
        client_closed(s.client_events(c)),
        Some(CloseReason::VersionMismatch)
    );
}

#[test]
fn websocket_message_over_max_payload_closes_with_1009() {
    let mut config = fast();
    config.max_payload = 100;
    let mut s = sim(config);
    let raw = s.add_raw();
    s.raw_ws_open(raw, "/engine.io/?EIO=4&transport=websocket");
    s.run_for(ms(20));
    s.raw_ws_send(raw, WsFrame::Text(format!("4{}", "x".repeat(100)).into()));
    s.run_for(ms(20));
    assert!(s.transcript().join("\n").contains("S->C0 WS close 1009"));
    assert_eq!(s.engine().session_count(), 0);
}

#[test]
fn ping_from_v4_client_is_a_protocol_error() {
    let mut s = sim(fast());
    let raw = s.add_raw();
    s.raw_ws_open(raw, "/engine.io/?EIO=4&transport=websocket");
    s.run_for(ms(20));
    s.raw_ws_send(raw, WsFrame::Text("2".into()));
    s.run_for(ms(20));
    assert_eq!(s.raw_received(raw).last().unwrap(), "WS closed");
    assert_eq!(s.engine().session_count(), 0);
}

#[test]
fn messages_keep_order_across_upgrade() {
    let mut s = sim(fast());
    let c = s.add_client(client(EngineIoVersion::V4, TransportKind::Polling, true));
    let mut sent = Vec::new();
    for i in 0..40 {
        let m = format!("m{i}");
        s.client_send(c, m.clone()).unwrap();
        if s.server_send(c, m.clone()).is_ok() {
            sent.push(m.clone());
        }
        s.run_for(ms(3));
    }
    s.run_for(ms(100));
    assert_eq!(s.client(c).transport(), TransportKind::WebSocket);
    assert_eq!(
        s.server_messages(c),
        (0..40).map(|i| format!("m{i}")).collect::<Vec<_>>()
    );
    assert_eq!(s.client_messages(c), sent);
}

#[test]
fn send_refused_when_buffer_full() {
    let mut config = fast();
    config.max_buffered_packets = 3;
    let mut s = sim(config);
    let c = s.add_client(client(EngineIoVersion::V4, TransportKind::Polling, false));
    s.run_for(ms(6));
    // Handshake answered, no long-poll yet: everything queues.
    for _ in 0..3 {
        s.server_send(c, "x").unwrap();
    }
    assert_eq!(
        s.server_send(c, "x"),
        Err(engineio_proto::UsageError::BufferFull)
    );
    s.run_for(ms(20));
    assert_eq!(s.client_messages(c).len(), 3);
    s.server_send(c, "x").unwrap();
}

#[test]
fn long_poll_replies_stay_under_max_payload() {
    let mut config = fast();
    config.max_payload = 100;
    let mut s = sim(config);
    let c = s.add_client(client(EngineIoVersion::V4, TransportKind::Polling, false));
    s.run_for(ms(6));
    for _ in 0..5 {
        s.server_send(c, "x".repeat(40)).unwrap();
        s.client_send(c, "y".repeat(40)).unwrap();
    }
    s.run_for(ms(100));
    // 41-byte packets: two fit in 100 bytes (41 + 1 + 41), three do not.
    for line in &s.transcript()[2..] {
        assert!(line.matches("\\x1e").count() <= 1, "{line}");
    }
    assert!(s
        .transcript()
        .iter()
        .any(|l| l.contains("S->C0 200 4xxx") && l.contains("\\x1e")));
    assert!(s
        .transcript()
        .iter()
        .any(|l| l.contains("POST") && l.contains("\\x1e")));
    assert_eq!(s.client_messages(c).len(), 5);
    assert_eq!(s.server_messages(c).len(), 5);
}

#[test]
fn message_reasons_as_reference_names() {
    assert_eq!(CloseReason::PingTimeout.as_str(), "ping timeout");
    assert_eq!(Message::from("x"), Message::Text("x".into()));
}
