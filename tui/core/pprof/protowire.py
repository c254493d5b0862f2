"""A strict pure-Python reader of profile.proto for small files: no numpy, no protobuf runtime.

Why: `warroom profile SMALL --top` spent most of its time importing numpy and upb, not
decoding (issue 16). This reader is the first half of the quick path (quicktop.py); it
raises `Decline` on anything whose reading by decode.py it cannot vouch for, so that the full
engine reads it and gives its own answer or error: a field number or wire type
profile.proto does not have, a varint past 64 bits or past its message, a length past its
message, a string that is not UTF-8, a repeated period_type. Ids, string indices and values
are checked by quicktop.py. Singular fields keep their last value, and repeated numbers may
be packed or not, as protobuf (and so decode.py) reads them.
"""

from __future__ import annotations

from typing import NamedTuple

_U64 = 1 << 64
_SIGN = 1 << 63


class Decline(Exception):
    """The quick path cannot vouch for this input: the full engine must read it."""


class Location(NamedTuple):
    id: int
    mapping_id: int
    address: int
    lines: list[tuple[int, int]]  # (function id, line number), innermost first


class Sample(NamedTuple):
    locs: list[int]  # location ids, leaf first
    values: list[int]
    labels: list[tuple[int, int, int, int]]  # (key, str, num, num_unit)


class RawProfile:
    """profile.proto's fields as read, string indices unresolved (quicktop.py checks them)."""

    __slots__ = (
        "comments",
        "default_sample_type",
        "drop_frames",
        "functions",
        "keep_frames",
        "locations",
        "mappings",
        "period_type",
        "sample_types",
        "samples",
        "strings",
    )

    def __init__(self) -> None:
        self.sample_types: list[tuple[int, int]] = []
        self.samples: list[Sample] = []
        self.mappings: list[tuple[int, int, int]] = []  # (id, filename, build_id)
        self.locations: list[Location] = []
        self.functions: list[tuple[int, int, int, int]] = []  # (id, name, system, file)
        self.strings: list[str] = []
        self.drop_frames = 0
        self.keep_frames = 0
        self.period_type: tuple[int, int] | None = None
        self.comments: list[int] = []
        self.default_sample_type = 0


def _varint(buf: bytes, pos: int, end: int) -> tuple[int, int]:
    """(value, next position); Decline past `end` or past 64 bits (decode.py refuses those)."""
    if pos < end:
        b = buf[pos]
        if b < 0x80:
            return b, pos + 1
    result = shift = 0
    while pos < end:
        b = buf[pos]
        pos += 1
        if shift == 63:
            if b > 1:
                raise Decline
            return result | (b << 63), pos
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, pos
        shift += 7
    raise Decline


def _fields(buf: bytes, pos: int, end: int) -> list[tuple[int, int, int, int]]:
    """(field number, wire type, value or payload start, payload end) of a message's fields;
    only varint and length-delimited fields exist in profile.proto."""
    out = []
    while pos < end:
        key, pos = _varint(buf, pos, end)
        wire = key & 7
        if wire == 0:
            v, pos = _varint(buf, pos, end)
            out.append((key >> 3, 0, v, 0))
        elif wire == 2:
            n, pos = _varint(buf, pos, end)
            if n > end - pos:
                raise Decline
            out.append((key >> 3, 2, pos, pos + n))
            pos += n
        else:
            raise Decline
    return out


def _repeated(buf: bytes, wire: int, a: int, b: int, out: list[int]) -> None:
    """One element (wire type 0) or a packed run (2) of a repeated number, as unsigned."""
    if wire == 0:
        out.append(a)
        return
    chunk = buf[a:b]
    if chunk and max(chunk) < 0x80:
        out.extend(chunk)  # every number below 128: one byte each
        return
    append = out.append
    while a < b:  # _varint inlined: a packed run is most of a CPU profile's bytes
        x = buf[a]
        a += 1
        if x < 0x80:
            append(x)
            continue
        v = x & 0x7F
        shift = 7
        while True:
            if a >= b:
                raise Decline
            x = buf[a]
            a += 1
            if shift == 63:
                if x > 1:
                    raise Decline
                v |= x << 63
                break
            v |= (x & 0x7F) << shift
            if x < 0x80:
                break
            shift += 7
        append(v)


def _signed(v: int) -> int:
    return v - _U64 if v & _SIGN else v


def _scalars(buf: bytes, a: int, b: int, nfields: int) -> list[int]:
    """A message of singular varint fields 1..nfields (the last value of each wins)."""
    vals = [0] * (nfields + 1)
    for num, wire, v, _ in _fields(buf, a, b):
        if wire != 0 or not 0 < num <= nfields:
            raise Decline
        vals[num] = v
    return vals


def _sample(buf: bytes, a: int, b: int) -> Sample:
    locs: list[int] = []
    values: list[int] = []
    labels: list[tuple[int, int, int, int]] = []
    for num, wire, x, y in _fields(buf, a, b):
        if num == 1:
            _repeated(buf, wire, x, y, locs)
        elif num == 2:
            _repeated(buf, wire, x, y, values)
        elif num == 3 and wire == 2:
            lab = _scalars(buf, x, y, 4)
            labels.append((_signed(lab[1]), _signed(lab[2]), _signed(lab[3]), _signed(lab[4])))
        else:
            raise Decline
    return Sample(locs, [_signed(v) for v in values], labels)


def _location(buf: bytes, a: int, b: int) -> Location:
    vals = [0, 0, 0, 0]
    lines: list[tuple[int, int]] = []
    for num, wire, x, y in _fields(buf, a, b):
        if num == 4 and wire == 2:
            ln = _scalars(buf, x, y, 3)
            lines.append((ln[1], _signed(ln[2])))
        elif wire == 0 and (num <= 3 or num == 5) and num > 0:
            if num <= 3:
                vals[num] = x  # id, mapping_id, address; 5 (is_folded) is not used
        else:
            raise Decline
    return Location(vals[1], vals[2], vals[3], lines)


def _string(buf: bytes, a: int, b: int) -> str:
    try:
        return buf[a:b].decode("utf-8")
    except UnicodeDecodeError:
        raise Decline from None


_SCALAR_FIELDS = {7: "drop_frames", 8: "keep_frames", 14: "default_sample_type"}


def read_profile(buf: bytes) -> RawProfile:
    """The fields of profile.proto bytes (uncompressed); Decline where unsure."""
    p = RawProfile()
    for num, wire, x, y in _fields(buf, 0, len(buf)):
        if wire == 2 and num in (1, 2, 3, 4, 5, 6, 11):
            if num == 2:
                p.samples.append(_sample(buf, x, y))
            elif num == 4:
                p.locations.append(_location(buf, x, y))
            elif num == 6:
                p.strings.append(_string(buf, x, y))
            elif num == 5:
                f = _scalars(buf, x, y, 5)
                p.functions.append((f[1], _signed(f[2]), _signed(f[3]), _signed(f[4])))
            elif num == 3:
                m = _scalars(buf, x, y, 10)
                p.mappings.append((m[1], _signed(m[5]), _signed(m[6])))
            elif num == 1:
                vt = _scalars(buf, x, y, 2)
                p.sample_types.append((_signed(vt[1]), _signed(vt[2])))
            else:  # 11, period_type: a second one would be merged into the first
                if p.period_type is not None:
                    raise Decline
                vt = _scalars(buf, x, y, 2)
                p.period_type = (_signed(vt[1]), _signed(vt[2]))
        elif num == 13:
            got: list[int] = []
            _repeated(buf, wire, x, y, got)
            p.comments.extend(_signed(c) for c in got)
        elif wire == 0 and num in _SCALAR_FIELDS:
            setattr(p, _SCALAR_FIELDS[num], _signed(x))
        elif wire == 0 and num in (9, 10, 12):
            continue  # time_nanos, duration_nanos, period: not in a table
        else:
            raise Decline
    return p
