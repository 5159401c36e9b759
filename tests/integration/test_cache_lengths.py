#!/usr/bin/env python3
"""Lengths early: a parent that close-delimits its GET bodies (an HTTP/1.0
legacy proxy) gives no length until the last byte. The shim then asks it
for a HEAD alongside the GET; with the length from the HEAD, a range that
arrives during the fill is answered as its bytes arrive instead of after
the whole file. Without any length at all, the answer waits for the whole
file: measured here, and written down in docs/cache.md. The parent sends
the body at a fixed rate so that "during the fill" is seconds long.
"""

import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Emu, Shim, HttpConn, check, run, make_content_file, MIB
from common import (conf, BITS_HEADERS, content_root, content_url,
                    content_path, ranged, expect_206, shim_status, scratch,
                    plans)

ROOT, CDIR = content_root("cache-lengths-root-")
SIZE = 8 * MIB + 77
RATE = 4 * MIB                       # the fill takes about 2 s
FILL_S = SIZE / RATE
LEGACY = ("--http10", "--no-range", "--close-delimit", "--rate", str(RATE))


def content(i):
    return make_content_file(CDIR, "windows10.0-kb503%04d-x64" % i, SIZE,
                             seed=100 + i)


def timed_range(port, url, first, last, path):
    """A ranged GET on a new connection: (seconds to the complete
    answer), after checking it is the exact 206."""
    t0 = time.monotonic()
    with HttpConn(port, timeout=30) as c:
        r = ranged(c, url, "bytes=%d-%d" % (first, last),
                   headers=BITS_HEADERS)
    dt = time.monotonic() - t0
    expect_206(r, first, last, SIZE, path)
    return dt


def wait_fills(port, n, timeout=15):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:          # bounded: timeout
        st = shim_status(port)["cache"]
        if st["fills"] >= n:
            return st
        time.sleep(0.1)
    return shim_status(port)["cache"]


def test_head_gives_the_length_ranges_answered_during_the_fill():
    path, name, _ = content(1)
    url = content_url(name)
    cache = scratch("cache-lengths-head-")
    with Emu(ROOT, *LEGACY) as up, \
            Shim(conf([up.port], mode="cache",
                      extra={"cache": {"dir": cache}})) as s:
        first = timed_range(s.port, url, 0, 99, path)
        # A range in the middle, asked while the fill runs: answered once
        # its bytes are in (about half the fill), not at the end.
        mid = timed_range(s.port, url, 3 * MIB, 4 * MIB - 1, path)
        print("note: %.1f s fill; bytes=0-99 in %.2f s, then a range "
              "ending at 4 MiB in %.2f s" % (FILL_S, first, mid))
        check(first < 0.5 * FILL_S, "bytes=0-99 took %.2f s of a %.1f s "
              "fill" % (first, FILL_S))
        st = wait_fills(s.port, 1)
        check(st["fills"] == 1, "cache %r" % st)
        ps = up.path_stats(content_path(name))
        check(ps["head"] == 1 and ps["get"] == 1, "parent saw %r" % ps)
        # The committed entry is exact.
        check(timed_range(s.port, url, SIZE - 100, SIZE - 1, path) < 1,
              "the hit was slow")
        check([p for p, _ in plans(s, 3)][-1] == "cache-hit", "plans")


def test_no_length_at_all_the_range_waits_for_the_whole_file():
    path, name, _ = content(2)
    url = content_url(name)
    cache = scratch("cache-lengths-none-")
    with Emu(ROOT, *LEGACY, "--head-no-length") as up, \
            Shim(conf([up.port], mode="cache",
                      extra={"cache": {"dir": cache}})) as s:
        # BITS first sends a HEAD: with no length anywhere, its answer
        # waits for the fill too; then the first range is a hit.
        t0 = time.monotonic()
        with HttpConn(s.port, timeout=30) as c:
            h = ranged(c, url, None, headers=BITS_HEADERS, method="HEAD")
        head_s = time.monotonic() - t0
        check(h.status == 200 and h.header("Content-Length") == str(SIZE),
              "HEAD %d %r" % (h.status, h.header("Content-Length")))
        first = timed_range(s.port, url, 0, 99, path)
        print("note: no length anywhere: HEAD answered after %.2f s "
              "(the fill takes %.1f s), then bytes=0-99 in %.2f s"
              % (head_s, FILL_S, first))
        check(head_s > 0.7 * FILL_S, "HEAD answered in %.2f s: before the "
              "length could be known?" % head_s)
        # The client's HEAD, passed on; the fill's own HEAD.
        ps = up.path_stats(content_path(name))
        check(ps["head"] == 2 and ps["get"] == 1, "parent saw %r" % ps)


def test_head_length_larger_than_max_size_is_sliced():
    path, name, _ = content(3)
    url = content_url(name)
    cache = scratch("cache-lengths-max-")
    fast = ("--http10", "--no-range", "--close-delimit")
    with Emu(ROOT, *fast) as up, \
            Shim(conf([up.port], mode="cache",
                      extra={"cache": {"dir": cache, "max_size": "2M"}})) \
            as s:
        for first in (0, 5 * MIB, SIZE - MIB):
            last = min(SIZE - 1, first + MIB - 1)
            timed_range(s.port, url, first, last, path)
        ps = [p for p, _ in plans(s, 3)]
        check(ps == ["slice"] * 3, "plans %s" % ps)
        check(not any(f.endswith(".data") for _, _, fs in os.walk(cache)
                      for f in fs), "cached above max_size")


def test_head_that_is_a_notice_page_gives_no_length():
    # The parent answers the HEAD with its "please wait" page (200
    # text/html, 112 bytes) while the GET brings the file: that length is
    # not the file's. Taking it once gave 206 "bytes 0-111/112" for a file
    # of megabytes (found by the soak).
    path, name, _ = content(4)
    url = content_url(name)
    cache = scratch("cache-lengths-notice-")
    with Emu(ROOT, *LEGACY, "--head-please-wait") as up, \
            Shim(conf([up.port], mode="cache",
                      extra={"cache": {"dir": cache}})) as s:
        timed_range(s.port, url, 0, 99, path)
        timed_range(s.port, url, SIZE - 100, SIZE - 1, path)
        st = wait_fills(s.port, 1)
        check(st["fills"] == 1 and st["rejected"] == 0, "cache %r" % st)
        with HttpConn(s.port, timeout=30) as c:
            r = ranged(c, url, "bytes=0-1048575", headers=BITS_HEADERS)
        expect_206(r, 0, MIB - 1, SIZE, path)


def test_head_length_the_body_runs_past_is_never_sliced_with():
    # The parent's HEAD says 4 KiB less than its GET then sends. The fill
    # takes the HEAD's length, the body runs past it, and the fill stops:
    # the URL is served without the cache from then on. The wrong length
    # must not be kept for that (cache_refuse): a range sliced with it
    # would say "bytes 0-99/<too small>" for good.
    path, name, _ = content(5)
    url = content_url(name)
    cache = scratch("cache-lengths-short-")
    with Emu(ROOT, *LEGACY, "--head-short", "4096") as up, \
            Shim(conf([up.port], mode="cache",
                      extra={"cache": {"dir": cache}})) as s:
        # The range that starts the fill is answered with the HEAD's
        # length: nothing tells it apart yet.
        with HttpConn(s.port, timeout=30) as c:
            r = ranged(c, url, "bytes=0-99", headers=BITS_HEADERS)
        check(r.status == 206, "first range %d" % r.status)
        # Until the fill has stopped (bounded).
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if shim_status(s.port)["cache"]["rejected"] >= 1:
                break
            time.sleep(0.1)
        st = shim_status(s.port)["cache"]
        check(st["rejected"] == 1 and st["fills"] == 0, "cache %r" % st)
        with HttpConn(s.port, timeout=30) as c:
            r = ranged(c, url, "bytes=0-99", headers=BITS_HEADERS)
        wrong = "bytes 0-99/%d" % (SIZE - 4096)
        check(r.header("Content-Range") != wrong,
              "sliced with the HEAD's wrong length: %s" % wrong)
        check(r.status != 200, "a ranged GET answered 200")
        if r.status == 206:
            expect_206(r, 0, 99, SIZE, path)
        print("note: after the fill stopped, bytes=0-99 got %d %r"
              % (r.status, r.header("Content-Range")))


if __name__ == "__main__":
    run([test_head_gives_the_length_ranges_answered_during_the_fill,
         test_no_length_at_all_the_range_waits_for_the_whole_file,
         test_head_length_larger_than_max_size_is_sliced,
         test_head_that_is_a_notice_page_gives_no_length,
         test_head_length_the_body_runs_past_is_never_sliced_with])
