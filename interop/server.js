// The client matrix's Node server: the npm `socket.io` 4.8 server (SERVER=v4, the default) or
// 2.x (SERVER=v2), with the application every server of the matrix runs (ours too, in
// adapters-tokio/tests/cases/client_matrix.rs). Prints {"port":N} once listening.
//
// Env: PORT (default 0), SERVER=v4|v2, ALLOW_EIO3=1, PING_INTERVAL / PING_TIMEOUT (ms),
// MAX_PAYLOAD (bytes), RECOVERY=1 (connection state recovery), TLS_CERT / TLS_KEY (PEM files:
// serve HTTPS), PARSER=msgpack (socket.io-msgpack-parser; v4 only).
//
// Namespaces `/`, `/a`, `/b`: on connection the server emits "welcome" {nsp, auth, query}
// (the handshake's auth, `{}` under v2, and its query minus Engine.IO's keys); "echo" answers
// its ack with the same arguments; "emit-back" emits "echo" back with its arguments; "ask"
// emits "question" with the same arguments and an ack, and emits "answer" with what the
// client answered; "kick" disconnects the socket; "break" closes the connection under the
// socket, then broadcasts "missed" 1, 2, 3 to its id (recovery replays them). `/guarded`
// refuses a connection whose auth token is not "ok" with "not authorized" and data
// {"reason":"bad token"}.
"use strict";

const fs = require("fs");
const version = process.env.SERVER || "v4";
const { Server } = version === "v2" ? { Server: require("socket.io-v2") } : require("socket.io");

const env = (name) => (process.env[name] ? Number(process.env[name]) : undefined);
const opts = {};
if (env("PING_INTERVAL")) opts.pingInterval = env("PING_INTERVAL");
if (env("PING_TIMEOUT")) opts.pingTimeout = env("PING_TIMEOUT");
if (env("MAX_PAYLOAD")) opts.maxHttpBufferSize = env("MAX_PAYLOAD");
if (version === "v4") {
  opts.allowEIO3 = process.env.ALLOW_EIO3 === "1";
  if (process.env.PARSER === "msgpack") opts.parser = require("socket.io-msgpack-parser");
  if (process.env.RECOVERY === "1") {
    opts.connectionStateRecovery = { maxDisconnectionDuration: 60000 };
  }
}

const http = process.env.TLS_CERT
  ? require("https").createServer({
      cert: fs.readFileSync(process.env.TLS_CERT),
      key: fs.readFileSync(process.env.TLS_KEY),
    })
  : require("http").createServer();
const io = version === "v2" ? Server(http, opts) : new Server(http, opts);

const ENGINE_KEYS = new Set(["EIO", "transport", "t", "sid", "b64", "j"]);
function queryOf(socket) {
  const out = {};
  for (const [k, v] of Object.entries(socket.handshake.query || {})) {
    if (!ENGINE_KEYS.has(k)) out[k] = v;
  }
  return out;
}
const authOf = (socket) => (version === "v2" ? {} : socket.handshake.auth || {});

function app(nsp) {
  nsp.on("connection", (socket) => {
    socket.emit("welcome", { nsp: nsp.name, auth: authOf(socket), query: queryOf(socket) });
    socket.on("echo", (...args) => {
      const ack = args.pop();
      if (typeof ack === "function") ack(...args);
    });
    socket.on("emit-back", (...args) => {
      if (typeof args[args.length - 1] === "function") args.pop();
      socket.emit("echo", ...args);
    });
    socket.on("ask", (...args) => {
      if (typeof args[args.length - 1] === "function") args.pop();
      socket.emit("question", ...args, (...answer) => socket.emit("answer", ...answer));
    });
    socket.on("kick", () => socket.disconnect());
    socket.on("break", () => {
      const id = socket.id;
      socket.conn.close();
      setTimeout(() => {
        for (const i of [1, 2, 3]) nsp.to(id).emit("missed", i);
      }, 50);
    });
  });
}

for (const name of ["/", "/a", "/b"]) app(io.of(name));
const guarded = io.of("/guarded");
guarded.use((socket, next) => {
  if (authOf(socket).token === "ok" || queryOf(socket).token === "ok") return next();
  const err = new Error("not authorized");
  err.data = { reason: "bad token" };
  next(err);
});
app(guarded);

http.listen(Number(process.env.PORT || 0), "127.0.0.1", () => {
  console.log(JSON.stringify({ port: http.address().port }));
});
