//! The server side: an [`Engine`] routing HTTP requests to [`Session`]s.
//!
//! The engine owns no session: it decides for each request whether to answer it at once
//! ([`Route::Reply`]), to open a session once the application agrees ([`Route::Handshake`]),
//! or to hand it to the session it names ([`Route::Session`]). Sessions are separate values
//! that a runtime adapter may drive on separate tasks; a session tells the engine when it
//! upgrades or closes through [`Session::poll_engine_update`] and [`Engine::handle_update`].

mod config;
mod session;

use std::borrow::Borrow;
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;
use std::time::Instant;

use base64::Engine as _;
use bytestring::ByteString;

pub use config::{CookieConfig, CorsConfig, CorsOrigins, ErrorCode, ServerConfig};
pub use session::{Session, SessionEvent, Transmit};

use crate::http::{HeaderValue, HttpRequest, HttpResponse, Method};
pub use crate::http::{RequestId, TransportKind};
use crate::EngineIoVersion;

/// A session id: 20 characters of base64url on this server; any string a peer sends.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sid(ByteString);

impl Sid {
    /// The session id for 15 random bytes: their base64url form, 20 characters.
    pub fn from_random(bytes: [u8; 15]) -> Self {
        Sid(base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(bytes)
            .into())
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for Sid {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Sid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What [`Engine::handle_request`] decided for one request.
#[derive(Debug)]
#[must_use]
pub struct Routed {
    /// The id given to the request.
    pub id: RequestId,
    /// Where it goes.
    pub route: Route,
}

/// Where a request goes.
#[derive(Debug)]
#[non_exhaustive]
#[must_use]
pub enum Route {
    /// Answer now with this response: a path outside the served prefix (404), a CORS preflight
    /// (204), or an error (400/403/503 with the reference's JSON). For a WebSocket request the
    /// upgrade is refused.
    Reply(HttpResponse),
    /// A valid handshake: the application decides with [`Engine::accept`] or [`Engine::reject`].
    Handshake(Incoming),
    /// A request for an open session: pass it to that session's [`Session::handle_request`].
    Session(Sid, SessionRequest),
}

/// A handshake waiting for the application's decision (the reference's `allowRequest`).
#[derive(Debug)]
#[must_use = "a handshake must be accepted or rejected"]
pub struct Incoming {
    id: RequestId,
    request: HttpRequest,
    version: EngineIoVersion,
    transport: TransportKind,
    b64: bool,
    cors: Vec<(&'static str, HeaderValue)>,
}

impl Incoming {
    /// The request id.
    pub fn id(&self) -> RequestId {
        self.id
    }
    /// The handshake request (headers, query) for the application to inspect.
    pub fn request(&self) -> &HttpRequest {
        &self.request
    }
    /// The protocol revision asked for.
    pub fn version(&self) -> EngineIoVersion {
        self.version
    }
    /// The transport asked for.
    pub fn transport(&self) -> TransportKind {
        self.transport
    }
}

/// A request routed to a session; opaque, consumed by [`Session::handle_request`].
#[derive(Debug)]
pub struct SessionRequest {
    id: RequestId,
    request: HttpRequest,
    cors: Vec<(&'static str, HeaderValue)>,
}

impl SessionRequest {
    /// The request id.
    pub fn id(&self) -> RequestId {
        self.id
    }
    /// The request.
    pub fn request(&self) -> &HttpRequest {
        &self.request
    }
}

/// A session's news for the engine's routing table; opaque, see [`Engine::handle_update`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineUpdate {
    sid: Sid,
    kind: UpdateKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum UpdateKind {
    Upgraded,
    Closed,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    websocket: bool,
}

/// The injected source of randomness for session ids.
pub type RandomSource = Box<dyn FnMut(&mut [u8]) + Send>;

/// The server-side router: validates requests, opens sessions, knows which sids are open.
///
/// ```
/// use std::time::Instant;
/// use engineio_proto::http::HttpRequest;
/// use engineio_proto::server::{Engine, Route, ServerConfig, Transmit};
///
/// # #[allow(clippy::disallowed_methods)]
/// let now = Instant::now();
/// let mut counter = 0u8;
/// let mut engine = Engine::new(ServerConfig::default(), Box::new(move |buf: &mut [u8]| {
///     counter += 1;
///     buf.fill(counter);
/// }));
/// let routed = engine.handle_request(HttpRequest::get("/engine.io/?EIO=4&transport=polling"));
/// let Route::Handshake(incoming) = routed.route else { panic!() };
/// let mut session = engine.accept(now, incoming);
/// let Some(Transmit::Response { response, .. }) = session.poll_transmit() else { panic!() };
/// assert_eq!(
///     response.body_text().unwrap(),
///     r#"0{"sid":"AQEBAQEBAQEBAQEBAQEB","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#
/// );
/// ```
pub struct Engine {
    config: Arc<ServerConfig>,
    random: RandomSource,
    sessions: HashMap<Sid, Entry>,
    next_request: u64,
}

impl fmt::Debug for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Engine")
            .field("config", &self.config)
            .field("sessions", &self.sessions.len())
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// An engine with `config`, drawing session ids from `random` (adapters pass a CSPRNG
    /// seeded by the OS; tests a counter).
    pub fn new(config: ServerConfig, random: RandomSource) -> Self {
        Engine {
            config: Arc::new(config),
            random,
            sessions: HashMap::new(),
            next_request: 0,
        }
    }

    /// The settings.
    pub fn config(&self) -> &ServerConfig {
        &self.config
    }

    /// Open sessions, as far as the engine knows (closes arrive through
    /// [`Engine::handle_update`]).
    pub fn session_count(&self) -> usize {
        self.sessions.len()
    }

    /// Whether `sid` names an open session.
    pub fn contains(&self, sid: &str) -> bool {
        self.sessions.contains_key(sid)
    }

    /// Routes one request: call it as soon as the request head and body are read (for a
    /// WebSocket request, before answering the upgrade).
    ///
    /// The checks and their order follow the reference server: path, CORS preflight,
    /// `transport`, `Origin`, then either the session (`sid`) or the handshake rules (method,
    /// `EIO`, session limit).
    pub fn handle_request(&mut self, request: HttpRequest) -> Routed {
        let id = RequestId(self.next_request);
        self.next_request += 1;
        let route = self.route(id, request);
        Routed { id, route }
    }

    fn route(&mut self, id: RequestId, request: HttpRequest) -> Route {
        if !request.path().starts_with(self.config.path.as_str()) {
            return Route::Reply(HttpResponse::new(404));
        }
        let cors = match &self.config.cors {
            Some(cors) if request.method == Method::Options && !request.websocket => {
                return Route::Reply(cors.preflight(&request));
            }
            Some(cors) => cors.headers(&request),
            None => Vec::new(),
        };
        let fail = |code: ErrorCode, cors| Route::Reply(code.response(None, cors));
        let transport = match request.query_param("transport").as_deref() {
            Some("polling") if self.config.polling => TransportKind::Polling,
            Some("websocket") if self.config.websocket => TransportKind::WebSocket,
            _ => return fail(ErrorCode::TransportUnknown, cors),
        };
        if (transport == TransportKind::WebSocket) != request.websocket {
            return fail(ErrorCode::BadRequest, cors);
        }
        if request
            .header("origin")
            .is_some_and(|o| !valid_header_value(o))
        {
            return fail(ErrorCode::BadRequest, cors);
        }
        // JSONP (`j`) served only ancient browsers; refused rather than half-implemented.
        if request.query_param("j").is_some() {
            return fail(ErrorCode::BadRequest, cors);
        }
        if let Some(sid) = request.query_param("sid") {
            let Some((sid, entry)) = self.sessions.get_key_value(sid.as_ref()) else {
                return fail(ErrorCode::UnknownSid, cors);
            };
            // After an upgrade (or on a WebSocket-only session) the sid only lives on its
            // WebSocket: polling requests are refused (code 3). A further WebSocket goes to
            // the session, which accepts and closes it (`Transmit::RefuseWebSocket`).
            if entry.websocket && !request.websocket {
                return fail(ErrorCode::BadRequest, cors);
            }
            return Route::Session(sid.clone(), SessionRequest { id, request, cors });
        }
        if request.method != Method::Get {
            return fail(ErrorCode::BadHandshakeMethod, cors);
        }
        let version = match request.query_param("EIO").as_deref() {
            Some("4") => EngineIoVersion::V4,
            _ if self.config.allow_eio3 => EngineIoVersion::V3,
            _ => return fail(ErrorCode::UnsupportedProtocolVersion, cors),
        };
        if self.sessions.len() >= self.config.max_sessions {
            let mut res = ErrorCode::BadRequest.response(Some("Too many sessions"), cors);
            res.status = 503;
            return Route::Reply(res);
        }
        // The reference accepts `b64=1` and `b64=true` (pitfall 4: nothing else).
        let b64 = matches!(request.query_param("b64").as_deref(), Some("1" | "true"));
        Route::Handshake(Incoming {
            id,
            request,
            version,
            transport,
            b64,
            cors,
        })
    }

    /// Accepts a handshake: the new session's first transmit answers the request with the
    /// `open` packet (polling) or accepts the WebSocket and sends `open` on it.
    pub fn accept(&mut self, now: Instant, incoming: Incoming) -> Session {
        let sid = loop {
            let mut bytes = [0u8; 15];
            (self.random)(&mut bytes);
            let sid = Sid::from_random(bytes);
            if !self.sessions.contains_key(&sid) {
                break sid;
            }
        };
        self.sessions.insert(
            sid.clone(),
            Entry {
                websocket: incoming.transport == TransportKind::WebSocket,
            },
        );
        Session::new(now, sid, self.config.clone(), incoming)
    }

    /// Refuses a handshake: 403 with `{"code":4,"message":...}` (`message` defaults to
    /// `Forbidden`), as the reference's `allowRequest` does.
    pub fn reject(
        &mut self,
        incoming: Incoming,
        message: Option<&str>,
    ) -> (RequestId, HttpResponse) {
        (
            incoming.id,
            ErrorCode::Forbidden.response(message, incoming.cors),
        )
    }

    /// Applies a session's news (from [`Session::poll_engine_update`]) to the routing table.
    pub fn handle_update(&mut self, update: EngineUpdate) {
        match update.kind {
            UpdateKind::Upgraded => {
                if let Some(e) = self.sessions.get_mut(&update.sid) {
                    e.websocket = true;
                }
            }
            UpdateKind::Closed => {
                self.sessions.remove(&update.sid);
            }
        }
    }
}

/// The reference refuses `Origin` values with characters HTTP forbids in header values.
fn valid_header_value(v: &str) -> bool {
    v.chars()
        .all(|c| c == '\t' || (' '..='~').contains(&c) || c as u32 >= 0x80)
}
