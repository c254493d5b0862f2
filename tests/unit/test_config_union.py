"""A value that may be a string or a secret: the secret's own error wins when it is a mapping."""

from __future__ import annotations

import pytest

from tui.config import ConfigError, parse_config

HOOK = """
actions:
  hook:
    http:
      url: http://127.0.0.1:1/x
      headers: {Authorization: %s}
"""


def test_unset_env_secret_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WARROOM_TEST_UNSET", raising=False)
    with pytest.raises(
        ConfigError,
        match=r"x\.yaml:6: actions\.hook\.http\.headers\."
        r"Authorization: environment variable "
        r"WARROOM_TEST_UNSET is not set",
    ):
        parse_config(HOOK % "{env: WARROOM_TEST_UNSET}", "x.yaml")


def test_plain_string_and_secret_both_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WARROOM_TEST_TOKEN", "s3cret")
    cfg = parse_config(HOOK % "{env: WARROOM_TEST_TOKEN}", "x.yaml")
    header = cfg.actions["hook"].http.headers["Authorization"]  # type: ignore[union-attr]
    assert "s3cret" not in repr(header) and header.reveal() == "s3cret"  # type: ignore[union-attr]
    cfg = parse_config(HOOK % "Bearer-public", "x.yaml")
    assert cfg.actions["hook"].http.headers["Authorization"] == "Bearer-public"  # type: ignore[union-attr]


def test_wrong_shape_lists_the_choices() -> None:
    with pytest.raises(ConfigError, match="expected a string or a secret"):
        parse_config(HOOK % "[a, b]", "x.yaml")
