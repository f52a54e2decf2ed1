// Drives a Socket.IO fleet on Redis through npm socket.io-client 4: clients on every node,
// the `cluster` contract's events sent from every node in turn, and what each client
// receives checked. Used by adapters-tokio/tests/fleet.rs.
//
// node cluster-driver.js SET URL...   (env REDIS_URL for the emitter; NAMES=a,b,c the nodes'
// NODE_NAMEs in URL order)
// SET: "fleet" (every scenario), "fleet-sharded" (all but the emitter's), "silent" (a silent subscriber makes requests fail),
// "down" (Redis is down: local broadcasts still work), "emitter" only.
// Prints "ok NAME" or "FAIL NAME: why" per scenario and exits 1 when one failed.
"use strict";

const { io } = require("socket.io-client");

const [set, ...urls] = process.argv.slice(2);
const names = (process.env.NAMES || "").split(",");
const WAIT = 700;

let failures = 0;
const results = [];
async function scenario(name, fn) {
  try {
    await fn();
    results.push(`ok ${name}`);
  } catch (e) {
    failures++;
    results.push(`FAIL ${name}: ${e && e.message ? e.message : e}`);
  }
  console.log(results[results.length - 1]);
}

function assert(cond, why) {
  if (!cond) throw new Error(why);
}
const eq = (a, b, why) => assert(JSON.stringify(a) === JSON.stringify(b), `${why}: got ${JSON.stringify(a)}, want ${JSON.stringify(b)}`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// A client on node `i` in `rooms`, answering `q` with its label and recording every event.
function client(i, label, rooms) {
  const s = io(urls[i], { auth: { rooms }, transports: ["websocket"], reconnection: false });
  s.label = label;
  s.got = [];
  s.onAny((ev, ...args) => {
    if (typeof args[args.length - 1] === "function") args.pop()(label);
    s.got.push([ev, ...args]);
  });
  s.gone = new Promise((r) => s.on("disconnect", r));
  return new Promise((resolve, reject) => {
    s.on("connect", () => resolve(s));
    s.on("connect_error", reject);
  });
}

const ask = (s, ev, arg, ms = 7000) => s.timeout(ms).emitWithAck(ev, arg);

// Events `ev` a client got (arguments only), after waiting for them to come.
async function received(clients, ev, ms = WAIT) {
  await sleep(ms);
  return clients.map((c) => c.got.filter((g) => g[0] === ev).map((g) => g.slice(1)));
}

async function fleet() {
  const n = urls.length;
  // Per node: c (rooms r, n<i>) and d (room s).
  const cs = await Promise.all(urls.map((_, i) => client(i, `c${i}`, ["r", `n${i}`])));
  const ds = await Promise.all(urls.map((_, i) => client(i, `d${i}`, ["s"])));
  const all = [...cs, ...ds];

  for (let k = 0; k < n; k++) {
    const from = cs[k];
    const tag = `from node ${k}`;

    await scenario(`broadcast to everyone reaches every client once (${tag})`, async () => {
      const ev = `all${k}`;
      eq(await ask(from, "bcast", { rooms: [], except: [], event: ev, args: [k, "x"] }), "ok", "ack");
      const got = await received(all, ev);
      got.forEach((g, i) => eq(g, [[k, "x"]], `client ${all[i].label}`));
    });

    await scenario(`broadcast to a room except another reaches exactly its members (${tag})`, async () => {
      const ev = `room${k}`;
      const skip = (k + 1) % n;
      eq(await ask(from, "bcast", { rooms: ["r"], except: [`n${skip}`], event: ev, args: [{ k }] }), "ok", "ack");
      const got = await received(all, ev);
      all.forEach((c, i) => {
        const want = c.label.startsWith("c") && c.label !== `c${skip}` ? [[{ k }]] : [];
        eq(got[i], want, `client ${c.label}`);
      });
    });

    await scenario(`a broadcast to a room only another node has reaches its member (${tag})`, async () => {
      const ev = `only${k}`;
      const j = (k + 1) % n;
      eq(await ask(from, "bcast", { rooms: [`n${j}`], except: [], event: ev, args: [j] }), "ok", "ack");
      const got = await received(all, ev);
      all.forEach((c, i) => eq(got[i], c.label === `c${j}` ? [[j]] : [], `client ${c.label}`));
    });

    await scenario(`a broadcast to another node's socket id reaches that socket only (${tag})`, async () => {
      const ev = `sid${k}`;
      const target = ds[(k + 1) % n];
      eq(await ask(from, "bcast", { rooms: [target.id], except: [], event: ev, args: [] }), "ok", "ack");
      const got = await received(all, ev);
      all.forEach((c, i) => eq(got[i], c === target ? [[]] : [], `client ${c.label}`));
    });

    await scenario(`a binary argument arrives as binary on every node (${tag})`, async () => {
      const ev = `bin${k}`;
      eq(await ask(from, "bcast", { rooms: ["s"], except: [], event: ev, args: [Buffer.from([0xca, 0xfe, k])] }), "ok", "ack");
      const got = await received(ds, ev);
      got.forEach((g, i) => {
        assert(g.length === 1, `client d${i} got ${g.length}`);
        assert(Buffer.isBuffer(g[0][0]) || g[0][0] instanceof ArrayBuffer, `client d${i}: not binary: ${JSON.stringify(g[0])}`);
        eq(Array.from(Buffer.from(g[0][0])), [0xca, 0xfe, k], `client d${i} bytes`);
      });
    });

    await scenario(`broadcast acks are collected from every node (${tag})`, async () => {
      const got = await ask(from, "bcast-ack", { rooms: ["r"], except: [], event: "q", args: [k], timeout: 3000 });
      eq(got, cs.map((c) => c.label).sort(), "answers");
    });

    await scenario(`fetch sees the matching sockets of every node (${tag})`, async () => {
      const got = await ask(from, "fetch", { rooms: ["s"] });
      const want = ds.map((d) => ({ id: d.id, rooms: [d.id, "s"].sort() })).sort((a, b) => (a.id < b.id ? -1 : 1));
      eq(got, want, "sockets");
    });

    await scenario(`join and leave across nodes are seen by the next fetch (${tag})`, async () => {
      const room = `t${k}`;
      eq(await ask(from, "join", { rooms: ["s"], room }), "ok", "join ack");
      const joined = await ask(from, "fetch", { rooms: [room] });
      eq(joined.map((s) => s.id), ds.map((d) => d.id).sort(), "after join");
      eq(await ask(from, "leave", { rooms: [room], room }), "ok", "leave ack");
      eq(await ask(from, "fetch", { rooms: [room] }), [], "after leave");
    });

    await scenario(`server-side emit with acks gets every other node's answer (${tag})`, async () => {
      const got = await ask(from, "sse", { event: "whoami", args: [], timeout: 3000 });
      eq(got, names.filter((_, i) => i !== k).sort(), "answers");
    });
  }

  if (set === "fleet") await scenario("the redis emitter reaches the sockets of every node", async () => {
    const { Emitter } = require("@socket.io/redis-emitter");
    const { createClient } = require("redis");
    const redis = createClient({ url: process.env.REDIS_URL });
    await redis.connect();
    const emitter = new Emitter(redis);
    emitter.to("s").emit("em", "hello", Buffer.from([7]));
    emitter.to("n0").except("s").emit("em0", 1);
    const got = await received(all, "em");
    all.forEach((c, i) => {
      if (c.label.startsWith("d")) {
        assert(got[i].length === 1 && got[i][0][0] === "hello", `${c.label}: ${JSON.stringify(got[i])}`);
        eq(Array.from(Buffer.from(got[i][0][1])), [7], `${c.label} bytes`);
      } else eq(got[i], [], c.label);
    });
    const got0 = await received(all, "em0", 300);
    all.forEach((c, i) => eq(got0[i], c.label === "c0" ? [[1]] : [], c.label));
    await redis.quit();
  });

  await scenario("kick disconnects the matching sockets of every node as the server", async () => {
    const victim = cs[n - 1];
    const reasons = [];
    victim.on("disconnect", (r) => reasons.push(r));
    eq(await ask(cs[0], "kick", { rooms: [`n${n - 1}`] }), "ok", "ack");
    await Promise.race([victim.gone, sleep(WAIT)]);
    eq(reasons, ["io server disconnect"], "victim's reason");
    all.filter((c) => c !== victim).forEach((c) => assert(c.connected, `${c.label} was disconnected`));
  });

  all.forEach((c) => c.close());
}

async function silent() {
  // Node count includes a subscriber that never answers: requests must fail, not hang.
  const cs = await Promise.all(urls.map((_, i) => client(i, `c${i}`, ["r"])));
  for (let k = 0; k < urls.length; k++) {
    await scenario(`a silent node makes fetch fail (from node ${k})`, async () => {
      const got = await ask(cs[k], "fetch", { rooms: [] }, 9000);
      assert(got && got.error, `fetch resolved without error: ${JSON.stringify(got)}`);
    });
    await scenario(`a silent node makes server-side emit report the missing answer (from node ${k})`, async () => {
      const got = await ask(cs[k], "sse", { event: "whoami", args: [], timeout: 2000 }, 9000);
      assert(got && got.error, `sse resolved without error: ${JSON.stringify(got)}`);
      eq(got.answers, names.filter((_, i) => i !== k).sort(), "answers that came");
    });
  }
  cs.forEach((c) => c.close());
}

async function down() {
  // Redis is down: each node still serves its own sockets.
  const cs = await Promise.all(urls.map((_, i) => client(i, `c${i}`, ["r"])));
  const ds = await Promise.all(urls.map((_, i) => client(i, `d${i}`, ["r"])));
  for (let k = 0; k < urls.length; k++) {
    await scenario(`with Redis down a broadcast still reaches the node's own sockets (node ${k})`, async () => {
      eq(await ask(cs[k], "bcast", { rooms: ["r"], except: [], event: `local${k}`, args: [] }, 3000), "ok", "ack");
      const got = await received([cs[k], ds[k]], `local${k}`, 300);
      eq(got, [[[]], [[]]], "own node's clients");
    });
  }
  [...cs, ...ds].forEach((c) => c.close());
}

async function main() {
  // fleet-sharded: the same without the emitter, which speaks only the classic protocol.
  if (set === "fleet" || set === "fleet-sharded") await fleet();
  else if (set === "silent") await silent();
  else if (set === "down") await down();
  else throw new Error(`unknown set ${set}`);
  console.log(`${results.length - failures} passed, ${failures} failed`);
  process.exit(failures ? 1 : 0);
}

main().catch((e) => {
  console.error(e);
  process.exit(2);
});
