"""Test-only stand-in for Flagger's loadtester (pkg/loadtester/server.go and gate.go): just its gate
endpoints, with the real semantics, served over plain HTTP on loopback.

- /gate/check, /rollback/check: 200 "Approved" when open, 403 "Forbidden" when closed; a key never set
  reads closed. Keys: "<name>.<namespace>" for the traffic gate, "rollback.<name>.<namespace>" for the
  rollback gate, from the JSON body {"name", "namespace"}.
- /gate/open, /gate/close, /rollback/open, /rollback/close: 202 with an empty body.
- /gate/approve: always 200 "OK"; /gate/halt: always 403 "Forbidden".
- A body that is not JSON: 400. Any other path is the task API: 400 without "metadata". A namespace that the -namespace-regexp (namespace_regexp) does not match:
  403 "Forbidden" on every gate endpoint.
- Bodies are text/plain, as Go's http server sniffs them; the API server's proxy passes that through.

test_loadtester_contract.py states these semantics as a contract (and can run it against a real
loadtester); the operator tests reach this stand-in through the stand-in API server's service proxy."""
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CHECKS = {"/gate/check": "", "/rollback/check": "rollback."}
ACTIONS = {"/gate/open": ("", True), "/gate/close": ("", False),
           "/rollback/open": ("rollback.", True), "/rollback/close": ("rollback.", False)}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def _answer(self, code, text=b""):
        self.send_response(code)
        if text:
            self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(text)))
        self.end_headers()
        self.wfile.write(text)

    def _payload(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        try:
            p = json.loads(body)
        except ValueError:
            return None
        return p if isinstance(p, dict) else None

    def do_POST(self):
        lt = self.server.lt
        path = self.path.split("?", 1)[0]
        payload = self._payload() if path not in ("/gate/approve", "/gate/halt") else {}
        with lt.lock:
            lt.requests.append((path, payload))
        if path == "/gate/approve":
            return self._answer(200, b"OK")
        if path == "/gate/halt":
            return self._answer(403, b"Forbidden")
        if payload is None:
            return self._answer(400)
        name, ns = str(payload.get("name", "")), str(payload.get("namespace", ""))
        if lt.namespace_regexp and not re.search(lt.namespace_regexp, ns):
            return self._answer(403, b"Forbidden")
        if path not in CHECKS and path not in ACTIONS:
            # Every other path is the task API ("/"): a payload without metadata is refused.
            if not payload.get("metadata"):
                return self._answer(400, b"metadata not found in payload")
            return self._answer(202)
        if path in CHECKS:
            with lt.lock:
                is_open = lt.gates.setdefault("%s%s.%s" % (CHECKS[path], name, ns), False)
            return self._answer(200, b"Approved") if is_open else self._answer(403, b"Forbidden")
        prefix, value = ACTIONS[path]
        with lt.lock:
            lt.gates["%s%s.%s" % (prefix, name, ns)] = value
        return self._answer(202)

    do_GET = do_POST


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # A client that hangs up (a killed command, the proxy's closed connection) is not a test failure.
        pass


class StandinLoadtester:
    """Start with StandinLoadtester(); stop with stop(). url is its base URL; gates holds the state."""

    def __init__(self, namespace_regexp=None):
        self.lock = threading.Lock()
        self.gates = {}
        self.requests = []
        self.namespace_regexp = namespace_regexp
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.lt = self
        self.port = self._httpd.server_address[1]
        self.address = "127.0.0.1:%d" % self.port
        self.url = "http://" + self.address
        threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def is_open(self, name, namespace, rollback=False):
        with self.lock:
            return self.gates.get("%s%s.%s" % ("rollback." if rollback else "", name, namespace), False)

    def set(self, name, namespace, is_open, rollback=False):
        with self.lock:
            self.gates["%s%s.%s" % ("rollback." if rollback else "", name, namespace)] = is_open

    def restart(self):
        """A restarted loadtester pod forgets every gate."""
        with self.lock:
            self.gates = {}

    def stop(self):
        self._httpd.shutdown()
        self._httpd.server_close()
