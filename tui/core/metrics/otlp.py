"""OTLP metrics -> per-service latency quantiles, QPS and error ratio in the MetricStore.

`OTLPSink.ingest` decodes one ExportMetricsServiceRequest into per-(service, metric,
attributes) state and turns every data point into a *delta* (delta temporality as is;
cumulative minus the previous point of the same series, a counter reset -- new start time or a
lower count -- restarting from the new value). Deltas of each service's latency histogram are
summed into a pending slice; `tick(now)` closes the slice and computes p50/p95/p99 from the
bucket deltas of the slices within the last `rate_window` (never from cumulative counts), QPS
as count delta / time, and the error ratio from points whose attributes say 5xx
(`http.response.status_code >= 500`) or carry `error.type`.

Speed: explicit-bucket histograms are handled per metric in numpy batches (one array for all
points' bucket counts, one vectorised subtraction against the previous counts, kept as rows of
a matrix), read through `otlp_view.histogram_points` (attributes, bucket counts and bounds as
bytes, no Python object per bucket), so the Python work per point is a dict lookup and a few
list appends.

Not thread-safe by design: the receivers call `ingest` and the hub calls `tick` from one
asyncio loop, and both run to completion without awaiting, so they never interleave.
"""

from __future__ import annotations

import itertools
import math
import struct
import time
from collections import deque
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.common.v1.common_pb2 import KeyValue

from tui.config import Config
from tui.core.metrics.otlp_exemplars import add_exemplars
from tui.core.metrics.otlp_routes import OTLPRoutes, route_of
from tui.core.metrics.otlp_view import (
    attribute_signature,
    columns,
    exemplars,
    histogram_points,
)
from tui.core.metrics.quantile import (
    MAX_SCHEMA,
    Bucket,
    QuantileResult,
    bucket_of,
    bucket_quantile,
    exponential_bucket_of,
    exponential_quantile,
)
from tui.core.metrics.store import (
    FLAG_LOW_CONFIDENCE,
    FLAG_SATURATED,
    QUANTILE_SIGNALS,
    MetricStore,
)

DEFAULT_LATENCY_METRIC = "http.server.request.duration"
UNIT_SECONDS = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9, "min": 60.0, "h": 3600.0}
DISCOVERY_UNITS = ("s", "ms")  # "any histogram in s or ms" makes a service visible
NO_RECORDED_VALUE = 1  # DataPointFlags.DATA_POINT_FLAGS_NO_RECORDED_VALUE_MASK
TEMPORALITY_DELTA = 1
TEMPORALITY_CUMULATIVE = 2
_REFUSED_MEMORY = 65536  # distinct refused series remembered, so `dropped` counts series


class IngestResult(NamedTuple):
    accepted: int
    rejected: int
    error_message: str = ""


# --- state ----------------------------------------------------------------------------------


class _ExpoAcc:
    """Summed exponential-histogram deltas at one scale (OTLP index space)."""

    __slots__ = ("neg", "neg_off", "pos", "pos_off", "scale", "zero_count", "zero_threshold")

    def __init__(self, scale: int) -> None:
        self.scale = scale
        self.zero_count = 0.0
        self.zero_threshold = 0.0
        self.pos_off = 0
        self.pos = np.zeros(0)
        self.neg_off = 0
        self.neg = np.zeros(0)

    def add(
        self,
        scale: int,
        zc: float,
        zt: float,
        pos_off: int,
        pos: np.ndarray,
        neg_off: int,
        neg: np.ndarray,
    ) -> None:
        if scale > self.scale:
            pos_off, pos = _downscale(pos_off, pos, scale - self.scale)
            neg_off, neg = _downscale(neg_off, neg, scale - self.scale)
        elif scale < self.scale:
            self.pos_off, self.pos = _downscale(self.pos_off, self.pos, self.scale - scale)
            self.neg_off, self.neg = _downscale(self.neg_off, self.neg, self.scale - scale)
            self.scale = scale
        # offsets far apart (they are any int32) would need an array of the whole span:
        # coarsen both sides, as an SDK rescales past its bucket limit, until it fits
        while _span(self.pos_off, self.pos, pos_off, pos) > MAX_EXPO_SPAN or (
            _span(self.neg_off, self.neg, neg_off, neg) > MAX_EXPO_SPAN
        ):
            self.pos_off, self.pos = _downscale(self.pos_off, self.pos, 1)
            self.neg_off, self.neg = _downscale(self.neg_off, self.neg, 1)
            pos_off, pos = _downscale(pos_off, pos, 1)
            neg_off, neg = _downscale(neg_off, neg, 1)
            self.scale -= 1
        self.zero_count += zc
        self.zero_threshold = max(self.zero_threshold, zt)
        self.pos_off, self.pos = _aligned_add(self.pos_off, self.pos, pos_off, pos)
        self.neg_off, self.neg = _aligned_add(self.neg_off, self.neg, neg_off, neg)

    def merge(self, other: _ExpoAcc) -> None:
        self.add(
            other.scale,
            other.zero_count,
            other.zero_threshold,
            other.pos_off,
            other.pos,
            other.neg_off,
            other.neg,
        )

    @property
    def total(self) -> float:
        return self.zero_count + float(self.pos.sum()) + float(self.neg.sum())


def _downscale(off: int, arr: np.ndarray, by: int) -> tuple[int, np.ndarray]:
    """Merge buckets to a coarser scale: index i -> i >> by."""
    if by <= 0 or arr.size == 0:
        return off, arr
    idx = (off + np.arange(arr.size, dtype=np.int64)) >> by
    new_off = int(idx[0])
    out = np.zeros(int(idx[-1]) - new_off + 1)
    np.add.at(out, idx - new_off, arr)
    return new_off, out


MAX_EXPO_SPAN = 1 << 16  # buckets one exponential accumulation may span (SDKs keep 160)


def _span(off: int, arr: np.ndarray, off2: int, arr2: np.ndarray) -> int:
    """Buckets from the lowest to the highest index of two non-empty runs (0 if one is empty)."""
    if arr.size == 0 or arr2.size == 0:
        return 0
    return max(off + arr.size, off2 + arr2.size) - min(off, off2)


def _aligned_add(off: int, arr: np.ndarray, off2: int, arr2: np.ndarray) -> tuple[int, np.ndarray]:
    if arr2.size == 0:
        return off, arr
    if arr.size == 0:
        return off2, arr2.astype(np.float64, copy=True)
    lo = min(off, off2)
    hi = max(off + arr.size, off2 + arr2.size)
    if lo == off and hi == off + arr.size:
        arr[off2 - lo : off2 - lo + arr2.size] += arr2
        return off, arr
    out = np.zeros(hi - lo)
    out[off - lo : off - lo + arr.size] += arr
    out[off2 - lo : off2 - lo + arr2.size] += arr2
    return lo, out


def _aligned_sub(off: int, arr: np.ndarray, off2: int, arr2: np.ndarray) -> tuple[int, np.ndarray]:
    return _aligned_add(off, arr.astype(np.float64, copy=True), off2, -arr2)


class _Slice:
    """Latency deltas of one service between two ticks."""

    __slots__ = ("count", "errors", "explicit", "expo", "summary", "touched")

    def __init__(self) -> None:
        self.explicit: dict[tuple[float, ...], np.ndarray] = {}  # bounds in seconds -> counts
        self.expo: dict[float, _ExpoAcc] = {}  # unit factor -> buckets in the metric's unit
        self.summary: dict[float, float] = {}  # quantile -> latest value, seconds
        self.count = 0.0
        self.errors = 0.0
        self.touched = False  # any point arrived, even one with zero new requests

    def add_explicit(self, bounds: tuple[float, ...], counts: np.ndarray) -> None:
        acc = self.explicit.get(bounds)
        if acc is None:
            self.explicit[bounds] = counts.astype(np.float64, copy=True)
        else:
            acc += counts

    def merge(self, other: _Slice) -> None:
        for b, c in other.explicit.items():
            self.add_explicit(b, c)
        for f, e in other.expo.items():
            mine = self.expo.get(f)
            if mine is None:
                mine = self.expo[f] = _ExpoAcc(e.scale)
            mine.merge(e)
        self.summary.update(other.summary)
        self.count += other.count
        self.errors += other.errors
        self.touched = self.touched or other.touched


class _Matrix:
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
class _Series:
    """State of one non-matrix series: the previous cumulative point, or the latest value."""

    kind: str
    is_error: bool
    start: int = 0
    count: float = -1.0  # < 0: no previous point
    expo: tuple[int, float, int, np.ndarray, int, np.ndarray] | None = None
    value: float = math.nan  # gauge / sum: latest value (delta sums: running total)
    t: int = 0  # time_unix_nano of the newest point


def _kind_of(entry: object) -> str:
    """The metric kind of a route's series entry (a matrix row is a latency histogram)."""
    return entry.kind if isinstance(entry, _Series) else "histogram"


class _Route:
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
        self.pending = _Slice()
        self.slices: deque[tuple[float, _Slice]] = deque()
        self.last_data: float | None = None
        self.matrices: dict[tuple[str, tuple[float, ...]], _Matrix] = {}
        self.series: dict[tuple[str, tuple[bytes, ...]], Any] = {}  # -> (matrix,row) | _Series
        # latency metric name -> (attribute signature, matrix, rows, generation) of its last
        # request when all its points were plain rows of one matrix: the next request with the
        # same signature skips the point-by-point loop (see otlp_view.columns)
        self.fast: dict[str, tuple[bytes, _Matrix, np.ndarray, int]] = {}
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
                self.pending, self.slices = _Slice(), deque()
            self.chosen = name
            return True
        if self.chosen is None and unit in DISCOVERY_UNITS and kind != "summary":
            self.chosen = name
            return True
        return False


def _count_points(m: Any) -> int:
    kind = m.WhichOneof("data")
    return len(getattr(m, kind).data_points) if kind else 0


_KV_SERIALIZE = KeyValue.SerializeToString  # attribute set -> hashable key, one C call each


def _is_error(attrs: Any) -> bool:
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


# --- the sink -------------------------------------------------------------------------------


class OTLPSink:
    """Decode OTLP pushes into windowed per-service signals in a MetricStore."""

    def __init__(
        self,
        store: MetricStore,
        cfg: Config,
        max_series: int | None = None,
        started_at: float | None = None,
    ) -> None:
        self.store = store
        self.cfg = cfg
        self.rate_window = float(cfg.rate_window)
        self.max_series = cfg.max_series if max_series is None else max_series
        self.started_ns = int((time.time() if started_at is None else started_at) * 1e9)
        self.series_count = 0
        self.dropped_series = 0  # distinct series refused by the cap
        self.rejected_points = 0
        self.accepted_points = 0
        self.batched_points = 0  # of those, taken whole-request (otlp_view.columns): for tests
        self._refused: set[tuple[str, str, tuple[bytes, ...]]] = set()
        self.versions: dict[str, str] = {}  # service -> resource service.version, newest push
        self._routes: dict[str, _Route | None] = {}  # OTLP service.name -> route (None: ignore)
        self._configured: dict[str, tuple[str, str | None, int]] = {}
        prom_names = set()
        for s in cfg.services:
            det = s.detector or cfg.detector
            if s.otlp is not None:
                key = s.otlp.service_name or s.name
                self._configured[key] = (s.name, s.otlp.latency_metric, det.min_observations)
            else:
                prom_names.add(s.name)
        for name, _, _ in self._configured.values():  # listed as "no data" until data comes
            store.ensure_service(name, "otlp")
        self._discover = not self._configured
        self._reserved = prom_names
        self.refresh = float(cfg.refresh)

    # -- routing

    def _route(self, service: str) -> _Route | None:
        if service in self._routes:
            return self._routes[service]
        route: _Route | None = None
        conf = self._configured.get(service)
        if conf is not None:
            route = _Route(conf[0], conf[1], conf[2], self._new_routes())
        elif self._discover and service not in self._reserved:
            route = _Route(service, None, self.cfg.detector.min_observations, self._new_routes())
        self._routes[service] = route
        return route

    def _new_routes(self) -> OTLPRoutes:
        return OTLPRoutes(self.rate_window, float(self.cfg.window), self.refresh)

    def route_breakdown(self, service: str) -> OTLPRoutes | None:
        """The per-route breakdown of a displayed service, None when no push named it."""
        for r in self._routes.values():
            if r is not None and r.name == service:
                return r.by_route
        return None

    def routes(self) -> list[str]:
        """Displayed names of the services seen so far with a latency metric."""
        return sorted(r.name for r in self._routes.values() if r is not None and r.chosen)

    # -- ingest

    def ingest(self, request: ExportMetricsServiceRequest) -> IngestResult:
        """Store every data point of one export request; never raises on bad points."""
        accepted = rejected = 0
        problems: dict[str, int] = {}
        for rm in request.resource_metrics:
            service = version = ""
            for kv in rm.resource.attributes:
                if kv.key == "service.name":
                    service = kv.value.string_value
                elif kv.key == "service.version":
                    version = kv.value.string_value
            service = service or "unknown_service"
            if service not in self._routes and len(self._routes) >= self.max_series:
                n = sum(_count_points(m) for sm in rm.scope_metrics for m in sm.metrics)
                why = f"too many services ({len(self._routes)} service.name values seen)"
                rejected += n
                problems[why] = problems.get(why, 0) + n
                continue
            route = self._route(service)
            if route is not None and version:  # bounded: one per route
                self.versions[route.name] = version
            for sm in rm.scope_metrics:
                for m in sm.metrics:
                    a, r, why = self._metric(route, m)
                    accepted += a
                    rejected += r
                    if why:
                        problems[why] = problems.get(why, 0) + r
        self.accepted_points += accepted
        self.rejected_points += rejected
        msg = "; ".join(f"{n} data point(s): {why}" for why, n in problems.items())
        if len(msg) > 1000:  # one line for the exporter's log, not a dump
            msg = msg[:997] + "..."
        return IngestResult(accepted, rejected, msg)

    def _metric(self, route: _Route | None, m: Any) -> tuple[int, int, str]:
        kind = m.WhichOneof("data")
        if kind is None:
            return 0, 0, ""
        data = getattr(m, kind)
        points = data.data_points
        n = len(points)
        if route is None or n == 0:
            return n, 0, ""
        name = m.name
        unit = m.unit
        if kind in ("histogram", "exponential_histogram", "sum"):
            temporality = data.aggregation_temporality
            if temporality not in (TEMPORALITY_DELTA, TEMPORALITY_CUMULATIVE):
                return 0, n, f"{name}: aggregation temporality unspecified"
        else:
            temporality = TEMPORALITY_CUMULATIVE
        latency = route.is_latency(name, unit, kind)
        factor = UNIT_SECONDS.get(unit, 1.0)
        if latency:
            route.pending.touched = True
        if kind == "histogram" and latency:
            return self._explicit(route, name, factor, data, temporality)
        acc = rej = 0
        why = ""
        for dp in points:
            key = (name, tuple(map(_KV_SERIALIZE, dp.attributes)))
            st = route.series.get(key)
            if st is None:
                st = self._new_series(route, key, kind, dp.attributes)
                if st is None:
                    rej += 1
                    why = f"series cap reached ({self.max_series} series)"
                    continue
            elif not isinstance(st, _Series) or st.kind != kind:
                # the same name and attributes sent as another kind of metric: keep the first
                rej += 1
                why = f"{name}: a {kind} point for a series first seen as {_kind_of(st)}"
                continue
            err = self._point(route, st, kind, dp, temporality, factor, latency)
            if err:
                rej += 1
                why = f"{name}: {err}"
            else:
                acc += 1
        return acc, rej, why

    def _admit(self, route: _Route, key: tuple[str, tuple[bytes, ...]]) -> bool:
        if self.series_count >= self.max_series:
            rk = (route.name, key[0], key[1])
            if rk not in self._refused:
                self.dropped_series += 1
                self.store.dropped += 1
                if len(self._refused) < _REFUSED_MEMORY:
                    self._refused.add(rk)
            return False
        self.series_count += 1
        return True

    def _new_series(
        self, route: _Route, key: tuple[str, tuple[bytes, ...]], kind: str, attrs: Any
    ) -> _Series | None:
        if not self._admit(route, key):
            return None
        st = _Series(kind, _is_error(attrs))
        route.series[key] = st
        return st

    def _register(self, route: _Route) -> None:
        if route.name not in self.store.services:
            self.store.ensure_service(route.name, "otlp")

    def _explicit(
        self, route: _Route, name: str, factor: float, data: Any, temporality: int
    ) -> tuple[int, int, str]:
        """Explicit-bucket latency histogram: one numpy batch per bucket layout.

        The hot loop reads the points through `histogram_points` (attributes, bucket counts and
        bounds as bytes); the full message of a point is read only where a rarer path needs it
        (a new series, a changed layout).
        """
        self._register(route)
        serialized = data.SerializeToString()
        points = data.data_points
        n = len(points)
        signature = attribute_signature(serialized)
        fast = route.fast.get(name)
        if fast is not None and fast[0] == signature and fast[3] == route.generation:
            # The same series in the same order as a request before, all rows of one matrix:
            # no per-point Python work, if every point has that matrix's plain layout.
            _, fmat, fast_rows, _ = fast
            assert fmat.bounds_bytes is not None
            cols = columns(serialized, n, fmat.nb, fmat.bounds_bytes)
            if cols is not None:
                starts_a, counts_a, buckets = cols
                cur = buckets.astype(np.float64)
                self._apply(route, fmat, fast_rows, cur, counts_a, starts_a, temporality)
                self.batched_points += n
                self._explicit_exemplars(route, name, serialized, factor)
                return n, 0, ""
        rej = flagged = 0
        why = ""
        batches: dict[_Matrix, tuple[_Matrix, list[int], list[bytes], list[int], list[int]]] = {}
        series = route.series
        last: _Matrix | None = None
        rows: list[int] = []
        raw: list[bytes] = []
        counts: list[int] = []
        starts: list[int] = []
        for i, dp in enumerate(histogram_points(serialized)):
            key = (name, tuple(dp.attributes))
            ent = series.get(key)
            if ent.__class__ is not tuple:  # not yet a matrix row: a new series, or another kind
                if isinstance(ent, _Series):  # first seen as another kind: keep that
                    rej += 1
                    why = f"{name}: a histogram point for a series first seen as {ent.kind}"
                    continue
                if ent is None:
                    full = points[i]
                    bounds = tuple(full.explicit_bounds)
                    nbc = len(full.bucket_counts)
                    if nbc not in (0, len(bounds) + 1):
                        rej += 1
                        why = f"{name}: {nbc} bucket counts for {len(bounds)} bounds"
                        continue
                    if any(not (a < b) for a, b in itertools.pairwise(bounds)) or any(
                        math.isnan(b) or math.isinf(b) for b in bounds
                    ):
                        rej += 1
                        why = f"{name}: explicit bounds not strictly increasing and finite"
                        continue
                    mkey = (name, bounds)
                    mat = route.matrices.get(mkey)
                    if mat is None:
                        mat = route.matrices[mkey] = _Matrix(bounds, factor)
                    if not self._admit(route, key):
                        rej += 1
                        why = f"series cap reached ({self.max_series} series)"
                        continue
                    rid = route.by_route.route_id(full.attributes)
                    ent = series[key] = (mat, mat.new_row(_is_error(full.attributes), rid))
            mat, row = ent
            if dp.flags & NO_RECORDED_VALUE:
                mat.seen[row] = False  # the series ended; the next point starts afresh
                flagged += 1
                continue
            bc = dp.bucket_counts
            if len(bc) != mat.bc_bytes or dp.explicit_bounds != mat.bounds_bytes:
                if not bc:
                    if dp.count:  # count without buckets: no quantile can come from it
                        rej += 1
                        why = f"{name}: histogram point without bucket counts"
                    else:
                        flagged += 1
                    continue
                # Not byte for byte the matrix's layout; compare as floats (0.0 == -0.0).
                full = points[i]
                nbc = len(full.bucket_counts)
                if nbc != mat.nb or full.explicit_bounds != mat.bounds_raw:
                    # The layout changed: move the series to the matrix of its new layout.
                    bounds = tuple(full.explicit_bounds)
                    if nbc != len(bounds) + 1:
                        rej += 1
                        why = f"{name}: {nbc} bucket counts for {len(bounds)} bounds"
                        continue
                    mkey = (name, bounds)
                    mat = route.matrices.get(mkey) or route.matrices.setdefault(
                        mkey, _Matrix(bounds, factor)
                    )
                    rid = route.by_route.route_id(full.attributes)
                    ent = series[key] = (mat, mat.new_row(_is_error(full.attributes), rid))
                    row = ent[1]
                    route.generation += 1  # a series moved: remembered row lists are stale
            if mat is not last:  # points of one layout come together: one lookup per run
                b = batches.get(mat)
                if b is None:
                    b = batches[mat] = (mat, [], [], [], [])
                _, rows, raw, counts, starts = b
                last = mat
            rows.append(row)
            raw.append(bc)
            counts.append(dp.count)
            starts.append(dp.start_time_unix_nano)
        acc = flagged
        for mat, rows, raw, counts, starts in batches.values():
            acc += len(rows)
            cur = np.frombuffer(b"".join(raw), dtype="<u8").astype(np.float64)
            cur = cur.reshape(len(rows), mat.nb)
            if len(set(rows)) != len(rows):  # a series twice in one request: points in order
                for j, r in enumerate(rows):
                    self._apply(
                        route,
                        mat,
                        [r],
                        cur[j : j + 1],
                        counts[j : j + 1],
                        starts[j : j + 1],
                        temporality,
                    )
            else:
                self._apply(route, mat, rows, cur, counts, starts, temporality)
        self._explicit_exemplars(route, name, serialized, factor)
        route.fast.pop(name, None)
        if not rej and not flagged and len(batches) == 1:
            mat, rows, _, _, _ = next(iter(batches.values()))
            if len(rows) == n and mat.bounds_bytes is not None and len(set(rows)) == n:
                route.fast[name] = (signature, mat, np.asarray(rows, np.intp), route.generation)
        return acc, rej, why

    def _explicit_exemplars(
        self, route: _Route, name: str, serialized: bytes, factor: float
    ) -> None:
        """The exemplars of a latency histogram's points, each with its series' route."""
        found = exemplars(serialized)
        if not found:
            return
        views = histogram_points(serialized)
        for i, raws in found:
            ent = route.series.get((name, tuple(views[i].attributes)))
            if ent.__class__ is not tuple:
                continue  # the point was refused: its exemplars go with it
            mat, row = ent
            where = route.by_route.names[int(mat.route[row])]
            add_exemplars(self.store.exemplars, route.name, where, raws, factor)

    def _apply(
        self,
        route: _Route,
        mat: _Matrix,
        rows: list[int] | np.ndarray,
        cur: np.ndarray,
        counts: list[int] | np.ndarray,
        starts: list[int] | np.ndarray,
        temporality: int,
    ) -> None:
        r = np.asarray(rows, dtype=np.intp)
        cnt = np.asarray(counts, dtype=np.float64)
        if temporality == TEMPORALITY_DELTA:
            delta, dcnt = cur, cnt
        else:
            st = np.asarray(starts, dtype=np.uint64)
            seen = mat.seen[r]
            prev_cnt = mat.count[r]
            reset = (st != mat.start[r]) | (cnt < prev_cnt)
            if seen.all() and not reset.any():  # the steady state: every point a plain delta
                delta, dcnt = cur - mat.prev[r], cnt - prev_cnt
            else:
                # A series first seen counts in full only if it started after we began listening.
                fresh = ~seen & (st >= self.started_ns) & (st > 0)
                whole = (seen & reset) | fresh
                keep = seen & ~reset
                delta = np.where(
                    whole[:, None], cur, np.where(keep[:, None], cur - mat.prev[r], 0.0)
                )
                dcnt = np.where(whole, cnt, np.where(keep, cnt - prev_cnt, 0.0))
            mat.prev[r] = cur
            mat.count[r] = cnt
            mat.start[r] = st
            mat.seen[r] = True
        sl = route.pending
        sl.add_explicit(mat.bounds_s, delta.sum(axis=0))
        sl.count += float(dcnt.sum())
        errs = mat.err[r]
        mat.pending[r] += delta  # rows are distinct within one call (see _explicit)
        mat.pcount[r] += dcnt
        if errs.any():
            sl.errors += float(dcnt[errs].sum())

    def _point(
        self,
        route: _Route,
        st: _Series,
        kind: str,
        dp: Any,
        temporality: int,
        factor: float,
        latency: bool,
    ) -> str:
        """One non-batched point; returns why it was rejected, or ''."""
        st.t = dp.time_unix_nano
        if dp.flags & NO_RECORDED_VALUE:
            st.count = -1.0
            st.expo = None
            return ""
        if kind == "gauge" or kind == "sum":
            which = dp.WhichOneof("value")
            v = float(dp.as_int if which == "as_int" else dp.as_double)
            if kind == "sum" and temporality == TEMPORALITY_DELTA:
                st.value = (0.0 if math.isnan(st.value) else st.value) + v
            else:
                st.value = v
            return ""
        if kind == "histogram":  # not the latency metric: keep count and sum only
            st.value = dp.count
            return ""
        if kind == "summary":
            cnt = float(dp.count)
            dcnt = self._count_delta(st, dp, cnt, temporality)
            st.value = cnt
            if latency:
                self._register(route)
                sl = route.pending
                for qv in dp.quantile_values:
                    sl.summary[qv.quantile] = qv.value * factor
                sl.count += dcnt
                if st.is_error:
                    sl.errors += dcnt
            return ""
        # exponential histogram
        if latency and dp.exemplars:
            where = route_of(dp.attributes)
            add_exemplars(self.store.exemplars, route.name, where, dp.exemplars, factor)
        scale = dp.scale
        if not -10 <= scale <= 20:
            return f"exponential histogram scale {scale} outside [-10, 20]"
        pos = np.asarray(dp.positive.bucket_counts, dtype=np.float64)
        neg = np.asarray(dp.negative.bucket_counts, dtype=np.float64)
        cur = (scale, float(dp.zero_count), dp.positive.offset, pos, dp.negative.offset, neg)
        cnt = float(dp.count)
        if temporality == TEMPORALITY_DELTA:
            d = cur
            dcnt = cnt
        else:
            prev = st.expo
            reset = prev is None or dp.start_time_unix_nano != st.start or cnt < st.count
            if prev is None:
                fresh = dp.start_time_unix_nano >= self.started_ns and dp.start_time_unix_nano > 0
                d = cur if fresh else (scale, 0.0, 0, np.zeros(0), 0, np.zeros(0))
                dcnt = cnt if fresh else 0.0
            elif reset:
                d, dcnt = cur, cnt
            else:
                ps, pzc, ppo, pp, pno, pn = prev
                if ps > scale:  # the SDK rescaled its cumulative state: compare at the new scale
                    ppo, pp = _downscale(ppo, pp, ps - scale)
                    pno, pn = _downscale(pno, pn, ps - scale)
                # offsets moved further than any real histogram spans: a reset, not a delta
                far = (
                    _span(dp.positive.offset, pos, ppo, pp) > MAX_EXPO_SPAN
                    or _span(dp.negative.offset, neg, pno, pn) > MAX_EXPO_SPAN
                )
                if not far:
                    po, pd = _aligned_sub(dp.positive.offset, pos, ppo, pp)
                    no, nd = _aligned_sub(dp.negative.offset, neg, pno, pn)
                if far or (pd < 0).any() or (nd < 0).any() or ps < scale:
                    d, dcnt = cur, cnt
                else:
                    d = (scale, float(dp.zero_count) - pzc, po, pd, no, nd)
                    dcnt = cnt - st.count
            st.expo = cur
            st.start = dp.start_time_unix_nano
            st.count = cnt
        if latency:
            self._register(route)
            sl = route.pending
            e = sl.expo.get(factor)
            if e is None:
                e = sl.expo[factor] = _ExpoAcc(d[0])
            e.add(d[0], d[1], float(dp.zero_threshold), d[2], d[3], d[4], d[5])
            sl.count += dcnt
            if st.is_error:
                sl.errors += dcnt
        return ""

    def _count_delta(self, st: _Series, dp: Any, cnt: float, temporality: int) -> float:
        if temporality == TEMPORALITY_DELTA:
            return cnt
        if st.count < 0:
            fresh = dp.start_time_unix_nano >= self.started_ns and dp.start_time_unix_nano > 0
            d = cnt if fresh else 0.0
        elif dp.start_time_unix_nano != st.start or cnt < st.count:
            d = cnt
        else:
            d = cnt - st.count
        st.start = dp.start_time_unix_nano
        st.count = cnt
        return d

    # -- values for other views

    def values(self, service: str, metric: str) -> dict[tuple[bytes, ...], float]:
        """Latest value per attribute set of a gauge / sum (running total for delta sums)."""
        route = None
        for r in self._routes.values():
            if r is not None and r.name == service:
                route = r
        if route is None:
            return {}
        return {
            k[1]: v.value
            for k, v in route.series.items()
            if k[0] == metric and isinstance(v, _Series)
        }

    # -- tick

    def tick(self, now: float) -> None:
        """Close the pending slices and store p50/p95/p99, qps and error_ratio at `now`."""
        horizon = now - self.rate_window
        for route in self._routes.values():
            if route is None:
                continue
            if route.pending.touched:
                if route.since is None:
                    route.since = now - self.refresh
                route.slices.append((now, route.pending))
                route.pending = _Slice()
                route.last_data = now
            while route.slices and route.slices[0][0] <= horizon:
                route.slices.popleft()
            if route.last_data is None or route.last_data <= horizon or not route.chosen:
                continue  # nothing within the window: the UI shows the service as stale
            window = _Slice()
            for _, s in route.slices:
                window.merge(s)
            self._store(route, window, now)

    def _store(self, route: _Route, w: _Slice, now: float) -> None:
        store = self.store
        info = store.ensure_service(route.name, "otlp")
        if info is None:
            return
        low = FLAG_LOW_CONFIDENCE if w.count < route.min_obs else 0
        for sig, q in QUANTILE_SIGNALS.items():
            res = _window_quantile(q, w)
            flags = low | (FLAG_SATURATED if res.saturated else 0)
            store.add(route.name, sig, now, res.value, flags, source="otlp")
            if sig == "p99":
                info.p99_bucket = _p99_bucket(res.value, w)
        since = now - self.refresh if route.since is None else route.since
        span = min(self.rate_window, max(now - since, 1e-9))
        store.add(route.name, "qps", now, w.count / span, 0, source="otlp")
        for mat in route.matrices.values():
            taken = mat.take_pending()
            if taken is not None:
                rows, delta, dcnt = taken
                route.by_route.add(mat.bounds_s, mat.route[rows], delta, dcnt, mat.err[rows])
        route.by_route.tick(now, span)
        ratio = w.errors / w.count if w.count > 0 else math.nan
        store.add(route.name, "error_ratio", now, ratio, low, source="otlp")
        info.last_update = route.last_data
        info.observations = w.count


def _p99_bucket(value: float, w: _Slice) -> Bucket | None:
    """The bucket (lower, upper], seconds, that holds `value`: what the spike detector trusts.

    A quantile cannot be resolved finer than its bucket, so a move inside one bucket is judged
    against its width. None when unknown: no finite positive bucket (first bucket from 0,
    +Inf), or a summary.
    """
    if w.explicit:
        return bucket_of(value, sorted({b for bs in w.explicit for b in bs}))
    best = max(w.expo.items(), key=lambda kv: kv[1].total, default=None)
    if best is None:
        return None
    factor, acc = best
    bucket = exponential_bucket_of(value / factor, min(acc.scale, MAX_SCHEMA))
    return None if bucket is None else (bucket[0] * factor, bucket[1] * factor)


def _window_quantile(q: float, w: _Slice) -> QuantileResult:
    """Quantile over one window: explicit buckets as `sum by (le)`, else exponential."""
    exp_total = sum(e.total for e in w.expo.values())
    exp_best = max(w.expo.items(), key=lambda kv: kv[1].total, default=None)
    explicit_total = sum(float(c.sum()) for c in w.explicit.values())
    if w.explicit and explicit_total >= exp_total:
        bounds: list[float] = []
        cum: list[float] = []
        for b, c in w.explicit.items():
            bounds.extend(b)
            bounds.append(math.inf)
            cum.extend(np.cumsum(c).tolist())
        return bucket_quantile(q, bounds, cum)
    if exp_best is not None:
        factor, e = exp_best
        r = exponential_quantile(
            q, e.scale, e.zero_threshold, e.zero_count, e.pos_off, e.pos, e.neg_off, e.neg
        )
        return QuantileResult(r.value * factor, r.saturated, r.forced_monotonic)
    if w.summary:
        v = w.summary.get(q)
        return QuantileResult(v if v is not None else math.nan)
    return QuantileResult(math.nan)
