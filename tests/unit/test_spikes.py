"""The P99 spike detector on series shaped like real recordings.

Steady series are built the way a real P99 is: the 99th percentile of many lognormal request
latencies per refresh (sampled exactly through the order statistic), or quantised through
histogram buckets. Spikes are then injected at known points.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from statistics import NormalDist
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tui.config import Config, ConfigError, DetectorConfig, ServiceConfig, parse_config
from tui.core.metrics.quantile import bucket_of, exponential_bucket_of
from tui.core.metrics.store import FLAG_LOW_CONFIDENCE, FLAG_SATURATED
from tui.core.stats.spikes import (
    GLITCH,
    OK,
    RECOVERED,
    STATES,
    SUSTAINED,
    WARMING_UP,
    DetectorSettingsError,
    SpikeEvent,
    SpikeTracker,
)
from tui.errors import UserError

_ND = NormalDist()


def steady_p99(
    n: int, seed: int, median_s: float = 0.05, sigma: float = 0.5, requests: int = 2000
) -> np.ndarray:
    """P99 of `requests` lognormal latencies per point, sampled exactly via the order statistic.

    The k-th order statistic of n uniforms is Beta(k, n + 1 - k); mapping it through the
    lognormal quantile function gives the sample P99 without drawing all the requests.
    """
    rng = np.random.default_rng(seed)
    k = math.ceil(0.99 * requests)
    u = rng.beta(k, requests + 1 - k, size=n)
    return np.array([median_s * math.exp(sigma * _ND.inv_cdf(float(x))) for x in u])


def feed(
    tracker: SpikeTracker, values: Iterable[float], service: str = "api", **kw: Any
) -> list[tuple[int, SpikeEvent]]:
    out: list[tuple[int, SpikeEvent]] = []
    for i, v in enumerate(values):
        ev = tracker.observe(service, float(i), float(v), **kw)
        if ev is not None:
            out.append((i, ev))
    return out


def test_steady_lognormal_noise_raises_nothing_over_10000_points() -> None:
    tracker = SpikeTracker(DetectorConfig())
    values = steady_p99(10_000, seed=7)
    # the series does move: a few percent point to point, which a stddev detector would flag
    assert np.std(np.log(values)) > 0.02
    assert feed(tracker, values) == []
    assert tracker.state("api") == OK


def test_noisy_iid_lognormal_never_sustains() -> None:
    """Much noisier than a real P99 (10% iid in log space): glitches possible, no SUSTAINED."""
    tracker = SpikeTracker(DetectorConfig())
    rng = np.random.default_rng(3)
    values = 0.1 * np.exp(rng.normal(0.0, 0.1, 10_000))
    events = feed(tracker, values)
    assert all(ev.state == GLITCH for _, ev in events)
    assert len(events) < 10_000 * 0.005


def test_single_3x_glitch_is_a_glitch_on_that_point_only() -> None:
    tracker = SpikeTracker(DetectorConfig())
    values = steady_p99(300, seed=11)
    values[200] *= 3
    events = feed(tracker, values)
    assert [(i, ev.state) for i, ev in events] == [(200, GLITCH)]
    ev = events[0][1]
    assert ev.value == pytest.approx(values[200])
    assert ev.ratio == pytest.approx(ev.value / ev.baseline)
    assert 2.6 < ev.ratio < 3.4
    assert ev.z is not None and ev.z > 3.5
    assert not ev.saturated and not ev.low_confidence
    # one spike does not poison the baseline (it never enters the window)
    assert tracker.baseline("api") == pytest.approx(float(np.median(values[170:200])), rel=0.05)
    assert tracker.state("api") == OK


def test_glitch_is_shown_until_five_quiet_points_pass() -> None:
    tracker = SpikeTracker(DetectorConfig())
    values = list(steady_p99(60, seed=5))
    values[40] *= 3
    states = []
    for i, v in enumerate(values):
        tracker.observe("api", float(i), float(v))
        states.append(tracker.state("api"))
    assert states[39] == OK
    assert states[40:45] == [GLITCH] * 5
    assert states[45] == OK


def test_step_change_sustained_after_3_of_5_then_rebaselined_no_storm() -> None:
    tracker = SpikeTracker(DetectorConfig())
    values = steady_p99(1200, seed=13)
    values[100:900] *= 2.0  # a level shift lasting 800 points
    events = feed(tracker, values)
    assert [(i, ev.state) for i, ev in events] == [
        (100, GLITCH),
        (101, GLITCH),
        (102, SUSTAINED),
        (902, RECOVERED),
    ]
    sustained = events[2][1]
    assert sustained.baseline == pytest.approx(float(np.median(values[70:100])), rel=0.02)
    assert sustained.ratio == pytest.approx(2.0, rel=0.15)
    recovered = events[3][1]  # the third point of 3-of-5 back at the old level
    # RECOVERED names the pre-shift baseline it came back to
    assert recovered.baseline == pytest.approx(sustained.baseline)


def test_step_change_is_the_new_normal_while_it_lasts() -> None:
    tracker = SpikeTracker(DetectorConfig())
    values = steady_p99(400, seed=17)
    values[100:] *= 2.0
    seen = []
    for i, v in enumerate(values):
        tracker.observe("api", float(i), float(v))
        seen.append((tracker.state("api"), tracker.baseline("api")))
    assert seen[102][0] == SUSTAINED
    assert seen[-1][0] == SUSTAINED  # shown until it recovers or the baseline is accepted
    assert seen[-1][1] == pytest.approx(float(np.median(values[300:400])), rel=0.05)
    tracker.forget("api")
    assert tracker.state("api") == WARMING_UP
    tracker.observe("web", 0.0, 0.1)
    tracker.set_baseline("web", 0.1)
    tracker.reset()
    assert tracker.states() == {}
    ev = tracker.observe("web", 1.0, 0.5)  # stored baselines survive a reset
    assert ev is not None and ev.baseline == 0.1


def test_recovery_needs_three_of_five_points_back() -> None:
    tracker = SpikeTracker(DetectorConfig())
    level = [0.1] * 40 + [0.3] * 20
    # one point dips back, then the level stays high: not a recovery
    level += [0.1] + [0.3] * 10
    # now really back
    level += [0.1] * 10
    events = feed(tracker, level)
    states = [(i, ev.state) for i, ev in events]
    assert states == [(40, GLITCH), (41, GLITCH), (42, SUSTAINED), (73, RECOVERED)]


def test_quantised_series_with_zero_mad_uses_the_noise_floor() -> None:
    """A P99 stuck on a bucket bound has MAD = 0: the floor, not 1/0, sets the scale."""
    tracker = SpikeTracker(DetectorConfig())
    values = [0.25] * 50 + [0.26, 0.28, 0.29] + [0.25] * 10 + [0.31] + [0.25] * 10 + [0.75]
    events = feed(tracker, values)
    # 4%, 12%, 16% up: below min_ratio 1.2 -> quiet; 24% up: z = log(1.24)/log(1.05) = 4.4
    assert [(i, ev.state) for i, ev in events] == [(63, GLITCH), (74, GLITCH)]
    assert events[0][1].z == pytest.approx(math.log(0.31 / 0.25) / math.log(1.05))


DEF_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
OTEL_MS = [b / 1000 for b in (0, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000)]


def feed_bucketed(
    tracker: SpikeTracker, values: Iterable[float], bounds: Sequence[float]
) -> list[tuple[int, SpikeEvent]]:
    out: list[tuple[int, SpikeEvent]] = []
    for i, v in enumerate(values):
        ev = tracker.observe("api", float(i), float(v), bucket=bucket_of(float(v), bounds))
        if ev is not None:
            out.append((i, ev))
    return out


def test_the_trials_jump_across_two_defbuckets_is_sustained() -> None:
    """0.42 s -> 2.4 s, (0.25, 0.5] -> (1, 2.5]: silent when the width multiplied z."""
    values = [0.42 * (1 + 0.01 * (i % 3)) for i in range(40)] + [2.4] * 9
    events = feed_bucketed(SpikeTracker(DetectorConfig()), values, DEF_BUCKETS)
    assert [(i, ev.state) for i, ev in events] == [(40, GLITCH), (41, GLITCH), (42, SUSTAINED)]
    assert events[2][1].ratio == pytest.approx(2.4 / 0.4242, rel=0.01)


def test_interpolation_inside_one_bucket_does_not_page() -> None:
    """(0.25, 0.5] is log 2 wide: a rise under half of it is requests re-spreading inside."""
    steady = [0.26] * 40
    inside = feed_bucketed(SpikeTracker(DetectorConfig()), [*steady, 0.36, 0.36, 0.36], DEF_BUCKETS)
    assert inside == []
    # the same rise without bucket information (a summary) is a move
    plain = feed(SpikeTracker(DetectorConfig()), [*steady, 0.36, 0.36, 0.36])
    assert [ev.state for _, ev in plain] == [GLITCH, GLITCH, SUSTAINED]
    # and past half the bucket, inside the same bucket, it is one too
    far = feed_bucketed(SpikeTracker(DetectorConfig()), [*steady, 0.40, 0.40, 0.40], DEF_BUCKETS)
    assert [ev.state for _, ev in far] == [GLITCH, GLITCH, SUSTAINED]


def test_two_buckets_away_is_a_move_however_narrow_the_bucket_between() -> None:
    """OTel ms defaults: 70 ms in (50, 75], 101 ms in (100, 250]; (75, 100] lies between, so
    the P99 certainly rose although 1.44x is under half of the wide (100, 250] bucket."""
    steady = [0.070] * 40
    events = feed_bucketed(SpikeTracker(DetectorConfig()), [*steady, 0.101, 0.101], OTEL_MS)
    assert [ev.state for _, ev in events] == [GLITCH, GLITCH]
    # adjacent bucket and under half its width: interpolation can explain it
    near = feed_bucketed(SpikeTracker(DetectorConfig()), [0.080] * 40 + [0.110], OTEL_MS)
    assert near == []


def test_few_requests_cannot_resolve_small_moves() -> None:
    """At 1200 requests per window only 12 lie above the P99: 1.3x is within their noise."""
    values = [0.4] * 40 + [0.52] * 5
    low = feed(SpikeTracker(DetectorConfig()), values, observations=1200.0)
    assert low == []
    high = feed(SpikeTracker(DetectorConfig()), values, observations=12000.0)
    assert [ev.state for _, ev in high] == [GLITCH, GLITCH, SUSTAINED]


def test_bucket_of_says_nothing_where_the_bucket_says_nothing() -> None:
    assert bucket_of(0.003, DEF_BUCKETS) == (0.0, 0.005)  # the first bucket starts at 0
    assert bucket_of(2.0, [0.0, 5.0, 10.0]) == (0.0, 5.0)  # also after an explicit 0 bound
    assert bucket_of(11.0, DEF_BUCKETS) is None  # +Inf bucket
    assert bucket_of(0.5, DEF_BUCKETS) == (0.25, 0.5)  # upper bounds are inclusive
    assert bucket_of(0.51, DEF_BUCKETS) == (0.5, 1.0)
    assert bucket_of(math.nan, DEF_BUCKETS) is None
    lo, hi = exponential_bucket_of(0.3, 3) or (0.0, 0.0)
    assert lo < 0.3 <= hi and hi / lo == pytest.approx(2 ** (1 / 8))


def test_saturated_point_is_always_a_candidate_and_labelled() -> None:
    tracker = SpikeTracker(DetectorConfig())
    values = [0.1] * 40
    feed(tracker, values)
    # only 10% above baseline, but it is a lower bound: +Inf bucket answers the top bound
    ev = tracker.observe("api", 40.0, 0.11, flags=FLAG_SATURATED)
    assert ev is not None and ev.state == GLITCH and ev.saturated
    # a saturated value at or below the baseline says nothing new
    assert tracker.observe("api", 41.0, 0.1, flags=FLAG_SATURATED) is None


def test_saturation_that_persists_is_one_sustained_not_a_storm() -> None:
    tracker = SpikeTracker(DetectorConfig())
    feed(tracker, [0.1] * 40)
    events = []
    for i in range(40, 400):
        ev = tracker.observe("api", float(i), 10.0, flags=FLAG_SATURATED)
        if ev is not None:
            events.append((i, ev.state, ev.saturated))
    assert events == [(40, GLITCH, True), (41, GLITCH, True), (42, SUSTAINED, True)]
    assert tracker.state("api") == SUSTAINED
    # the saturated level cannot "recover" by staying saturated; a real drop does
    out = [tracker.observe("api", float(i), 0.1) for i in range(400, 405)]
    assert [e.state for e in out if e is not None] == [RECOVERED]


def test_few_observations_glitch_but_never_sustain_alone() -> None:
    tracker = SpikeTracker(DetectorConfig())
    feed(tracker, [0.1] * 40, observations=1000)
    events = []
    for i in range(40, 60):
        ev = tracker.observe("api", float(i), 0.3, observations=10)
        if ev is not None:
            events.append((i, ev.state, ev.low_confidence))
    # two isolated-looking hits are reported, then nothing: low confidence cannot sustain
    assert events == [(40, GLITCH, True), (41, GLITCH, True)]
    assert tracker.state("api") == GLITCH
    # one confident hit among them is enough to call the level shift
    ev = tracker.observe("api", 60.0, 0.3, observations=5000)
    assert ev is not None and ev.state == SUSTAINED and not ev.low_confidence


def test_low_confidence_flag_from_the_store_counts_too() -> None:
    tracker = SpikeTracker(DetectorConfig())
    feed(tracker, [0.1] * 40)
    evs = feed(tracker, [0.3] * 10, flags=FLAG_LOW_CONFIDENCE)
    assert [ev.state for _, ev in evs] == [GLITCH, GLITCH]
    assert all(ev.low_confidence for _, ev in evs)


def test_warming_up_without_a_stored_baseline_is_silent() -> None:
    tracker = SpikeTracker(DetectorConfig())
    assert tracker.state("api") == WARMING_UP
    assert feed(tracker, [0.1, 5.0, 0.1, 9.0]) == []
    assert tracker.state("api") == WARMING_UP
    assert tracker.baseline("api") is None
    tracker.observe("api", 5.0, 0.1)
    tracker.observe("api", 6.0, 0.1)
    assert tracker.state("api") == OK


def test_warming_up_checks_against_the_stored_baseline() -> None:
    tracker = SpikeTracker(DetectorConfig())
    assert tracker.observe("api", 0.0, 0.1, baseline_p99=0.1) is None
    ev = tracker.observe("api", 1.0, 0.3, baseline_p99=0.1)
    assert ev is not None and ev.state == GLITCH
    assert ev.baseline == 0.1 and ev.ratio == pytest.approx(3.0) and ev.z is None
    assert tracker.state("api") == GLITCH
    # 1.1x the stored baseline is within min_ratio
    assert tracker.observe("api", 2.0, 0.11, baseline_p99=0.1) is None


def test_warming_up_far_above_the_stored_baseline_sustains_once() -> None:
    tracker = SpikeTracker(DetectorConfig())
    evs = feed(tracker, [0.5] * 50, baseline_p99=0.1)
    assert [(i, ev.state) for i, ev in evs] == [(0, GLITCH), (1, GLITCH), (2, SUSTAINED)]
    assert tracker.baseline("api") == pytest.approx(0.5)
    evs = feed(tracker, [0.1] * 5, baseline_p99=0.1)
    assert [ev.state for _, ev in evs] == [RECOVERED]


def test_stored_baselines_from_the_baseline_store(tmp_path: Path) -> None:
    from tui.core.baseline.snapshot import build_snapshot
    from tui.core.baseline.store import BaselineStore

    store = BaselineStore(tmp_path)
    store.save(build_snapshot("api", {"p99": [0.1, 0.12, math.nan, 0.08, 0.1]}, step=15.0))
    store.save(build_snapshot("web", {"qps": [10.0, 11.0]}, step=15.0))
    tracker = SpikeTracker(DetectorConfig())
    assert tracker.load_baselines(store) == {"api": pytest.approx(0.1)}
    ev = tracker.observe("api", 0.0, 0.35)
    assert ev is not None and ev.state == GLITCH and ev.baseline == pytest.approx(0.1)
    assert tracker.observe("web", 0.0, 0.35) is None  # no stored p99: silent warm-up
    tracker.set_baseline("api", None)
    assert tracker.observe("api", 1.0, 0.35) is None


def test_min_delta_keeps_fast_services_quiet() -> None:
    """2 ms -> 6 ms is 3x but only 4 ms: under the 5 ms minimum delta."""
    tracker = SpikeTracker(DetectorConfig())
    assert feed(tracker, [0.002] * 40 + [0.006]) == []
    assert [ev.state for _, ev in feed(tracker, [0.008])] == [GLITCH]


def test_per_service_thresholds() -> None:
    strict = DetectorConfig(min_ratio=3.0)
    tracker = SpikeTracker(DetectorConfig(), {"batch": strict})
    series = [0.1] * 40 + [0.25]
    assert feed(tracker, series, service="batch") == []
    assert [ev.state for _, ev in feed(tracker, series, service="api")] == [GLITCH]


def test_from_config_takes_service_overrides() -> None:
    cfg = parse_config(
        "detector:\n  min_delta: 50ms\nservices:\n  - name: api\n    detector:\n      z: 6\n"
    )
    tracker = SpikeTracker.from_config(cfg)
    assert tracker.settings("api").z == 6.0
    assert tracker.settings("other").min_delta == pytest.approx(0.05)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("window", 3, "window must be at least 5"),
        ("z", 0.0, "z must be positive"),
        ("min_ratio", 0.9, "min_ratio must be at least 1.0"),
        ("noise_floor", -0.1, "noise_floor cannot be negative"),
        ("min_observations", -1, "min_observations cannot be negative"),
    ],
)
def test_impossible_settings_are_a_clear_user_error(field: str, value: float, message: str) -> None:
    """Settings changed after loading (the config file itself is checked on load, below)."""
    det = DetectorConfig()
    setattr(det, field, value)
    cfg = Config(services=[ServiceConfig(name="api", detector=det)])
    with pytest.raises(UserError) as exc:
        SpikeTracker.from_config(cfg)
    assert str(exc.value) == f"services[api].detector: {message}"
    assert isinstance(exc.value, DetectorSettingsError)


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        ("detector:\n  window: 3\n", "w.yaml:2: detector: window must be at least 5 points"),
        (
            "services:\n  - name: api\n    detector:\n      min_ratio: 0.5\n",
            "w.yaml:4: services[0].detector: z must be > 0, min_ratio >= 1, "
            "min_delta and noise_floor >= 0",
        ),
        (
            "detector:\n  min_observations: -5\n",
            "w.yaml:2: detector: min_observations cannot be negative",
        ),
    ],
)
def test_impossible_settings_in_the_config_file_name_file_line_and_key(
    yaml_text: str, message: str
) -> None:
    with pytest.raises(ConfigError) as exc:
        parse_config(yaml_text, "w.yaml")
    assert str(exc.value) == message


@pytest.mark.parametrize("bad", [0.0, -1.0, math.nan, math.inf])
def test_points_without_a_meaningful_p99_are_ignored(bad: float) -> None:
    tracker = SpikeTracker(DetectorConfig())
    feed(tracker, [0.1] * 40)
    assert tracker.observe("api", 40.0, bad) is None
    assert tracker.state("api") == OK
    assert tracker.baseline("api") == pytest.approx(0.1)


def test_record_line_has_exactly_the_documented_keys() -> None:
    ev = SpikeEvent(12.5, "api", "p99", SUSTAINED, 0.3, 0.1, 3.0, saturated=True)
    assert ev.to_record() == {
        "t": 12.5,
        "type": "spike",
        "service": "api",
        "signal": "p99",
        "state": SUSTAINED,
        "value": 0.3,
        "baseline": 0.1,
    }
    back = SpikeEvent.from_record(ev.to_record())
    assert (back.t, back.service, back.state, back.value, back.baseline) == (
        12.5,
        "api",
        SUSTAINED,
        0.3,
        0.1,
    )
    assert back.ratio == pytest.approx(3.0)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.floats(1e-4, 100.0), st.integers(0, 3), st.one_of(st.none(), st.floats(0, 1e5))
        ),
        max_size=120,
    )
)
def test_any_series_keeps_the_detector_consistent(
    points: list[tuple[float, int, float | None]],
) -> None:
    tracker = SpikeTracker(DetectorConfig())
    prev_state = None
    for i, (v, flags, obs) in enumerate(points):
        ev = tracker.observe("svc", float(i), v, flags=flags, observations=obs)
        state = tracker.state("svc")
        assert state in STATES
        if ev is not None:
            assert ev.state in (GLITCH, SUSTAINED, RECOVERED)
            assert ev.ratio == pytest.approx(ev.value / ev.baseline)
            assert ev.state == RECOVERED or ev.value > ev.baseline
            # SUSTAINED is never raised twice in a row without new evidence
            if ev.state == SUSTAINED:
                assert prev_state != (i - 1, SUSTAINED)
            prev_state = (i, ev.state)


def test_a_p99_stuck_in_the_first_bucket_is_named_with_the_likely_cause() -> None:
    """The OTel SDK's default bounds (meant for ms) on an instrument in seconds: every request
    under 5 s shares the first bucket, so the P99 is interpolated and a 3x step cannot page.
    The tracker says so after RECENT such points, and stops saying so once it moves out."""
    otel_default_in_s = [0.0, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000]
    tracker = SpikeTracker(DetectorConfig())
    for i in range(4):
        tracker.observe("api", float(i), 4.95, bucket=bucket_of(4.95, otel_default_in_s))
    assert tracker.layout_warnings() == {}  # not yet: RECENT points in a row
    tracker.observe("api", 4.0, 4.95, bucket=bucket_of(4.95, otel_default_in_s))
    warning = tracker.layout_warnings()["api"]
    assert warning.startswith("P99 is inside the first histogram bucket (0, 5s]")
    assert "milliseconds" in warning  # a first bucket of seconds: the unit is the likely cause
    tracker.observe("api", 5.0, 7.0, bucket=bucket_of(7.0, otel_default_in_s))
    assert tracker.layout_warnings() == {}
    # a fast service on DefBuckets: the warning without the unit hint
    for i in range(5):
        tracker.observe("fast", float(i), 0.004, bucket=bucket_of(0.004, DEF_BUCKETS))
    assert tracker.layout_warnings() == {
        "fast": "P99 is inside the first histogram bucket (0, 5.00ms]: interpolated, not "
        "measured, so no change below 5.00ms can be seen"
    }
    tracker.forget("fast")
    assert tracker.layout_warnings() == {}


def test_the_hub_hands_each_p99_its_p95() -> None:
    """The tail index is read from the P95 of the same refresh: the hub pairs them."""
    from tui.config import parse_config
    from tui.core.metrics.store import MetricStore
    from tui.sources.hub import Hub
    from tui.sources.prometheus import Point

    hub = Hub(parse_config("services: [{name: api}]"), MetricStore(), start_otlp=False)
    points = [Point("api", sig, 10.0, v) for sig, v in (("p95", 0.2), ("p99", 0.5))]
    hub._publish(points)
    # ln 5 / ln(0.5 / 0.2) = 1.76: heavier than the assumed 3.5, so it is the one used
    assert hub.spikes._series["api"].tail == pytest.approx(math.log(5) / math.log(2.5))
