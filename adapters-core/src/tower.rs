//! A tower layer: Engine.IO and Socket.IO servers mounted in front of any tower service (an
//! axum `Router`, a hyper service), under their paths; every other request goes on to the
//! service.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::{Either, Full};
use hyper::{Request, Response};

use crate::engine::EngineIoServer;
use crate::http::handle;

/// Errors of request bodies the layer reads.
type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Mounts servers (each [`EngineIoServer::path`], such as `/socket.io/`) in front of a tower
/// service: `Router::new().route(..).layer(EngineIoLayer::new(vec![io.engine().clone()]))`.
/// WebSocket upgrades work when the service runs under hyper with upgrades on (axum's `serve`
/// does).
#[derive(Debug, Clone)]
pub struct EngineIoLayer {
    servers: Arc<Vec<EngineIoServer>>,
}

impl EngineIoLayer {
    /// A layer serving `servers`, the first whose path prefixes the request's taking it.
    pub fn new(servers: Vec<EngineIoServer>) -> Self {
        EngineIoLayer {
            servers: Arc::new(servers),
        }
    }

    pub(crate) fn shared(servers: Arc<Vec<EngineIoServer>>) -> Self {
        EngineIoLayer { servers }
    }

    /// The layer around `inner` (what `tower::Layer::layer` does).
    pub fn layer<S>(&self, inner: S) -> EngineIoService<S> {
        EngineIoService {
            servers: self.servers.clone(),
            inner,
        }
    }
}

impl<S> tower_layer::Layer<S> for EngineIoLayer {
    type Service = EngineIoService<S>;

    fn layer(&self, inner: S) -> EngineIoService<S> {
        EngineIoLayer::layer(self, inner)
    }
}

/// The service [`EngineIoLayer`] makes.
#[derive(Debug, Clone)]
pub struct EngineIoService<S> {
    servers: Arc<Vec<EngineIoServer>>,
    inner: S,
}

/// The response body: the server's own, or the inner service's.
pub type EngineIoBody<B> = Either<Full<Bytes>, B>;

type ServiceFuture<R, E> = Pin<Box<dyn Future<Output = Result<R, E>> + Send>>;

impl<S, B, R> tower_service::Service<Request<B>> for EngineIoService<S>
where
    S: tower_service::Service<Request<B>, Response = Response<R>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: hyper::body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = Response<EngineIoBody<R>>;
    type Error = S::Error;
    type Future = ServiceFuture<Self::Response, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let path = req.uri().path();
        if let Some(server) = self.servers.iter().find(|s| path.starts_with(s.path())) {
            let server = server.clone();
            return Box::pin(async move { Ok(handle(&server, req).await.map(Either::Left)) });
        }
        // The service that was made ready goes; a fresh clone waits for the next call.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let fut = inner.call(req);
        Box::pin(async move { Ok(fut.await?.map(Either::Right)) })
    }
}
