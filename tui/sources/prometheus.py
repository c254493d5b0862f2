"""Prometheus source: tail per-service latency quantiles, QPS and error ratio over the HTTP API.

The PromQL engine does the aggregation (`histogram_quantile(q, sum by (le) (rate(SEL_bucket[RW])))`)
so a Thanos or Mimir backend scales it; warroom only reads one series per signal.

Tailing: the first refresh fetches the whole `window` with `/api/v1/query_range`; later refreshes
ask only for the steps after the last one received and append them. Steps sit on a fixed grid
(multiples of `step`), so successive requests line up and never overlap. `step` is `refresh`,
raised when needed so that a window never exceeds Prometheus' 11,000 points per series.

Saturation ("≥ bound"): Prometheus answers the highest finite bound when the quantile's rank
falls in the +Inf bucket, i.e. when `q * total > count(highest finite bucket)`. Two extra
server-side aggregates per service give exactly those terms — `sum(rate(SEL_bucket{le="+Inf"}))`
and `max(sum by (le) (rate(SEL_bucket{le!="+Inf"})))` (cumulative buckets: the max is the
highest finite bucket, after Prometheus' own monotonicity fix) — and the comparison is done
here, in the same float64 arithmetic Prometheus uses. The +Inf rate also gives the number of
observations in the window, which marks low-confidence quantiles.

Go runtime signals (GC pause, scheduler latency, goroutines, heap, GC CPU; see
tui.core.metrics.go_runtime): a probe now and then asks which runtime series the processes
exporting a service's histogram have; the chosen expressions are then tailed like the latency
signals, on their own cursor, into the same store under `go.*` signal names. A service with no
Go runtime series gets no such query and no such series.

Faults (unreachable, timeout, HTTP errors, non-JSON, wrong shape, `status: error`) never raise
out of `refresh`: they go to `status` (with `stale_since`) and the next refresh is delayed by a
capped exponential backoff; the first good answer clears it, with no restart.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
import ssl
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from tui.config import (
    Config,
    DetectorConfig,
    PrometheusConfig,
    ServiceConfig,
    ServicePrometheus,
)
from tui.core.metrics import go_runtime
from tui.core.metrics.quantile import Bucket, bucket_of, is_saturated
from tui.core.metrics.store import (
    FLAG_LOW_CONFIDENCE,
    FLAG_SATURATED,
    QUANTILE_SIGNALS,
    MetricStore,
)
from tui.errors import UserError
from tui.sources.base import Backoff, SourceStatus, State

MAX_POINTS = 11_000  # Prometheus refuses range queries with more points per series
MAX_CONCURRENT = 4  # queries in flight at once against one server
DISCOVER_METRICS = ("http_server_request_duration_seconds", "http_request_duration_seconds")
DISCOVERY_EVERY = 60.0  # seconds between looks for new jobs when discovering
LAYOUT_EVERY = 300.0  # seconds between looks at a histogram's bucket bounds (rarely change)
LAYOUT_RETRY = 30.0  # seconds before looking again after a failed look
MAX_DISCOVERED = 50
BACKOFF_CAP = 60.0  # seconds; never wait longer than this between attempts

_METRIC_RE = re.compile(r"^\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\{(.*)\})?\s*$", re.DOTALL)


class PrometheusError(Exception):
    """A failed query, with a one-line `detail` for the status bar and the source `state`."""

    def __init__(self, detail: str, state: str = "down"):
        super().__init__(detail)
        self.detail = detail
        self.state = state


# --- PromQL construction -----------------------------------------------------------------


def split_selector(latency_histogram: str) -> tuple[str, str]:
    """`name{a="b"}` -> (`name`, `a="b"`). Raise ValueError when it is not that shape."""
    m = _METRIC_RE.match(latency_histogram)
    if not m:
        raise ValueError(
            f"{latency_histogram!r} is not a histogram metric name with an optional "
            '{label selector}, e.g. http_request_duration_seconds{job="api"}'
        )
    name, inner = m.group(1), (m.group(3) or "").strip().rstrip(",").strip()
    if name.endswith("_bucket"):  # accept the bucket series name too
        name = name[: -len("_bucket")]
    return name, inner


DEBUG_LABELS = ("handler", "route", "path")  # client_golang, Prometheus, common middlewares


def without_debug(inner: str) -> str:
    """The selector with `L!~"/debug/.*"` for each usual path label, unless it already
    matches on one (the user chose the handlers). A series without the label is kept: its
    empty value matches no /debug/."""
    named = set(re.findall(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=|!=|=~|!~)", inner))
    if named & set(DEBUG_LABELS):
        return inner
    extra = [f'{label}!~"/debug/.*"' for label in DEBUG_LABELS]
    return ",".join(m for m in (inner, *extra) if m)


def _series(name: str, inner: str, *extra: str) -> str:
    matchers = [m for m in (inner, *extra) if m]
    return f"{name}{{{','.join(matchers)}}}" if matchers else name


def promql_duration(seconds: float) -> str:
    """Seconds -> PromQL duration literal (whole seconds when possible, else ms)."""
    ms = round(seconds * 1000)
    return f"{ms // 1000}s" if ms % 1000 == 0 else f"{ms}ms"


@dataclass(frozen=True)
class ServiceQueries:
    """Every PromQL expression warroom evaluates for one service."""

    service: str
    quantiles: dict[str, str]  # signal -> histogram_quantile(...)
    total: str  # rate of the +Inf bucket: observations per second
    top_finite: str  # rate of the highest finite bucket
    qps: str
    error_ratio: str | None
    layout: str = ""  # the bucket bounds (`le` values) the histogram has, for the detector
    targets: str = ""  # the (job, instance) pairs exporting the histogram: its Go processes

    def all(self) -> dict[str, str]:
        out = dict(self.quantiles)
        out["_total"] = self.total
        out["_top"] = self.top_finite
        out["qps"] = self.qps
        if self.error_ratio:
            out["error_ratio"] = self.error_ratio
        return out


def service_selector(svc: ServiceConfig) -> tuple[str, str]:
    """(histogram name, label matchers) warroom reads for `svc`, the `/debug/` exclusion
    applied: the per-service queries and the route view select the same requests."""
    assert svc.prometheus is not None
    name, inner = split_selector(svc.prometheus.latency_histogram)
    if svc.prometheus.exclude_debug:
        inner = without_debug(inner)
    return name, inner


def build_queries(svc: ServiceConfig, rate_window: float) -> ServiceQueries:
    assert svc.prometheus is not None
    name, inner = service_selector(svc)
    rw = promql_duration(rate_window)
    bucket = _series(f"{name}_bucket", inner)
    quantiles = {
        sig: f"histogram_quantile({q}, sum by (le) (rate({bucket}[{rw}])))"
        for sig, q in QUANTILE_SIGNALS.items()
    }
    inf_bucket = _series(f"{name}_bucket", inner, 'le="+Inf"')
    finite_buckets = _series(f"{name}_bucket", inner, 'le!="+Inf"')
    total = f"sum(rate({inf_bucket}[{rw}]))"
    top = f"max(sum by (le) (rate({finite_buckets}[{rw}])))"
    qps = svc.prometheus.qps or f"sum(rate({_series(name + '_count', inner)}[{rw}]))"
    layout = f"count by (le) ({bucket})"
    targets = go_runtime.target_set(bucket)
    return ServiceQueries(
        svc.name, quantiles, total, top, qps, svc.prometheus.error_ratio, layout, targets
    )


def choose_step(refresh: float, window: float) -> float:
    """The refresh period, raised so that `window` holds at most MAX_POINTS steps."""
    step = float(refresh)
    if window / step + 1 > MAX_POINTS:
        step = float(math.ceil(window / (MAX_POINTS - 1)))
    return step


# --- HTTP client -------------------------------------------------------------------------


def _ssl_context(cfg: PrometheusConfig) -> ssl.SSLContext | bool:
    tls = cfg.tls
    if not cfg.url.startswith("https://"):
        return True
    try:
        ctx = ssl.create_default_context(cafile=tls.ca_file)
        if tls.cert_file:
            ctx.load_cert_chain(tls.cert_file, tls.key_file)
    except (OSError, ssl.SSLError) as exc:
        what = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        files = ", ".join(f for f in (tls.ca_file, tls.cert_file, tls.key_file) if f)
        raise UserError(f"prometheus.tls: cannot load {files}: {what}") from None
    if tls.insecure_skip_verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


def _parse_value(raw: Any) -> float:
    """A sample value: a string ("1.5", "NaN", "+Inf", "-Inf") per the API, or a number."""
    if isinstance(raw, bool):
        raise ValueError("boolean sample value")
    if isinstance(raw, (int, float)):
        return float(raw)
    if isinstance(raw, str):
        return float(raw)  # Python's float() reads NaN, +Inf, -Inf exactly as Prometheus writes
    raise ValueError(f"sample value {raw!r} is not a string")


@dataclass
class QueryResult:
    series: list[tuple[dict[str, str], list[tuple[float, float]]]]
    warnings: list[str] = field(default_factory=list)


class PrometheusClient:
    """Thin async client for /api/v1/query and /api/v1/query_range, with auth, TLS, timeouts.

    Queries are POSTed as a form so PromQL of any length fits. Every failure is raised as
    PrometheusError with a status-bar line; nothing else escapes.
    """

    def __init__(self, cfg: PrometheusConfig):
        self.cfg = cfg
        self.base = cfg.url.rstrip("/")
        headers = dict(cfg.headers)
        auth: httpx.Auth | None = None
        if cfg.bearer_token is not None:
            headers["Authorization"] = f"Bearer {cfg.bearer_token.reveal()}"
        if cfg.basic_auth is not None:
            auth = httpx.BasicAuth(cfg.basic_auth.username, cfg.basic_auth.password.reveal())
        # A certificate that cannot be loaded is reported by every query (status bar, snapshot
        # error) rather than raised here, so the dashboard still opens and says why.
        self.setup_error: str | None = None
        try:
            verify = _ssl_context(cfg)
        except UserError as exc:
            self.setup_error, verify = str(exc), True
        self._kwargs: dict[str, Any] = {
            "headers": headers,
            "auth": auth,
            "timeout": httpx.Timeout(float(cfg.timeout)),
            "verify": verify,
            "follow_redirects": True,
        }
        self._client: httpx.AsyncClient | None = None

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(**self._kwargs)
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def query(self, promql: str, t: float) -> QueryResult:
        return await self._post("/api/v1/query", {"query": promql, "time": _fmt_time(t)})

    async def query_range(self, promql: str, start: float, end: float, step: float) -> QueryResult:
        form = {
            "query": promql,
            "start": _fmt_time(start),
            "end": _fmt_time(end),
            "step": f"{step:g}",
        }
        return await self._post("/api/v1/query_range", form)

    async def query_exemplars(self, promql: str, start: float, end: float) -> Any:
        """`/api/v1/query_exemplars`: the answer's `data` as sent (a list of series)."""
        form = {"query": promql, "start": _fmt_time(start), "end": _fmt_time(end)}
        data, _ = await self._answer("/api/v1/query_exemplars", form)
        return data

    async def _post(self, path: str, form: dict[str, str]) -> QueryResult:
        data, warnings = await self._answer(path, form)
        try:
            return QueryResult(_parse_data(data), warnings)
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise PrometheusError(f"unexpected answer shape: {exc}", "error") from None

    async def _answer(self, path: str, form: dict[str, str]) -> tuple[Any, list[str]]:
        """POST `form` to `path`: the answer's data and warnings, or PrometheusError."""
        if self.setup_error:
            raise PrometheusError(self.setup_error, "error")
        try:
            resp = await self._http().post(self.base + path, data=form)
        except httpx.TimeoutException:
            raise PrometheusError(f"timeout after {float(self.cfg.timeout):g}s") from None
        except httpx.ConnectError as exc:
            text = str(exc) or type(exc).__name__
            if "SSL" in text or "CERTIFICATE" in text.upper():
                raise PrometheusError(f"TLS error: {text}", "error") from None
            raise PrometheusError(f"unreachable: {text}") from None
        except httpx.HTTPError as exc:
            text = str(exc) or type(exc).__name__
            if "SSL" in text:
                raise PrometheusError(f"TLS error: {text}", "error") from None
            raise PrometheusError(f"{type(exc).__name__}: {text}") from None
        except ssl.SSLError as exc:  # TLS 1.3 refusals can surface on the first read, unwrapped
            raise PrometheusError(f"TLS error: {exc}", "error") from None
        except OSError as exc:
            raise PrometheusError(f"connection error: {exc}") from None
        try:
            body = resp.json()
        except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
            snippet = resp.text[:60].replace("\n", " ") if resp.content else "empty body"
            if resp.status_code >= 400:
                raise PrometheusError(f"HTTP {resp.status_code}: {snippet}") from None
            raise PrometheusError(f"garbage answer (not JSON): {snippet!r}", "error") from None
        if not isinstance(body, dict) or body.get("status") not in ("success", "error"):
            raise PrometheusError("unexpected answer: no status field", "error")
        if body["status"] == "error":
            kind = body.get("errorType", "error")
            msg = str(body.get("error", "")).replace("\n", " ")
            prefix = f"HTTP {resp.status_code}: " if resp.status_code >= 400 else ""
            state = "down" if resp.status_code >= 500 or kind == "unavailable" else "error"
            raise PrometheusError(f"{prefix}{kind}: {msg}", state)
        if resp.status_code >= 400:
            raise PrometheusError(f"HTTP {resp.status_code}")
        warnings = body.get("warnings") or []
        if "data" not in body:
            raise PrometheusError("unexpected answer shape: no data", "error")
        return body["data"], [str(w) for w in warnings] if isinstance(warnings, list) else []


def _fmt_time(t: float) -> str:
    return f"{t:.3f}"


def _parse_data(data: Any) -> list[tuple[dict[str, str], list[tuple[float, float]]]]:
    """matrix / vector / scalar -> [(labels, [(t, v), ...])], validating as it goes."""
    if not isinstance(data, dict):
        raise TypeError("data is not an object")
    kind, result = data["resultType"], data["result"]
    if kind == "scalar":
        return [({}, [(float(result[0]), _parse_value(result[1]))])]
    if kind not in ("matrix", "vector"):
        raise ValueError(f"resultType {kind!r}")
    if not isinstance(result, list):
        raise TypeError("result is not a list")
    out = []
    for item in result:
        labels = item["metric"]
        if not isinstance(labels, dict):
            raise TypeError("metric is not an object")
        raw = item["values"] if kind == "matrix" else [item["value"]]
        if not isinstance(raw, list):
            raise TypeError("values is not a list")
        points = []
        for pair in raw:
            if not isinstance(pair, list) or len(pair) != 2:
                raise TypeError("a sample is not [time, value]")
            points.append((float(pair[0]), _parse_value(pair[1])))
        out.append(({str(k): str(v) for k, v in labels.items()}, points))
    return out


def refresh_backoff(refresh: float) -> Backoff:
    """Prometheus' backoff: `refresh`, then from twice it doubling per failure up to 16 times
    it, never over BACKOFF_CAP (the route view's poller waits the same)."""
    return Backoff(refresh, 2 * refresh, min(BACKOFF_CAP, 16 * refresh))


# --- the source --------------------------------------------------------------------------


@dataclass
class Point:
    service: str
    signal: str
    t: float
    value: float
    flags: int = 0
    observations: float | None = None  # requests in the rate window at t, when known
    bucket: Bucket | None = None  # (lower, upper] holding a p99, when known


class PrometheusSource:
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

    async def _run(self, fn: Any, *args: Any) -> QueryResult:
        """Call `fn(*args)` under the concurrency limit (created inside, so a cancelled wait
        leaves no coroutine un-awaited)."""
        async with self._sem:
            result: QueryResult = await fn(*args)
            return result

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
            series = {sig: _one_series(r, sig, name, warnings) for sig, r in answers.items()}
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

    async def _refresh_runtime(self, now: float) -> None:
        """Probe which Go runtime series each service's processes export: every LAYOUT_EVERY
        once found, every DISCOVERY_EVERY while there are none (a service deployed later),
        LAYOUT_RETRY after a failure (the old choice is kept)."""
        due = []
        for name, sq in self.queries.items():
            probed, found = self.runtime.get(name, (-math.inf, {}))
            every = LAYOUT_EVERY if found else DISCOVERY_EVERY
            if sq.targets and now - probed >= every:
                due.append((name, sq.targets))
        if not due or not self.with_runtime:
            return
        results = await asyncio.gather(
            *(self._run(self.client.query, go_runtime.probe_query(ts), now) for _, ts in due),
            return_exceptions=True,
        )
        rw = float(self.cfg.rate_window)
        for (name, targets), res in zip(due, results, strict=True):
            if isinstance(res, QueryResult):
                names = [labels.get("__name__", "") for labels, _ in res.series]
                chosen = go_runtime.queries(go_runtime.choose(names), targets, rw)
                old = self.runtime.get(name, (0.0, {}))[1]
                if chosen != old:
                    self._rt_cursor.pop(name, None)  # new expressions: fetch their whole window
                self.runtime[name] = (now, chosen)
            elif isinstance(res, PrometheusError):
                old = self.runtime.get(name, (0.0, {}))[1]
                self.runtime[name] = (now - DISCOVERY_EVERY + LAYOUT_RETRY, old)
            else:
                raise res

    def _runtime_points(
        self,
        plan: list[tuple[str, str, tuple[float, float]]],
        results: list[Any],
        warnings: list[str],
    ) -> list[Point]:
        """Store the runtime answers of the services whose runtime queries all succeeded; a
        refused one is a warning and its service's runtime cursor stays put (retried next)."""
        answers: dict[str, dict[str, QueryResult]] = {}
        failed: dict[str, tuple[str, PrometheusError]] = {}
        for (name, sig, _), res in zip(plan, results, strict=True):
            if isinstance(res, PrometheusError):
                failed.setdefault(name, (sig, res))
            elif isinstance(res, BaseException):
                raise res
            else:
                answers.setdefault(name, {})[sig] = res
        out: list[Point] = []
        for name, by_sig in answers.items():
            if name in failed:
                continue
            for sig, res in by_sig.items():
                for t, v in sorted(_one_series(res, sig, name, warnings).items()):
                    if math.isfinite(v):  # NaN: no GC (or no request) in the window
                        out.append(Point(name, sig, t, v))
            self._rt_cursor[name] = next(rng[1] for n, _, rng in plan if n == name)
        for name, (sig, err) in failed.items():
            warnings.append(f"{name} {sig}: {err.detail}")
        return out

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
            values = _one_series(res, sig, name, warnings)
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

    async def instant_runtime(self, t: float) -> dict[str, dict[str, float | None]]:
        """Each service's Go runtime signals at `t`: {service: {go.* signal: value}}, only for
        services that export them. Best effort: a refused probe or query leaves that signal
        (or service) out; the latency answer of `instant` is what must not fail."""
        services = [(n, sq.targets) for n, sq in self.queries.items() if sq.targets]
        probes = await asyncio.gather(
            *(self._run(self.client.query, go_runtime.probe_query(ts), t) for _, ts in services),
            return_exceptions=True,
        )
        plan: list[tuple[str, str, str]] = []
        for (name, targets), res in zip(services, probes, strict=True):
            if isinstance(res, QueryResult):
                names = [labels.get("__name__", "") for labels, _ in res.series]
                chosen = go_runtime.choose(names)
                rw = float(self.cfg.rate_window)
                plan.extend(
                    (name, k, e) for k, e in go_runtime.queries(chosen, targets, rw).items()
                )
            elif not isinstance(res, PrometheusError):
                raise res
        answers = await asyncio.gather(
            *(self._run(self.client.query, expr, t) for _, _, expr in plan),
            return_exceptions=True,
        )
        out: dict[str, dict[str, float | None]] = {}
        for (name, key, _), res in zip(plan, answers, strict=True):
            if isinstance(res, QueryResult):
                values = _one_series(res, key, name, [])
                v = next(iter(values.values()), None)
                out.setdefault(name, {})[key] = v if v is not None and math.isfinite(v) else None
            elif not isinstance(res, PrometheusError):
                raise res
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


def _one_series(
    res: QueryResult, signal: str, service: str, warnings: list[str]
) -> dict[float, float]:
    """The answer's single series as {t: v}.

    The built-in expressions aggregate to one series; a user's PromQL might not. For qps the
    series are summed (per-instance rates add up); for anything else the first is kept and a
    warning says so, since ratios do not add.
    """
    series = sorted(res.series, key=lambda s: sorted(s[0].items()))
    if len(series) > 1 and signal != "qps":
        warnings.append(
            f"{service} {signal}: query returned {len(series)} series, "
            "showing the first; aggregate it to one"
        )
        series = series[:1]
    out: dict[float, float] = {}
    for _, pts in series:
        for t, v in pts:
            out[t] = out[t] + v if t in out else v
    return out
