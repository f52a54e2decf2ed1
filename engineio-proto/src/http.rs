//! A minimal HTTP model: what the machines need from a request and what they answer.
//!
//! Runtime adapters convert from and to their HTTP library (hyper, async-h1, ...) so that this
//! crate depends on none of them. Header names are matched case-insensitively.

use std::borrow::Cow;
use std::fmt;

use bytes::Bytes;

/// The request methods Engine.IO distinguishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Method {
    /// `GET`: handshake, long-poll, or WebSocket upgrade.
    Get,
    /// `POST`: packets from the client.
    Post,
    /// `OPTIONS`: CORS preflight.
    Options,
    /// Any other method.
    Other,
}

impl Method {
    /// The method for its name (case-sensitive, as HTTP is).
    pub fn from_name(name: &str) -> Self {
        match name {
            "GET" => Method::Get,
            "POST" => Method::Post,
            "OPTIONS" => Method::Options,
            _ => Method::Other,
        }
    }

    /// The method's name (`OTHER` for [`Method::Other`]).
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Options => "OPTIONS",
            Method::Other => "OTHER",
        }
    }
}

/// Names one HTTP request; every reply carries the id of the request it answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestId(pub u64);

/// The transport a request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TransportKind {
    /// HTTP long-polling.
    Polling,
    /// WebSocket.
    WebSocket,
}

impl TransportKind {
    /// The `transport` query value.
    pub fn as_str(self) -> &'static str {
        match self {
            TransportKind::Polling => "polling",
            TransportKind::WebSocket => "websocket",
        }
    }
}

/// A header value: static for the constant ones, owned otherwise.
pub type HeaderValue = Cow<'static, str>;

/// An HTTP request as the machines see it.
///
/// `body` is the whole body. An adapter reads at most `max_payload` bytes of it (the limit is
/// [`crate::server::ServerConfig::max_payload`]); when the body is longer it stops reading and
/// sets `body_too_large` instead, and the request is answered with 413 without the body ever
/// being buffered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    /// The method.
    pub method: Method,
    /// Path and query, as in the request line (`/engine.io/?EIO=4&transport=polling`).
    pub uri: String,
    /// Headers, in arrival order.
    pub headers: Vec<(String, String)>,
    /// The body (empty for `GET`).
    pub body: Bytes,
    /// The body was longer than the adapter's read limit (`max_payload`) and was not read.
    pub body_too_large: bool,
    /// Whether this is a WebSocket upgrade request (`Upgrade: websocket`, already validated by
    /// the adapter's WebSocket library).
    pub websocket: bool,
}

impl HttpRequest {
    /// A `GET` request for `uri`.
    pub fn get(uri: impl Into<String>) -> Self {
        HttpRequest {
            method: Method::Get,
            uri: uri.into(),
            headers: Vec::new(),
            body: Bytes::new(),
            body_too_large: false,
            websocket: false,
        }
    }

    /// A `POST` request for `uri` with `body`.
    pub fn post(uri: impl Into<String>, body: impl Into<Bytes>) -> Self {
        HttpRequest {
            method: Method::Post,
            body: body.into(),
            ..HttpRequest::get(uri)
        }
    }

    /// A WebSocket upgrade request (`GET` with `Upgrade: websocket`) for `uri`.
    pub fn websocket(uri: impl Into<String>) -> Self {
        HttpRequest {
            websocket: true,
            ..HttpRequest::get(uri)
        }
    }

    /// Adds a header.
    #[must_use]
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The path, without the query.
    pub fn path(&self) -> &str {
        split_uri(&self.uri).0
    }

    /// The raw query string, without the `?`.
    pub fn query(&self) -> &str {
        split_uri(&self.uri).1
    }

    /// The percent-decoded value of query parameter `name` (the first occurrence).
    pub fn query_param(&self, name: &str) -> Option<Cow<'_, str>> {
        query_param(self.query(), name)
    }
}

/// What a server keeps of a request after answering it: its method, URI and headers, in one
/// buffer (the request that opened a session, for the application's `handshake`). An
/// [`HttpRequest`] holds each header name and value in a `String` of its own; this holds them
/// all in one allocation and their bounds in another.
#[derive(Clone, PartialEq, Eq)]
pub struct RequestHead {
    method: Method,
    /// The URI, then each header's name and value, one after the other.
    text: Box<str>,
    uri_end: u32,
    /// Where each header's name and value end in `text`.
    ends: Box<[(u32, u32)]>,
}

impl RequestHead {
    /// The head of `request` (its body is not kept). Headers past 4 GiB in all, which no
    /// HTTP library reads, are left out.
    pub fn new(request: &HttpRequest) -> Self {
        let len = request.uri.len()
            + request
                .headers
                .iter()
                .map(|(n, v)| n.len() + v.len())
                .sum::<usize>();
        let mut text = String::with_capacity(len.min(u32::MAX as usize));
        let mut push = |s: &str| -> Option<u32> {
            let end = u32::try_from(text.len() + s.len()).ok()?;
            text.push_str(s);
            Some(end)
        };
        let uri_end = push(&request.uri).unwrap_or(0);
        let mut ends = Vec::with_capacity(request.headers.len());
        for (name, value) in &request.headers {
            let (Some(n), Some(v)) = (push(name), push(value)) else {
                break;
            };
            ends.push((n, v));
        }
        RequestHead {
            method: request.method,
            text: text.into_boxed_str(),
            uri_end,
            ends: ends.into_boxed_slice(),
        }
    }

    /// The method.
    pub fn method(&self) -> Method {
        self.method
    }

    /// Path and query, as in the request line.
    pub fn uri(&self) -> &str {
        &self.text[..self.uri_end as usize]
    }

    /// Headers, in arrival order.
    pub fn headers(&self) -> impl ExactSizeIterator<Item = (&str, &str)> + '_ {
        let mut start = self.uri_end as usize;
        self.ends.iter().map(move |&(n, v)| {
            let (n, v) = (n as usize, v as usize);
            let pair = (&self.text[start..n], &self.text[n..v]);
            start = v;
            pair
        })
    }

    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// The path, without the query.
    pub fn path(&self) -> &str {
        split_uri(self.uri()).0
    }

    /// The raw query string, without the `?`.
    pub fn query(&self) -> &str {
        split_uri(self.uri()).1
    }

    /// The percent-decoded value of query parameter `name` (the first occurrence).
    pub fn query_param(&self, name: &str) -> Option<Cow<'_, str>> {
        query_param(self.query(), name)
    }
}

impl From<&HttpRequest> for RequestHead {
    fn from(request: &HttpRequest) -> Self {
        RequestHead::new(request)
    }
}

impl fmt::Debug for RequestHead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestHead")
            .field("method", &self.method)
            .field("uri", &self.uri())
            .field("headers", &self.headers().collect::<Vec<_>>())
            .finish()
    }
}

/// An HTTP response produced by the machines.
///
/// The adapter adds `Content-Length` (and `Date`, `Connection` as its library does).
#[derive(Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// The status code.
    pub status: u16,
    /// Headers, lowercase names.
    pub headers: Vec<(&'static str, HeaderValue)>,
    /// The body.
    pub body: Bytes,
}

impl HttpResponse {
    /// A response with `status`, no headers and an empty body.
    pub fn new(status: u16) -> Self {
        HttpResponse {
            status,
            headers: Vec::new(),
            body: Bytes::new(),
        }
    }

    /// Adds a header.
    #[must_use]
    pub fn with_header(mut self, name: &'static str, value: impl Into<HeaderValue>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    /// Sets the body.
    #[must_use]
    pub fn with_body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }

    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_ref())
    }

    /// The body as text, if it is UTF-8.
    pub fn body_text(&self) -> Option<&str> {
        std::str::from_utf8(&self.body).ok()
    }
}

impl fmt::Debug for HttpResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("HttpResponse");
        d.field("status", &self.status)
            .field("headers", &self.headers);
        match self.body_text() {
            Some(text) => d.field("body", &text),
            None => d.field("body", &self.body),
        };
        d.finish()
    }
}

/// The percent-decoded value of parameter `name` in the raw query string `query`.
pub(crate) fn query_param<'a>(query: &'a str, name: &str) -> Option<Cow<'a, str>> {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('=').or(Some((pair, ""))))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| percent_decode(v))
}

/// A request line's path and query (without the `?`; empty when there is none).
fn split_uri(uri: &str) -> (&str, &str) {
    uri.split_once('?').unwrap_or((uri, ""))
}

/// Decodes `%XX` escapes and `+` (as a space, form encoding). Malformed escapes are kept as
/// they are; bytes that do not form UTF-8 are replaced.
pub fn percent_decode(s: &str) -> Cow<'_, str> {
    if !s.bytes().any(|b| b == b'%' || b == b'+') {
        return Cow::Borrowed(s);
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => match (hex(bytes.get(i + 1)), hex(bytes.get(i + 2))) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    Cow::Owned(String::from_utf8_lossy(&out).into_owned())
}

fn hex(b: Option<&u8>) -> Option<u8> {
    let b = *b?;
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Appends `s` percent-encoded for a query string, as JavaScript's `encodeURIComponent`
/// (letters, digits and `-_.~` stay; `!*'()` are escaped too, which every decoder accepts).
pub fn percent_encode_into(s: &str, out: &mut String) {
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            const HEX: &[u8; 16] = b"0123456789ABCDEF";
            out.push('%');
            out.push(HEX[usize::from(b >> 4)] as char);
            out.push(HEX[usize::from(b & 15)] as char);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_head_keeps_method_uri_and_headers_in_order() {
        let req = HttpRequest::get("/socket.io/?EIO=4&transport=websocket&t=a%20b")
            .with_header("Host", "127.0.0.1")
            .with_header("x-empty", "")
            .with_header("Cookie", "a=1; b=2")
            .with_header("cookie", "second");
        let head = RequestHead::new(&req);
        assert_eq!(head.method(), Method::Get);
        assert_eq!(head.uri(), req.uri);
        assert_eq!(head.path(), "/socket.io/");
        assert_eq!(head.query(), "EIO=4&transport=websocket&t=a%20b");
        assert_eq!(head.query_param("t").as_deref(), Some("a b"));
        let headers: Vec<(&str, &str)> = head.headers().collect();
        let expected: Vec<(&str, &str)> = req
            .headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        assert_eq!(headers, expected);
        assert_eq!(
            head.header("COOKIE"),
            Some("a=1; b=2"),
            "the first, any case"
        );
        assert_eq!(head.header("x-empty"), Some(""));
        assert_eq!(head.header("missing"), None);
        assert_eq!(head.headers().len(), 4);
        let empty = RequestHead::new(&HttpRequest::post("", "body"));
        assert_eq!((empty.uri(), empty.headers().len()), ("", 0));
        assert_eq!(empty.method(), Method::Post);
    }

    #[test]
    fn query_params_decode_percent_escapes() {
        let req = HttpRequest::get("/engine.io/?EIO=4&transport=polling&sid=a%2Bb%2F&x&t=N%zz");
        assert_eq!(req.path(), "/engine.io/");
        assert_eq!(req.query_param("EIO").as_deref(), Some("4"));
        assert_eq!(req.query_param("sid").as_deref(), Some("a+b/"));
        assert_eq!(req.query_param("x").as_deref(), Some(""));
        assert_eq!(req.query_param("t").as_deref(), Some("N%zz"));
        assert_eq!(req.query_param("missing"), None);
        assert_eq!(percent_decode("%4"), "%4");
        assert_eq!(percent_decode("%"), "%");
    }

    #[test]
    fn percent_encode_round_trips() {
        let mut out = String::new();
        percent_encode_into("a+b/c d_é", &mut out);
        assert_eq!(out, "a%2Bb%2Fc%20d_%C3%A9");
        assert_eq!(percent_decode(&out), "a+b/c d_é");
    }
}
