"""harness.py - what every integration test script imports.

Each tests/integration/test_*.py is a standalone Python 3 script (stdlib
only) that ctest runs; it exits 0 when every test passed and prints
"N passed, N failed" last. The binaries come from the environment that
tests/integration/CMakeLists.txt sets:

    WSUS_EMU   upstream-emu (tests/tools/upstream_emu.c)
    WSUS_SHIM  wsus-shim
    WSUS_SRC   the source tree

Contents:
    Emu(root, *flags)          upstream-emu as a context manager
    Shim(conf, ...)            wsus-shim as a context manager
    raw_request(port, data)    one connection, bytes in, bytes out
    HttpConn(port)             one kept connection, framed responses
    Truncated                  a body ended before its framing said
    make_file, make_content_name, make_content_file, make_sparse, read_range
    check, run, Skip, free_port, tool
    tcp_sockets(pid)           a process's connected TCP sockets, options

Every wait is bounded and every process started here is killed when the
script exits (atexit, and PR_SET_PDEATHSIG in case the script is killed).
"""

import atexit
import hashlib
import json
import os
import random
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import traceback

MIB = 1024 * 1024
GIB = 1024 * MIB

__all__ = [
    "Emu", "Shim", "HttpConn", "Response", "raw_request", "RawBytes",
    "Truncated", "HarnessError", "CheckFailed", "Skip",
    "make_file", "make_content_name", "make_content_file", "make_sparse",
    "read_range", "sha1_file", "check", "run", "free_port", "tool",
    "emu_path", "shim_path", "tcp_sockets", "MIB", "GIB",
]


class HarnessError(Exception):
    """The harness could not set up what a test asked for."""


class CheckFailed(AssertionError):
    """check() failed."""


class Skip(Exception):
    """A test cannot run here (missing tool). Counted as failed."""


class Truncated(Exception):
    """The connection ended (EOF or reset) before the body's framed end.

    .response is the partial Response (body so far), .expected the framed
    length if known (None for chunked), .got the body bytes received."""

    def __init__(self, msg, response=None, expected=None, got=0):
        super().__init__(msg)
        self.response = response
        self.expected = expected
        self.got = got


# ---- processes --------------------------------------------------------------

_live = []


def _kill_all():
    for p in list(_live):
        if p.poll() is None:
            try:
                p.kill()
                p.wait(5)
            except Exception:
                pass
    _live.clear()


atexit.register(_kill_all)


def _die_with_parent():
    # Runs in the child between fork and exec: SIGKILL it if we die.
    try:
        import ctypes
        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:
        pass


def _spawn(argv, out_path, err_path, nofile=None):
    """nofile: the child's RLIMIT_NOFILE (soft and hard), or None."""
    def preexec():
        _die_with_parent()
        if nofile is not None:
            import resource
            resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))
    out = open(out_path, "wb")
    err = open(err_path, "wb")
    try:
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                             stderr=err, preexec_fn=preexec)
    finally:
        out.close()
        err.close()
    _live.append(p)
    return p


def _stop(p, grace=5.0):
    """SIGTERM, then SIGKILL after grace seconds. Returns the exit code."""
    if p is None:
        return None
    if p.poll() is None:
        try:
            p.send_signal(signal.SIGTERM)
            p.wait(grace)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(5)
    if p in _live:
        _live.remove(p)
    return p.returncode


def _read(path):
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace")
    except FileNotFoundError:
        return ""


def _wait_for_line(p, paths, pattern, timeout, what):
    """Poll the given output files until pattern matches (bounded)."""
    rx = re.compile(pattern)
    deadline = time.monotonic() + timeout
    while True:
        for path in paths:
            m = rx.search(_read(path))
            if m:
                return m
        if p.poll() is not None:
            raise HarnessError("%s exited with %s before listening" %
                               (what, p.returncode))
        if time.monotonic() > deadline:
            raise HarnessError("%s did not print %r within %.0f s" %
                               (what, pattern, timeout))
        time.sleep(0.02)


def _find_binary(env, relpath):
    v = os.environ.get(env)
    if v:
        return v
    # Manual runs: look in the usual build folders of the source tree.
    src = os.environ.get("WSUS_SRC") or os.path.dirname(
        os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    for d in sorted(os.listdir(src)):
        cand = os.path.join(src, d, relpath)
        if d.startswith("build") and os.access(cand, os.X_OK):
            return cand
    return None


def emu_path():
    p = _find_binary("WSUS_EMU", "tests/tools/upstream-emu")
    if p is None:
        raise Skip("upstream-emu not built (WSUS_EMU unset)")
    return p


def shim_path():
    p = _find_binary("WSUS_SHIM", "proxy/wsus-shim")
    if p is None:
        raise Skip("wsus-shim not built (WSUS_SHIM unset)")
    return p


class Emu:
    """upstream-emu serving root, with the given command-line flags.

        with Emu(root, "--http10", "--close-delimit") as up:
            up.port, up.url("/x"), up.stats(), up.log_lines()
    """

    def __init__(self, root, *flags, lifetime=600, port=0):
        self.root = str(root)
        self.flags = [str(f) for f in flags]
        self.lifetime = lifetime
        self.want_port = port
        self.port = None
        self.proc = None
        self.tmp = None
        self.returncode = None
        self._stderr = ""

    def start(self):
        self.tmp = tempfile.mkdtemp(prefix="emu-")
        self.log_path = os.path.join(self.tmp, "requests.log")
        self.out_path = os.path.join(self.tmp, "stdout")
        self.err_path = os.path.join(self.tmp, "stderr")
        argv = [emu_path(), "--root", self.root, "--port", str(self.want_port),
                "--log", self.log_path, "--lifetime", str(self.lifetime)]
        self.proc = _spawn(argv + self.flags, self.out_path, self.err_path)
        try:
            m = _wait_for_line(self.proc, [self.out_path],
                               r"upstream-emu listening on (\S+):(\d+)\n",
                               10, "upstream-emu")
        except HarnessError as e:
            self.stop()
            raise HarnessError("%s: %s" % (e, self.stderr_text()))
        self.port = int(m.group(2))
        return self

    def url(self, path, host=None):
        return "http://%s:%d%s" % (host or "127.0.0.1", self.port, path)

    def stats(self):
        """The /__stats JSON: requests, connections, dropped, by_path."""
        c = HttpConn(self.port)
        try:
            c.send(b"GET /__stats HTTP/1.1\r\nHost: emu\r\n\r\n")
            r = c.read_response()
        finally:
            c.close()
        if r.status != 200:
            raise HarnessError("/__stats answered %d" % r.status)
        return json.loads(r.body)

    def path_stats(self, path):
        """by_path entry of one path (zeros when never requested)."""
        return self.stats()["by_path"].get(
            path, {"get": 0, "head": 0, "other": 0, "bytes": 0})

    def log_lines(self):
        """One dict per request: method, target, version, path, range,
        status, body_bytes_sent, conn_id."""
        out = []
        for line in _read(self.log_path).splitlines():
            if line.strip():
                out.append(json.loads(line))
        return out

    def stderr_text(self):
        """Its stderr so far (kept after stop())."""
        return _read(self.err_path) if self.tmp else self._stderr

    def stop(self):
        """SIGTERM (SIGKILL after 5 s); returns the exit code."""
        rc = _stop(self.proc)
        self.returncode = rc
        if self.tmp:
            self._stderr = _read(self.err_path)
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None
        return rc

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False


def _conf_value(v):
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, (list, tuple)):
        return ", ".join(_conf_value(x) for x in v)
    return str(v)


def _conf_from_dict(d):
    lines = []
    for section, keys in d.items():
        lines.append("[%s]" % section)
        for k, v in keys.items():
            lines.append("%s = %s" % (k, _conf_value(v)))
        lines.append("")
    return "\n".join(lines)


def _conf_ensure(text, section, key, value):
    """Add key = value to [section] unless the section sets key already."""
    lines = text.splitlines()
    start = None
    for i, ln in enumerate(lines):
        if ln.strip() == "[%s]" % section:
            start = i
            break
    if start is None:
        return text.rstrip("\n") + "\n\n[%s]\n%s = %s\n" % (section, key, value)
    end = len(lines)
    for i in range(start + 1, len(lines)):
        if lines[i].strip().startswith("["):
            end = i
            break
    for ln in lines[start + 1:end]:
        if re.match(r"\s*%s\s*=" % re.escape(key), ln):
            return text
    lines.insert(start + 1, "%s = %s" % (key, value))
    return "\n".join(lines) + "\n"


class Shim:
    """wsus-shim with a conf written into a private temp dir.

    conf is INI text or a dict {section: {key: value}} (lists are joined
    with ", ", booleans become yes/no). "{tmp}" in it is replaced by the
    temp dir, e.g. {"cache": {"dir": "{tmp}/cache"}}. [listen] port = 0 and
    [log] access_log = {tmp}/access.log are added unless set.

        with Shim({"upstream": {"proxy": "127.0.0.1:%d" % up.port}}) as s:
            s.port, s.stderr_text(), s.access_lines(), s.rss_kib(peak=True)

    nofile sets the shim's limit on open descriptors (soft and hard).
    """

    def __init__(self, conf, args=(), listen_timeout=10, nofile=None):
        self.nofile = nofile
        self.conf = conf
        self.args = [str(a) for a in args]
        self.listen_timeout = listen_timeout
        self.proc = None
        self.port = None
        self.host = None
        self.tmp = None

    def start(self):
        self.tmp = tempfile.mkdtemp(prefix="shim-")
        text = self.conf if isinstance(self.conf, str) else \
            _conf_from_dict(self.conf)
        text = _conf_ensure(text, "listen", "port", "0")
        text = _conf_ensure(text, "log", "access_log", "{tmp}/access.log")
        text = text.replace("{tmp}", self.tmp)
        self.conf_path = os.path.join(self.tmp, "wsus-shim.conf")
        self.access_path = os.path.join(self.tmp, "access.log")
        self.out_path = os.path.join(self.tmp, "stdout")
        self.err_path = os.path.join(self.tmp, "stderr")
        with open(self.conf_path, "w") as f:
            f.write(text)
        argv = [shim_path(), "-c", self.conf_path] + self.args
        self.proc = _spawn(argv, self.out_path, self.err_path,
                           nofile=self.nofile)
        try:
            m = _wait_for_line(self.proc, [self.out_path, self.err_path],
                               r"listening on (\S+):(\d+)",
                               self.listen_timeout, "wsus-shim")
        except HarnessError as e:
            err = self.stderr_text()
            self.stop()
            raise HarnessError("%s; stderr:\n%s" % (e, err))
        self.host = m.group(1).strip("[]")
        self.port = int(m.group(2))
        return self

    @property
    def pid(self):
        return self.proc.pid

    def stderr_text(self):
        return _read(self.err_path) if self.tmp else ""

    def stdout_text(self):
        return _read(self.out_path) if self.tmp else ""

    def access_lines(self):
        return [ln for ln in _read(self.access_path).splitlines() if ln]

    def wait_access_lines(self, n, timeout=5):
        """Poll until the access log has at least n lines (bounded)."""
        deadline = time.monotonic() + timeout
        while True:
            lines = self.access_lines()
            if len(lines) >= n or time.monotonic() > deadline:
                return lines
            time.sleep(0.02)

    def signal(self, sig):
        self.proc.send_signal(sig)

    def wait(self, timeout):
        """Exit code, or raises subprocess.TimeoutExpired."""
        rc = self.proc.wait(timeout)
        if self.proc in _live:
            _live.remove(self.proc)
        return rc

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def rss_kib(self, peak=False):
        """VmRSS (or VmHWM with peak=True) of the shim, in KiB."""
        field = "VmHWM" if peak else "VmRSS"
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
        raise HarnessError("no %s in /proc/%d/status" % (field, self.proc.pid))

    def stop(self):
        rc = _stop(self.proc)
        self.returncode = rc
        return rc

    def cleanup(self):
        if self.tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        self.cleanup()
        return False


# ---- raw HTTP client ------------------------------------------------------------


class RawBytes(bytes):
    """bytes with .end: "eof", "reset" or "timeout"."""
    end = "eof"


def _connect(port, host, timeout):
    s = socket.create_connection((host, port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def _pieces(data, fragments):
    """fragments: None (all at once), a list of sizes (the rest follows as
    the last piece), or data itself may be a list of bytes."""
    if isinstance(data, (list, tuple)):
        return [bytes(x) for x in data]
    if not fragments:
        return [bytes(data)]
    out, pos = [], 0
    for n in fragments:
        out.append(bytes(data[pos:pos + n]))
        pos += n
    if pos < len(data):
        out.append(bytes(data[pos:]))
    return [p for p in out if p]


def raw_request(port, data, timeout=10, fragments=None, host="127.0.0.1",
                gap=0.02, shut_wr=False):
    """Send data (in fragments, gap seconds apart) and return every byte
    received until the peer closes or timeout seconds pass in all."""
    deadline = time.monotonic() + timeout
    s = _connect(port, host, timeout)
    buf = bytearray()
    end = "eof"
    try:
        pieces = _pieces(data, fragments)
        for i, p in enumerate(pieces):
            s.sendall(p)
            if gap and i + 1 < len(pieces):
                time.sleep(gap)
        if shut_wr:
            s.shutdown(socket.SHUT_WR)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                end = "timeout"
                break
            s.settimeout(left)
            try:
                b = s.recv(256 * 1024)
            except socket.timeout:
                end = "timeout"
                break
            except ConnectionResetError:
                end = "reset"
                break
            if not b:
                break
            buf += b
    finally:
        s.close()
    r = RawBytes(bytes(buf))
    r.end = end
    return r


class Response:
    """A parsed response.

    version, status, reason; headers: list of (name, value) as received;
    raw_head: the head bytes; framing: "length", "chunked", "close" or
    "none"; body (None when not kept), body_len, body_sha1; chunks: the
    chunk sizes seen; interim: earlier 1xx responses."""

    def __init__(self):
        self.version = None
        self.status = None
        self.reason = None
        self.headers = []
        self.raw_head = b""
        self.framing = None
        self.body = b""
        self.body_len = 0
        self.body_sha1 = None
        self.chunks = []
        self.trailers = []
        self.interim = []

    def header(self, name, default=None):
        """First value of a field (case-insensitive name)."""
        n = name.lower()
        for k, v in self.headers:
            if k.lower() == n:
                return v
        return default

    def header_all(self, name):
        n = name.lower()
        return [v for k, v in self.headers if k.lower() == n]

    def has(self, name):
        return self.header(name) is not None

    def __repr__(self):
        return "<Response %s %s %s len=%d>" % (self.version, self.status,
                                               self.framing, self.body_len)


class HttpConn:
    """One client connection. send() bytes, read_response() parses one
    response with its framing; Truncated when the body ends early."""

    def __init__(self, port, host="127.0.0.1", timeout=10):
        self.timeout = timeout
        self.sock = _connect(port, host, timeout)
        self.buf = bytearray()
        self.eof = False
        self.reset = False

    def send(self, data, fragments=None, gap=0.02):
        pieces = _pieces(data, fragments)
        for i, p in enumerate(pieces):
            self.sock.sendall(p)
            if gap and i + 1 < len(pieces):
                time.sleep(gap)

    def request(self, method, target, headers=(), body=b"",
                version="HTTP/1.1", host="example"):
        """Send a simple request. A Host field is added unless given;
        Content-Length is added for a non-empty body unless given."""
        names = {k.lower() for k, _ in headers}
        head = "%s %s %s\r\n" % (method, target, version)
        if "host" not in names and host:
            head += "Host: %s\r\n" % host
        for k, v in headers:
            head += "%s: %s\r\n" % (k, v)
        if body and "content-length" not in names and \
                "transfer-encoding" not in names:
            head += "Content-Length: %d\r\n" % len(body)
        self.send(head.encode("latin-1") + b"\r\n" + body)

    def _fill(self):
        """Read more into buf. False at EOF or reset."""
        if self.eof:
            return False
        try:
            b = self.sock.recv(256 * 1024)
        except ConnectionResetError:
            self.eof = self.reset = True
            return False
        if not b:
            self.eof = True
            return False
        self.buf += b
        return True

    def _readline(self, limit=65536):
        while True:
            i = self.buf.find(b"\n")
            if i >= 0:
                line = bytes(self.buf[:i + 1])
                del self.buf[:i + 1]
                return line
            if len(self.buf) > limit:
                raise HarnessError("line longer than %d bytes" % limit)
            if not self._fill():
                return None

    def _take(self, n):
        """Up to n bytes from the buffer or socket; b"" at EOF."""
        if not self.buf and not self._fill():
            return b""
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def read_response(self, head_only=False, method="GET", keep_body=True,
                      skip_interim=True):
        """Parse one response. head_only: the head was the whole response
        (HEAD). method="HEAD" does the same. keep_body=False keeps only
        body_len and body_sha1 (for big files)."""
        self.sock.settimeout(self.timeout)
        r = Response()
        while True:
            raw = bytearray()
            line = self._readline()
            if line is None:
                raise HarnessError("connection closed before a status line"
                                   + (" (reset)" if self.reset else ""))
            raw += line
            m = re.match(rb"(HTTP/\d\.\d) (\d{3})(?: (.*))?\r?\n$", line)
            if not m:
                raise HarnessError("bad status line %r" % line)
            r.version = m.group(1).decode()
            r.status = int(m.group(2))
            r.reason = (m.group(3) or b"").decode("latin-1")
            r.headers = []
            while True:
                line = self._readline()
                if line is None:
                    raise HarnessError("connection closed inside the head")
                raw += line
                if line in (b"\r\n", b"\n"):
                    break
                k, sep, v = line.decode("latin-1").partition(":")
                if not sep:
                    raise HarnessError("bad header line %r" % line)
                r.headers.append((k, v.strip(" \t\r\n")))
            r.raw_head = bytes(raw)
            if 100 <= r.status < 200 and r.status != 101 and skip_interim:
                r.interim.append((r.status, r.headers, r.raw_head))
                continue
            break
        no_body = head_only or method.upper() == "HEAD" or \
            (method.upper() == "CONNECT" and 200 <= r.status < 300)
        self._read_body(r, no_body, keep_body)
        return r

    def _read_body(self, r, no_body, keep_body):
        h = hashlib.sha1()
        parts = []

        def add(b):
            h.update(b)
            r.body_len += len(b)
            if keep_body:
                parts.append(b)

        def finish():
            r.body = b"".join(parts) if keep_body else None
            r.body_sha1 = h.hexdigest()

        def truncated(msg, expected):
            finish()
            raise Truncated(msg, r, expected, r.body_len)

        te = r.header("Transfer-Encoding")
        cl = r.header("Content-Length")
        if no_body or r.status in (204, 304) or 100 <= r.status < 200:
            r.framing = "none"
        elif te is not None and te.lower().split(",")[-1].strip() == "chunked":
            r.framing = "chunked"
            while True:
                line = self._readline(4096)
                if line is None:
                    truncated("eof in chunk size line", None)
                size = int(line.split(b";")[0].strip(), 16)
                r.chunks.append(size)
                if size == 0:
                    break
                left = size
                while left:
                    b = self._take(min(left, 256 * 1024))
                    if not b:
                        truncated("eof inside a chunk", None)
                    add(b)
                    left -= len(b)
                if self._readline(16) not in (b"\r\n", b"\n"):
                    truncated("chunk not followed by CRLF", None)
            while True:
                line = self._readline()
                if line is None:
                    truncated("eof in trailers", None)
                if line in (b"\r\n", b"\n"):
                    break
                r.trailers.append(line)
        elif cl is not None:
            r.framing = "length"
            n = int(cl)
            left = n
            while left:
                b = self._take(min(left, 256 * 1024))
                if not b:
                    truncated("eof after %d of %d body bytes" %
                              (n - left, n), n)
                add(b)
                left -= len(b)
        else:
            r.framing = "close"
            while True:
                b = self._take(256 * 1024)
                if not b:
                    break
                add(b)
            if self.reset:
                truncated("reset in a close-delimited body", None)
        finish()

    def peer_closed(self, timeout=2.0):
        """True if the peer closes (or resets) within timeout and sends
        nothing more first; False if it stays open. Raises if it sends."""
        if self.eof:
            return True
        if self.buf:
            raise HarnessError("unexpected bytes %r" % bytes(self.buf[:64]))
        self.sock.settimeout(timeout)
        try:
            if self._fill():
                raise HarnessError("unexpected bytes %r" %
                                   bytes(self.buf[:64]))
            return True
        except socket.timeout:
            return False
        finally:
            self.sock.settimeout(self.timeout)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


# ---- files ------------------------------------------------------------------------


def _block(seed):
    return random.Random(seed).randbytes(MIB)


def make_file(dir, name, size, seed=0):
    """Write a deterministic pseudorandom file; returns (path, sha1hex).

    Each MiB is one random block (from seed) whose first 8 bytes are the
    MiB index (big-endian), so any two ranges are distinguishable."""
    os.makedirs(dir, exist_ok=True)
    path = os.path.join(dir, name)
    block = _block(seed)
    h = hashlib.sha1()
    with open(path, "wb") as f:
        i, left = 0, size
        while left > 0:
            piece = struct.pack(">Q", i) + block[8:]
            piece = piece[:left]
            f.write(piece)
            h.update(piece)
            left -= len(piece)
            i += 1
    return path, h.hexdigest()


def make_content_name(stem, data_sha1, ext):
    """Windows Update content name: stem_<sha1>.ext."""
    return "%s_%s.%s" % (stem, data_sha1, ext.lstrip("."))


def make_content_file(dir, stem, size, seed=0, ext="cab"):
    """make_file, renamed after its SHA-1. Returns (path, name, sha1)."""
    tmp = ".tmp-%s-%d" % (stem, os.getpid())
    path, sha = make_file(dir, tmp, size, seed)
    name = make_content_name(stem, sha, ext)
    final = os.path.join(dir, name)
    os.replace(path, final)
    return final, name, sha


def make_sparse(dir, name, size, marks=None):
    """A sparse file of size bytes (zeros, no SHA-1 computed). marks maps
    offsets to bytes written there, to tell far offsets apart."""
    os.makedirs(dir, exist_ok=True)
    path = os.path.join(dir, name)
    with open(path, "wb") as f:
        f.truncate(size)
        for off, data in (marks or {}).items():
            f.seek(off)
            f.write(data)
    return path


def read_range(path, first, last):
    """Bytes first..last (inclusive) of a file."""
    with open(path, "rb") as f:
        f.seek(first)
        return f.read(last - first + 1)


def sha1_file(path):
    h = hashlib.sha1()
    with open(path, "rb") as f:
        while True:
            b = f.read(4 * MIB)
            if not b:
                return h.hexdigest()
            h.update(b)


# ---- runner -----------------------------------------------------------------------


def check(cond, msg):
    if not cond:
        raise CheckFailed(msg)


def free_port():
    """A loopback port free right now (racy by nature; prefer port 0)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


def tool(name):
    """Path of an external client (curl, aria2c, wget); Skip if missing."""
    p = shutil.which(name)
    if p is None:
        raise Skip("%s is not installed" % name)
    return p


def tcp_sockets(pid):
    """The connected TCP sockets of process pid, as a list of
    (local address, peer address, TCP_NODELAY). Each socket is borrowed
    with pidfd_getfd(2) (Linux 5.6, same user or root) and closed again;
    Skip where the system does not allow it."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    sys_pidfd_getfd = 438  # x86-64 and arm64 alike (the common table)
    try:
        pidfd = os.pidfd_open(pid)
    except (AttributeError, OSError) as e:
        raise Skip("pidfd_open: %s" % e)
    out = []
    try:
        for name in os.listdir("/proc/%d/fd" % pid):
            try:
                if not os.readlink("/proc/%d/fd/%s" % (pid, name)) \
                        .startswith("socket:"):
                    continue
            except OSError:
                continue
            fd = libc.syscall(sys_pidfd_getfd, pidfd, int(name), 0)
            if fd < 0:
                err = ctypes.get_errno()
                if err in (1, 38):  # EPERM, ENOSYS
                    raise Skip("pidfd_getfd: %s" % os.strerror(err))
                continue
            s = socket.socket(fileno=fd)
            try:
                if s.type != socket.SOCK_STREAM or s.family not in (
                        socket.AF_INET, socket.AF_INET6):
                    continue
                try:
                    peer = s.getpeername()
                except OSError:
                    continue  # a listener
                out.append((s.getsockname(), peer, s.getsockopt(
                    socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0))
            finally:
                s.close()
    finally:
        os.close(pidfd)
    return out


def run(tests):
    """Run test functions in order, print PASS/FAIL/SKIP per test and the
    final "N passed, N failed" line; exit 1 if any failed (SKIP counts as
    failed: CI installs every tool)."""
    passed = failed = 0
    for t in tests:
        name = getattr(t, "__name__", str(t))
        t0 = time.monotonic()
        try:
            t()
        except Skip as e:
            failed += 1
            print("SKIP %s: %s" % (name, e), flush=True)
        except Exception as e:
            failed += 1
            tb = traceback.extract_tb(e.__traceback__)
            where = ""
            for fr in reversed(tb):
                if os.path.basename(fr.filename) != "harness.py":
                    where = " (%s:%d)" % (os.path.basename(fr.filename),
                                          fr.lineno)
                    break
            print("FAIL %s: %s: %s%s" % (name, type(e).__name__, e, where),
                  flush=True)
        else:
            passed += 1
            print("PASS %s (%.2fs)" % (name, time.monotonic() - t0),
                  flush=True)
        finally:
            _kill_all()
    print("%d passed, %d failed" % (passed, failed), flush=True)
    sys.exit(1 if failed else 0)
