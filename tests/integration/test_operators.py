"""Operator tokens with roles (docs/console.md, docs/api.md#operators): an auditor reads every
admin view and is refused every action (403, audited); tokens are leases that expire and can be
revoked, refused at once after either; break-glass reviews are marked done by an admin only;
the audit chain's state and records; the console's files under a strict CSP."""
import json
import os
import sqlite3
import time
import unittest

from brokerproc import slurp
from exchange_env import ExchangeEnv


class OperatorsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.env = ExchangeEnv()

    @classmethod
    def tearDownClass(cls):
        cls.env.close()

    def as_token(self, token, method, path, body=None):
        headers = {"Authorization": "Bearer " + token}
        if body is not None:
            headers["Content-Type"] = "application/json"
            body = json.dumps(body)
        return self.env.b.json(method, path, body=body, headers=headers)

    def make_token(self, role, name, ttl="1h", token=None):
        status, _, r = self.as_token(token or self.env.admin, "POST", "/v1/operator-tokens",
                                     {"role": role, "name": name, "ttl": ttl})
        self.assertEqual(status, 201, r)
        return r

    def audit_records(self, event):
        log = slurp(os.path.join(self.env.b.data_dir, "audit.log"))
        return [json.loads(l) for l in log.splitlines() if '"event":"%s"' % event in l]

    def test_an_auditor_reads_every_admin_view_and_is_refused_every_action(self):
        env = self.env
        env.send_ticket("CHG-AUD", access=["deploy"])
        status, _, tok = env.exchange("CHG-AUD")
        self.assertEqual(status, 200, tok)
        auditor = self.make_token("auditor", "carol")
        status, _, r = self.as_token(auditor["token"], "POST", "/v1/introspect", None)
        self.assertNotIn(status, (401, 403), r)  # a question, not an action
        for path in ("/v1/leases", "/v1/leases/" + tok["lease_id"], "/v1/tickets/CHG-AUD",
                     "/v1/reviews", "/v1/routes", "/v1/audit/state", "/v1/audit/records"):
            status, _, r = self.as_token(auditor["token"], "GET", path)
            self.assertEqual(status, 200, (path, r))
        actions = [("POST", "/v1/leases/revoke", {"ticket": "CHG-AUD"}),
                   ("POST", "/v1/leases/%s/revoke" % tok["lease_id"], None),
                   ("POST", "/v1/operator-tokens", {"role": "admin", "name": "x", "ttl": "1h"}),
                   ("POST", "/v1/policies/reload", None),
                   ("POST", "/v1/keys/rotate", None),
                   ("POST", "/v1/reviews/" + tok["lease_id"], {"comment": "ok"})]
        for method, path, body in actions:
            status, _, r = self.as_token(auditor["token"], method, path, body)
            self.assertEqual(status, 403, (path, r))
            self.assertEqual(r["error"], "access_denied", r)
        # Nothing was done: the lease is still active.
        status, _, lease = env.admin_json("GET", "/v1/leases/" + tok["lease_id"])
        self.assertEqual(lease["state"], "active")
        refused = [r for r in self.audit_records("operator.refused") if r["name"] == "carol"]
        self.assertEqual(sorted(r["path"] for r in refused), sorted(a[1] for a in actions))
        self.assertTrue(all(r["lease"] == auditor["lease_id"] for r in refused))

    def test_tokens_are_leases_listed_audited_and_kept_only_as_a_hash(self):
        env = self.env
        made = self.make_token("admin", "dave", ttl="2h")
        self.assertTrue(made["token"].startswith("jbo_"))
        status, _, page = env.admin_json("GET", "/v1/leases?subject=dave")
        self.assertEqual([(l["id"], l["kind"], l["grant"], l["state"]) for l in page["leases"]],
                         [(made["lease_id"], "operator", "admin", "active")])
        status, _, ops = env.admin_json("GET", "/v1/leases?kind=operator&limit=1000")
        self.assertIn(made["lease_id"], [l["id"] for l in ops["leases"]])
        self.assertEqual({l["kind"] for l in ops["leases"]}, {"operator"})
        self.assertEqual(env.admin_json("GET", "/v1/leases?kind=bogus")[0], 400)
        issued = [r for r in self.audit_records("operator_token.issued")
                  if r["lease"] == made["lease_id"]]
        self.assertEqual(len(issued), 1)
        self.assertEqual((issued[0]["role"], issued[0]["name"], issued[0]["by"]),
                         ("admin", "dave", "admin.token"))
        # An admin operator token makes tokens too, and the record says which one did.
        second = self.make_token("auditor", "erin", token=made["token"])
        by = [r for r in self.audit_records("operator_token.issued")
              if r["lease"] == second["lease_id"]][0]
        self.assertEqual((by["by"], by["by_lease"]), ("dave", made["lease_id"]))
        # The token is nowhere on disk: not in the audit log, not in the store.
        self.assertNotIn(made["token"], slurp(os.path.join(env.b.data_dir, "audit.log")))
        path = os.path.join(env.b.data_dir, "broker.db")
        if not os.path.exists(path):
            return  # on PostgreSQL (integration_pg): the row is checked by the SQLite run
        db = sqlite3.connect(path)
        try:
            rows = db.execute("SELECT * FROM leases WHERE id = ?", (made["lease_id"],)).fetchall()
        finally:
            db.close()
        self.assertEqual(len(rows), 1)
        self.assertNotIn(made["token"], repr(rows))
        self.assertNotIn(made["token"][4:], repr(rows))

    def test_a_revoked_or_expired_token_is_refused_at_once(self):
        env = self.env
        made = self.make_token("auditor", "frank")
        self.assertEqual(self.as_token(made["token"], "GET", "/v1/leases")[0], 200)
        status, _, r = env.admin_json("POST", "/v1/leases/%s/revoke" % made["lease_id"])
        self.assertEqual((status, r["changed"]), (200, True))
        status, _, r = self.as_token(made["token"], "GET", "/v1/leases")
        self.assertEqual((status, r["error"]), (401, "unauthenticated"))

        short = self.make_token("admin", "grace", ttl="1s")
        self.assertEqual(self.as_token(short["token"], "GET", "/v1/reviews")[0], 200)
        time.sleep(1.1)
        self.assertEqual(self.as_token(short["token"], "GET", "/v1/reviews")[0], 401)
        # The timer ends its lease too.
        self.assertTrue(env.wait_for(lambda: env.admin_json(
            "GET", "/v1/leases/" + short["lease_id"])[2]["state"] == "expired"))

    def test_bad_requests_get_a_4xx_json_error(self):
        env = self.env
        cases = [({"role": "root", "name": "x", "ttl": "1h"}, 400),
                 ({"role": "admin", "name": "x"}, 400),
                 ({"role": "admin", "name": "", "ttl": "1h"}, 400),
                 ({"role": "admin", "name": "x", "ttl": "0s"}, 400),
                 ({"role": "admin", "name": "x", "ttl": "9999h"}, 400),
                 ({"role": "admin", "name": "x", "ttl": 5}, 400),
                 ({"role": "admin", "name": "x", "ttl": "1h", "extra": 1}, 400)]
        for body, want in cases:
            status, _, r = env.admin_json("POST", "/v1/operator-tokens", body=json.dumps(body),
                                          ctype="application/json")
            self.assertEqual(status, want, (body, r))
            self.assertIn("error", r)
        status, _, r = env.admin_json("POST", "/v1/operator-tokens", body="{", ctype="application/json")
        self.assertEqual(status, 400, r)
        for bad in ("jbo_" + "0" * 64, "not-a-token", env.admin + "x"):
            status, _, r = self.as_token(bad, "GET", "/v1/leases")
            self.assertEqual(status, 401, r)
        status, _, r = env.b.json("POST", "/v1/operator-tokens", body="{}",
                                  headers={"Content-Type": "application/json"})
        self.assertEqual(status, 401, r)

    def test_an_admin_marks_a_break_glass_review_done_once(self):
        env = self.env
        env.send_ticket("INC-REV", kind="emergency", approved_by=[], access=["breakglass"])
        status, _, r = env.exchange("INC-REV")
        self.assertEqual(status, 200, r)
        lease = r["lease_id"]
        admin = self.make_token("admin", "heidi")
        path = "/v1/reviews/" + lease
        for body in ({}, {"comment": ""}, {"comment": 3}, {"comment": "x", "more": 1}):
            self.assertEqual(self.as_token(admin["token"], "POST", path, body)[0], 400, body)
        status, _, r = self.as_token(admin["token"], "POST", "/v1/reviews/lease_nope",
                                     {"comment": "x"})
        self.assertEqual(status, 404, r)
        comment = "checked with the on-call <b>lead</b>"
        status, _, r = self.as_token(admin["token"], "POST", path, {"comment": comment})
        self.assertEqual(status, 200, r)
        self.assertEqual((r["review"], r["by"]), ("done", "heidi"))
        status, _, reviews = env.admin_json("GET", "/v1/reviews")
        self.assertNotIn(lease, [x["id"] for x in reviews["reviews"]])
        status, _, r = self.as_token(admin["token"], "POST", path, {"comment": "again"})
        self.assertEqual(status, 409, r)
        done = [x for x in self.audit_records("review.done") if x["lease"] == lease]
        self.assertEqual([(x["comment"], x["by"], x["ticket"]) for x in done],
                         [(comment, "heidi", "INC-REV")])
        status, _, found = env.admin_json("GET", "/v1/audit/records?event=review.done&lease=" + lease)
        self.assertEqual([x["comment"] for x in found["records"]], [comment])

    def test_audit_state_records_and_export(self):
        env = self.env
        env.send_ticket("CHG-AUDIT", access=["deploy"])
        status, _, state = env.admin_json("GET", "/v1/audit/state")
        self.assertEqual(status, 200, state)
        lines = slurp(os.path.join(env.b.data_dir, "audit.log")).splitlines()
        self.assertTrue(state["intact"], state)
        self.assertFalse(state["continues_rotated_file"], state)
        self.assertEqual(state["first_seq"], 1)
        self.assertGreaterEqual(state["verified_through_seq"], json.loads(lines[-1])["seq"])
        status, _, found = env.admin_json("GET", "/v1/audit/records?ticket=CHG-AUDIT&event=ticket.")
        self.assertEqual([r["event"] for r in found["records"]], ["ticket.received"])
        self.assertEqual(env.admin_json("GET", "/v1/audit/records?limit=0")[0], 400)
        status, headers, body = env.b.request(
            "GET", "/v1/audit/export", headers={"Authorization": "Bearer " + env.admin})
        self.assertEqual(status, 200)
        self.assertIn(b'"event":"ticket.received"', body)
        self.assertTrue(body.endswith(b"\n"))

    def test_revocations_carry_their_reason_and_lag_to_the_millisecond(self):
        env = self.env
        env.send_ticket("CHG-REVLAG", access=["deploy"])
        status, _, tok = env.exchange("CHG-REVLAG")
        self.assertEqual(status, 200, tok)
        env.send_ticket("CHG-REVLAG", access=["deploy"], state="closed")
        auditor = self.make_token("auditor", "ivan")
        status, _, r = self.as_token(auditor["token"], "GET", "/v1/revocations?ticket=CHG-REVLAG")
        self.assertEqual(status, 200, r)
        [rev] = r["revocations"]
        self.assertEqual((rev["reason"], rev["leases"], rev["ticket_state"]),
                         ("ticket_closed", [tok["lease_id"]], "closed"))
        self.assertIsInstance(rev["lag_ms"], int)
        self.assertTrue(0 <= rev["lag_ms"] < 2000, rev)
        status, _, lease = env.admin_json("GET", "/v1/leases/" + tok["lease_id"])
        self.assertEqual(rev["revoked_at"], lease["ended_at"])
        self.assertEqual(env.admin_json("GET", "/v1/revocations?limit=501")[0], 400)

    def test_explain_answers_auditors_with_each_rule(self):
        env = self.env
        env.send_ticket("CHG-EXPLAIN", access=["deploy"])
        auditor = self.make_token("auditor", "judy")
        status, _, me = self.as_token(auditor["token"], "GET", "/v1/operator-tokens/self")
        self.assertEqual((status, me["name"], me["role"]), (200, "judy", "auditor"))
        good = {"iss": "https://token.actions.githubusercontent.com",
                "sub": "repo:acme/api:environment:prod", "repository": "acme/api",
                "ref": "refs/heads/main"}
        status, _, d = self.as_token(auditor["token"], "POST", "/v1/policies/explain",
                                     {"ticket": "CHG-EXPLAIN", "claims": good})
        self.assertEqual(status, 200, d)
        self.assertTrue(d["allowed"], d)
        self.assertEqual(d["grant"], "deploy")
        self.assertTrue(all(r["passed"] for r in d["rules"] if r.get("grant") == "deploy"), d)
        status, _, d = self.as_token(auditor["token"], "POST", "/v1/policies/explain",
                                     {"ticket": "CHG-EXPLAIN", "claims": dict(good, repository="evil/x")})
        self.assertEqual((status, d["allowed"], d["failed_rule"]), (200, False, "subject.claims"))
        self.assertEqual(self.as_token(auditor["token"], "POST", "/v1/policies/explain",
                                       {"ticket": "NOPE", "claims": good})[0], 404)
        for bad in ({"ticket": "CHG-EXPLAIN"}, {"claims": good}, {"ticket": "CHG-EXPLAIN", "claims": []},
                    {"ticket": "CHG-EXPLAIN", "claims": good, "kind": "ssh"}):
            self.assertEqual(self.as_token(auditor["token"], "POST", "/v1/policies/explain", bad)[0],
                             400, bad)
        # Nothing was issued.
        status, _, page = env.admin_json("GET", "/v1/leases?ticket=CHG-EXPLAIN")
        self.assertEqual(page["leases"], [])

    def test_the_console_is_served_under_a_strict_csp(self):
        status, headers, body = self.env.b.request("GET", "/ui/")
        self.assertEqual(status, 200)
        h = headers
        self.assertIn("default-src 'self'", h["content-security-policy"])
        self.assertNotIn("unsafe-inline", h["content-security-policy"])
        self.assertIn("text/html", h["content-type"])
        self.assertIn(b"<script src=\"/ui/console.js\"", body)
        self.assertEqual(self.env.b.request("GET", "/ui/console.js")[0], 200)
        self.assertEqual(self.env.b.request("GET", "/ui/nope.js")[0], 404)


if __name__ == "__main__":
    unittest.main()
