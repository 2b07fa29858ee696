"""A stand-in OIDC issuer for tests: its keys, its JWKS file, and caller tokens in the shapes
GitHub Actions, GitLab CI and Kubernetes issue (wire-formats.md §3)."""
import base64
import hashlib
import hmac
import json
import os
import time

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

GITHUB_ISS = "https://token.actions.githubusercontent.com"


def b64u(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Issuer:
    def __init__(self, directory, issuer=GITHUB_ISS, audience="jitbroker"):
        self.issuer, self.audience = issuer, audience
        self.rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.ec = ec.generate_private_key(ec.SECP256R1())
        self.ed = ed25519.Ed25519PrivateKey.generate()
        self.other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        keys = []
        for kid, key, alg in (("rsa1", self.rsa, "RS256"), ("ec1", self.ec, "ES256"),
                              ("ed1", self.ed, "EdDSA")):
            jwk = json.loads(self._to_jwk(key, alg))
            jwk.update({"kid": kid, "use": "sig", "alg": alg})
            keys.append(jwk)
        self.jwks_path = os.path.join(directory, "caller.jwks.json")
        with open(self.jwks_path, "w") as f:
            json.dump({"keys": keys}, f)

    @staticmethod
    def _to_jwk(key, alg):
        pub = key.public_key()
        if alg == "RS256":
            return jwt.algorithms.RSAAlgorithm.to_jwk(pub)
        if alg == "ES256":
            # Not PyJWT's to_jwk: Debian's 2.6 drops leading zero octets from x and y (about
            # one key in 180), and RFC 7518 §6.2.1.2 wants full-length coordinates, as the
            # broker does.
            n = pub.public_numbers()
            coord = lambda v: b64u(v.to_bytes(32, "big"))
            return json.dumps({"kty": "EC", "crv": "P-256", "x": coord(n.x), "y": coord(n.y)})
        return jwt.algorithms.OKPAlgorithm.to_jwk(pub)

    def claims(self, sub, **extra):
        now = int(time.time())
        c = {"iss": self.issuer, "aud": self.audience, "sub": sub, "iat": now, "nbf": now - 5,
             "exp": now + 600, "jti": os.urandom(8).hex()}
        c.update(extra)
        return c

    def token(self, sub="repo:acme/api:environment:prod", alg="RS256", kid=None, **extra):
        key, default_kid = {"RS256": (self.rsa, "rsa1"), "ES256": (self.ec, "ec1"),
                            "EdDSA": (self.ed, "ed1")}[alg]
        claims = self.claims(sub, **extra)
        claims = {k: v for k, v in claims.items() if v is not None}
        return jwt.encode(claims, key, algorithm=alg, headers={"kid": kid or default_kid})

    def github(self, repo="acme/api", env="prod", ref="refs/heads/main", **extra):
        return self.token(sub="repo:%s:environment:%s" % (repo, env), repository=repo,
                          repository_owner=repo.split("/")[0], ref=ref, environment=env,
                          workflow="deploy", **extra)

    def forged(self, sub="repo:acme/api:environment:prod"):
        """Signed by a key the JWKS does not hold, under a kid it does."""
        return jwt.encode(self.claims(sub), self.other, algorithm="RS256", headers={"kid": "rsa1"})

    def alg_none(self, sub="repo:acme/api:environment:prod"):
        head = b64u(json.dumps({"alg": "none", "typ": "JWT"}).encode())
        return head + "." + b64u(json.dumps(self.claims(sub)).encode()) + "."

    def hs256_with_public_key(self, sub="repo:acme/api:environment:prod"):
        """The classic confusion attack: HMAC keyed with the issuer's public key PEM."""
        pem = self.rsa.public_key().public_bytes(serialization.Encoding.PEM,
                                                 serialization.PublicFormat.SubjectPublicKeyInfo)
        head = b64u(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "rsa1"}).encode())
        body = b64u(json.dumps(self.claims(sub)).encode())
        sig = hmac.new(pem, (head + "." + body).encode(), hashlib.sha256).digest()
        return head + "." + body + "." + b64u(sig)
