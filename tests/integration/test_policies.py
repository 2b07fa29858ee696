"""Policy reload (SIGHUP and POST /v1/policies/reload): atomic, and a broken file keeps the
old set in force."""
import os
import signal
import time
import unittest

from exchange_env import ExchangeEnv
from oidc import GITHUB_ISS

EXTRA = '  - name: extra\n    subjects: { issuer: "%s" }\n    token: { audience: "extra-api" }\n' % GITHUB_ISS


class PolicyReloadTest(unittest.TestCase):
    def setUp(self):
        self.env = ExchangeEnv()
        self.pol = os.path.join(self.env.b.tmp, "policies", "test.yaml")
        self.original = open(self.pol).read()
        self.env.send_ticket("CHG-R", access=["extra", "deploy"])

    def tearDown(self):
        self.env.close()

    def write(self, text):
        with open(self.pol + ".new", "w") as f:
            f.write(text)
        os.replace(self.pol + ".new", self.pol)

    def reload(self):
        return self.env.admin_json("POST", "/v1/policies/reload")

    def test_reload_adds_a_grant_and_a_broken_file_keeps_the_old_set(self):
        status, _, r = self.env.exchange("CHG-R", grant="extra")
        self.assertEqual((status, r["error"]), (400, "invalid_grant"))
        self.write(self.original + EXTRA)
        status, _, r = self.reload()
        self.assertEqual((status, r["outcome"]), (200, "reloaded"))
        status, _, r = self.env.exchange("CHG-R", grant="extra")
        self.assertEqual(status, 200, r)
        self.write(self.original + "  - name: broken\n    tokn: {}\n")
        status, _, r = self.reload()
        self.assertEqual(status, 400)
        self.assertRegex(r["error_description"], r"test\.yaml:\d+: .*tokn")
        status, _, r = self.env.exchange("CHG-R", grant="extra")  # the old set still rules
        self.assertEqual(status, 200, r)
        self.assertEqual(self.env.b.json("POST", "/v1/policies/reload")[0], 401)

    def test_sighup_reloads(self):
        self.write(self.original + EXTRA)
        self.env.b.signal(signal.SIGHUP)
        ok = self.env.wait_for(lambda: self.env.exchange("CHG-R", grant="extra")[0] == 200, 3.0)
        self.assertTrue(ok)
        self.assertIsNone(self.env.b.proc.poll())
        log = open(os.path.join(self.env.b.data_dir, "audit.log")).read()
        self.assertIn("policy.reloaded", log)


if __name__ == "__main__":
    unittest.main()
