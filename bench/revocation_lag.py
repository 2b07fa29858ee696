#!/usr/bin/env python3
"""Revocation lag across replicas, for bench/replica_bench.sh: closes a ticket at the first
--url (replica A) and times, at every replica, when a sample of its leases reads inactive.

  revocation_lag.py --url URL_A [--url URL_B ...] --ca-file CA.pem --data-dir A_DATA_DIR
                    --subject-token FILE --ticket ID --subject SUB --access GRANT
                    --sample N --leases TOTAL [--threads 2] [--db-uri URI]

1. Issues N tokens for the ticket through the replicas in turn (real leases, real JWTs), as a
   load balancer would spread them. TOTAL is every active lease the ticket has once these are
   issued (the rest were inserted by SQL beforehand); the close must report that many revoked.
2. Reads each replica's jitbroker_revocation_fanout_lag_seconds histogram from /metrics.
3. Starts pollers (--threads per replica, each over its share of the whole sample) that
   introspect the sample at their replica again and again, then sends the signed ticket event
   that closes the ticket to A. For every (replica, lease) it keeps the send time of the last
   read that said active and the answer time of the first that said inactive; a poller stops
   when all of its leases have read inactive (or 30 s after A answered).
4. Waits until each replica's fan-out histogram has counted the ended leases (or 15 s), and
   reads it again; with --db-uri, reads the leases' ended_at from the store (psql).

Prints key=value lines (times in ms from A's answer to the close; negative: before it):
  replag close replicas=N leases=L sample=S status=200 revoked=L close_ms=... sent_ms=...
         ended_min_ms=... ended_max_ms=...
  replag replica=B first_inactive_ms=... last_active_ms=... p50_ms=... p99_ms=... max_ms=...
         never_inactive=0 active_after_first=0 resolution_ms=... fanout_count=...
         fanout_mean_ms=... fanout_p50_le=... fanout_p99_le=... fanout_max_le=...
A lease's first inactive answer is an upper bound for when its end became visible there; its
last active read (sent) a lower bound; resolution_ms is the median gap between the two (one
sweep over the poller's share of the sample). first_inactive_ms is the replica's earliest
inactive answer for any lease; active_after_first counts leases read active by a request sent
after that answer (one statement ends them all, so it should be 0).
"""
import argparse
import hashlib
import hmac
import http.client
import json
import re
import ssl
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from urllib.parse import urlencode, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp

TE = "urn:ietf:params:oauth:"
LAG = "jitbroker_revocation_fanout_lag_seconds"


class Replica:
    def __init__(self, url, ctx):
        u = urlsplit(url)
        self.host, self.port, self.ctx = u.hostname, u.port, ctx

    def conn(self, timeout=30):
        return http.client.HTTPSConnection(self.host, self.port, context=self.ctx, timeout=timeout)

    def call(self, conn, method, path, body=None, headers=None):
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        return r.status, r.read()


def issue(replicas, args, subject_token):
    """args.sample leases, round-robin over the replicas: --certificates of them certificates
    (for one CSR; each its own serial), the rest tokens. Returns [(replica, kind, body)]: what
    to ask to learn the lease's state (an introspection form, an OCSP request)."""
    form = urlencode({"grant_type": TE + "grant-type:token-exchange",
                      "subject_token": subject_token, "subject_token_type": TE + "token-type:jwt",
                      "ticket": args.ticket})
    form_hdr = {"Content-Type": "application/x-www-form-urlencoded"}
    cert_body = json.dumps({"ticket": args.ticket, "csr": open(args.csr).read()}) \
        if args.csr else ""
    cert_hdr = {"Content-Type": "application/json", "Authorization": "Bearer " + subject_token}
    issuer = None
    if args.certificates:
        conn = replicas[0].conn()
        status, pem = replicas[0].call(conn, "GET", "/v1/ca/chain.pem")
        conn.close()
        issuer = x509.load_pem_x509_certificate(pem)  # the issuing CA comes first
    out, lock, errors = [], threading.Lock(), []
    n_threads = 4 * len(replicas)

    def work(k):
        i = k % len(replicas)
        conn = replicas[i].conn()
        mine = []
        for j in range(k, args.sample, n_threads):
            if j < args.certificates:
                status, data = replicas[i].call(conn, "POST", "/v1/certificates", cert_body,
                                                cert_hdr)
                if status != 201:
                    errors.append("replica %d: certificate %d %s" % (i, status, data[:200]))
                    return
                cert = x509.load_pem_x509_certificate(json.loads(data)["certificate"].encode())
                req = ocsp.OCSPRequestBuilder().add_certificate(cert, issuer, hashes.SHA1()).build()
                mine.append((i, "ocsp", req.public_bytes(serialization.Encoding.DER)))
            else:
                status, data = replicas[i].call(conn, "POST", "/v1/token", form, form_hdr)
                if status != 200:
                    errors.append("replica %d: token %d %s" % (i, status, data[:200]))
                    return
                mine.append((i, "introspection",
                             urlencode({"token": json.loads(data)["access_token"]})))
        conn.close()
        with lock:
            out.extend(mine)

    run([threading.Thread(target=work, args=(k,)) for k in range(n_threads)])
    if errors or len(out) != args.sample:
        sys.exit("revocation_lag: issued %d of %d leases: %s" % (len(out), args.sample, errors[:3]))
    return out


def active(replica, conn, kind, body, admin):
    """Whether the lease reads active at the replica (introspection or OCSP), or an error."""
    if kind == "introspection":
        status, data = replica.call(conn, "POST", "/v1/introspect", body,
                                    {"Content-Type": "application/x-www-form-urlencoded",
                                     "Authorization": "Bearer " + admin})
        if status != 200:
            return "introspection answered %d" % status
        return bool(json.loads(data).get("active"))
    status, data = replica.call(conn, "POST", "/v1/ocsp", body,
                                {"Content-Type": "application/ocsp-request"})
    r = ocsp.load_der_ocsp_response(data) if status == 200 else None
    if r is None or r.response_status != ocsp.OCSPResponseStatus.SUCCESSFUL:
        return "OCSP answered %d %s" % (status, r.response_status.name if r else "")
    if r.certificate_status not in (ocsp.OCSPCertStatus.GOOD, ocsp.OCSPCertStatus.REVOKED):
        return "OCSP said " + r.certificate_status.name
    return r.certificate_status == ocsp.OCSPCertStatus.GOOD


def histogram(replica):
    """{le: cumulative count}, the count and the sum of the fan-out lag histogram at one replica."""
    conn = replica.conn()
    status, text = replica.call(conn, "GET", "/metrics")
    conn.close()
    if status != 200:
        sys.exit("revocation_lag: /metrics answered %d" % status)
    buckets, count, total = {}, 0, 0.0
    for line in text.decode().splitlines():
        m = re.match(LAG + r'_bucket\{le="([^"]+)"\} (\S+)', line)
        if m:
            buckets[m.group(1)] = float(m.group(2))
        elif line.startswith(LAG + "_count"):
            count = float(line.split()[-1])
        elif line.startswith(LAG + "_sum"):
            total = float(line.split()[-1])
    return buckets, count, total


def bucket_quantile(before, after, q):
    """The upper bound of the bucket holding quantile q of the observations between two reads."""
    b0, n0, _ = before
    b1, n1, _ = after
    n = n1 - n0
    if n <= 0:
        return "-"
    bounds = sorted(b1, key=lambda le: float("inf") if le == "+Inf" else float(le))
    for le in bounds:
        if b1[le] - b0.get(le, 0) >= q * n:
            return le
    return "+Inf"


def close_event(args, secret):
    now = datetime.now(timezone.utc)
    iso = lambda t: t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (t.microsecond // 1000)
    t = {"id": args.ticket, "state": "closed", "kind": "normal",
         "requested_by": "requester@dev.local", "approved_by": ["approver@dev.local"],
         "subjects": [args.subject], "access": [args.access],
         "window": {"start": iso(now - timedelta(minutes=1)), "end": iso(now + timedelta(hours=1))},
         "updated_at": iso(now)}
    body = json.dumps({"ticket": t}).encode()
    ts = int(time.time())
    mac = hmac.new(secret.encode(), b"%d." % ts + body, hashlib.sha256).hexdigest()
    return body, {"Content-Type": "application/json",
                  "X-Jitbroker-Signature": "t=%d,v1=%s" % (ts, mac)}


def run(threads):
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def pick(sorted_values, q):
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


def main():
    p = argparse.ArgumentParser()
    for name in ("--ca-file", "--data-dir", "--subject-token", "--ticket", "--subject", "--access"):
        p.add_argument(name, required=True)
    p.add_argument("--url", action="append", required=True)
    p.add_argument("--sample", type=int, required=True)
    p.add_argument("--leases", type=int, required=True)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--db-uri", help="the store, to read the leases' ended_at (psql)")
    p.add_argument("--certificates", type=int, default=0, help="how many of the sample")
    p.add_argument("--csr", help="the CSR the certificates are issued for")
    args = p.parse_args()
    ctx = ssl.create_default_context(cafile=args.ca_file)
    replicas = [Replica(u, ctx) for u in args.url]
    read = lambda name: open("%s/%s" % (args.data_dir, name)).read().strip()
    admin, secret = read("admin.token"), read("webhook.secret")
    tokens = issue(replicas, args, open(args.subject_token).read().strip())
    before = [histogram(r) for r in replicas]

    # Per (replica, token index): the send time of the last read that said active, the answer
    # time of the first that said inactive.
    last_active, first_inactive, errors = {}, {}, []
    acked, stop_at = [], [float("inf")]
    started = threading.Barrier(len(replicas) * args.threads + 1)

    def poll(i, part):
        conn = replicas[i].conn()
        todo = list(range(part, len(tokens), args.threads))
        started.wait()
        while todo and time.time() < stop_at[0]:
            left = []
            for j in todo:
                sent = time.time()
                now_active = active(replicas[i], conn, tokens[j][1], tokens[j][2], admin)
                if not isinstance(now_active, bool):
                    errors.append("replica %d: %s" % (i, now_active))
                    return
                if now_active:
                    last_active[(i, j)] = sent
                    left.append(j)
                else:
                    first_inactive[(i, j)] = time.time()
            todo = left
        conn.close()

    pollers = [threading.Thread(target=poll, args=(i, k))
               for i in range(len(replicas)) for k in range(args.threads)]
    for t in pollers:
        t.start()
    started.wait()
    # Every sample lease has been read active at every replica before the close is sent.
    deadline = time.time() + 60
    while len(last_active) < len(replicas) * len(tokens) and time.time() < deadline and not errors:
        time.sleep(0.01)
    if len(last_active) < len(replicas) * len(tokens):
        stop_at[0] = 0
        sys.exit("revocation_lag: the sample was not read active everywhere: %s" % errors[:1])
    body, headers = close_event(args, secret)
    conn = replicas[0].conn(timeout=300)
    sent = time.time()
    status, data = replicas[0].call(conn, "POST", "/v1/tickets/events", body, headers)
    acked.append(time.time())
    stop_at[0] = acked[0] + 30
    conn.close()
    for t in pollers:
        t.join()
    if errors:
        sys.exit("revocation_lag: " + errors[0])
    revoked = json.loads(data).get("revoked") if status == 200 else None
    ms = lambda t: (t - acked[0]) * 1000
    # When the close's statement ended the leases (their ended_at, the closing replica's clock,
    # this machine's), from A's answer: the fan-out's lag is counted from there.
    ended = ["nan", "nan"]
    if args.db_uri:
        out = subprocess.run(["psql", "-X", "-q", "-t", "-A", "-F", " ", "-d", args.db_uri, "-c",
                              "SELECT min(ended_at), max(ended_at) FROM leases WHERE ticket = '%s'"
                              % args.ticket.replace("'", "")],
                             capture_output=True, text=True, check=True).stdout.split()
        ended = ["%.0f" % (int(v) - acked[0] * 1000) for v in out]
    print("replag close replicas=%d leases=%d sample=%d certificates=%d status=%d revoked=%s "
          "close_ms=%.0f sent_ms=%.0f ended_min_ms=%s ended_max_ms=%s"
          % (len(replicas), args.leases, len(tokens), args.certificates, status, revoked,
             (acked[0] - sent) * 1000,
             (sent - acked[0]) * 1000, ended[0], ended[1]))

    # The fan-out applies the ended leases after the close; wait for it to count them.
    deadline = time.time() + 15
    after = [histogram(r) for r in replicas]
    while time.time() < deadline and any(a[1] - b[1] < args.leases for a, b in zip(after, before)):
        time.sleep(0.2)
        after = [histogram(r) for r in replicas]
    for i in range(len(replicas)):
        mine = [j for j in range(len(tokens)) if (i, j) in first_inactive]
        ends = sorted(ms(first_inactive[(i, j)]) for j in mine)
        first = min(first_inactive[(i, j)] for j in mine) if mine else float("inf")
        # An active answer to a read sent after this replica had answered inactive for another
        # lease of the ticket: one statement ended them all, so this should never happen.
        after_first = sum(1 for (r, _), t in last_active.items() if r == i and t > first)
        # The resolution: between a lease's last active read and its first inactive one.
        gaps = sorted(first_inactive[(i, j)] - last_active[(i, j)] for j in mine
                      if (i, j) in last_active)
        line = ("replag replica=%s replicas=%d first_inactive_ms=%.1f last_active_ms=%.1f "
                "p50_ms=%.1f p99_ms=%.1f max_ms=%.1f never_inactive=%d active_after_first=%d "
                "resolution_ms=%.1f fanout_count=%d fanout_mean_ms=%.0f fanout_p50_le=%s "
                "fanout_p99_le=%s fanout_max_le=%s ocsp_max_ms=%.1f")
        actives = [ms(t) for (r, _), t in last_active.items() if r == i]
        print(line % ("ABCDEFGH"[i], len(replicas), ends[0] if ends else -1,
                      max(actives) if actives else -1,
                      pick(ends, 0.5) if ends else -1, pick(ends, 0.99) if ends else -1,
                      ends[-1] if ends else -1, len(tokens) - len(ends), after_first,
                      1000 * pick(gaps, 0.5) if gaps else -1, after[i][1] - before[i][1],
                      1000 * (after[i][2] - before[i][2]) / max(1, after[i][1] - before[i][1]),
                      bucket_quantile(before[i], after[i], 0.5),
                      bucket_quantile(before[i], after[i], 0.99),
                      bucket_quantile(before[i], after[i], 1.0),
                      max([ms(first_inactive[(i, j)]) for j in mine if tokens[j][1] == "ocsp"],
                          default=-1)))
    return 0 if status == 200 and revoked == args.leases else 1


if __name__ == "__main__":
    sys.exit(main())
