// Rooms, broadcast and connect middleware with the real npm socket.io-client 4, against our
// server's `/interop/` path. Usage: node rooms.js <url> <polling|websocket|upgrade>
"use strict";

const io = require("socket.io-client");
const [url, mode] = process.argv.slice(2);
const transports = { polling: ["polling"], websocket: ["websocket"], upgrade: ["polling", "websocket"] }[mode];

function fail(msg) {
  console.log("FAIL " + msg);
  process.exit(1);
}

function client(auth) {
  return io(url, { path: "/interop/", transports, forceNew: true, reconnection: false, auth });
}

function once(socket, event, ms = 5000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("timeout waiting for " + event)), ms);
    socket.once(event, (...args) => {
      clearTimeout(timer);
      resolve(args);
    });
  });
}

async function main() {
  const [a, b, c] = [client({}), client({}), client({})];
  await Promise.all([a, b, c].map((s) => once(s, "connect")));
  const joined = await Promise.all([
    a.emitWithAck("join", "r1"),
    b.emitWithAck("join", "r1"),
    c.emitWithAck("join", "r2"),
  ]);
  if (JSON.stringify(joined) !== '["r1","r1","r2"]') fail("join acks " + JSON.stringify(joined));
  const got = { a: [], b: [], c: [] };
  a.on("news", (t) => got.a.push(t));
  b.on("news", (t) => got.b.push(t));
  c.on("news", (t) => got.c.push(t));
  const sent = await a.emitWithAck("to-room", "r1", "hello r1");
  if (sent !== "sent") fail("to-room ack " + sent);
  await new Promise((r) => setTimeout(r, 300));
  if (JSON.stringify(got) !== '{"a":[],"b":["hello r1"],"c":[]}') fail("deliveries " + JSON.stringify(got));
  console.log("ok room broadcast reaches members except the sender, and no one else");

  const bad = client({ token: "bad" });
  const [err] = await once(bad, "connect_error");
  if (err.message !== "not authorized" || JSON.stringify(err.data) !== '{"content":"retry later"}') {
    fail("connect_error " + err.message + " " + JSON.stringify(err.data));
  }
  console.log("ok middleware connect_error with data");
  for (const s of [a, b, c, bad]) s.disconnect();
  console.log("all ok");
  process.exit(0);
}

main().catch((e) => fail(e.stack || String(e)));
