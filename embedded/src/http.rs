//! One TCP connection: HTTP/1.1 requests (keep-alive) parsed with httparse, answered by the
//! machines; a WebSocket upgrade hands the connection to [`crate::ws`].

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::Duration;

use engineio_proto::http::{HttpRequest, HttpResponse, Method};
use engineio_proto::Bytes;

use crate::{Answer, AppKind, Reply, Shared};

/// The largest request head read.
const MAX_HEAD: usize = 64 * 1024;
/// How often a connection waiting for a held long-poll's answer checks that its client is
/// still there (an aborted long-poll closes the session).
const ABORT_CHECK: Duration = Duration::from_millis(200);

/// A request as read from the connection.
struct Incoming {
    request: HttpRequest,
    keep_alive: bool,
    /// `Sec-WebSocket-Key` of an upgrade request.
    ws_key: Option<String>,
}

/// Serves `stream` until the client closes it, an error, or a WebSocket ends.
pub(crate) fn serve_connection(shared: &Shared, mut stream: TcpStream) {
    let mut buf = Vec::new();
    loop {
        let incoming = match read_request(&mut stream, &mut buf, shared.max_payload) {
            Ok(Some(incoming)) => incoming,
            Ok(None) => return,
            Err(_) => {
                let _ = write_response(&mut stream, &HttpResponse::new(400), false);
                return;
            }
        };
        let Incoming {
            request,
            keep_alive,
            ws_key,
        } = incoming;
        let Some(kind) = AppKind::for_path(request.path()) else {
            let res = HttpResponse::new(404);
            if write_response(&mut stream, &res, keep_alive).is_err() || !keep_alive {
                return;
            }
            continue;
        };
        let (reply, sid) = match shared.request(kind, request) {
            Answer::Now(reply) => (reply, String::new()),
            Answer::Later { id, sid, reply } => match wait(&stream, &reply) {
                Some(reply) => (reply, sid),
                None => {
                    shared.aborted(kind, &sid, id);
                    return;
                }
            },
        };
        match (reply, ws_key) {
            (Reply::Http(res), ws_key) => {
                // A refused upgrade ends the connection.
                let keep_alive = keep_alive && ws_key.is_none();
                if write_response(&mut stream, &res, keep_alive).is_err() || !keep_alive {
                    return;
                }
            }
            (Reply::Upgrade(headers, queue), Some(key)) => {
                if stream
                    .write_all(switching(&key, &headers).as_bytes())
                    .is_err()
                {
                    shared.ws_closed(kind, &sid, &queue);
                    return;
                }
                crate::ws::run(shared, kind, &sid, stream, buf, queue);
                return;
            }
            (Reply::Refuse(headers), Some(key)) => {
                if stream
                    .write_all(switching(&key, &headers).as_bytes())
                    .is_ok()
                {
                    crate::ws::refuse(stream, buf);
                }
                return;
            }
            // An upgrade accepted for a request that was not one cannot happen: the engine
            // only routes WebSocket requests to the WebSocket paths.
            (Reply::Upgrade(..) | Reply::Refuse(_), None) => return,
        }
    }
}

/// The 101 response head of an accepted WebSocket upgrade.
fn switching(key: &str, headers: &[(&'static str, engineio_proto::http::HeaderValue)]) -> String {
    let mut head = String::from(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n",
    );
    let accept = engineio_proto::websocket::accept_key(key.as_bytes());
    head.push_str(&format!("Sec-WebSocket-Accept: {accept}\r\n"));
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    head
}

/// Waits for the answer to a request; `None` if the client went away first.
fn wait(stream: &TcpStream, reply: &Receiver<Reply>) -> Option<Reply> {
    loop {
        match reply.recv_timeout(ABORT_CHECK) {
            Ok(reply) => return Some(reply),
            Err(RecvTimeoutError::Timeout) if !peer_gone(stream) => {}
            Err(_) => return None,
        }
    }
}

/// Whether the client closed its side (a read would see the end of the stream).
fn peer_gone(stream: &TcpStream) -> bool {
    if stream.set_nonblocking(true).is_err() {
        return true;
    }
    let gone = match stream.peek(&mut [0u8; 1]) {
        Ok(n) => n == 0,
        Err(e) => e.kind() != io::ErrorKind::WouldBlock,
    };
    gone || stream.set_nonblocking(false).is_err()
}

/// Reads one request (head and body). `buf` keeps bytes read past it. `Ok(None)`: the client
/// closed the connection between requests.
fn read_request(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
    max_payload: usize,
) -> io::Result<Option<Incoming>> {
    let invalid = |what: &str| io::Error::new(io::ErrorKind::InvalidData, what.to_owned());
    let (head_len, method, uri, headers, minor) = loop {
        let mut slots = [httparse::EMPTY_HEADER; 64];
        let mut req = httparse::Request::new(&mut slots);
        match req.parse(buf).map_err(|_| invalid("bad request head"))? {
            httparse::Status::Complete(n) => {
                let headers: Vec<(String, String)> = req
                    .headers
                    .iter()
                    .map(|h| {
                        let value = String::from_utf8_lossy(h.value).into_owned();
                        (h.name.to_owned(), value)
                    })
                    .collect();
                let method = Method::from_name(req.method.unwrap_or_default());
                let uri = req.path.unwrap_or_default().to_owned();
                break (n, method, uri, headers, req.version.unwrap_or(1));
            }
            httparse::Status::Partial if buf.len() >= MAX_HEAD => {
                return Err(invalid("request head too large"));
            }
            httparse::Status::Partial => {
                if fill(stream, buf)? == 0 {
                    return match buf.is_empty() {
                        true => Ok(None),
                        false => Err(invalid("truncated request")),
                    };
                }
            }
        }
    };
    buf.drain(..head_len);
    let header = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    let has_token = |name: &str, token: &str| {
        header(name).is_some_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
    };
    let keep_alive = match minor {
        0 => has_token("connection", "keep-alive"),
        _ => !has_token("connection", "close"),
    };
    let ws_key = (method == Method::Get
        && has_token("upgrade", "websocket")
        && has_token("connection", "upgrade"))
    .then(|| header("sec-websocket-key").map(str::to_owned))
    .flatten();
    let chunked = has_token("transfer-encoding", "chunked");
    let length: usize = match header("content-length") {
        Some(v) if !chunked => v
            .trim()
            .parse()
            .map_err(|_| invalid("bad content-length"))?,
        _ => 0,
    };
    if has_token("expect", "100-continue") && (chunked || length > 0) {
        stream.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
    }
    // At most max_payload bytes of a body are kept; a longer one is read and dropped, and the
    // request says so (the session answers 413).
    let (body, body_too_large) = if chunked {
        read_chunked(stream, buf, max_payload)?
    } else if length > max_payload {
        discard(stream, buf, length)?;
        (Vec::new(), true)
    } else {
        while buf.len() < length {
            if fill(stream, buf)? == 0 {
                return Err(invalid("truncated body"));
            }
        }
        (buf.drain(..length).collect(), false)
    };
    let request = HttpRequest {
        method,
        uri,
        headers,
        body: Bytes::from(body),
        body_too_large,
        websocket: ws_key.is_some(),
    };
    Ok(Some(Incoming {
        request,
        keep_alive,
        ws_key,
    }))
}

/// Reads more bytes into `buf`; how many (0 at the end of the stream).
fn fill(stream: &mut TcpStream, buf: &mut Vec<u8>) -> io::Result<usize> {
    let mut chunk = [0u8; 16 * 1024];
    let n = stream.read(&mut chunk)?;
    buf.extend_from_slice(&chunk[..n]);
    Ok(n)
}

/// Reads a chunked body, keeping at most `max_payload` bytes of it; whether it was longer.
fn read_chunked(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
    max_payload: usize,
) -> io::Result<(Vec<u8>, bool)> {
    let invalid = || io::Error::new(io::ErrorKind::InvalidData, "bad chunked body");
    let (mut body, mut too_large) = (Vec::new(), false);
    loop {
        let line = read_line(stream, buf)?;
        let size = line.split(';').next().unwrap_or_default().trim();
        let mut rest = usize::from_str_radix(size, 16).map_err(|_| invalid())?;
        if rest == 0 {
            // Trailers, up to the empty line.
            while !read_line(stream, buf)?.is_empty() {}
            return Ok((body, too_large));
        }
        while rest > 0 {
            if buf.is_empty() && fill(stream, buf)? == 0 {
                return Err(invalid());
            }
            let n = rest.min(buf.len());
            too_large |= body.len() + n > max_payload;
            if too_large {
                body = Vec::new();
            } else {
                body.extend_from_slice(&buf[..n]);
            }
            buf.drain(..n);
            rest -= n;
        }
        if !read_line(stream, buf)?.is_empty() {
            return Err(invalid());
        }
    }
}

/// Reads one CRLF-terminated line (without its CRLF).
fn read_line(stream: &mut TcpStream, buf: &mut Vec<u8>) -> io::Result<String> {
    loop {
        if let Some(i) = buf.windows(2).position(|w| w == b"\r\n") {
            let line = String::from_utf8_lossy(&buf[..i]).into_owned();
            buf.drain(..i + 2);
            return Ok(line);
        }
        if buf.len() > MAX_HEAD || fill(stream, buf)? == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "bad chunked body",
            ));
        }
    }
}

/// Skips a body of `length` bytes, some of it already in `buf`, without keeping it.
fn discard(stream: &mut TcpStream, buf: &mut Vec<u8>, length: usize) -> io::Result<()> {
    let buffered = buf.len().min(length);
    buf.drain(..buffered);
    let rest = (length - buffered) as u64;
    if io::copy(&mut stream.take(rest), &mut io::sink())? < rest {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    Ok(())
}

fn write_response(stream: &mut TcpStream, res: &HttpResponse, keep_alive: bool) -> io::Result<()> {
    let mut head = format!("HTTP/1.1 {} {}\r\n", res.status, reason(res.status));
    for (name, value) in &res.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    let connection = if keep_alive { "keep-alive" } else { "close" };
    head.push_str(&format!(
        "Content-Length: {}\r\nConnection: {connection}\r\n\r\n",
        res.body.len()
    ));
    let mut out = head.into_bytes();
    out.extend_from_slice(&res.body);
    stream.write_all(&out)?;
    stream.flush()
}

fn reason(status: u16) -> &'static str {
    match status {
        101 => "Switching Protocols",
        200 => "OK",
        204 => "No Content",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        413 => "Payload Too Large",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "",
    }
}
