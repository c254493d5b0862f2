"""Typed source events: the same objects live and in replay, the recording format unchanged."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from tui.config import parse_config
from tui.core.events import (
    Alerts,
    AuditLine,
    NewProfile,
    OtherLine,
    Point,
    PointBatch,
    ProfilesArrived,
    RecordedEvent,
    RecordLines,
    ReleaseVerdict,
    Reset,
    SourceEvent,
    event_from_record,
    event_or_line,
    record_lines,
)
from tui.core.metrics.store import MetricStore
from tui.core.recording import read_recording
from tui.core.releases import FlapNotice, Release
from tui.core.stats.spikes import SpikeEvent
from tui.sources import prometheus
from tui.sources.hub import Hub
from tui.sources.replay import ReplayDriver

# Lines exactly as `warroom record` wrote them before the events were typed (one of each
# kind it writes, plus a reset as the replay sent it): the on-disk format must not move.
OLD_LINES = [
    '{"t":1000.0,"type":"point","service":"checkout","signal":"p99","value":0.12}',
    '{"t":1000.0,"type":"spike","service":"checkout","signal":"p99","state":"GLITCH",'
    '"value":0.4,"baseline":0.1}',
    '{"t":1001.5,"type":"alerts","alerts":[{"fingerprint":"0a1b","labels":{"alertname":'
    '"HighLatency"},"annotations":{},"status":{"state":"active","silencedBy":[],'
    '"inhibitedBy":[]},"startsAt":"2026-12-03T16:00:00+00:00","endsAt":null}]}',
    '{"t":1002.0,"type":"action","record":{"ts":1002.0,"event":"started","action":"rollback",'
    '"service":"checkout"}}',
    '{"t":1003.0,"type":"release","service":"checkout","version":"1.4.3","revision":"9b7d",'
    '"source":"build_info","previous":"1.4.2"}',
    '{"t":1004.0,"type":"release_flap","service":"search","source":"otlp","versions":["2","3"]}',
    '{"t":1005.0,"type":"release_compare","service":"checkout","version":"1.4.3",'
    '"release_t":1003.0,"rows":[{"name":"p99","verdict":"REGRESSION"}],'
    '"message":"checkout 1.4.3: P99 +240% (REGRESSION)"}',
    '{"t":1006.0,"type":"truncated"}',
    '{"t":1007.0,"type":"reset"}',
]


def _compact(rec: dict[str, Any]) -> str:
    return json.dumps(rec, separators=(",", ":"), allow_nan=False)


def test_every_recorded_kind_reads_as_its_type_and_writes_the_same_line() -> None:
    kinds = [
        Point,
        SpikeEvent,
        Alerts,
        AuditLine,
        Release,
        FlapNotice,
        ReleaseVerdict,
        OtherLine,
        Reset,
    ]
    for line, kind in zip(OLD_LINES, kinds, strict=True):
        event = event_from_record(json.loads(line))
        assert type(event) is kind, line
        assert _compact(event.to_record()) == line


def test_typed_events_round_trip() -> None:
    events: list[RecordedEvent] = [
        Point(5.0, "api", "p95", 0.2, flags=1, source="otlp"),
        SpikeEvent(5.0, "api", "p99", "SUSTAINED", 0.5, 0.1, 5.0),
        Alerts(6.0, ({"labels": {"a": "b"}, "annotations": {}, "status": {}},)),
        AuditLine(7.0, {"ts": 7.0, "event": "finished"}),
        Release("api", "2.0", "", 8.0, "mark", "1.9"),
        FlapNotice("api", "otlp", 9.0, ("1", "2")),
        ReleaseVerdict(10.0, "api", "2.0", 8.0, ({"name": "p99"},), "api 2.0: P99 +1%"),
        Reset(11.0),
        ProfilesArrived(12.0, (NewProfile(Path("/p/api-cpu.pb.gz"), "api", True),)),
    ]
    for e in events:
        back = event_from_record(json.loads(json.dumps(e.to_record())))
        assert back == e, e


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ({"type": "point"}, "an event needs a numeric 't'"),
        ({"t": True, "type": "point"}, "an event needs a numeric 't'"),
        ({"t": 1, "type": 3}, "an event needs a string 'type'"),
        ({"t": 1, "type": "point", "service": "a", "value": 1}, "a point event needs"),
        ({"t": 1, "type": "spike", "service": "a", "state": "GLITCH"}, "a spike event needs"),
        ({"t": 1, "type": "alerts", "alerts": [{"labels": 1}]}, "an alerts event needs"),
        ({"t": 1, "type": "action", "record": []}, "an action event needs"),
        ({"t": 1, "type": "profiles", "files": [{}]}, "a profiles event needs"),
        ({"t": 1, "type": "release", "service": "a"}, "a release needs"),
    ],
)
def test_a_line_that_does_not_read_says_what_it_lacks(line: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        event_from_record(line)
    kept = event_or_line(line)  # replay passes it on as it is, never fatal
    assert isinstance(kept, OtherLine) and kept.to_record() == line


def test_record_lines_put_a_refresh_points_before_its_spikes() -> None:
    """The hub sends a refresh's spikes before its closing batch; the recording keeps each
    spike line after the point that raised it, as the replay's state column counts."""
    flushed: list[int] = []
    lines = RecordLines(on_batch=lambda: flushed.append(len(lines.lines)))
    spike = SpikeEvent(2.0, "api", "p99", "GLITCH", 0.5, 0.1, 5.0)
    lines(spike)
    lines(PointBatch((Point(1.0, "api", "p99", 0.1), Point(2.0, "api", "p99", 0.5))))
    assert flushed == [3]
    assert [(r["type"], r["t"]) for r in lines.take()] == [
        ("point", 1.0),
        ("point", 2.0),
        ("spike", 2.0),
    ]
    assert lines.take() == []
    assert record_lines(PointBatch()) == []


CONFIG = """
otlp: {{http: "", grpc: ""}}
baseline: {{dir: "{dir}"}}
services:
  - name: api
"""


def test_a_hub_recording_replays_into_the_same_events(tmp_path: Path) -> None:
    """Record (the hub's events through RecordLines, to a file) then replay the file: the
    replay hands over the spike events the hub sent, as the same typed objects."""
    live: list[SourceEvent] = []
    lines = RecordLines()

    def sink(e: SourceEvent) -> None:
        live.append(e)
        lines(e)

    cfg = parse_config(CONFIG.format(dir=tmp_path / "baselines"))
    hub = Hub(cfg, MetricStore(), sink, emit_points=True, start_otlp=False)
    for i in range(240):  # a shift x4 over 150..169, as tests/ui/test_replay.py plays it
        value = 0.12 * (4.0 if 150 <= i < 170 else 1.0) * (1 + 0.1 * math.sin(i / 7))
        hub._publish([prometheus.Point("api", "p99", 1000.0 + i, value)])
    path = tmp_path / "rec.jsonl"
    path.write_text("".join(_compact(r) + "\n" for r in lines.take()))
    sent = [e for e in live if isinstance(e, SpikeEvent)]
    assert sent and {e.state for e in sent} >= {"SUSTAINED"}

    replayed: list[SourceEvent] = []
    store = MetricStore()
    driver = ReplayDriver(read_recording(path), store, event_sink=replayed.append)
    driver.seek(2000.0)
    spikes = [e for e in replayed if isinstance(e, SpikeEvent)]
    # the record line keeps no ratio flags: compare what a line holds
    assert [s.to_record() for s in spikes] == [s.to_record() for s in sent]
    assert isinstance(replayed[-1], PointBatch)
    ring = store.series("api", "p99")
    assert ring is not None and len(ring) == 240
    assert driver.spikes.states()["api"] == hub.spikes.state("api")


def test_a_recording_in_the_old_format_replays(tmp_path: Path) -> None:
    path = tmp_path / "old.jsonl"
    path.write_text("\n".join(OLD_LINES[:-1]) + "\n")  # a file never holds a reset
    seen: list[SourceEvent] = []
    driver = ReplayDriver(read_recording(path), MetricStore(), event_sink=seen.append)
    driver.seek(2000.0)
    driver.seek(1000.5)  # back: a Reset, then what lies before 1000.5 again
    kinds = [type(e).__name__ for e in seen]
    assert kinds == [
        "SpikeEvent",
        "Alerts",
        "AuditLine",
        "Release",
        "FlapNotice",
        "ReleaseVerdict",
        "OtherLine",
        "PointBatch",
        "Reset",
        "SpikeEvent",
        "PointBatch",
    ]
    assert driver.store.latest("checkout", "p99") == (1000.0, 0.12, 0)
