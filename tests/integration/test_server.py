"""The HTTPS server core against the real binary over real TLS (issue: foundation)."""
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import time
import unittest

from brokerproc import BIN, Broker, fixed_answer, https_standin, read_http_response, slurp
from oidc import Issuer

DEFAULT_POLICIES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                "policies", "default")

METRIC_LINE = re.compile(
    r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*",?)*\})? '
    r'(-?[0-9.eE+-]+|\+Inf|-Inf|NaN)$')


def parse_prometheus(text):
    """Strict enough parse of the text exposition format: returns {family: type} and samples."""
    types, samples = {}, []
    for line in text.splitlines():
        if line.startswith("# HELP "):
            continue
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            assert kind in ("counter", "gauge", "histogram", "summary", "untyped"), line
            types[name] = kind
            continue
        m = METRIC_LINE.match(line)
        assert m, "not a valid sample line: %r" % line
        name = m.group(1)
        family = re.sub(r"_(bucket|sum|count)$", "", name) if name not in types else name
        assert family in types, "sample before its TYPE line: %r" % line
        samples.append((name, m.group(2) or "", float(m.group(5).replace("+Inf", "inf"))))
    return types, samples


class ServerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.b = Broker().start()

    @classmethod
    def tearDownClass(cls):
        cls.b.cleanup()

    def assertHealthy(self):
        status, _, body = self.b.json("GET", "/healthz")
        self.assertEqual(status, 200)
        self.assertEqual(body, {"status": "ok"})

    def test_health_and_readiness(self):
        self.assertHealthy()
        status, _, body = self.b.json("GET", "/readyz")
        self.assertEqual(status, 200)
        self.assertEqual(body["status"], "ready")

    def test_metrics_parse_as_prometheus_text(self):
        self.b.request("GET", "/healthz")
        self.b.request("GET", "/no/such/route")
        status, hdrs, data = self.b.request("GET", "/metrics")
        self.assertEqual(status, 200)
        self.assertTrue(hdrs["content-type"].startswith("text/plain; version=0.0.4"))
        types, samples = parse_prometheus(data.decode())
        self.assertEqual(types["jitbroker_http_requests_total"], "counter")
        self.assertEqual(types["jitbroker_http_request_duration_seconds"], "histogram")
        self.assertIn("process_start_time_seconds", types)
        healthz = [v for n, l, v in samples if n == "jitbroker_http_requests_total"
                   and 'route="/healthz"' in l and 'code="200"' in l]
        self.assertTrue(healthz and healthz[0] >= 1)
        unmatched = [v for n, l, v in samples if n == "jitbroker_http_requests_total"
                     and 'route="unmatched"' in l and 'code="404"' in l]
        self.assertTrue(unmatched and unmatched[0] >= 1, "unknown paths share one label")
        start = [v for n, _, v in samples if n == "process_start_time_seconds"][0]
        self.assertLess(abs(start - time.time()), 3600)

    def test_unknown_route_is_404_json(self):
        status, hdrs, body = self.b.json("GET", "/v1/definitely/not/here")
        self.assertEqual(status, 404)
        self.assertEqual(hdrs["content-type"], "application/json")
        self.assertEqual(body["error"], "not_found")
        self.assertIn("/v1/definitely/not/here", body["error_description"])

    def test_wrong_method_is_405_json(self):
        status, hdrs, body = self.b.json("DELETE", "/healthz")
        self.assertEqual(status, 405)
        self.assertEqual(hdrs["allow"], "GET")
        self.assertEqual(body["error"], "method_not_allowed")

    def test_16mib_body_is_413(self):
        s = self.b.tls_socket()
        size = 16 << 20
        s.sendall(b"POST /v1/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Content-Length: %d\r\n\r\n" % size)
        try:
            chunk = b"x" * (1 << 20)
            for _ in range(16):
                s.sendall(chunk)
        except OSError:
            pass  # the server may stop reading once it has answered
        status, body = read_http_response(s)
        s.close()
        self.assertEqual(status, 413)
        self.assertEqual(json.loads(body)["error"], "payload_too_large")
        self.assertHealthy()

    def test_malformed_requests_get_400_json(self):
        cases = [
            b"GARBAGE\r\n\r\n",
            b"GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header Line\r\n\r\n",
            b"GET http://evil.example/ HTTP/1.1\r\nHost: x\r\n\r\n",
            b"POST /v1/token HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
            b"GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n",
        ]
        for raw in cases:
            with self.subTest(raw=raw):
                s = self.b.tls_socket()
                s.sendall(raw)
                status, body = read_http_response(s)
                s.close()
                self.assertEqual(status, 400)
                self.assertIn("error", json.loads(body))
        self.assertHealthy()

    def test_oversized_header_is_refused(self):
        s = self.b.tls_socket()
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 65536 + b"\r\n\r\n")
        status, body = read_http_response(s)
        s.close()
        self.assertEqual(status, 431)
        self.assertIn("error", json.loads(body))

    def test_plain_http_on_tls_port_is_dropped(self):
        s = socket.create_connection(("127.0.0.1", self.b.port), timeout=5)
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        try:
            data = s.recv(4096)
        except ConnectionResetError:
            data = b""
        s.close()
        self.assertNotIn(b"200 OK", data)
        self.assertHealthy()

    def test_random_bytes_never_crash_or_hang(self):
        for n in (1, 7, 512, 5000, 70000):
            s = socket.create_connection(("127.0.0.1", self.b.port), timeout=5)
            try:
                s.sendall(os.urandom(n))
                s.recv(4096)
            except OSError:
                pass
            s.close()
        for n in (1, 100, 20000):  # and random bytes inside an established TLS session
            s = self.b.tls_socket()
            try:
                s.sendall(os.urandom(n).replace(b"\r\n\r\n", b"xxxx") + b"\r\n\r\n")
                s.recv(4096)
            except OSError:
                pass
            s.close()
        self.assertHealthy()
        self.assertIsNone(self.b.proc.poll())

    def test_keep_alive_serves_many_requests_on_one_connection(self):
        c = self.b.conn()
        for _ in range(20):
            status, _, body = self.b.request("GET", "/healthz", conn=c)
            self.assertEqual(status, 200)
        c.close()

    def s_client(self, *args):
        return subprocess.run(
            ["openssl", "s_client", "-connect", "127.0.0.1:%d" % self.b.port, "-CAfile",
             self.b.ca_file, "-brief", *args],
            input=b"", capture_output=True, timeout=20)

    def test_tls11_is_refused_and_tls12_aead_accepted(self):
        old = self.s_client("-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0")
        self.assertNotEqual(old.returncode, 0, old.stdout + old.stderr)
        self.assertNotIn(b"Protocol version: TLSv1.1", old.stdout + old.stderr)
        cbc = self.s_client("-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-SHA")
        self.assertNotEqual(cbc.returncode, 0, cbc.stdout + cbc.stderr)
        ok = self.s_client("-tls1_2")
        self.assertEqual(ok.returncode, 0, ok.stdout + ok.stderr)
        self.assertIn(b"TLSv1.2", ok.stdout + ok.stderr)
        self.assertIn(b"GCM", ok.stdout + ok.stderr)

    def test_access_log_is_json_and_never_holds_secrets(self):
        secret = "tok-" + os.urandom(8).hex()
        self.b.request("GET", "/healthz?token=" + secret,
                       headers={"Authorization": "Bearer " + secret + "x"})
        self.b.request("POST", "/v1/token", body="subject_token=" + secret,
                       headers={"Content-Type": "application/x-www-form-urlencoded"})
        time.sleep(0.2)
        log = self.b.stderr()
        self.assertNotIn(secret, log)
        lines = [json.loads(l) for l in log.splitlines() if l.startswith("{")]
        hits = [l for l in lines if l.get("path") == "/healthz" and l.get("status") == 200]
        self.assertTrue(hits)
        for key in ("time", "method", "path", "status", "duration_us"):
            self.assertIn(key, hits[-1])


class LifecycleTest(unittest.TestCase):
    def test_sigterm_drains_in_flight_request_and_exits_0(self):
        b = Broker().start()
        try:
            idle = b.tls_socket()  # an idle keep-alive connection must not hold up the exit
            s = b.tls_socket()
            s.sendall(b"POST /v1/nothing HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n12345")
            time.sleep(0.3)
            b.signal(signal.SIGTERM)
            time.sleep(0.3)
            with self.assertRaises(OSError):  # no longer accepting
                socket.create_connection(("127.0.0.1", b.port), timeout=2).close()
            s.sendall(b"67890")
            status, body = read_http_response(s)
            self.assertEqual(status, 404)  # the in-flight request got its full answer
            self.assertEqual(json.loads(body)["error"], "not_found")
            self.assertEqual(b.wait(timeout=10), 0)
            s.close()
            idle.close()
        finally:
            b.cleanup()

    def test_restart_reuses_data_dir_and_binds_same_port(self):
        b = Broker().start()
        try:
            token = slurp(os.path.join(b.data_dir, "admin.token"))
            ca = slurp(b.ca_file)
            for name in ("admin.token", "webhook.secret", "tls/server.key"):
                mode = os.stat(os.path.join(b.data_dir, name)).st_mode & 0o777
                self.assertEqual(mode, 0o600, name)
            port = b.port
            b.stop()
            b2 = Broker(data_dir=b.data_dir)
            b2.cmd[-1] = "127.0.0.1:%d" % port  # the same port, at once
            b2.start()
            self.assertEqual(b2.port, port)
            self.assertEqual(slurp(os.path.join(b.data_dir, "admin.token")), token)
            self.assertEqual(slurp(b2.ca_file), ca)
            self.assertEqual(b2.json("GET", "/healthz")[0], 200)
            b2.stop()
        finally:
            b.cleanup()

    def test_banner_names_url_ca_bundle_and_admin_token(self):
        b = Broker().start()
        b.cleanup()
        text = b.banner.decode()
        self.assertIn("https://127.0.0.1:%d" % b.port, text)
        self.assertIn("ca.pem", text)
        self.assertIn("admin.token", text)


class ConfigTest(unittest.TestCase):
    def run_check(self, text):
        b = Broker(config=text)
        try:
            return subprocess.run([BIN, "check", "--config", b.cmd[-1]], capture_output=True,
                                  timeout=20)
        finally:
            b.cleanup()

    def test_check_reports_typo_with_file_and_line(self):
        r = self.run_check('listen: "127.0.0.1:0"\ndata_dir: "@DATA@"\nlimits:\n  max_bdy_bytes: 5\n')
        self.assertNotEqual(r.returncode, 0)
        err = r.stderr.decode()
        self.assertRegex(err, r"broker\.yaml:4: unknown key 'max_bdy_bytes' in 'limits'")
        self.assertIn("did you mean 'max_body_bytes'", err)

    def test_check_accepts_a_valid_config(self):
        b = Broker(config="placeholder")
        jwks = Issuer(b.tmp).jwks_path
        try:
            with open(b.cmd[-1], "w") as f:
                f.write('listen: "127.0.0.1:0"\ndata_dir: "%s"\npolicies_dir: "%s"\ntrust:\n'
                        '  - { issuer: "https://ci.example", jwks_file: "%s", audience: "jb" }\n'
                        % (b.data_dir, DEFAULT_POLICIES, jwks))
            r = subprocess.run([BIN, "check", "--config", b.cmd[-1]], capture_output=True, timeout=20)
        finally:
            b.cleanup()
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("3 grants", r.stdout.decode())

    def test_check_reports_a_broken_policy_file_with_its_line(self):
        b = Broker(config="placeholder")
        try:
            pol = os.path.join(b.tmp, "pol")
            os.makedirs(pol)
            with open(os.path.join(pol, "bad.yaml"), "w") as f:
                f.write("grants:\n  - name: deploy\n    token:\n      audiense: x\n")
            with open(b.cmd[-1], "w") as f:
                f.write('policies_dir: "%s"\n' % pol)
            r = subprocess.run([BIN, "check", "--config", b.cmd[-1]], capture_output=True,
                               timeout=20)
        finally:
            b.cleanup()
        self.assertNotEqual(r.returncode, 0)
        self.assertRegex(r.stderr.decode(), r"bad\.yaml:4: .*audiense")

    def test_serve_enforces_connection_cap_and_read_deadline(self):
        b = Broker(config='listen: "127.0.0.1:0"\ndata_dir: "@DATA@"\nthreads: 2\n'
                          'policies_dir: "%s"\n'
                          'limits:\n  max_connections: 4\n  read_timeout: 1s\n' % DEFAULT_POLICIES).start()
        try:
            held = [b.tls_socket() for _ in range(4)]
            with self.assertRaises((OSError, ssl.SSLError)):
                extra = b.tls_socket(timeout=3)
                extra.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                if not extra.recv(1):
                    raise ConnectionError("closed")
            time.sleep(1.6)  # the read deadline closes the idle ones
            for s in held:
                self.assertIn(s.recv(1), (b"",))
                s.close()
            self.assertEqual(b.json("GET", "/healthz")[0], 200)
            _, _, data = b.request("GET", "/metrics")
            self.assertRegex(data.decode(), r"jitbroker_http_connections_rejected_total [1-9]")
        finally:
            b.cleanup()


class CheckParityTest(unittest.TestCase):
    """`check` refuses what `serve` refuses: files serve reads, servers it reaches."""

    def setUp(self):
        self.b = Broker(config="placeholder")
        self.addCleanup(self.b.cleanup)
        self.cfg = self.b.cmd[-1]
        self.jwks = Issuer(self.b.tmp).jwks_path
        self.base = ('listen: "127.0.0.1:0"\ndata_dir: "%s"\npolicies_dir: "%s"\n'
                     % (self.b.data_dir, DEFAULT_POLICIES))
        self.trust = ('trust:\n  - { issuer: "https://ci.example", jwks_file: "%s", audience: "jb" }\n'
                      % self.jwks)

    def write(self, text):
        with open(self.cfg, "w") as f:
            f.write(text)

    def check(self, *extra):
        r = subprocess.run([BIN, "check"] + list(extra) + ["--config", self.cfg],
                           capture_output=True, text=True, timeout=30)
        return r.returncode, r.stdout + r.stderr

    def serve_refuses(self):
        p = subprocess.run([BIN, "serve", "--config", self.cfg], capture_output=True, text=True,
                           timeout=30)
        return p.returncode != 0

    def test_check_refuses_each_config_serve_refuses(self):
        cases = {
            "store.postgres": self.base + self.trust + 'store: { postgres: "postgres://db/jb" }\n',
            "trust[0].jwks_file": self.base + 'trust:\n  - { issuer: "https://ci.example", '
                                  'jwks_file: "%s/gone.json", audience: "jb" }\n' % self.b.tmp,
            "tickets.servicenow.password_file":
                self.base + self.trust + 'tickets:\n  servicenow: { base_url: "https://127.0.0.1:1", '
                'user: jb, password_file: "%s/gone.txt" }\n' % self.b.tmp,
        }
        for key, text in cases.items():
            with self.subTest(key):
                self.write(text)
                self.assertTrue(self.serve_refuses(), key)
                rc, out = self.check("--offline")
                self.assertEqual(rc, 1, out)
                self.assertIn("'%s'" % key, out)
                self.assertNotIn(": ok", out)
        # Files named by reason, not a bare "cannot read".
        self.write(cases["trust[0].jwks_file"])
        self.assertIn("gone.json: No such file or directory", self.check("--offline")[1])

    def test_check_refuses_a_config_that_trusts_no_issuer(self):
        self.write(self.base)
        rc, out = self.check("--offline")
        self.assertEqual(rc, 1, out)
        self.assertIn("'trust': no trusted issuer", out)

    def test_check_reaches_the_network_unless_offline(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            closed = s.getsockname()[1]
        self.write(self.base + 'trust:\n  - { issuer: "https://k8s.example", jwks_url: '
                   '"https://127.0.0.1:%d/openid/v1/jwks", audience: "jb" }\n'
                   'tickets:\n  servicenow: { base_url: "https://127.0.0.1:%d", user: jb, '
                   'password_file: "%s" }\n' % (closed, closed, self.jwks))
        rc, out = self.check()
        self.assertEqual(rc, 1, out)
        self.assertIn("'trust[0].jwks_url': https://127.0.0.1:%d/openid/v1/jwks" % closed, out)
        self.assertIn("'tickets.servicenow.base_url'", out)
        rc, out = self.check("--offline")
        self.assertEqual(rc, 0, out)
        self.assertIn("network skipped (--offline)", out)

    def test_trust_ca_file_lets_a_jwks_behind_a_private_ca_be_fetched(self):
        jwks = slurp(self.jwks)

        server, port, cert = https_standin(fixed_answer(200, jwks), self.b.tmp)
        self.addCleanup(server.server_close)
        self.addCleanup(server.shutdown)
        entry = ('trust:\n  - { issuer: "https://kubernetes.default.svc", jwks_url: '
                 '"https://127.0.0.1:%d/openid/v1/jwks", audience: "jb"%s }\n')
        self.write(self.base + entry % (port, ""))
        rc, out = self.check()
        self.assertEqual(rc, 1, out)  # the private CA is not in the system store
        self.write(self.base + entry % (port, ', ca_file: "%s"' % cert))
        rc, out = self.check()
        self.assertEqual(rc, 0, out)
        self.assertIn("servers reached", out)


class JwksFetchTest(unittest.TestCase):
    """serve fetches a jwks_url through the entry's ca_file, and logs why a fetch failed."""

    def test_jwks_behind_a_private_ca_and_an_unreachable_one(self):
        from urllib.parse import urlencode
        b = Broker(config="placeholder")
        self.addCleanup(b.cleanup)
        k8s = Issuer(b.tmp, issuer="https://kubernetes.default.svc")
        jwks = slurp(k8s.jwks_path)
        os.makedirs(os.path.join(b.tmp, "down"))
        down = Issuer(os.path.join(b.tmp, "down"), issuer="https://down.example")
        server, port, cert = https_standin(fixed_answer(200, jwks), b.tmp)
        self.addCleanup(server.server_close)
        self.addCleanup(server.shutdown)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            closed = s.getsockname()[1]
        pol = os.path.join(b.tmp, "pol")
        os.makedirs(pol)
        with open(os.path.join(pol, "p.yaml"), "w") as f:
            f.write('grants:\n  - name: g\n    subjects: { issuer: ["%s", "%s"] }\n'
                    '    token: { audience: "a", scopes: ["s"], max_ttl: "5m" }\n'
                    % (k8s.issuer, down.issuer))
        with open(b.cmd[-1], "w") as f:
            f.write('listen: "127.0.0.1:0"\ndata_dir: "%s"\npolicies_dir: "%s"\ntrust:\n'
                    '  - { issuer: "%s", jwks_url: "https://127.0.0.1:%d/jwks", audience: "jitbroker",'
                    ' ca_file: "%s" }\n'
                    '  - { issuer: "%s", jwks_url: "https://127.0.0.1:%d/jwks", audience: "jitbroker" }\n'
                    % (b.data_dir, pol, k8s.issuer, port, cert, down.issuer, closed))
        b.start()

        def exchange(token):
            form = urlencode({"grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
                              "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
                              "subject_token": token, "ticket": "CHG-NONE"})
            return b.json("POST", "/v1/token", body=form,
                          headers={"Content-Type": "application/x-www-form-urlencoded"})

        # Through the private CA the keys are fetched: the token verifies, the ticket is unknown.
        status, _, body = exchange(k8s.token(sub="system:serviceaccount:prod:api"))
        self.assertEqual(status, 400, body)
        self.assertIn("not known", body["error_description"])
        # Unreachable: the caller gets the gist, the log the cause, as one JSON line.
        status, _, body = exchange(down.token(sub="x"))
        self.assertEqual((status, body["error_description"]), (400, "subject_token: no keys yet"))
        lines = [json.loads(l) for l in b.stderr().splitlines() if '"jwks.fetch_failed"' in l]
        self.assertTrue(lines, b.stderr())
        self.assertEqual((lines[0]["level"], lines[0]["component"], lines[0]["issuer"]),
                         ("error", "jwks", down.issuer))
        self.assertIn("127.0.0.1:%d" % closed, lines[0]["url"])
        self.assertIn("refused", lines[0]["error"].lower())
        self.assertNotIn(k8s.issuer, [l["issuer"] for l in lines])


class ItsmNotConfiguredTest(unittest.TestCase):
    def test_a_trigger_for_an_unconfigured_itsm_says_so(self):
        b = Broker(config='listen: "127.0.0.1:0"\ndata_dir: "@DATA@"\npolicies_dir: "%s"\n'
                          % DEFAULT_POLICIES).start()
        try:
            for path, name in (("/v1/tickets/servicenow", "ServiceNow"), ("/v1/tickets/jira", "Jira")):
                status, _, body = b.json("POST", path, body=b"{}",
                                         headers={"Content-Type": "application/json"})
                self.assertEqual(status, 404, body)
                self.assertEqual(body["error"], "not_found")
                self.assertIn("%s is not configured" % name, body["error_description"])
        finally:
            b.cleanup()


class ConfigMessageTest(unittest.TestCase):
    """Messages that name the cause: the OS reason, a tab, an open quote."""

    def check_text(self, text, name="broker.yaml"):
        b = Broker(config="placeholder")
        try:
            path = os.path.join(b.tmp, name)
            if text is not None:
                with open(path, "w") as f:
                    f.write(text)
            r = subprocess.run([BIN, "check", "--config", path], capture_output=True, text=True,
                               timeout=20)
        finally:
            b.cleanup()
        self.assertNotEqual(r.returncode, 0)
        return r.stderr

    def test_a_missing_config_file_says_why(self):
        err = self.check_text(None, "nope.yaml")
        self.assertRegex(err, r"nope\.yaml: cannot read the config file: No such file or directory")

    def test_a_tab_in_the_indentation_is_named(self):
        err = self.check_text('listen: "127.0.0.1:0"\nlimits:\n\tmax_body_bytes: 5000\n')
        self.assertIn("broker.yaml:3: a tab in the indentation: YAML indents with spaces only", err)
        self.assertNotIn("illegal map value", err)

    def test_an_unclosed_quote_is_named_not_a_bad_port(self):
        err = self.check_text('listen: "127.0.0.1:0\ndata_dir: "./var"\n')
        self.assertIn("broker.yaml:1: the double quote at column 9 is not closed on this line", err)
        err = self.check_text('data_dir: "./var"\nlisten: "127.0.0.1:0\n')
        self.assertIn("broker.yaml:2: the double quote at column 9 is not closed", err)
        self.assertNotIn("port", err)


if __name__ == "__main__":
    unittest.main()
