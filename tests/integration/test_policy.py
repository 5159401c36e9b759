#!/usr/bin/env python3
"""Safety by default: client ACL, destination allowlist, CONNECT ports,
method rules, and the status page."""

import json

from harness import Emu, Shim, HttpConn, check, run, raw_request
from common import conf, tmpdir, get, wu_url, make_file

ROOT = tmpdir("policy-root-")
make_file(ROOT, "f.bin", 1000)


def test_client_outside_the_acl_is_refused():
    with Emu(ROOT) as up, \
            Shim(conf([up.port], extra={"listen": {"allow": "10.0.0.0/8"}})) \
            as s:
        try:
            out = raw_request(s.port, b"GET %s HTTP/1.1\r\nHost: x\r\n\r\n" %
                              wu_url("/f.bin").encode(), timeout=5)
        except ConnectionResetError:
            out = b""
        check(out == b"", "bytes sent to a refused client: %r" % out[:40])
        check(up.stats()["requests"] == 0, "forwarded")
        check("not in [listen] allow" in s.stderr_text(), "not logged")


def test_destination_outside_allow_hosts_gets_403():
    with Emu(ROOT) as up, Shim(conf([up.port])) as s, HttpConn(s.port) as c:
        for url in ("http://example.com/f.bin",
                    "http://evilwindowsupdate.com/f.bin"):
            r = get(c, url)
            check(r.status == 403, "%s: status %d" % (url, r.status))
        # The connection survives a refused request.
        r = get(c, wu_url("/f.bin"))
        check(r.status == 200, "status %d" % r.status)
        check(up.stats()["requests"] == 1, "a denied request was forwarded")


def test_connect_to_a_port_not_allowed_gets_403():
    with Shim(conf([])) as s:
        out = raw_request(s.port, b"CONNECT sws.update.microsoft.com:22 "
                          b"HTTP/1.1\r\nHost: sws.update.microsoft.com:22\r\n"
                          b"\r\n", timeout=5)
        check(out.startswith(b"HTTP/1.1 403 "), "got %r" % out[:40])


def test_connect_to_a_host_not_allowed_gets_403():
    with Shim(conf([])) as s:
        out = raw_request(s.port, b"CONNECT example.com:443 HTTP/1.1\r\n"
                          b"Host: example.com:443\r\n\r\n", timeout=5)
        check(out.startswith(b"HTTP/1.1 403 "), "got %r" % out[:40])


def test_other_methods_get_405():
    with Shim(conf([])) as s, HttpConn(s.port) as c:
        r = get(c, wu_url("/f.bin"), method="DELETE")
        check(r.status == 405, "status %d" % r.status)
        check("GET" in (r.header("Allow") or ""), "no Allow header")


def test_origin_form_request_is_not_proxied():
    with Shim(conf([])) as s:
        out = raw_request(s.port, b"GET /f.bin HTTP/1.1\r\nHost: "
                          b"au.download.windowsupdate.com\r\n\r\n", timeout=5)
        check(out.startswith(b"HTTP/1.1 400 "), "got %r" % out[:40])


def test_status_page():
    with Shim(conf([])) as s, HttpConn(s.port) as c:
        r = get(c, "http://wsus-shim.local/status")
        check(r.status == 200, "status %d" % r.status)
        j = json.loads(r.body)
        check("requests" in j and "connections" in j, "json %s" % j)


run([v for k, v in sorted(globals().items()) if k.startswith("test_")])
