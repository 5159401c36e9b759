"""wine_util.py - running Windows programs under Wine from a test script.

The prefix comes from WINEPREFIX (tools/win/build.sh exports a throwaway
one); WINEDEBUG=-all unless the caller asks for a channel.

    wine([exe, args...], timeout)   run one program, CompletedProcess
    wine_env()                      the environment for a Wine process
    win_path("/tmp/x")              "Z:\\tmp\\x" (Wine maps / as drive Z:)
    Session()                       keeps the prefix's Wine session alive
    server_pid()                    the prefix's wineserver, or None
    prefix_processes()              [(pid, name)] running in the prefix
    sc_state("name")                "RUNNING", "STOPPED", ... or None
    reg_query(key, value)           a registry value as text, or None

Wine ends its system processes (services.exe and every service it
started) a few seconds after the last ordinary Windows process exits, and
without sending SERVICE_CONTROL_SHUTDOWN. A test that starts a service
therefore holds a Session open for as long as the service must run.
"""

import os
import re
import subprocess
import time


def wine_env(debug="-all"):
    """The environment for a Wine process: no display, no proxy variables
    (the programs under test are proxies), WINEDEBUG=debug."""
    env = dict(os.environ)
    env["WINEDEBUG"] = debug
    env.setdefault("WINEDLLOVERRIDES", "mscoree,mshtml=")
    for k in ("DISPLAY", "WAYLAND_DISPLAY", "http_proxy", "https_proxy",
              "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        env.pop(k, None)
    return env


def wine(argv, timeout=60, debug="-all", stdin=subprocess.DEVNULL, cwd=None):
    """Run argv under Wine; text output; raises TimeoutExpired."""
    return subprocess.run(["wine"] + [str(a) for a in argv],
                          env=wine_env(debug), stdin=stdin,
                          capture_output=True, text=True, errors="replace",
                          timeout=timeout, cwd=cwd)


def win_path(path):
    """A Unix path as Wine sees it through drive Z:."""
    return "Z:" + os.path.abspath(path).replace("/", "\\")


def prefix_processes():
    """(pid, name) of each running process of this prefix: the Windows
    programs, wineserver, and the scripts that set WINEPREFIX."""
    want = ("WINEPREFIX=%s" % os.path.abspath(os.environ.get("WINEPREFIX",
                                                            ""))).encode()
    procs = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/environ" % pid, "rb") as f:
                if want not in f.read().split(b"\0"):
                    continue
            with open("/proc/%s/comm" % pid) as f:
                procs.append((int(pid), f.read().strip()))
        except OSError:
            continue
    return procs


def server_pid():
    """The pid of this prefix's running wineserver, or None."""
    for pid, name in prefix_processes():
        if name.startswith("wineserver"):
            return pid
    return None


class Session:
    """A Windows console process (cmd.exe waiting on its stdin) that keeps
    the Wine session, and so its services, alive until closed.

    Once the last Windows program of a session exits, its wineserver tells
    services.exe and the other system processes to end, and soon stops
    taking new programs, which then start a wineserver of their own. A
    Session that joined the ending one would see its services end, or
    started again by the next services.exe, under the test. So a Session
    first waits for the previous wineserver to be gone (fresh=False skips
    that wait)."""

    def __init__(self, fresh=True):
        self.fresh = fresh
        self.proc = None

    def __enter__(self):
        if self.fresh:
            try:
                subprocess.run(["wineserver", "-w"], env=wine_env(),
                               timeout=60, check=False)
            except subprocess.TimeoutExpired:
                # Something still runs in the prefix (a leftover service,
                # a hung program): join that session.
                pass
        self.proc = subprocess.Popen(
            ["wine", "cmd.exe", "/k"], env=wine_env(),
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        # services.exe is up once a service query answers. A query asked
        # before services.exe runs can stall for good (it answers in well
        # under a second otherwise): wait for the process, and give up on
        # a query after a few seconds.
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not any(
                name == "services.exe" for _, name in prefix_processes()):
            time.sleep(0.05)
        while True:
            try:
                if wine(["sc", "query", "eventlog"],
                        timeout=3).returncode == 0:
                    return self
            except subprocess.TimeoutExpired:
                pass
            if time.monotonic() > deadline:
                self.__exit__()
                raise RuntimeError("Wine's service manager did not answer")
            time.sleep(0.2)

    def alive(self):
        """Whether the keeper process still runs (the session held)."""
        return self.proc is not None and self.proc.poll() is None

    def end(self):
        """Let the keeper's cmd.exe exit, without waiting for it."""
        if self.proc is not None:
            try:
                self.proc.stdin.close()
            except OSError:
                pass

    def __exit__(self, *exc):
        if self.proc is not None:
            self.end()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        return False


def unix_path(winpath):
    """A C:\\ or Z:\\ path as a Unix path in the prefix or the host."""
    drive, rest = winpath[0].upper(), winpath[2:].replace("\\", "/")
    if drive == "Z":
        return rest
    return os.path.join(os.environ["WINEPREFIX"], "drive_%s" % drive.lower(),
                        rest.lstrip("/"))


def win_env(name):
    """A Windows environment variable as a program in the prefix sees it."""
    p = wine(["cmd.exe", "/c", "echo %%%s%%" % name], timeout=60)
    return p.stdout.strip()


def sc_state(name):
    """The service's state word from `sc query`, or None if unknown."""
    p = wine(["sc", "query", name], timeout=30)
    m = re.search(r"STATE\s*:\s*\d+\s+(\w+)", p.stdout)
    return m.group(1) if m else None


def wait_state(name, want, timeout):
    """Poll sc_state until it is want (bounded); returns the last state."""
    deadline = time.monotonic() + timeout
    st = sc_state(name)
    while st != want and time.monotonic() < deadline:
        time.sleep(0.25)
        st = sc_state(name)
    return st


def reg_query(key, value):
    """The data of value under key as `reg query` prints it, or None."""
    p = wine(["reg", "query", key, "/v", value], timeout=30)
    for line in p.stdout.splitlines():
        parts = line.strip().split(None, 2)
        if len(parts) >= 2 and parts[0].lower() == value.lower():
            return parts[2] if len(parts) == 3 else ""
    return None
