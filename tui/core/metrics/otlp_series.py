"""What the OTLP sink remembers between pushes: services, their series, and the series cap.

- `ServiceState`: one displayed service -- which latency metric feeds it, its pending slice
  and window slices (`otlp_window`), its per-route breakdown (`otlp_routes`), and its series.
- A series of the latency histogram with explicit buckets is a row of a `Matrix` (one per
  bucket layout): the previous cumulative counts of all its series side by side, so a request
  is applied as one numpy subtraction (`otlp_points.apply_rows`), not point by point.
- Every other series is a `Series`: the previous cumulative point or the latest value.
- `SeriesCap`: the sink's `max_series`, counting each refused series once.
- `IngestContext`: what the point paths (`otlp_points`, `otlp_explicit`) need of the sink.

Series keys are `(metric name, attributes)` with each attribute `KeyValue.SerializeToString()`,
one C call each, hashable and equal for equal attribute sets in the same order.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from typing import Any

import numpy as np

from tui.core.metrics.otlp_expo import ExpoPoint
from tui.core.metrics.otlp_routes import OTLPRoutes
from tui.core.metrics.otlp_window import Slice, Window
from tui.core.metrics.store import MetricStore

DEFAULT_LATENCY_METRIC = "http.server.request.duration"
DISCOVERY_UNITS = ("s", "ms")  # "any histogram in s or ms" makes a service visible
NO_RECORDED_VALUE = 1  # DataPointFlags.DATA_POINT_FLAGS_NO_RECORDED_VALUE_MASK
TEMPORALITY_DELTA = 1
TEMPORALITY_CUMULATIVE = 2
REFUSED_MEMORY = 65536  # distinct refused series remembered, so `dropped` counts series

SeriesKey = tuple[str, tuple[bytes, ...]]  # (metric name, serialized attributes)


class SeriesCap:
    """At most `limit` series over all services; each refused series is counted once."""

    def __init__(self, limit: int, store: MetricStore) -> None:
        self.limit = limit
        self.count = 0
        self.dropped = 0
        self._store = store
        self._refused: set[tuple[str, str, tuple[bytes, ...]]] = set()

    def admit(self, service: str, key: SeriesKey) -> bool:
        if self.count >= self.limit:
            rk = (service, key[0], key[1])
            if rk not in self._refused:
                self.dropped += 1
                self._store.dropped += 1
                if len(self._refused) < REFUSED_MEMORY:
                    self._refused.add(rk)
            return False
        self.count += 1
        return True

    @property
    def refusal(self) -> str:
        return f"series cap reached ({self.limit} series)"


@dataclass
class IngestContext:
    """The sink's parts a point path uses: the store, when it began listening, the cap."""

    store: MetricStore
    started_ns: int
    cap: SeriesCap

    def register(self, service: ServiceState) -> None:
        """List the service in the store once its latency metric has a point."""
        if service.name not in self.store.services:
            self.store.ensure_service(service.name, "otlp")

    def fresh(self, start: int) -> bool:
        """A series first seen counts in full only if it started after we began listening."""
        return start >= self.started_ns and start > 0


class Matrix:
    """Previous cumulative bucket counts of every series sharing one bucket layout, as rows."""

    __slots__ = (
        "bc_bytes",
        "bounds_bytes",
        "bounds_raw",
        "bounds_s",
        "count",
        "err",
        "n",
        "nb",
        "pcount",
        "pending",
        "prev",
        "route",
        "seen",
        "start",
    )

    def __init__(self, bounds_raw: tuple[float, ...], factor: float) -> None:
        self.bounds_raw = list(bounds_raw)
        self.bounds_s = tuple(b * factor for b in bounds_raw)
        self.nb = len(bounds_raw) + 1
        self.bc_bytes = 8 * self.nb  # bucket counts as packed fixed64
        # the bounds as packed doubles (what histogram_points gives); None when a bound is NaN,
        # which never equals itself, so such a point always takes the float comparison
        self.bounds_bytes = (
            None
            if any(math.isnan(b) for b in bounds_raw)
            else struct.pack(f"<{len(bounds_raw)}d", *bounds_raw)
        )
        self.n = 0
        cap = 8
        self.prev = np.zeros((cap, self.nb))
        self.count = np.zeros(cap)
        self.start = np.zeros(cap, dtype=np.uint64)
        self.seen = np.zeros(cap, dtype=bool)
        self.err = np.zeros(cap, dtype=bool)
        self.route = np.zeros(cap, dtype=np.intp)  # route id (OTLPRoutes) of each row
        # each row's deltas since the last tick, grouped by route then (OTLPRoutes.add): a
        # row-wise add per request is cheap, a group-by per request is not
        self.pending = np.zeros((cap, self.nb))
        self.pcount = np.zeros(cap)

    def new_row(self, is_error: bool, route_id: int = 0) -> int:
        if self.n == len(self.count):
            cap = 2 * self.n
            self.prev = np.resize(self.prev, (cap, self.nb))
            self.count = np.resize(self.count, cap)
            self.start = np.resize(self.start, cap)
            self.seen = np.resize(self.seen, cap)
            self.err = np.resize(self.err, cap)
            self.route = np.resize(self.route, cap)
            self.pending = np.resize(self.pending, (cap, self.nb))
            self.pcount = np.resize(self.pcount, cap)
        row = self.n
        self.n += 1
        self.prev[row] = 0
        self.count[row] = 0
        self.start[row] = 0
        self.seen[row] = False
        self.err[row] = is_error
        self.route[row] = route_id
        self.pending[row] = 0
        self.pcount[row] = 0
        return row

    def take_pending(self) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """(rows, their deltas, their counts) since the last call, None when nothing came."""
        rows = np.nonzero(self.pcount[: self.n])[0]
        if not len(rows):
            return None
        out = (rows, self.pending[rows].copy(), self.pcount[rows].copy())
        self.pending[rows] = 0
        self.pcount[rows] = 0
        return out


@dataclass
class Series:
    """State of one non-matrix series: the previous cumulative point, or the latest value."""

    kind: str
    is_error: bool
    start: int = 0
    count: float = -1.0  # < 0: no previous point
    expo: ExpoPoint | None = None
    value: float = math.nan  # gauge / sum: latest value (delta sums: running total)
    t: int = 0  # time_unix_nano of the newest point


Row = tuple[Matrix, int]  # a latency-histogram series: its matrix and row


def kind_of(entry: Series | Row) -> str:
    """The metric kind of a service's series entry (a matrix row is a latency histogram)."""
    return entry.kind if isinstance(entry, Series) else "histogram"


class ServiceState:
    """One displayed service: which OTLP service.name and latency metric feed it."""

    def __init__(
        self, name: str, latency_metric: str | None, min_obs: int, by_route: OTLPRoutes
    ) -> None:
        self.name = name
        self.by_route = by_route  # the latency histogram by http.route (the route view)
        self.latency_metric = latency_metric  # None: http.server.request.duration, else s/ms
        self.chosen: str | None = latency_metric
        self.min_obs = min_obs
        self.since: float | None = None  # first slice's start: QPS over a shorter span until a
        # full window has passed
        self.pending = Slice()
        self.window = Window()  # the closed slices of the last rate_window
        self.last_data: float | None = None
        self.matrices: dict[tuple[str, tuple[float, ...]], Matrix] = {}
        self.series: dict[SeriesKey, Series | Row] = {}
        # latency metric name -> (attribute signature, matrix, rows, generation) of its last
        # request when all its points were plain rows of one matrix: the next request with the
        # same signature skips the point-by-point loop (see otlp_view.columns)
        self.fast: dict[str, tuple[bytes, Matrix, np.ndarray, int]] = {}
        self.generation = 0  # bumped when a series moves to another matrix

    def is_latency(self, name: str, unit: str, kind: str) -> bool:
        """Pick the latency histogram: configured name, else the default, else any s/ms one."""
        if self.latency_metric is not None:
            return name == self.latency_metric
        if name == self.chosen:
            return True
        if kind not in ("histogram", "exponential_histogram", "summary"):
            return False
        if name == DEFAULT_LATENCY_METRIC:
            if self.chosen is not None:  # a fallback was in use: switch, forget its window
                self.pending, self.window = Slice(), Window()
            self.chosen = name
            return True
        if self.chosen is None and unit in DISCOVERY_UNITS and kind != "summary":
            self.chosen = name
            return True
        return False


def is_error_point(attrs: Any) -> bool:
    """A point of failed requests: HTTP status >= 500, a failing gRPC code, or `error.type`."""
    for kv in attrs:
        k = kv.key
        if k in ("http.response.status_code", "http.status_code", "rpc.grpc.status_code"):
            v = kv.value
            which = v.WhichOneof("value")
            code: float
            if which == "int_value":
                code = v.int_value
            elif which == "string_value" and v.string_value.isascii() and v.string_value.isdigit():
                code = int(v.string_value)  # isdigit alone takes "²", which int() refuses
            elif which == "double_value":
                code = v.double_value
            else:
                continue
            if k == "rpc.grpc.status_code":
                if code in (2, 4, 13, 14, 15):  # UNKNOWN, DEADLINE_EXCEEDED, INTERNAL, ...
                    return True
            elif code >= 500:
                return True
        elif k == "error.type":
            return True
    return False
