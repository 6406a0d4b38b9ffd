"""Charts of attrition (tidy output of :mod:`churnlab.attrition`)."""
from __future__ import annotations

import pandas as pd

from ._style import SEGMENT_COLORS, new_ax, percent_axis

__all__ = ["plot_attrition_trend", "plot_attrition_by_group"]


def plot_attrition_trend(data: pd.DataFrame, *, x: str = "period", y: str = "attrition_rate",
                         hue: str | None = None, ax=None, title: str | None = None, highlight=None):
    """Attrition rate per period with its 95% interval as a band (one line per ``hue`` group).

    ``highlight`` is a period label or a list of them to shade (e.g. the reviewed quarter's months).

    Examples
    --------
    >>> from churnlab.attrition import logo_attrition       # doctest: +SKIP
    >>> plot_attrition_trend(logo_attrition(accounts, grain="month"))  # doctest: +SKIP
    """
    ax = new_ax(ax, figsize=(10, 4.2))
    groups = [(None, data)] if hue is None else list(data.groupby(hue, sort=True))
    for name, d in groups:
        d = d.sort_values("period_start")
        color = SEGMENT_COLORS.get(name) if name is not None else "#4c78a8"
        pos = range(len(d))
        ax.plot(list(pos), d[y].to_numpy(), marker="o", ms=3, lw=1.8, color=color,
                label=None if name is None else str(name))
        if f"{y}_lo" in d:
            ax.fill_between(list(pos), d[f"{y}_lo"].to_numpy(dtype=float), d[f"{y}_hi"].to_numpy(dtype=float),
                            color=color, alpha=0.15, lw=0)
    labels = groups[0][1].sort_values("period_start")[x].astype(str).tolist()
    step = max(1, len(labels) // 12)
    ax.set_xticks(range(0, len(labels), step))
    ax.set_xticklabels(labels[::step], rotation=45, ha="right")
    for h in ([highlight] if isinstance(highlight, str) else list(highlight or [])):
        if h in labels:
            i = labels.index(h)
            ax.axvspan(i - 0.5, i + 0.5, color="#f2c94c", alpha=0.3, lw=0)
    percent_axis(ax, decimals=1)
    ax.set_ylim(bottom=0)
    ax.set_xlabel("")
    ax.set_ylabel("attrition rate")
    if title:
        ax.set_title(title)
    if hue is not None:
        ax.legend(title=hue, frameon=False)
    return ax


def plot_attrition_by_group(data: pd.DataFrame, *, group: str, y: str = "attrition_rate", ax=None,
                            title: str | None = None):
    """Horizontal bars of one period's attrition by group, with 95% interval whiskers and counts."""
    d = data.sort_values(y)
    ax = new_ax(ax, figsize=(8, 0.45 * len(d) + 1.2))
    colors = [SEGMENT_COLORS.get(str(g), "#4c78a8") for g in d[group]]
    ax.barh(d[group].astype(str), d[y], color=colors, alpha=0.85)
    if f"{y}_lo" in d:
        ax.errorbar(d[y], d[group].astype(str), xerr=[d[y] - d[f"{y}_lo"], d[f"{y}_hi"] - d[y]],
                    fmt="none", ecolor="#333", capsize=3, lw=1)
    if "start_count" in d:
        for yi, (v, n) in enumerate(zip(d[y], d["start_count"])):
            ax.text(0, yi, f"  n={int(n):,}", va="center", ha="left", fontsize=9, color="white")
    percent_axis(ax, axis="x", decimals=0)
    ax.set_xlabel("attrition rate (95% interval)")
    ax.set_ylabel("")
    if title:
        ax.set_title(title)
    return ax
