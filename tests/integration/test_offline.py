"""`manual-gate mutate` as a command, gofmt-style: files and directories, -w (atomic, mode kept, through a
symbolic link), --check (lists, exit 1, writes nothing), --diff (a unified diff that `patch` applies),
stdin; a refused file left alone while the others are processed; exit codes; JSON kept JSON; the flags
mutate takes and the ones it refuses; and the limits on what a file may make it do. The corpus of
real-shaped files is in test_offline_corpus.py, the terminal session in test_offline_terminal.py."""
import copy
import json
import os
import re
import shutil
import stat
import subprocess
import tempfile
import unittest

import jsonschema
import yaml

import harness
from test_mutate import LABEL, LOADTESTER, canary_schema, example_canaries, hook_path, load_case

MANIFESTS = os.path.join(harness.FIXTURES, "mutate", "manifests.yaml")
ROUNDTRIP = os.path.join(harness.FIXTURES, "offline", "roundtrip")
REFUSED = os.path.join(harness.FIXTURES, "offline", "refused")


def run(*args, stdin=None, cwd=None):
    """Exit code, stdout and stderr, decoded without newline translation (CRLF stays CRLF)."""
    r = subprocess.run([harness.BIN] + list(args), input=stdin.encode() if stdin is not None else None,
                       capture_output=True, timeout=120, cwd=cwd, env=dict(os.environ, ASAN_OPTIONS="detect_leaks=1"))
    return r.returncode, r.stdout.decode(), r.stderr.decode()


def mutate(*args, **kw):
    return run("mutate", *args, **kw)


def read(path):
    with open(path, newline="") as f:
        return f.read()


def write(path, text):
    with open(path, "w", newline="") as f:
        f.write(text)


class TempDirTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="mg-offline-")
        self.addCleanup(shutil.rmtree, self.tmp)

    def put(self, rel, text):
        path = os.path.join(self.tmp, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        write(path, text)
        return path

    def put_fixture(self, rel, fixture):
        return self.put(rel, read(fixture))


class CompletionTest(TempDirTest):
    def assertStable(self, out, suffix=".yaml"):
        """Mutating the output again changes nothing and says nothing."""
        path = self.put("again" + suffix, out)
        self.assertEqual(mutate(path), (0, out, ""))

    def test_flagger_examples_with_the_label_come_out_complete_without_any_flag(self):
        """Every example calls the loadtester's command API: its origin is the gate's loadtester, so no
        --loadtester-url is needed."""
        for fname, example in example_canaries():
            with self.subTest(example=fname):
                canary = copy.deepcopy(example)
                canary["metadata"].setdefault("labels", {})[LABEL] = "true"
                rc, out, err = mutate(self.put(fname, yaml.safe_dump(canary, sort_keys=False)))
                self.assertEqual(rc, 0, err)
                result = yaml.safe_load(out)
                jsonschema.validate(result, canary_schema())
                hooks = result["spec"]["analysis"]["webhooks"]
                self.assertEqual([hook_path(h) for h in hooks if h.get("type") == "confirm-traffic-increase"],
                                 ["/gate/check", "/gate/close"])
                self.assertEqual([hook_path(h) for h in hooks if h.get("type") == "post-rollout"],
                                 ["/rollback/close", "/gate/close"])
                self.assertTrue(all(h["url"].startswith("http://flagger-loadtester.test/") for h in hooks))
                self.assertGreater(result["spec"]["analysis"]["threshold"], example["spec"]["analysis"]["threshold"])
                self.assertEqual(result["metadata"]["annotations"]["manual-gate.io/original-threshold"],
                                 str(example["spec"]["analysis"]["threshold"]))
                for line in err.splitlines():
                    self.assertRegex(line, r"^Warning: \S+ \(document 1, line 1\): Canary test/podinfo: manual-gate: ")
                self.assertStable(out)

    def test_examples_without_the_label_come_out_byte_for_byte(self):
        for path in sorted(os.listdir(os.path.join(harness.FLAGGER, "examples"))):
            full = os.path.join(harness.FLAGGER, "examples", path)
            with self.subTest(example=path):
                self.assertEqual(mutate(full), (0, read(full), ""))

    def test_several_documents_keep_their_order_and_bytes(self):
        rc, out, err = mutate(MANIFESTS)
        self.assertEqual(rc, 0, err)
        src = read(MANIFESTS)
        # The documents without a Canary (an empty one, the ConfigMap, a comment) are byte for byte the input's.
        self.assertEqual(out.split("\n---\n")[1:3], src.split("\n---\n")[1:3])
        self.assertIn("kind: ConfigMap", src.split("\n---\n")[1])
        docs = [d for d in yaml.safe_load_all(out) if d]
        first = docs[0]["spec"]["analysis"]
        self.assertEqual([h["name"] for h in first["webhooks"]],
                         ["manual-gate-check", "gate-close", "acceptance-test", "manual-gate-rollback",
                          "manual-gate-reset-rollback", "manual-gate-reset-gate"])
        self.assertEqual(first["threshold"], 28800)  # 10d of 30s
        self.assertIs(docs[0]["spec"]["skipAnalysis"], False)
        listed = docs[2]["items"][0]["spec"]["analysis"]["webhooks"]
        self.assertEqual([h["url"] for h in listed], ["http://lt.web:8080/gate/check", "http://lt.web:8080/gate/close",
                                                      "http://lt.web:8080/rollback/check",
                                                      "http://lt.web:8080/rollback/close", "http://lt.web:8080/gate/close"])
        self.assertIn("Warning: %s (document 5, line 73): Canary web/frontend: manual-gate: added webhook "
                      "manual-gate-close" % MANIFESTS, err)
        self.assertStable(out)

    def test_json_stays_json_in_its_own_indentation(self):
        canary = load_case("no_webhooks_key")["canary"]
        for indent, suffix in ((2, ".json"), (4, ".json"), ("\t", ".json")):
            with self.subTest(indent=indent):
                text = json.dumps(canary, indent=indent) + "\n"
                rc, out, err = mutate("--loadtester-url", LOADTESTER, self.put("c" + suffix, text))
                self.assertEqual(rc, 0, err)
                result = json.loads(out)
                self.assertEqual(out, json.dumps(result, indent=indent) + "\n")
                self.assertEqual([h["name"] for h in result["spec"]["analysis"]["webhooks"]],
                                 ["manual-gate-check", "manual-gate-close", "manual-gate-rollback",
                                  "manual-gate-reset-rollback", "manual-gate-reset-gate"])
                jsonschema.validate(result, canary_schema())
        # On stdin too, and compact JSON stays compact.
        rc, out, err = mutate("--loadtester-url", LOADTESTER, "-", stdin=json.dumps(canary))
        self.assertEqual(rc, 0, err)
        self.assertEqual(out, json.dumps(json.loads(out), separators=(",", ":")))
        self.assertIn("Warning: <stdin> (document 1, line 1): Canary test/podinfo:", err)

    def test_a_denial_prints_the_reason_and_nothing_else(self):
        denied = load_case("two_checks")["canary"]
        fine = load_case("no_webhooks_key")["canary"]
        path = self.put("two.yaml", yaml.safe_dump_all([fine, denied], sort_keys=False))
        rc, out, err = mutate("--loadtester-url", LOADTESTER, path)
        self.assertEqual((rc, out), (1, ""))
        self.assertRegex(err, r"^Denied: %s \(document 2, line \d+\): Canary test/podinfo: manual-gate: the Canary has 2 "
                              r"/gate/check webhooks" % path)
        self.assertNotIn("Warning", err)  # the fine Canary is not written either

    def test_missing_loadtester_is_a_denial_naming_the_flag(self):
        rc, out, err = mutate(self.put("c.json", json.dumps(load_case("empty_list")["canary"])))
        self.assertEqual((rc, out), (1, ""))
        self.assertIn("--loadtester-url", err)

    def test_empty_input_prints_nothing(self):
        self.assertEqual(mutate("-", stdin="# nothing here\n---\n"), (0, "# nothing here\n---\n", ""))
        self.assertEqual(mutate("-", stdin=""), (0, "", ""))


class VerbTest(TempDirTest):
    def tree(self):
        """A repository: a gated Canary, one already complete, a refused one, JSON, and files to skip."""
        gated = self.put_fixture("apps/podinfo/canary.yaml", os.path.join(ROUNDTRIP, "gitops_multi_document.yaml"))
        rc, complete, err = mutate(gated)
        self.assertEqual(rc, 0, err)
        done = self.put("apps/done/canary.yml", complete)
        refused = self.put_fixture("apps/bg/canary.yaml", os.path.join(REFUSED, "blue_green_provider_kubernetes.yaml"))
        js = self.put_fixture("apps/json/canary.json", os.path.join(ROUNDTRIP, "canary_two_space.json"))
        skipped = [self.put("apps/podinfo/README.md", "not yaml: [\n"),
                   self.put(".git/hooks/x.yaml", "kind: [broken\n"),
                   self.put("apps/.hidden/canary.yaml", read(gated))]
        return gated, done, refused, js, skipped

    def snapshot(self):
        out = {}
        for d, _, files in os.walk(self.tmp):
            for f in files:
                p = os.path.join(d, f)
                out[p] = (read(p), os.stat(p).st_mtime_ns)
        return out

    def test_check_lists_what_would_change_and_writes_nothing(self):
        gated, done, refused, js, _ = self.tree()
        before = self.snapshot()
        rc, out, err = mutate("--check", self.tmp)
        self.assertEqual(rc, 1)
        self.assertEqual(out.splitlines(), sorted([gated, js]))
        self.assertIn("Denied: %s (document 2, line 7)" % refused, err)
        self.assertEqual(self.snapshot(), before)
        rc, out, err = mutate("--check", done)
        self.assertEqual((rc, out, err), (0, "", ""))

    def test_write_changes_files_in_place_and_leaves_refused_ones(self):
        gated, done, refused, js, skipped = self.tree()
        rc, expected, _ = mutate(gated)
        os.chmod(gated, 0o600)
        before = self.snapshot()
        rc, out, err = mutate("-w", self.tmp)
        self.assertEqual(rc, 1, err)  # the refused file
        self.assertEqual(out.splitlines(), sorted([gated, js]))
        self.assertEqual(read(gated), expected)
        self.assertEqual(stat.S_IMODE(os.stat(gated).st_mode), 0o600)
        for p in [done, refused] + skipped:
            self.assertEqual((read(p), os.stat(p).st_mtime_ns), before[p], p)
        self.assertEqual(sorted(f for f in os.listdir(os.path.dirname(gated))), ["README.md", "canary.yaml"])
        # Now complete: --check passes on everything that was written.
        self.assertEqual(mutate("--check", gated, js, done), (0, "", ""))

    def test_write_through_a_symbolic_link_keeps_the_link(self):
        target = self.put_fixture("real/canary.yaml", os.path.join(ROUNDTRIP, "crlf_line_endings.yaml"))
        link = os.path.join(self.tmp, "link.yaml")
        os.symlink(target, link)
        rc, out, err = mutate("-w", link)
        self.assertEqual((rc, out), (0, link + "\n"), err)
        self.assertTrue(os.path.islink(link))
        self.assertEqual(mutate("--check", target), (0, "", ""))

    def test_diff_is_a_patch_that_makes_the_result(self):
        gated = self.put_fixture("canary.yaml", os.path.join(ROUNDTRIP, "gitops_multi_document.yaml"))
        rc, expected, _ = mutate(gated)
        rc, diff, err = mutate("--diff", "canary.yaml", cwd=self.tmp)
        self.assertEqual(rc, 0, err)
        self.assertTrue(diff.startswith("--- a/canary.yaml\n+++ b/canary.yaml\n@@ "), diff)
        self.assertNotEqual(read(gated), expected)  # --diff alone writes nothing
        r = subprocess.run(["patch", "-p1", "--dry-run", "-o", "-"], input=diff, capture_output=True, text=True,
                           cwd=self.tmp, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        subprocess.run(["patch", "-p1", "-s"], input=diff, text=True, cwd=self.tmp, check=True, timeout=30)
        self.assertEqual(read(gated), expected)
        # With -w the diff is shown and the file written; a file already complete shows nothing.
        other = self.put_fixture("b.yaml", os.path.join(ROUNDTRIP, "four_space_indentation.yaml"))
        rc, out, err = mutate("--diff", "-w", gated, other)
        self.assertEqual(rc, 0, err)
        self.assertTrue(out.startswith("--- %s.orig\n+++ %s\n" % (other, other)), out)
        self.assertEqual(mutate("--check", other), (0, "", ""))

    def test_stdin_prints_the_result(self):
        path = os.path.join(ROUNDTRIP, "crlf_line_endings.yaml")
        rc, expected, err = mutate(path)
        self.assertEqual(rc, 0, err)
        self.assertIn("\r\n", expected)
        self.assertEqual(mutate("-", stdin=read(path))[:2], (0, expected))
        self.assertEqual(mutate("--check", "-", stdin=read(path))[:2], (1, "<stdin>\n"))

    def test_several_files_print_as_one_stream(self):
        a = self.put_fixture("a.yaml", os.path.join(ROUNDTRIP, "four_space_indentation.yaml"))
        b = self.put_fixture("b.yaml", os.path.join(ROUNDTRIP, "crlf_line_endings.yaml"))
        rc, out, err = mutate(a, b)
        self.assertEqual(rc, 0, err)
        self.assertEqual([d["kind"] for d in yaml.safe_load_all(out) if d], ["Canary", "Canary"])

    def test_unreadable_input_exits_2_and_the_others_are_still_processed(self):
        good = self.put_fixture("good.yaml", os.path.join(ROUNDTRIP, "four_space_indentation.yaml"))
        bad = self.put("bad.yaml", "kind: Canary\nspec: [unclosed\n")
        rc, out, err = mutate("-w", "/nonexistent/canary.yaml", bad, good)
        self.assertEqual(rc, 2)
        self.assertEqual(out, good + "\n")
        self.assertIn("manual-gate mutate: cannot open /nonexistent/canary.yaml", err)
        self.assertIn("manual-gate mutate: %s: yaml: document 1, line 3: did not find expected" % bad, err)
        rc, out, err = mutate(self.put("alias.yaml", "a: &x 1\n---\nb: *y\n"))
        self.assertEqual((rc, out), (2, ""))
        self.assertIn("alias.yaml: yaml: document 2, line 3: alias *y names no anchor", err)


    def test_a_helm_chart_in_the_repository_is_walked_but_its_templates_are_not(self):
        gated = self.put_fixture("charts/app/canary.yaml", os.path.join(ROUNDTRIP, "gitops_multi_document.yaml"))
        self.put("charts/app/Chart.yaml", "apiVersion: v2\nname: app\nversion: 0.1.0\n")
        template = self.put("charts/app/templates/canary.yaml",
                            "kind: Canary\nmetadata:\n  name: {{ .Values.name }}\n{{- if .Values.x }}\nspec: {}\n{{- end }}\n")
        # Not a chart: a directory called templates is walked like any other.
        plain = self.put("other/templates/bad.yaml", "kind: [broken\n")
        rc, out, err = mutate("--check", self.tmp)
        self.assertEqual(rc, 2, err)  # plain is broken YAML; the chart's template is not read
        self.assertEqual(out.splitlines(), [gated])
        self.assertIn("manual-gate mutate: %s: skipped, Helm templates are YAML only once rendered" %
                      os.path.dirname(template), err)
        self.assertIn(plain, err)
        self.assertNotIn(template + ":", err)

    def test_a_number_beyond_a_double_is_an_error_naming_it_not_out_of_memory(self):
        js = self.put("canary.json", json.dumps(json.loads(read(os.path.join(ROUNDTRIP, "canary_two_space.json"))),
                                                 indent=2).replace('"threshold": 10', '"threshold": 1e400'))
        self.assertIn("1e400", read(js))
        rc, out, err = mutate(js)
        self.assertEqual((rc, out), (2, ""))
        self.assertIn("%s: document 1: threshold: a number out of range" % js, err)
        self.assertNotIn("out of memory", err)


class FlagTest(unittest.TestCase):
    def test_mutate_help_lists_only_its_flags(self):
        rc, out, err = run("mutate", "--help")
        self.assertEqual(rc, 0, err)
        for flag in ("--loadtester-url", "--mesh-provider", "-w, --write", "--check", "--diff"):
            self.assertIn(flag, out)
        for flag in ("--tls-cert", "--listen", "--fail-open", "--threads", "--override-group"):
            self.assertNotIn(flag, out)
        rc, out, err = run("serve", "--help")
        self.assertEqual(rc, 0, err)
        self.assertIn("--tls-cert", out)
        self.assertNotIn("--check", out)

    def test_flags_of_another_command_are_errors(self):
        for args, msg in ((["mutate", "--tls-cert", "x", "f.yaml"], "--tls-cert is not a flag of mutate"),
                          (["mutate", "--fail-open", "f.yaml"], "--fail-open is not a flag of mutate"),
                          (["serve", "-w"], "--write is not a flag of serve"),
                          (["mutate", "--frobnicate", "f.yaml"], "unknown flag '--frobnicate'"),
                          (["mutate", "--check=maybe", "f.yaml"], "--check is a boolean"),
                          (["mutate"], "give PATH..."),
                          (["mutate", "-w", "--check", "f.yaml"], "give one of them"),
                          (["mutate", "-w", "-"], "-w cannot write to stdin")):
            with self.subTest(args=args):
                rc, out, err = run(*args)
                self.assertEqual((rc, out), (2, ""))
                self.assertIn(msg, err)

    def test_a_file_named_like_a_flag_after_double_dash(self):
        with tempfile.TemporaryDirectory() as tmp:
            write(os.path.join(tmp, "-w"), "kind: ConfigMap\n")
            self.assertEqual(run("mutate", "--", "-w", cwd=tmp), (0, "kind: ConfigMap\n", ""))


class ReadmeRecipesTest(TempDirTest):
    """The README's CI step and pre-commit hook run the commands they show, and its flag table says
    which command takes each flag as --help does."""

    def readme_yaml(self, first_line):
        with open(os.path.join(harness.ROOT, "README.md")) as f:
            text = f.read()
        block = text[text.index(first_line):]
        return yaml.safe_load(block[:block.index("```")])

    def repo(self):
        self.put_fixture("apps/podinfo/canary.yaml", os.path.join(ROUNDTRIP, "gitops_multi_document.yaml"))
        self.put_fixture("apps/json/canary.json", os.path.join(ROUNDTRIP, "canary_two_space.json"))

    def test_ci_step_fails_until_the_canaries_are_complete(self):
        step = self.readme_yaml("# .github/workflows/manual-gate.yaml")["jobs"]["canaries"]["steps"][1]["run"]
        args = step.split()[step.split().index("mutate") + 1:]
        self.assertEqual(args, ["--check", "--diff", "."])
        self.repo()
        rc, out, err = mutate(*args, cwd=self.tmp)
        self.assertEqual(rc, 1, err)
        self.assertIn("--- a/apps/podinfo/canary.yaml\n+++ b/apps/podinfo/canary.yaml\n", out)
        self.assertIn("\napps/json/canary.json\n", out)
        self.assertEqual(mutate("-w", ".", cwd=self.tmp)[0], 0)
        self.assertEqual(mutate(*args, cwd=self.tmp), (0, "", ""))

    def test_pre_commit_hook_completes_the_files_it_is_given(self):
        hook = self.readme_yaml("# .pre-commit-config.yaml")["repos"][0]["hooks"][0]
        self.repo()
        files = ["apps/podinfo/canary.yaml", "apps/json/canary.json", "README.md"]
        staged = [f for f in files if re.search(hook["files"], f)]
        self.assertEqual(staged, files[:2])
        entry = hook["entry"].split()
        self.assertEqual(entry[0], "manual-gate")
        rc, out, err = run(*entry[1:], *staged, cwd=self.tmp)
        self.assertEqual((rc, out.splitlines()), (0, staged), err)
        self.assertEqual(mutate("--check", *staged, cwd=self.tmp), (0, "", ""))

    def test_flag_table_names_the_commands_and_variables_as_help_does(self):
        with open(os.path.join(harness.ROOT, "README.md")) as f:
            rows = [l.split("|") for l in f.read().split("## Command line")[1].splitlines() if l.startswith("| `")]
        table = {}
        for row in rows:
            envs = re.findall(r"`(MANUAL_GATE_[A-Z_]+)`", row[3])
            flags = [f for f in re.findall(r"`(-[-a-z]+)", row[1]) if f.startswith("--")]
            self.assertLessEqual(len(envs), 1, row)
            for flag in flags:
                self.assertNotIn(flag, table, "one row per flag")
                table[flag] = (set(c.strip() for c in row[2].split(",")), envs[0] if envs else None)
        for command in ("serve", "mutate"):
            rc, out, _ = run(command, "--help")
            helped = {}
            for m in re.finditer(r"^  (?:-[a-z], )?(--[a-z][-a-z]*)\b.*?(?:\[(MANUAL_GATE_[A-Z_]+)\])?$", out, re.M):
                helped[m.group(1)] = m.group(2)
            helped.pop("--help")
            with self.subTest(command=command):
                self.assertEqual(rc, 0)
                self.assertEqual(helped, {f: env for f, (cmds, env) in table.items() if command in cmds})

    def test_help_is_per_command(self):
        serve, mutate = run("serve", "--help")[1], run("mutate", "--help")[1]
        self.assertNotEqual(serve, mutate)
        self.assertIn("--tls-cert", serve)
        self.assertNotIn("--tls-cert", mutate)
        self.assertIn("--diff", mutate)
        self.assertNotIn("--diff", serve)


class LimitsTest(TempDirTest):
    def test_aliases_of_one_large_scalar_are_bounded_in_bytes(self):
        """300 aliases of one 1 MiB anchored scalar in a 1 MiB file: refused within the 64 MiB alias
        budget, instead of building 300 MiB of copies (make bench reports the peak RSS)."""
        path = self.put("bomb.yaml", "a: &a " + "x" * (1 << 20) + "\nb: [" + ", ".join(["*a"] * 300) + "]\n")
        r = subprocess.run([harness.BIN, "mutate", path], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=120)
        self.assertEqual(r.returncode, 2)
        self.assertIn(b"yaml: document 1, line 2: aliases expand to more than 64 MiB", r.stderr)

    def test_a_canary_with_a_hundred_thousand_labels_is_completed(self):
        """Duplicate keys are found by hash, not by a scan of the mapping per key (make bench times it)."""
        canary = copy.deepcopy(load_case("no_webhooks_key")["canary"])
        canary["metadata"]["labels"].update({"key-%d" % i: "v" for i in range(100000)})
        path = self.put("big.yaml", yaml.safe_dump(canary, sort_keys=False))
        r = subprocess.run([harness.BIN, "mutate", "--loadtester-url", LOADTESTER, path], stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])
        self.assertIn(b"added webhook manual-gate-check", r.stderr)


if __name__ == "__main__":
    unittest.main()
