"""Charts of churn reasons (tidy output of :mod:`churnlab.reasons`).

Every helper takes a frame produced by :mod:`churnlab.reasons`, draws on ``ax`` (a new figure when
``None``) and returns the Axes. Reader-facing names come from the frames' ``label`` column, which
the analysis functions fill from the taxonomy in the requested language.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ._style import group_colors, literal_text, new_ax, percent_axis

__all__ = ["plot_reason_shares", "plot_reason_trend", "plot_reason_heatmap", "plot_participation",
           "plot_reweighted_shares", "plot_competitor_trend"]

_BLUE, _ORANGE, _GREY = "#4c78a8", "#f58518", "#9d9d9d"
_PALETTE = ["#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#b279a2", "#ff9da6", "#9d755d",
            "#bab0ac", "#eeca3b"]


def _xerr(value, lo, hi):
    """Error-bar lengths below and above ``value``, never negative (a 100% or 0% point estimate and
    its rounded Wilson bound can cross by a hair) and 0 where a bound is unknown."""
    v = np.asarray(value, dtype=float)
    below = np.clip(v - np.asarray(lo, dtype=float), 0, None)
    above = np.clip(np.asarray(hi, dtype=float) - v, 0, None)
    return [np.nan_to_num(below), np.nan_to_num(above)]


@literal_text
def plot_reason_shares(data: pd.DataFrame, *, ax=None, title: str | None = None, mrr: bool = True,
                       hide_empty: bool = True):
    """Horizontal bars: share of responding churned accounts per reason, with 95% Wilson whiskers;
    a diamond marks each reason's share of the MRR lost.

    Parameters
    ----------
    data : DataFrame
        :func:`churnlab.reasons.reason_shares` output for one group (``label, share, share_lo,
        share_hi, k, mrr_share``).
    mrr : bool
        Also mark the share of MRR lost.
    hide_empty : bool
        Leave out reasons nobody gave.

    Examples
    --------
    >>> plot_reason_shares(reason_shares(frame, taxonomy=tax, quarter="2026Q3"))  # doctest: +SKIP
    """
    d = data[data["k"] > 0] if hide_empty else data
    d = d.sort_values(["share", "label"], ascending=[True, False])
    ax = new_ax(ax, figsize=(9, 0.42 * len(d) + 1.4))
    y = np.arange(len(d))
    ax.barh(y, d["share"], color=_BLUE, alpha=0.85, label="share of responding churned accounts")
    ax.errorbar(d["share"], y, xerr=_xerr(d["share"], d["share_lo"], d["share_hi"]),
                fmt="none", ecolor="#333333", elinewidth=1, capsize=3, label="95% interval")
    if mrr and "mrr_share" in d:
        ax.scatter(d["mrr_share"], y, marker="D", s=36, color=_ORANGE, zorder=3, label="share of MRR lost")
    for yi, (share, k) in enumerate(zip(d["share"], d["k"])):
        ax.text(0.002, yi, f" {k}", va="center", ha="left", fontsize=8, color="white")
    ax.set_yticks(y)
    ax.set_yticklabels(d["label"].astype(str))
    percent_axis(ax, axis="x")
    top = float(np.nanmax(np.r_[d["share_hi"].to_numpy(dtype=float), d.get("mrr_share", d["share"]).to_numpy(dtype=float)])) if len(d) else 1
    ax.set_xlim(0, min(1, top * 1.1 + 0.02))
    ax.set_xlabel("")
    ax.legend(frameon=False, loc="lower right", fontsize=8)
    if title:
        ax.set_title(title)
    return ax


@literal_text
def plot_reason_trend(data: pd.DataFrame, *, reasons=None, ax=None, title: str | None = None,
                      highlight=None, bands: bool = True):
    """Share of responding churned accounts by quarter, one line per reason, with 95% bands.

    Parameters
    ----------
    data : DataFrame
        :func:`churnlab.reasons.reason_trend` output (``quarter, reason, label, share, share_lo, share_hi``).
    reasons : list of str, optional
        Reason codes to draw (default: the five most frequent over the window).
    highlight : list of str, optional
        Reason codes drawn thick, the others thin and grey.

    Examples
    --------
    >>> plot_reason_trend(reason_trend(frame, taxonomy=tax, quarter="2026Q3"))  # doctest: +SKIP
    """
    if reasons is None:
        tot = data.groupby("reason")["k"].sum().sort_values(ascending=False)
        reasons = [r for r in tot.index if tot[r] > 0][:5]
    highlight = set(highlight or [])
    quarters = [str(q) for q in (data["quarter"].cat.categories if hasattr(data["quarter"], "cat")
                                 else sorted(data["quarter"].astype(str).unique()))]
    ax = new_ax(ax, figsize=(10, 4.5))
    x = np.arange(len(quarters))
    for i, r in enumerate(reasons):
        d = data[data["reason"] == r].set_index(data.loc[data["reason"] == r, "quarter"].astype(str)).reindex(quarters)
        faded = highlight and r not in highlight
        color = _GREY if faded else _PALETTE[i % len(_PALETTE)]
        lw = 1.2 if faded else 2.4 if r in highlight else 1.8
        ax.plot(x, d["share"].to_numpy(dtype=float), marker="o", ms=3.5, lw=lw, color=color,
                label=str(d["label"].dropna().iloc[0]) if d["label"].notna().any() else r)
        if bands and not faded:
            ax.fill_between(x, d["share_lo"].to_numpy(dtype=float), d["share_hi"].to_numpy(dtype=float),
                            color=color, alpha=0.12, lw=0)
    ax.set_xticks(x)
    ax.set_xticklabels(quarters)
    percent_axis(ax)
    ax.set_ylim(bottom=0)
    ax.set_ylabel("share of responding churned accounts")
    ax.legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    if title:
        ax.set_title(title)
    return ax


@literal_text
def plot_reason_heatmap(data: pd.DataFrame, *, group: str = "segment", ax=None, title: str | None = None,
                        min_share: float = 0.0):
    """Reason x group heat map of shares (each column = one group's responders, adds to 100%).

    Parameters
    ----------
    data : DataFrame
        :func:`churnlab.reasons.reason_shares` output with ``by=group``.
    min_share : float
        Leave out reasons whose largest share is below this.

    Examples
    --------
    >>> plot_reason_heatmap(reason_shares(frame, taxonomy=tax, by="segment"), group="segment")  # doctest: +SKIP
    """
    import seaborn as sns
    d = data.copy()
    d[group] = d[group].astype(str)
    order = sorted(set(d[group]))
    piv = d.pivot_table(index="label", columns=group, values="share", aggfunc="first", sort=False)[order]
    piv = piv[piv.max(axis=1) > min_share]
    piv = piv.loc[piv.mean(axis=1).sort_values(ascending=False).index]
    n = d.drop_duplicates(group).set_index(group)["n"]
    ax = new_ax(ax, figsize=(1.3 * len(order) + 4, 0.42 * len(piv) + 1.5))
    sns.heatmap(piv, annot=piv.map(lambda v: f"{100 * v:.0f}%"), fmt="", cmap="Blues", vmin=0, cbar=False,
                linewidths=0.5, ax=ax)
    ax.set_xticklabels([f"{g}\n(n = {int(n.get(g, 0))})" for g in order], rotation=0)
    ax.set_xlabel("")
    ax.set_ylabel("")
    ax.tick_params(axis="x", labeltop=True, labelbottom=False, top=False)
    if title:
        ax.set_title(title)
    return ax


@literal_text
def plot_participation(data: pd.DataFrame, *, group: str | None = None, ax=None, title: str | None = None):
    """Participation rate (completed / invited) with 95% whiskers against the shaded target band.

    Parameters
    ----------
    data : DataFrame
        :func:`churnlab.reasons.participation` output (``rate, rate_lo, rate_hi, k, n, target_lo,
        target_hi``), one row per ``group`` value, or a single row.

    Examples
    --------
    >>> plot_participation(participation(frame, by="format", quarter="2026Q3"), group="format")  # doctest: +SKIP
    """
    d = data.copy()
    names = d[group].astype(str).tolist() if group else ["all"]
    ax = new_ax(ax, figsize=(8, 0.45 * len(d) + 1.4))
    y = np.arange(len(d))
    lo, hi = float(d["target_lo"].iloc[0]), float(d["target_hi"].iloc[0])
    ax.axvspan(lo, hi, color="#54a24b", alpha=0.12, lw=0, label=f"target {lo:.0%}-{hi:.0%}")
    palette = group_colors([str(g) for g in names])
    colors = [palette[str(g)] for g in names]
    ax.barh(y, d["rate"], color=colors, alpha=0.85)
    ax.errorbar(d["rate"], y, xerr=_xerr(d["rate"], d["rate_lo"], d["rate_hi"]), fmt="none",
                ecolor="#333333", elinewidth=1, capsize=3)
    for yi, (r, k, n) in enumerate(zip(d["rate"], d["k"], d["n"])):
        hi = float(d["rate_hi"].iloc[yi])
        text = f"{r:.0%} ({k}/{n})" if np.isfinite(r) else "nobody invited"   # as the theme chart writes it
        ax.text(hi + 0.03 if np.isfinite(hi) else 0.01, yi, text, va="center", fontsize=8)   # clear of the cap
    ax.set_yticks(y)
    ax.set_yticklabels(names)
    percent_axis(ax, axis="x")
    ax.set_xlim(0, 1.32)   # room right of 100% for the labels; the axis reads 0-100%
    ax.set_xticks([0, 0.2, 0.4, 0.6, 0.8, 1.0])
    ax.spines["right"].set_visible(False)
    ax.legend(frameon=False, loc="upper center", bbox_to_anchor=(0.4, -0.12), fontsize=8)
    if title:
        ax.set_title(title)
    return ax


@literal_text
def plot_reweighted_shares(data: pd.DataFrame, *, ax=None, title: str | None = None):
    """Raw against non-response re-weighted reason shares (a dot pair per reason).

    Parameters
    ----------
    data : DataFrame
        :func:`churnlab.reasons.reweighted_shares` output (``label, share, share_reweighted``).
    """
    d = data[(data["share"] > 0) | (data["share_reweighted"] > 0)].sort_values("share")
    ax = new_ax(ax, figsize=(8, 0.4 * len(d) + 1.4))
    y = np.arange(len(d))
    ax.hlines(y, d[["share", "share_reweighted"]].min(axis=1), d[["share", "share_reweighted"]].max(axis=1),
              color=_GREY, lw=1.5)
    ax.scatter(d["share"], y, color=_BLUE, s=40, zorder=3, label="as answered")
    ax.scatter(d["share_reweighted"], y, color=_ORANGE, s=40, marker="D", zorder=3,
               label="re-weighted for non-response")
    ax.set_yticks(y)
    ax.set_yticklabels(d["label"].astype(str))
    percent_axis(ax, axis="x")
    ax.set_xlim(left=0)
    ax.legend(frameon=False, loc="lower right", fontsize=8)
    if title:
        ax.set_title(title)
    return ax


@literal_text
def plot_competitor_trend(data: pd.DataFrame, *, top: int = 5, ax=None, title: str | None = None,
                          highlight=None):
    """Accounts lost to each named competitor by quarter (bars stacked by competitor).

    Parameters
    ----------
    data : DataFrame
        :func:`churnlab.reasons.reason_trend` output with ``level="competitor"`` (``quarter,
        reason`` = competitor, ``k``).
    top : int
        Competitors drawn individually; the rest are pooled as "others".
    """
    d = data.copy()
    d["quarter"] = d["quarter"].astype(str)
    quarters = [str(q) for q in (data["quarter"].cat.categories if hasattr(data["quarter"], "cat")
                                 else sorted(d["quarter"].unique()))]
    tot = d.groupby("reason")["k"].sum().sort_values(ascending=False)
    keep = [c for c in tot.index if tot[c] > 0][:top]
    d["who"] = d["reason"].where(d["reason"].isin(keep), "others")
    piv = d.pivot_table(index="quarter", columns="who", values="k", aggfunc="sum").reindex(quarters).fillna(0)
    piv = piv[[c for c in keep + ["others"] if c in piv.columns and piv[c].sum() > 0]]
    ax = new_ax(ax, figsize=(10, 4.2))
    bottom = np.zeros(len(piv))
    x = np.arange(len(piv))
    hl = set(highlight or [])
    for i, c in enumerate(piv.columns):
        color = _GREY if c == "others" else _PALETTE[i % len(_PALETTE)]
        ax.bar(x, piv[c].to_numpy(), bottom=bottom, color=color, alpha=1 if (not hl or c in hl) else 0.45,
               label=c, edgecolor="white", lw=0.5)
        bottom += piv[c].to_numpy()
    ax.set_xticks(x)
    ax.set_xticklabels(quarters)
    ax.set_ylabel("churned accounts lost to competitor")
    ax.legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    if title:
        ax.set_title(title)
    return ax
