"""Known answers for churnlab.presentation: escaping for HTML and Markdown, escaped tables, the CSV neutraliser."""
import math

import numpy as np
import pandas as pd
import pytest

from churnlab import presentation as pres

# --------------------------------------------------------------------------------------------
# escape
# --------------------------------------------------------------------------------------------

ESCAPE_CASES = [
    ("plain text", "plain text"),
    ("<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"),
    ('<img src=x onerror="alert(1)">', "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;"),
    ("\"><svg onload=alert(1)>", "&quot;&gt;&lt;svg onload=alert(1)&gt;"),
    ("O'Neil & Co", "O&#x27;Neil &amp; Co"),
    ("[x](javascript:alert(1))", "[x&#93;(javascript:alert(1))"),
    ("![](http://evil)", "![&#93;(http://evil)"),
    ("[x][ref]\n[ref]: javascript:alert(1)", "[x&#93;[ref]\n[ref&#93;: javascript:alert(1)"),
    ("<http://evil>", "&lt;http://evil&gt;"),
    ("[email] and [phone]", "[email] and [phone]"),     # redaction placeholders stay readable
    ("&lt;already&gt;", "&amp;lt;already&amp;gt;"),     # entities in data are shown, not decoded
    ("$99 \\cost", "$99 \\cost"),
    ("日本語 <b>", "日本語 &lt;b&gt;"),
    (12.5, "12.5"),
    (3, "3"),
    (None, ""),
    (float("nan"), ""),
    (pd.NA, ""),
    (pd.NaT, ""),
    (np.nan, ""),
]


@pytest.mark.parametrize("value, expected", ESCAPE_CASES)
def test_escape_known_answers(value, expected):
    assert pres.escape(value) == expected


MARKDOWN_PAYLOADS = ["[x](javascript:alert(1))", "<img src=x onerror=alert(1)>", "![](http://evil)",
                     "[a](http://evil \"t\")", "<script>document.title='XSS'</script>", "[r]: javascript:alert(1)"]


@pytest.mark.parametrize("payload", MARKDOWN_PAYLOADS)
def test_escaped_text_is_literal_in_markdown(payload):
    """Rendered as Markdown (as nbconvert does), escaped text makes no link, image or tag."""
    import mistune

    html_ = mistune.html(pres.escape(payload))
    assert "<a " not in html_ and "<img" not in html_ and "<script" not in html_ and "<svg" not in html_
    unescaped = mistune.html(payload)
    assert any(t in unescaped for t in ("<a ", "<img", "<script")) or payload.startswith("[r]:")


def test_sentences_escape_every_sentence_and_keep_our_emphasis():
    h = pres.sentences_html(["Segment <img src=x onerror=alert(1)> differs.", "[x](javascript:alert(1))"],
                            bullets=True)
    assert h.startswith("<ul><li>") and h.count("<li>") == 2
    assert "<img" not in h and "&lt;img src=x onerror=alert(1)&gt;" in h
    assert "<a" not in h
    md = pres.sentences_html("- **Attrition** is counted with `workflow_run <b>`.\n- Second line")
    assert md == "<p><b>Attrition</b> is counted with <code>workflow_run &lt;b&gt;</code>.</p><p>Second line</p>"
    assert pres.sentences_html(["**x**"], markup=False) == "<p>**x**</p>"
    obj = pres.sentences(["a < b"])
    assert obj.data == "<p>a &lt; b</p>"


def test_table_html_escapes_cells_and_labels():
    frame = pd.DataFrame({"<b>col</b>": ["<script>x</script>", None], "n": [1, 2]},
                         index=pd.Index(["<i>a</i>", "b"], name="<u>ix</u>"))
    h = pres.table_html(frame)
    for tag in ("<b>", "<script>", "<i>", "<u>"):
        assert tag not in h
    assert "&lt;b&gt;col&lt;/b&gt;" in h and "&lt;script&gt;x&lt;/script&gt;" in h and "&lt;u&gt;ix" in h


def test_styler_escapes_cells_index_columns_and_caption():
    frame = pd.DataFrame({"<img src=x>": ["<svg onload=alert(1)>"], "rate": [0.125], "p": [1e-6]},
                         index=["<script>i</script>"])
    h = pres.styler(frame, formats={"rate": "{:.1%}", "p": lambda p: "< 0.001"}, hide_index=False,
                    caption="<b>cap</b>").to_html()
    for tag in ("<img", "<svg", "<script>i", "<b>cap"):
        assert tag not in h
    assert "&lt;img src=x&gt;" in h and "&lt;svg onload=alert(1)&gt;" in h and "&lt;script&gt;i" in h
    assert "12.5%" in h and "&lt; 0.001" in h and "&lt;b&gt;cap&lt;/b&gt;" in h


def test_report_styled_escapes_labels():
    from churnlab.report import styled

    h = styled(pd.DataFrame({"<img src=x onerror=alert(1)>": ["[x](javascript:1)"], "n": [1200]}),
               counts=["n"], caption="<i>c</i>").to_html()
    assert "<img" not in h and "<i>c" not in h and "1,200" in h and "[x&#93;(javascript:1)" in h


# --------------------------------------------------------------------------------------------
# CSV formula injection
# --------------------------------------------------------------------------------------------

CSV_CASES = [
    ('=HYPERLINK("http://x","y")', '\'=HYPERLINK("http://x","y")'),
    ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"),
    ("+1+1", "'+1+1"),
    ("-2+3", "'-2+3"),
    ("@SUM(A1)", "'@SUM(A1)"),
    ("\t=1", "'\t=1"),
    ("\r=1", "'\r=1"),
    (" =1", "' =1"),
    ("  @x", "'  @x"),
    ("＝1", "'＝1"),
    ("＋1", "'＋1"),
    ("－1", "'－1"),
    ("＠x", "'＠x"),
    ("-", "'-"),
    # left alone
    ("-5.5", "-5.5"),
    ("+12", "+12"),
    ("-1e3", "-1e3"),
    ("1,200", "1,200"),
    ("Acme = best", "Acme = best"),
    ("a-b", "a-b"),
    ("", ""),
    (-5, -5),
    (1e3, 1e3),
    (-5.5, -5.5),
    (None, None),
]


@pytest.mark.parametrize("value, expected", CSV_CASES)
def test_safe_csv_cell(value, expected):
    assert pres.safe_csv_cell(value) == expected


def test_neutralise_csv_keeps_numbers_and_types():
    frame = pd.DataFrame({"id": ["=1+1", "A", None], "n": [-5, 2, 3], "x": [-5.5, 1e3, np.nan],
                          "s": pd.Series(["-5.5", "@a", "ok"], dtype="string"),
                          "d": pd.to_datetime(["2026-01-01", None, "2026-02-01"]), "=col": [1, 2, 3]})
    out = pres.neutralise_csv(frame)
    assert out["id"].tolist()[:2] == ["'=1+1", "A"] and out["id"].isna().iloc[2]
    assert out["n"].tolist() == [-5, 2, 3] and out["n"].dtype == frame["n"].dtype
    assert out["x"].iloc[0] == -5.5 and math.isnan(out["x"].iloc[2])
    assert out["s"].tolist() == ["-5.5", "'@a", "ok"] and out["s"].dtype == "string"
    assert out["d"].dtype == frame["d"].dtype
    assert "'=col" in out.columns
    assert frame["id"].iloc[0] == "=1+1"            # the input is not changed


def test_write_csv_file_has_no_formula_cells(tmp_path):
    import csv

    frame = pd.DataFrame({"account_id": ['=HYPERLINK("http://evil","x")', "A1"], "mrr": [-10.0, 20.0],
                          "note": ["@SUM(A1)", "-5.5"]})
    path = pres.write_csv(frame, tmp_path / "out.csv")
    rows = list(csv.reader(path.open(encoding="utf-8")))
    cells = [c for r in rows[1:] for c in r]
    assert not [c for c in cells if c[:1] in "=+@\t\r" or (c[:1] == "-" and c not in ("-10.0", "-5.5"))]
    assert rows[1][1] == "-10.0" and rows[2][2] == "-5.5"
    assert rows[1][0].startswith("'=HYPERLINK")


# --------------------------------------------------------------------------------------------
# One escaping function, one CSV writer: no other sink in the package or the notebooks
# --------------------------------------------------------------------------------------------

def test_every_sink_goes_through_presentation():
    import json
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    offenders = []
    for path in sorted((root / "churnlab").rglob("*.py")):
        if path.name in ("presentation.py", "sample.py"):     # sample.py writes input data, not reports
            continue
        text = path.read_text(encoding="utf-8")
        for pattern in (r"\bhtml\.escape\(", r"\.to_csv\(", r"\bMarkdown\(", r"to_html\([^)]*escape=True"):
            if re.search(pattern, text):
                offenders.append(f"{path.relative_to(root)}: {pattern}")
    for path in sorted((root / "notebooks").glob("*.ipynb")):
        code = "\n".join("".join(c["source"]) for c in json.loads(path.read_text(encoding="utf-8"))["cells"]
                         if c["cell_type"] == "code")
        for pattern in (r"\.to_csv\(", r"\bMarkdown\(", r"\.style\b", r"\bhtml\.escape\("):
            if re.search(pattern, code):
                offenders.append(f"{path.name}: {pattern}")
    assert not offenders, "use churnlab.presentation (escape, sentences, styler, write_csv): " + "; ".join(offenders)


def test_fold_long_tables_threshold_classes_and_labels():
    over, show = pres.FOLD_OVER, pres.FOLD_SHOW
    at = pres.table_html(pd.DataFrame({"n": range(over)}), index=False)
    assert pres.fold_long_tables(at) == at                              # at the threshold: unchanged
    t = pres.table_html(pd.DataFrame({"n": range(over + 1)}), index=True, csv="x.csv")
    head, _, tail = t.rpartition("<tr>")
    t = head + '<tr class="odd">' + tail                                # a row that has a class keeps it
    out = pres.fold_long_tables(t, labels={"show_all": "Alle {n} Zeilen"})
    assert out.count("fold-more") == over + 1 - show and "Alle 21 Zeilen" in out
    assert out.count('<tr class="fold-more odd">') == 1
    assert out.index("<details") < out.index("<table") and "Show the first 15 rows only" in out
    assert "Download" not in out                                        # no csv_href: no link
    assert "<a " not in pres.fold_long_tables(t, csv_href=lambda name: None)   # twin missing: no link either
    linked = pres.fold_long_tables(t, csv_href=lambda name: "data/" + name)
    assert '<a href="data/x.csv" download>Download all 21 rows (CSV)</a>' in linked
    nested = "<table><tr><td>" + t + "</td></tr></table>"
    assert pres.fold_long_tables(nested) == nested                      # nested tables are left as they are
    assert pres.fold_long_tables("<p>no table</p>") == "<p>no table</p>"
    hostile = pres.fold_long_tables(t, csv_href=lambda name: 'x" onclick="alert(1)')
    assert 'onclick="' not in hostile and "&quot; onclick=" in hostile


def test_folded_table_labels_follow_the_report_language():
    from churnlab import i18n

    table = pres.table_html(pd.DataFrame({"n": range(30)}), index=False, csv="page-n.csv")
    with i18n.using("ja"):
        out = pres.fold_long_tables(table, csv_href=lambda name: "data/" + name)
    assert "全30行を表示" in out and "Show all" not in out and "Download" not in out


def test_trait_and_level_words_read_as_words():
    assert pres.trait("icp_fit=False") == "Fits the ideal customer profile: no"
    assert pres.trait("segment", "Mid-Market") == "Segment: Mid-Market"
    assert pres.level_word("True") == "yes" and pres.level_word("paid_search") == "paid search"
