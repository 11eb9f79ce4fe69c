"""What the log tells an SRE about decisions: a denial is a warn line naming its rule, an override is its own
field (the rule it passed, the user, the reason), a plain allow stays at info, and a request rejected without
a review names the client address it came from."""
import copy
import json
import os
import re
import select
import time
import unittest

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


CUT_MARK = "\u2026[cut]"


class PipedServer(harness.Server):
    """The server with stderr on a pipe, read slowly in small pieces by a thread, the way a log collector
    falls behind: a pipe takes a write longer than PIPE_BUF in pieces when it is nearly full."""

    def __init__(self, *extra):
        import subprocess
        import threading
        self.cert_dir = harness.certs()
        self.port = harness.free_port()
        self.data = bytearray()
        args = [harness.BIN, "serve", "--listen", "127.0.0.1:%d" % self.port,
                "--tls-cert", os.path.join(self.cert_dir, "tls.crt"),
                "--tls-key", os.path.join(self.cert_dir, "tls.key")] + list(extra)
        env = dict(os.environ)
        env.setdefault("ASAN_OPTIONS", "detect_leaks=1")
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        self.reader = threading.Thread(target=self._drain, daemon=True)
        self.reader.start()
        self.wait_healthy()

    def _drain(self):
        fd = self.proc.stderr.fileno()
        while True:
            chunk = os.read(fd, 1000)
            if not chunk:
                return
            self.data.extend(chunk)
            time.sleep(0.0005)

    def raw_lines(self):
        """The complete lines so far (the last one may still be arriving)."""
        return bytes(self.data).split(b"\n")[:-1]

    def logs(self):
        return bytes(self.data).decode("utf-8", "replace")


def review_bytes(uid, name, username=b"alice", namespace=b"test"):
    """A ConfigMap CREATE review as raw JSON bytes: uid and name may hold any bytes (a raw 0xFF is no
    valid JSON text, and cJSON takes it as it is)."""
    return (b'{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"' + uid +
            b'","kind":{"group":"","version":"v1","kind":"ConfigMap"},"resource":{"group":"","version":"v1",'
            b'"resource":"configmaps"},"namespace":"' + namespace + b'","name":"' + name +
            b'","operation":"CREATE","userInfo":{"username":"' + username +
            b'"},"object":{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x","namespace":"test"}}}}')


class HostileLogTest(unittest.TestCase):
    """Request text reaches the log bounded and well-formed, and lines longer than PIPE_BUF from several
    server threads reach a pipe whole."""

    def setUp(self):
        self.server = PipedServer("--canaries", CLUSTER, "--threads", "4")

    def tearDown(self):
        rc = self.server.stop()
        self.server.reader.join(5)
        if rc != 0:
            self.fail("manual-gate exited %s:\n%s" % (rc, self.server.logs()[-4000:]))

    def admission_lines(self):
        out = []
        for raw in self.server.raw_lines():
            if not raw:
                continue
            line = json.loads(raw.decode("utf-8"))  # strict: invalid UTF-8 or a torn line raises
            if line.get("msg") == "admission":
                out.append((raw, line))
        return out

    def test_huge_uid_and_invalid_byte_give_a_short_valid_line(self):
        uid = b"u" * (5 * 1000 * 1000)
        status, data, _ = self.server.request("POST", "/validate", review_bytes(uid, b"cm\xffname"))
        self.assertEqual(status, 200)
        self.assertIs(json.loads(data)["response"]["allowed"], True)
        deadline = time.time() + 5
        while time.time() < deadline and not self.admission_lines():
            time.sleep(0.05)
        [(raw, line)] = self.admission_lines()
        self.assertLess(len(raw), 2048)
        self.assertTrue(line["uid"].endswith(CUT_MARK))
        self.assertEqual(line["uid"], "u" * 256 + CUT_MARK)
        self.assertEqual(line["name"], "cm\ufffdname")

    def test_a_400_body_quoting_request_text_is_valid_utf8(self):
        # a euro sign straddling the 40-byte quote, and a raw 0xFF in the kind
        body = b'{"apiVersion":"' + b"a" * 39 + '\u20ac'.encode() + b'","kind":"Review\xff"}'
        status, data, _ = self.server.request("POST", "/validate", body)
        self.assertEqual(status, 400)
        text = data.decode("utf-8")  # strict
        self.assertIn("Review\ufffd", text)
        time.sleep(0.2)
        for raw in self.server.raw_lines():
            if raw:
                json.loads(raw.decode("utf-8"))

    def test_long_lines_from_concurrent_clients_never_interleave(self):
        import threading
        # 300 control characters per field: each is cut to 256 and printed as \u0001 (6 bytes), so a
        # line is about 9 KB, more than twice PIPE_BUF.
        ctl = b"\\u0001" * 300
        clients, each, errors = 6, 30, []

        def client(k):
            try:
                conn = self.server.conn()
                for i in range(each):
                    uid = ("c%d-%d-" % (k, i)).encode() + ctl
                    status, _, _ = self.server.request("POST", "/validate", review_bytes(uid, ctl, ctl, ctl),
                                                       conn=conn)
                    if status != 200:
                        errors.append(status)
                conn.close()
            except Exception as e:  # reported below
                errors.append(repr(e))

        threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        self.assertEqual(errors, [])
        deadline = time.time() + 10
        while time.time() < deadline and len(self.admission_lines()) < clients * each:
            time.sleep(0.1)
        lines = self.admission_lines()  # every line parses: none torn or mixed
        self.assertEqual(len(lines), clients * each)
        self.assertGreater(min(len(raw) for raw, _ in lines), select.PIPE_BUF)
        for _, line in lines:
            for key in ("uid", "name", "namespace", "user"):
                self.assertTrue(line[key].endswith(CUT_MARK), key)
        self.assertEqual(len({line["uid"] for _, line in lines}), clients * each)
