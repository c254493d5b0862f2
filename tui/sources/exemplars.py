"""Exemplars from Prometheus (`/api/v1/query_exemplars`) into the store's ExemplarLog.

Asked for one service at a time, and only when a view wants them: the route view while it is
open, the Service tab's service while it spikes. Each ask covers the time since the previous
one and OVERLAP seconds before it: an exemplar carries the time of its request, and Prometheus
stores it only at the next scrape, so one that arrives late is still found (the log drops
the ones it has already).

A Prometheus without exemplar storage (it needs `--enable-feature=exemplar-storage`, and the
target must be scraped as OpenMetrics, the only format that carries them) answers an empty
set; an old one or a proxy may answer 404 or an error. Either way the service's note in the
log says so (the views show it), it is logged once, and the views keep working without.
"""

from __future__ import annotations

import logging
from typing import Any

from tui.core.metrics.exemplars import SPAN_ID_LABELS, TRACE_ID_LABELS
from tui.core.metrics.routes import ROUTE_LABELS, series
from tui.core.metrics.store import MetricStore
from tui.sources.prometheus import PrometheusError, PrometheusSource, service_selector

log = logging.getLogger(__name__)

NO_EXEMPLARS = (
    "Prometheus returned no exemplars: it stores them with --enable-feature=exemplar-storage, "
    "from targets scraped as OpenMetrics that attach them (client_golang: ObserveWithExemplar)"
)
NO_TRACE_LABEL = (
    f"exemplars carry no valid trace id (a {' or '.join(TRACE_ID_LABELS)} label of 16 or 32 "
    "hex digits, not all zero)"
)
MAX_SPAN = 900.0  # seconds asked for at most (the first ask, or after a long pause)
OVERLAP = 15.0  # seconds each ask reaches back before the previous one: a scrape interval


def _first(labels: dict[str, Any], names: tuple[str, ...]) -> str:
    return next((str(labels[n]) for n in names if n in labels), "")


class PrometheusExemplars:
    """Fetch one service's new exemplars into `store.exemplars`; never raises."""

    def __init__(self, source: PrometheusSource, store: MetricStore) -> None:
        self.source = source
        self.store = store
        self._since: dict[str, float] = {}  # service -> end of the last good ask
        self._said: set[str] = set()
        self.skipped: dict[str, int] = {}  # service -> malformed exemplars skipped so far

    async def fetch(self, service: str, now: float, route_label: str = "") -> int:
        """Ask for the exemplars of `service` since the last ask; returns how many were new.
        `route_label`: the series label naming the route (default: the first of ROUTE_LABELS
        the series has)."""
        svc = self.source.service_config(service)
        if svc is None or svc.prometheus is None:
            return 0
        name, inner = service_selector(svc)
        start = max(self._since.get(service, now - MAX_SPAN) - OVERLAP, now - MAX_SPAN)
        try:
            data = await self.source.client.query_exemplars(
                series(f"{name}_bucket", inner), start, now
            )
            found, kept, skipped = self._add(service, data, route_label)
        except PrometheusError as exc:
            self._note(service, f"exemplars: {exc.detail}")
            return 0
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            self._note(service, f"exemplars: unexpected answer shape: {exc}")
            return 0
        self._since[service] = now
        if skipped:
            self.skipped[service] = self.skipped.get(service, 0) + skipped
            log.warning(
                "%s: %d of %d exemplars skipped: malformed value, time or trace id (%d so far)",
                service,
                skipped,
                found,
                self.skipped[service],
            )
        if found and not kept and not self.store.exemplars.count(service):
            self._note(service, NO_TRACE_LABEL)
        elif not found and not self.store.exemplars.count(service):
            self._note(service, NO_EXEMPLARS)
        else:
            self.store.exemplars.notes.pop(service, None)
        return kept

    def _add(self, service: str, data: Any, route_label: str) -> tuple[int, int, int]:
        """(exemplars in the answer, of which new, of which malformed) from query_exemplars'
        data. A malformed exemplar (its value or time not a finite number, its trace id not
        16 or 32 hex digits) is skipped and counted in `store.exemplars.rejected`; the rest
        of the answer is kept."""
        if data is None:
            return 0, 0, 0
        if not isinstance(data, list):
            raise TypeError(f"data is a {type(data).__name__}, not a list")
        found = kept = 0
        book = self.store.exemplars
        rejected_before = book.rejected
        for entry in data:
            series_labels = entry.get("seriesLabels") or {}
            label = route_label or next((k for k in ROUTE_LABELS if k in series_labels), "")
            route = str(series_labels.get(label, "")) if label else ""
            for ex in entry.get("exemplars") or []:
                found += 1
                labels = ex.get("labels") or {}
                trace = _first(labels, TRACE_ID_LABELS)
                if not trace:
                    continue
                span = _first(labels, SPAN_ID_LABELS)
                try:
                    t, value = float(ex["timestamp"]), float(ex["value"])
                except (KeyError, TypeError, ValueError):
                    book.rejected += 1
                    continue
                kept += book.add_raw(service, t, value, trace, span, route)
        return found, kept, book.rejected - rejected_before

    def _note(self, service: str, note: str) -> None:
        self.store.exemplars.notes[service] = note
        if note not in self._said:  # said once; the views keep showing it while it holds
            self._said.add(note)
            log.info("%s: %s", service, note)
