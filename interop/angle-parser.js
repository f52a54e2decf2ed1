// A custom socket.io parser for the interop tests: socket.io-parser's packets with every text
// message wrapped in "<" and ">" (binary attachments unchanged). Our side of it is
// `conformance::Angle` (adapters-core); the server at /socket.io-angle/ speaks it.
"use strict";

const base = require("socket.io-parser");
const { Emitter } = require("@socket.io/component-emitter");

class Encoder {
  constructor() {
    this.inner = new base.Encoder();
  }
  encode(packet) {
    const out = this.inner.encode(packet);
    out[0] = "<" + out[0] + ">";
    return out;
  }
}

class Decoder extends Emitter {
  constructor() {
    super();
    this.inner = new base.Decoder();
    this.inner.on("decoded", (packet) => this.emitReserved("decoded", packet));
  }
  add(chunk) {
    if (typeof chunk === "string") {
      if (!chunk.startsWith("<") || !chunk.endsWith(">")) throw new Error("not an angle packet");
      chunk = chunk.slice(1, -1);
    }
    this.inner.add(chunk);
  }
  destroy() {
    this.inner.destroy();
  }
}

module.exports = { protocol: base.protocol, PacketType: base.PacketType, Encoder, Decoder };
