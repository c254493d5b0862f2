"""Builders of hostile inputs shared by the bad-input tests and the fuzz tests."""

from __future__ import annotations

import struct
import zlib

from tui.core.pprof.wire import varint as _varint


def gzip_bomb(inflated: int, head: bytes | None = None) -> bytes:
    """A gzip member of about inflated/1000 bytes that inflates to `inflated` bytes (rounded
    down to MiB): `head`, by default a string-table entry as long as the rest, so it starts
    like a profile, then zeros.

    Built in milliseconds: one MiB of zeros is deflated once, after a full flush (which makes
    it independent of what came before), and that piece is repeated.
    """
    block = b"\0" * 2**20
    n = inflated // len(block)
    head = b"\x32" + _varint(n * len(block)) if head is None else head
    co = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    first = co.compress(head) + co.flush(zlib.Z_FULL_FLUSH)
    piece = co.compress(block) + co.flush(zlib.Z_FULL_FLUSH)
    last = co.flush()
    crc = zlib.crc32(head)
    for _ in range(n):
        crc = zlib.crc32(block, crc)
    size = len(head) + n * len(block)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
    return header + first + piece * n + last + struct.pack("<II", crc, size & 0xFFFFFFFF)
