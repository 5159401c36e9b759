#!/usr/bin/env python3
"""The range engine: every form of Range (RFC 9110) gets the exact answer
whatever the upstream did with it. One behaviour per test; the parent is
the legacy emulator (HTTP/1.0, Range ignored, close-delimited, HEAD without
length) unless a test says otherwise.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Emu, Shim, HttpConn, Truncated, HarnessError, check, run,
                     make_file, make_content_file, MIB)
from common import (conf, wu_url, get, LEGACY, content_root, content_url,
                    content_path, ranged, expect_206, plans)

ROOT, CDIR = content_root("range-forms-root-")
SIZE = 3 * MIB + 123
FILE, NAME, SHA = make_content_file(CDIR, "windows10.0-kb5000001-x64", SIZE,
                                    seed=11)
URL = content_url(NAME)
PLAIN, PLAIN_SHA = make_file(os.path.join(ROOT, "misc"), "plain.bin",
                             8 * MIB + 5, seed=12)
PLAIN_URL = wu_url("/misc/plain.bin")
PLAIN_SIZE = 8 * MIB + 5


def test_single_range_forms_in_cache_mode():
    n = SIZE
    cases = [("bytes=0-0", 0, 0), ("bytes=0-4874", 0, 4874),
             ("bytes=4875-11546", 4875, 11546),
             ("bytes=100-", 100, n - 1), ("bytes=%d-" % (n - 1), n - 1, n - 1),
             ("bytes=-500", n - 500, n - 1), ("bytes=-1", n - 1, n - 1),
             ("bytes=10-%d" % (2 * n), 10, n - 1),
             ("bytes=-%d" % (n + 100), 0, n - 1),
             ("bytes=%d-%d" % (MIB - 3, 2 * MIB + 2), MIB - 3, 2 * MIB + 2),
             ("bytes=0-%d" % (n - 1), 0, n - 1)]
    with Emu(ROOT, *LEGACY) as up, Shim(conf([up.port], mode="cache")) as s, \
            HttpConn(s.port) as c:
        for rng, a, b in cases:
            r = ranged(c, URL, rng)
            expect_206(r, a, b, n, FILE, rng)


def test_range_past_the_end_is_416_with_the_total():
    with Emu(ROOT, *LEGACY) as up, Shim(conf([up.port], mode="cache")) as s, \
            HttpConn(s.port) as c:
        for rng in ("bytes=%d-" % SIZE,
                    "bytes=%d-%d" % (SIZE + 10, SIZE + 20)):
            r = ranged(c, URL, rng)
            check(r.status == 416, "%s: status %d" % (rng, r.status))
            check(r.header("Content-Range") == "bytes */%d" % SIZE,
                  "%s: Content-Range %r" % (rng, r.header("Content-Range")))


def test_zero_suffix_is_416():
    # RFC 9110 14.1.1: a suffix-length of zero never overlaps the entity.
    with Emu(ROOT, *LEGACY) as up, Shim(conf([up.port], mode="cache")) as s, \
            HttpConn(s.port) as c:
        r = ranged(c, URL, "bytes=-0")
        check(r.status == 416, "status %d" % r.status)
        check(r.header("Content-Range") == "bytes */%d" % SIZE,
              "Content-Range %r" % r.header("Content-Range"))


def test_multi_range_is_coalesced_with_a_legacy_upstream():
    with Emu(ROOT, *LEGACY) as up, Shim(conf([up.port], mode="cache")) as s, \
            HttpConn(s.port) as c:
        r = ranged(c, URL, "bytes=0-9,20-29")
        expect_206(r, 0, 29, SIZE, FILE, "bytes=0-9,20-29")
        check(not (r.header("Content-Type") or "").startswith(
            "multipart/"), "multipart answer")
        r = ranged(c, URL, "bytes=500-599, 100-199")
        expect_206(r, 100, 599, SIZE, FILE, "bytes=500-599, 100-199")


def test_multi_range_is_coalesced_with_a_range_capable_origin():
    # The emulator answers a multi-range request with the whole entity.
    with Emu(ROOT) as up, Shim(conf([up.port], mode="cache")) as s, \
            HttpConn(s.port) as c:
        r = ranged(c, URL, "bytes=0-9,20-29")
        expect_206(r, 0, 29, SIZE, FILE, "bytes=0-9,20-29")


def test_invalid_range_is_ignored():
    with Emu(ROOT, *LEGACY) as up, Shim(conf([up.port], mode="cache")) as s, \
            HttpConn(s.port) as c:
        for rng in ("bytes=abc", "items=0-1", "bytes=1-2-3", "bytes 0-1"):
            r = ranged(c, URL, rng)
            check(r.status == 200, "%s: status %d" % (rng, r.status))
            check(r.body_sha1 == SHA, "%s: body differs (%d bytes)" %
                  (rng, r.body_len))
            check(not r.has("Content-Range"), "%s: Content-Range on a 200"
                  % rng)


def test_invalid_range_is_ignored_with_a_range_capable_origin():
    with Emu(ROOT) as up, Shim(conf([up.port], mode="cache")) as s, \
            HttpConn(s.port) as c:
        for rng in ("bytes=abc", "items=0-1"):
            r = ranged(c, URL, rng)
            check(r.status == 200, "%s: status %d" % (rng, r.status))
            check(r.body_sha1 == SHA, "%s: body differs" % rng)


def test_upstream_206_is_passed_through_when_correct():
    with Emu(ROOT) as up, Shim(conf([up.port], mode="pass")) as s, \
            HttpConn(s.port) as c:
        for rng, a, b in (("bytes=0-4874", 0, 4874), ("bytes=-500",
                          SIZE - 500, SIZE - 1), ("bytes=2000000-", 2000000,
                                                  SIZE - 1)):
            expect_206(ranged(c, URL, rng), a, b, SIZE, FILE, rng)


def _never_206_without_content_range(mode):
    with Emu(ROOT, "--no-content-range") as up, \
            Shim(conf([up.port], mode=mode)) as s:
        for rng, a, b in (("bytes=100-199", 100, 199),
                          ("bytes=-300", SIZE - 300, SIZE - 1)):
            with HttpConn(s.port) as c:
                try:
                    r = ranged(c, URL, rng)
                except (Truncated, HarnessError) as e:
                    check(False, "%s: no usable answer: %s" % (rng, e))
            if r.status == 206:
                expect_206(r, a, b, SIZE, FILE, rng)
            elif r.status == 200:
                check(r.body_sha1 == SHA, "%s: a 200 with %d bytes that are "
                      "not the entity" % (rng, r.body_len))
            else:
                check(r.status >= 500, "%s: status %d" % (rng, r.status))


def test_upstream_206_without_content_range_in_pass_mode():
    _never_206_without_content_range("pass")


def test_upstream_206_without_content_range_in_cache_mode():
    _never_206_without_content_range("cache")


def test_slice_mode_serves_exact_ranges_from_a_200():
    # The parent ignores Range but sends a Content-Length: the total is
    # known from the head, so every range can be a 206 at once.
    with Emu(ROOT, "--http10", "--no-range") as up, \
            Shim(conf([up.port], mode="slice")) as s, HttpConn(s.port) as c:
        n = PLAIN_SIZE
        for rng, a, b in (("bytes=0-4874", 0, 4874),
                          ("bytes=%d-%d" % (3 * MIB + 7, 5 * MIB), 3 * MIB + 7,
                           5 * MIB),
                          ("bytes=-777", n - 777, n - 1),
                          ("bytes=%d-" % (n - 5000), n - 5000, n - 1)):
            r = ranged(c, PLAIN_URL, rng)
            expect_206(r, a, b, n, PLAIN, rng)
        got = [p for p, _ in plans(s, 4)]
        check(got == ["slice"] * 4, "plans %s" % got)


def test_slice_mode_honours_if_range():
    # RFC 9110 13.1.5: a Range with an If-Range that does not match the
    # entity's validators gets the whole entity (200); a matching one, by
    # strong ETag or by Last-Modified date, gets the 206. The parent
    # ignores Range, so the shim decides (before, slice mode cut the 200
    # whatever If-Range said).
    a, b = 100, 4974
    with Emu(ROOT, "--http10", "--no-range") as up, \
            Shim(conf([up.port], mode="slice")) as s, HttpConn(s.port) as c:
        r = ranged(c, PLAIN_URL, "bytes=0-0")
        expect_206(r, 0, 0, PLAIN_SIZE, PLAIN, "probe")
        etag, lm = r.header("ETag"), r.header("Last-Modified")
        check(etag is not None and etag.startswith('"'), "ETag %r" % etag)
        check(lm is not None, "no Last-Modified")
        rng = "bytes=%d-%d" % (a, b)
        for ir in ('"not-the-entity"', "W/" + etag,
                   "Thu, 01 Jan 1970 00:00:00 GMT"):
            r = ranged(c, PLAIN_URL, rng, headers=[("If-Range", ir)])
            check(r.status == 200, "If-Range %s: status %d, want 200" %
                  (ir, r.status))
            check(not r.has("Content-Range"), "If-Range %s: Content-Range "
                  "%r on a 200" % (ir, r.header("Content-Range")))
            check(r.header("Content-Length") == str(PLAIN_SIZE),
                  "If-Range %s: Content-Length %r" %
                  (ir, r.header("Content-Length")))
            check(r.body_sha1 == PLAIN_SHA, "If-Range %s: a 200 that is "
                  "not the entity" % ir)
        for ir in (etag, lm):
            r = ranged(c, PLAIN_URL, rng, headers=[("If-Range", ir)])
            expect_206(r, a, b, PLAIN_SIZE, PLAIN, "If-Range %s" % ir)
        got = [p for p, _ in plans(s, 6)]
        check(got == ["slice", "pass", "pass", "pass", "slice", "slice"],
              "plans %s" % got)


def test_slice_mode_with_close_delimited_upstream_never_gives_a_wrong_206():
    # No length from the parent: the total for Content-Range is known only
    # at the end of the body. Whatever the shim does, never a wrong 206.
    n = PLAIN_SIZE
    with Emu(ROOT, *LEGACY) as up, Shim(conf([up.port], mode="slice")) as s:
        for rng, a, b in (("bytes=0-4874", 0, 4874),
                          ("bytes=-777", n - 777, n - 1),
                          ("bytes=%d-" % (n - 5000), n - 5000, n - 1)):
            with HttpConn(s.port) as c:
                try:
                    r = ranged(c, PLAIN_URL, rng)
                except (Truncated, HarnessError):
                    continue        # aborted: no false success
            if r.status == 206:
                expect_206(r, a, b, n, PLAIN, rng)
            elif r.status == 200:
                check(r.body_sha1 == PLAIN_SHA, "%s: a 200 that is not the "
                      "entity" % rng)
            else:
                check(r.status >= 500, "%s: status %d" % (rng, r.status))


def test_slice_mode_beyond_the_discard_cap_never_gives_wrong_bytes():
    a, b = 6 * MIB + 3, 6 * MIB + 4000
    with Emu(ROOT, "--http10", "--no-range") as up, \
            Shim(conf([up.port], mode="slice",
                      extra={"range": {"slice_max_discard": "1M"}})) as s, \
            HttpConn(s.port) as c:
        try:
            r = ranged(c, PLAIN_URL, "bytes=%d-%d" % (a, b))
        except (Truncated, HarnessError):
            return              # aborted: no false success
        if r.status == 206:
            expect_206(r, a, b, PLAIN_SIZE, PLAIN, "beyond the cap")
        else:
            check(r.status >= 500, "status %d" % r.status)
            check(not r.has("Content-Range"),
                  "Content-Range %r on a %d" % (r.header("Content-Range"),
                                                r.status))


def test_pass_mode_forwards_a_200_unchanged():
    # "pass: no emulation": the client gets what the upstream sent.
    with Emu(ROOT, "--http10", "--no-range") as up, \
            Shim(conf([up.port], mode="pass")) as s, HttpConn(s.port) as c:
        r = ranged(c, PLAIN_URL, "bytes=0-99")
        check(r.status == 200 and r.body_sha1 == PLAIN_SHA,
              "status %d, %d bytes" % (r.status, r.body_len))
        check(plans(s, 1)[0][0] == "pass", "plan %s" % (plans(s, 1),))


def test_head_without_upstream_length_is_synthesized():
    with Emu(ROOT, *LEGACY) as up, Shim(conf([up.port], mode="cache")) as s, \
            HttpConn(s.port) as c:
        h = get(c, URL, method="HEAD")
        check(h.status == 200, "HEAD status %d" % h.status)
        check(h.header("Content-Length") == str(SIZE),
              "HEAD Content-Length %r" % h.header("Content-Length"))
        check(h.header("Transfer-Encoding") is None, "HEAD says chunked")
        check((h.header("Accept-Ranges") or "").lower() == "bytes",
              "Accept-Ranges %r" % h.header("Accept-Ranges"))
        check(h.header("ETag") and h.header("Last-Modified"),
              "HEAD validators %r / %r" % (h.header("ETag"),
                                           h.header("Last-Modified")))
        r = ranged(c, URL, "bytes=0-99")
        expect_206(r, 0, 99, SIZE, FILE)
        check(r.header("ETag") == h.header("ETag"), "ETag HEAD %r GET %r" %
              (h.header("ETag"), r.header("ETag")))
        check(r.header("Last-Modified") == h.header("Last-Modified"),
              "Last-Modified HEAD %r GET %r" % (h.header("Last-Modified"),
                                               r.header("Last-Modified")))
        check(plans(s, 2)[0] == ("head-synth", "200"),
              "access log %s" % (plans(s, 2),))


def test_head_after_a_fill_comes_from_the_cache():
    with Emu(ROOT, *LEGACY) as up, Shim(conf([up.port], mode="cache")) as s, \
            HttpConn(s.port) as c:
        r = ranged(c, URL, "bytes=0-99")
        expect_206(r, 0, 99, SIZE, FILE)
        h = get(c, URL, method="HEAD")
        check(h.status == 200 and h.header("Content-Length") == str(SIZE),
              "HEAD %d, Content-Length %r" % (h.status,
                                              h.header("Content-Length")))
        check(h.header("ETag") == r.header("ETag") and
              h.header("Last-Modified") == r.header("Last-Modified"),
              "validators differ between HEAD and GET")
        st = up.path_stats(content_path(NAME))
        check(st["get"] == 1, "upstream GETs %d" % st["get"])


def test_unstable_upstream_validators_are_stable_on_cached_pieces():
    with Emu(ROOT, "--http10", "--no-range", "--close-delimit",
             "--unstable-validators") as up, \
            Shim(conf([up.port], mode="cache")) as s, HttpConn(s.port) as c:
        seen = set()
        for a, b in ((0, 4874), (4875, 11546), (11547, 2 * MIB),
                     (2 * MIB + 1, SIZE - 1)):
            r = ranged(c, URL, "bytes=%d-%d" % (a, b))
            expect_206(r, a, b, SIZE, FILE)
            check(r.header("ETag") and r.header("Last-Modified"),
                  "validators dropped")
            seen.add((r.header("ETag"), r.header("Last-Modified")))
        check(len(seen) == 1, "validators change between pieces: %s" %
              sorted(seen))
        check(up.path_stats(content_path(NAME))["get"] == 1,
              "upstream GETs %d" % up.path_stats(content_path(NAME))["get"])


def test_no_content_encoding_is_ever_forwarded_on_ranges():
    with Emu(ROOT, *LEGACY) as up, Shim(conf([up.port], mode="cache")) as s, \
            HttpConn(s.port) as c:
        r = ranged(c, URL, "bytes=0-99", headers=[("Accept-Encoding",
                                                   "gzip, deflate")])
        expect_206(r, 0, 99, SIZE, FILE)
        check(r.header("Content-Encoding") is None, "Content-Encoding %r" %
              r.header("Content-Encoding"))


run([v for k, v in sorted(globals().items()) if k.startswith("test_")])
