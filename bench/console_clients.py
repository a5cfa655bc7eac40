"""Agents' consoles without a browser: each signs in like a browser does (the
login form's CSRF token, the session cookie) and holds the console's event
stream (GET /events) open, noting when each screen pop arrives. Run in a
process of its own by bench/screen_pop.py, so these connections cost the web
server what browsers would, not the engine's loop."""
from __future__ import annotations

import http.client
import json
import re
import threading
import time
from urllib.parse import urlencode

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def sign_in(host: str, port: int, username: str, password: str) -> str:
    """The session cookie of a signed-in user."""
    conn = http.client.HTTPConnection(host, port, timeout=30)
    conn.request("GET", "/login")
    page = conn.getresponse()
    body = page.read().decode()
    cookie = page.getheader("Set-Cookie").split(";", 1)[0]
    token = TOKEN.search(body).group(1)
    form = urlencode({"username": username, "password": password, "csrf_token": token})
    conn.request("POST", "/login", body=form, headers={
        "Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"})
    reply = conn.getresponse()
    reply.read()
    if reply.status != 302:
        raise RuntimeError(f"{username} could not sign in: {reply.status}")
    conn.close()
    return reply.getheader("Set-Cookie").split(";", 1)[0]


def hold_stream(host: str, port: int, cookie: str, seen: list, stop: threading.Event,
                ready: threading.Event) -> None:
    """Read the event stream until told to stop; note (linkedid, time) of each
    call's first pop that carries a customer card."""
    conn = http.client.HTTPConnection(host, port)  # blocking reads: the stream may be quiet
    conn.request("GET", "/events", headers={"Cookie": cookie, "Accept": "text/event-stream"})
    stream = conn.getresponse()
    kind, first = None, set()
    ready.set()
    while not stop.is_set():
        line = stream.fp.readline()
        if not line:
            break
        line = line.decode().rstrip("\n")
        if line.startswith("event: "):
            kind = line[7:]
        elif line.startswith("data: ") and kind == "pop":
            at = time.time()
            pop = json.loads(line[6:])
            if pop and pop.get("card") and pop["linkedid"] not in first:
                first.add(pop["linkedid"])  # the pop itself; later ones are its updates
                seen.append((pop["linkedid"], at))
    conn.close()


def run(host: str, port: int, usernames: list[str], password: str, results, control) -> None:
    """Process entry: sign everyone in, hold the streams, report when told."""
    stop = threading.Event()
    seen: list = []
    threads, readies = [], []
    for username in usernames:
        cookie = sign_in(host, port, username, password)
        ready = threading.Event()
        thread = threading.Thread(target=hold_stream, daemon=True,
                                  args=(host, port, cookie, seen, stop, ready))
        thread.start()
        threads.append(thread)
        readies.append(ready)
    for ready in readies:
        ready.wait(30)
    results.put(("connected", len(threads)))
    control.get()  # the bench says stop
    stop.set()
    results.put(("pops", list(seen)))
