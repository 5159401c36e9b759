#!/usr/bin/env python3
"""bench_pool.py - request rate of wsus-shim in front of a real parent.

Issue 10's benchmark. wrk -t2 -c100, keep-alive, a 1 KiB file, for
BENCH_WRK_SECONDS each, side by side in one run, on loopback only:

    direct         wrk -> upstream-emu
    shim           wrk -> wsus-shim (direct mode) -> upstream-emu
    squid          wrk -> Squid (no auth) -> upstream-emu
    shim+squid     wrk -> wsus-shim -> Squid (no auth) -> upstream-emu
    shim+basic     wrk -> wsus-shim (auth = basic) -> Squid (basic_fake_auth)
    shim+ntlm      wrk -> wsus-shim (auth = ntlm) -> Squid (ntlm_fake_auth)

and the ratios shim/direct, shim+squid/squid, basic/no-auth and
ntlm/no-auth. It also counts the TCP connections the parent Squid saw
from the shim (its access log: distinct client ports) against the
requests it served: with a pool of upstream connections the count is
about the shim's concurrency, without it one per request.

upstream-emu runs with --nodelay: without it a file's head and its
sendfile body meet the client's delayed ACK and every keep-alive response
waits ~40 ms (bench_relay.py's note), which would measure the emulator.

The Squids are tests/integration/squid.py's, under a service name of
their own (-n wsusbench...), so they never meet another Squid on the host
or the integration tests'. A row whose proxy answers anything but 2xx
(the NTLM row before the shim speaks NTLM) is shown as n/a with the
reason, not as a rate. Timings never fail the bench; it exits 1 only when
a request through the shim fails where it must not (direct, no auth).

Environment (run.sh sets them): WSUS_SHIM, WSUS_EMU, BENCH_TMP,
BENCH_PIDS; knobs BENCH_WRK_SECONDS (10), BENCH_SQUID (1; 0 skips the
Squid rows).
"""

import os
import sys
import tempfile
import time

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "integration"))
sys.path.insert(0, here)
from harness import Emu, Shim, HarnessError, Skip, make_file  # noqa: E402
import bench_relay as br  # noqa: E402

WU_HOST = "au.download.windowsupdate.com"
SMALL_SIZE = 1024
WANT_SQUID = os.environ.get("BENCH_SQUID", "1") != "0"
NTLM_USER = "CORP\\svc-wsus"
PASSWORD = "bench-only-password"


def shim_conf(parent_port=None, auth=None):
    d = br.shim_conf(parent_port)
    if auth is not None:
        d["upstream"].update({"auth": auth, "password": PASSWORD,
                              "user": NTLM_USER if auth == "ntlm"
                              else "svc-wsus"})
    return d


def start_shim(parent_port=None, auth=None):
    s = Shim(shim_conf(parent_port, auth)).start()
    br.note_pid(s.pid)
    return s


def start_squid(origin_port, auth=None):
    from squid import Squid
    try:
        sq = Squid(origin_port, auth=auth, name="wsusbench").start()
    except Skip as e:
        raise br.Unavailable(str(e))
    except HarnessError as e:
        raise br.Unavailable("squid: %s" % e)
    br.note_pid(sq.proc.pid)
    return sq


def main():
    t0 = time.monotonic()
    work = os.environ.get("BENCH_TMP") or tempfile.mkdtemp(prefix="bench-")
    br.raise_nofile()
    root = os.path.join(work, "pool-root")
    make_file(root, "small.bin", SMALL_SIZE, seed=8)
    origin = Emu(root, "--nodelay").start()
    br.note_pid(origin.proc.pid)
    target = origin.url("/small.bin")
    wu_target = "http://%s/small.bin" % WU_HOST
    lua = br.proxy_lua(os.path.join(work, "pool-direct.lua"), target)
    wu_lua = br.proxy_lua(os.path.join(work, "pool-wu.lua"), wu_target)
    res, broken = {}, []

    def show(key, r):
        print("  %-11s %9.0f req/s  %s" % (key, r["rps"], "; ".join(
            r["notes"])), flush=True)

    def measure(key, url, lua_path, proc=None, must_work=True, squid=None):
        before = len(squid.access()) if squid else 0
        cpu0 = br.proc_cpu_s(proc.pid) if proc else 0
        rps, notes, bad, lat = br.wrk(url, lua_path)
        r = {"rps": rps, "notes": list(notes)}
        if proc is not None:
            r["notes"].append("shim CPU %.1f s" % (br.proc_cpu_s(proc.pid) -
                                                   cpu0))
            br.shim_alive(proc, key)
        if squid is not None:
            lines = squid.access()[before:]
            served = [ln for ln in lines if ln.status < 400]
            r["parent_requests"] = len(served)
            r["parent_conns"] = len(squid.client_ports(lines))
            r["notes"].append("parent saw %d requests on >= %d connections"
                              % (len(served), r["parent_conns"]))
        if bad:
            if must_work:
                raise br.Broken("%s: %s" % (key, "; ".join(notes)))
            res[key] = {"skipped": "non-2xx answers (%s)" % "; ".join(notes)}
            print("  %-11s n/a: %s" % (key, res[key]["skipped"]), flush=True)
            return
        res[key] = r
        show(key, r)

    def row(key, fn):
        try:
            fn()
        except br.Broken as e:
            broken.append("%s: %s" % (key, e))
            print("  %-11s BROKEN: %s" % (key, e), flush=True)
        except br.Unavailable as e:
            res[key] = {"skipped": str(e)}
            print("  %-11s skipped: %s" % (key, e), flush=True)

    print("wrk -t2 -c100 keep-alive, %d s each, %d-byte file, upstream-emu "
          "--nodelay:" % (br.WRK_SECONDS, SMALL_SIZE), flush=True)
    try:
        row("direct", lambda: measure("direct", target, None))

        def shim_direct():
            s = start_shim()
            try:
                measure("shim", "http://127.0.0.1:%d/" % s.port, lua, s)
            finally:
                s.stop()
                s.cleanup()
        row("shim", shim_direct)

        def behind(key, auth, via_shim, must_work):
            def fn():
                if not WANT_SQUID:
                    raise br.Unavailable("BENCH_SQUID=0")
                sq = start_squid(origin.port, auth)
                try:
                    if not via_shim:
                        measure(key, "http://127.0.0.1:%d/" % sq.port,
                                wu_lua, None, must_work=False, squid=sq)
                        return
                    s = start_shim(sq.port, auth)
                    try:
                        measure(key, "http://127.0.0.1:%d/" % s.port, wu_lua,
                                s, must_work=must_work, squid=sq)
                    finally:
                        s.stop()
                        s.cleanup()
                finally:
                    sq.kill()
                    sq.cleanup()
            return fn
        row("squid", behind("squid", None, False, False))
        row("shim+squid", behind("shim+squid", None, True, True))
        row("shim+basic", behind("shim+basic", "basic", True, False))
        row("shim+ntlm", behind("shim+ntlm", "ntlm", True, False))
    finally:
        origin.stop()

    report(res)
    print("\ncommands:")
    for c in br.COMMANDS:
        print("  " + c)
    print("\nbench time %.0f s" % (time.monotonic() - t0))
    if broken:
        print("\nBROKEN (figures above are not valid):")
        for b in broken:
            print("  " + b)
        return 1
    return 0


def report(res):
    def rps(k):
        r = res.get(k)
        return r["rps"] if r and "rps" in r else None

    print("\n" + "=" * 72)
    print("%-12s %10s   %s" % ("path", "req/s", "parent connections (at "
                                "least) / requests"))
    for k in ("direct", "shim", "squid", "shim+squid", "shim+basic",
              "shim+ntlm"):
        r = res.get(k, {})
        if "rps" not in r:
            print("%-12s %10s   %s" % (k, "n/a", r.get("skipped", "broken")))
            continue
        pc = ""
        if "parent_conns" in r:
            pc = "%d / %d" % (r["parent_conns"], r["parent_requests"])
        print("%-12s %10.0f   %s" % (k, r["rps"], pc))
    print("ratios:")
    for label, a, b in (("shim / direct", "shim", "direct"),
                        ("shim+squid / squid", "shim+squid", "squid"),
                        ("basic / no auth (behind squid)", "shim+basic",
                         "shim+squid"),
                        ("ntlm / no auth (behind squid)", "shim+ntlm",
                         "shim+squid")):
        x, y = rps(a), rps(b)
        print("  %-32s %s" % (label, "%.2f" % (x / y) if x and y else "n/a"))
    print("=" * 72)


if __name__ == "__main__":
    sys.exit(main())
