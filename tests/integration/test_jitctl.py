"""jitctl against the real broker: dev ticket, admin views, audit verify, exit codes."""
import json
import os
import subprocess
import unittest

from brokerproc import Broker, slurp

JITCTL = os.environ.get("JITCTL_BIN", "jitctl")


class JitctlTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.b = Broker().start()

    @classmethod
    def tearDownClass(cls):
        cls.b.cleanup()

    def jitctl(self, *args, env=None):
        e = dict(os.environ, JITBROKER_URL="https://127.0.0.1:%d" % self.b.port)
        e.pop("JITBROKER_CA", None)
        e.update(env or {})
        return subprocess.run([JITCTL, *args, "--data-dir", self.b.data_dir], capture_output=True,
                              text=True, timeout=30, env=e)

    def test_dev_ticket_then_tickets_show(self):
        r = self.jitctl("dev", "ticket", "--id", "CHG-J1", "--state", "approved", "--subject",
                        "alice", "--access", "deploy", "--window", "30m")
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.jitctl("tickets", "show", "CHG-J1", "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        t = json.loads(r.stdout)
        self.assertEqual((t["state"], t["subjects"], t["access"]), ("approved", ["alice"], ["deploy"]))
        r = self.jitctl("dev", "ticket", "--id", "CHG-J1", "--state", "closed")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(self.jitctl("tickets", "show", "CHG-J1", "--json").stdout)["state"],
                         "closed")

    def test_leases_lists_as_json_and_table(self):
        r = self.jitctl("leases", "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout), {"leases": []})
        r = self.jitctl("leases")
        self.assertEqual(r.returncode, 0)
        self.assertIn("ID", r.stdout.splitlines()[0])

    def test_exit_codes(self):
        self.assertEqual(self.jitctl("revoke", "no-such-lease").returncode, 1)
        self.assertIn("no lease", self.jitctl("revoke", "no-such-lease").stderr)
        bad_admin = os.path.join(self.b.tmp, "wrong.token")
        with open(bad_admin, "w") as f:
            f.write("wrong")
        r = self.jitctl("leases", env={"JITBROKER_ADMIN_TOKEN_FILE": bad_admin})
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertIn("admin bearer token", r.stderr)
        r = self.jitctl("leases", env={"JITBROKER_URL": "https://127.0.0.1:1"})
        self.assertEqual(r.returncode, 4, r.stderr)
        self.assertEqual(self.jitctl("leases", "--bogus").returncode, 2)
        self.assertEqual(self.jitctl("nonsense").returncode, 2)
        r = self.jitctl("dev", "ticket", "--id", "X")
        self.assertEqual(r.returncode, 2)

    def test_untrusted_server_certificate_is_refused(self):
        other = os.path.join(self.b.tmp, "other-ca.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-keyout", other + ".key", "-out",
                        other, "-subj", "/CN=other", "-days", "1"], check=True,
                       capture_output=True)
        r = self.jitctl("leases", "--ca-file", other)
        self.assertEqual(r.returncode, 4)
        self.assertIn("TLS", r.stderr)

    def test_audit_verify_intact_and_tampered(self):
        self.jitctl("dev", "ticket", "--id", "CHG-J2", "--state", "approved")
        self.jitctl("dev", "ticket", "--id", "CHG-J3", "--state", "approved")
        path = os.path.join(self.b.data_dir, "audit.log")
        r = self.jitctl("audit", "verify", path)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("intact", r.stdout)
        lines = slurp(path).splitlines(keepends=True)
        self.assertGreaterEqual(len(lines), 2)
        tampered = os.path.join(self.b.tmp, "tampered.log")
        for name, content in (
                ("edited", [lines[0].replace("CHG-J", "CHG-X", 1)] + lines[1:]),
                ("dropped", lines[1:]),
                ("swapped", [lines[1], lines[0]] + lines[2:])):
            with self.subTest(name):
                with open(tampered, "w") as f:
                    f.writelines(content)
                r = self.jitctl("audit", "verify", tampered)
                self.assertNotEqual(r.returncode, 0)
                self.assertRegex(r.stderr, r"line \d+")


if __name__ == "__main__":
    unittest.main()
