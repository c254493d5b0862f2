"""P99 spike detection that sees a spike within one refresh and does not page on noise.

Why not mean/stddev or EWMA: one spike inflates the variance and hides the next, and a
quantised P99 series (the quantile keeps landing on the same bucket bound) has zero spread,
so any deviation would be "infinitely" significant. Instead, per series, on log(P99):

- baseline = median of the last W points that were not themselves hits;
- noise s = max(1.4826 * MAD, log(1 + noise_floor)): the series' own spread, robustly;
- a point is a hit when it is a statistical move, z = (log x - median) / s > z_threshold,
  AND a measurable move (below) AND x / baseline >= min_ratio AND x - baseline >= min_delta
  (the last two keep tiny-but-"significant" moves quiet).

What the request count can tell. A P99 over n requests rests on the n/100 above it; their
count is Poisson noise, and a window's P99 is correlated with the next 60 (the rate window),
so the MAD of 30 points underestimates it at low traffic. The rise must also exceed what that
count can fake at z (`_resolution`): about 1.5x at 20 req/s, 1.1x at 200 req/s. How far
the quantile moves for a given change in that count depends on the tail's steepness
(P(X > x) ~ x**-a): 3.5 is assumed; when the caller passes the P95 with each P99, the
series' own a = ln(5) / ln(P99 / P95), each point's clipped to [1, 3.5] and averaged over
its last TAIL_MEMORY points, replaces it: only ever heavier, never lighter (inside one
bucket, interpolation flattens P99 / P95 and would make the tail look light). A heavy tail
at low traffic then needs a bigger move.

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

Hits are classified over the last 5 points: one or two are a GLITCH (one event per hit);
three of five are SUSTAINED (a level shift, reported once), after which the baseline is
re-seeded from the new level so a shift does not become an alert storm. The pre-shift
baseline is kept; when 3 of the last 5 points are back within thresholds of it, RECOVERED is
reported and the old baseline restored.

With fewer than 5 baseline points the series is WARMING UP: hits are judged relative to the
stored baseline P99 when the caller has one (ratio and delta only, no scale yet), else the
detector stays silent. A saturated P99 (the quantile landed in +Inf, so the value is only a
lower bound) is always a candidate above the baseline and is labelled; a low-confidence point
(too few observations) can be a GLITCH but never raises SUSTAINED on its own.

A P99 that keeps landing in the histogram's first bucket (0, b] is interpolated between 0
and b, not measured: nothing below b can be told apart, so no step under b can page. That is
what the OTel SDK's default bounds (0, 5, 10, ... 10000, meant for milliseconds) do to an
instrument recorded in seconds. After RECENT such points in a row the series is listed by
`layout_warnings` with the bucket, so the UI can say why its P99 looks flat.

The per-point path is O(log W) (bisect into a sorted window) and computes the MAD only for
points that already passed the cheap ratio/delta checks, so the cost stays a few microseconds.
"""

from __future__ import annotations

import math
from bisect import bisect_left, insort
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tui.core.metrics.quantile import Bucket
from tui.core.metrics.store import FLAG_LOW_CONFIDENCE, FLAG_SATURATED, QUANTILE_SIGNALS
from tui.core.units import latency
from tui.errors import UserError

if TYPE_CHECKING:
    from tui.config import Config, DetectorConfig
    from tui.core.baseline.store import BaselineStore

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


@dataclass(frozen=True, slots=True)
class SpikeEvent:
    """One detector transition, for the events pane, the sparkline marker and the recording."""

    t: float
    service: str
    signal: str
    state: str  # GLITCH | SUSTAINED | RECOVERED
    value: float  # the P99 that triggered it, seconds
    baseline: float  # the baseline it was judged against, seconds (pre-shift one for RECOVERED)
    ratio: float  # value / baseline
    saturated: bool = False  # value is a lower bound (quantile in the +Inf bucket)
    low_confidence: bool = False  # too few observations behind the value
    z: float | None = None  # robust z-score, None when judged against a stored baseline

    @classmethod
    def from_record(cls, rec: Mapping[str, Any]) -> SpikeEvent:
        """Back from a record line (ratio recomputed; flags are not in the line)."""
        value, baseline = float(rec["value"]), float(rec["baseline"])
        return cls(
            float(rec["t"]),
            str(rec["service"]),
            str(rec.get("signal", "p99")),
            str(rec["state"]),
            value,
            baseline,
            value / baseline if baseline > 0 else math.inf,
        )

    def to_record(self) -> dict[str, Any]:
        """The `warroom record` line for this event (exactly the documented keys)."""
        return {
            "t": self.t,
            "type": "spike",
            "service": self.service,
            "signal": self.signal,
            "state": self.state,
            "value": self.value,
            "baseline": self.baseline,
        }


class DetectorSettingsError(UserError, ValueError):
    """A detector threshold that cannot work (e.g. a window shorter than 5 points).

    A UserError so the CLI prints one line; a ValueError so a config __post_init__ could
    raise it and get the file/line location from the loader.
    """


@dataclass(frozen=True, slots=True)
class _Settings:
    window: int
    z: float
    log_min_ratio: float
    min_ratio: float
    min_delta: float
    log_floor: float
    min_observations: int

    @classmethod
    def of(cls, cfg: DetectorConfig, where: str) -> _Settings:
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


class _Baseline:
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
        dev = sorted([abs(v - med) for v in self.sorted])
        n, h = len(dev), len(dev) // 2
        return dev[h] if n % 2 else 0.5 * (dev[h - 1] + dev[h])

    def copy(self) -> _Baseline:
        return _Baseline(self.size, list(self.order))


class _Series:
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
        self.base = _Baseline(size)
        self.bounds: list[float] = []  # sorted bucket bounds this series has reported
        # (log value, hit, confident) for the last RECENT points
        self.recent: deque[tuple[float, bool, bool]] = deque(maxlen=RECENT)
        self.shift_from: _Baseline | None = None  # pre-shift baseline while SUSTAINED
        self.back: deque[bool] = deque(maxlen=RECENT)  # points back at the pre-shift level
        self.state = WARMING_UP
        self.since_event = 0  # points since the last hit or RECOVERED (for display decay)
        self.first_bucket_run = 0  # points in a row whose P99 lay in the first bucket (0, b]
        self.tail = TAIL_INDEX  # mean of recent tail-index estimates (each clipped)
        self.tail_n = 0  # estimates behind it, up to TAIL_MEMORY


class SpikeTracker:
    """Per-service spike detectors on P99; feed one point per refresh with `observe`."""

    def __init__(
        self,
        default: DetectorConfig,
        per_service: dict[str, DetectorConfig] | None = None,
        signal: str = "p99",
    ):
        self.signal = signal
        self._tail_share = 1.0 - QUANTILE_SIGNALS.get(signal, 0.99)
        self._log_share_ratio = math.log((1.0 - QUANTILE_SIGNALS["p95"]) / self._tail_share)
        self._default = _Settings.of(default, "detector")
        self._per_service = {
            name: _Settings.of(c, f"services[{name}].detector")
            for name, c in (per_service or {}).items()
        }
        self._series: dict[str, _Series] = {}
        self._stored: dict[str, float] = {}  # stored baseline P99 per service, for warm-up
        self._coarse: dict[str, float] = {}  # service -> upper bound of the first bucket

    @classmethod
    def from_config(cls, cfg: Config) -> SpikeTracker:
        """Global `detector` settings, overridden wholesale by `services[].detector`."""
        per = {s.name: s.detector for s in cfg.services if s.detector is not None}
        return cls(cfg.detector, per)

    def set_baseline(self, service: str, p99: float | None) -> None:
        """The stored baseline P99 (seconds) to judge warm-up points against; None clears it.

        Used whenever `observe` is not given `baseline_p99` itself.
        """
        if p99 is not None and p99 > 0 and math.isfinite(p99):
            self._stored[service] = float(p99)
        else:
            self._stored.pop(service, None)

    def load_baselines(self, store: BaselineStore) -> dict[str, float]:
        """Set each service's stored baseline to the median P99 of its current snapshot."""
        loaded: dict[str, float] = {}
        for service in store.services():
            snap = store.current(service)
            values = sorted(
                v
                for v in (snap.signals.get("p99", []) if snap is not None else [])
                if v > 0 and math.isfinite(v)
            )
            if values:
                n, h = len(values), len(values) // 2
                loaded[service] = values[h] if n % 2 else 0.5 * (values[h - 1] + values[h])
                self.set_baseline(service, loaded[service])
        return loaded

    def settings(self, service: str) -> _Settings:
        return self._per_service.get(service, self._default)

    def state(self, service: str) -> str:
        """OK / GLITCH / SUSTAINED / RECOVERED / WARMING UP (WARMING UP for an unseen one)."""
        s = self._series.get(service)
        return s.state if s is not None else WARMING_UP

    def states(self) -> dict[str, str]:
        return {name: s.state for name, s in self._series.items()}

    def baseline(self, service: str) -> float | None:
        """Current baseline P99 (seconds), None while warming up."""
        s = self._series.get(service)
        if s is None or len(s.base) < MIN_BASELINE_POINTS:
            return None
        return math.exp(s.base.median())

    def layout_warnings(self) -> dict[str, str]:
        """Services whose P99 sits in the histogram's first bucket, and what that means."""
        return {name: first_bucket_warning(upper) for name, upper in self._coarse.items()}

    def forget(self, service: str) -> None:
        """Drop a service's history (it vanished, or the operator accepted a new baseline)."""
        self._series.pop(service, None)
        self._coarse.pop(service, None)

    def reset(self) -> None:
        """Drop every service's history (a replay scrubbed backwards); stored baselines stay."""
        self._series.clear()
        self._coarse.clear()

    def observe(
        self,
        service: str,
        t: float,
        value: float,
        flags: int = 0,
        bucket: Bucket | None = None,
        observations: float | None = None,
        baseline_p99: float | None = None,
        p95: float | None = None,
    ) -> SpikeEvent | None:
        """Judge one P99 point; return the event it causes, if any.

        `flags` are the store's FLAG_SATURATED / FLAG_LOW_CONFIDENCE bits; `bucket` is the
        histogram bucket (lower, upper] holding the quantile, None if unknown (see
        `tui.core.metrics.quantile.bucket_of`);
        `observations` is the request count behind the point (below min_observations the
        point is low-confidence); `baseline_p99` is the stored baseline, used while warming
        up; `p95` is the P95 of the same window, for the tail's steepness (`_resolution`).
        Values that are not positive finite numbers (no traffic) are ignored.
        """
        if not (value > 0 and math.isfinite(value)):
            return None
        cfg = self._per_service.get(service, self._default)
        s = self._series.get(service)
        if s is None:
            s = self._series[service] = _Series(cfg.window)
        lx = math.log(value)
        saturated = bool(flags & FLAG_SATURATED)
        confident = not (
            flags & FLAG_LOW_CONFIDENCE
            or (observations is not None and observations < cfg.min_observations)
        )
        s.since_event += 1
        if p95 is not None and 0 < p95 < value and math.isfinite(p95):
            a = min(TAIL_INDEX, max(MIN_TAIL_INDEX, self._log_share_ratio / math.log(value / p95)))
            s.tail_n = min(s.tail_n + 1, TAIL_MEMORY)
            s.tail += (a - s.tail) / s.tail_n
        if bucket is not None:
            _remember_bounds(s.bounds, bucket)
            s.first_bucket_run = s.first_bucket_run + 1 if _first_bucket(bucket) else 0
            if s.first_bucket_run >= RECENT:
                self._coarse[service] = bucket[1]
            elif s.first_bucket_run == 0:
                self._coarse.pop(service, None)

        if s.shift_from is not None:
            recovered = self._check_recovery(s, cfg, lx, value, bucket, saturated, observations)
            if recovered is not None:
                return SpikeEvent(
                    t,
                    service,
                    self.signal,
                    RECOVERED,
                    value,
                    recovered,
                    value / recovered,
                    saturated,
                    not confident,
                )

        base = s.base
        n = len(base)
        if n < MIN_BASELINE_POINTS:
            if baseline_p99 is None:
                baseline_p99 = self._stored.get(service)
            return self._warming(s, cfg, t, service, lx, value, saturated, confident, baseline_p99)

        med = base.median()
        ref = math.exp(med)
        hit = False
        z: float | None = None
        # saturated: the value is only a lower bound, so above the baseline is always a hit
        if saturated and lx > med:
            hit = True
            z = (lx - med) / _spread(base, med, cfg)
        elif lx - med >= cfg.log_min_ratio and value - ref >= cfg.min_delta:
            z = (lx - med) / _spread(base, med, cfg)
            hit = (
                z > cfg.z
                and lx - med > self._resolution(observations, cfg.z, s.tail)
                and _measurable(lx - med, ref, bucket, s.bounds)
            )
        return self._classify(s, t, service, lx, value, ref, hit, saturated, confident, z)

    # --- internals ---------------------------------------------------------------------

    def _resolution(self, observations: float | None, z: float, tail: float) -> float:
        """The smallest log-rise a quantile from `observations` requests can show at `z`.

        Only k = (1 - q) * n requests lie above the quantile; their count is Poisson, so
        (variance-stabilised) it can drop to (sqrt(k) - z/2)**2 by chance, and the quantile
        then rises by log(k / that) / a, a the tail index. At 20 req/s over 60 s (k = 12)
        this is about 1.5x, at 200 req/s about 1.1x (a = 3.5): low traffic cannot resolve
        small moves, and a heavier tail (smaller a, from the series' P95/P99) even less.
        """
        if observations is None or observations <= 0:
            return 0.0
        root = math.sqrt(self._tail_share * observations)
        low = max(root - z / 2.0, root / 4.0)
        return 2.0 * math.log(root / low) / tail

    def _classify(
        self,
        s: _Series,
        t: float,
        service: str,
        lx: float,
        value: float,
        ref: float,
        hit: bool,
        saturated: bool,
        confident: bool,
        z: float | None,
    ) -> SpikeEvent | None:
        s.recent.append((lx, hit, confident))
        if not hit:
            s.base.add(lx)
            # GLITCH and RECOVERED are shown until RECENT quiet points have passed
            if s.shift_from is None and (s.state == WARMING_UP or s.since_event >= RECENT):
                s.state = OK
            return None
        s.since_event = 0
        hits = [(v, c) for v, h, c in s.recent if h]
        if len(hits) >= SUSTAIN_HITS and any(c for _, c in hits):
            # a level shift: report once, then judge against the new level
            if s.shift_from is None:
                # keep what "normal" was, to report the return to it
                s.shift_from = (
                    s.base
                    if len(s.base) >= MIN_BASELINE_POINTS
                    else _Baseline(s.base.size, [math.log(ref)])
                )
                s.back.clear()
            s.base = _Baseline(s.base.size, [v for v, _ in hits])
            s.recent.clear()
            s.state = SUSTAINED
            return SpikeEvent(
                t,
                service,
                self.signal,
                SUSTAINED,
                value,
                ref,
                value / ref,
                saturated,
                not confident,
                z,
            )
        if s.shift_from is None:
            s.state = GLITCH
        if len(hits) >= SUSTAIN_HITS:
            return None  # 3 of 5 on low-confidence points alone: shown, not raised
        return SpikeEvent(
            t, service, self.signal, GLITCH, value, ref, value / ref, saturated, not confident, z
        )

    def _warming(
        self,
        s: _Series,
        cfg: _Settings,
        t: float,
        service: str,
        lx: float,
        value: float,
        saturated: bool,
        confident: bool,
        baseline_p99: float | None,
    ) -> SpikeEvent | None:
        if s.shift_from is not None or baseline_p99 is None or not baseline_p99 > 0:
            # re-seeding after a shift, or nothing to compare with: silent
            s.base.add(lx)
            if s.shift_from is None:
                s.state = WARMING_UP if len(s.base) < MIN_BASELINE_POINTS else OK
            return None
        ref = float(baseline_p99)
        if saturated:
            hit = value > ref
        else:
            hit = value / ref >= cfg.min_ratio and value - ref >= cfg.min_delta
        event = self._classify(s, t, service, lx, value, ref, hit, saturated, confident, None)
        if s.shift_from is None and s.state == OK and len(s.base) < MIN_BASELINE_POINTS:
            s.state = WARMING_UP
        return event

    def _check_recovery(
        self,
        s: _Series,
        cfg: _Settings,
        lx: float,
        value: float,
        bucket: Bucket | None,
        saturated: bool,
        observations: float | None,
    ) -> float | None:
        """Count points back within thresholds of the pre-shift baseline; on 3 of 5, restore it.

        Returns the pre-shift baseline (seconds) when recovery is reported, else None.
        """
        old = s.shift_from
        assert old is not None
        med = old.median()
        ref = math.exp(med)
        if saturated:
            back = False
        elif lx - med < cfg.log_min_ratio or value - ref < cfg.min_delta:
            back = True
        else:
            back = (
                (lx - med) / _spread(old, med, cfg) <= cfg.z
                or lx - med <= self._resolution(observations, cfg.z, s.tail)
                or not _measurable(lx - med, ref, bucket, s.bounds)
            )
        s.back.append(back)
        if not back or sum(s.back) < SUSTAIN_HITS:
            return None
        s.base = old
        s.base.add(lx)
        s.shift_from = None
        s.back.clear()
        s.recent.clear()
        s.state = RECOVERED
        s.since_event = 0
        return ref


def _spread(base: _Baseline, med: float, cfg: _Settings) -> float:
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


def _first_bucket(bucket: Bucket) -> bool:
    lower, upper = bucket
    return lower <= 0 and 0 < upper < math.inf


def _remember_bounds(bounds: list[float], bucket: Bucket) -> None:
    for b in bucket:
        i = bisect_left(bounds, b)
        if (i == len(bounds) or bounds[i] != b) and len(bounds) < MAX_BOUNDS:
            bounds.insert(i, b)


def _measurable(rise: float, ref: float, bucket: Bucket | None, bounds: list[float]) -> bool:
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
