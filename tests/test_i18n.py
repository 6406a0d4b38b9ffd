"""The report language (churnlab.i18n): catalogue, templates, translated pages, and a Japanese review
of the sample with the same figures as the English one."""
import json
import re
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from churnlab import i18n, presentation, report, summary

ROOT = Path(__file__).resolve().parent.parent
_FIELDS = re.compile(r"\{(\w+)")


@pytest.fixture
def ja():
    i18n.MISSES.clear()
    with i18n.using("ja"):
        yield
    i18n.MISSES.clear()


def test_at_risk_labels_capitalised_for_a_table_are_translated(ja):
    from churnlab import risk

    table = risk.readable(pd.DataFrame({"signal": ["repeated_topic", "nps_fall"], "band": ["green", "red"],
                                        "root_cause": ["value perception", "product fit"]}))
    japanese = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
    assert all(japanese.search(v) for v in table["signal"]), table["signal"].tolist()
    both = risk.signal_labels("low_seat_use, champion_left").split("、")
    assert len(both) == 2 and all(japanese.search(v) for v in both)
    html = report.styled(table).to_html()
    assert "Green" not in html and "Value perception" not in html and "Product fit" not in html
    assert japanese.search(i18n.word("Full save effort, executives involved"))


def test_english_is_the_default_and_leaves_text_as_written(monkeypatch):
    monkeypatch.delenv(i18n.LANG_ENV, raising=False)
    assert i18n.report_language() == "en"
    assert i18n.t("Logo attrition was {rate} in {quarter}.", rate="4.9%", quarter="2026Q3") == \
        "Logo attrition was 4.9% in 2026Q3."
    assert i18n.translate("Monthly logo attrition") == "Monthly logo attrition"
    assert presentation.readable_header("start_count") == "Active at start"


def test_japanese_templates_keep_the_figures(ja):
    s = i18n.translate("2026Q3: 2,095 accounts active at the start, 102 lost, logo attrition 4.87% "
                       "(95% CI 4.03%-5.88%); 289 accounts acquired in the quarter are not counted.")
    assert s.startswith("2026Q3：") and "期初" in s
    for figure in ("2,095", "102", "4.87%", "4.03%-5.88%", "289"):
        assert figure in s
    assert not re.search(r"[A-Za-z]{3,}", s.replace("CI", ""))


def test_a_text_of_several_sentences_is_translated_sentence_by_sentence(ja):
    s = i18n.translate("Monthly logo attrition with its 95% interval; the reviewed quarter is highlighted. "
                       "Review 2026Q3: 2,999 accounts, 722 churned.")
    assert "月次ロゴ解約率" in s and "レビュー 2026Q3" in s and "2,999" in s


def test_a_missing_text_stays_english_and_is_recorded(ja, tmp_path, monkeypatch):
    misses = tmp_path / "misses.txt"
    monkeypatch.setenv(i18n.MISSES_ENV, str(misses))
    assert i18n.t("A sentence nobody translated.") == "A sentence nobody translated."
    assert i18n.translate("Another one nobody translated.") == "Another one nobody translated."
    assert "A sentence nobody translated." in i18n.MISSES
    assert [json.loads(x) for x in misses.read_text(encoding="utf-8").splitlines()] == \
        ["A sentence nobody translated.", "Another one nobody translated."]
    assert i18n.translate("4.9% (4.0-5.9%)") == "4.9% (4.0-5.9%)" and not i18n.MISSES - {
        "A sentence nobody translated.", "Another one nobody translated."}   # figures only: nothing to translate


def test_customer_text_in_a_template_is_kept_as_written(ja):
    s = i18n.translate("Logo attrition by segment, 2026Q3")
    assert s == "セグメント別ロゴ解約率、2026Q3"
    quoted = i18n.translate("<b>Acme</b> followed with 9 accounts, 16.7% (95% CI 9.0-28.7%), and $2,425 of MRR "
                            "lost (13.8%).")
    assert "<b>Acme</b>" in quoted   # escaped where it is shown, never altered here
    assert "&lt;b&gt;Acme" in presentation.sentences_html([quoted])


def test_the_catalogue_entries_keep_their_placeholders():
    cat = i18n.catalogue("ja")
    assert len(cat) > 300
    # every Japanese placeholder is filled from the English text; a repeated value (change2) may be left out
    bad = {k: v for k, v in cat.items() if not set(_FIELDS.findall(v)) <= set(_FIELDS.findall(k))
           or {f for f in set(_FIELDS.findall(k)) - set(_FIELDS.findall(v)) if not f[-1].isdigit()}}
    assert not bad, list(bad.items())[:5]
    assert not [k for k, v in cat.items() if not v.strip()]


def test_the_catalogue_file_format(tmp_path):
    f = tmp_path / "x.txt"
    f.write_text("# comment\nen: Key findings: here\nja: 主な結果\n\nen: A long\n  text\nja: 長い\n  文\n", encoding="utf-8")
    assert i18n.read_catalogue(f) == {"Key findings: here": "主な結果", "A long text": "長い\n文"}


def test_every_heading_and_paragraph_of_the_notebooks_is_translated(ja):
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        for cell in nbformat.read(str(path), as_version=4).cells:
            if cell.cell_type == "markdown":
                i18n.translate_markdown(cell.source)
    assert not i18n.MISSES, sorted(i18n.MISSES)[:10]


def test_headers_titles_and_index_sentences_in_japanese(ja):
    assert presentation.readable_header("start_count") == "期初の有効数"
    html_ = report.styled(pd.DataFrame({"attrition_rate": [0.049], "attrition_rate_lo": [0.04],
                                        "attrition_rate_hi": [0.059], "would_return": [True]}),
                          percent=["attrition_rate", "attrition_rate_lo", "attrition_rate_hi"]).to_html()
    assert "解約率（95%信頼区間）" in html_ and "4.9% (4.0%-5.9%)" in html_ and "はい" in html_
    assert report.title_of("20-survival") == "継続率：顧客はいつ離れるか"
    card = {"kind": "rate", "value": 0.06, "prev": 0.04, "prev_p": 0.03, "prev_quarter": "2026Q2"}
    assert summary.change_text(card, "prev") == "2026Q2比 +2.0ポイント (p = 0.03)"
    assert not i18n.MISSES


def test_japanese_quotes_get_their_reason_and_sentiment_in_an_english_report(monkeypatch):
    from churnlab.sentiment import quotes_html

    monkeypatch.delenv(i18n.LANG_ENV, raising=False)
    q = pd.DataFrame({"reason": ["price_budget", "price_budget"], "kind": ["representative", "strongest"],
                      "rank": [1, 1], "quote": ["高すぎる。", "Too expensive."], "language": ["ja", "en"],
                      "sentiment_label": ["negative", "negative"], "tone": ["neutral", "frustrated"],
                      "sentiment_score": [-0.5, -0.9]})
    h = quotes_html(q, by="reason", labels={"price_budget": "価格・予算"},
                    english_labels={"price_budget": "Price / budget"})
    ja_item, en_item = re.findall(r"<li>.*?</li>", h)
    assert "reason: Price / budget" in ja_item and "sentiment: negative" in ja_item
    assert "reason:" not in en_item   # an English quote is read as it is
    with i18n.using("ja"):
        h = quotes_html(q, by="reason", labels={"price_budget": "価格・予算"})
    assert "reason:" not in h and "典型的" in h and "スコア -0.50" in h


# --------------------------------------------------------------------------- a Japanese review

# Runs of four or more English words are English prose left untranslated; code names (snake_case,
# file names), figures and the customers' own words (quotes, tables of verbatims) are not prose.
_ENGLISH_RUN = re.compile(r"\b(?:[A-Za-z][a-z]+[,;:]?\s+){3,}[A-Za-z][a-z]+")


@pytest.fixture(scope="module")
def ja_review(tmp_path_factory, sample_dir):
    out = tmp_path_factory.mktemp("ja-review")
    misses = out / "misses.txt"
    import os

    os.environ[i18n.MISSES_ENV] = str(misses)
    try:
        res = report.run_review(sample_dir, out / "ja", progress=False, echo=lambda *a: None, lang="ja")
        en = report.run_review(sample_dir, out / "en", progress=False, echo=lambda *a: None,
                               notebooks=["10-attrition", "30-churn-reasons"])
    finally:
        os.environ.pop(i18n.MISSES_ENV, None)
    found = [json.loads(x) for x in misses.read_text(encoding="utf-8").splitlines()] if misses.exists() else []
    return res, en, found


def _prose(page: str) -> str:
    """Headings, findings, paragraphs, table headers and captions of a page, as text (no tables of
    data, quotes, preformatted tables or code)."""
    page = re.sub(r"<(script|style|pre|code|td|small)\b.*?</\1\s*>", " ", page, flags=re.S | re.I)
    page = re.sub(r"<div class=\"churnlab-quotes\">.*?</div>", " ", page, flags=re.S)
    page = re.sub(r"<[^>]+>", " ", page)
    import html

    text = html.unescape(page)
    text = re.sub(r"\"[^\"]*\"|“[^”]*”", " ", text)   # quoted words (verbatims the prose cites)
    return re.sub(r"\s+", " ", text)


def test_the_japanese_review_has_the_figures_of_the_english_one(ja_review):
    res, en, _ = ja_review
    assert res.ok and en.ok, [n.error for n in res.notebooks + en.notebooks if not n.ok]
    for section in ("attrition", "reasons"):
        a = json.loads(report.metrics_path(res.out_dir, section).read_text(encoding="utf-8"))
        b = json.loads(report.metrics_path(en.out_dir, section).read_text(encoding="utf-8"))
        assert a == b, section
    ja_csv = {p.name for p in (res.out_dir / "data").glob("10-attrition-*.csv")}
    assert ja_csv == {p.name for p in (en.out_dir / "data").glob("10-attrition-*.csv")}


def test_every_japanese_page_is_japanese(ja_review):
    res, en, _ = ja_review
    pages = [res.out_dir / "index.html"] + [res.out_dir / n.html for n in res.notebooks if n.html]
    assert len(pages) == 7
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert '<html lang="ja">' in text, page.name
        prose = _prose(text)
        assert len(re.findall(r"[\u3040-\u30ff\u4e00-\u9fff]", prose)) > 200, page.name
        english = [m.group(0) for m in _ENGLISH_RUN.finditer(prose)]
        assert not english, (page.name, english[:5])
    assert '<html lang="en">' in (en.out_dir / "index.html").read_text(encoding="utf-8")


def test_every_text_of_the_japanese_review_is_in_the_catalogue(ja_review):
    _, _, missing = ja_review
    assert not missing, missing[:10]


def test_a_taxonomy_without_japanese_labels_takes_the_shipped_ones(tmp_path):
    from churnlab.reasons import load_taxonomy, reason_label

    f = tmp_path / "taxonomy.yaml"
    f.write_text("primary:\n  price_budget:\n    en: Pricing\n    secondary:\n      too_expensive: {en: Too dear}\n"
                 "      our_own: {en: Our own reason}\n  custom_reason:\n    en: Custom reason\n    ja: 独自の理由\n"
                 "    secondary:\n      custom_sub: {en: Custom sub}\n", encoding="utf-8")
    tax = load_taxonomy(f)
    assert reason_label("price_budget", tax, lang="ja") == "価格・予算"          # shipped code: shipped label
    assert reason_label("price_budget", tax) == "Pricing"                       # the user's English label
    assert reason_label("too_expensive", tax, lang="ja", level="secondary") == "価格が高い"
    assert reason_label("our_own", tax, lang="ja", level="secondary") == "Our own reason"   # no Japanese: English
    assert reason_label("custom_reason", tax, lang="ja") == "独自の理由"        # the user's own Japanese


def test_chart_words_are_translated_and_data_labels_kept(ja):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from churnlab.plotting._style import chart_title, translate_figure

    fig, ax = plt.subplots()
    ax.bar(["active at start", "churned", "Enterprise"], [3, 1, 2], label="share of MRR lost")
    ax.set_title("Monthly logo attrition")
    ax.set_ylabel("attrition rate")
    ax.legend()
    translate_figure(fig)
    fig.canvas.draw()
    assert ax.get_title() == "月次ロゴ解約率" and ax.get_ylabel() == "解約率"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["期初の有効数", "解約", "Enterprise"]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["失った MRR の割合"]
    assert chart_title(fig) == "グラフ: 月次ロゴ解約率"
    plt.close(fig)
    assert not i18n.MISSES
