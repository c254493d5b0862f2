"""Pilot tests on the real WarroomApp: the command palette lists the selected service's
actions (the only way to `restore previous baseline`), each through the same confirm dialog
and the same read-only refusal as its key, all audited."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import pytest
from textual.app import App
from textual.command import Command, CommandList, CommandPalette
from textual.pilot import Pilot

from tests.waits import armed_dialog
from tests.waits import until as _until
from tui.config import ActionConfig, AuditConfig, BaselineConfig, parse_config
from tui.core.actions.audit import read_audit
from tui.core.baseline import BaselineStore, Snapshot, build_snapshot
from tui.ui.app import WarroomApp
from tui.ui.screens.confirm import ConfirmActionScreen

from .dashboard_data import NOW, demo_config, filled_store, wait_for_panes


def _hits(app: App[Any]) -> list[tuple[str, str]]:
    if not isinstance(app.screen, CommandPalette):
        return []
    options = app.screen.query_one(CommandList).options
    return [(str(o.hit.text), str(o.hit.help)) for o in options if isinstance(o, Command)]


async def _palette(pilot: Pilot[Any], app: App[Any], query: str, title: str) -> str:
    """Open the palette, type `query`, wait for `title`; return its help line."""
    await pilot.press("ctrl+p")
    await _until(pilot, lambda: isinstance(app.screen, CommandPalette), what="palette")
    await pilot.press(*query)
    await _until(pilot, lambda: title in dict(_hits(app)), what=f"{title!r} in the palette")
    # every provider has answered: a later batch of hits re-sorts the list and moves the
    # highlight back to the top (with more services, the per-service entries come later)
    await _until(pilot, lambda: not _gathering(app), what="the palette's search done")
    return dict(_hits(app))[title]


def _gathering(app: App[Any]) -> bool:
    group = CommandPalette._GATHER_COMMANDS_GROUP
    return any(w.group == group and not w.is_finished for w in app.workers)


async def _choose(pilot: Pilot[Any], app: App[Any], title: str) -> None:
    """Move the highlight to `title` with the arrow keys and press Enter."""
    command_list = app.screen.query_one(CommandList)
    for _ in range(len(_hits(app)) + 1):
        i = command_list.highlighted
        if i is not None and _hits(app)[i][0] == title:
            break
        await pilot.press("down")
    await pilot.press("enter")
    await _until(pilot, lambda: not isinstance(app.screen, CommandPalette), what="palette closed")


def _current_id(store: BaselineStore) -> str | None:
    current = store.current("checkout")
    return None if current is None else current.id


def _snapshot(version: str, taken_at: float) -> Snapshot:
    return build_snapshot(
        "checkout",
        {"p99": [0.1 + 0.001 * (i % 5) for i in range(40)]},
        step=5.0,
        version=version,
        taken_by="ci@host",
        taken_at=taken_at,
    )


async def test_palette_restores_the_previous_baseline(tmp_path: Path) -> None:
    cfg = demo_config()
    cfg.audit = AuditConfig(path=str(tmp_path / "audit.jsonl"))
    cfg.baseline = BaselineConfig(dir=str(tmp_path / "baselines"))
    bstore = BaselineStore(cfg.baseline.dir)
    v1 = bstore.save(_snapshot("v1.4.1", NOW - 7200))
    v2 = bstore.save(_snapshot("v1.4.2", NOW - 3600))
    assert _current_id(bstore) == v2
    app = WarroomApp(cfg, store=filled_store(), clock=lambda: NOW)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for_panes(app, pilot)
        assert app.dashboard.table.selected == "checkout"
        title = "Restore previous baseline of checkout"
        help_text = await _palette(pilot, app, "restore previous", title)
        assert help_text == "make the previous baseline current again · yes confirm"
        await _choose(pilot, app, title)
        await _until(pilot, lambda: isinstance(app.screen, ConfirmActionScreen), what="dialog")
        dialog = app.screen
        extra = str(dialog.query_one("#extra").render())
        assert "restore:       v1.4.1" in extra and "replaces:      v1.4.2" in extra
        assert _current_id(bstore) == v2  # nothing happens before the confirm
        await armed_dialog(pilot)
        await pilot.press("y")
        await _until(
            pilot,
            lambda: _current_id(BaselineStore(cfg.baseline.dir)) == v1,
            what="previous baseline current",
        )
        await _until(pilot, lambda: app.runner is not None and not app.runner.running())
    records = read_audit(cfg.audit.path).records
    assert [(r["event"], r["action"]) for r in records] == [
        ("started", "restore_baseline"),
        ("finished", "restore_baseline"),
    ]
    fin = records[-1]
    assert fin["status"] == "ok" and fin["service"] == "checkout"
    assert fin["baseline_versions"] == {
        "replaced": "v1.4.2",
        "restored": "v1.4.1",
        "restored_id": v1,
    }


async def test_palette_lists_every_action_and_runs_a_custom_one(tmp_path: Path) -> None:
    """A custom action whose key clashes with the dashboard's `t` (theme): the key stays the
    theme's, the palette still runs the action."""
    cfg = demo_config()
    cfg.audit = AuditConfig(path=str(tmp_path / "audit.jsonl"))
    cfg.baseline = BaselineConfig(dir=str(tmp_path / "baselines"))
    marker = tmp_path / "purged"
    cfg.actions = {
        "rollback": ActionConfig(exec=["kubectl", "rollout", "undo", "deployment/{service}"]),
        "purge_cache": ActionConfig(
            exec=[sys.executable, "-c", f"open({str(marker)!r}, 'w').write('{{service}}')"],
            key="t",
            confirm="none",
        ),
    }
    app = WarroomApp(cfg, store=filled_store(), clock=lambda: NOW)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for_panes(app, pilot)
        theme = app.theme
        await pilot.press("t")
        await pilot.pause()
        assert app.theme != theme and not marker.exists()  # `t` is still the theme key
        await pilot.press("ctrl+p")
        await _until(pilot, lambda: isinstance(app.screen, CommandPalette))
        await pilot.press(*"checkout")
        want = {
            "Roll back checkout": "kubectl rollout undo deployment/checkout · key r · type confirm",
            "Refresh baseline of checkout": "snapshot the current window as the new baseline · key b · yes confirm",
            "Restore previous baseline of checkout": "make the previous baseline current again · yes confirm",
        }
        await _until(
            pilot,
            lambda: set(want) | {"Run purge cache for checkout"} <= set(dict(_hits(app))),
            what="all four actions listed",
        )
        hits = dict(_hits(app))
        for title, help_text in want.items():
            assert hits[title] == help_text
        assert hits["Run purge cache for checkout"].endswith(" · none confirm")  # no key note
        await _choose(pilot, app, "Run purge cache for checkout")
        await _until(pilot, marker.exists, what="the action ran")
        await _until(pilot, lambda: not app.runner.running())
        assert marker.read_text() == "checkout"
    events = [(r["event"], r["action"]) for r in read_audit(cfg.audit.path).records]
    assert events == [("started", "purge_cache"), ("finished", "purge_cache")]


@pytest.mark.parametrize(
    ("mode", "reason"),
    [
        ("read_only: true\n", "read-only mode: rollback is dangerous"),
        ("", "checkout is read-only in the config: rollback is dangerous"),
    ],
    ids=["global", "per-service"],
)
async def test_read_only_real_app_r_refused_palette_says_why(
    tmp_path: Path, mode: str, reason: str
) -> None:
    marker = tmp_path / "rolled-back"
    audit = tmp_path / "audit.jsonl"
    per_service = "    read_only: true\n" if not mode else ""
    cfg = parse_config(
        mode
        + f"audit: {{path: {audit}}}\nbaseline: {{dir: {tmp_path / 'baselines'}}}\n"
        + "actions:\n  rollback:\n"
        + f"    exec: [{sys.executable}, -c, \"open('{marker}', 'w')\"]\n"
        + "services:\n  - name: checkout\n"
        + per_service
        + "  - name: payments\n  - name: search\n",
        "w.yaml",
    )
    app = WarroomApp(cfg, store=filled_store(), clock=lambda: NOW)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for_panes(app, pilot)
        assert app.dashboard.table.selected == "checkout"
        await pilot.press("r")
        await _until(
            pilot,
            lambda: any(f"rollback refused: {reason}" in n.message for n in app._notifications),
            what="the refusal",
        )
        assert app.screen is app.dashboard  # no dialog
        help_text = await _palette(pilot, app, "roll back", "Roll back checkout (disabled)")
        assert help_text == f"disabled: {reason}"
        await _choose(pilot, app, "Roll back checkout (disabled)")
        # the audit log, not the toasts: on a loaded machine the first toast (5 s) is gone
        await _until(pilot, lambda: len(read_audit(audit).records) == 2, what="the second refusal")
        assert app.screen is app.dashboard  # still no dialog
        # refreshing a baseline is not dangerous: still offered in read-only mode
        refresh_help = await _palette(
            pilot, app, "refresh baseline", "Refresh baseline of checkout"
        )
        assert refresh_help.endswith("· key b · yes confirm")
        await pilot.press("escape")
    assert not marker.exists()
    records = read_audit(audit).records
    assert [(r["event"], r["action"], r["reason"]) for r in records] == [
        ("refused", "rollback", reason),
        ("refused", "rollback", reason),
    ]


# --- the real `warroom` command in tmux: the --read-only and --write flags --------------------


def _flag_config(tmp_path: Path, read_only: bool) -> tuple[Path, Path, Path]:
    marker, audit = tmp_path / "rolled-back", tmp_path / "audit.jsonl"
    cfg = tmp_path / "warroom.yaml"
    cfg.write_text(
        ("read_only: true\n" if read_only else "")
        + "otlp: {http: '127.0.0.1:0', grpc: '127.0.0.1:0'}\n"
        + f"audit: {{path: {audit}}}\nbaseline: {{dir: {tmp_path / 'baselines'}}}\n"
        + f"actions:\n  rollback:\n    exec: [/usr/bin/touch, '{marker}']\n"
        + "services:\n  - name: checkout\n"
    )
    return cfg, marker, audit


def test_read_only_flag_on_the_real_command(tmp_path: Path) -> None:
    from tests.terminal_harness import WARROOM, Tmux, terminal_env, wait_until

    cfg, marker, audit = _flag_config(tmp_path, read_only=False)
    with Tmux(120, 36) as t:
        t.start(
            [WARROOM, "-c", cfg, "--read-only"],
            env=terminal_env(),
            cwd=tmp_path,
            exit_file=tmp_path / "exit",
        )
        t.wait_for("checkout", "palette", timeout=30)
        t.keys("r")
        t.wait_for("rollback refused")
        assert "Cancel" not in t.capture()  # no dialog
        t.keys("C-p")
        t.wait_for("Search for")
        t.keys("roll back", literal=True)
        t.wait_for(
            "Roll back checkout (disabled)", "disabled: read-only mode: rollback is dangerous"
        )
        t.keys("Escape")
        wait_until(
            lambda: "Search for" not in (c := t.capture()) and "roll back" not in c,
            10,
            "the palette to close",
            t.capture,
        )
        t.keys("q")
        assert t.wait_exit(timeout=10) == 0, t.capture()
    assert not marker.exists()
    recs = wait_until(lambda: read_audit(audit).records, 5, "the audit line")
    assert [(r["event"], r["reason"]) for r in recs] == [
        ("refused", "read-only mode: rollback is dangerous")
    ]


def test_write_flag_overrides_read_only_config(tmp_path: Path) -> None:
    from tests.terminal_harness import WARROOM, Tmux, terminal_env

    cfg, marker, audit = _flag_config(tmp_path, read_only=True)
    with Tmux(120, 36) as t:
        t.start(
            [WARROOM, "-c", cfg, "--write"],
            env=terminal_env(),
            cwd=tmp_path,
            exit_file=tmp_path / "exit",
        )
        t.wait_for("checkout", "palette", timeout=30)
        t.keys("r")
        # the dialog, with the exact command (long: wrapped inside the path, wherever the
        # temporary directory's length puts the break)
        shot = t.wait_for(
            "DANGEROUS: rollback checkout?", "/usr/bin/touch", "Type checkout to confirm", "Cancel"
        )
        assert marker.name in re.sub(r"[\s█▀▄▌▐]", "", shot), shot
        t.keys("Escape")
        t.wait_for("rollback cancelled")
        t.keys("q")
        assert t.wait_exit(timeout=10) == 0, t.capture()
    assert not marker.exists()
    assert [r["event"] for r in read_audit(audit).records] == ["cancelled"]
