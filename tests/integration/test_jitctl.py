"""jitctl against the real broker: dev ticket, admin views, audit verify, exit codes."""
import json
import os
import subprocess
import tempfile
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


class AdminCommandsTest(unittest.TestCase):
    """lease show, revoke by filter, reviews, introspect, keys rotate, policy reload, and the
    notice when the broker grants a shorter life than --ttl asked."""

    @classmethod
    def setUpClass(cls):
        cls.b = Broker().start()

    @classmethod
    def tearDownClass(cls):
        cls.b.cleanup()

    def jitctl(self, *args, env=None, stdin=None):
        e = dict(os.environ, JITBROKER_URL="https://127.0.0.1:%d" % self.b.port)
        for k in ("JITBROKER_CA", "JITBROKER_SUBJECT_TOKEN", "JITBROKER_ADMIN_TOKEN_FILE"):
            e.pop(k, None)
        e.update(env or {})
        return subprocess.run([JITCTL, "--data-dir", self.b.data_dir, *args], capture_output=True,
                              text=True, timeout=30, env=e, input=stdin)

    def ok(self, *args, **kw):
        r = self.jitctl(*args, **kw)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return r

    def ticket(self, tid, *subjects, access="deploy", kind="normal"):
        args = ["dev", "ticket", "--id", tid, "--state", "approved", "--access", access,
                "--kind", kind, "--window", "4h"]
        for s in subjects:
            args += ["--subject", s]
        if kind == "emergency":
            args.append("--no-approval")
        self.ok(*args)

    def token(self, tid, sub, *extra):
        subject = self.ok("dev", "subject-token", "--sub", sub).stdout.strip()
        return self.jitctl("token", "--ticket", tid, "--json", *extra,
                           env={"JITBROKER_SUBJECT_TOKEN": subject})

    def lease_state(self, lease_id):
        return json.loads(self.ok("lease", "show", lease_id, "--json").stdout)["state"]

    def test_lease_show_like_token_lookup(self):
        self.ticket("CHG-LS", "alice")
        lease_id = json.loads(self.token("CHG-LS", "alice").stdout)["lease_id"]
        shown = json.loads(self.ok("lease", "show", lease_id, "--json").stdout)
        status, _, api = self.b.json("GET", "/v1/leases/" + lease_id, headers={
            "Authorization": "Bearer " + slurp(os.path.join(self.b.data_dir, "admin.token")).strip()})
        self.assertEqual((status, shown), (200, api))
        self.assertEqual((shown["ticket"], shown["subject"], shown["state"]), ("CHG-LS", "alice", "active"))
        text = self.ok("lease", "show", lease_id).stdout
        self.assertRegex(text, r"(?m)^state\s+active$")
        r = self.jitctl("lease", "show", "no-such-lease")
        self.assertEqual(r.returncode, 1)
        self.assertIn("no lease", r.stderr)
        self.assertEqual(self.jitctl("lease", "show").returncode, 2)

    def test_revoke_by_ticket_subject_grant_with_dry_run(self):
        self.ticket("CHG-RA", "ralph", "rita")
        self.ticket("CHG-RB", "ralph")
        a1 = json.loads(self.token("CHG-RA", "ralph").stdout)["lease_id"]
        b1 = json.loads(self.token("CHG-RA", "rita").stdout)["lease_id"]
        a2 = json.loads(self.token("CHG-RB", "ralph").stdout)["lease_id"]

        listed = json.loads(self.ok("leases", "--subject", "ralph", "--grant", "deploy", "--json").stdout)
        self.assertEqual([l["id"] for l in listed["leases"]], [a1, a2])
        self.assertEqual(json.loads(self.ok("leases", "--grant", "nosuch", "--json").stdout), {"leases": []})
        dry = json.loads(self.ok("revoke", "--subject", "ralph", "--dry-run", "--json").stdout)
        self.assertEqual(dry, {"leases": [a1, a2], "count": 2, "dry_run": True})
        self.assertEqual(self.lease_state(a1), "active")

        r = self.ok("revoke", "--ticket", "CHG-RA", "--subject", "ralph")
        self.assertEqual(r.stdout.split(), [a1])
        self.assertIn("1 lease revoked", r.stderr)
        self.assertEqual([self.lease_state(x) for x in (a1, b1, a2)], ["revoked", "active", "active"])
        self.assertEqual(json.loads(self.ok("lease", "show", a1, "--json").stdout)["reason"], "admin")

        done = json.loads(self.ok("revoke", "--grant", "deploy", "--ticket", "CHG-RB", "--json").stdout)
        self.assertEqual(done, {"leases": [a2], "count": 1, "dry_run": False})
        self.assertEqual(self.lease_state(a2), "revoked")
        again = json.loads(self.ok("revoke", "--ticket", "CHG-RB", "--json").stdout)
        self.assertEqual(again["count"], 0)
        self.assertIn('"event":"leases.revoked_matching"', slurp(os.path.join(self.b.data_dir, "audit.log")))

        # Usage errors: nothing to match, both forms, a dry run of one lease.
        for args in (["revoke"], ["revoke", b1, "--ticket", "CHG-RA"], ["revoke", b1, "--dry-run"]):
            with self.subTest(args):
                self.assertEqual(self.jitctl(*args).returncode, 2)
        self.assertEqual(self.lease_state(b1), "active")
        self.assertIn("revoked", self.ok("revoke", b1).stdout)  # one lease, as before

    def test_revoke_route_refuses_bad_requests(self):
        admin = {"Authorization": "Bearer " + slurp(os.path.join(self.b.data_dir, "admin.token")).strip(),
                 "Content-Type": "application/json"}
        for body, want in (("{}", "name a ticket"), ('{"ticket": ""}', "non-empty"),
                           ('{"ticket": "T", "bogus": 1}', "unknown key 'bogus'"),
                           ('{"ticket": "T", "dry_run": "yes"}', "dry_run"), ("[1]", "")):
            with self.subTest(body):
                status, _, out = self.b.json("POST", "/v1/leases/revoke", body, admin)
                self.assertEqual(status, 400, out)
                self.assertIn(want, out["error_description"] if "error_description" in out else out["error"])
        status, _, _ = self.b.json("POST", "/v1/leases/revoke", '{"ticket": "T"}',
                                   {"Content-Type": "application/json"})
        self.assertEqual(status, 401)

    def test_introspect_reviews_keys_and_policy_reload(self):
        self.ticket("CHG-IN", "carol")
        tok = json.loads(self.token("CHG-IN", "carol").stdout)
        r = self.ok("introspect", tok["access_token"])
        self.assertRegex(r.stdout, r"(?m)^active\s+true$")
        self.assertRegex(r.stdout, r"(?m)^lease_id\s+%s$" % tok["lease_id"])
        out = json.loads(self.ok("introspect", "-", "--json", stdin=tok["access_token"] + "\n").stdout)
        self.assertEqual((out["active"], out["lease_id"]), (True, tok["lease_id"]))
        self.ok("revoke", tok["lease_id"])
        r = self.jitctl("introspect", tok["access_token"], "--json")
        self.assertEqual((r.returncode, json.loads(r.stdout)), (1, {"active": False}))

        self.ticket("INC-BG", "dave", access="breakglass-admin", kind="emergency")
        bg = json.loads(self.token("INC-BG", "dave").stdout)["lease_id"]
        reviews = json.loads(self.ok("reviews", "--json").stdout)["reviews"]
        self.assertIn(bg, [l["id"] for l in reviews])
        self.assertNotIn(tok["lease_id"], [l["id"] for l in reviews])
        self.assertIn(bg, self.ok("reviews").stdout)

        status, _, jwks = self.b.json("GET", "/.well-known/jwks.json")
        rotated = json.loads(self.ok("keys", "rotate", "--json").stdout)
        self.assertIn(rotated["previous_kid"], [k["kid"] for k in jwks["keys"]])
        self.assertNotEqual(rotated["kid"], rotated["previous_kid"])
        self.assertIn("signing key", self.ok("keys", "rotate").stdout)
        self.assertEqual(self.jitctl("keys").returncode, 2)

        self.assertEqual(self.ok("policy", "reload").stdout, "policies reloaded\n")
        self.assertEqual(json.loads(self.ok("policy", "reload", "--json").stdout), {"outcome": "reloaded"})
        bad_admin = os.path.join(self.b.tmp, "wrong.token")
        with open(bad_admin, "w") as f:
            f.write("wrong")
        for args in (["policy", "reload"], ["keys", "rotate"], ["reviews"], ["introspect", "x"]):
            with self.subTest(args):
                self.assertEqual(self.jitctl(*args, env={"JITBROKER_ADMIN_TOKEN_FILE": bad_admin}).returncode, 3)

    def test_a_ttl_cut_by_the_grant_is_reported(self):
        self.ticket("CHG-TTL", "erin")
        r = self.token("CHG-TTL", "erin", "--ttl", "2h")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)["expires_in"], 900)
        self.assertIn("granted 15m, not the 2h asked", r.stderr)
        r = self.token("CHG-TTL", "erin", "--ttl", "5m")
        self.assertEqual((r.returncode, r.stderr), (0, ""))
        r = self.token("CHG-TTL", "erin", "--ttl", "2 hours")
        self.assertEqual(r.returncode, 2)
        self.assertIn("--ttl must be a duration", r.stderr)
        subject = self.ok("dev", "subject-token", "--sub", "erin").stdout.strip()
        cert = os.path.join(self.b.tmp, "erin.pem")
        r = self.jitctl("cert", "--ticket", "CHG-TTL", "--cert-out", cert, "--key-out", cert + ".key",
                        "--ttl", "3h", env={"JITBROKER_SUBJECT_TOKEN": subject})
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("granted 1h, not the 3h asked", r.stderr)

    def test_json_on_the_local_commands_too(self):
        out = json.loads(self.ok("dev", "subject-token", "--sub", "frank", "--json").stdout)
        self.assertEqual(out["claims"]["sub"], "frank")
        self.assertEqual(out["token"].count("."), 2)
        log = os.path.join(self.b.data_dir, "audit.log")
        out = json.loads(self.ok("audit", "verify", log, "--json").stdout)
        self.assertEqual(out["intact"], True)
        self.assertEqual(out["files"][0]["file"], log)
        self.assertGreater(out["files"][0]["records"], 0)
        r = self.jitctl("audit", "verify", log + ".nope", "--json")
        self.assertEqual((r.returncode, json.loads(r.stdout)["intact"]), (1, False))
        out = json.loads(self.ok("policy", "check", PolicyCommandsTest.DEFAULTS, "--json").stdout)
        self.assertEqual([g["name"] for g in out["grants"]], ["deploy", "service", "breakglass-admin"])
        self.assertEqual(out["grants"][2]["break_glass"], True)


class UnavailableBrokerTest(unittest.TestCase):
    """A broker that answers 503 is not "unreachable": exit 6, not 4."""

    def test_503_exits_6_and_refused_connection_exits_4(self):
        import tempfile
        from brokerproc import fixed_answer, https_standin

        d = tempfile.mkdtemp()
        server, port, cert = https_standin(fixed_answer(
            503, '{"error":"temporarily_unavailable","error_description":"the store is unavailable"}'), d)
        token = os.path.join(d, "admin.token")
        with open(token, "w") as f:
            f.write("not-checked-by-the-stand-in\n")
        try:
            env = dict(os.environ, JITBROKER_URL="https://127.0.0.1:%d" % port, JITBROKER_CA=cert,
                       JITBROKER_ADMIN_TOKEN_FILE=token)
            r = subprocess.run([JITCTL, "leases"], capture_output=True, text=True, timeout=30, env=env)
            self.assertEqual(r.returncode, 6, r.stderr)
            self.assertIn("temporarily unavailable", r.stderr)
        finally:
            server.shutdown()
            server.server_close()
        r = subprocess.run([JITCTL, "leases"], capture_output=True, text=True, timeout=30,
                           env=dict(os.environ, JITBROKER_URL="https://127.0.0.1:%d" % port, JITBROKER_CA=cert,
                                    JITBROKER_ADMIN_TOKEN_FILE=token))
        self.assertEqual(r.returncode, 4, r.stderr)


class HelpVersionCompletionTest(unittest.TestCase):
    BROKER = os.environ.get("JITBROKER_BIN", "jitbroker")

    def run_bin(self, *args, binary=JITCTL):
        return subprocess.run([binary, *args], capture_output=True, text=True, timeout=30)

    def test_version_on_both_binaries(self):
        for binary, name in ((JITCTL, "jitctl"), (self.BROKER, "jitbroker")):
            for args in (["--version"], ["version"]):
                with self.subTest(name=name, args=args):
                    r = self.run_bin(*args, binary=binary)
                    self.assertEqual(r.returncode, 0, r.stderr)
                    self.assertRegex(r.stdout, r"^%s \d+\.\d+\.\d+( \(commit [0-9a-f]{7,}\))?\n$" % name)
        v = json.loads(self.run_bin("version", "--json").stdout)
        self.assertRegex(v["version"], r"^\d+\.\d+\.\d+$")

    def test_help_on_every_subcommand(self):
        for args in (["token"], ["cert"], ["exec"], ["agent"], ["leases"], ["lease"], ["lease", "show"],
                     ["revoke"], ["reviews"], ["tickets"], ["tickets", "show"], ["introspect"],
                     ["keys"], ["keys", "rotate"], ["policy"], ["policy", "check"],
                     ["policy", "explain"], ["policy", "reload"], ["audit"], ["audit", "verify"],
                     ["dev"], ["dev", "ticket"], ["dev", "subject-token"], ["completion"],
                     ["version"]):
            with self.subTest(args):
                r = self.run_bin(*args, "--help")
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertTrue(r.stdout.startswith("usage: jitctl"), r.stdout)
        for args in (["dev"], ["serve"], ["check"], ["ca"], ["ca", "status"]):
            with self.subTest(args):
                r = self.run_bin(*args, "--help", binary=self.BROKER)
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertIn("usage:", r.stdout)
                self.assertNotIn("missing value", r.stdout + r.stderr)
        top = self.run_bin("--help").stdout
        for needle in ("--subject-audience", "--subject-token-env", "--json", "6 broker temporarily"):
            self.assertIn(needle, top)

    def test_bash_completion_offers_commands_and_flags(self):
        r = self.run_bin("completion", "bash")
        self.assertEqual(r.returncode, 0, r.stderr)
        script = os.path.join(tempfile.mkdtemp(), "jitctl.bash")
        with open(script, "w") as f:
            f.write(r.stdout)

        def complete(*words):
            prog = ('source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _jitctl; '
                    'printf "%s\\n" "${COMPREPLY[@]}"; complete -p jitctl >&2')
            out = subprocess.run(["bash", "-c", prog, "bash", script, *words], capture_output=True,
                                 text=True, timeout=30)
            self.assertEqual(out.returncode, 0, out.stderr)
            self.assertIn("-F _jitctl jitctl", out.stderr)
            return out.stdout.split()

        self.assertEqual(complete("jitctl", "re"), ["revoke", "reviews"])
        every = complete("jitctl", "")
        for cmd in ("token", "cert", "lease", "leases", "revoke", "reviews", "introspect", "keys",
                    "policy", "completion", "version"):
            self.assertIn(cmd, every)
        self.assertEqual(complete("jitctl", "policy", ""), ["check", "explain", "reload"])
        self.assertIn("--dry-run", complete("jitctl", "revoke", "--d"))
        self.assertIn("--subject-token-env", complete("jitctl", "token", "--sub"))
        # Global flags before the command are skipped, with their values.
        self.assertEqual(complete("jitctl", "--broker", "https://b", "policy", "re"), ["reload"])
        self.assertIn("--dry-run", complete("jitctl", "--data-dir", "var", "revoke", "--dr"))
        self.assertIn("--version", complete("jitctl", "--ver"))

    def test_zsh_completion_names_every_command(self):
        r = self.run_bin("completion", "zsh")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(r.stdout.startswith("#compdef jitctl\n"))
        for cmd in ("token", "lease", "revoke", "reviews", "introspect", "keys", "completion"):
            self.assertIn("'%s:" % cmd, r.stdout)
        self.assertEqual(self.run_bin("completion", "fish").returncode, 2)


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
