"""docs/phase-table.md, checked cell by cell against the real server: for every row a gated Canary in that
phase and weight is served from a --canaries file, and each change the columns name is posted to /validate.
The table is the documentation of the rule, so it cannot drift from the code."""
import copy
import json
import os
import re
import tempfile
import unittest

import harness
from harness import Server, admission_request

TABLE = os.path.join(harness.ROOT, "docs", "phase-table.md")
CANARY = os.path.join(harness.FIXTURES, "validate", "canary.json")


def table_rows():
    """The rows of the table: dicts keyed by the header cells."""
    with open(TABLE) as f:
        lines = [l.strip() for l in f if l.strip().startswith("|")]
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    rows = []
    for line in lines[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        rows.append(dict(zip(header, cells)))
    return rows


def row_canary(i, row):
    with open(CANARY) as f:
        c = json.load(f)
    name = "r%d" % i
    c["metadata"]["name"] = name
    c["spec"]["targetRef"]["name"] = name
    phase = "" if row["phase"] == "(none)" else row["phase"]
    c["status"] = {"phase": phase, "canaryWeight": int(row["canary weight"]),
                   "trackedConfigs": {"configmap/%s-config" % name: "4d1f6a3c2b"}}
    if not phase:
        del c["status"]["phase"]
    return c


def deployment(name, image):
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": "test"},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": name, "image": image}]}}}}


class PhaseTableTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.rows = table_rows()
        cls.canaries = [row_canary(i, r) for i, r in enumerate(cls.rows)]
        fd, cls.path = tempfile.mkstemp(prefix="mg-phase-", suffix=".json")
        with os.fdopen(fd, "w") as f:
            json.dump({"apiVersion": "v1", "kind": "List", "items": cls.canaries}, f)
        cls.server = Server("--canaries", cls.path)
        harness.wait_ready(cls.server)

    @classmethod
    def tearDownClass(cls):
        rc = cls.server.stop()
        logs = cls.server.logs()
        os.unlink(cls.server.log.name)
        os.unlink(cls.path)
        if rc != 0:
            raise AssertionError("manual-gate exited %s:\n%s" % (rc, logs[-4000:]))

    def review(self, kind, obj, old, operation="UPDATE"):
        return self.server.review("/validate", admission_request(kind, obj, old, operation=operation,
                                                                 namespace="test"))

    def assertCell(self, want, resp, what):
        if want == "deny":
            self.assertFalse(resp["allowed"], "%s: %s" % (what, resp))
            self.assertEqual(resp["status"]["code"], 403, what)
        elif want == "allow":
            self.assertTrue(resp["allowed"], "%s: %s" % (what, resp))
            self.assertFalse(resp.get("warnings"), "%s: %s" % (what, resp))
        elif want == "allow, warning":
            self.assertTrue(resp["allowed"], "%s: %s" % (what, resp))
            self.assertTrue(resp.get("warnings"), "%s: %s" % (what, resp))
        else:
            self.fail("unknown cell %r (%s)" % (want, what))

    def test_the_table_has_every_phase_flagger_writes(self):
        phases = {r["phase"] for r in self.rows}
        for p in ("Progressing", "WaitingPromotion", "Promoting", "Finalising", "Waiting", "Failed", "Succeeded",
                  "Initializing", "Initialized", "Terminating", "Terminated", "(none)"):
            self.assertIn(p, phases)

    def test_new_revision_column(self):
        for i, row in enumerate(self.rows):
            name = "r%d" % i
            with self.subTest(phase=row["phase"], weight=row["canary weight"]):
                old = deployment(name, "podinfo:6.5.0")
                resp = self.review("Deployment", deployment(name, "podinfo:6.5.1"), old)
                self.assertCell(row["new revision"], resp, "pod template")
                cm = {"apiVersion": "v1", "kind": "ConfigMap",
                      "metadata": {"name": name + "-config", "namespace": "test"}, "data": {"level": "info"}}
                new = copy.deepcopy(cm)
                new["data"]["level"] = "debug"
                self.assertCell(row["new revision"], self.review("ConfigMap", new, cm), "tracked ConfigMap data")
                self.assertCell(row["new revision"], self.review("ConfigMap", None, cm, operation="DELETE"),
                                "tracked ConfigMap deleted")

    def test_canary_deleted_column(self):
        for i, row in enumerate(self.rows):
            with self.subTest(phase=row["phase"], weight=row["canary weight"]):
                resp = self.review("Canary", None, self.canaries[i], operation="DELETE")
                self.assertCell(row["Canary deleted"], resp, "Canary deleted")

    def test_target_ref_and_gating_off_column(self):
        for i, row in enumerate(self.rows):
            with self.subTest(phase=row["phase"], weight=row["canary weight"]):
                old = self.canaries[i]
                retarget = copy.deepcopy(old)
                retarget["spec"]["targetRef"]["name"] = "other"
                want = row["targetRef changed, gating off"]
                self.assertCell(want, self.review("Canary", retarget, old), "targetRef changed")
                off = copy.deepcopy(old)
                off["metadata"].setdefault("labels", {})["manual-gate.io/enabled"] = "false"
                self.assertCell(want, self.review("Canary", off, old), "label false")


if __name__ == "__main__":
    unittest.main()
