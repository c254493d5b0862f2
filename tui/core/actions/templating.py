"""Action templates: which placeholders exist, the pattern a value must match, substitution.

Every value is checked against SAFE_VALUE before it is substituted, so a series label like
`a; rm -rf /` can never become part of a command; a secret is never a template. Resolving a
whole action from config is tui.core.actions.spec; redaction of what is shown is redact.py.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from typing import Any

from tui.config import Secret

SAFE_VALUE = re.compile(r"^[A-Za-z0-9._:/@+-]{1,253}$")
TEMPLATE_NAMES = ("service", "namespace", "version", "baseline_version", "revision", "user")


class Refused(Exception):
    """A template value that is missing or unsafe: the action refuses and names it."""


def placeholders(template: str) -> list[str]:
    """Placeholder names in `template`; ValueError for a broken or unknown placeholder."""
    names = []
    for _, name, spec, conv in string.Formatter().parse(template):
        if name is None:
            continue
        if name not in TEMPLATE_NAMES:
            raise ValueError(
                f"unknown placeholder {{{name}}} in {template!r} "
                f"(known: {', '.join('{' + n + '}' for n in TEMPLATE_NAMES)})"
            )
        if spec or conv:
            raise ValueError(f"placeholder {{{name}}} in {template!r} takes no format")
        names.append(name)
    return names


def check_value(name: str, value: str | None, service: str) -> str:
    """Return `value` when safe to substitute; raise Refused naming it otherwise."""
    if value is None or value == "":
        raise Refused(f"the template needs {{{name}}} but {service!r} has no {name}")
    if not SAFE_VALUE.fullmatch(value):  # fullmatch: `$` alone lets a trailing \n through
        raise Refused(
            f"unsafe value for {{{name}}}: {value!r} (allowed: 1-253 of A-Z a-z 0-9 . _ : / @ + -)"
        )
    return value


def render(template: str | Secret, values: Mapping[str, str | None], service: str) -> str:
    """Substitute checked values; a secret is used as is (it is never a template)."""
    if isinstance(template, Secret):
        return template.reveal()
    names = placeholders(template)
    checked = {n: check_value(n, values.get(n), service) for n in names}
    return template.format_map(checked)


def render_json(value: Any, values: Mapping[str, str | None], service: str) -> Any:
    """Render every string inside a JSON body; other values stay as they are."""
    if isinstance(value, str):
        return render(value, values, service)
    if isinstance(value, list):
        return [render_json(v, values, service) for v in value]
    if isinstance(value, dict):
        return {k: render_json(v, values, service) for k, v in value.items()}
    return value


def json_strings(value: Any) -> list[str]:
    """Every string inside a JSON body (each may hold placeholders)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [s for v in value for s in json_strings(v)]
    if isinstance(value, dict):
        return [s for v in value.values() for s in json_strings(v)]
    return []
