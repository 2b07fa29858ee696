"""Downstream revocation hooks: a signed POST per revoked lease, retried with backoff until the
receiver (a stand-in HTTPS service here) accepts it."""
import hashlib
import hmac
import http.server
import json
import os
import tempfile
import unittest

from brokerproc import https_standin
from exchange_env import ExchangeEnv

SECRET = "hook-secret-0123456789abcdef0123"


class Receiver(http.server.BaseHTTPRequestHandler):
    calls = []
    fail_first = 2

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Receiver.calls.append((body, self.headers.get("X-Jitbroker-Signature", "")))
        status = 503 if len(Receiver.calls) <= Receiver.fail_first else 200
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


class HooksTest(unittest.TestCase):
    def test_revocation_reaches_the_hook_after_retries(self):
        d = tempfile.mkdtemp()
        server, port, cert = https_standin(Receiver, d)
        secret_file = os.path.join(d, "hook.secret")
        with open(secret_file, "w") as f:
            f.write(SECRET)
        env = ExchangeEnv(limits=(
            "hooks:\n  revocation_url: \"https://127.0.0.1:%d/revoked\"\n  secret_file: \"%s\"\n"
            "  ca_file: \"%s\"\n  initial_backoff: 100ms\n" % (port, secret_file, cert)))
        try:
            env.send_ticket("HOOK-1")
            status, _, r = env.exchange("HOOK-1")
            self.assertEqual(status, 200, r)
            env.send_ticket("HOOK-1", state="closed")
            ok = env.wait_for(lambda: len(Receiver.calls) >= 3, timeout=10)
            self.assertTrue(ok, "the hook got %d calls" % len(Receiver.calls))
            body, sig = Receiver.calls[-1]
            payload = json.loads(body)
            self.assertEqual((payload["lease"], payload["reason"], payload["ticket"]),
                             (r["lease_id"], "ticket_closed", "HOOK-1"))
            t = sig.split(",")[0][2:]
            mac = hmac.new(SECRET.encode(), t.encode() + b"." + body, hashlib.sha256).hexdigest()
            self.assertEqual(sig, "t=%s,v1=%s" % (t, mac))
            metrics = env.b.request("GET", "/metrics")[2].decode()
            self.assertTrue(env.wait_for(lambda: "jitbroker_revocation_jobs_pending 0" in
                                         env.b.request("GET", "/metrics")[2].decode(), timeout=3),
                            metrics)
            self.assertIn('jitbroker_revocation_hook_attempts_total{result="error"} 2', metrics)
        finally:
            env.close()
            server.shutdown()


if __name__ == "__main__":
    unittest.main()
