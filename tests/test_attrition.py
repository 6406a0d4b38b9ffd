"""Known-answer tests of the attrition definitions on hand-built tables, and the sample's planted effects."""
import ibis
import numpy as np
import pandas as pd
import pytest
from scipy.stats import chi2_contingency

from churnlab import attrition as A
from churnlab.attrition import convert_rate, logo_attrition
from churnlab.periods import Period


def _acc(rows):
    df = pd.DataFrame(rows, columns=["account_id", "signup_date", "churn_date", "segment"])
    df["signup_date"] = pd.to_datetime(df["signup_date"])
    df["churn_date"] = pd.to_datetime(df["churn_date"])
    return df


ACC = _acc([
    ("a", "2025-01-10", None, "SMB"),            # active throughout
    ("b", "2025-03-01", "2026-02-10", "SMB"),     # lost in February
    ("c", "2025-06-01", "2026-01-01", "SMB"),     # churn_date = first day without service: lost at the end of December
    ("d", "2026-01-01", None, "Enterprise"),      # signs up on the first day: active at the start
    ("e", "2026-01-15", "2026-03-05", "Enterprise"),  # acquired in Q1 and lost in Q1: excluded from Q1
    ("f", "2025-12-01", "2026-04-01", "Enterprise"),  # last day of service Mar 31: lost at the end of Q1
    ("g", "2025-11-01", None, "Enterprise"),
])
Q1 = dict(start="2026-01-01", end="2026-04-01")


#: the value-creating events of the test companies here (a login is not one)
Q = ["workflow_run", "report_created", "export_created"]


def _ev(rows):
    df = pd.DataFrame(rows, columns=["account_id", "user_id", "event", "ts"])
    df["ts"] = pd.to_datetime(df["ts"])
    return ibis.memtable(df)


# --------------------------------------------------------------------------- logo attrition, contract basis


def test_quarter_hand_computed():
    r = logo_attrition(ACC, grain="quarter", **Q1).iloc[0]
    # active on 2026-01-01: a, b, d, f, g -> 5; lost by the end: b (Feb 10) and f (Apr 1) -> 2
    # e joined and left inside Q1: new, left in the period, excluded from the rate
    assert (r.start_count, r.churned, r.retained, r.new, r.left_in_period, r.end_count) == (5, 2, 3, 1, 1, 3)
    assert r.attrition_rate == pytest.approx(0.4) and r.retention_rate == pytest.approx(0.6)
    assert r.end_count == r.retained + r.new + r.reactivated - r.left_in_period
    assert r.period == "2026Q1"


def test_months_and_acquired_in_period_excluded():
    out = logo_attrition(ACC, grain="month", start="2025-12-01", end="2026-04-01").set_index("period")
    assert out.loc["2025-12", ["start_count", "churned", "new"]].tolist() == [5, 1, 0]   # c lost; f signs on Dec 1: in the base
    assert out.loc["2026-01", ["start_count", "churned", "new"]].tolist() == [5, 0, 1]   # e new
    assert out.loc["2026-02", ["start_count", "churned", "new"]].tolist() == [6, 1, 0]   # b
    assert out.loc["2026-03", ["start_count", "churned", "new"]].tolist() == [5, 2, 0]   # e, f
    assert (out.attrition_rate >= 0).all() and np.allclose(out.attrition_rate + out.retention_rate, 1)


def test_every_churn_counted_once():
    months = logo_attrition(ACC, grain="month", start="2025-01-01", end="2026-05-01")
    assert months.churned.sum() == ACC.churn_date.notna().sum()
    # consecutive periods chain: the end base of one is the start base of the next (without first-day signups)
    acc = ACC[ACC.signup_date.dt.day != 1]
    m = logo_attrition(acc, grain="month", start="2025-06-01", end="2026-05-01")
    assert (m.end_count.iloc[:-1].to_numpy() == m.start_count.iloc[1:].to_numpy()).all()


def test_by_segment_sums_to_total():
    total = logo_attrition(ACC, grain="quarter", **Q1)
    seg = logo_attrition(ACC, grain="quarter", by="segment", **Q1)
    cols = ["start_count", "churned", "new", "end_count"]
    assert seg[cols].sum().tolist() == total[cols].iloc[0].tolist()
    smb = seg.set_index("segment").loc["SMB"]
    assert (smb.start_count, smb.churned) == (2, 1)


def test_cancel_date_instead_of_churn_date():
    acc = ACC.assign(cancel_date=ACC.churn_date - pd.Timedelta(days=45))
    r = logo_attrition(acc, grain="quarter", churn_col="cancel_date", **Q1).iloc[0]
    # requests: b 2025-12-27 and c 2025-11-17 (before Q1: not in the base), e 2026-01-19 (new), f 2026-02-15 -> churned
    assert (r.start_count, r.churned, r.new) == (4, 1, 1)
    sp = A.logo_spells(acc, churn_col="cancel_date")
    assert A.describe_basis(sp, churn_col="cancel_date").startswith("Churn is counted at the cancellation request")
    assert A.describe_basis(A.logo_spells(acc)).endswith("end of service (churn_date).")


def test_wilson_interval_columns():
    out = logo_attrition(ACC, grain="quarter", **Q1)
    assert out.attrition_rate_lo[0] < 0.4 < out.attrition_rate_hi[0]


def test_does_not_mutate_input():
    before = ACC.copy()
    logo_attrition(ACC, grain="month", by="segment", **Q1)
    A.attrition_outcomes(A.account_spells(ACC), period=Period.quarter("2026Q1"))
    pd.testing.assert_frame_equal(ACC, before)


# --------------------------------------------------------------------------- lapses and reactivations


def _spells(rows):
    df = pd.DataFrame(rows, columns=["account_id", "spell_start", "spell_end"])
    return df.assign(spell_start=pd.to_datetime(df.spell_start), spell_end=pd.to_datetime(df.spell_end))


def test_lapse_and_return_inside_the_period_is_retained():
    sp = _spells([("a", "2025-01-01", "2026-02-10"), ("a", "2026-03-10", None), ("b", "2025-01-01", None)])
    q = A.spell_attrition(sp, grain="quarter", **Q1).iloc[0]
    assert (q.start_count, q.churned, q.retained, q.new, q.reactivated) == (2, 0, 2, 0, 0)
    m = A.spell_attrition(sp, grain="month", **Q1).set_index("period")
    assert m.loc["2026-02", ["churned", "reactivated"]].tolist() == [1, 0]
    assert m.loc["2026-03", ["start_count", "churned", "new", "reactivated"]].tolist() == [1, 0, 0, 1]
    o = A.attrition_outcomes(sp, period=Period.quarter("2026Q1"))
    assert o.churned.tolist() == [0, 0]


def test_reactivation_within_gap_is_not_new():
    # one customer under two account rows: left 2025-11-01, signed again 2026-02-15 (106 days later)
    acc = pd.DataFrame({"account_id": ["a1", "a2", "b"], "customer": ["A", "A", "B"],
                        "signup_date": pd.to_datetime(["2024-01-01", "2026-02-15", "2026-02-01"]),
                        "churn_date": pd.to_datetime(["2025-11-01", None, None])})
    r = logo_attrition(acc, grain="quarter", customer_col="customer", reactivation_gap_days=120, **Q1).iloc[0]
    assert (r.start_count, r.new, r.reactivated, r.end_count) == (0, 1, 1, 2)
    r = logo_attrition(acc, grain="quarter", customer_col="customer", reactivation_gap_days=90, **Q1).iloc[0]
    assert (r.new, r.reactivated) == (2, 0)
    # without a customer key each account is its own customer: both are new
    r = logo_attrition(acc, grain="quarter", **Q1).iloc[0]
    assert (r.new, r.reactivated) == (2, 0)


def test_subscription_spells_lapse_and_reactivation():
    months = {"a": ["2025-10", "2025-11", "2025-12", "2026-01", "2026-03"],   # lapses in Feb, back in March
              "b": ["2025-10", "2025-11"],                                    # last billed November
              "c": ["2025-12", "2026-01", "2026-02", "2026-03"],              # new in December
              "d": ["2025-06", "2025-07", "2026-02", "2026-03"]}              # back after 6 months
    sub = pd.DataFrame([(k, pd.Timestamp(m + "-01")) for k, v in months.items() for m in v],
                       columns=["account_id", "month"])
    sp = A.subscription_spells(sub)
    m = A.spell_attrition(sp, grain="month", start="2025-12-01", end="2026-04-01",
                          reactivation_gap_days=90).set_index("period")
    # December: base = billed in November (a, b); b not billed in December -> churned; c new
    assert m.loc["2025-12", ["start_count", "churned", "new", "reactivated"]].tolist() == [2, 1, 1, 0]
    # February: a lapses (churned on the monthly view), d returns after 6 months -> new
    assert m.loc["2026-02", ["start_count", "churned", "new", "reactivated"]].tolist() == [2, 1, 1, 0]
    # March: a returns one month later -> reactivated
    assert m.loc["2026-03", ["start_count", "churned", "new", "reactivated"]].tolist() == [2, 0, 0, 1]
    # on the quarter, a's February lapse is inside the period: retained
    q = A.spell_attrition(sp, grain="quarter", **Q1).iloc[0]
    assert (q.start_count, q.churned, q.retained, q.new) == (2, 0, 2, 1)


# --------------------------------------------------------------------------- event-only data


def test_churn_inferred_from_inactivity_and_account_without_events():
    acc = pd.DataFrame({"account_id": ["a", "b", "c", "d"],
                        "signup_date": pd.to_datetime(["2025-06-01", "2025-06-01", "2025-06-01", "2026-05-20"])})
    ev = _ev([("a", "u1", "workflow_run", "2025-06-03"), ("a", "u1", "workflow_run", "2026-06-20"),  # active
              ("b", "u2", "report_created", "2025-12-01"), ("b", "u2", "report_created", "2026-01-20"),
              ("b", "u2", "login", "2026-06-01"),                                 # logins are not activity
              ("c", "u3", "login", "2026-06-01")])                                # c: no qualified event at all
    sp = A.logo_spells(acc, events=ev, data_end="2026-06-30", inactivity_days=60, qualified_events=Q)
    assert sp.basis.iloc[0].startswith("inferred")
    assert "inferred from inactivity" in A.describe_basis(sp)
    ends = sp.drop_duplicates("account_id", keep="last").set_index("account_id").spell_end
    assert ends["b"] == pd.Timestamp("2026-01-21")             # the day after the last qualified event
    assert pd.isna(ends["d"])                                   # no events yet, signed up 41 days before the end
    assert ends["c"] == pd.Timestamp("2025-06-01")              # never active
    # a: silent from 2025-06-03 to 2026-06-20 (more than 60 days): two spells, a lapse and a return
    assert (sp.account_id == "a").sum() == 2 and pd.isna(ends["a"])
    q = A.spell_attrition(sp, grain="quarter", start="2026-01-01", end="2026-04-01").iloc[0]
    assert (q.start_count, q.churned) == (1, 1)                 # only b is in the base, and leaves
    acc2 = A.infer_churn(acc, sp)
    assert acc2.churn_date.tolist()[1] == pd.Timestamp("2026-01-21") and "churn_date" not in acc


# --------------------------------------------------------------------------- users and active accounts


def test_user_attrition_qualified_activity():
    ev = _ev([
        ("a", "u1", "workflow_run", "2026-01-05"), ("a", "u1", "report_created", "2026-04-05"),   # retained
        ("a", "u2", "workflow_run", "2026-02-01"), ("a", "u2", "login", "2026-05-01"),            # login only: churned
        ("a", "u3", "workflow_run", "2026-05-03"),                                                # new
        ("b", "u4", "export_created", "2025-10-02"), ("b", "u4", "export_created", "2026-06-02"),  # back after Q1: reactivated
        ("b", "u5", "export_created", "2025-01-02"), ("b", "u5", "export_created", "2026-06-02"),  # back after a year: new
    ])
    r = A.activity_attrition(ev, level="user", grain="quarter", start="2026-04-01", end="2026-07-01",
                             qualified_events=Q, reactivation_gap_days=120).iloc[0]
    assert (r.start_count, r.retained, r.churned, r.new, r.reactivated, r.end_count) == (2, 1, 1, 2, 1, 4)
    assert r.attrition_rate == pytest.approx(0.5)
    # min_count=2: nobody has two qualified events in a quarter
    r2 = A.activity_attrition(ev, level="user", grain="quarter", start="2026-04-01", end="2026-07-01",
                              qualified_events=Q, min_count=2).iloc[0]
    assert (r2.start_count, r2.end_count) == (0, 0)
    acc = A.activity_attrition(ev, level="account", grain="quarter", start="2026-04-01", end="2026-07-01",
                               qualified_events=Q).iloc[0]
    assert (acc.start_count, acc.retained, acc.new, acc.reactivated) == (1, 1, 0, 1)
    seg = A.activity_attrition(ev, level="user", grain="quarter", start="2026-04-01", end="2026-07-01",
                               qualified_events=Q, groups=pd.DataFrame({"account_id": ["a", "b"], "segment": ["SMB", "Enterprise"]}),
                               by="segment").set_index("segment")
    assert seg.loc["SMB", ["start_count", "churned"]].tolist() == [2, 1]


def test_reconciliation_adds_up():
    out = logo_attrition(ACC, grain="quarter", **Q1)
    rec = A.reconciliation(out)
    flows = rec[rec.sign != 0]
    start = rec.loc[rec.step == "active at start", "count"].iloc[0]
    end = rec.loc[rec.step == "active at end", "count"].iloc[0]
    assert start + (flows["count"] * flows["sign"]).sum() == end


# --------------------------------------------------------------------------- revenue


def test_mrr_bridge_known_answer():
    rows = [("a", "2025-12", 100, 10), ("a", "2026-03", 80, 8),       # contraction 20, 2 seats removed
            ("b", "2025-12", 50, 5),                                  # churned 50
            ("c", "2025-12", 100, 10), ("c", "2026-03", 130, 13),     # expansion 30
            ("d", "2025-11", 40, 4), ("d", "2026-03", 40, 4),         # back after a one-month lapse: reactivated
            ("e", "2026-02", 60, 6), ("e", "2026-03", 60, 6),         # new
            ("f", "2025-12", 70, 7), ("f", "2026-01", 0.0, 0), ("f", "2026-03", 70, 7)]  # lapse inside: retained
    sub = pd.DataFrame(rows, columns=["account_id", "month", "mrr", "seats"])
    sub = sub[sub.seats > 0].assign(month=lambda d: pd.to_datetime(d.month + "-01"))
    r = A.mrr_movements(sub, grain="quarter", **Q1).iloc[0]
    assert (r.start_mrr, r.churned_mrr, r.contraction_mrr, r.expansion_mrr) == (320, 50, 20, 30)
    assert (r.new_mrr, r.reactivated_mrr, r.end_mrr) == (60, 40, 380)
    assert r.end_mrr == r.start_mrr - r.churned_mrr - r.contraction_mrr + r.expansion_mrr + r.new_mrr + r.reactivated_mrr
    assert r.gross_mrr_churn == pytest.approx(70 / 320) and r.net_mrr_churn == pytest.approx(40 / 320)
    assert (r.retained_accounts, r.contraction_accounts, r.seats_removed) == (3, 1, 2)
    assert r.seat_contraction_rate == pytest.approx(2 / 27)
    with pytest.raises(ValueError):
        A.mrr_movements(sub, grain="week", **Q1)


# --------------------------------------------------------------------------- grains


def test_conversion_between_grains():
    assert convert_rate(0.02, periods=3) == pytest.approx(1 - 0.98 ** 3)
    assert convert_rate(convert_rate(0.05, periods=3), periods=1 / 3) == pytest.approx(0.05)
    assert np.allclose(convert_rate(np.array([0.0, 1.0]), periods=12), [0.0, 1.0])


def test_grain_comparison_labels_and_conversion():
    g = A.grain_comparison(A.account_spells(ACC), period=Period.quarter("2026Q1")).set_index("grain")
    assert list(g.index) == ["week", "month", "quarter"]
    assert g.loc["month", "periods"] == 3 and g.loc["quarter", "measured_quarter"] == pytest.approx(0.4)
    m = g.loc["month"]
    assert m.converted_to_quarter == pytest.approx(1 - (1 - m.mean_rate) ** 3)
    assert g.loc["week", "per_quarter"] == pytest.approx(90 / 7)


# --------------------------------------------------------------------------- segments and tests


def _outcomes():
    return pd.DataFrame({"account_id": [f"x{i}" for i in range(300)],
                         "plan": ["a"] * 100 + ["b"] * 100 + ["c"] * 100,
                         "icp_fit": [True] * 150 + [False] * 150,
                         "churned": [1] * 5 + [0] * 95 + [1] * 15 + [0] * 85 + [1] * 30 + [0] * 70})


def test_segment_test_matches_textbook_chi_square():
    o = _outcomes()
    t = A.segment_test(o, by="plan").iloc[0]
    chi2, p, dof, _ = chi2_contingency(pd.crosstab(o.plan, o.churned), correction=False)
    assert t.chi2 == pytest.approx(chi2) and t.chi2_p == pytest.approx(p) and t.chi2_df == dof == 2
    assert t.lr_p < 0.001 and (t.highest, t.lowest) == ("c", "a")
    sentence = A.describe_segment_test(A.segment_test(o, by="plan"))
    assert sentence.startswith("Attrition differs by plan: highest in c (30.0%), lowest in a (5.0%)")


def test_group_effects_odds_ratios():
    g = A.group_effects(_outcomes(), by="plan", reference="a").set_index("plan")
    assert g.loc["c", "odds_ratio"] == pytest.approx((30 / 70) / (5 / 95), rel=1e-5)
    assert g.loc["a", "odds_ratio"] == 1.0 and g.loc["c", "p_value"] < 0.001
    assert g.loc["b", "attrition_rate_lo"] < 0.15 < g.loc["b", "attrition_rate_hi"]


def test_regrettable_split():
    r = A.regrettable_attrition(_outcomes()).set_index("kind")
    assert r.loc["regrettable (ICP fit)", "churned"] == 5 + 15
    assert r.contribution.sum() == pytest.approx(50 / 300) and r.share_of_churned.sum() == pytest.approx(1)


def test_usage_bands_quartiles():
    o = pd.DataFrame({"account_id": [f"a{i:02d}" for i in range(20)], "churned": 0})
    u = pd.DataFrame({"account_id": [f"a{i:02d}" for i in range(5, 20)], "n": range(15)})
    b = A.usage_bands(o, u)
    assert b.usage_band.value_counts().to_dict() == {"middle two quartiles": 10, "bottom quartile": 5, "top quartile": 5}
    assert set(b.loc[b.usage_band == "bottom quartile", "usage"]) == {0.0}
    assert b.loc[b.usage_band == "top quartile", "usage"].min() == 10


def test_indicator_lift_known_answer():
    d = pd.DataFrame({"high_user_attrition": [True] * 40 + [False] * 160,
                      "churned_next": [1] * 8 + [0] * 32 + [1] * 8 + [0] * 152})
    r = A.indicator_lift(d).iloc[0]
    assert r.lift == pytest.approx((8 / 40) / (8 / 160))
    se = np.sqrt(1 / 8 - 1 / 40 + 1 / 8 - 1 / 160)
    assert r.lift_lo == pytest.approx(4 * np.exp(-1.959964 * se), rel=1e-4)
    assert "4.0 times as often" in A.describe_lift(A.indicator_lift(d))


def test_size_band():
    s = A.size_band(pd.DataFrame({"employees": [1, 50, 51, 1000, 1001, None]}))
    assert s.size_band.tolist() == ["1-50", "1-50", "51-200", "201-1000", "1000+", "Not recorded"]


# --------------------------------------------------------------------------- the sample's planted effects


@pytest.fixture(scope="module")
def sample_spells(sample):
    return A.logo_spells(sample.accounts, events=sample.events, data_end=sample.data_end)


def test_sample_heavy_workflow_users_churn_less(sample, sample_spells):
    q = Period.quarter("2026Q3")
    coh = A.feature_cohorts(sample.events, sample_spells, period=q, feature_event="workflow_run")
    e = A.group_effects(coh, by="usage_band", reference="middle two quartiles").set_index("usage_band")
    assert e.loc["top quartile", "attrition_rate"] < e.loc["middle two quartiles", "attrition_rate"] \
        < e.loc["bottom quartile", "attrition_rate"]
    assert e.loc["top quartile", "odds_ratio"] < 1 and e.loc["top quartile", "p_value"] < 0.05
    # the bands follow the planted usage trait
    truth = pd.read_csv(sample.source_dir / "truth" / "accounts.csv")
    trait = [c for c in truth.columns if "usage" in c and truth[c].dtype.kind == "f"][0]
    m = coh.merge(truth[["account_id", trait]], on="account_id")
    means = m.groupby("usage_band")[trait].mean()
    assert means["top quartile"] > means["middle two quartiles"] > means["bottom quartile"]


def test_sample_user_attrition_leads_logo_attrition(sample, sample_spells):
    q = Period.quarter("2026Q3")
    ua = A.account_user_attrition(sample.events, quarters=[q.previous(i) for i in (4, 3, 2, 1)])
    r = A.indicator_lift(A.leading_indicator(ua, sample_spells, threshold=0.3)).iloc[0]
    assert r.lift_lo > 1.5


def test_sample_segments_and_revenue(sample, sample_spells):
    q = Period.quarter("2026Q3")
    t = A.segment_test(A.attrition_outcomes(sample_spells, period=q), by="segment").iloc[0]
    assert t.chi2_p < 0.01 and t.highest == "SMB" and t.lowest == "Enterprise"
    mrr = A.mrr_movements(sample.subscriptions, grain="quarter", start=q.start, end=q.end).iloc[0]
    assert 0 < mrr.net_mrr_churn < mrr.gross_mrr_churn < 0.2
    assert mrr.seats_removed > 0 and mrr.reactivated_mrr > 0
    users = A.activity_attrition(sample.events, level="user", grain="quarter", start=q.start, end=q.end).iloc[0]
    assert 0 < users.attrition_rate < 1 and users.end_count == users.start_count - users.churned + users.new + users.reactivated


def test_weekly_view_keeps_the_partial_weeks_at_the_quarter_edges():
    # 2026Q3 starts on a Wednesday and ends on a Wednesday; churn on its last day must count weekly too
    sp = pd.DataFrame({"account_id": list("abcd"), "spell_start": pd.to_datetime(["2025-01-01"] * 4),
                       "spell_end": pd.to_datetime(["2026-09-30", None, None, "2026-07-02"])})
    g = A.grain_comparison(sp, period=Period.quarter("2026Q3"), reactivation_gap_days=None).set_index("grain")
    assert g.loc["quarter", "measured_quarter"] == pytest.approx(0.5)
    assert g.loc["week", "periods"] == 14                      # 12 whole weeks + a 5-day and a 3-day edge
    assert g.loc["week", "compounded"] == pytest.approx(0.5)   # both churns are counted
    assert g.loc["month", "compounded"] == pytest.approx(0.5)
    weeks = A.spell_attrition(sp, grain="week", start="2026-07-01", end="2026-10-01", partial=True,
                              reactivation_gap_days=None)
    assert weeks.period.iloc[0] == "2026-W27 (5 days)" and weeks.period.iloc[-1] == "2026-W40 (3 days)"
    assert weeks.churned.iloc[-1] == 1 and weeks.churned.iloc[0] == 1


def test_segment_tests_pool_a_thousand_levels_and_agree():
    rng = np.random.default_rng(3)
    n = 5000
    city = np.array([f"city {i}" for i in rng.integers(0, 1100, n)], dtype=object)
    city[:400] = "Capital"
    city[400:700] = None                                   # blanks stay in the test as one group
    churned = (rng.random(n) < np.where(city == "Capital", 0.3, 0.1)).astype(int)
    o = pd.DataFrame({"city": city, "churned": churned})
    t = A.segment_summary(o, columns=["city"]).iloc[0]
    assert t.levels <= 10 and t.pooled > 1000 and t.n == n
    assert t.differs and t.chi2_p < 0.001 and t.lr_p < 0.001  # both tests say the same
    assert "pooled as \"Other\"" in t.sentence and t.highest == "Capital"
