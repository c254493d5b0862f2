"""The share test behind rank_regressions, on profiles written the way Go writes them.

Heap profiles are built here record by record as runtime/pprof's writeHeapProto does
(scaleHeapSample: int64(count x scale), scale = 1 / (1 - exp(-size / rate)), a `bytes` label,
period_type space/bytes, period = MemProfileRate); CPU ones with tui/core/pprof/encode.py.
"""

from __future__ import annotations

import gzip
import json
import math
from pathlib import Path

import numpy as np
import pytest

from tui.core.pprof import load_profile, rank_regressions, schema
from tui.core.pprof.encode import Frame, encode_cpu_profile
from tui.core.pprof.significance import basis, benjamini_hochberg, heap_events
from tui.core.pprof.table import function_table

FIX = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "pprof"
RATE = 512 * 1024  # Go's default MemProfileRate
HEAP_TYPES = (
    ("alloc_objects", "count"),
    ("alloc_space", "bytes"),
    ("inuse_objects", "count"),
    ("inuse_space", "bytes"),
)

# A record: (stack leaf first, object size, sampled allocations, of which still live)
Record = tuple[tuple[Frame, ...], int, int, int]


def go_scale(count: int, size: int, rate: int) -> tuple[int, int]:
    """runtime/pprof scaleHeapSample: (count, bytes) of sampled allocations -> estimates."""
    if count == 0 or size == 0:
        return 0, 0
    if rate <= 1:
        return count, size
    scale = 1 / (1 - math.exp(-(size / count) / rate))
    return int(count * scale), int(size * scale)


def heap_profile(records: list[Record], rate: int = RATE, time_ns: int = 1) -> bytes:
    strings: dict[str, int] = {"": 0}

    def s(text: str) -> int:
        return strings.setdefault(text, len(strings))

    prof = schema.Profile()
    for type_, unit in HEAP_TYPES:
        vt = prof.sample_type.add()
        vt.type, vt.unit = s(type_), s(unit)
    prof.period_type.type, prof.period_type.unit = s("space"), s("bytes")
    prof.period, prof.time_nanos = rate, time_ns
    funcs: dict[str, int] = {}
    locs: dict[Frame, int] = {}
    for stack, size, allocs, live in records:
        sample = prof.sample.add()
        for frame in stack:
            if frame not in locs:
                name, file, line = frame
                if name not in funcs:
                    funcs[name] = len(funcs) + 1
                    fn = prof.function.add()
                    fn.id, fn.name, fn.system_name, fn.filename = funcs[name], s(name), 0, s(file)
                    fn.system_name = fn.name
                locs[frame] = len(locs) + 1
                loc = prof.location.add()
                loc.id = locs[frame]
                ln = loc.line.add()
                ln.function_id, ln.line = funcs[name], line
            sample.location_id.append(locs[frame])
        sample.value.extend(
            (*go_scale(allocs, allocs * size, rate), *go_scale(live, live * size, rate))
        )
        label = sample.label.add()
        label.key, label.num = s("bytes"), size
    prof.string_table.extend(strings)
    return gzip.compress(prof.SerializeToString(), mtime=0)


def fr(*names: str) -> tuple[Frame, ...]:
    """A stack, leaf first, of functions in main.go."""
    return tuple((n, "main.go", 10 + i) for i, n in enumerate(names))


ROOT = "main.main"
SITES = {  # function: object size (8 B .. 2 MiB: scales from 65536 down to 1.02)
    "main.tiny": 8,
    "main.small": 96,
    "main.page": 4096,
    "main.chunk": 64 * 1024,
    "main.big": 2 * 1024 * 1024,
}


def draw_heap(
    rng: np.random.Generator, bytes_per_site: dict[str, float], time_ns: int = 1
) -> bytes:
    """One capture: each site allocated that many bytes, Go sampled each allocation with
    probability 1 - exp(-size / rate), and half the sampled ones are still live."""
    recs: list[Record] = []
    for name, size in SITES.items():
        n = int(bytes_per_site[name] // size)
        sampled = int(rng.binomial(n, -math.expm1(-size / RATE)))
        live = int(rng.binomial(sampled, 0.5))
        if sampled:
            recs.append((fr(name, "main.handle", ROOT), size, sampled, live))
    return heap_profile(recs, time_ns=time_ns)


# ---- undoing the scale -----------------------------------------------------------------------


@pytest.mark.parametrize("rate", [RATE, 4096, 1])
def test_heap_events_undo_go_scaling_exactly(rate: int) -> None:
    """With the record's `bytes` label and without it (size read back from space / objects)."""
    rng = np.random.default_rng(rate)
    sizes = [1, 8, 16, 96, 4096, 363_409, 524_288, 10**6, 64 << 20]
    sizes += rng.integers(1, 1 << 26, 300).tolist() + rng.integers(1, 4096, 300).tolist()
    counts = [1, 2, 3, 7, 100, 12345, 10**6, 9_663_183]
    obj, spc, size_of, want = [], [], [], []
    for size in sizes:
        for c in [*counts, int(rng.integers(1, 10**8))]:
            o, b = go_scale(c, c * size, rate)
            obj.append(o)
            spc.append(b)
            size_of.append(float(size))
            want.append(c)
    o_, b_ = np.array(obj), np.array(spc)
    assert heap_events(o_, b_, float(rate), np.array(size_of)).tolist() == want
    assert heap_events(o_, b_, float(rate)).tolist() == want


def test_basis_names_the_sampled_allocations_of_the_tested_type() -> None:
    recs = [(fr("main.tiny", ROOT), 8, 3, 2), (fr("main.big", ROOT), 2 << 20, 5, 1)]
    prof = load_profile(heap_profile(recs))
    for t, (name, _unit) in enumerate(HEAP_TYPES):
        b = basis(prof, t)
        assert b.events is not None
        assert b.label == f"{name}, sampled allocations (rate 512 KiB)"
        assert b.cumulative == name.startswith("alloc_")
        live = name.startswith("inuse_")
        by_row = sorted(zip(prof.values[:, 0].tolist(), b.events.tolist(), strict=True))
        want = [(go_scale(5, 5 << 21, RATE)[0], 1 if live else 5)]
        want.append((go_scale(3, 24, RATE)[0], 2 if live else 3))
        assert by_row == sorted(want)


def test_heap_report_names_inuse_space_and_keeps_pprof_shares() -> None:
    rng = np.random.default_rng(1)
    load = {n: 64e6 for n in SITES}
    base = load_profile(draw_heap(rng, load, time_ns=1))
    cur = load_profile(draw_heap(rng, load, time_ns=2))
    rep = rank_regressions(base, cur)  # default: inuse_space, the last type
    assert rep.sample_type == "inuse_space"
    assert rep.count_type == "inuse_space, sampled allocations (rate 512 KiB)"
    assert "alloc_objects" not in rep.count_type
    assert "weighted events" in rep.method and "counts since" not in rep.method
    shown = {r.name: r.cum for r in function_table(cur, 3)}  # what `profile --top` prints
    for r in rep.rows:
        assert r.cur_cum == shown[r.name]
        assert r.cur_cum_pct == pytest.approx(100 * r.cur_cum / cur.total(3))


# ---- false positives and detection on the sampling model -------------------------------------


@pytest.mark.parametrize("sample_type", ["inuse_space", "alloc_space", "inuse_objects"])
def test_independent_captures_of_one_workload_are_rarely_significant(sample_type: str) -> None:
    """200 pairs of independent captures of the same allocation mix (the old test, on the
    scaled objects, called most of these significant)."""
    rng = np.random.default_rng(7)
    load = {"main.tiny": 20e6, "main.small": 40e6, "main.page": 80e6, "main.chunk": 30e6}
    load["main.big"] = 60e6
    tested = flagged = pairs_with_any = 0
    for _ in range(200):
        base = load_profile(draw_heap(rng, load))
        cur = load_profile(draw_heap(rng, load))
        rep = rank_regressions(base, cur, base.sample_index(sample_type))
        rows = rep.rows + rep.new + rep.vanished
        tested += len(rows)
        hits = sum(r.significant for r in rows)
        flagged += hits
        pairs_with_any += hits > 0
    assert flagged / tested <= 0.05
    assert pairs_with_any / 200 <= 0.08


def test_a_site_allocating_twice_as_much_is_significant() -> None:
    rng = np.random.default_rng(3)
    load = {n: 200e6 for n in SITES}
    base = load_profile(draw_heap(rng, load))
    grown = {**load, "main.page": 400e6}
    cur = load_profile(draw_heap(rng, grown))
    rep = rank_regressions(base, cur, base.sample_index("alloc_space"))
    assert [r.name for r in rep.regressions(1.0)] == ["main.page"]
    # independent draws: some site allocated less than in base, so not one process twice
    assert "counts since each process started" in rep.method


def test_few_big_objects_weigh_more_than_many_small_ones() -> None:
    """Equal inuse_space shares; one side's from 2 sampled 2 MiB objects, the other's from
    many 4 KiB ones: the big objects' share is the less certain, so its |z| is smaller."""
    small = [(fr("main.page", ROOT), 4096, 40, 40), (fr("main.rest", ROOT), 4096, 400, 400)]
    big = [(fr("main.big", ROOT), 4 << 20, 2, 2), (fr("main.rest", ROOT), 4096, 400, 400)]
    other = [(fr("main.rest", ROOT), 4096, 440, 440)]
    z_small = rank_regressions(load_profile(heap_profile(other)), load_profile(heap_profile(small)))
    z_big = rank_regressions(load_profile(heap_profile(other)), load_profile(heap_profile(big)))
    zs = next(r for r in z_small.new if r.name == "main.page").z
    zb = next(r for r in z_big.new if r.name == "main.big").z
    assert 0 < zb < zs


def test_two_captures_of_one_process_are_said_to_be_conservative() -> None:
    first = [(fr("main.page", ROOT), 4096, 100, 10), (fr("main.tiny", ROOT), 8, 5, 1)]
    later = [(fr("main.page", ROOT), 4096, 180, 12), (fr("main.tiny", ROOT), 8, 9, 0)]
    base = load_profile(heap_profile(first, time_ns=1))
    cur = load_profile(heap_profile(later, time_ns=2))
    for st in ("alloc_space", "inuse_space"):
        rep = rank_regressions(base, cur, base.sample_index(st))
        assert "two captures of one process share" in rep.method
        assert "p is conservative" in rep.method
        assert "105 vs 189 events" in rep.method or "11 vs 12 events" in rep.method
    restarted = load_profile(heap_profile(first[:1], time_ns=3))  # main.tiny's count shrank
    rep = rank_regressions(cur, restarted, cur.sample_index("alloc_space"))
    assert "one process" not in rep.method
    assert "alloc_space counts since each process started" in rep.method


# ---- CPU stays the pooled two-proportion test -------------------------------------------------


def test_cpu_is_the_pooled_two_proportion_test_on_samples() -> None:
    period = 10_000_000
    a = {fr("main.hot", ROOT): 30, fr("main.cold", ROOT): 70}
    b = {fr("main.hot", ROOT): 60, fr("main.cold", ROOT): 90}
    base = load_profile(encode_cpu_profile(a, period, 1, 10**9))
    cur = load_profile(encode_cpu_profile(b, period, 2, 10**9))
    for t in (0, 1):
        rep = rank_regressions(base, cur, t)
        assert rep.count_type == "samples"
        assert rep.method.startswith("two-proportion test on samples (100 vs 150 events)")
        hot = next(r for r in rep.rows if r.name == "main.hot")
        pool = 90 / 250
        z = (60 / 150 - 30 / 100) / math.sqrt(pool * (1 - pool) * (1 / 100 + 1 / 150))
        assert hot.z == pytest.approx(z, rel=1e-12)
        assert hot.p_value == pytest.approx(math.erfc(abs(z) / math.sqrt(2)), rel=1e-12)


# ---- kinds without a test ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fixture", "word"),
    [
        ("goroutine_contention", "goroutine"),
        ("mutex_contention", "contention"),
        ("block_contention", "contention"),
    ],
)
def test_goroutine_and_contention_profiles_get_no_p_value(fixture: str, word: str) -> None:
    prof = load_profile(FIX / f"{fixture}.pb.gz")
    for t in range(len(prof.sample_types)):
        rep = rank_regressions(prof, prof, t)
        assert rep.method.startswith("no significance test for ") and word in rep.method
        assert rep.count_type.startswith("none (")
        rows = rep.rows + rep.new + rep.vanished
        assert rows and all(math.isnan(r.p_value) and not r.significant for r in rows)
        assert rep.regressions() == []
        # JSON has no NaN: an untested p is null
        back = json.loads(json.dumps(rep.to_dict(), allow_nan=False))
        assert back["functions"][0]["p_value"] is None


def test_benjamini_hochberg_skips_untested() -> None:
    nan = math.nan
    assert benjamini_hochberg([0.01, nan, 0.04, 0.5]) == [True, False, False, False]
    assert benjamini_hochberg([0.01, 0.02, 0.03]) == [True, True, True]
    assert benjamini_hochberg([nan, nan]) == [False, False]
    assert benjamini_hochberg([]) == []
