"""kill -9 trials: a forked child writes in a loop, acknowledging each write that returned,
and is killed with SIGKILL at a random point; the caller then checks what is on disk.

The child is forked from the test process (the writer's modules are already imported, so a
trial costs milliseconds, not an interpreter start) and talks only through a pipe with
os.write: nothing in it takes a lock another thread could hold.
"""

from __future__ import annotations

import os
import random
import signal
import time
import traceback
from collections.abc import Callable, Iterator


def kill_during(write: Callable[[int], str], rng: random.Random, first: int) -> list[str]:
    """Fork a child that calls write(first), write(first + 1)... until killed; kill it with
    SIGKILL after a random number of acknowledged writes (1-6) and a random delay of up to
    4 ms, so the kill lands anywhere inside a write. Returns the acknowledgements (what
    `write` returned, for every write that completed)."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        try:
            os.close(r)
            i = first
            while True:
                ack = write(i)
                os.write(w, (ack + "\n").encode())
                i += 1
        except BaseException:
            traceback.print_exc()
        finally:
            os._exit(1)
    os.close(w)
    acks: list[str] = []
    with os.fdopen(r, "rb") as pipe:
        want = rng.randint(1, 6)
        for line in _lines(pipe):
            acks.append(line)
            if len(acks) >= want:
                break
        # a random point within a later write (not a wait for anything: the point is chance)
        time.sleep(rng.random() * 0.004)
        os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, status
        acks += list(_lines(pipe))  # acknowledged before the kill landed
    return acks


def _lines(pipe: object) -> Iterator[str]:
    for raw in pipe:  # type: ignore[attr-defined]
        yield raw.decode().strip()


def report_trials(kind: str, trials: int, acked: int, lost: int, torn: int) -> None:
    """Append the trial figures to WARROOM_FUZZ_REPORT (JSON lines), for BENCHMARKS.md."""
    import json

    from tests.conftest import FUZZ_LONG

    report = os.environ.get("WARROOM_FUZZ_REPORT")
    if report:
        row = {
            "kind": f"kill -9: {kind}",
            "profile": "long" if FUZZ_LONG else "quick",
            "trials": trials,
            "acknowledged_writes": acked,
            "records_lost": lost,
            "torn_tails": torn,
        }
        with open(report, "a") as f:
            f.write(json.dumps(row) + "\n")
