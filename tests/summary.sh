#!/usr/bin/env bash
# Add up the suites' results (lines "NAME PASSED FAILED [SKIPPED]" in $1) and print the closing line.
# Fewer suites than expected ($2) means one failed to build or crashed: that counts as a failure too.
set -u
file=$1 want=$2
passed=0 failed=0 skipped=0 suites=0
if [ -f "$file" ]; then
    while read -r _ p f s; do
        passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + ${s:-0})); suites=$((suites + 1))
    done < "$file"
fi
if [ "$suites" -lt "$want" ]; then
    echo "only $suites of $want test suites reported: a build or a suite failed before counting"
    failed=$((failed + want - suites))
fi
if [ "$skipped" -gt 0 ]; then
    echo "$passed passed, $failed failed, $skipped skipped"
else
    echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
