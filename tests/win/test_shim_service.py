#!/usr/bin/env python3
"""wsus-shim.exe as a Windows service, in Wine's service control manager.

install registers the service and its Event Log source; start waits for
RUNNING; the service serves a Linux curl through the Linux upstream-emu;
stop drains a download in flight before STOPPED; a conf the service can no
longer read ends in STOPPED with the exit code; uninstall removes both.
Errors reach the Event Log (Wine prints error events on its err channel).
"""

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
sys.path.insert(0, HERE)

from harness import Emu, check, run, make_file, free_port, tool, MIB  # noqa
from wine_util import (Session, wine, win_path, sc_state, wait_state,  # noqa
                       reg_query, unix_path, win_env, server_pid)

NAME = "wsus-shim"
SVC_KEY = "HKLM\\SYSTEM\\CurrentControlSet\\Services\\" + NAME
EVLOG_KEY = ("HKLM\\SYSTEM\\CurrentControlSet\\Services\\EventLog\\"
             "Application\\" + NAME)
EXE = os.environ.get("WSUS_SHIM_EXE", "")

TMP = tempfile.mkdtemp(prefix="wine-svc-")
ROOT = os.path.join(TMP, "root")
os.makedirs(ROOT)
BIG, BIG_SHA = make_file(ROOT, "big.bin", 6 * MIB, seed=11)
SMALL, SMALL_SHA = make_file(ROOT, "small.bin", 300 * 1024 + 7, seed=12)


def write_conf(port, emu_port, logs=True):
    """A service conf in TMP; paths relative to it (logs, cache). Without
    logs, [log] names no files: a service then writes them under
    %ProgramData%\\wsus-shim\\logs."""
    path = os.path.join(TMP, "wsus-shim.conf")
    with open(path, "w") as f:
        f.write("[listen]\naddress = 127.0.0.1\nport = %d\n"
                "[upstream]\nproxy = 127.0.0.1:%d\n"
                "[policy]\nallow_hosts = *.windowsupdate.com, 127.0.0.1\n"
                "[limits]\ndrain_timeout = 30s\n"
                "[range]\nmode = cache\n"
                "[cache]\ndir = cache\n"
                "[log]\nlevel = info\n" % (port, emu_port))
        if logs:
            f.write("file = shim.log\naccess_log = access.log\n")
    return path


def shim(*args, timeout=120):
    return wine([EXE] + list(args), timeout=timeout)


def log_text(path=None):
    try:
        with open(path or os.path.join(TMP, "shim.log")) as f:
            return f.read()
    except OSError:
        return ""


def wait_log(needle, timeout=10, path=None):
    """Poll the log until it holds needle (bounded); returns the text."""
    deadline = time.monotonic() + timeout
    text = log_text(path)
    while needle not in text and time.monotonic() < deadline:
        time.sleep(0.1)
        text = log_text(path)
    return text


def curl_get(port, url, out):
    argv = [tool("curl"), "-sS", "-o", out, "-w", "%{http_code} %{size_download}",
            "--max-time", "120", "-x", "127.0.0.1:%d" % port, url]
    return subprocess.run(argv, capture_output=True, text=True, timeout=150)


def sha1_of(path):
    h = hashlib.sha1()
    with open(path, "rb") as f:
        for b in iter(lambda: f.read(1 << 20), b""):
            h.update(b)
    return h.hexdigest()


def uninstall_quietly():
    """Remove the service if it is there (this test's, or a leftover of a
    run that was killed)."""
    if sc_state(NAME) is not None:
        shim("uninstall")


def test_install_start_serve_drain_stop_uninstall():
    port = free_port()
    with Emu(ROOT, "--http10", "--no-range", "--close-delimit",
             "--rate", str(2 * MIB)) as up, Session():
        conf = write_conf(port, up.port)
        uninstall_quietly()
        try:
            p = shim("install", "-c", conf)
            check(p.returncode == 0, "install rc %d: %s %s"
                  % (p.returncode, p.stdout, p.stderr))
            image = reg_query(SVC_KEY, "ImagePath") or ""
            check('-c "%s"' % win_path(conf) in image,
                  "ImagePath %r lacks the absolute conf path" % image)
            check(reg_query(SVC_KEY, "Start") == "0x2",
                  "start type %r, want automatic (0x2)"
                  % reg_query(SVC_KEY, "Start"))
            check("legacy HTTP/1.0" in (reg_query(SVC_KEY, "Description")
                                        or ""), "no service description")
            check(reg_query(SVC_KEY, "DependOnService") == "Tcpip",
                  "DependOnService %r" % reg_query(SVC_KEY, "DependOnService"))
            msgfile = reg_query(EVLOG_KEY, "EventMessageFile") or ""
            check(msgfile.lower().endswith("wsus-shim.exe"),
                  "EventMessageFile %r" % msgfile)
            check(sc_state(NAME) == "STOPPED", "state after install %s"
                  % sc_state(NAME))

            p = shim("install", "-c", conf)
            check(p.returncode == 1 and "cannot create the service" in
                  p.stderr, "second install: rc %d %r"
                  % (p.returncode, p.stderr))

            p = shim("start")
            check(p.returncode == 0 and "is running" in p.stdout,
                  "start rc %d: %s %s" % (p.returncode, p.stdout, p.stderr))
            st = sc_state(NAME)
            check(st == "RUNNING", "state %s right after start" % st)
            check("listening on 127.0.0.1:%d" % port in log_text(),
                  "log: %r" % log_text())

            # A download through the service, from the legacy parent.
            out = os.path.join(TMP, "small.out")
            r = curl_get(port, "http://127.0.0.1:%d/small.bin" % up.port, out)
            check(r.stdout == "200 %d" % (300 * 1024 + 7),
                  "curl %r %r" % (r.stdout, r.stderr))
            check(sha1_of(out) == SMALL_SHA, "small.bin bytes differ")

            # The controls that signals give on POSIX.
            p = shim("stats")
            check(p.returncode == 0, "stats rc %d %s" % (p.returncode,
                                                        p.stderr))
            log = wait_log("cache: entries=")
            check("stats: connections=0 requests=1 " in log and
                  "cache: entries=" in log,
                  "no counters in the log: %r" % log[-800:])
            p = shim("reload")
            check(p.returncode == 0, "reload rc %d %s" % (p.returncode,
                                                         p.stderr))
            log = wait_log("reloaded ")
            check("reloaded %s" % win_path(conf) in log,
                  "no reload in the log: %r" % log[-800:])

            # Stop while a 6 MiB download runs at 2 MiB/s: it completes.
            big_out = os.path.join(TMP, "big.out")
            box = {}

            def fetch():
                box["r"] = curl_get(
                    port, "http://127.0.0.1:%d/big.bin" % up.port, big_out)

            t = threading.Thread(target=fetch)
            t.start()
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and not (
                    os.path.exists(big_out) and
                    os.path.getsize(big_out) > MIB):
                time.sleep(0.05)
            check(os.path.exists(big_out) and os.path.getsize(big_out) > 0,
                  "the download did not start")
            t0 = time.monotonic()
            p = shim("stop", timeout=90)
            took = time.monotonic() - t0
            t.join(150)
            check(p.returncode == 0 and "is stopped" in p.stdout,
                  "stop rc %d: %s %s" % (p.returncode, p.stdout, p.stderr))
            r = box.get("r")
            check(r is not None and r.stdout == "200 %d" % (6 * MIB),
                  "in-flight download: %r" % ((r.stdout, r.stderr) if r
                                               else None,))
            check(sha1_of(big_out) == BIG_SHA, "big.bin bytes differ")
            check(took > 0.5, "stop returned after %.2fs, before the "
                  "download could finish" % took)
            log = log_text()
            check("stop requested: draining 1 connections" in log,
                  "log: %r" % log)
            check("wsus-shim stopped" in log, "log: %r" % log)
            check(sc_state(NAME) == "STOPPED", "state %s" % sc_state(NAME))

            p = shim("stop")
            check(p.returncode == 0, "stop when stopped: rc %d %s"
                  % (p.returncode, p.stderr))
            with open(os.path.join(TMP, "access.log")) as f:
                acc = f.read()
            check(acc.count("big.bin") == 1 and acc.count("small.bin") == 1,
                  "access log: %r" % acc)
        finally:
            uninstall_quietly()
        check(sc_state(NAME) is None, "service still registered")
        check(reg_query(EVLOG_KEY, "EventMessageFile") is None,
              "Event Log source still registered")


def test_a_conf_broken_after_install_ends_in_stopped_with_its_code():
    port = free_port()
    with Emu(ROOT) as up, Session():
        conf = write_conf(port, up.port)
        uninstall_quietly()
        try:
            p = shim("install", "-c", conf)
            check(p.returncode == 0, "install: %s" % p.stderr)
            with open(conf, "a") as f:
                f.write("[upstream]\nbogus = 1\n")
            p = shim("start")
            check(p.returncode == 1, "start rc %d" % p.returncode)
            check("exited with code 2" in p.stderr, "stderr %r" % p.stderr)
            check(wait_state(NAME, "STOPPED", 10) == "STOPPED",
                  "state %s" % sc_state(NAME))
        finally:
            uninstall_quietly()


def test_service_logs_default_to_programdata():
    port = free_port()
    logs = os.path.join(unix_path(win_env("ProgramData")), "wsus-shim",
                        "logs")
    shutil.rmtree(os.path.dirname(logs), ignore_errors=True)
    with Emu(ROOT) as up, Session():
        conf = write_conf(port, up.port, logs=False)
        uninstall_quietly()
        try:
            check(shim("install", "-c", conf).returncode == 0, "install")
            p = shim("start")
            check(p.returncode == 0, "start: %s %s" % (p.stdout, p.stderr))
            r = curl_get(port, "http://127.0.0.1:%d/small.bin" % up.port,
                         os.path.join(TMP, "small2.out"))
            check(r.stdout.startswith("200 "), "curl %r" % r.stdout)
            main_log = os.path.join(logs, "wsus-shim.log")
            text = wait_log("listening on 127.0.0.1:%d" % port,
                            path=main_log)
            check("listening on 127.0.0.1:%d" % port in text,
                  "%s: %r" % (main_log, text))
            acc = wait_log("small.bin", path=os.path.join(logs, "access.log"))
            check("small.bin" in acc, "access.log: %r" % acc)
            check(shim("stop").returncode == 0, "stop")
        finally:
            uninstall_quietly()
            shutil.rmtree(os.path.dirname(logs), ignore_errors=True)


def test_a_session_begins_on_a_wineserver_of_its_own():
    # When the last Windows program of a session exits, its wineserver
    # ends services.exe and then itself. A Session opened in that window
    # must not join it: a service started there was once found stopped,
    # then running again, right after start.
    with Session(fresh=False) as keeper:
        old = server_pid()
        check(old is not None, "no wineserver while a program runs")
        keeper.end()  # the last program exits: the session ends
        with Session() as s:
            new = server_pid()
            check(new is not None and new != old,
                  "the session joined the ending wineserver %r" % old)
            time.sleep(3)
            check(s.alive() and server_pid() == new and
                  wine(["sc", "query", "eventlog"],
                       timeout=30).returncode == 0,
                  "the session did not hold its wineserver and services")


def test_install_as_network_service():
    """install --account NetworkService: the service entry names the
    account; a word that is no account is refused before anything is
    registered."""
    port = free_port()
    with Emu(ROOT) as up, Session():
        conf = write_conf(port, up.port)
        uninstall_quietly()
        p = shim("install", "-c", conf, "--account", "svc-wsus")
        check(p.returncode == 2 and "DOMAIN\\user" in p.stderr,
              "bare name: rc %d %r" % (p.returncode, p.stderr))
        check(sc_state(NAME) is None, "a service was registered")
        try:
            p = shim("install", "-c", conf, "--account", "NetworkService")
            check(p.returncode == 0, "install rc %d: %s %s"
                  % (p.returncode, p.stdout, p.stderr))
            who = reg_query(SVC_KEY, "ObjectName") or ""
            check(who.lower() == "nt authority\\networkservice",
                  "ObjectName %r" % who)
            check("as NT AUTHORITY\\NetworkService" in p.stdout,
                  "stdout %r" % p.stdout)
        finally:
            uninstall_quietly()


def test_install_checks_the_conf_first():
    conf = os.path.join(TMP, "bad.conf")
    with open(conf, "w") as f:
        f.write("[listen]\nport = 8181\n\n[range]\nmode = sometimes\n")
    p = shim("install", "-c", conf)
    check(p.returncode == 2, "rc %d" % p.returncode)
    check(":5:" in p.stderr, "no FILE:LINE in %r" % p.stderr)
    check(sc_state(NAME) is None, "a service was registered")


def test_verbs_take_no_options_and_unknown_words_are_refused():
    p = shim("start", "-v")
    check(p.returncode == 2 and "takes no options" in p.stderr,
          "start -v: rc %d %r" % (p.returncode, p.stderr))
    p = shim("install", "-f")
    check(p.returncode == 2 and "no option but -c and --account" in p.stderr,
          "install -f: rc %d %r" % (p.returncode, p.stderr))
    p = shim("restart")
    check(p.returncode == 2 and "unknown argument 'restart'" in p.stderr,
          "restart: rc %d %r" % (p.returncode, p.stderr))
    p = shim("stop")
    check(p.returncode == 1 and "cannot open the service" in p.stderr,
          "stop without a service: rc %d %r" % (p.returncode, p.stderr))


def test_started_from_a_console_it_runs_there_and_ctrl_c_drains():
    # No -f: StartServiceCtrlDispatcher finds no service manager behind
    # this process and the program runs as a console program; SIGINT to
    # Wine is a Ctrl+C, which drains.
    port = free_port()
    drains = log_text().count("stop requested: draining 0 connections")
    with Emu(ROOT) as up:
        conf = write_conf(port, up.port)
        env = dict(os.environ, WINEDEBUG="-all")
        out_path = os.path.join(TMP, "console.out")
        with open(out_path, "w") as out:
            proc = subprocess.Popen(["wine", EXE, "-c", conf], env=env,
                                    stdin=subprocess.DEVNULL, stdout=out,
                                    stderr=subprocess.STDOUT)
        try:
            banner = "listening on 127.0.0.1:%d" % port
            deadline = time.monotonic() + 60
            while banner not in log_text(out_path) and proc.poll() is None \
                    and time.monotonic() < deadline:
                time.sleep(0.1)
            check(banner in log_text(out_path),
                  "no banner on the console: %r" % log_text(out_path))
            r = curl_get(port, "http://127.0.0.1:%d/small.bin" % up.port,
                         os.path.join(TMP, "small3.out"))
            check(r.stdout == "200 %d" % (300 * 1024 + 7), "curl %r" % r.stdout)
            proc.send_signal(signal.SIGINT)
            rc = proc.wait(60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
        check(rc == 0, "exit %d" % rc)
        check(log_text().count("stop requested: draining 0 connections") ==
              drains + 1, "no drain in the log: %r" % log_text()[-600:])


def test_console_errors_reach_the_event_log():
    # Port taken: the console program fails to listen; the error goes to
    # stderr and, as an error event, to the Event Log (Wine's ReportEvent
    # prints error events on the err:eventlog debug channel).
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    port = s.getsockname()[1]
    try:
        conf = write_conf(port, 9)
        p = wine([EXE, "-f", "-c", conf], timeout=60,
                 debug="-all,err+eventlog")
    finally:
        s.close()
    check(p.returncode == 1, "rc %d" % p.returncode)
    lines = [ln for ln in p.stderr.splitlines() if "eventlog" in ln]
    check(any("127.0.0.1:%d" % port in ln for ln in lines),
          "no error event naming the port: %r" % p.stderr[-2000:])


def main():
    if not EXE:
        print("WSUS_SHIM_EXE unset")
        return 1
    try:
        return run([test_a_session_begins_on_a_wineserver_of_its_own,
                    test_install_checks_the_conf_first,
                    test_install_as_network_service,
                    test_verbs_take_no_options_and_unknown_words_are_refused,
                    test_install_start_serve_drain_stop_uninstall,
                    test_a_conf_broken_after_install_ends_in_stopped_with_its_code,
                    test_service_logs_default_to_programdata,
                    test_started_from_a_console_it_runs_there_and_ctrl_c_drains,
                    test_console_errors_reach_the_event_log])
    finally:
        shutil.rmtree(TMP, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
