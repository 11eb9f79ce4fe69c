"""`manual-gate mutate FILE`: the mutating policy on files. Flagger's examples with the label added come
out complete and schema-valid, other documents pass through unchanged, the output is stable (mutating
it again prints the same bytes and no warnings), a denial prints the reason and nothing on stdout."""
import copy
import json
import os
import subprocess
import tempfile
import unittest

import jsonschema
import yaml

import harness
from test_mutate import LABEL, LOADTESTER, canary_schema, example_canaries, hook_path, load_case

MANIFESTS = os.path.join(harness.FIXTURES, "mutate", "manifests.yaml")


def run(*args, stdin=None):
    r = subprocess.run([harness.BIN, "mutate"] + list(args), input=stdin, capture_output=True, text=True,
                       timeout=60, env=dict(os.environ, ASAN_OPTIONS="detect_leaks=1"))
    return r.returncode, r.stdout, r.stderr


def run_quiet(path, *flags):
    """`mutate path flags` with its output discarded: its exit code and stderr."""
    r = subprocess.run([harness.BIN, "mutate", path] + list(flags), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                       timeout=120)
    return r.returncode, r.stderr.decode(errors="replace")


def write_temp(text, suffix=".yaml"):
    with tempfile.NamedTemporaryFile("w", suffix=suffix, delete=False) as f:
        f.write(text)
    return f.name


class OfflineMutateTest(unittest.TestCase):
    def mutate_text(self, text, *flags, suffix=".yaml"):
        path = write_temp(text, suffix)
        try:
            return run(path, *flags)
        finally:
            os.unlink(path)

    def assertStable(self, out):
        """Mutating the output again changes nothing and says nothing."""
        rc, again, err = self.mutate_text(out, "--loadtester-url", LOADTESTER)
        self.assertEqual(rc, 0, err)
        self.assertEqual(again, out)
        self.assertEqual(err, "")

    def test_flagger_examples_with_the_label_come_out_complete_and_stable(self):
        for fname, example in example_canaries():
            with self.subTest(example=fname):
                canary = copy.deepcopy(example)
                canary["metadata"].setdefault("labels", {})[LABEL] = "true"
                rc, out, err = self.mutate_text(yaml.safe_dump(canary, sort_keys=False),
                                                "--loadtester-url", LOADTESTER)
                self.assertEqual(rc, 0, err)
                docs = [d for d in yaml.safe_load_all(out) if d]
                self.assertEqual(len(docs), 1)
                result = docs[0]
                jsonschema.validate(result, canary_schema())
                hooks = result["spec"]["analysis"]["webhooks"]
                self.assertEqual([hook_path(h) for h in hooks if h.get("type") == "confirm-traffic-increase"],
                                 ["/gate/check", "/gate/close"])
                self.assertEqual([hook_path(h) for h in hooks if h.get("type") == "rollback"], ["/rollback/check"])
                self.assertGreater(result["spec"]["analysis"]["threshold"], example["spec"]["analysis"]["threshold"])
                # The rest of the Canary is as written.
                for key in ("targetRef", "service", "provider"):
                    self.assertEqual(result["spec"].get(key), example["spec"].get(key))
                lines = err.splitlines()
                self.assertTrue(lines)
                for line in lines:
                    self.assertTrue(line.startswith("Warning: Canary test/podinfo: manual-gate: "), line)
                self.assertStable(out)

    def test_examples_without_the_label_pass_through_unchanged(self):
        for fname, example in example_canaries():
            with self.subTest(example=fname):
                rc, out, err = run(os.path.join(harness.FLAGGER, "examples", fname))
                self.assertEqual(rc, 0, err)
                self.assertEqual(err, "")
                self.assertEqual([d for d in yaml.safe_load_all(out) if d], [example])

    def test_several_documents_keep_their_order_and_other_kinds_pass_through(self):
        with open(MANIFESTS) as f:
            src = [d for d in yaml.safe_load_all(f) if d]
        rc, out, err = run(MANIFESTS, "--loadtester-url", LOADTESTER)
        self.assertEqual(rc, 0, err)
        docs = [d for d in yaml.safe_load_all(out) if d]
        self.assertEqual([d["kind"] for d in docs], ["Canary", "ConfigMap", "List"])
        self.assertEqual(docs[1], src[1])                      # ConfigMap with type-lookalike strings
        self.assertEqual(docs[2]["items"][1], src[2]["items"][1])  # Deployment inside the List
        # Both Canaries are completed: the top-level one and the one inside the List.
        first = docs[0]["spec"]["analysis"]
        self.assertEqual([h["name"] for h in first["webhooks"]],
                         ["manual-gate-check", "gate-close", "acceptance-test", "manual-gate-rollback",
                          "manual-gate-reset-rollback", "manual-gate-reset-gate"])
        self.assertEqual(first["threshold"], 28800)  # 10d of 30s
        self.assertIs(docs[0]["spec"]["skipAnalysis"], False)
        listed = docs[2]["items"][0]["spec"]["analysis"]["webhooks"]
        self.assertEqual([h["url"] for h in listed], ["http://lt.web:8080/gate/check", "http://lt.web:8080/gate/close",
                                                      "http://lt.web:8080/rollback/check",
                                                      "http://lt.web:8080/rollback/close", "http://lt.web:8080/gate/close"])
        self.assertIn("Warning: Canary web/frontend: manual-gate: added webhook manual-gate-close", err)
        self.assertStable(out)

    def test_json_on_stdin_prints_yaml(self):
        canary = load_case("no_webhooks_key")["canary"]
        rc, out, err = run("-", "--loadtester-url", LOADTESTER, stdin=json.dumps(canary))
        self.assertEqual(rc, 0, err)
        self.assertFalse(out.lstrip().startswith("{"), out)
        result = yaml.safe_load(out)
        self.assertEqual([h["name"] for h in result["spec"]["analysis"]["webhooks"]],
                         ["manual-gate-check", "manual-gate-close", "manual-gate-rollback",
                          "manual-gate-reset-rollback", "manual-gate-reset-gate"])
        jsonschema.validate(result, canary_schema())
        self.assertStable(out)

    def test_a_denial_prints_the_reason_and_exits_1(self):
        denied = load_case("two_checks")["canary"]
        fine = load_case("no_webhooks_key")["canary"]
        text = yaml.safe_dump_all([fine, denied], sort_keys=False)
        rc, out, err = self.mutate_text(text, "--loadtester-url", LOADTESTER)
        self.assertEqual(rc, 1)
        self.assertEqual(out, "")
        self.assertIn("Denied: Canary test/podinfo: manual-gate: the Canary has 2 /gate/check webhooks", err)

    def test_missing_loadtester_is_a_denial_naming_the_flag(self):
        rc, out, err = self.mutate_text(json.dumps(load_case("empty_list")["canary"]), suffix=".json")
        self.assertEqual(rc, 1)
        self.assertEqual(out, "")
        self.assertIn("--loadtester-url", err)

    def test_unreadable_input_exits_2(self):
        rc, out, err = run("/nonexistent/canary.yaml")
        self.assertEqual(rc, 2)
        self.assertEqual(out, "")
        self.assertIn("cannot open /nonexistent/canary.yaml", err)
        rc, out, err = self.mutate_text("kind: Canary\nspec: [unclosed\n")
        self.assertEqual(rc, 2)
        self.assertEqual(out, "")
        self.assertIn("yaml: line", err)
        rc, out, err = self.mutate_text("a: &x 1\nb: *y\n")
        self.assertEqual(rc, 2)
        self.assertIn("alias *y", err)

    def test_aliases_of_one_large_scalar_are_bounded_in_bytes(self):
        """300 aliases of one 1 MiB anchored scalar in a 1 MiB file: refused within the 64 MiB alias
        budget, instead of building 300 MiB of copies (make bench reports the peak RSS)."""
        text = "a: &a " + "x" * (1 << 20) + "\nb: [" + ", ".join(["*a"] * 300) + "]\n"
        path = write_temp(text)
        try:
            rc, err = run_quiet(path)
        finally:
            os.unlink(path)
        self.assertEqual(rc, 2, err)
        self.assertIn("yaml: line 2: aliases expand to more than 64 MiB", err)

    def test_a_canary_with_a_hundred_thousand_labels_is_completed(self):
        """Duplicate keys are found by hash, not by a scan of the mapping per key (make bench times it)."""
        canary = copy.deepcopy(load_case("no_webhooks_key")["canary"])
        canary["metadata"]["labels"].update({"key-%d" % i: "v" for i in range(100000)})
        path = write_temp(yaml.safe_dump(canary, sort_keys=False))
        try:
            rc, err = run_quiet(path, "--loadtester-url", LOADTESTER)
        finally:
            os.unlink(path)
        self.assertEqual(rc, 0, err)
        self.assertIn("added webhook manual-gate-check", err)

    def test_empty_input_prints_nothing(self):
        rc, out, err = run("-", stdin="# nothing here\n---\n")
        self.assertEqual((rc, out, err), (0, "", ""))


if __name__ == "__main__":
    unittest.main()
