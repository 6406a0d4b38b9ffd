"""Charts of the at-risk review (tidy output of :mod:`churnlab.risk`)."""
from __future__ import annotations

import pandas as pd

from ._style import label_step, literal_text, new_ax

__all__ = ["plot_auc_trend"]


@literal_text
def plot_auc_trend(data: pd.DataFrame, *, x: str = "period", y: str = "auc", ax=None, title: str | None = None):
    """ROC AUC per period with its 95% interval as whiskers (:func:`churnlab.risk.auc_trend`), the coin
    toss (0.5) dashed; period labels level and thinned (every second, third...) so that they never overlap.

    Examples
    --------
    >>> plot_auc_trend(risk.auc_trend(accounts, health, quarters))   # doctest: +SKIP
    """
    ax = new_ax(ax, figsize=(9, 3.5))
    d = data.reset_index(drop=True)
    pos = list(range(len(d)))
    v = d[y].astype(float)
    err = None
    if f"{y}_lo" in d and f"{y}_hi" in d:
        err = [(v - d[f"{y}_lo"].astype(float)).clip(lower=0), (d[f"{y}_hi"].astype(float) - v).clip(lower=0)]
    ax.errorbar(pos, v, yerr=err, marker="o", capsize=3, color="#4c78a8")
    ax.axhline(0.5, color="grey", lw=0.8, ls="--")
    labels = d[x].astype(str).tolist()
    step = label_step(ax, labels)
    ax.set_xticks(pos[::step])
    ax.set_xticklabels(labels[::step], rotation=0, ha="center")
    ax.set_xlim(-0.5, len(labels) - 0.5)
    ax.set_xlabel("")
    ax.set_ylabel("ROC AUC (95% CI)")
    if title:
        ax.set_title(title)
    return ax
