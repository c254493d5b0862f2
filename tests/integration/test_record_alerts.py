"""`warroom record` with a real Alertmanager: alerts lines when the set changes, replayed into
the alerts pane as Alertmanager served them, once each however one scrubs."""

from __future__ import annotations

import itertools
import json
import operator
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.integration.test_alertmanager import alert, post_alerts, run_alertmanager
from tests.servers import free_port
from tui.config import parse_config
from tui.core.recording import read_recording
from tui.sources.alertmanager import AlertmanagerSource
from tui.sources.replay import alert_record
from tui.ui.replay import ReplayApp

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def am_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with run_alertmanager(tmp_path_factory.mktemp("am-record")) as url:
        yield url


def _config(am_url: str, run: str) -> str:
    return f"""
otlp: {{http: "127.0.0.1:{free_port()}", grpc: ""}}
refresh: 1s
alertmanager:
  url: "{am_url}"
  refresh: 1s
  filters: ['run="{run}"']
services:
  - name: checkout
"""


def _alerts_lines(path: Path) -> list[dict]:
    if not path.exists():
        return []
    lines = [json.loads(x) for x in path.read_text().splitlines() if x.strip()]
    return [e for e in lines if e["type"] == "alerts"]


def _names(line: dict) -> set[str]:
    return {a["labels"]["alertname"] for a in line["alerts"]}


async def test_record_alerts_and_replay_them(am_url: str, tmp_path: Path) -> None:
    run = f"rec-{os.getpid()}-{time.time_ns()}"
    cfg_text = _config(am_url, run)
    (tmp_path / "w.yaml").write_text(cfg_text)
    out = tmp_path / "rec.jsonl"
    now = time.time()
    post_alerts(am_url, [alert("HighLatency", "checkout", "page", "p99 over SLO", now - 60,
                               run=run)])
    proc = subprocess.Popen(
        [sys.executable, "-m", "tui.cli", "record", "-c", str(tmp_path / "w.yaml"),
         "--duration", "5s", "--out", str(out)],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 20
        while not _alerts_lines(out) and time.monotonic() < deadline:
            time.sleep(0.1)
        post_alerts(am_url, [alert("ErrorBurst", "search", "warning", "5xx burst", now - 5,
                                   run=run)])
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err.decode()
    assert "at the end" not in err.decode()

    lines = _alerts_lines(out)
    sets = [_names(e) for e in lines]
    changes = [s for i, s in enumerate(sets) if i == 0 or s != sets[i - 1]]
    assert changes == [{"HighLatency"}, {"HighLatency", "ErrorBurst"}]
    assert all(a["alerts"] != b["alerts"] for a, b in itertools.pairwise(lines)), \
        "an alerts line repeats the set before it"

    # what Alertmanager serves now is what the last line holds
    cfg = parse_config(cfg_text)
    assert cfg.alertmanager is not None
    source = AlertmanagerSource(cfg.alertmanager)
    try:
        served = await source.fetch_alerts()
    finally:
        await source.stop()
    key = operator.itemgetter("fingerprint")
    assert sorted(map(alert_record, served), key=key) == sorted(lines[-1]["alerts"], key=key)

    recording = read_recording(out)
    app = ReplayApp(parse_config(cfg_text), recording)
    assert app.cfg.alertmanager is None  # a replay asks no Alertmanager anything
    first_both = next(e["t"] for e in lines if len(e["alerts"]) == 2)
    async with app.run_test(size=(120, 30)) as pilot:
        for _ in range(100):
            if app.panes_ready and app.driver.on_event is not None:
                break
            await pilot.pause(0.02)
        app.driver.paused = True
        app.dashboard.query_one("#detail").active = "tab-alerts"  # type: ignore[attr-defined]
        pane = app.dashboard.pane("tab-alerts")
        assert pane is not None
        for t in (recording.end, lines[0]["t"], recording.end, first_both - 0.001, first_both):
            app.driver.seek(t)
            await pilot.pause()
            app.redraw_now()
            await pilot.pause()
            names = sorted(a.name for a in pane.rows)
            want = sorted(["HighLatency", "ErrorBurst"] if t >= first_both else ["HighLatency"])
            assert names == want, t
        assert sorted(map(alert_record, app.alerts), key=key) == sorted(
            map(alert_record, served), key=key)
        assert pane.table.row_count == 2
