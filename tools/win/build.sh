#!/bin/sh
# Cross-build wsus-shim for 64-bit Windows and run its unit tests under Wine.
#
#   tools/win/build.sh            build in build-win/ (or $WSUS_WIN_BUILD)
#
# One command: installs what the host lacks, builds or reuses the
# dependency prefix (tools/win/build-deps.sh), configures with
# cmake/mingw-w64.cmake, builds with warnings as errors, and runs the unit
# tests through Wine with a throwaway prefix under the build folder. Exits
# non-zero on any failure; the last lines are ctest's summary. Logs of each
# step are in the build folder (configure.log, build.log, wineboot.log).
set -eu

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
B=${WSUS_WIN_BUILD:-$ROOT/build-win}
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}
# Upper bound for creating the Wine prefix (the first wineboot is slow).
WINEBOOT_TIMEOUT=${WINEBOOT_TIMEOUT:-300}

t0=$(date +%s)
DEPS=$("$ROOT/tools/win/build-deps.sh" | tail -n 1)
[ -f "$DEPS/.complete" ] || { echo "win: no dependency prefix" >&2; exit 1; }

export WSUS_WIN_DEPS="$DEPS"
export PKG_CONFIG_LIBDIR="$DEPS/lib/pkgconfig" PKG_CONFIG_PATH=
export WINEPREFIX="$B/wine" WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
unset DISPLAY WAYLAND_DISPLAY

mkdir -p "$B"
# run LOG CMD...: CMD's output goes to $B/LOG; its tail is shown on failure.
run() {
    log=$B/$1
    shift
    if ! "$@" >"$log" 2>&1; then
        echo "win: failed: $*" >&2
        echo "win: last lines of $log:" >&2
        tail -n 60 "$log" >&2
        exit 1
    fi
}

# The Wine tests' legacy upstream and origin: a Linux build of
# upstream-emu (the native dependencies come from tools/deps.sh).
t1=$(date +%s)
"$ROOT/tools/deps.sh"
run native-configure.log env -u PKG_CONFIG_LIBDIR -u PKG_CONFIG_PATH cmake -S "$ROOT" -B "$B/native" \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWSUS_TESTS=ON
run native-build.log env -u PKG_CONFIG_LIBDIR -u PKG_CONFIG_PATH cmake --build "$B/native" --target upstream-emu -j "$JOBS"

run configure.log cmake -S "$ROOT" -B "$B" \
    -DCMAKE_TOOLCHAIN_FILE="$ROOT/cmake/mingw-w64.cmake" \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DWSUS_WERROR=ON -DWSUS_TESTS=ON \
    -DWSUS_NATIVE_EMU="$B/native/tests/tools/upstream-emu" \
    -DOPENSSL_ROOT_DIR="$DEPS" -DOPENSSL_USE_STATIC_LIBS=TRUE \
    "-DCMAKE_CROSSCOMPILING_EMULATOR=env;WINEPREFIX=$WINEPREFIX;WINEDEBUG=-all;WINEDLLOVERRIDES=mscoree,mshtml=;wine"
run build.log cmake --build "$B" -j "$JOBS"
echo "win: built in $B ($(($(date +%s) - t1))s)" >&2

# The release zip (tools/win/package.sh), checked by the wine_package test.
run package.log "$ROOT/tools/win/package.sh" "$B"
echo "win: $(tail -n 1 "$B/package.log" | sed 's/^package: //')" >&2

if [ ! -f "$WINEPREFIX/system.reg" ]; then
    t2=$(date +%s)
    rm -rf "$WINEPREFIX"
    run wineboot.log timeout "$WINEBOOT_TIMEOUT" wineboot -i
    # wineboot returns before the registry is written out.
    run wineboot.log timeout "$WINEBOOT_TIMEOUT" wineserver -w
    echo "win: wine prefix created ($(($(date +%s) - t2))s)" >&2
fi

echo "win: ready to test after $(($(date +%s) - t0))s" >&2
rc=0
# Every test configured for Windows: the unit tests as .exe files and the
# Wine tests of tests/win/ (these run one at a time: they share the
# prefix's service manager). ctest's summary stays the last output.
ctest --test-dir "$B" --output-on-failure -j "$JOBS" --timeout 600 || rc=$?
wineserver -k >/dev/null 2>&1 || true
exit "$rc"
