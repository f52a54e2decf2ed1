// Rooms, broadcast and connect middleware with the real npm socket.io-client (4, or 2 over
// EIO3), against our server's `/interop/` path.
// Usage: node rooms.js <url> <polling|websocket|upgrade> [4|2]
"use strict";

const { transportsOf, fail, once } = require("./check");
const [url, mode, major = "4"] = process.argv.slice(2);
const io = major === "2" ? require("socket.io-client-v2") : require("socket.io-client");
const transports = transportsOf(mode);

// socket.io-client 2 has no auth payload: its credentials go in the handshake's query.
function client(auth) {
  const opts = { path: "/interop/", transports, forceNew: true, reconnection: false };
  if (major === "2") {
    opts.query = auth;
    opts.upgrade = mode === "upgrade";
  } else {
    opts.auth = auth;
  }
  return io(url, opts);
}

// emitWithAck, which socket.io-client 2 does not have.
function ask(socket, ...args) {
  return new Promise((resolve) => socket.emit(...args, resolve));
}

async function main() {
  const [a, b, c] = [client({}), client({}), client({})];
  await Promise.all([a, b, c].map((s) => once(s, "connect")));
  const joined = await Promise.all([ask(a, "join", "r1"), ask(b, "join", "r1"), ask(c, "join", "r2")]);
  if (JSON.stringify(joined) !== '["r1","r1","r2"]') fail("join acks " + JSON.stringify(joined));
  const got = { a: [], b: [], c: [] };
  a.on("news", (t) => got.a.push(t));
  b.on("news", (t) => got.b.push(t));
  c.on("news", (t) => got.c.push(t));
  const sent = await ask(a, "to-room", "r1", "hello r1");
  if (sent !== "sent") fail("to-room ack " + sent);
  await new Promise((r) => setTimeout(r, 300));
  if (JSON.stringify(got) !== '{"a":[],"b":["hello r1"],"c":[]}') fail("deliveries " + JSON.stringify(got));
  console.log("ok room broadcast reaches members except the sender, and no one else");

  a.on("question", (n, cb) => cb(n * 2));
  const answer = await ask(a, "ask-me", 21);
  if (answer !== 42) fail("server ack answered by the client " + JSON.stringify(answer));
  console.log("ok server emit with ack, answered by the client");

  const bad = client({ token: "bad" });
  if (major === "2") {
    // socket.io-client 2 reports a refused CONNECT as an `error` event with the ERROR
    // packet's payload, which a current server makes `err.data || err.message`.
    const [err] = await once(bad, "error");
    if (JSON.stringify(err) !== '{"content":"retry later"}') fail("error " + JSON.stringify(err));
  } else {
    const [err] = await once(bad, "connect_error");
    if (err.message !== "not authorized" || JSON.stringify(err.data) !== '{"content":"retry later"}') {
      fail("connect_error " + err.message + " " + JSON.stringify(err.data));
    }
  }
  console.log("ok middleware connect_error with data");
  for (const s of [a, b, c, bad]) s.disconnect();
  console.log("all ok");
  process.exit(0);
}

main().catch((e) => fail(e.stack || String(e)));
