"""The namespaced part of the test-only stand-in API server (standin_apiserver.py): what the operator
commands (`status`, `gate`, `rollback`, `check`) read through kubectl, in the real wire format.

- GET one object or a list, by namespace: Canaries (the stand-in's own store), Services, ConfigMaps,
  Secrets, Deployments, DaemonSets and EndpointSlices (lists take an equality labelSelector).
- The services proxy: /api/v1/namespaces/<ns>/services/<[scheme:]svc[:port]>/proxy/<path> finds the
  Service and its port, dials the address a test routed that Service port to, and passes the answer
  through (status, Content-Type, body), as the API server does. A Service or port that does not exist,
  a Service port with no address, or an address that refuses the connection get the API server's
  answers: 404 NotFound, 503 ServiceUnavailable "no endpoints available ...", 503 "error trying to
  reach service: dial tcp ...".
- RBAC: with rules set (Role-like dicts), every resource request is authorized as the API server does
  (verb from the method: get, list, watch, create; resource with its subresource, e.g. services/proxy;
  the name as the path spells it, so a proxied Service's name carries its port), and a refusal is the
  403 Status with the API server's message. forbid() refuses one verb on one resource on top."""
import http.client
import json
import re
import ssl
import urllib.parse

KINDS = {
    ("v1", "Service"): ("/api/v1", "services"),
    ("v1", "ConfigMap"): ("/api/v1", "configmaps"),
    ("v1", "Secret"): ("/api/v1", "secrets"),
    ("apps/v1", "Deployment"): ("/apis/apps/v1", "deployments"),
    ("apps/v1", "DaemonSet"): ("/apis/apps/v1", "daemonsets"),
    ("discovery.k8s.io/v1", "EndpointSlice"): ("/apis/discovery.k8s.io/v1", "endpointslices"),
}
CANARY_PREFIX = "/apis/flagger.app/v1beta1"
PATH_RE = re.compile(r"^(/api/v1|/apis/[^/]+/[^/]+)/namespaces/([^/]+)/([^/]+)(?:/([^/]+)(?:/([^/]+)(/.*)?)?)?$")


def status_body(code, reason, message):
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message,
            "reason": reason, "code": code}


def parse_path(method, path, query):
    """Authorization attributes of a request, as the API server's RequestInfo reads them; None for a
    path that is neither a namespaced resource nor the cluster-wide list of Canaries."""
    if path == CANARY_PREFIX + "/canaries":
        return {"prefix": CANARY_PREFIX, "namespace": "", "resource": "canaries", "name": "", "subresource": "",
                "rest": "", "group": "flagger.app", "verb": "watch" if query.get("watch") in ("true", "1") else "list"}
    m = PATH_RE.match(path)
    if not m:
        return None
    prefix, ns, resource, name, sub, rest = m.groups()
    group = "" if prefix == "/api/v1" else prefix.split("/")[2]
    if method == "GET":
        verb = "get" if name else ("watch" if query.get("watch") in ("true", "1") else "list")
    else:
        verb = "create"
    return {"prefix": prefix, "namespace": ns, "resource": resource, "name": name or "", "subresource": sub or "",
            "rest": rest or "", "group": group, "verb": verb}


class Resources:
    """Objects, proxy routes and RBAC rules; the API server's lock (cond) guards them."""

    def __init__(self, api):
        self.api = api
        self.objects = {}   # (prefix, plural, namespace, name) -> object
        self.routes = {}    # (namespace, service, port) -> "host:port"
        self.rules = None   # None: everything is allowed
        self.forbidden = []
        self.user = "alice"

    # ---- what a test sets ----

    def put(self, obj):
        prefix, plural = KINDS[(obj["apiVersion"], obj["kind"])]
        meta = obj["metadata"]
        with self.api.cond:
            self.api._rv += 1
            meta["resourceVersion"] = str(self.api._rv)
            self.objects[(prefix, plural, meta["namespace"], meta["name"])] = json.loads(json.dumps(obj))

    def route(self, namespace, service, port, address):
        with self.api.cond:
            self.routes[(namespace, service, int(port))] = address

    # ---- authorization ----

    @staticmethod
    def _matches(rule, a):
        resource = a["resource"] + ("/" + a["subresource"] if a["subresource"] else "")
        # A rule bound in a namespace (a RoleBinding) grants nothing at the cluster scope.
        if rule.get("namespace") not in (None, a["namespace"]):
            return False
        if a["group"] not in rule["apiGroups"] and "*" not in rule["apiGroups"]:
            return False
        if resource not in rule["resources"] and "*" not in rule["resources"]:
            return False
        if a["verb"] not in rule["verbs"] and "*" not in rule["verbs"]:
            return False
        names = rule.get("resourceNames")
        return not names or a["name"] in names

    def authorize(self, a):
        """None when allowed, else the 403 Status body."""
        with self.api.cond:
            rules, forbidden, user = self.rules, list(self.forbidden), self.user
        resource = a["resource"] + ("/" + a["subresource"] if a["subresource"] else "")
        refused = any(v == a["verb"] and r == resource and ns in (None, a["namespace"]) for v, r, ns in forbidden)
        if not refused and (rules is None or any(self._matches(r, a) for r in rules)):
            return None
        qualified = a["resource"] + ("." + a["group"] if a["group"] else "")
        who = '%s "%s"' % (qualified, a["name"]) if a["name"] else qualified
        scope = 'in the namespace "%s"' % a["namespace"] if a["namespace"] else "at the cluster scope"
        return status_body(403, "Forbidden", '%s is forbidden: User "%s" cannot %s resource "%s" in API group "%s" %s'
                           % (who, user, a["verb"], resource, a["group"], scope))

    # ---- answers ----

    def get(self, a, query):
        """(code, body) for a GET of one object or a list."""
        if a["prefix"] == CANARY_PREFIX and a["resource"] == "canaries":
            with self.api.cond:
                items = {(CANARY_PREFIX, "canaries", ns, n): o for (ns, n), o in self.api._objects.items()}
                return self._answer(a, query, items, "flagger.app/v1beta1", "Canary")
        with self.api.cond:
            kind = [k for k, v in KINDS.items() if v == (a["prefix"], a["resource"])]
            if not kind:
                return 404, status_body(404, "NotFound", "the server could not find the requested resource")
            return self._answer(a, query, self.objects, kind[0][0], kind[0][1])

    def _answer(self, a, query, store, api_version, kind):
        key = (a["prefix"], a["resource"], a["namespace"])
        if a["name"]:
            obj = store.get(key + (a["name"],))
            if obj is None:
                group = "." + a["group"] if a["group"] else ""
                return 404, status_body(404, "NotFound", '%s%s "%s" not found' % (a["resource"], group, a["name"]))
            return 200, obj
        selector = dict(kv.split("=", 1) for kv in query.get("labelSelector", "").split(",") if "=" in kv)
        items = [o for k, o in sorted(store.items()) if k[:3] == key and
                 all(o["metadata"].get("labels", {}).get(lk) == lv for lk, lv in selector.items())]
        return 200, {"apiVersion": api_version, "kind": kind + "List",
                     "metadata": {"resourceVersion": str(self.api._rv)}, "items": items}

    def _service_port(self, a):
        """(address, scheme, None) for a proxy request, or (None, None, (code, Status))."""
        parts = a["name"].split(":")
        scheme = parts.pop(0) if len(parts) == 3 else "http"
        svc, port = parts[0], parts[1] if len(parts) > 1 else ""
        with self.api.cond:
            service = self.objects.get(("/api/v1", "services", a["namespace"], svc))
            if service is None:
                return None, None, (404, status_body(404, "NotFound", 'services "%s" not found' % svc))
            ports = service["spec"].get("ports", [])
            match = [p for p in ports if str(p["port"]) == port or p.get("name") == port or (not port and len(ports) == 1)]
            if not match:
                return None, None, (503, status_body(503, "ServiceUnavailable",
                                                     'no service port "%s" found for service "%s"' % (port, svc)))
            address = self.routes.get((a["namespace"], svc, int(match[0]["port"])))
        if address is None:
            return None, None, (503, status_body(503, "ServiceUnavailable",
                                                 'no endpoints available for service "%s"' % a["name"]))
        return address, scheme, None

    def proxy(self, method, a, body):
        """(code, content_type, body bytes) of the proxied answer."""
        address, scheme, failure = self._service_port(a)
        if failure:
            return failure[0], "application/json", json.dumps(failure[1]).encode()
        host, port = address.rsplit(":", 1)
        try:
            if scheme == "https":
                conn = http.client.HTTPSConnection(host, int(port), timeout=5, context=ssl._create_unverified_context())
            else:
                conn = http.client.HTTPConnection(host, int(port), timeout=5)
            headers = {"Content-Type": "application/json"} if body else {}
            conn.request(method, a["rest"] or "/", body=body or None, headers=headers)
            r = conn.getresponse()
            data = r.read()
            conn.close()
            return r.status, r.getheader("Content-Type"), data
        except OSError as e:
            reason = "connect: connection refused" if isinstance(e, ConnectionRefusedError) else str(e)
            msg = "error trying to reach service: dial tcp %s: %s" % (address, reason)
            return 503, "application/json", json.dumps(status_body(503, "ServiceUnavailable", msg)).encode()


def query_of(path):
    url = urllib.parse.urlsplit(path)
    return url.path, dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
