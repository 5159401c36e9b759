#!/usr/bin/env python3
"""chaos_parent.py - a legacy HTTP/1.0 parent proxy that misbehaves at
stated rates, for the soak (tests/bench/soak.py).

It serves the files under --root for any host (absolute-form targets, the
path is looked up under the root), ignores Range, answers HEAD with a
length, keeps a connection only when asked (Proxy-Connection or Connection:
keep-alive, answered with Proxy-Connection: keep-alive), and demands Basic
credentials when --user is given (a request without them gets a 407, as a
real parent's handshake).

Each request for a file draws one outcome (--rates, fractions of requests):

  reset        head with a length, a random part of the body, then RST
  stall        head with a length, a random part of the body, then silence
               for --stall seconds (past the shim's timeouts), then close
  stall_head   silence before the status line for --stall seconds
  p407         a 407 although the credentials are right
  garbage      a status line that is not HTTP (one of a few forms), close
  please_wait  200 text/html "please wait" page with a length
  close_delim  200 with no Content-Length, the whole body, then close
  (the rest)   200 with the exact Content-Length and the whole body

Refused connects: every --refuse-every seconds the listener is closed for
--refuse-ms milliseconds (a connect then meets RST), reopened on the same
port. Everything listens on 127.0.0.1 only; the process exits by itself
after --lifetime seconds. Counters go to --stats (JSON) every second and
at exit (SIGTERM).
"""

import argparse
import asyncio
import base64
import json
import os
import random
import signal
import socket
import struct
import time
import urllib.parse

KINDS = ("reset", "stall", "stall_head", "p407", "garbage", "please_wait",
         "close_delim")

GARBAGE = (b"HTTP/1.0 2x0 OK\r\n\r\n",
           b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n",
           b"ICY 200 OK\r\nContent-Length: 5\r\n\r\nhello",
           b"HTTP/1.0\r\n\r\n",
           b"<html>gateway error</html>\r\n")

PLEASE_WAIT = (b"<html><head><title>Please wait</title></head><body>"
               b"Your download is being scanned. Please wait...</body>"
               b"</html>\n")


class Chaos:
    def __init__(self, a):
        self.a = a
        self.rates = parse_rates(a.rates)
        self.rng = random.Random(a.seed)
        self.stats = {"connections": 0, "requests": 0, "bytes": 0,
                      "refused_windows": 0, "auth_407": 0, "not_found": 0,
                      "normal": 0, "head": 0}
        for k in KINDS:
            self.stats[k] = 0
        self.server = None
        self.active = {}    # connection number -> what it is doing
        self.nconn = 0
        self.port = a.port
        want = "%s:%s" % (a.user, a.password) if a.user else None
        self.auth = ("Basic " + base64.b64encode(want.encode()).decode()
                     if want else None)

    def draw(self):
        x = self.rng.random()
        for k in KINDS:
            r = self.rates.get(k, 0.0)
            if x < r:
                return k
            x -= r
        return "normal"

    async def handle(self, reader, writer):
        self.stats["connections"] += 1
        self.nconn += 1
        cid = self.nconn
        writer.cid = cid
        self.active[cid] = "reading a request"
        try:
            while await self.one(reader, writer):
                self.active[cid] = "kept, reading a request"
        except (ConnectionError, asyncio.IncompleteReadError,
                asyncio.LimitOverrunError, asyncio.TimeoutError, OSError):
            pass
        finally:
            self.active.pop(cid, None)
            writer.transport.abort()

    async def one(self, reader, writer):
        """Serve one request; True when the connection is kept."""
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 60)
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) != 3:
            await self.send(writer, b"HTTP/1.0 400 Bad Request\r\n"
                            b"Content-Length: 0\r\n\r\n")
            return False
        method, target, _ = parts
        fields = {}
        for ln in lines[1:]:
            k, sep, v = ln.partition(":")
            if sep:
                fields[k.strip().lower()] = v.strip()
        if "content-length" in fields:
            await reader.readexactly(int(fields["content-length"]))
        self.stats["requests"] += 1
        keep = any(fields.get(k, "").lower() == "keep-alive"
                   for k in ("proxy-connection", "connection"))
        ka = b"Proxy-Connection: keep-alive\r\n" if keep else \
            b"Connection: close\r\n"
        if self.auth and fields.get("proxy-authorization") != self.auth:
            self.stats["auth_407"] += 1
            body = b"auth required\n"
            await self.send(writer, b"HTTP/1.0 407 Proxy Authentication "
                            b"Required\r\nProxy-Authenticate: Basic realm="
                            b"\"chaos\"\r\nContent-Type: text/plain\r\n"
                            b"Content-Length: %d\r\n%s\r\n%s" %
                            (len(body), ka, body))
            return keep
        path = urllib.parse.urlsplit(target).path if "://" in target \
            else target.split("?")[0]
        fpath = os.path.normpath(os.path.join(self.a.root,
                                              path.lstrip("/")))
        if not fpath.startswith(os.path.abspath(self.a.root) + os.sep) or \
                not os.path.isfile(fpath) or method not in ("GET", "HEAD"):
            self.stats["not_found"] += 1
            await self.send(writer, b"HTTP/1.0 404 Not Found\r\n"
                            b"Content-Length: 0\r\n%s\r\n" % ka)
            return keep
        size = os.path.getsize(fpath)
        kind = self.draw()
        if method == "HEAD" and kind not in ("stall_head", "p407",
                                             "garbage", "please_wait"):
            self.stats["head"] += 1
            await self.send(writer, b"HTTP/1.0 200 OK\r\nContent-Type: "
                            b"application/octet-stream\r\nContent-Length: "
                            b"%d\r\n%s\r\n" % (size, ka))
            return keep
        self.stats[kind] += 1
        self.active[writer.cid] = "%.0f %s %s %s" % (
            time.monotonic(), kind, method, os.path.basename(fpath)[:6])
        if kind == "stall_head":
            await asyncio.sleep(self.a.stall)
            return False
        if kind == "p407":
            await self.send(writer, b"HTTP/1.0 407 Proxy Authentication "
                            b"Required\r\nProxy-Authenticate: Basic realm="
                            b"\"chaos\"\r\nContent-Length: 0\r\n"
                            b"Connection: close\r\n\r\n")
            return False
        if kind == "garbage":
            await self.send(writer, self.rng.choice(GARBAGE))
            return False
        if kind == "please_wait":
            body = b"" if method == "HEAD" else PLEASE_WAIT
            await self.send(writer, b"HTTP/1.0 200 OK\r\nContent-Type: "
                            b"text/html\r\nContent-Length: %d\r\n"
                            b"Connection: close\r\n\r\n%s" %
                            (len(PLEASE_WAIT), body))
            return False
        length = b"" if kind == "close_delim" else \
            b"Content-Length: %d\r\n" % size
        conn = b"Connection: close\r\n" if kind == "close_delim" else ka
        await self.send(writer, b"HTTP/1.0 200 OK\r\nContent-Type: "
                        b"application/octet-stream\r\nLast-Modified: "
                        b"Tue, 01 Oct 2013 10:00:00 GMT\r\n%s%s\r\n" %
                        (length, conn))
        count = size
        if kind in ("reset", "stall"):
            count = self.rng.randrange(0, size) if size > 1 else 0
        await self.body(writer, fpath, count)
        if kind == "reset":
            sock = writer.transport.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                struct.pack("ii", 1, 0))
            return False
        if kind == "stall":
            await asyncio.sleep(self.a.stall)
            return False
        if kind == "close_delim":
            writer.close()
            return False
        self.stats["normal"] += 1
        return keep

    async def send(self, writer, data):
        writer.write(data)
        await writer.drain()

    async def body(self, writer, fpath, count):
        if count <= 0:
            return
        loop = asyncio.get_running_loop()
        self.active[writer.cid] += " body %d" % count
        with open(fpath, "rb") as f:
            await loop.sendfile(writer.transport, f, 0, count)
        self.stats["bytes"] += count
        self.active[writer.cid] += " sent"

    async def listen(self):
        self.server = await asyncio.start_server(
            self.handle, "127.0.0.1", self.port, reuse_address=True,
            backlog=512)
        self.port = self.server.sockets[0].getsockname()[1]

    async def refuser(self):
        while self.a.refuse_every > 0:
            await asyncio.sleep(self.a.refuse_every)
            self.server.close()
            self.stats["refused_windows"] += 1
            await asyncio.sleep(self.a.refuse_ms / 1000.0)
            for _ in range(50):
                try:
                    await self.listen()
                    break
                except OSError:
                    await asyncio.sleep(0.05)

    def dump(self):
        tmp = self.a.stats + ".tmp"
        now = time.monotonic()
        with open(tmp, "w") as f:
            json.dump(dict(self.stats, active=sorted(
                "%d: %s" % (k, age(v, now)) for k, v in
                self.active.items())), f)
        os.replace(tmp, self.a.stats)

    async def stats_loop(self):
        while True:
            await asyncio.sleep(1)
            if self.a.stats:
                self.dump()

    async def main(self):
        await self.listen()
        print("chaos-parent listening on 127.0.0.1:%d" % self.port,
              flush=True)
        loop = asyncio.get_running_loop()
        stop = loop.create_future()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set_result, None)
        tasks = [asyncio.create_task(self.refuser()),
                 asyncio.create_task(self.stats_loop())]
        try:
            await asyncio.wait_for(stop, self.a.lifetime)
        except asyncio.TimeoutError:
            pass
        for t in tasks:
            t.cancel()
        if self.a.stats:
            self.dump()


def age(state, now):
    """A state that starts with a monotonic time, shown with its age."""
    t, sep, rest = state.partition(" ")
    try:
        return "%.0f s ago: %s" % (now - float(t), rest) if sep else state
    except ValueError:
        return state


def parse_rates(text):
    out = {}
    for item in filter(None, (text or "").split(",")):
        k, _, v = item.partition("=")
        if k not in KINDS:
            raise SystemExit("chaos-parent: unknown fault %r" % k)
        out[k] = float(v)
    if sum(out.values()) > 1.0:
        raise SystemExit("chaos-parent: rates add up to more than 1")
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--root", required=True)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--rates", default="")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--stall", type=float, default=8.0)
    p.add_argument("--refuse-every", type=float, default=0.0)
    p.add_argument("--refuse-ms", type=float, default=300.0)
    p.add_argument("--user")
    p.add_argument("--password", default="")
    p.add_argument("--stats")
    p.add_argument("--lifetime", type=float, default=3600.0)
    asyncio.run(Chaos(p.parse_args()).main())


if __name__ == "__main__":
    main()
