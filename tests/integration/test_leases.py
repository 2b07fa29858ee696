"""Leases (docs/api.md#leases-admin): a closed ticket revokes a thousand credentials at once, a window
end settles leases with no event, and a kill -9 loses nothing a client received."""
import json
import os
import signal
import subprocess
import threading
import time
import unittest
from urllib.parse import urlencode

from brokerproc import slurp, verify_audit_chain
from exchange_env import JWT_TYPE, TOKEN_EXCHANGE, ExchangeEnv


def token_form(env, tid, caller):
    return urlencode({"grant_type": TOKEN_EXCHANGE, "subject_token_type": JWT_TYPE,
                      "subject_token": caller, "ticket": tid})


class LeasesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.env = ExchangeEnv(limits="limits:\n  max_active_leases_per_subject: 5000\n")

    @classmethod
    def tearDownClass(cls):
        cls.env.close()

    def test_closing_a_ticket_with_1000_leases_revokes_them_all_within_a_second(self):
        env = self.env
        env.send_ticket("BULK", access=["deploy"])
        caller = env.idp.github()
        conn = env.b.conn(timeout=30)
        tokens, serials, certs = [], [], []
        for _ in range(900):
            status, _, data = env.b.request("POST", "/v1/token", body=token_form(env, "BULK", caller),
                                            headers={"Content-Type": "application/x-www-form-urlencoded"},
                                            conn=conn)
            self.assertEqual(status, 200, data)
            tokens.append(json.loads(data)["access_token"])
        for _ in range(100):
            status, _, data = env.b.request(
                "POST", "/v1/certificates",
                body=json.dumps({"ticket": "BULK", "grant": "deploy", "key_type": "server"}),
                headers={"Content-Type": "application/json", "Authorization": "Bearer " + caller},
                conn=conn)
            self.assertEqual(status, 201, data)
            serials.append(json.loads(data)["serial"])
            certs.append(json.loads(data)["certificate"])
        conn.close()
        active = env.admin_json("GET", "/v1/leases?ticket=BULK&state=active&limit=1000")[2]
        self.assertEqual(len(active["leases"]), 1000)
        metrics = env.b.request("GET", "/metrics")[2].decode()
        self.assertIn('jitbroker_leases_active{kind="certificate"} 100', metrics)
        self.assertIn('jitbroker_leases_active{kind="token"} 900', metrics)

        t0 = time.time()
        r = env.send_ticket("BULK", access=["deploy"], state="closed")
        elapsed = time.time() - t0
        self.assertEqual(r["revoked"], 1000)
        self.assertLess(elapsed, 1.0, "closing took %.3f s" % elapsed)
        status, _, crl = env.b.request("GET", "/v1/ca/crl")
        self.assertLess(time.time() - t0, 1.5)
        path = os.path.join(env.b.tmp, "bulk.crl")
        with open(path, "wb") as f:
            f.write(crl)
        text = subprocess.run(["openssl", "crl", "-inform", "DER", "-in", path, "-noout", "-text"],
                              capture_output=True, text=True).stdout.upper()
        even = lambda s: s if len(s) % 2 == 0 else "0" + s  # openssl prints whole octets
        missing = [s for s in serials if "SERIAL NUMBER: " + even(s).upper() not in text]
        self.assertEqual(missing, [])
        for info in env.introspect_many(tokens[::30]):
            self.assertEqual(info, {"active": False})
        # OCSP agrees, certificate by certificate (a sample, through the real responder).
        chain = env.b.request("GET", "/v1/ca/chain.pem")[2].decode()
        issuer = os.path.join(env.b.tmp, "issuer.pem")
        with open(issuer, "w") as f:
            f.write(chain.split("-----END CERTIFICATE-----\n")[0] + "-----END CERTIFICATE-----\n")
        for i, pem in enumerate(certs[::20]):
            leaf, req = os.path.join(env.b.tmp, "b%d.pem" % i), os.path.join(env.b.tmp, "b%d.req" % i)
            with open(leaf, "w") as f:
                f.write(pem)
            subprocess.run(["openssl", "ocsp", "-issuer", issuer, "-cert", leaf, "-no_nonce",
                            "-reqout", req], check=True, capture_output=True)
            with open(req, "rb") as f:
                status, _, resp = env.b.request("POST", "/v1/ocsp", body=f.read(),
                                                headers={"Content-Type": "application/ocsp-request"})
            with open(req + ".resp", "wb") as f:
                f.write(resp)
            out = subprocess.run(["openssl", "ocsp", "-respin", req + ".resp", "-issuer", issuer,
                                  "-cert", leaf, "-noverify", "-no_nonce"],
                                 capture_output=True, text=True).stdout
            self.assertIn(": revoked", out)
        revoked = env.admin_json("GET", "/v1/leases?ticket=BULK&state=revoked&limit=1000")[2]
        self.assertEqual(len(revoked["leases"]), 1000)
        self.assertTrue(all(l["reason"] == "ticket_closed" for l in revoked["leases"]))

    def test_a_window_that_ends_settles_its_leases_with_no_event(self):
        env = self.env
        now = time.time()
        iso = lambda t: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))
        env.send_ticket("WIN", window={"start": iso(now - 60), "end": iso(now + 3)})
        status, _, r = env.exchange("WIN")
        self.assertEqual(status, 200, r)
        self.assertLessEqual(r["expires_in"], 3)
        self.assertTrue(env.introspect(r["access_token"])[2]["active"])
        end = int(now) + 3
        time.sleep(max(0, end - time.time()))
        ok = env.wait_for(lambda: env.admin_json("GET", "/v1/leases/" + r["lease_id"])[2]["state"]
                          != "active", timeout=1.5)
        self.assertTrue(ok, "the lease outlived its ticket's window by more than a second")
        self.assertEqual(env.introspect(r["access_token"])[2], {"active": False})
        status, _, body = env.exchange("WIN")
        self.assertEqual(body.get("reason"), "ticket_closed")


class CrashTest(unittest.TestCase):
    def test_kill_9_under_load_loses_no_issued_token(self):
        env = ExchangeEnv(limits="limits:\n  max_active_leases_per_subject: 100000\n")
        try:
            # A fixed port: public_url, and so every token's iss, must survive the restarts.
            cfg = slurp(env.b.cmd[-1]).replace('"127.0.0.1:0"', '"127.0.0.1:%d"' % env.b.port)
            with open(env.b.cmd[-1], "w") as f:
                f.write(cfg)
            env.send_ticket("CRASH", access=["deploy"])
            caller = env.idp.github()
            received = []
            for round_no in range(3):
                stop = threading.Event()
                lock = threading.Lock()

                def worker():
                    while not stop.is_set():
                        try:
                            c = env.b.conn(timeout=5)
                            for _ in range(50):
                                status, _, data = env.b.request(
                                    "POST", "/v1/token", body=token_form(env, "CRASH", caller),
                                    headers={"Content-Type": "application/x-www-form-urlencoded"},
                                    conn=c)
                                if status == 200:
                                    with lock:
                                        received.append(json.loads(data)["access_token"])
                            c.close()
                        except Exception:
                            return  # the broker died under us: what we got is what counts

                threads = [threading.Thread(target=worker) for _ in range(4)]
                for t in threads:
                    t.start()
                time.sleep(0.8)
                env.b.proc.send_signal(signal.SIGKILL)
                env.b.proc.wait()
                stop.set()
                for t in threads:
                    t.join()
                env.b.stop()
                env.b.start()  # same config, same data dir, same port
                self.assertGreater(len(received), 0)
                lost = [i for i, info in enumerate(env.introspect_many(received)) if not info["active"]]
                self.assertEqual(lost, [], "round %d lost tokens" % round_no)
            ok, lines, bad = verify_audit_chain(os.path.join(env.b.data_dir, "audit.log"))
            self.assertTrue(ok, "audit log broken at line %d" % bad)
            env.send_ticket("CRASH", access=["deploy"], state="closed")
            for info in env.introspect_many(received[::10]):
                self.assertEqual(info, {"active": False})
        finally:
            env.close()


if __name__ == "__main__":
    unittest.main()
