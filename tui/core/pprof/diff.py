"""Diffs: pprof's -diff_base, a merged call tree by call path, and function regression ranking.

diff_profiles(base, cur) does what `go tool pprof -diff_base BASE CUR` does: with normalize,
CUR is scaled by base_total/cur_total per sample type (rounded per sample, half away from
zero); BASE values are negated and marked as base rows; both are concatenated. Tables of the
result give cur - base per function, and Profile.total() answers the base total, so
percentages are relative to the base, as pprof prints them.

rank_regressions compares function shares (cum / total, flat / total). Whether a change is real
is judged by a two-proportion z-test on the events the profile sampled (significance.py: CPU
ticks; Go heap records unscaled back to sampled allocations; no test for goroutine or
contention profiles), with Benjamini-Hochberg false discovery control at 5% over all functions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from tui.core.pprof.model import CallTree, Profile, build_tree
from tui.core.pprof.significance import benjamini_hochberg, share_tests
from tui.core.pprof.table import node_values
from tui.errors import UserError

STATUS_BOTH, STATUS_NEW, STATUS_VANISHED = 0, 1, 2
STATUS_NAMES = ("both", "new", "vanished")


def _check_compatible(base: Profile, cur: Profile) -> None:
    if base.sample_types != cur.sample_types:
        b = ", ".join(t for t, _ in base.sample_types)
        c = ", ".join(t for t, _ in cur.sample_types)
        raise UserError(
            f"{base.source or 'base'}: sample types ({b}) do not match "
            f"{cur.source or 'current'} ({c}); cannot diff"
        )


def _round_half_away(x: np.ndarray) -> np.ndarray:
    return (np.sign(x) * np.floor(np.abs(x) + 0.5)).astype(np.int64)


def normalized(cur: Profile, base: Profile) -> Profile:
    """CUR scaled so each sample type's sum equals BASE's (pprof Profile.Normalize)."""
    bsum = base.values.sum(axis=0).astype(np.float64)
    csum = cur.values.sum(axis=0).astype(np.float64)
    scale = np.where(csum == 0, 0.0, bsum / np.where(csum == 0, 1.0, csum))
    if bool(np.all(scale == 1.0)):
        return cur
    vals = cur.values.copy()
    cols = np.flatnonzero(scale != 1.0)
    vals[:, cols] = _round_half_away(cur.values[:, cols].astype(np.float64) * scale[cols])
    keep = (vals[:, cols] != 0).any(axis=1)
    return replace(
        cur,
        values=vals[keep],
        row_stack=cur.row_stack[keep],
        row_labels=cur.row_labels[keep],
        row_abs=None,
    )


def diff_profiles(base: Profile, cur: Profile, normalize: bool = False) -> Profile:
    """One profile holding CUR and the negated BASE (marked as base rows)."""
    _check_compatible(base, cur)
    if normalize:
        cur = normalized(cur, base)
    nf = len(cur.func_name)
    nloc = cur.n_locations
    nmap = len(cur.mapping_file)
    nls = len(cur.labelsets)
    nst = cur.n_stacks
    b_line_func = np.where(base.line_func >= 0, base.line_func + nf, -1).astype(np.int32)
    b_map = np.where(base.loc_mapping >= 0, base.loc_mapping + nmap, -1).astype(np.int32)
    return replace(
        cur,
        func_name=cur.func_name + base.func_name,
        func_system_name=cur.func_system_name + base.func_system_name,
        func_file=cur.func_file + base.func_file,
        func_start_line=np.concatenate([cur.func_start_line, base.func_start_line]),
        mapping_file=cur.mapping_file + base.mapping_file,
        mapping_build_id=cur.mapping_build_id + base.mapping_build_id,
        loc_id=np.concatenate([cur.loc_id, base.loc_id]),
        loc_address=np.concatenate([cur.loc_address, base.loc_address]),
        loc_mapping=np.concatenate([cur.loc_mapping, b_map]),
        loc_line_start=np.concatenate(
            [cur.loc_line_start, base.loc_line_start[1:] + cur.loc_line_start[-1]]
        ),
        line_func=np.concatenate([cur.line_func, b_line_func]),
        line_no=np.concatenate([cur.line_no, base.line_no]),
        stack_start=np.concatenate([cur.stack_start, base.stack_start[1:] + cur.stack_start[-1]]),
        stack_locs=np.concatenate([cur.stack_locs, base.stack_locs + nloc]).astype(np.int32),
        row_stack=np.concatenate([cur.row_stack, base.row_stack + nst]).astype(np.int32),
        row_labels=np.concatenate([cur.row_labels, base.row_labels + nls]).astype(np.int32),
        values=np.concatenate([cur.values, -base.values]),
        labelsets=cur.labelsets + base.labelsets,
        row_abs=None,
        row_base=np.concatenate(
            [np.zeros(cur.values.shape[0], bool), np.ones(base.values.shape[0], bool)]
        ),
        # percentages are relative to the base total (its unfiltered total when filtered)
        fixed_totals=list(base.fixed_totals) if base.fixed_totals is not None else None,
        duration_nanos=cur.duration_nanos + base.duration_nanos,
        raw_sample_count=cur.raw_sample_count + base.raw_sample_count,
    )


class DiffTree(CallTree):
    """Merged call tree over the union of call paths of BASE and CUR.

    self_values[:, 0] is the base self value, [:, 1] the current one (scaled when normalized).
    """

    def __init__(self, tree: CallTree):
        super().__init__(
            tree.frames, tree.frame, tree.parent, tree.depth, tree.end, tree.self_values
        )
        self.base_self = self.self_values[:, 0]
        self.cur_self = self.self_values[:, 1]
        self.base_total = self.total(0)
        self.cur_total = self.total(1)
        status = np.full(len(self), STATUS_BOTH, dtype=np.int8)
        status[(self.base_total == 0) & (self.cur_total != 0)] = STATUS_NEW
        status[(self.cur_total == 0) & (self.base_total != 0)] = STATUS_VANISHED
        self.status = status

    def status_name(self, i: int) -> str:
        return STATUS_NAMES[int(self.status[i])]


def diff_trees(
    base: Profile, cur: Profile, sample_index: int | None = None, normalize: bool = False
) -> DiffTree:
    t = cur.default_index if sample_index is None else sample_index
    merged = diff_profiles(base, cur, normalize=normalize)
    assert merged.row_base is not None
    col = merged.values[:, t]
    two = np.zeros((col.shape[0], 2), dtype=np.int64)
    two[merged.row_base, 0] = -col[merged.row_base]
    two[~merged.row_base, 1] = col[~merged.row_base]
    view = replace(merged, values=two, sample_types=[merged.sample_types[t]] * 2, row_base=None)
    return DiffTree(build_tree(view))


# ---- regression ranking ---------------------------------------------------------------------


@dataclass(frozen=True)
class RegressionRow:
    name: str
    base_flat: int
    cur_flat: int
    base_cum: int
    cur_cum: int
    base_flat_pct: float
    cur_flat_pct: float
    base_cum_pct: float
    cur_cum_pct: float
    delta_cum_pp: float
    delta_flat_pp: float
    z: float
    p_value: float
    significant: bool
    status: str  # both / new / vanished

    def to_dict(self) -> dict[str, object]:
        """NaN (no test for this kind) is None: JSON has no NaN."""
        return {k: None if isinstance(v, float) and v != v else v for k, v in self.__dict__.items()}


@dataclass
class RegressionReport:
    sample_type: str
    unit: str
    base_total: int
    cur_total: int
    count_type: str  # the events the test ran on, e.g. "inuse_space, sampled allocations (...)"
    method: str = ""  # the test in one sentence (its events, counts, and what p means)
    rows: list[RegressionRow] = field(default_factory=list)  # present in both, by delta desc
    new: list[RegressionRow] = field(default_factory=list)
    vanished: list[RegressionRow] = field(default_factory=list)

    def regressions(self, min_pp: float = 0.0) -> list[RegressionRow]:
        """Significant growths of cum share by more than min_pp points (new ones included)."""
        return [r for r in self.rows + self.new if r.significant and r.delta_cum_pp > min_pp]

    def to_dict(self) -> dict[str, object]:
        return {
            "sample_type": self.sample_type,
            "unit": self.unit,
            "base_total": self.base_total,
            "cur_total": self.cur_total,
            "count_type": self.count_type,
            "method": self.method,
            "functions": [r.to_dict() for r in self.rows],
            "new": [r.to_dict() for r in self.new],
            "vanished": [r.to_dict() for r in self.vanished],
        }


def _by_name(p: Profile, t: int) -> tuple[dict[str, int], np.ndarray, np.ndarray]:
    names, flat, cum, _a, _b = node_values(p, t)
    return {n: i for i, n in enumerate(names)}, flat, cum


def rank_regressions(
    base: Profile, cur: Profile, sample_index: int | None = None, alpha: float = 0.05
) -> RegressionReport:
    _check_compatible(base, cur)
    t = cur.default_index if sample_index is None else sample_index
    bidx, bflat, bcum = _by_name(base, t)
    cidx, cflat, ccum = _by_name(cur, t)
    btot, ctot = base.total(t), cur.total(t)
    tests = share_tests(base, cur, t)

    def pct(v: int, tot: int) -> float:
        return 100.0 * v / tot if tot else 0.0

    raw: list[tuple[str, int, int, int, int, str]] = []
    for name in sorted(set(bidx) | set(cidx)):
        bi, ci_ = bidx.get(name), cidx.get(name)
        bf = int(bflat[bi]) if bi is not None else 0
        bc = int(bcum[bi]) if bi is not None else 0
        cf = int(cflat[ci_]) if ci_ is not None else 0
        cc = int(ccum[ci_]) if ci_ is not None else 0
        if bc == 0 and cc == 0 and bf == 0 and cf == 0:
            continue
        status = "new" if bc == 0 and cc != 0 else "vanished" if cc == 0 and bc != 0 else "both"
        raw.append((name, bf, cf, bc, cc, status))
    untested = (math.nan, math.nan)
    zs = [tests.results.get(r[0], untested) for r in raw]
    sig = benjamini_hochberg([p for _z, p in zs], alpha)
    report = RegressionReport(
        sample_type=cur.sample_types[t][0],
        unit=cur.sample_types[t][1],
        base_total=btot,
        cur_total=ctot,
        count_type=tests.label,
        method=tests.method,
    )
    for k, (name, bf, cf, bc, cc, status) in enumerate(raw):
        row = RegressionRow(
            name=name,
            base_flat=bf,
            cur_flat=cf,
            base_cum=bc,
            cur_cum=cc,
            base_flat_pct=pct(bf, btot),
            cur_flat_pct=pct(cf, ctot),
            base_cum_pct=pct(bc, btot),
            cur_cum_pct=pct(cc, ctot),
            delta_cum_pp=pct(cc, ctot) - pct(bc, btot),
            delta_flat_pp=pct(cf, ctot) - pct(bf, btot),
            z=zs[k][0],
            p_value=zs[k][1],
            significant=sig[k],
            status=status,
        )
        {"both": report.rows, "new": report.new, "vanished": report.vanished}[status].append(row)
    key = lambda r: (-r.delta_cum_pp, -r.delta_flat_pp, r.name)  # noqa: E731
    report.rows.sort(key=key)
    report.new.sort(key=key)
    report.vanished.sort(key=lambda r: (r.delta_cum_pp, r.name))
    return report
