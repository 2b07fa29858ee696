"""SSH certificates end to end (docs/api.md#ssh-certificates): issued by the real binary over
TLS, read by the real ssh-keygen, and accepted or refused by a real sshd that trusts the
broker's SSH CA and reads the broker's KRL."""
import json
import os
import struct
import subprocess
import time
import unittest

from exchange_env import ExchangeEnv
from sshd import Sshd

POLICY = """
grants:
  - name: admin-shell
    subjects: { issuer: "%(github)s" }
    ssh:
      principals: ["{claims.email}", "ticket-{ticket.id}", "ops-admin"]
      max_ttl: "1h"
  - name: dba
    subjects: { issuer: "%(github)s" }
    ssh: { principals: ["dba"] }
  - name: locked
    subjects: { issuer: "%(github)s" }
    ssh:
      principals: ["ops-admin"]
      extensions: []
      force_command: "/bin/echo forced-command-ran"
      source_address: "127.0.0.1/32,::1"
"""

ACCESS = ["admin-shell", "dba", "locked"]


def run(*cmd, **kw):
    return subprocess.run(list(cmd), capture_output=True, text=True, timeout=60, **kw)


def krl_serials(data):
    """The serials a KRL lists (PROTOCOL.krl: lists and ranges under a CA), read here rather
    than by the broker's code."""
    magic, fmt, version, _, _ = struct.unpack(">QIQQQ", data[:36])
    assert magic == 0x5353484B524C0A00 and fmt == 1

    def string(buf, i):
        (n,) = struct.unpack(">I", buf[i:i + 4])
        return buf[i + 4:i + 4 + n], i + 4 + n

    _, i = string(data, 36)  # reserved
    _, i = string(data, i)   # comment
    out = set()
    while i < len(data):
        kind = data[i]
        section, i = string(data, i + 1)
        assert kind == 1, kind
        _, j = string(section, 0)  # CA key
        _, j = string(section, j)  # reserved
        while j < len(section):
            sub = section[j]
            body, j = string(section, j + 1)
            if sub == 0x20:
                out.update(struct.unpack(">%dQ" % (len(body) // 8), body))
            elif sub == 0x21:
                lo, hi = struct.unpack(">QQ", body)
                out.update(range(lo, hi + 1))
    return version, out


class SshTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.env = ExchangeEnv(policy=POLICY,
                              limits="limits:\n  max_active_leases_per_subject: 5000\n")
        cls.d = cls.env.b.tmp
        for t in ("SSH-1", "SSH-2", "SSH-BULK"):
            cls.env.send_ticket(t, access=ACCESS)
        status, _, ca = cls.env.b.request("GET", "/v1/ssh/ca.pub")
        assert status == 200, status
        cls.ca_pub = ca.decode()
        cls.sshd = Sshd(cls.d, cls.ca_pub, ["ops-admin"], cls.fetch_krl())
        cls.key = cls.keypair("id_ed25519", "ed25519")

    @classmethod
    def tearDownClass(cls):
        cls.sshd.stop()
        cls.env.close()

    @classmethod
    def fetch_krl(cls, conn=None):
        status, hdrs, body = cls.env.b.request("GET", "/v1/ssh/krl", conn=conn)
        assert status == 200, status
        return body

    @classmethod
    def keypair(cls, name, kind, bits=None):
        path = os.path.join(cls.d, name)
        cmd = ["ssh-keygen", "-q", "-t", kind, "-N", "", "-f", path]
        if bits:
            cmd += ["-b", str(bits)]
        subprocess.run(cmd, check=True, capture_output=True)
        return path

    def request(self, ticket, key=None, grant="admin-shell", conn=None, **extra):
        with open((key or self.key) + ".pub") as f:
            body = dict(ticket=ticket, public_key=f.read(), grant=grant, **extra)
        headers = {"Content-Type": "application/json",
                   "Authorization": "Bearer " + self.env.idp.github(email="alice@example.com")}
        status, _, r = self.env.b.request("POST", "/v1/ssh/certificates", body=json.dumps(body),
                                          headers=headers, conn=conn)
        return status, json.loads(r)

    def issue(self, ticket="SSH-1", key=None, name="cert", **kw):
        status, r = self.request(ticket, key, **kw)
        self.assertEqual(status, 201, r)
        path = os.path.join(self.d, name + "-cert.pub")
        with open(path, "w") as f:
            f.write(r["certificate"] + "\n")
        return r, path

    def refresh_krl(self):
        self.sshd.set_krl(self.fetch_krl())

    def test_good_certificate_logs_in_and_runs_a_command(self):
        r, cert = self.issue(name="good")
        self.assertEqual(r["principals"], ["alice@example.com", "ticket-SSH-1", "ops-admin"])
        self.assertEqual(r["key_id"], r["lease_id"])
        shown = run("ssh-keygen", "-L", "-f", cert).stdout
        self.assertIn('Key ID: "%s"' % r["lease_id"], shown)
        self.assertIn("Serial: %s" % r["serial"], shown)
        self.assertIn("permit-pty", shown)
        out = self.sshd.run(self.key, cert, "echo hello-$((6*7))")
        self.assertEqual((out.returncode, out.stdout.strip()), (0, "hello-42"),
                         out.stderr + self.sshd.log_text()[-2000:])
        status, _, lease = self.env.admin_json("GET", "/v1/leases/" + r["lease_id"])
        self.assertEqual((lease["kind"], lease["serial"], lease["state"]),
                         ("ssh", r["serial"], "active"))

    def test_each_accepted_key_type_and_critical_options_parse_with_ssh_keygen(self):
        for kind, bits in (("ecdsa", 256), ("rsa", 3072)):
            key = self.keypair("id_" + kind, kind, bits)
            r, cert = self.issue(key=key, name=kind, grant="locked")
            shown = run("ssh-keygen", "-L", "-f", cert)
            self.assertEqual(shown.returncode, 0, shown.stderr)
            self.assertIn("force-command /bin/echo forced-command-ran", shown.stdout)
            self.assertIn("source-address 127.0.0.1/32,::1", shown.stdout)
            # sshd runs the forced command whatever the client asks for.
            out = self.sshd.run(key, cert, "echo not-this")
            self.assertEqual(out.stdout.strip(), "forced-command-ran", out.stderr)

    def leases_of(self, ticket):
        path = "/v1/leases?ticket=%s&limit=1000" % ticket
        return len(self.env.admin_json("GET", path)[2]["leases"])

    def test_refused_keys_are_400_and_leave_no_lease(self):
        before = self.leases_of("SSH-1")
        small = self.keypair("id_rsa2048", "rsa", 2048)
        status, r = self.request("SSH-1", small)
        self.assertEqual(status, 400, r)
        self.assertIn("3072", r.get("error_description", "") + r["error"])
        for bad in ("ssh-dss AAAAB3NzaC1kc3M=", "not a key", ""):
            body = json.dumps({"ticket": "SSH-1", "public_key": bad})
            headers = {"Content-Type": "application/json",
                       "Authorization": "Bearer " + self.env.idp.github()}
            status, _, r = self.env.b.json("POST", "/v1/ssh/certificates", body=body,
                                           headers=headers)
            self.assertEqual(status, 400, r)
            self.assertIn("error", r)
        self.assertEqual(self.leases_of("SSH-1"), before)

    def test_wrong_principal_is_refused(self):
        _, cert = self.issue(grant="dba", name="dba")
        out = self.sshd.run(self.key, cert)
        self.assertEqual(out.returncode, 255, out.stdout)
        self.assertNotIn("hello-from-sshd", out.stdout)

    def test_expired_certificate_is_refused(self):
        r, cert = self.issue(name="short", ttl=1)
        self.assertLessEqual(
            time.mktime(time.strptime(r["valid_before"], "%Y-%m-%dT%H:%M:%SZ")) -
            time.mktime(time.strptime(r["valid_after"], "%Y-%m-%dT%H:%M:%SZ")), 62)
        time.sleep(2.1)
        out = self.sshd.run(self.key, cert)
        self.assertEqual(out.returncode, 255, out.stdout)

    def test_closed_ticket_is_refused_once_the_krl_is_refreshed(self):
        r, cert = self.issue(ticket="SSH-2", name="closing")
        _, other = self.issue(ticket="SSH-1", name="staying")
        self.refresh_krl()
        self.assertEqual(self.sshd.run(self.key, cert).returncode, 0)
        version_before, _ = krl_serials(self.fetch_krl())
        self.env.send_ticket("SSH-2", state="closed", access=ACCESS)
        krl = self.fetch_krl()
        version, serials = krl_serials(krl)
        self.assertIn(int(r["serial"]), serials)
        self.assertGreater(version, version_before)
        self.sshd.set_krl(krl)
        out = self.sshd.run(self.key, cert)
        self.assertEqual(out.returncode, 255, out.stdout)
        q = run("ssh-keygen", "-Q", "-f", self.sshd.krl_file, cert)
        self.assertEqual(q.returncode, 1, q.stdout + q.stderr)
        self.assertIn("REVOKED", q.stdout)
        q = run("ssh-keygen", "-Q", "-f", self.sshd.krl_file, other)
        self.assertEqual(q.returncode, 0, q.stdout + q.stderr)
        self.assertEqual(self.sshd.run(self.key, other).returncode, 0)

    def test_a_thousand_leases_are_in_the_krl_within_a_second_of_the_close(self):
        conn = self.env.b.conn(timeout=60)
        serials, certs = set(), []
        try:
            for i in range(1000):
                status, r = self.request("SSH-BULK", conn=conn)
                self.assertEqual(status, 201, r)
                serials.add(int(r["serial"]))
                if i % 250 == 0:
                    certs.append(r["certificate"])
        finally:
            conn.close()
        self.assertEqual(len(serials), 1000)
        self.assertFalse(serials & krl_serials(self.fetch_krl())[1])
        closed = time.monotonic()
        self.env.send_ticket("SSH-BULK", state="closed", access=ACCESS)
        while True:
            krl = self.fetch_krl()
            if serials <= krl_serials(krl)[1]:
                break
            self.assertLess(time.monotonic() - closed, 5, "the KRL lags the close")
        elapsed = time.monotonic() - closed
        print("\n1000 SSH leases: every serial in the served KRL %.3f s after the close "
              "(%d bytes)" % (elapsed, len(krl)))
        self.assertLess(elapsed, 1.0)
        path = os.path.join(self.d, "bulk.krl")
        with open(path, "wb") as f:
            f.write(krl)
        for n, text in enumerate(certs):
            c = os.path.join(self.d, "bulk%d-cert.pub" % n)
            with open(c, "w") as f:
                f.write(text + "\n")
            self.assertEqual(run("ssh-keygen", "-Q", "-f", path, c).returncode, 1)

    def jitctl(self, *args, token=None):
        env = dict(os.environ, JITBROKER_URL=self.env.url, JITBROKER_CA=self.env.b.ca_file,
                   JITBROKER_SUBJECT_TOKEN=token or self.env.idp.github(email="alice@example.com"))
        env.pop("SSH_AUTH_SOCK", None)
        return run(os.environ.get("JITCTL_BIN", "jitctl"), *args, env=env)

    def lease_states(self, ticket):
        path = "/v1/leases?ticket=%s&limit=1000" % ticket
        return {l["id"]: l["state"] for l in self.env.admin_json("GET", path)[2]["leases"]}

    def test_jitctl_ssh_logs_in_exits_with_ssh_code_and_revokes_the_lease(self):
        before = self.lease_states("SSH-1")
        ssh_args = self.sshd.ssh_args("unused")[1:]  # the options, without "ssh"
        i = ssh_args.index("-i")
        del ssh_args[i:i + 2]
        r = self.jitctl("ssh", "--ticket", "SSH-1", "--grant", "admin-shell", "--", *ssh_args,
                        "echo via-jitctl; exit 3")
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertEqual(r.stdout.strip(), "via-jitctl")
        new = {k: v for k, v in self.lease_states("SSH-1").items() if k not in before}
        self.assertEqual(list(new.values()), ["revoked"], new)
        # A refused login is ssh's 255, and the lease is revoked all the same.
        before = self.lease_states("SSH-1")
        r = self.jitctl("ssh", "--ticket", "SSH-1", "--grant", "dba", "--", *ssh_args, "true")
        self.assertEqual(r.returncode, 255, r.stderr)
        new = {k: v for k, v in self.lease_states("SSH-1").items() if k not in before}
        self.assertEqual(list(new.values()), ["revoked"], new)

    def test_jitctl_ssh_cert_writes_a_certificate_sshd_accepts(self):
        key = self.keypair("id_cli", "ed25519")
        out = key + "-cert.pub"
        r = self.jitctl("ssh-cert", "--ticket", "SSH-1", "--public-key", key + ".pub",
                        "--out", out, "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        info = json.loads(r.stdout)
        self.assertEqual(info["key_id"], info["lease_id"])
        self.assertEqual(os.stat(out).st_mode & 0o777, 0o600)
        self.assertEqual(self.sshd.run(key, out).returncode, 0)
        # Someone else cannot end this lease.
        other = self.env.idp.github(repo="acme/other")
        status, _, body = self.env.b.json(
            "POST", "/v1/ssh/revoke", body=json.dumps({"lease_id": info["lease_id"]}),
            headers={"Content-Type": "application/json", "Authorization": "Bearer " + other})
        self.assertEqual(status, 404, body)
        self.assertEqual(self.lease_states("SSH-1")[info["lease_id"]], "active")

    def test_jitctl_ssh_cert_adds_to_a_running_agent_for_the_certificate_lifetime(self):
        agent = subprocess.run(["ssh-agent", "-s"], capture_output=True, text=True, check=True)
        env = dict(os.environ)
        for line in agent.stdout.split(";"):
            if "=" in line and line.strip().startswith("SSH_"):
                k, v = line.strip().split("=", 1)
                env[k] = v
        try:
            key = self.keypair("id_agent", "ed25519")
            r = subprocess.run(
                [os.environ.get("JITCTL_BIN", "jitctl"), "ssh-cert", "--ticket", "SSH-1",
                 "--public-key", key + ".pub", "--out", key + "-cert.pub", "--agent", "--ttl",
                 "5m"],
                env=dict(env, JITBROKER_URL=self.env.url, JITBROKER_CA=self.env.b.ca_file,
                         JITBROKER_SUBJECT_TOKEN=self.env.idp.github(email="alice@example.com")),
                capture_output=True, text=True, timeout=60)
            self.assertEqual(r.returncode, 0, r.stderr)
            listed = subprocess.run(["ssh-add", "-l"], env=env, capture_output=True, text=True)
            self.assertIn("ED25519-CERT", listed.stdout)
        finally:
            subprocess.run(["kill", env.get("SSH_AGENT_PID", "0")], capture_output=True)


if __name__ == "__main__":
    unittest.main()
