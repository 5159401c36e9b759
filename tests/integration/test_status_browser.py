#!/usr/bin/env python3
"""The status page in a real browser: headless Chromium (Debian's) loads
http://127.0.0.1:PORT/ while a slow cache fill runs, the page fetches
status.json and builds its tables, and the test reads the DOM it dumped:
the transfer row of the file with its progress and two clients, the
parent rows (one up, one held down), an error row with its BITS code. A
screenshot at 1,280 x 900 is kept under the build folder
(tests/integration/artifacts/status-page.png).
"""

import html.parser
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Emu, Shim, HttpConn, check, run, make_content_file,
                     free_port, Skip, HarnessError, MIB)
from common import (conf, content_root, content_url, get)

ROOT, CDIR = content_root("status-browser-root-")
SIZE = 24 * MIB + 11
FILE, NAME, SHA = make_content_file(CDIR, "windows10.0-kb5034441-x64", SIZE,
                                    seed=61)
URL = content_url(NAME)
RATE = 1000000          # 24 MiB at 1 MB/s: the fill outlasts the browser
ART = os.path.join(os.getcwd(), "artifacts")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu",
                  "--disable-background-networking",
                  "--disable-component-update", "--disable-sync",
                  "--no-first-run", "--hide-scrollbars",
                  "--virtual-time-budget=4000"]


def chromium():
    for name in ("chromium", "chromium-browser"):
        p = shutil.which(name)
        if p:
            return p
    raise Skip("chromium is not installed (tools/deps.sh installs it)")


def browse(url, *args, timeout=90):
    """Run headless Chromium on url with args in a throwaway profile;
    returns stdout."""
    prof = tempfile.mkdtemp(prefix="chromium-prof-")
    try:
        p = subprocess.run([chromium()] + CHROMIUM_FLAGS +
                           ["--user-data-dir=" + prof] + list(args) + [url],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=timeout)
    finally:
        shutil.rmtree(prof, ignore_errors=True)
    if p.returncode != 0:
        raise HarnessError("chromium exited %d: %s" %
                           (p.returncode, p.stderr.decode()[-2000:]))
    return p.stdout.decode("utf-8", "replace")


class Dom(html.parser.HTMLParser):
    """The rows of the dumped DOM: each <tr> with its attributes and the
    text of its cells; the text of elements by id."""

    def __init__(self):
        super().__init__()
        self.rows = []
        self.by_id = {}
        self.bars = []          # style of each .fill inside a transfer row
        self._row = None
        self._cell = None
        self._ids = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "tr":
            self._row = {"attrs": a, "cells": [], "classes":
                         a.get("class", "").split()}
            self.rows.append(self._row)
        elif tag == "td" and self._row is not None:
            self._cell = []
            self._row["cells"].append(self._cell)
        if "fill" in a.get("class", "").split() and self._row is not None:
            self._row.setdefault("fills", []).append(a.get("style", ""))
        if "id" in a:
            self._ids.append([a["id"], tag, []])

    def handle_endtag(self, tag):
        if tag == "tr":
            self._row = None
        if tag == "td":
            self._cell = None
        if self._ids and self._ids[-1][1] == tag:
            i, _, text = self._ids.pop()
            self.by_id[i] = "".join(text)

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        for entry in self._ids:
            entry[2].append(data)

    def rows_of(self, cls):
        return [r for r in self.rows if cls in r["classes"]]


def _client(port, url, rng, out, i):
    try:
        with HttpConn(port, timeout=120) as c:
            h = [("Range", rng)] if rng else []
            r = get(c, url, headers=h)
            out[i] = (r.status, r.body_len)
    except Exception as e:             # the shim stops before the end
        out[i] = ("error", e)


def test_page_in_chromium_during_a_fill():
    dead = free_port()
    with Emu(ROOT, "--http10", "--no-range", "--rate", str(RATE)) as up, \
            Shim(conf(["127.0.0.1:%d" % dead, up.port], mode="cache",
                      extra={"upstream": {"hold_down": "60s"}})) as s:
        # One error for the error table: a host outside allow_hosts.
        with HttpConn(s.port) as c:
            r = get(c, "http://files.example.net/setup.exe")
            check(r.status == 403, "denied host: %d" % r.status)
            denied_id = r.header("X-Wsus-Shim-Request-Id")
        out = [None, None]
        ts = [threading.Thread(target=_client, args=(
            s.port, URL, "bytes=%d-%d" % (SIZE - 100, SIZE - 1) if i else None,
            out, i), daemon=True) for i in range(2)]
        for t in ts:
            t.start()
            time.sleep(0.3)
        # Wait (bounded) until some bytes are in, so the bar shows.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with HttpConn(s.port) as c:
                c.request("GET", "/status.json", host="127.0.0.1")
                body = c.read_response().body
            if b'"clients":2' in body and b'"done":0,' not in body:
                break
            time.sleep(0.1)
        time.sleep(1.0)
        page = "http://127.0.0.1:%d/" % s.port
        dom_text = browse(page, "--dump-dom")
        os.makedirs(ART, exist_ok=True)
        shot = os.path.join(ART, "status-page.png")
        if os.path.exists(shot):
            os.unlink(shot)
        browse(page, "--screenshot=" + shot, "--window-size=1280,900")
        done_during = [o for o in out if o is not None]
        check(not done_during, "a client finished before the browser ran: "
              "%r (the fill is too fast)" % (done_during,))

    dom = Dom()
    dom.feed(dom_text)
    check('data-loaded="1"' in dom_text,
          "the page never rendered status.json:\n%s" % dom_text[-3000:])
    # The transfer row: the file, its plan, progress bar and clients.
    xs = [r for r in dom.rows_of("transfer")
          if r["attrs"].get("data-file") == NAME]
    check(len(xs) == 1, "transfer rows %r" %
          [r["attrs"] for r in dom.rows_of("transfer")])
    x = xs[0]
    check(x["attrs"].get("data-plan") == "cache-fill", "plan %r" % x["attrs"])
    check(x["attrs"].get("data-total") == str(SIZE), "total %r" % x["attrs"])
    done = int(x["attrs"].get("data-done", "0"))
    check(0 < done < SIZE, "done %d" % done)
    cells = ["".join(c).strip() for c in x["cells"]]
    check(NAME in cells[0] and URL in cells[0], "file cell %r" % cells[0])
    check(cells[1].startswith("127.0.0.1:"), "client cell %r" % cells[1])
    check(cells[6] == "2", "clients cell %r" % cells[6])
    check("%" in cells[3] and " of 24.0 MiB" in cells[3],
          "progress cell %r" % cells[3])
    check(cells[4].endswith("/s"), "rate cell %r" % cells[4])
    pct = float(cells[3].split("%")[0].strip())
    check(0 <= pct < 100, "percent %r" % pct)
    check(x.get("fills") and x["fills"][0].startswith("width:"),
          "progress bar %r" % x.get("fills"))
    # The parents: the dead one held down, the emulator up.
    ps = {r["attrs"].get("data-label"): r for r in dom.rows_of("parent")}
    dl, ul = "127.0.0.1:%d" % dead, "127.0.0.1:%d" % up.port
    check(set(ps) == {dl, ul}, "parent rows %r" % list(ps))
    check(ps[dl]["attrs"].get("data-state") == "down" and
          "held down" in "".join(ps[dl]["cells"][1]),
          "dead parent %r" % ps[dl])
    check(ps[ul]["attrs"].get("data-state") == "up", "live parent %r" % ps[ul])
    check("".join(ps[ul]["cells"][2]) == "1.0", "HTTP %r" % ps[ul]["cells"])
    # The error row with the BITS code it would have caused.
    es = [r for r in dom.rows_of("error")
          if r["attrs"].get("data-reqid") == denied_id]
    check(len(es) == 1, "error rows %r" % [r["attrs"] for r in
                                          dom.rows_of("error")])
    ecells = ["".join(c) for c in es[0]["cells"]]
    check(ecells[3] == "403" and "0x80190193" in ecells[4] and
          "BG_E_HTTP_ERROR_403" in ecells[4], "error cells %r" % ecells)
    check(dom.by_id.get("f-listen") == "127.0.0.1:%d" % s.port,
          "listen %r" % dom.by_id.get("f-listen"))
    check(dom.by_id.get("f-range") == "cache", "range %r" %
          dom.by_id.get("f-range"))
    # The screenshot: a 1280 x 900 PNG.
    with open(shot, "rb") as f:
        head = f.read(24)
    check(head[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG")
    w, h = int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24],
                                                              "big")
    check((w, h) == (1280, 900), "screenshot %dx%d" % (w, h))
    check(os.path.getsize(shot) > 20000, "screenshot of %d bytes" %
          os.path.getsize(shot))
    print("screenshot: %s" % shot, flush=True)


if __name__ == "__main__":
    run([test_page_in_chromium_during_a_fill])
