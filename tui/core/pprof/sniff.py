"""Is a file folded stacks text rather than protobuf? The loader's test, numpy-free so that
the quick path (quicktop.py) asks it before it imports anything heavy."""

from __future__ import annotations


def looks_folded(data: bytes) -> bool:
    """The first lines (of the first 4 KiB) are `frames value` or `#` comments."""
    head = data[:4096]
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        # a multi-byte character cut at 4096 is fine
        try:
            text = head[:-4].decode("utf-8")
        except UnicodeDecodeError:
            return False
    lines = [ln for ln in text.splitlines()[:-1] or text.splitlines() if ln.strip()]
    if not lines:
        return False
    for ln in lines[:20]:
        if ln.startswith("#"):
            continue
        parts = ln.rstrip().rsplit(" ", 1)
        if len(parts) != 2 or not parts[0]:
            return False
        try:
            int(parts[1])
        except ValueError:
            return False
    return True
