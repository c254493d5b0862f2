"""Go runtime signals of a Prometheus-backed service: which client_golang series to read, the
PromQL for each, and how its value is written.

"Is it my code or the runtime?" needs GC pauses, scheduler latency, goroutines, heap and GC CPU
next to the service's latency. (OTLP services get the same `go.*` signals from OTel's Go
runtime instrumentation: tui.core.metrics.otlp_runtime.) client_golang exports them under
different names depending on its version and options, so each signal is a list of definitions, best first; a probe tells
which series the service's processes export and the first definition present is used. A
signal none of whose series exists is not shown at all (no empty lines for a non-Go backend).

The runtime series carry the process' target labels, not the latency histogram's own labels
(route, code), so they are tied to the service by the processes that export its histogram:
`METRIC and on (job, instance) count by (job, instance) (HISTOGRAM_bucket{...})` (the "target
set"). PromQL does the join and the aggregation, so a Thanos or Mimir backend works the same.

Honest names: `go_gc_duration_seconds` is a summary of the last 256 pauses with quantiles 0,
.25, .5, .75 and 1 only, so without the runtime/metrics histogram the dashboard shows its
maximum ("gc max"), never a P99 it does not have. `go_memstats_gc_cpu_fraction` (client_golang
before 1.12) is the GC's share of CPU since the process started ("gc life"); the windowed
fraction needs Go 1.20's `/cpu/classes` counters.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from tui.core import units

PREFIX = "go."  # store signal names: "go.gc_p99", never clashing with p50..error_ratio
GC_WINDOW_MIN = 60.0  # seconds: GCs are seconds apart; a 5 s rate of pauses is mostly empty


@dataclass(frozen=True)
class RuntimeSignal:
    """One way to compute one runtime signal; `metric` is the series it needs."""

    key: str  # store signal name
    group: str  # what it measures: gc_pause, sched_latency, goroutines, heap_inuse, gc_cpu
    label: str  # dashboard label, at most 7 characters
    unit: str  # "seconds" | "bytes" | "count" | "ratio"
    metric: str  # the series whose presence selects this definition
    template: str  # PromQL; {m} the metric, {w} the rate window, {ts} `on (...) target set`
    gc_window: bool  # rate over at least GC_WINDOW_MIN
    meaning: str  # one line for the help, the README and json output

    def promql(self, target_set: str, rate_window: float) -> str:
        """The expression for a service whose processes are `target_set` (a PromQL vector
        with job and instance labels)."""
        w = max(rate_window, GC_WINDOW_MIN) if self.gc_window else rate_window
        return self.template.format(
            m=self.metric, w=_duration(w), ts=f"on (job, instance) {target_set}"
        )


_HIST_P99 = "histogram_quantile(0.99, sum by (le) (rate({m}[{w}]) and {ts}))"
_GC_P99 = "P99 of GC stop-the-world pauses over the rate window (at least 1m)"

# Best first within each group; groups in display order.
# (key, group, label, unit, metric, template, gc_window, meaning)
_TABLE: tuple[tuple[str, str, str, str, str, str, bool, str], ...] = (
    # Go >= 1.22's runtime/metrics name, then /gc/pauses:seconds of Go 1.17-1.21
    ("gc_p99", "gc_pause", "gc p99", "seconds", "go_sched_pauses_total_gc_seconds_bucket",
     _HIST_P99, True, _GC_P99),
    ("gc_p99", "gc_pause", "gc p99", "seconds", "go_gc_pauses_seconds_bucket",
     _HIST_P99, True, _GC_P99),
    ("gc_max", "gc_pause", "gc max", "seconds", "go_gc_duration_seconds",
     'max({m}{{quantile="1"}} and {ts})', False,
     "longest of the last 256 GC pauses (the summary has no P99)"),
    ("sched_p99", "sched_latency", "sch p99", "seconds", "go_sched_latencies_seconds_bucket",
     _HIST_P99, False,
     "P99 of the time runnable goroutines waited for a thread, over the rate window"),
    ("goroutines", "goroutines", "gorout", "count", "go_goroutines",
     "sum({m} and {ts})", False, "goroutines, summed over the service's processes"),
    ("heap_inuse", "heap_inuse", "heap", "bytes", "go_memstats_heap_inuse_bytes",
     "sum({m} and {ts})", False,
     "heap bytes in in-use spans, summed over the service's processes"),
    # OTel's Go runtime instrumentation (go.memory.used; Prometheus exporters add _bytes)
    ("mem_used", "mem_used", "mem", "bytes", "go_memory_used_bytes",
     "sum({m} and {ts})", False,
     "memory the Go runtime uses (go.memory.used), summed over the service's processes"),
    ("gc_cpu", "gc_cpu", "gc cpu", "ratio", "go_cpu_classes_gc_total_cpu_seconds_total",
     "sum(rate({m}[{w}]) and {ts})"
     " / sum(rate(go_cpu_classes_total_cpu_seconds_total[{w}]) and {ts})", True,
     "share of the available CPU (GOMAXPROCS x time) spent in GC, over the window"),
    ("gc_life", "gc_cpu", "gc life", "ratio", "go_memstats_gc_cpu_fraction",
     "max({m} and {ts})", False,
     "share of the available CPU spent in GC since the process started"),
)  # fmt: skip

DEFINITIONS: tuple[RuntimeSignal, ...] = tuple(
    RuntimeSignal(PREFIX + k, group, label, unit, metric, template, gc, meaning)
    for k, group, label, unit, metric, template, gc, meaning in _TABLE
)

GROUPS: tuple[str, ...] = tuple(dict.fromkeys(d.group for d in DEFINITIONS))
KEYS: tuple[str, ...] = tuple(dict.fromkeys(d.key for d in DEFINITIONS))
PROBE_METRICS: tuple[str, ...] = tuple(dict.fromkeys(d.metric for d in DEFINITIONS))
BY_KEY: dict[str, RuntimeSignal] = {d.key: d for d in DEFINITIONS}  # the last of a key: same unit
for _d in DEFINITIONS:  # `check` rows name them without the prefix: gc_p99 is in seconds
    units.define_metric(_d.key.removeprefix(PREFIX), _d.unit)


def _duration(seconds: float) -> str:
    ms = round(seconds * 1000)
    return f"{ms // 1000}s" if ms % 1000 == 0 else f"{ms}ms"


def target_set(histogram_bucket_selector: str) -> str:
    """The processes of a service: the (job, instance) pairs exporting its latency buckets."""
    return f"count by (job, instance) ({histogram_bucket_selector})"


def probe_query(targets: str) -> str:
    """Which runtime series the service's processes export: one series per metric name."""
    names = "|".join(PROBE_METRICS)
    return f'count by (__name__) ({{__name__=~"{names}"}} and on (job, instance) {targets})'


def choose(present: Iterable[str]) -> list[RuntimeSignal]:
    """The best definition of each group whose series exists, in display order."""
    have = set(present)
    out: list[RuntimeSignal] = []
    for group in GROUPS:
        for d in DEFINITIONS:
            if d.group == group and d.metric in have:
                out.append(d)
                break
    return out


def queries(signals: Iterable[RuntimeSignal], targets: str, rate_window: float) -> dict[str, str]:
    """{store signal name: PromQL} for the chosen definitions."""
    return {d.key: d.promql(targets, rate_window) for d in signals}


def format_value(key: str, value: float | None) -> str:
    """A runtime value in its unit: '85.1µs', '35', '3.73MiB', '0.52%'."""
    d = BY_KEY.get(key)
    unit = d.unit if d is not None else "count"
    if unit == "seconds":
        return units.latency(value)
    if unit == "bytes":
        return units.size(value)
    if unit == "ratio":
        return units.ratio(value)
    if value is None or value != value:
        return units.NONE
    return f"{value:.0f}" if abs(value) < 10_000 else units.si(value)
