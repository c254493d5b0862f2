"""Samples in the usual byte layouts, read with numpy straight from the sample bytes.

Go's runtime/pprof writes a sample as [values][location ids][labels], each repeated field of
one or two numbers unpacked (0x10 v 0x10 v, 0x08 id) and longer ones packed; protobuf
libraries write [packed location ids][packed values][labels]. Either way the decoder needs no
Python object per sample field: the samples' bytes (as upb split them, in whatever order the
file interleaves them with locations and functions) are joined into one buffer, the values
are read at their positions with numpy, and whole stacks and whole label tails are grouped by
their bytes (arrays.group_spans: hashed 64-bit words, then verified). Only the distinct
stacks and distinct label tails are parsed, by upb, which also proves that a tail holds
nothing but labels. Anything else returns None and takes samples.py's paths.
"""

from __future__ import annotations

import numpy as np
from google.protobuf.message import DecodeError

from tui.core.pprof import schema
from tui.core.pprof.arrays import fixed_runs, group_spans, interner, varints_at
from tui.core.pprof.model import LabelSets
from tui.core.pprof.samples import DecodedSamples, flat_labels
from tui.core.pprof.wire import LOC_SENTINEL, SAMPLE_SEP, VAL_SENTINEL, varint
from tui.errors import UserError

# a sentinel location id record: joined distinct stacks (packed or not) parse as one sample
_STACK_SEP = b"\x08" + varint(2**64 - 1)
_MAX_UNPACKED = 8  # unpacked location ids per sample read here (Go writes at most 2)
_MAX_RUN = 2**40  # a longer packed run is no sample of a real profile


def decode_samples_layout(
    fp: object, ntypes: int, st: list[str], label: str
) -> DecodedSamples | None:
    """Same result as samples.decode_samples_packed, or None to take that path."""
    blobs = fp.sample  # type: ignore[attr-defined]
    n = len(blobs)
    if n == 0:
        return None
    items = list(blobs)
    lens = np.fromiter(map(len, items), dtype=np.int64, count=n)
    items.append(bytes(8))  # group_spans reads whole 64-bit words: pad the last span's
    data = b"".join(items)
    del items
    if not bool((lens > 0).all()):
        return None
    pe = np.cumsum(lens)
    ps = pe - lens
    buf = np.frombuffer(data, dtype=np.uint8)
    values = None
    pos = ps
    if bool(np.isin(buf[ps], (0x10, 0x12)).all()):  # values first, as Go's runtime writes
        got = _values(buf, ps, pe, ntypes)
        if got is None:
            return None
        values, pos = got
    st_lo = pos
    skipped = _skip_stack(buf, pos, pe)
    if skipped is None:
        return None
    st_hi, loose = skipped
    tail = st_hi
    if values is None:
        got = _values(buf, st_hi, pe, ntypes)
        if got is None:
            return None
        values, tail = got
    stacks = _stacks(data, st_lo, st_hi, loose)
    if stacks is None:
        return None
    labels = _label_tails(data, tail, pe, st, label)
    if labels is None:
        return None
    stack_of, locs, off = stacks
    sets, labels_of = labels
    return stack_of, locs, off, values, sets, labels_of, n


def _values(
    buf: np.ndarray, pos: np.ndarray, pe: np.ndarray, ntypes: int
) -> tuple[np.ndarray, np.ndarray] | None:
    """The sample values at `pos`, one packed run or `ntypes` unpacked records: (values [n, T],
    the position after them)."""
    if bool((pos >= pe).any()):
        return None
    vt = buf[pos]
    values = np.empty((pos.shape[0], ntypes), dtype=np.int64)
    if bool((vt == 0x12).all()):
        got = varints_at(buf, pos + 1, pe)
        if got is None or bool((got[0] > np.uint64(_MAX_RUN)).any()) or ntypes > 16:
            return None
        va = pos + 1 + got[1]
        vln = got[0].astype(np.int64)
        if bool((va + vln > pe).any()):
            return None
        rows = fixed_runs(buf, va, vln, ntypes)
        if rows is None:
            return None
        values[:] = rows.view(np.int64)
        return values, va + vln
    if not bool((vt == 0x10).all()):
        return None
    p = pos
    for j in range(ntypes):
        if bool((p >= pe).any()) or bool((buf[np.minimum(p, buf.shape[0] - 1)] != 0x10).any()):
            return None
        got = varints_at(buf, p + 1, pe)
        if got is None:
            return None
        values[:, j] = got[0].view(np.int64)
        p = p + 1 + got[1]
    return values, p


def _skip_stack(
    buf: np.ndarray, pos: np.ndarray, pe: np.ndarray
) -> tuple[np.ndarray, np.ndarray] | None:
    """The end of each sample's location ids at `pos`: a packed run, then up to _MAX_UNPACKED
    unpacked ids (either may be absent); and whether a sample has unpacked ids."""
    pos = pos.copy()
    loose = np.zeros(pos.shape[0], dtype=bool)
    at = np.flatnonzero(pos < pe)
    run = at[buf[pos[at]] == 0x0A]
    if run.shape[0]:
        got = varints_at(buf, pos[run] + 1, pe[run])
        if got is None or bool((got[0] > np.uint64(_MAX_RUN)).any()):
            return None
        pos[run] += 1 + got[1] + got[0].astype(np.int64)
        if bool((pos > pe).any()):
            return None
    for k in range(_MAX_UNPACKED + 1):
        at = np.flatnonzero(pos < pe)
        one = at[buf[pos[at]] == 0x08]
        if not one.shape[0]:
            return pos, loose
        if k == _MAX_UNPACKED:
            return None
        got = varints_at(buf, pos[one] + 1, pe[one])
        if got is None:
            return None
        pos[one] += 1 + got[1]
        loose[one] = True
    return None


def _group(data: bytes, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Id per span of `data`, equal bytes equal ids, the empty span 0 (see group_spans); a dict
    on the sliced bytes when the hashed grouping cannot vouch for its result."""
    ids = group_spans(data, lo, hi)
    if ids is None:
        keys = list(map(data.__getitem__, map(slice, lo.tolist(), hi.tolist())))
        d = interner()
        d[b""]
        ids = np.fromiter(map(d.__getitem__, keys), dtype=np.int64, count=lo.shape[0])
    return ids


def _first_of(ids: np.ndarray) -> np.ndarray:
    """The first span of each id 1.. (id 0, the empty span, is left out)."""
    rep = np.full(int(ids.max()) + 1, -1, dtype=np.int64)
    rep[ids[::-1]] = np.arange(ids.shape[0] - 1, -1, -1)
    return rep[1:]


def _stacks(
    data: bytes, lo: np.ndarray, hi: np.ndarray, loose: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(stack id per sample, location ids of the distinct stacks, their offsets); stack 0 is
    the empty one. Stacks are grouped by bytes, so one written both packed and unpacked is
    merged after its ids are read."""
    stack_of = _group(data, lo, hi)
    reps = _first_of(stack_of)
    spans = list(map(data.__getitem__, map(slice, lo[reps].tolist(), hi[reps].tolist())))
    try:
        flat = schema.FlatSample.FromString(_STACK_SEP + _STACK_SEP.join(spans) + _STACK_SEP)
    except DecodeError:
        return None
    locs = np.array(flat.location_id, dtype=np.uint64)
    seps = np.flatnonzero(locs == LOC_SENTINEL)
    if seps.shape[0] != reps.shape[0] + 1 or len(flat.value) or len(flat.label):
        return None
    counts = np.diff(np.concatenate(([-1], seps))) - 1
    off = np.zeros(counts.shape[0] + 1, dtype=np.int64)
    np.cumsum(counts, out=off[1:])
    keep = np.ones(locs.shape[0], dtype=bool)
    keep[seps] = False
    locs = locs[keep]
    target = _same_stacks(spans, loose[reps], locs, off)
    if target is not None:  # a stack in two encodings: one id, numbered by first appearance
        kept = target == np.arange(target.shape[0])
        stack_of = (np.cumsum(kept) - 1)[target][stack_of]
        locs = locs[np.repeat(kept, counts)]
        off = np.zeros(int(kept.sum()) + 1, dtype=np.int64)
        np.cumsum(counts[kept], out=off[1:])
    return stack_of, locs, off


def _same_stacks(
    spans: list[bytes], loose: np.ndarray, locs: np.ndarray, off: np.ndarray
) -> np.ndarray | None:
    """For each distinct stack (0 = empty, then `spans`), the first one with the same location
    ids, when some stacks are written in two encodings (unpacked ids, or packed with none);
    None when none is. Only those few are re-encoded as a packed run and looked up."""
    odd = np.flatnonzero(loose | (np.diff(off)[1:] == 0)) + 1
    if not odd.shape[0]:
        return None
    groups: dict[bytes, list[int]] = {}
    for j in odd.tolist():
        run = b"".join(map(varint, locs[off[j] : off[j + 1]].tolist()))
        groups.setdefault(b"\x0a" + varint(len(run)) + run if run else b"", []).append(j)
    packed = {b: j for j, b in enumerate(spans, start=1)}
    target = np.arange(off.shape[0] - 1, dtype=np.int64)
    for key, members in groups.items():
        t = 0 if not key else packed.get(key)
        if t is not None and t not in members:
            members.append(t)
        target[members] = min(members)
    return None if bool((target == np.arange(target.shape[0])).all()) else target


def _label_tails(
    data: bytes, tail: np.ndarray, pe: np.ndarray, st: list[str], label: str
) -> tuple[LabelSets, np.ndarray] | None:
    """LabelSets of the distinct label tails and the set of each sample (0 = no labels)."""
    labels_of = _group(data, tail, pe)
    lreps = _first_of(labels_of)
    nd = lreps.shape[0]
    if nd:
        tails = list(map(data.__getitem__, map(slice, tail[lreps].tolist(), pe[lreps].tolist())))
        try:
            tf = schema.FlatSample.FromString(SAMPLE_SEP.join(tails) + SAMPLE_SEP)
        except DecodeError:
            return None
        tl = np.array(tf.location_id, dtype=np.uint64)
        tv = np.array(tf.value, dtype=np.int64)
        if tl.shape[0] != nd or tv.shape[0] != nd:
            return None  # a tail holds location ids or values: not a layout read here
        if not bool((tl == LOC_SENTINEL).all()) or not bool((tv == VAL_SENTINEL).all()):
            return None
        cols = flat_labels(list(tf.label), nd)
        if cols is None:
            return None
        loff, key, sval, num, unit = cols
    else:
        z = np.zeros(0, dtype=np.int64)
        loff, key, sval, num, unit = np.zeros(1, dtype=np.int64), z, z, z, z
    nst = len(st)
    for what, col in (("label key", key), ("label value", sval), ("label unit", unit)):
        if col.shape[0] and (int(col.min()) < 0 or int(col.max()) >= nst):
            raise UserError(f"{label}: {what} refers to a string outside the string table")
    start = np.concatenate(([0], loff)).astype(np.int64)
    return LabelSets(st, start, key, sval, num, unit), labels_of.astype(np.int32)
