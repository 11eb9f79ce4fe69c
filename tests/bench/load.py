"""make bench: manual-gate over TLS against the bench's own floor (tests/bench/floor.c: libmicrohttpd +
GnuTLS + one cJSON parse, a fixed answer), both started in this run on the same certificate, so the figures
that matter are ratios. Canaries come from the stand-in API server (list, 500 a page, then watch), as
Flagger writes them (gen.py: about 1.5 KB of YAML each).

  1. cache: time from start to /readyz and resident memory at rest with 10,000 Canaries;
  2. wrk -t2 -c32, three rounds alternating the two servers: the denied 9 KB Deployment UPDATE (a lookup
     among the 10,000), medians and the ratio; the patched Canary CREATE;
  3. latency at about 1,000 req/s (paced wrk, see paced()): p99 of both;
  4. resident memory after 60 s of load in all;
  5. the same start with 50,000 Canaries, and with MALLOC_ARENA_MAX=2.

    load.py MG_BIN FLOOR_BIN TMPDIR   (TMPDIR holds gen.py's validate.json and mutate.json)"""
import os
import re
import statistics
import subprocess
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
os.environ["MG_BIN"] = os.path.abspath(sys.argv[1])

import gen  # noqa: E402
import harness  # noqa: E402
from standin_apiserver import StandinAPIServer  # noqa: E402

FLOOR, TMP = os.path.abspath(sys.argv[2]), sys.argv[3]
LOAD_SECONDS = 60


def rss_kib(pid, field="VmRSS"):
    with open("/proc/%d/status" % pid) as f:
        return int(re.search(r"^%s:\s+(\d+)" % field, f.read(), re.M).group(1))


def mib(kib):
    return "%.1f MiB" % (kib / 1024.0)


def lua(name, body):
    path = os.path.join(TMP, name + ".lua")
    with open(path, "w") as f:
        f.write('wrk.method="POST"\nwrk.headers["Content-Type"]="application/json"\n'
                'local f=io.open("%s"); wrk.body=f:read("*a"); f:close()\n' % body)
    return path


def cpu_seconds(pid):
    """User + system CPU time the process has used."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wrk(port, path, script, seconds=5, pid=None):
    """(req/s, non-2xx responses, server CPU us per request when pid is given). CPU per request hardly
    moves with what else the machine runs; req/s does."""
    before = cpu_seconds(pid) if pid else 0
    out = subprocess.run(["wrk", "-t2", "-c32", "-d%ds" % seconds, "--latency", "-s", script,
                          "https://localhost:%d%s" % (port, path)], capture_output=True, text=True).stdout
    cpu = cpu_seconds(pid) - before if pid else 0
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    n = int(re.search(r"(\d+) requests in", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rps, int(non2xx.group(1)) if non2xx else 0, cpu / max(n, 1) * 1e6


def paced(port, path, body, seconds=5):
    """Latency at about 1,000 req/s: wrk, 20 connections each pausing 20 ms before every request (wrk
    times a request from its write, so the pause is not counted). hey, the usual tool, cannot complete a
    TLS handshake with libmicrohttpd here (its Go TLS client gets EOF), and wrk2 is not packaged."""
    script = os.path.join(TMP, "paced.lua")
    with open(script, "w") as f:
        f.write('wrk.method="POST"\nwrk.headers["Content-Type"]="application/json"\n'
                'local f=io.open("%s"); wrk.body=f:read("*a"); f:close()\n'
                'function delay() return 20 end\n' % body)
    out = subprocess.run(["wrk", "-t2", "-c20", "-d%ds" % seconds, "--latency", "-s", script,
                          "https://localhost:%d%s" % (port, path)], capture_output=True, text=True).stdout
    m = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\b", out, re.M)
    p99 = float(m.group(1)) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[m.group(2)]
    m90 = re.search(r"^\s+90%\s+([\d.]+)(us|ms|s)\b", out, re.M)
    p90 = float(m90.group(1)) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[m90.group(2)]
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    return p99, rps, p90


def start_floor(cert_dir):
    port = harness.free_port()
    p = subprocess.Popen([FLOOR, str(port), os.path.join(cert_dir, "tls.crt"), os.path.join(cert_dir, "tls.key")])
    deadline = time.time() + 10
    while time.time() < deadline:
        if subprocess.run(["curl", "-sf", "--cacert", os.path.join(cert_dir, "ca.crt"),
                           "https://localhost:%d/" % port], capture_output=True).returncode == 0:
            return p, port
        time.sleep(0.05)
    p.kill()
    raise RuntimeError("floor did not start")


def api_with(n):
    api = StandinAPIServer()
    for i in range(n):
        api.put(gen.canary(i))
    return api


def start_and_rest(api, env=None):
    """manual-gate listing api's Canaries: (server, seconds from start to /readyz, KiB resident at rest)."""
    t0 = time.time()
    s = harness.Server("--kube-api", api.url, "--loadtester-url", "http://loadtester.test", "--log-level", "error",
                       env=env)
    harness.wait_ready(s, timeout=60)
    ready = time.time() - t0
    time.sleep(2)
    return s, ready, rss_kib(s.proc.pid)


def ratios(api, validate, mutate):
    vlua, mlua = lua("validate", validate), lua("mutate", mutate)
    s, ready, idle = start_and_rest(api)
    floor, fport = start_floor(s.cert_dir)
    print("10,000 Canaries from the stand-in API server: /readyz after %.2f s (process start included); "
          "resident at rest %s (floor: %s)" % (ready, mib(idle), mib(rss_kib(floor.pid))))
    try:
        t0 = time.time()
        mg, fl = [], []
        for _ in range(3):
            mg.append(wrk(s.port, "/validate", vlua, pid=s.proc.pid))
            fl.append(wrk(fport, "/validate", vlua, pid=floor.pid))
        m, f = statistics.median(r for r, _, _ in mg), statistics.median(r for r, _, _ in fl)
        mc, fc = statistics.median(c for _, _, c in mg), statistics.median(c for _, _, c in fl)
        print("deny path (9 KB Deployment UPDATE, lookup among 10,000), wrk -t2 -c32 -d5s x3, medians: "
              "manual-gate %.0f req/s, floor %.0f req/s: ratio %.2f (rounds: %s / %s; non-2xx %d)" %
              (m, f, m / f, " ".join("%.0f" % r for r, _, _ in mg), " ".join("%.0f" % r for r, _, _ in fl),
               sum(n for _, n, _ in mg)))
        print("  server CPU per request: manual-gate %.1f us, floor %.1f us: the floor's cost is %.2fx manual-gate's"
              % (mc, fc, fc / mc))
        pr, pn, pc = wrk(s.port, "/mutate", mlua, pid=s.proc.pid)
        print("patched Canary CREATE: manual-gate %.0f req/s (%.1f us CPU a request), %.2fx the floor's deny path "
              "(non-2xx %d)" % (pr, pc, pr / f, pn))
        hm, hf = [], []
        for _ in range(3):
            hm.append(paced(s.port, "/validate", validate))
            hf.append(paced(fport, "/validate", validate))
        pm, pf = statistics.median(p for p, _, _ in hm), statistics.median(p for p, _, _ in hf)
        print("deny path at ~1,000 req/s (wrk -c20, 20 ms between requests, 5 s x3, medians): p99 manual-gate "
              "%.2f ms (p90 %.2f, %.0f req/s), floor %.2f ms (p90 %.2f, %.0f req/s): ratio %.2f" %
              (pm, statistics.median(x for _, _, x in hm), statistics.median(r for _, r, _ in hm), pf,
               statistics.median(x for _, _, x in hf), statistics.median(r for _, r, _ in hf), pm / pf))
        left = LOAD_SECONDS - (time.time() - t0) / 2  # manual-gate had half of the time so far
        if left > 1:
            wrk(s.port, "/validate", vlua, int(left))
        print("resident after %d s of load: %s (peak %s)" % (LOAD_SECONDS, mib(rss_kib(s.proc.pid)),
                                                            mib(rss_kib(s.proc.pid, "VmHWM"))))
        text = s.request("GET", "/metrics")[1].decode()
        print("\n".join(re.findall(r"^manual_gate_admission_reviews_total\{.*\} [1-9].*$", text, re.M)))
    finally:
        floor.terminate()
        floor.wait()
        s.stop()


def rest_only(api, n, env, label):
    s, ready, idle = start_and_rest(api, env)
    try:
        print("%s Canaries%s: /readyz after %.2f s, resident at rest %s (peak %s)" %
              (format(n, ","), label, ready, mib(idle), mib(rss_kib(s.proc.pid, "VmHWM"))))
    finally:
        s.stop()


def main():
    validate, mutate = os.path.join(TMP, "validate.json"), os.path.join(TMP, "mutate.json")
    api = api_with(10000)
    try:
        ratios(api, validate, mutate)
        rest_only(api, 10000, {"MALLOC_ARENA_MAX": "2"}, " with MALLOC_ARENA_MAX=2")
    finally:
        api.stop()
    api = api_with(50000)
    try:
        rest_only(api, 50000, None, "")
    finally:
        api.stop()


if __name__ == "__main__":
    main()
