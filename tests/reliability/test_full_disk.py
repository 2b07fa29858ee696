"""Full disk (issue 8): when the store cannot grow, issuance fails closed with a JSON 503 and
hands out nothing without a lease; the broker stays up and issues again once space returns.

Two ways to fill the disk, the same checks for both:
- a real 16 MiB tmpfs mounted over the data dir and filled to ENOSPC (needs root or
  CAP_SYS_ADMIN; skipped with a message where mounting is not permitted);
- RLIMIT_FSIZE on the running broker (prlimit(2), no privilege needed): no file it writes may
  grow past the audit log's present size, so the WAL and the audit log cannot grow (writes fail
  with EFBIG; SIGXFSZ is ignored, as a broker under a real limit would have to)."""
import json
import os
import resource
import shutil
import subprocess
import sys
import time
import unittest

from exchange_env import ExchangeEnv
from reliability_env import FORM, audit_verify, cert_body, token_body

PER_SUBJECT = 40  # a failed issuance that leaked its quota slot would run into this
LIMITS = "limits:\n  max_active_leases_per_subject: %d\n" % PER_SUBJECT
ATTEMPTS_WHILE_FULL = 60
# Exec'd in front of the broker, same pid: a real size limit kills a process that does not.
IGNORE_SIGXFSZ = ("import os, signal, sys; signal.signal(signal.SIGXFSZ, signal.SIG_IGN); "
                  "os.execv(sys.argv[1], sys.argv[1:])")


class FullDiskChecks:
    """The scenario; subclasses say how the disk fills up and how space returns."""

    def fill(self, env):
        raise NotImplementedError

    def free(self, env):
        raise NotImplementedError

    def issue(self, env, caller, i):
        if i % 3 == 2:
            return env.b.request("POST", "/v1/certificates", body=cert_body("DISK"),
                                 headers={"Content-Type": "application/json",
                                          "Authorization": "Bearer " + caller})
        return env.b.request("POST", "/v1/token", headers=FORM, body=token_body("DISK", caller))

    def run_scenario(self, env):
        caller = env.idp.github()
        env.send_ticket("DISK")
        issued = []
        for i in range(3):
            status, _, data = self.issue(env, caller, i)
            self.assertIn(status, (200, 201), data)
            issued.append(json.loads(data)["lease_id"])

        self.fill(env)
        statuses = []
        for i in range(ATTEMPTS_WHILE_FULL):
            status, hdrs, data = self.issue(env, caller, i)
            statuses.append(status)
            body = json.loads(data)
            if status in (200, 201):  # space a file already had; the lease must exist (below)
                issued.append(body["lease_id"])
                continue
            self.assertEqual(status, 503, data)
            self.assertTrue(hdrs["content-type"].startswith("application/json"))
            self.assertIn("error", body)
            self.assertIn("error_description", body)
            self.assertFalse({"access_token", "certificate", "private_key", "lease_id"} & set(body),
                             "a credential in a failure: %s" % data)
        self.assertEqual(statuses[-20:], [503] * 20, "issuance did not fail closed: %s" % statuses)
        # A ticket event cannot be stored either: 503, so the ITSM system delivers it again.
        from brokerproc import sign_event, ticket
        event = json.dumps({"ticket": ticket("DISK2", subjects=["x"])}).encode()
        status, _, data = env.b.request("POST", "/v1/tickets/events", body=event, headers={
            "Content-Type": "application/json", "X-Jitbroker-Signature": sign_event(event, env.secret)})
        self.assertEqual(status, 503, data)
        self.assertIsNone(env.b.proc.poll(), "the broker died on a full disk")
        self.assertEqual(env.b.request("GET", "/healthz")[0], 200)

        self.free(env)
        deadline, status = time.time() + 5, None
        while time.time() < deadline and status != 200:
            status, _, data = self.issue(env, caller, 0)
        self.assertEqual(status, 200, "no issuance once space returned: %s" % data)
        issued.append(json.loads(data)["lease_id"])
        for i in range(10):  # nothing leaked from the failed attempts (quota, store)
            status, _, data = self.issue(env, caller, i)
            self.assertIn(status, (200, 201), data)
            issued.append(json.loads(data)["lease_id"])

        for lease_id in issued:
            status, _, lease = env.admin_json("GET", "/v1/leases/" + lease_id)
            self.assertEqual((status, lease["state"]), (200, "active"), lease)
        verify = audit_verify(env.b.data_dir)
        self.assertEqual(verify.returncode, 0, verify.stdout + verify.stderr)
        with open(os.path.join(env.b.data_dir, "audit.log")) as f:
            audited = {json.loads(l).get("lease") for l in f if '"lease.issued"' in l}
        self.assertEqual([l for l in issued if l not in audited], [],
                         "credentials handed out without an audit record")
        self.assertEqual(env.send_ticket("DISK", state="closed")["revoked"], len(issued))


class TmpfsFullDiskTest(FullDiskChecks, unittest.TestCase):
    def setUp(self):
        self.env = ExchangeEnv(limits=LIMITS)
        self.mounted = False
        d = self.env.b.data_dir
        self.env.b.stop()
        keep = d + ".before-mount"
        shutil.copytree(d, keep)
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m,mode=0700", "tmpfs", d],
                           capture_output=True, text=True)
        if r.returncode != 0:
            self.env.close()
            self.skipTest("mounting a tmpfs is not permitted here (%s); the RLIMIT_FSIZE variant "
                          "still runs" % (r.stderr.strip() or "exit %d" % r.returncode))
        self.mounted = True
        for name in os.listdir(keep):
            src = os.path.join(keep, name)
            (shutil.copytree if os.path.isdir(src) else shutil.copy2)(src, os.path.join(d, name))
        self.env.b.start()

    def tearDown(self):
        self.env.b.stop()
        if self.mounted:
            subprocess.run(["umount", self.env.b.data_dir], check=False)
        self.env.close()

    def fill(self, env):
        self.filler = os.path.join(env.b.data_dir, "filler")
        fd = os.open(self.filler, os.O_WRONLY | os.O_CREAT, 0o600)
        chunk = 1 << 20
        try:
            for _ in range(100000):  # bounded: 16 MiB in ever smaller pieces, to the last byte
                try:
                    os.write(fd, b"\0" * chunk)
                except OSError:
                    if chunk == 1:
                        break
                    chunk //= 2
        finally:
            os.close(fd)
        self.assertEqual(os.statvfs(env.b.data_dir).f_bavail, 0)

    def free(self, env):
        os.unlink(self.filler)

    def test_a_full_tmpfs_fails_issuance_closed_and_the_broker_recovers(self):
        self.run_scenario(self.env)


class _FileSizeLimitedBroker:
    """A broker started under a wrapper that ignores SIGXFSZ, so RLIMIT_FSIZE makes its writes
    fail (EFBIG) instead of killing it."""

    def setUp(self):
        self.env = ExchangeEnv(limits=LIMITS)
        self.env.b.stop()
        self.env.b.cmd = [sys.executable, "-c", IGNORE_SIGXFSZ] + self.env.b.cmd
        self.env.b.start()

    def tearDown(self):
        self.env.close()


class FileSizeLimitFullDiskTest(_FileSizeLimitedBroker, FullDiskChecks, unittest.TestCase):
    def fill(self, env):
        cap = os.path.getsize(os.path.join(env.b.data_dir, "audit.log"))
        wal = os.path.join(env.b.data_dir, "broker.db-wal")
        self.assertGreater(os.path.getsize(wal), cap, "the WAL must lie past the cap")
        resource.prlimit(env.b.proc.pid, resource.RLIMIT_FSIZE, (cap, resource.RLIM_INFINITY))

    def free(self, env):
        resource.prlimit(env.b.proc.pid, resource.RLIMIT_FSIZE,
                         (resource.RLIM_INFINITY, resource.RLIM_INFINITY))

    def test_files_that_cannot_grow_fail_issuance_closed_and_the_broker_recovers(self):
        self.run_scenario(self.env)


class AuditLogFullTest(_FileSizeLimitedBroker, unittest.TestCase):
    """The store has room but the audit log cannot grow (RLIMIT_FSIZE at its size, the WAL
    emptied below that): a credential must not go out without its lease.issued record.

    Issuer::recordLease ends the just-recorded lease and answers 503 when the issuance's audit
    records cannot be written."""


    def test_no_credential_without_its_audit_record_when_only_the_audit_log_is_full(self):
        import sqlite3
        env, d = self.env, self.env.b.data_dir
        size = lambda f: os.path.getsize(os.path.join(d, f))
        caller = env.idp.github()
        env.send_ticket("AUDIT")
        conn = env.b.conn(timeout=30)

        def checkpoint():  # db pages out of the WAL, which restarts at offset 0
            db = sqlite3.connect(os.path.join(d, "broker.db"), timeout=10)
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            db.close()

        checkpoint()
        room = lambda: size("audit.log") - (2 * size("broker.db") + 65536)
        for _ in range(5000):  # denials are audited, not stored: the audit log outgrows the db
            if room() > 0:
                break
            env.b.request("POST", "/v1/token", headers=FORM, body=token_body("NONE", caller),
                          conn=conn)
        checkpoint()
        if size("broker.db-wal") != 0 or room() <= 0:
            self.skipTest("could not arrange a store with room beside a full audit log")
        resource.prlimit(env.b.proc.pid, resource.RLIMIT_FSIZE,
                         (size("audit.log"), resource.RLIM_INFINITY))
        returned = []
        for _ in range(5):
            status, _, data = env.b.request("POST", "/v1/token", headers=FORM,
                                            body=token_body("AUDIT", caller), conn=conn)
            self.assertIn(status, (200, 503), data)
            if status == 200:
                returned.append(json.loads(data)["lease_id"])
        resource.prlimit(env.b.proc.pid, resource.RLIMIT_FSIZE,
                         (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
        conn.close()
        leases = env.admin_json("GET", "/v1/leases?ticket=AUDIT")[2]["leases"]
        if not leases:
            self.skipTest("the store did not write either; nothing to learn")
        with open(os.path.join(d, "audit.log")) as f:
            audited = {json.loads(l).get("lease") for l in f if '"lease.issued"' in l}
        self.assertEqual([l for l in returned if l not in audited], [],
                         "credentials handed out without an audit record")
        self.assertEqual([l["id"] for l in leases
                          if l["state"] == "active" and l["id"] not in audited], [],
                         "active leases nobody can find in the audit log")


if __name__ == "__main__":
    unittest.main()
