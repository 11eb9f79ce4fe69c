"""make soak SOAK_SECONDS=N: the real binary under mixed load for N seconds, with watch churn and attacks,
while its memory and open files are sampled. Exits non-zero when RSS or the fd count is not flat, when a
review got an unexpected answer, or when the server died.

All on loopback: the stand-in API server (tests/integration/standin_apiserver.py) serves Canaries to the
cache; manual-gate serves HTTPS on a free port.

 - reviews: CLIENTS threads, each on its own TLS keep-alive connection, cycling through a Deployment
   UPDATE that must be denied (its Canary's release is in flight), one that must be allowed (its Canary
   is Succeeded), a gated Canary CREATE on /mutate (allowed, patched) and a ConfigMap UPDATE (allowed).
   A keep-alive connection the server closed is reopened and the review sent again: a server may close
   idle or old connections at any time; only a failed review on a fresh connection is an error.
 - churn: the stand-in adds, modifies and deletes Canaries (not those the reviews depend on), sends
   bookmarks, cuts the watch stream and answers a watch with 410 Gone (HTTP status or ERROR event).
 - attacks: connections sending their headers a byte a second, bodies larger than the 6 MiB limit (by
   Content-Length, and sent in full), and bytes that are no TLS. Whatever the server does with them (an
   answer, a closed connection, a timeout) is fine; that the reviews still go through is what counts.

Samples /proc/PID/status (VmRSS) and /proc/PID/fd every SAMPLE seconds. Verdict, after a warm-up (the
first tenth of the run, at least 5 s): the samples are cut in thirds; RSS is flat when the last third's
maximum is within max(10 %, 4 MiB) of the first third's, the fd count when within +10."""
import argparse
import http.client
import json
import os
import random
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

import harness  # noqa: E402
from standin_apiserver import StandinAPIServer  # noqa: E402

NS = "soak"
IN_FLIGHT = 20      # Canaries soak/live-N, Progressing: their Deployments' template changes are denied
SETTLED = 20        # Canaries soak/done-N, Succeeded: allowed
CHURN = 30          # Canaries soak/churn-N, added, modified and deleted all along
CLIENTS = 3
SLOW_CONNS = 5
RSS_TOLERANCE = 0.10
RSS_SLACK_KIB = 4 * 1024
FD_SLACK = 10


def canary(name, target, phase, weight):
    return {"apiVersion": "flagger.app/v1beta1", "kind": "Canary", "metadata": {"name": name, "namespace": NS},
            "spec": {"targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": target},
                     "service": {"port": 80},
                     "analysis": {"interval": "1m", "threshold": 5, "webhooks": [
                         {"name": "gate-check", "type": "confirm-traffic-increase",
                          "url": "http://flagger-loadtester.test/gate/check"}]}},
            "status": {"phase": phase, "canaryWeight": weight}}


def deployment(name, image):
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": NS},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": name, "image": image}]}}}}


def configmap(value):
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings", "namespace": "elsewhere"},
            "data": {"level": value}}


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.counts = {}
        self.failures = []

    def add(self, key, n=1):
        with self.lock:
            self.counts[key] = self.counts.get(key, 0) + n

    def fail(self, what):
        with self.lock:
            self.counts["review failures"] = self.counts.get("review failures", 0) + 1
            if len(self.failures) < 20:
                self.failures.append(what)


class Soak:
    def __init__(self, seconds, sample):
        self.seconds = seconds
        self.sample_every = sample
        self.stop = threading.Event()
        self.stats = Stats()
        self.samples = []  # (t, rss KiB, fds)
        self.certs = harness.certs()
        self.ctx = ssl.create_default_context(cafile=os.path.join(self.certs, "ca.crt"))

    # ---- setting up ----

    def start(self):
        self.api = StandinAPIServer()
        for i in range(IN_FLIGHT):
            self.api.put(canary("live-%d" % i, "live-%d" % i, "Progressing", 20))
        for i in range(SETTLED):
            self.api.put(canary("done-%d" % i, "done-%d" % i, "Succeeded", 0))
        self.port = harness.free_port()
        self.log = tempfile.NamedTemporaryFile(prefix="mg-soak-", suffix=".jsonl", delete=False)
        # warn: denials are warn lines, one per review; the file is a few hundred MB for a long run, so
        # only errors are kept.
        self.proc = subprocess.Popen(
            [harness.BIN, "serve", "--listen", "127.0.0.1:%d" % self.port,
             "--tls-cert", os.path.join(self.certs, "tls.crt"), "--tls-key", os.path.join(self.certs, "tls.key"),
             "--kube-api", self.api.url, "--loadtester-url", "http://flagger-loadtester.test",
             "--log-level", "error", "--shutdown-timeout", "5"],
            stdout=subprocess.DEVNULL, stderr=self.log)
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                c = self.conn(2)
                c.request("GET", "/readyz")
                if c.getresponse().status == 200:
                    c.close()
                    return
                c.close()
            except (OSError, http.client.HTTPException):
                pass
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        raise SystemExit("soak: manual-gate not ready:\n" + self.logs()[-3000:])

    def conn(self, timeout=10):
        return http.client.HTTPSConnection("localhost", self.port, context=self.ctx, timeout=timeout)

    def logs(self):
        with open(self.log.name, errors="replace") as f:
            return f.read()

    # ---- reviews ----

    def review_cases(self, k):
        """(endpoint, request, check(response) -> error text or None), cycling."""
        i = 0
        while True:
            n = (i // 4) % IN_FLIGHT
            kind = i % 4
            i += 1
            if kind == 0:
                name = "live-%d" % n
                req = harness.admission_request("Deployment", obj=deployment(name, "podinfo:2.%d" % i),
                                                old=deployment(name, "podinfo:1"), namespace=NS)
                yield "/validate", req, lambda r: None if r["allowed"] is False and \
                    "template" in r.get("status", {}).get("message", "") else "in-flight change not denied"
            elif kind == 1:
                name = "done-%d" % (n % SETTLED)
                req = harness.admission_request("Deployment", obj=deployment(name, "podinfo:2.%d" % i),
                                                old=deployment(name, "podinfo:1"), namespace=NS)
                yield "/validate", req, lambda r: None if r["allowed"] is True else "settled change denied"
            elif kind == 2:
                c = canary("new-%d-%d" % (k, i), "new-%d-%d" % (k, i), "", 0)
                del c["status"]
                req = harness.admission_request("Canary", obj=c, operation="CREATE", namespace=NS)
                yield "/mutate", req, lambda r: None if r["allowed"] is True and r.get("patch") else \
                    "gated Canary CREATE not patched"
            else:
                req = harness.admission_request("ConfigMap", obj=configmap("debug-%d" % i), old=configmap("info"),
                                                namespace="elsewhere")
                yield "/validate", req, lambda r: None if r["allowed"] is True else "ConfigMap change denied"

    def send(self, conn, path, body):
        conn.request("POST", path + "?timeout=10s", body=body, headers={"Content-Type": "application/json"})
        r = conn.getresponse()
        return r.status, r.read()

    def client(self, k):
        conn = self.conn()
        for path, req, check in self.review_cases(k):
            if self.stop.is_set():
                break
            body = json.dumps({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                               "request": req}).encode()
            try:
                status, data = self.send(conn, path, body)
            except (OSError, http.client.HTTPException):
                # The server closed the kept-alive connection: a fresh one, once.
                conn.close()
                conn = self.conn()
                self.stats.add("reconnects")
                try:
                    status, data = self.send(conn, path, body)
                except (OSError, http.client.HTTPException) as e:
                    self.stats.fail("%s on a fresh connection: %r" % (path, e))
                    conn.close()
                    conn = self.conn()
                    continue
            err = None
            if status != 200:
                err = "HTTP %d: %r" % (status, data[:200])
            else:
                try:
                    resp = json.loads(data)["response"]
                    err = "uid not echoed" if resp.get("uid") != req["uid"] else check(resp)
                except (ValueError, KeyError, TypeError) as e:
                    err = "undecodable response %r" % e
            if err:
                self.stats.fail("%s %s: %s" % (path, req["kind"]["kind"], err))
            self.stats.add("reviews")
        conn.close()

    # ---- watch churn ----

    def churn(self):
        rnd = random.Random(1)
        tick = 0
        while not self.stop.wait(0.1):
            tick += 1
            n = rnd.randrange(CHURN)
            name = "churn-%d" % n
            if rnd.random() < 0.3:
                try:
                    self.api.delete(NS, name)
                    self.stats.add("churn: deleted")
                except KeyError:
                    pass
            else:
                self.api.put(canary(name, name, rnd.choice(["Progressing", "Succeeded", "Initialized"]),
                                    rnd.choice([0, 10, 20])))
                self.stats.add("churn: put")
            if tick % 20 == 0:
                self.api.bookmark()
            if tick % 70 == 0:
                self.api.drop_watches()
                self.stats.add("churn: watch cut")
            if tick % 150 == 0:
                self.api.gone_on_next_watch(rnd.choice(["http", "event"]))
                self.api.drop_watches()
                self.stats.add("churn: 410 Gone")

    # ---- attacks ----

    def tls_socket(self, timeout=5):
        raw = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
        return self.ctx.wrap_socket(raw, server_hostname="localhost")

    def slow_headers(self, k):
        """One connection at a time that sends its request line and headers a byte a second, for up to 20 s,
        then starts again; the server closing it is fine."""
        head = b"POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nX-Slow: " + \
            b"a" * 200
        while not self.stop.is_set():
            try:
                s = self.tls_socket()
            except (OSError, ssl.SSLError):
                self.stop.wait(1)
                continue
            self.stats.add("attack: slow-header connections")
            started = time.time()
            try:
                for b in head:
                    if self.stop.wait(1) or time.time() - started > 20:
                        break
                    s.sendall(bytes([b]))
            except (OSError, ssl.SSLError):
                self.stats.add("attack: slow-header connections closed by the server")
            finally:
                s.close()

    def oversized(self):
        big = b"[" + b"0," * (7 << 19) + b"0]"  # 7 MiB
        n = 0
        while not self.stop.wait(1):
            n += 1
            try:
                s = self.tls_socket(timeout=30)
                if n % 5 == 0:
                    # sent in full, without a Content-Length: read and dropped, then 413
                    s.sendall(b"POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                              b"Transfer-Encoding: chunked\r\n\r\n")
                    for i in range(0, len(big), 1 << 20):
                        part = big[i:i + (1 << 20)]
                        s.sendall(b"%x\r\n%s\r\n" % (len(part), part))
                    s.sendall(b"0\r\n\r\n")
                else:
                    s.sendall(b"POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                              b"Content-Length: %d\r\n\r\n" % len(big))
                status = s.recv(64).split(b" ")[1:2]
                self.stats.add("attack: oversized bodies answered %s" % (status[0].decode() if status else "-"))
                s.close()
            except (OSError, ssl.SSLError, IndexError):
                self.stats.add("attack: oversized bodies cut off")

    def garbage_tls(self):
        rnd = random.Random(2)
        while not self.stop.wait(0.3):
            try:
                s = socket.create_connection(("127.0.0.1", self.port), timeout=5)
                s.sendall(bytes(rnd.randrange(256) for _ in range(1024)))
                try:
                    s.recv(1024)
                except OSError:
                    pass
                s.close()
                self.stats.add("attack: garbage TLS")
            except OSError:
                self.stats.add("attack: garbage TLS refused")

    # ---- sampling ----

    def sample(self, t0):
        pid = self.proc.pid
        try:
            with open("/proc/%d/status" % pid) as f:
                rss = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
            fds = len(os.listdir("/proc/%d/fd" % pid))
        except (OSError, StopIteration):
            return None
        s = (time.time() - t0, rss, fds)
        self.samples.append(s)
        return s

    # ---- the run ----

    def run(self):
        self.start()
        threads = [threading.Thread(target=self.client, args=(k,)) for k in range(CLIENTS)]
        threads += [threading.Thread(target=self.churn)]
        threads += [threading.Thread(target=self.slow_headers, args=(k,)) for k in range(SLOW_CONNS)]
        threads += [threading.Thread(target=self.oversized), threading.Thread(target=self.garbage_tls)]
        t0 = time.time()
        for t in threads:
            t.daemon = True
            t.start()
        print("%8s %10s %6s %10s %9s" % ("seconds", "RSS MiB", "fds", "reviews", "failures"))
        while time.time() - t0 < self.seconds and self.proc.poll() is None:
            time.sleep(min(self.sample_every, max(0.05, self.seconds - (time.time() - t0))))
            s = self.sample(t0)
            if s:
                reviews = self.stats.counts.get("reviews", 0)
                print("%8.0f %10.1f %6d %10d %9d" % (s[0], s[1] / 1024, s[2], reviews,
                                                        self.stats.counts.get("review failures", 0)), flush=True)
        self.stop.set()
        for t in threads:
            t.join(40)
        return self.verdict(time.time() - t0)

    def server_counts(self):
        """The server's own counters: reviews answered (by outcome), requests rejected, cache size."""
        out = {}
        try:
            c = self.conn()
            c.request("GET", "/metrics")
            text = c.getresponse().read().decode()
            c.close()
        except (OSError, http.client.HTTPException):
            return out
        for line in text.splitlines():
            for name in ("manual_gate_admission_reviews_total", "manual_gate_http_rejected_total",
                         "manual_gate_cache_canaries", "manual_gate_events_total"):
                if line.startswith(name):
                    key, _, value = line.rpartition(" ")
                    out[key] = float(value)
        return out

    def verdict(self, elapsed):
        alive = self.proc.poll() is None
        problems = []
        for key, value in sorted(self.server_counts().items()):
            if value:
                print("  server: %-70s %d" % (key, value))
        if not alive:
            problems.append("manual-gate exited %s during the run" % self.proc.returncode)
        warm = max(5.0, self.seconds / 10)
        steady = [s for s in self.samples if s[0] >= warm]
        if len(steady) < 3:
            problems.append("too few samples after the %.0f s warm-up to judge (run longer)" % warm)
        else:
            third = len(steady) // 3
            first, last = steady[:third], steady[-third:]
            rss_first, rss_last = max(s[1] for s in first), max(s[1] for s in last)
            fd_first, fd_last = max(s[2] for s in first), max(s[2] for s in last)
            allowed = max(rss_first * RSS_TOLERANCE, RSS_SLACK_KIB)
            print("RSS max: first third %.1f MiB, last third %.1f MiB (allowed growth %.1f MiB)" %
                  (rss_first / 1024, rss_last / 1024, allowed / 1024))
            print("fds max: first third %d, last third %d (allowed growth %d)" % (fd_first, fd_last, FD_SLACK))
            if rss_last - rss_first > allowed:
                problems.append("RSS grew %.1f MiB" % ((rss_last - rss_first) / 1024))
            if fd_last - fd_first > FD_SLACK:
                problems.append("open fds grew by %d" % (fd_last - fd_first))
        counts = dict(self.stats.counts)
        reviews = counts.get("reviews", 0)
        print("reviews served: %d in %.0f s (%.0f/s)" % (reviews, elapsed, reviews / elapsed if elapsed else 0))
        for key in sorted(counts):
            print("  %-55s %d" % (key, counts[key]))
        if counts.get("review failures"):
            problems.append("%d reviews failed" % counts["review failures"])
            for f in self.stats.failures:
                print("  failure: %s" % f)
        if reviews == 0:
            problems.append("no review was served")
        rc = self.shutdown()
        if alive and rc != 0:
            problems.append("manual-gate exited %s after SIGTERM" % rc)
        errors = [line for line in self.logs().splitlines() if '"level":"error"' in line]
        os.unlink(self.log.name)
        print("error lines in the log: %d" % len(errors))
        for line in errors[:5]:
            print("  " + line[:300])
        print("verdict: %s" % ("FLAT, no failed review" if not problems else "FAIL: " + "; ".join(problems)))
        return 1 if problems else 0

    def shutdown(self):
        rc = self.proc.returncode
        if rc is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                rc = self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                rc = self.proc.wait()
        self.api.stop()
        return rc


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seconds", type=float, default=60)
    p.add_argument("--sample", type=float, default=0, help="seconds between samples (default: seconds/30, 1..10)")
    a = p.parse_args()
    sample = a.sample or min(10.0, max(1.0, a.seconds / 30))
    return Soak(a.seconds, sample).run()


if __name__ == "__main__":
    sys.exit(main())
