#!/bin/sh
# fakesvc.sh - a simulated Windows service for wsus-fixer's exec backend,
# used by the tests in tests/fixer/ and by conf/wsus-fixer.demo.conf. It
# speaks like `sc`: status prints "STATE : 4 RUNNING" / "1 STOPPED" /
# "3 STOP_PENDING", a missing service prints "... does not exist ...".
#
#   fakesvc.sh -d DIR ACTION NAME [ARG]
#
# State lives in DIR (created if missing): NAME.state (running, stopped,
# stop-pending, start-pending; a missing file means running), NAME.type
# (auto or disabled; missing means auto), NAME.mode (failure switches,
# space-separated), and calls.log (one "ACTION NAME" line per call, so
# tests can assert what the fixer did).
#
# Actions the fixer runs: status, stop, start, qc (start type), enable.
# Test helpers: set NAME STATE, type NAME TYPE, mode NAME "FLAGS".
# Mode flags:
#   stop-fail    stop exits 1 with an sc-like error
#   stop-hang    stop sleeps (up to 60 s) and never stops the service
#   stop-stuck   stop exits 0 but the service stays stop-pending
#   start-fail   start exits 1
#   start-stuck  start exits 0 but the service stays start-pending
#   enable-fail  enable exits 1
#   absent       the service does not exist
#   status-fail  status exits 1 with no recognizable output
set -u

dir=""
if [ "${1:-}" = "-d" ]; then
    dir=$2
    shift 2
fi
[ -n "$dir" ] || { echo "fakesvc: -d DIR is required" >&2; exit 2; }
[ $# -ge 2 ] || { echo "usage: fakesvc.sh -d DIR ACTION NAME [ARG]" >&2; exit 2; }
action=$1
name=$2
arg=${3:-}
mkdir -p "$dir" || exit 2

case "$name" in
    *[!A-Za-z0-9_.-]*) echo "fakesvc: bad service name" >&2; exit 2 ;;
esac

put() { # put FILE VALUE: atomic replace
    printf '%s\n' "$2" > "$1.tmp.$$" && mv -f "$1.tmp.$$" "$1"
}
get() { # get FILE DEFAULT
    if [ -f "$1" ]; then cat "$1"; else printf '%s\n' "$2"; fi
}
has_mode() {
    case " $(get "$dir/$name.mode" "") " in
        *" $1 "*) return 0 ;;
    esac
    return 1
}

echo "$action $name" >> "$dir/calls.log"
state=$(get "$dir/$name.state" running)
stype=$(get "$dir/$name.type" auto)

if has_mode absent && [ "$action" != set ] && [ "$action" != mode ] &&
   [ "$action" != type ]; then
    echo "[SC] OpenService FAILED 1060:"
    echo "The specified service does not exist as an installed service."
    exit 36
fi

case "$action" in
status)
    if has_mode status-fail; then
        echo "[SC] QueryServiceStatus FAILED 5: Access is denied."
        exit 5
    fi
    case "$state" in
        running) code="4  RUNNING" ;;
        stopped) code="1  STOPPED" ;;
        stop-pending) code="3  STOP_PENDING" ;;
        start-pending) code="2  START_PENDING" ;;
        *) code="0  UNKNOWN" ;;
    esac
    echo "SERVICE_NAME: $name"
    echo "        TYPE               : 10  WIN32_OWN_PROCESS"
    echo "        STATE              : $code"
    ;;
stop)
    if has_mode stop-fail; then
        echo "[SC] ControlService FAILED 1061:"
        echo "The service cannot accept control messages at this time."
        exit 1
    fi
    if has_mode stop-hang; then
        sleep 60
        exit 1
    fi
    if [ "$state" != running ]; then
        echo "[SC] ControlService FAILED 1062: The service has not been started."
        exit 1
    fi
    if has_mode stop-stuck; then
        put "$dir/$name.state" stop-pending
    else
        put "$dir/$name.state" stopped
    fi
    echo "SERVICE_NAME: $name"
    echo "        STATE              : 3  STOP_PENDING"
    ;;
start)
    if [ "$stype" = disabled ]; then
        echo "[SC] StartService FAILED 1058:"
        echo "The service cannot be started, either because it is disabled or because it has no enabled devices associated with it."
        exit 1
    fi
    if has_mode start-fail; then
        echo "[SC] StartService FAILED 1053:"
        echo "The service did not respond to the start or control request in a timely fashion."
        exit 1
    fi
    if [ "$state" = running ]; then
        echo "[SC] StartService FAILED 1056: An instance of the service is already running."
        exit 1
    fi
    if has_mode start-stuck; then
        put "$dir/$name.state" start-pending
    else
        put "$dir/$name.state" running
    fi
    echo "SERVICE_NAME: $name"
    echo "        STATE              : 2  START_PENDING"
    ;;
qc)
    if [ "$stype" = disabled ]; then
        echo "        START_TYPE         : 4   DISABLED"
    else
        echo "        START_TYPE         : 2   AUTO_START  (DELAYED)"
    fi
    ;;
enable)
    if has_mode enable-fail; then
        echo "[SC] ChangeServiceConfig FAILED 5: Access is denied."
        exit 1
    fi
    put "$dir/$name.type" auto
    echo "[SC] ChangeServiceConfig SUCCESS"
    ;;
set) put "$dir/$name.state" "$arg" ;;
type) put "$dir/$name.type" "$arg" ;;
mode) put "$dir/$name.mode" "$arg" ;;
*)
    echo "fakesvc: unknown action $action" >&2
    exit 2
    ;;
esac
exit 0
