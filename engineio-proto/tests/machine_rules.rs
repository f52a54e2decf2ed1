//! Rules of the Engine, Session and Client machines, driven by hand (no simulation).

use std::time::{Duration, Instant};

use engineio_proto::client::{Client, ClientConfig, ClientEvent, ClientTransmit};
use engineio_proto::http::TransportKind;
use engineio_proto::http::{HttpRequest, HttpResponse, Method, RequestId};
use engineio_proto::server::{
    CookieConfig, CorsConfig, CorsOrigins, Engine, Route, ServerConfig, Session, SessionEvent,
    Transmit,
};
use engineio_proto::{CloseReason, EngineIoVersion, Message, UsageError, WsFrame};

#[allow(clippy::disallowed_methods)]
fn start() -> Instant {
    Instant::now()
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn engine(config: ServerConfig) -> Engine {
    let mut n = 0u8;
    Engine::new(
        config,
        Box::new(move |b: &mut [u8]| {
            n += 1;
            b.fill(n)
        }),
    )
}

fn reply(engine: &mut Engine, req: HttpRequest) -> HttpResponse {
    match engine.handle_request(req).route {
        Route::Reply(r) => r,
        other => panic!("expected a reply, got {other:?}"),
    }
}

fn body(r: &HttpResponse) -> &str {
    r.body_text().unwrap()
}

/// Opens a polling session and returns it with its handshake response.
fn open_polling(engine: &mut Engine, now: Instant, uri: &str) -> (Session, HttpResponse) {
    let Route::Handshake(inc) = engine.handle_request(HttpRequest::get(uri)).route else {
        panic!("not a handshake")
    };
    let mut s = engine.accept(now, inc);
    let Some(Transmit::Response { response, .. }) = s.poll_transmit() else {
        panic!()
    };
    (s, response)
}

/// Routes `req` to `session` and returns every transmit.
fn to_session(
    engine: &mut Engine,
    s: &mut Session,
    now: Instant,
    req: HttpRequest,
) -> Vec<Transmit> {
    let Route::Session(_, sreq) = engine.handle_request(req).route else {
        panic!("not routed to the session")
    };
    s.handle_request(now, sreq);
    drain(engine, s)
}

fn drain(engine: &mut Engine, s: &mut Session) -> Vec<Transmit> {
    let mut out = Vec::new();
    while let Some(t) = s.poll_transmit() {
        out.push(t);
    }
    while let Some(u) = s.poll_engine_update() {
        engine.handle_update(u);
    }
    out
}

fn events(s: &mut Session) -> Vec<SessionEvent> {
    std::iter::from_fn(|| s.poll_event()).collect()
}

fn responses(ts: &[Transmit]) -> Vec<(u16, String)> {
    ts.iter()
        .filter_map(|t| match t {
            Transmit::Response { response, .. } => Some((
                response.status,
                response.body_text().unwrap_or("<bin>").to_owned(),
            )),
            _ => None,
        })
        .collect()
}

const SID: &str = "AQEBAQEBAQEBAQEBAQEB";

fn uri(rest: &str) -> String {
    format!("/engine.io/?EIO=4&transport=polling&sid={SID}{rest}")
}

#[test]
fn verification_errors_use_reference_codes() {
    let mut e = engine(ServerConfig::default());
    let cases: &[(HttpRequest, u16, &str)] = &[
        (HttpRequest::get("/other/?EIO=4&transport=polling"), 404, ""),
        (
            HttpRequest::get("/engine.io/?EIO=4"),
            400,
            r#"{"code":0,"message":"Transport unknown"}"#,
        ),
        (
            HttpRequest::get("/engine.io/?EIO=4&transport=webtransport"),
            400,
            r#"{"code":0,"message":"Transport unknown"}"#,
        ),
        (
            HttpRequest::get("/engine.io/?EIO=4&transport=polling&sid=x"),
            400,
            r#"{"code":1,"message":"Session ID unknown"}"#,
        ),
        (
            HttpRequest::post("/engine.io/?EIO=4&transport=polling", "4x"),
            400,
            r#"{"code":2,"message":"Bad handshake method"}"#,
        ),
        (
            HttpRequest::get("/engine.io/?EIO=4&transport=websocket"),
            400,
            r#"{"code":3,"message":"Bad request"}"#,
        ),
        (
            HttpRequest::get("/engine.io/?EIO=4&transport=polling&j=0"),
            400,
            r#"{"code":3,"message":"Bad request"}"#,
        ),
        (
            HttpRequest::get("/engine.io/?EIO=4&transport=polling")
                .with_header("Origin", "a\u{1}b"),
            400,
            r#"{"code":3,"message":"Bad request"}"#,
        ),
        (
            HttpRequest::get("/engine.io/?EIO=3&transport=polling"),
            400,
            r#"{"code":5,"message":"Unsupported protocol version"}"#,
        ),
        (
            HttpRequest::get("/engine.io/?transport=polling"),
            400,
            r#"{"code":5,"message":"Unsupported protocol version"}"#,
        ),
    ];
    for (req, status, text) in cases {
        let r = reply(&mut e, req.clone());
        assert_eq!((r.status, body(&r)), (*status, *text), "{req:?}");
        if *status == 400 {
            assert_eq!(r.header("content-type"), Some("application/json"));
        }
    }
}

#[test]
fn eio3_accepted_when_allowed_even_without_eio() {
    let mut config = ServerConfig::default();
    config.allow_eio3 = true;
    let mut e = engine(config);
    let now = start();
    let (s, r) = open_polling(&mut e, now, "/engine.io/?transport=polling");
    assert_eq!(s.version(), EngineIoVersion::V3);
    assert!(body(&r).starts_with("118:0{"));
}

#[test]
fn disabled_transports_are_unknown() {
    let mut config = ServerConfig::default();
    config.websocket = false;
    let mut e = engine(config);
    let r = reply(
        &mut e,
        HttpRequest::websocket("/engine.io/?EIO=4&transport=websocket"),
    );
    assert_eq!(body(&r), r#"{"code":0,"message":"Transport unknown"}"#);
    // And polling handshakes offer no upgrade.
    let (_, r) = open_polling(&mut e, start(), "/engine.io/?EIO=4&transport=polling");
    assert!(body(&r).contains(r#""upgrades":[]"#));
}

#[test]
fn session_limit_answers_503() {
    let mut config = ServerConfig::default();
    config.max_sessions = 1;
    let mut e = engine(config);
    let (_s, _) = open_polling(&mut e, start(), "/engine.io/?EIO=4&transport=polling");
    let r = reply(
        &mut e,
        HttpRequest::get("/engine.io/?EIO=4&transport=polling"),
    );
    assert_eq!(r.status, 503);
}

#[test]
fn polling_responses_carry_reference_headers() {
    let mut e = engine(ServerConfig::default());
    let now = start();
    let (mut s, r) = open_polling(&mut e, now, "/engine.io/?EIO=4&transport=polling");
    assert_eq!(r.header("content-type"), Some("text/plain; charset=UTF-8"));
    assert_eq!(r.header("cache-control"), Some("no-store"));
    assert_eq!(r.header("set-cookie"), None);
    assert_eq!(r.header("access-control-allow-origin"), None);
    let ts = to_session(&mut e, &mut s, now, HttpRequest::post(uri(""), "4x"));
    let Transmit::Response { response, .. } = &ts[0] else {
        panic!()
    };
    assert_eq!(response.header("content-type"), Some("text/html"));
    assert_eq!(body(response), "ok");
}

#[test]
fn cors_any_and_preflight() {
    let mut config = ServerConfig::default();
    config.cors = Some(CorsConfig::any());
    let mut e = engine(config);
    let pre = reply(
        &mut e,
        HttpRequest {
            method: Method::Options,
            ..HttpRequest::get("/engine.io/?EIO=4&transport=polling")
        }
        .with_header("Origin", "https://a.example")
        .with_header("Access-Control-Request-Headers", "content-type"),
    );
    assert_eq!(pre.status, 204);
    assert_eq!(pre.header("access-control-allow-origin"), Some("*"));
    assert_eq!(
        pre.header("access-control-allow-methods"),
        Some("GET,HEAD,PUT,PATCH,POST,DELETE")
    );
    assert_eq!(
        pre.header("access-control-allow-headers"),
        Some("content-type")
    );
    let (_, r) = open_polling(&mut e, start(), "/engine.io/?EIO=4&transport=polling");
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    // Errors carry CORS headers too, so browsers can read them.
    let r = reply(
        &mut e,
        HttpRequest::get("/engine.io/?EIO=4&transport=polling&sid=nope"),
    );
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
}

#[test]
fn cors_origin_list_with_credentials() {
    let mut config = ServerConfig::default();
    config.cors = Some(CorsConfig::origins(["https://ok.example"]));
    let mut e = engine(config);
    let Route::Handshake(inc) = e
        .handle_request(
            HttpRequest::get("/engine.io/?EIO=4&transport=polling")
                .with_header("origin", "https://ok.example"),
        )
        .route
    else {
        panic!()
    };
    let mut s = e.accept(start(), inc);
    let Some(Transmit::Response { response, .. }) = s.poll_transmit() else {
        panic!()
    };
    assert_eq!(
        response.header("access-control-allow-origin"),
        Some("https://ok.example")
    );
    assert_eq!(
        response.header("access-control-allow-credentials"),
        Some("true")
    );
    assert_eq!(response.header("vary"), Some("Origin"));
    let r = reply(
        &mut e,
        HttpRequest::get("/engine.io/?EIO=4&transport=polling&sid=x")
            .with_header("origin", "https://evil.example"),
    );
    assert_eq!(r.header("access-control-allow-origin"), None);
    let mut mirror = ServerConfig::default();
    let mut cors = CorsConfig::any();
    cors.origins = CorsOrigins::Mirror;
    mirror.cors = Some(cors);
    let mut e = engine(mirror);
    let r = reply(
        &mut e,
        HttpRequest::get("/engine.io/?EIO=4&transport=polling&sid=x")
            .with_header("origin", "https://any.example"),
    );
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("https://any.example")
    );
}

#[test]
fn sticky_cookie_on_polling_handshake_only() {
    let mut config = ServerConfig::default();
    config.cookie = Some(CookieConfig::default());
    let mut e = engine(config);
    let (_, r) = open_polling(&mut e, start(), "/engine.io/?EIO=4&transport=polling");
    assert_eq!(
        r.header("set-cookie").map(str::to_owned),
        Some(format!("io={SID}; Path=/; HttpOnly; SameSite=Lax"))
    );
    let Route::Handshake(inc) = e
        .handle_request(HttpRequest::websocket(
            "/engine.io/?EIO=4&transport=websocket",
        ))
        .route
    else {
        panic!()
    };
    let mut s = e.accept(start(), inc);
    let Some(Transmit::AcceptWebSocket { headers, .. }) = s.poll_transmit() else {
        panic!()
    };
    assert!(headers.iter().all(|(n, _)| *n != "set-cookie"));
}

#[test]
fn other_method_with_sid_gets_500_and_session_survives() {
    let mut e = engine(ServerConfig::default());
    let now = start();
    let (mut s, _) = open_polling(&mut e, now, "/engine.io/?EIO=4&transport=polling");
    let put = HttpRequest {
        method: Method::Other,
        ..HttpRequest::post(uri(""), "4x")
    };
    assert_eq!(
        responses(&to_session(&mut e, &mut s, now, put)),
        [(500, String::new())]
    );
    assert!(!s.is_closed());
}

#[test]
fn v4_binary_post_gets_400_and_closes() {
    let mut e = engine(ServerConfig::default());
    let now = start();
    let (mut s, _) = open_polling(&mut e, now, "/engine.io/?EIO=4&transport=polling");
    let post = HttpRequest::post(uri(""), vec![0u8, 1, 0xff, 4])
        .with_header("content-type", "application/octet-stream");
    assert_eq!(
        responses(&to_session(&mut e, &mut s, now, post)),
        [(400, String::new())]
    );
    assert_eq!(
        events(&mut s),
        [SessionEvent::Closed(CloseReason::ProtocolError)]
    );
    assert_eq!(e.session_count(), 0);
}

#[test]
fn garbage_post_is_answered_ok_and_closes_with_parse_error() {
    for body in ["abc", "", "4a\x1e\x1e4b", "4a\x1e"] {
        let mut e = engine(ServerConfig::default());
        let now = start();
        let (mut s, _) = open_polling(&mut e, now, "/engine.io/?EIO=4&transport=polling");
        let ts = to_session(&mut e, &mut s, now, HttpRequest::post(uri(""), body));
        assert_eq!(responses(&ts), [(200, "ok".to_owned())], "{body:?}");
        assert_eq!(
            events(&mut s),
            [SessionEvent::Closed(CloseReason::ParseError)],
            "{body:?}"
        );
    }
}

#[test]
fn unexpected_packets_are_ignored() {
    let mut e = engine(ServerConfig::default());
    let now = start();
    let (mut s, _) = open_polling(&mut e, now, "/engine.io/?EIO=4&transport=polling");
    let ts = to_session(
        &mut e,
        &mut s,
        now,
        HttpRequest::post(uri(""), "0\x1e5\x1e6\x1e4x"),
    );
    assert_eq!(responses(&ts), [(200, "ok".to_owned())]);
    assert_eq!(events(&mut s), [SessionEvent::Message("x".into())]);
}

#[test]
fn now_going_backwards_is_clamped() {
    let mut e = engine(ServerConfig::default());
    let t0 = start() + Duration::from_secs(100);
    let (mut s, _) = open_polling(&mut e, t0, "/engine.io/?EIO=4&transport=polling");
    let due = s.poll_timeout().unwrap();
    assert_eq!(due, t0 + ms(25_000));
    // An earlier `now` changes nothing and panics nowhere.
    s.handle_timeout(t0 - Duration::from_secs(50));
    let ts = to_session(
        &mut e,
        &mut s,
        t0 - Duration::from_secs(60),
        HttpRequest::get(uri("")),
    );
    assert!(ts.is_empty());
    assert_eq!(s.poll_timeout(), Some(due));
    // Time moves on normally afterwards: the ping goes out on the held poll.
    s.handle_timeout(due);
    assert_eq!(responses(&drain(&mut e, &mut s)), [(200, "2".to_owned())]);
    assert_eq!(s.poll_timeout(), Some(due + ms(20_000)));
    // The client side clamps too.
    let mut c = Client::new(t0, ClientConfig::default());
    let _ = c.poll_transmit();
    c.handle_timeout(t0 - Duration::from_secs(1));
    assert!(!c.is_closed());
}

#[test]
fn pong_restarts_the_interval_from_its_arrival() {
    let mut e = engine(ServerConfig::default());
    let t0 = start();
    let (mut s, _) = open_polling(&mut e, t0, "/engine.io/?EIO=4&transport=polling");
    s.handle_timeout(t0 + ms(25_000));
    let _ = to_session(&mut e, &mut s, t0 + ms(25_000), HttpRequest::get(uri("")));
    let _ = to_session(
        &mut e,
        &mut s,
        t0 + ms(26_000),
        HttpRequest::post(uri(""), "3"),
    );
    assert_eq!(s.poll_timeout(), Some(t0 + ms(51_000)));
}

#[test]
fn send_after_close_is_a_usage_error() {
    let mut e = engine(ServerConfig::default());
    let now = start();
    let (mut s, _) = open_polling(&mut e, now, "/engine.io/?EIO=4&transport=polling");
    s.close(now);
    assert_eq!(s.send("x"), Err(UsageError::Closed));
    // The close waits for a long-poll, at most close_timeout.
    assert_eq!(s.poll_timeout(), Some(now + ms(30_000)));
    s.handle_timeout(now + ms(30_000));
    assert_eq!(
        events(&mut s),
        [SessionEvent::Closed(CloseReason::ForcedClose)]
    );
}

#[test]
fn v3_ping_flood_queues_one_pong() {
    let mut config = ServerConfig::default();
    config.allow_eio3 = true;
    let mut e = engine(config);
    let now = start();
    let (mut s, _) = open_polling(&mut e, now, "/engine.io/?EIO=3&transport=polling");
    for _ in 0..100 {
        let _ = to_session(
            &mut e,
            &mut s,
            now,
            HttpRequest::post(
                format!("/engine.io/?EIO=3&transport=polling&sid={SID}"),
                "1:21:21:2",
            ),
        );
    }
    assert_eq!(s.buffered_packets(), 1);
    let ts = to_session(
        &mut e,
        &mut s,
        now,
        HttpRequest::get(format!("/engine.io/?EIO=3&transport=polling&sid={SID}")),
    );
    assert_eq!(responses(&ts), [(200, "1:3".to_owned())]);
}

/// engineio.md §7: a second WebSocket for a session that is upgrading or upgraded completes
/// its handshake and is closed at once (the reference's `websocket.close()` after the 101);
/// the session keeps its transport. An unknown sid is still refused with 400.
#[test]
fn second_websocket_for_a_session_is_accepted_then_closed() {
    let mut e = engine(ServerConfig::default());
    let now = start();
    let (mut s, _) = open_polling(&mut e, now, "/engine.io/?EIO=4&transport=polling");
    let ws = format!("/engine.io/?EIO=4&transport=websocket&sid={SID}");
    let ts = to_session(&mut e, &mut s, now, HttpRequest::websocket(ws.clone()));
    assert!(matches!(ts[..], [Transmit::AcceptWebSocket { .. }]));
    // While the first one probes.
    let ts = to_session(&mut e, &mut s, now, HttpRequest::websocket(ws.clone()));
    assert!(
        matches!(ts[..], [Transmit::RefuseWebSocket { .. }]),
        "{ts:?}"
    );
    s.handle_ws_frame(now, WsFrame::Text("2probe".into()));
    assert!(matches!(drain(&mut e, &mut s)[..], [Transmit::WsFrame(_)]));
    // Between `3probe` and `5`.
    let ts = to_session(&mut e, &mut s, now, HttpRequest::websocket(ws.clone()));
    assert!(
        matches!(ts[..], [Transmit::RefuseWebSocket { .. }]),
        "{ts:?}"
    );
    s.handle_ws_frame(now, WsFrame::Text("5".into()));
    let _ = drain(&mut e, &mut s);
    assert_eq!(events(&mut s), [SessionEvent::Upgraded]);
    // After the upgrade: polling is refused by the engine, a WebSocket reaches the session.
    assert_eq!(
        reply(&mut e, HttpRequest::get(uri(""))).status,
        400,
        "polling after the upgrade"
    );
    let ts = to_session(&mut e, &mut s, now, HttpRequest::websocket(ws.clone()));
    assert!(
        matches!(ts[..], [Transmit::RefuseWebSocket { .. }]),
        "{ts:?}"
    );
    // The session still uses its WebSocket.
    s.handle_ws_frame(now, WsFrame::Text("4hello".into()));
    let _ = drain(&mut e, &mut s);
    assert_eq!(
        events(&mut s),
        [SessionEvent::Message(Message::Text("hello".into()))]
    );
    assert_eq!(s.transport(), TransportKind::WebSocket);
    // An unknown sid: 400 before any handshake.
    let r = reply(
        &mut e,
        HttpRequest::websocket("/engine.io/?EIO=4&transport=websocket&sid=nope"),
    );
    assert_eq!(r.status, 400);
}

/// A WebSocket-only session refuses a second WebSocket the same way.
#[test]
fn second_websocket_for_a_websocket_session_is_accepted_then_closed() {
    let mut e = engine(ServerConfig::default());
    let now = start();
    let Route::Handshake(inc) = e
        .handle_request(HttpRequest::websocket(
            "/engine.io/?EIO=4&transport=websocket",
        ))
        .route
    else {
        panic!("not a handshake")
    };
    let mut s = e.accept(now, inc);
    let _ = drain(&mut e, &mut s);
    let ws = format!("/engine.io/?EIO=4&transport=websocket&sid={SID}");
    let ts = to_session(&mut e, &mut s, now, HttpRequest::websocket(ws));
    assert!(
        matches!(ts[..], [Transmit::RefuseWebSocket { .. }]),
        "{ts:?}"
    );
    assert!(!s.is_closed());
}

/// What volatile emits check: a message sent now leaves at once only with a held long-poll
/// (polling) or an open WebSocket, nothing queued before it, and no upgrade between `3probe`
/// and `5`.
#[test]
fn writable_only_when_a_message_would_leave_at_once() {
    let mut e = engine(ServerConfig::default());
    let now = start();
    let (mut s, _) = open_polling(&mut e, now, "/engine.io/?EIO=4&transport=polling");
    assert!(!s.is_writable(), "no long-poll held");
    assert!(to_session(&mut e, &mut s, now, HttpRequest::get(uri(""))).is_empty());
    assert!(s.is_writable(), "a long-poll is held");
    s.send("hello").unwrap();
    assert!(!s.is_writable(), "the held poll was answered");
    let _ = drain(&mut e, &mut s);
    s.send("queued").unwrap();
    let _ = to_session(&mut e, &mut s, now, HttpRequest::get(uri("")));
    assert!(!s.is_writable(), "the poll took the queue and went");
    let _ = to_session(&mut e, &mut s, now, HttpRequest::get(uri("")));
    assert!(s.is_writable());
    let ws = format!("/engine.io/?EIO=4&transport=websocket&sid={SID}");
    let _ = to_session(&mut e, &mut s, now, HttpRequest::websocket(ws));
    assert!(s.is_writable(), "probing: polling still carries messages");
    s.handle_ws_frame(now, WsFrame::Text("2probe".into()));
    let _ = drain(&mut e, &mut s);
    assert!(!s.is_writable(), "between 3probe and 5");
    s.handle_ws_frame(now, WsFrame::Text("5".into()));
    let _ = drain(&mut e, &mut s);
    assert!(s.is_writable(), "upgraded to the WebSocket");
    s.close(now);
    assert!(!s.is_writable(), "closing");
}

#[test]
fn probe_websocket_with_other_packet_is_closed_and_polling_goes_on() {
    let mut e = engine(ServerConfig::default());
    let now = start();
    let (mut s, _) = open_polling(&mut e, now, "/engine.io/?EIO=4&transport=polling");
    let ws = format!("/engine.io/?EIO=4&transport=websocket&sid={SID}");
    let _ = to_session(&mut e, &mut s, now, HttpRequest::websocket(ws));
    s.handle_ws_frame(now, WsFrame::Text("4hello".into()));
    let ts = drain(&mut e, &mut s);
    assert!(matches!(ts[..], [Transmit::CloseWebSocket { code: None }]));
    assert!(events(&mut s).is_empty());
    let ts = to_session(&mut e, &mut s, now, HttpRequest::post(uri(""), "4x"));
    assert_eq!(responses(&ts), [(200, "ok".to_owned())]);
}

fn client_handshake(c: &mut Client, now: Instant, body: &str) -> Vec<ClientEvent> {
    let Some(ClientTransmit::Request { id, .. }) = c.poll_transmit() else {
        panic!()
    };
    c.handle_response(now, id, HttpResponse::new(200).with_body(body.to_owned()));
    std::iter::from_fn(|| c.poll_event()).collect()
}

#[test]
fn client_reports_version_mismatch_on_a_v3_body() {
    let now = start();
    let mut c = Client::new(now, ClientConfig::default());
    let ev = client_handshake(
        &mut c,
        now,
        r#"96:0{"sid":"x","upgrades":[],"pingInterval":25000,"pingTimeout":5000}"#,
    );
    assert_eq!(ev, [ClientEvent::Closed(CloseReason::VersionMismatch)]);
    let mut config = ClientConfig::default();
    config.version = EngineIoVersion::V3;
    let mut c = Client::new(now, config);
    let ev = client_handshake(
        &mut c,
        now,
        r#"0{"sid":"x","upgrades":[],"pingInterval":25000,"pingTimeout":5000}"#,
    );
    assert_eq!(ev, [ClientEvent::Closed(CloseReason::VersionMismatch)]);
}

#[test]
fn client_watchdog_closes_without_ping() {
    let now = start();
    let mut config = ClientConfig::default();
    config.upgrade = false;
    let mut c = Client::new(now, config);
    let ev = client_handshake(
        &mut c,
        now,
        r#"0{"sid":"x","upgrades":[],"pingInterval":300,"pingTimeout":200}"#,
    );
    assert!(matches!(ev[..], [ClientEvent::Open(_)]));
    assert_eq!(c.poll_timeout(), Some(now + ms(500)));
    c.handle_timeout(now + ms(500));
    assert_eq!(
        c.poll_event(),
        Some(ClientEvent::Closed(CloseReason::PingTimeout))
    );
}

#[test]
fn client_accepts_handshake_without_max_payload_and_batches_everything() {
    let now = start();
    let mut config = ClientConfig::default();
    config.upgrade = false;
    let mut c = Client::new(now, config);
    let _ = client_handshake(
        &mut c,
        now,
        r#"0{"sid":"x","upgrades":[],"pingInterval":300,"pingTimeout":200}"#,
    );
    for _ in 0..3 {
        c.send("x".repeat(1000)).unwrap();
    }
    let ts: Vec<_> = std::iter::from_fn(|| c.poll_transmit()).collect();
    let posts: Vec<usize> = ts
        .iter()
        .filter_map(|t| match t {
            ClientTransmit::Request { request, .. } if request.method == Method::Post => {
                Some(request.body.len())
            }
            _ => None,
        })
        .collect();
    assert_eq!(posts, [3 * 1001 + 2]);
    let _ = RequestId(0);
}

#[test]
fn body_flagged_too_large_gets_413_and_session_survives() {
    let mut e = engine(ServerConfig::default());
    let now = start();
    let (mut s, _) = open_polling(&mut e, now, "/engine.io/?EIO=4&transport=polling");
    let mut post = HttpRequest::post(uri(""), "");
    post.body_too_large = true;
    assert_eq!(
        responses(&to_session(&mut e, &mut s, now, post)),
        [(413, String::new())]
    );
    assert!(!s.is_closed());
}

/// A WebSocket-only client refused at its handshake: the reference's bare "Unsupported
/// protocol version" (what engine.io writes on a refused upgrade) and our JSON code 5 are the
/// other generation; any other refusal is a failed handshake. A refused probe is only the
/// probe's end.
#[test]
fn client_reads_a_refused_websocket_handshake() {
    let now = start();
    let ws_config = || {
        let mut config = ClientConfig::default();
        config.version = EngineIoVersion::V3;
        config.transport = TransportKind::WebSocket;
        config
    };
    let refusals = [
        ("Unsupported protocol version", CloseReason::VersionMismatch),
        (
            r#"{"code":5,"message":"Unsupported protocol version"}"#,
            CloseReason::VersionMismatch,
        ),
        ("Bad request", CloseReason::HandshakeFailed),
    ];
    for (body, reason) in refusals {
        let mut c = Client::new(now, ws_config());
        assert!(matches!(
            c.poll_transmit(),
            Some(ClientTransmit::OpenWebSocket { .. })
        ));
        c.handle_ws_refused(now, HttpResponse::new(400).with_body(body.to_owned()));
        let ev: Vec<ClientEvent> = std::iter::from_fn(|| c.poll_event()).collect();
        assert_eq!(ev, [ClientEvent::Closed(reason)], "{body}");
    }
    // A polling connection's probe refused: polling goes on.
    let mut c = Client::new(now, ClientConfig::default());
    let ev = client_handshake(
        &mut c,
        now,
        r#"0{"sid":"x","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":5000,"maxPayload":1000}"#,
    );
    assert!(matches!(ev[..], [ClientEvent::Open(_)]));
    let ts: Vec<ClientTransmit> = std::iter::from_fn(|| c.poll_transmit()).collect();
    assert!(ts
        .iter()
        .any(|t| matches!(t, ClientTransmit::OpenWebSocket { .. })));
    c.handle_ws_refused(
        now,
        HttpResponse::new(400).with_body("Unsupported protocol version"),
    );
    assert!(c.poll_event().is_none());
    assert!(!c.is_closed());
}
