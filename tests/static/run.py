"""Static checks of webhook/, each one reported as a test: the include layers that docs/design.md draws
(no module includes a higher one, every file is in the picture), function size and complexity (pmccabe:
no function over 60 lines or cyclomatic complexity 20 unless a comment just above it says it is a
state-machine parser), file size (no .c over 600 lines), and the rule ids the policies deny with, each
listed in docs/design.md's "Rule ids" table (metrics and logs name them: a user looks them up there). Prints "static: N passed, N failed[, N
skipped]" and appends the counts to $RESULTS for tests/summary.sh."""
import glob
import os
import re
import shutil
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
WEBHOOK = os.path.join(ROOT, "webhook")
MAX_LINES, MAX_COMPLEXITY, MAX_FILE_LINES = 60, 20, 600
EXEMPT_MARK = re.compile(r"state[- ]machine parser", re.I)


def layers():
    """module -> layer, from the table in docs/design.md's "Modules and layers"."""
    with open(os.path.join(ROOT, "docs", "design.md")) as f:
        text = f.read()
    section = text[text.index("## Modules and layers"):]
    section = section[:section.index("\n## ", 1)]
    out = {}
    for line in section.splitlines():
        m = re.match(r"\|\s*(\d+)\s*\|\s*([a-z0-9_ ]+?)\s*\|", line)
        if m:
            for mod in m.group(2).split():
                out[mod] = int(m.group(1))
    return out


def check_layers():
    table = layers()
    problems = []
    for path in sorted(glob.glob(os.path.join(WEBHOOK, "*.[ch]"))):
        mod = os.path.splitext(os.path.basename(path))[0]
        if mod not in table:
            problems.append("%s: module %s is not in docs/design.md's layer table" % (os.path.basename(path), mod))
            continue
        with open(path) as f:
            for n, line in enumerate(f, 1):
                m = re.match(r'\s*#\s*include\s+"([a-z0-9_]+)\.h"', line)
                if not m:
                    continue
                inc = m.group(1)
                if inc not in table:
                    problems.append("%s:%d: includes %s.h, which is not in the layer table" % (mod, n, inc))
                elif table[inc] > table[mod]:
                    problems.append("%s:%d: %s (layer %d) includes %s.h (layer %d)" % (
                        os.path.basename(path), n, mod, table[mod], inc, table[inc]))
    return problems


def check_complexity():
    files = sorted(glob.glob(os.path.join(WEBHOOK, "*.c")))
    out = subprocess.run(["pmccabe"] + files, capture_output=True, text=True, check=True).stdout
    problems = []
    sources = {}
    for line in out.splitlines():
        # modified-cc traditional-cc statements first-line lines file(line): name
        m = re.match(r"(\d+)\s+(\d+)\s+\d+\s+(\d+)\s+(\d+)\s+(\S+)\((\d+)\):\s+(\S+)", line)
        if not m:
            continue
        cc, first, nlines, path, name = int(m.group(2)), int(m.group(3)), int(m.group(4)), m.group(5), m.group(7)
        if cc <= MAX_COMPLEXITY and nlines <= MAX_LINES:
            continue
        if path not in sources:
            with open(path) as f:
                sources[path] = f.read().splitlines()
        above = "\n".join(sources[path][max(0, first - 8):first - 1])
        if EXEMPT_MARK.search(above):
            continue
        problems.append("%s:%d: %s has %d lines, complexity %d (limits %d, %d)" % (
            os.path.basename(path), first, name, nlines, cc, MAX_LINES, MAX_COMPLEXITY))
    return problems


def check_file_sizes():
    problems = []
    for path in sorted(glob.glob(os.path.join(WEBHOOK, "*.c"))):
        with open(path) as f:
            n = sum(1 for _ in f)
        if n > MAX_FILE_LINES:
            problems.append("%s has %d lines (limit %d)" % (os.path.basename(path), n, MAX_FILE_LINES))
    return problems


# Where a rule id is given: decision_deny(d, "id", ...), decision_override(d, "id", ...), a guard subject's
# rule ("s.rule = ..."), a local "rule = ..." handed to one, and guard.c's rule of the unknown state.
RULE_SITES = re.compile(r'(?:decision_deny\(d, |decision_override\(d, |\bs\.rule = |(?<![.\w\]])\*?rule = |'
                        r'#define GUARD_RULE_UNKNOWN )"([a-z0-9-]+)"')


def check_rules():
    code = set()
    for path in sorted(glob.glob(os.path.join(WEBHOOK, "*.c"))):
        with open(path) as f:
            code |= set(RULE_SITES.findall(f.read()))
    with open(os.path.join(ROOT, "docs", "design.md")) as f:
        text = f.read()
    section = text[text.index("## Rule ids"):]
    section = section[:section.index("\n## ", 1)]
    documented = set(re.findall(r"^\| `([a-z0-9-]+)` \|", section, re.M))
    problems = ["rule %s is used in webhook/ but not listed in docs/design.md's Rule ids" % r
                for r in sorted(code - documented)]
    problems += ["rule %s is listed in docs/design.md but used nowhere" % r for r in sorted(documented - code)]
    if len(code) < 20:
        problems.append("found only %d rule ids: the pattern no longer matches the code" % len(code))
    return problems


def main():
    checks = [("layers", check_layers, None), ("file_sizes", check_file_sizes, None),
              ("complexity", check_complexity, "pmccabe"), ("rules", check_rules, None)]
    passed = failed = skipped = 0
    for name, fn, tool in checks:
        if tool and not shutil.which(tool):
            print("skip static.%s: %s is not installed (make deps installs it)" % (name, tool))
            skipped += 1
            continue
        problems = fn()
        if problems:
            failed += 1
            print("FAIL static.%s" % name)
            for p in problems:
                print("  " + p)
        else:
            passed += 1
            print("ok   static.%s" % name)
    print("static: %d passed, %d failed, %d skipped" % (passed, failed, skipped))
    results = os.environ.get("RESULTS")
    if results:
        with open(results, "a") as f:
            f.write("static %d %d %d\n" % (passed, failed, skipped))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
