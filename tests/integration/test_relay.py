#!/usr/bin/env python3
"""The relay: correct HTTP/1.1 to the client whatever a legacy HTTP/1.0
upstream does, and a normalized request toward it. One behaviour per test.
"""

import base64
import json
import os
import socket
import time

from harness import (Emu, Shim, HttpConn, Truncated, check, run, make_file,
                     free_port, raw_request, tcp_sockets, MIB)
from common import conf, wu_url, get, tmpdir, WU_HOST

ROOT = tmpdir("relay-root-")
SMALL, SMALL_SHA = make_file(ROOT, "small.bin", 300000, seed=1)
OTHER, OTHER_SHA = make_file(ROOT, "other.bin", 70000, seed=2)
THIRD, THIRD_SHA = make_file(ROOT, "third.bin", 1234, seed=3)


def echo(conn, url, headers=(), method="GET", body=b"", version="HTTP/1.1"):
    conn.request(method, url, headers=headers, body=body, version=version,
                 host=url.split("/")[2])
    r = conn.read_response(method=method)
    check(r.status == 200, "echo status %s" % r.status)
    return r, json.loads(r.body)


def hdr(j, name):
    return [v for k, v in j["headers"] if k.lower() == name.lower()]


def test_close_delimited_upstream_is_rechunked_and_kept_alive():
    with Emu(ROOT, "--http10", "--close-delimit") as up, \
            Shim(conf([up.port])) as s, HttpConn(s.port) as c:
        for _ in range(2):
            r = get(c, wu_url("/small.bin"))
            check(r.status == 200, "status %d" % r.status)
            check(r.version == "HTTP/1.1", "version %s" % r.version)
            check(r.framing == "chunked", "framing %s" % r.framing)
            check(r.body_sha1 == SMALL_SHA, "body differs")
            check(r.header("Connection") != "close", "connection closed")
        check(not c.peer_closed(0.3), "shim closed a keep-alive connection")


def test_content_length_passes_through():
    with Emu(ROOT, "--http10") as up, Shim(conf([up.port])) as s, \
            HttpConn(s.port) as c:
        r = get(c, wu_url("/small.bin"))
        check(r.framing == "length", "framing %s" % r.framing)
        check(r.header("Content-Length") == "300000", "length %s" %
              r.header("Content-Length"))
        check(r.body_sha1 == SMALL_SHA, "body differs")


def test_http10_client_gets_close_delimited_body():
    with Emu(ROOT, "--http10", "--close-delimit") as up, \
            Shim(conf([up.port])) as s, HttpConn(s.port) as c:
        r = get(c, wu_url("/other.bin"), version="HTTP/1.0")
        check(r.framing == "close", "framing %s" % r.framing)
        check(r.header("Transfer-Encoding") is None, "chunked to 1.0")
        check(r.body_sha1 == OTHER_SHA, "body differs")


def test_request_is_normalized_for_a_legacy_proxy():
    with Emu(ROOT, "--http10") as up, Shim(conf([up.port])) as s, \
            HttpConn(s.port) as c:
        r, j = echo(c, wu_url("/echo/x?y=1"), headers=[
            ("Connection", "keep-alive, X-Hop"), ("X-Hop", "1"),
            ("Keep-Alive", "300"), ("Proxy-Connection", "Keep-Alive"),
            ("TE", "trailers"), ("Upgrade", "h2c"),
            ("Proxy-Authorization", "Basic Y2xpZW50OnNlY3JldA=="),
            ("Accept-Encoding", "gzip, deflate"),
            ("User-Agent", "Microsoft BITS/7.8"), ("X-End", "kept")])
        check(j["method"] == "GET", "method %s" % j["method"])
        check(j["target"] == "http://%s/echo/x?y=1" % WU_HOST,
              "target %s" % j["target"])
        check(j["version"] == "HTTP/1.0", "version %s" % j["version"])
        for gone in ("X-Hop", "Keep-Alive", "TE", "Upgrade",
                     "Proxy-Authorization"):
            check(hdr(j, gone) == [], "%s forwarded" % gone)
        # The client's connection fields never pass; the shim asks the
        # 1.0 parent for keep-alive itself (its connections are pooled).
        check(hdr(j, "Proxy-Connection") == ["keep-alive"],
              "Proxy-Connection %s" % hdr(j, "Proxy-Connection"))
        check(hdr(j, "Connection") == ["keep-alive"],
              "Connection %s" % hdr(j, "Connection"))
        check(hdr(j, "Host") == [WU_HOST], "Host %s" % hdr(j, "Host"))
        check(hdr(j, "Accept-Encoding") == ["identity"],
              "Accept-Encoding %s" % hdr(j, "Accept-Encoding"))
        check(any("wsus-shim" in v for v in hdr(j, "Via")), "no Via")
        check(hdr(j, "X-End") == ["kept"], "end-to-end header lost")
        check(hdr(j, "User-Agent") == ["Microsoft BITS/7.8"], "UA lost")


def test_direct_mode_sends_origin_form():
    with Emu(ROOT) as origin, Shim(conf([])) as s, HttpConn(s.port) as c:
        r, j = echo(c, "http://127.0.0.1:%d/echo/direct" % origin.port)
        check(j["target"] == "/echo/direct", "target %s" % j["target"])
        check(hdr(j, "Host") == ["127.0.0.1:%d" % origin.port],
              "Host %s" % hdr(j, "Host"))


def test_basic_auth_is_added_by_the_shim():
    with Emu(ROOT, "--http10", "--auth", "CORP\\svc:pa ss") as up, \
            Shim(conf([up.port], user="CORP\\svc", password="pa ss")) as s, \
            HttpConn(s.port) as c:
        r, j = echo(c, wu_url("/echo/auth"))
        want = "Basic " + base64.b64encode(b"CORP\\svc:pa ss").decode()
        check(hdr(j, "Proxy-Authorization") == [want],
              "auth %s" % hdr(j, "Proxy-Authorization"))
        check("pa ss" not in s.stderr_text(), "password in the log")


def test_refused_credentials_give_502():
    with Emu(ROOT, "--http10", "--auth", "u:right") as up, \
            Shim(conf([up.port], user="u", password="wrong")) as s, \
            HttpConn(s.port) as c:
        r = get(c, wu_url("/small.bin"))
        check(r.status == 502, "status %d" % r.status)
        check(b"credentials" in r.body, "body %r" % r.body)


def test_407_without_configured_credentials_passes_through():
    with Emu(ROOT, "--http10", "--auth", "u:p") as up, \
            Shim(conf([up.port])) as s, HttpConn(s.port) as c:
        r = get(c, wu_url("/small.bin"))
        check(r.status == 407, "status %d" % r.status)
        check(r.has("Proxy-Authenticate"), "challenge dropped")


def test_expect_100_continue_is_answered_by_the_shim():
    body = os.urandom(5000)
    with Emu(ROOT, "--http10", "--refuse-chunked") as up, \
            Shim(conf([up.port])) as s, HttpConn(s.port) as c:
        c.send(("POST %s HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n"
                "Expect: 100-continue\r\n\r\n" %
                (wu_url("/echo/post"), WU_HOST, len(body))).encode())
        c.sock.settimeout(5)
        first = c.sock.recv(64)
        check(first.startswith(b"HTTP/1.1 100 Continue\r\n\r\n"),
              "no 100 Continue: %r" % first)
        c.buf += first[len(b"HTTP/1.1 100 Continue\r\n\r\n"):]
        c.send(body)
        r = c.read_response()
        check(r.status == 200, "status %d" % r.status)
        j = json.loads(r.body)
        check(hdr(j, "Expect") == [], "Expect forwarded")
        check(j["body_len"] == len(body), "body_len %d" % j["body_len"])


def _chunked(body, size):
    out = b""
    for i in range(0, len(body), size):
        piece = body[i:i + size]
        out += b"%x\r\n" % len(piece) + piece + b"\r\n"
    return out + b"0\r\n\r\n"


def test_chunked_request_body_becomes_content_length():
    import hashlib
    body = os.urandom(40000)
    with Emu(ROOT, "--http10", "--refuse-chunked") as up, \
            Shim(conf([up.port])) as s, HttpConn(s.port) as c:
        c.send(("POST %s HTTP/1.1\r\nHost: %s\r\nTransfer-Encoding: "
                "chunked\r\n\r\n" % (wu_url("/echo/c"), WU_HOST)).encode() +
               _chunked(body, 3000), fragments=[1, 2, 3, 50, 7, 100, 4000])
        r = c.read_response()
        check(r.status == 200, "status %d: %r" % (r.status, r.body[:200]))
        j = json.loads(r.body)
        check(hdr(j, "Content-Length") == [str(len(body))],
              "CL %s" % hdr(j, "Content-Length"))
        check(hdr(j, "Transfer-Encoding") == [], "TE forwarded")
        check(j["body_sha1"] == hashlib.sha1(body).hexdigest(), "body sha")


def test_large_chunked_body_is_spooled_to_disk():
    import hashlib
    body = os.urandom(3 * MIB)
    with Emu(ROOT, "--http10", "--refuse-chunked") as up, \
            Shim(conf([up.port], limits={"body_memory": "64K",
                                         "max_body": "8M"})) as s, \
            HttpConn(s.port) as c:
        c.send(("POST %s HTTP/1.1\r\nHost: %s\r\nTransfer-Encoding: "
                "chunked\r\n\r\n" % (wu_url("/echo/big"), WU_HOST)).encode() +
               _chunked(body, 65536))
        r = c.read_response()
        j = json.loads(r.body)
        check(j["body_len"] == len(body), "body_len %d" % j["body_len"])
        check(j["body_sha1"] == hashlib.sha1(body).hexdigest(), "body sha")


def test_body_over_max_body_gets_413_and_is_not_forwarded():
    with Emu(ROOT, "--http10") as up, \
            Shim(conf([up.port], limits={"max_body": "1M"})) as s:
        out = raw_request(s.port, ("POST %s HTTP/1.1\r\nHost: %s\r\n"
                                   "Content-Length: 2097152\r\n\r\n" %
                                   (wu_url("/echo/x"), WU_HOST)).encode(),
                          timeout=5)
        check(out.startswith(b"HTTP/1.1 413 "), "got %r" % out[:40])
        check(up.stats()["requests"] == 0, "forwarded")


def test_pipelined_requests_are_answered_in_order():
    with Emu(ROOT, "--http10", "--close-delimit") as up, \
            Shim(conf([up.port])) as s, HttpConn(s.port) as c:
        reqs = b""
        for name in ("small.bin", "other.bin", "third.bin"):
            reqs += ("GET %s HTTP/1.1\r\nHost: %s\r\n\r\n" %
                     (wu_url("/" + name), WU_HOST)).encode()
        c.send(reqs)
        for want in (SMALL_SHA, OTHER_SHA, THIRD_SHA):
            r = c.read_response()
            check(r.status == 200, "status %d" % r.status)
            check(r.body_sha1 == want, "response out of order")


def test_truncated_length_body_is_never_complete():
    with Emu(ROOT, "--http10", "--reset-after", "100000") as up, \
            Shim(conf([up.port])) as s, HttpConn(s.port) as c:
        try:
            r = get(c, wu_url("/small.bin"))
        except Truncated as e:
            check(e.got < 300000, "got everything")
            return
        check(False, "a truncated body was presented as complete: %r" % r)


def test_truncated_close_delimited_body_gets_no_last_chunk():
    with Emu(ROOT, "--http10", "--close-delimit", "--reset-after",
             "100000") as up, Shim(conf([up.port])) as s, \
            HttpConn(s.port) as c:
        try:
            r = get(c, wu_url("/small.bin"))
        except Truncated:
            return
        check(False, "terminating chunk after a reset upstream: %r" % r)


def test_failover_to_the_second_parent():
    dead = free_port()
    with Emu(ROOT, "--http10") as up, \
            Shim(conf([dead, up.port])) as s, HttpConn(s.port) as c:
        r = get(c, wu_url("/third.bin"))
        check(r.status == 200 and r.body_sha1 == THIRD_SHA,
              "status %d" % r.status)
        line = s.wait_access_lines(1)[-1]
        check("127.0.0.1:%d" % up.port in line, "access line %s" % line)


def test_parent_that_closes_without_answering_is_skipped():
    with Emu(ROOT, "--drop-connections", "100") as bad, \
            Emu(ROOT, "--http10") as up, \
            Shim(conf([bad.port, up.port])) as s, HttpConn(s.port) as c:
        r = get(c, wu_url("/third.bin"))
        check(r.status == 200 and r.body_sha1 == THIRD_SHA,
              "status %d" % r.status)


def test_all_parents_down_gives_502_quickly():
    with Shim(conf([free_port(), free_port()])) as s, HttpConn(s.port) as c:
        t0 = time.monotonic()
        r = get(c, wu_url("/third.bin"))
        check(r.status == 502, "status %d" % r.status)
        check(b"request id:" in r.body, "no request id in %r" % r.body)
        check(time.monotonic() - t0 < 5, "slow 502")


def test_silent_upstream_gives_504():
    with Emu(ROOT, "--http10", "--slow-ms", "4000") as up, \
            Shim(conf([up.port], limits={"first_byte_timeout": "500ms"})) \
            as s, HttpConn(s.port) as c:
        r = get(c, wu_url("/third.bin"))
        check(r.status == 504, "status %d" % r.status)


def test_error_request_id_is_in_the_access_log():
    with Shim(conf([free_port()])) as s, HttpConn(s.port) as c:
        r = get(c, wu_url("/x"))
        rid = r.header("X-Wsus-Shim-Request-Id")
        check(rid and rid.encode() in r.body, "id %s / %r" % (rid, r.body))
        line = s.wait_access_lines(1)[-1]
        check(rid in line and " GET " in line and "/502 " in line,
              "access line %s" % line)


def test_head_keeps_length_and_has_no_body():
    with Emu(ROOT, "--http10") as up, Shim(conf([up.port])) as s, \
            HttpConn(s.port) as c:
        r = get(c, wu_url("/small.bin"), method="HEAD")
        check(r.status == 200, "status %d" % r.status)
        check(r.header("Content-Length") == "300000",
              "length %s" % r.header("Content-Length"))
        r2 = get(c, wu_url("/third.bin"))
        check(r2.body_sha1 == THIRD_SHA, "HEAD left a body behind")


def test_client_and_upstream_sockets_have_nodelay():
    # A response head and its body leave in separate writes (a cached
    # body by sendfile). With Nagle's algorithm on, each keep-alive
    # response's body waited for the client's delayed ACK: 44 ms for a
    # small file from the cache. Checked mid-transfer, while both
    # connections are open.
    with Emu(ROOT, "--http10", "--rate", str(256 * 1024)) as up, \
            Shim(conf([up.port])) as s, HttpConn(s.port) as c:
        c.request("GET", wu_url("/small.bin"), host=WU_HOST)
        # The upstream socket shows up while it connects; the shim sets
        # the option when the connect completes (before its first write):
        # look until both are set or the deadline passes.
        deadline = time.monotonic() + 10
        client = c.sock.getsockname()
        mine, upstream = [], []
        while time.monotonic() < deadline:
            socks = tcp_sockets(s.pid)
            mine = [x for x in socks if x[1][:2] == client[:2]]
            upstream = [x for x in socks if x[1][1] == up.port]
            if len(mine) == 1 and len(upstream) == 1 and mine[0][2] and \
                    upstream[0][2]:
                break
            time.sleep(0.02)
        check(len(mine) == 1 and len(upstream) == 1,
              "sockets of the shim: %r" % socks)
        check(mine[0][2], "client socket without TCP_NODELAY")
        check(upstream[0][2], "upstream socket without TCP_NODELAY")
        r = c.read_response()
        check(r.status == 200 and r.body_sha1 == SMALL_SHA,
              "status %d or body differs" % r.status)


def test_access_log_has_one_line_per_request():
    with Emu(ROOT, "--http10") as up, Shim(conf([up.port])) as s, \
            HttpConn(s.port) as c:
        for _ in range(3):
            get(c, wu_url("/third.bin"))
        lines = s.wait_access_lines(3)
        check(len(lines) == 3, "%d lines" % len(lines))
        f = lines[0].split()
        check(f[3] == "pass/200", "plan/status %s" % f[3])
        check(f[4] == "1234" or int(f[4]) > 1234, "bytes out %s" % f[4])
        check(f[5] == "GET" and f[6] == wu_url("/third.bin"), "method/url")


run([v for k, v in sorted(globals().items()) if k.startswith("test_")])
