"""Hostile profiles (issue 17): each defect class is one clear error at its source.

Numbers beyond 64 bits, bad UTF-8 late in folded text, gzip bombs, very deep stacks. The CLI
cases run the real `warroom profile FILE --top` in a subprocess: exit 2, one `warroom: ...`
line, no traceback.
"""

from __future__ import annotations

import gzip
import subprocess
import sys
from pathlib import Path

import pytest

from tests.hostile import gzip_bomb
from tui.core.pprof import schema
from tui.core.pprof.inflate import inflate_gzip, protobuf_prefix_problem
from tui.core.pprof.limits import MAX_STACK_DEPTH
from tui.core.pprof.load import decode_bytes
from tui.core.pprof.varint_check import overlong_varint
from tui.core.pprof.wire import varint as _varint
from tui.errors import UserError

FIX = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "pprof"
ROOT = Path(__file__).resolve().parents[2]


def warroom(*args: str) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("warroom")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "tui.cli"]
    return subprocess.run(
        [*cmd, *args], capture_output=True, text=True, cwd=ROOT, timeout=60, check=False
    )


def one_line_error(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("warroom: "), proc.stderr
    return lines[0]


def profile(stacks: list[list[int]], values: list[int], nfuncs: int | None = None) -> bytes:
    """A raw profile.proto: one function and location per id, stacks leaf first."""
    n = nfuncs if nfuncs is not None else max((max(s) for s in stacks if s), default=0)
    p = schema.Profile()
    p.string_table.extend(["", "samples", "count", *(f"f{i}" for i in range(1, n + 1))])
    vt = p.sample_type.add()
    vt.type, vt.unit = 1, 2
    for i in range(1, n + 1):
        fn = p.function.add()
        fn.id, fn.name = i, 2 + i
        loc = p.location.add()
        loc.id = i
        loc.line.add().function_id = i
    for stack, v in zip(stacks, values, strict=True):
        s = p.sample.add()
        s.location_id.extend(stack)
        s.value.append(v)
    body: bytes = p.SerializeToString()
    return body


# ---- folded text --------------------------------------------------------------------------


def test_cli_folded_value_past_int64_names_file_and_line(tmp_path: Path) -> None:
    f = tmp_path / "huge.folded"
    f.write_bytes(b"main;a 3\nmain;b 9223372036854775808\n")
    line = one_line_error(warroom("profile", str(f), "--top"))
    assert line == f"warroom: {f}:2: value 9223372036854775808 does not fit in 64 bits"


def test_cli_folded_bad_utf8_late_names_file_and_line(tmp_path: Path) -> None:
    f = tmp_path / "late.folded"
    f.write_bytes(b"main;a 3\n" * 1000 + b"main;\xc3\x28 5\n")
    line = one_line_error(warroom("profile", str(f), "--top"))
    assert line.startswith(f"warroom: {f}:1001: not UTF-8 text (byte 0xc3 at offset 9005)")


def test_folded_stack_deeper_than_the_limit_is_refused_at_its_line() -> None:
    ok = ";".join(f"f{i}" for i in range(MAX_STACK_DEPTH)) + " 1\n"
    prof = decode_bytes(("main 1\n" + ok).encode(), "deep.folded")
    assert int(prof.tree.depth.max()) == MAX_STACK_DEPTH
    deep = ";".join(f"f{i}" for i in range(MAX_STACK_DEPTH + 1)) + " 1\n"
    with pytest.raises(UserError) as exc:
        decode_bytes(("main 1\n" + deep).encode(), "deep.folded")
    assert str(exc.value) == (
        f"deep.folded:2: a stack of {MAX_STACK_DEPTH + 1} frames, deeper than the "
        f"{MAX_STACK_DEPTH} frames warroom reads"
    )


# ---- protobuf -----------------------------------------------------------------------------


def test_varint_beyond_64_bits_is_refused_wherever_it_is() -> None:
    good = profile([[1]], [5])
    assert decode_bytes(good, "ok").values.tolist() == [[5]]
    over = b"\xff" * 9 + b"\x7f"  # ten bytes, 70 bits: upb and Go would keep the low 64
    sample = schema.Sample(location_id=[1], value=[5]).SerializeToString()
    rec = b"\x12" + _varint(len(sample)) + sample
    assert good.count(rec) == 1
    for name, body in (
        ("value", b"\x0a\x01\x01\x10" + over),
        ("packed value", b"\x0a\x01\x01\x12\x0a" + over),
        ("location id", b"\x0a\x0a" + over + b"\x10\x05"),
    ):
        bad = good.replace(rec, b"\x12" + _varint(len(body)) + body)
        with pytest.raises(UserError, match=r"does not fit in 64 bits"):
            decode_bytes(bad, name)
    with pytest.raises(UserError) as exc:
        decode_bytes(good + b"\x48" + over, "t.pb")  # time_nanos
    assert (
        str(exc.value)
        == f"t.pb: corrupt protobuf (the number at byte {len(good) + 1} does not fit in 64 bits)"
    )
    # the widest legal varint (2**64 - 1, i.e. -1 as int64) is no error
    assert overlong_varint(good + b"\x48" + b"\xff" * 9 + b"\x01") is None


def test_text_that_looks_like_a_wide_varint_is_not_one() -> None:
    # nine UTF-8 continuation/lead bytes then ASCII: a candidate, but inside a string
    name = "関数名前" + "x"
    p = schema.Profile()
    p.string_table.extend(["", "samples", "count", name])
    vt = p.sample_type.add()
    vt.type, vt.unit = 1, 2
    fn = p.function.add()
    fn.id, fn.name = 1, 3
    loc = p.location.add()
    loc.id = 1
    loc.line.add().function_id = 1
    p.sample.add(location_id=[1], value=[7])
    data = p.SerializeToString()
    assert overlong_varint(data) is None
    assert decode_bytes(data, "cjk").func_name == [name]


def test_values_adding_up_past_int64_are_refused() -> None:
    with pytest.raises(UserError) as exc:
        decode_bytes(profile([[1], [1, 2]], [2**62, 2**62]), "sum.pb")
    assert str(exc.value) == "sum.pb: the values of sample type 'samples' add up past 64 bits"
    assert decode_bytes(profile([[1], [1, 2]], [2**62, 2**62 - 1]), "max.pb").total(0) == 2**63 - 1


def test_deep_protobuf_stacks_are_refused_before_the_tree() -> None:
    at_limit = list(range(1, MAX_STACK_DEPTH + 1))
    prof = decode_bytes(profile([at_limit], [1]), "ok.pb")
    assert int(prof.tree.depth.max()) == MAX_STACK_DEPTH
    deep = list(range(1, 50_001))
    with pytest.raises(UserError) as exc:
        decode_bytes(profile([deep, deep[:10]], [1, 1]), "deep.pb")
    assert str(exc.value) == (
        f"deep.pb: a stack of 50000 frames, deeper than the {MAX_STACK_DEPTH} frames "
        "warroom reads (Go records at most 1024)"
    )
    # inlined frames count: 100 locations of 100 lines each are 10,000 frames
    p = schema.Profile()
    p.string_table.extend(["", "samples", "count", "f"])
    vt = p.sample_type.add()
    vt.type, vt.unit = 1, 2
    p.function.add(id=1, name=3)
    for i in range(1, 101):
        loc = p.location.add(id=i)
        for _ in range(100):
            loc.line.add(function_id=1)
    p.sample.add(location_id=list(range(1, 101)), value=[1])
    with pytest.raises(UserError, match="a stack of 10000 frames"):
        decode_bytes(p.SerializeToString(), "inline.pb")


# ---- gzip ---------------------------------------------------------------------------------


def test_cli_inflation_cap_is_named_and_can_be_raised(tmp_path: Path) -> None:
    src = FIX / "heap_json.pb.gz"
    inflated = len(gzip.decompress(src.read_bytes()))
    assert 16 * 1024 < inflated < 32 * 1024
    line = one_line_error(warroom("profile", str(src), "--top", "--max-inflated", "16KiB"))
    assert line == (
        f"warroom: {src}: inflates past 16 KiB, the limit for one profile (a gzip bomb?); "
        "`warroom profile --max-inflated SIZE` reads larger ones"
    )
    ok = warroom("profile", str(src), "--top", "--max-inflated", "32KiB")
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout == warroom("profile", str(src), "--top").stdout  # the cap changes nothing
    bad = one_line_error(warroom("profile", str(src), "--top", "--max-inflated", "lots"))
    assert "--max-inflated" in bad


def test_cli_gzip_bomb_stops_at_the_cap(tmp_path: Path) -> None:
    # the default cap (512 MiB) against a bomb: tests/integration/test_pprof_watch_hostile.py
    bomb = tmp_path / "bomb.pb.gz"
    bomb.write_bytes(gzip_bomb(100 * 2**20))  # starts like a profile: only the cap stops it
    assert bomb.stat().st_size < 2**20
    line = one_line_error(warroom("profile", str(bomb), "--top", "--max-inflated", "64MiB"))
    assert line == (
        f"warroom: {bomb}: inflates past 64 MiB, the limit for one profile (a gzip bomb?); "
        "`warroom profile --max-inflated SIZE` reads larger ones"
    )


def test_inflation_is_bounded_while_inflating() -> None:
    body = b"\x32" + _varint(8 * 2**20) + b"\0" * (8 * 2**20)
    data = gzip.compress(body)
    assert inflate_gzip(data, cap=9 * 2**20) == (body, b"")
    # keep=False (the watcher): checked and counted, not kept
    assert inflate_gzip(data, cap=9 * 2**20, keep=False) == (b"x", b"")
    with pytest.raises(ValueError, match="inflates past 1 MiB"):
        inflate_gzip(data, cap=2**20)
    with pytest.raises(ValueError, match="truncated gzip stream"):
        inflate_gzip(data[: len(data) // 2])
    assert protobuf_prefix_problem(b"\0\0\0") == "field number 0"
    assert protobuf_prefix_problem(b"\x0b") == "wire type 3"
    assert protobuf_prefix_problem(b"\x32\xff\xff\x7f") is None  # runs past: fine
