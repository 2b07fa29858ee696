"""A single broker that turns on keys.kek_file keeps its keys: the real binary runs without a
KEK (keys in data_dir), issues a token and a certificate and rotates its signing key, and is
restarted on the same data_dir with a KEK. Its CA chain, SSH CA and JWKS kids are the ones it
had, the old token is still active and verifies, the old certificate verifies against the
served chain with openssl; a second broker with the same KEK and store but an empty data_dir
serves the same keys. A broker whose data_dir holds another CA is refused at start.
On SQLite (the store file shared) and, as integration_pg.kek_import, on PostgreSQL."""
import json
import os
import subprocess
import unittest
from urllib.parse import urlencode

import jwt

from brokerproc import Broker, slurp
from exchange_env import ExchangeEnv, SUBJECT

TICKET = "CHG-IMPORT"


def run(*cmd):
    return subprocess.run(list(cmd), capture_output=True, text=True, timeout=60)


def events(broker, name):
    out = []
    for line in broker.stderr().splitlines():
        if '"event":"%s"' % name in line:
            out.append(json.loads(line))
    return out


class KekImportTest(unittest.TestCase):
    def setUp(self):
        self.env = ExchangeEnv()
        self.addCleanup(self.env.close)
        self.d = self.env.b.tmp
        self.kek = os.path.join(self.d, "kek")
        fd = os.open(self.kek, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, os.urandom(32))
        os.close(fd)

    # --- helpers -------------------------------------------------------------------------
    def public(self, broker):
        """What clients hold of a broker's keys: the chain, the SSH CA line, the JWKS kids."""
        out = {}
        for path in ("/v1/ca/chain.pem", "/v1/ssh/ca.pub"):
            status, _, body = broker.request("GET", path)
            self.assertEqual(status, 200, path)
            out[path] = body
        status, _, jwks = broker.json("GET", "/.well-known/jwks.json")
        self.assertEqual(status, 200)
        out["kids"] = sorted(k["kid"] for k in jwks["keys"])
        return out, jwks

    def issue_cert(self):
        status, _, body = self.env.certificate(TICKET, self.d, "c")
        self.assertEqual(status, 201, body)
        path = os.path.join(self.d, "c.pem")
        with open(path, "w") as f:
            f.write(body["certificate"])
        return path

    def openssl_verifies(self, broker, cert, folder):
        """openssl verify of `cert` against the chain `broker` serves now."""
        os.makedirs(folder, exist_ok=True)
        intermediate, root = broker.write_ca_files(folder)
        r = run("openssl", "verify", "-CAfile", root, "-untrusted", intermediate, cert)
        return r.returncode == 0 and cert + ": OK" in r.stdout, r.stdout + r.stderr

    def introspect(self, broker, admin, token):
        status, _, r = broker.json("POST", "/v1/introspect", body=urlencode({"token": token}),
                                   headers={"Content-Type": "application/x-www-form-urlencoded",
                                            "Authorization": "Bearer " + admin})
        self.assertEqual(status, 200, r)
        return r["active"]

    def pyjwt_verifies(self, jwks, token):
        kid = jwt.get_unverified_header(token)["kid"]
        key = next(k for k in jwt.PyJWKSet.from_dict(jwks).keys if k.key_id == kid)
        return jwt.decode(token, key.key, algorithms=["ES256"], audience="deploy-api",
                          issuer=self.env.url)

    def store_line(self):
        """The store of the first broker, named for another one."""
        if self.env.b.pg_uri:
            return 'store: { postgres: "%s" }\n' % self.env.b.pg_uri
        return 'store: { sqlite: "%s" }\n' % os.path.join(self.env.b.data_dir, "broker.db")

    def restart_with_kek(self):
        b = self.env.b
        b.stop()
        with open(b.cmd[-1], "a") as f:
            f.write('keys: { kek_file: "%s" }\n' % self.kek)
        b.start()

    def other_broker(self, data_dir=None, before=None):
        """A broker on the first one's store and KEK (and public_url: its tokens' issuer)."""
        o = Broker(config="placeholder", data_dir=data_dir)
        self.addCleanup(o.cleanup)
        if before:
            before(o)
        with open(o.cmd[-1], "w") as f:
            f.write('listen: "127.0.0.1:0"\npublic_url: "%s"\ndata_dir: "%s"\n'
                    'policies_dir: "%s"\n%skeys: { kek_file: "%s" }\n'
                    % (self.env.url, o.data_dir, self.env.policy_dir, self.store_line(),
                       self.kek))
        return o

    # --- tests ---------------------------------------------------------------------------
    def test_a_broker_that_turns_on_a_kek_keeps_its_keys_and_replicas_share_them(self):
        env = self.env
        env.send_ticket(TICKET)
        status, _, r = env.exchange(TICKET)
        self.assertEqual(status, 200, r)
        old_token = r["access_token"]
        cert = self.issue_cert()
        # Two signing keys in data_dir/jwt: a rotated broker's older tokens verify too.
        status, _, rot = env.admin_json("POST", "/v1/keys/rotate")
        self.assertEqual(status, 200, rot)
        self.assertEqual(len(os.listdir(os.path.join(env.b.data_dir, "jwt"))), 2)
        before, _ = self.public(env.b)
        self.assertEqual(len(before["kids"]), 2)

        self.restart_with_kek()
        after, jwks = self.public(env.b)
        self.assertEqual(after, before)
        imported = {e["purpose"]: e for e in events(env.b, "keys.imported")}
        self.assertEqual(set(imported), {"ca", "ssh_ca", "token_signing"})
        self.assertEqual(sorted(imported["token_signing"]["key_ids"].split(",")), before["kids"])
        self.assertNotIn("PRIVATE KEY", env.b.stderr())
        self.assertTrue(self.introspect(env.b, env.admin, old_token))
        self.assertEqual(self.pyjwt_verifies(jwks, old_token)["sub"], SUBJECT)
        ok, out = self.openssl_verifies(env.b, cert, os.path.join(self.d, "after"))
        self.assertTrue(ok, out)
        # The newest key (the rotation's) still signs.
        status, _, r = env.exchange(TICKET)
        self.assertEqual(status, 200, r)
        self.assertEqual(jwt.get_unverified_header(r["access_token"])["kid"], rot["kid"])
        # The files stay where they were (the operator removes them: docs/operations.md).
        self.assertTrue(os.path.exists(os.path.join(env.b.data_dir, "ca", "intermediate.key")))

        replica = self.other_broker()
        replica.start()
        seen, replica_jwks = self.public(replica)
        self.assertEqual(seen, before)
        self.assertEqual(events(replica, "keys.imported"), [])
        admin = slurp(os.path.join(replica.data_dir, "admin.token")).strip()
        self.assertTrue(self.introspect(replica, admin, old_token))
        self.assertEqual(self.pyjwt_verifies(replica_jwks, old_token)["sub"], SUBJECT)
        ok, out = self.openssl_verifies(replica, cert, os.path.join(self.d, "replica"))
        self.assertTrue(ok, out)
        # A restart of the importing broker is quiet: data_dir and the store agree.
        env.b.stop()
        env.b.start()
        self.assertEqual(events(env.b, "keys.imported"), [])
        self.assertEqual(events(env.b, "keys.import_conflict"), [])

    def test_a_broker_whose_data_dir_holds_another_ca_is_refused(self):
        self.restart_with_kek()  # the store's keys: imported from the first broker
        chain_before = self.public(self.env.b)[0]["/v1/ca/chain.pem"]

        def own_ca(o):
            # Another former single broker: its own CA in its own data_dir.
            solo = Broker(config='listen: "127.0.0.1:0"\ndata_dir: "%s"\npolicies_dir: "%s"\n'
                          'store: { sqlite: "%s" }\n'
                          % (o.data_dir, self.env.policy_dir, os.path.join(o.tmp, "solo.db")))
            self.addCleanup(solo.cleanup)
            solo.start()
            solo.stop()
            self.assertTrue(os.path.exists(os.path.join(o.data_dir, "ca", "intermediate.key")))

        other = self.other_broker(data_dir=None, before=own_ca)
        with self.assertRaises(RuntimeError):
            other.start()
        conflicts = events(other, "keys.import_conflict")
        self.assertEqual([e["purpose"] for e in conflicts], ["ca"])
        self.assertIn("holds another ca key than the store", other.stderr())
        self.assertNotEqual(other.proc.returncode, 0)
        # The store's CA is untouched.
        self.assertEqual(self.public(self.env.b)[0]["/v1/ca/chain.pem"], chain_before)


if __name__ == "__main__":
    unittest.main()
