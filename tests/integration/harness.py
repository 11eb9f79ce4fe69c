"""Test-only helpers for the integration tests: certificates, starting the real manual-gate binary,
and talking to it over TLS the way the API server does (HTTP/1.1, keep-alive, verified certificate).

The binary under test is $MG_BIN (the Makefile sets it to the normal or the sanitizer build)."""
import base64
import http.client
import json
import os
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import unittest
import uuid

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.path.abspath(os.environ.get("MG_BIN", os.path.join(ROOT, "build", "manual-gate")))
FIXTURES = os.path.join(ROOT, "tests", "fixtures")
FLAGGER = os.path.join(FIXTURES, "flagger")  # Flagger's CRD and example Canaries (see its README)

_certs = None


def certs():
    """A CA and serving certificate made once per run by the project's own certs tool."""
    global _certs
    if _certs is None:
        d = tempfile.mkdtemp(prefix="mg-certs-")
        subprocess.run([os.path.join(ROOT, "certs", "make-certs.sh"), "--out", d],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _certs = d
    return _certs


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Server:
    """The real binary, started with `serve` on a free loopback port and test certificates."""

    def __init__(self, *extra, cert_dir=None, env=None):
        self.cert_dir = cert_dir or certs()
        self.port = free_port()
        self.log = tempfile.NamedTemporaryFile(prefix="mg-log-", suffix=".jsonl", delete=False)
        args = [BIN, "serve", "--listen", "127.0.0.1:%d" % self.port,
                "--tls-cert", os.path.join(self.cert_dir, "tls.crt"),
                "--tls-key", os.path.join(self.cert_dir, "tls.key")] + list(extra)
        e = dict(os.environ)
        e.setdefault("ASAN_OPTIONS", "detect_leaks=1")
        # Tests stop their servers at once unless they test the delay (a flag overrides this).
        e.setdefault("MANUAL_GATE_SHUTDOWN_DELAY", "0")
        if env:
            e.update(env)
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=self.log, env=e)
        self.wait_healthy()

    def ssl_context(self):
        ctx = ssl.create_default_context(cafile=os.path.join(self.cert_dir, "ca.crt"))
        return ctx

    def conn(self, timeout=10):
        return http.client.HTTPSConnection("localhost", self.port, context=self.ssl_context(), timeout=timeout)

    def wait_healthy(self, timeout=15):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("manual-gate exited %s at start:\n%s" % (self.proc.returncode, self.logs()))
            try:
                c = self.conn(timeout=1)
                c.request("GET", "/healthz")
                if c.getresponse().status == 200:
                    c.close()
                    return
            except (OSError, http.client.HTTPException):
                pass
            time.sleep(0.05)
        raise RuntimeError("manual-gate not healthy after %ss:\n%s" % (timeout, self.logs()))

    def request(self, method, path, body=None, headers=None, conn=None):
        """Returns (status, body bytes, headers dict)."""
        c = conn or self.conn()
        h = {"Content-Type": "application/json"} if body is not None else {}
        h.update(headers or {})
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        data = r.read()
        hdrs = {k.lower(): v for k, v in r.getheaders()}
        if conn is None:
            c.close()
        return r.status, data, hdrs

    def review(self, path, request, conn=None):
        """POST an AdmissionReview with this request; returns the decoded response object."""
        body = {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": request}
        status, data, _ = self.request("POST", path + "?timeout=10s", body, conn=conn)
        if status != 200:
            raise AssertionError("HTTP %d: %r" % (status, data[:300]))
        out = json.loads(data)
        assert out["apiVersion"] == "admission.k8s.io/v1" and out["kind"] == "AdmissionReview", out
        assert out["response"]["uid"] == request["uid"], out
        return out["response"]

    def logs(self):
        with open(self.log.name, "r", errors="replace") as f:
            return f.read()

    def log_lines(self):
        out = []
        for line in self.logs().splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                out.append({"raw": line})
        return out

    def stop(self, sig=signal.SIGTERM, timeout=20):
        """Stop the server; returns its exit code. A sanitizer report makes the code non-zero."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
        os.unlink(self.log.name)


def stop_checked(server):
    """Stop a server a test started and remove its log; AssertionError with the log's end when it did not
    exit 0 (sanitizer findings, leaks, crashes)."""
    rc = server.stop()
    logs = server.logs()
    os.unlink(server.log.name)
    if rc != 0:
        raise AssertionError("manual-gate exited %s:\n%s" % (rc, logs[-4000:]))


def wait_ready(server, timeout=10):
    """The file source is read in the background: wait until /readyz says the first list is in."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        status, _, _ = server.request("GET", "/readyz")
        if status == 200:
            return
        time.sleep(0.05)
    raise AssertionError("/readyz not 200 after %ss:\n%s" % (timeout, server.logs()[-2000:]))


class ServerTest(unittest.TestCase):
    """Base class: one server per test class (SERVER_ARGS), stopped at the end; the test class fails if
    the server did not exit 0 (sanitizer findings, leaks, crashes)."""
    SERVER_ARGS = ()
    WAIT_READY = False  # also wait for /readyz (the Canary source read) before the tests run

    @classmethod
    def setUpClass(cls):
        cls.server = Server(*cls.SERVER_ARGS)
        if cls.WAIT_READY:
            try:
                wait_ready(cls.server)
            except Exception:
                cls.server.stop()
                raise

    @classmethod
    def tearDownClass(cls):
        rc = cls.server.stop()
        logs = cls.server.logs()
        os.unlink(cls.server.log.name)
        if rc != 0:
            raise AssertionError("manual-gate exited %s:\n%s" % (rc, logs[-4000:]))


def admission_request(kind, obj=None, old=None, operation="UPDATE", namespace="default", name=None,
                      group=None, version=None, dry_run=False, username="alice", groups=("system:authenticated",)):
    """A request as the API server sends it, with a fresh uid."""
    groups_by_kind = {"Deployment": ("apps", "v1"), "DaemonSet": ("apps", "v1"), "Canary": ("flagger.app", "v1beta1"),
                      "ConfigMap": ("", "v1"), "Secret": ("", "v1")}
    g, v = groups_by_kind.get(kind, ("", "v1"))
    g = g if group is None else group
    v = v if version is None else version
    src = obj or old or {}
    name = name if name is not None else src.get("metadata", {}).get("name", "")
    plural = kind.lower() + ("es" if kind.endswith("s") else "s")
    return {
        "uid": str(uuid.uuid4()),
        "kind": {"group": g, "version": v, "kind": kind},
        "resource": {"group": g, "version": v, "resource": plural},
        "requestKind": {"group": g, "version": v, "kind": kind},
        "requestResource": {"group": g, "version": v, "resource": plural},
        "name": name, "namespace": namespace, "operation": operation,
        "userInfo": {"username": username, "groups": list(groups)},
        "object": obj, "oldObject": old, "dryRun": dry_run,
        "options": {"apiVersion": "meta.k8s.io/v1", "kind": "UpdateOptions"} if operation == "UPDATE" else None,
    }


def decode_patch(resp):
    """The JSON Patch ops of a response, [] when it carries none."""
    if "patch" not in resp:
        return []
    assert resp.get("patchType") == "JSONPatch", resp
    return json.loads(base64.b64decode(resp["patch"]))


def kubectl_patch(obj, ops):
    """Apply a JSON Patch with `kubectl patch --local --type=json`: the library the API server uses."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(obj, f)
    try:
        r = subprocess.run(["kubectl", "patch", "--local", "-f", f.name, "--type=json", "-p", json.dumps(ops),
                            "-o", "json"], capture_output=True, text=True, timeout=60)
    finally:
        os.unlink(f.name)
    if r.returncode != 0:
        raise AssertionError("kubectl patch failed: %s\nops: %s" % (r.stderr, json.dumps(ops)))
    return json.loads(r.stdout)
