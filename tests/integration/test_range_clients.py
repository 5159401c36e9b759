#!/usr/bin/env python3
"""Real range clients through the shim in cache mode, with the legacy
upstream (HTTP/1.0, Range ignored, close-delimited, HEAD without length):
aria2c with several connections, curl -r / -I, wget -c.
One behaviour per test.
"""

import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Emu, Shim, check, run, make_content_file, read_range,
                     sha1_file, tool, MIB)
from common import (conf, LEGACY, content_root, content_url, content_path,
                    scratch, tool_env)

ROOT, CDIR = content_root("range-clients-root-")
BIG_SIZE = 64 * MIB
BIG, BIG_NAME, BIG_SHA = make_content_file(
    CDIR, "windows10.0-kb5031356-x64", BIG_SIZE, seed=31)
SIZE = 2 * MIB + 999
FILE, NAME, SHA = make_content_file(CDIR, "ndp48-kb4486153", SIZE, seed=32,
                                    ext="exe")
URL = content_url(NAME)


def sh(argv, timeout=60):
    p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=timeout, env=tool_env())
    return p.returncode, p.stdout.decode("utf-8", "replace"), \
        p.stderr.decode("utf-8", "replace")


def curl(shim, *args):
    """curl through the shim; returns (rc, status, headers dict of the last
    response, body bytes)."""
    d = scratch("curl-")
    hdr, out = os.path.join(d, "h"), os.path.join(d, "o")
    rc, so, se = sh([tool("curl"), "-sS", "-x", "http://127.0.0.1:%d" %
                     shim.port, "--noproxy", "", "-D", hdr, "-o", out,
                     "--max-time", "30"] + list(args))
    text = open(hdr, "rb").read().decode("latin-1") if os.path.exists(hdr) \
        else ""
    # The last response head (curl may print interim ones first).
    heads = [h for h in re.split(r"\r?\n\r?\n", text) if h.strip()]
    status, fields = None, {}
    if heads:
        lines = heads[-1].splitlines()
        m = re.match(r"HTTP/\S+ (\d{3})", lines[0])
        status = int(m.group(1)) if m else None
        for ln in lines[1:]:
            k, _, v = ln.partition(":")
            fields.setdefault(k.strip().lower(), v.strip())
    body = open(out, "rb").read() if os.path.exists(out) else b""
    return rc, status, fields, body, se


def legacy_cache():
    up = Emu(ROOT, *LEGACY).start()
    s = Shim(conf([up.port], mode="cache")).start()
    return up, s


def test_aria2c_segmented_download_fetches_upstream_once():
    aria2c = tool("aria2c")
    d = scratch("aria2-")
    up, s = legacy_cache()
    try:
        rc, so, se = sh([aria2c, "--all-proxy=http://127.0.0.1:%d" % s.port,
                         "-x4", "-s4", "-k1M", "--allow-overwrite=true",
                         "--auto-file-renaming=false",
                         "--file-allocation=none",
                         "--max-tries=1", "--retry-wait=0",
                         "--connect-timeout=5", "--timeout=20",
                         "--summary-interval=0", "--console-log-level=warn",
                         "--no-conf=true", "-d", d, content_url(BIG_NAME)],
                        timeout=80)
        check(rc == 0, "aria2c exit %d: %s %s" % (rc, so[-800:], se[-800:]))
        out = os.path.join(d, BIG_NAME)
        check(os.path.exists(out), "no file: %s" % os.listdir(d))
        check(os.path.getsize(out) == BIG_SIZE, "size %d" %
              os.path.getsize(out))
        check(sha1_file(out) == BIG_SHA, "SHA-1 differs")
        st = up.path_stats(content_path(BIG_NAME))
        check(st["get"] == 1, "upstream served the body %d times (%s)" %
              (st["get"], st))
        check(st["bytes"] == BIG_SIZE, "upstream sent %d body bytes" %
              st["bytes"])
    finally:
        s.stop()
        s.cleanup()
        up.stop()


def test_curl_first_byte():
    up, s = legacy_cache()
    try:
        rc, status, h, body, se = curl(s, "-r", "0-0", URL)
        check(rc == 0, "curl exit %d: %s" % (rc, se))
        check(status == 206, "status %s" % status)
        check(h.get("content-range") == "bytes 0-0/%d" % SIZE,
              "Content-Range %r" % h.get("content-range"))
        check(h.get("content-length") == "1", "Content-Length %r" %
              h.get("content-length"))
        check(body == read_range(FILE, 0, 0), "body %r" % body[:16])
    finally:
        s.stop()
        up.stop()


def test_curl_suffix_range_gets_the_last_bytes():
    up, s = legacy_cache()
    try:
        rc, status, h, body, se = curl(s, "-r", "-500", URL)
        check(rc == 0, "curl exit %d: %s" % (rc, se))
        check(status == 206, "status %s" % status)
        check(h.get("content-range") == "bytes %d-%d/%d" %
              (SIZE - 500, SIZE - 1, SIZE), "Content-Range %r" %
              h.get("content-range"))
        check(h.get("content-length") == "500", "Content-Length %r" %
              h.get("content-length"))
        check(body == read_range(FILE, SIZE - 500, SIZE - 1), "wrong bytes")
    finally:
        s.stop()
        up.stop()


def test_curl_open_range_from_100():
    up, s = legacy_cache()
    try:
        rc, status, h, body, se = curl(s, "-r", "100-", URL)
        check(rc == 0, "curl exit %d: %s" % (rc, se))
        check(status == 206, "status %s" % status)
        check(h.get("content-range") == "bytes 100-%d/%d" % (SIZE - 1, SIZE),
              "Content-Range %r" % h.get("content-range"))
        check(h.get("content-length") == str(SIZE - 100),
              "Content-Length %r" % h.get("content-length"))
        check(body == read_range(FILE, 100, SIZE - 1), "wrong bytes")
    finally:
        s.stop()
        up.stop()


def test_curl_range_past_the_end_is_416():
    up, s = legacy_cache()
    try:
        rc, status, h, body, se = curl(s, "-r", "%d-%d" % (SIZE, SIZE + 99),
                                       URL)
        check(status == 416, "status %s (curl exit %d)" % (status, rc))
        check(h.get("content-range") == "bytes */%d" % SIZE,
              "Content-Range %r" % h.get("content-range"))
    finally:
        s.stop()
        up.stop()


def test_curl_head_gets_the_exact_length():
    up, s = legacy_cache()
    try:
        rc, status, h, body, se = curl(s, "-I", URL)
        check(rc == 0, "curl exit %d: %s" % (rc, se))
        check(status == 200, "status %s" % status)
        check(h.get("content-length") == str(SIZE), "Content-Length %r" %
              h.get("content-length"))
        check(h.get("accept-ranges") == "bytes", "Accept-Ranges %r" %
              h.get("accept-ranges"))
        check("transfer-encoding" not in h, "chunked HEAD")
    finally:
        s.stop()
        up.stop()


def test_wget_continue_completes_a_partial_file():
    wget = tool("wget")
    d = scratch("wget-")
    part = 700001
    with open(os.path.join(d, NAME), "wb") as f:
        f.write(read_range(FILE, 0, part - 1))
    up, s = legacy_cache()
    try:
        rc, so, se = sh([wget, "-c", "--no-config", "-S", "-t", "1",
                         "--progress=dot:giga",
                         "-T", "20", "-e", "use_proxy=yes", "-e",
                         "http_proxy=127.0.0.1:%d" % s.port, "-P", d, URL],
                        timeout=60)
        heads = " | ".join(ln.strip() for ln in se.splitlines()
                           if re.match(r"\s+(HTTP/|Content-)", ln))
        check(rc == 0, "wget exit %d: %s" % (rc, se[-1500:]))
        check(re.search(r"HTTP/1\.1 206", se), "no 206: %s" % heads)
        check(re.search(r"Content-Range: bytes %d-%d/%d" %
                        (part, SIZE - 1, SIZE), se),
              "Content-Range not bytes %d-%d/%d: %s" %
              (part, SIZE - 1, SIZE, heads))
        out = os.path.join(d, NAME)
        check(os.path.getsize(out) == SIZE, "size %d" % os.path.getsize(out))
        check(sha1_file(out) == SHA, "SHA-1 differs")
    finally:
        s.stop()
        up.stop()


run([v for k, v in sorted(globals().items()) if k.startswith("test_")])
