"""A release of the real Go service under a real Prometheus: gosvc restarted at another
revision on the same address is one release (from `gosvc_build_info`) and, one window later,
a before/after comparison line with the regression table's verdict, per route too (the new
build slows /api/pay only: the line names it, not the others) and with the Go runtime rows
beside it."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from tests.gosvc import start_gosvc
from tests.servers import start_prometheus, wait_for_scrape
from tui.config import Config, parse_config
from tui.core.events import record_lines
from tui.core.metrics.store import MetricStore
from tui.sources.hub import Hub
from tui.sources.prometheus import PrometheusSource
from tui.sources.releases import ReleaseWatcher, running_version

pytestmark = pytest.mark.integration

SHOP = "http_request_duration_seconds"  # every route: the release verdict breaks it down


def _config(prom: str, audit: Path) -> str:
    return (
        f'prometheus:\n  url: "{prom}"\notlp: {{http: "", grpc: ""}}\n'
        f"refresh: 500ms\nrate_window: 1s\nwindow: 12s\naudit: {{path: '{audit}'}}\n"
        f"services:\n  - name: shop\n    prometheus:\n      latency_histogram: '{SHOP}'\n"
    )


async def _wait(events: list[dict[str, Any]], kind: str, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [e for e in events if e.get("type") == kind]
        if found:
            return found[0]
        await asyncio.sleep(0.1)
    raise TimeoutError(f"no {kind} event in {timeout}s: {events}")


def _with_query(prom: str, audit: Path, query: str) -> Config:
    service = f"      version_query: '{query}'\n      version_label: release\n"
    return parse_config(_config(prom, audit) + service, "warroom.yaml")


async def _version_query_checks(prom: str, audit: Path) -> None:
    """A configured version_query is asked instead of `*_build_info` (here a label_replace of
    gosvc's own gauge under another label), by the release watcher and for a baseline's key;
    one Prometheus refuses is said in the source's status, naming the key, and is no version."""
    good = _with_query(
        prom, audit, 'label_replace(gosvc_build_info, "release", "v$1", "version", "(.*)")'
    )
    now = time.time()
    assert await running_version(good, "shop", now) == ("v1.4.2", "", "query")
    store = MetricStore()
    source = PrometheusSource(good, store)
    try:
        watcher = ReleaseWatcher(good, store, source)
        await watcher.poll_prometheus(now)
        assert watcher.timeline.log.current("shop", "query") == "v1.4.2"
        assert watcher.timeline.log.current("shop", "build_info") is None  # not asked
    finally:
        await source.aclose()
    # the global one, for a discovered service (no services configured): {service} is the job
    glob = parse_config(
        f'prometheus:\n  url: "{prom}"\n  version_query: \'gosvc_build_info{{job="{{service}}"}}\'\n'
        f"otlp: {{http: '', grpc: ''}}\naudit: {{path: '{audit}'}}\n"
    )
    source = PrometheusSource(glob, store)
    try:
        await source.discover_services(now)
        watcher = ReleaseWatcher(glob, store, source)
        await watcher.poll_prometheus(now)
        assert watcher.timeline.log.current("warroom-test", "query") == "1.4.2"
    finally:
        await source.aclose()
    bad = _with_query(prom, audit, "rate(gosvc_build_info)")  # no range: Prometheus refuses it
    assert await running_version(bad, "shop", now) is None
    source = PrometheusSource(bad, store)
    try:
        await ReleaseWatcher(bad, store, source).poll_prometheus(now)
        detail = source.status.detail
        assert "shop services[].prometheus.version_query: " in detail, detail
        assert "range vector" in detail, detail
    finally:
        await source.aclose()


async def test_restart_at_another_version_is_one_release_and_a_verdict(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with start_gosvc(tmp_path / "a", "-load", "200", "-version", "1.4.2") as old:
        addr = old.target
        with start_prometheus(tmp_path, [addr], scrape_interval="500ms") as prom:
            # The before window (6 s: up to six samples a rate window apart, so one lost
            # scrape on a loaded machine still leaves the U test enough) and its guard
            # (1.5 s) must already be in Prometheus.
            wait_for_scrape(
                prom,
                'count_over_time(http_request_duration_seconds_bucket{route="/api/cart",'
                'le="+Inf"}[15s]) >= 16',
                timeout=20,
            )
            events: list[dict[str, Any]] = []
            cfg = parse_config(_config(prom, tmp_path / "state" / "audit.jsonl"))
            hub = Hub(
                cfg,
                MetricStore(),
                event_sink=lambda e: events.extend(record_lines(e)),
                go_runtime=True,
            )
            await hub.start()
            try:
                log = hub.releases.timeline.log
                deadline = time.monotonic() + 10
                while log.current("shop", "build_info") != "1.4.2":  # the running one is seen
                    assert time.monotonic() < deadline, "gosvc_build_info never seen"
                    await asyncio.sleep(0.1)
                old.proc.terminate()
                old.proc.wait(timeout=10)
                with start_gosvc(
                    tmp_path / "b", "-load", "200", "-revision", "c0ffee1", "-listen", addr
                ) as new:
                    new.control("/api/pay", latency_ms=150.0, jitter=0.2)
                    release = await _wait(events, "release", timeout=10)
                    verdict = await _wait(events, "release_compare", timeout=15)
                    await _version_query_checks(prom, tmp_path / "q" / "audit.jsonl")
            finally:
                await hub.stop()
    assert (release["service"], release["version"], release["previous"]) == (
        "shop",
        "1.4.2",
        "1.4.2",
    )
    assert release["source"] == "build_info" and release["revision"] == "c0ffee1"
    assert [e["type"] for e in events].count("release") == 1
    rows = {r["name"]: r for r in verdict["rows"]}
    assert rows["p99"]["verdict"] == "REGRESSION", verdict
    assert rows["p99"]["change"]["lo"] > 1.5
    message = verdict["message"]
    assert message.startswith("shop 1.4.2: P99 +") and "(REGRESSION)" in message
    # per route: the slowed route is named first, the untouched busiest one is no regression
    assert verdict["route_label"] == "route"
    by_route = {(r["route"], r["unit"]): r for r in verdict["routes"]}
    assert by_route[("/api/pay", "p99")]["verdict"] == "REGRESSION", verdict["routes"]
    for route in ("/api/cart", "/api/order/create"):
        assert by_route[(route, "p99")]["verdict"] != "REGRESSION", verdict["routes"]
        assert f"on {route}" not in message
    named = message.split("; ")[1]
    assert named.startswith("P9") and named.split(" on ")[1].split(",")[0] == "/api/pay", message
    # the Go runtime beside it (explains, never the verdict): gosvc's default collector
    runtime = {r["name"] for r in verdict["runtime"]}
    assert {"goroutines", "heap_inuse"} <= runtime, verdict["runtime"]
