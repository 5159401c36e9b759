#!/usr/bin/env python3
"""Exhaustion: a client that pipelines requests the shim answers itself
without reading its answers, and more clients than descriptors, must
neither grow the shim's memory nor spin a core."""

import os
import socket
import threading
import time

from harness import Shim, HttpConn, check, run
from common import conf

MIB_KIB = 1024


def _pipelined(n):
    """n denied requests; every fourth one a HEAD (an answer without a
    body), so the order of the answers can be checked."""
    get = (b"GET http://denied.example/x HTTP/1.1\r\n"
           b"Host: denied.example\r\n\r\n")
    head = (b"HEAD http://denied.example/x HTTP/1.1\r\n"
            b"Host: denied.example\r\n\r\n")
    one = get * 3 + head
    return one * (n // 4)


def _sender(sock, data, out):
    try:
        sock.sendall(data)
        out.append("sent")
    except OSError as e:
        out.append("error: %s" % e)


def test_pipelined_local_answers_keep_memory_bounded():
    n = 200000
    data = _pipelined(n)
    with Shim(conf([])) as s:
        base = s.rss_kib()
        c = HttpConn(s.port, timeout=10)
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        c.sock.settimeout(20)
        done = []
        t = threading.Thread(target=_sender, args=(c.sock, data, done),
                             daemon=True)
        t.start()
        # The client reads nothing for 3 s (or until all is sent and the
        # shim had a second to answer it all).
        peak = base
        deadline = time.monotonic() + 3.0
        sent_at = None
        while time.monotonic() < deadline:
            peak = max(peak, s.rss_kib())
            if done and sent_at is None:
                sent_at = time.monotonic()
            if sent_at is not None and time.monotonic() - sent_at > 1.0:
                break
            time.sleep(0.05)
        peak = max(peak, s.rss_kib())
        grew = peak - base
        print("rss base %d KiB, peak %d KiB while the client stalled; "
              "sender: %s" % (base, peak, done or "blocked"))
        if os.environ.get("WSUS_SANITIZED") != "1":
            check(grew < 16 * MIB_KIB,
                  "RSS grew by %d KiB while the client did not read" % grew)
            check(not done, "the shim read all %d requests without its "
                  "answers being read" % n)
        # Reading resumes: the answers come in order, each a whole 403.
        c.sock.settimeout(10)
        t0 = time.monotonic()
        for i in range(20000):
            method = "HEAD" if i % 4 == 3 else "GET"
            r = c.read_response(method=method)
            check(r.status == 403, "answer %d: status %s" % (i, r.status))
            if method == "GET":
                check(r.body.startswith(b"wsus-shim: 403 "),
                      "answer %d: body %r" % (i, r.body[:40]))
            else:
                check(r.body == b"", "answer %d to a HEAD has a body" % i)
        t1 = time.monotonic()
        # Wakes the sender, still blocked in sendall.
        c.sock.shutdown(socket.SHUT_RDWR)
        c.sock.close()
        t.join(10)
        print("read 20000 answers in %.1f s" % (t1 - t0))
        check(s.alive(), "the shim died")


run([v for k, v in sorted(globals().items()) if k.startswith("test_")])
