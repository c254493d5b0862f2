"""Pilot tests: a small host app with the confirm screen, the action log and a real runner."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.app import App, ComposeResult
from textual.widgets import Input, Static

from tests.waits import until as _until
from tui.config import parse_config
from tui.core.actions import bindable_actions, resolve_action
from tui.core.actions.audit import read_audit
from tui.sources.actions import ActionRunner
from tui.ui.action_flow import request_action, request_builtin
from tui.ui.screens.confirm import ConfirmActionScreen
from tui.ui.widgets.action_log import ActionLog

DATA = Path(__file__).resolve().parents[1] / "data" / "actions"


class ActionsApp(App[None]):
    """Hosts the pieces the dashboard integrates: keys from bindable_actions, the dialog,
    the runner feeding the ActionLog."""

    def __init__(
        self,
        cfg,
        audit_path,
        service: str = "checkout",
        labels=None,
        metric_store=None,
        baseline_store=None,
        now=None,
    ) -> None:
        super().__init__()
        self.cfg, self.audit_path, self.service, self.labels = cfg, audit_path, service, labels
        self.metric_store, self.baseline_store, self.now = metric_store, baseline_store, now
        self.results = []

    def compose(self) -> ComposeResult:
        yield Static(id="keys", markup=False)
        yield ActionLog()

    def on_mount(self) -> None:
        log = self.query_one(ActionLog)
        self.runner = ActionRunner(self.audit_path, log.write_output, grace=0.3, who="op@test")
        lines = []
        for action, enabled, reason in bindable_actions(self.cfg, self.service):
            if not enabled:
                lines.append(f"{action.key} {action.title} (disabled: {reason})")
            elif action.key:
                self.bind(action.key, f"run_action('{action.name}')", description=action.title)
                lines.append(f"{action.key} {action.title}")
            else:
                lines.append(f"palette: {action.title}")
        self.query_one("#keys", Static).update("\n".join(lines))

    def action_run_action(self, name: str) -> None:
        action = resolve_action(self.cfg, self.service, name, self.labels)
        log = self.query_one(ActionLog)
        if action.kind == "builtin":
            request_builtin(
                self,
                action,
                self.runner,
                log,
                cfg=self.cfg,
                metric_store=self.metric_store,
                baseline_store=self.baseline_store,
                now=self.now,
                on_done=self.results.append,
            )
        else:
            request_action(self, action, self.runner, log, on_done=self.results.append)


def _cfg(marker: Path, extra: str = "") -> object:
    return parse_config(
        "actions:\n  rollback:\n"
        f"    exec: [{DATA}/record_run.sh, '{marker}', 'deployment/{{service}}']\n"
        "  quick:\n"
        f"    exec: [{DATA}/record_run.sh, '{marker}', 'quick-{{service}}', '0.4']\n"
        "    key: x\n    confirm: none\n"
        + extra
        + "services:\n  - name: checkout\n    namespace: shop\n"
    )


@pytest.fixture
def paths(tmp_path: Path):
    return tmp_path / "runs.txt", tmp_path / "audit.jsonl"


async def test_r_shows_exact_command_and_a_stray_enter_runs_nothing(paths) -> None:
    marker, audit = paths
    app = ActionsApp(_cfg(marker), audit)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("r")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ConfirmActionScreen)
        command = str(screen.query_one("#command", Static).render())
        assert command == f"{DATA}/record_run.sh {marker} deployment/checkout"
        assert "rollback checkout" in str(screen.query_one("#title", Static).render())
        assert app.focused is not None and app.focused.id == "typed"
        await pilot.pause(0.35)
        await pilot.press("enter")  # a stray Enter: says what to type, runs nothing
        await pilot.pause()
        assert isinstance(app.screen, ConfirmActionScreen)
        prompt = str(app.screen.query_one("#prompt", Static).render())
        assert prompt == "Nothing typed: type checkout to confirm, Esc cancels"
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmActionScreen)
    assert not marker.exists()
    assert [r["event"] for r in read_audit(audit).records] == ["cancelled"]


async def test_type_name_and_confirm_runs_and_audits(paths) -> None:
    marker, audit = paths
    app = ActionsApp(_cfg(marker), audit)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("r")
        await pilot.pause(0.35)
        await pilot.press(*"checkout")
        assert app.screen.query_one("#typed", Input).value == "checkout"
        await pilot.press("enter")
        await _until(pilot, lambda: app.results)
        log = app.query_one(ActionLog)
        assert "rolled back deployment/checkout" in log.lines
        assert "now at previous revision" in log.lines
        assert log.status_text.startswith("rollback checkout: ok, exit 0")
    assert marker.read_text() == "run deployment/checkout\n"
    recs = read_audit(audit).records
    assert [r["event"] for r in recs] == ["started", "finished"]
    assert recs[1]["exit"] == 0 and recs[1]["user"] == "op@test"
    assert recs[1]["output_tail"] == ["rolled back deployment/checkout", "now at previous revision"]


async def test_wrong_name_cannot_confirm(paths) -> None:
    marker, audit = paths
    app = ActionsApp(_cfg(marker), audit)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("r")
        await pilot.pause(0.35)
        await pilot.press(*"checkou", "enter")
        await _until(
            pilot,
            lambda: "'checkou' is not" in str(app.screen.query_one("#prompt", Static).render()),
            "the prompt for the wrong name",
        )
        assert isinstance(app.screen, ConfirmActionScreen)
        assert app.screen.query_one("#confirm").disabled
        # Enter on a wrong name says what is expected (it said nothing)
        prompt = str(app.screen.query_one("#prompt", Static).render())
        assert "'checkou' is not 'checkout'" in prompt and "Esc cancels" in prompt
        await pilot.press("escape")
        await pilot.pause()
    assert not marker.exists()
    assert [r["event"] for r in read_audit(audit).records] == ["cancelled"]


async def test_r_twice_fast_opens_one_dialog(paths) -> None:
    marker, audit = paths
    app = ActionsApp(_cfg(marker), audit)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("r", "r")
        await pilot.pause()
        assert len(app.screen_stack) == 2  # one dialog; the second r went into the name box
        assert app.screen.query_one("#typed", Input).value == "r"


async def test_no_confirm_action_pressed_twice_runs_once(paths) -> None:
    marker, audit = paths
    app = ActionsApp(_cfg(marker), audit)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("x", "x")
        await _until(pilot, lambda: len(app.results) == 2)
        statuses = sorted(r.status for r in app.results)
        assert statuses == ["busy", "ok"]
    assert marker.read_text() == "run quick-checkout\n"
    assert [r["event"] for r in read_audit(audit).records] == ["started", "refused", "finished"]


async def test_read_only_nothing_dangerous_bound(paths) -> None:
    marker, audit = paths
    cfg = _cfg(marker)
    cfg.read_only = True
    app = ActionsApp(cfg, audit)
    async with app.run_test(size=(120, 40)) as pilot:
        keys = str(app.query_one("#keys", Static).render())
        assert "r rollback (disabled: read-only mode: rollback is dangerous)" in keys
        await pilot.press("r")
        await pilot.pause(0.2)
        assert not isinstance(app.screen, ConfirmActionScreen)
    assert not marker.exists() and read_audit(audit).records == []


async def test_injected_label_refused_without_dialog(paths) -> None:
    """A discovered service is named by its series' label (OTLP service.name): a hostile one
    must not reach the command."""
    marker, audit = paths
    app = ActionsApp(_cfg(marker), audit, service="a; rm -rf /")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("r")
        await _until(pilot, lambda: app.results, "the refusal")
        assert not isinstance(app.screen, ConfirmActionScreen)
        assert app.results[0].status == "refused"
        assert "'a; rm -rf /'" in app.query_one(ActionLog).status_text
    assert not marker.exists()
    (rec,) = read_audit(audit).records
    assert rec["event"] == "refused" and "unsafe value for {service}" in rec["reason"]


async def test_disabled_palette_entry_is_refused_and_audited(paths) -> None:
    marker, audit = paths
    cfg = _cfg(marker)
    cfg.read_only = True
    app = ActionsApp(cfg, audit)
    async with app.run_test(size=(120, 40)) as pilot:
        row = next(r for r in bindable_actions(cfg, "checkout") if r[0].name == "rollback")
        request_action(
            app,
            row[0],
            app.runner,
            app.query_one(ActionLog),
            on_done=app.results.append,
            disabled=row[2],
        )
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmActionScreen)
        assert app.results[0].status == "refused"
    assert not marker.exists()
    (rec,) = read_audit(audit).records
    assert rec["event"] == "refused" and rec["reason"].startswith("read-only mode")


async def test_escape_sequences_in_output_are_stripped(paths) -> None:
    _, audit = paths
    cfg = parse_config(
        "actions:\n  show:\n    exec: [/usr/bin/printf, '\\033[31mred\\033[0m\\tok\\a\\n']\n"
        "    confirm: none\n    key: r\n"
    )
    app = ActionsApp(cfg, audit)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("r")
        await _until(pilot, lambda: app.results)
        assert "red    ok" in app.query_one(ActionLog).lines
