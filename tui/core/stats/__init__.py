"""Statistics, pure: benchmark and baseline comparisons, and the live spike detector.

What lives where:
- comparisons (benchstat and what it lacks): median.py (median and its order-statistic
  interval), mannwhitney.py (the U test, exact with ties), change.py (Hodges-Lehmann change,
  Benjamini-Hochberg), compare.py (one metric's row and its verdict), report.py (the tables
  as text, Markdown, CSV, JSON);
- live spikes: spikes.py (`SpikeTracker` and `SpikeEvent`, the method in its docstring) on
  spike_series.py (per-series memory, state names, the bucket tests), route_spikes.py (the
  same detector per route).
"""
