#!/bin/sh
# fuzz.sh - build every libFuzzer target with clang in its own build
# folder and run each for FUZZ_SECONDS (default 60) over its checked-in
# corpus (tests/fuzz/corpus/<t>) with its dictionary. New inputs go to a
# work folder under the build (the checked-in corpora are only read);
# crashes, leaks and sanitizer reports go to FUZZ_BUILD/artifacts/.
# Prints one line per target (runs, exec/s, cov, ft, corpus) and exits
# non-zero when any target found something.
#   make fuzz                       # all targets, 60 s each
#   FUZZ_SECONDS=20 make fuzz       # CI
#   FUZZ_TARGETS="http_req normalize" tools/fuzz.sh
set -u

cd "$(dirname "$0")/.." || exit 2
top=$(pwd)
secs=${FUZZ_SECONDS:-60}
bdir=${FUZZ_BUILD:-build-fuzz}
jobs=${JOBS:-2}
targets=${FUZZ_TARGETS:-"range http_req http_resp http_diff auth ntlm config
    normalize cache_meta fconf connstr"}

command -v clang >/dev/null 2>&1 || {
    echo "fuzz: clang not installed (tools/deps.sh installs it)" >&2
    exit 2
}
CC=clang cmake -S . -B "$bdir" -DWSUS_FUZZ=ON -DWSUS_TESTS=OFF \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null || exit 2
cmake --build "$bdir" -j "$jobs" --target fuzz_all >/dev/null || {
    cmake --build "$bdir" -j 1 --target fuzz_all 2>&1 | tail -30
    exit 2
}

# The dictionary of a target: its own, else the one it shares.
dict_of() {
    case "$1" in
    http_req | http_resp | http_diff | normalize) echo tests/fuzz/http.dict ;;
    *) [ -f "tests/fuzz/$1.dict" ] && echo "tests/fuzz/$1.dict" ;;
    esac
}

rc=0
mkdir -p "$bdir/artifacts"
printf '%-11s %10s %8s %6s %6s %7s  %s\n' target runs exec/s cov ft corpus \
    result
for t in $targets; do
    exe="$bdir/tests/fuzz/fuzz_$t"
    work="$bdir/fuzz-work/$t"
    log="$bdir/fuzz-$t.log"
    mkdir -p "$work"
    d=$(dict_of "$t")
    # -rss_limit_mb and -timeout: a slow or huge input is a finding too.
    "$exe" -max_total_time="$secs" -print_final_stats=1 -timeout=10 \
        -rss_limit_mb=2048 -artifact_prefix="$top/$bdir/artifacts/$t-" \
        ${d:+-dict="$d"} "$work" "tests/fuzz/corpus/$t" >"$log" 2>&1
    status=$?
    last=$(grep -E '^#[0-9]+' "$log" | tail -1)
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    eps=$(printf '%s\n' "$last" | sed -n 's/.*exec\/s: \([0-9]*\).*/\1/p')
    cov=$(printf '%s\n' "$last" | sed -n 's/.*cov: \([0-9]*\).*/\1/p')
    ft=$(printf '%s\n' "$last" | sed -n 's/.*ft: \([0-9]*\).*/\1/p')
    corp=$(printf '%s\n' "$last" | sed -n 's/.*corp: \([0-9]*\)\/.*/\1/p')
    if [ "$status" -eq 0 ] && ! grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|libFuzzer)|runtime error:' "$log"; then
        result=ok
    else
        result="FOUND (exit $status): see $log"
        rc=1
    fi
    printf '%-11s %10s %8s %6s %6s %7s  %s\n' "$t" "${runs:-?}" "${eps:-?}" \
        "${cov:-?}" "${ft:-?}" "${corp:-?}" "$result"
    [ "$status" -eq 0 ] || grep -E 'ERROR|CHECK|SUMMARY|Test unit written' \
        "$log" | head -8
done
exit "$rc"
