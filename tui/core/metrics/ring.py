"""Fixed-size numpy ring buffers: memory per series is set at creation and never grows."""

from __future__ import annotations

import numpy as np


class Ring:
    """A time series of (t, value, flags) in preallocated arrays; the oldest point falls off.

    `flags` carries per-point bits (see FLAG_*) so a saturated or low-confidence quantile
    stays marked as such through storage, display and export.
    """

    __slots__ = ("_f", "_n", "_start", "_t", "_v", "capacity")

    def __init__(self, capacity: int):
        if capacity <= 0:
            raise ValueError("capacity must be positive")
        self.capacity = capacity
        self._t = np.zeros(capacity, dtype=np.float64)
        self._v = np.zeros(capacity, dtype=np.float64)
        self._f = np.zeros(capacity, dtype=np.uint8)
        self._start = 0
        self._n = 0

    def __len__(self) -> int:
        return self._n

    def append(self, t: float, v: float, flags: int = 0) -> None:
        i = (self._start + self._n) % self.capacity
        self._t[i], self._v[i], self._f[i] = t, v, flags
        if self._n < self.capacity:
            self._n += 1
        else:
            self._start = (self._start + 1) % self.capacity

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(times, values, flags) oldest first, as copies."""
        idx = (self._start + np.arange(self._n)) % self.capacity
        return self._t[idx], self._v[idx], self._f[idx]

    def since(self, t0: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Points with time >= t0, oldest first."""
        t, v, f = self.arrays()
        k = int(np.searchsorted(t, t0, side="left"))
        return t[k:], v[k:], f[k:]

    def last(self) -> tuple[float, float, int] | None:
        if not self._n:
            return None
        i = (self._start + self._n - 1) % self.capacity
        return float(self._t[i]), float(self._v[i]), int(self._f[i])

    @property
    def nbytes(self) -> int:
        return self._t.nbytes + self._v.nbytes + self._f.nbytes
