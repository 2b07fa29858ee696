"""The audit log in the PostgreSQL store (registered only as integration_pg.audit_store): the
real broker's issuance and ticket records land in its replica's chain, `jitctl audit verify
--config` checks every chain and names a tampered record, `jitctl audit export --config` writes
them as JSON lines, and /readyz says whether this replica leads. A ticket closed through a
replica named by store.replica_id has its leases' lease.revoked records in that chain, once
each, committed by the transaction that ended the leases."""
import json
import os
import subprocess
import time
import unittest

from brokerproc import postgres_database
from exchange_env import ExchangeEnv

JITCTL = os.environ.get("JITCTL_BIN", "jitctl")


def psql(uri, sql):
    return subprocess.run(["psql", "-X", "-q", "-At", "-d", uri, "-c", sql], capture_output=True,
                          text=True, timeout=30, check=True).stdout.strip()


class AuditStoreTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.env = ExchangeEnv()
        assert cls.env.b.pg_uri, "no PostgreSQL: run through ctest -L integration_pg"
        cls.config = cls.env.b.cmd[-1]
        cls.env.send_ticket("CHG-AUD", access=["deploy"])
        status, _, body = cls.env.exchange("CHG-AUD", audience="deploy-api", scope="deploy:read")
        assert status == 200, body
        cls.lease = body["lease_id"]
        cls.replica = open(os.path.join(cls.env.b.data_dir, "replica.id")).read().strip()

    @classmethod
    def tearDownClass(cls):
        cls.env.close()

    def jitctl(self, *args):
        r = subprocess.run([JITCTL, "audit"] + list(args) + ["--config", self.config],
                           capture_output=True, text=True, timeout=60)
        return r.returncode, r.stdout, r.stderr

    def test_the_issuance_is_in_the_store_in_its_replicas_chain_and_export_writes_it(self):
        rc, out, err = self.jitctl("export")
        self.assertEqual(rc, 0, err)
        records = [json.loads(line) for line in out.splitlines()]
        issued = [r for r in records if r["event"] == "lease.issued" and r.get("lease") == self.lease]
        self.assertEqual(len(issued), 1, out)
        self.assertEqual(issued[0]["replica"], self.replica)
        events = [r["event"] for r in records]
        self.assertIn("ticket.received", events)
        self.assertIn("decision.allowed", events)
        seqs = [r["seq"] for r in records if r["replica"] == self.replica]
        self.assertEqual(seqs, list(range(1, len(seqs) + 1)))
        # The lease and its records are one transaction's: the row holds both.
        self.assertEqual(psql(self.env.b.pg_uri, "SELECT count(*) FROM leases WHERE id = '%s'"
                              % self.lease), "1")

    def test_verify_passes_then_names_an_edited_record(self):
        rc, out, err = self.jitctl("verify")
        self.assertEqual(rc, 0, err)
        self.assertIn("replica %s: intact" % self.replica, out)
        rc, out, err = self.jitctl("verify", "--json")
        self.assertEqual(rc, 0, err)
        self.assertTrue(json.loads(out)["intact"])
        seq = psql(self.env.b.pg_uri, "SELECT seq FROM audit_records WHERE record LIKE "
                   "'%%\"event\":\"lease.issued\"%%' ORDER BY seq LIMIT 1")
        original = psql(self.env.b.pg_uri, "SELECT record FROM audit_records WHERE seq = %s" % seq)
        psql(self.env.b.pg_uri, "UPDATE audit_records SET record = replace(record, "
             "'\"grant\":\"deploy\"', '\"grant\":\"other\"') WHERE seq = %s" % seq)
        try:
            rc, out, err = self.jitctl("verify")
            self.assertEqual(rc, 1, out)
            self.assertIn("replica %s, record %s: hash does not match" % (self.replica, seq), err)
        finally:
            psql(self.env.b.pg_uri, "UPDATE audit_records SET record = $j$%s$j$ WHERE seq = %s"
                 % (original, seq))
        self.assertEqual(self.jitctl("verify")[0], 0)

    def test_readyz_says_this_lone_replica_leads(self):
        status, _, body = self.env.b.json("GET", "/readyz")
        self.assertEqual(status, 200, body)
        self.assertIs(body["leader"], True)

    def test_both_modes_are_one_command(self):
        rc, _, err = self.jitctl("verify", "--prev", "00")
        self.assertEqual(rc, 2, err)


class TicketCloseTest(unittest.TestCase):
    REPLICA = "replica-close"

    @classmethod
    def setUpClass(cls):
        def named_replica(env):
            b = env.b
            assert b.pg_server, "no PostgreSQL: run through ctest -L integration_pg"
            b.pg_uri = postgres_database(b.pg_server, b.data_dir)  # dropped by cleanup
            with open(b.cmd[-1], "a") as f:
                f.write('store: { postgres: "%s", replica_id: "%s" }\n' % (b.pg_uri, cls.REPLICA))
        cls.env = ExchangeEnv(before_start=named_replica)
        cls.config = cls.env.b.cmd[-1]

    @classmethod
    def tearDownClass(cls):
        cls.env.close()

    def export(self):
        r = subprocess.run([JITCTL, "audit", "export", "--config", self.config],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        return [json.loads(line) for line in r.stdout.splitlines()]

    def test_a_close_commits_each_leases_revocation_record_once_with_the_end(self):
        env = self.env
        env.send_ticket("CHG-CLOSE", access=["deploy"])
        leases = []
        for _ in range(3):
            status, _, body = env.exchange("CHG-CLOSE", audience="deploy-api", scope="deploy:read")
            self.assertEqual(status, 200, body)
            leases.append(body["lease_id"])
        env.send_ticket("CHG-CLOSE", access=["deploy"], state="closed")
        uri = env.b.pg_uri
        self.assertEqual(psql(uri, "SELECT count(*) FROM lease_rows WHERE ticket = 'CHG-CLOSE' "
                              "AND state = 2 AND reason = 'ticket_closed'"), "3")

        records = self.export()
        revoked = [r for r in records if r["event"] == "lease.revoked"
                   and set(r.get("leases", [])) & set(leases)]
        named = [lease for r in revoked for lease in r["leases"]]
        self.assertEqual(sorted(named), sorted(leases), revoked)  # each once: no duplicate
        for r in revoked:
            self.assertEqual(r["replica"], self.REPLICA)
            self.assertEqual(r["reason"], "ticket_closed")
            self.assertEqual(r["ticket"], "CHG-CLOSE")
        closes = [r for r in records if r["event"] == "ticket.received"
                  and r["ticket"] == "CHG-CLOSE" and r["state"] == "closed"]
        self.assertEqual(len(closes), 1, records)

        # One transaction wrote the ticket's close, the leases' ends and both records.
        xmin = psql(uri, "SELECT DISTINCT e.xmin::text FROM lease_ends e JOIN leases l "
                    "ON l.id = e.id WHERE l.ticket = 'CHG-CLOSE'")
        self.assertEqual(len(xmin.split()), 1, xmin)
        record_xmins = psql(uri, "SELECT DISTINCT xmin::text FROM audit_records WHERE "
                            "replica_id = '%s' AND seq IN (%s)" % (
                                self.REPLICA, ",".join(str(r["seq"]) for r in revoked + closes)))
        self.assertEqual(record_xmins, xmin)

        r = subprocess.run([JITCTL, "audit", "verify", "--config", self.config],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("replica %s: intact" % self.REPLICA, r.stdout)

        # The replica's file copy (its admin views) holds each record once too.
        path = os.path.join(env.b.data_dir, "audit.log")
        deadline = time.time() + 5
        while True:
            with open(path) as f:
                copy = [json.loads(line) for line in f if '"lease.revoked"' in line]
            copied = [lease for c in copy for lease in c.get("leases", []) if lease in leases]
            if len(copied) >= len(leases) or time.time() > deadline:
                break
            time.sleep(0.05)
        self.assertEqual(sorted(copied), sorted(leases))


if __name__ == "__main__":
    unittest.main()
