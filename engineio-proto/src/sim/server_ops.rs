//! Arbitrary operation sequences against an [`Engine`] and its [`Session`]s, with invariant
//! checks: the driver behind the `engineio_sessions` fuzz target and its proptest twin.
//!
//! Invariants checked after every operation: nothing panics; each session's outgoing buffer
//! stays within its limits; the engine's routing table counts exactly the sessions that are
//! not closed. At the end the peers go silent and time runs on: every session must close.

use std::time::{Duration, Instant};

use crate::http::{HttpRequest, Method, RequestId};
use crate::server::{Engine, Route, ServerConfig, Session, Transmit};
use crate::{Bytes, WsFrame};

/// One operation.
#[derive(Debug, Clone)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum ServerOp {
    /// An HTTP request (WebSocket upgrade when `websocket`).
    Request {
        /// 0 GET, 1 POST, 2 OPTIONS, other: another method.
        method: u8,
        /// `EIO`: 3, 4, garbage or absent.
        eio: u8,
        /// `transport`: polling, websocket, garbage or absent.
        transport: u8,
        /// `sid`: absent, a known session (by index), or garbage.
        sid: Option<u8>,
        /// `b64=1`.
        b64: bool,
        /// Whether the request is a WebSocket upgrade.
        websocket: bool,
        /// `Content-Type: application/octet-stream`.
        binary_body: bool,
        /// The body.
        body: Vec<u8>,
        /// Whether the application accepts a handshake.
        accept: bool,
    },
    /// A frame on session `session`'s WebSocket.
    Frame {
        /// Session index.
        session: u8,
        /// Text (lossily made UTF-8) or binary.
        text: bool,
        /// The data.
        data: Vec<u8>,
    },
    /// Session `session`'s WebSocket closes.
    WsClosed {
        /// Session index.
        session: u8,
    },
    /// A request waiting on session `session` is aborted.
    Abort {
        /// Session index.
        session: u8,
    },
    /// Time moves forward.
    Advance {
        /// Milliseconds.
        ms: u16,
    },
    /// Time goes backwards (must be clamped).
    Backwards {
        /// Milliseconds.
        ms: u16,
    },
    /// The application sends a message.
    Send {
        /// Session index.
        session: u8,
        /// Binary or text.
        binary: bool,
        /// Length.
        len: u16,
    },
    /// The application closes a session.
    Close {
        /// Session index.
        session: u8,
    },
}

/// The configuration the operations run against: small limits, short timers.
pub fn config() -> ServerConfig {
    ServerConfig {
        ping_interval: Duration::from_millis(300),
        ping_timeout: Duration::from_millis(200),
        upgrade_timeout: Duration::from_millis(1000),
        close_timeout: Duration::from_millis(2000),
        max_payload: 2048,
        max_buffered_packets: 16,
        max_buffered_bytes: 4096,
        max_sessions: 8,
        allow_eio3: true,
        ..ServerConfig::default()
    }
}

struct Live {
    session: Session,
    /// Requests handed to the session, unanswered as far as the driver knows.
    pending: Vec<RequestId>,
}

/// Runs `ops` from `start`; returns a description of the first broken invariant.
pub fn run(start: Instant, ops: &[ServerOp]) -> Result<(), String> {
    let config = config();
    let mut counter = 0u64;
    let mut engine = Engine::new(
        config.clone(),
        Box::new(move |b: &mut [u8]| {
            counter += 1;
            for (i, x) in b.iter_mut().enumerate() {
                *x = (counter >> (8 * (i % 8))) as u8;
            }
        }),
    );
    let mut sessions: Vec<Live> = Vec::new();
    let mut now = start + Duration::from_secs(3600);
    for op in ops {
        apply(&mut engine, &mut sessions, &mut now, op);
        drain_all(&mut engine, &mut sessions);
        check(&engine, &sessions, &config)?;
    }
    // The peers go silent: every session must close within a bounded time.
    let step =
        config.ping_interval + config.ping_timeout + config.upgrade_timeout + config.close_timeout;
    for _ in 0..4 {
        now += step;
        for s in &mut sessions {
            s.session.handle_timeout(now);
        }
        drain_all(&mut engine, &mut sessions);
        check(&engine, &sessions, &config)?;
    }
    if let Some(s) = sessions.iter().find(|s| !s.session.is_closed()) {
        return Err(format!(
            "session {} still open after its peer went silent",
            s.session.sid()
        ));
    }
    if engine.session_count() != 0 {
        return Err(format!(
            "engine still routes {} sessions",
            engine.session_count()
        ));
    }
    Ok(())
}

fn apply(engine: &mut Engine, sessions: &mut Vec<Live>, now: &mut Instant, op: &ServerOp) {
    let pick = |i: u8, len: usize| (len > 0).then(|| usize::from(i) % len);
    match op {
        ServerOp::Request {
            method,
            eio,
            transport,
            sid,
            b64,
            websocket,
            binary_body,
            body,
            accept,
        } => {
            let mut uri = "/engine.io/?".to_owned();
            match eio % 4 {
                0 => uri.push_str("EIO=4&"),
                1 => uri.push_str("EIO=3&"),
                2 => uri.push_str("EIO=x&"),
                _ => {}
            }
            match transport % 4 {
                0 => uri.push_str("transport=polling"),
                1 => uri.push_str("transport=websocket"),
                2 => uri.push_str("transport=bogus"),
                _ => {}
            }
            if let Some(i) = sid {
                match pick(*i, sessions.len()) {
                    Some(k) if i % 8 != 7 => {
                        uri.push_str("&sid=");
                        uri.push_str(sessions[k].session.sid().as_str());
                    }
                    _ => uri.push_str("&sid=nope"),
                }
            }
            if *b64 {
                uri.push_str("&b64=1");
            }
            let mut req = HttpRequest::post(uri, Bytes::from(body.clone()));
            req.method = match method % 4 {
                0 => Method::Get,
                1 => Method::Post,
                2 => Method::Options,
                _ => Method::Other,
            };
            req.websocket = *websocket;
            if *binary_body {
                req = req.with_header("content-type", "application/octet-stream");
            }
            let routed = engine.handle_request(req);
            match routed.route {
                Route::Reply(_) => {}
                Route::Handshake(inc) if *accept => {
                    let session = engine.accept(*now, inc);
                    sessions.push(Live {
                        session,
                        pending: Vec::new(),
                    });
                }
                Route::Handshake(inc) => {
                    let _ = engine.reject(inc, None);
                }
                Route::Session(sid, req) => {
                    if let Some(live) = sessions.iter_mut().find(|l| *l.session.sid() == sid) {
                        live.pending.push(req.id());
                        live.session.handle_request(*now, req);
                    }
                }
            }
        }
        ServerOp::Frame {
            session,
            text,
            data,
        } => {
            if let Some(k) = pick(*session, sessions.len()) {
                let frame = if *text {
                    WsFrame::Text(String::from_utf8_lossy(data).into_owned().into())
                } else {
                    WsFrame::Binary(Bytes::from(data.clone()))
                };
                sessions[k].session.handle_ws_frame(*now, frame);
            }
        }
        ServerOp::WsClosed { session } => {
            if let Some(k) = pick(*session, sessions.len()) {
                sessions[k].session.handle_ws_closed(*now);
            }
        }
        ServerOp::Abort { session } => {
            if let Some(k) = pick(*session, sessions.len()) {
                if let Some(id) = sessions[k].pending.pop() {
                    sessions[k].session.handle_request_aborted(*now, id);
                }
            }
        }
        ServerOp::Advance { ms } => {
            *now += Duration::from_millis(u64::from(*ms));
            for s in sessions.iter_mut() {
                if s.session.poll_timeout().is_some_and(|t| t <= *now) {
                    s.session.handle_timeout(*now);
                }
            }
        }
        ServerOp::Backwards { ms } => {
            let earlier = now
                .checked_sub(Duration::from_millis(u64::from(*ms)))
                .unwrap_or(*now);
            for s in sessions.iter_mut() {
                s.session.handle_timeout(earlier);
            }
        }
        ServerOp::Send {
            session,
            binary,
            len,
        } => {
            if let Some(k) = pick(*session, sessions.len()) {
                let len = usize::from(*len);
                let _ = if *binary {
                    sessions[k].session.send(vec![7u8; len])
                } else {
                    sessions[k].session.send("x".repeat(len))
                };
            }
        }
        ServerOp::Close { session } => {
            if let Some(k) = pick(*session, sessions.len()) {
                sessions[k].session.close(*now);
            }
        }
    }
}

fn drain_all(engine: &mut Engine, sessions: &mut [Live]) {
    for live in sessions.iter_mut() {
        while let Some(t) = live.session.poll_transmit() {
            if let Transmit::Response { request, .. }
            | Transmit::AcceptWebSocket { request, .. }
            | Transmit::RefuseWebSocket { request, .. } = t
            {
                live.pending.retain(|r| *r != request);
            }
        }
        while let Some(_e) = live.session.poll_event() {}
        while let Some(u) = live.session.poll_engine_update() {
            engine.handle_update(u);
        }
    }
}

fn check(engine: &Engine, sessions: &[Live], config: &ServerConfig) -> Result<(), String> {
    for live in sessions {
        let s = &live.session;
        // Control packets (a ping or pong, the close) ride on top of the message limits.
        if s.buffered_packets() > config.max_buffered_packets + 2 {
            return Err(format!("{} packets buffered", s.buffered_packets()));
        }
        if s.buffered_bytes() > config.max_buffered_bytes {
            return Err(format!("{} bytes buffered", s.buffered_bytes()));
        }
    }
    let open = sessions.iter().filter(|s| !s.session.is_closed()).count();
    if engine.session_count() != open {
        return Err(format!(
            "engine routes {} sessions, {open} are open",
            engine.session_count()
        ));
    }
    Ok(())
}
