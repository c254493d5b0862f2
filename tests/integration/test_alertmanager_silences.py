"""The silences list, expiring one, and an alert's annotations, against a real Alertmanager.

Silences are created through Alertmanager's own API, listed by `AlertmanagerSource`, shown in
the real `AlertsPane` driven with Pilot, and expired from it; Alertmanager's API and the
audit log are the witnesses. A closed port, and an Alertmanager stopped between listing and
expiring, are the dead one.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from textual.app import App, ComposeResult
from textual.widgets import Static, TabbedContent

from tests.integration.test_alertmanager import iso, post_alerts, run_alertmanager
from tests.servers import free_port
from tests.waits import until as wait_until
from tui.config import AlertmanagerConfig, Duration
from tui.core.actions.audit import read_audit
from tui.sources.alertmanager import AlertmanagerSource, Silence, format_matchers, user_at_host
from tui.ui.screens.help import HelpScreen
from tui.ui.screens.silence import ExpireSilenceScreen
from tui.ui.widgets.alerts_pane import AlertsPane

pytestmark = pytest.mark.integration

RUNBOOK = "https://runbooks.example/checkout/high-latency"


@pytest.fixture(scope="module")
def am_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with run_alertmanager(tmp_path_factory.mktemp("alertmanager-silences")) as url:
        yield url


def post_alert(
    url: str, tag: str, name: str = "HighLatency", age: float = 120.0, **annotations: str
) -> None:
    now = time.time()
    post_alerts(
        url,
        [
            {
                "labels": {"alertname": name, "service": "checkout", "test": tag},
                "annotations": annotations,
                "startsAt": iso(now - age),
                "endsAt": iso(now + 3600),
            }
        ],
    )


def create_silence(url: str, tag: str, starts_in: float = 0.0, comment: str = "deploy") -> str:
    now = time.time()
    body = {
        "matchers": [
            {"name": "test", "value": tag, "isRegex": False, "isEqual": True},
            {"name": "alertname", "value": "High.*", "isRegex": True, "isEqual": True},
        ],
        "startsAt": iso(now + starts_in),
        "endsAt": iso(now + starts_in + 3600),
        "createdBy": "dave@ops",
        "comment": comment,
    }
    r = httpx.post(f"{url}/api/v2/silences", json=body, timeout=5)
    r.raise_for_status()
    return str(r.json()["silenceID"])


def silence_state(url: str, silence_id: str) -> str:
    r = httpx.get(f"{url}/api/v2/silence/{silence_id}", timeout=5)
    r.raise_for_status()
    return str(r.json()["status"]["state"])


class PaneApp(App[None]):
    def __init__(self, source: AlertmanagerSource) -> None:
        super().__init__()
        self.source = source

    def compose(self) -> ComposeResult:
        yield AlertsPane(source=self.source, id="alerts")

    async def refresh_alerts(self) -> None:
        await self.source.refresh_once()
        self.query_one(AlertsPane).update(self.source.alerts, self.source.status)


def mine(pane: AlertsPane, tag: str) -> list[Silence]:
    return [s for s in pane.silence_rows if any(m["value"] == tag for m in s.matchers)]


def text_of(app: App[None], selector: str) -> str:
    return str(app.query_one(selector, Static).render())


async def test_silences_listed_then_one_expired_from_the_pane(am_url: str, tmp_path: Path) -> None:
    tag = f"sil-{free_port()}"
    post_alert(am_url, tag, summary="checkout P99 above SLO")
    active_id = create_silence(am_url, tag)
    pending_id = create_silence(am_url, tag, starts_in=600, comment="maintenance tonight")
    audit = tmp_path / "audit.jsonl"
    src = AlertmanagerSource(
        AlertmanagerConfig(url=am_url, filters=[f'test="{tag}"']), audit_path=str(audit)
    )
    app = PaneApp(src)
    try:
        async with app.run_test(size=(140, 30)) as pilot:
            pane = app.query_one(AlertsPane)
            for _ in range(50):  # until Alertmanager applied the silence to the alert
                await app.refresh_alerts()
                if pane.rows and pane.rows[0].state == "suppressed":
                    break
                await pilot.pause(0.1)
            await pilot.pause()
            assert [(s.id, s.state) for s in mine(pane, tag)] == [
                (active_id, "active"),
                (pending_id, "pending"),
            ]
            assert text_of(app, "#silences-status") == (
                "silences: 1 active, 1 pending (e expires the selected one)"
            )
            table = pane.silences_table
            assert table.display and not table.has_class("-none")
            row = [str(c) for c in table.get_row_at(0)]
            assert row[0] in ("59m", "1h00m") and row[1] == "active"
            assert row[2] == f'test="{tag}", alertname=~"High.*"'
            assert row[3:] == ["dave@ops", "deploy"]
            assert [str(c) for c in table.get_row_at(1)][:2] == ["starts 9m", "pending"]

            # on the silenced alert, e offers the silence that mutes it; Cancel has the focus
            pane.table.focus()
            await pilot.press("e")
            await pilot.pause()
            screen = app.screen
            assert isinstance(screen, ExpireSilenceScreen) and screen.silence.id == active_id
            assert app.focused is not None and app.focused.id == "expire-cancel"
            assert screen.who == user_at_host()
            await pilot.press("enter")
            await pilot.pause()
            assert not isinstance(app.screen, ExpireSilenceScreen)
            assert silence_state(am_url, active_id) == "active"
            assert not audit.exists()  # cancelled: nothing asked, nothing recorded

            # in the silences list, e expires its selected row once confirmed
            table.focus()
            await pilot.press("down", "e")
            await pilot.pause()
            screen = app.screen
            assert isinstance(screen, ExpireSilenceScreen) and screen.silence.id == pending_id
            await pilot.press("escape")
            await pilot.pause()
            await pilot.press("up", "e")
            await pilot.pause()
            assert isinstance(app.screen, ExpireSilenceScreen)
            assert app.screen.silence.id == active_id
            await pilot.click("#expire-confirm")
            await wait_until(
                pilot, lambda: silence_state(am_url, active_id) == "expired", "the expiry"
            )
            await wait_until(
                pilot, lambda: [s.id for s in mine(pane, tag)] == [pending_id], "the list"
            )
            assert silence_state(am_url, pending_id) == "pending"
            assert any(f"expired silence {active_id[:8]}" in n.message for n in app._notifications)

            # the next refresh lists what Alertmanager says, and the alert notifies again
            for _ in range(50):
                await app.refresh_alerts()
                if pane.rows and pane.rows[0].state == "active":
                    break
                await pilot.pause(0.1)
            assert [s.id for s in mine(pane, tag)] == [pending_id]
            assert pane.rows[0].state == "active"
    finally:
        await src.stop()
    started, finished = read_audit(audit).records
    for rec in (started, finished):
        assert rec["action"] == "expire-silence" and rec["silence_id"] == active_id
        assert rec["user"] == user_at_host() and rec["kind"] == "silence"
        assert rec["comment"] == "deploy" and rec["service"] == "(no service)"
        assert format_matchers(rec["matchers"]) == f'test="{tag}", alertname=~"High.*"'
    assert (started["event"], started["status"]) == ("started", "requested")
    assert (finished["event"], finished["status"]) == ("finished", "ok")


async def test_annotations_shown_and_runbook_copied(am_url: str) -> None:
    tag = f"ann-{free_port()}"
    post_alert(
        am_url,
        tag,
        summary="checkout P99 above SLO",
        description="p99 1.2s for 10m",
        runbook_url=RUNBOOK,
        dashboard="https://grafana.example/d/checkout",
    )
    post_alert(am_url, tag, name="NoRunbook", age=600, summary="nothing to read")
    src = AlertmanagerSource(AlertmanagerConfig(url=am_url, filters=[f'test="{tag}"']))
    app = PaneApp(src)
    try:
        async with app.run_test(size=(200, 30)) as pilot:
            await app.refresh_alerts()
            await pilot.pause()
            pane = app.query_one(AlertsPane)
            assert [a.name for a in pane.rows] == ["HighLatency", "NoRunbook"]
            assert text_of(app, "#alerts-detail") == (
                "summary: checkout P99 above SLO · description: p99 1.2s for 10m · "
                f"runbook: {RUNBOOK} · dashboard: https://grafana.example/d/checkout"
            )
            pane.table.focus()
            await pilot.press("c")
            await pilot.pause()
            assert app.clipboard == RUNBOOK
            assert any(
                n.message == f"copied runbook URL of HighLatency: {RUNBOOK}"
                for n in app._notifications
            )
            # the next alert has none: its line changes, c says so and copies nothing
            await pilot.press("down")
            await pilot.pause()
            assert text_of(app, "#alerts-detail") == "summary: nothing to read"
            await pilot.press("c")
            await pilot.pause()
            assert app.clipboard == RUNBOOK
            assert any(
                n.message == "NoRunbook has no runbook_url annotation" for n in app._notifications
            )
            # no silences in this Alertmanager for the tag, none at all: the section is hidden
            assert not mine(pane, tag)
    finally:
        await src.stop()


async def test_dead_alertmanager_while_listing_is_a_line_not_a_traceback() -> None:
    src = AlertmanagerSource(AlertmanagerConfig(url=f"http://127.0.0.1:{free_port()}"))
    app = PaneApp(src)
    try:
        async with app.run_test(size=(120, 24)) as pilot:
            await app.refresh_alerts()
            await pilot.pause()
            status = text_of(app, "#alerts-status")
            assert status.startswith("alertmanager down since ") and "ConnectError" in status
            line = text_of(app, "#silences-status")
            assert line.startswith("silences not current: GET /api/v2/alerts: ConnectError")
            assert line.endswith("(showing last known: 0 active, 0 pending)")
            assert app.query_one("#silences-status").has_class("-bad")
            assert app.query_one(AlertsPane).silences_table.has_class("-none")
            # nothing to expire: a bell and a hint, no dialog
            app.query_one(AlertsPane).table.focus()
            await pilot.press("e")
            await pilot.pause()
            assert not isinstance(app.screen, ExpireSilenceScreen)
            assert any(n.message.startswith("no silence selected") for n in app._notifications)
    finally:
        await src.stop()


async def test_alertmanager_gone_when_expiring_says_so_and_audits(tmp_path: Path) -> None:
    audit = tmp_path / "audit.jsonl"
    tag = f"gone-{free_port()}"
    with run_alertmanager(tmp_path / "am") as url:
        silence_id = create_silence(url, tag)
        src = AlertmanagerSource(AlertmanagerConfig(url=url), audit_path=str(audit))
        await src.refresh_once()
    # Alertmanager is stopped now; the pane still lists what it last said
    app = PaneApp(src)
    try:
        async with app.run_test(size=(120, 24)) as pilot:
            pane = app.query_one(AlertsPane)
            pane.update(src.alerts, src.status)
            await pilot.pause()
            assert [s.id for s in pane.silence_rows] == [silence_id]
            pane.silences_table.focus()
            await pilot.press("e")
            await pilot.pause()
            assert isinstance(app.screen, ExpireSilenceScreen)
            await pilot.click("#expire-confirm")
            await wait_until(
                pilot, lambda: "failed" in text_of(app, "#silences-status"), "the failure line"
            )
            line = text_of(app, "#silences-status")
            assert line.startswith(
                f"expire of silence {silence_id[:8]} failed: "
                f"DELETE /api/v2/silence/{silence_id}: ConnectError"
            )
            assert app.query_one("#silences-status").has_class("-bad")
            assert [s.id for s in pane.silence_rows] == [silence_id]  # still listed: not expired
            assert any(n.message == line for n in app._notifications)
    finally:
        await src.stop()
    started, finished = read_audit(audit).records
    assert started["status"] == "requested" and started["silence_id"] == silence_id
    assert finished["event"] == "finished" and finished["action"] == "expire-silence"
    assert finished["status"].startswith("error: DELETE /api/v2/silence/")


def test_silences_from_the_api_skip_what_is_unusable() -> None:
    good = {
        "id": "0f4c",
        "status": {"state": "active"},
        "matchers": [{"name": "service", "value": "api", "isRegex": False, "isEqual": True}],
        "startsAt": "2026-12-07T10:00:00.123456789Z",
        "endsAt": "2026-12-07T11:00:00Z",
        "createdBy": "a@b",
        "comment": "c",
    }
    s = Silence.from_api(good)
    assert s.service == "api" and s.ends_at is not None and s.starts_at is not None
    assert s.ends_at - s.starts_at == pytest.approx(3600 - 0.123456, abs=1e-3)
    bad_answers: list[object] = [
        {},
        {"id": 3},
        {**good, "matchers": "x"},
        {**good, "status": "active"},
        [],
    ]
    for bad in bad_answers:
        with pytest.raises(ValueError):
            Silence.from_api(bad)
    ops = [
        {"name": "a", "value": "1", "isRegex": False, "isEqual": False},
        {"name": "b", "value": "x|y", "isRegex": True, "isEqual": False},
    ]
    assert format_matchers(ops) == 'a!="1", b!~"x|y"'


async def test_dashboard_alerts_tab_lists_silences_and_help_has_the_keys(am_url: str) -> None:
    """Wired through the real app: the pane finds the app's Alertmanager source."""
    import dataclasses

    from tests.ui.dashboard_data import NOW, demo_config, filled_store
    from tui.ui.app import WarroomApp

    tag = f"dash-{free_port()}"
    post_alert(am_url, tag, summary="checkout P99 above SLO", runbook_url=RUNBOOK)
    silence_id = create_silence(am_url, tag)
    cfg = dataclasses.replace(
        demo_config(),
        alertmanager=AlertmanagerConfig(url=am_url, filters=[f'test="{tag}"'], refresh=Duration(1)),
    )
    app = WarroomApp(cfg, store=filled_store(), clock=lambda: NOW, start_sources=True)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_until(
            pilot, lambda: app.panes_ready and app.alertmanager is not None, "the source"
        )
        await wait_until(pilot, lambda: len(app.alerts) == 1, "the alert")
        app.dashboard.query_one("#detail", TabbedContent).active = "tab-alerts"
        pane = app.dashboard.query_one(AlertsPane)
        await wait_until(pilot, lambda: silence_id in [s.id for s in pane.silence_rows], "it")
        await pilot.pause()
        text = "\n".join(s.text for s in app.screen._compositor.render_strips())
        assert f'test="{tag}", alertname=~"High.*"' in text and "dave@ops" in text
        assert f"runbook: {RUNBOOK}" in text
        await pilot.press("question_mark")
        await pilot.pause()
        help_screen = app.screen
        assert isinstance(help_screen, HelpScreen)
        rows = dict((d, k) for k, d in help_screen.rows)
        assert rows.get("Expire silence (Alerts tab)") == "e"
        assert rows.get("Copy runbook URL (Alerts tab)") == "c"
        assert rows.get("Filter services") == "/"


async def test_a_source_without_silences_never_lists_them(am_url: str) -> None:
    """`warroom record` keeps alerts only: its source skips GET /api/v2/silences."""
    tag = f"nosil-{free_port()}"
    post_alert(am_url, tag)
    create_silence(am_url, tag)
    cfg = AlertmanagerConfig(url=am_url, filters=[f'test="{tag}"'])
    listing, alerts_only = AlertmanagerSource(cfg), AlertmanagerSource(cfg, with_silences=False)
    try:
        assert await listing.refresh_once() is not None
        assert any(s.comment == "deploy" for s in listing.silences)
        assert await alerts_only.refresh_once() is not None
        assert alerts_only.silences == [] and alerts_only.silences_error == ""
    finally:
        await listing.stop()
        await alerts_only.stop()
