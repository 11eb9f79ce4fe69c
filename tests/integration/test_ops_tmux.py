"""The operator commands as a person sees them in a terminal, driven in tmux (new-session, send-keys,
capture-pane) on a private tmux server: `status --watch` redraws in place with colour (none with
NO_COLOR), fits a narrow terminal, and stops on Ctrl-C; `gate open` shows where the release stands and
asks, and does nothing unless the answer is yes. Every wait is bounded."""
import os
import shlex
import shutil
import subprocess
import time
import unittest
import uuid

import harness
from ops_scene import NS, Scene, canary

WAIT_SECONDS = 20


class Tmux:
    """One session on a tmux server of its own; the command's exit code is printed after it ends."""

    def __init__(self, argv, env=None, width=160, height=30):
        self.sock = "mg-test-" + uuid.uuid4().hex[:10]
        e = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
        e.update(env or {})
        exports = " ".join(shlex.quote("%s=%s" % kv) for kv in sorted(e.items()) if kv[0] in
                           ("PATH", "HOME", "NO_COLOR", "ASAN_OPTIONS", "UBSAN_OPTIONS", "LANG", "LC_ALL"))
        # The shell traps SIGINT (the command still gets the default disposition) so that it outlives a
        # Ctrl-C and prints the command's exit code.
        script = "trap : INT; env %s %s; echo \"[exit $?]\"; sleep %d" % (exports, " ".join(shlex.quote(a) for a in argv),
                                                              WAIT_SECONDS * 3)
        self.tmux("new-session", "-d", "-s", "t", "-x", str(width), "-y", str(height), "sh -c " + shlex.quote(script))

    def tmux(self, *args):
        return subprocess.run(["tmux", "-L", self.sock, "-f", "/dev/null"] + list(args), capture_output=True, text=True,
                              timeout=30)

    def screen(self, escapes=False):
        return self.tmux("capture-pane", "-p", "-t", "t", *(["-e"] if escapes else [])).stdout

    def send(self, *keys):
        self.tmux("send-keys", "-t", "t", *keys)

    def wait_for(self, text):
        deadline = time.time() + WAIT_SECONDS
        while time.time() < deadline:
            s = self.screen()
            if text in s:
                return s
            time.sleep(0.1)
        raise AssertionError("%r not on the screen after %ds:\n%s" % (text, WAIT_SECONDS, self.screen()))

    def stop(self):
        self.tmux("kill-server")


@unittest.skipUnless(shutil.which("tmux"), "tmux is not installed")
class TerminalTest(unittest.TestCase):
    def setUp(self):
        self.scene = Scene()
        self.scene.put(canary("podinfo", weight=10))
        self.term = None

    def tearDown(self):
        if self.term:
            self.term.stop()
        self.scene.stop()

    def start(self, *args, env=None, width=160):
        self.term = Tmux([harness.BIN] + list(args) + ["--kubeconfig", self.scene.kubeconfig],
                         env=dict(env or {}, ASAN_OPTIONS="detect_leaks=1"), width=width)
        return self.term

    def test_status_watch_redraws_in_place_with_colour_and_stops_on_ctrl_c(self):
        t = self.start("status", "-w", "--interval", "1")
        screen = t.wait_for("podinfo")
        self.assertIn("manual-gate status, every 1s (Ctrl-C to stop)", screen)
        self.assertIn("10/50%", screen)
        coloured = t.screen(escapes=True)
        self.assertIn("\033[33mProgressing", coloured)
        c = self.scene.get_canary()
        c["status"]["canaryWeight"] = 20
        self.scene.put(c)
        self.scene.lt.set("podinfo", NS, True)
        screen = t.wait_for("20/50%")
        screen = t.wait_for("open")
        # Redrawn in place: one header, one row, the old weight gone.
        self.assertEqual(screen.count("manual-gate status, every"), 1, screen)
        self.assertNotIn("10/50%", screen)
        self.assertIn("\033[32mopen", t.screen(escapes=True))
        t.send("C-c")
        t.wait_for("[exit 0]")

    def test_no_color_and_a_narrow_terminal(self):
        t = self.start("status", "-w", "--interval", "1", env={"NO_COLOR": "1"}, width=72)
        screen = t.wait_for("podinfo")
        header = [l for l in screen.splitlines() if l.startswith("NAME")][0]
        self.assertNotIn("TARGET", header)  # dropped first to fit 72 columns
        for col in ("NAME", "PHASE", "WEIGHT", "GATE", "ROLLBACK"):
            self.assertIn(col, header)
        self.assertTrue(all(len(l) <= 72 for l in screen.splitlines()), screen)
        self.assertNotIn("\033[3", t.screen(escapes=True))
        t.send("C-c")
        t.wait_for("[exit 0]")

    def test_gate_open_asks_and_acts_on_yes(self):
        t = self.start("gate", "open", "podinfo")
        screen = t.wait_for("Open the gate? [y/N]")
        self.assertIn("Canary test/podinfo (Deployment/podinfo): phase Progressing, canary weight 10% (max 50%).",
                      screen)
        self.assertIn("canary weight 10% -> 20%", screen)
        self.assertFalse(self.scene.lt.is_open("podinfo", NS))
        t.send("y", "Enter")
        t.wait_for("Gate opened.")
        t.wait_for("[exit 0]")
        self.assertTrue(self.scene.lt.is_open("podinfo", NS))

    def test_gate_open_does_nothing_unless_the_answer_is_yes(self):
        t = self.start("rollback", "open", "podinfo")
        t.wait_for("Roll the release back? [y/N]")
        t.send("n", "Enter")
        t.wait_for("Nothing done.")
        t.wait_for("[exit 1]")
        self.assertFalse(self.scene.lt.is_open("podinfo", NS, rollback=True))
        self.assertEqual([p for p, _ in self.scene.proxy_posts() if p.endswith("/open")], [])


if __name__ == "__main__":
    unittest.main()
