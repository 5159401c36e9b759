#!/bin/sh
# Install the Debian 12 packages needed to build, run and test wsus-shim and
# wsus-fixer. Only what is missing is installed. Must run as root (or with
# sudo available).
#
#   tools/deps.sh          build + run + test dependencies
#
# The tests' Kerberos KDC is not installed from here: krb5-kdc would pull in
# krb5-config, which writes /etc/krb5.conf. tools/krb5-kdc.sh unpacks it
# into a folder of the build instead (the tests call it); the libraries it
# needs are in the list below.
set -eu

PKGS="
build-essential cmake pkg-config
libevent-dev libssl-dev libcmocka-dev libinih-dev node-llhttp
unixodbc unixodbc-dev libsqliteodbc odbc-postgresql sqlite3
postgresql
python3 curl wget aria2 squid openssl wrk procps iproute2
chromium
cppcheck clang-format clang-tidy clang
gss-ntlmssp python3-gssapi
libkrb5-dev krb5-user libkdb5-10 libkadm5srv-mit12 libgssrpc4 libverto-libev1
"

missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
echo "deps: installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q >/dev/null
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $missing >/dev/null
