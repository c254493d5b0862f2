"""Pilot: `b` accepts the current window as the baseline, showing what it replaces."""

from __future__ import annotations

from pathlib import Path

from tests.waits import until as _until
from tui.config import AuditConfig, BaselineConfig, parse_config
from tui.core.actions.audit import read_audit
from tui.core.baseline.store import BaselineStore
from tui.core.metrics.store import MetricStore
from tui.ui.app import WarroomApp
from tui.ui.screens.confirm import ConfirmActionScreen

from .dashboard_data import NOW as SHOWN
from .dashboard_data import demo_config, filled_store, wait_for_panes
from .test_actions_app import ActionsApp

NOW = 1_800_000_000.0


def _metrics(version, now=NOW):
    m = MetricStore()
    for i in range(20):
        m.add("checkout", "p99", now - 100 + i * 5, 0.25)
    m.services["checkout"].labels["version"] = version
    return m


async def test_b_refreshes_baseline_and_shows_what_it_replaces(tmp_path: Path) -> None:
    cfg = parse_config(f"baseline: {{dir: {tmp_path / 'bl'}}}\nservices:\n  - name: checkout\n")
    bstore = BaselineStore(cfg.baseline.dir)
    audit = tmp_path / "audit.jsonl"
    # an older baseline, v1, is current
    app = ActionsApp(
        cfg, audit, metric_store=_metrics("v1", NOW - 7200), baseline_store=bstore, now=NOW - 7200
    )
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("b")
        await pilot.pause(0.35)
        await pilot.press("y")
        await _until(pilot, lambda: app.results)
        assert app.results[0].ok, app.results[0].message
    # now refresh to v2
    app = ActionsApp(cfg, audit, metric_store=_metrics("v2"), baseline_store=bstore, now=NOW)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("b")
        await pilot.pause(0.35)
        screen = app.screen
        assert isinstance(screen, ConfirmActionScreen)
        extra = str(screen.query_one("#extra").render())
        assert "new baseline:  v2" in extra and "replaces:      v1" in extra
        await pilot.press("y")
        await _until(pilot, lambda: app.results)
        assert app.results[0].ok
    assert bstore.current("checkout").version == "v2"
    fin = [r for r in read_audit(audit).records if r["event"] == "finished"][-1]
    assert fin["action"] == "refresh_baseline"
    assert fin["baseline_versions"]["replaced"] == "v1" and fin["baseline_versions"]["new"] == "v2"


async def test_b_with_empty_window_is_refused_and_audited(tmp_path: Path) -> None:
    cfg = parse_config(f"baseline: {{dir: {tmp_path / 'bl'}}}\nservices:\n  - name: checkout\n")
    audit = tmp_path / "audit.jsonl"
    app = ActionsApp(
        cfg,
        audit,
        metric_store=MetricStore(),
        baseline_store=BaselineStore(cfg.baseline.dir),
        now=NOW,
    )
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("b")
        await _until(pilot, lambda: app.results)
        assert not isinstance(app.screen, ConfirmActionScreen)
        assert app.results[0].status == "refused"
    (rec,) = read_audit(audit).records
    assert rec["event"] == "refused" and "no samples" in rec["reason"]


async def test_b_with_missing_bench_file_is_refused_and_audited(tmp_path: Path) -> None:
    missing = tmp_path / "bench-not-run.txt"
    cfg = parse_config(
        f"baseline: {{dir: {tmp_path / 'bl'}, bench: {missing}}}\nservices:\n  - name: checkout\n",
        "w.yaml",
    )
    audit = tmp_path / "audit.jsonl"
    bstore = BaselineStore(cfg.baseline.dir)
    app = ActionsApp(cfg, audit, metric_store=_metrics("v2"), baseline_store=bstore, now=NOW)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("b")
        await _until(pilot, lambda: app.results)
        assert not isinstance(app.screen, ConfirmActionScreen)
        (res,) = app.results
        assert res.status == "refused"
        assert f"w.yaml: baseline.bench: {missing}: no such file" in res.message
    (rec,) = read_audit(audit).records
    assert rec["event"] == "refused" and rec["action"] == "refresh_baseline"
    assert rec["reason"] == f"w.yaml: baseline.bench: {missing}: no such file"
    assert bstore.current("checkout") is None


async def test_b_on_the_real_dashboard_takes_the_shown_window_with_saturation(
    tmp_path: Path,
) -> None:
    """The real WarroomApp (fixed clock): `b` snapshots the window up to the app's clock, not
    wall time, and keeps the saturated-sample counts as `warroom baseline refresh` does."""
    cfg = demo_config()
    cfg.audit = AuditConfig(path=str(tmp_path / "audit.jsonl"))
    cfg.baseline = BaselineConfig(dir=str(tmp_path / "bl"))
    app = WarroomApp(cfg, store=filled_store(), clock=lambda: SHOWN)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for_panes(app, pilot)
        for _ in range(len(app.dashboard.table.rows)):
            if app.dashboard.table.selected == "auth":  # its last 30 s are saturated
                break
            await pilot.press("down")
        assert app.dashboard.table.selected == "auth"
        await pilot.press("b")
        await _until(pilot, lambda: isinstance(app.screen, ConfirmActionScreen))
        assert "new baseline:  unversioned" in str(app.screen.query_one("#extra").render())
        await pilot.pause(0.35)
        await pilot.press("y")
        await _until(pilot, lambda: BaselineStore(cfg.baseline.dir).current("auth") is not None)
    snap = BaselineStore(cfg.baseline.dir).current("auth")
    assert snap.taken_at == SHOWN and snap.window == 900.0
    assert len(snap.signals["p99"]) == 180  # 15 min of 5 s steps, the whole shown window
    assert snap.saturated == {"p99": 5}  # auth at NOW-25 ... NOW-5 (filled_store)
    fin = [r for r in read_audit(cfg.audit.path).records if r["event"] == "finished"][-1]
    assert fin["action"] == "refresh_baseline" and fin["status"] == "ok"


async def test_b_during_a_sustained_spike_warns_in_the_dialog(tmp_path: Path) -> None:
    """Issue 13 item 21: `b` took the incident as the baseline without a word. The real Hub's
    detector is fed a steady P99 and then a 5x step until it says SUSTAINED."""
    from tui.config import OTLPConfig
    from tui.sources.hub import Hub

    cfg = demo_config()
    cfg.otlp = OTLPConfig(http="", grpc="")  # no receivers: only the detector is used
    cfg.audit = AuditConfig(path=str(tmp_path / "audit.jsonl"))
    cfg.baseline = BaselineConfig(dir=str(tmp_path / "bl"))
    store = filled_store()
    hub = Hub(cfg, store)
    t = SHOWN - 300
    for i in range(80):
        value = 0.05 * (1 + 0.01 * (i % 5)) * (5 if i >= 60 else 1)
        hub.spikes.observe("checkout", t + 2 * i, value, observations=5000)
    assert hub.spikes.states()["checkout"] == "SUSTAINED"
    app = WarroomApp(cfg, store=store, hub=hub, clock=lambda: SHOWN)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for_panes(app, pilot)
        assert app.dashboard.table.selected == "checkout"
        await pilot.press("b")
        await _until(pilot, lambda: isinstance(app.screen, ConfirmActionScreen))
        extra = str(app.screen.query_one("#extra").render())
        assert extra.startswith("⚠ checkout is in a SUSTAINED P99 spike"), extra
        assert "new baseline:" in extra
        await pilot.press("escape")
        await _until(pilot, lambda: not isinstance(app.screen, ConfirmActionScreen))
    assert BaselineStore(cfg.baseline.dir).current("checkout") is None
