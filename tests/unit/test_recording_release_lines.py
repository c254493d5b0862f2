"""Damaged release lines in a recording (a `release_flap` whose `versions` is no list, a
`release` without its version): the recording still reads, every line is kept, the problem
names each damaged line, and a replay shows the rest without failing."""

from __future__ import annotations

import json
import math
from pathlib import Path

from tui.core.events import RELEASE_EVENTS, OtherLine, SourceEvent
from tui.core.metrics.store import MetricStore
from tui.core.recording import read_recording
from tui.core.release_timeline import ReleaseHistory
from tui.core.releases import FlapNotice
from tui.core.stats.spikes import SpikeEvent
from tui.sources.replay import ReplayDriver

LINES = [
    {"t": 100.0, "type": "point", "service": "shop", "signal": "p99", "value": 0.05},
    {"t": 101.0, "type": "release_flap", "service": "shop", "source": "build_info",
     "versions": "1.4.2"},
    {"t": 102.0, "type": "release_flap", "service": "shop", "source": "build_info",
     "versions": 5},
    {"t": 103.0, "type": "release", "service": "shop", "source": "build_info"},
    {"t": 104.0, "type": "release_flap", "service": "pay", "source": "otlp",
     "versions": ["2.0", "2.1"]},
    {"t": 105.0, "type": "point", "service": "shop", "signal": "p99", "value": 0.06},
]  # fmt: skip


def test_damaged_release_lines_are_named_and_nothing_is_lost(tmp_path: Path) -> None:
    path = tmp_path / "rec.jsonl"
    path.write_text("".join(json.dumps(x) + "\n" for x in LINES))
    before = path.read_bytes()
    rec = read_recording(path)
    assert rec.events == LINES and path.read_bytes() == before
    assert rec.problem is not None
    assert (
        "line 2: release_flap line not shown (a release_flap event needs 'versions': a list)"
        in (rec.problem)
    )
    assert "line 3: release_flap line not shown" in rec.problem
    assert "line 4: release line not shown (a release needs a non-empty string 'version')" in (
        rec.problem
    )
    assert "line 5" not in rec.problem

    seen: list[SourceEvent] = []
    store = MetricStore()
    replay = ReplayDriver(rec, store, event_sink=seen.append)
    replay.seek(math.inf)
    history = ReleaseHistory()
    for e in seen:  # as the app does: the typed release events, and a damaged line as it is
        if isinstance(e, RELEASE_EVENTS):
            history.apply(e.to_record())
        elif isinstance(e, OtherLine):
            history.apply(dict(e.line))  # never raises
    flaps = [e for e in seen if isinstance(e, FlapNotice)]
    assert [f.versions for f in flaps] == [("2.0", "2.1")]
    assert history.flapping == {"pay": "version flapping: 2.0 / 2.1"}
    assert len(store.series("shop", "p99") or ()) == 2


def test_route_lines_do_not_crowd_the_replayed_events(tmp_path: Path) -> None:
    """A long recording of an OTLP service has a routes line per refresh: a replay leaves them
    to `baseline refresh`/`check` and hands the UI only what it shows."""
    from tui.core.baseline.route_samples import route_line
    from tui.core.metrics.routes import RouteRow

    lines = [*LINES]
    for i in range(600):
        t = 110.0 + i
        lines.append(route_line(t, "shop", "http.route", 1, 0, [RouteRow("/pay", {})]))
    lines.append({"t": 800.0, "type": "spike", "service": "shop", "signal": "p99",
                  "state": "SUSTAINED", "value": 0.5, "baseline": 0.05})  # fmt: skip
    path = tmp_path / "rec.jsonl"
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    seen: list[SourceEvent] = []
    ReplayDriver(read_recording(path), MetricStore(), event_sink=seen.append).seek(math.inf)
    assert not [e for e in seen if isinstance(e, OtherLine) and e.type == "routes"]
    assert [e.state for e in seen if isinstance(e, SpikeEvent)] == ["SUSTAINED"]
