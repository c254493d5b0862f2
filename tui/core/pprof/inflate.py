"""Bounded gzip inflation for profile files, shared by the decoder and the profiles.dir watcher.

A gzip bomb (a few KiB that inflate to gigabytes) must cost at most the cap, in memory and in
time: the stream is inflated in slices of bounded size and the total is checked after each
slice, never after the whole stream. The first slice is also sniffed: a profile is protobuf,
and a stream that starts with what protobuf cannot start with (field number 0, wire types 3,
4, 6, 7) is refused before the rest of it is inflated.

No numpy here: the watcher imports this without the decoder.
"""

from __future__ import annotations

import zlib

# Real profiles inflate to tens of MiB (a million distinct samples: ~150 MiB) and decoding
# takes a few times the inflated size in memory; 512 MiB leaves 3x headroom over the largest
# we know of while keeping a bomb's cost well under the memory of a small CI runner.
MAX_INFLATED = 512 * 2**20
_SLICE = 4 * 2**20  # inflated bytes per step


class InflateError(ValueError):
    """Why a gzip stream was refused; the message needs the file name in front of it."""


def format_size(n: int) -> str:
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size and n % (size // 4) == 0:
            return f"{n / size:g} {unit}"
    return f"{n} bytes"


def too_large(cap: int) -> str:
    return (
        f"inflates past {format_size(cap)}, the limit for one profile (a gzip bomb?); "
        "`warroom profile --max-inflated SIZE` reads larger ones"
    )


def protobuf_prefix_problem(buf: bytes) -> str | None:
    """Why `buf` cannot be the start of a protobuf message, or None. A field running past the
    end of `buf` is fine: `buf` is only the beginning."""
    n = len(buf)
    pos = 0
    while pos < n:
        key, pos = read_varint(buf, pos)
        if key < 0:
            return None if pos < 0 else "an over-long field key"
        if key >> 3 == 0:
            return "field number 0"
        wire = key & 7
        if wire == 0:
            _, pos = read_varint(buf, pos)
            if pos < 0:
                return None
        elif wire == 1:
            pos += 8
        elif wire == 2:
            length, pos = read_varint(buf, pos)
            if length < 0:
                return None
            pos += length
        elif wire == 5:
            pos += 4
        else:
            return f"wire type {wire}"
    return None


def read_varint(buf: bytes, pos: int) -> tuple[int, int]:
    """(value, next position); (-1, -1) when `buf` ends inside it, (-1, pos) when it is
    longer than 10 bytes."""
    result = shift = 0
    n = len(buf)
    while pos < n:
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            return -1, pos
    return -1, -1


def inflate_gzip(data: bytes, cap: int = MAX_INFLATED, keep: bool = True) -> tuple[bytes, bytes]:
    """(inflated bytes, what follows the gzip member) of one gzip member, at most `cap` bytes.

    With `keep=False` the inflated bytes are only counted and checked, not kept (b"" is
    returned, or b"x" when the stream held data): a completeness check in bounded memory.
    Raises InflateError for a corrupt, truncated or too large stream, or one that does not
    start like protobuf.
    """
    if cap < 1:
        raise ValueError("cap must be at least one byte")
    d = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    parts: list[bytes] = []
    size = 0
    pending = data
    try:
        while not d.eof:
            # max_length 0 would mean "no limit": cap + 1 - size is at least 1 here
            out = d.decompress(pending, min(_SLICE, cap + 1 - size))
            pending = d.unconsumed_tail
            if out:
                if size == 0:
                    why = protobuf_prefix_problem(out[:4096])
                    if why:
                        raise InflateError(f"not a pprof profile (gzip holds no protobuf: {why})")
                size += len(out)
                if size > cap:
                    raise InflateError(too_large(cap))
                if keep:
                    parts.append(out)
            elif not pending:
                break  # input used up before the end of the stream
    except zlib.error as exc:
        raise InflateError(f"corrupt gzip stream ({exc})") from None
    if not d.eof:
        raise InflateError("truncated gzip stream (file ends mid-stream)")
    body = b"".join(parts) if keep else (b"x" if size else b"")
    return body, d.unused_data
