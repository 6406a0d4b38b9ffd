"""Attrition: how many customers did we lose in a period?

The textbook definition, used throughout:

    attrition = (active at start - of those, still active at end) / active at start

Customers acquired during the period are excluded from both counts, so the rate is never negative and
attrition + retention = 100%. For accounts (logos), *active on day d* means an active contract:
``signup_date <= d < churn_date`` (``churn_date`` is the first day without service). A period is the
half-open range ``[start, end)``; "at the end" means on its last day.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .periods import periods_between
from .stats import add_wilson

#: Columns of :func:`logo_attrition`.
ATTRITION_COLUMNS = ["period", "period_start", "period_end", "start_count", "churned", "retained",
                     "new", "end_count", "attrition_rate", "attrition_rate_lo", "attrition_rate_hi",
                     "retention_rate"]


def logo_attrition(accounts: pd.DataFrame, *, grain: str = "month", start=None, end=None, by=None,
                   signup_col: str = "signup_date", churn_col: str = "churn_date") -> pd.DataFrame:
    """Logo (account) attrition per period, with new accounts of the period excluded.

    Parameters
    ----------
    accounts : DataFrame
        One row per account with ``signup_col`` and ``churn_col`` (NaT while active).
    grain : {"week", "month", "quarter"}
    start, end : date-like
        Whole periods with ``start <= period_start`` and ``period_end <= end`` are reported.
        Defaults: the first signup and the day after the last date in the data.
    by : str or list of str, optional
        Account columns to break the rates down by (segment, plan, ...).
    signup_col, churn_col : str
        Use ``churn_col="cancel_date"`` to count churn at the cancellation request.

    Returns
    -------
    DataFrame
        One row per period (and group): ``period, period_start, period_end, [by...], start_count,
        churned, retained, new, end_count, attrition_rate, attrition_rate_lo, attrition_rate_hi,
        retention_rate``. ``period_end`` is exclusive. Intervals are 95% Wilson.

    Examples
    --------
    Four accounts in January 2026: ``a`` leaves mid-month, ``b`` stays, ``c`` joins and leaves within
    the month (excluded: acquired in the period), ``d`` joins in the month and stays (excluded).

    >>> acc = pd.DataFrame({
    ...     "account_id": ["a", "b", "c", "d"],
    ...     "signup_date": pd.to_datetime(["2025-06-01", "2025-11-15", "2026-01-10", "2026-01-20"]),
    ...     "churn_date": pd.to_datetime(["2026-01-15", None, "2026-01-25", None])})
    >>> out = logo_attrition(acc, grain="month", start="2026-01-01", end="2026-02-01")
    >>> out[["period", "start_count", "churned", "retained", "new", "end_count", "attrition_rate"]]
        period  start_count  churned  retained  new  end_count  attrition_rate
    0  2026-01            2        1         1    2          2             0.5
    """
    signup = pd.to_datetime(accounts[signup_col])
    churn = pd.to_datetime(accounts[churn_col]) if churn_col in accounts else pd.Series(pd.NaT, index=accounts.index)
    if start is None:
        start = signup.min()
    if end is None:
        end = max(d for d in (signup.max(), churn.max()) if pd.notna(d)) + pd.Timedelta(days=1)
    by = [by] if isinstance(by, str) else list(by or [])
    groups = accounts[by].astype(object).where(accounts[by].notna(), "(missing)") if by else None

    frames = []
    for p in periods_between(start, end, grain):
        active_start = (signup <= p.start) & (churn.isna() | (churn > p.start))
        alive_end = churn.isna() | (churn > p.last_day)
        retained = active_start & alive_end
        new = (signup > p.start) & (signup <= p.last_day)
        end_active = (signup <= p.last_day) & alive_end
        cols = pd.DataFrame({"start_count": active_start, "retained": retained, "new": new,
                             "end_count": end_active}).astype("int64")
        agg = cols.groupby([groups[c] for c in by]).sum() if by else cols.sum().to_frame().T
        agg = agg.reset_index() if by else agg
        agg.insert(0, "period_end", p.end)
        agg.insert(0, "period_start", p.start)
        agg.insert(0, "period", p.label)
        frames.append(agg)
    if not frames:
        return pd.DataFrame(columns=ATTRITION_COLUMNS[:3] + by + ATTRITION_COLUMNS[3:])
    out = pd.concat(frames, ignore_index=True)
    out["churned"] = out["start_count"] - out["retained"]
    out = add_wilson(out, k_col="churned", n_col="start_count", name="attrition_rate")
    out["retention_rate"] = 1 - out["attrition_rate"]
    return out[ATTRITION_COLUMNS[:3] + by + ATTRITION_COLUMNS[3:]]


def convert_rate(rate, *, periods: float):
    """Rate over ``periods`` consecutive periods at a constant per-period rate: 1 - (1 - c)^n.

    A monthly attrition of 2% compounds to about 5.9% a quarter, not 6%; a quarterly rate converts to
    a monthly one with ``periods=1/3``.

    Examples
    --------
    >>> round(convert_rate(0.02, periods=3), 6)
    0.058808
    >>> round(convert_rate(0.058808, periods=1/3), 4)
    0.02
    """
    return 1 - (1 - np.asarray(rate, dtype=float)) ** periods if np.ndim(rate) else \
        float(1 - (1 - float(rate)) ** periods)
