"""The Canary cache end to end: the real binary lists and watches a stand-in API server (plain HTTP, or TLS
with a CA file and a bearer token), or reads --canaries files; the tests watch /readyz, /metrics and the
decisions of /validate follow what the stand-in serves."""
import copy
import json
import os
import shutil
import tempfile
import time
import unittest

import harness
from standin_apiserver import StandinAPIServer

PODINFO = os.path.join(harness.FIXTURES, "canaries", "podinfo.json")
CLUSTER = os.path.join(harness.FIXTURES, "canaries", "cluster.yaml")


def podinfo(phase="Progressing", weight=10, **meta):
    with open(PODINFO) as f:
        c = json.load(f)
    c["status"]["phase"] = phase
    c["status"]["canaryWeight"] = weight
    c["metadata"].update(meta)
    return c


def canary(ns, name, target=None, kind="Deployment", phase="Succeeded", gated=True, weight=None):
    """A Canary; a Progressing one has taken a step (10%) unless weight says otherwise."""
    if weight is None:
        weight = 10 if phase == "Progressing" else 0
    c = {"apiVersion": "flagger.app/v1beta1", "kind": "Canary", "metadata": {"name": name, "namespace": ns},
         "spec": {"targetRef": {"apiVersion": "apps/v1", "kind": kind, "name": target or name},
                  "service": {"port": 80}, "analysis": {"interval": "1m", "webhooks": []}},
         "status": {"phase": phase, "canaryWeight": weight}}
    if gated:
        c["spec"]["analysis"]["webhooks"].append({"name": "gate-check", "type": "confirm-traffic-increase",
                                                  "url": "http://flagger-loadtester.test/gate/check"})
    return c


def deployment(name, image, ns="test"):
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": ns},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": name, "image": image}]}}}}


def wait_for(fn, timeout=10.0, interval=0.03):
    """Poll fn until it returns something truthy; returns that, or the last falsy value at the deadline."""
    deadline = time.time() + timeout
    while True:
        v = fn()
        if v or time.time() >= deadline:
            return v
        time.sleep(interval)


class CacheTest(unittest.TestCase):
    """Each test gets its own stand-in API server and its own manual-gate."""

    def setUp(self):
        self.api = None
        self.server = None
        self.tmp = tempfile.mkdtemp(prefix="mg-cache-")

    def tearDown(self):
        rc = None
        logs = ""
        if self.server:
            rc = self.server.stop()
            logs = self.server.logs()
            os.unlink(self.server.log.name)
        if self.api:
            self.api.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)
        if self.server and rc != 0:
            raise AssertionError("manual-gate exited %s:\n%s" % (rc, logs[-4000:]))

    def start(self, *args, api=None, canaries=(), **api_kwargs):
        if api is None:
            self.api = StandinAPIServer(**api_kwargs)
            for c in canaries:
                self.api.put(c)
            args = ("--kube-api", self.api.url) + args
        self.server = harness.Server(*args)
        return self.server

    # ---- reading the server ----

    def readyz(self):
        return self.server.request("GET", "/readyz")[0]

    def metrics(self):
        status, body, _ = self.server.request("GET", "/metrics")
        self.assertEqual(status, 200)
        out = {}
        for line in body.decode().splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                out[name] = float(value)
        return out

    def metric(self, name):
        return self.metrics()["manual_gate_cache_" + name]

    def wait_metric(self, name, want, timeout=10.0):
        got = wait_for(lambda: self.metric(name) == want, timeout)
        self.assertTrue(got, "manual_gate_cache_%s is %s, want %s\n%s" %
                        (name, self.metric(name), want, self.server.logs()[-3000:]))

    def template_change(self, name="podinfo", ns="test"):
        """Validate an UPDATE of Deployment ns/name that changes its pod template; the response."""
        req = harness.admission_request("Deployment", obj=deployment(name, "ghcr.io/stefanprodan/podinfo:6.1.0", ns),
                                        old=deployment(name, "ghcr.io/stefanprodan/podinfo:6.0.0", ns), namespace=ns)
        return self.server.review("/validate", req)

    def wait_allowed(self, want, timeout, name="podinfo"):
        start = time.time()
        got = wait_for(lambda: self.template_change(name)["allowed"] == want, timeout, 0.02)
        self.assertTrue(got, "Deployment %s: allowed is not %s after %.1fs\n%s" %
                        (name, want, time.time() - start, self.server.logs()[-3000:]))
        return time.time() - start


class APICacheTest(CacheTest):

    def test_readyz_is_503_until_the_first_list_then_200(self):
        self.api = StandinAPIServer()
        self.api.put(podinfo())
        self.api.fail_lists(500)
        self.start("--kube-api", self.api.url, api=self.api)
        self.assertTrue(self.api.wait_requests(lambda r: not r["watch"] and r["status"] == 500))
        time.sleep(0.3)
        self.assertEqual(self.readyz(), 503)
        m = self.metrics()
        self.assertEqual(m["manual_gate_cache_synced"], 0)
        self.assertEqual(m["manual_gate_cache_last_sync_age_seconds"], -1)
        # Never synced: the gating state is unknown, so a template change is denied.
        resp = self.template_change()
        self.assertFalse(resp["allowed"])
        self.assertIn("unknown", resp["status"]["message"])
        self.api.fail_lists(None)
        self.assertTrue(wait_for(lambda: self.readyz() == 200, 10), self.server.logs())
        m = self.metrics()
        self.assertEqual(m["manual_gate_cache_synced"], 1)
        self.assertEqual(m["manual_gate_cache_canaries"], 1)
        self.assertEqual(m["manual_gate_cache_relists_total"], 0)

    def test_list_follows_continue_tokens_across_pages(self):
        cs = [canary("team-%d" % (i % 3), "app-%d" % i) for i in range(7)]
        self.start(canaries=cs, page_size=3)
        self.wait_metric("canaries", 7)
        lists = self.api.requests(watch=False)
        self.assertEqual(len(lists), 3, lists)
        self.assertNotIn("continue", lists[0]["query"])
        self.assertTrue(all(r["query"].get("continue") for r in lists[1:]), lists)
        self.assertTrue(all(r["query"].get("limit") for r in lists), lists)
        watch = self.api.wait_requests(lambda r: r["watch"])
        self.assertEqual(watch["query"]["resourceVersion"], self.api.resource_version)
        self.assertEqual(watch["query"]["allowWatchBookmarks"], "true")

    def test_ten_thousand_canaries_are_listed_and_looked_up(self):
        cs = [canary("team-%d" % (i % 50), "app-%d" % i, phase="Succeeded") for i in range(10000)]
        cs.append(podinfo())
        self.start(canaries=cs)
        self.wait_metric("canaries", 10001, timeout=30)
        self.assertFalse(self.template_change()["allowed"])
        self.assertTrue(self.template_change("app-9999")["allowed"])

    def test_watch_events_reach_the_index_within_a_second(self):
        self.start(canaries=[podinfo()])
        self.wait_metric("canaries", 1)
        self.assertTrue(self.api.wait_watches(1))
        events = self.metric("events_total")
        t = time.time()
        self.api.put(canary("test", "frontend"))
        self.wait_metric("canaries", 2, timeout=1.0)
        self.api.delete("test", "frontend")
        self.wait_metric("canaries", 1, timeout=1.0)
        self.assertLess(time.time() - t, 2.0)
        self.assertEqual(self.metric("events_total"), events + 2)

    def test_phase_changes_over_the_watch_change_the_decision_within_a_second(self):
        self.start(canaries=[podinfo(phase="Succeeded", weight=0)])
        self.assertTrue(wait_for(lambda: self.readyz() == 200))
        self.assertTrue(self.api.wait_watches(1))
        self.assertTrue(self.template_change()["allowed"])

        self.api.put(podinfo(phase="Progressing", weight=10))
        self.assertLess(self.wait_allowed(False, 1.0), 1.0)
        msg = self.template_change()["status"]["message"]
        self.assertIn("test/podinfo", msg)
        self.assertIn("Progressing", msg)
        self.assertIn("10%", msg)

        self.api.put(podinfo(phase="WaitingPromotion", weight=50))
        self.assertTrue(wait_for(lambda: "WaitingPromotion" in self.template_change().get("status", {})
                                 .get("message", ""), 1.0))

        self.api.put(podinfo(phase="Succeeded", weight=0))
        self.assertLess(self.wait_allowed(True, 1.0), 1.0)

        # Gating removed (no /gate/check hook, no label) while progressing: nothing to protect.
        plain = podinfo()
        plain["spec"]["analysis"]["webhooks"] = []
        self.api.put(plain)
        self.assertLess(self.wait_allowed(True, 1.0), 1.0)

    def test_daemonset_target_and_other_namespace(self):
        self.start(canaries=[canary("test", "node-agent", kind="DaemonSet", phase="Progressing"),
                             canary("prod", "podinfo", phase="Progressing")])
        self.wait_metric("canaries", 2)
        ds = deployment("node-agent", "agent:2")
        ds["kind"] = "DaemonSet"
        old = copy.deepcopy(ds)
        old["spec"]["template"]["spec"]["containers"][0]["image"] = "agent:1"
        resp = self.server.review("/validate", harness.admission_request("DaemonSet", obj=ds, old=old,
                                                                         namespace="test"))
        self.assertFalse(resp["allowed"])
        self.assertIn("test/node-agent", resp["status"]["message"])
        # A Deployment of the same name is not the DaemonSet's target.
        self.assertTrue(self.template_change("node-agent")["allowed"])
        # prod/podinfo is gated and progressing; test/podinfo has no Canary.
        self.assertTrue(self.template_change("podinfo", ns="test")["allowed"])
        self.assertFalse(self.template_change("podinfo", ns="prod")["allowed"])

    def test_tracked_config_follows_the_watch(self):
        self.start(canaries=[podinfo(phase="Succeeded", weight=0)])
        self.assertTrue(self.api.wait_watches(1))

        def configmap_change():
            new = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "podinfo-config", "namespace": "test"},
                   "data": {"level": "debug"}}
            old = copy.deepcopy(new)
            old["data"]["level"] = "info"
            return self.server.review("/validate", harness.admission_request("ConfigMap", obj=new, old=old,
                                                                             namespace="test"))

        self.assertTrue(configmap_change()["allowed"])
        self.api.put(podinfo(phase="Progressing", weight=10))
        self.assertTrue(wait_for(lambda: not configmap_change()["allowed"], 1.0), self.server.logs()[-2000:])
        self.assertIn("test/podinfo", configmap_change()["status"]["message"])

    def test_dropped_stream_resumes_from_the_last_resource_version(self):
        self.start(canaries=[podinfo()])
        self.assertTrue(self.api.wait_watches(1))
        rv = self.api.put(podinfo(phase="Waiting"))
        self.wait_metric("events_total", 1)
        self.api.drop_watches()
        resumed = self.api.wait_requests(lambda r: r["watch"] and r["query"]["resourceVersion"] == rv)
        self.assertIsNotNone(resumed, self.api.requests())
        self.assertTrue(self.api.wait_watches(1))
        # Resumed, not relisted; and the new stream delivers.
        self.assertEqual(len(self.api.requests(watch=False)), 1)
        self.assertEqual(self.metric("relists_total"), 0)
        self.api.put(canary("test", "frontend"))
        self.wait_metric("canaries", 2, timeout=1.0)

    def test_changes_made_while_the_stream_was_down_arrive_on_resume(self):
        self.start(canaries=[podinfo(phase="Succeeded", weight=0)])
        self.assertTrue(self.api.wait_watches(1))
        self.api.go_down()
        self.api.put(podinfo(phase="Progressing"))
        self.api.come_back()
        self.wait_allowed(False, 10)
        self.assertEqual(len(self.api.requests(watch=False)), 1)

    def test_bookmarks_advance_the_resume_point(self):
        self.start(canaries=[podinfo()])
        self.assertTrue(self.api.wait_watches(1))
        first = self.api.requests(watch=True)[0]["query"]["resourceVersion"]
        bm = self.api.bookmark()
        self.assertNotEqual(bm, first)
        time.sleep(0.3)
        self.api.drop_watches()
        resumed = self.api.wait_requests(lambda r: r["watch"] and r["query"]["resourceVersion"] == bm)
        self.assertIsNotNone(resumed, self.api.requests(watch=True))
        self.assertEqual(self.metric("relists_total"), 0)
        self.assertEqual(self.metric("events_total"), 0)

    def test_http_410_on_watch_relists(self):
        self.start(canaries=[podinfo()])
        self.assertTrue(self.api.wait_watches(1))
        self.api.gone_on_next_watch("http")
        self.api.drop_watches()
        self.wait_metric("relists_total", 1)
        self.assertEqual(len(self.api.requests(watch=False)), 2)
        self.assertTrue(any(r["status"] == 410 for r in self.api.requests(watch=True)))
        # Watching again from the new list's resourceVersion.
        rv = self.api.resource_version
        self.assertIsNotNone(self.api.wait_requests(lambda r: r["watch"] and r["status"] == 200 and
                                                    r["query"]["resourceVersion"] == rv))
        self.assertEqual(self.readyz(), 200)

    def test_error_event_410_relists_and_catches_up(self):
        self.start(canaries=[podinfo(phase="Succeeded", weight=0)])
        self.assertTrue(self.api.wait_watches(1))
        self.api.go_down()
        # While it is down, history is compacted: resuming from the old resourceVersion is impossible.
        self.api.put(podinfo(phase="Progressing"))
        self.api.put(canary("test", "frontend"))
        self.api.compact()
        self.api.come_back()
        self.wait_metric("relists_total", 1)
        self.wait_metric("canaries", 2)
        self.wait_allowed(False, 2)

    def test_outage_keeps_the_last_known_state(self):
        # Bookmarks as the API server sends them (every minute there): after the outage, the first one on
        # the resumed watch proves the cache current again; an open watch alone does not.
        self.start(canaries=[podinfo()], bookmark_interval=0.5)
        self.assertTrue(self.api.wait_watches(1))
        self.wait_allowed(False, 2)
        self.api.go_down()
        time.sleep(1.5)
        self.assertEqual(self.readyz(), 200)
        self.assertFalse(self.template_change()["allowed"])
        m = self.metrics()
        self.assertEqual(m["manual_gate_cache_canaries"], 1)
        self.assertGreater(m["manual_gate_cache_last_sync_age_seconds"], 0.5)
        self.api.come_back()
        self.assertTrue(wait_for(lambda: self.metric("last_sync_age_seconds") == 0, 15), self.server.logs())
        self.api.put(podinfo(phase="Succeeded", weight=0))
        self.wait_allowed(True, 1.0)

    def test_readyz_fails_when_out_of_sync_longer_than_the_bound(self):
        self.api = StandinAPIServer(bookmark_interval=0.5)
        self.api.put(podinfo())
        self.start("--kube-api", self.api.url, "--max-unsynced", "1", api=self.api)
        self.assertTrue(wait_for(lambda: self.readyz() == 200))
        self.api.go_down()
        self.assertTrue(wait_for(lambda: self.readyz() == 503, 5))
        # Still the last known state for decisions.
        self.assertFalse(self.template_change()["allowed"])
        self.api.come_back()
        self.assertTrue(wait_for(lambda: self.readyz() == 200, 15), self.server.logs())


class TLSTokenTest(CacheTest):

    def write_token(self, path, token):
        # As the kubelet rotates projected tokens: write aside, then rename over.
        tmp = path + ".new"
        with open(tmp, "w") as f:
            f.write(token + "\n")
        os.replace(tmp, path)

    def test_401_until_the_token_file_changes(self):
        certs = harness.certs()
        token_file = os.path.join(self.tmp, "token")
        self.write_token(token_file, "stale-token-aaaa")
        self.api = StandinAPIServer(cert_dir=certs, token="fresh-token-bbbb")
        self.api.put(podinfo())
        self.start("--kube-api", self.api.url, "--kube-ca-file", os.path.join(certs, "ca.crt"),
                   "--kube-token-file", token_file, api=self.api)
        self.assertIsNotNone(self.api.wait_requests(lambda r: r["status"] == 401))
        time.sleep(0.5)
        self.assertEqual(self.readyz(), 503)
        self.assertTrue(all(r["authorization"] == "Bearer stale-token-aaaa" for r in self.api.requests()))

        self.write_token(token_file, "fresh-token-bbbb")
        self.assertTrue(wait_for(lambda: self.readyz() == 200, 15), self.server.logs())
        self.assertEqual(self.api.requests()[-1]["authorization"], "Bearer fresh-token-bbbb")

        # A rotation while running: the API server turns to the new token, the file follows, the
        # dropped stream resumes with it.
        self.assertTrue(self.api.wait_watches(1))
        self.api.require_token("rotated-token-cccc")
        self.write_token(token_file, "rotated-token-cccc")
        self.api.drop_watches()
        self.assertIsNotNone(self.api.wait_requests(
            lambda r: r["watch"] and r["status"] == 200 and r["authorization"] == "Bearer rotated-token-cccc"))
        self.assertEqual(self.metric("relists_total"), 0)
        for secret in ("stale-token-aaaa", "fresh-token-bbbb", "rotated-token-cccc"):
            self.assertNotIn(secret, self.server.logs())

    def test_a_changed_token_file_is_used_before_any_401(self):
        certs = harness.certs()
        token_file = os.path.join(self.tmp, "token")
        self.write_token(token_file, "old-token")
        self.api = StandinAPIServer(cert_dir=certs, token="old-token")
        self.api.put(podinfo())
        self.start("--kube-api", self.api.url, "--kube-ca-file", os.path.join(certs, "ca.crt"),
                   "--kube-token-file", token_file, api=self.api)
        self.assertTrue(self.api.wait_watches(1))
        # Both tokens are valid during a rotation: the new one is used because the file changed.
        self.api.require_token("old-token", "new-token")
        self.write_token(token_file, "new-token")
        self.api.drop_watches()
        ok = self.api.wait_requests(lambda r: r["watch"] and r["authorization"] == "Bearer new-token", timeout=5)
        self.assertIsNotNone(ok, self.api.requests())
        self.assertFalse(any(r["status"] == 401 for r in self.api.requests()))

    def test_a_401_re_reads_the_token_file_at_once(self):
        certs = harness.certs()
        token_file = os.path.join(self.tmp, "token")
        self.write_token(token_file, "first-token")
        self.api = StandinAPIServer(cert_dir=certs, token="first-token")
        self.api.put(podinfo())
        self.start("--kube-api", self.api.url, "--kube-ca-file", os.path.join(certs, "ca.crt"),
                   "--kube-token-file", token_file, api=self.api)
        self.assertTrue(self.api.wait_watches(1))
        # Rewritten in place with the same size, inode and mtime: only the 401 says the token is stale.
        before = os.stat(token_file)
        with open(token_file, "r+") as f:
            f.write("secnd-token")
        os.utime(token_file, ns=(before.st_atime_ns, before.st_mtime_ns))
        st = os.stat(token_file)
        self.assertEqual((st.st_ino, st.st_size, st.st_mtime_ns), (before.st_ino, before.st_size, before.st_mtime_ns))
        self.api.require_token("secnd-token")
        self.api.drop_watches()
        ok = self.api.wait_requests(lambda r: r["watch"] and r["status"] == 200 and
                                    r["authorization"] == "Bearer secnd-token", timeout=5)
        self.assertIsNotNone(ok, self.api.requests())

    def test_an_unknown_ca_never_syncs(self):
        self.api = StandinAPIServer(cert_dir=harness.certs())
        self.api.put(podinfo())
        self.start("--kube-api", self.api.url, api=self.api)
        time.sleep(1.0)
        self.assertEqual(self.readyz(), 503)
        self.assertEqual(self.api.requests(), [])
        self.assertIn("certificate", self.server.logs())


class FileSourceTest(CacheTest):

    def test_cluster_example_is_served(self):
        self.start("--canaries", CLUSTER, api=False)
        self.assertEqual(self.readyz(), 200)
        self.assertEqual(self.metric("canaries"), 3)
        resp = self.template_change("podinfo")
        self.assertFalse(resp["allowed"])
        self.assertIn("test/podinfo", resp["status"]["message"])
        self.assertTrue(self.template_change("frontend")["allowed"])   # not gated
        self.assertTrue(self.template_change("backend")["allowed"])    # gated, Succeeded

    def test_a_changed_file_is_read_again(self):
        path = os.path.join(self.tmp, "canaries.json")
        with open(path, "w") as f:
            json.dump({"apiVersion": "v1", "kind": "List", "items": [podinfo()]}, f)
        with open(os.path.join(self.tmp, "README.txt"), "w") as f:
            f.write("not read {{{")
        self.start("--canaries", self.tmp, api=False)
        self.assertFalse(self.template_change()["allowed"])
        with open(path, "w") as f:
            json.dump(podinfo(phase="Succeeded", weight=0), f)
        self.wait_allowed(True, 3)
        self.assertGreaterEqual(self.metric("events_total"), 1)
        # A broken file keeps the last good state.
        with open(path, "w") as f:
            f.write("{\"kind\": \"Canary\", ")
        time.sleep(1.5)
        self.assertTrue(self.template_change()["allowed"])
        self.assertEqual(self.metric("canaries"), 1)
        self.assertEqual(self.readyz(), 200)

    def test_no_source_says_so_and_stays_unready(self):
        if os.environ.get("KUBERNETES_SERVICE_HOST"):
            self.skipTest("running inside a cluster")
        self.start(api=False)
        self.assertEqual(self.readyz(), 503)
        self.assertIn("no Canary source", self.server.logs())
        resp = self.template_change()
        self.assertFalse(resp["allowed"])
        self.assertIn("unknown", resp["status"]["message"])


if __name__ == "__main__":
    unittest.main()
