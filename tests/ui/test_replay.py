"""Replay draws what live drew: same store contents at the same instant give the same screen."""

from __future__ import annotations

import math

from tui.config import parse_config
from tui.core.metrics.store import MetricStore
from tui.core.recording import Recording
from tui.ui.app import WarroomApp
from tui.ui.replay import ReplayApp

T0 = 1_800_000_000.0
CONFIG = """
services:
  - name: checkout
  - name: search
"""


def _events() -> list[dict]:
    out = []
    for i in range(240):
        for svc, base in (("checkout", 0.120), ("search", 0.045)):
            spike = 4.0 if svc == "checkout" and 150 <= i < 160 else 1.0
            p99 = base * spike * (1 + 0.1 * math.sin(i / 7))
            for signal, value in (("p50", p99 / 3), ("p95", p99 / 1.5), ("p99", p99),
                                  ("qps", 200.0 + i % 17), ("error_ratio", 0.001)):
                out.append({"t": T0 + i, "type": "point", "service": svc, "signal": signal,
                            "value": value})
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
    live = WarroomApp(parse_config(CONFIG), store=live_store, clock=lambda: at,
                      start_sources=False)
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
        await pilot.pause(0.3)
        assert "REPLAY" in str(app.timeline.render())


def test_replay_disables_actions() -> None:
    cfg = parse_config(CONFIG + """    actions:
      rollback: {exec: [kubectl, rollout, undo, deployment/search]}
""")
    ReplayApp(cfg, Recording(_events()))
    assert cfg.read_only and all(not s.actions for s in cfg.services)
