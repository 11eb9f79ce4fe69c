"""The Flagger loadtester's gate semantics as a contract (pkg/loadtester/server.go, gate.go,
authorizer.go), which the stand-in loadtester of the operator tests must pass, so that it cannot drift
from what it stands in for. Set MG_LOADTESTER_URL (e.g. a `kubectl port-forward` to a real
flagger-loadtester, started with -namespace-regexp unset) to run the same contract against the real one;
without it that class is skipped."""
import http.client
import json
import os
import unittest
import urllib.parse
import uuid

from standin_loadtester import StandinLoadtester


class LoadtesterContract:
    """Mixed into a TestCase whose base_url() names a loadtester."""

    def post(self, path, body):
        u = urllib.parse.urlsplit(self.base_url())
        conn = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=10)
        data = body if isinstance(body, (bytes, str)) else json.dumps(body)
        conn.request("POST", path, data, {"Content-Type": "application/json"})
        r = conn.getresponse()
        text = r.read()
        conn.close()
        return r.status, text, r.getheader("Content-Type") or ""

    def canary(self):
        """A name no earlier run has used: the real loadtester keeps its gates for its whole life."""
        return {"name": "contract-" + uuid.uuid4().hex[:8], "namespace": "test"}

    def test_an_unknown_gate_reads_closed_with_the_text_forbidden(self):
        for path in ("/gate/check", "/rollback/check"):
            code, text, ctype = self.post(path, self.canary())
            self.assertEqual((code, text), (403, b"Forbidden"), path)
            # The API server's proxy passes this through; kubectl then reports the bare word.
            self.assertTrue(ctype.startswith("text/plain"), ctype)

    def test_open_then_check_then_close(self):
        c = self.canary()
        self.assertEqual(self.post("/gate/open", c)[:2], (202, b""))
        self.assertEqual(self.post("/gate/check", c)[:2], (200, b"Approved"))
        self.assertEqual(self.post("/gate/check", c)[:2], (200, b"Approved"))  # reading does not close it
        self.assertEqual(self.post("/gate/close", c)[:2], (202, b""))
        self.assertEqual(self.post("/gate/check", c)[:2], (403, b"Forbidden"))

    def test_the_rollback_gate_is_a_separate_key(self):
        c = self.canary()
        self.assertEqual(self.post("/rollback/open", c)[0], 202)
        self.assertEqual(self.post("/rollback/check", c)[0], 200)
        self.assertEqual(self.post("/gate/check", c)[0], 403)
        self.assertEqual(self.post("/rollback/close", c)[0], 202)
        self.assertEqual(self.post("/rollback/check", c)[0], 403)

    def test_gates_are_keyed_by_name_and_namespace(self):
        c = self.canary()
        self.post("/gate/open", c)
        self.assertEqual(self.post("/gate/check", dict(c, namespace="other"))[0], 403)
        self.assertEqual(self.post("/gate/check", dict(c, name=c["name"] + "x"))[0], 403)
        self.post("/gate/close", c)

    def test_approve_and_halt_answer_the_same_whatever_the_body(self):
        self.assertEqual(self.post("/gate/approve", b"")[0], 200)
        self.assertEqual(self.post("/gate/halt", b"")[0], 403)

    def test_a_body_that_is_not_json_is_400(self):
        for path in ("/gate/check", "/gate/open", "/rollback/close"):
            self.assertEqual(self.post(path, b"{not json")[0], 400, path)

    def test_other_paths_are_the_task_api(self):
        code, text, _ = self.post("/gate/open/", self.canary())
        self.assertEqual((code, text), (400, b"metadata not found in payload"))


class StandinLoadtesterContractTest(LoadtesterContract, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.lt = StandinLoadtester()

    @classmethod
    def tearDownClass(cls):
        cls.lt.stop()

    def base_url(self):
        return self.lt.url

    def test_the_namespace_regexp_refuses_other_namespaces_with_403(self):
        lt = StandinLoadtester(namespace_regexp="^team-")
        try:
            self.lt, saved = lt, self.lt
            self.assertEqual(self.post("/gate/open", {"name": "a", "namespace": "test"})[:2], (403, b"Forbidden"))
            self.assertEqual(self.post("/gate/open", {"name": "a", "namespace": "team-x"})[0], 202)
        finally:
            self.lt = saved
            lt.stop()


if os.environ.get("MG_LOADTESTER_URL"):
    class RealLoadtesterContractTest(LoadtesterContract, unittest.TestCase):
        def base_url(self):
            return os.environ["MG_LOADTESTER_URL"]
else:
    class RealLoadtesterContractTest(unittest.TestCase):
        @unittest.skip("MG_LOADTESTER_URL names no real Flagger loadtester to run the contract against")
        def test_contract(self):
            pass


if __name__ == "__main__":
    unittest.main()
