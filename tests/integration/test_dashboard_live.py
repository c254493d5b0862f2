"""End to end under Pilot: the demo service (OTel SDK process) -> the Hub's OTLP receiver ->
the store -> the dashboard's rows and status bar, with the app owning the Hub."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.servers import free_port
from tui.commands.demo import demo_config_text, start_demo_service, stop_child
from tui.config import load_config
from tui.ui.app import WarroomApp
from tui.ui.widgets.service_table import ServiceTable
from tui.ui.widgets.status_bar import StatusBar

pytestmark = pytest.mark.integration


async def test_live_rows_arrive_in_the_dashboard(tmp_path: Path) -> None:
    port = free_port()
    cfg_path = tmp_path / "warroom.yaml"
    cfg_path.write_text(
        demo_config_text(
            port,
            ["checkout", "payments"],
            "1s",
            tmp_path / "profiles",
            tmp_path / "baselines",
            None,
        )
    )
    app = WarroomApp(load_config(cfg_path))  # no store, no hub: the app makes both
    child = start_demo_service(
        f"http://127.0.0.1:{port}", "checkout,payments", 60.0, "", None, tmp_path / "demo.log"
    )
    try:
        async with app.run_test(size=(120, 30)) as pilot:
            table = app.screen.query_one(ServiceTable)
            for _ in range(60):
                await pilot.pause(0.5)
                rows = {r.name: r for r in table.rows}
                if all(
                    n in rows and rows[n].value is not None and rows[n].qps
                    for n in ("checkout", "payments")
                ):
                    break
            rows = {r.name: r for r in table.rows}
            assert rows["checkout"].value is not None, (tmp_path / "demo.log").read_text()
            assert rows["payments"].qps and rows["payments"].qps > 0
            bar = "".join(ch for ch, _ in app.screen.query_one(StatusBar)._lines[0])
            assert f"otlp/http 127.0.0.1:{port}" in bar
            await pilot.press("q")
            await asyncio.sleep(0.2)
    finally:
        stop_child(child)
    assert app.hub is not None and not app.hub._running  # stopped on the way out
