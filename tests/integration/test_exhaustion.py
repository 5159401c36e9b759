#!/usr/bin/env python3
"""Exhaustion: a client that pipelines requests the shim answers itself
without reading its answers, and more clients than descriptors, must
neither grow the shim's memory nor spin a core."""

import os
import re
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


def _cpu_s(pid):
    """User plus system CPU seconds of a process."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _denied_request(port, timeout=5):
    """One denied request on a new connection: the status, or None when
    no answer came."""
    try:
        with HttpConn(port, timeout=timeout) as c:
            c.request("GET", "http://denied.example/x", host="denied.example")
            return c.read_response().status
    except (OSError, Exception):
        return None


def test_out_of_descriptors_pauses_accepting():
    with Shim(conf([], limits={"idle_timeout": "60s"}), nofile=64) as s:
        idle = []
        try:
            for _ in range(80):
                idle.append(socket.create_connection(
                    ("127.0.0.1", s.port), timeout=5))
            time.sleep(0.5)
            lines0 = len(s.stderr_text().splitlines())
            cpu0 = _cpu_s(s.pid)
            time.sleep(2.0)
            cpu = _cpu_s(s.pid) - cpu0
            lines = len(s.stderr_text().splitlines()) - lines0
            print("out of descriptors: %.2f s of CPU and %d log lines in "
                  "2 s" % (cpu, lines))
            check(cpu < 0.3, "the shim used %.2f s of CPU in 2 s" % cpu)
            check(lines <= 10, "%d log lines in 2 s" % lines)
            # The clients it could not take were answered 503.
            busy = 0
            for c in idle:
                c.settimeout(0.05)
                try:
                    if c.recv(64).startswith(b"HTTP/1.1 503 "):
                        busy += 1
                except OSError:
                    pass
            check(busy > 0, "no client was answered 503")
            print("%d of 80 idle clients answered 503" % busy)
        finally:
            for c in idle:
                c.close()
        # With the idle clients gone, a new client is served.
        deadline = time.monotonic() + 10
        status = None
        while status != 403 and time.monotonic() < deadline:
            status = _denied_request(s.port)
            if status != 403:
                time.sleep(0.2)
        check(status == 403, "a new client got %s" % status)
        check(s.alive(), "the shim died")
        check("open files limit 64 is below" in s.stderr_text(),
              "no start-up warning about the descriptor limit")


def _refused(port):
    c = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        return c.recv(64)
    finally:
        c.close()


def test_refusals_over_max_connections_are_rate_limited():
    with Shim(conf([], extra={"listen": {"max_connections": 2}})) as s:
        held = [socket.create_connection(("127.0.0.1", s.port), timeout=5)
                for _ in range(2)]
        try:
            time.sleep(0.2)
            t0 = time.monotonic()
            for _ in range(200):
                got = _refused(s.port)
                check(got.startswith(b"HTTP/1.1 503 "), "got %r" % got[:40])
            took = time.monotonic() - t0
            n = s.stderr_text().count("(max_connections)")
            print("200 refusals in %.1f s, %d log lines" % (took, n))
            check(1 <= n <= 2 + took, "%d refusal lines" % n)
            # The next line, a second later, counts those held back.
            time.sleep(1.1)
            _refused(s.port)
            last = [ln for ln in s.stderr_text().splitlines()
                    if "(max_connections)" in ln][-1]
            m = re.search(r"; (\d+) more refused", last)
            check(m is not None, "no count in %r" % last)
            check(int(m.group(1)) + n == 200,
                  "%s held back + %d lines != 200" % (m.group(1), n))
        finally:
            for c in held:
                c.close()


run([v for k, v in sorted(globals().items()) if k.startswith("test_")])
