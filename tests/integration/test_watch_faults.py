"""A broken or hostile API server on the Canary watch: an undecodable line, an ERROR event with code 500, a
stream that falls silent, an event over the 8 MiB line cap. Each case must show backoff (a handful of watch
requests in 5 s, not thousands), /readyz turning 503 once the last proof of life (an event, a bookmark, a
list) is older than --max-unsynced, one log line when the watch starts failing and one when it recovers,
the restart counted by reason, and recovery (/readyz 200, a new Canary seen) once the stand-in behaves.

The stand-in sends a bookmark every 0.5 s, as the API server does every minute; the server under test is
told to give up on a watch after 2 s without one (--watch-idle-timeout) and to fail /readyz after 1 s
without proof of life (--max-unsynced)."""
import time
import unittest

from test_cache import CacheTest, canary, podinfo, wait_for

# At most this many watch requests in the first 5 s of a fault: with a jittered backoff starting at
# 125-250 ms and doubling, a client makes about 5; without one it made thousands.
HANDFUL = 7


class WatchFaultTest(CacheTest):

    def start_watching(self):
        self.start("--max-unsynced", "1", "--watch-idle-timeout", "2", canaries=[podinfo()], bookmark_interval=0.5)
        self.assertTrue(wait_for(lambda: self.readyz() == 200, 10), self.server.logs())
        self.assertTrue(self.api.wait_watches(1))
        # A bookmark arrived: the watch is proven, not merely open.
        self.assertTrue(wait_for(lambda: self.metrics()["manual_gate_watch_last_event_age_seconds"] < 0.6, 5))

    def fault(self, fault, reason):
        """Start fault on a proven watch (ended cleanly, as at the server's timeoutSeconds, or gone silent);
        check backoff and readiness over 5 s, then recovery. Returns the numbers for the report."""
        self.start_watching()
        self.api.watch_fault(fault)
        t0 = time.time()
        if fault != "silent":
            self.api.end_watches()
        self.assertTrue(wait_for(lambda: self.readyz() == 503, 5, 0.02), self.server.logs()[-3000:])
        t503 = time.time() - t0
        time.sleep(max(0.0, t0 + 5 - time.time()))
        watches = [r for r in self.api.requests(watch=True) if t0 <= r["time"] < t0 + 5]
        self.assertLessEqual(len(watches), HANDFUL, [(round(r["time"] - t0, 2), r["status"]) for r in watches])
        self.assertGreaterEqual(len(watches), 1 if fault == "silent" else 2)
        m = self.metrics()
        if fault != "oversized":
            # (Each relist of the oversized case is a proof of life: /readyz is 200 for a second after it.)
            self.assertEqual(self.readyz(), 503)
            self.assertGreater(m["manual_gate_watch_last_event_age_seconds"], 1)
        self.assertGreaterEqual(m['manual_gate_watch_restarts_total{reason="%s"}' % reason], 1)
        self.assertEqual(m["manual_gate_cache_canaries"], 2 if fault == "oversized" else 1)
        # One line when the failing starts, none per retry.
        logs = self.server.logs()
        self.assertEqual(logs.count("retrying with backoff"), 1, logs[-3000:])

        self.api.watch_fault(None)
        t1 = time.time()
        self.api.put(canary("test", "frontend"))
        want = 3 if fault == "oversized" else 2
        self.assertTrue(wait_for(lambda: self.readyz() == 200 and self.metric("canaries") == want, 30),
                        self.server.logs()[-3000:])
        recovered = time.time() - t1
        self.assertTrue(wait_for(lambda: "recovered" in self.server.logs(), 5), self.server.logs()[-3000:])
        self.assertEqual(self.server.logs().count("retrying with backoff"), 1)
        print("\n  %s: %d watch requests in 5 s, /readyz 503 after %.2f s, recovered in %.2f s"
              % (fault, len(watches), t503, recovered), end=" ")
        return t0

    def test_undecodable_line_backs_off(self):
        self.fault("bad_line", "undecodable")
        self.assertEqual(self.metric("relists_total"), 0)

    def test_error_event_500_backs_off(self):
        self.fault("error_500", "error_event")
        self.assertEqual(self.metric("relists_total"), 0)

    def test_silent_stream_is_replaced_after_the_idle_timeout(self):
        self.fault("silent", "idle")
        self.assertEqual(self.metric("relists_total"), 0)

    def test_event_over_the_line_cap_relists(self):
        t0 = self.fault("oversized", "too_large")
        # The watch did not resume from the same resourceVersion for ever: each failure listed again.
        lists = [r for r in self.api.requests(watch=False) if r["time"] > t0]
        self.assertGreaterEqual(len(lists), 2, lists)
        self.assertGreaterEqual(self.metric("relists_total"), 2)

    def test_a_quiet_watch_with_bookmarks_stays_ready(self):
        self.start_watching()
        # Four idle timeouts with nothing but bookmarks: in sync all along, no restart.
        deadline = time.time() + 8
        while time.time() < deadline:
            self.assertEqual(self.readyz(), 200)
            time.sleep(0.1)
        m = self.metrics()
        self.assertEqual(m['manual_gate_watch_restarts_total{reason="idle"}'], 0)
        self.assertEqual(len(self.api.requests(watch=True)), 1)
        self.assertNotIn("retrying with backoff", self.server.logs())


if __name__ == "__main__":
    unittest.main()
