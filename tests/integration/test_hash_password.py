#!/usr/bin/env python3
"""wsus-shim hash-password: the NT hash of a password piped on standard
input or typed at a terminal without echo, printed as conf lines; wrong
usage exits 2, an empty or invalid password 1, and the password never
appears in the output. The expected hashes come from [MS-NLMP] 4.2.2.1.2
and from an MD4 written here in Python (hashlib has none under OpenSSL
3), independent of proxy/ntlm.c."""

import os
import pty
import select
import struct
import subprocess
import time

from harness import check, run, shim_path

SPEC_HASH = "a4f49c406510bdcab6824ee7c30fd852"  # NT hash of "Password"


def md4(data):
    """RFC 1320."""
    def rotl(x, s):
        return ((x << s) | (x >> (32 - s))) & 0xffffffff
    msg = data + b"\x80" + b"\0" * ((55 - len(data)) % 64) + \
        struct.pack("<Q", len(data) * 8)
    h = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476]
    for off in range(0, len(msg), 64):
        x = struct.unpack("<16I", msg[off:off + 64])
        a, b, c, d = h
        rounds = (
            (lambda b, c, d: (b & c) | (~b & d), 0, range(16),
             (3, 7, 11, 19)),
            (lambda b, c, d: (b & c) | (b & d) | (c & d), 0x5a827999,
             (0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15),
             (3, 5, 9, 13)),
            (lambda b, c, d: b ^ c ^ d, 0x6ed9eba1,
             (0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15),
             (3, 9, 11, 15)),
        )
        for f, k, order, shifts in rounds:
            for i, j in enumerate(order):
                t = (a + f(b, c, d) + x[j] + k) & 0xffffffff
                a, b, c, d = d, rotl(t, shifts[i % 4]), b, c
        h = [(v + w) & 0xffffffff for v, w in zip(h, (a, b, c, d))]
    return struct.pack("<4I", *h).hex()


def hashpw(args, stdin):
    r = subprocess.run([shim_path(), "hash-password"] + args, input=stdin,
                       capture_output=True, timeout=30)
    return r.returncode, r.stdout.decode("utf-8", "replace"), \
        r.stderr.decode("utf-8", "replace")


def test_python_md4_matches_spec():
    # The reference itself, against RFC 1320 and [MS-NLMP].
    check(md4(b"abc") == "a448017aaf21d8525fc10ae87aa6729d", "md4 abc")
    check(md4(b"1234567890" * 8) == "e33b4ddc9c38f2199c3e7b164fcc0536",
          "md4 80 digits")
    check(md4("Password".encode("utf-16le")) == SPEC_HASH, "md4 Password")


def test_piped_password():
    rc, out, err = hashpw([], b"Password\n")
    check(rc == 0, "exit %d: %r" % (rc, err))
    check(out == "password_hash = %s\n" % SPEC_HASH, "stdout %r" % out)
    check("Password" not in out + err.replace("Password: ", ""),
          "the password was printed")


def test_user_line():
    rc, out, err = hashpw(["-u", "CORP\\alice"], b"Password\n")
    check(rc == 0, "exit %d: %r" % (rc, err))
    check(out == "user = CORP\\alice\npassword_hash = %s\n" % SPEC_HASH,
          "stdout %r" % out)


def test_line_endings():
    # CR LF, no final newline, and only the first line counts.
    for data in (b"Password\r\n", b"Password", b"Password\nsecond\n"):
        rc, out, _ = hashpw([], data)
        check(rc == 0 and out == "password_hash = %s\n" % SPEC_HASH,
              "%r: exit %d, %r" % (data, rc, out))


def test_non_ascii_password():
    pw = "P\u00e4ssw\u00f6rd\u20ac \U0001f600"  # a surrogate pair in UTF-16
    rc, out, _ = hashpw([], pw.encode() + b"\n")
    want = md4(pw.encode("utf-16le"))
    check(rc == 0 and out == "password_hash = %s\n" % want,
          "exit %d, %r, want %s" % (rc, out, want))


def test_wrong_usage_exits_2():
    for args in (["Password"], ["-u"], ["-x"], ["-u", "a", "-u", "b"],
                 ["-u", "\\alice"], ["-u", "CORP\\"], ["-u", ""]):
        rc, out, err = hashpw(args, b"Password\n")
        check(rc == 2, "%r: exit %d" % (args, rc))
        check(out == "", "%r: stdout %r" % (args, out))
        check("Password" not in err, "%r: the password in stderr" % args)


def test_no_usable_password_exits_1():
    for data in (b"", b"\n", b"\r\n", b"\xff\xfe\n", b"x" * 5000 + b"\n"):
        rc, out, err = hashpw([], data)
        check(rc == 1, "%r: exit %d" % (data[:16], rc))
        check(out == "", "%r: stdout %r" % (data[:16], out))


def test_terminal_without_echo():
    # A pseudo-terminal as stdin and stderr: the prompt appears, the typed
    # password is not echoed back, the hash goes to stdout.
    master, slave = pty.openpty()
    p = subprocess.Popen([shim_path(), "hash-password"], stdin=slave,
                         stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    seen = b""
    try:
        deadline = time.monotonic() + 10
        while b"Password: " not in seen and time.monotonic() < deadline:
            if select.select([master], [], [], 0.2)[0]:
                seen += os.read(master, 1024)
        check(b"Password: " in seen, "no prompt: %r" % seen)
        os.write(master, b"Password\n")
        out, _ = p.communicate(timeout=10)
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline:
            if not select.select([master], [], [], 0.2)[0]:
                break
            try:
                chunk = os.read(master, 1024)
            except OSError:  # EIO: the child closed its side
                break
            if not chunk:
                break
            seen += chunk
    finally:
        if p.poll() is None:
            p.kill()
            p.wait(5)
        os.close(master)
    check(p.returncode == 0, "exit %s" % p.returncode)
    check(out.decode() == "password_hash = %s\n" % SPEC_HASH,
          "stdout %r" % out)
    check(b"Password" not in seen.replace(b"Password: ", b""),
          "the password was echoed: %r" % seen)


if __name__ == "__main__":
    run([test_python_md4_matches_spec, test_piped_password, test_user_line,
         test_line_endings, test_non_ascii_password,
         test_wrong_usage_exits_2, test_no_usable_password_exits_1,
         test_terminal_without_echo])
