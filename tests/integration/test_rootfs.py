"""The image's runtime filesystem (`make rootfs`, the Dockerfile's runtime stage) without a container
engine: tests/rootfs.sh assembles it from the binary under test, and the binary runs from it under chroot
(the tests run as root; where chroot is not permitted the test is skipped and says so). Inside, it serves
TLS, lists Canaries from a TLS stand-in API server with a CA file, posts an Event and answers a review:
every library it loads is there. The filesystem holds nothing else (no shell, no package manager), and the
binary is stripped and hardened (PIE, full RELRO, stack protector, FORTIFY) in the normal build."""
import os
import shutil
import subprocess
import tempfile
import time
import unittest

import harness
from standin_apiserver import StandinAPIServer
from test_events import gated_in_flight, template_change

SANITIZED = os.sep + "san" + os.sep in harness.BIN


def readelf(*args):
    return subprocess.run(["readelf"] + list(args), capture_output=True, text=True, check=True).stdout


class RootfsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="mg-rootfs-")
        cls.root = os.path.join(cls.dir, "rootfs")
        p = subprocess.run([os.path.join(harness.ROOT, "tests", "rootfs.sh"), harness.BIN, cls.root],
                           capture_output=True, text=True, timeout=120)
        if p.returncode != 0:
            raise AssertionError("rootfs.sh failed: %s" % p.stderr)
        cls.binary = os.path.join(cls.root, "usr", "local", "bin", "manual-gate")
        probe = subprocess.run(["chroot", cls.root, "/usr/local/bin/manual-gate", "--help"], capture_output=True,
                               text=True, timeout=30)
        cls.chroot_error = None
        if probe.returncode != 0 and ("Operation not permitted" in probe.stderr or os.geteuid() != 0):
            cls.chroot_error = probe.stderr.strip() or "not root"
        cls.probe = probe

    @classmethod
    def tearDownClass(cls):
        if not os.path.ismount(os.path.join(cls.root, "proc")):  # never walk into a mounted /proc
            shutil.rmtree(cls.dir, ignore_errors=True)

    def mount_proc(self):
        """/proc, as every container has (the sanitizer runtime reads /proc/self/maps at start; the process
        metrics read /proc/self). Unmounted at the end of the test."""
        proc = os.path.join(self.root, "proc")
        os.makedirs(proc, exist_ok=True)
        if subprocess.run(["mount", "-t", "proc", "proc", proc], capture_output=True).returncode == 0:
            self.addCleanup(subprocess.run, ["umount", "-l", proc], capture_output=True)

    def files(self):
        out = []
        for d, _, names in os.walk(self.root):
            out += [os.path.relpath(os.path.join(d, n), self.root) for n in names]
        return out

    def test_holds_the_binary_its_libraries_and_ca_certificates_only(self):
        files = self.files()
        self.assertIn("usr/local/bin/manual-gate", files)
        self.assertIn("etc/ssl/certs/ca-certificates.crt", files)
        others = [f for f in files if f not in ("usr/local/bin/manual-gate", "etc/ssl/certs/ca-certificates.crt")]
        self.assertTrue(others)
        for f in others:
            self.assertRegex(f, r"^(usr/)?lib(64|x32)?/([a-z0-9_-]+/)?(ld-linux[^/]*|lib[^/]+\.so[.0-9]*)$")
        for shell in ("bin/sh", "bin/bash", "usr/bin/apt-get", "usr/bin/dpkg", "bin/sleep", "usr/bin/env"):
            self.assertNotIn(shell, files)

    def test_binary_is_stripped_and_hardened(self):
        sections = readelf("-S", "-W", self.binary)
        self.assertNotIn(".symtab", sections)
        self.assertNotIn(".debug_info", sections)
        if SANITIZED:
            self.skipTest("the sanitizer build turns the hardening flags off (AddressSanitizer replaces them)")
        self.assertIn("DYN (Position-Independent Executable file)", readelf("-h", self.binary))
        dynamic = readelf("-d", self.binary)
        self.assertIn("BIND_NOW", dynamic)
        self.assertIn("PIE", dynamic)
        self.assertIn("GNU_RELRO", readelf("-l", "-W", self.binary))
        symbols = readelf("--dyn-syms", "-W", self.binary)
        self.assertIn("__stack_chk_fail", symbols)
        self.assertIn("__snprintf_chk", symbols)

    def test_runs_from_the_rootfs_under_chroot(self):
        if self.chroot_error:
            self.skipTest("chroot not permitted here: %s" % self.chroot_error)
        self.mount_proc()
        version = subprocess.run(["chroot", self.root, "/usr/local/bin/manual-gate", "version"], capture_output=True,
                                 text=True, timeout=30)
        self.assertEqual(version.returncode, 0, version.stderr)
        self.assertTrue(version.stdout.startswith("manual-gate "), version.stdout)
        certs = harness.certs()
        tls = os.path.join(self.root, "etc", "manual-gate", "tls")
        os.makedirs(tls)
        for name in ("tls.crt", "tls.key", "ca.crt"):
            shutil.copy(os.path.join(certs, name), tls)
        api = StandinAPIServer(cert_dir=certs)
        self.addCleanup(api.stop)
        api.put(gated_in_flight())
        port = harness.free_port()
        log = open(os.path.join(self.dir, "log"), "w+")
        proc = subprocess.Popen(["chroot", self.root, "/usr/local/bin/manual-gate", "serve",
                                 "--listen", "127.0.0.1:%d" % port, "--tls-cert", "/etc/manual-gate/tls/tls.crt",
                                 "--tls-key", "/etc/manual-gate/tls/tls.key", "--kube-api", api.url,
                                 "--kube-ca-file", "/etc/manual-gate/tls/ca.crt"], stdout=subprocess.DEVNULL,
                                stderr=log)
        self.addCleanup(lambda: (proc.poll() is None and proc.kill(), proc.wait(), log.close()))
        server = harness.Server.__new__(harness.Server)
        server.cert_dir, server.port, server.proc, server.log = certs, port, proc, log
        server.wait_healthy()
        harness.wait_ready(server)
        resp = server.review("/validate", template_change())
        self.assertIs(resp["allowed"], False)
        self.assertEqual(len(api.wait_events(2)), 2)
        proc.terminate()
        self.assertEqual(proc.wait(30), 0)
        log.seek(0)
        self.assertNotIn("error while loading shared libraries", log.read())


if __name__ == "__main__":
    unittest.main()
