"""make bench: what the Events queue costs a review. The same denial (a new pod template of a gated
release in flight, a Canary listed from a stand-in API server) under wrk over TLS keep-alive, three ways:
Events off (the baseline), Events on (two Events per review posted to the stand-in), and Events on with the
stand-in holding every Event POST (the queue full, the rest dropped). Prints req/s and p99 for each and the
ratio to the baseline: a review must not wait for the queue.

    events.py MG_BIN TMPDIR"""
import json
import os
import re
import subprocess
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
os.environ["MG_BIN"] = os.path.abspath(sys.argv[1])

import harness  # noqa: E402
from standin_apiserver import StandinAPIServer  # noqa: E402
from test_events import gated_in_flight, template_change  # noqa: E402


def wrk(server, body_file, tmp):
    lua = os.path.join(tmp, "events.lua")
    with open(lua, "w") as f:
        f.write('wrk.method="POST"\nwrk.headers["Content-Type"]="application/json"\n'
                'local f=io.open("%s"); wrk.body=f:read("*a"); f:close()\n' % body_file)
    out = subprocess.run(["wrk", "-t2", "-c8", "-d4s", "--latency", "-s", lua,
                          "https://localhost:%d/validate" % server.port], capture_output=True, text=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rps, p99, int(non2xx.group(1)) if non2xx else 0


def events_line(server):
    text = server.request("GET", "/metrics")[1].decode()
    return " ".join("%s=%s" % m for m in re.findall(r'^manual_gate_events_total\{result="(\w+)"\} (\d+)$', text, re.M))


def main():
    tmp = sys.argv[2]
    body_file = os.path.join(tmp, "deny.json")
    with open(body_file, "w") as f:
        json.dump({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": template_change()}, f)
    api = StandinAPIServer()
    api.put(gated_in_flight())
    results = []
    try:
        for name, args, hold in (("events off", ("--events=false",), False), ("events on", (), False),
                                 ("events on, API server holding every POST", (), True)):
            if hold:
                api.hold_events()
            with harness.Server("--kube-api", api.url, "--log-level", "error", *args) as s:
                harness.wait_ready(s)
                rps, p99, non2xx = wrk(s, body_file, tmp)
                results.append((name, rps, p99, non2xx, events_line(s)))
            api.release_events()
    finally:
        api.stop()
    base = results[0][1]
    for name, rps, p99, non2xx, ev in results:
        print("%s: %.0f denials/s, p99 %s, %.2fx the events-off baseline, non-2xx %d%s" %
              (name, rps, p99, rps / base, non2xx, ("; events: " + ev) if ev else ""))


if __name__ == "__main__":
    main()
