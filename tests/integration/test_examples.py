"""Each examples/*/run.sh, run against the binaries under test; each script asserts every step."""
import os
import subprocess
import unittest

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
BIN_DIR = os.path.dirname(os.environ.get("JITBROKER_BIN", os.path.join(ROOT, "build", "jitbroker")))


class ExamplesTest(unittest.TestCase):
    def run_example(self, name):
        env = dict(os.environ, BIN_DIR=BIN_DIR)
        for var in ("JITBROKER_URL", "JITBROKER_CA", "JITBROKER_SUBJECT_TOKEN"):
            env.pop(var, None)
        r = subprocess.run(["bash", os.path.join(ROOT, "examples", name, "run.sh")], env=env,
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stdout[-3000:] + r.stderr[-3000:])
        self.assertIn("%s: ok" % name, r.stdout)
        self.assertNotIn("FAILED", r.stdout + r.stderr)

    def test_ci_deploy(self):
        self.run_example("ci-deploy")

    def test_service_startup(self):
        self.run_example("service-startup")

    def test_operator_breakglass(self):
        self.run_example("operator-breakglass")


if __name__ == "__main__":
    unittest.main()
