"""The HTTP edge under unauthenticated abuse, against the real binary over real TLS.

Metrics: label values come from fixed sets, so requests with thousands of invented methods do
not grow /metrics (each distinct value used to become a series held for the process's life)."""
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


if __name__ == "__main__":
    unittest.main()
