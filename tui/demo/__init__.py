"""`warroom demo`: a real incident on real processes, played in the dashboard.

What lives where: incident.py (the timeline as a pure `Scenario`, the baseline step and the
`DemoDriver` glue), release_file.py (the release file the three parties share), deploy.py
(the deploy agent that runs gosvc at the released version), rollback.py (the `r` action's
command), gosvc/ and gobuild.py (the Go service and its build), prometheus.py (Debian's
Prometheus scraping it), service.py (the OTLP load generator), sampler.py (its real Python CPU profiles).
The command that wires them is tui/commands/demo.py.
"""
