#!/usr/bin/env python3
"""NTLM against a strict acceptor: our NEGOTIATE and AUTHENTICATE messages
(proxy/ntlm.c through auth.h's NTLM mechanism, driven by ntlm-client) are
judged by gss-ntlmssp inside tests/tools/ntlm_proxy.py. The right password
and the right NT hash (no password) are accepted and the connection stays
authenticated; a wrong password, a wrong hash and an unknown user are
refused with a 407. Then the same through wsus-shim itself with the
parent as its upstream: 200 with the password or password_hash, 502 when
refused. The users file and the GSSAPI mech config are this test's own,
in a temporary folder."""

import os
import shutil
import signal
import subprocess
import sys
import threading
import time

import harness
from harness import HttpConn, Shim, Skip, check, run
from common import conf, get, tmpdir, wu_url

HERE = os.path.dirname(os.path.abspath(__file__))
PROXY = os.path.join(HERE, "..", "tools", "ntlm_proxy.py")
# [MS-NLMP] 4.2.2.1.2: the NT hash of "Password".
SPEC_HASH = "a4f49c406510bdcab6824ee7c30fd852"
USERS = ("TESTDOM:alice:Password\n"
         ":bob:Hunter2-without-domain\n"
         "TESTDOM:j\u00fcrgen:P\u00e4ssw\u00f6rd\u20ac\n"
         "CORP.EXAMPLE:carol:Realm-Pw3\n")
SECRETS = ("Password", "Hunter2", "P\u00e4ssw", "Realm-Pw3")


def client_path():
    p = harness._find_binary("WSUS_NTLM_CLIENT", "tests/tools/ntlm-client")
    if p is None:
        raise Skip("ntlm-client not built (WSUS_NTLM_CLIENT unset)")
    return p


def gssapi_python():
    """A Python that can import gssapi (python3-gssapi is a Debian
    package: /usr/bin/python3 has it even when another python3 runs us)."""
    for py in (sys.executable, "/usr/bin/python3"):
        if py and os.path.exists(py) and subprocess.run(
                [py, "-c", "import gssapi"], stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL, timeout=30).returncode == 0:
            return py
    raise Skip("python3-gssapi is not installed")


class NtlmProxy:
    def __init__(self):
        self.dir = tmpdir("ntlm-gss-")
        self.users = os.path.join(self.dir, "users")
        self.log = os.path.join(self.dir, "access.log")
        with open(self.users, "w", encoding="utf-8") as f:
            f.write(USERS)
        out = os.path.join(self.dir, "out")
        err = os.path.join(self.dir, "err")
        self.p = harness._spawn(
            [gssapi_python(), PROXY, "--users", self.users, "--log",
             self.log, "--lifetime", "120", "--timeout", "10"], out, err)
        m = harness._wait_for_line(self.p, [out], r"port (\d+)", 20,
                                   "ntlm_proxy.py")
        self.port = int(m.group(1))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        harness._stop(self.p)
        shutil.rmtree(self.dir, ignore_errors=True)

    def log_lines(self):
        try:
            with open(self.log, encoding="utf-8") as f:
                return f.read().splitlines()
        except FileNotFoundError:
            return []

    def client(self, user, *args):
        r = subprocess.run([client_path(), str(self.port), user] +
                           list(args), capture_output=True, timeout=60)
        return (r.returncode, r.stdout.decode(),
                r.stderr.decode("utf-8", "replace"))


def expect(px, rc, user, *args, statuses):
    got, out, err = px.client(user, *args)
    check(got == rc, "%s: exit %d, want %d (stdout %r, stderr %r, log %r)"
          % (user, got, rc, out, err, px.log_lines()))
    check(out.split("\n")[:-1] == ["status %d" % s for s in statuses],
          "%s: statuses %r" % (user, out))


def test_password_accepted():
    with NtlmProxy() as px:
        # 407 without credentials, 407 with the challenge, 200, and two
        # more 200s on the authenticated connection.
        expect(px, 0, "TESTDOM\\alice", "-p", "Password", "-n", "3",
               statuses=[407, 407, 200, 200, 200])
        ok = [l for l in px.log_lines() if l.startswith("OK ")]
        check(len(ok) == 3 and all(l.startswith("OK TESTDOM\\alice GET ")
                                   for l in ok), "log %r" % px.log_lines())


def test_nt_hash_accepted():
    with NtlmProxy() as px:
        expect(px, 0, "TESTDOM\\alice", "-H", SPEC_HASH,
               statuses=[407, 407, 200])
        check(px.log_lines()[-1].startswith("OK TESTDOM\\alice "),
              "log %r" % px.log_lines())


def test_user_without_domain():
    with NtlmProxy() as px:
        expect(px, 0, "bob", "-p", "Hunter2-without-domain",
               statuses=[407, 407, 200])


def test_realm_as_domain():
    # gss-ntlmssp splits a UPN itself and so refuses "carol@CORP.EXAMPLE"
    # sent whole (as Windows sends it); the realm as the domain passes.
    with NtlmProxy() as px:
        expect(px, 0, "CORP.EXAMPLE\\carol", "-p", "Realm-Pw3",
               statuses=[407, 407, 200])


def test_non_ascii_user_and_password():
    # UTF-16LE with an upper-cased u-umlaut in NTOWFv2, a euro sign
    # (three UTF-8 bytes) in the password.
    with NtlmProxy() as px:
        expect(px, 0, "TESTDOM\\j\u00fcrgen", "-p",
               "P\u00e4ssw\u00f6rd\u20ac", statuses=[407, 407, 200])


def test_wrong_credentials_refused():
    with NtlmProxy() as px:
        expect(px, 1, "TESTDOM\\alice", "-p", "password",
               statuses=[407, 407, 407])
        expect(px, 1, "TESTDOM\\alice", "-H",
               SPEC_HASH[:-1] + "3", statuses=[407, 407, 407])
        expect(px, 1, "TESTDOM\\mallory", "-p", "Password",
               statuses=[407, 407, 407])
        lines = px.log_lines()
        check(len(lines) == 3 and all(l.startswith("REFUSED ")
                                      for l in lines), "log %r" % lines)
        for s in SECRETS:
            check(all(s not in l for l in lines), "a secret in the log")


def shim_conf(px, auth, **cred):
    c = conf(parents=["127.0.0.1:%d" % px.port], http_version="1.1")
    c["upstream"]["auth"] = auth
    c["upstream"].update(cred)
    return c


def test_shim_password_auto():
    # auto: the parent offers NTLM only, so NTLM it is.
    with NtlmProxy() as px, \
            Shim(shim_conf(px, "auto", user="TESTDOM\\alice",
                           password="Password")) as s:
        conn = HttpConn(s.port)
        for i in range(3):
            r = get(conn, wu_url("/ntlm/%d" % i))
            check(r.status == 200 and r.body == b"ok TESTDOM\\alice\n",
                  "request %d: %s %r" % (i, r.status, r.body))
        conn.close()
        ok = [l for l in px.log_lines() if l.startswith("OK TESTDOM\\alice ")]
        check(len(ok) == 3, "log %r" % px.log_lines())
        check("Password" not in s.stderr_text(), "the password in the log")


def test_shim_password_hash():
    with NtlmProxy() as px, \
            Shim(shim_conf(px, "ntlm", user="TESTDOM\\alice",
                           password_hash=SPEC_HASH)) as s:
        conn = HttpConn(s.port)
        r = get(conn, wu_url("/ntlm/h"))
        conn.close()
        check(r.status == 200 and r.body == b"ok TESTDOM\\alice\n",
              "%s %r" % (r.status, r.body))
        check(SPEC_HASH not in s.stderr_text(), "the hash in the log")


def test_shim_refused():
    with NtlmProxy() as px, \
            Shim(shim_conf(px, "ntlm", user="TESTDOM\\alice",
                           password="Wrong-Password")) as s:
        conn = HttpConn(s.port)
        r = get(conn, wu_url("/ntlm/r"))
        conn.close()
        check(r.status == 502, "status %s" % r.status)
        check(any(l.startswith("REFUSED ") for l in px.log_lines()),
              "log %r" % px.log_lines())
        check("Wrong-Password" not in s.stderr_text() + r.body.decode(),
              "the password in the log or the answer")


def test_reload_retires_connections_authenticated_before_it():
    # A request in flight across a reload must not leave its connection,
    # authenticated with the old credentials, for the next request: after
    # the reload sets a wrong password, a new request gets a new
    # connection, a new handshake and the parent's refusal (502).
    with NtlmProxy() as px, \
            Shim(shim_conf(px, "ntlm", user="TESTDOM\\alice",
                           password="Password")) as s:
        slow = {}

        def long_request():
            with HttpConn(s.port, timeout=20) as c:
                slow["r"] = get(c, wu_url("/ntlm/slow/2"))
        t = threading.Thread(target=long_request)
        t.start()
        deadline = time.monotonic() + 10
        while not any("/slow/" in l for l in px.log_lines()) and \
                time.monotonic() < deadline:
            time.sleep(0.05)
        check(any("/slow/" in l for l in px.log_lines()),
              "the slow request never reached the parent: %r" %
              px.log_lines())
        text = open(s.conf_path).read().replace("Password", "Wrong-Password")
        with open(s.conf_path, "w") as f:
            f.write(text)
        s.signal(signal.SIGHUP)
        while "reloaded" not in s.stderr_text() and \
                time.monotonic() < deadline:
            time.sleep(0.05)
        check("reloaded" in s.stderr_text(), "no reload")
        t.join(20)
        r = slow.get("r")
        check(r is not None and r.status == 200 and
              r.body == b"ok TESTDOM\\alice\n",
              "the request in flight: %s" % r)
        with HttpConn(s.port) as c:
            r = get(c, wu_url("/ntlm/after"))
        check(r.status == 502, "after the reload: %s %r (log %r)" %
              (r.status, r.body, px.log_lines()))
        check(px.log_lines()[-1].startswith("REFUSED "),
              "log %r" % px.log_lines())
        check("Wrong-Password" not in s.stderr_text() + r.body.decode(),
              "the password in the log or the answer")


def test_shim_handshakes_again_when_the_parent_forgets():
    # A 407 on an authenticated connection: the shim runs a new handshake
    # (on that connection or a new one) and the client sees only the 200.
    with NtlmProxy() as px, \
            Shim(shim_conf(px, "ntlm", user="TESTDOM\\alice",
                           password="Password")) as s:
        with HttpConn(s.port) as c:
            for path in ("/ntlm/a", "/ntlm/reauth/b", "/ntlm/c"):
                r = get(c, wu_url(path))
                check(r.status == 200 and r.body == b"ok TESTDOM\\alice\n",
                      "%s: %s %r" % (path, r.status, r.body))
        lines = px.log_lines()
        check([l.split(" ")[0] for l in lines] == ["OK", "REAUTH", "OK", "OK"],
              "log %r" % lines)
        check(lines[2].endswith("/ntlm/reauth/b"), "log %r" % lines)


if __name__ == "__main__":
    run([test_password_accepted, test_nt_hash_accepted,
         test_user_without_domain, test_realm_as_domain,
         test_non_ascii_user_and_password,
         test_wrong_credentials_refused, test_shim_password_auto,
         test_shim_password_hash, test_shim_refused,
         test_reload_retires_connections_authenticated_before_it,
         test_shim_handshakes_again_when_the_parent_forgets])
