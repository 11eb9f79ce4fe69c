"""`manual-gate status` through the real kubectl against the stand-in API server: one row per gated
Canary with its release and gate state read from the loadtester through the services proxy, -o json and
-o yaml for scripts, the warnings and errors an operator acts on, and --watch for a script (the terminal
view is in test_ops_tmux.py)."""
import json
import os
import signal
import subprocess
import time
import unittest

import yaml

import harness
import ops_scene
from ops_scene import NS, Scene, canary


def plain(c):
    """The same Canary without gating: no gate hooks, no label."""
    c["spec"]["analysis"]["webhooks"] = []
    return c


class StatusTest(unittest.TestCase):
    def setUp(self):
        self.scene = Scene()
        self.scene.put(canary("podinfo", weight=10, started_ago=3 * 86400 + 7200, moved_ago=600))
        self.scene.put(canary("frontend", weight=50, failed=3))
        self.scene.put(plain(canary("legacy")))
        self.scene.put(canary("billing", namespace="other", lt_url="http://flagger-loadtester.test.svc.cluster.local"))

    def tearDown(self):
        self.scene.stop()

    def status_json(self, *args):
        rc, out, err = self.scene.run("status", "-o", "json", *args)
        self.assertEqual(rc, 0, err)
        return {i["name"]: i for i in json.loads(out)["items"]}

    def test_one_row_per_gated_canary_of_the_namespace(self):
        rc, out, err = self.scene.run("status")
        self.assertEqual(rc, 0, err)
        lines = out.splitlines()
        self.assertEqual(lines[0].split(), ["NAME", "TARGET", "PHASE", "WEIGHT", "NEXT", "FAILED", "RUNNING", "SINCE",
                                            "GATE", "ROLLBACK"])
        rows = {l.split()[0]: l.split() for l in lines[1:]}
        self.assertEqual(set(rows), {"podinfo", "frontend"})  # not the ungated one, not another namespace
        self.assertEqual(rows["podinfo"], ["podinfo", "Deployment/podinfo", "Progressing", "10/50%", "20%",
                                           "0/20160", "3d2h", "10m", "closed", "closed"])
        self.assertEqual(rows["frontend"][4:6], ["promote", "3/20160"])
        self.assertNotIn("\033[", out)  # not a terminal: no colour

    def test_all_namespaces_adds_the_namespace_column(self):
        rc, out, err = self.scene.run("status", "-A")
        self.assertEqual(rc, 0, err)
        lines = out.splitlines()
        self.assertEqual(lines[0].split()[:2], ["NAMESPACE", "NAME"])
        self.assertEqual(sorted((l.split()[0], l.split()[1]) for l in lines[1:]),
                         [("other", "billing"), ("test", "frontend"), ("test", "podinfo")])

    def test_json_carries_the_release_and_the_gates_read_from_the_loadtester(self):
        self.scene.lt.set("podinfo", NS, True)
        self.scene.lt.set("frontend", NS, True, rollback=True)
        items = self.status_json()
        p, f = items["podinfo"], items["frontend"]
        c = self.scene.get_canary("podinfo")
        self.assertEqual((p["phase"], p["inFlight"], p["canaryWeight"], p["maxWeight"], p["nextWeight"],
                          p["nextStepPromotes"]), ("Progressing", True, 10, 50, 20, False))
        self.assertEqual((p["failedChecks"], p["threshold"]), (0, 20160))
        self.assertEqual(p["releaseStarted"], c["status"]["conditions"][0]["lastTransitionTime"])
        self.assertEqual(p["lastTransitionTime"], c["status"]["lastTransitionTime"])
        self.assertEqual((p["gate"], p["rollbackGate"]), ("open", "closed"))
        self.assertEqual((f["gate"], f["rollbackGate"], f["nextWeight"], f["nextStepPromotes"]),
                         ("closed", "open", None, True))
        self.assertEqual(p["loadtester"], {"url": ops_scene.LT_URL, "namespace": NS, "service": "flagger-loadtester",
                                           "port": 80, "readyPods": 1})
        self.assertEqual(p["warnings"], [])

    def test_gates_are_read_through_the_service_proxy_and_nothing_else_is_written(self):
        self.status_json()
        posts = self.scene.proxy_posts()
        prefix = "/api/v1/namespaces/test/services/flagger-loadtester:80/proxy"
        self.assertIn((prefix + "/gate/check", {"name": "podinfo", "namespace": NS}), posts)
        self.assertIn((prefix + "/rollback/check", {"name": "frontend", "namespace": NS}), posts)
        self.assertTrue(all(path.startswith(prefix) and path.endswith("/check") for path, _ in posts), posts)

    def test_yaml_is_the_same_data(self):
        rc, out, err = self.scene.run("status", "-o", "yaml")
        self.assertEqual(rc, 0, err)
        self.assertEqual({i["name"]: i for i in yaml.safe_load(out)["items"]}, self.status_json())

    def test_a_name_shows_that_canary_even_when_it_is_not_gated(self):
        items = self.status_json("legacy")
        self.assertEqual(list(items), ["legacy"])
        self.assertEqual((items["legacy"]["gated"], items["legacy"]["gate"]), (False, "no hook"))
        rc, _, err = self.scene.run("status", "nosuch")
        self.assertEqual(rc, 2)
        self.assertIn("no Canary nosuch in namespace test", err)

    def test_more_than_one_ready_loadtester_pod_is_a_warning(self):
        self.scene.put(ops_scene.endpoint_slice(3, not_ready=1))
        items = self.status_json()
        self.assertEqual(items["podinfo"]["loadtester"]["readyPods"], 3)
        self.assertTrue(any("3 ready pods" in w and "own gates" in w for w in items["podinfo"]["warnings"]))
        rc, out, _ = self.scene.run("status")
        warnings = [l for l in out.splitlines() if l.startswith("warning:")]
        self.assertEqual(len(warnings), 1, out)  # said once for both Canaries that share the loadtester
        self.assertIn("test/frontend, test/podinfo", warnings[0])

    def test_an_unreachable_loadtester_reads_unreachable(self):
        self.scene.api.route_service(NS, "flagger-loadtester", 80, "127.0.0.1:%d" % harness.free_port())
        items = self.status_json()
        self.assertEqual((items["podinfo"]["gate"], items["podinfo"]["rollbackGate"]), ("unreachable", "unreachable"))
        self.assertTrue(any("cannot be reached through the API server" in w and "connection refused" in w
                            for w in items["podinfo"]["warnings"]), items["podinfo"]["warnings"])

    def test_rbac_refusing_the_proxy_reads_forbidden_and_names_what_was_refused(self):
        self.scene.api.forbid("create", "services/proxy")
        items = self.status_json()
        self.assertEqual(items["podinfo"]["gate"], "forbidden")
        self.assertIn('RBAC refused to create services/proxy on Service test/flagger-loadtester (the loadtester): '
                      'services "flagger-loadtester:80" is forbidden: User "alice" cannot create resource '
                      '"services/proxy"', items["podinfo"]["warnings"][0])

    def test_a_loadtester_url_that_names_no_service_is_explained(self):
        self.scene.put(canary("direct", lt_url="http://10.0.0.7:8080"))
        items = self.status_json()
        self.assertEqual(items["direct"]["gate"], "unreachable")
        self.assertIn("names an IP address, not a Service", items["direct"]["warnings"][0])

    def test_rbac_refusing_the_list_is_an_error_naming_verb_and_resource(self):
        self.scene.api.forbid("list", "canaries")
        rc, out, err = self.scene.run("status")
        self.assertEqual((rc, out), (2, ""))
        self.assertIn("RBAC refused to list canaries.flagger.app in namespace test: canaries.flagger.app is "
                      "forbidden: User \"alice\" cannot list resource \"canaries\"", err)

    def test_context_and_kubeconfig_pass_through_to_kubectl(self):
        rc, out, err = self.scene.run("status", "--context", "elsewhere")
        self.assertEqual((rc, out.split()[:1]), (0, ["NAME"]), err)
        self.assertIn("billing", out)
        self.assertNotIn("podinfo", out)
        # KUBECONFIG in the environment works as it does for kubectl.
        r = subprocess.run([harness.BIN, "status", "-n", "other"], capture_output=True, text=True, timeout=60,
                           env=dict(os.environ, KUBECONFIG=self.scene.kubeconfig))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("billing", r.stdout)
        rc, out, err = self.scene.run("status", "-n", "empty")
        self.assertEqual((rc, out), (0, "No gated Canaries in namespace empty.\n"), err)


class StatusErrorsTest(unittest.TestCase):
    def test_missing_kubectl_and_unreachable_api_server_are_clear_errors(self):
        scene = Scene()
        try:
            rc, out, err = scene.run("status", env={"PATH": "/nonexistent"})
            self.assertEqual((rc, out), (2, ""))
            self.assertIn("kubectl is not installed", err)
            port = scene.api.port
            scene.api.go_down()
            rc, out, err = scene.run("status", "-n", NS)
            self.assertEqual((rc, out), (2, ""))
            self.assertIn("cannot reach the API server of the kubeconfig context: The connection to the server "
                          "127.0.0.1:%d was refused" % port, err)
        finally:
            scene.stop()


class StatusWatchTest(unittest.TestCase):
    """--watch without a terminal: a new JSON line only when the state changed; Ctrl-C ends it with 0."""

    def test_watch_prints_again_when_the_release_moves(self):
        scene = Scene()
        proc = None
        try:
            scene.put(canary("podinfo", weight=10))
            proc = subprocess.Popen([harness.BIN, "status", "-w", "--interval", "1", "-o", "json", "--kubeconfig",
                                     scene.kubeconfig], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            first = json.loads(proc.stdout.readline())
            self.assertEqual(first["items"][0]["canaryWeight"], 10)
            time.sleep(2.5)  # two more polls, nothing changed: nothing printed
            c = scene.get_canary()
            c["status"]["canaryWeight"] = 20
            scene.put(c)
            second = json.loads(proc.stdout.readline())
            self.assertEqual(second["items"][0]["canaryWeight"], 20)
            proc.send_signal(signal.SIGINT)
            self.assertEqual(proc.wait(20), 0, proc.stderr.read())
            self.assertEqual(proc.stdout.read(), "")
        finally:
            if proc and proc.poll() is None:
                proc.kill()
                proc.wait()
            scene.stop()


if __name__ == "__main__":
    unittest.main()
