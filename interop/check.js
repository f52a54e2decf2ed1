// What every interop script shares: the transports of a mode, failing, checks, and waiting for
// an event. A failure prints `FAIL ...` and exits 1; the Rust test reads that line.
"use strict";

const TRANSPORTS = { polling: ["polling"], websocket: ["websocket"], upgrade: ["polling", "websocket"] };

/// The client's `transports` option for a mode (`polling`, `websocket`, `upgrade`).
function transportsOf(mode) {
  return TRANSPORTS[mode];
}

function fail(msg) {
  console.log("FAIL " + msg);
  process.exit(1);
}

/// `got` and `want` as the same JSON text (keys in the same order).
function expect(what, got, want) {
  const [g, w] = [JSON.stringify(got), JSON.stringify(want)];
  if (g !== w) fail(`${what}: got ${g}, want ${w}`);
  console.log("ok " + what);
}

/// The same object, whatever the order of its keys.
function expectSameObject(what, got, want) {
  const sorted = (o) => JSON.stringify(Object.keys(o).sort().map((k) => [k, o[k]]));
  if (typeof got !== "object" || got === null || sorted(got) !== sorted(want)) {
    fail(`${what}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
  }
  console.log("ok " + what);
}

/// The arguments of `socket`'s next `event`, rejected after `ms`.
function once(socket, event, ms = 5000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("timeout waiting for " + event)), ms);
    socket.once(event, (...args) => {
      clearTimeout(timer);
      resolve(args);
    });
  });
}

module.exports = { transportsOf, fail, expect, expectSameObject, once };
