"""Token exchange end to end (docs/api.md, docs/tickets.md): real binary, real TLS, a test OIDC issuer,
signed tickets, and the issued token checked with PyJWT rather than the broker's own code."""
import json
import os
import time
import unittest

import jwt

from exchange_env import SUBJECT, ExchangeEnv
from brokerproc import slurp, verify_audit_chain


class ExchangeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.env = ExchangeEnv()
        cls.env.send_ticket("CHG-OK", access=["deploy", "twoman"])

    @classmethod
    def tearDownClass(cls):
        cls.env.close()

    def assertDenied(self, status, body, error, rule_words, closed=False, rule=None):
        self.assertEqual(status, 400, body)
        self.assertEqual(body["error"], error, body)
        for w in rule_words:
            self.assertIn(w, body["error_description"].lower())
        self.assertEqual(body.get("reason"), "ticket_closed" if closed else None, body)
        # docs/api.md#errors: the decision's basis is returned on denial, naming the failed rule.
        if rule:
            basis = body["basis"]
            self.assertEqual(basis["failed_rule"], rule, body)
            # No policy was consulted for an unknown ticket; a non-subject learns nothing more.
            if rule not in ("ticket.unknown", "caller.subject"):
                self.assertFalse(basis["allowed"], body)
                self.assertNotIn("/", basis["policy_file"], body)  # no server folders
                self.assertIn({"rule": rule, "passed": False},
                              [{"rule": r["rule"], "passed": r["passed"]} for r in basis["rules"]], body)

    def test_allowed_exchange_issues_a_token_others_can_verify(self):
        status, hdrs, r = self.env.exchange("CHG-OK", scope="deploy:read")
        self.assertEqual(status, 200, r)
        self.assertEqual(hdrs.get("cache-control"), "no-store")
        self.assertEqual(r["issued_token_type"], "urn:ietf:params:oauth:token-type:jwt")
        self.assertEqual(r["token_type"], "Bearer")
        self.assertEqual(r["scope"], "deploy:read")
        self.assertTrue(890 <= r["expires_in"] <= 900, r)
        claims = self.env.verify_independently(r["access_token"], "deploy-api")
        self.assertEqual(claims["sub"], SUBJECT)
        self.assertEqual((claims["ticket"], claims["grant"], claims["scope"]),
                         ("CHG-OK", "deploy", "deploy:read"))
        self.assertAlmostEqual(claims["exp"] - claims["iat"], r["expires_in"], delta=1)
        status, _, lease = self.env.admin_json("GET", "/v1/leases/" + r["lease_id"])
        self.assertEqual(status, 200)
        self.assertEqual((lease["state"], lease["kind"], lease["jti"]),
                         ("active", "token", claims["jti"]))

    def test_jti_is_time_ordered_and_unique(self):
        # 12 hex digits of milliseconds, then 20 random ones: the store's jti index grows at
        # one end instead of taking a random page per token.
        jtis = []
        for _ in range(3):
            status, _, r = self.env.exchange("CHG-OK")
            self.assertEqual(status, 200, r)
            claims = self.env.verify_independently(r["access_token"], "deploy-api")
            jti = claims["jti"]
            self.assertRegex(jti, r"^[0-9a-f]{32}$")
            self.assertEqual(int(jti[:12], 16) // 1000, claims["iat"])
            jtis.append(jti)
        self.assertEqual(len(set(jtis)), 3)
        self.assertEqual([j[:12] for j in jtis], sorted(j[:12] for j in jtis))

    def test_ttl_is_the_minimum_of_request_grant_and_window(self):
        status, _, r = self.env.exchange("CHG-OK", ttl="60")
        self.assertEqual((status, r["expires_in"]), (200, 60))
        now = time.time()
        iso = lambda t: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))
        self.env.send_ticket("CHG-SHORT", window={"start": iso(now - 60), "end": iso(now + 120)})
        status, _, r = self.env.exchange("CHG-SHORT")
        self.assertEqual(status, 200, r)
        self.assertTrue(100 <= r["expires_in"] <= 120, r)

    def test_every_ticket_and_policy_rule_denies_with_its_name(self):
        now = time.time()
        iso = lambda t: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))
        env = self.env
        env.send_ticket("D-PENDING", state="pending")
        env.send_ticket("D-SELF", approved_by=["alice@example.com"])
        env.send_ticket("D-SUBJAPPROVER", approved_by=[SUBJECT])
        env.send_ticket("D-TWOMAN", access=["twoman"])
        env.send_ticket("D-LATER", window={"start": iso(now + 600), "end": iso(now + 1200)})
        env.send_ticket("D-OVER", window={"start": iso(now - 1200), "end": iso(now - 600)})
        env.send_ticket("D-OTHERSUB", subjects=["repo:acme/web:environment:prod"])
        env.send_ticket("D-NOGRANT", access=["twoman"])
        env.send_ticket("D-EMERG", kind="emergency")
        env.send_ticket("D-CLOSED", state="closed")
        cases = [
            ("pending", "D-PENDING", {}, "invalid_grant", ["approved"], False, "ticket.state"),
            ("self-approval", "D-SELF", {}, "invalid_grant", ["requester"], False,
             "ticket.separation_of_duties"),
            ("approver is subject", "D-SUBJAPPROVER", {}, "invalid_grant", ["subject"], False,
             "ticket.separation_of_duties"),
            ("too few approvals", "D-TWOMAN", {"grant": "twoman"}, "invalid_grant", ["approv"], False,
             "ticket.min_approvals"),
            ("window not started", "D-LATER", {}, "invalid_grant", ["window"], False, "ticket.window"),
            ("window over", "D-OVER", {}, "invalid_grant", ["window"], True, "ticket.window"),
            ("caller not in subjects", "D-OTHERSUB", {}, "invalid_grant", ["subject"], False,
             "caller.subject"),
            ("grant not in access", "D-NOGRANT", {"grant": "deploy"}, "invalid_grant", ["access"], False,
             "grant.access"),
            ("kind not allowed", "D-EMERG", {}, "invalid_grant", ["kind"], False, "ticket.kind"),
            ("closed", "D-CLOSED", {}, "invalid_grant", ["closed"], True, "ticket.state"),
            ("unknown ticket", "D-NOPE", {}, "invalid_grant", ["not known"], False, "ticket.unknown"),
            ("scope outside grant", "CHG-OK", {"scope": "deploy:admin"}, "invalid_scope", ["scope"], False,
             "request.scope"),
            ("audience outside grant", "CHG-OK", {"audience": "other-api"}, "invalid_target", ["audience"],
             False, "request.audience"),
        ]
        for name, tid, params, error, words, closed, rule in cases:
            with self.subTest(name):
                status, _, body = env.exchange(tid, **params)
                self.assertDenied(status, body, error, words, closed, rule)
        # The access log names each denial's rule and its error code, never the description.
        logged = [json.loads(l) for l in env.b.stderr().splitlines()
                  if l.startswith("{") and '"route":"/v1/token"' in l and '"status":400' in l]
        self.assertLessEqual({c[6] for c in cases}, {l.get("rule") for l in logged})
        self.assertLessEqual({c[3] for c in cases}, {l.get("error") for l in logged})
        self.assertFalse([l for l in logged if "denied by" in json.dumps(l)])
        with self.subTest("claims not matching"):
            status, _, body = env.exchange("CHG-OK", env.idp.github(ref="refs/heads/dev"))
            self.assertDenied(status, body, "invalid_grant", ["claim"], rule="subject.claims")

    def test_bad_caller_tokens_are_invalid_request(self):
        idp = self.env.idp
        cases = {
            "forged signature": idp.forged(),
            "expired": idp.github(exp=int(time.time()) - 3600, iat=int(time.time()) - 4000,
                                  nbf=int(time.time()) - 4000),
            "wrong audience": idp.github(aud="someone-else"),
            "alg none": idp.alg_none(),
            "HS256 with the public key": idp.hs256_with_public_key(),
            "garbage": "not.a.jwt",
            "unknown issuer": idp.github(iss="https://evil.example"),
        }
        for name, tok in cases.items():
            with self.subTest(name):
                status, _, body = self.env.exchange("CHG-OK", tok)
                self.assertEqual((status, body["error"]), (400, "invalid_request"), body)
                self.assertIn("subject_token", body["error_description"])
        for alg in ("ES256", "EdDSA"):
            with self.subTest(alg):
                tok = idp.token(alg=alg, repository="acme/api", ref="refs/heads/main")
                status, _, body = self.env.exchange("CHG-OK", tok)
                self.assertEqual(status, 200, body)

    def test_malformed_requests(self):
        env = self.env
        status, _, r = env.exchange("CHG-OK", grant_type="password")
        self.assertEqual((status, r["error"]), (400, "unsupported_grant_type"))
        status, _, r = env.exchange("", None)
        self.assertEqual((status, r["error"]), (400, "invalid_request"))
        status, _, r = env.exchange("CHG-OK", ttl="ten")
        self.assertEqual((status, r["error"]), (400, "invalid_request"))
        status, _, r = env.exchange("CHG-OK", subject_token_type="urn:x")
        self.assertEqual((status, r["error"]), (400, "invalid_request"))
        status, _, r = env.b.json("POST", "/v1/token", body="{}",
                                  headers={"Content-Type": "application/json"})
        self.assertEqual(status, 415)

    def test_introspection_and_holder_revocation(self):
        env = self.env
        status, _, r = env.exchange("CHG-OK")
        token = r["access_token"]
        status, _, info = env.introspect(token)
        self.assertEqual(status, 200)
        self.assertTrue(info["active"])
        self.assertEqual((info["sub"], info["ticket"], info["aud"]), (SUBJECT, "CHG-OK", "deploy-api"))
        from urllib.parse import urlencode
        status, _, _ = env.b.json("POST", "/v1/introspect", body=urlencode({"token": token}),
                                  headers={"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(status, 401)
        status, _, body = env.b.json("POST", "/v1/revoke", body=urlencode({"token": token}),
                                     headers={"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(status, 200)
        self.assertEqual(env.introspect(token)[2], {"active": False})
        self.assertEqual(env.introspect("garbage.token.x")[2], {"active": False})
        status, _, _ = env.b.json("POST", "/v1/revoke", body=urlencode({"token": "unknown"}),
                                  headers={"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(status, 200)
        status, _, body = env.b.json("POST", "/v1/revoke", body="",
                                     headers={"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual((status, body["error"]), (400, "invalid_request"))

    def test_short_ttl_expires_and_closing_revokes(self):
        env = self.env
        status, _, r = env.exchange("CHG-OK", ttl="2")
        self.assertEqual(status, 200)
        time.sleep(3)
        self.assertEqual(env.introspect(r["access_token"])[2], {"active": False})
        lease = env.admin_json("GET", "/v1/leases/" + r["lease_id"])[2]
        self.assertEqual(lease["state"], "expired")

        env.send_ticket("CHG-CLOSE")
        tokens = [env.exchange("CHG-CLOSE")[2]["access_token"] for _ in range(5)]
        env.send_ticket("CHG-CLOSE", state="closed")
        t0 = time.time()
        self.assertTrue(env.wait_for(lambda: env.introspect(tokens[0])[2] == {"active": False},
                                     timeout=1.0))
        self.assertLess(time.time() - t0, 1.0)
        for tok in tokens[1:]:
            self.assertEqual(env.introspect(tok)[2], {"active": False})
        status, _, body = env.exchange("CHG-CLOSE")
        self.assertEqual(body.get("reason"), "ticket_closed")

    def test_break_glass_is_allowed_flagged_and_listed(self):
        env = self.env
        env.send_ticket("INC-1", kind="emergency", approved_by=[], access=["breakglass"])
        status, _, r = env.exchange("INC-1")
        self.assertEqual(status, 200, r)
        status, _, reviews = env.admin_json("GET", "/v1/reviews")
        self.assertIn(r["lease_id"], [x["id"] for x in reviews["reviews"]])
        log = slurp(os.path.join(env.b.data_dir, "audit.log"))
        flagged = [json.loads(l) for l in log.splitlines() if '"review.required"' in l]
        self.assertIn(r["lease_id"], [x["lease"] for x in flagged])

    def test_discovery_documents(self):
        status, _, doc = self.env.b.json("GET", "/.well-known/openid-configuration")
        self.assertEqual(status, 200)
        self.assertEqual(doc["issuer"], self.env.url)
        self.assertEqual(doc["jwks_uri"], self.env.url + "/.well-known/jwks.json")
        self.assertEqual(doc["token_endpoint"], self.env.url + "/v1/token")
        status, _, jwks = self.env.b.json("GET", "/.well-known/jwks.json")
        self.assertTrue(all(k["kty"] == "EC" and "d" not in k for k in jwks["keys"]))

    def test_gitlab_and_kubernetes_tokens_are_callers_too(self):
        from exchange_env import GITLAB_ISS, K8S_ISS
        gitlab_sub = "project_path:acme/api:ref_type:branch:ref:main"
        k8s_sub = "system:serviceaccount:payments:deployer"
        self.env.send_ticket("CHG-MULTI", subjects=[gitlab_sub, k8s_sub], access=["twoman", "web"],
                             approved_by=["bob@example.com", "carol@example.com"])
        gitlab = self.env.idp.token(sub=gitlab_sub, iss=GITLAB_ISS, namespace_path="acme",
                                    project_path="acme/api", ref="main", ref_type="branch",
                                    pipeline_source="push", user_login="alice")
        status, _, r = self.env.exchange("CHG-MULTI", gitlab, grant="twoman")
        self.assertEqual(status, 200, r)
        k8s = self.env.idp.token(
            sub=k8s_sub, iss=K8S_ISS, aud=["https://kubernetes.default.svc", "jitbroker"],
            **{"kubernetes.io": {"namespace": "payments",
                                 "serviceaccount": {"name": "deployer", "uid": "0a1b"}}})
        status, _, r = self.env.exchange("CHG-MULTI", k8s, grant="twoman")
        self.assertEqual(status, 200, r)
        claims = self.env.verify_independently(r["access_token"], "db-api")
        self.assertEqual(claims["sub"], k8s_sub)
        # A token from an issuer no trust entry names is refused.
        status, _, r = self.env.exchange("CHG-MULTI", self.env.idp.token(sub=k8s_sub, iss="https://other"))
        self.assertEqual((status, r["error"]), (400, "invalid_request"))

    def test_key_rotation_keeps_old_tokens_verifiable(self):
        env = self.env
        old = env.exchange("CHG-OK")[2]["access_token"]
        status, _, r = env.admin_json("POST", "/v1/keys/rotate")
        self.assertEqual(status, 200, r)
        self.assertNotEqual(r["kid"], r["previous_kid"])
        new = env.exchange("CHG-OK")[2]["access_token"]
        self.assertEqual(jwt.get_unverified_header(new)["kid"], r["kid"])
        for tok in (old, new):  # both verify from the served JWKS, and introspect active
            env.verify_independently(tok, "deploy-api")
            self.assertTrue(env.introspect(tok)[2]["active"])
        self.assertEqual(env.b.json("POST", "/v1/keys/rotate")[0], 401)

    def test_audit_log_verifies_and_holds_no_token_material(self):
        env = self.env
        caller = env.idp.github()
        status, _, r = env.exchange("CHG-OK", caller)
        self.assertEqual(status, 200)
        status, _, denied = env.exchange("CHG-OK", caller, scope="nope")
        self.assertEqual(status, 400)
        time.sleep(0.1)
        log = slurp(os.path.join(env.b.data_dir, "audit.log"))
        records = [json.loads(l) for l in log.splitlines()]
        # Each decision is recorded with its basis: the allowed one before its lease, the
        # denied one as the caller was told.
        allowed = [x for x in records if x["event"] == "decision.allowed"]
        self.assertTrue(allowed)
        self.assertTrue(allowed[-1]["basis"]["allowed"])
        self.assertEqual(allowed[-1]["basis"]["grant"], "deploy")
        self.assertTrue(all(r["passed"] for r in allowed[-1]["basis"]["rules"]), allowed[-1])
        told = [x for x in records if x["event"] == "decision.denied" and x["basis"] == denied["basis"]]
        self.assertTrue(told, denied)
        self.assertEqual(told[-1]["basis"]["failed_rule"], "request.scope")
        for secret in (r["access_token"], r["access_token"].split(".")[2], caller,
                       caller.split(".")[2], env.admin, env.secret):
            self.assertNotIn(secret, log)
        ok, _, bad = verify_audit_chain(os.path.join(env.b.data_dir, "audit.log"))
        self.assertTrue(ok, "bad line %d" % bad)
        events = {json.loads(l)["event"] for l in log.splitlines()}
        self.assertTrue({"ticket.received", "decision.allowed", "decision.denied",
                         "lease.issued"} <= events, events)


class QuotaTest(unittest.TestCase):
    def test_per_subject_quota_answers_429_and_is_audited(self):
        env = ExchangeEnv(limits="limits:\n  max_active_leases_per_subject: 3\n")
        try:
            env.send_ticket("CHG-Q")
            codes = [env.exchange("CHG-Q")[0] for _ in range(5)]
            self.assertEqual(codes, [200, 200, 200, 429, 429])
            log = slurp(os.path.join(env.b.data_dir, "audit.log"))
            self.assertIn("lease.quota_exceeded", log)
        finally:
            env.close()


if __name__ == "__main__":
    unittest.main()
