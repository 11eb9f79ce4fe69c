"""What the log tells an SRE about decisions: a denial is a warn line naming its rule, an override is its own
field (the rule it passed, the user, the reason), a plain allow stays at info, and a request rejected without
a review names the client address it came from."""
import copy
import json
import os
import re
import time

import harness
from harness import ServerTest

CLUSTER = os.path.join(harness.FIXTURES, "canaries", "cluster.yaml")


def image_change():
    with open(os.path.join(harness.FIXTURES, "reviews", "deployment-image-change.json")) as f:
        return json.load(f)["request"]


class DecisionLogTest(ServerTest):
    SERVER_ARGS = ("--canaries", CLUSTER)
    WAIT_READY = True

    def line_for(self, uid):
        deadline = time.time() + 5
        while time.time() < deadline:
            for line in self.server.log_lines():
                if line.get("msg") == "admission" and line.get("uid") == uid:
                    return line
            time.sleep(0.02)
        self.fail("no admission line for %s" % uid)

    def test_denial_is_a_warn_line_with_its_rule(self):
        req = image_change()
        req["uid"] = "deny-1"
        resp = self.server.review("/validate", req)
        self.assertIs(resp["allowed"], False)
        line = self.line_for("deny-1")
        self.assertEqual(line["level"], "warn")
        self.assertEqual(line["decision"], "denied")
        self.assertEqual(line["rule"], "template-in-flight")
        self.assertNotIn("override", line)

    def test_override_is_its_own_field_with_reason_and_user(self):
        req = image_change()
        req["uid"] = "override-1"
        req["userInfo"]["username"] = "bob@example.com"
        req["object"] = copy.deepcopy(req["object"])
        req["object"]["metadata"].setdefault("annotations", {})["manual-gate.io/override"] = "INC-42 hotfix"
        resp = self.server.review("/validate", req)
        self.assertIs(resp["allowed"], True)
        line = self.line_for("override-1")
        self.assertEqual(line["level"], "info")
        self.assertEqual(line["override"], {"rule": "template-in-flight", "user": "bob@example.com",
                                            "reason": "INC-42 hotfix"})
        self.assertNotIn("rule", line)

    def test_plain_allow_is_info_without_rule_or_override(self):
        req = image_change()
        req["uid"] = "allow-1"
        req["namespace"] = req["object"]["metadata"]["namespace"] = "elsewhere"
        resp = self.server.review("/validate", req)
        self.assertIs(resp["allowed"], True)
        line = self.line_for("allow-1")
        self.assertEqual(line["level"], "info")
        self.assertNotIn("rule", line)
        self.assertNotIn("override", line)

    def test_rejected_request_names_the_client_address(self):
        status, _, _ = self.server.request("POST", "/validate", b"not json")
        self.assertEqual(status, 400)
        time.sleep(0.1)
        lines = [l for l in self.server.log_lines() if l.get("msg") == "request rejected" and l.get("status") == 400]
        self.assertTrue(lines)
        self.assertRegex(lines[-1].get("client", ""), r"^127\.0\.0\.1:\d+$")
        port = int(lines[-1]["client"].rsplit(":", 1)[1])
        self.assertNotEqual(port, self.server.port)
