"""P99 series the way warroom sees them, over the bucket layouts real services use.

Requests arrive per second (Poisson) with lognormal latencies, are counted into a histogram
layout, and each second the P99 of the last `window` seconds of bucket deltas is computed the
way Prometheus does (linear interpolation for classic buckets, exponential interpolation for
native / OTLP exponential buckets; `check_exact` compares a sample with tui's own ports of
Prometheus). Each point carries the bucket that holds it, its observation count and whether
it saturated, which is everything the detector is given in production.

Shared by the detector's table-driven tests and `benchmarks/bench_spikes.py`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from tui.core.metrics.quantile import bucket_quantile, exponential_quantile

Z99 = NormalDist().inv_cdf(0.99)
SIGMA = 0.6  # lognormal shape of request latency (a P99 about 4x the median)
BASELINE_P99 = 0.42  # seconds: the P99 of the trial that found the DefBuckets defect
WINDOW = 60  # rate_window default, seconds

_DEF = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
_OTEL_DEFAULT = [0, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000]
_SEMCONV = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10]


@dataclass(frozen=True)
class Layout:
    """A histogram layout and the P99 a service using it typically has.

    Explicit layouts are finite upper bounds in seconds (then +Inf); exponential ones are
    described by their scale, and buckets are laid out around the latencies simulated.
    """

    name: str
    bounds: tuple[float, ...] = ()
    scale: int | None = None  # OTLP scale / Prometheus schema for exponential layouts
    p99: float = BASELINE_P99

    @property
    def exponential(self) -> bool:
        return self.scale is not None


LAYOUTS = [
    Layout("client_golang DefBuckets", tuple(_DEF)),
    Layout("OTel SDK default, ms", tuple(b / 1000 for b in _OTEL_DEFAULT)),
    # The SDK's defaults are milliseconds; recorded in seconds, everything under 5 s shares
    # the first bucket and nothing can be told apart there. A service whose P99 is tens of
    # seconds (a batch or report endpoint) is where this layout still measures something.
    Layout("OTel SDK default, s", tuple(float(b) for b in _OTEL_DEFAULT), p99=42.0),
    Layout("OTel semconv http.server.request.duration", tuple(_SEMCONV)),
    *(Layout(f"exponential scale {s}", scale=s) for s in range(9)),
    # client_golang's NativeHistogramBucketFactor 1.1 picks schema 3
    Layout("Prometheus native, factor 1.1 (schema 3)", scale=3),
]


def _edges(layout: Layout, lo: float, hi: float) -> np.ndarray:
    """Finite bucket upper bounds: the layout's own, or exponential ones covering [lo, hi]."""
    if not layout.exponential:
        return np.asarray(layout.bounds, dtype=np.float64)
    assert layout.scale is not None
    factor = 2.0**layout.scale
    first = math.floor(math.log2(lo) * factor)
    last = math.ceil(math.log2(hi) * factor)
    return 2.0 ** (np.arange(first, last + 1) / factor)


def _probabilities(edges: np.ndarray, median: float, sigma: float = SIGMA) -> np.ndarray:
    """Probability of each bucket (finite ones, then +Inf) for lognormal latencies."""
    with np.errstate(divide="ignore"):  # a bound at 0 (OTel defaults) is log -inf: cdf 0
        z = (np.log(edges) - math.log(median)) / sigma
    cdf = 0.5 * (1.0 + np.vectorize(math.erf)(z / math.sqrt(2.0)))
    p = np.diff(np.concatenate([[0.0], cdf, [1.0]]))
    return np.clip(p, 0.0, None)


@dataclass
class Series:
    """One simulated P99 series, a point per second."""

    value: np.ndarray  # P99 seconds, NaN without requests
    p95: np.ndarray  # P95 of the same window (what the hub passes along with the P99)
    saturated: np.ndarray  # bool: landed in +Inf
    lower: np.ndarray  # bucket holding the P99 (lower, upper]; NaN where it says nothing
    upper: np.ndarray
    observations: np.ndarray  # requests in the window
    edges: np.ndarray
    windows: np.ndarray  # a sample of window counts (finite buckets then +Inf), for checks
    sample_at: np.ndarray

    def bucket(self, i: int) -> tuple[float, float] | None:
        lo, up = float(self.lower[i]), float(self.upper[i])
        return None if math.isnan(lo) else (lo, up)


def simulate(
    layout: Layout,
    rate: float,
    seconds: int,
    seed: int,
    step_at: int | None = None,
    factor: float = 1.0,
    window: int = WINDOW,
    sigma: float = SIGMA,
) -> Series:
    """P99 per second; from `step_at` on, latencies are `factor` times slower.

    `sigma` is the lognormal shape: 0.6 (a P99 about 4x the median) by default, 1.2 for a
    heavy tail (P99 16x the median, tail index about 2 at the P99).

    The step is a step of the P99 series itself: every window from `step_at` on holds only
    slowed requests (what an operator calls "the P99 went from x to 2x"), so detection delay
    is the detector's own, not the rate window filling up.
    """
    median = layout.p99 / math.exp(sigma * Z99)
    top = max(factor, 1.0)
    # buckets from the 90th percentile to 3x the P99 (a request beyond is 4 sigma out) ...
    edges = _edges(layout, median * math.exp(sigma * 1.28), layout.p99 * top * 3)
    if layout.exponential:
        edges = np.concatenate([[median], edges])  # ... everything under them in one bucket
    rng = np.random.default_rng(seed)
    levels = [_probabilities(edges, median, sigma)]
    if step_at is not None:
        levels.append(_probabilities(edges, median * factor, sigma))
    out = [np.empty(seconds) for _ in range(5)]
    obs = np.empty(seconds)
    chunk = 4096
    carry: list[np.ndarray | None] = [None] * len(levels)
    samples_at = np.linspace(0, seconds - 1, 40).astype(int)
    samples = np.empty((len(samples_at), len(edges) + 1))
    for start in range(0, seconds, chunk):
        n = min(chunk, seconds - start)
        wins = []
        for k, p in enumerate(levels):
            fresh = rng.poisson(rate * p, size=(n + (window if carry[k] is None else 0), len(p)))
            prev = carry[k]
            per_second = fresh if prev is None else np.concatenate([prev, fresh])
            carry[k] = per_second[-window:]
            run = np.concatenate([np.zeros((1, len(p))), np.cumsum(per_second, axis=0)])
            wins.append(run[window + 1 :] - run[1:-window])
        win = wins[0]
        if step_at is not None:
            t = np.arange(start, start + n)[:, None]
            win = np.where(t >= step_at, wins[1], wins[0])
        v, sat, lo, up = _quantile(win, edges, layout.exponential)
        sl = slice(start, start + n)
        out[0][sl], out[1][sl], out[2][sl], out[3][sl] = v, sat, lo, up
        out[4][sl] = _quantile(win, edges, layout.exponential, 0.95)[0]
        obs[sl] = win.sum(axis=1)
        for j, i in enumerate(samples_at):
            if start <= i < start + n:
                samples[j] = win[i - start]
    return Series(
        out[0], out[4], out[1].astype(bool), out[2], out[3], obs, edges, samples, samples_at
    )


def _quantile(
    win: np.ndarray, edges: np.ndarray, exponential: bool, q: float = 0.99
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Vectorised histogram_quantile(q) over rows of window counts."""
    nb = len(edges)
    cum = np.cumsum(win, axis=1)
    total = cum[:, -1]
    rank = q * total
    finite = cum[:, :-1]
    reached = finite >= rank[:, None]
    idx = np.argmax(reached, axis=1)
    idx[~reached.any(axis=1)] = nb  # +Inf
    rows = np.arange(len(win))
    inside = idx < nb
    safe = np.minimum(idx, nb - 1)
    upper = edges[safe]
    lower = np.where(idx > 0, edges[np.maximum(idx - 1, 0)], 0.0)
    below = np.where(idx > 0, cum[rows, np.maximum(idx - 1, 0)], 0.0)
    count = cum[rows, safe] - below
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = (rank - below) / count
        if exponential:
            value = np.exp2(np.log2(lower) + (np.log2(upper) - np.log2(lower)) * frac)
        else:
            value = lower + (upper - lower) * frac
    saturated = ~inside
    value = np.where(saturated, edges[-1], value)
    value = np.where(total > 0, value, np.nan)
    known = inside & (lower > 0) if exponential else inside  # explicit: (0, b] counts too
    return (
        value,
        saturated,
        np.where(known, lower, np.nan),
        np.where(known, upper, np.nan),
    )


def check_exact(layout: Layout, series: Series) -> int:
    """The vectorised P99 equals tui's Prometheus ports on the sampled windows; how many."""
    edges = series.edges
    checked = 0
    for counts, i in zip(series.windows, series.sample_at.tolist(), strict=True):
        if counts.sum() == 0 or series.saturated[i]:
            continue
        if layout.exponential:
            assert layout.scale is not None
            if counts[-1] > 0:
                continue  # requests above the laid-out buckets: the OTLP shape has no +Inf
            factor = 2.0**layout.scale
            first = round(math.log2(edges[1]) * factor) - 1  # OTLP index of edges[1]'s bucket
            # everything under the median was collapsed into one bucket: Prometheus' zero
            # bucket with that threshold gives the same answer above it
            ref = exponential_quantile(
                0.99,
                layout.scale,
                float(edges[0]),
                float(counts[0]),
                first,
                counts[1:-1].tolist(),
            ).value
        else:
            cum = np.cumsum(counts).tolist()
            ref = bucket_quantile(0.99, [*edges.tolist(), math.inf], cum).value
        assert math.isclose(ref, float(series.value[i]), rel_tol=1e-9), (layout.name, ref, i)
        checked += 1
    return checked
