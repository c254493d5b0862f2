"""OTLP metrics -> per-service latency quantiles, QPS and error ratio in the MetricStore.

`OTLPSink.ingest` decodes one ExportMetricsServiceRequest into per-(service, metric,
attributes) state and turns every data point into a *delta*; deltas of each service's latency
histogram are summed into a pending slice. `tick(now)` closes the slice and computes p50/p95/
p99 from the bucket deltas of the slices within the last `rate_window` (never from cumulative
counts), QPS as count delta / time, and the error ratio from points whose attributes say 5xx
(`http.response.status_code >= 500`) or carry `error.type`.

This module is the sink's entry points and its routing (which OTLP service.name feeds which
displayed service, which metric is its latency); the work lives beside it:
- `otlp_series`: the state kept between pushes (services, series, bucket-layout matrices, cap);
- `otlp_explicit`: the explicit-bucket latency histogram, a request's metric in numpy batches;
- `otlp_points`: temporality (cumulative -> delta, resets) and every other kind of point;
- `otlp_expo`: exponential histograms, their deltas and accumulators;
- `otlp_window`: slices, windows and the quantiles read from them;
- `otlp_routes`: the per-`http.route` breakdown (the route view), with its window's running
  sums in `otlp_route_window`; `otlp_view`: flat views of the serialized protobuf;
  `otlp_exemplars`: exemplars into the store's log.

Not thread-safe by design: the receivers call `ingest` and the hub calls `tick` from one
asyncio loop, and both run to completion without awaiting, so they never interleave.
"""

from __future__ import annotations

import math
import time
from typing import Any, NamedTuple

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.common.v1.common_pb2 import KeyValue

from tui.config import Config
from tui.core.metrics.otlp_explicit import ExplicitHistograms
from tui.core.metrics.otlp_points import apply_point
from tui.core.metrics.otlp_routes import OTLPRoutes
from tui.core.metrics.otlp_series import (
    DEFAULT_LATENCY_METRIC,
    TEMPORALITY_CUMULATIVE,
    TEMPORALITY_DELTA,
    IngestContext,
    Series,
    SeriesCap,
    ServiceState,
    is_error_point,
    kind_of,
)
from tui.core.metrics.otlp_window import Slice, p99_bucket, window_quantiles
from tui.core.metrics.quantile import QuantileResult
from tui.core.metrics.store import (
    FLAG_LOW_CONFIDENCE,
    FLAG_SATURATED,
    QUANTILE_SIGNALS,
    MetricStore,
)

__all__ = ["DEFAULT_LATENCY_METRIC", "UNIT_SECONDS", "IngestResult", "OTLPSink"]

UNIT_SECONDS = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9, "min": 60.0, "h": 3600.0}
_KV_SERIALIZE = KeyValue.SerializeToString  # attribute set -> hashable key, one C call each


class IngestResult(NamedTuple):
    accepted: int
    rejected: int
    error_message: str = ""


def _count_points(m: Any) -> int:
    kind = m.WhichOneof("data")
    return len(getattr(m, kind).data_points) if kind else 0


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
        self.refresh = float(cfg.refresh)
        started_ns = int((time.time() if started_at is None else started_at) * 1e9)
        self._cap = SeriesCap(cfg.max_series if max_series is None else max_series, store)
        self._ctx = IngestContext(store, started_ns, self._cap)
        self._explicit = ExplicitHistograms(self._ctx)
        self.rejected_points = 0
        self.accepted_points = 0
        self.versions: dict[str, str] = {}  # service -> resource service.version, newest push
        # OTLP service.name -> its state (None: a name this sink ignores)
        self._services: dict[str, ServiceState | None] = {}
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

    @property
    def max_series(self) -> int:
        return self._cap.limit

    @max_series.setter
    def max_series(self, limit: int) -> None:
        self._cap.limit = limit

    @property
    def series_count(self) -> int:
        return self._cap.count

    @property
    def dropped_series(self) -> int:
        """Distinct series refused by the cap."""
        return self._cap.dropped

    @property
    def batched_points(self) -> int:
        """Points taken whole-request (otlp_explicit): for tests."""
        return self._explicit.batched_points

    # -- routing

    def _service(self, otlp_name: str) -> ServiceState | None:
        if otlp_name in self._services:
            return self._services[otlp_name]
        state: ServiceState | None = None
        conf = self._configured.get(otlp_name)
        if conf is not None:
            state = ServiceState(conf[0], conf[1], conf[2], self._new_routes())
        elif self._discover and otlp_name not in self._reserved:
            min_obs = self.cfg.detector.min_observations
            state = ServiceState(otlp_name, None, min_obs, self._new_routes())
        self._services[otlp_name] = state
        return state

    def _new_routes(self) -> OTLPRoutes:
        return OTLPRoutes(self.rate_window, float(self.cfg.window), self.refresh)

    def _named(self, service: str) -> ServiceState | None:
        """The state of displayed service `service` (the last one of that name)."""
        found = None
        for s in self._services.values():
            if s is not None and s.name == service:
                found = s
        return found

    def route_breakdown(self, service: str) -> OTLPRoutes | None:
        """The per-route breakdown of a displayed service, None when no push named it."""
        for s in self._services.values():
            if s is not None and s.name == service:
                return s.by_route
        return None

    def routes(self) -> list[str]:
        """Displayed names of the services seen so far with a latency metric."""
        return sorted(s.name for s in self._services.values() if s is not None and s.chosen)

    # -- ingest

    def ingest(self, request: ExportMetricsServiceRequest) -> IngestResult:
        """Store every data point of one export request; never raises on bad points."""
        accepted = rejected = 0
        problems: dict[str, int] = {}
        for rm in request.resource_metrics:
            name = version = ""
            for kv in rm.resource.attributes:
                if kv.key == "service.name":
                    name = kv.value.string_value
                elif kv.key == "service.version":
                    version = kv.value.string_value
            name = name or "unknown_service"
            if name not in self._services and len(self._services) >= self.max_series:
                n = sum(_count_points(m) for sm in rm.scope_metrics for m in sm.metrics)
                why = f"too many services ({len(self._services)} service.name values seen)"
                rejected += n
                problems[why] = problems.get(why, 0) + n
                continue
            service = self._service(name)
            if service is not None and version:  # bounded: one per service
                self.versions[service.name] = version
            for sm in rm.scope_metrics:
                for m in sm.metrics:
                    a, r, why = self._metric(service, m)
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

    def _metric(self, service: ServiceState | None, m: Any) -> tuple[int, int, str]:
        """(accepted, rejected, why) of one Metric message."""
        kind = m.WhichOneof("data")
        if kind is None:
            return 0, 0, ""
        data = getattr(m, kind)
        n = len(data.data_points)
        if service is None or n == 0:
            return n, 0, ""
        name = m.name
        if kind in ("histogram", "exponential_histogram", "sum"):
            temporality = data.aggregation_temporality
            if temporality not in (TEMPORALITY_DELTA, TEMPORALITY_CUMULATIVE):
                return 0, n, f"{name}: aggregation temporality unspecified"
        else:
            temporality = TEMPORALITY_CUMULATIVE
        latency = service.is_latency(name, m.unit, kind)
        factor = UNIT_SECONDS.get(m.unit, 1.0)
        if latency:
            service.pending.touched = True
        if kind == "histogram" and latency:
            return self._explicit.ingest(service, name, factor, data, temporality)
        return self._points(service, name, kind, data, temporality, factor, latency)

    def _points(
        self,
        service: ServiceState,
        name: str,
        kind: str,
        data: Any,
        temporality: int,
        factor: float,
        latency: bool,
    ) -> tuple[int, int, str]:
        """Every point of a metric that is not the explicit-bucket latency histogram."""
        acc = rej = 0
        why = ""
        for dp in data.data_points:
            key = (name, tuple(map(_KV_SERIALIZE, dp.attributes)))
            st = service.series.get(key)
            if st is None:
                if not self._cap.admit(service.name, key):
                    rej += 1
                    why = self._cap.refusal
                    continue
                st = service.series[key] = Series(kind, is_error_point(dp.attributes))
            elif not isinstance(st, Series) or st.kind != kind:
                # the same name and attributes sent as another kind of metric: keep the first
                rej += 1
                why = f"{name}: a {kind} point for a series first seen as {kind_of(st)}"
                continue
            err = apply_point(self._ctx, service, st, kind, dp, temporality, factor, latency)
            if err:
                rej += 1
                why = f"{name}: {err}"
            else:
                acc += 1
        return acc, rej, why

    # -- values for other views

    def values(self, service: str, metric: str) -> dict[tuple[bytes, ...], float]:
        """Latest value per attribute set of a gauge / sum (running total for delta sums)."""
        state = self._named(service)
        if state is None:
            return {}
        return {
            k[1]: v.value
            for k, v in state.series.items()
            if k[0] == metric and isinstance(v, Series)
        }

    # -- tick

    def tick(self, now: float) -> None:
        """Close the pending slices and store p50/p95/p99, qps and error_ratio at `now`."""
        horizon = now - self.rate_window
        due: list[tuple[ServiceState, Slice]] = []
        for service in self._services.values():
            if service is None:
                continue
            if service.pending.touched:
                if service.since is None:
                    service.since = now - self.refresh
                service.window.append(now, service.pending)
                service.pending = Slice()
                service.last_data = now
            service.window.expire(horizon)
            if service.last_data is None or service.last_data <= horizon or not service.chosen:
                continue  # nothing within the window: the UI shows the service as stale
            due.append((service, service.window.merged()))
        qs = list(QUANTILE_SIGNALS.values())
        quantiles = window_quantiles(qs, [w for _, w in due])  # all services' at once
        for (service, window), results in zip(due, quantiles, strict=True):
            self._store(service, window, results, now)

    def _store(
        self, service: ServiceState, w: Slice, quantiles: list[QuantileResult], now: float
    ) -> None:
        store = self.store
        info = store.ensure_service(service.name, "otlp")
        if info is None:
            return
        low = FLAG_LOW_CONFIDENCE if w.count < service.min_obs else 0
        for sig, res in zip(QUANTILE_SIGNALS, quantiles, strict=True):
            flags = low | (FLAG_SATURATED if res.saturated else 0)
            store.add(service.name, sig, now, res.value, flags, source="otlp")
            if sig == "p99":
                info.p99_bucket = p99_bucket(res.value, w)
        since = now - self.refresh if service.since is None else service.since
        span = min(self.rate_window, max(now - since, 1e-9))
        store.add(service.name, "qps", now, w.count / span, 0, source="otlp")
        for mat in service.matrices.values():
            taken = mat.take_pending()
            if taken is not None:
                rows, delta, dcnt = taken
                service.by_route.add(mat.bounds_s, mat.route[rows], delta, dcnt, mat.err[rows])
        service.by_route.tick(now, span)
        ratio = w.errors / w.count if w.count > 0 else math.nan
        store.add(service.name, "error_ratio", now, ratio, low, source="otlp")
        info.last_update = service.last_data
        info.observations = w.count
