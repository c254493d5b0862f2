"""Prometheus source: tail per-service latency quantiles, QPS and error ratio over the HTTP API.

The PromQL engine does the aggregation (`histogram_quantile(q, sum by (le) (rate(SEL_bucket[RW])))`)
so a Thanos or Mimir backend scales it; warroom only reads one series per signal.

Tailing: the first refresh fetches the whole `window` with `/api/v1/query_range`; later refreshes
ask only for the steps after the last one received and append them. Steps sit on a fixed grid
(multiples of `step`), so successive requests line up and never overlap. `step` is `refresh`,
raised when needed so that a window never exceeds Prometheus' 11,000 points per series.

Saturation ("≥ bound", see tui/sources/prometheus_queries.py): the comparison of the two
saturation aggregates is done here, in the same float64 arithmetic Prometheus uses. The +Inf
rate also gives the number of observations in the window, which marks low-confidence
quantiles.

Go runtime signals (GC pause, scheduler latency, goroutines, heap, GC CPU; see
tui.core.metrics.go_runtime): a probe now and then asks which runtime series the processes
exporting a service's histogram have; the chosen expressions are then tailed like the latency
signals, on their own cursor, into the same store under `go.*` signal names. A service with no
Go runtime series gets no such query and no such series.

Faults (unreachable, timeout, HTTP errors, non-JSON, wrong shape, `status: error`) never raise
out of `refresh`: they go to `status` (with `stale_since`) and the next refresh is delayed by a
capped exponential backoff; the first good answer clears it, with no restart.

The HTTP client and its answers live in tui/sources/prometheus_client.py, the PromQL in
tui/sources/prometheus_queries.py, the Go runtime tail in tui/sources/prometheus_runtime.py;
their public names are importable from here too.
"""

from __future__ import annotations

import asyncio
import math
import time

from tui.config import Config, DetectorConfig, ServiceConfig, ServicePrometheus
from tui.core.metrics.quantile import bucket_of, is_saturated
from tui.core.metrics.store import (
    FLAG_LOW_CONFIDENCE,
    FLAG_SATURATED,
    QUANTILE_SIGNALS,
    MetricStore,
)
from tui.errors import UserError
from tui.sources.base import Backoff, SourceStatus, State
from tui.sources.prometheus_client import (
    Point,
    PrometheusClient,
    PrometheusError,
    QueryResult,
    _parse_data,
    _parse_value,
    one_series,
)
from tui.sources.prometheus_queries import (
    DEBUG_LABELS,
    MAX_POINTS,
    ServiceQueries,
    build_queries,
    choose_step,
    promql_duration,
    service_selector,
    split_selector,
    without_debug,
)
from tui.sources.prometheus_runtime import (
    DISCOVERY_EVERY,
    LAYOUT_EVERY,
    LAYOUT_RETRY,
    RuntimeTail,
)

__all__ = [
    "DEBUG_LABELS",
    "DISCOVERY_EVERY",
    "LAYOUT_EVERY",
    "LAYOUT_RETRY",
    "MAX_POINTS",
    "Point",
    "PrometheusClient",
    "PrometheusError",
    "PrometheusSource",
    "QueryResult",
    "ServiceQueries",
    "_parse_data",
    "_parse_value",
    "build_queries",
    "choose_step",
    "is_saturated",
    "promql_duration",
    "refresh_backoff",
    "service_selector",
    "split_selector",
    "without_debug",
]

MAX_CONCURRENT = 4  # queries in flight at once against one server
DISCOVER_METRICS = ("http_server_request_duration_seconds", "http_request_duration_seconds")
MAX_DISCOVERED = 50
BACKOFF_CAP = 60.0  # seconds; never wait longer than this between attempts


def refresh_backoff(refresh: float) -> Backoff:
    """Prometheus' backoff: `refresh`, then from twice it doubling per failure up to 16 times
    it, never over BACKOFF_CAP (the route view's poller waits the same)."""
    return Backoff(refresh, 2 * refresh, min(BACKOFF_CAP, 16 * refresh))


# --- the source --------------------------------------------------------------------------


class PrometheusSource(RuntimeTail):
    """Tails every Prometheus-backed service into a MetricStore (source="prometheus")."""

    def __init__(
        self,
        cfg: Config,
        store: MetricStore,
        client: PrometheusClient | None = None,
        *,
        runtime: bool = False,
    ):
        """`runtime`: also tail the Go runtime signals (the dashboard shows them, `record`
        writes them; `snapshot` and `check` ask once instead)."""
        if cfg.prometheus is None:
            raise ValueError("config has no prometheus section")
        self.cfg = cfg
        self.store = store
        self.client = client or PrometheusClient(cfg.prometheus)
        self.status = SourceStatus(name="prometheus", detail=cfg.prometheus.url)
        self.step = choose_step(cfg.refresh, cfg.window)
        self.backoff = refresh_backoff(float(cfg.refresh))
        self.warnings: list[str] = []
        self.services = [s for s in cfg.services if s.prometheus is not None]
        self.queries: dict[str, ServiceQueries] = {}
        for i, svc in enumerate(self.services):
            try:
                self.queries[svc.name] = build_queries(svc, cfg.rate_window)
            except ValueError as exc:
                where = f"{cfg.source}: " if cfg.source else ""
                raise UserError(
                    f"{where}services[{i}].prometheus.latency_histogram: {exc}"
                ) from None
            store.ensure_service(svc.name, "prometheus")
        self._cursor: dict[str, float] = {}  # service -> time of the last step received
        self._sem = asyncio.Semaphore(MAX_CONCURRENT)
        # With no Prometheus service configured, find them: every job exposing a standard
        # HTTP server latency histogram becomes a service named after the job.
        self.discover = not self.services
        self.discovered: dict[str, ServiceConfig] = {}  # job -> the service made for it
        self._discovered_at: float | None = None
        # service -> (time looked, sorted finite `le` bounds): the bucket of each p99 point
        self._layouts: dict[str, tuple[float, list[float]]] = {}
        # service -> (time probed, {go.* signal: PromQL}); empty when it exports no runtime series
        self.with_runtime = runtime
        self.runtime: dict[str, tuple[float, dict[str, str]]] = {}
        self._rt_cursor: dict[str, float] = {}  # service -> last runtime step received

    def service_config(self, name: str) -> ServiceConfig | None:
        """The Prometheus config of a service, configured or discovered (the route view's)."""
        svc = self.cfg.service(name) or self.discovered.get(name)
        return svc if svc is not None and svc.prometheus is not None else None

    # -- scheduling

    @property
    def failures(self) -> int:
        """Consecutive failed refreshes (what the backoff counts)."""
        return self.backoff.failures

    @failures.setter
    def failures(self, n: int) -> None:
        self.backoff.failures = n

    def next_delay(self) -> float:
        """Seconds until the next refresh: `refresh`, or a capped exponential backoff."""
        return self.backoff.delay()

    async def aclose(self) -> None:
        await self.client.aclose()

    # -- tailing

    def _range_for(
        self, service: str, now: float, cursor: dict[str, float] | None = None
    ) -> tuple[float, float] | None:
        step = self.step
        end = math.floor(now / step) * step
        first = math.floor((now - self.cfg.window) / step) * step
        last = (self._cursor if cursor is None else cursor).get(service)
        start = first if last is None else max(last + step, first)
        if start > end:
            return None
        return start, end

    async def refresh(self, now: float | None = None) -> list[Point]:
        """Fetch the new steps for every service; all or nothing, so a retry never duplicates.

        Returns the points appended to the store. Never raises for a server fault.
        """
        now = time.time() if now is None else now
        if self.discover and (
            self._discovered_at is None or now - self._discovered_at >= DISCOVERY_EVERY
        ):
            try:
                await self.discover_services(now)
            except PrometheusError as exc:
                self._fail(exc, "discovery", "_services")
                return []
            self._discovered_at = now
            if not self.queries:
                self._ok(0.0, ["no service found: set services[].prometheus in the config"])
                return []
        plan: list[tuple[str, str, tuple[float, float]]] = []
        exprs: dict[tuple[str, str], str] = {}
        for name, sq in self.queries.items():
            rng = self._range_for(name, now)
            if rng is None:
                continue
            plan.extend((name, sig, rng) for sig in sq.all())
            exprs.update(((name, sig), e) for sig, e in sq.all().items())
        rt_plan: list[tuple[str, str, tuple[float, float]]] = []
        for name, (_, rt_queries) in self.runtime.items():
            rng = self._range_for(name, now, self._rt_cursor) if rt_queries else None
            if rng is not None:
                rt_plan.extend((name, sig, rng) for sig in rt_queries)
                exprs.update(((name, sig), e) for sig, e in rt_queries.items())
        if not plan and not rt_plan:
            return []
        t0 = time.monotonic()
        tasks = [
            self._run(self.client.query_range, exprs[(n, sig)], a, b, self.step)
            for n, sig, (a, b) in plan + rt_plan
        ]
        # the bucket-layout and runtime look-ups (rare) ride along with the range queries
        _, _, all_results = await asyncio.gather(
            self._refresh_layouts(now),
            self._refresh_runtime(now),
            asyncio.gather(*tasks, return_exceptions=True),
        )
        latency = time.monotonic() - t0
        results, rt_results = all_results[: len(plan)], all_results[len(plan) :]
        by_service: dict[str, dict[str, QueryResult]] = {}
        errors: dict[str, tuple[str, PrometheusError]] = {}  # service -> first failed query
        for (name, sig, _), res in zip(plan, results, strict=True):
            if isinstance(res, PrometheusError):
                errors.setdefault(name, (sig, res))
            elif isinstance(res, BaseException):
                raise res
            else:
                by_service.setdefault(name, {})[sig] = res
        ok = {n: a for n, a in by_service.items() if n not in errors}
        if errors and (not ok or any(e.state == "down" for _, e in errors.values())):
            # The server itself is failing (or nothing worked): back off, commit nothing.
            name, (sig, err) = next(iter(errors.items()))
            self._fail(err, name, sig)
            return []
        points: list[Point] = []
        warnings: list[str] = []
        for name, answers in ok.items():
            series = {sig: one_series(r, sig, name, warnings) for sig, r in answers.items()}
            for r in answers.values():
                warnings.extend(w for w in r.warnings if w not in warnings)
            points.extend(self._points(name, series))
            self._cursor[name] = next(rng[1] for n, _, rng in plan if n == name)
        # A service whose own query is refused (bad PromQL, too many samples) stays stale
        # and is named in the status; the others carry on without backoff.
        for name, (sig, err) in errors.items():
            warnings.append(f"{name} {sig.lstrip('_')}: {err.detail}")
        points.extend(self._runtime_points(rt_plan, rt_results, warnings))
        points.sort(key=lambda p: p.t)
        for p in points:
            self.store.add(p.service, p.signal, p.t, p.value, p.flags, source="prometheus")
        self._ok(latency, warnings)
        return points

    async def _refresh_layouts(self, now: float) -> None:
        """Look up each histogram's `le` bounds now and then; a failure keeps the old ones.

        The detector only uses them to know which bucket a P99 is in, so a miss costs some
        precision for a while, never a point.
        """
        due = [
            (name, sq.layout)
            for name, sq in self.queries.items()
            if sq.layout and now - self._layouts.get(name, (-math.inf, []))[0] >= LAYOUT_EVERY
        ]
        if not due:
            return
        results = await asyncio.gather(
            *(self._run(self.client.query, expr, now) for _, expr in due),
            return_exceptions=True,
        )
        for (name, _), res in zip(due, results, strict=True):
            if isinstance(res, QueryResult):
                bounds = sorted({_le(labels.get("le")) for labels, _ in res.series} - {math.inf})
                self._layouts[name] = (now, [b for b in bounds if math.isfinite(b)])
            elif isinstance(res, PrometheusError):  # keep what we had; look again in 30 s
                old = self._layouts.get(name, (0.0, []))[1]
                self._layouts[name] = (now - LAYOUT_EVERY + LAYOUT_RETRY, old)
            else:
                raise res

    def _points(self, name: str, series: dict[str, dict[float, float]]) -> list[Point]:
        total, top = series.get("_total", {}), series.get("_top", {})
        bounds = self._layouts.get(name, (0.0, []))[1]
        rw = float(self.cfg.rate_window)
        min_obs = self._detector(name).min_observations
        out: list[Point] = []
        info = self.store.services.get(name)
        for sig, values in series.items():
            if sig.startswith("_"):
                continue
            q = QUANTILE_SIGNALS.get(sig)
            for t, v in sorted(values.items()):
                if not math.isfinite(v):
                    continue  # NaN: no requests in the window; nothing to draw
                flags = 0
                obs = total.get(t)
                n = obs * rw if obs is not None and math.isfinite(obs) else None
                if q is not None:
                    if is_saturated(q, obs, top.get(t)):
                        flags |= FLAG_SATURATED
                    if n is not None and n < min_obs:
                        flags |= FLAG_LOW_CONFIDENCE
                bucket = bucket_of(v, bounds) if sig == "p99" and bounds else None
                out.append(Point(name, sig, t, v, flags, n, bucket))
        if info is not None and total:
            t_last = max(total)
            v_last = total[t_last]
            info.observations = v_last * rw if math.isfinite(v_last) else None
        return out

    def _detector(self, name: str) -> DetectorConfig:
        svc = self.cfg.service(name)
        return svc.detector if svc is not None and svc.detector else self.cfg.detector

    async def discover_services(self, now: float) -> None:
        """Add a service per job exposing a standard HTTP latency histogram (no config)."""
        names = "|".join(f"{m}_bucket" for m in DISCOVER_METRICS)
        res = await self._run(
            self.client.query, f'count by (job, __name__) ({{__name__=~"{names}"}})', now
        )
        found: dict[str, str] = {}
        for labels, _ in res.series:
            job, metric = labels.get("job"), labels.get("__name__", "")
            taken = self.store.services.get(job) if job else None
            if not job or job in found or (taken is not None and taken.source != "prometheus"):
                continue  # no job label, seen already, or the name is taken by an OTLP service
            found[job] = metric[: -len("_bucket")]
        for job in sorted(found)[: MAX_DISCOVERED - len(self.queries)]:
            if job in self.queries:
                continue
            escaped = job.replace("\\", "\\\\").replace('"', '\\"')
            svc = ServiceConfig(
                name=job,
                prometheus=ServicePrometheus(latency_histogram=f'{found[job]}{{job="{escaped}"}}'),
            )
            self.queries[job] = build_queries(svc, self.cfg.rate_window)
            self.discovered[job] = svc
            self.store.ensure_service(job, "prometheus")

    # -- one instant answer (snapshot)

    async def instant(self, t: float) -> dict[str, dict[str, tuple[float | None, int]]]:
        """Every signal of every service evaluated at `t`: {service: {signal: (value, flags)}}.

        Raises PrometheusError (after recording it in `status`) when the server fails.
        """
        plan = [(n, sig, expr) for n, sq in self.queries.items() for sig, expr in sq.all().items()]
        t0 = time.monotonic()
        results = await asyncio.gather(
            *(self._run(self.client.query, expr, t) for _, _, expr in plan),
            return_exceptions=True,
        )
        for (name, sig, _), res in zip(plan, results, strict=True):
            if isinstance(res, PrometheusError):
                self._fail(res, name, sig)
                raise res
            if isinstance(res, BaseException):
                raise res
        answers: dict[str, dict[str, float | None]] = {}
        warnings: list[str] = []
        for (name, sig, _), res in zip(plan, results, strict=True):
            assert isinstance(res, QueryResult)
            warnings.extend(w for w in res.warnings if w not in warnings)
            values = one_series(res, sig, name, warnings)
            answers.setdefault(name, {})[sig] = next(iter(values.values()), None)
        self._ok(time.monotonic() - t0, warnings)
        out: dict[str, dict[str, tuple[float | None, int]]] = {}
        for name, vals in answers.items():
            total, top = vals.get("_total"), vals.get("_top")
            row: dict[str, tuple[float | None, int]] = {}
            for sig, v in vals.items():
                if sig.startswith("_"):
                    continue
                q = QUANTILE_SIGNALS.get(sig)
                flags = FLAG_SATURATED if q is not None and is_saturated(q, total, top) else 0
                row[sig] = (v if v is not None and math.isfinite(v) else None, flags)
            out[name] = row
        return out

    # -- status

    def _ok(self, latency: float, warnings: list[str]) -> None:
        self.backoff.succeeded()
        self.warnings = warnings
        detail = f"warning: {'; '.join(warnings)}" if warnings else ""
        self.status.ok("up", detail, latency)
        self.status.counters["failures"] = 0
        self.status.counters["backoff_s"] = 0.0

    def _fail(self, err: PrometheusError, service: str, signal: str) -> None:
        self.backoff.failed()
        what = "" if err.state == "down" else f" ({service} {signal.lstrip('_')})"
        state: State = "down" if err.state == "down" else "error"
        self.status.failed(f"{err.detail}{what}", state)
        self.status.counters["failures"] = self.failures
        self.status.counters["backoff_s"] = self.next_delay()


def _le(raw: str | None) -> float:
    """An `le` label as a number; inf for +Inf and for anything that is not one."""
    try:
        return float(raw) if raw is not None else math.inf
    except ValueError:
        return math.inf
