"""Kaplan-Meier at scale: one row per account versus (group, duration, event, count) rows.

Builds a synthetic book of ``--accounts`` customers (default one million) signed up over three years
in three segments with monthly / annual contracts, then times, for signup-quarter cohorts:

1. ``lifetimes``: accounts -> one lifetime per account, censored at the analysis date;
2. ``aggregate_lifetimes``: lifetimes -> counts per (cohort, segment, duration, event);
3. ``fit_km`` on the aggregate with frequency weights (the notebook's path), and on one row per
   account (the reference), plus the log-rank test across cohorts on both;

and checks that both paths give the same curves, at-risk counts and test statistic.

Run: ``.venv/bin/python benchmarks/bench_survival.py [--accounts 1000000] [--repeat 3]``.
The figures measured on the project's 2-core build machine are recorded in ``docs/survival.md``.
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from churnlab import survival as sv


def synthetic_accounts(n: int, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    start = np.datetime64("2023-07-01")
    signup = start + rng.integers(0, 3 * 365, n).astype("timedelta64[D]")
    segment = rng.choice(["SMB", "Mid-Market", "Enterprise"], n, p=[0.6, 0.3, 0.1])
    annual = rng.random(n) < np.select([segment == "SMB", segment == "Mid-Market"], [0.25, 0.55], 0.85)
    monthly_hazard = np.select([segment == "SMB", segment == "Mid-Market"], [0.025, 0.012], 0.005)
    life_months = rng.exponential(1 / monthly_hazard)
    life_months = np.where(annual, np.ceil(life_months / 12) * 12, life_months)  # renewal dates
    days = np.maximum(np.round(life_months * sv.MONTH_DAYS), 1).astype("int64")
    churn = signup + days.astype("timedelta64[D]")
    return pd.DataFrame({"account_id": np.arange(n), "signup_date": signup,
                         "churn_date": pd.to_datetime(churn), "segment": segment,
                         "contract": np.where(annual, "annual", "monthly")})


def timed(fn, repeat):
    best, out = np.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--accounts", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    accounts = synthetic_accounts(args.accounts)
    t_lt, lt = timed(lambda: sv.lifetimes(accounts, as_of="2026Q2", by="segment"), args.repeat)
    t_agg, agg = timed(lambda: sv.aggregate_lifetimes(lt, by=["cohort", "segment"]), args.repeat)
    t_fit_agg, fits_agg = timed(lambda: sv.fit_km(agg, by="cohort", weight_col="weight"), args.repeat)
    t_fit_rows, fits_rows = timed(lambda: sv.fit_km(lt, by="cohort"), args.repeat)
    t_lr_agg, lr_agg = timed(lambda: sv.logrank(agg, by="cohort", weight_col="weight"), args.repeat)
    t_lr_rows, lr_rows = timed(lambda: sv.logrank(lt, by="cohort"), args.repeat)

    times = [0, 3, 6, 12, 24]
    c_agg, c_rows = sv.survival_curves(fits_agg), sv.survival_curves(fits_rows)
    cols = ["survival", "survival_lo", "survival_hi", "at_risk", "events", "censored"]
    curve_diff = float(np.nanmax(np.abs(c_agg[cols].to_numpy(float) - c_rows[cols].to_numpy(float))))
    risk_same = sv.at_risk_table(fits_agg, times=times).equals(sv.at_risk_table(fits_rows, times=times))
    lr_diff = abs(lr_agg.loc[0, "test_statistic"] - lr_rows.loc[0, "test_statistic"])

    print(f"accounts                       {len(accounts):>12,}")
    print(f"lifetimes rows                 {len(lt):>12,}")
    print(f"aggregated rows                {len(agg):>12,}  ({len(lt) / len(agg):,.0f}x fewer)")
    print(f"cohorts (signup quarter)       {len(fits_agg):>12,}")
    print(f"lifetimes()                    {t_lt:>11.2f}s")
    print(f"aggregate_lifetimes()          {t_agg:>11.2f}s")
    print(f"fit_km, aggregated + weights   {t_fit_agg:>11.2f}s")
    print(f"fit_km, one row per account    {t_fit_rows:>11.2f}s")
    print(f"logrank, aggregated + weights  {t_lr_agg:>11.2f}s")
    print(f"logrank, one row per account   {t_lr_rows:>11.2f}s")
    print(f"end to end, aggregated path    {t_lt + t_agg + t_fit_agg + t_lr_agg:>11.2f}s")
    print(f"max |curve difference|         {curve_diff:>12.1e}")
    print(f"at-risk tables identical       {str(risk_same):>12}")
    print(f"|log-rank difference|          {lr_diff:>12.1e}")
    if curve_diff > 1e-9 or not risk_same or lr_diff > 1e-6:
        raise SystemExit("aggregated and per-account results differ")


if __name__ == "__main__":
    main()
