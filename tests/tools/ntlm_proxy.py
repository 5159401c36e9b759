#!/usr/bin/python3
"""ntlm_proxy.py - a strict NTLM-authenticating HTTP proxy for tests.

The verifying side is gss-ntlmssp (the GSSAPI NTLMSSP mechanism, Debian
package gss-ntlmssp), driven through python3-gssapi (Debian package; run
this with /usr/bin/python3 so the module is found). We never judge the
NTLM messages ourselves: each connection gets its own acceptor context
(gssapi.SecurityContext(usage="accept") on acceptor credentials of the
NTLMSSP mechanism, OID 1.3.6.1.4.1.311.2.2.10), which decodes our NEGOTIATE_MESSAGE, makes
the CHALLENGE_MESSAGE and checks the AUTHENTICATE_MESSAGE (NTLMv2
response, MIC when MsvAvFlags says one is there) against a users file.

    /usr/bin/python3 ntlm_proxy.py --users FILE --log FILE
        [--max-conns N] [--timeout S] [--lifetime S] [--mech-so PATH]

    --users FILE   gss-ntlmssp's NTLM_USER_FILE, lines DOMAIN:USER:PASSWORD
    --log FILE     one line per answered request (below)

Environment: the process sets NTLM_USER_FILE to --users and
GSS_MECH_CONFIG to a mech file of its own (in a private temporary folder,
naming gssntlmssp.so) before gssapi is first used, so neither the system's
/etc/gss/mech.d nor the caller's environment decides anything.

On 127.0.0.1, port 0; the first line on stdout is "port N". Per
connection (HTTP/1.1 keep-alive, Content-Length framing only):
  - no Proxy-Authorization, or not NTLM: 407 with "Proxy-Authenticate:
    NTLM", Content-Length 0;
  - "NTLM <Type 1>": a fresh acceptor context; 407 with
    "Proxy-Authenticate: NTLM <Type 2>";
  - "NTLM <Type 3>": the context completes or fails. Complete: the
    connection is authenticated (as NTLM does) and this and every later
    request on it get 200 with the body "ok <user>\n". Failure: 407
    "Proxy-Authenticate: NTLM" again and a "REFUSED" log line.
Log lines: "OK <user> <method> <target>" and "REFUSED <gss error>";
secrets never appear there.

Bounded: at most --max-conns connections at once (more are closed at
once), --timeout seconds of idleness per connection, heads of at most
16 KiB, bodies of at most 1 MiB, and the whole process exits after
--lifetime seconds (default 120) even if nobody stops it.
"""

import argparse
import base64
import glob
import os
import socket
import sys
import tempfile
import threading
import time

NTLMSSP_OID = "1.3.6.1.4.1.311.2.2.10"
MAX_HEAD = 16384
MAX_BODY = 1024 * 1024

gssapi = None  # imported in main(), after the environment is set
log_lock = threading.Lock()


def find_mech_so(given):
    if given:
        return given
    for pat in ("/usr/lib/*/gssntlmssp/gssntlmssp.so",
                "/usr/lib64/gssntlmssp/gssntlmssp.so",
                "/usr/lib/gssntlmssp/gssntlmssp.so"):
        hits = sorted(glob.glob(pat))
        if hits:
            return hits[0]
    sys.exit("ntlm_proxy: gssntlmssp.so not found (apt-get install "
             "gss-ntlmssp)")


def write_log(path, line):
    with log_lock:
        with open(path, "a") as f:
            f.write(line + "\n")


def read_head(sock, buf):
    """Read up to the end of a head; returns (head, rest) or None at EOF."""
    while b"\r\n\r\n" not in buf:
        if len(buf) > MAX_HEAD:
            return None
        chunk = sock.recv(4096)
        if not chunk:
            return None
        buf += chunk
    head, rest = buf.split(b"\r\n\r\n", 1)
    return head.decode("latin-1"), rest


def send(sock, status, reason, headers=(), body=b""):
    lines = ["HTTP/1.1 %d %s" % (status, reason)]
    lines += ["%s: %s" % h for h in headers]
    lines.append("Content-Length: %d" % len(body))
    lines.append("Connection: keep-alive")
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)


def serve(sock, args, mech):
    ctx = None
    user = None
    buf = b""
    while True:
        got = read_head(sock, buf)
        if got is None:
            return
        head, buf = got
        lines = head.split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) != 3:
            return
        fields = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            fields[name.strip().lower()] = value.strip()
        clen = int(fields.get("content-length", "0"))
        if clen < 0 or clen > MAX_BODY:
            return
        while len(buf) < clen:
            chunk = sock.recv(65536)
            if not chunk:
                return
            buf += chunk
        buf = buf[clen:]

        if user is not None and "/reauth/" in parts[1]:
            # The parent forgets the connection's authentication, as a
            # proxy does when its credentials cache expires.
            write_log(args.log, "REAUTH %s %s" % (user, parts[1]))
            user, ctx = None, None
            send(sock, 407, "Proxy Authentication Required",
                 [("Proxy-Authenticate", "NTLM")])
            continue
        if user is not None:
            answer_ok(sock, args, user, parts)
            continue
        auth = fields.get("proxy-authorization", "")
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "ntlm" or not token:
            send(sock, 407, "Proxy Authentication Required",
                 [("Proxy-Authenticate", "NTLM")])
            continue
        try:
            msg = base64.b64decode(token.strip(), validate=True)
        except ValueError:
            send(sock, 400, "Bad Request")
            return
        mtype = msg[8] if len(msg) > 8 else 0
        try:
            if mtype == 1:
                # Acceptor credentials of the NTLMSSP mechanism only.
                creds = gssapi.Credentials(usage="accept", mechs=[mech])
                ctx = gssapi.SecurityContext(usage="accept", creds=creds)
                out = ctx.step(msg)
                send(sock, 407, "Proxy Authentication Required",
                     [("Proxy-Authenticate",
                       "NTLM " + base64.b64encode(out).decode())])
                continue
            if mtype != 3 or ctx is None:
                raise ValueError("NTLM message of type %d out of order"
                                 % mtype)
            ctx.step(msg)
            if not ctx.complete:
                raise ValueError("acceptor context not complete")
            # gss-ntlmssp counts the NUL in the display name.
            user = str(ctx.initiator_name).rstrip("\x00").strip()
        except (gssapi.exceptions.GSSError, ValueError) as e:
            ctx = None
            reason = " ".join(str(e).split())
            write_log(args.log, "REFUSED %s" % reason)
            send(sock, 407, "Proxy Authentication Required",
                 [("Proxy-Authenticate", "NTLM")])
            continue
        answer_ok(sock, args, user, parts)


def answer_ok(sock, args, user, parts):
    """200 naming the authenticated user; a target ending in "/slow/S" is
    answered S seconds late (at most 5)."""
    write_log(args.log, "OK %s %s %s" % (user, parts[0], parts[1]))
    _, _, slow = parts[1].rpartition("/slow/")
    if slow and slow.replace(".", "", 1).isdigit():
        time.sleep(min(float(slow), 5.0))
    send(sock, 200, "OK", body=("ok %s\n" % user).encode())


def conn_thread(sock, args, mech, slots):
    try:
        sock.settimeout(args.timeout)
        serve(sock, args, mech)
    except (OSError, ValueError):
        pass
    except Exception as e:  # a bug here: in the log, never silent
        write_log(args.log, "ERROR %s: %s" % (type(e).__name__, e))
    finally:
        sock.close()
        slots.release()


def main():
    global gssapi
    ap = argparse.ArgumentParser()
    ap.add_argument("--users", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--max-conns", type=int, default=16)
    ap.add_argument("--timeout", type=float, default=10.0)
    ap.add_argument("--lifetime", type=float, default=120.0)
    ap.add_argument("--mech-so")
    args = ap.parse_args()

    conf_dir = tempfile.mkdtemp(prefix="ntlm-proxy-")
    mech_conf = os.path.join(conf_dir, "mech")
    with open(mech_conf, "w") as f:
        f.write("gssntlmssp_v1 %s %s\n" % (NTLMSSP_OID,
                                           find_mech_so(args.mech_so)))
    os.environ["GSS_MECH_CONFIG"] = mech_conf
    os.environ["NTLM_USER_FILE"] = os.path.abspath(args.users)
    import gssapi as g
    gssapi = g
    mech = gssapi.OID.from_int_seq(NTLMSSP_OID)

    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(args.max_conns)
    srv.settimeout(0.5)
    print("port %d" % srv.getsockname()[1], flush=True)

    slots = threading.BoundedSemaphore(args.max_conns)
    deadline = time.monotonic() + args.lifetime
    try:
        while time.monotonic() < deadline:
            try:
                c, _ = srv.accept()
            except socket.timeout:
                continue
            if not slots.acquire(blocking=False):
                c.close()
                continue
            threading.Thread(target=conn_thread, args=(c, args, mech, slots),
                             daemon=True).start()
    except KeyboardInterrupt:
        pass
    finally:
        srv.close()
        os.unlink(mech_conf)
        os.rmdir(conf_dir)


if __name__ == "__main__":
    main()
