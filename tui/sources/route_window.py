"""A service's per-route samples over one window, for a baseline or a check: the route view's
rows cut to [start, end] (tui.core.baseline.route_samples). The same code serves `warroom
baseline refresh`, `check --by route` and the dashboard's `b`, so all three store the same.

Prometheus: the route view's range queries (`RoutesPoller.fetch`); a fault raises
PrometheusError, a histogram without a route label is `error`. OTLP: the sink's own history
of the service's `http.route` breakdown (one window of ticks), nothing fetched. Both carry
each route's finite-bucket rate (`_top`), so saturated samples are counted.
"""

from __future__ import annotations

from typing import Any

from tui.core.baseline.route_samples import RouteSamples, samples_of_rows
from tui.core.metrics.routes import saturated_counts
from tui.sources.otlp_routes import breakdown_view
from tui.sources.routes import RoutesPoller, RouteView


async def prometheus_route_samples(
    source: Any, service: str, start: float, end: float
) -> RouteSamples:
    """The route view of `service` fetched at `end`, cut to [start, end]."""
    view = await RoutesPoller(source, service).fetch(end)
    return _samples(view, start, end)


def otlp_route_samples(sink: Any, service: str, start: float, end: float) -> RouteSamples:
    """The sink's breakdown of `service` (its top routes and "other"), cut to [start, end]."""
    return _samples(breakdown_view(sink, service, end), start, end)


async def route_samples(
    prometheus: Any, sink: Any, service: str, start: float, end: float
) -> RouteSamples:
    """Whichever source serves `service`: Prometheus when it has queries for it, else the
    OTLP sink, else a RouteSamples whose `error` says there is neither."""
    if prometheus is not None and prometheus.service_config(service) is not None:
        return await prometheus_route_samples(prometheus, service, start, end)
    if sink is not None:
        return otlp_route_samples(sink, service, start, end)
    return RouteSamples(error=f"{service}: no live source to break down by route")


def _samples(view: RouteView, start: float, end: float) -> RouteSamples:
    """The rows cut to [start, end], with their saturated-sample counts (both sources' rows
    carry the `_top` series those need)."""
    if view.error is not None:
        return RouteSamples(error=view.error)
    return RouteSamples(
        label=view.label,
        routes=samples_of_rows(view.rows, start, end),
        other=view.other,
        saturated={r.route: saturated_counts(r, start, end) for r in view.rows},
    )
