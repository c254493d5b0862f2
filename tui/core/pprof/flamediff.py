"""The diff flame graph: a FlameTree over the engine's DiffTree, and its colour classes.

The width of a node is the current, base or both values (`WIDTH_MODES`); its colour the
change of its share of the whole profile, neutral under sampling noise.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tui.core.pprof.flametree import FlameTree

# Classes of a diff node: -3..-1 less share (better), 0 neutral, 1..3 more share (worse).
DIFF_NEW = 4
DIFF_VANISHED = -4


def diff_classes(
    base: np.ndarray,
    cur: np.ndarray,
    base_sum: int,
    cur_sum: int,
    noise: float = 0.10,
    floor: float = 0.001,
    steps: tuple[float, float] = (0.25, 1.0),
) -> np.ndarray:
    """Colour class per node from the change in share of the whole profile.

    Neutral when the relative change of the node's share is under `noise` (10%) or the
    absolute change is under `floor` (0.1 percentage point of the profile): sampling noise
    must not paint the graph. Then 1-3 steps by relative change: < 25%, < 100%, more.
    """
    b = base.astype(np.float64) / max(1, base_sum)
    c = cur.astype(np.float64) / max(1, cur_sum)
    delta = c - b
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(b > 0, np.abs(delta) / np.where(b > 0, b, 1), np.inf)
    level = np.where(rel < steps[0], 1, np.where(rel < steps[1], 2, 3))
    out = np.sign(delta).astype(np.int8) * level.astype(np.int8)
    out[(rel < noise) | (np.abs(delta) < floor)] = 0
    out[(base == 0) & (cur > 0)] = DIFF_NEW
    out[(cur == 0) & (base > 0)] = DIFF_VANISHED
    return out


WIDTH_MODES = ("current", "base", "both")


def diff_flame_tree(diff: Any, mode: str = "current") -> FlameTree:
    """A FlameTree over the engine's DiffTree; width from the current, base or both values.

    `extra` keeps `base`, `cur` (totals), `class` (diff_classes) for colours and details.
    """
    if mode not in WIDTH_MODES:
        raise ValueError(f"width mode must be one of {', '.join(WIDTH_MODES)}, got {mode!r}")
    base = np.asarray(diff.base_total, dtype=np.int64)
    cur = np.asarray(diff.cur_total, dtype=np.int64)
    width = {"current": cur, "base": base, "both": base + cur}[mode]
    classes = diff_classes(base, cur, int(base[0]), int(cur[0]))
    return FlameTree.from_preorder(diff, width, {"base": base, "cur": cur, "class": classes})


def vanished_paths(tree: FlameTree, limit: int = 50) -> list[tuple[int, int]]:
    """(node, base value) of call paths present only in the base, outermost first by size."""
    base, cur = tree.extra["base"], tree.extra["cur"]
    gone = np.nonzero((cur == 0) & (base > 0))[0]
    out: list[tuple[int, int]] = []
    reach = -1
    for i in gone.tolist():  # preorder: skip those inside an already listed vanished path
        if i >= reach:
            out.append((i, int(base[i])))
            reach = int(tree.end[i])
    out.sort(key=lambda t: -t[1])
    return out[:limit]
