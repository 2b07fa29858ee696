"""Three `jitbroker serve` replicas on one PostgreSQL store are one broker (docs/operations.md,
high availability): what one issues the others introspect, list and revoke; a closed ticket is
seen everywhere within a second; kill -9 of a replica, a stopped database and a promoted standby
lose nothing a client was given. The suite runs its own PostgreSQL servers (scripts/pg): it
stops them and fails them over.

JITB_REPLICAS_LEASES sets the leases of the ticket-close test (default 600; the
issue's figure is 10000), JITB_REPLICAS_KILL_ROUNDS the kill -9 rounds (default 10)."""
import os
import shutil
import subprocess
import sys
import time
import unittest

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp

from brokerproc import postgres_database, verify_audit_chain
from exchange_env import wait_for
from replicas import Cluster, Load, PgServer, report, run_threads, start_threads

JITCTL = os.environ.get("JITCTL_BIN", "jitctl")
LEASES = int(os.environ.get("JITB_REPLICAS_LEASES", "600"))
KILL_ROUNDS = int(os.environ.get("JITB_REPLICAS_KILL_ROUNDS", "10"))



class ReplicaCase(unittest.TestCase):
    """Starts clusters on demand inside the test (a setUp that fails is an error, never an
    expected failure) and prints the replicas' logs when a test fails."""

    def cluster(self, n=3, store_uri=None, limits="", **kw):
        c = Cluster(n, store_uri or self.database(), limits=limits, **kw)
        self.clusters.append(c)
        self.addCleanup(c.close)
        return c.start()

    def database(self):
        return postgres_database(self.pg.uri, os.path.join("/replicas", self.id()))

    def run(self, result=None):
        self.clusters = []
        bad = (lambda: len(result.failures) + len(result.errors)) if result else (lambda: 0)
        before = bad()
        out = super().run(result)
        if bad() > before:
            for c in self.clusters:
                sys.stderr.write(c.log_tails() + "\n")
        return out

    # Certificates: the CA, CRL and OCSP checked with OpenSSL (through `cryptography`).
    def issuer(self, c, i):
        status, _, pem = c.b[i].request("GET", "/v1/ca/chain.pem")
        self.assertEqual(status, 200)
        # The issuing CA comes first (cryptography 38, Debian 12's, reads one PEM at a time).
        return pem, x509.load_pem_x509_certificate(pem)

    def crl(self, c, i, issuer):
        status, _, der = c.b[i].request("GET", "/v1/ca/crl")
        self.assertEqual(status, 200, der)
        crl = x509.load_der_x509_crl(der)
        self.assertTrue(crl.is_signature_valid(issuer.public_key()), "replica %d's CRL" % i)
        return crl

    @staticmethod
    def ocsp_request(cert, issuer):
        return ocsp.OCSPRequestBuilder().add_certificate(cert, issuer, hashes.SHA1()).build() \
            .public_bytes(serialization.Encoding.DER)

    @staticmethod
    def ocsp_status(c, i, request, conn=None):
        """GOOD / REVOKED / UNKNOWN, or the response status (TRY_LATER, ...) when not successful."""
        status, _, data = c.b[i].request("POST", "/v1/ocsp", body=request, conn=conn,
                                         headers={"Content-Type": "application/ocsp-request"})
        if status != 200:
            return "HTTP %d" % status
        resp = ocsp.load_der_ocsp_response(data)
        if resp.response_status != ocsp.OCSPResponseStatus.SUCCESSFUL:
            return resp.response_status.name
        return resp.certificate_status.name

    def issue_certificate(self, c, i, tid):
        status, r = c.certificate(i, tid)
        self.assertEqual(status, 201, r)
        return r, x509.load_pem_x509_certificate(r["certificate"].encode())

    def verify_audit(self, c):
        """Every replica's audit chain: its audit.log where there is one, and, with audit records
        kept in the store, every chain there (`jitctl audit verify --config`; a jitctl without
        that option says so)."""
        checked = 0
        for b in c.b:
            path = os.path.join(b.data_dir, "audit.log")
            if os.path.exists(path):
                ok, lines, bad = verify_audit_chain(path)
                self.assertTrue(ok, "%s: audit chain broken at line %d" % (path, bad))
                checked += lines
        r = subprocess.run([JITCTL, "audit", "verify", "--config", c.b[0].cmd[-1]],
                           capture_output=True, text=True, timeout=120)
        if "unknown option --config" not in r.stderr:
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            checked += 1
        self.assertGreater(checked, 0, "no audit chain to check")


class ServerOfItsOwn(ReplicaCase):
    """A PostgreSQL server for the class's tests (a database per test)."""

    @classmethod
    def setUpClass(cls):
        import tempfile
        cls.pg_parent = tempfile.mkdtemp(prefix="jitb-replicas-pg-")
        cls.pg = PgServer(cls.pg_parent)

    @classmethod
    def tearDownClass(cls):
        cls.pg.stop()
        shutil.rmtree(cls.pg_parent, ignore_errors=True)


class OneDatabase(ServerOfItsOwn):
    """Replicas on a PostgreSQL server that stays up (a database per test)."""

    def test_a_credential_issued_at_a_is_introspected_listed_and_revoked_at_b_and_c(self):
        import jwt
        c = self.cluster(3)
        self.assertEqual(c.send_ticket(0, "CHG1")[0], 200)
        status, r = c.exchange(0, "CHG1")
        self.assertEqual(status, 200, r)
        token, lease = r["access_token"], r["lease_id"]
        # B's JWKS verifies what A signed (PyJWT, not the broker's code).
        jwks = c.b[1].json("GET", "/.well-known/jwks.json")[2]
        kid = jwt.get_unverified_header(token)["kid"]
        key = next(k for k in jwt.PyJWKSet.from_dict(jwks).keys if k.key_id == kid)
        claims = jwt.decode(token, key.key, algorithms=["ES256"], audience="deploy-api",
                            issuer=c.public_url)
        for i in (1, 2):
            status, info = c.introspect(i, token)
            self.assertEqual(status, 200, info)
            self.assertTrue(info["active"], "replica %d: %s" % (i, info))
            self.assertEqual(info["jti"], claims["jti"])
            status, _, listing = c.admin_json(i, "GET", "/v1/leases?ticket=CHG1&state=active")
            self.assertEqual([l["id"] for l in listing["leases"]], [lease], "replica %d" % i)
        # Revoked by an administrator at B: gone at A and C.
        status, _, body = c.admin_json(1, "POST", "/v1/leases/%s/revoke" % lease)
        self.assertEqual(status, 200, body)
        for i in (0, 2):
            self.assertEqual(c.admin_json(i, "GET", "/v1/leases/" + lease)[2]["state"], "revoked")
            self.assertTrue(wait_for(lambda: c.introspect(i, token)[1] == {"active": False}, 1.0),
                            "replica %d still says active a second after B revoked" % i)
        # Revoked by its holder at C (RFC 7009): gone at A and B.
        status, r = c.exchange(0, "CHG1")
        self.assertEqual(status, 200, r)
        from urllib.parse import urlencode
        status, _, _ = c.b[2].request("POST", "/v1/revoke", body=urlencode({"token": r["access_token"]}),
                                      headers={"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(status, 200)
        for i in (0, 1):
            self.assertTrue(wait_for(lambda: c.introspect(i, r["access_token"])[1] == {"active": False},
                                     1.0), "replica %d" % i)

    def test_jwks_ca_chain_and_crl_are_the_same_on_every_replica(self):
        c = self.cluster(3)
        c.send_ticket(0, "CHG2")
        jwks = [c.b[i].json("GET", "/.well-known/jwks.json")[2] for i in range(3)]
        self.assertEqual(jwks[1], jwks[0])
        self.assertEqual(jwks[2], jwks[0])
        chains = [self.issuer(c, i) for i in range(3)]
        self.assertEqual(chains[1][0], chains[0][0])
        self.assertEqual(chains[2][0], chains[0][0])
        issuer = chains[0][1]
        r, cert = self.issue_certificate(c, 0, "CHG2")
        # Every replica has served a CRL before the revocation: a CRL it keeps must be redone.
        for i in range(3):
            self.assertNotIn(cert.serial_number, {x.serial_number for x in self.crl(c, i, issuer)})
        status, _, _ = c.admin_json(1, "POST", "/v1/leases/%s/revoke" % r["lease_id"])
        self.assertEqual(status, 200)

        def crls_agree():
            crls = [self.crl(c, i, issuer) for i in range(3)]
            serials = [sorted(x.serial_number for x in crl) for crl in crls]
            return all(cert.serial_number in s for s in serials) and serials[1] == serials[0] \
                and serials[2] == serials[0] and len({crl.issuer for crl in crls}) == 1
        self.assertTrue(wait_for(crls_agree, 1.0), "the CRLs differ a second after a revocation")

    def test_quotas_count_across_replicas(self):
        c = self.cluster(3, limits="limits:\n  max_active_leases_per_subject: 5\n")
        c.send_ticket(0, "CHG3")
        caller = c.idp.github()
        for i in (0, 0, 1, 1, 2):
            status, r = c.exchange(i, "CHG3", caller)
            self.assertEqual(status, 200, r)
        for i in range(3):
            status, r = c.exchange(i, "CHG3", caller)
            self.assertEqual(status, 429, "replica %d let a 6th lease through: %s" % (i, r))
        active = c.admin_json(2, "GET", "/v1/leases?ticket=CHG3&state=active")[2]["leases"]
        self.assertEqual(len(active), 5)

    def test_closing_a_ticket_at_a_ends_its_leases_from_every_replica_at_b_and_c_within_a_second(self):
        c = self.cluster(3, limits="limits:\n  max_active_leases_per_subject: 1000000\n")
        c.send_ticket(0, "BULK")
        n_certs = max(3, LEASES // 10)
        tokens, certs = [], []

        def issue(k):  # a few clients per replica, spread evenly
            i = k % 3
            conn = c.b[i].conn(timeout=30)
            caller = c.idp.github()
            mine_t, mine_c = [], []
            for j in range(k, LEASES - n_certs, 9):
                status, r = c.exchange(i, "BULK", caller, conn=conn)
                self.assertEqual(status, 200, r)
                mine_t.append(r["access_token"])
            for j in range(k, n_certs, 9):
                status, r = c.certificate(i, "BULK", caller, conn=conn)
                self.assertEqual(status, 201, r)
                mine_c.append(r["certificate"])
            conn.close()
            tokens.extend(mine_t)
            certs.extend(mine_c)

        t = time.time()
        run_threads(issue, 9)
        sys.stderr.write("issued %d leases over 3 replicas in %.1f s\n" % (LEASES, time.time() - t))
        self.assertEqual(len(tokens) + len(certs), LEASES)
        _, issuer = self.issuer(c, 1)
        parsed = [x509.load_pem_x509_certificate(p.encode()) for p in certs]
        requests = [self.ocsp_request(x, issuer) for x in parsed]

        # Each lease is timed from A's answer to the close (the close itself, one transaction,
        # takes ~0.6 s at A for 10,000 leases; it is reported apart). Two measures: a sample (20
        # tokens and 5 certificates) polled in a tight loop at B and C gives each one's delay to
        # within a poll (~0.1 s); every other lease is checked too, as fast as one client can
        # (10,000 take seconds, so its time is an upper bound), and none may be seen active
        # more than a second after A answered. The CRL is fetched whole in a loop.
        sample_t = set(range(0, len(tokens), max(1, len(tokens) // 20)))
        sample_c = set(range(0, len(requests), max(1, len(requests) // 5)))
        seen, late, acked = {}, [], []  # seen: (check, replica, index) -> time seen ended
        last_active = {}  # (check, replica, index) -> the last time it was seen active

        def after_ack(t):
            return (t - acked[0]) * 1000 if acked else -1

        def check(i, kind, j, conn):
            if kind == "introspection":
                ended = c.introspect(i, tokens[j], conn=conn)[1] == {"active": False}
            else:
                ended = self.ocsp_status(c, i, requests[j], conn=conn) == "REVOKED"
            now = time.time()
            if ended:
                seen[(kind, i, j)] = now
                return
            last_active[(kind, i, j)] = now
            if after_ack(now) > 1000:
                late.append("%s at replica %d: lease %d still active %.0f ms after the close"
                            % (kind, i, j, after_ack(now)))

        def poll(k):
            i, role = 1 + k % 2, k // 2  # B and C, each: the sample, two sweeps, the CRL
            conn = c.b[i].conn(timeout=30)
            # On past a late lease, for the figures.
            while time.time() - t0 < max(10, LEASES / 500):
                if role == 0:
                    todo = [("introspection", j) for j in sample_t] + [("ocsp", j) for j in sample_c]
                elif role in (1, 2):
                    todo = [("introspection", j) for j in range(role - 1, len(tokens), 2)
                            if j not in sample_t] + \
                           [("ocsp", j) for j in range(role - 1, len(requests), 2) if j not in sample_c]
                else:
                    todo = []
                    on = {x.serial_number for x in self.crl(c, i, issuer)}
                    now = time.time()
                    for j, x in enumerate(parsed):
                        if x.serial_number in on:
                            seen.setdefault(("crl", i, j), now)
                    if all(("crl", i, j) in seen for j in range(len(parsed))):
                        break
                    if after_ack(now) > 1000 and not any(x.startswith("replica %d's CRL" % i) for x in late):
                        late.append("replica %d's CRL lacks revoked certificates %.0f ms after"
                                    " the close" % (i, after_ack(now)))
                todo = [(kind, j) for kind, j in todo if (kind, i, j) not in seen]
                if role < 3 and not todo:
                    break
                for kind, j in todo:
                    check(i, kind, j, conn)
            conn.close()

        # Every lease at once: B's and C's listing of the ticket's active leases (one store
        # read over all of them) is polled until it is empty.
        emptied = {}  # replica -> (the last listing sent that still held one, the first empty)

        def list_poll(k):
            i, still = 1 + k, None
            while time.time() - t0 < 10:
                sent = time.time()
                status, _, body = c.admin_json(i, "GET", "/v1/leases?ticket=BULK&state=active&limit=1")
                self.assertEqual(status, 200, body)
                if not body["leases"]:
                    emptied[i] = (still, time.time())
                    return
                still = sent

        # The pollers start with the close, so that what B and C answer meanwhile counts.
        t0 = time.time()
        pollers = start_threads(poll, 8)
        listers = start_threads(list_poll, 2)
        status, _, r = c.send_ticket(0, "BULK", state="closed")
        acked.append(time.time())
        pollers()
        listers()
        sys.stderr.write("closing the ticket of %d leases took %.3f s at A\n"
                         % (LEASES, acked[0] - t0))
        self.assertEqual(status, 200, r)
        self.assertEqual(r["revoked"], LEASES)
        for kind, count in (("introspection", len(tokens)), ("ocsp", len(parsed)),
                            ("crl", len(parsed))):
            # Seen ended before A answered: 0.
            times = {key: max(0.0, after_ack(t)) for key, t in seen.items() if key[0] == kind}
            report("%s at B and C, every lease (upper bounds), %d leases" % (kind, LEASES),
                   list(times.values()))
            # The lower bounds: each lease ended after it was last seen active (0 when it was
            # never seen active after A answered). With 10,000 leases the sweeps take seconds,
            # so the upper bounds say how fast one client checks; these say how late a
            # replica was still answering for an ended lease.
            if kind != "crl":
                report("%s at B and C, every lease, last seen active (lower bounds)" % kind,
                       [max(0.0, after_ack(last_active[key])) if key in last_active else 0.0
                        for key in times])
            self.assertEqual(len(times), 2 * count, "%s: some leases never ended" % kind)
            sample = {"introspection": sample_t, "ocsp": sample_c, "crl": range(len(parsed))}[kind]
            figures = report("%s at B and C, the sample" % kind,
                             [ms for (_, _, j), ms in times.items() if j in sample])
            self.assertLess(figures["max"], 1000, kind)
        self.assertEqual(late[:5], [])
        for i in (1, 2):
            self.assertIn(i, emptied, "replica %d still listed active leases of the ticket" % i)
            still, empty = emptied[i]
            sys.stderr.write("replica %d listed none of the %d leases active %.0f ms after A's "
                             "answer (the last listing still holding one was sent at %s)\n"
                             % (i, LEASES, after_ack(empty),
                                "%.0f ms" % after_ack(still) if still else "none"))
            self.assertLess(after_ack(empty), 1000, "replica %d" % i)

    def test_kill_9_of_a_replica_under_load_loses_nothing_a_client_received(self):
        c = self.cluster(3, limits="limits:\n  max_active_leases_per_subject: 1000000\n")
        c.send_ticket(0, "LOAD")
        checked, every = 0, []
        for rnd in range(KILL_ROUNDS):
            victim = rnd % 3
            load = Load(c, "LOAD", threads=4)
            time.sleep(0.5)
            c.kill9(victim)
            time.sleep(0.3)  # the survivors carry the load alone
            received = load.stop()
            self.assertGreater(len(received), 0, "round %d: %s" % (rnd, load.statuses))
            fresh = [tok for _, tok, _, _ in received]
            for i in c.alive():
                unknown = [k for k, (s, info) in enumerate(c.introspect_many(i, fresh))
                           if s != 200 or not info["active"]]
                self.assertEqual(unknown, [], "round %d: replica %d does not know %d of %d tokens"
                                 % (rnd, i, len(unknown), len(fresh)))
            checked += len(fresh)
            every += fresh
            c.restart(victim)
        sys.stderr.write("kill -9: %d rounds, %d tokens received and checked at the survivors\n"
                         % (KILL_ROUNDS, checked))
        self.verify_audit(c)
        # What the killed replicas issued ends with its ticket, closed through another one.
        status, _, r = c.send_ticket(1, "LOAD", state="closed")
        self.assertEqual(status, 200, r)
        # More than received, not fewer: a replica killed between its commit and its answer
        # leaves a lease no client got (seen: 5813 revoked for 5812 received), which is safe.
        self.assertGreaterEqual(r["revoked"], checked)
        for i in range(3):
            still = [k for k, (s, info) in enumerate(c.introspect_many(i, every[::10]))
                     if (s, info) != (200, {"active": False})]
            self.assertEqual(still, [], "replica %d" % i)

    def test_a_closed_ticket_revokes_the_leases_a_dead_replica_issued(self):
        c = self.cluster(3)
        c.send_ticket(0, "DEAD")
        tokens = [c.exchange(0, "DEAD")[1]["access_token"] for _ in range(10)]
        c.kill9(0)
        status, _, r = c.send_ticket(1, "DEAD", state="closed")
        self.assertEqual(status, 200, r)
        self.assertEqual(r["revoked"], 10)
        for s, info in c.introspect_many(2, tokens):
            self.assertEqual((s, info), (200, {"active": False}))

    # The window's end must be enforced by a survivor: "expiry and window ends are enforced
    # while at least one replica runs, whichever replicas issued the leases".
    def test_leases_of_a_dead_replica_expire_on_time_at_the_survivors(self):
        c = self.cluster(3)
        end = int(time.time()) + 4
        iso = lambda t: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))
        c.send_ticket(0, "WIN", window={"start": iso(end - 3600), "end": iso(end)})
        leases = [c.exchange(0, "WIN")[1]["lease_id"] for _ in range(5)]
        c.kill9(0)
        time.sleep(max(0, end - time.time()))
        for i in (1, 2):
            for lease in leases:
                self.assertTrue(wait_for(lambda: c.admin_json(i, "GET", "/v1/leases/" + lease)[2]
                                         ["state"] == "expired", 1.5),
                                "replica %d: lease %s outlived its window" % (i, lease))


class StoreOutage(ServerOfItsOwn):
    """PostgreSQL stopped for 5 s under load (a server of the test's own)."""

    def outage(self, c, during):
        """Load on every replica; PostgreSQL stopped (fast: connections dropped) for 5 s, `during`
        called every 100 ms meanwhile with the seconds since the stop; then started again.
        Returns the load's tokens."""
        load = Load(c, "OUT", threads=3)
        time.sleep(0.5)
        self.pg.halt("fast")
        t0 = time.time()
        while time.time() - t0 < 5:
            during(time.time() - t0)
            time.sleep(0.1)
        self.pg.resume()
        t1 = time.time()
        pids = [b.proc.pid for b in c.b]
        for i in range(len(c.b)):
            self.assertTrue(wait_for(lambda: c.b[i].request("GET", "/readyz")[0] == 200 and
                                     c.exchange(i, "OUT")[0] == 200, 10),
                            "replica %d did not recover within 10 s" % i)
        sys.stderr.write("store outage: every replica ready and issuing %.1f s after the restart\n"
                         % (time.time() - t1))
        time.sleep(0.5)
        received = load.stop()
        self.assertEqual([b.proc.pid for b in c.b], pids, "a replica restarted")
        self.assertEqual(c.alive(), list(range(len(c.b))))
        return received

    def loses_nothing_and_recovers(self, n):
        c = self.cluster(n, limits="limits:\n  max_active_leases_per_subject: 1000000\n")
        c.send_ticket(0, "OUT")
        received = self.outage(c, lambda s: None)
        tokens = [tok for _, tok, _, _ in received]
        self.assertGreater(len(tokens), 0)
        for i in range(n):
            unknown = [k for k, (s, info) in enumerate(c.introspect_many(i, tokens))
                       if s != 200 or not info["active"]]
            self.assertEqual(unknown, [], "replica %d does not know %d of the %d tokens clients got"
                             % (i, len(unknown), len(tokens)))

    def test_nothing_issued_across_an_outage_is_lost_and_a_replica_recovers_without_restart(self):
        self.loses_nothing_and_recovers(1)

    def test_nothing_issued_across_an_outage_is_lost_and_every_replica_recovers_without_restart(self):
        self.loses_nothing_and_recovers(3)

    # Fail closed: "a replica that cannot reach the store for more than 1 s ... 503
    # temporarily_unavailable, OCSP tryLater, /readyz 503".
    def test_every_replica_fails_closed_within_a_second_of_losing_the_store(self):
        c = self.cluster(3, limits="limits:\n  max_active_leases_per_subject: 1000000\n")
        c.send_ticket(0, "OUT")
        status, r = c.exchange(0, "OUT")
        revoked_token = r["access_token"]
        cert_r, cert = self.issue_certificate(c, 1, "OUT")
        for lease in (r["lease_id"], cert_r["lease_id"]):
            self.assertEqual(c.admin_json(2, "POST", "/v1/leases/%s/revoke" % lease)[0], 200)
        _, issuer = self.issuer(c, 0)
        request = self.ocsp_request(cert, issuer)
        violations, closed_at = [], {}

        def during(s):
            for i in range(3):
                st, info = c.introspect(i, revoked_token)
                if info and info.get("active"):
                    violations.append("%.1f s: replica %d says a revoked token is active" % (s, i))
                if s < 1.0:
                    continue
                ready = c.b[i].request("GET", "/readyz")[0]
                issued, body = c.exchange(i, "OUT")
                o = self.ocsp_status(c, i, request)
                if s > 1.2 and (ready != 503 or issued != 503 or st != 503 or o != "TRY_LATER"):
                    violations.append("%.1f s: replica %d readyz %d, issuance %d %s, introspection"
                                      " %d, OCSP %s" % (s, i, ready, issued, body, st, o))
                if ready == 503 and issued == 503:
                    closed_at.setdefault(i, s)

        self.outage(c, during)
        self.assertEqual(violations[:3], [])
        self.assertEqual(sorted(closed_at), [0, 1, 2])


class Failover(ReplicaCase):
    """A synchronous streaming standby promoted while the replicas run with a two-host URI and
    target_session_attrs=read-write. Synchronous commit (remote_apply) is on for this test
    (scripts/pg standby): an asynchronous standby may lose the last commits by design."""

    def setUp(self):
        import tempfile
        self.pg_parent = tempfile.mkdtemp(prefix="jitb-replicas-pg-")
        self.pg = PgServer(self.pg_parent)
        self.addCleanup(lambda: (self.pg.stop(), shutil.rmtree(self.pg_parent, ignore_errors=True)))
        self.standby = self.pg.standby()
        self.addCleanup(self.standby.stop)
        user_db = self.pg.uri.split("@", 1)
        self.two_hosts = "%s@127.0.0.1:%d,127.0.0.1:%d/jitb_test?target_session_attrs=read-write" \
            "&connect_timeout=2" % (user_db[0], self.pg.port, self.standby.port)

    def fail_over(self, n):
        c = self.cluster(n, store_uri=self.two_hosts,
                         limits="limits:\n  max_active_leases_per_subject: 1000000\n")
        c.send_ticket(0, "FO")
        load = Load(c, "FO", threads=3)
        time.sleep(1.0)
        acknowledged = len(load.received)
        t0 = time.time()
        self.pg.halt("immediate")  # the primary crashes
        self.standby.promote()
        for i in range(n):
            self.assertTrue(wait_for(lambda: c.exchange(i, "FO")[0] == 200, 15),
                            "replica %d did not follow the promoted standby within 15 s" % i)
        follow = time.time() - t0
        time.sleep(0.5)
        received = load.stop()
        sys.stderr.write("failover, %d replica(s): all issuing again %.1f s after the primary crashed; "
                         "%d tokens before it, %d in all\n" % (n, follow, acknowledged, len(received)))
        self.assertGreater(acknowledged, 0, load.statuses)
        tokens = [tok for _, tok, _, _ in received]
        for i in range(n):
            unknown = [k for k, (s, info) in enumerate(c.introspect_many(i, tokens))
                       if s != 200 or not info["active"]]
            self.assertEqual(unknown, [], "replica %d lost %d of %d acknowledged tokens"
                             % (i, len(unknown), len(tokens)))

    def test_a_replica_follows_a_promoted_standby_and_loses_nothing_acknowledged(self):
        self.fail_over(1)

    def test_three_replicas_follow_a_promoted_standby_and_lose_nothing_acknowledged(self):
        self.fail_over(3)


if __name__ == "__main__":
    unittest.main()
