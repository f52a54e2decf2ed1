//! Server settings, CORS and the sticky-session cookie.

use std::time::Duration;

use crate::http::{HeaderValue, HttpRequest, HttpResponse};

/// Every server setting, with the reference server's defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerConfig {
    /// The path prefix served, with its trailing slash (default `/engine.io/`; Socket.IO uses
    /// `/socket.io/`). Requests outside it get 404.
    pub path: String,
    /// v4: time between a pong and the next ping; v3: the ping period the client is told to use
    /// (default 25 s).
    pub ping_interval: Duration,
    /// v4: how long a ping may wait for its pong; v3: added to `ping_interval` for the client's
    /// ping deadline (default 20 s).
    pub ping_timeout: Duration,
    /// How long a probe WebSocket may take to send `5` before it is closed (default 10 s).
    pub upgrade_timeout: Duration,
    /// How long a closing polling session waits for a long-poll to carry the `close` packet
    /// (default 30 s).
    pub close_timeout: Duration,
    /// While an upgrade is probed, the period at which a held long-poll is released with `noop`
    /// (default 100 ms, as the reference).
    pub upgrade_noop_interval: Duration,
    /// The maximum size in bytes of a POST body or a WebSocket message, advertised as
    /// `maxPayload` (default 1 000 000). Long-poll replies are kept under it too.
    pub max_payload: usize,
    /// Whether HTTP long-polling is enabled (default true).
    pub polling: bool,
    /// Whether WebSocket is enabled (default true).
    pub websocket: bool,
    /// Whether polling sessions may upgrade to WebSocket (default true).
    pub allow_upgrades: bool,
    /// Whether v3 clients (`EIO=3`, Socket.IO 2.x) are served (default false).
    pub allow_eio3: bool,
    /// CORS headers; `None` (the default) sends none.
    pub cors: Option<CorsConfig>,
    /// The sticky-session cookie set on polling handshakes; `None` (the default) sets none.
    pub cookie: Option<CookieConfig>,
    /// Packets a session may hold for its peer before `send` refuses (default 1024).
    pub max_buffered_packets: usize,
    /// Bytes of message data a session may hold for its peer before `send` refuses
    /// (default 16 MiB).
    pub max_buffered_bytes: usize,
    /// Open sessions the engine accepts; further handshakes get 503 (default 100 000).
    pub max_sessions: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            path: "/engine.io/".to_owned(),
            ping_interval: Duration::from_millis(25_000),
            ping_timeout: Duration::from_millis(20_000),
            upgrade_timeout: Duration::from_millis(10_000),
            close_timeout: Duration::from_millis(30_000),
            upgrade_noop_interval: Duration::from_millis(100),
            max_payload: 1_000_000,
            polling: true,
            websocket: true,
            allow_upgrades: true,
            allow_eio3: false,
            cors: None,
            cookie: None,
            max_buffered_packets: 1024,
            max_buffered_bytes: 16 << 20,
            max_sessions: 100_000,
        }
    }
}

/// Which origins CORS allows.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CorsOrigins {
    /// `Access-Control-Allow-Origin: *`.
    Any,
    /// Echo the request's `Origin`, whatever it is (npm `cors` with `origin: true`).
    Mirror,
    /// Echo the request's `Origin` when it is one of these; otherwise no allow-origin header.
    List(Vec<String>),
}

/// CORS response headers, as the npm `cors` middleware the reference server uses writes them.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CorsConfig {
    /// The allowed origins.
    pub origins: CorsOrigins,
    /// Whether to send `Access-Control-Allow-Credentials: true`.
    pub credentials: bool,
    /// `Access-Control-Max-Age` on preflight responses, in seconds.
    pub max_age: Option<u32>,
}

impl CorsConfig {
    /// Allows every origin (`*`), without credentials: what the conformance suites expect.
    pub fn any() -> Self {
        CorsConfig {
            origins: CorsOrigins::Any,
            credentials: false,
            max_age: None,
        }
    }

    /// Allows these origins, with credentials.
    pub fn origins<I: IntoIterator<Item = S>, S: Into<String>>(origins: I) -> Self {
        CorsConfig {
            origins: CorsOrigins::List(origins.into_iter().map(Into::into).collect()),
            credentials: true,
            max_age: None,
        }
    }

    /// The headers for an actual (non-preflight) response to `req`.
    pub(crate) fn headers(&self, req: &HttpRequest) -> Vec<(&'static str, HeaderValue)> {
        let mut out = Vec::with_capacity(3);
        let origin = req.header("origin");
        match &self.origins {
            CorsOrigins::Any => out.push(("access-control-allow-origin", "*".into())),
            CorsOrigins::Mirror => {
                if let Some(o) = origin {
                    out.push(("access-control-allow-origin", o.to_owned().into()));
                }
                out.push(("vary", "Origin".into()));
            }
            CorsOrigins::List(list) => {
                if let Some(o) = origin.filter(|o| list.iter().any(|l| l == o)) {
                    out.push(("access-control-allow-origin", o.to_owned().into()));
                }
                out.push(("vary", "Origin".into()));
            }
        }
        if self.credentials {
            out.push(("access-control-allow-credentials", "true".into()));
        }
        out
    }

    /// The 204 answer to a preflight `OPTIONS` request.
    pub(crate) fn preflight(&self, req: &HttpRequest) -> HttpResponse {
        let mut res = HttpResponse::new(204);
        res.headers = self.headers(req);
        res.headers.push((
            "access-control-allow-methods",
            "GET,HEAD,PUT,PATCH,POST,DELETE".into(),
        ));
        if let Some(h) = req.header("access-control-request-headers") {
            res.headers
                .push(("access-control-allow-headers", h.to_owned().into()));
            res.headers
                .push(("vary", "Access-Control-Request-Headers".into()));
        }
        if let Some(age) = self.max_age {
            res.headers
                .push(("access-control-max-age", age.to_string().into()));
        }
        res
    }
}

/// The cookie carrying the session id on polling handshakes, for sticky load balancing.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CookieConfig {
    /// The cookie name (default `io`).
    pub name: String,
    /// The `Path` attribute (default `/`).
    pub path: Option<String>,
    /// Whether to add `HttpOnly` (default true).
    pub http_only: bool,
    /// The `SameSite` attribute (default `Lax`).
    pub same_site: Option<String>,
}

impl Default for CookieConfig {
    fn default() -> Self {
        CookieConfig {
            name: "io".to_owned(),
            path: Some("/".to_owned()),
            http_only: true,
            same_site: Some("Lax".to_owned()),
        }
    }
}

impl CookieConfig {
    /// The `Set-Cookie` value for `sid`: `io=<sid>; Path=/; HttpOnly; SameSite=Lax`.
    pub(crate) fn header(&self, sid: &str) -> String {
        let mut s = format!("{}={}", self.name, sid);
        if let Some(p) = &self.path {
            s.push_str("; Path=");
            s.push_str(p);
        }
        if self.http_only {
            s.push_str("; HttpOnly");
        }
        if let Some(ss) = &self.same_site {
            s.push_str("; SameSite=");
            s.push_str(ss);
        }
        s
    }
}

/// The reference server's handshake/verification errors (`{"code":N,"message":...}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// 0: `transport` missing, unknown or disabled.
    TransportUnknown = 0,
    /// 1: the `sid` is not an open session.
    UnknownSid = 1,
    /// 2: a handshake with a method other than `GET`.
    BadHandshakeMethod = 2,
    /// 3: a malformed request: transport mismatch, invalid `Origin`, ...
    BadRequest = 3,
    /// 4: the application refused the handshake (HTTP 403).
    Forbidden = 4,
    /// 5: a protocol revision the server does not serve.
    UnsupportedProtocolVersion = 5,
}

impl ErrorCode {
    /// The reference's message for the code.
    pub fn message(self) -> &'static str {
        match self {
            ErrorCode::TransportUnknown => "Transport unknown",
            ErrorCode::UnknownSid => "Session ID unknown",
            ErrorCode::BadHandshakeMethod => "Bad handshake method",
            ErrorCode::BadRequest => "Bad request",
            ErrorCode::Forbidden => "Forbidden",
            ErrorCode::UnsupportedProtocolVersion => "Unsupported protocol version",
        }
    }

    /// The error response: 400 (403 for [`ErrorCode::Forbidden`]) with the JSON body, plus the
    /// CORS headers.
    pub(crate) fn response(
        self,
        message: Option<&str>,
        cors: Vec<(&'static str, HeaderValue)>,
    ) -> HttpResponse {
        let status = if self == ErrorCode::Forbidden {
            403
        } else {
            400
        };
        /// The reference's body, `{"code":…,"message":…}` in its key order (a struct, so the
        /// order does not depend on serde_json's map).
        #[derive(serde::Serialize)]
        struct Body<'a> {
            code: u8,
            message: &'a str,
        }
        let body = Body {
            code: self as u8,
            message: message.unwrap_or(self.message()),
        };
        // Serializing a struct of an integer and a string cannot fail.
        let body = serde_json::to_string(&body).unwrap_or_default();
        let mut res = HttpResponse::new(status).with_body(body);
        res.headers = cors;
        res.headers
            .push(("content-type", "application/json".into()));
        res
    }
}
