"""check_service / check_from_store: the rows the CI gate and the dashboard pane show."""

from __future__ import annotations

from pathlib import Path

from tui.core.baseline import build_snapshot
from tui.core.baseline.check import check_from_store, check_service, compare_signals
from tui.core.metrics.store import MetricStore

BASE = {
    "p99": [0.100 + 0.001 * (i % 5) for i in range(30)],
    "qps": [500.0 + i % 4 for i in range(30)],
}


def test_check_from_store_regression_and_signal_order() -> None:
    base = build_snapshot("api", BASE, step=1, taken_by="t", version="v1")
    ms = MetricStore()
    for i in range(30):
        ms.add("api", "p99", 1000 + i, 0.150 + 0.001 * (i % 5))
        ms.add("api", "qps", 1000 + i, 500.0 + i % 4)
        ms.add("api", "p50", 1000 + i, 0.01)
    res = check_from_store(ms, "api", base, window=60, now=1030)
    assert res.table is not None
    names = [r.name for r in res.table.rows]
    assert names == ["p50", "p99", "qps"]  # store signal order; p50 has no baseline
    by = {r.name: r for r in res.table.rows}
    assert by["p99"].verdict == "REGRESSION"
    assert by["qps"].verdict == "EQUIVALENT"
    assert by["p50"].verdict == "TOO FEW SAMPLES" and by["p50"].notes == ["not in baseline"]
    assert res.has_regression()
    assert res.to_json()["regression"] is True


def test_no_baseline_and_no_samples() -> None:
    res = check_service("api", None, {"p99": [0.1]})
    assert res.table is None and "no baseline" in res.notes[0] and not res.has_regression()
    base = build_snapshot("api", BASE, step=1, taken_by="t")
    res = check_service("api", base, {})
    assert res.notes == ["no samples in the current window"]
    res = check_service("api", base, BASE, current_profiles=["/nonexistent-cpu.pb.gz"])
    assert res.profile_note == "baseline holds no profile"


def test_min_effect_overrides_apply() -> None:
    base = build_snapshot("api", BASE, step=1, taken_by="t")
    cur = {"p99": [v * 1.2 for v in BASE["p99"]]}
    assert compare_signals("api", base, cur).rows[0].verdict == "REGRESSION"
    loose = compare_signals("api", base, cur, {"p99": 0.5})
    assert loose.rows[0].verdict == "EQUIVALENT"


def test_saturation_is_noted_from_store_and_snapshot(tmp_path: Path) -> None:
    from tui.core.baseline import BaselineStore, saturation_from_store
    from tui.core.metrics.store import FLAG_SATURATED

    ms = MetricStore()
    for i in range(20):
        ms.add("api", "p99", 1000 + i, 0.2, FLAG_SATURATED if i % 2 else 0)
    assert saturation_from_store(ms, "api", 1000, 1019) == {"p99": 10}
    base = build_snapshot("api", {"p99": [0.2] * 20}, step=1, taken_by="t", saturated={"p99": 20})
    store = BaselineStore(tmp_path)
    sid = store.save(base)
    assert store.load("api", sid).saturated == {"p99": 20}  # kept on disk
    res = check_from_store(ms, "api", store.load("api", sid), window=60, now=1019)
    assert res.table is not None
    row = res.table.rows[0]
    assert row.notes == ["saturated (≥ bound): base 20/20, current 10/20"]


def test_thin_keeps_one_sample_per_spacing_newest_kept() -> None:
    from tui.core.baseline.check import thin

    vals = list(range(10))
    assert thin(vals, 5, 60) == [9]  # 12 steps per rate window, only the newest fits
    assert thin(vals, 1, 3) == [0, 3, 6, 9]
    assert thin(vals, 1, 2.5) == [0, 3, 6, 9]  # rounds the stride up: never closer
    assert thin(vals, 5, None) == vals and thin(vals, 0, 60) == vals and thin(vals, 5, 5) == vals


def test_thinning_applies_to_both_sides_and_is_noted() -> None:
    base = build_snapshot(
        "api", {"p99": [0.1 + 0.001 * (i % 7) for i in range(120)]}, step=5, taken_by="t"
    )
    cur = {"p99": [0.1 + 0.001 * (i % 7) for i in range(120)]}
    res = check_service("api", base, cur, current_step=5, spacing=60)
    assert res.table is not None
    row = res.table.rows[0]
    assert (row.base.n, row.current.n) == (10, 10)
    assert res.notes == [
        "samples thinned to one per 60s (the rate window) so that neighbours share no data"
    ]


def test_status_and_verdict_line_name_missing_baselines() -> None:
    """`warroom check` shows each service's status; the last line lists missing baselines."""
    from tui.commands.check import render_checks, service_status

    base = build_snapshot("api", BASE, step=1, taken_by="t")
    slow = {"p99": [v * 1.5 for v in BASE["p99"]], "qps": BASE["qps"]}
    ok, worse = check_service("api", base, BASE), check_service("api", base, slow)
    empty, missing = check_service("api", base, {}), check_service("web", None, BASE)
    assert [service_status(r) for r in (ok, worse, empty, missing)] == [
        "ok",
        "regression",
        "not compared",
        "no baseline",
    ]
    assert render_checks([ok, missing], "text").endswith(
        "check: no regression (no baseline: web)\n"
    )
    assert render_checks([worse, missing], "md").endswith("check: REGRESSION (no baseline: web)\n")
    assert render_checks([missing], "text").endswith("check: nothing compared (no baseline: web)\n")
    assert render_checks([ok], "text").endswith("check: no regression\n")


def test_profiles_are_compared_kind_with_kind(fixtures_dir: Path, tmp_path: Path) -> None:
    """Issue 13 item 2: CPU is gated against the baseline's CPU profile, heap against heap,
    whatever order they were captured in."""
    import shutil

    from tui.core.baseline.check import compare_profiles

    pp = fixtures_dir / "pprof"

    def put(src: str, name: str) -> str:
        shutil.copyfile(pp / src, tmp_path / name)
        return str(tmp_path / name)

    base = [
        put("heap_prometheus.pb.gz", "b-heap-1.pb.gz"),
        put("cpu_regexp.pb.gz", "b-cpu-1.pb.gz"),
    ]
    cur = [
        put("cpu_json_gogc5.pb.gz", "c-cpu-2.pb.gz"),
        put("heap_prometheus.pb.gz", "c-heap-2.pb.gz"),
    ]
    rows, note = compare_profiles(base, cur)
    assert {r.kind for r in rows} == {"cpu"}  # a different program: CPU functions grew
    assert note.startswith("cpu: ") and "; heap (inuse_space): 0 function(s)" in note
    rows, note = compare_profiles(base[1:], cur[1:])
    assert rows == [] and note == "cpu: no current profile; heap: baseline holds no heap profile"
    assert compare_profiles([], cur) == ([], "baseline holds no profile")
    assert compare_profiles(base, []) == ([], "no current profile")
