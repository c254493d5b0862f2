"""Protobuf wire-format pieces the decoders share: varint encoding, hand-made records, the
sentinel records that mark where one joined item ends, and upb's error text made readable.

The decoders parse many small records at once by joining them with a sentinel record and
parsing the run as one message (see samples.py, records.py, layout.py); the sentinels use
values no real record holds (ids of 2**64 - 1, values of INT64_MIN).
"""

from __future__ import annotations

import re

import numpy as np
from google.protobuf.message import DecodeError

U_MAX = 2**64 - 1
I_MIN = -(2**63)

# upb names the internal message type in its decode errors ("Error parsing message with
# type 'warroom.pprof.FastProfile': ..."); a user needs only what is wrong and where.
_UPB_PREFIX = re.compile(r"Error parsing message with type '[^']*': ?")


def why(exc: DecodeError) -> str:
    return _UPB_PREFIX.sub("", str(exc)) or "corrupt protobuf"


def varint(v: int) -> bytes:
    v &= U_MAX
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def record(fields: list[tuple[int, int]]) -> bytes:
    """Varint fields (number, value) as one message's bytes."""
    return b"".join(varint(num << 3) + varint(v) for num, v in fields)


# sentinel sample placed after every sample: location_id = 2**64-1, value = INT64_MIN, and a
# marker label whose key is INT64_MIN + 1 (`SENTINEL_TAIL`: the value and label, which the
# packed decoder's sentinel shares, after its own location field)
LOC_SENTINEL = np.uint64(U_MAX)
VAL_SENTINEL = np.int64(I_MIN)
LABEL_MARK = record([(1, I_MIN + 1)])
SENTINEL_TAIL = record([(2, I_MIN)]) + b"\x1a" + varint(len(LABEL_MARK)) + LABEL_MARK
SAMPLE_SEP = record([(1, U_MAX)]) + SENTINEL_TAIL
# 2**64 - 1 as a varint: packed location runs joined with it form one run
SENT_VARINT = varint(U_MAX)


def len_field(num: int, payload: bytes) -> bytes:
    return varint((num << 3) | 2) + varint(len(payload)) + payload
