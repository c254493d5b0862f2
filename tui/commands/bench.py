"""`warroom bench compare OLD NEW`: benchstat-like comparison of two `go test -bench` outputs.

Exit codes: 0 ok, 1 with --fail-on-regression when a row is REGRESSION, 2 bad input.
"""

from __future__ import annotations

import argparse

from tui.commands.output import write_out


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("bench", help="compare Go benchmark results")
    bs = p.add_subparsers(dest="bench_command", metavar="ACTION", required=True)
    c = bs.add_parser(
        "compare",
        help="compare OLD and NEW `go test -bench` outputs: medians with 95%% intervals, "
        "U-test p, BH q, Hodges-Lehmann change and a verdict per row",
    )
    c.add_argument("old", help="base benchmark output (go test -bench -count=N)")
    c.add_argument("new", help="current benchmark output")
    c.add_argument("--format", choices=("text", "json", "md", "csv"), default="text")
    c.add_argument(
        "--fail-on-regression", action="store_true", help="exit 1 when any row is a REGRESSION"
    )
    c.add_argument(
        "-c",
        "--config",
        default=argparse.SUPPRESS,
        help="config file (baseline.min_effect overrides)",
    )
    c.set_defaults(func=run)


def config_header(old: object, new: object) -> str:
    """benchstat-style `key: value` lines for the configuration both inputs carry
    (`key: old -> new` where they differ), so a reader sees what was compared."""

    def first(f: object) -> dict[str, str]:
        out: dict[str, str] = {}
        for r in getattr(f, "results", []):
            for k, v in r.config:
                out.setdefault(k, v)
        return out

    a, b = first(old), first(new)
    lines = []
    for key in dict.fromkeys([*a, *b]):
        va, vb = a.get(key, "-"), b.get(key, "-")
        lines.append(f"{key}: {va}" if va == vb else f"{key}: {va} -> {vb}")
    return "\n".join(lines) + ("\n\n" if lines else "")


def run(args: argparse.Namespace) -> int:
    from tui.core.bench.compare import compare_bench
    from tui.core.bench.parser import check_clean, read_bench_file
    from tui.core.stats.report import render

    overrides: dict[str, float] = {}
    if args.config:
        from tui.config import load_config

        overrides = dict(load_config(args.config).baseline.min_effect)
    old = read_bench_file(args.old)
    new = read_bench_file(args.new)
    check_clean([old, new])
    result = compare_bench(old, new, overrides)
    if args.format == "text":
        write_out(config_header(old, new))
    write_out(render(result.tables, args.format, result.to_json()))
    if args.fail_on_regression and result.has_regression():
        return 1
    return 0
