"""profile.proto bytes -> the columnar `Profile` (model.py); reading files is load.py's.

Schema: built at runtime from a descriptor (schema.py), parsed by the protobuf upb runtime.
Where each part lives:
- this module: the header (sample types, mappings), ids resolved to indices, the checks
  that tie the records together (dangling or duplicate ids, string indices), assembly;
- records.py: function and location records as columns;
- layout.py, then samples.py: samples as arrays, never one Python object each
  (`read_samples` says which path read them);
- arrays.py: exact interning of stacks and merging of samples into rows;
- limits.py: depth and sum bounds; wire.py: varints, sentinels, upb's error text.
Pruning (drop_frames) is the loader's, after decoding.

Errors a user can fix (not a profile, dangling ids, strings outside the table, numbers beyond
64 bits, value sums past int64, stacks deeper than MAX_STACK_DEPTH) raise UserError naming
the file.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
from google.protobuf.message import DecodeError

from tui.core.pprof import records, schema
from tui.core.pprof.arrays import aggregate_rows, intern_sequences
from tui.core.pprof.layout import decode_samples_layout
from tui.core.pprof.limits import check_depth, check_sums
from tui.core.pprof.model import LabelSets, Profile
from tui.core.pprof.samples import decode_samples, decode_samples_packed, labelsets
from tui.core.pprof.varint_check import overlong_varint
from tui.core.pprof.wire import why
from tui.errors import UserError


class Samples(NamedTuple):
    """Samples as arrays: stack id and labelset id per sample, the distinct stacks (location
    ids, CSR offsets), values [n, T]; `path` names the decoder that read them."""

    path: str  # "layout", "packed" or "general"
    stack_of: np.ndarray | None  # None: stacks not interned yet (the general path)
    locs: np.ndarray
    off: np.ndarray
    values: np.ndarray
    labelsets: LabelSets | None
    labels_of: np.ndarray | None
    label_cols: tuple[np.ndarray, ...] | None
    n: int


def read_samples(fp: Any, ntypes: int, st: list[str], label: str) -> Samples:
    """The samples of a parsed FastProfile, by the fastest path that can vouch for them."""
    for path, fn in (("layout", decode_samples_layout), ("packed", decode_samples_packed)):
        got = fn(fp, ntypes, st, label)
        if got is not None:
            stack_of, locs, off, values, sets, labels_of, n = got
            return Samples(path, stack_of, locs, off, values, sets, labels_of, None, n)
    locs, off, values, cols, n = decode_samples(fp, ntypes, label)
    return Samples("general", None, locs, off, values, None, None, cols, n)


def _strings(table: list[str], idx: int, label: str, what: str) -> str:
    if idx < 0 or idx >= len(table):
        raise UserError(f"{label}: {what} refers to string {idx}, outside the string table")
    return table[idx]


def _check_strings(col: np.ndarray, nst: int, label: str, what: str) -> None:
    if col.shape[0] and (int(col.min()) < 0 or int(col.max()) >= nst):
        bad = int(col[(col < 0) | (col >= nst)][0])
        raise UserError(f"{label}: {what} refers to string {bad}, outside the string table")


def _parse(data: bytes, label: str) -> tuple[Any, list[str]]:
    """The FastProfile message and its string table, checked."""
    try:
        fp = schema.FastProfile.FromString(data)
    except DecodeError as exc:
        raise UserError(
            f"{label}: not a pprof profile (protobuf decode failed: {why(exc)})"
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
    return fp, st or [""]


def _sample_types(fp: Any, st: list[str], label: str) -> tuple[list[tuple[str, str]], int]:
    """(type, unit) of each sample type and the default one's index (pprof: the last unless
    default_sample_type names another)."""
    types = [
        (_strings(st, v.type, label, "sample_type"), _strings(st, v.unit, label, "sample_type"))
        for v in fp.sample_type
    ]
    if not types:
        raise UserError(f"{label}: profile has no sample types")
    if fp.default_sample_type:
        dname = _strings(st, fp.default_sample_type, label, "default_sample_type")
        for i, (t, _u) in enumerate(types):
            if t == dname:
                return types, i
    return types, len(types) - 1


def _duplicate(sorted_ids: np.ndarray) -> int | None:
    same = sorted_ids[1:] == sorted_ids[:-1]
    return int(sorted_ids[1:][same][0]) if sorted_ids.shape[0] > 1 and bool(same.any()) else None


def _index_of(
    sorted_ids: np.ndarray, order: np.ndarray, ids: np.ndarray, label: str, what: str
) -> np.ndarray:
    """Indices (into the unsorted records) of the non-zero `ids`, -1 for id 0; UserError
    naming the first id no record has."""
    out = np.full(ids.shape[0], -1, dtype=np.int32)
    has = ids != 0
    if not bool(has.any()):
        return out
    pos = np.searchsorted(sorted_ids, ids[has])
    pos_c = np.minimum(pos, max(sorted_ids.shape[0] - 1, 0))
    if sorted_ids.shape[0]:
        miss = (pos >= sorted_ids.shape[0]) | (sorted_ids[pos_c] != ids[has])
    else:
        miss = np.ones(int(has.sum()), bool)
    if bool(miss.any()):
        raise UserError(
            f"{label}: a location refers to unknown {what} {int(ids[has][np.argmax(miss)])}"
        )
    out[has] = order[pos_c].astype(np.int32)
    return out


def _functions(fp: Any, st: list[str], label: str) -> dict[str, Any]:
    f_id, f_name, f_sys, f_file, f_start = records.functions(list(fp.function), label)
    for what, col in (
        ("function name", f_name),
        ("function system_name", f_sys),
        ("function filename", f_file),
    ):
        _check_strings(col, len(st), label, what)
    if f_id.shape[0] and bool((f_id == 0).any()):
        raise UserError(f"{label}: function with reserved id 0")
    order = np.argsort(f_id, kind="stable")
    dup = _duplicate(f_id[order])
    if dup is not None:
        raise UserError(f"{label}: duplicate function id {dup}")
    return {
        "order": order,
        "sorted": f_id[order],
        "func_name": [st[i] for i in f_name.tolist()],
        "func_system_name": [st[i] for i in f_sys.tolist()],
        "func_file": [st[i] for i in f_file.tolist()],
        "func_start_line": f_start,
    }


def _mappings(fp: Any, st: list[str], label: str) -> tuple[np.ndarray, list[str], list[str]]:
    ids: list[int] = []
    files: list[str] = []
    builds: list[str] = []
    for m in fp.mapping:
        if m.id == 0:
            raise UserError(f"{label}: mapping with reserved id 0")
        ids.append(m.id)
        files.append(_strings(st, m.filename, label, "mapping filename"))
        builds.append(_strings(st, m.build_id, label, "mapping build_id"))
    return np.asarray(ids, dtype=np.uint64), files, builds


def _locations(
    fp: Any, funcs: dict[str, Any], mapping_ids: np.ndarray, label: str
) -> tuple[dict[str, Any], np.ndarray]:
    loc_id, loc_mapid, loc_address, line_start, line_fid, line_no = records.locations(
        list(fp.location), label
    )
    if loc_id.shape[0] and bool((loc_id == 0).any()):
        raise UserError(f"{label}: location with reserved id 0")
    m_order = np.argsort(mapping_ids)
    loc_mapping = _index_of(mapping_ids[m_order], m_order, loc_mapid, label, "mapping")
    line_func = _index_of(funcs["sorted"], funcs["order"], line_fid, label, "function")
    order = np.argsort(loc_id, kind="stable")
    dup = _duplicate(loc_id[order])
    if dup is not None:
        raise UserError(f"{label}: duplicate location id {dup}")
    return {
        "loc_id": loc_id,
        "loc_address": loc_address,
        "loc_mapping": loc_mapping,
        "loc_line_start": line_start,
        "line_func": line_func,
        "line_no": line_no,
    }, order


def _location_index(
    loc_id: np.ndarray, order: np.ndarray, flat_locs: np.ndarray, label: str
) -> np.ndarray:
    """Location indices of sample location ids; UserError naming an id no location has."""
    nloc = loc_id.shape[0]
    if not flat_locs.shape[0]:
        return np.zeros(0, dtype=np.int32)
    sorted_ids = loc_id[order]
    if nloc > 0 and int(sorted_ids[-1]) < 4 * nloc + 64:
        # small ids (Go numbers locations 1..N): a lookup table instead of a binary search
        table = np.full(int(sorted_ids[-1]) + 2, -1, dtype=np.int64)
        table[loc_id.astype(np.int64)] = np.arange(nloc, dtype=np.int64)
        clipped = np.minimum(flat_locs, np.uint64(table.shape[0] - 1)).astype(np.int64)
        hit = table[clipped]
        if bool((hit < 0).any()):
            missing = int(flat_locs[np.argmax(hit < 0)])
            raise UserError(f"{label}: a sample refers to unknown location id {missing}")
        return hit.astype(np.int32)
    pos = np.searchsorted(sorted_ids, flat_locs)
    pos_c = np.minimum(pos, max(nloc - 1, 0))
    bad = (pos >= nloc) | (sorted_ids[pos_c] != flat_locs) if nloc else np.ones(1, bool)
    if bool(bad.any()):
        missing = int(flat_locs[np.argmax(bad)]) if nloc else int(flat_locs[0])
        raise UserError(f"{label}: a sample refers to unknown location id {missing}")
    return order[pos_c].astype(np.int32)


def decode_proto(data: bytes, label: str) -> Profile:
    """The profile in uncompressed profile.proto bytes; `label` names it in errors."""
    fp, st = _parse(data, label)
    sample_types, default_index = _sample_types(fp, st, label)
    mapping_ids, mapping_file, mapping_build = _mappings(fp, st, label)
    funcs = _functions(fp, st, label)
    locs, order = _locations(fp, funcs, mapping_ids, label)
    smp = read_samples(fp, len(sample_types), st, label)
    loc_idx = _location_index(locs["loc_id"], order, smp.locs, label)
    if smp.stack_of is not None and smp.labelsets is not None and smp.labels_of is not None:
        stack_of, stack_start, stack_locs = smp.stack_of, smp.off, loc_idx
        sets, labels_of = smp.labelsets, smp.labels_of
    else:
        assert smp.label_cols is not None
        stack_of, stack_start, stack_locs = intern_sequences(loc_idx, smp.off)
        sets, labels_of = labelsets(smp.label_cols, smp.n, st, label)
    check_depth(stack_start, stack_locs, locs["loc_line_start"], label)
    check_sums(smp.values, sample_types, label)
    row_stack, row_labels, vals, row_abs = aggregate_rows(
        stack_of, labels_of, len(sets), smp.values
    )
    period_type = None
    if fp.HasField("period_type"):
        pt = fp.period_type
        period_type = (
            _strings(st, pt.type, label, "period_type"),
            _strings(st, pt.unit, label, "period_type"),
        )
    del funcs["order"], funcs["sorted"]
    return Profile(
        sample_types=sample_types,
        default_index=default_index,
        mapping_file=mapping_file,
        mapping_build_id=mapping_build,
        stack_start=stack_start,
        stack_locs=stack_locs,
        row_stack=row_stack,
        row_labels=row_labels,
        values=vals,
        labelsets=sets,
        row_abs=row_abs,
        period_type=period_type,
        period=int(fp.period),
        time_nanos=int(fp.time_nanos),
        duration_nanos=int(fp.duration_nanos),
        comments=[_strings(st, c, label, "comment") for c in fp.comment],
        drop_frames=_strings(st, fp.drop_frames, label, "drop_frames"),
        keep_frames=_strings(st, fp.keep_frames, label, "keep_frames"),
        source=label,
        raw_sample_count=smp.n,
        **funcs,
        **locs,
    )
