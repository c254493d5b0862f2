"""`warroom profile FILE --speedscope OUT`: speedscope's file format, totals and per-function
values equal to `go tool pprof -top` on real profiles, atomic writes, one-line refusals."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tui.cli import main
from tui.core.pprof import load_profile
from tui.core.pprof.speedscope import default_path, to_speedscope

FIX = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "pprof"
needs_go = pytest.mark.skipif(shutil.which("go") is None, reason="go toolchain not installed")

# The structure of https://www.speedscope.app/file-format-schema.json (FileFormat.File with
# sampled profiles), written out as checks: required keys, types, enums.
VALUE_UNITS = {"bytes", "microseconds", "milliseconds", "nanoseconds", "none", "seconds"}


def _number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def check_speedscope_file(doc: Any) -> None:
    assert isinstance(doc, dict)
    assert {"$schema", "profiles", "shared"} <= set(doc)
    assert doc["$schema"] == "https://www.speedscope.app/file-format-schema.json"
    assert isinstance(doc["shared"], dict) and isinstance(doc["shared"]["frames"], list)
    frames = doc["shared"]["frames"]
    for fr in frames:
        assert isinstance(fr, dict) and isinstance(fr["name"], str)
        assert set(fr) <= {"name", "file", "line", "col"}
        assert isinstance(fr.get("file", ""), str)
        assert _number(fr.get("line", 0)) and _number(fr.get("col", 0))
    assert isinstance(doc.get("name", ""), str) and isinstance(doc.get("exporter", ""), str)
    assert _number(doc.get("activeProfileIndex", 0))
    assert isinstance(doc["profiles"], list) and doc["profiles"]
    for p in doc["profiles"]:
        assert {"endValue", "name", "samples", "startValue", "type", "unit", "weights"} <= set(p)
        assert p["type"] == "sampled" and isinstance(p["name"], str)
        assert p["unit"] in VALUE_UNITS
        assert _number(p["startValue"]) and _number(p["endValue"])
        assert isinstance(p["samples"], list) and isinstance(p["weights"], list)
        assert len(p["samples"]) == len(p["weights"])
        assert all(_number(w) for w in p["weights"])
        for stack in p["samples"]:
            assert isinstance(stack, list)
            assert all(isinstance(i, int) and 0 <= i < len(frames) for i in stack)


def _go_top(path: Path, sample_type: str, unit: str) -> tuple[int, dict[str, tuple[int, int]]]:
    """(total, {function: (flat, cum)}) from `go tool pprof -top` in the profile's own unit."""
    forced = {"nanoseconds": "ns", "bytes": "B"}.get(unit, "")
    args = ["go", "tool", "pprof", "-top", "-nodecount=1000000", "-nodefraction=0"]
    args += [f"-sample_index={sample_type}"]
    if forced:
        args.append(f"-unit={forced}")
    out = subprocess.run(
        [*args, str(path)], capture_output=True, text=True, check=True, timeout=120
    ).stdout.splitlines()
    head = next(ln for ln in out if ln.startswith("Showing nodes"))
    total = int(head.rsplit(" of ", 1)[1].split()[0].rstrip("nsB"))
    rows: dict[str, tuple[int, int]] = {}
    start = next(i for i, ln in enumerate(out) if ln.strip().startswith("flat")) + 1
    for ln in out[start:]:
        flat, _f, _s, cum, _c, name = ln.split(None, 5)
        name = name.removesuffix(" (inline)")
        rows[name] = (int(flat.rstrip("nsB")), int(cum.rstrip("nsB")))
    return total, rows


def _by_function(doc: dict[str, Any], k: int) -> dict[str, tuple[int, int]]:
    """flat (leaf frame) and cum (each function once per stack) from the exported samples."""
    names = [f["name"] for f in doc["shared"]["frames"]]
    prof = doc["profiles"][k]
    out: dict[str, list[int]] = {}
    for stack, w in zip(prof["samples"], prof["weights"], strict=True):
        for n in {names[i] for i in stack}:
            out.setdefault(n, [0, 0])[1] += w
        if stack:
            out.setdefault(names[stack[-1]], [0, 0])[0] += w
    return {n: (f, c) for n, (f, c) in out.items()}


@needs_go
@pytest.mark.parametrize(
    ("file", "sample_type"),
    [
        ("cpu_regexp.pb.gz", "cpu"),
        ("cpu_regexp.pb.gz", "samples"),
        ("heap_json.pb.gz", "alloc_space"),
        ("heap_json.pb.gz", "inuse_objects"),
        ("mutex_contention.pb.gz", "delay"),
    ],
)
def test_export_matches_go_tool_pprof(
    file: str, sample_type: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "p.speedscope.json"
    args = ["profile", str(FIX / file), "--speedscope", str(out), "--sample-type", sample_type]
    assert main(args) == 0
    assert capsys.readouterr().out.startswith(f"wrote {out}: {sample_type}; ")
    doc = json.loads(out.read_text())
    check_speedscope_file(doc)
    assert len(doc["profiles"]) == 1
    prof = load_profile(FIX / file)
    unit = prof.sample_types[prof.sample_index(sample_type)][1]
    total, rows = _go_top(FIX / file, sample_type, unit)
    p = doc["profiles"][0]
    assert p["unit"] == {"nanoseconds": "nanoseconds", "bytes": "bytes"}.get(unit, "none")
    assert sum(p["weights"]) == p["endValue"] == total
    assert p["name"] == f"{file} {sample_type}"
    assert _by_function(doc, 0) == rows


def test_every_sample_type_shares_one_frame_table(tmp_path: Path) -> None:
    out = tmp_path / "heap.json"
    assert main(["profile", str(FIX / "heap_json.pb.gz"), "--speedscope", str(out)]) == 0
    doc = json.loads(out.read_text())
    check_speedscope_file(doc)
    prof = load_profile(FIX / "heap_json.pb.gz")
    assert [p["name"].split()[-1] for p in doc["profiles"]] == [t for t, _ in prof.sample_types]
    assert [p["unit"] for p in doc["profiles"]] == ["none", "bytes", "none", "bytes"]
    assert [p["endValue"] for p in doc["profiles"]] == [prof.total(t) for t in range(prof.n_types)]
    # speedscope opens on the profile's default type, as the viewer and go tool pprof do
    assert doc["activeProfileIndex"] == prof.default_index
    names = [(f["name"], f.get("file", "")) for f in doc["shared"]["frames"]]
    assert len(names) == len(set(names))  # one frame per (function, file)
    assert not [p for p in tmp_path.iterdir() if p.name != "heap.json"]  # no temp file left


def test_filters_apply_and_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    path = str(FIX / "cpu_regexp.pb.gz")
    assert main(["profile", path, "--speedscope", "-", "--focus", "onepass"]) == 0
    doc = json.loads(capsys.readouterr().out)
    check_speedscope_file(doc)
    # pprof's focus matches a function's name or its file (regexp/onepass.go)
    names = [f["name"] + " " + f.get("file", "") for f in doc["shared"]["frames"]]
    for p in doc["profiles"]:
        assert p["samples"] and all(any("onepass" in names[i] for i in s) for s in p["samples"])


def test_default_path_is_beside_the_profile() -> None:
    assert default_path("/x/cpu-1.pb.gz") == Path("/x/cpu-1.speedscope.json")
    assert default_path("/x/large.cpu") == Path("/x/large.cpu.speedscope.json")


def test_diff_profiles_are_refused(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out = tmp_path / "d.json"
    args = ["profile", str(FIX / "cpu_json_gogc5.pb.gz"), "--base"]
    args += [str(FIX / "cpu_json_gogc100.pb.gz"), "--speedscope", str(out)]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err == "warroom: --speedscope does not take --base: speedscope cannot draw a diff\n"
    assert not out.exists()
    from tui.core.pprof import diff_profiles

    diff = diff_profiles(
        load_profile(FIX / "cpu_json_gogc5.pb.gz"), load_profile(FIX / "cpu_json_gogc100.pb.gz")
    )
    with pytest.raises(ValueError, match="negative values"):
        to_speedscope(diff)


@pytest.mark.parametrize("where", ["missing-dir", "is-a-dir", "under-a-file", "proc"])
def test_unwritable_paths_are_one_line(
    where: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "file").write_text("keep")
    out = {
        "missing-dir": tmp_path / "nope" / "p.json",
        "is-a-dir": tmp_path,
        "under-a-file": tmp_path / "file" / "p.json",
        "proc": Path("/proc/warroom-p.json"),  # not writable, even for root
    }[where]
    before = sorted(os.listdir(tmp_path))
    assert main(["profile", str(FIX / "cpu_regexp.pb.gz"), "--speedscope", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"warroom: {out}: ") and err.count("\n") == 1
    assert sorted(os.listdir(tmp_path)) == before  # nothing created, nothing half-written
    assert (tmp_path / "file").read_text() == "keep"


def test_existing_file_is_replaced_whole(tmp_path: Path) -> None:
    out = tmp_path / "p.json"
    out.write_text("old")
    assert main(["profile", str(FIX / "cpu_regexp.pb.gz"), "--speedscope", str(out)]) == 0
    check_speedscope_file(json.loads(out.read_text()))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.json"]
    umask = os.umask(0)
    os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~umask  # not the temp file's private 0600


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--format", "json"], "--speedscope writes speedscope's JSON: --format does not apply"),
        (["--limit", "3"], "--limit does not apply to --speedscope"),
        (["--sample-type", "nope"], None),
    ],
)
def test_options_that_do_not_apply_are_one_line(
    args: list[str], message: str | None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "p.json"
    assert main(["profile", str(FIX / "cpu_regexp.pb.gz"), "--speedscope", str(out), *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("warroom: ") and err.count("\n") == 1
    if message is not None:
        assert err == f"warroom: {message}\n"
    assert not out.exists()
