"""Go runtime signals of OTLP services, from what OTel's Go runtime instrumentation pushes.

The same `go.*` store signals as a Prometheus service's (tui.core.metrics.go_runtime), so the
Service tab, the release before/after comparison and `b`'s baseline show them alike:

- go.gc_p99: `go.memory.gc.pause.duration` (semconv, opt-in), `go.gc.pause`, else
  `process.runtime.go.gc.pause_ns` (the deprecated instrumentation, in ns)
- go.sched_p99: `go.schedule.duration` (the contrib runtime Producer's runtime/metrics
  histogram, cumulative)
- go.goroutines: `go.goroutine.count`, else `process.runtime.go.goroutines`
- go.heap_inuse: `process.runtime.go.mem.heap_inuse`
- go.mem_used: `go.memory.used` (its `go.memory.type` stack and other summed)

Histograms (explicit buckets, delta or cumulative, in the metric's unit) give a P99 from bucket
deltas over the rate window (GC pauses: at least GC_WINDOW_MIN, they are seconds apart),
exactly as `histogram_quantile(0.99, sum by (le) (rate(...)))`; a window without a pause has
no value. Gauges and up-down counters are summed over the service's processes (resources),
each process' newest value, while it is alive: a process is let go once the service's other
processes have pushed ROUNDS rounds without it (a restart replaces it at once, not after a
timeout), or after STALE seconds without a push when it is alone.

Bounded: only the names above are read, a service needs the sink to have admitted it (it is in
the store), and at most MAX_SERIES series per service are kept.
"""

from __future__ import annotations

import math
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tui.core.metrics.go_runtime import GC_WINDOW_MIN, PREFIX
from tui.core.metrics.quantile import bucket_quantile

HISTOGRAMS: dict[str, tuple[str, ...]] = {
    "gc_p99": ("go.memory.gc.pause.duration", "go.gc.pause", "process.runtime.go.gc.pause_ns"),
    "sched_p99": ("go.schedule.duration",),
}
VALUES: dict[str, tuple[str, ...]] = {
    "goroutines": ("go.goroutine.count", "process.runtime.go.goroutines"),
    "heap_inuse": ("process.runtime.go.mem.heap_inuse",),
    "mem_used": ("go.memory.used",),
}
NAMES: dict[str, tuple[str, int]] = {
    name: (key, rank)
    for table in (HISTOGRAMS, VALUES)
    for key, names in table.items()
    for rank, name in enumerate(names)
}
UNITS = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}
STALE = 300.0  # seconds a lone silent process' gauge still counts (Prometheus' lookback)
ROUNDS = 3  # rounds of the other processes' pushes a silent process is kept for
MAX_SERIES = 64  # runtime series kept per service
DELTA, CUMULATIVE = 1, 2


@dataclass
class _Cumulative:
    """The newest cumulative counts of one histogram series, to take deltas from."""

    start: int
    bounds: tuple[float, ...]
    counts: np.ndarray


@dataclass
class _Process:
    seq: int  # the service's push count at this process' newest push
    wall: float  # when that push arrived


@dataclass
class _Service:
    # (key, rank, process, attributes) -> (t, value) of gauges / up-down counters
    values: dict[tuple[str, int, bytes, bytes], tuple[float, float]] = field(default_factory=dict)
    cumulative: dict[tuple[str, int, bytes, bytes], _Cumulative] = field(default_factory=dict)
    # (key, rank) -> bounds (seconds) -> summed bucket deltas since the last tick
    pending: dict[tuple[str, int], dict[tuple[float, ...], np.ndarray]] = field(
        default_factory=dict
    )
    slices: deque[tuple[float, str, int, dict[tuple[float, ...], np.ndarray]]] = field(
        default_factory=deque
    )
    processes: dict[bytes, _Process] = field(default_factory=dict)
    seq: int = 0

    def pushed(self, process: bytes) -> None:
        self.seq += 1
        self.processes[process] = _Process(self.seq, time.time())

    def forget_silent(self) -> None:
        """Let go of the processes the others have outlived, with their series."""
        n = len(self.processes)
        wall = time.time()
        gone = {
            p
            for p, st in self.processes.items()
            if self.seq - st.seq > ROUNDS * max(n - 1, 1) or wall - st.wall > STALE
        }
        if not gone:
            return
        for p in gone:
            del self.processes[p]
        self.values = {k: v for k, v in self.values.items() if k[2] not in gone}
        self.cumulative = {k: v for k, v in self.cumulative.items() if k[2] not in gone}


class OTLPRuntime:
    """Reads the Go runtime metrics of each push (`ingest`), stores the signals (`tick`)."""

    def __init__(self, store: Any, cfg: Any, started_at: float | None = None) -> None:
        self.store = store
        self.rate_window = float(cfg.rate_window)
        self.started_ns = int((time.time() if started_at is None else started_at) * 1e9)
        self.names = _display_names(cfg)
        self._services: dict[str, _Service] = {}
        self.refused = 0  # series beyond MAX_SERIES, or points of a shape not understood

    def ingest(self, request: Any) -> None:
        """Keep the runtime metrics of one export request (others are skipped by name)."""
        for rm in request.resource_metrics:
            metrics = [m for sm in rm.scope_metrics for m in sm.metrics if m.name in NAMES]
            if not metrics:
                continue
            service = self._service_of(rm.resource.attributes)
            if service is None:
                continue
            state = self._services.setdefault(service, _Service())
            process = rm.resource.SerializeToString(deterministic=True)
            state.pushed(process)
            for m in metrics:
                self._metric(state, process, m)

    def _service_of(self, attributes: Any) -> str | None:
        name = (
            next((kv.value.string_value for kv in attributes if kv.key == "service.name"), "")
            or "unknown_service"
        )
        shown = self.names(name)
        return shown if shown is not None and shown in self.store.services else None

    def _metric(self, state: _Service, process: bytes, m: Any) -> None:
        key, rank = NAMES[m.name]
        kind = m.WhichOneof("data")
        if key in HISTOGRAMS and kind == "histogram":
            factor = UNITS.get(m.unit, 1.0)
            temporality = m.histogram.aggregation_temporality
            for dp in m.histogram.data_points:
                self._histogram(state, (key, rank, process, _attrs(dp)), dp, factor, temporality)
        elif key in VALUES and kind in ("gauge", "sum"):
            data = getattr(m, kind)
            delta = kind == "sum" and data.aggregation_temporality == DELTA
            for dp in data.data_points:
                v = float(dp.as_int if dp.WhichOneof("value") == "as_int" else dp.as_double)
                series = (key, rank, process, _attrs(dp))
                if series not in state.values and len(state.values) >= MAX_SERIES:
                    self.refused += 1
                    continue
                old = state.values.get(series, (0.0, 0.0))[1]
                state.values[series] = (dp.time_unix_nano / 1e9, old + v if delta else v)
        else:
            self.refused += 1

    def _histogram(
        self, state: _Service, series: Any, dp: Any, factor: float, temporality: int
    ) -> None:
        bounds = tuple(b * factor for b in dp.explicit_bounds)
        counts = np.asarray(dp.bucket_counts, dtype=np.float64)
        if len(counts) != len(bounds) + 1 or np.any(np.diff(bounds) <= 0):
            self.refused += 1
            return
        if temporality == CUMULATIVE:
            prev = state.cumulative.get(series)
            if prev is None and len(state.cumulative) >= MAX_SERIES:
                self.refused += 1
                return
            state.cumulative[series] = _Cumulative(dp.start_time_unix_nano, bounds, counts)
            if prev is None:  # counted before we listened: only a process started since is new
                fresh = dp.start_time_unix_nano >= self.started_ns > 0
                delta = counts if fresh else np.zeros_like(counts)
            elif (
                prev.start != dp.start_time_unix_nano
                or prev.bounds != bounds
                or np.any(counts < prev.counts)
            ):
                delta = counts  # a restart: everything since it is new
            else:
                delta = counts - prev.counts
        elif temporality == DELTA:
            delta = counts
        else:
            self.refused += 1
            return
        layouts = state.pending.setdefault(series[:2], {})
        acc = layouts.get(bounds)
        layouts[bounds] = delta.copy() if acc is None else acc + delta

    def tick(self, now: float) -> None:
        """Store each service's runtime signals at `now`."""
        for service, state in self._services.items():
            for (key, rank), layouts in state.pending.items():
                state.slices.append((now, key, rank, layouts))
            state.pending = {}
            horizon = now - max(self.rate_window, GC_WINDOW_MIN)
            while state.slices and state.slices[0][0] <= horizon:
                state.slices.popleft()
            for key in HISTOGRAMS:
                value = self._p99(state, key, now)
                if value is not None:
                    self.store.add(service, PREFIX + key, now, value)
            for key, total in self._sums(state, now).items():
                self.store.add(service, PREFIX + key, now, total)

    def _p99(self, state: _Service, key: str, now: float) -> float | None:
        window = max(self.rate_window, GC_WINDOW_MIN) if key == "gc_p99" else self.rate_window
        ranks = [s[2] for s in state.slices if s[1] == key]
        if not ranks:
            return None
        best = min(ranks)  # one metric per signal: the best name the service pushes
        summed: dict[tuple[float, ...], np.ndarray] = {}
        for t, k, rank, layouts in state.slices:
            if k != key or rank != best or t <= now - window:
                continue
            for bounds, delta in layouts.items():
                acc = summed.get(bounds)
                summed[bounds] = delta if acc is None else acc + delta
        if not summed:
            return None
        bounds, counts = max(summed.items(), key=lambda kv: float(kv[1].sum()))
        if counts.sum() <= 0:
            return None  # no pause (or request) in the window: no P99
        cum = np.cumsum(counts).tolist()
        return bucket_quantile(0.99, [*bounds, math.inf], cum).value

    def _sums(self, state: _Service, now: float) -> dict[str, float]:
        """Each value signal: the best name's newest values summed over live processes."""
        state.forget_silent()
        live = state.values
        best: dict[str, int] = {}
        for key, rank, _, _ in live:
            best[key] = min(rank, best.get(key, rank))
        out: dict[str, float] = {}
        for (key, rank, _, _), (_, v) in live.items():
            if rank == best[key]:
                out[key] = out.get(key, 0.0) + v
        return out


def _attrs(dp: Any) -> bytes:
    return b"".join(kv.SerializeToString(deterministic=True) for kv in dp.attributes)


def _display_names(cfg: Any) -> Any:
    """OTLP service.name -> the displayed service (as the sink maps it), or None."""
    configured = {
        (s.otlp.service_name or s.name): s.name for s in cfg.services if s.otlp is not None
    }
    reserved = {s.name for s in cfg.services if s.otlp is None}

    def shown(name: str) -> str | None:
        if configured:
            return configured.get(name)
        return None if name in reserved else name

    return shown
