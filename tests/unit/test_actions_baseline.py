"""Baseline built-ins over the real BaselineStore and MetricStore."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tui.commands.baseline import save_baseline
from tui.config import Config, parse_config
from tui.core.actions import resolve_action
from tui.core.actions.baseline_ops import (
    prepare_builtin,
    previous,
    refresh,
    refresh_plan,
    restore_plan,
    restore_previous,
    snapshot_for_refresh,
)
from tui.core.baseline.snapshot import (
    baseline_snapshot,
    saturation_from_store,
    signals_from_store,
)
from tui.core.baseline.store import BaselineStore
from tui.core.metrics.store import FLAG_SATURATED, MetricStore
from tui.errors import UserError

NOW = 1_800_000_000.0


def _metrics(
    service: str = "checkout", n: int = 30, p99: float = 0.2, version: str = "v2", now: float = NOW
) -> MetricStore:
    m = MetricStore()
    for i in range(n):
        t = now - (n - i) * 5
        m.add(service, "p99", t, p99 + i * 0.001)
        m.add(service, "qps", t, 100.0)
    m.services[service].labels["version"] = version
    return m


@pytest.fixture
def cfg(tmp_path: Path) -> Config:
    prof = tmp_path / "profiles"
    prof.mkdir()
    (prof / "checkout-1.pb.gz").write_bytes(b"old")
    (prof / "checkout-2.pb.gz").write_bytes(b"new")
    import os

    os.utime(prof / "checkout-1.pb.gz", (1_000_000, 1_000_000))  # older than -2
    bench = tmp_path / "bench.txt"
    bench.write_text("BenchmarkX 10 100 ns/op\n")
    return parse_config(
        f"window: 15m\nprofiles: {{dir: {prof}}}\nbaseline: {{dir: {tmp_path / 'bl'}, bench: {bench}}}\n"
        "services:\n  - name: checkout\n"
    )


def test_snapshot_from_current_window_with_profile_and_bench(cfg: Config) -> None:
    snap = snapshot_for_refresh(cfg, _metrics(), "checkout", NOW, taken_by="op@host")
    assert snap.version == "v2" and snap.taken_by == "op@host" and snap.taken_at == NOW
    assert len(snap.signals["p99"]) == 30 and snap.step == 5.0
    assert snap.profile_files[0].endswith("checkout-2.pb.gz")
    assert snap.bench and snap.bench.endswith("bench.txt")


def test_refresh_then_restore_previous(cfg: Config) -> None:
    store = BaselineStore(cfg.baseline.dir)
    first = snapshot_for_refresh(
        cfg, _metrics(version="v1", now=NOW - 3600), "checkout", NOW - 3600
    )
    plan = refresh_plan(store, first)
    assert plan[1] == "replaces:      nothing (checkout has no baseline yet)"
    out1 = refresh(store, first)
    assert out1.baseline_versions["replaced"] is None and out1.baseline_versions["new"] == "v1"

    second = snapshot_for_refresh(cfg, _metrics(version="v2"), "checkout", NOW)
    plan = refresh_plan(store, second)
    assert plan[0].startswith("new baseline:  v2 taken 2027-01-15 08:00 UTC")
    assert plan[1].startswith("replaces:      v1 taken 2027-01-15 07:00 UTC")
    out2 = refresh(store, second)
    assert out2.baseline_versions == {
        "replaced": "v1",
        "new": "v2",
        "new_id": out2.baseline_versions["new_id"],
    }
    cur = store.current("checkout")
    assert cur is not None and cur.version == "v2"

    prev = previous(store, "checkout")
    assert prev is not None and prev.version == "v1"
    rp = restore_plan(store, "checkout")
    assert rp[0].startswith("restore:       v1 taken 2027-01-15 07:00 UTC by ")
    assert rp[0].endswith("(2 signals, 60 points, bench, 1 profile)")
    assert rp[1].startswith("replaces:      v2")
    back = restore_previous(store, "checkout")
    assert back.baseline_versions["replaced"] == "v2" and back.baseline_versions["restored"] == "v1"
    cur = store.current("checkout")
    assert cur is not None and cur.version == "v1"
    with pytest.raises(UserError, match="no earlier baseline"):
        restore_previous(store, "checkout")


def test_empty_window_refused(cfg: Config) -> None:
    with pytest.raises(UserError, match="no samples"):
        snapshot_for_refresh(cfg, MetricStore(), "checkout", NOW)


def test_prepare_builtin(cfg: Config) -> None:
    store = BaselineStore(cfg.baseline.dir)
    metrics = _metrics()
    refresh_action = resolve_action(cfg, "checkout", "refresh_baseline")
    work, lines = prepare_builtin(cfg, refresh_action, metrics, store, NOW)
    assert lines[1].startswith("replaces:      nothing")
    outcome = work()
    assert outcome.lines[0].startswith("saved baseline ")
    restore = resolve_action(cfg, "checkout", "restore_baseline")
    with pytest.raises(UserError, match="no earlier baseline"):
        prepare_builtin(cfg, restore, metrics, store, NOW)
    with pytest.raises(ValueError):
        prepare_builtin(
            cfg,
            resolve_action(
                parse_config("actions: {rollback: {exec: [x]}}"), "checkout", "rollback"
            ),
            metrics,
            store,
            NOW,
        )


def _saturated_metrics(now: float = NOW) -> MetricStore:
    """30 steps of p99 and qps; the last 4 p99 samples sit in the +Inf bucket."""
    m = MetricStore()
    for i in range(30):
        t = now - (30 - i) * 5
        if i < 26:
            m.add("checkout", "p99", t, 0.2 + i * 0.001)
        else:
            m.add("checkout", "p99", t, 2.5, FLAG_SATURATED)
        m.add("checkout", "qps", t, 100.0)
    m.services["checkout"].labels["version"] = "v2"
    return m


def test_dashboard_key_and_cli_take_the_same_snapshot(cfg: Config) -> None:
    """Both paths go through baseline_snapshot: same samples, saturation, bench, profile."""
    metrics = _saturated_metrics()
    ui = snapshot_for_refresh(cfg, metrics, "checkout", NOW, taken_by="op@host")
    start = NOW - float(cfg.window)
    # what `warroom baseline refresh` gets from fetch_prometheus_window for the same window
    signals, step = signals_from_store(metrics, "checkout", start, NOW)
    saturated = saturation_from_store(metrics, "checkout", start, NOW)
    cli = baseline_snapshot(
        cfg,
        "checkout",
        signals,
        step,
        labels=metrics.services["checkout"].labels,
        start=start,
        window=float(cfg.window),
        taken_by="op@host",
        saturated=saturated,
    )
    save_baseline(cfg, cli, store=BaselineStore(cfg.baseline.dir))
    assert ui.saturated == {"p99": 4}
    assert cli.saturated == ui.saturated
    assert len(ui.signals["p99"]) == 30 and ui.signals["p99"][-1] == 2.5
    assert cli.signals == ui.signals and cli.step == ui.step == 5.0
    assert cli.version == ui.version == "v2"
    assert ui.bench is not None and ui.bench.endswith("bench.txt")
    assert cli.bench is not None and Path(cli.bench).read_bytes() == Path(ui.bench).read_bytes()
    assert [Path(p).read_bytes() for p in cli.profile_files] == [b"new"]
    assert [Path(p).name for p in ui.profile_files] == ["checkout-2.pb.gz"]


def test_missing_configured_bench_is_an_error_on_both_paths(cfg: Config, tmp_path: Path) -> None:
    cfg.baseline.bench = str(tmp_path / "not-run-yet.txt")
    cfg.source = "w.yaml"
    want = re.escape(f"w.yaml: baseline.bench: {tmp_path}/not-run-yet.txt: no such file")
    with pytest.raises(UserError, match=want):
        snapshot_for_refresh(cfg, _metrics(), "checkout", NOW)
    with pytest.raises(UserError, match=want):
        prepare_builtin(
            cfg,
            resolve_action(cfg, "checkout", "refresh_baseline"),
            _metrics(),
            BaselineStore(cfg.baseline.dir),
            NOW,
        )
    with pytest.raises(UserError, match=want):
        save_baseline(
            cfg,
            baseline_snapshot(cfg, "checkout", {"p99": [0.2] * 5}, 5.0),
            store=BaselineStore(cfg.baseline.dir),
        )
    assert BaselineStore(cfg.baseline.dir).current("checkout") is None  # nothing half-saved
    cfg.baseline.bench = str(tmp_path)  # a directory is not a bench output either
    with pytest.raises(UserError, match=r"baseline\.bench: .*: not a regular file"):
        snapshot_for_refresh(cfg, _metrics(), "checkout", NOW)
