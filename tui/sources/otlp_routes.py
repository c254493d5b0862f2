"""The route view of an OTLP service: its `http.route` breakdown, read from the OTLP sink.

The pushes already carry every route's buckets, so nothing is fetched: `refresh` reads the
rows the sink keeps for the service (tui.core.metrics.otlp_routes: the top routes by traffic
and one counted "other" row, with the window's history), ranks them like the Prometheus view,
runs the per-route spike detectors and attaches the slowest exemplars the pushes carried.
Same interface as RoutesPoller: `refresh(now) -> RouteView`, `next_delay()`, `backoff`,
`status`.
"""

from __future__ import annotations

import math
import time
from typing import Any

from tui.core.baseline.route_samples import route_line
from tui.core.metrics.otlp_routes import NO_ROUTE, ROUTE_ATTRIBUTES
from tui.core.metrics.routes import rank
from tui.core.stats.route_spikes import RouteSpikes
from tui.sources.base import Backoff, SourceStatus
from tui.sources.routes import RouteView, decorate

LABEL = "http.route"


class OTLPRoutesPoller:
    """Reads one OTLP service's routes from the sink, once per refresh."""

    def __init__(self, sink: Any, service: str) -> None:
        self.sink = sink
        self.service = service
        cfg = sink.cfg
        svc = cfg.service(service)
        detector = svc.detector if svc is not None and svc.detector else cfg.detector
        self.refresh_s = float(cfg.refresh)
        self.window = float(cfg.window)
        self.spikes = RouteSpikes(detector, float(cfg.rate_window))
        self.status = SourceStatus(name=f"routes/{service}")
        self.failures = 0
        self.view = RouteView(service)
        self.backoff = Backoff.fixed(self.refresh_s)  # reading the sink cannot fail

    def next_delay(self) -> float:
        return self.backoff.delay()

    async def refresh(self, now: float | None = None) -> RouteView:
        now = time.time() if now is None else now
        view = self._read(now)
        if view.error:
            self.status.failed(view.error, "error")
        else:
            self.status.ok("up", f"{len(view.rows)} rows, {view.routes} routes")
        self.view = view
        return view

    def _read(self, now: float) -> RouteView:
        view = breakdown_view(self.sink, self.service, now)
        if view.error:
            return view
        return decorate(view, self.spikes, self.sink.store.exemplars, now - self.window)


def breakdown_view(sink: Any, service: str, now: float) -> RouteView:
    """The service's ranked rows as the sink keeps them (the window's history of the top
    routes and "other"), or a view whose `error` says why there are none."""
    breakdown = sink.route_breakdown(service)
    if breakdown is None or not breakdown.history:
        why = (
            f"{service}: no per-route data yet (routes come from explicit-bucket "
            f"latency histograms pushed over OTLP, by {' or '.join(ROUTE_ATTRIBUTES)})"
        )
        return RouteView(service, error=why, t=now)
    rows = breakdown.rows()
    if rows and all(r.route == NO_ROUTE for r in rows):
        why = (
            f"{service}: its latency histogram's points carry no "
            f"{' or '.join(ROUTE_ATTRIBUTES)} attribute"
        )
        return RouteView(service, error=why, t=now)
    return RouteView(
        service, LABEL, rank(rows), breakdown.routes_now, breakdown.other_now, breakdown.t
    )


def new_route_lines(sink: Any, services: list[str], seen: dict[str, float]) -> list[dict[str, Any]]:
    """`{"type": "routes"}` recording lines (tui.core.baseline.route_samples) of the OTLP
    services whose breakdown has a tick newer than `seen[service]` (updated)."""
    out = []
    for name in services:
        breakdown = sink.route_breakdown(name)
        if breakdown is None or breakdown.t <= seen.get(name, -math.inf):
            continue
        seen[name] = breakdown.t
        view = breakdown_view(sink, name, breakdown.t)
        if view.error is None and view.rows:
            out.append(route_line(view.t, name, view.label, view.routes, view.other, view.rows))
    return out
