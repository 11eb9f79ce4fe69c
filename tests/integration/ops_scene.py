"""A small cluster for the operator commands' tests (`status`, `gate`, `rollback`, `check`), reached the
way a person reaches a real one: the real binary runs the real `kubectl` with a kubeconfig pointing at
the stand-in API server, whose services proxy leads to a stand-in loadtester with Flagger's gate
semantics. Canaries are built from the podinfo fixture; FlaggerSim reads the gates as Flagger's
scheduler does (rollback gate first, then the traffic gate, closing it after a step)."""
import copy
import json
import os
import subprocess
import tempfile
import threading
import time

import harness
from standin_apiserver import StandinAPIServer
from standin_loadtester import StandinLoadtester

NS = "test"
LT_SERVICE = "flagger-loadtester"
LT_URL = "http://flagger-loadtester.test"

KUBECONFIG = """apiVersion: v1
kind: Config
clusters:
- name: standin
  cluster:
    server: %(server)s
users:
- name: alice
  user:
    token: alice-token
contexts:
- name: standin
  context:
    cluster: standin
    user: alice
    namespace: %(namespace)s
- name: elsewhere
  context:
    cluster: standin
    user: alice
    namespace: other
current-context: standin
"""


def fixture_canary():
    with open(os.path.join(harness.FIXTURES, "canaries", "podinfo.json")) as f:
        return json.load(f)


def rfc3339(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def canary(name="podinfo", namespace=NS, phase="Progressing", weight=10, started_ago=3 * 86400, moved_ago=600,
           lt_url=LT_URL, failed=0):
    """A gated Canary (gate-check, gate-close, rollback hooks on lt_url), stepWeight 10 up to maxWeight 50,
    whose release started started_ago seconds ago and last changed moved_ago seconds ago."""
    c = fixture_canary()
    c["metadata"] = {"name": name, "namespace": namespace}
    c["spec"]["targetRef"]["name"] = name
    for h in c["spec"]["analysis"]["webhooks"]:
        h["url"] = lt_url + h["url"][len(LT_URL):]
    now = time.time()
    c["status"].update({"phase": phase, "canaryWeight": weight, "failedChecks": failed,
                        "lastTransitionTime": rfc3339(now - moved_ago),
                        "trackedConfigs": {"configmap/%s-config" % name: "abc", "secret/%s-token" % name: "def"}})
    cond = c["status"]["conditions"][0]
    cond.update({"reason": phase, "lastTransitionTime": rfc3339(now - started_ago),
                 "status": "Unknown" if phase not in ("Succeeded", "Initialized", "Failed") else
                 ("False" if phase == "Failed" else "True")})
    return c


def service(name=LT_SERVICE, namespace=NS, port=80):
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": namespace},
            "spec": {"ports": [{"name": "http", "port": port, "targetPort": 8080}]}}


def endpoint_slice(pods, service_name=LT_SERVICE, namespace=NS, not_ready=0):
    eps = [{"addresses": ["10.0.0.%d" % (i + 1)], "conditions": {"ready": i < pods},
            "targetRef": {"kind": "Pod", "namespace": namespace, "name": "%s-%d" % (service_name, i)}}
           for i in range(pods + not_ready)]
    return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": service_name + "-abcde", "namespace": namespace,
                         "labels": {"kubernetes.io/service-name": service_name}},
            "addressType": "IPv4", "endpoints": eps, "ports": [{"name": "http", "port": 8080}]}


class Scene:
    """The stand-in API server with the loadtester Service routed to a stand-in loadtester, and a kubeconfig
    for it (context "standin", namespace test; context "elsewhere", namespace other)."""

    def __init__(self, pods=1):
        self.api = StandinAPIServer()
        self.lt = StandinLoadtester()
        self.api.put_object(service())
        self.api.put_object(endpoint_slice(pods))
        self.api.route_service(NS, LT_SERVICE, 80, self.lt.address)
        with tempfile.NamedTemporaryFile("w", prefix="mg-kubeconfig-", suffix=".yaml", delete=False) as f:
            f.write(KUBECONFIG % {"server": self.api.url, "namespace": NS})
        self.kubeconfig = f.name

    def put(self, obj):
        if obj["kind"] == "Canary":
            return self.api.put(obj)
        return self.api.put_object(obj)

    def get_canary(self, name="podinfo", namespace=NS):
        with self.api.cond:
            return copy.deepcopy(self.api._objects[(namespace, name)])

    def run(self, *args, stdin=None, env=None, timeout=90):
        """The real binary with --kubeconfig; (exit code, stdout, stderr)."""
        e = dict(os.environ, ASAN_OPTIONS="detect_leaks=1")
        e.pop("NO_COLOR", None)
        e.update(env or {})
        r = subprocess.run([harness.BIN] + list(args) + ["--kubeconfig", self.kubeconfig], input=stdin,
                           capture_output=True, text=True, timeout=timeout, env=e)
        return r.returncode, r.stdout, r.stderr

    def proxy_posts(self):
        """(path, body) of every POST the API server received."""
        return [(r["path"], json.loads(r["body"] or b"null")) for r in self.api.requests() if r.get("method") == "POST"]

    def stop(self):
        self.api.stop()
        self.lt.stop()
        os.unlink(self.kubeconfig)


class FlaggerSim:
    """Reads the gates of every Canary in flight every `tick` seconds, as Flagger's scheduler does: the
    rollback gate (Progressing, Waiting, WaitingPromotion) rolls back to Failed at 0%; in Progressing an
    open traffic gate is closed again (the gate-close hook) and the weight steps by 10 up to maxWeight 50,
    after which the step promotes (Promoting)."""

    def __init__(self, scene, tick=0.3):
        self.scene = scene
        self.tick = tick
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _post(self, path, c):
        import http.client
        conn = http.client.HTTPConnection("127.0.0.1", self.scene.lt.port, timeout=5)
        conn.request("POST", path, json.dumps({"name": c["metadata"]["name"],
                                               "namespace": c["metadata"]["namespace"]}))
        status = conn.getresponse().status
        conn.close()
        return status

    def _step(self, c):
        st = c["status"]
        if st["phase"] in ("Progressing", "Waiting", "WaitingPromotion") and self._post("/rollback/check", c) == 200:
            st.update({"phase": "Failed", "canaryWeight": 0})
        elif st["phase"] == "Progressing" and self._post("/gate/check", c) == 200:
            self._post("/gate/close", c)
            if st["canaryWeight"] < 50:
                st["canaryWeight"] += 10
            else:
                st["phase"] = "Promoting"
        else:
            return
        st["lastTransitionTime"] = rfc3339(time.time())
        self.scene.api.put(c)

    def _run(self):
        while not self._stop.wait(self.tick):
            with self.scene.api.cond:
                canaries = [copy.deepcopy(c) for c in self.scene.api._objects.values()]
            for c in canaries:
                self._step(c)

    def stop(self):
        self._stop.set()
        self._thread.join(5)
