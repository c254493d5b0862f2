"""profile.proto message classes, built at runtime from a descriptor written in code.

Why at runtime: no protoc step, no generated `_pb2.py` to keep in sync, and the upb runtime
parses it exactly like generated code. The descriptor below is the pprof `profile.proto`
(github.com/google/pprof/proto/profile.proto) field for field; the parser accepts packed and
unpacked encodings of every repeated scalar, as the protobuf spec requires.

Two extra wire-compatible views make large profiles fast:
- `FastProfile` is `Profile` with `sample` declared `repeated bytes`: upb hands us each sample's
  encoded bytes without building a Python message per sample.
- `FlatSample` is `Sample` with `label` declared `repeated bytes`. The decoder joins all
  sample blobs with a sentinel record between them and parses the whole run as ONE
  `FlatSample`; protobuf concatenates repeated fields, so one parse yields every location id
  and value of every sample, and the sentinels mark the sample boundaries.
- `FastProfile` also takes `location` and `function` as bytes; `FlatFunction`, `FlatLocation`
  and `FlatLine` (every field repeated) decode all of them in one parse each, the same way.
- `PackedSample` reads a packed `location_id` run as one bytes item: equal stacks are equal
  bytes, so samples are grouped by a dict on those bytes and only distinct stacks are decoded.
- `FlatLabel` is `Label` with every field repeated: all labels of all samples, joined with a
  sentinel label, parse in one go the same way.
"""

from __future__ import annotations

from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

_F = descriptor_pb2.FieldDescriptorProto

_INT64 = _F.TYPE_INT64
_UINT64 = _F.TYPE_UINT64
_BOOL = _F.TYPE_BOOL
_STRING = _F.TYPE_STRING
_BYTES = _F.TYPE_BYTES
_MSG = _F.TYPE_MESSAGE
_OPT = _F.LABEL_OPTIONAL
_REP = _F.LABEL_REPEATED

PACKAGE = "warroom.pprof"

# name -> [(field name, number, type, label, message type name or None)]
_MESSAGES: dict[str, list[tuple[str, int, int, int, str | None]]] = {
    "ValueType": [("type", 1, _INT64, _OPT, None), ("unit", 2, _INT64, _OPT, None)],
    "Label": [
        ("key", 1, _INT64, _OPT, None),
        ("str", 2, _INT64, _OPT, None),
        ("num", 3, _INT64, _OPT, None),
        ("num_unit", 4, _INT64, _OPT, None),
    ],
    "Sample": [
        ("location_id", 1, _UINT64, _REP, None),
        ("value", 2, _INT64, _REP, None),
        ("label", 3, _MSG, _REP, "Label"),
    ],
    "FlatSample": [
        ("location_id", 1, _UINT64, _REP, None),
        ("value", 2, _INT64, _REP, None),
        ("label", 3, _BYTES, _REP, None),
    ],
    "PackedSample": [
        ("location_id", 1, _BYTES, _REP, None),
        ("value", 2, _INT64, _REP, None),
        ("label", 3, _BYTES, _REP, None),
    ],
    "FlatLabel": [
        ("key", 1, _INT64, _REP, None),
        ("str", 2, _INT64, _REP, None),
        ("num", 3, _INT64, _REP, None),
        ("num_unit", 4, _INT64, _REP, None),
    ],
    "Mapping": [
        ("id", 1, _UINT64, _OPT, None),
        ("memory_start", 2, _UINT64, _OPT, None),
        ("memory_limit", 3, _UINT64, _OPT, None),
        ("file_offset", 4, _UINT64, _OPT, None),
        ("filename", 5, _INT64, _OPT, None),
        ("build_id", 6, _INT64, _OPT, None),
        ("has_functions", 7, _BOOL, _OPT, None),
        ("has_filenames", 8, _BOOL, _OPT, None),
        ("has_line_numbers", 9, _BOOL, _OPT, None),
        ("has_inline_frames", 10, _BOOL, _OPT, None),
    ],
    "Line": [
        ("function_id", 1, _UINT64, _OPT, None),
        ("line", 2, _INT64, _OPT, None),
        ("column", 3, _INT64, _OPT, None),
    ],
    "Location": [
        ("id", 1, _UINT64, _OPT, None),
        ("mapping_id", 2, _UINT64, _OPT, None),
        ("address", 3, _UINT64, _OPT, None),
        ("line", 4, _MSG, _REP, "Line"),
        ("is_folded", 5, _BOOL, _OPT, None),
    ],
    "Function": [
        ("id", 1, _UINT64, _OPT, None),
        ("name", 2, _INT64, _OPT, None),
        ("system_name", 3, _INT64, _OPT, None),
        ("filename", 4, _INT64, _OPT, None),
        ("start_line", 5, _INT64, _OPT, None),
    ],
}

_PROFILE_TAIL: list[tuple[str, int, int, int, str | None]] = [
    ("mapping", 3, _MSG, _REP, "Mapping"),
    ("location", 4, _MSG, _REP, "Location"),
    ("function", 5, _MSG, _REP, "Function"),
    ("string_table", 6, _STRING, _REP, None),
    ("drop_frames", 7, _INT64, _OPT, None),
    ("keep_frames", 8, _INT64, _OPT, None),
    ("time_nanos", 9, _INT64, _OPT, None),
    ("duration_nanos", 10, _INT64, _OPT, None),
    ("period_type", 11, _MSG, _OPT, "ValueType"),
    ("period", 12, _INT64, _OPT, None),
    ("comment", 13, _INT64, _REP, None),
    ("default_sample_type", 14, _INT64, _OPT, None),
]
_MESSAGES["Profile"] = [
    ("sample_type", 1, _MSG, _REP, "ValueType"),
    ("sample", 2, _MSG, _REP, "Sample"),
    *_PROFILE_TAIL,
]
_MESSAGES["FastProfile"] = [
    ("sample_type", 1, _MSG, _REP, "ValueType"),
    ("sample", 2, _BYTES, _REP, None),
    ("mapping", 3, _MSG, _REP, "Mapping"),
    ("location", 4, _BYTES, _REP, None),
    ("function", 5, _BYTES, _REP, None),
    *_PROFILE_TAIL[3:],
]
_MESSAGES["FlatFunction"] = [
    ("id", 1, _UINT64, _REP, None),
    ("name", 2, _INT64, _REP, None),
    ("system_name", 3, _INT64, _REP, None),
    ("filename", 4, _INT64, _REP, None),
    ("start_line", 5, _INT64, _REP, None),
]
_MESSAGES["FlatLocation"] = [
    ("id", 1, _UINT64, _REP, None),
    ("mapping_id", 2, _UINT64, _REP, None),
    ("address", 3, _UINT64, _REP, None),
    ("line", 4, _BYTES, _REP, None),
    ("is_folded", 5, _BOOL, _REP, None),
]
_MESSAGES["FlatLine"] = [
    ("function_id", 1, _UINT64, _REP, None),
    ("line", 2, _INT64, _REP, None),
    ("column", 3, _INT64, _REP, None),
]


def _build() -> dict[str, Any]:
    fdp = descriptor_pb2.FileDescriptorProto(
        name="warroom/pprof/profile.proto", package=PACKAGE, syntax="proto3"
    )
    for msg_name, fields in _MESSAGES.items():
        msg = fdp.message_type.add(name=msg_name)
        for fname, number, ftype, label, type_name in fields:
            field = msg.field.add(name=fname, number=number, type=ftype, label=label)
            if type_name is not None:
                field.type_name = f".{PACKAGE}.{type_name}"
    pool = descriptor_pool.DescriptorPool()
    fd = pool.Add(fdp)
    del fd
    return {
        name: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"{PACKAGE}.{name}"))
        for name in _MESSAGES
    }


_CLASSES = _build()
Profile: Any = _CLASSES["Profile"]
FastProfile: Any = _CLASSES["FastProfile"]
FlatSample: Any = _CLASSES["FlatSample"]
FlatLabel: Any = _CLASSES["FlatLabel"]
PackedSample: Any = _CLASSES["PackedSample"]
FlatFunction: Any = _CLASSES["FlatFunction"]
FlatLocation: Any = _CLASSES["FlatLocation"]
FlatLine: Any = _CLASSES["FlatLine"]
Sample: Any = _CLASSES["Sample"]
Label: Any = _CLASSES["Label"]
Location: Any = _CLASSES["Location"]
Function: Any = _CLASSES["Function"]
Mapping: Any = _CLASSES["Mapping"]
ValueType: Any = _CLASSES["ValueType"]
Line: Any = _CLASSES["Line"]
