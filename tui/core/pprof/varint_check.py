"""Find protobuf varints that carry more than 64 bits in a profile.

A varint's tenth byte may only be 0 or 1; upb and Go's pprof both drop the bits beyond 64
silently, so a corrupt or hostile file would read as some other number. warroom refuses it.

The search is cheap on honest files: one vectorised pass finds every place that could end
such a varint (nine bytes with the high bit set, then a byte of 2..127). Text can look like
that too (UTF-8 of CJK names), so only then are the fields walked, descending only into
records that hold a candidate, and only varints are judged (strings and bytes are skipped).
"""

from __future__ import annotations

from bisect import bisect_left

import numpy as np
from google.protobuf import descriptor_pb2

from tui.core.pprof.schema import _MESSAGES

_F = descriptor_pb2.FieldDescriptorProto
_VARINT_TYPES = {_F.TYPE_INT64, _F.TYPE_UINT64, _F.TYPE_BOOL}
_U64 = 2**64

# message name -> {field number: ("msg", sub-message) | ("packed", None)}
_SPEC: dict[str, dict[int, tuple[str, str | None]]] = {
    name: {
        number: ("msg", sub) if ftype == _F.TYPE_MESSAGE else ("packed", None)
        for _f, number, ftype, _label, sub in fields
        if ftype == _F.TYPE_MESSAGE or ftype in _VARINT_TYPES
    }
    for name, fields in _MESSAGES.items()
}


def candidates(data: bytes) -> list[int]:
    """Offsets of bytes that could end a varint of more than 64 bits (a superset)."""
    if len(data) < 10:
        return []
    b = np.frombuffer(data, dtype=np.uint8)
    high = b >= 0x80
    t = np.flatnonzero((b[9:] >= 2) & (b[9:] < 0x80) & high[8:-1]) + 9
    for k in range(2, 10):
        if not t.shape[0]:
            break
        t = t[high[t - k]]
    return t.tolist()


def overlong_varint(data: bytes, message: str = "Profile") -> int | None:
    """Offset of the first varint in `data` (a `message` that upb parsed) that carries more
    than 64 bits, or None."""
    cands = candidates(data)
    if not cands:
        return None
    try:
        return _walk(data, 0, len(data), message, cands)
    except IndexError:  # not well formed: upb would have refused it, nothing to add
        return None


def _read(data: bytes, pos: int, end: int) -> tuple[int, int]:
    """(value, next position); value -1 when it carries more than 64 bits."""
    v = shift = 0
    while True:
        if pos >= end or shift > 63:
            raise IndexError(pos)
        b = data[pos]
        pos += 1
        v |= (b & 0x7F) << shift
        if b < 0x80:
            return (v if v < _U64 else -1), pos
        shift += 7


def _walk(data: bytes, lo: int, hi: int, message: str, cands: list[int]) -> int | None:
    spec = _SPEC.get(message, {})
    pos = lo
    while pos < hi:
        start = pos
        key, pos = _read(data, pos, hi)
        if key < 0:
            return start
        wire = key & 7
        if wire == 0:
            start = pos
            v, pos = _read(data, pos, hi)
            if v < 0:
                return start
        elif wire == 1:
            pos += 8
        elif wire == 5:
            pos += 4
        elif wire == 2:
            start = pos
            ln, pos = _read(data, pos, hi)
            if ln < 0:
                return start
            a, b = pos, pos + ln
            pos = b
            i = bisect_left(cands, a)
            if i == len(cands) or cands[i] >= b:
                continue  # nothing suspicious inside
            kind, sub = spec.get(key >> 3, ("skip", None))
            found = None
            if kind == "msg" and sub is not None:
                found = _walk(data, a, b, sub, cands)
            elif kind == "packed":
                p = a
                while p < b:
                    q = p
                    v, p = _read(data, p, b)
                    if v < 0:
                        found = q
                        break
            if found is not None:
                return found
        else:
            raise IndexError(pos)
    return None
