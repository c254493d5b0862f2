"""The alerts pane and the silence dialog, driven with Pilot against a real Alertmanager.

The test app wires them exactly as the dashboard should: the source's alerts go to
`AlertsPane.update`, `AlertsPane.SilenceRequested` pushes `SilenceScreen`, and a confirmed
`SilenceRequest` goes to `AlertmanagerSource.silence`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from textual.app import App, ComposeResult
from textual.widgets import Input, Static, TabbedContent

from tests.integration.test_alertmanager import alert, post_alerts, run_alertmanager
from tests.servers import free_port
from tui.config import AlertmanagerConfig, Duration
from tui.core.actions.audit import read_audit
from tui.sources.alertmanager import Alert, AlertmanagerSource
from tui.ui.screens.help import HelpScreen
from tui.ui.screens.silence import SilenceRequest, SilenceScreen
from tui.ui.widgets.alerts_pane import AlertsPane, format_age

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def am_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with run_alertmanager(tmp_path_factory.mktemp("alertmanager-ui")) as url:
        yield url


class AlertsApp(App[None]):
    def __init__(self, source: AlertmanagerSource) -> None:
        super().__init__()
        self.source = source
        self.results: list[str] = []

    def compose(self) -> ComposeResult:
        yield AlertsPane(id="alerts")

    async def refresh_alerts(self) -> None:
        alerts = await self.source.refresh_once()
        self.query_one(AlertsPane).update(
            alerts if alerts is not None else self.source.alerts, self.source.status
        )

    def on_alerts_pane_silence_requested(self, message: AlertsPane.SilenceRequested) -> None:
        async def done(request: SilenceRequest | None) -> None:
            if request is None:
                self.results.append("cancelled")
                return
            res = await self.source.silence(
                request.alert, request.duration, request.comment, created_by=request.created_by
            )
            self.results.append(res.silence_id)
            await self.refresh_alerts()

        self.push_screen(SilenceScreen(message.alert, created_by="carol@wall"), done)


async def test_pane_groups_alerts_and_silence_is_confirmed_first(
    am_url: str, tmp_path: Path
) -> None:
    tag = f"ui-{free_port()}"
    now = time.time()
    post_alerts(
        am_url,
        [
            alert("HighLatency", "api", "page", "api P99 above SLO", now - 300, test=tag),
            alert("ErrorRate", "api", "page", "api errors", now - 60, test=tag),
            alert("DiskFull", "db", "page", "db disk full", now - 7200, test=tag),
        ],
    )
    src = AlertmanagerSource(
        AlertmanagerConfig(url=am_url, filters=[f'test="{tag}"']),
        audit_path=str(tmp_path / "audit.jsonl"),
    )
    app = AlertsApp(src)
    try:
        async with app.run_test(size=(120, 30)) as pilot:
            await app.refresh_alerts()
            await pilot.pause()
            pane = app.query_one(AlertsPane)
            assert [(a.service, a.name) for a in pane.rows] == [
                ("api", "ErrorRate"),
                ("api", "HighLatency"),
                ("db", "DiskFull"),
            ]
            table = pane.table
            assert [str(c) for c in table.get_row_at(0)][:4] == ["api", "active", "1m", "ErrorRate"]
            assert str(table.get_row_at(1)[0]) == ""  # service shown once per group
            assert str(table.get_row_at(2)[2]) == "2h00m"
            status = app.query_one("#alerts-status", Static)
            assert str(status.render()) == "alertmanager: 3 active, 0 suppressed"

            # s -> dialog with Cancel focused; Enter cancels
            table.focus()
            await pilot.press("down", "s")
            await pilot.pause()
            screen = app.screen
            assert isinstance(screen, SilenceScreen)
            assert screen.alert.name == "HighLatency"
            assert app.focused is not None and app.focused.id == "silence-cancel"
            shown = str(screen.query_one("#silence-matchers", Static).render())
            assert 'alertname="HighLatency"' in shown and 'service="api"' in shown
            assert "carol@wall" in str(screen.query_one("#silence-created-by", Static).render())
            await pilot.press("enter")
            await pilot.pause()
            assert app.results == ["cancelled"]
            assert not isinstance(app.screen, SilenceScreen)

            # confirm without a comment: refused inside the dialog
            await pilot.press("s")
            await pilot.pause()
            screen = app.screen
            assert isinstance(screen, SilenceScreen)
            screen.query_one("#silence-duration", Input).value = "30m"
            await pilot.click("#silence-confirm")
            await pilot.pause()
            assert isinstance(app.screen, SilenceScreen)
            assert "comment" in str(screen.query_one("#silence-error", Static).render())
            screen.query_one("#silence-comment", Input).value = "fix deploying"
            await pilot.pause(0.3)  # a Button ignores clicks during its 0.2 s press effect
            await pilot.click("#silence-confirm")
            for _ in range(50):
                await pilot.pause(0.1)
                if app.results[1:]:
                    break
            assert len(app.results) == 2
            silence_id = app.results[1]
            silences = httpx.get(f"{am_url}/api/v2/silences", timeout=5).json()
            (s,) = [s for s in silences if s["id"] == silence_id]
            assert s["createdBy"] == "carol@wall" and s["comment"] == "fix deploying"
            assert {m["name"]: m["value"] for m in s["matchers"]} == {
                "alertname": "HighLatency",
                "service": "api",
                "severity": "page",
                "test": tag,
            }
            # the pane shows it suppressed once Alertmanager applies the silence
            for _ in range(50):
                await app.refresh_alerts()
                await pilot.pause(0.1)
                if any(a.state == "suppressed" for a in pane.rows):
                    break
            assert [(a.name, a.state) for a in pane.rows] == [
                ("ErrorRate", "active"),
                ("HighLatency", "suppressed"),
                ("DiskFull", "active"),
            ]
    finally:
        await src.stop()
    _, rec = read_audit(tmp_path / "audit.jsonl").records
    assert rec["action"] == "silence" and rec["user"] == "carol@wall"
    assert rec["duration"] == 1800 and rec["status"] == "ok"


async def test_enter_in_a_field_never_confirms_and_escape_cancels(am_url: str) -> None:
    tag = f"ui-{free_port()}"
    post_alerts(am_url, [alert("Slow", "web", "page", "web slow", time.time(), test=tag)])
    src = AlertmanagerSource(AlertmanagerConfig(url=am_url, filters=[f'test="{tag}"']))
    app = AlertsApp(src)
    try:
        async with app.run_test(size=(120, 30)) as pilot:
            await app.refresh_alerts()
            app.query_one(AlertsPane).table.focus()
            await pilot.press("s")
            await pilot.pause()
            screen = app.screen
            assert isinstance(screen, SilenceScreen)
            screen.query_one("#silence-comment", Input).focus()
            await pilot.press("o", "k", "enter")
            await pilot.pause()
            assert app.screen is screen and app.results == []
            assert screen.query_one("#silence-comment", Input).value == "ok"
            assert app.focused is not None and app.focused.id != "silence-comment"
            await pilot.press("escape")
            await pilot.pause()
            assert app.results == ["cancelled"]
    finally:
        await src.stop()
    silences = httpx.get(f"{am_url}/api/v2/silences", timeout=5).json()
    assert not [s for s in silences if any(m["value"] == tag for m in s["matchers"])]


async def test_pane_shows_a_dead_alertmanager_and_keeps_last_alerts() -> None:
    src = AlertmanagerSource(AlertmanagerConfig(url=f"http://127.0.0.1:{free_port()}"))
    app = AlertsApp(src)
    try:
        async with app.run_test(size=(120, 20)) as pilot:
            await app.refresh_alerts()
            await pilot.pause()
            status = app.query_one("#alerts-status", Static)
            text = str(status.render())
            assert text.startswith("alertmanager down since ")
            assert "ConnectError" in text and "(showing last known: 0 active" in text
            assert status.has_class("-bad")
            # s with nothing selected does nothing (just a bell)
            app.query_one(AlertsPane).table.focus()
            await pilot.press("s")
            await pilot.pause()
            assert not isinstance(app.screen, SilenceScreen)
    finally:
        await src.stop()


async def test_alerts_given_before_the_pane_is_mounted_are_shown() -> None:
    pane = AlertsPane()
    early = Alert(
        "f1", {"alertname": "Early", "service": "api"}, {"summary": "s"}, "active", time.time() - 5
    )
    pane.update([early])

    class Late(App[None]):
        def compose(self) -> ComposeResult:
            yield pane

    async with Late().run_test() as pilot:
        await pilot.pause()
        assert [a.name for a in pane.rows] == ["Early"]
        assert str(pane.query_one("#alerts-status", Static).render()) == (
            "alertmanager: 1 active, 0 suppressed"
        )


def test_format_age() -> None:
    assert [format_age(s) for s in (None, 5, 125, 3 * 3600 + 300, 2 * 86400 + 4 * 3600)] == [
        "?",
        "5s",
        "2m",
        "3h05m",
        "2d04h",
    ]


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
async def test_dashboard_alerts_tab_shows_every_row(am_url: str, size: tuple[int, int]) -> None:
    """Issue 13 item 1: the header counted the alerts but the table was one line high."""
    import dataclasses

    from tests.ui.dashboard_data import NOW, demo_config, filled_store
    from tui.ui.app import WarroomApp

    tag = f"dash-{free_port()}"
    now = time.time()
    post_alerts(
        am_url,
        [
            alert("HighLatency", "checkout", "page", "checkout P99 above SLO", now - 300, test=tag),
            alert("ErrorRate", "checkout", "page", "checkout errors", now - 60, test=tag),
            alert("DiskFull", "ledger", "page", "ledger disk full", now - 7200, test=tag),
        ],
    )
    cfg = dataclasses.replace(
        demo_config(),
        alertmanager=AlertmanagerConfig(url=am_url, filters=[f'test="{tag}"'], refresh=Duration(1)),
    )
    app = WarroomApp(cfg, store=filled_store(), clock=lambda: NOW, start_sources=True)
    async with app.run_test(size=size) as pilot:
        for _ in range(100):
            if app.panes_ready and len(app.alerts) == 3:
                break
            await pilot.pause(0.05)
        app.dashboard.query_one("#detail", TabbedContent).active = "tab-alerts"
        await pilot.pause()
        text = "\n".join(s.text for s in app.screen._compositor.render_strips())
        for name in ("HighLatency", "ErrorRate", "DiskFull"):
            assert name in text, text
        assert "3 active" in text
        # item 19: `?` says how to reach the tabs and what the Alerts tab's keys do
        await pilot.press("question_mark")
        await pilot.pause()
        help_screen = app.screen
        assert isinstance(help_screen, HelpScreen)
        rows = dict((d, k) for k, d in help_screen.rows)
        assert rows.get("Silence alert (Alerts tab)") == "s"
        assert any(d.startswith("switch the detail tabs") for d in rows)
