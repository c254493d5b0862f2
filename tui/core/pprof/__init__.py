"""pprof engine: decode profile.proto, columnar model, preorder call tree, pprof-exact tables.

Pure (numpy + protobuf): no Textual, no network. Public API:
- load_profile(path_or_bytes) -> Profile
- Profile.sample_types, .default_index, .frames, .tree (CallTree), .sample_index(name)
- function_table(profile, sample_index, granularity="function") -> list[FunctionRow]
- apply_filters(profile, focus=, ignore=, hide=, show=, show_from=, prune_from=, tagfocus=,
  tagignore=) -> Profile
- diff_profiles(base, cur, normalize=False) -> Profile (pprof -diff_base), diff_trees(...) ->
  DiffTree, rank_regressions(base, cur, sample_index) -> RegressionReport
- to_folded(profile, sample_index) / parse_folded(text)
"""

from tui.core.pprof.decode import load_profile
from tui.core.pprof.model import CallTree, Frames, LabelSet, Profile

__all__ = ["CallTree", "Frames", "LabelSet", "Profile", "load_profile"]
