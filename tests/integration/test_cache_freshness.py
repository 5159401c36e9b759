#!/usr/bin/env python3
"""Cache freshness: content files (named by their SHA-1) never change and
stay cached; any other file is fetched again once its cached copy is older
than [cache] unnamed_max_age."""

import time

from harness import Emu, Shim, HttpConn, check, run, make_file, \
    make_content_file
from common import conf, get, wu_url, tmpdir

ROOT = tmpdir("fresh-root-")
UNNAMED, UNNAMED_SHA = make_file(ROOT, "authrootstl.cab", 20000, seed=11)
_, NAMED, NAMED_SHA = make_content_file(ROOT, "kb123", 20000, seed=12)
BITS = [("User-Agent", "Microsoft BITS/7.8")]


def fetch_twice(name, sha, wait):
    with Emu(ROOT, "--http10", "--no-range") as up, \
            Shim(conf([up.port], mode="cache",
                      extra={"cache": {"unnamed_max_age": "1s"}})) as s, \
            HttpConn(s.port) as c:
        for i in range(2):
            r = get(c, wu_url("/" + name), headers=BITS)
            check(r.status == 200 and r.body_sha1 == sha,
                  "status %d" % r.status)
            if i == 0:
                time.sleep(wait)
        return up.path_stats("/" + name)["get"]


def test_unnamed_entry_is_refetched_when_stale():
    gets = fetch_twice("authrootstl.cab", UNNAMED_SHA, 2.2)
    check(gets == 2, "upstream GETs %d, want 2" % gets)


def test_unnamed_entry_is_served_while_fresh():
    gets = fetch_twice("authrootstl.cab", UNNAMED_SHA, 0)
    check(gets == 1, "upstream GETs %d, want 1" % gets)


def test_content_entry_never_goes_stale():
    gets = fetch_twice(NAMED, NAMED_SHA, 2.2)
    check(gets == 1, "upstream GETs %d, want 1" % gets)


run([v for k, v in sorted(globals().items()) if k.startswith("test_")])
