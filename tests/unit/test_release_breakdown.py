"""The per-route and Go runtime parts of a release's before/after verdict (store and samples
built here; the end-to-end case with real gosvc and Prometheus is in
tests/integration/test_releases_gosvc.py)."""

from __future__ import annotations

from tui.core.events import ReleaseVerdict, event_from_record
from tui.core.metrics.store import MetricStore
from tui.core.release_breakdown import NAMED_ROUTES, route_rows, routes_text
from tui.core.releases import Release, compare_release

T = 1_000_000.0


def _series(start: float, values: list[float]) -> list[tuple[float, float]]:
    return [(start + i, v) for i, v in enumerate(values)]


def _store(slow_runtime: bool) -> MetricStore:
    store = MetricStore()
    for i in range(40):
        t = T - 20 + i
        after = t >= T
        store.add("shop", "p99", t, (0.3 if after else 0.1) + i * 1e-4)
        store.add("shop", "p95", t, (0.2 if after else 0.08) + i * 1e-4)
        store.add("shop", "go.goroutines", t, (400.0 if after and slow_runtime else 40.0) + i)
    return store


def test_a_release_names_its_worst_routes_bounded_and_the_runtime_only_explains() -> None:
    rel = Release("shop", "1.4.3", "", T, "mark", "1.4.2")
    jitter = [1 + (i % 5) * 0.01 for i in range(40)]
    routes = {
        f"/r{k}": {"p99": _series(T - 20, [(0.1 * (1 + k) if i >= 20 else 0.1) * j
                                            for i, j in enumerate(jitter)])}
        for k in range(NAMED_ROUTES + 2)
    }  # fmt: skip
    routes["/r0"]["p99"] = _series(T - 20, [0.1 * j for j in jitter])  # unchanged
    cmp = compare_release(_store(True), rel, 15.0, 1.0, routes=routes, route_step=1.0)
    msg = cmp.message()
    assert msg.startswith("shop 1.4.3: P99 +")
    named = msg.split("; ")[1]
    # worst first: /r4 (x5) then /r3, /r2; /r1 is counted, the unchanged /r0 is not there
    assert named.startswith(f"P99 +400% (REGRESSION) on /r{NAMED_ROUTES + 1}, ")
    assert named.endswith("1 more route(s)") and "/r0" not in named
    assert "runtime: goroutines +" in msg
    # the runtime rows never change the service's verdict rows
    assert [r.name for r in cmp.rows] == ["p99", "p95"]
    # the record line keeps every row, and replays as the same typed event
    rec = cmp.to_record()
    assert {r["route"] for r in rec["routes"]} == set(routes)
    assert [r["name"] for r in rec["runtime"]] == ["goroutines"]
    back = event_from_record(rec)
    assert isinstance(back, ReleaseVerdict) and back.to_record() == rec


def test_no_routes_and_no_runtime_keep_the_old_line() -> None:
    rel = Release("shop", "1.4.3", "", T, "mark")
    store = MetricStore()
    for i in range(40):
        store.add("shop", "p99", T - 20 + i, 0.1)
    rec = compare_release(store, rel, 15.0, 1.0).to_record()
    assert "routes" not in rec and "runtime" not in rec and ";" not in rec["message"]
    assert routes_text(route_rows({}, {}, 1.0, 1.0)) == ""


def test_the_before_window_skips_a_restarts_gap() -> None:
    """The old process stopped well before the new one served (a slow restart): nothing was
    measured just before the release, so "before" is the newest window that has samples."""
    rel = Release("shop", "1.4.3", "", T, "build_info", "1.4.2")
    store = MetricStore()
    for i in range(26):  # T-40 .. T-15, then nothing until the release
        store.add("shop", "p99", T - 40 + i, 0.1 * (1 + (i % 4) * 0.01))
    for i in range(1, 21):
        store.add("shop", "p99", T + i, 0.3 * (1 + (i % 4) * 0.01))
    cmp = compare_release(store, rel, 10.0, 1.0, guard=2.0)
    assert cmp.before[1] == T - 15 and cmp.rows[0].verdict == "REGRESSION", cmp.message()
    # a gap longer than BEFORE_REACH windows is not bridged: no samples before
    far = MetricStore()
    far.add("shop", "p99", T - 100, 0.1)
    for i in range(1, 21):
        far.add("shop", "p99", T + i, 0.3)
    assert "no samples before" in compare_release(far, rel, 10.0, 1.0, guard=2.0).message()
