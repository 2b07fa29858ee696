"""The HTTP edge under unauthenticated abuse, against the real binary over real TLS.

Metrics: label values come from fixed sets, so requests with thousands of invented methods do
not grow /metrics (each distinct value used to become a series held for the process's life).
Connections: a per-source-address cap and a short handshake deadline, so one address holding
idle sockets cannot take every slot of the global connection cap."""
import select
import socket
import ssl
import time
import unittest

from brokerproc import Broker, read_http_response
from test_server import DEFAULT_POLICIES, parse_prometheus

ODD_METHODS = 2000


def closed_by_peer(sock):
    """True once the broker has closed the connection (EOF or reset); never blocks."""
    try:
        r, _, _ = select.select([sock], [], [], 0)
        return bool(r) and sock.recv(1024) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


class MetricsCardinalityTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.b = Broker().start()

    @classmethod
    def tearDownClass(cls):
        cls.b.cleanup()

    def metrics(self):
        status, _, data = self.b.request("GET", "/metrics")
        self.assertEqual(status, 200)
        return data.decode()

    def send_raw(self, requests):
        """Sends each raw request over keep-alive TLS connections; returns the statuses."""
        statuses, s = [], None
        for raw in requests:
            for attempt in (0, 1):  # the broker may close a connection after an error answer
                try:
                    s = s or self.b.tls_socket()
                    s.sendall(raw)
                    statuses.append(read_http_response(s)[0])
                    break
                except (ConnectionError, ssl.SSLError, OSError):
                    s.close()
                    s = None
                    if attempt:
                        raise
        if s:
            s.close()
        return statuses

    def test_invented_methods_do_not_grow_metrics(self):
        req = lambda m: b"%s /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" % m.encode()
        self.send_raw([req("WARMUP"), req("get")])  # the "other" series exist from here on
        before = self.metrics()
        statuses = self.send_raw([req("FOO%d" % i) for i in range(ODD_METHODS)])
        self.assertEqual(len(statuses), ODD_METHODS)
        self.assertTrue(all(400 <= s < 500 for s in statuses), set(statuses))
        after = self.metrics()

        self.assertFalse("FOO" in after, "invented methods became label values: /metrics grew "
                         "from %d to %d bytes" % (len(before), len(after)))
        _, samples_before = parse_prometheus(before)
        _, samples_after = parse_prometheus(after)
        # Only the /metrics scrape itself may add a series or two (its route, its histogram).
        self.assertLessEqual(len(samples_after) - len(samples_before), 20)
        self.assertLess(len(after) - len(before), 4096, "metrics grew by %d bytes"
                        % (len(after) - len(before)))
        other = [v for n, l, v in samples_after
                 if n == "jitbroker_http_requests_total" and 'method="other"' in l]
        self.assertGreaterEqual(sum(other), ODD_METHODS, "the odd requests were not counted")


class ConnectionCapsTest(unittest.TestCase):
    HANDSHAKE_TIMEOUT = 2.0
    PER_ADDRESS = 8

    @classmethod
    def setUpClass(cls):
        cls.b = Broker(config='listen: "127.0.0.1:0"\ndata_dir: "@DATA@"\nthreads: 2\n'
                              'policies_dir: "%s"\n'
                              'limits:\n  max_connections: 40\n'
                              '  max_connections_per_address: %d\n'
                              '  handshake_timeout: 2s\n  read_timeout: 10s\n'
                       % (DEFAULT_POLICIES, cls.PER_ADDRESS)).start()

    @classmethod
    def tearDownClass(cls):
        cls.b.cleanup()

    def connect_from(self, source):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind((source, 0))  # all of 127/8 is loopback on Linux
        s.settimeout(5)
        s.connect(("127.0.0.1", self.b.port))
        return s

    def test_one_address_with_idle_sockets_does_not_lock_others_out(self):
        attacker = []
        try:
            t0 = time.time()
            for _ in range(60):  # more than the global cap of 40
                attacker.append(self.connect_from("127.0.0.2"))
            for s in attacker:
                s.setblocking(False)
            # Half of the admitted ones start a TLS record and trickle it: the deadline is for
            # the whole handshake, so bytes arriving do not extend it.
            for s in attacker[:self.PER_ADDRESS // 2]:
                try:
                    s.send(b"\x16\x03\x01\x02\x00")
                except OSError:
                    pass

            started = time.time()
            try:
                status, _, _ = self.b.request("GET", "/healthz")
            except (ConnectionError, ssl.SSLError, OSError) as e:
                self.fail("a client from 127.0.0.1 was turned away: %r" % e)
            self.assertEqual(status, 200)
            self.assertLess(time.time() - started, 1.0, "the legitimate client waited")

            # Those over the per-address cap are closed at once; the others at the deadline.
            closed_at = {}
            while time.time() < t0 + self.HANDSHAKE_TIMEOUT + 2.5 and len(closed_at) < 60:
                for i, s in enumerate(attacker):
                    if i in closed_at:
                        continue
                    if closed_by_peer(s):
                        closed_at[i] = time.time() - t0
                    elif i < self.PER_ADDRESS // 2:
                        try:
                            s.send(b"\x01")
                        except OSError:
                            pass
                time.sleep(0.05)
            self.assertEqual(len(closed_at), 60, "idle sockets outlived the handshake deadline")
            lives = sorted(closed_at.values())
            early, late = lives[:60 - self.PER_ADDRESS], lives[60 - self.PER_ADDRESS:]
            self.assertLess(max(early), self.HANDSHAKE_TIMEOUT * 0.75,
                            "connections over the per-address cap were not closed at accept")
            self.assertGreater(min(late), self.HANDSHAKE_TIMEOUT - 0.3, "closed too early")
            self.assertLess(max(late), self.HANDSHAKE_TIMEOUT + 1.5, "outlived the deadline")

            # The attacker's address got its places back: a real client from it is served.
            s = self.connect_from("127.0.0.2")
            tls = self.b.tls_context().wrap_socket(s, server_hostname="127.0.0.1")
            tls.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            self.assertEqual(read_http_response(tls)[0], 200)
            tls.close()

            _, _, data = self.b.request("GET", "/metrics")
            _, samples = parse_prometheus(data.decode())
            per_address = [v for n, _, v in samples
                           if n == "jitbroker_http_connections_rejected_per_address_total"]
            self.assertEqual(per_address, [60 - self.PER_ADDRESS])
        finally:
            for s in attacker:
                s.close()


if __name__ == "__main__":
    unittest.main()
