"""Building the Go service: a missing toolchain or client_golang is one clear error."""

from __future__ import annotations

from pathlib import Path

import pytest

from tui.demo.gobuild import build_gosvc
from tui.errors import UserError


def test_missing_go_names_what_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # a PATH with no go on it
    with pytest.raises(UserError) as exc:
        build_gosvc(tmp_path / "cache")
    assert str(exc.value).startswith("gosvc: the go command is not on PATH: install golang-go")
    assert not (tmp_path / "cache").exists()


def test_gopath_without_client_golang_names_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WARROOM_GOPATH", str(tmp_path / "empty"))
    with pytest.raises(UserError) as exc:
        build_gosvc(tmp_path / "cache")
    assert f"client_golang is not in GOPATH {tmp_path / 'empty'}" in str(exc.value)
    assert not (tmp_path / "cache").exists()
