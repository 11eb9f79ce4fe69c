"""The Canary webhooks' matchConditions skip Canaries that neither are nor were gated: skipping them must
change nothing. Each case the conditions skip (test_manifests.CANARY_CEL_CASES) is sent to the real server,
which must allow it with no patch and no warning, on /mutate and on /validate; and each case they send is
one the server has something to say about, or a formerly gated Canary it must judge."""
import unittest

import harness
from harness import ServerTest, admission_request, decode_patch
from test_manifests import CANARY_CEL_CASES


class SkippedCanariesTest(ServerTest):
    SERVER_ARGS = ("--loadtester-url", "http://flagger-loadtester.test", "--canaries",
                   harness.os.path.join(harness.FIXTURES, "canaries", "cluster.yaml"))
    WAIT_READY = True

    def test_what_the_conditions_skip_the_server_passes_untouched(self):
        skipped = [c for c in CANARY_CEL_CASES if c[4] is False]
        self.assertGreaterEqual(len(skipped), 3)
        for case, op, old, new, _ in skipped:
            for path in ("/mutate", "/validate"):
                with self.subTest(case=case, path=path):
                    resp = self.server.review(path, admission_request("Canary", obj=new, old=old, operation=op,
                                                                      namespace="test"))
                    self.assertIs(resp["allowed"], True)
                    self.assertEqual(decode_patch(resp), [])
                    self.assertNotIn("warnings", resp)

    def test_what_the_conditions_send_the_server_acts_on(self):
        """A sample of the sent cases where the server would indeed change or deny something."""
        by_name = {c[0]: c for c in CANARY_CEL_CASES}
        _, op, old, new, _ = by_name["gated by the label"]
        resp = self.server.review("/mutate", admission_request("Canary", obj=new, old=old, operation=op,
                                                               namespace="test"))
        self.assertTrue(decode_patch(resp))
        _, op, old, new, _ = by_name["un-gating: hook removed"]
        resp = self.server.review("/validate", admission_request("Canary", obj=new, old=old, operation=op,
                                                                 namespace="test"))
        self.assertIs(resp["allowed"], False)
        _, op, old, new, _ = by_name["label with a bad value (denied)"]
        resp = self.server.review("/mutate", admission_request("Canary", obj=new, old=old, operation=op,
                                                               namespace="test"))
        self.assertIs(resp["allowed"], False)


if __name__ == "__main__":
    unittest.main()
