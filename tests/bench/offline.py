"""Offline `manual-gate mutate`: files per second over 1,000 Canary files (-w, and --check of the completed
files as the baseline), and on large YAML: time and peak RSS of a Canary with 100,000 labels
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


def timed(args, runs=3):
    """Best wall time of a command (s) and its exit code."""
    best, rc = None, None
    for _ in range(runs):
        start = time.monotonic()
        rc = subprocess.run(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
        took = time.monotonic() - start
        best = took if best is None else min(best, took)
    return best, rc


# 1,000 Canary files as a GitOps repository holds them: Flagger's linkerd example with gating switched on,
# one per application directory. -w completes them all (admission, splice, atomic write); --check over
# the completed files is the baseline (read, parse, admission, nothing to splice or write).
repo = os.path.join(tmp, "repo")
example = open(os.path.join(os.path.dirname(__file__), "..", "fixtures", "flagger", "examples",
                            "linkerd-canary.yaml")).read()
gated = example.replace("\nmetadata:\n", '\nmetadata:\n  labels:\n    manual-gate.io/enabled: "true"\n', 1)
FILES = 1000
for i in range(FILES):
    os.makedirs(os.path.join(repo, "app-%04d" % i))
    with open(os.path.join(repo, "app-%04d" % i, "canary.yaml"), "w") as f:
        f.write(gated.replace("name: podinfo\n  namespace: test", "name: app-%04d\n  namespace: test" % i, 1))
check_before, rc_before = timed([binary, "mutate", "--check", repo], runs=1)
write_time, rc_write = timed([binary, "mutate", "-w", repo], runs=1)
check_after, rc_after = timed([binary, "mutate", "--check", repo])
print("mutate over %d Canary files: -w %.2f s (%.0f files/s, exit %d); --check before %.2f s (%.0f files/s, exit %d); "
      "--check of the completed files %.2f s (%.0f files/s, exit %d, the baseline): -w costs %.2fx the baseline" %
      (FILES, write_time, FILES / write_time, rc_write, check_before, FILES / check_before, rc_before, check_after,
       FILES / check_after, rc_after, write_time / check_after))
