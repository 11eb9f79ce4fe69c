"""Inputs for tests/bench/run.sh: 10,000 Canaries (a third with a gated release in flight), a 14 KB
Deployment review whose template changed (denied), and a Canary CREATE review that gets a patch."""
import json
import sys

out = sys.argv[1]
items = []
for i in range(10000):
    items.append({"apiVersion": "flagger.app/v1beta1", "kind": "Canary",
                  "metadata": {"name": "app-%d" % i, "namespace": "ns-%d" % (i % 100), "resourceVersion": str(i + 2),
                               "labels": {"manual-gate.io/enabled": "true"}},
                  "spec": {"targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "app-%d" % i},
                           "analysis": {"interval": "1m", "threshold": 14400}},
                  "status": {"phase": "Progressing" if i % 3 == 0 else "Succeeded", "canaryWeight": 10,
                             "failedChecks": i % 5, "lastTransitionTime": "2024-05-02T09:14:00Z"}})
json.dump({"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": "1"}, "items": items},
          open(out + "/canaries.json", "w"))


def deployment(image):
    env = [{"name": "ENV_%d" % k, "value": "v" * 150} for k in range(40)]
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "app-0", "namespace": "ns-0", "labels": {"app": "app-0"}},
            "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "app-0"}},
                     "template": {"metadata": {"labels": {"app": "app-0"}},
                                  "spec": {"containers": [{"name": "app", "image": image, "env": env}]}}}}


def review(kind, group, version, obj, old):
    return {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
            "request": {"uid": "bench", "kind": {"group": group, "version": version, "kind": kind},
                        "namespace": "ns-0", "name": obj["metadata"]["name"],
                        "operation": "UPDATE" if old else "CREATE",
                        "userInfo": {"username": "bench"}, "object": obj, "oldObject": old}}


json.dump(review("Deployment", "apps", "v1", deployment("app:2"), deployment("app:1")), open(out + "/validate.json", "w"))
canary = {"apiVersion": "flagger.app/v1beta1", "kind": "Canary",
          "metadata": {"name": "podinfo", "namespace": "ns-0", "labels": {"manual-gate.io/enabled": "true"}},
          "spec": {"targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "podinfo"},
                   "service": {"port": 9898},
                   "analysis": {"interval": "1m", "threshold": 5, "maxWeight": 50, "stepWeight": 10}}}
# CREATE: the mutator completes it (an UPDATE that changes nothing would get no patch).
json.dump(review("Canary", "flagger.app", "v1beta1", canary, None), open(out + "/mutate.json", "w"))
