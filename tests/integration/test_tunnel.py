#!/usr/bin/env python3
"""CONNECT: tunnelled untouched, direct or through the parent's own
CONNECT (with the shim's credentials), with half-close."""

import socket

from harness import Emu, Shim, check, run, make_file
from common import conf, tmpdir

ROOT = tmpdir("tunnel-root-")
PATH, SHA = make_file(ROOT, "t.bin", 200000, seed=7)


def tunnel(shim_port, target, extra=b""):
    s = socket.create_connection(("127.0.0.1", shim_port), timeout=10)
    s.sendall(b"CONNECT %s HTTP/1.1\r\nHost: %s\r\n%s\r\n" %
              (target.encode(), target.encode(), extra))
    head = b""
    while b"\r\n\r\n" not in head:
        b = s.recv(1)
        if not b:
            break
        head += b
    return s, head


def fetch_through(s, half_close=True):
    s.sendall(b"GET /t.bin HTTP/1.0\r\nHost: x\r\n\r\n")
    if half_close:
        # The answer must still come after our half-close.
        s.shutdown(socket.SHUT_WR)
    data = b""
    while True:
        b = s.recv(65536)
        if not b:
            break
        data += b
    return data


def body_sha(data):
    import hashlib
    return hashlib.sha1(data.split(b"\r\n\r\n", 1)[1]).hexdigest()


def test_connect_direct():
    with Emu(ROOT) as target, Shim(conf(
            [], extra={"policy": {"connect_ports": str(target.port)}})) as sh:
        s, head = tunnel(sh.port, "127.0.0.1:%d" % target.port)
        check(head.startswith(b"HTTP/1.1 200 "), "head %r" % head)
        check(b"close" not in head.lower(), "Connection: close on 200")
        data = fetch_through(s)
        check(body_sha(data) == SHA, "tunnelled bytes differ")
        s.close()
        line = sh.wait_access_lines(1)[-1]
        check(" tunnel/200 " in line, "access line %s" % line)


def test_connect_through_parent_with_auth():
    with Emu(ROOT) as target, \
            Emu(ROOT, "--connect", "--auth", "u:p") as parent, \
            Shim(conf([parent.port], user="u", password="p", extra={
                "policy": {"connect_ports": str(target.port)}})) as sh:
        s, head = tunnel(sh.port, "127.0.0.1:%d" % target.port)
        check(head.startswith(b"HTTP/1.1 200 "), "head %r" % head)
        # upstream-emu's CONNECT pipe ends both ways on a half-close, so
        # this one relies on the target closing after its HTTP/1.0 answer.
        data = fetch_through(s, half_close=False)
        check(body_sha(data) == SHA, "tunnelled bytes differ")
        s.close()


def test_connect_refused_credentials_give_502():
    with Emu(ROOT) as target, \
            Emu(ROOT, "--connect", "--auth", "u:p") as parent, \
            Shim(conf([parent.port], user="u", password="bad", extra={
                "policy": {"connect_ports": str(target.port)}})) as sh:
        s, head = tunnel(sh.port, "127.0.0.1:%d" % target.port)
        check(head.startswith(b"HTTP/1.1 502 "), "head %r" % head)
        s.close()


run([v for k, v in sorted(globals().items()) if k.startswith("test_")])
