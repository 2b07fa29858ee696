"""Database credentials (docs/database-credentials.md) against the PostgreSQL 15 server of the
ctest fixture `postgres`: the real broker over TLS makes a login role per lease, psql logs in
with it, and a closed ticket cuts its login, memberships and sessions (plain, after SET ROLE,
mid-query) within a second, then drops the role. Crashes (kill -9 through JITB_TEST_CRASH_AT)
between creating a role and answering, and between revocation steps, leave no usable role."""
import http.client
import json
import os
import secrets
import subprocess
import time
import unittest
from urllib.parse import urlsplit

from brokerproc import test_store_uri
from exchange_env import ExchangeEnv

POLICY = """
grants:
  - name: dba
    subjects: { issuer: "%(github)s" }
    database: { name: orders, roles: [@GROUP@], max_ttl: "1h" }
"""


def psql(uri, sql, check=True, timeout=30):
    r = subprocess.run(["psql", "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-d", uri,
                        "-c", sql], capture_output=True, text=True, timeout=timeout)
    if check and r.returncode != 0:
        raise AssertionError("psql failed: %s\n%s" % (sql, r.stderr))
    return r


class Cluster:
    """A database, a group role and the broker's own login on the fixture's server."""

    def __init__(self):
        server = test_store_uri()
        assert server, "no PostgreSQL: run through ctest -L integration_pg"
        u = urlsplit(server)
        # scripts/pg gives the superuser the test role's password.
        self.password = u.password
        self.host, self.port = u.hostname, u.port
        self.su = "postgresql://postgres:%s@%s:%d/postgres" % (self.password, self.host, self.port)
        tag = secrets.token_hex(4)
        self.db, self.group, self.broker = "dbt_app_" + tag, "dbt_ro_" + tag, "dbt_broker_" + tag
        self.broker_pw = secrets.token_hex(16)
        psql(self.su, "CREATE DATABASE %s" % self.db)
        # Exactly what docs/database-credentials.md tells an operator to run.
        psql(self.su, "CREATE ROLE %s LOGIN PASSWORD '%s' CREATEROLE" % (self.broker, self.broker_pw))
        psql(self.su, "GRANT pg_signal_backend TO %s" % self.broker)
        psql(self.su, "CREATE ROLE %s NOLOGIN" % self.group)
        psql(self.su, "GRANT %s TO %s WITH ADMIN OPTION" % (self.group, self.broker))
        self.app_su = self.uri("postgres", self.password)
        psql(self.app_su, "CREATE TABLE orders (id int, item text); INSERT INTO orders VALUES "
                          "(1, 'book'); CREATE TABLE payroll (id int, salary int); "
                          "GRANT SELECT ON orders TO %s" % self.group)

    def uri(self, user, password, db=None):
        return "postgresql://%s:%s@%s:%d/%s" % (user, password, self.host, self.port, db or self.db)

    def dsn_file(self, folder):
        path = os.path.join(folder, "orders.dsn")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(self.uri(self.broker, self.broker_pw) + "\n")
        return path

    def config(self, folder):
        return ('databases:\n  - name: orders\n    dsn_file: "%s"\n    host: "%s"\n'
                '    port: %d\n    database: "%s"\n'
                % (self.dsn_file(folder), self.host, self.port, self.db))

    def roles(self, prefix="jitb_lease_"):
        out = psql(self.su, "SELECT rolname, rolcanlogin FROM pg_roles WHERE "
                            "starts_with(rolname, '%s') ORDER BY 1" % prefix).stdout
        return [tuple(l.split("|")) for l in out.split()]

    def sessions(self, role):
        return int(psql(self.su, "SELECT count(*) FROM pg_stat_activity WHERE usename = '%s'"
                        % role).stdout.strip())

    def drop(self):
        for role, _ in self.roles():
            psql(self.su, "DROP OWNED BY %s; DROP ROLE %s" % (role, role), check=False)
        psql(self.su, "DROP DATABASE IF EXISTS %s WITH (FORCE)" % self.db, check=False)
        for r in (self.group, self.broker):
            psql(self.su, "DROP OWNED BY %s; DROP ROLE IF EXISTS %s" % (r, r), check=False)


class DatabaseCredentialsTest(unittest.TestCase):
    def setUp(self):
        self.pg = Cluster()
        self.addCleanup(self.pg.drop)

    def broker(self, env=None):
        folder = os.path.join("/tmp", "jitb-dbt-" + secrets.token_hex(4))
        os.makedirs(folder, mode=0o700)
        e = ExchangeEnv(limits=self.pg.config(folder), policy=POLICY.replace("@GROUP@", self.pg.group),
                        env=env)
        self.addCleanup(e.close)
        return e

    def issue(self, env, tid, **extra):
        body = dict({"ticket": tid}, **extra)
        return env.b.json("POST", "/v1/database/credentials", body=json.dumps(body),
                          headers={"Content-Type": "application/json",
                                   "Authorization": "Bearer " + env.idp.github()})

    def session(self, cred, *lines):
        """A psql session of the credential kept open on a pipe, after running `lines`."""
        env = dict(os.environ, PGPASSWORD=cred["password"])
        p = subprocess.Popen(["psql", "-X", "-q", "-t", "-A", "-h", cred["host"], "-p",
                              str(cred["port"]), "-U", cred["username"], "-d", cred["database"]],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, env=env, text=True)
        for l in lines:
            p.stdin.write(l + "\n")
        p.stdin.flush()
        self.addCleanup(lambda: p.poll() is None and p.kill())
        return p

    def test_a_role_logs_in_with_its_group_rights_only_and_is_cut_at_ticket_close(self):
        env = self.broker()
        env.send_ticket("DB-1", access=["dba"])
        status, hdrs, cred = self.issue(env, "DB-1")
        self.assertEqual(status, 201, cred)
        self.assertEqual(hdrs.get("cache-control"), "no-store")
        self.assertEqual(set(cred), {"username", "password", "host", "port", "database",
                                     "valid_until", "lease_id"})
        self.assertEqual(cred["username"], "jitb_" + cred["lease_id"])
        self.assertGreaterEqual(len(cred["password"]), 43)
        self.assertEqual((cred["host"], cred["port"], cred["database"]),
                         (self.pg.host, self.pg.port, self.pg.db))
        user = self.pg.uri(cred["username"], cred["password"])
        # What the group allows, and nothing more.
        self.assertEqual(psql(user, "SELECT item FROM orders").stdout.strip(), "book")
        for forbidden in ("SELECT * FROM payroll", "INSERT INTO orders VALUES (2, 'x')",
                          "CREATE ROLE x", "CREATE DATABASE x", "CREATE TABLE public.t (i int)"):
            r = psql(user, forbidden, check=False)
            self.assertNotEqual(r.returncode, 0, forbidden)
            self.assertIn("permission denied", r.stderr, forbidden)
        attrs = psql(self.pg.su, "SELECT rolsuper, rolcreaterole, rolcreatedb, rolreplication, "
                                 "rolbypassrls, rolconnlimit, rolvaliduntil IS NOT NULL FROM "
                                 "pg_roles WHERE rolname = '%s'" % cred["username"]).stdout.strip()
        self.assertEqual(attrs, "f|f|f|f|f|10|t")
        member_of = psql(self.pg.su, "SELECT string_agg(b.rolname, ',') FROM pg_auth_members m "
                                     "JOIN pg_roles b ON b.oid = m.roleid JOIN pg_roles u ON "
                                     "u.oid = m.member WHERE u.rolname = '%s'"
                         % cred["username"]).stdout.strip()
        self.assertEqual(member_of, self.pg.group)
        # The lease as the admin API shows it.
        status, _, lease = env.admin_json("GET", "/v1/leases/" + cred["lease_id"])
        self.assertEqual((status, lease["kind"], lease["database"], lease["roles"]),
                         (200, "database", "orders", [self.pg.group]))

        # Three sessions: plain, after SET ROLE to the group, and inside a long query.
        plain = self.session(cred, "SELECT 1;")
        set_role = self.session(cred, "SET ROLE %s;" % self.pg.group, "SELECT 2;")
        sleeping = self.session(cred, "SELECT pg_sleep(60);")
        self.assertTrue(env.wait_for(lambda: self.pg.sessions(cred["username"]) == 3, 10))
        self.assertEqual(plain.stdout.readline().strip(), "1")
        self.assertEqual(set_role.stdout.readline().strip(), "2")

        t0 = time.monotonic()
        env.send_ticket("DB-1", access=["dba"], state="closed")
        while self.pg.sessions(cred["username"]) > 0 and time.monotonic() - t0 < 5:
            time.sleep(0.01)
        cut = time.monotonic() - t0
        print("\nsessions of the role gone %.0f ms after the ticket close" % (cut * 1000))
        self.assertLess(cut, 1.0)
        # The long query ended with the administrator's termination, not after 60 s.
        sleeping.wait(timeout=5)
        self.assertIn("terminating connection due to administrator command",
                      sleeping.stderr.read())
        for p in (plain, set_role):  # their next statement finds the connection gone
            p.stdin.write("SELECT 3;\n")
            p.stdin.close()
            self.assertNotEqual(p.wait(timeout=10), 0)
        # A new login fails, and shortly the role is gone.
        r = psql(user, "SELECT 1", check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertTrue(env.wait_for(lambda: self.pg.roles() == [], 5), self.pg.roles())
        def revocation():
            return env.admin_json("GET", "/v1/leases/" + cred["lease_id"])[2].get("revocation", {})
        self.assertTrue(env.wait_for(lambda: revocation().get("role_dropped") is True, 5))
        rev = revocation()
        self.assertEqual((rev["sessions_terminated"], rev["sessions_remaining"],
                          rev["login_disabled"], rev["membership_revoked"]), (3, 0, True, True))

    def test_bad_requests_and_grants_without_a_database_section(self):
        env = self.broker()
        env.send_ticket("DB-2", access=["dba"])
        for body in ("{", json.dumps({"grant": "dba"}), json.dumps({"ticket": 7}),
                     json.dumps({"ticket": "DB-2", "ttl": -1})):
            status, _, r = env.b.json("POST", "/v1/database/credentials", body=body,
                                      headers={"Content-Type": "application/json",
                                               "Authorization": "Bearer " + env.idp.github()})
            self.assertEqual(status, 400, (body, r))
            self.assertIn("error", r)
        status, _, r = env.b.json("POST", "/v1/database/credentials",
                                  body=json.dumps({"ticket": "DB-2"}),
                                  headers={"Content-Type": "application/json"})
        self.assertEqual(status, 401, r)
        env.send_ticket("DB-3", state="closed", access=["dba"])
        status, _, r = self.issue(env, "DB-3")
        self.assertEqual((status, r.get("reason")), (403, "ticket_closed"), r)
        self.assertEqual(self.pg.roles(), [])

    def test_kill_9_between_creating_the_role_and_answering_leaves_no_usable_role(self):
        env = self.broker(env={"JITB_TEST_CRASH_AT": "db_role_created"})
        env.send_ticket("DB-4", access=["dba"])
        with self.assertRaises(Exception):
            self.issue(env, "DB-4")
        self.assertEqual(env.b.proc.wait(timeout=10), -9)
        made = self.pg.roles()
        self.assertEqual(len(made), 1, made)  # the role exists, its password was never sent
        env.b.stop()
        env.b.env.pop("JITB_TEST_CRASH_AT")
        env.b.start()
        # The reaper ends the lease whose role was never handed out, then drops the role.
        self.assertTrue(env.wait_for(lambda: self.pg.roles() == [], 30), self.pg.roles())
        lease_id = made[0][0][len("jitb_"):]
        status, _, lease = env.admin_json("GET", "/v1/leases/" + lease_id)
        self.assertEqual((status, lease["state"], lease["reason"]),
                         (200, "revoked", "activation_interrupted"), lease)

    def test_kill_9_between_revocation_steps_leaves_no_usable_role(self):
        env = self.broker(env={"JITB_TEST_CRASH_AT": "db_login_disabled"})
        env.send_ticket("DB-5", access=["dba"])
        status, _, cred = self.issue(env, "DB-5")
        self.assertEqual(status, 201, cred)
        s = self.session(cred, "SELECT pg_sleep(60);")
        self.assertTrue(env.wait_for(lambda: self.pg.sessions(cred["username"]) == 1, 10))
        try:
            env.send_ticket("DB-5", access=["dba"], state="closed")
        except (ConnectionError, http.client.HTTPException):
            # The revoker acts on the committed end at once, on its own thread: its crash
            # point may come before the close's answer is written.
            pass
        self.assertEqual(env.b.proc.wait(timeout=10), -9)
        # Killed after NOLOGIN: the login is already refused, the session still there.
        self.assertEqual(self.pg.roles(), [(cred["username"], "f")])
        env.b.stop()
        env.b.env.pop("JITB_TEST_CRASH_AT")
        env.b.start()
        self.assertTrue(env.wait_for(lambda: self.pg.roles() == [], 15), self.pg.roles())
        self.assertEqual(self.pg.sessions(cred["username"]), 0)
        self.assertIsNotNone(s.wait(timeout=5))

    def test_jitctl_db_runs_a_command_as_the_role_and_revokes_when_it_ends(self):
        env = self.broker()
        env.send_ticket("DB-7", access=["dba"])
        jitctl = os.environ.get("JITCTL_BIN", "jitctl")
        run_env = dict(os.environ, JITBROKER_URL=env.url, JITBROKER_CA=env.b.ca_file,
                       JITBROKER_SUBJECT_TOKEN=env.idp.github())
        script = ('psql -X -t -A -c "SELECT current_user || \' \' || count(*) FROM orders" && '
                  'test -n "$PGPASSWORD" && exit 3')
        r = subprocess.run([jitctl, "db", "--ticket", "DB-7", "--", "sh", "-c", script],
                           env=run_env, capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 3, r.stderr)  # the command's own code
        user, rows = r.stdout.split()
        self.assertTrue(user.startswith("jitb_lease_"), r.stdout)
        self.assertEqual(rows, "1")
        # Revoked by jitctl with the password alone: the lease ended as the holder's doing.
        status, _, lease = env.admin_json("GET", "/v1/leases/" + user[len("jitb_"):])
        self.assertEqual((status, lease["state"], lease["reason"]), (200, "revoked", "holder_revoked"))
        self.assertTrue(env.wait_for(lambda: self.pg.roles() == [], 5), self.pg.roles())

    def test_100_leases_of_one_ticket_revoked(self):
        env = self.broker()
        env.send_ticket("DB-6", access=["dba"])
        creds = []
        for _ in range(100):
            status, _, cred = self.issue(env, "DB-6")
            self.assertEqual(status, 201, cred)
            creds.append(cred)
        procs = [self.session(c, "SELECT 1;") for c in creds]
        like = "starts_with(usename, 'jitb_lease_')"
        count = lambda: int(psql(self.pg.su, "SELECT count(*) FROM pg_stat_activity WHERE "
                                 + like).stdout.strip())
        self.assertTrue(env.wait_for(lambda: count() == 100, 30), count())
        t0 = time.monotonic()
        env.send_ticket("DB-6", access=["dba"], state="closed")
        while count() > 0 and time.monotonic() - t0 < 30:
            time.sleep(0.01)
        gone = time.monotonic() - t0
        self.assertEqual(count(), 0)
        self.assertTrue(env.wait_for(lambda: self.pg.roles() == [], 60))
        dropped = time.monotonic() - t0
        print("\n100 leases: every session gone %.0f ms after the close, every role dropped "
              "after %.0f ms" % (gone * 1000, dropped * 1000))
        for p in procs:
            p.kill()


if __name__ == "__main__":
    unittest.main()
