#!/bin/sh
# lint.sh - the static checks the tree is kept clean against:
#   1. cppcheck on proxy/ and common/ with the check set below; findings
#      are fixed, or suppressed inline (// cppcheck-suppress ID) with the
#      reason on the same line when the finding is wrong;
#   2. clang-tidy with the check set stated in .clang-tidy (with the reason
#      for each check left out) over every C file of proxy/, fixer/ and
#      common/ that the Linux build compiles, read from the
#      compile_commands.json of a configure-only build folder (LINT_BUILD,
#      default build-lint); findings are fixed, or suppressed inline with
#      NOLINTNEXTLINE(check) under a comment that gives the reason;
#   3. clang-format --dry-run --Werror on every C source and header
#      (the .clang-format at the top of the tree).
# Exits non-zero when any finds something. Usage: tools/lint.sh
# Set LINT_SKIP_FORMAT=1 to skip clang-format, LINT_SKIP_TIDY=1 to skip
# clang-tidy (about 2 minutes on 2 cores; JOBS sets the parallel runs).
set -u

cd "$(dirname "$0")/.." || exit 2
rc=0

if command -v cppcheck >/dev/null 2>&1; then
    out=$(cppcheck --enable=warning,style,performance,portability \
        --std=c11 --inline-suppr --quiet --error-exitcode=1 \
        -I common -I proxy -I fixer proxy common fixer 2>&1) || rc=1
    # Findings are "FILE:LINE:COL: severity: text [id]"; the "note:" lines
    # that follow some of them explain the finding and are not counted.
    finding='^[^ ]+:[0-9]+:[0-9]+: [a-z]+:'
    printf '%s\n' "$out" | grep -E "$finding"
    n=$(printf '%s\n' "$out" | grep -E "$finding" | grep -cv ': note:')
    echo "cppcheck: $n finding(s)"
    [ "$n" -eq 0 ] || rc=1
else
    echo "cppcheck not installed (tools/deps.sh installs it)" >&2
    rc=1
fi

if [ "${LINT_SKIP_TIDY:-0}" != 1 ]; then
    if command -v clang-tidy >/dev/null 2>&1; then
        bdir=${LINT_BUILD:-build-lint}
        top=$(pwd)
        if cmake -S . -B "$bdir" -DCMAKE_EXPORT_COMPILE_COMMANDS=ON \
            -DWSUS_TESTS=OFF >/dev/null; then
            srcs=$(sed -n 's/^ *"file": "\(.*\)",\{0,1\}$/\1/p' \
                "$bdir/compile_commands.json" |
                grep -E "^$top/(proxy|fixer|common)/[^/]+\.c$" | sort -u)
            # Findings are "FILE:LINE:COL: warning: text [check]"; a
            # header's finding is reported once per file including it.
            finding='^/[^ ]+:[0-9]+:[0-9]+: (warning|error):'
            out=$(printf '%s\n' "$srcs" |
                xargs -P "${JOBS:-2}" -n 4 clang-tidy -p "$bdir" --quiet \
                    2>/dev/null | grep -E "$finding" | sort -u)
            [ -n "$out" ] && printf '%s\n' "$out"
            n=$(printf '%s' "$out" | grep -c .)
            echo "clang-tidy: $n finding(s) in $(printf '%s\n' "$srcs" |
                grep -c .) file(s)"
            [ "$n" -eq 0 ] || rc=1
        else
            echo "clang-tidy: cmake could not configure $bdir" >&2
            rc=1
        fi
    else
        echo "clang-tidy not installed (tools/deps.sh installs it)" >&2
        rc=1
    fi
fi

if [ "${LINT_SKIP_FORMAT:-0}" != 1 ]; then
    if command -v clang-format >/dev/null 2>&1; then
        files=$(git ls-files '*.c' '*.h')
        # shellcheck disable=SC2086
        clang-format --dry-run --Werror $files >/dev/null 2>&1 || {
            bad=$(for f in $files; do
                clang-format --dry-run --Werror "$f" >/dev/null 2>&1 ||
                    echo "$f"
            done | wc -l)
            echo "clang-format: $bad file(s) not formatted"
            rc=1
        }
    else
        echo "clang-format not installed (tools/deps.sh installs it)" >&2
        rc=1
    fi
fi
exit "$rc"
