"""Charts of exit-verbatim sentiment, tone and themes; and the Japanese font all charts fall back to."""
from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd

from ._style import literal_text, new_ax, percent_axis, twin_data

__all__ = ["register_cjk_font", "plot_sentiment_by_reason", "plot_label_shares", "plot_tone_shares",
           "plot_mentions"]

_LABEL_COLORS = {"negative": "#d62728", "neutral": "#9e9e9e", "positive": "#2ca02c"}
_TONE_COLORS = {"frustrated": "#b2182b", "respectful": "#4c78a8", "neutral": "#bdbdbd"}
_TONE_NAMES = {"frustrated": "Frustrated / bitter", "respectful": "Disappointed but respectful",
               "neutral": "Neutral"}
_CJK_FAMILY = None


def register_cjk_font() -> str | None:
    """Make Japanese text render as glyphs in every chart; returns the font family used.

    Registers IPAexGothic (IPA Font License; shipped inside the ``matplotlib-fontja`` package) or,
    failing that, a Noto / IPA CJK font installed on the system, and appends it to ``font.family`` as the
    fallback so Latin text keeps the house font and Japanese characters fall back to it.
    Idempotent.

    Examples
    --------
    >>> register_cjk_font() in ("IPAexGothic", "Noto Sans CJK JP", "IPAGothic", None)
    True
    """
    global _CJK_FAMILY
    from matplotlib import font_manager

    if _CJK_FAMILY is None:
        candidates = []
        saved = matplotlib.rcParams["font.family"]
        try:
            import importlib.util
            from pathlib import Path
            spec = importlib.util.find_spec("matplotlib_fontja")   # ships ipaexg.ttf
            if spec is not None and spec.submodule_search_locations:
                for loc in spec.submodule_search_locations:
                    candidates += sorted(Path(loc).glob("fonts/*.ttf"))
        except Exception:
            pass
        matplotlib.rcParams["font.family"] = saved
        for path in candidates:
            try:
                font_manager.fontManager.addfont(str(path))
                _CJK_FAMILY = font_manager.FontProperties(fname=str(path)).get_name()
                break
            except Exception:
                continue
        if _CJK_FAMILY is None:
            names = {f.name for f in font_manager.fontManager.ttflist}
            for fam in ("IPAexGothic", "Noto Sans CJK JP", "IPAGothic", "TakaoGothic"):
                if fam in names:
                    _CJK_FAMILY = fam
                    break
    if _CJK_FAMILY:
        import logging
        # the Japanese font has no bold face; matplotlib uses the regular one, which is fine
        logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)
        # matplotlib falls back glyph by glyph across the entries of font.family
        fams = matplotlib.rcParams["font.family"]
        fams = [fams] if isinstance(fams, str) else list(fams)
        if _CJK_FAMILY not in fams:
            matplotlib.rcParams["font.family"] = fams + [_CJK_FAMILY]
    return _CJK_FAMILY


def _order(data, col, order):
    if order is not None:
        return [o for o in order if o in set(data[col])]
    return list(pd.unique(data[col]))


def _scores_by_group(scored, *, by: str = "primary_reason", labels: dict | None = None, **_):
    """The data twin of :func:`plot_sentiment_by_reason`: one row per scored verbatim, its group and score."""
    cols = [c for c in ("language", by, "sentiment_score", "sentiment_label") if c in scored]
    data = scored.loc[scored["sentiment_score"].notna(), list(dict.fromkeys(cols))].reset_index(drop=True)
    if labels:
        data.insert(data.columns.get_loc(by) + 1, "group", data[by].map(lambda g: labels.get(g, g)))
    return data


@literal_text
@twin_data(_scores_by_group)
def plot_sentiment_by_reason(scored: pd.DataFrame, *, by: str = "primary_reason", labels: dict | None = None,
                             order=None, ax=None, title: str | None = None):
    """Distribution of verbatim sentiment scores per group: a box per group and one dot per verbatim.

    Parameters
    ----------
    scored : DataFrame
        Output of ``churnlab.sentiment.read_verbatims`` (``sentiment_score`` and ``by``).
    labels : dict, optional
        Display names of the groups (e.g. reason code -> English or Japanese label).
    order : list, optional
        Group order (default: most negative median first).

    Returns
    -------
    matplotlib Axes
    """
    import seaborn as sns

    register_cjk_font()
    data = scored[scored["sentiment_score"].notna()].copy()
    data[by] = data[by].fillna("no_reason").replace("", "no_reason")
    if order is None:
        order = data.groupby(by)["sentiment_score"].median().sort_values().index.tolist()
    order = _order(data, by, order)
    labels = labels or {}
    data["_group"] = data[by].map(lambda g: labels.get(g, g))
    names = [labels.get(g, g) for g in order]
    ax = new_ax(ax, figsize=(9, 0.45 * len(order) + 1.5))
    sns.boxplot(data=data, x="sentiment_score", y="_group", order=names, color="#dddddd",
                showfliers=False, width=0.6, ax=ax)
    sns.stripplot(data=data, x="sentiment_score", y="_group", order=names, hue="sentiment_label",
                  hue_order=[k for k in _LABEL_COLORS if k in set(data["sentiment_label"])],
                  palette=_LABEL_COLORS, size=4, alpha=0.7, jitter=0.25, ax=ax)
    ax.axvline(0, color="#555555", lw=0.8)
    ax.set_xlim(-1.05, 1.05)
    ax.set_xlabel("sentiment score (−1 negative … +1 positive)")
    ax.set_ylabel("")
    counts = data.groupby("_group").size()
    ax.set_yticks(range(len(names)), [f"{n} (n={counts.get(n, 0)})" for n in names])
    # under the chart: inside it the legend hid the dots and boxes of the last reasons
    ax.legend(title="", loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=3, fontsize=9, frameon=False)
    ax.set_title(title or "Sentiment of exit verbatims by primary reason")
    return ax


def _stacked(shares, col, colors, names, by, labels, order, ax, title):
    register_cjk_font()
    data = shares.copy()
    labels = labels or {}
    if by is None:
        data["_group"] = "all"
        by = "_group"
    order = _order(data, by, order)
    piv = data.pivot_table(index=by, columns=col, values="share", aggfunc="sum").reindex(order).fillna(0)
    nver = data.groupby(by)["verbatims"].max().reindex(order)
    ax = new_ax(ax, figsize=(9, 0.45 * len(order) + 1.5))
    left = np.zeros(len(piv))
    y = np.arange(len(piv))
    for c, colour in colors.items():
        if c not in piv.columns:
            continue
        v = piv[c].to_numpy()
        ax.barh(y, v, left=left, color=colour, label=names.get(c, c), height=0.7)
        for yi, (l, w) in enumerate(zip(left, v)):
            if w >= 0.08:
                ax.text(l + w / 2, yi, f"{w:.0%}", ha="center", va="center", fontsize=8,
                        color="white" if c != "neutral" else "#333333")
        left += v
    ax.set_yticks(y, [f"{labels.get(g, g)} (n={int(nver.get(g, 0))})" for g in piv.index])
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    percent_axis(ax, "x")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=3, frameon=False, fontsize=9)
    ax.set_title(title)
    ax.grid(axis="y", visible=False)
    return ax


@literal_text
def plot_label_shares(shares: pd.DataFrame, *, by: str | None = "primary_reason", labels: dict | None = None,
                      order=None, ax=None, title: str | None = None):
    """Stacked bars of negative / neutral / positive shares per group (``sentiment.label_shares``)."""
    return _stacked(shares, "sentiment_label", _LABEL_COLORS, {}, by, labels, order, ax,
                    title or "Share of negative, neutral and positive verbatims")


@literal_text
def plot_tone_shares(shares: pd.DataFrame, *, by: str | None = "primary_reason", labels: dict | None = None,
                     order=None, ax=None, title: str | None = None):
    """Stacked bars of frustrated / respectful / neutral tone per group (``sentiment.tone_shares``)."""
    return _stacked(shares, "tone", _TONE_COLORS, _TONE_NAMES, by, labels, order, ax,
                    title or "Tone of exit verbatims")


@literal_text
def plot_mentions(shares: pd.DataFrame, *, lang: str = "en", ax=None, title: str | None = None):
    """Horizontal bars: share of verbatims mentioning each theme, with 95% Wilson intervals.

    Takes the overall output of ``sentiment.mention_shares``; ``lang="ja"`` labels themes in Japanese.
    """
    register_cjk_font()
    data = shares.sort_values("share", ascending=True)
    names = data["theme_ja" if lang == "ja" else "theme_en"]
    ax = new_ax(ax, figsize=(8, 0.45 * len(data) + 1.2))
    y = np.arange(len(data))
    ax.barh(y, data["share"], color="#4c78a8", height=0.6)
    # whiskers never negative: a 0% or 100% share and its rounded Wilson bound can cross by a hair
    err = np.nan_to_num(np.clip(np.vstack([data["share"] - data["share_lo"], data["share_hi"] - data["share"]]
                                          ).astype(float), 0, None))
    ax.errorbar(data["share"], y, xerr=err, fmt="none", ecolor="#333333", capsize=3, lw=1)
    for yi, (s, k, n) in enumerate(zip(data["share"], data["mentions"], data["verbatims"])):
        ax.text(min(s + 0.02, 0.9), yi + 0.25, f"{s:.0%} ({k}/{n})", va="center", fontsize=8)
    ax.set_yticks(y, names)
    ax.set_xlim(0, 1)
    percent_axis(ax, "x")
    ax.set_title(title or ("退会理由のテーマ別言及率" if lang == "ja" else "Share of exit interviews mentioning each theme"))
    ax.grid(axis="y", visible=False)
    return ax


# Register at import, so axes created before any churnlab chart (e.g. by plt.subplots) also fall
# back to the Japanese font.
try:
    register_cjk_font()
except Exception:  # pragma: no cover - a missing font must never break plotting
    pass
