"""The audit log in the PostgreSQL store (registered only as integration_pg.audit_store): the
real broker's issuance and ticket records land in its replica's chain, `jitctl audit verify
--config` checks every chain and names a tampered record, `jitctl audit export --config` writes
them as JSON lines, and /readyz says whether this replica leads."""
import json
import os
import subprocess
import unittest

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


if __name__ == "__main__":
    unittest.main()
