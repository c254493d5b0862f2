"""Go runtime signals of an OTLP service, end to end: the real OpenTelemetry SDK pushes the
metrics OTel's Go runtime instrumentation exports (`go.schedule.duration` as the contrib
Producer sends it: a cumulative explicit-bucket histogram in seconds; `go.memory.gc.pause.
duration`; `go.goroutine.count` and `go.memory.used` as up-down counters) to warroom's real
OTLP/HTTP receiver. The Hub stores them as the same `go.*` signals a Prometheus service gets:
P99s exactly histogram_quantile over the window's bucket deltas, gauges summed over the
service's processes; the Service tab draws them, and a release's before/after comparison
has their rows."""

from __future__ import annotations

import asyncio
import math
import time
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.metrics import CallbackOptions, Observation
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    MetricExporter,
    MetricExportResult,
    MetricsData,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.resources import Resource

from tui.config import AuditConfig, Config, Duration, OTLPConfig
from tui.core.events import record_lines
from tui.core.metrics.go_runtime import format_value
from tui.core.metrics.quantile import bucket_quantile
from tui.core.metrics.store import MetricStore
from tui.sources.hub import Hub

pytestmark = pytest.mark.integration

# runtime/metrics-like layouts: powers of two from 1 µs (the Producer drops the 0 lower bound)
SCHED_BOUNDS = tuple(2.0**i * 1e-6 for i in range(21))
GC_BOUNDS = tuple(2.0**i * 1e-6 for i in range(24))


def p99(values: list[float], bounds: tuple[float, ...]) -> float:
    edges = [*bounds, math.inf]
    cum = [float(sum(v <= b for v in values)) for b in edges]
    return bucket_quantile(0.99, edges, cum).value


class LateExporter(MetricExporter):
    """The real OTLP exporter, made once the receiver's port is known (`aim`): the process
    and its cumulative series exist before warroom listens, on a port the OS gives it."""

    def __init__(self) -> None:
        super().__init__()
        self.target: OTLPMetricExporter | None = None

    def aim(self, endpoint: str) -> None:
        self.target = OTLPMetricExporter(endpoint=endpoint, timeout=2)

    def export(
        self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any
    ) -> MetricExportResult:
        if self.target is None:
            return MetricExportResult.FAILURE
        return self.target.export(metrics_data, timeout_millis, **kwargs)

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return True

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        if self.target is not None:
            self.target.shutdown(timeout_millis, **kwargs)


class GoProcess:
    """One SDK 'process' of `pay`: its latency histogram and the Go runtime metrics."""

    def __init__(self, endpoint: str | LateExporter, instance: str, version: str = "1.0.0") -> None:
        self.goroutines = 0
        self.memory = {"stack": 0, "other": 0}
        resource = Resource.create(
            {"service.name": "pay", "service.instance.id": instance, "service.version": version}
        )
        exporter = (
            endpoint
            if isinstance(endpoint, LateExporter)
            else OTLPMetricExporter(endpoint=endpoint, timeout=2)
        )
        reader = PeriodicExportingMetricReader(exporter, export_interval_millis=3_600_000)
        self.provider = MeterProvider(metric_readers=[reader], resource=resource)
        meter = self.provider.get_meter("go.opentelemetry.io/contrib/instrumentation/runtime")
        self.latency = meter.create_histogram("http.server.request.duration", unit="s")
        self.sched = meter.create_histogram(
            "go.schedule.duration", unit="s", explicit_bucket_boundaries_advisory=SCHED_BOUNDS
        )
        self.gc = meter.create_histogram(
            "go.memory.gc.pause.duration", unit="s", explicit_bucket_boundaries_advisory=GC_BOUNDS
        )
        meter.create_observable_up_down_counter(
            "go.goroutine.count", [self._goroutines], unit="{goroutine}"
        )
        meter.create_observable_up_down_counter("go.memory.used", [self._memory], unit="By")

    def _goroutines(self, _: CallbackOptions) -> list[Observation]:
        return [Observation(self.goroutines)]

    def _memory(self, _: CallbackOptions) -> list[Observation]:
        return [Observation(v, {"go.memory.type": k}) for k, v in self.memory.items()]

    async def push(self, sched: list[float], gc: list[float]) -> None:
        for v in sched:
            self.sched.record(v)
        for v in gc:
            self.gc.record(v)
        for _ in range(20):
            self.latency.record(0.01)
        assert await asyncio.to_thread(self.provider.force_flush, 10_000)

    async def stop(self) -> None:
        await asyncio.to_thread(self.provider.shutdown)


def _config(tmp_path: Path, **kw: Any) -> Config:
    return Config(
        otlp=OTLPConfig(http="127.0.0.1:0", grpc=""),
        refresh=Duration(1),
        rate_window=Duration(1),
        window=Duration(60),
        audit=AuditConfig(path=str(tmp_path / "audit.jsonl")),
        **kw,
    )


async def _hub(cfg: Config, store: MetricStore, events: list[dict[str, Any]] | None = None) -> Hub:
    sink = (lambda e: events.extend(record_lines(e))) if events is not None else None
    hub = Hub(cfg, store, event_sink=sink, go_runtime=True)
    await hub.start(loops=False)
    return hub


def _endpoint(hub: Hub) -> str:
    host, port = hub.receivers[0].bound_address
    return f"http://{host}:{port}/v1/metrics"


def _latest(store: MetricStore, key: str) -> float:
    last = store.latest("pay", key)
    assert last is not None, key
    return last[1]


async def test_runtime_signals_of_an_sdk_service_are_exact(tmp_path: Path) -> None:
    store = MetricStore()
    hub = await _hub(_config(tmp_path), store)
    t = float(int(time.time()))
    first = GoProcess(_endpoint(hub), "a")
    second = GoProcess(_endpoint(hub), "b")
    try:
        sched1 = [3e-6] * 90 + [40e-6] * 9 + [900e-6]
        gc1 = [50e-6] * 8 + [2e-3] * 2
        first.goroutines, first.memory = 35, {"stack": 1 << 20, "other": 7 << 20}
        second.goroutines = 10
        await first.push(sched1, gc1)
        await second.push([], [])
        await hub.refresh_once(t)
        assert _latest(store, "go.sched_p99") == p99(sched1, SCHED_BOUNDS)
        assert _latest(store, "go.gc_p99") == p99(gc1, GC_BOUNDS)
        assert _latest(store, "go.goroutines") == 45  # both processes
        assert _latest(store, "go.mem_used") == 8 << 20  # stack and other

        # one second later: the SDK sends cumulative counts; the rate window (1 s) holds only
        # the new requests, the GC pause window (at least 60 s) both pushes
        sched2 = [200e-6] * 50 + [3e-3] * 5
        gc2 = [8e-3] * 3
        first.goroutines = 60
        await first.push(sched2, gc2)
        await second.push([], [])
        await hub.refresh_once(t + 1)
        assert _latest(store, "go.sched_p99") == p99(sched2, SCHED_BOUNDS)
        assert _latest(store, "go.gc_p99") == p99(gc1 + gc2, GC_BOUNDS)
        assert _latest(store, "go.goroutines") == 70
    finally:
        await first.stop()
        await second.stop()
        await hub.stop()


async def test_a_restarted_process_replaces_the_old_one(tmp_path: Path) -> None:
    """The old process stops pushing, a new one (another instance id) takes over: after the
    others' rounds its goroutines no longer count twice."""
    store = MetricStore()
    hub = await _hub(_config(tmp_path), store)
    t = float(int(time.time()))
    old, new = GoProcess(_endpoint(hub), "old"), GoProcess(_endpoint(hub), "new")
    try:
        old.goroutines, new.goroutines = 30, 50
        await old.push([1e-5], [])
        await hub.refresh_once(t)
        assert _latest(store, "go.goroutines") == 30
        for i in range(1, 6):
            await new.push([1e-5], [])
            await hub.refresh_once(t + i)
        assert _latest(store, "go.goroutines") == 50
    finally:
        await old.stop()
        await new.stop()
        await hub.stop()


async def test_the_release_comparison_has_the_runtime_rows(tmp_path: Path) -> None:
    """1.0.0 then 1.1.0 (a restart at a new version) whose scheduler latency is ten times
    higher: one window after the release, its line has the runtime rows."""
    import random

    cfg = _config(tmp_path)
    cfg.window = Duration(20)
    events: list[dict[str, Any]] = []
    hub = await _hub(cfg, MetricStore(), events)
    rng = random.Random(3)
    t = float(int(time.time()))
    try:
        for version, ticks, scale in (("1.0.0", range(15), 1.0), ("1.1.0", range(15, 30), 10.0)):
            proc = GoProcess(_endpoint(hub), version, version)
            try:
                for i in ticks:
                    proc.goroutines = 40 + rng.randint(-2, 2)
                    sched = [scale * rng.uniform(2e-6, 30e-6) for _ in range(100)]
                    await proc.push(sched, [])
                    await hub.refresh_once(t + i)
            finally:
                await proc.stop()
    finally:
        await hub.stop()
    (verdict,) = [e for e in events if e["type"] == "release_compare"]
    rows = {r["name"]: r for r in verdict["runtime"]}
    assert rows["sched_p99"]["verdict"] == "REGRESSION", rows
    assert rows["sched_p99"]["change"]["ratio"] > 5
    assert "goroutines" in rows


async def test_the_service_tab_draws_the_runtime_of_an_sdk_service(tmp_path: Path) -> None:
    """The real app's own receiver and hub: the Service tab's runtime lines for `pay`."""
    from tests.waits import until
    from tui.ui.app import WarroomApp
    from tui.ui.widgets.runtime_panel import RuntimePanel

    app = WarroomApp(_config(tmp_path))
    async with app.run_test(size=(160, 48)) as pilot:
        await until(pilot, lambda: app.hub is not None and bool(app.hub.receivers), "receivers")
        await until(pilot, lambda: app.hub.receivers[0].status.state == "listening", "listening")
        proc = GoProcess(_endpoint(app.hub), "a")
        try:
            proc.goroutines, proc.memory = 37, {"stack": 1 << 20, "other": 3 << 20}
            sched = [3e-6] * 95 + [500e-6] * 5
            await proc.push(sched, [1e-3] * 4)
            panel = app.dashboard.query_one(RuntimePanel)
            want = ["go.gc_p99", "go.sched_p99", "go.goroutines", "go.mem_used"]
            await until(pilot, lambda: panel.keys() == want, "the runtime lines")
        finally:
            await proc.stop()
        app.redraw_now()
        await pilot.pause()
        lines = [s.text.rstrip() for s in app.screen._compositor.render_strips()]
        assert any(" gorout " in ln and ln.endswith(" 37") for ln in lines), lines
        assert any(" mem " in ln and ln.endswith(" 4MiB") for ln in lines), lines
        sched_line = next(ln for ln in lines if " sch p99 " in ln)
        shown = format_value("go.sched_p99", p99(sched, SCHED_BOUNDS))
        assert sched_line.endswith(f" {shown}"), (sched_line, shown)


async def test_snapshot_go_runtime_of_an_otlp_service(capsys: pytest.CaptureFixture[str]) -> None:
    """`snapshot --go-runtime` listens: a process that started before it pushes twice (its
    cumulative counts from before are not the window's); the second push's delta is."""
    import threading

    from tests.cli import reported_port
    from tui.commands.snapshot import take_snapshot, to_markdown
    from tui.config import parse_config

    cfg = parse_config(  # port 0: the snapshot reports the one it got
        'otlp: {http: "127.0.0.1:0", grpc: ""}\nrefresh: 1s\nrate_window: 5s\n'
        "services:\n  - name: pay\n"
    )
    exporter = LateExporter()
    proc = GoProcess(exporter, "a")
    proc.goroutines = 33
    before, during = [3e-6] * 100, [50e-6] * 90 + [2e-3] * 10
    for v in before:  # counted before warroom listened
        proc.sched.record(v)
    done = threading.Event()

    def push_twice() -> None:
        for batch in ([], during):
            for v in batch:
                proc.sched.record(v)
            proc.latency.record(0.01)
            assert proc.provider.force_flush(5_000)
        done.set()

    thread = threading.Thread(target=push_twice, daemon=True)
    snapshot = asyncio.create_task(take_snapshot(cfg, wait=4.0, go_runtime=True))
    try:
        exporter.aim(f"http://127.0.0.1:{await reported_port(capsys)}/v1/metrics")
        thread.start()
        doc = await snapshot
    finally:
        thread.join(timeout=10)
        await proc.stop()
    assert done.is_set()
    (svc,) = doc["services"]
    assert svc["go_runtime"]["goroutines"] == 33
    assert svc["go_runtime"]["sched_p99"] == p99(during, SCHED_BOUNDS)
    assert "| pay | sch p99 " in to_markdown(doc)
