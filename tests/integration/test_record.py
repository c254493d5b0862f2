"""`warroom record` against the real Prometheus: line format, appending, interruption."""

from __future__ import annotations

import json
import math
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT
from tests.integration.test_snapshot import write_config
from tests.servers import free_port
from tui.cli import main
from tui.core.metrics.store import MetricStore
from tui.core.recording import read_recording
from tui.sources.replay import ReplayDriver

pytestmark = pytest.mark.integration

SIGNALS = {"p50", "p95", "p99", "qps", "error_ratio"}


def read_lines(path: Path) -> list[dict[str, Any]]:
    data = path.read_bytes()
    assert data == b"" or data.endswith(b"\n"), "the file ends in a partial line"
    return [json.loads(line) for line in data.decode().splitlines()]


def check_points(lines: list[dict[str, Any]], since: float) -> None:
    last: dict[tuple[str, str], float] = {}
    for e in lines:
        assert e["type"] in ("point", "spike")
        if e["type"] != "point":
            continue
        assert list(e) == ["t", "type", "service", "signal", "value"]
        assert isinstance(e["t"], float) and e["t"] >= math.floor(since)
        assert e["service"] in ("prom", "lat")
        assert e["signal"] in SIGNALS or e["signal"].startswith("go."), e
        assert isinstance(e["value"], float) and math.isfinite(e["value"])
        key = (e["service"], e["signal"])
        assert e["t"] > last.get(key, -1), "a step recorded twice or out of order"
        last[key] = e["t"]


def test_record_writes_points_for_the_duration(
    prometheus: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg, out = write_config(tmp_path, prometheus), tmp_path / "rec.jsonl"
    start = time.time()
    code = main(["record", "-c", str(cfg), "--duration", "3s", "--out", str(out)])
    elapsed = time.time() - start
    _, err = capsys.readouterr()
    assert code == 0, err
    assert 2.9 <= elapsed < 10  # roomy: the machine is shared
    lines = read_lines(out)
    check_points(lines, start)
    assert err == f"warroom: recorded {len(lines)} lines in 3s to {out}\n"
    points = [e for e in lines if e["type"] == "point"]
    lat_p99 = [e for e in points if e["service"] == "lat" and e["signal"] == "p99"]
    assert 2 <= len(lat_p99) <= 5  # one per 1s step during 3s
    assert all(e["value"] == 0.2 for e in lat_p99)
    assert {e["signal"] for e in points if e["service"] == "lat"} == SIGNALS
    assert {e["signal"] for e in points if e["service"] == "prom"} >= {"p50", "p99", "qps"}
    # Prometheus is a Go process: its runtime signals are recorded, and a replay stores them
    # where the Service tab's runtime panel reads them (an exposition server has none)
    runtime = {e["signal"] for e in points if e["signal"].startswith("go.")}
    assert {"go.goroutines", "go.heap_inuse"} <= runtime, runtime
    assert all(e["service"] == "prom" for e in points if e["signal"] in runtime)
    store = MetricStore()
    ReplayDriver(read_recording(out), store).seek(math.inf)
    ring = store.series("prom", "go.goroutines")
    assert ring is not None and len(ring) >= 2

    # Recording again appends; the first recording is kept as it was.
    first = out.read_bytes()
    assert main(["record", "-c", str(cfg), "--duration", "1500ms", "--out", str(out)]) == 0
    again = out.read_bytes()
    assert again.startswith(first) and len(again) > len(first)
    read_lines(out)


def test_record_with_prometheus_down_all_along_says_so_and_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """It keeps trying for the whole duration, then a recording of nothing is exit 1."""
    url = f"http://127.0.0.1:{free_port()}"
    cfg, out = write_config(tmp_path, url), tmp_path / "rec.jsonl"
    assert main(["record", "-c", str(cfg), "--duration", "1s", "--out", str(out)]) == 1
    _, err = capsys.readouterr()
    assert read_lines(out) == []
    assert "warroom: error: prometheus never answered during the recording: unreachable" in err
    assert "recorded 0 lines" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--duration", "forever"], "warroom: --duration: 'forever' is not a duration"),
        (["--duration", "0s"], "warroom: --duration: must be positive"),
        (
            ["--out", "/nonexistent-dir/x.jsonl"],
            "warroom: /nonexistent-dir/x.jsonl: cannot open for writing: No such file",
        ),
    ],
)
def test_bad_arguments(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    cfg = write_config(tmp_path, "http://127.0.0.1:1")
    base = {"--duration": "1s", "--out": str(tmp_path / "r.jsonl")}
    base.update(dict(zip(args[::2], args[1::2], strict=True)))
    code = main(["record", "-c", str(cfg), *[x for kv in base.items() for x in kv]])
    _, err = capsys.readouterr()
    assert code == 2 and err.startswith(message), err
    assert "Traceback" not in err


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGKILL, -9)])
def test_interrupted_record_keeps_whole_lines(
    prometheus: str, tmp_path: Path, sig: signal.Signals, code: int
) -> None:
    cfg, out = write_config(tmp_path, prometheus), tmp_path / "rec.jsonl"
    start = time.time()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tui.cli",
            "record",
            "-c",
            str(cfg),
            "--duration",
            "60s",
            "--out",
            str(out),
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if out.exists() and out.read_bytes().count(b"\n") >= 12:
                break
            time.sleep(0.1)
        else:
            pytest.fail("record wrote nothing")
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == code, err
    lines = read_lines(out)
    assert len(lines) >= 12
    check_points(lines, start)
    if sig == signal.SIGTERM:
        assert f"recorded {len(lines)} lines" in err.decode()


def test_nothing_to_record(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "w.yaml"
    cfg.write_text('otlp: {http: "", grpc: ""}\nservices: [{name: api}]\n')
    out = tmp_path / "r.jsonl"
    assert main(["record", "-c", str(cfg), "--duration", "1s", "--out", str(out)]) == 2
    assert capsys.readouterr().err.startswith("warroom: nothing to record: no prometheus")
    assert not out.exists()


def test_record_with_otlp_warns_only_about_real_trouble(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A receiver that was up all along is not reported "down at the end" (stopping it is)."""
    from tests.integration.test_snapshot_otlp import config_text

    cfg, out = tmp_path / "w.yaml", tmp_path / "rec.jsonl"
    cfg.write_text(config_text(0))  # nobody pushes: any port
    assert main(["record", "-c", str(cfg), "--duration", "1s", "--out", str(out)]) == 0
    _, err = capsys.readouterr()
    listening, recorded = err.splitlines()  # where it listened, then the summary: no warning
    assert re.fullmatch(r"warroom: otlp/http: listening on 127\.0\.0\.1:\d+", listening), err
    assert recorded == f"warroom: recorded 0 lines in 1s to {out}"
