"""/metrics as Prometheus reads it: the whole exposition parsed by the Prometheus client library's own text
parser (prometheus_client.parser), every family with HELP and TYPE; per gated Canary a gauge set (phase,
weight, failed checks, threshold, seconds since its last transition) read from the cache, that moves when the
stand-in API server changes the Canary's status; denials and overrides by rule and kind; the build; the
process, named as the client libraries name it."""
import os
import re
import subprocess
import time
import unittest

from prometheus_client.parser import text_string_to_metric_families

import harness
from standin_apiserver import StandinAPIServer
from test_cache import canary, deployment, wait_for
from test_events import template_change


def rfc3339(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def scrape(server):
    status, body, headers = server.request("GET", "/metrics")
    assert status == 200, status
    assert headers["content-type"].startswith("text/plain; version=0.0.4"), headers
    return body.decode()


def families(text):
    return {f.name: f for f in text_string_to_metric_families(text)}


def samples(fams, metric, **labels):
    """Samples of a family (by sample name) whose labels include the given ones."""
    out = []
    for f in fams.values():
        for s in f.samples:
            if s.name == metric and all(s.labels.get(k) == v for k, v in labels.items()):
                out.append(s)
    return out


def value(fams, metric, **labels):
    found = samples(fams, metric, **labels)
    assert len(found) == 1, (metric, labels, found)
    return found[0].value


class MetricsTest(unittest.TestCase):
    def setUp(self):
        self.api = StandinAPIServer()
        self.transition = time.time() - 3600
        gated = canary("test", "podinfo", phase="Progressing", weight=20)
        gated["spec"]["analysis"]["threshold"] = 14400
        gated["status"].update({"failedChecks": 1, "lastTransitionTime": rfc3339(self.transition)})
        self.gated = gated
        self.api.put(gated)
        self.api.put(canary("test", "frontend", phase="Progressing", weight=40, gated=False))
        self.api.put(canary("team-b", "backend", phase="Succeeded"))
        self.server = harness.Server("--kube-api", self.api.url, "--events=false")
        harness.wait_ready(self.server)

    def tearDown(self):
        try:
            harness.stop_checked(self.server)
        finally:
            self.api.stop()

    def test_exposition_parses_with_help_and_type_for_every_family(self):
        text = scrape(self.server)
        fams = families(text)
        helps = set(re.findall(r"^# HELP (\S+) \S", text, re.M))
        types = dict(re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M))
        self.assertEqual(helps, set(types))
        for name, f in fams.items():
            with self.subTest(family=name):
                self.assertTrue(f.documentation)
                self.assertIn(f.type, ("gauge", "counter", "histogram"))
                self.assertEqual(types[name if f.type != "counter" else name + "_total"], f.type)
        for name in ("manual_gate_admission_duration_seconds", "manual_gate_admission_reviews",
                     "manual_gate_canary_phase", "manual_gate_canary_weight", "manual_gate_canary_failed_checks",
                     "manual_gate_canary_threshold", "manual_gate_canary_last_transition_age_seconds",
                     "manual_gate_denials", "manual_gate_overrides", "manual_gate_build_info",
                     "manual_gate_events", "process_cpu_seconds", "process_resident_memory_bytes",
                     "process_open_fds", "process_start_time_seconds", "process_max_fds"):
            self.assertIn(name, fams)
        # A family's samples are together: the text format requires it, and the parser would split them.
        self.assertEqual(len(re.findall(r"^# TYPE manual_gate_canary_weight ", text, re.M)), 1)

    def test_gated_canaries_have_their_gauges_and_others_none(self):
        fams = families(scrape(self.server))
        self.assertEqual(value(fams, "manual_gate_canary_weight", namespace="test", name="podinfo"), 20)
        self.assertEqual(value(fams, "manual_gate_canary_phase", namespace="test", name="podinfo",
                               phase="Progressing"), 1)
        self.assertEqual(value(fams, "manual_gate_canary_failed_checks", namespace="test", name="podinfo"), 1)
        self.assertEqual(value(fams, "manual_gate_canary_threshold", namespace="test", name="podinfo"), 14400)
        age = value(fams, "manual_gate_canary_last_transition_age_seconds", namespace="test", name="podinfo")
        self.assertAlmostEqual(age, time.time() - int(self.transition), delta=5)
        self.assertEqual(value(fams, "manual_gate_canary_weight", namespace="team-b", name="backend"), 0)
        self.assertEqual(value(fams, "manual_gate_canary_threshold", namespace="team-b", name="backend"), 1)
        # No lastTransitionTime: no age, rather than one counted from 1970.
        self.assertEqual(samples(fams, "manual_gate_canary_last_transition_age_seconds", name="backend"), [])
        self.assertEqual(samples(fams, "manual_gate_canary_weight", name="frontend"), [])  # not gated
        self.assertEqual(value(fams, "manual_gate_cache_canaries"), 3)

    def test_gauges_move_when_the_api_server_changes_the_status(self):
        c = dict(self.gated)
        c["status"] = dict(c["status"], canaryWeight=30, failedChecks=4, phase="Progressing",
                           lastTransitionTime=rfc3339(time.time() - 10))
        self.api.put(c)

        def moved():
            fams = families(scrape(self.server))
            return value(fams, "manual_gate_canary_weight", namespace="test", name="podinfo") == 30 and fams

        fams = wait_for(moved)
        self.assertTrue(fams)
        self.assertEqual(value(fams, "manual_gate_canary_failed_checks", namespace="test", name="podinfo"), 4)
        self.assertLess(value(fams, "manual_gate_canary_last_transition_age_seconds", namespace="test",
                              name="podinfo"), 60)
        c["status"] = dict(c["status"], phase="WaitingPromotion", canaryWeight=0)
        self.api.put(c)
        fams = wait_for(lambda: (lambda f: samples(f, "manual_gate_canary_phase", name="podinfo",
                                                   phase="WaitingPromotion") and f)(families(scrape(self.server))))
        self.assertTrue(fams)
        self.assertEqual(len(samples(fams, "manual_gate_canary_phase", name="podinfo")), 1)
        self.api.delete("test", "podinfo")
        self.assertTrue(wait_for(lambda: not samples(families(scrape(self.server)), "manual_gate_canary_weight",
                                                     name="podinfo")))

    def test_denials_and_overrides_by_rule_and_kind(self):
        for _ in range(3):
            self.server.review("/validate", template_change())
        self.server.review("/validate", template_change(dry_run=True))
        self.server.review("/validate", template_change(override="INC-1"))
        fams = families(scrape(self.server))
        self.assertEqual(value(fams, "manual_gate_denials_total", rule="template-in-flight", kind="Deployment"), 3)
        self.assertEqual(value(fams, "manual_gate_overrides_total", rule="template-in-flight", kind="Deployment"), 1)
        self.assertEqual(value(fams, "manual_gate_admission_reviews_total", endpoint="validate", decision="denied"), 4)

    def test_build_info_says_what_version_says(self):
        out = subprocess.run([harness.BIN, "version"], capture_output=True, text=True).stdout
        version, commit = re.match(r"manual-gate (\S+) \(commit (\S+)\)", out).groups()
        fams = families(scrape(self.server))
        self.assertEqual(value(fams, "manual_gate_build_info", version=version, commit=commit), 1)

    def test_process_metrics_describe_this_process(self):
        fams = families(scrape(self.server))
        start = value(fams, "process_start_time_seconds")
        self.assertLess(abs(start - time.time()), 120)
        with open("/proc/%d/status" % self.server.proc.pid) as f:
            rss_kb = int(re.search(r"^VmRSS:\s+(\d+) kB", f.read(), re.M).group(1))
        self.assertAlmostEqual(value(fams, "process_resident_memory_bytes") / 1024, rss_kb, delta=rss_kb / 2)
        fds = len(os.listdir("/proc/%d/fd" % self.server.proc.pid))
        self.assertAlmostEqual(value(fams, "process_open_fds"), fds, delta=3)
        self.assertGreaterEqual(value(fams, "process_cpu_seconds_total"), 0)
        self.assertGreater(value(fams, "process_max_fds"), 0)

    def test_a_scrape_calls_no_api(self):
        before = len(self.api.requests())
        for _ in range(5):
            scrape(self.server)
        self.assertEqual(len(self.api.requests()), before)


class MonitoringManifestsTest(unittest.TestCase):
    """The PrometheusRule's alerts and the Grafana dashboard query only metrics the server exports (or the
    API server's and Prometheus' own), and the dashboard shows weight over time and time per step."""
    EXTERNAL = {"up", "apiserver_admission_webhook_fail_open_count"}
    COMPONENT = os.path.join(harness.ROOT, "manifests", "components", "prometheus-operator")

    @classmethod
    def setUpClass(cls):
        with harness.Server() as s:
            text = scrape(s)
        cls.exported = set()
        for f in text_string_to_metric_families(text):
            cls.exported |= {smp.name for smp in f.samples} | {f.name}
        # Families with no sample yet (a counter by rule before the first denial) still have HELP.
        cls.exported |= set(re.findall(r"^# HELP (\S+)", text, re.M))

    def test_alert_expressions_use_exported_metrics(self):
        import yaml
        with open(os.path.join(self.COMPONENT, "prometheusrule.yaml")) as f:
            rule = yaml.safe_load(f)
        alerts = [r for g in rule["spec"]["groups"] for r in g["rules"]]
        names = {a["alert"] for a in alerts}
        self.assertIn("ManualGateReleaseWaitingForHuman", names)
        self.assertIn("ManualGateWebhookFailOpen", names)
        for a in alerts:
            with self.subTest(alert=a["alert"]):
                self.assertIn(a["labels"]["severity"], ("critical", "warning", "info"))
                self.assertTrue(a["annotations"]["summary"])
                used = set(re.findall(r"\b([a-z_][a-z0-9_]*)\s*(?:\{|\[|\)\s*(?:==|>|<|-))", a["expr"]))
                used = {u for u in used if u.startswith(("manual_gate_", "process_", "apiserver_")) or u == "up"}
                self.assertTrue(used)
                self.assertEqual(used - self.exported - self.EXTERNAL, set())

    def test_dashboard_queries_exported_metrics_and_shows_steps(self):
        import json
        with open(os.path.join(self.COMPONENT, "manual-gate-dashboard.json")) as f:
            dash = json.load(f)
        exprs = [t["expr"] for p in dash["panels"] for t in p.get("targets", [])]
        used = set()
        for e in exprs:
            used |= {u for u in re.findall(r"\b(manual_gate_[a-z_]+)\b", e)}
        self.assertEqual(used - self.exported, set())
        kinds = {}
        for p in dash["panels"]:
            kinds.setdefault(p["type"], p)
        self.assertIn("manual_gate_canary_weight", kinds["timeseries"]["targets"][0]["expr"])
        self.assertIn("manual_gate_canary_weight", kinds["state-timeline"]["targets"][0]["expr"])
        self.assertIn("manual_gate_canary_last_transition_age_seconds", kinds["bargauge"]["targets"][0]["expr"])
        self.assertEqual([v["name"] for v in dash["templating"]["list"]], ["datasource", "namespace"])
