"""The house style of churnlab's charts."""
from __future__ import annotations

import matplotlib.pyplot as plt
import seaborn as sns

__all__ = ["set_theme", "percent_axis"]

#: Colours by segment, so a segment has the same colour in every chart.
SEGMENT_COLORS = {"SMB": "#e4572e", "Mid-Market": "#4c78a8", "Enterprise": "#54a24b"}


def set_theme(*, cjk: bool = True) -> None:
    """Apply churnlab's chart style (seaborn whitegrid, readable sizes) for the session.

    With ``cjk=True`` a Japanese-capable font is added to the font fallback list when one is found,
    so Japanese labels render as glyphs rather than boxes (seaborn's theme resets the font list, so
    the font is registered again here).
    """
    sns.set_theme(style="whitegrid", context="notebook", rc={
        "figure.figsize": (9, 4.5), "figure.dpi": 100, "savefig.dpi": 100, "axes.titleweight": "bold",
        "axes.titlesize": 13, "axes.spines.top": False, "axes.spines.right": False})
    if cjk:
        from .sentiment import register_cjk_font

        register_cjk_font()


def percent_axis(ax, axis: str = "y", decimals: int = 0):
    """Format an axis of fractions as percentages."""
    from matplotlib.ticker import PercentFormatter

    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(PercentFormatter(1.0, decimals=decimals))
    return ax


def new_ax(ax=None, figsize=None):
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax
