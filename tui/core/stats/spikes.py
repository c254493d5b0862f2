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

The per-point path is O(log W) (bisect into a sorted window) and computes the MAD only for
points that already passed the cheap ratio/delta checks, so the cost stays a few microseconds.

Where it lives: here the tracker and `SpikeEvent`; in spike_series.py the per-series memory,
the state names (exported from here too), window sizes and the bucket tests.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tui.core.metrics.quantile import Bucket
from tui.core.metrics.store import FLAG_LOW_CONFIDENCE, FLAG_SATURATED, QUANTILE_SIGNALS
from tui.core.stats.spike_series import (
    GLITCH,
    MIN_BASELINE_POINTS,
    OK,
    RECENT,
    RECOVERED,
    STATES,
    SUSTAIN_HITS,
    SUSTAINED,
    WARMING_UP,
    Baseline,
    DetectorSettingsError,
    Series,
    Settings,
    first_bucket_warning,
    is_first_bucket,
    measurable,
    remember_bounds,
    sorted_median,
    spread,
)

if TYPE_CHECKING:
    from tui.config import Config, DetectorConfig
    from tui.core.baseline.store import BaselineStore

__all__ = [
    "GLITCH",
    "OK",
    "RECENT",
    "RECOVERED",
    "STATES",
    "SUSTAINED",
    "WARMING_UP",
    "DetectorSettingsError",
    "SpikeEvent",
    "SpikeTracker",
]


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
        self._default = Settings.of(default, "detector")
        self._per_service = {
            name: Settings.of(c, f"services[{name}].detector")
            for name, c in (per_service or {}).items()
        }
        self._series: dict[str, Series] = {}
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
                loaded[service] = sorted_median(values)
                self.set_baseline(service, loaded[service])
        return loaded

    def settings(self, service: str) -> Settings:
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
            s = self._series[service] = Series(cfg.window)
        lx = math.log(value)
        saturated = bool(flags & FLAG_SATURATED)
        confident = not (
            flags & FLAG_LOW_CONFIDENCE
            or (observations is not None and observations < cfg.min_observations)
        )
        s.since_event += 1
        if p95 is not None and 0 < p95 < value and math.isfinite(p95):
            s.learn_tail(self._log_share_ratio / math.log(value / p95))
        if bucket is not None:
            remember_bounds(s.bounds, bucket)
            s.first_bucket_run = s.first_bucket_run + 1 if is_first_bucket(bucket) else 0
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

        if len(s.base) < MIN_BASELINE_POINTS:
            if baseline_p99 is None:
                baseline_p99 = self._stored.get(service)
            return self._warming(s, cfg, t, service, lx, value, saturated, confident, baseline_p99)
        hit, ref, z = self._judge(s, cfg, lx, value, saturated, bucket, observations)
        return self._classify(s, t, service, lx, value, ref, hit, saturated, confident, z)

    # --- internals ---------------------------------------------------------------------

    def _judge(
        self,
        s: Series,
        cfg: Settings,
        lx: float,
        value: float,
        saturated: bool,
        bucket: Bucket | None,
        observations: float | None,
    ) -> tuple[bool, float, float | None]:
        """Whether a point is a hit on a warmed-up baseline: (hit, baseline seconds, z)."""
        base = s.base
        med = base.median()
        ref = math.exp(med)
        hit = False
        z: float | None = None
        # saturated: the value is only a lower bound, so above the baseline is always a hit
        if saturated and lx > med:
            hit = True
            z = (lx - med) / spread(base, med, cfg)
        elif lx - med >= cfg.log_min_ratio and value - ref >= cfg.min_delta:
            z = (lx - med) / spread(base, med, cfg)
            hit = (
                z > cfg.z
                and lx - med > self._resolution(observations, cfg.z, s.tail)
                and measurable(lx - med, ref, bucket, s.bounds)
            )
        return hit, ref, z

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
        s: Series,
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
                    else Baseline(s.base.size, [math.log(ref)])
                )
                s.back.clear()
            s.base = Baseline(s.base.size, [v for v, _ in hits])
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
        s: Series,
        cfg: Settings,
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
        s: Series,
        cfg: Settings,
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
                (lx - med) / spread(old, med, cfg) <= cfg.z
                or lx - med <= self._resolution(observations, cfg.z, s.tail)
                or not measurable(lx - med, ref, bucket, s.bounds)
            )
        s.back.append(back)
        if not back or sum(s.back) < SUSTAIN_HITS:
            return None
        s.recover(lx)
        return ref
