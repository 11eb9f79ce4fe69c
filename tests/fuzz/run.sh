#!/usr/bin/env bash
# make fuzz: build the libFuzzer targets with clang (ASan+UBSan) and run each for FUZZ_SECONDS,
# seeded from the test fixtures. A crash, a sanitizer report or a broken property fails the run and
# leaves the input in build/fuzz/.
set -euo pipefail
seconds=${FUZZ_SECONDS:-60}
root=$(cd "$(dirname "$0")/../.." && pwd)
out=$root/build/fuzz
targets="review yaml splice"
# For tests/summary.sh when make test runs this: "fuzz PASSED FAILED SKIPPED", one per target.
report() { [ -n "${RESULTS:-}" ] && echo "fuzz $1 $2 $3" >> "$RESULTS"; echo "fuzz: $1 passed, $2 failed, $3 skipped"; }
command -v clang >/dev/null || {
    echo "clang not installed (apt-get install clang libclang-rt-14-dev): fuzzing skipped"; report 0 0 3; exit 0; }
mkdir -p "$out/corpus-review" "$out/corpus-yaml" "$out/corpus-splice"
rm -f "$out"/crash-* "$out"/leak-* "$out"/timeout-*
flags="-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -D_GNU_SOURCE -std=c11 -I$root/webhook $(pkg-config --cflags libcjson yaml-0.1)"
libs="$(pkg-config --libs libmicrohttpd libcjson libcurl yaml-0.1 openssl gnutls) -lpthread -lm"
# Every module but main.c (the fuzz targets bring their own main); unused ones are dropped at link time.
srcs=$(ls "$root"/webhook/*.c | grep -vE '/main\.c$')
cp "$root"/tests/fixtures/reviews/*.json "$out/corpus-review/"
python3 - "$root" "$out/corpus-review" <<'PY'
import json, os, sys, glob
root, dst = sys.argv[1], sys.argv[2]
for p in glob.glob(os.path.join(root, "tests/fixtures/mutate/cases/*.json")):
    case = json.load(open(p))
    if "canary" in case:
        req = {"uid": "fuzz", "kind": {"group": "flagger.app", "version": "v1beta1", "kind": "Canary"},
               "operation": "CREATE", "namespace": "test", "object": case["canary"]}
        json.dump({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": req},
                  open(os.path.join(dst, os.path.basename(p)), "w"))
PY
cp "$root"/tests/fixtures/flagger/examples/*.yaml "$root"/tests/fixtures/canaries/*.yaml "$out/corpus-yaml/"
cp "$out"/corpus-yaml/* "$root"/tests/fixtures/splice/*.yaml "$root"/tests/fixtures/offline/roundtrip/*.yaml "$out/corpus-splice/"
passed=0
for t in $targets; do
    # shellcheck disable=SC2086
    if ! clang $flags -o "$out/fuzz_$t" "$root/tests/fuzz/fuzz_$t.c" $srcs $libs; then
        echo "fuzz_$t does not build"; report $passed 1 0; exit 1
    fi
    echo "== fuzz_$t for ${seconds}s"
    (cd "$out" && ./fuzz_$t -max_total_time="$seconds" -max_len=65536 -print_final_stats=1 "corpus-$t" 2>&1 |
        grep -E 'stat::number_of_executed_units|stat::peak_rss|ERROR|SUMMARY|crash-|Test unit written' || true)
    if compgen -G "$out/crash-*" >/dev/null || compgen -G "$out/leak-*" >/dev/null ||
        compgen -G "$out/timeout-*" >/dev/null; then
        echo "fuzz_$t found a failing input:"; ls "$out"/crash-* "$out"/leak-* "$out"/timeout-* 2>/dev/null
        report $passed 1 0
        exit 1
    fi
    passed=$((passed + 1))
done
echo "fuzzing: no crash, sanitizer report or broken property"
report $passed 0 0
