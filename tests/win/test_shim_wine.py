#!/usr/bin/env python3
"""wsus-shim.exe under Wine serving Linux clients on loopback.

    test_shim_wine.py GROUP...     run the named groups (see GROUPS below)

The Windows build of the shim runs as a console program
(`wine wsus-shim.exe -f -c CONF`) in the Wine prefix of the build
($WINEPREFIX). Its parent and origin is a Linux upstream-emu ($WSUS_EMU)
playing the legacy HTTP/1.0 proxy of DESIGN.md section 2: no Range,
close-delimited bodies, HEAD without a length. The clients are the real
`curl` and the harness's raw HTTP client (BITS-like walks). Every answer is
checked to the byte: status, Content-Length, Content-Range, SHA-1 of the
body, the plan of the access log line (cache-fill, cache-hit, head-synth,
tunnel, rejected) and the parent's /__stats (to prove the parent was not
asked again).

Paths in the conf are Windows paths: Wine maps the Unix root as drive Z:,
so /tmp/x is Z:\\tmp\\x. A plain /tmp/x works only while the current
folder is on Z: (a path starting with a slash is rooted on the current
drive); started from C:, Wine creates /tmp/x/cache through its Unix-path
fallback but FindFirstFile does not find it, and the cache fails to open.

The shim is stopped with SIGINT, which Wine turns into a console Ctrl+C:
the shim drains and exits 0. Every wait is bounded; every process started
here is stopped (SIGKILL as the last resort) and every temporary folder is
removed, the 4 GiB cache file of the large-file group included.
"""

import hashlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

SRC = os.environ.get("WSUS_SRC") or os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(SRC, "tests", "integration"))

import harness  # noqa: E402
import wine_util  # noqa: E402
from wine_util import win_path  # noqa: E402
from harness import (Emu, HttpConn, HarnessError, Skip, check, raw_request,  # noqa: E402,E501
                     make_content_file, make_sparse, read_range, run, tool,
                     MIB, GIB)
from common import (LEGACY, BITS_HEADERS, content_root, content_url,  # noqa: E402,E501
                    content_path, ranged, expect_206, get, scratch)

# Hosts the shim may reach: the Windows Update names (answered by the
# parent emulator) and the loopback emulators themselves.
ALLOW = "*.windowsupdate.com, *.update.microsoft.com, 127.0.0.1, localhost"
# Wine's first process in a prefix also starts wineserver and its
# services: allow for that before the banner.
LISTEN_TIMEOUT = 90
STOP_TIMEOUT = 30


def shim_exe():
    p = os.environ.get("WSUS_SHIM_EXE")
    if not p or not os.path.isfile(p):
        raise Skip("WSUS_SHIM_EXE is not set to the built wsus-shim.exe")
    return p


def wine_env():
    if not os.environ.get("WINEPREFIX"):
        raise Skip("WINEPREFIX is not set (tools/win/build.sh sets it)")
    return wine_util.wine_env()


class WineShim(harness.Shim):
    """wsus-shim.exe -f -c CONF under Wine, with its own temp folder.

    conf: {section: {key: value}}; "{tmp}" in a value is replaced by the
    Windows path of the temp folder. [listen] port = 0, the access log and
    a debug level are added unless given. cache_dir: a Linux folder for
    [cache] dir (kept across instances for restart tests), else {tmp}/cache.
    The log readers, cleanup and the context manager are harness.Shim's.
    """

    def __init__(self, conf, cache_dir=None):
        self.conf = conf
        self.cache_dir = cache_dir
        self.proc = None
        self.tmp = None
        self.port = None
        self.returncode = None

    def start(self):
        self.tmp = tempfile.mkdtemp(prefix="wine-shim-")
        conf = {s: dict(k) for s, k in self.conf.items()}
        conf.setdefault("listen", {}).setdefault("address", "127.0.0.1")
        conf["listen"].setdefault("port", "0")
        log = conf.setdefault("log", {})
        log.setdefault("level", "debug")
        log.setdefault("access_log", "{tmp}\\access.log")
        cache = conf.setdefault("cache", {})
        if self.cache_dir is not None:
            cache["dir"] = win_path(self.cache_dir)
        cache.setdefault("dir", "{tmp}\\cache")
        lines = []
        for sect, keys in conf.items():
            lines.append("[%s]" % sect)
            for k, v in keys.items():
                lines.append("%s = %s" % (k, str(v).replace(
                    "{tmp}", win_path(self.tmp))))
            lines.append("")
        self.conf_path = os.path.join(self.tmp, "wsus-shim.conf")
        self.access_path = os.path.join(self.tmp, "access.log")
        self.out_path = os.path.join(self.tmp, "stdout")
        self.err_path = os.path.join(self.tmp, "stderr")
        with open(self.conf_path, "w") as f:
            f.write("\r\n".join(lines))
        argv = ["wine", shim_exe(), "-f", "-c", win_path(self.conf_path)]
        out = open(self.out_path, "wb")
        err = open(self.err_path, "wb")
        try:
            self.proc = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                cwd=self.tmp, env=wine_env(),
                preexec_fn=harness._die_with_parent)
        finally:
            out.close()
            err.close()
        harness._live.append(self.proc)
        try:
            m = harness._wait_for_line(self.proc, [self.out_path],
                                       r"listening on 127\.0\.0\.1:(\d+)",
                                       LISTEN_TIMEOUT, "wsus-shim.exe")
        except HarnessError as e:
            err = self.stderr_text()
            self.stop()
            self.cleanup()
            raise HarnessError("%s; stderr:\n%s" % (e, err))
        self.port = int(m.group(1))
        return self

    def plans(self, n, timeout=10):
        """(plan, status) of the first n access-log lines (bounded wait)."""
        out = []
        for line in self.wait_access_lines(n, timeout)[:n]:
            f = line.split()
            plan, _, status = f[3].rpartition("/")
            out.append((plan, status))
        check(len(out) == n, "%d access-log lines, want %d:\n%s" %
              (len(out), n, "\n".join(self.access_lines())))
        return out

    def stop(self):
        """Ctrl+C (SIGINT): drain and exit; SIGKILL after STOP_TIMEOUT.
        Returns the exit code (negative when killed)."""
        p = self.proc
        if p is None:
            return self.returncode
        if p.poll() is None:
            try:
                p.send_signal(signal.SIGINT)
                p.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(10)
        if p in harness._live:
            harness._live.remove(p)
        self.returncode = p.returncode
        self.proc = None
        return self.returncode

def shim_conf(parent_port=None, mode="cache", extra=None):
    """A conf dict: the emulator as an HTTP/1.0 parent (or direct)."""
    d = {
        "upstream": {"http_version": "1.0"},
        "policy": {"allow_hosts": ALLOW},
        "limits": {"drain_timeout": "2s"},
        "range": {"mode": mode},
    }
    if parent_port is not None:
        d["upstream"]["proxy"] = "127.0.0.1:%d" % parent_port
    for sect, keys in (extra or {}).items():
        d.setdefault(sect, {}).update(keys)
    return d


def stopped_cleanly(s):
    rc = s.stop()
    check(rc == 0, "wsus-shim.exe exited with %r after Ctrl+C; stderr:\n%s" %
          (rc, s.stderr_text()[-2000:]))
    check("wsus-shim stopped" in s.stderr_text(), "no drain on Ctrl+C")


def upstream_gets(up, path):
    return up.path_stats(path)["get"]


def curl(port, url, out, rng=None, head=False, timeout=120):
    """The real curl through the shim. Returns (http_code, headers text)."""
    hdr = out + ".headers"
    argv = [tool("curl"), "-sS", "--max-time", str(timeout), "-x",
            "http://127.0.0.1:%d" % port, "-o", out, "-D", hdr,
            "-w", "%{http_code}"]
    if rng is not None:
        argv += ["-r", rng]
    if head:
        argv += ["-I"]
    argv.append(url)
    env = {k: v for k, v in os.environ.items()
           if "proxy" not in k.lower()}
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=timeout + 10, env=env)
    check(p.returncode == 0, "curl exited %d: %s" %
          (p.returncode, p.stderr.decode(errors="replace")))
    with open(hdr, "rb") as f:
        heads = f.read().decode("latin-1")
    return int(p.stdout.decode()), heads


def header_of(heads, name):
    """The value of a field in curl's -D output (last response)."""
    block = heads.strip().split("\r\n\r\n")[-1]
    for line in block.split("\r\n"):
        k, sep, v = line.partition(":")
        if sep and k.strip().lower() == name.lower():
            return v.strip()
    return None


def sha1_of(path):
    return harness.sha1_file(path)


# ---- content shared by the small-file groups -------------------------------

ROOT, CDIR = content_root("wine-shim-root-")
SIZE = 5 * MIB + 4321
FILE, NAME, SHA = make_content_file(CDIR, "windows10.0-kb5034441-x64", SIZE,
                                    seed=71)
URL = content_url(NAME)


# ---- groups -----------------------------------------------------------------


def test_curl_download_through_legacy_parent():
    """A whole file through a legacy 1.0 parent without Range: curl gets
    the exact bytes with an exact Content-Length; one upstream GET."""
    out = os.path.join(scratch("wine-curl-"), "body")
    with Emu(ROOT, *LEGACY) as up, WineShim(shim_conf(up.port)) as s:
        code, heads = curl(s.port, URL, out)
        check(code == 200, "status %d" % code)
        check(header_of(heads, "Content-Length") == str(SIZE),
              "Content-Length %r, want %d" %
              (header_of(heads, "Content-Length"), SIZE))
        check(header_of(heads, "Transfer-Encoding") is None,
              "chunked answer to a content GET")
        check(os.path.getsize(out) == SIZE, "%d bytes" %
              os.path.getsize(out))
        check(sha1_of(out) == SHA, "body SHA-1 differs")
        check(s.plans(1) == [("cache-fill", "200")], "plan %r" % s.plans(1))
        check(upstream_gets(up, content_path(NAME)) == 1,
              "upstream GETs %d" % upstream_gets(up, content_path(NAME)))
        stopped_cleanly(s)


def test_curl_ranges_from_cache_and_after_restart():
    """curl -r ranges answered from the cache, then by a new shim process
    from the cache on disk; the parent is not asked again."""
    cache = scratch("wine-cache-")
    work = scratch("wine-curl-")
    rngs = [(0, 4874), (4875, 11546), (SIZE - 500, SIZE - 1),
            (3 * MIB - 7, 3 * MIB + 9)]
    with Emu(ROOT, *LEGACY) as up:
        with WineShim(shim_conf(up.port), cache_dir=cache) as s:
            code, _ = curl(s.port, URL, os.path.join(work, "whole"))
            check(code == 200, "status %d" % code)
            for i, (a, b) in enumerate(rngs):
                out = os.path.join(work, "r%d" % i)
                code, heads = curl(s.port, URL, out, rng="%d-%d" % (a, b))
                check_curl_206(code, heads, out, a, b)
            plans = s.plans(1 + len(rngs))
            check(plans[0] == ("cache-fill", "200"), "plans %r" % plans)
            check(all(p == ("cache-hit", "206") for p in plans[1:]),
                  "plans %r" % plans)
            stopped_cleanly(s)
        before = up.stats()
        check(before["by_path"][content_path(NAME)]["get"] == 1,
              "upstream stats %r" % before)
        with WineShim(shim_conf(up.port), cache_dir=cache) as s:
            for i, (a, b) in enumerate(reversed(rngs)):
                out = os.path.join(work, "again%d" % i)
                code, heads = curl(s.port, URL, out, rng="%d-%d" % (a, b))
                check_curl_206(code, heads, out, a, b)
            code, heads = curl(s.port, URL, os.path.join(work, "w2"))
            check(code == 200 and sha1_of(os.path.join(work, "w2")) == SHA,
                  "whole file after restart: %d" % code)
            plans = s.plans(len(rngs) + 1)
            check(plans == [("cache-hit", "206")] * len(rngs) +
                  [("cache-hit", "200")], "plans %r" % plans)
            stopped_cleanly(s)
        after = up.stats()
        check(after["requests"] == before["requests"],
              "the parent was asked again after the restart: %r -> %r" %
              (before["requests"], after["requests"]))


def check_curl_206(code, heads, out, a, b):
    what = "curl -r %d-%d" % (a, b)
    check(code == 206, "%s: status %d" % (what, code))
    want = "bytes %d-%d/%d" % (a, b, SIZE)
    check(header_of(heads, "Content-Range") == want, "%s: Content-Range %r,"
          " want %r" % (what, header_of(heads, "Content-Range"), want))
    check(header_of(heads, "Content-Length") == str(b - a + 1),
          "%s: Content-Length %r" % (what, header_of(heads, "Content-Length")))
    with open(out, "rb") as f:
        got = f.read()
    check(got == read_range(FILE, a, b), "%s: wrong bytes (%d)" %
          (what, len(got)))


def test_bits_walk_head_then_1mib_ranges():
    """BITS: HEAD (the parent gives no length: learnt by a fill), then
    consecutive 1 MiB ranges on one connection, each an exact 206 with
    the same validators; one upstream GET in all."""
    root, cdir = content_root("wine-bits-root-")
    size = 7 * MIB + 99
    path, name, sha = make_content_file(cdir, "windows6.1-kb2533552-x64",
                                        size, seed=72, ext="msu")
    url = content_url(name)
    with Emu(root, *LEGACY) as up, WineShim(shim_conf(up.port)) as s, \
            HttpConn(s.port, timeout=60) as c:
        h = get(c, url, headers=BITS_HEADERS, method="HEAD")
        check(h.status == 200, "HEAD status %d" % h.status)
        check(h.header("Content-Length") == str(size), "HEAD Content-Length"
              " %r, want %d" % (h.header("Content-Length"), size))
        validators = None
        a, n = 0, 0
        while a < size:
            b = min(a + MIB - 1, size - 1)
            r = ranged(c, url, "bytes=%d-%d" % (a, b), headers=BITS_HEADERS)
            expect_206(r, a, b, size, path, "piece %d" % n)
            v = (r.header("ETag"), r.header("Last-Modified"))
            if validators is None:
                validators = v
            check(v == validators, "piece %d: validators %r, first %r" %
                  (n, v, validators))
            a, n = b + 1, n + 1
        plans = s.plans(1 + n)
        check(plans[0] == ("head-synth", "200"), "HEAD plan %r" % (plans[0],))
        check(all(p == ("cache-hit", "206") for p in plans[1:]),
              "plans %r" % plans)
        check(upstream_gets(up, content_path(name)) == 1, "upstream GETs %d"
              % upstream_gets(up, content_path(name)))
        stopped_cleanly(s)


def test_connect_tunnel():
    """CONNECT to an allowed host:port is tunnelled untouched (with a
    half-close from the client); a port outside connect_ports gets 403."""
    with Emu(ROOT) as target, WineShim(shim_conf(None, mode="pass", extra={
            "policy": {"connect_ports": str(target.port)}})) as s:
        sock = socket.create_connection(("127.0.0.1", s.port), timeout=30)
        try:
            t = "127.0.0.1:%d" % target.port
            sock.sendall(b"CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n" %
                         (t.encode(), t.encode()))
            head = b""
            while b"\r\n\r\n" not in head:
                ch = sock.recv(1)
                check(ch != b"", "closed in the CONNECT answer: %r" % head)
                head += ch
            check(head.startswith(b"HTTP/1.1 200 "), "head %r" % head)
            sock.sendall(b"GET %s HTTP/1.0\r\nHost: x\r\n\r\n" %
                         content_path(NAME).encode())
            sock.shutdown(socket.SHUT_WR)
            data = bytearray()
            while True:
                b = sock.recv(1 << 16)
                if not b:
                    break
                data += b
        finally:
            sock.close()
        head, _, body = bytes(data).partition(b"\r\n\r\n")
        check(head.startswith(b"HTTP/1.") and b" 200 " in head.split(
            b"\r\n")[0], "tunnelled head %r" % head[:200])
        check(hashlib.sha1(body).hexdigest() == SHA,
              "tunnelled body: %d bytes, SHA-1 differs" % len(body))
        r = raw_request(s.port, b"CONNECT 127.0.0.1:1 HTTP/1.1\r\n"
                        b"Host: 127.0.0.1:1\r\n\r\n", timeout=30)
        check(r.startswith(b"HTTP/1.1 403 "), "CONNECT to a port not "
              "allowed: %r" % r[:200])
        plans = s.plans(2)
        check(plans == [("tunnel", "200"), ("denied", "403")],
              "plans %r" % plans)
        stopped_cleanly(s)


MALFORMED = [
    (b"GET http://127.0.0.1/x HTTP/1.1\r\nHost: 127.0.0.1\r\n"
     b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
     "Content-Length with Transfer-Encoding"),
    (b"GET http://127.0.0.1/x HTTP/1.1\r\nHost: 127.0.0.1\r\n"
     b"X-Folded: a\r\n b\r\n\r\n", "obs-fold"),
    (b"GET http://127.0.0.1/x HTTP/1.1\r\nHost: 127.0.0.1\r\n"
     b"Content-Length: 1\r\nContent-Length: 2\r\n\r\nab", "two lengths"),
    (b"GET\x01 / HTTP/1.1\r\n\r\n", "control character in the method"),
]


def test_malformed_requests_get_400():
    """Malformed requests get a 400 with a text/plain reason and the
    request id of the access-log line; nothing reaches the parent."""
    with Emu(ROOT, *LEGACY) as up, \
            WineShim(shim_conf(up.port, mode="pass")) as s:
        for i, (req, what) in enumerate(MALFORMED):
            r = raw_request(s.port, req, timeout=30)
            head, _, body = bytes(r).partition(b"\r\n\r\n")
            check(head.startswith(b"HTTP/1.1 400 "), "%s: %r" %
                  (what, bytes(r)[:200]))
            check(re.search(rb"(?im)^content-type: text/plain", head),
                  "%s: not text/plain: %r" % (what, head))
            m = re.search(rb"(?im)^content-length: (\d+)\r?$", head)
            check(m is not None and int(m.group(1)) == len(body),
                  "%s: Content-Length %r for %d body bytes" %
                  (what, m and m.group(1), len(body)))
            lines = s.wait_access_lines(i + 1, 10)
            check(len(lines) == i + 1, "%s: no access-log line" % what)
            f = lines[i].split()
            check(f[3] == "rejected/400", "%s: access line %s" %
                  (what, lines[i]))
            check(f[-1].encode() in body, "%s: request id %s not in %r" %
                  (what, f[-1], body))
        check(up.stats()["requests"] == 0, "a malformed request reached "
              "the parent: %r" % up.stats())
        stopped_cleanly(s)


def chunked(body, size):
    out = bytearray()
    for i in range(0, len(body), size):
        piece = body[i:i + size]
        out += b"%x\r\n" % len(piece) + piece + b"\r\n"
    return bytes(out + b"0\r\n\r\n")


def test_large_chunked_body_is_spooled_and_sent_with_a_length():
    """A 3 MiB chunked request body for an HTTP/1.0 parent that refuses
    chunked: the shim spools it to a temporary file (body_memory 64K) and
    sends it with a Content-Length; the parent echoes its exact SHA-1."""
    import json
    body = os.urandom(3 * MIB + 11)
    url = "http://au.download.windowsupdate.com/echo/spool"
    with Emu(ROOT, "--http10", "--refuse-chunked") as up, \
            WineShim(shim_conf(up.port, mode="pass", extra={"limits": {
                "body_memory": "64K", "max_body": "8M"}})) as s, \
            HttpConn(s.port, timeout=60) as c:
        c.send(b"POST %s HTTP/1.1\r\nHost: au.download.windowsupdate.com\r\n"
               b"Transfer-Encoding: chunked\r\n\r\n" % url.encode() +
               chunked(body, 65536))
        r = c.read_response()
        check(r.status == 200, "status %d: %r" % (r.status, r.body[:200]))
        j = json.loads(r.body)
        check(j["body_len"] == len(body), "the parent got %d bytes, want %d"
              % (j["body_len"], len(body)))
        check(j["body_sha1"] == hashlib.sha1(body).hexdigest(),
              "the parent got other bytes")
        fields = {k.lower(): v for k, v in j["headers"]}
        check(fields.get("content-length") == str(len(body)),
              "Content-Length sent %r" % fields.get("content-length"))
        check("transfer-encoding" not in fields, "chunked sent upstream")
        stopped_cleanly(s)


def test_cut_fill_is_never_complete_nor_committed():
    """The parent resets the connection after 1 MiB of a 5 MiB file: the
    client never gets a complete answer, and nothing is committed; a new
    shim on the same cache folder with a healthy parent fills afresh."""
    cache = scratch("wine-cut-cache-")
    cut = MIB + 17
    with Emu(ROOT, "--http10", "--no-range", "--reset-after", cut) as bad:
        with WineShim(shim_conf(bad.port), cache_dir=cache) as s:
            c = HttpConn(s.port, timeout=60)
            try:
                r = ranged(c, URL, None, headers=BITS_HEADERS)
                complete = r
            except (harness.Truncated, HarnessError, OSError):
                complete = None
            finally:
                c.close()
            check(complete is None or complete.status >= 500,
                  "a cut body answered as complete: %r" % (complete,))
            lines = s.wait_access_lines(1, 10)
            check(len(lines) == 1, "access log %r" % lines)
            # A fill keeps its plan in the access log when it is cut; the
            # bytes sent tell the cut, and the diagnostics say "aborted".
            check(int(lines[0].split()[4]) < SIZE, "access log %r" % lines)
            check(re.search(r"aborted: ", s.stderr_text()) is not None or
                  complete is not None, "no abort logged:\n%s" %
                  s.stderr_text()[-2000:])
            stopped_cleanly(s)
    left = cache_files(cache)
    check(not [f for f in left if f.endswith(".data")],
          "a cut fill left data in the cache: %r" % left)
    with Emu(ROOT, *LEGACY) as good, \
            WineShim(shim_conf(good.port), cache_dir=cache) as s, \
            HttpConn(s.port, timeout=60) as c:
        r = ranged(c, URL, "bytes=%d-%d" % (cut - 10, cut + 10),
                   headers=BITS_HEADERS)
        expect_206(r, cut - 10, cut + 10, SIZE, FILE, "after the cut")
        check(s.plans(1) == [("cache-fill", "206")], "plan %r" % s.plans(1))
        stopped_cleanly(s)


# ---- cache files that a client still reads --------------------------------

OPEN_SIZE = 48 * MIB + 5


def stalled_reader(port, url, headers=()):
    """A client that asks for url, reads the head and 1 MiB, then stops
    reading: the shim keeps the cache file open behind it. Returns the
    connection, the response head and the bytes read so far."""
    c = HttpConn(port, timeout=60)
    c.request("GET", url, headers=list(headers), host=url.split("/")[2])
    r = c.read_response(head_only=True)
    check(r.status == 200, "stalled reader: status %d" % r.status)
    got = bytearray()
    while len(got) < MIB:
        b = c._take(MIB - len(got))
        check(b != b"", "stalled reader: eof after %d bytes" % len(got))
        got += b
    return c, r, got


def finish_reader(c, r, got, sha, size):
    """Read the rest of the stalled reader's body; check all of it."""
    n = int(r.header("Content-Length"))
    check(n == size, "stalled reader: Content-Length %d, want %d" % (n, size))
    h = hashlib.sha1(got)
    left = n - len(got)
    while left:
        b = c._take(min(left, 1 << 20))
        check(b != b"", "stalled reader: eof with %d bytes left" % left)
        h.update(b)
        left -= len(b)
    check(h.hexdigest() == sha, "stalled reader: body SHA-1 differs")
    c.close()


def cache_files(cache):
    """The names of the files in the cache folder, below its subfolders."""
    out = []
    for dp, _, fs in os.walk(cache):
        out += [os.path.relpath(os.path.join(dp, f), cache) for f in fs]
    return sorted(out)


def wait_cache_files(cache, want, timeout=10):
    """Poll until the cache folder holds exactly want (bounded)."""
    deadline = time.monotonic() + timeout
    while True:
        got = cache_files(cache)
        if got == want or time.monotonic() > deadline:
            return got
        time.sleep(0.1)


def entry_files(cache):
    return [f for f in cache_files(cache) if f.endswith((".data", ".meta"))]


def test_evicting_an_entry_a_client_still_reads():
    """Cache cap of two files' worth minus one: a second file is committed
    while a client still reads the first. The first is not evicted under
    its reader (nor the second, newer one): it goes once the reader is
    done. The reader gets its whole body, the new file is cached, and
    once the reader is gone no file of the evicted entry is left in the
    cache folder."""
    root, cdir = content_root("wine-evict-root-")
    p1, n1, sha1 = make_content_file(cdir, "evict-one", OPEN_SIZE, seed=81)
    p2, n2, sha2 = make_content_file(cdir, "evict-two", OPEN_SIZE, seed=82)
    cache = scratch("wine-evict-cache-")
    conf = shim_conf(None, extra={"cache": {"max_size": "80M"}})
    with Emu(root, *LEGACY) as up:
        conf["upstream"]["proxy"] = "127.0.0.1:%d" % up.port
        with WineShim(conf, cache_dir=cache) as s:
            with HttpConn(s.port, timeout=60) as c:
                r = get(c, content_url(n1), headers=BITS_HEADERS)
                check(r.status == 200 and r.body_sha1 == sha1,
                      "first fill: %d" % r.status)
            one = entry_files(cache)
            check(len(one) == 2, "cache files after one fill: %r" % one)
            rc, rr, got = stalled_reader(s.port, content_url(n1),
                                         BITS_HEADERS)
            with HttpConn(s.port, timeout=60) as c:
                r = get(c, content_url(n2), headers=BITS_HEADERS)
                check(r.status == 200 and r.body_sha1 == sha2,
                      "second fill: status %d, %d bytes" %
                      (r.status, r.body_len))
            finish_reader(rc, rr, got, sha1, OPEN_SIZE)
            two = [f for f in entry_files(cache) if f not in one]
            check(len(two) == 2, "files of the second entry: %r" %
                  cache_files(cache))
            left = wait_cache_files(cache, two)
            check(left == two, "after the reader left, the cache folder "
                  "holds %r, want only %r" % (left, two))
            plans = s.plans(3)
            check(plans == [("cache-fill", "200"), ("cache-hit", "200"),
                            ("cache-fill", "200")], "plans %r" % plans)
            # The evicted file is fetched and cached again.
            with HttpConn(s.port, timeout=60) as c:
                r = get(c, content_url(n1), headers=BITS_HEADERS)
                check(r.status == 200 and r.body_sha1 == sha1,
                      "refill: %d" % r.status)
            check(s.plans(4)[3] == ("cache-fill", "200"), "refill plan %r" %
                  (s.plans(4)[3],))
            check(len(entry_files(cache)) == 2, "after the refill: %r" %
                  cache_files(cache))
            stopped_cleanly(s)
        check(upstream_gets(up, content_path(n1)) == 2, "upstream GETs of "
              "the evicted file: %d" % upstream_gets(up, content_path(n1)))


def test_replacing_a_stale_entry_a_client_still_reads():
    """An unnamed file (no SHA-1 in its name) goes stale after
    unnamed_max_age: the next request fetches it again and the new copy
    replaces the old entry while a client still reads the old one. Both
    clients get the whole body and one entry is left in the folder."""
    root = scratch("wine-stale-root-")
    path, sha = harness.make_file(os.path.join(root, "misc"),
                                  "authrootstl.cab", OPEN_SIZE, seed=83)
    url = "http://au.download.windowsupdate.com/misc/authrootstl.cab"
    cache = scratch("wine-stale-cache-")
    conf = shim_conf(None, extra={"cache": {"unnamed_max_age": "3s"}})
    with Emu(root, *LEGACY) as up:
        conf["upstream"]["proxy"] = "127.0.0.1:%d" % up.port
        with WineShim(conf, cache_dir=cache) as s:
            with HttpConn(s.port, timeout=60) as c:
                r = get(c, url, headers=BITS_HEADERS)
                check(r.status == 200 and r.body_sha1 == sha,
                      "first fill: %d" % r.status)
            one = entry_files(cache)
            check(len(one) == 2, "cache files after one fill: %r" % one)
            rc, rr, got = stalled_reader(s.port, url, BITS_HEADERS)
            time.sleep(4.0)                 # the entry is stale now
            with HttpConn(s.port, timeout=60) as c:
                r = get(c, url, headers=BITS_HEADERS)
                check(r.status == 200, "refetch while the old copy is read: "
                      "status %d: %r" % (r.status, r.body[:200]))
                check(r.body_sha1 == sha, "refetch: %d bytes, SHA-1 differs"
                      % r.body_len)
            finish_reader(rc, rr, got, sha, OPEN_SIZE)
            left = wait_cache_files(cache, one)
            check(left == one, "after the reader left, the cache folder "
                  "holds %r, want %r" % (left, one))
            plans = s.plans(3)
            check(plans == [("cache-fill", "200"), ("cache-hit", "200"),
                            ("cache-fill", "200")], "plans %r" % plans)
            stopped_cleanly(s)
        check(up.path_stats("/misc/authrootstl.cab")["get"] == 2,
              "upstream GETs %r" % up.path_stats("/misc/authrootstl.cab"))


# ---- above 4 GiB ------------------------------------------------------------

BIG_TOTAL = 4 * GIB + MIB + 7                         # 4296015879
BIG_MARKS = {0: b"START-OF-FILE", 2 * GIB - 4: b"<2GiB|>2GiB",
             4 * GIB - 5: b"<4GiB|>4GiB", 4 * GIB + 300: b"PAST-4GIB",
             BIG_TOTAL - 9: b"END-MARK!"}
# Room for the cache file (the whole entity) plus slack.
BIG_FREE_NEEDED = 6 * GIB


def big_expected(a, b):
    out = bytearray(b - a + 1)
    for off, data in BIG_MARKS.items():
        for i, ch in enumerate(data):
            if a <= off + i <= b:
                out[off + i - a] = ch
    return bytes(out)


def make_big(dir):
    """The sparse origin file, named after its SHA-1 (so the shim verifies
    4 GiB + 1 MiB + 7 bytes before it commits the entry)."""
    tmp = make_sparse(dir, "big.tmp", BIG_TOTAL, BIG_MARKS)
    sha = harness.sha1_file(tmp)
    name = "windows10.0-kb5005565-x64-ndp48_%s.cab" % sha
    os.replace(tmp, os.path.join(dir, name))
    return name, sha


def big_range(c, url, a, b, timeout):
    """A BITS ranged GET; the body is read only when the head promises the
    asked length (a wrong 200 would be 4 GiB)."""
    c.timeout = timeout
    rng = "bytes=%d-%d" % (a, b)
    c.request("GET", url, headers=list(BITS_HEADERS) + [("Range", rng)],
              host=url.split("/")[2])
    r = c.read_response(head_only=True)
    want_cr = "bytes %d-%d/%d" % (a, b, BIG_TOTAL)
    check(r.status == 206, "%s: status %d (Content-Length %r)" %
          (rng, r.status, r.header("Content-Length")))
    check(r.header("Content-Range") == want_cr, "%s: Content-Range %r, want "
          "%r" % (rng, r.header("Content-Range"), want_cr))
    check(r.header("Content-Length") == str(b - a + 1), "%s: Content-Length"
          " %r" % (rng, r.header("Content-Length")))
    # Streamed and compared piece by piece: a 2 GiB range is not kept.
    pos = a
    while pos <= b:
        chunk = c._take(min(b + 1 - pos, 4 * MIB))
        check(chunk != b"", "%s: eof after %d of %d bytes" %
              (rng, pos - a, b - a + 1))
        end = pos + len(chunk) - 1
        check(chunk == big_expected(pos, end), "%s: wrong bytes at %d-%d" %
              (rng, pos, end))
        pos = end + 1
    return r


BIG_RANGES = [
    (4 * GIB - 8, 4 * GIB + 8),                    # across 4 GiB
    (4 * GIB - MIB // 2, 4 * GIB + MIB // 2 - 1),  # 1 MiB across 4 GiB
    (4 * GIB, 4 * GIB + MIB - 1),                  # BITS piece at 4 GiB
    (4 * GIB + 290, 4 * GIB + 320),                # above 4 GiB
    (BIG_TOTAL - MIB, BIG_TOTAL - 1),              # the last 1 MiB
    (BIG_TOTAL - 9, BIG_TOTAL - 1),                # the last 9 bytes
    (2 * GIB - 8, 2 * GIB + 8),                    # across 2 GiB
    (0, 4874),                                     # the start
    # A 2 GiB piece (BITS fetches big files in 2 GiB ranges even in the
    # foreground) across 4 GiB to the end: one mapped view above 4 GiB.
    (BIG_TOTAL - 2 * GIB, BIG_TOTAL - 1),
]


def test_file_above_4gib_served_from_the_cache():
    """A 4 GiB + 1 MiB + 7 sparse file behind a legacy parent (no Range,
    close-delimited, HEAD without length): the first range waits for the
    fill (SHA-1 verified, committed), then ranges near, across and above
    4 GiB and at the end are exact 206s from the cache, HEAD gives the
    64-bit length, past-the-end is 416, and a restarted shim serves the
    same ranges from the cache on disk without asking the parent."""
    work = scratch("wine-big-")
    st = os.statvfs(work)
    free = st.f_bavail * st.f_frsize
    if free < BIG_FREE_NEEDED:
        raise Skip("%.1f GiB free in %s, %d GiB needed" %
                   (free / GIB, work, BIG_FREE_NEEDED // GIB))
    root = os.path.join(work, "root")
    cache = os.path.join(work, "cache")
    t0 = time.monotonic()
    name, sha = make_big(os.path.join(root, "c"))
    url = "http://au.download.windowsupdate.com/c/" + name
    print("large: origin file and its SHA-1 in %.1fs" %
          (time.monotonic() - t0), flush=True)
    try:
        with Emu(root, *LEGACY) as up:
            with WineShim(shim_conf(up.port), cache_dir=cache) as s, \
                    HttpConn(s.port, timeout=240) as c:
                t1 = time.monotonic()
                big_range(c, url, BIG_RANGES[0][0], BIG_RANGES[0][1], 240)
                print("large: fill of %d bytes under Wine and the first range"
                      " in %.1fs" % (BIG_TOTAL, time.monotonic() - t1),
                      flush=True)
                for a, b in BIG_RANGES[1:]:
                    big_range(c, url, a, b, 60)
                h = get(c, url, headers=BITS_HEADERS, method="HEAD")
                check(h.status == 200 and h.header("Content-Length") ==
                      str(BIG_TOTAL), "HEAD %d Content-Length %r" %
                      (h.status, h.header("Content-Length")))
                c.request("GET", url, headers=list(BITS_HEADERS) + [
                    ("Range", "bytes=%d-" % BIG_TOTAL)],
                    host=url.split("/")[2])
                r = c.read_response()
                check(r.status == 416, "past the end: status %d" % r.status)
                check(r.header("Content-Range") == "bytes */%d" % BIG_TOTAL,
                      "416 Content-Range %r" % r.header("Content-Range"))
                plans = s.plans(len(BIG_RANGES) + 2)
                check(plans[0] == ("cache-fill", "206"), "plans %r" % plans)
                check(all(p[0] == "cache-hit" for p in plans[1:]),
                      "plans %r" % plans)
                stopped_cleanly(s)
            before = up.stats()
            check(before["by_path"]["/c/" + name]["get"] == 1,
                  "upstream %r" % before["by_path"])
            check(before["by_path"]["/c/" + name]["bytes"] == BIG_TOTAL,
                  "upstream sent %r" % before["by_path"])
            data = [os.path.join(dp, f) for dp, _, fs in os.walk(cache)
                    for f in fs if f.endswith(".data")]
            check(len(data) == 1 and os.path.getsize(data[0]) == BIG_TOTAL,
                  "cache files %r" % [(d, os.path.getsize(d)) for d in data])
            t2 = time.monotonic()
            with WineShim(shim_conf(up.port), cache_dir=cache) as s, \
                    HttpConn(s.port, timeout=60) as c:
                for a, b in reversed(BIG_RANGES):
                    big_range(c, url, a, b, 60)
                plans = s.plans(len(BIG_RANGES))
                check(plans == [("cache-hit", "206")] * len(BIG_RANGES),
                      "after restart: plans %r" % plans)
                stopped_cleanly(s)
            print("large: restart and %d ranges from the cache on disk in "
                  "%.1fs" % (len(BIG_RANGES), time.monotonic() - t2),
                  flush=True)
            after = up.stats()
            check(after["requests"] == before["requests"],
                  "the parent was asked again after the restart")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def test_ranges_above_4gib_pass_and_slice():
    """Without the cache: ranges of a sparse 4 GiB + 1 MiB + 7 file passed
    from an origin that honours Range (direct), and a slice near the start
    through a parent that ignores Range. 64-bit Content-Range both ways."""
    work = scratch("wine-big-pass-")
    path = make_sparse(os.path.join(work, "c"), "big-pass.cab", BIG_TOTAL,
                       BIG_MARKS)
    del path
    url_path = "/c/big-pass.cab"
    with Emu(work) as origin, \
            WineShim(shim_conf(None, mode="pass")) as s, \
            HttpConn(s.port, timeout=60) as c:
        url = origin.url(url_path)
        for a, b in BIG_RANGES:
            big_range(c, url, a, b, 60)
        h = get(c, url, method="HEAD")
        check(h.status == 200 and h.header("Content-Length") ==
              str(BIG_TOTAL), "HEAD %d Content-Length %r" %
              (h.status, h.header("Content-Length")))
        plans = s.plans(len(BIG_RANGES) + 1)
        check(all(p[0] == "pass" for p in plans), "plans %r" % plans)
        stopped_cleanly(s)
    with Emu(work, "--http10", "--no-range") as up, \
            WineShim(shim_conf(up.port, mode="slice")) as s, \
            HttpConn(s.port, timeout=60) as c:
        big_range(c, "http://au.download.windowsupdate.com" + url_path, 990,
                  5085, 60)
        check(s.plans(1) == [("slice", "206")], "plan %r" % s.plans(1))
        stopped_cleanly(s)


def test_logs_rotate_by_size():
    """[log] rotate_size on Windows, which has no logrotate: the log and
    the access log are closed, renamed to .1, .2 (MoveFileEx) and opened
    afresh, while the shim serves; no access line is lost."""
    n = 300
    extra = {"log": {"file": "{tmp}\\shim.log", "rotate_size": "16K",
                     "rotate_keep": "9"}}
    with Emu(ROOT, *LEGACY) as up, \
            WineShim(shim_conf(up.port, mode="pass", extra=extra)) as s, \
            HttpConn(s.port, timeout=60) as c:
        for i in range(n):
            c.request("GET", "http://127.0.0.1:%d/missing-%d" % (up.port, i),
                      host="127.0.0.1:%d" % up.port)
            r = c.read_response()
            check(r.status == 404, "request %d: %d" % (i, r.status))
        acc = s.access_path
        files = [acc] + ["%s.%d" % (acc, k) for k in range(1, 10)
                         if os.path.exists("%s.%d" % (acc, k))]
        check(len(files) >= 3, "access log files %r" % files)
        seen = []
        for p in reversed(files):
            with open(p, "rb") as f:
                data = f.read()
            if p != acc:
                check(16384 <= len(data) < 16384 + 2400,
                      "%s: %d bytes" % (p, len(data)))
            seen += [int(x) for x in re.findall(rb"/missing-(\d+) ", data)]
        check(seen == list(range(n)), "access lines lost or out of order: "
              "%d of %d" % (len(seen), n))
        log = os.path.join(s.tmp, "shim.log")
        check(os.path.exists(log + ".1"), "the diagnostics log did not rotate")
        rc = s.stop()
        with open(log, errors="replace") as f:
            text = f.read()
        check(rc == 0 and "wsus-shim stopped" in text,
              "exit %r; no drain at the end of %s: %r" % (rc, log, text[-600:]))


GROUPS = {
    "curl_download": test_curl_download_through_legacy_parent,
    "cache_ranges_restart": test_curl_ranges_from_cache_and_after_restart,
    "bits_walk": test_bits_walk_head_then_1mib_ranges,
    "tunnel": test_connect_tunnel,
    "malformed": test_malformed_requests_get_400,
    "spool": test_large_chunked_body_is_spooled_and_sent_with_a_length,
    "cut_fill": test_cut_fill_is_never_complete_nor_committed,
    "evict_open": test_evicting_an_entry_a_client_still_reads,
    "replace_open": test_replacing_a_stale_entry_a_client_still_reads,
    "large_pass": test_ranges_above_4gib_pass_and_slice,
    "large": test_file_above_4gib_served_from_the_cache,
    "log_rotation": test_logs_rotate_by_size,
}

if __name__ == "__main__":
    names = sys.argv[1:] or list(GROUPS)
    unknown = [n for n in names if n not in GROUPS]
    if unknown:
        sys.exit("unknown group(s) %s; known: %s" %
                 (", ".join(unknown), ", ".join(GROUPS)))
    run([GROUPS[n] for n in names])
