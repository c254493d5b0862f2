"""The `keys:` section: binding id -> the keys that replace its defaults (Textual's keymap).

config must not import textual, so `BINDINGS` mirrors the ids the UI declares (every
`Binding(..., id=...)` in tui/ui; tests/ui/test_keymap.py checks both ways) with the view
that holds them and their default keys. A remap is refused, at its own line, when the id is
unknown (with the known ones), a key is not a key Textual can bind, or it takes a key another
binding of the same view keeps. The actions' keys are not here: `actions.NAME.key` sets them.
"""

from __future__ import annotations

import difflib
import string
import unicodedata

import yaml

from tui.config_yaml import ConfigError, located

# id -> (view, default keys). A view is where bindings compete for a key: one screen or one
# widget; "dashboard" is the app's (they work on every screen; the replay app adds its own),
# the dashboard screen's and the service table's, which has the focus there.
BINDINGS: dict[str, tuple[str, str]] = {
    "app.quit": ("dashboard", "q"),
    "app.help": ("dashboard", "question_mark"),
    "app.flame": ("dashboard", "f"),
    "app.diff_flame": ("dashboard", "d"),
    "app.pause": ("dashboard", "p,space"),
    "app.signal": ("dashboard", "s"),
    "app.signal.p50": ("dashboard", "1"),
    "app.signal.p95": ("dashboard", "2"),
    "app.signal.p99": ("dashboard", "3"),
    "app.zoom_in": ("dashboard", "plus,equals_sign"),
    "app.zoom_out": ("dashboard", "minus"),
    "app.window": ("dashboard", "w"),
    "app.theme": ("dashboard", "t"),
    "app.detail": ("dashboard", "x"),
    "app.pick_profiles": ("dashboard", "F"),
    "app.stop_action": ("dashboard", "ctrl+k"),
    "app.command_palette": ("dashboard", "ctrl+p"),
    "replay.pause": ("dashboard", "space"),
    "replay.forward": ("dashboard", "right"),
    "replay.back": ("dashboard", "left"),
    "replay.forward_minute": ("dashboard", "right_square_bracket"),
    "replay.back_minute": ("dashboard", "left_square_bracket"),
    "replay.start": ("dashboard", "home"),
    "replay.end": ("dashboard", "end"),
    "replay.faster": ("dashboard", "greater_than_sign"),
    "replay.slower": ("dashboard", "less_than_sign"),
    "focus.next": ("dashboard", "tab"),
    "focus.previous": ("dashboard", "shift+tab"),
    "cursor.up": ("dashboard", "up,k"),
    "cursor.down": ("dashboard", "down,j"),
    "cursor.pageup": ("dashboard", "pageup"),
    "cursor.pagedown": ("dashboard", "pagedown"),
    "cursor.first": ("dashboard", "home,g"),
    "cursor.last": ("dashboard", "end,G"),
    "services.filter": ("dashboard", "slash"),
    "services.routes": ("dashboard", "enter"),
    "detail.earlier": ("ServiceDetail", "left,h"),
    "detail.later": ("ServiceDetail", "right,l"),
    "detail.hide": ("ServiceDetail", "escape"),
    "detail.copy_trace": ("dashboard", "y"),
    "regression.sort": ("RegressionTable", "s"),
    "alerts.silence": ("AlertsPane", "s"),
    "alerts.expire": ("AlertsPane", "e"),
    "alerts.copy_runbook": ("AlertsPane", "c"),
    "help.close": ("HelpScreen", "escape,q,question_mark"),
    "confirm.cancel": ("ConfirmActionScreen", "escape"),
    "silence.cancel": ("SilenceScreen", "escape"),
    "expire.cancel": ("ExpireSilenceScreen", "escape"),
    "routes.back": ("RoutesScreen", "escape"),
    "routes.copy_trace": ("RoutesScreen", "y"),
    "routes.open_trace": ("RoutesScreen", "o"),
    "routes.down": ("RoutesScreen", "down,j"),
    "routes.up": ("RoutesScreen", "up,k"),
    "picker.open": ("ProfilePickerScreen", "enter"),
    "picker.base": ("ProfilePickerScreen", "b"),
    "picker.clear": ("ProfilePickerScreen", "x"),
    "picker.cancel": ("ProfilePickerScreen", "escape,q"),
    "flame.search": ("ProfileScreen", "slash"),
    "flame.sample_type": ("ProfileScreen", "s"),
    "flame.sandwich": ("ProfileScreen", "i"),
    "flame.focus": ("ProfileScreen", "F"),
    "flame.ignore": ("ProfileScreen", "I"),
    "flame.hide": ("ProfileScreen", "H"),
    "flame.reset": ("ProfileScreen", "r"),
    "flame.width": ("ProfileScreen", "w"),
    "flame.table": ("ProfileScreen", "t"),
    "flame.switch_focus": ("ProfileScreen", "tab"),
    "flame.follow": ("ProfileScreen", "z"),
    "flame.left_heavy": ("ProfileScreen", "L"),
    "flame.source": ("ProfileScreen", "v"),
    "flame.export": ("ProfileScreen", "e"),
    "flame.export_to": ("ProfileScreen", "E"),
    "flame.capture": ("ProfileScreen", "c"),
    "flame.back": ("ProfileScreen", "escape"),
    "flame.close": ("ProfileScreen", "q"),
    "listing.close": ("SourceListing", "escape,q,v"),
    "graph.left": ("FlameGraph", "left,h"),
    "graph.right": ("FlameGraph", "right,l"),
    "graph.up": ("FlameGraph", "up,k"),
    "graph.down": ("FlameGraph", "down,j"),
    "graph.zoom": ("FlameGraph", "enter"),
    "graph.zoom_back": ("FlameGraph", "escape"),
    "graph.zoom_root": ("FlameGraph", "home"),
    "graph.next_match": ("FlameGraph", "n"),
    "graph.previous_match": ("FlameGraph", "N"),
    "graph.flip": ("FlameGraph", "o"),
    "functions.by_flat": ("FunctionTable", "f"),
    "functions.by_cum": ("FunctionTable", "c"),
    "functions.by_name": ("FunctionTable", "a"),
}
ACTION_PREFIX = "action."  # the action keys' bindings: set by actions.NAME.key

MODIFIERS = ("ctrl", "shift", "alt", "meta", "super", "hyper")
NAMED_KEYS = frozenset(
    [
        "up",
        "down",
        "left",
        "right",
        "home",
        "end",
        "pageup",
        "pagedown",
        "insert",
        "delete",
        "backspace",
        "tab",
        "enter",
        "escape",
        "space",
        "backtab",
    ]
    + [f"f{i}" for i in range(1, 25)]
)
# Textual's replacements for some Unicode names (textual.keys.KEY_NAME_REPLACEMENTS)
_REPLACED = {
    "solidus": "slash",
    "reverse_solidus": "backslash",
    "commercial_at": "at",
    "hyphen_minus": "minus",
    "plus_sign": "plus",
    "low_line": "underscore",
}


def key_name(char: str) -> str:
    """The name Textual gives the key of one character: `?` is question_mark, `+` plus."""
    if char.isalnum():
        return char
    try:
        name = unicodedata.name(char).lower().replace("-", "_").replace(" ", "_")
    except ValueError:
        return char
    return _REPLACED.get(name, name)


CHARACTER_NAMES = frozenset(key_name(c) for c in string.punctuation)


def normalize(keys: str) -> list[str]:
    """`"?, ctrl+k"` -> ["question_mark", "ctrl+k"], as Textual's keymap reads it."""
    return [key_name(k) if len(k) == 1 else k for k in (k.strip() for k in keys.split(","))]


def key_problem(keys: str) -> str | None:
    """Why `keys` (comma-separated, like a Binding's) cannot be bound, or None."""
    for key in (k.strip() for k in keys.split(",")):
        if not key:
            return f"{keys!r} has an empty key (keys are separated by commas: 'p,space')"
        *mods, base = key.split("+") if len(key) > 1 else [key]
        bad_mod = next((m for m in mods if m not in MODIFIERS), None)
        if bad_mod is not None:
            return f"{key!r}: unknown modifier {bad_mod!r} (modifiers: {', '.join(MODIFIERS)})"
        if len(base) == 1 and base.isprintable() and not base.isspace():
            continue
        if base in NAMED_KEYS or base in CHARACTER_NAMES:
            continue
        close = difflib.get_close_matches(base, [*NAMED_KEYS, *CHARACTER_NAMES], 1, 0.6)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        return (
            f"{key!r} is not a key{hint} (a character such as 'r' or '?', a name such as "
            "'escape', 'f5', 'pagedown', or with modifiers: 'ctrl+r')"
        )
    return None


def _clash(binding_id: str, keymap: dict[str, str]) -> str | None:
    """A key of the remapped `binding_id` that another binding of its view keeps."""
    view, own_default = BINDINGS[binding_id]
    mine = normalize(keymap[binding_id])
    for other, (other_view, default) in BINDINGS.items():
        if other == binding_id or other_view != view:
            continue
        taken = set(normalize(keymap.get(other, default)))
        # a key both had by default is no new clash (replay.pause and app.pause: space)
        shared = set() if other in keymap else {*normalize(own_default)} & {*normalize(default)}
        for key in mine:
            if key in taken and key not in shared:
                how = "remapped to it" if other in keymap else "its default"
                return f"{key!r} is already {other}'s key ({how}); remap {other} as well"
    return None


def check_keys(root: yaml.Node, file: str) -> list[ConfigError]:
    """Every mistake of the `keys:` mapping of `root`, each at its own line (a value that is
    not a string is the schema's to report)."""
    node = _section(root)
    if node is None:
        return []
    keymap = {str(k.value): str(v.value) for k, v in node.value if isinstance(v, yaml.ScalarNode)}
    errors = []
    for knode, vnode in node.value:
        binding_id = str(knode.value)
        path = f"keys.{binding_id}"
        if not isinstance(vnode, yaml.ScalarNode):
            continue
        if binding_id.startswith(ACTION_PREFIX):
            name = binding_id.removeprefix(ACTION_PREFIX)
            message = f"an action's key is set with actions.{name}.key, not here"
            errors.append(located(file, knode, path, message))
            continue
        if binding_id not in BINDINGS:
            close = difflib.get_close_matches(binding_id, list(BINDINGS), 1, 0.6)
            hint = f"did you mean {close[0]!r}? " if close else ""
            message = f"unknown binding id; {hint}(known: {', '.join(BINDINGS)})"
            errors.append(located(file, knode, path, message))
            continue
        problem = key_problem(keymap[binding_id]) or _clash(binding_id, keymap)
        if problem:
            errors.append(located(file, vnode, path, problem))
    return errors


def _section(root: yaml.Node) -> yaml.MappingNode | None:
    if not isinstance(root, yaml.MappingNode):
        return None
    node = next((v for k, v in root.value if str(k.value) == "keys"), None)
    return node if isinstance(node, yaml.MappingNode) else None
