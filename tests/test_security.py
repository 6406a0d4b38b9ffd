"""A payload-laden company through the whole review: nothing runs, no formula, no personal data.

:func:`hostile_company` copies the small sample company and puts hostile text where customers and
CRM users can type: account attributes (segment, plan, industry, region, acquisition channel), account
ids, competitor names, what churned customers liked, and their verbatims, which also carry personal
data that the first redaction missed. The review runs on it once per test session (all notebooks),
then every published file is scanned and every HTML page is rendered in a real headless Chromium.
"""
from __future__ import annotations

import csv
import html
import json
import re
import shutil
import subprocess
import time
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

# Script payloads: each one, if it ever ran, leaves a trace in the DOM: the title "XSS" or an
# <xss-ran> element.
MARK = "document.title='XSS'"
RAN = "document.body.appendChild(document.createElement('xss-ran'))"
IMG = f'<img src=x onerror="{MARK}">'
SCRIPT = f"<script>{MARK}</script>"
SVG = f'"><svg onload="{RAN}">'
IMG2 = f"<img src=x onerror=\"{RAN}\">"
MDLINK = "[x](javascript:alert(1))"
MDIMG = "![](http://evil.invalid/x.png)"
FORMULA = '=HYPERLINK("http://evil.invalid","x")'
CMD = "=cmd|' /C calc'!A0"
MATH = "$99 \\cost$ plan"
PAYLOADS = [IMG, SCRIPT, SVG, IMG2, MDLINK, MDIMG, FORMULA, CMD, MATH]

# Personal data written into verbatims; none of it may be published.
PII = ["jane.doe@evil-example.com", "ｊａｎｅ＠ｅｘａｍｐｌｅ．ｃｏｍ", "taro＠ｅｘａｍｐｌｅ.co.jp",
       "(415) 555-0147 ext. 555 0199", "bit.ly/3xYzAbc", "http://例え.jp/パス", "https://bücher.de/kontakt",
       "acme-evil.de/kontakt", "内線4321", "t.co/AbC123"]
# what must not appear of them (a piece is enough to identify someone)
PII_PIECES = ["jane.doe", "ｊａｎｅ＠", "taro＠", "555-0147", "555 0199", "bit.ly/3xYzAbc", "例え.jp", "bücher.de",
              "acme-evil.de", "内線4321", "t.co/AbC123"]

# which sample values are replaced (a reference segment "Enterprise" and contract stay as they are)
ATTRIBUTES = {
    "segment": {"SMB": IMG, "Mid-Market": MDLINK},
    "plan": {"Starter": MATH, "Growth": SCRIPT},
    "industry": {"Software": SVG, "Retail": FORMULA, "Media": MDIMG},
    "region": {"EMEA": SCRIPT, "APAC": "+SUM(1,1)", "LATAM": "\\cost_of^living"},
    "acquisition_channel": {"organic": IMG2, "partner": CMD, "referral": "@SUM(A1)"},
}
IDS = [FORMULA, IMG, "-2+3", "@evil"]


def hostile_company(out_dir, *, seed: int = 7, n_accounts: int = 300) -> Path:
    """Write a small sample company with payloads in every customer-controlled text field.

    Returns the data folder. The sample is generated at ``n_accounts`` (fast), then account
    attributes, a few account ids (in every table), competitors, ``liked`` and verbatims are replaced
    with the payloads of this module; verbatims also get the personal data of :data:`PII`.
    """
    from churnlab.sample import generate

    out = Path(out_dir)
    generate(out, seed=seed, n_accounts=n_accounts)
    acc = pd.read_csv(out / "accounts.csv", dtype=str, keep_default_na=False)
    ex = pd.read_csv(out / "exit_interviews.csv", dtype=str, keep_default_na=False)
    for col, repl in ATTRIBUTES.items():
        acc[col] = acc[col].replace(repl)
    # account ids: responders who churned, so they reach the win-back list and the drill-down
    responders = ex.loc[ex["completed_at"] != "", "account_id"].drop_duplicates().tolist()
    ids = dict(zip(responders[: len(IDS)], IDS))
    acc["account_id"] = acc["account_id"].replace(ids)
    ex["account_id"] = ex["account_id"].replace(ids)
    for table in ("subscriptions", "users", "events"):
        path = out / f"{table}.parquet"
        if path.exists():
            t = pd.read_parquet(path)
            t["account_id"] = t["account_id"].astype(object).replace(ids)
            t.to_parquet(path, index=False)
    # customer-success tables: the same ids; payloads and personal data in ticket text, topics and NPS comments
    for table in ("health_scores", "support_tickets", "nps_responses", "touchpoints"):
        path = out / f"{table}.csv"
        if path.exists():
            t = pd.read_csv(path, dtype=str, keep_default_na=False)
            t["account_id"] = t["account_id"].replace(ids)
            if table == "support_tickets":
                t.loc[t.index[:6], "text"] = [f"{IMG} {SCRIPT}", FORMULA, f"Call {PII[3]} or {PII[0]}", MDLINK, CMD, SVG]
                t.loc[t.index[:4], "topic"] = [IMG, FORMULA, MDLINK, SCRIPT]
            if table == "nps_responses":
                t.loc[t.index[:3], "comment"] = [f"Mail {PII[0]} {IMG}", FORMULA, MDLINK]
            t.to_csv(path, index=False)
    answered = ex.index[ex["completed_at"] != ""].tolist()
    comp = ex.index[ex["competitor"] != ""].tolist()
    for i, payload in zip(comp, [IMG, FORMULA, SVG, MDLINK]):
        ex.loc[i, "competitor"] = payload
    for i, payload in zip(answered, [IMG2, CMD, SCRIPT, MDLINK, "+1+1", MATH]):
        ex.loc[i, "liked"] = payload
        ex.loc[i, "would_return"] = "yes"
    # the exit-sentiment notebook shows a few verbatims of each language of its last four quarters
    recent = [i for i in answered if ex.loc[i, "verbatim"] and ex.loc[i, "completed_at"] >= "2025-10-01"]
    n_ja = sum(ex.loc[i, "language"] == "ja" for i in recent)
    for i in [i for i in recent if ex.loc[i, "language"] != "ja"][: max(0, 5 - n_ja)]:
        ex.loc[i, ["verbatim", "language"]] = ["サポートの返事が遅く、価格も高すぎた。残念です。", "ja"]
    verb = [i for i in answered if ex.loc[i, "verbatim"]]
    extra = [f" Contact me at {PII[0]} or {PII[1]}.", f" 連絡先は{PII[2]}、電話{PII[3]}。",
             f" Details: {PII[4]} and {PII[5]} or {PII[6]}", f" Our page {PII[7]}, {PII[8]}まで, see {PII[9]}",
             f" {IMG} {SCRIPT}", f" {MDLINK} {MDIMG} {FORMULA}"]
    for k, i in enumerate(verb):
        ex.loc[i, "verbatim"] = ex.loc[i, "verbatim"] + extra[k % len(extra)]
    acc.to_csv(out / "accounts.csv", index=False)
    ex.to_csv(out / "exit_interviews.csv", index=False)
    return out


@pytest.fixture(scope="module")
def hostile_review(tmp_path_factory):
    from churnlab.report import run_review

    base = tmp_path_factory.mktemp("hostile")
    data = hostile_company(base / "data")
    t0 = time.perf_counter()
    result = run_review(data, base / "report", progress=False, echo=lambda *a: None)
    result.seconds = time.perf_counter() - t0
    return result


def _published(out: Path, *suffixes):
    return sorted(p for p in out.rglob("*") if p.suffix in suffixes and p.is_file())


def test_hostile_data_is_accepted_and_every_notebook_runs(hostile_review):
    assert [n.name for n in hostile_review.notebooks] == ["00-data-check", "10-attrition", "20-survival",
                                                          "30-churn-reasons", "40-exit-sentiment", "50-at-risk"]
    failed = {n.name: n.error for n in hostile_review.notebooks if not n.ok}
    assert not failed
    assert all(n.html for n in hostile_review.notebooks)
    assert (hostile_review.out_dir / "winback.csv").exists()
    assert (hostile_review.out_dir / "reasons-drilldown.csv").exists()
    assert (hostile_review.out_dir / "at-risk.csv").exists()


class _Elements(HTMLParser):
    """The elements of a page as a browser's parser sees them: tags, attributes and script text."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags, self.scripts, self._in_script = [], [], False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_endtag(self, tag):
        self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.scripts.append(data)


def test_no_payload_markup_in_html(hostile_review):
    pages = _published(hostile_review.out_dir, ".html")
    assert len(pages) == 7
    for page in pages:
        parsed = _Elements()
        parsed.feed(page.read_text(encoding="utf-8"))
        for tag, attrs in parsed.tags:
            handlers = {k: v for k, v in attrs.items() if k.startswith("on")}
            assert not handlers, (page.name, tag, handlers)           # no inline event handler at all
            assert not (tag in ("img", "svg", "iframe") and attrs.get("src") == "x"), (page.name, tag)
            for key in ("href", "src", "action", "formaction"):
                assert not (attrs.get(key) or "").strip().lower().startswith("javascript:"), (page.name, attrs)
        assert not [s for s in parsed.scripts if "XSS" in s or "xss-ran" in s], page.name
        # no MathJax, which would typeset "$99 \\cost$ plan" from the data as mathematics
        assert not [a for t, a in parsed.tags if t == "script" and "mathjax" in (a.get("src") or "").lower()]
    # the payloads are shown, as text, where the data puts them: tables and sentences, and printed
    # output (nbconvert escapes streams)
    text = (hostile_review.out_dir / "10-attrition.html").read_text(encoding="utf-8")
    assert "&lt;img src=x onerror=" in text and "in [x](javascript:alert(1)) (" in text   # a sentence, as text
    printed = (hostile_review.out_dir / "20-survival.html").read_text(encoding="utf-8")
    assert re.search(r"&lt;img src=x onerror=.{0,40}&gt; +median lifetime", printed)


def test_csv_attachments_have_no_formula_cells(hostile_review):
    files = _published(hostile_review.out_dir, ".csv")
    assert {p.name for p in files} >= {"winback.csv", "reasons-drilldown.csv", "at-risk.csv"}
    seen = set()
    for path in files:
        with path.open(encoding="utf-8", newline="") as f:
            for row in csv.reader(f):
                for cell in row:
                    seen.add(cell)
                    if cell[:1] in ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠") or \
                            cell.lstrip()[:1] in ("=", "+", "@"):
                        assert re.fullmatch(r"[+-]?\d+(\.\d+)?([eE][+-]?\d+)?", cell.strip()), (path.name, cell)
    # the hostile account id is in the win-back list, neutralised (and its URL, personal data, removed)
    assert "'" + FORMULA.replace("http://evil.invalid", "[url]") in seen


def _texts(path: Path) -> list[str]:
    raw = path.read_text(encoding="utf-8")
    texts = [raw, html.unescape(raw)]
    if path.suffix in (".json", ".ipynb"):
        texts.append(json.dumps(json.loads(raw), ensure_ascii=False))
    return texts


def test_no_personal_data_in_any_published_file(hostile_review):
    files = _published(hostile_review.out_dir, ".html", ".csv", ".json", ".ipynb")
    assert any(p.suffix == ".ipynb" for p in files)
    for path in files:
        for text in _texts(path):
            for piece in PII_PIECES:
                assert piece not in text, (path.relative_to(hostile_review.out_dir), piece)


def test_verbatims_with_personal_data_reach_the_report_redacted(hostile_review):
    page = (hostile_review.out_dir / "40-exit-sentiment.html").read_text(encoding="utf-8")
    assert "[email]" in page or "[url]" in page or "[phone]" in page


def test_review_time(hostile_review):
    """All six notebooks on the small hostile company (printed for the record; a loose bound)."""
    print(f"hostile review: {hostile_review.seconds:.0f} s")
    assert hostile_review.seconds < 600


# --------------------------------------------------------------------------------------------
# A real browser: render every page and check that no script ran
# --------------------------------------------------------------------------------------------

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (CI installs it with "
                                    "apt-get install chromium; see .ci/run)")


def dump_dom(page: Path, profile: Path) -> str:
    """The DOM of ``page`` after Chromium loaded it and ran its scripts (headless, no network needed)."""
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
           f"--user-data-dir={profile}", "--virtual-time-budget=3000", "--dump-dom", page.resolve().as_uri()]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def _ran(dom: str) -> bool:
    title = re.search(r"<title>(.*?)</title>", dom, re.S)
    return "<xss-ran" in dom or (title is not None and title.group(1).strip() == "XSS")


@needs_chromium
def test_browser_detects_a_script_that_runs(tmp_path):
    """The check can fail: unescaped payloads do run in this browser."""
    page = tmp_path / "control.html"
    page.write_text(f"<!doctype html><html><head><title>ok</title></head><body>{IMG}{SVG}</body></html>",
                    encoding="utf-8")
    assert _ran(dump_dom(page, tmp_path / "profile"))


@needs_chromium
def test_no_script_runs_in_a_browser(hostile_review, tmp_path):
    pages = _published(hostile_review.out_dir, ".html")
    assert len(pages) == 7
    for i, page in enumerate(pages):
        dom = dump_dom(page, tmp_path / f"profile-{i}")
        assert "<body" in dom, page.name
        assert not _ran(dom), page.name
