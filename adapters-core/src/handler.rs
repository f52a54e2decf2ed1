//! Event handlers as the server's and the client's sockets store them: the application's
//! typed closure behind one type-erased shape.

use std::future::Future;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use socketio_proto::Packet;

use crate::runtime::BoxFuture;

/// A handler of one event for socket type `S` with ack sender `A`: `None` when the
/// arguments did not fit its type (it is then not called).
pub(crate) type EventHandler<S, A> =
    Arc<dyn Fn(S, Packet, Option<A>) -> Option<BoxFuture> + Send + Sync>;

/// `handler` with the event's arguments read into `T` ([`Packet::args`]); arguments that do
/// not fit are dropped with a `tracing` warning.
pub(crate) fn typed<S, A, T, F, Fut>(handler: F) -> EventHandler<S, A>
where
    T: DeserializeOwned + 'static,
    F: Fn(S, T, Option<A>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    Arc::new(move |socket, packet, ack| match packet.args::<T>() {
        Ok(args) => Some(Box::pin(handler(socket, args, ack)) as BoxFuture),
        Err(e) => {
            tracing::warn!(
                event = packet.event_name().unwrap_or_default(),
                error = %e,
                "event arguments do not fit the handler's type; dropped"
            );
            None
        }
    })
}

/// `handler` with the packet itself.
pub(crate) fn raw<S, A, F, Fut>(handler: F) -> EventHandler<S, A>
where
    F: Fn(S, Packet, Option<A>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    Arc::new(move |socket, packet, ack| Some(Box::pin(handler(socket, packet, ack)) as BoxFuture))
}
