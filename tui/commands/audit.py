"""`warroom audit [--since 1h] [--format text|json]`: print the action audit log."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "audit",
        help="print the audit log of operator actions",
        description="Print every action started, finished, refused or cancelled, oldest first. "
        "A torn last line (a write cut short by a crash) is skipped and reported on stderr.",
        epilog="example: warroom audit --since 1h; warroom audit --since 2026-01-31T14:00:00Z "
        "--format json | jq .",
    )
    p.add_argument(
        "-c",
        "--config",
        metavar="FILE",
        default=argparse.SUPPRESS,
        help="YAML config (for audit.path)",
    )
    p.add_argument("--file", metavar="PATH", help="audit log to read (default: audit.path)")
    p.add_argument(
        "--since",
        metavar="WHEN",
        help="only entries newer than a duration ago (1h, 30m) or a time (ISO 8601)",
    )
    p.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="text: one readable line per entry; json: the raw JSON lines",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import json
    import sys
    from pathlib import Path

    from tui.core.actions.audit import format_text, parse_since, read_audit

    if args.file:
        path = args.file
    else:
        from tui.config import load_config

        path = load_config(args.config).audit.path
    since = parse_since(args.since) if args.since else None
    log = read_audit(path, since)
    if not Path(path).expanduser().exists():
        print(f"warroom: no audit log at {path} yet (no action has run)", file=sys.stderr)
    for rec in log.records:
        if args.format == "json":
            print(json.dumps(rec, separators=(",", ":"), sort_keys=True))
        else:
            print(format_text(rec))
    for w in log.warnings(path):
        print(f"warroom: {w}", file=sys.stderr)
    return 0
