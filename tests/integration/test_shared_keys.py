"""Two real brokers on one PostgreSQL database with the same KEK (keys.kek_file) are one broker:
the same JWKS, CA chain and SSH CA, tokens of either verify at both, and a rotation through one
is published everywhere before any token carries the new key, so that a JWKS client that caches
for the published max-age never meets a kid it lacks. A wrong KEK is refused at start.
Registered on integration_pg only (it is about PostgreSQL replicas)."""
import json
import os
import subprocess
import time
import unittest
from urllib.parse import urlencode

import jwt

from brokerproc import (BIN, Broker, drop_postgres_database, postgres_database, sign_event,
                        slurp, test_store_uri, ticket)
from exchange_env import JWT_TYPE, POLICY, SUBJECT, TOKEN_EXCHANGE
from oidc import GITHUB_ISS, Issuer

PUBLIC_URL = "https://jitbroker.test"  # the replicas' one name, behind a load balancer
MAX_AGE = 2  # keys.jwks_max_age, seconds: short, so that a rotation completes in the test


class Replica:
    def __init__(self, broker):
        self.b = broker
        self.admin = slurp(os.path.join(broker.data_dir, "admin.token")).strip()

    def admin_json(self, method, path, body=None):
        headers = {"Authorization": "Bearer " + self.admin}
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        return self.b.json(method, path, body=body, headers=headers)

    def jwks(self):
        status, headers, body = self.b.request("GET", "/.well-known/jwks.json")
        assert status == 200, status
        return headers, body

    def exchange(self, subject_token):
        form = {"grant_type": TOKEN_EXCHANGE, "subject_token_type": JWT_TYPE,
                "subject_token": subject_token, "ticket": "CHG-SHARED"}
        status, _, r = self.b.json("POST", "/v1/token", body=urlencode(form),
                                   headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert status == 200, (status, r)
        return r["access_token"]

    def active(self, token):
        status, _, r = self.admin_json("POST", "/v1/introspect", urlencode({"token": token}))
        assert status == 200, (status, r)
        return r["active"]


def verify_with(jwks_bytes, token):
    """PyJWT with a JWKS as a client cached it: raises when the token's kid is not in it."""
    kid = jwt.get_unverified_header(token)["kid"]
    keys = [k for k in jwt.PyJWKSet.from_dict(json.loads(jwks_bytes)).keys if k.key_id == kid]
    if not keys:
        raise AssertionError("kid %s is not in the cached JWKS" % kid)
    return jwt.decode(token, keys[0].key, algorithms=["ES256"], audience="deploy-api",
                      issuer=PUBLIC_URL)


class SharedKeysTest(unittest.TestCase):
    def setUp(self):
        self.server = test_store_uri()
        self.assertTrue(self.server, "no PostgreSQL: run through ctest -L integration_pg")
        self.brokers = []
        first = self.broker()
        self.tmp = first.tmp
        self.db = postgres_database(self.server, os.path.join(self.tmp, "db"))
        self.addCleanup(drop_postgres_database, self.server, self.db)
        self.idp = Issuer(self.tmp)
        self.policies = os.path.join(self.tmp, "policies")
        os.makedirs(self.policies)
        with open(os.path.join(self.policies, "test.yaml"), "w") as f:
            f.write(POLICY % {"github": GITHUB_ISS, "gitlab": "https://gitlab.example.com",
                              "k8s": "https://k8s.example", "self": PUBLIC_URL})
        self.kek = self.kek_file("kek", os.urandom(32))

    def broker(self):
        b = Broker(config="placeholder")
        self.addCleanup(b.cleanup)
        self.brokers.append(b)
        return b

    def kek_file(self, name, data, mode=0o600):
        path = os.path.join(self.tmp, name)
        with open(path, "wb") as f:
            f.write(data)
        os.chmod(path, mode)
        return path

    def configure(self, b, kek):
        with open(b.cmd[-1], "w") as f:
            f.write('listen: "127.0.0.1:0"\npublic_url: "%s"\ndata_dir: "%s"\n'
                    'policies_dir: "%s"\ntrust:\n'
                    '  - { issuer: "%s", jwks_file: "%s", audience: "jitbroker" }\n'
                    'store: { postgres: "%s" }\n'
                    'keys: { kek_file: "%s", jwks_max_age: "%ds" }\n'
                    % (PUBLIC_URL, b.data_dir, self.policies, GITHUB_ISS, self.idp.jwks_path,
                       self.db, kek, MAX_AGE))

    def replica(self, b=None):
        b = b or self.broker()
        self.configure(b, self.kek)
        b.start()
        return Replica(b)

    def send_ticket(self, r):
        secret = slurp(os.path.join(r.b.data_dir, "webhook.secret")).strip()
        t = ticket("CHG-SHARED")
        t["subjects"] = [SUBJECT]
        body = json.dumps({"ticket": t}).encode()
        status, _, out = r.b.json("POST", "/v1/tickets/events", body=body,
                                  headers={"Content-Type": "application/json",
                                           "X-Jitbroker-Signature": sign_event(body, secret)})
        self.assertIn(status, (200, 202), out)

    def test_replicas_serve_one_key_set_and_a_rotation_reaches_every_client_first(self):
        a = self.replica(self.brokers[0])
        b = self.replica()
        # One broker: the same public material, byte for byte.
        for path in ("/.well-known/jwks.json", "/v1/ca/chain.pem", "/v1/ssh/ca.pub"):
            sa, _, body_a = a.b.request("GET", path)
            sb, _, body_b = b.b.request("GET", path)
            self.assertEqual((sa, sb), (200, 200), path)
            self.assertEqual(body_a, body_b, path)
        headers, _ = a.jwks()
        self.assertEqual(headers.get("cache-control"), "public, max-age=%d" % MAX_AGE)
        # No key material in either data_dir: the keys are the store's.
        for r in (a, b):
            self.assertFalse(os.path.exists(os.path.join(r.b.data_dir, "jwt")))
            self.assertFalse(os.path.exists(os.path.join(r.b.data_dir, "ca", "intermediate.key")))

        self.send_ticket(a)
        from_a, from_b = a.exchange(self.idp.github()), b.exchange(self.idp.github())
        for tok in (from_a, from_b):
            self.assertTrue(a.active(tok))
            self.assertTrue(b.active(tok))
            verify_with(b.jwks()[1], tok)
            verify_with(a.jwks()[1], tok)

        old_kid = jwt.get_unverified_header(from_a)["kid"]
        status, _, rot = a.admin_json("POST", "/v1/keys/rotate")
        self.assertEqual(status, 200, rot)
        new_kid = rot["kid"]
        self.assertEqual(rot["previous_kid"], old_kid)
        self.assertEqual(rot["signing_kid"], old_kid)  # published now, signing later
        self.assertNotEqual(new_kid, old_kid)
        # JWKS clients that fetched just after the rotation, from either replica (B may not
        # have read the new key yet), each keeping its copy for the published max-age.
        caches = {"a": (time.monotonic(), a.jwks()[1]), "b": (time.monotonic(), b.jwks()[1])}
        seen = {"a": set(), "b": set()}
        deadline = time.monotonic() + MAX_AGE + 15
        while time.monotonic() < deadline and not all(new_kid in s for s in seen.values()):
            for name, r in (("a", a), ("b", b)):
                tok = r.exchange(self.idp.github())
                seen[name].add(jwt.get_unverified_header(tok)["kid"])
                for cname, src in (("a", a), ("b", b)):
                    fetched, cached = caches[cname]
                    if time.monotonic() - fetched >= MAX_AGE:  # the copy expired: fetch again
                        caches[cname] = fetched, cached = time.monotonic(), src.jwks()[1]
                    verify_with(cached, tok)
                self.assertTrue(a.active(tok) and b.active(tok))
            time.sleep(0.2)
        self.assertIn(new_kid, seen["a"], "A never signed with the rotated key")
        self.assertIn(new_kid, seen["b"], "B never signed with the rotated key")
        # The new key came only after the old one signed for a while, at both replicas.
        self.assertIn(old_kid, seen["a"] | seen["b"])
        # After the rotation: both keys published alike, and every token verifies everywhere.
        self.assertEqual(a.jwks()[1], b.jwks()[1])
        kids = {k["kid"] for k in json.loads(a.jwks()[1])["keys"]}
        self.assertEqual(kids, {old_kid, new_kid})
        after_a, after_b = a.exchange(self.idp.github()), b.exchange(self.idp.github())
        for tok in (from_a, from_b, after_a, after_b):
            self.assertTrue(a.active(tok))
            self.assertTrue(b.active(tok))
            verify_with(a.jwks()[1], tok)
        # `jitctl keys rotate` through B says the new key is published, not yet signing; A
        # publishes it too within a refresh (2 s).
        jitctl = os.environ.get("JITCTL_BIN", "jitctl")
        env = dict(os.environ, JITBROKER_URL="https://127.0.0.1:%d" % b.b.port)
        env.pop("JITBROKER_ADMIN_TOKEN_FILE", None)
        out = subprocess.run([jitctl, "--data-dir", b.b.data_dir, "keys", "rotate"],
                             capture_output=True, text=True, timeout=30, env=env)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        self.assertRegex(out.stdout, r"^new key \S+ published; %s signs until" % new_kid)
        third = out.stdout.split()[2]
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and third not in a.jwks()[1].decode():
            time.sleep(0.2)
        self.assertEqual(a.jwks()[1], b.jwks()[1])
        self.assertIn(third, a.jwks()[1].decode())
        self.assertEqual(jwt.get_unverified_header(a.exchange(self.idp.github()))["kid"], new_kid)

    def test_replicas_starting_together_on_an_empty_store_make_one_of_each_key(self):
        import threading
        brokers = [self.brokers[0], self.broker(), self.broker()]
        for b in brokers:
            self.configure(b, self.kek)
        errors = []

        def start(b):
            try:
                b.start()
            except Exception as e:  # reported below, with the others
                errors.append(e)
        threads = [threading.Thread(target=start, args=(b,)) for b in brokers]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])
        replicas = [Replica(b) for b in brokers]
        for path in ("/.well-known/jwks.json", "/v1/ca/chain.pem", "/v1/ssh/ca.pub"):
            bodies = {r.b.request("GET", path)[2] for r in replicas}
            self.assertEqual(len(bodies), 1, path)
        rows = subprocess.run(["psql", "-X", "-q", "-t", "-A", "-d", self.db, "-c",
                               "SELECT purpose, count(*) FROM key_material GROUP BY purpose "
                               "ORDER BY purpose"], capture_output=True, text=True, check=True)
        self.assertEqual(rows.stdout.split(), ["ca|1", "ssh_ca|1", "token_signing|1"])
        # What the table holds is sealed: no PEM and no private JWK member in any column.
        dump = subprocess.run(["psql", "-X", "-q", "-t", "-A", "-d", self.db, "-c",
                               "SELECT * FROM key_material"], capture_output=True, text=True,
                              check=True).stdout
        self.assertNotIn("PRIVATE KEY", dump)
        self.assertNotIn('"d"', dump)

    def test_a_wrong_or_loose_kek_is_refused_at_start(self):
        a = self.replica(self.brokers[0])
        kid = json.loads(a.jwks()[1])["keys"][0]["kid"]
        wrong = self.kek_file("wrong", os.urandom(32))
        loose = self.kek_file("loose", os.urandom(32), 0o644)
        short = self.kek_file("short", os.urandom(16))
        for kek, message in ((wrong, "keys.kek_file does not decrypt the keys in the store: "
                                     "wrong KEK?"),
                             (loose, "must be 0600"), (short, "exactly 32 bytes")):
            c = self.broker()
            self.configure(c, kek)
            p = subprocess.run(c.cmd, capture_output=True, text=True, timeout=60)
            self.assertEqual(p.returncode, 1, p.stderr)
            self.assertIn(message, p.stderr)
            self.assertNotIn("listening", p.stdout)
        # `check` says the same of a loose KEK before any start.
        p = subprocess.run([BIN, "check", "--offline", "--config", self.brokers[-1].cmd[-1]],
                           capture_output=True, text=True, timeout=60)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("exactly 32 bytes", p.stdout + p.stderr)
        # The refused starts changed nothing: A serves the same key, and a replica with the
        # right KEK still joins it.
        self.assertEqual(json.loads(a.jwks()[1])["keys"][0]["kid"], kid)
        b = self.replica()
        self.assertEqual(a.jwks()[1], b.jwks()[1])


if __name__ == "__main__":
    unittest.main()
