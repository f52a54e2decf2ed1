use futures_util::SinkExt;
use tokio_tungstenite::tungstenite::Message;

use super::support::{next_text, object_keys, ws};

#[tokio::test]
async fn conformance_app_echoes_auth_in_the_client_key_order() {
    let addr = super::support::start(RT, false).await;
    let mut socket = ws(addr, "/socket.io/?EIO=4&transport=websocket")
        .await
        .unwrap();
    next_text(&mut socket).await; // Engine.IO handshake
    let auth = r#"{"z":1,"a":{"y":"2","b":[3,{"d":4,"c":5}]},"m":null}"#;
    socket
        .send(Message::text(format!("40/custom,{auth}")))
        .await
        .unwrap();
    let reply = next_text(&mut socket).await;
    assert!(reply.starts_with("40/custom,{"), "{reply}");
    assert_eq!(object_keys(&reply["40/custom,".len()..]), ["sid"]);
    assert_eq!(
        next_text(&mut socket).await,
        format!(r#"42/custom,["auth",{auth}]"#)
    );
}
