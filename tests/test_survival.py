"""Tests of churnlab.survival and churnlab.plotting.survival.

Known answers come from R's survival package on the ``lung`` data (NCCTG lung cancer, shipped with
lifelines as ``load_lung``; status 1 = dead, as R's ``status == 2``). The R figures are the ones
R prints for these calls (survival package documentation examples, reproduced in many tutorials):

* ``summary(survfit(Surv(time, status) ~ 1, data = lung))`` first rows::

     time n.risk n.event survival std.err lower 95% CI upper 95% CI
        5    228       1   0.9956 0.00438       0.9871        1.000
       11    227       3   0.9825 0.00869       0.9656        1.000
       12    224       1   0.9781 0.00970       0.9592        0.997
       13    223       2   0.9693 0.01142       0.9472        0.992
       15    221       1   0.9649 0.01219       0.9413        0.989
       26    220       1   0.9605 0.01290       0.9356        0.986
       30    219       1   0.9561 0.01356       0.9299        0.983
       31    218       1   0.9518 0.01419       0.9243        0.980
       53    217       2   0.9430 0.01536       0.9134        0.974
       54    215       1   0.9386 0.01590       0.9079        0.970
       59    214       1   0.9342 0.01642       0.9026        0.967

  and ``print(survfit(...))``: n = 228, events = 165, median = 310.
* ``summary(survfit(Surv(time, status) ~ sex, data = lung))$table``::

              records n.max n.start events    rmean se(rmean) median 0.95LCL 0.95UCL
        sex=1     138   138     138    112 326.0841  22.91156    270     212     310
        sex=2      90    90      90     53 460.6473  34.68985    426     348     550

* ``summary(survfit(Surv(time, status) ~ sex, data = lung), times = c(365, 730))$surv``::

        [1] 0.33608783 0.07812409 0.52646303 0.18723250

* ``survdiff(Surv(time, status) ~ sex, data = lung)``: Chisq = 10.3 on 1 df, p = 0.00131; the
  equivalent score (log-rank) test of ``coxph(Surv(time, status) ~ sex, data = lung)`` prints 10.33.
* ``coxph(Surv(time, status) ~ age + sex, data = lung)``::

             coef exp(coef)  se(coef)      z       p
        age  0.017045  1.017191  0.009223  1.848 0.06459
        sex -0.513219  0.598566  0.167458 -3.065 0.00218
        Likelihood ratio test=14.12  on 2 df, p=0.0008574

R's median confidence limits use a log-transformed band; lifelines (and churnlab) use the
log(-log) band, so the median limits are compared with the band's own crossing instead.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest
from lifelines.datasets import load_lung, load_rossi

import matplotlib.pyplot as plt

from churnlab import survival as sv
from churnlab.plotting import survival as charts

R_TABLE = pd.DataFrame(
    [(5, 228, 1, 0.9956), (11, 227, 3, 0.9825), (12, 224, 1, 0.9781), (13, 223, 2, 0.9693),
     (15, 221, 1, 0.9649), (26, 220, 1, 0.9605), (30, 219, 1, 0.9561), (31, 218, 1, 0.9518),
     (53, 217, 2, 0.9430), (54, 215, 1, 0.9386), (59, 214, 1, 0.9342)],
    columns=["time", "n_risk", "n_event", "survival"])
R_STDERR = [0.00438, 0.00869, 0.00970, 0.01142, 0.01219, 0.01290, 0.01356, 0.01419, 0.01536,
            0.01590, 0.01642]


@pytest.fixture(scope="module")
def lung():
    return load_lung()


# ------------------------------------------------------------------------------------------
# known answers: R survival on lung
# ------------------------------------------------------------------------------------------

def test_km_table_matches_r_survfit(lung):
    fits = sv.fit_km(lung, duration_col="time", event_col="status")
    curve = sv.survival_curves(fits).set_index("time")
    got = curve.loc[R_TABLE["time"].astype(float)]
    np.testing.assert_array_equal(got["at_risk"].to_numpy(), R_TABLE["n_risk"])
    np.testing.assert_array_equal(got["events"].to_numpy(), R_TABLE["n_event"])
    # the KM product over R's printed risk table, exactly
    exact = np.cumprod(1 - R_TABLE["n_event"] / R_TABLE["n_risk"]).to_numpy()
    np.testing.assert_allclose(got["survival"].to_numpy(), exact, rtol=0, atol=1e-12)
    # and R's printed survival column (4 decimals)
    np.testing.assert_allclose(got["survival"].to_numpy(), R_TABLE["survival"], atol=5e-5)
    # R's std.err is S * sqrt(Greenwood sum); the log(-log) band is built from the same sum
    green = np.cumsum(R_TABLE["n_event"] / (R_TABLE["n_risk"] * (R_TABLE["n_risk"] - R_TABLE["n_event"])))
    np.testing.assert_allclose(exact * np.sqrt(green), R_STDERR, atol=5e-6)
    z = 1.959963984540054
    v = green / np.log(exact) ** 2
    lo = exact ** np.exp(z * np.sqrt(v))
    hi = exact ** np.exp(-z * np.sqrt(v))
    np.testing.assert_allclose(got["survival_lo"], lo, atol=1e-9)
    np.testing.assert_allclose(got["survival_hi"], hi, atol=1e-9)


def test_median_counts_and_survival_at_times_match_r(lung):
    overall = sv.survival_summary(sv.fit_km(lung, duration_col="time", event_col="status"),
                                  times=[], horizon=0).iloc[0]
    assert (overall["accounts"], overall["churned"], overall["median"]) == (228, 165, 310)
    fits = sv.fit_km(lung, by="sex", duration_col="time", event_col="status")
    s = sv.survival_summary(fits, times=[365, 730], horizon=1022, extrapolate=True).set_index("sex")
    assert s.loc[1, ["accounts", "churned", "median"]].tolist() == [138, 112, 270]
    assert s.loc[2, ["accounts", "churned", "median"]].tolist() == [90, 53, 426]
    np.testing.assert_allclose(
        [s.loc[1, "survival_365m"], s.loc[1, "survival_730m"],
         s.loc[2, "survival_365m"], s.loc[2, "survival_730m"]],
        [0.33608783, 0.07812409, 0.52646303, 0.18723250], atol=1e-6)
    # restricted mean up to the largest time of either curve (R's rmean, "common" horizon)
    np.testing.assert_allclose(s["rmst_1022m"].to_numpy(), [326.0841, 460.6473], atol=1e-4)
    z = 1.959963984540054
    se = (s["rmst_1022m_hi"] - s["rmst_1022m"]).to_numpy() / z
    np.testing.assert_allclose(se, [22.91156, 34.68985], atol=1e-5)
    # median limits: where the band crosses one half
    for key, kmf in fits.items():
        band = kmf.confidence_interval_survival_function_
        lo_t = band.index[band.iloc[:, 0] <= 0.5].min()
        hi_t = band.index[band.iloc[:, 1] <= 0.5].min()
        assert (s.loc[key, "median_lo"], s.loc[key, "median_hi"]) == (lo_t, hi_t)


def test_logrank_matches_r_survdiff(lung):
    res = sv.logrank(lung, by="sex", duration_col="time", event_col="status").iloc[0]
    assert res["df"] == 1 and res["groups"] == 2
    assert abs(res["test_statistic"] - 10.33) < 0.005      # coxph score test, 2 decimals
    assert round(res["test_statistic"], 1) == 10.3           # survdiff Chisq
    assert abs(res["p"] - 0.00131) < 5e-6                    # survdiff p = 0.00131
    pw = sv.pairwise_logrank(lung, by="sex", duration_col="time", event_col="status")
    assert pw.loc[0, "test_statistic"] == pytest.approx(res["test_statistic"], abs=1e-9)


def test_cox_matches_r_coxph(lung):
    cph = sv.fit_cox(lung, covariates=["age", "sex"], duration_col="time", event_col="status")
    s = cph.summary
    np.testing.assert_allclose(s.loc[["age", "sex"], "coef"], [0.017045, -0.513219], atol=5e-6)
    np.testing.assert_allclose(s.loc[["age", "sex"], "se(coef)"], [0.009223, 0.167458], atol=5e-6)
    np.testing.assert_allclose(s.loc[["age", "sex"], "exp(coef)"], [1.017191, 0.598566], atol=5e-6)
    assert cph.log_likelihood_ratio_test().test_statistic == pytest.approx(14.12, abs=0.005)
    hr = sv.hazard_ratios(cph).set_index("covariate")
    assert hr.loc["sex", "hazard_ratio"] == pytest.approx(0.598566, abs=5e-6)
    assert hr.loc["sex", "hazard_ratio_lo"] < 0.598566 < hr.loc["sex", "hazard_ratio_hi"]


# ------------------------------------------------------------------------------------------
# aggregated path = one row per account
# ------------------------------------------------------------------------------------------

def test_weighted_aggregate_gives_identical_results(lung):
    rows = lung.assign(event=lung["status"].astype(bool), duration=lung["time"] / 30.4375)
    agg = sv.aggregate_lifetimes(rows, by="sex")
    assert agg["weight"].sum() == len(rows) and len(agg) < len(rows)
    f_rows = sv.fit_km(rows, by="sex")
    f_agg = sv.fit_km(agg, by="sex", weight_col="weight")
    pd.testing.assert_frame_equal(sv.survival_curves(f_rows), sv.survival_curves(f_agg),
                                  check_exact=False, rtol=0, atol=1e-12)
    times = [0, 6, 12, 24]
    pd.testing.assert_frame_equal(sv.at_risk_table(f_rows, times=times),
                                  sv.at_risk_table(f_agg, times=times))
    pd.testing.assert_frame_equal(sv.survival_summary(f_rows), sv.survival_summary(f_agg),
                                  check_exact=False, rtol=0, atol=1e-10)
    lr_rows = sv.logrank(rows, by="sex").iloc[0]
    lr_agg = sv.logrank(agg, by="sex", weight_col="weight").iloc[0]
    assert lr_agg["test_statistic"] == pytest.approx(lr_rows["test_statistic"], abs=1e-9)
    pw_rows = sv.pairwise_logrank(rows, by="sex")
    pw_agg = sv.pairwise_logrank(agg, by="sex", weight_col="weight")
    np.testing.assert_allclose(pw_rows["test_statistic"], pw_agg["test_statistic"], atol=1e-9)


def test_at_risk_counts_are_accounts_not_lifelines_rows():
    # three accounts in one aggregated row: the table must say 3, whatever lifelines' plot says
    agg = pd.DataFrame({"duration": [1.0, 2.0], "event": [True, False], "weight": [3, 2]})
    t = sv.at_risk_table(sv.fit_km(agg, weight_col="weight"), times=[0, 1, 1.5, 2, 3])
    assert t["at_risk"].tolist() == [5, 5, 2, 2, 0]
    assert t["events"].tolist() == [0, 3, 3, 3, 3]
    assert t["censored"].tolist() == [0, 0, 0, 2, 2]


# ------------------------------------------------------------------------------------------
# lifetimes, censoring, cohorts
# ------------------------------------------------------------------------------------------

def _accounts():
    return pd.DataFrame({
        "account_id": ["a", "b", "c", "d", "e", "f"],
        "signup_date": pd.to_datetime(["2025-01-01", "2025-02-15", "2025-04-01", "2025-12-31",
                                       "2025-10-01", "2026-01-01"]),
        "churn_date": pd.to_datetime(["2025-07-02", None, "2025-12-31", "2026-02-01",
                                      "2026-01-01", None]),
        "segment": ["SMB", "SMB", "Enterprise", "SMB", "Mid-Market", "SMB"],
    })


def test_lifetimes_censor_at_the_end_of_the_analysis_date():
    lt = sv.lifetimes(_accounts(), as_of="2025Q4", by="segment").set_index("account_id")
    assert "f" not in lt.index                                   # signed up after the quarter
    assert lt.loc["a", "duration_days"] == 182 and lt.loc["a", "event"]
    assert lt.loc["b", "duration_days"] == (pd.Timestamp("2026-01-01") - pd.Timestamp("2025-02-15")).days
    assert not lt.loc["b", "event"]
    assert lt.loc["c", "event"]                                  # churned on the last day
    assert lt.loc["d", "duration_days"] == 1 and not lt.loc["d", "event"]  # churn is after it
    assert not lt.loc["e", "event"]                              # churn on the next day
    assert lt.loc["a", "duration"] == pytest.approx(182 / (365.25 / 12), abs=1e-12)
    assert sv.MONTH_DAYS == 30.4375
    assert lt.loc["b", "segment"] == "SMB" and lt.loc["a", "cohort"] == "2025Q1"
    assert lt.loc["e", "follow_up"] == pytest.approx(92 / sv.MONTH_DAYS)


def test_rerun_of_a_past_review_gives_the_same_numbers():
    """What was known at 2025-12-31, and the same accounts a year later with more history."""
    then = _accounts().iloc[:5].copy()
    then.loc[then["churn_date"] > "2025-12-31", "churn_date"] = pd.NaT
    later = pd.concat([_accounts(), pd.DataFrame({
        "account_id": ["g"], "signup_date": pd.to_datetime(["2026-03-01"]),
        "churn_date": pd.to_datetime(["2026-05-01"]), "segment": ["SMB"]})], ignore_index=True)
    later.loc[later["account_id"] == "b", "churn_date"] = pd.Timestamp("2026-06-30")
    a = sv.lifetimes(then, as_of="2025Q4", by="segment")
    b = sv.lifetimes(later, as_of="2025Q4", by="segment")
    pd.testing.assert_frame_equal(a, b)
    sa = sv.survival_summary(sv.fit_km(a, by="segment"), times=[3, 6])
    sb = sv.survival_summary(sv.fit_km(b, by="segment"), times=[3, 6])
    pd.testing.assert_frame_equal(sa, sb)


def test_lifetimes_do_not_mutate_input():
    acc = _accounts()
    before = acc.copy()
    sv.lifetimes(acc, as_of="2026Q1", grain="week")
    pd.testing.assert_frame_equal(acc, before)


@pytest.mark.parametrize("grain,label", [("week", "2025-W07"), ("month", "2025-02"),
                                         ("quarter", "2025Q1")])
def test_cohort_grains(grain, label):
    lt = sv.lifetimes(_accounts(), as_of="2025Q4", grain=grain).set_index("account_id")
    assert lt.loc["b", "cohort"] == label


def test_weekly_cohorts_are_52_a_year():
    days = pd.date_range("2025-01-06", "2025-12-28", freq="D")          # ISO weeks 2..52
    acc = pd.DataFrame({"account_id": range(len(days)), "signup_date": days, "churn_date": pd.NaT})
    lt = sv.lifetimes(acc, as_of="2025Q4", grain="week")
    assert lt["cohort"].nunique() == 51
    acc2 = pd.DataFrame({"account_id": range(364), "churn_date": pd.NaT,
                         "signup_date": pd.date_range("2024-12-30", periods=364, freq="D")})
    assert sv.lifetimes(acc2, as_of="2025Q4", grain="week")["cohort"].nunique() == 52


def test_grid_of_cohort_by_segment_in_one_call():
    lt = sv.lifetimes(_accounts(), as_of="2026Q2", by="segment")
    fits = sv.fit_km(lt, by=["cohort", "segment"])
    assert ("2025Q1", "SMB") in fits and ("2025Q4", "Mid-Market") in fits
    curves = sv.survival_curves(fits)
    assert {"cohort", "segment", "time", "survival", "survival_lo", "survival_hi",
            "at_risk"} <= set(curves.columns)
    assert fits[("2025Q1", "SMB")].churnlab_group == {"cohort": "2025Q1", "segment": "SMB"}


def test_summary_does_not_extrapolate_beyond_follow_up():
    lt = pd.DataFrame({"duration": [1.0, 2.0, 4.0], "event": [True, False, False]})
    s = sv.survival_summary(sv.fit_km(lt), times=[3, 6], horizon=6).iloc[0]
    assert s["survival_3m"] == pytest.approx(2 / 3)
    assert np.isnan(s["survival_6m"]) and np.isnan(s["rmst_6m"])
    assert s["median"] == np.inf                         # not reached


# ------------------------------------------------------------------------------------------
# tests of difference in words
# ------------------------------------------------------------------------------------------

def test_pairwise_holm_correction(lung):
    lung = lung.dropna(subset=["ph.ecog"])
    lung = lung[lung["ph.ecog"] < 3]
    pw = sv.pairwise_logrank(lung, by="ph.ecog", duration_col="time", event_col="status")
    assert len(pw) == 3
    p = pw["p"].to_numpy()
    order = np.argsort(p)
    holm = np.minimum(1, np.maximum.accumulate(p[order] * np.array([3, 2, 1])))
    expect = np.empty(3)
    expect[order] = holm
    np.testing.assert_allclose(pw["p_adj"], expect, rtol=1e-12)


def test_difference_sentences_say_who_retains_better():
    lt = pd.DataFrame({"era": ["before"] * 40 + ["after"] * 40,
                       "duration": list(np.linspace(0.5, 5, 40)) + [12.0] * 40,
                       "event": [True] * 40 + [False] * 40})
    out = sv.difference_sentences(lt, by="era", at=6, noun="cohorts signed up")
    assert out[0].startswith("Survival differs across signups before and after the change (2 groups; log-rank chi-square")
    assert out[1].startswith("Cohorts signed up after retain better at 6 months than cohorts signed up before")
    assert "p < 0.001" in out[1]
    same = lt.assign(era=["x", "y"] * 40)
    assert sv.difference_sentences(same, by="era")[1].startswith("No clear difference")


# ------------------------------------------------------------------------------------------
# retention triangles
# ------------------------------------------------------------------------------------------

def test_logo_retention_triangle_hand_computed():
    acc = pd.DataFrame({
        "account_id": ["a", "b", "c", "d"],
        "signup_date": pd.to_datetime(["2025-01-01", "2025-01-20", "2025-01-10", "2025-04-05"]),
        "churn_date": pd.to_datetime(["2025-02-15", None, "2025-05-01", None]),
    })
    lt = sv.lifetimes(acc, as_of="2025-06-30", grain="quarter")
    m = sv.retention_matrix(lt)
    q1 = m[m["cohort"] == "2025Q1"].set_index("months")["retained"]
    # followed for at least 5 months (last signup 2025-01-20 -> 161 days = 5.29 months)
    assert list(q1.index) == [0, 1, 2, 3, 4, 5]
    # a churns after 45 days (1.48 months), c after 111 days (3.65 months)
    np.testing.assert_allclose(q1.to_numpy(), [1, 1, 2 / 3, 2 / 3, 1 / 3, 1 / 3])
    q2 = m[m["cohort"] == "2025Q2"]
    assert q2["months"].tolist() == [0, 1, 2]
    assert (q2["retained"] == 1).all()


def test_revenue_retention_can_exceed_100_percent():
    acc = pd.DataFrame({"account_id": ["a", "b"], "cohort": ["2025-01"] * 2,
                        "signup_date": pd.to_datetime(["2025-01-05", "2025-01-25"])})
    subs = pd.DataFrame({
        "account_id": ["a", "b", "a", "b", "a", "a"],
        "month": pd.to_datetime(["2025-01-01", "2025-01-01", "2025-02-01", "2025-02-01",
                                 "2025-03-01", "2025-04-01"]),
        "mrr": [100.0, 50.0, 200.0, 50.0, 250.0, 999.0]})
    m = sv.revenue_retention_matrix(acc, subs, as_of="2025-03-31")
    assert m["months"].tolist() == [0, 1, 2]                    # April has not ended
    np.testing.assert_allclose(m["retained"], [1.0, 250 / 150, 250 / 150])
    assert m["retained"].max() > 1


# ------------------------------------------------------------------------------------------
# Cox drivers
# ------------------------------------------------------------------------------------------

def test_cox_categorical_coding_reference_and_strata():
    rossi = load_rossi().assign(race=lambda d: np.where(d["race"] == 1, "black", "other"),
                                wexp=lambda d: np.where(d["wexp"] == 1, "yes", "no"))
    cph = sv.fit_cox(rossi, covariates=["race", "prio", "age"], duration_col="week",
                     event_col="arrest", reference={"race": "other"})
    assert "race=black" in cph.params_.index and cph.churnlab_reference == {"race": "other"}
    hr = sv.hazard_ratios(cph).set_index("covariate")
    assert hr.loc["race=black", "reference"] == "other"
    assert hr.loc["race=black", "reading"].startswith("Race: black churns ") and "as fast as Race: other" in hr.loc["race=black", "reading"]
    check = sv.ph_check(cph)
    assert set(check["covariate"]) == {"race=black", "prio", "age"}
    # age is the covariate known to break proportional hazards in the Rossi data
    # (lifelines' check_assumptions tutorial)
    assert "age" in sv.ph_violations(check, alpha=0.05)
    assert "age" in sv.describe_ph(check, alpha=0.05)
    strat = sv.fit_cox(rossi, covariates=["race", "prio"], strata=["wexp"], duration_col="week",
                       event_col="arrest")
    assert list(np.atleast_1d(strat.strata)) == ["wexp"] and "wexp" not in strat.params_.index


def test_cohort_metrics_for_metrics_json():
    s = pd.DataFrame({"cohort": ["2025Q4", "2026Q1"], "median": [20.5, np.inf],
                      "survival_12m": [0.81234, np.nan]})
    m = sv.cohort_metrics(s, cohorts=["2025Q4", "2026Q1"])
    assert m == {"median_lifetime_months": {"2025Q4": 20.5, "2026Q1": None},
                 "survival_12m": {"2025Q4": 0.8123, "2026Q1": None}}
    json.dumps(m)


# ------------------------------------------------------------------------------------------
# plots
# ------------------------------------------------------------------------------------------

def test_plots_draw_from_tidy_output():
    import matplotlib.pyplot as plt

    from churnlab.plotting import survival as ps

    lt = sv.lifetimes(_accounts(), as_of="2026Q2", by="segment")
    fits = sv.fit_km(lt, by="segment")
    ax = ps.plot_km(sv.survival_curves(fits), at_risk=sv.at_risk_table(fits, times=[0, 3, 6]))
    texts = [t.get_text() for t in ax.texts]
    assert "At risk" in texts and "3" in texts                      # SMB at 0 months
    axes = ps.plot_km_grid(sv.survival_curves(sv.fit_km(lt, by=["cohort", "segment"])),
                           col="segment", hue="cohort")
    assert axes.size >= 3
    ps.plot_cohort_trend(sv.survival_summary(sv.fit_km(lt, by="cohort"), times=[3]),
                         value="survival_3m")
    ps.plot_retention_heatmap(sv.retention_matrix(lt))
    cph = sv.fit_cox(load_rossi(), covariates=["fin", "prio"], duration_col="week", event_col="arrest")
    ps.plot_hazard_ratios(sv.hazard_ratios(cph))
    plt.close("all")


# ------------------------------------------------------------------------------------------
# the sample company's planted effects (docs/sample-data.md)
# ------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def sample_lifetimes(sample_dir):
    from churnlab.sources import load

    ds = load(sample_dir)
    lt = sv.lifetimes(ds.accounts, as_of="2026Q3", by=["segment", "contract", "icp_fit", "plan"])
    return sv.mark_era(lt, at="2025-01-01", before="before", after="after")


def test_sample_onboarding_redesign_lowers_early_churn(sample_lifetimes):
    early = sv.censor_at(sample_lifetimes, 3)
    s = sv.survival_summary(sv.fit_km(early, by="era"), times=[3]).set_index("era")
    assert s.loc["after", "survival_3m"] > s.loc["before", "survival_3m"]
    assert sv.logrank(early, by="era").loc[0, "p"] < 0.001
    text = sv.difference_sentences(early, by="era", at=3, noun="accounts signed up")
    assert text[1].startswith("Accounts signed up after retain better at 3 months")


def test_sample_segments_ordered_smb_mid_market_enterprise(sample_lifetimes):
    agg = sv.aggregate_lifetimes(sample_lifetimes, by="segment")
    s = sv.survival_summary(sv.fit_km(agg, by="segment", weight_col="weight")).set_index("segment")
    assert s.loc["SMB", "survival_12m"] < s.loc["Mid-Market", "survival_12m"] < s.loc["Enterprise", "survival_12m"]
    assert s.loc["SMB", "rmst_24m"] < s.loc["Mid-Market", "rmst_24m"] < s.loc["Enterprise", "rmst_24m"]
    assert sv.logrank(agg, by="segment", weight_col="weight").loc[0, "p"] < 1e-6
    assert (sv.pairwise_logrank(agg, by="segment", weight_col="weight")["p_adj"] < 0.05).all()


def test_sample_annual_contracts_step_down_at_renewals(sample_lifetimes):
    fits = sv.fit_km(sample_lifetimes, by="contract")
    s = sv.survival_summary(fits, times=[11.5, 12.5, 23.5, 24.5]).set_index("contract")
    annual, monthly = s.loc["annual"], s.loc["monthly"]
    assert annual["survival_11.5m"] > 0.99                                   # flat in year one
    assert annual["survival_11.5m"] - annual["survival_12.5m"] > 0.05        # step at 12 months
    assert annual["survival_12.5m"] - annual["survival_23.5m"] < 0.01        # flat in year two
    assert annual["survival_23.5m"] - annual["survival_24.5m"] > 0.03        # step at 24 months
    assert monthly["survival_11.5m"] < 0.9                                   # monthly leave any time
    churned = sample_lifetimes[(sample_lifetimes["contract"] == "annual") & sample_lifetimes["event"]]
    years = churned["duration"] / 12
    assert (np.abs(years - years.round()) < 0.1).mean() > 0.95


def test_sample_cox_drivers_and_stratification(sample_lifetimes):
    ref = {"segment": "Enterprise", "contract": "annual"}
    cox = sv.fit_cox(sample_lifetimes, covariates=["segment", "contract", "icp_fit"], reference=ref)
    check = sv.ph_check(cox)
    assert "contract" in sv.ph_violations(check)                 # renewal steps break PH
    assert "contract" in sv.describe_ph(check)
    strat = sv.fit_cox(sample_lifetimes, covariates=["segment", "icp_fit"], strata=["contract"],
                       reference={"segment": "Enterprise"})
    hr = sv.hazard_ratios(strat).set_index("covariate")["hazard_ratio"]
    assert hr["segment=SMB"] > hr["segment=Mid-Market"] > 1
    assert hr["icp_fit=False"] > 1
    assert sv.ph_violations(sv.ph_check(strat)) == []


def test_sample_metrics_for_mature_cohorts(sample_lifetimes):
    cohorts = sv.mature_cohorts(sample_lifetimes, months=12, last=4)
    assert cohorts == ["2024Q4", "2025Q1", "2025Q2", "2025Q3"]
    summary = sv.survival_summary(sv.fit_km(sample_lifetimes, by="cohort"), times=[12])
    m = sv.cohort_metrics(summary, cohorts=cohorts)
    assert all(v is not None and 0.5 < v < 1 for v in m["survival_12m"].values())


# ------------------------------------------------------------------------------------------
# any company's accounts: the churn-driver model never fails, blanks are a group of their own
# ------------------------------------------------------------------------------------------

def _company(n=3000, seed=7):
    """Accounts of a made-up company: plan "basic" churns 2.5x as fast as the other plans."""
    rng = np.random.default_rng(seed)
    plan = rng.choice(["basic", "plus", "team"], n, p=[0.5, 0.3, 0.2])
    t = rng.exponential(1 / np.where(plan == "basic", 0.05, 0.02))
    c = rng.uniform(0, 40, n)
    return pd.DataFrame({"duration": np.minimum(t, c), "event": t <= c, "plan": plan,
                         "score": rng.normal(size=n)})


def test_cox_reference_comes_from_the_data_when_the_given_level_is_absent():
    lt = _company()
    res = sv.fit_cox_safely(lt, covariates=["plan", "score"], reference={"plan": "Enterprise"})
    assert res.fitted and res.message == ""
    assert res.reference["plan"] != "basic"                       # the best-retained plan, never the worst
    hr = sv.hazard_ratios(res).set_index("covariate")
    assert hr.loc["plan=basic", "hazard_ratio"] > 1.8
    # the plain fit falls back to the most common level instead of failing
    plain = sv.fit_cox(lt, covariates=["plan"], reference={"plan": "Enterprise"})
    assert plain.churnlab_reference == {"plan": "basic"}
    # a level that is present is honoured
    assert sv.fit_cox_safely(lt, covariates=["plan"], reference={"plan": "team"}).reference == {"plan": "team"}


def test_cox_leaves_out_constant_and_blank_covariates_and_says_so():
    lt = _company().assign(country="JP", note=None, empty=np.nan)
    res = sv.fit_cox_safely(lt, covariates=["plan", "country", "note", "empty"])
    assert res.fitted and res.covariates == ["plan"]
    assert set(res.dropped) == {"country", "note", "empty"}
    assert "country" in res.message and res.message.count(". ") == 0 and res.message.endswith(".")
    none = sv.fit_cox_safely(lt, covariates=["country", "absent"])
    assert not none.fitted and "not fitted" in none.message and "country" in none.message
    assert sv.hazard_ratios(none).empty and sv.ph_check(none).empty and sv.ph_violations(sv.ph_check(none)) == []


def test_cox_drops_collinear_terms_and_keeps_the_estimates():
    lt = _company()
    lt["tier"] = np.where(lt["plan"] == "basic", "low", "high")   # says the same as plan=basic
    lt["score2"] = 2 * lt["score"] + 1
    res = sv.fit_cox_safely(lt, covariates=["plan", "tier", "score", "score2"])
    assert res.fitted and {"score2"} <= set(res.dropped) and any(k.startswith("tier") for k in res.dropped)
    ref = sv.fit_cox_safely(lt, covariates=["plan", "score"])
    a = sv.hazard_ratios(res).set_index("covariate")["hazard_ratio"]
    b = sv.hazard_ratios(ref).set_index("covariate")["hazard_ratio"]
    assert a["plan=basic"] == pytest.approx(b["plan=basic"], rel=1e-4)


def test_cox_with_a_1100_level_column_is_fast_and_pools_rare_levels():
    import time
    lt = _company(n=6000)
    lt["city"] = ["Capital" if i < 1500 else f"city {i % 1100}" for i in range(len(lt))]
    assert lt["city"].nunique() == 1101                           # one big city survives pooling
    t0 = time.perf_counter()
    res = sv.fit_cox_safely(lt, covariates=["plan", "city"])
    assert time.perf_counter() - t0 < 10
    assert res.fitted and res.pooled["city"] == 1100 and "city" in res.message
    terms = [t for t in sv.hazard_ratios(res)["covariate"] if t.startswith("city")]
    assert len(terms) == 1                                        # Capital against Other, or the reverse


def test_cox_level_without_churn_is_pooled_or_penalised_never_infinite():
    lt = _company()
    lt.loc[lt["plan"] == "team", "event"] = False                 # quasi-separation
    res = sv.fit_cox_safely(lt, covariates=["plan", "score"])
    assert res.fitted
    hr = sv.hazard_ratios(res)
    assert np.isfinite(hr[["hazard_ratio", "hazard_ratio_lo", "hazard_ratio_hi"]].to_numpy(float)).all()
    assert res.penalizer > 0 and "penalty" in res.message
    with pytest.raises(Exception):                                # the plain fit cannot do it
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            sv.fit_cox(lt, covariates=["plan", "score"])


def test_cox_with_no_churn_at_all_is_one_sentence():
    lt = _company().assign(event=False)
    res = sv.fit_cox_safely(lt, covariates=["plan"])
    assert res.model is None and res.message.endswith(".") and res.message.count(". ") == 0
    assert "no account churned" in res.message
    assert sv.describe_ph(sv.ph_check(res)).endswith(".")


def test_blank_groups_are_labelled_and_stay_in_every_test():
    from churnlab.stats import BLANK_LABEL
    acc = pd.DataFrame({"account_id": [f"a{i}" for i in range(9)],
                        "signup_date": pd.to_datetime(["2025-01-01"] * 9),
                        "churn_date": pd.to_datetime(["2025-03-01", None, "2025-06-01", None, "2025-02-01",
                                                      "2025-02-15", None, None, "2025-05-01"]),
                        "tier": ["gold", "gold", "gold", None, " ", np.nan, "silver", "silver", "silver"]})
    lt = sv.lifetimes(acc, as_of="2025Q4", by="tier")
    assert lt["tier"].tolist().count(BLANK_LABEL) == 3 and not lt["tier"].isna().any()
    s = sv.survival_summary(sv.fit_km(lt, by="tier"), times=[3])
    assert set(s["tier"]) == {"gold", "silver", BLANK_LABEL} and "nan" not in s["tier"].astype(str).tolist()
    assert sv.logrank(lt, by="tier").loc[0, "groups"] == 3
    # raw frames with missing group values (not through lifetimes) are labelled too
    raw = lt.assign(tier=acc["tier"].to_numpy())
    assert sv.logrank(raw, by="tier").loc[0, "groups"] == 3
    pw = sv.pairwise_logrank(raw, by="tier")
    assert len(pw) == 3 and BLANK_LABEL in set(pw["group_a"]) | set(pw["group_b"])
    text = " ".join(sv.difference_sentences(raw, by="tier", at=3))
    assert BLANK_LABEL in text and "nan" not in text


def test_difference_sentences_with_a_single_group_say_so():
    lt = _company().assign(plan="basic")
    text = sv.difference_sentences(lt, by="plan", at=6)
    assert text == ["Survival cannot be compared across plan: every account has the same value (basic)."]
    none = sv.difference_sentences(_company().assign(event=False), by="plan", at=6)
    assert none == ["No account churned in any plan group, so there is no difference in survival to test."]


def test_plots_cope_with_bounds_that_cross_the_estimate_and_no_model():
    hr = pd.DataFrame({"covariate": ["plan=basic"], "reference": ["plus"], "hazard_ratio": [2.0],
                       "hazard_ratio_lo": [2.0000001], "hazard_ratio_hi": [2.5]})
    assert charts.plot_hazard_ratios(hr) is not None
    s = pd.DataFrame({"cohort": ["2025Q1"], "survival_12m": [1.0], "survival_12m_lo": [1.0000001],
                      "survival_12m_hi": [1.0]})
    assert charts.plot_cohort_trend(s) is not None
    plt.close("all")


def test_difference_sentences_over_a_1100_level_column_pool_the_small_values():
    import time
    lt = _company(n=4000)
    lt["city"] = ["Capital" if i < 1500 else f"city {i % 1100}" for i in range(len(lt))]
    t0 = time.perf_counter()
    text = sv.difference_sentences(lt, by="city", at=6)
    assert time.perf_counter() - t0 < 10
    assert text[0].startswith("Survival") and "(2 groups;" in text[0]
    assert len(text) == 3 and text[-1] == 'The 1,100 smaller city values are compared as one group, "Other".'
    # an overall test only (pairs=[], e.g. signup cohorts) is not pooled: every group keeps its name
    few = lt.assign(city=np.where(np.arange(len(lt)) % 25 == 0, "tiny", lt["plan"]))
    assert "(4 groups;" in sv.difference_sentences(few, by="city", at=6, pairs=[], max_groups=3)[0]
