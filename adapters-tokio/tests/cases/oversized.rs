// Messages far over the limit, on every driver: the WebSocket library refuses them at the
// frame header, and the size guard below it reads and discards the rest.

/// engineio.md §7/§11: a WebSocket message of any size over the limit closes the socket with
/// 1009, and the client reads that close: the server reads and discards what the client is
/// still writing instead of resetting the connection under it. 3 MB and 16 MB against
/// maxPayload 1 MB (past twice the limit, where the library stops reading).
#[tokio::test]
async fn messages_far_over_the_limit_close_with_1009_after_the_client_wrote_them() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    let addr = super::support::start(RT, false).await;
    for size in [3_000_000, 16_000_000] {
        let mut socket = super::support::ws(addr, "/engine.io/?EIO=4&transport=websocket")
            .await
            .unwrap();
        super::support::next_text(&mut socket).await;
        let big = format!("4{}", "x".repeat(size - 1));
        socket
            .send(Message::text(big))
            .await
            .unwrap_or_else(|e| panic!("{size} bytes: the write failed: {e}"));
        let code = loop {
            let m = tokio::time::timeout(std::time::Duration::from_secs(10), socket.next())
                .await
                .expect("no close within 10 s");
            match m {
                Some(Ok(Message::Close(frame))) => break frame.map(|f| u16::from(f.code)),
                Some(Ok(_)) => continue,
                Some(Err(e)) => panic!("{size} bytes: {e}"),
                None => panic!("{size} bytes: the connection ended without a close frame"),
            }
        };
        assert_eq!(code, Some(1009), "{size} bytes");
    }
    // Still serving.
    let (status, _) = super::support::get(addr, "/engine.io/?EIO=4&transport=polling").await;
    assert_eq!(status, 200);
}
