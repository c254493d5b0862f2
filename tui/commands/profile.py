"""`warroom profile FILE`: pprof analysis headless (--top, --regressions, --folded, --list,
--speedscope) or the viewer.

Exit codes: 0 ok, 1 a significant regression beyond --fail-on, 2 bad input (one line, no
traceback). Text output has go tool pprof -top's columns and order, and its units (--unit,
default pprof's "minimum": one unit for the report, picked from its smallest value); JSON
values are in the profile's own unit. With --base, values are current minus base and percentages are relative
to the base total, as `go tool pprof -diff_base` prints them.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from tui.commands.output import write_out

if TYPE_CHECKING:
    from collections.abc import Callable

    from tui.core.pprof.filterspec import FilterSpec


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "profile",
        help="analyse a pprof profile: --top, --regressions, --folded, --list, --speedscope, "
        "or the interactive viewer",
        description="Analyse a pprof profile (gzipped or raw profile.proto, or folded stacks).",
    )
    p.add_argument("file", help="profile file (.pb.gz, raw protobuf, or folded stacks text)")
    p.add_argument("--base", metavar="BASEFILE", help="base profile to diff against")
    p.add_argument("--sample-type", metavar="NAME", help="sample type (default: the profile's)")
    p.add_argument("--focus", metavar="RE", help="keep samples with a frame matching RE")
    p.add_argument("--ignore", metavar="RE", help="drop samples with a frame matching RE")
    p.add_argument("--hide", metavar="RE", help="remove frames matching RE")
    p.add_argument("--show", metavar="RE", help="keep only frames matching RE")
    p.add_argument("--show-from", metavar="RE", help="drop frames above the highest match")
    p.add_argument("--prune-from", metavar="RE", help="drop frames beneath the lowest match")
    p.add_argument("--tagfocus", metavar="FILTER", help="keep samples whose labels match")
    p.add_argument("--tagignore", metavar="FILTER", help="drop samples whose labels match")
    p.add_argument("--normalize", action="store_true", help="scale current to the base total")
    p.add_argument(
        "--granularity",
        choices=("function", "file", "line"),
        default="function",
        help="--top rows per function (default), per file, or per source line",
    )
    p.add_argument(
        "--edgefraction",
        type=float,
        metavar="F",
        help="--top: drop call edges under F of the total before marking functions (inline), "
        "as go tool pprof does (default 0.001, pprof's; 0: every edge counts)",
    )
    p.add_argument(
        "--unit",
        default="minimum",
        metavar="UNIT",
        help="text and md values in UNIT (ns, us, ms, s, hrs, B, kB, MB, GB, ...), as go tool "
        "pprof -unit: 'minimum' (default) one unit for the whole report, 'auto' each value "
        "its own; a unit of another kind (ms for a heap profile) falls back to the profile's, "
        "as in pprof; a name pprof does not know is an error (exit 2)",
    )
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--top", action="store_true", help="print the function table")
    mode.add_argument("--regressions", action="store_true", help="rank function regressions")
    mode.add_argument("--folded", action="store_true", help="print folded stacks")
    mode.add_argument(
        "--list",
        metavar="RE",
        help="flat and cum per source line of the functions matching RE, as go tool pprof "
        "-list prints them; source text read from disk when the file is there",
    )
    mode.add_argument(
        "--speedscope",
        metavar="OUT",
        help="write speedscope's JSON (one sampled profile per sample type, or only "
        "--sample-type's) to OUT, '-' for stdout; OUT is replaced whole or not at all",
    )
    p.add_argument(
        "--max-inflated",
        metavar="SIZE",
        help="the most a gzipped profile may inflate to, a guard against gzip bombs "
        "(default 512MiB)",
    )
    p.add_argument("--format", choices=("text", "json", "md"), default="text")
    p.add_argument("--limit", type=int, metavar="N", help="at most N rows")
    p.add_argument(
        "--fail-on",
        type=float,
        metavar="PCT",
        help="with --regressions: exit 1 when a function's cum share grows by more than PCT "
        "points with significance",
    )
    p.set_defaults(func=run)


def filter_spec(args: argparse.Namespace) -> FilterSpec:
    """The FilterSpec of the command line's --focus/--ignore/... flags."""
    from dataclasses import fields

    from tui.core.pprof.filterspec import FilterSpec

    return FilterSpec(**{f.name: getattr(args, f.name, None) for f in fields(FilterSpec)})


def value_formatter(args: argparse.Namespace, unit: str, rows: Any, total: int) -> Any:
    """v -> label as go tool pprof -top prints it with -unit=args.unit: for "minimum" one
    unit chosen from the shown rows (pprof's selectOutputUnit)."""
    from tui.core.pprof.measurement import output_unit, scaled_label

    to = args.unit
    if to == "minimum":
        to = output_unit(((r.flat, r.cum) for r in rows), total, unit)
    return lambda v: scaled_label(v, unit, to)


def percentage(value: int, total: int) -> str:
    """pprof measurement.Percentage."""
    from tui.core.pprof.measurement import percentage as pprof_percentage

    return pprof_percentage(value, total)


def check_options(args: argparse.Namespace) -> None:
    """Options that would be silently ignored in this combination are one-line errors."""
    from tui.errors import UserError

    if args.limit is not None and args.limit < 0:
        raise UserError("--limit: must be >= 0")
    from tui.core.pprof.measurement import unit_problem

    problem = unit_problem(args.unit)
    if problem is not None:
        raise UserError(f"--unit: {problem}")
    edges = getattr(args, "edgefraction", None)
    if edges is not None and not 0 <= edges <= 1:
        raise UserError(f"--edgefraction: {edges} is not between 0 and 1")
    if args.fail_on is not None and not args.regressions:
        raise UserError("--fail-on needs --regressions (and --base BASEFILE)")
    if args.normalize and args.regressions:
        raise UserError(
            "--normalize does not apply to --regressions: shares are already relative to "
            "each profile's own total"
        )
    if args.normalize and not args.base:
        raise UserError("--normalize needs --base BASEFILE")
    if getattr(args, "speedscope", None) is not None and args.base:
        raise UserError("--speedscope does not take --base: speedscope cannot draw a diff")
    if getattr(args, "list", None) is not None and args.format == "md":
        raise UserError("--list prints text or json, not md")
    for mode in ("list", "speedscope"):
        if getattr(args, mode, None) is not None and args.limit is not None:
            raise UserError(f"--limit does not apply to --{mode}")
    if getattr(args, "speedscope", None) is not None and args.format != "text":
        raise UserError("--speedscope writes speedscope's JSON: --format does not apply")


def max_inflated(args: argparse.Namespace) -> int | None:
    """--max-inflated in bytes (None: the decoder's default)."""
    from tui.errors import UserError

    text = getattr(args, "max_inflated", None)
    if text is None:
        return None
    from tui.config import parse_size

    try:
        size = int(parse_size(text))
    except ValueError as exc:
        raise UserError(f"--max-inflated: {exc}") from None
    if size < 1:
        raise UserError("--max-inflated: must be at least 1 byte")
    return size


def run(args: argparse.Namespace) -> int:
    from tui.commands.numpy_threads import import_numpy
    from tui.errors import UserError

    check_options(args)
    headless = getattr(args, "list", None) is not None or getattr(args, "speedscope", None)
    if not (args.top or args.regressions or args.folded or headless) and args.format != "text":
        args.top = True  # `--format json|md` is a table's format: the viewer has none
    if args.top and _quick_top(args):
        return 0
    import_numpy()
    if not (args.top or args.regressions or args.folded or headless):
        from tui.ui.screens.profile_viewer import run_profile_viewer

        return int(run_profile_viewer(args) or 0)

    # only the modules this invocation calls: --top needs neither diff nor significance
    from tui.core.pprof.filters import apply_filters
    from tui.core.pprof.load import load_profile

    cap = max_inflated(args)
    cur = load_profile(args.file, max_inflated=cap)
    base = load_profile(args.base, max_inflated=cap) if args.base else None
    filters = filter_spec(args)
    t = cur.sample_index(args.sample_type)

    if args.regressions:
        if base is None:
            raise UserError("--regressions needs --base BASEFILE")
        base.sample_index(args.sample_type)
        from tui.core.pprof.diff import rank_regressions

        report = rank_regressions(apply_filters(base, filters), apply_filters(cur, filters), t)
        _print_regressions(report, args)
        if args.fail_on is not None and report.regressions(args.fail_on):
            return 1
        return 0

    prof = cur
    if base is not None:
        from tui.core.pprof.diff import diff_profiles

        prof = diff_profiles(base, cur, normalize=args.normalize)
    prof = apply_filters(prof, filters)  # after the merge, as pprof filters the merged profile
    if getattr(args, "speedscope", None):
        _write_speedscope(prof, args, t)
        return 0
    if getattr(args, "list", None) is not None:
        _print_listing(prof, args, t)
        return 0
    if args.folded:
        from tui.core.pprof.folded import to_folded

        write_out(to_folded(prof, t))
        return 0

    _print_top(prof, args, t)
    return 0


# options the quick path (tui.core.pprof.quicktop) leaves to the full engine: a diff, and
# FilterSpec's fields (tests/unit/test_pprof_quicktop.py pins that this lists them all)
FULL_ENGINE_OPTIONS = (
    "base",
    "normalize",
    "focus",
    "ignore",
    "hide",
    "show",
    "show_from",
    "prune_from",
    "tagfocus",
    "tagignore",
)


def _quick_top(args: argparse.Namespace) -> bool:
    """--top on a small profile without numpy or protobuf (quicktop.py); False when it
    declines, and the full engine reads the file and answers or names what is wrong."""
    if any(getattr(args, name, None) for name in FULL_ENGINE_OPTIONS):
        return False
    from tui.core.pprof.quicktop import quick_top

    got = quick_top(
        args.file,
        args.sample_type,
        getattr(args, "granularity", "function"),
        _edge_fraction(args),
        max_inflated(args),
    )
    if got is None:
        return False
    _write_top(got.sample_type, got.unit, got.rows, got.total, args)
    return True


def _edge_fraction(args: argparse.Namespace) -> float:
    from tui.core.pprof.rows import PPROF_EDGE_FRACTION

    edges = getattr(args, "edgefraction", None)
    return PPROF_EDGE_FRACTION if edges is None else float(edges)


def _print_top(prof: Any, args: argparse.Namespace, t: int) -> None:
    """--top: the function table as go tool pprof -top prints it, or as json / md."""
    from tui.core.pprof.table import function_table

    stype, unit = prof.sample_types[t]
    granularity = getattr(args, "granularity", "function")
    rows = function_table(prof, t, granularity, _edge_fraction(args))
    _write_top(stype, unit, rows, prof.total(t), args)


def _write_top(
    stype: str, unit: str, rows: list[Any], total: int, args: argparse.Namespace
) -> None:
    """The rows of either engine as text (pprof's -top), json or md."""
    if args.limit is not None:
        rows = rows[: args.limit]
    if args.format == "json":
        out = {
            "sample_type": stype,
            "unit": unit,
            "total": total,
            "functions": [
                {"name": r.name, "flat": r.flat, "cum": r.cum, "inline": r.inline} for r in rows
            ],
        }
        import json

        write_out(json.dumps(out) + "\n")
        return
    fmt = value_formatter(args, unit, rows, total)
    lines = _top_md(rows, total, fmt) if args.format == "md" else _top_text(rows, total, fmt)
    header = (
        [f"**{stype}** ({unit}), total {fmt(total)}\n"]
        if args.format == "md"
        else [f"Type: {stype}"]
    )
    print("\n".join(header + lines))


def _top_md(rows: list[Any], total: int, fmt: Callable[[int], str]) -> list[str]:
    out = ["| flat | flat% | sum% | cum | cum% | function |", "|---:|---:|---:|---:|---:|---|"]
    acc = 0
    for r in rows:
        acc += r.flat
        name = r.name.replace("|", "\\|") + (f" {r.inline_label}" if r.inline_label else "")
        out.append(
            f"| {fmt(r.flat)} | {percentage(r.flat, total).strip()} | "
            f"{percentage(acc, total).strip()} | {fmt(r.cum)} | "
            f"{percentage(r.cum, total).strip()} | `{name}` |"
        )
    return out


def _top_text(rows: list[Any], total: int, fmt: Callable[[int], str]) -> list[str]:
    shown = sum(r.flat for r in rows)
    out = [
        f"Showing nodes accounting for {fmt(shown)}, "
        f"{percentage(shown, total).strip()} of {fmt(total)} total",
        f"{'flat':>10} {'flat':>5}% {'sum':>5}% {'cum':>10} {'cum':>5}%",
    ]
    acc = 0
    for r in rows:
        acc += r.flat
        inl = f" {r.inline_label}" if r.inline_label else ""
        out.append(
            f"{fmt(r.flat):>10} {percentage(r.flat, total)} "
            f"{percentage(acc, total)} {fmt(r.cum):>10} "
            f"{percentage(r.cum, total)}  {r.name}{inl}"
        )
    return out


def _write_speedscope(prof: Any, args: argparse.Namespace, t: int) -> None:
    """--speedscope OUT: every sample type (the default one shown first in speedscope), or
    only --sample-type's."""
    import json
    from pathlib import Path

    from tui.core.pprof.speedscope import to_speedscope, write_speedscope
    from tui.errors import UserError

    chosen = [t] if args.sample_type else None
    try:
        doc = to_speedscope(prof, chosen, name=Path(args.file).name, active=t)
    except ValueError as exc:
        raise UserError(f"--speedscope: {exc}") from None
    if args.speedscope == "-":
        write_out(json.dumps(doc, separators=(",", ":")) + "\n")
        return
    out = write_speedscope(doc, args.speedscope)
    kinds = ", ".join(p["name"].rsplit(" ", 1)[-1] for p in doc["profiles"])
    print(f"wrote {out}: {kinds}; {len(doc['shared']['frames'])} frames")


def _print_listing(prof: Any, args: argparse.Namespace, t: int) -> None:
    """--list RE: pprof's annotated source, or JSON with the same numbers."""
    import re

    from tui.core.pprof.listing import listing_text, source_listing
    from tui.errors import UserError

    try:
        listing = source_listing(prof, t, args.list)
    except re.error as exc:
        raise UserError(f"--list: bad regex {args.list!r}: {exc}") from None
    if not listing.names:
        raise UserError(f"--list: no function with samples matches {args.list!r}")
    stype, unit = prof.sample_types[t]
    if args.format == "json":
        import json

        doc = {
            "sample_type": stype,
            "unit": unit,
            "total": listing.total,
            "routines": [
                {
                    "function": r.name,
                    "file": r.file,
                    "flat": r.flat,
                    "cum": r.cum,
                    "error": r.error,
                    "lines": [
                        {"line": ln.lineno, "flat": ln.flat, "cum": ln.cum, "text": ln.text}
                        for ln in r.lines
                    ],
                }
                for r in listing.routines
            ],
            "no_source": listing.no_source,
        }
        write_out(json.dumps(doc) + "\n")
        return
    from tui.core.pprof.measurement import scaled_label

    # pprof's -list picks no report unit: with "minimum" every value is scaled on its own
    write_out(listing_text(listing, unit, lambda v, u: scaled_label(v, u, args.unit)))


def _print_regressions(report: Any, args: argparse.Namespace) -> None:
    """--limit caps each list (changed, new, vanished); the counts say how many there were."""
    lim = args.limit
    rows = report.rows[:lim] if lim is not None else report.rows
    new = report.new[:lim] if lim is not None else report.new
    vanished = report.vanished[:lim] if lim is not None else report.vanished
    if args.format == "json":
        d = report.to_dict()
        d["functions"] = [r.to_dict() for r in rows]
        d["new"] = [r.to_dict() for r in new]
        d["vanished"] = [r.to_dict() for r in vanished]
        d["counts"] = {
            "functions": len(report.rows),
            "new": len(report.new),
            "vanished": len(report.vanished),
        }
        d["fail_on"] = args.fail_on
        d["failing"] = (
            [r.name for r in report.regressions(args.fail_on)] if args.fail_on is not None else []
        )
        import json

        write_out(json.dumps(d) + "\n")
        return
    md = args.format == "md"
    print(
        f"{'**' if md else ''}{report.sample_type}{'**' if md else ''}: base total "
        f"{report.base_total}, current total {report.cur_total} ({report.unit}); "
        f"significance: {report.method or 'two-proportion test on ' + report.count_type}"
    )
    groups = (
        ("changed", rows, report.rows),
        ("new", new, report.new),
        ("vanished", vanished, report.vanished),
    )
    for title, group, full in groups:
        if not group:
            continue
        count = f"{len(group)} of {len(full)}" if len(group) < len(full) else str(len(full))
        print(f"\n{'### ' if md else ''}{title} functions ({count})")
        if md:
            print("\n| Δcum pp | base cum% | cur cum% | Δflat pp | p | sig | function |")
            print("|---:|---:|---:|---:|---:|:-:|---|")
        else:
            print(
                f"{'Δcum pp':>9} {'base cum%':>9} {'cur cum%':>9} {'Δflat pp':>9} "
                f"{'p':>9} sig  function"
            )
        for r in group:
            sig = "*" if r.significant else ""
            if md:
                print(
                    f"| {r.delta_cum_pp:+.2f} | {r.base_cum_pct:.2f} | {r.cur_cum_pct:.2f} | "
                    f"{r.delta_flat_pp:+.2f} | {_p(r.p_value)} | {sig} | `{r.name}` |"
                )
            else:
                print(
                    f"{r.delta_cum_pp:+9.2f} {r.base_cum_pct:9.2f} {r.cur_cum_pct:9.2f} "
                    f"{r.delta_flat_pp:+9.2f} {_p(r.p_value):>9} {sig:>3}  {r.name}"
                )


def _p(value: float) -> str:
    """A p-value as text; `-` where no test ran (goroutine and contention profiles)."""
    return "-" if value != value else f"{value:.2g}"
