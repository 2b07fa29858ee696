"""Starts the real jitbroker binary on a free loopback port and talks to it over real TLS."""
import http.client
import json
import os
import re
import select
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time

BIN = os.environ.get("JITBROKER_BIN", "jitbroker")


def test_store_uri():
    """The PostgreSQL server the suites run on under the label integration_pg: from
    JITB_TEST_STORE_URI, or the file JITB_TEST_STORE_URI_FILE names (the ctest fixture
    `postgres` writes it). None: the brokers keep their SQLite file in data_dir."""
    uri = os.environ.get("JITB_TEST_STORE_URI")
    if not uri and os.environ.get("JITB_TEST_STORE_URI_FILE"):
        with open(os.environ["JITB_TEST_STORE_URI_FILE"]) as f:
            uri = f.read().strip()
        if not uri:
            raise RuntimeError("no URI in JITB_TEST_STORE_URI_FILE: did postgres.start fail?")
    return uri or None


def postgres_database(server_uri, data_dir):
    """A database of its own for the broker(s) of one data_dir, created on first use: a
    restart on the same data_dir finds its leases again, a new data_dir starts empty.
    Returns its URI."""
    import hashlib
    from urllib.parse import urlsplit, urlunsplit
    name = "jitb_it_" + hashlib.sha256(os.path.realpath(data_dir).encode()).hexdigest()[:16]
    psql = ["psql", "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-d", server_uri, "-c"]
    have = subprocess.run(psql + ["SELECT 1 FROM pg_database WHERE datname = '%s'" % name],
                          check=True, capture_output=True, text=True).stdout.strip()
    if have != "1":
        subprocess.run(psql + ["CREATE DATABASE %s" % name], check=True, capture_output=True)
    u = urlsplit(server_uri)
    return urlunsplit((u.scheme, u.netloc, "/" + name, u.query, u.fragment))


def drop_postgres_database(server_uri, db_uri):
    name = db_uri.rsplit("/", 1)[1].split("?", 1)[0]
    subprocess.run(["psql", "-X", "-q", "-d", server_uri, "-c",
                    "DROP DATABASE IF EXISTS %s WITH (FORCE)" % name], capture_output=True)


class Broker:
    def __init__(self, args=None, data_dir=None, config=None, env=None, store_uri=None):
        self.tmp = tempfile.mkdtemp(prefix="jitb-it-")
        self.data_dir = data_dir or os.path.join(self.tmp, "var")
        if config is not None:
            path = os.path.join(self.tmp, "broker.yaml")
            with open(path, "w") as f:
                f.write(config.replace("@DATA@", self.data_dir))
            self.cmd = [BIN, "serve", "--config", path]
        else:
            self.cmd = [BIN, "dev", "--data-dir", self.data_dir, "--listen", "127.0.0.1:0"]
        self.cmd += args or []
        self.stderr_path = os.path.join(self.tmp, "stderr.log")
        self.proc = None
        self.port = None
        self.env = dict(os.environ, **(env or {}))
        self.pg_server = test_store_uri()
        self.pg_uri = None
        # A PostgreSQL store of the test's own (several brokers on one database): a `serve`
        # config that names no store gets this one, and the database is the test's to drop.
        self.store_uri = store_uri

    def _use_postgres(self):
        """Under integration_pg, a `serve` config that names no store gets one on PostgreSQL
        (the config file is often written after the constructor, so this runs at start).
        `dev` stays on SQLite, as it does for users."""
        if (not self.pg_server and not self.store_uri) or "serve" not in self.cmd:
            return
        path = self.cmd[self.cmd.index("--config") + 1]
        with open(path) as f:
            text = f.read()
        if re.search(r"(?m)^store\s*:", text):
            return
        if self.store_uri:
            with open(path, "a") as f:
                f.write(("" if text.endswith("\n") or not text else "\n") +
                        'store: { postgres: "%s" }\n' % self.store_uri)
            return
        self.pg_uri = self.pg_uri or postgres_database(self.pg_server, self.data_dir)
        with open(path, "w") as f:
            f.write(text + ("" if text.endswith("\n") or not text else "\n") +
                    'store: { postgres: "%s" }\n' % self.pg_uri)

    def start(self, timeout=20):
        self._use_postgres()
        self._stderr = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(self.cmd, stdout=subprocess.PIPE, stderr=self._stderr,
                                     env=self.env, cwd=self.tmp)
        deadline = time.time() + timeout
        out = b""
        fd = self.proc.stdout.fileno()
        while time.time() < deadline:
            # Raw reads: a buffered readline() would hide lines from select().
            r, _, _ = select.select([fd], [], [], 0.2)
            if r:
                chunk = os.read(fd, 65536)
                if not chunk:
                    break
                out += chunk
                m = re.search(rb"listening on https://[^\s]+:(\d+)\n", out)
                if m:
                    self.port = int(m.group(1))
                    self.banner = out
                    if self.pg_uri and os.path.exists(os.path.join(self.data_dir, "broker.db")):
                        raise RuntimeError("integration_pg: the broker made a SQLite store")
                    return self
            if self.proc.poll() is not None:
                break
        raise RuntimeError("broker did not start: %r\nstderr: %s" % (out, self.stderr()))

    def stderr(self):
        with open(self.stderr_path, "rb") as f:
            return f.read().decode(errors="replace")

    @property
    def ca_file(self):
        return os.path.join(self.data_dir, "tls", "ca.pem")

    def tls_context(self):
        ctx = ssl.create_default_context(cafile=self.ca_file)
        return ctx

    def conn(self, timeout=10):
        return http.client.HTTPSConnection("127.0.0.1", self.port, context=self.tls_context(),
                                           timeout=timeout)

    def write_ca_files(self, folder):
        """The CA chain served at /v1/ca/chain.pem, split into folder/int.pem and
        folder/root.pem (for openssl verify -untrusted/-CAfile); returns both paths."""
        status, _, chain = self.request("GET", "/v1/ca/chain.pem")
        assert status == 200, status
        pems = [p + "-----END CERTIFICATE-----\n"
                for p in chain.decode().split("-----END CERTIFICATE-----\n") if p.strip()]
        paths = os.path.join(folder, "int.pem"), os.path.join(folder, "root.pem")
        for path, pem in zip(paths, pems[:2]):
            with open(path, "w") as f:
                f.write(pem)
        return paths

    def request(self, method, path, body=None, headers=None, conn=None):
        c = conn or self.conn()
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        data = r.read()
        if conn is None:
            c.close()
        return r.status, dict((k.lower(), v) for k, v in r.getheaders()), data

    def json(self, method, path, body=None, headers=None):
        status, hdrs, data = self.request(method, path, body, headers)
        return status, hdrs, json.loads(data) if data else None

    def tls_socket(self, timeout=10):
        raw = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
        return self.tls_context().wrap_socket(raw, server_hostname="127.0.0.1")

    def signal(self, sig=signal.SIGTERM):
        self.proc.send_signal(sig)

    def wait(self, timeout=20):
        return self.proc.wait(timeout=timeout)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self.proc.stdout.close()
            self._stderr.close()

    def cleanup(self):
        self.stop()
        # A crash or a sanitizer report must reach the test log before the files go.
        log = self.stderr() if os.path.exists(self.stderr_path) else ""
        if (self.proc and self.proc.returncode not in (0, None)) or "Sanitizer" in log:
            import sys
            lines = [l for l in log.splitlines() if not l.startswith('{"time"')]
            sys.stderr.write("--- broker exited %s; its stderr (access log left out):\n%s\n"
                             % (self.proc.returncode, "\n".join(lines[-200:])))
        shutil.rmtree(self.tmp, ignore_errors=True)
        # A data_dir outside tmp may be started again by another Broker: its database stays.
        if self.pg_uri and os.path.realpath(self.data_dir).startswith(os.path.realpath(self.tmp)):
            drop_postgres_database(self.pg_server, self.pg_uri)


def read_http_response(sock, limit=1 << 20):
    """Reads one HTTP/1.1 response with Content-Length from a socket; returns (status, body)."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed before a response header: %r" % buf)
        buf += chunk
    head, rest = buf.split(b"\r\n\r\n", 1)
    status = int(head.split(b" ")[1])
    m = re.search(rb"(?i)content-length:\s*(\d+)", head)
    n = int(m.group(1)) if m else 0
    while len(rest) < n:
        chunk = sock.recv(65536)
        if not chunk:
            break
        rest += chunk
    return status, rest[:n]


def slurp(path):
    with open(path) as f:
        return f.read()


def sign_event(body, secret, t=None):
    """The X-Jitbroker-Signature header for `body` (bytes), docs/tickets.md#signed-events."""
    import hashlib
    import hmac
    t = int(time.time()) if t is None else int(t)
    mac = hmac.new(secret.encode(), b"%d." % t + body, hashlib.sha256).hexdigest()
    return "t=%d,v1=%s" % (t, mac)


def ticket(tid="CHG0031337", state="approved", version=0, **kw):
    """A ticket JSON (docs/tickets.md) open from one hour ago to one hour ahead."""
    now = time.time()
    iso = lambda t: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))
    t = {"id": tid, "state": state, "kind": "normal", "requested_by": "alice@example.com",
         "approved_by": ["bob@example.com"], "subjects": ["repo:acme/api:environment:prod"],
         "access": ["deploy"], "window": {"start": iso(now - 3600), "end": iso(now + 3600)},
         "updated_at": iso(now - 600 + version)}
    t.update(kw)
    return t


def verify_audit_chain(path):
    """Independent check of the audit log's hash chain: returns (ok, lines, first bad line)."""
    import hashlib
    prev = "0" * 64
    seq = None
    n = 0
    with open(path, "rb") as f:
        for n, raw in enumerate(f, 1):
            line = raw.rstrip(b"\n")
            at = line.rfind(b',"hash":"')
            if at < 0 or not line.endswith(b'"}'):
                return False, n, n
            stated = line[at + 9:-2].decode()
            if hashlib.sha256(line[:at] + b"}").hexdigest() != stated:
                return False, n, n
            rec = json.loads(line)
            if rec["prev"] != prev or (seq is not None and rec["seq"] != seq + 1):
                return False, n, n
            prev, seq = stated, rec["seq"]
    return True, n, 0


def fixed_answer(status, body, content_type="application/json"):
    """A BaseHTTPRequestHandler class that answers every GET with `status` and `body` (str or
    bytes), for https_standin: a JWKS endpoint, a busy broker."""
    import http.server
    data = body.encode() if isinstance(body, str) else body

    class Fixed(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    return Fixed


def https_standin(handler, directory, port=0):
    """Serves `handler` (a BaseHTTPRequestHandler class) over TLS on a loopback port (a free one
    by default) with a self-signed certificate for 127.0.0.1, made once per directory so that a
    stand-in restarted there is trusted as before. Returns (server, port, cert_path); call
    server.shutdown() and server.server_close() when done."""
    import http.server
    import ssl
    import threading
    cert, key = os.path.join(directory, "standin.pem"), os.path.join(directory, "standin.key")
    if not os.path.exists(cert):
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", cert, "-days",
                        "1", "-subj", "/CN=standin", "-addext", "subjectAltName=IP:127.0.0.1"],
                       check=True, capture_output=True)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, server.server_address[1], cert
