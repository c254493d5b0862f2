"""The quick path of `profile --top` (quicktop.py, protowire.py) is the full engine's twin.

Issue 16: small profiles are read without numpy or protobuf. Every test here runs both
engines on the same bytes: the quick path either declines (None: the full engine answers) or
gives exactly the full engine's rows and total, and the CLI's text, json and md bytes; the
full engine in turn equals `go tool pprof` (tests/unit/test_pprof.py, test_pprof_vs_go.py,
and the go reference files here).
"""

from __future__ import annotations

import contextlib
import gzip
import io
import random
from dataclasses import fields
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fuzz.harness import compress, mutate
from tests.fuzz.strategies import PprofCase, pprof_profiles
from tests.unit.test_pprof import CASES as EXPECTED_CASES
from tests.unit.test_pprof import EXPECTED, parse_expected
from tui.cli import main, parser_for
from tui.commands import profile as profile_cmd
from tui.core.pprof.filterspec import FilterSpec
from tui.core.pprof.load import decode_bytes, load_profile
from tui.core.pprof.model import Profile
from tui.core.pprof.quicktop import QUICK_MAX_BYTES, quick_top, quick_top_bytes
from tui.core.pprof.rows import GRANULARITIES
from tui.core.pprof.table import function_table
from tui.errors import UserError

FIX = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "pprof"
SMALL = sorted(p.name for p in FIX.glob("*.pb.gz"))
EDGES = (0.0, 0.001, 0.01, 0.2)


def _full(prof: Profile, t: int, granularity: str, edges: float) -> tuple[list[object], int]:
    return list(function_table(prof, t, granularity, edges)), prof.total(t)


def test_every_small_fixture_is_read_quickly_and_large_cpu_is_not() -> None:
    assert len(SMALL) >= 8
    for name in SMALL:
        assert quick_top(FIX / name, None, "function", 0.001) is not None, name
    assert (FIX / "large.cpu").stat().st_size > QUICK_MAX_BYTES
    assert quick_top(FIX / "large.cpu", None, "function", 0.001) is None


@pytest.mark.parametrize("name", SMALL)
def test_quick_rows_equal_the_full_engine_on_every_fixture(name: str) -> None:
    """Every sample type, granularity and a few edge fractions."""
    prof = load_profile(FIX / name)
    for t, (stype, unit) in enumerate(prof.sample_types):
        for granularity in GRANULARITIES:
            for edges in EDGES:
                got = quick_top(FIX / name, stype, granularity, edges)
                assert got is not None
                assert (got.sample_type, got.unit) == (stype, unit)
                assert (got.rows, got.total) == _full(prof, t, granularity, edges), (
                    stype,
                    granularity,
                    edges,
                )


# a diff (--base) never reaches the quick path
GO_CASES = [c for c in EXPECTED_CASES if c[3] is None]


@pytest.mark.parametrize(("stem", "file", "stype", "base"), GO_CASES)
def test_quick_rows_equal_go_tool_pprof_reference(
    stem: str, file: str, stype: str | None, base: str | None
) -> None:
    """The go tool pprof files in fixtures/pprof/expected (-edgefraction=0)."""
    total, expected, _ = parse_expected(EXPECTED / f"{stem}.top.txt")
    got = quick_top(FIX / file, stype, "function", 0.0)
    if file == "large.cpu":
        assert got is None  # the full engine's
        return
    assert got is not None
    assert [(r.name, r.flat, r.cum, r.inline_label) for r in got.rows] == expected
    assert got.total == total


def _cli(argv: list[str]) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(argv) == 0
    return out.getvalue()


def _full_cli(argv: list[str]) -> str:
    """What the full engine prints for the same command line: the CLI's own code from the
    loaded profile on (profile._print_top), without the quick path."""
    args = parser_for(argv).parse_args(argv)
    args.top = True
    prof = load_profile(args.file)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        profile_cmd._print_top(prof, args, prof.sample_index(args.sample_type))
    return out.getvalue()


@pytest.mark.parametrize("name", SMALL)
@pytest.mark.parametrize("fmt", ["text", "json", "md"])
def test_cli_output_is_byte_identical_to_the_full_engine(name: str, fmt: str) -> None:
    prof = load_profile(FIX / name)
    for stype, _ in prof.sample_types:
        for extra in ([], ["--granularity", "line", "--limit", "7"], ["--unit", "auto"]):
            argv = ["profile", str(FIX / name), "--top", "--format", fmt, "--sample-type", stype]
            argv += extra
            assert _cli(argv) == _full_cli(argv), (stype, extra)


def test_the_quick_path_leaves_every_filter_to_the_full_engine() -> None:
    """A FilterSpec field the quick path did not know of would be silently ignored."""
    names = {f.name for f in fields(FilterSpec)}
    assert names <= set(profile_cmd.FULL_ENGINE_OPTIONS)
    argv = ["profile", str(FIX / "cpu_regexp.pb.gz"), "--top", "--focus", "onepass"]
    assert _cli(argv) != _cli(argv[:-2])  # --focus took effect: the full engine ran


def _both(data: bytes, granularity: str, edges: float) -> None:
    """The quick path declines, or agrees with the full engine on every sample type; it
    declines wherever the full engine refuses the bytes."""
    try:
        prof = decode_bytes(data, "case.pb", max_inflated=QUICK_MAX_BYTES)
    except UserError:
        assert quick_top_bytes(data, None, granularity, edges, QUICK_MAX_BYTES) is None
        return
    for t, (stype, _) in enumerate(prof.sample_types):
        got = quick_top_bytes(data, str(t), granularity, edges, QUICK_MAX_BYTES)
        if got is not None:
            assert (got.rows, got.total) == _full(prof, t, granularity, edges)
            assert got.sample_type == stype
    default = quick_top_bytes(data, None, granularity, edges)
    if default is not None:
        assert default.sample_type == prof.sample_types[prof.default_index][0]


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    case=pprof_profiles(),
    granularity=st.sampled_from(GRANULARITIES),
    edges=st.sampled_from(EDGES),
    wrap=st.booleans(),
)
def test_random_profiles_give_the_full_engines_rows(
    case: PprofCase, granularity: str, edges: float, wrap: bool
) -> None:
    """And the quick path does not decline a profile it is meant for: valid, values >= 0,
    no drop_frames, stacks within the depth limit."""
    data = gzip.compress(case.data, mtime=0) if wrap else case.data
    _both(data, granularity, edges)
    try:
        prof = decode_bytes(data, "case.pb")
    except UserError:
        return  # a stack past the depth limit
    if not prof.drop_frames and (prof.values >= 0).all():
        assert quick_top_bytes(data, None, granularity, edges) is not None


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(case=pprof_profiles(), seed=st.integers(0, 2**32 - 1))
def test_damaged_profiles_make_the_quick_path_decline_or_agree(case: PprofCase, seed: int) -> None:
    """Bit flips, truncation, field rewrites, gzip damage and bombs (tests/fuzz/harness.py):
    never an exception, never rows the full engine does not give."""
    rng = random.Random(seed)
    bad = mutate(case.data, rng)
    if rng.random() < 0.4:
        bad = compress(bad, rng)
    _both(bad, rng.choice(GRANULARITIES), rng.choice(EDGES))


@pytest.mark.parametrize("name", ["heap_json.pb.gz", "cpu_regexp.pb.gz"])
def test_damaged_real_profiles_make_the_quick_path_decline_or_agree(name: str) -> None:
    raw = gzip.decompress((FIX / name).read_bytes())
    rng = random.Random(16)
    for _ in range(60):
        _both(mutate(raw, rng), rng.choice(GRANULARITIES), 0.001)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--base", "missing.pb.gz"], "missing.pb.gz: no such file"),
        (["--sample-type", "nope"], "unknown sample type 'nope'"),
        (["--focus", "("], "--focus: bad regular expression"),
    ],
)
def test_what_the_quick_path_declines_keeps_the_full_engines_errors(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["profile", str(FIX / "heap_json.pb.gz"), "--top", *argv]) == 2
    assert message in capsys.readouterr().err


def test_a_profile_the_quick_path_cannot_vouch_for_is_read_by_the_full_engine(
    tmp_path: Path,
) -> None:
    """drop_frames (pruning is the full engine's): same rows as the full engine gives."""
    from tui.core.pprof import schema

    p = schema.Profile.FromString(gzip.decompress((FIX / "cpu_regexp.pb.gz").read_bytes()))
    p.string_table.append("runtime\\..*")
    p.drop_frames = len(p.string_table) - 1
    f = tmp_path / "dropped.pb"
    f.write_bytes(p.SerializeToString())
    assert quick_top(f, None, "function", 0.001) is None
    argv = ["profile", str(f), "--top"]
    assert _cli(argv) == _full_cli(argv)
