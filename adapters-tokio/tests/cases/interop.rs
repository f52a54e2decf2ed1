use super::support::{run_client, start_interop};

/// Runs the npm `socket.io-client` (major 4, or 2 for EIO3) against our conformance server in
/// `mode` (polling, websocket, upgrade): events, acks, binary both ways, binary acks, two
/// namespaces on one connection, connect_error for an unknown namespace.
async fn run(mode: &str, major: &str) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../interop/client.js");
    client("node", &[script], mode, Some(major)).await;
}

/// Runs the npm `socket.io-client` 4 with socket.io-msgpack-parser against the same server
/// with the msgpack parser, in `mode`: the same scenarios (binary values travel inline).
async fn run_msgpack(mode: &str) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../interop/client.js");
    let addr = start_interop(RT).await;
    run_client("node", &[script], addr, mode, &["4", "msgpack"]).await;
}

/// Runs python-socketio's client (from the venv `scripts/setup` makes) in `mode`: events,
/// acks, binary both ways, binary acks, two namespaces on one connection.
async fn run_python(mode: &str) {
    let python = concat!(env!("CARGO_MANIFEST_DIR"), "/../interop/.venv/bin/python");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../interop/client.py");
    client(python, &[script], mode, None).await;
}

/// Runs the npm `socket.io-client` 4 with a custom parser (`interop/angle-parser.js`) against
/// the same server with our side of it (`conformance::Angle`), in `mode`.
async fn run_custom(mode: &str) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../interop/client.js");
    let addr = start_interop(RT).await;
    run_client("node", &[script], addr, mode, &["4", "angle"]).await;
}

/// Runs python-socketio's client with its msgpack serializer against the server with the
/// msgpack parser, in `mode`.
async fn run_python_msgpack(mode: &str) {
    let python = concat!(env!("CARGO_MANIFEST_DIR"), "/../interop/.venv/bin/python");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../interop/client.py");
    let addr = start_interop(RT).await;
    run_client(python, &[script], addr, mode, &["msgpack"]).await;
}

/// Runs the npm `socket.io-client` (major 4, or 2 over EIO3) with three clients and rooms,
/// and a refused connect.
async fn run_rooms(mode: &str, major: &str) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../interop/rooms.js");
    client("node", &[script], mode, Some(major)).await;
}

/// Runs python-socketio's client with three clients and rooms, and a refused connect.
async fn run_python_rooms(mode: &str) {
    let python = concat!(env!("CARGO_MANIFEST_DIR"), "/../interop/.venv/bin/python");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../interop/rooms.py");
    client(python, &[script], mode, None).await;
}

/// Runs the npm `socket.io-client` 4 through a forced transport close and a recovery.
async fn run_recovery(mode: &str) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../interop/recovery.js");
    client("node", &[script], mode, None).await;
}

/// Runs the npm `socket.io-client` 2 (EIO3) joining namespaces with a query: the middleware
/// and `socket.auth()` see the query as the auth.
async fn run_auth(mode: &str) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../interop/auth.js");
    client("node", &[script], mode, None).await;
}

async fn client(program: &str, args: &[&str], mode: &str, major: Option<&str>) {
    let addr = start_interop(RT).await;
    let extra: Vec<&str> = major.into_iter().collect();
    run_client(program, args, addr, mode, &extra).await;
}

#[tokio::test]
async fn npm_client_4_over_polling() {
    run("polling", "4").await;
}

#[tokio::test]
async fn npm_client_4_over_websocket() {
    run("websocket", "4").await;
}

#[tokio::test]
async fn npm_client_4_with_upgrade() {
    run("upgrade", "4").await;
}

#[tokio::test]
async fn npm_client_4_custom_parser_over_polling() {
    run_custom("polling").await;
}

#[tokio::test]
async fn npm_client_4_custom_parser_over_websocket() {
    run_custom("websocket").await;
}

#[tokio::test]
async fn npm_client_4_custom_parser_with_upgrade() {
    run_custom("upgrade").await;
}

#[tokio::test]
async fn npm_client_4_msgpack_over_polling() {
    run_msgpack("polling").await;
}

#[tokio::test]
async fn npm_client_4_msgpack_over_websocket() {
    run_msgpack("websocket").await;
}

#[tokio::test]
async fn npm_client_4_msgpack_with_upgrade() {
    run_msgpack("upgrade").await;
}

#[tokio::test]
async fn python_client_msgpack_over_polling() {
    run_python_msgpack("polling").await;
}

#[tokio::test]
async fn python_client_msgpack_over_websocket() {
    run_python_msgpack("websocket").await;
}

#[tokio::test]
async fn python_client_msgpack_with_upgrade() {
    run_python_msgpack("upgrade").await;
}

#[tokio::test]
async fn npm_client_2_eio3_over_polling() {
    run("polling", "2").await;
}

#[tokio::test]
async fn npm_client_2_eio3_over_websocket() {
    run("websocket", "2").await;
}

#[tokio::test]
async fn npm_client_2_eio3_with_upgrade() {
    run("upgrade", "2").await;
}

#[tokio::test]
async fn python_socketio_client_over_polling() {
    run_python("polling").await;
}

#[tokio::test]
async fn python_socketio_client_over_websocket() {
    run_python("websocket").await;
}

#[tokio::test]
async fn python_socketio_client_with_upgrade() {
    run_python("upgrade").await;
}

#[tokio::test]
async fn npm_client_4_rooms_and_middleware_over_polling() {
    run_rooms("polling", "4").await;
}

#[tokio::test]
async fn npm_client_2_eio3_rooms_and_middleware_over_polling() {
    run_rooms("polling", "2").await;
}

#[tokio::test]
async fn npm_client_4_rooms_and_middleware_over_websocket() {
    run_rooms("websocket", "4").await;
}

#[tokio::test]
async fn npm_client_2_eio3_rooms_and_middleware_over_websocket() {
    run_rooms("websocket", "2").await;
}

#[tokio::test]
async fn npm_client_4_rooms_and_middleware_with_upgrade() {
    run_rooms("upgrade", "4").await;
}

#[tokio::test]
async fn npm_client_2_eio3_rooms_and_middleware_with_upgrade() {
    run_rooms("upgrade", "2").await;
}

#[tokio::test]
async fn npm_client_4_recovers_after_a_forced_transport_close_over_polling() {
    run_recovery("polling").await;
}

#[tokio::test]
async fn npm_client_4_recovers_after_a_forced_transport_close_over_websocket() {
    run_recovery("websocket").await;
}

#[tokio::test]
async fn npm_client_4_recovers_after_a_forced_transport_close_with_upgrade() {
    run_recovery("upgrade").await;
}

#[tokio::test]
async fn python_socketio_client_rooms_and_middleware_over_polling() {
    run_python_rooms("polling").await;
}

#[tokio::test]
async fn python_socketio_client_rooms_and_middleware_over_websocket() {
    run_python_rooms("websocket").await;
}

#[tokio::test]
async fn python_socketio_client_rooms_and_middleware_with_upgrade() {
    run_python_rooms("upgrade").await;
}

#[tokio::test]
async fn npm_client_2_eio3_namespace_query_is_auth_over_polling() {
    run_auth("polling").await;
}

#[tokio::test]
async fn npm_client_2_eio3_namespace_query_is_auth_over_websocket() {
    run_auth("websocket").await;
}

#[tokio::test]
async fn npm_client_2_eio3_namespace_query_is_auth_with_upgrade() {
    run_auth("upgrade").await;
}
