// The server's handler API seen from the real npm socket.io-client 4: typed handlers, the
// catch-all, per-socket state, middleware reading the handshake, broadcasts with ack
// collection, fetching/moving/disconnecting the sockets of a room, disconnect handlers.
// Usage: node api.js <url> <polling|websocket|upgrade>
"use strict";

const { transportsOf, fail, expect, once } = require("./check");
const io = require("socket.io-client");
const [url, mode] = process.argv.slice(2);
const transports = transportsOf(mode);

function client(team) {
  const query = team ? { team } : {};
  return io(url, { path: "/api/", transports, forceNew: true, reconnection: false, query });
}

async function main() {
  const nobody = client(null);
  const [err] = await once(nobody, "connect_error");
  expect("middleware reads the handshake query", [err.message, err.data], ["no team", { hint: "add ?team=" }]);

  const [a, b, c] = [client("red"), client("red"), client("blue")];
  await Promise.all([a, b, c].map((s) => once(s, "connect")));

  expect("typed handler with ack and per-socket state", await a.emitWithAck("chat", { text: "hi", n: 2 }), "red:hi:2");
  expect("catch-all gets events without a handler", await a.emitWithAck("no-such-event", 1, "x"), ["caught", "no-such-event", 2]);
  let timedOut = false;
  try {
    await a.timeout(400).emitWithAck("inc", "not a number");
  } catch (e) {
    timedOut = true;
  }
  expect("arguments that do not fit the handler's type are dropped", timedOut, true);
  expect("typed handler again after a dropped event", await a.emitWithAck("inc", 7), 8);

  a.on("question", (n, cb) => cb(n + 10));
  b.on("question", () => {}); // never answers
  c.on("question", (n, cb) => cb(n + 20));
  expect("room broadcast with ack collection and a timeout", await c.emitWithAck("ask-room", "red"), [11, "timeout"]);
  expect("whole namespace with acks (except the asker)", await a.emitWithAck("ask-others"), [21, "timeout"]);

  const got = { a: [], b: [], c: [] };
  for (const [name, s] of [["a", a], ["b", b], ["c", c]]) s.on("news", (t) => got[name].push(t));
  expect("to(room).except(room) broadcast", await c.emitWithAck("news-except", "red", "blue", "hello"), "sent");
  await new Promise((r) => setTimeout(r, 200));
  expect("only red members got it, not the blue sender", got, { a: ["hello"], b: ["hello"], c: [] });
  expect("volatile broadcast to writable sockets", await a.emitWithAck("volatile-news", "quick"), "sent");
  await new Promise((r) => setTimeout(r, 200));
  expect("volatile news arrived", got.b.concat(got.c), ["hello", "quick", "quick"]);

  expect("fetch the sockets of a room", await c.emitWithAck("fetch", "red"), 2);
  expect("move a room's sockets to another room", await c.emitWithAck("move", "red", "green"), 2);
  expect("rooms of a socket after the move", await a.emitWithAck("my-rooms"), ["green"]);

  const red = io(url + "/team-red", { path: "/api/", transports, forceNew: true, reconnection: false, query: { team: "red" } });
  red.on("colour?", (nsp, cb) => cb(nsp === "/team-red" ? "crimson" : "wrong " + nsp));
  const [nsp, colour] = await once(red, "colour");
  expect("dynamic namespace, and the server's ack answered by the client", [nsp, colour], ["/team-red", "crimson"]);
  const blue = io(url + "/team-blue", { path: "/api/", transports, forceNew: true, reconnection: false, query: { team: "blue" } });
  const [blueErr] = await once(blue, "connect_error");
  expect("a dynamic namespace's middleware", blueErr.message, "blue is closed");
  const none = io(url + "/nope", { path: "/api/", transports, forceNew: true, reconnection: false, query: { team: "x" } });
  const [noneErr] = await once(none, "connect_error");
  expect("no namespace matches", noneErr.message, "Invalid namespace");
  for (const s of [red, blue, none]) s.close();

  const kicked = Promise.all([once(a, "disconnect"), once(b, "disconnect")]);
  expect("disconnect the sockets of a room", await c.emitWithAck("kick", "green"), "kicking");
  const reasons = (await kicked).map(([r]) => r);
  expect("kicked sockets learn it from the server", reasons, ["io server disconnect", "io server disconnect"]);
  expect("fetch after the kick", await c.emitWithAck("fetch", "green"), 0);
  c.disconnect();
  nobody.close();
  console.log("all ok");
  // No process.exit: node ends once the DISCONNECT above has been sent (over polling it is a
  // POST still in flight here), so the server sees the client's own disconnect.
}

setTimeout(() => fail("did not finish within 30 s"), 30000).unref();
main().catch((e) => fail(e.stack || String(e)));
