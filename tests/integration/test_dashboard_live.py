"""End to end under Pilot: the demo service (OTel SDK process) -> the Hub's OTLP receiver ->
the store -> the dashboard's rows and status bar, with the app owning the Hub."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

from tests.waits import until
from tui.commands.demo import start_demo_service, stop_child
from tui.config import load_config
from tui.demo.config_text import demo_config_text
from tui.ui.app import WarroomApp
from tui.ui.widgets.service_table import ServiceTable
from tui.ui.widgets.status_bar import StatusBar

pytestmark = pytest.mark.integration


async def test_live_rows_arrive_in_the_dashboard(tmp_path: Path) -> None:
    cfg_path = tmp_path / "warroom.yaml"
    cfg_path.write_text(
        demo_config_text(
            0,  # the receiver binds a port the kernel picks and reports it
            ["checkout", "payments"],
            "1s",
            tmp_path / "profiles",
            tmp_path / "baselines",
            None,
        )
    )
    app = WarroomApp(load_config(cfg_path))  # no store, no hub: the app makes both
    child = None
    try:
        async with app.run_test(size=(120, 30)) as pilot:
            await until(pilot, lambda: app.hub is not None and bool(app.hub.receivers), "the hub")
            assert app.hub is not None
            receiver = app.hub.receivers[0]
            await until(pilot, lambda: receiver.status.state == "listening", "the receiver")
            _, port = receiver.bound_address
            child = start_demo_service(
                f"http://127.0.0.1:{port}",
                "checkout,payments",
                60.0,
                "",
                None,
                tmp_path / "demo.log",
            )
            table = app.screen.query_one(ServiceTable)

            def both_live() -> bool:
                rows = {r.name: r for r in table.rows}
                return all(
                    n in rows and rows[n].value is not None and bool(rows[n].qps)
                    for n in ("checkout", "payments")
                )

            with contextlib.suppress(AssertionError):  # the asserts below say what is missing
                await until(pilot, both_live, "rows of both services", timeout=30)
            rows = {r.name: r for r in table.rows}
            assert rows["checkout"].value is not None, (tmp_path / "demo.log").read_text()
            assert rows["payments"].qps and rows["payments"].qps > 0
            bar = "".join(ch for ch, _ in app.screen.query_one(StatusBar)._lines[0])
            assert f"otlp/http 127.0.0.1:{port}" in bar
            await pilot.press("q")
    finally:
        if child is not None:
            stop_child(child)
    assert app.hub is not None and not app.hub._running  # stopped on the way out
