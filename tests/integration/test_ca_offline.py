"""The root CA key taken offline with `jitbroker ca offline-root`: the broker restarts on the
intermediate alone, keeps the same root, issues certificates that chain to it and signs its
CRL with the intermediate (docs/operations.md)."""
import os
import subprocess
import unittest

from brokerproc import BIN, Broker, slurp

JITCTL = os.environ.get("JITCTL_BIN", "jitctl")


def run(*cmd, env=None):
    return subprocess.run(list(cmd), capture_output=True, text=True, timeout=30, env=env)


class OfflineRootTest(unittest.TestCase):
    def setUp(self):
        self.b = Broker().start()
        self.addCleanup(self.b.cleanup)
        self.d = self.b.data_dir
        self.ca = os.path.join(self.d, "ca")
        self.tmp = self.b.tmp

    def jitctl(self, *args, **env):
        e = dict(os.environ, JITBROKER_URL="https://127.0.0.1:%d" % self.b.port,
                 JITBROKER_CA=self.b.ca_file, **env)
        return run(JITCTL, *args, env=e)

    def test_broker_runs_on_the_intermediate_after_the_root_key_goes_offline(self):
        root_crt, int_crt = (slurp(os.path.join(self.ca, n)) for n in ("root.crt", "intermediate.crt"))
        r = run(BIN, "ca", "status", "--data-dir", self.d)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"root key: +online")
        self.assertRegex(r.stdout, r"intermediate: +CN=jitbroker issuing CA, expires 20\d\d-")
        self.b.stop()

        out = os.path.join(self.tmp, "root-offline.key")
        key = slurp(os.path.join(self.ca, "root.key"))
        r = run(BIN, "ca", "offline-root", "--data-dir", self.d, "--out", out)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.ca, "root.key")))
        self.assertEqual(slurp(out), key)
        self.assertEqual(os.stat(out).st_mode & 0o777, 0o600)
        # Nothing left to move, and an existing file is never overwritten.
        r = run(BIN, "ca", "offline-root", "--data-dir", self.d, "--out", out)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(slurp(out), key)
        r = run(BIN, "ca", "status", "--data-dir", self.d)
        self.assertRegex(r.stdout, r"root key: +offline")

        self.b.start()
        self.assertIn('"event":"ca.root_key_offline"', self.b.stderr())
        self.assertFalse(os.path.exists(os.path.join(self.ca, "root.key")))  # no new root made
        self.assertEqual(slurp(os.path.join(self.ca, "root.crt")), root_crt)
        self.assertEqual(slurp(os.path.join(self.ca, "intermediate.crt")), int_crt)
        root, inter = os.path.join(self.tmp, "root.pem"), os.path.join(self.tmp, "int.pem")
        for path, pem in ((root, root_crt), (inter, int_crt)):
            with open(path, "w") as f:
                f.write(pem)

        r = self.jitctl("dev", "ticket", "--data-dir", self.d, "--id", "CHG0077", "--state",
                        "approved", "--subject", "alice", "--access", "deploy")
        self.assertEqual(r.returncode, 0, r.stderr)
        subject = self.jitctl("dev", "subject-token", "--data-dir", self.d, "--sub",
                              "alice").stdout.strip()
        cert, key_out = os.path.join(self.tmp, "leaf.crt"), os.path.join(self.tmp, "leaf.key")
        r = self.jitctl("cert", "--ticket", "CHG0077", "--grant", "deploy", "--cert-out", cert,
                        "--key-out", key_out, JITBROKER_SUBJECT_TOKEN=subject)
        self.assertEqual(r.returncode, 0, r.stderr)
        v = run("openssl", "verify", "-CAfile", root, "-untrusted", inter, cert)
        self.assertIn(": OK", v.stdout, v.stderr)

        status, hdrs, der = self.b.request("GET", "/v1/ca/crl")
        self.assertEqual((status, hdrs["content-type"]), (200, "application/pkix-crl"))
        crl = os.path.join(self.tmp, "crl.der")
        with open(crl, "wb") as f:
            f.write(der)
        r = run("openssl", "crl", "-inform", "DER", "-in", crl, "-CAfile", inter, "-noout",
                "-issuer")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("verify OK", r.stdout + r.stderr)
        self.assertIn("jitbroker issuing CA", r.stdout)

        # The root comes back for one job, a new intermediate, and goes again.
        self.b.stop()
        r = run(BIN, "ca", "renew-intermediate", "--data-dir", self.d, "--root-key", out)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.ca, "root.key")))
        new_int = slurp(os.path.join(self.ca, "intermediate.crt"))
        self.assertNotEqual(new_int, int_crt)
        self.b.start()
        self.assertEqual(slurp(os.path.join(self.ca, "root.crt")), root_crt)
        with open(inter, "w") as f:
            f.write(new_int)
        cert2 = os.path.join(self.tmp, "leaf2.crt")
        r = self.jitctl("cert", "--ticket", "CHG0077", "--grant", "deploy", "--cert-out", cert2,
                        "--key-out", key_out, JITBROKER_SUBJECT_TOKEN=subject)
        self.assertEqual(r.returncode, 0, r.stderr)
        v = run("openssl", "verify", "-CAfile", root, "-untrusted", inter, cert2)
        self.assertIn(": OK", v.stdout, v.stderr)

    def test_ca_command_usage(self):
        r = run(BIN, "ca", "--help")
        self.assertEqual(r.returncode, 0)
        self.assertIn("offline-root", r.stdout)
        r = run(BIN, "ca", "offline-root", "--data-dir", self.d)
        self.assertEqual(r.returncode, 2)
        self.assertIn("--out FILE is required", r.stderr)
        r = run(BIN, "ca", "status")
        self.assertEqual(r.returncode, 2)
        r = run(BIN, "ca", "renew-intermediate", "--data-dir", self.d, "--root-key",
                os.path.join(self.tmp, "missing.key"))
        self.assertEqual(r.returncode, 1)
        r = run(BIN, "ca", "offline-root", "--data-dir", self.d, "--out",
                os.path.join(self.ca, "copy.key"))
        self.assertEqual(r.returncode, 1)
        self.assertTrue(os.path.exists(os.path.join(self.ca, "root.key")))


if __name__ == "__main__":
    unittest.main()
