// The end-to-end benchmarks' Node.js peer: the reference `socket.io` server on the bench-server
// contract. Socket.IO v5 at ws://127.0.0.1:$PORT/socket.io/ (default settings; polling is left
// on, the load tool only uses WebSocket); event `echo` is acked with its first argument, event
// `bcast` is re-emitted with its first argument to every socket of `/`.
"use strict";
const http = require("http");
const { Server } = require("socket.io");

const port = Number(process.env.PORT || 3000);
const httpServer = http.createServer();
const io = new Server(httpServer);
io.on("connection", (socket) => {
  socket.on("echo", (...args) => {
    const ack = args[args.length - 1];
    if (typeof ack === "function") ack(args.length > 1 ? args[0] : null);
  });
  socket.on("bcast", (first) => {
    io.emit("bcast", first);
  });
});
httpServer.listen(port, "127.0.0.1", () => {
  console.log(`node socket.io bench server on ws://127.0.0.1:${port}/socket.io/`);
});
