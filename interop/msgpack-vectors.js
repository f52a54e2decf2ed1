// Records the bytes socket.io 4.8 and socket.io-client 4.8 write with socket.io-msgpack-parser
// 3.0.2 (notepack.io 2.2): a server and a client in this process, a fixed sequence of
// exchanges, each packet the parser encodes (one Engine.IO message each) printed as one JSON
// line {"from","what","hex"}. Its output is
// socketio-proto/tests/fixtures/msgpack-vectors.jsonl (ids replaced: they are random).
//
// node msgpack-vectors.js > ../socketio-proto/tests/fixtures/msgpack-vectors.jsonl
"use strict";

const http = require("http");
const { Server } = require("socket.io");
const { io } = require("socket.io-client");
const parser = require("socket.io-msgpack-parser");

const lines = [];
let what = "";
// The parser with every encoded packet recorded (one frame per packet).
function recording(from) {
  class Encoder extends parser.Encoder {
    encode(packet) {
      const out = super.encode(packet);
      for (const b of out) lines.push({ from, what, hex: Buffer.from(b).toString("hex") });
      return out;
    }
  }
  return { ...parser, Encoder };
}

async function main() {
  const httpServer = http.createServer();
  const server = new Server(httpServer, { parser: recording("server") });
  server.of("/admin").use((socket, next) => {
    const err = new Error("not allowed");
    err.data = { code: 42, why: "no token" };
    next(err);
  });
  server.on("connection", (socket) => {
    socket.on("hello", (a, b, c, ack) => ack("hi", 1.5, { ok: true }));
    socket.on("bin", (buf, ack) => ack(Buffer.from([9, 8]), { nested: Buffer.from([7]) }));
    socket.on("ask", async () => {
      what = "server emit with ack";
      const answer = await socket.timeout(2000).emitWithAck("question", -1, 300, 70000, 5e9);
      what = "server emit";
      socket.emit("answered", answer);
    });
    socket.on("bye", () => {
      what = "server disconnect";
      socket.disconnect();
    });
  });
  await new Promise((r) => httpServer.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${httpServer.address().port}`;

  what = "connect with auth";
  const client = io(url, {
    parser: recording("client"),
    transports: ["websocket"],
    auth: { token: "abc", n: 1 },
  });
  client.on("question", (...args) => args.pop()(["yes", null]));
  await new Promise((r) => client.on("connect", r));

  what = "event with ack";
  await client.emitWithAck("hello", "a", 2, [true, null]);
  what = "binary event with ack";
  await client.emitWithAck("bin", Buffer.from([1, 2, 3]));
  what = "client emit";
  const answered = new Promise((r) => client.on("answered", r));
  client.emit("ask");
  await answered;

  what = "connect refused with data";
  const admin = client.io.socket("/admin", { auth: {} });
  await new Promise((r) => admin.on("connect_error", r));

  what = "client disconnect request";
  const gone = new Promise((r) => client.on("disconnect", r));
  client.emit("bye");
  await gone;

  for (const l of lines) console.log(JSON.stringify(l));
  client.close();
  server.close();
  process.exit(0);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
