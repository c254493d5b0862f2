"""`warroom mark SERVICE VERSION [--revision R] [--at WHEN]`: put a release on the timeline.

For deploys that leave no version in the metrics (no `*_build_info`, no OTLP
`service.version`): the line goes to the releases file beside the audit log, which a running
dashboard or `record` reads at its next refresh, compares before against after, and marks on
the sparklines like a detected release.
"""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "mark",
        help="mark a release of a service on the timeline",
        description="Append a release marker (service, version, time) to the releases file, "
        "releases.jsonl beside audit.path. A running dashboard shows it at its next refresh "
        "and compares P99/P95 before and after it.",
        epilog="example: warroom mark checkout v1.4.3 --revision 9b7d013",
    )
    p.add_argument("service", help="the service's name, as the dashboard shows it")
    p.add_argument("version", help="the version (or tag) that was released")
    p.add_argument("--revision", default="", help="commit or build id (optional)")
    p.add_argument(
        "--at",
        metavar="WHEN",
        help="when it was released: a duration ago (10m) or a time (ISO 8601); default now",
    )
    p.add_argument(
        "-c",
        "--config",
        metavar="FILE",
        default=argparse.SUPPRESS,
        help="YAML config (for audit.path, beside which the releases file lives)",
    )
    p.add_argument("--file", metavar="PATH", help="releases file (default: beside audit.path)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import time
    from pathlib import Path

    from tui.core.actions.audit import parse_since
    from tui.core.actions.templating import SAFE_VALUE
    from tui.core.release_timeline import append_mark, marks_path
    from tui.core.releases import Release
    from tui.errors import UserError

    for what, value in (("service", args.service), ("version", args.version)):
        if not SAFE_VALUE.match(value):
            raise UserError(f"mark: {what} {value!r} is not 1-253 of A-Z a-z 0-9 . _ : / @ + -")
    if args.revision and not SAFE_VALUE.match(args.revision):
        raise UserError(
            f"mark: --revision {args.revision!r} is not 1-253 of A-Z a-z 0-9 . _ : / @ + -"
        )
    if args.at:
        try:
            t = parse_since(args.at)
        except UserError as exc:
            raise UserError(str(exc).replace("--since", "--at")) from None
    else:
        t = time.time()
    if args.file:
        path = Path(args.file).expanduser()
    else:
        from tui.config import load_config

        path = marks_path(load_config(args.config).audit.path)
    if path.is_dir():
        raise UserError(f"mark: {path} is a directory, not a releases file")
    release = Release(args.service, args.version, args.revision, t, "mark")
    try:
        append_mark(path, release)
    except OSError as exc:
        raise UserError(f"mark: cannot write {path}: {exc.strerror or exc}") from None
    print(
        f"marked {args.service} {release.label()} at {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(t))} in {path}"
    )
    return 0
