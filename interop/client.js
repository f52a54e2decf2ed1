// Runs the interop scenarios of the real npm socket.io-client against a server.
// Usage: node client.js <url> <polling|websocket|upgrade> <4|2> [msgpack|angle]
// With `msgpack`, socket.io-client 4 uses socket.io-msgpack-parser against the server at
// /socket.io-msgpack/; with `angle`, the custom parser of angle-parser.js against
// /socket.io-angle/.
// Prints one line per scenario and "all ok" at the end; exits non-zero on the first failure.
"use strict";

const [url, mode, major, parser] = process.argv.slice(2);
const io = major === "2" ? require("socket.io-client-v2") : require("socket.io-client");

const transports = {
  polling: ["polling"],
  websocket: ["websocket"],
  upgrade: ["polling", "websocket"],
}[mode];

function fail(msg) {
  console.log("FAIL " + msg);
  process.exit(1);
}

function connect(nsp, extra = {}) {
  const opts = { transports, forceNew: true, reconnection: false, timeout: 5000, ...extra };
  if (parser === "msgpack") {
    opts.path = "/socket.io-msgpack/";
    opts.parser = require("socket.io-msgpack-parser");
  } else if (parser === "angle") {
    opts.path = "/socket.io-angle/";
    opts.parser = require("./angle-parser.js");
  }
  if (major === "2") {
    // socket.io-client 2.x has no auth; the upgrade option names the same choice.
    opts.upgrade = mode === "upgrade";
  }
  return io(url + nsp, opts);
}

function once(socket, event) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("timeout waiting for " + event)), 5000);
    socket.once(event, (...args) => {
      clearTimeout(timer);
      resolve(args);
    });
  });
}

function same(a, b) {
  return JSON.stringify(a) === JSON.stringify(b);
}

function bytes(buf) {
  return Array.from(new Uint8Array(buf.buffer ? buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) : buf));
}

async function main() {
  const socket = connect("/", major === "2" ? {} : { auth: { token: "abc" } });
  const [auth] = await once(socket, "auth");
  if (major !== "2" && !same(auth, { token: "abc" })) fail("auth payload " + JSON.stringify(auth));
  console.log("ok connect / with auth");

  if (mode === "upgrade") {
    // Wait for the upgrade to WebSocket before the rest.
    const engine = socket.io.engine;
    if (engine.transport.name !== "websocket") await once(engine, "upgrade");
    console.log("ok upgraded to " + engine.transport.name);
  }

  socket.emit("message", 1, "2", { 3: [true] }, "é");
  const back = await once(socket, "message-back");
  if (!same(back, [1, "2", { 3: [true] }, "é"])) fail("message-back " + JSON.stringify(back));
  console.log("ok event echoed");

  const acked = await new Promise((resolve) => socket.emit("message-with-ack", 4, { five: 6 }, (...args) => resolve(args)));
  if (!same(acked, [4, { five: 6 }])) fail("ack " + JSON.stringify(acked));
  console.log("ok ack");

  const payload = Buffer.from([1, 2, 3, 250]);
  socket.emit("message", payload, { nested: [Buffer.from([4, 5])] });
  const [b1, obj] = await once(socket, "message-back");
  if (!same(bytes(b1), [1, 2, 3, 250]) || !same(bytes(obj.nested[0]), [4, 5])) fail("binary echo");
  console.log("ok binary event both ways");

  const binAck = await new Promise((resolve) => socket.emit("message-with-ack", Buffer.from([9, 8]), (...args) => resolve(args)));
  if (!same(bytes(binAck[0]), [9, 8])) fail("binary ack");
  console.log("ok binary ack");

  // Several namespaces on one connection (the Manager multiplexes). `socket()` connects by
  // itself (autoConnect): calling connect() as well would send a second CONNECT.
  const custom = socket.io.socket("/custom", major === "2" ? undefined : { auth: { n: 1 } });
  const [customAuth] = await once(custom, "auth");
  if (major !== "2" && !same(customAuth, { n: 1 })) fail("custom auth " + JSON.stringify(customAuth));
  console.log("ok second namespace on the same connection");

  // An unknown namespace is refused with connect_error.
  const random = socket.io.socket("/random");
  if (major === "2") {
    const [err] = await once(random, "error");
    console.log("ok unknown namespace refused: " + JSON.stringify(err));
  } else {
    const [err] = await once(random, "connect_error");
    if (err.message !== "Invalid namespace") fail("connect_error " + err.message);
    console.log("ok unknown namespace refused: " + err.message);
  }

  socket.disconnect();
  custom.disconnect();
  console.log("all ok");
  process.exit(0);
}

main().catch((e) => fail(e.stack || String(e)));
