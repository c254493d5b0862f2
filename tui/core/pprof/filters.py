"""Filters with `go tool pprof` meaning, applied in pprof's order (driver.applyFocus):
focus/ignore/hide/show (FilterSamplesByName), show_from, tagfocus/tagignore, prune_from.

- focus RE: keep samples with a location matching RE; ignore RE: drop samples with one.
  A location matches when a line's function name or file name, or its mapping file, matches.
- hide RE: remove matching lines (a location left without lines leaves the stack);
  show RE: keep only matching lines.
- show_from RE: drop frames above (rootward of) the highest matching frame; no match drops.
- prune_from RE: drop frames beneath (leafward of) the lowest frame matching RE.
- tagfocus/tagignore: `key=regex`, `regex` (matched against "key:value"), or numeric ranges
  such as `64kb:1mb`, `:64kb`, `4mb:`, `32kb`, optionally `key=range`.
Regexes are unanchored searches, like Go's regexp.MatchString. Every filter returns a new
Profile; the source profile is not modified.
"""

from __future__ import annotations

import re
from dataclasses import replace

import numpy as np

from tui.core.pprof.arrays import aggregate_rows, intern_sequences
from tui.core.pprof.filterspec import FilterSpec, compile_filter
from tui.core.pprof.model import Profile
from tui.core.pprof.tagfilter import tag_predicate
from tui.errors import UserError

_RESERVED = ("(anonymous namespace)", "operator()")
_BRACKET_RX = re.compile("|".join(re.escape(x) for x in (*_RESERVED, "(")))


def simplify_func(name: str) -> str:
    """pprof's simplifyFunc: cut the argument list at the first '(' not in a reserved name."""
    f = name.removeprefix(".")
    for m in _BRACKET_RX.finditer(f):
        if m.group(0) not in _RESERVED:
            return f[: m.start()]
    return f


# ---- per-line and per-location matching ----------------------------------------------------


def _func_matches(p: Profile, rx: re.Pattern[str]) -> np.ndarray:
    """Per function: name or file name matches."""
    return np.fromiter(
        (bool(rx.search(n) or rx.search(f)) for n, f in zip(p.func_name, p.func_file, strict=True)),
        dtype=bool,
        count=len(p.func_name),
    )


def _mapping_matches(p: Profile, rx: re.Pattern[str]) -> np.ndarray:
    mm = np.array([bool(rx.search(f)) for f in p.mapping_file] + [False], dtype=bool)
    return mm[p.loc_mapping]  # loc_mapping -1 picks the trailing False


def _line_matches(p: Profile, rx: re.Pattern[str]) -> np.ndarray:
    fm = np.append(_func_matches(p, rx), False)
    return fm[p.line_func]  # line_func -1 (no function) never matches


def _loc_any(p: Profile, line_mask: np.ndarray) -> np.ndarray:
    counts = np.zeros(p.n_locations, dtype=np.int64)
    np.add.at(counts, p.line_loc, line_mask.astype(np.int64))
    return counts > 0


def _loc_match(p: Profile, rx: re.Pattern[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    lm = _line_matches(p, rx)
    mm = _mapping_matches(p, rx)
    return _loc_any(p, lm) | mm, lm, mm


# ---- rebuilding ----------------------------------------------------------------------------


def _with_lines(p: Profile, keep_line: np.ndarray) -> Profile:
    """New location line tables keeping the masked line entries."""
    counts = np.zeros(p.n_locations, dtype=np.int64)
    np.add.at(counts, p.line_loc, keep_line.astype(np.int64))
    start = np.zeros(p.n_locations + 1, dtype=np.int64)
    np.cumsum(counts, out=start[1:])
    return replace(
        p, loc_line_start=start, line_func=p.line_func[keep_line], line_no=p.line_no[keep_line]
    )


def _with_stacks(p: Profile, elem_keep: np.ndarray, stack_keep: np.ndarray) -> Profile:
    """Drop stack elements and whole stacks, re-intern stacks and re-aggregate rows."""
    s = p.n_stacks
    lens = np.diff(p.stack_start)
    stack_of = np.repeat(np.arange(s, dtype=np.int64), lens)
    ek = elem_keep & stack_keep[stack_of]
    new_lens = _per_stack(p, ek)
    off = np.zeros(s + 1, dtype=np.int64)
    np.cumsum(new_lens, out=off[1:])
    ids, uoff, uelems = intern_sequences(p.stack_locs[ek], off)
    rows = stack_keep[p.row_stack]
    row_stack = ids[p.row_stack[rows]]
    row_base = p.row_base[rows] if p.row_base is not None else None
    if row_base is not None:
        # keep base and current rows apart (pprof::base label) while re-aggregating
        labels = p.row_labels[rows].astype(np.int64) * 2 + row_base
        rs, rl, vals, _ = aggregate_rows(row_stack, labels, 2 * len(p.labelsets), p.values[rows])
        return replace(
            p,
            stack_start=uoff,
            stack_locs=uelems,
            row_stack=rs,
            row_labels=rl // 2,
            values=vals,
            row_base=(rl % 2).astype(bool),
            row_abs=None,
        )
    rs, rl, vals, _ = aggregate_rows(
        row_stack, p.row_labels[rows], len(p.labelsets), p.values[rows]
    )
    return replace(
        p,
        stack_start=uoff,
        stack_locs=uelems,
        row_stack=rs,
        row_labels=rl,
        values=vals,
        row_abs=None,
    )


def _per_stack(p: Profile, elem_mask: np.ndarray) -> np.ndarray:
    """Count of true stack elements per stack (cumsum differences, no scatter)."""
    cs = np.zeros(elem_mask.shape[0] + 1, dtype=np.int64)
    np.cumsum(elem_mask, out=cs[1:])
    return cs[p.stack_start[1:]] - cs[p.stack_start[:-1]]


def _stack_elem_index(p: Profile) -> tuple[np.ndarray, np.ndarray]:
    lens = np.diff(p.stack_start)
    stack_of = np.repeat(np.arange(p.n_stacks, dtype=np.int64), lens)
    pos = np.arange(p.stack_locs.shape[0], dtype=np.int64) - p.stack_start[stack_of]
    return stack_of, pos


# ---- the filters ---------------------------------------------------------------------------


def filter_by_name(
    p: Profile,
    focus: re.Pattern[str] | None,
    ignore: re.Pattern[str] | None,
    hide: re.Pattern[str] | None,
    show: re.Pattern[str] | None,
) -> Profile:
    nloc = p.n_locations
    focused = np.zeros(nloc, dtype=bool)
    ignored = np.zeros(nloc, dtype=bool)
    if ignore is not None:
        ignored = _loc_match(p, ignore)[0]
    focused = ~ignored if focus is None else _loc_match(p, focus)[0] & ~ignored
    keep_line = np.ones(p.line_func.shape[0], dtype=bool)
    if hide is not None:
        locm, lm, mm = _loc_match(p, hide)
        # lines of matching locations that match are removed; a mapping match removes all
        keep_line &= ~(locm[p.line_loc] & (lm | mm[p.line_loc]))
    if show is not None:
        lm = _line_matches(p, show)
        mm = _mapping_matches(p, show)
        real = p.line_func >= 0
        keep_line &= (lm | ~real | mm[p.line_loc]) & ~(
            (~real) & (np.diff(p.loc_line_start) == 1)[p.line_loc]
        )
    changed_lines = not bool(keep_line.all())
    hidden = np.zeros(nloc, dtype=bool)
    if changed_lines:
        hidden = ~_loc_any(p, keep_line)
    f_cnt = _per_stack(p, focused[p.stack_locs])
    i_cnt = _per_stack(p, ignored[p.stack_locs]) if ignore is not None else None
    stack_keep = f_cnt > 0
    if i_cnt is not None:
        stack_keep &= i_cnt == 0
    elem_keep = ~hidden[p.stack_locs]
    if changed_lines:
        stack_keep &= _per_stack(p, elem_keep) > 0
    out = _with_lines(p, keep_line) if changed_lines else p
    return _with_stacks(out, elem_keep, stack_keep)


def show_from(p: Profile, rx: re.Pattern[str]) -> Profile:
    lm = _line_matches(p, rx)
    mm = _mapping_matches(p, rx)
    nent = p.line_func.shape[0]
    # per location: last (outermost) matching line index; keep lines [0, i]
    ent_idx = np.arange(nent, dtype=np.int64)
    within = ent_idx - p.loc_line_start[p.line_loc]
    last = np.full(p.n_locations, -1, dtype=np.int64)
    np.maximum.at(last, p.line_loc[lm], within[lm])
    matched = (last >= 0) | mm
    keep_line = mm[p.line_loc] | (within <= last[p.line_loc])
    keep_line |= ~matched[p.line_loc]
    # per stack: highest (rootmost = largest index) matching location; keep [0, i]
    stack_of, pos = _stack_elem_index(p)
    s = p.n_stacks
    hi = np.full(s, -1, dtype=np.int64)
    em = matched[p.stack_locs]
    np.maximum.at(hi, stack_of[em], pos[em])
    out = _with_lines(p, keep_line)
    return _with_stacks(out, pos <= hi[stack_of], hi >= 0)


def prune_from(p: Profile, rx: re.Pattern[str], keep_rx: re.Pattern[str] | None = None) -> Profile:
    """pprof PruneFrom: drop frames beneath the lowest frame whose simplified name matches."""
    fm = np.array(
        [bool(n) and bool(rx.search(simplify_func(n))) for n in p.func_name] + [False], dtype=bool
    )
    lm = fm[p.line_func]
    nent = p.line_func.shape[0]
    within = np.arange(nent, dtype=np.int64) - p.loc_line_start[p.line_loc]
    first = np.full(p.n_locations, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first, p.line_loc[lm], within[lm])
    beneath = first < np.iinfo(np.int64).max
    keep_line = ~beneath[p.line_loc] | (within >= first[p.line_loc])
    stack_of, pos = _stack_elem_index(p)
    s = p.n_stacks
    lo = np.full(s, -1, dtype=np.int64)
    em = beneath[p.stack_locs]
    big = np.where(em, pos, np.iinfo(np.int64).max)
    lo_arr = np.full(s, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(lo_arr, stack_of, big)
    lo = np.where(lo_arr == np.iinfo(np.int64).max, 0, lo_arr)
    out = _with_lines(p, keep_line)
    return _with_stacks(out, pos >= lo[stack_of], np.ones(s, dtype=bool))


def prune_frames(p: Profile, drop: str, keep: str = "") -> Profile:
    """The profile's own drop_frames/keep_frames (pprof Prune, anchored regexes)."""
    try:
        drop_rx = re.compile(f"^(?:{drop})$")
        keep_rx = re.compile(f"^(?:{keep})$") if keep else None
    except re.error as exc:
        raise UserError(f"{p.source}: bad drop_frames/keep_frames regexp: {exc}") from None

    def pruned(name: str) -> bool:
        if not name:
            return False
        f = simplify_func(name)
        return bool(drop_rx.match(f)) and not (keep_rx is not None and keep_rx.match(f))

    fm = np.array([pruned(n) for n in p.func_name] + [False], dtype=bool)
    lm = fm[p.line_func]
    nent = p.line_func.shape[0]
    within = np.arange(nent, dtype=np.int64) - p.loc_line_start[p.line_loc]
    # scan from the outermost line: the first (outermost) match i; keep lines (i, end)
    last = np.full(p.n_locations, -1, dtype=np.int64)
    np.maximum.at(last, p.line_loc[lm], within[lm])
    nlines = np.diff(p.loc_line_start)
    prune_beneath = last >= 0
    prune_whole = prune_beneath & (last == nlines - 1)
    keep_line = ~prune_beneath[p.line_loc] | (within > last[p.line_loc]) | prune_whole[p.line_loc]
    stack_of, pos = _stack_elem_index(p)
    s = p.n_stacks
    lens = np.diff(p.stack_start)
    # scan from the root: skip leading pruned locations, then at the first pruned location
    # after a user frame, cut (whole prune: exclusive; prune beneath: inclusive)
    start_keep = np.zeros(s, dtype=np.int64)
    locs = p.stack_locs.tolist()
    st = p.stack_start.tolist()
    pb = prune_beneath.tolist()
    pw = prune_whole.tolist()
    for k in range(s):
        found_user = False
        a, b = st[k], st[k + 1]
        for i in range(b - 1, a - 1, -1):
            loc = locs[i]
            if not pw[loc] and not pb[loc]:
                found_user = True
                continue
            if not found_user:
                continue
            start_keep[k] = (i - a + 1) if pw[loc] else (i - a)
            break
    del lens
    out = _with_lines(p, keep_line)
    return _with_stacks(out, pos >= start_keep[stack_of], np.ones(s, dtype=bool))


def filter_by_tag(p: Profile, tagfocus: str | None, tagignore: str | None) -> Profile:
    keep_set = np.ones(len(p.labelsets), dtype=bool)
    if tagfocus:
        pred = tag_predicate("tagfocus", tagfocus)
        keep_set &= np.array([pred(ls) for ls in p.labelsets], dtype=bool)
    if tagignore:
        pred = tag_predicate("tagignore", tagignore)
        keep_set &= ~np.array([pred(ls) for ls in p.labelsets], dtype=bool)
    rows = keep_set[p.row_labels]
    used = np.zeros(p.n_stacks, dtype=bool)
    used[p.row_stack[rows]] = True
    p = replace(
        p,
        row_stack=p.row_stack[rows],
        row_labels=p.row_labels[rows],
        values=p.values[rows],
        row_base=p.row_base[rows] if p.row_base is not None else None,
        row_abs=None,
    )
    return _with_stacks(p, np.ones(p.stack_locs.shape[0], dtype=bool), used)


def apply_filters(profile: Profile, spec: FilterSpec | None = None) -> Profile:
    """A new Profile with pprof's filters applied in pprof's order; no filter = same profile."""
    spec = spec or FilterSpec()
    fx = compile_filter("focus", spec.focus)
    ix = compile_filter("ignore", spec.ignore)
    hx = compile_filter("hide", spec.hide)
    sx = compile_filter("show", spec.show)
    sfx = compile_filter("show_from", spec.show_from)
    pfx = compile_filter("prune_from", spec.prune_from)
    p = profile
    if fx or ix or hx or sx:
        p = filter_by_name(p, fx, ix, hx, sx)
    if sfx:
        p = show_from(p, sfx)
    if spec.tagfocus or spec.tagignore:
        p = filter_by_tag(p, spec.tagfocus, spec.tagignore)
    if pfx:
        p = prune_from(p, pfx)
    if p is not profile and p.fixed_totals is None:
        p = replace(p, fixed_totals=[profile.total(t) for t in range(profile.n_types)])
    return p
