"""Pilot tests: the palette's per-service entries name any service, not only the selected
one, and go through the same dialog, refusals and audit as the keys."""

from __future__ import annotations

import sys
from pathlib import Path

from tests.waits import until as _until
from tui.config import ActionConfig, AuditConfig
from tui.core.actions.audit import read_audit
from tui.ui.app import WarroomApp
from tui.ui.palette import ServiceCommands
from tui.ui.screens.confirm import ConfirmActionScreen

from .dashboard_data import NOW, demo_config, filled_store, wait_for_panes
from .test_actions_palette import _choose, _palette


def _app(tmp_path: Path) -> tuple[WarroomApp, Path]:
    cfg = demo_config()
    cfg.audit = AuditConfig(path=str(tmp_path / "audit.jsonl"))
    marker = tmp_path / "rolled-back"
    cfg.actions = {
        "rollback": ActionConfig(
            exec=[sys.executable, "-c", f"open({str(marker)!r}, 'w').write('{{service}}')"]
        )
    }
    return WarroomApp(cfg, store=filled_store(), clock=lambda: NOW), marker


async def test_roll_back_a_service_that_is_not_selected(tmp_path: Path) -> None:
    app, marker = _app(tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for_panes(app, pilot)
        assert app.dashboard.table.selected == "checkout"
        title = "Roll back payments"
        help_text = await _palette(pilot, app, "roll back payments", title)
        assert help_text.endswith("· key r · type confirm")  # the command, then how it asks
        await _choose(pilot, app, title)
        await _until(pilot, lambda: isinstance(app.screen, ConfirmActionScreen), what="dialog")
        dialog = app.screen
        assert isinstance(dialog, ConfirmActionScreen)
        assert dialog.action_spec.service == "payments"
        typed = "payments"  # a rollback asks for the service name
        await pilot.press(*typed)
        await _until(pilot, lambda: dialog.typed_ok(), what="name typed")
        await _until(pilot, lambda: dialog.attempt_confirm(), what="confirmed past the debounce")
        await _until(pilot, lambda: marker.exists(), what="rollback ran")
        await _until(pilot, lambda: app.runner is not None and not app.runner.running())
    assert marker.read_text() == "payments"
    records = read_audit(tmp_path / "audit.jsonl").records
    assert [(r["event"], r["service"]) for r in records] == [
        ("started", "payments"),
        ("finished", "payments"),
    ]


async def test_flame_and_routes_of_a_named_service(tmp_path: Path) -> None:
    app, _ = _app(tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for_panes(app, pilot)
        await _palette(pilot, app, "flame graph of search", "Flame graph of search")
        await _choose(pilot, app, "Flame graph of search")
        await _until(
            pilot,
            lambda: any("no profile for search" in n.message for n in app._notifications),
            what="the flame graph's answer for search",
        )
        await _palette(pilot, app, "routes of payments", "Routes of payments")
        await _choose(pilot, app, "Routes of payments")
        await _until(
            pilot,
            lambda: any("payments: routes need" in n.message for n in app._notifications),
            what="the routes' answer for payments",
        )
        assert app.dashboard.table.selected == "checkout"  # the selection did not move


async def test_the_selected_service_actions_are_listed_once(tmp_path: Path) -> None:
    """The selected service's actions are system commands (resolved, with their key); the
    provider adds the others', disabled ones saying so, as the system commands do."""
    app, _ = _app(tmp_path)
    app.cfg.services[2].read_only = True  # search
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for_panes(app, pilot)
        provider = ServiceCommands(app.screen)
        hits = [(hit.text, hit.help) async for hit in provider.search("roll back")]
        titles = [title for title, _ in hits]
        assert "Roll back checkout" not in titles and "Roll back payments" in titles
        assert (
            "Roll back search (disabled)",
            "disabled: search is read-only in the config: rollback is dangerous",
        ) in hits
        system = [c.title for c in app.get_system_commands(app.screen)]
        assert system.count("Roll back checkout") == 1
