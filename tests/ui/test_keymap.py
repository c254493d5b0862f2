"""The `keys:` section on the real WarroomApp: a remapped key works, the old one no longer
does, and `?` lists the new one; the config's id table mirrors the bindings the UI declares."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from pathlib import Path
from typing import Any

from textual.app import App
from textual.binding import Binding
from textual.pilot import Pilot

import tui.ui
from tests.waits import until
from tui.config import parse_config
from tui.config_keys import BINDINGS
from tui.ui.app import WarroomApp
from tui.ui.screens.confirm import ConfirmActionScreen
from tui.ui.screens.help import HelpScreen

from .dashboard_data import NOW, filled_store

SERVICES = "services:\n  - name: checkout\n  - name: payments\n"


def declared_bindings() -> dict[str, tuple[str, str]]:
    """Every binding of every class in tui/ui: id -> (view, keys), as tui/config_keys.py
    names the views; a binding without an id is an AssertionError."""
    views = {"DashboardScreen": "dashboard", "ServiceTable": "dashboard"}
    out: dict[str, tuple[str, str]] = {}
    for info in pkgutil.walk_packages(tui.ui.__path__, "tui.ui."):
        module = importlib.import_module(info.name)
        for name, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ != module.__name__ or "BINDINGS" not in cls.__dict__:
                continue
            view = "dashboard" if issubclass(cls, App) else views.get(name, name)
            for b in cls.__dict__["BINDINGS"]:
                assert isinstance(b, Binding) and b.id, f"{name}: {b} has no id"
                assert b.id not in out, f"{b.id} declared twice"
                out[b.id] = (view, b.key)
    return out


def test_config_knows_every_binding_id_and_its_default() -> None:
    assert declared_bindings() == BINDINGS


def app_with(keys: str, extra: str = "") -> WarroomApp:
    cfg = parse_config(f"{SERVICES}{extra}keys:\n{keys}", "keys.yaml")
    return WarroomApp(cfg, store=filled_store(), clock=lambda: NOW)


async def open_help(pilot: Pilot[Any], app: WarroomApp) -> HelpScreen:
    await pilot.press("question_mark")
    await until(pilot, lambda: isinstance(app.screen, HelpScreen))
    assert isinstance(app.screen, HelpScreen)
    return app.screen


async def test_remapped_key_works_the_old_one_does_not_and_help_shows_it() -> None:
    app = app_with("  app.signal: v\n  app.zoom_out: ctrl+z,underscore\n")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert app.signal == "p99"
        await pilot.press("s")
        await pilot.pause()
        assert app.signal == "p99"  # s is no longer bound
        await pilot.press("v")
        await until(pilot, lambda: app.signal == "p50")
        window = app.window
        await pilot.press("minus")
        await pilot.pause()
        assert app.window == window
        await pilot.press("underscore")
        await until(pilot, lambda: app.window > window)
        rows = dict((desc, keys) for keys, desc in (await open_help(pilot, app)).rows)
        assert rows["P50/P95/P99"] == "v"
        assert rows["Zoom out"] == "^z / _"


async def test_remapped_widget_and_modal_keys() -> None:
    """The service table's cursor and the help screen's own close keys follow `keys:` too;
    the help's title line names the close keys as they are bound."""
    app = app_with("  cursor.down: n\n  help.close: escape,c\n")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        table = app.dashboard.table
        first = table.selected
        await pilot.press("j")
        await pilot.pause()
        assert table.selected == first
        await pilot.press("n")
        await until(pilot, lambda: table.selected != first)
        help_screen = await open_help(pilot, app)
        assert ("n", "Down") in help_screen.rows
        subtitle = str(help_screen.query_one("VerticalScroll").border_subtitle)
        assert subtitle == "esc / c close this help"
        await pilot.press("q")  # not a close key any more
        await pilot.pause()
        assert app.screen is help_screen
        await pilot.press("c")
        await until(pilot, lambda: app.screen is app.dashboard)


async def test_action_keys_are_bindings_that_yield_to_a_remapped_dashboard_key(
    tmp_path: Path,
) -> None:
    """`r` rolls back through a binding; remap Flame onto `r` and the dashboard key wins:
    the rollback is left unbound, and help says why."""
    audit = f"audit: {{path: {tmp_path / 'audit.jsonl'}}}\n"
    rollback = "actions:\n  rollback: {exec: [echo, '{service}']}\n"
    app = app_with("  app.theme: T\n", audit + rollback)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert any(b.id == "action.rollback" for _, b in app.dashboard._bindings)
        await pilot.press("r")
        await until(pilot, lambda: isinstance(app.screen, ConfirmActionScreen))
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is app.dashboard)

    app = app_with("  app.flame: r\n", audit + rollback)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("r")  # Flame: checkout has no profile, which it says
        await until(pilot, lambda: any("no profile" in n.message for n in app._notifications))
        assert app.screen is app.dashboard
        rows = (await open_help(pilot, app)).rows
        assert ("r", "Flame") in rows
        assert ("r", "rollback: disabled, key 'r' is already bound to Flame") in rows
