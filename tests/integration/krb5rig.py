"""krb5rig.py - a throwaway MIT Kerberos realm on loopback for the tests.

    with Krb5Rig() as k:
        k.env            KRB5_CONFIG, KRB5_KDC_PROFILE, KRB5CCNAME,
                         KRB5RCACHEDIR of the rig (merge into a child's env)
        k.realm          "WSUS.TEST"
        k.user           "alice@WSUS.TEST" (client), k.user_keytab
        k.service        "HTTP/localhost@WSUS.TEST", k.service_keytab
        k.kinit()        a TGT for alice into the rig's ccache
        k.add_password_principal(name, pw)   a client with a password
        k.kdestroy()     empty that ccache
        k.kdc_log()      the KDC's log text

The KDC (krb5kdc, kdb5_util, kadmin.local) is unpacked from Debian's
packages by tools/krb5-kdc.sh into a cache folder (WSUS_KRB5_CACHE, or
krb5-kdc/ next to the test's working folder), never installed: the
krb5-kdc package would write /etc/krb5.conf. Everything else lives in a
temporary folder of the rig: database, stash, krb5.conf, kdc.conf,
keytabs, ccache, replay caches and logs. Nothing reads /etc/krb5.conf,
because KRB5_CONFIG names the rig's own.

The parent's name is "localhost" (HTTP@127.0.0.1 is no principal), and
krb5.conf turns off DNS canonicalisation and reverse lookups, so the
service principal is exactly HTTP/localhost.

The KDC listens on a free loopback port (UDP and TCP) and is stopped, and
the folder removed, on exit; every wait is bounded.
"""

import os
import shutil
import socket
import subprocess
import tempfile
import time

from harness import HarnessError, Skip, _spawn, _stop

REALM = "WSUS.TEST"
MASTER_PASSWORD = "rig-master-not-a-secret"


def _src_root():
    return os.environ.get("WSUS_SRC") or os.path.dirname(
        os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


_kdc_root = None


def kdc_root():
    """Unpack (or reuse) the KDC binaries; returns the unpacked root (asked
    once per process)."""
    global _kdc_root
    if _kdc_root is not None:
        return _kdc_root
    cache = os.environ.get("WSUS_KRB5_CACHE") or os.path.join(
        os.getcwd(), "krb5-kdc")
    script = os.path.join(_src_root(), "tools", "krb5-kdc.sh")
    try:
        p = subprocess.run([script, cache], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=300)
    except subprocess.TimeoutExpired:
        raise Skip("tools/krb5-kdc.sh took over 300 s")
    if p.returncode != 0:
        raise Skip("tools/krb5-kdc.sh failed: %s" %
                   p.stderr.decode("utf-8", "replace").strip()[-300:])
    root = p.stdout.decode().strip().splitlines()[-1]
    if not os.access(os.path.join(root, "usr/sbin/krb5kdc"), os.X_OK):
        raise Skip("no krb5kdc under %s" % root)
    _kdc_root = root
    return root


def _free_port_both():
    """A loopback port free for both UDP and TCP right now."""
    for _ in range(50):
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            t.bind(("127.0.0.1", 0))
            port = t.getsockname()[1]
            try:
                u.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
        finally:
            t.close()
            u.close()
    raise HarnessError("no free loopback port for the KDC")


class Krb5Rig:
    """A KDC with a client (alice) and HTTP/localhost, keytabs for both."""

    def __init__(self, user="alice"):
        self.realm = REALM
        self.user = "%s@%s" % (user, REALM)
        self.service = "HTTP/localhost@%s" % REALM
        self.dir = None
        self.proc = None
        self.port = None
        self.env = {}

    # ---- set-up ----------------------------------------------------------

    def _write(self, name, text):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def _run(self, argv, timeout=60, what=None):
        env = dict(os.environ)
        env.update(self.env)
        try:
            p = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise HarnessError("%s took over %d s" % (what or argv[0],
                                                      timeout))
        if p.returncode != 0:
            raise HarnessError("%s failed (%d): %s" % (
                what or " ".join(argv), p.returncode,
                p.stdout.decode("utf-8", "replace")[-500:]))
        return p.stdout.decode("utf-8", "replace")

    def start(self):
        root = kdc_root()
        sbin = os.path.join(root, "usr/sbin")
        moddir = os.path.join(root, "usr/lib/x86_64-linux-gnu/krb5/plugins/kdb")
        if not os.path.isdir(moddir):
            cands = [os.path.join(dp) for dp, _, fs in os.walk(root)
                     if "db2.so" in fs]
            if not cands:
                raise Skip("no db2.so under %s" % root)
            moddir = cands[0]
        for tool in ("kinit", "kdestroy", "klist"):
            if shutil.which(tool) is None:
                raise Skip("%s missing (krb5-user)" % tool)
        self.dir = tempfile.mkdtemp(prefix="krb5rig-")
        # The parent (Squid drops to the proxy user when run as root) reads
        # krb5.conf from here; keytabs and the ccache stay mode 0600.
        os.chmod(self.dir, 0o755)
        self.port = _free_port_both()
        d = self.dir
        self.ccache = os.path.join(d, "ccache")
        self.user_keytab = os.path.join(d, "alice.keytab")
        self.service_keytab = os.path.join(d, "http.keytab")
        os.mkdir(os.path.join(d, "rcache"), 0o700)
        krb5_conf = self._write("krb5.conf", """\
[libdefaults]
    default_realm = {realm}
    dns_lookup_kdc = false
    dns_lookup_realm = false
    dns_canonicalize_hostname = false
    rdns = false
    ignore_acceptor_hostname = false
    udp_preference_limit = 1
    kdc_timeout = 3000
    max_retries = 2
[realms]
    {realm} = {{
        kdc = tcp/127.0.0.1:{port}
        kdc = 127.0.0.1:{port}
    }}
[domain_realm]
    localhost = {realm}
[dbmodules]
    db_module_dir = {moddir}
""".format(realm=REALM, port=self.port, moddir=moddir))
        kdc_conf = self._write("kdc.conf", """\
[kdcdefaults]
    kdc_listen = 127.0.0.1:{port}
    kdc_tcp_listen = 127.0.0.1:{port}
[realms]
    {realm} = {{
        database_name = {d}/principal
        key_stash_file = {d}/stash
        acl_file = {d}/kadm5.acl
        max_life = 10h 0m 0s
        max_renewable_life = 1d 0h 0m 0s
        supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal
    }}
[logging]
    kdc = FILE:{d}/kdc.log
    admin_server = FILE:{d}/kadmin.log
    default = FILE:{d}/krb5lib.log
""".format(realm=REALM, port=self.port, d=d))
        self._write("kadm5.acl", "")
        self.env = {
            "KRB5_CONFIG": krb5_conf,
            "KRB5_KDC_PROFILE": kdc_conf,
            "KRB5CCNAME": "FILE:" + self.ccache,
            "KRB5RCACHEDIR": os.path.join(d, "rcache"),
            # Nothing of the host's: no default client keytab, no trace.
            "KRB5_CLIENT_KTNAME": "FILE:" + os.path.join(d, "none.keytab"),
            "KRB5_KTNAME": "FILE:" + self.service_keytab,
        }
        try:
            self._run([os.path.join(sbin, "kdb5_util"), "create", "-s",
                       "-r", REALM, "-P", MASTER_PASSWORD],
                      what="kdb5_util create")
            kl = os.path.join(sbin, "kadmin.local")
            for q in ("addprinc -randkey %s" % self.user,
                      "addprinc -randkey %s" % self.service,
                      "ktadd -k %s %s" % (self.user_keytab, self.user),
                      "ktadd -k %s %s" % (self.service_keytab, self.service)):
                self._run([kl, "-r", REALM, "-q", q], what="kadmin.local " + q)
            self._start_kdc(sbin)
        except BaseException:
            self.stop()
            raise
        return self

    def _start_kdc(self, sbin):
        # The KDC finds its profile through the environment; _spawn takes
        # none, so set it around the call.
        saved = {k: os.environ.get(k) for k in self.env}
        os.environ.update(self.env)
        try:
            self.proc = _spawn([os.path.join(sbin, "krb5kdc"), "-n",
                                "-r", REALM,
                                "-P", os.path.join(self.dir, "kdc.pid")],
                               os.path.join(self.dir, "kdc.stdout"),
                               os.path.join(self.dir, "kdc.stderr"))
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        # Ready when it answers on TCP (bounded).
        deadline = time.monotonic() + 15
        while True:
            if self.proc.poll() is not None:
                raise HarnessError("krb5kdc exited with %s: %s" % (
                    self.proc.returncode, self.kdc_log()[-500:]))
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.5).close()
                break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise HarnessError("krb5kdc not listening within 15 s: %s" %
                                   self.kdc_log()[-500:])
            time.sleep(0.05)

    # ---- use -------------------------------------------------------------

    def add_password_principal(self, name, password):
        """A client principal name@REALM with a password (for SSPI's
        explicit credentials); returns the principal."""
        root = kdc_root()
        princ = "%s@%s" % (name, REALM)
        self._run([os.path.join(root, "usr/sbin/kadmin.local"), "-r", REALM,
                   "-q", "addprinc -pw %s %s" % (password, princ)],
                  what="kadmin.local addprinc " + princ)
        return princ

    def kinit(self):
        """A TGT for the user into the rig's ccache (from the user's
        keytab, so no password is typed anywhere)."""
        self._run(["kinit", "-k", "-t", self.user_keytab, self.user],
                  timeout=30)

    def kdestroy(self):
        if os.path.exists(self.ccache):
            self._run(["kdestroy", "-c", "FILE:" + self.ccache], timeout=30)

    def klist(self):
        return self._run(["klist", "-c", "FILE:" + self.ccache], timeout=30)

    def kdc_log(self):
        out = []
        for name in ("kdc.log", "kdc.stderr"):
            try:
                with open(os.path.join(self.dir, name), "rb") as f:
                    out.append(f.read().decode("utf-8", "replace"))
            except (FileNotFoundError, TypeError):
                pass
        return "".join(out)

    def child_env(self, **extra):
        """os.environ with the rig's variables (and extra) on top."""
        env = dict(os.environ)
        env.update(self.env)
        env.update(extra)
        return env

    # ---- tear-down -------------------------------------------------------

    def stop(self):
        if self.proc is not None:
            _stop(self.proc)
            self.proc = None
        if self.dir is not None and not os.environ.get("WSUS_KEEP_RIG"):
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False
