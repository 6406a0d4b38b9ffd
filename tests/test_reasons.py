"""Tests of churnlab.reasons: taxonomy, mapping, shares, intervals, re-weighting, trends, win-back."""
from __future__ import annotations

import pandas as pd
import pytest

from churnlab import reasons as R
from churnlab.schema import DataValidationError

TAX = R.load_taxonomy()


# ---------------------------------------------------------------- taxonomy

def test_shipped_taxonomy_has_design_codes_and_both_languages():
    expected = {
        "product_gap": {"missing_feature", "performance", "integration_gap", "ux"},
        "price_budget": {"too_expensive", "budget_cut", "low_roi"},
        "poor_onboarding": {"slow_setup", "low_adoption", "training"},
        "service_support": {"slow_response", "unresolved_issue", "account_management"},
        "competitive_loss": {"better_features", "better_price", "better_service", "better_fit"},
        "integration_stack": {"stack_consolidation", "in_house_build"},
        "company_change": {"acquisition", "shutdown", "reorganisation"},
        "involuntary": {"payment_failure"},
        "other": {"other"},
    }
    assert {p: set(n["secondary"]) for p, n in TAX["primary"].items()} == expected
    for p, node in TAX["primary"].items():
        assert node["en"] and node["ja"] and node["ja"] != node["en"] or p == "other"
        for s in node["secondary"].values():
            assert s["en"] and s["ja"]
    assert TAX["no_reason"]["en"] == "No reason given"


def test_user_taxonomy_replaces_shipped(tmp_path):
    f = tmp_path / "tax.yaml"
    f.write_text("primary:\n  cost:\n    en: Cost\n    secondary:\n      high: {en: High}\n", encoding="utf-8")
    tax = R.load_taxonomy(f)
    assert list(tax["primary"]) == ["cost"]
    assert tax["primary"]["cost"]["ja"] == "Cost"          # falls back to English
    assert "stripe" not in tax["vocabularies"]              # its codes do not exist here


def test_invalid_taxonomy_is_a_clear_error(tmp_path):
    f = tmp_path / "tax.yaml"
    f.write_text("primary:\n  Cost:\n    en: Cost\n", encoding="utf-8")
    with pytest.raises(ValueError, match="lower_snake_case"):
        R.load_taxonomy(f)


# ---------------------------------------------------------------- mapping

def _iv(primary, secondary=None):
    n = len(primary)
    return pd.DataFrame({"_line": range(2, n + 2), "account_id": [f"A{i}" for i in range(n)],
                         "primary_reason": primary,
                         "secondary_reason": secondary if secondary is not None else [None] * n})


def _codes(df):
    return [[None if pd.isna(v) else v for v in row]
            for row in df[["primary_reason", "secondary_reason"]].astype(object).values.tolist()]


def test_canonical_codes_and_labels_in_both_languages_case_insensitive():
    df = _iv(["product_gap", "PRICE / BUDGET", "競合への乗り換え", "  other "],
             ["Integration gap", "budget_cut", "better_fit", None])
    out = R.normalise_reasons(df, taxonomy=TAX)
    assert _codes(out) == [["product_gap", "integration_gap"], ["price_budget", "budget_cut"],
                           ["competitive_loss", "better_fit"], ["other", None]]
    assert list(out["_line"]) == [2, 3, 4, 5]
    assert df["primary_reason"].iloc[1] == "PRICE / BUDGET"           # input untouched


def test_stripe_codes_out_of_the_box():
    stripe = ["too_expensive", "missing_features", "switched_service", "unused",
              "customer_service", "too_complex", "low_quality", "other"]
    out = R.normalise_reasons(_iv(stripe), taxonomy=TAX, mapping="stripe")
    assert _codes(out) == [["price_budget", "too_expensive"], ["product_gap", "missing_feature"],
                           ["competitive_loss", None], ["poor_onboarding", "low_adoption"],
                           ["service_support", None], ["product_gap", "ux"],
                           ["product_gap", "performance"], ["other", None]]


def test_blank_reasons_stay_missing_not_other():
    out = R.normalise_reasons(_iv(["", None, "   ", float("nan")]), taxonomy=TAX)
    assert out["primary_reason"].isna().all() and out["secondary_reason"].isna().all()


def test_config_mapping_with_pairs_fills_blank_secondary():
    mapping = {"primary_reason": {"Too pricey": "price_budget", "No API": "product_gap/integration_gap"},
               "secondary_reason": {"Cheaper rival": "competitive_loss/better_price"}}
    df = _iv(["too pricey", "No API", "No API", "Competition"], [None, None, "ux", "Cheaper rival"])
    mapping["primary_reason"]["Competition"] = "competitive_loss"
    out = R.normalise_reasons(df, taxonomy=TAX, mapping=mapping)
    assert _codes(out) == [["price_budget", None], ["product_gap", "integration_gap"],
                           ["product_gap", "ux"], ["competitive_loss", "better_price"]]


def test_unmapped_values_are_listed_never_other():
    df = _iv(["Too pricey", "product_gap", "Bad vibes", "Too pricey"])
    with pytest.raises(DataValidationError) as exc:
        R.normalise_reasons(df, taxonomy=TAX, file="exits.csv")
    err = exc.value
    assert err.column == "primary_reason" and err.rows == 3 and err.file == "exits.csv"
    assert "'Bad vibes', 'Too pricey'" in str(err)
    assert "line 2:" in str(err) and "line 4:" in str(err)


def test_unmapped_secondary_and_inconsistent_pair_are_errors():
    with pytest.raises(DataValidationError, match="'Vague'") as exc:
        R.normalise_reasons(_iv(["product_gap"], ["Vague"]), taxonomy=TAX)
    assert exc.value.column == "secondary_reason"
    with pytest.raises(DataValidationError, match="does not belong") as exc:
        R.normalise_reasons(_iv(["price_budget", "product_gap"], ["better_price", "ux"]), taxonomy=TAX)
    assert exc.value.rows == 1


def test_mapping_to_unknown_code_is_a_config_error():
    from churnlab.config import ConfigError
    with pytest.raises(ConfigError, match="not a reason of the taxonomy") as exc:
        R.normalise_reasons(_iv(["x"]), taxonomy=TAX, mapping={"primary_reason": {"x": "pricing"}})
    msg = str(exc.value)
    assert "tables.exit_interviews.reasons.primary_reason['x']" in msg and "'pricing'" in msg
    assert "price_budget (too_expensive, budget_cut, low_roi)" in msg          # primary and secondary codes
    with pytest.raises(ConfigError, match="secondary_reason\\['y'\\]"):
        R.normalise_reasons(_iv(["x"]), taxonomy=TAX, mapping={"secondary_reason": {"y": "nonsense"}})
    with pytest.raises(ConfigError, match="preset"):
        R.normalise_reasons(_iv(["x"]), taxonomy=TAX, mapping="chargebee")


# ---------------------------------------------------------------- hand-built frames

def _frame(rows):
    """rows: (quarter, segment, responded, reason, secondary, competitor, mrr)."""
    f = pd.DataFrame(rows, columns=["quarter", "segment", "responded", "reason", "secondary", "competitor", "mrr"])
    f["account_id"] = [f"A{i:03d}" for i in range(len(f))]
    return f


def test_shares_and_wilson_intervals_known_answer():
    # 81 of 263 responders gave price_budget: Wilson 95% interval 0.2553-0.3662 (published example)
    rows = [("2026Q3", "SMB", True, "price_budget", None, None, 10.0)] * 81 + \
           [("2026Q3", "SMB", True, "product_gap", None, None, 30.0)] * 180 + \
           [("2026Q3", "SMB", True, "no_reason", None, None, 0.0)] * 2 + \
           [("2026Q3", "SMB", False, None, None, None, 99.0)] * 50
    s = R.reason_shares(_frame(rows), taxonomy=TAX).set_index("reason")
    pb = s.loc["price_budget"]
    assert (pb.k, pb.n) == (81, 263)
    assert pb.share == pytest.approx(81 / 263)
    assert (round(pb.share_lo, 4), round(pb.share_hi, 4)) == (0.2553, 0.3662)
    assert pb.mrr == 810 and pb.mrr_share == pytest.approx(810 / (810 + 5400))
    assert s.loc["no_reason", "k"] == 2 and s.loc["other", "k"] == 0      # blank is not "other"
    assert s["share"].sum() == pytest.approx(1.0)
    assert set(s.index) == set(TAX["primary"]) | {"no_reason"}           # zero rows kept


def test_secondary_shares_share_the_responder_denominator():
    rows = [("2026Q3", "SMB", True, "product_gap", "integration_gap", None, 1.0)] * 3 + \
           [("2026Q3", "SMB", True, "product_gap", None, None, 1.0)] + \
           [("2026Q3", "SMB", True, "price_budget", "too_expensive", None, 1.0)] * 6
    s = R.reason_shares(_frame(rows), taxonomy=TAX, level="secondary").set_index("reason")
    assert s.loc["integration_gap", ["k", "n"]].tolist() == [3, 10]
    assert s.loc["integration_gap", "primary"] == "product_gap"
    assert s.loc["too_expensive", "share"] == pytest.approx(0.6)


def test_participation_known_answer_and_target_status():
    rows = [("2026Q3", "SMB", True, "other", None, None, 1.0)] * 3 + \
           [("2026Q3", "SMB", False, None, None, None, 1.0)] * 7 + \
           [("2026Q3", "Enterprise", True, "other", None, None, 1.0)] * 5 + \
           [("2026Q3", "Enterprise", False, None, None, None, 1.0)] * 5
    p = R.participation(_frame(rows)).iloc[0]
    assert (p.k, p.n, p.rate, p.status) == (8, 20, 0.4, "on target")
    by = R.participation(_frame(rows), by="segment").set_index("segment")
    assert by.loc["SMB", "rate"] == pytest.approx(0.3) and by.loc["SMB", "status"] == "below target"
    assert by.loc["Enterprise", "rate_lo"] == pytest.approx(0.2366, abs=1e-4)   # Wilson 5/10


def test_reweighting_known_answer():
    # SMB: 10 invited, 2 answered (both price). Enterprise: 10 invited, 8 answered (all product gap).
    # Raw: price 2/10. Re-weighted: SMB responders weigh 5, Enterprise 1.25 -> price 10/20 = 0.5.
    rows = [("2026Q3", "SMB", True, "price_budget", None, None, 1.0)] * 2 + \
           [("2026Q3", "SMB", False, None, None, None, 1.0)] * 8 + \
           [("2026Q3", "Enterprise", True, "product_gap", None, None, 1.0)] * 8 + \
           [("2026Q3", "Enterprise", False, None, None, None, 1.0)] * 2
    r = R.reweighted_shares(_frame(rows), taxonomy=TAX).set_index("reason")
    assert r.loc["price_budget", "share"] == pytest.approx(0.2)
    assert r.loc["price_budget", "share_reweighted"] == pytest.approx(0.5)
    assert r.loc["product_gap", "share_reweighted"] == pytest.approx(0.5)
    assert r["share_reweighted"].sum() == pytest.approx(1.0)


def test_changes_two_proportion_known_answer():
    from statsmodels.stats.proportion import proportions_ztest
    rows = [("2025Q3", "SMB", True, "price_budget", None, None, 1.0)] * 12 + \
           [("2025Q3", "SMB", True, "other", None, None, 1.0)] * 88 + \
           [("2026Q3", "SMB", True, "price_budget", None, None, 1.0)] * 30 + \
           [("2026Q3", "SMB", True, "other", None, None, 1.0)] * 70
    c = R.reason_changes(_frame(rows), taxonomy=TAX, quarter="2026Q3").set_index("reason")
    expected = proportions_ztest([30, 12], [100, 100])[1]
    assert c.loc["price_budget", "p"] == pytest.approx(expected)
    assert c.loc["price_budget", "test"] == "z"
    assert c.loc["price_budget", "direction"] == "rose"
    assert c.loc["other", "direction"] == "fell"
    sentence = R.changes_sentence(c.reset_index())
    assert "Price / budget rose from 12.0% to 30.0%" in sentence


def test_segment_independence_only_when_the_data_say_so():
    differ = [("2026Q3", "SMB", True, "price_budget", None, None, 1.0)] * 30 + \
             [("2026Q3", "SMB", True, "product_gap", None, None, 1.0)] * 10 + \
             [("2026Q3", "Enterprise", True, "price_budget", None, None, 1.0)] * 8 + \
             [("2026Q3", "Enterprise", True, "product_gap", None, None, 1.0)] * 32
    r = R.reason_independence(_frame(differ), taxonomy=TAX).iloc[0]
    assert r.significant and "Enterprise leave more often for Product gap" in r.sentence
    same = [("2026Q3", s, True, reason, None, None, 1.0) for s in ("SMB", "Enterprise")
            for reason in ["price_budget"] * 20 + ["product_gap"] * 20]
    r = R.reason_independence(_frame(same), taxonomy=TAX).iloc[0]
    assert not r.significant and r.p == pytest.approx(1.0)
    assert r.sentence.startswith("The data do not show")


def test_competitor_spellings_are_one_competitor():
    names = R.normalise_competitor(["Northwind", "northwind", "NorthWind Analytics", "Northwind Inc.",
                                    "Acme Analytics", " acme analytics ", "Globex", None, "none"])
    assert names.tolist()[:7] == ["Northwind"] * 4 + ["Acme Analytics"] * 2 + ["Globex"]
    assert names.isna().tolist()[7:] == [True, True]
    assert R.normalise_competitor(["NW", "Northwind"], aliases={"nw": "Northwind"}).tolist() == ["Northwind"] * 2


def test_winback_requires_fix_shipped_after_churn():
    f = pd.DataFrame({"account_id": ["A", "B", "C", "D"], "responded": True, "quarter": "2026Q1",
                      "churn_date": pd.to_datetime(["2026-02-01", "2026-06-01", "2026-02-01", "2026-02-01"]),
                      "reason": "product_gap", "secondary": ["integration_gap"] * 3 + ["ux"],
                      "competitor": None, "would_return": ["no", "no", "yes", "maybe"], "mrr": [5.0, 9.0, 1.0, 3.0],
                      "segment": "SMB"})
    rm = pd.DataFrame({"item": ["Connector", "Nav"], "secondary_reason": ["integration_gap", "ux"],
                       "shipped_at": pd.to_datetime(["2026-05-01", "2026-12-01"])})
    w = R.winback_list(f, rm, taxonomy=TAX, as_of="2026-09-30")
    assert w["account_id"].tolist() == ["A", "C"]          # B left after the fix; D's fix not shipped yet
    assert "Connector shipped 2026-05-01" in w.loc[0, "why"]
    assert "said they would return" in w.loc[1, "why"] and "Connector" in w.loc[1, "why"]


def test_drilldown_links_every_share_to_its_accounts():
    rows = [("2026Q3", "SMB", True, "price_budget", None, None, 1.0)] * 2 + \
           [("2026Q3", "SMB", True, "no_reason", None, None, 1.0)] + \
           [("2026Q3", "SMB", False, None, None, None, 1.0)]
    f = _frame(rows)
    s = R.reason_shares(f, taxonomy=TAX)
    d = R.drilldown(f, taxonomy=TAX)
    for r in s.itertuples():
        assert (d["reason"] == r.reason).sum() == r.k
    html = R.shares_html(s) + R.drilldown_html(d)
    assert 'href="#reason-price_budget"' in html and 'id="reason-price_budget"' in html
    assert 'id="reason-no_reason"' in html


def test_analysis_does_not_mutate_input():
    rows = [("2026Q3", "SMB", True, "price_budget", None, "Northwind", 1.0)] * 3
    f = _frame(rows)
    before = f.copy()
    R.reason_shares(f, taxonomy=TAX, by="segment")
    R.reweighted_shares(f, taxonomy=TAX)
    R.drilldown(f, taxonomy=TAX)
    pd.testing.assert_frame_equal(f, before)


# ---------------------------------------------------------------- the sample company

@pytest.fixture(scope="module")
def sample_frame(sample):
    return R.prepare_interviews(sample.exit_interviews, sample.accounts)


def test_sample_duplicates_collapse_to_one_row_per_account(sample, sample_frame):
    assert sample_frame["account_id"].is_unique
    assert sample_frame["reason"].eq("no_reason").sum() > 0          # the planted blank reasons
    assert (sample_frame["reason"] == "other").sum() < sample_frame["responded"].sum()


def test_sample_competitor_jump_is_detected(sample_frame):
    c = R.reason_changes(sample_frame, taxonomy=TAX, quarter="2026Q3", level="competitor",
                         compare="baseline", span=2, n_quarters=8).set_index("reason")
    assert c.loc["Northwind", "significant"] and c.loc["Northwind", "direction"] == "rose"
    assert not c.drop(index="Northwind")["significant"].any()
    sentence = R.changes_sentence(c.reset_index(), what="competitor")
    assert "Northwind rose" in sentence


def test_sample_participation_near_half(sample_frame):
    p = R.participation(sample_frame).iloc[0]
    assert 0.35 < p.rate < 0.6


def test_sample_smb_leaves_for_price_more_than_enterprise(sample_frame):
    recent = R.window(sample_frame, quarter="2026Q3", n_quarters=4)
    r = R.reason_independence(recent, taxonomy=TAX, by="segment").iloc[0]
    assert r.significant and "SMB" in r.sentence and "Price / budget" in r.sentence


def test_sample_integration_gap_rise_is_detected(sample_frame):
    c = R.reason_changes(sample_frame, taxonomy=TAX, quarter="2026Q3", level="secondary",
                         compare="yoy", span=4, n_quarters=8).set_index("reason")
    assert c.loc["integration_gap", "significant"] and c.loc["integration_gap", "direction"] == "rose"
    assert "Integration gap rose" in R.changes_sentence(c.reset_index(), what="secondary reason")


def test_other_company_labels_map_through_the_data_config():
    from pathlib import Path
    from churnlab.sources import load
    ex = Path(__file__).resolve().parent.parent / "examples" / "other-company"
    ds = load(ex, ex / "config.yaml")
    codes = set(ds.exit_interviews["primary_reason"].dropna())
    assert codes <= set(TAX["primary"]) and "product_gap" in codes
    f = R.prepare_interviews(ds.exit_interviews, ds.accounts)
    assert R.summary_metrics(f, taxonomy=ds.taxonomy, quarter="2026Q3")["participation_rate"] > 0


# ---------------------------------------------------------------- any company's answers

def test_no_reason_given_is_a_mapping_target():
    mapping = {"primary_reason": {"Don't know": "no_reason", "Rather not say": None, "-": "",
                                  "Too pricey": "price_budget/too_expensive"},
               "secondary_reason": {"dunno": "no_reason"}}
    df = _iv(["Don't know", "Rather not say", "-", "Too pricey", "No reason given"],
             [None, None, None, "dunno", None])
    out = R.normalise_reasons(df, taxonomy=TAX, mapping=mapping)
    assert _codes(out) == [[None, None]] * 3 + [["price_budget", "too_expensive"], [None, None]]
    acc = pd.DataFrame({"account_id": out["account_id"], "churn_date": pd.to_datetime(["2026-07-01"] * 5)})
    iv = out.assign(invited_at=pd.Timestamp("2026-07-02"), completed_at=pd.Timestamp("2026-07-03"))
    f = R.prepare_interviews(iv, acc)
    sh = R.reason_shares(f, taxonomy=TAX).set_index("reason")
    assert sh.loc[R.NO_REASON, "k"] == 4 and sh.loc["other", "k"] == 0     # never "other"


def test_unmapped_values_error_lists_primary_and_secondary_codes():
    with pytest.raises(DataValidationError) as exc:
        R.normalise_reasons(_iv(["Bad vibes"]), taxonomy=TAX)
    msg = str(exc.value)
    assert "product_gap (missing_feature, performance, integration_gap, ux)" in msg
    assert "'primary/secondary'" in msg and "no_reason" in msg
    assert "tables.exit_interviews.reasons.primary_reason" in msg


def test_bad_reason_mapping_in_a_data_config_is_a_clean_error(tmp_path):
    from churnlab.config import ConfigError
    from churnlab.sources import load
    (tmp_path / "accounts.csv").write_text("account_id,signup_date,churn_date\nA1,2025-01-01,2026-07-01\n"
                                           "A2,2025-01-01,2026-08-01\n", encoding="utf-8")
    (tmp_path / "exit_interviews.csv").write_text("account_id,invited_at,completed_at,primary_reason\n"
                                                  "A1,2026-07-02,2026-07-03,Don't know\n"
                                                  "A2,2026-08-02,2026-08-04,Too pricey\n", encoding="utf-8")
    good = ("tables:\n  exit_interviews:\n    reasons:\n      primary_reason:\n"
            "        \"Don't know\": no_reason\n        Too pricey: price_budget\n")
    (tmp_path / "good.yaml").write_text(good, encoding="utf-8")
    ds = load(tmp_path, tmp_path / "good.yaml")
    assert ds.exit_interviews["primary_reason"].astype(object).where(
        ds.exit_interviews["primary_reason"].notna(), None).tolist() == [None, "price_budget"]
    (tmp_path / "bad.yaml").write_text(good.replace("price_budget", "pricing"), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"reasons\.primary_reason\['Too pricey'\]: 'pricing'"):
        load(tmp_path, tmp_path / "bad.yaml")


def _accounts_and_interviews(segments, responded):
    n = len(segments)
    acc = pd.DataFrame({"account_id": [f"A{i}" for i in range(n)], "segment": segments,
                        "churn_date": pd.to_datetime(["2026-07-15"] * n), "mrr": 10.0})
    iv = pd.DataFrame({"account_id": acc["account_id"], "invited_at": pd.Timestamp("2026-07-16"),
                       "completed_at": [pd.Timestamp("2026-07-20") if r else pd.NaT for r in responded],
                       "primary_reason": ["price_budget" if i % 2 else "product_gap" if r else None
                                          for i, r in enumerate(responded)],
                       "format": "call"})
    return acc, iv


def test_blank_segment_is_one_labelled_group_everywhere():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from churnlab.plotting import reasons as charts
    from churnlab.stats import BLANK_LABEL
    segs = ["north"] * 12 + [None] * 6 + ["  "] * 6 + ["south"] * 12
    acc, iv = _accounts_and_interviews(segs, [True] * len(segs))
    f = R.prepare_interviews(iv, acc)
    assert (f["segment"] == BLANK_LABEL).sum() == 12 and not f["segment"].isna().any()
    sh = R.reason_shares(f, taxonomy=TAX, by="segment")
    assert set(sh["segment"]) == {"north", "south", BLANK_LABEL}
    assert set(R.participation(f, by="segment")["segment"]) == {"north", "south", BLANK_LABEL}
    rw = R.reweighted_shares(f, taxonomy=TAX, by="segment")
    assert rw["share_reweighted"].sum() == pytest.approx(1.0)
    t = R.reason_independence(f, taxonomy=TAX, by="segment").iloc[0]
    assert t["groups"] == 3
    # a raw frame with blank groups (not through prepare_interviews) is labelled too
    raw = f.assign(segment=[None if s == BLANK_LABEL else s for s in f["segment"]])
    assert BLANK_LABEL in set(R.reason_shares(raw, taxonomy=TAX, by="segment")["segment"])
    charts.plot_reason_heatmap(sh[sh.reason != R.NO_REASON], group="segment")
    plt.close("all")


def test_many_level_group_is_pooled_not_dropped():
    segs = ["big"] * 40 + [f"town {i}" for i in range(1100)]
    acc, iv = _accounts_and_interviews(segs, [True] * len(segs))
    t = R.reason_independence(R.prepare_interviews(iv, acc), taxonomy=TAX, by="segment").iloc[0]
    assert t["n"] == len(segs)                                   # every responder is in the test
    assert t["groups"] <= 10 and "pooled" in t["sentence"]


# 7 of 7: the Wilson upper bound is 0.9999999999999999, below the 100% estimate
@pytest.mark.parametrize("responded", [[True] * 7, [False] * 7, [True, False] * 3 + [True]])
def test_participation_chart_at_100_and_0_percent_and_one_group(responded):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from churnlab.plotting import reasons as charts
    acc, iv = _accounts_and_interviews(["one"] * 7, responded)
    f = R.prepare_interviews(iv, acc)
    for by in ("segment", "format", None):
        p = R.participation(f, by=by)
        assert len(p) == 1 and p["rate"].iloc[0] == pytest.approx(sum(responded) / 7)
        ax = charts.plot_participation(p, group=by)
        lo, hi = charts._xerr(p["rate"], p["rate_lo"], p["rate_hi"])
        assert (lo >= 0).all() and (hi >= 0).all()
        assert ax is not None
    if all(responded):
        sh = R.reason_shares(f, taxonomy=TAX)
        charts.plot_reason_shares(sh)
    plt.close("all")


def test_participation_bounds_crossing_the_estimate_are_clipped():
    from churnlab.plotting import reasons as charts
    p = pd.DataFrame({"rate": [1.0], "rate_lo": [0.6], "rate_hi": [0.9999999999], "k": [5], "n": [5],
                      "target_lo": [0.4], "target_hi": [0.6]})
    lo, hi = charts._xerr(p["rate"], p["rate_lo"], p["rate_hi"])
    assert hi[0] == 0 and lo[0] == pytest.approx(0.4)
    charts.plot_participation(p)


def test_no_earlier_window_says_there_is_no_earlier_data():
    rows = [("2026Q3", "x", True, "product_gap", "ux", None, 1.0)] * 9 + \
           [("2026Q3", "x", True, "product_gap", "integration_gap", None, 1.0)] + \
           [("2026Q2", "x", True, "price_budget", "too_expensive", None, 1.0)] * 5
    f = _frame(rows)
    for level in ("primary", "secondary"):
        c = R.reason_changes(f, taxonomy=TAX, quarter="2026Q3", level=level, span=4)
        text = R.changes_sentence(c, what=f"{level} reason")
        assert text.startswith("There is no earlier data to compare 2025Q4-2026Q3 with")
        assert "n/a" not in text and "changed significantly" not in text
    trend = R.reason_changes(f, taxonomy=TAX, quarter="2026Q3", span=1, n_quarters=8, test="trend")
    assert "Too few quarters" in R.changes_sentence(trend)
    story = R.reason_story(f, taxonomy=TAX, reason="ux", level="secondary", quarter="2026Q3", span=4)
    assert "no earlier data" in story and "n/a" not in story and "unchanged from" not in story


def test_featured_secondary_reason_follows_the_documented_rule():
    # nothing significant: the reason given most often now, not the small one that moved most
    rows = [("2025Q3", "x", True, "product_gap", "ux", None, 1.0)] * 20 + \
           [("2025Q3", "x", True, "price_budget", "too_expensive", None, 1.0)] * 20 + \
           [("2026Q3", "x", True, "product_gap", "ux", None, 1.0)] * 21 + \
           [("2026Q3", "x", True, "poor_onboarding", "training", None, 1.0)] * 2 + \
           [("2026Q3", "x", True, "price_budget", "too_expensive", None, 1.0)] * 17
    c = R.reason_changes(_frame(rows), taxonomy=TAX, quarter="2026Q3", level="secondary")
    assert not c["significant"].any()
    assert c.sort_values(["significant", "change"]).iloc[-1]["reason"] == "training"   # the old, arbitrary pick
    assert R.featured_reason(c) == "ux"
    # a significant move is featured first
    rows2 = [("2025Q3", "x", True, "product_gap", "ux", None, 1.0)] * 40 + \
            [("2025Q3", "x", True, "product_gap", "integration_gap", None, 1.0)] * 2 + \
            [("2026Q3", "x", True, "product_gap", "ux", None, 1.0)] * 40 + \
            [("2026Q3", "x", True, "product_gap", "integration_gap", None, 1.0)] * 25
    c2 = R.reason_changes(_frame(rows2), taxonomy=TAX, quarter="2026Q3", level="secondary")
    assert R.featured_reason(c2) == "integration_gap"
    assert R.featured_reason(c2.iloc[:0]) is None
