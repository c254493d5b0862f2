"""The other engineers' panes inside the dashboard: events, action log, flame graph keys."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

from textual.screen import Screen
from textual.widgets import TabbedContent

from tests.waits import until
from tui.config import ActionConfig, AuditConfig, ProfilesConfig
from tui.core.events import event_from_record, event_or_line
from tui.ui.app import WarroomApp
from tui.ui.screens.confirm import ConfirmActionScreen
from tui.ui.screens.help import HelpScreen
from tui.ui.widgets.action_log import ActionLog
from tui.ui.widgets.events_pane import EventsPane
from tui.ui.widgets.service_table import ServiceTable

from .dashboard_data import NOW, demo_config, filled_store, wait_for_panes


def spike(service: str, state: str, t: float = NOW - 20) -> dict[str, object]:
    return {
        "t": t,
        "type": "spike",
        "service": service,
        "signal": "p99",
        "state": state,
        "value": 0.9,
        "baseline": 0.1,
    }


async def test_spike_events_fill_the_events_pane_and_mark_the_sparkline() -> None:
    app = WarroomApp(demo_config(), store=filled_store(), clock=lambda: NOW)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for_panes(app, pilot)
        app.on_source_event(event_from_record(spike("checkout", "SUSTAINED")))
        for i in range(6):
            app.on_source_event(event_from_record(spike(f"svc-{i:02d}", "SUSTAINED")))
        not_a_spike = event_or_line({"t": NOW, "type": "point", "service": "x"})
        app.on_source_event(not_a_spike)
        app.redraw_now()
        pane = app.screen.query_one(EventsPane)
        table = app.screen.query_one(ServiceTable)

        def marks() -> set[str]:
            return {k for sl in table._slices for line in sl._lines for _, k in line}

        def toasts() -> list[str]:
            return [n.message for n in app._notifications if "SUSTAINED" in n.message]

        # the toast gathers the spikes of one second (a timer): wait for it, not for a second
        await until(
            pilot,
            lambda: (
                len(pane.events) == 7
                and any(k.startswith("spike") for k in marks())
                and bool(toasts())
            ),
            "the spikes in the events pane, the sparkline's mark and the toast",
        )
        assert (pane.events[0].service, pane.events[0].state) == ("checkout", "SUSTAINED")
        assert len(pane.events) == 7
        assert any(k.startswith("spike") for k in marks())
        sustained = toasts()
        assert sustained == ["P99 SUSTAINED spike: checkout, svc-00, svc-01, svc-02 and 3 more"]


async def test_action_key_runs_through_the_runner_into_the_log(tmp_path: Path) -> None:
    cfg = demo_config()
    cfg.audit = AuditConfig(path=str(tmp_path / "audit.jsonl"))
    cfg.actions = {
        "restart": ActionConfig(
            exec=[sys.executable, "-c", "print('restarting {service}')"], confirm="none", key="e"
        )
    }
    app = WarroomApp(cfg, store=filled_store(), clock=lambda: NOW)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for_panes(app, pilot)
        await pilot.press("e")
        log = app.screen.query_one(ActionLog)
        await until(pilot, lambda: "restarting checkout" in log.lines, "the action's output")
        await until(
            pilot, lambda: app.runner is not None and not app.runner.running(), "the run's end"
        )
        assert "restarting checkout" in log.lines
        records = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
        assert {r.get("service") for r in records} == {"checkout"}


async def test_rollback_asks_for_confirmation_first(tmp_path: Path) -> None:
    cfg = demo_config()
    cfg.audit = AuditConfig(path=str(tmp_path / "audit.jsonl"))
    cfg.actions = {
        "rollback": ActionConfig(exec=["kubectl", "rollout", "undo", "deployment/{service}"])
    }
    app = WarroomApp(cfg, store=filled_store(), clock=lambda: NOW)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for_panes(app, pilot)
        await pilot.press("r")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmActionScreen)
        await pilot.press("escape")
        await pilot.pause()
        after_escape: Screen[Any] = app.screen
        assert after_escape is app.dashboard


async def test_flame_keys(tmp_path: Path, fixtures_dir: Path) -> None:
    cfg = demo_config()
    app = WarroomApp(cfg, store=filled_store(), clock=lambda: NOW)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for_panes(app, pilot)
        await pilot.press("f")  # looked up in a worker thread
        await until(pilot, lambda: app._notifications, "the toast")
        assert app.screen is app.dashboard
        assert any("no profile for checkout" in n.message for n in app._notifications)
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    shutil.copy(fixtures_dir / "pprof" / "cpu_regexp.pb.gz", profiles / "checkout-1.pb.gz")
    cfg.profiles = ProfilesConfig(dir=str(profiles))
    app = WarroomApp(cfg, store=filled_store(), clock=lambda: NOW)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for_panes(app, pilot)
        await pilot.press("f")
        from tui.ui.screens.profile_viewer import ProfileScreen

        await until(pilot, lambda: isinstance(app.screen, ProfileScreen), "the flame screen")
        assert isinstance(app.screen, ProfileScreen)
        assert app.screen.profile_path == profiles / "checkout-1.pb.gz"
        # item 19: the viewer's `?` lists the viewer's keys, not the dashboard's
        await pilot.press("question_mark")
        await pilot.pause()
        help_screen = app.screen
        assert isinstance(help_screen, HelpScreen)
        described = {d for _, d in help_screen.rows}
        assert "sample type" in described and "Quit" in described
        assert not described & {"Zoom out", "P50/P95/P99", "Pause", "Diff flame"}


async def test_regression_pane_compares_the_window_with_the_baseline(tmp_path: Path) -> None:
    import numpy as np

    from tui.config import BaselineConfig
    from tui.core.baseline import BaselineStore, build_snapshot
    from tui.ui.widgets.regression_table import RegressionTable

    rng = np.random.default_rng(3)
    base = {
        "p99": list(0.05 * np.exp(rng.normal(0, 0.1, 120))),
        "p50": list(0.015 * np.exp(rng.normal(0, 0.1, 120))),
    }
    store_dir = tmp_path / "baselines"
    BaselineStore(store_dir).save(
        build_snapshot(
            "checkout", base, step=5.0, version="v1", taken_by="test@host", taken_at=NOW - 86400
        )
    )
    cfg = demo_config()
    cfg.baseline = BaselineConfig(dir=str(store_dir))
    app = WarroomApp(cfg, store=filled_store(), clock=lambda: NOW)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for_panes(app, pilot)
        app.screen.query_one("#detail", TabbedContent).active = "tab-regression"
        pane = app.screen.query_one(RegressionTable)
        await until(pilot, lambda: pane._rows, "the regression rows")
        from tui.core.stats.compare import VERDICTS

        verdicts = {r.name: r.verdict for r in pane._rows}
        assert verdicts.keys() >= {"p50", "p99"}
        assert set(verdicts.values()) <= set(VERDICTS)
        assert "vs baseline" in str(app.screen.query_one("#regression-title").render())
        await pilot.press("down")  # payments has no baseline
        await until(
            pilot,
            lambda: "no baseline" in str(app.screen.query_one("#regression-title").render()),
            "payments' regression title",
        )
        assert "payments: no baseline yet" in str(
            app.screen.query_one("#regression-title").render()
        )


async def test_F_picks_two_profiles_and_opens_their_diff(
    tmp_path: Path, fixtures_dir: Path
) -> None:
    """Issue 13 item 2: a picker (kind x time) instead of "the newest file"."""
    import os

    from tui.ui.screens.profile_picker import ProfilePickerScreen
    from tui.ui.screens.profile_viewer import ProfileScreen

    profiles = tmp_path / "profiles"
    profiles.mkdir()
    old, new = profiles / "checkout-cpu-1.pb.gz", profiles / "checkout-cpu-2.pb.gz"
    shutil.copy(fixtures_dir / "pprof" / "cpu_json_gogc100.pb.gz", old)
    shutil.copy(fixtures_dir / "pprof" / "cpu_json_gogc5.pb.gz", new)
    os.utime(old, (NOW - 600, NOW - 600))
    os.utime(new, (NOW - 60, NOW - 60))
    cfg = demo_config()
    cfg.profiles = ProfilesConfig(dir=str(profiles))
    cfg.baseline.dir = str(tmp_path / "baselines")
    app = WarroomApp(cfg, store=filled_store(), clock=lambda: NOW)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for_panes(app, pilot)
        await pilot.press("F")
        await until(pilot, lambda: isinstance(app.screen, ProfilePickerScreen), "the picker")
        assert isinstance(app.screen, ProfilePickerScreen)
        assert [r.path for r in app.screen.rows] == [new, old]  # newest first
        await pilot.press("down", "b", "up", "enter")  # the older one is the base
        await pilot.pause()
        assert isinstance(app.screen, ProfileScreen)
        assert (app.screen.profile_path, app.screen.base_path) == (new, old)


async def test_a_dialog_dims_the_dashboard_rather_than_blanking_it(tmp_path: Path) -> None:
    """Issue 13 item 19: behind the rollback confirm the service rows stayed blank."""
    cfg = demo_config()
    cfg.audit = AuditConfig(path=str(tmp_path / "audit.jsonl"))
    cfg.actions = {"rollback": ActionConfig(exec=["/bin/echo", "undo", "{service}"])}
    app = WarroomApp(cfg, store=filled_store(), clock=lambda: NOW)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for_panes(app, pilot)
        await pilot.press("r")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmActionScreen)
        shown = app.export_screenshot()
        assert "DANGEROUS: rollback checkout?" in shown.replace("&#160;", " ")
        assert "svc-05" in shown  # a service row beside the dialog, still drawn


async def test_a_p99_stuck_in_the_first_bucket_is_said_once_and_shown_under_it() -> None:
    """Issue 12: the OTel SDK's millisecond bounds on an instrument in seconds leave every
    request in (0, 5s]; the P99 looks calm whatever happens. The dashboard says so."""
    from tui.core.metrics.quantile import bucket_of
    from tui.sources.hub import Hub
    from tui.sources.prometheus import Point
    from tui.ui.screens.dashboard import ServiceDetail

    cfg, store = demo_config(), filled_store()
    hub = Hub(cfg, store, start_otlp=False)
    bounds = [0.0, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000]
    app = WarroomApp(cfg, store=store, hub=hub, clock=lambda: NOW, start_sources=False)
    async with app.run_test(size=(200, 40)) as pilot:
        await wait_for_panes(app, pilot)
        for i in range(5):
            hub._publish(
                [Point("checkout", "p99", NOW - 5 + i, 4.9, bucket=bucket_of(4.9, bounds))]
            )
        app.redraw_now()
        app.redraw_now()
        await pilot.pause()
        toasts = [n.message for n in app._notifications if "first histogram bucket" in n.message]
        assert len(toasts) == 1 and toasts[0].startswith("checkout: P99 is inside")
        detail = app.screen.query_one(ServiceDetail)
        last = "".join(ch for ch, _ in detail.build_lines()[-1]).strip()
        assert last.startswith("⚠ P99 is inside the first histogram bucket (0, 5s]")
