"""Each examples/*/run.sh, run against the binaries under test; each script asserts every step."""
import os
import shutil
import subprocess
import tempfile
import time
import unittest

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
BIN_DIR = os.path.dirname(os.environ.get("JITBROKER_BIN", os.path.join(ROOT, "build", "jitbroker")))


class ExamplesTest(unittest.TestCase):
    def run_example(self, name, bin_dir=BIN_DIR, cwd=None, script=None):
        env = dict(os.environ, BIN_DIR=bin_dir)
        for var in ("JITBROKER_URL", "JITBROKER_CA", "JITBROKER_SUBJECT_TOKEN"):
            env.pop(var, None)
        script = script or os.path.join(ROOT, "examples", name, "run.sh")
        r = subprocess.run(["bash", script], env=env, cwd=cwd, capture_output=True, text=True,
                           timeout=120)
        self.assertEqual(r.returncode, 0, r.stdout[-3000:] + r.stderr[-3000:])
        self.assertIn("%s: ok" % name, r.stdout)
        self.assertNotIn("FAILED", r.stdout + r.stderr)

    def test_ci_deploy(self):
        self.run_example("ci-deploy")

    def test_service_startup(self):
        self.run_example("service-startup")

    def test_operator_breakglass(self):
        self.run_example("operator-breakglass")

    def test_operator_ssh(self):
        self.run_example("operator-ssh")

    def test_ci_deploy_as_the_readme_runs_it(self):
        """`BIN_DIR=build examples/ci-deploy/run.sh` from the checkout: a relative BIN_DIR,
        and a script that changes directory."""
        root = os.path.realpath(ROOT)
        self.run_example("ci-deploy", bin_dir=os.path.relpath(os.path.realpath(BIN_DIR), root), cwd=root,
                         script="examples/ci-deploy/run.sh")

    def test_a_broker_that_dies_at_once_is_reported_at_once(self):
        """lib.sh stops waiting when jitbroker has exited and shows what it printed."""
        d = tempfile.mkdtemp(prefix="jitb-ex-")
        self.addCleanup(shutil.rmtree, d, True)
        with open(os.path.join(d, "jitbroker"), "w") as f:
            f.write("#!/bin/sh\necho 'jitbroker: cannot bind 127.0.0.1:0: gone' >&2\nexit 1\n")
        os.chmod(os.path.join(d, "jitbroker"), 0o755)
        os.symlink(os.path.join(os.path.realpath(BIN_DIR), "jitctl"), os.path.join(d, "jitctl"))
        t0 = time.time()
        r = subprocess.run(["bash", os.path.join(ROOT, "examples", "ci-deploy", "run.sh")],
                           env=dict(os.environ, BIN_DIR=d), capture_output=True, text=True, timeout=60)
        self.assertNotEqual(r.returncode, 0)
        self.assertLess(time.time() - t0, 3.0, r.stderr)
        self.assertIn("cannot bind 127.0.0.1:0: gone", r.stderr)
        self.assertIn("exited with status 1", r.stderr)

    def test_a_bin_dir_without_the_binaries_is_named(self):
        r = subprocess.run(["bash", os.path.join(ROOT, "examples", "ci-deploy", "run.sh")],
                           env=dict(os.environ, BIN_DIR="/nonexistent/build"), capture_output=True,
                           text=True, timeout=60)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("BIN_DIR=/nonexistent/build", r.stderr)


if __name__ == "__main__":
    unittest.main()
