"""What the dashboard remembers of the events it was sent, bounded for days-long sessions.

- `events`: the events pane's list (spikes, releases, other lines), at most `max_events`.
- spike times per service: the sparkline markers (a RECOVERED is listed but marks nothing),
  at most `max_events` per service and `max_services` services (the one longest without
  a spike dropped first).
- services gone SUSTAINED since the last announcement: the app rings once for all of them.
"""

from __future__ import annotations

from collections import OrderedDict, deque

from tui.core.events import SourceEvent
from tui.core.stats.spikes import RECOVERED, SUSTAINED, SpikeEvent

MAX_EVENTS = 500  # events kept for the events pane, and spike marks kept per service
MAX_SERVICES = 10_000  # services with spike marks (a cap as the store's on series)


class SpikeHistory:
    def __init__(self, max_events: int = MAX_EVENTS, max_services: int = MAX_SERVICES) -> None:
        if max_events <= 0 or max_services <= 0:
            raise ValueError("max_events and max_services must be positive")
        self.max_events = max_events
        self.max_services = max_services
        self.events: deque[SourceEvent] = deque(maxlen=max_events)
        self._times: OrderedDict[str, deque[float]] = OrderedDict()
        self._sustained: list[str] = []

    def add(self, event: SourceEvent) -> bool:
        """Keep one event; True when it is the first SUSTAINED since the last
        `take_sustained()` (the caller arms the announcement then)."""
        self.events.append(event)
        if not isinstance(event, SpikeEvent):
            return False
        if event.state != RECOVERED:  # a recovery is listed, but marks no spike cell
            times = self._times.get(event.service)
            if times is None:
                times = self._times[event.service] = deque(maxlen=self.max_events)
                while len(self._times) > self.max_services:
                    self._times.popitem(last=False)
            else:
                self._times.move_to_end(event.service)  # the quietest service goes first
            times.append(event.t)
        if event.state != SUSTAINED:
            return False
        first = not self._sustained
        self._sustained.append(event.service)
        return first

    def times(self) -> dict[str, list[float]]:
        """{service: spike times}: what the sparklines mark."""
        return {service: list(ts) for service, ts in self._times.items()}

    def times_of(self, service: str) -> list[float]:
        return list(self._times.get(service, ()))

    def forget_times(self, service: str) -> None:
        self._times.pop(service, None)

    def take_sustained(self) -> list[str]:
        """The services gone SUSTAINED since the last call, sorted, each once."""
        names, self._sustained = sorted(set(self._sustained)), []
        return names

    def forget_sustained(self, service: str) -> None:
        """Not to be announced (a replay shows a spike again after a scrub back)."""
        self._sustained = [s for s in self._sustained if s != service]

    def clear(self) -> None:
        self.events.clear()
        self._times.clear()
        self._sustained.clear()
