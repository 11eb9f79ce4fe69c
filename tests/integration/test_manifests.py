"""The install manifests (manifests/), the path without cert-manager (certs/install-secret.sh) and the
Dockerfile, checked without a cluster:

- every rendered object validates against Kubernetes' own OpenAPI schemas, offline, with the npm packages
  kubernetes-models, @kubernetes-models/cert-manager and @kubernetes-models/prometheus-operator
  (tests/k8s-schema/, pinned by its package-lock.json; `make deps` and `make integration` run npm ci);

- every variant renders with `kubectl kustomize`;
- every rendered object passes `kubectl apply --dry-run=client --validate=false`. kubectl needs an API
  server's discovery to map kinds to resources even for a client dry run, so the test serves a fake
  discovery document on loopback (no objects: every GET of an object is a 404, so each is "created (dry
  run)") and asserts that kubectl sent it no write;
- a JSON schema of our own for the webhook configurations, plus per-variant expectations;
- the matchConditions (CEL) are parsed and evaluated on sample requests by a small evaluator of the
  CEL subset they use (no CEL library is available to these tests: this checks syntax and meaning of
  that subset, not a full CEL compile);
- the Deployment's security settings, the RBAC rules, the selectors and the PDB.

It does not start the server (no ServerTest)."""
import base64
import copy
import http.server
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import unittest

import jsonschema
import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.path.abspath(os.environ.get("MG_BIN", os.path.join(ROOT, "build", "manual-gate")))
NAMESPACE = "manual-gate"
EXCLUDED_NAMESPACES = ("manual-gate", "kube-system")
TLS_DIR = "/etc/manual-gate/tls"

# Kustomize directories under manifests/, by variant name.
VARIANTS = {
    "default": "manifests",
    "cert-manager": "manifests/overlays/cert-manager",
    "no-match-conditions": "manifests/overlays/no-match-conditions",
    "secrets": "manifests/overlays/secrets",
    "prometheus-operator": "manifests/overlays/prometheus-operator",
}
# The output of certs/install-secret.sh (default rules + rendered caBundle), checked like a variant.
SECRET_PATH = "install-secret"

MUTATE_CANARIES = "canaries.mutate.manual-gate.io"
VALIDATE_CANARIES = "canaries.validate.manual-gate.io"
VALIDATE_WORKLOADS = "workloads.validate.manual-gate.io"
VALIDATE_CONFIGMAPS = "configmaps.validate.manual-gate.io"
VALIDATE_SECRETS = "secrets.validate.manual-gate.io"

# name: (configuration kind, path, failurePolicy, rules as (group, version, resources, operations))
WEBHOOKS = {
    MUTATE_CANARIES: ("MutatingWebhookConfiguration", "/mutate", "Fail",
                      [("flagger.app", "v1beta1", {"canaries"}, {"CREATE", "UPDATE"})]),
    VALIDATE_CANARIES: ("ValidatingWebhookConfiguration", "/validate", "Fail",
                        [("flagger.app", "v1beta1", {"canaries"}, {"CREATE", "UPDATE", "DELETE"})]),
    VALIDATE_WORKLOADS: ("ValidatingWebhookConfiguration", "/validate", "Ignore",
                         [("apps", "v1", {"deployments", "daemonsets"}, {"UPDATE"})]),
    VALIDATE_CONFIGMAPS: ("ValidatingWebhookConfiguration", "/validate", "Ignore",
                          [("", "v1", {"configmaps"}, {"UPDATE", "DELETE"})]),
    VALIDATE_SECRETS: ("ValidatingWebhookConfiguration", "/validate", "Ignore",
                       [("", "v1", {"secrets"}, {"UPDATE", "DELETE"})]),
}
DEFAULT_HOOKS = {MUTATE_CANARIES, VALIDATE_CANARIES, VALIDATE_WORKLOADS, VALIDATE_CONFIGMAPS}
IMAGE = "registry.example.com/platform/manual-gate:v9.8.7"  # what the tests render install-secret.sh with
FILTERED_HOOKS = {VALIDATE_WORKLOADS, VALIDATE_CONFIGMAPS, VALIDATE_SECRETS}

# variant: (webhook names, names carrying matchConditions, CA source: "none", "inject" or "bundle")
EXPECT = {
    "default": (DEFAULT_HOOKS, DEFAULT_HOOKS, "none"),
    "cert-manager": (DEFAULT_HOOKS, DEFAULT_HOOKS, "inject"),
    "no-match-conditions": (DEFAULT_HOOKS, set(), "none"),
    "secrets": (DEFAULT_HOOKS | {VALIDATE_SECRETS}, DEFAULT_HOOKS | {VALIDATE_SECRETS}, "none"),
    "prometheus-operator": (DEFAULT_HOOKS, DEFAULT_HOOKS, "none"),
    SECRET_PATH: (DEFAULT_HOOKS, DEFAULT_HOOKS, "bundle"),
}

QUALIFIED = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
WEBHOOK_ENTRY_SCHEMA = {
    "type": "object",
    "required": ["name", "admissionReviewVersions", "sideEffects", "matchPolicy", "failurePolicy",
                 "timeoutSeconds", "clientConfig", "rules", "namespaceSelector"],
    # additionalProperties: false catches a misspelt field, which the API server would drop silently.
    "additionalProperties": False,
    "properties": {
        # The API server wants a fully qualified name: at least three DNS labels.
        "name": {"type": "string", "maxLength": 253, "pattern": "^%s(\\.%s){2,}$" % (QUALIFIED, QUALIFIED)},
        "admissionReviewVersions": {"const": ["v1"]},
        # Events about denials and overrides are side effects, never made on a dry run.
        "sideEffects": {"const": "NoneOnDryRun"},
        "matchPolicy": {"const": "Equivalent"},
        "failurePolicy": {"enum": ["Fail", "Ignore"]},
        "timeoutSeconds": {"type": "integer", "minimum": 1, "maximum": 30},
        "reinvocationPolicy": {"enum": ["Never", "IfNeeded"]},
        "clientConfig": {
            "type": "object",
            "required": ["service"],
            "additionalProperties": False,
            "properties": {
                "caBundle": {"type": "string", "pattern": "^[A-Za-z0-9+/]+={0,2}$"},
                "service": {
                    "type": "object",
                    "required": ["name", "namespace", "path", "port"],
                    "additionalProperties": False,
                    "properties": {
                        "name": {"type": "string"},
                        "namespace": {"type": "string"},
                        "path": {"enum": ["/mutate", "/validate"]},
                        "port": {"type": "integer", "minimum": 1, "maximum": 65535},
                    },
                },
            },
        },
        "rules": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["apiGroups", "apiVersions", "resources", "operations", "scope"],
                "additionalProperties": False,
                "properties": {
                    "apiGroups": {"type": "array", "minItems": 1, "items": {"type": "string", "not": {"const": "*"}}},
                    "apiVersions": {"type": "array", "minItems": 1, "items": {"type": "string", "pattern": "^v[0-9a-z]+$"}},
                    # No wildcards and no subresources: each rule names exactly what it judges.
                    "resources": {"type": "array", "minItems": 1, "items": {"type": "string", "pattern": "^[a-z]+$"}},
                    "operations": {"type": "array", "minItems": 1,
                                   "items": {"enum": ["CREATE", "UPDATE", "DELETE", "CONNECT"]}},
                    "scope": {"const": "Namespaced"},
                },
            },
        },
        "namespaceSelector": {
            "type": "object",
            "required": ["matchExpressions"],
            "properties": {
                "matchExpressions": {
                    "type": "array",
                    "contains": {
                        "type": "object",
                        "required": ["key", "operator", "values"],
                        "properties": {
                            "key": {"const": "kubernetes.io/metadata.name"},
                            "operator": {"const": "NotIn"},
                            "values": {"allOf": [{"contains": {"const": ns}} for ns in EXCLUDED_NAMESPACES]},
                        },
                    },
                },
            },
        },
        "objectSelector": {"type": "object"},
        "matchConditions": {
            "type": "array",
            "minItems": 1,
            "maxItems": 64,
            "items": {
                "type": "object",
                "required": ["name", "expression"],
                "additionalProperties": False,
                "properties": {
                    "name": {"type": "string", "maxLength": 63,
                             "pattern": "^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$"},
                    "expression": {"type": "string", "minLength": 1},
                },
            },
        },
    },
}


def config_schema(kind):
    entry = copy.deepcopy(WEBHOOK_ENTRY_SCHEMA)
    if kind == "MutatingWebhookConfiguration":
        entry["required"].append("reinvocationPolicy")
        entry["properties"]["reinvocationPolicy"] = {"const": "IfNeeded"}
    else:
        del entry["properties"]["reinvocationPolicy"]
    return {
        "type": "object",
        "required": ["apiVersion", "kind", "metadata", "webhooks"],
        "properties": {
            "apiVersion": {"const": "admissionregistration.k8s.io/v1"},
            "kind": {"const": kind},
            "metadata": {"type": "object", "required": ["name"]},
            "webhooks": {"type": "array", "minItems": 1, "items": entry},
        },
    }


def run(args, **kw):
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=120, **kw)


def kustomize(path):
    p = run(["kubectl", "kustomize", path])
    if p.returncode != 0:
        raise AssertionError("kubectl kustomize %s failed: %s" % (path, p.stderr))
    return p.stdout


def load(text):
    return [o for o in yaml.safe_load_all(text) if o]


def selector_matches(selector, labels):
    """Label selector semantics (matchLabels AND matchExpressions), as the API server applies them."""
    for k, v in (selector.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for e in selector.get("matchExpressions") or []:
        key, op, values = e["key"], e["operator"], e.get("values") or []
        ok = {"In": key in labels and labels[key] in values,
              "NotIn": key not in labels or labels[key] not in values,
              "Exists": key in labels,
              "DoesNotExist": key not in labels}[op]
        if not ok:
            return False
    return True


# ---- a fake API server that answers discovery only -------------------------------------------------

DISCOVERY = {
    ("", "v1"): [("namespaces", "Namespace", False), ("serviceaccounts", "ServiceAccount", True),
                 ("services", "Service", True), ("secrets", "Secret", True), ("configmaps", "ConfigMap", True)],
    ("apps", "v1"): [("deployments", "Deployment", True), ("daemonsets", "DaemonSet", True)],
    ("rbac.authorization.k8s.io", "v1"): [("clusterroles", "ClusterRole", False),
                                          ("clusterrolebindings", "ClusterRoleBinding", False),
                                          ("roles", "Role", True), ("rolebindings", "RoleBinding", True)],
    ("policy", "v1"): [("poddisruptionbudgets", "PodDisruptionBudget", True)],
    ("scheduling.k8s.io", "v1"): [("priorityclasses", "PriorityClass", False)],
    ("networking.k8s.io", "v1"): [("networkpolicies", "NetworkPolicy", True)],
    ("monitoring.coreos.com", "v1"): [("servicemonitors", "ServiceMonitor", True),
                                      ("prometheusrules", "PrometheusRule", True)],
    ("admissionregistration.k8s.io", "v1"): [
        ("mutatingwebhookconfigurations", "MutatingWebhookConfiguration", False),
        ("validatingwebhookconfigurations", "ValidatingWebhookConfiguration", False)],
    ("cert-manager.io", "v1"): [("issuers", "Issuer", True), ("certificates", "Certificate", True),
                                ("clusterissuers", "ClusterIssuer", False)],
}


def _resource_list(group, version):
    gv = "%s/%s" % (group, version) if group else version
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv,
            "resources": [{"name": n, "singularName": k.lower(), "namespaced": ns, "kind": k,
                           "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"]}
                          for n, k, ns in DISCOVERY[(group, version)]]}


class FakeDiscovery:
    """Serves /api, /apis and the resource lists on loopback; every other GET is 404 and every
    write is recorded (a client dry run must send none)."""

    def __init__(self):
        self.writes = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, code, body):
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                path = self.path.split("?", 1)[0].rstrip("/")
                groups = sorted({g for g, _ in DISCOVERY if g})
                if path == "/api":
                    return self._send(200, {"kind": "APIVersions", "versions": ["v1"]})
                if path == "/api/v1":
                    return self._send(200, _resource_list("", "v1"))
                if path == "/apis":
                    return self._send(200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": [
                        {"name": g, "versions": [{"groupVersion": "%s/%s" % (g, v), "version": v}
                                                 for gg, v in DISCOVERY if gg == g],
                         "preferredVersion": {"groupVersion": "%s/v1" % g, "version": "v1"}}
                        for g in groups]})
                parts = path.split("/")
                if len(parts) == 4 and parts[1] == "apis" and (parts[2], parts[3]) in DISCOVERY:
                    return self._send(200, _resource_list(parts[2], parts[3]))
                return self._send(404, {"kind": "Status", "apiVersion": "v1", "status": "Failure",
                                        "reason": "NotFound", "code": 404})

            def _write(self):
                outer.writes.append((self.command, self.path))
                self._send(405, {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 405})

            do_POST = do_PUT = do_PATCH = do_DELETE = _write

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


# ---- a small evaluator of the CEL subset the matchConditions use ---------------------------------

class CelError(Exception):
    """A compile error: the expression is outside the subset or malformed."""


class _Err:
    """A runtime error value (CEL's error), absorbed by || and && as CEL does."""

    def __init__(self, why):
        self.why = why

    def __repr__(self):
        return "error(%s)" % self.why


_TOKEN = re.compile(r"\s*(?:(\|\||&&|==|!=|[!?:().{},\[\]])|([A-Za-z_][A-Za-z0-9_]*)|'([^'\\]*)'|\"([^\"\\]*)\")")
CEL_VARIABLES = {"object", "oldObject", "request"}


def cel_parse(src):
    """Parse into a tuple tree; raises CelError on anything outside the subset."""
    toks, pos = [], 0
    while pos < len(src):
        if src[pos:].strip() == "":
            break
        m = _TOKEN.match(src, pos)
        if not m:
            raise CelError("unexpected character at %d: %r" % (pos, src[pos:pos + 10]))
        if m.group(1):
            toks.append(("op", m.group(1)))
        elif m.group(2):
            toks.append(("id", m.group(2)))
        else:
            toks.append(("str", m.group(3) if m.group(3) is not None else m.group(4)))
        pos = m.end()
    toks.append(("end", None))
    i = [0]
    bound = []  # variables of the exists() macros being parsed

    def peek():
        return toks[i[0]]

    def take(kind=None, val=None):
        t = toks[i[0]]
        if (kind and t[0] != kind) or (val and t[1] != val):
            raise CelError("expected %s, got %r" % (val or kind, t[1]))
        i[0] += 1
        return t

    def expr():
        c = binary(0)
        if peek() == ("op", "?"):
            take()
            a = binary(0)
            take("op", ":")
            return ("cond", c, a, expr())
        return c

    levels = [("||",), ("&&",), ("==", "!=", "in")]

    def binary(level):
        if level == len(levels):
            return unary()
        left = binary(level + 1)
        while peek()[0] in ("op", "id") and peek()[1] in levels[level]:
            op = take()[1]
            left = (op, left, binary(level + 1))
        return left

    def unary():
        if peek() == ("op", "!"):
            take()
            return ("not", unary())
        return member()

    def method(node, name):
        """A call on node: the exists(var, predicate) macro or string contains(substring)."""
        take("op", "(")
        if name == "exists":
            var = take("id")[1]
            if var in CEL_VARIABLES or var in ("has", "in", "true", "false", "null"):
                raise CelError("exists() needs a fresh variable, not %r" % var)
            take("op", ",")
            bound.append(var)
            body = expr()
            bound.pop()
            take("op", ")")
            return ("exists", node, var, body)
        if name == "contains":
            arg = expr()
            take("op", ")")
            return ("contains", node, arg)
        raise CelError("unknown function %r" % name)

    def member():
        node = primary()
        while peek() in (("op", "."), ("op", "[")):
            if take()[1] == ".":
                name = take("id")[1]
                node = method(node, name) if peek() == ("op", "(") else ("get", node, name)
            else:
                node = ("index", node, expr())
                take("op", "]")
        return node

    def primary():
        kind, val = peek()
        if kind == "str":
            take()
            return ("lit", val)
        if kind == "op" and val == "(":
            take()
            e = expr()
            take("op", ")")
            return e
        if kind == "op" and val == "{":
            take()
            take("op", "}")
            return ("lit", {})
        if kind == "op" and val == "[":
            take()
            items = []
            while peek() != ("op", "]"):
                items.append(expr())
                if peek() != ("op", "]"):
                    take("op", ",")
            take("op", "]")
            return ("list", items)
        if kind == "id":
            take()
            if val == "in":
                raise CelError("unexpected 'in'")
            if val in ("true", "false", "null"):
                return ("lit", {"true": True, "false": False, "null": None}[val])
            if val == "has":
                take("op", "(")
                arg = member()
                take("op", ")")
                if arg[0] != "get":
                    raise CelError("has() needs a field selection")
                return ("has", arg[1], arg[2])
            if val not in CEL_VARIABLES and val not in bound:
                raise CelError("undeclared reference to %r" % val)
            return ("var", val)
        raise CelError("unexpected %r" % (val,))

    tree = expr()
    take("end")
    return tree


def cel_eval(node, env):
    op = node[0]
    if op == "lit":
        return node[1]
    if op == "list":
        return [cel_eval(n, env) for n in node[1]]
    if op == "exists":
        # The macro folds with ||: a true element wins over an error in another, as in CEL.
        items = cel_eval(node[1], env)
        if isinstance(items, _Err) or not isinstance(items, list):
            return items if isinstance(items, _Err) else _Err("exists() on a non-list")
        err = None
        for item in items:
            v = cel_eval(node[3], dict(env, **{node[2]: item}))
            if v is True:
                return True
            if v is not False:
                err = v if isinstance(v, _Err) else _Err("exists() predicate not bool")
        return err or False
    if op == "contains":
        a, b = cel_eval(node[1], env), cel_eval(node[2], env)
        for v in (a, b):
            if isinstance(v, _Err):
                return v
        if not isinstance(a, str) or not isinstance(b, str):
            return _Err("contains() needs strings")
        return b in a
    if op == "var":
        return env.get(node[1])
    if op in ("get", "has"):
        base = cel_eval(node[1], env)
        if isinstance(base, _Err):
            return base
        if not isinstance(base, dict):
            return _Err("no such key %r on %r" % (node[2], type(base).__name__))
        if op == "has":
            return node[2] in base
        return base[node[2]] if node[2] in base else _Err("no such key %r" % node[2])
    if op in ("index", "in"):
        a, b = cel_eval(node[1], env), cel_eval(node[2], env)
        for v in (a, b):
            if isinstance(v, _Err):
                return v
        m, k = (a, b) if op == "index" else (b, a)
        if not isinstance(m, dict) or not isinstance(k, str):
            return _Err("%s needs a map and a string key" % op)
        if op == "in":
            return k in m
        return m[k] if k in m else _Err("no such key %r" % k)
    if op == "not":
        v = cel_eval(node[1], env)
        return v if isinstance(v, _Err) else (not v if isinstance(v, bool) else _Err("! on non-bool"))
    if op in ("||", "&&"):
        want = op == "||"
        a, b = cel_eval(node[1], env), None
        if a is want:
            return want
        b = cel_eval(node[2], env)
        if b is want:
            return want
        for v in (a, b):
            if isinstance(v, _Err):
                return v
            if not isinstance(v, bool):
                return _Err("%s on non-bool" % op)
        return not want
    if op in ("==", "!="):
        a, b = cel_eval(node[1], env), cel_eval(node[2], env)
        for v in (a, b):
            if isinstance(v, _Err):
                return v
        return (a == b) == (op == "==")
    if op == "cond":
        c = cel_eval(node[1], env)
        if isinstance(c, _Err) or not isinstance(c, bool):
            return c if isinstance(c, _Err) else _Err("condition not bool")
        return cel_eval(node[2] if c else node[3], env)
    raise CelError("unknown node %r" % (op,))


def matches(conditions, operation, obj, old):
    """What the API server decides from a webhook's matchConditions: True (call), False (skip), or an
    _Err (an evaluation error: the webhook's failurePolicy decides)."""
    env = {"object": obj, "oldObject": old, "request": {"operation": operation}}
    result = True
    for c in conditions:
        v = cel_eval(cel_parse(c["expression"]), env)
        if v is False:
            return False
        if isinstance(v, _Err):
            result = v
    return result


def deployment(image="app:1", replicas=2, annotations=None, template_annotations=None):
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "podinfo", "namespace": "test", "annotations": annotations or {}},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "podinfo"}},
                     "template": {"metadata": {"labels": {"app": "podinfo"},
                                               "annotations": template_annotations or {}},
                                  "spec": {"containers": [{"name": "app", "image": image}]}}},
            "status": {"replicas": replicas}}


def config(kind="ConfigMap", labels=None, annotations=None, **content):
    obj = {"apiVersion": "v1", "kind": kind, "metadata": {"name": "cfg", "namespace": "test",
                                                          "labels": labels or {}}}
    if annotations is not None:
        obj["metadata"]["annotations"] = annotations
    obj.update(content)
    return obj


# (webhook, name, operation, old, new, expected call)
CEL_CASES = [
    (VALIDATE_WORKLOADS, "new image", "UPDATE", deployment(), deployment(image="app:2"), True),
    (VALIDATE_WORKLOADS, "rollout restart", "UPDATE", deployment(),
     deployment(template_annotations={"kubectl.kubernetes.io/restartedAt": "now"}), True),
    (VALIDATE_WORKLOADS, "scale", "UPDATE", deployment(), deployment(replicas=5), False),
    (VALIDATE_WORKLOADS, "metadata only", "UPDATE", deployment(),
     deployment(annotations={"manual-gate.io/override": "hotfix"}), False),
    (VALIDATE_CONFIGMAPS, "data change", "UPDATE", config(data={"a": "1"}), config(data={"a": "2"}), True),
    (VALIDATE_CONFIGMAPS, "data added", "UPDATE", config(), config(data={"a": "1"}), True),
    # Flagger checksums data only.
    (VALIDATE_CONFIGMAPS, "binaryData change", "UPDATE", config(binaryData={"b": "AA=="}),
     config(binaryData={"b": "AQ=="}), False),
    (VALIDATE_CONFIGMAPS, "tracking disabled", "UPDATE", config(data={"a": "1"}),
     config(annotations={"flagger.app/config-tracking": "disabled"}, data={"a": "1"}), True),
    (VALIDATE_CONFIGMAPS, "tracking enabled again", "UPDATE",
     config(annotations={"flagger.app/config-tracking": "disabled"}, data={"a": "1"}),
     config(annotations={}, data={"a": "1"}), True),
    (VALIDATE_CONFIGMAPS, "tracking annotation removed with the map", "UPDATE",
     config(annotations={"flagger.app/config-tracking": "disabled"}), config(), True),
    (VALIDATE_CONFIGMAPS, "another annotation", "UPDATE", config(annotations={"x": "1"}),
     config(annotations={"x": "2"}), False),
    (VALIDATE_SECRETS, "tracking disabled", "UPDATE", config("Secret"),
     config("Secret", annotations={"flagger.app/config-tracking": "disabled"}), True),
    (VALIDATE_SECRETS, "another annotation", "UPDATE", config("Secret", annotations={"x": "1"}),
     config("Secret", annotations={"x": "2"}), False),
    (VALIDATE_CONFIGMAPS, "labels only", "UPDATE", config(data={"a": "1"}),
     config(labels={"x": "y"}, data={"a": "1"}), False),
    (VALIDATE_CONFIGMAPS, "data removed", "UPDATE", config(data={"a": "1"}), config(), True),
    (VALIDATE_CONFIGMAPS, "no content, labels changed", "UPDATE", config(), config(labels={"x": "y"}), False),
    (VALIDATE_CONFIGMAPS, "empty data is no data", "UPDATE", config(), config(data={}), False),
    (VALIDATE_CONFIGMAPS, "delete", "DELETE", config(data={"a": "1"}), None, True),
    (VALIDATE_SECRETS, "data change", "UPDATE", config("Secret", data={"k": "MQ=="}),
     config("Secret", data={"k": "Mg=="}), True),
    (VALIDATE_SECRETS, "labels only", "UPDATE", config("Secret", data={"k": "MQ=="}),
     config("Secret", labels={"x": "y"}, data={"k": "MQ=="}), False),
    (VALIDATE_SECRETS, "data added", "UPDATE", config("Secret"), config("Secret", data={"k": "MQ=="}), True),
    (VALIDATE_SECRETS, "no content, labels changed", "UPDATE", config("Secret"),
     config("Secret", labels={"x": "y"}), False),
    (VALIDATE_SECRETS, "data removed", "UPDATE", config("Secret", data={"k": "MQ=="}), config("Secret"), True),
    (VALIDATE_SECRETS, "delete", "DELETE", config("Secret", data={"k": "MQ=="}), None, True),
]


def gated_canary(label=None, hook_url=None, key="analysis", annotations=None):
    """A Canary, gated by the label and/or a confirm-traffic-increase hook at hook_url, or not at all."""
    c = {"apiVersion": "flagger.app/v1beta1", "kind": "Canary",
         "metadata": {"name": "podinfo", "namespace": "test", "labels": {"app": "podinfo"}},
         "spec": {"targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "podinfo"},
                  "service": {"port": 9898},
                  key: {"interval": "1m", "threshold": 5, "maxWeight": 50, "stepWeight": 10,
                        "webhooks": [{"name": "load-test", "type": "rollout",
                                      "url": "http://flagger-loadtester.test/", "metadata": {"cmd": "hey"}}]}},
         "status": {"phase": "Progressing", "canaryWeight": 10}}
    if label is not None:
        c["metadata"]["labels"]["manual-gate.io/enabled"] = label
    if hook_url:
        c["spec"][key]["webhooks"].insert(0, {"name": "gate-check", "type": "confirm-traffic-increase",
                                              "url": hook_url})
    if annotations:
        c["metadata"]["annotations"] = annotations
    return c


CHECK_URL = "http://flagger-loadtester.test/gate/check"
# (name, operation, old, new, expected call): the same for the mutating and the validating Canary webhook.
CANARY_CEL_CASES = [
    ("gated by the label", "CREATE", None, gated_canary(label="true"), True),
    ("gated by a /gate/check hook", "CREATE", None, gated_canary(hook_url=CHECK_URL), True),
    ("hook in canaryAnalysis", "UPDATE", gated_canary(key="canaryAnalysis"),
     gated_canary(hook_url=CHECK_URL, key="canaryAnalysis"), True),
    ("percent-escaped gate path", "CREATE", None, gated_canary(hook_url="http://lt.test/gate/%63heck"), True),
    ("label false (manual-gate removes its hooks)", "UPDATE", gated_canary(), gated_canary(label="false"), True),
    ("label with a bad value (denied)", "CREATE", None, gated_canary(label="yes"), True),
    ("threshold to give back", "UPDATE", gated_canary(),
     gated_canary(annotations={"manual-gate.io/original-threshold": "5"}), True),
    ("un-gating: hook removed", "UPDATE", gated_canary(hook_url=CHECK_URL), gated_canary(), True),
    ("un-gating: label removed", "UPDATE", gated_canary(label="true"), gated_canary(), True),
    ("delete of a gated Canary", "DELETE", gated_canary(hook_url=CHECK_URL), None, True),
    ("ungated create", "CREATE", None, gated_canary(), False),
    ("ungated update", "UPDATE", gated_canary(), gated_canary(hook_url="http://lt.test/gate/approve"), False),
    ("ungated delete", "DELETE", gated_canary(), None, False),
    ("a hook without a url", "UPDATE", gated_canary(), (lambda c: (c["spec"]["analysis"]["webhooks"].append(
        {"name": "x", "type": "rollout"}), c)[1])(gated_canary()), False),
]


# ---- rendering, once per run ---------------------------------------------------------------------

_rendered = {}
_secret_out = None


def setUpModule():
    global _secret_out
    for name, path in VARIANTS.items():
        _rendered[name] = load(kustomize(path))
    _secret_out = tempfile.mkdtemp(prefix="mg-install-secret-")
    p = run([os.path.join(ROOT, "certs", "install-secret.sh"), "--out", _secret_out, "--image", IMAGE])
    if p.returncode != 0:
        raise AssertionError("install-secret.sh failed: %s" % p.stderr)
    with open(os.path.join(_secret_out, "manual-gate.yaml")) as f:
        _rendered[SECRET_PATH] = load(f.read())


def tearDownModule():
    if _secret_out:
        shutil.rmtree(_secret_out, ignore_errors=True)


def objects(variant, kind=None):
    return [o for o in _rendered[variant] if kind is None or o["kind"] == kind]


def one(variant, kind):
    found = objects(variant, kind)
    if len(found) != 1:
        raise AssertionError("%s: expected one %s, found %d" % (variant, kind, len(found)))
    return found[0]


def webhooks(variant):
    """name -> (configuration kind, configuration, entry)"""
    out = {}
    for o in _rendered[variant]:
        if o["kind"] in ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"):
            for w in o.get("webhooks") or []:
                out[w["name"]] = (o["kind"], o, w)
    return out


def all_variants():
    return list(VARIANTS) + [SECRET_PATH]


class RenderTest(unittest.TestCase):
    def test_every_variant_renders_the_same_core_objects(self):
        core = {("Namespace", "manual-gate"), ("ServiceAccount", "manual-gate"), ("ClusterRole", "manual-gate"),
                ("ClusterRoleBinding", "manual-gate"), ("Service", "manual-gate"), ("Deployment", "manual-gate"),
                ("PodDisruptionBudget", "manual-gate"), ("MutatingWebhookConfiguration", "manual-gate"),
                ("ValidatingWebhookConfiguration", "manual-gate"), ("PriorityClass", "manual-gate"),
                ("NetworkPolicy", "manual-gate")}
        for v in all_variants():
            with self.subTest(variant=v):
                got = [(o["kind"], o["metadata"]["name"]) for o in _rendered[v]]
                self.assertEqual(len(got), len(set(got)), "duplicate objects")
                extra = set(got) - core
                if v == "cert-manager":
                    self.assertEqual({k for k, _ in extra}, {"Issuer", "Certificate"})
                elif v == "prometheus-operator":
                    self.assertEqual(extra, {("ServiceMonitor", "manual-gate"), ("PrometheusRule", "manual-gate"),
                                             ("ConfigMap", "manual-gate-dashboard")})
                else:
                    self.assertEqual(extra, set())
                self.assertTrue(core <= set(got), core - set(got))

    def test_namespaced_objects_live_in_manual_gate(self):
        cluster = {"Namespace", "ClusterRole", "ClusterRoleBinding", "MutatingWebhookConfiguration",
                   "ValidatingWebhookConfiguration", "PriorityClass"}
        for v in all_variants():
            for o in _rendered[v]:
                with self.subTest(variant=v, kind=o["kind"]):
                    if o["kind"] in cluster:
                        self.assertNotIn("namespace", o["metadata"])
                    else:
                        self.assertEqual(o["metadata"].get("namespace"), NAMESPACE)

    def test_namespace_enforces_restricted_pod_security(self):
        for v in all_variants():
            ns = one(v, "Namespace")
            self.assertEqual(ns["metadata"]["labels"].get("pod-security.kubernetes.io/enforce"), "restricted")

    def test_apply_dry_run_client_accepts_every_object(self):
        fake = FakeDiscovery()
        tmp = tempfile.mkdtemp(prefix="mg-kubectl-")
        self.addCleanup(shutil.rmtree, tmp, True)
        self.addCleanup(fake.close)
        kubeconfig = os.path.join(tmp, "kubeconfig")
        open(kubeconfig, "w").close()
        base = ["kubectl", "--kubeconfig", kubeconfig, "--server", fake.url, "--cache-dir",
                os.path.join(tmp, "cache"), "apply", "--dry-run=client", "--validate=false"]
        inputs = {v: (["-f", "-"], kustomize(path)) for v, path in VARIANTS.items()}
        # The install-secret output directory as a user applies it (the CA directory inside is skipped).
        inputs[SECRET_PATH] = (["-f", _secret_out], None)
        counts = dict((v, len(_rendered[v])) for v in VARIANTS)
        counts[SECRET_PATH] = len(_rendered[SECRET_PATH]) + 1  # + tls-secret.yaml
        for v, (args, stdin) in inputs.items():
            with self.subTest(variant=v):
                p = subprocess.run(base + args, input=stdin, capture_output=True, text=True, timeout=60)
                self.assertEqual(p.returncode, 0, p.stderr)
                created = [ln for ln in p.stdout.splitlines() if ln.endswith(" created (dry run)")]
                self.assertEqual(len(created), counts[v], p.stdout)
        self.assertEqual(fake.writes, [])


class WebhookConfigurationTest(unittest.TestCase):
    def test_configurations_match_the_schema(self):
        for v in all_variants():
            for kind in ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"):
                with self.subTest(variant=v, kind=kind):
                    jsonschema.validate(one(v, kind), config_schema(kind))

    def test_each_variant_has_its_webhooks_with_their_policies(self):
        for v in all_variants():
            names, _, _ = EXPECT[v]
            hooks = webhooks(v)
            with self.subTest(variant=v):
                self.assertEqual(set(hooks), names)
                for kind in ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"):
                    entries = [w["name"] for w in one(v, kind)["webhooks"]]
                    self.assertEqual(len(entries), len(set(entries)), "duplicate webhook names")
            for name, (kind, _, w) in hooks.items():
                want_kind, path, policy, rules = WEBHOOKS[name]
                with self.subTest(variant=v, webhook=name):
                    self.assertEqual(kind, want_kind)
                    self.assertEqual(w["clientConfig"]["service"]["path"], path)
                    self.assertEqual(w["failurePolicy"], policy)
                    got = [(g, ver, set(r["resources"]), set(r["operations"]))
                           for r in w["rules"] for g in r["apiGroups"] for ver in r["apiVersions"]]
                    self.assertEqual(got, rules)

    def test_webhooks_call_the_service_on_its_https_port(self):
        for v in all_variants():
            svc = one(v, "Service")
            ports = {p["port"]: p for p in svc["spec"]["ports"]}
            container = one(v, "Deployment")["spec"]["template"]["spec"]["containers"][0]
            named = {p["name"]: p["containerPort"] for p in container["ports"]}
            for name, (_, _, w) in webhooks(v).items():
                ref = w["clientConfig"]["service"]
                with self.subTest(variant=v, webhook=name):
                    self.assertEqual((ref["name"], ref["namespace"]),
                                     (svc["metadata"]["name"], svc["metadata"]["namespace"]))
                    self.assertIn(ref["port"], ports)
                    target = ports[ref["port"]]["targetPort"]
                    self.assertEqual(named.get(target, target), 8443)

    def test_namespace_selector_skips_own_namespace_and_kube_system(self):
        for v in all_variants():
            for name, (_, _, w) in webhooks(v).items():
                sel = w["namespaceSelector"]
                with self.subTest(variant=v, webhook=name):
                    for ns in EXCLUDED_NAMESPACES:
                        self.assertFalse(selector_matches(sel, {"kubernetes.io/metadata.name": ns}), ns)
                    self.assertTrue(selector_matches(sel, {"kubernetes.io/metadata.name": "test"}))

    def test_match_conditions_present_only_where_the_variant_supports_them(self):
        for v in all_variants():
            _, with_conditions, _ = EXPECT[v]
            for name, (_, _, w) in webhooks(v).items():
                with self.subTest(variant=v, webhook=name):
                    self.assertEqual("matchConditions" in w, name in with_conditions)

    def test_ca_comes_from_the_variant_source(self):
        for v in all_variants():
            _, _, source = EXPECT[v]
            for kind in ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"):
                cfg = one(v, kind)
                inject = (cfg["metadata"].get("annotations") or {}).get("cert-manager.io/inject-ca-from")
                bundles = [w["clientConfig"].get("caBundle") for w in cfg["webhooks"]]
                with self.subTest(variant=v, kind=kind):
                    if source == "inject":
                        self.assertEqual(inject, "manual-gate/manual-gate-tls")
                    else:
                        self.assertIsNone(inject)
                    if source == "bundle":
                        self.assertTrue(all(bundles), bundles)
                        self.assertEqual(len(set(bundles)), 1)
                    else:
                        self.assertEqual(bundles, [None] * len(bundles))

    def test_timeouts_fit_the_server_drain(self):
        """A review accepted before SIGTERM must be answered before the drain gives up."""
        for v in all_variants():
            args = one(v, "Deployment")["spec"]["template"]["spec"]["containers"][0]["args"]
            drain = int(args[args.index("--shutdown-timeout") + 1])
            for name, (_, _, w) in webhooks(v).items():
                with self.subTest(variant=v, webhook=name):
                    self.assertLessEqual(w["timeoutSeconds"], drain)


class MatchConditionTest(unittest.TestCase):
    def test_expressions_parse_and_use_only_declared_variables(self):
        for v in all_variants():
            for name, (_, _, w) in webhooks(v).items():
                for c in w.get("matchConditions") or []:
                    with self.subTest(variant=v, webhook=name, condition=c["name"]):
                        cel_parse(c["expression"])

    def test_checker_rejects_what_the_api_server_would(self):
        for bad in ("object.spec.template != ", "obj.spec != oldObject.spec", "has(object)", "object.spec ~ 1",
                    "(object.spec == oldObject.spec"):
            with self.subTest(expression=bad):
                with self.assertRaises(CelError):
                    cel_parse(bad)

    def test_conditions_send_exactly_the_changes_that_can_be_denied(self):
        hooks = webhooks("secrets")
        for hook, case, op, old, new, want in CEL_CASES:
            conditions = hooks[hook][2]["matchConditions"]
            with self.subTest(webhook=hook, case=case):
                got = matches(conditions, op, new, old)
                # An evaluation error would leave the decision to failurePolicy: never acceptable here.
                self.assertNotIsInstance(got, _Err)
                self.assertIs(got, want)

    def test_evaluator_absorbs_errors_like_cel(self):
        env = {"object": None, "oldObject": {}, "request": {"operation": "DELETE"}}
        self.assertIs(cel_eval(cel_parse("request.operation == 'DELETE' || object.data != {}"), env), True)
        self.assertIs(cel_eval(cel_parse("object.data != {} || request.operation == 'DELETE'"), env), True)
        self.assertIsInstance(cel_eval(cel_parse("object.data != {}"), env), _Err)
        self.assertIsInstance(cel_eval(cel_parse("oldObject.data == {}"), env), _Err)

    def test_canary_conditions_send_gated_and_formerly_gated_canaries_only(self):
        hooks = webhooks("default")
        for hook in (MUTATE_CANARIES, VALIDATE_CANARIES):
            self.assertEqual(hooks[hook][2]["failurePolicy"], "Fail")
            conditions = hooks[hook][2]["matchConditions"]
            for case, op, old, new, want in CANARY_CEL_CASES:
                with self.subTest(webhook=hook, case=case):
                    got = matches(conditions, op, new, old)
                    self.assertNotIsInstance(got, _Err)
                    self.assertIs(got, want)

    def test_no_match_conditions_variant_sends_every_canary(self):
        hooks = webhooks("no-match-conditions")
        for hook in (MUTATE_CANARIES, VALIDATE_CANARIES):
            self.assertNotIn("matchConditions", hooks[hook][2])

    def test_evaluator_knows_exists_and_contains(self):
        env = {"object": {"l": [{"u": "a/gate/check"}, {"v": 1}]}, "oldObject": None, "request": {}}
        self.assertIs(cel_eval(cel_parse("object.l.exists(w, has(w.u) && w.u.contains('/gate/'))"), env), True)
        self.assertIs(cel_eval(cel_parse("object.l.exists(w, has(w.u) && w.u.contains('%'))"), env), False)
        # An error in one element is absorbed when another is true, and surfaces when none is.
        self.assertIs(cel_eval(cel_parse("object.l.exists(w, w.u.contains('gate'))"), env), True)
        self.assertIsInstance(cel_eval(cel_parse("object.l.exists(w, w.u.contains('x'))"), env), _Err)
        self.assertIs(cel_eval(cel_parse("[object, oldObject].exists(o, o == null)"), env), True)
        for bad in ("object.l.exists(object, true)", "object.l.exists(w, v)", "object.l.sort()", "w.u"):
            with self.subTest(expression=bad):
                with self.assertRaises(CelError):
                    cel_parse(bad)

    def test_default_and_secrets_variants_share_the_base_conditions(self):
        a, b = webhooks("default"), webhooks("secrets")
        for name in (VALIDATE_WORKLOADS, VALIDATE_CONFIGMAPS):
            self.assertEqual(a[name][2], b[name][2])


class KubernetesSchemaTest(unittest.TestCase):
    def test_every_rendered_object_validates_against_kubernetes_schemas(self):
        validator = os.path.join(ROOT, "tests", "k8s-schema", "validate.mjs")
        for v in all_variants():
            with self.subTest(variant=v):
                p = subprocess.run(["node", validator], input=json.dumps(_rendered[v]), capture_output=True,
                                   text=True, timeout=120, cwd=os.path.dirname(validator))
                results = [json.loads(l) for l in p.stdout.splitlines()]
                self.assertEqual(len(results), len(_rendered[v]), p.stderr)
                self.assertEqual([r for r in results if r["error"]], [])
                self.assertEqual(p.returncode, 0, p.stderr)

    def test_validator_refuses_what_the_api_server_would(self):
        bad = copy.deepcopy(one("default", "ValidatingWebhookConfiguration"))
        bad["webhooks"][0]["failurePolicy"] = "Sometimes"
        svc = copy.deepcopy(one("default", "Service"))
        svc["spec"]["ports"][0]["port"] = "https"
        unknown = {"apiVersion": "example.com/v1", "kind": "Gadget", "metadata": {"name": "x"}}
        validator = os.path.join(ROOT, "tests", "k8s-schema", "validate.mjs")
        p = subprocess.run(["node", validator], input=json.dumps([bad, svc, unknown]), capture_output=True, text=True,
                           timeout=120, cwd=os.path.dirname(validator))
        errors = [json.loads(l)["error"] for l in p.stdout.splitlines()]
        self.assertEqual(p.returncode, 1)
        self.assertEqual(len(errors), 3)
        self.assertIn("failurePolicy", errors[0])
        self.assertIn("port", errors[1])
        self.assertIn("no schema", errors[2])


class InstallTest(unittest.TestCase):
    def test_version_label_and_image_tag_follow_the_version_file(self):
        with open(os.path.join(ROOT, "VERSION")) as f:
            version = f.read().strip()
        for v in VARIANTS:
            with self.subTest(variant=v):
                for o in _rendered[v]:
                    self.assertEqual(o["metadata"]["labels"].get("app.kubernetes.io/version"), version, o["kind"])
                pod = one(v, "Deployment")["spec"]["template"]
                self.assertEqual(pod["metadata"]["labels"].get("app.kubernetes.io/version"), version)
                self.assertEqual(pod["spec"]["containers"][0]["image"], "manual-gate:" + version)
                # The version is no selector: a new release must not orphan the old pods.
                self.assertNotIn("app.kubernetes.io/version", one(v, "Deployment")["spec"]["selector"]["matchLabels"])

    def test_install_secret_deploys_the_image_it_is_given(self):
        objs = _rendered[SECRET_PATH]
        pod = one(SECRET_PATH, "Deployment")["spec"]["template"]
        self.assertEqual(pod["spec"]["containers"][0]["image"], IMAGE)
        self.assertTrue(all(o["metadata"]["labels"]["app.kubernetes.io/version"] == "9.8.7" for o in objs))

    def test_install_secret_and_make_manifests_want_an_image(self):
        out = tempfile.mkdtemp(prefix="mg-noimage-")
        self.addCleanup(shutil.rmtree, out, True)
        p = run([os.path.join(ROOT, "certs", "install-secret.sh"), "--out", out])
        self.assertEqual(p.returncode, 2)
        self.assertIn("give --image", p.stderr)
        for bad in ("manual-gate", "reg:5000/manual-gate", "x@sha256:abc", "a b:1"):
            with self.subTest(image=bad):
                p = run([os.path.join(ROOT, "certs", "install-secret.sh"), "--out", out, "--image", bad])
                self.assertEqual(p.returncode, 2)
                self.assertIn("is not NAME:TAG", p.stderr)
        p = run(["make", "--no-print-directory", "manifests"])
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("make manifests IMAGE=", p.stderr)
        self.assertFalse(os.listdir(out))

    def test_network_policy_admits_the_https_port_and_reaches_only_api_and_dns(self):
        for v in all_variants():
            np = one(v, "NetworkPolicy")["spec"]
            pod = one(v, "Deployment")["spec"]["template"]
            with self.subTest(variant=v):
                self.assertTrue(selector_matches(np["podSelector"], pod["metadata"]["labels"]))
                self.assertEqual(sorted(np["policyTypes"]), ["Egress", "Ingress"])
                ports = [p for rule in np["ingress"] for p in rule["ports"]]
                container = {p["containerPort"] for p in pod["spec"]["containers"][0]["ports"]}
                self.assertEqual({p["port"] for p in ports}, container)
                self.assertTrue(all("from" not in r for r in np["ingress"]))
                egress = {(p["protocol"], p["port"]) for r in np["egress"] for p in r["ports"]}
                self.assertEqual(egress, {("TCP", 443), ("TCP", 6443), ("UDP", 53), ("TCP", 53)})
                dns = [r for r in np["egress"] if any(p["port"] == 53 for p in r["ports"])][0]
                self.assertEqual(dns["to"][0]["namespaceSelector"]["matchLabels"],
                                 {"kubernetes.io/metadata.name": "kube-system"})


class DeploymentTest(unittest.TestCase):
    def pod(self, v):
        return one(v, "Deployment")["spec"]["template"]

    def test_two_replicas_spread_across_nodes(self):
        for v in all_variants():
            d = one(v, "Deployment")
            spec = d["spec"]["template"]["spec"]
            labels = d["spec"]["template"]["metadata"]["labels"]
            with self.subTest(variant=v):
                self.assertEqual(d["spec"]["replicas"], 2)
                self.assertEqual(d["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"], 0)
                by_node = [c for c in spec.get("topologySpreadConstraints") or []
                           if c["topologyKey"] == "kubernetes.io/hostname"]
                self.assertEqual(len(by_node), 1)
                self.assertEqual(by_node[0]["maxSkew"], 1)
                self.assertEqual(by_node[0]["whenUnsatisfiable"], "DoNotSchedule")
                self.assertTrue(selector_matches(by_node[0]["labelSelector"], labels))

    def test_security_settings(self):
        for v in all_variants():
            spec = self.pod(v)["spec"]
            psc = spec.get("securityContext") or {}
            self.assertEqual(len(spec["containers"]), 1)
            self.assertNotIn("initContainers", spec)
            for flag in ("hostNetwork", "hostPID", "hostIPC"):
                self.assertFalse(spec.get(flag, False), flag)
            c = spec["containers"][0]
            sc = c.get("securityContext") or {}

            def effective(key):
                return sc.get(key, psc.get(key))

            with self.subTest(variant=v):
                self.assertIs(effective("runAsNonRoot"), True)
                self.assertEqual(effective("runAsUser"), 65532)
                self.assertEqual((effective("seccompProfile") or {}).get("type"), "RuntimeDefault")
                self.assertIs(sc.get("allowPrivilegeEscalation"), False)
                self.assertIs(sc.get("readOnlyRootFilesystem"), True)
                self.assertFalse(sc.get("privileged", False))
                self.assertEqual(sc.get("capabilities"), {"drop": ["ALL"]})

    def test_tls_secret_mounted_read_only_where_the_flags_point(self):
        for v in all_variants():
            spec = self.pod(v)["spec"]
            c = spec["containers"][0]
            mounts = [m for m in c["volumeMounts"] if m["mountPath"] == TLS_DIR]
            with self.subTest(variant=v):
                self.assertEqual(len(mounts), 1)
                self.assertIs(mounts[0].get("readOnly"), True)
                self.assertNotIn("subPath", mounts[0])  # a subPath mount never sees a renewed Secret
                vol = [x for x in spec["volumes"] if x["name"] == mounts[0]["name"]][0]
                self.assertEqual(vol["secret"]["secretName"], "manual-gate-tls")
                args = c["args"]
                self.assertEqual(args[args.index("--tls-cert") + 1], TLS_DIR + "/tls.crt")
                self.assertEqual(args[args.index("--tls-key") + 1], TLS_DIR + "/tls.key")
                self.assertEqual(args[args.index("--listen") + 1], ":8443")

    def test_args_are_flags_the_server_knows(self):
        p = subprocess.run([BIN, "serve", "--help"], capture_output=True, text=True, timeout=10)
        known = set(re.findall(r"--([a-z][a-z-]*)", p.stdout))
        self.assertIn("tls-cert", known, p.stdout + p.stderr)
        for v in all_variants():
            args = self.pod(v)["spec"]["containers"][0]["args"]
            flags = [a[2:].split("=", 1)[0] for a in args if a.startswith("--")]
            with self.subTest(variant=v):
                self.assertTrue(flags)
                self.assertEqual(set(flags) - known, set())

    def test_probes_use_health_endpoints_over_https(self):
        for v in all_variants():
            c = self.pod(v)["spec"]["containers"][0]
            ports = {p["name"]: p["containerPort"] for p in c["ports"]}
            for probe, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")):
                get = c[probe]["httpGet"]
                with self.subTest(variant=v, probe=probe):
                    self.assertEqual(get["path"], path)
                    self.assertEqual(get["scheme"], "HTTPS")
                    self.assertEqual(ports.get(get["port"], get["port"]), 8443)

    def test_resources_requested_and_memory_limited(self):
        for v in all_variants():
            r = self.pod(v)["spec"]["containers"][0]["resources"]
            with self.subTest(variant=v):
                self.assertIn("cpu", r["requests"])
                self.assertIn("memory", r["requests"])
                self.assertIn("memory", r["limits"])

    def test_termination_grace_covers_the_shutdown_delay_and_drain(self):
        for v in all_variants():
            spec = self.pod(v)["spec"]
            c = spec["containers"][0]
            with self.subTest(variant=v):
                # The server delays its own shutdown: no preStop hook (the image has no shell or sleep).
                self.assertNotIn("preStop", c.get("lifecycle", {}))
                delay = int(c["args"][c["args"].index("--shutdown-delay") + 1])
                drain = int(c["args"][c["args"].index("--shutdown-timeout") + 1])
                self.assertGreaterEqual(delay, 3)  # endpoint removal takes a few seconds to spread
                self.assertGreater(spec["terminationGracePeriodSeconds"], delay + drain)

    def test_runs_at_its_own_priority(self):
        for v in all_variants():
            spec = self.pod(v)["spec"]
            pc = one(v, "PriorityClass")
            with self.subTest(variant=v):
                self.assertEqual(spec["priorityClassName"], pc["metadata"]["name"])
                self.assertIs(pc["globalDefault"], False)
                self.assertGreater(pc["value"], 0)
                self.assertLess(pc["value"], 1000000000)  # below the system-* classes


class RbacAndSelectorTest(unittest.TestCase):
    def test_cluster_role_reads_canaries_and_creates_events_only(self):
        for v in all_variants():
            with self.subTest(variant=v):
                roles = [o for o in _rendered[v] if o["kind"] in ("ClusterRole", "Role")]
                self.assertEqual(len(roles), 1)
                rules = roles[0]["rules"]
                self.assertEqual(len(rules), 2)
                for r in rules:
                    self.assertEqual(sorted(r), ["apiGroups", "resources", "verbs"])
                got = {(tuple(r["apiGroups"]), tuple(r["resources"]), tuple(sorted(r["verbs"]))) for r in rules}
                self.assertEqual(got, {(("flagger.app",), ("canaries",), ("get", "list", "watch")),
                                       (("",), ("events",), ("create",))})

    def test_binding_gives_the_role_to_the_pods_service_account(self):
        for v in all_variants():
            with self.subTest(variant=v):
                bindings = [o for o in _rendered[v] if o["kind"] in ("ClusterRoleBinding", "RoleBinding")]
                self.assertEqual(len(bindings), 1)
                b = bindings[0]
                role = one(v, "ClusterRole")
                sa = one(v, "ServiceAccount")
                self.assertEqual(b["roleRef"], {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                                                "name": role["metadata"]["name"]})
                self.assertEqual(b["subjects"], [{"kind": "ServiceAccount", "name": sa["metadata"]["name"],
                                                  "namespace": sa["metadata"]["namespace"]}])
                pod = one(v, "Deployment")["spec"]["template"]["spec"]
                self.assertEqual(pod["serviceAccountName"], sa["metadata"]["name"])

    def test_selectors_match_the_pod_labels(self):
        for v in all_variants():
            d = one(v, "Deployment")
            labels = d["spec"]["template"]["metadata"]["labels"]
            with self.subTest(variant=v):
                self.assertTrue(selector_matches(d["spec"]["selector"], labels))
                self.assertTrue(selector_matches({"matchLabels": one(v, "Service")["spec"]["selector"]}, labels))
                self.assertTrue(selector_matches(one(v, "PodDisruptionBudget")["spec"]["selector"], labels))
                # The selectors must not be so loose that they take in pods of another workload.
                self.assertFalse(selector_matches(d["spec"]["selector"], {"app.kubernetes.io/part-of": "manual-gate"}))

    def test_pdb_keeps_one_replica(self):
        for v in all_variants():
            pdb = one(v, "PodDisruptionBudget")["spec"]
            with self.subTest(variant=v):
                self.assertEqual(pdb.get("minAvailable"), 1)
                self.assertNotIn("maxUnavailable", pdb)
                self.assertLess(pdb["minAvailable"], one(v, "Deployment")["spec"]["replicas"])


class CertificateTest(unittest.TestCase):
    def test_cert_manager_chain_issues_the_mounted_secret(self):
        objs = _rendered["cert-manager"]
        issuers = {o["metadata"]["name"]: o for o in objs if o["kind"] == "Issuer"}
        certs = {o["metadata"]["name"]: o for o in objs if o["kind"] == "Certificate"}
        serving = certs["manual-gate-tls"]["spec"]
        ca_issuer = issuers[serving["issuerRef"]["name"]]["spec"]
        ca_cert = [c["spec"] for c in certs.values() if c["spec"]["secretName"] == ca_issuer["ca"]["secretName"]]
        self.assertEqual(len(ca_cert), 1)
        self.assertIs(ca_cert[0].get("isCA"), True)
        self.assertIn("selfSigned", issuers[ca_cert[0]["issuerRef"]["name"]]["spec"])
        self.assertIsNot(serving.get("isCA"), True)
        self.assertIn("server auth", serving["usages"])
        for name in ("manual-gate", "manual-gate.manual-gate", "manual-gate.manual-gate.svc",
                     "manual-gate.manual-gate.svc.cluster.local"):
            self.assertIn(name, serving["dnsNames"])
        vol = one("cert-manager", "Deployment")["spec"]["template"]["spec"]["volumes"]
        self.assertEqual(serving["secretName"], [x for x in vol if x["name"] == "tls"][0]["secret"]["secretName"])

    def test_install_secret_output_verifies(self):
        with open(os.path.join(_secret_out, "tls-secret.yaml")) as f:
            secret = yaml.safe_load(f)
        self.assertEqual(os.stat(os.path.join(_secret_out, "tls-secret.yaml")).st_mode & 0o077, 0)
        self.assertEqual((secret["kind"], secret["type"]), ("Secret", "kubernetes.io/tls"))
        self.assertEqual((secret["metadata"]["name"], secret["metadata"]["namespace"]), ("manual-gate-tls", NAMESPACE))
        tmp = tempfile.mkdtemp(prefix="mg-verify-")
        self.addCleanup(shutil.rmtree, tmp, True)
        for key in ("tls.crt", "tls.key", "ca.crt"):
            with open(os.path.join(tmp, key), "wb") as f:
                f.write(base64.b64decode(secret["data"][key]))
        bundle = next(iter(webhooks(SECRET_PATH).values()))[2]["clientConfig"]["caBundle"]
        with open(os.path.join(tmp, "bundle.pem"), "wb") as f:
            f.write(base64.b64decode(bundle))
        # The API server verifies the service name against the caBundle; the SAN must carry it.
        p = run(["openssl", "verify", "-CAfile", os.path.join(tmp, "bundle.pem"), "-verify_hostname",
                 "manual-gate.manual-gate.svc", "-purpose", "sslserver", os.path.join(tmp, "tls.crt")])
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        pub = [run(["openssl"] + args + ["-in", os.path.join(tmp, f)]).stdout
               for args, f in ((["x509", "-pubkey", "-noout"], "tls.crt"), (["pkey", "-pubout"], "tls.key"))]
        self.assertIn("PUBLIC KEY", pub[0])
        self.assertEqual(pub[0], pub[1])

    def test_install_secret_renders_the_default_rules_unchanged(self):
        def strip(objs):
            """Without what the script adds: the caBundle, the image and its version."""
            out = copy.deepcopy(objs)
            for o in out:
                o["metadata"]["labels"].pop("app.kubernetes.io/version", None)
                for w in o.get("webhooks") or []:
                    w["clientConfig"].pop("caBundle", None)
                if o["kind"] == "Deployment":
                    o["spec"]["template"]["metadata"]["labels"].pop("app.kubernetes.io/version", None)
                    o["spec"]["template"]["spec"]["containers"][0]["image"] = "?"
            return out

        self.assertEqual(strip(_rendered[SECRET_PATH]), strip(_rendered["default"]))

    def test_install_secret_rerun_renews_under_the_same_ca(self):
        out = tempfile.mkdtemp(prefix="mg-renew-")
        self.addCleanup(shutil.rmtree, out, True)
        script = os.path.join(ROOT, "certs", "install-secret.sh")
        seen = []
        for _ in range(2):
            p = run([script, "--out", out, "--kustomize", "manifests/overlays/secrets", "--image", IMAGE])
            self.assertEqual(p.returncode, 0, p.stderr)
            with open(os.path.join(out, "manual-gate.yaml")) as f:
                bundles = {w["clientConfig"]["caBundle"] for o in load(f.read()) for w in o.get("webhooks") or []}
            with open(os.path.join(out, "tls-secret.yaml")) as f:
                seen.append((bundles, yaml.safe_load(f)["data"]["tls.crt"]))
        self.assertEqual(len(seen[0][0]), 1)
        self.assertEqual(seen[0][0], seen[1][0])
        self.assertNotEqual(seen[0][1], seen[1][1])

    def test_install_secret_refuses_the_cert_manager_overlay(self):
        out = tempfile.mkdtemp(prefix="mg-refuse-")
        self.addCleanup(shutil.rmtree, out, True)
        p = run([os.path.join(ROOT, "certs", "install-secret.sh"), "--out", out,
                 "--kustomize", "manifests/overlays/cert-manager", "--image", IMAGE])
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("cert-manager", p.stderr)
        self.assertFalse(os.path.exists(os.path.join(out, "manual-gate.yaml")))


class DockerfileTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        with open(os.path.join(ROOT, "Dockerfile")) as f:
            cls.lines = [ln.strip() for ln in f.read().replace("\\\n", " ").splitlines()
                         if ln.strip() and not ln.strip().startswith("#")]

    def instructions(self, name):
        return [ln.split(None, 1)[1] for ln in self.lines if ln.split(None, 1)[0].upper() == name]

    def test_build_image_by_digest_and_runtime_from_scratch(self):
        args = dict(a.split("=", 1) for a in self.instructions("ARG") if "=" in a)
        self.assertRegex(args["BUILD_IMAGE"], r"^debian:bookworm@sha256:[0-9a-f]{64}$")
        froms = self.instructions("FROM")
        self.assertEqual(froms, ["${BUILD_IMAGE} AS build", "scratch"])
        user = self.instructions("USER")[-1]
        uid = one("default", "Deployment")["spec"]["template"]["spec"]["securityContext"]["runAsUser"]
        self.assertEqual(user.split(":")[0], str(uid))
        self.assertEqual(self.instructions("EXPOSE"), ["8443"])

    def test_runtime_stage_is_the_rootfs_only(self):
        runtime = self.lines[[i for i, ln in enumerate(self.lines) if ln.startswith("FROM")][1]:]
        self.assertEqual([ln for ln in runtime if ln.split()[0] in ("RUN", "ADD")], [])
        self.assertEqual(self.instructions("COPY")[-1], "--from=build /rootfs/ /")
        run_lines = " ".join(self.instructions("RUN"))
        self.assertIn("make rootfs ROOTFS=/rootfs", run_lines)
        self.assertIn('MG_VERSION="$MG_VERSION" MG_COMMIT="$MG_COMMIT"', run_lines)

    def test_packages_are_pinned_to_versions(self):
        m = re.search(r"apt-get install ([^&]*)", " ".join(self.instructions("RUN")))
        pkgs = [w for w in m.group(1).split() if not w.startswith("-")]
        self.assertTrue(pkgs)
        for p in pkgs:
            self.assertRegex(p, r"^[a-z0-9.+-]+=[0-9][^=\s]*$")

    def test_entrypoint_serves_with_the_mounted_certificate(self):
        entry = json.loads(self.instructions("ENTRYPOINT")[-1])
        cmd = json.loads(self.instructions("CMD")[-1])
        self.assertEqual(entry, ["/usr/local/bin/manual-gate", "serve"])
        self.assertEqual(cmd[cmd.index("--tls-cert") + 1], TLS_DIR + "/tls.crt")
        self.assertEqual(cmd[cmd.index("--tls-key") + 1], TLS_DIR + "/tls.key")
        self.assertEqual(cmd[cmd.index("--listen") + 1], ":8443")

    def test_build_context_holds_what_the_build_copies(self):
        with open(os.path.join(ROOT, ".dockerignore")) as f:
            allowed = {ln.strip()[1:].rstrip("/") for ln in f if ln.strip().startswith("!")}
        for src in self.instructions("COPY"):
            if src.startswith("--from"):
                continue
            for path in src.split()[:-1]:
                self.assertIn(path.rstrip("/"), allowed)
                self.assertTrue(os.path.exists(os.path.join(ROOT, path)), path)


class ProbeListenerDocTest(unittest.TestCase):
    """docs/install.md's patch for --client-ca clusters: rendered over the prometheus-operator overlay, the
    probes, the scrape and the NetworkPolicy all reach the port --probe-listen serves, over plain HTTP."""

    def render(self):
        with open(os.path.join(ROOT, "docs", "install.md")) as f:
            text = f.read()
        start = text.index("   patches:\n     - target: {kind: Deployment, name: manual-gate}")
        block = "\n".join(l[3:] for l in text[start:text.index("   ```", start)].splitlines())
        tmp = tempfile.mkdtemp(prefix="mg-probe-doc-")
        try:
            with open(os.path.join(tmp, "kustomization.yaml"), "w") as f:
                # kustomize takes a base outside its directory by a relative path only.
                overlay = os.path.relpath(os.path.join(ROOT, VARIANTS["prometheus-operator"]), tmp)
                f.write("resources:\n  - %s\n%s\n" % (overlay, block))
            return load(kustomize(tmp))
        finally:
            shutil.rmtree(tmp)

    def test_probes_scrape_and_network_policy_use_the_probe_listener(self):
        objs = {o["kind"]: o for o in self.render()}
        c = objs["Deployment"]["spec"]["template"]["spec"]["containers"][0]
        args = c["args"]
        port = int(args[args.index("--probe-listen") + 1].rsplit(":", 1)[1])
        self.assertEqual(args[args.index("--listen") + 1], ":8443")
        ports = {p["name"]: p["containerPort"] for p in c["ports"]}
        self.assertEqual(ports, {"https": 8443, "probes": port})
        for probe, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")):
            get = c[probe]["httpGet"]
            with self.subTest(probe=probe):
                self.assertEqual((get["path"], get["scheme"], ports.get(get["port"])), (path, "HTTP", port))
        ingress = [p["port"] for rule in objs["NetworkPolicy"]["spec"]["ingress"] for p in rule["ports"]]
        self.assertEqual(sorted(ingress), [port, 8443])
        svc = {p["name"]: p for p in objs["Service"]["spec"]["ports"]}
        endpoint = objs["ServiceMonitor"]["spec"]["endpoints"][0]
        self.assertEqual((endpoint["scheme"], endpoint["path"]), ("http", "/metrics"))
        self.assertNotIn("tlsConfig", endpoint)
        self.assertEqual(ports[svc[endpoint["port"]]["targetPort"]], port)
        self.assertEqual(svc["https"]["targetPort"], "https")  # the webhooks' port is left alone


if __name__ == "__main__":
    unittest.main()
