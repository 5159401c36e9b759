#!/usr/bin/env python3
"""make_corpus.py - write the seed corpora of the fuzz targets
(tests/fuzz/corpus/<target>/) from the unit-test vectors: the HTTP
messages of test_http_msg.c, the Proxy-Authenticate rows of test_auth.c,
the CHALLENGE_MESSAGEs of test_ntlm.c, the sample confs in conf/, the
requests of test_normalize.c, meta files as cache_meta_format writes
them, and the SqlServerName and connection-string rows of
tests/fixer/test_fixer_units.c.
Run from anywhere; rewrites the seed files it owns (seed-*)."""

import hashlib
import os
import re

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
LIT = re.compile(r'((?:"(?:[^"\\]|\\.)*"\s*)+)')
ONE = re.compile(r'"((?:[^"\\]|\\.)*)"')


def c_strings(path):
    """Every run of adjacent C string literals in path, decoded."""
    text = open(path, encoding="latin-1").read()
    out = []
    for m in LIT.finditer(text):
        raw = "".join(ONE.findall(m.group(1)))
        try:
            out.append(raw.encode("latin-1").decode("unicode_escape")
                       .encode("latin-1"))
        except (UnicodeDecodeError, UnicodeEncodeError):
            pass
    return out


def write(target, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    name = "seed-" + hashlib.sha1(data).hexdigest()[:16]
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def main():
    methods = (b"GET ", b"HEAD ", b"POST ", b"PUT ", b"CONNECT ",
               b"OPTIONS ", b"DELETE ", b"\r\n")
    for s in c_strings(os.path.join(TOP, "tests/unit/test_http_msg.c")):
        if s.startswith(methods):
            write("http_req", b"\x00\x05" + s)
            write("http_diff", s)
        elif s.startswith(b"HTTP/"):
            for flags in (0, 1, 4):
                write("http_resp", bytes([flags, 7]) + s)
    for s in c_strings(os.path.join(TOP, "tests/unit/test_auth.c")):
        if re.match(rb"(Negotiate|NTLM|Basic|Digest)", s, re.I):
            write("auth", s)
    write("auth", b"Negotiate, NTLM TlRM, Basic realm=x\nDigest realm=\"a\", "
          b"nonce=\"b\"\nBasic realm=\"a, b\", charset=UTF-8")
    for s in c_strings(os.path.join(TOP, "tests/unit/test_ntlm.c")):
        h = re.sub(rb"\s", b"", s)
        if h.lower().startswith(b"4e544c4d53535000") and \
                re.fullmatch(rb"[0-9a-fA-F]+", h) and len(h) % 2 == 0:
            write("ntlm", bytes.fromhex(h.decode()))
    for name in sorted(os.listdir(os.path.join(TOP, "conf"))):
        if name.endswith(".conf"):
            write("config", open(os.path.join(TOP, "conf", name),
                                 "rb").read())
    write("config", b"[listen]\nport = 8181\n[upstream]\nproxy = 127.0.0.1:"
          b"3128, 10.0.0.1:8080\n[policy]\nallow_hosts = *.windowsupdate."
          b"com\n[limits]\nmax_body = 16m\nheader_timeout = 30s\n")

    # fuzz_normalize: flags byte, body length byte, a request
    for s in c_strings(os.path.join(TOP, "tests/unit/test_normalize.c")):
        if s.startswith(methods) and b"\r\n\r\n" in s:
            for flags in (0, 1 | 2 | 4 | 16, 1 | 8 | 32 | 64):
                write("normalize", bytes([flags, 5]) + s)
    # fuzz_cache_meta: flags, url line, meta text (flag 1: the harness
    # appends the check line; flag 0: the text carries it)
    url = b"http://h/x_" + b"0123456789abcdef0123456789abcdef01234567" + \
        b".cab"
    body = (b"wsus-shim-cache 1\nurl " + url + b"\nlength 5368709120\n"
            b"sha1 0123456789abcdef0123456789abcdef01234567\n"
            b"etag \"abc-1\"\nlast-modified Tue, 01 Oct 2013 10:00:00 GMT\n"
            b"content-type application/octet-stream\nstored 1700000000\n")
    check = b"check " + hashlib.sha1(body).hexdigest().encode() + b"\n"
    write("cache_meta", b"\x01" + url + b"\n" + body)
    write("cache_meta", b"\x00" + url + b"\n" + body + check)
    write("cache_meta", b"\x01" + b"http://a/b\n" +
          body.replace(url, b"http://a/b").replace(b"etag \"abc-1\"",
                                                   b"etag "))
    # fuzz_fconf: the fixer's sample confs
    for name in sorted(os.listdir(os.path.join(TOP, "conf"))):
        if name.startswith("wsus-fixer"):
            write("fconf", open(os.path.join(TOP, "conf", name),
                                "rb").read())
    # fuzz_connstr: size byte, name NUL driver
    for name, drv in ((b"MICROSOFT##WID", b""), (b"MICROSOFT##SSEE", b""),
                      (b"SQL01\\INST", b"ODBC Driver 18 for SQL Server"),
                      (b"SQL01", b"D};X={"), (b"a;b", b"D")):
        write("connstr", b"\xff" + name + b"\x00" + drv)
    write("connstr", b"\x40Driver={x};Server=s;UID=u;PWD={p;w}}d};"
          b"Password=q;x")


main()
