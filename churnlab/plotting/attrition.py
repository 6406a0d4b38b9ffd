"""Charts of attrition (tidy output of :mod:`churnlab.attrition`)."""
from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd

from ..presentation import readable_header
from ._style import group_colors, literal_text, new_ax, percent_axis

__all__ = ["plot_attrition_trend", "plot_attrition_by_group", "plot_reconciliation", "plot_revenue_attrition"]

@literal_text
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
    palette = group_colors([name for name, _ in groups if name is not None])
    for i, (name, d) in enumerate(groups):
        d = d.sort_values("period_start")
        color = palette.get(str(name), "#4c78a8") if name is not None else "#4c78a8"
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
        ax.legend(title=readable_header(hue), frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1))
    return ax


#: Most groups a bar chart of groups shows (the largest ones).
MAX_BARS = 20


@literal_text
def plot_attrition_by_group(data: pd.DataFrame, *, group: str, y: str = "attrition_rate", ax=None,
                            title: str | None = None):
    """Horizontal bars of one period's attrition by group, with 95% interval whiskers and counts.

    A column of many groups (a city, an account manager) shows its :data:`MAX_BARS` largest groups
    (by ``start_count``) and says so under the chart; the table and the data twin keep them all.
    """
    d = data.sort_values(y)
    shown_note = ""
    if len(d) > MAX_BARS and "start_count" in d:
        shown_note = f"; the {MAX_BARS} largest of {len(d):,} groups"
        d = d.nlargest(MAX_BARS, "start_count", keep="first").sort_values(y)
    ax = new_ax(ax, figsize=(8, 0.45 * len(d) + 1.2))
    palette = group_colors(d[group].astype(str).tolist())
    colors = [palette[str(g)] for g in d[group]]
    d = d.assign(**{y: d[y].astype(float), f"{y}_lo": d.get(f"{y}_lo", d[y]).astype(float),
                    f"{y}_hi": d.get(f"{y}_hi", d[y]).astype(float)})
    ax.barh(d[group].astype(str), d[y], color=colors, alpha=0.85)
    if f"{y}_lo" in d:
        ax.errorbar(d[y], d[group].astype(str), xerr=[(d[y] - d[f"{y}_lo"]).clip(lower=0),  # rounding noise at 0 %
                                       (d[f"{y}_hi"] - d[y]).clip(lower=0)],
                    fmt="none", ecolor="#333", capsize=3, lw=1)
    if "start_count" in d:
        top = float(np.nanmax(d[f"{y}_hi"].to_numpy())) if len(d) else 0.0
        for yi, (v, hi, n) in enumerate(zip(d[y], d[f"{y}_hi"], d["start_count"])):
            if np.isfinite(v) and v >= 0.15 * top:   # inside the bar
                ax.text(0, yi, f"  n={int(n):,}", va="center", ha="left", fontsize=9, color="white")
            else:   # a short or empty bar: beside its whisker, in the text colour
                x = hi if np.isfinite(hi) else (v if np.isfinite(v) else 0.0)
                ax.text(x, yi, f"  n={int(n):,}", va="center", ha="left", fontsize=9, color="#333333")
    percent_axis(ax, axis="x", decimals=0)
    ax.set_xlabel("attrition rate (95% interval)" + shown_note)
    ax.set_ylabel("")
    if title:
        ax.set_title(title)
    return ax


@literal_text
def plot_reconciliation(data: pd.DataFrame, *, period: str | None = None, ax=None, title: str | None = None):
    """Waterfall of one period's reconciliation (:func:`churnlab.attrition.reconciliation`).

    Bases (start, retained, end) are full bars; churned and the excluded flows float between them.
    ``period`` defaults to the last period in ``data``.

    Examples
    --------
    >>> plot_reconciliation(reconciliation(logo_attrition(accounts, grain="quarter")))  # doctest: +SKIP
    """
    period = period or data["period"].iloc[-1]
    d = data[data["period"] == period].sort_values("order")
    d = d[(d["sign"] == 0) | (d["count"] > 0)]
    ax = new_ax(ax, figsize=(9, 3.8))
    level = 0
    colors = {0: "#4c78a8", -1: "#e4572e", 1: "#54a24b"}
    for i, r in enumerate(d.itertuples(index=False)):
        if r.sign == 0:
            bottom, height, level = 0, r.count, r.count
        elif r.sign < 0:
            bottom, height = level - r.count, r.count
            level -= r.count
        else:
            bottom, height = level, r.count
            level += r.count
        ax.bar(i, height, bottom=bottom, color=colors[int(r.sign)], alpha=0.85 if r.sign == 0 else 0.75)
        sign = {0: "", -1: "\u2212", 1: "+"}[int(r.sign)]
        ax.text(i, bottom + height, f"{sign}{int(r.count):,}", ha="center", va="bottom", fontsize=9)
    ax.set_xticks(range(len(d)))
    ax.set_xticklabels([textwrap.fill(s, 14) for s in d["step"]], fontsize=9)
    ax.set_ylabel(str(d["measure"].iloc[0]) if len(d) else "")
    ax.set_title(title or f"Reconciliation, {period}")
    ax.margins(y=0.12)
    return ax


@literal_text
def plot_revenue_attrition(data: pd.DataFrame, *, ax=None, title: str | None = None, highlight=None):
    """Gross and net MRR churn and seat contraction per period (:func:`churnlab.attrition.revenue_long`).

    Examples
    --------
    >>> plot_revenue_attrition(revenue_long(mrr_movements(subscriptions, grain="quarter", ...)))  # doctest: +SKIP
    """
    ax = new_ax(ax, figsize=(10, 4.2))
    styles = {"gross MRR churn": ("#e4572e", "-"), "net MRR churn": ("#4c78a8", "-"),
              "seats removed (partial churn)": ("#b279a2", "--")}
    labels = None
    for name, d in data.groupby("measure", sort=False):
        d = d.sort_values("period_start")
        labels = d["period"].astype(str).tolist()
        color, ls = styles.get(name, ("#333", "-"))
        ax.plot(range(len(d)), d["rate"].to_numpy(dtype=float), marker="o", ms=3, lw=1.8, color=color, ls=ls,
                label=name)
    labels = labels or []
    ax.set_xticks(range(len(labels)))
    ax.set_xticklabels(labels, rotation=45, ha="right")
    for h in ([highlight] if isinstance(highlight, str) else list(highlight or [])):
        if h in labels:
            i = labels.index(h)
            ax.axvspan(i - 0.5, i + 0.5, color="#f2c94c", alpha=0.3, lw=0)
    ax.axhline(0, color="#999", lw=0.8)
    percent_axis(ax, decimals=1)
    ax.set_ylabel("share of starting MRR / seats")
    ax.legend(frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1))
    if title:
        ax.set_title(title)
    return ax
