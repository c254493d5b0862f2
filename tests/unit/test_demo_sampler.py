"""The demo's stack sampler writes real CPU profiles of the threads it watches."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from tui.core.pprof import load_profile
from tui.core.pprof.table import function_table
from tui.demo.sampler import StackSampler


def burn_cpu(stop: threading.Event) -> None:
    x = 0
    while not stop.is_set():
        for i in range(10_000):
            x += i * i


def test_sampler_profiles_the_worker(tmp_path: Path) -> None:
    stop = threading.Event()
    worker = threading.Thread(target=burn_cpu, args=(stop,), name="worker-1")
    worker.start()
    sampler = StackSampler(tmp_path, "demo", every=0.5, hz=200)
    sampler.start()
    try:
        deadline = time.monotonic() + 5
        while not list(tmp_path.glob("demo-*.pb.gz")) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        sampler.stop()
        stop.set()
        worker.join()
    files = sorted(tmp_path.glob("demo-*.pb.gz"))
    assert files, "no profile written"
    prof = load_profile(files[0])
    rows = {r.name: r for r in function_table(prof, 1)}
    burn = rows["tests.unit.test_demo_sampler.burn_cpu"]
    assert burn.flat > 0
    assert not list(tmp_path.glob(".*.tmp"))  # written atomically, nothing left behind
