#!/bin/sh
# Make the Windows release zip from a finished cross-build.
#
#   tools/win/package.sh [BUILD]     BUILD: $WSUS_WIN_BUILD, else build-win/
#
# Writes, in BUILD:
#   wsus-shim-VERSION-win64.zip        what a Windows admin installs from
#   wsus-shim-VERSION-win64-debug.zip  the DWARF debug info of both .exe
# and prints the release zip's path and size as its last line.
# tools/win/build.sh runs it after the build, before the tests; the Wine
# test tests/win/test_package.py checks the result.
#
# The zip holds one folder, wsus-shim-VERSION-win64\:
#   wsus-shim.exe, wsus-fixer.exe  stripped (--strip-all), with a
#       .gnu_debuglink naming wsus-shim.exe.debug / wsus-fixer.exe.debug,
#       which the debug zip holds in a folder of the same name: unzipped
#       side by side, gdb (or x86_64-w64-mingw32-addr2line -e X.debug)
#       finds them for a crash address. Stripping takes 5.8 MB off the two
#       programs and keeps our build paths out of the release.
#   conf\wsus-shim.conf   from conf/wsus-shim.windows.conf
#   conf\wsus-fixer.conf  from conf/wsus-fixer.conf (already the reference
#       conf for a Windows host); both named as the programs' defaults
#       in %ProgramData%\wsus-shim\, so an admin copies them as they are.
#   sql\*.sql, README.md, docs\*.md
#   licences\  the licence of every library linked into the .exe files
#       (all static; only Windows system DLLs are imported), from Debian's
#       copyright files, and licences\README.txt saying which is which.
# Every file but the .exe is text with CRLF line ends, so that the
# Notepad of Windows Server 2016 and older shows it properly.
#
# Reproducible: entries sorted, one timestamp for all (SOURCE_DATE_EPOCH,
# default: the last commit's time), fixed modes, deflate level 9; the
# stripped .exe carry that time in their PE header too. Packaging the
# same build twice gives the same bytes.
#
# Variables: WSUS_VERSION (default: CMAKE_PROJECT_VERSION in the build's
# CMake cache), WSUS_WIN_DEPS (the dependency prefix; default: the
# cache's OPENSSL_ROOT_DIR), SOURCE_DATE_EPOCH.
set -eu

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
B=${1:-${WSUS_WIN_BUILD:-$ROOT/build-win}}
CACHE=$B/CMakeCache.txt

die() {
    echo "package: $*" >&2
    exit 1
}

[ -f "$CACHE" ] || die "no $CACHE: build first (tools/win/build.sh)"

# cache_get NAME: the value of NAME in the CMake cache, or "".
cache_get() {
    sed -n "s/^$1:[A-Z]*=//p" "$CACHE" | head -n 1
}

VERSION=${WSUS_VERSION:-$(cache_get CMAKE_PROJECT_VERSION)}
[ -n "$VERSION" ] || die "no CMAKE_PROJECT_VERSION in $CACHE"
DEPS=${WSUS_WIN_DEPS:-$(cache_get OPENSSL_ROOT_DIR)}
[ -f "$DEPS/versions.txt" ] || die "no dependency prefix (versions.txt) at '$DEPS'"
OBJCOPY=$(cache_get CMAKE_OBJCOPY)
[ -n "$OBJCOPY" ] || OBJCOPY=x86_64-w64-mingw32-objcopy
if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
    SOURCE_DATE_EPOCH=$(git -C "$ROOT" log -1 --format=%ct 2>/dev/null) ||
        SOURCE_DATE_EPOCH=315532800
fi
# objcopy stamps the PE header with it too (else with the current time).
export SOURCE_DATE_EPOCH

SHIM=$B/proxy/wsus-shim.exe
FIXER=$B/fixer/wsus-fixer.exe
for f in "$SHIM" "$FIXER"; do
    [ -f "$f" ] || die "missing $f"
done

NAME=wsus-shim-$VERSION-win64
WORK=$B/package
STAGE=$WORK/$NAME
DSTAGE=$WORK/debug/$NAME
rm -rf "$WORK"
mkdir -p "$STAGE/conf" "$STAGE/sql" "$STAGE/docs" "$STAGE/licences" "$DSTAGE"

# crlf SRC DST: SRC as text with CRLF line ends (a missing last newline
# added).
crlf() {
    awk '{ sub(/\r$/, ""); printf "%s\r\n", $0 }' "$1" >"$2"
}

# first_file PATH...: the first of the given files that exists.
first_file() {
    for f in "$@"; do
        if [ -f "$f" ]; then
            echo "$f"
            return 0
        fi
    done
    die "none of these exists: $*"
}

# pkg_version PKG: the installed version of a Debian package.
pkg_version() {
    dpkg-query -W -f='${Version}' "$1" 2>/dev/null || die "package $1 is not installed"
}

# dep_version NAME: the version build-deps.sh recorded for NAME.
dep_version() {
    v=$(sed -n "s/^$1 //p" "$DEPS/versions.txt" | head -n 1)
    [ -n "$v" ] || die "$1 is not in $DEPS/versions.txt"
    echo "$v"
}

# The programs: debug info kept apart, then stripped with a link to it.
for exe in "$SHIM" "$FIXER"; do
    base=$(basename "$exe")
    "$OBJCOPY" --only-keep-debug "$exe" "$DSTAGE/$base.debug"
    "$OBJCOPY" --strip-all --add-gnu-debuglink="$DSTAGE/$base.debug" \
        "$exe" "$STAGE/$base"
done

crlf "$ROOT/conf/wsus-shim.windows.conf" "$STAGE/conf/wsus-shim.conf"
crlf "$ROOT/conf/wsus-fixer.conf" "$STAGE/conf/wsus-fixer.conf"
for f in "$ROOT"/sql/*.sql; do
    crlf "$f" "$STAGE/sql/$(basename "$f")"
done
crlf "$ROOT/README.md" "$STAGE/README.md"
for f in "$ROOT"/docs/*.md; do
    crlf "$f" "$STAGE/docs/$(basename "$f")"
done

# licence OUT TITLE TEXT SRC...: licences/OUT.txt: TITLE and TEXT (a
# paragraph saying what the component is, where it is linked, its
# licence), then each SRC file under a line naming it.
licence() {
    out=$1 title=$2 text=$3
    shift 3
    tmp=$WORK/licence.tmp
    {
        echo "$title"
        echo "$title" | sed 's/./=/g'
        echo
        printf '%s\n' "$text" | fold -s -w 74 | sed 's/ *$//'
        for src in "$@"; do
            echo
            echo "----------------------------------------------------------------------"
            echo "$src"
            echo "----------------------------------------------------------------------"
            echo
            cat "$src"
        done
    } >"$tmp"
    crlf "$tmp" "$STAGE/licences/$out.txt"
    rm -f "$tmp"
}

DOC=/usr/share/doc
LIC=/usr/share/common-licenses
v_openssl=$(dep_version openssl)
v_libevent=$(dep_version libevent)
v_inih=$(dep_version libinih)
v_llhttp=$(pkg_version node-llhttp)
v_mingw=$(pkg_version mingw-w64-x86-64-dev)
v_gcc=$(pkg_version gcc-mingw-w64-x86-64-win32)

licence OpenSSL "OpenSSL $v_openssl" \
    "OpenSSL (libcrypto, libssl), built from Debian's source package openssl $v_openssl, is linked statically into wsus-shim.exe. Licence: Apache License 2.0. Below: Debian's copyright file for OpenSSL, then the full text of the licence." \
    "$(first_file $DOC/libssl-dev/copyright $DOC/libssl3/copyright $DOC/openssl/copyright)" \
    "$LIC/Apache-2.0"

licence libevent "libevent $v_libevent" \
    "libevent (libevent_core, libevent_extra, libevent_openssl), built from Debian's source package libevent $v_libevent, is linked statically into wsus-shim.exe. Licence: BSD-3-Clause (a few files: BSD-2-Clause, ISC). Below: Debian's copyright file for libevent, which holds the licence texts." \
    "$(first_file $DOC/libevent-dev/copyright $DOC/libevent-core-2.1-7/copyright)"

licence llhttp "llhttp (node-llhttp $v_llhttp)" \
    "llhttp, the HTTP parser (llhttp.c, api.c, http.c from Debian's node-llhttp $v_llhttp, generated by llparse), is compiled into wsus-shim.exe. Licence: MIT (\"Expat\" below; see the llhttp/* and llparse/* stanzas). Below: Debian's copyright file for the package (its source package is undici, which carries llhttp)." \
    "$DOC/node-llhttp/copyright"

case $v_inih in
tools/win/inih*)
    inih_what="inih (the API of libinih-dev $(pkg_version libinih-dev); code: tools/win/inih/ini.c)"
    inih_text="inih, the INI parser, is linked statically into wsus-shim.exe and wsus-fixer.exe. In this build the parser code is this project's own tools/win/inih/ini.c (used when Debian's libinih source cannot be fetched; see docs/windows.md), written against inih's public header ini.h (Debian's libinih-dev $(pkg_version libinih-dev)), whose declarations and default settings are compiled in. Licence of inih: BSD-3-Clause. Below: Debian's copyright file for libinih." ;;
*)
    inih_what="inih $v_inih"
    inih_text="inih, the INI parser, built from Debian's source package libinih $v_inih, is linked statically into wsus-shim.exe and wsus-fixer.exe. Licence: BSD-3-Clause. Below: Debian's copyright file for libinih." ;;
esac
licence inih "inih" "$inih_text" "$DOC/libinih-dev/copyright"

licence mingw-w64 "mingw-w64 runtime $v_mingw" \
    "The mingw-w64 C runtime start-up code and support libraries (crt2.o, libmingw32, libmingwex) from Debian's mingw-w64-x86-64-dev $v_mingw are linked statically into both .exe files; the Windows import libraries from the same package only name the system DLLs. The programs are built with the win32 threads variant of gcc, so winpthreads is not linked. Licence: mostly ZPL-2.1 and public domain, a few files BSD, ISC and others, each given below. Below: Debian's copyright file for mingw-w64." \
    "$DOC/mingw-w64-x86-64-dev/copyright"

licence libgcc "libgcc (gcc-mingw-w64 $v_gcc)" \
    "A few routines of libgcc (stack probing, constructor lists) and crtbegin.o/crtend.o from Debian's gcc-mingw-w64-x86-64-win32 $v_gcc are linked statically into both .exe files, as into every program gcc builds. Licence: GNU GPL version 3 with the GCC Runtime Library Exception 3.1, which allows distributing the combined program under its own terms (see \"GCC RUNTIME LIBRARY EXCEPTION\" below). Below: Debian's copyright file for gcc-mingw-w64, then the full text of the GPL version 3." \
    "$DOC/gcc-mingw-w64-x86-64-win32/copyright" \
    "$LIC/GPL-3"

cat >"$WORK/licences-readme.tmp" <<EOF
Licences of the libraries in wsus-shim.exe and wsus-fixer.exe

Both programs are linked statically: besides Windows' own DLLs they need
nothing, and these libraries are inside them. cmocka, used only by the
tests, is not shipped.

  OpenSSL.txt    OpenSSL $v_openssl, in wsus-shim.exe
  libevent.txt   libevent $v_libevent, in wsus-shim.exe
  llhttp.txt     llhttp (node-llhttp $v_llhttp), in wsus-shim.exe
  inih.txt       $inih_what, in both
  mingw-w64.txt  the mingw-w64 runtime $v_mingw, in both
  libgcc.txt     libgcc (gcc-mingw-w64 $v_gcc), in both

Each file starts with what is linked and where it came from; the rest is
Debian's copyright file for the package and the full licence texts it
refers to.
EOF
crlf "$WORK/licences-readme.tmp" "$STAGE/licences/README.txt"
rm -f "$WORK/licences-readme.tmp"

# Zip a staged folder: sorted entries, one timestamp, fixed modes.
mkzip() {
    python3 - "$1" "$2" "$SOURCE_DATE_EPOCH" <<'EOF'
import os, sys, time, zipfile

src, out, epoch = sys.argv[1], sys.argv[2], int(sys.argv[3])
# A zip's DOS time starts in 1980 and has 2-second steps.
stamp = time.gmtime(max(epoch, 315532800))[:6]
top = os.path.dirname(src)
paths = []
for d, dirs, files in os.walk(src):
    paths.append(os.path.relpath(d, top).replace(os.sep, "/") + "/")
    for f in files:
        paths.append(os.path.relpath(os.path.join(d, f), top).replace(os.sep, "/"))
tmp = out + ".tmp"
with zipfile.ZipFile(tmp, "w") as z:
    for p in sorted(paths):
        zi = zipfile.ZipInfo(p, stamp)
        zi.create_system = 3
        if p.endswith("/"):
            zi.external_attr = (0o40755 << 16) | 0x10
            z.writestr(zi, b"")
            continue
        mode = 0o100755 if p.endswith(".exe") else 0o100644
        zi.external_attr = mode << 16
        zi.compress_type = zipfile.ZIP_DEFLATED
        with open(os.path.join(top, p), "rb") as f:
            z.writestr(zi, f.read(), compresslevel=9)
os.replace(tmp, out)
EOF
}

ZIP=$B/$NAME.zip
DZIP=$B/$NAME-debug.zip
mkzip "$STAGE" "$ZIP"
mkzip "$DSTAGE" "$DZIP"
echo "package: $DZIP ($(wc -c <"$DZIP") bytes)"
echo "package: $ZIP ($(wc -c <"$ZIP") bytes)"
