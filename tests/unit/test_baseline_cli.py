"""`warroom baseline list|show|refresh|restore` as a real process, from a record file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli import warroom

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def setup(tmp_path: Path) -> tuple[Path, Path, Path]:
    rec = tmp_path / "rec.jsonl"
    with rec.open("w") as f:
        for i in range(100):
            for sig, v in (("p99", 0.2 + 0.001 * (i % 7)), ("qps", 300 + i % 5)):
                f.write(
                    json.dumps(
                        {
                            "t": 1000 + 5 * i,
                            "type": "point",
                            "service": "api",
                            "signal": sig,
                            "value": v,
                        }
                    )
                    + "\n"
                )
    cfg = tmp_path / "w.yaml"
    cfg.write_text(
        f"services:\n  - name: api\n    version: v1\nbaseline:\n  dir: {tmp_path / 'store'}\n"
    )
    return cfg, rec, tmp_path


def test_refresh_list_show_restore(setup: tuple[Path, Path, Path]) -> None:
    cfg, rec, _ = setup
    r1 = warroom(
        "baseline",
        "refresh",
        "api",
        "-c",
        str(cfg),
        "--from-record",
        str(rec),
        "--window",
        "100s",
        "--bench",
        str(ROOT / "tests/data/bench/json_gogc100.txt"),
    )
    assert r1.returncode == 0, r1.stderr
    assert "saved and current (21 steps of p99, qps; version v1; bench" in r1.stdout
    r2 = warroom(
        "baseline",
        "refresh",
        "api",
        "-c",
        str(cfg),
        "--from-record",
        str(rec),
        "--version",
        "v2",
        "--by",
        "ci",
    )
    assert r2.returncode == 0, r2.stderr
    listing = json.loads(warroom("baseline", "list", "-c", str(cfg), "--format", "json").stdout)
    rows = listing["api"]
    assert [r["version"] for r in rows] == ["v2", "v1"] and rows[0]["current"]
    assert rows[0]["taken_by"] == "ci" and rows[1]["bench"] and rows[0]["signals"]["p99"] == 100
    shown = json.loads(
        warroom("baseline", "show", "api", "-c", str(cfg), "--format", "json").stdout
    )
    assert shown["version"] == "v2" and shown["signals"]["qps"]["n"] == 100
    assert shown["signals"]["qps"]["median"] == 302
    text = warroom("baseline", "show", "api", rows[1]["id"], "-c", str(cfg)).stdout
    assert "version: v1" in text and "p99" in text
    r3 = warroom("baseline", "restore", "api", rows[1]["id"], "-c", str(cfg))
    assert r3.returncode == 0 and "is current again" in r3.stdout
    listing = json.loads(warroom("baseline", "list", "-c", str(cfg), "--format", "json").stdout)
    assert [r["current"] for r in listing["api"]] == [False, True]


def test_errors_exit_2_one_line(setup: tuple[Path, Path, Path]) -> None:
    cfg, rec, tmp = setup
    cases = [
        ("baseline", "restore", "api", "nope", "-c", str(cfg)),
        ("baseline", "show", "api", "-c", str(cfg)),  # nothing taken yet
        ("baseline", "refresh", "api", "-c", str(cfg)),  # no prometheus configured
        ("baseline", "refresh", "api", "-c", str(cfg), "--from-record", str(tmp / "no.jsonl")),
        ("baseline", "refresh", "web", "-c", str(cfg), "--from-record", str(rec)),  # no points
        (
            "baseline",
            "refresh",
            "api",
            "-c",
            str(cfg),
            "--from-record",
            str(rec),
            "--window",
            "soon",
        ),
        ("baseline", "refresh", "../x", "-c", str(cfg), "--from-record", str(rec)),
    ]
    for args in cases:
        r = warroom(*args)
        assert r.returncode == 2, (args, r.stdout, r.stderr)
        assert r.stderr.startswith("warroom: ") and r.stderr.count("\n") == 1, r.stderr
        assert "Traceback" not in r.stderr


def test_corrupt_snapshot_is_a_warning_not_fatal(setup: tuple[Path, Path, Path]) -> None:
    cfg, rec, tmp = setup
    assert (
        warroom("baseline", "refresh", "api", "-c", str(cfg), "--from-record", str(rec)).returncode
        == 0
    )
    (tmp / "store" / "api" / "snapshots" / "20000101T000000Z-abcdef.json").write_text("{oops")
    r = warroom("baseline", "list", "-c", str(cfg))
    assert r.returncode == 0
    assert "corrupt baseline snapshot" in r.stderr and "20000101T000000Z-abcdef" in r.stderr


def test_missing_bench_file_exit_2_nothing_saved(setup: tuple[Path, Path, Path]) -> None:
    cfg, rec, tmp = setup
    missing = tmp / "bench-not-run.txt"
    with_bench = tmp / "bench.yaml"
    with_bench.write_text(cfg.read_text() + f"  bench: {missing}\n")
    for conf, extra, where in (
        (with_bench, (), f"{with_bench}: baseline.bench"),
        (cfg, ("--bench", str(missing)), "bench file"),
    ):
        r = warroom(
            "baseline", "refresh", "api", "-c", str(conf), "--from-record", str(rec), *extra
        )
        assert r.returncode == 2, (r.stdout, r.stderr)
        assert r.stderr == f"warroom: {where}: {missing}: no such file\n"
    assert not list((tmp / "store").rglob("*.json"))  # no snapshot, no current pointer
