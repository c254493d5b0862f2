"""Fuzz the profile readers as `warroom profile FILE --top` uses them (issue 17).

Valid profiles from hypothesis, then mutated at the wire level (bit flips, field rewrites,
truncation, gzip damage, gzip bombs). Every case is decoded and, when accepted, turned into
the call tree and the --top table. Only UserError may escape; each case under 2 s of CPU;
memory bounded; unmutated profiles keep their exact value sums; a real Go profile decoded
after the batch gives exactly the numbers it gave before it.
"""

from __future__ import annotations

import functools
import gzip
import math
import random
from pathlib import Path

import pytest
from hypothesis import strategies as st

from tests.fuzz.harness import FUZZ_INFLATE_CAP, Tracker, cases, compress, mutate, run_examples
from tests.fuzz.strategies import PprofCase, folded_texts, pprof_profiles
from tui.core.pprof.load import decode_bytes
from tui.core.pprof.model import Profile
from tui.core.pprof.table import function_table

pytestmark = pytest.mark.fuzz

MUTANTS = 4  # mutated variants per generated input (each one case)


def examples(tr: Tracker) -> int:
    """Generated inputs for the batch: each is one case, plus MUTANTS damaged ones."""
    return math.ceil(tr.target / (1 + MUTANTS))


def top(data: bytes) -> tuple[Profile, list[tuple[str, int, int]]]:
    """What `warroom profile FILE --top` computes from the bytes."""
    prof = decode_bytes(data, "fuzz.pb", max_inflated=FUZZ_INFLATE_CAP)
    rows = function_table(prof, prof.default_index)
    return prof, [(r.name, r.flat, r.cum) for r in rows]


def reference(fixtures_dir: Path) -> tuple[bytes, list[tuple[str, int, int]], int]:
    data = (fixtures_dir / "pprof" / "cpu_regexp.pb.gz").read_bytes()
    prof, rows = top(data)
    return data, rows, prof.total(prof.default_index)


def check_exact(case: PprofCase, prof: Profile, rows: list[tuple[str, int, int]]) -> None:
    assert prof.values.sum(axis=0).tolist() == case.sums or not prof.values.shape[0]
    if case.rooted:
        assert sum(flat for _, flat, _ in rows) == case.sums[prof.default_index]


def run_batch(kind: str, quick: int, fixtures_dir: Path, wrap: bool) -> Tracker:
    ref, ref_rows, ref_total = reference(fixtures_dir)
    tr = Tracker(kind, cases(quick))

    def one(case: PprofCase, seed: int) -> None:
        rng = random.Random(seed)
        data = gzip.compress(case.data, mtime=0) if wrap else case.data
        got = tr.case(lambda: top(data))
        if got is not None:  # refused only for a deep stack
            check_exact(case, *got)
        for _ in range(MUTANTS):
            if wrap:
                bad = compress(mutate(case.data, rng) if rng.random() < 0.7 else case.data, rng)
            else:
                bad = mutate(case.data, rng)
            tr.case(functools.partial(top, bad))

    run_examples(tr, examples(tr), one, case=pprof_profiles(), seed=st.integers(0, 2**32 - 1))
    tr.finish()
    prof, rows = top(ref)
    assert rows == ref_rows and prof.total(prof.default_index) == ref_total
    return tr


def test_fuzz_pprof_protobuf(fixtures_dir: Path) -> None:
    tr = run_batch("pprof protobuf", 1000, fixtures_dir, wrap=False)
    assert tr.refused and tr.accepted  # the mutations reach both outcomes


def test_fuzz_pprof_gzip(fixtures_dir: Path) -> None:
    tr = run_batch("pprof gzip", 600, fixtures_dir, wrap=True)
    assert tr.refused and tr.accepted


def test_fuzz_folded_text(fixtures_dir: Path) -> None:
    ref, ref_rows, ref_total = reference(fixtures_dir)
    tr = Tracker("folded text", cases(600))
    hostile = [
        b"9223372036854775808",
        b"-9223372036854775809",
        b"\xff\xfe",
        b"\xc3\x28",
        b"\xed\xa0\x80",  # a UTF-16 surrogate in UTF-8
        b";" * 9000,
        b"\r\n",
        b"\x00",
        b" ",
        b"1" * 5000,
    ]

    def one(text: tuple[bytes, int], seed: int) -> None:
        data, total = text
        got = tr.case(lambda: top(data))
        assert got is not None, data  # valid folded text is read
        assert got[0].values.sum() == total
        rng = random.Random(seed)
        for _ in range(MUTANTS):
            bad = mutate(data, rng, protobuf=False)
            if rng.random() < 0.5:
                i = rng.randrange(len(bad) + 1)
                bad = bad[:i] + rng.choice(hostile) + bad[i:]
            tr.case(functools.partial(top, bad))

    run_examples(tr, examples(tr), one, text=folded_texts(), seed=st.integers(0, 2**32 - 1))
    tr.finish()
    prof, rows = top(ref)
    assert rows == ref_rows and prof.total(prof.default_index) == ref_total
