"""Checks of single config values that the schema's classes share: URLs, names, templates.

Pure functions that say why a value cannot work (or None), so that each section's
`_problems` can report every mistake at once; the schema itself is tui/config.py.
"""

from __future__ import annotations

import difflib
import re
import string
from pathlib import Path


def http_url_problem(url: str) -> str | None:
    """Why `url` cannot be an http(s) base URL, or None: a scheme and a host are required."""
    from urllib.parse import urlsplit

    if not re.match(r"^https?://", url):
        return f"must start with http:// or https://, got {url!r}"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port out of range or not a number
    except ValueError:
        return f"has a bad port (1-65535), got {url!r}"
    if not parts.hostname:
        return f"has no host, got {url!r}"
    return None


def url_problems(url: str) -> list[str]:
    """`url: why` when `url` is no http(s) base URL: the first of a section's problems."""
    problem = http_url_problem(url)
    return [f"url: {problem}"] if problem else []


# Known names for baseline.min_effect keys. Signals are matched exactly by the regression
# check (tui/core/metrics/store.py SIGNALS); bench units are whatever `go test -bench` prints,
# custom units from b.ReportMetric included, so any UNIT/UNIT key is a unit. These mirror
# tui/core (config must not import numpy-heavy modules); tests/unit/test_config.py checks that.
MIN_EFFECT_SIGNALS = ("p50", "p95", "p99", "qps", "error_ratio")
MIN_EFFECT_UNITS = ("ns/op", "sec/op", "B/op", "allocs/op", "MB/s", "B/s")

# Built-in theme names (themes/*.yaml; tui/ui/theme.py THEME_ORDER). config.py must not
# import textual, so the loader compares against these plus any theme file found on disk.
THEME_NAMES = ("warroom", "bastion", "wall", "paper")


def known_themes() -> list[str]:
    """Built-in theme names, then any other theme file beside the package (same search as
    tui/ui/theme.py themes_dir)."""
    here = Path(__file__).resolve()
    names = list(THEME_NAMES)
    for d in (here.parents[1] / "themes", here.parent / "_themes"):
        if d.is_dir():
            names += sorted(p.stem for p in d.glob("*.yaml") if p.stem not in names)
            break
    return names


def min_effect_key_problem(key: str) -> str | None:
    """Why `key` cannot be a baseline.min_effect key (it would silently never apply), or None."""
    if key in MIN_EFFECT_SIGNALS or key in MIN_EFFECT_UNITS:
        return None
    known = [*MIN_EFFECT_SIGNALS, *MIN_EFFECT_UNITS]
    if "/" in key and key.count("/") == 1 and all(key.split("/")):
        same_case = [u for u in MIN_EFFECT_UNITS if u.lower() == key.lower()]
        if same_case:  # units are case-sensitive: b/op never matches B/op
            return f"unknown unit; did you mean {same_case[0]!r}?"
        return None  # a custom bench unit (b.ReportMetric), e.g. items/op or req/s
    close = difflib.get_close_matches(key, known, 1, 0.5)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return (
        f"unknown signal or unit{hint} (signals: {', '.join(MIN_EFFECT_SIGNALS)}; "
        "bench units look like ns/op, B/op, allocs/op, MB/s)"
    )


TRACE_URL_FIELDS = ("trace_id", "span_id", "service")  # what a trace_url template may name


def trace_url_problem(template: str) -> str | None:
    """Why `template` cannot be a trace_url, or None. It must be an http(s) URL naming
    {trace_id}; the other fields it may use are {span_id} and {service}."""
    if not re.match(r"^https?://[^/\s]+", template):
        return f"must start with http:// or https:// and a host, got {template!r}"
    try:
        parts = [(f, spec, conv) for _, f, spec, conv in string.Formatter().parse(template)]
    except ValueError as exc:
        return f"is not a valid template ({exc}): {template!r}"
    fields = [f for f, _, _ in parts if f is not None]
    specs = [(spec, conv) for f, spec, conv in parts if f is not None]
    unknown = sorted({f for f in fields if f not in TRACE_URL_FIELDS})
    if unknown:
        return (
            f"unknown field {{{unknown[0]}}} (fields: "
            f"{', '.join('{' + f + '}' for f in TRACE_URL_FIELDS)}), got {template!r}"
        )
    if any(spec or conv for spec, conv in specs):
        return f"fields take no format spec or conversion, got {template!r}"
    if "trace_id" not in fields:
        return f"must contain {{trace_id}}, got {template!r}"
    return None
