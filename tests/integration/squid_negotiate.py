"""squid_negotiate.py - Debian's Squid as a parent that demands Negotiate.

    with Krb5Rig() as k, SquidNegotiate(k) as sq:
        sq.port                 the proxy port on 127.0.0.1
        sq.access_lines()       access.log lines (native format)
        sq.users()              the user field of each access.log line
        sq.cache_log()          cache.log text (helper messages too)

Squid runs in the foreground (squid -N) with a conf of its own in a
temporary folder: its own pid file, cache_log, access_log, coredump_dir,
no disk cache, a unique -n service name (so it never meets another Squid
on the host, nor its shared memory; alphanumeric only), listening on a free 127.0.0.1 port.
It authenticates with negotiate_kerberos_auth against the rig's
HTTP/localhost keytab; the helper's replay cache is in the folder too.
Only authenticated requests pass (acl auth proxy_auth REQUIRED); they go
straight to the origin named in the URL (the tests' upstream-emu on
loopback). It is killed on exit and the folder removed.

Kept small and separate from a Basic/NTLM launcher so the two can be
merged later.
"""

import os
import pwd
import signal
import re
import shutil
import socket
import tempfile
import time

from harness import HarnessError, Skip, _spawn, _stop, free_port

SQUID = "/usr/sbin/squid"
HELPER = "/usr/lib/squid/negotiate_kerberos_auth"

CONF = """\
http_port 127.0.0.1:{port}
pid_filename {d}/squid.pid
cache_log {d}/cache.log
access_log stdio:{d}/access.log squid
cache_store_log none
coredump_dir {d}
cache deny all
cache_mem 4 MB
netdb_filename none
icp_port 0
htcp_port 0
pinger_enable off
shutdown_lifetime 1 seconds
visible_hostname wsus-test-parent
logfile_rotate 0
max_filedescriptors 1024
{user_line}
auth_param negotiate program {helper} -s {service} -k {keytab} -c {d}/rcache
auth_param negotiate children 2 startup=1 idle=1
auth_param negotiate keep_alive on
{ntlm_lines}
acl auth proxy_auth REQUIRED
http_access allow auth
http_access deny all
"""


class SquidNegotiate:
    def __init__(self, rig, name=None, ntlm=False):
        """ntlm: offer NTLM too (ntlm_fake_auth, which checks the
        handshake, not the password), after Negotiate."""
        self.rig = rig
        self.ntlm = ntlm
        self.name = name or "wsusgss%d%d" % (os.getpid(), id(self) % 10000)
        self.dir = None
        self.proc = None
        self.port = None

    def start(self):
        for p in (SQUID, HELPER):
            if not os.access(p, os.X_OK):
                raise Skip("%s missing (squid)" % p)
        self.dir = tempfile.mkdtemp(prefix="squid-nego-")
        d = self.dir
        os.mkdir(os.path.join(d, "rcache"), 0o700)
        keytab = os.path.join(d, "http.keytab")
        shutil.copyfile(self.rig.service_keytab, keytab)
        os.chmod(keytab, 0o600)
        user_line = ""
        if os.geteuid() == 0:
            # Squid started as root drops to an unprivileged user: give
            # it the folder (logs, pid, replay cache, keytab).
            try:
                pw = pwd.getpwnam("proxy")
            except KeyError:
                raise Skip("no 'proxy' user for Squid to run as")
            user_line = "cache_effective_user proxy"
            for root, dirs, files in os.walk(d):
                for n in dirs + files + ["."]:
                    os.chown(os.path.join(root, n), pw.pw_uid, pw.pw_gid)
        self.port = free_port()
        conf = os.path.join(d, "squid.conf")
        with open(conf, "w") as f:
            f.write(CONF.format(port=self.port, d=d, user_line=user_line,
                                helper=HELPER, service=self.rig.service,
                                keytab=keytab, ntlm_lines=(
                                    "auth_param ntlm program "
                                    "/usr/lib/squid/ntlm_fake_auth\n"
                                    "auth_param ntlm keep_alive on"
                                    if self.ntlm else "")))
        env = {
            "KRB5_CONFIG": self.rig.env["KRB5_CONFIG"],
            "KRB5_KTNAME": "FILE:" + keytab,
            "KRB5RCACHEDIR": os.path.join(d, "rcache"),
            "KRB5CCNAME": "FILE:" + os.path.join(d, "none.ccache"),
        }
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            self.proc = _spawn([SQUID, "-N", "-n", self.name, "-f", conf],
                               os.path.join(d, "stdout"),
                               os.path.join(d, "stderr"))
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        deadline = time.monotonic() + 20
        while True:
            if self.proc.poll() is not None:
                rc = self.proc.returncode
                err = self._read("stderr") + self.cache_log()
                self.stop()
                raise HarnessError("squid exited with %s: %s" % (
                    rc, err[-800:]))
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.5).close()
                break
            except OSError:
                pass
            if time.monotonic() > deadline:
                err = self.cache_log()
                self.stop()
                raise HarnessError("squid not listening within 20 s: %s" %
                                   err[-800:])
            time.sleep(0.05)
        return self

    def _read(self, name):
        try:
            with open(os.path.join(self.dir, name), "rb") as f:
                return f.read().decode("utf-8", "replace")
        except (FileNotFoundError, TypeError):
            return ""

    def cache_log(self):
        return self._read("cache.log")

    def access_lines(self, want=0, timeout=5.0):
        """access.log lines; waits (bounded) until there are want of them,
        since Squid writes the line after the response."""
        deadline = time.monotonic() + timeout
        while True:
            # Not the readiness probe's line (a connection closed before
            # any request).
            lines = [l for l in self._read("access.log").splitlines()
                     if l and "transaction-end-before-headers" not in l]
            if len(lines) >= want or time.monotonic() > deadline:
                return lines
            time.sleep(0.05)

    def users(self, want=0):
        """The user field (8th) of each access.log line."""
        out = []
        for l in self.access_lines(want):
            f = re.split(r"\s+", l.strip())
            out.append(f[7] if len(f) > 7 else None)
        return out

    def stop(self):
        proc, self.proc = self.proc, None
        if proc is not None:
            # SIGINT: shut down now (SIGTERM waits shutdown_lifetime);
            # _stop then SIGTERMs and SIGKILLs if it is still there.
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
                try:
                    proc.wait(5)
                except Exception:
                    pass
            _stop(proc, grace=5.0)
        if self.dir is not None and not os.environ.get("WSUS_KEEP_RIG"):
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False
