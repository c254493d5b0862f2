"""numpy helpers of the pprof engine: exact interning of integer sequences and of byte spans,
merging samples into rows, reading varints at many positions at once.

Used by the protobuf decoder (decode.py, samples.py, layout.py), the folded-stack reader and
the filters; none of it knows profile.proto.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from tui.core.pprof.model import unique_inverse


def interner() -> defaultdict[bytes, int]:
    """A dict that numbers new keys 0, 1, 2... in C: d[key] is the key's id."""
    d: defaultdict[bytes, int] = defaultdict()
    d.default_factory = d.__len__
    return d


def last_before(arr: np.ndarray, sentinel: int, nitems: int) -> np.ndarray | None:
    """Per item, the last value before its sentinel (0 when absent); None if misaligned."""
    seps = np.flatnonzero(arr == arr.dtype.type(sentinel))
    if seps.shape[0] != nitems:
        return None
    prev = np.concatenate(([-1], seps[:-1]))
    present = seps - 1 > prev
    out = np.zeros(nitems, dtype=arr.dtype)
    out[present] = arr[seps[present] - 1]
    return out


_P1 = np.uint64(0x9E3779B97F4A7C15)
_P2 = np.uint64(0xC2B2AE3D27D4EB4F)


def _powers(p: np.uint64, n: int) -> np.ndarray:
    out = np.empty(max(n, 1), dtype=np.uint64)
    out[0] = 1
    if n > 1:
        with np.errstate(over="ignore"):
            out[1:] = p
            out = np.cumprod(out, dtype=np.uint64)
    return out


def intern_sequences(
    flat: np.ndarray, off: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Give equal integer sequences equal ids, exactly.

    flat/off: CSR of n sequences. Returns (id of each sequence, CSR offsets of the unique
    sequences, their elements). Hash first (two 64-bit polynomial hashes plus the length), then
    verify every element against the group representative; a collision falls back to exact
    tuple interning.
    """
    n = off.shape[0] - 1
    if n == 0:
        return np.zeros(0, np.int32), np.zeros(1, np.int64), np.zeros(0, np.int32)
    lens = np.diff(off)
    total = int(off[-1])
    x = flat.astype(np.uint64) + np.uint64(1)
    within = np.arange(total, dtype=np.int64) - np.repeat(off[:-1], lens)
    maxlen = int(lens.max()) if n else 0
    with np.errstate(over="ignore"):
        t1 = x * _powers(_P1, maxlen)[within]
        t2 = (x ^ np.uint64(0x5BD1E995)) * _powers(_P2, maxlen)[within]
        c1 = np.zeros(total + 1, dtype=np.uint64)
        c2 = np.zeros(total + 1, dtype=np.uint64)
        np.cumsum(t1, out=c1[1:])
        np.cumsum(t2, out=c2[1:])
        h1 = c1[off[1:]] - c1[off[:-1]]
        h2 = c2[off[1:]] - c2[off[:-1]]
        h2 = h2 + lens.astype(np.uint64) * np.uint64(0x100000001B3)
    order = np.lexsort((h2, h1))
    sh1, sh2 = h1[order], h2[order]
    new = np.ones(n, dtype=bool)
    new[1:] = (sh1[1:] != sh1[:-1]) | (sh2[1:] != sh2[:-1])
    grp = np.cumsum(new) - 1
    reps_sorted = order[new]  # a representative per group (lowest original index not needed)
    group_of = np.empty(n, dtype=np.int64)
    group_of[order] = grp
    rep = reps_sorted[group_of]
    ok = bool(np.array_equal(lens, lens[rep]))
    if ok:
        idx_rep = np.repeat(off[rep], lens) + within
        ok = bool(np.array_equal(flat, flat[idx_rep]))
    if not ok:
        return _intern_sequences_exact(flat, off)
    # renumber groups in order of first appearance for stable, deterministic ids
    ngroups = reps_sorted.shape[0]
    first_seen = np.full(ngroups, n, dtype=np.int64)
    np.minimum.at(first_seen, group_of, np.arange(n, dtype=np.int64))
    g_order = np.argsort(first_seen, kind="stable")
    rank = np.empty(ngroups, dtype=np.int64)
    rank[g_order] = np.arange(ngroups)
    ids = rank[group_of].astype(np.int32)
    reps = first_seen[g_order]
    ulens = lens[reps]
    uoff = np.zeros(ngroups + 1, dtype=np.int64)
    np.cumsum(ulens, out=uoff[1:])
    uwithin = np.arange(int(uoff[-1]), dtype=np.int64) - np.repeat(uoff[:-1], ulens)
    uelems = flat[np.repeat(off[reps], ulens) + uwithin].astype(np.int32)
    return ids, uoff, uelems


def _intern_sequences_exact(
    flat: np.ndarray, off: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    seen: dict[tuple[int, ...], int] = {}
    lst = flat.tolist()
    offs = off.tolist()
    ids = np.empty(len(offs) - 1, dtype=np.int32)
    for i in range(len(offs) - 1):
        key = tuple(lst[offs[i] : offs[i + 1]])
        ids[i] = seen.setdefault(key, len(seen))
    uoff = np.zeros(len(seen) + 1, dtype=np.int64)
    elems: list[int] = []
    for j, key in enumerate(seen):
        elems.extend(key)
        uoff[j + 1] = len(elems)
    return ids, uoff, np.asarray(elems, dtype=np.int32)


def aggregate_rows(
    stack_of: np.ndarray, labels_of: np.ndarray, nlabelsets: int, values: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """Sum samples with the same (stack, labelset), as pprof's profile merge does."""
    n, t = values.shape
    if n == 0:
        return np.zeros(0, np.int32), np.zeros(0, np.int32), values, None
    key = stack_of.astype(np.int64) * max(nlabelsets, 1) + labels_of.astype(np.int64)
    ukey, inv = unique_inverse(key)
    inv = inv.reshape(-1)
    out = np.zeros((ukey.shape[0], t), dtype=np.int64)
    if float(np.abs(values).sum(dtype=np.float64)) < 2.0**52:
        # float64 sums are exact below 2**53: bincount is far faster than add.at
        for j in range(t):
            out[:, j] = np.bincount(inv, weights=values[:, j], minlength=ukey.shape[0])
    else:
        np.add.at(out, inv, values)
    row_abs = None  # pprof's total is sum |v| over merged samples: nothing to keep
    nl = max(nlabelsets, 1)
    return (ukey // nl).astype(np.int32), (ukey % nl).astype(np.int32), out, row_abs


def varints_at(
    buf: np.ndarray, pos: np.ndarray, limit: np.ndarray
) -> tuple[np.ndarray, np.ndarray] | None:
    """The varint starting at each position: (values, byte lengths); None when one runs past its
    limit or is longer than 10 bytes."""
    if bool((pos >= limit).any()):
        return None
    b = buf[pos]
    val = (b & 0x7F).astype(np.uint64)
    ln = np.ones(pos.shape[0], dtype=np.int64)
    more = np.flatnonzero(b >= 0x80)
    k = 1
    while more.shape[0]:
        if k == 10:
            return None
        p = pos[more] + k
        if bool((p >= limit[more]).any()):
            return None
        b = buf[p]
        if k == 9 and bool((b > 1).any()):
            return None
        val[more] |= (b & 0x7F).astype(np.uint64) << np.uint64(7 * k)
        ln[more] += 1
        more = more[b >= 0x80]
        k += 1
    return val, ln


def fixed_runs(buf: np.ndarray, a: np.ndarray, ln: np.ndarray, count: int) -> np.ndarray | None:
    """Packed runs [a, a + ln) of exactly `count` varints each, as rows; None otherwise."""
    p = a.copy()
    end = a + ln
    out = np.empty((a.shape[0], count), dtype=np.uint64)
    for j in range(count):
        got = varints_at(buf, p, end)
        if got is None:
            return None
        out[:, j] = got[0]
        p += got[1]
    return out if np.array_equal(p, end) else None


_H1 = np.uint64(0x9E3779B97F4A7C15)
_H2 = np.uint64(0xBF58476D1CE4E5B9)
_H3 = np.uint64(0x94D049BB133111EB)


def span_words(view: np.ndarray, lo: np.ndarray, ln: np.ndarray) -> tuple[np.ndarray, ...]:
    """The 64-bit words covering spans [lo, lo + ln), bytes past a span cleared.

    Returns (words, index of each word within its span, word offsets per span).
    """
    nwords = (ln + 7) >> 3
    woff = np.zeros(lo.shape[0] + 1, dtype=np.int64)
    np.cumsum(nwords, out=woff[1:])
    j = np.arange(int(woff[-1]), dtype=np.int64) - np.repeat(woff[:-1], nwords)
    w = view[np.repeat(lo, nwords) + 8 * j]
    # only a span's last word can reach past it
    rem = ln & 7
    cut = np.flatnonzero(rem)
    if cut.shape[0]:
        w[woff[1:][cut] - 1] &= (np.uint64(1) << (8 * rem[cut]).astype(np.uint64)) - np.uint64(1)
    return w, j, woff


_CHUNK = 1 << 14


def group_spans(data: bytes, lo: np.ndarray, hi: np.ndarray) -> np.ndarray | None:
    """Id per span [lo, hi) of `data`, equal ids for equal bytes, exactly: 0 for the empty span,
    then 1, 2... in order of first appearance (as a dict on the sliced bytes would give).

    Spans are read as little-endian 64-bit words through an unaligned strided view (no copy),
    hashed, grouped by one sort, then every word is checked against its group's first span.
    Chunks of spans keep the temporaries small (cache-sized, no fresh pages per pass).
    None when a word would run past the buffer or two different spans share a hash.
    """
    n = lo.shape[0]
    ln = hi - lo
    if n == 0 or len(data) < 8 or int((lo + 8 * ((ln + 7) >> 3)).max()) > len(data):
        return None
    view = np.ndarray(shape=(len(data) - 7,), dtype="<u8", buffer=data, offset=0, strides=(1,))
    h = np.empty(n, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for c in range(0, n, _CHUNK):
            w, j, woff = span_words(view, lo[c : c + _CHUNK], ln[c : c + _CHUNK])
            x = j.astype(np.uint64)
            x *= _H1
            x ^= w
            x *= _H2
            x ^= x >> np.uint64(29)
            part = np.zeros(woff.shape[0] - 1, dtype=np.uint64)
            nz = woff[1:] > woff[:-1]
            part[nz] = np.add.reduceat(x, woff[:-1][nz])
            h[c : c + _CHUNK] = part
        h ^= ln.astype(np.uint64) * _H3
    keys, inv = unique_inverse(h.view(np.int64))
    g = keys.shape[0]
    first = np.empty(g, dtype=np.int64)
    first[inv[::-1]] = np.arange(n - 1, -1, -1)
    rep = first[inv]
    if not np.array_equal(ln, ln[rep]):
        return None
    # verify every span that is not its group's representative, word by word
    dup = np.flatnonzero(rep != np.arange(n))
    for c in range(0, dup.shape[0], _CHUNK):
        d = dup[c : c + _CHUNK]
        w1 = span_words(view, lo[d], ln[d])[0]
        w2 = span_words(view, lo[rep[d]], ln[d])[0]
        if not np.array_equal(w1, w2):
            return None
    # number groups by first appearance; the empty span (if any) is id 0, others from 1
    order = np.argsort(first, kind="stable")
    rank = np.empty(g, dtype=np.int64)
    rank[order] = np.arange(g)
    empty = np.flatnonzero(ln[first] == 0)
    if empty.shape[0]:
        e = int(rank[empty[0]])
        rank = np.where(rank < e, rank + 1, rank)
        rank[empty[0]] = 0
    else:
        rank += 1
    return rank[inv]
