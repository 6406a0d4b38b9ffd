"""Benchmark: the review's engine budgets, each printed beside its reference measured in the same run.

For one company (``--data``, or one generated with ``--accounts`` / ``--events-per-account``):

* **load and validation** (``sources.load``: read, map, validate, account for every row) against a
  raw DuckDB read of the same files (every column of the events scanned, the small tables read
  with pandas); budget: within 2x. The snapshot the review writes once and each notebook opens is
  timed too.
* **every engine aggregation** the review runs on events - qualified activity per account and per
  user and month, user attrition over 8 quarters, event counts, the at-risk engagement signals - on
  the validated events (the snapshot's Parquet file, as in the notebooks), against a hand-written DuckDB query on the same
  file (budget: within 1.3x) and against the pandas way (read the columns, filter, group; budget:
  churnlab at least 10x faster). ``--no-pandas`` skips pandas (it needs several GB at 50M events).
* **the whole review** (``churnlab review`` in a subprocess): wall time and the peak RSS of the
  largest child process (``resource.getrusage(RUSAGE_CHILDREN)``); ``--review`` to run it.
* **the Cox model** of the survival report at this size: per account against aggregated covariate
  patterns (``weight_col``), with the largest difference in the coefficients; ``--cox`` to run it.
* **a scaling curve**: ``--sizes 1000,3000,10000`` generates each size (same events per account)
  and times load and the aggregations, per million events.

Usage::

    PYTHONPATH=$PWD .venv/bin/python benchmarks/bench_review.py                      # the sample, minutes
    PYTHONPATH=$PWD .venv/bin/python benchmarks/bench_review.py --review --cox
    PYTHONPATH=$PWD .venv/bin/python benchmarks/bench_review.py --sizes 1000,3000,10000
    PYTHONPATH=$PWD .venv/bin/python benchmarks/bench_review.py --accounts 100000 --events-per-account 500 \\
        --no-pandas --review --cox          # the 100k / 50M company (generated once into data/bench/)

Figures measured on the development machine are in ``docs/performance.md``.
"""
from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

QUALIFIED = None  # resolved from the data config (settings.resolve), as the notebooks do


def timed(fn, repeat: int = 1, *, short: float = 2.0, most: int = 5):
    """(best wall seconds of ``repeat`` runs, last result).

    With ``repeat`` > 1, a figure whose runs took less than ``short`` seconds in all is run again,
    up to ``most`` runs, as ``timeit`` does: a sub-second query is otherwise decided by one stray
    pause of the machine.
    """
    best, out, spent, runs = float("inf"), None, 0.0, 0
    while runs < repeat or (repeat > 1 and spent < short and runs < most):
        t0 = time.perf_counter()
        out = fn()
        took = time.perf_counter() - t0
        best, spent, runs = min(best, took), spent + took, runs + 1
    return best, out


def company(accounts: int, events_per_account: float | None, seed: int = 7) -> Path:
    """The generated company of that size (made once into ``data/bench/``)."""
    from churnlab.sample import generate

    tag = f"{accounts}" + (f"-epa{events_per_account:g}" if events_per_account else "")
    out = ROOT / "data" / "bench" / tag
    if not (out / "accounts.csv").exists() or not (out / "events.parquet").exists():
        t0 = time.perf_counter()
        counts = generate(out, seed=seed, n_accounts=accounts, events_per_account=events_per_account)
        print(f"generated {out}: {counts['events']:,} events in {time.perf_counter() - t0:.0f} s", flush=True)
    return out


def row(name, value, ref_name=None, ref=None, budget=None, kind="within"):
    """Print one budget line: ``value`` beside ``ref`` with their ratio and whether the budget is met."""
    if ref is None:
        print(f"  {name:<44} {value:8.2f} s")
        return
    ratio = value / ref if ref else float("inf")
    if kind == "within":
        ok = ratio <= budget
        verdict = f"ratio {ratio:5.2f}x (budget <= {budget}x) {'OK' if ok else 'OVER'}"
    else:  # churnlab must be `budget` times faster than the reference
        speed = ref / value if value else float("inf")
        ok = speed >= budget
        verdict = f"{speed:5.1f}x faster (budget >= {budget}x) {'OK' if ok else 'SHORT'}"
    print(f"  {name:<44} {value:8.2f} s  vs {ref_name:<14} {ref:8.2f} s  {verdict}", flush=True)


def raw_read(data: Path) -> float:
    """A raw DuckDB read of the same files: every events column scanned, small tables read."""
    import duckdb
    import pandas as pd

    t0 = time.perf_counter()
    for f in sorted(data.iterdir()):
        if f.name.startswith("events."):
            continue
        if f.suffix == ".csv":
            pd.read_csv(f)
        elif f.suffix == ".parquet":
            pd.read_parquet(f)
    con = duckdb.connect()
    ev = next(data.glob("events.*"), None)
    if ev is not None:
        src = f"read_parquet('{ev}')" if ev.suffix == ".parquet" else f"read_csv('{ev}')"
        con.execute(f"SELECT count(*), count(account_id), min(ts), max(ts), count(event), count(user_id), "
                    f"sum(value) FROM {src}").fetchall()
    return time.perf_counter() - t0


def bench_company(data: Path, *, pandas_ref: bool = True, quiet: bool = False) -> dict:
    """Load and aggregation timings for one data folder, each beside its reference."""
    import duckdb
    import pandas as pd

    from churnlab import activity, attrition, risk, settings, sources
    from churnlab.periods import Period
    from churnlab.report import resolve_quarter

    out = {}
    # best of two for both, as for the aggregations below: one noisy run on a 2-core machine
    # would otherwise decide the ratio
    t_load, ds = timed(lambda: sources.load(data), repeat=2)
    t_raw = min(raw_read(data) for _ in range(2))
    n_events = int(ds.rows.set_index("table").loc["events", "read"]) if ds.events is not None else 0
    out.update(load=t_load, raw=t_raw, events=n_events)
    tmp = Path(tempfile.mkdtemp(prefix="churnlab-bench-"))
    t_snap, snap = timed(lambda: sources.write_snapshot(ds, tmp / ".snapshot"))
    t_open, sds = timed(lambda: sources.open_snapshot(snap))
    out.update(snapshot_write=t_snap, snapshot_open=t_open)
    if not quiet:
        print(f"\n{data}: {len(ds.accounts):,} accounts, {n_events:,} events")
        print("Load and validation:")
        row("sources.load (read, map, validate)", t_load, "raw DuckDB read", t_raw, 2.0)
        row("  + write the review snapshot (once)", t_snap)
        row("  open the snapshot (each notebook)", t_open)
    if sds.events is None:
        return out

    run = settings.resolve(sds)
    qualified = list(run.qualified_events)
    q = Period.quarter(resolve_quarter(sds, ""))
    start, end = q.previous(8).start, q.end          # 8 quarters of attrition need the one before
    ev_file = str((snap / "events.parquet").resolve())
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    names = ", ".join("'" + e.replace("'", "''") + "'" for e in qualified)
    s_lit, e_lit = f"TIMESTAMP '{start:%Y-%m-%d}'", f"TIMESTAMP '{end + pd.Timedelta(days=1):%Y-%m-%d}'"
    cnt_event = qualified[0]

    def sql(query):
        return lambda: con.execute(query).df()

    def pandas_frame(cols):
        return pd.read_parquet(ev_file, columns=cols)

    def pd_activity(level):
        keys = ["account_id"] if level == "account" else ["account_id", "user_id"]
        df = pandas_frame([*keys, "ts", "event"])
        df = df[df["event"].isin(qualified)]
        if level == "user":
            df = df[df["user_id"].notna()]
        df["period_start"] = df["ts"].dt.to_period("M").dt.start_time
        return df.groupby([*keys, "period_start"]).size().reset_index(name="n_events")

    def pd_user_attrition():
        df = pandas_frame(["account_id", "user_id", "ts", "event"])
        df = df[df["event"].isin(qualified) & df["user_id"].notna() & (df["ts"] >= start) & (df["ts"] < end + pd.Timedelta(days=1))]
        df["p"] = df["ts"].dt.to_period("Q")
        act = df[["account_id", "user_id", "p"]].drop_duplicates()
        nxt = act.assign(p=act["p"] + 1)
        kept = nxt.merge(act, on=["account_id", "user_id", "p"], how="inner")
        return pd.DataFrame({"start": nxt.groupby("p").size(), "retained": kept.groupby("p").size()})

    def pd_event_counts():
        df = pandas_frame(["account_id", "ts", "event"])
        df = df[(df["event"] == cnt_event) & (df["ts"] >= q.start) & (df["ts"] < q.end + pd.Timedelta(days=1))]
        return df.groupby("account_id").size().reset_index(name="n")

    hand_user_attr = f"""
        WITH act AS (SELECT DISTINCT account_id, user_id, date_trunc('quarter', ts) AS p FROM read_parquet('{ev_file}')
                     WHERE event IN ({names}) AND user_id IS NOT NULL AND ts >= {s_lit} AND ts < {e_lit})
        SELECT b.p + INTERVAL 3 MONTH AS period, count(*) AS start_count, count(n.user_id) AS retained
        FROM act b LEFT JOIN act n ON n.account_id = b.account_id AND n.user_id = b.user_id
                                   AND n.p = b.p + INTERVAL 3 MONTH
        GROUP BY 1 ORDER BY 1"""
    day = q.start   # the at-risk signals as of the reviewed quarter's start (risk.event_signals)
    lo_lit, mid_lit, day_lit = (f"TIMESTAMP '{day - pd.Timedelta(days=n):%Y-%m-%d}'" for n in (120, 30, 0))

    def pd_signals():
        df = pandas_frame(["account_id", "user_id", "ts", "event"])
        df = df[(df["ts"] >= day - pd.Timedelta(days=120)) & (df["ts"] < day) & df["event"].isin(qualified)]
        recent = df["ts"] >= day - pd.Timedelta(days=30)
        g = df.assign(recent=recent.astype(int), prior=(~recent).astype(int)).groupby("account_id")
        return pd.DataFrame({"recent": g["recent"].sum(), "prior": g["prior"].sum(),
                             "users": df[recent].groupby("account_id")["user_id"].nunique()}).reset_index()

    cases = [
        ("qualified activity, account x month",
         lambda: activity.qualified_activity(sds.events, grain="month", qualified_events=qualified),
         sql(f"SELECT account_id, CAST(date_trunc('month', ts) AS DATE) AS period_start, count(*) AS n_events "
             f"FROM read_parquet('{ev_file}') WHERE event IN ({names}) GROUP BY ALL ORDER BY 1, 2"),
         lambda: pd_activity("account")),
        ("qualified activity, user x month",
         lambda: activity.qualified_activity(sds.events, grain="month", qualified_events=qualified, level="user"),
         sql(f"SELECT account_id, user_id, CAST(date_trunc('month', ts) AS DATE) AS period_start, "
             f"count(*) AS n_events FROM read_parquet('{ev_file}') WHERE event IN ({names}) AND user_id IS NOT NULL "
             f"GROUP BY ALL ORDER BY 1, 2, 3"),
         lambda: pd_activity("user")),
        ("user attrition, 8 quarters",
         lambda: attrition.activity_attrition(sds.events, level="user", grain="quarter", start=q.previous(7).start,
                                              end=q.end, qualified_events=qualified),
         sql(hand_user_attr), pd_user_attrition),
        (f"event counts per account ({cnt_event}, quarter)",
         lambda: activity.event_counts(sds.events, event=cnt_event, start=q.start, end=q.end + pd.Timedelta(days=1)),
         sql(f"SELECT account_id, count(*) AS n FROM read_parquet('{ev_file}') WHERE event = '{cnt_event}' "
             f"AND ts >= TIMESTAMP '{q.start:%Y-%m-%d}' AND ts < TIMESTAMP '{q.end + pd.Timedelta(days=1):%Y-%m-%d}' "
             f"GROUP BY 1 ORDER BY 1"),
         pd_event_counts),
        ("at-risk engagement signals (120 days)",
         lambda: risk.event_signals(sds.events, day, qualified_events=qualified),
         sql(f"SELECT account_id, count(*) FILTER (WHERE ts >= {mid_lit}) AS recent, "
             f"count(*) FILTER (WHERE ts < {mid_lit}) AS prior, "
             f"count(DISTINCT user_id) FILTER (WHERE ts >= {mid_lit}) AS users FROM read_parquet('{ev_file}') "
             f"WHERE ts >= {lo_lit} AND ts < {day_lit} AND event IN ({names}) GROUP BY 1"),
         pd_signals),
    ]
    if not quiet:
        print("Engine aggregations (on the validated events, as the notebooks run them):")
    for name, ours, hand, pandas_way in cases:
        t_ours, _ = timed(ours, repeat=2)
        t_hand, _ = timed(hand, repeat=2)
        out[name] = (t_ours, t_hand)
        if not quiet:
            row(name, t_ours, "hand DuckDB", t_hand, 1.3)
        if pandas_ref:
            t_pd, _ = timed(pandas_way)
            out[name] += (t_pd,)
            if not quiet:
                row("", t_ours, "pandas", t_pd, 10, kind="faster")
    import shutil

    shutil.rmtree(tmp, ignore_errors=True)
    return out


def bench_review(data: Path) -> None:
    """The whole review in a subprocess: wall time and peak RSS of the largest child."""
    # The review runs under a small wrapper process that reports the peak RSS of its descendants: a
    # child forked from this (large, after the pandas references) process would report this
    # process's memory as its own peak (Linux keeps the peak of the memory it had before exec).
    wrapper = ("import resource, subprocess, sys; r = subprocess.run(sys.argv[1:]); "
               "print('RSS', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); "
               "sys.exit(r.returncode)")
    with tempfile.TemporaryDirectory(prefix="churnlab-review-") as out:
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-c", wrapper, str(Path(sys.executable).parent / "churnlab"), "review",
                               "--data", str(data), "--out", out, "--quiet"],
                              env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        rss = [int(ln.split()[1]) for ln in proc.stderr.splitlines() if ln.startswith("RSS ")]
        rss_gb = (rss[-1] if rss else resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 2**20
        print("Whole review:")
        print(f"  churnlab review {'ok' if proc.returncode == 0 else 'FAILED'} in {wall:.0f} s "
              f"(budget 240 s at 100k / 50M), peak RSS {rss_gb:.2f} GB (budget 3 GB)")
        for line in proc.stdout.splitlines():
            if line.startswith("[") or "ok (" in line or "FAILED" in line:
                print("   ", line.strip())
        if proc.returncode:
            print(proc.stderr[-2000:])


def bench_cox(data: Path) -> None:
    """The survival report's Cox model per account and on aggregated covariate patterns."""
    import numpy as np

    from churnlab import attrition, settings, sources
    from churnlab import survival as sv
    from churnlab.report import resolve_quarter

    ds = sources.load(data)
    quarter = resolve_quarter(ds, "")
    run = settings.resolve(ds)
    accounts = attrition.review_accounts(ds, run)
    columns = [c for c in dict.fromkeys([run.segment_col, "contract", *run.drivers]) if c and c in accounts]
    lt = sv.lifetimes(accounts, as_of=quarter, grain="quarter", by=columns)
    covs = [c for c in run.drivers if c in lt] or columns
    t_acc, res_acc = timed(lambda: sv.fit_cox_safely(lt, covariates=covs))
    keys = ["duration", "event", *covs]
    agg = lt[keys].assign(_w=1.0).groupby(keys, dropna=False, observed=True)["_w"].sum().reset_index()
    t_agg, res_agg = timed(lambda: sv.fit_cox_safely(agg, covariates=covs, weight_col="_w"))
    print(f"Cox model ({len(lt):,} accounts, {len(agg):,} covariate patterns, covariates {covs}):")
    row("fit_cox_safely on aggregated patterns", t_agg, "per account", t_acc, 1.0)
    a, b = getattr(res_acc, "model", None), getattr(res_agg, "model", None)
    if a is not None and b is not None:
        diff = float(np.max(np.abs(a.params_.to_numpy() - b.params_.reindex(a.params_.index).to_numpy())))
        print(f"  largest coefficient difference: {diff:.2e}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=None, help="data folder (default: data/sample, or the generated size)")
    ap.add_argument("--accounts", type=int, default=None, help="generate a company of this many accounts")
    ap.add_argument("--events-per-account", type=float, default=None, help="generator option (about N events)")
    ap.add_argument("--sizes", default="", help="scaling curve: comma-separated account counts")
    ap.add_argument("--no-pandas", action="store_true", help="skip the pandas references")
    ap.add_argument("--review", action="store_true", help="also time the whole review (subprocess)")
    ap.add_argument("--review-only", action="store_true", help="time the whole review only")
    ap.add_argument("--cox", action="store_true", help="also time the Cox model per account vs aggregated")
    args = ap.parse_args()

    data = (Path(args.data) if args.data else company(args.accounts, args.events_per_account) if args.accounts
            else ROOT / "data" / "sample")
    if args.review_only:
        bench_review(data)
        return
    bench_company(data, pandas_ref=not args.no_pandas)
    if args.cox:
        bench_cox(data)
    if args.review:
        bench_review(data)
    if args.sizes:
        print("\nScaling curve (load, and the engine aggregations summed; seconds per million events):")
        for n in [int(x) for x in args.sizes.split(",") if x.strip()]:
            d = company(n, args.events_per_account)
            r = bench_company(d, pandas_ref=False, quiet=True)
            eng = sum(v[0] for k, v in r.items() if isinstance(v, tuple))
            m = max(r["events"], 1) / 1e6
            print(f"  {n:>8,} accounts {r['events']:>12,} events: load {r['load']:7.1f} s ({r['load'] / m:5.2f}/M), "
                  f"aggregations {eng:7.1f} s ({eng / m:5.2f}/M)", flush=True)


if __name__ == "__main__":
    main()
