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
