"""Function and location records of profile.proto as columns (numpy arrays), for decode.py.

All records of a kind are joined with a sentinel record and parsed in one go (schema's
FlatFunction / FlatLocation / FlatLine have every field repeated); each record's value of a
field is the last one before its sentinel, as protobuf merges a repeated scalar. A record the
joined parse cannot vouch for sends the whole kind through the one-message-per-record path.
"""

from __future__ import annotations

import numpy as np
from google.protobuf.message import DecodeError

from tui.core.pprof import schema
from tui.core.pprof.arrays import last_before
from tui.core.pprof.wire import I_MIN, U_MAX, len_field, record, why
from tui.errors import UserError

_FUNC_SEP = record([(1, U_MAX), (2, I_MIN), (3, I_MIN), (4, I_MIN), (5, I_MIN)])
_LINE_MARK = record([(1, U_MAX - 1)])
_LOC_SEP = record([(1, U_MAX), (2, U_MAX), (3, U_MAX)]) + len_field(4, _LINE_MARK)
_LINE_SEP = record([(1, U_MAX), (2, I_MIN), (3, I_MIN)])


def functions(blobs: list[bytes], label: str) -> tuple[np.ndarray, ...]:
    """(id, name, system_name, filename, start_line) of every function record."""
    return _flat_functions(blobs) or _slow_functions(blobs, label)


def locations(blobs: list[bytes], label: str) -> tuple[np.ndarray, ...]:
    """(id, mapping_id, address, line offsets [n + 1], line function ids, line numbers) of
    every location record; a location without lines gets one entry of function 0."""
    return _flat_locations(blobs) or _slow_locations(blobs, label)


def _flat_functions(blobs: list[bytes]) -> tuple[np.ndarray, ...] | None:
    n = len(blobs)
    if n == 0:
        z = np.zeros(0, dtype=np.int64)
        return np.zeros(0, dtype=np.uint64), z, z, z, z
    try:
        ff = schema.FlatFunction.FromString(_FUNC_SEP.join(blobs) + _FUNC_SEP)
    except DecodeError:
        return None
    fid = last_before(np.array(ff.id, dtype=np.uint64), U_MAX, n)
    cols = [
        last_before(np.array(c, dtype=np.int64), I_MIN, n)
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
            raise UserError(f"{label}: corrupt function record ({why(exc)})") from None
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
    ids = last_before(np.array(fl.id, dtype=np.uint64), U_MAX, n)
    mids = last_before(np.array(fl.mapping_id, dtype=np.uint64), U_MAX, n)
    addr = last_before(np.array(fl.address, dtype=np.uint64), U_MAX, n)
    if ids is None or mids is None or addr is None:
        return None
    lines = list(fl.line)
    m = len(lines)
    try:
        fline = schema.FlatLine.FromString(_LINE_SEP.join(lines) + _LINE_SEP)
    except DecodeError:
        return None
    fid = last_before(np.array(fline.function_id, dtype=np.uint64), U_MAX, m)
    lno = last_before(np.array(fline.line, dtype=np.int64), I_MIN, m)
    if fid is None or lno is None:
        return None
    marks = np.flatnonzero(fid == np.uint64(U_MAX - 1))
    if marks.shape[0] != n:
        return None
    counts = np.diff(np.concatenate(([-1], marks))) - 1
    real = fid != np.uint64(U_MAX - 1)
    start, out_f, out_l = _loc_lines(n, counts, fid[real], lno[real])
    return ids, mids, addr, start, out_f, out_l


def _slow_locations(blobs: list[bytes], label: str) -> tuple[np.ndarray, ...]:
    ids, mids, addrs, counts, fids, lnos = [], [], [], [], [], []
    for b in blobs:
        try:
            loc = schema.Location.FromString(b)
        except DecodeError as exc:
            raise UserError(f"{label}: corrupt location record ({why(exc)})") from None
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
