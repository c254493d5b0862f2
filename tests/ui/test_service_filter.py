"""`/` on the service table: Pilot drives the real dashboard over a filled MetricStore."""

from __future__ import annotations

from dataclasses import replace

from tui.ui.app import WarroomApp
from tui.ui.screens.help import HelpScreen
from tui.ui.widgets.service_table import ServiceTable

from .dashboard_data import NOW, demo_config, filled_store, make_app


def screen_text(app: WarroomApp) -> str:
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


def shown(table: ServiceTable) -> list[str]:
    return [r.name for r in table.rows]


async def test_slash_filters_by_name_and_label_and_esc_clears() -> None:
    store = filled_store()
    store.services["payments"].labels["team"] = "Money"  # a label a source reported
    cfg = demo_config()
    cfg.services[2] = replace(cfg.services[2], namespace="web", labels={"tier": "edge"})
    app = WarroomApp(cfg, store=store, clock=lambda: NOW)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        table = app.screen.query_one(ServiceTable)
        everything = shown(table)
        assert len(everything) == 12 and "filter:" not in screen_text(app)

        await pilot.press("slash", "s", "v", "c", "-", "0")
        assert shown(table) == [f"svc-0{i}" for i in range(6)]
        text = screen_text(app)
        assert " filter: svc-0▏ (6 of 12)" in text
        # letters went into the filter, not to the dashboard's keys (s: signal, 0..: none)
        assert app.signal == "p99"
        assert table.selected == "svc-00"  # checkout was filtered out: the best match

        await pilot.press("1")
        assert shown(table) == ["svc-01"] and table.selected == "svc-01"
        await pilot.press("backspace", "backspace", "backspace")
        assert shown(table) == [n for n in everything if "sv" in n]
        assert table.selected == "svc-01"  # still shown: still selected

        # case-insensitive, and a label=value matches
        await pilot.press("ctrl+u", "m", "O", "n")
        assert shown(table) == ["payments"]
        await pilot.press("ctrl+u", *"team=money")
        assert shown(table) == ["payments"]
        assert "(1 of 12)" in screen_text(app)
        # and the config's labels, namespace and version
        await pilot.press("ctrl+u", *"tier=ed")
        assert shown(table) == ["search"]
        await pilot.press("ctrl+u", *"namespace=web")
        assert shown(table) == ["search"]
        await pilot.press("ctrl+u", *"team=money")

        # enter keeps the filter and gives the keys back to the dashboard
        await pilot.press("enter", "s")
        assert app.signal != "p99" and shown(table) == ["payments"]
        assert " filter: team=money (1 of 12)  /: edit  esc: clear" in screen_text(app)

        # a click lands on the row drawn there: the filter line pushes the rows down
        assert table.row_at(0) is None and table.row_at(1) is None and table.row_at(2) == 0

        await pilot.press("escape")
        assert shown(table) == everything and table.filter_text == ""
        assert table.selected == "payments"
        assert table.row_at(1) == 0
        assert "filter:" not in screen_text(app)


async def test_filter_survives_refreshes_and_new_services() -> None:
    store = filled_store()
    app = WarroomApp(make_app(store=store).cfg, store=store, clock=lambda: NOW)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        table = app.screen.query_one(ServiceTable)
        await pilot.press("slash", "a", "u", "t", "h", "enter")
        assert shown(table) == ["auth"]
        # a new service reports and the dashboard redraws from the store
        for t in (NOW - 10, NOW - 5):
            store.add("auth-gateway", "p99", t, 0.05)
            store.add("billing", "p99", t, 0.05)
        app.redraw_now()
        await pilot.pause()
        assert shown(table) == ["auth", "auth-gateway"]
        assert "(2 of 14)" in screen_text(app)
        await pilot.press("down")
        assert table.selected == "auth-gateway"
        app.redraw_now()
        assert table.selected == "auth-gateway" and table.filter_text == "auth"


async def test_no_match_says_so_and_selects_nothing() -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        table = app.screen.query_one(ServiceTable)
        await pilot.press("slash", *"zzz")
        assert shown(table) == [] and table.selected is None
        text = screen_text(app)
        assert "no service matches 'zzz' (esc clears the filter)" in text
        assert "(0 of 12)" in text
        await pilot.press("escape")
        assert table.selected is not None and len(shown(table)) == 12


async def test_help_lists_the_filter_key() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("question_mark")
        await pilot.pause()
        help_screen = app.screen
        assert isinstance(help_screen, HelpScreen)
        rows = dict((d, k) for k, d in help_screen.rows)
        assert rows.get("Filter services") == "/"
