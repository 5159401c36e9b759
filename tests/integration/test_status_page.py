#!/usr/bin/env python3
"""The operator's view: /status.json and /metrics checked against what was
done (N requests, a dead parent, a 502), a fill in flight seen with its
progress and clients, the access rules (404 for other paths and with
[status] enabled = no, never through the proxy path for another host,
only clients in [listen] allow), and no secret in any answer or log.
One behaviour per test.
"""

import base64
import json
import os
import re
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Emu, Shim, HttpConn, check, run, make_file,
                     make_content_file, free_port, raw_request, MIB)
from common import (conf, wu_url, content_root, content_url, get, scratch)

ROOT, CDIR = content_root("status-page-root-")
PLAIN, PLAIN_SHA = make_file(os.path.join(ROOT, "misc"), "plain.bin",
                             100000, seed=51)
PLAIN_URL = wu_url("/misc/plain.bin")
BIG_SIZE = 3 * MIB + 5
BIG, BIG_NAME, BIG_SHA = make_content_file(CDIR, "windows10.0-kb5031356-x64",
                                           BIG_SIZE, seed=52)
BIG_URL = content_url(BIG_NAME)


def local(port, path, method="GET"):
    """GET path of the shim itself (origin form); the whole response."""
    with HttpConn(port) as c:
        c.request(method, path, host="127.0.0.1:%d" % port)
        return c.read_response(method=method)


def status_json(port):
    r = local(port, "/status.json")
    check(r.status == 200, "/status.json answered %d" % r.status)
    check(r.header("Content-Type") == "application/json",
          "/status.json type %r" % r.header("Content-Type"))
    check(r.header("Cache-Control") == "no-store",
          "/status.json Cache-Control %r" % r.header("Cache-Control"))
    return json.loads(r.body)


def metrics(port):
    """The samples of /metrics as {name{labels}: value}."""
    r = local(port, "/metrics")
    check(r.status == 200, "/metrics answered %d" % r.status)
    check(r.header("Content-Type", "").startswith("text/plain; version=0.0.4"),
          "/metrics type %r" % r.header("Content-Type"))
    check(r.header("Cache-Control") == "no-store", "/metrics may be cached")
    out = {}
    for line in r.body.decode().splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r"^(wsus_shim_[a-z_]+(?:\{.*\})?) (\d+(?:\.\d+)?)$", line)
        check(m is not None, "bad metrics line %r" % line)
        out[m.group(1)] = float(m.group(2))
    return out


def test_counters_after_n_requests():
    n = 5
    with Emu(ROOT) as up, Shim(conf([up.port], http_version="1.1")) as s:
        with HttpConn(s.port) as c:
            for _ in range(n):
                r = get(c, PLAIN_URL)
                check(r.status == 200 and r.body_len == 100000,
                      "GET: %d, %d bytes" % (r.status, r.body_len))
        s.wait_access_lines(n)
        st = status_json(s.port)
        check(st["requests"] == n, "requests %d, want %d" % (st["requests"], n))
        check(st["errors"] == 0, "errors %d" % st["errors"])
        check(st["bytes_out"] >= n * 100000, "bytes_out %d" % st["bytes_out"])
        check(st["bytes_upstream"] == n * 100000,
              "bytes_upstream %d" % st["bytes_upstream"])
        check(st["listen"] == "127.0.0.1:%d" % s.port, "listen %r" % st["listen"])
        check(st["conf"] == s.conf_path, "conf %r" % st["conf"])
        check(st["range_mode"] == "pass", "range_mode %r" % st["range_mode"])
        check(st["transfers"] == [] and st["active_transfers"] == 0,
              "transfers %r" % st["transfers"])
        p = st["parents"]
        check(len(p) == 1 and p[0]["label"] == "127.0.0.1:%d" % up.port and
              p[0]["state"] == "up" and p[0]["http_version"] == "1.1",
              "parents %r" % p)
        # The emulator keeps 1.1 connections: one opened, the rest reused,
        # and it waits in the pool now.
        check(st["pool"]["opened"] == 1 and st["pool"]["reused"] == n - 1,
              "pool %r" % st["pool"])
        check(p[0]["idle"] == 1 and p[0]["keep_alive"] == "yes",
              "parent pool %r" % p[0])
        # The first status page's address answers the same document.
        with HttpConn(s.port) as c:
            old = get(c, "http://wsus-shim.local/status")
        check(old.status == 200, "wsus-shim.local/status: %d" % old.status)
        d = json.loads(old.body)
        for k in ("version", "connections", "requests", "errors", "tunnels",
                  "bytes_out", "bytes_upstream", "refused"):
            check(k in d, "wsus-shim.local/status lacks %s" % k)
        for k in ("enabled", "entries", "bytes", "hits", "misses", "fills",
                  "rejected", "evictions", "corrupt"):
            check(k in d["cache"], "cache lacks %s" % k)
        check(d["requests"] == n + 1, "requests %d after the status page" %
              d["requests"])
        m = metrics(s.port)
        key = 'wsus_shim_requests_total{plan="pass",status="200"}'
        check(m.get(key) == n, "%s = %r" % (key, m.get(key)))
        key = 'wsus_shim_requests_total{plan="status",status="200"}'
        check(m.get(key) == 2, "%s = %r" % (key, m.get(key)))
        check(m['wsus_shim_client_bytes_total{direction="out"}'] >= n * 100000,
              "client bytes out %r" % m)
        check(m["wsus_shim_upstream_bytes_total"] == n * 100000,
              "upstream bytes %r" % m["wsus_shim_upstream_bytes_total"])
        check(m["wsus_shim_pool_connections_opened_total"] == 1 and
              m["wsus_shim_pool_connections_reused_total"] == n - 1,
              "pool metrics")
        check(m['wsus_shim_parent_up{parent="127.0.0.1:%d"}' % up.port] == 1,
              "parent_up")
        check(m["wsus_shim_active_transfers"] == 0, "active transfers")
        check(m["wsus_shim_active_connections"] == 1,
              "active connections %r" % m["wsus_shim_active_connections"])


def test_dead_parent_and_502_in_recent_errors():
    dead = free_port()
    with Shim(conf(["127.0.0.1:%d" % dead],
                   extra={"upstream": {"hold_down": "30s"}})) as s:
        ids = []
        with HttpConn(s.port) as c:
            for _ in range(2):
                r = get(c, PLAIN_URL)
                check(r.status == 502, "dead parent: %d" % r.status)
                ids.append(r.header("X-Wsus-Shim-Request-Id"))
        st = status_json(s.port)
        label = "127.0.0.1:%d" % dead
        p = st["parents"][0]
        check(p["label"] == label and p["state"] == "down",
              "parent %r" % p)
        check(0 < p["down_for_ms"] <= 30000 and
              p["down_until"] > st["now"], "hold-down %r" % p)
        check(p["why"] != "" and p["last_error"]["status"] == 502 and
              p["last_error"]["reqid"] == ids[1], "why %r" % p)
        errs = st["recent_errors"]
        check([e["reqid"] for e in errs] == ids[::-1],
              "recent errors %r, want %r" % ([e["reqid"] for e in errs], ids))
        e = errs[0]
        check(e["status"] == 502 and e["bits"] == "0x801901F6" and
              e["bits_name"] == "BG_E_HTTP_ERROR_502", "error %r" % e)
        check(e["url"] == PLAIN_URL and e["method"] == "GET" and
              e["upstream"] == label, "error %r" % e)
        check(st["errors"] == 2, "errors %d" % st["errors"])
        m = metrics(s.port)
        check(m['wsus_shim_upstream_failures_total{parent="%s"}' % label] == 2,
              "upstream failures %r" % m)
        check(m['wsus_shim_parent_up{parent="%s"}' % label] == 0, "parent_up")
        check(m['wsus_shim_requests_total{plan="error",status="502"}'] == 2,
              "requests by plan %r" % m)


def test_failover_counts_the_dead_parent_and_learns_the_live_one():
    """A dead first parent while the second answers: the client never
    sees an error, yet the dead one shows its failure and why, and the
    live one the HTTP version and keep-alive it answered with."""
    dead = free_port()
    with Emu(ROOT) as up, \
            Shim(conf(["127.0.0.1:%d" % dead, up.port],
                      http_version="1.1")) as s:
        with HttpConn(s.port) as c:
            r = get(c, PLAIN_URL)
            check(r.status == 200, "status %d" % r.status)
        st = status_json(s.port)
        d, live = st["parents"][0], st["parents"][1]
        check(d["state"] == "down" and d["failures"] == 1 and
              d["why"] == "cannot connect", "dead parent %r" % d)
        check(live["state"] == "up" and live["http_version"] == "1.1" and
              live["keep_alive"] == "yes" and live["failures"] == 0,
              "live parent %r" % live)
        m = metrics(s.port)
        check(m['wsus_shim_upstream_failures_total{parent="127.0.0.1:%d"}'
                % dead] == 1, "upstream failures %r" % m)


def _slow_client(port, url, results, idx, rng=None):
    try:
        with HttpConn(port, timeout=60) as c:
            h = [("Range", rng)] if rng else []
            r = get(c, url, headers=h)
            results[idx] = (r.status, r.body_len)
    except Exception as e:             # reported by the main thread
        results[idx] = ("error", e)


def test_fill_in_flight_with_progress_and_clients():
    # 3 MiB at 600 kB/s: about five seconds of fill.
    with Emu(ROOT, "--http10", "--no-range", "--rate", "600000") as up, \
            Shim(conf([up.port], mode="cache")) as s:
        results = [None, None]
        ts = [threading.Thread(target=_slow_client, args=(
            s.port, BIG_URL, results, i, "bytes=3000000-3000099" if i else None),
            daemon=True) for i in range(2)]
        for t in ts:
            t.start()
            time.sleep(0.3)
        seen = None
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            st = status_json(s.port)
            rows = [x for x in st["transfers"] if x["file"] == BIG_NAME]
            if rows and rows[0]["done"] > 0 and rows[0]["clients"] == 2:
                seen = (st, rows[0])
                break
            time.sleep(0.1)
        check(seen is not None, "no fill row with 2 clients: %r" %
              (st["transfers"],))
        st, x = seen
        check(x["url"] == BIG_URL and x["plan"] == "cache-fill",
              "row %r" % x)
        check(x["total"] == BIG_SIZE, "total %r, want %d" % (x["total"],
                                                           BIG_SIZE))
        check(0 < x["done"] < BIG_SIZE, "done %d" % x["done"])
        check(0 <= x["percent"] < 100, "percent %r" % x["percent"])
        check(x["client"].startswith("127.0.0.1:"), "client %r" % x["client"])
        check(x["upstream"] == "127.0.0.1:%d" % up.port, "upstream %r" % x)
        check(x["rate_bps"] > 0 and x["elapsed_ms"] > 0, "rate %r" % x)
        check(st["active_transfers"] >= 1, "active %d" % st["active_transfers"])
        m = metrics(s.port)
        check(m["wsus_shim_active_transfers"] >= 1, "metric active transfers")
        for t in ts:
            t.join(60)
        check(results[0] == (200, BIG_SIZE), "client 0: %r" % (results[0],))
        check(results[1] == (206, 100), "client 1: %r" % (results[1],))
        s.wait_access_lines(2)
        st = status_json(s.port)
        check(st["transfers"] == [], "after: %r" % st["transfers"])
        c = st["cache"]
        check(c["fills"] == 1 and c["entries"] == 1 and
              c["bytes"] == BIG_SIZE, "cache %r" % c)
        check(c["free_bytes"] is not None and c["free_bytes"] > 0,
              "free %r" % c["free_bytes"])
        check(c["max_bytes"] > 0, "max %r" % c["max_bytes"])
        m = metrics(s.port)
        check(m["wsus_shim_cache_fills_total"] == 1 and
              m["wsus_shim_cache_bytes"] == BIG_SIZE, "cache metrics")


def test_other_paths_are_404_and_the_page_is_html():
    with Shim(conf()) as s:
        r = local(s.port, "/")
        check(r.status == 200, "/: %d" % r.status)
        check(r.header("Content-Type") == "text/html; charset=utf-8",
              "/ type %r" % r.header("Content-Type"))
        check(r.header("Cache-Control") == "no-store", "/ may be cached")
        csp = r.header("Content-Security-Policy", "")
        check("default-src 'none'" in csp, "CSP %r" % csp)
        body = r.body.decode()
        check("/status.json" in body and "<table" in body, "page body")
        # Self-contained: nothing loaded from anywhere else.
        check(re.search(r'(src|href)\s*=\s*["\']?(https?:)?//', body) is None,
              "the page loads an external resource")
        check(re.search(r"innerHTML\s*=|outerHTML|insertAdjacentHTML|"
                        r"document\.write", body) is None,
              "the page writes markup from data")
        r = local(s.port, "/", method="HEAD")
        check(r.status == 200 and r.body_len == 0, "HEAD /: %d" % r.status)
        for path in ("/nope", "/status.json/x", "/metricsx", "/c/x.cab"):
            # Of wsus-shim.local: not a page (404).
            with HttpConn(s.port) as c:
                r = get(c, "http://wsus-shim.local" + path)
            check(r.status == 404, "%s: %d" % (path, r.status))
            check(r.header("Cache-Control") == "no-store", "%s cached" % path)
            # Of the shim's address: no proxy request (400), as before.
            r = local(s.port, path)
            check(r.status == 400, "%s: %d" % (path, r.status))
        r = local(s.port, "/status.json?x=1")
        check(r.status == 200, "query: %d" % r.status)
        with HttpConn(s.port) as c:
            c.request("POST", "/status.json", body=b"x",
                      host="127.0.0.1:%d" % s.port)
            r = c.read_response()
        check(r.status == 405, "POST: %d" % r.status)


def test_disabled_is_404_everywhere():
    with Shim(conf(extra={"status": {"enabled": "no"}})) as s:
        for path in ("/", "/status.json", "/status", "/metrics"):
            r = local(s.port, path)
            check(r.status == 404, "%s: %d" % (path, r.status))
            check(b"enabled = no" in r.body, "%s: body %r" % (path, r.body))
        with HttpConn(s.port) as c:
            r = get(c, "http://wsus-shim.local/status.json")
        check(r.status == 404, "wsus-shim.local: %d" % r.status)


def test_never_through_the_proxy_path_for_another_host():
    with Emu(ROOT) as up, Shim(conf([up.port],
                                    allow_hosts="*.windowsupdate.com")) as s:
        with HttpConn(s.port) as c:
            for url in ("http://127.0.0.1:%d/status.json" % s.port,
                        "http://localhost:%d/metrics" % s.port,
                        "http://evil.example/status.json"):
                r = get(c, url)
                check(r.status == 403, "%s: %d" % (url, r.status))
                check(b"wsus_shim_" not in (r.body or b"") and
                      b'"version"' not in (r.body or b""), "%s: leaked" % url)
            # An allowed host's /status.json is the origin's, not ours.
            r = get(c, wu_url("/status.json"))
            check(r.status == 404 and b'"requests"' not in r.body,
                  "origin /status.json: %d %r" % (r.status, r.body[:80]))
        check(up.path_stats("/status.json")["get"] == 1,
              "the origin's /status.json was not asked")


def test_only_allowed_clients():
    with Shim(conf(extra={"listen": {"allow": "10.9.9.0/24"}})) as s:
        try:
            data = raw_request(s.port, ("GET /status.json HTTP/1.1\r\nHost: "
                                        "127.0.0.1\r\n\r\n").encode(),
                               timeout=5)
        except (ConnectionResetError, BrokenPipeError):
            data = b""                 # refused with a reset: as it should
        check(b"HTTP/1.1 200" not in data and b"version" not in data,
              "a client outside [listen] allow got %r" % data[:80])


def test_no_secret_anywhere():
    pw = "Xy9!secret-Pw_42"
    user = "CORP\\svc-wsus"
    dead = free_port()
    with Shim(conf(["127.0.0.1:%d" % dead], user=user, password=pw)) as s:
        with HttpConn(s.port) as c:
            r = get(c, PLAIN_URL)
        check(r.status == 502, "dead parent: %d" % r.status)
        outs = [r.body]
        for path in ("/", "/status.json", "/status", "/metrics"):
            outs.append(local(s.port, path).body)
        basic = base64.b64encode(("%s:%s" % (user, pw)).encode())
        for o in outs + [s.stderr_text().encode(), s.stdout_text().encode()]:
            check(pw.encode() not in o, "the password shows: %r" % o[:200])
            check(basic not in o, "the Basic credentials show")
        st = json.loads(outs[2])
        check("password" not in json.dumps(st).lower(), "a password field")


if __name__ == "__main__":
    run([
        test_counters_after_n_requests,
        test_dead_parent_and_502_in_recent_errors,
        test_failover_counts_the_dead_parent_and_learns_the_live_one,
        test_fill_in_flight_with_progress_and_clients,
        test_other_paths_are_404_and_the_page_is_html,
        test_disabled_is_404_everywhere,
        test_never_through_the_proxy_path_for_another_host,
        test_only_allowed_clients,
        test_no_secret_anywhere,
    ])
