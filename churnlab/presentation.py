"""The one place where data becomes HTML, Markdown or CSV text.

Customer text and customer-controlled labels (segment and plan names, competitors, account ids,
verbatims) are hostile input. Every page and attachment of the review shows them through this module:

* :func:`escape` - the one escaping function of every HTML sink. The result is literal text in HTML
  *and* in Markdown: it cannot open a tag, an attribute, a link or an image.
* :func:`sentences` - plain sentences (or bullets) as an ``IPython.display.HTML`` object, every
  sentence escaped. Notebooks show data-derived sentences with it instead of ``Markdown(...)``.
* :func:`styler` - a pandas Styler whose cells, index and column labels and caption are escaped.
* :func:`safe_csv_cell`, :func:`neutralise_csv`, :func:`write_csv` - CSV attachments with formula
  injection neutralised, as the OWASP guidance on CSV injection says: a text cell that a spreadsheet
  would read as a formula gets a leading ``'``; real numbers are left alone.
"""
from __future__ import annotations

import html as _html
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["escape", "sentences", "sentences_html", "styler", "table_html", "fold_long_tables", "safe_csv_cell",
           "neutralise_csv", "write_csv", "FORMULA_START"]

# Markdown makes a link or an image only from "](", "][" or "]:" (reference definition), and HTML or an
# autolink only from "<", which html.escape already turns into an entity.
_MARKDOWN_LINK = re.compile(r"\](?=[(\[:])")
#: Characters customer text may carry that no reader should get: control characters (a terminal
#: escape, a bell, NUL) and the bidirectional overrides that make text read other than it is stored
#: ("Trojan source"). Tab and line breaks stay.
_INVISIBLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _is_missing(value) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    try:
        return isinstance(value, float) and math.isnan(value)
    except TypeError:
        return False


def escape(text) -> str:
    """``text`` as literal HTML text, safe in an element, a quoted attribute and a Markdown cell.

    ``& < > " '`` become entities (as :func:`html.escape` with ``quote=True``), and so does a ``]``
    that would close the text of a Markdown link or image (before ``(``, ``[`` or ``:``). Any value is
    accepted and shown with ``str``; missing values (None, NaN, NA, NaT) give an empty string.

    Examples
    --------
    >>> escape('<img src=x onerror="alert(1)">')
    '&lt;img src=x onerror=&quot;alert(1)&quot;&gt;'
    >>> escape("[x](javascript:alert(1))"), escape("![](http://evil)"), escape("[email] & [url]")
    ('[x&#93;(javascript:alert(1))', '![&#93;(http://evil)', '[email] &amp; [url]')
    >>> escape(None), escape(float("nan")), escape(12.5)
    ('', '', '12.5')

    Control characters and bidirectional overrides are removed:

    >>> escape("Acme\u202e\x1b[31m Ltd\x07")
    'Acme[31m Ltd'
    """
    if _is_missing(text):
        return ""
    return _MARKDOWN_LINK.sub("&#93;", _html.escape(_INVISIBLE.sub("", str(text)), quote=True))


_BOLD = re.compile(r"\*\*(.+?)\*\*")
_CODE = re.compile(r"`([^`]+?)`")


def _sentence_html(s, markup: bool) -> str:
    out = escape(s)
    if markup:   # only our own emphasis survives, applied to text that is already escaped
        out = _BOLD.sub(r"<b>\1</b>", out)
        out = _CODE.sub(r"<code>\1</code>", out)
    return out


def sentences_html(items, *, bullets: bool = False, markup: bool = True) -> str:
    """Sentences as HTML paragraphs (or a bulleted list), every sentence escaped with :func:`escape`.

    ``items`` is a list (or Series) of plain sentences, or one string with a sentence per line (a
    leading ``- `` bullet marker is dropped). With ``markup`` ``**bold**`` and ```code``` spans are
    kept as emphasis; they are found after escaping, so they can never form a tag or a link.

    Examples
    --------
    >>> sentences_html(["Segment <b>X</b> differs.", "Plan [y](javascript:1) too."], bullets=True)
    '<ul><li>Segment &lt;b&gt;X&lt;/b&gt; differs.</li><li>Plan [y&#93;(javascript:1) too.</li></ul>'
    >>> sentences_html("- **Logos** are accounts.\\n- Events: `login`.")
    '<p><b>Logos</b> are accounts.</p><p>Events: <code>login</code>.</p>'
    """
    if isinstance(items, str):
        items = [re.sub(r"^\s*[-*]\s+", "", line) for line in items.splitlines() if line.strip()]
    from .i18n import translate

    items = [translate(str(s)) for s in list(items) if not _is_missing(s) and str(s).strip()]
    if bullets:
        return "<ul>" + "".join(f"<li>{_sentence_html(s, markup)}</li>" for s in items) + "</ul>"
    return "".join(f"<p>{_sentence_html(s, markup)}</p>" for s in items)


def sentences(items, *, bullets: bool = False, markup: bool = True):
    """:func:`sentences_html` as an ``IPython.display.HTML`` object, for a notebook cell to show."""
    from IPython.display import HTML

    return HTML(sentences_html(items, bullets=bullets, markup=markup))


def _formatter(fmt):
    """A Styler formatter that formats with ``fmt`` (a format string or a callable) and escapes."""
    def f(v):
        if isinstance(v, str):
            return escape(v)
        if fmt is None:   # pandas' default display of numbers
            if isinstance(v, float):
                return escape(f"{v:.{pd.get_option('styler.format.precision')}f}")
            return escape(v)
        try:
            text = fmt(v) if callable(fmt) else fmt.format(v)
        except (TypeError, ValueError):
            text = v
        return escape(text)
    return f


def styler(frame: pd.DataFrame, *, formats: dict | None = None, na_rep: str = "–", hide_index: bool = True,
           caption: str | None = None):
    """A pandas Styler of ``frame`` whose every text goes through :func:`escape`.

    Cells (after formatting with ``formats``, column -> format string or callable returning plain
    text), index and column labels and the caption are escaped; missing cells show ``na_rep``.

    Examples
    --------
    >>> st = styler(pd.DataFrame({"<b>seg</b>": ["<img src=x>"], "p": [1e-6]}),
    ...             formats={"p": lambda p: "< 0.001" if p < 0.001 else f"{p:.3f}"})
    >>> h = st.to_html()
    >>> "<img" in h or "<b>seg" in h, "&lt;img src=x&gt;" in h, "&lt; 0.001" in h, "&lt;b&gt;seg" in h
    (False, True, True, True)
    """
    formats = {c: f for c, f in (formats or {}).items() if c in frame.columns}
    st = frame.style.format({c: _formatter(formats.get(c)) for c in frame.columns}, na_rep=na_rep)
    st = st.format_index(_formatter(None), axis=0).format_index(_formatter(None), axis=1)
    if hide_index:
        st = st.hide(axis="index")
    if caption:
        st = st.set_caption(escape(caption))
    return st


def table_html(frame: pd.DataFrame, **kwargs) -> str:
    """An HTML table of ``frame`` with every cell and every index and column label escaped by :func:`escape`.

    Keyword arguments go to ``DataFrame.to_html`` (default ``border=0``); missing cells are blank.
    ``csv`` names the table's data twin (see :func:`save_twin`), so that a long table on a published
    page links to it (:func:`fold_long_tables`).

    Examples
    --------
    >>> h = table_html(pd.DataFrame({"<i>q</i>": ["<b>bad</b> & [x](javascript:1)"]}), index=False)
    >>> "<b>" in h or "<i>" in h, "&lt;b&gt;bad&lt;/b&gt; &amp; [x&#93;(" in h, "&lt;i&gt;q" in h
    (False, True, True)
    """
    def labels(ix):
        if isinstance(ix, pd.MultiIndex):
            return pd.MultiIndex.from_tuples([tuple(escape(x) for x in t) for t in ix],
                                             names=[escape(n) if n is not None else None for n in ix.names])
        return pd.Index([escape(x) for x in ix], name=escape(ix.name) if ix.name is not None else None)

    csv = kwargs.pop("csv", None)
    out = frame.astype(object).map(escape) if hasattr(frame, "map") else frame.astype(object).applymap(escape)
    out.index, out.columns = labels(frame.index), labels(frame.columns)
    text = out.to_html(escape=False, **{"border": 0, **kwargs})
    if csv:
        text = text.replace("<table", f'<table {CSV_ATTR}="{escape(csv)}"', 1)
    return text


# --------------------------------------------------------------------------- long tables

#: A published table of more body rows than ``FOLD_OVER`` shows its first ``FOLD_SHOW`` rows; the rest
#: are folded behind "Show all N rows" (see :func:`fold_long_tables`).
FOLD_OVER, FOLD_SHOW = 20, 15
#: The attribute of a ``<table>`` that names its data twin (the CSV file in the report's ``data/``).
CSV_ATTR = "data-csv"
_TABLE = re.compile(r"<table\b[^>]*>.*?</table>", re.S)
_ROW = re.compile(r"<tr\b([^>]*)>(.*?)</tr>", re.S)
_CSV_NAME = re.compile(CSV_ATTR + r'="([^"]*)"')


def fold_long_tables(html: str, *, over: int = FOLD_OVER, show: int = FOLD_SHOW, csv_href=None,
                     labels: dict | None = None) -> str:
    """Fold the long tables of an HTML fragment: a table with more than ``over`` body rows (rows with a
    ``<td>``) shows its first ``show``; a ``<details>`` element under it ("Show all N rows") shows the
    rest, with no script (CSS hides rows of class ``fold-more`` while it is closed; see
    ``churnlab.css``), and a link to the table's data twin follows ("Download all N rows (CSV)").

    ``csv_href`` maps the twin's file name (the table's ``data-csv`` attribute, set by
    :func:`churnlab.report.styled` and :func:`table_html`) to a link, or to ``None`` when there is no
    such file; without it, or without the attribute, the table folds without a link. ``labels`` can
    replace the texts ``show_all``, ``show_first`` and ``download`` (format fields ``n`` and ``show``).
    Short tables and everything else are returned unchanged.

    Examples
    --------
    >>> t = table_html(pd.DataFrame({"n": range(30)}), index=False, csv="page-n.csv")
    >>> out = fold_long_tables(t, csv_href=lambda name: "data/" + name)
    >>> out.count('<tr class="fold-more">'), "Show all 30 rows" in out, 'href="data/page-n.csv"' in out
    (15, True, True)
    >>> short = table_html(pd.DataFrame({"n": range(20)}), index=False)
    >>> fold_long_tables(short) == short
    True
    """
    from churnlab.i18n import t as tr   # the words in the report language, the figures as they are

    text = {"show_all": "Show all {n} rows", "show_first": "Show the first {show} rows only",
            "download": "Download all {n} rows (CSV)", **(labels or {})}

    def fold(m):
        table = m.group(0)
        if table.count("<table") > 1:          # a nested table: left as it is
            return table
        body = [r for r in _ROW.finditer(table) if "<td" in r.group(2)]
        n = len(body)
        if n <= over:
            return table
        parts, last = [], 0
        for r in body[show:]:
            attrs = r.group(1)
            if 'class="' in attrs:
                attrs = attrs.replace('class="', 'class="fold-more ', 1)
            else:
                attrs = ' class="fold-more"' + attrs
            parts += [table[last:r.start()], f"<tr{attrs}>"]
            last = r.start() + len(f"<tr{r.group(1)}>")
        table = "".join(parts) + table[last:]
        name = _CSV_NAME.search(table[:table.index(">") + 1])
        href = csv_href(_html.unescape(name.group(1))) if (name and csv_href) else None
        words = {k: tr(v, n=f"{n:,}", show=f"{show:,}") for k, v in text.items()}
        link = (f'<p class="csv"><a href="{escape(href)}" download>{escape(words["download"])}'
                f"</a></p>" if href else "")
        summary = (f'<summary><span class="fold-closed">{escape(words["show_all"])}</span>'
                   f'<span class="fold-open">{escape(words["show_first"])}</span></summary>')
        return f'<div class="fold-table"><details class="fold">{summary}</details>{table}{link}</div>'

    return _TABLE.sub(fold, html)


# --------------------------------------------------------------------------- CSV

#: Characters that make a spreadsheet read a cell as a formula (also in their full-width forms).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:[.,]\d+)*(?:\.\d+)?|\.\d+)(?:[eE][+-]?\d+)?")


def safe_csv_cell(v):
    """One CSV cell with formula injection neutralised.

    Text that starts (also after leading spaces) with ``= + - @``, a tab or a carriage return, or their
    full-width forms, gets a leading ``'`` so that a spreadsheet shows it as text. Numbers, and text
    that is a plain number in full (``"-12.5"``, ``"1e3"``), are returned unchanged, as are missing
    values and anything that is not text.

    Examples
    --------
    >>> safe_csv_cell('=HYPERLINK("http://x","y")')
    '\\'=HYPERLINK("http://x","y")'
    >>> safe_csv_cell("-5.5"), safe_csv_cell(-5), safe_csv_cell("Acme")
    ('-5.5', -5, 'Acme')
    >>> safe_csv_cell(" =1"), safe_csv_cell("＝1")
    ("' =1", "'＝1")

    Control characters and bidirectional overrides (see :func:`escape`) are removed first.

    >>> safe_csv_cell("\x07=SUM(A1)"), safe_csv_cell("Acme\u202e Ltd")
    ("'=SUM(A1)", 'Acme Ltd')
    """
    if not isinstance(v, str) or not v:
        return v
    if _INVISIBLE.search(v):
        v = _INVISIBLE.sub("", v)
        if not v:
            return v
    stripped = v.lstrip(" \u3000\n\x0b\x0c")
    if not stripped or not stripped.startswith(FORMULA_START) and not v.startswith(("\t", "\r")):
        return v
    if _NUMBER.fullmatch(v.strip()):
        return v
    return "'" + v


def neutralise_csv(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with :func:`safe_csv_cell` applied to every text cell and to the column labels.

    Numeric, boolean and datetime columns are left as they are (they cannot hold formulas).

    Examples
    --------
    >>> neutralise_csv(pd.DataFrame({"id": ["=1+1", "A"], "n": [-1, 2]})).values.tolist()
    [["'=1+1", -1], ['A', 2]]
    """
    out = frame.copy()
    for c in out.columns:
        s = out[c]
        if pd.api.types.is_numeric_dtype(s) or pd.api.types.is_datetime64_any_dtype(s) \
                or pd.api.types.is_bool_dtype(s) or isinstance(s.dtype, pd.PeriodDtype):
            continue
        out[c] = s.map(safe_csv_cell).astype(s.dtype) if isinstance(s.dtype, pd.StringDtype) \
            else s.map(safe_csv_cell)
    out.columns = [safe_csv_cell(c) if isinstance(c, str) else c for c in out.columns]
    if out.index.dtype == object:
        out.index = out.index.map(safe_csv_cell)
    return out


def write_csv(frame: pd.DataFrame, path, **kwargs) -> Path:
    """Write a CSV attachment of the review: :func:`neutralise_csv`, then ``DataFrame.to_csv``.

    Keyword arguments go to ``to_csv`` (default ``index=False``, UTF-8). Every CSV the review
    publishes goes through this function.
    """
    kwargs.setdefault("index", False)
    kwargs.setdefault("encoding", "utf-8")
    path = Path(path)
    neutralise_csv(_without_float_noise(without_personal_data(frame))).to_csv(path, **kwargs)
    return path


def _without_float_noise(frame: pd.DataFrame) -> pd.DataFrame:
    """Decimals rounded to 12 places: a rate of 2.7755575615628914e-17 (a difference of equal floats)
    is written 0.0, and 0.12794691759514565 as 0.127946917595."""
    floats = [c for c in frame.columns if pd.api.types.is_float_dtype(frame[c])]
    return frame.round({c: 12 for c in floats}) if floats else frame


#: Text that may hold an e-mail address, a telephone number or a URL (the rest is never redacted).
_MAYBE_PERSONAL = re.compile(r"[@＠]|[0-9０-９][0-9０-９\s\-‐－().（）+＋]{6,}|://|www\.|/")
_MAYBE_ADDRESS = re.compile(r"[@＠]|://|www\.")


def without_personal_data(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with e-mail addresses, telephone numbers and URLs in its text cells replaced
    (:func:`churnlab.sentiment.redact`): a verbatim, a comment, an account id that is an e-mail
    address. Every published CSV goes through it (:func:`write_csv`).

    Examples
    --------
    >>> without_personal_data(pd.DataFrame({"account_id": ["jane@corp.example", "A00012"], "mrr": [1, 2]}))
      account_id  mrr
    0    [email]    1
    1     A00012    2
    """
    from .sentiment import redact

    out = None
    for c in frame.columns:
        col = frame[c]
        if col.dtype != object and not pd.api.types.is_string_dtype(col):
            continue
        # an id of digits is not a telephone number; an id that is an e-mail address is personal data
        maybe = _MAYBE_ADDRESS if str(c) == "id" or str(c).endswith("_id") else _MAYBE_PERSONAL
        text = np.fromiter((isinstance(v, str) and bool(maybe.search(v)) for v in col), dtype=bool, count=len(col))
        if not text.any():
            continue
        if out is None:
            out = frame.copy()
        out.loc[text, c] = [redact(v) for v in col[text]]
    return frame if out is None else out


#: Readable column headers of the tables the analyses return (any other snake_case name is turned
#: into words: ``share_now`` -> "Share now").
HEADERS = {
    "period": "Period", "start_count": "Active at start", "churned": "Lost", "retained": "Retained",
    "new": "New (not counted)", "reactivated": "Reactivated", "left_in_period": "Joined and left",
    "end_count": "Active at end", "attrition_rate": "Attrition rate", "retention_rate": "Retention rate",
    "start_mrr": "Starting MRR", "churned_mrr": "MRR lost (churned)", "contraction_mrr": "MRR lost (contraction)",
    "expansion_mrr": "Expansion MRR", "new_mrr": "New MRR", "reactivated_mrr": "Reactivated MRR",
    "end_mrr": "Ending MRR", "gross_mrr_churn": "Gross MRR churn", "net_mrr_churn": "Net MRR churn",
    "seats_removed": "Seats removed", "seat_contraction_rate": "Seat contraction",
    "contraction_account_rate": "Accounts contracting", "mean_rate": "Mean rate",
    "converted_to_quarter": "Converted to a quarter", "compounded": "Compounded", "measured_quarter": "Measured quarterly",
    "per_quarter": "Periods per quarter", "periods": "Periods", "grain": "Grain", "by": "Account attribute",
    "levels": "Groups", "pooled": "Values pooled", "n": "Accounts", "chi2": "Chi-square", "chi2_df": "Degrees of freedom",
    "chi2_p": "p (chi-square)", "lr_p": "p (logistic regression)", "highest": "Highest", "highest_rate": "Highest rate",
    "lowest": "Lowest", "lowest_rate": "Lowest rate", "odds_ratio": "Odds ratio", "p_value": "p", "p": "p",
    "usage_band": "Prior-quarter use", "flagged": "Accounts flagged", "flagged_churned": "Flagged and lost",
    "flagged_rate": "Churn rate, flagged", "others": "Other accounts", "others_churned": "Others lost",
    "others_rate": "Churn rate, others", "lift": "Lift", "share_of_churned": "Share of those lost",
    "contribution": "Contribution to the rate", "hazard_ratio": "Hazard ratio", "covariate": "Account trait",
    "trait": "Account trait", "versus": "Compared with", "reference": "Compared with", "share": "Share", "share_now": "Share now", "share_then": "Share then",
    "change": "Change", "p_adj": "p (adjusted)", "p_trend_adj": "p (trend, adjusted)", "direction": "Direction",
    "mrr": "MRR", "account_id": "Account", "churn_date": "Churn date", "would_return": "Would return",
    "why": "Why on the list", "icp_fit": "Fits the ideal customer profile",
    "sentiment_score": "Sentiment score", "sentiment_label": "Sentiment", "verbatim_redacted": "Verbatim",
    "reason_flag": "Check", "suggested": "Suggested reason", "chosen": "Reason given",
    "auc": "ROC AUC", "pr_auc": "PR AUC",
}


#: Columns whose text cells are churnlab's own words (never customer text): in a report of another
#: language than English (:mod:`churnlab.i18n`) :func:`churnlab.report.styled` translates them.
WORD_COLUMNS = frozenset({"meaning", "direction", "response", "timeline", "value", "risk_level", "root_cause", "severity", "usage_band",
                          "kind", "band_meaning", "tier_accounts", "why", "status", "signal", "signals"})


def readable_header(name) -> str:
    """A column name as a header a reader understands.

    In a Japanese report (:mod:`churnlab.i18n`) the header is translated.

    Examples
    --------
    >>> readable_header("start_count"), readable_header("acquisition_channel"), readable_header("Tier")
    ('Active at start', 'Acquisition channel', 'Tier')
    """
    from .i18n import translate

    name = str(name)
    if name in HEADERS:
        return translate(HEADERS[name])
    if "_" in name or name.islower():
        words = name.replace("_", " ").strip()
        return translate(words[:1].upper() + words[1:])
    return translate(name, record=False)   # a name as the data gives it: translated when known


#: Columns of single labels churnlab gives (a health band, a time grain): in a report of another
#: language than English :func:`churnlab.report.styled` shows them in it.
LABEL_COLUMNS = frozenset({"band", "grain"})


def level_word(value):
    """A group's value as readers say it: ``True`` / ``"False"`` as yes / no (in the report language),
    codes with underscores as words; anything else as it is.

    Examples
    --------
    >>> level_word(True), level_word("False"), level_word("outbound_sales"), level_word("Mid-Market"), level_word(3)
    ('yes', 'no', 'outbound sales', 'Mid-Market', 3)
    """
    from .i18n import t

    if isinstance(value, (bool, np.bool_)) or (isinstance(value, str) and value in ("True", "False")):
        return t("yes") if value in (True, "True") else t("no")
    if isinstance(value, str) and "_" in value and " " not in value:
        return value.replace("_", " ")
    return value


def trait(column, level=None) -> str:
    """An account trait of a model or a test as a label: ``"Segment: SMB"``, ``"Fits the ideal customer
    profile: no"``; a name ``"segment=SMB"`` (a model term) is split at ``=``.

    Examples
    --------
    >>> trait("segment=Mid-Market"), trait("icp_fit", False), trait("acquisition_channel", "paid_search"), trait("seats")
    ('Segment: Mid-Market', 'Fits the ideal customer profile: no', 'Acquisition channel: paid search', 'Seats')
    """
    column = str(column)
    if level is None and "=" in column:
        column, _, level = column.partition("=")
    name = readable_header(column)
    if level is None or (isinstance(level, float) and np.isnan(level)):
        return name
    return f"{name}: {level_word(level)}"


# --------------------------------------------------------------------------- data twins

#: Set by ``churnlab review`` for each notebook it runs: the report folder's ``data/`` and the page name.
DATA_DIR_ENV, PAGE_ENV = "CHURNLAB_DATA_DIR", "CHURNLAB_PAGE"
_twins: dict = {}


def _slug(text: str) -> str:
    import re
    import unicodedata

    t = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode()
    t = re.sub(r"[^A-Za-z0-9]+", "-", t).strip("-").lower()
    return t[:60] or "table"


def save_twin(frame, title: str | None = None, *, kind: str = "table"):
    """Save the tidy frame behind a published chart or table as ``data/<page>-<name>.csv`` (through the
    CSV neutraliser) and list it in ``data/manifest.jsonl``; does nothing outside ``churnlab review``
    (no ``CHURNLAB_DATA_DIR`` in the environment) or for anything that is not a data frame.

    Returns the path written, or ``None``.
    """
    import json
    import os

    import pandas as pd

    folder, page = os.environ.get(DATA_DIR_ENV), os.environ.get(PAGE_ENV, "report")
    if not folder or not isinstance(frame, pd.DataFrame):
        return None
    base = f"{page}-{_slug(title or kind)}"
    n = _twins.get(base, 0) + 1
    _twins[base] = n
    name = f"{base}.csv" if n == 1 else f"{base}-{n}.csv"
    path = Path(folder) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    idx = frame.index
    # an index that says something (named, several levels, labels) becomes columns; row positions
    # left over from a filter or a sort do not
    labelled = isinstance(idx, pd.MultiIndex) or idx.name is not None or not pd.api.types.is_integer_dtype(idx)
    out = frame.reset_index() if labelled else frame.reset_index(drop=True)
    write_csv(out, path)   # customer text behind a chart (a verbatim, a comment) without personal data
    with open(Path(folder) / "manifest.jsonl", "a", encoding="utf-8") as f:
        f.write(json.dumps({"page": page, "file": name, "kind": kind, "title": str(title or ""),
                            "rows": int(len(out)), "columns": [str(c) for c in out.columns]},
                           ensure_ascii=False) + "\n")
    return path
