"""Decode pprof profile.proto (gzipped or raw) or folded stacks into the columnar `Profile`.

Schema: built at runtime from a descriptor (see schema.py), parsed by the protobuf upb runtime.
Samples are never turned into one Python object each: the decoder parses them as raw bytes,
joins them with a sentinel record and parses the run as a single message (schema.FlatSample),
then finds sample boundaries from the sentinels with numpy. Stacks are interned with a 128-bit
polynomial hash that is then verified element by element (exact, no collision risk).

Errors a user can fix (missing file, not a profile, truncated or corrupt gzip, concatenated gzip
members, dangling ids) raise UserError naming the file. Hostile input is bounded too: gzip
inflation stops at a cap (inflate.py), numbers beyond 64 bits and value sums past int64 are
refused, and so are stacks deeper than MAX_STACK_DEPTH (the call tree costs time per level).
"""

from __future__ import annotations

import os
import re
from collections import defaultdict
from pathlib import Path

import numpy as np
from google.protobuf import unknown_fields
from google.protobuf.message import DecodeError

from tui.core.pprof import schema
from tui.core.pprof.inflate import MAX_INFLATED, InflateError, inflate_gzip
from tui.core.pprof.model import LabelSets, Profile, sorted_unique, unique_inverse
from tui.core.pprof.varint_check import overlong_varint
from tui.errors import UserError

# sentinel record placed after every sample: location_id = 2**64-1, value = INT64_MIN, label = b""
_LOC_SENTINEL = np.uint64(2**64 - 1)
_VAL_SENTINEL = np.int64(-(2**63))
# ... and a marker label whose key is INT64_MIN + 1
_SEP = (
    b"\x08"
    + b"\xff" * 9
    + b"\x01"
    + b"\x10"
    + b"\x80" * 9
    + b"\x01"
    + b"\x1a\x0b\x08"
    + b"\x81"
    + b"\x80" * 8
    + b"\x01"
)


# upb names the internal message type in its decode errors ("Error parsing message with
# type 'warroom.pprof.FastProfile': ..."); a user needs only what is wrong and where.
INT64_MAX = 2**63 - 1  # pprof values are int64; sums of them too
MAX_STACK_DEPTH = 8192  # frames per stack, inlined ones included (see check_depth)
_UPB_PREFIX = re.compile(r"Error parsing message with type '[^']*': ?")


def _why(exc: DecodeError) -> str:
    return _UPB_PREFIX.sub("", str(exc)) or "corrupt protobuf"


def load_profile(
    path_or_bytes: str | os.PathLike[str] | bytes,
    name: str | None = None,
    max_inflated: int | None = None,
) -> Profile:
    """Load a profile from a path or from bytes (gzip or raw protobuf, or folded stacks).

    `max_inflated`: the most a gzipped profile may inflate to (default MAX_INFLATED)."""
    if isinstance(path_or_bytes, bytes | bytearray | memoryview):
        data = bytes(path_or_bytes)
        label = name or "<bytes>"
    else:
        label = name or os.fspath(path_or_bytes)
        try:
            data = Path(path_or_bytes).read_bytes()
        except FileNotFoundError:
            raise UserError(f"{label}: no such file") from None
        except IsADirectoryError:
            raise UserError(f"{label}: is a directory, not a profile") from None
        except OSError as exc:
            raise UserError(f"{label}: cannot read: {exc.strerror or exc}") from None
    return decode_bytes(data, label, max_inflated)


def decode_bytes(data: bytes, label: str, max_inflated: int | None = None) -> Profile:
    if not data:
        raise UserError(f"{label}: empty file, not a profile")
    if data[:2] == b"\x1f\x8b":
        data = gunzip_single(data, label, max_inflated)
        if not data:
            raise UserError(f"{label}: gzip holds no data, not a profile")
    elif _looks_folded(data):
        from tui.core.pprof.folded import parse_folded

        return parse_folded(_utf8(data, label), label)
    prof = decode_proto(data, label)
    if prof.drop_frames:
        from tui.core.pprof.filters import prune_frames

        prof = prune_frames(prof, prof.drop_frames, prof.keep_frames)
    return prof


def _utf8(data: bytes, label: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise UserError(
            f"{label}:{line}: not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})"
        ) from None


def gunzip_single(data: bytes, label: str, max_inflated: int | None = None) -> bytes:
    """Decompress one gzip member; refuse concatenated members like pprof does.

    Inflation stops at `max_inflated` bytes (default MAX_INFLATED), checked while inflating:
    a gzip bomb costs at most that much memory and time, not its full size.
    """
    try:
        out, rest = inflate_gzip(data, MAX_INFLATED if max_inflated is None else max_inflated)
    except InflateError as exc:
        raise UserError(f"{label}: {exc}") from None
    if rest:
        if rest[:2] == b"\x1f\x8b":
            raise UserError(
                f"{label}: concatenated profiles detected (several gzip members in one "
                "file); merge them with `go tool pprof -proto FILE... > merged.pb.gz`"
            )
        if rest.strip(b"\x00"):
            raise UserError(f"{label}: trailing garbage after the gzip stream")
    return out


def _looks_folded(data: bytes) -> bool:
    head = data[:4096]
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        # a multi-byte character cut at 4096 is fine
        try:
            text = head[:-4].decode("utf-8")
        except UnicodeDecodeError:
            return False
    lines = [ln for ln in text.splitlines()[:-1] or text.splitlines() if ln.strip()]
    if not lines:
        return False
    for ln in lines[:20]:
        if ln.startswith("#"):
            continue
        parts = ln.rstrip().rsplit(" ", 1)
        if len(parts) != 2 or not parts[0]:
            return False
        try:
            int(parts[1])
        except ValueError:
            return False
    return True


def _strings(table: list[str], idx: int, label: str, what: str) -> str:
    if idx < 0 or idx >= len(table):
        raise UserError(f"{label}: {what} refers to string {idx}, outside the string table")
    return table[idx]


def decode_proto(data: bytes, label: str) -> Profile:
    try:
        fp = schema.FastProfile.FromString(data)
    except DecodeError as exc:
        raise UserError(
            f"{label}: not a pprof profile (protobuf decode failed: {_why(exc)})"
        ) from None
    wide = overlong_varint(data)
    if wide is not None:
        raise UserError(
            f"{label}: corrupt protobuf (the number at byte {wide} does not fit in 64 bits)"
        )
    st = list(fp.string_table)
    if not st and not len(fp.sample_type) and not len(fp.sample):
        raise UserError(f"{label}: not a pprof profile (no string table, no sample types)")
    if st and st[0] != "":
        raise UserError(f"{label}: not a pprof profile (string_table[0] must be empty)")
    if not st:
        st = [""]

    def s(i: int, what: str) -> str:
        return _strings(st, i, label, what)

    sample_types = [(s(v.type, "sample_type"), s(v.unit, "sample_type")) for v in fp.sample_type]
    ntypes = len(sample_types)
    if ntypes == 0:
        raise UserError(f"{label}: profile has no sample types")
    default_index = ntypes - 1
    if fp.default_sample_type:
        dname = s(fp.default_sample_type, "default_sample_type")
        for i, (t, _u) in enumerate(sample_types):
            if t == dname:
                default_index = i
                break

    # mappings
    mapping_ids: list[int] = []
    mapping_file: list[str] = []
    mapping_build: list[str] = []
    for m in fp.mapping:
        if m.id == 0:
            raise UserError(f"{label}: mapping with reserved id 0")
        mapping_ids.append(m.id)
        mapping_file.append(s(m.filename, "mapping filename"))
        mapping_build.append(s(m.build_id, "mapping build_id"))

    fcols = _flat_functions(list(fp.function)) or _slow_functions(list(fp.function), label)
    f_id, f_name, f_sys, f_file, f_start = fcols
    for what, col in (
        ("function name", f_name),
        ("function system_name", f_sys),
        ("function filename", f_file),
    ):
        _check_strings(col, len(st), label, what)
    if f_id.shape[0] and bool((f_id == 0).any()):
        raise UserError(f"{label}: function with reserved id 0")
    f_order = np.argsort(f_id, kind="stable")
    f_sorted = f_id[f_order]
    if f_sorted.shape[0] > 1 and bool((f_sorted[1:] == f_sorted[:-1]).any()):
        dup = int(f_sorted[1:][f_sorted[1:] == f_sorted[:-1]][0])
        raise UserError(f"{label}: duplicate function id {dup}")
    func_name = [st[i] for i in f_name.tolist()]
    func_sys = [st[i] for i in f_sys.tolist()]
    func_file = [st[i] for i in f_file.tolist()]

    lcols = _flat_locations(list(fp.location)) or _slow_locations(list(fp.location), label)
    loc_id, loc_mapid, loc_address, line_start, line_fid, line_no_arr = lcols
    nloc = loc_id.shape[0]
    if nloc and bool((loc_id == 0).any()):
        raise UserError(f"{label}: location with reserved id 0")
    # mapping ids -> indices (0 = none)
    loc_mapping = np.full(nloc, -1, dtype=np.int32)
    has_map = loc_mapid != 0
    if bool(has_map.any()):
        m_ids = np.asarray(mapping_ids, dtype=np.uint64)
        m_order = np.argsort(m_ids)
        mpos = np.searchsorted(m_ids[m_order], loc_mapid[has_map])
        mpos_c = np.minimum(mpos, max(len(mapping_ids) - 1, 0))
        if not mapping_ids or bool((m_ids[m_order][mpos_c] != loc_mapid[has_map]).any()):
            bad = (
                loc_mapid[has_map][0]
                if not mapping_ids
                else loc_mapid[has_map][np.argmax(m_ids[m_order][mpos_c] != loc_mapid[has_map])]
            )
            raise UserError(f"{label}: a location refers to unknown mapping {int(bad)}")
        loc_mapping[has_map] = m_order[mpos_c].astype(np.int32)
    # function ids -> indices (0 = no function)
    line_func = np.full(line_fid.shape[0], -1, dtype=np.int32)
    has_f = line_fid != 0
    if bool(has_f.any()):
        fpos = np.searchsorted(f_sorted, line_fid[has_f])
        fpos_c = np.minimum(fpos, max(f_sorted.shape[0] - 1, 0))
        miss = (
            (fpos >= f_sorted.shape[0]) | (f_sorted[fpos_c] != line_fid[has_f])
            if f_sorted.shape[0]
            else np.ones(int(has_f.sum()), bool)
        )
        if bool(miss.any()):
            bad = int(line_fid[has_f][np.argmax(miss)])
            raise UserError(f"{label}: a location refers to unknown function {bad}")
        line_func[has_f] = f_order[fpos_c].astype(np.int32)
    line_no = line_no_arr
    order = np.argsort(loc_id, kind="stable")
    sorted_ids = loc_id[order]
    if nloc > 1 and bool((sorted_ids[1:] == sorted_ids[:-1]).any()):
        dup = int(sorted_ids[1:][sorted_ids[1:] == sorted_ids[:-1]][0])
        raise UserError(f"{label}: duplicate location id {dup}")

    # samples: the packed fast path groups samples by their stack bytes first
    packed = _decode_samples_layout(data, fp, ntypes, st, label)
    if packed is None:
        packed = _decode_samples_packed(fp, ntypes, st, label)
    if packed is not None:
        stack_of, flat_locs, sample_off, values, labelsets, labels_of, nsamples = packed
    else:
        flat_locs, sample_off, values, label_cols, nsamples = _decode_samples(fp, ntypes, label)
    dense = nloc > 0 and int(sorted_ids[-1]) < 4 * nloc + 64
    if flat_locs.shape[0] and dense:
        # small ids (Go numbers locations 1..N): a lookup table instead of a binary search
        table = np.full(int(sorted_ids[-1]) + 2, -1, dtype=np.int64)
        table[loc_id.astype(np.int64)] = np.arange(nloc, dtype=np.int64)
        clipped = np.minimum(flat_locs, np.uint64(table.shape[0] - 1)).astype(np.int64)
        hit = table[clipped]
        if bool((hit < 0).any()):
            missing = int(flat_locs[np.argmax(hit < 0)])
            raise UserError(f"{label}: a sample refers to unknown location id {missing}")
        loc_idx = hit.astype(np.int32)
    elif flat_locs.shape[0]:
        pos = np.searchsorted(sorted_ids, flat_locs)
        pos_c = np.minimum(pos, max(nloc - 1, 0))
        bad = (pos >= nloc) | (sorted_ids[pos_c] != flat_locs) if nloc else np.ones(1, bool)
        if bool(bad.any()):
            missing = int(flat_locs[np.argmax(bad)]) if nloc else int(flat_locs[0])
            raise UserError(f"{label}: a sample refers to unknown location id {missing}")
        loc_idx = order[pos_c].astype(np.int32)
    else:
        loc_idx = np.zeros(0, dtype=np.int32)

    if packed is not None:
        stack_start, stack_locs = sample_off, loc_idx
    else:
        stack_of, stack_start, stack_locs = intern_sequences(loc_idx, sample_off)
        labelsets, labels_of = _labelsets(label_cols, nsamples, st, label)
    check_depth(stack_start, stack_locs, line_start, label)
    check_sums(values, sample_types, label)
    row_stack, row_labels, vals, row_abs = aggregate_rows(
        stack_of, labels_of, len(labelsets), values
    )

    comments = [s(c, "comment") for c in fp.comment]
    period_type = None
    if fp.HasField("period_type"):
        period_type = (s(fp.period_type.type, "period_type"), s(fp.period_type.unit, "period_type"))
    return Profile(
        sample_types=sample_types,
        default_index=default_index,
        func_name=func_name,
        func_system_name=func_sys,
        func_file=func_file,
        func_start_line=f_start,
        mapping_file=mapping_file,
        mapping_build_id=mapping_build,
        loc_id=loc_id,
        loc_address=loc_address,
        loc_mapping=loc_mapping,
        loc_line_start=line_start,
        line_func=line_func,
        line_no=line_no,
        stack_start=stack_start,
        stack_locs=stack_locs,
        row_stack=row_stack,
        row_labels=row_labels,
        values=vals,
        labelsets=labelsets,
        row_abs=row_abs,
        period_type=period_type,
        period=int(fp.period),
        time_nanos=int(fp.time_nanos),
        duration_nanos=int(fp.duration_nanos),
        comments=comments,
        drop_frames=s(fp.drop_frames, "drop_frames"),
        keep_frames=s(fp.keep_frames, "keep_frames"),
        source=label,
        raw_sample_count=nsamples,
    )


def check_depth(
    stack_start: np.ndarray, stack_locs: np.ndarray, line_start: np.ndarray, label: str
) -> None:
    """Refuse stacks deeper than MAX_STACK_DEPTH frames (inlined frames counted): the call tree
    is built a level at a time, and a few deep stacks in a small hostile file would cost
    seconds; Go itself records at most 1024 frames per stack."""
    nlines = np.diff(line_start)
    longest = int(np.diff(stack_start).max()) if stack_start.shape[0] > 1 else 0
    if longest * (int(nlines.max()) if nlines.shape[0] else 1) <= MAX_STACK_DEPTH:
        return  # the usual case: no stack can be that deep, whatever its locations
    per = nlines[stack_locs]
    cs = np.zeros(per.shape[0] + 1, dtype=np.int64)
    np.cumsum(per, out=cs[1:])
    depth = cs[stack_start[1:]] - cs[stack_start[:-1]]
    deepest = int(depth.max()) if depth.shape[0] else 0
    if deepest > MAX_STACK_DEPTH:
        raise UserError(
            f"{label}: a stack of {deepest} frames, deeper than the {MAX_STACK_DEPTH} "
            "frames warroom reads (Go records at most 1024)"
        )


def check_sums(values: np.ndarray, sample_types: list[tuple[str, str]], label: str) -> None:
    """Refuse a sample type whose values add up past int64 (totals would wrap)."""
    if values.shape[0] == 0:
        return
    approx = np.abs(values.astype(np.float64)).sum(axis=0)
    for t in np.flatnonzero(approx >= 2.0**62).tolist():
        if sum(abs(v) for v in values[:, t].tolist()) > INT64_MAX:
            raise UserError(
                f"{label}: the values of sample type {sample_types[t][0]!r} add up past 64 bits"
            )


_PACK_MARK = b"\xff"  # a truncated varint: never a real packed location run
_PSEP = (
    b"\x0a\x01"
    + _PACK_MARK
    + b"\x10"
    + b"\x80" * 9
    + b"\x01"
    + b"\x1a\x0b\x08"
    + b"\x81"
    + b"\x80" * 8
    + b"\x01"
)
_LAB_MARK = b"\x08\x81" + b"\x80" * 8 + b"\x01"


_SENT_VARINT = b"\xff" * 9 + b"\x01"


def _interner() -> defaultdict[bytes, int]:
    """A dict that numbers new keys 0, 1, 2... in C: d[key] is the key's id."""
    d: defaultdict[bytes, int] = defaultdict()
    d.default_factory = d.__len__
    return d


def _decode_samples_packed(fp: object, ntypes: int, st: list[str], label: str):
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
    stack_ids = _interner()
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
                stack_id[i] = stack_ids[b"".join(_varint(x) for x in one)]
        if found != n_unpacked:
            return None  # ids both packed and unpacked in one sample: take the general path
    stack_of = stack_id - 1  # 0 = empty stack
    uniq = list(stack_ids)[1:]  # b"" first
    # decode the distinct stacks in one parse: each as a packed run followed by a sentinel id
    # packed runs are plain varint sequences: joined with a sentinel varint they form one run
    body = _SENT_VARINT.join(uniq) + _SENT_VARINT
    run = b"\x0a" + _varint(len(body)) + body
    try:
        flat = schema.FlatSample.FromString(run)
    except DecodeError as exc:
        raise UserError(f"{label}: corrupt sample location ids ({_why(exc)})") from None
    locs = np.array(flat.location_id, dtype=np.uint64)
    seps = np.flatnonzero(locs == _LOC_SENTINEL)
    if seps.shape[0] != len(uniq):
        return None
    counts = np.diff(np.concatenate(([-1], seps))) - 1
    off = np.zeros(len(uniq) + 1, dtype=np.int64)
    np.cumsum(counts, out=off[1:])
    keep = np.ones(locs.shape[0], dtype=bool)
    keep[seps] = False
    # -- values
    vals = np.array(ps.value, dtype=np.int64)
    val_sent = np.flatnonzero(vals == _VAL_SENTINEL)
    expect = np.arange(1, n + 1, dtype=np.int64) * (ntypes + 1) - 1
    if val_sent.shape[0] != n or not np.array_equal(val_sent, expect):
        return None
    vkeep = np.ones(vals.shape[0], dtype=bool)
    vkeep[val_sent] = False
    values = vals[vkeep].reshape(n, ntypes)
    # -- labels: intern each label record's bytes, then each sample's sequence of records
    lab_items = ps.label
    if len(lab_items) == n:  # only our markers: no sample has labels
        z = np.zeros(0, dtype=np.int64)
        empty = LabelSets(st, np.zeros(2, dtype=np.int64), z, z, z, z)
        return stack_of, locs[keep], off, values, empty, np.zeros(n, dtype=np.int32), n
    lab_ids = _interner()
    lab_ids[_LAB_MARK]  # id 0
    lids = np.fromiter(map(lab_ids.__getitem__, lab_items), dtype=np.int64, count=len(lab_items))
    lmarks = np.flatnonzero(lids == 0)
    if lmarks.shape[0] != n:
        return None
    got = _label_sequences(lids, lmarks, n)
    labelsets, labels_of = _labelsets_from_records(list(lab_ids)[1:], got, lids, lmarks, st, label)
    return stack_of, locs[keep], off, values, labelsets, labels_of, n


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
):
    """LabelSets for the distinct per-sample label sequences; set 0 is the empty set."""
    n = seq.shape[0]
    nst = len(st)
    cols = np.zeros((len(records) + 1, 4), dtype=np.int64)
    for i, b in enumerate(records, start=1):
        try:
            lb = schema.Label.FromString(b)
        except DecodeError as exc:
            raise UserError(f"{label}: corrupt sample label ({_why(exc)})") from None
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


def _decode_samples(
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
    joined = _SEP.join(blobs) + _SEP
    try:
        flat = schema.FlatSample.FromString(joined)
    except DecodeError as exc:
        raise UserError(f"{label}: corrupt sample in profile ({_why(exc)})") from None
    del joined
    locs = np.array(flat.location_id, dtype=np.uint64)
    vals = np.array(flat.value, dtype=np.int64)
    loc_sent = np.flatnonzero(locs == _LOC_SENTINEL)
    val_sent = np.flatnonzero(vals == _VAL_SENTINEL)
    ok = loc_sent.shape[0] == n and val_sent.shape[0] == n
    if ok:
        expect = np.arange(1, n + 1, dtype=np.int64) * (ntypes + 1) - 1
        ok = bool(np.array_equal(val_sent, expect))
    labels = _flat_labels(list(flat.label), n) if ok else None
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


def _field_values(arr: np.ndarray, nitems: int) -> np.ndarray | None:
    """Per item, the last value before each sentinel (0 when the field was absent)."""
    seps = np.flatnonzero(arr == _L_SENT)
    if seps.shape[0] != nitems:
        return None
    prev = np.concatenate(([-1], seps[:-1]))
    present = seps - 1 > prev
    out = np.zeros(nitems, dtype=np.int64)
    out[present] = arr[seps[present] - 1]
    return out


def _flat_labels(lab: list[bytes], n: int) -> tuple[np.ndarray, ...] | None:
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
        v = _field_values(np.array(arr, dtype=np.int64), m)
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
            raise UserError(f"{label}: corrupt sample {i} in profile ({_why(exc)})") from None
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


def _labelsets(
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


_U_MAX = 2**64 - 1
_I_MIN = -(2**63)


def _varint(v: int) -> bytes:
    v &= 2**64 - 1
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def _record(fields: list[tuple[int, int]]) -> bytes:
    return b"".join(_varint(num << 3) + _varint(v) for num, v in fields)


def _len_field(num: int, payload: bytes) -> bytes:
    return _varint((num << 3) | 2) + _varint(len(payload)) + payload


_FUNC_SEP = _record([(1, _U_MAX), (2, _I_MIN), (3, _I_MIN), (4, _I_MIN), (5, _I_MIN)])
_LINE_MARK = _record([(1, _U_MAX - 1)])
_LOC_SEP = _record([(1, _U_MAX), (2, _U_MAX), (3, _U_MAX)]) + _len_field(4, _LINE_MARK)
_LINE_SEP = _record([(1, _U_MAX), (2, _I_MIN), (3, _I_MIN)])


def _last_before(arr: np.ndarray, sentinel: int, nitems: int) -> np.ndarray | None:
    """Per item, the last value before its sentinel (0 when absent); None if misaligned."""
    seps = np.flatnonzero(arr == arr.dtype.type(sentinel))
    if seps.shape[0] != nitems:
        return None
    prev = np.concatenate(([-1], seps[:-1]))
    present = seps - 1 > prev
    out = np.zeros(nitems, dtype=arr.dtype)
    out[present] = arr[seps[present] - 1]
    return out


def _flat_functions(blobs: list[bytes]) -> tuple[np.ndarray, ...] | None:
    n = len(blobs)
    if n == 0:
        z = np.zeros(0, dtype=np.int64)
        return np.zeros(0, dtype=np.uint64), z, z, z, z
    try:
        ff = schema.FlatFunction.FromString(_FUNC_SEP.join(blobs) + _FUNC_SEP)
    except DecodeError:
        return None
    fid = _last_before(np.array(ff.id, dtype=np.uint64), _U_MAX, n)
    cols = [
        _last_before(np.array(c, dtype=np.int64), _I_MIN, n)
        for c in (ff.name, ff.system_name, ff.filename, ff.start_line)
    ]
    if fid is None:
        return None
    out = [fid]
    for c in cols:
        if c is None:
            return None
        out.append(c)
    return tuple(out)


def _slow_functions(blobs: list[bytes], label: str) -> tuple[np.ndarray, ...]:
    rows = []
    for b in blobs:
        try:
            f = schema.Function.FromString(b)
        except DecodeError as exc:
            raise UserError(f"{label}: corrupt function record ({_why(exc)})") from None
        rows.append((f.id, f.name, f.system_name, f.filename, f.start_line))
    cols = list(zip(*rows, strict=True)) if rows else [(), (), (), (), ()]
    return (
        np.asarray(cols[0], dtype=np.uint64),
        *(np.asarray(c, dtype=np.int64) for c in cols[1:]),
    )


def _loc_lines(
    nloc: int, counts: np.ndarray, fid: np.ndarray, lno: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CSR of line entries; a location without lines gets one (function -1) entry."""
    slots = np.maximum(counts, 1)
    start = np.zeros(nloc + 1, dtype=np.int64)
    np.cumsum(slots, out=start[1:])
    total = int(start[-1])
    out_f = np.zeros(total, dtype=np.uint64)
    out_l = np.zeros(total, dtype=np.int64)
    real_start = np.zeros(nloc + 1, dtype=np.int64)
    np.cumsum(counts, out=real_start[1:])
    owner = np.repeat(np.arange(nloc, dtype=np.int64), counts)
    dest = start[:-1][owner] + (np.arange(fid.shape[0], dtype=np.int64) - real_start[:-1][owner])
    out_f[dest] = fid
    out_l[dest] = lno
    return start, out_f, out_l


def _flat_locations(blobs: list[bytes]) -> tuple[np.ndarray, ...] | None:
    n = len(blobs)
    if n == 0:
        return (
            np.zeros(0, np.uint64),
            np.zeros(0, np.uint64),
            np.zeros(0, np.uint64),
            np.zeros(1, np.int64),
            np.zeros(0, np.uint64),
            np.zeros(0, np.int64),
        )
    try:
        fl = schema.FlatLocation.FromString(_LOC_SEP.join(blobs) + _LOC_SEP)
    except DecodeError:
        return None
    ids = _last_before(np.array(fl.id, dtype=np.uint64), _U_MAX, n)
    mids = _last_before(np.array(fl.mapping_id, dtype=np.uint64), _U_MAX, n)
    addr = _last_before(np.array(fl.address, dtype=np.uint64), _U_MAX, n)
    if ids is None or mids is None or addr is None:
        return None
    lines = list(fl.line)
    m = len(lines)
    try:
        fline = schema.FlatLine.FromString(_LINE_SEP.join(lines) + _LINE_SEP)
    except DecodeError:
        return None
    fid = _last_before(np.array(fline.function_id, dtype=np.uint64), _U_MAX, m)
    lno = _last_before(np.array(fline.line, dtype=np.int64), _I_MIN, m)
    if fid is None or lno is None:
        return None
    marks = np.flatnonzero(fid == np.uint64(_U_MAX - 1))
    if marks.shape[0] != n:
        return None
    counts = np.diff(np.concatenate(([-1], marks))) - 1
    real = fid != np.uint64(_U_MAX - 1)
    start, out_f, out_l = _loc_lines(n, counts, fid[real], lno[real])
    return ids, mids, addr, start, out_f, out_l


def _slow_locations(blobs: list[bytes], label: str) -> tuple[np.ndarray, ...]:
    ids, mids, addrs, counts, fids, lnos = [], [], [], [], [], []
    for b in blobs:
        try:
            loc = schema.Location.FromString(b)
        except DecodeError as exc:
            raise UserError(f"{label}: corrupt location record ({_why(exc)})") from None
        ids.append(loc.id)
        mids.append(loc.mapping_id)
        addrs.append(loc.address)
        counts.append(len(loc.line))
        for ln in loc.line:
            fids.append(ln.function_id)
            lnos.append(ln.line)
    n = len(ids)
    start, out_f, out_l = _loc_lines(
        n,
        np.asarray(counts, dtype=np.int64),
        np.asarray(fids, dtype=np.uint64),
        np.asarray(lnos, dtype=np.int64),
    )
    return (
        np.asarray(ids, dtype=np.uint64),
        np.asarray(mids, dtype=np.uint64),
        np.asarray(addrs, dtype=np.uint64),
        start,
        out_f,
        out_l,
    )


def _check_strings(col: np.ndarray, nst: int, label: str, what: str) -> None:
    if col.shape[0] and (int(col.min()) < 0 or int(col.max()) >= nst):
        bad = int(col[(col < 0) | (col >= nst)][0])
        raise UserError(f"{label}: {what} refers to string {bad}, outside the string table")


# ---- generic interning ---------------------------------------------------------------------

_P1 = np.uint64(0x9E3779B97F4A7C15)
_P2 = np.uint64(0xC2B2AE3D27D4EB4F)


def _powers(p: np.uint64, n: int) -> np.ndarray:
    out = np.empty(max(n, 1), dtype=np.uint64)
    out[0] = 1
    if n > 1:
        with np.errstate(over="ignore"):
            out[1:] = p
            out = np.cumprod(out, dtype=np.uint64)
    return out


def intern_sequences(
    flat: np.ndarray, off: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Give equal integer sequences equal ids, exactly.

    flat/off: CSR of n sequences. Returns (id of each sequence, CSR offsets of the unique
    sequences, their elements). Hash first (two 64-bit polynomial hashes plus the length), then
    verify every element against the group representative; a collision falls back to exact
    tuple interning.
    """
    n = off.shape[0] - 1
    if n == 0:
        return np.zeros(0, np.int32), np.zeros(1, np.int64), np.zeros(0, np.int32)
    lens = np.diff(off)
    total = int(off[-1])
    x = flat.astype(np.uint64) + np.uint64(1)
    within = np.arange(total, dtype=np.int64) - np.repeat(off[:-1], lens)
    maxlen = int(lens.max()) if n else 0
    with np.errstate(over="ignore"):
        t1 = x * _powers(_P1, maxlen)[within]
        t2 = (x ^ np.uint64(0x5BD1E995)) * _powers(_P2, maxlen)[within]
        c1 = np.zeros(total + 1, dtype=np.uint64)
        c2 = np.zeros(total + 1, dtype=np.uint64)
        np.cumsum(t1, out=c1[1:])
        np.cumsum(t2, out=c2[1:])
        h1 = c1[off[1:]] - c1[off[:-1]]
        h2 = c2[off[1:]] - c2[off[:-1]]
        h2 = h2 + lens.astype(np.uint64) * np.uint64(0x100000001B3)
    order = np.lexsort((h2, h1))
    sh1, sh2 = h1[order], h2[order]
    new = np.ones(n, dtype=bool)
    new[1:] = (sh1[1:] != sh1[:-1]) | (sh2[1:] != sh2[:-1])
    grp = np.cumsum(new) - 1
    reps_sorted = order[new]  # a representative per group (lowest original index not needed)
    group_of = np.empty(n, dtype=np.int64)
    group_of[order] = grp
    rep = reps_sorted[group_of]
    ok = bool(np.array_equal(lens, lens[rep]))
    if ok:
        idx_rep = np.repeat(off[rep], lens) + within
        ok = bool(np.array_equal(flat, flat[idx_rep]))
    if not ok:
        return _intern_sequences_exact(flat, off)
    # renumber groups in order of first appearance for stable, deterministic ids
    ngroups = reps_sorted.shape[0]
    first_seen = np.full(ngroups, n, dtype=np.int64)
    np.minimum.at(first_seen, group_of, np.arange(n, dtype=np.int64))
    g_order = np.argsort(first_seen, kind="stable")
    rank = np.empty(ngroups, dtype=np.int64)
    rank[g_order] = np.arange(ngroups)
    ids = rank[group_of].astype(np.int32)
    reps = first_seen[g_order]
    ulens = lens[reps]
    uoff = np.zeros(ngroups + 1, dtype=np.int64)
    np.cumsum(ulens, out=uoff[1:])
    uwithin = np.arange(int(uoff[-1]), dtype=np.int64) - np.repeat(uoff[:-1], ulens)
    uelems = flat[np.repeat(off[reps], ulens) + uwithin].astype(np.int32)
    return ids, uoff, uelems


def _intern_sequences_exact(
    flat: np.ndarray, off: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    seen: dict[tuple[int, ...], int] = {}
    lst = flat.tolist()
    offs = off.tolist()
    ids = np.empty(len(offs) - 1, dtype=np.int32)
    for i in range(len(offs) - 1):
        key = tuple(lst[offs[i] : offs[i + 1]])
        ids[i] = seen.setdefault(key, len(seen))
    uoff = np.zeros(len(seen) + 1, dtype=np.int64)
    elems: list[int] = []
    for j, key in enumerate(seen):
        elems.extend(key)
        uoff[j + 1] = len(elems)
    return ids, uoff, np.asarray(elems, dtype=np.int32)


def aggregate_rows(
    stack_of: np.ndarray, labels_of: np.ndarray, nlabelsets: int, values: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """Sum samples with the same (stack, labelset), as pprof's profile merge does."""
    n, t = values.shape
    if n == 0:
        return np.zeros(0, np.int32), np.zeros(0, np.int32), values, None
    key = stack_of.astype(np.int64) * max(nlabelsets, 1) + labels_of.astype(np.int64)
    ukey, inv = unique_inverse(key)
    inv = inv.reshape(-1)
    out = np.zeros((ukey.shape[0], t), dtype=np.int64)
    if float(np.abs(values).sum(dtype=np.float64)) < 2.0**52:
        # float64 sums are exact below 2**53: bincount is far faster than add.at
        for j in range(t):
            out[:, j] = np.bincount(inv, weights=values[:, j], minlength=ukey.shape[0])
    else:
        np.add.at(out, inv, values)
    row_abs = None  # pprof's total is sum |v| over merged samples: nothing to keep
    nl = max(nlabelsets, 1)
    return (ukey // nl).astype(np.int32), (ukey % nl).astype(np.int32), out, row_abs


# ---- samples in the usual layout, straight from the decompressed buffer ---------------------
#
# Go and protobuf writers put each sample as [packed location ids][values][label records...].
# In that layout the decoder needs no Python object per sample field: record positions follow
# from the sample lengths, the location run and the values are read with numpy, and whole
# stacks and whole label tails are grouped by their bytes (hashed 64-bit words, then verified).
# Only distinct label tails are parsed, by upb. Anything else takes the general paths.


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    """(value, next position); raises IndexError past the end."""
    v = 0
    shift = 0
    while True:
        b = data[pos]
        pos += 1
        v |= (b & 0x7F) << shift
        if b < 0x80 or shift > 63:
            return v, pos
        shift += 7


def _first_record(data: bytes, field: int) -> int | None:
    """Offset of the first top-level record of `field`; None when not found or not well formed.

    Only the few records before it (sample types) are walked in Python.
    """
    pos = 0
    try:
        for _ in range(10_000):
            if pos >= len(data):
                return None
            start = pos
            tag, pos = _read_varint(data, pos)
            if tag >> 3 == field:
                return start
            wt = tag & 7
            if wt == 0:
                _, pos = _read_varint(data, pos)
            elif wt == 1:
                pos += 8
            elif wt == 2:
                ln, pos = _read_varint(data, pos)
                pos += ln
            elif wt == 5:
                pos += 4
            else:
                return None
    except IndexError:
        return None
    return None


def _varints_at(
    buf: np.ndarray, pos: np.ndarray, limit: np.ndarray
) -> tuple[np.ndarray, np.ndarray] | None:
    """The varint starting at each position: (values, byte lengths); None when one runs past its
    limit or is longer than 10 bytes."""
    if bool((pos >= limit).any()):
        return None
    b = buf[pos]
    val = (b & 0x7F).astype(np.uint64)
    ln = np.ones(pos.shape[0], dtype=np.int64)
    more = np.flatnonzero(b >= 0x80)
    k = 1
    while more.shape[0]:
        if k == 10:
            return None
        p = pos[more] + k
        if bool((p >= limit[more]).any()):
            return None
        b = buf[p]
        if k == 9 and bool((b > 1).any()):
            return None
        val[more] |= (b & 0x7F).astype(np.uint64) << np.uint64(7 * k)
        ln[more] += 1
        more = more[b >= 0x80]
        k += 1
    return val, ln


def _fixed_runs(buf: np.ndarray, a: np.ndarray, ln: np.ndarray, count: int) -> np.ndarray | None:
    """Packed runs [a, a + ln) of exactly `count` varints each, as rows; None otherwise."""
    p = a.copy()
    end = a + ln
    out = np.empty((a.shape[0], count), dtype=np.uint64)
    for j in range(count):
        got = _varints_at(buf, p, end)
        if got is None:
            return None
        out[:, j] = got[0]
        p += got[1]
    return out if np.array_equal(p, end) else None


_H1 = np.uint64(0x9E3779B97F4A7C15)
_H2 = np.uint64(0xBF58476D1CE4E5B9)
_H3 = np.uint64(0x94D049BB133111EB)


def _span_words(view: np.ndarray, lo: np.ndarray, ln: np.ndarray) -> tuple[np.ndarray, ...]:
    """The 64-bit words covering spans [lo, lo + ln), bytes past a span cleared.

    Returns (words, index of each word within its span, word offsets per span).
    """
    nwords = (ln + 7) >> 3
    woff = np.zeros(lo.shape[0] + 1, dtype=np.int64)
    np.cumsum(nwords, out=woff[1:])
    j = np.arange(int(woff[-1]), dtype=np.int64) - np.repeat(woff[:-1], nwords)
    w = view[np.repeat(lo, nwords) + 8 * j]
    # only a span's last word can reach past it
    rem = ln & 7
    cut = np.flatnonzero(rem)
    if cut.shape[0]:
        w[woff[1:][cut] - 1] &= (np.uint64(1) << (8 * rem[cut]).astype(np.uint64)) - np.uint64(1)
    return w, j, woff


_CHUNK = 1 << 14


def _group_spans(data: bytes, lo: np.ndarray, hi: np.ndarray) -> np.ndarray | None:
    """Id per span [lo, hi) of `data`, equal ids for equal bytes, exactly: 0 for the empty span,
    then 1, 2... in order of first appearance (as a dict on the sliced bytes would give).

    Spans are read as little-endian 64-bit words through an unaligned strided view (no copy),
    hashed, grouped by one sort, then every word is checked against its group's first span.
    Chunks of spans keep the temporaries small (cache-sized, no fresh pages per pass).
    None when a word would run past the buffer or two different spans share a hash.
    """
    n = lo.shape[0]
    ln = hi - lo
    if n == 0 or len(data) < 8 or int((lo + 8 * ((ln + 7) >> 3)).max()) > len(data):
        return None
    view = np.ndarray(shape=(len(data) - 7,), dtype="<u8", buffer=data, offset=0, strides=(1,))
    h = np.empty(n, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for c in range(0, n, _CHUNK):
            w, j, woff = _span_words(view, lo[c : c + _CHUNK], ln[c : c + _CHUNK])
            x = j.astype(np.uint64)
            x *= _H1
            x ^= w
            x *= _H2
            x ^= x >> np.uint64(29)
            part = np.zeros(woff.shape[0] - 1, dtype=np.uint64)
            nz = woff[1:] > woff[:-1]
            part[nz] = np.add.reduceat(x, woff[:-1][nz])
            h[c : c + _CHUNK] = part
        h ^= ln.astype(np.uint64) * _H3
    keys, inv = unique_inverse(h.view(np.int64))
    g = keys.shape[0]
    first = np.empty(g, dtype=np.int64)
    first[inv[::-1]] = np.arange(n - 1, -1, -1)
    rep = first[inv]
    if not np.array_equal(ln, ln[rep]):
        return None
    # verify every span that is not its group's representative, word by word
    dup = np.flatnonzero(rep != np.arange(n))
    for c in range(0, dup.shape[0], _CHUNK):
        d = dup[c : c + _CHUNK]
        w1 = _span_words(view, lo[d], ln[d])[0]
        w2 = _span_words(view, lo[rep[d]], ln[d])[0]
        if not np.array_equal(w1, w2):
            return None
    # number groups by first appearance; the empty span (if any) is id 0, others from 1
    order = np.argsort(first, kind="stable")
    rank = np.empty(g, dtype=np.int64)
    rank[order] = np.arange(g)
    empty = np.flatnonzero(ln[first] == 0)
    if empty.shape[0]:
        e = int(rank[empty[0]])
        rank = np.where(rank < e, rank + 1, rank)
        rank[empty[0]] = 0
    else:
        rank += 1
    return rank[inv]


def _varint_len(v: np.ndarray) -> np.ndarray:
    """Encoded size of non-negative int64 values."""
    out = np.ones(v.shape[0], dtype=np.int64)
    for k in range(1, 10):
        out += v >= (1 << (7 * k))
    return out


def _decode_samples_layout(data: bytes, fp: object, ntypes: int, st: list[str], label: str):
    """Samples in the usual layout (see above); same result as `_decode_samples_packed`, or None
    to take that path."""
    blobs = fp.sample  # type: ignore[attr-defined]
    n = len(blobs)
    if n == 0:
        return None
    s0 = _first_record(data, 2)
    if s0 is None or data[s0] != 0x12:
        return None
    lens = np.fromiter(map(len, blobs), dtype=np.int64, count=n)
    hdr = 1 + _varint_len(lens)
    rec = hdr + lens
    starts = np.empty(n, dtype=np.int64)
    starts[0] = s0
    np.cumsum(rec[:-1], out=starts[1:])
    starts[1:] += s0
    end = int(starts[-1] + rec[-1])
    if end > len(data) or not bool((lens > 0).all()):
        return None
    buf = np.frombuffer(data, dtype=np.uint8)
    # the samples must be one run of top-level records, each as long as upb found it
    if not bool((buf[starts] == 0x12).all()):
        return None
    got = _varints_at(buf, starts + 1, np.full(n, end, dtype=np.int64))
    if got is None or not np.array_equal(got[0].view(np.int64), lens):
        return None
    if not np.array_equal(got[1], hdr - 1):
        return None
    ps = starts + hdr
    pe = starts + rec
    # [0x0a len ids] when the stack is not empty
    st_lo = ps.copy()
    st_hi = ps.copy()
    first = buf[ps]
    sidx = np.flatnonzero(first == 0x0A)
    if sidx.shape[0]:
        got = _varints_at(buf, ps[sidx] + 1, pe[sidx])
        if got is None or bool((got[0] > np.uint64(2**40)).any()):
            return None
        st_lo[sidx] = ps[sidx] + 1 + got[1]
        st_hi[sidx] = st_lo[sidx] + got[0].astype(np.int64)
        if bool((st_hi > pe).any()):
            return None
    nxt = st_hi
    if not bool((nxt < pe).all()):
        return None
    vt = buf[nxt]
    values = np.empty((n, ntypes), dtype=np.int64)
    if bool((vt == 0x12).all()):
        got = _varints_at(buf, nxt + 1, pe)
        if got is None or bool((got[0] > np.uint64(2**40)).any()):
            return None
        va = nxt + 1 + got[1]
        vln = got[0].astype(np.int64)
        tail = va + vln
        if bool((tail > pe).any()):
            return None
        rows = _fixed_runs(buf, va, vln, ntypes) if ntypes <= 16 else None
        if rows is None:
            return None
        values[:] = rows.view(np.int64)
    elif bool((vt == 0x10).all()):
        p = nxt
        for j in range(ntypes):
            if bool((p >= pe).any()) or bool((buf[np.minimum(p, end - 1)] != 0x10).any()):
                return None
            got = _varints_at(buf, p + 1, pe)
            if got is None:
                return None
            values[:, j] = got[0].view(np.int64)
            p = p + 1 + got[1]
        tail = p
    else:
        return None
    # -- stacks: group by the bytes of the packed run (empty stack = 0, then first appearance)
    stack_of = _group_spans(data, st_lo, st_hi)
    if stack_of is None:
        keys = list(map(data.__getitem__, map(slice, st_lo.tolist(), st_hi.tolist())))
        sids = _interner()
        sids[b""]
        stack_of = np.fromiter(map(sids.__getitem__, keys), dtype=np.int64, count=n)
        del keys
    nstacks = int(stack_of.max()) + 1
    rep = np.full(nstacks, -1, dtype=np.int64)
    rep[stack_of[::-1]] = np.arange(n - 1, -1, -1)
    reps = rep[1:]
    uniq = [b"", *map(data.__getitem__, map(slice, st_lo[reps].tolist(), st_hi[reps].tolist()))]
    body = _SENT_VARINT.join(uniq) + _SENT_VARINT
    run = b"\x0a" + _varint(len(body)) + body
    try:
        flat = schema.FlatSample.FromString(run)
    except DecodeError:
        return None
    locs = np.array(flat.location_id, dtype=np.uint64)
    seps = np.flatnonzero(locs == _LOC_SENTINEL)
    if seps.shape[0] != len(uniq):
        return None
    counts = np.diff(np.concatenate(([-1], seps))) - 1
    off = np.zeros(len(uniq) + 1, dtype=np.int64)
    np.cumsum(counts, out=off[1:])
    keep = np.ones(locs.shape[0], dtype=bool)
    keep[seps] = False
    # -- labels: the rest of each sample, grouped by its bytes; distinct tails parsed by upb
    # (which also proves they hold nothing but labels)
    labels_of = _group_spans(data, tail, pe)
    if labels_of is None:
        keys = list(map(data.__getitem__, map(slice, tail.tolist(), pe.tolist())))
        lids = _interner()
        lids[b""]
        labels_of = np.fromiter(map(lids.__getitem__, keys), dtype=np.int64, count=n)
        del keys
    nsets = int(labels_of.max()) + 1
    lrep = np.full(nsets, -1, dtype=np.int64)
    lrep[labels_of[::-1]] = np.arange(n - 1, -1, -1)
    lreps = lrep[1:]
    nd = lreps.shape[0]
    if nd:
        tails = list(map(data.__getitem__, map(slice, tail[lreps].tolist(), pe[lreps].tolist())))
        try:
            tf = schema.FlatSample.FromString(_SEP.join(tails) + _SEP)
        except DecodeError:
            return None
        tl = np.array(tf.location_id, dtype=np.uint64)
        tv = np.array(tf.value, dtype=np.int64)
        if tl.shape[0] != nd or tv.shape[0] != nd:
            return None  # a tail holds location ids or values: not the usual layout
        if not bool((tl == _LOC_SENTINEL).all()) or not bool((tv == _VAL_SENTINEL).all()):
            return None
        cols = _flat_labels(list(tf.label), nd)
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
    sets = LabelSets(st, start, key, sval, num, unit)
    return stack_of, locs[keep], off, values, sets, labels_of.astype(np.int32), n
