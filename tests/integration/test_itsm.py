"""ServiceNow and Jira Service Management as ticket sources, against stand-ins that speak their
wire formats: on-demand lookups, approvals, self-approval, triggers, reconciliation without a
trigger, a source that is down (fail closed, then recover), and Jira webhook authenticity."""
import calendar
import hashlib
import hmac
import json
import os
import shutil
import subprocess
import tempfile
import time
import unittest

from brokerproc import sign_event
from exchange_env import ExchangeEnv
from itsm_standins import Jira, ServiceNow

POLL = 3.0  # seconds; long enough that a trigger's effect is not the poller's
JIRA_SECRET = "jira-webhook-secret-0123456789"
SN_SECRET = "sn-trigger-secret-0123456789ab"


class ItsmTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="jitb-itsm-")
        os.makedirs(os.path.join(cls.dir, "sn"))
        cls.sn = ServiceNow(os.path.join(cls.dir, "sn"))
        os.makedirs(os.path.join(cls.dir, "jira"))
        cls.jira = Jira(os.path.join(cls.dir, "jira"))
        files = {"sn.password": ServiceNow.PASSWORD, "jira.token": Jira.TOKEN,
                 "jira.secret": JIRA_SECRET, "sn.secret": SN_SECRET}
        for name, value in files.items():
            with open(os.path.join(cls.dir, name), "w") as f:
                f.write(value + "\n")
        p = lambda n: os.path.join(cls.dir, n)
        tickets = """tickets:
  max_age: "2s"
  servicenow:
    base_url: "%s"
    user: "%s"
    password_file: "%s"
    ca_file: "%s"
    notify_secret_file: "%s"
    poll_interval: "%ds"
    page_size: 2
    max_attempts: 2
    requests_per_second: 200
  jira:
    base_url: "%s"
    user: "%s"
    token_file: "%s"
    ca_file: "%s"
    webhook_secret_file: "%s"
    poll_interval: "%ds"
    max_attempts: 2
    project_keys: ["OPS"]
    status_map: { "10500": rejected }
    fields: { subjects: customfield_10050, access: customfield_10051, window_start: customfield_10052, window_end: customfield_10053 }
""" % (cls.sn.url, ServiceNow.USER, p("sn.password"), cls.sn.cert, p("sn.secret"), POLL,
       cls.jira.url, Jira.USER, p("jira.token"), cls.jira.cert, p("jira.secret"), POLL)
        cls.env = ExchangeEnv(limits=tickets)

    @classmethod
    def tearDownClass(cls):
        cls.env.close()
        cls.sn.stop()
        cls.jira.stop()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def token(self, tid):
        status, _, body = self.env.exchange(tid)
        self.assertEqual(status, 200, body)
        return body["access_token"]

    def active(self, token):
        status, _, r = self.env.introspect(token)
        self.assertEqual(status, 200)
        return r["active"]

    def trigger(self, number, secret=SN_SECRET):
        body = json.dumps({"table": "change_request", "number": number,
                           "sys_id": "ignored", "state": "3"}).encode()
        return self.env.b.json("POST", "/v1/tickets/servicenow", body=body,
                               headers={"Content-Type": "application/json",
                                        "X-Jitbroker-Signature": sign_event(body, secret)})

    # -- ServiceNow ---------------------------------------------------------------------------
    def test_signed_events_for_a_sources_tickets_are_refused(self):
        # The system of record is the only writer of its tickets: a signed event cannot
        # override what ServiceNow or Jira says.
        from brokerproc import ticket
        for tid, owner in (("CHG0099001", "servicenow"), ("OPS-99", "jira")):
            body = json.dumps({"ticket": ticket(tid)}).encode()
            status, _, r = self.env.b.json(
                "POST", "/v1/tickets/events", body=body,
                headers={"Content-Type": "application/json",
                         "X-Jitbroker-Signature": sign_event(body, self.env.secret)})
            self.assertEqual((status, r["error"]), (409, "conflict"), r)
            self.assertIn(owner, r["error_description"])
            self.assertEqual(self.env.admin_json("GET", "/v1/tickets/" + tid)[0], 404)

    def test_approved_change_in_its_window_is_read_on_demand_and_allows_issuance(self):
        rec = self.sn.change("CHG0030001")
        before = len(self.sn.queries("change_request"))
        tok = self.token("CHG0030001")
        self.assertTrue(self.active(tok))
        self.assertEqual(len(self.sn.queries("change_request")), before + 1)
        # The admin view shows the normalised ticket and where it came from.
        status, _, t = self.env.admin_json("GET", "/v1/tickets/CHG0030001")
        self.assertEqual(status, 200)
        self.assertEqual(t["source"], {"system": "servicenow", "table": "change_request",
                                       "record_id": rec["sys_id"]})
        self.assertEqual(t["requested_by"], "alice@example.com")
        self.assertEqual(t["approved_by"], ["bob@example.com"])
        self.assertEqual(len(t["leases"]), 1)
        out = subprocess.run([os.environ.get("JITCTL_BIN", "jitctl"), "tickets", "show", "CHG0030001"],
                             capture_output=True, text=True, timeout=20,
                             env=dict(os.environ, JITBROKER_URL=self.env.url, JITBROKER_CA=self.env.b.ca_file,
                                      JITBROKER_ADMIN_TOKEN_FILE=os.path.join(self.env.b.data_dir, "admin.token")))
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("servicenow change_request " + rec["sys_id"], out.stdout)
        self.assertIn("leases: 1", out.stdout)

    def test_approval_still_requested_denies(self):
        self.sn.change("CHG0030002", approval="requested", state="-3")
        status, _, body = self.env.exchange("CHG0030002")
        self.assertEqual(status, 400, body)
        self.assertEqual(body["error"], "invalid_grant")

    def test_self_approval_row_denies(self):
        self.sn.change("CHG0030003", requester="alice", approvers=("alice",))
        status, _, body = self.env.exchange("CHG0030003")
        self.assertEqual(status, 400, body)
        self.assertIn("separation_of_duties", body["error_description"])

    def test_closed_or_canceled_with_a_trigger_revokes_within_a_second(self):
        for number, state in (("CHG0030004", "3"), ("CHG0030005", "4")):
            self.sn.change(number)
            toks = [self.token(number) for _ in range(3)]
            self.sn.set_state(number, state=state, close_code="successful")
            t0 = time.time()
            status, _, r = self.trigger(number)
            self.assertEqual(status, 200, r)
            self.assertEqual(r["revoked"], 3)
            self.assertTrue(self.env.wait_for(lambda: not any(self.active(t) for t in toks), 1.0))
            self.assertLess(time.time() - t0, 1.0 + 0.5)
            status, _, body = self.env.exchange(number)
            self.assertEqual(body.get("reason"), "ticket_closed", body)

    def test_the_business_rule_example_triggers_a_revocation(self):
        """examples/servicenow/business_rule.js, run by node with stand-ins for the Glide APIs:
        the request it builds (endpoint, signature, body) is sent to the broker as is."""
        self.sn.change("CHG0030013")
        tok = self.token("CHG0030013")
        self.sn.set_state("CHG0030013", state="3")
        harness = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "servicenow", "harness.js")
        out = subprocess.run(["node", harness], capture_output=True, text=True, timeout=30,
                             env=dict(os.environ, BROKER_URL=self.env.url, SECRET=SN_SECRET,
                                      NUMBER="CHG0030013"))
        self.assertEqual(out.returncode, 0, out.stderr)
        req = json.loads(out.stdout)
        self.assertTrue(req["executed"])
        self.assertEqual(req["endpoint"], self.env.url + "/v1/tickets/servicenow")
        status, _, r = self.env.b.json(req["method"], "/v1/tickets/servicenow", body=req["body"].encode(),
                                       headers=req["headers"])
        self.assertEqual(status, 200, r)
        self.assertEqual(r["revoked"], 1)
        self.assertFalse(self.active(tok))

    def test_trigger_needs_a_valid_signature_and_a_known_number(self):
        self.sn.change("CHG0030006")
        tok = self.token("CHG0030006")
        self.sn.set_state("CHG0030006", state="3")
        status, _, r = self.trigger("CHG0030006", secret="wrong")
        self.assertEqual(status, 401, r)
        self.assertTrue(self.active(tok))  # nothing changed
        body = b'{"number": "INC0000001"}'
        status, _, r = self.env.b.json("POST", "/v1/tickets/servicenow", body=body,
                                       headers={"Content-Type": "application/json",
                                                "X-Jitbroker-Signature": sign_event(body, SN_SECRET)})
        self.assertEqual(status, 400, r)
        self.assertEqual(self.trigger("CHG0030006")[0], 200)

    def test_closed_without_a_trigger_is_revoked_within_one_poll_interval(self):
        self.sn.change("CHG0030007")
        self.sn.change("CHG0030008")
        self.sn.change("CHG0030009")
        toks = {n: self.token(n) for n in ("CHG0030007", "CHG0030008", "CHG0030009")}
        self.sn.set_state("CHG0030007", state="3")
        self.sn.delete("CHG0030008")  # deleted in ServiceNow: access must not outlive it
        n0 = len(self.sn.queries("change_request"))
        t0 = time.time()
        self.assertTrue(self.env.wait_for(
            lambda: not self.active(toks["CHG0030007"]) and not self.active(toks["CHG0030008"]),
            POLL + 1.5), "not revoked within one poll interval")
        self.assertLess(time.time() - t0, POLL + 1.5)
        self.assertTrue(self.active(toks["CHG0030009"]))
        # Batched: a poll reads a page of tickets per query (page_size 2), not one per ticket.
        polls = [q for q in self.sn.queries("change_request")[n0:] if "," in q]
        self.assertTrue(polls, self.sn.queries("change_request")[n0:])
        status, _, metrics = self.env.b.request("GET", "/metrics")
        text = metrics.decode()
        self.assertIn('jitbroker_ticket_poll_last_success_timestamp_seconds{source="servicenow"}', text)
        self.assertIn('jitbroker_ticket_poll_tickets_checked_total{source="servicenow"}', text)

    def test_servicenow_down_fails_closed_with_503_and_resumes(self):
        self.sn.change("CHG0030010")
        self.sn.change("CHG0030011")
        tok = self.token("CHG0030011")
        self.sn.stop()
        try:
            status, hdrs, body = self.env.exchange("CHG0030010")
            self.assertEqual(status, 503, body)
            self.assertIn("servicenow", body["error_description"])
            self.assertNotIn("127.0.0.1", body["error_description"])  # internal URLs stay in the log
            self.assertIn("retry-after", hdrs)
            time.sleep(2.1)  # CHG0030011 is now stale too: it must be read again, so it fails closed
            status, _, body = self.env.exchange("CHG0030011")
            self.assertEqual(status, 503, body)
            self.assertEqual(self.env.b.request("GET", "/healthz")[0], 200)
            self.assertTrue(self.active(tok))  # existing leases keep their own TTLs
            # The cause is in the log, as JSON naming the component; the access log names the
            # 503's error code.
            lines = [json.loads(l) for l in self.env.b.stderr().splitlines() if l.startswith("{")]
            failed = [l for l in lines if l.get("event") == "ticket.lookup_failed"
                      and l.get("ticket") == "CHG0030010"]
            self.assertTrue(failed, self.env.b.stderr()[-2000:])
            self.assertEqual((failed[0]["level"], failed[0]["component"]), ("error", "servicenow"))
            self.assertIn("127.0.0.1", failed[0]["detail"])
            self.assertIn("temporarily_unavailable",
                          [l.get("error") for l in lines if l.get("route") == "/v1/token"])
        finally:
            self.sn.start()
        self.assertTrue(self.active(self.token("CHG0030010")))

    def test_display_values_are_never_parsed(self):
        # The stand-in renders dates in a user's format unless raw values are asked for; the
        # broker asks for raw values, so the window is right.
        self.sn.change("CHG0030012", start=-60, end=600)
        self.token("CHG0030012")
        status, _, t = self.env.admin_json("GET", "/v1/tickets/CHG0030012")
        end = calendar.timegm(time.strptime(t["window"]["end"], "%Y-%m-%dT%H:%M:%SZ"))
        self.assertAlmostEqual(end, time.time() + 600, delta=5)

    # -- Jira Service Management --------------------------------------------------------------
    def deliver(self, key, delivery_id, secret=JIRA_SECRET, body=None):
        body = body or self.jira.delivery(key)
        sig = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        return self.env.b.json("POST", "/v1/tickets/jira", body=body,
                               headers={"Content-Type": "application/json", "X-Hub-Signature": sig,
                                        "X-Atlassian-Webhook-Identifier": delivery_id,
                                        "X-Atlassian-Webhook-Flow": "Primary"})

    def test_jira_approved_issue_allows_and_pending_approval_denies(self):
        self.jira.issue("OPS-1")
        self.assertTrue(self.active(self.token("OPS-1")))
        self.jira.issue("OPS-2", decision="pending")
        status, _, body = self.env.exchange("OPS-2")
        self.assertEqual(status, 400, body)

    def test_jira_webhook_revokes_refuses_bad_signatures_and_ignores_replays(self):
        self.jira.issue("OPS-3")
        tok = self.token("OPS-3")
        self.jira.issue("OPS-3", status=("10001", "Done", "done"))
        status, _, r = self.deliver("OPS-3", "d-1", secret="wrong")
        self.assertEqual(status, 401, r)
        self.assertTrue(self.active(tok))
        body = self.jira.delivery("OPS-3")
        status, _, r = self.env.b.json("POST", "/v1/tickets/jira", body=body,
                                       headers={"Content-Type": "application/json",
                                                "X-Atlassian-Webhook-Identifier": "d-0"})
        self.assertEqual(status, 401, r)  # no signature at all
        status, _, r = self.deliver("OPS-3", "d-1")
        self.assertEqual(status, 200, r)
        self.assertEqual(r["revoked"], 1)
        self.assertFalse(self.active(tok))
        calls = len(self.jira.calls)
        status, _, r = self.deliver("OPS-3", "d-1")  # Jira's retry of the same delivery
        self.assertEqual(status, 202, r)
        self.assertEqual(r["reason"], "duplicate_delivery")
        self.assertEqual(len(self.jira.calls), calls)  # not even re-read

    def test_jira_declined_status_from_status_map(self):
        self.jira.issue("OPS-4")
        tok = self.token("OPS-4")
        self.jira.issue("OPS-4", status=("10500", "Declined", "done"))
        status, _, r = self.deliver("OPS-4", "d-4")
        self.assertEqual(status, 200, r)
        self.assertFalse(self.active(tok))
        status, _, t = self.env.admin_json("GET", "/v1/tickets/OPS-4")
        self.assertEqual(t["state"], "rejected")
        self.assertEqual(t["source"]["system"], "jira")


if __name__ == "__main__":
    unittest.main()
