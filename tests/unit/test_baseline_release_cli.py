"""`warroom baseline` keyed by release, as a real process: refresh records the version the
release lines say, show/restore answer "the baseline of the previous release", on a store
written before versioned baselines too; bad combinations are one line and exit 2."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.cli import warroom

ROOT = Path(__file__).resolve().parents[2]
V1_STORE = ROOT / "tests" / "data" / "baselines" / "v1"


@pytest.fixture()
def cfg(tmp_path: Path) -> Path:
    shutil.copytree(V1_STORE, tmp_path / "store")
    path = tmp_path / "w.yaml"
    path.write_text(
        "services:\n  - name: checkout\n  - name: search\n"
        f"baseline:\n  dir: {tmp_path / 'store'}\naudit:\n  path: {tmp_path / 'audit.jsonl'}\n"
    )
    return path


def record(tmp_path: Path, releases: list[tuple[float, str, str]]) -> Path:
    rec = tmp_path / "rec.jsonl"
    lines = [
        {"t": 2000 + 5 * i, "type": "point", "service": "checkout", "signal": "p99", "value": 0.06}
        for i in range(40)
    ]
    lines += [
        {
            "t": t,
            "type": "release",
            "service": "checkout",
            "version": v,
            "revision": r,
            "source": "build_info",
            "previous": "",
        }
        for t, v, r in releases
    ]
    rec.write_text("".join(json.dumps(x) + "\n" for x in lines))
    return rec


def refresh_from_record(cfg: Path, rec: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """`baseline refresh checkout` from a recording's last 10 minutes, without a profile."""
    return warroom(
        "baseline", "refresh", "checkout", "-c", str(cfg), "--from-record", str(rec),
        "--window", "10m", "--no-profile", *extra,
    )  # fmt: skip


def test_refresh_from_a_recording_is_keyed_by_its_newest_release(cfg: Path, tmp_path: Path) -> None:
    rec = record(tmp_path, [(2010, "1.5.0", "aa11"), (2100, "1.5.1", "bb22")])
    r = refresh_from_record(cfg, rec)
    assert r.returncode == 0, r.stderr
    assert "; version 1.5.1; version from record, revision bb22)" in r.stdout
    doc = json.loads(
        warroom("baseline", "show", "checkout", "-c", str(cfg), "--format", "json").stdout
    )
    assert (doc["version"], doc["revision"], doc["version_source"]) == ("1.5.1", "bb22", "record")
    assert doc["picked"] == "current" and doc["routes"] == {}
    # an explicit --version wins over the recording and says where it came from
    r = refresh_from_record(cfg, rec, "--version", "1.5.1-hotfix")
    assert "version 1.5.1-hotfix; version from cli)" in r.stdout, r.stdout + r.stderr


def test_previous_release_on_an_old_store(cfg: Path, tmp_path: Path) -> None:
    # the old store's current baseline is 1.4.2; its previous release is 1.4.1
    r = warroom("baseline", "show", "checkout", "-c", str(cfg), "--previous-release")
    assert r.returncode == 0, r.stderr
    assert "version: 1.4.1" in r.stdout and "(previous release before 1.4.2)" in r.stdout
    # 1.5.0 deployed over a 1.4.2 baseline: the previous release is 1.4.2 itself
    r = warroom(
        "baseline",
        "show",
        "checkout",
        "-c",
        str(cfg),
        "--previous-release",
        "--running",
        "1.5.0",
        "--format",
        "json",
    )
    doc = json.loads(r.stdout)
    assert doc["version"] == "1.4.2" and doc["picked"] == "previous release before 1.5.0"
    r = warroom("baseline", "restore", "checkout", "-c", str(cfg), "--previous-release")
    assert r.returncode == 0, r.stderr
    assert "version 1.4.1) is current again (previous release before 1.4.2)" in r.stdout
    listed = json.loads(warroom("baseline", "list", "-c", str(cfg), "--format", "json").stdout)
    assert [(b["version"], b["current"]) for b in listed["checkout"]] == [
        ("1.4.2", False),
        ("1.4.1", True),
    ]


def test_a_mark_keys_the_previous_release(cfg: Path) -> None:
    # no Prometheus: the running version is the newest `warroom mark` of the service
    r = warroom("mark", "checkout", "1.4.2", "-c", str(cfg))
    assert r.returncode == 0, r.stderr
    doc = json.loads(
        warroom(
            "baseline", "show", "checkout", "-c", str(cfg), "--previous-release", "--format", "json"
        ).stdout
    )
    assert doc["version"] == "1.4.1" and doc["picked"] == "previous release before 1.4.2"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("show", "checkout", "x", "--previous-release"),
            "give a baseline ID or --previous-release, not both",
        ),
        (("show", "checkout", "--running", "1"), "--running goes with --previous-release"),
        (("restore", "checkout"), "restore checkout: give a baseline ID or --previous-release"),
        (
            ("show", "search", "--previous-release"),
            "search: --previous-release: the running version is unknown",
        ),
        (
            ("show", "search", "--previous-release", "--running", "1.0"),
            "(versions with a baseline: none)",
        ),
        (
            ("restore", "nosuch", "--previous-release", "--running", "2"),
            "nosuch: no baseline of a release before 2",
        ),
    ],
)
def test_bad_input_is_one_line(cfg: Path, args: tuple[str, ...], message: str) -> None:
    r = warroom("baseline", *args, "-c", str(cfg))
    assert r.returncode == 2, r.stdout + r.stderr
    assert r.stderr.startswith("warroom: ") and message in r.stderr and r.stderr.count("\n") == 1, (
        r.stderr
    )


def test_check_previous_release_from_a_recording_is_relative_to_its_release(
    cfg: Path, tmp_path: Path
) -> None:
    # the store's current baseline is 1.4.2, the recording ran 1.5.1: the previous release
    # is 1.4.2 (relative to what the recording ran), not 1.4.1 (relative to the baseline)
    rec = record(tmp_path, [(2010, "1.5.0", "aa11"), (2100, "1.5.1", "bb22")])
    args = ("check", "-c", str(cfg), "--service", "checkout", "--from-record", str(rec))
    r = warroom(*args, "--baseline", "previous-release", "--window", "10m", "--format", "json")
    assert r.returncode in (0, 1), r.stderr
    doc = json.loads(r.stdout)["services"][0]
    assert doc["baseline"]["version"] == "1.4.2", doc["baseline"]
    # a recording without a release line of the service: the current baseline's version
    bare = tmp_path / "bare.jsonl"
    bare.write_text("".join(x for x in rec.read_text().splitlines(True) if '"point"' in x))
    r = warroom(*args[:-1], str(bare), "--baseline", "previous-release", "--window", "10m",
                "--format", "json")  # fmt: skip
    assert json.loads(r.stdout)["services"][0]["baseline"]["version"] == "1.4.1", r.stderr


def test_check_previous_release_from_a_recording_without_an_older_release(
    cfg: Path, tmp_path: Path
) -> None:
    # only 1.5.1 (what the recording ran) has a baseline: asked by name, a missing previous
    # release is one line and exit 2, not a pass; the recording and the store are untouched
    rec = record(tmp_path, [(2010, "1.5.1", "bb22")])
    shutil.rmtree(tmp_path / "store")
    assert refresh_from_record(cfg, rec).returncode == 0
    before = rec.read_bytes(), sorted((tmp_path / "store").rglob("*"))
    r = warroom(
        "check", "-c", str(cfg), "--service", "checkout", "--from-record", str(rec),
        "--baseline", "previous-release", "--window", "10m",
    )  # fmt: skip
    assert r.returncode == 2, r.stdout + r.stderr
    assert r.stderr.startswith("warroom: checkout: no baseline of a release before 1.5.1"), r.stderr
    assert "(versions with a baseline: 1.5.1)" in r.stderr and "Traceback" not in r.stderr
    assert (rec.read_bytes(), sorted((tmp_path / "store").rglob("*"))) == before
