"""Release detection (debounce, flapping, bounds), record lines, and the before/after verdict."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tui.core.metrics.store import MetricStore
from tui.core.release_timeline import MarksReader, ReleaseTimeline, append_mark
from tui.core.releases import FlapNotice, Release, ReleaseLog, compare_release


def test_a_change_is_one_release_and_the_first_version_is_none() -> None:
    log = ReleaseLog()
    assert log.observe("checkout", "1.4.2", "a", 0.0, "build_info") == []
    for i in range(1, 5):
        assert log.observe("checkout", "1.4.2", "a", float(i), "build_info") == []
    (rel,) = log.observe("checkout", "1.4.3", "b", 5.0, "build_info")
    assert rel == Release("checkout", "1.4.3", "b", 5.0, "build_info", "1.4.2")
    assert [
        log.observe("checkout", "1.4.3", "b", float(i), "build_info") for i in range(6, 20)
    ] == [[]] * 14
    assert log.releases("checkout") == [rel]


def test_a_flapping_version_is_one_notice_then_one_release_when_it_settles() -> None:
    log = ReleaseLog(flap_within=3)
    log.observe("s", "1", "", 0.0, "build_info")
    for i in range(1, 4):
        log.observe("s", "1", "", float(i), "build_info")
    events = []
    for i in range(4, 1004):  # flips every refresh for 1000 refreshes
        events += log.observe("s", "2" if i % 2 == 0 else "1", "", float(i), "build_info")
    releases = [e for e in events if isinstance(e, Release)]
    notices = [e for e in events if isinstance(e, FlapNotice)]
    assert [r.version for r in releases] == ["2"] and len(notices) == 1
    assert notices[0].versions == ("2", "1")
    assert "flapping between 2 and 1" in notices[0].message()
    # it holds at 1 again: back to the version before the release, which is a release too
    later = []
    for i in range(1004, 1010):
        later += log.observe("s", "1", "", float(i), "build_info")
    assert len(later) == 1 and isinstance(later[0], Release)
    assert (later[0].version, later[0].previous) == ("1", "2")


def test_memory_is_bounded() -> None:
    log = ReleaseLog(keep=5, max_services=10, flap_within=1)
    for s in range(100):
        for v in range(20):
            log.observe(f"svc{s}", str(v), "", float(v), "otlp")
    assert len(log.services()) == 10 and all(len(log.releases(s)) == 5 for s in log.services())
    assert len(log._tracks) == 10


def test_a_second_source_of_the_same_rollout_is_not_a_second_release() -> None:
    log = ReleaseLog()
    (mark,) = log.add(Release("s", "1.4.3", "", 100.0, "mark"))
    log.observe("s", "1.4.2", "", 90.0, "build_info")
    assert log.observe("s", "1.4.3", "", 130.0, "build_info") == []
    assert log.releases("s") == [mark]


def test_record_round_trip_and_bad_lines() -> None:
    rel = Release("s", "1.4.3", "9b7d013", 12.5, "otlp", "1.4.2")
    line = json.loads(json.dumps(rel.to_record()))
    assert line["type"] == "release" and Release.from_record(line) == rel
    with pytest.raises(ValueError, match="'version'"):
        Release.from_record({"t": 1, "service": "s", "version": ""})
    with pytest.raises(ValueError, match="source 'x'"):
        Release.from_record({"t": 1, "service": "s", "version": "1", "source": "x"})
    with pytest.raises(ValueError, match="numeric 't'"):
        Release.from_record({"t": "now", "service": "s", "version": "1"})


def _store_with_step(t_release: float, before: float, after: float) -> MetricStore:
    store = MetricStore()
    rng = np.random.default_rng(1)
    for i in range(120):
        t = float(i)
        level = before if t < t_release else after
        for sig, k in (("p99", 1.0), ("p95", 0.6)):
            store.add("s", sig, t, level * k * (1 + 0.05 * rng.standard_normal()), 0, "prometheus")
    return store


def test_comparison_says_regression_with_its_interval() -> None:
    store = _store_with_step(60.0, 0.1, 0.34)
    cmp = compare_release(store, Release("s", "1.4.3", "", 60.0, "mark"), 50.0, 2.0)
    p99, p95 = cmp.rows
    assert (p99.name, p99.verdict, p95.verdict) == ("p99", "REGRESSION", "REGRESSION")
    assert 3.1 < p99.change.ratio < 3.7 and p99.change.lo < p99.change.ratio < p99.change.hi
    msg = cmp.message()
    assert msg.startswith("s 1.4.3: P99 +2") and "(REGRESSION)" in msg and "P95" in msg
    # samples one per rate window: 25 each side with 50 s windows and a 2 s rate window
    assert p99.base.n == 25 and p99.current.n == 25


def test_comparison_of_an_unchanged_release_is_not_a_regression() -> None:
    store = _store_with_step(60.0, 0.1, 0.1)
    cmp = compare_release(store, Release("s", "1.4.4", "", 60.0, "mark"), 50.0, 2.0)
    assert all(r.verdict in ("EQUIVALENT", "INCONCLUSIVE") for r in cmp.rows)


def test_timeline_waits_for_the_after_window(tmp_path: Path) -> None:
    store = _store_with_step(60.0, 0.1, 0.34)
    tl = ReleaseTimeline(store, window=20.0, rate_window=2.0, marks=tmp_path / "r.jsonl")
    append_mark(tmp_path / "r.jsonl", Release("s", "1.4.3", "", 60.0, "mark"))
    (line,) = tl.read_marks()
    assert line["type"] == "release" and tl.read_marks() == []
    assert tl.tick(81.0) == []
    (cmp,) = tl.tick(82.0)
    assert cmp["type"] == "release_compare" and "REGRESSION" in cmp["message"]
    assert tl.tick(200.0) == []


def test_marks_reader_skips_bad_lines_and_waits_for_a_whole_line(tmp_path: Path) -> None:
    path = tmp_path / "releases.jsonl"
    path.write_text('{"t": 1, "service": "s", "version": "1"}\nnot json\n{"t": 2, "serv')
    reader = MarksReader(path)
    assert [r.version for r in reader.read_new()] == ["1"]
    assert len(reader.problems) == 1 and "line skipped" in reader.problems[0]
    with open(path, "a") as fh:
        fh.write('ice": "s", "version": "2"}\n')
    assert [r.version for r in reader.read_new()] == ["2"]


def test_history_keeps_releases_and_their_verdicts_bounded() -> None:
    from tui.core.release_timeline import ReleaseHistory

    h = ReleaseHistory(keep=3)
    for i in range(10):
        assert h.apply(Release("s", f"1.{i}", "", float(i), "mark").to_record())
    assert [n.release.version for n in h.of("s")] == ["1.7", "1.8", "1.9"]
    assert h.apply({"type": "release_compare", "service": "s", "release_t": 9.0, "message": "m"})
    assert h.of("s")[-1].verdict == "m" and h.of("other") == []
    assert not h.apply({"type": "spike", "service": "s"})
    assert not h.apply({"type": "release", "service": "s", "t": 1})  # no version: ignored
