"""A flood of lookups for made-up ServiceNow tickets from a trusted caller must not delay
revocation or the CRL: a closed change's leases are inactive within a second of its trigger,
and GET /v1/ca/crl stays fast, while the flood is answered with 503s and unknown-ticket
denials. The flood runs in its own process so that its threads do not share this process's
interpreter lock with the measurements."""
import json
import multiprocessing
import os
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
import unittest
from urllib.parse import urlencode

from brokerproc import sign_event
from exchange_env import JWT_TYPE, TOKEN_EXCHANGE, ExchangeEnv
from itsm_standins import ServiceNow

SN_SECRET = "sn-trigger-secret-0123456789ab"
RATE = 300          # lookups per second, all threads together
DURATION = 10.0     # seconds
THREADS = 100       # keep-alive connections; enough that a broker that blocks them still sees many
CLOSE_AFTER = 3.0   # seconds into the flood


def flood(port, ca_file, token, rate, duration, threads, out):
    """Child process: `threads` keep-alive connections sending POST /v1/token for random
    CHG numbers, paced to `rate` in all; puts {status: count} and the requests sent on `out`."""
    import http.client
    import ssl
    ctx = ssl.create_default_context(cafile=ca_file)
    counts, lock, sample = {}, threading.Lock(), {}
    start = time.time() + 0.5

    def worker(k):
        conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=60)
        rnd = random.Random(k)
        i = 0
        while True:
            due = start + (i * threads + k) / rate
            if due >= start + duration:
                break
            delay = due - time.time()
            if delay > 0:
                time.sleep(delay)
            body = urlencode({"grant_type": TOKEN_EXCHANGE, "subject_token_type": JWT_TYPE,
                              "subject_token": token,
                              "ticket": "CHG%07d" % rnd.randrange(1000000, 9999999)})
            try:
                conn.request("POST", "/v1/token", body=body,
                             headers={"Content-Type": "application/x-www-form-urlencoded"})
                r = conn.getresponse()
                data = r.read()
                status = r.status
                if status == 503 and not sample:
                    sample.update(body=data.decode(), retry_after=r.getheader("Retry-After"))
            except Exception:  # noqa: BLE001 - a dropped connection counts, then reconnects
                status = "error"
                conn.close()
                conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=60)
            with lock:
                counts[status] = counts.get(status, 0) + 1
            i += 1

    ts = [threading.Thread(target=worker, args=(k,), daemon=True) for k in range(threads)]
    for t in ts:
        t.start()
    for t in ts:  # a broker that holds requests gets 15 s more to answer them, no longer
        t.join(max(0.0, start + duration + 15 - time.time()))
    with lock:
        counts["unanswered"] = sum(t.is_alive() for t in ts)
        out.put({"counts": dict(counts), "elapsed": min(time.time() - start, duration),
                 "sample_503": dict(sample)})


class LookupFloodTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="jitb-flood-")
        os.makedirs(os.path.join(cls.dir, "sn"))
        cls.sn = ServiceNow(os.path.join(cls.dir, "sn"))
        p = lambda n: os.path.join(cls.dir, n)
        for name, value in {"sn.password": ServiceNow.PASSWORD, "sn.secret": SN_SECRET}.items():
            with open(p(name), "w") as f:
                f.write(value + "\n")
        # The default request budget (10/s): the one a real instance would be given. Polls are
        # an hour apart so that only the trigger can revoke within the test.
        tickets = """tickets:
  servicenow:
    base_url: "%s"
    user: "%s"
    password_file: "%s"
    ca_file: "%s"
    notify_secret_file: "%s"
    poll_interval: "1h"
""" % (cls.sn.url, ServiceNow.USER, p("sn.password"), cls.sn.cert, p("sn.secret"))
        cls.env = ExchangeEnv(limits=tickets)

    @classmethod
    def tearDownClass(cls):
        cls.env.close()
        cls.sn.stop()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def test_unknown_ticket_flood_delays_neither_revocation_nor_the_crl(self):
        env = self.env
        self.sn.change("CHG0050001")
        tokens = []
        for _ in range(3):
            status, _, body = env.exchange("CHG0050001")
            self.assertEqual(status, 200, body)
            tokens.append(body["access_token"])
        # A trusted caller that is no subject of any ticket.
        mallory = env.idp.token(sub="repo:mallory/tools:environment:dev")

        queries_before = len(self.sn.queries("change_request"))
        results = multiprocessing.get_context("spawn").Queue()
        child = multiprocessing.get_context("spawn").Process(
            target=flood, args=(env.b.port, env.b.ca_file, mallory, RATE, DURATION, THREADS, results))
        child.start()
        crl_times, stop = [], threading.Event()

        def probe_crl():
            conn = env.b.conn(timeout=120)
            while not stop.is_set():
                t = time.perf_counter()
                status, _, _ = env.b.request("GET", "/v1/ca/crl", conn=conn)
                crl_times.append(time.perf_counter() - t if status == 200 else float("inf"))
                time.sleep(0.02)
            conn.close()

        prober = threading.Thread(target=probe_crl)
        time.sleep(0.5 + 1.0)  # the flood starts 0.5 s after the child; let it run a second
        prober.start()
        try:
            time.sleep(CLOSE_AFTER - 1.0)
            self.sn.set_state("CHG0050001", state="3", close_code="successful")
            body = json.dumps({"table": "change_request", "number": "CHG0050001",
                               "sys_id": "ignored", "state": "3"}).encode()
            conn = env.b.conn(timeout=120)  # patient: a starved broker's figures are reported too
            t0 = time.time()
            status, _, r = env.b.request("POST", "/v1/tickets/servicenow", body=body, conn=conn,
                                         headers={"Content-Type": "application/json",
                                                  "X-Jitbroker-Signature": sign_event(body, SN_SECRET)})
            trigger_answered = time.time() - t0
            self.assertEqual(status, 200, r)
            conn.close()
            conn = env.b.conn(timeout=120)
            pending = list(tokens)
            while pending and time.time() - t0 < 30:
                pending = [t for t in pending if json.loads(env.b.request(
                    "POST", "/v1/introspect", body=urlencode({"token": t}),
                    headers={"Content-Type": "application/x-www-form-urlencoded",
                             "Authorization": "Bearer " + env.admin}, conn=conn)[2])["active"]]
            inactive_after = time.time() - t0
            conn.close()
            child.join(DURATION + 30)
        finally:
            stop.set()
            prober.join()
            if child.is_alive():
                child.terminate()
        flooded = results.get(timeout=10)
        unanswered = flooded["counts"].pop("unanswered")
        sent = sum(flooded["counts"].values())
        reached = len(self.sn.queries("change_request")) - queries_before - 1  # less the trigger's
        metrics = env.b.request("GET", "/metrics")[2].decode()
        refused = {line.split("{")[1].split("}")[0]: line.split()[-1]
                   for line in metrics.splitlines() if line.startswith("jitbroker_lookups_refused_total{")}
        crl = sorted(crl_times)
        p50 = statistics.median(crl)
        p99 = crl[min(len(crl) - 1, int(len(crl) * 0.99))]
        figures = ("close-to-inactive %.3f s (trigger answered in %.3f s); CRL p50 %.1f ms p99 %.1f ms "
                   "over %d probes; flood %d requests in %.1f s = %.0f/s, by status %s, %d unanswered at the end; refused before the lookup: %s; change_request queries %d"
                   % (inactive_after, trigger_answered, p50 * 1000, p99 * 1000, len(crl), sent,
                      flooded["elapsed"], sent / flooded["elapsed"], flooded["counts"], unanswered, refused, reached))
        print("\n" + figures, file=sys.stderr)
        self.assertFalse(pending, "leases still active: " + figures)
        self.assertLess(inactive_after, 1.0, figures)
        self.assertLess(p99, 0.100, figures)
        # The flood really was one, and was turned away rather than served from a queue.
        self.assertGreater(sent / flooded["elapsed"], 0.8 * RATE, figures)
        self.assertGreater(flooded["counts"].get(503, 0), sent // 2, figures)
        self.assertEqual(flooded["counts"].get("error", 0), 0, figures)
        self.assertEqual(unanswered, 0, figures)
        # One caller reaches ServiceNow at most at its own rate (2/s, a bucket of 10).
        self.assertLessEqual(reached, 10 + 2 * (DURATION + 1), figures)
        busy = json.loads(flooded["sample_503"]["body"])
        self.assertEqual(busy["error"], "temporarily_unavailable", busy)
        self.assertTrue(busy["error_description"], busy)
        self.assertEqual(flooded["sample_503"]["retry_after"], "1")
        # Repeating an unknown number is answered from the negative cache, not ServiceNow.
        time.sleep(1.0)  # the lookups' share of the budget refills
        status, _, body = env.exchange("CHG0059999", subject_token=mallory)
        self.assertEqual(status, 400, body)
        before = len(self.sn.queries("change_request"))
        status, _, body = env.exchange("CHG0059999", subject_token=mallory)
        self.assertEqual(status, 400, body)
        self.assertIn("not known", body["error_description"])
        self.assertEqual(len(self.sn.queries("change_request")), before)


if __name__ == "__main__":
    unittest.main()
