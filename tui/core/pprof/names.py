"""Function names for narrow places: pprof's shortening, fallbacks, labels, packages.

A Go symbol carries its whole import path (`github.com/prometheus/prometheus/tsdb.(*DB).Compact`),
which fills a table column before the part that tells functions apart. `shorten` is pprof's
`graph.ShortenFunctionName` (the names of its flame graph and `-dot` output), so a name reads
the same here as in `go tool pprof -http`; the full name stays the key of every row and is
shown when the row is selected.
"""

from __future__ import annotations

import re

# pprof internal/graph/graph.go, the patterns in their order of use
_CPP_ANONYMOUS_PREFIX = re.compile(r"^\(anonymous namespace\)::")
_GO_VERSION = re.compile(r"^(.*?)/v(?:[2-9]|[1-9][0-9]+)([./].*)$")
_SHORTENERS = (
    re.compile(r"^(?:[\w\-\.]+/)+(.+)"),  # Go: drop the import path
    re.compile(r"^(?:[a-z]\w*\.)*([A-Z][\w\$]*\.(?:<init>|[a-z][\w\$]*(?:\$\d+)?))(?:(?:\()|$)"),
    re.compile(r"^(?:[_a-zA-Z]\w*::)+(_*[A-Z]\w*::~?[_a-zA-Z]\w*(?:<.*>)?)"),  # C++
)


def shorten(name: str) -> str:
    """pprof's ShortenFunctionName: `github.com/x/pkg/v2.(*T).M` -> `pkg.(*T).M`."""
    name = _CPP_ANONYMOUS_PREFIX.sub("", name)
    name = _GO_VERSION.sub(r"\1\2", name)
    for rx in _SHORTENERS:
        m = rx.match(name)
        if m is not None:
            return "".join(g or "" for g in m.groups())
    return name


def _split_package(name: str) -> tuple[str, str]:
    """('github.com/x/pkg', '(*T).M') for a Go symbol; ('', name) when there is no package."""
    cut = len(name)
    for ch in "([":
        p = name.find(ch)
        if p != -1:
            cut = min(cut, p)
    slash = name.rfind("/", 0, cut)
    dot = name.find(".", slash + 1, cut if cut < len(name) else None)
    if dot <= 0 or " " in name[:dot] or "::" in name[:dot]:
        return "", name
    return name[:dot], name[dot + 1 :]


def package_of(name: str) -> str:
    return _split_package(name)[0]


def short_names(name: str) -> list[str]:
    """Fallbacks from long to short: `github.com/x/pkg.(*T).M`, `pkg.(*T).M`, `M`."""
    out = [name, shorten(name)]
    pkg, rest = _split_package(name)
    if pkg:
        if rest.startswith("("):
            close = rest.find(").")
            if close != -1:
                rest = rest[close + 2 :]
        out.append(rest)
    elif "::" in name:
        out.append(name.rsplit("::", 1)[-1])
    seen: list[str] = []
    for s in out:
        if s and s not in seen:
            seen.append(s)
    return seen


def fit_label(name: str, width: int) -> str:
    """The longest fallback name that fits in `width` cells, else the shortest cut with '…'."""
    if width <= 0:
        return ""
    names = short_names(name)
    for s in names:
        if len(s) <= width:
            return s
    last = names[-1]
    return last[: width - 1] + "…" if width > 1 else last[:1]
