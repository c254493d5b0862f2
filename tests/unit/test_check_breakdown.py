"""check below the service level, without servers: route rows (one BH family per service, the
route named in the verdict), a baseline without routes, "other" and a changed route label;
Go runtime rows that never gate."""

from __future__ import annotations

from pathlib import Path

from tui.commands.check import render_checks
from tui.core.baseline import Snapshot, build_snapshot
from tui.core.baseline.breakdown import compare_routes, compare_runtime, runtime_now
from tui.core.baseline.check import check_service
from tui.core.stats.report import render

STEADY = [0.050, 0.051, 0.049, 0.050, 0.052, 0.048, 0.050, 0.051, 0.049, 0.050]
SLOW = [v * 4 for v in STEADY]


def base(**routes: dict[str, list[float]]) -> Snapshot:
    snap = build_snapshot("shop", {"p99": STEADY}, step=1, taken_by="t", version="1.4.2")
    snap.id, snap.route_label, snap.routes = "b1", "route", routes
    snap.other_routes = 3
    return snap


def test_a_slowed_route_is_a_named_regression_and_fails_the_service() -> None:
    b = base(**{"/pay": {"p99": STEADY, "qps": [40.0] * 10}, "/cart": {"p99": STEADY}})
    cmp = compare_routes(
        "shop", b, {"/pay": {"p99": SLOW, "qps": [40.0] * 10}, "/cart": {"p99": STEADY}}, "route"
    )
    assert cmp.table is not None and [r.name for r in cmp.table.rows] == [
        "/pay p99",
        "/pay qps",
        "/cart p99",
    ]
    assert cmp.regressions() == ["/pay p99"]
    pay = cmp.table.rows[0]  # BH ran over the three rows at once: the smallest p counts thrice
    assert abs(pay.q - 3 * pay.p) < 1e-12
    doc = cmp.to_json()
    assert doc["regression"] and doc["rows"][0]["route"] == "/pay" and doc["label"] == "route"
    res = check_service("shop", b, {"p99": STEADY})
    assert not res.has_regression()  # the service level alone is fine
    res.routes = cmp
    assert res.has_regression() and res.regressions() == ["route /pay p99"]
    text = render_checks([res], "text")
    assert text.rstrip().endswith("check: REGRESSION (routes: shop /pay p99)")
    assert "shop by route" in text


def test_new_missing_and_other_routes_say_so() -> None:
    b = base(**{"/old": {"p99": STEADY}, "other": {"p99": STEADY}})
    cmp = compare_routes(
        "shop", b, {"/new": {"p99": STEADY}, "other": {"p99": STEADY}}, "handler", current_other=5
    )
    assert cmp.notes == [
        "the baseline's routes are by 'route', the current ones by 'handler': routes may not match"
    ]
    assert cmp.table is not None
    rows = {r.name: r for r in cmp.table.rows}
    assert rows["/old p99"].notes[0] == "no current samples"
    assert rows["/new p99"].notes[0] == "route not in baseline"
    assert "sums the routes outside the top: base 3, current 5" in rows["other p99"].notes


def test_a_baseline_without_routes_is_a_note_not_a_pass() -> None:
    b = build_snapshot("shop", {"p99": STEADY}, step=1, taken_by="t", source="dashboard window")
    b.id = "b0"
    cmp = compare_routes("shop", b, {"/pay": {"p99": SLOW}}, "route")
    assert cmp.table is None and not cmp.regressions()
    assert cmp.notes == [
        "baseline b0 holds no per-route signals (taken from dashboard window); take one with "
        "`warroom baseline refresh shop`"
    ]


def test_runtime_rows_explain_and_never_gate() -> None:
    b = base()
    b.runtime = {"go.goroutines": [50.0] * 10, "go.gc_p99": [0.001] * 10}
    table = compare_runtime(
        "shop", b.runtime, {"go.goroutines": [500.0] * 10}, base_step=1, current_step=1
    )
    assert table is not None and [r.name for r in table.rows] == ["goroutines"]
    gc = compare_runtime(
        "shop", b.runtime, {"go.gc_p99": [0.0012] * 10}, base_step=1, current_step=1
    )
    assert gc is not None
    assert "1.00ms" in render([gc], "text") and "1.20ms" in render([gc], "text")  # in seconds
    assert table.rows[0].verdict == "REGRESSION"
    res = check_service("shop", b, {"p99": STEADY})
    res.runtime, res.runtime_now = table, runtime_now({"go.goroutines": [480.0, 500.0]})
    assert not res.has_regression() and res.to_json()["runtime"]["gates"] is False
    assert res.runtime_now == {"goroutines": 500.0}
    assert (
        compare_runtime("shop", {}, {"go.goroutines": [1.0]}, base_step=1, current_step=1) is None
    )
    res.runtime = None
    assert "Go runtime now: gorout 500 (the baseline holds none to compare)" in render_checks(
        [res], "text"
    )


def test_by_route_from_a_recording_or_for_otlp_says_why_not(tmp_path: Path) -> None:
    import json
    import subprocess
    import sys
    from pathlib import Path

    from tui.core.baseline import BaselineStore

    root = Path(__file__).resolve().parents[2]
    cfg = tmp_path / "w.yaml"
    cfg.write_text(
        f'otlp: {{http: "", grpc: ""}}\nbaseline: {{dir: {tmp_path / "b"}}}\n'
        "services:\n  - name: pay\n    otlp: {latency_metric: http.server.request.duration}\n"
    )
    BaselineStore(tmp_path / "b").save(build_snapshot("pay", {"p99": STEADY}, step=1, taken_by="t"))
    rec = tmp_path / "rec.jsonl"
    rec.write_text(
        "".join(
            json.dumps(
                {"t": 100 + i, "type": "point", "service": "pay", "signal": "p99", "value": v}
            )
            + "\n"
            for i, v in enumerate(STEADY)
        )
    )

    def warroom(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "tui.cli", *args],
            capture_output=True,
            text=True,
            cwd=root,
            timeout=60,
        )

    r = warroom(
        "check",
        "-c",
        str(cfg),
        "--by",
        "route",
        "--from-record",
        str(rec),
        "--format",
        "json",
        "--independent",
        "0",
    )
    assert r.returncode == 0, r.stderr
    (svc,) = json.loads(r.stdout)["services"]
    assert "routes not compared: a recording holds no per-route signals" in svc["notes"]
    r = warroom("snapshot", "-c", str(cfg), "--by", "route", "--wait", "0")
    assert r.returncode == 0, r.stderr
    (svc,) = json.loads(r.stdout)["services"]
    assert svc["routes_error"] == (
        "pay: no source breaks it down by route (both OTLP receivers are off)"
    )


def test_runtime_rows_rated_over_a_minute_are_thinned_to_one_a_minute() -> None:
    """A GC pause P99 is rated over >= GC_WINDOW_MIN: 5 s samples share data with eleven
    neighbours, so check and the release comparison test one sample a minute, alike."""
    from tui.core.baseline.breakdown import runtime_rows
    from tui.core.metrics import go_runtime
    from tui.core.release_breakdown import runtime_rows as release_rows

    gc_keys = [k for k in go_runtime.KEYS if go_runtime.BY_KEY[k].gc_window]
    plain = next(k for k in go_runtime.KEYS if not go_runtime.BY_KEY[k].gc_window)
    assert gc_keys
    before = {gc_keys[0]: [0.001 + i * 1e-6 for i in range(120)], plain: [50.0] * 120}
    after = {gc_keys[0]: [0.002 + i * 1e-6 for i in range(120)], plain: [60.0] * 120}
    rows = {r.name: r for r in runtime_rows(before, after, before_step=5, after_step=5, spacing=5)}
    per_minute = 120 * 5 // int(go_runtime.GC_WINDOW_MIN)
    gc_name = gc_keys[0].removeprefix(go_runtime.PREFIX)
    assert (rows[gc_name].base.n, rows[gc_name].current.n) == (per_minute, per_minute)
    plain_name = plain.removeprefix(go_runtime.PREFIX)
    assert (rows[plain_name].base.n, rows[plain_name].current.n) == (120, 120)
    same = {r.name: (r.base.n, r.current.n) for r in release_rows(before, after, 5, 5)}
    assert same == {n: (r.base.n, r.current.n) for n, r in rows.items()}
