#!/usr/bin/env python3
"""Ranges of a sparse 5 GiB file: 64-bit offsets and lengths through the
shim. Cache mode would copy 5 GiB, so: pass mode with a parent and direct
(the origin honours Range), and slice mode with a parent that ignores Range
for a range near the start. A wrong answer is never read in full (a 200
would be 5 GiB): the head is checked first. One behaviour per test.
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Emu, Shim, HttpConn, Truncated, HarnessError, check, run,
                     make_sparse, GIB)
from common import conf, wu_url, get, scratch

ROOT = scratch("range-large-root-")
TOTAL = 5 * GIB                                  # 5368709120
MARKS = {TOTAL - 120: b"LAST-120-BYTES>", TOTAL - 9: b"END-MARK!",
         4 * GIB - 3: b"<4GiB|>4GiB", 1000: b"NEAR-START", 2 * GIB: b"2GiB"}
BIG = make_sparse(os.path.join(ROOT, "c"), "sparse-5gib.cab", TOTAL, MARKS)
PATH = "/c/sparse-5gib.cab"
URL = wu_url(PATH)


def expected(a, b):
    """Bytes a..b of the sparse file, built from MARKS (no 5 GiB read)."""
    out = bytearray(b - a + 1)
    for off, data in MARKS.items():
        for i, ch in enumerate(data):
            if a <= off + i <= b:
                out[off + i - a] = ch
    return bytes(out)


def small_range(c, url, rng, limit=1 << 20, host=None):
    """Send a ranged GET; read the head; read the body only when the
    answer promises at most limit bytes. Returns (response, body or None)."""
    c.request("GET", url, headers=[("Range", rng)],
              host=host or url.split("/")[2])
    r = c.read_response(head_only=True)
    cl = r.header("Content-Length")
    if r.header("Transfer-Encoding") is None and cl is not None and \
            cl.isdigit() and int(cl) <= limit:
        body = bytearray()
        n = int(cl)
        while len(body) < n:
            b = c._take(n - len(body))
            if not b:
                raise Truncated("eof after %d of %d" % (len(body), n), r, n,
                                len(body))
            body += b
        return r, bytes(body)
    c.close()
    return r, None


def expect_exact(r, body, a, b, what):
    want_cr = "bytes %d-%d/%d" % (a, b, TOTAL)
    check(r.status == 206, "%s: status %d (Content-Range %r, Content-Length "
          "%r)" % (what, r.status, r.header("Content-Range"),
                   r.header("Content-Length")))
    check(r.header("Content-Range") == want_cr, "%s: Content-Range %r, want "
          "%r" % (what, r.header("Content-Range"), want_cr))
    check(r.header("Content-Length") == str(b - a + 1),
          "%s: Content-Length %r" % (what, r.header("Content-Length")))
    check(body == expected(a, b), "%s: wrong bytes" % what)


TAIL = (TOTAL - 120, TOTAL - 1)                 # bytes=5368709000-5368709119
CASES = [("bytes=%d-%d" % TAIL, TAIL[0], TAIL[1]),
         ("bytes=%d-%d" % (4 * GIB - 8, 4 * GIB + 8), 4 * GIB - 8,
          4 * GIB + 8),
         ("bytes=-9", TOTAL - 9, TOTAL - 1),
         ("bytes=%d-" % (TOTAL - 50), TOTAL - 50, TOTAL - 1),
         ("bytes=%d-%d" % (2 * GIB - 1, 2 * GIB + 4), 2 * GIB - 1,
          2 * GIB + 4)]


def test_tail_range_of_5gib_in_pass_mode_through_a_parent():
    check(TAIL == (5368709000, 5368709119), "TAIL %r" % (TAIL,))
    with Emu(ROOT) as up, Shim(conf([up.port], mode="pass")) as s, \
            HttpConn(s.port) as c:
        for rng, a, b in CASES:
            r, body = small_range(c, URL, rng)
            expect_exact(r, body, a, b, rng)


def test_tail_range_of_5gib_in_pass_mode_direct():
    with Emu(ROOT) as origin, Shim(conf([], mode="pass")) as s, \
            HttpConn(s.port) as c:
        url = "http://127.0.0.1:%d%s" % (origin.port, PATH)
        for rng, a, b in CASES:
            r, body = small_range(c, url, rng)
            expect_exact(r, body, a, b, rng)


def test_head_of_5gib_gives_the_64bit_length():
    with Emu(ROOT, "--http10") as up, \
            Shim(conf([up.port], mode="pass")) as s, \
            HttpConn(s.port) as c:
        h = get(c, URL, method="HEAD")
        check(h.status == 200, "status %d" % h.status)
        check(h.header("Content-Length") == str(TOTAL),
              "Content-Length %r" % h.header("Content-Length"))


def test_range_past_the_end_of_5gib_is_416():
    with Emu(ROOT) as up, Shim(conf([up.port], mode="pass")) as s, \
            HttpConn(s.port) as c:
        r, body = small_range(c, URL, "bytes=%d-" % TOTAL)
        check(r.status == 416, "status %d" % r.status)
        check(r.header("Content-Range") == "bytes */%d" % TOTAL,
              "Content-Range %r" % r.header("Content-Range"))


def test_slice_near_the_start_of_5gib_closes_the_upstream():
    with Emu(ROOT, "--http10", "--no-range") as up, \
            Shim(conf([up.port], mode="slice")) as s, HttpConn(s.port) as c:
        t0 = time.monotonic()
        r, body = small_range(c, URL, "bytes=990-5085")
        expect_exact(r, body, 990, 5085, "bytes=990-5085")
        check(time.monotonic() - t0 < 10, "slow slice")
        # The shim hung up on the upstream instead of draining 5 GiB.
        sent = None
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:     # bounded wait for the log
            lines = up.log_lines()
            if lines:
                sent = lines[-1]["body_bytes_sent"]
                break
            time.sleep(0.1)
        check(sent is not None, "the upstream response never ended")
        check(sent < GIB, "the upstream sent %d bytes for a 4 KiB slice" %
              sent)


def test_slice_far_beyond_the_discard_cap_never_gives_wrong_bytes():
    a, b = TAIL
    with Emu(ROOT, "--http10", "--no-range") as up, \
            Shim(conf([up.port], mode="slice")) as s, HttpConn(s.port) as c:
        try:
            r, body = small_range(c, URL, "bytes=%d-%d" % (a, b))
        except (Truncated, HarnessError):
            return                  # aborted: no false success
        if r.status == 206:
            expect_exact(r, body, a, b, "beyond the cap")
        else:
            check(r.status >= 500, "status %d (Content-Length %r)" %
                  (r.status, r.header("Content-Length")))
            check(not r.has("Content-Range"), "Content-Range on a %d" %
                  r.status)


run([v for k, v in sorted(globals().items()) if k.startswith("test_")])
