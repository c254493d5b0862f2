"""Which sample decoder reads which file, and that the decoders agree (issue 14).

decode.read_samples tries layout.py (bytes read with numpy), then samples.py's packed path,
then the general one. Every real Go profile must take the layout path: the runtime writes
[values][location ids][labels], short runs unpacked, samples interleaved with the locations
and functions they use first. Random profiles, in the byte layouts Go's runtime and protobuf
libraries write and some neither does, must read the same through every path that accepts
them.
"""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

from tui.core.pprof import schema
from tui.core.pprof.decode import Samples, read_samples
from tui.core.pprof.layout import decode_samples_layout
from tui.core.pprof.samples import decode_samples, decode_samples_packed
from tui.core.pprof.wire import len_field, varint

FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "pprof"
REAL = [*sorted(p.name for p in FIXTURES.glob("*.pb.gz")), "large.cpu"]

Row = tuple[tuple[int, ...], tuple[tuple[int, int, int, int], ...], tuple[int, ...]]


def _parsed(raw: bytes) -> tuple[Any, int, list[str]]:
    fp = schema.FastProfile.FromString(raw)
    return fp, len(fp.sample_type), list(fp.string_table)


def _rows(got: tuple[Any, ...]) -> list[Row]:
    """Per sample, in file order: (location ids, labels as (key, str, num, unit), values)."""
    stack_of, locs, off, values, sets, labels_of, n = got
    out = []
    for i in range(n):
        s = int(stack_of[i])
        ls = int(labels_of[i])
        a, b = int(sets.start[ls]), int(sets.start[ls + 1])
        labels = tuple(
            (int(sets.key[j]), int(sets.sval[j]), int(sets.num[j]), int(sets.unit[j]))
            for j in range(a, b)
        )
        stack = tuple(int(x) for x in locs[int(off[s]) : int(off[s + 1])])
        out.append((stack, labels, tuple(int(v) for v in values[i])))
    return out


def _general_rows(fp: Any, ntypes: int) -> list[Row]:
    locs, off, values, (loff, key, sval, num, unit), n = decode_samples(fp, ntypes, "x")
    return [
        (
            tuple(int(x) for x in locs[int(off[i]) : int(off[i + 1])]),
            tuple(
                (int(key[j]), int(sval[j]), int(num[j]), int(unit[j]))
                for j in range(int(loff[i]), int(loff[i + 1]))
            ),
            tuple(int(v) for v in values[i]),
        )
        for i in range(n)
    ]


def _paths(raw: bytes) -> dict[str, list[Row] | None]:
    fp, ntypes, st = _parsed(raw)
    out: dict[str, list[Row] | None] = {"general": _general_rows(fp, ntypes)}
    for name, fn in (("layout", decode_samples_layout), ("packed", decode_samples_packed)):
        got = fn(fp, ntypes, st, "x")
        out[name] = None if got is None else _rows(got)
        if got is not None:  # one id per distinct stack, however it was written
            off, locs = got[2], got[1]
            stacks = {tuple(locs[int(off[i]) : int(off[i + 1])]) for i in range(len(off) - 1)}
            assert len(stacks) == len(off) - 1, name
    return out


@pytest.mark.parametrize("name", REAL)
def test_every_real_go_profile_takes_the_layout_path(name: str) -> None:
    raw = (FIXTURES / name).read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    fp, ntypes, st = _parsed(raw)
    got: Samples = read_samples(fp, ntypes, st, name)
    assert got.path == "layout"
    paths = _paths(raw)
    assert paths["layout"] == paths["general"]
    assert paths["packed"] in (None, paths["general"])


# ---- random profiles -----------------------------------------------------------------------


def _numbers(num: int, xs: list[int], pack_over: int) -> bytes:
    """A repeated integer field, packed when it has more than `pack_over` numbers."""
    if len(xs) > pack_over:
        return len_field(num, b"".join(map(varint, xs)))
    return b"".join(varint(num << 3) + varint(x) for x in xs)


def _msg(fields: list[tuple[int, int]]) -> bytes:
    return b"".join(varint(k << 3) + varint(v) for k, v in fields if v)


@hs.composite
def profiles(draw: hs.DrawFn) -> bytes:
    """profile.proto bytes: Go's runtime order and encoding, protobuf's, or a mix."""
    nstr = 6
    ntypes = draw(hs.integers(1, 3))
    nfunc = draw(hs.integers(1, 5))
    nloc = draw(hs.integers(1, 8))
    value = hs.one_of(hs.integers(0, 300), hs.integers(-(2**40), 2**40))
    pool = draw(hs.lists(hs.lists(hs.integers(1, nloc), max_size=7), min_size=1, max_size=5))
    sample = hs.tuples(
        hs.sampled_from(pool),  # a few stacks, each in many samples
        hs.lists(value, min_size=ntypes, max_size=ntypes),
        hs.lists(
            hs.tuples(hs.integers(1, nstr - 1), hs.integers(0, nstr - 1), hs.integers(0, 99)),
            max_size=3,
        ),
    )
    samples = draw(hs.lists(sample, min_size=1, max_size=25))
    values_first = draw(hs.booleans())  # Go's runtime: values first
    pack_over = draw(hs.sampled_from([0, 2, 99]))  # protobuf: 0; Go: 2; never: 99
    mixed = draw(hs.booleans())  # each sample's stack its own: one stack in two encodings
    interleave = draw(hs.booleans())  # Go's runtime: locations just before first use
    labels_early = draw(hs.integers(0, 9)) == 0  # a layout no writer uses
    strings = b"".join(len_field(6, s.encode()) for s in ["", "a", "b", "c", "d", "e"])
    header = b"".join(
        len_field(1, _msg([(1, 1 + t % (nstr - 1)), (2, 1 + (t + 1) % (nstr - 1))]))
        for t in range(ntypes)
    )
    funcs = {f: len_field(5, _msg([(1, f), (2, 1 + f % (nstr - 1))])) for f in range(1, nfunc + 1)}
    locs = {}
    for lid in range(1, nloc + 1):
        lines = draw(hs.lists(hs.integers(1, nfunc), max_size=2))
        body = _msg([(1, lid), (3, 0x1000 + lid)]) + b"".join(
            len_field(4, _msg([(1, f), (2, 10 + f)])) for f in lines
        )
        locs[lid] = (len_field(4, body), lines)
    out = [header]
    seen_l: set[int] = set()
    seen_f: set[int] = set()

    def emit(lid: int) -> None:
        seen_l.add(lid)
        out.append(locs[lid][0])
        for f in locs[lid][1]:
            if f not in seen_f:
                seen_f.add(f)
                out.append(funcs[f])

    in_order: list[bytes] = []  # samples after every location and function
    for stack, vals, labels in samples:
        if interleave:
            for lid in stack:
                if lid not in seen_l:
                    emit(lid)
        lab = b"".join(
            len_field(3, _msg([(1, k), (2, s)] if s else [(1, k), (3, num)]))
            for k, s, num in labels
        )
        po = draw(hs.sampled_from([-1, 0, 2, 99])) if mixed else pack_over  # -1: empty run too
        st = _numbers(1, stack, po)
        vs = _numbers(2, [v & (2**64 - 1) for v in vals], pack_over)
        parts = [vs, st] if values_first else [st, vs]
        parts.insert(0 if labels_early else 2, lab)
        smp = len_field(2, b"".join(parts))
        (out if interleave else in_order).append(smp)
    for lid in locs:
        if lid not in seen_l:
            emit(lid)
    out.extend(f for fid, f in funcs.items() if fid not in seen_f)
    return b"".join(out) + b"".join(in_order) + strings


@settings(max_examples=150, deadline=None)
@given(profiles())
def test_every_path_that_accepts_a_random_profile_reads_the_same(raw: bytes) -> None:
    paths = _paths(raw)
    assert paths["layout"] in (None, paths["general"])
    assert paths["packed"] in (None, paths["general"])


def test_the_layouts_go_and_protobuf_write_take_the_layout_path() -> None:
    """The random profiles above, in each writer's own layout, are read by layout.py."""
    for values_first, pack_over in ((True, 2), (False, 0)):
        samples = [([1, 2, 3], [5, 7]), ([2], [1, 2]), ([], [3, 4]), ([1, 2, 3], [1, 1])]
        recs = [len_field(4, _msg([(1, i)])) for i in (1, 2, 3)]
        for stack, vals in samples:
            st = _numbers(1, stack, pack_over)
            vs = _numbers(2, vals, pack_over)
            recs.append(len_field(2, vs + st if values_first else st + vs))
        raw = (
            len_field(1, _msg([(1, 1), (2, 2)])) * 2
            + b"".join(recs)
            + b"".join(len_field(6, s) for s in (b"", b"a", b"b"))
        )
        fp, ntypes, st_ = _parsed(raw)
        got = read_samples(fp, ntypes, st_, "x")
        assert got.path == "layout"
        assert _paths(raw)["layout"] == _general_rows(fp, ntypes)
