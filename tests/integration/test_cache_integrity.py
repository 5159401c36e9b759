#!/usr/bin/env python3
"""The content cache never keeps or presents bad content: a body whose
SHA-1 does not match the name, a body cut short by the upstream, and a
"please wait" HTML page where a binary was expected. The parent is the
legacy emulator (HTTP/1.0, Range ignored, close-delimited, HEAD without
length) plus the fault flag. One behaviour per test.
"""

import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Emu, Shim, HttpConn, Truncated, HarnessError, check, run,
                     make_content_file, MIB)
from common import (conf, LEGACY, BITS_HEADERS, content_root, content_url,
                    content_path, ranged, expect_206, shim_status, scratch)

ROOT, CDIR = content_root("cache-integrity-root-")
SIZE = 4 * MIB + 321
FILE, NAME, SHA = make_content_file(CDIR, "windows10.0-kb4023057-x64", SIZE,
                                    seed=51)
URL = content_url(NAME)
CPATH = content_path(NAME)
MID = SIZE // 2                    # the byte --corrupt flips
CUT = 1 * MIB + 17                 # --reset-after


def outcome(fn):
    """("aborted", exc) when the connection ended before a complete answer,
    else ("response", r)."""
    try:
        return "response", fn()
    except (Truncated, HarnessError, OSError) as e:
        return "aborted", e


def no_false_success(kind, r, what):
    """An aborted connection or an error status; never a complete 2xx."""
    if kind == "aborted":
        return
    check(not 200 <= r.status < 300, "%s: a complete %d with %d bytes "
          "(Content-Range %r) of a bad body" % (what, r.status, r.body_len,
                                               r.header("Content-Range")))
    check(r.status >= 500, "%s: status %d" % (what, r.status))
    check(not r.has("Content-Range"), "%s: Content-Range on a %d" %
          (what, r.status))


def one(port, rng, headers=(), timeout=30):
    with HttpConn(port, timeout=timeout) as c:
        return outcome(lambda: ranged(c, URL, rng, headers=headers))


def gets(up):
    return up.path_stats(CPATH)["get"]


# ---- a body that does not match the SHA-1 in its name ---------------------


def test_corrupt_body_is_never_a_complete_success():
    with Emu(ROOT, *(LEGACY + ("--corrupt",))) as up, \
            Shim(conf([up.port], mode="cache")) as s:
        cases = [(None, BITS_HEADERS, "BITS, no Range"),
                 (None, (("User-Agent", "curl/8.5"),), "no Range"),
                 ("bytes=%d-" % (MID - 1000), BITS_HEADERS,
                  "BITS, bytes=MID-1000-"),
                 ("bytes=%d-%d" % (MID - 10, SIZE - 1), (),
                  "bytes=MID-10-last"),
                 ("bytes=-%d" % (SIZE - MID + 5), BITS_HEADERS,
                  "BITS, suffix over the middle")]
        for rng, hdrs, what in cases:
            kind, r = one(s.port, rng, hdrs)
            no_false_success(kind, r, what)


def test_corrupt_body_is_not_cached():
    with Emu(ROOT, *(LEGACY + ("--corrupt",))) as up, \
            Shim(conf([up.port], mode="cache")) as s:
        seen = gets(up)
        for i, rng in enumerate((None, "bytes=0-99", "bytes=-100", None)):
            one(s.port, rng, BITS_HEADERS)
            now = gets(up)
            check(now > seen, "request %d (%s) was not sent upstream: the "
                  "corrupt body was cached" % (i, rng or "no Range"))
            seen = now


def test_corrupt_fill_is_counted_as_rejected():
    with Emu(ROOT, *(LEGACY + ("--corrupt",))) as up, \
            Shim(conf([up.port], mode="cache")) as s:
        before = shim_status(s.port)
        check(isinstance(before.get("cache"), dict), "no cache object in %s"
              % before)
        one(s.port, None, BITS_HEADERS)
        time.sleep(0.3)
        after = shim_status(s.port)["cache"]
        check(after["rejected"] >= before["cache"]["rejected"] + 1,
              "rejected %d -> %d" % (before["cache"]["rejected"],
                                     after["rejected"]))
        check(after["fills"] == before["cache"]["fills"],
              "a corrupt fill counted as a fill (%d -> %d)" %
              (before["cache"]["fills"], after["fills"]))


# ---- an upstream that dies mid-body ----------------------------------------


def _concurrent(port, specs):
    """Run one request per spec (rng, headers) at once; returns outcomes."""
    out = [None] * len(specs)
    gate = threading.Barrier(len(specs), timeout=10)

    def go(i, rng, hdrs):
        try:
            gate.wait()
        except threading.BrokenBarrierError:
            pass
        if i:
            time.sleep(0.2)             # the first one starts the fill
        out[i] = one(port, rng, hdrs)

    ts = [threading.Thread(target=go, args=(i, rng, hdrs), daemon=True)
          for i, (rng, hdrs) in enumerate(specs)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(60)
    check(not any(t.is_alive() for t in ts), "a client hangs")
    return out


TRUNCATED_SPECS = [(None, (("User-Agent", "curl/8.5"),)),
                   ("bytes=%d-%d" % (CUT + 1000, CUT + 5000), BITS_HEADERS),
                   ("bytes=%d-%d" % (CUT - 5000, CUT + 5000), BITS_HEADERS),
                   (None, BITS_HEADERS),
                   ("bytes=-100", ())]


def _truncated_fill(flags):
    specs = TRUNCATED_SPECS
    with Emu(ROOT, *(flags + ("--reset-after", CUT, "--rate",
                              "4000000"))) as up, \
            Shim(conf([up.port], mode="cache")) as s:
        res = _concurrent(s.port, specs)
        for (rng, hdrs), (kind, r) in zip(specs, res):
            what = "%s%s" % (rng or "no Range",
                             ", BITS" if hdrs is BITS_HEADERS else "")
            no_false_success(kind, r, what)


def test_truncated_close_delimited_fill_fails_every_waiting_client():
    _truncated_fill(LEGACY)


def test_truncated_fill_aborts_clients_whose_answer_has_begun():
    # With a Content-Length the total is known at once, so 206 and 200
    # heads can go out before the cut; those connections must be aborted.
    _truncated_fill(("--http10", "--no-range"))


def test_truncated_fill_is_not_committed():
    cache = scratch("cache-truncated-")
    extra = {"cache": {"dir": cache}}
    with Emu(ROOT, *(LEGACY + ("--reset-after", CUT))) as bad:
        with Shim(conf([bad.port], mode="cache", extra=extra)) as s:
            kind, r = one(s.port, None, BITS_HEADERS)
            no_false_success(kind, r, "first fill")
            n1 = gets(bad)
            check(n1 >= 1, "the fill never reached the upstream")
            kind, r = one(s.port, "bytes=0-99", BITS_HEADERS)
            check(gets(bad) > n1, "the next request did not start a fresh "
                  "fill (upstream GETs %d)" % gets(bad))
    # A healthy upstream and a new shim on the same cache folder: nothing
    # of the cut fills may be served; a fresh fill gives the whole file.
    with Emu(ROOT, *LEGACY) as good, \
            Shim(conf([good.port], mode="cache", extra=extra)) as s, \
            HttpConn(s.port, timeout=30) as c:
        r = ranged(c, URL, "bytes=%d-%d" % (CUT - 10, CUT + 10),
                   headers=BITS_HEADERS)
        expect_206(r, CUT - 10, CUT + 10, SIZE, FILE, "after the cut")
        r = ranged(c, URL, None, headers=BITS_HEADERS)
        check(r.status == 200 and r.body_sha1 == SHA,
              "status %d, %d bytes" % (r.status, r.body_len))
        check(gets(good) == 1, "upstream GETs %d after the restart" %
              gets(good))


# ---- an entry damaged on disk between two runs ----------------------------


def _files_of_size(top, size):
    out = []
    for d, _, names in os.walk(top):
        for n in names:
            p = os.path.join(d, n)
            if os.path.getsize(p) == size:
                out.append(p)
    return out


def test_entry_cut_short_on_disk_is_refetched_not_served():
    cache = scratch("cache-damaged-")
    extra = {"cache": {"dir": cache}}
    with Emu(ROOT, *LEGACY) as up:
        with Shim(conf([up.port], mode="cache", extra=extra)) as s, \
                HttpConn(s.port, timeout=30) as c:
            r = ranged(c, URL, None, headers=BITS_HEADERS)
            check(r.status == 200 and r.body_sha1 == SHA, "first fill: "
                  "status %d" % r.status)
            time.sleep(0.5)             # let the commit land
        data = _files_of_size(cache, SIZE)
        check(len(data) == 1, "cannot find the entry's data file of %d "
              "bytes in %s: %s" % (SIZE, cache, data))
        with open(data[0], "r+b") as f:
            f.truncate(SIZE // 2)
        n = gets(up)
        with Shim(conf([up.port], mode="cache", extra=extra)) as s, \
                HttpConn(s.port, timeout=30) as c:
            kind, r = outcome(lambda: ranged(c, URL, "bytes=-100",
                                             headers=BITS_HEADERS))
            check(kind == "response", "aborted: %s" % (r,))
            expect_206(r, SIZE - 100, SIZE - 1, SIZE, FILE, "bytes=-100")
            check(gets(up) == n + 1, "upstream GETs %d -> %d: the damaged "
                  "entry was not refetched" % (n, gets(up)))


# ---- a "please wait" page instead of the binary -----------------------------


def test_please_wait_page_is_a_502():
    with Emu(ROOT, "--http10", "--please-wait") as up, \
            Shim(conf([up.port], mode="cache")) as s:
        for rng, hdrs in ((None, BITS_HEADERS), ("bytes=0-4874", BITS_HEADERS),
                          (None, ())):
            kind, r = one(s.port, rng, hdrs)
            check(kind == "response", "%s: aborted (%s), want a 502" %
                  (rng, r))
            check(r.status == 502, "%s: status %d, Content-Type %r" %
                  (rng, r.status, r.header("Content-Type")))


def test_please_wait_page_is_not_cached():
    with Emu(ROOT, "--http10", "--please-wait") as up, \
            Shim(conf([up.port], mode="cache")) as s:
        for i in range(3):
            one(s.port, "bytes=0-99" if i else None, BITS_HEADERS)
            check(gets(up) == i + 1, "request %d: upstream GETs %d" %
                  (i, gets(up)))


run([v for k, v in sorted(globals().items()) if k.startswith("test_")])
