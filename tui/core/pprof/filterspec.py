"""`FilterSpec`: the pprof filters of one view, as one value.

Every caller (the `profile` command, the viewer, `check`) builds one and hands it to
`apply_filters(profile, spec)`; the field names are pprof's flags (`-focus`, `-show_from`, ...).
Regexes are kept as text so a spec is hashable, comparable and printable (the viewer's title);
`check()` compiles every one of them and raises the UserError a bad one deserves.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, fields

from tui.core.pprof.tagfilter import tag_predicate
from tui.errors import UserError

REGEX_FILTERS = ("focus", "ignore", "hide", "show", "show_from", "prune_from")
TAG_FILTERS = ("tagfocus", "tagignore")


@dataclass(frozen=True)
class FilterSpec:
    """pprof's filters, applied in pprof's order by `apply_filters` (see filters.py).

    focus/ignore/hide/show/show_from/prune_from are regexes (unanchored searches, as Go's
    regexp.MatchString); tagfocus/tagignore are `key=regex`, `regex` or numeric ranges such
    as `64kb:1mb`. None or "" means "not set".
    """

    focus: str | None = None
    ignore: str | None = None
    hide: str | None = None
    show: str | None = None
    show_from: str | None = None
    prune_from: str | None = None
    tagfocus: str | None = None
    tagignore: str | None = None

    def items(self) -> Iterator[tuple[str, str]]:
        """The filters that are set, as (pprof name, value), in pprof's order of application."""
        for f in fields(self):
            value = getattr(self, f.name)
            if value:
                yield f.name, value

    def is_empty(self) -> bool:
        return next(self.items(), None) is None

    def check(self) -> None:
        """Raise UserError naming the flag when a regex or a tag filter does not parse."""
        for name, value in self.items():
            if name in TAG_FILTERS:
                tag_predicate(name, value)
            else:
                compile_filter(name, value)

    @classmethod
    def from_lists(cls, filters: Mapping[str, Sequence[str]]) -> FilterSpec:
        """Several values of one filter: regexes match as alternatives, the last tag filter
        wins (pprof takes one value per flag)."""
        kw: dict[str, str | None] = {}
        for name, values in filters.items():
            if name not in REGEX_FILTERS and name not in TAG_FILTERS:
                raise ValueError(f"unknown filter {name!r}")
            if not values:
                kw[name] = None
            elif name in TAG_FILTERS or len(values) == 1:
                kw[name] = values[-1]
            else:
                kw[name] = "|".join(f"(?:{v})" for v in values)
        return cls(**kw)


def compile_filter(name: str, value: str | None) -> re.Pattern[str] | None:
    """The compiled regex of a filter (None when unset); a bad one names its flag."""
    if not value:
        return None
    try:
        return re.compile(value)
    except re.error as exc:
        raise UserError(
            f"--{name.replace('_', '-')}: bad regular expression {value!r}: {exc}"
        ) from None
