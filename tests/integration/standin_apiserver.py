"""Test-only stand-in for the Kubernetes API server: the canaries.flagger.app v1beta1 resource in all
namespaces, as manual-gate's Canary cache reads it, core/v1 Event creation, as its Events queue posts, plus
(standin_resources.py) the namespaced objects, services proxy and RBAC that the operator commands use
through kubectl, and /version, which some kubectl wrappers ask first.

It speaks the real wire format: GET /apis/flagger.app/v1beta1/canaries answers a CanaryList with
metadata.resourceVersion and items, in pages (limit, metadata.continue); with ?watch=true it answers a
chunked stream (Transfer-Encoding: chunked), one JSON event per line (ADDED, MODIFIED, DELETED, BOOKMARK,
ERROR), starting after the requested resourceVersion. Every object carries metadata.resourceVersion.

The test drives it: put()/delete() push events to open watches, bookmark(), drop_watches() cuts streams
mid-flight, gone_on_next_watch() answers the next watch with 410 Gone (an HTTP 410 or an ERROR event with
code 410), require_token() answers 401 unless the bearer token matches, go_down()/come_back() refuse
connections and listen again on the same port. watch_fault() makes every watch misbehave as a broken or
hostile API server would (an undecodable line, an ERROR event with code 500, headers and then silence, an
event over the client's 8 MiB line cap), until it is cleared; bookmark_interval sends a BOOKMARK to every
open watch that often, as the API server does about once a minute. requests() says what the client asked
and when, so a test can check the resourceVersion a resumed watch starts from, or count retries.

Events: POST /api/v1/namespaces/NS/events answers 201 with the Event (checked as the API server checks it:
kind Event, metadata.namespace and involvedObject.namespace equal to NS, a name) and records it; events()
returns them. hold_events() makes each POST wait until release_events(), event_status(code) answers
every POST with that status instead. Plain HTTP, or TLS with the harness certificates."""
import base64
import copy
import json
import os
import socket
import ssl
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standin_resources import Resources, parse_path

CANARIES = "/apis/flagger.app/v1beta1/canaries"
VERSION = {"major": "1", "minor": "32", "gitVersion": "v1.32.4", "platform": "linux/amd64"}


def status_body(code, reason, message):
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message,
            "reason": reason, "code": code}


class _Watch:
    """One open watch stream: events queued for its handler thread."""

    def __init__(self):
        self.queue = []
        self.dropped = False
        self.ended = False
        self.silent = False


def _is_event_post(path):
    parts = urllib.parse.urlsplit(path).path.split("/")
    return len(parts) == 6 and parts[:4] == ["", "api", "v1", "namespaces"] and parts[5] == "events"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def setup(self):
        super().setup()
        with self.server.api.cond:
            self.server.api._conns.add(self.connection)

    def finish(self):
        try:
            super().finish()
        finally:
            with self.server.api.cond:
                self.server.api._conns.discard(self.connection)

    def _body(self):
        """The request body, also when kubectl sends it chunked (`create --raw -f -` does)."""
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def _begin(self, method):
        api = self.server.api
        url = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
        watch = query.get("watch") in ("true", "1")
        body = self._body() if method == "POST" else b""
        record = {"method": method, "path": url.path, "query": query, "watch": watch, "body": body,
                  "authorization": self.headers.get("Authorization"), "status": None, "time": time.time()}
        with api.cond:
            api._requests.append(record)
            tokens = api._tokens
        return url, query, watch, body, record, tokens

    def do_GET(self):
        url, query, watch, _, record, tokens = self._begin("GET")
        if url.path == "/version":
            return self._json(200, VERSION, record)
        if tokens is not None and self.headers.get("Authorization") not in ["Bearer " + t for t in tokens]:
            return self._json(401, status_body(401, "Unauthorized", "Unauthorized"), record)
        if url.path != CANARIES:
            return self._resource("GET", url.path, query, b"", record)
        refusal = self.server.api.resources.authorize(parse_path("GET", url.path, query))
        if refusal:
            return self._json(403, refusal, record)
        if watch:
            return self._watch(query, record)
        return self._list(query, record)

    def do_POST(self):
        if _is_event_post(self.path):
            return self._post_event()
        url, query, _, body, record, tokens = self._begin("POST")
        if tokens is not None and self.headers.get("Authorization") not in ["Bearer " + t for t in tokens]:
            return self._json(401, status_body(401, "Unauthorized", "Unauthorized"), record)
        return self._resource("POST", url.path, query, body, record)

    def _resource(self, method, path, query, body, record):
        res = self.server.api.resources
        a = parse_path(method, path, query)
        if a is None or (method == "POST" and a["subresource"] != "proxy"):
            return self._json(404, status_body(404, "NotFound", "the server could not find the requested resource"),
                              record)
        refusal = res.authorize(a)
        if refusal:
            return self._json(403, refusal, record)
        if a["subresource"] == "proxy" and a["resource"] == "services":
            code, ctype, data = res.proxy(method, a, body)
            return self._raw(code, ctype, data, record)
        code, obj = res.get(a, query)
        return self._json(code, obj, record)

    def _raw(self, code, ctype, data, record):
        record["status"] = code
        self.send_response(code)
        if ctype:
            self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def _post_event(self):
        """POST /api/v1/namespaces/NS/events: recorded, held or refused as the test says."""
        api = self.server.api
        url = urllib.parse.urlsplit(self.path)
        record = {"path": url.path, "query": {}, "watch": None, "method": "POST",
                  "authorization": self.headers.get("Authorization"), "status": None, "time": time.time()}
        with api.cond:
            api._requests.append(record)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        parts = url.path.split("/")
        with api.cond:
            tokens = api._tokens
            api._events_waiting += 1
            api.cond.notify_all()
            while api._events_held and not api._stopping:
                api.cond.wait(0.1)
            api._events_waiting -= 1
            status = api._event_status
        if tokens is not None and self.headers.get("Authorization") not in ["Bearer " + t for t in tokens]:
            return self._json(401, status_body(401, "Unauthorized", "Unauthorized"), record)
        if self.headers.get("Content-Type", "").split(";")[0] != "application/json":
            return self._json(415, status_body(415, "UnsupportedMediaType", "want application/json"), record)
        try:
            ev = json.loads(body)
        except ValueError:
            return self._json(400, status_body(400, "BadRequest", "not JSON"), record)
        ns = parts[4]
        meta = ev.get("metadata") or {}
        inv = ev.get("involvedObject") or {}
        if ev.get("kind") != "Event" or ev.get("apiVersion") != "v1" or not meta.get("name") or \
                meta.get("namespace") != ns or inv.get("namespace") != ns:
            return self._json(422, status_body(422, "Invalid", "Event is invalid"), record)
        if status is not None:
            return self._json(status, status_body(status, "InternalError", "stand-in told to fail Events"), record)
        with api.cond:
            api._rv += 1
            meta["resourceVersion"] = str(api._rv)
            meta["uid"] = "event-%d" % api._rv
            api._events.append(ev)
            api.cond.notify_all()
        return self._json(201, ev, record)

    def _json(self, code, obj, record):
        body = json.dumps(obj).encode()
        record["status"] = code
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def _list(self, query, record):
        api = self.server.api
        with api.cond:
            if api._list_status is not None:
                code = api._list_status
                return self._json(code, status_body(code, "InternalError", "stand-in told to fail lists"), record)
            limit = int(query.get("limit") or 0)
            if api.page_size:
                limit = min(limit, api.page_size) if limit else api.page_size
            cont = query.get("continue")
            if cont:
                snap = api._snapshots.get(cont)
                if snap is None:
                    return self._json(410, status_body(410, "Expired", "the continue token has expired"), record)
                rv, items, offset = snap
            else:
                rv = str(api._rv)
                items = [copy.deepcopy(api._objects[k]) for k in sorted(api._objects)]
                offset = 0
            page = items[offset:offset + limit] if limit else items[offset:]
            meta = {"resourceVersion": rv}
            if limit and offset + limit < len(items):
                token = base64.b64encode(json.dumps({"rv": rv, "start": offset + limit}).encode()).decode()
                api._snapshots[token] = (rv, items, offset + limit)
                meta["continue"] = token
            body = {"apiVersion": "flagger.app/v1beta1", "kind": "CanaryList", "metadata": meta, "items": page}
        return self._json(200, body, record)

    def _chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def _watch(self, query, record):
        api = self.server.api
        w = _Watch()
        with api.cond:
            gone = api._gone_next_watch
            api._gone_next_watch = None
            if gone == "http":
                return self._json(410, status_body(410, "Expired", "too old resource version"), record)
            try:
                since = int(query.get("resourceVersion") or 0)
            except ValueError:
                since = 0
            fault = api._watch_fault
            if fault == "oversized":
                # A controller keeps rewriting a Canary too large for one watch line: each watch finds a
                # new version of it (a list carries it: lists have no line cap).
                api.put(api.huge_canary())
            w.silent = fault == "silent"
            if gone == "event" or since < api._compacted:
                w.queue.append({"type": "ERROR", "object": status_body(
                    410, "Expired", "too old resource version: %d (%d)" % (since, api._compacted))})
                w.ended = True
            else:
                w.queue.extend(copy.deepcopy(ev) for rv, ev in api._history if rv > since)
            api._watches.append(w)
            api.cond.notify_all()
        record["status"] = 200
        self.close_connection = True
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.flush()
            if fault == "bad_line":
                self._chunk(b'{"type":"MODIFIED","object":{"kind":"Canary"\n')
            elif fault == "error_500":
                with api.cond:
                    w.queue.insert(0, {"type": "ERROR", "object": status_body(
                        500, "InternalError", "stand-in told to fail watches")})
                    w.ended = True
            while True:
                with api.cond:
                    while not w.queue and not w.dropped and not w.ended and not api._stopping:
                        api.cond.wait(0.2)
                    if w.silent:
                        w.queue = []
                    events, w.queue = w.queue, []
                    dropped = w.dropped or api._stopping
                    ended = w.ended
                if dropped:
                    # Cut the connection mid-stream, without the terminating chunk: a broken stream.
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                for ev in events:
                    self._chunk(json.dumps(ev, separators=(",", ":")).encode() + b"\n")
                if ended:
                    self.wfile.write(b"0\r\n\r\n")
                    self.wfile.flush()
                    return
        except OSError:
            return
        finally:
            with api.cond:
                if w in api._watches:
                    api._watches.remove(w)
                api.cond.notify_all()


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # Clients that refuse our certificate or hang up are what some tests are about: no tracebacks.
        pass


class StandinAPIServer:
    """Start with StandinAPIServer(); stop with stop() (or use it as a context manager)."""

    def __init__(self, cert_dir=None, token=None, page_size=None, port=None, bookmark_interval=None):
        """cert_dir: serve TLS with its tls.crt/tls.key (the harness certificates); token: the only bearer
        token accepted; page_size: answer lists in pages of at most this many, whatever the limit;
        bookmark_interval: seconds between the BOOKMARKs sent to every open watch (None: only bookmark())."""
        self.cond = threading.Condition()
        self.cert_dir = cert_dir
        self.page_size = page_size
        self._tokens = None if token is None else (token,)
        self._rv = 1000
        self._objects = {}
        self._history = []
        self._compacted = 0
        self._watches = []
        self._requests = []
        self._snapshots = {}
        self._conns = set()
        self._gone_next_watch = None
        self._list_status = None
        self._events = []
        self._events_held = False
        self._events_waiting = 0
        self._event_status = None
        self._watch_fault = None
        self._closed = False
        self._stopping = False
        self._httpd = None
        self.resources = Resources(self)
        self.port = port or self._free_port()
        self.come_back()
        if bookmark_interval:
            threading.Thread(target=self._bookmarks, args=(bookmark_interval,), daemon=True).start()

    def _bookmarks(self, interval):
        with self.cond:
            while not self._closed:
                self.cond.wait(interval)
                if not self._closed:
                    self.bookmark(advance=False)

    @staticmethod
    def _free_port():
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        return port

    @property
    def url(self):
        host = "localhost" if self.cert_dir else "127.0.0.1"
        return "%s://%s:%d" % ("https" if self.cert_dir else "http", host, self.port)

    # ---- objects and events ----

    def put(self, obj):
        """Create or replace a Canary (ADDED or MODIFIED to every watch); returns its resourceVersion."""
        obj = copy.deepcopy(obj)
        key = (obj["metadata"]["namespace"], obj["metadata"]["name"])
        with self.cond:
            self._rv += 1
            obj["metadata"]["resourceVersion"] = str(self._rv)
            kind = "MODIFIED" if key in self._objects else "ADDED"
            self._objects[key] = obj
            self._event(kind, obj)
            return str(self._rv)

    def delete(self, namespace, name):
        with self.cond:
            obj = self._objects.pop((namespace, name))
            self._rv += 1
            obj = copy.deepcopy(obj)
            obj["metadata"]["resourceVersion"] = str(self._rv)
            self._event("DELETED", obj)
            return str(self._rv)

    def bookmark(self, advance=True):
        """Advance the resourceVersion (as other writes in the cluster do; advance=False: not) and send a
        BOOKMARK with it."""
        with self.cond:
            if advance:
                self._rv += 1
            ev = {"type": "BOOKMARK", "object": {"apiVersion": "flagger.app/v1beta1", "kind": "Canary",
                                                  "metadata": {"resourceVersion": str(self._rv)}}}
            for w in self._watches:
                w.queue.append(ev)
            self.cond.notify_all()
            return str(self._rv)

    def _event(self, kind, obj):
        ev = {"type": kind, "object": obj}
        self._history.append((self._rv, ev))
        for w in self._watches:
            w.queue.append(copy.deepcopy(ev))
        self.cond.notify_all()

    # ---- other namespaced objects, the services proxy and RBAC (standin_resources.py) ----

    def put_object(self, obj):
        """Create or replace a Service, ConfigMap, Secret, Deployment, DaemonSet or EndpointSlice."""
        self.resources.put(obj)

    def route_service(self, namespace, service, port, address):
        """Send the services proxy for this Service port to address ("127.0.0.1:PORT")."""
        self.resources.route(namespace, service, port, address)

    def authorize_with(self, rules, user="alice"):
        """Allow only what these Role-like rules grant (dicts: apiGroups, resources, verbs, optional
        resourceNames and namespace); None allows everything again."""
        with self.cond:
            self.resources.rules = rules
            self.resources.user = user

    def forbid(self, verb, resource, namespace=None):
        """Refuse one verb on one resource ("services/proxy" for the proxy), in one namespace or all."""
        with self.cond:
            self.resources.forbidden.append((verb, resource, namespace))

    # ---- failures ----

    def drop_watches(self):
        """Cut every open watch stream mid-flight."""
        with self.cond:
            for w in self._watches:
                w.dropped = True
            self.cond.notify_all()

    def end_watches(self):
        """End every open watch cleanly, as the API server does at timeoutSeconds."""
        with self.cond:
            for w in self._watches:
                w.ended = True
            self.cond.notify_all()

    def watch_fault(self, fault):
        """Make every new watch misbehave until watch_fault(None): "bad_line" (an undecodable line after the
        headers), "error_500" (an ERROR event with code 500, then the end), "silent" (headers, then nothing:
        open watches fall silent too), "oversized" (a Canary of 9 MiB is rewritten for each watch, whose
        first event is then over the client's line cap)."""
        assert fault in (None, "bad_line", "error_500", "silent", "oversized"), fault
        with self.cond:
            self._watch_fault = fault
            if fault == "silent":
                for w in self._watches:
                    w.silent = True
            self.cond.notify_all()

    def huge_canary(self):
        """test/huge, a Canary of about 9 MiB (a big annotation), not gated."""
        with self.cond:
            self._huge = getattr(self, "_huge", 0) + 1
        return {"apiVersion": "flagger.app/v1beta1", "kind": "Canary",
                "metadata": {"name": "huge", "namespace": "test",
                             "annotations": {"pad": "%d" % self._huge + "x" * (9 << 20)}},
                "spec": {"targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "huge"},
                         "service": {"port": 80}, "analysis": {"interval": "1m", "webhooks": []}},
                "status": {"phase": "Succeeded", "canaryWeight": 0}}

    def gone_on_next_watch(self, how="http"):
        """Answer the next watch with 410 Gone: how="http" (the status) or "event" (an ERROR event)."""
        with self.cond:
            self._gone_next_watch = how

    def compact(self):
        """Forget history: a watch from an older resourceVersion gets an ERROR event with code 410."""
        with self.cond:
            self._compacted = self._rv
            self._history = []

    def fail_lists(self, code=500):
        """Answer lists with this HTTP status (None: answer them again)."""
        with self.cond:
            self._list_status = code

    def require_token(self, *tokens):
        """Answer 401 unless the request carries "Authorization: Bearer <token>" with one of these tokens
        (none given: no check)."""
        with self.cond:
            self._tokens = tokens or None

    def go_down(self):
        """Stop listening (connections are refused) and cut every open stream."""
        with self.cond:
            self._stopping = True
            self.cond.notify_all()
            httpd, self._httpd = self._httpd, None
            conns = list(self._conns)
        if httpd:
            httpd.shutdown()
            httpd.server_close()
        # Kept-alive connections too: a client must not get through on an old one.
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.wait_watches(0)

    def come_back(self):
        """Listen again on the same port."""
        httpd = _HTTPServer(("127.0.0.1", self.port), _Handler)
        httpd.api = self
        if self.cert_dir:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(os.path.join(self.cert_dir, "tls.crt"), os.path.join(self.cert_dir, "tls.key"))
            # The handshake then happens in the request's thread, not in the accept loop.
            httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True, do_handshake_on_connect=False)
        with self.cond:
            self._stopping = False
            self._httpd = httpd
        threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def stop(self):
        with self.cond:
            self._closed = True
            self.cond.notify_all()
        self.go_down()

    # ---- Events ----

    def events(self):
        """The Events accepted so far, in order."""
        with self.cond:
            return copy.deepcopy(self._events)

    def wait_events(self, n, timeout=10):
        """Wait until at least n Events were accepted; returns them."""
        deadline = time.time() + timeout
        with self.cond:
            while len(self._events) < n and time.time() < deadline:
                self.cond.wait(0.05)
            return copy.deepcopy(self._events)

    def hold_events(self):
        """Make every Event POST wait (the connection stays open) until release_events()."""
        with self.cond:
            self._events_held = True

    def release_events(self):
        with self.cond:
            self._events_held = False
            self.cond.notify_all()

    def wait_event_posts_waiting(self, n, timeout=10):
        """Wait until n Event POSTs are being held; True if it happened."""
        deadline = time.time() + timeout
        with self.cond:
            while self._events_waiting < n and time.time() < deadline:
                self.cond.wait(0.05)
            return self._events_waiting >= n

    def event_status(self, code):
        """Answer every Event POST with this HTTP status (None: accept them again)."""
        with self.cond:
            self._event_status = code

    # ---- what the client did ----

    def requests(self, watch=None):
        """Requests so far (dicts: method, path, query, watch, body, authorization, status, time), optionally only
        watches (watch=True) or only lists (watch=False)."""
        with self.cond:
            return [dict(r) for r in self._requests if watch is None or r["watch"] == watch]

    def open_watches(self):
        with self.cond:
            return len(self._watches)

    def wait_watches(self, n, timeout=10):
        """Wait until exactly n watch streams are open; True if it happened."""
        deadline = time.time() + timeout
        with self.cond:
            while len(self._watches) != n:
                left = deadline - time.time()
                if left <= 0:
                    return False
                self.cond.wait(left)
            return True

    def wait_requests(self, pred, timeout=10):
        """Wait until some request satisfies pred; returns it, or None."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            for r in self.requests():
                if pred(r):
                    return r
            time.sleep(0.02)
        return None

    @property
    def resource_version(self):
        with self.cond:
            return str(self._rv)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
