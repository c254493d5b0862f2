"""One series' memory for the spike detector, and the tests a point must pass on it.

The detector itself (`SpikeTracker`, its events and the whole method) is in
tui.core.stats.spikes; this module holds what it keeps per series and the checks it runs:
the state names and window sizes, `Settings` (a checked `detector` config), `Baseline`
(the last W log-values, sorted for the median and MAD), `Series` (baseline, recent hits,
tail index, the bucket bounds seen) and the bucket tests below.

What buckets can tell. A quantile from a histogram is only known to lie in its bucket; where
inside is linear interpolation, which assumes the requests spread evenly. So, when the caller
passes the bucket (lower, upper] that holds the point:

- a value whose bucket lies two or more buckets above the baseline's bucket is a measurable
  move: at least one whole bucket separates the two, whatever interpolation did;
- otherwise (same or adjacent bucket) the move must exceed half the log-width of the value's
  bucket, because requests re-spreading inside one bucket moves the interpolated value by
  that much without the distribution above it changing.

The bucket width is a floor on the size of a move, never a multiplier of z: multiplying made
a 5.6x P99 jump across two of client_golang's DefBuckets (0.42 s -> 2.4 s) score z = 1.9,
i.e. a jump had to be about 25x to page. The baseline's bucket is found among the bucket
bounds the series has reported (any reported bound at or above the baseline bounds it), so
no layout needs to be configured. Without bucket information (summaries, native histograms
through PromQL) only the statistical test applies, which is what fine layouts need anyway.

A P99 that keeps landing in the histogram's first bucket (0, b] is interpolated between 0
and b, not measured: nothing below b can be told apart, so no step under b can page. That is
what the OTel SDK's default bounds (0, 5, 10, ... 10000, meant for milliseconds) do to an
instrument recorded in seconds. After RECENT such points in a row the series is listed by
`layout_warnings` with the bucket, so the UI can say why its P99 looks flat.
"""

from __future__ import annotations

import math
from bisect import bisect_left, insort
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tui.core.metrics.quantile import Bucket
from tui.core.units import latency
from tui.errors import UserError

if TYPE_CHECKING:
    from tui.config import DetectorConfig

OK = "OK"
GLITCH = "GLITCH"
SUSTAINED = "SUSTAINED"
RECOVERED = "RECOVERED"
WARMING_UP = "WARMING UP"
STATES = (OK, GLITCH, SUSTAINED, RECOVERED, WARMING_UP)

RECENT = 5  # points over which hits are counted (3 of the last 5 = sustained)
SUSTAIN_HITS = 3
MIN_BASELINE_POINTS = 5  # below this the series is warming up
MAD_TO_SIGMA = 1.4826  # MAD of a normal distribution times this is its standard deviation
# Local tail index of request latency at its P99 (P(X > x) ~ x**-a): about 4.5 for a lognormal
# with a P99 4x its median; 3.5 assumes a heavier tail, as real latency tails often are.
TAIL_INDEX = 3.5
MIN_TAIL_INDEX = 1.0  # estimates below this (P99 over 5x the P95) are taken as 1
# Tail estimates are averaged over about this many points (10 min at a 1 s refresh): one
# window's P95/P99 rests on a few dozen requests at low traffic, and the windows overlap.
TAIL_MEMORY = 600


MAX_BOUNDS = 512  # bucket bounds remembered per series (a layout change past this is rare)


class DetectorSettingsError(UserError, ValueError):
    """A detector threshold that cannot work (e.g. a window shorter than 5 points).

    A UserError so the CLI prints one line; a ValueError so a config __post_init__ could
    raise it and get the file/line location from the loader.
    """


@dataclass(frozen=True, slots=True)
class Settings:
    window: int
    z: float
    log_min_ratio: float
    min_ratio: float
    min_delta: float
    log_floor: float
    min_observations: int

    @classmethod
    def of(cls, cfg: DetectorConfig, where: str) -> Settings:
        checks = [
            (cfg.window >= MIN_BASELINE_POINTS, f"window must be at least {MIN_BASELINE_POINTS}"),
            (cfg.z > 0, "z must be positive"),
            (cfg.min_ratio >= 1.0, "min_ratio must be at least 1.0"),
            (cfg.min_delta >= 0, "min_delta cannot be negative"),
            (cfg.noise_floor >= 0, "noise_floor cannot be negative"),
            (cfg.min_observations >= 0, "min_observations cannot be negative"),
        ]
        for ok, message in checks:
            if not ok:
                raise DetectorSettingsError(f"{where}: {message}")
        return cls(
            window=int(cfg.window),
            z=float(cfg.z),
            log_min_ratio=math.log(cfg.min_ratio),
            min_ratio=float(cfg.min_ratio),
            min_delta=float(cfg.min_delta),
            log_floor=math.log1p(cfg.noise_floor),
            min_observations=int(cfg.min_observations),
        )


class Baseline:
    """The last W log-values in arrival order plus the same values sorted (for the median)."""

    __slots__ = ("order", "size", "sorted")

    def __init__(self, size: int, values: list[float] | None = None):
        self.size = size
        self.order: deque[float] = deque()
        self.sorted: list[float] = []
        for v in values or ():
            self.add(v)

    def __len__(self) -> int:
        return len(self.sorted)

    def add(self, v: float) -> None:
        self.order.append(v)
        insort(self.sorted, v)
        if len(self.sorted) > self.size:
            old = self.order.popleft()
            del self.sorted[bisect_left(self.sorted, old)]

    def median(self) -> float:
        s, n = self.sorted, len(self.sorted)
        h = n // 2
        return s[h] if n % 2 else 0.5 * (s[h - 1] + s[h])

    def mad(self, med: float) -> float:
        return sorted_median(sorted([abs(v - med) for v in self.sorted]))

    def copy(self) -> Baseline:
        return Baseline(self.size, list(self.order))


class Series:
    __slots__ = (
        "back",
        "base",
        "bounds",
        "first_bucket_run",
        "recent",
        "shift_from",
        "since_event",
        "state",
        "tail",
        "tail_n",
    )

    def __init__(self, size: int):
        self.base = Baseline(size)
        self.bounds: list[float] = []  # sorted bucket bounds this series has reported
        # (log value, hit, confident) for the last RECENT points
        self.recent: deque[tuple[float, bool, bool]] = deque(maxlen=RECENT)
        self.shift_from: Baseline | None = None  # pre-shift baseline while SUSTAINED
        self.back: deque[bool] = deque(maxlen=RECENT)  # points back at the pre-shift level
        self.state = WARMING_UP
        self.since_event = 0  # points since the last hit or RECOVERED (for display decay)
        self.first_bucket_run = 0  # points in a row whose P99 lay in the first bucket (0, b]
        self.tail = TAIL_INDEX  # mean of recent tail-index estimates (each clipped)
        self.tail_n = 0  # estimates behind it, up to TAIL_MEMORY

    def recover(self, lx: float) -> None:
        """Back at the pre-shift level: its baseline (plus this point) is the baseline again."""
        assert self.shift_from is not None
        self.base = self.shift_from
        self.base.add(lx)
        self.shift_from = None
        self.back.clear()
        self.recent.clear()
        self.state = RECOVERED
        self.since_event = 0

    def learn_tail(self, a: float) -> None:
        """Fold one tail-index estimate a = ln((1 - 0.95) / (1 - q)) / ln(P(q) / P95) into the
        series' mean over TAIL_MEMORY points, clipped to [MIN_TAIL_INDEX, TAIL_INDEX]."""
        a = min(TAIL_INDEX, max(MIN_TAIL_INDEX, a))
        self.tail_n = min(self.tail_n + 1, TAIL_MEMORY)
        self.tail += (a - self.tail) / self.tail_n


def sorted_median(s: list[float]) -> float:
    """The median of an already sorted, non-empty list."""
    n, h = len(s), len(s) // 2
    return s[h] if n % 2 else 0.5 * (s[h - 1] + s[h])


def spread(base: Baseline, med: float, cfg: Settings) -> float:
    """The series' own noise in log space: robust (MAD), never below the noise floor."""
    return max(MAD_TO_SIGMA * base.mad(med), cfg.log_floor)


def first_bucket_warning(upper: float) -> str:
    """Why a P99 inside the first bucket (0, upper] cannot page, and the likely cause."""
    hint = (
        "; the OTel SDK's default bounds are milliseconds: an instrument in seconds needs "
        "explicit bounds (e.g. 0.005 ... 10)"
        if upper >= 1.0
        else ""
    )
    return (
        f"P99 is inside the first histogram bucket (0, {latency(upper)}]: interpolated, "
        f"not measured, so no change below {latency(upper)} can be seen{hint}"
    )


def is_first_bucket(bucket: Bucket) -> bool:
    lower, upper = bucket
    return lower <= 0 and 0 < upper < math.inf


def remember_bounds(bounds: list[float], bucket: Bucket) -> None:
    for b in bucket:
        i = bisect_left(bounds, b)
        if (i == len(bounds) or bounds[i] != b) and len(bounds) < MAX_BOUNDS:
            bounds.insert(i, b)


def measurable(rise: float, ref: float, bucket: Bucket | None, bounds: list[float]) -> bool:
    """Whether a log-rise of `rise` above baseline `ref` is more than buckets can blur.

    True when the value's bucket is two or more above the baseline's (a reported bound lies
    at or above `ref` and below the value's lower bound: the baseline's bucket ends there, so
    a whole bucket separates them), or when the rise exceeds half the value's bucket in log
    space (more than re-spreading inside that bucket explains). Unknown bucket: True.
    """
    if bucket is None:
        return True
    lower, upper = bucket
    if not (lower > 0 and math.isfinite(upper) and upper > lower):
        return True
    i = bisect_left(bounds, ref)
    if i < len(bounds) and bounds[i] < lower:
        return True
    return rise > 0.5 * math.log(upper / lower)
