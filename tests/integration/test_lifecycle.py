"""Running in a cluster: the serving certificate renewed under a running server, and SIGTERM during load
(issue 5). Each test starts its own server."""
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import unittest

from harness import ROOT, Server, admission_request, certs

MAKE_CERTS = os.path.join(ROOT, "certs", "make-certs.sh")


def review_bytes(request, path="/validate"):
    body = json.dumps({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": request}).encode()
    return (b"POST %s?timeout=10s HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % (path.encode(), len(body))), body


def pod(name):
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default"}}


def read_response(sock):
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed before a response")
        buf += chunk
    head, body = buf.split(b"\r\n\r\n", 1)
    lines = head.decode().split("\r\n")
    headers = {l.split(":", 1)[0].lower(): l.split(":", 1)[1].strip() for l in lines[1:]}
    while len(body) < int(headers.get("content-length", "0")):
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed inside a response")
        body += chunk
    return int(lines[0].split()[1]), body, headers


class CertificateRotationTest(unittest.TestCase):

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="mg-rotate-")
        for f in ("ca.crt", "ca.key", "tls.crt", "tls.key"):
            shutil.copy(os.path.join(certs(), f), self.dir)
        self.server = Server(cert_dir=self.dir)

    def tearDown(self):
        rc = self.server.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
        self.assertEqual(rc, 0, self.server.logs()[-3000:])

    def served_cert(self):
        ctx = self.server.ssl_context()
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=5) as raw:
            with ctx.wrap_socket(raw, server_hostname="manual-gate.manual-gate.svc") as s:
                return s.getpeercert(binary_form=True)

    def file_cert(self):
        with open(os.path.join(self.dir, "tls.crt")) as f:
            return ssl.PEM_cert_to_DER_cert(f.read())

    def test_renewed_certificate_is_served_within_seconds_and_no_request_fails(self):
        old = self.file_cert()
        self.assertEqual(self.served_cert(), old)
        stop, failures, answered = threading.Event(), [], [0]

        def client():
            # A new connection (so a new handshake) for every review, the way a rotation is observed.
            while not stop.is_set():
                try:
                    req = admission_request("Pod", pod("p"), None, operation="CREATE", group="")
                    resp = self.server.review("/validate", req)
                    if resp.get("allowed") is not True:
                        failures.append(resp)
                    answered[0] += 1
                except Exception as e:  # reported below
                    failures.append(repr(e))

        threads = [threading.Thread(target=client) for _ in range(4)]
        for t in threads:
            t.start()
        time.sleep(0.5)
        subprocess.run([MAKE_CERTS, "--out", self.dir], check=True, capture_output=True)
        new = self.file_cert()
        self.assertNotEqual(new, old)
        rotated_at, deadline = time.time(), time.time() + 10
        while time.time() < deadline and self.served_cert() != new:
            time.sleep(0.1)
        took = time.time() - rotated_at
        time.sleep(0.5)
        stop.set()
        for t in threads:
            t.join(30)
        self.assertEqual(self.served_cert(), new, "renewed certificate not served after 10 s")
        self.assertLess(took, 5)
        self.assertEqual(failures, [])
        self.assertGreater(answered[0], 10)

    def test_a_mismatched_pair_is_not_served_and_the_previous_one_stays(self):
        old = self.file_cert()
        other = tempfile.mkdtemp(prefix="mg-other-")
        try:
            for f in ("ca.crt", "ca.key"):  # same CA, new serving pair
                shutil.copy(os.path.join(self.dir, f), other)
            subprocess.run([MAKE_CERTS, "--out", other], check=True, capture_output=True)
            # A certificate whose key is not (yet) the one on disk: a half-done rotation.
            shutil.copy(os.path.join(other, "tls.crt"), os.path.join(self.dir, "tls.crt.tmp"))
            os.rename(os.path.join(self.dir, "tls.crt.tmp"), os.path.join(self.dir, "tls.crt"))
            time.sleep(2.5)
            self.assertEqual(self.served_cert(), old)
            self.assertIn("cannot be loaded yet", self.server.logs())
            # The key arrives: the new pair is served.
            shutil.copy(os.path.join(other, "tls.key"), os.path.join(self.dir, "tls.key.tmp"))
            os.rename(os.path.join(self.dir, "tls.key.tmp"), os.path.join(self.dir, "tls.key"))
            deadline = time.time() + 5
            while time.time() < deadline and self.served_cert() == old:
                time.sleep(0.1)
            with open(os.path.join(other, "tls.crt")) as f:
                self.assertEqual(self.served_cert(), ssl.PEM_cert_to_DER_cert(f.read()))
        finally:
            shutil.rmtree(other, ignore_errors=True)


class GracefulShutdownTest(unittest.TestCase):

    def open(self, server):
        raw = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return server.ssl_context().wrap_socket(raw, server_hostname="localhost")

    def test_requests_in_flight_at_sigterm_are_answered_then_exit_0(self):
        server = Server("--shutdown-timeout", "20")
        socks, reqs = [], []
        for i in range(5):
            s = self.open(server)
            req = admission_request("Pod", pod("p%d" % i), None, operation="CREATE", group="")
            head, body = review_bytes(req)
            s.sendall(head + body[:len(body) // 2])  # in flight: headers and half the body
            socks.append((s, body[len(body) // 2:]))
            reqs.append(req)
        time.sleep(0.3)
        server.proc.send_signal(signal.SIGTERM)
        # It stops accepting new connections at once...
        deadline, refused = time.time() + 3, False
        while time.time() < deadline and not refused:
            try:
                self.open(server).close()
                time.sleep(0.05)
            except OSError:
                refused = True
        self.assertTrue(refused, "still accepting connections after SIGTERM")
        self.assertIsNone(server.proc.poll(), "exited with requests in flight")
        # ...and answers every request it had already accepted.
        for (s, rest), req in zip(socks, reqs):
            s.sendall(rest)
            status, data, headers = read_response(s)
            self.assertEqual(status, 200)
            self.assertEqual(json.loads(data)["response"]["uid"], req["uid"])
            self.assertEqual(headers.get("connection", "").lower(), "close")
            s.close()
        server.proc.wait(15)
        self.assertEqual(server.proc.returncode, 0, server.logs()[-3000:])
        os.unlink(server.log.name)

    def test_sigterm_under_load_answers_every_accepted_request(self):
        server = Server("--shutdown-timeout", "20")
        stop, lock = threading.Event(), threading.Lock()
        answered, bad = set(), []

        def client():
            while not stop.is_set():
                try:
                    s = self.open(server)
                except OSError:
                    return  # listener closed: the server is shutting down
                try:
                    while not stop.is_set():
                        req = admission_request("Pod", pod("p"), None, operation="CREATE", group="")
                        head, body = review_bytes(req)
                        s.sendall(head + body)
                        status, data, headers = read_response(s)
                        if status != 200 or json.loads(data)["response"]["uid"] != req["uid"]:
                            bad.append((status, data[:200]))
                        with lock:
                            answered.add(req["uid"])
                        if headers.get("connection", "").lower() == "close":
                            break
                except (OSError, ConnectionError):
                    pass  # connection closed between requests: the client retries elsewhere
                finally:
                    s.close()

        threads = [threading.Thread(target=client) for _ in range(8)]
        for t in threads:
            t.start()
        time.sleep(1.0)
        server.proc.send_signal(signal.SIGTERM)
        rc = server.proc.wait(30)
        stop.set()
        for t in threads:
            t.join(30)
        self.assertEqual(rc, 0, server.logs()[-3000:])
        self.assertEqual(bad, [])
        decided = {l["uid"] for l in server.log_lines() if l.get("msg") == "admission"}
        self.assertGreater(len(decided), 50)
        # Every review the server decided reached its client: nothing accepted was dropped.
        self.assertEqual(decided - answered, set())
        os.unlink(server.log.name)


if __name__ == "__main__":
    unittest.main()
