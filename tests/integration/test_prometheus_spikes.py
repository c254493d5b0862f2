"""The hub feeds every new p99 point to the spike detector and passes its events on."""

from __future__ import annotations

import functools
import time
from pathlib import Path
from typing import Any

import pytest

from tests.integration.test_prometheus import make_config
from tests.servers import wait_for_scrape
from tui.core.baseline.store import BaselineStore, Snapshot
from tui.core.events import SourceEvent, record_lines
from tui.core.metrics.store import MetricStore
from tui.sources.hub import Hub

pytestmark = pytest.mark.integration

SPIKY = """
  - name: spiky
    prometheus: {latency_histogram: wr_spiky}
    detector: {window: 10}
"""


def _record_into(out: list[dict[str, Any]], event: SourceEvent) -> None:
    out.extend(record_lines(event))


async def test_spikes_from_prometheus_reach_on_event(prometheus: str) -> None:
    # One full slow phase plus its lead-in must be in Prometheus (the exposition cycles
    # every 20 scrapes); later tests in a session usually find it there already.
    wait_for_scrape(prometheus, "count_over_time(wr_spiky_count[60s]) >= 40", timeout=60)
    cfg = make_config(prometheus, window="60s", rate_window="3s", services=SPIKY)
    events: list[dict[str, Any]] = []
    hub = Hub(cfg, MetricStore(), event_sink=lambda e: events.extend(record_lines(e)))
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


async def test_stored_baseline_judges_points_while_warming_up(
    prometheus: str, tmp_path: Path
) -> None:
    """ "lat" has a constant p99 of 0.2s: alone it never spikes; against a stored 50 ms
    baseline (loaded by the hub at start) the very first points already do."""
    services = """
  - name: lat
    prometheus: {latency_histogram: wr_lat}
"""
    cfg = make_config(prometheus, window="10s", services=services)
    found: dict[str, list[dict[str, Any]]] = {}
    for label, with_baseline in (("without", False), ("with", True)):
        cfg.baseline.dir = str(tmp_path / label)
        if with_baseline:
            BaselineStore(cfg.baseline.dir).save(
                Snapshot(
                    service="lat",
                    version="v1",
                    taken_at=time.time() - 3600,
                    taken_by="test",
                    signals={"p99": [0.05] * 20},
                    step=5.0,
                )
            )
        events: list[dict[str, Any]] = []
        hub = Hub(cfg, MetricStore(), event_sink=functools.partial(_record_into, events))
        await hub.start(loops=False)
        try:
            await hub.refresh_once(time.time() - 1.5)
        finally:
            await hub.stop()
        found[label] = [e for e in events if e["type"] == "spike"]
    assert found["without"] == []
    assert found["with"], "the stored baseline was not used"
    assert all(e["service"] == "lat" and e["baseline"] == 0.05 for e in found["with"])
