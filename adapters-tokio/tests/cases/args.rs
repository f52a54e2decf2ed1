use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use socketio_tokio::{
    AckSender, Args, Binary, EngineIoServer, Runtime, SioSocket, SocketIoServer,
};

use super::support::{run_client, start_with};

/// What the server's handlers read, in order, for the test to check after the client's script.
type Log = Arc<Mutex<Vec<String>>>;

fn push(log: &Log, entry: String) {
    log.lock().unwrap().push(entry);
}

/// `socket.on(event, handler)` with the log handed to each call.
fn on<T, F, Fut>(socket: &SioSocket, log: &Log, event: &str, handler: F)
where
    T: serde::de::DeserializeOwned + 'static,
    F: Fn(SioSocket, T, Option<AckSender>, Log) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let log = log.clone();
    socket.on(event, move |socket, args, ack| handler(socket, args, ack, log.clone()));
}

fn app(runtime: Arc<dyn Runtime>, log: Log) -> Vec<EngineIoServer> {
    let io = SocketIoServer::builder()
        .path("/args/")
        .ack_timeout(Duration::from_secs(5))
        .build(runtime);
    io.namespace("/", move |socket: SioSocket| {
        let log = log.clone();
        async move {
            // A non-tuple type reads the first argument: a `Vec` is one array argument.
            on(&socket, &log, "scores", |_, scores: Vec<u32>, ack, l| async move {
                push(&l, format!("scores {scores:?}"));
                if let Some(ack) = ack {
                    let _ = ack.send(&scores).await; // one argument, an array
                }
            });
            // Every argument, however many; echoed as the same list.
            on(&socket, &log, "count", |_, Args(all): Args, ack, l| async move {
                push(&l, format!("count {} {}", all.len(), Value::Array(all.clone())));
                if let Some(ack) = ack {
                    let _ = ack.send(&Args(all)).await;
                }
            });
            on(&socket, &log, "maybe", |_, n: Option<u32>, ack, l| async move {
                push(&l, format!("maybe {n:?}"));
                if let Some(ack) = ack {
                    let _ = ack.send(&n).await; // one argument, `null` for `None`
                }
            });
            on(&socket, &log, "nothing", |_, (): (), ack, l| async move {
                push(&l, "nothing".to_owned());
                if let Some(ack) = ack {
                    let _ = ack.send(&()).await; // no argument
                }
            });
            on(&socket, &log, "several", |_, (a, b, c): (u32, String, Vec<u32>), ack, l| async move {
                push(&l, format!("several {a} {b:?} {c:?}"));
                if let Some(ack) = ack {
                    let _ = ack.send(&(c, b, a)).await; // three arguments
                }
            });
            on(&socket, &log, "files", |_, Args(files): Args<Binary>, ack, l| async move {
                let bytes: Vec<&[u8]> = files.iter().map(|b| &b[..]).collect();
                push(&l, format!("files {bytes:?}"));
                if let Some(ack) = ack {
                    let _ = ack.send(&files.into_iter().rev().collect::<Args<Binary>>()).await;
                }
            });
            // Emits `shape` with the value `kind` names, then acks with no argument.
            on(&socket, &log, "send-me", |socket, kind: String, ack, l| async move {
                push(&l, format!("send-me {kind}"));
                let sent = match kind.as_str() {
                    "vec" => socket.emit("shape", &vec![1, 2, 3]).await,
                    "slice" => socket.emit("shape", &[1, 2, 3][..]).await,
                    "value-array" => socket.emit("shape", &json!([1, 2, 3])).await,
                    "none" => socket.emit("shape", &None::<u32>).await,
                    "value-null" => socket.emit("shape", &Value::Null).await,
                    "unit" => socket.emit("shape", &()).await,
                    "empty-args" => socket.emit("shape", &Args::<u8>::new()).await,
                    "tuple" => socket.emit("shape", &(1, "two", vec![3])).await,
                    "args" => {
                        let args = Args(vec![json!(1), json!("two"), json!([3])]);
                        socket.emit("shape", &args).await
                    }
                    // serde's tuple form: several arguments.
                    "fixed-array" => socket.emit("shape", &[1, 2, 3]).await,
                    other => panic!("no kind {other}"),
                };
                sent.unwrap();
                if let Some(ack) = ack {
                    let _ = ack.send(&()).await;
                }
            });
            // Emits `question` asking for an ack, reads the client's answer with the types
            // `kind` calls for, then acks with no argument.
            on(&socket, &log, "ask-me", |socket, kind: String, ack, l| async move {
                let answer = socket
                    .emit_with_ack("question", &(kind.as_str(),))
                    .await
                    .unwrap()
                    .expect("the client answers");
                let n = answer.args::<Args>().unwrap().len();
                let read = match kind.as_str() {
                    "array" => format!("{:?}", answer.args::<Vec<u32>>().unwrap()),
                    "null" => format!("{:?}", answer.args::<Option<u32>>().unwrap()),
                    "nothing" => format!(
                        "{:?} {:?}",
                        answer.args::<()>().unwrap(),
                        answer.args::<Option<u32>>().unwrap()
                    ),
                    "several" => {
                        format!("{:?}", answer.args::<(u32, String, Vec<u32>)>().unwrap())
                    }
                    other => panic!("no kind {other}"),
                };
                push(&l, format!("answer {kind}: {read} of {n}"));
                if let Some(ack) = ack {
                    let _ = ack.send(&()).await;
                }
            });
        }
    });
    vec![io.engine().clone()]
}

/// Runs `interop/args.js` with `scenario` against the app; returns the handlers' log.
async fn run(scenario: &str) -> Vec<String> {
    let log: Log = Arc::default();
    let server_log = log.clone();
    let addr = start_with(RT, move |runtime| app(runtime, server_log)).await;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../interop/args.js");
    run_client("node", &[script], addr, "websocket", &[scenario]).await;
    // Each entry is written before its ack, and the client waited for every ack.
    let seen = log.lock().unwrap().clone();
    seen
}

#[tokio::test]
async fn js_array_argument_is_one_argument() {
    assert_eq!(
        run("js-array").await,
        ["scores [1, 2, 3]", "scores []", "count 1 [[1,2,3]]"]
    );
}

#[tokio::test]
async fn js_null_argument_is_one_null_argument() {
    assert_eq!(
        run("js-null").await,
        ["maybe None", "maybe Some(5)", "count 1 [null]"]
    );
}

#[tokio::test]
async fn js_no_argument_reads_as_unit_none_or_empty_args() {
    assert_eq!(
        run("js-none").await,
        ["nothing", "nothing", "maybe None", "count 0 []"]
    );
}

#[tokio::test]
async fn js_several_arguments_read_as_tuple_or_args() {
    assert_eq!(
        run("js-several").await,
        [
            r#"several 1 "two" [3]"#,
            r#"count 3 [1,"two",[3]]"#,
            "scores [7]"
        ]
    );
}

#[tokio::test]
async fn js_binary_arguments_read_as_args_of_binary() {
    assert_eq!(run("js-binary").await, ["files [[1, 2], [3]]"]);
}

#[tokio::test]
async fn server_vec_slice_and_value_array_are_one_js_argument() {
    assert_eq!(
        run("server-array").await,
        [
            "send-me vec",
            "send-me slice",
            "send-me value-array",
            "answer array: [4, 5] of 1"
        ]
    );
}

#[tokio::test]
async fn server_none_and_null_are_one_js_null_argument() {
    assert_eq!(
        run("server-null").await,
        ["send-me none", "send-me value-null", "answer null: None of 1"]
    );
}

#[tokio::test]
async fn server_unit_and_empty_args_are_no_js_argument() {
    assert_eq!(
        run("server-nothing").await,
        ["send-me unit", "send-me empty-args", "answer nothing: () None of 0"]
    );
}

#[tokio::test]
async fn server_tuple_args_and_fixed_array_are_several_js_arguments() {
    assert_eq!(
        run("server-several").await,
        [
            "send-me tuple",
            "send-me args",
            "send-me fixed-array",
            r#"answer several: (1, "two", [3]) of 3"#
        ]
    );
}
