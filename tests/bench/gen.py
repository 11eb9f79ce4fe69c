"""Inputs for tests/bench/run.sh: Canaries as Flagger keeps them (spec with service, analysis, metrics and
webhooks; status with conditions and tracked configs: about 1.5 KB of YAML each, a third with a gated
release in flight), a ~9 KB Deployment review whose template changed (denied), and a Canary CREATE
review that gets a patch.

    gen.py TMPDIR [N]   writes TMPDIR/canaries.json (N Canaries, 10,000 by default), validate.json,
                        mutate.json"""
import json
import sys


def canary(i):
    """The i-th Canary: app-i in namespace ns-(i % 100); every third one Progressing."""
    name, ns = "app-%d" % i, "ns-%d" % (i % 100)
    progressing = i % 3 == 0
    return {
        "apiVersion": "flagger.app/v1beta1", "kind": "Canary",
        "metadata": {"name": name, "namespace": ns, "uid": "6f1c2d3e-%04x-4000-8000-%012x" % (i % 65536, i),
                     "resourceVersion": str(100000 + i), "generation": 3,
                     "creationTimestamp": "2024-04-11T08:00:00Z",
                     "labels": {"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "shop"}},
        "spec": {"provider": "nginx",
                 "targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
                 "ingressRef": {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "name": name},
                 "progressDeadlineSeconds": 600,
                 "service": {"port": 80, "targetPort": 9898, "portDiscovery": True},
                 "analysis": {"interval": "1m", "threshold": 5, "maxWeight": 50, "stepWeight": 10,
                              "metrics": [{"name": "request-success-rate", "interval": "1m",
                                           "thresholdRange": {"min": 99}},
                                          {"name": "request-duration", "interval": "1m",
                                           "thresholdRange": {"max": 500}}],
                              "webhooks": [{"name": "manual-gate", "type": "confirm-traffic-increase",
                                            "url": "http://flagger-loadtester.test/gate/check"},
                                           {"name": "load-test", "type": "rollout", "timeout": "5s",
                                            "url": "http://flagger-loadtester.test/",
                                            "metadata": {"cmd": "hey -z 1m -q 10 -c 2 http://%s-canary.%s/" %
                                                         (name, ns)}}]}},
        "status": {"phase": "Progressing" if progressing else "Succeeded", "canaryWeight": 20 if progressing else 0,
                   "failedChecks": i % 3, "iterations": 0, "lastAppliedSpec": "5d8f7c9b6%d" % (i % 10),
                   "lastPromotedSpec": "7c9b6d8f5%d" % (i % 10),
                   "lastTransitionTime": "2024-05-02T09:14:00Z",
                   "trackedConfigs": {"configmap/%s-config" % name: "a1b2c3d4e5f6a7b8",
                                      "secret/%s-env" % name: "0f1e2d3c4b5a6978"},
                   "conditions": [{"type": "Promoted", "status": "Unknown" if progressing else "True",
                                   "reason": "Progressing" if progressing else "Succeeded",
                                   "message": "New revision detected, progressing canary analysis." if progressing
                                   else "Canary analysis completed successfully, promotion finished.",
                                   "lastUpdateTime": "2024-05-02T09:14:00Z",
                                   "lastTransitionTime": "2024-05-02T09:14:00Z"}]}}


def deployment(image):
    env = [{"name": "ENV_%d" % k, "value": "v" * 70} for k in range(40)]
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


def main():
    out = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 10000
    with open(out + "/canaries.json", "w") as f:
        json.dump({"apiVersion": "flagger.app/v1beta1", "kind": "CanaryList", "metadata": {"resourceVersion": "1"},
                   "items": [canary(i) for i in range(n)]}, f)
    with open(out + "/validate.json", "w") as f:
        json.dump(review("Deployment", "apps", "v1", deployment("app:2"), deployment("app:1")), f)
    mutate = {"apiVersion": "flagger.app/v1beta1", "kind": "Canary",
              "metadata": {"name": "podinfo", "namespace": "ns-0", "labels": {"manual-gate.io/enabled": "true"}},
              "spec": {"targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "podinfo"},
                       "service": {"port": 9898},
                       "analysis": {"interval": "1m", "threshold": 5, "maxWeight": 50, "stepWeight": 10}}}
    # CREATE: the mutator completes it (an UPDATE that changes nothing would get no patch).
    with open(out + "/mutate.json", "w") as f:
        json.dump(review("Canary", "flagger.app", "v1beta1", mutate, None), f)


if __name__ == "__main__":
    main()
