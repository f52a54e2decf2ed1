use std::time::Duration;

use super::support::{get, start_with};

#[tokio::test]
async fn builder_settings_reach_the_wire() {
    let addr = start_with(RT, |runtime| {
        let io = socketio_tokio::SocketIoServer::builder()
            .path("/chat/")
            .ping_interval(Duration::from_millis(1500))
            .ping_timeout(Duration::from_millis(700))
            .max_payload(5000)
            .transports(true, false)
            .allow_eio3(true)
            .connect_timeout(Duration::from_secs(3))
            .ack_timeout(Duration::from_secs(2))
            .build(runtime);
        io.namespace("/", |_| async {});
        vec![io.engine().clone()]
    })
    .await;
    let (status, body) = get(addr, "/chat/?EIO=4&transport=polling").await;
    assert_eq!(status, 200);
    let v: serde_json::Value = serde_json::from_str(&body[1..]).unwrap();
    assert_eq!(v["pingInterval"], 1500);
    assert_eq!(v["pingTimeout"], 700);
    assert_eq!(v["maxPayload"], 5000);
    // WebSocket disabled: no upgrade offered, WebSocket refused.
    assert_eq!(v["upgrades"], serde_json::json!([]));
    assert_eq!(get(addr, "/chat/?EIO=4&transport=websocket").await.0, 400);
    // EIO3 allowed.
    assert_eq!(get(addr, "/chat/?EIO=3&transport=polling").await.0, 200);
    // Other paths are not served.
    assert_eq!(get(addr, "/socket.io/?EIO=4&transport=polling").await.0, 404);
}
