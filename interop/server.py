"""The client matrix's python-socketio server (asyncio, aiohttp): the application of
interop/server.js (see there), on python-socketio's AsyncServer. Prints {"port": N} once
listening.

Env: PORT (default 0), PING_INTERVAL / PING_TIMEOUT (ms), MAX_PAYLOAD (bytes).
python-socketio speaks Engine.IO v4 / Socket.IO v5 only; it has no connection state
recovery, so "break" is not served.
"""

import asyncio
import json
import os
import urllib.parse

import socketio
from aiohttp import web

ENGINE_KEYS = {"EIO", "transport", "t", "sid", "b64", "j"}

opts = {"async_mode": "aiohttp", "cors_allowed_origins": "*"}
if os.environ.get("PING_INTERVAL"):
    opts["ping_interval"] = int(os.environ["PING_INTERVAL"]) / 1000
if os.environ.get("PING_TIMEOUT"):
    opts["ping_timeout"] = int(os.environ["PING_TIMEOUT"]) / 1000
if os.environ.get("MAX_PAYLOAD"):
    opts["max_http_buffer_size"] = int(os.environ["MAX_PAYLOAD"])
sio = socketio.AsyncServer(**opts)
app = web.Application()
sio.attach(app)


def query_of(environ):
    query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    return {k: v[-1] for k, v in query.items() if k not in ENGINE_KEYS}


class Matrix(socketio.AsyncNamespace):
    guarded = False

    async def on_connect(self, sid, environ, auth=None):
        auth = auth if isinstance(auth, dict) else {}
        query = query_of(environ)
        if self.guarded and auth.get("token") != "ok" and query.get("token") != "ok":
            raise socketio.exceptions.ConnectionRefusedError(
                "not authorized", {"reason": "bad token"}
            )
        await self.emit(
            "welcome", {"nsp": self.namespace, "auth": auth, "query": query}, to=sid
        )

    async def on_echo(self, sid, *args):
        # The return value answers the ack (a tuple: several arguments).
        return args

    async def on_emit_back(self, sid, *args):
        await self.emit("echo", args, to=sid)

    async def on_ask(self, sid, *args):
        async def answered(*answer):
            await self.emit("answer", answer, to=sid)

        await self.emit("question", args, to=sid, callback=answered)

    async def on_kick(self, sid, *args):
        await self.disconnect(sid)


# A namespace class serves event E with its method `on_E`: "emit-back" needs a name that
# is not an identifier.
setattr(Matrix, "on_emit-back", Matrix.on_emit_back)

for name in ["/", "/a", "/b"]:
    sio.register_namespace(Matrix(name))
guarded = Matrix("/guarded")
guarded.guarded = True
sio.register_namespace(guarded)


async def main():
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", int(os.environ.get("PORT", "0")))
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    print(json.dumps({"port": port}), flush=True)
    await asyncio.Event().wait()


asyncio.run(main())
