"""`manual-gate mutate` in a terminal, as a person uses it before a commit: a shell in tmux (its own
server socket, stopped at the end), keys sent, the screen read back. --diff shows the change with the
warnings, -w writes and names the file, --check then finds nothing, a refused file shows why."""
import os
import shutil
import subprocess
import tempfile
import time
import unittest

import harness

ROUNDTRIP = os.path.join(harness.FIXTURES, "offline", "roundtrip")
REFUSED = os.path.join(harness.FIXTURES, "offline", "refused")


@unittest.skipUnless(shutil.which("tmux"), "tmux is not installed")
class TerminalTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="mg-term-")
        self.addCleanup(shutil.rmtree, self.tmp)
        self.socket = "mg-test-%d" % os.getpid()
        bindir = os.path.join(self.tmp, "bin")
        os.mkdir(bindir)
        os.symlink(harness.BIN, os.path.join(bindir, "manual-gate"))
        shutil.copy(os.path.join(ROUNDTRIP, "gitops_multi_document.yaml"), os.path.join(self.tmp, "canary.yaml"))
        shutil.copy(os.path.join(REFUSED, "blue_green_provider_kubernetes.yaml"), os.path.join(self.tmp, "bg.yaml"))
        # HISTFILE: the shell, killed with the tmux server, would otherwise write ~/.bash_history into the
        # directory while it is being removed.
        env = dict(os.environ, PATH=bindir + ":" + os.environ["PATH"], HOME=self.tmp, HISTFILE=os.devnull,
                   ASAN_OPTIONS="detect_leaks=1")
        self.tmux("new-session", "-d", "-x", "220", "-y", "60", "-c", self.tmp, "bash --norc --noprofile", env=env)
        self.addCleanup(self.tmux, "kill-server")
        self.commands = 0

    def tmux(self, *args, env=None):
        return subprocess.run(["tmux", "-L", self.socket] + list(args), capture_output=True, text=True, timeout=20,
                              env=env, check=True).stdout

    def type(self, command, timeout=60):
        """Type a command and Enter; wait for it to finish; return the screen and its exit code."""
        self.commands += 1
        marker = "finished-%d" % self.commands
        self.tmux("send-keys", "-t", "0", "clear; %s; echo %s rc=$?" % (command, marker), "Enter")
        deadline = time.time() + timeout
        while time.time() < deadline:
            screen = self.tmux("capture-pane", "-p", "-J", "-t", "0", "-S", "-")
            done = [l for l in screen.splitlines() if l.startswith(marker + " rc=")]
            if done:
                return screen, int(done[0].split("rc=")[1])
            time.sleep(0.1)
        self.fail("no prompt after %r:\n%s" % (command, screen))

    def test_diff_then_write_then_check(self):
        screen, rc = self.type("manual-gate mutate --diff canary.yaml")
        self.assertEqual(rc, 0, screen)
        for line in ("--- a/canary.yaml", "+++ b/canary.yaml", "+  annotations:",
                     '+    manual-gate.io/original-threshold: "5"', "-    threshold: 5", "+    threshold: 10080",
                     "+      - name: manual-gate-check"):
            self.assertIn(line, screen.splitlines(), screen)
        self.assertIn("Warning: canary.yaml (document 3, line 24): Canary test/podinfo: manual-gate: added webhook "
                      "manual-gate-check on /gate/check", screen)
        self.assertNotIn("kind: ConfigMap", screen)  # unchanged documents are not in the diff

        screen, rc = self.type("manual-gate mutate -w canary.yaml")
        self.assertEqual(rc, 0, screen)
        self.assertIn("canary.yaml", screen.splitlines())

        screen, rc = self.type("manual-gate mutate --check canary.yaml")
        self.assertEqual(rc, 0, screen)

        screen, rc = self.type("manual-gate mutate --check .")
        self.assertEqual(rc, 1, screen)
        self.assertIn("Denied: bg.yaml (document 2, line 7): Canary test/podinfo: manual-gate: Canary test/podinfo "
                      "is gated but spec.provider is kubernetes", screen.replace("\n", ""))
        self.assertNotIn("canary.yaml", screen.splitlines())


if __name__ == "__main__":
    unittest.main()
