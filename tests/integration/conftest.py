"""Session-wide real servers for the Prometheus tests.

One real Prometheus 2.42 (started once: it takes a few seconds) scrapes, every second, itself
(its own classic histogram `prometheus_http_request_duration_seconds`, kept moving by a small
traffic thread) and an exposition server that serves histograms the tests control:

- `wr_static_bucket{case=...}`: fixed cumulative counts, one case per bucket layout, to
  compare `histogram_quantile` on raw counts with ours;
- `wr_rate_bucket{case=...}`: counters that grow by fixed per-scrape increments (one case
  resets now and then), to compare quantiles of rates;
- `wr_lat_bucket`: a latency histogram whose p99 lands in the +Inf bucket (p50/p95 do not),
  with `wr_requests_total` / `wr_errors_total` for qps and error ratio.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest

from tests.servers import ExpositionServer, start_prometheus, wait_for_scrape

INF = math.inf

# case -> [(le label text, cumulative count)]
STATIC_CASES: dict[str, list[tuple[str, float]]] = {
    "typical": [
        ("0.005", 2),
        ("0.01", 10),
        ("0.025", 40),
        ("0.05", 70),
        ("0.1", 90),
        ("0.25", 97),
        ("0.5", 99),
        ("1", 100),
        ("+Inf", 100),
    ],
    "first-bucket": [("0.1", 10), ("0.5", 10), ("1", 10), ("+Inf", 10)],
    "all-in-inf": [("0.1", 0), ("1", 0), ("+Inf", 5)],
    "p99-in-inf": [("0.1", 50), ("0.2", 97), ("+Inf", 100)],
    "zeros": [("0.1", 0), ("1", 0), ("+Inf", 0)],
    "negative-first": [("-1", 2), ("0", 4), ("1", 8), ("+Inf", 8)],
    "zero-first": [("0", 3), ("0.5", 6), ("+Inf", 12)],
    "non-monotonic": [("0.1", 5), ("0.2", 3), ("0.5", 8), ("+Inf", 9)],
    "duplicate-le": [("1", 4), ("1.0", 2), ("2", 10), ("+Inf", 11)],
    "only-inf": [("+Inf", 3)],
    "no-inf": [("0.1", 1), ("1", 2)],
    "huge": [("0.001", 1e9), ("0.01", 3.5e12), ("0.1", 7.25e12), ("+Inf", 7.3e12)],
    "rank-on-boundary": [("0.1", 25), ("0.2", 50), ("0.4", 75), ("0.8", 99), ("+Inf", 100)],
    "fractional": [("0.3", 0.3), ("0.7", 1.1), ("1.3", 2.9), ("+Inf", 3.0000001)],
    "single-finite": [("0.25", 7), ("+Inf", 9)],
}

# case -> (le labels, per-scrape increments of the cumulative counts, reset every N scrapes)
RATE_CASES: dict[str, tuple[list[str], list[float], int]] = {
    "steady": (["0.01", "0.05", "0.1", "0.5", "+Inf"], [1, 6, 9, 10, 10], 0),
    "heavy-tail": (["0.01", "0.05", "0.1", "0.5", "+Inf"], [0, 1, 2, 90, 100], 0),
    "in-inf": (["0.1", "0.2", "+Inf"], [0, 1, 7], 0),
    "first-only": (["0.2", "0.4", "+Inf"], [3, 3, 3], 0),
    "idle": (["0.1", "1", "+Inf"], [0, 0, 0], 0),
    "with-resets": (["0.05", "0.1", "0.2", "+Inf"], [2, 3, 8, 9], 7),
    "odd": (["0.003", "0.007", "0.011", "0.5", "+Inf"], [0.5, 1.25, 2, 3.5, 3.75], 0),
}

# The latency histogram of service "lat": per scrape 100 requests, 50 under 0.1s, 97 under
# 0.2s, 3 above every finite bound -> p50 0.1, p95 in (0.1, 0.2], p99 saturated at 0.2.
LAT = (["0.1", "0.2", "+Inf"], [50, 97, 100])
LAT_REQUESTS, LAT_ERRORS = 100, 2

# "spiky": 100 requests per scrape, p99 under 0.1s, except 4 scrapes in every 20 where the
# requests are slow (p99 near 1s): the spike detector must see it.
SPIKY_LES = ["0.025", "0.05", "0.1", "0.25", "0.5", "1", "+Inf"]
SPIKY_FAST = [20, 70, 100, 100, 100, 100, 100]
SPIKY_SLOW = [0, 10, 20, 40, 70, 100, 100]
SPIKY_PERIOD, SPIKY_SLOW_FROM, SPIKY_SLOW_TO = 20, 12, 16


@dataclass
class Histograms:
    """Generates the exposition text; counters advance by their increments on every scrape."""

    scrape: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    spiky: list[float] = field(default_factory=lambda: [0.0] * len(SPIKY_LES))

    def text(self) -> str:
        with self.lock:
            self.scrape += 1
            n = self.scrape
            slow = SPIKY_SLOW_FROM <= n % SPIKY_PERIOD < SPIKY_SLOW_TO
            inc = SPIKY_SLOW if slow else SPIKY_FAST
            self.spiky = [c + d for c, d in zip(self.spiky, inc, strict=True)]
            spiky = list(self.spiky)
        out = ["# TYPE wr_static_bucket untyped"]
        for case, buckets in STATIC_CASES.items():
            out += [f'wr_static_bucket{{case="{case}",le="{le}"}} {c!r}' for le, c in buckets]
        out.append("# TYPE wr_rate_bucket untyped")
        for case, (les, steps, reset) in RATE_CASES.items():
            k = n % reset if reset else n
            out += [
                f'wr_rate_bucket{{case="{case}",le="{le}"}} {d * k!r}'
                for le, d in zip(les, steps, strict=True)
            ]
        out.append("# TYPE wr_lat histogram")
        les, inc = LAT
        out += [f'wr_lat_bucket{{le="{le}"}} {d * n}' for le, d in zip(les, inc, strict=True)]
        out += [f"wr_lat_sum {n * 15.5}", f"wr_lat_count {inc[-1] * n}"]
        # the same latencies under the standard name that discovery looks for
        out.append("# TYPE http_server_request_duration_seconds histogram")
        out += [
            f'http_server_request_duration_seconds_bucket{{le="{le}"}} {d * n}'
            for le, d in zip(les, inc, strict=True)
        ]
        out += [
            f"http_server_request_duration_seconds_sum {n * 15.5}",
            f"http_server_request_duration_seconds_count {inc[-1] * n}",
        ]
        out.append("# TYPE wr_spiky histogram")
        out += [
            f'wr_spiky_bucket{{le="{le}"}} {c:g}' for le, c in zip(SPIKY_LES, spiky, strict=True)
        ]
        out += [f"wr_spiky_sum {n * 10}", f"wr_spiky_count {spiky[-1]:g}"]
        out += ["# TYPE wr_requests_total counter", f"wr_requests_total {LAT_REQUESTS * n}"]
        out += ["# TYPE wr_errors_total counter", f"wr_errors_total {LAT_ERRORS * n}"]
        return "\n".join(out) + "\n"


@pytest.fixture(scope="session")
def exposition() -> Iterator[ExpositionServer]:
    server = ExpositionServer()
    server.set(Histograms().text)
    with server:
        yield server


def _traffic(url: str, stop: threading.Event) -> None:
    """Keep Prometheus' own request-duration histogram moving."""
    with httpx.Client(timeout=5) as client:
        i = 0
        while not stop.wait(0.1):
            i += 1
            try:
                client.post(f"{url}/api/v1/query", data={"query": "up"})
                if i % 5 == 0:
                    client.post(
                        f"{url}/api/v1/query",
                        data={"query": "sum by (le) (rate(wr_lat_bucket[1m]))"},
                    )
            except httpx.HTTPError:
                pass


@pytest.fixture(scope="session")
def prometheus(
    tmp_path_factory: pytest.TempPathFactory, exposition: ExpositionServer
) -> Iterator[str]:
    """Base URL of the session's real Prometheus, once every target has data to rate()."""
    with start_prometheus(tmp_path_factory.mktemp("prometheus"), [exposition.target]) as url:
        stop = threading.Event()
        thread = threading.Thread(target=_traffic, args=(url, stop), daemon=True)
        thread.start()
        try:
            wait_for_scrape(url, "up == 1", timeout=30, predicate=lambda r: len(r) == 2)
            # rate() needs two samples in its window: wait for five scrapes of each target.
            wait_for_scrape(
                url, "count_over_time(up[10s]) >= 5", timeout=30, predicate=lambda r: len(r) == 2
            )
            wait_for_scrape(url, 'rate(wr_lat_bucket{le="+Inf"}[5s]) > 0', timeout=30)
            wait_for_scrape(
                url,
                'rate(prometheus_http_request_duration_seconds_count{handler="/api/v1/query"}'
                "[5s]) > 0",
                timeout=30,
            )
            yield url
        finally:
            stop.set()
            thread.join(timeout=5)
