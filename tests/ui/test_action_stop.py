"""A hung action is stopped from the dashboard (ctrl+k), and quitting mid-run is quiet.

The real WarroomApp runs a real child process (a Python that prints, then hangs); the stop
goes through the real runner: TERM to the process group, KILL after the grace time, audited.
"""

from __future__ import annotations

import gc
import json
import logging
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.waits import until
from tui.config import ActionConfig, AuditConfig
from tui.ui.app import WarroomApp
from tui.ui.widgets.action_log import ActionLog

from .dashboard_data import NOW, demo_config, filled_store, wait_for_panes

HANG = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('rolling back', flush=True); time.sleep(120)"


def hanging_app(tmp_path: Path) -> WarroomApp:
    cfg = demo_config()
    cfg.audit = AuditConfig(path=str(tmp_path / "audit.jsonl"))
    cfg.actions = {
        "restart": ActionConfig(exec=[sys.executable, "-c", HANG], confirm="none", key="e")
    }
    return WarroomApp(cfg, store=filled_store(), clock=lambda: NOW)


def screen_text(app: WarroomApp) -> str:
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


def audit(tmp_path: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in (tmp_path / "audit.jsonl").read_text().splitlines()]


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
async def test_ctrl_k_stops_a_hung_action_term_then_kill(
    tmp_path: Path, size: tuple[int, int]
) -> None:
    app = hanging_app(tmp_path)
    async with app.run_test(size=size) as pilot:
        await wait_for_panes(app, pilot)
        await pilot.press("e")
        log = app.screen.query_one(ActionLog)
        await until(pilot, lambda: "rolling back" in log.lines, "the action's output")
        await until(pilot, lambda: "▶ restart" in screen_text(app), "the running indicator")
        await pilot.press("ctrl+k")
        assert any("stopping restart for checkout" in n.message for n in app._notifications)
        # the child ignores TERM: only the KILL after the grace time ends it
        await until(
            pilot, lambda: not app.runner.running(), "the stop", timeout=app.runner.grace + 10
        )
        await until(pilot, lambda: "▶" not in screen_text(app), "the indicator to go")
        assert any("stopped by the operator" in line for line in log.lines)
    done = [r for r in audit(tmp_path) if r.get("event") == "finished"]
    assert len(done) == 1 and done[0]["status"] == "cancelled"
    assert done[0]["reason"].startswith("stopped by the operator")
    assert done[0]["exit"] == -9  # SIGKILL: TERM was ignored


async def test_ctrl_k_with_nothing_running_says_so(tmp_path: Path) -> None:
    app = hanging_app(tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for_panes(app, pilot)
        await pilot.press("ctrl+k")
        assert any(n.message == "no action is running" for n in app._notifications)


async def test_quitting_while_an_action_runs_is_quiet_and_audited(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 13 item 8: quitting mid-run printed `_GatheringFuture exception was never
    retrieved ... CancelledError`."""
    caplog.set_level(logging.ERROR, logger="asyncio")
    app = hanging_app(tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for_panes(app, pilot)
        await pilot.press("e")
        log = app.screen.query_one(ActionLog)
        await until(pilot, lambda: "rolling back" in log.lines, "the action's output")
        await pilot.press("q")
    gc.collect()
    assert not [r for r in caplog.records if "never retrieved" in r.getMessage()]
    records = audit(tmp_path)
    done = [r for r in records if r.get("event") == "finished"]
    assert len(done) == 1 and done[0]["status"] == "cancelled", records
    assert "warroom stopped while the action ran" in done[0]["reason"]
    assert done[0]["exit"] == -9  # the group was killed and reaped before the audit line
