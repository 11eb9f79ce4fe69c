"""`manual-gate mutate` over a corpus of real-shaped manifest files, picked up by glob: Flagger's own
example Canaries (as they are, and with gating switched on by the label), and the files in
tests/fixtures/offline/roundtrip (multi-document files with comments, anchors, flow style, folded and
literal scalars, CRLF, a leading `---` and `...`, a List, JSON). For each file:
- the lines that differ between input and output all belong to nodes the server's JSON Patch touches
  (a diff of the two texts, checked against the nodes' line ranges), so every other document and every
  other line is byte-identical; a document the file says is re-printed (`# expect-reprinted: N`) is
  reported on stderr and may differ as a whole;
- the output reads (with kubectl) as the input with the server's patch applied by
  `kubectl patch --local --type=json`: the splice is checked against the API server's JSON Patch library;
- a second run changes nothing and says nothing; `-w` then `--check` exits 0, and -w keeps the mode.
Files in tests/fixtures/offline/refused name the Canary the cluster would refuse
(`# expect-refused-at:`) and the message (`# expect-refused-message:`): exit 1, the message on stderr
with file, document and line, no warning, and the file untouched by -w."""
import difflib
import glob
import json
import os
import re
import shutil
import stat
import subprocess
import tempfile
import unittest

import yaml

import harness
from harness import ServerTest, admission_request, decode_patch, kubectl_patch
from test_offline import REFUSED, ROUNDTRIP, mutate, read, write

EXAMPLES = os.path.join(harness.FLAGGER, "examples")
LABEL_LINES = '  labels:\n    manual-gate.io/enabled: "true"\n'


def corpus():
    """(name, text) of every file of the corpus; Flagger's examples twice, once with the label."""
    out = []
    for path in sorted(glob.glob(os.path.join(EXAMPLES, "*.yaml"))):
        text = read(path)
        out.append(("examples/" + os.path.basename(path), text))
        out.append(("examples/labelled-" + os.path.basename(path), text.replace("\nmetadata:\n", "\nmetadata:\n" + LABEL_LINES, 1)))
    for path in sorted(glob.glob(os.path.join(ROUNDTRIP, "*"))):
        out.append((os.path.basename(path), read(path)))
    return out


def kubectl_objects(path):
    """The objects of a manifest file as kubectl reads it (List items flattened), keyed by kind,
    namespace and name."""
    r = subprocess.run(["kubectl", "patch", "--local", "-f", path, "--type=json", "-p", "[]", "-o", "json"],
                       capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise AssertionError("kubectl cannot read %s: %s" % (path, r.stderr))
    objs, dec, i, t = {}, json.JSONDecoder(), 0, r.stdout
    while True:
        while i < len(t) and t[i].isspace():
            i += 1
        if i >= len(t):
            return objs
        o, i = dec.raw_decode(t, i)
        meta = o.get("metadata", {})
        objs[(o.get("kind"), meta.get("namespace", ""), meta.get("name"))] = o


def lines_of(text):
    return re.split(r"(?<=\n)", text)


def last_line(node):
    """The last line a node's own text takes (0-based)."""
    if isinstance(node, yaml.MappingNode) and node.flow_style is not True and node.value:
        return last_line(node.value[-1][1])
    if isinstance(node, yaml.SequenceNode) and node.flow_style is not True and node.value:
        return last_line(node.value[-1])
    end = node.end_mark
    return end.line - 1 if end.column == 0 and end.line > node.start_mark.line else end.line


def entry(root, tokens):
    """(line of the entry holding the node at tokens, the node) or None when absent."""
    node, line = root, root.start_mark.line
    for tok in tokens:
        if isinstance(node, yaml.MappingNode):
            found = [(k, v) for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == tok]
            if not found:
                return None
            line, node = found[0][0].start_mark.line, found[0][1]
        elif isinstance(node, yaml.SequenceNode) and tok.isdigit() and int(tok) < len(node.value):
            node = node.value[int(tok)]
            line = node.start_mark.line
        else:
            return None
    return line, node


def object_roots(text):
    """{(kind, namespace, name): (document index, base tokens, root node)} for the objects of a text."""
    out = {}
    for d, doc in enumerate(yaml.compose_all(text, Loader=yaml.SafeLoader)):
        if not isinstance(doc, yaml.MappingNode):
            continue
        kinds = {k.value: v for k, v in doc.value}
        kind = kinds.get("kind").value if "kind" in kinds else None
        subjects = [([], doc)]
        if kind and kind.endswith("List") and isinstance(kinds.get("items"), yaml.SequenceNode):
            subjects = [(["items", str(i)], item) for i, item in enumerate(kinds["items"].value)]
        for base, node in subjects:
            meta, e = entry(node, ["metadata"]), entry(node, ["kind"])
            key = [e[1].value if e else None]
            for tok in ("namespace", "name"):
                e = entry(meta[1], [tok]) if meta else None
                key.append(e[1].value if e else "")
            out[tuple(key)] = (d, base, node)
    return out


def allowed_lines(root, paths):
    """Lines of the nodes at the patch paths (a path [] is the whole root), with the key line of the
    entry holding each."""
    lines = set()
    for tokens in paths:
        if not tokens:
            lines.update(range(root.start_mark.line, last_line(root) + 1))
        e = entry(root, tokens) if tokens else None
        if e:
            lines.update(range(e[0], last_line(e[1]) + 1))
        # The entry holding it: a mapping emptied by a removal is written {} on its key's line.
        e = entry(root, tokens[:-1]) if tokens else None
        if e:
            lines.add(e[0])
    return lines


def pointer_tokens(path):
    return [t.replace("~1", "/").replace("~0", "~") for t in path.split("/")[1:]]


def headers(text, name):
    return [l.split(":", 1)[1].strip() for l in text.splitlines() if l.startswith("# %s:" % name)]


class CorpusTest(ServerTest):
    maxDiff = None

    def server_patch(self, obj):
        resp = self.server.review("/mutate", admission_request("Canary", obj=obj, operation="CREATE",
                                                                 namespace=obj["metadata"].get("namespace", "")))
        self.assertTrue(resp["allowed"], resp)
        return decode_patch(resp)

    def check_file(self, name, text, tmp):
        ext = os.path.splitext(name)[1]
        src, dst = os.path.join(tmp, "in" + ext), os.path.join(tmp, "out" + ext)
        write(src, text)
        rc, out, err = mutate(src)
        self.assertEqual(rc, 0, err)
        write(dst, out)
        # Documents printed anew are the ones the file says, and no others.
        reprinted = sorted(int(m) for m in re.findall(r"^Note: \S+ \(document (\d+),", err, re.M))
        self.assertEqual(reprinted, sorted(int(n) for n in headers(text, "expect-reprinted")), err)

        before, after = kubectl_objects(src), kubectl_objects(dst)
        self.assertEqual(sorted(before), sorted(after))
        in_roots, out_roots = ({}, {}) if ext == ".json" else (object_roots(text), object_roots(out))
        allowed_in, allowed_out = set(), set()
        for key, obj in before.items():
            ops = self.server_patch(obj) if key[0] == "Canary" else []
            want = kubectl_patch(obj, ops) if ops else obj
            self.assertEqual(after[key], want, "%s: %s" % (name, key))
            if ops and in_roots:
                (d, _, node), (od, _, onode) = in_roots[key], out_roots[key]
                if d + 1 in reprinted:
                    node, onode, paths = self.doc_root(text, d), self.doc_root(out, od), [[]]
                else:
                    paths = [pointer_tokens(op["path"]) for op in ops]
                allowed_in |= allowed_lines(node, paths)
                allowed_out |= allowed_lines(onode, paths)
        if in_roots:
            self.assertOnlyLinesChanged(text, out, allowed_in, allowed_out, name)
        elif out != text:
            self.assertEqual(re.match(r"\{\r?\n(\s*)", out).group(1), re.match(r"\{\r?\n(\s*)", text).group(1))

        # Stable: a second run changes nothing and says nothing.
        self.assertEqual(mutate(dst), (0, out, ""))
        # -w keeps the mode, then --check finds nothing to do.
        os.chmod(src, 0o640)
        rc, listed, err = mutate("-w", src)
        self.assertEqual((rc, listed), (0, src + "\n" if out != text else ""), err)
        self.assertEqual(read(src), out)
        self.assertEqual(stat.S_IMODE(os.stat(src).st_mode), 0o640)
        self.assertEqual(mutate("--check", src)[:2], (0, ""))

    @staticmethod
    def doc_root(text, d):
        return list(yaml.compose_all(text, Loader=yaml.SafeLoader))[d]

    def assertOnlyLinesChanged(self, text, out, allowed_in, allowed_out, name):
        a, b = lines_of(text), lines_of(out)
        for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
            if tag == "equal":
                continue
            stray_in = [i for i in range(i1, i2) if i not in allowed_in]
            stray_out = [j for j in range(j1, j2) if j not in allowed_out]
            self.assertEqual((stray_in, stray_out), ([], []),
                             "%s: lines changed outside the patched nodes:\n%s" %
                             (name, "".join(difflib.unified_diff(a, b, "in", "out"))))

    def test_corpus_round_trips(self):
        files = corpus()
        self.assertGreaterEqual(len(files), 18)
        for name, text in files:
            with self.subTest(file=name), tempfile.TemporaryDirectory() as tmp:
                self.check_file(name, text, tmp)

    def test_gated_files_change_and_the_others_do_not(self):
        """Every labelled example and gated fixture is changed, so the checks above are not vacuous;
        Flagger's examples as they are and the fixtures without gating ("not_gated") come out as they
        went in."""
        unchanged = []
        with tempfile.TemporaryDirectory() as tmp:
            for name, text in corpus():
                path = os.path.join(tmp, "f" + os.path.splitext(name)[1])
                write(path, text)
                rc, out, err = mutate(path)
                self.assertEqual(rc, 0, err)
                if out == text:
                    unchanged.append(name)
        expected = ["examples/" + os.path.basename(p) for p in sorted(glob.glob(os.path.join(EXAMPLES, "*.yaml")))]
        expected += [os.path.basename(p) for p in sorted(glob.glob(os.path.join(ROUNDTRIP, "*not_gated*")))]
        self.assertEqual(sorted(unchanged), sorted(expected))


class RefusedTest(unittest.TestCase):
    def test_refused_files_are_reported_and_left_alone(self):
        files = sorted(glob.glob(os.path.join(REFUSED, "*.yaml")))
        self.assertGreaterEqual(len(files), 7)
        for path in files:
            with self.subTest(file=os.path.basename(path)), tempfile.TemporaryDirectory() as tmp:
                text = read(path)
                copy = os.path.join(tmp, os.path.basename(path))
                shutil.copy2(path, copy)
                mtime = os.stat(copy).st_mtime_ns
                at, = headers(text, "expect-refused-at")
                message, = headers(text, "expect-refused-message")
                for verb in ([], ["-w"], ["--check"], ["--diff"]):
                    rc, out, err = mutate(*verb, copy)
                    self.assertEqual((rc, out), (1, ""), err)
                    self.assertNotIn("Warning:", err)
                    lines = [l for l in err.splitlines() if re.match(r"(Denied|Error): %s %s: " %
                                                                      (re.escape(copy), re.escape(at)), l)]
                    self.assertTrue(lines, err)
                    self.assertIn(message, lines[0])
                self.assertEqual(read(copy), text)
                self.assertEqual(os.stat(copy).st_mtime_ns, mtime)


if __name__ == "__main__":
    unittest.main()
