#!/usr/bin/env python3
"""The process: conf check (-t), startup banner, SIGTERM drain, SIGHUP
reload."""

import os
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
