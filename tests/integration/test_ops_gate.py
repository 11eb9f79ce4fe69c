"""`manual-gate gate open|close` and `manual-gate rollback open|close` through the real kubectl against the
stand-in API server: the POST goes to the loadtester through the services proxy (no pod), confirmation and
--yes, refusals where no gate is read, --wait against a stand-in Flagger (success and timeout), RBAC
refusal, an unreachable loadtester and the loadtester's own refusal. The prompt as a person sees it is in
test_ops_tmux.py."""
import re
import unittest

import harness
import ops_scene
from ops_scene import NS, FlaggerSim, Scene, canary
from standin_loadtester import StandinLoadtester

PROXY = "/api/v1/namespaces/test/services/flagger-loadtester:80/proxy"
PAYLOAD = {"name": "podinfo", "namespace": NS}


class GateTest(unittest.TestCase):
    def setUp(self):
        self.scene = Scene()
        self.sim = None

    def tearDown(self):
        if self.sim:
            self.sim.stop()
        self.scene.stop()

    def actions(self):
        """The gate actions (not the checks) the API server proxied."""
        return [(p[len(PROXY):], b) for p, b in self.scene.proxy_posts() if not p.endswith("/check")]

    def test_gate_open_posts_to_the_loadtester_through_the_proxy(self):
        self.scene.put(canary(weight=20))
        rc, out, err = self.scene.run("gate", "open", "podinfo", "-n", NS, "--yes")
        self.assertEqual(rc, 0, err)
        self.assertEqual(self.actions(), [("/gate/open", PAYLOAD)])
        self.assertTrue(self.scene.lt.is_open("podinfo", NS))
        self.assertIn("Canary test/podinfo (Deployment/podinfo): phase Progressing, canary weight 20% (max 50%).", out)
        self.assertIn("traffic gate closed.", out)
        self.assertIn("canary weight 20% -> 30%", out)
        self.assertTrue(out.endswith("Gate opened.\n"), out)
        # Nothing but reads and the proxy: no pod, no other write.
        self.assertEqual({r["method"] for r in self.scene.api.requests() if "/proxy/" not in r["path"]}, {"GET"})

    def test_the_step_at_max_weight_is_announced_as_the_promotion(self):
        self.scene.put(canary(weight=50))
        rc, out, err = self.scene.run("gate", "open", "podinfo", "--yes")
        self.assertEqual(rc, 0, err)
        self.assertIn("max weight 50%, so the step promotes it", out)

    def test_without_a_terminal_and_without_yes_nothing_is_done(self):
        self.scene.put(canary())
        for args in (("gate", "open"), ("rollback", "open"), ("rollback", "close"), ("gate", "close")):
            if args[1] == "close":
                self.scene.lt.set("podinfo", NS, True, rollback=args[0] == "rollback")
            rc, out, err = self.scene.run(*args, "podinfo", stdin="y\n")
            self.assertEqual(rc, 2, args)
            self.assertIn("no terminal to ask for confirmation on: run it in a terminal, or pass --yes", err)
        self.assertEqual(self.actions(), [])

    def test_gate_open_is_refused_where_flagger_reads_no_traffic_gate(self):
        for phase, weight, says in (("Succeeded", 0, "no release is in flight (phase Succeeded)"),
                                    ("Failed", 0, "no release is in flight (phase Failed)"),
                                    ("WaitingPromotion", 0, "phase WaitingPromotion reads no traffic gate"),
                                    ("Promoting", 50, "phase Promoting reads no traffic gate"),
                                    ("Finalising", 0, "phase Finalising reads no traffic gate")):
            self.scene.put(canary(phase=phase, weight=weight))
            rc, out, err = self.scene.run("gate", "open", "podinfo", "--yes")
            self.assertEqual((rc, out), (1, ""), phase)
            self.assertIn("manual-gate gate open: refused: Canary test/podinfo: " + says, err)
        self.assertEqual(self.actions(), [])

    def test_rollback_open_is_refused_outside_a_release_and_close_works_in_every_phase(self):
        for phase in ("Succeeded", "Promoting"):
            self.scene.put(canary(phase=phase, weight=0))
            rc, _, err = self.scene.run("rollback", "open", "podinfo", "--yes")
            self.assertEqual(rc, 1, phase)
            self.assertIn("refused", err)
        for phase in ("Failed", "Succeeded", "Progressing", "Promoting"):
            self.scene.put(canary(phase=phase, weight=0))
            self.scene.lt.set("podinfo", NS, True, rollback=True)
            rc, out, err = self.scene.run("rollback", "close", "podinfo", "--yes")
            self.assertEqual(rc, 0, err)
            self.assertIn("Rollback gate closed.", out)
            self.assertFalse(self.scene.lt.is_open("podinfo", NS, rollback=True))
        self.assertEqual(self.actions(), [("/rollback/close", PAYLOAD)] * 4)

    def test_rollback_open_says_all_traffic_returns_to_the_primary(self):
        self.scene.put(canary(weight=30))
        rc, out, err = self.scene.run("rollback", "open", "podinfo", "--yes")
        self.assertEqual(rc, 0, err)
        self.assertIn("all traffic returns to the primary and the canary is scaled to zero (phase Failed)", out)
        self.assertEqual(self.actions(), [("/rollback/open", PAYLOAD)])
        self.assertTrue(self.scene.lt.is_open("podinfo", NS, rollback=True))
        self.assertFalse(self.scene.lt.is_open("podinfo", NS))

    def test_a_gate_already_open_is_left_alone(self):
        self.scene.put(canary())
        self.scene.lt.set("podinfo", NS, True)
        rc, out, err = self.scene.run("gate", "open", "podinfo")
        self.assertEqual(rc, 0, err)
        self.assertIn("The gate is already open: nothing to do.", out)
        self.assertEqual(self.actions(), [])

    def test_wait_follows_the_canary_until_the_step_is_taken_and_the_gate_closed(self):
        self.scene.put(canary(weight=20))
        self.sim = FlaggerSim(self.scene)
        rc, out, err = self.scene.run("gate", "open", "podinfo", "--yes", "--wait", "--timeout", "30s")
        self.assertEqual(rc, 0, err + out)
        self.assertIn("Waiting up to 30s for Flagger", out)
        self.assertRegex(out, r"\d\d:\d\d:\d\d phase Progressing, canary weight 30%")
        self.assertIn("Step taken: canary weight 20% -> 30%; the gate is closed again.", out)
        self.assertFalse(self.scene.lt.is_open("podinfo", NS))
        self.assertEqual(self.scene.get_canary()["status"]["canaryWeight"], 30)

    def test_wait_at_max_weight_ends_when_the_promotion_starts(self):
        self.scene.put(canary(weight=50))
        self.sim = FlaggerSim(self.scene)
        rc, out, err = self.scene.run("gate", "open", "podinfo", "--yes", "--wait", "--timeout", "30s")
        self.assertEqual(rc, 0, err + out)
        self.assertIn("Step taken: phase Promoting, the promotion started; the gate is closed again.", out)

    def test_wait_times_out_and_says_the_gate_stays_open(self):
        self.scene.put(canary(weight=20))
        rc, out, err = self.scene.run("gate", "open", "podinfo", "--yes", "--wait", "--timeout", "3s")
        self.assertEqual(rc, 1, err)
        self.assertIn("Timed out after 3s: Flagger has not taken the step. The traffic gate stays open.", out)
        self.assertTrue(self.scene.lt.is_open("podinfo", NS))

    def test_rollback_wait_ends_at_failed_and_says_to_close_the_rollback_gate(self):
        self.scene.put(canary(weight=30))
        self.sim = FlaggerSim(self.scene)
        rc, out, err = self.scene.run("rollback", "open", "podinfo", "--yes", "--wait", "--timeout", "30s")
        self.assertEqual(rc, 0, err + out)
        self.assertIn("phase Failed, canary weight 0%", out)
        self.assertIn("Rolled back: all traffic is on the primary.", out)
        self.assertIn("The rollback gate is still open", out)
        self.assertIn("manual-gate rollback close podinfo -n test", out)

    def test_rbac_refusal_names_verb_resource_and_service(self):
        self.scene.put(canary())
        self.scene.api.forbid("create", "services/proxy", NS)
        rc, out, err = self.scene.run("gate", "open", "podinfo", "--yes")
        self.assertEqual(rc, 2)
        self.assertIn('cannot read the traffic gate: RBAC refused to create services/proxy on Service '
                      'test/flagger-loadtester (the loadtester): services "flagger-loadtester:80" is forbidden: '
                      'User "alice" cannot create resource "services/proxy" in API group "" in the namespace "test"',
                      err)
        self.assertFalse(self.scene.lt.is_open("podinfo", NS))

    def test_an_unreachable_loadtester_is_an_error(self):
        self.scene.put(canary())
        self.scene.api.route_service(NS, "flagger-loadtester", 80, "127.0.0.1:%d" % harness.free_port())
        rc, out, err = self.scene.run("gate", "open", "podinfo", "--yes")
        self.assertEqual(rc, 2)
        self.assertRegex(err, r"the loadtester test/flagger-loadtester:80 cannot be reached through the API server: "
                              r"error trying to reach service: dial tcp 127\.0\.0\.1:\d+: connect: connection refused")

    def test_the_loadtesters_own_refusal_is_told_apart_from_rbac(self):
        lt = StandinLoadtester(namespace_regexp="^team-")
        try:
            self.scene.api.route_service(NS, "flagger-loadtester", 80, lt.address)
            self.scene.put(canary())
            rc, out, err = self.scene.run("gate", "open", "podinfo", "--yes")
            self.assertEqual(rc, 2)
            self.assertIn("traffic gate closed.", out)  # the check's 403 reads closed, not forbidden
            self.assertIn("the loadtester test/flagger-loadtester:80 refused /gate/open for namespace test (403): its "
                          "-namespace-regexp does not admit that namespace", err)
            self.assertNotIn("RBAC", err)
        finally:
            lt.stop()

    def test_several_loadtester_pods_are_warned_about_before_acting(self):
        self.scene.put(canary())
        self.scene.put(ops_scene.endpoint_slice(2))
        rc, out, err = self.scene.run("gate", "open", "podinfo", "--yes")
        self.assertEqual(rc, 0, err)
        self.assertIn("2 ready pods", out)
        self.assertIn("Warning: the loadtester has 2 ready pods and each keeps its own gates", out)

    def test_errors_exit_2_with_the_reason(self):
        self.scene.put(canary())
        self.scene.put(canary("direct", lt_url="http://10.0.0.7:8080"))
        rc, out, err = self.scene.run("gate", "open", "direct", "--yes")
        self.assertEqual((rc, out), (2, ""))
        self.assertIn("manual-gate gate open: Canary test/direct: the loadtester URL http://10.0.0.7:8080/gate/check "
                      "names an IP address, not a Service", err)
        for args, says in ((("gate", "open", "nosuch", "--yes"), "no Canary nosuch in namespace test"),
                           (("gate", "flip", "podinfo"), "usage: manual-gate gate open|close NAME"),
                           (("rollback", "open"), "usage: manual-gate rollback open|close NAME"),
                           (("gate", "open", "podinfo", "--timeout", "soon"), "--timeout takes a duration")):
            rc, out, err = self.scene.run(*args)
            self.assertEqual(rc, 2, args)
            self.assertIn(says, err)


if __name__ == "__main__":
    unittest.main()
