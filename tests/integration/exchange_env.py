"""A broker with a test OIDC issuer and test policies, for the exchange tests."""
import json
import os
import subprocess
import time

import jwt

from brokerproc import Broker, sign_event, slurp, ticket
from oidc import GITHUB_ISS, Issuer

POLICY = """
grants:
  - name: deploy
    subjects:
      issuer: "%(github)s"
      claims: { repository: "acme/*", ref: "refs/heads/main" }
    tickets: { kinds: [standard, normal], min_approvals: 1, separation_of_duties: true }
    token: { audience: "deploy-api", scopes: ["deploy:read", "deploy:write"], max_ttl: "15m" }
    certificate: { profile: client, max_ttl: "1h" }
  - name: twoman
    subjects: { issuer: ["%(github)s", "%(gitlab)s", "%(k8s)s"] }
    tickets: { min_approvals: 2 }
    token: { audience: "db-api", scopes: ["db:admin"], max_ttl: "10m" }
  - name: svc
    subjects: { issuer: "%(github)s" }
    tickets: { kinds: [standard] }
    certificate:
      profile: spiffe
      uri_sans: ["spiffe://acme.internal/svc/{claims.repository_owner}"]
      max_ttl: "1h"
  - name: web
    subjects: { issuer: "%(github)s" }
    certificate:
      profile: server
      dns_sans: ["{claims.repository_owner}.acme.internal"]
      max_ttl: "1h"
  - name: mtls-renew
    # Callers holding one of the broker's own client certificates: their issuer is the broker.
    subjects: { issuer: "%(self)s", claims: { sub: "spiffe://acme.internal/svc/*" } }
    tickets: { kinds: [standard] }
    token: { audience: "svc-api", scopes: ["read"], max_ttl: "10m" }
    certificate: { profile: client, max_ttl: "1h" }
  - name: breakglass
    subjects: { issuer: "%(github)s" }
    break_glass: true
    tickets: { kinds: [emergency], min_approvals: 0 }
    token: { audience: "admin-api", scopes: ["admin"], max_ttl: "1h" }
"""

SUBJECT = "repo:acme/api:environment:prod"
GITLAB_ISS = "https://gitlab.example.com"
K8S_ISS = "https://kubernetes.default.svc.cluster.local"
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
JWT_TYPE = "urn:ietf:params:oauth:token-type:jwt"


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout=3.0):
    """True once predicate() holds, polled every 50 ms; False when it still fails at `timeout` s."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


class ExchangeEnv:
    def __init__(self, limits="", policy=None, env=None, store_uri=None, before_start=None,
                 port=None):
        self.b = Broker(config="placeholder", env=env, store_uri=store_uri)
        self.idp = Issuer(self.b.tmp)
        # A known port, so that the policy can name the broker itself (the issuer of its own
        # client certificates' callers): with several trust entries every grant names issuers.
        port = port or free_port()
        self.policy_dir = pol = os.path.join(self.b.tmp, "policies")
        os.makedirs(pol)
        with open(os.path.join(pol, "test.yaml"), "w") as f:
            f.write((policy or POLICY) % {"github": GITHUB_ISS, "gitlab": GITLAB_ISS, "k8s": K8S_ISS,
                                          "self": "https://127.0.0.1:%d" % port})
        # GitHub Actions, GitLab CI and a Kubernetes cluster as trusted issuers (one test key
        # set serves all three; what differs is the claims' shape).
        trust = "".join('  - issuer: "%s"\n    jwks_file: "%s"\n    audience: "jitbroker"\n'
                        % (iss, self.idp.jwks_path) for iss in (GITHUB_ISS, GITLAB_ISS, K8S_ISS))
        cfg = ('listen: "127.0.0.1:%d"\ndata_dir: "%s"\npolicies_dir: "%s"\ntrust:\n%s%s'
               % (port, self.b.data_dir, pol, trust, limits))
        with open(self.b.cmd[-1], "w") as f:
            f.write(cfg)
        if before_start:
            before_start(self)  # e.g. a replica's copy of another broker's keys
        self.b.start()
        self.url = "https://127.0.0.1:%d" % self.b.port
        self.secret = slurp(os.path.join(self.b.data_dir, "webhook.secret")).strip()
        self.admin = slurp(os.path.join(self.b.data_dir, "admin.token")).strip()
        self.version = 0

    def close(self):
        self.b.cleanup()

    def send_ticket(self, tid, **kw):
        self.version += 1
        t = ticket(tid, version=self.version, **kw)
        t.setdefault("subjects", [SUBJECT])
        body = json.dumps({"ticket": t}).encode()
        status, _, r = self.b.json("POST", "/v1/tickets/events", body=body,
                                   headers={"Content-Type": "application/json",
                                            "X-Jitbroker-Signature": sign_event(body, self.secret)})
        assert status in (200, 202), (status, r)
        return r

    def exchange(self, tid, subject_token=None, **params):
        form = {"grant_type": TOKEN_EXCHANGE, "subject_token_type": JWT_TYPE,
                "subject_token": subject_token or self.idp.github(), "ticket": tid}
        form.update({k: v for k, v in params.items() if v is not None})
        from urllib.parse import urlencode
        return self.b.json("POST", "/v1/token", body=urlencode(form),
                           headers={"Content-Type": "application/x-www-form-urlencoded"})

    def certificate(self, tid, folder, name):
        """A P-256 key and its CSR made by openssl in `folder` (name.key, name.csr), the CSR
        sent to POST /v1/certificates for ticket `tid`, grant deploy: (status, headers, body)."""
        key, csr = os.path.join(folder, name + ".key"), os.path.join(folder, name + ".csr")
        subprocess.run(["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", csr,
                        "-subj", "/"], check=True, capture_output=True, timeout=60)
        return self.b.json("POST", "/v1/certificates",
                           body=json.dumps({"ticket": tid, "csr": slurp(csr), "grant": "deploy"}),
                           headers={"Content-Type": "application/json",
                                    "Authorization": "Bearer " + self.idp.github()})

    def admin_json(self, method, path, body=None, ctype=None):
        headers = {"Authorization": "Bearer " + self.admin}
        if ctype:
            headers["Content-Type"] = ctype
        return self.b.json(method, path, body=body, headers=headers)

    def introspect(self, token):
        from urllib.parse import urlencode
        return self.admin_json("POST", "/v1/introspect", body=urlencode({"token": token}),
                               ctype="application/x-www-form-urlencoded")

    def introspect_many(self, tokens):
        """Introspection results for many tokens over one keep-alive connection."""
        from urllib.parse import urlencode
        conn = self.b.conn(timeout=30)
        try:
            return [json.loads(self.b.request(
                "POST", "/v1/introspect", body=urlencode({"token": t}),
                headers={"Content-Type": "application/x-www-form-urlencoded",
                         "Authorization": "Bearer " + self.admin}, conn=conn)[2]) for t in tokens]
        finally:
            conn.close()

    def verify_independently(self, token, audience):
        """PyJWT, not the broker's code: signature from the served JWKS, iss, aud, exp."""
        status, _, jwks = self.b.json("GET", "/.well-known/jwks.json")
        assert status == 200
        kid = jwt.get_unverified_header(token)["kid"]
        key = next(k for k in jwt.PyJWKSet.from_dict(jwks).keys if k.key_id == kid)
        return jwt.decode(token, key.key, algorithms=["ES256"], audience=audience,
                          issuer=self.url, options={"require": ["exp", "iat", "nbf", "jti"]})

    def wait_for(self, predicate, timeout=3.0):
        return wait_for(predicate, timeout)
