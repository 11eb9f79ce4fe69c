"""Offline `manual-gate mutate` on large YAML: time and peak RSS of a Canary with 100,000 labels
against the same Canary with one label (same run, so the ratio is what counts), and the peak RSS of a
1 MiB file whose aliases would expand to 300 MiB (refused by the 64 MiB alias budget)."""
import os
import subprocess
import sys
import time

import yaml

binary, tmp = sys.argv[1], sys.argv[2]


def canary(labels):
    return {"apiVersion": "flagger.app/v1beta1", "kind": "Canary",
            "metadata": {"name": "podinfo", "namespace": "test",
                         "labels": dict({"manual-gate.io/enabled": "true"},
                                        **{"key-%d" % i: "v" for i in range(labels)})},
            "spec": {"targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "podinfo"},
                     "service": {"port": 9898}, "analysis": {"interval": "1m", "threshold": 5, "stepWeight": 10}}}


def measure(path, runs=3):
    """Best wall time (s) and peak RSS (MiB) of `mutate path`, and its exit code, by GNU time (the
    child's own RSS, not the forking Python's)."""
    best, rss, rc = None, 0, None
    for _ in range(runs):
        start = time.monotonic()
        r = subprocess.run(["/usr/bin/time", "-f", "MG %M", binary, "mutate", path, "--loadtester-url",
                            "http://lt.test"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        took = time.monotonic() - start
        kib = int([l for l in r.stderr.splitlines() if l.startswith("MG ")][-1].split()[1])
        rc = r.returncode
        best = took if best is None else min(best, took)
        rss = max(rss, kib / 1024)
    return best, rss, rc


files = {}
for n in (1, 100000):
    files[n] = os.path.join(tmp, "canary-%d.yaml" % n)
    with open(files[n], "w") as f:
        yaml.safe_dump(canary(n), f, sort_keys=False)
small, small_rss, _ = measure(files[1])
big, big_rss, rc = measure(files[100000])
print("mutate, 1 label: %.3f s, %.0f MiB; 100,000 labels (%d KiB): %.3f s, %.0f MiB, exit %d; %.0fx the time" %
      (small, small_rss, os.path.getsize(files[100000]) // 1024, big, big_rss, rc, big / small))
bomb = os.path.join(tmp, "aliases.yaml")
with open(bomb, "w") as f:
    f.write("a: &a " + "x" * (1 << 20) + "\nb: [" + ", ".join(["*a"] * 300) + "]\n")
took, rss, rc = measure(bomb, runs=1)
print("mutate, 1 MiB scalar aliased 300 times: exit %d (refused) in %.2f s, peak RSS %.0f MiB" % (rc, took, rss))
