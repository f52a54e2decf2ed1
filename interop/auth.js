// A socket.io-client 2.x's namespace query is its auth (Socket.IO protocol v4 over EIO3),
// against our server's `/interop/` path: the connect middleware and the socket see it.
// Usage: node auth.js <url> <polling|websocket|upgrade>
"use strict";

const { transportsOf, fail, expect, expectSameObject, once } = require("./check");
const io = require("socket.io-client-v2");
const [url, mode] = process.argv.slice(2);
const transports = transportsOf(mode);

async function main() {
  // The query goes into the Engine.IO handshake's URL and into the namespace's CONNECT
  // (`40/auth?token=abc,`); the middleware refuses a CONNECT without a token.
  const socket = io(url + "/auth", {
    path: "/interop/",
    transports,
    upgrade: mode === "upgrade",
    forceNew: true,
    reconnection: false,
    query: { token: "abc" },
  });
  const [auth] = await once(socket, "auth");
  expect("the namespace query is the auth", auth, { token: "abc" });

  if (mode === "upgrade") {
    // The next CONNECTs go over the WebSocket.
    const engine = socket.io.engine;
    if (engine.transport.name !== "websocket") await once(engine, "upgrade");
    expect("upgraded", engine.transport.name, "websocket");
  }

  // More namespaces on the same connection: each CONNECT carries its own query (escaped by
  // the client), which is that socket's auth, not the handshake's.
  const second = socket.io.socket("/auth-2", { query: { token: "xyz", text: "a b&c=é+" } });
  const [auth2] = await once(second, "auth");
  expect("a second namespace's query, URL-decoded", auth2, { token: "xyz", text: "a b&c=é+" });

  const refused = socket.io.socket("/auth-3", { query: { token: "refuse", n: "1" } });
  const [data] = await once(refused, "error");
  expectSameObject("the middleware refuses with the auth it saw", data, { token: "refuse", n: "1" });

  const none = socket.io.socket("/auth-4");
  const [message] = await once(none, "error");
  expect("without a namespace query the auth has no token (the handshake's query is not auth)", message, "no token");

  socket.close();
  console.log("all ok");
  process.exit(0);
}

main().catch((e) => fail(e.stack || String(e)));
