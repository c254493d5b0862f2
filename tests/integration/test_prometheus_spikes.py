"""The hub feeds every new p99 point to the spike detector and passes its events on."""

from __future__ import annotations

import time

import pytest

from tests.integration.test_prometheus import make_config
from tests.servers import wait_for_scrape
from tui.core.metrics.store import MetricStore
from tui.sources.hub import Hub

pytestmark = pytest.mark.integration

SPIKY = """
  - name: spiky
    prometheus: {latency_histogram: wr_spiky}
    detector: {window: 10}
"""


async def test_spikes_from_prometheus_reach_on_event(prometheus: str) -> None:
    # One full slow phase plus its lead-in must be in Prometheus (the exposition cycles
    # every 20 scrapes); later tests in a session usually find it there already.
    wait_for_scrape(prometheus, "count_over_time(wr_spiky_count[60s]) >= 40", timeout=60)
    cfg = make_config(prometheus, window="60s", rate_window="3s", services=SPIKY)
    events: list[dict] = []
    hub = Hub(cfg, MetricStore(), on_event=events.append)
    try:
        await hub.refresh_once(time.time() - 1.5)
    finally:
        await hub.stop()
    assert hub.spikes is not None
    spikes = [e for e in events if e["type"] == "spike"]
    assert spikes, "a 4-scrape slow phase inside 60s of history raised no spike"
    assert {e["state"] for e in spikes} >= {"SUSTAINED"}
    for e in spikes:
        assert e["service"] == "spiky" and e["signal"] == "p99"
        assert e["value"] > 0.3 or e["state"] == "RECOVERED"
        assert {"t", "type", "service", "signal", "state", "value", "baseline"} <= set(e)
    assert not [e for e in events if e["type"] == "point"]  # points only when asked for
