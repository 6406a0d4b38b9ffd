"""The house style of churnlab's charts, and literal text in every chart.

Labels come from the data (segment, plan and competitor names, reason labels). matplotlib would read
a pair of ``$`` as mathtext (and fail on an unknown ``\\command``) or hand text to LaTeX, so every
chart draws text literally: :data:`LITERAL_TEXT` is set when ``churnlab.plotting`` is imported and
by :func:`set_theme`, and every plotting helper is wrapped by :func:`literal_text`.
"""
from __future__ import annotations

import functools

import matplotlib
import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from matplotlib.text import Text
import seaborn as sns

__all__ = ["set_theme", "percent_axis", "literal_text", "LITERAL_TEXT"]

#: rcParams under which text is drawn as written: no mathtext, no LaTeX.
LITERAL_TEXT = {"text.parse_math": False, "text.usetex": False}

#: The palette of groups (segments, plans, cohorts ...): a group's colour follows from the sorted
#: list of the groups in the data, so a segment has the same colour in every chart of a review.
PALETTE = ["#4c78a8", "#e4572e", "#54a24b", "#b279a2", "#f2a541", "#72b7b2", "#9d755d", "#ff9da6",
           "#59a14f", "#bab0ac"]
_GREY = "#9aa5b1"


def group_colors(levels) -> dict:
    """A colour for each group, from :data:`PALETTE` in sorted order; blank and pooled groups are grey.

    Examples
    --------
    >>> group_colors(["Scale", "Starter", "Not recorded"])
    {'Scale': '#4c78a8', 'Starter': '#e4572e', 'Not recorded': '#9aa5b1'}
    """
    from ..stats import BLANK_LABEL, OTHER_LABEL

    grey = {BLANK_LABEL, OTHER_LABEL, "Other (smaller groups)"}
    named = sorted({str(v) for v in levels if str(v) not in grey})
    out = {v: PALETTE[i % len(PALETTE)] for i, v in enumerate(named)}
    return {v: out.get(str(v), _GREY) for v in levels}


def set_theme(*, cjk: bool = True) -> None:
    """Apply churnlab's chart style (seaborn whitegrid, readable sizes) for the session.

    With ``cjk=True`` a Japanese-capable font is added to the font fallback list when one is found,
    so Japanese labels render as glyphs rather than boxes (seaborn's theme resets the font list, so
    the font is registered again here). Text is drawn literally (:data:`LITERAL_TEXT`).
    """
    sns.set_theme(style="whitegrid", context="notebook", rc={
        "figure.figsize": (9, 4.5), "figure.dpi": 100, "savefig.dpi": 100, "axes.titleweight": "bold",
        "axes.titlesize": 13, "axes.spines.top": False, "axes.spines.right": False})
    matplotlib.rcParams.update(LITERAL_TEXT)
    if cjk:
        from .sentiment import register_cjk_font

        register_cjk_font()
    _notebook_figures()


def _chart_words(fig, english: bool = False) -> str:
    """The chart's title, else its axes' titles and labels, joined (empty when it has none); with
    ``english`` the joining words stay English (a data twin's file name is the same in every language)."""
    from ..i18n import t as tr

    if english:
        def tr(template, **kw):
            return template.format(**kw)

    parts = []
    if getattr(fig, "_suptitle", None) is not None and fig._suptitle.get_text():
        parts.append(fig._suptitle.get_text())
    for ax in fig.axes:
        t = ax.get_title() or ax.get_title(loc="left")
        if t:
            parts.append(t)
        elif ax.get_ylabel() and ax.get_xlabel():
            parts.append(tr("{y} by {x}", y=ax.get_ylabel(), x=ax.get_xlabel()))
    return "; ".join(dict.fromkeys(parts))


def chart_title(fig) -> str:
    """What a chart shows, in words, for its alt text: its title, else its axes' titles and labels.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots(); _ = ax.set_title("Monthly logo attrition")
    >>> chart_title(fig)
    'Chart: Monthly logo attrition'
    >>> plt.close(fig)
    """
    from ..i18n import t

    words = _chart_words(fig)
    return t("Chart: {title}", title=words) if words else t("Chart")


def _notebook_figures() -> None:
    """In a notebook: charts as sharp 2x PNG, each with its title as its text (the page's alt text)."""
    try:
        from IPython import get_ipython
        from matplotlib.figure import Figure
        from matplotlib_inline.backend_inline import set_matplotlib_formats
    except ImportError:
        return
    ip = get_ipython()
    if ip is None:
        return
    set_matplotlib_formats("retina")
    formatters = ip.display_formatter.formatters
    for mime in ("image/png", "image/svg+xml"):   # a chart drawn by hand in a notebook is translated too
        draw = formatters[mime].lookup_by_type(Figure) if Figure in formatters[mime].type_printers else None
        if draw is not None and not getattr(draw, "_churnlab", False):
            def shown(fig, _draw=draw):
                translate_figure(fig)
                return _draw(fig)
            shown._churnlab = True
            formatters[mime].for_type(Figure, shown)

    def text(fig, p, cycle):
        translate_figure(fig)
        p.text(chart_title(fig))
    formatters["text/plain"].for_type(Figure, text)


def percent_axis(ax, axis: str = "y", decimals: int = 0):
    """Format an axis of fractions as percentages."""
    from matplotlib.ticker import PercentFormatter

    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(PercentFormatter(1.0, decimals=decimals))
    return ax


def label_step(ax, labels, fontsize=None) -> int:
    """Show every ``step``-th of ``labels`` under ``ax`` so that level tick labels never touch.

    The width each label needs is estimated from its characters at the tick font size (a wide
    character, such as a Japanese one, counts twice), against the width of the axes on the figure.

    Examples
    --------
    >>> fig = plt.figure(figsize=(7, 3))
    >>> ax = fig.add_axes((0.1, 0.2, 0.85, 0.7))
    >>> quarters = [f"202{i // 4}Q{i % 4 + 1}" for i in range(24)]
    >>> label_step(ax, quarters[:8], fontsize=9), label_step(ax, quarters, fontsize=9)
    (1, 3)
    >>> plt.close(fig)
    """
    if not len(labels):
        return 1
    size = fontsize or matplotlib.rcParams["xtick.labelsize"]
    if isinstance(size, str):
        size = matplotlib.font_manager.FontProperties(size=size).get_size_in_points()
    chars = max(sum(2 if ord(ch) > 0x2E7F else 1 for ch in str(lab)) for lab in labels)
    need = (chars * 0.62 + 1) * size / 72            # inches per label, with a gap of about a character
    width = ax.figure.get_size_inches()[0] * ax.get_position().width
    fit = max(1, int(width // need))
    return max(1, -(-len(labels) // fit))


def new_ax(ax=None, figsize=None):
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax


def _figures(obj):
    """The figures behind whatever a plotting helper returned (Axes, arrays of Axes, Figure, grid)."""
    if obj is None:
        return []
    if isinstance(obj, Figure):
        return [obj]
    fig = getattr(obj, "figure", None)
    if isinstance(fig, Figure):
        return [fig]
    if isinstance(obj, (list, tuple)) or hasattr(obj, "flat"):
        items = obj.flat if hasattr(obj, "flat") else obj
        return list({id(f): f for o in items for f in _figures(o)}.values())
    return []


def translate_figure(fig) -> None:
    """The chart's own words (titles, axis labels, legend titles and entries) in the report language
    (:mod:`churnlab.i18n`). Tick labels and legend entries that are data (segment names) are left as
    they are unless the catalogue knows them; nothing changes in an English report."""
    from ..i18n import report_language, translate

    if report_language() == "en":
        return
    texts = [fig._suptitle] if getattr(fig, "_suptitle", None) is not None else []
    quiet = []
    grid = bool(getattr(fig, "legends", []))   # a grid of panels: each panel's title is a group (data)
    for ax in fig.axes:
        (quiet if grid else texts).extend([ax.title, ax._left_title, ax._right_title])
        texts += [ax.xaxis.label, ax.yaxis.label]
        legend = ax.get_legend()
        if legend is not None:
            texts.append(legend.get_title())
            quiet += list(legend.get_texts())
        for axis in (ax.xaxis, ax.yaxis):   # category labels are made when the chart is drawn
            _translated_ticks(axis)
        quiet += [c for c in ax.texts]
    legends = list(getattr(fig, "legends", []))
    for legend in legends:
        texts.append(legend.get_title())
        quiet += list(legend.get_texts())
    for item in texts:
        if item is not None and item.get_text():
            item.set_text(translate(item.get_text()))
    for item in quiet:
        if item is not None and item.get_text():
            item.set_text(translate(item.get_text(), record=False))


def _translated_ticks(axis) -> None:
    """Category tick labels (churnlab's words or data) in the report language, as they are drawn."""
    from ..i18n import translate

    _mapped_ticks(axis, lambda text: translate(text, record=False))


def _mapped_ticks(axis, fn) -> None:
    """Category tick labels (fixed, function or category formatters) passed through ``fn`` as they are
    drawn; numeric axes keep their formatter."""
    from matplotlib.category import StrCategoryFormatter
    from matplotlib.ticker import FixedFormatter, Formatter, FuncFormatter

    inner = axis.get_major_formatter()
    if not isinstance(inner, (FixedFormatter, FuncFormatter, StrCategoryFormatter)):
        return

    class Mapped(Formatter):
        def set_locs(self, locs):
            inner.set_locs(locs)

        def __call__(self, x, pos=None):
            return fn(inner(x, pos))

        def format_ticks(self, values):
            return [fn(v) for v in inner.format_ticks(values)]

    axis.set_major_formatter(Mapped())


#: Longest tick label, legend entry and title a chart draws (customer-controlled labels can be pages long).
MAX_LABEL, MAX_TITLE = 60, 140


def shorten(text, limit: int = MAX_LABEL) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis (labels a chart draws).

    Examples
    --------
    >>> shorten("x" * 100, 10), shorten("Mid-Market")
    ('xxxxxxxxx…', 'Mid-Market')
    """
    text = str(text)
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


def _shortened_ticks(axis) -> None:
    """Category tick labels (data: a segment, an industry) no longer than :data:`MAX_LABEL`, as drawn."""
    _mapped_ticks(axis, shorten)


def shorten_figure(fig) -> None:
    """Every label of ``fig`` within :data:`MAX_LABEL` characters (titles :data:`MAX_TITLE`), so that a
    2,000-character segment name cannot make a chart thousands of pixels wide."""
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            _shortened_ticks(axis)
            for label in axis.get_ticklabels():
                label.set_text(shorten(label.get_text()))
        for title in (ax.title, ax._left_title, ax._right_title):
            title.set_text(shorten(title.get_text(), MAX_TITLE))
    legends = [ax.get_legend() for ax in fig.axes] + list(getattr(fig, "legends", []))
    for legend in [lg for lg in legends if lg is not None]:
        for t in legend.get_texts():
            t.set_text(shorten(t.get_text()))
    if getattr(fig, "_suptitle", None) is not None:
        fig._suptitle.set_text(shorten(fig._suptitle.get_text(), MAX_TITLE))


_DEPTH = [0]   # helpers running: a helper drawing into another's figure saves no data twin of its own


def twin_data(make):
    """Decorator (inside :func:`literal_text`): the chart's data twin is ``make(*args, **kwargs)``, the
    columns the chart shows, instead of the whole frame it was given."""
    def decorate(func):
        func.twin = make
        return func
    return decorate


def literal_text(func):
    """Decorator of plotting helpers: every text of the chart is drawn as written.

    The tidy frame the chart is drawn from is saved as its data twin (:func:`churnlab.presentation.save_twin`)
    when the chart is drawn for a published review: only by the outermost helper (the panels of a
    grid are part of the grid's chart), and only the columns named by :func:`twin_data` when the helper
    has it. The helper runs with :data:`LITERAL_TEXT` in force (also set for the session, because tick labels
    are created when the figure is drawn), and every text already on its figure is switched to
    literal drawing, so ``"$99 plan"`` or ``"\\cost"`` is shown as is and never parsed as mathtext.
    """
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        matplotlib.rcParams.update(LITERAL_TEXT)
        _DEPTH[0] += 1
        try:
            out = func(*args, **kwargs)
        finally:
            _DEPTH[0] -= 1
        if args and not _DEPTH[0]:   # the chart's data twin, beside the published report
            from ..presentation import save_twin   # (a panel drawn by another helper is part of its chart)

            figs = _figures(out)
            title = kwargs.get("title") or (_chart_words(figs[0], english=True) if figs else None)
            make = getattr(func, "twin", None)
            save_twin(make(*args, **kwargs) if make else args[0], title or func.__name__.replace("plot_", ""),
                      kind="chart")
        for fig in _figures(out):
            shorten_figure(fig)
            # drawn into a given Axes: the helper that owns the figure translates it
            if kwargs.get("ax") is None and not (args and isinstance(args[0], matplotlib.axes.Axes)):
                translate_figure(fig)
            for t in fig.findobj(Text):
                t.set_parse_math(False)
                t.set_usetex(False)
        return out
    return wrapper


matplotlib.rcParams.update(LITERAL_TEXT)
