"""Known-answer tests of the attrition definitions on hand-built tables."""
import numpy as np
import pandas as pd
import pytest

from churnlab.attrition import convert_rate, logo_attrition


def _acc(rows):
    df = pd.DataFrame(rows, columns=["account_id", "signup_date", "churn_date", "segment"])
    df["signup_date"] = pd.to_datetime(df["signup_date"])
    df["churn_date"] = pd.to_datetime(df["churn_date"])
    return df


ACC = _acc([
    ("a", "2025-01-10", None, "SMB"),            # active throughout
    ("b", "2025-03-01", "2026-02-10", "SMB"),     # lost in February
    ("c", "2025-06-01", "2026-01-01", "SMB"),     # churn_date = first day without service: lost on Jan 1
    ("d", "2026-01-01", None, "Enterprise"),      # signs up on the first day: active at the start
    ("e", "2026-01-15", "2026-03-05", "Enterprise"),  # acquired in Q1 and lost in Q1: excluded from Q1
    ("f", "2025-12-01", "2026-04-01", "Enterprise"),  # leaves at the end of Q1: retained in Q1 (active on Mar 31)
    ("g", "2025-11-01", None, "Enterprise"),
])


def test_quarter_hand_computed():
    out = logo_attrition(ACC, grain="quarter", start="2026-01-01", end="2026-04-01")
    r = out.iloc[0]
    # active on 2026-01-01: a, b, d, f, g (c's last day was Dec 31) -> 5
    # still active on 2026-03-31: a, d, f, g -> retained 4, churned 1 (b); new in quarter: e
    assert (r.start_count, r.churned, r.retained, r.new, r.end_count) == (5, 1, 4, 1, 4)
    assert r.attrition_rate == pytest.approx(0.2) and r.retention_rate == pytest.approx(0.8)
    assert r.period == "2026Q1"


def test_months_and_acquired_in_period_excluded():
    out = logo_attrition(ACC, grain="month", start="2026-01-01", end="2026-04-01").set_index("period")
    # Dec 31 -> Jan: c churns on Jan 1 so it is not active on Jan 1; base a b d f g
    assert out.loc["2026-01", ["start_count", "churned", "new"]].tolist() == [5, 0, 1]
    assert out.loc["2026-02", ["start_count", "churned", "new"]].tolist() == [6, 1, 0]
    # e (acquired in January) is in March's base and is lost in March
    assert out.loc["2026-03", ["start_count", "churned", "new"]].tolist() == [5, 1, 0]
    assert (out.attrition_rate >= 0).all() and np.allclose(out.attrition_rate + out.retention_rate, 1)


def test_by_segment_sums_to_total():
    total = logo_attrition(ACC, grain="quarter", start="2026-01-01", end="2026-04-01")
    seg = logo_attrition(ACC, grain="quarter", start="2026-01-01", end="2026-04-01", by="segment")
    assert seg[["start_count", "churned", "new"]].sum().tolist() == \
        total[["start_count", "churned", "new"]].iloc[0].tolist()
    smb = seg.set_index("segment").loc["SMB"]
    assert (smb.start_count, smb.churned) == (2, 1)


def test_cancel_date_instead_of_churn_date():
    acc = ACC.assign(cancel_date=ACC.churn_date - pd.Timedelta(days=45))
    out = logo_attrition(acc, grain="quarter", start="2026-01-01", end="2026-04-01", churn_col="cancel_date")
    r = out.iloc[0]
    # requests: b 2025-12-27 (before Q1: not in the base), e 2026-01-19 (new), f 2026-02-15 -> churned
    assert (r.start_count, r.churned) == (4, 1)


def test_wilson_interval_columns():
    out = logo_attrition(ACC, grain="quarter", start="2026-01-01", end="2026-04-01")
    assert out.attrition_rate_lo[0] < 0.2 < out.attrition_rate_hi[0]


def test_conversion_between_grains():
    assert convert_rate(0.02, periods=3) == pytest.approx(1 - 0.98 ** 3)
    assert convert_rate(convert_rate(0.05, periods=3), periods=1 / 3) == pytest.approx(0.05)
    assert np.allclose(convert_rate(np.array([0.0, 1.0]), periods=12), [0.0, 1.0])


def test_does_not_mutate_input():
    before = ACC.copy()
    logo_attrition(ACC, grain="month", start="2026-01-01", end="2026-04-01", by="segment")
    pd.testing.assert_frame_equal(ACC, before)
