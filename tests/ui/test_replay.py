"""Replay draws what live drew: same store contents at the same instant give the same screen."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from tests.waits import until
from tui.config import parse_config
from tui.core.events import RecordLines
from tui.core.metrics.store import MetricStore
from tui.core.recording import Recording
from tui.sources.hub import Hub
from tui.sources.prometheus import Point
from tui.ui.app import WarroomApp
from tui.ui.replay import ReplayApp

from .dashboard_data import delivered

T0 = 1_800_000_000.0
CONFIG = """
services:
  - name: checkout
  - name: search
"""


def _events() -> list[dict[str, Any]]:
    out = []
    for i in range(240):
        for svc, base in (("checkout", 0.120), ("search", 0.045)):
            spike = 4.0 if svc == "checkout" and 150 <= i < 160 else 1.0
            p99 = base * spike * (1 + 0.1 * math.sin(i / 7))
            for signal, value in (
                ("p50", p99 / 3),
                ("p95", p99 / 1.5),
                ("p99", p99),
                ("qps", 200.0 + i % 17),
                ("error_ratio", 0.001),
            ):
                out.append(
                    {"t": T0 + i, "type": "point", "service": svc, "signal": signal, "value": value}
                )
    return out


def _screen_lines(app: WarroomApp) -> list[list[tuple[str, str]]]:
    """The service table's drawn lines: (character, style) cells."""
    return app.dashboard.table.build_lines()


async def test_replay_at_t_matches_live_at_t() -> None:
    at = T0 + 170
    live_store = MetricStore()
    for e in _events():
        if e["t"] <= at:
            live_store.add(e["service"], e["signal"], e["t"], e["value"])
    live = WarroomApp(parse_config(CONFIG), store=live_store, clock=lambda: at, start_sources=False)
    async with live.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        live.redraw_now()
        await pilot.pause()
        live_lines = _screen_lines(live)

    replay = ReplayApp(parse_config(CONFIG), Recording(_events()), speed=1.0)
    async with replay.run_test(size=(120, 30)) as pilot:
        replay.driver.paused = True
        replay.driver.seek(at)
        await pilot.pause()
        replay.redraw_now()
        await pilot.pause()
        replay_lines = _screen_lines(replay)
    assert any("checkout" in "".join(ch for ch, _ in line) for line in live_lines)
    assert replay_lines == live_lines


async def test_keys_pause_step_and_scrub() -> None:
    app = ReplayApp(parse_config(CONFIG), Recording(_events()), speed=1.0)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("space")
        assert app.driver.paused
        start = app.driver.now()
        await pilot.press("right")
        assert app.driver.now() == start + 10
        await pilot.press("left", "left")
        assert app.driver.now() == max(T0, start - 10)
        await pilot.press("end")
        assert app.driver.finished
        await pilot.press("home")
        assert app.driver.now() == T0
        await pilot.press("greater_than_sign")
        assert app.driver.speed == 2.0
        await until(pilot, lambda: "REPLAY" in str(app.timeline.render()), "the timeline")


def test_replay_disables_actions() -> None:
    cfg = parse_config(
        CONFIG
        + """    actions:
      rollback: {exec: [kubectl, rollout, undo, deployment/search]}
"""
    )
    ReplayApp(cfg, Recording(_events()))
    assert cfg.read_only and all(not s.actions for s in cfg.services)


# --- a recording with spike lines, made by a real Hub and its spike detector ----------------

SPIKY_CONFIG = """
otlp: {{http: "", grpc: ""}}
baseline: {{dir: "{dir}"}}
services:
  - name: checkout
  - name: search
"""


def _steps() -> list[list[Point]]:
    """One refresh per second: checkout glitches at 100 and shifts x4 over 150..169."""
    out = []
    for i in range(240):
        step = []
        for svc, base in (("checkout", 0.120), ("search", 0.045)):
            k = 1.0
            if svc == "checkout" and (i == 100 or 150 <= i < 170):
                k = 3.0 if i == 100 else 4.0
            p99 = base * k * (1 + 0.1 * math.sin(i / 7))
            for signal, value in (
                ("p50", p99 / 3),
                ("p95", p99 / 1.5),
                ("p99", p99),
                ("qps", 200.0 + i % 17),
                ("error_ratio", 0.001),
            ):
                step.append(Point(svc, signal, T0 + i, value))
        out.append(step)
    return out


def _recorded(cfg_text: str) -> list[dict[str, Any]]:
    """What `warroom record` writes for these refreshes: the Hub's point and spike lines."""
    lines = RecordLines()  # as `warroom record` orders them
    hub = Hub(parse_config(cfg_text), MetricStore(), lines, emit_points=True, start_otlp=False)
    for step in _steps():
        hub._publish(step)
    return lines.take()


async def _settle(app: WarroomApp, pilot: Pilot[Any]) -> None:
    """Sources started and the detail panes added (workers)."""
    await until(
        pilot,
        lambda: app.panes_ready and app.hub is not None and app.hub.event_sink is not None,
        "the panes and the replay's sink",
    )


def _events_rows(app: WarroomApp) -> list[tuple[object, ...]]:
    pane = app.dashboard.pane("tab-events")
    assert pane is not None and pane.row_count == len(pane.events)
    return [(e.t, e.service, e.state, e.value, e.baseline) for e in pane.events]


def _state_of(lines: list[list[tuple[str, str]]], service: str) -> str:
    text = ["".join(ch for ch, _ in line) for line in lines]
    row = next(t for t in text if t[1:].startswith(service + " "))  # [0]: cursor mark
    return next(s for s in ("SUSTAINED", "RECOVERED", "GLITCH", "SLO", "ok") if s in row)


async def test_replayed_spikes_match_live_after_scrubbing(tmp_path: Path) -> None:
    cfg_text = SPIKY_CONFIG.format(dir=tmp_path / "baselines")
    lines = _recorded(cfg_text)
    spikes = [e for e in lines if e["type"] == "spike"]
    states = [e["state"] for e in spikes if e["service"] == "checkout"]
    assert states == ["GLITCH", "GLITCH", "GLITCH", "SUSTAINED", "RECOVERED"]
    sustained_at = next(e["t"] for e in spikes if e["state"] == "SUSTAINED")
    at = sustained_at + 5  # in the shift: the state column says SUSTAINED

    # live: a Hub feeding the app, its detector seeing the same refreshes up to `at`
    live_store = MetricStore()
    hub = Hub(parse_config(cfg_text), live_store, start_otlp=False)
    live = WarroomApp(parse_config(cfg_text), store=live_store, hub=hub, clock=lambda: at)
    async with live.run_test(size=(120, 30)) as pilot:
        await _settle(live, pilot)
        for step in _steps():
            if step[0].t > at:
                break
            for p in step:
                live_store.add(p.service, p.signal, p.t, p.value, source="prometheus")
            hub._publish(step)
        await delivered(live)  # the hub's events reach the app as messages
        live.redraw_now()
        await pilot.pause()
        live_lines, live_events = _screen_lines(live), _events_rows(live)
    assert _state_of(live_lines, "checkout") == "SUSTAINED"
    assert [(r[0], r[2]) for r in live_events] == [
        (e["t"], e["state"]) for e in spikes if e["t"] <= at
    ]

    replay = ReplayApp(parse_config(cfg_text), Recording(lines), speed=1.0)
    async with replay.run_test(size=(120, 30)) as pilot:
        await _settle(replay, pilot)
        replay.driver.paused = True
        for t in (at + 60, at - 30, at + 60, T0 + 101, at):  # scrub back and forth
            replay.driver.seek(t)
            await delivered(replay)
            await pilot.pause()
            if t == T0 + 101:
                replay.redraw_now()
                assert _state_of(_screen_lines(replay), "checkout") == "GLITCH"
        replay.redraw_now()
        await pilot.pause()
        replay_lines, replay_events = _screen_lines(replay), _events_rows(replay)
        spike_marks = replay.spike_history.times_of("checkout")
    assert replay_events == live_events  # each spike exactly once, however one scrubbed
    assert spike_marks == [r[0] for r in live_events]
    assert replay_lines == live_lines


async def test_scrubbing_back_does_not_ring_again(tmp_path: Path) -> None:
    """A SUSTAINED spike rings (bell and toast) when the replay first reaches it; scrubbing
    back and over it again shows it, but does not announce it a second time."""
    cfg_text = SPIKY_CONFIG.format(dir=tmp_path / "baselines")
    lines = _recorded(cfg_text)
    sustained_at = next(e["t"] for e in lines if e.get("state") == "SUSTAINED")
    app = ReplayApp(parse_config(cfg_text), Recording(lines))

    def toasts() -> int:
        return sum("SUSTAINED spike" in n.message for n in app._notifications)

    async with app.run_test(size=(120, 30)) as pilot:
        await _settle(app, pilot)
        app.driver.paused = True
        app.driver.seek(sustained_at + 1)
        await until(pilot, lambda: toasts() >= 1, "the SUSTAINED toast (a 1 s timer gathers them)")
        assert toasts() == 1
        app.driver.seek(sustained_at - 10)
        app.driver.seek(sustained_at + 5)
        await pilot.pause(1.3)  # past the 1 s announcement timer: nothing more may come
        assert toasts() == 1
        assert app.spike_history.times_of("checkout").count(sustained_at) == 1


async def test_no_action_runs_in_a_replay(tmp_path: Path) -> None:
    """Configured and built-in actions (rollback `r`, baseline refresh `b`) exist live; in a
    replay their keys do nothing: no confirmation screen, no baseline written."""
    cfg_text = (
        CONFIG
        + f"""baseline: {{dir: "{tmp_path / "baselines"}"}}
actions:
  rollback: {{exec: [kubectl, rollout, undo, deployment/checkout], key: r}}
"""
    )
    live = WarroomApp(parse_config(cfg_text), store=MetricStore(), start_sources=False)
    assert {a.key for a, _, _ in live.service_actions("checkout")} >= {"r", "b"}

    app = ReplayApp(parse_config(cfg_text), Recording(_events()))
    async with app.run_test(size=(120, 30)) as pilot:
        await _settle(app, pilot)
        await pilot.press("b", "r")
        await pilot.pause()
        assert app.screen is app.dashboard
        assert app.service_actions("checkout") == []
    assert not (tmp_path / "baselines").exists()
