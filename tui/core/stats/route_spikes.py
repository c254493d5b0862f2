"""The P99 spike detector per route: the service's detector (tui.core.stats.spikes), one series
per row of the route view, so "which route spiked" has the same answer as "did it spike".

Bounded: only the rows of the view are judged (the top routes by traffic and "other"), and
detector state is kept for at most `keep` routes; a route gone longest from the view is
forgotten first. Points are fed in time order and each only once, so the first refresh warms
the detectors up on the window's history and later ones judge only the new points. The request
count behind a point (QPS x rate window) makes a quiet route's points low-confidence, as the
service's are.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from typing import TYPE_CHECKING

from tui.core.metrics.routes import TOP_ROUTES, RouteRow
from tui.core.stats.spikes import SpikeEvent, SpikeTracker

if TYPE_CHECKING:
    from tui.config import DetectorConfig


class RouteSpikes:
    """Feed every refresh's rows to `observe`; each row's `state` is then its detector's."""

    def __init__(
        self, detector: DetectorConfig, rate_window: float, keep: int = 2 * (TOP_ROUTES + 1)
    ) -> None:
        self.tracker = SpikeTracker(detector)
        self.rate_window = rate_window
        self.keep = keep
        self._seen: OrderedDict[str, float] = OrderedDict()  # route -> newest t judged

    def observe(self, rows: list[RouteRow]) -> list[SpikeEvent]:
        """Judge the rows' new P99 points; set each row's `state`; return the transitions."""
        events: list[SpikeEvent] = []
        for row in rows:
            last = self._seen.pop(row.route, -math.inf)
            p95 = dict(row.series.get("p95", []))
            qps = dict(row.series.get("qps", []))
            for t, v in row.series.get("p99", []):
                if t <= last:
                    continue
                last = t
                rate = qps.get(t)
                seen = rate * self.rate_window if rate is not None and rate == rate else None
                ev = self.tracker.observe(row.route, t, v, observations=seen, p95=p95.get(t))
                if ev is not None:
                    events.append(ev)
            self._seen[row.route] = last  # most recently shown last
            row.state = self.tracker.state(row.route)
        while len(self._seen) > self.keep:
            gone, _ = self._seen.popitem(last=False)
            self.tracker.forget(gone)
        return events

    def state(self, route: str) -> str:
        return self.tracker.state(route)
