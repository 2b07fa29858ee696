"""Signed ticket intake and the admin views, against the real binary (docs/tickets.md, docs/api.md)."""
import json
import os
import time
import unittest

from brokerproc import Broker, sign_event, slurp, ticket, verify_audit_chain


class TicketsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.b = Broker().start()
        cls.secret = slurp(os.path.join(cls.b.data_dir, "webhook.secret")).strip()
        cls.admin = slurp(os.path.join(cls.b.data_dir, "admin.token")).strip()

    @classmethod
    def tearDownClass(cls):
        cls.b.cleanup()

    def send(self, t, sig=None, ctype="application/json", raw=None):
        body = raw if raw is not None else json.dumps({"ticket": t}).encode()
        headers = {"Content-Type": ctype}
        if sig is not False:
            headers["X-Jitbroker-Signature"] = sig or sign_event(body, self.secret)
        return self.b.json("POST", "/v1/tickets/events", body=body, headers=headers)

    def get(self, tid, token=None):
        return self.b.json("GET", "/v1/tickets/" + tid,
                           headers={"Authorization": "Bearer " + (token or self.admin)})

    def test_signed_event_is_applied_and_readable_by_admin(self):
        status, _, body = self.send(ticket("CHG100"))
        self.assertEqual((status, body["outcome"]), (200, "applied"))
        status, _, t = self.get("CHG100")
        self.assertEqual(status, 200)
        self.assertEqual(t["state"], "approved")
        self.assertEqual(t["subjects"], ["repo:acme/api:environment:prod"])
        self.assertEqual(t["leases"], [])

    def test_bad_signatures_get_401_and_change_nothing(self):
        t = ticket("CHG200")
        body = json.dumps({"ticket": t}).encode()
        cases = {
            "unsigned": False,
            "wrong secret": sign_event(body, "not-the-secret"),
            "stale": sign_event(body, self.secret, time.time() - 3600),
            "future": sign_event(body, self.secret, time.time() + 3600),
            "garbage": "t=abc,v1=zz",
        }
        for name, sig in cases.items():
            with self.subTest(name):
                status, hdrs, err = self.send(t, sig=sig, raw=body)
                self.assertEqual(status, 401)
                self.assertEqual(err["error"], "unauthenticated")
                self.assertEqual(hdrs.get("www-authenticate"), "Bearer")
        # A body altered after signing.
        status, _, _ = self.send(t, sig=sign_event(body, self.secret), raw=body + b" ")
        self.assertEqual(status, 401)
        self.assertEqual(self.get("CHG200")[0], 404)

    def test_replay_and_older_events_are_ignored(self):
        body = json.dumps({"ticket": ticket("CHG300", version=10)}).encode()
        sig = sign_event(body, self.secret)
        self.assertEqual(self.send(None, sig=sig, raw=body)[0], 200)
        status, _, r = self.send(None, sig=sig, raw=body)  # the same delivery again
        self.assertEqual((status, r["outcome"], r["reason"]), (202, "ignored", "not_newer"))
        status, _, r = self.send(ticket("CHG300", state="pending", version=5))
        self.assertEqual((status, r["outcome"]), (202, "ignored"))
        self.assertEqual(self.get("CHG300")[2]["state"], "approved")

    def test_closed_ticket_cannot_be_reopened(self):
        self.assertEqual(self.send(ticket("CHG400", version=1))[0], 200)
        self.assertEqual(self.send(ticket("CHG400", state="closed", version=2))[0], 200)
        status, _, r = self.send(ticket("CHG400", state="approved", version=3))
        self.assertEqual((status, r["reason"]), (202, "terminal"))
        self.assertEqual(self.get("CHG400")[2]["state"], "closed")

    def test_invalid_bodies_are_4xx_json(self):
        status, _, r = self.send(ticket("CHG500", state="open"))
        self.assertEqual(status, 400)
        self.assertIn("'state'", r["error_description"])
        status, _, r = self.send(ticket("bad id!"))
        self.assertEqual(status, 400)
        status, _, r = self.send(None, raw=b"{not json")
        self.assertEqual((status, r["error"]), (400, "invalid_request"))
        status, _, r = self.send(ticket("CHG501"), ctype="text/plain")
        self.assertEqual((status, r["error"]), (415, "unsupported_media_type"))
        status, _, r = self.send(None, raw=json.dumps({"ticket": ticket("CHG502"), "x": 1}).encode())
        self.assertEqual(status, 400)

    def test_admin_routes_need_the_admin_token(self):
        for path in ("/v1/tickets/CHG100", "/v1/leases", "/v1/leases/L1"):
            status, hdrs, r = self.b.json("GET", path)
            self.assertEqual((status, r["error"]), (401, "unauthenticated"), path)
            status, _, _ = self.b.json("GET", path, headers={"Authorization": "Bearer wrong"})
            self.assertEqual(status, 401, path)
        status, _, r = self.b.json("GET", "/v1/leases",
                                   headers={"Authorization": "Bearer " + self.admin})
        self.assertEqual(status, 200)
        self.assertEqual(r, {"leases": [], "next": None})
        status, _, r = self.b.json("GET", "/v1/leases?state=bogus",
                                   headers={"Authorization": "Bearer " + self.admin})
        self.assertEqual(status, 400)

    def test_audit_log_records_events_and_its_chain_verifies(self):
        self.send(ticket("CHG600", version=1))
        self.send(ticket("CHG600", version=0))
        path = os.path.join(self.b.data_dir, "audit.log")
        ok, lines, bad = verify_audit_chain(path)
        self.assertTrue(ok, "first bad line %d" % bad)
        events = [json.loads(l) for l in slurp(path).splitlines()]
        mine = [e for e in events if e.get("ticket") == "CHG600"]
        self.assertEqual([e["event"] for e in mine], ["ticket.received", "ticket.ignored"])
        self.assertEqual(os.stat(path).st_mode & 0o777, 0o600)


if __name__ == "__main__":
    unittest.main()
