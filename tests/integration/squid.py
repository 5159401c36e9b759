"""squid.py - Debian's Squid as a real parent proxy for the tests.

    from squid import Squid

    with Emu(root) as origin, \\
            Squid(origin.port, auth="ntlm", strip_range=True) as sq:
        sq.port, sq.url, sq.access(n), sq.client_ports(), sq.users()

One Squid 5 process per context, in the foreground with no kids
(`squid -N`: "master process runs in foreground and is a worker"), under a
service name of its own (`-n`, which also prefixes its /dev/shm segments),
so it never meets another Squid on the host. Its config, pid file, logs
and coredump_dir live in a private temp folder; there is no disk cache
(`cache deny all`, `cache_mem 0`), no pinger, no ICP/HTCP, DNS points at
loopback, and only 127.0.0.1 may use it. Every request goes to one parent,
normally upstream-emu (`cache_peer ... parent`, `never_direct allow all`),
so the Windows Update host names the shim uses never leave the machine.

Options:
    parent_port       the cache_peer (upstream-emu); required
    auth              None, "basic", "ntlm", or a tuple of them in the
                      order Squid offers them ("both" = ("ntlm", "basic"))
    basic_users       {user: password}: Basic is checked for real by
                      basic_ncsa_auth (apr1 hashes from `openssl passwd`);
                      without it basic_fake_auth accepts any password
    deny_users        user names refused after authentication: Squid
                      answers 407 again (a proxy_auth ACL last on a deny
                      line re-challenges), like a wrong password
    strip_range       request_header_access Range deny all: the parent
                      never sees Range, so Squid answers 200 with the body
    client_idle_pconn_timeout  seconds a client connection may sit idle
    http10            not possible: Squid 3.2 and later are HTTP/1.1 only
                      (server_http11 / http11 were 2.7 directives); use
                      upstream-emu --http10 for an HTTP/1.0 parent
    port              a fixed listening port (restart() keeps the port)
    name              prefix of the -n service name (alphanumeric; the pid
                      and a counter are added): the bench uses its own

The access log is one line per request in the format "wsus" below:
time, client address, client port, user (%un, "-" when none), Squid
code/status, method, URL, reply bytes, Squid's local port toward the
parent. A client TCP connection is one (address, port) pair, so tests
count the connections Squid saw from the log, not by assumption.

Squid refuses http_port 0, so the port is picked free and the start is
retried on a bind failure. When the tests run as root Squid is started as
the `proxy` user (setuid before exec, then PR_SET_PDEATHSIG, so no later
credential change clears it and Squid dies with the test). Every wait is
bounded. stop() sends SIGTERM (shutdown_lifetime 0; still about 2 s of
Squid's shutdown ticks) and SIGKILL after 5 s; the context exit SIGKILLs
it at once (the access log is written per request, the auth helpers exit
at EOF) and removes the folder and the name's /dev/shm segments.
"""

import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import time

import harness
from harness import HarnessError, Skip, free_port

HELPER_DIR = "/usr/lib/squid"
BASIC_FAKE = HELPER_DIR + "/basic_fake_auth"
BASIC_NCSA = HELPER_DIR + "/basic_ncsa_auth"
NTLM_FAKE = HELPER_DIR + "/ntlm_fake_auth"

LOGFORMAT = "%ts.%03tu %>a %>p %un %Ss/%03>Hs %rm %ru %<st %<lp"

_seq = [0]


def squid_path():
    """The squid binary; Skip when Squid is not installed."""
    p = shutil.which("squid")
    if p is None and os.access("/usr/sbin/squid", os.X_OK):
        p = "/usr/sbin/squid"
    if p is None:
        raise Skip("squid is not installed (tools/deps.sh installs it)")
    return p


def _helper(path):
    if not os.access(path, os.X_OK):
        raise Skip("%s is missing (Debian's squid package ships it)" % path)
    return path


class AccessLine:
    """One parsed access-log line."""

    def __init__(self, line):
        f = line.split()
        if len(f) < 9:
            raise HarnessError("squid access line %r" % line)
        self.raw = line
        self.time = float(f[0])
        self.client = (f[1], int(f[2]))
        self.user = None if f[3] == "-" else _unquote(f[3])
        self.code, _, st = f[4].partition("/")
        self.status = int(st)
        self.method = f[5]
        self.url = f[6]
        self.bytes = int(f[7])
        self.peer_lport = f[8]

    def __repr__(self):
        return "<squid %s:%d %s %s/%d %s %s>" % (
            self.client[0], self.client[1], self.user, self.code,
            self.status, self.method, self.url)


def _unquote(s):
    # %un is URL-encoded in the log (CORP\svc becomes CORP%5Csvc).
    return re.sub(r"%([0-9A-Fa-f]{2})",
                  lambda m: chr(int(m.group(1), 16)), s)


class Squid:
    def __init__(self, parent_port, auth=None, basic_users=None,
                 deny_users=(), strip_range=False,
                 client_idle_pconn_timeout=None, http10=False, port=None,
                 extra=(), start_timeout=20, name="wsusit"):
        if http10:
            raise HarnessError(
                "Squid cannot answer as an HTTP/1.0 parent: 3.2 and later "
                "are HTTP/1.1 only; use upstream-emu --http10")
        if auth == "both":
            auth = ("ntlm", "basic")
        if isinstance(auth, str):
            auth = (auth,)
        for a in auth or ():
            if a not in ("basic", "ntlm"):
                raise HarnessError("auth %r: basic or ntlm" % (a,))
        self.parent_port = parent_port
        self.auth = tuple(auth or ())
        self.basic_users = dict(basic_users or {})
        self.deny_users = list(deny_users)
        self.strip_range = strip_range
        self.idle_timeout = client_idle_pconn_timeout
        self.extra = list(extra)
        self.want_port = port
        self.start_timeout = start_timeout
        self.port = None
        self.proc = None
        self.tmp = None
        _seq[0] += 1
        # Alphanumeric: it names the /dev/shm segments too.
        self.name = "%s%dx%d" % (name, os.getpid(), _seq[0])

    # ---- config -------------------------------------------------------------

    def _conf(self):
        d = self.tmp
        lines = [
            "http_port 127.0.0.1:%d" % self.port,
            "visible_hostname wsus-itest-squid",
            "pid_filename %s/squid.pid" % d,
            "cache_log %s/cache.log" % d,
            "logformat wsus %s" % LOGFORMAT,
            "access_log stdio:%s/access.log logformat=wsus" % d,
            "buffered_logs off",
            "cache_store_log none",
            "netdb_filename none",
            "coredump_dir %s" % d,
            "cache deny all",
            "cache_mem 0 MB",
            "shutdown_lifetime 0 seconds",
            "pinger_enable off",
            "digest_generation off",
            "icp_port 0",
            "htcp_port 0",
            "dns_nameservers 127.0.0.1",
            "client_persistent_connections on",
            "server_persistent_connections on",
            "cache_peer 127.0.0.1 parent %d 0 no-query no-digest default "
            "name=emu" % self.parent_port,
            "never_direct allow all",
            "acl from_loopback src 127.0.0.1/32 ::1",
        ]
        if self.idle_timeout is not None:
            lines.append("client_idle_pconn_timeout %d seconds" %
                         self.idle_timeout)
        if self.strip_range:
            lines.append("request_header_access Range deny all")
        for a in self.auth:
            if a == "ntlm":
                lines += [
                    "auth_param ntlm program %s" % _helper(NTLM_FAKE),
                    "auth_param ntlm children 4 startup=1 idle=1",
                    "auth_param ntlm keep_alive on",
                ]
            elif self.basic_users:
                pw = os.path.join(d, "passwd")
                with open(pw, "w") as f:
                    for u, p in self.basic_users.items():
                        f.write("%s:%s\n" % (u, _apr1(p)))
                lines += [
                    "auth_param basic program %s %s" % (_helper(BASIC_NCSA),
                                                        pw),
                    "auth_param basic children 4 startup=1 idle=1",
                    "auth_param basic realm wsus-itest",
                ]
            else:
                lines += [
                    "auth_param basic program %s" % _helper(BASIC_FAKE),
                    "auth_param basic children 4 startup=1 idle=1",
                    "auth_param basic realm wsus-itest",
                ]
        if self.auth:
            lines.append("acl authed proxy_auth REQUIRED")
            if self.deny_users:
                lines.append("acl refused_users proxy_auth %s" %
                             " ".join(self.deny_users))
                # Last ACL on a deny line is proxy_auth: 407 again.
                lines.append("http_access deny from_loopback refused_users")
            lines.append("http_access allow from_loopback authed")
        else:
            lines.append("http_access allow from_loopback")
        lines.append("http_access deny all")
        lines += self.extra
        return "\n".join(lines) + "\n"

    # ---- process ------------------------------------------------------------

    def _as_proxy_user(self):
        if os.geteuid() != 0:
            return None
        for name in ("proxy", "nobody"):
            try:
                return pwd.getpwnam(name)
            except KeyError:
                continue
        raise Skip("no proxy or nobody user to run squid as")

    def start(self):
        exe = squid_path()
        self.tmp = tempfile.mkdtemp(prefix="squid-")
        self.user = self._as_proxy_user()
        if self.user is not None:
            os.chmod(self.tmp, 0o755)
            os.chown(self.tmp, self.user.pw_uid, self.user.pw_gid)
        last = None
        for _ in range(3 if self.want_port is None else 1):
            self.port = self.want_port or free_port()
            try:
                self._start_once(exe)
                return self
            except HarnessError as e:
                last = e
                if "Address already in use" not in str(e):
                    break
        self.cleanup()
        raise last

    def _start_once(self, exe):
        conf = os.path.join(self.tmp, "squid.conf")
        with open(conf, "w") as f:
            f.write(self._conf())
        self._clear_shm()
        self.conf_path = conf
        self.err_path = os.path.join(self.tmp, "stderr")
        self.access_path = os.path.join(self.tmp, "access.log")
        self.cache_path = os.path.join(self.tmp, "cache.log")
        user = self.user
        # restart() appends to the same cache.log: only what follows counts.
        log_from = len(self.cache_log())

        def preexec():
            if user is not None:
                os.setgroups([])
                os.setgid(user.pw_gid)
                os.setuid(user.pw_uid)
            try:
                import ctypes
                ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PDEATHSIG
            except Exception:
                pass

        err = open(self.err_path, "ab")
        try:
            self.proc = subprocess.Popen(
                [exe, "-N", "-n", self.name, "-f", conf],
                stdin=subprocess.DEVNULL, stdout=err, stderr=err,
                preexec_fn=preexec, cwd=self.tmp)
        finally:
            err.close()
        harness._live.append(self.proc)
        deadline = time.monotonic() + self.start_timeout
        while True:
            if self.proc.poll() is not None:
                why = self.why()
                self._reap()
                raise HarnessError("squid exited %s at start: %s" %
                                   (self.proc.returncode, why))
            # Logged once the port listens; no probe connection, which
            # would count as a client connection in the access log.
            if "Accepting HTTP Socket connections" in \
                    self.cache_log()[log_from:]:
                return
            if time.monotonic() > deadline:
                why = self.why()
                self.stop()
                raise HarnessError("squid did not listen within %d s: %s" %
                                   (self.start_timeout, why))
            time.sleep(0.05)

    def _clear_shm(self):
        try:
            for n in os.listdir("/dev/shm"):
                if n.startswith(self.name + "-"):
                    os.unlink(os.path.join("/dev/shm", n))
        except OSError:
            pass

    def _reap(self):
        if self.proc in harness._live:
            harness._live.remove(self.proc)

    def stop(self):
        """SIGTERM (shutdown_lifetime 0), SIGKILL after 5 s."""
        p = self.proc
        if p is None:
            return None
        if p.poll() is None:
            try:
                p.send_signal(signal.SIGTERM)
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)
        self._reap()
        self._clear_shm()
        return p.returncode

    def kill(self):
        """SIGKILL: the parent dies without closing anything politely."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        self._reap()
        self._clear_shm()

    def restart(self):
        """Stop (if running) and start again on the same port; the logs
        go on in the same files."""
        self.stop()
        self.want_port = self.port
        self._start_once(squid_path())
        return self

    def cleanup(self):
        if self.tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        # SIGKILL: a polite stop takes Squid two seconds of shutdown ticks
        # even with shutdown_lifetime 0; the access log is written per
        # request (buffered_logs off), and the helpers exit at EOF.
        self.kill()
        self.cleanup()
        return False

    # ---- what it saw --------------------------------------------------------

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def cache_log(self):
        return harness._read(self.cache_path) if self.tmp else ""

    def why(self):
        text = harness._read(self.err_path) + self.cache_log()
        bad = [ln for ln in text.splitlines()
               if re.search(r"FATAL|ERROR|Bungled|cannot|in use", ln)]
        return " | ".join(bad[-4:]) or text.strip()[-600:]

    def access(self, n=0, timeout=5):
        """The parsed access lines, waiting (bounded) until there are at
        least n: Squid writes a line when a transaction ends, which may be
        just after the client got its last byte."""
        deadline = time.monotonic() + timeout
        while True:
            lines = [AccessLine(ln) for ln in
                     harness._read(self.access_path).splitlines()
                     if ln.strip()]
            if len(lines) >= n or time.monotonic() > deadline:
                return lines
            time.sleep(0.02)

    def client_ports(self, lines=None):
        """The distinct client TCP connections (address, port) that carried
        a request, in order of first appearance (Squid also logs a
        connection closed before any request, method "-"). A lower bound:
        at thousands of connections a second the kernel reuses ports."""
        seen = []
        for ln in (self.access() if lines is None else lines):
            if ln.method != "-" and ln.client not in seen:
                seen.append(ln.client)
        return seen

    def sequential_connections(self, lines=None):
        """For requests made one after another: how many times the client
        connection changed from one request line to the next, plus one.
        Unlike client_ports() it does not undercount when the kernel hands
        a closed connection's port to a later one."""
        n, last = 0, None
        for ln in (self.access() if lines is None else lines):
            if ln.method == "-":
                continue
            if ln.client != last:
                n += 1
                last = ln.client
        return n

    def users(self, lines=None):
        return [ln.user for ln in
                (self.access() if lines is None else lines)]


def _apr1(password):
    """An htpasswd apr1 hash of password (openssl passwd -apr1), for
    basic_ncsa_auth. The password goes on stdin, never on a command line."""
    exe = shutil.which("openssl")
    if exe is None:
        raise Skip("openssl is not installed (needed for basic_users)")
    p = subprocess.run([exe, "passwd", "-apr1", "-stdin"],
                       input=password.encode(), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=10)
    if p.returncode != 0:
        raise HarnessError("openssl passwd: %s" % p.stderr.decode().strip())
    return p.stdout.decode().strip()
