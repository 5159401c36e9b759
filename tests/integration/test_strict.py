#!/usr/bin/env python3
"""Strict request parsing: malformed or ambiguous requests get a 4xx and
are never forwarded; limits and timeouts answer 408/413/414/431. Each
vector is sent in small fragments."""

import socket
import time

from harness import Emu, Shim, check, run, raw_request
from common import conf, tmpdir, WU_HOST

ROOT = tmpdir("strict-root-")
U = "http://%s/echo/s" % WU_HOST

BAD = [
    ("cl_and_te", "POST %s HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n"
     "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    ("duplicate_cl", "POST %s HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n"
     "Content-Length: 6\r\n\r\nhello!", 400),
    ("duplicate_equal_cl", "POST %s HTTP/1.1\r\nHost: h\r\n"
     "Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello", 400),
    ("empty_cl", "POST %s HTTP/1.1\r\nHost: h\r\nContent-Length: \r\n\r\n",
     400),
    ("non_numeric_cl", "POST %s HTTP/1.1\r\nHost: h\r\n"
     "Content-Length: 5x\r\n\r\nhello", 400),
    ("negative_cl", "POST %s HTTP/1.1\r\nHost: h\r\n"
     "Content-Length: -5\r\n\r\nhello", 400),
    ("cl_list", "POST %s HTTP/1.1\r\nHost: h\r\n"
     "Content-Length: 5, 5\r\n\r\nhello", 400),
    ("te_gzip", "POST %s HTTP/1.1\r\nHost: h\r\n"
     "Transfer-Encoding: gzip\r\n\r\nxxxx", 400),
    ("te_chunked_not_last", "POST %s HTTP/1.1\r\nHost: h\r\n"
     "Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n", 400),
    ("bad_chunk_size", "POST %s HTTP/1.1\r\nHost: h\r\n"
     "Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n", 400),
    ("obs_fold", "GET %s HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n folded\r\n\r\n",
     400),
    ("bare_cr", "GET %s HTTP/1.1\r\nHost: h\r\nX-A: 1\r2\r\n\r\n", 400),
    ("nul_in_value", "GET %s HTTP/1.1\r\nHost: h\r\nX-A: 1\x002\r\n\r\n",
     400),
    ("space_before_colon", "GET %s HTTP/1.1\r\nHost: h\r\nX-A : 1\r\n\r\n",
     400),
    ("bare_lf", "GET %s HTTP/1.1\nHost: h\n\n", 400),
    ("te_on_http10", "POST %s HTTP/1.0\r\nHost: h\r\n"
     "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
]


def make_test(name, req, want):
    def t():
        with Emu(ROOT, "--http10") as up, Shim(conf([up.port])) as s:
            data = (req % U).encode("latin-1")
            out = raw_request(s.port, data, fragments=[1, 3, 7, 11, 19, 5],
                              timeout=5)
            check(out.startswith(b"HTTP/1.1 %d " % want),
                  "%s: got %r" % (name, bytes(out[:60])))
            check(b"request id:" in out, "no request id")
            st = up.stats()
            check(st["requests"] == 0, "%s was forwarded: %s" % (name, st))
    t.__name__ = "test_" + name
    return t


def test_double_space_after_method_gets_400():
    """Two SPs after the method: 400 at the second one, before the
    target's length is looked at (the fuzz finding: a long target gave 414
    byte by byte and 400 whole)."""
    with Emu(ROOT, "--http10") as up, \
            Shim(conf([up.port], limits={"max_uri": "256"})) as s:
        out = raw_request(s.port, ("GET  http://%s/%s HTTP/1.1\r\nHost: h\r\n"
                                   "\r\n" % (WU_HOST, "a" * 600)).encode(),
                          timeout=5)
        check(out.startswith(b"HTTP/1.1 400 "), "got %r" % out[:40])
        check(b"invalid request-line" in out, "got %r" % bytes(out[:300]))
        check(up.stats()["requests"] == 0, "forwarded")


def test_uri_too_long_gets_414():
    with Shim(conf([], limits={"max_uri": "1024"})) as s:
        out = raw_request(s.port, ("GET http://%s/%s HTTP/1.1\r\nHost: h\r\n"
                                   "\r\n" % (WU_HOST, "a" * 2000)).encode(),
                          timeout=5)
        check(out.startswith(b"HTTP/1.1 414 "), "got %r" % out[:40])


def test_huge_header_gets_431():
    with Shim(conf([], limits={"max_header_bytes": "4096"})) as s:
        out = raw_request(s.port, ("GET %s HTTP/1.1\r\nHost: h\r\nX: %s\r\n"
                                   "\r\n" % (U, "v" * 8000)).encode(),
                          timeout=5)
        check(out.startswith(b"HTTP/1.1 431 "), "got %r" % out[:40])


def test_too_many_headers_gets_431():
    with Shim(conf([], limits={"max_headers": "20"})) as s:
        hs = "".join("X-%d: v\r\n" % i for i in range(30))
        out = raw_request(s.port, ("GET %s HTTP/1.1\r\nHost: h\r\n%s\r\n" %
                                   (U, hs)).encode(), timeout=5)
        check(out.startswith(b"HTTP/1.1 431 "), "got %r" % out[:40])


def test_slow_header_gets_408():
    with Shim(conf([], limits={"header_timeout": "500ms"})) as s:
        out = raw_request(s.port, b"GET http://x/ HTTP/1.1\r\nHost:",
                          timeout=5)
        check(out.startswith(b"HTTP/1.1 408 "), "got %r" % out[:40])
        check(out.end == "eof", "connection left open after 408")


def test_idle_keepalive_connection_is_closed():
    """Between requests of a kept-alive connection idle_timeout applies
    (header_timeout is far longer here)."""
    lim = {"idle_timeout": "300ms", "header_timeout": "30s"}
    with Shim(conf([], limits=lim)) as s:
        out = raw_request(s.port, b"GET http://denied.example/ HTTP/1.1\r\n"
                          b"Host: denied.example\r\n\r\n", timeout=5)
        check(out.startswith(b"HTTP/1.1 403 "), "got %r" % out[:40])
        check(b"onnection: close" not in out, "403 closed the connection")
        check(out.end == "eof", "kept-alive connection left open: %s"
              % out.end)


def _seconds_to_close(port, wait=0.0, data=b"", limit=15.0):
    """Connect, after wait seconds send data, then read until the shim
    closes: (seconds from the connect, bytes received, how it ended)."""
    t0 = time.monotonic()
    sk = socket.create_connection(("127.0.0.1", port), timeout=limit)
    buf = b""
    end = "eof"
    try:
        if wait:
            time.sleep(wait)
        if data:
            sk.sendall(data)
        while True:
            left = t0 + limit - time.monotonic()
            if left <= 0:
                end = "timeout"
                break
            sk.settimeout(left)
            try:
                b = sk.recv(65536)
            except socket.timeout:
                end = "timeout"
                break
            except ConnectionResetError:
                end = "reset"
                break
            if not b:
                break
            buf += b
    finally:
        sk.close()
    return time.monotonic() - t0, buf, end


def test_silent_connection_closed_at_header_timeout():
    """A connection that sends nothing is closed at header_timeout from
    the accept, without an answer, not at the longer idle_timeout."""
    lim = {"header_timeout": "2s", "idle_timeout": "20s"}
    with Shim(conf([], limits=lim)) as s:
        t, out, end = _seconds_to_close(s.port)
        check(end == "eof" and out == b"", "got %r %s" % (out[:40], end))
        check(1.0 <= t <= 3.0, "closed after %.2f s, want 2 s (+-1 s)" % t)


def test_first_head_due_from_accept():
    """The first request's header_timeout runs from the accept: a first
    byte late in it does not push the deadline back."""
    lim = {"header_timeout": "3s", "idle_timeout": "20s"}
    with Shim(conf([], limits=lim)) as s:
        t, out, end = _seconds_to_close(
            s.port, wait=2.0, data=b"GET http://x/ HTTP/1.1\r\nHost:")
        check(out.startswith(b"HTTP/1.1 408 "), "got %r" % out[:40])
        check(end == "eof", "connection left open after 408: %s" % end)
        check(2.0 <= t <= 4.0, "408 after %.2f s, want 3 s (+-1 s)" % t)


tests = [make_test(*v) for v in BAD]
tests += [v for k, v in sorted(globals().items()) if k.startswith("test_")]
run(tests)
