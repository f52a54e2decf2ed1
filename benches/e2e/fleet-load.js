// Load for benches/e2e/fleet: broadcasts published into a Redis fleet by
// @socket.io/redis-emitter, received by socket.io-client 4 clients on each node.
//
// node fleet-load.js REDIS_URL CLIENTS MESSAGES NAME=URL=PID...
// Prints one JSON line per node: latency percentiles (paced broadcasts), the time to deliver a
// burst to all its clients, and the node process's CPU time over the burst.
"use strict";

const fs = require("fs");
const { io } = require("socket.io-client");
const { Emitter } = require("@socket.io/redis-emitter");
const { createClient } = require("redis");

const [redisUrl, clientsArg, messagesArg, ...nodeArgs] = process.argv.slice(2);
const perNode = Number(clientsArg);
const burst = Number(messagesArg);
const nodes = nodeArgs.map((a) => {
  const [name, url, pid] = a.split("=");
  return { name, url, pid: Number(pid), clients: [], lat: [], got: 0 };
});

const now = () => Number(process.hrtime.bigint()) / 1e6; // ms
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// utime + stime of a process, in ms (clock ticks of 10 ms).
function cpu(pid) {
  const f = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return (Number(f[11]) + Number(f[12])) * 10;
}

function pct(xs, p) {
  const s = xs.slice().sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

async function main() {
  for (const n of nodes) {
    for (let i = 0; i < perNode; i++) {
      const s = io(n.url, { transports: ["websocket"], reconnection: false });
      s.on("lat", (t) => n.lat.push(now() - t));
      s.on("tp", () => {
        n.got++;
        if (n.got === burst * perNode) n.done = now();
      });
      await new Promise((r, j) => {
        s.on("connect", r);
        s.on("connect_error", j);
      });
      n.clients.push(s);
    }
  }
  const redis = createClient({ url: redisUrl });
  await redis.connect();
  const emitter = new Emitter(redis);

  // Latency: one broadcast every 5 ms.
  for (let i = 0; i < 400; i++) {
    emitter.emit("lat", now());
    await sleep(5);
  }
  await sleep(500);

  // Throughput: a burst, published as fast as the emitter goes.
  const before = nodes.map((n) => cpu(n.pid));
  const start = now();
  for (let i = 0; i < burst; i++) {
    emitter.emit("tp", i);
    if (i % 500 === 0) await new Promise((r) => setImmediate(r));
  }
  const deadline = start + 120000;
  while (nodes.some((n) => !n.done) && now() < deadline) await sleep(20);
  nodes.forEach((n, i) => {
    const used = cpu(n.pid) - before[i];
    console.log(
      JSON.stringify({
        node: n.name,
        latency_p50_ms: +pct(n.lat, 50).toFixed(3),
        latency_p99_ms: +pct(n.lat, 99).toFixed(3),
        burst_ms: n.done ? +(n.done - start).toFixed(1) : null,
        broadcasts_per_s: n.done ? Math.round(burst / ((n.done - start) / 1000)) : null,
        cpu_ms: used,
        cpu_us_per_broadcast: +((used * 1000) / burst).toFixed(2),
      })
    );
  });
  await redis.quit();
  process.exit(0);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
