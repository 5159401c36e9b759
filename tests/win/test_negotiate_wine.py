#!/usr/bin/env python3
"""Negotiate through SSPI (proxy/auth_sspi.c) under Wine, against the same
real parts as tests/integration/test_negotiate.py: a throwaway MIT KDC on
loopback and Debian's Squid with negotiate_kerberos_auth, with the Linux
upstream-emu as the origin.

nego-token.exe (tests/win/nego_token.c) runs auth.h's session API under
Wine and prints the Proxy-Authorization values; the test sends each to
Squid over a loopback socket. Wine's Kerberos package is a thin layer over
the host's MIT libraries, so KRB5_CONFIG and KRB5CCNAME of the rig reach
it through the environment. What this proves and what it cannot is in
docs/windows.md ("Negotiate under Wine")."""

import atexit
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile

SRC = os.environ.get("WSUS_SRC") or os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(SRC, "tests", "integration"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import wine_util  # noqa: E402
from harness import Emu, Skip, check, run  # noqa: E402
from krb5rig import Krb5Rig  # noqa: E402
from squid_negotiate import SquidNegotiate  # noqa: E402

BODY = b"negotiated through wine\n"


def token_exe():
    p = os.environ.get("WSUS_NEGO_TOKEN_EXE")
    if not p or not os.path.isfile(p):
        raise Skip("WSUS_NEGO_TOKEN_EXE is not set to nego-token.exe")
    if not os.environ.get("WINEPREFIX"):
        raise Skip("WINEPREFIX is not set (tools/win/build.sh sets it)")
    return p


def nego_token(host, *args, env=None):
    """Run nego-token.exe under Wine; (rc, usable, values, errors)."""
    e = wine_util.wine_env()
    e.update(env or {})
    p = subprocess.run(["wine", token_exe(), host] + [str(a) for a in args],
                       env=e, stdin=subprocess.DEVNULL, capture_output=True,
                       text=True, errors="replace", timeout=180)
    lines = p.stdout.splitlines()
    usable = [l for l in lines if l.startswith("usable ")]
    values = [m.groups() for m in
              (re.match(r"value ((?:Negotiate|NTLM) \S+) last (\d)$", l)
               for l in lines)
              if m]
    errors = [l[len("error: "):] for l in lines if l.startswith("error: ")]
    return (p.returncode, usable[0] if usable else None, values, errors,
            p.stdout + p.stderr)


def send(port, url, value):
    """One request through Squid with Proxy-Authorization value; the
    status code."""
    s = socket.create_connection(("127.0.0.1", port), 5)
    s.settimeout(10)
    try:
        s.sendall(("GET %s HTTP/1.1\r\nHost: origin\r\nProxy-Authorization:"
                   " %s\r\nConnection: close\r\n\r\n" % (url, value))
                  .encode())
        data = b""
        while len(data) < 1 << 20:
            b = s.recv(65536)
            if not b:
                break
            data += b
    finally:
        s.close()
    m = re.match(rb"HTTP/1\.\d (\d{3})", data)
    return int(m.group(1)) if m else -1, data.split(b"\r\n\r\n", 1)[-1]


def origin_root():
    """A folder with /hello.txt, removed when the script exits."""
    root = tempfile.mkdtemp(prefix="wine-nego-root-")
    atexit.register(shutil.rmtree, root, True)
    with open(os.path.join(root, "hello.txt"), "wb") as f:
        f.write(BODY)
    return root


def test_no_ticket_clear_error():
    """No ticket cache: SSPI's Kerberos package has no credentials; the
    session fails with a message naming the call and the status."""
    d = tempfile.mkdtemp(prefix="wine-nego-")
    try:
        rc, usable, values, errors, out = nego_token(
            "proxy.invalid",
            env={"KRB5CCNAME": "FILE:" + os.path.join(d, "none"),
                 "KRB5_CONFIG": os.path.join(d, "none.conf")})
    finally:
        shutil.rmtree(d, ignore_errors=True)
    check(rc == 2 and usable == "usable 1" and not values, out)
    check(len(errors) == 1, out)
    e = errors[0]
    check(e.startswith("Negotiate: AcquireCredentialsHandle(Negotiate, own "
                       "logon)") and "(0x8009030e)" in e and
          "SEC_E_NO_CREDENTIALS" in e, e)


def test_address_refused():
    rc, _, values, errors, out = nego_token("127.0.0.1")
    check(rc == 2 and not values and len(errors) == 1, out)
    check("is an address" in errors[0], errors[0])


def test_kerberos_token_accepted_by_squid():
    """With the rig's ticket: two sessions give two different SPNEGO
    tokens for HTTP/localhost, and Squid answers 200 to each, logging the
    Kerberos user."""
    root = origin_root()
    token_exe()
    with Krb5Rig() as k, Emu(root) as up, SquidNegotiate(k) as sq:
        k.kinit()
        rc, usable, values, errors, out = nego_token("localhost", "--count",
                                                     2, env=k.env)
        check(rc == 0 and usable == "usable 1", out)
        check(len(values) == 2, out)
        check(values[0][0] != values[1][0], "the same token twice")
        for v, _last in values:
            check(v.startswith("Negotiate YII"), "not a SPNEGO token")
            st, body = send(sq.port, up.url("/hello.txt"), v)
            check(st == 200 and body == BODY, "status %d" % st)
        users = sq.users(2)
        check(users == [k.user] * 2, "access.log users %r" % users)
        check("HTTP/localhost@" + k.realm in k.klist(),
              "no service ticket in the cache")


def test_explicit_user_and_password():
    """user + password (no ticket cache at all): SSPI gets a TGT for that
    user from the KDC, Squid answers 200 and logs that user, for both
    DOMAIN\\user and user@REALM; a wrong password fails with a status and
    never echoes the password."""
    root = origin_root()
    token_exe()
    pw = "pw-of-bob-in-a-throwaway-realm"
    with Krb5Rig() as k, Emu(root) as up, SquidNegotiate(k) as sq:
        bob = k.add_password_principal("bob", pw)
        env = dict(k.env)
        for i, user in enumerate(("%s\\bob" % k.realm, bob)):
            # An empty cache each time. (Wine stores the TGT it gets from
            # the password in the Unix default cache; Windows keeps it in
            # the LSA.)
            env["KRB5CCNAME"] = "FILE:" + os.path.join(k.dir, "cc%d" % i)
            as0 = k.kdc_log().count("%s for krbtgt/" % bob)
            rc, usable, values, errors, out = nego_token(
                "localhost", "--user", user, "--password", pw, env=env)
            check(rc == 0 and usable == "usable 1" and len(values) == 1,
                  "%s: %s" % (user, out))
            check(k.kdc_log().count("%s for krbtgt/" % bob) == as0 + 1,
                  "%s: no AS exchange with the password" % user)
            st, body = send(sq.port, up.url("/hello.txt"), values[0][0])
            check(st == 200 and body == BODY, "%s: status %d" % (user, st))
        users = sq.users(2)
        check(users == [bob] * 2, "access.log users %r" % users)
        env["KRB5CCNAME"] = "FILE:" + os.path.join(k.dir, "cc-wrong")
        rc, _, values, errors, out = nego_token(
            "localhost", "--user", bob, "--password", "wrong-" + pw, env=env)
        check(rc == 2 and not values and len(errors) == 1, out)
        check(errors[0].startswith("Negotiate: ") and "(0x" in errors[0] and
              "bob" in errors[0], errors[0])
        check(pw not in out, "the password was echoed")


def test_unknown_service_clear_error():
    """A name the KDC does not know: an error with the status, not a
    token."""
    token_exe()
    with Krb5Rig() as k:
        k.kinit()
        rc, _, values, errors, out = nego_token("nosuchparent.invalid",
                                                env=k.env)
        check(rc == 2 and not values and len(errors) == 1, out)
        check(errors[0].startswith("Negotiate: InitializeSecurityContext"
                                   "(Negotiate): ") and "(0x8009" in
              errors[0], errors[0])


def test_ntlm_own_logon():
    """NTLM with no user is the process's own logon through SSPI's NTLM
    package: usable, and a session either starts with a NEGOTIATE message
    or fails naming the call, the package and the status (Wine has the
    package only through Samba's ntlm_auth and winbindd; a Windows host
    has it always). The parent's name is not needed: NTLM names no
    target."""
    token_exe()
    rc, usable, values, errors, out = nego_token("127.0.0.1", "--scheme",
                                                 "ntlm", "--count", 2)
    check(usable == "usable 1", out)
    if values:
        check(rc == 0 and len(values) == 2, out)
        for v, last in values:
            check(v.startswith("NTLM TlRMTVNTUAABAAAA") and last == "0", out)
    else:
        check(rc == 2 and len(errors) == 2, out)
        for e in errors:
            check(e.startswith("NTLM: AcquireCredentialsHandle(NTLM, own "
                               "logon): ") and "(0x8009" in e, e)
    # With a user, NTLM is the built-in NTLMv2 and needs a secret.
    rc, usable, values, errors, out = nego_token(
        "proxy.example", "--scheme", "ntlm", "--user", "CORP\\alice")
    check(usable == "usable 0" and rc == 2 and not values, out)
    check(errors and "NTLM needs user and password" in errors[0], out)


if __name__ == "__main__":
    run([test_no_ticket_clear_error,
         test_address_refused,
         test_kerberos_token_accepted_by_squid,
         test_explicit_user_and_password,
         test_unknown_service_clear_error,
         test_ntlm_own_logon])
