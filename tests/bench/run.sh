#!/bin/sh
# run.sh [BUILD_DIR] - run the wsus-shim benchmarks (make bench):
# bench_relay.py (issue 2), bench_range.py (issue 3), then bench_pool.py
# (issue 10: request rates behind a real Squid parent).
#
# BUILD_DIR (default: build) holds wsus-shim and upstream-emu; the two
# targets are built there if missing (a Release configure when the folder
# has no CMake cache). Prints figures and the commands used; exits 0 unless
# something is broken (a wrong SHA-1, a failed request, a crash), never on
# a timing. Needs python3, curl; wrk and squid are used when installed
# (tools/deps.sh installs both). Everything runs on 127.0.0.1, under a
# scratch folder that is removed at the end, and every process started is
# stopped, also on Ctrl-C.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
build=${1:-build}
mkdir -p "$build"
build=$(cd "$build" && pwd)

shim=$build/proxy/wsus-shim
emu=$build/tests/tools/upstream-emu
if [ ! -x "$shim" ] || [ ! -x "$emu" ]; then
    if [ ! -f "$build/CMakeCache.txt" ]; then
        cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
    fi
    cmake --build "$build" -j "$(nproc 2>/dev/null || echo 2)" \
        --target wsus-shim upstream-emu
fi

# 1,000 idle connections plus the bench's own: the shim inherits this.
hard=$(ulimit -Hn)
if [ "$hard" = unlimited ] || [ "$hard" -ge 4096 ]; then
    ulimit -n 4096
else
    ulimit -n "$hard"
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/wsus-bench.XXXXXX")
pids=$tmp/pids
: >"$pids"
child=

cleanup() {
    trap - EXIT INT TERM
    [ -n "$child" ] && kill "$child" 2>/dev/null
    # Whatever the script started and did not stop (squid drops privileges
    # and so outlives a killed parent): only the pids it recorded whose
    # command line still names our scratch folder, so a reused pid is safe.
    for sig in TERM KILL; do
        while read -r p; do
            if { tr '\0' ' ' <"/proc/$p/cmdline"; } 2>/dev/null |
                    grep -qF "$tmp"; then
                kill -s "$sig" "$p" 2>/dev/null || true
            fi
        done <"$pids"
        [ "$sig" = TERM ] && sleep 0.5
    done
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT TERM

echo "wsus-shim bench: $shim ($(uname -sr), $(nproc) cores)"
rc=0
for bench in bench_relay.py bench_range.py bench_pool.py; do
    WSUS_SHIM=$shim WSUS_EMU=$emu WSUS_SRC=$src BENCH_TMP=$tmp \
        BENCH_PIDS=$pids TMPDIR=$tmp PYTHONDONTWRITEBYTECODE=1 \
        python3 "$here/$bench" &
    child=$!
    wait "$child" || rc=$?
    child=
done
exit "$rc"
