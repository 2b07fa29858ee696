"""Slow and idle clients (issue 8): hundreds of connections that never speak, sit idle after
the TLS handshake, or trickle a request a byte at a time do not stop other clients from being
served. The read deadline (limits.read_timeout) covers a whole request, so trickling bytes does
not keep a connection alive; the connection cap (limits.max_connections) turns away the excess
at once, and the deadline frees the slots the slow ones hold."""
import select
import socket
import ssl
import time
import unittest

from exchange_env import ExchangeEnv
from reliability_env import FORM, token_body

READ_TIMEOUT = 2.0
HANDSHAKE_TIMEOUT = 3.0  # limits.handshake_timeout's default
SLACK = 2.0
TRICKLE_HEAD = (b"POST /v1/token HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100000\r\n")


def closed_by_peer(sock):
    """True when the broker has closed the connection (EOF or reset); never blocks."""
    try:
        r, _, _ = select.select([sock], [], [], 0)
        if not r:
            return False
        return sock.recv(1024) == b""
    except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
        return False  # e.g. half a TLS record (TLS 1.3 session tickets arrive after the handshake)
    except (ssl.SSLError, OSError, ValueError):
        return True


class Conn:
    def __init__(self, sock, kind):
        self.sock, self.kind = sock, kind
        self.opened = time.time()
        self.closed_at = None
        self.sent = 0


class SlowClientsTest(unittest.TestCase):
    def test_300_idle_and_trickling_connections_do_not_stop_other_clients(self):
        # All 300 come from 127.0.0.1: the per-address cap (tests/integration/test_edge.py) is
        # raised so that the deadlines are what is tested here.
        env = ExchangeEnv(limits="limits:\n  read_timeout: 2s\n"
                                 "  max_connections_per_address: 1000\n")
        conns = []
        try:
            env.send_ticket("SLOW")
            caller = env.idp.github()
            for _ in range(100):  # TCP only: they never start TLS
                conns.append(Conn(socket.create_connection(("127.0.0.1", env.b.port)), "raw"))
            for kind in ("idle", "trickle"):
                for _ in range(100):
                    conns.append(Conn(env.b.tls_socket(), kind))
            for c in conns:
                c.sock.setblocking(False)

            latencies = []
            for i in range(40):  # a fresh connection each: accept and handshake are not starved
                self.trickle(conns)
                t0 = time.time()
                if i % 2:
                    status, _, data = env.b.request("POST", "/v1/token", headers=FORM,
                                                    body=token_body("SLOW", caller))
                else:
                    status, _, data = env.b.request("GET", "/healthz")
                latencies.append(time.time() - t0)
                self.assertEqual(status, 200, data)
            self.assertLess(max(latencies), 1.0, "a client waited behind the slow ones")

            # Trickle on until every idle and trickling connection is cut (bounded).
            deadline = time.time() + READ_TIMEOUT + SLACK + 1
            while time.time() < deadline and any(
                    c.closed_at is None for c in conns if c.kind != "raw"):
                self.trickle(conns)
                time.sleep(0.2)
            for kind in ("idle", "trickle"):
                lives = [c.closed_at - c.opened if c.closed_at else None
                         for c in conns if c.kind == kind]
                self.assertNotIn(None, lives, "%s connections outlived the read deadline" % kind)
                self.assertGreater(min(lives), READ_TIMEOUT - 0.5, "%s cut early" % kind)
                self.assertLess(max(lives), READ_TIMEOUT + SLACK, kind)
            self.assertTrue(all(c.sent >= 4 for c in conns if c.kind == "trickle"),
                            "the tricklers were not sending up to the deadline")

            # Connections that never start TLS are dropped at the handshake deadline.
            deadline = conns[99].opened + HANDSHAKE_TIMEOUT + SLACK
            while time.time() < deadline and any(
                    c.closed_at is None for c in conns if c.kind == "raw"):
                self.trickle(conns)
                time.sleep(0.2)
            self.assertTrue(all(c.closed_at for c in conns if c.kind == "raw"),
                            "connections without a TLS handshake were kept")
            self.assertEqual(env.b.request("GET", "/healthz")[0], 200)
        finally:
            for c in conns:
                c.sock.close()
            env.close()

    def test_the_connection_cap_turns_the_excess_away_and_the_deadline_frees_slots(self):
        env = ExchangeEnv(limits="limits:\n  read_timeout: 2s\n  max_connections: 50\n")
        held, extra = [], []
        try:
            for _ in range(50):
                held.append(env.b.tls_socket())  # idle after the handshake: every slot taken
            t0 = time.time()
            for _ in range(250):
                extra.append(socket.create_connection(("127.0.0.1", env.b.port), timeout=5))
            pending = list(extra)
            while pending and time.time() < t0 + 2.0:
                pending = [s for s in pending if not closed_by_peer(s)]
                time.sleep(0.05)
            self.assertEqual(len(pending), 0, "connections over the cap were not closed at once")

            # Served once the read deadline has freed the idle connections' slots.
            status, started = None, time.time()
            while status != 200 and time.time() < started + READ_TIMEOUT + SLACK + 1:
                try:
                    status = env.b.request("GET", "/healthz")[0]
                except (ConnectionError, OSError):
                    time.sleep(0.1)
            self.assertEqual(status, 200)
            self.assertLess(time.time() - started, READ_TIMEOUT + SLACK)
            metrics = env.b.request("GET", "/metrics")[2].decode()
            rejected = [l for l in metrics.splitlines()
                        if l.startswith("jitbroker_http_connections_rejected_total")]
            self.assertTrue(rejected and float(rejected[0].split()[-1]) >= 250, rejected)
        finally:
            for s in held + extra:
                s.close()
            env.close()

    @staticmethod
    def trickle(conns):
        """One step: each trickler sends its next byte; every connection is checked for EOF."""
        now = time.time()
        for c in conns:
            if c.closed_at:
                continue
            if closed_by_peer(c.sock):
                c.closed_at = now
                continue
            if c.kind == "trickle" and now - c.opened >= 0.25 * c.sent:
                try:
                    c.sock.send(TRICKLE_HEAD[c.sent % len(TRICKLE_HEAD):][:1])
                    c.sent += 1
                except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
                    pass
                except (ssl.SSLError, OSError):
                    c.closed_at = now


if __name__ == "__main__":
    unittest.main()
