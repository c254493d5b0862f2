"""`warroom config check FILE`: validate a config file; exit 0 when valid, 2 with every error."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("config", help="validate a config file")
    cs = p.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    check = cs.add_parser(
        "check",
        help="validate FILE: exit 0 when valid, else 2 with every error (FILE:LINE: key: why)",
    )
    check.add_argument("file", help="YAML config file")
    check.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tui.config import format_duration, load_config

    cfg = load_config(args.file)
    sources = []
    if cfg.prometheus:
        sources.append(f"prometheus {cfg.prometheus.url}")
    if cfg.otlp.http:
        sources.append(f"otlp/http {cfg.otlp.http}")
    if cfg.otlp.grpc:
        sources.append(f"otlp/grpc {cfg.otlp.grpc}")
    if cfg.alertmanager:
        sources.append(f"alertmanager {cfg.alertmanager.url}")
    for ep in cfg.profiles.endpoints:
        kinds = ("cpu" if k == "profile" else k for k in ep.kinds)  # the word files and toasts use
        sources.append(f"pprof {ep.service} {ep.url} ({', '.join(kinds)})")
    if cfg.profiles.dir:
        sources.append(f"profiles dir {cfg.profiles.dir}")
    print(
        f"{args.file}: ok — {len(cfg.services)} service(s), refresh "
        f"{format_duration(cfg.refresh)}, window {format_duration(cfg.window)}; "
        f"sources: {', '.join(sources) or 'none'}"
    )
    return 0
