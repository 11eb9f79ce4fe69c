"""`manual-gate check KIND/NAME` through the real kubectl against the stand-in API server: exit 0 when a
change may be released now, 1 when a gated release in flight would deny it (with the Canary, its phase
and weight, and the very message the webhook gives for the same change), 2 on errors. Secrets are never
read."""
import copy
import json
import os
import tempfile
import unittest

import harness
from ops_scene import NS, Scene, canary


def deployment(name="podinfo", kind="Deployment"):
    return {"apiVersion": "apps/v1", "kind": kind, "metadata": {"name": name, "namespace": NS, "labels": {"app": name}},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "app", "image": "podinfo:6.1.0"}]}}}}


def configmap(name):
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": NS},
            "data": {"config.yaml": "level: info\n"}}


class CheckTest(unittest.TestCase):
    def setUp(self):
        self.scene = Scene()
        for obj in (deployment(), deployment("frontend"), deployment("agent", "DaemonSet"),
                    configmap("podinfo-config"), configmap("unrelated")):
            self.scene.put(obj)

    def tearDown(self):
        self.scene.stop()

    def test_a_template_change_during_a_gated_release_is_denied_with_the_webhooks_message(self):
        c = canary(weight=20)
        self.scene.put(c)
        rc, out, err = self.scene.run("check", "deployment/podinfo", "-n", NS)
        self.assertEqual(rc, 1, err)
        lines = out.splitlines()
        self.assertEqual(lines[0], "denied: Deployment test/podinfo: Canary test/podinfo, phase Progressing, "
                                   "canary weight 20%")
        # The webhook itself, fed the same Canary and the same kind of change, says the same.
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
            json.dump({"apiVersion": "v1", "kind": "List", "items": [c]}, f)
        try:
            with harness.Server("--canaries", f.name) as server:
                old = deployment()
                new = copy.deepcopy(old)
                new["spec"]["template"]["spec"]["containers"][0]["image"] = "podinfo:6.2.0"
                resp = server.review("/validate", harness.admission_request("Deployment", new, old, namespace=NS))
        finally:
            os.unlink(f.name)
        self.assertIs(resp["allowed"], False)
        self.assertEqual(lines[1:], [resp["status"]["message"]])

    def test_no_release_in_flight_allows_the_change(self):
        for phase in ("Succeeded", "Failed", "Initialized"):
            self.scene.put(canary(phase=phase, weight=0))
            rc, out, err = self.scene.run("check", "deploy/podinfo")
            self.assertEqual(rc, 0, err)
            self.assertEqual(out, "allowed: a change to Deployment test/podinfo may be released now (Canary "
                                  "test/podinfo, phase %s, canary weight 0%%)\n" % phase)

    def test_objects_no_gated_canary_watches_are_allowed(self):
        self.scene.put(canary(weight=20))
        ungated = canary("frontend", weight=20)
        ungated["spec"]["analysis"]["webhooks"] = []
        self.scene.put(ungated)
        for ref in ("deployments/frontend", "ds/agent", "cm/unrelated", "ConfigMap/unrelated"):
            rc, out, err = self.scene.run("check", ref)
            self.assertEqual(rc, 0, ref + err)
            self.assertTrue(out.startswith("allowed: "), out)

    def test_tracked_configmaps_and_secrets_are_judged_and_secrets_never_read(self):
        self.scene.put(canary(weight=20))
        for ref, kind in (("configmap/podinfo-config", "ConfigMap"), ("secret/podinfo-token", "Secret")):
            rc, out, err = self.scene.run("check", ref)
            self.assertEqual(rc, 1, err)
            self.assertIn("denied: %s test/%s: Canary test/podinfo, phase Progressing" % (kind, ref.split("/")[1]), out)
            self.assertIn("is tracked by Canary test/podinfo", out)
        rc, out, err = self.scene.run("check", "secret/other")
        self.assertEqual(rc, 0, err)
        self.assertEqual([r["path"] for r in self.scene.api.requests() if "/secrets" in r["path"]], [])

    def test_flaggers_own_deployment_is_judged_against_every_namespace(self):
        flagger = deployment("flagger")
        flagger["metadata"]["namespace"] = "flagger-system"
        self.scene.put(flagger)
        self.scene.put(canary(weight=20))
        args = ("check", "deployment/flagger", "-n", "flagger-system")
        rc, out, err = self.scene.run(*args)
        self.assertEqual(rc, 0, err)  # without the flag it is just a Deployment no Canary targets
        rc, out, err = self.scene.run(*args, "--flagger-deployment", "flagger-system/flagger")
        self.assertEqual(rc, 1, err)
        self.assertTrue(out.startswith("denied: Deployment flagger-system/flagger\n"), out)
        self.assertIn("test/podinfo", out)
        self.scene.put(canary(phase="Succeeded", weight=0))
        rc, out, err = self.scene.run(*args, "--flagger-deployment", "flagger-system/flagger")
        self.assertEqual(rc, 0, err)

    def test_errors_exit_2(self):
        self.scene.put(canary(weight=20))
        for args, says in ((("check", "deployment/missing"), "no Deployment missing in namespace test"),
                           (("check", "pod/podinfo"), "cannot check a 'pod'"),
                           (("check", "podinfo"), "usage: manual-gate check KIND/NAME"),
                           (("check", "deployment/podinfo", "-A"), "unknown flag '-A'")):
            rc, out, err = self.scene.run(*args)
            self.assertEqual((rc, out), (2, ""), args)
            self.assertIn(says, err)
        self.scene.api.forbid("list", "canaries")
        rc, out, err = self.scene.run("check", "deployment/podinfo")
        self.assertEqual((rc, out), (2, ""))
        self.assertIn("RBAC refused to list canaries.flagger.app in namespace test", err)


if __name__ == "__main__":
    unittest.main()
