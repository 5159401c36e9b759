#!/bin/sh
# Unpack MIT Kerberos' KDC (krb5kdc, kdb5_util, kadmin.local and the db2
# database module) from Debian's packages into a folder, for the tests'
# throwaway KDC on loopback. Installing krb5-kdc would pull in
# krb5-config, which writes /etc/krb5.conf; this never touches the
# system's configuration.
#
#   tools/krb5-kdc.sh DIR     prints DIR/root on its last line
#
# Idempotent: DIR/.complete holds the package versions, those of the
# installed libkrb5-3; when they match, nothing is fetched and apt is not
# asked (a dpkg query only). The libraries the binaries
# need (libkdb5, libkadm5srv, libgssrpc, libverto with a backend) and
# krb5-user (kinit, klist, kdestroy) are ordinary packages that
# tools/deps.sh installs. Needs network access to the Debian archive on
# the first run only; as root or not.
set -eu

[ $# -eq 1 ] || { echo "usage: $0 DIR" >&2; exit 2; }
DIR=$1
PKGS="krb5-kdc krb5-admin-server"

# The version of the installed Kerberos libraries, so the KDC matches
# them; the archive's candidate when that version is no longer served.
# The fast path (cached) asks dpkg only, never apt.
libver=$(dpkg-query -W -f='${Version}' libkrb5-3 2>/dev/null || true)
[ -n "$libver" ] || { echo "krb5-kdc: libkrb5-3 is not installed" >&2; exit 1; }
want=""
for p in $PKGS; do
    want="$want$p=$libver
"
done
if [ -f "$DIR/.complete" ] && [ "$(cat "$DIR/.complete")" = "$(printf '%s' "$want")" ] &&
   [ -x "$DIR/root/usr/sbin/krb5kdc" ]; then
    echo "krb5-kdc: cached" >&2
    echo "$DIR/root"
    exit 0
fi

rm -rf "$DIR/debs" "$DIR/root" "$DIR/.complete"
mkdir -p "$DIR/debs" "$DIR/root"
# apt-get download writes into the current folder; as root it drops
# privileges to _apt, which must be able to write there.
chmod 0777 "$DIR/debs"
# shellcheck disable=SC2046
if ! (cd "$DIR/debs" && apt-get download -q $(printf '%s' "$want" | tr '\n' ' ') \
      >/dev/null 2>&1); then
    echo "krb5-kdc: $libver not in the archive; taking the candidate" >&2
    (cd "$DIR/debs" && apt-get download -q $PKGS >/dev/null)
fi
for deb in "$DIR"/debs/*.deb; do
    dpkg-deb -x "$deb" "$DIR/root"
done
for f in usr/sbin/krb5kdc usr/sbin/kdb5_util usr/sbin/kadmin.local; do
    [ -x "$DIR/root/$f" ] || { echo "krb5-kdc: $f missing" >&2; exit 1; }
done
printf '%s' "$want" >"$DIR/.complete"
echo "krb5-kdc: unpacked into $DIR/root" >&2
echo "$DIR/root"
