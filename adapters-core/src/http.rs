//! hyper 1 glue shared by every runtime: converting requests and responses, the WebSocket
//! upgrade (framed by engineio-proto's codec, [`crate::ws`]), and one connection's service. A
//! runtime adapter only accepts TCP connections and wraps their IO for hyper.

use std::convert::Infallible;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use engineio_proto::http::{HttpRequest, HttpResponse, Method};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONNECTION, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY, UPGRADE};
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};

use crate::engine::{EngineIoServer, HttpOutcome};
use crate::runtime::{AsyncIo, BoxIo};
use crate::ws::{server_sides, WsConn};

/// Answers the requests whose path is under no Engine.IO server's (an application's pages and
/// static files, a health check), beside Engine.IO and Socket.IO on the same listener.
pub type Fallback = Arc<
    dyn Fn(Request<Incoming>) -> futures_util::future::BoxFuture<'static, Response<Full<Bytes>>>
        + Send
        + Sync,
>;

/// Serves one HTTP/1.1 connection (with upgrades) for `servers`, each under its own path
/// prefix (`/engine.io/`, `/socket.io/`); other paths get 404.
pub async fn serve_connection<I>(io: I, servers: Arc<Vec<EngineIoServer>>)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    serve_connection_with(io, servers, None).await;
}

/// Like [`serve_connection`], with `fallback` (when given) answering the other paths.
pub async fn serve_connection_with<I>(
    io: I,
    servers: Arc<Vec<EngineIoServer>>,
    fallback: Option<Fallback>,
) where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    // Routing is the tower service's; hyper drives it through `service_fn`.
    let service = crate::tower::EngineIoLayer::shared(servers).layer(FallbackService(fallback));
    let service = service_fn(move |req: Request<Incoming>| {
        let mut service = service.clone();
        tower_service::Service::call(&mut service, req)
    });
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(io, service)
        .with_upgrades()
        .await;
}

/// [`Fallback`] (or 404 without one) as a tower service.
#[derive(Clone)]
pub(crate) struct FallbackService(Option<Fallback>);

impl tower_service::Service<Request<Incoming>> for FallbackService {
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = futures_util::future::BoxFuture<'static, Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<Incoming>) -> Self::Future {
        match &self.0 {
            Some(fallback) => {
                let fut = fallback(req);
                Box::pin(async move { Ok(fut.await) })
            }
            None => Box::pin(std::future::ready(Ok(plain(StatusCode::NOT_FOUND)))),
        }
    }
}

/// Handles one hyper request with `server`: converts it, lets the machines decide, writes the
/// answer or completes the WebSocket upgrade. Usable from any hyper-based service (a tower
/// layer, an axum route).
pub async fn handle<B>(server: &EngineIoServer, mut req: Request<B>) -> Response<Full<Bytes>>
where
    B: hyper::body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let max_payload = server.max_payload();
    let websocket = is_websocket_upgrade(&req);
    let key = req.headers().get(SEC_WEBSOCKET_KEY).cloned();
    let uri = req
        .uri()
        .path_and_query()
        .map_or_else(|| req.uri().path().to_owned(), |pq| pq.as_str().to_owned());
    let headers: Vec<(String, String)> = req
        .headers()
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let method = Method::from_name(req.method().as_str());
    let upgrade = websocket.then(|| hyper::upgrade::on(&mut req));
    // Read at most max_payload bytes: a longer body is refused (413) without being kept.
    let (body, body_too_large) = if websocket {
        (Bytes::new(), false)
    } else {
        match Limited::new(req.into_body(), max_payload).collect().await {
            Ok(b) => (b.to_bytes(), false),
            Err(e)
                if e.downcast_ref::<http_body_util::LengthLimitError>()
                    .is_some() =>
            {
                (Bytes::new(), true)
            }
            Err(_) => return plain(StatusCode::BAD_REQUEST),
        }
    };
    let request = HttpRequest {
        method,
        uri,
        headers,
        body,
        body_too_large,
        websocket,
    };
    match server.handle_http(request).await {
        HttpOutcome::Response(r) => to_hyper(r),
        HttpOutcome::Upgrade { headers, attach } => {
            let (Some(key), Some(upgrade)) = (key, upgrade) else {
                return plain(StatusCode::BAD_REQUEST);
            };
            let runtime = server.runtime();
            let spawner = runtime.clone();
            spawner.spawn(Box::pin(async move {
                let Ok(upgraded) = upgrade.await else {
                    attach.attach(futures_util::stream::empty(), futures_util::sink::drain());
                    return;
                };
                // Messages up to twice max_payload are read whole: the session judges the
                // boundary and closes an oversized one with 1009 after it was read, so the
                // client finished writing and gets the close frame. A longer one is refused
                // at its header (1009 too) and the rest is read and discarded until the client
                // closes, so that client too finishes writing and reads the close.
                let io = runtime.upgraded_io(upgraded);
                let conn = WsConn::server(io, max_payload.saturating_mul(2));
                let (incoming, outgoing) = server_sides(conn);
                attach.attach(incoming, outgoing);
            }));
            let mut res = Response::new(Full::new(Bytes::new()));
            *res.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
            let h = res.headers_mut();
            h.insert(UPGRADE, HeaderValue::from_static("websocket"));
            h.insert(CONNECTION, HeaderValue::from_static("Upgrade"));
            let accept = engineio_proto::websocket::accept_key(key.as_bytes());
            if let Ok(v) = HeaderValue::from_str(&accept) {
                h.insert(SEC_WEBSOCKET_ACCEPT, v);
            }
            for (name, value) in headers {
                if let Ok(v) = HeaderValue::from_str(&value) {
                    h.append(name, v);
                }
            }
            res
        }
    }
}

fn is_websocket_upgrade<B>(req: &Request<B>) -> bool {
    let has = |name, token: &str| {
        req.headers().get_all(name).iter().any(|v| {
            v.to_str()
                .is_ok_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
        })
    };
    has(UPGRADE, "websocket")
        && has(CONNECTION, "upgrade")
        && req.headers().contains_key(SEC_WEBSOCKET_KEY)
}

fn plain(status: StatusCode) -> Response<Full<Bytes>> {
    let mut res = Response::new(Full::new(Bytes::new()));
    *res.status_mut() = status;
    res
}

fn to_hyper(r: HttpResponse) -> Response<Full<Bytes>> {
    let mut res = Response::new(Full::new(r.body));
    *res.status_mut() = StatusCode::from_u16(r.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    for (name, value) in r.headers {
        if let Ok(v) = HeaderValue::from_str(&value) {
            res.headers_mut().append(name, v);
        }
    }
    res
}

/// hyper's IO (an upgraded connection) as futures-io, for the WebSocket.
struct HyperIo<T>(T);

/// An upgraded connection read and written through hyper ([`Runtime::upgraded_io`]'s
/// default, for connections of a type the runtime does not know).
///
/// [`Runtime::upgraded_io`]: crate::Runtime::upgraded_io
pub fn upgraded_via_hyper(upgraded: hyper::upgrade::Upgraded) -> BoxIo {
    Box::new(HyperIo(upgraded))
}

/// The byte stream of an upgraded connection that was served to hyper as `T`: the connection
/// taken back from hyper (`Upgraded::downcast`) and made a futures-io stream by `into`, the
/// bytes hyper read past the request (a client may send its first frames with it) read first.
/// A connection of another type is read through hyper ([`upgraded_via_hyper`]). For
/// [`Runtime::upgraded_io`] on runtimes that know the type of the connections they serve.
///
/// [`Runtime::upgraded_io`]: crate::Runtime::upgraded_io
pub fn upgraded_socket<T, I>(upgraded: hyper::upgrade::Upgraded, into: impl FnOnce(T) -> I) -> BoxIo
where
    T: hyper::rt::Read + hyper::rt::Write + Unpin + 'static,
    I: AsyncIo + 'static,
{
    match upgraded.downcast::<T>() {
        Ok(parts) if parts.read_buf.is_empty() => Box::new(into(parts.io)),
        Ok(parts) => Box::new(ReadAhead {
            read: parts.read_buf,
            io: into(parts.io),
        }),
        Err(upgraded) => upgraded_via_hyper(upgraded),
    }
}

/// A connection taken back from hyper, with the bytes hyper had read past the request: those
/// are read first.
struct ReadAhead<T> {
    read: Bytes,
    io: T,
}

impl<T: AsyncIo> futures_util::io::AsyncRead for ReadAhead<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        if self.read.is_empty() {
            return Pin::new(&mut self.io).poll_read(cx, buf);
        }
        let n = buf.len().min(self.read.len());
        buf[..n].copy_from_slice(&self.read.split_to(n));
        Poll::Ready(Ok(n))
    }
}

impl<T: AsyncIo> futures_util::io::AsyncWrite for ReadAhead<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_close(cx)
    }
}

impl<T: hyper::rt::Read + Unpin> futures_util::io::AsyncRead for HyperIo<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let mut rb = hyper::rt::ReadBuf::new(buf);
        std::task::ready!(Pin::new(&mut self.0).poll_read(cx, rb.unfilled()))?;
        Poll::Ready(Ok(rb.filled().len()))
    }
}

impl<T: hyper::rt::Write + Unpin> futures_util::io::AsyncWrite for HyperIo<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

/// futures-io IO as hyper's (for runtimes whose sockets speak futures-io, such as smol).
#[derive(Debug)]
pub struct FuturesIo<T>(pub T);

impl<T: futures_util::io::AsyncRead + Unpin> hyper::rt::Read for FuturesIo<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        // Read into a stack buffer, then copy: the cursor's uninitialized memory cannot be
        // handed to futures-io without `unsafe`.
        let mut tmp = [0u8; 8192];
        let want = tmp.len().min(buf.remaining());
        match Pin::new(&mut self.0).poll_read(cx, &mut tmp[..want]) {
            Poll::Ready(Ok(n)) => {
                buf.put_slice(&tmp[..n]);
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T: futures_util::io::AsyncWrite + Unpin> hyper::rt::Write for FuturesIo<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_close(cx)
    }
}
