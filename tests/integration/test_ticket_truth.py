"""Ticket truth against the real binary: no event, identity or issuer trick keeps a credential
alive that the ticket and the policies no longer allow (ordering rules, the decision judged
again over live leases, the issuer binding, what a non-subject learns)."""
import json
import os
import time
import unittest

from brokerproc import Broker, sign_event, ticket
from exchange_env import ExchangeEnv, GITLAB_ISS, SUBJECT
from oidc import GITHUB_ISS


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


class TicketTruthTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.env = ExchangeEnv()

    @classmethod
    def tearDownClass(cls):
        cls.env.close()

    def post_event(self, t):
        body = json.dumps({"ticket": t}).encode()
        return self.env.b.json("POST", "/v1/tickets/events", body=body,
                               headers={"Content-Type": "application/json",
                                        "X-Jitbroker-Signature": sign_event(body, self.env.secret)})

    def issue(self, tid):
        status, _, r = self.env.exchange(tid)
        self.assertEqual(status, 200, r)
        return r["access_token"], r["lease_id"]

    def lease(self, lease_id):
        status, _, r = self.env.admin_json("GET", "/v1/leases/" + lease_id)
        self.assertEqual(status, 200, r)
        return r

    def assert_inactive_within_a_second(self, token, lease_id, reason):
        inactive = self.env.wait_for(lambda: not self.env.introspect(token)[2]["active"], 1.0)
        self.assertTrue(inactive, "lease %s still active" % lease_id)
        l = self.lease(lease_id)
        self.assertEqual((l["state"], l["reason"]), ("revoked", reason))

    # Finding: an approval dated in the future pinned the ticket open.
    def test_updated_at_far_in_the_future_is_refused(self):
        t = ticket("CHG-FUT", updated_at="2200-01-01T00:00:00Z")
        status, _, r = self.post_event(t)
        self.assertEqual(status, 400, r)
        self.assertIn("future", r["error_description"])
        self.assertEqual(self.env.admin_json("GET", "/v1/tickets/CHG-FUT")[0], 404)

    # Finding: a close older than (or in the same second as) the approval was ignored.
    def test_a_close_applies_whatever_its_updated_at(self):
        now = time.time()
        self.assertEqual(self.post_event(ticket("CHG-OLDCLOSE", updated_at=iso(now)))[0], 200)
        token, lease_id = self.issue("CHG-OLDCLOSE")
        status, _, r = self.post_event(ticket("CHG-OLDCLOSE", state="closed", updated_at=iso(now - 60)))
        self.assertEqual((status, r["outcome"]), (200, "applied"), r)
        self.assert_inactive_within_a_second(token, lease_id, "ticket_closed")

    def test_same_second_tie_goes_to_the_more_restrictive_state(self):
        now = iso(time.time())
        self.assertEqual(self.post_event(ticket("CHG-TIE", updated_at=now))[0], 200)
        token, lease_id = self.issue("CHG-TIE")
        status, _, r = self.post_event(ticket("CHG-TIE", state="pending", updated_at=now))
        self.assertEqual((status, r["outcome"]), (200, "applied"), r)
        self.assert_inactive_within_a_second(token, lease_id, "approval_withdrawn")
        # The approval replayed at the same second does not undo it.
        status, _, r = self.post_event(ticket("CHG-TIE", updated_at=now))
        self.assertEqual((status, r["outcome"]), (202, "ignored"))

    # Finding: approval withdrawn without a state change left the lease active.
    def check_change_revokes(self, tid, **change):
        self.env.send_ticket(tid)
        token, lease_id = self.issue(tid)
        r = self.env.send_ticket(tid, **change)
        self.assertEqual((r["outcome"], r["revoked"]), ("applied", 1), r)
        self.assert_inactive_within_a_second(token, lease_id, "ticket_changed")
        status, _, r = self.env.exchange(tid)  # issuance agrees
        self.assertEqual(status, 400, r)

    def test_approvers_emptied_revokes(self):
        self.check_change_revokes("CHG-NOAPP", approved_by=[])

    def test_requester_as_approver_revokes(self):
        self.check_change_revokes("CHG-SELF", approved_by=["alice@example.com"])

    def test_kind_changed_to_emergency_revokes(self):
        self.check_change_revokes("CHG-EMERG", kind="emergency")

    def test_window_start_moved_into_the_future_revokes(self):
        now = time.time()
        self.check_change_revokes("CHG-LATER", window={"start": iso(now + 600), "end": iso(now + 7200)})

    # Finding: subjects were not bound to an issuer.
    def test_a_sub_from_another_issuer_does_not_get_the_grant(self):
        self.env.send_ticket("CHG-ISS")
        gitlab = self.env.idp.token(sub=SUBJECT, iss=GITLAB_ISS, repository="acme/api",
                                    ref="refs/heads/main")
        status, _, r = self.env.exchange("CHG-ISS", gitlab, grant="deploy")
        self.assertEqual(status, 400, r)
        self.assertIn("subject.issuer", r["error_description"])
        token, lease_id = self.issue("CHG-ISS")
        self.assertEqual(self.lease(lease_id)["caller_issuer"], GITHUB_ISS)

    # Finding: a denial told a non-subject the state, window and approvers of the ticket.
    def test_a_non_subject_learns_only_that(self):
        self.env.send_ticket("CHG-PRIV", kind="emergency", approved_by=["secret.approver@example.com"])
        other = self.env.idp.github(repo="evil/x")
        status, _, r = self.env.exchange("CHG-PRIV", other)
        self.assertEqual(status, 400, r)
        text = json.dumps(r)
        self.assertIn("not a subject", r["error_description"])
        for leak in ("emergency", "secret.approver", "window", "ticket_closed", "approved"):
            self.assertNotIn(leak, text)
        self.assertEqual(r["basis"], {"failed_rule": "caller.subject"})


# Finding: a policy reload left the leases of removed grants active; and with several trust
# entries a grant must name its issuers.
class PolicyChangeTest(unittest.TestCase):
    def setUp(self):
        self.env = ExchangeEnv()
        self.pol = os.path.join(self.env.policy_dir, "test.yaml")
        self.original = open(self.pol).read()

    def tearDown(self):
        self.env.close()

    def write(self, text):
        with open(self.pol + ".new", "w") as f:
            f.write(text)
        os.replace(self.pol + ".new", self.pol)

    def test_reload_revokes_what_the_new_policies_refuse(self):
        self.env.send_ticket("CHG-POL", access=["deploy"])
        status, _, r = self.env.exchange("CHG-POL")
        self.assertEqual(status, 200, r)
        token, lease_id = r["access_token"], r["lease_id"]
        # deploy now needs two approvals.
        self.write(self.original.replace(
            "tickets: { kinds: [standard, normal], min_approvals: 1, separation_of_duties: true }",
            "tickets: { kinds: [standard, normal], min_approvals: 2, separation_of_duties: true }"))
        self.assertEqual(self.env.admin_json("POST", "/v1/policies/reload")[0], 200)
        inactive = self.env.wait_for(lambda: not self.env.introspect(token)[2]["active"], 1.0)
        self.assertTrue(inactive)
        _, _, l = self.env.admin_json("GET", "/v1/leases/" + lease_id)
        self.assertEqual((l["state"], l["reason"]), ("revoked", "policy_changed"))

    def test_policies_changed_while_the_broker_was_down_apply_at_start(self):
        self.env.send_ticket("CHG-DOWN", access=["deploy"])
        status, _, r = self.env.exchange("CHG-DOWN")
        self.assertEqual(status, 200, r)
        self.env.b.stop()
        self.write(self.original.replace("scopes: [\"deploy:read\", \"deploy:write\"]",
                                         "scopes: [\"deploy:read\"]"))
        self.env.b.start()
        _, _, l = self.env.admin_json("GET", "/v1/leases/" + r["lease_id"])
        self.assertEqual((l["state"], l["reason"]), ("revoked", "policy_changed"))
        self.assertFalse(self.env.introspect(r["access_token"])[2]["active"])

    def test_a_grant_without_issuer_is_refused_when_several_are_trusted(self):
        self.write(self.original + '  - name: loose\n    token: { audience: "x" }\n')
        status, _, r = self.env.admin_json("POST", "/v1/policies/reload")
        self.assertEqual(status, 400, r)
        self.assertRegex(r["error_description"], r"test\.yaml:\d+: grant 'loose' must name its issuer")


if __name__ == "__main__":
    unittest.main()
