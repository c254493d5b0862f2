"""The replay clock: play, pause, step and scrub a recording into a MetricStore."""

from __future__ import annotations

import asyncio

from tui.core.metrics.store import MetricStore
from tui.core.recording import Recording
from tui.sources.replay import ReplayDriver


def _recording() -> Recording:
    events = [{"t": 100.0 + i, "type": "point", "service": "api", "signal": "p99",
               "value": float(i)} for i in range(60)]
    events.append({"t": 130.5, "type": "spike", "service": "api", "state": "GLITCH"})
    return Recording(events)


def test_starts_with_the_first_instant_applied() -> None:
    store = MetricStore()
    d = ReplayDriver(_recording(), store)
    assert d.now() == 100.0
    assert store.latest("api", "p99") == (100.0, 0.0, 0)


def test_seek_forward_backward_and_events() -> None:
    store, seen = MetricStore(), []
    d = ReplayDriver(_recording(), store, on_event=seen.append)
    d.seek(140)
    ring = store.series("api", "p99")
    assert ring is not None and len(ring) == 41
    assert [e["type"] for e in seen] == ["spike"]
    d.seek(110)  # backwards: rebuilt from the start, nothing after 110
    ring = store.series("api", "p99")
    assert ring is not None and len(ring) == 11
    assert store.latest("api", "p99") == (110.0, 10.0, 0)
    d.seek(10_000)
    assert d.finished and d.now() == 159.0


def test_step_pauses_and_moves() -> None:
    d = ReplayDriver(_recording(), MetricStore())
    d.step(5)
    assert d.paused and d.now() == 105.0
    d.step(-3)
    assert d.now() == 102.0
    d.advance(10)  # paused: real time does not move the clock
    assert d.now() == 102.0


async def test_runs_at_speed_and_stops() -> None:
    updates = []
    d = ReplayDriver(_recording(), MetricStore(), speed=40.0, on_update=lambda: updates.append(1),
                     tick=0.05)
    await d.start()
    await asyncio.sleep(0.3)
    await d.stop()
    assert 105 <= d.now() <= 125
    assert updates
    assert "×40" in d.statuses()[0].detail
