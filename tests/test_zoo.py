"""The zoo of companies: the whole review on every company shape of ``churnlab sample --shape``.

Each shape (``churnlab.sample.SHAPES``, documented in ``docs/sample-data.md``) is a small company
unlike the sample: no churn dates, event-only purchases, no segments, blank categories, Japanese
labels, a first year, zero churn, ... For each one the test generates the data, runs
:func:`churnlab.report.run_review` with the shape's ``churnlab.yaml`` and checks that

- no notebook fails;
- the published text (the visible text of every HTML page, and ``metrics.json``) shows no ``nan``,
  ``None``, ``NaT``, ``inf`` or traceback;
- the headline figures agree with a computation by hand from the shape's files, written here from the
  documented definitions (docs/attrition.md, docs/reasons.md), not from the code: logo attrition of
  the reviewed quarter and exit-interview participation;
- no name of the sample company (its events, segments, competitors, change date, the "onboarding
  redesign", "$" where the config says another currency) appears in a report of a zoo company.

Reviews run once per shape and session, on first use, so ``-k japanese`` runs one review only.
A review of one shape takes 25-60 s on a busy 2-core machine (``messy-categories`` about two
minutes); ``pytest -s`` prints the time of each.
"""
from __future__ import annotations

import html
import json
import re
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from churnlab.sample import SHAPES, generate

ZOO = list(SHAPES)

# Names that belong to the sample company; a zoo company has none of them in its data, so none may
# appear in its reports (the sample's defaults must not leak).
SAMPLE_NAMES = ["report_created", "dashboard_shared", "workflow_run", "integration_synced",
                "export_created", "SMB", "Mid-Market", "Enterprise", "Northwind", "Acme Analytics",
                "Globex", "Initech", "North America", "EMEA", "LATAM", "2025-01-01",
                "onboarding redesign"]
# Words that must never be published: a missing or non-finite value shown as such.
BAD_WORDS = re.compile(r"\b(?:nan|NaN|NaT|inf|None(?! of\b))\b")
TRACEBACK = re.compile(r"Traceback \(most recent call last\)|\b[A-Z]\w*(?:Error|Exception|Warning)\b")


# --------------------------------------------------------------------------- running the reviews

@dataclass
class Review:
    shape: str
    data: Path
    out: Path
    config: Path | None
    seconds: float = 0.0
    result: object = None
    error: str = ""                    # the review itself raised (nothing published)
    pages: dict = field(default_factory=dict)     # page name -> visible text
    raw: dict = field(default_factory=dict)       # page name -> HTML
    metrics: dict = field(default_factory=dict)


def _review_shape(shape: str, root: str, sample_dir: str | None = None) -> Review:
    """Generate ``shape`` (or take the sample company) and review it; runs in a worker process."""
    from churnlab.report import run_review

    root = Path(root)
    if shape == "sample":
        data = Path(sample_dir)
    else:
        data = root / "data" / shape
        if not (data / "accounts.csv").exists():
            generate(data, shape=shape)
    config = data / "churnlab.yaml"
    rv = Review(shape, data, root / "reports" / shape, config if config.exists() else None)
    t0 = time.perf_counter()
    try:
        # the zoo runs two reviews at a time already: one notebook at a time in each
        rv.result = run_review(data, rv.out, config=rv.config, progress=False, echo=lambda *a: None, jobs=1)
    except Exception as e:  # the review could not start: every check of the shape fails with it
        tb = traceback.extract_tb(e.__traceback__)[-1]
        rv.error = f"{type(e).__name__}: {e} (at {Path(tb.filename).name}:{tb.lineno})"
    rv.seconds = time.perf_counter() - t0
    if not rv.error:
        for page in sorted(rv.out.glob("*.html")):
            rv.raw[page.name] = page.read_text(encoding="utf-8")
            rv.pages[page.name] = visible_text(rv.raw[page.name])
        rv.metrics = json.loads((rv.out / "metrics.json").read_text(encoding="utf-8"))
    return rv


class Zoo:
    """Generates and reviews each shape once. The shapes the session's tests ask for are reviewed
    up front, two at a time (the machine has two cores; a review mostly waits on its kernel)."""

    def __init__(self, root: Path, shapes=(), sample_dir: Path | None = None, workers: int = 2):
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        self.root, self.sample_dir = root, sample_dir
        self.reviews: dict[str, Review] = {}
        self.futures = {}
        if len(shapes) > 1:
            self.pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
            order = sorted(shapes, key=lambda s: s != "messy-categories")   # the longest first
            self.futures = {s: self.pool.submit(_review_shape, s, str(root), str(sample_dir)) for s in order}
        else:
            self.pool = None

    def data(self, shape: str) -> Path:
        if shape in self.futures:   # its review's worker writes the data: read it once written
            self.review(shape)
        folder = self.root / "data" / shape
        if not (folder / "accounts.csv").exists():
            generate(folder, shape=shape)
        return folder

    def review(self, shape: str) -> Review:
        if shape not in self.reviews:
            fut = self.futures.get(shape)
            self.reviews[shape] = fut.result() if fut is not None else _review_shape(
                shape, str(self.root), str(self.sample_dir))
        return self.reviews[shape]

    def close(self):
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)


@pytest.fixture(scope="session")
def zoo(tmp_path_factory, request, sample_dir):
    wanted = sorted({item.callspec.params["shape"] for item in request.session.items
                     if hasattr(item, "callspec") and "shape" in item.callspec.params})
    z = Zoo(tmp_path_factory.mktemp("zoo"), wanted, sample_dir)
    yield z
    z.close()
    if z.reviews:
        total = sum(r.seconds for r in z.reviews.values())
        print(f"\nzoo reviews: {len(z.reviews)} in {total:.0f} s of review time ("
              + ", ".join(f"{s} {r.seconds:.0f} s" for s, r in z.reviews.items()) + ")")


def reviewed(zoo, shape) -> Review:
    rv = zoo.review(shape)
    if rv.error:
        pytest.fail(f"{shape}: the review did not run: {rv.error}", pytrace=False)
    return rv


def visible_text(page: str) -> str:
    """The text a reader sees on an HTML page: scripts, styles and tags removed, entities decoded."""
    page = re.sub(r"<(script|style)\b.*?</\1\s*>", " ", page, flags=re.S | re.I)
    page = re.sub(r"<!--.*?-->", " ", page, flags=re.S)
    page = re.sub(r"<[^>]+>", " ", page)
    return re.sub(r"\s+", " ", html.unescape(page))


def hits(pattern, text: str, limit: int = 5) -> list[str]:
    return [f"...{text[max(0, m.start() - 70):m.end() + 70]}..."
            for m in list(re.finditer(pattern, text))[:limit]]


def strings(value):
    """Every string inside a JSON value (keys included)."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield str(k)
            yield from strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from strings(v)
    elif isinstance(value, str):
        yield value


# --------------------------------------------------------------------------- hand computations

def read_config(folder: Path) -> dict:
    path = folder / "churnlab.yaml"
    return yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else {}


def read_tables(folder: Path) -> dict:
    t = {"accounts": pd.read_csv(folder / "accounts.csv", dtype=str, keep_default_na=False)}
    for name in ("subscriptions", "events"):
        if (folder / f"{name}.parquet").exists():
            t[name] = pd.read_parquet(folder / f"{name}.parquet")
    if (folder / "exit_interviews.csv").exists():
        t["exit_interviews"] = pd.read_csv(folder / "exit_interviews.csv", dtype=str, keep_default_na=False)
    return t


def day(values) -> pd.Series:
    return pd.to_datetime(pd.Series(values).replace("", None))


def data_end(t: dict) -> pd.Timestamp:
    """The last day with data: latest signup, churn date, billed month (its last day) or event."""
    acc = t["accounts"]
    ends = [day(acc["signup_date"]).max()]
    if "churn_date" in acc:
        ends.append(day(acc["churn_date"]).max())
    if "subscriptions" in t:
        ends.append(pd.Timestamp(t["subscriptions"]["month"].max()) + pd.offsets.MonthEnd(0))
    if "events" in t:
        ends.append(pd.Timestamp(t["events"]["ts"].max()).tz_localize(None).normalize())
    return max(e for e in ends if pd.notna(e))


def reviewed_quarter(end: pd.Timestamp, t: dict | None = None, config: dict | None = None) -> pd.Period:
    """The latest quarter whose last day is on or before the data end; when churn is inferred from
    inactivity (no churn_date column), on or before the data end less the inactivity days."""
    if t is not None and "churn_date" not in t["accounts"] and t.get("events") is not None:
        end = end - pd.Timedelta(days=int(((config or {}).get("analysis") or {}).get("inactivity_days", 60)))
    q = end.to_period("Q")
    return q if q.end_time.normalize() <= end else q - 1


def spells(t: dict, config: dict, end: pd.Timestamp) -> pd.DataFrame:
    """Spells of service ``account_id, start, stop`` (stop = first day without service, NaT = open).

    Contract (the accounts have a ``churn_date`` column, even an empty one: nobody has churned):
    signup_date to churn_date. Without a churn_date column: runs of days with a qualified event
    (the config's ``activity.events``) broken by more than ``inactivity_days`` days of silence; a
    spell ends the day after its last active day unless the data end is at most ``inactivity_days``
    after it; the first spell starts at the signup; an account without a qualified event never
    started, unless it signed up within ``inactivity_days`` of the data end.
    """
    acc = t["accounts"]
    signup = day(acc["signup_date"])
    if "churn_date" in acc:
        return pd.DataFrame({"account_id": acc["account_id"], "start": signup, "stop": day(acc["churn_date"])})
    gap = int((config.get("analysis") or {}).get("inactivity_days", 60))
    qualified = config["activity"]["events"]
    ev = t["events"]
    ev = ev[ev["event"].isin(qualified)]
    days = (pd.DataFrame({"account_id": ev["account_id"],
                          "day": pd.to_datetime(ev["ts"]).dt.tz_convert("UTC").dt.tz_localize(None).dt.normalize()})
            .drop_duplicates().sort_values(["account_id", "day"]))
    first_signup = dict(zip(acc["account_id"], signup))
    rows = []
    for aid, g in days.groupby("account_id", sort=True):
        d = g["day"].tolist()
        run_start = d[0]
        for prev, cur in zip(d, d[1:] + [None]):
            if cur is None or (cur - prev).days > gap:
                rows.append((aid, run_start, prev))
                run_start = cur
    out = []
    for i, (aid, s, last) in enumerate(rows):
        is_first = i == 0 or rows[i - 1][0] != aid
        is_last = i == len(rows) - 1 or rows[i + 1][0] != aid
        start = min(s, first_signup[aid]) if is_first else s
        stop = pd.NaT if is_last and (end - last).days <= gap else last + pd.Timedelta(days=1)
        out.append((aid, start, stop))
    active = set(days["account_id"])
    for aid, s in first_signup.items():
        if aid not in active:
            out.append((aid, s, pd.NaT if (end - s).days <= gap else s))
    return pd.DataFrame(out, columns=["account_id", "start", "stop"])


def hand_logo_attrition(t: dict, config: dict, q: pd.Period) -> tuple[int, int]:
    """(base, churned) of quarter ``q``: base = active on the first day (a spell with start <= first
    day < stop); churned = those of them not still active at the end (served on the last day and
    not leaving on the day after), i.e. whose churn date falls in (first day, last day + 1]."""
    sp = spells(t, config, data_end(t))
    first = q.start_time.normalize()
    last = q.end_time.normalize()
    after = last + pd.Timedelta(days=1)
    stop = sp["stop"].fillna(pd.Timestamp("2262-01-01"))
    base = set(sp.loc[(sp["start"] <= first) & (stop > first), "account_id"])
    still = set(sp.loc[(sp["start"] <= last) & (stop > after), "account_id"])
    return len(base), len(base - still)


def hand_participation(t: dict, q: pd.Period) -> tuple[int, int]:
    """(completed, invited) of the accounts whose churn_date falls in quarter ``q``: exact duplicate
    rows dropped, one interview per account (the completed one when there is one)."""
    iv = t["exit_interviews"].drop_duplicates()
    iv = (iv.assign(done=iv["completed_at"] != "").sort_values(["account_id", "done"])
          .drop_duplicates("account_id", keep="last"))
    churn = dict(zip(t["accounts"]["account_id"], day(t["accounts"]["churn_date"])))
    in_q = iv["account_id"].map(churn).map(lambda d: pd.notna(d) and d.to_period("Q") == q)
    iv = iv[in_q.astype(bool)]
    return int(iv["done"].sum()), len(iv)


# --------------------------------------------------------------------------- the shapes themselves

def test_shapes_are_deterministic(tmp_path):
    for shape in ("b2c-events", "japanese"):
        generate(tmp_path / "a" / shape, shape=shape)
        generate(tmp_path / "b" / shape, shape=shape)
        files = sorted(p.relative_to(tmp_path / "a" / shape) for p in (tmp_path / "a" / shape).rglob("*"))
        assert files
        for f in files:
            assert (tmp_path / "a" / shape / f).read_bytes() == (tmp_path / "b" / shape / f).read_bytes(), f


@pytest.mark.parametrize("shape", ZOO)
def test_shape_has_no_sample_company_names(zoo, shape):
    folder = zoo.data(shape)
    found = {}
    for f in folder.iterdir():
        if f.suffix == ".parquet":
            frame = pd.read_parquet(f)
            text = "\n".join(str(v) for c in frame.columns if frame[c].dtype == object
                             for v in frame[c].dropna().unique())
        else:
            text = f.read_text(encoding="utf-8")
        for name in SAMPLE_NAMES:
            if re.search(rf"(?i)\b{re.escape(name)}\b", text):
                found.setdefault(f.name, []).append(name)
    assert not found, f"{shape}: the data carries names of the sample company: {found}"


def test_shapes_are_what_they_say(zoo):
    """Each shape has the property it is named for (so the review checks test what they claim)."""
    acc = {s: pd.read_csv(zoo.data(s) / "accounts.csv", dtype=str, keep_default_na=False)
           for s in ("accounts-only", "no-churn-column", "b2c-events", "no-segments", "single-segment",
                     "messy-categories", "first-year", "zero-churn", "contracts")}
    assert sorted(p.name for p in zoo.data("accounts-only").iterdir()) == ["accounts.csv"]
    assert (acc["accounts-only"]["churn_date"] != "").sum() > 50
    assert not {"churn_date", "cancel_date"} & set(acc["no-churn-column"])
    assert (zoo.data("no-churn-column") / "events.parquet").exists()
    assert list(acc["b2c-events"].columns) == ["account_id", "signup_date"]
    ev = pd.read_parquet(zoo.data("b2c-events") / "events.parquet")
    assert set(ev["event"]) == {"purchase", "refund"} and "user_id" not in ev
    assert not {"segment", "plan", "region"} & set(acc["no-segments"])
    assert acc["single-segment"]["segment"].nunique() == 1
    messy = acc["messy-categories"]
    assert 0.10 < (messy["segment"] == "").mean() < 0.20 and (messy["industry"] == "").any()
    assert messy["region"].nunique() >= 1100
    assert "user_id" not in pd.read_parquet(zoo.data("no-user-id") / "events.parquet")
    for shape, rate in (("all-respond", 1.0), ("none-respond", 0.0)):
        iv = pd.read_csv(zoo.data(shape) / "exit_interviews.csv", dtype=str, keep_default_na=False)
        assert len(iv) > 20 and (iv["completed_at"] != "").mean() == rate
    assert "competitor" not in pd.read_csv(zoo.data("no-competitors") / "exit_interviews.csv", nrows=1)
    ja = pd.read_csv(zoo.data("japanese") / "exit_interviews.csv", dtype=str, keep_default_na=False)
    said = ja.loc[ja["verbatim"] != "", "verbatim"]
    assert len(said) > 10 and said.str.contains("[\u3040-\u30ff\u4e00-\u9fff]").all()
    assert set(ja.loc[ja["language"] != "", "language"]) == {"ja"}
    signup = day(acc["first-year"]["signup_date"])
    assert signup.min().year == signup.max().year == reviewed_quarter(data_end(read_tables(zoo.data("first-year")))).year
    assert (acc["zero-churn"]["churn_date"] == "").all() and (acc["zero-churn"]["cancel_date"] == "").all()
    assert set(acc["contracts"]["contract"]) == {"Month-to-Month", "quarterly", "One Year", "ANNUAL", "Two Year"}
    assert "Don't know" in set(pd.read_csv(zoo.data("contracts") / "exit_interviews.csv")["primary_reason"])


# --------------------------------------------------------------------------- the reviews

@pytest.mark.parametrize("shape", ZOO)
def test_review_has_no_failed_notebook(zoo, shape):
    rv = reviewed(zoo, shape)
    failed = [f"{n.name}: {n.error}" for n in rv.result.notebooks if not n.ok]
    assert not failed, f"{shape}: failed notebooks:\n  " + "\n  ".join(failed)


@pytest.mark.parametrize("shape", ZOO)
def test_published_text_shows_no_missing_values_or_tracebacks(zoo, shape):
    rv = reviewed(zoo, shape)
    problems = []
    for page, text in rv.pages.items():
        for h in hits(BAD_WORDS, text) + hits(TRACEBACK, text):
            problems.append(f"{page}: {h}")
    raw = (rv.out / "metrics.json").read_text(encoding="utf-8")
    problems += [f"metrics.json: {h}" for h in hits(r"\b(?:NaN|-?Infinity)\b", raw)]
    problems += [f"metrics.json: {s!r}" for s in strings(rv.metrics) if BAD_WORDS.search(s)]
    assert not problems, f"{shape}: published text with missing values or errors:\n  " + "\n  ".join(problems)


@pytest.mark.parametrize("shape", ZOO)
def test_logo_attrition_matches_hand_computation(zoo, shape):
    rv = reviewed(zoo, shape)
    t, config = read_tables(rv.data), read_config(rv.data)
    q = reviewed_quarter(data_end(t), t, config)
    base, churned = hand_logo_attrition(t, config, q)
    assert base > 50, "the shape is too small to say anything"
    if shape == "zero-churn":
        assert churned == 0
    m = rv.metrics
    assert m.get("quarter") == f"{q.year}Q{q.quarter}"
    got = {k: m.get(k) for k in ("logo_start", "logo_churned", "logo_attrition_rate")}
    want = {"logo_start": base, "logo_churned": churned, "logo_attrition_rate": churned / base}
    assert got["logo_start"] == want["logo_start"] and got["logo_churned"] == want["logo_churned"] \
        and got["logo_attrition_rate"] == pytest.approx(want["logo_attrition_rate"], abs=1e-9), \
        f"{shape} {q}: metrics {got}, by hand {want}"


@pytest.mark.parametrize("shape", [s for s in ZOO if s not in ("accounts-only", "no-churn-column", "b2c-events")])
def test_participation_matches_hand_computation(zoo, shape):
    rv = reviewed(zoo, shape)
    t = read_tables(rv.data)
    q = reviewed_quarter(data_end(t), t, read_config(rv.data))
    k, n = hand_participation(t, q)
    got = rv.metrics.get("participation_rate")
    if n == 0:
        assert got is None, f"{shape} {q}: nobody invited, but participation {got}"
        return
    assert got == pytest.approx(k / n, abs=1e-6), f"{shape} {q}: participation {got}, by hand {k}/{n}"
    if shape == "all-respond":
        assert k == n
    if shape == "none-respond":
        assert k == 0


@pytest.mark.parametrize("shape", ZOO)
def test_reports_name_nothing_of_the_sample_company(zoo, shape):
    rv = reviewed(zoo, shape)
    texts = dict(rv.pages)
    texts["metrics.json"] = " ".join(strings(rv.metrics))
    found = []
    for page, text in texts.items():
        for name in SAMPLE_NAMES:
            found += [f"{page}: {name!r}: {h}" for h in hits(rf"(?i)\b{re.escape(name)}\b", text, limit=2)]
    currency = str((read_config(rv.data).get("analysis") or {}).get("currency", "$"))
    if currency not in ("$", "USD"):
        for page, text in rv.pages.items():
            found += [f"{page}: '$' although the currency is {currency}: {h}" for h in hits(r"\$", text, limit=2)]
    assert not found, f"{shape}: the reports show the sample company's names:\n  " + "\n  ".join(found)


# --------------------------------------------------------------------------- pages a VP can read

E_NOTATION = re.compile(r"\b\d(?:\.\d+)?[eE][-+]?\d+\b")
SNAKE_HEADER = re.compile(r"<th\b[^>]*>\s*([^<]*\b[a-z0-9]+_[a-z0-9_]+\b[^<]*)</th>")
EXTERNAL = re.compile(r"""(?:\bsrc|\bhref)\s*=\s*["']?\s*(?:https?:)?//|@import|url\(\s*["']?(?:https?:)?//""", re.I)


@pytest.mark.parametrize("shape", ["sample", *ZOO])
def test_pages_read_like_a_report(zoo, shape):
    """What a stakeholder would stumble on: missing values, e-notation, midnight timestamps, snake_case
    headers, anything loaded from another site, charts without a description, oversized pages."""
    rv = reviewed(zoo, shape)
    problems = []
    for page, raw in rv.raw.items():
        text = rv.pages[page]
        for pattern, what in ((BAD_WORDS, "missing value"), (E_NOTATION, "e-notation"),
                              (re.compile("00:00:00"), "midnight timestamp")):
            problems += [f"{page}: {what}: {h}" for h in hits(pattern, text, 3)]
        problems += [f"{page}: snake_case header {m!r}" for m in SNAKE_HEADER.findall(raw)[:3]]
        problems += [f"{page}: loads from another site: {h}" for h in hits(EXTERNAL, raw, 3)]
        if "No description has been provided" in raw or re.search(r"<img(?![^>]*\balt=)[^>]*>", raw):
            problems.append(f"{page}: a chart without a description")
        if shape == "sample" and len(raw.encode("utf-8")) > 1_000_000:
            problems.append(f"{page}: {len(raw.encode('utf-8')):,} bytes (over 1 MB)")
        if page != "index.html" and not re.search(r"<nav\b[^>]*class=\"toc\"", raw):
            problems.append(f"{page}: no contents list")
    assert not problems, f"{shape}:\n  " + "\n  ".join(problems)


@pytest.mark.parametrize("shape", ["sample", *ZOO])
def test_data_twins_are_named_and_listed_in_a_stable_order(zoo, shape):
    """Every chart and table has one data twin named for what it shows (never "table"), no panel of a
    chart has a twin of its own, row positions are no column, and the manifest lists them by page
    and file whatever order the notebooks ran in."""
    rv = reviewed(zoo, shape)
    folder = rv.out / "data"
    entries = [json.loads(ln) for ln in (folder / "manifest.jsonl").read_text(encoding="utf-8").splitlines()]
    assert entries, shape
    problems = [f"{e['file']}: titled {e['title']!r}" for e in entries if e["title"].strip().lower() in ("", "table")]
    problems += [f"{e['file']}: an 'index' column" for e in entries if "index" in e["columns"]]
    problems += [f"{e['file']}: the verbatims' every column" for e in entries if "verbatim" in e["columns"]]
    assert not problems, f"{shape}:\n  " + "\n  ".join(problems)
    assert [(e["page"], e["file"]) for e in entries] == sorted((e["page"], e["file"]) for e in entries)
    listed = {e["file"] for e in entries}
    assert listed == {f.name for f in folder.glob("*.csv")} - {"manifest.csv"}
    manifest = pd.read_csv(folder / "manifest.csv")
    assert manifest["file"].tolist() == [e["file"] for e in entries]


def test_index_agrees_with_the_figures_of_this_quarter_the_last_and_a_year_ago(zoo):
    from statsmodels.stats.proportion import proportions_ztest

    from churnlab.periods import Period

    rv = reviewed(zoo, "sample")
    m = rv.metrics
    q = Period.quarter(m["quarter"])
    prev, year = q.previous(1).label, q.previous(4).label
    by = m["attrition_by_quarter"]
    now = by[q.label]
    assert now["logo_churned"] == m["logo_churned"] and now["logo_start"] == m["logo_start"]
    assert m["previous_quarter"]["quarter"] == prev and m["year_ago"]["quarter"] == year
    assert m["previous_quarter"]["logo_attrition_rate"] == by[prev]["logo_attrition_rate"]
    assert m["year_ago"]["logo_attrition_rate"] == by[year]["logo_attrition_rate"]
    assert m["nrr"] == pytest.approx(1 - m["net_mrr_churn"]) and m["grr"] == pytest.approx(1 - m["gross_mrr_churn"])
    index = rv.pages["index.html"]
    # the sentence states this quarter's count, rate and both comparisons, each with its test
    assert f"we lost {m['logo_churned']:,} of the {m['logo_start']:,} accounts" in index
    assert f"logo attrition {100 * m['logo_attrition_rate']:.1f}%" in index
    for other, when in ((prev, "the previous quarter"), (year, "a year earlier")):
        _, p = proportions_ztest([now["logo_churned"], by[other]["logo_churned"]],
                                 [now["logo_start"], by[other]["logo_start"]])
        p_text = "p < 0.001" if p < 0.001 else f"p = {p:.3f}" if p < 0.01 else f"p = {p:.2f}"
        assert f"{100 * by[other]['logo_attrition_rate']:.1f}% {when}" in index
        assert p_text in index
    # the cards show the same changes, in points: the difference of the two rates as shown (4.1% to
    # 4.9% is +0.8 pts), so that it adds up for the reader
    d_prev = round(float(f"{100 * m['logo_attrition_rate']:.1f}") - float(f"{100 * by[prev]['logo_attrition_rate']:.1f}"), 1)
    assert f"{d_prev:+.1f} pts vs {prev}" in index
    assert f"Net revenue retention" in index and f"{100 * m['nrr']:.1f}%" in index
    s12 = m["survival_12m_latest"]
    assert f"{100 * s12:.1f}%" in index and m["survival_12m_latest_cohort"] in index
