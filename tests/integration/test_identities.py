"""People and subjects compared after normalisation (docs/policies.md, "Identities"): the real
binary over TLS, signed ticket events, and token exchanges judged by the broker's policies."""
import json
import unittest

from brokerproc import sign_event, ticket
from exchange_env import SUBJECT, ExchangeEnv


class IdentitiesTest(unittest.TestCase):
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

    def denied_by(self, tid, rule, **params):
        status, _, r = self.env.exchange(tid, **params)
        self.assertEqual(status, 400, r)
        self.assertEqual(r["basis"]["failed_rule"], rule, r)
        return r

    def test_hidden_characters_in_people_or_subjects_are_refused_and_change_nothing(self):
        cases = [("approved_by", ["alice@example.com\u200b"], "'approved_by[0]'"),
                 ("approved_by", ["bob@example.com", "\u202ebob@example.com"], "'approved_by[1]'"),
                 ("requested_by", "alice@example.com\u2060", "'requested_by'"),
                 ("subjects", [SUBJECT + "\u200d"], "'subjects[0]'")]
        for i, (field, value, named) in enumerate(cases):
            tid = "ID-HIDDEN-%d" % i
            status, _, r = self.post_event(ticket(tid, **{field: value}))
            self.assertEqual(status, 400, r)
            self.assertEqual(r["error"], "invalid_request", r)
            self.assertIn(named, r["error_description"])
            self.assertIn("control or format characters", r["error_description"])
            status, _, r = self.env.admin_json("GET", "/v1/tickets/" + tid)
            self.assertEqual(status, 404, r)
        # An approved ticket is not overwritten by a refused event either.
        self.env.send_ticket("ID-KEPT")
        status, _, r = self.post_event(ticket("ID-KEPT", version=99,
                                              approved_by=["bob@example.com\u200b"]))
        self.assertEqual(status, 400, r)
        status, _, r = self.env.admin_json("GET", "/v1/tickets/ID-KEPT")
        self.assertEqual((status, r["approved_by"]), (200, ["bob@example.com"]), r)

    def test_another_spelling_of_the_requester_is_still_self_approval(self):
        for i, self_again in enumerate(["alice@example.com ", "\uff41lice@example.com",
                                        "ALICE@example.com\u00a0", "\u3000Alice@Example.COM"]):
            tid = "ID-SELF-%d" % i
            self.env.send_ticket(tid, approved_by=[self_again])
            # Stored as the source sent it; only the comparison normalises.
            status, _, stored = self.env.admin_json("GET", "/v1/tickets/" + tid)
            self.assertEqual(stored["approved_by"], [self_again])
            r = self.denied_by(tid, "ticket.separation_of_duties")
            self.assertIn("is the requester", r["error_description"])

    def test_two_spellings_of_one_approver_are_one_approval(self):
        self.env.send_ticket("ID-BOB-TWICE", access=["twoman"],
                             approved_by=["bob@example.com", "bob@example.com "])
        r = self.denied_by("ID-BOB-TWICE", "ticket.min_approvals", grant="twoman")
        self.assertIn("1 distinct approval", r["error_description"])
        self.env.send_ticket("ID-BOB-FULLWIDTH", access=["twoman"],
                             approved_by=["bob@example.com", "\uff42\uff4f\uff42@example.com"])
        self.denied_by("ID-BOB-FULLWIDTH", "ticket.min_approvals", grant="twoman")
        # Two people are two approvals.
        self.env.send_ticket("ID-BOB-CAROL", access=["twoman"],
                             approved_by=["bob@example.com", "carol@example.com "])
        status, _, r = self.env.exchange("ID-BOB-CAROL", grant="twoman")
        self.assertEqual(status, 200, r)

    def test_an_approver_with_the_requesters_id_is_the_requester(self):
        self.env.send_ticket("ID-SAMEACCOUNT", requested_by_id="557058:alice",
                             approved_by=["bob@example.com", "alice@corp.example"],
                             approved_by_ids=["557058:bob", "557058:alice"])
        r = self.denied_by("ID-SAMEACCOUNT", "ticket.separation_of_duties")
        self.assertIn("same account", r["error_description"])
        # One account under two names counts once.
        self.env.send_ticket("ID-ONEACCOUNT", access=["twoman"], requested_by_id="557058:alice",
                             approved_by=["bob@example.com", "robert@example.com"],
                             approved_by_ids=["557058:bob", "557058:bob"])
        self.denied_by("ID-ONEACCOUNT", "ticket.min_approvals", grant="twoman")
        status, _, stored = self.env.admin_json("GET", "/v1/tickets/ID-ONEACCOUNT")
        self.assertEqual((stored["requested_by_id"], stored["approved_by_ids"]),
                         ("557058:alice", ["557058:bob", "557058:bob"]))

    def test_the_callers_subject_is_compared_normalised(self):
        self.env.send_ticket("ID-SUBJECT", subjects=[SUBJECT.upper() + " "])
        status, _, r = self.env.exchange("ID-SUBJECT")
        self.assertEqual(status, 200, r)


if __name__ == "__main__":
    unittest.main()
