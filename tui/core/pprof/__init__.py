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

Where things live: load.py reads a file (gzip, folded or protobuf) and applies its
drop_frames; decode.py turns profile.proto into the model (its docstring maps the decoder's
modules: records, layout, samples, arrays, limits, wire); model.py holds Profile and the tree.

The names are imported on first use (PEP 562): importing any submodule runs this file first,
and `warroom profile --top` should not pay for diff and significance testing it never calls.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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
    from tui.core.pprof.load import load_profile
    from tui.core.pprof.model import CallTree, Frames, LabelSet, Profile
    from tui.core.pprof.table import FunctionRow, function_table

# public name -> the submodule that defines it
_HOME = {
    "load_profile": "load",
    "CallTree": "model",
    "Frames": "model",
    "LabelSet": "model",
    "Profile": "model",
    "DiffTree": "diff",
    "RegressionReport": "diff",
    "RegressionRow": "diff",
    "diff_profiles": "diff",
    "diff_trees": "diff",
    "rank_regressions": "diff",
    "apply_filters": "filters",
    "FilterSpec": "filterspec",
    "parse_folded": "folded",
    "to_folded": "folded",
    "FunctionRow": "table",
    "function_table": "table",
}

__all__ = [
    "CallTree",
    "DiffTree",
    "FilterSpec",
    "Frames",
    "FunctionRow",
    "LabelSet",
    "Profile",
    "RegressionReport",
    "RegressionRow",
    "apply_filters",
    "diff_profiles",
    "diff_trees",
    "function_table",
    "load_profile",
    "parse_folded",
    "rank_regressions",
    "to_folded",
]


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_HOME))
