#!/usr/bin/env python3
"""The pool of upstream connections ([upstream] idle_timeout, max_idle)
through real parents: connections counted where the parent sees them
(Squid's access log, the emulator's /__stats), never assumed. One
behaviour per test.

Tests marked POOL need the connection pool (proxy/pool.c); before it
lands the shim opens a fresh upstream connection per request, and they
fail on the connection count or on the emulator's "unanswered" count.
"""

import time

from harness import Emu, Shim, HttpConn, Truncated, check, run, make_file
from common import conf, tmpdir, wu_url, get
from squid import Squid

ROOT = tmpdir("pool-root-")
SMALL, SMALL_SHA = make_file(ROOT, "small.bin", 1024, seed=41)
MID, MID_SHA = make_file(ROOT, "mid.bin", 200000, seed=42)
BIG_SIZE = 3 * 1024 * 1024
BIG, BIG_SHA = make_file(ROOT, "big.bin", BIG_SIZE, seed=43)
N = 100


def pool_conf(parent_port, http_version="1.0", **up):
    """The shim in front of one parent (HTTP/1.0 toward it by default, as
    the shim's own default), upstream keys as given."""
    c = conf([parent_port], http_version=http_version)
    c["upstream"].update({k: str(v) for k, v in up.items()})
    return c


def walk(s, n, path="/small.bin", sha=SMALL_SHA):
    """n sequential GETs on one client keep-alive connection."""
    with HttpConn(s.port) as c:
        for i in range(n):
            r = get(c, wu_url(path))
            check(r.status == 200, "request %d: status %d" % (i, r.status))
            check(r.body_sha1 == sha, "request %d: body differs" % i)
            check(r.header("Connection") != "close",
                  "request %d: the shim closed the client connection" % i)


def one_parent_connection(http_version):
    with Emu(ROOT, "--nodelay") as up, Squid(up.port) as sq, \
            Shim(pool_conf(sq.port, http_version, max_idle=4,
                           idle_timeout="30s")) as s:
        walk(s, N)
        lines = sq.access(N)
        check(len([ln for ln in lines if ln.status == 200]) == N,
              "squid logged %d 200s" % len(lines))
        conns = sq.client_ports(lines)
        check(len(conns) == 1, "HTTP/%s: the parent saw %d connections "
              "from the shim for %d sequential requests, want 1" %
              (http_version, len(conns), N))


def test_pool_100_requests_use_one_parent_connection_http10():
    # POOL: an HTTP/1.0 request must ask Squid for keep-alive.
    one_parent_connection("1.0")


def test_pool_100_requests_use_one_parent_connection_http11():
    # POOL
    one_parent_connection("1.1")


def test_max_idle_0_opens_a_connection_per_request():
    with Emu(ROOT, "--nodelay") as up, Squid(up.port) as sq, \
            Shim(pool_conf(sq.port, max_idle=0)) as s:
        walk(s, N)
        lines = sq.access(N)
        conns = sq.sequential_connections(lines)
        check(conns == N, "the parent saw %d connections, want %d" %
              (conns, N))


def emu_connections(up):
    """(connections the emulator accepted less the one this /__stats call
    uses, GETs of /small.bin). Call it once per test: each call is a
    connection."""
    st = up.stats()
    return st["connections"] - 1, st["by_path"]["/small.bin"]["get"]


def test_pool_100_requests_one_connection_at_the_emulator():
    # POOL: counted by the parent's accept() itself.
    with Emu(ROOT, "--nodelay") as up, \
            Shim(pool_conf(up.port, max_idle=4, idle_timeout="30s")) as s:
        walk(s, N)
        n, gets = emu_connections(up)
        check(gets == N, "origin GETs %d" % gets)
        check(n == 1, "the parent accepted %d connections for %d "
              "sequential requests, want 1" % (n, N))


def test_max_idle_0_at_the_emulator():
    with Emu(ROOT, "--nodelay") as up, \
            Shim(pool_conf(up.port, max_idle=0)) as s:
        walk(s, N)
        n, gets = emu_connections(up)
        check(gets == N, "origin GETs %d" % gets)
        check(n == N, "the parent accepted %d connections, want %d" % (n, N))


def test_pool_stale_connection_is_retried_for_a_get():
    # POOL: the emulator answers one request per connection and closes the
    # next one unanswered, as a parent whose idle timer fired just as the
    # request went out. Every GET still succeeds; "unanswered" proves the
    # shim did reuse a connection (and then retried on a fresh one).
    with Emu(ROOT, "--nodelay", "--requests-per-conn", 1) as up, \
            Shim(pool_conf(up.port, max_idle=4, idle_timeout="30s")) as s:
        walk(s, 5)
        st = up.stats()
        check(st["by_path"]["/small.bin"]["get"] == 5,
              "origin served %d GETs" % st["by_path"]["/small.bin"]["get"])
        check(st["unanswered"] >= 1, "no request went on a reused "
              "connection (unanswered %d): nothing was pooled" %
              st["unanswered"])
        check(st["unanswered"] <= 5, "unanswered %d" % st["unanswered"])


def test_squid_idle_timeout_between_requests():
    # Squid closes an idle client connection after 1 s; the next GET,
    # 2 s later, must succeed (POOL: the pooled connection is stale).
    with Emu(ROOT, "--nodelay") as up, \
            Squid(up.port, client_idle_pconn_timeout=1) as sq, \
            Shim(pool_conf(sq.port, max_idle=4, idle_timeout="60s")) as s, \
            HttpConn(s.port) as c:
        for i in range(3):
            r = get(c, wu_url("/small.bin"))
            check(r.status == 200 and r.body_sha1 == SMALL_SHA,
                  "request %d: %s" % (i, r))
            time.sleep(2.0 if i < 2 else 0)
        check(len([ln for ln in sq.access(3) if ln.status == 200]) == 3,
              "squid log %r" % sq.access())


def test_parent_killed_and_restarted_between_requests():
    with Emu(ROOT, "--nodelay") as up, Squid(up.port) as sq, \
            Shim(pool_conf(sq.port, max_idle=4, idle_timeout="60s")) as s, \
            HttpConn(s.port) as c:
        r = get(c, wu_url("/small.bin"))
        check(r.status == 200 and r.body_sha1 == SMALL_SHA, "first: %s" % r)
        # Squid logs when the transaction ends, maybe after our last byte.
        check(len(sq.access(1)) == 1, "first line never logged")
        sq.kill()
        sq.restart()
        r = get(c, wu_url("/small.bin"))
        check(r.status == 200 and r.body_sha1 == SMALL_SHA,
              "after the restart: %s" % r)
        check(len([ln for ln in sq.access(2) if ln.status == 200]) == 2,
              "squid log %r" % sq.access())


def test_reset_mid_body_is_never_presented_as_complete():
    # Squid's parent resets after 1 MiB of a file body: the 3 MiB file
    # must end short at the client (Truncated), before and after pooled
    # requests on the same connections, and the next request still works.
    with Emu(ROOT, "--nodelay", "--reset-after", 1024 * 1024) as up, \
            Squid(up.port) as sq, \
            Shim(pool_conf(sq.port, max_idle=4, idle_timeout="30s")) as s:
        for round_ in range(2):
            with HttpConn(s.port, timeout=20) as c:
                r = get(c, wu_url("/mid.bin"))
                check(r.status == 200 and r.body_sha1 == MID_SHA,
                      "round %d: small file %s" % (round_, r))
                try:
                    r = get(c, wu_url("/big.bin"))
                except Truncated as e:
                    check(e.got < BIG_SIZE,
                          "round %d: truncated after the whole body?" %
                          round_)
                else:
                    check(r.status != 200 or r.body_sha1 != BIG_SHA,
                          "round %d: a reset body arrived whole?" % round_)
                    check(r.status >= 500, "round %d: a reset body was "
                          "presented as complete: %s" % (round_, r))
            with HttpConn(s.port) as c:
                r = get(c, wu_url("/mid.bin"))
                check(r.status == 200 and r.body_sha1 == MID_SHA,
                      "round %d: after the reset: %s" % (round_, r))


run([v for k, v in sorted(globals().items()) if k.startswith("test_")])
