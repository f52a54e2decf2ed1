//! What a runtime provides.

use std::future::Future;
use std::pin::Pin;
use std::time::Instant;

/// A boxed, sendable future.
pub type BoxFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

/// The runtime services the drivers use; implemented once per runtime (tokio, smol).
pub trait Runtime: Send + Sync + 'static {
    /// Runs `future` in the background.
    fn spawn(&self, future: BoxFuture);
    /// A future that completes at `deadline`.
    fn sleep_until(&self, deadline: Instant) -> BoxFuture;
    /// The current time (the only clock the machines see, read once per wake-up).
    fn now(&self) -> Instant;
    /// Opens a TCP connection to `host:port` for the client side (Nagle off). Runtimes that
    /// serve only do not need it: the default refuses.
    fn connect_tcp(&self, host: &str, port: u16) -> ConnectFuture {
        let _ = (host, port);
        Box::pin(std::future::ready(Err(std::io::Error::new(
            std::io::ErrorKind::Unsupported,
            "this runtime does not open connections",
        ))))
    }

    /// The byte stream of a connection hyper upgraded to a WebSocket. The default reads and
    /// writes through hyper's `Upgraded` (a boxed stream behind a rewind buffer); a runtime
    /// that knows the type of the connections it serves takes its socket back
    /// ([`crate::upgraded_socket`]) and skips those layers on every read and write.
    fn upgraded_io(&self, upgraded: crate::Upgraded) -> BoxIo {
        crate::upgraded_via_hyper(upgraded)
    }

    /// Fills `buf` with random bytes from the OS's CSPRNG (session ids). The same on every
    /// runtime; override only to inject another source.
    fn fill_random(&self, buf: &mut [u8]) {
        if getrandom::fill(buf).is_err() {
            // No OS randomness at all: refuse to hand out guessable session ids.
            panic!("the operating system's random source is unavailable");
        }
    }
}

/// A connection's byte stream, as the client side uses it (TCP, or TLS over TCP).
pub trait AsyncIo:
    futures_util::io::AsyncRead + futures_util::io::AsyncWrite + Send + Unpin
{
}

impl<T: futures_util::io::AsyncRead + futures_util::io::AsyncWrite + Send + Unpin> AsyncIo for T {}

/// A boxed connection.
pub type BoxIo = Box<dyn AsyncIo>;

/// A boxed future of a new connection.
pub type ConnectFuture = Pin<Box<dyn Future<Output = std::io::Result<BoxIo>> + Send>>;
