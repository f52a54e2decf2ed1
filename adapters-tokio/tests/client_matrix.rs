//! The client conformance matrix: our client (through `sio --json`) against real servers.
//!
//! Every case runs on both client runtimes: once with the tokio adapter, once with smol.

mod support;

mod tokio_client {
    const RT: super::support::Rt = super::support::Rt::Tokio;
    include!("cases/client_matrix.rs");
}

mod smol_client {
    const RT: super::support::Rt = super::support::Rt::Smol;
    include!("cases/client_matrix.rs");
}

/// The blocking client of `socketio-embedded` (WebSocket, no async runtime) against the npm
/// socket.io 4.8 server (both generations) and ours.
mod embedded_client {
    use std::time::Duration;

    use serde_json::json;
    use socketio_embedded::client::{Client, ClientOptions, Event};
    use socketio_tokio::socketio_proto::client::ClientDisconnectReason;
    use socketio_tokio::socketio_proto::SocketIoVersion;

    use super::support::client::{server, Peer, ServerOptions};

    fn next(client: &Client) -> Event {
        client
            .next_event(Duration::from_secs(10))
            .expect("an event within 10 s")
    }

    fn session(port: u16, version: SocketIoVersion) {
        let mut options = ClientOptions::default();
        options.config.version = version;
        options.auth = Some(json!({"token": "e"}));
        let client = Client::connect(&format!("127.0.0.1:{port}"), options).unwrap();
        client.join("/", None);
        client.join("/a", Some(json!({})));
        let mut connected = Vec::new();
        let mut welcomed = Vec::new();
        while connected.len() < 2 || welcomed.len() < 2 {
            match next(&client) {
                Event::Connected { nsp, .. } => connected.push(nsp.as_str().to_owned()),
                Event::Message { event, packet, .. } if event == "welcome" => {
                    let w: serde_json::Value = packet.args().unwrap();
                    welcomed.push(w["nsp"].as_str().unwrap().to_owned());
                    if w["nsp"] == "/" {
                        let token = if version == SocketIoVersion::V5 {
                            &w["auth"]["token"]
                        } else {
                            &w["query"]["token"]
                        };
                        assert_eq!(token, "e", "{w}");
                    }
                }
                other => panic!("{other:?}"),
            }
        }
        connected.sort();
        welcomed.sort();
        assert_eq!(connected, ["/", "/a"]);
        assert_eq!(welcomed, ["/", "/a"]);
        let answer = client
            .emit_with_ack("/", "echo", &("x", 1), Duration::from_secs(5))
            .unwrap();
        assert_eq!(answer.args::<(String, u32)>().unwrap(), ("x".to_owned(), 1));
        client.emit("/a", "ask", &("q",)).unwrap();
        let (nsp, id) = match next(&client) {
            Event::Message {
                nsp, event, ack, ..
            } if event == "question" => (nsp, ack.expect("an ack request")),
            other => panic!("{other:?}"),
        };
        assert_eq!(nsp.as_str(), "/a");
        client.ack(&nsp, id, &("yes",)).unwrap();
        match next(&client) {
            Event::Message { event, packet, .. } if event == "answer" => {
                assert_eq!(packet.args::<(String,)>().unwrap().0, "yes");
            }
            other => panic!("{other:?}"),
        }
        client.emit("/", "kick", &()).unwrap();
        match next(&client) {
            Event::Disconnected { nsp, reason } => {
                assert_eq!(nsp.as_str(), "/");
                assert_eq!(reason, ClientDisconnectReason::ServerDisconnect);
            }
            other => panic!("{other:?}"),
        }
        client.close();
        // The namespace still joined ends with the client's close, then nothing more.
        match client.next_event(Duration::from_secs(1)) {
            Some(Event::Disconnected { nsp, reason }) => {
                assert_eq!(nsp.as_str(), "/a");
                assert_eq!(reason, ClientDisconnectReason::ClientDisconnect);
            }
            other => panic!("{other:?}"),
        }
        assert!(client.next_event(Duration::from_millis(100)).is_none());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn blocking_client_over_websocket() {
        for (peer, version) in [
            (Peer::Node4, SocketIoVersion::V5),
            (Peer::Node4, SocketIoVersion::V4),
            (Peer::Ours, SocketIoVersion::V5),
            (Peer::Ours, SocketIoVersion::V4),
        ] {
            let s = server(peer, ServerOptions::default()).await;
            let port = s.port;
            tokio::task::spawn_blocking(move || session(port, version))
                .await
                .unwrap_or_else(|e| panic!("{peer:?} {version:?}: {e}"));
        }
    }
}
