#!/usr/bin/env bash
# make bench: measurements, each against a baseline taken in the same run on the same machine (shared
# machines are noisy, so only ratios are comparable between runs).
#  1. in-process: Canary lookup with 10 vs 10,000 Canaries (time, and instructions under callgrind);
#     decode+validate+encode of a Deployment review.
#  2. over TLS keep-alive with wrk: GET /healthz (transport baseline) vs POST /validate (14 KB Deployment
#     review, denied after a cache lookup among 10,000 Canaries) vs POST /mutate (Canary, patched).
#  3. memory: the server's peak RSS idle with 10,000 Canaries cached, and after the load.
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
fi

echo "== offline mutate (YAML)"
"${PYTHON:-python3}" "$root/tests/bench/offline.py" "$bin" "$tmp"

command -v wrk >/dev/null || { echo "wrk not installed (make deps): TLS load benchmark skipped"; exit 0; }
"$root/certs/make-certs.sh" --out "$tmp" >/dev/null 2>&1
"${PYTHON:-python3}" "$root/tests/bench/gen.py" "$tmp"
port=$("${PYTHON:-python3}" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$bin" serve --listen "127.0.0.1:$port" --tls-cert "$tmp/tls.crt" --tls-key "$tmp/tls.key" \
    --canaries "$tmp/canaries.json" --loadtester-url http://loadtester.test --log-level error 2>"$tmp/log" &
pid=$!
for _ in $(seq 100); do curl -sf --cacert "$tmp/ca.crt" "https://localhost:$port/readyz" >/dev/null && break; sleep 0.1; done
echo "== memory: peak RSS idle with 10,000 Canaries: $(awk '/VmHWM/{print $2, $3}' /proc/$pid/status)"

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

run() { # name method path body
    local lua=$tmp/$1.lua
    if [ -n "${4:-}" ]; then
        printf 'wrk.method="POST"\nwrk.headers["Content-Type"]="application/json"\nlocal f=io.open("%s"); wrk.body=f:read("*a"); f:close()\n' "$4" > "$lua"
    else
        printf 'wrk.method="GET"\n' > "$lua"
    fi
    wrk -t2 -c16 -d5s --latency -s "$lua" "https://localhost:$port$3" > "$tmp/$1.out"
    rps=$(awk '/Requests\/sec/{print $2}' "$tmp/$1.out")
    p99=$(awk '$1=="99%"{print $2}' "$tmp/$1.out")
    non2xx=$(awk '/Non-2xx/{print $NF}' "$tmp/$1.out"); non2xx=${non2xx:-0}
    echo "$1 $rps $p99 $non2xx"
}
echo "== TLS keep-alive, wrk -t2 -c16 -d5s (2 cores shared by client and server; log level error)"
base=$(run healthz GET /healthz); echo "$base"
val=$(run validate POST /validate "$tmp/validate.json"); echo "$val"
mut=$(run mutate POST /mutate "$tmp/mutate.json"); echo "$mut"
b=$(echo "$base" | awk '{print $2}')
for line in "$val" "$mut"; do
    echo "$line" | awk -v b="$b" '{printf "%s: %.0f req/s, p99 %s, %.2fx the /healthz baseline, non-2xx %s\n", $1, $2, $3, $2/b, $4}'
done
echo "== memory: peak RSS after the load: $(awk '/VmHWM/{print $2, $3}' /proc/$pid/status)"
# The decisions the load got: validate must be denied and mutate patched, or the numbers above measure
# another path.
curl -sf --cacert "$tmp/ca.crt" "https://localhost:$port/metrics" | grep -E '^manual_gate_admission_reviews_total\{.*\} [1-9]'

echo "== the Events queue and review latency (wrk -t2 -c8 -d4s, one denial, stand-in API server)"
"${PYTHON:-python3}" "$root/tests/bench/events.py" "$bin" "$tmp"
