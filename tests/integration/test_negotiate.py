#!/usr/bin/env python3
"""Negotiate (Kerberos) toward a real parent, with real parts only: a
throwaway MIT KDC on loopback (krb5rig.py), Debian's Squid with
negotiate_kerberos_auth (squid_negotiate.py) and upstream-emu as the
origin. gss-client (tests/tools/gss_client.c) drives auth.h's session API,
which is what the shim's fetch.c calls, and sends the value over a plain
loopback socket.

Each test gets its own realm, Squid and origin (harness.run kills what a
test started when it ends), then sets up the ticket cache it needs."""

import contextlib
import functools
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Emu, HttpConn, Shim, Skip, check, run  # noqa: E402
from common import conf, tunnel_get  # noqa: E402
from krb5rig import Krb5Rig  # noqa: E402
from squid_negotiate import SquidNegotiate  # noqa: E402

BODY = b"negotiated origin body\n"
ENV = {}


@contextlib.contextmanager
def _parts(ntlm=False):
    root = tempfile.mkdtemp(prefix="itest-negotiate-")
    with open(os.path.join(root, "hello.txt"), "wb") as f:
        f.write(BODY)
    try:
        with Krb5Rig() as k, Emu(root, "--connect") as up, \
                SquidNegotiate(k, ntlm=ntlm) as sq:
            ENV.update(rig=k, emu=up, squid=sq)
            try:
                yield
            finally:
                ENV.clear()
    finally:
        shutil.rmtree(root, ignore_errors=True)


def parts(fn):
    """Run the test with a fresh realm, origin and Squid parent in ENV."""
    @functools.wraps(fn)
    def wrapper():
        gss_client_path()
        with _parts():
            fn()
    return wrapper


def parts_ntlm(fn):
    """As parts, with a parent that offers Negotiate, then NTLM."""
    @functools.wraps(fn)
    def wrapper():
        with _parts(ntlm=True):
            fn()
    return wrapper


def gss_client_path():
    p = os.environ.get("WSUS_GSS_CLIENT")
    if not p or not os.access(p, os.X_OK):
        raise Skip("gss-client not built (WSUS_GSS_CLIENT unset)")
    return p


def client(*args, env=None):
    """Run gss-client against the Squid parent; returns (rc, lines)."""
    k, sq, up = ENV["rig"], ENV["squid"], ENV["emu"]
    argv = [gss_client_path(), "--port", str(sq.port),
            "--url", up.url("/hello.txt")] + [str(a) for a in args]
    p = subprocess.run(argv, env=env or k.child_env(),
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=60)
    out = p.stdout.decode("utf-8", "replace")
    return p.returncode, out.splitlines(), out + p.stderr.decode(
        "utf-8", "replace")


def conns(lines):
    """The "conn" lines as dicts."""
    out = []
    for l in lines:
        m = re.match(r"conn (\d+) status (-?\d+) reply (\d) last (\d) "
                     r"body (-?\d+) tokensha ([0-9a-f]{64})$", l)
        if m:
            out.append({"i": int(m.group(1)), "status": int(m.group(2)),
                        "reply": int(m.group(3)), "last": int(m.group(4)),
                        "body": int(m.group(5)), "sha": m.group(6)})
    return out


def no_secret_in(text):
    """Nothing that looks like a Negotiate token (base64 of an ASN.1
    SPNEGO NegTokenInit starts with "YII")."""
    check(not re.search(r"YII[A-Za-z0-9+/]{20,}", text),
          "a token leaked into output: %r" % text[:200])


def access_count():
    return len(ENV["squid"].access_lines())


@parts
def test_parent_demands_negotiate():
    """Without Proxy-Authorization Squid answers 407 offering Negotiate
    (the rig is what we think it is)."""
    import socket
    sq, up = ENV["squid"], ENV["emu"]
    s = socket.create_connection(("127.0.0.1", sq.port), 5)
    s.settimeout(10)
    try:
        s.sendall(("GET %s HTTP/1.1\r\nHost: origin\r\nConnection: close"
                   "\r\n\r\n" % up.url("/hello.txt")).encode())
        data = b""
        while len(data) < 1 << 20:
            b = s.recv(65536)
            if not b:
                break
            data += b
    finally:
        s.close()
    head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    check(head.startswith("HTTP/1.1 407"), head[:80])
    check(re.search(r"(?im)^Proxy-Authenticate: Negotiate\s*$", head),
          "no bare Negotiate challenge: %r" % head)


@parts
def test_ccache_token_gets_200():
    """With a TGT in the ccache: 200 from the origin with its body, and
    Squid logs the Kerberos user; the first leg completes nothing
    (SPNEGO waits for the acceptor's verdict), so sent_last stays 0."""
    k = ENV["rig"]
    k.kinit()
    n0 = access_count()
    rc, lines, out = client()
    check(rc == 0, out)
    check(lines[0] == "usable 1", out)
    c = conns(lines)
    check(len(c) == 1 and c[0]["status"] == 200, out)
    check(c[0]["body"] == len(BODY), out)
    check(c[0]["last"] == 0, "SPNEGO's first leg reported last: %s" % out)
    users = ENV["squid"].users(n0 + 1)[n0:]
    check(users == [k.user], "access.log users %r" % users)
    no_secret_in(out)


@parts
def test_two_connections_two_tokens():
    """Every connection gets a fresh context, hence a fresh token, and
    Squid (whose helper keeps a replay cache) accepts both."""
    k = ENV["rig"]
    k.kinit()
    n0 = access_count()
    rc, lines, out = client("--count", 3)
    check(rc == 0, out)
    c = conns(lines)
    check([x["status"] for x in c] == [200, 200, 200], out)
    shas = {x["sha"] for x in c}
    check(len(shas) == 3, "a token was sent twice: %s" % out)
    users = ENV["squid"].users(n0 + 3)[n0:]
    check(users == [k.user] * 3, "access.log users %r" % users)


@parts
def test_replayed_token_refused():
    """Why fresh contexts matter: the same value on a second connection
    is a replay, and Squid answers 407."""
    k = ENV["rig"]
    k.kinit()
    rc, lines, out = client("--count", 2, "--replay")
    check(rc == 0, out)
    c = conns(lines)
    check(len(c) == 2 and c[0]["sha"] == c[1]["sha"], out)
    check(c[0]["status"] == 200 and c[1]["status"] == 407, out)
    check("replay" in ENV["squid"].cache_log().lower(),
          "the helper did not report a replay")


@parts
def test_empty_ccache_fails_clearly():
    """No ticket: not usable, and a session fails at once with GSSAPI's
    own words naming the problem (and the cache it looked in)."""
    k = ENV["rig"]
    k.kdestroy()
    n0 = access_count()
    rc, lines, out = client()
    check(rc == 2, out)
    check(lines[0] == "usable 0", out)
    err = [l for l in lines if l.startswith("error: ")]
    check(len(err) == 1, out)
    e = err[0]
    check("Negotiate" in e and "No Kerberos credentials available" in e,
          e)
    check(k.ccache in e, "the error does not name the cache: %s" % e)
    check(access_count() == n0, "a request was sent without a token")


@parts
def test_keytab_without_ccache():
    """keytab + principal: no ticket cache at all (KRB5CCNAME points to a
    file that does not exist and stays absent); the TGT comes from the
    client keytab into the process's memory cache."""
    k = ENV["rig"]
    k.kdestroy()
    # In the rig's folder, which goes with the rig.
    gone = os.path.join(k.dir, "no-such-ccache")
    env = k.child_env(KRB5CCNAME="FILE:" + gone)
    n0 = access_count()
    as0 = k.kdc_log().count("AS_REQ")
    rc, lines, out = client("--keytab", k.user_keytab, "--principal",
                            k.user, "--count", 2, env=env)
    check(rc == 0, out)
    check(lines[0] == "usable 1", out)
    c = conns(lines)
    check([x["status"] for x in c] == [200, 200], out)
    check(c[0]["sha"] != c[1]["sha"], out)
    check(not os.path.exists(gone), "a ticket cache was written")
    check(not os.path.exists(k.ccache), "the rig's ccache was written")
    users = ENV["squid"].users(n0 + 2)[n0:]
    check(users == [k.user] * 2, "access.log users %r" % users)
    # One AS exchange for both connections: the memory cache kept the TGT.
    as_reqs = k.kdc_log().count("AS_REQ") - as0
    check(as_reqs == 1, "%d AS exchanges for two connections" % as_reqs)


@parts
def test_keytab_wrong_principal():
    """A principal the keytab does not hold: a clear error, no request."""
    k = ENV["rig"]
    k.kdestroy()
    rc, lines, out = client("--keytab", k.user_keytab, "--principal",
                            "bob@" + k.realm)
    check(rc == 2, out)
    e = [l for l in lines if l.startswith("error: ")][0]
    check("Negotiate" in e and "keytab" in e.lower(), e)
    # A keytab that is not there: named, with the system's reason.
    missing = os.path.join(k.dir, "missing.keytab")
    rc, lines, out = client("--keytab", missing, "--principal", k.user)
    check(rc == 2 and lines[0] == "usable 0", out)
    e = [l for l in lines if l.startswith("error: ")][0]
    check(missing in e and "No such file" in e, e)


@parts
def test_unknown_service_fails_clearly():
    """A parent name the KDC has no principal for: the KDC's answer in
    the error (an spn override is taken as written)."""
    k = ENV["rig"]
    k.kinit()
    rc, lines, out = client("--spn", "HTTP@nosuchparent.invalid")
    check(rc == 2, out)
    e = [l for l in lines if l.startswith("error: ")][0]
    check("gss_init_sec_context" in e and
          "not found in Kerberos database" in e, e)


@parts
def test_spn_principal_form():
    """spn as a Kerberos principal (HTTP/host@REALM) reaches the same
    service."""
    k = ENV["rig"]
    k.kinit()
    rc, lines, out = client("--spn", k.service)
    check(rc == 0, out)
    check(conns(lines)[0]["status"] == 200, out)


@parts
def test_address_is_no_principal():
    """A parent configured by address: refused before any KDC traffic,
    with the advice to use its name or spn."""
    k = ENV["rig"]
    k.kinit()
    for host in ("127.0.0.1", "::1", "[::1]"):
        rc, lines, out = client("--host", host)
        check(rc == 2, out)
        e = [l for l in lines if l.startswith("error: ")][0]
        check("is an address" in e and "spn" in e, e)


@contextlib.contextmanager
def _env(extra):
    """os.environ with extra on top while the block runs (the shim takes
    its environment from ours)."""
    saved = {k: os.environ.get(k) for k in extra}
    os.environ.update(extra)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@parts
def test_shim_through_negotiate_parent():
    """wsus-shim itself, auth = negotiate, parent "localhost": two GETs
    through the shim reach the origin via Squid, which logs the Kerberos
    user; the shim's logs hold no token."""
    k, sq, up = ENV["rig"], ENV["squid"], ENV["emu"]
    k.kinit()
    c = conf(["localhost:%d" % sq.port])
    c["upstream"]["auth"] = "negotiate"
    n0 = access_count()
    with _env(k.env), Shim(c) as s:
        with HttpConn(s.port, timeout=30) as h:
            for _ in range(2):
                h.request("GET", up.url("/hello.txt"), [])
                r = h.read_response()
                check(r.status == 200 and r.body == BODY,
                      "status %d: %s" % (r.status, s.stderr_text()[-600:]))
        logs = s.stderr_text() + s.stdout_text()
    users = [u for u in ENV["squid"].users(n0 + 1)[n0:] if u != "-"]
    check(users and set(users) == {k.user}, "access.log users %r" % users)
    no_secret_in(logs)


def shim_get(s, url, n=1):
    """n GETs on one client connection; the responses."""
    out = []
    with HttpConn(s.port, timeout=30) as h:
        for _ in range(n):
            h.request("GET", url, [])
            out.append(h.read_response())
    return out


@parts
def test_shim_without_a_ticket_gives_502_naming_negotiate():
    """auth = negotiate and an empty ticket cache: a 502 that names
    Negotiate, not a 407 passed on and not a hang."""
    k, up = ENV["rig"], ENV["emu"]
    c = conf(["localhost:%d" % ENV["squid"].port])
    c["upstream"]["auth"] = "negotiate"
    with _env(k.env), Shim(c) as s:
        r = shim_get(s, up.url("/hello.txt"))[0]
        check(r.status == 502, "status %d" % r.status)
        check(b"Negotiate" in r.body, "body %r" % r.body)
        log = s.stderr_text()
        check("held down" not in log, "a credential failure held down")


@parts_ntlm
def test_shim_falls_back_to_ntlm_without_a_ticket():
    """auth = auto, a parent offering Negotiate and NTLM, no ticket: the
    shim answers with NTLM and the request gets through."""
    k, up, sq = ENV["rig"], ENV["emu"], ENV["squid"]
    c = conf(["localhost:%d" % sq.port], user="CORP\\svc-wsus",
             password="pw")
    n0 = access_count()
    with _env(k.env), Shim(c) as s:
        rs = shim_get(s, up.url("/hello.txt"), 3)
        for r in rs:
            check(r.status == 200 and r.body == BODY,
                  "status %d: %s" % (r.status, s.stderr_text()[-600:]))
    users = [u for u in sq.users(n0 + 1)[n0:] if u != "-"]
    check(users and all("svc-wsus" in u.lower() for u in users),
          "access.log users %r" % users)


@parts_ntlm
def test_shim_prefers_negotiate_when_both_are_offered():
    """auth = auto with a ticket and NTLM credentials: Kerberos wins."""
    k, up, sq = ENV["rig"], ENV["emu"], ENV["squid"]
    k.kinit()
    c = conf(["localhost:%d" % sq.port], user="CORP\\svc-wsus",
             password="pw")
    n0 = access_count()
    with _env(k.env), Shim(c) as s:
        r = shim_get(s, up.url("/hello.txt"))[0]
        check(r.status == 200, "status %d" % r.status)
    users = [u for u in sq.users(n0 + 1)[n0:] if u != "-"]
    check(users and set(users) == {k.user}, "access.log users %r" % users)


@parts
def test_shim_ranges_and_connect_through_negotiate():
    """A ranged GET (206, exact bytes) and a CONNECT tunnel through the
    Negotiate parent."""
    k, up, sq = ENV["rig"], ENV["emu"], ENV["squid"]
    k.kinit()
    c = conf(["localhost:%d" % sq.port])
    c["upstream"]["auth"] = "negotiate"
    c["policy"]["connect_ports"] = str(up.port)
    with _env(k.env), Shim(c) as s:
        with HttpConn(s.port, timeout=30) as h:
            h.request("GET", up.url("/hello.txt"), [("Range", "bytes=3-9")])
            r = h.read_response()
            check(r.status == 206 and r.body == BODY[3:10],
                  "range: %d %r" % (r.status, r.body))
        head, data = tunnel_get(s.port, "127.0.0.1:%d" % up.port,
                                "/hello.txt")
        check(head.startswith(b"HTTP/1.1 200 "), "CONNECT %r" % head)
        check(data.endswith(BODY), "tunnelled %r" % data[-80:])


def probe_json(c, env):
    """wsus-shim probe --json with conf c; (exit code, the parent block)."""
    import json as _json
    import subprocess as _sp
    d = tempfile.mkdtemp(prefix="probe-nego-")
    path = os.path.join(d, "shim.conf")
    with open(path, "w") as f:
        for sect, keys in c.items():
            f.write("[%s]\n" % sect)
            for k, v in keys.items():
                f.write("%s = %s\n" % (k, str(v).replace("{tmp}", d)))
    e = dict(os.environ)
    e.update(env)
    p = _sp.run([os.environ["WSUS_SHIM"], "probe", "-c", path, "--json",
                 ENV["emu"].url("/hello.txt")], env=e, stdin=_sp.DEVNULL,
                stdout=_sp.PIPE, stderr=_sp.PIPE, timeout=120)
    shutil.rmtree(d, ignore_errors=True)
    out = p.stdout.decode("utf-8", "replace")
    return p.returncode, _json.loads(out)["parents"][0], out


@parts
def test_probe_reports_negotiate():
    """probe: with a ticket, Negotiate offered and passed; without one,
    failed with the GSSAPI reason; never a token in the output."""
    k, sq = ENV["rig"], ENV["squid"]
    c = conf(["localhost:%d" % sq.port])
    c["upstream"]["auth"] = "negotiate"
    k.kinit()
    rc, par, out = probe_json(c, k.env)
    a = par["auth"]
    check("Negotiate" in a["offered"] and
          a["results"].get("Negotiate") == "passed", "with a ticket %r" % a)
    no_secret_in(out)
    k.kdestroy()
    rc, par, out = probe_json(c, k.env)
    a = par["auth"]
    check(rc == 1 and a["results"].get("Negotiate") in ("failed",
                                                        "not usable"),
          "without a ticket rc %d %r" % (rc, a))
    no_secret_in(out)


def main():
    run([test_parent_demands_negotiate,
         test_ccache_token_gets_200,
         test_two_connections_two_tokens,
         test_replayed_token_refused,
         test_empty_ccache_fails_clearly,
         test_keytab_without_ccache,
         test_keytab_wrong_principal,
         test_unknown_service_fails_clearly,
         test_spn_principal_form,
         test_address_is_no_principal,
         test_shim_through_negotiate_parent,
         test_shim_without_a_ticket_gives_502_naming_negotiate,
         test_shim_falls_back_to_ntlm_without_a_ticket,
         test_shim_prefers_negotiate_when_both_are_offered,
         test_shim_ranges_and_connect_through_negotiate,
         test_probe_reports_negotiate])


if __name__ == "__main__":
    main()
