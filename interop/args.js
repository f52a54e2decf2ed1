// Argument shapes between the real npm socket.io-client 4 and our server, both ways: an array
// is one argument, a lone null is one argument, no argument is none, several are several.
// Every check looks at the arguments a JavaScript function was called with (`arguments`).
// The server's handlers log what their Rust types read; the Rust test checks that log.
// Usage: node args.js <url> <polling|websocket|upgrade> <scenario>
"use strict";

const { transportsOf, fail, expect } = require("./check");
const io = require("socket.io-client");
const [url, mode, scenario] = process.argv.slice(2);
const transports = transportsOf(mode);

// Emits `event` with exactly `args` and an ack callback; resolves to the callback's
// `arguments` as an array, so its length is what the server sent.
function call(socket, event, ...args) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("no ack for " + event)), 5000);
    socket.emit(event, ...args, function () {
      clearTimeout(timer);
      resolve(Array.from(arguments));
    });
  });
}

// What the server emits as `shape`: every call's `arguments.length` and arguments.
function recordShapes(socket) {
  const got = [];
  socket.on("shape", function () {
    got.push({ length: arguments.length, args: Array.from(arguments) });
  });
  return got;
}

// Asks the server to emit `shape` the way `kind` names; the ack comes after the event (same
// connection, in order).
async function shape(socket, got, kind, want) {
  const before = got.length;
  expect(`send-me ${kind} acked with no argument`, await call(socket, "send-me", kind), []);
  expect(`server emit of ${kind}`, got.slice(before), [want]);
}

// The server's `question` (emitted with an ack request): answered as `kind` says.
function answerQuestions(socket) {
  socket.on("question", function (kind, cb) {
    if (arguments.length !== 2) fail(`question came with ${arguments.length} arguments`);
    switch (kind) {
      case "array": return cb([4, 5]);
      case "null": return cb(null);
      case "nothing": return cb();
      case "several": return cb(1, "two", [3]);
      default: fail("unknown question " + kind);
    }
  });
}

const scenarios = {
  async "js-array"(s) {
    expect("Vec<u32> handler acks the Vec: one array", await call(s, "scores", [1, 2, 3]), [[1, 2, 3]]);
    expect("an empty array is one argument", await call(s, "scores", []), [[]]);
    expect("Args handler sees one argument, echoed", await call(s, "count", [1, 2, 3]), [[1, 2, 3]]);
  },
  async "js-null"(s) {
    expect("Option<u32> handler gets None, acks one null", await call(s, "maybe", null), [null]);
    expect("Option<u32> handler gets Some", await call(s, "maybe", 5), [5]);
    expect("Args handler sees one null", await call(s, "count", null), [null]);
  },
  async "js-none"(s) {
    expect("() handler acks with no argument", await call(s, "nothing"), []);
    expect("() handler ignores arguments", await call(s, "nothing", 1, [2]), []);
    expect("Option<u32> handler without an argument", await call(s, "maybe"), [null]);
    expect("Args handler sees none", await call(s, "count"), []);
  },
  async "js-several"(s) {
    expect("tuple handler acks a tuple: several", await call(s, "several", 1, "two", [3]), [[3], "two", 1]);
    expect("Args handler sees three, echoed", await call(s, "count", 1, "two", [3]), [1, "two", [3]]);
    expect("a first-argument handler reads the first of several", await call(s, "scores", [7], [8]), [[7]]);
  },
  async "js-binary"(s) {
    const acked = await call(s, "files", Buffer.from([1, 2]), Buffer.from([3]));
    expect("Args<Binary> acked reversed, one Buffer each", acked.map((b) => [Buffer.isBuffer(b), Array.from(b)]), [
      [true, [3]],
      [true, [1, 2]],
    ]);
  },
  async "server-array"(s) {
    const got = recordShapes(s);
    for (const kind of ["vec", "slice", "value-array"]) await shape(s, got, kind, { length: 1, args: [[1, 2, 3]] });
    expect("ask-me array acked with no argument", await call(s, "ask-me", "array"), []);
  },
  async "server-null"(s) {
    const got = recordShapes(s);
    for (const kind of ["none", "value-null"]) await shape(s, got, kind, { length: 1, args: [null] });
    expect("ask-me null acked with no argument", await call(s, "ask-me", "null"), []);
  },
  async "server-nothing"(s) {
    const got = recordShapes(s);
    await shape(s, got, "unit", { length: 0, args: [] });
    await shape(s, got, "empty-args", { length: 0, args: [] });
    expect("ask-me nothing acked with no argument", await call(s, "ask-me", "nothing"), []);
  },
  async "server-several"(s) {
    const got = recordShapes(s);
    for (const kind of ["tuple", "args"]) await shape(s, got, kind, { length: 3, args: [1, "two", [3]] });
    await shape(s, got, "fixed-array", { length: 3, args: [1, 2, 3] });
    expect("ask-me several acked with no argument", await call(s, "ask-me", "several"), []);
  },
};

async function main() {
  const run = scenarios[scenario];
  if (!run) fail("unknown scenario " + scenario);
  const s = io(url, { path: "/args/", transports, forceNew: true, reconnection: false });
  answerQuestions(s);
  await new Promise((resolve, reject) => {
    s.once("connect", resolve);
    s.once("connect_error", reject);
  });
  await run(s);
  s.close();
  console.log("all ok");
}

setTimeout(() => fail("did not finish within 30 s"), 30000).unref();
main().catch((e) => fail(e.stack || String(e)));
