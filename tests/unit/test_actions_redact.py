"""Secrets never reach the screen or the audit log."""

from __future__ import annotations

from tui.core.actions.redact import (
    redact_argv,
    redact_header,
    redact_json,
    redact_text,
    redact_url,
)


def test_argv_flags_and_assignments() -> None:
    argv = [
        "deploy",
        "--token",
        "abc",
        "--password=pw1",
        "API_KEY=k9",
        "--namespace",
        "shop",
        "-n",
        "x",
        "--auth-header=Basic zz",
    ]
    assert redact_argv(argv) == [
        "deploy",
        "--token",
        "***",
        "--password=***",
        "API_KEY=***",
        "--namespace",
        "shop",
        "-n",
        "x",
        "--auth-header=***",
    ]


def test_trailing_secret_flag_without_value() -> None:
    assert redact_argv(["x", "--token"]) == ["x", "--token"]


def test_urls() -> None:
    assert redact_url("https://u:pw@h/p?token=t&a=1") == "https://u:***@h/p?token=***&a=1"
    assert redact_url("https://tok@h/") == "https://***@h/"
    assert redact_url("http://h/p?a=1&b=2") == "http://h/p?a=1&b=2"
    assert redact_argv(["curl", "https://u:pw@h/x"]) == ["curl", "https://u:***@h/x"]


def test_headers() -> None:
    assert redact_header("Authorization", "Bearer abc") == "Bearer ***"
    assert redact_header("X-Api-Key", "abc") == "***"
    assert redact_header("Cookie", "s=1") == "***"
    assert redact_header("Content-Type", "application/json") == "application/json"


def test_json_nested() -> None:
    body = {"a": {"secret": "x", "list": [{"token": 1}, "https://u:p@h"]}, "b": 2}
    assert redact_json(body) == {
        "a": {"secret": "***", "list": [{"token": "***"}, "https://u:***@h"]},
        "b": 2,
    }


def test_free_text() -> None:
    assert redact_text("auth with abc123 ok abc123", ["abc123", "ab"]) == "auth with *** ok ***"
