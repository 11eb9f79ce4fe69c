#!/usr/bin/env bash
# make bench: measurements, each against a baseline taken in the same run on the same machine (shared
# machines are noisy, so only ratios are comparable between runs).
#  1. in-process: Canary lookup with 10 vs 10,000 Canaries (time, and instructions under callgrind);
#     decode+validate+encode of a Deployment review.
#  2. GET /metrics with 10,000 gated Canaries; memory with them read from a file.
#  3. over TLS keep-alive (load.py): manual-gate against the bench's own floor (floor.c) started beside it
#     on the same certificate: wrk throughput of the denied 9 KB Deployment UPDATE (a lookup among 10,000
#     Canaries listed from the stand-in API server) and of the patched Canary, hey p99 at 1,000 req/s;
#     memory at rest, after 60 s of load, with 50,000 Canaries, with MALLOC_ARENA_MAX=2.
#  4. offline mutate: files per second over 1,000 Canary files; a Canary with 100,000 labels vs one
#     label; an alias bomb's peak RSS.
set -euo pipefail
bin=$1
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$(dirname "$bin")
tmp=$(mktemp -d)
trap 'kill $pid 2>/dev/null || true; rm -rf "$tmp"' EXIT

echo "== in-process"
"$build/bench/bench_core"
if command -v valgrind >/dev/null; then
    # Instructions, not seconds: the same count on a loaded or an idle machine.
    for n in 10 10000; do
        valgrind --tool=callgrind --toggle-collect=lookup_loop --callgrind-out-file="$tmp/cg.$n" \
            "$build/bench/bench_core" lookup $n 100000 >/dev/null 2>&1
        echo "$n $(awk '/^summary:/{print $2}' "$tmp/cg.$n")"
    done > "$tmp/ir"
    awk 'NR==1{a=$2} NR==2{b=$2} END{printf "instructions per lookup (callgrind): %.0f with 10 Canaries, %.0f with 10,000, ratio %.3f\n", a/100000, b/100000, b/a}' "$tmp/ir"
    # A 9 KB denied Deployment review, decode + decide + encode: as served (each in an arena), with every
    # node through malloc, and the floor's work alone (one cJSON parse through malloc, freed).
    for m in arena malloc parse; do
        valgrind --tool=callgrind --toggle-collect=review_loop --toggle-collect=parse_loop \
            --callgrind-out-file="$tmp/cg.$m" "$build/bench/bench_core" review 500 $m >/dev/null 2>&1
        echo "$m $(awk '/^summary:/{print $2}' "$tmp/cg.$m")"
    done > "$tmp/ir"
    awk '{v[$1]=$2/500} END{printf "instructions per 9 KB review (callgrind): %.0fk as served (arena), %.0fk with every node through malloc, %.0fk for the floor'"'"'s one parse: %.2fx the floor\n", v["arena"]/1e3, v["malloc"]/1e3, v["parse"]/1e3, v["arena"]/v["parse"]}' "$tmp/ir"
    callgrind_annotate "$tmp/cg.arena" 2>/dev/null | awk '/file:function/{on=1; next} on && NF && n<8 {print "  " $0; n++}'
    # The same for a 1 MiB review (4,600 environment variables).
    for m in arena parse; do
        valgrind --tool=callgrind --toggle-collect=review_loop --toggle-collect=parse_loop \
            --callgrind-out-file="$tmp/cgbig.$m" "$build/bench/bench_core" review 5 $m 4600 >/dev/null 2>&1
        echo "$m $(awk '/^summary:/{print $2}' "$tmp/cgbig.$m")"
    done > "$tmp/ir"
    awk '{v[$1]=$2/5} END{printf "instructions per 1 MiB review (callgrind): %.1fM as served, %.1fM for the floor'"'"'s one parse: %.2fx the floor\n", v["arena"]/1e6, v["parse"]/1e6, v["arena"]/v["parse"]}' "$tmp/ir"
fi

echo "== offline mutate (YAML)"
"${PYTHON:-python3}" "$root/tests/bench/offline.py" "$bin" "$tmp"

command -v wrk >/dev/null || { echo "wrk not installed (make deps): TLS load benchmark skipped"; exit 0; }
"$root/certs/make-certs.sh" --out "$tmp" >/dev/null 2>&1
"${PYTHON:-python3}" "$root/tests/bench/gen.py" "$tmp" 10000
port=$("${PYTHON:-python3}" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$bin" serve --listen "127.0.0.1:$port" --tls-cert "$tmp/tls.crt" --tls-key "$tmp/tls.key" \
    --canaries "$tmp/canaries.json" --loadtester-url http://loadtester.test --log-level error 2>"$tmp/log" &
pid=$!
for _ in $(seq 100); do curl -sf --cacert "$tmp/ca.crt" "https://localhost:$port/readyz" >/dev/null && break; sleep 0.1; done
echo "== memory: peak RSS reading 10,000 Canaries from a file (the YAML parse): $(awk '/VmHWM/{print $2, $3}' /proc/$pid/status)"

# A scrape formats a gauge set per gated Canary from the cache (10,000 here), against /healthz on the
# same connection setup: curl, a new TLS connection each time, 20 times, the median.
scrape() { # path
    for _ in $(seq 20); do
        curl -s -o /dev/null -w '%{time_total} %{size_download}\n' --cacert "$tmp/ca.crt" "https://localhost:$port$1"
    done | sort -n | awk '{t[NR]=$1; b=$2} END{print t[int(NR/2)+1], t[NR], b}'
}
echo "== GET /metrics with 10,000 gated Canaries cached (20 scrapes, new TLS connection each)"
h=$(scrape /healthz); m=$(scrape /metrics)
echo "$h $m" | awk '{printf "/metrics: median %.1f ms (max %.1f ms), %d bytes; /healthz median %.1f ms; ratio %.1fx\n", $4*1000, $5*1000, $6, $1*1000, $4/$1}'

echo "== memory: resident with 10,000 Canaries read from a file (--canaries), after those 40 scrapes: $(awk '/VmRSS/{print $2, $3}' /proc/$pid/status)"
kill $pid; wait $pid 2>/dev/null || true

echo "== TLS keep-alive against the bench's floor (floor.c), the same certificate, in this run"
"${PYTHON:-python3}" "$root/tests/bench/load.py" "$bin" "$build/bench/floor" "$tmp"

echo "== the Events queue and review latency (wrk -t2 -c8 -d4s, one denial, stand-in API server)"
"${PYTHON:-python3}" "$root/tests/bench/events.py" "$bin" "$tmp"
