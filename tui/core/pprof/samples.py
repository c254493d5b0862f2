"""Samples of profile.proto as arrays, without one Python object per sample field.

Three ways, fastest first; decode.py takes the first that can vouch for its result (layout.py,
in front of these, reads the usual byte layouts straight from the sample bytes):
- `decode_samples_packed`: location ids as one bytes item per sample (schema.PackedSample),
  so equal stacks are grouped by their bytes; labels grouped by record bytes.
- `decode_samples`: every sample joined with a sentinel sample and parsed as one message
  (schema.FlatSample); sample boundaries found from the sentinels with numpy.
- `_decode_samples_slow`: one message per sample, the only path that names a bad sample.
The first returns distinct stacks and label sets already; the others return per-sample
columns that decode.py interns (`labelsets` here, arrays.intern_sequences for stacks).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from google.protobuf import unknown_fields
from google.protobuf.message import DecodeError

from tui.core.pprof import schema
from tui.core.pprof.arrays import intern_sequences, interner, last_before
from tui.core.pprof.model import LabelSets, sorted_unique, unique_inverse
from tui.core.pprof.wire import (
    LABEL_MARK,
    LOC_SENTINEL,
    SAMPLE_SEP,
    SENT_VARINT,
    SENTINEL_TAIL,
    VAL_SENTINEL,
    varint,
    why,
)
from tui.errors import UserError

_PACK_MARK = b"\xff"  # a truncated varint: never a real packed location run
_PSEP = b"\x0a\x01" + _PACK_MARK + SENTINEL_TAIL  # the sentinel sample, packed


# (stack of each sample, location ids, stack offsets, values, label sets, label set of each
# sample, samples): what both sample decoders hand decode.py
DecodedSamples = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, LabelSets, np.ndarray, int]


def decode_samples_packed(
    fp: object, ntypes: int, st: list[str], label: str
) -> DecodedSamples | None:
    """Samples whose location ids are packed (as Go writes them), grouped by stack bytes.

    Returns (stack id per sample, location ids of the distinct stacks (flat), their offsets,
    values [n, T], LabelSets, labelset id per sample, n), or None to use the general path.
    """
    blobs = fp.sample  # type: ignore[attr-defined]
    n = len(blobs)
    if n == 0:
        return None
    try:
        ps = schema.PackedSample.FromString(_PSEP.join(blobs) + _PSEP)
    except DecodeError:
        return None
    # -- stacks: one bytes item per sample (absent when empty), then the marker
    items = ps.location_id
    stack_ids = interner()
    stack_ids[_PACK_MARK], stack_ids[b""]  # ids 0 and 1
    ids = np.fromiter(map(stack_ids.__getitem__, items), dtype=np.int64, count=len(items))
    marks = np.flatnonzero(ids == 0)
    if marks.shape[0] != n:
        return None
    prev = np.concatenate(([-1], marks[:-1]))
    gap = marks - prev - 1
    if bool((gap > 1).any()):
        return None
    stack_id = np.where(gap == 1, ids[np.maximum(marks - 1, 0)], 1)
    # samples without a packed run: empty, or ids written unpacked (Go does that for one id);
    # unpacked ids land in unknown fields, so re-read just those samples one by one
    bare = np.flatnonzero(gap == 0)
    if bare.shape[0] > max(50_000, n // 4):
        return None
    n_unpacked = sum(
        1 for f in unknown_fields.UnknownFieldSet(ps) if f.field_number == 1 and f.wire_type == 0
    )
    if n_unpacked:
        found = 0
        for i in bare.tolist():
            one = schema.FlatSample.FromString(blobs[i]).location_id
            if len(one):
                found += len(one)
                stack_id[i] = stack_ids[b"".join(varint(x) for x in one)]
        if found != n_unpacked:
            return None  # ids both packed and unpacked in one sample: take the general path
    stack_of = stack_id - 1  # 0 = empty stack
    uniq = list(stack_ids)[1:]  # b"" first
    # decode the distinct stacks in one parse: each as a packed run followed by a sentinel id
    # packed runs are plain varint sequences: joined with a sentinel varint they form one run
    body = SENT_VARINT.join(uniq) + SENT_VARINT
    run = b"\x0a" + varint(len(body)) + body
    try:
        flat = schema.FlatSample.FromString(run)
    except DecodeError as exc:
        raise UserError(f"{label}: corrupt sample location ids ({why(exc)})") from None
    locs = np.array(flat.location_id, dtype=np.uint64)
    seps = np.flatnonzero(locs == LOC_SENTINEL)
    if seps.shape[0] != len(uniq):
        return None
    counts = np.diff(np.concatenate(([-1], seps))) - 1
    off = np.zeros(len(uniq) + 1, dtype=np.int64)
    np.cumsum(counts, out=off[1:])
    keep = np.ones(locs.shape[0], dtype=bool)
    keep[seps] = False
    # -- values
    vals = np.array(ps.value, dtype=np.int64)
    val_sent = np.flatnonzero(vals == VAL_SENTINEL)
    expect = np.arange(1, n + 1, dtype=np.int64) * (ntypes + 1) - 1
    if val_sent.shape[0] != n or not np.array_equal(val_sent, expect):
        return None
    vkeep = np.ones(vals.shape[0], dtype=bool)
    vkeep[val_sent] = False
    values = vals[vkeep].reshape(n, ntypes)
    labels = _packed_labels(ps.label, n, st, label)
    if labels is None:
        return None
    return stack_of, locs[keep], off, values, labels[0], labels[1], n


def _packed_labels(
    lab_items: Any, n: int, st: list[str], label: str
) -> tuple[LabelSets, np.ndarray] | None:
    """Label sets of the packed path: each label record's bytes interned, then each sample's
    sequence of records (a marker record closes every sample)."""
    if len(lab_items) == n:  # only our markers: no sample has labels
        z = np.zeros(0, dtype=np.int64)
        empty = LabelSets(st, np.zeros(2, dtype=np.int64), z, z, z, z)
        return empty, np.zeros(n, dtype=np.int32)
    lab_ids = interner()
    lab_ids[LABEL_MARK]  # id 0
    lids = np.fromiter(map(lab_ids.__getitem__, lab_items), dtype=np.int64, count=len(lab_items))
    lmarks = np.flatnonzero(lids == 0)
    if lmarks.shape[0] != n:
        return None
    got = _label_sequences(lids, lmarks, n)
    return _labelsets_from_records(list(lab_ids)[1:], got, lids, lmarks, st, label)


def _label_sequences(lids: np.ndarray, lmarks: np.ndarray, n: int) -> np.ndarray:
    """Labelset id per sample from its label record ids (records 1.., marker 0)."""
    lens = np.diff(np.concatenate(([-1], lmarks))) - 1
    if int(lens.max()) == 0:
        return np.zeros(n, dtype=np.int64)
    nrec = int(lids.max())
    bits = max(1, nrec.bit_length())
    c = int(lens[0])
    if c * bits <= 63 and lids.shape[0] == n * (c + 1) and bool((lens == c).all()):
        # the common case: every sample has the same number of labels -> a 2-D view
        mat = lids.reshape(n, c + 1)[:, :c]
        key = np.zeros(n, dtype=np.int64)
        for j in range(c):
            key |= mat[:, j] << (j * bits)
        _, inv = unique_inverse(key)
        return inv
    if int(lens.max()) * bits <= 63:
        # pack each sample's record ids into one int64
        owner = np.repeat(np.arange(n, dtype=np.int64), lens + 1)
        start = np.concatenate(([0], lmarks[:-1] + 1))
        pos = np.arange(lids.shape[0], dtype=np.int64) - start[owner]
        shifted = (lids << (pos * bits)).astype(np.uint64)
        # per-sample sums by cumsum differences (wrapping uint64 arithmetic is exact here);
        # the marker (id 0) closing each sample adds nothing
        cs = np.cumsum(shifted, dtype=np.uint64)
        ends = cs[lmarks]
        key = (ends - np.concatenate(([np.uint64(0)], ends[:-1]))).view(np.int64)
        _, inv = unique_inverse(key)
        return inv.reshape(-1).astype(np.int64)
    off = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lens, out=off[1:])
    ids, _, _ = intern_sequences(lids[lids != 0], off)
    return ids.astype(np.int64)


def _labelsets_from_records(
    records: list[bytes],
    seq: np.ndarray,
    lids: np.ndarray,
    lmarks: np.ndarray,
    st: list[str],
    label: str,
) -> tuple[LabelSets, np.ndarray]:
    """LabelSets for the distinct per-sample label sequences; set 0 is the empty set."""
    n = seq.shape[0]
    nst = len(st)
    cols = np.zeros((len(records) + 1, 4), dtype=np.int64)
    for i, b in enumerate(records, start=1):
        try:
            lb = schema.Label.FromString(b)
        except DecodeError as exc:
            raise UserError(f"{label}: corrupt sample label ({why(exc)})") from None
        cols[i] = (lb.key, lb.str, lb.num, lb.num_unit)
    for what, c in (("label key", 0), ("label value", 1), ("label unit", 3)):
        col = cols[1:, c]
        if col.shape[0] and (int(col.min()) < 0 or int(col.max()) >= nst):
            raise UserError(f"{label}: {what} refers to a string outside the string table")
    lens = np.diff(np.concatenate(([-1], lmarks))) - 1
    # make the empty sequence set 0
    empty = sorted_unique(seq[lens == 0])
    nseq = int(seq.max()) + 1 if n else 0
    remap = np.arange(nseq, dtype=np.int64) + 1
    if empty.shape[0]:
        e = int(empty[0])
        remap = np.where(np.arange(nseq) < e, remap, remap - 1)
        remap[e] = 0
    ids = remap[seq]
    nsets = int(ids.max()) + 1 if n else 1
    rep = np.full(nsets, -1, dtype=np.int64)
    rep[ids[::-1]] = np.arange(n - 1, -1, -1)
    start_of = np.concatenate(([0], lmarks[:-1] + 1))
    rep_lens = np.where(rep >= 0, lens[np.maximum(rep, 0)], 0)
    rep_lens[0] = 0
    start = np.zeros(nsets + 1, dtype=np.int64)
    np.cumsum(rep_lens, out=start[1:])
    within = np.arange(int(start[-1]), dtype=np.int64) - np.repeat(start[:-1], rep_lens)
    rec = lids[np.repeat(start_of[np.maximum(rep, 0)], rep_lens) + within]
    c = cols[rec]
    sets = LabelSets(st, start, c[:, 0], c[:, 1], c[:, 2], c[:, 3])
    return sets, ids.astype(np.int32)


def _label_arrays_empty(n: int) -> tuple[np.ndarray, ...]:
    z = np.zeros(0, dtype=np.int64)
    return np.zeros(n + 1, dtype=np.int64), z, z, z, z


def decode_samples(
    fp: object, ntypes: int, label: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[np.ndarray, ...], int]:
    """All samples at once: flat location ids, per-sample offsets, values [n, T], labels.

    labels: (offsets[n + 1], key, str, num, unit) — every label of every sample as columns.
    """
    blobs = fp.sample  # type: ignore[attr-defined]
    n = len(blobs)
    if n == 0:
        return (
            np.zeros(0, np.uint64),
            np.zeros(1, np.int64),
            np.zeros((0, ntypes), np.int64),
            _label_arrays_empty(0),
            0,
        )
    joined = SAMPLE_SEP.join(blobs) + SAMPLE_SEP
    try:
        flat = schema.FlatSample.FromString(joined)
    except DecodeError as exc:
        raise UserError(f"{label}: corrupt sample in profile ({why(exc)})") from None
    del joined
    locs = np.array(flat.location_id, dtype=np.uint64)
    vals = np.array(flat.value, dtype=np.int64)
    loc_sent = np.flatnonzero(locs == LOC_SENTINEL)
    val_sent = np.flatnonzero(vals == VAL_SENTINEL)
    ok = loc_sent.shape[0] == n and val_sent.shape[0] == n
    if ok:
        expect = np.arange(1, n + 1, dtype=np.int64) * (ntypes + 1) - 1
        ok = bool(np.array_equal(val_sent, expect))
    labels = flat_labels(list(flat.label), n) if ok else None
    if labels is None:
        return _decode_samples_slow(fp, ntypes, label)
    # offsets into the location array once the sentinels are removed
    counts = np.diff(np.concatenate(([-1], loc_sent))) - 1
    off = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=off[1:])
    keep = np.ones(locs.shape[0], dtype=bool)
    keep[loc_sent] = False
    flat_locs = locs[keep]
    vkeep = np.ones(vals.shape[0], dtype=bool)
    vkeep[val_sent] = False
    values = vals[vkeep].reshape(n, ntypes)
    return flat_locs, off, values, labels, n


_L_SENT = -(2**63)
_L_MARK = -(2**63) + 1
_LABEL_SEP = b"".join(bytes([tag]) + b"\x80" * 9 + b"\x01" for tag in (0x08, 0x10, 0x18, 0x20))


def flat_labels(lab: list[bytes], n: int) -> tuple[np.ndarray, ...] | None:
    """Every label record (plus one marker per sample) parsed in one go into columns."""
    if len(lab) == n:  # only the per-sample markers: no labels at all
        return _label_arrays_empty(n)
    joined = _LABEL_SEP.join(lab) + _LABEL_SEP
    try:
        fl = schema.FlatLabel.FromString(joined)
    except DecodeError:
        return None
    m = len(lab)
    cols = []
    for arr in (fl.key, fl.str, fl.num, fl.num_unit):
        v = last_before(np.array(arr, dtype=np.int64), _L_SENT, m)
        if v is None:
            return None
        cols.append(v)
    key, sval, num, unit = cols
    marks = np.flatnonzero(key == _L_MARK)
    if marks.shape[0] != n:
        return None
    # label i belongs to the sample whose marker comes after it
    off = np.zeros(n + 1, dtype=np.int64)
    off[1:] = marks - np.arange(n)
    keep = key != _L_MARK
    return off, key[keep], sval[keep], num[keep], unit[keep]


def _decode_samples_slow(
    fp: object, ntypes: int, label: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[np.ndarray, ...], int]:
    """Per-sample decoding, used only when the sentinel fast path cannot be trusted."""
    blobs = list(fp.sample)  # type: ignore[attr-defined]
    n = len(blobs)
    locs: list[int] = []
    off = np.zeros(n + 1, dtype=np.int64)
    values = np.zeros((n, ntypes), dtype=np.int64)
    loff = np.zeros(n + 1, dtype=np.int64)
    cols: list[list[int]] = [[], [], [], []]
    for i, b in enumerate(blobs):
        try:
            smp = schema.Sample.FromString(b)
        except DecodeError as exc:
            raise UserError(f"{label}: corrupt sample {i} in profile ({why(exc)})") from None
        locs.extend(smp.location_id)
        off[i + 1] = len(locs)
        v = list(smp.value)
        if len(v) != ntypes:
            raise UserError(
                f"{label}: sample {i} has {len(v)} values but the profile has {ntypes} sample types"
            )
        values[i] = v
        for lb in smp.label:
            cols[0].append(lb.key)
            cols[1].append(lb.str)
            cols[2].append(lb.num)
            cols[3].append(lb.num_unit)
        loff[i + 1] = len(cols[0])
    arrs = tuple(np.asarray(c, dtype=np.int64) for c in cols)
    return np.asarray(locs, dtype=np.uint64), off, values, (loff, *arrs), n


def labelsets(
    labels: tuple[np.ndarray, ...], n: int, st: list[str], label: str
) -> tuple[LabelSets, np.ndarray]:
    """Intern per-sample label sequences; labelset 0 is always the empty set."""
    off, key, sval, num, unit = labels
    nst = len(st)
    for what, col in (("label key", key), ("label value", sval), ("label unit", unit)):
        if col.shape[0] and (int(col.min()) < 0 or int(col.max()) >= nst):
            raise UserError(f"{label}: {what} refers to a string outside the string table")
    if key.shape[0] == 0:
        empty = LabelSets(st, np.zeros(2, np.int64), key, sval, num, unit)
        return empty, np.zeros(n, dtype=np.int32)
    # a sample's label sequence as 4 ints per label; intern the sequences
    quads = np.stack([key, sval, num, unit], axis=1).reshape(-1)
    ids, uoff, _ = intern_sequences(quads, off * 4)
    # make the empty sequence id 0
    lens = np.diff(off)
    empty_ids = sorted_unique(ids[lens == 0])
    nuniq = int(uoff.shape[0] - 1)
    remap = np.arange(nuniq, dtype=np.int64)
    if empty_ids.shape[0]:
        e = int(empty_ids[0])
        remap = np.where(remap < e, remap + 1, remap)
        remap[e] = 0
    else:
        remap = remap + 1
    ids = remap[ids].astype(np.int32)
    # representative sample of each set -> its label rows
    nsets = int(remap.max()) + 1 if not empty_ids.shape[0] else nuniq
    rep = np.full(nsets, -1, dtype=np.int64)
    rep[ids[::-1]] = np.arange(n - 1, -1, -1)
    rep_lens = np.where(rep >= 0, lens[np.maximum(rep, 0)], 0)
    rep_lens[0] = 0
    start = np.zeros(nsets + 1, dtype=np.int64)
    np.cumsum(rep_lens, out=start[1:])
    within = np.arange(int(start[-1]), dtype=np.int64) - np.repeat(start[:-1], rep_lens)
    rows = np.repeat(off[np.maximum(rep, 0)], rep_lens) + within
    sets = LabelSets(st, start, key[rows], sval[rows], num[rows], unit[rows])
    return sets, ids
