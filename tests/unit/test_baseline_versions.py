"""Baselines keyed by version: new fields round-trip, a store written before them loads, and the
store answers "the baseline of the previous release"."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest

from tui.core.baseline import BaselineStore, Snapshot, build_snapshot

V1_STORE = Path(__file__).resolve().parents[1] / "data" / "baselines" / "v1"


def snap(version: str | None, t: float, service: str = "api", **kw: object) -> Snapshot:
    s = build_snapshot(
        service, {"p99": [0.2, 0.21]}, step=5, version=version, taken_by="t", taken_at=t
    )
    for k, v in kw.items():
        setattr(s, k, v)
    return s


@pytest.fixture
def v1(tmp_path: Path) -> BaselineStore:
    """A copy of a store the code before versioned baselines wrote (tests/data/baselines/v1)."""
    shutil.copytree(V1_STORE, tmp_path / "store")
    return BaselineStore(tmp_path / "store")


def test_a_store_written_before_versioned_baselines_loads(v1: BaselineStore) -> None:
    assert v1.services() == ["checkout", "search"]
    cur = v1.current("checkout")
    assert cur is not None and cur.version == "1.4.2"
    assert (cur.revision, cur.version_source, cur.routes, cur.runtime) == ("", "", {}, {})
    old = v1.previous_release("checkout")
    assert old is not None and old.version == "1.4.1" and old.saturated == {"p99": 1}
    assert math.isnan(old.signals["p99"][1]) and old.bench and Path(old.bench).is_file()
    hist = v1.history("checkout")
    assert [(h.version, h.routes, h.revision) for h in hist] == [("1.4.2", 0, ""), ("1.4.1", 0, "")]
    assert v1.previous_release("search") is None  # its only baseline has no version
    assert v1.problems == []


def test_new_fields_round_trip_and_an_old_reader_still_finds_its_fields(tmp_path: Path) -> None:
    store = BaselineStore(tmp_path)
    s = snap(
        "1.5.0",
        1000,
        revision="abc123",
        version_source="build_info",
        route_label="route",
        routes={"/pay": {"p99": [0.3, math.nan]}, "other": {"qps": [4.0, 5.0]}},
        other_routes=7,
        route_saturated={"/pay": {"p99": 1}},
        runtime={"go.gc_p99": [0.001, 0.002]},
    )
    sid = store.save(s)
    got = store.load("api", sid)
    assert (got.revision, got.version_source, got.route_label, got.other_routes) == (
        "abc123",
        "build_info",
        "route",
        7,
    )
    assert got.routes["/pay"]["p99"][0] == 0.3 and math.isnan(got.routes["/pay"]["p99"][1])
    assert got.route_saturated == {"/pay": {"p99": 1}}
    assert got.routes["other"] == {"qps": [4.0, 5.0]} and got.runtime == {
        "go.gc_p99": [0.001, 0.002]
    }
    doc = json.loads((tmp_path / "api" / "snapshots" / f"{sid}.json").read_text())
    assert doc["format"] == "warroom-baseline/1"  # same format: older readers keep reading it
    assert store.history("api")[0].routes == 2


def test_previous_release_is_the_newest_baseline_of_another_version(tmp_path: Path) -> None:
    store = BaselineStore(tmp_path)
    assert store.previous_release("api") is None and store.previous_release("api", "1") is None
    store.save(snap("1.4.2", 1000))
    store.save(snap(None, 1500))  # unversioned: never "a release"
    store.save(snap("1.4.3", 2000))
    store.save(snap("1.5.0", 3000))
    store.save(snap("1.5.0", 4000))
    prev = store.previous_release("api")  # reference: the current baseline's version
    assert prev is not None and (prev.version, prev.taken_at) == ("1.4.3", 2000)
    prev = store.previous_release("api", running="1.4.3")  # e.g. after a rollback to 1.4.3
    assert prev is not None and (prev.version, prev.taken_at) == ("1.5.0", 4000)
    found = store.of_version("api", "1.4.2")
    assert found is not None and found.taken_at == 1000
    assert store.of_version("api", "9.9") is None


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("routes", [1], "field 'routes' is not a map with 'signals'"),
        ("routes", {"label": "", "signals": {}}, "field 'routes.label' is not a label name"),
        ("routes", {"label": "r", "signals": {"/a": [1]}}, "routes.signals./a is not a map"),
        ("routes", {"label": "r", "signals": {"/a": {"p99": ["x"]}}}, "routes.signals./a.p99"),
        ("routes", {"label": "r", "other_routes": -1, "signals": {}}, "'routes.other_routes'"),
        (
            "routes",
            {"label": "r", "signals": {}, "saturated": {"/a": {"p99": "x"}}},
            "'routes.saturated'",
        ),
        ("runtime", [], "field 'runtime' is not a map"),
        ("revision", 5, "field 'revision' is not a string"),
    ],
)
def test_a_damaged_new_field_is_reported_and_skipped(
    tmp_path: Path, field: str, value: object, message: str
) -> None:
    store = BaselineStore(tmp_path)
    good = store.save(snap("1", 1000))
    bad = store.save(snap("2", 2000))
    path = tmp_path / "api" / "snapshots" / f"{bad}.json"
    doc = json.loads(path.read_text())
    doc[field] = value
    path.write_text(json.dumps(doc))
    cur = store.current("api")
    assert cur is not None and cur.id == good  # the pointer's target is corrupt: newest readable
    assert any(message in p and str(path) in p for p in store.problems), store.problems


def test_b_keys_its_baseline_by_the_detected_release() -> None:
    from tui.config import parse_config
    from tui.core.actions.baseline_ops import release_alternative, snapshot_for_refresh
    from tui.core.metrics.store import MetricStore

    cfg = parse_config("services:\n  - name: api\n  - name: web\n    version: '2.0'\n")
    metrics = MetricStore()
    for i in range(10):
        metrics.add("api", "p99", 1000 + i, 0.1)
        metrics.add("web", "p99", 1000 + i, 0.1)
        metrics.add("api", "go.goroutines", 1000 + i, 40.0 + i)
    snap = snapshot_for_refresh(cfg, metrics, "api", 1010, running=("1.5.0", "build_info"))
    assert (snap.version, snap.version_source) == ("1.5.0", "build_info")
    assert snap.runtime == {"go.goroutines": [40.0 + i for i in range(10)]}  # as refresh keeps
    snap = snapshot_for_refresh(cfg, metrics, "web", 1010, version="2.0", running=("9", "otlp"))
    assert (snap.version, snap.version_source) == ("2.0", "config")  # the config wins
    snap = snapshot_for_refresh(cfg, metrics, "api", 1010)
    assert (snap.version, snap.version_source) == (None, "")
    assert release_alternative(object(), "api", "1.5.0") is None  # a store without releases
