"""Encode stack samples as a real pprof CPU profile (profile.proto, gzipped).

Used where warroom produces profiles itself (the demo service samples its own Python stacks),
so that every consumer — warroom, `go tool pprof`, speedscope — reads the same format.
"""

from __future__ import annotations

import gzip
from collections.abc import Mapping

from tui.core.pprof import schema

# A frame as a sampler sees it: (function name, file name, line). Stacks are leaf first.
Frame = tuple[str, str, int]


def encode_cpu_profile(
    stacks: Mapping[tuple[Frame, ...], int],
    period_ns: int,
    time_ns: int,
    duration_ns: int,
    comments: tuple[str, ...] = (),
) -> bytes:
    """A gzipped profile with sample types samples/count and cpu/nanoseconds (pprof's CPU
    layout): each stack's count of samples, and count x period as its CPU time."""
    strings: dict[str, int] = {"": 0}

    def s(text: str) -> int:
        return strings.setdefault(text, len(strings))

    prof = schema.Profile()
    for type_, unit in (("samples", "count"), ("cpu", "nanoseconds")):
        vt = prof.sample_type.add()
        vt.type, vt.unit = s(type_), s(unit)
    prof.period_type.type, prof.period_type.unit = s("cpu"), s("nanoseconds")
    prof.period = period_ns
    prof.time_nanos = time_ns
    prof.duration_nanos = duration_ns
    functions: dict[tuple[str, str], int] = {}
    locations: dict[Frame, int] = {}
    for stack, count in stacks.items():
        if count <= 0:
            continue
        sample = prof.sample.add()
        for frame in stack:
            loc_id = locations.get(frame)
            if loc_id is None:
                name, filename, line = frame
                fn_id = functions.get((name, filename))
                if fn_id is None:
                    fn_id = functions[(name, filename)] = len(functions) + 1
                    fn = prof.function.add()
                    fn.id, fn.name, fn.system_name, fn.filename = (
                        fn_id,
                        s(name),
                        s(name),
                        s(filename),
                    )
                loc_id = locations[frame] = len(locations) + 1
                loc = prof.location.add()
                loc.id = loc_id
                ln = loc.line.add()
                ln.function_id, ln.line = fn_id, line
            sample.location_id.append(loc_id)
        sample.value.extend((count, count * period_ns))
    prof.comment.extend(s(c) for c in comments)
    prof.string_table.extend(strings)  # dicts keep insertion order: index == position
    return gzip.compress(prof.SerializeToString(), mtime=0)
