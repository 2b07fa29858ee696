"""A small RFC 8555 client for the ACME tests' refusals (docs/acme.md): ES256 account keys from
python3-cryptography, flattened JWS, HS256 external account binding, an http-01 responder."""
import base64
import hashlib
import hmac
import http.server
import json
import threading
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID


def b64u(data):
    if isinstance(data, str):
        data = data.encode()
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64u_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class AccountKey:
    def __init__(self, key=None):
        self.key = key or ec.generate_private_key(ec.SECP256R1())  # P-256 only: ES256
        nums = self.key.public_key().public_numbers()
        self.jwk = {"kty": "EC", "crv": "P-256", "x": b64u(nums.x.to_bytes(32, "big")),
                    "y": b64u(nums.y.to_bytes(32, "big"))}

    def thumbprint(self):
        canon = json.dumps({k: self.jwk[k] for k in ("crv", "kty", "x", "y")},
                           separators=(",", ":"), sort_keys=True)
        return b64u(hashlib.sha256(canon.encode()).digest())

    def sign(self, protected, payload):
        """A flattened JWS; payload None is a POST-as-GET (empty payload)."""
        p = b64u(json.dumps(protected))
        body = "" if payload is None else b64u(json.dumps(payload))
        der = self.key.sign(("%s.%s" % (p, body)).encode(), ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        return {"protected": p, "payload": body,
                "signature": b64u(r.to_bytes(32, "big") + s.to_bytes(32, "big"))}


def eab_binding(kid, hmac_key_b64u, jwk, url):
    protected = b64u(json.dumps({"alg": "HS256", "kid": kid, "url": url}))
    payload = b64u(json.dumps(jwk))
    mac = hmac.new(b64u_decode(hmac_key_b64u), ("%s.%s" % (protected, payload)).encode(),
                   hashlib.sha256).digest()
    return {"protected": protected, "payload": payload, "signature": b64u(mac)}


class Client:
    """One account against a jitbroker (brokerproc.Broker)."""

    def __init__(self, broker, key=None):
        self.b = broker
        self.key = key or AccountKey()
        self.kid = None
        _, _, self.dir = broker.json("GET", "/acme/directory")
        self.nonce = None

    def fresh_nonce(self):
        status, hdrs, _ = self.b.request("HEAD", "/acme/new-nonce")
        assert status == 200, status
        return hdrs["replay-nonce"]

    def post(self, url, payload, jwk=False, nonce=None, retry_bad_nonce=False, header=None):
        """(status, headers, body) of a signed POST; keeps the response's nonce for the next.
        `header`: more protected header members."""
        prot = {"alg": "ES256", "nonce": nonce or self.nonce or self.fresh_nonce(), "url": url}
        if jwk or not self.kid:
            prot["jwk"] = self.key.jwk
        else:
            prot["kid"] = self.kid
        prot.update(header or {})
        status, hdrs, data = self.b.request(
            "POST", urlsplit(url).path, body=json.dumps(self.key.sign(prot, payload)),
            headers={"Content-Type": "application/jose+json"})
        self.nonce = hdrs.get("replay-nonce")
        ctype = hdrs.get("content-type", "")
        body = json.loads(data) if data and "json" in ctype else data
        if (retry_bad_nonce and status == 400 and isinstance(body, dict)
                and body.get("type") == "urn:ietf:params:acme:error:badNonce"):
            return self.post(url, payload, jwk=jwk)  # RFC 8555 §6.5: retry with the new nonce
        return status, hdrs, body

    def new_account(self, eab=None, **extra):
        payload = {"termsOfServiceAgreed": True, "contact": ["mailto:x@example.com"]}
        if eab:
            payload["externalAccountBinding"] = eab_binding(eab["kid"], eab["hmac_key"],
                                                            self.key.jwk, self.dir["newAccount"])
        payload.update(extra)
        status, hdrs, body = self.post(self.dir["newAccount"], payload, jwk=True)
        if status in (200, 201):
            self.kid = hdrs["location"]
        return status, body

    def new_order(self, *names):
        status, hdrs, body = self.post(self.dir["newOrder"],
                                       {"identifiers": [{"type": "dns", "value": n} for n in names]})
        return status, hdrs.get("location"), body

    def obtain(self, name, responder):
        """Order, http-01 through `responder`, finalize, download: (key PEM, chain PEM)."""
        status, order_url, order = self.new_order(name)
        assert status == 201, order
        for authz_url in order["authorizations"]:
            _, _, authz = self.post(authz_url, None)
            chall = [c for c in authz["challenges"] if c["type"] == "http-01"][0]
            responder.tokens[chall["token"]] = chall["token"] + "." + self.key.thumbprint()
            status, _, c = self.post(chall["url"], {})
            assert status == 200 and c["status"] == "valid", c
        _, _, order = self.post(order_url, None)
        assert order["status"] == "ready", order
        cert_key = ec.generate_private_key(ec.SECP256R1())
        csr = (x509.CertificateSigningRequestBuilder()
               .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
               .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
               .sign(cert_key, hashes.SHA256()))
        status, _, order = self.post(order["finalize"],
                                     {"csr": b64u(csr.public_bytes(serialization.Encoding.DER))})
        assert status == 200 and order["status"] == "valid", (status, order)
        status, _, pem = self.post(order["certificate"], None)
        assert status == 200, pem
        key_pem = cert_key.private_bytes(serialization.Encoding.PEM,
                                         serialization.PrivateFormat.PKCS8,
                                         serialization.NoEncryption()).decode()
        return key_pem, pem.decode()


class Responder:
    """Serves /.well-known/acme-challenge/TOKEN on 127.0.0.1:port from `tokens`."""

    def __init__(self, port):
        tokens = self.tokens = {}

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                tok = self.path.rsplit("/", 1)[-1]
                body = tokens.get(tok, "").encode()
                self.send_response(200 if tok in tokens else 404)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
