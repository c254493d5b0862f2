"""The dashboard's memory of events: the events list, spike marks, the SUSTAINED notice."""

from __future__ import annotations

import pytest

from tui.core.events import Reset
from tui.core.releases import Release
from tui.core.spike_history import SpikeHistory
from tui.core.stats.spikes import GLITCH, RECOVERED, SUSTAINED, SpikeEvent


def spike(service: str, t: float, state: str = GLITCH) -> SpikeEvent:
    return SpikeEvent(t, service, "p99", state, 0.9, 0.1, 9.0)


def test_spikes_mark_their_service_and_a_recovery_is_listed_only() -> None:
    h = SpikeHistory()
    h.add(spike("api", 1.0))
    h.add(spike("api", 2.0, SUSTAINED))
    h.add(spike("api", 3.0, RECOVERED))
    h.add(spike("db", 4.0))
    rel = Release("api", "2", "", 5.0, "mark")
    h.add(rel)
    assert h.times() == {"api": [1.0, 2.0], "db": [4.0]}
    assert h.times_of("api") == [1.0, 2.0] and h.times_of("nope") == []
    assert list(h.events)[-1] is rel and len(h.events) == 5
    h.forget_times("api")
    assert h.times() == {"db": [4.0]}


def test_sustained_services_are_announced_once_together() -> None:
    h = SpikeHistory()
    assert h.add(spike("b", 1.0, SUSTAINED)) is True  # the first: arm the notice
    assert h.add(spike("a", 2.0, SUSTAINED)) is False
    assert h.add(spike("b", 3.0, SUSTAINED)) is False
    assert h.add(spike("c", 4.0, GLITCH)) is False
    assert h.take_sustained() == ["a", "b"]
    assert h.take_sustained() == []
    assert h.add(spike("c", 5.0, SUSTAINED)) is True  # a new round
    h.forget_sustained("c")  # shown again after a scrub back: not rung twice
    assert h.take_sustained() == []


def test_memory_is_bounded() -> None:
    h = SpikeHistory(max_events=10, max_services=3)
    for i in range(100):
        h.add(spike(f"svc-{i % 5}", float(i)))
    h.add(Reset(100.0))  # any event is listed; only spikes mark
    assert len(h.events) == 10
    times = h.times()
    assert len(times) == 3 and all(len(ts) <= 10 for ts in times.values())
    assert set(times) == {"svc-2", "svc-3", "svc-4"}  # the oldest services went first


def test_clear_forgets_everything() -> None:
    h = SpikeHistory()
    h.add(spike("api", 1.0, SUSTAINED))
    h.clear()
    assert not h.events and h.times() == {} and h.take_sustained() == []


def test_bounds_must_be_positive() -> None:
    with pytest.raises(ValueError, match="must be positive"):
        SpikeHistory(max_events=0)
