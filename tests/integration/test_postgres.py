"""`serve` and `check` with `store: {postgres: ...}`, against the server of the ctest fixture
`postgres` (registered only as integration_pg.postgres)."""
import os
import socket
import subprocess
import unittest

from brokerproc import BIN, Broker, drop_postgres_database, postgres_database, test_store_uri
from oidc import Issuer

DEFAULT_POLICIES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "policies", "default")


class PostgresStoreTest(unittest.TestCase):
    def setUp(self):
        self.server = test_store_uri()
        self.assertTrue(self.server, "no PostgreSQL: run through ctest -L integration_pg")
        self.b = Broker(config="placeholder")
        self.addCleanup(self.b.cleanup)
        self.db = postgres_database(self.server, os.path.join(self.b.tmp, "db"))
        self.addCleanup(drop_postgres_database, self.server, self.db)
        jwks = Issuer(self.b.tmp).jwks_path
        self.base = ('listen: "127.0.0.1:0"\npolicies_dir: "%s"\ntrust:\n'
                     '  - { issuer: "https://ci.example", jwks_file: "%s", audience: "jb" }\n'
                     % (DEFAULT_POLICIES, jwks))
        self.write(self.b.cmd[-1], self.b.data_dir, self.db)

    def write(self, path, data_dir, uri):
        with open(path, "w") as f:
            f.write(self.base + 'data_dir: "%s"\nstore: { postgres: "%s" }\n' % (data_dir, uri))

    def check(self, path, *extra):
        r = subprocess.run([BIN, "check"] + list(extra) + ["--config", path],
                           capture_output=True, text=True, timeout=60)
        return r.returncode, r.stdout + r.stderr

    def test_check_reports_the_schema_before_and_after_serve_migrates(self):
        rc, out = self.check(self.b.cmd[-1], "--offline")
        self.assertEqual(rc, 0, out)
        self.assertIn("'store.postgres': schema version 0", out)
        self.assertIn("serve would apply 0001_schema.sql", out)
        self.assertEqual(self.check(self.b.cmd[-1])[1].count("schema version 0"), 1,
                         "check migrated")
        self.b.start()
        self.assertFalse(os.path.exists(os.path.join(self.b.data_dir, "broker.db")))
        rc, out = self.check(self.b.cmd[-1], "--offline")
        self.assertEqual(rc, 0, out)
        self.assertIn("up to date", out)
        self.assertNotIn(self.db.split("@")[0], out)  # the role's password stays out of it

    def test_check_and_serve_refuse_an_unreachable_server(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            closed = s.getsockname()[1]
        self.write(self.b.cmd[-1], self.b.data_dir,
                   "postgresql://jb:s3cret@127.0.0.1:%d/jb?connect_timeout=2" % closed)
        rc, out = self.check(self.b.cmd[-1], "--offline")
        self.assertEqual(rc, 1, out)
        self.assertIn("'store.postgres': ", out)
        self.assertNotIn("s3cret", out)
        p = subprocess.run([BIN, "serve", "--config", self.b.cmd[-1]], capture_output=True,
                           text=True, timeout=60)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("store.postgres: ", p.stderr)
        self.assertNotIn("s3cret", p.stderr)

    def test_a_second_broker_on_the_same_database_is_refused(self):
        self.b.start()
        other = os.path.join(self.b.tmp, "other.yaml")
        self.write(other, os.path.join(self.b.tmp, "other-var"), self.db)
        p = subprocess.run([BIN, "serve", "--config", other], capture_output=True, text=True,
                           timeout=60)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("another jitbroker already serves this database", p.stderr)
        # The first still serves.
        status, _, _ = self.b.json("GET", "/readyz")
        self.assertEqual(status, 200)


if __name__ == "__main__":
    unittest.main()
