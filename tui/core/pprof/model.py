"""Columnar profile model and the preorder call tree.

Layout (all numpy, built once per profile, never per frame drawn):
- functions: parallel lists `func_name`, `func_system_name`, `func_file`, `func_start_line`.
- locations: `loc_address`, `loc_mapping` (-1 = none) and their lines as CSR
  (`loc_line_start[nloc + 1]` into `line_func`, `line_no`), innermost line first as in the
  proto. A location without lines (address only) gets one line with `line_func == -1`, so every
  location has at least one "line entry" and the same gather code serves both cases.
- stacks: unique location sequences as CSR (`stack_start`, `stack_locs`), leaf first.
- rows: samples aggregated by (stack, labelset): `row_stack`, `row_labels`, `values[R, T]`.
  `row_base` marks rows that came from the base profile of a diff (pprof's `pprof::base`
  label). `row_abs` is unused (kept None): pprof's total is sum |v| over merged samples.

The call tree is built from the unique stacks only (level by level with np.unique), then laid out
in preorder: the subtree of node i is range(i, end[i]) and totals are one cumsum per sample type,
so switching sample type never rebuilds it. Node identity is the call path of frame ids.

Where it lives: `LabelSet(s)`, `Profile` and the two builds that read a Profile (`build_frames`,
`build_tree`) here; `Frames`, `CallTree` and the array steps of the tree build in calltree.py.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from operator import ne
from typing import cast

import numpy as np

from tui.core.pprof.calltree import (
    CallTree,
    Frames,
    bfs_levels,
    expand_stacks,
    preorder,
    sorted_unique,
    unique_inverse,
)

# CallTree, Frames and the unique helpers are defined in calltree.py; the engine's modules
# import them from here with the Profile
__all__ = [
    "EMPTY_LABELS",
    "CallTree",
    "Frames",
    "LabelSet",
    "LabelSets",
    "Profile",
    "build_tree",
    "sorted_unique",
    "unique_inverse",
]


@dataclass(frozen=True)
class LabelSet:
    """String labels (key -> values) and numeric labels (key -> (value, unit) pairs)."""

    str_labels: tuple[tuple[str, tuple[str, ...]], ...] = ()
    num_labels: tuple[tuple[str, tuple[tuple[int, str], ...]], ...] = ()

    def strings(self) -> dict[str, tuple[str, ...]]:
        return dict(self.str_labels)

    def numbers(self) -> dict[str, tuple[tuple[int, str], ...]]:
        return dict(self.num_labels)


EMPTY_LABELS = LabelSet()


class LabelSets:
    """Label sets stored as columns, materialised as LabelSet objects only when asked.

    Set i holds label rows `rows[start[i]:start[i + 1]]`; a row is (key, str, num, unit) as
    string-table indices (str 0 = numeric label). Set 0 is the empty set.
    """

    def __init__(
        self,
        strings: list[str],
        start: np.ndarray,
        key: np.ndarray,
        sval: np.ndarray,
        num: np.ndarray,
        unit: np.ndarray,
    ):
        self.strings = strings
        self.start = start
        self.key = key
        self.sval = sval
        self.num = num
        self.unit = unit
        self._cache: dict[int, LabelSet] = {}

    def __len__(self) -> int:
        return int(self.start.shape[0] - 1)

    def __getitem__(self, i: int) -> LabelSet:
        got = self._cache.get(i)
        if got is None:
            st = self.strings
            strs: dict[str, list[str]] = {}
            nums: dict[str, list[tuple[int, str]]] = {}
            for r in range(int(self.start[i]), int(self.start[i + 1])):
                k = st[int(self.key[r])]
                if self.sval[r]:
                    strs.setdefault(k, []).append(st[int(self.sval[r])])
                else:
                    nums.setdefault(k, []).append((int(self.num[r]), st[int(self.unit[r])]))
            got = LabelSet(
                tuple(sorted((k, tuple(v)) for k, v in strs.items())),
                tuple(sorted((k, tuple(v)) for k, v in nums.items())),
            )
            self._cache[i] = got
        return got

    def __iter__(self) -> Iterator[LabelSet]:
        return (self[i] for i in range(len(self)))

    def __add__(self, other: object) -> list[LabelSet]:
        return [*self, *cast(Iterable[LabelSet], other)]

    def __radd__(self, other: object) -> list[LabelSet]:
        return [*cast(Iterable[LabelSet], other), *self]


@dataclass
class Profile:
    """A decoded profile in columnar form (see the module docstring for the layout)."""

    sample_types: list[tuple[str, str]]
    default_index: int
    # functions
    func_name: list[str]
    func_system_name: list[str]
    func_file: list[str]
    func_start_line: np.ndarray
    # mappings
    mapping_file: list[str]
    mapping_build_id: list[str]
    # locations and their lines (innermost first)
    loc_id: np.ndarray
    loc_address: np.ndarray
    loc_mapping: np.ndarray
    loc_line_start: np.ndarray
    line_func: np.ndarray
    line_no: np.ndarray
    # unique stacks (leaf first)
    stack_start: np.ndarray
    stack_locs: np.ndarray
    # aggregated rows
    row_stack: np.ndarray
    row_labels: np.ndarray
    values: np.ndarray
    labelsets: list[LabelSet] | LabelSets
    row_abs: np.ndarray | None = None
    row_base: np.ndarray | None = None
    # header
    period_type: tuple[str, str] | None = None
    period: int = 0
    time_nanos: int = 0
    duration_nanos: int = 0
    comments: list[str] = field(default_factory=list)
    drop_frames: str = ""
    keep_frames: str = ""
    source: str = ""
    raw_sample_count: int = 0
    # totals frozen before filtering: pprof's percentages stay relative to the whole profile
    fixed_totals: list[int] | None = None

    # ---- basic shape -------------------------------------------------------------------
    @property
    def n_types(self) -> int:
        return len(self.sample_types)

    @property
    def n_stacks(self) -> int:
        return int(self.stack_start.shape[0] - 1)

    @property
    def n_locations(self) -> int:
        return int(self.loc_address.shape[0])

    def sample_index(self, name: str | None) -> int:
        """Index of a sample type by name (None = the default), UserError when unknown."""
        if name is None or name == "":
            return self.default_index
        for i, (t, _u) in enumerate(self.sample_types):
            if t == name:
                return i
        # pprof also accepts a numeric index and "sample_index=N"
        if name.isdigit() and int(name) < len(self.sample_types):
            return int(name)
        from tui.errors import UserError

        known = ", ".join(t for t, _ in self.sample_types) or "none"
        where = f"{self.source}: " if self.source else ""
        raise UserError(f"{where}unknown sample type {name!r} (this profile has: {known})")

    def total(self, t: int) -> int:
        """pprof's total: sum of |value| over samples, over the base samples for a diff.

        Samples are merged by (stack, labels) first, as pprof merges every profile it loads,
        so +5 and -3 on one stack count 2. After filters it stays the unfiltered total, as
        `go tool pprof -focus` reports it.
        """
        if self.fixed_totals is not None:
            return self.fixed_totals[t]
        col = np.abs(self.values[:, t])
        if self.row_base is not None and self.row_base.any():
            base_total = int(col[self.row_base].sum())
            if base_total > 0:
                return base_total
        return int(col.sum())

    def value_sum(self, t: int) -> int:
        return int(self.values[:, t].sum())

    # ---- line entries ------------------------------------------------------------------
    @cached_property
    def line_loc(self) -> np.ndarray:
        """Location index of every line entry."""
        counts = np.diff(self.loc_line_start)
        return np.repeat(np.arange(self.n_locations, dtype=np.int32), counts)

    @cached_property
    def line_outermost(self) -> np.ndarray:
        """True for a location's last (outermost, not inlined) line entry."""
        out = np.zeros(self.line_func.shape[0], dtype=bool)
        if out.shape[0]:
            out[self.loc_line_start[1:] - 1] = True
        return out

    @cached_property
    def stack_lines(self) -> tuple[np.ndarray, np.ndarray]:
        """Line entries of every unique stack, root first: (offsets[S + 1], entries)."""
        return expand_stacks(self.stack_start, self.stack_locs, self.loc_line_start)

    def line_entry_name(self, e: int) -> str:
        f = int(self.line_func[e])
        if f < 0:
            return f"{int(self.loc_address[self.line_loc[e]]):016x}"
        return self.func_name[f]

    # ---- frames and the tree -----------------------------------------------------------
    @cached_property
    def _frames_and_line_frame(self) -> tuple[Frames, np.ndarray]:
        return build_frames(self)

    @property
    def frames(self) -> Frames:
        return self._frames_and_line_frame[0]

    @property
    def line_frame(self) -> np.ndarray:
        """Frame id of every line entry."""
        return self._frames_and_line_frame[1]

    @cached_property
    def tree(self) -> CallTree:
        return build_tree(self)

    def stack_weights(self, t: int) -> tuple[np.ndarray, np.ndarray]:
        """Per unique stack: summed value of type t, and whether any sample there is nonzero."""
        s = self.n_stacks
        col = self.values[:, t]
        w = np.zeros(s, dtype=np.int64)
        np.add.at(w, self.row_stack, col)
        nz = np.zeros(s, dtype=bool)
        nz[self.row_stack[col != 0]] = True
        return w, nz


# ---- construction helpers ----------------------------------------------------------------


def build_frames(p: Profile) -> tuple[Frames, np.ndarray]:
    """Intern (name, file, inline) per line entry; frame ids sorted by that key."""
    nent = p.line_func.shape[0]
    if nent == 0:
        return Frames([], [], [], []), np.zeros(0, dtype=np.int32)
    inl = ~p.line_outermost
    # key per function id and inline flag; address-only entries keyed by location so distinct
    # addresses stay distinct
    nf = len(p.func_name)
    func_key = np.where(p.line_func >= 0, p.line_func.astype(np.int64), nf + p.line_loc)
    key = func_key * 2 + inl.astype(np.int64)
    ukeys, inv = unique_inverse(key)
    fk = (ukeys // 2).tolist()
    il = (ukeys % 2).astype(bool).tolist()
    fname, ffile, fstart = p.func_name, p.func_file, p.func_start_line.tolist()
    m = len(fk)
    if fk and fk[-1] < nf:
        # only real functions (the common case): plain C-level lookups
        names = list(map(fname.__getitem__, fk))
        files = list(map(ffile.__getitem__, fk))
        lines = list(map(fstart.__getitem__, fk))
    else:
        addr = p.loc_address
        names = [fname[k] if k < nf else f"{int(addr[k - nf]):016x}" for k in fk]
        files = [ffile[k] if k < nf else _mapping_file(p, k - nf) for k in fk]
        lines = [fstart[k] if k < nf else 0 for k in fk]
    keys = list(zip(names, files, il, strict=True))
    # a stable sort: among equal keys the first entry gives the frame's line
    order = sorted(range(m), key=keys.__getitem__)
    skeys = list(map(keys.__getitem__, order))
    new = np.ones(m, dtype=bool)
    if m > 1:
        new[1:] = np.fromiter(map(ne, skeys[1:], skeys[:-1]), dtype=bool, count=m - 1)
    firsts = np.flatnonzero(new).tolist()
    frame_of = np.empty(m, dtype=np.int32)
    frame_of[np.asarray(order, dtype=np.int64)] = np.cumsum(new) - 1
    out_n = [skeys[i][0] for i in firsts]
    out_f = [skeys[i][1] for i in firsts]
    out_i = [skeys[i][2] for i in firsts]
    lines_sorted = list(map(lines.__getitem__, order))
    out_l = [lines_sorted[i] for i in firsts]
    return Frames(out_n, out_f, out_l, out_i), frame_of[inv.reshape(-1)]


def _mapping_file(p: Profile, loc: int) -> str:
    mi = int(p.loc_mapping[loc])
    return p.mapping_file[mi] if mi >= 0 else ""


def build_tree(p: Profile) -> CallTree:
    """The preorder call tree of `p`'s stacks, built a level at a time with numpy: nodes in
    BFS order per level, then subtree sizes bottom-up and preorder positions top-down."""
    offs, entries = p.stack_lines
    parent_bfs, frame_bfs, level_of, leaf = bfs_levels(p.line_frame, offs, entries, len(p.frames))
    n = int(sum(ids.shape[0] for ids in level_of))
    parent = np.concatenate(parent_bfs)
    frame = np.concatenate(frame_bfs)
    pos, size, depth = preorder(level_of, parent_bfs, n)
    inv_order = np.empty(n, dtype=np.int64)
    inv_order[pos] = np.arange(n, dtype=np.int64)
    pre_parent = np.where(parent[inv_order] >= 0, pos[np.maximum(parent[inv_order], 0)], -1)
    leaf_pre = pos[leaf][p.row_stack] if p.row_stack.shape[0] else np.zeros(0, dtype=np.int64)
    tree = CallTree(
        p.frames,
        frame[inv_order].astype(np.int32),
        pre_parent.astype(np.int32),
        depth[inv_order].astype(np.int32),
        (pos + size)[inv_order].astype(np.int32),
        _self_values(p, leaf_pre, n),
    )
    tree.row_node = leaf_pre
    return tree


def _self_values(p: Profile, leaf_pre: np.ndarray, n: int) -> np.ndarray:
    """Each aggregated row's values on its stack's leaf node (preorder index `leaf_pre`)."""
    self_values = np.zeros((n, p.n_types), dtype=np.int64)
    if not leaf_pre.shape[0]:
        return self_values
    if float(np.abs(p.values).sum(dtype=np.float64)) < 2.0**52:
        # float64 sums are exact below 2**53: bincount is far faster than add.at
        for j in range(p.n_types):
            self_values[:, j] = np.bincount(leaf_pre, weights=p.values[:, j], minlength=n).astype(
                np.int64
            )
    else:
        np.add.at(self_values, leaf_pre, p.values)
    return self_values
