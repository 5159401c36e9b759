#!/bin/sh
# Install what the Windows cross-build needs on a Debian 12 host: the
# mingw-w64 toolchain, Wine to run the tests, dpkg-dev for `apt-get source`,
# and the native tools the dependency builds use (cmake, perl, pkg-config,
# node-llhttp for the llhttp C sources, gcc and libinih-dev for the inih
# check). Only what is missing is installed.
#
# When no deb-src entry is configured, one is added in its own file
# (/etc/apt/sources.list.d/wsus-shim-src.sources) that mirrors the URIs,
# Suites, Components and Signed-By of the `deb` stanzas in the machine's
# deb822 sources, so `apt-get source` fetches from the same suites.
#
# Must run as root (or with sudo available). Non-interactive.
set -eu

PKGS="
gcc-mingw-w64-x86-64 binutils-mingw-w64-x86-64 mingw-w64-x86-64-dev
wine wine64
dpkg-dev cmake make perl pkg-config node-llhttp xz-utils util-linux
gcc libinih-dev
"
SRC_FILE=/etc/apt/sources.list.d/wsus-shim-src.sources

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive

# has_deb_src: true when any apt source (one-line or deb822) is a deb-src.
has_deb_src() {
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -f "$f" ] || continue
        grep -Eq '^[[:space:]]*deb-src[[:space:]]' "$f" && return 0
    done
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        awk '{ l = tolower($0) }
             l ~ /^[[:space:]]*types:.*deb-src/ { found = 1 }
             l ~ /^[[:space:]]*enabled:[[:space:]]*no/ { found = 0 }
             END { exit !found }' "$f" && return 0
    done
    return 1
}

# deb_src_stanzas FILE...: print deb-src stanzas for every enabled `deb`
# stanza of the given deb822 files (comments dropped).
deb_src_stanzas() {
    awk '
    function flush() {
        if (isdeb && enabled && uris != "" && suites != "") {
            printf "Types: deb-src\nURIs: %s\nSuites: %s\n", uris, suites
            if (comps != "") printf "Components: %s\n", comps
            if (signed != "") printf "Signed-By: %s\n", signed
            printf "\n"
        }
        isdeb = 0; enabled = 1; uris = suites = comps = signed = ""
    }
    BEGIN { enabled = 1 }
    /^[[:space:]]*#/ { next }
    /^[[:space:]]*$/ { flush(); next }
    {
        key = $1; sub(/:$/, "", key); key = tolower(key)
        val = $0; sub(/^[^:]*:[[:space:]]*/, "", val)
        if (key == "types") { n = split(val, t, /[[:space:]]+/)
                              for (i = 1; i <= n; i++) if (t[i] == "deb") isdeb = 1 }
        else if (key == "uris") uris = val
        else if (key == "suites") suites = val
        else if (key == "components") comps = val
        else if (key == "signed-by") signed = val
        else if (key == "enabled" && tolower(val) == "no") enabled = 0
    }
    END { flush() }' "$@"
}

updated=0
if ! has_deb_src; then
    stanzas=""
    if [ -f /etc/apt/sources.list.d/debian.sources ]; then
        stanzas=$(deb_src_stanzas /etc/apt/sources.list.d/debian.sources)
    fi
    if [ -z "$stanzas" ] && [ -f /etc/apt/sources.list ]; then
        # One-line format: mirror every "deb" line as "deb-src".
        stanzas=$(sed -n 's/^[[:space:]]*deb\([[:space:]]\)/deb-src\1/p' \
                  /etc/apt/sources.list)
        SRC_FILE=/etc/apt/sources.list.d/wsus-shim-src.list
    fi
    if [ -z "$stanzas" ]; then
        echo "host-deps: no deb source to mirror as deb-src" >&2
        exit 1
    fi
    echo "host-deps: adding $SRC_FILE" >&2
    printf '# Added by wsus-shim tools/win/host-deps.sh for apt-get source.\n%s\n' \
        "$stanzas" | $SUDO tee "$SRC_FILE" >/dev/null
    $SUDO apt-get update -q >/dev/null
    updated=1
fi

missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
        missing="$missing $p"
    fi
done
if [ -n "$missing" ]; then
    echo "host-deps: installing:$missing" >&2
    [ "$updated" -eq 1 ] || $SUDO apt-get update -q >/dev/null
    # shellcheck disable=SC2086
    $SUDO apt-get install -y -q --no-install-recommends $missing >/dev/null
fi
