"""Crash loop (issue 8): twenty rounds of load, kill -9 and restart. After every restart each
credential a client received is a lease the broker knows, nothing of a closed ticket or past
its TTL is still active, nothing still valid was lost, and the audit chain verifies."""
import json
import signal
import sys
import threading
import time
import unittest

from brokerproc import slurp
from exchange_env import ExchangeEnv
from reliability_env import (FORM, all_leases, audit_verify, cert_body, jti_of, rfc3339_to_epoch,
                             token_body)

ROUNDS = 20
LOAD_BEFORE_CLOSE = 0.35  # seconds of load on the round's ticket before it is closed
LOAD_AFTER_CLOSE = 0.25   # then load on the long ticket only, up to the kill
LIMITS = ("limits:\n  max_active_leases_per_subject: 100000\n"
          "  max_active_leases_per_ticket: 100000\n")


class Load:
    """A few client threads getting tokens and certificates until the broker dies under them.
    Every credential received is kept; so is anything unexpected that happened before the kill."""

    def __init__(self, env, caller, tickets):
        self.env, self.caller, self.tickets = env, caller, tickets
        self.received, self.errors, self.raced = [], [], 0
        self.killed = threading.Event()
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.run, args=(i,)) for i in range(3)]

    def start(self):
        for t in self.threads:
            t.start()

    def join(self):
        for t in self.threads:
            t.join(timeout=30)
            assert not t.is_alive(), "a load thread did not stop"

    def run(self, worker):
        env, n, conn = self.env, 0, None
        try:
            conn = env.b.conn(timeout=10)
            for n in range(5000):  # bounded; the kill ends it long before
                tid = self.tickets[n % len(self.tickets)]
                ttl = (None, 1, 2)[(n // len(self.tickets)) % 3]  # some leases end meanwhile
                if worker < 2:
                    status, _, data = env.b.request("POST", "/v1/token", conn=conn, headers=FORM,
                                                    body=token_body(tid, self.caller, ttl))
                else:
                    status, _, data = env.b.request(
                        "POST", "/v1/certificates", conn=conn, body=cert_body(tid, ttl),
                        headers={"Content-Type": "application/json",
                                 "Authorization": "Bearer " + self.caller})
                self.keep(tid, status, data)
        except Exception as e:  # the broker died under us: what we got is what counts
            if not self.killed.is_set():
                with self.lock:
                    self.errors.append("worker %d, request %d: %r" % (worker, n, e))
        finally:
            if conn:
                conn.close()

    def keep(self, tid, status, data):
        with self.lock:
            if status == 200:
                self.received.append({"id": json.loads(data)["lease_id"], "kind": "token",
                                      "jti": jti_of(json.loads(data)["access_token"])})
            elif status == 201:
                self.received.append({"id": json.loads(data)["lease_id"], "kind": "certificate",
                                      "serial": json.loads(data)["serial"]})
            elif status in (400, 403) and json.loads(data).get("reason") == "ticket_closed":
                pass  # the round's ticket was closed under the load
            elif status == 503 and tid != "LONG" and b"ticket changed while" in data:
                self.raced += 1  # judged before the close, recorded after it: revoked, not issued
            else:
                self.errors.append("ticket %s: HTTP %d %s" % (tid, status, data[:200]))


class CrashLoopTest(unittest.TestCase):
    def test_twenty_kill_9_rounds_under_load_lose_nothing_and_settle_everything(self):
        env = ExchangeEnv(limits=LIMITS)
        try:
            self.crash_loop(env)
        finally:
            env.close()

    def crash_loop(self, env):
        # A fixed port: public_url, and so every token's iss, must survive the restarts.
        cfg = slurp(env.b.cmd[-1]).replace('"127.0.0.1:0"', '"127.0.0.1:%d"' % env.b.port)
        with open(env.b.cmd[-1], "w") as f:
            f.write(cfg)
        env.b.stop()
        env.b.start()
        env.send_ticket("LONG")
        caller = env.idp.github()
        received, closed, raced = {}, set(), 0
        started = time.time()
        for n in range(ROUNDS):
            tid = "ROUND%02d" % n
            env.send_ticket(tid)
            load = Load(env, caller, [tid, "LONG"])
            load.start()
            time.sleep(LOAD_BEFORE_CLOSE)
            env.send_ticket(tid, state="closed")  # under load
            closed.add(tid)
            time.sleep(LOAD_AFTER_CLOSE)
            # Before the crash: an issuance racing the close must not have left an active lease.
            status, _, still = env.admin_json("GET", "/v1/leases?ticket=%s&state=active" % tid)
            self.assertEqual((status, still["leases"]), (200, []),
                             "round %d: leases of a closed ticket still active" % n)
            load.killed.set()
            env.b.proc.send_signal(signal.SIGKILL)
            env.b.proc.wait()
            load.join()
            self.assertEqual(load.errors, [], "round %d" % n)
            self.assertGreater(len(load.received), 0, "round %d: no load reached the broker" % n)
            for r in load.received:
                received[r["id"]] = r
            raced += load.raced

            env.b.stop()
            spawned = time.time()
            env.b.start()  # same config, data dir and port
            self.check(env, n, received, closed, spawned)
        self.assertLess(time.time() - started, 90, "the crash loop is too slow for CI")
        sys.stderr.write("crash loop: %d credentials over %d rounds in %.1f s; %d issuances "
                         "recorded after their ticket's close (503, lease revoked)\n"
                         % (len(received), ROUNDS, time.time() - started, raced))

        env.send_ticket("LONG", state="closed")
        leases = all_leases(env)
        self.assertEqual([l["id"] for l in leases.values() if l["state"] == "active"], [])
        self.assertEqual(audit_verify(env.b.data_dir).returncode, 0)

    def check(self, env, n, received, closed, spawned):
        leases = all_leases(env)
        lost = [r["id"] for r in received.values() if r["id"] not in leases]
        self.assertEqual(lost, [], "round %d: credentials the broker does not know" % n)
        for r in received.values():
            lease = leases[r["id"]]
            self.assertEqual(lease["kind"], r["kind"])
            key = "jti" if r["kind"] == "token" else "serial"
            self.assertEqual(lease[key], r[key], "round %d: lease %s" % (n, r["id"]))
        now = time.time()
        wrong = []
        for lease in leases.values():
            # Shown in whole seconds, cut down: the true end lies within the next second.
            expires = rfc3339_to_epoch(lease["expires_at"])
            if lease["ticket"] in closed or expires + 1 <= spawned:
                # Settled before the restarted broker served its first request.
                if lease["state"] == "active":
                    wrong.append("active after its end: %s" % lease)
            elif lease["ticket"] == "LONG" and expires > now + 1 and lease["state"] != "active":
                wrong.append("ended before its time: %s" % lease)
        self.assertEqual(wrong, [], "round %d" % n)
        verify = audit_verify(env.b.data_dir)
        self.assertEqual(verify.returncode, 0, "round %d: %s%s" % (n, verify.stdout, verify.stderr))


class RestartSignalTest(unittest.TestCase):
    def test_sigterm_straight_after_the_listening_line_drains_and_exits_0(self):
        # An orchestrator may stop a broker the moment it is up: the signal must not find the
        # default action (death by SIGTERM, or by SIGHUP for a reload) in that instant.
        env = ExchangeEnv()
        try:
            codes = []
            for sig in [signal.SIGTERM] * 8 + [signal.SIGHUP, signal.SIGTERM]:
                env.b.stop()
                env.b.start()
                env.b.signal(sig)
                if sig == signal.SIGHUP:  # a reload, then still serving
                    self.assertEqual(env.b.request("GET", "/healthz")[0], 200)
                    continue
                codes.append(env.b.wait(timeout=20))
            self.assertEqual(codes, [0] * 9)
        finally:
            env.close()


if __name__ == "__main__":
    unittest.main()
