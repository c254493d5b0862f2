"""The profile catalog: service and kind of each file, newest first, one of each kind."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tui.core.pprof.catalog import (
    by_kind,
    kind_of,
    list_profiles,
    newest,
    newest_of_each_kind,
    profile_kind,
)

PATTERN = "{service}-*.pb.gz"


def _put(d: Path, name: str, mtime: float, src: Path | None = None) -> Path:
    p = d / name
    if src is None:
        p.write_bytes(b"x")
    else:
        shutil.copyfile(src, p)
    os.utime(p, (mtime, mtime))
    return p


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("api-cpu-20261207T101500.pb.gz", "cpu"),
        ("api-profile-1.pb.gz", "cpu"),
        ("api-heap-1.pb.gz", "heap"),
        ("api_allocs.pb.gz", "allocs"),
        ("api.goroutine.pb.gz", "goroutine"),
        ("api-1.pb.gz", None),
        ("heapster-1.pb.gz", None),  # a word inside a name is not a kind
    ],
)
def test_kind_from_name(name: str, kind: str | None) -> None:
    assert profile_kind(name) == kind


@pytest.mark.parametrize(
    ("fixture", "kind"),
    [
        ("cpu_regexp.pb.gz", "cpu"),
        ("heap_prometheus.pb.gz", "heap"),  # /debug/pprof/heap: inuse_space by default
        ("heap_json.pb.gz", "allocs"),  # go test -memprofile: alloc_space by default
        ("goroutine_contention.pb.gz", "goroutine"),
        ("mutex_contention.pb.gz", "mutex"),
    ],
)
def test_kind_of_an_unnamed_real_go_profile_is_read_from_its_sample_types(
    fixtures_dir: Path, tmp_path: Path, fixture: str, kind: str
) -> None:
    p = tmp_path / "capture.pb.gz"
    shutil.copyfile(fixtures_dir / "pprof" / fixture, p)
    assert kind_of(p) == kind


def test_kind_of_a_file_that_is_no_profile_is_unknown(tmp_path: Path) -> None:
    p = tmp_path / "notes.pb.gz"
    p.write_bytes(b"not a profile")
    assert kind_of(p) == "pprof"


def test_listing_is_newest_first_and_by_service(tmp_path: Path) -> None:
    _put(tmp_path, "api-cpu-1.pb.gz", 1000)
    _put(tmp_path, "api-heap-2.pb.gz", 1002)
    _put(tmp_path, "api-cpu-3.pb.gz", 1001)
    _put(tmp_path, "api-gateway-cpu-9.pb.gz", 2000)
    _put(tmp_path, ".api-cpu-4.pb.gz.tmp", 3000)
    got = list_profiles(tmp_path, PATTERN, "api", ["api-gateway"])
    assert [(f.path.name, f.kind) for f in got] == [
        ("api-heap-2.pb.gz", "heap"),
        ("api-cpu-3.pb.gz", "cpu"),
        ("api-cpu-1.pb.gz", "cpu"),
    ]
    assert list_profiles(tmp_path, PATTERN, "web") == []
    assert list_profiles(None, PATTERN, "api") == []
    assert list_profiles(tmp_path / "missing", PATTERN, "api") == []
    assert list_profiles(tmp_path, "a/{service}", "api") == []  # config check reports it


def test_newest_of_each_kind_keeps_cpu_when_heap_is_newer(tmp_path: Path) -> None:
    """Issue 13 item 2: `kinds: [profile, heap]` captured CPU then heap; the baseline must
    keep both, CPU first."""
    _put(tmp_path, "api-cpu-1.pb.gz", 1000)
    _put(tmp_path, "api-cpu-2.pb.gz", 1010)
    heap = _put(tmp_path, "api-heap-2.pb.gz", 1011)
    got = newest_of_each_kind(list_profiles(tmp_path, PATTERN, "api"))
    assert got == {"cpu": tmp_path / "api-cpu-2.pb.gz", "heap": heap}
    assert list(got) == ["cpu", "heap"]


def test_an_unnamed_profile_is_decoded_once_to_learn_its_kind(
    fixtures_dir: Path, tmp_path: Path
) -> None:
    _put(tmp_path, "api-heap-1.pb.gz", 1000)
    old = _put(tmp_path, "api-1.pb.gz", 1001, fixtures_dir / "pprof" / "cpu_regexp.pb.gz")
    new = _put(tmp_path, "api-2.pb.gz", 1002, fixtures_dir / "pprof" / "cpu_json_gogc5.pb.gz")
    got = newest_of_each_kind(list_profiles(tmp_path, PATTERN, "api"))
    assert got == {"cpu": new, "heap": tmp_path / "api-heap-1.pb.gz"}
    assert old not in got.values()


def test_by_kind_first_of_each_kind_cpu_first(tmp_path: Path) -> None:
    heap = _put(tmp_path, "api-heap-1.pb.gz", 1)
    cpu = _put(tmp_path, "api-cpu-1.pb.gz", 1)
    cpu2 = _put(tmp_path, "api-cpu-2.pb.gz", 1)
    assert list(by_kind([heap, cpu, cpu2]).items()) == [("cpu", cpu), ("heap", heap)]


def test_newest_of_a_kind_decodes_only_the_newest_unnamed_file(
    fixtures_dir: Path, tmp_path: Path
) -> None:
    """`f`/`d` on a folder of unnamed profiles (go test, the demo): one decode, not one per file."""
    old_cpu = _put(tmp_path, "api-1.pb.gz", 1000, fixtures_dir / "pprof" / "cpu_regexp.pb.gz")
    _put(tmp_path, "api-2.pb.gz", 1001, fixtures_dir / "pprof" / "heap_prometheus.pb.gz")
    files = list_profiles(tmp_path, PATTERN, "api")
    assert newest(files, "heap") == tmp_path / "api-2.pb.gz"
    assert newest(files, "cpu") is None  # the older unnamed file is taken to be of the same kind
    assert newest(files) == tmp_path / "api-2.pb.gz"
    assert newest(files, None, lambda p: p == old_cpu) == old_cpu
