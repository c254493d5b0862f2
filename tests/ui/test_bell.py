"""The terminal bell on SUSTAINED, and `detector.bell: false`, seen where it matters: the bytes
the real `warroom` binary writes to a real pty.

Textual's `App.bell()` writes BEL (0x07) to the terminal driver and does nothing in a headless
Pilot run, so a Pilot test could not tell a bell from none. Each case replays a recording
with spike lines through `warroom replay` (the same `on_source_event` path as the live Hub)
and counts BEL bytes that are not the terminator of an OSC sequence (Textual ends some OSC
sequences with BEL). The SUSTAINED toast, which is posted right after the bell, shows the
announcement ran, so "no bell" is never just "nothing happened yet".
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
import yaml

from tests.terminal_harness import WARROOM, PtyProcess, slowdown, strip_escapes, terminal_env
from tui.core.recording import RecordingWriter

T0 = 1_800_000_000.0
_OSC = re.compile(rb"\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)")


def bells(output: bytes) -> int:
    """BEL bytes written as a bell, not as the end of an OSC sequence."""
    return _OSC.sub(b"", output).count(b"\x07")


def _recording(path: Path, spikes: list[tuple[str, str]]) -> None:
    """60 s of p99 points for checkout and payments; the given spikes at T0 + 5."""
    events: list[dict[str, object]] = []
    for i in range(60):
        for k, name in enumerate(("checkout", "payments")):
            events.append(
                {
                    "t": T0 + i,
                    "type": "point",
                    "service": name,
                    "signal": "p99",
                    "value": 0.05 + 0.01 * k,
                }
            )
    for service, state in spikes:
        events.append(
            {
                "t": T0 + 5,
                "type": "spike",
                "service": service,
                "signal": "p99",
                "state": state,
                "value": 0.5,
                "baseline": 0.05,
            }
        )
    events.sort(key=lambda e: float(e["t"]))  # type: ignore[arg-type]
    with RecordingWriter(path) as w:
        w.write(events)


def _run(
    tmp_path: Path,
    cfg: dict[str, object],
    spikes: list[tuple[str, str]],
    wait_for: str,
    linger: float = 0.0,
) -> tuple[bytes, str]:
    """Replay until `wait_for` is on screen (and `linger` seconds more); quit; return the
    bytes written and the screen text. The bell is written before the toast is posted, on
    the same ordered writer, so once the toast is on screen its bell has arrived too."""
    rec, cfg_path = tmp_path / "rec.jsonl", tmp_path / "warroom.yaml"
    _recording(rec, spikes)
    cfg_path.write_text(yaml.safe_dump({"otlp": {"http": "", "grpc": ""}, **cfg}))
    argv = [str(WARROOM), "replay", str(rec), "--speed", "10", "-c", str(cfg_path)]
    p = PtyProcess(argv, terminal_env(), tmp_path, rows=30, cols=120)
    try:
        p.wait_for(wait_for, timeout=20 * slowdown())
        deadline = time.monotonic() + linger
        while time.monotonic() < deadline and p._read_some(0.05):
            pass
        out = bytes(p.output)
        p.write(b"q")
        assert p.wait_exit(timeout=10) == 0, strip_escapes(p.text())[-2000:]
        return out, strip_escapes(p.text())
    finally:
        p.kill()


SERVICES = [{"name": "checkout"}, {"name": "payments"}]
QUIET_CHECKOUT = [{"name": "checkout", "detector": {"bell": False}}, {"name": "payments"}]


@pytest.mark.parametrize(
    ("cfg", "spikes", "toast", "expected"),
    [
        # two services in the same second: one bell and one notice for both
        (
            {"services": SERVICES},
            [("checkout", "SUSTAINED"), ("payments", "SUSTAINED")],
            "P99 SUSTAINED spike: checkout, payments",
            1,
        ),
        (
            {"services": SERVICES, "detector": {"bell": False}},
            [("checkout", "SUSTAINED")],
            "P99 SUSTAINED spike: checkout",
            0,
        ),
        # per service: checkout is quiet, payments is not
        (
            {"services": QUIET_CHECKOUT},
            [("checkout", "SUSTAINED")],
            "P99 SUSTAINED spike: checkout",
            0,
        ),
        (
            {"services": QUIET_CHECKOUT},
            [("checkout", "SUSTAINED"), ("payments", "SUSTAINED")],
            "P99 SUSTAINED spike: checkout, payments",
            1,
        ),
    ],
    ids=["default-two-services", "bell-false", "service-bell-false", "one-service-rings"],
)
def test_bell_on_sustained(
    tmp_path: Path, cfg: dict[str, object], spikes: list[tuple[str, str]], toast: str, expected: int
) -> None:
    out, text = _run(tmp_path, cfg, spikes, toast)
    assert bells(out) == expected, f"{bells(out)} bells; screen tail:\n{text[-1500:]}"


def test_a_glitch_never_rings(tmp_path: Path) -> None:
    # past the one-second coalescing timer a SUSTAINED would have started
    out, text = _run(
        tmp_path, {"services": SERVICES}, [("checkout", "GLITCH")], "GLITCH", linger=1.5
    )
    assert "SUSTAINED" not in text
    assert bells(out) == 0


def test_osc_terminators_are_not_bells() -> None:
    """The counter itself: an OSC sequence's BEL is not a bell, a bare BEL is."""
    assert bells(b"\x1b]52;c;aGk=\x07x") == 0
    assert bells(b"\x1b]22;pointer\x1b\\\x07") == 1
    assert bells(b"a\x07b\x07") == 2
