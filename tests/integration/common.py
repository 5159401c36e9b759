"""common.py - shim configurations shared by the integration tests."""

import os
import tempfile

from harness import Emu, Shim, make_file, MIB  # noqa: F401

# Real Windows Update host names: through a parent proxy the emulator
# answers for any host, so nothing leaves the machine.
WU_HOST = "au.download.windowsupdate.com"
ALLOW = "*.windowsupdate.com, *.update.microsoft.com, 127.0.0.1, localhost"


def tmpdir(prefix="itest-"):
    return tempfile.mkdtemp(prefix=prefix)


def conf(parents=(), http_version="1.0", user=None, password=None,
         allow_hosts=ALLOW, limits=None, extra=None, mode="pass"):
    """A shim conf dict: parents are emulator ports or "host:port"."""
    up = {"proxy": ", ".join(p if isinstance(p, str) else
                             "127.0.0.1:%d" % p for p in parents),
          "http_version": http_version}
    if user is not None:
        up["user"] = user
        up["password"] = password
    d = {
        "listen": {"address": "127.0.0.1"},
        "upstream": up,
        "policy": {"allow_hosts": allow_hosts},
        "limits": dict(limits or {}),
        "log": {"level": "debug"},
        "range": {"mode": mode},
        "cache": {"dir": "{tmp}/cache"},
    }
    for sect, keys in (extra or {}).items():
        d.setdefault(sect, {}).update(keys)
    return d


def wu_url(path):
    return "http://%s%s" % (WU_HOST, path)


def get(conn, url, headers=(), version="HTTP/1.1", method="GET", host=None):
    """Send one request through the shim on an HttpConn and read it."""
    conn.request(method, url, headers=headers, version=version,
                 host=host or url.split("/")[2])
    return conn.read_response(method=method)


# ---- range and cache tests (additions) -------------------------------------

# The legacy parent of the range and cache tests: HTTP/1.0, ignores Range,
# close-delimits GET bodies and answers HEAD without a length.
LEGACY = ("--http10", "--no-range", "--close-delimit", "--head-no-length")

# Where Windows Update content lives on the real hosts.
CONTENT_DIR = "/c/msdownload/update/software/secu/2013/10/"

# The fields a BITS job sends with every request (captured through a proxy).
BITS_UA = "Microsoft BITS/7.8"
BITS_HEADERS = (("Accept", "*/*"), ("Accept-Encoding", "identity"),
                ("User-Agent", BITS_UA), ("Proxy-Connection", "Keep-Alive"))


def scratch(prefix="itest-"):
    """tmpdir() removed when the script exits (big files, cache folders)."""
    import atexit
    import shutil
    d = tmpdir(prefix)
    atexit.register(shutil.rmtree, d, True)
    return d


def content_root(prefix="content-root-"):
    """A temp emulator root with CONTENT_DIR created (removed at exit);
    returns (root, dir)."""
    root = scratch(prefix)
    d = os.path.join(root, CONTENT_DIR.strip("/"))
    os.makedirs(d, exist_ok=True)
    return root, d


def content_url(name):
    """The Windows Update URL of a file made under content_root()'s dir."""
    return wu_url(CONTENT_DIR + name)


def content_path(name):
    """The emulator's by_path key of that URL."""
    return CONTENT_DIR + name


def ranged(conn, url, rng, headers=(), method="GET"):
    """GET (or HEAD) url with Range: rng (None: no Range) on conn."""
    h = list(headers)
    if rng is not None:
        h.append(("Range", rng))
    return get(conn, url, headers=h, method=method)


def expect_206(r, first, last, total, path=None, what=""):
    """r is a 206 for bytes first-last of total: exact Content-Range,
    Content-Length and (when path is given) the exact bytes of the file."""
    from harness import check, read_range
    what = what or "bytes=%d-%d" % (first, last)
    check(r.status == 206, "%s: status %d, want 206 (Content-Range %s)" %
          (what, r.status, r.header("Content-Range")))
    want_cr = "bytes %d-%d/%d" % (first, last, total)
    check(r.header("Content-Range") == want_cr, "%s: Content-Range %r, want "
          "%r" % (what, r.header("Content-Range"), want_cr))
    check(len(r.header_all("Content-Range")) == 1, "%s: %d Content-Range "
          "fields" % (what, len(r.header_all("Content-Range"))))
    check(r.header("Content-Length") == str(last - first + 1),
          "%s: Content-Length %r, want %d" % (what, r.header("Content-Length"),
                                            last - first + 1))
    check(r.framing == "length", "%s: framing %s" % (what, r.framing))
    check(r.body_len == last - first + 1, "%s: %d body bytes" %
          (what, r.body_len))
    if path is not None:
        want = read_range(path, first, last)
        if r.body is not None:
            check(r.body == want, "%s: wrong bytes" % what)
        else:
            import hashlib
            check(r.body_sha1 == hashlib.sha1(want).hexdigest(),
                  "%s: wrong bytes" % what)


def shim_status(port):
    """The JSON of GET http://wsus-shim.local/status."""
    import json
    from harness import HttpConn, HarnessError
    with HttpConn(port) as c:
        r = get(c, "http://wsus-shim.local/status")
    if r.status != 200:
        raise HarnessError("status page answered %d" % r.status)
    return json.loads(r.body)


def plans(shim, n=1, timeout=5):
    """The (plan, status) of each access-log line, waiting for n lines."""
    out = []
    for line in shim.wait_access_lines(n, timeout):
        f = line.split()
        plan, _, status = f[3].rpartition("/") if len(f) > 3 else ("", "", "")
        out.append((plan, status))
    return out


def tool_env():
    """os.environ without proxy variables, for curl, wget and aria2c."""
    env = {k: v for k, v in os.environ.items()
           if k.lower() not in ("http_proxy", "https_proxy", "all_proxy",
                                "no_proxy", "ftp_proxy")}
    env["HOME"] = scratch("tool-home-")   # no ~/.curlrc, ~/.wgetrc, aria2 conf
    return env


def tunnel_get(shim_port, target, path, limit=16 * 1024 * 1024):
    """CONNECT target ("host:port") through the shim, then an HTTP/1.0 GET
    of path inside the tunnel when the CONNECT got a 200. Returns (the
    CONNECT response head, every byte read from the tunnel after it)."""
    import socket
    so = socket.create_connection(("127.0.0.1", shim_port), timeout=15)
    try:
        so.sendall(("CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n" %
                    (target, target)).encode())
        head = b""
        while b"\r\n\r\n" not in head and len(head) < 65536:
            b = so.recv(1)
            if not b:
                break
            head += b
        data = b""
        if head.startswith(b"HTTP/1.1 200 "):
            so.sendall(("GET %s HTTP/1.0\r\nHost: x\r\n\r\n" %
                        path).encode())
            while len(data) < limit:
                b = so.recv(65536)
                if not b:
                    break
                data += b
        return head, data
    finally:
        so.close()
