"""A misbehaving Prometheus (a real loopback server): status, backoff, stale marker, recovery.

Each fault is served by `FaultyPrometheus`, which in "ok" mode forwards to the session's real
Prometheus; switching it back to "ok" must bring the same source object back to "up" with
the gap filled, without a restart.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.integration.test_prometheus import make_config
from tests.servers import FaultyPrometheus, free_port
from tests.waits import eventually
from tui.core.events import PointBatch
from tui.core.metrics.store import MetricStore
from tui.sources.hub import Hub
from tui.sources.prometheus import PrometheusSource

pytestmark = pytest.mark.integration

ONE_SERVICE = """
  - name: lat
    prometheus: {latency_histogram: wr_lat}
"""


async def _fail_then_recover(
    src: PrometheusSource, proxy: FaultyPrometheus, detail: str, state: str
) -> None:
    t0 = time.time() - 1.5
    assert await src.refresh(t0) == []
    st = src.status
    assert st.state == state, st
    assert detail in st.detail, st.detail
    assert st.stale_since is not None and st.stale_since >= t0
    stale_since = st.stale_since
    assert src.failures == 1 and src.next_delay() == 2.0
    assert await src.refresh(t0 + 1) == []
    assert src.failures == 2 and src.next_delay() == 4.0
    assert st.stale_since == stale_since  # stale since the *first* failure
    assert src.store.series("lat", "p99") is None  # nothing half-stored

    proxy.mode = "ok"
    points = await src.refresh(t0 + 1)
    for _ in range(4):  # a loaded test machine may time out once more; then it must recover
        if st.state == "up":
            break
        points = await src.refresh(t0 + 1)
    assert st.state == "up" and st.stale_since is None and st.detail == "", st.detail
    assert src.failures == 0 and src.next_delay() == 1.0
    assert st.last_ok is not None and st.last_ok >= stale_since
    assert any(p.service == "lat" and p.signal == "p99" for p in points)


@pytest.mark.parametrize(
    ("mode", "detail", "state"),
    [
        ("500", "HTTP 500: internal server error", "down"),
        ("garbage", "garbage answer (not JSON): '<html>not prometheus</html>'", "error"),
        ("shape", "unexpected answer shape", "error"),
        ("error", "HTTP 422: execution: query processing would load too many samples", "error"),
    ],
)
async def test_bad_answers_then_recovery(
    prometheus: str, mode: str, detail: str, state: str
) -> None:
    with FaultyPrometheus(prometheus, mode=mode) as proxy:
        src = PrometheusSource(make_config(proxy.url), MetricStore())
        try:
            await _fail_then_recover(src, proxy, detail, state)
        finally:
            await src.aclose()


async def test_slow_server_times_out_then_recovers(prometheus: str) -> None:
    # One service (7 queries) and a 1s timeout: generous enough that recovery on a loaded
    # machine is not itself a timeout.
    with FaultyPrometheus(prometheus, mode="slow", delay=3) as proxy:
        cfg = make_config(proxy.url, extra="  timeout: 1s", services=ONE_SERVICE)
        src = PrometheusSource(cfg, MetricStore())
        try:
            await _fail_then_recover(src, proxy, "timeout after 1s", "down")
        finally:
            await src.aclose()


async def test_unreachable_then_server_appears(prometheus: str) -> None:
    port = free_port()  # nothing listens here yet
    src = PrometheusSource(make_config(f"http://127.0.0.1:{port}"), MetricStore())
    try:
        t0 = time.time() - 1.5
        assert await src.refresh(t0) == []
        assert src.status.state == "down"
        assert src.status.detail.startswith("unreachable")
        assert src.status.stale_since is not None
        for _ in range(6):
            await src.refresh(t0)
        assert src.next_delay() == 16.0  # 1s doubled, capped at 16 x refresh
        with FaultyPrometheus(prometheus, port=port):
            points = await src.refresh(t0 + 2)
        recovered = src.status  # a new name: mypy still holds the "down" asserted above
        assert recovered.state == "up" and recovered.stale_since is None
        assert points
    finally:
        await src.aclose()


def test_backoff_is_capped_at_a_minute() -> None:
    cfg = make_config("http://127.0.0.1:1", refresh="5s", rate_window="1m", window="15m")
    src = PrometheusSource(cfg, MetricStore())
    delays = []
    for n in range(1, 9):
        src.failures = n
        delays.append(src.next_delay())
    assert delays == [10, 20, 40, 60, 60, 60, 60, 60]


async def test_slow_server_never_stacks_requests(prometheus: str) -> None:
    # Each answer takes 0.4s, refresh is 0.2s: an interval timer would pile requests up.
    with FaultyPrometheus(prometheus, mode="slow", delay=0.4) as proxy:
        cfg = make_config(
            proxy.url,
            refresh="200ms",
            rate_window="5s",
            window="10s",
            extra="  timeout: 5s",
            services=ONE_SERVICE,
        )
        updates: list[float] = []
        hub = Hub(
            cfg,
            MetricStore(),
            lambda e: updates.append(time.monotonic()) if isinstance(e, PointBatch) else None,
        )

        def refreshes() -> int:
            return len({f["end"][0] for _, _, f in list(proxy.spans) if "end" in f})

        async with hub:
            # several refreshes, however slow the machine: on a condition, not a fixed sleep
            deadline = time.monotonic() + 30
            while (len(updates) < 2 or refreshes() < 2) and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
    assert len(updates) >= 2
    # range queries of each refresh (the instant one is the bucket-layout look-up)
    spans = sorted((a, b, f["end"][0]) for a, b, f in proxy.spans if "end" in f)
    assert len({end for _, _, end in spans}) >= 2  # several refreshes happened
    # Requests of different refreshes (different `end`) never overlap in time...
    for a0, a1, ea in spans:
        for b0, b1, eb in spans:
            if ea != eb:
                assert b1 <= a0 + 0.05 or b0 >= a1 - 0.05, (ea, eb)
    # ...and no more than 4 are in flight at once within one.
    for s0, _, _ in spans:
        assert sum(1 for b0, b1, _ in spans if b0 <= s0 < b1) <= 4


async def test_hub_keeps_running_through_an_outage(prometheus: str) -> None:
    with FaultyPrometheus(prometheus, mode="500") as proxy:
        cfg = make_config(proxy.url, refresh="200ms", rate_window="5s", window="10s")
        store = MetricStore()
        hub = Hub(cfg, store)
        async with hub:
            await asyncio.sleep(1.6)
            st = hub.statuses()[0]
            assert st.state == "down" and st.stale_since is not None
            failed_requests = proxy.requests
            # backoff 0.4, 0.8, 1.6...: a handful of refreshes, not one every 200 ms
            assert failed_requests <= 4 * 13
            proxy.mode = "ok"
            await eventually(lambda: st.state == "up", "the source back up", timeout=6)
            assert st.stale_since is None
            assert store.latest("lat", "p99") is not None


async def test_refused_bucket_layout_costs_precision_never_points(prometheus: str) -> None:
    """A backend that refuses the `count by (le)` look-up still gives every point (without its
    bucket), stays up, and the look-up is retried: once answered, points carry buckets."""
    with FaultyPrometheus(prometheus, mode="refuse-instant") as proxy:
        cfg = make_config(proxy.url, services=ONE_SERVICE)
        src = PrometheusSource(cfg, MetricStore())
        try:
            t0 = time.time()
            points = [p for p in await src.refresh(t0) if p.signal == "p99"]
            assert points and all(p.bucket is None for p in points)
            assert src.status.state == "up"
            proxy.mode = "ok"
            later = [p for p in await src.refresh(t0 + 31) if p.signal == "p99"]
            assert later and all(p.bucket is not None for p in later), later
        finally:
            await src.aclose()
