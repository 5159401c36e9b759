#!/usr/bin/env python3
"""End-to-end tests of the real wsus-fixer binary (python3 stdlib only).

    e2e.py --fixer BIN --src SRCDIR CASE

Each CASE is one ctest test (fixer_CASE). The database is real: SQLite
through unixODBC + libsqliteodbc, or a throwaway PostgreSQL server started
here on 127.0.0.1 (a free port; initdb in a temp folder, run as 'nobody'
when we are root) reached through odbc-postgresql. The services are
tests/fixer/fakesvc.sh, driven by the exec backend. Every value a test
checks is read back independently: SQLite with Python's sqlite3 module,
PostgreSQL with psql, service states from fakesvc's files. Everything
started here is stopped in a finally block (and the server also dies with
this process: setpriv --pdeathsig), every wait is bounded.
"""
import argparse
import glob
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time

FIXER = None
SRC = None
SHIM = None  # the wsus-shim binary, for real_shim_probe
RUN_TIMEOUT = 90  # seconds for one wsus-fixer run


class Fail(Exception):
    pass


def check(cond, what, *ctx):
    if not cond:
        raise Fail(what + "".join("\n--- " + str(c) for c in ctx))


# ---------------------------------------------------------------- helpers

class Env:
    """A temp folder with a conf, a fakesvc state folder and a database."""

    def __init__(self, tmp, connection, **service):
        self.tmp = tmp
        self.svcdir = os.path.join(tmp, "svc")
        self.state = os.path.join(tmp, "var", "state")
        self.content = os.path.join(tmp, "content")
        os.makedirs(self.content, exist_ok=True)
        self.conf = os.path.join(tmp, "wsus-fixer.conf")
        self.connection = connection
        self.service = dict(stop_timeout="3", start_timeout="3",
                            poll_interval="100ms")
        self.service.update(service)
        self.shim_conf = ""
        self.shim_bin = ""
        self.wsusutil = ""
        self.extra_env = {}
        self.write_conf()

    def fakesvc(self, *args):
        return subprocess.run(
            [os.path.join(SRC, "tests", "fixer", "fakesvc.sh"), "-d",
             self.svcdir] + list(args),
            capture_output=True, text=True, timeout=30)

    def write_conf(self, extra=""):
        fs = os.path.join(SRC, "tests", "fixer", "fakesvc.sh")
        cmd = "%s -d %s" % (fs, self.svcdir)
        lines = [
            "[database]",
            "connection = " + self.connection,
            "[service]",
            "backend = exec",
            "stop_command = %s stop %%s" % cmd,
            "start_command = %s start %%s" % cmd,
            "status_command = %s status %%s" % cmd,
            "starttype_command = %s qc %%s" % cmd,
            "enable_command = %s enable %%s" % cmd,
        ]
        lines += ["%s = %s" % kv for kv in self.service.items()]
        lines += [
            "[fixer]",
            "state_file = var/state",  # relative: the conf's folder
            "content_dir = " + self.content,
            "shim_conf = " + self.shim_conf,
            "shim_bin = " + self.shim_bin,
            "wsusutil = " + self.wsusutil,
            "probe_timeout = 2",
            "command_timeout = 10",
        ]
        with open(self.conf, "w") as f:
            f.write("\n".join(lines) + "\n" + extra)

    def run(self, *args, conf=None):
        argv = [FIXER, "-c", conf or self.conf] + list(args)
        t0 = time.monotonic()
        p = subprocess.run(argv, capture_output=True, text=True,
                           timeout=RUN_TIMEOUT, cwd="/",
                           env=dict(os.environ, **self.extra_env))
        p.elapsed = time.monotonic() - t0
        p.all = "$ %s\n[exit %d]\n%s%s" % (" ".join(args), p.returncode,
                                           p.stdout, p.stderr)
        return p

    def svc_state(self, name):
        path = os.path.join(self.svcdir, name + ".state")
        if not os.path.exists(path):
            return "running"
        with open(path) as f:
            return f.read().strip()

    def svc_type(self, name):
        path = os.path.join(self.svcdir, name + ".type")
        if not os.path.exists(path):
            return "auto"
        with open(path) as f:
            return f.read().strip()

    def calls(self):
        path = os.path.join(self.svcdir, "calls.log")
        if not os.path.exists(path):
            return []
        with open(path) as f:
            return [l.strip() for l in f if l.strip()]

    def state_text(self):
        if not os.path.exists(self.state):
            return None
        with open(self.state) as f:
            return f.read()


def expect_rc(p, rc):
    check(p.returncode == rc,
          "exit %d, expected %d" % (p.returncode, rc), p.all)


def fixture_sql():
    with open(os.path.join(SRC, "sql", "susdb-fixture.sql")) as f:
        return f.read()


# ---------------------------------------------------------------- SQLite

class SqliteDb:
    def __init__(self, tmp):
        self.path = os.path.join(tmp, "susdb.sqlite3")
        con = sqlite3.connect(self.path)
        con.executescript(fixture_sql())
        con.commit()
        con.close()
        self.connection = "Driver=SQLite3;Database=%s;Timeout=5000" % self.path

    def rows(self):
        con = sqlite3.connect(self.path)
        try:
            return con.execute(
                "SELECT ConfigurationID, BitsDownloadPriorityForeground, "
                "LocalContentCacheLocation FROM tbConfigurationC").fetchall()
        finally:
            con.close()

    def value(self):
        rows = self.rows()
        check(len(rows) == 1, "fixture rows: %r" % rows)
        check(rows[0][0] == 1 and rows[0][2] == "C:\\WSUS\\WsusContent",
              "an unrelated column changed: %r" % rows)
        return rows[0][1]

    def execute(self, sql):
        con = sqlite3.connect(self.path)
        con.executescript(sql)
        con.commit()
        con.close()


def sqlite_env(tmp, **service):
    db = SqliteDb(tmp)
    return db, Env(tmp, db.connection, **service)


def case_sqlite_apply_revert(tmp):
    db, env = sqlite_env(tmp)
    p = env.run("status")
    expect_rc(p, 0)
    check("BitsDownloadPriorityForeground = 0" in p.stdout, "status", p.all)
    check(env.state_text() is None, "status wrote a state file")

    p = env.run("apply")
    expect_rc(p, 0)
    check(db.value() == 1, "value after apply: %r" % db.value(), p.all)
    check(env.svc_state("WSUSService") == "running", "service not running")
    calls = env.calls()
    check("stop WSUSService" in calls and "start WSUSService" in calls,
          "stop/start not both called", calls)
    check(calls.index("stop WSUSService") < calls.index("start WSUSService"),
          "start before stop", calls)
    st = env.state_text()
    check(st and "[last_apply]\nprevious = 0\nvalue = 1\n" in st,
          "state file", st)
    check("result = done" in st, "state result", st)

    p = env.run("status")
    expect_rc(p, 0)
    check("BitsDownloadPriorityForeground = 1" in p.stdout, "status", p.all)
    check("revert puts back 0" in p.stdout, "status shows last apply", p.all)

    p = env.run("revert")
    expect_rc(p, 0)
    check(db.value() == 0, "value after revert", p.all)
    check(env.svc_state("WSUSService") == "running", "service not running")

    n = len(env.calls())
    p = env.run("revert")
    expect_rc(p, 0)
    check("already 0" in p.stdout, "second revert", p.all)
    check(not [c for c in env.calls()[n:] if not c.startswith("status")],
          "second revert acted on a service", env.calls()[n:])

    p = env.run("apply", "--value", "0")
    expect_rc(p, 0)
    check("already 0" in p.stdout, "apply --value 0", p.all)


def case_sqlite_already_applied(tmp):
    db, env = sqlite_env(tmp)
    db.execute("UPDATE tbConfigurationC SET BitsDownloadPriorityForeground=1")
    p = env.run("apply")
    expect_rc(p, 0)
    check("already 1" in p.stdout, "message", p.all)
    check(env.calls() == [], "service touched", env.calls())
    check(env.state_text() is None, "state written", env.state_text())
    check(db.value() == 1, "value")


def case_sqlite_stop_hangs(tmp):
    db, env = sqlite_env(tmp, stop_timeout="2")
    env.fakesvc("mode", "WSUSService", "stop-hang")
    p = env.run("apply")
    expect_rc(p, 1)
    check(p.elapsed < 30, "took %.1f s" % p.elapsed)
    check(db.value() == 0, "database written", p.all)
    check(env.svc_state("WSUSService") == "running", "service state")
    check("timed out" in p.stdout + p.stderr, "no timeout reported", p.all)
    check("nothing changed" in p.stderr, "message", p.all)
    st = env.state_text()
    check("result = failed" in st and "[last_apply]" not in st,
          "state file", st)


def case_sqlite_stop_stuck(tmp):
    db, env = sqlite_env(tmp, stop_timeout="2")
    env.fakesvc("mode", "WSUSService", "stop-stuck")
    p = env.run("apply")
    expect_rc(p, 1)
    check(db.value() == 0, "database written", p.all)
    # left stop-pending by the stop: the fixer must have started it again
    check(env.svc_state("WSUSService") == "running", "service state "
          + env.svc_state("WSUSService"), p.all)
    check("still stop-pending after 2 s" in p.stdout, "wait message", p.all)


def case_sqlite_stop_fails(tmp):
    db, env = sqlite_env(tmp)
    env.fakesvc("mode", "WSUSService", "stop-fail")
    p = env.run("apply")
    expect_rc(p, 1)
    check(db.value() == 0, "database written", p.all)
    check(env.svc_state("WSUSService") == "running", "service state")
    check("FAILED 1061" in p.stdout, "command output not shown", p.all)


def case_sqlite_start_fails(tmp):
    db, env = sqlite_env(tmp)
    env.fakesvc("mode", "WSUSService", "start-fail")
    p = env.run("apply")
    expect_rc(p, 3)
    check(db.value() == 1, "value", p.all)
    check(env.svc_state("WSUSService") == "stopped", "service state")
    check("ACTION REQUIRED" in p.stderr, "loud message", p.all)
    marker = "Run by hand: "
    check(marker in p.stderr, "no manual command", p.all)
    manual = p.stderr.split(marker, 1)[1].strip()
    check("start WSUSService" in manual, "manual command", manual)
    check("result = not-restored" in env.state_text(), "state file")
    # the message is exactly what to run: do it, once the fault is gone
    env.fakesvc("mode", "WSUSService", "")
    r = subprocess.run(manual, shell=True, cwd=tmp, capture_output=True,
                       text=True, timeout=30)
    check(r.returncode == 0, "manual command failed", manual, r.stdout)
    check(env.svc_state("WSUSService") == "running", "not running after "
          "the manual command")


def case_sqlite_bits_disabled(tmp):
    db, env = sqlite_env(tmp)
    env.fakesvc("type", "BITS", "disabled")
    env.fakesvc("set", "BITS", "stopped")
    p = env.run("doctor")
    expect_rc(p, 1)
    check("fix: %s" % os.path.join(SRC, "tests", "fixer", "fakesvc.sh")
          in p.stdout and "enable BITS" in p.stdout, "doctor fix", p.all)
    # Without --enable-bits: applied, WSUSService running, BITS reported
    # and left disabled, exit 3 with the commands that enable it.
    p = env.run("apply")
    expect_rc(p, 3)
    check(env.svc_type("BITS") == "disabled", "BITS was changed", p.all)
    check(env.svc_state("BITS") == "stopped", "BITS was started", p.all)
    check(env.svc_state("WSUSService") == "running", "WSUSService", p.all)
    check(db.value() == 1, "value", p.all)
    check("run again with --enable-bits" in p.stdout and
          "BITS is disabled and was left so" in p.stderr and
          "enable BITS; then " in p.stderr, "no manual step", p.all)
    # --enable-bits on another run: it is set to start automatically
    p = env.run("revert", "--enable-bits")
    expect_rc(p, 0)
    check(env.svc_type("BITS") == "auto", "BITS still disabled", p.all)
    check(env.svc_state("BITS") == "running", "BITS not running", p.all)
    check(db.value() == 0, "value after revert", p.all)
    p = env.run("status", "--enable-bits")
    expect_rc(p, 2)


def case_sqlite_service_stopped_before(tmp):
    db, env = sqlite_env(tmp)
    env.fakesvc("set", "WSUSService", "stopped")
    p = env.run("apply")
    expect_rc(p, 0)
    check(db.value() == 1, "value", p.all)
    check(env.svc_state("WSUSService") == "stopped", "service was started")
    check("start WSUSService" not in env.calls(), "start called")


def case_sqlite_dry_run(tmp):
    db, env = sqlite_env(tmp)
    p = env.run("apply", "--dry-run")
    expect_rc(p, 0)
    check("would stop WSUSService" in p.stdout, "plan", p.all)
    check(db.value() == 0, "value changed")
    check(all(c.startswith("status") for c in env.calls()),
          "dry run acted", env.calls())
    check(env.state_text() is None, "dry run wrote state")
    check(not os.path.exists(env.state + ".lock"), "dry run locked")


def case_sqlite_lock_held(tmp):
    import fcntl
    db, env = sqlite_env(tmp)
    os.makedirs(os.path.dirname(env.state), exist_ok=True)
    with open(env.state + ".lock", "a") as f:
        fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        p = env.run("apply")
    expect_rc(p, 1)
    check("held by another wsus-fixer run" in p.stdout, "message", p.all)
    check(db.value() == 0, "value changed")
    check(env.calls() == [], "services touched", env.calls())
    p = env.run("apply")  # the lock is gone with the holder
    expect_rc(p, 0)


def case_sqlite_json(tmp):
    db, env = sqlite_env(tmp)
    p = env.run("--json", "apply")
    expect_rc(p, 0)
    try:
        doc = json.loads(p.stdout)
    except ValueError as e:
        raise Fail("not JSON: %s" % e, p.all)
    check(doc["command"] == "apply" and doc["exit_code"] == 0, "head", doc)
    check(doc["value_before"] == 0 and doc["value_after"] == 1, "values", doc)
    names = [s["step"] for s in doc["steps"]]
    want = ["lock", "state-load", "db-connect", "db-read", "service-query",
            "state-save", "service-stop", "db-update", "bits-enable",
            "bits-start", "service-start", "state-save"]
    check(names == want, "steps %r" % names, doc)
    check(all(s["result"] == "ok" and isinstance(s["ms"], int)
              for s in doc["steps"]), "results", doc)
    check(p.stdout.count("\n") == 1, "more than one line", p.stdout)
    # a failure is JSON too, with the failing step
    env.fakesvc("mode", "WSUSService", "stop-fail")
    p = env.run("revert", "--json")
    expect_rc(p, 1)
    doc = json.loads(p.stdout)
    check(doc["exit_code"] == 1, "exit in JSON", doc)
    check({"step": "service-stop", "result": "fail"}.items() <=
          [s for s in doc["steps"] if s["step"] == "service-stop"][0].items(),
          "failing step", doc)
    # and so is a conf error
    p = env.run("--json", "status", conf=os.path.join(tmp, "missing.conf"))
    expect_rc(p, 2)
    doc = json.loads(p.stdout)
    check(doc["exit_code"] == 2 and "cannot open" in doc["message"], "conf",
          doc)


def case_sqlite_bad_fixture(tmp):
    db, env = sqlite_env(tmp)
    db.execute("INSERT INTO tbConfigurationC VALUES (2, 0, 'x')")
    p = env.run("apply")
    expect_rc(p, 1)
    check("several rows" in p.stdout, "two rows", p.all)
    check(env.calls() == [], "services touched")
    db.execute("DROP TABLE tbConfigurationC")
    p = env.run("apply")
    expect_rc(p, 1)
    check("no such table" in p.stdout, "diagnostic", p.all)
    check(env.calls() == [], "services touched")
    db.execute("CREATE TABLE tbConfigurationC (ConfigurationID INTEGER, "
               "Other INTEGER); INSERT INTO tbConfigurationC VALUES (1, 0)")
    p = env.run("apply")
    expect_rc(p, 1)
    check("no such column" in p.stdout, "diagnostic", p.all)


def case_conf_errors(tmp):
    db, env = sqlite_env(tmp)
    env.write_conf("bogus_key = 1\n")
    nlines = open(env.conf).read().count("\n")
    p = env.run("status")
    expect_rc(p, 2)
    check("%s:%d: unknown key \"bogus_key\" in [fixer]" % (env.conf, nlines)
          in p.stderr, "FILE:LINE", p.all)
    env.write_conf("[servce]\nname = x\n")
    p = env.run("status")
    expect_rc(p, 2)
    check("unknown section [servce]" in p.stderr, "section", p.all)
    env.service["stop_timeout"] = "soon"
    env.write_conf()
    p = env.run("apply")
    expect_rc(p, 2)
    check("\"soon\" is not a duration" in p.stderr, "value", p.all)
    check(env.calls() == [], "acted despite a conf error")
    for args, msg in ((["frobnicate"], "unknown command"),
                      ([], "no command"),
                      (["apply", "--value", "2"], "0 or 1"),
                      (["status", "--dry-run"], "apply only"),
                      (["apply", "--nope"], "unknown option")):
        p = subprocess.run([FIXER, "-c", env.conf] + args,
                           capture_output=True, text=True, timeout=30)
        check(p.returncode == 2 and msg in p.stderr, "usage %r" % args,
              p.stdout, p.stderr)
    p = subprocess.run([FIXER, "--help"], capture_output=True, text=True,
                       timeout=30)
    check(p.returncode == 0 and "exit codes" in p.stdout and
          "3  failed and the service could not be restored" in p.stdout,
          "help", p.stdout)


def case_password_masked(tmp):
    secret = "s3cr3t-Pa55"
    env = Env(tmp, "Driver={No Such Driver};Server=x;UID=sa;PWD=%s;" % secret)
    for args in (["status"], ["-v", "apply"], ["--json", "doctor"]):
        p = env.run(*args)
        check(p.returncode == 1, "exit %d" % p.returncode, p.all)
        check(secret not in p.stdout + p.stderr, "password shown", p.all)
        check("PWD=***" in p.stdout + p.stderr, "masked string", p.all)
        check("IM002" in p.stdout + p.stderr or "not found" in p.stdout,
              "driver manager diagnostic", p.all)


def case_doctor(tmp):
    db, env = sqlite_env(tmp)
    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        lsock.bind(("127.0.0.1", 0))
        lsock.listen(8)
        port = lsock.getsockname()[1]
        shim = os.path.join(tmp, "shim.conf")
        with open(shim, "w") as f:
            f.write("[listen]\nport = 8181\n[upstream]\nproxy = "
                    "127.0.0.1:%d\nuser = u\n[cache]\nmax = 1G\n" % port)
        env.shim_conf = shim
        fake_shim(env, tmp, 0)
        p = env.run("doctor")
        expect_rc(p, 0)
        check("127.0.0.1 port %d resolves (127.0.0.1) and accepts" % port
              in p.stdout, "upstream ok", p.all)
        check("BitsDownloadPriorityForeground = 0" in p.stdout, "value",
              p.all)
    finally:
        lsock.close()
    # the port is closed now
    p = env.run("--json", "doctor")
    expect_rc(p, 1)
    doc = json.loads(p.stdout)
    up = [s for s in doc["steps"] if s["step"] == "upstream"][0]
    check(up["result"] == "fail" and "refused" in up["detail"].lower()
          and up.get("fix"), "upstream fail", doc)
    # a missing content folder and a stopped service
    shutil.rmtree(env.content)
    env.fakesvc("set", "WSUSService", "stopped")
    p = env.run("doctor")
    expect_rc(p, 1)
    check("fail  content-dir" in p.stdout, "content dir", p.all)
    check("fail  service-running" in p.stdout, "service", p.all)
    check(env.svc_state("WSUSService") == "stopped", "doctor acted")
    check(db.value() == 0, "doctor wrote")


def doctor_step(env, name):
    """Run doctor --json; return (exit code, the step called name, output)."""
    p = env.run("--json", "doctor")
    doc = json.loads(p.stdout)
    steps = [s for s in doc["steps"] if s["step"] == name]
    check(len(steps) == 1, "one %s step" % name, p.all)
    return p.returncode, steps[0], p.all


def fake_shim(env, tmp, rc=0):
    """A stand-in for wsus-shim: `probe -c CONF` records its arguments in
    probe.args and exits rc with the last line the real probe prints."""
    path = os.path.join(tmp, "fake-wsus-shim")
    last = ("every parent works through the shim" if rc == 0 else
            "at least one parent does not work through the shim with this "
            "conf")
    with open(path, "w") as f:
        f.write("#!/bin/sh\necho \"$@\" > %s/probe.args\n"
                "echo 'parent 1 of 1'\necho\necho 'exit %d: %s'\nexit %d\n"
                % (tmp, rc, last, rc))
    os.chmod(path, 0o755)
    env.shim_bin = path
    env.write_conf()
    return path


def shim_listen_conf(env, tmp, port=8181, probe_rc=0):
    """A shim conf listening on port, and a fake shim whose probe exits
    probe_rc (None: no shim_bin, doctor only sends a request)."""
    shim = os.path.join(tmp, "shim.conf")
    with open(shim, "w") as f:
        f.write("[listen]\naddress = 127.0.0.1\nport = %d\n" % port)
    env.shim_conf = shim
    if probe_rc is None:
        env.shim_bin = ""
        env.write_conf()
    else:
        fake_shim(env, tmp, probe_rc)


def case_sqlite_wsus_config(tmp):
    """wsus-proxy and storage from the fixture's tbConfigurationA/B,
    found by name: ok, warn, fail, and unknown when a column is gone."""
    db, env = sqlite_env(tmp)
    # no shim_conf: WSUS's own proxy is reported, nothing to compare
    rc, st, out = doctor_step(env, "wsus-proxy")
    check(rc == 0 and st["result"] == "ok" and
          "WSUS uses the proxy 127.0.0.1:8181; no shim_conf" in st["detail"],
          "no shim", out)
    shim_listen_conf(env, tmp)
    p = env.run("doctor")
    expect_rc(p, 0)
    check("ok    wsus-proxy" in p.stdout and
          "WSUS points at the shim (127.0.0.1:8181)" in p.stdout,
          "points at the shim", p.all)
    check("ok    storage" in p.stdout and "local storage" in p.stdout and
          "syncs from Microsoft Update (SyncFromMicrosoftUpdate = 1)"
          in p.stdout, "storage", p.all)
    # Basic over clear text allowed: warn, doctor still passes
    db.execute("UPDATE tbConfigurationB SET AllowProxyCredentialsOverNonSsl"
               " = 1, AnonymousProxyAccess = 0")
    rc, st, out = doctor_step(env, "wsus-proxy")
    check(rc == 0 and st["result"] == "warn" and
          "Basic credentials over clear text are allowed" in st["detail"]
          and "AnonymousProxyAccess = 0" in st["detail"] and
          "$c.AllowProxyCredentialsOverNonSsl = $false" in st["fix"],
          "clear text warn", out)
    # pointing somewhere else: fail with the PowerShell lines
    db.execute("UPDATE tbConfigurationB SET AllowProxyCredentialsOverNonSsl"
               " = 0, ProxyName = 'proxy.corp', ProxyServerPort = 3128")
    rc, st, out = doctor_step(env, "wsus-proxy")
    check(rc == 1 and st["result"] == "fail" and
          "WSUS points at proxy.corp:3128, not at the shim listening on "
          "127.0.0.1:8181" in st["detail"] and
          st["fix"] == "in PowerShell on the WSUS server: $c = "
          "(Get-WsusServer).GetConfiguration(); $c.UseProxy = $true; "
          "$c.ProxyName = \"127.0.0.1\"; $c.ProxyServerPort = 8181; "
          "$c.UseProxyCredentials = $false; "
          "$c.AllowProxyCredentialsOverNonSsl = $false; $c.Save()",
          "fail", out)
    db.execute("UPDATE tbConfigurationB SET UseProxy = 0")
    rc, st, out = doctor_step(env, "wsus-proxy")
    check(rc == 1 and "WSUS uses no proxy, not the shim" in st["detail"],
          "no proxy", out)
    # a column this WSUS lacks: unknown, never a default
    db.execute("UPDATE tbConfigurationB SET UseProxy = 1, ProxyName = "
               "'127.0.0.1'; ALTER TABLE tbConfigurationB DROP COLUMN "
               "ProxyServerPort")
    rc, st, out = doctor_step(env, "wsus-proxy")
    check(rc == 0 and st["result"] == "warn" and
          "cannot tell whether WSUS (127.0.0.1:unknown)" in st["detail"] and
          "ProxyServerPort = unknown" in st["detail"], "unknown port", out)
    db.execute("ALTER TABLE tbConfigurationB DROP COLUMN UseProxy")
    rc, st, out = doctor_step(env, "wsus-proxy")
    check(st["result"] == "skip" and
          "unknown: UseProxy is not a column" in st["detail"],
          "unknown UseProxy", out)
    # a downstream server: the hierarchy note and how to check upstream
    db.execute("UPDATE tbConfigurationA SET SyncFromMicrosoftUpdate = 0; "
               "UPDATE tbConfigurationB SET UpstreamServerName = "
               "'parent.example'")
    rc, st, out = doctor_step(env, "storage")
    check(st["result"] == "ok" and "downstream server "
          "(SyncFromMicrosoftUpdate = 0, upstream parent.example)"
          in st["detail"] and "on the upstream server parent.example"
          in st["fix"] and "it must be False" in st["fix"], "downstream", out)
    db.execute("ALTER TABLE tbConfigurationA DROP COLUMN "
               "HostBinariesOnMicrosoftUpdate")
    rc, st, out = doctor_step(env, "storage")
    check(st["result"] == "skip" and "unknown: HostBinariesOnMicrosoftUpdate"
          " is not a column" in st["detail"], "unknown storage", out)
    check(db.value() == 0, "doctor wrote")


class FakeHttp:
    """An HTTP server on 127.0.0.1 in a thread that records each request
    line and Host header and answers with status (a plain server, or a
    proxy: it never forwards)."""

    def __init__(self, status=200):
        import http.server
        import threading
        outer = self
        self.seen = []
        self.status = status

        class H(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                outer.seen.append((self.command, self.path,
                                   self.headers.get("Host")))
                self.send_response(outer.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_CONNECT = do_GET

            def log_message(self, *a):
                pass

        self.srv = http.server.HTTPServer(("127.0.0.1", 0), H)
        self.srv.timeout = 1
        self.port = self.srv.server_address[1]
        self.thread = threading.Thread(target=self.srv.serve_forever,
                                       kwargs={"poll_interval": 0.1},
                                       daemon=True)
        self.thread.start()

    def close(self):
        self.srv.shutdown()
        self.srv.server_close()
        self.thread.join(10)


def case_sqlite_upstream_server(tmp):
    """upstream-server: skipped on a server that syncs from Microsoft
    Update; one GET to the upstream WSUS server, directly or through the
    shim (absolute form); failures with the reason."""
    db, env = sqlite_env(tmp)
    rc, st, out = doctor_step(env, "upstream-server")
    check(rc == 0 and st["result"] == "skip" and "syncs from Microsoft "
          "Update (SyncFromMicrosoftUpdate = 1)" in st["detail"], "skip",
          out)
    up = FakeHttp(200)
    proxy = FakeHttp(200)
    try:
        db.execute("UPDATE tbConfigurationA SET SyncFromMicrosoftUpdate = 0;"
                   " UPDATE tbConfigurationB SET UpstreamServerName = "
                   "'127.0.0.1', UpstreamServerPortNumber = %d" % up.port)
        rc, st, out = doctor_step(env, "upstream-server")
        check(rc == 0 and st["result"] == "ok" and st["detail"] ==
              "127.0.0.1 port %d (127.0.0.1) answered \"HTTP/1.0 200 OK\""
              % up.port, "direct", out)
        hp = "127.0.0.1:%d" % up.port
        check(up.seen == [("GET", "/ServerSyncWebService/"
                           "ServerSyncWebService.asmx", hp)],
              "request %r" % up.seen, out)
        # through the shim: the request goes to its listen address
        shim_listen_conf(env, tmp, proxy.port)
        rc, st, out = doctor_step(env, "upstream-server")
        check(st["result"] == "ok" and "through the shim (127.0.0.1:%d)"
              % proxy.port in st["detail"], "via shim", out)
        check(proxy.seen == [("GET", "http://%s/ServerSyncWebService/"
                              "ServerSyncWebService.asmx" % hp, hp)],
              "proxied request %r" % proxy.seen, out)
        check(len(up.seen) == 1, "went direct", up.seen)
        proxy.status = 502
        rc, st, out = doctor_step(env, "upstream-server")
        check(rc == 1 and st["result"] == "fail" and "502" in st["detail"]
              and "shim cannot reach" in st["fix"], "shim 502", out)
    finally:
        up.close()
        proxy.close()
    # the shim is not listening any more
    rc, st, out = doctor_step(env, "upstream-server")
    check(rc == 1 and st["result"] == "fail" and "through the shim" in
          st["detail"] and "refused" in st["detail"].lower() and
          "start the shim" in st["fix"], "shim down", out)
    # directly, nothing listening
    env.shim_conf = ""
    env.write_conf()
    rc, st, out = doctor_step(env, "upstream-server")
    check(rc == 1 and st["result"] == "fail" and "refused" in
          st["detail"].lower() and "Update Source" in st["fix"],
          "upstream down", out)
    db.execute("UPDATE tbConfigurationB SET UpstreamServerName = NULL")
    rc, st, out = doctor_step(env, "upstream-server")
    check(rc == 1 and "without a usable upstream: UpstreamServerName = NULL"
          in st["detail"] and "UpstreamWsusServerName" in st["fix"],
          "no name", out)


def case_sqlite_http11(tmp):
    """http11: the value against what is verified of the shim: nothing
    (no shim_conf), a request to its listen address, or its own probe."""
    db, env = sqlite_env(tmp)
    rc, st, out = doctor_step(env, "http11")
    check(rc == 0 and st["result"] == "ok" and st["detail"].startswith(
        "BitsDownloadPriorityForeground = 0 (background downloads") and
        "no shim_conf" in st["detail"], "no shim, 0", out)
    db.execute("UPDATE tbConfigurationC SET BitsDownloadPriorityForeground"
               " = 1")
    rc, st, out = doctor_step(env, "http11")
    check(rc == 0 and st["result"] == "warn" and "over 2 GB" in st["detail"]
          and "not verified" in st["detail"] and "wsus-fixer revert" in
          st["fix"], "no shim, 1", out)
    # the shim's listen address answers; its parents are not probed
    srv = FakeHttp(200)
    try:
        shim_listen_conf(env, tmp, srv.port, probe_rc=None)
        rc, st, out = doctor_step(env, "http11")
        check(st["result"] == "warn" and "shim answers" in
              st["detail"] and "parents were not probed" in st["detail"] and
              "GET /status.json at 127.0.0.1 port %d (127.0.0.1): "
              "\"HTTP/1.0 200 OK\"" % srv.port in st["detail"] and
              st["fix"] == "run wsus-shim probe; when it passes, run "
              "wsus-fixer revert", "answers, 1", out)
        check(srv.seen == [("GET", "/status.json", "127.0.0.1:%d" %
                            srv.port)], "request %r" % srv.seen, out)
        db.execute("UPDATE tbConfigurationC SET "
                   "BitsDownloadPriorityForeground = 0")
        rc, st, out = doctor_step(env, "http11")
        check(st["result"] == "ok" and "shim answers" in st["detail"],
              "answers, 0", out)
    finally:
        srv.close()
    # nobody listens there any more
    rc, st, out = doctor_step(env, "http11")
    check(rc == 1 and st["result"] == "fail" and "does not answer" in
          st["detail"] and "refused" in st["detail"].lower() and
          "start wsus-shim" in st["fix"], "down, 0", out)
    db.execute("UPDATE tbConfigurationC SET BitsDownloadPriorityForeground"
               " = 1")
    rc, st, out = doctor_step(env, "http11")
    check(st["result"] == "warn" and "still needed" in st["detail"],
          "down, 1", out)
    # wsus-shim probe passes: the workaround is to be reverted
    fake_shim(env, tmp, 0)
    rc, st, out = doctor_step(env, "http11")
    check(st["result"] == "warn" and "no longer needed" in st["detail"] and
          "exit 0: exit 0: every parent works through the shim" in
          st["detail"] and st["fix"] == "wsus-fixer revert", "probe ok, 1",
          out)
    with open(os.path.join(tmp, "probe.args")) as f:
        check(f.read().strip() == "probe -c " + env.shim_conf, "probe args")
    fake_shim(env, tmp, 1)
    rc, st, out = doctor_step(env, "http11")
    check(st["result"] == "warn" and "probe fails" in
          st["detail"] and "keep the workaround" in st["detail"],
          "probe fails, 1", out)
    db.execute("UPDATE tbConfigurationC SET BitsDownloadPriorityForeground"
               " = 0")
    rc, st, out = doctor_step(env, "http11")
    check(rc == 1 and st["result"] == "fail" and "exit 1" in st["detail"],
          "probe fails, 0", out)
    env.shim_bin = os.path.join(tmp, "no-such-shim")
    env.write_conf()
    rc, st, out = doctor_step(env, "http11")
    check(rc == 1 and st["result"] == "fail" and "could not be run" in
          st["detail"] and "shim_bin" in st["fix"], "no shim binary", out)
    # SUSDB not reached: skipped
    env.connection = "Driver=SQLite3;Database=%s/nope/x.sqlite3" % tmp
    env.write_conf()
    rc, st, out = doctor_step(env, "http11")
    check(st["result"] == "skip", "skip", out)
    check(db.value() == 0, "doctor wrote")


def case_content_acl(tmp):
    """content-acl on POSIX: the mode bits of the folder (others r-x)."""
    db, env = sqlite_env(tmp)
    os.chmod(env.content, 0o755)
    rc, st, out = doctor_step(env, "content-acl")
    check(rc == 0 and st["result"] == "ok" and st["detail"] ==
          "%s (from content_dir): NETWORK SERVICE and Users may read it "
          "[mode 0755, owner uid %d gid %d; others r-x]" %
          (env.content, os.getuid(), os.getgid()), "0755", out)
    for mode, others in ((0o750, "---"), (0o704, "r--"), (0o711, "--x")):
        os.chmod(env.content, mode)
        rc, st, out = doctor_step(env, "content-acl")
        check(rc == 1 and st["result"] == "fail" and
              "NETWORK SERVICE and Users may not read it [mode %04o" % mode
              in st["detail"] and "others %s]" % others in st["detail"] and
              st["fix"] == "chmod o+rx '%s'" % env.content, "%o" % mode, out)
    os.chmod(env.content, 0o755)
    path = os.path.join(tmp, "a-file")
    open(path, "w").close()
    env.write_conf("")
    with open(env.conf) as f:
        text = f.read().replace("content_dir = " + env.content,
                                "content_dir = " + path)
    with open(env.conf, "w") as f:
        f.write(text)
    rc, st, out = doctor_step(env, "content-acl")
    check(rc == 1 and st["result"] == "fail" and st["detail"] ==
          path + ": not a folder", "a file", out)
    shutil.rmtree(env.content)
    env.write_conf()
    rc, st, out = doctor_step(env, "content-acl")
    check(rc == 1 and "No such file" in st["detail"], "missing", out)


def case_sqlite_missing_updates(tmp):
    """missing-updates from tbFileOnServer/tbFile, found by name."""
    db, env = sqlite_env(tmp)
    p = env.run("--json", "doctor")
    doc = json.loads(p.stdout)
    st = [s for s in doc["steps"] if s["step"] == "missing-updates"][0]
    check(st["result"] == "ok" and "none waiting or failed" in st["detail"]
          and doc["missing_files"] == 0, "none", p.all)
    db.execute("UPDATE tbFileOnServer SET ActualState = 0 WHERE FileDigest "
               "IN ('0a1b', '0e3f')")
    rc, st, out = doctor_step(env, "missing-updates")
    check(rc == 0 and st["result"] == "warn" and st["detail"] ==
          "2 file(s) in tbFileOnServer not in their desired state (waiting "
          "for download, or failed): ndp48-kb5003-x64.exe, "
          "windows10.0-kb5001-x64.cab" and "wsusutil reset" in st["fix"] and
          "event 364" in st["fix"], "two", out)
    # more than the ten names shown
    db.execute("".join(
        "INSERT INTO tbFile VALUES ('f%02d', 'extra-%02d.cab');"
        "INSERT INTO tbFileOnServer (FileDigest, ActualState, DesiredState)"
        " VALUES ('f%02d', 0, 1);" % (i, i, i) for i in range(12)))
    rc, st, out = doctor_step(env, "missing-updates")
    check(st["detail"].startswith("14 file(s)") and
          st["detail"].endswith("extra-09.cab, ...") and
          st["detail"].count(".cab") == 10, "capped", out)
    # a column this SUSDB lacks: unknown, with the manual step
    db.execute("ALTER TABLE tbFileOnServer DROP COLUMN DesiredState")
    rc, st, out = doctor_step(env, "missing-updates")
    check(rc == 0 and st["result"] == "skip" and st["detail"].startswith(
        "unknown: tbFileOnServer.DesiredState is not in this SUSDB") and
        "wsusutil reset" in st["fix"], "unknown", out)
    db.execute("DROP TABLE tbFile")
    rc, st, out = doctor_step(env, "missing-updates")
    check(st["result"] == "skip" and "unknown: tbFileOnServer.DesiredState"
          in st["detail"], "first missing named", out)


def case_approvals(tmp):
    """approvals: wsusutil listinactiveapprovals, when it is there."""
    db, env = sqlite_env(tmp)
    rc, st, out = doctor_step(env, "approvals")
    check(st["result"] == "skip" and "no [fixer] wsusutil" in st["detail"]
          and "wsusutil listinactiveapprovals" in st["fix"], "none", out)
    tool = os.path.join(tmp, "wsusutil")
    env.wsusutil = tool
    env.write_conf()
    rc, st, out = doctor_step(env, "approvals")
    check(rc == 0 and st["result"] == "skip" and "not found" in
          st["detail"], "absent", out)

    def write(body):
        with open(tool, "w") as f:
            f.write("#!/bin/sh\necho \"$@\" > %s/wsusutil.args\n%s\n"
                    % (tmp, body))
        os.chmod(tool, 0o755)
    write("exit 0")
    rc, st, out = doctor_step(env, "approvals")
    check(rc == 0 and st["result"] == "ok" and "printed nothing" in
          st["detail"], "empty", out)
    with open(os.path.join(tmp, "wsusutil.args")) as f:
        check(f.read().strip() == "listinactiveapprovals", "args")
    write("echo '  Update A (approved for All Computers)'\necho\n"
          "echo 'Update B'\nexit 0")
    p = env.run("--json", "doctor")
    doc = json.loads(p.stdout)
    st = [s for s in doc["steps"] if s["step"] == "approvals"][0]
    check(st["result"] == "warn" and doc["approvals_lines"] == 2 and
          "printed 2 line(s), the first: \"Update A (approved for All "
          "Computers)\"" in st["detail"] and
          "removeinactiveapprovals" in st["fix"], "two", p.all)
    write("echo 'access denied' >&2\nexit 5")
    rc, st, out = doctor_step(env, "approvals")
    check(rc == 1 and st["result"] == "fail" and "exited with an error: "
          "access denied" in st["detail"], "fails", out)


def svc_actions(env):
    """The stop/start/enable calls fakesvc saw, in order."""
    return [c for c in env.calls() if c.split()[0] in ("stop", "start",
                                                        "enable")]


def case_sqlite_restart(tmp):
    """restart: BITS, then WSUSService; a stopped one is started; a
    disabled BITS only with --enable-bits; a failed stop is compensated;
    a failed start is exit 3 with the command that works."""
    db, env = sqlite_env(tmp)
    p = env.run("--json", "restart")
    expect_rc(p, 0)
    doc = json.loads(p.stdout)
    check(doc["command"] == "restart" and doc["bits_before"] == "running"
          and doc["service_before"] == "running" and doc["message"] ==
          "BITS and WSUSService restarted; both running", "json", p.all)
    check(svc_actions(env) == ["stop BITS", "start BITS", "stop WSUSService",
                               "start WSUSService"],
          "order %r" % svc_actions(env), p.all)
    check(env.svc_state("BITS") == "running" and
          env.svc_state("WSUSService") == "running", "states", p.all)
    # a stopped BITS is started (no stop), a stopped WSUSService too
    open(os.path.join(env.svcdir, "calls.log"), "w").close()
    env.fakesvc("set", "BITS", "stopped")
    env.fakesvc("set", "WSUSService", "stopped")
    p = env.run("restart")
    expect_rc(p, 0)
    check(svc_actions(env) == ["start BITS", "start WSUSService"],
          "stopped ones %r" % svc_actions(env), p.all)
    check("skip  bits-stop        BITS was stopped" in p.stdout, "skip",
          p.all)
    # BITS disabled: left so without --enable-bits, WSUSService restarted
    open(os.path.join(env.svcdir, "calls.log"), "w").close()
    env.fakesvc("set", "BITS", "stopped")
    env.fakesvc("type", "BITS", "disabled")
    p = env.run("restart")
    expect_rc(p, 3)
    check(svc_actions(env) == ["stop WSUSService", "start WSUSService"],
          "disabled BITS %r" % svc_actions(env), p.all)
    check(env.svc_type("BITS") == "disabled" and
          env.svc_state("BITS") == "stopped", "BITS touched", p.all)
    check("ACTION REQUIRED: a service is not running (BITS is disabled and "
          "was left so" in p.stderr and "Run by hand: " in p.stderr and
          "enable BITS" in p.stderr and "start BITS" in p.stderr,
          "manual", p.all)
    p = env.run("restart", "--enable-bits")
    expect_rc(p, 0)
    check(env.svc_type("BITS") == "auto" and
          env.svc_state("BITS") == "running", "enabled", p.all)
    # WSUSService does not stop: it is still running, exit 1
    env.fakesvc("mode", "WSUSService", "stop-fail")
    open(os.path.join(env.svcdir, "calls.log"), "w").close()
    p = env.run("restart")
    expect_rc(p, 1)
    check("every service is running" in p.stderr and
          "ok    service-start    WSUSService is still running" in p.stdout,
          "stop fails", p.all)
    check(svc_actions(env) == ["stop BITS", "start BITS",
                               "stop WSUSService"],
          "stop fails %r" % svc_actions(env), p.all)
    # WSUSService does not start again: exit 3, and the command works
    env.fakesvc("mode", "WSUSService", "start-fail")
    p = env.run("restart")
    expect_rc(p, 3)
    check(env.svc_state("WSUSService") == "stopped", "state", p.all)
    manual = p.stderr.split("Run by hand: ", 1)[1].strip()
    env.fakesvc("mode", "WSUSService", "")
    r = subprocess.run(manual, shell=True, cwd=tmp, capture_output=True,
                       text=True, timeout=30)
    check(r.returncode == 0 and env.svc_state("WSUSService") == "running",
          "manual command", manual, r.stdout, r.stderr)
    check(db.value() == 0, "restart wrote")
    # a missing service: nothing done
    open(os.path.join(env.svcdir, "calls.log"), "w").close()
    env.fakesvc("mode", "WSUSService", "absent")
    p = env.run("restart")
    expect_rc(p, 1)
    check("WSUSService is not installed; nothing done" in p.stderr and
          svc_actions(env) == [], "absent", p.all)


def sync_scripts(env, tmp, result="Succeeded", running=2, start_rc=0):
    """A sync command that records each run, and a status command that
    prints Running for its first `running` calls, then NotProcessing and
    result (the two lines of the default PowerShell status command)."""
    start = os.path.join(tmp, "sync-start")
    status = os.path.join(tmp, "sync-status")
    for f in ("started", "n"):
        if os.path.exists(os.path.join(tmp, f)):
            os.remove(os.path.join(tmp, f))
    with open(start, "w") as f:
        f.write("#!/bin/sh\necho run >> %s/started\necho 'sync queued'\n"
                "exit %d\n" % (tmp, start_rc))
    with open(status, "w") as f:
        f.write("#!/bin/sh\nn=$(cat %s/n 2>/dev/null || echo 0)\n"
                "n=$((n + 1))\necho $n > %s/n\n"
                "if [ $n -le %d ]; then echo Running; echo Succeeded\n"
                "else echo NotProcessing; echo %s; fi\n"
                % (tmp, tmp, running, result))
    for f in (start, status):
        os.chmod(f, 0o755)
    env.write_conf("sync_command = %s\nsync_status_command = %s\n"
                   "sync_timeout = 2s\nsync_poll_interval = 100ms\n"
                   % (start, status))


def count_file(tmp, name):
    path = os.path.join(tmp, name)
    if not os.path.exists(path):
        return 0
    with open(path) as f:
        text = f.read().split()
    return int(text[0]) if name == "n" else len(text)


def case_sqlite_sync(tmp):
    """sync [--wait] and apply --sync with configured commands."""
    db, env = sqlite_env(tmp)
    p = env.run("--json", "sync")
    expect_rc(p, 1)
    check("no [fixer] sync_command" in p.stdout, "no command", p.all)
    sync_scripts(env, tmp)
    p = env.run("--json", "sync")
    expect_rc(p, 0)
    doc = json.loads(p.stdout)
    check(doc["command"] == "sync" and doc["steps"][0]["detail"] ==
          "synchronization started: sync queued" and
          count_file(tmp, "started") == 1 and count_file(tmp, "n") == 0,
          "started", p.all)
    p = env.run("sync", "--wait")
    expect_rc(p, 0)
    check("wsus-fixer: synchronization succeeded: Succeeded" in p.stdout and
          count_file(tmp, "n") == 3, "waited", p.all)
    sync_scripts(env, tmp, result="Failed")
    p = env.run("--json", "sync", "--wait")
    expect_rc(p, 1)
    doc = json.loads(p.stdout)
    check(doc["message"] == "synchronization failed: Failed" and
          doc["sync_result"] == "Failed", "failed", p.all)
    # never seen running: bounded by sync_timeout
    sync_scripts(env, tmp, running=0)
    p = env.run("sync", "--wait")
    expect_rc(p, 1)
    check("was never seen running" in p.stdout and p.elapsed < 15 and
          count_file(tmp, "n") >= 5, "never running", p.all)
    sync_scripts(env, tmp, running=1000)
    p = env.run("sync", "--wait")
    expect_rc(p, 1)
    check("is still running" in p.stdout, "still running", p.all)
    sync_scripts(env, tmp, start_rc=2)
    p = env.run("sync", "--wait")
    expect_rc(p, 1)
    check("exit 2: sync queued" in p.stderr + p.stdout and
          count_file(tmp, "n") == 0, "start fails", p.all)
    # apply --sync --wait: one report, the value changed, then the sync
    sync_scripts(env, tmp)
    p = env.run("--json", "apply", "--sync", "--wait")
    expect_rc(p, 0)
    doc = json.loads(p.stdout)
    names = [s["step"] for s in doc["steps"]]
    check(doc["command"] == "apply --sync" and db.value() == 1 and
          names.index("db-update") < names.index("sync-start") <
          names.index("sync-wait") and doc["message"] ==
          "BitsDownloadPriorityForeground changed 0 -> 1; WSUSService "
          "running again; synchronization succeeded: Succeeded",
          "apply --sync", p.all)
    # an apply that fails starts no synchronization
    sync_scripts(env, tmp)
    env.fakesvc("mode", "WSUSService", "stop-fail")
    p = env.run("apply", "--value", "0", "--sync")
    expect_rc(p, 1)
    check(count_file(tmp, "started") == 0 and db.value() == 1 and
          "skip  sync-start       not started: the apply did not succeed"
          in p.stdout, "no sync after a failed apply", p.all)
    for args in (("status", "--wait"), ("doctor", "--sync"),
                 ("apply", "--dry-run", "--sync")):
        p = env.run(*args)
        expect_rc(p, 2)


def case_real_shim_probe(tmp):
    """http11 with the real wsus-shim as shim_bin: its probe of a parent
    proxy that refuses connections (127.0.0.1, a closed port) exits 1,
    and a conf it rejects exits 2; doctor reports both as a failing
    probe, with the probe's own last line."""
    check(SHIM and os.path.exists(SHIM), "no --shim binary", SHIM)
    db, env = sqlite_env(tmp)
    port = free_port()
    shim = os.path.join(tmp, "shim.conf")
    with open(shim, "w") as f:
        f.write("[listen]\naddress = 127.0.0.1\nport = %d\n[upstream]\n"
                "proxy = 127.0.0.1:%d\n" % (free_port(), port))
    env.shim_conf = shim
    env.shim_bin = SHIM
    env.write_conf()
    rc, st, out = doctor_step(env, "http11")
    check(rc == 1 and st["result"] == "fail" and "probe fails" in
          st["detail"] and st["detail"].endswith(
              ": exit 1: exit 1: at least one parent does not work through "
              "the shim with this conf]"), "refused parent, 0", out)
    db.execute("UPDATE tbConfigurationC SET BitsDownloadPriorityForeground"
               " = 1")
    rc, st, out = doctor_step(env, "http11")
    check(st["result"] == "warn" and "keep the workaround" in st["detail"],
          "refused parent, 1", out)
    with open(shim, "a") as f:
        f.write("no_such_key = 1\n")
    rc, st, out = doctor_step(env, "http11")
    check(st["result"] == "warn" and ": exit 2: " in st["detail"],
          "bad shim conf", out)


def case_demo_conf(tmp):
    """conf/wsus-fixer.demo.conf as shipped, with only its /tmp paths moved
    into this test's folder; its commands stay relative to its folder."""
    demo = open(os.path.join(SRC, "conf", "wsus-fixer.demo.conf")).read()
    check("/tmp/wsus-fixer-demo" in demo, "demo paths changed")
    conf_dir = os.path.join(tmp, "conf")
    os.makedirs(conf_dir)
    os.symlink(os.path.join(SRC, "tests"), os.path.join(tmp, "tests"))
    with open(os.path.join(conf_dir, "wsus-fixer.demo.conf"), "w") as f:
        f.write(demo.replace("/tmp/wsus-fixer-demo", tmp + "/demo"))
    con = sqlite3.connect(tmp + "/demo.sqlite3")
    con.executescript(fixture_sql())
    con.close()
    env = Env(tmp, "unused")
    conf = os.path.join(conf_dir, "wsus-fixer.demo.conf")
    for cmd, rc in (("status", 0), ("apply", 0), ("status", 0),
                    ("revert", 0), ("doctor", 0)):
        p = env.run(cmd, conf=conf)
        expect_rc(p, rc)
    con = sqlite3.connect(tmp + "/demo.sqlite3")
    v = con.execute("SELECT BitsDownloadPriorityForeground FROM "
                    "tbConfigurationC").fetchall()
    con.close()
    check(v == [(0,)], "demo value %r" % v)


def case_reference_conf(tmp):
    """conf/wsus-fixer.conf parses: with the exec backend swapped in (scm
    exists only on Windows), the only complaint is connection = auto,
    which needs the Windows registry."""
    text = open(os.path.join(SRC, "conf", "wsus-fixer.conf")).read()
    check("\nbackend = scm" in text, "reference conf changed")
    text = text.replace("\nbackend = scm", "\nbackend = exec")
    for k in ("stop", "start", "status", "starttype", "enable"):
        text = text.replace("\n;%s_command" % k, "\n%s_command" % k)
    conf = os.path.join(tmp, "wsus-fixer.conf")
    with open(conf, "w") as f:
        f.write(text)
    p = subprocess.run([FIXER, "-c", conf, "-v", "status"],
                       capture_output=True, text=True, timeout=30)
    check(p.returncode == 2, "exit %d" % p.returncode, p.stderr)
    check("connection = auto reads the Windows registry" in p.stderr,
          "message", p.stderr)
    check("conf [service] stop_command = sc \\\\wsus01 stop %s" in p.stderr,
          "-v conf dump", p.stderr)


# ---------------------------------------------------------------- PostgreSQL

def pg_bindir():
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                  key=lambda p: int(p.split("/")[4]))
    check(dirs, "PostgreSQL server binaries not found (tools/deps.sh "
          "installs postgresql)")
    return os.path.dirname(dirs[-1])


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class PgServer:
    """initdb + postgres on 127.0.0.1:<free port>, as nobody when root."""

    SUPER_PW = "super-pw-1"
    FIXER_PW = "fixer-pw-2;x"  # a ';' must survive braces in the string

    def __init__(self, tmp):
        self.bindir = pg_bindir()
        self.dir = os.path.join(tmp, "pg")
        os.makedirs(self.dir)
        self.data = os.path.join(self.dir, "data")
        self.proc = None
        self.port = None
        self.drop = []
        if os.geteuid() == 0:
            os.chmod(tmp, 0o755)
            os.chown(self.dir, 65534, 65534)
            self.drop = ["--reuid", "65534", "--regid", "65534",
                         "--clear-groups"]
        pwfile = os.path.join(self.dir, "pw")
        with open(pwfile, "w") as f:
            f.write(self.SUPER_PW + "\n")
        if self.drop:
            os.chown(pwfile, 65534, 65534)
        r = subprocess.run(
            ["setpriv"] + self.drop + [os.path.join(self.bindir, "initdb"),
             "-D", self.data, "-U", "postgres", "--pwfile", pwfile,
             "--auth=scram-sha-256", "-E", "UTF8", "--no-sync",
             "--locale=C"],
            cwd=self.dir, capture_output=True, text=True, timeout=120)
        check(r.returncode == 0, "initdb failed", r.stdout, r.stderr)

    def start(self):
        for attempt in range(3):
            self.port = free_port()
            log = open(os.path.join(self.dir, "log"), "w")
            self.proc = subprocess.Popen(
                ["setpriv", "--pdeathsig", "KILL"] + self.drop +
                [os.path.join(self.bindir, "postgres"), "-D", self.data,
                 "-c", "listen_addresses=127.0.0.1",
                 "-c", "port=%d" % self.port,
                 "-c", "unix_socket_directories=",
                 "-c", "fsync=off", "-c", "max_connections=20"],
                cwd=self.dir, stdout=log, stderr=subprocess.STDOUT)
            log.close()
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    break
                r = self.psql("SELECT 1", db="postgres", check_rc=False)
                if r.returncode == 0:
                    return
                time.sleep(0.2)
            self.stop()
        with open(os.path.join(self.dir, "log")) as f:
            raise Fail("PostgreSQL did not start", f.read())

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # fast shutdown
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=20)
        self.proc = None

    def psql(self, sql, db="susdb", user="postgres", check_rc=True):
        env = dict(os.environ, PGPASSWORD=self.SUPER_PW, PGCONNECT_TIMEOUT="5")
        r = subprocess.run(
            ["psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", user,
             "-d", db, "-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1",
             "-c", sql], capture_output=True, text=True, timeout=60, env=env)
        if check_rc:
            check(r.returncode == 0, "psql failed: " + sql, r.stderr)
        return r

    def load_fixture(self):
        self.psql("CREATE ROLE fixer LOGIN PASSWORD '%s'" %
                  self.FIXER_PW.replace("'", "''"), db="postgres")
        self.psql("CREATE DATABASE susdb OWNER fixer", db="postgres")
        env = dict(os.environ, PGPASSWORD=self.FIXER_PW)
        r = subprocess.run(
            ["psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "fixer",
             "-d", "susdb", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f",
             os.path.join(SRC, "sql", "susdb-fixture.sql")],
            capture_output=True, text=True, timeout=60, env=env)
        check(r.returncode == 0, "fixture failed", r.stderr)

    def connection(self, driver="PostgreSQL Unicode"):
        # CommLog/Debug off: Debian's odbcinst.ini turns psqlODBC's
        # communication log on, which would write to /tmp
        return ("Driver={%s};Server=127.0.0.1;Port=%d;Database=susdb;"
                "Uid=fixer;Pwd={%s};SSLmode=disable;CommLog=0;Debug=0"
                % (driver, self.port, self.FIXER_PW))

    def rows(self):
        out = self.psql("SELECT ConfigurationID, "
                        "BitsDownloadPriorityForeground, "
                        "LocalContentCacheLocation FROM tbConfigurationC")
        return [tuple(l.split("|")) for l in out.stdout.split("\n") if l]

    def value(self):
        rows = self.rows()
        check(len(rows) == 1 and rows[0][0] == "1" and
              rows[0][2] == "C:\\WSUS\\WsusContent", "rows %r" % rows)
        return int(rows[0][1])


def odbc_sysini(tmp):
    """A private odbcinst.ini with the system's PostgreSQL drivers but
    psqlODBC's logs off: Debian registers them with CommLog=1, which makes
    the driver leave a psqlodbc_*.log in /tmp on every connection whatever
    the connection string says."""
    import configparser
    sysini = configparser.ConfigParser(interpolation=None)
    sysini.optionxform = str
    sysini.read("/etc/odbcinst.ini")
    out = configparser.ConfigParser(interpolation=None)
    out.optionxform = str
    for name in ("PostgreSQL Unicode", "PostgreSQL ANSI"):
        check(sysini.has_section(name), "ODBC driver %r not registered in "
              "/etc/odbcinst.ini (odbc-postgresql)" % name)
        out[name] = dict(sysini[name], CommLog="0", Debug="0")
    d = os.path.join(tmp, "odbc")
    os.makedirs(d)
    with open(os.path.join(d, "odbcinst.ini"), "w") as f:
        out.write(f)
    open(os.path.join(d, "odbc.ini"), "w").close()
    return d


def with_pg(tmp, body, driver="PostgreSQL Unicode"):
    pg = PgServer(tmp)
    try:
        pg.start()
        pg.load_fixture()
        env = Env(tmp, pg.connection(driver))
        env.extra_env["ODBCSYSINI"] = odbc_sysini(tmp)
        body(pg, env)
    finally:
        pg.stop()


def no_password(p):
    check(PgServer.FIXER_PW not in p.stdout + p.stderr, "password shown",
          p.all)


def case_pg_apply_revert(tmp):
    def body(pg, env):
        p = env.run("-v", "status")
        expect_rc(p, 0)
        no_password(p)
        check("Pwd=***" in p.stdout, "masked connection string", p.all)
        p = env.run("apply")
        expect_rc(p, 0)
        check(pg.value() == 1, "value after apply", p.all)
        check(env.svc_state("WSUSService") == "running", "service")
        p = env.run("--json", "status")
        expect_rc(p, 0)
        check(json.loads(p.stdout)["value"] == 1, "status value", p.stdout)
        p = env.run("revert")
        expect_rc(p, 0)
        check(pg.value() == 0, "value after revert", p.all)
        no_password(p)
    with_pg(tmp, body)


def case_pg_ansi_driver(tmp):
    def body(pg, env):
        p = env.run("apply", "--value", "1")
        expect_rc(p, 0)
        check(pg.value() == 1, "value", p.all)
    with_pg(tmp, body, driver="PostgreSQL ANSI")


def case_pg_trigger_fails(tmp):
    def body(pg, env):
        pg.psql("""
CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'wsus-fixer test: update refused'; END $$;
CREATE TRIGGER refuse BEFORE UPDATE ON tbConfigurationC
    FOR EACH ROW EXECUTE FUNCTION refuse();""")
        p = env.run("apply")
        expect_rc(p, 1)
        check("update refused" in p.stdout, "driver diagnostic", p.all)
        check("P0001" in p.stdout, "SQLSTATE", p.all)
        check("ok    db-rollback" in p.stdout, "rollback", p.all)
        check(pg.value() == 0, "value changed", p.all)
        check(env.svc_state("WSUSService") == "running", "service")
        calls = env.calls()
        check("stop WSUSService" in calls and "start WSUSService" in calls,
              "service not cycled", calls)
        check("result = failed" in env.state_text(), "state")
        no_password(p)
    with_pg(tmp, body)


def case_pg_commit_fails(tmp):
    """A deferred constraint trigger raises only at COMMIT: SQLEndTran
    fails, and the value must stay."""
    def body(pg, env):
        pg.psql("""
CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'wsus-fixer test: commit refused'; END $$;
CREATE CONSTRAINT TRIGGER refuse AFTER UPDATE ON tbConfigurationC
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION refuse();""")
        p = env.run("apply")
        expect_rc(p, 1)
        check("fail  db-commit" in p.stdout, "commit failure", p.all)
        check("commit refused" in p.stdout, "diagnostic", p.all)
        check(pg.value() == 0, "value changed", p.all)
        check(env.svc_state("WSUSService") == "running", "service")
    with_pg(tmp, body)


def case_pg_wsus_config(tmp):
    """The same lookup through psqlODBC, whose catalog has the tables
    under their folded (lower-case) names."""
    def body(pg, env):
        shim_listen_conf(env, tmp)
        rc, st, out = doctor_step(env, "wsus-proxy")
        check(rc == 0 and st["result"] == "ok" and
              "WSUS points at the shim (127.0.0.1:8181)" in st["detail"],
              "ok", out)
        check(PgServer.FIXER_PW not in out, "password shown", out)
        rc, st, out = doctor_step(env, "storage")
        check(st["result"] == "ok" and "local storage" in st["detail"],
              "storage", out)
        pg.psql("UPDATE tbConfigurationB SET "
                "AllowProxyCredentialsOverNonSsl = 1")
        rc, st, out = doctor_step(env, "wsus-proxy")
        check(rc == 0 and st["result"] == "warn" and
              "Basic credentials over clear text" in st["detail"],
              "warn", out)
        pg.psql("UPDATE tbConfigurationB SET ProxyServerPort = 3128")
        rc, st, out = doctor_step(env, "wsus-proxy")
        check(rc == 1 and st["result"] == "fail" and
              "not at the shim" in st["detail"] and
              "$c.ProxyServerPort = 8181" in st["fix"], "fail", out)
        pg.psql("ALTER TABLE tbConfigurationB DROP COLUMN ProxyServerPort")
        rc, st, out = doctor_step(env, "wsus-proxy")
        check(st["result"] == "warn" and
              "ProxyServerPort = unknown" in st["detail"], "unknown", out)
        # missing-updates through the folded catalog names
        rc, st, out = doctor_step(env, "missing-updates")
        check(st["result"] == "ok", "no missing files", out)
        pg.psql("UPDATE tbFileOnServer SET DesiredState = 2 WHERE "
                "FileDigest = '0c2d'")
        rc, st, out = doctor_step(env, "missing-updates")
        check(st["result"] == "warn" and st["detail"].startswith(
            "1 file(s) in tbFileOnServer") and st["detail"].endswith(
            ": windows10.0-kb5002-x64.cab"), "one missing", out)
        pg.psql("ALTER TABLE tbFile DROP COLUMN FileName")
        rc, st, out = doctor_step(env, "missing-updates")
        check(st["result"] == "skip" and "unknown: tbFile.FileName" in
              st["detail"], "unknown", out)
    with_pg(tmp, body)


def case_pg_server_down(tmp):
    def body(pg, env):
        pg.stop()
        p = env.run("apply")
        expect_rc(p, 1)
        check("fail  db-connect" in p.stdout, "connect failure", p.all)
        check(env.calls() == [], "services touched")
        no_password(p)
    with_pg(tmp, body)


CASES = {k[5:]: v for k, v in globals().items() if k.startswith("case_")}


def main():
    global FIXER, SRC, SHIM
    ap = argparse.ArgumentParser()
    ap.add_argument("--fixer", required=True)
    ap.add_argument("--shim", default="")
    ap.add_argument("--src", required=True)
    ap.add_argument("case", choices=sorted(CASES))
    a = ap.parse_args()
    FIXER = os.path.abspath(a.fixer)
    SRC = os.path.abspath(a.src)
    SHIM = os.path.abspath(a.shim) if a.shim else ""
    tmp = tempfile.mkdtemp(prefix="wsus-fixer-e2e-")
    try:
        CASES[a.case](tmp)
    except Fail as e:
        print("FAIL %s: %s" % (a.case, e), file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("ok %s" % a.case)
    return 0


if __name__ == "__main__":
    sys.exit(main())
