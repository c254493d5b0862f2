"""The metric store: what every source writes and every view reads.

One `Ring` per (service, signal). The number of series is capped; series beyond the cap are
refused and counted in `dropped`, which the UI shows, so a label explosion cannot eat memory.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tui.core.metrics.exemplars import ExemplarLog
from tui.core.metrics.ring import Ring

SIGNALS = ("p50", "p95", "p99", "qps", "error_ratio")
QUANTILE_SIGNALS = {"p50": 0.5, "p95": 0.95, "p99": 0.99}

RETENTION = 6 * 3600.0  # seconds kept per series: the widest dashboard zoom

FLAG_SATURATED = 1  # the quantile landed in the +Inf bucket: value is the highest finite bound
FLAG_LOW_CONFIDENCE = 2  # too few observations in the window for the quantile to mean much


def retention_capacity(refresh: float, span: float = RETENTION) -> int:
    """Points a series needs to hold `span` seconds at one point per `refresh` seconds.

    Memory is then fixed by configuration: 200 series at 1 s refresh keep 6 h in about
    100 MB (17 bytes a point), however long warroom runs.
    """
    return max(64, int(span / max(refresh, 0.01)) + 1)


@dataclass
class ServiceInfo:
    name: str
    source: str  # "prometheus" | "otlp"
    unit: str = "s"  # latencies are stored in seconds
    labels: dict[str, str] = field(default_factory=dict)  # e.g. version, namespace
    last_update: float | None = None  # unix time of the newest point from its source
    observations: float | None = None  # requests counted in the newest window, when known
    p99_bucket: tuple[float, float] | None = None  # (lower, upper] of the bucket holding p99


class MetricStore:
    def __init__(self, capacity: int = 3600, max_series: int = 2000):
        self.capacity = capacity
        self.max_series = max_series
        self.dropped = 0  # series refused because of max_series
        self.services: dict[str, ServiceInfo] = {}
        self._series: dict[tuple[str, str], Ring] = {}
        self.exemplars = ExemplarLog()  # slow requests' trace ids, bounded per service

    def ensure_service(self, name: str, source: str) -> ServiceInfo | None:
        """Register a service (None when the series cap would be exceeded)."""
        info = self.services.get(name)
        if info is None:
            if len(self._series) + len(SIGNALS) > self.max_series:
                self.dropped += 1
                return None
            info = self.services[name] = ServiceInfo(name=name, source=source)
        return info

    def add(
        self,
        service: str,
        signal: str,
        t: float,
        value: float,
        flags: int = 0,
        source: str = "otlp",
    ) -> bool:
        """Append one point; False when refused by the series cap."""
        ring = self._series.get((service, signal))
        if ring is None:
            if self.ensure_service(service, source) is None:
                return False
            if len(self._series) >= self.max_series:
                self.dropped += 1
                return False
            ring = self._series[(service, signal)] = Ring(self.capacity)
        ring.append(t, value, flags)
        info = self.services[service]
        if info.last_update is None or t > info.last_update:
            info.last_update = t
        return True

    def clear(self) -> None:
        """Forget every series (a replay scrubbing backwards rebuilds from the start)."""
        self.services.clear()
        self._series.clear()
        self.exemplars.clear()
        self.dropped = 0

    def series(self, service: str, signal: str) -> Ring | None:
        return self._series.get((service, signal))

    def latest(self, service: str, signal: str) -> tuple[float, float, int] | None:
        ring = self._series.get((service, signal))
        return ring.last() if ring is not None else None

    def names(self) -> list[str]:
        return sorted(self.services)

    @property
    def series_count(self) -> int:
        return len(self._series)

    @property
    def nbytes(self) -> int:
        return sum(r.nbytes for r in self._series.values())
