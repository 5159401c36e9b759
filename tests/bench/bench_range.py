#!/usr/bin/env python3
"""bench_range.py - the range engine and the content cache, timed.

Issue 3's benchmark. In one run, on loopback only, for a Windows Update
content file (name_<sha1>.cab, 512 MiB by default) behind a legacy
upstream (upstream-emu --http10 --no-range: HTTP/1.0, ignores Range, gives
a length), with one Python client reading every byte and hashing it:

  (a)  one plain GET (no Range, User-Agent curl) through wsus-shim in
       [range] mode = pass: a plain relay, the baseline time;
  (a') the same GET on a fresh cache-mode shim, which fills the cache
       (writes, SHA-1s and fsyncs every byte): the cold walk's floor;
  (b)  a BITS-like walk (one keep-alive connection, User-Agent
       Microsoft BITS/7.8: HEAD, then consecutive 1 MiB ranges to the end)
       through the shim in mode cache, cold cache;
  (b') the same with the upstream close-delimiting its bodies
       (--close-delimit): ranges wait for the end of the fill;
  (c)  the same walk again on the (b) shim: warm cache; compared with a
       single GET of the file straight from upstream-emu in origin mode,
       and with the same walk straight from it (it honours Range);
  (d)  the same walk through a fresh shim in mode slice
       (slice_max_discard = 1G), capped at the first BENCH_RANGE_SLICE_MIB
       (64) MiB of the walk: every piece makes the upstream send the file
       from byte 0, so the full walk would move ~N^2/2 MiB;
  (e)  the (a) GET, of a second file (BENCH_RANGE_RATE_MIB, 64 MiB), with
       a parent limited to 100 Mbit/s (upstream-emu --http10 --no-range
       --rate 12500000): the link sets the pace;
  (f)  the (b) walk of that file on a fresh cache-mode shim over the same
       parent: issue 12's target is (f) <= 1.05 x (e).

Upstream bytes are the emulator's /__stats by_path bytes (body bytes it
queued for that path), read before and after each run.

A benchmark is not a test: timings never fail it. It exits 1 only when a
result is wrong (a status, a Content-Range, a length or a byte), so a
broken run never prints a good figure.

Run it with tests/bench/run.sh BUILD_DIR (make bench), which sets
WSUS_SHIM, WSUS_EMU, BENCH_TMP, BENCH_PIDS (see bench_relay.py).
Knobs: BENCH_RANGE_MIB (file size in MiB, default 512), BENCH_REPEAT (3:
runs of (a), (c) and the origin reads; the median is shown),
BENCH_RANGE_SLICE_MIB (64: the cap of the slice walk),
BENCH_RANGE_RATE_MIB (64: the file of (e) and (f), ~5.4 s a run at
100 Mbit/s; 0 skips both rows).
"""

import collections
import hashlib
import os
import shutil
import statistics
import sys
import tempfile
import time

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "integration"))
sys.path.insert(0, here)
from harness import (Emu, Shim, HttpConn, HarnessError,  # noqa: E402
                     Truncated, make_content_file, make_content_name,
                     read_range, MIB)
from common import WU_HOST, BITS_HEADERS, CONTENT_DIR  # noqa: E402
from bench_relay import (Broken, note_pid, proc_cpu_s,  # noqa: E402
                         record, COMMANDS, fmt_mb, shim_alive)

SIZE = int(os.environ.get("BENCH_RANGE_MIB", "512")) * MIB
REPEAT = int(os.environ.get("BENCH_REPEAT", "3"))
SLICE_CAP = int(os.environ.get("BENCH_RANGE_SLICE_MIB", "64")) * MIB
RATE_SIZE = int(os.environ.get("BENCH_RANGE_RATE_MIB", "64")) * MIB
RATE = 12500000         # (e), (f): the parent's bytes/s, 100 Mbit/s
PIECE = MIB
TIMEOUT = 120           # one response (a cold piece may wait for a fill)

TARGET_UP_BYTES = 1.01  # (b) upstream bytes / file size
TARGET_TIME = 1.3       # (b) time / (a) time
TARGET_WARM = 0.8       # (c) speed / straight from the origin
TARGET_RATE_TIME = 1.05  # (f) time / (e) time, link-limited

CURL_HEADERS = (("User-Agent", "curl/7.88.1"), ("Accept", "*/*"))
DIRECT_BITS = tuple(h for h in BITS_HEADERS if h[0] != "Proxy-Connection")


class File:
    """A content file of size bytes: path, name, SHA-1 and the SHA-1 of
    every piece (only the hashes are kept, not the bytes)."""

    def __init__(self, cdir, size=SIZE, stem="windows10.0-kb5034441-x64",
                 seed=31):
        self.size = size
        self.path, self.name, self.sha = make_content_file(
            cdir, stem, size, seed=seed)
        self.url = "http://%s%s%s" % (WU_HOST, CONTENT_DIR, self.name)
        self.key = CONTENT_DIR + self.name          # emulator by_path key
        self.pieces = []
        with open(self.path, "rb") as f:
            while True:
                b = f.read(PIECE)
                if not b:
                    break
                self.pieces.append(hashlib.sha1(b).hexdigest())
        assert make_content_name(stem, self.sha, "cab") == self.name


# ---- clients ---------------------------------------------------------------


class Client:
    """One keep-alive connection, reopened only when the server says
    Connection: close (as BITS would); counts the connections used."""

    def __init__(self, port):
        self.port = port
        self.conn = None
        self.conns = 0

    def ask(self, method, target, headers, host):
        if self.conn is None:
            self.conn = HttpConn(self.port, timeout=TIMEOUT)
            self.conns += 1
        self.conn.request(method, target, headers=headers, host=host)
        r = self.conn.read_response(method=method, keep_body=False)
        conn_h = (r.header("Connection") or "").lower()
        if "close" in conn_h or (r.version == "HTTP/1.0" and
                                 "keep-alive" not in conn_h):
            self.close()
        return r

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def plain_get(port, target, f, what):
    """One GET of the whole file, every byte hashed. Returns seconds."""
    c = Client(port)
    try:
        t0 = time.monotonic()
        r = c.ask("GET", target, CURL_HEADERS, WU_HOST)
        dt = time.monotonic() - t0
    finally:
        c.close()
    if r.status != 200 or r.body_len != f.size or r.body_sha1 != f.sha:
        raise Broken("%s: status %d, %d bytes, SHA-1 %s; want 200, %d, %s"
                     % (what, r.status, r.body_len, r.body_sha1, f.size,
                        f.sha))
    return dt


def walk(port, target, headers, f, what, limit=None):
    """HEAD, then consecutive 1 MiB ranges up to limit (default the end),
    each checked: 206, exact Content-Range and Content-Length, length
    framing, the piece's SHA-1 (precomputed from the file, so the client
    hashes each byte once, as in a plain GET). Returns {"s", "bytes",
    "pieces", "conns", "slowest": (seconds, piece index)}."""
    size = f.size
    end = size if limit is None else min(limit, size)
    c = Client(port)
    n = 0
    slowest = (0.0, 0)
    try:
        t0 = time.monotonic()
        h = c.ask("HEAD", target, headers, WU_HOST)
        if h.status != 200 or h.header("Content-Length") != str(size):
            raise Broken("%s: HEAD status %d, Content-Length %r; want 200, "
                         "%d" % (what, h.status, h.header("Content-Length"),
                                 size))
        for i, a in enumerate(range(0, end, PIECE)):
            b = min(a + PIECE, size) - 1
            hs = tuple(headers) + (("Range", "bytes=%d-%d" % (a, b)),)
            t1 = time.monotonic()
            r = c.ask("GET", target, hs, WU_HOST)
            t1 = time.monotonic() - t1
            if t1 > slowest[0]:
                slowest = (t1, i)
            want_cr = "bytes %d-%d/%d" % (a, b, size)
            bad = []
            if r.status != 206:
                bad.append("status %d" % r.status)
            if r.header("Content-Range") != want_cr:
                bad.append("Content-Range %r" % r.header("Content-Range"))
            if r.header("Content-Length") != str(b - a + 1):
                bad.append("Content-Length %r" % r.header("Content-Length"))
            if r.framing != "length" or r.body_len != b - a + 1:
                bad.append("%s framing, %d body bytes" % (r.framing,
                                                          r.body_len))
            elif r.body_sha1 != f.pieces[i]:
                bad.append("wrong bytes (SHA-1 %s, want %s)" %
                           (r.body_sha1, f.pieces[i]))
            if bad:
                raise Broken("%s: bytes=%d-%d: %s" % (what, a, b,
                                                      ", ".join(bad)))
            n += 1
        dt = time.monotonic() - t0
    except (HarnessError, Truncated, OSError) as e:
        raise Broken("%s: piece %d (bytes=%d-): %s: %s" %
                     (what, n, n * PIECE, type(e).__name__, e))
    finally:
        c.close()
    return {"s": dt, "bytes": end, "pieces": n, "conns": c.conns,
            "slowest": slowest}


def sample_bytes(port, target, headers, f, what):
    """A few ranges kept whole and compared with the file itself
    (read_range), on top of the per-piece SHA-1s."""
    c = HttpConn(port, timeout=TIMEOUT)
    try:
        for a in (0, f.size // 2 + 12345, f.size - PIECE // 2):
            b = min(a + PIECE, f.size) - 1
            c.request("GET", target, host=WU_HOST, headers=tuple(headers) +
                      (("Range", "bytes=%d-%d" % (a, b)),))
            r = c.read_response()
            if r.status != 206 or r.body != read_range(f.path, a, b):
                raise Broken("%s: bytes=%d-%d: status %d, %d bytes differ "
                             "from the file" % (what, a, b, r.status,
                                                len(r.body or b"")))
            if "close" in (r.header("Connection") or "").lower():
                c.close()
                c = HttpConn(port, timeout=TIMEOUT)
    except (HarnessError, Truncated, OSError) as e:
        raise Broken("%s: %s: %s" % (what, type(e).__name__, e))
    finally:
        c.close()


# ---- processes -------------------------------------------------------------


def start_emu(root, *flags):
    e = Emu(root, *flags).start()
    note_pid(e.proc.pid)
    record(["upstream-emu", "--root", "ROOT", "--port", "0"] + list(flags))
    return e


def up_bytes(emu, key):
    """(bytes, gets) of key at the emulator, once the counters are still:
    it adds a response's bytes when the response ends (bounded wait)."""
    last = None
    deadline = time.monotonic() + 10
    while True:
        st = emu.path_stats(key)
        cur = (st["bytes"], st["get"])
        if cur == last or time.monotonic() > deadline:
            return cur
        last = cur
        time.sleep(0.3)


def start_shim(parent, mode, extra=None):
    conf = {
        "listen": {"address": "127.0.0.1"},
        "upstream": {"proxy": "127.0.0.1:%d" % parent.port,
                     "http_version": "1.0"},
        "policy": {"allow_hosts": "127.0.0.1, *.windowsupdate.com"},
        "limits": {"idle_timeout": "5m", "header_timeout": "5m"},
        "log": {"level": "warn"},
        "range": {"mode": mode},
        "cache": {"dir": "{tmp}/cache"},
    }
    for k, v in (extra or {}).items():
        conf["range"][k] = v
    s = Shim(conf).start()
    note_pid(s.pid)
    settings = "[range] " + ", ".join("%s = %s" % kv
                                      for kv in conf["range"].items())
    if mode == "cache":
        settings += "; [cache] dir = (empty), max_size and verify_sha1 " \
                    "default (20G, yes)"
    s.settings = settings
    record(["wsus-shim", "-c", "CONF"])
    return s


def plan_counts(s, skip, n):
    """Counter of PLAN/STATUS over access-log lines skip..skip+n."""
    lines = s.wait_access_lines(skip + n, timeout=10)[skip:skip + n]
    return collections.Counter(ln.split()[3] for ln in lines
                               if len(ln.split()) > 3)


def fmt_plans(c):
    return ", ".join("%s %d" % kv for kv in sorted(c.items()))


# ---- main ------------------------------------------------------------------


def main():
    t_start = time.monotonic()
    base = os.environ.get("BENCH_TMP") or tempfile.gettempdir()
    work = tempfile.mkdtemp(prefix="range-", dir=base)
    broken = []
    res = {}
    settings = []

    root = os.path.join(work, "root")
    cdir = os.path.join(root, CONTENT_DIR.strip("/"))
    emus = []
    try:
        os.makedirs(cdir)
        print("making a %d MiB content file in %s ..." % (SIZE // MIB,
                                                          cdir), flush=True)
        f = File(cdir)
        print("  %s" % f.url, flush=True)
        npieces = len(f.pieces)
        fr = None
        if RATE_SIZE:
            print("making a %d MiB content file for the 100 Mbit/s rows ..."
                  % (RATE_SIZE // MIB), flush=True)
            fr = File(cdir, RATE_SIZE, "windows10.0-kb5034763-x64", seed=37)
            print("  %s" % fr.url, flush=True)
        origin = start_emu(root)
        emus.append(origin)
        legacy = start_emu(root, "--http10", "--no-range")
        emus.append(legacy)
        legacy_cd = start_emu(root, "--http10", "--no-range",
                              "--close-delimit")
        emus.append(legacy_cd)
        if fr:
            legacy_rate = start_emu(root, "--http10", "--no-range",
                                    "--rate", str(RATE))
            emus.append(legacy_rate)

        def run(key, fn):
            try:
                res[key] = fn()
            except Broken as e:
                broken.append("%s: %s" % (key, e))
                print("  %-26s BROKEN: %s" % (key, e), flush=True)

        def show(label, r, extra=""):
            if "slowest" in r:
                extra += "; slowest piece %.0f ms (#%d)" % (
                    r["slowest"][0] * 1e3, r["slowest"][1])
            print("  %-26s %7.2f s  %6s MB/s%s" % (
                label, r["s"], fmt_mb(r["bytes"] / r["s"]), extra),
                flush=True)

        def median_of(fn):
            runs = [fn() for _ in range(REPEAT)]
            r = dict(runs[0])
            r["s"] = statistics.median(x["s"] for x in runs)
            r["runs"] = [x["s"] for x in runs]
            return r

        print("straight from upstream-emu (origin mode, no shim; median "
              "of %d):" % REPEAT, flush=True)
        direct_target = CONTENT_DIR + f.name

        def origin_get():
            r = median_of(lambda: {"s": plain_get(
                origin.port, direct_target, f, "origin GET"), "bytes": SIZE})
            show("single GET", r)
            return r
        run("origin_get", origin_get)

        def origin_walk():
            r = median_of(lambda: walk(origin.port, direct_target,
                                       DIRECT_BITS, f, "origin walk"))
            show("1 MiB walk", r)
            return r
        run("origin_walk", origin_walk)

        print("through wsus-shim, upstream-emu --http10 --no-range as its "
              "parent:", flush=True)

        def plain():
            s = start_shim(legacy, "pass")
            try:
                b0, g0 = up_bytes(legacy, f.key)
                cpu0 = proc_cpu_s(s.pid)
                r = median_of(lambda: {"s": plain_get(
                    s.port, f.url, f, "(a) GET"), "bytes": SIZE})
                r["cpu"] = (proc_cpu_s(s.pid) - cpu0) / REPEAT
                b1, g1 = up_bytes(legacy, f.key)
                r["up"] = (b1 - b0) / REPEAT
                r["gets"] = g1 - g0
                r["plans"] = plan_counts(s, 0, REPEAT)
                shim_alive(s, "(a)")
                settings.append("(a) " + s.settings)
                show("(a) GET, pass mode", r, "  upstream %.0f MiB; %s" % (
                    r["up"] / MIB, fmt_plans(r["plans"])))
                return r
            finally:
                s.stop()
                s.cleanup()
        run("a", plain)

        def plain_cache():
            """(a') the same GET on a fresh cache-mode shim: it fills the
            cache (every byte written, SHA-1d and fsynced), the cost the
            cold walk (b) pays too. One cold run."""
            s = start_shim(legacy, "cache")
            try:
                cpu0 = proc_cpu_s(s.pid)
                r = {"s": plain_get(s.port, f.url, f, "(a') GET"),
                     "bytes": SIZE}
                r["cpu"] = proc_cpu_s(s.pid) - cpu0
                r["plans"] = plan_counts(s, 0, 1)
                shim_alive(s, "(a')")
                settings.append("(a') " + s.settings)
                show("(a') GET, cache, cold", r, "  %s" %
                     fmt_plans(r["plans"]))
                return r
            finally:
                s.stop()
                s.cleanup()
        run("a2", plain_cache)

        def cold_walk(key, label, parent, cf=None):
            """A walk of cf (default f) on a fresh cache-mode shim; returns
            (shim, result) with the shim running (the caller stops it)."""
            cf = cf or f
            s = start_shim(parent, "cache")
            try:
                b0, g0 = up_bytes(parent, cf.key)
                cpu0 = proc_cpu_s(s.pid)
                r = walk(s.port, cf.url, BITS_HEADERS, cf, label)
                r["cpu"] = proc_cpu_s(s.pid) - cpu0
                b1, g1 = up_bytes(parent, cf.key)
                r["up"], r["gets"] = b1 - b0, g1 - g0
                r["plans"] = plan_counts(s, 0, len(cf.pieces) + 1)
                shim_alive(s, label)
                settings.append("(%s) " % key + s.settings)
                show(label, r, "  upstream %.1f MiB in %d GET(s), %d "
                     "client conn(s); %s" % (r["up"] / MIB, r["gets"],
                                             r["conns"],
                                             fmt_plans(r["plans"])))
                return s, r
            except BaseException:
                s.stop()
                s.cleanup()
                raise

        def cold_and_warm():
            s, r = cold_walk("b", "(b) walk, cache, cold", legacy)
            res["b"] = r
            try:
                b0, g0 = up_bytes(legacy, f.key)
                cpu0 = proc_cpu_s(s.pid)
                lines0 = len(s.access_lines())
                w = median_of(lambda: walk(s.port, f.url, BITS_HEADERS, f,
                                           "(c) warm walk"))
                w["cpu"] = (proc_cpu_s(s.pid) - cpu0) / REPEAT
                b1, g1 = up_bytes(legacy, f.key)
                w["up"], w["gets"] = (b1 - b0) / REPEAT, g1 - g0
                w["plans"] = plan_counts(s, lines0, REPEAT * (npieces + 1))
                sample_bytes(s.port, f.url, BITS_HEADERS, f, "(c) sample")
                shim_alive(s, "(c)")
                show("(c) walk, cache, warm", w, "  upstream %.1f MiB; %s" %
                     (w["up"] / MIB, fmt_plans(w["plans"])))
                res["c"] = w
            finally:
                s.stop()
                s.cleanup()
            return r
        run("b", cold_and_warm)

        def cold_cd():
            s, r = cold_walk("b'", "(b') walk, cold, close-dl", legacy_cd)
            s.stop()
            s.cleanup()
            return r
        run("b2", cold_cd)

        def slice_walk():
            s = start_shim(legacy, "slice", {"slice_max_discard": "1G"})
            try:
                b0, g0 = up_bytes(legacy, f.key)
                cpu0 = proc_cpu_s(s.pid)
                r = walk(s.port, f.url, BITS_HEADERS, f, "(d) slice walk",
                         limit=SLICE_CAP)
                r["cpu"] = proc_cpu_s(s.pid) - cpu0
                b1, g1 = up_bytes(legacy, f.key)
                r["up"], r["gets"] = b1 - b0, g1 - g0
                r["plans"] = plan_counts(s, 0, r["pieces"] + 1)
                shim_alive(s, "(d)")
                settings.append("(d) " + s.settings)
                show("(d) walk, slice, %d MiB" % (r["bytes"] // MIB), r,
                     "  upstream %.1f MiB in %d GET(s); %s" % (
                         r["up"] / MIB, r["gets"], fmt_plans(r["plans"])))
                return r
            finally:
                s.stop()
                s.cleanup()
        run("d", slice_walk)

        if fr:
            print("through wsus-shim, upstream-emu --http10 --no-range "
                  "--rate %d (%.0f Mbit/s)\nas its parent, a %d MiB file "
                  "(the link alone: %.2f s):" % (
                      RATE, RATE * 8 / 1e6, RATE_SIZE // MIB,
                      RATE_SIZE / RATE), flush=True)

            def rate_get():
                """(e) the (a) GET over the throttled parent: one run."""
                s = start_shim(legacy_rate, "pass")
                try:
                    b0, g0 = up_bytes(legacy_rate, fr.key)
                    cpu0 = proc_cpu_s(s.pid)
                    r = {"s": plain_get(s.port, fr.url, fr, "(e) GET"),
                         "bytes": RATE_SIZE}
                    r["cpu"] = proc_cpu_s(s.pid) - cpu0
                    b1, g1 = up_bytes(legacy_rate, fr.key)
                    r["up"], r["gets"] = b1 - b0, g1 - g0
                    r["plans"] = plan_counts(s, 0, 1)
                    shim_alive(s, "(e)")
                    settings.append("(e) " + s.settings)
                    show("(e) GET, pass, 100 Mbit/s", r,
                         "  upstream %.1f MiB; %s" % (
                             r["up"] / MIB, fmt_plans(r["plans"])))
                    return r
                finally:
                    s.stop()
                    s.cleanup()
            run("e", rate_get)

            def rate_walk():
                s, r = cold_walk("f", "(f) walk, cold, 100 Mbit/s",
                                 legacy_rate, fr)
                s.stop()
                s.cleanup()
                return r
            run("f", rate_walk)
    finally:
        for e in emus:
            e.stop()
        shutil.rmtree(work, ignore_errors=True)

    report(res, settings)
    print("\ncommands (ROOT, CONF: scratch files; every request is made by "
          "this script's\nPython client, which reads and SHA-1s every body "
          "byte, on one keep-alive connection):")
    for c in COMMANDS:
        print("  " + c)
    print("  (a) GET %s, User-Agent curl, no Range" % f.url)
    print("  walk: HEAD, then GET Range: bytes=a-b for 1 MiB pieces, with "
          "%s" % ", ".join("%s: %s" % h for h in BITS_HEADERS))
    print("  origin reads: the same, origin-form to upstream-emu without "
          "--http10/--no-range")
    if RATE_SIZE:
        print("  (e) the (a) GET and (f) the walk (cold, mode cache) of the "
              "%d MiB file\n      %s, parent upstream-emu --http10 "
              "--no-range --rate %d" % (RATE_SIZE // MIB, fr.url, RATE))
    for s in settings:
        print("  " + s)
    print("\nbench_range time %.0f s" % (time.monotonic() - t_start))
    if broken:
        print("\nBROKEN (figures above are not valid):")
        for b in broken:
            print("  " + b)
        return 1
    return 0


def report(res, settings):
    mib = SIZE // MIB
    print("\n" + "=" * 78)
    print("%d MiB content file, legacy upstream (HTTP/1.0, no Range)"
          % mib)
    print("%-30s %8s %7s %12s %8s  %s" % ("", "time s", "MB/s",
                                          "upstream MiB", "shim CPU",
                                          "target"))

    def row(key, label, target=""):
        r = res.get(key)
        if r is None:
            print("%-30s %8s  broken" % (label, "n/a"))
            return
        up = "%12.1f" % (r["up"] / MIB) if "up" in r else "%12s" % "-"
        cpu = "%7.2fs" % r["cpu"] if "cpu" in r else "%8s" % "-"
        print("%-30s %8.2f %7s %s %s  %s" % (
            label, r["s"], fmt_mb(r["bytes"] / r["s"]), up, cpu, target))

    a, b, c = res.get("a"), res.get("b"), res.get("c")
    og, ow = res.get("origin_get"), res.get("origin_walk")
    tb = ""
    if a and b:
        tb = "bytes %.3f x size (<= %.2f), time %.2f x (a) (<= %.1f)" % (
            b["up"] / SIZE, TARGET_UP_BYTES, b["s"] / a["s"], TARGET_TIME)
    tc = ""
    if c and og:
        tc = "%.2f x origin GET (>= %.1f)" % (og["s"] / c["s"], TARGET_WARM)
    row("origin_get", "origin, single GET (no shim)")
    row("origin_walk", "origin, 1 MiB walk (no shim)")
    row("a", "(a) GET, shim pass mode")
    a2 = res.get("a2")
    row("a2", "(a') GET, cache, cold",
        "the fill's own cost: %.2f x (a)" % (a2["s"] / a["s"])
        if a and a2 else "")
    row("b", "(b) walk, cache, cold", tb)
    if a2 and b:
        print("%-30s %s" % ("", "%.2f x (a'), a cold GET that fills the "
                            "cache too (like for like)" % (b["s"] / a2["s"])))
    row("b2", "(b') same, --close-delimit",
        "time %.2f x (a)" % (res["b2"]["s"] / a["s"]) if a and "b2" in res
        else "")
    row("c", "(c) walk, cache, warm", tc)
    if c and ow:
        print("%-30s %s" % ("", "%.2f x origin walk (like for like)" %
                            (ow["s"] / c["s"])))
    d = res.get("d")
    row("d", "(d) walk, slice, first %d MiB" % (
        d["bytes"] // MIB if d else SLICE_CAP // MIB),
        "%.1f x the bytes walked" % (d["up"] / d["bytes"]) if d else "")
    e, fw = res.get("e"), res.get("f")
    if RATE_SIZE:
        print("%d MiB file, upstream at %.0f Mbit/s (--rate %d), link "
              "alone %.2f s" % (RATE_SIZE // MIB, RATE * 8 / 1e6, RATE,
                                RATE_SIZE / RATE))
        row("e", "(e) GET, pass, 100 Mbit/s")
        row("f", "(f) walk, cold, 100 Mbit/s",
            "time %.3f x (e) (<= %.2f)" % (fw["s"] / e["s"],
                                           TARGET_RATE_TIME)
            if e and fw else "")
    print("(MB = 10^6 bytes. time: HEAD + every piece, or the GET, "
          "client-side, each body SHA-1d;\n median of %d for the origin "
          "rows, (a) and (c); %s are one run each.\n"
          "upstream: body bytes the legacy emulator queued for the file "
          "(/__stats), per run)" % (REPEAT, "(b), (b'), (d), (e) and (f)"
                                    if RATE_SIZE else "(b), (b') and (d)"))
    if d:
        k = d["pieces"]
        if d["bytes"] < SIZE:
            print("(d) stopped after %d of %d pieces (BENCH_RANGE_SLICE_MIB="
                  "%d): no figure is extrapolated\n  to the whole file." % (
                      k, -(-SIZE // PIECE), SLICE_CAP // MIB))
        print("(d) piece i makes the upstream send bytes 0..i+1 MiB again: "
              "k(k+1)/2 = %d MiB for\n  k = %d pieces; the rest (%.1f MiB a "
              "piece) is what the emulator had queued\n  past the piece "
              "when the shim closed the upstream." % (
                  k * (k + 1) // 2, k,
                  (d["up"] / MIB - k * (k + 1) / 2) / max(k, 1)))
    missed = []
    if a and b and b["up"] > TARGET_UP_BYTES * SIZE:
        missed.append("(b) upstream bytes %.3f x size" % (b["up"] / SIZE))
    if a and b and b["s"] > TARGET_TIME * a["s"]:
        missed.append("(b) time %.2f x (a)" % (b["s"] / a["s"]))
    if c and og and og["s"] / c["s"] < TARGET_WARM:
        missed.append("(c) %.2f x origin GET" % (og["s"] / c["s"]))
    if e and fw and fw["s"] > TARGET_RATE_TIME * e["s"]:
        missed.append("(f) time %.3f x (e)" % (fw["s"] / e["s"]))
    print("targets missed (reported, not a failure): %s" %
          ("; ".join(missed) if missed else "none"))
    print("=" * 78)


if __name__ == "__main__":
    sys.exit(main())
