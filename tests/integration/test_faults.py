#!/usr/bin/env python3
"""Fault injection (issue 13): the shim killed with SIGKILL during a cache
fill, during its commit and during a fill that evicts, then restarted on
the same cache folder; the parent's name failing to resolve, then good
again after a reload; the log folder unwritable.

After every kill: the start-up scan leaves no temporary file, every entry
left on disk is whole (its data has the length and SHA-1 its meta and its
name say), and a BITS-like walk (HEAD, then 1 MiB ranges) gets 206s with
the exact bytes. The parent is the legacy emulator (HTTP/1.0, Range
ignored, close-delimited), rate-limited so a fill can be caught under way.
"""

import hashlib
import os
import re
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Emu, Shim, HttpConn, check, run, make_content_file,
                     sha1_file, MIB)
from common import (conf, LEGACY, content_root, content_url, ranged, get,
                    expect_206, scratch, wu_url, BITS_HEADERS)

ROOT, CDIR = content_root("faults-root-")
SIZE = 24 * MIB + 333
FILE, NAME, SHA = make_content_file(CDIR, "windows10.0-kb5031356-x64", SIZE,
                                    seed=71)
URL = content_url(NAME)
SIZE2 = 20 * MIB + 5
FILE2, NAME2, SHA2 = make_content_file(CDIR, "windows10.0-kb5032189-x64",
                                       SIZE2, seed=72)
URL2 = content_url(NAME2)
RATE = "24000000"       # parent bytes/s: a 24 MiB fill takes about 1 s


def cache_conf(port, cdir, max_size="1G"):
    return conf([port], mode="cache", extra={
        "cache": {"dir": cdir, "max_size": max_size, "min_free": "0"}})


def cache_files(cdir):
    out = []
    for d, _, names in os.walk(cdir):
        out += [os.path.join(d, n) for n in names]
    return out


def temps(cdir):
    return [p for p in cache_files(cdir) if ".tmp." in os.path.basename(p)]


def fsize(p):
    """Size of p, or -1 when it is gone (renamed or removed meanwhile)."""
    try:
        return os.path.getsize(p)
    except OSError:
        return -1


def wait_for(pred, timeout, step=0.001):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return None


def kill9(s):
    s.proc.kill()
    s.proc.wait(5)
    s.stop()
    s.cleanup()


def start_fill(port, url, rng="bytes=0-99"):
    """A client asking for one range, in a thread (its answer is not
    waited for: the shim is killed under it)."""
    def go():
        try:
            with HttpConn(port, timeout=30) as c:
                ranged(c, url, rng, headers=BITS_HEADERS)
        except Exception:
            pass
    t = threading.Thread(target=go, daemon=True)
    t.start()
    return t


def check_entries(cdir):
    """Every committed entry on disk is whole; returns how many."""
    n = 0
    for p in cache_files(cdir):
        if not p.endswith(".meta"):
            continue
        text = open(p, "rb").read().decode("latin-1")
        url = re.search(r"^url (\S+)$", text, re.M).group(1)
        length = int(re.search(r"^length (\d+)$", text, re.M).group(1))
        named = re.search(r"_([0-9a-f]{40})\.cab$", url).group(1)
        data = p[:-5] + ".data"
        check(os.path.getsize(data) == length, "%s: %d bytes, meta says %d"
              % (data, os.path.getsize(data), length))
        check(sha1_file(data) == named, "%s: SHA-1 is not the named one" %
              data)
        n += 1
    return n


def walk(port, url, path, size):
    """BITS: HEAD, then consecutive 1 MiB ranges, each an exact 206."""
    with HttpConn(port, timeout=60) as c:
        r = get(c, url, headers=BITS_HEADERS, method="HEAD")
        check(r.status == 200, "HEAD: %d" % r.status)
        check(r.header("Content-Length") == str(size), "HEAD length %r" %
              r.header("Content-Length"))
        h = hashlib.sha1()
        for a in range(0, size, MIB):
            b = min(a + MIB, size) - 1
            r = ranged(c, url, "bytes=%d-%d" % (a, b), headers=BITS_HEADERS)
            expect_206(r, a, b, size, path)
            h.update(r.body)
        check(h.hexdigest() == sha1_file(path), "walk SHA-1")


def restart_and_walk(up, cdir, files=((URL, FILE, SIZE),)):
    with Shim(cache_conf(up.port, cdir)) as s:
        check(temps(cdir) == [], "temporaries left after the start-up "
              "scan: %s" % temps(cdir))
        check_entries(cdir)
        for url, path, size in files:
            walk(s.port, url, path, size)
        check(temps(cdir) == [], "temporaries after the walks")
        return check_entries(cdir)


def test_kill9_during_a_fill_leaves_no_half_entry():
    cdir = os.path.join(scratch("faults-cache-"), "cache")
    with Emu(ROOT, *(LEGACY + ("--rate", RATE))) as up:
        s = Shim(cache_conf(up.port, cdir)).start()
        start_fill(s.port, URL)
        got = wait_for(lambda: [p for p in temps(cdir)
                                if fsize(p) > SIZE // 3], 20)
        check(got, "no fill under way")
        kill9(s)
        check(temps(cdir), "the kill left no temporary: not mid-fill")
        check(not [p for p in cache_files(cdir) if p.endswith(".meta")],
              "a meta file for a fill killed half way")
        check(restart_and_walk(up, cdir) == 1, "entry not committed")


def committed(cdir):
    return [p for p in cache_files(cdir) if p.endswith(".meta")]


def _kill_at(trigger):
    """Kill -9 when trigger(cdir) first holds during a fill (or once the
    entry is committed, when the fill outran the polling); restart,
    check, walk. Returns what was on disk at the kill."""
    cdir = os.path.join(scratch("faults-cache-"), "cache")
    with Emu(ROOT, *(LEGACY + ("--rate", RATE))) as up:
        s = Shim(cache_conf(up.port, cdir)).start()
        start_fill(s.port, URL)
        hit = wait_for(lambda: trigger(cdir) or committed(cdir), 30,
                       step=0.0005)
        kill9(s)
        check(hit, "the trigger never held")
        seen = sorted(os.path.basename(p).split(".", 1)[1]
                      for p in cache_files(cdir))
        restart_and_walk(up, cdir)
        return seen


def test_kill9_during_the_commit_leaves_old_state_or_whole_entry():
    # The body is all on disk (the temporary has every byte): the commit
    # (fsync, meta temporary, two renames) runs or is about to.
    def body_done(cdir):
        return [p for p in temps(cdir) if ".data.tmp." in p and
                fsize(p) >= SIZE]
    seen = _kill_at(body_done)
    print("  on disk at the kill: %s" % " ".join(seen), flush=True)


def test_kill9_as_the_entry_lands():
    # Polled for the data file's rename; the meta's follows within
    # microseconds, so this usually catches both (the states in between
    # are made by hand in the next test).
    def data_in_place(cdir):
        return [p for p in cache_files(cdir) if p.endswith(".data")]
    print("  on disk at the kill: %s" % " ".join(_kill_at(data_in_place)),
          flush=True)


def test_states_between_the_commit_renames_are_cleaned_at_start():
    # What a crash inside the commit leaves, made from a real entry:
    # (a) the data renamed, the meta still a temporary; (b) nothing
    # renamed yet, both temporaries whole; (c) the meta in place over a
    # data file cut short.
    cdir = os.path.join(scratch("faults-cache-"), "cache")
    with Emu(ROOT, *LEGACY) as up:
        with Shim(cache_conf(up.port, cdir)) as s:
            walk(s.port, URL, FILE, SIZE)
        meta = committed(cdir)[0]
        data = meta[:-5] + ".data"
        mtext = open(meta, "rb").read()
        dbytes = open(data, "rb").read()
        states = {
            "data renamed, meta temporary": {
                data: dbytes, meta + ".tmp.0123456789abcdef": mtext},
            "both temporaries": {
                data + ".tmp.0123456789abcdef": dbytes,
                meta + ".tmp.0123456789abcdef": mtext},
            "meta over a short data file": {
                data: dbytes[:len(dbytes) // 2], meta: mtext},
        }
        for what, files in states.items():
            for p in cache_files(cdir):
                os.unlink(p)
            for p, b in files.items():
                with open(p, "wb") as f:
                    f.write(b)
            with Shim(cache_conf(up.port, cdir)) as s:
                check(temps(cdir) == [], "%s: temporaries after the start-up "
                      "scan: %s" % (what, temps(cdir)))
                walk(s.port, URL, FILE, SIZE)
            check(check_entries(cdir) == 1, "%s: no whole entry after the "
                  "walk" % what)


def test_kill9_at_several_points_of_a_fill():
    for frac in (0.0, 0.5, 0.9, 0.99):
        def part(cdir, frac=frac):
            return [p for p in temps(cdir) if ".data.tmp." in p and
                    fsize(p) > frac * SIZE]
        _kill_at(part)


def test_kill9_during_a_fill_that_evicts():
    # The cap holds one file: filling the second evicts the first.
    cdir = os.path.join(scratch("faults-cache-"), "cache")
    cap = "%dM" % (SIZE // MIB + 2)
    with Emu(ROOT, *(LEGACY + ("--rate", RATE))) as up:
        with Shim(cache_conf(up.port, cdir, cap)) as s:
            walk(s.port, URL, FILE, SIZE)
        for frac in (0.0, 0.5, 0.95):
            s = Shim(cache_conf(up.port, cdir, cap)).start()
            start_fill(s.port, URL2)
            wait_for(lambda: [p for p in temps(cdir) if fsize(p)
                              > frac * SIZE2], 20)
            kill9(s)
            with Shim(cache_conf(up.port, cdir, cap)) as s2:
                check(temps(cdir) == [], "temporaries after restart")
                check_entries(cdir)
                walk(s2.port, URL2, FILE2, SIZE2)
                walk(s2.port, URL, FILE, SIZE)
            check(check_entries(cdir) == 1, "cap of one file not kept")


def _wait_text(s, what, timeout=10):
    return wait_for(lambda: what in s.stderr_text(), timeout, step=0.05)


def test_parent_name_fails_then_comes_back_on_reload():
    # ".invalid" never resolves (RFC 6761); localhost does (hosts file).
    with Emu(ROOT, "--http10") as up, \
            Shim(conf(["nonexistent.invalid:%d" % up.port])) as s:
        t0 = time.monotonic()
        with HttpConn(s.port, timeout=60) as c:
            r = get(c, URL)
        check(r.status == 502, "unresolvable parent: %d" % r.status)
        check(time.monotonic() - t0 < 45, "slow failure")
        check("resolve" in s.stderr_text(), "no resolver failure logged: %s"
              % s.stderr_text()[-500:])
        text = open(s.conf_path).read().replace("nonexistent.invalid",
                                                "localhost")
        with open(s.conf_path, "w") as f:
            f.write(text)
        s.signal(signal.SIGHUP)
        check(_wait_text(s, "reloaded"), "no reload")
        with HttpConn(s.port, timeout=30) as c:
            r = get(c, URL)
        check(r.status == 200, "after the name is good: %d" % r.status)
        check(hashlib.sha1(r.body).hexdigest() == SHA, "wrong body")
        check(s.alive(), "the shim died")


def _unwritable_log_paths():
    """Paths that cannot be opened for writing, for root too: under a
    regular file; plus a chmod 0500 folder when not root."""
    d = scratch("faults-log-")
    reg = os.path.join(d, "regular")
    open(reg, "w").close()
    out = [os.path.join(reg, "sub")]
    if os.geteuid() != 0:
        ro = os.path.join(d, "ro")
        os.mkdir(ro, 0o500)
        out.append(ro)
    return out


def test_unwritable_log_folder_still_serves_and_says_so():
    for folder in _unwritable_log_paths():
        acc = os.path.join(folder, "access.log")
        log = os.path.join(folder, "wsus-shim.log")
        with Emu(ROOT, "--http10") as up, \
                Shim(conf([up.port], extra={"log": {
                    "access_log": acc, "file": log}})) as s:
            err = s.stderr_text()
            check("cannot open access log %s" % acc in err,
                  "access log failure not said: %s" % err[-600:])
            check("cannot open log file %s" % log in err,
                  "log file failure not said: %s" % err[-600:])
            with HttpConn(s.port, timeout=30) as c:
                r = get(c, URL)
            check(r.status == 200 and
                  hashlib.sha1(r.body).hexdigest() == SHA, "not served")
            # A reload with a writable access log turns it on again.
            good = os.path.join(s.tmp, "access-after.log")
            text = open(s.conf_path).read().replace(acc, good)
            with open(s.conf_path, "w") as f:
                f.write(text)
            s.signal(signal.SIGHUP)
            check(_wait_text(s, "reloaded"), "no reload")
            with HttpConn(s.port, timeout=30) as c:
                check(get(c, wu_url("/nonexistent")).status == 404,
                      "after reload")
            check(wait_for(lambda: os.path.exists(good) and
                           os.path.getsize(good) > 0, 5, step=0.05),
                  "no access line after the reload")
            check(s.alive(), "the shim died")
        check(s.returncode == 0, "exit %s" % s.returncode)


run([v for k, v in sorted(globals().items()) if k.startswith("test_")])
