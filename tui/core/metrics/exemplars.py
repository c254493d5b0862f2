"""Exemplars: concrete requests (a trace id and its latency) behind a latency histogram.

They link a spike to a slow request someone can open in the tracing UI. Sources add them
(the OTLP sink from histogram points' exemplars, the Prometheus source from
`/api/v1/query_exemplars`); the views ask for the slowest recent ones of a service or a route.

Memory is bounded by construction: a fixed number per service (see ExemplarLog), and the
number of services is the store's. Trace ids are checked before they are kept: W3C/OTLP ids
are 16 bytes (32 hex digits) and never all zero; 64-bit ids (16 hex digits: Jaeger, Zipkin)
are accepted too. Anything else is refused and counted, never shown.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass

SLOT_SECONDS = 10.0  # exemplars are kept per slot of this many seconds ...
SLOTS = 90  # ... for this many slots (15 minutes, the default window) ...
PER_SLOT = 8  # ... the slowest this many of each
TRACE_ID_LABELS = ("trace_id", "traceID", "traceId", "trace-id")  # Prometheus exemplar labels
SPAN_ID_LABELS = ("span_id", "spanID", "spanId")
_HEX = re.compile(r"^(?:[0-9a-f]{16}|[0-9a-f]{32})$")
_SPAN = re.compile(r"^[0-9a-f]{16}$")


@dataclass(frozen=True, slots=True)
class Exemplar:
    """One request: when it ended, how long it took (seconds), its trace (and span) id."""

    t: float
    value: float
    trace_id: str  # lower-case hex, 16 or 32 digits
    span_id: str = ""
    route: str = ""  # the route the request was on, when the source knows it


def normalize_trace_id(raw: str | bytes) -> str | None:
    """Lower-case hex of a trace id, or None when it is not one (wrong length, not hex, all
    zeros: the W3C "invalid" id)."""
    text = raw.hex() if isinstance(raw, bytes) else raw.strip().lower()
    if not _HEX.match(text) or not text.strip("0"):
        return None
    return text


def normalize_span_id(raw: str | bytes) -> str:
    """Lower-case hex of a span id, or "" when it is not one (spans are optional)."""
    text = raw.hex() if isinstance(raw, bytes) else raw.strip().lower()
    return text if _SPAN.match(text) and text.strip("0") else ""


class ExemplarLog:
    """The slowest exemplars of each service, per time slot: the slow requests of a spike stay
    however many fast ones come after them.

    Each service keeps SLOTS slots of SLOT_SECONDS (the newest win), each with its PER_SLOT
    slowest exemplars, deduplicated by trace, span and time (a cumulative exporter, or a
    Prometheus asked twice, sends one again). `rejected` counts exemplars refused for a
    malformed trace id.
    """

    def __init__(
        self, slot_seconds: float = SLOT_SECONDS, slots: int = SLOTS, per_slot: int = PER_SLOT
    ) -> None:
        self.slot_seconds = slot_seconds
        self.slots = slots
        self.per_slot = per_slot
        self.rejected = 0
        self.notes: dict[str, str] = {}  # service -> why it has none (the source's words)
        self._by_service: dict[str, dict[int, list[Exemplar]]] = {}

    def add(self, service: str, ex: Exemplar) -> bool:
        """Keep `ex` if it is among its slot's slowest and not kept already."""
        slots = self._by_service.setdefault(service, {})
        k = int(ex.t // self.slot_seconds)
        kept = slots.get(k)
        if kept is None:
            if len(slots) >= self.slots:
                oldest = min(slots)
                if k < oldest:
                    return False
                del slots[oldest]
            kept = slots[k] = []
        if len(kept) >= self.per_slot and ex.value <= kept[-1].value:
            return False
        if any(e.t == ex.t and e.trace_id == ex.trace_id and e.span_id == ex.span_id for e in kept):
            return False
        kept.append(ex)
        kept.sort(key=lambda e: -e.value)
        del kept[self.per_slot :]
        return True

    def add_raw(
        self,
        service: str,
        t: float,
        value: float,
        trace_id: str | bytes,
        span_id: str | bytes = "",
        route: str = "",
    ) -> bool:
        """Check the ids, then `add`; a malformed trace id is counted in `rejected`."""
        tid = normalize_trace_id(trace_id)
        if tid is None or not math.isfinite(value) or not math.isfinite(t):
            self.rejected += 1
            return False
        return self.add(service, Exemplar(t, value, tid, normalize_span_id(span_id), route))

    def slowest(
        self,
        service: str,
        since: float,
        n: int = 3,
        keep: Callable[[Exemplar], bool] | None = None,
    ) -> list[Exemplar]:
        """The `n` slowest exemplars of `service` that ended at or after `since` (and pass
        `keep`, e.g. one route), slowest first."""
        first = int(since // self.slot_seconds)
        pick = [
            e
            for k, kept in self._by_service.get(service, {}).items()
            if k >= first
            for e in kept
            if e.t >= since and (keep is None or keep(e))
        ]
        pick.sort(key=lambda e: (-e.value, -e.t))
        return pick[:n]

    def count(self, service: str) -> int:
        return sum(len(k) for k in self._by_service.get(service, {}).values())

    def clear(self) -> None:
        self._by_service.clear()
        self.notes.clear()
        self.rejected = 0


def trace_link(template: str | None, ex: Exemplar, service: str) -> str:
    """The tracing UI's URL of `ex` from the config's trace_url template ("" without one).

    The ids are hex by construction; the service name is percent-encoded.
    """
    if not template:
        return ""
    from urllib.parse import quote

    return template.format(trace_id=ex.trace_id, span_id=ex.span_id, service=quote(service, ""))
