"""POST /validate against the real binary, with Canaries from tests/fixtures/validate/canaries.yaml:
template changes of gated targets in flight, Canary gating rules, tracked ConfigMaps and Secrets
(whose values must never reach the log or the response), break glass, and the never-synced cache."""
import base64
import copy
import json
import os
import subprocess
import time
import unittest

import harness
from harness import ServerTest, admission_request

CANARIES = os.path.join(harness.FIXTURES, "validate", "canaries.yaml")
SECRET_OLD = "s3cr3t-hunter2-old"
SECRET_NEW = "s3cr3t-hunter2-new"


def fixture(name):
    with open(os.path.join(harness.FIXTURES, "validate", name)) as f:
        return json.load(f)


def b64(s):
    return base64.b64encode(s.encode()).decode()


def with_image(obj, image):
    out = copy.deepcopy(obj)
    out["spec"]["template"]["spec"]["containers"][0]["image"] = image
    return out


def annotated(obj, key, value):
    out = copy.deepcopy(obj)
    out["metadata"].setdefault("annotations", {})[key] = value
    return out


def renamed(obj, name=None, namespace=None):
    out = copy.deepcopy(obj)
    if name:
        out["metadata"]["name"] = name
    if namespace:
        out["metadata"]["namespace"] = namespace
    return out


class ValidateTest(ServerTest):
    SERVER_ARGS = ("--canaries", CANARIES, "--override-group", "sre-oncall")
    WAIT_READY = True

    def validate(self, kind, obj=None, old=None, operation="UPDATE", **kw):
        namespace = (obj or old)["metadata"]["namespace"]
        return self.server.review("/validate", admission_request(kind, obj, old, operation=operation,
                                                                 namespace=namespace, **kw))

    def assertDenied(self, resp, *fragments):
        self.assertFalse(resp["allowed"], resp)
        self.assertEqual(resp["status"]["code"], 403, resp)
        self.assertEqual(resp["status"]["reason"], "Forbidden", resp)
        for f in fragments:
            self.assertIn(f, resp["status"]["message"])

    def assertAllowed(self, resp):
        self.assertTrue(resp["allowed"], resp)
        self.assertNotIn("patch", resp)

    # Deployments and DaemonSets

    def test_deployment_new_image_during_gated_release_is_denied(self):
        dep = fixture("deployment.json")
        resp = self.validate("Deployment", with_image(dep, "ghcr.io/stefanprodan/podinfo:6.5.1"), dep)
        self.assertDenied(resp, "Deployment test/podinfo is the target of Canary test/podinfo",
                          "(phase Progressing, canary weight 10%)", "restart the analysis from 0%",
                          "manual-gate gate open podinfo -n test", "manual-gate rollback open podinfo -n test",
                          "manual-gate.io/override")

    def test_dry_run_gets_the_same_decision(self):
        dep = fixture("deployment.json")
        new = with_image(dep, "ghcr.io/stefanprodan/podinfo:6.5.1")
        wet = self.validate("Deployment", new, dep)
        dry = self.validate("Deployment", new, dep, dry_run=True)
        self.assertFalse(dry["allowed"])
        self.assertEqual(dry["status"]["message"], wet["status"]["message"])

    def test_deployment_replica_change_is_allowed(self):
        dep = fixture("deployment.json")
        new = copy.deepcopy(dep)
        new["spec"]["replicas"] = 0
        self.assertAllowed(self.validate("Deployment", new, dep))

    def test_deployment_create_and_delete_are_allowed(self):
        dep = fixture("deployment.json")
        self.assertAllowed(self.validate("Deployment", dep, None, operation="CREATE"))
        self.assertAllowed(self.validate("Deployment", None, dep, operation="DELETE"))

    def test_deployment_of_idle_canary_is_allowed(self):
        dep = renamed(fixture("deployment.json"), name="idle")
        self.assertAllowed(self.validate("Deployment", with_image(dep, "x:2"), dep))

    def test_same_name_in_ungated_namespace_is_allowed(self):
        dep = renamed(fixture("deployment.json"), namespace="other")
        self.assertAllowed(self.validate("Deployment", with_image(dep, "x:2"), dep))

    def test_untargeted_deployment_is_allowed(self):
        dep = renamed(fixture("deployment.json"), name="frontend")
        self.assertAllowed(self.validate("Deployment", with_image(dep, "x:2"), dep))

    def test_daemonset_gated_by_label_is_denied(self):
        ds = fixture("daemonset.json")
        resp = self.validate("DaemonSet", with_image(ds, "ghcr.io/example/node-agent:1.5.0"), ds)
        self.assertDenied(resp, "DaemonSet test/node-agent is the target of Canary test/node-agent",
                          "(phase Progressing, canary weight 20%)")

    def test_override_annotation_allows_with_warning_and_audit(self):
        dep = fixture("deployment.json")
        new = annotated(with_image(dep, "ghcr.io/stefanprodan/podinfo:6.5.1"), "manual-gate.io/override",
                        "CVE-2024-1234 hotfix")
        resp = self.validate("Deployment", new, dep)
        self.assertAllowed(resp)
        self.assertTrue(any("override by alice" in w for w in resp.get("warnings", [])), resp)
        self.assertEqual(resp["auditAnnotations"]["override-reason"], "CVE-2024-1234 hotfix")
        self.assertEqual(resp["auditAnnotations"]["override-user"], "alice")

    def test_override_with_empty_reason_is_denied(self):
        dep = fixture("deployment.json")
        new = annotated(with_image(dep, "x:2"), "manual-gate.io/override", "")
        self.assertDenied(self.validate("Deployment", new, dep), "manual-gate.io/override is empty")

    def test_override_group_member_is_allowed(self):
        dep = fixture("deployment.json")
        resp = self.validate("Deployment", with_image(dep, "x:2"), dep, username="bob",
                             groups=("system:authenticated", "sre-oncall"))
        self.assertAllowed(resp)
        self.assertEqual(resp["auditAnnotations"]["override-user"], "bob")

    def test_override_annotation_kept_from_stored_object_is_denied(self):
        dep = annotated(fixture("deployment.json"), "manual-gate.io/override", "CVE-2024-1234 hotfix")
        resp = self.validate("Deployment", with_image(dep, "ghcr.io/stefanprodan/podinfo:6.5.1"), dep)
        self.assertDenied(resp, "give the annotation manual-gate.io/override a new reason in the same request")
        self.assertNotIn("auditAnnotations", resp)

    def test_override_annotation_with_a_new_reason_is_allowed(self):
        dep = annotated(fixture("deployment.json"), "manual-gate.io/override", "CVE-2024-1234 hotfix")
        new = annotated(with_image(dep, "ghcr.io/stefanprodan/podinfo:6.5.2"), "manual-gate.io/override",
                        "CVE-2024-1240 hotfix")
        resp = self.validate("Deployment", new, dep)
        self.assertAllowed(resp)
        self.assertEqual(resp["auditAnnotations"]["override-reason"], "CVE-2024-1240 hotfix")

    def test_daemonset_scaled_to_and_from_zero_by_flagger_is_allowed(self):
        ds = fixture("daemonset.json")
        ds["spec"]["template"]["spec"]["nodeSelector"] = {"kubernetes.io/os": "linux"}
        down = copy.deepcopy(ds)
        down["spec"]["template"]["spec"]["nodeSelector"]["flagger.app/scale-to-zero"] = "true"
        self.assertAllowed(self.validate("DaemonSet", down, ds))
        self.assertAllowed(self.validate("DaemonSet", ds, down))
        bare = copy.deepcopy(ds)
        del bare["spec"]["template"]["spec"]["nodeSelector"]
        only_key = copy.deepcopy(bare)
        only_key["spec"]["template"]["spec"]["nodeSelector"] = {"flagger.app/scale-to-zero": "true"}
        self.assertAllowed(self.validate("DaemonSet", only_key, bare))
        emptied = copy.deepcopy(bare)
        emptied["spec"]["template"]["spec"]["nodeSelector"] = {}
        self.assertAllowed(self.validate("DaemonSet", emptied, only_key))

    def test_daemonset_other_node_selector_change_is_denied(self):
        ds = fixture("daemonset.json")
        new = copy.deepcopy(ds)
        new["spec"]["template"]["spec"]["nodeSelector"] = {"kubernetes.io/os": "linux",
                                                           "flagger.app/scale-to-zero": "true"}
        self.assertDenied(self.validate("DaemonSet", new, ds), "DaemonSet test/node-agent is the target of")

    def test_template_strings_differing_after_a_nul_are_a_change(self):
        dep = fixture("deployment.json")
        old = copy.deepcopy(dep)
        new = copy.deepcopy(dep)
        old["spec"]["template"]["spec"]["containers"][0]["env"] = [{"name": "X", "value": "a\u0000b"}]
        new["spec"]["template"]["spec"]["containers"][0]["env"] = [{"name": "X", "value": "a\u0000c"}]
        self.assertDenied(self.validate("Deployment", new, old), "a new pod template")

    def test_template_numbers_are_compared_exactly(self):
        dep = fixture("deployment.json")
        old = copy.deepcopy(dep)
        new = copy.deepcopy(dep)
        old["spec"]["template"]["spec"]["securityContext"] = {"runAsUser": 9007199254740992}
        new["spec"]["template"]["spec"]["securityContext"] = {"runAsUser": 9007199254740994}
        self.assertDenied(self.validate("Deployment", new, old), "a new pod template")

    # Canaries

    def test_canary_hook_opening_the_gate_by_itself_is_denied(self):
        for path, says in (("/gate/open", "the gate would open with no human"),
                           ("/rollback/open", "the release would roll back with no human")):
            new = fixture("canary.json")
            new["spec"]["analysis"]["webhooks"].append(
                {"name": "self-open", "type": "rollout",
                 "url": "http://admin:hunter2@flagger-loadtester.test%s?token=abc" % path})
            resp = self.validate("Canary", new, None, operation="CREATE")
            self.assertDenied(resp, "its webhook \"self-open\" calls the loadtester's " + path, says)
            self.assertNotIn("hunter2", resp["status"]["message"])
            self.assertNotIn("token=abc", resp["status"]["message"])

    def test_canary_removing_gating_in_flight_is_denied(self):
        old = fixture("canary.json")
        new = copy.deepcopy(old)
        del new["spec"]["analysis"]["webhooks"]
        self.assertDenied(self.validate("Canary", new, old), "Canary test/podinfo has a gated release in flight")

    def test_canary_removing_gating_after_release_is_allowed(self):
        old = fixture("canary.json")
        old["status"]["phase"] = "Succeeded"
        new = copy.deepcopy(old)
        del new["spec"]["analysis"]["webhooks"]
        self.assertAllowed(self.validate("Canary", new, old))

    def test_canary_gated_with_iterations_is_denied(self):
        new = fixture("canary.json")
        new["spec"]["analysis"]["iterations"] = 10
        self.assertDenied(self.validate("Canary", new, None, operation="CREATE"),
                          "spec.analysis.iterations is 10", "blue/green")

    def test_canary_gated_on_provider_kubernetes_is_denied(self):
        new = fixture("canary.json")
        new["spec"]["provider"] = "kubernetes"
        self.assertDenied(self.validate("Canary", new, None, operation="CREATE"), "spec.provider is kubernetes")

    def test_canary_gated_without_analysis_is_denied(self):
        new = fixture("canary.json")
        del new["spec"]["analysis"]
        new["metadata"]["labels"] = {"manual-gate.io/enabled": "true"}
        self.assertDenied(self.validate("Canary", new, None, operation="CREATE"),
                          "neither spec.analysis nor spec.canaryAnalysis")

    def test_complete_gated_canary_is_allowed(self):
        self.assertAllowed(self.validate("Canary", fixture("canary.json"), None, operation="CREATE"))

    def test_canary_gated_with_mirror_is_denied(self):
        new = fixture("canary.json")
        new["spec"]["analysis"]["mirror"] = True
        self.assertDenied(self.validate("Canary", new, None, operation="CREATE"), "spec.analysis.mirror is true",
                          "taken with no human")

    def test_canary_delete_in_flight_is_denied(self):
        resp = self.validate("Canary", None, fixture("canary.json"), operation="DELETE")
        self.assertDenied(resp, "deleting it makes Flagger forget the release")
        self.assertNotIn("patch", resp)

    def test_canary_delete_by_override_group_is_allowed_and_audited(self):
        resp = self.validate("Canary", None, fixture("canary.json"), operation="DELETE",
                             groups=("system:authenticated", "sre-oncall"))
        self.assertAllowed(resp)
        self.assertEqual(resp["auditAnnotations"]["override-user"], "alice")
        self.assertIn("drops its gated release", resp["warnings"][0])

    def test_canary_delete_after_release_is_allowed(self):
        old = fixture("canary.json")
        old["status"]["phase"] = "Succeeded"
        self.assertAllowed(self.validate("Canary", None, old, operation="DELETE"))

    def test_canary_target_ref_change_in_flight_is_denied(self):
        old = fixture("canary.json")
        new = copy.deepcopy(old)
        new["spec"]["targetRef"]["name"] = "podinfo-v2"
        self.assertDenied(self.validate("Canary", new, old), "changing spec.targetRef")

    def test_canary_new_step_plan_in_flight_warns_where_the_next_gate_goes(self):
        old = fixture("canary.json")
        new = copy.deepcopy(old)
        new["spec"]["analysis"]["maxWeight"] = 10
        resp = self.validate("Canary", new, old)
        self.assertAllowed(resp)
        self.assertIn("the next opened gate takes podinfo from 10% to promotion (was 20%)", resp["warnings"][0])

    # ConfigMaps and Secrets

    def test_tracked_configmap_change_is_denied(self):
        cm = fixture("configmap.json")
        new = copy.deepcopy(cm)
        new["data"]["level"] = "debug"
        self.assertDenied(self.validate("ConfigMap", new, cm),
                          "ConfigMap test/podinfo-config is tracked by Canary test/podinfo")

    def test_configmap_binary_data_change_is_allowed(self):
        cm = fixture("configmap.json")
        new = copy.deepcopy(cm)
        new["binaryData"] = {"logo.png": "iVBORw0KGgo="}
        self.assertAllowed(self.validate("ConfigMap", new, cm))

    def test_configmap_tracking_disabled_in_flight_is_denied(self):
        cm = fixture("configmap.json")
        new = annotated(cm, "flagger.app/config-tracking", "disabled")
        self.assertDenied(self.validate("ConfigMap", new, cm), "disabling its tracking")

    def test_configmap_tracking_enabled_in_a_namespace_with_a_release_in_flight_is_denied(self):
        old = annotated(renamed(fixture("configmap.json"), name="untracked"), "flagger.app/config-tracking",
                        "disabled")
        new = copy.deepcopy(old)
        del new["metadata"]["annotations"]["flagger.app/config-tracking"]
        self.assertDenied(self.validate("ConfigMap", new, old), "in namespace test: test/node-agent",
                          "test/podinfo (Progressing, 10%)")

    def test_untracked_configmap_change_is_allowed(self):
        cm = renamed(fixture("configmap.json"), name="unrelated")
        new = copy.deepcopy(cm)
        new["data"]["level"] = "debug"
        self.assertAllowed(self.validate("ConfigMap", new, cm))

    def test_configmap_of_idle_canary_is_allowed(self):
        cm = renamed(fixture("configmap.json"), name="idle-config")
        new = copy.deepcopy(cm)
        new["data"]["level"] = "debug"
        self.assertAllowed(self.validate("ConfigMap", new, cm))

    def test_configmap_metadata_only_change_is_allowed(self):
        cm = fixture("configmap.json")
        new = annotated(cm, "owner", "web-team")
        self.assertAllowed(self.validate("ConfigMap", new, cm))

    def test_tracked_configmap_delete_is_denied(self):
        cm = fixture("configmap.json")
        self.assertDenied(self.validate("ConfigMap", None, cm, operation="DELETE"), "deleting it")

    def test_tracked_configmap_override_is_allowed_with_warning(self):
        cm = fixture("configmap.json")
        new = annotated(cm, "manual-gate.io/override", "urgent log level change")
        new["data"]["level"] = "debug"
        resp = self.validate("ConfigMap", new, cm)
        self.assertAllowed(resp)
        self.assertTrue(resp.get("warnings"), resp)
        self.assertEqual(resp["auditAnnotations"]["override-reason"], "urgent log level change")

    def test_tracked_configmap_strings_differing_after_a_nul_are_a_change(self):
        cm = fixture("configmap.json")
        old = copy.deepcopy(cm)
        new = copy.deepcopy(cm)
        old["data"]["level"] = "info\u0000a"
        new["data"]["level"] = "info\u0000b"
        self.assertDenied(self.validate("ConfigMap", new, old), "a change to its data")

    def test_tracked_configmap_override_kept_from_stored_object_is_denied(self):
        cm = annotated(fixture("configmap.json"), "manual-gate.io/override", "urgent log level change")
        new = copy.deepcopy(cm)
        new["data"]["level"] = "debug"
        self.assertDenied(self.validate("ConfigMap", new, cm), "a new reason in the same request")

    def test_tracked_secret_change_is_denied_and_never_logged(self):
        sec = fixture("secret.json")
        self.assertEqual(base64.b64decode(sec["data"]["token"]).decode(), SECRET_OLD)
        new = copy.deepcopy(sec)
        new["data"]["token"] = b64(SECRET_NEW)
        new["stringData"] = {"password": SECRET_NEW}
        req = admission_request("Secret", new, sec, namespace="test")
        status, body, _ = self.server.request("POST", "/validate", {"apiVersion": "admission.k8s.io/v1",
                                                                    "kind": "AdmissionReview", "request": req})
        self.assertEqual(status, 200)
        resp = json.loads(body)["response"]
        self.assertDenied(resp, "Secret test/podinfo-secret is tracked by Canary test/podinfo")
        deadline = time.time() + 5
        while req["uid"] not in self.server.logs() and time.time() < deadline:
            time.sleep(0.05)
        logs = self.server.logs()
        self.assertIn(req["uid"], logs, "the decision is logged")
        for value in (SECRET_OLD, SECRET_NEW, b64(SECRET_OLD), b64(SECRET_NEW)):
            self.assertNotIn(value, logs)
            self.assertNotIn(value, body.decode())


# An API server that refuses connections: the cache never syncs, whatever the environment says.
UNREACHABLE_API = ("--kube-api", "http://127.0.0.1:%d" % harness.free_port())


class FlaggerDeploymentTest(ServerTest):
    """--flagger-deployment: upgrading Flagger while gated releases are in flight is denied."""
    SERVER_ARGS = ("--canaries", CANARIES, "--flagger-deployment", "flagger-system/flagger")
    WAIT_READY = True

    def flagger(self, image):
        return {"apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": "flagger", "namespace": "flagger-system"},
                "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "flagger"}},
                         "template": {"metadata": {"labels": {"app": "flagger"}},
                                      "spec": {"containers": [{"name": "flagger", "image": image}]}}}}

    def test_flagger_upgrade_in_flight_is_denied_naming_the_releases(self):
        resp = self.server.review("/validate", admission_request(
            "Deployment", self.flagger("ghcr.io/fluxcd/flagger:1.38.0"), self.flagger("ghcr.io/fluxcd/flagger:1.37.0"),
            namespace="flagger-system"))
        self.assertFalse(resp["allowed"], resp)
        self.assertIn("test/node-agent (Progressing, 20%), test/podinfo (Progressing, 10%)", resp["status"]["message"])
        self.assertIn("Flagger upgrade can restart every gated release in flight", resp["status"]["message"])

    def test_bad_flag_value_is_refused_at_start(self):
        r = subprocess.run([harness.BIN, "serve", "--flagger-deployment", "flagger", "--tls-cert", "x",
                            "--tls-key", "y"], capture_output=True, text=True, timeout=10)
        self.assertEqual(r.returncode, 2)
        self.assertIn("--flagger-deployment wants NAMESPACE/NAME", r.stderr)


class NeverSyncedTest(ServerTest):
    """The Canary cache cannot reach the API server: the gating state is unknown."""
    SERVER_ARGS = UNREACHABLE_API

    def test_template_change_is_denied_as_unknown(self):
        dep = fixture("deployment.json")
        resp = self.server.review("/validate", admission_request(
            "Deployment", with_image(dep, "x:2"), dep, namespace="test"))
        self.assertFalse(resp["allowed"], resp)
        self.assertIn("gating state of Deployment test/podinfo is unknown", resp["status"]["message"])

    def test_replica_change_is_allowed(self):
        dep = fixture("deployment.json")
        new = copy.deepcopy(dep)
        new["spec"]["replicas"] = 3
        resp = self.server.review("/validate", admission_request("Deployment", new, dep, namespace="test"))
        self.assertTrue(resp["allowed"], resp)


class FailOpenTest(ServerTest):
    SERVER_ARGS = UNREACHABLE_API + ("--fail-open",)

    def test_template_change_is_allowed_with_warning(self):
        dep = fixture("deployment.json")
        resp = self.server.review("/validate", admission_request(
            "Deployment", with_image(dep, "x:2"), dep, namespace="test"))
        self.assertTrue(resp["allowed"], resp)
        self.assertTrue(any("--fail-open" in w for w in resp.get("warnings", [])), resp)


if __name__ == "__main__":
    unittest.main()
