"""The first five minutes: `serve` checks its flags when it starts and says what is wrong (exit 2, nothing
served) instead of failing later on every Canary; booleans take true/false, 1/0, yes/no on the command line
and in the environment, and anything else is an error; the version names the commit it was built from."""
import json
import os
import re
import subprocess
import unittest

import harness
from harness import Server, admission_request


def serve(*args, env=None):
    certs = harness.certs()
    e = dict(os.environ)
    e.update(env or {})
    r = subprocess.run([harness.BIN, "serve", "--tls-cert", os.path.join(certs, "tls.crt"), "--tls-key",
                        os.path.join(certs, "tls.key")] + list(args), capture_output=True, text=True, timeout=20,
                       env=e)
    return r.returncode, r.stdout, r.stderr


class StartupValidationTest(unittest.TestCase):
    def test_bad_values_stop_the_start_with_a_message(self):
        cases = [
            (["--listen", "127.0.0.1:99999"], "the port must be a number from 1 to 65535"),
            (["--listen", "127.0.0.1:0"], "the port must be a number from 1 to 65535"),
            (["--listen", "127.0.0.1:"], "the port must be a number from 1 to 65535"),
            (["--listen", "localhost"], "--listen wants host:port"),
            (["--loadtester-url", "notaurl"], "--loadtester-url wants the loadtester's base URL"),
            (["--loadtester-url", "http://lt.test/gate/check"], "--loadtester-url wants the loadtester's base URL"),
            (["--mesh-provider", "foo"], "--mesh-provider is Flagger's -mesh-provider, one of apisix"),
            (["--threads", "0"], "--threads must be a whole number from 1 to 64"),
            (["--threads", "-3"], "--threads must be a whole number"),
            (["--max-unsynced", "1e3"], "--max-unsynced must be a whole number"),
            (["--log-level", "verbose"], "--log-level is debug, info, warn or error"),
            (["--fail-open=maybe"], "--fail-open is a boolean"),
            (["--override-group", ""], "--override-group is empty"),
            (["--request-timeout", "0"], "--request-timeout must be a whole number from 1 to 120"),
            (["--request-timeout", "121"], "--request-timeout must be a whole number from 1 to 120"),
            (["--body-memory", "6"], "--body-memory must be a whole number from 7"),
            (["--max-connections", "8"], "--max-connections must be a whole number from 16"),
            (["--shutdown-delay", "soon"], "--shutdown-delay must be a whole number"),
            (["--client-ca", ""], "--client-ca is empty"),
            (["--probe-listen", "nohost:99999"], "--probe-listen nohost:99999: the port must be a number from 1 to"),
            (["--probe-listen", "8081"], "--probe-listen wants host:port"),
        ]
        for args, msg in cases:
            with self.subTest(args=args):
                rc, out, err = serve(*args)
                self.assertEqual(rc, 2, err)
                self.assertIn(msg, err)
                self.assertNotIn("serving https", err)

    def test_an_unreadable_client_ca_stops_the_start(self):
        rc, _, err = serve("--listen", "127.0.0.1:%d" % harness.free_port(), "--client-ca", "/nonexistent/ca.crt")
        self.assertEqual(rc, 1, err)
        self.assertIn("/nonexistent/ca.crt", err)
        self.assertNotIn("serving https", err)

    def test_a_probe_address_that_cannot_be_listened_on_stops_the_start(self):
        port = harness.free_port()
        rc, _, err = serve("--listen", "127.0.0.1:%d" % port, "--probe-listen", "127.0.0.1:%d" % port)
        self.assertEqual(rc, 1, err)
        self.assertIn("cannot listen on 127.0.0.1:%d for probes" % port, err)
        self.assertNotIn("serving https", err)
        rc, _, err = serve("--listen", "127.0.0.1:%d" % port, env={"MANUAL_GATE_PROBE_LISTEN": "127.0.0.1:0"})
        self.assertEqual(rc, 2, err)
        self.assertIn("--probe-listen 127.0.0.1:0: the port must be a number from 1 to 65535", err)

    def test_bad_environment_values_stop_the_start(self):
        for env, msg in (({"MANUAL_GATE_FAIL_OPEN": "enabled"}, "MANUAL_GATE_FAIL_OPEN is a boolean"),
                         ({"MANUAL_GATE_EVENTS": "off"}, "MANUAL_GATE_EVENTS is a boolean"),
                         ({"MANUAL_GATE_MESH_PROVIDER": "foo"}, "--mesh-provider is Flagger's")):
            with self.subTest(env=env):
                rc, _, err = serve(env=env)
                self.assertEqual(rc, 2, err)
                self.assertIn(msg, err)

    def test_mutate_checks_the_policy_flags_too(self):
        r = subprocess.run([harness.BIN, "mutate", "--mesh-provider", "foo", "-"], input="", capture_output=True,
                           text=True, timeout=20)
        self.assertEqual(r.returncode, 2)
        self.assertIn("--mesh-provider is Flagger's", r.stderr)

    def test_version_names_a_commit(self):
        r = subprocess.run([harness.BIN, "version"], capture_output=True, text=True, timeout=20)
        self.assertEqual(r.returncode, 0)
        self.assertRegex(r.stdout, r"^manual-gate \S+ \(commit [0-9a-f]{12}(-dirty)?\)\n$")
        self.assertNotIn("unknown", r.stdout)


class FailOpenFromEnvironmentTest(unittest.TestCase):
    """MANUAL_GATE_FAIL_OPEN=yes switches fail-open on (it used to be ignored silently); =no leaves it off."""

    def decide(self, value):
        # No Canary source: the cache never syncs, so a template change meets the unknown gating state.
        with Server(env={"MANUAL_GATE_FAIL_OPEN": value}) as s:
            with open(os.path.join(harness.FIXTURES, "reviews", "deployment-image-change.json")) as f:
                req = json.load(f)["request"]
            return s.review("/validate", req)["allowed"]

    def test_yes_and_one_switch_it_on(self):
        self.assertIs(self.decide("yes"), True)
        self.assertIs(self.decide("1"), True)

    def test_no_and_false_leave_it_off(self):
        self.assertIs(self.decide("no"), False)
        self.assertIs(self.decide("false"), False)
