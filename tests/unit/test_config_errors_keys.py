"""`keys:` mistakes: each at its own line, with what is wrong and what would be right."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tui.config import ConfigError, parse_config
from tui.config_keys import BINDINGS, key_problem, normalize

WARROOM = Path(sys.executable).parent / "warroom"


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(text, "k.yaml")
    return info.value.problems


def test_a_good_keys_section_is_kept_as_written() -> None:
    cfg = parse_config('keys:\n  app.help: "?"\n  app.pause: "p, ctrl+space"\n  cursor.down: n\n')
    assert cfg.keys == {"app.help": "?", "app.pause": "p, ctrl+space", "cursor.down": "n"}
    assert normalize(cfg.keys["app.help"]) == ["question_mark"]


def test_unknown_id_suggests_the_closest_and_lists_the_known_ones() -> None:
    (line,) = problems("keys:\n  app.flam: g\n")
    assert line.startswith("k.yaml:2: keys.app.flam: unknown binding id; did you mean 'app.flame'?")
    assert all(binding_id in line for binding_id in BINDINGS)


def test_an_action_key_is_pointed_to_the_actions_section() -> None:
    assert problems("keys:\n  action.rollback: R\n") == [
        "k.yaml:2: keys.action.rollback: an action's key is set with actions.rollback.key, not here"
    ]


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("funky", "'funky' is not a key"),
        ("escpe", "'escpe' is not a key; did you mean 'escape'?"),
        ("ctrl+", "'ctrl+' is not a key"),
        ("cmd+r", "'cmd+r': unknown modifier 'cmd' (modifiers: ctrl, shift, alt, meta"),
        ("'a,,b'", "'a,,b' has an empty key (keys are separated by commas: 'p,space')"),
        ('""', "'' has an empty key"),
        ("Ctrl+h", "'Ctrl+h': unknown modifier 'Ctrl'"),  # Textual's modifiers are lower case
    ],
)
def test_a_value_that_is_not_a_key(value: str, why: str) -> None:
    (line,) = problems(f"refresh: 5s\nkeys:\n  app.detail: {value}\n")
    assert line.startswith(f"k.yaml:3: keys.app.detail: {why}"), line


def test_a_key_another_binding_of_the_view_keeps_is_refused() -> None:
    # q quits; g is the service table's first-service key, which has the focus there
    assert problems("keys:\n  app.theme: q\n  app.flame: g\n") == [
        "k.yaml:2: keys.app.theme: 'q' is already app.quit's key (its default); "
        "remap app.quit as well",
        "k.yaml:3: keys.app.flame: 'g' is already cursor.first's key (its default); "
        "remap cursor.first as well",
    ]
    # moving quit away frees q; two remaps onto one key are both reported
    assert parse_config("keys:\n  app.theme: q\n  app.quit: Q\n").keys["app.theme"] == "q"
    assert problems("keys:\n  app.theme: y\n  app.window: y\n") == [
        "k.yaml:2: keys.app.theme: 'y' is already app.window's key (remapped to it); "
        "remap app.window as well",
        "k.yaml:3: keys.app.window: 'y' is already app.theme's key (remapped to it); "
        "remap app.theme as well",
    ]


def test_keys_other_views_use_are_free() -> None:
    # s sorts the regression table and silences an alert; on the flame screen q closes it
    cfg = parse_config("keys:\n  app.signal: S\n  flame.sample_type: q\n  flame.close: x\n")
    assert cfg.keys["flame.sample_type"] == "q"
    # space stays app.pause's as it is replay.pause's: a default both had is no new clash
    assert parse_config("keys:\n  app.pause: space\n").keys == {"app.pause": "space"}


def test_not_a_mapping_or_not_a_string() -> None:
    assert problems("keys: [q]\n") == ["k.yaml:1: keys: expected a mapping"]
    assert problems("keys:\n") == ["k.yaml:1: keys: expected a mapping, got nothing"]
    assert problems("keys:\n  app.quit: [q, x]\n") == ["k.yaml:2: keys.app.quit: expected a string"]


def test_every_default_is_a_key() -> None:
    assert [k for k, (_, keys) in BINDINGS.items() if key_problem(keys)] == []


def test_config_check_reports_every_keys_mistake(tmp_path: Path) -> None:
    path = tmp_path / "warroom.yaml"
    path.write_text("keys:\n  app.flam: g\n  app.theme: funky\n")
    done = subprocess.run(
        [str(WARROOM), "config", "check", str(path)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    assert lines[0].startswith(f"warroom: {path}:2: keys.app.flam: unknown binding id")
    assert lines[1].startswith(f"warroom: {path}:3: keys.app.theme: 'funky' is not a key")
    assert lines[2] == f"warroom: 2 errors in {path}"


def test_the_readme_example_is_a_valid_keys_section() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    example = readme.split("```yaml\nkeys:\n", 1)[1].split("```", 1)[0]
    cfg = parse_config("keys:\n" + example, "README.md")
    assert cfg.keys["app.flame"] == "g,f" and cfg.keys["cursor.first"] == "home"
