"""Sample this process's Python stacks and write them as pprof CPU profiles.

The demo service runs one of these so that its profiles are real: every 10 ms the sampler
reads `sys._current_frames()` for the worker threads, and every `every` seconds it writes the
stacks it saw as `{service}-{unix_ms}.pb.gz` into the profile folder (atomically), where
warroom's folder watcher picks them up.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from types import FrameType

from tui.core.atomic import write_atomic
from tui.core.pprof.encode import Frame, encode_cpu_profile


def _stack(frame: FrameType | None, root: Path) -> tuple[Frame, ...]:
    out: list[Frame] = []
    while frame is not None:
        code = frame.f_code
        module = frame.f_globals.get("__name__", "?")
        filename = code.co_filename
        with contextlib.suppress(ValueError):
            filename = str(Path(filename).relative_to(root))
        out.append((f"{module}.{code.co_qualname}", filename, frame.f_lineno))
        frame = frame.f_back
    return tuple(out)


class StackSampler:
    def __init__(
        self,
        out_dir: Path,
        service: str,
        every: float = 10.0,
        hz: float = 100.0,
        thread_names: tuple[str, ...] = ("worker",),
        keep: int = 20,
    ):
        self.out_dir = Path(out_dir)
        self.service = service
        self.every = every
        self.period = 1.0 / hz
        self.thread_prefixes = thread_names
        self.keep = keep  # profiles kept in the folder; older ones are removed
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pprof-sampler", daemon=True)
        self._root = Path(__file__).resolve().parents[2]

    def start(self) -> None:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)

    def _targets(self) -> set[int]:
        return {
            t.ident
            for t in threading.enumerate()
            if t.ident is not None and t.name.startswith(self.thread_prefixes)
        }

    def _run(self) -> None:
        stacks: Counter[tuple[Frame, ...]] = Counter()
        started = time.time()
        next_write = time.monotonic() + self.every
        while not self._stop.wait(self.period):
            frames = sys._current_frames()
            for ident in self._targets():
                frame = frames.get(ident)
                if frame is not None:
                    stacks[_stack(frame, self._root)] += 1
            if time.monotonic() >= next_write:
                self._write(stacks, started)
                stacks = Counter()
                started = time.time()
                next_write = time.monotonic() + self.every

    def _write(self, stacks: Counter[tuple[Frame, ...]], started: float) -> None:
        if not stacks:
            return
        now = time.time()
        data = encode_cpu_profile(
            stacks,
            int(self.period * 1e9),
            int(started * 1e9),
            int((now - started) * 1e9),
            comments=(f"warroom demo service {self.service}",),
        )
        write_atomic(self.out_dir / f"{self.service}-{int(now * 1000)}.pb.gz", data)
        old = sorted(self.out_dir.glob(f"{self.service}-*.pb.gz"))[: -self.keep]
        for path in old:
            path.unlink(missing_ok=True)
