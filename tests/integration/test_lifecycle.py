#!/usr/bin/env python3
"""The process: conf check (-t), startup banner, SIGTERM drain, SIGHUP
reload, log rotation."""

import glob
import os
import re
import signal
import subprocess
import tempfile
import threading
import time

from harness import (Emu, Shim, HttpConn, check, run, make_file, shim_path,
                     MIB)
from common import conf, get, wu_url, tmpdir

ROOT = tmpdir("life-root-")
BIG, BIG_SHA = make_file(ROOT, "big.bin", 8 * MIB, seed=5)
make_file(ROOT, "f.bin", 1000)


def run_t(text):
    d = tempfile.mkdtemp(prefix="conf-")
    path = os.path.join(d, "x.conf")
    with open(path, "w") as f:
        f.write(text)
    p = subprocess.run([shim_path(), "-t", "-c", path], capture_output=True,
                       text=True, timeout=10)
    return p, path


def log_files(path):
    """path, path.1, path.2, ... that exist, newest first."""
    names = [p for p in glob.glob(path + "*")
             if p == path or p[len(path) + 1:].isdigit()]
    return sorted(names, key=lambda p: 0 if p == path
                  else int(p[len(path) + 1:]))


def many_requests(up, log_dir, n, keep):
    """n keep-alive GETs through a shim whose logs rotate at 16K; returns
    the access log's path."""
    extra = {"log": {"file": os.path.join(log_dir, "shim.log"),
                     "access_log": os.path.join(log_dir, "access.log"),
                     "rotate_size": "16K", "rotate_keep": str(keep)}}
    with Shim(conf([up.port], extra=extra)) as s, HttpConn(s.port) as c:
        for i in range(n):
            r = get(c, wu_url("/f.bin?n=%d" % i))
            check(r.status == 200 and len(r.body) == 1000,
                  "request %d: %d" % (i, r.status))
    return os.path.join(log_dir, "access.log")


def test_logs_rotate_by_size_and_keep_every_line():
    # Windows has no logrotate: the service's logs would grow for ever.
    # 400 requests of ~170-byte lines fill four 16K files and a fifth in
    # part; with rotate_keep = 5 no line is dropped, and each line is
    # whole in one file.
    d = tempfile.mkdtemp(prefix="rot-")
    with Emu(ROOT, "--http10") as up:
        acc = many_requests(up, d, 400, 5)
    files = log_files(acc)
    check(len(files) >= 4 and len(files) <= 6, "files %r" % files)
    seen = []
    for p in reversed(files):  # oldest first
        with open(p, "rb") as f:
            data = f.read()
        check(data.endswith(b"\n"), "%s ends inside a line" % p)
        if p != acc:
            check(16384 <= len(data) < 16384 + 2400,
                  "%s: %d bytes, rotated at 16K" % (p, len(data)))
        seen += [int(m) for m in re.findall(rb"f\.bin\?n=(\d+)", data)]
    check(seen == list(range(400)), "lines lost or out of order: %d, "
          "first gap near %r" % (len(seen), next(
              (i for i, v in enumerate(seen) if v != i), None)))
    shim_logs = log_files(os.path.join(d, "shim.log"))
    check(len(shim_logs) >= 2, "the diagnostics log did not rotate: %r"
          % shim_logs)


def test_log_rotation_drops_the_oldest_beyond_keep():
    d = tempfile.mkdtemp(prefix="rot-")
    with Emu(ROOT, "--http10") as up:
        acc = many_requests(up, d, 400, 1)
    files = log_files(acc)
    check(files == [acc, acc + ".1"], "files %r" % files)
    with open(acc + ".1", "rb") as f:
        old = [int(m) for m in re.findall(rb"f\.bin\?n=(\d+)", f.read())]
    with open(acc, "rb") as f:
        new = [int(m) for m in re.findall(rb"f\.bin\?n=(\d+)", f.read())]
    check(old and new and old[-1] + 1 == new[0] and new[-1] == 399,
          "the newest lines are not the two files' %r..%r, %r..%r"
          % (old[:1], old[-1:], new[:1], new[-1:]))


def test_check_mode_accepts_a_valid_conf():
    p, _ = run_t("[listen]\nport = 8181\n[upstream]\nproxy = 10.1.1.1:8080\n"
                 "user = u\npassword = secret-pw\n")
    check(p.returncode == 0, "rc %d: %s" % (p.returncode, p.stderr))
    check("configuration OK" in p.stdout, "stdout %s" % p.stdout)
    check("secret-pw" not in p.stdout + p.stderr, "password printed")


def test_check_mode_names_file_and_line():
    p, path = run_t("[listen]\nport = 8181\n\n[upstream]\nbogus = 1\n")
    check(p.returncode == 2, "rc %d" % p.returncode)
    check("%s:5:" % path in p.stderr, "stderr %r" % p.stderr)


def test_banner_says_where_it_listens_and_forwards():
    with Shim(conf([3128])) as s:
        out = s.stdout_text()
        check("listening on 127.0.0.1:%d" % s.port in out, "banner %r" % out)
        check("forwarding via 127.0.0.1:3128" in out, "banner %r" % out)


def test_sigterm_lets_the_inflight_download_finish():
    with Emu(ROOT, "--rate", str(4 * MIB)) as up, Shim(conf([up.port])) as s:
        c = HttpConn(s.port, timeout=30)
        c.request("GET", wu_url("/big.bin"), host="au.download.windowsupdate.com")
        box = {}

        def reader():
            try:
                box["r"] = c.read_response(keep_body=False)
            except Exception as e:  # noqa: BLE001
                box["e"] = e
        th = threading.Thread(target=reader)
        th.start()
        time.sleep(0.5)
        s.signal(signal.SIGTERM)
        th.join(30)
        check("r" in box, "download failed: %r" % box.get("e"))
        check(box["r"].body_sha1 == BIG_SHA, "body differs")
        check(s.wait(10) == 0, "exit code")
        c.close()


def test_sigterm_with_nothing_in_flight_exits_at_once():
    with Shim(conf([])) as s:
        t0 = time.monotonic()
        s.signal(signal.SIGTERM)
        check(s.wait(5) == 0, "exit code")
        check(time.monotonic() - t0 < 2, "slow exit")


def test_sighup_reloads_for_new_connections():
    with Emu(ROOT) as up, Shim(conf([up.port])) as s:
        with HttpConn(s.port) as c:
            check(get(c, wu_url("/f.bin")).status == 200, "before reload")
        text = open(s.conf_path).read().replace(
            "*.windowsupdate.com, ", "")
        with open(s.conf_path, "w") as f:
            f.write(text)
        s.signal(signal.SIGHUP)
        deadline = time.monotonic() + 5
        while "reloaded" not in s.stderr_text() and \
                time.monotonic() < deadline:
            time.sleep(0.05)
        with HttpConn(s.port) as c:
            r = get(c, wu_url("/f.bin"))
            check(r.status == 403, "after reload: %d" % r.status)


def test_sighup_with_a_broken_conf_keeps_running():
    with Emu(ROOT) as up, Shim(conf([up.port])) as s:
        with open(s.conf_path, "a") as f:
            f.write("\n[nonsense]\nx = 1\n")
        s.signal(signal.SIGHUP)
        deadline = time.monotonic() + 5
        while "reload failed" not in s.stderr_text() and \
                time.monotonic() < deadline:
            time.sleep(0.05)
        check("reload failed" in s.stderr_text(), "no reload error")
        with HttpConn(s.port) as c:
            check(get(c, wu_url("/f.bin")).status == 200, "stopped serving")


run([v for k, v in sorted(globals().items()) if k.startswith("test_")])
