"""Choosing and writing the Go runtime signals (tui.core.metrics.go_runtime)."""

from __future__ import annotations

import math

import pytest

from tui.core.metrics import go_runtime as gr

TARGETS = gr.target_set('http_request_duration_seconds_bucket{job="api"}')


def test_the_best_definition_present_wins_and_absent_groups_are_left_out() -> None:
    runtime_metrics = [
        "go_gc_pauses_seconds_bucket",
        "go_gc_duration_seconds",
        "go_sched_latencies_seconds_bucket",
        "go_goroutines",
        "go_memstats_heap_inuse_bytes",
        "go_memstats_gc_cpu_fraction",
    ]
    assert [d.key for d in gr.choose(runtime_metrics)] == [
        "go.gc_p99",
        "go.sched_p99",
        "go.goroutines",
        "go.heap_inuse",
        "go.gc_life",
    ]
    # client_golang's default collector: the summary's max, honestly named, and no P99
    default = ["go_gc_duration_seconds", "go_goroutines", "go_memstats_heap_inuse_bytes"]
    assert [(d.key, d.label) for d in gr.choose(default)] == [
        ("go.gc_max", "gc max"),
        ("go.goroutines", "gorout"),
        ("go.heap_inuse", "heap"),
    ]
    # Go >= 1.22 names and the windowed GC CPU of Go >= 1.20
    newer = ["go_sched_pauses_total_gc_seconds_bucket", "go_cpu_classes_gc_total_cpu_seconds_total"]
    assert [d.metric for d in gr.choose(newer + runtime_metrics)][:1] == [newer[0]]
    assert [d.key for d in gr.choose(newer)] == ["go.gc_p99", "go.gc_cpu"]
    assert gr.choose(["process_cpu_seconds_total", "http_requests_total"]) == []


def test_expressions_join_the_service_processes_and_widen_gc_windows() -> None:
    q = gr.queries(gr.choose(gr.PROBE_METRICS), TARGETS, 5.0)
    join = 'on (job, instance) count by (job, instance) (http_request_duration_seconds_bucket{job="api"})'
    assert all(join in e for e in q.values())
    assert q["go.gc_p99"] == (
        "histogram_quantile(0.99, sum by (le) (rate(go_sched_pauses_total_gc_seconds_bucket[60s])"
        f" and {join}))"
    )
    assert "[5s]" in q["go.sched_p99"]  # the rate window, GCs aside
    assert q["go.gc_cpu"].count("[60s]") == 2
    wide = gr.queries(gr.choose(["go_gc_pauses_seconds_bucket"]), TARGETS, 120.0)
    assert "[120s]" in wide["go.gc_p99"]  # a rate window above the minimum is kept
    probe = gr.probe_query(TARGETS)
    assert probe.startswith("count by (__name__) (") and all(m in probe for m in gr.PROBE_METRICS)


def test_labels_fit_the_panel_and_keys_are_store_names() -> None:
    assert all(len(d.label) <= 7 and d.key.startswith(gr.PREFIX) for d in gr.DEFINITIONS)
    assert set(gr.KEYS) == {d.key for d in gr.DEFINITIONS}
    assert all(gr.BY_KEY[d.key].unit == d.unit for d in gr.DEFINITIONS)


@pytest.mark.parametrize(
    ("key", "value", "text"),
    [
        ("go.gc_p99", 85.1e-6, "85.1µs"),
        ("go.gc_max", 0.0123, "12.3ms"),
        ("go.goroutines", 35.0, "35"),
        ("go.goroutines", 123456.0, "123.5k"),
        ("go.heap_inuse", 3.5 * 2**20, "3.5MiB"),
        ("go.gc_cpu", 0.0052, "0.52%"),
        ("go.gc_life", math.nan, "–"),
        ("go.goroutines", None, "–"),
    ],
)
def test_values_are_written_in_their_unit(key: str, value: float | None, text: str) -> None:
    assert gr.format_value(key, value) == text
