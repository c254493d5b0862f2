"""The PromQL of a Prometheus service: its selector (the `/debug/` exclusion included), the
per-signal expressions (`histogram_quantile(q, sum by (le) (rate(SEL_bucket[RW])))`, qps, error
ratio, and the two saturation aggregates), and the step a window is tailed on.

Saturation ("≥ bound"): Prometheus answers the highest finite bound when the quantile's rank
falls in the +Inf bucket, i.e. when `q * total > count(highest finite bucket)`. Two extra
server-side aggregates per service give exactly those terms — `sum(rate(SEL_bucket{le="+Inf"}))`
and `max(sum by (le) (rate(SEL_bucket{le!="+Inf"})))` (cumulative buckets: the max is the
highest finite bucket, after Prometheus' own monotonicity fix); the source compares them.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from tui.config import ServiceConfig
from tui.core.metrics import go_runtime
from tui.core.metrics.store import QUANTILE_SIGNALS

MAX_POINTS = 11_000  # Prometheus refuses range queries with more points per series
_METRIC_RE = re.compile(r"^\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\{(.*)\})?\s*$", re.DOTALL)


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
