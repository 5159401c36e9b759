#!/usr/bin/env python3
"""The Windows release zip (python3 stdlib only).

    test_package.py --version VERSION --objdump OBJDUMP

Checks $WSUS_WIN_BUILD/wsus-shim-VERSION-win64.zip, which
tools/win/package.sh makes from the build:

- it is newer than the two programs it packs (else: run package.sh);
- the exact list of entries, all in one top folder, sorted, with one
  timestamp; the debug zip beside it holds the two .debug files;
- every text entry has CRLF line ends only, and says what its source in
  the tree says (README.md, docs, sql, the confs), unless that source
  changed after the zip was made (the tree is shared while tests run);
- the Windows conf has no POSIX paths and the same sections and keys as
  conf/wsus-shim.conf, so the two cannot drift apart;
- each licence file names its library and holds its licence text;
- unzipped, both .exe import only Windows system DLLs, carry no DWARF;
  wsus-shim.exe carries the Event Log message table (ids 1-4, English,
  each its one insertion string, as plat_syslog reports events); and
  under Wine: wsus-shim.exe --version and -t -c conf\\wsus-shim.conf
  pass, wsus-fixer.exe --help works and loads conf\\wsus-fixer.conf.

Wine runs in $WINEPREFIX (tools/win/build.sh exports one; else the build
folder's wine/), every run bounded by a timeout; nothing here stops the
Wine server, which other tests share.
"""
import argparse
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import zipfile

import wine_util

RUN_TIMEOUT = 120  # seconds for one program run under Wine

# Windows' own DLLs the programs may import (lower case). Anything else
# (libwinpthread-1.dll, libgcc_s_*.dll, libcrypto-3-x64.dll, ...) would
# have to be shipped, and the zip does not.
SYSTEM_DLLS = {
    "advapi32.dll", "bcrypt.dll", "comdlg32.dll", "crypt32.dll",
    "dnsapi.dll", "gdi32.dll", "iphlpapi.dll", "kernel32.dll",
    "msvcrt.dll", "ncrypt.dll", "netapi32.dll", "odbc32.dll", "ole32.dll",
    "oleaut32.dll", "psapi.dll", "rpcrt4.dll", "secur32.dll",
    "shell32.dll", "shlwapi.dll", "user32.dll", "userenv.dll",
    "version.dll", "winspool.drv", "ws2_32.dll", "wtsapi32.dll",
}

# licences/FILE: (first line starts with, texts it must contain).
LICENCES = {
    "OpenSSL.txt": ("OpenSSL", ["Apache License", "Version 2.0",
                                "The OpenSSL Project Authors"]),
    "libevent.txt": ("libevent", ["Niels Provos",
                                  "Redistribution and use in source"]),
    "llhttp.txt": ("llhttp", ["Fedor Indutny",
                              "Permission is hereby granted"]),
    "inih.txt": ("inih", ["Ben Hoyt", "Redistribution and use in source"]),
    "mingw-w64.txt": ("mingw-w64", ["the mingw-w64 project", "ZPL-2.1"]),
    "libgcc.txt": ("libgcc", ["GCC RUNTIME LIBRARY EXCEPTION",
                              "GNU GENERAL PUBLIC LICENSE",
                              "Version 3, 29 June 2007"]),
}

failures = []


def check(cond, what, *ctx):
    """Record a failure (with context) and go on; the verdict is at the
    end, so one run reports everything that is wrong."""
    if not cond:
        failures.append(what + "".join("\n    | " + str(c).replace(
            "\n", "\n    | ") for c in ctx))
    return cond


def crlf(data):
    """data as the package makes text: CRLF line ends, final newline."""
    text = data.replace(b"\r\n", b"\n")
    if not text.endswith(b"\n"):
        text += b"\n"
    return text.replace(b"\n", b"\r\n")


def conf_keys(text):
    """{(section, key)} of an INI conf, commented-out keys included."""
    keys = set()
    sect = None
    for line in text.splitlines():
        m = re.match(r"^\[([a-z_]+)\]\s*$", line)
        if m:
            sect = m.group(1)
            continue
        m = re.match(r"^;?([a-z_]+) *=", line)
        if m:
            keys.add((sect, m.group(1)))
    return keys


def wine(cwd, *argv):
    """Run argv under Wine in cwd: (exit code, stdout, stderr), LF ends;
    (None, "", reason) when it did not finish within RUN_TIMEOUT."""
    os.environ.setdefault("WINEPREFIX",
                          os.path.join(os.environ["WSUS_WIN_BUILD"], "wine"))
    try:
        p = wine_util.wine(argv, timeout=RUN_TIMEOUT, cwd=cwd)
    except subprocess.TimeoutExpired:
        return None, "", "no exit within %d s" % RUN_TIMEOUT
    return (p.returncode, p.stdout.replace("\r\n", "\n"),
            p.stderr.replace("\r\n", "\n"))


def objdump(tool, flag, path):
    p = subprocess.run([tool, flag, path], capture_output=True, text=True,
                       errors="replace", timeout=RUN_TIMEOUT)
    check(p.returncode == 0, "objdump %s %s failed" % (flag, path), p.stderr)
    return p.stdout


def expected_entries(src, top):
    files = ["wsus-shim.exe", "wsus-fixer.exe", "README.md",
             "conf/wsus-shim.conf", "conf/wsus-fixer.conf",
             "licences/README.txt"]
    files += ["licences/" + f for f in LICENCES]
    files += ["docs/" + f for f in os.listdir(os.path.join(src, "docs"))
              if f.endswith(".md")]
    files += ["sql/" + f for f in os.listdir(os.path.join(src, "sql"))
              if f.endswith(".sql")]
    dirs = ["", "conf/", "docs/", "licences/", "sql/"]
    return {top + d for d in dirs} | {top + f for f in files}


# What each text entry must be: its source in the tree, with CRLF.
def text_sources(src):
    m = {"README.md": "README.md",
         "conf/wsus-shim.conf": "conf/wsus-shim.windows.conf",
         "conf/wsus-fixer.conf": "conf/wsus-fixer.conf"}
    for d, ext in (("docs", ".md"), ("sql", ".sql")):
        for f in os.listdir(os.path.join(src, d)):
            if f.endswith(ext):
                m[d + "/" + f] = d + "/" + f
    return m


def newer(src, rel, made):
    """Whether src/rel changed after the zip was made (others may edit the
    tree while the tests run): then the zip cannot be compared with it."""
    try:
        t = os.path.getmtime(os.path.join(src, rel))
    except OSError:
        return True
    if t > made:
        print("note: %s changed after the zip was made; not compared" % rel)
        return True
    return False


def check_zip(z, src, top, made):
    infos = z.infolist()
    names = [i.filename for i in infos]
    want = expected_entries(src, top)
    for d in ("docs", "sql"):
        if newer(src, d, made):
            names = [n for n in names if not n.startswith(top + d + "/")]
            want = {n for n in want if not n.startswith(top + d + "/")}
    check(len(names) == len(set(names)), "duplicate entries", names)
    check(set(names) == want, "entries differ from the expected list",
          "missing: %s" % sorted(want - set(names)),
          "unexpected: %s" % sorted(set(names) - want))
    check([i.filename for i in infos] == sorted(i.filename for i in infos),
          "entries not sorted")
    stamps = {i.date_time for i in infos}
    check(len(stamps) == 1, "entries have different timestamps", stamps)
    for i in infos:
        if i.is_dir():
            check(i.external_attr & 0x10, "%s: no directory attribute"
                  % i.filename)
            continue
        check(i.compress_type == zipfile.ZIP_DEFLATED,
              "%s: not deflated" % i.filename)

    for i in infos:
        if i.is_dir() or i.filename.endswith(".exe"):
            continue
        data = z.read(i.filename)
        check(b"\n" in data and data.count(b"\n") == data.count(b"\r\n"),
              "%s: not CRLF line ends only" % i.filename)
        check(b"\r\r" not in data, "%s: doubled CR" % i.filename)

    for rel, srcrel in text_sources(src).items():
        name = top + rel
        if name not in names or newer(src, srcrel, made):
            continue
        data = z.read(name)
        with open(os.path.join(src, srcrel), "rb") as f:
            check(data == crlf(f.read()),
                  "%s: differs from %s (line ends aside)" % (rel, srcrel))

    # The Windows conf: Windows paths only, and the keys of the POSIX one.
    name = top + "conf/wsus-shim.conf"
    if name in names:
        text = z.read(name).decode("utf-8")
        for bad in ("/etc/", "/var/", "make run", "0600"):
            check(bad not in text, "conf/wsus-shim.conf mentions %r" % bad)
    if name in names and not newer(src, "conf/wsus-shim.conf", made):
        with open(os.path.join(src, "conf", "wsus-shim.conf")) as f:
            posix = conf_keys(f.read())
        win = conf_keys(text)
        check(win == posix,
              "conf/wsus-shim.windows.conf and conf/wsus-shim.conf list "
              "different keys",
              "only in the Windows conf: %s" % sorted(win - posix),
              "only in the POSIX conf: %s" % sorted(posix - win))
    name = top + "conf/wsus-fixer.conf"
    if name in names:
        text = z.read(name).decode("utf-8")
        check("C:\\ProgramData\\wsus-shim\\" in text and "/tmp" not in text,
              "conf/wsus-fixer.conf is not the Windows reference conf")

    for lic, (first, texts) in LICENCES.items():
        name = top + "licences/" + lic
        if name not in names:
            continue
        text = z.read(name).decode("utf-8", "replace")
        check(len(text) > 1000, "licences/%s: %d characters only"
              % (lic, len(text)))
        check(text.startswith(first),
              "licences/%s does not start with %r" % (lic, first),
              text[:200])
        for t in texts:
            check(t in text, "licences/%s lacks %r" % (lic, t))
    name = top + "licences/README.txt"
    if name in names:
        text = z.read(name).decode("utf-8")
        for lic in LICENCES:
            check(lic in text, "licences/README.txt does not list %s" % lic)


def check_exe(tool, path):
    base = os.path.basename(path)
    dlls = re.findall(r"DLL Name:\s*(\S+)", objdump(tool, "-p", path))
    check("kernel32.dll" in {d.lower() for d in dlls},
          "%s: no KERNEL32.dll among its imports" % base, dlls)
    others = sorted(d for d in dlls if d.lower() not in SYSTEM_DLLS)
    check(not others, "%s imports DLLs that are not Windows': %s"
          % (base, others))
    sections = re.findall(r"^\s*\d+\s+(\S+)", objdump(tool, "-h", path),
                          re.M)
    check(not [s for s in sections if s.startswith(".debug_")],
          "%s is not stripped" % base, sections)
    check(".gnu_debuglink" in sections,
          "%s has no .gnu_debuglink" % base, sections)


def message_table(path):
    """{(language, message id): text} of a PE file's RT_MESSAGETABLE
    resources (the PE/COFF resource tree, then MESSAGE_RESOURCE_DATA)."""
    with open(path, "rb") as f:
        b = f.read()
    pe = struct.unpack_from("<I", b, 0x3c)[0]
    if b[pe:pe + 4] != b"PE\0\0":
        raise ValueError("%s: not a PE file" % path)
    nsec = struct.unpack_from("<H", b, pe + 6)[0]
    optsize = struct.unpack_from("<H", b, pe + 20)[0]
    opt = pe + 24
    pe32plus = struct.unpack_from("<H", b, opt)[0] == 0x20b
    rsrc_rva = struct.unpack_from("<I", b, opt + (112 if pe32plus else 96)
                                  + 2 * 8)[0]
    secs = []
    for i in range(nsec):
        vsize, va, rawsize, rawptr = struct.unpack_from(
            "<IIII", b, opt + optsize + 40 * i + 8)
        secs.append((va, max(vsize, rawsize), rawptr))

    def off(rva):
        for va, size, raw in secs:
            if va <= rva < va + size:
                return raw + rva - va
        raise ValueError("%s: RVA %#x outside its sections" % (path, rva))

    if rsrc_rva == 0:
        return {}  # no resources at all
    base = off(rsrc_rva)

    def entries(d):
        named, ids = struct.unpack_from("<HH", b, base + d + 12)
        for i in range(named + ids):
            yield struct.unpack_from("<II", b, base + d + 16 + 8 * i)

    out = {}
    for typ, to1 in entries(0):
        if typ != 11 or not to1 & 0x80000000:  # RT_MESSAGETABLE
            continue
        for _, to2 in entries(to1 & 0x7fffffff):
            for lang, to3 in entries(to2 & 0x7fffffff):
                d = off(struct.unpack_from("<I", b, base + to3)[0])
                for k in range(struct.unpack_from("<I", b, d)[0]):
                    lo, hi, eoff = struct.unpack_from("<III", b,
                                                      d + 4 + 12 * k)
                    p = d + eoff
                    for mid in range(lo, hi + 1):
                        ln, flags = struct.unpack_from("<HH", b, p)
                        raw = b[p + 4:p + ln]
                        out[(lang, mid)] = raw.decode(
                            "utf-16-le" if flags & 1 else "latin-1") \
                            .rstrip("\0")
                        p += ln
    return out


def check_message_table(path):
    """Event ids 1-4 are error, warning, information and debug lines
    (plat_syslog: 1 + level); the Event Viewer shows an event's text by
    its id, so each must be the insertion string %1 and nothing else."""
    table = message_table(path)
    want = {(0x409, i): "%1" for i in range(1, 5)}
    got = {k: v.rstrip("\r\n") for k, v in table.items()}
    check(got == want, "%s: message table %r, want ids 1-4 in English "
          "(0x409), each %%1" % (os.path.basename(path), table))


def check_run(root, version):
    rc, out, err = wine(root, "wsus-shim.exe", "--version")
    check(rc == 0 and out.strip() == "wsus-shim " + version,
          "wsus-shim.exe --version: exit %s" % rc, out, err)

    rc, out, err = wine(root, "wsus-shim.exe", "-t", "-c",
                        "conf\\wsus-shim.conf")
    check(rc == 0 and "configuration OK" in out + err,
          "wsus-shim.exe -t -c conf\\wsus-shim.conf: exit %s" % rc, out, err)
    m = re.search(r"^dir = (.*)$", out, re.M)
    check(m is not None and
          m.group(1).lower().endswith("\\programdata\\wsus-shim\\cache"),
          "the Windows conf's cache folder is not "
          "%ProgramData%\\wsus-shim\\cache", m and m.group(1))

    rc, out, err = wine(root, "wsus-fixer.exe", "--help")
    check(rc == 0 and out.startswith("usage: wsus-fixer"),
          "wsus-fixer.exe --help: exit %s" % rc, out, err)
    if "--version" in out:
        rc, out2, err = wine(root, "wsus-fixer.exe", "--version")
        check(rc == 0 and version in out2,
              "wsus-fixer.exe --version: exit %s" % rc, out2, err)
    else:
        print("note: wsus-fixer has no --version; not checked")

    # The fixer's conf loads (-v prints it as read), then connection =
    # auto needs WSUS's registry key: exit 2 naming it on a prefix without
    # WSUS; with one, status runs (read-only) and exits 0 or 1.
    rc, out, err = wine(root, "wsus-fixer.exe", "-c",
                        "conf\\wsus-fixer.conf", "-v", "status")
    check(rc in (0, 1) or (rc == 2 and "connection = auto:" in err),
          "wsus-fixer.exe -c conf\\wsus-fixer.conf -v status: exit %s"
          % rc, out, err)
    check("conf [service] backend = scm" in err and
          re.search(r"conf \[fixer\] shim_conf = \S*wsus-shim\.conf$", err,
                    re.M),
          "wsus-fixer.exe did not load conf\\wsus-fixer.conf", err)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--version", required=True)
    ap.add_argument("--objdump", required=True)
    a = ap.parse_args()
    build = os.environ["WSUS_WIN_BUILD"]
    src = os.environ["WSUS_SRC"]
    name = "wsus-shim-%s-win64" % a.version
    path = os.path.join(build, name + ".zip")
    dpath = os.path.join(build, name + "-debug.zip")

    if not os.path.isfile(path):
        print("FAIL: no %s (tools/win/package.sh %s makes it)"
              % (path, build))
        return 1
    for exe in (os.environ["WSUS_SHIM_EXE"], os.environ["WSUS_FIXER_EXE"]):
        check(os.path.getmtime(path) >= os.path.getmtime(exe),
              "%s is older than %s: run tools/win/package.sh %s"
              % (path, exe, build))

    top = name + "/"
    with zipfile.ZipFile(path) as z:
        check(z.testzip() is None, "%s: a corrupt entry" % path)
        check_zip(z, src, top, os.path.getmtime(path))
        tmp = tempfile.mkdtemp(prefix="package-", dir=os.getcwd())
        try:
            z.extractall(tmp)
            root = os.path.join(tmp, name)
            for exe in ("wsus-shim.exe", "wsus-fixer.exe"):
                p = os.path.join(root, exe)
                if check(os.path.isfile(p), "%s not unzipped" % exe):
                    check_exe(a.objdump, p)
            p = os.path.join(root, "wsus-shim.exe")
            if os.path.isfile(p):
                check_message_table(p)
            if os.path.isdir(root):
                check_run(root, a.version)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    if check(os.path.isfile(dpath), "no %s" % dpath):
        with zipfile.ZipFile(dpath) as z:
            want = {top, top + "wsus-shim.exe.debug",
                    top + "wsus-fixer.exe.debug"}
            check(set(z.namelist()) == want, "debug zip entries",
                  sorted(z.namelist()))

    size = os.path.getsize(path)
    if failures:
        for f in failures:
            print("FAIL: " + f)
        return 1
    print("ok: %s (%d bytes, %d entries)" % (path, size,
                                             len(zipfile.ZipFile(path)
                                                 .namelist())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
