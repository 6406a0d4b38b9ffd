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
    """A fraction as a percentage string: ``pct(0.1234) == '12.3%'``."""
    if x is None or not np.isfinite(x):
        return "n/a"
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
