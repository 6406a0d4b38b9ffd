"""Survival pictures: Kaplan-Meier curves with bands and at-risk counts, cohort trends, retention
triangles and hazard-ratio forest plots.

Every helper takes the tidy output of :mod:`churnlab.survival`, draws on ``ax`` (or a new figure)
and returns the Axes (an array of Axes for grids).
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import matplotlib.ticker as mticker
import numpy as np
import pandas as pd
from matplotlib import transforms

from ._style import group_colors, literal_text

__all__ = ["plot_km", "plot_km_grid", "add_at_risk_table", "plot_cohort_trend",
           "plot_retention_heatmap", "plot_hazard_ratios"]

_CURVE_COLS = ["time", "survival", "survival_lo", "survival_hi", "at_risk", "events", "censored"]
_AT_RISK_COLS = ["time", "at_risk", "events", "censored"]


def _group_cols(frame: pd.DataFrame, known) -> list[str]:
    return [c for c in frame.columns if c not in known]


def _hue_series(frame: pd.DataFrame, hue, known) -> pd.Series:
    cols = [hue] if isinstance(hue, str) else (list(hue) if hue else _group_cols(frame, known))
    if not cols:
        return pd.Series("all", index=frame.index)
    if len(cols) == 1:
        return frame[cols[0]].astype(str)
    return frame[cols].astype(str).agg(" · ".join, axis=1)


def _colors(levels, palette=None):
    levels = list(levels)
    if isinstance(palette, dict):
        return {k: palette.get(k, "grey") for k in levels}
    if palette is None and levels and len(levels) <= 10:
        return group_colors(levels)
    if palette is None:
        palette = "tab10" if len(levels) <= 10 else "viridis"
    cmap = plt.get_cmap(palette)
    if getattr(cmap, "N", 256) <= 20:
        return {k: cmap(i % cmap.N) for i, k in enumerate(levels)}
    return {k: cmap(x) for k, x in zip(levels, np.linspace(0.05, 0.9, len(levels)))}


@literal_text
def plot_km(curves: pd.DataFrame, *, hue=None, at_risk: pd.DataFrame | None = None,
            ci: bool = True, ax=None, palette=None, max_time: float | None = None,
            xlabel: str = "Months since signup", ylabel: str = "Share still active",
            title: str | None = None, legend: bool = True, ylim=(0, 1.02)):
    """Kaplan-Meier curves with confidence bands, and the at-risk table under the axis.

    Parameters
    ----------
    curves : DataFrame
        :func:`churnlab.survival.survival_curves` output.
    hue : str or list of str, optional
        Group column(s) naming each curve; default all group columns.
    at_risk : DataFrame, optional
        :func:`churnlab.survival.at_risk_table` output for the same groups; its counts are written
        under the x axis at its times (only when there are at most 8 curves).
    ci : bool
        Draw the pointwise confidence bands.
    ylim : tuple
        y range; zoom in (e.g. ``(0.7, 1.01)``) when the curves stay high.

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> from churnlab.survival import fit_km, survival_curves, at_risk_table
    >>> lt = pd.DataFrame({"g": ["a", "a", "b", "b"], "duration": [1, 3, 2, 4], "event": [1, 0, 1, 1]})
    >>> fits = fit_km(lt, by="g")
    >>> ax = plot_km(survival_curves(fits), at_risk=at_risk_table(fits, times=[0, 2, 4]))
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 4.5))
    data = curves if max_time is None else curves[curves["time"] <= max_time]
    keys = _hue_series(data, hue, _CURVE_COLS)
    levels = list(dict.fromkeys(keys))
    colors = _colors(levels, palette)
    for level in levels:
        part = data[keys == level].sort_values("time")
        t = part["time"].to_numpy()
        ax.step(t, part["survival"], where="post", color=colors[level], lw=1.8, label=level)
        if ci:
            ax.fill_between(t, part["survival_lo"], part["survival_hi"], step="post",
                            color=colors[level], alpha=0.15, lw=0)
    ax.set_ylim(*ylim)
    ax.yaxis.set_major_formatter(mticker.PercentFormatter(1.0))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_xlim(left=0, right=max_time if max_time is not None else None)
    ax.grid(alpha=0.3)
    if title:
        ax.set_title(title)
    if legend and len(levels) > 1:
        ax.legend(frameon=False, fontsize=8, ncol=1 if len(levels) <= 8 else 2,
                  loc="lower left" if len(levels) <= 8 else "upper left",
                  bbox_to_anchor=None if len(levels) <= 8 else (1.01, 1.0))
    if at_risk is not None and len(levels) <= 8:
        add_at_risk_table(ax, at_risk, hue=hue, colors=colors)
    return ax


@literal_text
def add_at_risk_table(ax, at_risk: pd.DataFrame, *, hue=None, colors=None, fontsize: float = 8):
    """Write accounts at risk under the x axis of a KM plot, one row per curve.

    Uses churnlab's own at-risk table (weighted counts of lifetimes >= t), never lifelines'.

    Returns
    -------
    matplotlib Axes
    """
    keys = _hue_series(at_risk, hue, _AT_RISK_COLS)
    levels = list(dict.fromkeys(keys))
    colors = colors or _colors(levels)
    trans = transforms.blended_transform_factory(ax.transData, ax.transAxes)
    lo, hi = ax.get_xlim()
    top = -0.2
    long = max((len(str(v)) for v in levels), default=0) > 14
    ax.text(-0.05, top, "At risk", transform=ax.transAxes, ha="right", va="top",
            fontsize=fontsize, fontweight="bold")
    # the months the counts are taken at, as the table's header (they need not be the axis ticks)
    for t in sorted({float(v) for v in at_risk["time"] if lo - 1e-9 <= v <= hi + 1e-9}):
        ax.text(t, top, f"{t:g}", transform=trans, ha="center", va="top", fontsize=fontsize,
                color="#627d98", fontweight="bold")
    for i, level in enumerate(levels):
        y = top - 0.075 * (i + 1)
        part = at_risk[keys == level]
        # long names are left to the legend: the row is marked by its colour only
        ax.text(-0.05, y, "\u25ac\u25ac" if long else str(level), transform=ax.transAxes,
                ha="right", va="top", fontsize=fontsize, color=colors.get(level, "black"))
        for t, n in zip(part["time"], part["at_risk"]):
            if lo - 1e-9 <= t <= hi + 1e-9:
                ax.text(t, y, f"{int(round(n)):,}", transform=trans, ha="center", va="top",
                        fontsize=fontsize)
    return ax


@literal_text
def plot_km_grid(curves: pd.DataFrame, *, col: str, hue: str, at_risk: pd.DataFrame | None = None,
                 col_wrap: int = 3, height: float = 3.6, palette=None,
                 max_time: float | None = None, ci: bool = True, title: str | None = None):
    """Small multiples: one KM panel per value of ``col`` (e.g. segment), one curve per ``hue``
    (e.g. signup cohort), from one :func:`churnlab.survival.fit_km` call over both columns.

    Returns
    -------
    numpy array of matplotlib Axes

    Examples
    --------
    >>> from churnlab.survival import fit_km, survival_curves
    >>> lt = pd.DataFrame({"s": list("xxyy"), "c": list("abab"), "duration": [1, 3, 2, 4],
    ...                    "event": [1, 0, 1, 1]})
    >>> axes = plot_km_grid(survival_curves(fit_km(lt, by=["c", "s"])), col="s", hue="c")
    """
    panels = list(dict.fromkeys(curves[col]))
    ncol = min(col_wrap, len(panels))
    nrow = int(np.ceil(len(panels) / ncol))
    extra = 0.35 * (len(dict.fromkeys(curves[hue])) + 1) if at_risk is not None else 0
    fig, axes = plt.subplots(nrow, ncol, figsize=(ncol * height * 1.35, nrow * (height + extra)),
                             squeeze=False, sharey=True)
    colors = _colors(list(dict.fromkeys(curves[hue])), palette)
    for ax, p in zip(axes.flat, panels):
        plot_km(curves[curves[col] == p], hue=hue, ci=ci, ax=ax, palette=colors,
                max_time=max_time, title=str(p), legend=False,
                at_risk=None if at_risk is None else at_risk[at_risk[col] == p])
    for ax in axes.flat[len(panels):]:
        ax.set_visible(False)
    handles = [plt.Line2D([], [], color=c, lw=2) for c in colors.values()]
    top = 1.0 + 0.02 * nrow
    fig.legend(handles, list(colors), loc="upper center", ncol=min(len(colors), 8), frameon=False,
               fontsize=8, bbox_to_anchor=(0.5, top))
    fig.tight_layout(h_pad=extra * 3)
    if title:   # above the legend; the figure is saved with a tight bounding box
        fig.suptitle(title, y=top + 0.1 / nrow, fontsize=13, fontweight="bold")
    return axes


@literal_text
def plot_cohort_trend(summary: pd.DataFrame, *, value: str = "survival_12m", x: str = "cohort",
                      hue: str | None = None, ax=None, ylabel: str | None = None,
                      percent: bool | None = None, title: str | None = None):
    """A summary figure per cohort with its interval: is retention getting better?

    Parameters
    ----------
    summary : DataFrame
        :func:`churnlab.survival.survival_summary` output (any frame with ``value``,
        ``value_lo``, ``value_hi``).
    value : str
        e.g. ``"survival_12m"``, ``"median"``, ``"rmst_24m"``. Missing or infinite values
        (not yet observable, or median not reached) are left out.

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> s = pd.DataFrame({"cohort": ["2025Q1", "2025Q2"], "survival_12m": [0.8, 0.85],
    ...                   "survival_12m_lo": [0.75, 0.8], "survival_12m_hi": [0.85, 0.9]})
    >>> ax = plot_cohort_trend(s)
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 4))
    percent = value.startswith("survival") if percent is None else percent
    order = list(dict.fromkeys(summary[x].astype(str)))
    pos = {k: i for i, k in enumerate(order)}
    groups = [(None, summary)] if hue is None else list(summary.groupby(hue, sort=False))
    colors = _colors([g for g, _ in groups])
    width = 0.6
    for j, (g, part) in enumerate(groups):
        part = part[np.isfinite(part[value].astype(float))]
        off = 0 if len(groups) == 1 else (j - (len(groups) - 1) / 2) * width / len(groups)
        xs = np.array([pos[str(k)] for k in part[x]]) + off
        y = part[value].to_numpy(dtype=float)
        lo = part.get(f"{value}_lo", part[value]).to_numpy(dtype=float)
        hi = part.get(f"{value}_hi", part[value]).to_numpy(dtype=float)
        hi = np.where(np.isfinite(hi), hi, y)
        lo = np.where(np.isfinite(lo), lo, y)
        ax.errorbar(xs, y, yerr=[np.clip(y - lo, 0, None), np.clip(hi - y, 0, None)], fmt="o-", color=colors[g], capsize=3, lw=1.2,
                    ms=5, label=None if g is None else str(g))
    ax.set_xticks(range(len(order)))
    ax.set_xticklabels(order, rotation=45 if len(order) > 8 else 0, ha="right" if len(order) > 8 else "center")
    if len(order) > 24:
        for i, lab in enumerate(ax.get_xticklabels()):
            lab.set_visible(i % max(1, len(order) // 12) == 0)
    if percent:
        ax.yaxis.set_major_formatter(mticker.PercentFormatter(1.0))
    ax.set_xlabel("Signup cohort" if x == "cohort" else x)
    ax.set_ylabel(ylabel or value.replace("_", " "))
    ax.grid(alpha=0.3)
    if hue is not None:
        ax.legend(frameon=False, fontsize=8)
    if title:
        ax.set_title(title)
    return ax


@literal_text
def plot_retention_heatmap(matrix: pd.DataFrame, *, value: str = "retained",
                           cohort_col: str = "cohort", ax=None, annot: bool = True,
                           cmap: str = "YlGnBu", vmin: float | None = None, vmax: float | None = None,
                           title: str | None = None, max_months: int | None = None):
    """The classic retention triangle: cohorts down, months since signup across, % retained.

    Parameters
    ----------
    matrix : DataFrame
        :func:`churnlab.survival.retention_matrix` or ``revenue_retention_matrix`` output.
    vmin, vmax : float, optional
        Colour scale; default from the lowest value (rounded down to 10%) to 100%, or to the largest
        value when revenue retention exceeds it.

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> m = pd.DataFrame({"cohort": ["A", "A", "B"], "months": [0, 1, 0], "retained": [1.0, 0.8, 1.0]})
    >>> ax = plot_retention_heatmap(m)
    """
    data = matrix if max_months is None else matrix[matrix["months"] <= max_months]
    grid = data.pivot(index=cohort_col, columns="months", values=value)
    if ax is None:
        _, ax = plt.subplots(figsize=(max(6, 0.45 * grid.shape[1] + 2), max(3, 0.32 * grid.shape[0] + 1.5)))
    values = grid.to_numpy(dtype=float)
    top = vmax if vmax is not None else max(1.0, float(np.nanmax(values)) if grid.size else 1.0)
    vmin = vmin if vmin is not None else (np.floor(10 * float(np.nanmin(values))) / 10 if grid.size else 0.0)
    vmin = min(vmin, top - 0.1)
    im = ax.imshow(grid.to_numpy(dtype=float), aspect="auto", cmap=cmap, vmin=vmin, vmax=top)
    ax.set_xticks(range(grid.shape[1]))
    ax.set_xticklabels(grid.columns, fontsize=8)
    ax.set_yticks(range(grid.shape[0]))
    ax.set_yticklabels(grid.index, fontsize=8)
    ax.set_xlabel("Months since signup")
    ax.set_ylabel("Signup cohort")
    ax.grid(False)
    if annot and grid.size <= 900:
        vals = grid.to_numpy(dtype=float)
        for (i, j), v in np.ndenumerate(vals):
            if np.isfinite(v):
                shade = (v - vmin) / (top - vmin) if top > vmin else 0
                ax.text(j, i, f"{100 * v:.0f}", ha="center", va="center", fontsize=6.5,
                        color="white" if shade > 0.6 else "black")
    cb = ax.figure.colorbar(im, ax=ax, fraction=0.03, pad=0.01)
    cb.ax.yaxis.set_major_formatter(mticker.PercentFormatter(1.0))
    if title:
        ax.set_title(title)
    return ax


@literal_text
def plot_hazard_ratios(hr: pd.DataFrame, *, ax=None, title: str | None = None):
    """Forest plot of hazard ratios with intervals, on a log scale (1 = no effect).

    Parameters
    ----------
    hr : DataFrame
        :func:`churnlab.survival.hazard_ratios` output.

    Returns
    -------
    matplotlib Axes

    Examples
    --------
    >>> hr = pd.DataFrame({"covariate": ["plan=basic"], "reference": ["plus"],
    ...                    "hazard_ratio": [2.0], "hazard_ratio_lo": [1.5], "hazard_ratio_hi": [2.6]})
    >>> ax = plot_hazard_ratios(hr)
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 0.45 * len(hr) + 1.5))
    d = hr.iloc[::-1].reset_index(drop=True)
    names = d["trait"] if "trait" in d else d["covariate"]
    refs = d["versus"] if "versus" in d else d.get("reference", pd.Series([None] * len(d)))
    labels = [f"{c}  (vs {r})" if isinstance(r, str) and r else c for c, r in zip(names, refs)]
    y = np.arange(len(d))
    col = np.where(d["hazard_ratio"] >= 1, "#c0392b", "#2471a3")
    x = d["hazard_ratio"].to_numpy(dtype=float)
    ax.errorbar(x, y, xerr=[np.nan_to_num(np.clip(x - d["hazard_ratio_lo"].to_numpy(dtype=float), 0, None)),
                            np.nan_to_num(np.clip(d["hazard_ratio_hi"].to_numpy(dtype=float) - x, 0, None))],
                fmt="none", ecolor="grey", capsize=3)
    ax.scatter(d["hazard_ratio"], y, c=col, zorder=3)
    ax.axvline(1, color="black", lw=0.8, ls="--")
    ax.set_xscale("log")
    lo = float(np.nanmin(d["hazard_ratio_lo"])) if len(d) else 0.5
    hi = float(np.nanmax(d["hazard_ratio_hi"])) if len(d) else 2.0
    ticks = [t for t in (0.1, 0.2, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 4, 6, 10, 20) if lo / 1.3 <= t <= hi * 1.3]
    ax.set_xticks(ticks or [1])
    ax.xaxis.set_minor_formatter(mticker.NullFormatter())
    ax.xaxis.set_major_formatter(mticker.FuncFormatter(lambda v, _: f"{v:g}×"))
    ax.set_yticks(y)
    ax.set_yticklabels(labels, fontsize=9)
    ax.set_xlabel("Hazard ratio (churn rate relative to the reference; log scale)")
    ax.grid(alpha=0.3, axis="x")
    if title:
        ax.set_title(title)
    return ax
