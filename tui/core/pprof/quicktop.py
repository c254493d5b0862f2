"""The quick path of `warroom profile FILE --top`: small profiles without numpy or protobuf.

Why: on a profile of a few KiB the full engine's imports (numpy, upb and the schema) cost
ten times the work (issue 16). This path reads the file with protowire.py and computes the
same rows as table.function_table (the semantics are documented there), in plain Python.

It answers None, and the full engine runs and gives its own answer or error, on anything it
cannot vouch for: a file over QUICK_MAX_BYTES (inflated; above that the full engine is the
faster), folded text, gzip the loader would refuse, anything protowire.py declines, string
indices outside the table, ids that are 0, repeated or dangling, a sample whose value count
is not the number of sample types, negative values (the merge of a diff), sums past int64,
stacks deeper than MAX_STACK_DEPTH, drop_frames, and a --sample-type the profile has not.
"""

from __future__ import annotations

import os
from typing import NamedTuple

from tui.core.pprof.inflate import MAX_INFLATED, InflateError, inflate_gzip
from tui.core.pprof.limits import INT64_MAX, MAX_STACK_DEPTH
from tui.core.pprof.protowire import Decline, RawProfile, read_profile
from tui.core.pprof.rows import FunctionRow, address_name, line_name
from tui.core.pprof.sniff import looks_folded

# Inflated bytes (and file bytes). The quick path costs ~0.3 us per inflated byte, the full
# engine ~0.06 us per byte after ~100 ms more of imports: they break even near 300-500 KiB
# (BENCHMARKS.md, start-up); under this the quick path is clearly the faster.
QUICK_MAX_BYTES = 256 * 2**10

_LABELS = ("", "(inline)", "(partial-inline)")
# bit 1: an inlined incoming edge, bit 2: a call; only inlined -> (inline), both -> partial
_LABEL_OF = (0, 1, 0, 2)


class QuickTop(NamedTuple):
    sample_type: str
    unit: str
    total: int
    rows: list[FunctionRow]


def quick_top(
    path: str | os.PathLike[str],
    sample_type: str | None,
    granularity: str,
    edge_fraction: float,
    max_inflated: int | None = None,
) -> QuickTop | None:
    """The -top table of the profile at `path`, or None: the full engine must read it."""
    try:
        with open(path, "rb") as fh:
            data = fh.read(QUICK_MAX_BYTES + 1)
    except OSError:
        return None
    if len(data) > QUICK_MAX_BYTES:
        return None
    return quick_top_bytes(data, sample_type, granularity, edge_fraction, max_inflated)


def quick_top_bytes(
    data: bytes,
    sample_type: str | None,
    granularity: str,
    edge_fraction: float,
    max_inflated: int | None = None,
) -> QuickTop | None:
    """quick_top on a file's bytes."""
    if data[:2] == b"\x1f\x8b":
        cap = min(MAX_INFLATED if max_inflated is None else max_inflated, QUICK_MAX_BYTES)
        try:
            data, rest = inflate_gzip(data, cap)
        except (InflateError, ValueError):
            return None  # corrupt, or over the cap: the loader names why, or reads it
        if rest:
            return None
    elif len(data) > QUICK_MAX_BYTES or looks_folded(data):
        return None
    if not data:
        return None
    try:
        raw = read_profile(data)
        checked = _Checked(raw)
        t = checked.sample_index(sample_type)
        rows, total = _table(checked, t, granularity, edge_fraction)
    except Decline:
        return None
    stype, unit = checked.types[t]
    return QuickTop(stype, unit, total, rows)


def _string(st: list[str], idx: int) -> str:
    if not 0 <= idx < len(st):
        raise Decline
    return st[idx]


def _unique(ids: list[int]) -> None:
    if 0 in ids or len(set(ids)) != len(ids):
        raise Decline


class _Checked:
    """A RawProfile whose strings, ids and values the full engine would accept as they are."""

    def __init__(self, raw: RawProfile) -> None:
        st = raw.strings
        if not st or st[0] != "" or not raw.sample_types:
            raise Decline
        self.types = [(_string(st, a), _string(st, b)) for a, b in raw.sample_types]
        for idx in (raw.drop_frames, raw.keep_frames, *raw.comments, *(raw.period_type or ())):
            _string(st, idx)
        if _string(st, raw.drop_frames):
            raise Decline  # pruning is the full engine's
        self.default = len(self.types) - 1
        if raw.default_sample_type:
            dname = _string(st, raw.default_sample_type)
            self.default = next(
                (i for i, (t, _) in enumerate(self.types) if t == dname), self.default
            )
        _unique([m[0] for m in raw.mappings])
        self.mapping_file = {m[0]: _string(st, m[1]) for m in raw.mappings}
        for m in raw.mappings:
            _string(st, m[2])
        _unique([f[0] for f in raw.functions])
        self.functions = {f[0]: (_string(st, f[1]), _string(st, f[3])) for f in raw.functions}
        for f in raw.functions:
            _string(st, f[2])  # system_name: unused here, checked by the full engine
        _unique([loc.id for loc in raw.locations])
        for loc in raw.locations:
            if loc.mapping_id and loc.mapping_id not in self.mapping_file:
                raise Decline
            for fid, _ in loc.lines:
                if fid and fid not in self.functions:
                    raise Decline
        self.locations = raw.locations
        self.depth = {loc.id: max(len(loc.lines), 1) for loc in raw.locations}
        self.stacks = self._stacks(raw, len(st))

    def _stacks(self, raw: RawProfile, nst: int) -> list[dict[tuple[int, ...], int]]:
        """Per sample type: the summed value of each distinct stack (values >= 0 only, so
        merging by stack alone gives the numbers merging by stack and labels gives)."""
        ntypes = len(self.types)
        out: list[dict[tuple[int, ...], int]] = [{} for _ in range(ntypes)]
        sums = [0] * ntypes
        depth = self.depth
        for s in raw.samples:
            vals = s.values
            if len(vals) != ntypes or (vals and min(vals) < 0):
                raise Decline
            for key, sval, _num, unit in s.labels:
                if not (0 <= key < nst and 0 <= sval < nst and 0 <= unit < nst):
                    raise Decline
            stack = tuple(s.locs)
            try:
                if sum(depth[lid] for lid in stack) > MAX_STACK_DEPTH:
                    raise Decline
            except KeyError:
                raise Decline from None
            for t, v in enumerate(vals):
                sums[t] += v
                if v:
                    got = out[t]
                    got[stack] = got.get(stack, 0) + v
        if max(sums) > INT64_MAX:
            raise Decline
        self.totals = sums
        return out

    def sample_index(self, name: str | None) -> int:
        """Profile.sample_index, declining where that raises (the full engine says why)."""
        if not name:
            return self.default
        for i, (t, _) in enumerate(self.types):
            if t == name:
                return i
        if name.isdigit() and int(name) < len(self.types):
            return int(name)
        raise Decline


def _entries(
    p: _Checked, granularity: str
) -> tuple[dict[int, tuple[list[int], list[bool]]], list[str]]:
    """Per location id: the node keys of its lines and whether each is inlined, outermost
    first (root first); and the name of each key. The name of a (function, line) is taken at
    its first line entry, as table.line_keys does."""
    cache: dict[tuple[int, int], str] = {}
    keys: dict[str, int] = {}
    by_line = granularity == "line"
    out = {}
    for loc in p.locations:
        mfile = p.mapping_file.get(loc.mapping_id) if loc.mapping_id else None
        names: list[str] = []
        if not loc.lines:
            names.append(address_name(granularity, loc.address, mfile))
        for fid, lineno in loc.lines:
            if not fid:
                names.append(address_name(granularity, loc.address, mfile))
                continue
            ck = (fid, lineno if by_line else 0)
            name = cache.get(ck)
            if name is None:
                fname, ffile = p.functions[fid]
                name = cache[ck] = line_name(granularity, fname, ffile, ck[1], mfile)
            names.append(name)
        ids = [keys.setdefault(nm, len(keys)) for nm in reversed(names)]
        out[loc.id] = (ids, [False] + [True] * (len(ids) - 1))  # the outermost line first
    return out, list(keys)


def _table(
    p: _Checked, t: int, granularity: str, edge_fraction: float
) -> tuple[list[FunctionRow], int]:
    """(rows, total) as table.function_table gives them."""
    total = p.totals[t]
    cutoff = abs(int(float(total) * edge_fraction)) if edge_fraction else 0
    entries, names = _entries(p, granularity)
    k = len(names)
    flat = [0] * k
    cum = [0] * k
    edges: dict[int, list[int]] = {}  # src * k + dst -> [weight, every first one inlined]
    for stack, v in p.stacks[t].items():
        if not stack:
            continue
        seq: list[int] = []
        inl: list[bool] = []
        for lid in reversed(stack):
            ids, flags = entries[lid]
            seq += ids
            inl += flags
        for key in set(seq):
            cum[key] += v
        flat[seq[-1]] += v
        first: dict[int, bool] = {}
        for src, dst, nested in zip(seq, seq[1:], inl[1:]):  # noqa: B905 (one shorter)
            if src != dst:
                first.setdefault(src * k + dst, nested)
        for edge, nested in first.items():
            rec = edges.get(edge)
            if rec is None:
                edges[edge] = [v, nested]
            else:
                rec[0] += v
                rec[1] = rec[1] and nested
    code = [0] * k
    for edge, (weight, inlined) in edges.items():
        if cutoff <= 0 or abs(weight) >= cutoff:
            code[edge % k] |= 1 if inlined else 2
    rows = [
        FunctionRow(names[i], flat[i], cum[i], code[i] == 1, _LABELS[_LABEL_OF[code[i]]])
        for i in range(k)
        if flat[i] or cum[i]
    ]
    rows.sort(key=lambda r: (-abs(r.flat), r.name, -abs(r.cum)))
    return rows, total
