#!/usr/bin/env python3
"""The pool of upstream connections: reuse, keep-alive rules toward 1.0
and 1.1 parents, idle timeout, stale connections, and what never rides a
parked connection. The parent's TCP connections are counted by the
emulator (/__stats), not assumed. One behaviour per test.
"""

import json
import time

from harness import Emu, Shim, HttpConn, Truncated, check, run, make_file
from common import conf, wu_url, get, tmpdir

ROOT = tmpdir("pool-root-")
SMALL, SMALL_SHA = make_file(ROOT, "small.bin", 3000, seed=11)
BIG, BIG_SHA = make_file(ROOT, "big.bin", 400000, seed=12)


def connections(up):
    """Parent connections so far, counting the ones that ask for /__stats:
    differences of two calls count one /__stats connection, which
    since() takes off."""
    return up.stats()["connections"]


def since(up, before):
    return connections(up) - before - 1


def walk(shim, n, path="/small.bin", sha=SMALL_SHA):
    """n sequential GETs on one client keep-alive connection."""
    with HttpConn(shim.port) as c:
        for i in range(n):
            r = get(c, wu_url(path))
            check(r.status == 200, "request %d: status %d" % (i, r.status))
            check(r.body_sha1 == sha, "request %d: body differs" % i)


def pooled(parents, http_version="1.1", **upstream):
    d = conf(parents, http_version=http_version)
    d["upstream"].update(upstream)
    return d


def test_one_parent_connection_for_100_requests():
    with Emu(ROOT) as up, Shim(pooled([up.port])) as s:
        before = connections(up)
        walk(s, 100)
        got = since(up, before)
        check(got == 1, "the parent saw %d connections, not 1" % got)


def test_http10_parent_that_says_keep_alive_is_reused():
    # The emulator answers a 1.0 request that asked for keep-alive with
    # "Connection: keep-alive" (an old proxy's way of saying it keeps it).
    with Emu(ROOT) as up, Shim(pooled([up.port], "1.0")) as s:
        before = connections(up)
        walk(s, 20)
        got = since(up, before)
        check(got == 1, "the parent saw %d connections, not 1" % got)


def test_http10_parent_that_closes_gets_a_connection_each():
    with Emu(ROOT, "--http10") as up, Shim(pooled([up.port], "1.0")) as s:
        before = connections(up)
        walk(s, 20)
        got = since(up, before)
        check(got == 20, "the parent saw %d connections, not 20" % got)


def test_max_idle_0_turns_the_pool_off():
    with Emu(ROOT) as up, Shim(pooled([up.port], max_idle="0")) as s:
        before = connections(up)
        walk(s, 20)
        got = since(up, before)
        check(got == 20, "the parent saw %d connections, not 20" % got)


def test_idle_connection_is_closed_after_idle_timeout():
    with Emu(ROOT) as up, \
            Shim(pooled([up.port], idle_timeout="300ms")) as s:
        before = connections(up)
        walk(s, 1)
        time.sleep(0.8)
        walk(s, 1)
        got = since(up, before)
        check(got == 2, "the parent saw %d connections, not 2" % got)


def test_stale_parked_connection_is_replaced_once():
    # Each parent connection answers one request and closes at the next
    # one without a word, as when its keep-alive timer fires as the
    # request arrives: every second request meets a stale connection.
    with Emu(ROOT, "--requests-per-conn", "1") as up, \
            Shim(pooled([up.port])) as s:
        before = up.stats()
        walk(s, 10)
        after = up.stats()
        req = after["requests"] - before["requests"]
        check(req == 10, "the parent answered %d requests, not 10" % req)
        log = s.stderr_text()
        check("held down" not in log and "failing over" not in log,
              "a stale connection counted as a parent failure")


def test_post_never_rides_a_parked_connection():
    body = b"x" * 5000
    with Emu(ROOT, "--requests-per-conn", "1") as up, \
            Shim(pooled([up.port])) as s, HttpConn(s.port) as c:
        r = get(c, wu_url("/small.bin"))  # parks a connection
        check(r.status == 200, "GET status %d" % r.status)
        c.request("POST", wu_url("/echo/post"), body=body,
                  host=wu_url("/").split("/")[2])
        r = c.read_response(method="POST")
        check(r.status == 200, "POST status %d (%r)" % (r.status, r.body))
        j = json.loads(r.body)
        check(j["body_len"] == len(body), "body %s" % j["body_len"])
        st = up.path_stats("/echo/post")
        check(st["other"] == 1, "the parent saw %d POSTs" % st["other"])


def test_reset_mid_body_on_a_reused_connection_is_never_complete():
    with Emu(ROOT, "--reset-after", "100000") as up, \
            Shim(pooled([up.port])) as s, HttpConn(s.port) as c:
        c.request("GET", wu_url("/echo/warm"),
                  host=wu_url("/").split("/")[2])
        r = c.read_response()
        check(r.status == 200, "warm-up status %d" % r.status)
        try:
            r = get(c, wu_url("/big.bin"))
        except Truncated as e:
            check(e.got < 400000, "got everything")
            return
        check(False, "a truncated body was presented as complete: %r" % r)


run([v for k, v in sorted(globals().items()) if k.startswith("test_")])
