#!/usr/bin/env python3
"""Self-check of the test peers: upstream-emu behaves as each flag promises,
checked byte for byte with the harness's raw client. If this fails, the
shim's integration tests cannot be trusted."""

import hashlib
import json
import os
import shutil
import socket
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (GIB, MIB, Emu, HttpConn, Truncated, check, make_file,
                     make_content_file, make_sparse, raw_request, read_range,
                     run, tcp_sockets)

ROOT = tempfile.mkdtemp(prefix="emu-selfcheck-")
SMALL, SMALL_SHA = make_file(os.path.join(ROOT, "c"), "small.bin", 3 * MIB + 123, 1)
SMALL_LEN = 3 * MIB + 123
BIG_LEN = 5 * GIB + 7
BIG_MARKS = {BIG_LEN - 1000: b"TAIL-MARK", 4 * GIB: b"FOUR-GIB"}
make_sparse(ROOT, "sparse.cab", BIG_LEN, BIG_MARKS)
CONTENT, CONTENT_NAME, CONTENT_SHA = make_content_file(ROOT, "windows10.0-kb1", 100000, 2)

WU = "http://au.download.windowsupdate.com"


def get(c, target, headers=(), method="GET", **kw):
    c.request(method, target, headers, **kw)
    return c.read_response(method=method)


def test_make_file_deterministic():
    p, sha = make_file(ROOT, "again.bin", SMALL_LEN, 1)
    with open(p, "rb") as f:
        data = f.read()
    check(hashlib.sha1(data).hexdigest() == sha == SMALL_SHA, "sha1 differs")
    check(data[:8] != data[MIB:MIB + 8], "MiB blocks not distinguishable")
    check(CONTENT_NAME == "windows10.0-kb1_%s.cab" % CONTENT_SHA, CONTENT_NAME)


def test_origin_get_and_validators():
    with Emu(ROOT) as up, HttpConn(up.port) as c:
        r = get(c, "/c/small.bin")
        check(r.status == 200 and r.version == "HTTP/1.1", repr(r))
        check(r.framing == "length" and r.body_len == SMALL_LEN, repr(r))
        check(r.body_sha1 == SMALL_SHA, "body differs")
        check(r.header("Accept-Ranges") == "bytes", "no Accept-Ranges")
        etag, lm = r.header("ETag"), r.header("Last-Modified")
        check(etag and lm, "validators missing")
        # Same connection (keep-alive), absolute-form with a real WU host.
        r2 = get(c, WU + "/c/small.bin", [("Range", "bytes=0-9")])
        check(r2.status == 206, "status %d" % r2.status)
        check(r2.header("ETag") == etag and r2.header("Last-Modified") == lm,
              "validators changed between pieces")


def test_origin_ranges():
    with Emu(ROOT) as up, HttpConn(up.port) as c:
        n = SMALL_LEN
        cases = [("bytes=0-4874", 0, 4874), ("bytes=4875-11546", 4875, 11546),
                 ("bytes=%d-" % (n - 10), n - 10, n - 1),
                 ("bytes=-500", n - 500, n - 1),
                 ("bytes=100-%d" % (n * 2), 100, n - 1)]
        for rng, a, b in cases:
            r = get(c, "/c/small.bin", [("Range", rng)])
            check(r.status == 206, "%s: status %d" % (rng, r.status))
            check(r.header("Content-Range") == "bytes %d-%d/%d" % (a, b, n),
                  "%s: Content-Range %s" % (rng, r.header("Content-Range")))
            check(int(r.header("Content-Length")) == b - a + 1, rng)
            check(r.body == read_range(SMALL, a, b), "%s: wrong bytes" % rng)
        r = get(c, "/c/small.bin", [("Range", "bytes=%d-" % n)])
        check(r.status == 416, "status %d" % r.status)
        check(r.header("Content-Range") == "bytes */%d" % n,
              r.header("Content-Range"))
        # Multi-range is answered with the whole entity.
        r = get(c, "/c/small.bin", [("Range", "bytes=0-1,5-6")])
        check(r.status == 200 and r.body_len == n, "multi-range %d" % r.status)


def test_origin_head_and_404():
    with Emu(ROOT) as up, HttpConn(up.port) as c:
        r = get(c, "/c/small.bin", method="HEAD")
        check(r.status == 200 and r.framing == "none", repr(r))
        check(r.header("Content-Length") == str(SMALL_LEN), "HEAD length")
        r = get(c, "/nothing-here.cab")
        check(r.status == 404 and b"404" in r.body, repr(r))
        r = get(c, "/c/../c/small.bin")
        check(r.status == 400, "dot-dot gave %d" % r.status)


def test_origin_pipelining_in_fragments():
    with Emu(ROOT) as up, HttpConn(up.port) as c:
        reqs = b"".join(
            b"GET /c/small.bin HTTP/1.1\r\nHost: x\r\nRange: bytes=%d-%d\r\n\r\n"
            % (i * 10, i * 10 + 9) for i in range(3))
        reqs += b"HEAD /c/small.bin HTTP/1.1\r\nHost: x\r\n\r\n"
        c.send(reqs, fragments=[7, 30, 1, 50, 3])
        for i in range(3):
            r = c.read_response()
            check(r.status == 206 and
                  r.body == read_range(SMALL, i * 10, i * 10 + 9),
                  "pipelined response %d" % i)
        r = c.read_response(method="HEAD")
        check(r.status == 200 and r.body_len == 0, "pipelined HEAD")


def test_origin_sparse_over_4gib():
    with Emu(ROOT) as up, HttpConn(up.port) as c:
        a, b = BIG_LEN - 1010, BIG_LEN - 1
        r = get(c, "/sparse.cab", [("Range", "bytes=%d-%d" % (a, b))])
        check(r.status == 206, "status %d" % r.status)
        check(r.header("Content-Range") == "bytes %d-%d/%d" % (a, b, BIG_LEN),
              r.header("Content-Range"))
        want = bytearray(b - a + 1)
        want[10:19] = b"TAIL-MARK"
        check(r.body == bytes(want), "bytes near the end differ")
        r = get(c, "/sparse.cab", [("Range", "bytes=%d-%d" % (4 * GIB, 4 * GIB + 7))])
        check(r.body == b"FOUR-GIB", "bytes at 4 GiB: %r" % r.body)
        r = get(c, "/sparse.cab", method="HEAD")
        check(r.header("Content-Length") == str(BIG_LEN), "HEAD length > 4 GiB")


def test_no_range():
    with Emu(ROOT, "--no-range") as up, HttpConn(up.port) as c:
        r = get(c, "/c/small.bin", [("Range", "bytes=0-9")])
        check(r.status == 200 and r.body_len == SMALL_LEN, repr(r))
        check(r.body_sha1 == SMALL_SHA and not r.has("Content-Range"), "body")
        check(not r.has("Accept-Ranges"), "Accept-Ranges advertised")


def test_http10_close_delimited():
    with Emu(ROOT, "--http10", "--close-delimit") as up, HttpConn(up.port) as c:
        r = get(c, "/c/small.bin")
        check(r.version == "HTTP/1.0" and r.status == 200, repr(r))
        check(not r.has("Content-Length"), "Content-Length present")
        check(r.framing == "close" and r.body_sha1 == SMALL_SHA, repr(r))
        check(r.header("Connection") == "close", "no Connection: close")
        check(c.peer_closed(), "still open")
    with Emu(ROOT, "--http10") as up, HttpConn(up.port) as c:
        r = get(c, "/c/small.bin", method="HEAD")
        check(r.header("Content-Length") == str(SMALL_LEN), "HEAD length")
        check(c.peer_closed(), "HTTP/1.0 did not close after the response")


def test_head_no_length_and_validators():
    with Emu(ROOT, "--head-no-length", "--no-validators") as up, \
            HttpConn(up.port) as c:
        r = get(c, "/c/small.bin", method="HEAD")
        check(r.status == 200 and not r.has("Content-Length"), repr(r.headers))
        check(not r.has("ETag") and not r.has("Last-Modified"), "validators")
        r = get(c, "/c/small.bin")
        check(r.header("Content-Length") == str(SMALL_LEN), "GET length")


def test_reset_after():
    n = 200000
    with Emu(ROOT, "--reset-after", n) as up, HttpConn(up.port) as c:
        try:
            r = get(c, "/c/small.bin")
        except Truncated as t:
            check(t.expected == SMALL_LEN and t.got == n,
                  "got %d of %s" % (t.got, t.expected))
            check(t.response.body == read_range(SMALL, 0, n - 1), "prefix")
            check(c.reset, "closed without RST")
        else:
            check(False, "complete body presented: %r" % r)
        raw = raw_request(up.port, b"GET /c/small.bin HTTP/1.1\r\nHost: x\r\n"
                          b"Range: bytes=0-99\r\nConnection: close\r\n\r\n")
        check(raw.end == "eof" and raw.endswith(read_range(SMALL, 0, 99)),
              "short range should complete (%s)" % raw.end)


def test_auth_407_then_200():
    with Emu(ROOT, "--auth", "wsus:s3cret") as up, HttpConn(up.port) as c:
        r = get(c, WU + "/c/small.bin")
        check(r.status == 407, "status %d" % r.status)
        check(r.header("Proxy-Authenticate") == 'Basic realm="emu"',
              r.header("Proxy-Authenticate"))
        check(b"<html>" in r.body and r.header("Content-Type") == "text/html",
              "407 body")
        bad = "Basic d3N1czp3cm9uZw=="          # wsus:wrong
        r = get(c, WU + "/c/small.bin", [("Proxy-Authorization", bad)])
        check(r.status == 407, "wrong password gave %d" % r.status)
        good = "Basic d3N1czpzM2NyZXQ="         # wsus:s3cret
        r = get(c, WU + "/c/small.bin", [("Proxy-Authorization", good)])
        check(r.status == 200 and r.body_sha1 == SMALL_SHA, repr(r))


def test_echo_reports_request_exactly():
    with Emu(ROOT) as up, HttpConn(up.port) as c:
        body = b"x" * 70000
        c.send(b"POST http://sws.update.microsoft.com/echo/ClientWebService"
               b"?a=1 HTTP/1.1\r\nHost: sws.update.microsoft.com\r\n"
               b"X-Weird-CASE:  spaced value \r\nSOAPAction: \"urn:x\"\r\n"
               b"Transfer-Encoding: chunked\r\n\r\n"
               b"%x\r\n" % 30000 + body[:30000] + b"\r\n" +
               b"%x;ext=1\r\n" % 40000 + body[30000:] + b"\r\n0\r\n\r\n",
               fragments=[10, 100, 5000, 1, 40000])
        r = c.read_response()
        check(r.status == 200, "status %d" % r.status)
        j = json.loads(r.body)
        check(j["method"] == "POST" and j["version"] == "HTTP/1.1", j)
        check(j["target"] == "http://sws.update.microsoft.com/echo/"
              "ClientWebService?a=1", j["target"])
        check(j["headers"] == [["Host", "sws.update.microsoft.com"],
                               ["X-Weird-CASE", "spaced value"],
                               ["SOAPAction", "\"urn:x\""],
                               ["Transfer-Encoding", "chunked"]], j["headers"])
        check(j["body_len"] == len(body), j["body_len"])
        check(j["body_sha1"] == hashlib.sha1(body).hexdigest(), "sha1")
        r = get(c, "/echo", [("Content-Length", "3")], body=b"abc")
        j = json.loads(r.body)
        check(j["body_len"] == 3 and j["method"] == "GET", j)


def test_stats_and_log():
    with Emu(ROOT) as up:
        with HttpConn(up.port) as c:
            get(c, "/c/small.bin")
            get(c, "/c/small.bin", [("Range", "bytes=0-99")])
            get(c, "/c/small.bin", method="HEAD")
            get(c, "/" + CONTENT_NAME)
        s = up.stats()
        check(s["requests"] == 4, s)
        p = s["by_path"]["/c/small.bin"]
        check(p == {"get": 2, "head": 1, "other": 0,
                    "bytes": SMALL_LEN + 100}, p)
        check(s["by_path"]["/" + CONTENT_NAME]["bytes"] == 100000, s)
        log = up.log_lines()
        check([(x["method"], x["status"], x["body_bytes_sent"]) for x in log]
              == [("GET", 200, SMALL_LEN), ("GET", 206, 100), ("HEAD", 200, 0),
                  ("GET", 200, 100000)], log)
        check(log[1]["range"] == "bytes=0-99" and log[0]["range"] is None, log)
        check(len({x["conn_id"] for x in log}) == 1, "not one connection")


def test_please_wait_and_corrupt():
    with Emu(ROOT, "--please-wait") as up, HttpConn(up.port) as c:
        r = get(c, "/" + CONTENT_NAME)
        check(r.status == 200 and r.header("Content-Type") == "text/html", r)
        check(b"Please wait" in r.body, r.body[:100])
    with Emu(ROOT, "--corrupt") as up, HttpConn(up.port) as c:
        r = get(c, "/c/small.bin")
        with open(SMALL, "rb") as f:
            want = f.read()
        diff = [i for i in range(len(want)) if want[i] != r.body[i]] \
            if len(r.body) == len(want) else None
        check(diff == [SMALL_LEN // 2], "differing offsets %r" % diff)


def test_refuse_chunked_and_expect():
    with Emu(ROOT, "--refuse-chunked") as up:
        raw = raw_request(up.port, b"POST /echo HTTP/1.1\r\nHost: x\r\n"
                          b"Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n")
        check(raw.startswith(b"HTTP/1.1 411 "), raw[:40])
        raw = raw_request(up.port, b"POST /echo HTTP/1.1\r\nHost: x\r\n"
                          b"Expect: 100-continue\r\nContent-Length: 3\r\n\r\n")
        check(raw.startswith(b"HTTP/1.1 417 "), raw[:40])
    with Emu(ROOT) as up, HttpConn(up.port) as c:
        c.send(b"POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
               b"Content-Length: 3\r\n\r\n")
        time.sleep(0.1)
        c.send(b"abc")
        r = c.read_response()
        check([s for s, _, _ in r.interim] == [100] and r.status == 200, r)


def test_require_absolute():
    with Emu(ROOT, "--require-absolute") as up, HttpConn(up.port) as c:
        r = get(c, "/c/small.bin", [("Range", "bytes=0-0")])
        check(r.status == 400, "origin-form gave %d" % r.status)
    with Emu(ROOT, "--require-absolute") as up, HttpConn(up.port) as c:
        r = get(c, WU + "/c/small.bin", [("Range", "bytes=0-0")])
        check(r.status == 206, "absolute-form gave %d" % r.status)


def test_drop_connections():
    with Emu(ROOT, "--drop-connections", 2) as up:
        for _ in range(2):
            raw = raw_request(up.port, b"GET /c/small.bin HTTP/1.1\r\nHost: x"
                              b"\r\n\r\n", timeout=5)
            check(raw == b"", "dropped connection answered %r" % raw[:40])
        with HttpConn(up.port) as c:
            check(get(c, "/c/small.bin", method="HEAD").status == 200, "3rd")
        check(up.stats()["dropped"] == 2, "dropped count")


def test_nodelay_only_when_asked():
    # Read from the emulator's own socket, not inferred from timings.
    for flags, want in (((), False), (("--nodelay",), True)):
        with Emu(ROOT, *flags) as up, HttpConn(up.port) as c:
            r = get(c, "/c/small.bin", method="HEAD")
            check(r.status == 200, "HEAD %d" % r.status)
            mine = c.sock.getsockname()
            socks = [x for x in tcp_sockets(up.proc.pid)
                     if x[1][:2] == mine[:2]]
            check(len(socks) == 1, "emulator sockets %r" % socks)
            check(socks[0][2] == want, "%s: TCP_NODELAY %s" %
                  (" ".join(flags) or "default", socks[0][2]))


def test_requests_per_conn_closes_the_next_request_unanswered():
    with Emu(ROOT, "--requests-per-conn", 2) as up:
        with HttpConn(up.port) as c:
            for _ in range(2):
                r = get(c, "/c/small.bin", method="HEAD")
                check(r.status == 200, "HEAD %d" % r.status)
            c.request("GET", "/c/small.bin")
            check(c.peer_closed(5), "third request answered")
            check(not c.buf, "bytes before the close: %r" % bytes(c.buf))
        with HttpConn(up.port) as c:
            check(get(c, "/c/small.bin", method="HEAD").status == 200,
                  "a new connection is answered")
        st = up.stats()
        check(st["unanswered"] == 1, "unanswered %d" % st["unanswered"])
        check(st["connections"] == 3, "connections %d" % st["connections"])


def test_connect_tunnel():
    with Emu(ROOT) as origin, \
            Emu(ROOT, "--connect", "--auth", "a:b") as proxy, \
            HttpConn(proxy.port) as c:
        r = get(c, "127.0.0.1:%d" % origin.port, method="CONNECT",
                headers=[("Proxy-Authorization", "Basic YTpi")])
        check(r.status == 200, "CONNECT gave %d" % r.status)
        # Now a byte pipe to the origin.
        r = get(c, "/c/small.bin")
        check(r.status == 200 and r.body_sha1 == SMALL_SHA, repr(r))
        r = get(c, "/c/small.bin", [("Range", "bytes=5-9")])
        check(r.body == read_range(SMALL, 5, 9), "range through tunnel")
    with Emu(ROOT, "--connect") as proxy:
        raw = raw_request(proxy.port, b"CONNECT 192.0.2.1:443 HTTP/1.1\r\n"
                          b"Host: 192.0.2.1:443\r\nConnection: close\r\n\r\n")
        check(raw.startswith(b"HTTP/1.1 403 "), raw[:40])
        port = _closed_port()
        raw = raw_request(proxy.port, b"CONNECT localhost:%d HTTP/1.1\r\n"
                          b"Host: x\r\n\r\n" % port)
        check(raw.startswith(b"HTTP/1.1 502 "), raw[:40])


def _closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def test_slow_rate_chunked():
    with Emu(ROOT, "--slow-ms", 300) as up, HttpConn(up.port) as c:
        t0 = time.monotonic()
        get(c, "/c/small.bin", method="HEAD")
        check(time.monotonic() - t0 >= 0.29, "slow-ms not applied")
    with Emu(ROOT, "--rate", 1000000) as up, HttpConn(up.port) as c:
        t0 = time.monotonic()
        r = get(c, "/c/small.bin", [("Range", "bytes=0-499999")])
        dt = time.monotonic() - t0
        check(r.body == read_range(SMALL, 0, 499999), "throttled body")
        check(0.35 <= dt <= 3, "500 kB at 1 MB/s took %.2fs" % dt)
    with Emu(ROOT, "--chunked") as up, HttpConn(up.port) as c:
        r = get(c, "/c/small.bin")
        check(r.framing == "chunked" and r.body_sha1 == SMALL_SHA, repr(r))
        check(not r.has("Content-Length") and r.chunks[-1] == 0, r.chunks)


def test_bounded_memory():
    path, sha = make_file(ROOT, "m256.bin", 256 * MIB, 3)
    try:
        with Emu(ROOT) as up, HttpConn(up.port) as c:
            c.request("GET", "/m256.bin")
            # A slow start: the emulator must not buffer the file.
            time.sleep(0.5)
            r = c.read_response(keep_body=False)
            check(r.body_len == 256 * MIB and r.body_sha1 == sha, repr(r))
            with open("/proc/%d/status" % up.proc.pid) as f:
                hwm = [int(l.split()[1]) for l in f if l.startswith("VmHWM")][0]
            check(hwm < 40 * 1024, "upstream-emu peak RSS %d KiB" % hwm)
    finally:
        os.unlink(path)


def test_bad_requests():
    with Emu(ROOT) as up:
        raw = raw_request(up.port, b"GET /c/small.bin HTTP/1.1\r\nHost: x\r\n"
                          b"Content-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n")
        check(raw.startswith(b"HTTP/1.1 400 "), raw[:40])
        raw = raw_request(up.port, b"GET / HTTP/1.1\r\nX: " + b"a" * 70000 +
                          b"\r\n\r\n")
        check(raw.startswith(b"HTTP/1.1 431 "), raw[:40])


def test_clean_shutdown():
    """Exercise the abort paths, then SIGTERM: exit 0, nothing on stderr
    (a sanitizer build reports leaks there and exits non-zero)."""
    up = Emu(ROOT, "--reset-after", 1000, "--connect").start()
    try:
        with HttpConn(up.port) as c:
            try:
                get(c, "/c/small.bin")
            except Truncated:
                pass
        c = HttpConn(up.port)
        c.request("GET", "/c/small.bin", [("Range", "bytes=0-99")])
        c.send(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc")
        t = HttpConn(up.port)
        get(t, "127.0.0.1:%d" % up.port, method="CONNECT")
        t.send(b"GET /c/small.bin HTTP/1.1\r\nHost: x\r\n\r\n")
        time.sleep(0.2)
        g = HttpConn(up.port)
        g.send(b"GET /c/small.bin HTTP/1.1\r\n")       # half a head
        time.sleep(0.2)
        c.close()
    finally:
        rc = up.stop()          # with t and g still open
    t.close()
    g.close()
    err = up.stderr_text()
    check(rc == 0, "exit code %s; stderr: %s" % (rc, err[-2000:]))
    check(err == "", "stderr: %s" % err[-2000:])


if __name__ == "__main__":
    try:
        run([test_make_file_deterministic, test_origin_get_and_validators,
             test_origin_ranges, test_origin_head_and_404,
             test_origin_pipelining_in_fragments, test_origin_sparse_over_4gib,
             test_no_range, test_http10_close_delimited,
             test_head_no_length_and_validators, test_reset_after,
             test_auth_407_then_200, test_echo_reports_request_exactly,
             test_stats_and_log, test_please_wait_and_corrupt,
             test_refuse_chunked_and_expect, test_require_absolute,
             test_drop_connections, test_nodelay_only_when_asked,
             test_requests_per_conn_closes_the_next_request_unanswered,
             test_connect_tunnel,
             test_slow_rate_chunked, test_bounded_memory, test_bad_requests,
             test_clean_shutdown])
    finally:
        shutil.rmtree(ROOT, ignore_errors=True)
