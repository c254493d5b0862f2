"""IO adapters that feed tui/core: they know nothing of Textual (the UI runs them in workers).

What lives where:
- base.py: `SourceStatus`, the one `Backoff` and `RefreshLoop` every loop runs on;
- hub.py: runs every configured source against one MetricStore (headless or under the UI);
- metrics in: prometheus.py (PromQL over the HTTP API: the source, on prometheus_client.py
  for the client and its answers, prometheus_queries.py for the PromQL, prometheus_runtime.py
  for the Go runtime tail), otlp_http.py / otlp_grpc.py on
  otlp_common.py (the embedded OTLP receivers), replay.py (a recording on a clock);
- per service, on demand: routes.py / otlp_routes.py (the route view), exemplars.py,
  releases.py (which version runs);
- profiles: pprof_watch.py (the folder), pprof_fetch.py (captures from Go endpoints),
  profile_lookup.py (which file `f`/`d`/`F` open, the baseline's profiles);
- alerts: alertmanager.py (the source) on alertmanager_model.py (the API's values);
- actions: actions.py (the runner and its audit), webhook.py (the HTTP kind),
  action_results.py (what a run hands back).
"""
