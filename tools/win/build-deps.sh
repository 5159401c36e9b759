#!/bin/sh
# Build the third-party libraries of wsus-shim for x86_64-w64-mingw32, from
# Debian's source packages, as static libraries with headers and .pc files.
#
#   tools/win/build-deps.sh        prints the prefix on its last line
#
# The prefix lives outside the build tree, keyed by everything that decides
# its content (source versions, this script, the toolchain file, the
# compiler), so a warm run only checks the key and prints "deps: cached":
#
#   ${WSUS_WIN_CACHE:-$HOME/.cache/wsus-shim/win-deps}/<key>/
#       include/ lib/ lib/pkgconfig/ versions.txt logs/ .complete
#
# Sources come from `apt-get source` (deb-src is enabled by host-deps.sh).
# For each package the version of the host's -dev package is tried first, so
# the Linux and Windows builds run the same library code; when the archive
# cannot serve that version, the newest other version it lists is used.
#   openssl    ./Configure mingw64 no-shared, build_libs, install_dev
#   libevent   CMake, static, with OpenSSL, no tests/samples/benchmarks
#   cmocka     CMake, static library only
#   inih       ini.c compiled into libinih.a, with a written inih.pc
# llhttp is not built here: cmake/llhttp.cmake compiles the node-llhttp C
# sources (/usr/share/llhttp) into the project with the cross compiler, in
# the same strict mode as on Linux.
#
# Non-interactive and idempotent; each step logs to logs/<step>.log and the
# log's tail is printed when it fails. JOBS sets the parallelism.
set -eu

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HOST=x86_64-w64-mingw32
TOOLCHAIN=$ROOT/cmake/mingw-w64.cmake
CACHE_BASE=${WSUS_WIN_CACHE:-${HOME:-/root}/.cache/wsus-shim/win-deps}
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}
export DEBIAN_FRONTEND=noninteractive LC_ALL=C

t0=$(date +%s)
"$ROOT/tools/win/host-deps.sh"

# The win32-threads variant of the compiler: no libwinpthread to ship.
if command -v "$HOST-gcc-win32" >/dev/null 2>&1; then
    CC_NAME=gcc-win32
else
    CC_NAME=gcc
fi
CC="$HOST-$CC_NAME"

# name of the -dev package whose source version the host build uses
dev_of() {
    case $1 in
    openssl) echo libssl-dev ;;
    libevent) echo libevent-dev ;;
    cmocka) echo libcmocka-dev ;;
    libinih) echo libinih-dev ;;
    esac
}

# candidates SRC: versions to try, the host's first, then newest first.
candidates() {
    hv=$(dpkg-query -W -f='${source:Version}' "$(dev_of "$1")" 2>/dev/null ||
         true)
    [ -n "$hv" ] && echo "$hv"
    apt-cache showsrc "$1" 2>/dev/null | awk '/^Version:/ { print $2 }' |
        sort -rV | grep -vxF "${hv:-//}" || true
}

SRC_PKGS="openssl libevent cmocka libinih"
key_input() {
    echo "script $(cat "$0" "$TOOLCHAIN" "$ROOT/tools/win/inih/ini.c" |
                   sha256sum | cut -c1-16)"
    echo "cc $($CC --version | head -n1)"
    echo "crt $(dpkg-query -W -f='${Version}' mingw-w64-x86-64-dev)"
    for p in $SRC_PKGS; do
        echo "$p $(candidates "$p" | tr '\n' ' ')"
    done
}
KEY=$(key_input | sha256sum | cut -c1-16)
PREFIX=$CACHE_BASE/$KEY
mkdir -p "$CACHE_BASE"

if [ -f "$PREFIX/.complete" ]; then
    echo "deps: cached ($(tr '\n' ' ' <"$PREFIX/versions.txt"))" >&2
    echo "deps: $(($(date +%s) - t0))s (warm)" >&2
    echo "$PREFIX"
    exit 0
fi

# One builder per key; a second caller waits and then finds it cached.
exec 9>"$CACHE_BASE/$KEY.lock"
flock 9
if [ -f "$PREFIX/.complete" ]; then
    echo "deps: cached (built by another run)" >&2
    echo "$PREFIX"
    exit 0
fi

rm -rf "$PREFIX"
WORK=$CACHE_BASE/work-$KEY
rm -rf "$WORK"
LOGS=$PREFIX/logs
mkdir -p "$WORK" "$LOGS" "$PREFIX/include" "$PREFIX/lib/pkgconfig"
: >"$PREFIX/versions.txt"
export WSUS_WIN_DEPS="$PREFIX"
export PKG_CONFIG_LIBDIR="$PREFIX/lib/pkgconfig" PKG_CONFIG_PATH=

# step NAME CMD...: run CMD with its output in logs/NAME.log; on failure
# print the log's tail and stop.
step() {
    name=$1
    shift
    s=$(date +%s)
    if ! "$@" >"$LOGS/$name.log" 2>&1; then
        echo "deps: $name failed, last lines of $LOGS/$name.log:" >&2
        tail -n 40 "$LOGS/$name.log" >&2
        exit 1
    fi
    echo "deps: $name $(($(date +%s) - s))s" >&2
}

# fetch SRC: unpack the first version of SRC the archive can serve into
# $WORK/SRC/; sets SRCDIR and records the version. Returns 1 if none.
fetch() {
    for v in $(candidates "$1"); do
        d=$WORK/$1
        rm -rf "$d"
        mkdir -p "$d"
        if (cd "$d" && apt-get source -q "$1=$v") >>"$LOGS/fetch-$1.log" 2>&1
        then
            SRCDIR=$(find "$d" -mindepth 1 -maxdepth 1 -type d | head -n1)
            echo "$1 $v" >>"$PREFIX/versions.txt"
            echo "deps: $1 $v" >&2
            return 0
        fi
        echo "deps: $1 $v: not available from the archive" >&2
    done
    return 1
}

cmake_dep() {
    src=$1
    shift
    cmake -S "$src" -B "$src/build-win" \
        -DCMAKE_TOOLCHAIN_FILE="$TOOLCHAIN" \
        -DCMAKE_BUILD_TYPE=Release \
        -DCMAKE_INSTALL_PREFIX="$PREFIX" \
        -DCMAKE_INSTALL_LIBDIR=lib "$@" &&
        cmake --build "$src/build-win" -j "$JOBS" &&
        cmake --install "$src/build-win"
}

# --- OpenSSL -----------------------------------------------------------
if ! fetch openssl; then
    echo "deps: no openssl source available" >&2
    exit 1
fi
(
    cd "$SRCDIR"
    step openssl-configure env CC="$CC_NAME" ./Configure mingw64 no-shared \
        no-tests --cross-compile-prefix="$HOST-" --prefix="$PREFIX" \
        --libdir=lib --openssldir="$PREFIX/ssl"
    step openssl-build make -j"$JOBS" build_libs
    step openssl-install make install_dev
)

# --- libevent ----------------------------------------------------------
if ! fetch libevent; then
    echo "deps: no libevent source available" >&2
    exit 1
fi
step libevent cmake_dep "$SRCDIR" \
    -DEVENT__LIBRARY_TYPE=STATIC \
    -DEVENT__DISABLE_TESTS=ON -DEVENT__DISABLE_REGRESS=ON \
    -DEVENT__DISABLE_SAMPLES=ON -DEVENT__DISABLE_BENCHMARK=ON \
    -DEVENT__DISABLE_OPENSSL=OFF \
    -DOPENSSL_ROOT_DIR="$PREFIX" -DOPENSSL_USE_STATIC_LIBS=TRUE

# --- cmocka ------------------------------------------------------------
if ! fetch cmocka; then
    echo "deps: no cmocka source available" >&2
    exit 1
fi
# mingw's C99 printf, as in the project, so print_message() takes %zu.
step cmocka cmake_dep "$SRCDIR" \
    -DWITH_STATIC_LIB=ON -DWITH_EXAMPLES=OFF -DUNIT_TESTING=OFF \
    -DCMAKE_C_FLAGS=-D__USE_MINGW_ANSI_STDIO=1
# cmocka 1.1 always builds a DLL too; keep only the static library, under
# the name its .pc file links.
rm -f "$PREFIX/lib/libcmocka.dll.a" "$PREFIX/bin/libcmocka.dll" \
    "$PREFIX/bin/cmocka.dll"
mv "$PREFIX/lib/libcmocka-static.a" "$PREFIX/lib/libcmocka.a"

# --- inih --------------------------------------------------------------
INIH_CFLAGS="-O2 -std=c11 -Wall"
if fetch libinih; then
    INIH_SRC=$SRCDIR/ini.c
    cp "$SRCDIR/ini.h" "$PREFIX/include/ini.h"
else
    # The archive cannot serve libinih's source. Use our implementation of
    # the same API, against Debian's installed ini.h, once it has produced
    # exactly what Debian's libinih produces on the difftest corpus.
    echo "deps: libinih: using tools/win/inih/ini.c (checked against" \
        "Debian's libinih)" >&2
    echo "libinih tools/win/inih (API of libinih-dev" \
        "$(dpkg-query -W -f='${Version}' libinih-dev))" >>"$PREFIX/versions.txt"
    INIH_SRC=$ROOT/tools/win/inih/ini.c
    cp /usr/include/ini.h "$PREFIX/include/ini.h"
    inih_difftest() {
        d=$WORK/inih-difftest
        mkdir -p "$d"
        printf '[f]\r\nk = v ; c\r\n  more\r\nbad\r\n' >"$d/t.ini"
        gcc -std=c11 -Wall -Wextra -O1 "$ROOT/tools/win/inih/difftest.c" \
            "$(gcc -print-multiarch | sed 's|^|/usr/lib/|')/libinih.a" \
            -o "$d/ref" &&
        gcc -std=c11 -Wall -Wextra -O1 -I"$PREFIX/include" \
            "$ROOT/tools/win/inih/difftest.c" "$INIH_SRC" -o "$d/ours" &&
        "$d/ref" "$d/t.ini" >"$d/ref.out" &&
        "$d/ours" "$d/t.ini" >"$d/ours.out" &&
        diff -u "$d/ref.out" "$d/ours.out"
    }
    step inih-difftest inih_difftest
fi
inih_build() {
    mkdir -p "$WORK/inih" &&
    "$CC" $INIH_CFLAGS -I"$PREFIX/include" -c "$INIH_SRC" \
        -o "$WORK/inih/ini.o" &&
    "$HOST-ar" rcs "$PREFIX/lib/libinih.a" "$WORK/inih/ini.o"
}
step inih inih_build
cat >"$PREFIX/lib/pkgconfig/inih.pc" <<EOF
prefix=$PREFIX
includedir=\${prefix}/include
libdir=\${prefix}/lib

Name: inih
Description: simple .INI file parser
Version: $(dpkg-query -W -f='${Version}' libinih-dev | sed 's/-[^-]*$//')
Libs: -L\${libdir} -linih
Cflags: -I\${includedir}
EOF

# Everything in the prefix is static, so a consumer that does not ask
# pkg-config for --static still needs the private libraries: fold
# Libs.private into Libs and Requires.private into Requires. libevent
# 2.1.12's CMake writes its Windows libraries as "-Lws2_32" and OpenSSL as
# "-L/path/libssl.a": turn the first into -l, the second into a Requires on
# libssl (which brings libcrypto and its system libraries, in link order).
# libevent_core also needs iphlpapi (GetAdaptersAddresses).
fix_pc() {
    awk -v name="$(basename "$1" .pc)" '
    function fixlibs(s,    n, t, i, out) {
        n = split(s, t, /[ \t]+/)
        out = ""
        for (i = 1; i <= n; i++) {
            if (t[i] == "") continue
            if (t[i] ~ /^-L.*\/lib(ssl|crypto)\.a$/) { needssl = 1; continue }
            if (t[i] ~ /^-L[^\/$]/) t[i] = "-l" substr(t[i], 3)
            out = out " " t[i]
        }
        return out
    }
    /^Libs\.private:/    { sub(/^Libs\.private:[ \t]*/, ""); lp = lp " " $0; next }
    /^Requires\.private:/ { sub(/^Requires\.private:[ \t]*/, ""); rp = rp " " $0; next }
    { line[++n] = $0 }
    END {
        if (name == "libevent" || name == "libevent_core") lp = lp " -liphlpapi"
        for (i = 1; i <= n; i++) {
            l = line[i]
            if (l ~ /^Libs:/) { sub(/^Libs:[ \t]*/, "", l); l = "Libs:" fixlibs(l " " lp) }
            line[i] = l
        }
        if (needssl) rp = rp " libssl"
        for (i = 1; i <= n; i++) {
            l = line[i]
            if (l ~ /^Requires:/) { l = l rp; rp = "" }
            print l
        }
        if (rp !~ /^[ \t]*$/) print "Requires:" rp
    }' "$1"
}
for pc in "$PREFIX"/lib/pkgconfig/*.pc; do
    fix_pc "$pc" >"$pc.tmp"
    mv "$pc.tmp" "$pc"
done

rm -rf "$WORK"
touch "$PREFIX/.complete"
echo "deps: built in $PREFIX ($(tr '\n' ' ' <"$PREFIX/versions.txt"))" >&2
echo "deps: $(($(date +%s) - t0))s (cold)" >&2
echo "$PREFIX"
