"""Certificates end to end (docs/api.md#issuing): issued by the real binary over TLS, checked
with openssl verify, and revoked through OCSP and the CRL when the ticket closes."""
import json
import os
import subprocess
import time
import unittest

from exchange_env import ExchangeEnv
from brokerproc import slurp


def octets(serial):
    """The API names serials without leading zeros; openssl prints whole octets, upper-case."""
    return (serial if len(serial) % 2 == 0 else "0" + serial).upper()


def run(*cmd, **kw):
    return subprocess.run(list(cmd), capture_output=True, text=True, timeout=30, **kw)


class CertificatesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.env = ExchangeEnv()
        cls.env.send_ticket("SVC-1", kind="standard", access=["deploy", "svc", "web"])
        cls.d = cls.env.b.tmp
        cls.intermediate, cls.root = cls.env.b.write_ca_files(cls.d)

    @classmethod
    def tearDownClass(cls):
        cls.env.close()

    def csr(self, name, addext=None, key="ec -pkeyopt ec_paramgen_curve:P-256", subj="/"):
        cmd = ["openssl", "req", "-new", "-newkey", *key.split(), "-nodes", "-keyout",
               os.path.join(self.d, name + ".key"), "-out", os.path.join(self.d, name + ".csr"),
               "-subj", subj]
        if addext:
            cmd += ["-addext", addext]
        r = run(*cmd)
        self.assertEqual(r.returncode, 0, r.stderr)
        return slurp(os.path.join(self.d, name + ".csr"))

    def request(self, body, token=None):
        headers = {"Content-Type": "application/json"}
        if token is not False:
            headers["Authorization"] = "Bearer " + (token or self.env.idp.github())
        return self.env.b.json("POST", "/v1/certificates", body=json.dumps(body), headers=headers)

    def issue(self, name, grant="deploy", ticket="SVC-1", **extra):
        status, _, r = self.request(dict(ticket=ticket, csr=self.csr(name), grant=grant, **extra))
        self.assertEqual(status, 201, r)
        with open(os.path.join(self.d, name + ".pem"), "w") as f:
            f.write(r["certificate"])
        return r

    def verify(self, name):
        return run("openssl", "verify", "-CAfile", self.root, "-untrusted", self.intermediate,
                   os.path.join(self.d, name + ".pem")).stdout

    def ocsp(self, name):
        req = os.path.join(self.d, name + ".ocspreq")
        run("openssl", "ocsp", "-issuer", self.intermediate, "-cert",
            os.path.join(self.d, name + ".pem"), "-no_nonce", "-reqout", req)
        status, hdrs, body = self.env.b.request(
            "POST", "/v1/ocsp", body=open(req, "rb").read(),
            headers={"Content-Type": "application/ocsp-request"})
        self.assertEqual((status, hdrs["content-type"]), (200, "application/ocsp-response"))
        resp = os.path.join(self.d, name + ".ocspresp")
        open(resp, "wb").write(body)
        return run("openssl", "ocsp", "-respin", resp, "-issuer", self.intermediate, "-cert",
                   os.path.join(self.d, name + ".pem"), "-CAfile", self.root, "-no_nonce").stdout

    def crl_text(self):
        status, hdrs, der = self.env.b.request("GET", "/v1/ca/crl")
        self.assertEqual((status, hdrs["content-type"]), (200, "application/pkix-crl"))
        path = os.path.join(self.d, "crl.der")
        open(path, "wb").write(der)
        return run("openssl", "crl", "-inform", "DER", "-in", path, "-noout", "-text").stdout

    def test_issued_certificate_verifies_with_openssl_and_matches_the_contract(self):
        r = self.issue("c1", ttl=600)
        self.assertIn(": OK", self.verify("c1"))
        self.assertEqual(r["ca_chain"][0], slurp(self.intermediate))
        self.assertEqual(r["ca_chain"][-1], slurp(self.root))
        text = run("openssl", "x509", "-noout", "-text", "-serial", "-enddate", "-in",
                   os.path.join(self.d, "c1.pem")).stdout
        self.assertIn("TLS Web Client Authentication", text)
        self.assertIn("CA:FALSE", text)
        self.assertIn("/v1/ca/crl", text)
        self.assertIn("serial=" + octets(r["serial"]), text)
        lease = self.env.admin_json("GET", "/v1/leases/" + r["lease_id"])[2]
        self.assertEqual((lease["kind"], lease["serial"], lease["state"]), ("certificate", r["serial"], "active"))
        # notAfter is the lease's end exactly.
        self.assertEqual(r["not_after"], lease["expires_at"])

    def test_spiffe_and_server_profiles_take_names_from_the_grant(self):
        self.issue("svc1", grant="svc")
        text = run("openssl", "x509", "-noout", "-ext", "subjectAltName,extendedKeyUsage", "-in",
                   os.path.join(self.d, "svc1.pem")).stdout
        self.assertIn("URI:spiffe://acme.internal/svc/acme", text)
        self.issue("web1", grant="web")
        text = run("openssl", "x509", "-noout", "-ext", "subjectAltName", "-in",
                   os.path.join(self.d, "web1.pem")).stdout
        self.assertIn("DNS:acme.acme.internal", text)
        self.assertIn(": OK", self.verify("web1"))

    def test_a_dotted_claim_cannot_move_a_dns_san_into_another_zone(self):
        # Grant 'web' has dns_sans ["{claims.repository_owner}.acme.internal"]: an owner claim
        # "evil.example" would otherwise yield evil.example.acme.internal, a deeper zone.
        token = self.env.idp.token(sub="repo:acme/api:environment:prod", repository="acme/api",
                                   repository_owner="evil.example", ref="refs/heads/main",
                                   environment="prod", workflow="deploy")
        status, _, r = self.request({"ticket": "SVC-1", "grant": "web", "csr": self.csr("dot")},
                                    token=token)
        self.assertEqual((status, r["error"]), (403, "access_denied"), r)
        self.assertEqual(r["basis"]["failed_rule"], "san.substitution", r)
        self.assertIn("{claims.repository_owner}.acme.internal", r["error_description"])
        self.assertIn("spans more than one DNS label", r["error_description"])

    def test_csr_asking_for_more_is_refused_naming_the_name(self):
        status, _, r = self.request({"ticket": "SVC-1", "grant": "deploy",
                                     "csr": self.csr("x", "subjectAltName=DNS:evil.example")})
        self.assertEqual(status, 403, r)
        self.assertIn("evil.example", r["error_description"])

    def test_bad_inputs(self):
        status, _, r = self.request({"ticket": "SVC-1", "csr": "not a csr"})
        self.assertEqual((status, r["error"]), (400, "invalid_request"))
        status, _, r = self.request({"ticket": "SVC-1", "csr": self.csr("w", key="rsa:1024")})
        self.assertEqual(status, 400)
        self.assertIn("RSA-1024", r["error_description"])
        status, hdrs, r = self.request({"ticket": "SVC-1", "csr": self.csr("n")}, token=False)
        self.assertEqual((status, r["error"]), (401, "unauthenticated"))
        status, _, r = self.request({"ticket": "SVC-1", "csr": self.csr("f")},
                                    token=self.env.idp.forged())
        self.assertEqual(status, 401)
        status, _, r = self.request({"ticket": "NOPE", "csr": self.csr("u")})
        self.assertEqual((status, r["error"]), (403, "access_denied"))
        status, _, r = self.env.b.json("POST", "/v1/certificates", body="ticket=x",
                                       headers={"Content-Type": "application/x-www-form-urlencoded",
                                                "Authorization": "Bearer " + self.env.idp.github()})
        self.assertEqual(status, 415)

    def test_server_side_key_is_returned_once_and_matches(self):
        status, _, r = self.request({"ticket": "SVC-1", "grant": "deploy", "key_type": "server"})
        self.assertEqual(status, 201, r)
        open(os.path.join(self.d, "sk.pem"), "w").write(r["certificate"])
        open(os.path.join(self.d, "sk.key"), "w").write(r["private_key"])
        a = run("openssl", "x509", "-noout", "-pubkey", "-in", os.path.join(self.d, "sk.pem")).stdout
        b = run("openssl", "pkey", "-pubout", "-in", os.path.join(self.d, "sk.key")).stdout
        self.assertEqual(a, b)
        data = b"".join(open(os.path.join(root, f), "rb").read()
                        for root, _, files in os.walk(self.env.b.data_dir) for f in files)
        self.assertNotIn(r["private_key"].split("\n")[2].encode(), data)

    def test_closing_the_ticket_revokes_in_ocsp_and_the_crl(self):
        self.env.send_ticket("SVC-2", kind="standard", access=["deploy"])
        r = self.issue("rv", ticket="SVC-2")
        self.assertIn("rv.pem: good", self.ocsp("rv"))
        self.assertNotIn(octets(r["serial"]), self.crl_text())
        self.env.send_ticket("SVC-2", kind="standard", access=["deploy"], state="closed")
        t0 = time.time()
        out = self.ocsp("rv")
        self.assertIn("rv.pem: revoked", out)
        self.assertIn("cessationOfOperation", out)
        text = self.crl_text()
        self.assertLess(time.time() - t0, 1.0)
        self.assertIn(octets(r["serial"]), text)
        self.assertIn("Cessation Of Operation", text)
        status, _, pem = self.env.b.request("GET", "/v1/ca/crl.pem")
        self.assertTrue(pem.startswith(b"-----BEGIN X509 CRL-----"))
        # Verified by openssl against the chain, with its number increasing.
        path = os.path.join(self.d, "crl.pem")
        open(path, "wb").write(pem)
        chain = os.path.join(self.d, "chain.pem")
        open(chain, "w").write(slurp(self.intermediate) + slurp(self.root))
        r = run("openssl", "crl", "-in", path, "-noout", "-CAfile", chain)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("verify OK", r.stderr + r.stdout)

    def mtls_conn(self, name):
        import http.client
        import ssl
        ctx = ssl.create_default_context(cafile=self.env.b.ca_file)
        ctx.load_cert_chain(os.path.join(self.d, name + ".pem"), os.path.join(self.d, name + ".key"))
        return http.client.HTTPSConnection("127.0.0.1", self.env.b.port, context=ctx, timeout=10)

    def test_a_service_renews_over_mtls_until_its_ticket_closes(self):
        spiffe = "spiffe://acme.internal/svc/acme"
        self.env.send_ticket("SVC-M", kind="standard", subjects=[spiffe, "repo:acme/api:environment:prod"],
                             access=["svc", "mtls-renew"])
        self.issue("m1", grant="svc", ticket="SVC-M")  # with the CI job's JWT
        body = json.dumps({"ticket": "SVC-M", "grant": "mtls-renew", "csr": self.csr("m2")})
        c = self.mtls_conn("m1")
        c.request("POST", "/v1/certificates", body=body, headers={"Content-Type": "application/json"})
        resp = c.getresponse()
        r = json.loads(resp.read())
        self.assertEqual(resp.status, 201, r)
        lease = self.env.admin_json("GET", "/v1/leases/" + r["lease_id"])[2]
        self.assertEqual(lease["subject"], spiffe)
        from urllib.parse import urlencode
        form = urlencode({"grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
                          "ticket": "SVC-M", "grant": "mtls-renew"})
        c.request("POST", "/v1/token", body=form,
                  headers={"Content-Type": "application/x-www-form-urlencoded"})
        resp = c.getresponse()
        tok = json.loads(resp.read())
        self.assertEqual(resp.status, 200, tok)
        claims = self.env.verify_independently(tok["access_token"], "svc-api")
        self.assertEqual(claims["sub"], spiffe)
        c.close()
        # Closing the ticket revokes the client certificate: it no longer authenticates.
        self.env.send_ticket("SVC-M", kind="standard", state="closed")
        c = self.mtls_conn("m1")
        c.request("POST", "/v1/certificates", body=body, headers={"Content-Type": "application/json"})
        resp = c.getresponse()
        r = json.loads(resp.read())
        self.assertEqual((resp.status, r["error"]), (401, "unauthenticated"), r)
        self.assertIn("revoked", r["error_description"])
        c.close()

    def test_ocsp_get_form_and_malformed_requests(self):
        r = self.issue("g1")
        req = os.path.join(self.d, "g1.ocspreq")
        run("openssl", "ocsp", "-issuer", self.intermediate, "-cert", os.path.join(self.d, "g1.pem"),
            "-no_nonce", "-reqout", req)
        import base64
        from urllib.parse import quote
        enc = quote(base64.b64encode(open(req, "rb").read()).decode(), safe="")
        status, _, body = self.env.b.request("GET", "/v1/ocsp/" + enc)
        self.assertEqual(status, 200)
        resp = os.path.join(self.d, "g1.get.resp")
        open(resp, "wb").write(body)
        out = run("openssl", "ocsp", "-respin", resp, "-issuer", self.intermediate, "-cert",
                  os.path.join(self.d, "g1.pem"), "-CAfile", self.root, "-no_nonce").stdout
        self.assertIn("g1.pem: good", out)
        status, hdrs, body = self.env.b.request("POST", "/v1/ocsp", body=b"garbage",
                                                headers={"Content-Type": "application/ocsp-request"})
        self.assertEqual((status, hdrs["content-type"]), (400, "application/ocsp-response"))
        open(resp, "wb").write(body)
        text = run("openssl", "ocsp", "-respin", resp, "-resp_text", "-noverify").stdout
        self.assertIn("malformedrequest", text)


if __name__ == "__main__":
    unittest.main()
