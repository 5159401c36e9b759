#!/usr/bin/env python3
"""The content cache in range mode cache: one upstream fetch per file
shared by concurrent clients, ranges served while the fill runs, entries
that survive a restart, access-log plans and the status counters.
The parent is the legacy emulator (HTTP/1.0, Range ignored,
close-delimited, HEAD without length). One behaviour per test.
"""

import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Emu, Shim, HttpConn, check, run, make_file,
                     make_content_file, MIB)
from common import (conf, wu_url, LEGACY, content_root, content_url,
                    content_path, ranged, expect_206, plans, shim_status,
                    scratch)

ROOT, CDIR = content_root("cache-fill-root-")
SIZE = 12 * MIB + 777
FILE, NAME, SHA = make_content_file(CDIR, "windows10.0-kb5005565-x64", SIZE,
                                    seed=41)
URL = content_url(NAME)
SMALL_SIZE = 1 * MIB + 3
SMALL, SMALL_NAME, SMALL_SHA = make_content_file(
    CDIR, "windows6.1-kb2533552-x64", SMALL_SIZE, seed=42, ext="msu")
SMALL_URL = content_url(SMALL_NAME)
PLAIN, PLAIN_SHA = make_file(os.path.join(ROOT, "misc"), "authrootstl.bin",
                             400000, seed=43)
PLAIN_URL = wu_url("/misc/authrootstl.bin")


def _client(port, rng, start, results, idx):
    try:
        with HttpConn(port, timeout=30) as c:
            start.wait(10)
            results[idx] = ("ok", ranged(c, URL, rng))
    except Exception as e:              # reported by the main thread
        results[idx] = ("error", e)


def test_ten_concurrent_clients_share_one_upstream_fetch():
    n = SIZE
    wants = [None, ("bytes=0-4874", 0, 4874), None,
             ("bytes=-500", n - 500, n - 1),
             ("bytes=%d-%d" % (6 * MIB, 6 * MIB + 9999), 6 * MIB,
              6 * MIB + 9999),
             None, ("bytes=100-", 100, n - 1), ("bytes=0-0", 0, 0), None,
             ("bytes=%d-%d" % (11 * MIB, 12 * MIB), 11 * MIB, 12 * MIB)]
    with Emu(ROOT, *(LEGACY + ("--rate", "16000000"))) as up, \
            Shim(conf([up.port], mode="cache")) as s:
        start = threading.Barrier(len(wants), timeout=10)
        results = [None] * len(wants)
        threads = [threading.Thread(target=_client, args=(
            s.port, w[0] if w else None, start, results, i), daemon=True)
            for i, w in enumerate(wants)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        check(not any(t.is_alive() for t in threads), "a client hangs")
        for i, (w, res) in enumerate(zip(wants, results)):
            check(res is not None, "client %d: no result" % i)
            kind, r = res
            check(kind == "ok", "client %d (%s): %r" %
                  (i, w[0] if w else "no Range", r))
            if w is None:
                check(r.status == 200, "client %d: status %d" % (i, r.status))
                check(r.body_sha1 == SHA, "client %d: %d bytes, body "
                      "differs" % (i, r.body_len))
            else:
                expect_206(r, w[1], w[2], n, FILE, "client %d %s" % (i, w[0]))
        st = up.path_stats(content_path(NAME))
        check(st["get"] == 1, "upstream GETs %d (%s)" % (st["get"], st))
        check(st["bytes"] == n, "upstream sent %d body bytes" % st["bytes"])


def test_early_range_is_served_while_the_fill_runs():
    # 12 MiB at 3 MB/s: the fill takes about 4 s. The parent sends a
    # Content-Length (with a close-delimited body the total, needed for
    # Content-Range, is known only at the end).
    with Emu(ROOT, "--http10", "--no-range", "--rate", "3000000") as up, \
            Shim(conf([up.port], mode="cache")) as s, \
            HttpConn(s.port, timeout=30) as first, \
            HttpConn(s.port, timeout=30) as early:
        t0 = time.monotonic()
        first.request("GET", URL, headers=[("Range", "bytes=-100")],
                      host=URL.split("/")[2])
        time.sleep(0.5)
        r = ranged(early, URL, "bytes=0-65535")
        t_early = time.monotonic() - t0
        expect_206(r, 0, 65535, SIZE, FILE)
        last = first.read_response()
        t_last = time.monotonic() - t0
        expect_206(last, SIZE - 100, SIZE - 1, SIZE, FILE, "bytes=-100")
        check(t_last > 2.5, "the fill ended after %.1f s: rate not applied?"
              % t_last)
        check(t_early < t_last - 1.5, "the early range waited for the whole "
              "fill (%.1f s, fill %.1f s)" % (t_early, t_last))
        st = up.path_stats(content_path(NAME))
        check(st["get"] == 1, "upstream GETs %d" % st["get"])


def test_entry_survives_a_restart():
    cache = scratch("cache-restart-")
    cfg_extra = {"cache": {"dir": cache}}
    with Emu(ROOT, *LEGACY) as up:
        with Shim(conf([up.port], mode="cache", extra=cfg_extra)) as s1, \
                HttpConn(s1.port) as c:
            r = ranged(c, SMALL_URL, None)
            check(r.status == 200 and r.body_sha1 == SMALL_SHA,
                  "first shim: status %d, %d bytes" % (r.status, r.body_len))
            time.sleep(0.5)             # let the commit (fsync, rename) land
        before = up.stats()
        check(up.path_stats(content_path(SMALL_NAME))["get"] == 1,
              "first fill: %s" % before["by_path"])
        with Shim(conf([up.port], mode="cache", extra=cfg_extra)) as s2, \
                HttpConn(s2.port) as c:
            r = ranged(c, SMALL_URL, "bytes=100-199")
            expect_206(r, 100, 199, SMALL_SIZE, SMALL, "after the restart")
            r = ranged(c, SMALL_URL, None)
            check(r.status == 200 and r.body_sha1 == SMALL_SHA,
                  "after the restart: status %d" % r.status)
            after = up.stats()
            check(after["requests"] == before["requests"],
                  "the restarted shim asked the upstream (%d -> %d "
                  "requests)" % (before["requests"], after["requests"]))
            got = [p for p, _ in plans(s2, 2)]
            check(got == ["cache-hit", "cache-hit"], "plans %s" % got)


def test_plain_url_is_cached_too():
    # No SHA-1 in the name: nothing to verify, still cached.
    with Emu(ROOT, *LEGACY) as up, Shim(conf([up.port], mode="cache")) as s, \
            HttpConn(s.port) as c:
        for a, b in ((0, 99), (399900, 399999), (5000, 6000)):
            expect_206(ranged(c, PLAIN_URL, "bytes=%d-%d" % (a, b)), a, b,
                       400000, PLAIN)
        st = up.path_stats("/misc/authrootstl.bin")
        check(st["get"] == 1, "upstream GETs %d" % st["get"])


def test_access_log_plans_fill_then_hit():
    with Emu(ROOT, *LEGACY) as up, Shim(conf([up.port], mode="cache")) as s, \
            HttpConn(s.port) as c:
        expect_206(ranged(c, SMALL_URL, "bytes=0-99"), 0, 99, SMALL_SIZE,
                   SMALL)
        # The fill may still be running after the first 100 bytes; the last
        # byte of the file means it is complete.
        expect_206(ranged(c, SMALL_URL, "bytes=-10"), SMALL_SIZE - 10,
                   SMALL_SIZE - 1, SMALL_SIZE, SMALL)
        time.sleep(0.3)
        expect_206(ranged(c, SMALL_URL, "bytes=10-19"), 10, 19, SMALL_SIZE,
                   SMALL)
        got = plans(s, 3)
        check(got[0] == ("cache-fill", "206"), "first line %s" % (got,))
        check(got[2] == ("cache-hit", "206"), "third line %s" % (got,))


def test_status_page_counts_fills_and_hits():
    with Emu(ROOT, *LEGACY) as up, Shim(conf([up.port], mode="cache")) as s, \
            HttpConn(s.port) as c:
        st0 = shim_status(s.port)
        check(isinstance(st0.get("cache"), dict), "no cache object in %s" %
              st0)
        for k in ("hits", "misses", "fills", "rejected"):
            check(isinstance(st0["cache"].get(k), int),
                  "cache.%s missing in %s" % (k, st0["cache"]))
        r = ranged(c, SMALL_URL, None)
        check(r.status == 200 and r.body_sha1 == SMALL_SHA, "fill failed")
        time.sleep(0.3)
        st1 = shim_status(s.port)["cache"]
        check(st1["fills"] >= st0["cache"]["fills"] + 1,
              "fills %d -> %d" % (st0["cache"]["fills"], st1["fills"]))
        check(st1["misses"] >= st0["cache"]["misses"] + 1,
              "misses %d -> %d" % (st0["cache"]["misses"], st1["misses"]))
        for i in range(3):
            expect_206(ranged(c, SMALL_URL, "bytes=%d-%d" % (i, i + 9)),
                       i, i + 9, SMALL_SIZE, SMALL)
        st2 = shim_status(s.port)["cache"]
        check(st2["hits"] >= st1["hits"] + 3, "hits %d -> %d" %
              (st1["hits"], st2["hits"]))
        check(st2["rejected"] == st0["cache"]["rejected"], "rejected %d -> %d"
              % (st0["cache"]["rejected"], st2["rejected"]))


run([v for k, v in sorted(globals().items()) if k.startswith("test_")])
