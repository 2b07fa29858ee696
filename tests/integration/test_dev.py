"""The README's first command, played through: jitbroker dev, then the banner's jitctl steps."""
import json
import os
import subprocess
import time
import unittest

import jwt

from brokerproc import Broker, https_standin

JITCTL = os.environ.get("JITCTL_BIN", "jitctl")


class DevFlowTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.b = Broker().start()
        cls.env = dict(os.environ, JITBROKER_URL="https://127.0.0.1:%d" % cls.b.port,
                       JITBROKER_CA=cls.b.ca_file)
        cls.env.pop("JITBROKER_SUBJECT_TOKEN", None)

    @classmethod
    def tearDownClass(cls):
        cls.b.cleanup()

    def jitctl(self, *args, env=None):
        e = dict(self.env, **(env or {}))
        return subprocess.run([JITCTL, *args], capture_output=True, text=True, timeout=30, env=e)

    def test_banner_commands_issue_a_token_until_the_ticket_closes(self):
        banner = self.b.banner.decode()
        self.assertIn("dev ticket --data-dir", banner)
        self.assertIn("dev subject-token", banner)
        d = self.b.data_dir
        r = self.jitctl("dev", "ticket", "--data-dir", d, "--id", "CHG0001", "--state", "approved",
                        "--subject", "alice", "--access", "deploy")
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.jitctl("dev", "subject-token", "--data-dir", d, "--sub", "alice")
        self.assertEqual(r.returncode, 0, r.stderr)
        subject = r.stdout.strip()
        self.assertEqual(jwt.decode(subject, options={"verify_signature": False})["iss"],
                         "jitbroker-dev")
        r = self.jitctl("token", "--ticket", "CHG0001", "--json",
                        env={"JITBROKER_SUBJECT_TOKEN": subject})
        self.assertEqual(r.returncode, 0, r.stderr)
        out = json.loads(r.stdout)
        claims = jwt.decode(out["access_token"], options={"verify_signature": False})
        self.assertEqual((claims["sub"], claims["aud"], claims["grant"]), ("alice", "deploy-api", "deploy"))
        self.assertLessEqual(out["expires_in"], 900)
        # Plain output is the bare token, for $(jitctl token ...).
        r = self.jitctl("token", "--ticket", "CHG0001", "--scope", "deploy:read", "--ttl", "5m",
                        env={"JITBROKER_SUBJECT_TOKEN": subject})
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.count("."), 2)
        # Someone else's identity is denied (exit 3); a closed ticket is exit 5.
        other = self.jitctl("dev", "subject-token", "--data-dir", d, "--sub", "mallory").stdout.strip()
        r = self.jitctl("token", "--ticket", "CHG0001", env={"JITBROKER_SUBJECT_TOKEN": other})
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertIn("caller.subject", r.stderr)
        self.jitctl("dev", "ticket", "--data-dir", d, "--id", "CHG0001", "--state", "closed")
        r = self.jitctl("token", "--ticket", "CHG0001", env={"JITBROKER_SUBJECT_TOKEN": subject})
        self.assertEqual(r.returncode, 5, r.stderr)

    def test_cert_writes_owner_only_files_and_renews_over_mtls(self):
        d = self.b.data_dir
        self.jitctl("dev", "ticket", "--data-dir", d, "--id", "SVC0001", "--state", "approved",
                    "--kind", "standard", "--subject", "payments", "--subject",
                    "spiffe://jitbroker.dev/svc/payments", "--access", "service", "--access", "deploy")
        subject = self.jitctl("dev", "subject-token", "--data-dir", d, "--sub", "payments",
                              "--claim", "service=payments").stdout.strip()
        out = self.b.tmp
        cert, key, chain = (os.path.join(out, n) for n in ("svc.crt", "svc.key", "chain.pem"))
        r = self.jitctl("cert", "--ticket", "SVC0001", "--grant", "service", "--cert-out", cert,
                        "--key-out", key, "--chain-out", chain, "--ttl", "30m",
                        env={"JITBROKER_SUBJECT_TOKEN": subject})
        self.assertEqual(r.returncode, 0, r.stderr)
        for f in (cert, key, chain):
            self.assertEqual(os.stat(f).st_mode & 0o777, 0o600, f)
        text = subprocess.run(["openssl", "x509", "-noout", "-text", "-in", cert],
                              capture_output=True, text=True).stdout
        self.assertIn("URI:spiffe://jitbroker.dev/svc/payments", text)
        v = subprocess.run(["openssl", "verify", "-CAfile", chain, cert], capture_output=True, text=True)
        self.assertIn(": OK", v.stdout, v.stderr)
        # The new key pair matches: the key never left this process.
        a = subprocess.run(["openssl", "x509", "-noout", "-pubkey", "-in", cert], capture_output=True).stdout
        b = subprocess.run(["openssl", "pkey", "-pubout", "-in", key], capture_output=True).stdout
        self.assertEqual(a, b)
        # Renewal: the certificate itself is the identity (mTLS), no subject token needed.
        cert2, key2 = os.path.join(out, "svc2.crt"), os.path.join(out, "svc2.key")
        # Under the `service` grant itself: its SAN template reads the `service` claim, which
        # the mTLS caller carries from the certificate's first issuance.
        r = self.jitctl("cert", "--ticket", "SVC0001", "--grant", "service", "--cert-out", cert2,
                        "--key-out", key2, "--client-cert", cert, "--client-key", key, "--json",
                        env={"JITBROKER_SUBJECT_TOKEN": ""})
        self.assertEqual(r.returncode, 0, r.stderr)
        lease = json.loads(r.stdout)["lease_id"]
        r = self.jitctl("leases", "--ticket", "SVC0001", "--json", "--data-dir", d)
        subjects = {l["id"]: l["subject"] for l in json.loads(r.stdout)["leases"]}
        self.assertEqual(subjects[lease], "spiffe://jitbroker.dev/svc/payments")
        text = subprocess.run(["openssl", "x509", "-noout", "-text", "-in", cert2],
                              capture_output=True, text=True).stdout
        self.assertIn("URI:spiffe://jitbroker.dev/svc/payments", text)
        # A renewal of the renewal: the claims carry over again.
        cert3, key3 = os.path.join(out, "svc3.crt"), os.path.join(out, "svc3.key")
        r = self.jitctl("cert", "--ticket", "SVC0001", "--grant", "service", "--cert-out", cert3,
                        "--key-out", key3, "--client-cert", cert2, "--client-key", key2, "--json",
                        env={"JITBROKER_SUBJECT_TOKEN": ""})
        self.assertEqual(r.returncode, 0, r.stderr)
        lease3 = json.loads(r.stdout)["lease_id"]
        # The ticket changes (its window): the review judges the renewed leases with the claims
        # recorded with them, and the same decision keeps them.
        r = self.jitctl("dev", "ticket", "--data-dir", d, "--id", "SVC0001", "--state", "approved",
                        "--kind", "standard", "--subject", "payments", "--subject",
                        "spiffe://jitbroker.dev/svc/payments", "--access", "service", "--access",
                        "deploy", "--window", "48h")
        self.assertIn('"revoked":0', r.stdout)
        r = self.jitctl("leases", "--ticket", "SVC0001", "--json", "--data-dir", d)
        states = {l["id"]: l["state"] for l in json.loads(r.stdout)["leases"]}
        self.assertEqual((states[lease], states[lease3]), ("active", "active"))

    def test_exec_revokes_on_success_failure_and_signal(self):
        d = self.b.data_dir
        self.jitctl("dev", "ticket", "--data-dir", d, "--id", "CHG-EXEC", "--state", "approved",
                    "--subject", "ci", "--access", "deploy")
        subject = self.jitctl("dev", "subject-token", "--data-dir", d, "--sub", "ci").stdout.strip()
        env = {"JITBROKER_SUBJECT_TOKEN": subject}
        out = os.path.join(self.b.tmp, "seen")
        script = ('test -n "$JITBROKER_TOKEN" && test "$(cat "$JITBROKER_TOKEN_FILE")" = '
                  '"$JITBROKER_TOKEN" && stat -c %%a "$JITBROKER_TOKEN_FILE" > %s.mode && '
                  'echo "$JITBROKER_TOKEN" > %s; exit %s')
        cases = [("success", script % (out, out, "0"), 0),
                 ("failure", script % (out, out, "7"), 7),
                 ("sigterm", (script % (out, out, "0")).replace("exit 0", "kill -TERM $$"), 143)]
        for name, cmd, code in cases:
            with self.subTest(name):
                r = self.jitctl("exec", "--ticket", "CHG-EXEC", "--", "sh", "-c", cmd, env=env)
                self.assertEqual(r.returncode, code, r.stderr)
                token = open(out).read().strip()
                self.assertEqual(open(out + ".mode").read().strip(), "600")
                admin = open(os.path.join(d, "admin.token")).read().strip()
                from urllib.parse import urlencode
                status, _, info = self.b.json(
                    "POST", "/v1/introspect", body=urlencode({"token": token}),
                    headers={"Content-Type": "application/x-www-form-urlencoded",
                             "Authorization": "Bearer " + admin})
                self.assertEqual(info, {"active": False}, name)

    def test_agent_renews_runs_its_hook_and_exits_5_when_the_ticket_closes(self):
        d = self.b.data_dir
        self.jitctl("dev", "ticket", "--data-dir", d, "--id", "SVC-AG", "--state", "approved",
                    "--kind", "standard", "--subject", "payments", "--access", "service")
        subject = self.jitctl("dev", "subject-token", "--data-dir", d, "--sub", "payments",
                              "--claim", "service=payments").stdout.strip()
        out = self.b.tmp
        cert, key, counter = (os.path.join(out, n) for n in ("ag.crt", "ag.key", "renewals"))
        env = dict(self.env, JITBROKER_SUBJECT_TOKEN=subject)
        agent = subprocess.Popen(
            [JITCTL, "agent", "--ticket", "SVC-AG", "--grant", "service", "--cert-out", cert,
             "--key-out", key, "--ttl", "3s", "--on-renew", "echo renewed >> " + counter,
             "--remove-on-exit"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.time() + 12
            while time.time() < deadline:
                if os.path.exists(counter) and len(open(counter).read().splitlines()) >= 3:
                    break
                time.sleep(0.1)
            self.assertGreaterEqual(len(open(counter).read().splitlines()), 3, "fewer than 2 renewals")
            self.assertEqual(os.stat(key).st_mode & 0o777, 0o600)
            self.jitctl("dev", "ticket", "--data-dir", d, "--id", "SVC-AG", "--state", "closed")
            code = agent.wait(timeout=10)
            err = agent.stderr.read()
            self.assertEqual(code, 5, err)
            self.assertIn("ticket is closed", err)
            self.assertFalse(os.path.exists(cert))
            self.assertFalse(os.path.exists(key))
        finally:
            if agent.poll() is None:
                agent.kill()
                agent.wait()

    def test_agent_json_says_issued_then_reused(self):
        d = self.b.data_dir
        self.jitctl("dev", "ticket", "--data-dir", d, "--id", "SVC-JS", "--state", "approved",
                    "--kind", "standard", "--subject", "payments", "--access", "service")
        subject = self.jitctl("dev", "subject-token", "--data-dir", d, "--sub", "payments",
                              "--claim", "service=payments").stdout.strip()
        cert, key = (os.path.join(self.b.tmp, n) for n in ("js.crt", "js.key"))
        args = [JITCTL, "agent", "--ticket", "SVC-JS", "--grant", "service", "--cert-out", cert,
                "--key-out", key, "--once", "--json"]
        env = dict(self.env, JITBROKER_SUBJECT_TOKEN=subject)
        first = subprocess.run(args, env=env, capture_output=True, text=True, timeout=30)
        self.assertEqual(first.returncode, 0, first.stderr)
        issued = json.loads(first.stdout)
        self.assertEqual((issued["event"], issued["via"], issued["cert"]), ("issued", "token", cert))
        self.assertTrue(issued["lease_id"].startswith("lease_"))
        again = subprocess.run(args, env=env, capture_output=True, text=True, timeout=30)
        self.assertEqual(again.returncode, 0, again.stderr)
        reused = json.loads(again.stdout)
        self.assertEqual((reused["event"], reused["serial"]), ("reused", issued["serial"]))

    def test_agent_without_token_or_certificate_exits_2_without_a_request(self):
        # The unit's RestartPreventExitStatus=2: nothing a restart could cure.
        out = self.b.tmp
        env = dict(self.env, JITBROKER_SUBJECT_TOKEN="")
        asked = lambda: self.b.stderr().count('"route":"/v1/certificates"')
        before = asked()
        r = subprocess.run([JITCTL, "agent", "--ticket", "SVC-NONE", "--grant", "service",
                            "--cert-out", os.path.join(out, "none.crt"),
                            "--key-out", os.path.join(out, "none.key"),
                            "--subject-token-file", os.path.join(out, "gone.token"), "--once"],
                           env=env, capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("no subject token and no valid certificate to renew", r.stderr)
        time.sleep(0.2)  # an access log line would be written by now
        self.assertEqual(asked(), before)  # the broker was not asked

    def test_subject_token_from_github_actions_and_gitlab_environments(self):
        import http.server
        import tempfile
        from urllib.parse import parse_qs, urlparse
        d = self.b.data_dir
        self.jitctl("dev", "ticket", "--data-dir", d, "--id", "CHG-GHA", "--state", "approved",
                    "--subject", "repo:acme/api:environment:prod", "--access", "deploy")
        subject = self.jitctl("dev", "subject-token", "--data-dir", d, "--sub",
                              "repo:acme/api:environment:prod").stdout.strip()
        seen = []

        class GitHub(http.server.BaseHTTPRequestHandler):  # the runner's token endpoint
            def do_GET(self):
                q = parse_qs(urlparse(self.path).query)
                seen.append((self.headers.get("Authorization"), q.get("audience")))
                ok = self.headers.get("Authorization") == "Bearer runner-request-token"
                body = json.dumps({"value": subject}).encode() if ok else b"{}"
                self.send_response(200 if ok else 401)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        server, port, cert = https_standin(GitHub, tempfile.mkdtemp())
        try:
            gha = {"JITBROKER_SUBJECT_TOKEN": "",
                   "ACTIONS_ID_TOKEN_REQUEST_URL":
                       "https://127.0.0.1:%d/token?api-version=2.0" % port,
                   "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "runner-request-token",
                   "SSL_CERT_FILE": cert}  # the stand-in's certificate as the system trust
            r = self.jitctl("token", "--ticket", "CHG-GHA", env=gha)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(seen[-1], ("Bearer runner-request-token", ["jitbroker"]))
            r = self.jitctl("token", "--ticket", "CHG-GHA", "--subject-audience", "other",
                            env=gha)
            self.assertEqual(seen[-1][1], ["other"])
            r = self.jitctl("token", "--ticket", "CHG-GHA",
                            env=dict(gha, ACTIONS_ID_TOKEN_REQUEST_TOKEN=""))
            self.assertEqual(r.returncode, 2)
            self.assertIn("id-token: write", r.stderr)
        finally:
            server.shutdown()
        # GitLab CI: the id_tokens variable.
        r = self.jitctl("token", "--ticket", "CHG-GHA",
                        env={"JITBROKER_SUBJECT_TOKEN": "", "JITBROKER_ID_TOKEN": subject})
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.jitctl("token", "--ticket", "CHG-GHA", "--subject-token-env", "MY_TOKEN",
                        env={"JITBROKER_SUBJECT_TOKEN": "", "MY_TOKEN": subject})
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_subject_token_file_and_missing_token(self):
        d = self.b.data_dir
        r = self.jitctl("token", "--ticket", "X", env={"JITBROKER_SUBJECT_TOKEN": ""})
        self.assertEqual(r.returncode, 2)
        self.assertIn("no subject token", r.stderr)
        path = os.path.join(self.b.tmp, "tok")
        with open(path, "w") as f:
            f.write(self.jitctl("dev", "subject-token", "--data-dir", d, "--sub", "bob").stdout)
        r = self.jitctl("token", "--ticket", "UNKNOWN-1", "--subject-token-file", path)
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertIn("not known", r.stderr)


if __name__ == "__main__":
    unittest.main()


class DataDirModesTest(unittest.TestCase):
    """Everything the broker writes in data_dir is owner-only, whatever the caller's umask:
    the store, its WAL and shm, keys, tokens, the audit log. The two CA bundles clients are
    pointed at are public on purpose (docs/operations.md)."""
    PUBLIC = {os.path.join("tls", "ca.pem"), os.path.join("ca", "chain.pem")}

    def test_no_file_in_data_dir_is_group_or_other_readable(self):
        old = os.umask(0o022)  # the usual login umask: files default to 0644
        try:
            b = Broker().start()
        finally:
            os.umask(old)
        self.addCleanup(b.cleanup)
        env = dict(os.environ, JITBROKER_URL="https://127.0.0.1:%d" % b.port,
                   JITBROKER_CA=b.ca_file)
        d = b.data_dir
        run = lambda *a, **kw: subprocess.run([JITCTL, *a], capture_output=True, text=True,
                                              timeout=30, env=dict(env, **kw))
        r = run("dev", "ticket", "--data-dir", d, "--id", "CHG0042", "--state", "approved",
                "--subject", "alice", "--access", "deploy")
        self.assertEqual(r.returncode, 0, r.stderr)
        subject = run("dev", "subject-token", "--data-dir", d, "--sub", "alice").stdout.strip()
        r = run("token", "--ticket", "CHG0042", JITBROKER_SUBJECT_TOKEN=subject)
        self.assertEqual(r.returncode, 0, r.stderr)
        seen, exposed = set(), []
        for root, dirs, files in os.walk(d):
            for name in dirs + files:
                path = os.path.join(root, name)
                rel = os.path.relpath(path, d)
                mode = os.lstat(path).st_mode & 0o777
                seen.add(rel)
                if rel in self.PUBLIC:
                    self.assertEqual(mode, 0o644, rel)
                elif mode & 0o077:
                    exposed.append("%s %o" % (rel, mode))
        self.assertEqual(exposed, [])
        # The walk saw what matters: the store with its WAL, the CA keys, the audit log.
        for rel in ("broker.db", "broker.db-wal", "ca/intermediate.key", "ca/root.key",
                    "audit.log", "admin.token"):
            self.assertIn(rel, seen)
