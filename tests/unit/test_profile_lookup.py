"""The dashboard's look-ups on disk (f, d, F): real files in a folder, a real baseline store."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tui.config import BaselineConfig, Config, ProfilesConfig, ServiceConfig
from tui.core.baseline import BaselineStore
from tui.core.baseline.snapshot import baseline_snapshot
from tui.errors import UserError
from tui.sources.profile_lookup import picker_sources, profile_to_open


def _config(tmp_path: Path) -> Config:
    folder = tmp_path / "profiles"
    folder.mkdir()
    return Config(
        services=[ServiceConfig(name="api")],
        profiles=ProfilesConfig(dir=str(folder)),
        baseline=BaselineConfig(dir=str(tmp_path / "baselines")),
    )


def test_f_skips_a_half_written_file_and_d_needs_a_baseline(
    tmp_path: Path, fixtures_dir: Path
) -> None:
    cfg = _config(tmp_path)
    assert cfg.profiles.dir is not None
    folder = Path(cfg.profiles.dir)
    with pytest.raises(UserError, match=r"no profile for api in profiles.dir \("):
        profile_to_open(cfg, "api", diff=False)
    whole = folder / "api-cpu-1.pb.gz"
    shutil.copy(fixtures_dir / "pprof" / "cpu_regexp.pb.gz", whole)
    torn = folder / "api-cpu-2.pb.gz"  # newer, but cut short
    torn.write_bytes(whole.read_bytes()[:100])
    assert profile_to_open(cfg, "api", diff=False).path == whole
    with pytest.raises(UserError, match="no baseline profile for api"):
        profile_to_open(cfg, "api", diff=True)


def test_a_baseline_with_a_missing_profile_still_lists_the_folder(
    tmp_path: Path, fixtures_dir: Path
) -> None:
    """F: the picker opens with profiles.dir's files and says the baseline's is missing."""
    cfg = _config(tmp_path)
    assert cfg.profiles.dir is not None
    current = Path(cfg.profiles.dir) / "api-cpu-1.pb.gz"
    shutil.copy(fixtures_dir / "pprof" / "cpu_regexp.pb.gz", current)
    snap = baseline_snapshot(cfg, "api", {"p99": [0.01] * 10}, 5.0, taken_by="t@h")
    BaselineStore(cfg.baseline.dir).save(snap)
    saved = BaselineStore(cfg.baseline.dir).current("api")
    assert saved is not None and saved.profile_files  # the store keeps its own copies
    stored = [Path(p) for p in saved.profile_files]
    found = picker_sources(cfg, "api")
    assert found.problem is None and found.baseline and found.baseline_id
    for p in stored:
        p.unlink()
    found = picker_sources(cfg, "api")
    assert found.problem is not None
    assert found.problem.startswith("baseline profile of api is missing: ")
    assert [f.path for f in found.files] == [current] and found.baseline == {}
    with pytest.raises(UserError, match="baseline profile of api is missing"):
        profile_to_open(cfg, "api", diff=True)
