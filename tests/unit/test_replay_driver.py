"""The replay clock: play, pause, step and scrub a recording into a MetricStore."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from tui.core.events import PointBatch, record_lines
from tui.core.metrics.store import MetricStore
from tui.core.recording import Recording
from tui.sources.replay import ReplayDriver


def _recording() -> Recording:
    events = [
        {"t": 100.0 + i, "type": "point", "service": "api", "signal": "p99", "value": float(i)}
        for i in range(60)
    ]
    events.append({"t": 130.5, "type": "spike", "service": "api", "state": "GLITCH"})
    return Recording(events)


def test_starts_with_the_first_instant_applied() -> None:
    store = MetricStore()
    d = ReplayDriver(_recording(), store)
    assert d.now() == 100.0
    assert store.latest("api", "p99") == (100.0, 0.0, 0)


def test_seek_forward_backward_and_events() -> None:
    store, seen = MetricStore(), []
    d = ReplayDriver(_recording(), store, event_sink=lambda e: seen.extend(record_lines(e)))
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
    d = ReplayDriver(
        _recording(),
        MetricStore(),
        speed=40.0,
        event_sink=lambda e: updates.append(1) if isinstance(e, PointBatch) else None,
        tick=0.05,
    )
    await d.start()
    await asyncio.sleep(0.3)
    await d.stop()
    assert 105 <= d.now() <= 125
    assert updates
    assert "×40" in d.statuses()[0].detail


def _spiky() -> Recording:
    events = [
        {"t": 100.0 + i, "type": "point", "service": "api", "signal": "p99", "value": 0.1}
        for i in range(60)
    ]
    for t, state in ((110.0, "GLITCH"), (120.0, "SUSTAINED"), (140.0, "RECOVERED")):
        events.append(
            {
                "t": t,
                "type": "spike",
                "service": "api",
                "signal": "p99",
                "state": state,
                "value": 0.4,
                "baseline": 0.1,
            }
        )
    return Recording(events)


def test_backward_seek_resets_then_resends_each_event_once() -> None:
    seen: list[dict[str, Any]] = []
    d = ReplayDriver(_spiky(), MetricStore(), event_sink=lambda e: seen.extend(record_lines(e)))
    d.seek(150)
    d.seek(125)
    d.seek(150)
    d.seek(105)
    d.seek(130)
    shown: list[dict[str, Any]] = []  # what a consumer that clears on reset is left with
    for e in seen:
        shown = [] if e["type"] == "reset" else [*shown, e]
    assert [(e["t"], e["state"]) for e in shown] == [(110.0, "GLITCH"), (120.0, "SUSTAINED")]
    assert [e["t"] for e in seen if e["type"] == "reset"] == [125, 105]
    d.seek(200)  # forward: only what lies after the position, no reset
    assert [e.get("state") for e in seen[-1:]] == ["RECOVERED"]


def test_spike_states_follow_the_position() -> None:
    d = ReplayDriver(_spiky(), MetricStore())
    assert d.spikes.states() == {}
    d.seek(112)
    assert d.spikes.states() == {"api": "GLITCH"}
    d.seek(118)  # five quiet p99 points after the glitch: back to OK, as live
    assert d.spikes.states() == {"api": "OK"}
    d.seek(139)
    assert d.spikes.states() == {"api": "SUSTAINED"}
    d.seek(141)
    assert d.spikes.states() == {"api": "RECOVERED"}
    d.seek(113)  # backwards: rebuilt, not left at RECOVERED
    assert d.spikes.states() == {"api": "GLITCH"}


async def test_events_before_a_listener_are_held_for_it() -> None:
    rec = Recording(
        [
            {"t": 100.0, "type": "spike", "service": "api", "state": "GLITCH"},
            {"t": 101.0, "type": "point", "service": "api", "signal": "p99", "value": 0.1},
            {"t": 105.0, "type": "spike", "service": "api", "state": "GLITCH"},
        ]
    )
    d = ReplayDriver(rec, MetricStore())
    d.seek(105)
    d.seek(102)  # a scrub before anyone listens: only what is before 102 stays held
    seen: list[dict[str, Any]] = []
    d.event_sink = lambda e: seen.extend(record_lines(e))
    await d.start()
    await d.stop()
    assert [e["t"] for e in seen] == [100.0]


def test_alerts_round_trip_through_a_recording_line() -> None:
    from tui.sources.alertmanager import Alert
    from tui.sources.replay import alert_record, alerts_of

    served = {  # a gettableAlert as Alertmanager v2 answers (Go writes nanoseconds)
        "fingerprint": "0a1b",
        "labels": {"alertname": "HighLatency", "service": "checkout"},
        "annotations": {"summary": "p99 over SLO"},
        "status": {"state": "suppressed", "silencedBy": ["s1"], "inhibitedBy": []},
        "startsAt": "2026-12-03T16:00:00.123456789Z",
        "endsAt": "2026-12-03T17:00:00Z",
    }
    a = Alert.from_api(served)
    line = {"t": 1.0, "type": "alerts", "alerts": [alert_record(a)]}
    assert alerts_of(json.loads(json.dumps(line))) == [a]
