"""The service table's rows, computed from the store: one `RowState` per service with its
series over the window, the newest value, QPS, error ratio and the state the table shows.

No widget state and no drawing here: tui/ui/widgets/service_lines.py turns a RowState into
cells, tui/ui/widgets/service_table.py shows them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from tui.core.metrics.store import FLAG_SATURATED, MetricStore


@dataclass
class RowState:
    """What one row shows, computed from the store (no widget state)."""

    name: str
    t: np.ndarray
    v: np.ndarray
    f: np.ndarray
    value: float | None
    saturated: bool
    qps: float | None
    error_ratio: float | None
    state: str  # "ok", "SLO", "stale", "no data", or the spike detector's state
    level: str  # "ok" | "warn" | "bad" | "" (no SLO) for the value colour
    err_level: str
    spike_times: list[float] = field(default_factory=list)
    releases: list[tuple[float, str]] = field(default_factory=list)  # (t, version): a │
    labels: dict[str, str] = field(default_factory=dict)  # the store's, e.g. version

    def matches(self, needle: str, more_labels: dict[str, str] | None = None) -> bool:
        """`needle` (lower case) in the name or in one `label=value`."""
        if needle in self.name.lower():
            return True
        labels = {**self.labels, **(more_labels or {})}
        return any(needle in f"{k}={v}".lower() for k, v in labels.items())


WINDOWS = (300.0, 900.0, 3600.0, 21600.0)  # the zoom levels a row can be built over
SIGNALS = ("p50", "p95", "p99")  # the latency signal the sparkline and value show
_SLO_WARN = 0.8  # at 80% of the SLO the value turns to the warning colour


def _level(value: float | None, limit: float | None) -> str:
    if value is None or limit is None:
        return ""
    if value > limit:
        return "bad"
    if value > _SLO_WARN * limit:
        return "warn"
    return "ok"


def build_rows(
    store: MetricStore,
    services: Iterable[tuple[str, float | None, float | None]],
    signal: str,
    window: float,
    now: float,
    stale_after: float,
    states: dict[str, str] | None = None,
    spikes: dict[str, list[float]] | None = None,
    releases: dict[str, list[tuple[float, str]]] | None = None,
) -> list[RowState]:
    """One RowState per (name, slo_p99, slo_error_ratio), in the given order."""
    rows = []
    t0 = now - window - 60  # a little extra so the first cell is full
    for name, slo_p99, slo_err in services:
        ring = store.series(name, signal)
        if ring is not None:
            t, v, f = ring.since(t0)
        else:
            t, v, f = np.zeros(0), np.zeros(0), np.zeros(0, dtype=np.uint8)
        last = store.latest(name, signal)
        info = store.services.get(name)
        value = saturated = None
        if last is not None:
            value, saturated = last[1], bool(last[2] & FLAG_SATURATED)
        q = store.latest(name, "qps")
        e = store.latest(name, "error_ratio")
        qps = q[1] if q else None
        err = e[1] if e else None
        updated = info.last_update if info else None
        if last is None:
            state = "no data"
        elif updated is not None and now - updated > stale_after:
            state = "stale"
        elif states and states.get(name) not in (None, "OK"):
            state = states[name]
        elif saturated:
            state = "SATURATED"  # the quantile is only a lower bound: never "ok"
        elif (
            slo_p99 is not None and signal == "p99" and value is not None and value > slo_p99
        ) or (slo_err is not None and err is not None and err > slo_err):
            state = "SLO"
        else:
            state = "ok"
        rows.append(
            RowState(
                name=name,
                t=t,
                v=v,
                f=f,
                value=value,
                saturated=bool(saturated),
                qps=qps,
                error_ratio=err,
                state=state,
                level=_level(value, slo_p99 if signal == "p99" else None),
                err_level=_level(err, slo_err),
                spike_times=(spikes or {}).get(name, []),
                releases=(releases or {}).get(name, []),
                labels=dict(info.labels) if info is not None else {},
            )
        )
    return rows
