"""ACME with the ticket as external account binding (docs/acme.md), end to end: the real
broker over TLS, Debian's certbot and lego obtaining certificates for the names a grant allows,
the refusals with their RFC 8555 error types (driven by a small client), and what a closed
ticket does to the account and its certificates."""
import calendar
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import unittest

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from acme_client import AccountKey, Client, Responder, b64u
from exchange_env import ExchangeEnv, free_port

POLICY = """
grants:
  - name: acme-web
    subjects: { issuer: "%(github)s" }
    certificate:
      profile: server
      dns_sans: ["web.jitb.test", "api.jitb.test", "lego.jitb.test", "gone.jitb.test", "py.jitb.test"]
      max_ttl: "1h"
  - name: tokens-only
    subjects: { issuer: "%(github)s" }
    token: { audience: "x", scopes: ["r"], max_ttl: "10m" }
"""

ERR = "urn:ietf:params:acme:error:"


def run(*cmd, env=None, timeout=120):
    return subprocess.run(list(cmd), capture_output=True, text=True, timeout=timeout,
                          env=dict(os.environ, **(env or {})))


class AcmeBroker(unittest.TestCase):
    """A broker with ACME on, the ticket CHG-ACME, and helpers to run certbot and lego."""
    ACME_CONFIG = ""  # more `acme:` keys, each line indented by two spaces

    @classmethod
    def setUpClass(cls):
        cls.http_port = free_port()
        cls.env = ExchangeEnv(policy=POLICY, limits=(
            'acme:\n  http01_port: %d\n  http01_address: "127.0.0.1"\n%s' % (cls.http_port, cls.ACME_CONFIG)))
        cls.b = cls.env.b
        cls.env.send_ticket("CHG-ACME", access=["acme-web", "tokens-only"])
        cls.d = tempfile.mkdtemp(prefix="acme-", dir=cls.b.tmp)
        cls.intermediate, cls.root = cls.b.write_ca_files(cls.d)
        cls.directory = cls.env.url + "/acme/directory"

    @classmethod
    def tearDownClass(cls):
        cls.env.close()

    def eab(self, ticket="CHG-ACME", grant="acme-web", expect=201):
        status, _, r = self.b.json("POST", "/v1/acme/eab", body=json.dumps({"ticket": ticket, "grant": grant}),
                                   headers={"Content-Type": "application/json",
                                            "Authorization": "Bearer " + self.env.idp.github()})
        self.assertEqual(status, expect, r)
        return r

    def obtained(self, name, ticket="CHG-ACME"):
        """A new account of `ticket` (EAB) and a certificate for `name` through the test's own
        client, http-01 answered on acme.http01_port: (client, key PEM, chain PEM)."""
        c = Client(self.b)
        self.assertEqual(c.new_account(eab=self.eab(ticket=ticket))[0], 201)
        responder = Responder(self.http_port)
        try:
            key_pem, chain = c.obtain(name, responder)
        finally:
            responder.close()
        return c, key_pem, chain

    def verify(self, cert_path, untrusted=None):
        return run("openssl", "verify", "-CAfile", self.root, "-untrusted", untrusted or self.intermediate,
                   cert_path).stdout

    def certbot(self, name, eab, folder, *extra):
        cmd = ["certbot", "certonly", "--standalone", "--http-01-port", str(self.http_port),
               "--server", self.directory, "-d", name, "--agree-tos", "-m", "x@example.com",
               "--non-interactive", "--config-dir", os.path.join(folder, "config"),
               "--work-dir", os.path.join(folder, "work"), "--logs-dir", os.path.join(folder, "logs")]
        if eab:
            cmd += ["--eab-kid", eab["kid"], "--eab-hmac-key=" + eab["hmac_key"]]
        return run(*cmd, *extra, env={"REQUESTS_CA_BUNDLE": self.b.ca_file})

    def lego(self, folder, *args, eab=None):
        if not shutil.which("lego"):
            self.skipTest("lego is not installed (scripts/setup installs it)")
        cmd = ["lego", "--server", self.directory, "--accept-tos", "--email", "x@example.com",
               "--path", folder]
        if eab:
            cmd += ["--eab", "--kid", eab["kid"], "--hmac=" + eab["hmac_key"]]
        return run(*cmd, *args, env={"LEGO_CA_CERTIFICATES": self.b.ca_file})

    def lego_run(self, name, eab, folder):
        return self.lego(folder, "--http", "--http.port", ":%d" % self.http_port, "--domains", name,
                         "run", eab=eab)

    def ocsp(self, cert, issuer):
        req, resp = cert + ".ocspreq", cert + ".ocspresp"
        run("openssl", "ocsp", "-issuer", issuer, "-cert", cert, "-no_nonce", "-reqout", req)
        with open(req, "rb") as f:
            status, _, body = self.b.request("POST", "/v1/ocsp", body=f.read(),
                                             headers={"Content-Type": "application/ocsp-request"})
        self.assertEqual(status, 200)
        with open(resp, "wb") as f:
            f.write(body)
        return run("openssl", "ocsp", "-respin", resp, "-issuer", issuer, "-cert", cert,
                   "-CAfile", self.root, "-no_nonce").stdout

    def lease_of_serial(self, cert_path):
        serial = run("openssl", "x509", "-noout", "-serial", "-in", cert_path).stdout.strip()
        serial = serial.split("=", 1)[1].lower().lstrip("0")
        _, _, leases = self.env.admin_json("GET", "/v1/leases?ticket=CHG-ACME")
        return [l for l in leases["leases"] if l.get("serial") == serial]


class AcmeTest(AcmeBroker):
    def test_directory_requires_external_accounts_and_every_answer_has_a_nonce(self):
        status, hdrs, d = self.b.json("GET", "/acme/directory")
        self.assertEqual(status, 200)
        self.assertTrue(d["meta"]["externalAccountRequired"])
        self.assertEqual(d["newAccount"], self.env.url + "/acme/new-account")
        self.assertIn("replay-nonce", hdrs)
        status, hdrs, _ = self.b.request("GET", "/acme/new-nonce")
        self.assertEqual(status, 204)
        self.assertNotEqual(hdrs["replay-nonce"], self.b.request("HEAD", "/acme/new-nonce")[1]["replay-nonce"])

    def test_eab_key_is_a_lease_of_the_ticket_judged_by_the_policy(self):
        r = self.eab()
        self.assertEqual(r["directory"], self.directory)
        self.assertRegex(r["hmac_key"], r"^[A-Za-z0-9_-]{43}$")
        _, _, lease = self.env.admin_json("GET", "/v1/leases/" + r["lease_id"])
        self.assertEqual((lease["kind"], lease["ticket"], lease["state"]), ("acme_account", "CHG-ACME", "active"))
        # A grant without a certificate section issues no EAB key; nor does an unknown ticket.
        denied = self.eab(grant="tokens-only", expect=403)
        self.assertEqual(denied["error"], "access_denied")
        self.assertEqual(self.eab(ticket="NOPE-1", expect=403)["error"], "access_denied")
        status, _, _ = self.b.json("POST", "/v1/acme/eab", body=json.dumps({"ticket": "CHG-ACME"}),
                                   headers={"Content-Type": "application/json"})
        self.assertEqual(status, 401)

    def test_certbot_obtains_a_ticket_bound_certificate_and_revokes_it_with_its_key(self):
        folder = os.path.join(self.d, "certbot")
        r = self.certbot("web.jitb.test", self.eab(), folder)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        live = os.path.join(folder, "config", "live", "web.jitb.test")
        cert = os.path.join(live, "cert.pem")
        self.assertIn(": OK", self.verify(cert, os.path.join(live, "chain.pem")))
        text = run("openssl", "x509", "-noout", "-ext", "subjectAltName", "-enddate", "-in", cert).stdout
        self.assertIn("DNS:web.jitb.test", text)
        self.assertNotIn("api.jitb.test", text)
        lease = self.lease_of_serial(cert)
        self.assertEqual(len(lease), 1)
        self.assertEqual((lease[0]["kind"], lease[0]["state"]), ("certificate", "active"))
        # RFC 8555 §7.6 by the certificate's key: a certbot with no account at all.
        bare = os.path.join(self.d, "certbot-bare")
        r = run("certbot", "revoke", "--cert-path", cert, "--key-path", os.path.join(live, "privkey.pem"),
                "--server", self.directory, "--non-interactive", "--no-delete-after-revoke",
                "--config-dir", os.path.join(bare, "config"), "--work-dir", os.path.join(bare, "work"),
                "--logs-dir", os.path.join(bare, "logs"), env={"REQUESTS_CA_BUNDLE": self.b.ca_file})
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertFalse(os.path.exists(os.path.join(bare, "config", "accounts")))
        self.assertIn(": revoked", self.ocsp(cert, self.intermediate))
        self.assertEqual(self.lease_of_serial(cert)[0]["state"], "revoked")

    def test_lego_obtains_a_ticket_bound_certificate_and_revokes_it_with_the_account_key(self):
        folder, eab = os.path.join(self.d, "lego"), self.eab()
        r = self.lego_run("lego.jitb.test", eab, folder)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        cert = os.path.join(folder, "certificates", "lego.jitb.test.crt")
        self.assertIn(": OK", self.verify(cert))
        self.assertEqual(len(self.lease_of_serial(cert)), 1)
        self.assertIn(": good", self.ocsp(cert, self.intermediate))
        # lego asks for --eab with every command; the account it keeps in `folder` signs.
        r = self.lego(folder, "--domains", "lego.jitb.test", "revoke", "--keep", eab=eab)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn(": revoked", self.ocsp(cert, self.intermediate))
        self.assertEqual(self.lease_of_serial(cert)[0]["state"], "revoked")

    def test_refusals_carry_rfc8555_error_types(self):
        c = Client(self.b)
        status, body = c.new_account()
        self.assertEqual((status, body["type"]), (400, ERR + "externalAccountRequired"))
        eab = self.eab()
        wrong = dict(eab, hmac_key=eab["hmac_key"][:-4] + ("AAAA" if not eab["hmac_key"].endswith("AAAA") else "BBBA"))
        status, body = c.new_account(eab=wrong)
        self.assertEqual((status, body["type"]), (403, ERR + "unauthorized"))
        self.assertIn("MAC", body["detail"])
        status, body = c.new_account(eab=eab)
        self.assertEqual(status, 201, body)
        # The same EAB key for a second account key: single use.
        other = Client(self.b)
        status, body = other.new_account(eab=eab)
        self.assertEqual((status, body["type"]), (403, ERR + "unauthorized"))
        self.assertIn("used already", body["detail"])
        status, _, body = c.new_order("evil.example.com")
        self.assertEqual((status, body["type"]), (400, ERR + "rejectedIdentifier"))
        status, _, body = c.new_order("api.jitb.test", "www.jitb.test")
        self.assertEqual((status, body["type"]), (400, ERR + "rejectedIdentifier"))
        # A nonce used once is stale: badNonce with a fresh one, with which the retry succeeds.
        n = c.fresh_nonce()
        status, _, _ = c.post(c.dir["newOrder"], {"identifiers": [{"type": "dns", "value": "api.jitb.test"}]}, nonce=n)
        self.assertEqual(status, 201)
        status, hdrs, body = c.post(c.dir["newOrder"], {"identifiers": [{"type": "dns", "value": "api.jitb.test"}]}, nonce=n)
        self.assertEqual((status, body["type"]), (400, ERR + "badNonce"))
        self.assertIn("replay-nonce", hdrs)
        status, _, body = c.post(c.dir["newOrder"], {"identifiers": [{"type": "dns", "value": "api.jitb.test"}]},
                                 nonce=n, retry_bad_nonce=True)
        self.assertEqual(status, 201, body)
        status, _, body = c.post(c.dir["newOrder"], {"identifiers": []}, nonce="bm90LWEtbm9uY2U")
        self.assertEqual(body["type"], ERR + "badNonce")

    def test_a_certificate_ends_at_or_before_the_window_end(self):
        end = time.time() + 600
        self.env.send_ticket("CHG-SHORT", access=["acme-web"],
                             window={"start": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 60)),
                                     "end": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(end))})
        _, _, chain = self.obtained("api.jitb.test", ticket="CHG-SHORT")
        cert = os.path.join(self.d, "short.pem")
        with open(cert, "w") as f:
            f.write(chain)
        enddate = run("openssl", "x509", "-noout", "-enddate", "-in", cert).stdout.strip().split("=", 1)[1]
        not_after = calendar.timegm(time.strptime(enddate, "%b %d %H:%M:%S %Y GMT"))
        self.assertLessEqual(not_after, int(end))
        self.assertGreater(not_after, time.time() + 500)  # the window, not something shorter

    def test_revoke_key_change_and_deactivation(self):
        c, key_pem, chain = self.obtained("py.jitb.test")
        pems = [p + "-----END CERTIFICATE-----\n" for p in chain.split("-----END CERTIFICATE-----\n") if p.strip()]
        self.assertEqual(len(pems), 3)  # certificate, issuing CA, root
        cert = os.path.join(self.d, "py.pem")
        with open(cert, "w") as f:
            f.write(pems[0])
        self.assertIn(": OK", self.verify(cert))
        self.assertIn(": good", self.ocsp(cert, self.intermediate))
        der = subprocess.run(["openssl", "x509", "-in", cert, "-outform", "DER"], capture_output=True).stdout
        from acme_client import b64u
        # Another account cannot revoke it; its own can, once.
        other = Client(self.b)
        self.assertEqual(other.new_account(eab=self.eab())[0], 201)
        status, _, body = other.post(other.dir["revokeCert"], {"certificate": b64u(der)})
        self.assertEqual((status, body["type"]), (403, ERR + "unauthorized"))
        status, _, _ = c.post(c.dir["revokeCert"], {"certificate": b64u(der)})
        self.assertEqual(status, 200)
        self.assertIn(": revoked", self.ocsp(cert, self.intermediate))
        status, _, body = c.post(c.dir["revokeCert"], {"certificate": b64u(der)})
        self.assertEqual((status, body["type"]), (400, ERR + "alreadyRevoked"))

        # Key rollover: the new key signs for the account, the old one no longer does.
        from acme_client import AccountKey
        new = AccountKey()
        inner = new.sign({"alg": "ES256", "jwk": new.jwk, "url": c.dir["keyChange"]},
                         {"account": c.kid, "oldKey": c.key.jwk})
        status, _, body = c.post(c.dir["keyChange"], inner)
        self.assertEqual(status, 200, body)
        status, _, body = c.new_order("py.jitb.test")
        self.assertEqual((status, body["type"]), (400, ERR + "malformed"))  # old key's signature
        old_key, c.key = c.key, new
        self.assertEqual(c.new_order("py.jitb.test")[0], 201)
        again = Client(self.b, key=new)
        status, body = again.new_account(onlyReturnExisting=True)
        self.assertEqual((status, again.kid), (200, c.kid))
        # Deactivation is final.
        status, _, body = c.post(c.kid, {"status": "deactivated"})
        self.assertEqual((status, body["status"]), (200, "deactivated"))
        status, _, body = c.new_order("py.jitb.test")
        self.assertEqual((status, body["type"]), (403, ERR + "unauthorized"))

    def test_revocation_by_the_certificate_key_needs_that_key_and_this_servers_certificate(self):
        c, key_pem, chain = self.obtained("py.jitb.test")
        cert = x509.load_pem_x509_certificate(chain.encode())
        der = cert.public_bytes(serialization.Encoding.DER)
        cert_path = os.path.join(self.d, "bykey.pem")
        with open(cert_path, "wb") as f:
            f.write(cert.public_bytes(serialization.Encoding.PEM))
        owner = Client(self.b, key=AccountKey(serialization.load_pem_private_key(key_pem.encode(), None)))
        stranger = Client(self.b)
        revoke = owner.dir["revokeCert"]
        status, _, body = stranger.post(revoke, {"certificate": b64u(der)})
        self.assertEqual((status, body["type"]), (403, ERR + "unauthorized"))
        # A certificate made up with this one's serial and the stranger's own key.
        forged = (x509.CertificateBuilder().subject_name(cert.subject).issuer_name(cert.issuer)
                  .public_key(stranger.key.key.public_key()).serial_number(cert.serial_number)
                  .not_valid_before(cert.not_valid_before).not_valid_after(cert.not_valid_after)
                  .sign(stranger.key.key, hashes.SHA256()))
        status, _, body = stranger.post(revoke, {"certificate": b64u(forged.public_bytes(serialization.Encoding.DER))})
        self.assertEqual((status, body["type"]), (403, ERR + "unauthorized"))
        self.assertIn("did not issue", body["detail"])
        status, _, body = owner.post(revoke, {"certificate": b64u(der), "reason": 7})
        self.assertEqual((status, body["type"]), (400, ERR + "badRevocationReason"))
        status, _, body = owner.post(revoke, {"certificate": b64u(der)}, header={"kid": c.kid})
        self.assertEqual((status, body["type"]), (400, ERR + "malformed"))
        self.assertIn("not both", body["detail"])
        self.assertIn(": good", self.ocsp(cert_path, self.intermediate))
        status, _, _ = owner.post(revoke, {"certificate": b64u(der), "reason": 1})
        self.assertEqual(status, 200)
        self.assertIn(": revoked", self.ocsp(cert_path, self.intermediate))
        status, _, body = owner.post(revoke, {"certificate": b64u(der)})
        self.assertEqual((status, body["type"]), (400, ERR + "alreadyRevoked"))

    def test_closing_the_ticket_revokes_the_certificates_and_ends_the_account(self):
        self.env.send_ticket("CHG-GONE", access=["acme-web"])
        status, _, eab = self.b.json("POST", "/v1/acme/eab", body=json.dumps({"ticket": "CHG-GONE"}),
                                     headers={"Content-Type": "application/json",
                                              "Authorization": "Bearer " + self.env.idp.github()})
        self.assertEqual(status, 201, eab)
        folder = os.path.join(self.d, "gone")
        r = self.certbot("gone.jitb.test", eab, folder)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        live = os.path.join(folder, "config", "live", "gone.jitb.test")
        cert, chain = os.path.join(live, "cert.pem"), os.path.join(live, "chain.pem")
        self.assertIn(": good", self.ocsp(cert, chain))
        # A second client's account on the same ticket, with an order still pending.
        eab2 = self.b.json("POST", "/v1/acme/eab", body=json.dumps({"ticket": "CHG-GONE"}),
                           headers={"Content-Type": "application/json",
                                    "Authorization": "Bearer " + self.env.idp.github()})[2]
        c = Client(self.b)
        self.assertEqual(c.new_account(eab=eab2)[0], 201)
        status, order_url, _ = c.new_order("gone.jitb.test")
        self.assertEqual(status, 201)
        closed_at = time.monotonic()
        self.env.send_ticket("CHG-GONE", access=["acme-web"], state="closed")
        while ": revoked" not in self.ocsp(cert, chain):
            self.assertLess(time.monotonic() - closed_at, 1.0, "not OCSP-revoked within 1 s")
            time.sleep(0.05)
        status, _, body = c.post(order_url, None)
        self.assertEqual((status, body["type"]), (403, ERR + "unauthorized"))
        # Deactivated when the lease ended, not only when the account was next used.
        self.assertIn("the account is deactivated: its ticket CHG-GONE ended (lease ", body["detail"])
        r = self.certbot("gone.jitb.test", None, folder, "--force-renewal")
        self.assertNotEqual(r.returncode, 0, r.stdout)
        # Debian's certbot 2.1 on Python 3.11 reports any ACME error as "AttributeError: can't
        # set attribute" (certbot issue 9539); its debug log has the server's problem document.
        with open(os.path.join(folder, "logs", "letsencrypt.log")) as f:
            log = f.read()
        self.assertIn(ERR + "unauthorized", log)
        self.assertIn("deactivated: its ticket CHG-GONE ended", log)


class BadNonceTest(AcmeBroker):
    """RFC 8555 §6.5: a client that meets badNonce retries with a fresh nonce. The broker
    refuses every second request of each key although its nonce is good (acme.reject_nonce_every:
    2), so after its first request each request of the client is refused once; certbot retries
    once per request and lego with a backoff, and both get their certificate."""
    ACME_CONFIG = "  reject_nonce_every: 2\n"

    def rejected(self):
        _, _, text = self.b.request("GET", "/metrics")
        m = re.search(r'^jitbroker_acme_bad_nonce_total\{reason="rejected"\} (\d+)$', text.decode(), re.M)
        return int(m.group(1)) if m else 0

    def logged_bad_nonces(self):
        """The access log's badNonce answers (one JSON object a line on stderr)."""
        return sum(1 for line in self.b.stderr().splitlines() if '"error":"badNonce"' in line)

    def test_the_testing_aid_is_announced(self):
        self.assertIn('"level":"warning","component":"acme","event":"acme.reject_nonce_every",'
                      '"message":"testing aid on: one request in 2 of each ACME key', self.b.stderr())

    def test_each_key_is_counted_apart(self):
        # Two clients in turn: each one's second and fourth request is refused, whatever the
        # other does (so a client's retry passes however many clients there are).
        a, b = Client(self.b), Client(self.b)
        self.assertEqual(a.new_account(eab=self.eab())[0], 201)
        self.assertEqual(b.new_account(eab=self.eab())[0], 201)
        seen = []
        for _ in range(3):
            for c in (a, b):
                status, _, body = c.post(c.kid, None)
                seen.append(body["type"][len(ERR):] if status == 400 else status)
        self.assertEqual(seen, ["badNonce", "badNonce", 200, 200, "badNonce", "badNonce"])

    def test_certbot_retries_bad_nonces_and_gets_its_certificate(self):
        before, logged = self.rejected(), self.logged_bad_nonces()
        folder = os.path.join(self.d, "certbot")
        r = self.certbot("web.jitb.test", self.eab(), folder)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        live = os.path.join(folder, "config", "live", "web.jitb.test")
        self.assertIn(": OK", self.verify(os.path.join(live, "cert.pem"), os.path.join(live, "chain.pem")))
        self.assertEqual(len(self.lease_of_serial(os.path.join(live, "cert.pem"))), 1)
        # certbot's log (not its stdout: certbot issue 9539) has one retry per badNonce, and
        # the broker counted as many refusals: every one was retried, and the retry passed.
        with open(os.path.join(folder, "logs", "letsencrypt.log")) as f:
            retries = re.findall(r"Retrying request after error:\n.*badNonce", f.read())
        rejected = self.rejected() - before
        self.assertGreaterEqual(rejected, 5)  # account, order, authz, challenge, finalize, ...
        self.assertEqual(len(retries), rejected)
        self.assertEqual(self.logged_bad_nonces() - logged, rejected)

    def test_lego_retries_bad_nonces_and_gets_its_certificate(self):
        before, logged = self.rejected(), self.logged_bad_nonces()
        folder = os.path.join(self.d, "lego")
        r = self.lego_run("lego.jitb.test", self.eab(), folder)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        cert = os.path.join(folder, "certificates", "lego.jitb.test.crt")
        self.assertIn(": OK", self.verify(cert))
        self.assertEqual(len(self.lease_of_serial(cert)), 1)
        retries = re.findall(r"retry due to: .*badNonce", r.stderr)
        rejected = self.rejected() - before
        self.assertGreaterEqual(rejected, 5)
        self.assertEqual(len(retries), rejected)
        self.assertEqual(self.logged_bad_nonces() - logged, rejected)


if __name__ == "__main__":
    unittest.main()
