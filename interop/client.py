"""Runs the interop scenarios of python-socketio's client against a server.

Usage: python client.py <url> <polling|websocket|upgrade> [msgpack]
With `msgpack`, the client uses python-socketio's msgpack serializer against the server at
/socket.io-msgpack/.
Prints one line per scenario and "all ok" at the end; exits non-zero on the first failure.
"""
import sys
import threading

import socketio

url, mode = sys.argv[1], sys.argv[2]
msgpack = sys.argv[3:] == ["msgpack"]
transports = {"polling": ["polling"], "websocket": ["websocket"], "upgrade": ["polling", "websocket"]}[mode]


def fail(msg):
    print("FAIL " + msg, flush=True)
    sys.exit(1)


class Waiter:
    def __init__(self):
        self.event = threading.Event()
        self.value = None

    def set(self, *args):
        self.value = args
        self.event.set()

    def wait(self, what):
        if not self.event.wait(5):
            fail("timeout waiting for " + what)
        self.event.clear()
        return self.value


sio = socketio.Client(reconnection=False, serializer="msgpack" if msgpack else "default")
auth, back, custom_auth, custom_error = Waiter(), Waiter(), Waiter(), Waiter()
sio.on("auth", auth.set)
sio.on("message-back", back.set)
sio.on("auth", custom_auth.set, namespace="/custom")

path = "socket.io-msgpack" if msgpack else "socket.io"
sio.connect(
    url,
    transports=transports,
    auth={"token": "abc"},
    namespaces=["/", "/custom"],
    wait_timeout=5,
    socketio_path=path,
)
(payload,) = auth.wait("auth")
if payload != {"token": "abc"}:
    fail("auth payload %r" % (payload,))
print("ok connect / with auth", flush=True)
custom_auth.wait("auth on /custom")
print("ok second namespace on the same connection", flush=True)

sio.emit("message", (1, "2", {"3": [True]}, "é"))
if back.wait("message-back") != (1, "2", {"3": [True]}, "é"):
    fail("message-back %r" % (back.value,))
print("ok event echoed", flush=True)

acked = sio.call("message-with-ack", (4, {"five": 6}), timeout=5)
if acked != (4, {"five": 6}):
    fail("ack %r" % (acked,))
print("ok ack", flush=True)

sio.emit("message", (b"\x01\x02\x03\xfa", {"nested": [b"\x04\x05"]}))
b1, obj = back.wait("binary message-back")
if b1 != b"\x01\x02\x03\xfa" or obj != {"nested": [b"\x04\x05"]}:
    fail("binary echo %r" % (back.value,))
print("ok binary event both ways", flush=True)

acked = sio.call("message-with-ack", b"\x09\x08", timeout=5)
if acked != b"\x09\x08":
    fail("binary ack %r" % (acked,))
print("ok binary ack", flush=True)

sio.disconnect()
print("all ok", flush=True)
