"""Hostile files in profiles.dir (issue 17): the watcher reports them and carries on.

A gzip bomb is checked in bounded memory (counted slice by slice, not kept) and announced as
broken with the cap; files that are whole gzip but bad inside (numbers beyond 64 bits, deep
stacks) are the decoder's to refuse, with one clear error, when a screen opens them.
"""

from __future__ import annotations

import gzip
import resource
from pathlib import Path

import pytest

from tests.hostile import gzip_bomb
from tests.integration.test_pprof_watch import Collector
from tui.core.atomic import write_atomic
from tui.core.pprof.inflate import MAX_INFLATED
from tui.core.pprof.load import load_profile
from tui.errors import UserError
from tui.sources.pprof_watch import PprofWatcher


async def test_bomb_and_corrupt_files_do_not_disturb_the_watcher(
    tmp_path: Path, fixtures_dir: Path
) -> None:
    cpu = (fixtures_dir / "pprof" / "cpu_regexp.pb.gz").read_bytes()
    raw = gzip.decompress(cpu)
    got = Collector()
    w = PprofWatcher(tmp_path, got, settle=0.3)
    await w.start()
    try:
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        write_atomic(tmp_path / "api-bomb.pb.gz", gzip_bomb(MAX_INFLATED + 2**20))
        items = await got.wait(1, timeout=30)
        assert not items[0].ok
        assert (items[0].error or "").startswith(
            "api-bomb.pb.gz: inflates past 512 MiB, the limit for one profile"
        )
        # counted, not kept: the check did not hold the inflated bytes (KiB on Linux)
        grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before
        assert grown < 256 * 1024

        # whole gzip with a time_nanos beyond 64 bits: announced; decoding refuses it
        wide = tmp_path / "api-wide.pb.gz"
        write_atomic(wide, gzip.compress(raw + b"\x48" + b"\xff" * 9 + b"\x7f"))
        items = await got.wait(2)
        with pytest.raises(UserError, match="does not fit in 64 bits"):
            load_profile(wide)

        # a good file after them is announced and is the service's newest good profile
        write_atomic(tmp_path / "api-good.pb.gz", cpu)
        items = await got.wait(3)
        assert items[2].ok and w.latest("api") == items[2]
        assert w.status.state == "listening"
        assert w.status.counters["broken"] == 1
    finally:
        await w.stop()
