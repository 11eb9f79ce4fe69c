"""POST /mutate against the real binary. Every case in tests/fixtures/mutate/cases (the unit tests run
the same ones) is posted as an admission review; each returned patch is applied with
`kubectl patch --local --type=json` (the API server's patch library), the result is checked against the
case, validated against Flagger's v1beta1 Canary schema, and reviewed again: no patch, no warnings.
Flagger's example Canaries with the label added come out complete and schema-valid."""
import copy
import glob
import json
import math
import os
import unittest
import urllib.parse

import jsonschema
import yaml

import harness
from harness import ServerTest, admission_request, decode_patch, kubectl_patch

LOADTESTER = "http://flagger-loadtester.test"
CASES = os.path.join(harness.FIXTURES, "mutate", "cases")
CRD = os.path.join(harness.FLAGGER, "crd.yaml")
EXAMPLES = os.path.join(harness.FLAGGER, "examples")
LABEL = "manual-gate.io/enabled"
OWNED = ("manual-gate-check", "manual-gate-close", "manual-gate-rollback", "manual-gate-reset-rollback",
         "manual-gate-reset-gate")
ORIGINAL_THRESHOLD = "manual-gate.io/original-threshold"

_schema = None


def strip_kubernetes_keys(node):
    """x-kubernetes-* keys are API-server extensions jsonschema does not know: drop them."""
    if isinstance(node, dict):
        return {k: strip_kubernetes_keys(v) for k, v in node.items() if not k.startswith("x-kubernetes-")}
    if isinstance(node, list):
        return [strip_kubernetes_keys(v) for v in node]
    return node


def canary_schema():
    """The openAPIV3Schema of the v1beta1 version of Flagger's Canary CRD."""
    global _schema
    if _schema is None:
        with open(CRD) as f:
            for doc in yaml.safe_load_all(f):
                if doc and doc.get("kind") == "CustomResourceDefinition" and doc["spec"]["names"]["kind"] == "Canary":
                    for v in doc["spec"]["versions"]:
                        if v["name"] == "v1beta1":
                            _schema = strip_kubernetes_keys(v["schema"]["openAPIV3Schema"])
        assert _schema, "no v1beta1 Canary schema in %s" % CRD
    return _schema


def load_case(name):
    with open(os.path.join(CASES, name + ".json")) as f:
        return json.load(f)


def all_cases():
    return sorted(os.path.splitext(os.path.basename(p))[0] for p in glob.glob(os.path.join(CASES, "*.json")))


def analysis_of(canary):
    spec = canary.get("spec", {})
    return spec["analysis"] if isinstance(spec.get("analysis"), dict) else spec.get("canaryAnalysis")


def hook_path(hook):
    """The path the loadtester's router matches: exact (a trailing slash is another route), decoded."""
    url = hook.get("url", "")
    rest = url.split("://", 1)[1] if "://" in url else url
    path = "/" + rest.split("/", 1)[1] if "/" in rest else ""
    return urllib.parse.unquote(path.split("?")[0].split("#")[0])


def example_canaries():
    out = []
    for path in sorted(glob.glob(os.path.join(EXAMPLES, "*.yaml"))):
        with open(path) as f:
            for doc in yaml.safe_load_all(f):
                if doc and doc.get("kind") == "Canary":
                    out.append((os.path.basename(path), doc))
    assert out, "no Canary in %s" % EXAMPLES
    return out


def go_interval_seconds(s):
    """The examples use whole s/m/h intervals; Flagger's default is 60s and its floor 10s."""
    units = {"s": 1, "m": 60, "h": 3600}
    if not s or s[-1] not in units or not s[:-1].isdigit():
        return 60
    return max(10, int(s[:-1]) * units[s[-1]])


class MutateCase:
    """Checks shared by the server variants (with and without --loadtester-url)."""

    def mutate(self, obj, operation="CREATE", old=None, dry_run=False):
        ns = (obj or old).get("metadata", {}).get("namespace", "default")
        return self.server.review("/mutate", admission_request("Canary", obj, old, operation=operation,
                                                               namespace=ns, dry_run=dry_run))

    def assertQuiet(self, obj):
        """A second review of a completed Canary, as a CREATE and as an UPDATE of the stored object:
        allowed, no patch, no warnings."""
        for resp in (self.mutate(obj), self.mutate(obj, operation="UPDATE", old=obj)):
            self.assertTrue(resp["allowed"], resp)
            self.assertEqual(decode_patch(resp), [])
            self.assertFalse(resp.get("warnings"), resp)

    def run_case(self, name):
        case = load_case(name)
        canary, expect = case["canary"], case["expect"]
        resp = self.mutate(canary)
        warnings = resp.get("warnings") or []
        if "denied" in expect:
            self.assertFalse(resp["allowed"], resp)
            self.assertEqual(resp["status"]["code"], 403, resp)
            for fragment in expect["denied"]:
                self.assertIn(fragment, resp["status"]["message"])
            for fragment in expect.get("denied_without", []):
                self.assertNotIn(fragment, resp["status"]["message"])
            self.assertNotIn("patch", resp)
            return
        self.assertTrue(resp["allowed"], resp)
        self.assertEqual(len(warnings), len(expect["warnings"] if "warnings" in expect else []), warnings)
        for got, want in zip(warnings, expect.get("warnings", [])):
            self.assertIn(want, got)
            self.assertLess(len(got), 120)
            self.assertTrue(got.isascii() and got.isprintable(), got)
        ops = decode_patch(resp)
        self.assertEqual(bool(ops), expect["patched"], ops)
        if not ops:
            return
        result = kubectl_patch(canary, ops)
        analysis = result["spec"][expect.get("key", "analysis")]
        self.assertEqual([[h["name"], h["url"]] for h in analysis["webhooks"]], expect["hooks"])
        if "threshold" in expect:
            self.assertEqual(analysis["threshold"], expect["threshold"])
        for key, value in expect.get("annotations", {}).items():
            self.assertEqual(result["metadata"].get("annotations", {}).get(key), value, key)
        if "skipAnalysis" in expect:
            self.assertEqual(result["spec"]["skipAnalysis"], expect["skipAnalysis"])
        if case["schema"]:
            jsonschema.validate(canary, canary_schema())
            jsonschema.validate(result, canary_schema())
        self.assertQuiet(result)


class MutateTest(MutateCase, ServerTest):
    SERVER_ARGS = ("--loadtester-url", LOADTESTER)

    def test_every_fixture_case_applies_validates_and_settles(self):
        names = [n for n in all_cases() if load_case(n)["loadtester_url"] == LOADTESTER]
        self.assertGreater(len(names), 25)
        for name in names:
            with self.subTest(case=name):
                self.run_case(name)

    def test_create_update_and_dry_run_get_the_same_answer(self):
        canary = load_case("close_before_check")["canary"]
        ungated = copy.deepcopy(canary)
        ungated["spec"]["analysis"]["webhooks"] = []
        answers = [self.mutate(canary),
                   self.mutate(canary, operation="UPDATE", old=ungated),
                   self.mutate(canary, dry_run=True),
                   self.mutate(canary, operation="UPDATE", old=ungated, dry_run=True)]
        first = answers[0]
        self.assertTrue(decode_patch(first))
        for resp in answers[1:]:
            self.assertEqual(resp["allowed"], first["allowed"])
            self.assertEqual(decode_patch(resp), decode_patch(first))
            self.assertEqual(resp.get("warnings"), first.get("warnings"))

    def test_flagger_examples_with_the_label_come_out_complete(self):
        for fname, example in example_canaries():
            with self.subTest(example=fname):
                jsonschema.validate(example, canary_schema())
                canary = copy.deepcopy(example)
                canary["metadata"].setdefault("labels", {})[LABEL] = "true"
                resp = self.mutate(canary)
                self.assertTrue(resp["allowed"], resp)
                result = kubectl_patch(canary, decode_patch(resp))
                jsonschema.validate(result, canary_schema())
                hooks = result["spec"]["analysis"]["webhooks"]
                gate = [(h["name"], hook_path(h)) for h in hooks if h.get("type") == "confirm-traffic-increase"]
                self.assertEqual(gate, [("manual-gate-check", "/gate/check"), ("manual-gate-close", "/gate/close")])
                self.assertTrue(all(h["muteAlert"] is True for h in hooks if h.get("type") == "confirm-traffic-increase"))
                rollback = [h for h in hooks if h.get("type") == "rollback"]
                self.assertEqual([(h["url"], h.get("muteAlert")) for h in rollback],
                                 [(LOADTESTER + "/rollback/check", None)])
                # The example's own hooks are kept, whole and in order, ahead of the added ones.
                self.assertEqual(hooks[:len(example["spec"]["analysis"]["webhooks"])],
                                 example["spec"]["analysis"]["webhooks"])
                interval = go_interval_seconds(result["spec"]["analysis"].get("interval"))
                self.assertEqual(result["spec"]["analysis"]["threshold"], math.ceil(14 * 86400 / interval))
                self.assertIsNot(result["spec"].get("skipAnalysis"), True)
                self.assertQuiet(result)

    def test_flagger_examples_without_the_label_get_no_patch(self):
        for fname, example in example_canaries():
            with self.subTest(example=fname):
                resp = self.mutate(example)
                self.assertTrue(resp["allowed"], resp)
                self.assertEqual(decode_patch(resp), [])
                self.assertFalse(resp.get("warnings"))

    def test_label_false_takes_back_exactly_what_was_added(self):
        for fname, example in example_canaries():
            with self.subTest(example=fname):
                canary = copy.deepcopy(example)
                canary["metadata"].setdefault("labels", {})[LABEL] = "true"
                completed = kubectl_patch(canary, decode_patch(self.mutate(canary)))
                completed["metadata"]["labels"][LABEL] = "false"
                self.assertEqual(completed["metadata"]["annotations"][ORIGINAL_THRESHOLD],
                                 str(example["spec"]["analysis"]["threshold"]))
                resp = self.mutate(completed, operation="UPDATE", old=canary)
                self.assertTrue(resp["allowed"], resp)
                warnings = resp.get("warnings") or []
                self.assertEqual(len(warnings), len(OWNED) + 1, warnings)
                self.assertIn("restored analysis.threshold", warnings[-1])
                back = kubectl_patch(completed, decode_patch(resp))
                # Every change is taken back: hooks, and the user's own threshold from the annotation.
                self.assertEqual(back["spec"], example["spec"])
                self.assertNotIn(ORIGINAL_THRESHOLD, back["metadata"].get("annotations", {}))
                jsonschema.validate(back, canary_schema())
                self.assertQuiet(back)

    def test_a_threshold_written_as_a_string_is_remembered_as_written(self):
        """threshold: "5" (quoted in YAML; the CRD's schema wants a number) is what the user meant: it
        comes back as 5 when gating is disabled, not as nothing."""
        _, example = example_canaries()[0]
        canary = copy.deepcopy(example)
        canary["metadata"].setdefault("labels", {})[LABEL] = "true"
        canary["spec"]["analysis"]["threshold"] = "5"
        completed = kubectl_patch(canary, decode_patch(self.mutate(canary)))
        self.assertEqual(completed["metadata"]["annotations"][ORIGINAL_THRESHOLD], "5")
        disabled = copy.deepcopy(completed)
        disabled["metadata"]["labels"][LABEL] = "false"
        back = kubectl_patch(disabled, decode_patch(self.mutate(disabled, operation="UPDATE", old=completed)))
        self.assertEqual(back["spec"]["analysis"]["threshold"], 5)

    def test_flaggers_metadata_update_of_an_incomplete_canary_is_left_alone(self):
        """Flagger adds its finalizer to a stored Canary that is gated but incomplete (and blue/green,
        which a full judgement would deny): spec, labels and annotations are as stored, so /mutate
        returns no patch, only a warning, and /validate, which skips such updates, allows it."""
        stored = copy.deepcopy(load_case("empty_list")["canary"])
        stored["spec"]["analysis"]["iterations"] = 10
        updated = copy.deepcopy(stored)
        updated["metadata"]["finalizers"] = ["finalizer.flagger.app"]
        resp = self.mutate(updated, operation="UPDATE", old=stored)
        self.assertTrue(resp["allowed"], resp)
        self.assertEqual(decode_patch(resp), [])
        self.assertEqual(len(resp.get("warnings") or []), 1, resp)
        self.assertIn("made at its next spec, label or annotation change", resp["warnings"][0])
        resp = self.server.review("/validate", admission_request("Canary", updated, stored, namespace="test"))
        self.assertTrue(resp["allowed"], resp)
        # A change of spec is completed as usual.
        changed = copy.deepcopy(updated)
        del changed["spec"]["analysis"]["iterations"]
        resp = self.mutate(changed, operation="UPDATE", old=stored)
        self.assertTrue(resp["allowed"], resp)
        self.assertTrue(decode_patch(resp))

    def test_update_with_a_nul_escape_is_judged_in_full(self):
        """A \\u0000 cuts strings short where manual-gate reads them, so equal-looking inputs may differ:
        the UPDATE gets the patch a CREATE gets."""
        stored = copy.deepcopy(load_case("empty_list")["canary"])
        stored["metadata"]["annotations"] = {"note": "a\x00b"}
        updated = copy.deepcopy(stored)
        updated["metadata"]["annotations"]["note"] = "a\x00c"
        resp = self.mutate(updated, operation="UPDATE", old=stored)
        self.assertTrue(resp["allowed"], resp)
        self.assertEqual(decode_patch(resp), decode_patch(self.mutate(updated)))
        self.assertTrue(decode_patch(resp))

    def test_denials_and_logs_never_hold_url_credentials(self):
        case = load_case("check_url_with_credentials")
        resp = self.mutate(case["canary"])
        self.assertFalse(resp["allowed"], resp)
        logs = self.server.logs()
        for secret in ("hunter2", "token=abc"):
            self.assertNotIn(secret, resp["status"]["message"])
            self.assertNotIn(secret, logs)

    def test_delete_and_other_kinds_get_no_patch(self):
        canary = load_case("empty_list")["canary"]
        resp = self.server.review("/mutate", admission_request("Canary", None, canary, operation="DELETE",
                                                               namespace="test"))
        self.assertTrue(resp["allowed"], resp)
        self.assertNotIn("patch", resp)
        deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "podinfo",
                      "namespace": "test", "labels": {LABEL: "true"}}, "spec": {}}
        resp = self.server.review("/mutate", admission_request("Deployment", deployment, operation="CREATE",
                                                               namespace="test"))
        self.assertTrue(resp["allowed"], resp)
        self.assertNotIn("patch", resp)


class MutateWithoutLoadtesterFlagTest(MutateCase, ServerTest):
    """No --loadtester-url: the annotation or an existing gate hook must name the loadtester."""
    SERVER_ARGS = ()

    def test_cases_that_need_no_flag(self):
        names = [n for n in all_cases() if load_case(n)["loadtester_url"] is None]
        names += ["annotation_loadtester", "only_check", "only_close", "close_before_check"]
        for name in names:
            with self.subTest(case=name):
                self.run_case(name)

    def test_denial_names_the_annotation_and_the_flag(self):
        canary = copy.deepcopy(load_case("empty_list")["canary"])
        resp = self.mutate(canary)
        self.assertFalse(resp["allowed"], resp)
        self.assertIn("manual-gate.io/loadtester", resp["status"]["message"])
        self.assertIn("--loadtester-url", resp["status"]["message"])


if __name__ == "__main__":
    unittest.main()
