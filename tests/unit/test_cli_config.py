"""One config resolution: `warroom -c FILE COMMAND` and `warroom COMMAND -c FILE` are the same."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

WARROOM = Path(sys.executable).parent / "warroom"


@pytest.fixture
def cfg(tmp_path: Path) -> Path:
    (tmp_path / "audit.jsonl").write_text("not json\n")
    p = tmp_path / "x.yaml"
    p.write_text(
        "services:\n  - name: api\n"
        f"audit:\n  path: {tmp_path / 'audit.jsonl'}\n"
        f"baseline:\n  dir: {tmp_path / 'bl'}\n"
    )
    return p


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(WARROOM), *args], cwd=cwd, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize(
    ("command", "says"),
    [
        (["audit"], "audit.jsonl: skipped 1 unreadable line"),
        (["baseline", "list"], "no baselines in {dir}/bl"),
        (["check"], "no baseline for api in {dir}/bl"),
    ],
)
@pytest.mark.parametrize("where", ["before", "after"])
def test_config_before_or_after_the_command(
    cfg: Path, tmp_path: Path, command: list[str], says: str, where: str
) -> None:
    """Issue 13 item 7: `warroom -c x.yaml audit` read the default audit path."""
    args = ["-c", str(cfg), *command] if where == "before" else [*command, "-c", str(cfg)]
    r = run(tmp_path.parent, *args)  # not the config's folder: no ./warroom.yaml found
    assert says.format(dir=tmp_path) in r.stdout + r.stderr, r.stdout + r.stderr
    assert "Traceback" not in r.stderr


def test_check_without_a_config_says_so(tmp_path: Path) -> None:
    r = run(tmp_path, "check")
    assert (
        r.returncode == 2 and r.stderr == "warroom: check needs a config: warroom check -c FILE\n"
    )
