"""Flat views of an OTLP Histogram's data points: raw bytes where the sink needs only bytes.

Why: reading every point of a 1,000-point request through the full protobuf classes costs
one Python object per attribute, one Python int per bucket and an element-wise comparison of
the bounds; that was most of the receiver's time. These views are second message types with
the field numbers of `opentelemetry.proto.metrics.v1.Histogram`, parsed (by upb, in C) from
`Histogram.SerializeToString()`, which upb always writes in one canonical form (fields in
number order, repeated numbers packed in one chunk), whatever the sender's encoding was:

- `histogram_points`: every point, with its attributes as `repeated bytes` (each exactly
  `KeyValue.SerializeToString()`, the sink's series key) and `bucket_counts` /
  `explicit_bounds` as the packed little-endian fixed64 / double bytes;
- `attribute_signature`: the attribute sets of all points, in order, as one bytes (equal
  signatures mean the same series in the same order as a request seen before);
- `columns`: start times, counts and bucket counts of all points as numpy arrays, when every
  point has the expected layout, no flags and a start time and count set; None otherwise (the
  caller then takes the point-by-point path). Exact: every record's tags and lengths are
  checked, so a record of any other shape cannot be misread.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

_F = descriptor_pb2.FieldDescriptorProto
_OPTIONAL, _REPEATED = _F.LABEL_OPTIONAL, _F.LABEL_REPEATED
_POINT_FIELDS = (  # HistogramDataPoint, field for field (opentelemetry/proto/metrics/v1)
    ("start_time_unix_nano", 2, _F.TYPE_FIXED64, _OPTIONAL),
    ("time_unix_nano", 3, _F.TYPE_FIXED64, _OPTIONAL),
    ("count", 4, _F.TYPE_FIXED64, _OPTIONAL),
    ("sum", 5, _F.TYPE_DOUBLE, _OPTIONAL),
    ("bucket_counts", 6, _F.TYPE_BYTES, _OPTIONAL),  # packed fixed64, little-endian
    ("explicit_bounds", 7, _F.TYPE_BYTES, _OPTIONAL),  # packed double, little-endian
    ("exemplars", 8, _F.TYPE_BYTES, _REPEATED),
    ("attributes", 9, _F.TYPE_BYTES, _REPEATED),  # serialized KeyValue each
    ("flags", 10, _F.TYPE_UINT32, _OPTIONAL),
    ("min", 11, _F.TYPE_DOUBLE, _OPTIONAL),
    ("max", 12, _F.TYPE_DOUBLE, _OPTIONAL),
)
_PACKAGE = "warroom.otlp_view"
_VIEWS = {  # view name -> the point fields it declares (the others are discarded)
    "Points": {f[0] for f in _POINT_FIELDS},
    "Attributes": {"attributes"},
    "Columns": {"start_time_unix_nano", "count", "bucket_counts", "explicit_bounds", "flags"},
    "Exemplars": {"exemplars"},
}


def _build() -> dict[str, Any]:
    fd = descriptor_pb2.FileDescriptorProto(
        name="warroom/otlp_view.proto", package=_PACKAGE, syntax="proto3"
    )
    for view, names in _VIEWS.items():
        point = fd.message_type.add(name=f"{view}Point")
        for name, number, kind, label in _POINT_FIELDS:
            if name in names:
                point.field.add(name=name, number=number, type=kind, label=label)
        hist = fd.message_type.add(name=view)
        hist.field.add(
            name="data_points",
            number=1,
            type=_F.TYPE_MESSAGE,
            label=_REPEATED,
            type_name=f".{_PACKAGE}.{view}Point",
        )
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fd)
    return {
        v: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"{_PACKAGE}.{v}"))
        for v in _VIEWS
    }


_CLASSES = _build()
_Points, _Attributes, _Columns = _CLASSES["Points"], _CLASSES["Attributes"], _CLASSES["Columns"]
_Exemplars = _CLASSES["Exemplars"]
_EXEMPLAR_TAG = b"\x42"  # field 8, length-delimited: absent from the bytes, no point has one


def exemplars(serialized: bytes) -> list[tuple[int, list[bytes]]]:
    """(point index, its exemplars as serialized `Exemplar`s) of the points that have any."""
    if _EXEMPLAR_TAG not in serialized:
        return []
    view = _Exemplars.FromString(serialized)
    view.DiscardUnknownFields()
    points = view.data_points
    if view.ByteSize() == 2 * len(points):  # every point an empty record (tag, length 0)
        return []
    return [(i, list(p.exemplars)) for i, p in enumerate(points) if p.exemplars]


def histogram_points(serialized: bytes) -> Any:
    """The data points of a serialized `Histogram`, in order, as flat views."""
    return _Points.FromString(serialized).data_points


def attribute_signature(serialized: bytes) -> bytes:
    """Every point's attribute set, in order, as one bytes (unambiguous: length-delimited)."""
    view = _Attributes.FromString(serialized)
    view.DiscardUnknownFields()
    return bytes(view.SerializeToString())


def _varint_size(v: int) -> int:
    return max(1, (v.bit_length() + 6) // 7)


@functools.lru_cache(maxsize=64)
def _layout(nb: int, bounds: bytes) -> tuple[int, bytes, int, int, int]:
    """A point's record in `columns` for `nb` buckets: its size, the record with its numbers
    zeroed, and where the start time, the count and the bucket counts sit."""
    one = _Columns()
    one.data_points.add(
        start_time_unix_nano=1, count=1, bucket_counts=b"\0" * (8 * nb), explicit_bounds=bounds
    )
    rec = bytearray(one.SerializeToString())
    # 0x0A len | 0x11 start(8) | 0x21 count(8) | 0x32 len buckets | 0x3A len bounds (if any)
    body = 18 + 1 + _varint_size(8 * nb) + 8 * nb
    if bounds:
        body += 1 + _varint_size(len(bounds)) + len(bounds)
    at_start = len(rec) - body + 1
    at_count = at_start + 9
    at_buckets = at_count + 8 + 1 + _varint_size(8 * nb)
    rec[at_start : at_start + 8] = bytes(8)
    rec[at_count : at_count + 8] = bytes(8)
    return len(rec), bytes(rec), at_start, at_count, at_buckets


def columns(
    serialized: bytes, n: int, nb: int, bounds: bytes
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Start times (uint64), counts (uint64) and bucket counts ((n, nb) uint64) of the `n`
    points of a serialized Histogram, or None unless every point has `nb` bucket counts, the
    packed `bounds`, a non-zero start time and count, and no flags."""
    if n == 0:
        return None
    size, zeroed, at_start, at_count, at_buckets = _layout(nb, bounds)
    view = _Columns.FromString(serialized)
    view.DiscardUnknownFields()
    flat = view.SerializeToString()
    if len(flat) != n * size:
        return None
    rows = np.frombuffer(flat, dtype=np.uint8).reshape(n, size).copy()
    starts = rows[:, at_start : at_start + 8].copy().view("<u8").reshape(n)
    counts = rows[:, at_count : at_count + 8].copy().view("<u8").reshape(n)
    buckets = rows[:, at_buckets : at_buckets + 8 * nb].copy().view("<u8")
    # every other byte (tags, lengths, bounds) as in the expected record, in every record
    rows[:, at_start : at_start + 8] = 0
    rows[:, at_count : at_count + 8] = 0
    rows[:, at_buckets : at_buckets + 8 * nb] = 0
    if rows.tobytes() != zeroed * n:
        return None
    return starts, counts, buckets
