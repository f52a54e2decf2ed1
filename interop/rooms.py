"""Rooms, broadcast and connect middleware with python-socketio's client, against our server's
`/interop/` path (the same scenario as rooms.js).

Usage: python rooms.py <url> <polling|websocket|upgrade>
Prints one line per scenario and "all ok" at the end; exits non-zero on the first failure.
"""
import sys
import threading
import time

import socketio

url, mode = sys.argv[1], sys.argv[2]
transports = {"polling": ["polling"], "websocket": ["websocket"], "upgrade": ["polling", "websocket"]}[mode]


def fail(msg):
    print("FAIL " + msg, flush=True)
    sys.exit(1)


def client(auth):
    sio = socketio.Client(reconnection=False)
    news = []
    lock = threading.Lock()

    # With connection state recovery on, the server appends each broadcast's offset as a last
    # argument (as the reference server does); the text is the first.
    def on_news(text, *_offset):
        with lock:
            news.append(text)

    sio.on("news", on_news)
    sio.connect(url, socketio_path="/interop/", transports=transports, auth=auth, wait_timeout=5)
    return sio, news


(a, got_a), (b, got_b), (c, got_c) = client({}), client({}), client({})
joined = [s.call("join", room, timeout=5) for s, room in [(a, "r1"), (b, "r1"), (c, "r2")]]
if joined != ["r1", "r1", "r2"]:
    fail("join acks %r" % (joined,))
sent = a.call("to-room", ("r1", "hello r1"), timeout=5)
if sent != "sent":
    fail("to-room ack %r" % (sent,))
deadline = time.time() + 5
while not got_b and time.time() < deadline:
    time.sleep(0.02)
time.sleep(0.3)
if (got_a, got_b, got_c) != ([], ["hello r1"], []):
    fail("deliveries %r" % ((got_a, got_b, got_c),))
print("ok room broadcast reaches members except the sender, and no one else", flush=True)

a.on("question", lambda n: n * 2)
answer = a.call("ask-me", 21, timeout=5)
if answer != 42:
    fail("server ack answered by the client %r" % (answer,))
print("ok server emit with ack, answered by the client", flush=True)

bad = socketio.Client(reconnection=False)
errors = []
refused = threading.Event()


def on_connect_error(data):
    errors.append(data)
    refused.set()


bad.on("connect_error", on_connect_error)
try:
    bad.connect(url, socketio_path="/interop/", transports=transports, auth={"token": "bad"}, wait_timeout=5)
    fail("a refused connect succeeded")
except socketio.exceptions.ConnectionError:
    pass
if not refused.wait(5):
    fail("no connect_error")
if errors != [{"message": "not authorized", "data": {"content": "retry later"}}]:
    fail("connect_error %r" % (errors,))
print("ok middleware connect_error with data", flush=True)

for s in (a, b, c):
    s.disconnect()
print("all ok", flush=True)
