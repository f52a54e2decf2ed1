//! Graceful shutdown: every session closes with the right packets, and the servers are freed
//! once their handles are dropped.
//!
//! Every case runs on both runtimes: once against the tokio adapter, once against smol; the
//! last test here drops a tokio runtime, which smol's global executor never is.

mod support;

mod tokio_runtime {
    const RT: super::support::Rt = super::support::Rt::Tokio;
    include!("cases/shutdown.rs");
}

mod smol_runtime {
    const RT: super::support::Rt = super::support::Rt::Smol;
    include!("cases/shutdown.rs");
}

/// A runtime that is dropped drops the sessions' tasks before their sessions end: the
/// Socket.IO server is freed all the same once its handles are gone (tokio only: smol's
/// global executor is never dropped).
#[test]
fn socketio_server_is_freed_when_the_runtime_drops_its_sessions() {
    use futures_util::SinkExt;
    use tokio_tungstenite::tungstenite::Message;

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (weak_io, weak_engine, client) = runtime.block_on(async {
        let io = socketio_tokio::SocketIoServer::builder().build(support::Rt::Tokio.runtime());
        io.namespace("/", |socket: socketio_tokio::SioSocket| async move {
            socket.join("r");
        });
        let weak = (io.downgrade(), io.engine().downgrade());
        let (addr, stop) =
            support::start_stoppable(support::Rt::Tokio, vec![io.engine().clone()]).await;
        let mut socket = support::ws(addr, "/socket.io/?EIO=4&transport=websocket")
            .await
            .unwrap();
        support::next_text(&mut socket).await;
        socket.send(Message::text("40")).await.unwrap();
        assert!(support::next_text(&mut socket)
            .await
            .starts_with("40{\"sid\":"));
        // Everything but the session's task (and the client, still connected) goes now.
        drop((io, stop));
        (weak.0, weak.1, socket)
    });
    assert!(
        weak_io.upgrade().is_some(),
        "the open session keeps the server"
    );
    drop(runtime);
    drop(client);
    assert!(weak_engine.upgrade().is_none());
    assert!(weak_io.upgrade().is_none());
}
