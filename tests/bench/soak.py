#!/usr/bin/env python3
"""soak.py - hours of mixed Windows Update traffic through wsus-shim and a
parent that misbehaves (issue 13, "Soak"). `make soak` runs it.

On loopback only, for SOAK_SECONDS (default 1800):

  chaos_parent.py   a legacy HTTP/1.0 parent (ignores Range, Basic auth)
                    that resets bodies, stalls past the shim's timeouts,
                    answers 407 to good credentials, garbage status lines,
                    200 "please wait" pages, close-delimited bodies, and
                    refuses connects for a moment now and then, each at the
                    rate printed at the start (SOAK_RATES overrides them);
  wsus-shim         [range] mode = cache, short timeouts (so the stalls
                    matter), a cache cap below the total of the files (so
                    entries are evicted);
  SOAK_CLIENTS      concurrent clients (default 100), in four kinds:
                    BITS-like walkers (HEAD, then 1 MiB Range pieces, each
                    checked against the file; a piece that fails is asked
                    again, as BITS does), aria2c -x4 (--checksum sha-1),
                    idle connections (silent, or one HEAD then silent:
                    the shim must close them), slow readers (whole-file
                    GETs read at about 2 MiB/s, one in four pausing past
                    body_timeout);
  files             SOAK_FILES (20) files name_<sha1>.cab, sizes spread
                    geometrically from SOAK_MIN_MIB (1) to SOAK_MAX_MIB
                    (512), each not a whole number of MiB.

It fails (exit 1) when:
  - a completed download has the wrong SHA-1 (walk, aria2c, whole GET);
  - a ranged GET is answered 200, or a 206 has the wrong Content-Range,
    Content-Length or bytes;
  - a body whose framing said complete is short or wrong (length or
    chunked framing, or a close-delimited body to an HTTP/1.1 client);
  - the shim's RSS or open descriptors (sampled every SOAK_SAMPLE s from
    /proc) make a new high late in the run: the peak of the last third of
    the samples above 1.10 x the peak of everything before it, warm-up
    included (plus 1 MiB / 8 descriptors for small numbers); or
    descriptors not back near the start once the clients stop;
  - an idle connection is never closed by the shim;
  - a cache entry's data disagrees with the SHA-1 its URL names (every
    .meta under the cache folder is read: url, length; its .data hashed),
    or temporaries are left after a clean stop;
  - the shim dies, does not exit 0 on SIGTERM, or prints a sanitizer
    report.
Errors that the chaos is meant to cause (502/504 answers, resets, cut
connections, aria2c giving up) are counted by kind and printed, not
failures.

Environment: WSUS_SHIM (the binary; the ASan build works too), SOAK_SECONDS,
SOAK_CLIENTS, SOAK_FILES, SOAK_MIN_MIB, SOAK_MAX_MIB, SOAK_CACHE_MIB
(default 60% of the files' total), SOAK_ARIA_MAX_MIB (64: aria2c and the
slow readers only take files up to this size), SOAK_SEED (1), SOAK_RATES
(chaos_parent.py --rates), SOAK_SAMPLE (5 s), SOAK_TMP (scratch parent
folder), SOAK_KEEP=1 keeps the scratch folder.
"""

import collections
import hashlib
import json
import os
import random
import re
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "integration"))
from harness import (Shim, HttpConn, HarnessError, Truncated,  # noqa: E402
                     MIB, _spawn, _stop, _wait_for_line, _die_with_parent)

ENV = os.environ.get
SECONDS = float(ENV("SOAK_SECONDS", "1800"))
CLIENTS = int(ENV("SOAK_CLIENTS", "100"))
NFILES = int(ENV("SOAK_FILES", "20"))
MIN_MIB = float(ENV("SOAK_MIN_MIB", "1"))
MAX_MIB = float(ENV("SOAK_MAX_MIB", "512"))
ARIA_MAX = float(ENV("SOAK_ARIA_MAX_MIB", "64")) * MIB
SEED = int(ENV("SOAK_SEED", "1"))
SAMPLE = float(ENV("SOAK_SAMPLE", "5"))
RATES = ENV("SOAK_RATES", "reset=0.06,stall=0.03,stall_head=0.03,p407=0.03,"
            "garbage=0.03,please_wait=0.03,close_delim=0.15")
REFUSE_EVERY, REFUSE_MS = 20.0, 500.0

# The shim's timeouts, short so that the parent's stalls (STALL) pass them.
HEADER_T, IDLE_T, CONNECT_T, FIRST_T, BODY_T = 3, 5, 2, 4, 4
STALL = 7.0
T0 = time.monotonic()
CLIENT_TIMEOUT = 60     # one response (a piece may wait for a whole fill)
PIECE = MIB
HOST = "au.download.windowsupdate.com"
CDIR = "/c/msdownload/update/software/secu/2013/10/"
BITS = (("Accept", "*/*"), ("Accept-Encoding", "identity"),
        ("User-Agent", "Microsoft BITS/7.8"),
        ("Proxy-Connection", "Keep-Alive"))
USER, PASSWORD = "soak", "chaos-pw"


class File:
    """A content file: size, name, sha1, url, and each MiB piece's SHA-1."""

    def __init__(self, root, i, size):
        d = os.path.join(root, CDIR.strip("/"))
        os.makedirs(d, exist_ok=True)
        block = random.Random(SEED * 1000 + i).randbytes(MIB)
        h, self.pieces = hashlib.sha1(), []
        tmp = os.path.join(d, ".gen")
        with open(tmp, "wb") as f:
            k, left = 0, size
            while left > 0:
                piece = (struct.pack(">QQ", i, k) + block[16:])[:left]
                f.write(piece)
                h.update(piece)
                self.pieces.append(hashlib.sha1(piece).hexdigest())
                left -= len(piece)
                k += 1
        self.size, self.sha = size, h.hexdigest()
        self.name = "soak%02d_%s.cab" % (i, self.sha)
        self.path = os.path.join(d, self.name)
        os.replace(tmp, self.path)
        self.url = "http://%s%s%s" % (HOST, CDIR, self.name)


def sizes():
    out = []
    for i in range(NFILES):
        t = i / (NFILES - 1) if NFILES > 1 else 1.0
        mib = MIN_MIB * (MAX_MIB / MIN_MIB) ** t
        out.append(max(1, int(mib * MIB) - 4097 * (i + 1) % 65536))
    return out


class Tally:
    """Counters shared by the client threads."""

    def __init__(self):
        self.lock = threading.Lock()
        self.c = collections.Counter()
        self.errors = collections.Counter()
        self.violations = []
        self.details = []   # the first client timeouts, for a look

    def add(self, key, n=1):
        with self.lock:
            self.c[key] += n

    def error(self, kind, detail=None):
        with self.lock:
            self.errors[kind] += 1
            if detail is not None and len(self.details) < 20:
                self.details.append("%s: %s" % (kind, detail))

    def violation(self, what):
        with self.lock:
            self.violations.append(what)
        print("VIOLATION: %s" % what, flush=True)


T = Tally()
# What a client counts as an error by kind (not a failure of the soak).
ERRS = (OSError, HarnessError, Truncated, ValueError)


def err_kind(e):
    if isinstance(e, Truncated):
        return "body cut short (%s)" % ("reset" if "reset" in str(e)
                                        else "eof")
    if isinstance(e, socket.timeout):
        return "client timeout"
    if isinstance(e, ConnectionRefusedError):
        return "connect refused"
    if isinstance(e, ConnectionResetError):
        return "reset"
    if isinstance(e, HarnessError):
        s = str(e)
        return "closed before status" if "before a status" in s else \
            "harness: " + s[:40]
    return type(e).__name__


class Client:
    def __init__(self, port, deadline, rng):
        self.port, self.deadline, self.rng = port, deadline, rng
        self.conn = None

    def left(self):
        return self.deadline - time.monotonic()

    def connect(self):
        self.close()
        self.conn = HttpConn(self.port, timeout=CLIENT_TIMEOUT)

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def send(self, method, url, headers):
        if self.conn is None:
            self.connect()
        self.conn.request(method, url, headers=headers,
                          host=url.split("/")[2])
        r = self.conn.read_response(method=method)
        T.add("requests")
        T.add("bytes", r.body_len)
        if (r.header("Connection") or "").lower() == "close" or \
                r.version == "HTTP/1.0":
            self.close()
        return r

    def pause(self):
        time.sleep(min(max(0.0, self.left()), self.rng.uniform(0.2, 1.0)))


class Walker(Client):
    """BITS: HEAD, then 1 MiB pieces from the start (or a resumed piece)."""

    def run(self, files):
        while self.left() > 0:
            self.walk(self.rng.choice(files))
        self.close()

    def walk(self, f):
        fails = 0
        while self.left() > 0:
            try:
                r = self.send("HEAD", f.url, BITS)
            except ERRS as e:
                T.error("HEAD: " + err_kind(e))
                self.close()
                fails += 1
                if fails > 20:
                    return
                self.pause()
                continue
            if r.status == 200 and r.header("Content-Length") == \
                    str(f.size):
                break
            T.error("HEAD: %d %s" % (r.status, "length %s" %
                                     r.header("Content-Length")
                                     if r.status == 200 else ""))
            fails += 1
            if fails > 20:
                return
            self.pause()
        resume = self.rng.random() < 0.2
        first = self.rng.randrange(len(f.pieces)) if resume else 0
        h = hashlib.sha1()
        k = first
        while k < len(f.pieces) and self.left() > 0 and fails <= 20:
            a = k * PIECE
            b = min(a + PIECE, f.size) - 1
            try:
                r = self.send("GET", f.url, BITS +
                              (("Range", "bytes=%d-%d" % (a, b)),))
            except ERRS as e:
                T.error("piece: " + err_kind(e), "%.0f s %s bytes=%d-%d" % (
                    time.monotonic() - T0, f.name[:6], a, b)
                    if isinstance(e, socket.timeout) else None)
                if isinstance(e, socket.timeout):
                    snapshot(self.port, "piece %s bytes=%d-%d, %d bytes "
                             "in" % (f.name[:6], a, b, e.response.body_len
                                     if isinstance(e, Truncated) else -1))
                self.close()
                fails += 1
                self.pause()
                continue
            what = "%s bytes=%d-%d" % (f.name[:12], a, b)
            if r.status == 200:
                T.violation("%s: ranged GET answered 200" % what)
                self.close()
                return
            if r.status != 206:
                T.error("piece: %d" % r.status)
                self.close()
                fails += 1
                self.pause()
                continue
            want_cr = "bytes %d-%d/%d" % (a, b, f.size)
            if r.header("Content-Range") != want_cr or \
                    r.header("Content-Length") != str(b - a + 1) or \
                    r.framing != "length" or r.body_len != b - a + 1:
                T.violation("%s: 206 with Content-Range %r Content-Length "
                            "%r framing %s, %d bytes" %
                            (what, r.header("Content-Range"),
                             r.header("Content-Length"), r.framing,
                             r.body_len))
                self.close()
                return
            if hashlib.sha1(r.body).hexdigest() != f.pieces[k]:
                T.violation("%s: wrong bytes in a 206" % what)
                self.close()
                return
            T.add("pieces")
            h.update(r.body)
            k += 1
        if k == len(f.pieces):
            if first == 0:
                if h.hexdigest() != f.sha:
                    T.violation("%s: walk SHA-1 %s" % (f.name, h.hexdigest()))
                else:
                    T.add("walks completed")
            else:
                T.add("resumed walks completed")
        elif self.left() > 0:
            T.add("walks abandoned")


SNAP = {"dir": None, "n": 0}


def snapshot(port, what):
    """The first few client timeouts: the shim's transfers in flight and
    the chaos parent's connections, to SNAP dir (the scratch folder)."""
    with T.lock:
        if SNAP["dir"] is None or SNAP["n"] >= 3:
            return
        SNAP["n"] += 1
        n = SNAP["n"]
    try:
        from common import shim_status
        st = json.dumps(shim_status(port), indent=1)
    except Exception as e:   # a diagnostic only
        st = "status: %s" % e
    chaos = read_text(os.path.join(SNAP["dir"], "chaos.json"))
    with open(os.path.join(SNAP["dir"], "timeout-%d.txt" % n), "w") as f:
        f.write("%s\n%s\n%s\n" % (what, st, chaos))
    print("  client timeout (%s): snapshot in timeout-%d.txt" % (what, n),
          flush=True)


def whole_get_check(f, r, who):
    """A 200 to a whole-file GET whose framing said complete."""
    if r.framing == "close":
        T.violation("%s %s: close-delimited body to an HTTP/1.1 client" %
                    (who, f.name[:12]))
    elif r.body_len != f.size or r.body_sha1 != f.sha:
        T.violation("%s %s: complete %s body of %d bytes (want %d), SHA-1 "
                    "%s" % (who, f.name[:12], r.framing, r.body_len, f.size,
                            "ok" if r.body_sha1 == f.sha else "wrong"))
    else:
        T.add("whole GETs completed")


class SlowConn(HttpConn):
    """An HttpConn that reads 32 KiB at a time at about rate bytes/s, and
    stops reading for pause_s once after pause_at bytes."""

    def __init__(self, port, rate, pause_at=None, pause_s=0):
        super().__init__(port, timeout=CLIENT_TIMEOUT)
        self.rate, self.pause_at, self.pause_s = rate, pause_at, pause_s
        self.got = 0

    def _fill(self):
        if self.eof:
            return False
        if self.pause_at is not None and self.got >= self.pause_at:
            self.pause_at = None
            time.sleep(self.pause_s)
        try:
            b = self.sock.recv(32768)
        except ConnectionResetError:
            self.eof = self.reset = True
            return False
        if not b:
            self.eof = True
            return False
        self.got += len(b)
        self.buf += b
        time.sleep(len(b) / self.rate)
        return True


class SlowReader(Client):
    def run(self, files):
        small = [f for f in files if f.size <= ARIA_MAX] or files[:1]
        while self.left() > 0:
            f = self.rng.choice(small)
            pause = self.rng.random() < 0.25
            # At 2 MiB/s the file must end before the deadline.
            if f.size / (2 * MIB) + 2 > self.left():
                break
            c = SlowConn(self.port, 2 * MIB,
                         self.rng.randrange(f.size) if pause else None,
                         BODY_T + 3)
            try:
                c.request("GET", f.url, headers=(("User-Agent", "slow/1"),),
                          host=HOST)
                r = c.read_response(keep_body=False)
                T.add("requests")
                T.add("bytes", r.body_len)
                if r.status == 200:
                    whole_get_check(f, r, "slow reader")
                else:
                    T.error("slow reader: %d" % r.status)
            except ERRS as e:
                T.error("slow reader%s: %s" % (" (paused)" if pause else "",
                                               err_kind(e)))
            finally:
                c.close()
            self.pause()


class Idle(Client):
    """Connections that say nothing (or one HEAD) and wait to be closed."""

    def run(self, files):
        bound = max(HEADER_T, IDLE_T) + 5
        while self.left() > bound:
            try:
                c = HttpConn(self.port, timeout=CLIENT_TIMEOUT)
            except OSError as e:
                T.error("idle: " + err_kind(e))
                self.pause()
                continue
            try:
                if self.rng.random() < 0.5:
                    f = files[0]
                    c.request("HEAD", f.url, headers=BITS, host=HOST)
                    r = c.read_response(method="HEAD")
                    T.add("requests")
                    if r.status != 200:
                        T.error("idle HEAD: %d" % r.status)
                t0 = time.monotonic()
                if c.peer_closed(bound):
                    T.add("idle closed by the shim")
                else:
                    T.violation("idle connection still open after %.0f s" %
                                (time.monotonic() - t0))
            except ERRS as e:
                T.error("idle: " + err_kind(e))
            finally:
                c.close()


def aria2_run(port, deadline, rng, files, work):
    small = [f for f in files if f.size <= ARIA_MAX] or files[:1]
    aria = shutil.which("aria2c")
    n = 0
    while deadline - time.monotonic() > 5:
        f = rng.choice(small)
        n += 1
        out = os.path.join(work, "%d" % n)
        argv = [aria, "-x4", "-s4", "-k1M", "--all-proxy",
                "http://127.0.0.1:%d" % port, "--checksum",
                "sha-1=" + f.sha, "-d", work, "-o", str(n),
                "--allow-overwrite=true", "--auto-file-renaming=false",
                "--file-allocation=none", "--max-tries=3", "--retry-wait=1",
                "--timeout=30", "--connect-timeout=10", "--quiet=true",
                "--no-conf=true", "--check-certificate=false", f.url]
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL,
                             preexec_fn=_die_with_parent)
        try:
            rc = p.wait(max(1.0, deadline - time.monotonic() + 10))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(5)
            T.add("aria2c cut at the deadline")
            rc = None
        T.add("aria2c runs")
        if rc == 0:
            if sha1_file(out) != f.sha:
                T.violation("aria2c %s: exit 0 with a wrong file" % f.name)
            else:
                T.add("aria2c completed")
                T.add("bytes", f.size)
        elif rc == 32:
            T.violation("aria2c %s: checksum failed (exit 32)" % f.name)
        elif rc is not None:
            T.error("aria2c: exit %d" % rc)
        for p2 in (out, out + ".aria2"):
            try:
                os.unlink(p2)
            except FileNotFoundError:
                pass
        time.sleep(rng.uniform(0.2, 1.0))


def sha1_file(path):
    h = hashlib.sha1()
    try:
        with open(path, "rb") as f:
            while True:
                b = f.read(4 * MIB)
                if not b:
                    return h.hexdigest()
                h.update(b)
    except FileNotFoundError:
        return None


def proc_sample(pid):
    rss = None
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
    return rss, len(os.listdir("/proc/%d/fd" % pid))


def monitor(shim, stop, samples):
    while not stop.wait(SAMPLE):
        if not shim.alive():
            T.violation("the shim died (exit %s)" % shim.proc.poll())
            return
        try:
            samples.append((time.monotonic(),) + proc_sample(shim.pid))
        except (OSError, ValueError):
            pass


def flat(samples, idx, name, unit, slack):
    """No new high late in the run: the peak of the last third of the
    samples against the peak of everything before it (warm-up included),
    within 10% plus slack."""
    vals = [s[idx] for s in samples]
    third = len(vals) // 3
    if third < 2:
        print("%s: only %d samples, no trend judged" % (name, len(vals)))
        return
    p1, p3 = max(vals[:-third]), max(vals[-third:])
    ok = p3 <= p1 * 1.10 + slack
    print("%s: peak before the last third %d %s, in the last third %d %s "
          "(limit %d): %s" % (name, p1, unit, p3, unit, p1 * 1.10 + slack,
                              "flat" if ok else "GREW"))
    if not ok:
        T.violation("%s grew: %d -> %d %s" % (name, p1, p3, unit))


def curve(samples, idx, points=12):
    """About points values spread over the run, for the eye."""
    step = max(1, len(samples) // points)
    return " ".join("%d" % s[idx] for s in samples[::step])


def check_cache(cdir):
    """Every entry: meta names a URL; data length and SHA-1 agree with it."""
    entries = temps = 0
    for d, _, names in os.walk(cdir):
        for n in names:
            p = os.path.join(d, n)
            if ".tmp." in n:
                temps += 1
                T.violation("cache temporary left after a clean stop: %s" % p)
                continue
            if not n.endswith(".meta"):
                continue
            entries += 1
            with open(p, "rb") as f:
                text = f.read().decode("latin-1")
            m = re.search(r"^url (\S+)$", text, re.M)
            ln = re.search(r"^length (\d+)$", text, re.M)
            sha = re.search(r"_([0-9a-f]{40})\.cab$", m.group(1) if m else "")
            data = p[:-5] + ".data"
            if not (m and ln and sha):
                T.violation("cache meta %s: no url/length/sha1" % p)
                continue
            try:
                size = os.path.getsize(data)
            except OSError:
                T.violation("cache meta %s without its data" % p)
                continue
            got = sha1_file(data)
            if size != int(ln.group(1)) or got != sha.group(1):
                T.violation("cache entry %s: %d bytes (meta %s), SHA-1 %s, "
                            "name says %s" % (data, size, ln.group(1), got,
                                              sha.group(1)))
    print("cache at the end: %d entries checked, %d temporaries" %
          (entries, temps))


def main():
    try:
        shim_bin = os.environ.get("WSUS_SHIM") or os.path.join(
            here, "..", "..", "build", "proxy", "wsus-shim")
        os.environ["WSUS_SHIM"] = shim_bin
        if not shutil.which("aria2c"):
            print("soak: aria2c is not installed (tools/deps.sh)")
            return 1
        base = tempfile.mkdtemp(prefix="wsus-soak-", dir=ENV("SOAK_TMP"))
        try:
            return soak(base, shim_bin)
        finally:
            if ENV("SOAK_KEEP") != "1":
                shutil.rmtree(base, ignore_errors=True)
            else:
                print("scratch kept: %s" % base)
    except KeyboardInterrupt:
        return 130


def soak(base, shim_bin):
    t_start = time.monotonic()
    SNAP["dir"] = base
    root = os.path.join(base, "origin")
    sz = sizes()
    print("soak: %s, %d s, %d clients, %d files %.1f-%.1f MiB (%.0f MiB "
          "in all)" % (shim_bin, SECONDS, CLIENTS, NFILES, sz[0] / MIB,
                       sz[-1] / MIB, sum(sz) / MIB), flush=True)
    files = [File(root, i, s) for i, s in enumerate(sz)]
    cache_mib = int(ENV("SOAK_CACHE_MIB", "0")) or \
        max(int(sz[-1] / MIB) + 1, int(sum(sz) * 0.6 / MIB))
    print("files made in %.1f s; cache max_size %d MiB" %
          (time.monotonic() - t_start, cache_mib), flush=True)

    stats_path = os.path.join(base, "chaos.json")
    lifetime = SECONDS + 600
    cout, cerr = os.path.join(base, "chaos.out"), os.path.join(base,
                                                               "chaos.err")
    chaos = _spawn([sys.executable, os.path.join(here, "chaos_parent.py"),
                    "--root", root, "--rates", RATES, "--seed", str(SEED),
                    "--stall", str(STALL), "--refuse-every",
                    str(REFUSE_EVERY), "--refuse-ms", str(REFUSE_MS),
                    "--user", USER, "--password", PASSWORD, "--stats",
                    stats_path, "--lifetime", str(lifetime)], cout, cerr)
    m = _wait_for_line(chaos, [cout], r"listening on 127.0.0.1:(\d+)", 10,
                       "chaos-parent")
    cport = int(m.group(1))
    print("chaos parent 127.0.0.1:%d, per request: %s; refused connects: "
          "listener closed %.0f ms every %.0f s (%.1f%% of the time); "
          "stalls %.0f s" % (cport, RATES, REFUSE_MS, REFUSE_EVERY,
                             100 * REFUSE_MS / 1000 / REFUSE_EVERY, STALL),
          flush=True)

    conf = {
        "listen": {"address": "127.0.0.1", "max_connections": 1024},
        "upstream": {"proxy": "127.0.0.1:%d" % cport, "http_version": "1.0",
                     "auth": "basic", "user": USER, "password": PASSWORD,
                     "hold_down": "1s", "idle_timeout": "3s"},
        "policy": {"allow_hosts": "*.windowsupdate.com"},
        "limits": {"header_timeout": "%ds" % HEADER_T,
                   "idle_timeout": "%ds" % IDLE_T,
                   "connect_timeout": "%ds" % CONNECT_T,
                   "first_byte_timeout": "%ds" % FIRST_T,
                   "body_timeout": "%ds" % BODY_T,
                   "drain_timeout": "2s"},
        "log": {"level": "info", "file": os.path.join(base, "shim.log"),
                "access_log": os.path.join(base, "access.log")},
        "range": {"mode": "cache"},
        "cache": {"dir": os.path.join(base, "cache"),
                  "max_size": "%dM" % cache_mib, "min_free": "0"},
    }
    shim = Shim(conf, nofile=8192)
    shim.start()
    shim.access_path = os.path.join(base, "access.log")
    print("shim pid %d on 127.0.0.1:%d; timeouts header %ds idle %ds "
          "connect %ds first-byte %ds body %ds" %
          (shim.pid, shim.port, HEADER_T, IDLE_T, CONNECT_T, FIRST_T, BODY_T),
          flush=True)
    rss0, fd0 = proc_sample(shim.pid)

    deadline = time.monotonic() + SECONDS
    n_walk = max(1, CLIENTS * 60 // 100)
    n_aria = max(1, CLIENTS * 10 // 100)
    n_idle = max(1, CLIENTS * 15 // 100)
    n_slow = max(1, CLIENTS - n_walk - n_aria - n_idle)
    print("clients: %d walkers, %d aria2c -x4, %d idle, %d slow readers" %
          (n_walk, n_aria, n_idle, n_slow), flush=True)
    work = os.path.join(base, "aria")
    os.makedirs(work)
    threads = []
    rng = random.Random(SEED)
    for kind, n in ((Walker, n_walk), (Idle, n_idle), (SlowReader, n_slow)):
        for _ in range(n):
            c = kind(shim.port, deadline, random.Random(rng.random()))
            threads.append(threading.Thread(target=c.run, args=(files,),
                                            daemon=True))
    for i in range(n_aria):
        d = os.path.join(work, str(i))
        os.makedirs(d)
        threads.append(threading.Thread(
            target=aria2_run, args=(shim.port, deadline,
                                    random.Random(rng.random()), files, d),
            daemon=True))
    stop = threading.Event()
    samples = []
    mon = threading.Thread(target=monitor, args=(shim, stop, samples),
                           daemon=True)
    mon.start()
    for t in threads:
        t.start()
        time.sleep(0.01)
    t_prog = time.monotonic()
    while time.monotonic() < deadline and shim.alive():
        time.sleep(1)
        if time.monotonic() - t_prog >= 60:
            t_prog = time.monotonic()
            s = samples[-1] if samples else (0, 0, 0)
            print("  %4.0f s: %d requests, %d pieces, %d errors, RSS %d KiB, "
                  "%d fds" % (SECONDS - (deadline - time.monotonic()),
                              T.c["requests"], T.c["pieces"],
                              sum(T.errors.values()), s[1], s[2]),
                  flush=True)
    # Every client loop checks the deadline; the longest wait is one
    # response (CLIENT_TIMEOUT) or an aria2c run (its deadline + 10 s).
    for t in threads:
        t.join(max(0.1, deadline + CLIENT_TIMEOUT + 15 - time.monotonic()))
    stuck = sum(t.is_alive() for t in threads)
    if stuck:
        T.violation("%d client threads still running past the deadline" %
                    stuck)
    stop.set()
    mon.join(10)

    # Back to rest: client connections closed, upstream idles expire.
    t_rest = time.monotonic()
    fd_rest = None
    while time.monotonic() - t_rest < IDLE_T + 10 and shim.alive():
        fd_rest = proc_sample(shim.pid)[1]
        if fd_rest <= fd0 + 2:
            break
        time.sleep(0.5)
    rss_end = proc_sample(shim.pid)[0] if shim.alive() else 0

    report(samples, rss0, fd0, rss_end, fd_rest, shim, stats_path)
    status = None
    if shim.alive():
        try:
            from common import shim_status
            status = shim_status(shim.port)
        except Exception as e:   # the figures only
            print("status page: %s" % e)
    if status is not None:
        print("shim status cache: %s" % json.dumps(status.get("cache")))
    alive = shim.alive()
    rc = shim.stop()
    if not alive:
        T.violation("the shim was not running at the end")
    elif rc != 0:
        T.violation("the shim exited %s on SIGTERM" % rc)
    err = shim.stderr_text() + read_text(os.path.join(base, "shim.log"))
    for pat in ("AddressSanitizer", "LeakSanitizer", "runtime error:",
                "UndefinedBehaviorSanitizer"):
        if pat in err:
            T.violation("sanitizer report in the shim's output (%s)" % pat)
            print(err[-4000:])
            break
    access_report(shim)
    check_cache(os.path.join(base, "cache"))
    shim.cleanup()
    _stop(chaos)
    print("shim exit status on SIGTERM: %s; soak took %.0f s" %
          (rc, time.monotonic() - t_start))
    if T.violations:
        print("FAILED: %d violations" % len(T.violations))
        for v in T.violations[:50]:
            print("  " + v)
        return 1
    print("PASSED: no violation")
    return 0


def read_text(path):
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""


def report(samples, rss0, fd0, rss_end, fd_rest, shim, stats_path):
    print("\n== figures ==")
    print("client requests answered: %d, body bytes received: %.1f MiB" %
          (T.c["requests"], T.c["bytes"] / MIB))
    for k in sorted(T.c):
        if k not in ("requests", "bytes"):
            print("  %-28s %d" % (k, T.c[k]))
    print("client-side errors by kind (%d):" % sum(T.errors.values()))
    for k, v in T.errors.most_common():
        print("  %-40s %d" % (k, v))
    for d in T.details:
        print("  (%s)" % d)
    try:
        with open(stats_path) as f:
            cs = json.load(f)
        print("chaos parent: %s" % json.dumps(cs, sort_keys=True))
    except (OSError, ValueError):
        pass
    if samples:
        rss = [s[1] for s in samples]
        fds = [s[2] for s in samples]
        print("shim RSS KiB: start %d, peak %d, end of load %d, at rest %d"
              % (rss0, max(rss), rss[-1], rss_end))
        print("shim fds:     start %d, peak %d, end of load %d, at rest %s"
              % (fd0, max(fds), fds[-1], fd_rest))
        every = max(1, len(samples) // 12) * SAMPLE
        print("shim RSS KiB every %.0f s: %s" % (every, curve(samples, 1)))
        print("shim fds every %.0f s:     %s" % (every, curve(samples, 2)))
        with open(os.path.join(os.path.dirname(stats_path), "samples.csv"),
                  "w") as f:
            f.write("seconds,rss_kib,fds\n")
            for s in samples:
                f.write("%.1f,%d,%d\n" % (s[0] - samples[0][0], s[1], s[2]))
        flat(samples, 1, "RSS", "KiB", 1024)
        flat(samples, 2, "fds", "fds", 8)
    if fd_rest is not None and fd_rest > fd0 + 8:
        T.violation("descriptors at rest %d, at the start %d" %
                    (fd_rest, fd0))


def access_report(shim):
    lines = shim.access_lines()
    by = collections.Counter()
    out = 0
    for ln in lines:
        f = ln.split()
        if len(f) > 4:
            by[f[3]] += 1
            try:
                out += int(f[4])
            except ValueError:
                pass
    print("shim access log: %d requests served, %.1f MiB sent" %
          (len(lines), out / MIB))
    slow = sorted(lines, key=lambda ln: -int(ln.split()[1])
                  if ln.split()[1].isdigit() else 0)[:5]
    print("slowest responses (ms):")
    for ln in slow:
        print("  " + " ".join(ln.split()[:7])[:150])
    for k, v in by.most_common():
        print("  %-28s %d" % (k, v))


if __name__ == "__main__":
    sys.exit(main())
