"""Several `jitbroker serve` replicas on one PostgreSQL store, as one broker (docs/operations.md,
high availability): a launcher for the replica tests (test_replicas.py).

Every replica gets the same config but its own port and data_dir, and the same public_url (the
address a load balancer would give them all), so that a token's `iss` is the same whichever
replica issued it. Keys: with a broker that knows `keys: {kek_file}` (signing keys kept in the
store under a key-encryption key) every replica is given the same KEK file; a broker that does
not know that key refuses it at `check`, and then every replica gets a copy of the first one's
key material instead (ca/ and jwt/ from its data_dir), so that tokens and certificates verify
everywhere. The secrets (admin.token, webhook.secret) are copied in both cases: they are files
in data_dir, not in the store."""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from urllib.parse import urlencode

from brokerproc import BIN, Broker, sign_event, slurp, ticket
from exchange_env import JWT_TYPE, POLICY, SUBJECT, TOKEN_EXCHANGE, free_port
from oidc import GITHUB_ISS, Issuer

HERE = os.path.dirname(os.path.abspath(__file__))
PG = os.path.join(HERE, "..", "..", "scripts", "pg")


class PgServer:
    """A throwaway PostgreSQL server of the suite's own (scripts/pg): the tests stop it and fail it
    over, which the shared ctest fixture must not see."""

    def __init__(self, parent, name="pg"):
        self.dir = os.path.join(parent, name)
        self.uri = self._pg("start", self.dir)

    @staticmethod
    def _pg(*args):
        return subprocess.run([PG] + list(args), check=True, capture_output=True, text=True,
                              timeout=120).stdout.strip()

    def standby(self, name="pg-standby"):
        """A synchronous streaming standby (scripts/pg standby): returns a PgServer for it."""
        s = PgServer.__new__(PgServer)
        s.dir = os.path.join(os.path.dirname(self.dir), name)
        s.uri = self._pg("standby", self.dir, s.dir)
        return s

    @property
    def port(self):
        return int(self.uri.rsplit(":", 1)[1].split("/", 1)[0])

    def halt(self, mode="fast"):
        self._pg("halt", self.dir, mode)

    def resume(self):
        self._pg("resume", self.dir)

    def promote(self):
        self._pg("promote", self.dir)

    def stop(self):
        subprocess.run([PG, "stop", self.dir], capture_output=True, timeout=120)


def kek_supported(tmp, store_uri):
    """Whether this jitbroker knows `keys: {kek_file}`: `check --offline` refuses a key it does
    not know. Writes the KEK (32 random bytes, 0600) to tmp/kek either way; returns its path or
    None."""
    kek = os.path.join(tmp, "kek")
    with open(os.open(kek, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as f:
        f.write(os.urandom(32))
    probe = os.path.join(tmp, "kek-probe.yaml")
    with open(probe, "w") as f:
        f.write('listen: "127.0.0.1:0"\ndata_dir: "%s"\npolicies_dir: "%s"\n'
                'store: { postgres: "%s" }\nkeys: { kek_file: "%s" }\n'
                % (os.path.join(tmp, "probe-var"), tmp, store_uri, kek))
    r = subprocess.run([BIN, "check", "--offline", "--config", probe], capture_output=True,
                       text=True, timeout=60)
    return kek if "unknown key 'keys'" not in r.stdout + r.stderr else None


class Cluster:
    """N replicas of one broker. Replica i is self.b[i] (a brokerproc.Broker on a fixed port, so
    that a restart keeps it); the helpers take the replica's index."""

    def __init__(self, n, store_uri, limits="", policy=None):
        self.tmp = tempfile.mkdtemp(prefix="jitb-replicas-")
        self.store_uri = store_uri
        self.idp = Issuer(self.tmp)
        self.ports = [free_port() for _ in range(n)]
        self.public_url = "https://127.0.0.1:%d" % self.ports[0]
        pol = os.path.join(self.tmp, "policies")
        os.makedirs(pol)
        with open(os.path.join(pol, "test.yaml"), "w") as f:
            f.write((policy or POLICY) % {"github": GITHUB_ISS, "gitlab": GITHUB_ISS + "/gl",
                                          "k8s": GITHUB_ISS + "/k8s", "self": self.public_url})
        self.kek = kek_supported(self.tmp, store_uri)
        keys = 'keys: { kek_file: "%s" }\n' % self.kek if self.kek else ""
        trust = '  - issuer: "%s"\n    jwks_file: "%s"\n    audience: "jitbroker"\n' % (
            GITHUB_ISS, self.idp.jwks_path)
        self.b = []
        for i, port in enumerate(self.ports):
            data_dir = os.path.join(self.tmp, "r%d" % i)
            cfg = ('listen: "127.0.0.1:%d"\npublic_url: "%s"\ndata_dir: "%s"\npolicies_dir: "%s"\n'
                   'store: { postgres: "%s" }\ntrust:\n%s%s%s'
                   % (port, self.public_url, data_dir, pol, store_uri, trust, keys, limits))
            self.b.append(Broker(config=cfg, data_dir=data_dir))
        self.logs = {}
        self.version = 0

    def start(self):
        """Starts replica 0, seeds the others' data_dirs from it, then starts them."""
        self.b[0].start()
        first = self.b[0].data_dir
        for b in self.b[1:]:
            os.makedirs(b.data_dir, mode=0o700, exist_ok=True)
            names = ["admin.token", "webhook.secret"] + ([] if self.kek else ["ca", "jwt"])
            for name in names:
                src = os.path.join(first, name)
                if os.path.isdir(src):
                    shutil.copytree(src, os.path.join(b.data_dir, name), dirs_exist_ok=True)
                elif os.path.exists(src):
                    shutil.copy2(src, os.path.join(b.data_dir, name))
            b.start()
        self.secret = slurp(os.path.join(first, "webhook.secret")).strip()
        self.admin = slurp(os.path.join(first, "admin.token")).strip()
        return self

    def close(self):
        for i, b in enumerate(self.b):
            b.stop()
            if os.path.exists(b.stderr_path):
                self.logs[i] = b.stderr()
            b.cleanup()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def log_tails(self, lines=60):
        """Each replica's stderr without the access log, for a failed test's report."""
        out = []
        for i, log in sorted(self.logs.items(), key=lambda kv: str(kv[0])):
            kept = [l for l in log.splitlines() if '"component":"access"' not in l]
            out.append("--- replica %s, last %d lines:\n%s" % (i, lines, "\n".join(kept[-lines:])))
        return "\n".join(out)

    # Processes.
    def kill9(self, i):
        b = self.b[i]
        b.proc.send_signal(signal.SIGKILL)
        b.proc.wait()
        b.stop()  # closes its pipes

    def restart(self, i):
        # start() writes the log afresh: keep what the replica said before it died.
        self.logs.setdefault("%d (earlier runs)" % i, "")
        self.logs["%d (earlier runs)" % i] += self.b[i].stderr()
        self.b[i].start()

    def alive(self):
        return [i for i, b in enumerate(self.b) if b.proc and b.proc.poll() is None]

    # The API, at replica i.
    def admin_json(self, i, method, path, body=None, ctype=None):
        headers = {"Authorization": "Bearer " + self.admin}
        if ctype:
            headers["Content-Type"] = ctype
        return self.b[i].json(method, path, body=body, headers=headers)

    def send_ticket(self, i, tid, **kw):
        self.version += 1
        t = ticket(tid, version=self.version, **kw)
        t.setdefault("subjects", [SUBJECT])
        body = json.dumps({"ticket": t}).encode()
        return self.b[i].json("POST", "/v1/tickets/events", body=body,
                              headers={"Content-Type": "application/json",
                                       "X-Jitbroker-Signature": sign_event(body, self.secret)})

    def token_form(self, tid, caller=None, **params):
        form = {"grant_type": TOKEN_EXCHANGE, "subject_token_type": JWT_TYPE,
                "subject_token": caller or self.idp.github(), "ticket": tid}
        form.update(params)
        return urlencode(form)

    def exchange(self, i, tid, caller=None, conn=None, **params):
        status, _, data = self.b[i].request(
            "POST", "/v1/token", body=self.token_form(tid, caller, **params),
            headers={"Content-Type": "application/x-www-form-urlencoded"}, conn=conn)
        return status, json.loads(data) if data else None

    def certificate(self, i, tid, caller=None, conn=None):
        status, _, data = self.b[i].request(
            "POST", "/v1/certificates",
            body=json.dumps({"ticket": tid, "grant": "deploy", "key_type": "server"}),
            headers={"Content-Type": "application/json",
                     "Authorization": "Bearer " + (caller or self.idp.github())}, conn=conn)
        return status, json.loads(data) if data else None

    def introspect(self, i, token, conn=None):
        status, _, data = self.b[i].request(
            "POST", "/v1/introspect", body=urlencode({"token": token}),
            headers={"Content-Type": "application/x-www-form-urlencoded",
                     "Authorization": "Bearer " + self.admin}, conn=conn)
        return status, json.loads(data) if data else None

    def introspect_many(self, i, tokens, threads=4):
        """(status, body) for each token at replica i, over `threads` keep-alive connections."""
        out = [None] * len(tokens)

        def work(k):
            conn = self.b[i].conn(timeout=30)
            try:
                for j in range(k, len(tokens), threads):
                    out[j] = self.introspect(i, tokens[j], conn=conn)
            finally:
                conn.close()

        run_threads(work, threads)
        return out


def start_threads(fn, n):
    """fn(0) .. fn(n - 1), each on a thread of its own; returns join(), which waits for them all
    and raises the first exception one of them raised (a failed assertion in a thread would
    otherwise be printed and lost)."""
    errors = []

    def run(k):
        try:
            fn(k)
        except BaseException as e:  # noqa: B036 - handed to join()
            errors.append(e)

    ts = [threading.Thread(target=run, args=(k,)) for k in range(n)]
    for t in ts:
        t.start()

    def join():
        for t in ts:
            t.join()
        if errors:
            raise errors[0]
    return join


def run_threads(fn, n):
    start_threads(fn, n)()


class Load:
    """Clients issuing tokens for ticket `tid` round-robin over the live replicas (what a load
    balancer does), until stop(). Keeps every token a client received, with the replica that
    answered, and counts the other answers by status."""

    def __init__(self, cluster, tid, threads=4, replicas=None):
        self.c, self.tid = cluster, tid
        self.replicas = replicas
        self.received = []  # (replica, token, lease_id, time received)
        self.statuses = {}
        self.lock = threading.Lock()
        self.halt = threading.Event()
        self.caller = cluster.idp.github()
        self.threads = [threading.Thread(target=self._work, args=(k,)) for k in range(threads)]
        for t in self.threads:
            t.start()

    def _work(self, k):
        n = k
        while not self.halt.is_set():
            live = [i for i in (self.replicas or range(len(self.c.b))) if i in self.c.alive()]
            if not live:
                time.sleep(0.05)
                continue
            i = live[n % len(live)]
            n += 1
            conn = self.c.b[i].conn(timeout=5)
            try:
                for _ in range(20):
                    if self.halt.is_set():
                        break
                    status, r = self.c.exchange(i, self.tid, self.caller, conn=conn)
                    with self.lock:
                        self.statuses[status] = self.statuses.get(status, 0) + 1
                        if status == 200:
                            self.received.append((i, r["access_token"], r["lease_id"], time.time()))
            except Exception:
                # The replica died or the connection broke: what was received is what counts.
                with self.lock:
                    self.statuses["error"] = self.statuses.get("error", 0) + 1
                time.sleep(0.01)
            finally:
                conn.close()

    def stop(self):
        self.halt.set()
        for t in self.threads:
            t.join()
        return self.received


def report(name, values_ms):
    """p50/p99/max of a list of milliseconds, printed to the test log and returned."""
    v = sorted(values_ms)
    if not v:
        return {}
    pick = lambda q: v[min(len(v) - 1, int(q * len(v)))]
    figures = {"n": len(v), "p50": pick(0.50), "p99": pick(0.99), "max": v[-1]}
    sys.stderr.write("%s: n=%d p50=%.0f ms p99=%.0f ms max=%.0f ms\n"
                     % (name, figures["n"], figures["p50"], figures["p99"], figures["max"]))
    return figures
