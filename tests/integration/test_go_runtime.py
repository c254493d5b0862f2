"""Go runtime signals end to end: a real Prometheus scrapes two real Go services (gosvc with
client_golang's runtime/metrics histograms, and gosvc with the default collector only); warroom's
GC pause, scheduler latency, goroutines, heap and GC CPU equal Prometheus' own answers to
independently written queries at the same instants.

Prometheus is itself a Go service in the same job: the goroutines warroom shows must be the
service's own, not summed with Prometheus' (the join on job and instance does that).
"""

from __future__ import annotations

import contextlib
import json
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from tests.gosvc import GoService, start_gosvc
from tests.servers import FaultyPrometheus, start_prometheus, wait_for_scrape
from tests.waits import until
from tui.cli import main
from tui.config import parse_config
from tui.core.metrics.store import MetricStore
from tui.sources.prometheus import PrometheusSource

pytestmark = pytest.mark.integration


@dataclass
class Stack:
    full: GoService  # -runtime-metrics
    plain: GoService  # client_golang's default Go collector
    prom: str


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    d = tmp_path_factory.mktemp("goruntime")
    (d / "full").mkdir()
    (d / "plain").mkdir()
    with (
        start_gosvc(d / "full", "-runtime-metrics", "-load", "100") as full,
        start_gosvc(d / "plain", "-load", "50") as plain,
        start_prometheus(d, [full.target, plain.target]) as prom,
    ):
        # a GC in the last minute on each (the load allocates), and a few scrapes for rate()
        for svc in (full, plain):
            wait_for_scrape(
                prom, f'increase(go_gc_duration_seconds_count{{instance="{svc.target}"}}[30s]) > 0'
            )
        wait_for_scrape(
            prom,
            f'count_over_time(go_sched_latencies_seconds_count{{instance="{full.target}"}}[10s])'
            " >= 6",
            timeout=30,
        )
        yield Stack(full, plain, prom)


def _config(s: Stack) -> str:
    return (
        f'prometheus:\n  url: "{s.prom}"\notlp: {{http: "", grpc: ""}}\n'
        "refresh: 1s\nrate_window: 5s\nwindow: 30s\nservices:\n"
        f"  - name: full\n    prometheus:\n      latency_histogram: "
        f"'http_request_duration_seconds{{instance=\"{s.full.target}\"}}'\n"
        f"  - name: plain\n    prometheus:\n      latency_histogram: "
        f"'http_request_duration_seconds{{instance=\"{s.plain.target}\"}}'\n"
        "  - name: ghost\n    prometheus:\n      latency_histogram: 'no_such_histogram_seconds'\n"
    )


def _instant(prom: str, promql: str, t: float) -> float:
    r = httpx.post(f"{prom}/api/v1/query", data={"query": promql, "time": f"{t:.3f}"}, timeout=5)
    r.raise_for_status()
    result = r.json()["data"]["result"]
    assert len(result) == 1, (promql, result)
    return float(result[0]["value"][1])


async def test_runtime_signals_equal_prometheus(stack: Stack) -> None:
    store = MetricStore()
    source = PrometheusSource(parse_config(_config(stack)), store, runtime=True)
    now = math.floor(time.time()) - 1.0  # a second old: every scrape up to it is in
    try:
        await source.refresh(now)  # the latency window, and the probe of runtime series
        points = await source.refresh(now)  # the runtime window (its own cursor)
    finally:
        await source.aclose()
    assert sorted(source.runtime["full"][1]) == [
        "go.gc_life",
        "go.gc_p99",
        "go.goroutines",
        "go.heap_inuse",
        "go.sched_p99",
    ]
    assert sorted(source.runtime["plain"][1]) == ["go.gc_max", "go.goroutines", "go.heap_inuse"]
    assert source.runtime["ghost"][1] == {}  # no Go process exports its histogram: nothing
    assert not [k for s, k in store._series if s == "ghost"]
    assert {p.signal for p in points} <= set(source.runtime["full"][1]) | {"go.gc_max"}

    full, plain = (f'instance="{stack.full.target}"', f'instance="{stack.plain.target}"')
    theirs = {
        (
            "full",
            "go.gc_p99",
        ): f"histogram_quantile(0.99, rate(go_gc_pauses_seconds_bucket{{{full}}}[1m]))",
        ("full", "go.sched_p99"): (
            f"histogram_quantile(0.99, rate(go_sched_latencies_seconds_bucket{{{full}}}[5s]))"
        ),
        ("full", "go.goroutines"): f"go_goroutines{{{full}}}",
        ("full", "go.heap_inuse"): f"go_memstats_heap_inuse_bytes{{{full}}}",
        ("full", "go.gc_life"): f"go_memstats_gc_cpu_fraction{{{full}}}",
        ("plain", "go.gc_max"): f'go_gc_duration_seconds{{{plain},quantile="1"}}',
        ("plain", "go.goroutines"): f"go_goroutines{{{plain}}}",
        ("plain", "go.heap_inuse"): f"go_memstats_heap_inuse_bytes{{{plain}}}",
    }
    for (service, key), promql in theirs.items():
        ring = store.series(service, key)
        assert ring is not None and len(ring), (service, key)
        ts, vs, _ = ring.since(-math.inf)
        assert ts[-1] == now  # the newest step is the refresh's instant (step 1 s)
        for t, v in list(zip(ts.tolist(), vs.tolist(), strict=True))[-3:]:
            assert v == _instant(stack.prom, promql, t), (service, key, t)
    # Prometheus' own goroutines are in the same job: the join kept them out
    prom_goroutines = _instant(stack.prom, 'sum(go_goroutines{job="warroom-test"})', now)
    goroutines, sched_p99 = (
        store.latest("full", "go.goroutines"),
        store.latest("full", "go.sched_p99"),
    )
    assert goroutines is not None and goroutines[1] < prom_goroutines
    assert sched_p99 is not None and 0 < sched_p99[1] < 0.1


async def test_dashboard_service_tab_shows_the_runtime_of_the_real_service(stack: Stack) -> None:
    """The app's own Hub polls the real Prometheus; the Service tab draws the runtime lines
    with the values Prometheus gives for the newest step."""
    from tui.ui.app import WarroomApp
    from tui.ui.widgets.runtime_panel import RuntimePanel

    cfg = parse_config(_config(stack))
    app = WarroomApp(cfg)
    async with app.run_test(size=(160, 48)) as pilot:
        panel = app.dashboard.query_one(RuntimePanel)
        with contextlib.suppress(AssertionError):  # the assert below shows which are missing
            await until(pilot, lambda: len(panel.keys()) >= 5, "five runtime lines")
        assert panel.keys() == [
            "go.gc_p99",
            "go.sched_p99",
            "go.goroutines",
            "go.heap_inuse",
            "go.gc_life",
        ]
        for _ in range(5):  # a refresh landing between the draw and the look: draw again
            before = app.store.latest("full", "go.goroutines")
            app.redraw_now()
            await pilot.pause()
            lines = [s.text for s in app.screen._compositor.render_strips()]
            if app.store.latest("full", "go.goroutines") == before:
                break
        assert panel.display and before is not None
        t, goroutines, _ = before
        drawn = next(ln for ln in lines if " gorout " in ln)
        theirs = _instant(stack.prom, f'go_goroutines{{instance="{stack.full.target}"}}', t)
        assert goroutines == theirs
        assert drawn.rstrip().endswith(f" {theirs:.0f}")


class RefusingRuntime(FaultyPrometheus):
    """Forwards to the real Prometheus, but refuses every query on a Go runtime series while
    `refuse` is set (a backend that rejects the join, or a query limit hit)."""

    refuse = True

    def _answer(self, h: Any, body: bytes) -> None:
        if self.refuse and "go_" in " ".join(parse_qs(body.decode()).get("query", [])):
            h.send_body(
                422,
                b'{"status":"error","errorType":"execution","error":"too many samples"}',
                "application/json",
            )
        else:
            super()._answer(h, body)


async def test_refused_runtime_queries_never_cost_latency_points(stack: Stack) -> None:
    """A refused probe is retried 30 s later; a refused runtime range query is a warning, the
    latency signals carry on, and the runtime gap is filled once answered."""
    proxy = RefusingRuntime(stack.prom)
    with proxy:
        cfg = parse_config(_config(stack).replace(stack.prom, proxy.url))
        src = PrometheusSource(cfg, MetricStore(), runtime=True)
        store = src.store
        try:
            t0 = math.floor(time.time()) - 1.0
            assert any(p.signal == "p99" for p in await src.refresh(t0))
            assert src.status.state == "up" and src.status.detail == ""
            assert src.runtime["full"][1] == {}  # refused: nothing chosen, retried later
            proxy.refuse = False
            await src.refresh(t0 + 29)
            assert src.runtime["full"][1] == {}  # not yet due
            await src.refresh(t0 + 30)  # probed
            await src.refresh(t0 + 30)  # the runtime window
            assert store.latest("full", "go.goroutines") is not None
            newest = store.latest("full", "go.goroutines")

            proxy.refuse = True
            points = await src.refresh(t0 + 32)
            assert not [p for p in points if p.signal.startswith("go.")]
            assert src.status.state == "up"
            assert "full go." in src.status.detail and "too many samples" in src.status.detail
            assert store.latest("full", "go.goroutines") == newest

            proxy.refuse = False
            points = await src.refresh(t0 + 32)
            assert {p.signal for p in points} >= {"go.goroutines", "go.heap_inuse"}
            assert src.status.detail == ""
        finally:
            await src.aclose()


def test_snapshot_json_and_md_carry_the_runtime_signals(
    stack: Stack, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = tmp_path / "warroom.yaml"
    cfg.write_text(_config(stack))
    assert main(["snapshot", "-c", str(cfg), "--format", "json", "--go-runtime"]) == 0
    doc = json.loads(capsys.readouterr().out)
    rows = {s["name"]: s for s in doc["services"]}
    assert "go_runtime" not in rows["ghost"]  # not a Go process's histogram: no key at all
    assert list(rows["plain"]["go_runtime"]) == ["gc_max", "goroutines", "heap_inuse"]
    full = rows["full"]["go_runtime"]
    assert list(full) == ["gc_p99", "sched_p99", "goroutines", "heap_inuse", "gc_life"]
    inst = f'instance="{stack.full.target}"'
    t = doc["time"]
    assert full["goroutines"] == _instant(stack.prom, f"go_goroutines{{{inst}}}", t)
    assert full["sched_p99"] == _instant(
        stack.prom,
        f"histogram_quantile(0.99, rate(go_sched_latencies_seconds_bucket{{{inst}}}[5s]))",
        t,
    )
    assert rows["plain"]["go_runtime"]["gc_max"] == _instant(
        stack.prom, f'go_gc_duration_seconds{{instance="{stack.plain.target}",quantile="1"}}', t
    )

    assert main(["snapshot", "-c", str(cfg), "--format", "json"]) == 0  # not asked: not there
    assert all("go_runtime" not in s for s in json.loads(capsys.readouterr().out)["services"])

    assert main(["snapshot", "-c", str(cfg), "--format", "md", "--go-runtime"]) == 0
    md = capsys.readouterr().out.splitlines()
    assert "| service | Go runtime |" in md
    line = next(ln for ln in md if ln.startswith("| plain | gc max "))
    assert " · gorout " in line and " · heap " in line and "sch p99" not in line
