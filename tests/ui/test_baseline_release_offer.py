"""Pilot: `b` offers the baseline of the previous release when the store has one (`p` uses
it, audited), and says nothing of it when there is none or it is current already."""

from __future__ import annotations

import time
from pathlib import Path

from tui.config import parse_config
from tui.core.actions.audit import read_audit
from tui.core.baseline import BaselineStore, build_snapshot
from tui.core.metrics.store import MetricStore
from tui.ui.app import WarroomApp
from tui.ui.screens.confirm import ConfirmActionScreen

from .test_actions_app import ActionsApp, _until

NOW = 1_800_000_000.0


def _metrics() -> MetricStore:
    m = MetricStore()
    for i in range(20):
        m.add("checkout", "p99", NOW - 100 + i * 5, 0.25)
    return m


def _store(tmp_path: Path, versions):
    store = BaselineStore(tmp_path / "bl")
    for i, v in enumerate(versions):
        store.save(
            build_snapshot(
                "checkout",
                {"p99": [0.06] * 5},
                step=5,
                version=v,
                taken_by="t",
                taken_at=NOW - 9000 + i * 1000,
            )
        )
    return store


async def _dialog(app, pilot) -> ConfirmActionScreen:
    await pilot.press("b")
    await _until(pilot, lambda: isinstance(app.screen, ConfirmActionScreen))
    screen = app.screen
    assert isinstance(screen, ConfirmActionScreen)
    await _until(pilot, lambda: time.monotonic() - screen._opened > screen.debounce)
    return screen


async def test_p_uses_the_previous_release_baseline(tmp_path: Path) -> None:
    cfg = parse_config(f"baseline: {{dir: {tmp_path / 'bl'}}}\nservices:\n  - name: checkout\n")
    store = _store(tmp_path, ["1.4.2", "1.5.0"])  # a 1.5.0 baseline taken during the incident
    audit = tmp_path / "audit.jsonl"
    app = ActionsApp(
        cfg,
        audit,
        labels={"version": "1.5.0"},
        metric_store=_metrics(),
        baseline_store=store,
        now=NOW,
    )
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await _dialog(app, pilot)
        extra = str(screen.query_one("#extra").render())
        assert "or (p) use the previous release's baseline: 1.4.2 taken" in extra
        assert str(screen.query_one("#alternative").label) == "Use 1.4.2 baseline"
        await pilot.press("p")
        await _until(pilot, lambda: len(app.results) == 2)
    cur = store.current("checkout")
    assert cur is not None and cur.version == "1.4.2"
    assert len(store.history("checkout")) == 2  # nothing new was taken
    recs = read_audit(audit).records
    fin = [r for r in recs if r["event"] == "finished"]
    assert [r["action"] for r in fin] == ["use_release_baseline"]
    assert fin[0]["baseline_versions"]["restored"] == "1.4.2"
    assert any(r["event"] == "cancelled" and r["action"] == "refresh_baseline" for r in recs)


async def test_no_offer_without_an_earlier_release_or_when_it_is_current(tmp_path: Path) -> None:
    cfg = parse_config(f"baseline: {{dir: {tmp_path / 'bl'}}}\nservices:\n  - name: checkout\n")
    for versions in (["1.5.0"], ["1.5.0", "1.4.2"]):  # none other / 1.4.2 is current already
        store = _store(tmp_path / "-".join(versions), versions)
        app = ActionsApp(
            cfg,
            tmp_path / "audit.jsonl",
            labels={"version": "1.5.0"},
            metric_store=_metrics(),
            baseline_store=store,
            now=NOW,
        )
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await _dialog(app, pilot)
            assert not screen.query("#alternative")
            assert "previous release" not in str(screen.query_one("#extra").render())
            await pilot.press("p")  # not an answer here: the dialog stays
            assert app.screen is screen
            await pilot.press("n")


def test_the_dashboard_keys_b_by_the_detected_release(tmp_path: Path) -> None:
    cfg = parse_config("services:\n  - name: checkout\n")
    app = WarroomApp(cfg, store=MetricStore())
    assert app._running_version("checkout") is None
    app.release_history.apply(
        {"t": NOW, "type": "release", "service": "checkout", "version": "1.5.0", "source": "mark"}
    )
    assert app._running_version("checkout") == ("1.5.0", "mark")
    app.release_history.apply(
        {
            "t": NOW + 5,
            "type": "release_flap",
            "service": "checkout",
            "versions": ["1.5.0", "1.5.1"],
        }
    )
    assert app._running_version("checkout") is None
