#!/usr/bin/env python3
"""A tiny deploy API, standing in for the service a CI job deploys to. It accepts a deploy only
with a bearer JWT from jitbroker: signature checked against the broker's JWKS, iss, aud
("deploy-api"), exp, and the "deploy:write" scope.
Usage: deploy_api.py PORT_FILE   (binds a free loopback port and writes it to PORT_FILE)"""
import http.server
import json
import os
import ssl
import sys
import urllib.request

import jwt

BROKER, CA = os.environ["JITBROKER_URL"], os.environ["JITBROKER_CA"]


def jwks():
    ctx = ssl.create_default_context(cafile=CA)
    with urllib.request.urlopen(BROKER + "/.well-known/jwks.json", context=ctx) as r:
        return jwt.PyJWKSet.from_dict(json.load(r))


class Api(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        auth = self.headers.get("Authorization", "")
        try:
            token = auth.split(" ", 1)[1]
            kid = jwt.get_unverified_header(token)["kid"]
            key = next(k for k in jwks().keys if k.key_id == kid)
            claims = jwt.decode(token, key.key, algorithms=["ES256"], audience="deploy-api",
                                issuer=BROKER)
            if "deploy:write" not in claims["scope"].split():
                raise PermissionError("scope deploy:write missing")
        except Exception as e:  # any failure is a refusal
            self.send_response(401)
            self.end_headers()
            self.wfile.write(("refused: %s\n" % e).encode())
            return
        self.send_response(200)
        self.end_headers()
        self.wfile.write(("deployed by %s under %s\n" % (claims["sub"], claims["ticket"])).encode())

    def log_message(self, *args):
        pass


server = http.server.HTTPServer(("127.0.0.1", 0), Api)
with open(sys.argv[1], "w") as f:
    f.write(str(server.server_address[1]))
server.serve_forever()
