"""``churnlab`` command line: ``sample``, ``validate`` and ``review``."""
from __future__ import annotations

import argparse
import shutil
import sys
import textwrap
import time
from pathlib import Path


def _cmd_sample(args) -> int:
    from .sample import generate

    t0 = time.perf_counter()
    counts = generate(args.out, seed=args.seed, n_accounts=args.accounts, shape=args.shape,
                      events_per_account=args.events_per_account)
    width = max(map(len, counts))
    what = "Sample company" if args.shape == "sample" else f"Zoo company {args.shape!r}"
    print(f"{what} (seed {args.seed}) written to {args.out} in {time.perf_counter() - t0:.1f} s:")
    for table, n in counts.items():
        print(f"  {table:<{width}}  {n:>12,} rows")
    return 0


def _cmd_validate(args) -> int:
    from .sources import load

    ds = load(args.data, args.config)
    from . import settings

    settings.resolve(ds, check=True)   # the data config's events and columns are the data's (a typo is a config error)
    print(f"Data folder {args.data}: all required columns present, dates and numbers readable.")
    print(f"Data runs to {ds.data_end.date()} (extraction date {ds.extraction_date.date()}: rows dated later "
          "are excluded or flagged).\n")
    print("Row accounting (every row read is used or excluded for a stated reason):")
    rows = ds.rows.copy()
    for c in ("read", "excluded", "used"):
        rows[c] = rows[c].map("{:,}".format)
    print(rows.rename(columns=str.capitalize).to_string(index=False))
    width = max(60, min(shutil.get_terminal_size((100, 20)).columns, 120))
    if len(ds.findings):
        print("\nFindings (rows excluded or values removed; the review continues):")
        for f in ds.findings.itertuples(index=False):
            count = f"{f.rows:,} row(s) {f.severity}: " if f.rows else f"{f.severity}: "
            print(textwrap.fill(f"{f.table} ({f.file}): {count}{f.problem}", width,
                                initial_indent="  - ", subsequent_indent="    "))
            if f.examples:
                print(textwrap.fill(f"e.g. {f.examples}", width, initial_indent="      ",
                                    subsequent_indent="      "))
    else:
        print("\nNo rows excluded.")
    absent = [t for t in ("subscriptions", "users", "events", "exit_interviews", "roadmap") if not ds.has(t)]
    if absent:
        print(f"\nAbsent optional tables (analyses that need them skip themselves): {', '.join(absent)}")
    return 0


def _cmd_review(args) -> int:
    from .report import run_review

    from .report import parse_parameters

    if args.quarter is not None:
        check_quarter(args.quarter)
    if args.only:
        from .config import ConfigError
        from .report import NOTEBOOKS

        unknown = [n for n in args.only if n not in NOTEBOOKS]
        if unknown:
            raise ConfigError(f"--only {' '.join(unknown)}: no such notebook; the notebooks are "
                              f"{', '.join(NOTEBOOKS)}")
    t0 = time.perf_counter()
    res = run_review(args.data, args.out, quarter=args.quarter, config=args.config,
                     notebooks=args.only or None, progress=not args.quiet, jobs=args.jobs,
                     parameters=parse_parameters(args.param or (), args.params or ()), lang=args.lang)
    index = res.out_dir / "index.html"
    took = time.perf_counter() - t0
    if res.ok:
        print(f"\nReview {res.quarter} done in {took // 60:.0f} min {took % 60:.0f} s. Open {index}\n"
              f"Pages, data (CSV), metrics.json and the executed notebooks are in {res.out_dir}")
        return 0
    print(f"\nReview {res.quarter} finished with failures (reports in {index}):", file=sys.stderr)
    for n in res.notebooks:
        if not n.ok:
            print(f"  {n.name}: {n.error}", file=sys.stderr)
    return 1


def check_quarter(label: str) -> str:
    """The canonical label of ``--quarter``; a malformed one is a :class:`ConfigError` naming the form.

    Examples
    --------
    >>> check_quarter("2026-q3")
    '2026Q3'
    """
    from .config import ConfigError
    from .periods import Period

    try:
        return Period.quarter(label).label
    except ValueError:
        raise ConfigError(f"--quarter {label!r} is not a quarter: use the form 2026Q3 (a four-digit year, "
                          "Q and 1-4; 2026-Q3 and 2026q3 are accepted too)") from None


def build_parser() -> argparse.ArgumentParser:
    from .sample import SHAPES

    p = argparse.ArgumentParser(prog="churnlab", description="Quarterly churn review for subscription "
                                "businesses: validate the data, run the analyses, publish HTML reports.")
    p.add_argument("--version", action="version", version=f"churnlab {__import__('churnlab').__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("sample", help="generate the synthetic sample company")
    s.add_argument("--seed", type=int, default=7, help="random seed (same seed, same bytes); default 7")
    s.add_argument("--out", default="data/sample", help="output folder; default data/sample")
    s.add_argument("--accounts", type=int, default=None, help="number of accounts; default 3000 for the "
                   "sample, a few hundred for a zoo shape")
    s.add_argument("--shape", default="sample", choices=["sample", *SHAPES], metavar="NAME",
                   help="company shape: 'sample' (default, the sample company) or a zoo company unlike it: "
                   + ", ".join(SHAPES) + " (see docs/sample-data.md)")
    s.add_argument("--events-per-account", type=float, default=None, metavar="N",
                   help="sample only: about N events per account on average (event rates scaled); default "
                        "about 1040, e.g. --accounts 100000 --events-per-account 500 for about 50 million events")
    s.set_defaults(func=_cmd_sample)

    v = sub.add_parser(
        "validate", help="check a data folder and print the row accounting",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Load, map and check every table of a data folder, without running any analysis: print "
        "the rows\nread, excluded (with the reasons) and used per table. A problem that makes the data "
        "unusable stops\nwith a message naming the file, column and example rows (exit code 2).",
        epilog="examples:\n  churnlab validate --data data/sample\n"
        "  churnlab validate --data exports/ --config exports/churnlab.yaml\n")
    v.add_argument("--data", required=True, help="folder with accounts.csv|parquet and other tables")
    v.add_argument("--config", default=None, help="YAML data config mapping your column names and values")
    v.set_defaults(func=_cmd_validate)

    from .report import NOTEBOOKS, TITLES

    r = sub.add_parser(
        "review", help="run the quarterly review and publish HTML reports",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Load and check the data once, run every report notebook for the quarter, and publish "
        "the pages\n(an executive summary as index.html), their data as CSV, metrics.json and the executed "
        "notebooks.\n\nReports (names for --only):\n" + "\n".join(f"  {n:<18} {TITLES[n]}" for n in NOTEBOOKS),
        epilog="examples:\n  churnlab review --data data/sample\n"
        "  churnlab review --data exports/ --config churnlab.yaml --quarter 2026Q2 --out reports/2026Q2\n"
        "  churnlab review --data exports/ --only 10-attrition 20-survival -p min_count=2\n"
        "  churnlab review --data data/sample --lang ja --out reports/2026Q3-ja   # the review in Japanese\n")
    r.add_argument("--data", required=True, help="folder with the canonical tables")
    r.add_argument("--config", default=None, help="YAML data config mapping your column names and values")
    r.add_argument("--quarter", default=None, help="quarter to review, e.g. 2026Q3; default: the latest "
                   "complete quarter in the data")
    r.add_argument("--out", default=None, help="report folder; default reports/<quarter>")
    r.add_argument("--only", nargs="*", help="run only these notebooks (e.g. 10-attrition)")
    r.add_argument("--quiet", action="store_true", help="no per-cell progress bars")
    r.add_argument("--jobs", type=int, default=None, metavar="N",
                   help="notebooks run at the same time, each in its own kernel; default 2 (1 on a "
                   "one-core machine, or CHURNLAB_JOBS); with more than one, a line per finished notebook "
                   "replaces the progress bars")
    r.add_argument("--lang", default="en", choices=["en", "ja"],
                   help="language of the published review: en (default) or ja (Japanese headings, sentences, "
                   "table headers, chart labels, taxonomy labels and index; the same figures)")
    r.add_argument("-p", "--param", action="append", metavar="NAME=VALUE",
                   help="set a notebook parameter, e.g. -p min_count=2 -p segment_col=plan (repeatable); "
                   "checked against the notebooks' parameters")
    r.add_argument("--params", action="append", metavar="FILE.yaml",
                   help="a YAML file of notebook parameters (NAME: VALUE); -p wins over it")
    r.set_defaults(func=_cmd_review)
    return p


def main(argv=None) -> int:
    """Run the command line; a data or config problem exits with code 2 and its message, no traceback."""
    from .config import ConfigError
    from .schema import DataValidationError

    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (DataValidationError, ConfigError) as e:
        print(f"churnlab {args.command}: the data cannot be used as it is.\n{e}", file=sys.stderr)
        return 2
    except (OSError, UnicodeError) as e:
        print(f"churnlab {args.command}: a file cannot be read or written: {e}", file=sys.stderr)
        return 2
    except Exception as e:
        if not _is_read_error(e):
            raise
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        print(f"churnlab {args.command}: the data cannot be read ({type(e).__name__}): {first}", file=sys.stderr)
        return 2


def _is_read_error(e: Exception) -> bool:
    """Errors of the Parquet / DuckDB readers (a damaged or foreign file), not bugs of churnlab."""
    mod = type(e).__module__ or ""
    return mod.startswith(("pyarrow", "duckdb", "_duckdb")) or type(e).__name__ in ("ParserError", "EmptyDataError")


if __name__ == "__main__":
    sys.exit(main())
