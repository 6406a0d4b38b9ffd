"""Small statistics helpers shared by the analyses.

The estimators themselves come from statsmodels and scipy; this module only gives them the tidy,
vectorised shape the rest of churnlab uses, and turns p-values into plain sentences.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from statsmodels.stats.proportion import proportion_confint


def wilson_interval(successes, trials, *, alpha: float = 0.05):
    """Wilson score interval for a binomial proportion (statsmodels ``proportion_confint``).

    Vectorised over arrays; a zero denominator gives ``NaN`` bounds rather than an error.

    Parameters
    ----------
    successes, trials : array-like of int
    alpha : float
        One minus the confidence level.

    Returns
    -------
    (lo, hi) : tuple of numpy arrays

    Examples
    --------
    >>> lo, hi = wilson_interval(81, 263)
    >>> round(float(lo), 4), round(float(hi), 4)
    (0.2553, 0.3662)
    """
    k = np.asarray(successes, dtype=float)
    n = np.asarray(trials, dtype=float)
    safe_n = np.where(n > 0, n, 1.0)
    lo, hi = proportion_confint(k, safe_n, alpha=alpha, method="wilson")
    lo = np.where(n > 0, lo, np.nan)
    hi = np.where(n > 0, hi, np.nan)
    return lo, hi


def add_wilson(frame: pd.DataFrame, *, k_col: str, n_col: str, name: str,
               alpha: float = 0.05) -> pd.DataFrame:
    """Return a copy of ``frame`` with ``name`` = k/n and Wilson bounds ``name_lo``, ``name_hi``.

    Examples
    --------
    >>> df = pd.DataFrame({"k": [1, 0], "n": [4, 0]})
    >>> add_wilson(df, k_col="k", n_col="n", name="rate").round(4).to_dict("list")
    {'k': [1, 0], 'n': [4, 0], 'rate': [0.25, nan], 'rate_lo': [0.0456, nan], 'rate_hi': [0.6994, nan]}
    """
    out = frame.copy()
    k = out[k_col].to_numpy(dtype=float)
    n = out[n_col].to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        out[name] = np.where(n > 0, k / np.where(n > 0, n, 1.0), np.nan)
    out[f"{name}_lo"], out[f"{name}_hi"] = wilson_interval(k, n, alpha=alpha)
    return out


def format_p(p: float) -> str:
    """A p-value as readers expect it: ``p < 0.001``, ``p = 0.032``, ``p = 0.41``.

    Examples
    --------
    >>> format_p(0.00002), format_p(0.0321), format_p(0.41)
    ('p < 0.001', 'p = 0.032', 'p = 0.41')
    """
    if p is None or not np.isfinite(p):
        return "p not available"
    if p < 0.001:
        return "p < 0.001"
    if p < 0.01:
        return f"p = {p:.3f}"
    return f"p = {p:.3f}" if p < 0.1 else f"p = {p:.2f}"


def pct(x: float, digits: int = 1) -> str:
    """A fraction as a percentage string: ``pct(0.1234) == '12.3%'``; a missing value is a dash."""
    if x is None or not np.isfinite(x):
        return "–"
    return f"{100 * x:.{digits}f}%"


#: The one label of a blank categorical value (a segment, plan, region ... left empty in the export),
#: used by every analysis, table and chart, so blank rows stay in every group comparison and test.
BLANK_LABEL = "Not recorded"


def fill_blank(values) -> pd.Series:
    """A categorical column with blanks (missing or whitespace-only text) as :data:`BLANK_LABEL`.

    Examples
    --------
    >>> fill_blank(pd.Series(["SMB", None, " ", float("nan")])).tolist()
    ['SMB', 'Not recorded', 'Not recorded', 'Not recorded']
    """
    s = pd.Series(values).astype(object)
    blank = s.isna() | s.map(lambda v: isinstance(v, str) and not v.strip())
    return s.where(~blank, BLANK_LABEL)


#: The label of the pooled rare levels of a categorical column (see :func:`group_rare_levels`).
OTHER_LABEL = "Other"


def group_rare_levels(values, *, events=None, weights=None, min_count: float = 20, min_events: float = 0,
                      max_levels: int = 10, other: str = OTHER_LABEL) -> pd.Series:
    """A categorical column with its rare levels pooled into one ``other`` level.

    Tests and models over a column with hundreds of levels (a city, a reseller) are slow, have cells
    too small for their p-values to mean anything, and cannot be read; so the levels are pooled
    first. Blanks become :data:`BLANK_LABEL` (a group never disappears from a test). A level is rare
    when it has fewer than ``min_count`` rows (or total ``weights``) or fewer than ``min_events``
    events; then at most ``max_levels`` levels are kept: the largest ``max_levels - 1`` and the
    pooled level. A single rare level is not renamed (pooling it alone would only hide its name).

    Parameters
    ----------
    values : array-like
        The column.
    events : array-like of bool or float, optional
        Outcome per row (churned or not) counted towards ``min_events``.
    weights : array-like of float, optional
        Frequency weights per row (accounts per aggregated row).
    min_count, min_events : float
        Thresholds of a level kept on its own.
    max_levels : int
        Most levels in the result (at least 2).
    other : str
        Name of the pooled level (merged with an existing level of that name).

    Returns
    -------
    Series of str (object dtype), aligned with ``values``.

    Examples
    --------
    >>> s = pd.Series(["a"] * 30 + ["b"] * 25 + ["c"] * 3 + ["d"] * 2 + [None])
    >>> group_rare_levels(s, min_count=20).value_counts().to_dict()
    {'a': 30, 'b': 25, 'Other': 6}
    >>> group_rare_levels(s, min_count=1, max_levels=3).value_counts().to_dict()
    {'a': 30, 'b': 25, 'Other': 6}
    """
    s = fill_blank(values).astype(str)
    w = pd.Series(1.0 if weights is None else np.asarray(weights, dtype=float), index=s.index)
    size = w.groupby(s).sum()
    rare = size < min_count
    if events is not None:
        ev = pd.Series(np.asarray(events, dtype=float), index=s.index) * w
        rare |= ev.groupby(s).sum().reindex(size.index, fill_value=0.0) < min_events
    kept = size[~rare].sort_values(ascending=False, kind="stable")
    max_levels = max(int(max_levels), 2)
    if rare.any() or len(kept) > max_levels:
        kept = kept.iloc[:max_levels - 1] if len(kept) >= max_levels else kept
    pooled = [lv for lv in size.index if lv not in kept.index]
    if len(pooled) <= 1:
        return s.astype(object)
    return s.where(s.isin(kept.index), other).astype(object)
