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
        # A token file that is not there is said so, before any request (not a bare 401).
        gone = os.path.join(self.b.tmp, "gone.token")
        r = self.jitctl("leases", env={"JITBROKER_ADMIN_TOKEN_FILE": gone})
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("no admin token (from JITBROKER_ADMIN_TOKEN_FILE): cannot read %s: "
                      "No such file or directory" % gone, r.stderr)
        self.assertNotIn("401", r.stderr)
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


class PolicyCommandsTest(unittest.TestCase):
    DEFAULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "policies",
                            "default")

    def run_jitctl(self, *args):
        return subprocess.run([JITCTL, *args], capture_output=True, text=True, timeout=30)

    def test_check_lists_grants_or_names_file_and_line(self):
        r = self.run_jitctl("policy", "check", self.DEFAULTS)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("3 grants: ok", r.stdout)
        import tempfile
        d = tempfile.mkdtemp()
        with open(os.path.join(d, "bad.yaml"), "w") as f:
            f.write("grants:\n  - name: x\n    tokn: {}\n")
        r = self.run_jitctl("policy", "check", d)
        self.assertEqual(r.returncode, 1)
        self.assertRegex(r.stderr, r"bad\.yaml:3: .*tokn")

    def test_explain_shows_the_decision_and_each_rule(self):
        import tempfile
        d = tempfile.mkdtemp()
        t = {"id": "CHG9", "state": "approved", "kind": "normal", "requested_by": "req",
             "approved_by": ["boss"], "subjects": ["alice"], "access": ["deploy"],
             "window": {"start": "2026-01-01T00:00:00Z", "end": "2026-01-01T02:00:00Z"},
             "updated_at": "2025-12-31T23:00:00Z"}
        ticket_path, claims_path = os.path.join(d, "t.json"), os.path.join(d, "c.json")
        with open(ticket_path, "w") as f:
            json.dump(t, f)
        with open(claims_path, "w") as f:
            json.dump({"iss": "jitbroker-dev", "sub": "alice"}, f)
        args = ["policy", "explain", "--policies", self.DEFAULTS, "--ticket", ticket_path,
                "--claims", claims_path, "--at", "2026-01-01T01:00:00Z"]
        r = self.run_jitctl(*args)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("decision: allowed (grant deploy", r.stdout)
        self.assertIn("pass ticket.window", r.stdout)
        r = self.run_jitctl(*args, "--json", "--scope", "deploy:read")
        out = json.loads(r.stdout)
        self.assertEqual((out["allowed"], out["scopes"], out["ttl"]), (True, ["deploy:read"], 900))
        t["approved_by"] = ["req"]
        with open(ticket_path, "w") as f:
            json.dump(t, f)
        r = self.run_jitctl(*args)
        self.assertEqual(r.returncode, 3, r.stdout)
        self.assertIn("FAIL ticket.separation_of_duties", r.stdout)


if __name__ == "__main__":
    unittest.main()
