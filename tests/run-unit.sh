#!/usr/bin/env bash
# Run every unit test binary given as an argument, add up their "N passed, N failed" lines, print the
# total, and append it to $RESULTS (when set) for tests/summary.sh. A binary that crashes or prints
# no count line counts as one failure.
set -u
passed=0 failed=0
for bin in "$@"; do
    out=$("$bin" 2>&1); rc=$?
    printf '%s\n' "$out"
    line=$(printf '%s\n' "$out" | grep -E '[0-9]+ passed, [0-9]+ failed' | tail -n 1)
    if [ -z "$line" ] || { [ $rc -ne 0 ] && ! printf '%s' "$line" | grep -qE ' [1-9][0-9]* failed'; }; then
        echo "FAIL $bin exited $rc without a result line"
        failed=$((failed + 1))
        continue
    fi
    p=$(printf '%s' "$line" | grep -oE '[0-9]+ passed' | grep -oE '[0-9]+')
    f=$(printf '%s' "$line" | grep -oE '[0-9]+ failed' | grep -oE '[0-9]+')
    passed=$((passed + p)); failed=$((failed + f))
done
echo "unit: $passed passed, $failed failed"
[ -n "${RESULTS:-}" ] && echo "unit $passed $failed" >> "$RESULTS"
[ "$failed" -eq 0 ]
