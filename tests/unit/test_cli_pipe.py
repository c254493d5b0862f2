"""`warroom ... | head -1`: a reader that closes early is not an error of ours.

The real `warroom` command runs in a real shell pipeline; when `head` exits, the next write
fails with EPIPE. The command must stop quietly (no traceback) with the shell's SIGPIPE
status 141, never 1, which means "a gate failed".
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PPROF = ROOT.parent / "shared" / "fixtures" / "pprof"
LARGE = PPROF / "large.cpu"


def warroom_cmd() -> str:
    exe = Path(sys.executable).parent / "warroom"
    argv = [str(exe)] if exe.is_file() else [sys.executable, "-m", "tui.cli"]
    return shlex.join(argv)


def pipeline(args: str, reader: str) -> tuple[int, int, str, str]:
    """Run `warroom ARGS | READER` in bash; (warroom's status, reader's, stdout, stderr)."""
    script = f'{warroom_cmd()} {args} | {reader}; echo "${{PIPESTATUS[*]}}" >&2'
    r = subprocess.run(["bash", "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=60)
    *err_lines, status = r.stderr.rstrip("\n").split("\n")
    writer, reader_rc = (int(x) for x in status.split())
    return writer, reader_rc, r.stdout, "\n".join(err_lines)


@pytest.mark.skipif(not LARGE.is_file(), reason="shared pprof fixtures not present")
def test_top_into_head_exits_141_without_traceback() -> None:
    writer, reader, out, err = pipeline(f"profile {shlex.quote(str(LARGE))} --top", "head -1")
    assert reader == 0
    assert out.count("\n") == 1 and out.strip()  # head's one line got through
    assert "Traceback" not in err and "BrokenPipeError" not in err, err
    assert err == ""
    assert writer == 141


@pytest.mark.skipif(not LARGE.is_file(), reason="shared pprof fixtures not present")
def test_reader_that_reads_everything_still_exits_0() -> None:
    writer, reader, out, err = pipeline(f"profile {shlex.quote(str(LARGE))} --top", "wc -l")
    assert (writer, reader, err) == (0, 0, "")
    assert int(out) > 1000  # the whole table went through


def test_one_line_into_a_reader_that_closed_at_once() -> None:
    """One short line: EPIPE may come from the write or from the final flush; neither may
    turn into a traceback or 'Exception ignored ... BrokenPipeError' with status 120."""
    good = ROOT / "tests" / "data" / "configs" / "good" / "minimal.yaml"
    writer, _, _, err = pipeline(f"config check {shlex.quote(str(good))}", "(exec 0<&-; sleep 0.5)")
    assert "Traceback" not in err and "Exception ignored" not in err, err
    assert writer == 141


def test_gate_status_survives_a_reader_that_reads_everything() -> None:
    """The status of a full read is the command's own: config check of a bad file is 2."""
    bad = ROOT / "tests" / "data" / "configs" / "bad" / "typo_top.yaml"
    writer, _, out, err = pipeline(f"config check {shlex.quote(str(bad))}", "cat")
    assert writer == 2 and out == "" and err.startswith("warroom: ") and "Traceback" not in err


@pytest.mark.skipif(not LARGE.is_file(), reason="shared pprof fixtures not present")
@pytest.mark.parametrize(
    ("name", "mode"), [("cpu_json_gogc5.pb.gz", "--folded"), ("large.cpu", "--top --format json")]
)
def test_one_big_write_into_head_exits_141(name: str, mode: str) -> None:
    """Issue 13 item 18: `--folded` wrote its megabytes in one call; the short write into a
    pipe whose reader had gone went unreported and the status was 0."""
    writer, reader, out, err = pipeline(
        f"profile {shlex.quote(str(PPROF / name))} {mode}", "head -c 100"
    )
    assert (writer, reader, len(out), err) == (141, 0, 100, "")


@pytest.mark.skipif(not LARGE.is_file(), reason="shared pprof fixtures not present")
def test_a_table_format_without_a_mode_is_the_table() -> None:
    """`--format json` is a format of the table: it no longer opens the viewer into the pipe."""
    writer, _, out, err = pipeline(f"profile {shlex.quote(str(LARGE))} --format json", "cat")
    assert (writer, err) == (0, "") and out.startswith('{"sample_type": "cpu"')


@pytest.mark.parametrize(
    ("args", "hint"),
    [
        ("profile {large}", "use --top, --regressions or --folded"),
        ("-c {good}", "use `warroom snapshot` or `warroom record`"),
        ("replay {rec}", "read it with jq"),
    ],
)
def test_full_screen_apps_refuse_a_pipe(args: str, hint: str, tmp_path: Path) -> None:
    """The viewer, the dashboard and replay drew escape codes into the pipe and waited for keys
    that never come; they say what to use instead (one line, exit 2)."""
    good = ROOT / "tests" / "data" / "configs" / "good" / "minimal.yaml"
    rec = tmp_path / "r.jsonl"
    point = {"t": 1000.0, "type": "point", "service": "api", "signal": "p99", "value": 0.1}
    rec.write_text(json.dumps(point) + "\n")
    q = shlex.quote
    argv = args.format(large=q(str(LARGE)), good=q(str(good)), rec=q(str(rec)))
    writer, _, out, err = pipeline(f"{argv} < /dev/null", "cat")
    assert writer == 2 and out == "", (out, err)
    assert len(err.splitlines()) == 1 and err.startswith("warroom: ") and hint in err, err
