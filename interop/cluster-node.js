// A node of a Socket.IO fleet on Redis: npm socket.io 4.8 + @socket.io/redis-adapter 8.3, with
// the same contract as our `cluster` example (socketio_redis::cluster_app), so that a mixed
// fleet runs the same scenarios.
//
// PORT=.. REDIS_URL=redis://127.0.0.1:6379/ ADAPTER=classic|sharded NODE_NAME=.. node cluster-node.js
// (sharded: createShardedAdapter with subscriptionMode "dynamic")
// Prints "listening on 127.0.0.1:PORT" once subscribed.
// SILENT=1: subscribes to the request channel and never answers (the tests' control).
"use strict";

const http = require("http");
const { Server } = require("socket.io");
const { createAdapter, createShardedAdapter } = require("@socket.io/redis-adapter");
const { createClient } = require("redis");

const port = Number(process.env.PORT || 3000);
const redisUrl = process.env.REDIS_URL || "redis://127.0.0.1:6379/";
const name = process.env.NODE_NAME || "node";
const kind = process.env.ADAPTER || "classic";

// JSON text as our node sorts by: binary as a socket.io-parser placeholder.
function text(v) {
  let n = 0;
  return JSON.stringify(v, (k, x) =>
    x && x.type === "Buffer" && Array.isArray(x.data) ? { _placeholder: true, num: n++ } : x
  );
}
const sorted = (xs) => xs.slice().sort((a, b) => (text(a) < text(b) ? -1 : text(a) > text(b) ? 1 : 0));

async function main() {
  if (kind !== "classic" && kind !== "sharded") throw new Error(`ADAPTER=${kind}: classic or sharded`);
  const pub = createClient({ url: redisUrl });
  const sub = pub.duplicate();
  // Redis going away is reported here; node-redis reconnects by itself.
  for (const c of [pub, sub]) c.on("error", () => {});
  await Promise.all([pub.connect(), sub.connect()]);
  if (process.env.SILENT) {
    if (kind === "sharded") await sub.sSubscribe("socket.io#/#", () => {});
    else await sub.subscribe("socket.io-request#/#", () => {});
    console.log("listening on silent");
    return;
  }
  const httpServer = http.createServer();
  const adapter =
    kind === "sharded"
      ? createShardedAdapter(pub, sub, { subscriptionMode: "dynamic" })
      : createAdapter(pub, sub, { requestsTimeout: Number(process.env.REQUESTS_TIMEOUT || 5000) });
  const io = new Server(httpServer, { adapter });

  io.on("whoami", (cb) => cb(name));

  io.on("connection", (socket) => {
    for (const r of (socket.handshake.auth && socket.handshake.auth.rooms) || []) socket.join(r);
    // One socket's events, one after the other.
    let chain = Promise.resolve();
    socket.onAny((event, ...args) => {
      const ack = typeof args[args.length - 1] === "function" ? args.pop() : () => {};
      chain = chain.then(() => handle(socket, event, args, ack)).catch((e) => console.error(e));
    });
  });

  const target = (spec) => {
    let op = io.to(spec.rooms || []);
    if ((spec.except || []).length) op = op.except(spec.except);
    return op;
  };
  const localTarget = (spec) => {
    let op = io.local.to(spec.rooms || []);
    if ((spec.except || []).length) op = op.except(spec.except);
    return op;
  };

  async function handle(socket, event, args, ack) {
    const spec = args[0] || {};
    switch (event) {
      case "echo":
        return ack(...args);
      case "bcast":
        target(spec).emit(spec.event, ...(spec.args || []));
        return ack("ok");
      case "bcast-ack":
        // The callback form gives the answers that came on a timeout too.
        return new Promise((resolve) => {
          target(spec)
            .timeout(spec.timeout || 5000)
            .emit(spec.event, ...(spec.args || []), (err, answers) => {
              if (err) ack({ error: String(err.message || err), answers: sorted(answers || []) });
              else ack(sorted(answers));
              resolve();
            });
        });
      case "fetch": {
        try {
          const sockets = await target(spec).fetchSockets();
          const list = sockets
            .map((s) => ({ id: s.id, rooms: Array.from(s.rooms).sort() }))
            .sort((a, b) => (a.id < b.id ? -1 : 1));
          return ack(list);
        } catch (e) {
          return ack({ error: String(e.message || e), answers: [] });
        }
      }
      case "join":
        localTarget(spec).socketsJoin(spec.room);
        target(spec).socketsJoin(spec.room);
        return ack("ok");
      case "leave":
        localTarget(spec).socketsLeave(spec.room);
        target(spec).socketsLeave(spec.room);
        return ack("ok");
      case "kick":
        localTarget(spec).disconnectSockets();
        target(spec).disconnectSockets();
        return ack("ok");
      case "sse":
        // The classic adapter waits its requestsTimeout (REQUESTS_TIMEOUT), not a per-call one.
        return new Promise((resolve) => {
          io.serverSideEmit(spec.event, ...(spec.args || []), (err, answers) => {
            if (err) ack({ error: String(err.message || err), answers: sorted(answers || []) });
            else ack(sorted(answers));
            resolve();
          });
        });
    }
  }

  await new Promise((r) => httpServer.listen(port, "127.0.0.1", r));
  console.log(`listening on 127.0.0.1:${httpServer.address().port}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
