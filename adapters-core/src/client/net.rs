//! The client's IO: the server's address from its URL, connections (TCP from the runtime),
//! HTTP requests over hyper 1's client, and WebSockets framed by engineio-proto's codec
//! ([`crate::ws`]). No protocol rule lives here: the machines decide what to send and when.

use std::io;
use std::sync::Arc;

use bytes::Bytes;
use engineio_proto::http::{HttpRequest, HttpResponse, Method};
use http_body_util::{BodyExt, Full, Limited};
use hyper::client::conn::http1::SendRequest;

use crate::http::FuturesIo;
use crate::runtime::{BoxIo, Runtime};

/// Where the server is, read from the URL given to the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target {
    /// `https`/`wss`.
    pub(crate) secure: bool,
    /// The host name or address (an IPv6 address without its brackets).
    pub(crate) host: String,
    pub(crate) port: u16,
    /// The URL's path: it names the first namespace (`/` when empty).
    pub(crate) nsp: String,
    /// The URL's query, sent on every request.
    pub(crate) query: Vec<(String, String)>,
}

/// Why a URL cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UrlError {
    /// The URL does not parse.
    #[error("invalid URL: {0}")]
    Invalid(String),
    /// Only `http`, `https`, `ws` and `wss` URLs are served.
    #[error("unsupported URL scheme {0:?} (http, https, ws or wss)")]
    Scheme(String),
}

impl Target {
    pub(crate) fn parse(url: &str) -> Result<Target, UrlError> {
        let uri: hyper::Uri = url
            .parse()
            .map_err(|e: hyper::http::uri::InvalidUri| UrlError::Invalid(e.to_string()))?;
        let scheme = uri
            .scheme_str()
            .ok_or_else(|| UrlError::Invalid(format!("{url}: no scheme")))?
            .to_ascii_lowercase();
        let secure = match scheme.as_str() {
            "http" | "ws" => false,
            "https" | "wss" => true,
            _ => return Err(UrlError::Scheme(scheme)),
        };
        let host = uri
            .host()
            .ok_or_else(|| UrlError::Invalid(format!("{url}: no host")))?;
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let port = uri.port_u16().unwrap_or(if secure { 443 } else { 80 });
        let nsp = match uri.path() {
            "" => "/".to_owned(),
            p => p.to_owned(),
        };
        let query = uri
            .query()
            .unwrap_or("")
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (
                    engineio_proto::http::percent_decode(k).into_owned(),
                    engineio_proto::http::percent_decode(v).into_owned(),
                )
            })
            .collect();
        Ok(Target {
            secure,
            host,
            port,
            nsp,
            query,
        })
    }

    /// The `Host` header: the port only when it is not the scheme's.
    pub(crate) fn authority(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        if self.port == if self.secure { 443 } else { 80 } {
            host
        } else {
            format!("{host}:{}", self.port)
        }
    }
}

/// Opens a connection to the target: TCP from the runtime, TLS on top for `https`/`wss`.
pub(crate) async fn connect(
    runtime: &Arc<dyn Runtime>,
    target: &Target,
    tls: &super::tls::Tls,
) -> io::Result<BoxIo> {
    let tcp = runtime.connect_tcp(&target.host, target.port).await?;
    if target.secure {
        tls.wrap(&target.host, tcp).await
    } else {
        Ok(tcp)
    }
}

/// One HTTP/1.1 connection kept alive between requests.
pub(crate) type Lane = SendRequest<Full<Bytes>>;

/// Performs `request` on `lane` (a kept-alive connection) or on a new connection; returns the
/// response and the connection for the next request when it can be reused.
pub(crate) async fn http(
    runtime: Arc<dyn Runtime>,
    target: Arc<Target>,
    tls: Arc<super::tls::Tls>,
    lane: Option<Lane>,
    request: HttpRequest,
    max_body: usize,
) -> io::Result<(HttpResponse, Option<Lane>)> {
    let mut lane = match lane {
        Some(l) if !l.is_closed() => l,
        _ => {
            let io = connect(&runtime, &target, &tls).await?;
            let (sender, conn) = hyper::client::conn::http1::handshake(FuturesIo(io))
                .await
                .map_err(io::Error::other)?;
            runtime.spawn(Box::pin(async move {
                let _ = conn.await;
            }));
            sender
        }
    };
    lane.ready().await.map_err(io::Error::other)?;
    let method = match request.method {
        Method::Post => hyper::Method::POST,
        _ => hyper::Method::GET,
    };
    let mut builder = hyper::Request::builder()
        .method(method)
        .uri(request.uri.as_str())
        .header(hyper::header::HOST, target.authority());
    for (name, value) in &request.headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    let req = builder
        .body(Full::new(request.body))
        .map_err(io::Error::other)?;
    let res = lane.send_request(req).await.map_err(io::Error::other)?;
    let status = res.status().as_u16();
    let content_type = res
        .headers()
        .get(hyper::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = Limited::new(res.into_body(), max_body)
        .collect()
        .await
        .map_err(io::Error::other)?
        .to_bytes();
    let mut response = HttpResponse::new(status).with_body(body);
    if let Some(ct) = content_type {
        response = response.with_header("content-type", ct);
    }
    Ok((response, Some(lane)))
}

/// The client's WebSocket.
pub(crate) type Ws = crate::ws::WsConn<BoxIo>;

/// Opens a WebSocket with `request` (its URI and extra headers): the open socket, or the
/// server's refusal (its answer to the handshake, or an HTTP answer written after its 101).
pub(crate) async fn websocket(
    runtime: Arc<dyn Runtime>,
    target: Arc<Target>,
    tls: Arc<super::tls::Tls>,
    request: HttpRequest,
    max_message: usize,
) -> io::Result<crate::ws::Opened<BoxIo>> {
    let io = connect(&runtime, &target, &tls).await?;
    crate::ws::client_handshake(
        io,
        &target.authority(),
        &request.uri,
        &request.headers,
        max_message,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_the_server_the_namespace_and_the_query() {
        let t = Target::parse("http://localhost:3000/admin?token=a%20b&x").unwrap();
        assert_eq!(
            t,
            Target {
                secure: false,
                host: "localhost".into(),
                port: 3000,
                nsp: "/admin".into(),
                query: vec![("token".into(), "a b".into()), ("x".into(), String::new())],
            }
        );
        assert_eq!(t.authority(), "localhost:3000");
        let t = Target::parse("wss://[::1]").unwrap();
        assert_eq!((t.secure, t.host.as_str(), t.port), (true, "::1", 443));
        assert_eq!(t.nsp, "/");
        assert_eq!(t.authority(), "[::1]");
        assert_eq!(Target::parse("ws://h:80/").unwrap().authority(), "h");
        assert!(matches!(
            Target::parse("ftp://h/"),
            Err(UrlError::Scheme(s)) if s == "ftp"
        ));
        assert!(Target::parse("not a url").is_err());
    }
}
