//! The opening handshake's bytes (§4): the key a server answers with, and a client's side of
//! it (its upgrade request, the server's answer read and checked).
//!
//! The server's side is HTTP routing, which [`crate::server::Engine`] does; a server only needs
//! [`accept_key`] for its 101.

use base64::Engine as _;

/// The GUID every accept key is derived with (§1.3).
const GUID: &[u8] = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// The longest response head [`parse_response_head`] waits for.
pub const MAX_RESPONSE_HEAD: usize = 16 * 1024;

/// The `Sec-WebSocket-Accept` value answering a client's `Sec-WebSocket-Key` (§4.2.2): the
/// base64 of the SHA-1 of the key (as the client sent it, untrimmed of nothing but the header's
/// surrounding whitespace) followed by the protocol's GUID.
pub fn accept_key(key: &[u8]) -> String {
    let mut input = Vec::with_capacity(key.len() + GUID.len());
    input.extend_from_slice(key);
    input.extend_from_slice(GUID);
    base64::engine::general_purpose::STANDARD.encode(sha1(&input))
}

/// A client's `Sec-WebSocket-Key` from 16 random bytes (§4.1: a fresh nonce per connection).
pub fn client_key(nonce: [u8; 16]) -> String {
    base64::engine::general_purpose::STANDARD.encode(nonce)
}

/// SHA-1 (FIPS 180-4). Only for the accept key: the handshake needs it, nothing relies on it
/// being collision-resistant.
fn sha1(data: &[u8]) -> [u8; 20] {
    let mut h: [u32; 5] = [
        0x6745_2301,
        0xEFCD_AB89,
        0x98BA_DCFE,
        0x1032_5476,
        0xC3D2_E1F0,
    ];
    let bit_len = (data.len() as u64).wrapping_mul(8);
    let mut message = data.to_vec();
    message.push(0x80);
    while message.len() % 64 != 56 {
        message.push(0);
    }
    message.extend_from_slice(&bit_len.to_be_bytes());
    for block in message.chunks_exact(64) {
        let mut w = [0u32; 80];
        for (i, word) in block.chunks_exact(4).enumerate() {
            w[i] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        }
        for i in 16..80 {
            w[i] = (w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]).rotate_left(1);
        }
        let [mut a, mut b, mut c, mut d, mut e] = h;
        for (i, wi) in w.iter().enumerate() {
            let (f, k) = match i {
                0..=19 => ((b & c) | (!b & d), 0x5A82_7999),
                20..=39 => (b ^ c ^ d, 0x6ED9_EBA1),
                40..=59 => ((b & c) | (b & d) | (c & d), 0x8F1B_BCDC),
                _ => (b ^ c ^ d, 0xCA62_C1D6),
            };
            let t = a
                .rotate_left(5)
                .wrapping_add(f)
                .wrapping_add(e)
                .wrapping_add(k)
                .wrapping_add(*wi);
            e = d;
            d = c;
            c = b.rotate_left(30);
            b = a;
            a = t;
        }
        for (hi, v) in h.iter_mut().zip([a, b, c, d, e]) {
            *hi = hi.wrapping_add(v);
        }
    }
    let mut out = [0u8; 20];
    for (chunk, v) in out.chunks_exact_mut(4).zip(h) {
        chunk.copy_from_slice(&v.to_be_bytes());
    }
    out
}

/// Appends a client's upgrade request (§4.1) to `out`: `GET target` on `host` (the `Host`
/// header's value) with `key` (from [`client_key`]) and the caller's `headers` after the
/// protocol's own. A header whose name or value could break the request (a line break, a
/// colon in the name, a name that is empty) is left out.
pub fn write_client_request(
    out: &mut Vec<u8>,
    host: &str,
    target: &str,
    key: &str,
    headers: &[(String, String)],
) {
    let safe = |s: &str| !s.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0);
    out.extend_from_slice(b"GET ");
    out.extend_from_slice(if safe(target) && !target.contains(' ') {
        target.as_bytes()
    } else {
        b"/"
    });
    out.extend_from_slice(b" HTTP/1.1\r\nHost: ");
    if safe(host) {
        out.extend_from_slice(host.as_bytes());
    }
    out.extend_from_slice(b"\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n");
    out.extend_from_slice(b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ");
    out.extend_from_slice(key.as_bytes());
    out.extend_from_slice(b"\r\n");
    for (name, value) in headers {
        if name.is_empty() || name.contains(':') || name.contains(' ') || !safe(name) {
            continue;
        }
        if !safe(value) {
            continue;
        }
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
}

/// An HTTP response's status line and headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseHead {
    /// The status code.
    pub status: u16,
    /// The headers in order, names as sent (values with surrounding whitespace trimmed; bytes
    /// that are not UTF-8 replaced).
    pub headers: Vec<(String, String)>,
    /// How many bytes the head took (the status line through the empty line): what follows
    /// is the body, or for a 101 the WebSocket's first frames.
    pub len: usize,
}

impl ResponseHead {
    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// `Content-Length`, when present and a number.
    pub fn content_length(&self) -> Option<usize> {
        self.header("content-length")?.parse().ok()
    }

    /// Whether header `name` lists `token` (comma-separated, case-insensitive), in any of its
    /// occurrences.
    fn lists(&self, name: &str, token: &str) -> bool {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .any(|(_, v)| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
    }
}

/// Why a handshake answer is not an accepted WebSocket.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HandshakeError {
    /// The bytes are not an HTTP/1.x response head.
    #[error("malformed HTTP response")]
    Malformed,
    /// No end of the head within [`MAX_RESPONSE_HEAD`] bytes.
    #[error("HTTP response head longer than {MAX_RESPONSE_HEAD} bytes")]
    TooLarge,
    /// A 101 without `Upgrade: websocket` or `Connection: upgrade` (§4.1, items 2 and 3).
    #[error("the 101 response does not upgrade to websocket")]
    NotWebSocket,
    /// `Sec-WebSocket-Accept` missing or not the key's (§4.1, item 4).
    #[error("Sec-WebSocket-Accept does not match the key")]
    BadAccept,
    /// An extension or subprotocol the client did not offer (§4.1, items 5 and 6).
    #[error("the server chose an extension or subprotocol that was not offered")]
    NotOffered,
}

/// Reads a response head from the front of `buf`: `Ok(None)` while its end has not arrived
/// (and `buf` is shorter than [`MAX_RESPONSE_HEAD`]).
pub fn parse_response_head(buf: &[u8]) -> Result<Option<ResponseHead>, HandshakeError> {
    let Some(end) = memchr::memmem::find(buf, b"\r\n\r\n") else {
        return if buf.len() >= MAX_RESPONSE_HEAD {
            Err(HandshakeError::TooLarge)
        } else if !b"HTTP/1."
            .iter()
            .zip(buf)
            .all(|(expected, got)| expected == got)
        {
            Err(HandshakeError::Malformed)
        } else {
            Ok(None)
        };
    };
    if end + 4 > MAX_RESPONSE_HEAD {
        return Err(HandshakeError::TooLarge);
    }
    let head = String::from_utf8_lossy(&buf[..end]);
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or("");
    let rest = status_line
        .strip_prefix("HTTP/1.1 ")
        .or_else(|| status_line.strip_prefix("HTTP/1.0 "))
        .ok_or(HandshakeError::Malformed)?;
    let code = rest.get(..3).ok_or(HandshakeError::Malformed)?;
    if !code.bytes().all(|b| b.is_ascii_digit()) || rest.len() > 3 && !rest[3..].starts_with(' ') {
        return Err(HandshakeError::Malformed);
    }
    let status = code.parse().map_err(|_| HandshakeError::Malformed)?;
    let mut headers = Vec::new();
    for line in lines {
        let (name, value) = line.split_once(':').ok_or(HandshakeError::Malformed)?;
        if name.is_empty() || name.bytes().any(|b| b.is_ascii_whitespace()) {
            return Err(HandshakeError::Malformed);
        }
        headers.push((name.to_owned(), value.trim().to_owned()));
    }
    Ok(Some(ResponseHead {
        status,
        headers,
        len: end + 4,
    }))
}

/// Checks that `head` accepts the WebSocket the request with `key` asked for (§4.1's client
/// checks). A status other than 101 is the caller's to report (it is the server's refusal,
/// with a body to read); here it is [`HandshakeError::NotWebSocket`].
pub fn check_upgrade(head: &ResponseHead, key: &str) -> Result<(), HandshakeError> {
    if head.status != 101
        || !head.lists("upgrade", "websocket")
        || !head.lists("connection", "upgrade")
    {
        return Err(HandshakeError::NotWebSocket);
    }
    if head.header("sec-websocket-accept") != Some(accept_key(key.as_bytes()).as_str()) {
        return Err(HandshakeError::BadAccept);
    }
    if head.header("sec-websocket-extensions").is_some()
        || head.header("sec-websocket-protocol").is_some()
    {
        return Err(HandshakeError::NotOffered);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// FIPS 180's examples, and lengths around the padding's boundaries.
    #[test]
    fn sha1_vectors() {
        assert_eq!(
            hex(&sha1(b"abc")),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
        assert_eq!(hex(&sha1(b"")), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
        assert_eq!(
            hex(&sha1(
                b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
            )),
            "84983e441c3bd26ebaae4aa1f95129e5e54670f1"
        );
        assert_eq!(
            hex(&sha1(&[b'a'; 1_000_000])),
            "34aa973cd4c4daa4f61eeb2bdbad27316534016f"
        );
        assert_eq!(
            hex(&sha1(&[b'a'; 64])),
            "0098ba824b5c16427bd7a1122a5a442a25ec644d"
        );
    }

    /// RFC 6455 §1.3's example.
    #[test]
    fn the_rfc_accept_key() {
        assert_eq!(
            accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
        assert_eq!(client_key(*b"the sample nonce"), "dGhlIHNhbXBsZSBub25jZQ==");
    }

    #[test]
    fn the_request_carries_the_protocol_headers_then_the_callers() {
        let mut out = Vec::new();
        write_client_request(
            &mut out,
            "example.com:3000",
            "/socket.io/?EIO=4&transport=websocket",
            "dGhlIHNhbXBsZSBub25jZQ==",
            &[
                ("Authorization".into(), "Bearer x".into()),
                ("X-Evil".into(), "a\r\nInjected: 1".into()),
                ("Bad Name".into(), "v".into()),
            ],
        );
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: example.com:3000\r\n\
Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nAuthorization: Bearer x\r\n\r\n"
        );
    }

    #[test]
    fn response_heads() {
        let key = "dGhlIHNhbXBsZSBub25jZQ==";
        let ok = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n\x81\x02hi";
        for cut in 0..ok.len() - 4 {
            assert_eq!(parse_response_head(&ok[..cut]), Ok(None), "{cut}");
        }
        let head = parse_response_head(ok).unwrap().unwrap();
        assert_eq!((head.status, head.len), (101, ok.len() - 4));
        assert_eq!(check_upgrade(&head, key), Ok(()));
        assert_eq!(
            check_upgrade(&head, "AAAAAAAAAAAAAAAAAAAAAA=="),
            Err(HandshakeError::BadAccept)
        );

        let refused = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 5\r\n\r\nnope!";
        let head = parse_response_head(refused).unwrap().unwrap();
        assert_eq!((head.status, head.content_length()), (400, Some(5)));
        assert_eq!(check_upgrade(&head, key), Err(HandshakeError::NotWebSocket));

        let no_upgrade = b"HTTP/1.1 101 OK\r\nConnection: upgrade\r\n\r\n";
        let head = parse_response_head(no_upgrade).unwrap().unwrap();
        assert_eq!(check_upgrade(&head, key), Err(HandshakeError::NotWebSocket));

        let extension = b"HTTP/1.1 101 OK\r\nUpgrade: WebSocket\r\nConnection: keep-alive, Upgrade\r\n\
Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n";
        let head = parse_response_head(extension).unwrap().unwrap();
        assert_eq!(check_upgrade(&head, key), Err(HandshakeError::NotOffered));

        assert_eq!(
            parse_response_head(b"SSH-2.0"),
            Err(HandshakeError::Malformed)
        );
        assert_eq!(
            parse_response_head(b"HTTP/1.1 20x OK\r\n\r\n"),
            Err(HandshakeError::Malformed)
        );
        assert_eq!(
            parse_response_head(b"HTTP/1.1 200 OK\r\nno colon\r\n\r\n"),
            Err(HandshakeError::Malformed)
        );
        let mut long = b"HTTP/1.1 200 OK\r\nX: ".to_vec();
        long.resize(MAX_RESPONSE_HEAD, b'a');
        assert_eq!(parse_response_head(&long), Err(HandshakeError::TooLarge));
    }
}
