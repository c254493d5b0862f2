"""Reading, sniffing and unpacking a profile file: the entry point of the pprof engine.

A file (or bytes) is gzip (one member, inflation capped: inflate.py), raw profile.proto, or
folded stacks (folded.py); protobuf goes to decode.py, which turns it into the columnar
`Profile`, and the profile's own drop_frames/keep_frames are applied here (filters.py), after
decoding, as pprof does when it reads a file.

Errors a user can fix (missing file, not a profile, truncated or corrupt gzip, concatenated gzip
members) raise UserError naming the file; decode.py names what is wrong inside it.
"""

from __future__ import annotations

import os
from pathlib import Path

from tui.core.pprof.decode import decode_proto
from tui.core.pprof.filters import prune_frames
from tui.core.pprof.inflate import MAX_INFLATED, InflateError, inflate_gzip
from tui.core.pprof.model import Profile
from tui.core.pprof.sniff import looks_folded
from tui.errors import UserError


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
    """A profile from a file's bytes; `label` names it in errors."""
    if not data:
        raise UserError(f"{label}: empty file, not a profile")
    if data[:2] == b"\x1f\x8b":
        data = gunzip_single(data, label, max_inflated)
        if not data:
            raise UserError(f"{label}: gzip holds no data, not a profile")
    elif looks_folded(data):
        from tui.core.pprof.folded import parse_folded  # here: `profile --top` never needs it

        return parse_folded(_utf8(data, label), label)
    prof = decode_proto(data, label)
    if prof.drop_frames:
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
