"""Folded stacks (`root;caller;leaf 123`, one stack a line) in and out.

The format of flamegraph.pl's stackcollapse, inferno and speedscope. Reading makes one function
and one location per distinct frame name and a single sample type (`samples`, `count` unless
told otherwise). Writing emits one line per distinct call path (root first, inlined frames
included as their own frames), values of one sample type, zero-valued paths omitted.
"""

from __future__ import annotations

import numpy as np

from tui.core.pprof.arrays import aggregate_rows, intern_sequences
from tui.core.pprof.limits import INT64_MAX, MAX_STACK_DEPTH
from tui.core.pprof.model import EMPTY_LABELS, Profile
from tui.errors import UserError


def parse_folded(
    text: str, label: str = "<folded>", sample_type: tuple[str, str] = ("samples", "count")
) -> Profile:
    names: dict[str, int] = {}
    flat: list[int] = []
    off = [0]
    vals: list[int] = []
    total = 0
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        stack, sep, num = line.rpartition(" ")
        if not sep or not stack.strip():
            raise UserError(f"{label}:{lineno}: expected 'frame;frame;... VALUE', got {raw!r}")
        try:
            v = int(num)
        except ValueError:
            raise UserError(f"{label}:{lineno}: value {num!r} is not an integer") from None
        if not -INT64_MAX <= v <= INT64_MAX:
            raise UserError(f"{label}:{lineno}: value {num[:30]} does not fit in 64 bits")
        total += abs(v)
        if total > INT64_MAX:
            raise UserError(f"{label}:{lineno}: the values add up past 64 bits")
        frames = [f for f in stack.strip().split(";") if f != ""]
        if not frames:
            raise UserError(f"{label}:{lineno}: empty stack")
        if len(frames) > MAX_STACK_DEPTH:
            raise UserError(
                f"{label}:{lineno}: a stack of {len(frames)} frames, deeper than the "
                f"{MAX_STACK_DEPTH} frames warroom reads"
            )
        # profile stacks are leaf first
        for f in reversed(frames):
            flat.append(names.setdefault(f, len(names)))
        off.append(len(flat))
        vals.append(v)
    if not vals:
        raise UserError(f"{label}: no stacks found (expected folded 'a;b;c 123' lines)")
    nf = len(names)
    offs = np.asarray(off, dtype=np.int64)
    ids, uoff, uelems = intern_sequences(np.asarray(flat, dtype=np.int64), offs)
    values = np.asarray(vals, dtype=np.int64).reshape(-1, 1)
    rs, rl, agg, _ = aggregate_rows(ids, np.zeros(len(vals), dtype=np.int32), 1, values)
    return Profile(
        sample_types=[sample_type],
        default_index=0,
        func_name=list(names),
        func_system_name=list(names),
        func_file=[""] * nf,
        func_start_line=np.zeros(nf, dtype=np.int64),
        mapping_file=[],
        mapping_build_id=[],
        loc_id=np.arange(1, nf + 1, dtype=np.uint64),
        loc_address=np.zeros(nf, dtype=np.uint64),
        loc_mapping=np.full(nf, -1, dtype=np.int32),
        loc_line_start=np.arange(nf + 1, dtype=np.int64),
        line_func=np.arange(nf, dtype=np.int32),
        line_no=np.zeros(nf, dtype=np.int64),
        stack_start=uoff,
        stack_locs=uelems,
        row_stack=rs,
        row_labels=rl,
        values=agg,
        labelsets=[EMPTY_LABELS],
        source=label,
        raw_sample_count=len(vals),
    )


def to_folded(profile: Profile, sample_index: int | None = None) -> str:
    """Folded text of one sample type: `a;b;c VALUE` lines, sorted, root first."""
    t = profile.default_index if sample_index is None else sample_index
    w, _nz = profile.stack_weights(t)
    offs, entries = profile.stack_lines
    names = [profile.line_entry_name(e) for e in range(profile.line_func.shape[0])]
    ent = entries.tolist()
    of = offs.tolist()
    acc: dict[str, int] = {}
    for s, val in enumerate(w.tolist()):
        if val == 0:
            continue
        key = ";".join(names[e].replace(";", ":") for e in ent[of[s] : of[s + 1]])
        if not key:
            continue
        acc[key] = acc.get(key, 0) + val
    return "".join(f"{k} {v}\n" for k, v in sorted(acc.items()) if v != 0)
