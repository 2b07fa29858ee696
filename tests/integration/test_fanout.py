"""Two real brokers (replicas) on one real PostgreSQL server of the test's own: a ticket closed
through replica A is inactive at replica B's introspection, OCSP and CRL within 1 s (the
revocation fan-out), and B fails closed while PostgreSQL is stopped and recovers by itself
when it starts again. A and B share the store's keys under one KEK."""
import os
import re
import shlex
import shutil
import subprocess
import tempfile
import time
import unittest
from urllib.parse import urlencode

from exchange_env import ExchangeEnv, free_port

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
PG = os.path.join(ROOT, "scripts", "pg")


def run(*cmd, **kw):
    return subprocess.run(list(cmd), capture_output=True, text=True, timeout=60, **kw)


class PgServer:
    """scripts/pg's server, stopped and started again in place (scripts/pg stop would remove
    its data): pg_ctl on its folder, as the user that owns it."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="jitb-fanout-pg-")
        r = run(PG, "start", self.dir)
        if r.returncode != 0:
            raise RuntimeError("scripts/pg start: " + r.stderr)
        self.uri = r.stdout.strip().splitlines()[-1]
        self.data = os.path.join(read(os.path.join(self.dir, "tmp")).strip(), "data")
        self.bindir = next(d for d in ["/usr/lib/postgresql/15/bin"] +
                           sorted(__import__("glob").glob("/usr/lib/postgresql/*/bin"))
                           if os.path.exists(os.path.join(d, "pg_ctl")))
        with open(os.path.join(self.data, "postmaster.opts")) as f:
            # The options it was started with (port, socket folder, fsync), to start it alike.
            words = shlex.split(f.read())[1:]
        i = words.index("-D")
        self.opts = words[:i] + words[i + 2:]

    def pg_ctl(self, *args):
        cmd = [os.path.join(self.bindir, "pg_ctl"), "-D", self.data] + list(args)
        if os.getuid() == 0:
            cmd = ["runuser", "-u", "jitb-pg", "--"] + cmd
        r = run(*cmd)
        if r.returncode != 0:
            raise RuntimeError("pg_ctl %s: %s %s" % (args, r.stdout, r.stderr))

    def stop(self):
        self.pg_ctl("-m", "fast", "-w", "stop")

    def start(self):
        self.pg_ctl("-w", "-l", os.path.join(os.path.dirname(self.data), "server.log"),
                    "-o", " ".join(shlex.quote(w) for w in self.opts), "start")

    def psql(self, sql):
        r = run("psql", "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-d", self.uri, "-c", sql)
        if r.returncode != 0:
            raise RuntimeError(r.stderr)
        return r.stdout.strip()

    def close(self):
        run(PG, "stop", self.dir)


def read(path, mode="r"):
    with open(path, mode) as f:
        return f.read()


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def within(predicate, timeout, step=0.02):
    """Seconds until predicate() held, or None after `timeout`."""
    start = time.time()
    while time.time() - start < timeout:
        if predicate():
            return time.time() - start
        time.sleep(step)
    return None


class FanoutTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pg = PgServer()
        try:
            # Replicas share the store's keys under one KEK.
            kek = os.path.join(tempfile.mkdtemp(prefix="jitb-fanout-kek-"), "kek")
            fd = os.open(kek, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            os.write(fd, os.urandom(32))
            os.close(fd)
            keys = 'keys: { kek_file: "%s" }\n' % kek
            cls.a = ExchangeEnv(store_uri=cls.pg.uri, limits=keys)
            cls.b = ExchangeEnv(store_uri=cls.pg.uri,
                                limits=keys + 'public_url: "%s"\n' % cls.a.url,
                                before_start=cls.copy_secrets)
        except Exception:
            cls.tearDownClass()
            raise
        cls.d = cls.a.b.tmp
        cls.intermediate, cls.root = cls.a.b.write_ca_files(cls.d)

    @classmethod
    def copy_secrets(cls, env):
        # The keys come from the store; the admin token and webhook secret stay per data_dir.
        src, dst = cls.a.b.data_dir, env.b.data_dir
        os.makedirs(dst, exist_ok=True)
        for name in ("admin.token", "webhook.secret"):
            shutil.copy2(os.path.join(src, name), os.path.join(dst, name))

    @classmethod
    def tearDownClass(cls):
        for env in (getattr(cls, "b", None), getattr(cls, "a", None)):
            if env:
                env.close()
        cls.pg.close()

    # --- helpers -------------------------------------------------------------------------
    def issue_cert(self, name, ticket):
        status, _, body = self.a.certificate(ticket, self.d, name)
        self.assertEqual(status, 201, body)
        with open(os.path.join(self.d, name + ".pem"), "w") as f:
            f.write(body["certificate"])
        return body

    def ocsp_at(self, env, name):
        """(HTTP status, openssl's reading of the response) from `env`'s responder."""
        req = os.path.join(self.d, name + ".ocspreq")
        run("openssl", "ocsp", "-issuer", self.intermediate, "-cert",
            os.path.join(self.d, name + ".pem"), "-no_nonce", "-reqout", req)
        status, _, body = env.b.request("POST", "/v1/ocsp", body=read(req, "rb"),
                                        headers={"Content-Type": "application/ocsp-request"})
        resp = os.path.join(self.d, name + ".ocspresp")
        write(resp, body)
        r = run("openssl", "ocsp", "-respin", resp, "-issuer", self.intermediate, "-cert",
                os.path.join(self.d, name + ".pem"), "-CAfile", self.root, "-no_nonce")
        return status, r.stdout + r.stderr

    def crl_serials_at(self, env):
        status, _, body = env.b.request("GET", "/v1/ca/crl.pem")
        self.assertEqual(status, 200)
        path = os.path.join(self.d, "crl-%d.pem" % env.b.port)
        write(path, body)
        r = run("openssl", "crl", "-in", path, "-noout", "-text", "-CAfile", self.intermediate)
        self.assertIn("verify OK", r.stdout + r.stderr)  # signed by the shared CA
        return set(re.findall(r"Serial Number: ([0-9A-F]+)", r.stdout))

    def introspect_at(self, env, token):
        return env.b.json("POST", "/v1/introspect", body=urlencode({"token": token}),
                          headers={"Content-Type": "application/x-www-form-urlencoded",
                                   "Authorization": "Bearer " + env.admin})

    def metric(self, env, name):
        _, _, body = env.b.request("GET", "/metrics")
        out = {}
        for line in body.decode().splitlines():
            if line.startswith(name):
                k, v = line.rsplit(" ", 1)
                out[k] = float(v)
        return out

    # --- tests ---------------------------------------------------------------------------
    def test_1_a_ticket_closed_through_one_replica_is_inactive_at_the_other_within_a_second(self):
        self.a.send_ticket("CHG-FAN", kind="standard")
        cert = self.issue_cert("fan", "CHG-FAN")
        serial = cert["serial"].upper()
        serial = serial if len(serial) % 2 == 0 else "0" + serial
        status, _, tok = self.a.exchange("CHG-FAN", audience="deploy-api")
        self.assertEqual(status, 200, tok)
        token = tok["access_token"]
        # B knows A's lease, with the same keys; its CRL is built now, without the serial.
        status, _, r = self.introspect_at(self.b, token)
        self.assertEqual((status, r.get("active")), (200, True), r)
        status, text = self.ocsp_at(self.b, "fan")
        self.assertIn(": good", text)
        self.assertNotIn(serial, self.crl_serials_at(self.b))

        self.a.send_ticket("CHG-FAN", kind="standard", state="closed")
        closed = time.time()
        crl = within(lambda: serial in self.crl_serials_at(self.b), 3)
        seen = {"crl": crl}
        seen["ocsp"] = within(lambda: ": revoked" in self.ocsp_at(self.b, "fan")[1], 3)
        seen["introspection"] = within(
            lambda: self.introspect_at(self.b, token)[2].get("active") is False, 3)
        total = time.time() - closed
        print("\nB after A closed the ticket: %s (all three within %.3f s)"
              % (", ".join("%s %s" % (k, "never" if v is None else "%.3f s" % v)
                           for k, v in seen.items()), total))
        self.assertIsNotNone(crl, "B's CRL never listed the serial A revoked")
        self.assertLess(total, 1.0, seen)

    def test_2_fan_out_lag_of_a_thousand_leases_ended_one_by_one(self):
        before = self.metric(self.b, "jitbroker_revocation_fanout_lag_seconds")
        n0 = before.get("jitbroker_revocation_fanout_lag_seconds_count", 0)
        # 1,000 active leases, ended by 1,000 statements as separate revocations would be (each
        # its own transaction, its trigger and its NOTIFY), about 5 ms apart. Each statement
        # has the store's shape (pg_rows.h, PG_END_LEASES): the lease leaves lease_active, whose
        # DELETE appends the event, and its end is written.
        self.pg.psql(
            "INSERT INTO leases (id, kind, ticket, grant_name, subject, state, issued_at, "
            "expires_at) SELECT 'lag-' || i, 0, 'CHG-LAG', 'deploy', 'lag-s', 0, 1, "
            "9999999999999 FROM generate_series(1, 1000) i; "
            "INSERT INTO lease_active (id, ticket, subject, expires_at, kind) "
            "SELECT id, ticket, subject, expires_at, kind FROM leases WHERE ticket = 'CHG-LAG'")
        script = "".join(
            "WITH gone AS (DELETE FROM lease_active WHERE id = 'lag-%d' RETURNING id) "
            "INSERT INTO lease_ends (id, state, ended_at, reason) SELECT id, 2, "
            "(extract(epoch FROM clock_timestamp()) * 1000)::bigint, 'admin' FROM gone;"
            "SELECT pg_sleep(0.005);\n" % i for i in range(1, 1001))
        r = subprocess.run(["psql", "-X", "-q", "-d", self.pg.uri], input=script,
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIsNotNone(within(lambda: self.metric(self.b, "jitbroker_revocation_fanout_lag_seconds").get(
            "jitbroker_revocation_fanout_lag_seconds_count", 0) >= n0 + 1000, 10))
        after = self.metric(self.b, "jitbroker_revocation_fanout_lag_seconds")
        buckets = []
        for k, v in after.items():
            m = re.search(r'le="([^"]+)"', k)
            if m:
                old = before.get(k, 0)
                buckets.append((float(m.group(1)), v - old))
        buckets.sort()
        count = after["jitbroker_revocation_fanout_lag_seconds_count"] - n0
        mean = (after["jitbroker_revocation_fanout_lag_seconds_sum"] -
                before.get("jitbroker_revocation_fanout_lag_seconds_sum", 0)) / count

        def quantile(q):
            return next(le for le, c in buckets if c >= q * count)
        print("\nfan-out lag of %d ends at B: mean %.3f s, p50 <= %s s, p99 <= %s s, max <= %s s"
              % (count, mean, quantile(0.5), quantile(0.99), quantile(1.0)))
        self.assertLessEqual(quantile(0.99), 1.0)

    def test_3_a_replica_that_cannot_reach_the_store_fails_closed_and_recovers(self):
        self.a.send_ticket("CHG-FC", kind="standard")
        self.issue_cert("fc", "CHG-FC")
        status, _, tok = self.a.exchange("CHG-FC", audience="deploy-api")
        self.assertEqual(status, 200, tok)
        self.assertEqual(self.b.b.json("GET", "/readyz")[0], 200)
        self.pg.stop()
        try:
            # The failed reads say so at once ("store"); the health tracker after 1 s without
            # any answer ("store_reachable"), which is what also holds when the store hangs.
            t = within(lambda: "store_reachable" in
                       (self.b.b.json("GET", "/readyz")[2].get("failing") or []), 3)
            self.assertIsNotNone(t, "B never took its store for out of reach")
            print("\nB's /readyz names store_reachable %.3f s after PostgreSQL stopped" % t)
            self.assertLess(t, 1.5)
            self.assertEqual(self.b.b.json("GET", "/readyz")[0], 503)
            status, _, r = self.introspect_at(self.b, tok["access_token"])
            self.assertEqual((status, r.get("error")), (503, "temporarily_unavailable"), r)
            status, _, r = self.b.exchange("CHG-FC", audience="deploy-api")
            self.assertEqual((status, r.get("error")), (503, "temporarily_unavailable"), r)
            status, text = self.ocsp_at(self.b, "fc")
            self.assertEqual(status, 200)
            self.assertIn("trylater", text.lower())
        finally:
            self.pg.start()
        back = within(lambda: self.b.b.json("GET", "/readyz")[0] == 200, 10)
        self.assertIsNotNone(back, "B did not recover by itself")
        print("B ready again %.3f s after PostgreSQL started" % back)
        status, _, r = self.introspect_at(self.b, tok["access_token"])
        self.assertEqual((status, r.get("active")), (200, True), r)
        status, text = self.ocsp_at(self.b, "fc")
        self.assertIn(": good", text)
        status, _, r = self.b.exchange("CHG-FC", audience="deploy-api")
        self.assertEqual(status, 200, r)


if __name__ == "__main__":
    unittest.main()
