"""Themes as YAML files (themes/*.yaml) turned into Textual `Theme` objects.

Themes live outside the code so an operator can read and adjust them; every key is checked
so a typo in a theme file is an error that names the file and key, not a silent default.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import yaml
from textual.color import Color, ColorParseError
from textual.theme import Theme

from tui.errors import UserError

THEME_ORDER = ("warroom", "bastion", "wall", "paper")
DEFAULT_THEME = "warroom"

_COLOR_KEYS = (
    "primary",
    "secondary",
    "warning",
    "error",
    "success",
    "accent",
    "foreground",
    "background",
    "surface",
    "panel",
    "boost",
)
_OTHER_KEYS = {"name", "dark", "ansi", "luminosity_spread", "text_alpha", "variables"}
# libyaml's safe loader when PyYAML has it (the same documents, a few ms less at start-up)
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# Theme variables that are not colours (read by the widgets themselves).
_NON_COLOR_VARIABLES = {"spark-height", "input-cursor-text-style"}


class ThemeError(UserError):
    """A theme file that cannot be used: `FILE: key: problem`."""


def themes_dir() -> Path:
    """themes/ beside the package in a checkout, or tui/_themes in an installed wheel."""
    here = Path(__file__).resolve()
    for candidate in (here.parents[2] / "themes", here.parents[1] / "_themes"):
        if candidate.is_dir():
            return candidate
    raise ThemeError(f"no themes directory found near {here.parents[1]}")


def _check_color(path: Path, key: str, value: object, ansi_only: bool) -> str:
    if not isinstance(value, str):
        raise ThemeError(f"{path}: {key}: expected a colour string, got {value!r}")
    try:
        Color.parse(value)
    except ColorParseError:
        raise ThemeError(f"{path}: {key}: {value!r} is not a colour") from None
    if ansi_only and not value.startswith("ansi_"):
        raise ThemeError(f"{path}: {key}: an ansi theme takes ansi_* colours only, got {value!r}")
    return value


def load_theme_file(path: Path) -> Theme:
    """Parse one theme file; raise ThemeError naming the file and key on any mistake."""
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_SAFE_LOADER)
    except (OSError, UnicodeDecodeError) as exc:
        raise ThemeError(f"{path}: cannot read theme: {exc}") from None
    except yaml.YAMLError as exc:
        raise ThemeError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ThemeError(f"{path}: expected a mapping of theme keys")
    unknown = set(data) - set(_COLOR_KEYS) - _OTHER_KEYS
    if unknown:
        raise ThemeError(f"{path}: {sorted(unknown)[0]}: unknown theme key")
    name = data.get("name")
    if not isinstance(name, str) or not name:
        raise ThemeError(f"{path}: name: required, a string")
    ansi = bool(data.get("ansi", False))
    kwargs: dict[str, object] = {"name": name, "ansi": ansi, "dark": bool(data.get("dark", True))}
    if "primary" not in data:
        raise ThemeError(f"{path}: primary: required")
    for key in _COLOR_KEYS:
        if key in data:
            kwargs[key] = _check_color(path, key, data[key], ansi)
    for key in ("luminosity_spread", "text_alpha"):
        if key in data:
            if not isinstance(data[key], (int, float)):
                raise ThemeError(f"{path}: {key}: expected a number")
            kwargs[key] = float(data[key])
    variables = data.get("variables") or {}
    if not isinstance(variables, dict):
        raise ThemeError(f"{path}: variables: expected a mapping")
    out_vars: dict[str, str] = {}
    for key, value in variables.items():
        if key in _NON_COLOR_VARIABLES:
            out_vars[str(key)] = str(value)
        else:
            out_vars[str(key)] = _check_color(path, f"variables.{key}", value, ansi)
    kwargs["variables"] = out_vars
    field_names = {f.name for f in dataclasses.fields(Theme)}
    return Theme(**{k: v for k, v in kwargs.items() if k in field_names})  # type: ignore[arg-type]


def load_themes(directory: Path | None = None) -> dict[str, Theme]:
    """All themes in `directory` (default: the bundled themes), by name, in THEME_ORDER first."""
    d = directory or themes_dir()
    themes: dict[str, Theme] = {}
    for path in sorted(d.glob("*.yaml")):
        theme = load_theme_file(path)
        themes[theme.name] = theme
    ordered = {n: themes[n] for n in THEME_ORDER if n in themes}
    ordered.update({n: t for n, t in themes.items() if n not in ordered})
    return ordered


def spark_height(theme: Theme) -> int:
    """Rows per sparkline for a theme (wall draws taller ones)."""
    try:
        return max(1, min(4, int(theme.variables.get("spark-height", "1"))))
    except ValueError:
        return 1
