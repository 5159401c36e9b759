#!/usr/bin/env python3
"""bench_relay.py - throughput, memory and request rate of wsus-shim.

Issue 2's benchmark. In one run, on loopback only:

  1 GiB download with curl (median of BENCH_REPEAT runs, after one run per
  path whose SHA-1 is checked, which also warms the page cache):
    (a) direct from upstream-emu (origin mode, sendfile);
    (b) through wsus-shim in direct mode;
    (c) through wsus-shim and upstream-emu acting as a legacy HTTP/1.0
        proxy (--http10 --close-delimit: the shim re-frames as chunked);
    (d) through a real Squid with its own minimal conf, no cache.
  wsus-shim peak RSS (VmHWM of a fresh shim) during (b) and (c);
  RSS cost of 1,000 idle client connections (silent, and after one
  keep-alive request each);
  requests/s with wrk (2 threads, 100 keep-alive connections, 1 KiB file)
  direct, through wsus-shim, and through Squid.

A benchmark is not a test: timings never fail it. It exits 1 only when
something is broken (wrong size or SHA-1, a failed request through the
shim, a crash), so a broken run never prints a good figure. Squid or wrk
missing is reported and skipped.

Run it with tests/bench/run.sh BUILD_DIR (make bench), which sets the
environment:
    WSUS_SHIM, WSUS_EMU  the binaries
    BENCH_TMP            scratch folder (removed by run.sh)
    BENCH_PIDS           file to which every pid started here is appended,
                         so run.sh can stop them if this script is killed
Knobs: BENCH_SIZE (bytes, default 1 GiB), BENCH_REPEAT (3),
BENCH_WRK_SECONDS (10), BENCH_IDLE_CONNS (1000), BENCH_SQUID (1; 0 skips).
"""

import atexit
import hashlib
import os
import pwd
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "integration"))
from harness import (Emu, Shim, HttpConn, HarnessError,  # noqa: E402
                     make_file, MIB, GIB)

WU_HOST = "au.download.windowsupdate.com"

SIZE = int(os.environ.get("BENCH_SIZE", str(GIB)))
REPEAT = int(os.environ.get("BENCH_REPEAT", "3"))
WRK_SECONDS = int(os.environ.get("BENCH_WRK_SECONDS", "10"))
IDLE_CONNS = int(os.environ.get("BENCH_IDLE_CONNS", "1000"))
WANT_SQUID = os.environ.get("BENCH_SQUID", "1") != "0"
SMALL_SIZE = 1024

TARGET_RATIO = 0.8
TARGET_PEAK_MIB = 32
TARGET_IDLE_MIB = 16


class Broken(Exception):
    """A measurement produced a wrong result: the bench fails."""


class Unavailable(Exception):
    """A measurement cannot run here (tool missing): reported, skipped."""


# ---- processes ------------------------------------------------------------


def note_pid(pid):
    """Append a pid to BENCH_PIDS so run.sh's trap can stop it."""
    path = os.environ.get("BENCH_PIDS")
    if path:
        with open(path, "a") as f:
            f.write("%d\n" % pid)


def clean_env():
    """The environment without proxy variables: every request here is
    routed explicitly."""
    env = dict(os.environ)
    for k in list(env):
        if k.lower() in ("http_proxy", "https_proxy", "all_proxy",
                         "no_proxy"):
            del env[k]
    return env


def proc_status_kib(pid, field):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise HarnessError("no %s in /proc/%d/status" % (field, pid))


def proc_cpu_s(pid):
    """utime + stime of a process, in seconds."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def raise_nofile(want=8192):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    new = want if hard == resource.RLIM_INFINITY else min(want, hard)
    if soft < new:
        resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


# ---- downloads --------------------------------------------------------------


COMMANDS = []


def record(argv):
    cmd = " ".join(a if re.match(r"^[\w./:=%{}@,+-]+$", a) else "'%s'" % a
                   for a in argv)
    if cmd not in COMMANDS:
        COMMANDS.append(cmd)


def curl_argv(url, proxy_port, out):
    argv = ["curl", "-s", "-S", "--fail", "--max-time", "120",
            "-o", out]
    if proxy_port:
        argv += ["-x", "http://127.0.0.1:%d" % proxy_port]
    else:
        argv += ["--noproxy", "*"]
    return argv + [url]


def curl_timed(url, proxy_port):
    """One download to /dev/null; returns bytes/s. Checks status and size."""
    argv = curl_argv(url, proxy_port, "/dev/null")
    argv[1:1] = ["-w", "%{speed_download} %{size_download} %{http_code}"]
    record(argv)
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       env=clean_env(), timeout=180)
    if p.returncode != 0:
        raise Broken("curl exited %d: %s" % (p.returncode,
                                             p.stderr.decode().strip()))
    speed, size, code = p.stdout.decode().split()
    if code != "200" or int(size) != SIZE:
        raise Broken("status %s, %s bytes instead of %d" % (code, size, SIZE))
    return float(speed)


def curl_sha1(url, proxy_port):
    """One download read here and hashed; returns (sha1, size)."""
    argv = curl_argv(url, proxy_port, "-")
    record(argv + ["|", "sha1sum"])
    h = hashlib.sha1()
    n = 0
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         env=clean_env())
    try:
        while True:
            b = p.stdout.read(4 * MIB)
            if not b:
                break
            h.update(b)
            n += len(b)
        err = p.stderr.read().decode().strip()
        rc = p.wait(180)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    if rc != 0:
        raise Broken("curl exited %d: %s" % (rc, err))
    return h.hexdigest(), n


def measure(name, url, proxy_port, sha, pid=None):
    """SHA-1-checked run, then REPEAT timed runs. Returns a result dict:
    median bytes/s, all runs, CPU seconds of pid per GiB (when given)."""
    got, n = curl_sha1(url, proxy_port)
    if n != SIZE or got != sha:
        raise Broken("%s: %d bytes, SHA-1 %s; expected %d bytes, %s" %
                     (name, n, got, SIZE, sha))
    cpu0 = proc_cpu_s(pid) if pid else None
    runs = [curl_timed(url, proxy_port) for _ in range(REPEAT)]
    res = {"median": statistics.median(runs), "runs": runs}
    if pid:
        res["cpu_per_gib"] = (proc_cpu_s(pid) - cpu0) / (REPEAT * SIZE / GIB)
    print("  %-22s %s MB/s (runs: %s)" % (
        name, fmt_mb(res["median"]),
        ", ".join(fmt_mb(r) for r in runs)), flush=True)
    return res


def fmt_mb(bps):
    return "%.0f" % (bps / 1e6)


# ---- wsus-shim -------------------------------------------------------------


def shim_conf(parent_port=None):
    d = {
        "listen": {"address": "127.0.0.1", "max_connections": 4096},
        "upstream": {"http_version": "1.0"},
        "policy": {"allow_hosts": "127.0.0.1, *.windowsupdate.com"},
        "limits": {"idle_timeout": "5m", "header_timeout": "5m"},
        "log": {"level": "warn"},
        "range": {"mode": "pass"},
        "cache": {"dir": "{tmp}/cache"},
    }
    if parent_port:
        d["upstream"]["proxy"] = "127.0.0.1:%d" % parent_port
    return d


def start_shim(parent_port=None):
    s = Shim(shim_conf(parent_port)).start()
    note_pid(s.pid)
    return s


def shim_alive(s, what):
    if not s.alive():
        raise Broken("wsus-shim died during %s (exit %s): %s" %
                     (what, s.proc.returncode, s.stderr_text()[-2000:]))


# ---- Squid -------------------------------------------------------------------


class Squid:
    """Debian's squid in the foreground (-N) with a minimal conf on a
    loopback port: no cache, logs and pid file in a private folder, as
    nobody when we are root."""

    def __init__(self, workdir):
        self.dir = tempfile.mkdtemp(prefix="squid-", dir=workdir)
        self.proc = None
        self.port = None

    def start(self):
        exe = shutil.which("squid") or (
            "/usr/sbin/squid" if os.access("/usr/sbin/squid", os.X_OK)
            else None)
        if exe is None:
            raise Unavailable("squid is not installed (apt-get install squid)")
        self.port = free_port()
        lines = [
            "http_port 127.0.0.1:%d" % self.port,
            "visible_hostname wsus-shim-bench",
            "pid_filename %s/squid.pid" % self.dir,
            "cache_log %s/cache.log" % self.dir,
            "access_log stdio:%s/access.log" % self.dir,
            "cache_store_log none",
            "netdb_filename none",
            "coredump_dir %s" % self.dir,
            "cache deny all",
            "cache_mem 0 MB",
            "shutdown_lifetime 1 seconds",
            "acl bench_client src 127.0.0.1/32",
            "http_access allow bench_client",
            "http_access deny all",
        ]
        if os.geteuid() == 0:
            user = "nobody"
            try:
                pw = pwd.getpwnam(user)
            except KeyError:
                raise Unavailable("no user %r for cache_effective_user" % user)
            lines.append("cache_effective_user %s" % user)
            # squid drops to nobody, who must reach and write its folder.
            os.chmod(os.path.dirname(self.dir), 0o711)
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        self.conf = os.path.join(self.dir, "squid.conf")
        with open(self.conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        argv = [exe, "-N", "-f", self.conf]
        record(argv)
        self.err_path = os.path.join(self.dir, "stderr")
        err = open(self.err_path, "wb")
        try:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                         stdout=err, stderr=err)
        finally:
            err.close()
        note_pid(self.proc.pid)
        deadline = time.monotonic() + 20
        while True:
            if self.proc.poll() is not None:
                raise Unavailable("squid exited %d at start: %s" % (
                    self.proc.returncode, self.why()))
            try:
                socket.create_connection(("127.0.0.1", self.port), 1).close()
                return self
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise Unavailable("squid did not listen within 20 s: %s" %
                                  self.why())
            time.sleep(0.1)

    def why(self):
        text = ""
        for name in ("stderr", "cache.log"):
            try:
                with open(os.path.join(self.dir, name), "rb") as f:
                    text += f.read().decode("utf-8", "replace")
            except OSError:
                pass
        bad = [ln for ln in text.splitlines()
               if re.search(r"FATAL|ERROR|WARNING|Bungled|cannot", ln)]
        return " | ".join(bad[-4:]) or text.strip()[-400:]

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


def free_port():
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


# ---- idle connections ----------------------------------------------------------


def idle_cost(emu_port, with_request):
    """Fresh shim; RSS before and after IDLE_CONNS client connections left
    idle (silent, or after one complete keep-alive request each).
    Returns (before_kib, after_kib)."""
    s = start_shim()
    conns = []
    try:
        url = "http://127.0.0.1:%d/small.bin" % emu_port
        req = ("GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n" %
               (url, emu_port)).encode()
        # One request first, so lazily allocated state is in the baseline.
        with HttpConn(s.port) as c:
            c.send(req)
            r = c.read_response()
            if r.status != 200 or r.body_len != SMALL_SIZE:
                raise Broken("small.bin through the shim: %s" % r)
        time.sleep(0.3)
        before = s.rss_kib()
        for _ in range(IDLE_CONNS):
            c = HttpConn(s.port)
            conns.append(c)
            if with_request:
                c.send(req)
                r = c.read_response()
                if r.status != 200 or r.body_len != SMALL_SIZE:
                    raise Broken("idle setup request: %s" % r)
        time.sleep(1.0)
        # Still open? A silent read with a short timeout on a sample.
        for c in conns[::100]:
            if c.peer_closed(0.01):
                raise Broken("the shim closed an idle connection")
        shim_alive(s, "idle connections")
        after = s.rss_kib()
        return before, after
    finally:
        for c in conns:
            c.close()
        s.stop()
        s.cleanup()


# ---- wrk -----------------------------------------------------------------------


def wrk(url, lua=None):
    """wrk -t2 -c100; returns (requests/s, notes)."""
    exe = shutil.which("wrk")
    if exe is None:
        raise Unavailable("wrk is not installed (apt-get install wrk)")
    argv = [exe, "-t2", "-c100", "-d%ds" % WRK_SECONDS, "--timeout", "5s"]
    if lua:
        argv += ["-s", lua]
    argv.append(url)
    record(argv)
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       env=clean_env(), timeout=WRK_SECONDS + 60)
    out = p.stdout.decode("utf-8", "replace")
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if p.returncode != 0 or not m:
        raise Broken("wrk failed (%d): %s" % (p.returncode, out.strip()))
    notes = []
    m2 = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    if m2:
        notes.append("%s non-2xx" % m2.group(1))
    m3 = re.search(r"Socket errors:.*", out)
    if m3:
        notes.append(m3.group(0).strip())
    m4 = re.search(r"Latency\s+([\d.]+)(us|ms|s)\s+\S+\s+(\S+)", out)
    lat_ms = None
    if m4:
        lat_ms = float(m4.group(1)) * {"us": 1e-3, "ms": 1.0,
                                        "s": 1e3}[m4.group(2)]
        notes.append("latency avg %s%s max %s" % (m4.group(1), m4.group(2),
                                                  m4.group(3)))
    return float(m.group(1)), notes, bool(m2), lat_ms


def wrk_row(origin, squid, work, path):
    """wrk on one path of the origin: direct, through a fresh shim (direct
    mode) and through squid when it runs. Returns {who: {rps, lat_ms}}."""
    target = origin.url(path)
    lua = proxy_lua(os.path.join(work, "proxy-%s.lua" %
                                 path.strip("/").replace(".", "-")), target)
    row = {}

    def show(who, rps, n, extra=""):
        print("  %-8s %-12s %8.0f req/s  %s%s" % (
            who, path, rps, "; ".join(n), extra), flush=True)

    rps, n, bad, lat = wrk(target)
    show("direct", rps, n)
    if bad:
        raise Broken("non-2xx responses direct from upstream-emu: %s" % n)
    row["direct"] = {"rps": rps, "lat_ms": lat}

    s = start_shim()
    try:
        cpu0 = proc_cpu_s(s.pid)
        rps, n, bad, lat = wrk("http://127.0.0.1:%d/" % s.port, lua)
        cpu = proc_cpu_s(s.pid) - cpu0
        shim_alive(s, "wrk")
        show("shim", rps, n, "; shim CPU %.1f s" % cpu)
        if bad:
            raise Broken("non-2xx responses through the shim: %s" % n)
        row["shim"] = {"rps": rps, "lat_ms": lat}
    finally:
        s.stop()
        s.cleanup()

    if squid is not None and squid.proc.poll() is None:
        rps, n, bad, lat = wrk("http://127.0.0.1:%d/" % squid.port, lua)
        show("squid", rps, n)
        if not bad:
            row["squid"] = {"rps": rps, "lat_ms": lat}
    return row


def proxy_lua(path, target):
    """A wrk script sending absolute-form requests (wrk has no proxy
    option): the request line becomes GET target HTTP/1.1."""
    host = target.split("/")[2]
    with open(path, "w") as f:
        f.write('wrk.method = "GET"\n'
                'wrk.path = "%s"\n'
                'wrk.headers["Host"] = "%s"\n' % (target, host))
    return path


# ---- main --------------------------------------------------------------------


def main():
    t_start = time.monotonic()
    work = os.environ.get("BENCH_TMP") or tempfile.mkdtemp(prefix="bench-")
    nofile = raise_nofile()
    broken = []
    res = {}
    notes = []

    root = os.path.join(work, "root")
    print("making a %d MiB file and a %d-byte file in %s ..." %
          (SIZE // MIB, SMALL_SIZE, root), flush=True)
    _, sha = make_file(root, "big.bin", SIZE, seed=7)
    make_file(root, "small.bin", SMALL_SIZE, seed=8)

    origin = Emu(root).start()
    note_pid(origin.proc.pid)
    legacy = Emu(root, "--http10", "--close-delimit").start()
    note_pid(legacy.proc.pid)
    squid = None
    try:
        big_direct = origin.url("/big.bin")
        print("%d MiB downloads (%d timed runs each after a SHA-1-checked "
              "one):" % (SIZE // MIB, REPEAT), flush=True)

        def run(key, fn):
            try:
                res[key] = fn()
            except Broken as e:
                broken.append("%s: %s" % (key, e))
                print("  %-22s BROKEN: %s" % (key, e), flush=True)
            except Unavailable as e:
                res[key] = {"skipped": str(e)}
                print("  %-22s skipped: %s" % (key, e), flush=True)

        run("direct", lambda: measure("direct", big_direct, None, sha))

        def shim_direct():
            s = start_shim()
            try:
                r = measure("shim (direct mode)", big_direct, s.port, sha,
                            s.pid)
                shim_alive(s, "the 1 GiB download")
                r["hwm_kib"] = s.rss_kib(peak=True)
                r["rss_kib"] = s.rss_kib()
                return r
            finally:
                s.stop()
                s.cleanup()
        run("shim", shim_direct)

        def shim_legacy():
            s = start_shim(legacy.port)
            try:
                r = measure("shim + legacy emu", "http://%s/big.bin" % WU_HOST,
                            s.port, sha, s.pid)
                shim_alive(s, "the 1 GiB download via the legacy emulator")
                # The body really came through the legacy emulator.
                gets = legacy.path_stats("/big.bin")["get"]
                if gets != REPEAT + 1:
                    raise Broken("the legacy emulator served %d GETs of "
                                 "big.bin, not %d" % (gets, REPEAT + 1))
                r["hwm_kib"] = s.rss_kib(peak=True)
                return r
            finally:
                s.stop()
                s.cleanup()
        run("legacy", shim_legacy)

        def squid_run():
            nonlocal squid
            if not WANT_SQUID:
                raise Unavailable("BENCH_SQUID=0")
            squid = Squid(work).start()
            try:
                r = measure("squid", big_direct, squid.port, sha,
                            squid.proc.pid)
                r["hwm_kib"] = proc_status_kib(squid.proc.pid, "VmHWM")
                return r
            except Broken as e:
                # Another program's failure is reported, not ours.
                raise Unavailable("squid run failed: %s" % e)
        run("squid", squid_run)

        print("idle client connections (%d, RLIMIT_NOFILE %d):" %
              (IDLE_CONNS, nofile), flush=True)

        def idle(with_request):
            def fn():
                b, a = idle_cost(origin.port, with_request)
                print("  %-22s RSS %.1f -> %.1f MiB" % (
                    "after 1 request" if with_request else "silent",
                    b / 1024, a / 1024), flush=True)
                return {"before": b, "after": a}
            return fn
        run("idle_silent", idle(False))
        run("idle_request", idle(True))

        print("wrk, %d s each:" % WRK_SECONDS, flush=True)
        for key, path in (("wrk_file", "/small.bin"), ("wrk_echo", "/echo")):
            run(key, lambda path=path: wrk_row(origin, squid, work, path))
    finally:
        if squid is not None:
            squid.stop()
        legacy.stop()
        origin.stop()

    report(res, notes)
    print("\ncommands:")
    for c in COMMANDS:
        print("  " + c)
    print("\nbench time %.0f s" % (time.monotonic() - t_start))
    if broken:
        print("\nBROKEN (figures above are not valid):")
        for b in broken:
            print("  " + b)
        return 1
    return 0


def report(res, notes):
    def ok(k):
        return k in res and "skipped" not in res[k]

    print("\n" + "=" * 72)
    print("%-24s %8s  %-16s %s" % ("%d MiB download" % (SIZE // MIB),
                                   "MB/s", "ratio vs direct",
                                   "CPU s/GiB (proxy)"))
    base = res["direct"]["median"] if ok("direct") else None
    rows = [("direct", "direct"), ("shim", "shim (direct mode)"),
            ("legacy", "shim + legacy emu"), ("squid", "squid (no cache)")]
    for key, label in rows:
        if not ok(key):
            why = res.get(key, {}).get("skipped", "broken")
            print("%-24s %8s  %s" % (label, "n/a", why))
            continue
        r = res[key]
        ratio = "%.2f" % (r["median"] / base) if base else "n/a"
        if key == "shim":
            ratio += "  (target >= %.1f)" % TARGET_RATIO
        cpu = "%.2f" % r["cpu_per_gib"] if "cpu_per_gib" in r else ""
        print("%-24s %8s  %-16s %s" % (label, fmt_mb(r["median"]), ratio,
                                       cpu))
    print("(MB = 10^6 bytes; median of %d; curl's speed_download)" % REPEAT)
    for key, label in (("shim", "shim peak RSS during %d MiB (direct)"),
                       ("legacy", "shim peak RSS during %d MiB (legacy)")):
        if ok(key):
            print("%s: %.1f MiB  (target < %d MiB)" % (
                label % (SIZE // MIB), res[key]["hwm_kib"] / 1024,
                TARGET_PEAK_MIB))
    if ok("squid"):
        print("squid peak RSS: %.1f MiB" % (res["squid"]["hwm_kib"] / 1024))
    for key, label in (("idle_request", "after 1 keep-alive request each"),
                       ("idle_silent", "silent (no request)")):
        if ok(key):
            d = res[key]["after"] - res[key]["before"]
            print("%d idle connections, %s: +%.1f MiB (%.1f KiB each)  "
                  "(target < %d MiB)" % (IDLE_CONNS, label, d / 1024,
                                         d / IDLE_CONNS, TARGET_IDLE_MIB))
    print("wrk -t2 -c100 keep-alive   direct req/s   shim req/s (ratio)"
          "   squid req/s (ratio)")
    nagle = False
    for key, label in (("wrk_file", "1 KiB file (sendfile)"),
                       ("wrk_echo", "/echo (in memory)")):
        if not ok(key):
            why = res.get(key, {}).get("skipped", "broken")
            print("%-26s n/a: %s" % (label, why))
            continue
        row = res[key]
        d = row["direct"]["rps"]
        cells = ["%12.0f" % d]
        for who in ("shim", "squid"):
            if who in row:
                cells.append("%10.0f (%.2f)" % (row[who]["rps"],
                                                row[who]["rps"] / d))
            else:
                cells.append("%17s" % "n/a")
        print("%-26s %s" % (label, "   ".join(cells)))
        lat = row["direct"]["lat_ms"]
        if key == "wrk_file" and lat is not None and lat > 30:
            nagle = True
    if nagle:
        print("note: direct 1 KiB file responses average > 30 ms: upstream-"
              "emu sends the head and the\n  sendfile body in two writes "
              "without TCP_NODELAY, so each keep-alive response waits\n"
              "  for the client's delayed ACK (Nagle). That row measures the "
              "emulator; the /echo\n  row (head and body in one write) "
              "is the shim's real overhead.")
    print("=" * 72)
    for n in notes:
        print(n)


if __name__ == "__main__":
    sys.exit(main())
