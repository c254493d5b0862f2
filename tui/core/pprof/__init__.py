"""pprof engine: decode profile.proto, columnar model, preorder call tree, pprof-exact tables.

Pure (numpy + protobuf): no Textual, no network. Public API:
- load_profile(path_or_bytes) -> Profile
- Profile.sample_types, .default_index, .frames, .tree (CallTree), .sample_index(name)
- function_table(profile, sample_index, granularity="function") -> list[FunctionRow]
- apply_filters(profile, FilterSpec(focus=, ignore=, hide=, show=, show_from=, prune_from=,
  tagfocus=, tagignore=)) -> Profile
- diff_profiles(base, cur, normalize=False) -> Profile (pprof -diff_base), diff_trees(...) ->
  DiffTree, rank_regressions(base, cur, sample_index) -> RegressionReport
- to_folded(profile, sample_index) / parse_folded(text)
"""

from tui.core.pprof.decode import load_profile
from tui.core.pprof.model import CallTree, Frames, LabelSet, Profile

__all__ = ["CallTree", "Frames", "LabelSet", "Profile", "load_profile"]

from tui.core.pprof.diff import (
    DiffTree,
    RegressionReport,
    RegressionRow,
    diff_profiles,
    diff_trees,
    rank_regressions,
)
from tui.core.pprof.filters import apply_filters
from tui.core.pprof.filterspec import FilterSpec
from tui.core.pprof.folded import parse_folded, to_folded
from tui.core.pprof.table import FunctionRow, function_table

__all__ += [
    "DiffTree",
    "FilterSpec",
    "FunctionRow",
    "RegressionReport",
    "RegressionRow",
    "apply_filters",
    "diff_profiles",
    "diff_trees",
    "function_table",
    "parse_folded",
    "rank_regressions",
    "to_folded",
]
