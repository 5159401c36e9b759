#!/usr/bin/env python3
"""wsus-shim probe: the real binary against upstream-emu (and a Basic-auth
Squid) as the parent. Each test names the parent's fault and asserts the
exact finding (level, BITS error, conf line), the exit code and, in
--json, the documented shape (docs/probe.md)."""

import json
import os
import shutil
import socket
import subprocess
import tempfile
import time

from harness import Emu, Skip, check, run, shim_path, make_file, free_port

ROOT = tempfile.mkdtemp(prefix="probe-root-")
FILE = "/c/msdownload/update/software/secu/2013/10/f.cab"
make_file(os.path.join(ROOT, FILE.strip("/").rsplit("/", 1)[0]), "f.cab",
          5000, seed=3)
URL = "http://download.windowsupdate.com" + FILE
SECRET = "Pr0be-Secret-42"
LEGACY = ("--http10", "--no-range", "--close-delimit", "--head-no-length")


def write_conf(parents, user=None, password=None, mode="cache",
               http_version="1.0", extra=""):
    d = tempfile.mkdtemp(prefix="probe-conf-")
    lines = ["[upstream]"]
    if parents:
        lines.append("proxy = " + ", ".join(parents))
    lines.append("http_version = " + http_version)
    if user is not None:
        lines += ["user = " + user, "password = " + password]
    lines += ["", "[limits]", "connect_timeout = 2s",
              "first_byte_timeout = 3s", "", "[range]", "mode = " + mode,
              "", "[cache]", "dir = %s/cache" % d, "", extra]
    path = os.path.join(d, "wsus-shim.conf")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def probe(conf, *args, url=URL, timeout=60):
    argv = [shim_path(), "probe", "-c", conf] + list(args)
    if url is not None:
        argv.append(url)
    p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def probe_json(conf, *args, **kw):
    rc, out, err = probe(conf, "--json", *args, **kw)
    try:
        doc = json.loads(out)
    except ValueError as e:
        raise AssertionError("not JSON (%s): %r %r" % (e, out, err))
    check(doc["probe_version"] == 1, "probe_version %r" % doc)
    check(doc["exit_code"] == rc, "exit_code %r vs %d" % (doc["exit_code"],
                                                          rc))
    return rc, doc, out + err


def findings(parent):
    f = {x["check"]: x for x in parent["findings"]}
    check(list(f) == ["connect", "http_version", "keep_alive", "auth",
                      "head", "range", "framing", "chunked_body",
                      "connect_443"], "checks %r" % list(f))
    for x in parent["findings"]:
        check(set(x) == {"check", "level", "text", "bits_error", "repaired",
                         "conf", "conf_set"}, "finding keys %r" % x)
        check(x["repaired"] == (x["level"] == "repaired"), "repaired %r" % x)
    return f


def expect(f, check_name, level, bits=None, conf=None, conf_set=True):
    x = f[check_name]
    check(x["level"] == level, "%s level %r" % (check_name, x))
    if bits is None:
        check(x["bits_error"] is None, "%s bits %r" % (check_name, x))
    else:
        check((x["bits_error"] or "").startswith(bits),
              "%s bits %r" % (check_name, x))
    check(x["conf"] == conf, "%s conf %r" % (check_name, x))
    check(x["conf_set"] == conf_set, "%s conf_set %r" % (check_name, x))


def tunnel_to(emu):
    return ("--connect", "127.0.0.1:%d" % emu.port)


def test_compliant_parent_all_ok():
    with Emu(ROOT, "--connect") as up:
        rc, doc, _ = probe_json(write_conf(["127.0.0.1:%d" % up.port],
                                           http_version="1.1"),
                                *tunnel_to(up))
        check(rc == 0, "exit %d" % rc)
        (par,) = doc["parents"]
        check(par["verdict"] == "works", "verdict %r" % par["verdict"])
        check(par["parent"] == "127.0.0.1:%d" % up.port, "parent %r" % par)
        check(par["direct"] is False and par["connect_ms"] >= 0, "%r" % par)
        f = findings(par)
        for name, x in f.items():
            check(x["level"] == "ok", "%s not ok: %r" % (name, x))
        check("206 with Content-Range bytes 0-99/5000 and 100 bytes"
              in f["range"]["text"], f["range"]["text"])
        check(par["auth"] == {"asked": False, "offered": [], "usable": [],
                              "results": {}, "scheme": None},
              "auth %r" % par["auth"])
        check(par["conf_changes"] == [], "conf_changes %r" % par)
        # What the parent saw: HEAD twice on one connection (keep-alive),
        # then one exchange per connection.
        log = up.log_lines()
        ranges = [x for x in log if x.get("range")]
        check(len(ranges) == 1 and ranges[0]["range"] == "bytes=0-99"
              and ranges[0]["status"] == 206, "ranges %r" % ranges)


def test_legacy_parent_repaired_by_cache_mode():
    with Emu(ROOT, *LEGACY, "--refuse-chunked", "--connect") as up:
        conf = write_conf(["127.0.0.1:%d" % up.port])
        rc, doc, _ = probe_json(conf, *tunnel_to(up))
        check(rc == 0, "exit %d" % rc)
        (par,) = doc["parents"]
        f = findings(par)
        expect(f, "connect", "ok")
        expect(f, "http_version", "repaired", "0x80200012",
               "[upstream] http_version = 1.0")
        expect(f, "keep_alive", "info")
        expect(f, "auth", "ok")
        expect(f, "head", "repaired", "0x80200011 BG_E_MISSING_FILE_SIZE",
               "[range] mode = cache")
        expect(f, "range", "repaired",
               "0x80200013 BG_E_INSUFFICIENT_RANGE_SUPPORT",
               "[range] mode = cache")
        check("Range dropped" in f["range"]["text"], f["range"]["text"])
        expect(f, "framing", "repaired", "0x80200011")
        expect(f, "chunked_body", "info")
        check("(411)" in f["chunked_body"]["text"], f["chunked_body"])
        expect(f, "connect_443", "ok")
        check(par["verdict"] == "works", "verdict %r" % par)

        # The same parent in human form: one aligned block.
        rc, out, err = probe(conf, *tunnel_to(up))
        check(rc == 0, "human exit %d: %s" % (rc, err))
        check("parent 1 of 1: 127.0.0.1:%d" % up.port in out, out)
        check("  range         repaired  Range dropped" in out, out)
        check("BITS without the shim: 0x80200013 "
              "BG_E_INSUFFICIENT_RANGE_SUPPORT" in out, out)
        check("conf: [range] mode = cache (set)" in out, out)
        check("  verdict       WORKS" in out, out)
        check(all(ord(c) < 128 for c in out), "non-ASCII output")


def test_legacy_parent_in_pass_mode_needs_conf():
    with Emu(ROOT, *LEGACY, "--connect") as up:
        rc, doc, _ = probe_json(write_conf(["127.0.0.1:%d" % up.port],
                                           mode="pass", http_version="1.1"),
                                *tunnel_to(up))
        check(rc == 1, "exit %d" % rc)
        (par,) = doc["parents"]
        f = findings(par)
        expect(f, "range", "repaired", "0x80200013", "[range] mode = cache",
               conf_set=False)
        expect(f, "http_version", "repaired", "0x80200012",
               "[upstream] http_version = 1.0", conf_set=False)
        check(par["verdict"] == "needs_conf", "verdict %r" % par)
        check(sorted(par["conf_changes"]) == [
            "[range] mode = cache", "[upstream] http_version = 1.0"],
            "conf_changes %r" % par["conf_changes"])


def test_206_without_content_range():
    with Emu(ROOT, "--no-content-range", "--connect") as up:
        conf = write_conf(["127.0.0.1:%d" % up.port], mode="slice",
                          http_version="1.1")
        rc, doc, _ = probe_json(conf, *tunnel_to(up))
        f = findings(doc["parents"][0])
        expect(f, "range", "repaired", "0x80200013", "[range] mode = cache",
               conf_set=False)
        check("206 with no Content-Range" in f["range"]["text"], f["range"])
        check(rc == 1, "exit %d" % rc)


def test_basic_auth_passes_and_password_never_shown():
    with Emu(ROOT, "--auth", "u:" + SECRET, "--connect") as up:
        conf = write_conf(["127.0.0.1:%d" % up.port], user="u",
                          password=SECRET, http_version="1.1")
        rc, doc, text = probe_json(conf, *tunnel_to(up))
        check(rc == 0, "exit %d: %s" % (rc, text))
        par = doc["parents"][0]
        check(par["auth"]["asked"] is True, "%r" % par["auth"])
        check(par["auth"]["offered"] == ["Basic"], "%r" % par["auth"])
        check(par["auth"]["results"] == {"Basic": "passed"},
              "%r" % par["auth"])
        check(par["auth"]["scheme"] == "Basic", "%r" % par["auth"])
        f = findings(par)
        expect(f, "auth", "ok")
        # Every later check ran with the credentials.
        expect(f, "range", "ok")
        expect(f, "connect_443", "ok")
        rc2, out, err = probe(conf, *tunnel_to(up))
        import base64
        b64 = base64.b64encode(("u:" + SECRET).encode()).decode()
        for t in (text, out, err):
            check(SECRET not in t and b64 not in t, "secret in output")
        check("Basic: passed" in out, out)


def test_basic_auth_refused():
    with Emu(ROOT, "--auth", "u:right", "--connect") as up:
        conf = write_conf(["127.0.0.1:%d" % up.port], user="u",
                          password=SECRET)
        rc, doc, text = probe_json(conf, *tunnel_to(up))
        check(rc == 1, "exit %d" % rc)
        par = doc["parents"][0]
        f = findings(par)
        expect(f, "auth", "fail", "0x80190197 BG_E_HTTP_ERROR_407")
        check("credentials refused" in f["auth"]["text"], f["auth"])
        expect(f, "head", "skipped")
        check(par["auth"]["results"] == {"Basic": "refused"}, "%r" % par)
        check(par["verdict"] == "fails", "%r" % par)
        check(SECRET not in text, "secret in output")


def test_407_without_credentials():
    with Emu(ROOT, "--auth", "u:p") as up:
        rc, doc, _ = probe_json(write_conf(["127.0.0.1:%d" % up.port]))
        check(rc == 1, "exit %d" % rc)
        f = findings(doc["parents"][0])
        expect(f, "auth", "fail", "0x80190197", "[upstream] user + password",
               conf_set=False)
        check(doc["parents"][0]["auth"]["results"] == {"Basic": "not usable"},
              "%r" % doc["parents"][0]["auth"])


def test_connect_refused_names_403():
    # upstream-emu answers CONNECT to an address off loopback with 403
    # (without dialing it), to a name with 400, and without --connect 405.
    with Emu(ROOT, "--connect") as up:
        conf = write_conf(["127.0.0.1:%d" % up.port], http_version="1.1")
        rc, doc, _ = probe_json(conf, "--connect", "192.0.2.1:443")
        check(rc == 1, "exit %d" % rc)
        f = findings(doc["parents"][0])
        expect(f, "connect_443", "fail", "0x80190193 BG_E_HTTP_ERROR_403")
        check(doc["parents"][0]["verdict"] == "fails", "%r" % doc)
        rc, doc, _ = probe_json(conf)
        f = findings(doc["parents"][0])
        expect(f, "connect_443", "fail", "0x80190190 BG_E_HTTP_ERROR_400")
        connects = [x["target"] for x in up.log_lines()
                    if x["method"] == "CONNECT"]
        check(connects == ["192.0.2.1:443",
                           "download.windowsupdate.com:443"],
              "CONNECT targets %r" % connects)


def test_unreachable_parent_and_second_parent():
    dead = free_port()
    with Emu(ROOT, "--connect") as up:
        conf = write_conf(["127.0.0.1:%d" % up.port, "127.0.0.1:%d" % dead],
                          http_version="1.1")
        t0 = time.monotonic()
        rc, doc, _ = probe_json(conf, *tunnel_to(up))
        check(time.monotonic() - t0 < 30, "took too long")
        check(rc == 1, "exit %d" % rc)
        p1, p2 = doc["parents"]
        check(p1["verdict"] == "works", "first %r" % p1["verdict"])
        check(p2["verdict"] == "fails", "second %r" % p2["verdict"])
        f = findings(p2)
        expect(f, "connect", "fail", "0x80072EFD")
        for name in ("http_version", "auth", "range", "connect_443"):
            expect(f, name, "skipped")
        check(p2["connect_ms"] is None and p2["address"] is None, "%r" % p2)


def test_unresolvable_parent():
    conf = write_conf(["no-such-host.invalid:3128"])
    rc, out, err = probe(conf)
    check(rc == 1, "exit %d" % rc)
    check("connect       fail      name not resolved" in out, out)
    check("0x80072EE7" in out, out)


def test_direct_without_parent():
    with Emu(ROOT, "--connect") as origin:
        conf = write_conf([], http_version="1.1")
        rc, doc, _ = probe_json(conf, *tunnel_to(origin),
                                url=origin.url(FILE))
        check(rc == 0, "exit %d" % rc)
        (par,) = doc["parents"]
        check(par["direct"] is True and par["parent"] is None, "%r" % par)
        f = findings(par)
        expect(f, "range", "ok")
        expect(f, "connect_443", "ok")
        # Direct requests are origin-form.
        targets = {x["target"] for x in origin.log_lines()}
        check(targets == {FILE}, "targets %r" % targets)


def test_usage_and_conf_errors():
    rc, out, err = probe("/nonexistent/wsus-shim.conf")
    check(rc == 2, "exit %d" % rc)
    check("/nonexistent/wsus-shim.conf" in err, err)
    conf = write_conf(["127.0.0.1:1"], extra="[range]\nmode = sideways\n")
    rc, out, err = probe(conf)
    check(rc == 2, "exit %d" % rc)
    check(("%s:" % conf) in err and "mode" in err, err)
    import re
    check(re.search(re.escape(conf) + r":\d+: ", err), "no FILE:LINE: " + err)
    rc, out, err = probe(write_conf([]), "--bogus")
    check(rc == 2 and "unknown argument" in err, "%d %s" % (rc, err))
    rc, out, err = probe(write_conf([]), url="https://example.com/x")
    check(rc == 2 and "bad URL" in err, "%d %s" % (rc, err))
    p = subprocess.run([shim_path(), "--help"], capture_output=True,
                       text=True, timeout=10)
    check(p.returncode == 0 and "wsus-shim probe" in p.stdout, p.stdout)


def test_squid_basic_auth():
    squid = shutil.which("squid") or "/usr/sbin/squid"
    helper = "/usr/lib/squid/basic_fake_auth"
    if not os.access(squid, os.X_OK) or not os.access(helper, os.X_OK):
        raise Skip("squid or basic_fake_auth not installed")
    d = tempfile.mkdtemp(prefix="probe-squid-")
    # Started as root, Squid works as its cache_effective_user (proxy).
    os.chmod(d, 0o777)
    port = free_port()
    with Emu(ROOT) as origin:
        sconf = os.path.join(d, "squid.conf")
        with open(sconf, "w") as f:
            f.write("\n".join([
                "http_port 127.0.0.1:%d" % port,
                "pid_filename %s/squid.pid" % d,
                "cache_log %s/cache.log" % d,
                "access_log %s/access.log" % d,
                "cache deny all",
                "cache_mem 8 MB",
                "coredump_dir %s" % d,
                "auth_param basic program %s" % helper,
                "auth_param basic children 1 startup=1 idle=1",
                "auth_param basic realm probe",
                "acl authed proxy_auth REQUIRED",
                "acl SSL_ports port %d" % origin.port,
                "http_access deny CONNECT !SSL_ports",
                "http_access allow authed",
                "http_access deny all",
                "shutdown_lifetime 1 second",
                "",
            ]))
        sp = subprocess.Popen([squid, "-N", "-f", sconf, "-n",
                               "probe%d" % os.getpid()],
                              stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 20
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), 0.5).close()
                    break
                except OSError:
                    if sp.poll() is not None or time.monotonic() > deadline:
                        raise Skip("squid did not start")
                    time.sleep(0.2)
            conf = write_conf(["127.0.0.1:%d" % port], user="probeuser",
                              password=SECRET, http_version="1.1")
            rc, doc, text = probe_json(conf, *tunnel_to(origin),
                                       url=origin.url(FILE))
            par = doc["parents"][0]
            f = findings(par)
            check(par["auth"]["offered"] == ["Basic"], "%r" % par["auth"])
            check(par["auth"]["results"] == {"Basic": "passed"},
                  "%r" % par["auth"])
            expect(f, "auth", "ok")
            expect(f, "http_version", "ok", None,
                   "[upstream] http_version = 1.1")
            expect(f, "range", "ok")
            expect(f, "connect_443", "ok")
            check(SECRET not in text, "secret in output")
            check(rc == 0, "exit %d: %r" % (rc, doc))
        finally:
            sp.terminate()
            try:
                sp.wait(10)
            except subprocess.TimeoutExpired:
                sp.kill()
                sp.wait(5)
            shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    run([
        test_compliant_parent_all_ok,
        test_legacy_parent_repaired_by_cache_mode,
        test_legacy_parent_in_pass_mode_needs_conf,
        test_206_without_content_range,
        test_basic_auth_passes_and_password_never_shown,
        test_basic_auth_refused,
        test_407_without_credentials,
        test_connect_refused_names_403,
        test_unreachable_parent_and_second_parent,
        test_unresolvable_parent,
        test_direct_without_parent,
        test_usage_and_conf_errors,
        test_squid_basic_auth,
    ])
