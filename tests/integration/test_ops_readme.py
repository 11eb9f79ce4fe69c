"""The README's "Operating a gated release": the RBAC it gives operators and CI is enough for the commands
and no more than they need (the stand-in API server authorizes every request by exactly those rules), and
the outputs it shows are what the commands print for the same Canary."""
import os
import re
import unittest

import yaml

import harness
from ops_scene import NS, FlaggerSim, Scene, canary
from test_ops_check import configmap, deployment


def readme_section():
    with open(os.path.join(harness.ROOT, "README.md")) as f:
        text = f.read()
    start = text.index("## Operating a gated release")
    return text[start:text.index("\n## ", start + 1)]


def yaml_objects(section):
    """The Kubernetes objects of the section's YAML blocks (the CI step, a list, is not one)."""
    docs = [d for b in re.findall(r"```yaml\n(.*?)```", section, re.S) for d in yaml.safe_load_all(b)]
    return [d for d in docs if isinstance(d, dict) and "kind" in d]


def rules_of(docs):
    """The stand-in's rules for what these Roles, ClusterRoles and bindings grant (one subject)."""
    roles = {(d["kind"], d["metadata"]["name"]): d for d in docs if d["kind"] in ("Role", "ClusterRole")}
    bindings = [d for d in docs if d["kind"] == "RoleBinding"]
    if not bindings:  # a Role shown alone is meant to be bound in its own namespace
        return [dict(r, namespace=d["metadata"]["namespace"]) for d in roles.values() for r in d["rules"]]
    rules = []
    for b in bindings:
        role = roles[(b["roleRef"]["kind"], b["roleRef"]["name"])]
        rules += [dict(r, namespace=b["metadata"]["namespace"]) for r in role["rules"]]
    return rules


class ReadmeRbacTest(unittest.TestCase):
    def setUp(self):
        self.scene = Scene()
        self.scene.put(canary(weight=20))
        for obj in (deployment(), configmap("podinfo-config")):
            self.scene.put(obj)
        objects = yaml_objects(readme_section())
        self.operator = rules_of([d for d in objects if "manual-gate-operator" in d["metadata"]["name"]])
        self.ci = rules_of([d for d in objects if d["metadata"]["name"] == "manual-gate-ci"])

    def tearDown(self):
        self.scene.stop()

    def test_the_operator_role_is_enough_for_status_gate_and_rollback(self):
        self.assertTrue(self.operator)
        self.scene.api.authorize_with(self.operator)
        rc, out, err = self.scene.run("status", "-o", "json")
        self.assertEqual(rc, 0, err)
        self.assertNotIn("forbidden", out)
        self.assertNotIn("RBAC", out)
        for args in (("gate", "open"), ("gate", "close"), ("rollback", "open"), ("rollback", "close")):
            rc, out, err = self.scene.run(*args, "podinfo", "--yes")
            self.assertEqual(rc, 0, args + (err,))

    def test_all_namespaces_needs_the_cluster_role_bound_cluster_wide(self):
        self.scene.api.authorize_with(self.operator)
        rc, out, err = self.scene.run("status", "-A")
        self.assertEqual((rc, out), (2, ""))
        self.assertIn('RBAC refused to list canaries.flagger.app in all namespaces: canaries.flagger.app is forbidden: '
                      'User "alice" cannot list resource "canaries" in API group "flagger.app" at the cluster scope', err)
        self.scene.api.authorize_with([dict(r, namespace=None) if r["resources"] == ["canaries"] else r
                                       for r in self.operator])
        rc, out, err = self.scene.run("status", "-A")
        self.assertEqual(rc, 0, err)

    def test_without_the_proxy_rule_the_gate_commands_are_refused(self):
        self.scene.api.authorize_with([r for r in self.operator if r["resources"] != ["services/proxy"]])
        rc, out, err = self.scene.run("gate", "open", "podinfo", "--yes")
        self.assertEqual(rc, 2)
        self.assertIn("RBAC refused to create services/proxy", err)

    def test_the_ci_role_is_enough_for_check(self):
        self.assertTrue(self.ci)
        self.scene.api.authorize_with(self.ci)
        for ref in ("deployment/podinfo", "configmap/podinfo-config", "secret/podinfo-token"):
            rc, out, err = self.scene.run("check", ref, "-n", NS)
            self.assertEqual(rc, 1, ref + err)  # denied: the release is in flight
            self.assertTrue(out.startswith("denied: "), out)


class ReadmeOutputTest(unittest.TestCase):
    def test_the_shown_status_and_gate_open_are_real_output(self):
        section = readme_section()
        scene = Scene()
        sim = None
        try:
            scene.put(canary(weight=20, started_ago=2 * 86400 + 3 * 3600 + 120, moved_ago=5 * 3600 + 60))
            scene.put(canary("frontend", weight=0, phase="Succeeded"))
            rc, out, err = scene.run("status", "-n", NS)
            self.assertEqual(rc, 0, err)
            shown = section[section.index("$ manual-gate status -n test\n"):].split("```")[0].splitlines()[1:]
            self.assertEqual(out.splitlines(), shown)
            sim = FlaggerSim(scene)
            rc, out, err = scene.run("gate", "open", "podinfo", "-n", NS, "--yes", "--wait")
            self.assertEqual(rc, 0, err)
            shown = section[section.index("$ manual-gate gate open podinfo"):].split("```")[0].splitlines()[1:]
            # The README shows the prompt answered; --yes skips it. Times differ.
            shown = [l for l in shown if not l.startswith("Open the gate?")]
            real = out.splitlines()
            self.assertEqual(len(real), len(shown), out)
            for r, s in zip(real, shown):
                self.assertEqual(re.sub(r"^\d\d:\d\d:\d\d", "T", r), re.sub(r"^\d\d:\d\d:\d\d", "T", s))
        finally:
            if sim:
                sim.stop()
            scene.stop()


if __name__ == "__main__":
    unittest.main()
