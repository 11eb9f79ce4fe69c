"""The README's local walk-through: `make run` serves with tests/fixtures/canaries/cluster.yaml, and the
two curl examples show a real denial and a real mutation."""
import json
import os
import subprocess
import unittest

from harness import FIXTURES, ROOT, ServerTest, decode_patch


class ReadmeExamplesTest(ServerTest):
    SERVER_ARGS = ("--canaries", os.path.join(FIXTURES, "canaries", "cluster.yaml"),
                   "--loadtester-url", "http://flagger-loadtester.test")

    def curl(self, path, fixture):
        r = subprocess.run(["curl", "-sS", "--cacert", os.path.join(self.server.cert_dir, "ca.crt"),
                            "-H", "Content-Type: application/json", "--data",
                            "@" + os.path.join(FIXTURES, "reviews", fixture),
                            "https://localhost:%d%s" % (self.server.port, path)], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        return json.loads(r.stdout)["response"]

    def test_readme_names_the_commands_this_test_runs(self):
        with open(os.path.join(ROOT, "README.md")) as f:
            readme = f.read()
        for text in ("make deps && make run", "make test", "tests/fixtures/reviews/deployment-image-change.json",
                     "tests/fixtures/reviews/canary-enabled.json", "--cacert certs/ca.crt"):
            self.assertIn(text, readme)
        with open(os.path.join(ROOT, "Makefile")) as f:
            self.assertIn("tests/fixtures/canaries/cluster.yaml", f.read())

    def test_image_change_of_the_gated_release_in_flight_is_denied(self):
        resp = self.curl("/validate", "deployment-image-change.json")
        self.assertIs(resp["allowed"], False)
        self.assertEqual(resp["status"]["code"], 403)
        msg = resp["status"]["message"]
        for text in ("podinfo", "Progressing", "10", "0%", "manual-gate gate open podinfo -n test",
                     "manual-gate rollback open podinfo -n test", "manual-gate.io/override"):
            self.assertIn(text, msg)

    def test_enabled_canary_is_completed_with_warnings(self):
        resp = self.curl("/mutate", "canary-enabled.json")
        self.assertIs(resp["allowed"], True)
        ops = decode_patch(resp)
        self.assertTrue(ops)
        self.assertTrue(resp.get("warnings"))
        self.assertTrue(all(w.startswith("manual-gate: ") and len(w) < 120 for w in resp["warnings"]))


if __name__ == "__main__":
    unittest.main()


class InstallDocTest(unittest.TestCase):
    """docs/install.md shows what `kubectl apply --dry-run=server` prints for its sample Canary: the
    warnings there must be the ones manual-gate gives for that Canary."""

    def test_verify_section_shows_the_real_warnings(self):
        import re
        import harness
        with open(os.path.join(ROOT, "docs", "install.md")) as f:
            doc = f.read()
        verify = doc[doc.index("## Verify"):doc.index("## Uninstall")]
        canary = re.search(r"<<'EOF'\n(.*?)\nEOF\n", verify, re.S).group(1)
        shown = [l[len("Warning: "):] for l in verify.splitlines() if l.startswith("Warning: ")]
        r = subprocess.run([harness.BIN, "mutate", "-"], input=canary, capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        # `mutate` prefixes each warning with the file, document, line and Canary it is about; kubectl does not.
        real = [l.split(": Canary test/podinfo: ", 1)[1] for l in r.stderr.splitlines() if l.startswith("Warning: ")]
        self.assertEqual(shown, real)
