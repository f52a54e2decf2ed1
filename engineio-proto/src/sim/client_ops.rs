//! Arbitrary server behaviour against a [`Client`]: responses with any status and body, frames,
//! failures, time jumps, sends and closes. The driver behind the `engineio_client` fuzz target
//! and its proptest twin.
//!
//! Invariants: nothing panics; at most one GET and one POST are in flight; the client never
//! sends on a WebSocket it was not told is open; once the server goes silent the client closes
//! within its connect or heartbeat deadline.

use std::time::{Duration, Instant};

use crate::client::{Client, ClientConfig, ClientTransmit};
use crate::http::{HttpResponse, Method, RequestId, TransportKind};
use crate::{Bytes, EngineIoVersion, WsFrame};

/// One thing the (hostile) server side does.
#[derive(Debug, Clone)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum ClientOp {
    /// Answers the oldest (or newest) request in flight.
    Respond {
        /// Newest instead of oldest.
        newest: bool,
        /// The status code (200 most of the time in practice).
        status: u16,
        /// `Content-Type: application/octet-stream`.
        binary: bool,
        /// Build a plausible open packet instead of `body`.
        open: bool,
        /// The body.
        body: Vec<u8>,
    },
    /// Fails the oldest request in flight.
    Fail,
    /// The WebSocket opens.
    WsOpen,
    /// A frame arrives on the WebSocket.
    Frame {
        /// Text (lossily made UTF-8) or binary.
        text: bool,
        /// The data.
        data: Vec<u8>,
    },
    /// The WebSocket closes.
    WsClosed,
    /// Time moves.
    Advance {
        /// Milliseconds.
        ms: u16,
    },
    /// The application sends.
    Send {
        /// Binary or text.
        binary: bool,
        /// Length.
        len: u16,
    },
    /// The application closes.
    Close,
}

/// Runs `ops` against a client with `version` and initial `transport`.
pub fn run(
    start: Instant,
    version: EngineIoVersion,
    websocket: bool,
    ops: &[ClientOp],
) -> Result<(), String> {
    let config = ClientConfig {
        version,
        transport: if websocket {
            TransportKind::WebSocket
        } else {
            TransportKind::Polling
        },
        max_buffered_packets: 32,
        max_payload: 4096,
        ..ClientConfig::default()
    };
    let mut now = start;
    let mut client = Client::new(now, config);
    let mut in_flight: Vec<(RequestId, Method)> = Vec::new();
    let mut ws_requested = false;
    let mut ws_open = false;
    for op in ops {
        match op {
            ClientOp::Respond {
                newest,
                status,
                binary,
                open,
                body,
            } => {
                if in_flight.is_empty() {
                    continue;
                }
                let (id, _) = if *newest {
                    in_flight.pop().expect("not empty")
                } else {
                    in_flight.remove(0)
                };
                let body: Bytes = if *open {
                    let open = format!(
                        r#"0{{"sid":"s","upgrades":["websocket"],"pingInterval":{},"pingTimeout":{},"maxPayload":{}}}"#,
                        body.first().copied().unwrap_or(1),
                        body.get(1).copied().unwrap_or(1),
                        body.get(2).copied().unwrap_or(1),
                    );
                    match version {
                        EngineIoVersion::V4 => open.into(),
                        EngineIoVersion::V3 => format!("{}:{open}", open.len()).into(),
                    }
                } else {
                    Bytes::from(body.clone())
                };
                let mut response = HttpResponse::new(*status).with_body(body);
                if *binary {
                    response = response.with_header("content-type", "application/octet-stream");
                }
                client.handle_response(now, id, response);
            }
            ClientOp::Fail => {
                if !in_flight.is_empty() {
                    let (id, _) = in_flight.remove(0);
                    client.handle_request_failed(now, id);
                }
            }
            ClientOp::WsOpen => {
                if ws_requested && !ws_open {
                    ws_open = true;
                    client.handle_ws_open(now);
                }
            }
            ClientOp::Frame { text, data } => {
                if ws_open {
                    let frame = if *text {
                        WsFrame::Text(String::from_utf8_lossy(data).into_owned().into())
                    } else {
                        WsFrame::Binary(Bytes::from(data.clone()))
                    };
                    client.handle_ws_frame(now, frame);
                }
            }
            ClientOp::WsClosed => {
                if ws_requested {
                    ws_requested = false;
                    ws_open = false;
                    client.handle_ws_closed(now);
                }
            }
            ClientOp::Advance { ms } => {
                now += Duration::from_millis(u64::from(*ms));
                if client.poll_timeout().is_some_and(|t| t <= now) {
                    client.handle_timeout(now);
                }
            }
            ClientOp::Send { binary, len } => {
                let len = usize::from(*len);
                let _ = if *binary {
                    client.send(vec![1u8; len])
                } else {
                    client.send("y".repeat(len))
                };
            }
            ClientOp::Close => client.close(now),
        }
        drain(&mut client, &mut in_flight, &mut ws_requested, &mut ws_open)?;
    }
    // The server goes silent: the client must give up within its deadlines.
    for _ in 0..8 {
        now += Duration::from_secs(30);
        client.handle_timeout(now);
        drain(&mut client, &mut in_flight, &mut ws_requested, &mut ws_open)?;
    }
    if !client.is_closed() {
        return Err("client still open after the server went silent".to_owned());
    }
    Ok(())
}

fn drain(
    client: &mut Client,
    in_flight: &mut Vec<(RequestId, Method)>,
    ws_requested: &mut bool,
    ws_open: &mut bool,
) -> Result<(), String> {
    while let Some(t) = client.poll_transmit() {
        match t {
            ClientTransmit::Request { id, request } => {
                if in_flight.iter().any(|(_, m)| *m == request.method) {
                    return Err(format!("a second {:?} in flight", request.method));
                }
                in_flight.push((id, request.method));
            }
            ClientTransmit::OpenWebSocket { .. } => {
                if *ws_requested {
                    return Err("a second WebSocket".to_owned());
                }
                *ws_requested = true;
            }
            ClientTransmit::WsFrame(_) => {
                if !*ws_open {
                    return Err("a frame on a WebSocket that is not open".to_owned());
                }
            }
            ClientTransmit::CloseWebSocket => {
                *ws_requested = false;
                *ws_open = false;
            }
        }
    }
    while client.poll_event().is_some() {}
    if client.is_closed() {
        // The runtime drops the connections of a closed client.
        in_flight.clear();
    }
    Ok(())
}
