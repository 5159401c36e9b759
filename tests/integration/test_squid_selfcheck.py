#!/usr/bin/env python3
"""The Squid rig (squid.py) checked with curl, before any test trusts it
as a parent: NTLM and Basic handshakes, the 407 challenges, Range
stripping, keep-alive counting, refused users and a restart on the same
port. No wsus-shim here."""

import hashlib
import json
import os
import subprocess

from harness import Emu, check, run, make_file, tool, HarnessError
from common import tmpdir, tool_env, wu_url
from squid import Squid

ROOT = tmpdir("squid-selfcheck-root-")
FILE, FILE_SHA = make_file(ROOT, "f.bin", 70000, seed=11)
URL = wu_url("/f.bin")
NTLM_USER = "CORP\\svc-wsus"


def curl(sq, *args, urls=(URL,), out=True):
    """curl through sq; returns (list of "status" per URL, stdout bytes of
    the bodies when out, stderr text)."""
    argv = [tool("curl"), "-sS", "--max-time", "60", "-x", sq.url,
            "-w", "\\n%{http_code}\\n"] + list(args)
    for u in urls:
        if not out:
            argv += ["-o", "/dev/null"]
        argv.append(u)
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       env=tool_env(), timeout=120)
    text = p.stdout
    codes = [ln for ln in text.split(b"\n") if ln.strip()][-len(urls):]
    return [c.decode() for c in codes], text, p.stderr.decode("utf-8",
                                                               "replace")


def body_of(text):
    # One URL: the body, then "\n<status>\n" from -w.
    return text[:text.rstrip(b"\n").rfind(b"\n")]


def challenges(sq):
    p = subprocess.run([tool("curl"), "-sS", "-o", "/dev/null", "-D", "-",
                        "--max-time", "30", "-x", sq.url, URL],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       env=tool_env(), timeout=60)
    head = p.stdout.decode("latin-1")
    status = head.split("\r\n", 1)[0]
    return status, [ln.split(":", 1)[1].strip() for ln in head.split("\r\n")
                    if ln.lower().startswith("proxy-authenticate:")]


def test_ntlm_handshake_gets_200_and_names_the_user():
    with Emu(ROOT, "--nodelay") as up, Squid(up.port, auth="ntlm") as sq:
        codes, text, err = curl(sq, "--proxy-ntlm", "-U", NTLM_USER + ":pw")
        check(codes == ["200"], "codes %s: %s" % (codes, err))
        check(hashlib.sha1(body_of(text)).hexdigest() == FILE_SHA,
              "body differs")
        lines = sq.access(2)
        check([ln.status for ln in lines] == [407, 200],
              "squid saw %r" % lines)
        # ntlm_fake_auth copies the names one byte long (CORP\svc-wsus
        # arrives as CORPs\svc-wsusw from curl), so match the account.
        check(lines[1].user is not None and
              "svc-wsus" in lines[1].user.lower(),
              "user %r" % lines[1].user)
        check(len(sq.client_ports(lines)) == 1,
              "NTLM on %d connections" % len(sq.client_ports(lines)))


def test_basic_gets_200_and_names_the_user():
    with Emu(ROOT, "--nodelay") as up, Squid(up.port, auth="basic") as sq:
        codes, text, err = curl(sq, "--proxy-basic", "-U", "bob:anything")
        check(codes == ["200"], "codes %s: %s" % (codes, err))
        check(hashlib.sha1(body_of(text)).hexdigest() == FILE_SHA,
              "body differs")
        lines = sq.access(1)
        check([(ln.status, ln.user) for ln in lines] == [(200, "bob")],
              "squid saw %r" % lines)


def test_no_credentials_get_407_with_the_offered_schemes():
    with Emu(ROOT, "--nodelay") as up:
        for auth, want in (("ntlm", ["NTLM"]),
                           ("basic", ['Basic realm="wsus-itest"']),
                           ("both", ["NTLM", 'Basic realm="wsus-itest"'])):
            with Squid(up.port, auth=auth) as sq:
                status, chal = challenges(sq)
                check(" 407 " in status, "%s: %s" % (auth, status))
                check(chal == want, "%s: challenges %r" % (auth, chal))
        check(up.path_stats("/f.bin")["get"] == 0, "a 407 reached the origin")


def test_strip_range_gives_200_with_the_whole_body():
    with Emu(ROOT, "--nodelay") as up, \
            Squid(up.port, strip_range=True) as sq:
        codes, text, err = curl(sq, "-r", "100-199")
        check(codes == ["200"], "codes %s: %s" % (codes, err))
        check(hashlib.sha1(body_of(text)).hexdigest() == FILE_SHA,
              "not the whole body")
        log = up.log_lines()
        check(len(log) == 1 and log[0]["range"] is None,
              "origin saw %r" % log)
    # And without strip_range the same request is a 206 (the rig can fail).
    with Emu(ROOT, "--nodelay") as up, Squid(up.port) as sq:
        codes, text, err = curl(sq, "-r", "100-199")
        check(codes == ["206"], "codes %s: %s" % (codes, err))
        check(body_of(text) == open(FILE, "rb").read()[100:200],
              "206 bytes differ")


def test_100_requests_on_one_keepalive_connection_count_as_one():
    with Emu(ROOT, "--nodelay") as up, Squid(up.port, auth="ntlm") as sq:
        codes, _, err = curl(sq, "--proxy-ntlm", "-U", NTLM_USER + ":pw",
                             urls=[URL] * 100, out=False)
        check(codes == ["200"] * 100, "codes %s: %s" %
              (sorted(set(codes)), err))
        lines = sq.access(101)
        ok = [ln for ln in lines if ln.status == 200]
        check(len(ok) == 100, "%d 200s in squid's log" % len(ok))
        check(len(sq.client_ports(lines)) == 1, "%d client connections" %
              len(sq.client_ports(lines)))
        check(up.path_stats("/f.bin")["get"] == 100, "origin GETs %d" %
              up.path_stats("/f.bin")["get"])
    # The counter counts: separate curl runs are separate connections.
    with Emu(ROOT, "--nodelay") as up, Squid(up.port) as sq:
        for _ in range(3):
            codes, _, err = curl(sq, out=False)
            check(codes == ["200"], "codes %s: %s" % (codes, err))
        check(len(sq.client_ports(sq.access(3))) == 3, "%d connections" %
              len(sq.client_ports()))


def test_real_basic_check_and_denied_user():
    with Emu(ROOT, "--nodelay") as up, \
            Squid(up.port, auth="basic", basic_users={"bob": "right"},
                  deny_users=["mallory"]) as sq:
        for user, pw, want in (("bob", "right", "200"),
                               ("bob", "wrong", "407"),
                               ("mallory", "x", "407")):
            codes, _, err = curl(sq, "--proxy-basic", "-U", user + ":" + pw,
                                 out=False)
            check(codes == [want], "%s:%s got %s: %s" % (user, pw, codes,
                                                         err))
    with Emu(ROOT, "--nodelay") as up, \
            Squid(up.port, auth="basic", deny_users=["mallory"]) as sq:
        codes, _, _ = curl(sq, "--proxy-basic", "-U", "mallory:x", out=False)
        check(codes == ["407"], "fake auth, denied user: %s" % codes)
        codes, _, _ = curl(sq, "--proxy-basic", "-U", "bob:x", out=False)
        check(codes == ["200"], "fake auth, other user: %s" % codes)


def test_restart_keeps_the_port_and_the_log():
    with Emu(ROOT, "--nodelay") as up, Squid(up.port) as sq:
        port = sq.port
        check(curl(sq, out=False)[0] == ["200"], "before")
        # Squid logs a transaction when it ends, which can be after curl
        # has its last byte: a SIGKILL before that loses the line.
        check(len(sq.access(1)) == 1, "first line never logged")
        sq.kill()
        codes, _, _ = curl(sq, out=False)
        check(codes != ["200"], "answered while killed: %s" % codes)
        sq.restart()
        check(sq.port == port, "port moved")
        check(curl(sq, out=False)[0] == ["200"], "after restart")
        check(len([ln for ln in sq.access(2) if ln.status == 200]) == 2,
              "log %r" % sq.access())


def test_ntlm_post_reaches_the_origin_once():
    body = os.urandom(200000)
    d = tmpdir("squid-post-")
    with open(os.path.join(d, "body"), "wb") as f:
        f.write(body)
    with Emu(ROOT, "--nodelay") as up, Squid(up.port, auth="ntlm") as sq:
        codes, text, err = curl(sq, "--proxy-ntlm", "-U", NTLM_USER + ":pw",
                                "--data-binary", "@" + os.path.join(d, "body"),
                                urls=[wu_url("/echo/post")])
        check(codes == ["200"], "codes %s: %s" % (codes, err))
        j = json.loads(body_of(text))
        check(j["body_sha1"] == hashlib.sha1(body).hexdigest(),
              "origin got %d other bytes" % j["body_len"])
        check(up.path_stats("/echo/post")["other"] == 1, "POSTs at origin: "
              "%r" % up.path_stats("/echo/post"))


def test_anyauth_gets_ntlm_when_basic_knows_no_such_account():
    with Emu(ROOT, "--nodelay") as up, \
            Squid(up.port, auth="both", basic_users={"someone-else": "x"}) \
            as sq:
        codes, _, err = curl(sq, "--proxy-basic", "-U", NTLM_USER + ":pw",
                             out=False)
        check(codes == ["407"], "Basic: %s" % codes)
        codes, _, err = curl(sq, "--proxy-anyauth", "-U", NTLM_USER + ":pw",
                             out=False)
        check(codes == ["200"], "anyauth: %s: %s" % (codes, err))


def test_ntlm_connect_through_squid_and_its_parent():
    with Emu(ROOT, "--nodelay") as target, \
            Emu(ROOT, "--nodelay", "--connect") as up, \
            Squid(up.port, auth="ntlm") as sq:
        codes, text, err = curl(sq, "-p", "--proxy-ntlm", "-U",
                                NTLM_USER + ":pw", urls=[target.url("/f.bin")])
        check(codes == ["200"], "codes %s: %s" % (codes, err))
        check(hashlib.sha1(body_of(text)).hexdigest() == FILE_SHA,
              "tunnelled body differs")
        lines = [ln for ln in sq.access(2) if ln.method == "CONNECT"]
        check([ln.status for ln in lines][-1:] == [200], "squid %r" % lines)


def test_http10_is_refused_with_a_reason():
    try:
        Squid(1, http10=True)
    except HarnessError as e:
        check("HTTP/1.1 only" in str(e), "reason %s" % e)
    else:
        check(False, "http10=True accepted")


run([v for k, v in sorted(globals().items()) if k.startswith("test_")])
