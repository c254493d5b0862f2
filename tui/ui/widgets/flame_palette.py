"""The flame graph's colours: one block style per package class, the diverging diff scale and
the muted/match styles, all from the app's theme variables (`flame-0`..`flame-7`, `diff-*`,
`flame-muted`, `flame-match` override the defaults), so the 16-colour bastion theme stays
within ANSI colours.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.style import Style
from textual.color import Color

from tui.core.pprof.flamediff import DIFF_NEW, DIFF_VANISHED

_ANSI_PACKAGES = [
    "ansi_yellow",
    "ansi_cyan",
    "ansi_green",
    "ansi_magenta",
    "ansi_bright_yellow",
    "ansi_bright_cyan",
    "ansi_bright_green",
    "ansi_bright_magenta",
]
_TRUE_PACKAGES = [
    "warning",
    "primary-lighten-1",
    "success",
    "accent-darken-1",
    "secondary-lighten-2",
    "warning-darken-2",
    "success-darken-1",
    "primary-darken-1",
]
# Diverging blue (less share: better) / orange (more share: worse); new frames purple.
_ANSI_DIFF = {
    -3: "ansi_blue",
    -2: "ansi_bright_blue",
    -1: "ansi_cyan",
    0: "ansi_bright_black",
    1: "ansi_bright_yellow",
    2: "ansi_yellow",
    3: "ansi_red",
    DIFF_NEW: "ansi_magenta",
    DIFF_VANISHED: "ansi_white",
}
_TRUE_DIFF = {
    -3: "#2166ac",
    -2: "#4393c3",
    -1: "#92c5de",
    0: "#6e7681",
    1: "#fdb863",
    2: "#e66101",
    3: "#b35806",
    DIFF_NEW: "#8073ac",
    DIFF_VANISHED: "#d9d9d9",
}
DIFF_VARIABLE = {
    -3: "diff-better-3",
    -2: "diff-better-2",
    -1: "diff-better-1",
    0: "diff-neutral",
    1: "diff-worse-1",
    2: "diff-worse-2",
    3: "diff-worse-3",
    DIFF_NEW: "diff-new",
    DIFF_VANISHED: "diff-vanished",
}


@dataclass
class Palette:
    packages: list[Style]
    muted: Style
    match: Style
    diff: dict[int, Style]
    blank: Style

    @classmethod
    def from_variables(cls, variables: dict[str, str], ansi: bool) -> Palette:
        """Styles from theme variables (`flame-0`..`flame-7`, `diff-*` override defaults)."""

        def color(name: str) -> Color:
            try:
                return Color.parse(variables.get(name, name))
            except Exception:
                return Color.parse("ansi_white" if ansi else "#888888")

        def block(c: Color) -> Style:
            if ansi:
                fg = Color.parse("ansi_black")
            else:
                fg = Color(0, 0, 0) if c.brightness > 0.5 else Color(255, 255, 255)
            return Style(color=fg.rich_color, bgcolor=c.rich_color)

        base = _ANSI_PACKAGES if ansi else _TRUE_PACKAGES
        packages = [block(color(variables.get(f"flame-{i}", base[i]))) for i in range(8)]
        diff_defaults = _ANSI_DIFF if ansi else _TRUE_DIFF
        diff = {
            k: block(color(variables.get(v, diff_defaults[k]))) for k, v in DIFF_VARIABLE.items()
        }
        muted_c = color(variables.get("flame-muted", "ansi_bright_black" if ansi else "panel"))
        muted = Style(
            color=color("ansi_white" if ansi else "foreground-muted").rich_color,
            bgcolor=muted_c.rich_color,
        )
        match_c = color(variables.get("flame-match", "ansi_bright_magenta" if ansi else "error"))
        return cls(packages, muted, block(match_c) + Style(bold=True), diff, Style())
