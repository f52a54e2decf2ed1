// Connection state recovery with the real npm socket.io-client 4, against our server's
// `/interop/` path: a client whose transport is forcibly closed reconnects, keeps its id, and
// receives what was broadcast to its room while it was away.
// Usage: node recovery.js <url> <polling|websocket|upgrade>
"use strict";

const { transportsOf, fail, once } = require("./check");
const io = require("socket.io-client");
const [url, mode] = process.argv.slice(2);
const transports = transportsOf(mode);

async function main() {
  const opts = { path: "/interop/", transports, forceNew: true, reconnectionDelay: 300, reconnectionDelayMax: 500, randomizationFactor: 0 };
  const a = io(url, opts);
  const b = io(url, { ...opts, reconnection: false });
  await Promise.all([once(a, "connect"), once(b, "connect")]);
  await a.emitWithAck("join", "r");
  const news = [];
  a.on("news", (text) => news.push(text));
  await b.emitWithAck("to-room", "r", "before");
  await new Promise((r) => setTimeout(r, 100));
  if (JSON.stringify(news) !== '["before"]') fail("before: " + JSON.stringify(news));
  const id = a.id;

  // The transport dies (not a namespace disconnect): the server keeps the session.
  const gone = once(a, "disconnect");
  a.io.engine.close();
  await gone;
  await b.emitWithAck("to-room", "r", "missed 1");
  const back = once(a, "connect");
  await b.emitWithAck("to-room", "r", "missed 2");
  // Both were broadcast while `a` was away (it reconnects after 300 ms).
  if (a.connected || JSON.stringify(news) !== '["before"]') fail("not away: " + JSON.stringify(news));
  await back;
  if (!a.recovered) fail("not recovered");
  if (a.id !== id) fail("new id " + a.id + " instead of " + id);
  await new Promise((r) => setTimeout(r, 100));
  if (JSON.stringify(news) !== '["before","missed 1","missed 2"]') fail("after: " + JSON.stringify(news));
  console.log("ok recovered with the same id and the missed events, once, in order");
  a.disconnect();
  b.disconnect();
  console.log("all ok");
  process.exit(0);
}

main().catch((e) => fail(e.stack || String(e)));
