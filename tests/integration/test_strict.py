#!/usr/bin/env python3
"""Strict request parsing: malformed or ambiguous requests get a 4xx and
are never forwarded; limits and timeouts answer 408/413/414/431. Each
vector is sent in small fragments."""

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
    with Shim(conf([], limits={"idle_timeout": "300ms"})) as s:
        out = raw_request(s.port, b"", timeout=5)
        check(out == b"" and out.end == "eof", "got %r %s" % (out, out.end))


tests = [make_test(*v) for v in BAD]
tests += [v for k, v in sorted(globals().items()) if k.startswith("test_")]
run(tests)
