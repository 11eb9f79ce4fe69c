"""The admission server over real TLS: the AdmissionReview contract, every kind of bad input, split and
oversized bodies, TLS versions, and many concurrent keep-alive clients (issue 2)."""
import json
import os
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import unittest

from harness import BIN, ServerTest, admission_request, certs, free_port

REVIEW_PATHS = ("/mutate", "/validate")


def review_body(request):
    return {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": request}


def deployment(name="web", replicas=1):
    """A Deployment; reviews here vary only replicas, which every policy allows, so these tests are about
    the transport and the codec and not about a policy's decision."""
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": "default"},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "app", "image": "nginx:1"}]}}}}


class TLSClient:
    """A raw TLS connection, to control exactly which bytes go out and when."""

    def __init__(self, server, server_hostname="localhost"):
        ctx = server.ssl_context()
        raw = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = ctx.wrap_socket(raw, server_hostname=server_hostname)

    def send_pieces(self, data, piece):
        for i in range(0, len(data), piece):
            self.sock.sendall(data[i:i + piece])

    def read_response(self):
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise AssertionError("connection closed before a response: %r" % buf)
            buf += chunk
        head, body = buf.split(b"\r\n\r\n", 1)
        lines = head.decode().split("\r\n")
        status = int(lines[0].split()[1])
        headers = {l.split(":", 1)[0].lower(): l.split(":", 1)[1].strip() for l in lines[1:]}
        length = int(headers.get("content-length", "0"))
        while len(body) < length:
            chunk = self.sock.recv(65536)
            if not chunk:
                break
            body += chunk
        return status, body, headers

    def close(self):
        self.sock.close()


class ContractTest(ServerTest):

    def test_healthz_with_curl_verifying_the_generated_ca(self):
        r = subprocess.run(["curl", "-sS", "--cacert", os.path.join(self.server.cert_dir, "ca.crt"),
                            "-o", "/dev/null", "-w", "%{http_code}",
                            "https://localhost:%d/healthz" % self.server.port], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "200")

    def test_certificate_verifies_for_the_service_name_the_api_server_uses(self):
        c = TLSClient(self.server, server_hostname="manual-gate.manual-gate.svc")
        c.sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: manual-gate.manual-gate.svc\r\n\r\n")
        status, body, _ = c.read_response()
        c.close()
        self.assertEqual(status, 200)

    def test_uid_is_echoed_with_the_same_apiversion_and_kind(self):
        for path in REVIEW_PATHS:
            req = admission_request("Deployment", deployment(), deployment(), operation="UPDATE")
            resp = self.server.review(path, req)  # review() asserts apiVersion, kind and uid
            self.assertIs(resp["allowed"], True)
            self.assertNotIn("patch", resp)

    def test_query_string_is_ignored_by_the_router(self):
        req = admission_request("Deployment", deployment(), deployment())
        status, data, _ = self.server.request("POST", "/validate?timeout=10s&x=1", review_body(req))
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(data)["response"]["uid"], req["uid"])

    def test_missing_object_as_null_or_absent_is_accepted(self):
        req = admission_request("Deployment", None, deployment(), operation="DELETE")
        self.assertIs(self.server.review("/validate", req)["allowed"], True)
        del req["object"]
        req["uid"] = "absent-object"
        self.assertIs(self.server.review("/validate", req)["allowed"], True)

    def test_unrelated_kinds_are_allowed_unchanged(self):
        for path in REVIEW_PATHS:
            req = admission_request("Pod", {"metadata": {"name": "p"}}, None, operation="CREATE", group="")
            resp = self.server.review(path, req)
            self.assertIs(resp["allowed"], True)
            self.assertNotIn("patch", resp)

    def test_every_admission_is_one_json_log_line(self):
        req = admission_request("Deployment", deployment(), deployment())
        self.server.review("/validate", req)
        time.sleep(0.1)
        lines = [l for l in self.server.log_lines() if l.get("uid") == req["uid"]]
        self.assertEqual(len(lines), 1, lines)
        line = lines[0]
        for key in ("time", "kind", "namespace", "name", "operation", "decision", "latencyMs"):
            self.assertIn(key, line)
        self.assertEqual(line["kind"], "Deployment")
        self.assertEqual(line["decision"], "allowed")

    def test_metrics_count_reviews_per_endpoint_and_decision(self):
        def count():
            status, data, hdrs = self.server.request("GET", "/metrics")
            self.assertEqual(status, 200)
            self.assertTrue(hdrs["content-type"].startswith("text/plain"))
            for line in data.decode().splitlines():
                if line.startswith('manual_gate_admission_reviews_total{endpoint="validate",decision="allowed"}'):
                    return int(line.split()[-1])
            self.fail("no validate/allowed counter in /metrics")
        before = count()
        self.server.review("/validate", admission_request("Deployment", deployment(), deployment()))
        self.assertEqual(count(), before + 1)
        _, data, _ = self.server.request("GET", "/metrics")
        self.assertIn(b"manual_gate_admission_duration_seconds_bucket{", data)
        self.assertIn(b"manual_gate_cache_synced", data)


class BadInputTest(ServerTest):
    """Input that cannot form a review gets a 4xx with a one-line reason and a log line; the server lives on."""

    def assert_rejected(self, status, data, want_status):
        self.assertEqual(status, want_status, data)
        text = data.decode()
        self.assertTrue(text.endswith("\n") and text.count("\n") == 1 and len(text) > 5, repr(text))

    def post_raw(self, path, body, content_type="application/json"):
        headers = {"Content-Type": content_type} if content_type else {}
        c = self.server.conn()
        c.putrequest("POST", path)
        for k, v in headers.items():
            c.putheader(k, v)
        c.putheader("Content-Length", str(len(body)))
        c.endheaders(body)
        r = c.getresponse()
        data = r.read()
        c.close()
        return r.status, data

    def test_bodies_that_cannot_form_a_review_get_400(self):
        ok_request = admission_request("Deployment", deployment(), deployment())
        cases = {
            "empty body": b"",
            "invalid JSON": b'{"apiVersion": ',
            "not an object": b'["AdmissionReview"]',
            "a string": b'"AdmissionReview"',
            "no request": json.dumps({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview"}).encode(),
            "request not an object": json.dumps({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                                                 "request": []}).encode(),
            "no uid": json.dumps(review_body({k: v for k, v in ok_request.items() if k != "uid"})).encode(),
            "empty uid": json.dumps(review_body(dict(ok_request, uid=""))).encode(),
            "uid not a string": json.dumps(review_body(dict(ok_request, uid=5))).encode(),
            "v1beta1 review": json.dumps(dict(review_body(ok_request), apiVersion="admission.k8s.io/v1beta1")).encode(),
            "wrong kind": json.dumps(dict(review_body(ok_request), kind="ConversionReview")).encode(),
            "NUL in JSON": b'{"apiVersion":"admission.k8s.io/v1"\x00}',
            "deeply nested": b"[" * 5000 + b"]" * 5000,
        }
        for path in REVIEW_PATHS:
            for name, body in cases.items():
                with self.subTest(path=path, case=name):
                    status, data = self.post_raw(path, body)
                    self.assert_rejected(status, data, 400)

    def test_wrong_content_type_gets_415(self):
        body = json.dumps(review_body(admission_request("Deployment", deployment(), deployment()))).encode()
        for ctype in ("text/plain", "application/jsonx", None, "application/yaml"):
            with self.subTest(content_type=ctype):
                status, data = self.post_raw("/validate", body, content_type=ctype)
                self.assert_rejected(status, data, 415)
        status, _ = self.post_raw("/validate", body, content_type="application/json; charset=utf-8")
        self.assertEqual(status, 200)

    def test_wrong_method_gets_405_and_unknown_path_404(self):
        for method, path, want in (("GET", "/mutate", 405), ("PUT", "/validate", 405), ("POST", "/healthz", 405),
                                   ("DELETE", "/metrics", 405), ("GET", "/", 404), ("POST", "/mutate/x", 404),
                                   ("GET", "/validatex", 404)):
            with self.subTest(method=method, path=path):
                status, data, _ = self.server.request(method, path, b"{}" if method in ("POST", "PUT") else None)
                self.assert_rejected(status, data, want)

    def test_405_names_the_allowed_methods(self):
        for method, path, allow in (("GET", "/mutate", "POST"), ("PUT", "/validate", "POST"),
                                    ("POST", "/healthz", "GET, HEAD"), ("POST", "/metrics", "GET, HEAD")):
            with self.subTest(method=method, path=path):
                status, _, headers = self.server.request(method, path, b"{}" if method != "GET" else None)
                self.assertEqual(status, 405)
                self.assertEqual(headers.get("allow"), allow)

    def test_body_with_too_many_values_gets_413_before_parsing(self):
        # 1.2 MB of "[0,0,...]" would be 600,000 parsed values (about 50 MB of tree): refused up front.
        body = (b'{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","object":{"a":[0'
                + b",0" * 600000 + b"]}}}")
        status, data = self.post_raw("/validate", body)
        self.assert_rejected(status, data, 413)
        status, _, _ = self.server.request("GET", "/healthz")
        self.assertEqual(status, 200)

    def test_rejected_paths_are_logged_bounded_and_valid_utf8(self):
        # The path arrives percent-decoded: a 0xFF byte, and a NUL that ends the C string.
        status, _, _ = self.server.request("GET", "/%ff%00x" + "y" * 5000)
        self.assertEqual(status, 404)
        status, _, _ = self.server.request("GET", "/%ff" + "y" * 5000)
        self.assertEqual(status, 404)
        time.sleep(0.1)
        with open(self.server.log.name, "rb") as f:
            raw = f.read()
        raw.decode("utf-8")  # every byte of the log is valid UTF-8
        lines = [json.loads(l) for l in raw.splitlines() if b'"request rejected"' in l]
        paths = [l["path"] for l in lines if l.get("status") == 404 and l["path"].startswith("/\ufffd")]
        self.assertEqual(paths[-2:], ["/\ufffd", "/\ufffd" + "y" * 252 + "\u2026[cut]"], lines[-3:])

    def test_body_over_the_limit_gets_413_by_declared_length(self):
        c = TLSClient(self.server)
        c.sock.sendall(b"POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                       b"Content-Length: %d\r\n\r\n" % (64 * 1024 * 1024))
        status, data, _ = c.read_response()
        c.close()
        self.assert_rejected(status, data, 413)

    def test_body_over_the_limit_gets_413_when_chunked(self):
        c = TLSClient(self.server)
        c.sock.sendall(b"POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                       b"Transfer-Encoding: chunked\r\n\r\n")
        chunk = b"x" * (1024 * 1024)
        for _ in range(7):
            c.sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        c.sock.sendall(b"0\r\n\r\n")
        status, data, _ = c.read_response()
        c.close()
        self.assert_rejected(status, data, 413)

    def test_two_large_objects_under_the_limit_are_answered(self):
        # An UPDATE with object and oldObject of 1.5 MiB each, as etcd allows: must fit.
        big = deployment()
        big["metadata"]["annotations"] = {"blob": "a" * (1536 * 1024 - 400)}
        req = admission_request("Deployment", big, big)
        self.assertGreater(len(json.dumps(review_body(req))), 3 * 1024 * 1024)
        resp = self.server.review("/validate", req)
        self.assertIs(resp["allowed"], True)

    def test_server_is_healthy_after_bad_input(self):
        self.test_bodies_that_cannot_form_a_review_get_400()
        status, _, _ = self.server.request("GET", "/healthz")
        self.assertEqual(status, 200)
        lines = [l for l in self.server.log_lines() if l.get("msg") == "request rejected"]
        self.assertTrue(any(l.get("status") == 400 and l.get("reason") for l in lines), lines[-3:])


class SplitBodyTest(ServerTest):

    def test_body_split_across_many_writes_is_assembled(self):
        for piece in (1, 7, 1000):
            with self.subTest(piece=piece):
                req = admission_request("Deployment", deployment(replicas=piece), deployment())
                body = json.dumps(review_body(req)).encode()
                head = (b"POST /validate?timeout=10s HTTP/1.1\r\nHost: localhost\r\n"
                        b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body))
                c = TLSClient(self.server)
                c.send_pieces(head + body, piece if piece > 1 else 1)
                status, data, _ = c.read_response()
                c.close()
                self.assertEqual(status, 200, data)
                self.assertEqual(json.loads(data)["response"]["uid"], req["uid"])

    def test_chunked_body_is_assembled(self):
        req = admission_request("Deployment", deployment(), deployment())
        body = json.dumps(review_body(req)).encode()
        c = TLSClient(self.server)
        c.sock.sendall(b"POST /mutate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                       b"Transfer-Encoding: chunked\r\n\r\n")
        for i in range(0, len(body), 50):
            piece = body[i:i + 50]
            c.sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
        c.sock.sendall(b"0\r\n\r\n")
        status, data, _ = c.read_response()
        c.close()
        self.assertEqual(status, 200, data)
        self.assertEqual(json.loads(data)["response"]["uid"], req["uid"])

    def test_keep_alive_connection_serves_many_reviews(self):
        c = TLSClient(self.server)
        for i in range(20):
            req = admission_request("Deployment", deployment(replicas=i), deployment())
            body = json.dumps(review_body(req)).encode()
            c.sock.sendall(b"POST /validate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                           b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
            status, data, _ = c.read_response()
            self.assertEqual(status, 200)
            self.assertEqual(json.loads(data)["response"]["uid"], req["uid"])
        c.close()


class ConcurrencyTest(ServerTest):

    def test_100_concurrent_keep_alive_clients(self):
        clients, per_client = 100, 10
        errors, answered = [], [0]
        lock = threading.Lock()
        start = threading.Barrier(clients)

        def client(n):
            try:
                conn = self.server.conn(timeout=30)
                start.wait()
                for i in range(per_client):
                    req = admission_request("Deployment", deployment(replicas=n * 100 + i), deployment())
                    resp = self.server.review("/validate" if i % 2 else "/mutate", req, conn=conn)
                    if resp.get("allowed") is not True:
                        raise AssertionError(resp)
                    with lock:
                        answered[0] += 1
                conn.close()
            except Exception as e:  # collected and reported below
                with lock:
                    errors.append("client %d: %r" % (n, e))

        threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        self.assertEqual(errors, [])
        self.assertEqual(answered[0], clients * per_client)
        status, _, _ = self.server.request("GET", "/healthz")
        self.assertEqual(status, 200)


class ConnectionLimitTest(ServerTest):
    # Off by default (the API server's pool may come from one address); on, it is enforced.
    SERVER_ARGS = ("--max-connections-per-address", "128")

    def test_per_address_limit_when_configured(self):
        import select
        # 140 idle connections from 127.0.0.1: the server keeps at most 128 of them (which ones depends
        # on the order its threads accept them; a connection of the start-up health check may still be
        # counted for a moment) and closes the rest...
        held = []
        try:
            for _ in range(140):
                held.append(socket.create_connection(("127.0.0.1", self.server.port), timeout=5))
            closed, deadline = set(), time.time() + 10
            while len(closed) < 12 and time.time() < deadline:
                readable, _, _ = select.select([c for c in held if c not in closed], [], [], 0.5)
                for c in readable:
                    try:
                        if c.recv(1) == b"":
                            closed.add(c)
                    except ConnectionResetError:
                        closed.add(c)
            self.assertIn(len(closed), (12, 13, 14))
            # ...while another client address is still served.
            ctx = self.server.ssl_context()
            raw = socket.create_connection(("127.0.0.1", self.server.port), timeout=5,
                                           source_address=("127.0.0.2", 0))
            with ctx.wrap_socket(raw, server_hostname="localhost") as s:
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
                self.assertTrue(s.recv(100).startswith(b"HTTP/1.1 200"))
        finally:
            for c in held:
                c.close()


class IPv6ListenTest(unittest.TestCase):

    @unittest.skipUnless(socket.has_ipv6 and os.path.exists("/proc/net/if_inet6"), "no IPv6 on this host")
    def test_serves_on_a_specific_ipv6_address(self):
        # Started by hand: the harness listens on 127.0.0.1.
        port = free_port()
        log = tempfile.NamedTemporaryFile(prefix="mg-log-", delete=False)
        d = certs()
        proc = subprocess.Popen([BIN, "serve", "--listen", "[::1]:%d" % port, "--tls-cert", os.path.join(d, "tls.crt"),
                                 "--tls-key", os.path.join(d, "tls.key")], stderr=log, stdout=subprocess.DEVNULL)
        try:
            out = ""
            for _ in range(50):
                r = subprocess.run(["curl", "-sS", "--cacert", os.path.join(d, "ca.crt"), "--resolve",
                                    "localhost:%d:[::1]" % port, "https://localhost:%d/healthz" % port],
                                   capture_output=True, text=True)
                out = r.stdout
                if r.returncode == 0:
                    break
                time.sleep(0.1)
            self.assertEqual(out, "ok\n")
        finally:
            proc.terminate()
            self.assertEqual(proc.wait(20), 0)
            os.unlink(log.name)


class TLSVersionTest(ServerTest):

    def s_client(self, flag):
        r = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % self.server.port, flag,
                            "-servername", "localhost", "-CAfile", os.path.join(self.server.cert_dir, "ca.crt")],
                           input="", capture_output=True, text=True, timeout=20)
        return r.stdout + r.stderr

    def test_tls_1_2_and_1_3_are_served(self):
        for flag, proto in (("-tls1_2", "TLSv1.2"), ("-tls1_3", "TLSv1.3")):
            with self.subTest(version=proto):
                out = self.s_client(flag)
                self.assertRegex(out, r"New, %s, Cipher is [A-Z]" % proto)
                self.assertIn("Verify return code: 0 (ok)", out)

    def test_tls_1_0_and_1_1_are_refused(self):
        for flag in ("-tls1", "-tls1_1"):
            with self.subTest(version=flag):
                out = self.s_client(flag)
                self.assertIn("New, (NONE), Cipher is (NONE)", out)
                self.assertNotRegex(out, r"New, TLSv1(\.[0-3])?, Cipher is [A-Z]")

    def test_plain_http_is_refused(self):
        r = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}",
                            "http://127.0.0.1:%d/healthz" % self.server.port], capture_output=True, text=True)
        self.assertNotEqual(r.returncode, 0)
        self.assertEqual(r.stdout, "000")
        status, _, _ = self.server.request("GET", "/healthz")
        self.assertEqual(status, 200)


if __name__ == "__main__":
    unittest.main()
