#!/usr/bin/env python3
"""wsus-fixer.exe under Wine, end to end (python3 stdlib only).

    test_fixer_wine.py --testsvc WSUS-TESTSVC.EXE GROUP

The services are real: tests/win/testsvc.c (wsus-testsvc.exe) registered
in Wine's service control manager with `wine sc create`, its behaviour
chosen by the arguments in its binPath. It plays WSUSService, BITS and
services that depend on WSUSService, and logs every event (start, stop
request, stopped...) with its process id to one file. The fixer drives
them with its scm backend: OpenService, ControlService(STOP),
StartService, QueryServiceStatusEx with the wait hint and check point.

SUSDB is a SQLite file built from sql/susdb-fixture.sql. The fixer
reaches it through Wine's odbc32, which hands the connection string to
the host's unixODBC and libsqliteodbc: the driver runs on the host, so
Database= is a host path. Every value is read back on the host with
Python's sqlite3; every service state with `wine sc query` (STATE), the
start type from the registry the service manager writes.

Wine limitations worked around here (see docs/wsus-fixer.md):
  - Wine's sc passes the value of depend= on as the dependency list
    without the second NUL that ends a multi-string; an empty argument
    after it supplies that NUL.
  - Wine's sc has no qc/config: the start type is read from
    HKLM\\SYSTEM\\CurrentControlSet\\Services\\NAME (Start), which Wine's
    service manager writes on every change.
  - Wine ends services.exe and its services a few seconds after the
    last Windows process exits: each group holds a wine_util.Session.

Every wait is bounded, every service created is stopped and deleted and
the registry key written is removed in finally blocks. Nothing here kills
wineserver: other Wine tests share the prefix.
"""

import argparse
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from wine_util import (Session, wine, win_path, sc_state, wait_state,  # noqa
                       reg_query)

FIXER = os.environ.get("WSUS_FIXER_EXE", "")
SRC = os.environ.get("WSUS_SRC", os.path.join(HERE, "..", ".."))
TESTSVC = None
SETDACL = None
RUN_TIMEOUT = 120  # one wsus-fixer run

# Service names of this file, so a crashed run's leftovers are found.
SVC = "wsusfx-svc"
BITS = "wsusfx-bits"
SETUP_KEY = "HKLM\\SOFTWARE\\Microsoft\\Update Services\\Server\\Setup"
SETUP_ROOT = "HKLM\\SOFTWARE\\Microsoft\\Update Services"
REG_WHERE = ("SqlServerName in HKLM\\SOFTWARE\\Microsoft\\Update Services"
             "\\Server\\Setup")


class Fail(Exception):
    pass


def check(cond, what, *ctx):
    if not cond:
        raise Fail(what + "".join("\n--- " + str(c) for c in ctx))


def reg_delete(key):
    wine(["reg", "delete", key, "/f"], timeout=60)


# ---------------------------------------------------------------- fixture

class Env:
    """A temp folder with SUSDB, the conf, the state file, the services'
    log, and the services this test registered."""

    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix="wine-fixer-")
        check(" " not in self.tmp and " " not in TESTSVC,
              "paths with spaces would need quoting in binPath")
        self.db = os.path.join(self.tmp, "susdb.sqlite3")
        self.make_db(self.db)
        self.log = os.path.join(self.tmp, "svc.log")
        self.state = os.path.join(self.tmp, "var", "wsus-fixer.state")
        self.content = os.path.join(self.tmp, "content")
        os.makedirs(self.content)
        self.conf = os.path.join(self.tmp, "wsus-fixer.conf")
        self.created = []
        self.write_conf()

    @staticmethod
    def make_db(path, value=0):
        with open(os.path.join(SRC, "sql", "susdb-fixture.sql")) as f:
            sql = f.read()
        con = sqlite3.connect(path)
        con.executescript(sql)
        con.execute("UPDATE tbConfigurationC SET "
                    "BitsDownloadPriorityForeground = ?", (value,))
        con.commit()
        con.close()

    def write_conf(self, connection=None, name=SVC, bits=BITS,
                   stop_timeout="3", start_timeout="5", extra="",
                   content=None):
        if connection is None:
            connection = "Driver=SQLite3;Database=" + self.db
        if content is None:
            content = win_path(self.content)
        with open(self.conf, "w") as f:
            f.write("[database]\nconnection = %s\n%s"
                    "[service]\nbackend = scm\nname = %s\nbits_name = %s\n"
                    "stop_timeout = %s\nstart_timeout = %s\n"
                    "poll_interval = 100ms\n"
                    "[fixer]\nstate_file = %s\ncontent_dir = %s\n"
                    % (connection, extra, name, bits, stop_timeout,
                       start_timeout, win_path(self.state), content))

    def rows(self, path=None):
        con = sqlite3.connect(path or self.db)
        try:
            return con.execute(
                "SELECT ConfigurationID, BitsDownloadPriorityForeground, "
                "LocalContentCacheLocation FROM tbConfigurationC").fetchall()
        finally:
            con.close()

    def expect_value(self, value, path=None):
        got = self.rows(path)
        check(got == [(1, value, "C:\\WSUS\\WsusContent")],
              "SUSDB rows %r, expected value %d and nothing else changed"
              % (got, value))

    # -- services
    def create(self, name, *args, start="demand", depend=None):
        """Register wsus-testsvc.exe as name; args go in its binPath."""
        if sc_state(name) is not None:
            self.remove(name)
        binpath = " ".join([win_path(TESTSVC), "--name", name, "--log",
                            win_path(self.log), "--quit-file",
                            win_path(self.quit_file(name))] + list(args))
        argv = ["sc", "create", name, "binPath=", binpath, "start=", start]
        if depend:
            # Wine's sc hands depend='s value on as a multi-string without
            # its final NUL; the empty argument that follows provides it.
            argv += ["depend=", depend, ""]
        p = wine(argv)
        check(p.returncode == 0, "sc create %s: rc %d" % (name, p.returncode),
              p.stdout, p.stderr)
        self.created.append(name)
        if depend:
            # A loaded machine's `reg query` may come back empty-handed
            # (timed out): a few bounded tries before judging.
            for _ in range(5):
                deps = reg_query(self.svc_key(name), "DependOnService")
                if deps == depend:
                    break
                time.sleep(0.5)
            check(deps == depend, "%s depends on %r, wanted %r"
                  % (name, deps, depend))
        check(sc_state(name) == "STOPPED", "%s is %s after create"
              % (name, sc_state(name)))

    def quit_file(self, name):
        return os.path.join(self.tmp, "quit-" + name)

    @staticmethod
    def svc_key(name):
        return "HKLM\\SYSTEM\\CurrentControlSet\\Services\\" + name

    def start(self, name):
        p = wine(["sc", "start", name])
        st = wait_state(name, "RUNNING", 30)
        check(p.returncode == 0 and st == "RUNNING",
              "sc start %s: rc %d, state %s" % (name, p.returncode, st),
              p.stdout, p.stderr, self.log_text())

    def remove(self, name, quit_file=None):
        """Stop and delete name. A service of ours stops when its quit
        file appears, whatever its mode; a stranger (a crashed run's
        leftover) gets `sc stop`. Bounded."""
        st = sc_state(name)
        if st is not None and st != "STOPPED":
            if quit_file:
                open(quit_file, "w").close()
            else:
                wine(["sc", "stop", name])
            st = wait_state(name, "STOPPED", 30)
        wine(["sc", "delete", name])
        return st

    def cleanup(self):
        errors = []
        # dependents first: they were created after what they depend on
        for name in reversed(self.created):
            try:
                st = self.remove(name, self.quit_file(name))
                if st not in (None, "STOPPED"):
                    errors.append("%s did not stop: %s" % (name, st))
                if sc_state(name) is not None:
                    errors.append("%s still registered" % name)
            except (OSError, subprocess.TimeoutExpired) as e:
                errors.append("%s: %s" % (name, e))
        shutil.rmtree(self.tmp, ignore_errors=True)
        return errors

    def log_text(self):
        try:
            with open(self.log) as f:
                return f.read()
        except OSError:
            return ""

    def events(self, name=None):
        """[(name, event, start_no, pid)] in the order they happened."""
        out = []
        for line in self.log_text().splitlines():
            parts = line.split()
            if len(parts) == 4 and (name is None or parts[0] == name):
                out.append((parts[0], parts[1], int(parts[2]), int(parts[3])))
        return out

    def start_type(self, name):
        return reg_query(self.svc_key(name), "Start")

    # -- the fixer
    def fixer(self, *args, cwd=None):
        argv = [FIXER, "-c", win_path(self.conf)] + list(args)
        t0 = time.monotonic()
        p = wine(argv, timeout=RUN_TIMEOUT, cwd=cwd or self.tmp)
        p.elapsed = time.monotonic() - t0
        p.all = "$ wsus-fixer %s\n[exit %d, %.1f s]\n%s%s" % (
            " ".join(args), p.returncode, p.elapsed, p.stdout, p.stderr)
        p.json = None
        if "--json" in args:
            try:
                p.json = json.loads(p.stdout)
            except ValueError:
                raise Fail("--json output is not one JSON object\n" + p.all)
        return p

    def state_text(self):
        try:
            with open(self.state) as f:
                return f.read()
        except OSError:
            return None


def expect_rc(p, rc):
    check(p.returncode == rc, "exit %d, expected %d" % (p.returncode, rc),
          p.all)


def steps(p):
    """{step name: [step, ...]} of a --json run."""
    out = {}
    for s in p.json["steps"]:
        out.setdefault(s["step"], []).append(s)
    return out


def step(p, name, result, detail=None, index=0):
    """The index-th step called name: its result, and its detail when
    given (a string: equal; a compiled regex: matches)."""
    got = steps(p).get(name, [])
    check(len(got) > index, "no step %s #%d" % (name, index), p.all)
    s = got[index]
    check(s["result"] == result, "step %s is %s, expected %s"
          % (name, s["result"], result), p.all)
    if isinstance(detail, str):
        check(s["detail"] == detail, "step %s detail %r, expected %r"
              % (name, s["detail"], detail), p.all)
    elif detail is not None:
        check(detail.search(s["detail"]), "step %s detail %r does not match "
              "%r" % (name, s["detail"], detail.pattern), p.all)
    return s


def ini_value(text, section, key):
    sect = None
    for line in (text or "").splitlines():
        line = line.split(" ;")[0].strip()
        if line.startswith("["):
            sect = line.strip("[]")
        elif "=" in line and sect == section:
            k, v = line.split("=", 1)
            if k.strip() == key:
                return v.strip()
    return None


# ----------------------------------------------------------------- groups

def g_apply_revert(env):
    """status, dry run, apply, apply again, revert, with the wait loops
    paced by check points that move for longer than the wait hint."""
    # pending 1.5 s on both sides, check point moving, wait hint 1 s
    env.create(SVC, "--start-ms", "1500", "--stop-ms", "1500")
    env.create(BITS)
    env.start(SVC)

    # an absent service: nothing is done
    env.write_conf(name="wsusfx-none")
    p = env.fixer("apply")
    expect_rc(p, 1)
    check("wsusfx-none is not installed; nothing changed" in p.stderr,
          "absent service", p.all)
    env.write_conf()
    env.expect_value(0)

    p = env.fixer("--json", "status")
    expect_rc(p, 0)
    check(p.json["command"] == "status" and p.json["service"] == "running"
          and p.json["bits"] == "stopped" and p.json["value"] == 0
          and p.json["exit_code"] == 0, "status fields", p.all)
    step(p, "service", "ok", "%s is running" % SVC)
    step(p, "bits", "ok", "%s is stopped" % BITS)
    step(p, "db-connect", "ok", "Driver=SQLite3;Database=" + env.db)
    step(p, "db-read", "ok", "BitsDownloadPriorityForeground = 0")
    check(p.json["message"] == "BitsDownloadPriorityForeground = 0",
          "status message", p.all)

    p = env.fixer("apply", "--dry-run")
    expect_rc(p, 0)
    check("would stop %s and wait up to 3 s for STOPPED" % SVC in p.stdout
          and "nothing was changed" in p.stdout, "dry run plan", p.all)
    check(env.state_text() is None, "dry run wrote the state file")
    check([e[1] for e in env.events(SVC)] == ["start", "running"],
          "dry run touched the service", env.log_text())
    env.expect_value(0)

    before = env.events(SVC)[0][3]
    p = env.fixer("--json", "apply")
    expect_rc(p, 0)
    env.expect_value(1)
    j = p.json
    check(j["value_before"] == 0 and j["value_after"] == 1 and
          j["target"] == 1 and j["service_before"] == "running",
          "apply fields", p.all)
    check(j["message"] == "BitsDownloadPriorityForeground changed 0 -> 1; "
          "%s running again" % SVC, "apply message", p.all)
    stop = step(p, "service-stop", "ok", "%s stopped" % SVC)
    # the stop pending lasted 1.5 s, longer than the 1 s wait hint: the
    # backend waited it out
    check(stop["ms"] >= 1400, "service-stop took %d ms; the stop is pending "
          "for 1.5 s" % stop["ms"], p.all)
    step(p, "db-update", "ok", "BitsDownloadPriorityForeground = 1 "
         "(1 row, read back, committed)")
    step(p, "bits-enable", "ok", "%s is not disabled" % BITS)
    step(p, "bits-start", "ok", "%s started" % BITS)
    start = step(p, "service-start", "ok", "%s started" % SVC)
    check(start["ms"] >= 1400, "service-start took %d ms; the start is "
          "pending for 1.5 s" % start["ms"], p.all)
    check(sc_state(SVC) == "RUNNING" and sc_state(BITS) == "RUNNING",
          "states after apply: %s %s" % (sc_state(SVC), sc_state(BITS)))
    ev = [e for e in env.events() if e[0] == SVC]
    check([e[1:3] for e in ev] == [
        ("start", 1), ("running", 1), ("stop-request", 1),
        ("stop-pending", 1), ("stopped", 1), ("start", 2), ("running", 2)],
        "service events", env.log_text())
    check(ev[0][3] == before and ev[-1][3] != before,
          "the service did not run in a new process", env.log_text())
    st = env.state_text()
    check(ini_value(st, "last_apply", "previous") == "0" and
          ini_value(st, "last_apply", "value") == "1" and
          ini_value(st, "last_run", "result") == "done" and
          ini_value(st, "last_run", "service") == "running",
          "state file", st)

    # already applied: the service is not touched
    n = len(env.events())
    p = env.fixer("apply")
    expect_rc(p, 0)
    check("already 1" in p.stdout, "second apply", p.all)
    check(len(env.events()) == n, "second apply touched a service",
          env.log_text())

    p = env.fixer("--json", "status")
    expect_rc(p, 0)
    check(p.json["value"] == 1 and p.json["last_apply_previous"] == 0 and
          p.json["bits"] == "running", "status after apply", p.all)

    p = env.fixer("revert")
    expect_rc(p, 0)
    env.expect_value(0)
    check(p.stdout.rstrip().splitlines()[-1] ==
          "wsus-fixer: BitsDownloadPriorityForeground changed 1 -> 0; "
          "%s running again" % SVC, "revert message", p.all)
    check(re.search(r"^ok +bits-start +%s is running" % BITS, p.stdout,
                    re.M), "revert: BITS already running", p.all)
    check([e[1:3] for e in env.events(SVC)][-2:] ==
          [("start", 3), ("running", 3)] and sc_state(SVC) == "RUNNING",
          "service after revert", env.log_text())


def g_stop_ignored(env):
    """A service that accepts STOP but keeps running: the database is not
    touched and the service runs on, in the same process."""
    env.create(SVC, "--stop", "ignore")
    env.create(BITS)
    env.start(SVC)
    pid = env.events(SVC)[0][3]
    p = env.fixer("--json", "apply")
    expect_rc(p, 1)
    env.expect_value(0)
    step(p, "service-stop", "fail",
         "%s is still running 3 s after the request" % SVC)
    step(p, "service-start", "ok", "%s is running" % SVC)
    check("db-update" not in steps(p) and "db-begin" not in steps(p),
          "the database was written", p.all)
    check(p.json["message"] == "apply failed: %s is still running 3 s after "
          "the request; nothing changed, %s is running as before"
          % (SVC, SVC), "message", p.all)
    check(3.0 <= p.elapsed < 30, "apply took %.1f s (stop_timeout 3 s)"
          % p.elapsed, p.all)
    check(sc_state(SVC) == "RUNNING", "state %s" % sc_state(SVC))
    check([e[1:] for e in env.events(SVC)] == [
        ("start", 1, pid), ("running", 1, pid), ("stop-request", 1, pid),
        ("stop-ignored", 1, pid)], "events", env.log_text())
    check(ini_value(env.state_text(), "last_run", "result") == "failed" and
          ini_value(env.state_text(), "last_apply", "previous") is None,
          "state file", env.state_text())


def g_stop_rejected(env):
    """A service that does not accept STOP: ControlService fails, the
    message carries the system's text for the error."""
    env.create(SVC, "--stop", "reject")
    env.create(BITS)
    env.start(SVC)
    p = env.fixer("--json", "apply")
    expect_rc(p, 1)
    env.expect_value(0)
    s = step(p, "service-stop", "fail",
             re.compile(r"^stop %s: (.+) \(1052\)$" % SVC))
    text = re.match(r"^stop \S+: (.+) \(1052\)$", s["detail"]).group(1)
    check(text != "error 1052" and len(text) > 10,
          "no system text for ERROR_INVALID_SERVICE_CONTROL: %r" % text)
    check(sc_state(SVC) == "RUNNING", "state %s" % sc_state(SVC))
    check("db-update" not in steps(p), "the database was written", p.all)


def g_stop_hang(env):
    """A service stuck in STOP_PENDING, its check point frozen: the wait
    lasts stop_timeout and says the service looks hung, the start that
    follows cannot happen before it has stopped, the database is
    untouched, and exit 3 names the command to run; that command works
    once the service has stopped."""
    env.write_conf(stop_timeout="3", start_timeout="3")
    env.create(SVC, "--stop", "hang", "--hang-ms", "10000")
    env.create(BITS)
    env.start(SVC)
    p = env.fixer("--json", "apply")
    expect_rc(p, 3)
    env.expect_value(0)
    hung = (r"%s is still stop-pending 3 s after the request; its check "
            r"point has stayed at 1 for \d+ ms, longer than its wait hint "
            r"\(1000 ms\): it looks hung" % SVC)
    step(p, "service-stop", "fail", re.compile("^%s$" % hung))
    step(p, "service-start", "fail", re.compile(
        r"^start %s: %s; it cannot be started before it has stopped$"
        % (SVC, hung)))
    check("db-update" not in steps(p), "the database was written", p.all)
    check(p.json["message"] == "ACTION REQUIRED: the change failed and the "
          "services were not restored; BitsDownloadPriorityForeground is 0 "
          "(unchanged). Run by hand: net start %s" % SVC, "message", p.all)
    check(6 <= p.elapsed < 15, "apply took %.1f s: stop_timeout and "
          "start_timeout are 3 s each" % p.elapsed, p.all)
    check(ini_value(env.state_text(), "last_run", "result") ==
          "not-restored", "state file", env.state_text())
    # the hang ends 10 s after the stop request; then the printed command
    # works
    st = wait_state(SVC, "STOPPED", 30)
    check(st == "STOPPED", "the hanging service ended %s" % st)
    q = wine(["net", "start", SVC])
    st = wait_state(SVC, "RUNNING", 30)
    check(q.returncode == 0 and st == "RUNNING", "net start: rc %d, %s"
          % (q.returncode, st), q.stdout, q.stderr)


def g_stop_slow(env):
    """A service whose stop outlasts stop_timeout while its check point
    keeps moving: the stop is given up (it is not reported as hung), the
    database is untouched, and the service is started again once it has
    stopped: exit 1, everything as before."""
    env.write_conf(stop_timeout="3", start_timeout="8")
    env.create(SVC, "--stop-ms", "6000")
    env.create(BITS)
    env.start(SVC)
    p = env.fixer("--json", "apply")
    expect_rc(p, 1)
    env.expect_value(0)
    step(p, "service-stop", "fail", re.compile(
        r"^%s is still stop-pending 3 s after the request; its check point "
        r"is at \d+ \(wait hint 1000 ms\)$" % SVC))
    step(p, "service-start", "ok", "%s started" % SVC)
    check("db-update" not in steps(p), "the database was written", p.all)
    check(sc_state(SVC) == "RUNNING", "state %s" % sc_state(SVC))
    check([e[1:3] for e in env.events(SVC)] == [
        ("start", 1), ("running", 1), ("stop-request", 1),
        ("stop-pending", 1), ("stopped", 1), ("start", 2), ("running", 2)],
        "events", env.log_text())
    check(6 <= p.elapsed < 20, "apply took %.1f s: the stop lasts 6 s"
          % p.elapsed, p.all)


def g_start_fails(env):
    """The value is changed, then the service fails to start: exit 3, the
    value stays changed (committed), and the printed command works."""
    env.create(SVC, "--fail-start", "2")
    env.create(BITS)
    env.start(SVC)
    p = env.fixer("--json", "apply")
    expect_rc(p, 3)
    env.expect_value(1)
    step(p, "db-update", "ok")
    # Windows' StartService succeeds and the wait then finds STOPPED;
    # Wine's fails with 1053 when the service stops during its start. In
    # both cases the service's own exit code must be shown.
    step(p, "service-start", "fail", re.compile(
        r"^start %s: ([^;]+ \(\d+\); )?%s stopped while starting: "
        r"service-specific exit code 42$" % (SVC, SVC)))
    check(p.json["message"] == "ACTION REQUIRED: the value was changed but "
          "the services were not restored; BitsDownloadPriorityForeground is "
          "1 (changed). Run by hand: net start %s" % SVC, "message", p.all)
    check(sc_state(SVC) == "STOPPED", "state %s" % sc_state(SVC))
    cmd = p.json["message"].split("Run by hand: ", 1)[1]
    st = env.state_text()
    check(ini_value(st, "last_run", "result") == "not-restored" and
          ini_value(st, "last_run", "service") == "running", "state", st)

    p = env.fixer("status")
    expect_rc(p, 0)
    check(re.search(r'^warn +state +last apply at \S+ ended "not-restored": '
                    r'%s was running and the value 0 before it$' % SVC,
                    p.stdout, re.M), "status warning", p.all)

    # the printed command, as an administrator would type it
    q = wine(["cmd.exe", "/c", cmd])
    st = wait_state(SVC, "RUNNING", 30)
    check(q.returncode == 0 and st == "RUNNING", "%s: rc %d, %s"
          % (cmd, q.returncode, st), q.stdout, q.stderr)
    check([e[1:3] for e in env.events(SVC)][-3:] ==
          [("start-failed", 2), ("start", 3), ("running", 3)],
          "events", env.log_text())


def g_dependents(env):
    """Running services that depend on WSUSService (a chain of two) are
    stopped before it, each after its own dependents, and started again
    after it; when the service will not stop, the dependent already
    stopped is started again; when it does not start again, the manual
    command names the dependent as well."""
    dep, dep2 = SVC + "-dep", SVC + "-dep2"
    ign, ign_dep = SVC + "-ign", SVC + "-ign-dep"
    env.create(SVC, "--stop-ms", "300")
    env.create(dep, "--stop-ms", "300", depend=SVC)
    env.create(dep2, depend=dep)
    env.create(BITS)
    env.create(ign, "--stop", "ignore")
    env.create(ign_dep, depend=ign)
    for name in (SVC, dep, dep2, ign, ign_dep):
        env.start(name)
    mark = len(env.events())

    p = env.fixer("--json", "apply")
    expect_rc(p, 0)
    env.expect_value(1)
    for name in (SVC, dep, dep2):
        check(sc_state(name) == "RUNNING", "%s is %s" % (name, sc_state(name)))
    ev = [(e[0], e[1]) for e in env.events()[mark:]
          if e[1] in ("stop-request", "stopped", "running")
          and e[0] != BITS]
    check(ev == [(dep2, "stop-request"), (dep2, "stopped"),
                 (dep, "stop-request"), (dep, "stopped"),
                 (SVC, "stop-request"), (SVC, "stopped"),
                 (SVC, "running"), (dep, "running"), (dep2, "running")],
          "order of stops and starts", ev, env.log_text())
    check(all(e[0] not in (ign, ign_dep) for e in env.events()[mark:]),
          "an unrelated service was touched", env.log_text())

    # the same with a service that will not stop: its dependent comes back
    env.write_conf(name=ign)
    mark = len(env.events())
    p = env.fixer("--json", "revert")
    expect_rc(p, 1)
    env.expect_value(1)
    step(p, "service-stop", "fail",
         "%s is still running 3 s after the request; the 1 services "
         "depending on it that were stopped run again" % ign)
    check(sc_state(ign) == "RUNNING" and sc_state(ign_dep) == "RUNNING",
          "states %s %s" % (sc_state(ign), sc_state(ign_dep)))
    ev = [(e[0], e[1], e[2]) for e in env.events()[mark:]
          if e[1] in ("stop-request", "stopped", "running", "stop-ignored")]
    check(ev == [(ign_dep, "stop-request", 1), (ign_dep, "stopped", 1),
                 (ign, "stop-request", 1), (ign, "stop-ignored", 1),
                 (ign_dep, "running", 2)], "events", ev, env.log_text())

    # a service that does not start again: the manual command names its
    # dependent too, and the commands work in that order
    bad, bad_dep = SVC + "-bad", SVC + "-bad-dep"
    env.create(bad, "--fail-start", "2")
    env.create(bad_dep, depend=bad)
    env.start(bad)
    env.start(bad_dep)
    env.write_conf(name=bad)
    p = env.fixer("--json", "apply", "--value", "0")
    expect_rc(p, 3)
    env.expect_value(0)
    check(p.json["message"].endswith(
        "Run by hand: net start %s; then net start %s" % (bad, bad_dep)),
        "message", p.all)
    check(sc_state(bad) == "STOPPED" and sc_state(bad_dep) == "STOPPED",
          "states %s %s" % (sc_state(bad), sc_state(bad_dep)))
    for cmd in p.json["message"].split("Run by hand: ")[1].split("; then "):
        q = wine(["cmd.exe", "/c", cmd])
        check(q.returncode == 0, "%s: rc %d" % (cmd, q.returncode),
              q.stdout, q.stderr)
    for name in (bad, bad_dep):
        st = wait_state(name, "RUNNING", 30)
        check(st == "RUNNING", "%s is %s after the manual commands"
              % (name, st))


def g_bits_disabled(env):
    """A disabled BITS: status, doctor, --dry-run and a plain apply report
    it and leave it disabled (apply: exit 3, value changed, WSUSService
    running); apply --enable-bits, which asks for it, sets it back to
    automatic (delayed start) and starts it."""
    env.create(SVC)
    env.create(BITS, start="disabled")
    env.start(SVC)
    check(env.start_type(BITS) == "0x4", "start type %r" %
          env.start_type(BITS))

    p = env.fixer("--json", "status")
    expect_rc(p, 0)
    step(p, "bits", "ok", "%s is stopped (disabled)" % BITS)

    p = env.fixer("--json", "doctor")
    expect_rc(p, 1)
    s = step(p, "bits-enabled", "fail",
             "%s: start type is disabled" % BITS)
    check(s.get("fix") == "sc config %s start= delayed-auto" % BITS,
          "fix %r" % s.get("fix"), p.all)
    s = step(p, "bits-running", "fail", "%s is stopped" % BITS)
    check(s.get("fix") == "net start %s" % BITS, "fix", p.all)
    step(p, "service-running", "ok", "%s is running" % SVC)
    step(p, "susdb", "ok", "reachable; BitsDownloadPriorityForeground = 0")
    step(p, "content-dir", "ok",
         "%s exists and is readable" % win_path(env.content))

    p = env.fixer("apply", "--dry-run")
    expect_rc(p, 0)
    check(env.start_type(BITS) == "0x4" and sc_state(BITS) == "STOPPED",
          "status, doctor or --dry-run changed BITS: %r %s"
          % (env.start_type(BITS), sc_state(BITS)))
    check(env.events(BITS) == [], "BITS ran", env.log_text())

    p = env.fixer("--json", "apply")
    expect_rc(p, 3)
    env.expect_value(1)
    step(p, "bits-enable", "fail",
         "%s is disabled, so WSUS cannot download; it was left disabled "
         "(run again with --enable-bits to have it set to start "
         "automatically)" % BITS)
    check(env.start_type(BITS) == "0x4" and sc_state(BITS) == "STOPPED" and
          sc_state(SVC) == "RUNNING", "apply without --enable-bits: %r %s %s"
          % (env.start_type(BITS), sc_state(BITS), sc_state(SVC)))
    check("sc config %s start= delayed-auto" % BITS in p.stdout,
          "no manual command", p.all)

    p = env.fixer("--json", "apply", "--value", "0", "--enable-bits")
    expect_rc(p, 0)
    env.expect_value(0)
    step(p, "bits-enable", "ok",
         "%s was disabled; set to start automatically" % BITS)
    step(p, "bits-start", "ok", "%s started" % BITS)
    check(env.start_type(BITS) == "0x2", "start type %r, want automatic"
          % env.start_type(BITS))
    check(sc_state(BITS) == "RUNNING" and sc_state(SVC) == "RUNNING",
          "states %s %s" % (sc_state(BITS), sc_state(SVC)))
    # The delayed start: asserted where the service manager supports it.
    # A scratch service tells whether it does, without touching BITS.
    probe = SVC + "-probe"
    env.create(probe)
    q = wine([TESTSVC, "--probe-delayed", probe])
    delayed = reg_query(env.svc_key(BITS), "DelayedAutostart")
    if q.stdout.strip() == "delayed-autostart: ok":
        check(delayed == "0x1", "DelayedAutostart %r, want 0x1" % delayed)
    else:
        check(q.stdout.strip() == "delayed-autostart: error 124",
              "probe: %r" % q.stdout, q.stderr)
        check(delayed is None, "DelayedAutostart %r" % delayed)
        print("note: this service manager rejects "
              "SERVICE_CONFIG_DELAYED_AUTO_START_INFO (error 124, "
              "ERROR_INVALID_LEVEL; Wine 8): BITS was set to plain automatic, "
              "the delayed start is not checked")


def g_auto_connection(env):
    """connection = auto: SqlServerName from the prefix's registry gives
    the WID, SSEE or SQL Server connection string. auto_driver = SQLite3
    makes that very string reach a database: the SQLite driver opens
    Database=SUSDB in the fixer's current folder, so each case reads its
    own value back and the WID case applies the change through it."""
    env.create(SVC)
    env.create(BITS)
    env.start(SVC)
    env.write_conf(connection="auto", extra="auto_driver = SQLite3\n")
    cases = [
        ("wid", "REG_SZ", "MICROSOFT##WID",
         "np:\\\\.\\pipe\\MICROSOFT##WID\\tsql\\query"),
        ("ssee", "REG_SZ", "WSUS01\\MICROSOFT##SSEE",
         "np:\\\\.\\pipe\\MSSQL$MICROSOFT##SSEE\\sql\\query"),
        ("sql", "REG_SZ", "SQL01\\WSUS", "SQL01\\WSUS"),
        ("expand", "REG_EXPAND_SZ", "%WSUSFX_SQLHOST%\\WSUS",
         "SQL02\\WSUS"),
    ]
    if reg_query(SETUP_KEY, "SqlServerName") is not None:
        reg_delete(SETUP_ROOT)
    os.environ["WSUSFX_SQLHOST"] = "SQL02"  # Wine passes it on
    try:
        for i, (tag, rtype, name, server) in enumerate(cases):
            folder = os.path.join(env.tmp, tag)
            os.makedirs(folder)
            Env.make_db(os.path.join(folder, "SUSDB"), value=i % 2)
            p = wine(["reg", "add", SETUP_KEY, "/v", "SqlServerName", "/t",
                      rtype, "/d", name, "/f"])
            check(p.returncode == 0, "reg add", p.stdout, p.stderr)
            want = ("Driver={SQLite3};Server=%s;Database=SUSDB;"
                    "Trusted_Connection=yes" % server)
            p = env.fixer("-v", "--json", "status", cwd=folder)
            expect_rc(p, 0)
            step(p, "db-connect", "ok", want)
            check(p.json["value"] == i % 2, "%s: value %r" %
                  (tag, p.json["value"]), p.all)
            check('wsus-fixer: SqlServerName "%s" -> %s\n'
                  % (name.replace("%WSUSFX_SQLHOST%", "SQL02"), want)
                  in p.stderr, "%s: -v line" % tag, p.all)
        # the whole procedure through the WID string
        folder = os.path.join(env.tmp, "wid")
        p = env.fixer("apply", cwd=folder)
        wid_db = os.path.join(folder, "SUSDB")
        expect_rc(p, 0)
        env.expect_value(1, wid_db)
        env.expect_value(0)  # the conf's own SUSDB was not the target
        # no value, then no key: exit 2 with the system's text
        p = wine(["reg", "delete", SETUP_KEY, "/v", "SqlServerName", "/f"])
        check(p.returncode == 0, "reg delete value", p.stdout, p.stderr)
        for what in ("value", "key"):
            p = env.fixer("--json", "status", cwd=folder)
            expect_rc(p, 2)
            m = re.match(r"^%s: connection = auto: %s: (.+) \(2\)$" % (
                re.escape(win_path(env.conf)), re.escape(REG_WHERE)),
                p.json["message"])
            check(m and m.group(1) != "error 2",
                  "missing %s: message %r" % (what, p.json["message"]), p.all)
            reg_delete(SETUP_ROOT)
        check(reg_query(SETUP_KEY, "SqlServerName") is None,
              "registry value left behind")
    finally:
        reg_delete(SETUP_ROOT)


def g_content_acl(env):
    """content-acl from the DACL Windows' API reports for the folder, and
    the folder from WSUS's registry (ContentDir) when content_dir is
    empty.

    What Wine 8 can and cannot prove here: it keeps no DACL of its own
    for a folder on a Unix filesystem. GetNamedSecurityInfo returns one
    derived from the mode bits (SYSTEM and the owner: full access;
    Everyone: the "others" bits), and SetNamedSecurityInfo changes those
    bits. So this group proves the real path of fplat_dir_access
    (GetNamedSecurityInfo, GetAclInformation, GetAce,
    ConvertSidToStringSid) and the verdict on the DACL that comes back,
    which wsus-setdacl.exe reads back independently as SDDL. Explicit
    ACEs for NETWORK SERVICE or Users, deny ACEs and inherit-only ACEs do
    not survive in Wine; their evaluation is proven by fixer_units
    (test_acl_effective, aclcheck.c)."""
    folder = env.content
    wfolder = win_path(folder)

    def dacl(sddl=None):
        q = wine([SETDACL, wfolder] + ([sddl] if sddl else []))
        check(q.returncode == 0, "wsus-setdacl %s" % sddl, q.stdout,
              q.stderr)
        return q.stdout.strip()

    os.chmod(folder, 0o755)
    got = dacl()
    check("(A;OICI;0x1200a9;;;WD)" in got, "DACL of a 0755 folder: " + got)
    p = env.fixer("--json", "doctor")
    step(p, "content-acl", "ok", re.compile(
        r"^%s \(from content_dir\): NETWORK SERVICE and Users may read "
        r"it \[DACL of \d+ allow/deny ACEs \(0 others not evaluated\); "
        r"NETWORK SERVICE 0x001200a9; Users 0x001200a9\]$"
        % re.escape(wfolder)))

    # SYSTEM and Administrators only
    got = dacl("D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)")
    check(not re.search(r";;;WD\)", got) or ";0x0;;;WD" in got,
          "Everyone still in the DACL: " + got)
    p = env.fixer("--json", "doctor")
    expect_rc(p, 1)
    s = step(p, "content-acl", "fail", re.compile(
        r"^%s \(from content_dir\): NETWORK SERVICE and Users may not read "
        r"it \[.*NETWORK SERVICE 0x00000000; Users 0x00000000\]$"
        % re.escape(wfolder)))
    check(s.get("fix") == 'icacls "%s" /grant "*S-1-5-20:(OI)(CI)RX" '
          '/grant "*S-1-5-32-545:(OI)(CI)RX"' % wfolder, "fix", p.all)
    check(oct(os.stat(folder).st_mode & 0o007) == "0o0",
          "others' bits on the host: %o" % os.stat(folder).st_mode)

    # read and execute for Everyone again, set through the API
    got = dacl("D:P(A;OICI;FA;;;SY)(A;OICI;0x1200a9;;;WD)")
    check("0x1200a9;;;WD)" in got, "DACL " + got)
    p = env.fixer("--json", "doctor")
    step(p, "content-acl", "ok", re.compile(r"Users 0x001200a9\]$"))

    # content_dir empty: ContentDir from WSUS's registry, + \WsusContent
    root = os.path.join(env.tmp, "wsusroot")
    os.makedirs(os.path.join(root, "WsusContent"))
    env.write_conf(content="")
    if reg_query(SETUP_KEY, "ContentDir") is not None:
        reg_delete(SETUP_ROOT)
    try:
        q = wine(["reg", "add", SETUP_KEY, "/v", "ContentDir", "/t",
                  "REG_SZ", "/d", win_path(root) + "\\", "/f"])
        check(q.returncode == 0, "reg add", q.stdout, q.stderr)
        p = env.fixer("--json", "doctor")
        want = win_path(root) + "\\WsusContent"
        step(p, "content-dir", "ok", "%s exists and is readable" % want)
        step(p, "content-acl", "ok", re.compile(
            r"^%s \(from ContentDir in WSUS's registry\): NETWORK SERVICE "
            r"and Users may read it" % re.escape(want)))
        reg_delete(SETUP_ROOT)
        p = env.fixer("--json", "doctor")
        step(p, "content-acl", "skip", re.compile(
            r"^ContentDir in HKLM\\SOFTWARE\\Microsoft\\Update Services"
            r"\\Server\\Setup: .+ \(2\)$"))
        step(p, "content-dir", "skip")
    finally:
        reg_delete(SETUP_ROOT)


def g_restart(env):
    """restart with the scm backend: BITS, then WSUSService, each stopped
    and started again in a new process, WSUSService's dependent stopped
    before it and started after it; a stopped BITS is only started; a
    WSUSService that does not start again is exit 3 with the command."""
    dep = SVC + "-dep"
    env.create(SVC, "--stop-ms", "300", "--fail-start", "3")
    env.create(dep, depend=SVC)
    env.create(BITS, "--start-ms", "300")
    for name in (SVC, dep, BITS):
        env.start(name)
    mark = len(env.events())
    p = env.fixer("--json", "restart")
    expect_rc(p, 0)
    check(p.json["message"] == "%s and %s restarted; both running"
          % (BITS, SVC),
          "message", p.all)
    for name in (SVC, dep, BITS):
        check(sc_state(name) == "RUNNING", "%s is %s" % (name, sc_state(name)))
    ev = [(e[0], e[1], e[2]) for e in env.events()[mark:]
          if e[1] in ("stop-request", "stopped", "running")]
    check(ev == [(BITS, "stop-request", 1), (BITS, "stopped", 1),
                 (BITS, "running", 2),
                 (dep, "stop-request", 1), (dep, "stopped", 1),
                 (SVC, "stop-request", 1), (SVC, "stopped", 1),
                 (SVC, "running", 2), (dep, "running", 2)],
          "order of stops and starts", ev, env.log_text())
    pids = {}
    for e in env.events():
        if e[1] == "running":
            pids.setdefault(e[0], set()).add(e[3])
    check(all(len(pids[n]) == 2 for n in (SVC, dep, BITS)),
          "not new processes: %r" % pids, env.log_text())

    # BITS stopped: started, not stopped; WSUSService's third start fails
    q = wine(["sc", "stop", BITS])
    check(wait_state(BITS, "STOPPED", 30) == "STOPPED", "sc stop", q.stdout)
    mark = len(env.events())
    p = env.fixer("--json", "restart")
    expect_rc(p, 3)
    step(p, "bits-stop", "skip", "%s was stopped" % BITS)
    step(p, "bits-start", "ok", "%s started" % BITS)
    check(sc_state(BITS) == "RUNNING" and sc_state(SVC) == "STOPPED",
          "states %s %s" % (sc_state(BITS), sc_state(SVC)))
    check(p.json["message"].startswith("ACTION REQUIRED: a service is not "
                                       "running") and
          p.json["message"].endswith(
              "Run by hand: net start %s; then net start %s" % (SVC, dep)),
          "message", p.all)
    for cmd in p.json["message"].split("Run by hand: ")[1].split("; then "):
        q = wine(["cmd.exe", "/c", cmd])
        check(q.returncode == 0, "%s: rc %d" % (cmd, q.returncode),
              q.stdout, q.stderr)
    for name in (SVC, dep):
        st = wait_state(name, "RUNNING", 30)
        check(st == "RUNNING", "%s is %s after the manual commands"
              % (name, st))
    env.expect_value(0)


GROUPS = {
    "apply_revert": g_apply_revert,
    "stop_ignored": g_stop_ignored,
    "stop_rejected": g_stop_rejected,
    "stop_hang": g_stop_hang,
    "stop_slow": g_stop_slow,
    "start_fails": g_start_fails,
    "dependents": g_dependents,
    "bits_disabled": g_bits_disabled,
    "auto_connection": g_auto_connection,
    "content_acl": g_content_acl,
    "restart": g_restart,
}


def main():
    global TESTSVC, SETDACL
    ap = argparse.ArgumentParser()
    ap.add_argument("--testsvc", required=True)
    ap.add_argument("--setdacl", default="")
    ap.add_argument("group", choices=sorted(GROUPS))
    a = ap.parse_args()
    TESTSVC = os.path.abspath(a.testsvc)
    SETDACL = os.path.abspath(a.setdacl) if a.setdacl else ""
    if not FIXER or not os.path.exists(FIXER) or \
            not os.path.exists(TESTSVC):
        print("FAIL: WSUS_FIXER_EXE (%r) or --testsvc (%r) missing"
              % (FIXER, TESTSVC))
        return 1
    t0 = time.monotonic()
    rc = 0
    with Session():
        env = Env()
        try:
            GROUPS[a.group](env)
        except Fail as e:
            print("FAIL %s: %s" % (a.group, e))
            print("--- service log:\n" + env.log_text())
            rc = 1
        finally:
            errors = env.cleanup()
        if errors:
            print("FAIL cleanup: " + "; ".join(errors))
            rc = 1
    if rc == 0:
        print("ok %s (%.1f s)" % (a.group, time.monotonic() - t0))
    return rc


if __name__ == "__main__":
    sys.exit(main())
