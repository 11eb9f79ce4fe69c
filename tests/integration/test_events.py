"""Kubernetes Events about denials and overrides, posted to the stand-in API server by the real binary:
on the Canary and on the denied object, naming who, what, the rule, the phase and weight, and the override's
reason; none for a dry run or a plain allow; from a bounded queue, so that a review never waits for the API
server (held POSTs, a full queue: reviews still answered at once, the surplus dropped and counted)."""
import copy
import json
import os
import re
import shutil
import tempfile
import time
import unittest

import harness
from standin_apiserver import StandinAPIServer
from test_cache import canary, deployment, wait_for

QUEUE_MAX = 256  # EVENTS_QUEUE_MAX in webhook/events.h


def gated_in_flight(uid="c0ffee00-0000-4000-8000-000000000001"):
    c = canary("test", "podinfo", phase="Progressing", weight=30)
    c["metadata"]["uid"] = uid
    return c


def template_change(ns="test", name="podinfo", dry_run=False, override=None, user="alice"):
    old = deployment(name, "ghcr.io/stefanprodan/podinfo:6.0.0", ns)
    new = deployment(name, "ghcr.io/stefanprodan/podinfo:6.1.0", ns)
    for o in (old, new):
        o["metadata"]["uid"] = "d3d3d3d3-0000-4000-8000-000000000002"
    if override:
        new["metadata"]["annotations"] = {"manual-gate.io/override": override}
    return harness.admission_request("Deployment", obj=new, old=old, namespace=ns, dry_run=dry_run, username=user)


class EventsTest(unittest.TestCase):
    def setUp(self):
        self.api = StandinAPIServer()
        self.api.put(gated_in_flight())
        self.server = harness.Server("--kube-api", self.api.url)
        harness.wait_ready(self.server)

    def tearDown(self):
        self.api.release_events()
        try:
            harness.stop_checked(self.server)
        finally:
            self.api.stop()

    def metrics(self):
        status, body, _ = self.server.request("GET", "/metrics")
        self.assertEqual(status, 200)
        return body.decode()

    def events_metric(self, result):
        m = re.search(r'^manual_gate_events_total\{result="%s"\} (\d+)$' % result, self.metrics(), re.M)
        return int(m.group(1))

    def test_a_denial_is_told_on_the_canary_and_on_the_denied_object(self):
        resp = self.server.review("/validate", template_change())
        self.assertIs(resp["allowed"], False)
        events = self.api.wait_events(2)
        self.assertEqual(len(events), 2, events)
        on = {e["involvedObject"]["kind"]: e for e in events}
        self.assertEqual(on["Canary"]["involvedObject"], {"apiVersion": "flagger.app/v1beta1", "kind": "Canary",
                                                          "namespace": "test", "name": "podinfo",
                                                          "uid": "c0ffee00-0000-4000-8000-000000000001"})
        self.assertEqual(on["Deployment"]["involvedObject"], {"apiVersion": "apps/v1", "kind": "Deployment",
                                                              "namespace": "test", "name": "podinfo",
                                                              "uid": "d3d3d3d3-0000-4000-8000-000000000002"})
        for e in events:
            self.assertEqual(e["type"], "Warning")
            self.assertEqual(e["reason"], "ManualGateDenied")
            self.assertEqual(e["source"], {"component": "manual-gate"})
            self.assertEqual(e["reportingComponent"], "manual-gate")
            self.assertTrue(e["reportingInstance"])
            self.assertEqual(e["count"], 1)
            self.assertRegex(e["firstTimestamp"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
            self.assertTrue(e["metadata"]["name"].startswith("podinfo."))
            msg = e["message"]
            for text in ("denied UPDATE of Deployment test/podinfo", "by alice", "rule template-in-flight",
                         "phase Progressing", "canary weight 30%"):
                self.assertIn(text, msg)
            self.assertLessEqual(len(msg.encode()), 1024)
        self.assertNotEqual(events[0]["metadata"]["name"], events[1]["metadata"]["name"])
        posts = [r for r in self.api.requests() if r.get("method") == "POST"]
        self.assertEqual([r["path"] for r in posts], ["/api/v1/namespaces/test/events"] * 2)
        self.assertEqual(wait_for(lambda: self.events_metric("posted") == 2), True)

    def test_an_override_is_told_with_its_reason(self):
        resp = self.server.review("/validate", template_change(override="INC-4711: hotfix", user="bob"))
        self.assertIs(resp["allowed"], True)
        events = self.api.wait_events(2)
        self.assertEqual(len(events), 2)
        for e in events:
            self.assertEqual(e["reason"], "ManualGateOverridden")
            for text in ("let UPDATE of Deployment test/podinfo by bob through by override of rule template-in-flight",
                         'reason: "INC-4711: hotfix"', "phase Progressing", "canary weight 30%"):
                self.assertIn(text, e["message"])

    def test_a_canary_denial_is_one_event_on_the_canary(self):
        old = gated_in_flight()
        new = copy.deepcopy(old)
        new["spec"]["targetRef"]["name"] = "other"
        resp = self.server.review("/validate", harness.admission_request("Canary", obj=new, old=old, namespace="test"))
        self.assertIs(resp["allowed"], False)
        events = self.api.wait_events(1)
        time.sleep(0.3)
        events = self.api.events()
        self.assertEqual(len(events), 1, events)
        self.assertEqual(events[0]["involvedObject"]["kind"], "Canary")
        self.assertIn("rule target-ref-in-flight", events[0]["message"])

    def test_no_event_for_a_dry_run_or_a_plain_allow(self):
        resp = self.server.review("/validate", template_change(dry_run=True))
        self.assertIs(resp["allowed"], False)  # the same decision, without side effects
        allowed = template_change(ns="elsewhere")
        self.assertIs(self.server.review("/validate", allowed)["allowed"], True)
        # A real denial afterwards: its Events are the only ones, so nothing before it was queued.
        self.server.review("/validate", template_change())
        events = self.api.wait_events(2)
        time.sleep(0.3)
        self.assertEqual(len(self.api.events()), 2)
        self.assertTrue(all("UPDATE of Deployment test/podinfo" in e["message"] for e in events))

    def test_a_refused_event_is_counted_and_reviews_go_on(self):
        self.api.event_status(403)
        self.assertIs(self.server.review("/validate", template_change())["allowed"], False)
        self.assertTrue(wait_for(lambda: self.events_metric("failed") == 2))
        self.assertIn("the ClusterRole must allow create on events", self.server.logs())
        self.api.event_status(None)
        self.server.review("/validate", template_change())
        self.assertTrue(wait_for(lambda: self.events_metric("posted") == 2))

    def test_queue_is_bounded_and_reviews_never_wait_for_it(self):
        """The API server holds every Event POST: the one the thread is sending waits, the queue fills to
        its bound, the rest is dropped and counted, and every review is answered at once meanwhile."""
        self.api.hold_events()
        n = QUEUE_MAX + 60
        conn = self.server.conn()
        latencies = []
        for _ in range(n):
            t = time.monotonic()
            resp = self.server.review("/validate", template_change(), conn=conn)
            latencies.append(time.monotonic() - t)
            self.assertIs(resp["allowed"], False)
        conn.close()
        self.assertTrue(self.api.wait_event_posts_waiting(1))
        latencies.sort()
        # The POST in flight is held for the whole loop; the reviews do not notice it.
        self.assertLess(latencies[len(latencies) // 2], 0.05, latencies[-5:])
        self.assertLess(latencies[-1], 0.5, latencies[-5:])
        text = self.metrics()
        queued = int(re.search(r"^manual_gate_events_queued (\d+)$", text, re.M).group(1))
        dropped = self.events_metric("dropped")
        self.assertEqual(queued, QUEUE_MAX)
        # One notice was taken by the thread (its POST is held), QUEUE_MAX wait, the rest was dropped.
        self.assertEqual(dropped, n - 1 - QUEUE_MAX)
        self.api.release_events()
        want = 2 * (QUEUE_MAX + 1)
        self.assertTrue(wait_for(lambda: self.events_metric("posted") == want, timeout=60),
                        "posted %d, want %d" % (self.events_metric("posted"), want))
        self.assertEqual(self.events_metric("dropped"), n - 1 - QUEUE_MAX)
        self.assertEqual(len(self.api.events()), want)

    def test_off_with_events_false(self):
        self.server.stop()
        os.unlink(self.server.log.name)
        self.server = harness.Server("--kube-api", self.api.url, "--events=false")
        harness.wait_ready(self.server)
        self.assertIs(self.server.review("/validate", template_change())["allowed"], False)
        time.sleep(0.3)
        self.assertEqual(self.api.events(), [])
        self.assertIn("events: off (--events=false)", self.server.logs())
