"""Crash-safe file writes: a reader never sees a partial file, a crash never loses the old one."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any


def fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: str | os.PathLike[str], data: bytes) -> None:
    """Write `data` to a temp file beside `path`, fsync, rename over `path`, fsync the dir."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    fsync_dir(target.parent)


def append_json_line(
    path: str | os.PathLike[str],
    record: dict[str, Any],
    on_torn: Callable[[bytes], dict[str, Any]] | None = None,
) -> None:
    """Append one JSON object as one line with a single write, then fsync.

    O_APPEND makes the write land whole at the end even with other writers. A kill -9 can
    still cut a write of a few KB between pages; the next append finds those torn bytes after
    the last newline (under an exclusive lock, so two processes never mend one tail) and
    replaces them by the record `on_torn(fragment)` makes of them (default: `{"torn": ...}`),
    so the log never holds an unreadable line and nothing that was written is dropped.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(target, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # released by close, or by the kernel on a kill
        out = json_line(record)
        torn = _torn_tail(fd)
        if torn:
            os.ftruncate(fd, os.fstat(fd).st_size - len(torn))
            fragment = (on_torn or _torn_record)(torn)
            out = json_line(fragment) + out  # one write: the mended tail, then the record
        os.write(fd, out)
        os.fsync(fd)
    finally:
        os.close(fd)


def _torn_record(fragment: bytes) -> dict[str, Any]:
    return {"torn": fragment.decode("utf-8", "replace")}


def _torn_tail(fd: int) -> bytes:
    """The bytes after the file's last newline: empty unless a write was torn."""
    tail = b""
    pos = os.fstat(fd).st_size
    while pos > 0:
        step = min(65536, pos)
        pos -= step
        chunk = os.pread(fd, step, pos)
        cut = chunk.rfind(b"\n")
        if cut >= 0:
            return chunk[cut + 1 :] + tail
        tail = chunk + tail
    return tail


def json_line(record: dict[str, Any]) -> bytes:
    """One JSON object as one compact, key-sorted line."""
    return (json.dumps(record, separators=(",", ":"), sort_keys=True) + "\n").encode()
