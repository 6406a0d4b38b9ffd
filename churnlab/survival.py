"""Customer lifetimes: Kaplan-Meier curves, survival summaries, log-rank tests, retention
triangles and Cox proportional-hazards drivers.

The estimators and tests are lifelines'; this module only shapes the accounts table into lifetimes,
fits one lifelines fitter per group, and turns the fitters into tidy tables and plain sentences.

Conventions
-----------
* **Durations are in months**: ``days / (365.25 / 12)`` (``MONTH_DAYS`` = 30.4375 days), so 12
  months is exactly one average year. ``duration_days`` is kept alongside for exact arithmetic.
* **The analysis date** is the last day of the reviewed quarter (``as_of``). Accounts that sign up
  after it are excluded; a churn after it is not yet known and the account is censored at the end of
  that day. Nothing in the input after the analysis date can change a result, so a review of 2025Q4
  rerun later gives the same numbers it gave at the time.
* An account is active on day ``d`` when ``signup_date <= d < churn_date``, so its lifetime is
  ``churn_date - signup_date`` days when churned and ``as_of + 1 day - signup_date`` when censored.
* ``fit_*`` functions return lifelines fitters (a dict ``group -> KaplanMeierFitter`` for curves);
  every fitter carries the group it was fitted on as ``fitter.churnlab_group`` (a dict of column to
  value), which the tidy helpers use to name their columns.
* Frequency weights (``weight_col``) make an aggregated table of ``(group, duration, event, count)``
  rows give exactly the curves, intervals and tests of one row per account; see
  :func:`aggregate_lifetimes`.
"""
from __future__ import annotations

import itertools
import re
import warnings
from dataclasses import dataclass, field
from typing import Iterable, Mapping

import numpy as np
import pandas as pd
from lifelines import CoxPHFitter, KaplanMeierFitter
from lifelines.statistics import logrank_test, multivariate_logrank_test, proportional_hazard_test
from lifelines.utils import median_survival_times, restricted_mean_survival_time
from scipy import stats as _sps
from statsmodels.stats.multitest import multipletests

from .periods import GRAINS, Period, label_of, period_start
from .stats import BLANK_LABEL, OTHER_LABEL, fill_blank, format_p, group_rare_levels, pct
from .presentation import level_word, readable_header, trait

__all__ = [
    "MONTH_DAYS", "HORIZONS", "analysis_date", "lifetimes", "mark_era", "censor_at",
    "aggregate_lifetimes",
    "fit_km", "survival_curves", "at_risk_table", "survival_summary", "logrank", "pairwise_logrank",
    "difference_sentences", "retention_matrix", "revenue_retention_matrix", "fit_cox", "CoxResult",
    "fit_cox_safely",
    "hazard_ratios", "ph_check", "ph_violations", "describe_ph", "mature_cohorts", "readable_summary", "cohort_metrics",
]

#: Days in one month of lifetime: an average Gregorian month.
MONTH_DAYS = 365.25 / 12
#: Default horizons (months) at which survival is reported.
HORIZONS = (3, 6, 12, 24)


# --------------------------------------------------------------------------------------------
# lifetimes
# --------------------------------------------------------------------------------------------

def analysis_date(as_of) -> pd.Timestamp:
    """The analysis date: the last day of a quarter label / :class:`Period`, or a date itself.

    Examples
    --------
    >>> analysis_date("2025Q4").date()
    datetime.date(2025, 12, 31)
    >>> analysis_date("2026-03-15").date()
    datetime.date(2026, 3, 15)
    """
    if isinstance(as_of, Period):
        return as_of.last_day
    if isinstance(as_of, str) and re.fullmatch(r"\s*\d{4}\s*-?\s*[Qq][1-4]\s*", as_of):
        return Period.quarter(as_of).last_day
    return pd.Timestamp(as_of).normalize()


def lifetimes(accounts: pd.DataFrame, *, as_of, grain: str = "quarter", by=None,
              id_col: str = "account_id", signup_col: str = "signup_date",
              churn_col: str = "churn_date") -> pd.DataFrame:
    """One lifetime per account, censored at the analysis date.

    Parameters
    ----------
    accounts : DataFrame
        The canonical accounts table (``account_id, signup_date, churn_date`` at least).
    as_of : str, Period or date
        The analysis date: a quarter label (``"2025Q4"`` = its last day), a :class:`Period`, or a
        date. Signups after it are dropped; churn after it is censored.
    grain : {"week", "month", "quarter"}
        Signup-cohort grain (weeks start on Monday and are labelled ``2025-W03``).
    by : str or list of str, optional
        Account columns to carry over (segments, plan, contract ...).

    Returns
    -------
    DataFrame
        ``account_id, signup_date, cohort, cohort_start, duration_days, duration, event,
        follow_up`` plus the ``by`` columns. ``duration`` and ``follow_up`` (time from signup to the
        end of the analysis date) are in months of ``MONTH_DAYS`` days; ``event`` is True when the
        churn happened on or before the analysis date.

    Examples
    --------
    >>> acc = pd.DataFrame({"account_id": ["a", "b", "c"],
    ...                     "signup_date": pd.to_datetime(["2025-01-01", "2025-02-01", "2026-02-01"]),
    ...                     "churn_date": pd.to_datetime(["2025-07-02", "2026-03-01", None])})
    >>> lifetimes(acc, as_of="2025Q4")[["account_id", "cohort", "duration_days", "event"]]
      account_id  cohort  duration_days  event
    0          a  2025Q1            182   True
    1          b  2025Q1            334  False
    """
    if grain not in GRAINS:
        raise ValueError(f"grain must be one of {GRAINS}, not {grain!r}")
    day = analysis_date(as_of)
    end = day + pd.Timedelta(days=1)
    by = _as_list(by)
    signup = pd.to_datetime(accounts[signup_col]).dt.normalize()
    keep = signup.notna() & (signup <= day)
    src = accounts.loc[keep]
    signup = signup[keep]
    churn = pd.to_datetime(src[churn_col]).dt.normalize() if churn_col in src else \
        pd.Series(pd.NaT, index=src.index)
    event = churn.notna() & (churn <= day)
    stop = churn.where(event, end)
    days = (stop - signup).dt.days.clip(lower=0).astype("int64")
    starts = period_start(signup, grain)
    labels = {s: label_of(s, grain) for s in starts.unique()}
    out = pd.DataFrame({
        "account_id": src[id_col].to_numpy(),
        "signup_date": signup.to_numpy(),
        "cohort": starts.map(labels).to_numpy(),
        "cohort_start": starts.to_numpy(),
        "duration_days": days.to_numpy(),
        "duration": days.to_numpy() / MONTH_DAYS,
        "event": event.to_numpy(dtype=bool),
        "follow_up": (end - signup).dt.days.to_numpy() / MONTH_DAYS,
    })
    for col in by:
        out[col] = _blank_filled(src[col]).to_numpy()
    return out.reset_index(drop=True)


def mark_era(data: pd.DataFrame, *, at, before: str = "before", after: str = "after",
             date_col: str = "signup_date", name: str = "era") -> pd.DataFrame:
    """Add a column that says whether each row's date is before or on/after ``at``.

    Used to compare cohorts around a change (a redesigned onboarding, a new price list).

    Examples
    --------
    >>> df = pd.DataFrame({"signup_date": pd.to_datetime(["2024-06-30", "2024-07-01"])})
    >>> mark_era(df, at="2024-07-01", before="old price list", after="new price list")["era"].tolist()
    ['old price list', 'new price list']
    """
    out = data.copy()
    out[name] = np.where(pd.to_datetime(out[date_col]) >= pd.Timestamp(at), after, before)
    return out


def censor_at(data: pd.DataFrame, months: float, *, duration_col: str = "duration",
              event_col: str = "event") -> pd.DataFrame:
    """Follow every lifetime for at most ``months``: later churn becomes censored at ``months``.

    A log-rank test on the result compares groups over their first ``months`` only, which is
    the sharper test for an effect that acts early in the lifetime (onboarding, first renewal).

    Examples
    --------
    >>> lt = pd.DataFrame({"duration": [2.0, 9.0, 4.0], "event": [True, True, False]})
    >>> censor_at(lt, 6)
       duration  event
    0       2.0   True
    1       6.0  False
    2       4.0  False
    """
    out = data.copy()
    late = out[duration_col] > months
    out[event_col] = out[event_col].astype(bool) & ~late
    out[duration_col] = out[duration_col].where(~late, float(months))
    return out


def aggregate_lifetimes(data: pd.DataFrame, *, by=None, duration_col: str = "duration",
                        event_col: str = "event", weight_col: str = "weight") -> pd.DataFrame:
    """Collapse lifetimes to one row per (group, duration, event) with a count.

    Fitting the result with ``weight_col="weight"`` gives exactly the same Kaplan-Meier curves,
    confidence intervals, at-risk counts and log-rank statistics as fitting one row per account, and
    a million accounts reduce to a few thousand rows per group.

    Returns
    -------
    DataFrame
        The ``by`` columns, ``duration``, ``event`` and ``weight`` (number of accounts).

    Examples
    --------
    >>> lt = pd.DataFrame({"cohort": ["A", "A", "A", "B"], "duration": [1.0, 1.0, 2.0, 1.0],
    ...                    "event": [True, True, False, True]})
    >>> aggregate_lifetimes(lt, by="cohort")
      cohort  duration  event  weight
    0      A       1.0   True       2
    1      A       2.0  False       1
    2      B       1.0   True       1
    """
    by = _as_list(by)
    keys = by + [duration_col, event_col]
    out = (data.groupby(keys, observed=True, sort=True, dropna=False).size()
           .rename(weight_col).reset_index())
    return out


# --------------------------------------------------------------------------------------------
# Kaplan-Meier
# --------------------------------------------------------------------------------------------

def fit_km(data: pd.DataFrame, *, by=None, duration_col: str = "duration",
           event_col: str = "event", weight_col: str | None = None,
           alpha: float = 0.05, min_accounts: int = 1) -> dict:
    """Fit one lifelines ``KaplanMeierFitter`` per group.

    Parameters
    ----------
    data : DataFrame
        Lifetimes (:func:`lifetimes`) or their aggregate (:func:`aggregate_lifetimes`).
    by : str or list of str, optional
        Group columns; several columns fit every combination (e.g. ``["cohort", "segment"]``).
    weight_col : str, optional
        Frequency weights (accounts per row), as written by :func:`aggregate_lifetimes`.
    alpha : float
        One minus the level of the pointwise confidence band (lifelines' exponential Greenwood,
        i.e. log(-log) transformed, interval).
    min_accounts : int
        Groups with fewer accounts are skipped.

    Returns
    -------
    dict
        ``{key: KaplanMeierFitter}`` in sorted key order. The key is the group value (a tuple for
        several ``by`` columns, ``"all"`` without ``by``). Each fitter's ``churnlab_group`` holds the
        group as ``{column: value}``.

    Examples
    --------
    >>> lt = pd.DataFrame({"cohort": ["A"] * 4 + ["B"] * 3, "duration": [1, 2, 3, 4, 1, 5, 6],
    ...                    "event": [1, 1, 0, 1, 0, 1, 0]})
    >>> fits = fit_km(lt, by="cohort")
    >>> sorted(fits), float(fits["A"].median_survival_time_)
    (['A', 'B'], 2.0)
    """
    by = _as_list(by)
    fits = {}
    data = _fill_groups(data, by)
    groups = [(("all",), data)] if not by else \
        data.groupby(by, observed=True, sort=True, dropna=False)
    for key, part in groups:
        key = key if isinstance(key, tuple) else (key,)
        w = part[weight_col].to_numpy(dtype=float) if weight_col else None
        n = w.sum() if w is not None else len(part)
        if n < max(min_accounts, 1):
            continue
        label = " · ".join(str(k) for k in key)
        kmf = KaplanMeierFitter(alpha=alpha, label=label)
        kmf.fit(part[duration_col].to_numpy(dtype=float),
                event_observed=part[event_col].to_numpy(dtype=bool), weights=w, label=label)
        kmf.churnlab_group = dict(zip(by, key)) if by else {}
        fits[key[0] if len(key) == 1 else key] = kmf
    return fits


def survival_curves(fitters: Mapping) -> pd.DataFrame:
    """The fitted curves as one long frame, ready to plot.

    Returns
    -------
    DataFrame
        group columns, ``time`` (months), ``survival``, ``survival_lo``, ``survival_hi`` (the
        fitter's pointwise band), ``at_risk`` (accounts still at risk just before ``time``),
        ``events`` and ``censored`` at ``time``. The first row of each group is ``time = 0``.

    Examples
    --------
    >>> lt = pd.DataFrame({"duration": [1, 2, 2, 3], "event": [1, 1, 0, 0]})
    >>> survival_curves(fit_km(lt))[["time", "survival", "at_risk"]]
       time  survival  at_risk
    0   0.0      1.00      4.0
    1   1.0      0.75      4.0
    2   2.0      0.50      3.0
    3   3.0      0.50      1.0
    """
    frames = []
    for kmf in fitters.values():
        sf = kmf.survival_function_.iloc[:, 0]
        ci = kmf.confidence_interval_survival_function_
        et = kmf.event_table.reindex(sf.index)
        at_risk = _at_risk_at(kmf, sf.index.to_numpy())
        f = pd.DataFrame({
            "time": sf.index.to_numpy(dtype=float),
            "survival": sf.to_numpy(),
            "survival_lo": ci.iloc[:, 0].to_numpy(),
            "survival_hi": ci.iloc[:, 1].to_numpy(),
            "at_risk": at_risk,
            "events": et["observed"].fillna(0).to_numpy(),
            "censored": et["censored"].fillna(0).to_numpy(),
        })
        frames.append(_with_group(f, kmf))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def at_risk_table(fitters: Mapping, *, times: Iterable[float]) -> pd.DataFrame:
    """Accounts at risk, churned and censored at chosen times (the table under a KM plot).

    At-risk counts follow R's ``summary.survfit`` / SAS: accounts whose lifetime is at least
    ``t`` (still active, or churning exactly at ``t``). ``events`` and ``censored`` are cumulative
    counts up to and including ``t``. Counts are weighted sums, so an aggregated table with
    frequency weights gives the same numbers as one row per account (lifelines' own at-risk row
    under a plot counts differently and is not used).

    Returns
    -------
    DataFrame
        group columns, ``time``, ``at_risk``, ``events``, ``censored``.

    Examples
    --------
    >>> lt = pd.DataFrame({"duration": [1, 2, 2, 3, 5], "event": [1, 1, 0, 0, 1]})
    >>> at_risk_table(fit_km(lt), times=[0, 2, 4])
       time  at_risk  events  censored
    0     0      5.0     0.0       0.0
    1     2      4.0     2.0       1.0
    2     4      1.0     2.0       2.0
    """
    times = list(times)
    frames = []
    for kmf in fitters.values():
        et = kmf.event_table
        t_idx = et.index.to_numpy(dtype=float)
        obs = et["observed"].to_numpy(dtype=float)
        cen = et["censored"].to_numpy(dtype=float)
        f = pd.DataFrame({
            "time": times,
            "at_risk": _at_risk_at(kmf, np.asarray(times, dtype=float)),
            "events": [obs[t_idx <= t].sum() for t in times],
            "censored": [cen[t_idx <= t].sum() for t in times],
        })
        frames.append(_with_group(f, kmf))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _at_risk_at(kmf, times: np.ndarray) -> np.ndarray:
    """Weighted number with lifetime >= t, for each t."""
    et = kmf.event_table
    t_idx = et.index.to_numpy(dtype=float)
    removed = et["removed"].to_numpy(dtype=float)
    # suffix sums: total removed at or after each event-table time
    suffix = np.concatenate([np.cumsum(removed[::-1])[::-1], [0.0]])
    pos = np.searchsorted(t_idx, times, side="left")
    return suffix[pos]


# --------------------------------------------------------------------------------------------
# summaries
# --------------------------------------------------------------------------------------------

def survival_summary(fitters: Mapping, *, times: Iterable[float] = HORIZONS,
                     horizon: float = 24, alpha: float = 0.05,
                     extrapolate: bool = False, resolution: float = 1 / MONTH_DAYS) -> pd.DataFrame:
    """Median lifetime, survival at fixed months and restricted mean lifetime per group.

    Parameters
    ----------
    fitters : dict of KaplanMeierFitter
        As returned by :func:`fit_km`.
    times : iterable of float
        Months at which to read survival (default 3, 6, 12, 24).
    horizon : float
        Horizon (months) of the restricted mean lifetime: the expected months of the first
        ``horizon`` that an account stays (the area under the curve up to ``horizon``).
    extrapolate : bool
        Hold each curve at its last value beyond its longest observed lifetime (as R's
        ``print.survfit(rmean="common")`` does) instead of reporting ``NaN``.
    resolution : float
        The precision durations are recorded to (one day, in months, by default): no churn can fall
        between the longest observed lifetime and that plus ``resolution``, so a horizon in that gap
        is still determined (12 months = 365.25 days is known from 365 days of follow-up).

    Returns
    -------
    DataFrame
        One row per group: group columns, ``accounts``, ``churned``, ``follow_up`` (longest observed
        lifetime, months), ``median`` with ``median_lo`` / ``median_hi`` (``inf`` = not reached:
        more than half still active; bounds from the band, as R's survfit does),
        ``survival_<t>m`` with ``_lo`` / ``_hi`` for each ``t``, ``rmst_<h>m`` with ``_lo`` /
        ``_hi`` (normal interval; standard error as R's ``se(rmean)``: the Greenwood-type sum of
        ``A_i^2 d_i / (n_i (n_i - d_i))`` with ``A_i`` the area under the curve from event time
        ``t_i`` to the horizon). A value needing follow-up beyond the group's longest observed
        lifetime is ``NaN`` unless ``extrapolate`` (or the curve has already reached zero).

    Examples
    --------
    >>> lt = pd.DataFrame({"duration": [1, 2, 2, 3, 5, 7], "event": [1, 1, 0, 1, 1, 0]})
    >>> s = survival_summary(fit_km(lt), times=[2, 6], horizon=6)
    >>> s[["accounts", "churned", "median", "survival_2m", "survival_6m"]].round(4)
       accounts  churned  median  survival_2m  survival_6m
    0         6        4     3.0       0.6667       0.2222
    """
    times = list(times)
    z = _sps.norm.ppf(1 - alpha / 2)
    rows = []
    for kmf in fitters.values():
        et = kmf.event_table
        follow = float(et.index.max()) if len(et) else 0.0
        row = dict(kmf.churnlab_group) if hasattr(kmf, "churnlab_group") else {"group": kmf._label}
        row.update(accounts=_num(et["removed"].sum()), churned=_num(et["observed"].sum()),
                   follow_up=follow)
        med = float(kmf.median_survival_time_)
        mci = median_survival_times(kmf.confidence_interval_survival_function_)
        row.update(median=med, median_lo=float(mci.iloc[0, 0]), median_hi=float(mci.iloc[0, 1]))
        sf = kmf.survival_function_.iloc[:, 0]
        ci = kmf.confidence_interval_survival_function_
        for t in times:
            name = f"survival_{_fmt_t(t)}m"
            if t >= follow + resolution and not extrapolate and sf.iloc[-1] > 0:
                row.update({name: np.nan, f"{name}_lo": np.nan, f"{name}_hi": np.nan})
                continue
            i = sf.index.searchsorted(t, side="right") - 1
            row.update({name: float(sf.iloc[i]), f"{name}_lo": float(ci.iloc[i, 0]),
                        f"{name}_hi": float(ci.iloc[i, 1])})
        name = f"rmst_{_fmt_t(horizon)}m"
        if horizon >= follow + resolution and not extrapolate and sf.iloc[-1] > 0:
            row.update({name: np.nan, f"{name}_lo": np.nan, f"{name}_hi": np.nan})
        else:
            mean = restricted_mean_survival_time(kmf, t=horizon)
            se = _rmst_se(kmf, horizon)
            row.update({name: float(mean), f"{name}_lo": float(mean) - z * se,
                        f"{name}_hi": float(mean) + z * se})
        rows.append(row)
    return pd.DataFrame(rows)


def _area(x: np.ndarray, s: np.ndarray, upto) -> np.ndarray:
    """Area under the step function ``s`` (value s[i] on [x[i], x[i+1])) from 0 to each ``upto``."""
    upto = np.atleast_1d(np.asarray(upto, dtype=float))
    cum = np.concatenate([[0.0], np.cumsum(s[:-1] * np.diff(x))])  # area from x[0] to x[i]
    k = np.clip(np.searchsorted(x, upto, side="right") - 1, 0, None)
    return np.where(upto <= x[0], 0.0, cum[k] + s[k] * (upto - x[k])) + x[0] * 1.0


def _rmst_se(kmf, tau: float) -> float:
    """Standard error of the KM restricted mean up to ``tau`` (R survival's ``se(rmean)``)."""
    sf = kmf.survival_function_.iloc[:, 0]
    x, s = sf.index.to_numpy(dtype=float), sf.to_numpy(dtype=float)
    et = kmf.event_table
    t = et.index.to_numpy(dtype=float)
    d = et["observed"].to_numpy(dtype=float)
    n = et["at_risk"].to_numpy(dtype=float)
    use = (d > 0) & (t <= tau) & (n > d)
    if not use.any():
        return 0.0
    a = _area(x, s, [tau])[0] - _area(x, s, t[use])
    return float(np.sqrt(np.sum(a * a * d[use] / (n[use] * (n[use] - d[use])))))


def mature_cohorts(data: pd.DataFrame, *, months: float = 12, last: int = 4,
                   cohort_col: str = "cohort", follow_col: str = "follow_up") -> list:
    """The latest ``last`` cohorts in which every account has been followed for ``months``.

    These are the cohorts whose ``months``-month survival is fully observed, so it can be compared
    from one review to the next.

    Examples
    --------
    >>> lt = pd.DataFrame({"cohort": ["2025Q1", "2025Q2", "2025Q3"], "follow_up": [14.0, 12.5, 11.0]})
    >>> mature_cohorts(lt, months=12, last=4)
    ['2025Q1', '2025Q2']
    """
    f = data.groupby(cohort_col, observed=True)[follow_col].min()
    return sorted(f.index[f >= months - 1e-9].tolist())[-last:]


def fully_observed(summary: pd.DataFrame, lifetimes: pd.DataFrame, *, months: float,
                   cohort_col: str = "cohort", follow_col: str = "follow_up") -> pd.DataFrame:
    """The rows of ``summary`` whose cohort has had every account followed for ``months``
    (:func:`mature_cohorts`), so that each cohort's ``months``-month survival is compared on all of its
    customers, not on the few who signed up early enough.

    Examples
    --------
    >>> lt = pd.DataFrame({"cohort": ["2025Q1", "2025Q2", "2025Q2"], "follow_up": [14.0, 12.5, 11.0]})
    >>> s = pd.DataFrame({"cohort": ["2025Q1", "2025Q2"], "survival_12m": [0.8, 0.9]})
    >>> fully_observed(s, lt, months=12)["cohort"].tolist()
    ['2025Q1']
    """
    keep = {str(c) for c in mature_cohorts(lifetimes, months=months, last=len(lifetimes) + 1,
                                            cohort_col=cohort_col, follow_col=follow_col)}
    return summary[summary[cohort_col].astype(str).isin(keep)]


def readable_summary(summary: pd.DataFrame, *, times: Iterable[float] | None = None,
                     horizon: float | None = None) -> pd.DataFrame:
    """A :func:`survival_summary` as text for readers: intervals in brackets, percentages,
    "not reached" for a median more than half the group has not reached (and "at least 20.0" for an
    interval whose upper end is not reached), blank when unknown.

    Examples
    --------
    >>> s = pd.DataFrame({"cohort": ["2025Q1"], "accounts": [100], "churned": [20],
    ...                   "median": [np.inf], "median_lo": [20.0], "median_hi": [np.inf],
    ...                   "survival_12m": [0.8], "survival_12m_lo": [0.7], "survival_12m_hi": [0.87],
    ...                   "rmst_24m": [19.5], "rmst_24m_lo": [18.9], "rmst_24m_hi": [20.1]})
    >>> readable_summary(s).iloc[0, 3:].tolist()
    ['not reached (at least 20.0)', '80.0% (70.0%-87.0%)', '19.5 (18.9-20.1)']
    >>> s[["median", "median_lo"]] = [[30.0, np.inf]] ; readable_summary(s).iloc[0, 3]
    'not reached'
    >>> s[["median", "median_lo"]] = [[37.9, 36.0]] ; readable_summary(s).iloc[0, 3]
    '37.9 (at least 36.0)'
    """
    from .i18n import t as tr

    def months(v):
        return "" if not np.isfinite(v) and not v == np.inf else \
            (tr("not reached") if v == np.inf else f"{v:.1f}")

    surv = [c for c in summary.columns if re.fullmatch(r"survival_[\d.]+m", c)]
    rmst = [c for c in summary.columns if re.fullmatch(r"rmst_[\d.]+m", c)]
    if times is not None:
        surv = [f"survival_{_fmt_t(t)}m" for t in times]
    if horizon is not None:
        rmst = [f"rmst_{_fmt_t(horizon)}m"]
    groups = [c for c in summary.columns if c not in {"accounts", "churned", "follow_up"}
              and not re.match(r"(median|survival_|rmst_)", c)]
    out = summary[groups + ["accounts", "churned"]].copy()
    def median(m, lo, hi):
        if np.isnan(m):
            return ""
        if np.isnan(lo) or lo == np.inf:       # no interval, or even its lower end is not reached
            return months(m if lo != np.inf else np.inf)
        if hi == np.inf or np.isnan(hi):
            return f"{months(m)} ({tr('at least {months}', months=months(lo))})"
        return f"{months(m)} ({months(lo)}-{months(hi)})"

    out["median lifetime, months"] = [median(m, lo, hi) for m, lo, hi in
                                      zip(summary["median"], summary["median_lo"], summary["median_hi"])]
    for c in surv:
        out[f"still active at {c[9:-1]} months"] = [
            "" if not np.isfinite(v) else f"{100 * v:.1f}% ({100 * lo:.1f}%-{100 * hi:.1f}%)"
            for v, lo, hi in zip(summary[c], summary[f"{c}_lo"], summary[f"{c}_hi"])]
    for c in rmst:
        out[f"mean months of the first {c[5:-1]}"] = [
            "" if not np.isfinite(v) else f"{v:.1f} ({lo:.1f}-{hi:.1f})"
            for v, lo, hi in zip(summary[c], summary[f"{c}_lo"], summary[f"{c}_hi"])]
    return out


def cohort_metrics(summary: pd.DataFrame, *, cohorts: Iterable[str], cohort_col: str = "cohort",
                   t: float = 12) -> dict:
    """Headline figures per cohort for ``metrics.json``.

    Returns ``{"median_lifetime_months": {cohort: x}, "survival_<t>m": {cohort: x}}`` with
    ``None`` where the figure is not yet known (median not reached, or the cohort has less than
    ``t`` months of follow-up).

    Examples
    --------
    >>> s = pd.DataFrame({"cohort": ["2025Q1"], "median": [np.inf], "survival_12m": [0.8123456]})
    >>> cohort_metrics(s, cohorts=["2025Q1", "2025Q2"])
    {'median_lifetime_months': {'2025Q1': None, '2025Q2': None}, 'survival_12m': {'2025Q1': 0.8123, '2025Q2': None}}
    """
    col = f"survival_{_fmt_t(t)}m"
    idx = summary.set_index(cohort_col)

    def val(c, name):
        if c not in idx.index or name not in idx:
            return None
        v = float(idx.loc[c, name])
        return round(v, 4) if np.isfinite(v) else None

    cohorts = list(cohorts)
    return {"median_lifetime_months": {c: val(c, "median") for c in cohorts},
            f"survival_{_fmt_t(t)}m": {c: val(c, col) for c in cohorts}}


def latest_mature_survival(summary: pd.DataFrame, lifetimes: pd.DataFrame, *, months: float = 12,
                           history: int = 12) -> dict:
    """The ``months``-month survival of the latest mature quarterly cohort, with its 95% interval, and
    the same figure for the cohorts before it (for comparisons and trend lines).

    Returns ``{"survival_12m_latest_cohort", "survival_12m_latest", "survival_12m_latest_lo",
    "survival_12m_latest_hi", "survival_12m_by_cohort": {cohort: x}}`` (``None`` where unknown).

    Examples
    --------
    >>> s = pd.DataFrame({"cohort": ["2025Q1", "2025Q2"], "survival_12m": [0.8, 0.9],
    ...                   "survival_12m_lo": [0.7, 0.85], "survival_12m_hi": [0.88, 0.94]})
    >>> lt = pd.DataFrame({"cohort": ["2025Q1", "2025Q2"], "follow_up": [15.0, 12.2]})
    >>> m = latest_mature_survival(s, lt)
    >>> m["survival_12m_latest_cohort"], m["survival_12m_latest"], m["survival_12m_by_cohort"]
    ('2025Q2', 0.9, {'2025Q1': 0.8, '2025Q2': 0.9})
    """
    name = f"survival_{_fmt_t(months)}m"
    mature = mature_cohorts(lifetimes, months=months, last=history)
    idx = summary.set_index("cohort")

    def val(c, col):
        if c not in idx.index or col not in idx:
            return None
        v = float(idx.loc[c, col])
        return round(v, 4) if np.isfinite(v) else None

    latest = mature[-1] if mature else None
    return {f"{name}_latest_cohort": latest, f"{name}_latest": val(latest, name),
            f"{name}_latest_lo": val(latest, f"{name}_lo"), f"{name}_latest_hi": val(latest, f"{name}_hi"),
            f"{name}_by_cohort": {c: val(c, name) for c in mature}}


# --------------------------------------------------------------------------------------------
# tests of difference
# --------------------------------------------------------------------------------------------

def logrank(data: pd.DataFrame, *, by, duration_col: str = "duration", event_col: str = "event",
            weight_col: str | None = None) -> pd.DataFrame:
    """Multivariate log-rank test of equal survival across the groups of ``by``.

    Returns
    -------
    DataFrame
        One row: ``groups`` (number), ``test_statistic`` (chi-square), ``df``, ``p``.

    Examples
    --------
    >>> lt = pd.DataFrame({"g": ["a"] * 4 + ["b"] * 4, "duration": [1, 2, 3, 4, 5, 6, 7, 8],
    ...                    "event": [1] * 8})
    >>> logrank(lt, by="g")[["groups", "df"]].to_dict("records")
    [{'groups': 2, 'df': 1}]
    """
    d = _keyed(data, by)
    res = multivariate_logrank_test(d[duration_col].to_numpy(dtype=float), d["_key"],
                                    d[event_col].to_numpy(dtype=bool),
                                    weights=None if weight_col is None else d[weight_col].to_numpy(dtype=float))
    k = d["_key"].nunique()
    return pd.DataFrame([{"groups": int(k), "test_statistic": float(res.test_statistic),
                          "df": int(k - 1), "p": float(res.p_value)}])


def pairwise_logrank(data: pd.DataFrame, *, by, duration_col: str = "duration",
                     event_col: str = "event", weight_col: str | None = None,
                     method: str = "holm") -> pd.DataFrame:
    """Log-rank test for every pair of groups, with a multiple-comparison correction.

    Returns
    -------
    DataFrame
        ``group_a, group_b, test_statistic, p, p_adj`` (Holm by default, via statsmodels).

    Examples
    --------
    >>> lt = pd.DataFrame({"g": list("aaabbbccc"), "duration": [1, 2, 3, 4, 5, 6, 7, 8, 9],
    ...                    "event": [1] * 9})
    >>> pairwise_logrank(lt, by="g")[["group_a", "group_b"]].values.tolist()
    [['a', 'b'], ['a', 'c'], ['b', 'c']]
    """
    d = _keyed(data, by)
    keys = sorted(d["_key"].unique(), key=_sort_key)
    parts = {k: d[d["_key"] == k] for k in keys}
    rows = []
    for a, b in itertools.combinations(keys, 2):
        A, B = parts[a], parts[b]
        res = logrank_test(A[duration_col].to_numpy(dtype=float), B[duration_col].to_numpy(dtype=float),
                           A[event_col].to_numpy(dtype=bool), B[event_col].to_numpy(dtype=bool),
                           weights_A=None if weight_col is None else A[weight_col].to_numpy(dtype=float),
                           weights_B=None if weight_col is None else B[weight_col].to_numpy(dtype=float))
        rows.append({"group_a": a, "group_b": b, "test_statistic": float(res.test_statistic),
                     "p": float(res.p_value)})
    out = pd.DataFrame(rows, columns=["group_a", "group_b", "test_statistic", "p"])
    out["p_adj"] = multipletests(out["p"], method=method)[1] if len(out) else []
    return out


def difference_sentences(data: pd.DataFrame, *, by: str, at: float = 6,
                         duration_col: str = "duration", event_col: str = "event",
                         weight_col: str | None = None, alpha: float = 0.05,
                         noun: str = "accounts", pairs: Iterable[tuple] | None = None,
                         max_groups: int = 10, min_accounts: int = 20) -> list[str]:
    """Plain-sentence results of the log-rank tests across the groups of ``by``.

    The first sentence reports the overall (multivariate) test; then one sentence per pair
    (Holm-corrected), saying which group retains better at ``at`` months when the difference is
    significant at ``alpha``. ``pairs=[]`` gives the overall test only.

    Blank values are a group (:data:`~churnlab.stats.BLANK_LABEL`). When every pair is wanted
    (``pairs=None``) and there are more than ``max_groups`` groups (a column with a thousand cities),
    the groups with fewer than ``min_accounts`` accounts beyond the ``max_groups - 1`` largest are
    pooled as :data:`~churnlab.stats.OTHER_LABEL` first, and a last sentence says so.

    Examples
    --------
    >>> lt = pd.DataFrame({"era": ["before"] * 6 + ["after"] * 6,
    ...                    "duration": [1, 1, 2, 3, 8, 9, 7, 8, 9, 10, 11, 12],
    ...                    "event": [1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0]})
    >>> difference_sentences(lt, by="era", at=6, noun="accounts")[1]
    'Accounts after retain better at 6 months than accounts before (100.0% vs 33.3% still active; p = 0.018, log-rank).'
    """
    pairs = None if pairs is None else list(pairs)
    data = _fill_groups(data, by)
    groups = list(dict.fromkeys(_keyed(data, by)["_key"]))
    note = []
    if pairs is None and len(groups) > max_groups:
        w0 = data[weight_col].to_numpy(dtype=float) if weight_col else None
        pooled = group_rare_levels(data[by], weights=w0, min_count=min_accounts, max_levels=max_groups)
        n_pooled = len(set(data[by].astype(str)) - set(pooled))
        data = data.assign(**{by: pooled.to_numpy()})
        groups = list(dict.fromkeys(data[by]))
        if n_pooled:
            note = [f"The {n_pooled:,} smaller {by} values are compared as one group, \"{OTHER_LABEL}\"."]
    if len(groups) < 2 and (note or groups == [OTHER_LABEL]):
        return [f"Survival cannot be compared across {by}: no {by} value has {min_accounts} accounts or more."]
    if len(groups) < 2:
        return [f"Survival cannot be compared across {by}: every account has the same value"
                + (f" ({groups[0]})." if groups else ".")]
    w = data[weight_col].to_numpy(dtype=float) if weight_col else np.ones(len(data))
    if float(w[data[event_col].to_numpy(dtype=bool)].sum()) == 0:
        return [f"No account churned in any {by} group, so there is no difference in survival to test."]
    overall = logrank(data, by=by, duration_col=duration_col, event_col=event_col,
                      weight_col=weight_col).iloc[0]
    pw = pairwise_logrank(data, by=by, duration_col=duration_col, event_col=event_col,
                          weight_col=weight_col) if pairs is None or pairs else \
        pd.DataFrame(columns=["group_a", "group_b", "test_statistic", "p", "p_adj"])
    summ = survival_summary(fit_km(data, by=by, duration_col=duration_col, event_col=event_col,
                                   weight_col=weight_col), times=[at], horizon=0)
    s_at = dict(zip(summ[by], summ[f"survival_{_fmt_t(at)}m"]))
    n = int(overall["groups"])
    verdict = "differs" if overall["p"] < alpha else "does not clearly differ"
    what = "signups before and after the change" if by == "era" else str(by).replace("_", " ")
    out = [f"Survival {verdict} {'across' if by == 'era' else 'by'} {what} ({n} groups; "
           f"log-rank chi-square = {overall['test_statistic']:.1f} on {int(overall['df'])} df, "
           f"{format_p(overall['p'])})."]
    wanted = None if pairs is None else {frozenset(p) for p in pairs}
    for r in pw.itertuples(index=False):
        if wanted is not None and frozenset((r.group_a, r.group_b)) not in wanted:
            continue
        sa, sb = s_at.get(r.group_a, np.nan), s_at.get(r.group_b, np.nan)
        adj = " after Holm correction" if len(pw) > 1 else ""
        if r.p_adj < alpha and np.isfinite(sa) and np.isfinite(sb) and sa != sb:
            hi, lo, shi, slo = (r.group_a, r.group_b, sa, sb) if sa > sb else \
                (r.group_b, r.group_a, sb, sa)
            out.append(f"{noun[:1].upper()}{noun[1:]} {hi} retain better at {_fmt_t(at)} months than {noun} {lo} "
                       f"({pct(shi)} vs {pct(slo)} still active; {format_p(r.p_adj)}{adj}, log-rank).")
        else:
            out.append(f"No clear difference between {noun} {r.group_a} and {noun} {r.group_b} "
                       f"({pct(sa)} vs {pct(sb)} still active at {_fmt_t(at)} months; "
                       f"{format_p(r.p_adj)}{adj}, log-rank).")
    return out + note


def describe_steps(summary: pd.DataFrame, *, by: str, times) -> list[str]:
    """One sentence per group: the share still active at each of ``times`` (months), from
    :func:`survival_summary` output; a time the group's customers have not reached yet says so.

    Examples
    --------
    >>> s = pd.DataFrame({"contract": ["annual"], "survival_11.5m": [1.0], "survival_12.5m": [np.nan]})
    >>> describe_steps(s, by="contract", times=[11.5, 12.5])
    ['annual: 100.0% still active at 11.5 months; not reached yet at 12.5 months.']
    """
    out = []
    for _, r in summary.iterrows():
        parts = []
        for t in times:
            v = r.get(f"survival_{_fmt_t(t)}m")
            parts.append(f"{pct(v)} still active at {_fmt_t(t)} months" if v is not None and np.isfinite(v)
                         else f"not reached yet at {_fmt_t(t)} months")
        out.append(f"{r[by]}: " + "; ".join(parts) + ".")
    return out


# --------------------------------------------------------------------------------------------
# retention triangles
# --------------------------------------------------------------------------------------------

def retention_matrix(data: pd.DataFrame, *, cohort_col: str = "cohort", max_months: int | None = None,
                     duration_col: str = "duration", event_col: str = "event",
                     follow_col: str = "follow_up") -> pd.DataFrame:
    """Logo retention triangle: share of each signup cohort still active ``m`` months after signup.

    A cell is shown only when every account of the cohort has been followed for ``m`` months
    (the cohort's last signup is at least ``m`` months before the end of the analysis date), which
    gives the classic triangle. "Active at ``m``" means a lifetime longer than ``m`` months.

    Returns
    -------
    DataFrame
        ``cohort, months, accounts, active, retained`` (``retained = active / accounts``).

    Examples
    --------
    >>> lt = pd.DataFrame({"cohort": ["A", "A", "B"], "duration": [0.5, 3.0, 1.5],
    ...                    "event": [True, False, False], "follow_up": [3.0, 3.0, 1.5]})
    >>> retention_matrix(lt)
      cohort  months  accounts  active  retained
    0      A       0         2       2       1.0
    1      A       1         2       1       0.5
    2      A       2         2       1       0.5
    3      A       3         2       1       0.5
    4      B       0         1       1       1.0
    5      B       1         1       1       1.0
    """
    rows = []
    for cohort, part in data.groupby(cohort_col, sort=True, observed=True):
        dur = part[duration_col].to_numpy(dtype=float)
        ev = part[event_col].to_numpy(dtype=bool)
        last = int(np.floor(part[follow_col].min() + 1e-9))
        if max_months is not None:
            last = min(last, max_months)
        n = len(part)
        for m in range(0, last + 1):
            active = int(((dur > m) | (~ev & (dur >= m))).sum())
            rows.append((cohort, m, n, active, active / n))
    return pd.DataFrame(rows, columns=[cohort_col, "months", "accounts", "active", "retained"])


def revenue_retention_matrix(data: pd.DataFrame, subscriptions: pd.DataFrame, *, as_of,
                             cohort_col: str = "cohort", max_months: int | None = None,
                             id_col: str = "account_id", month_col: str = "month",
                             mrr_col: str = "mrr") -> pd.DataFrame:
    """Revenue retention triangle: each cohort's MRR ``m`` months after signup over its MRR in the
    signup month. Expansion counts, so values above 1 (100%) are possible.

    Month 0 is the calendar month of signup; a cell is shown only when that month plus ``m`` for
    the cohort's latest signup is a month that has ended by the analysis date.

    Returns
    -------
    DataFrame
        ``cohort, months, accounts, mrr_start, mrr, retained`` (``retained = mrr / mrr_start``).

    Examples
    --------
    >>> lt = pd.DataFrame({"account_id": ["a", "b"], "cohort": ["2025Q1"] * 2,
    ...                    "signup_date": pd.to_datetime(["2025-01-10", "2025-01-20"])})
    >>> subs = pd.DataFrame({"account_id": ["a", "a", "b", "a"],
    ...                      "month": pd.to_datetime(["2025-01-01", "2025-02-01", "2025-01-01", "2025-03-01"]),
    ...                      "mrr": [100.0, 120.0, 100.0, 150.0]})
    >>> revenue_retention_matrix(lt, subs, as_of="2025-02-28")
       cohort  months  accounts  mrr_start    mrr  retained
    0  2025Q1       0         2      200.0  200.0       1.0
    1  2025Q1       1         2      200.0  120.0       0.6
    """
    day = analysis_date(as_of)
    last_month = _month_index(day + pd.Timedelta(days=1)) - 1  # last month that has ended
    acc = data[[id_col, cohort_col, "signup_date"]].copy()
    acc["m0"] = _month_index(pd.to_datetime(acc["signup_date"]))
    subs = subscriptions[[id_col, month_col, mrr_col]].copy()
    subs["mi"] = _month_index(pd.to_datetime(subs[month_col]))
    subs = subs[subs["mi"] <= last_month]
    s = subs.merge(acc, on=id_col, how="inner")
    s["months"] = s["mi"] - s["m0"]
    s = s[s["months"] >= 0]
    mrr = s.groupby([cohort_col, "months"], observed=True)[mrr_col].sum()
    rows = []
    for cohort, part in acc.groupby(cohort_col, sort=True, observed=True):
        last = int(last_month - part["m0"].max())
        if max_months is not None:
            last = min(last, max_months)
        start = float(mrr.get((cohort, 0), 0.0))
        for m in range(0, last + 1):
            v = float(mrr.get((cohort, m), 0.0))
            rows.append((cohort, m, len(part), start, v, v / start if start > 0 else np.nan))
    return pd.DataFrame(rows, columns=[cohort_col, "months", "accounts", "mrr_start", "mrr", "retained"])


# --------------------------------------------------------------------------------------------
# Cox proportional hazards
# --------------------------------------------------------------------------------------------

def fit_cox(data: pd.DataFrame, *, covariates, duration_col: str = "duration",
            event_col: str = "event", weight_col: str | None = None, strata=None,
            reference: Mapping | None = None, penalizer: float = 0.0,
            alpha: float = 0.05, drop_terms: Iterable[str] = ()) -> CoxPHFitter:
    """Fit a lifelines ``CoxPHFitter`` on chosen account columns.

    Categorical columns (text, category, bool) are one-hot coded against a reference level (the
    most common one unless ``reference`` names a level present in the data); the coded columns are
    called ``"<column>=<level>"``; blanks are a level of their own
    (:data:`~churnlab.stats.BLANK_LABEL`). Numeric columns enter as they are.

    This is the plain fit: it raises lifelines' errors on data it cannot fit. A notebook calls
    :func:`fit_cox_safely`, which prepares the covariates first and never raises.

    Parameters
    ----------
    covariates : list of str
        Account columns to model.
    strata : list of str, optional
        Columns to stratify on instead of modelling (each level gets its own baseline hazard):
        the usual remedy when a column fails the proportional-hazards check.
    drop_terms : iterable of str, optional
        Coded terms (``"<column>=<level>"`` or numeric columns) left out of the model.
    weight_col : str, optional
        Frequency weights (accounts per row). lifelines' Efron handling of tied times treats a
        weighted row slightly differently from the same number of separate rows, so fit on one
        row per account when the coefficients must match an unweighted fit exactly.

    Returns
    -------
    CoxPHFitter
        Fitted; ``churnlab_reference`` holds the reference level of each categorical column and
        ``churnlab_data`` the design frame it was fitted on (for :func:`ph_check`).

    Examples
    --------
    >>> from lifelines.datasets import load_rossi
    >>> cph = fit_cox(load_rossi(), covariates=["fin", "age", "prio"], duration_col="week",
    ...               event_col="arrest")
    >>> round(float(cph.hazard_ratios_["prio"]), 3)
    1.102
    """
    covariates, strata = _as_list(covariates), _as_list(strata)
    reference = dict(reference or {})
    cols = [duration_col, event_col] + ([weight_col] if weight_col else [])
    design = data[cols].copy()
    design[event_col] = design[event_col].astype(bool)
    refs = {}
    for c in covariates:
        x = data[c]
        if _is_categorical(x):
            x = _blank_filled(x).astype(str)
            ref = reference.get(c)
            if ref is None or str(ref) not in set(x):   # absent from this data: the most common level
                ref = x.value_counts().idxmax()
            ref = str(ref)
            refs[c] = ref
            for level in sorted(x.unique(), key=_sort_key):
                if level != ref:
                    design[f"{c}={level}"] = (x == level).astype(float).to_numpy()
        else:
            design[c] = x.astype(float).to_numpy()
    design = design.drop(columns=[t for t in drop_terms if t in design.columns])
    for c in strata:
        design[c] = _blank_filled(data[c]).astype(str).to_numpy()
    design = design.dropna()
    cph = CoxPHFitter(penalizer=penalizer, alpha=alpha)
    cph.fit(design, duration_col=duration_col, event_col=event_col, weights_col=weight_col,
            strata=strata or None, robust=False)
    cph.churnlab_reference = refs
    cph.churnlab_data = design
    return cph



@dataclass
class CoxResult:
    """The outcome of :func:`fit_cox_safely`.

    Attributes
    ----------
    model : CoxPHFitter or None
        The fitted model; ``None`` when no model could be fitted.
    message : str
        One sentence for readers: why there is no model, or what was changed to fit one
        (columns left out, levels pooled, a penalised fit); empty when nothing needed saying.
    covariates, strata : list of str
        The columns the model uses.
    reference : dict
        Reference level of each categorical covariate.
    dropped : dict
        Column or coded term -> why it was left out.
    pooled : dict
        Column -> number of rare levels pooled into :data:`~churnlab.stats.OTHER_LABEL`.
    penalizer : float
        The ridge penalty of the fit (0 for a plain fit).
    """

    model: CoxPHFitter | None
    message: str = ""
    covariates: list = field(default_factory=list)
    strata: list = field(default_factory=list)
    reference: dict = field(default_factory=dict)
    dropped: dict = field(default_factory=dict)
    pooled: dict = field(default_factory=dict)
    penalizer: float = 0.0

    @property
    def fitted(self) -> bool:
        return self.model is not None


def fit_cox_safely(data: pd.DataFrame, *, covariates, duration_col: str = "duration",
                   event_col: str = "event", weight_col: str | None = None, strata=None,
                   reference: Mapping | None = None, min_accounts: int = 20, min_events: int = 5,
                   max_levels: int = 10, min_total_events: int = 10, max_missing: float = 0.2,
                   penalizers=(0.1, 1.0), alpha: float = 0.05) -> CoxResult:
    """A Cox model that any company's accounts can be given: it prepares the covariates, falls back
    to a penalised fit, and returns a sentence instead of raising.

    The preparation, column by column:

    * a column absent from ``data``, all blank, or with a single value is left out;
    * a numeric column missing for more than ``max_missing`` of the accounts is left out (below
      that, the accounts without it are left out of the model);
    * in a categorical column, blanks are a level (:data:`~churnlab.stats.BLANK_LABEL`), levels
      with fewer than ``min_accounts`` accounts or ``min_events`` churns are pooled into
      :data:`~churnlab.stats.OTHER_LABEL`, and at most ``max_levels`` levels are kept (the largest),
      so a 1,000-level column fits in a second and no level is perfectly separated by having no
      churn;
    * the **reference level** is the one ``reference`` names when it is in the data (and not
      pooled); otherwise the best-retained level (fewest churns per account-month) among the levels
      with at least ``min_events`` churns, so every hazard ratio reads "churns N times as fast as the
      best-retained group";
    * coded terms that are constant or collinear with the terms before them (two columns that say
      the same thing) are left out;
    * then the model is fitted; on a convergence failure, or coefficients that diverge
      (quasi-separation), it is refitted with each ridge penalty of ``penalizers`` in turn.

    Returns
    -------
    CoxResult
        ``model`` is ``None`` when there are fewer than ``min_total_events`` churns, no usable
        covariate, or every fit failed; ``message`` then says why in one sentence.

    Examples
    --------
    >>> lt = pd.DataFrame({"duration": [1.0, 2, 3, 4], "event": [False] * 4, "segment": list("abab")})
    >>> fit_cox_safely(lt, covariates=["segment"]).message
    'The churn-driver model is not fitted: no account churned, so there is nothing to explain.'
    """
    covariates, strata = _as_list(covariates), _as_list(strata)
    reference = dict(reference or {})
    w = data[weight_col].to_numpy(dtype=float) if weight_col else np.ones(len(data))
    ev = data[event_col].to_numpy(dtype=bool)
    dur = data[duration_col].to_numpy(dtype=float)
    total = float(w[ev].sum())
    res = CoxResult(model=None)
    if total == 0:
        res.message = "The churn-driver model is not fitted: no account churned, so there is nothing to explain."
        return res
    if total < min_total_events:
        res.message = (f"The churn-driver model is not fitted: {total:,.0f} churned account"
                       f"{'s' if total != 1 else ''} are too few to estimate hazard ratios "
                       f"(at least {min_total_events} are needed).")
        return res
    prepared = pd.DataFrame(index=data.index)
    kinds, refs = {}, {}
    for c in list(dict.fromkeys(covariates + strata)):
        is_stratum = c in strata
        if c not in data.columns:
            res.dropped[c] = "not in the data"
            continue
        x = data[c]
        if _is_categorical(x):
            x = _blank_filled(x).astype(str)
            if x.nunique() < 2:
                res.dropped[c] = "a single value"
                continue
            grouped = group_rare_levels(x, events=ev, weights=w, min_count=min_accounts,
                                        min_events=0 if is_stratum else min_events, max_levels=max_levels)
            n_pooled = len(set(x) - set(grouped))
            if n_pooled:
                res.pooled[c] = n_pooled
            x = grouped
            if x.nunique() < 2:
                res.pooled.pop(c, None)
                res.dropped[c] = f"no value with {min_accounts} accounts or more"
                continue
            kinds[c] = "cat"
            if not is_stratum:
                refs[c] = _choose_reference(x, dur, ev, w, reference.get(c), min_events)
        else:
            x = pd.to_numeric(x, errors="coerce").astype(float)
            miss = float(w[x.isna().to_numpy()].sum()) / float(w.sum())
            if x.notna().sum() == 0 or x.nunique() < 2:
                res.dropped[c] = "a single value" if x.notna().any() else "blank for every account"
                continue
            if miss > max_missing:
                res.dropped[c] = f"blank for {pct(miss, 0)} of the accounts"
                continue
            kinds[c] = "num"
        prepared[c] = x.to_numpy()
    covs = [c for c in covariates if c in kinds and c not in strata]
    strata_used = [c for c in strata if c in kinds]
    if not covs:
        res.message = ("The churn-driver model is not fitted: none of the columns "
                       f"{_join(covariates) if covariates else '(none given)'} can be modelled"
                       + (f" ({_why(res.dropped)})." if res.dropped else "."))
        return res
    # coded design, then constant / collinear terms out
    frame = data[[duration_col, event_col] + ([weight_col] if weight_col else [])].copy()
    for c in covs + strata_used:
        frame[c] = prepared[c].to_numpy()
    cph = None
    try:
        design_cols = _coded_columns(frame, covs, refs)
        drop = _collinear_terms(design_cols, w)
        for term in drop:
            res.dropped[term] = "collinear with the other terms"
    except Exception:  # pragma: no cover - a design that cannot even be coded
        drop = []
    res.covariates, res.strata, res.reference = covs, strata_used, refs
    last_error = None
    for pen in (0.0, *penalizers):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                cph = fit_cox(frame, covariates=covs, duration_col=duration_col, event_col=event_col,
                              weight_col=weight_col, strata=strata_used or None, reference=refs,
                              penalizer=pen, alpha=alpha, drop_terms=drop)
        except Exception as exc:  # lifelines ConvergenceError, LinAlgError, ...
            last_error, cph = exc, None
            continue
        if _diverged(cph):
            last_error, cph = None, None
            continue
        res.penalizer = pen
        break
    res.model = cph
    if cph is None:
        why = "the estimates do not converge" + ("" if last_error is None else
                                                  f" ({type(last_error).__name__})")
        res.message = (f"The churn-driver model is not fitted: {why} even with a penalty, usually because "
                       "the churned accounts are too few for the columns modelled.")
        return res
    res.message = _cox_message(res)
    return res


def _choose_reference(x: pd.Series, dur, ev, w, wanted, min_events) -> str:
    levels = set(x)
    if wanted is not None and str(wanted) in levels and str(wanted) != OTHER_LABEL:
        return str(wanted)
    t = pd.Series(dur * w, index=x.index).groupby(x).sum()
    e = pd.Series(ev * w, index=x.index).groupby(x).sum()
    n = pd.Series(w, index=x.index).groupby(x).sum()
    ok = e >= max(min_events, 1)
    cand = [lv for lv in t.index if ok[lv] and lv != OTHER_LABEL] or \
        [lv for lv in t.index if e[lv] > 0] or list(t.index)
    rate = (e / t.where(t > 0)).fillna(np.inf)
    return str(sorted(cand, key=lambda lv: (rate[lv], -n[lv], str(lv)))[0])


def _coded_columns(frame: pd.DataFrame, covs, refs) -> pd.DataFrame:
    out = {}
    for c in covs:
        if c in refs:
            x = frame[c].astype(str)
            for level in sorted(x.unique(), key=_sort_key):
                if level != refs[c]:
                    out[f"{c}={level}"] = (x == level).to_numpy(dtype=float)
        else:
            out[c] = pd.to_numeric(frame[c], errors="coerce").to_numpy(dtype=float)
    return pd.DataFrame(out, index=frame.index)


def _collinear_terms(design: pd.DataFrame, w, tol: float = 1e-8) -> list:
    """Coded terms that are constant or a linear combination of the terms before them."""
    X = design.to_numpy(dtype=float)
    ok = np.isfinite(X).all(axis=1)
    X, ww = X[ok], np.asarray(w, dtype=float)[ok]
    if not len(X):
        return []
    Xc = X - np.average(X, axis=0, weights=ww)
    G = (Xc * ww[:, None]).T @ Xc
    kept, drop = [], []
    for j, name in enumerate(design.columns):
        gjj = G[j, j]
        if gjj <= tol * max(1.0, ww.sum()):
            drop.append(name)
            continue
        if kept:
            K = np.array(kept)
            coef = np.linalg.lstsq(G[np.ix_(K, K)], G[K, j], rcond=None)[0]
            resid = gjj - G[j, K] @ coef
            if resid <= 1e-7 * gjj:
                drop.append(name)
                continue
        kept.append(j)
    return drop


def _diverged(cph, limit: float = 12.0) -> bool:
    """Quasi-separation: a coefficient running away (hazard ratio beyond e^12) or no standard error."""
    p = cph.params_.to_numpy(dtype=float)
    se = cph.standard_errors_.to_numpy(dtype=float)
    return bool(len(p)) and (not np.isfinite(p).all() or not np.isfinite(se).all()
                             or np.abs(p).max() > limit)


def _why(dropped: dict) -> str:
    return "; ".join(f"{k}: {v}" for k, v in dropped.items())


def _cox_message(res: CoxResult) -> str:
    parts = []
    if res.dropped:
        parts.append("leaves out " + _join([f"{_trait_names([k])} ({v})" for k, v in res.dropped.items()]))
    if res.pooled:
        parts.append("pools the rare values of " + _join([f"{_trait_names([c])} ({n:,})" for c, n in res.pooled.items()])
                     + f' as "{OTHER_LABEL}"')
    if res.penalizer:
        parts.append(f"is fitted with a ridge penalty ({res.penalizer:g}) because the plain fit does "
                     "not converge (usually a value with almost no churn), so its hazard ratios are "
                     "pulled towards 1")
    if not parts:
        return ""
    return "The churn-driver model " + _join(parts) + "."


def hazard_ratios(cph: CoxPHFitter) -> pd.DataFrame:
    """Hazard ratios with intervals as a readable table.

    Returns
    -------
    DataFrame
        ``covariate, column, level, reference, trait, versus, hazard_ratio, hazard_ratio_lo,
        hazard_ratio_hi, p, reading`` where ``trait`` and ``versus`` are the covariate and its reference
        as readers see them ("Plan: basic", "plus") and ``reading`` says it in words ("Plan: basic churns
        2.1x as fast as Plan: plus").

    Examples
    --------
    >>> from lifelines.datasets import load_rossi
    >>> hr = hazard_ratios(fit_cox(load_rossi(), covariates=["prio"], duration_col="week",
    ...                            event_col="arrest"))
    >>> hr[["covariate", "hazard_ratio"]].round(3).to_dict("records")
    [{'covariate': 'prio', 'hazard_ratio': 1.106}]
    """
    cph = _model_of(cph)
    if cph is None:
        return pd.DataFrame(columns=["covariate", "column", "level", "reference", "trait", "versus", "hazard_ratio",
                                     "hazard_ratio_lo", "hazard_ratio_hi", "p", "reading"])
    s = cph.summary
    refs = getattr(cph, "churnlab_reference", {})
    lo_col = [c for c in s.columns if c.startswith("exp(coef) lower")][0]
    hi_col = [c for c in s.columns if c.startswith("exp(coef) upper")][0]
    rows = []
    for name, r in s.iterrows():
        col, _, level = name.partition("=")
        ref = refs.get(col) if level else None
        hr = float(r["exp(coef)"])
        if level:   # as the table names them: "Fits the ideal customer profile: no churns 1.7x as fast as
            # Fits the ideal customer profile: yes", not "icp_fit False ... icp_fit True"
            reading = f"{trait(col, level)} churns {_times(hr)} {trait(col, ref)}"
        else:
            reading = f"each extra unit of {col} multiplies the churn rate by {hr:.3g}"
        rows.append({"covariate": name, "column": col, "level": level or None, "reference": ref,
                     "trait": trait(col, level or None),
                     "versus": level_word(ref) if ref is not None else None,
                     "hazard_ratio": hr, "hazard_ratio_lo": float(r[lo_col]),
                     "hazard_ratio_hi": float(r[hi_col]), "p": float(r["p"]),
                     "reading": f"{reading} ({format_p(float(r['p']))})"})
    return pd.DataFrame(rows)


def ph_check(cph: CoxPHFitter, data: pd.DataFrame | None = None, *,
             time_transform: str = "rank") -> pd.DataFrame:
    """Proportional-hazards test per covariate (scaled Schoenfeld residuals, lifelines).

    Returns
    -------
    DataFrame
        ``covariate, column, test_statistic, p``; a small ``p`` means the covariate's effect
        changes over the lifetime (its hazard ratio is not constant).

    Examples
    --------
    >>> from lifelines.datasets import load_rossi
    >>> cph = fit_cox(load_rossi(), covariates=["age", "prio"], duration_col="week",
    ...               event_col="arrest")
    >>> ph_check(cph)["covariate"].tolist()
    ['age', 'prio']
    """
    cph = _model_of(cph)
    empty = pd.DataFrame(columns=["covariate", "column", "test_statistic", "p"])
    if cph is None:
        return empty
    data = getattr(cph, "churnlab_data", None) if data is None else data
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = proportional_hazard_test(cph, data, time_transform=time_transform)
    except Exception:  # a degenerate fit (e.g. penalised, one stratum per account): no check
        return empty
    s = res.summary
    return pd.DataFrame({"covariate": s.index.astype(str),
                         "column": [c.partition("=")[0] for c in s.index.astype(str)],
                         "test_statistic": s["test_statistic"].to_numpy(dtype=float),
                         "p": s["p"].to_numpy(dtype=float)}).reset_index(drop=True)


def ph_violations(check: pd.DataFrame, *, alpha: float = 0.01) -> list[str]:
    """Columns (not coded levels) whose proportional-hazards test has ``p < alpha``.

    Examples
    --------
    >>> ph_violations(pd.DataFrame({"column": ["contract", "segment"], "p": [1e-9, 0.4]}))
    ['contract']
    """
    if check is None or check.empty:
        return []
    bad = check.loc[check["p"].astype(float) < alpha, "column"]
    return list(dict.fromkeys(bad))


def describe_ph(check: pd.DataFrame, *, alpha: float = 0.01, strata=None) -> str:
    """The proportional-hazards check in one or two sentences.

    ``strata``: the columns the checked model is stratified by (the refit after a first check), so
    that the sentences speak of that model and do not read as contradicting the first check's.

    Examples
    --------
    >>> describe_ph(pd.DataFrame({"covariate": ["contract=monthly", "segment=small"],
    ...                           "column": ["contract", "segment"], "p": [1e-9, 0.4]}))
    'The effect of contract changes with account age (proportional-hazards test p < 0.001), so its hazard ratio is an average over the lifetime; the model is refitted stratified by contract. Segment meets the assumption.'
    >>> describe_ph(pd.DataFrame({"covariate": ["segment=small"], "column": ["segment"], "p": [0.4]}),
    ...             strata=["contract"])
    'Stratified by contract, every other covariate meets the proportional-hazards assumption (no test with p < 0.01), so each hazard ratio shown holds across the lifetime.'
    """
    if check is None or check.empty:
        return "The proportional-hazards check is not available for this model."
    from .i18n import t as tr   # each sentence in the report language on its own

    bad = ph_violations(check, alpha=alpha)
    good = [c for c in dict.fromkeys(check["column"]) if c not in bad]
    within = _trait_names(strata) if strata else ""
    if not bad:
        if within:
            return tr("Stratified by {trait}, every other covariate meets the proportional-hazards assumption "
                      "(no test with p < {alpha}), so each hazard ratio shown holds across the lifetime.",
                      trait=within, alpha=f"{alpha:g}")
        return tr("Every covariate meets the proportional-hazards assumption (no test with p < {alpha}), so each "
                  "hazard ratio holds across the lifetime.", alpha=f"{alpha:g}")
    p = format_p(check.loc[check["column"].isin(bad), "p"].min())[2:]   # "< 0.001", "= 0.004"
    cols = _trait_names(bad)
    one = len(bad) == 1
    if within:   # the refit is the model shown: it is not refitted again
        text = tr("Stratified by {trait}, the effect of {trait2} still changes with account age "
                  "(proportional-hazards test p {p}), so its hazard ratio is an average over the lifetime." if one else
                  "Stratified by {trait}, the effect of {trait2} still change with account age "
                  "(proportional-hazards test p {p}), so their hazard ratios are averages over the lifetime.",
                  trait=within, trait2=cols, p=p)
    else:
        text = tr("The effect of {trait} changes with account age (proportional-hazards test p {p}), so its hazard "
                  "ratio is an average over the lifetime; the model is refitted stratified by {trait2}." if one else
                  "The effect of {trait} change with account age (proportional-hazards test p {p}), so their hazard "
                  "ratios are averages over the lifetime; the model is refitted stratified by {trait2}.",
                  trait=cols, trait2=cols, p=p)
    if good:
        names = _trait_names(good)
        names = names[:1].upper() + names[1:]
        text += " " + (tr("{trait} meets the assumption.", trait=names) if len(good) == 1 else
                       tr("{traits} meet the assumption.", traits=names))
    return text


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------

def _as_list(x) -> list:
    if x is None:
        return []
    return [x] if isinstance(x, str) else list(x)


def _model_of(cph):
    """The lifelines fitter of a :class:`CoxResult` (or the fitter itself; ``None`` stays ``None``)."""
    return cph.model if isinstance(cph, CoxResult) else cph


def _keyed(data: pd.DataFrame, by) -> pd.DataFrame:
    by = _as_list(by)
    if not by:
        raise ValueError("a test of difference needs a `by` column")
    d = _fill_groups(data.copy(), by)
    d["_key"] = d[by[0]] if len(by) == 1 else d[by].astype(str).agg(" · ".join, axis=1)
    return d


def _blank_filled(x: pd.Series) -> pd.Series:
    """A categorical column with its blanks as :data:`~churnlab.stats.BLANK_LABEL` (unchanged
    when it has none; numeric columns are never touched)."""
    if not _is_categorical(x) or pd.api.types.is_bool_dtype(x):
        return x
    blank = x.isna().to_numpy() | x.astype(object).map(lambda v: isinstance(v, str) and not v.strip()).to_numpy(bool)
    if not blank.any():
        return x
    return pd.Series(fill_blank(x).astype(str).to_numpy(), index=x.index, name=x.name)


def _fill_groups(data: pd.DataFrame, by) -> pd.DataFrame:
    """``data`` with blank group values labelled, so no group is left out of a fit or a test."""
    cols = [c for c in _as_list(by) if c in data.columns]
    filled = {c: _blank_filled(data[c]) for c in cols}
    changed = {c: v for c, v in filled.items() if v is not data[c]}
    return data.assign(**changed) if changed else data


def _with_group(frame: pd.DataFrame, kmf) -> pd.DataFrame:
    group = getattr(kmf, "churnlab_group", None)
    if group is None:
        group = {"group": kmf._label}
    for i, (k, v) in enumerate(group.items()):
        frame.insert(i, k, v)
    return frame


def _num(x):
    x = float(x)
    return int(x) if x.is_integer() else x


def _fmt_t(t) -> str:
    t = float(t)
    return str(int(t)) if t.is_integer() else f"{t:g}"


def _month_index(dates):
    d = pd.to_datetime(dates)
    if isinstance(d, pd.Timestamp):
        return d.year * 12 + d.month - 1
    d = pd.Series(d)
    return (d.dt.year * 12 + d.dt.month - 1).to_numpy()


def _is_categorical(x: pd.Series) -> bool:
    return (x.dtype == object or isinstance(x.dtype, pd.CategoricalDtype)
            or pd.api.types.is_bool_dtype(x) or pd.api.types.is_string_dtype(x))


def _sort_key(v):
    return (0, v, "") if isinstance(v, (int, float, np.integer, np.floating)) else (1, 0, str(v))


def _times(hr: float) -> str:
    if hr >= 1:
        return f"{hr:.2g}x as fast as" if hr < 10 else f"{hr:.0f}x as fast as"
    return f"{1 / hr:.2g}x more slowly than"


def _trait_names(columns) -> str:
    """Account traits as a reader names them, in a list: "contract, fits the ideal customer profile and MRR"
    (in a Japanese report "契約形態、業種")."""
    from .i18n import report_language

    names = [str(readable_header(c)) for c in columns]
    if report_language() == "ja":
        return "、".join(names)
    names = [n if n[1:2].isupper() else n[:1].lower() + n[1:] for n in names]   # "MRR" stays as it is
    return _join(names)


def _join(items) -> str:
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
