"""Bounds on what a profile may hold, shared by the protobuf and the folded-stack readers.

A hostile file must fail with a clear error, not cost minutes: stacks deeper than
MAX_STACK_DEPTH (the call tree is built a level at a time) and value sums past int64 (totals
would wrap) are refused.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tui.errors import UserError

if TYPE_CHECKING:  # numpy inside the checks: the quick path (quicktop.py) needs only the bounds
    import numpy as np

INT64_MAX = 2**63 - 1  # pprof values are int64; sums of them too
MAX_STACK_DEPTH = 8192  # frames per stack, inlined ones included (see check_depth)


def check_depth(
    stack_start: np.ndarray, stack_locs: np.ndarray, line_start: np.ndarray, label: str
) -> None:
    """Refuse stacks deeper than MAX_STACK_DEPTH frames (inlined frames counted): the call tree
    is built a level at a time, and a few deep stacks in a small hostile file would cost
    seconds; Go itself records at most 1024 frames per stack."""
    import numpy as np

    nlines = np.diff(line_start)
    longest = int(np.diff(stack_start).max()) if stack_start.shape[0] > 1 else 0
    if longest * (int(nlines.max()) if nlines.shape[0] else 1) <= MAX_STACK_DEPTH:
        return  # the usual case: no stack can be that deep, whatever its locations
    per = nlines[stack_locs]
    cs = np.zeros(per.shape[0] + 1, dtype=np.int64)
    np.cumsum(per, out=cs[1:])
    depth = cs[stack_start[1:]] - cs[stack_start[:-1]]
    deepest = int(depth.max()) if depth.shape[0] else 0
    if deepest > MAX_STACK_DEPTH:
        raise UserError(
            f"{label}: a stack of {deepest} frames, deeper than the {MAX_STACK_DEPTH} "
            "frames warroom reads (Go records at most 1024)"
        )


def check_sums(values: np.ndarray, sample_types: list[tuple[str, str]], label: str) -> None:
    """Refuse a sample type whose values add up past int64 (totals would wrap)."""
    import numpy as np

    if values.shape[0] == 0:
        return
    approx = np.abs(values.astype(np.float64)).sum(axis=0)
    for t in np.flatnonzero(approx >= 2.0**62).tolist():
        if sum(abs(v) for v in values[:, t].tolist()) > INT64_MAX:
            raise UserError(
                f"{label}: the values of sample type {sample_types[t][0]!r} add up past 64 bits"
            )
