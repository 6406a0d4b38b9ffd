import pandas as pd
import pytest

from churnlab.periods import Period, label_of, latest_complete_quarter, period_of, period_start, periods_between


def test_quarter_parsing_and_bounds():
    q = Period.quarter("2025q4")
    assert (q.label, q.start, q.end, q.last_day) == (
        "2025Q4", pd.Timestamp("2025-10-01"), pd.Timestamp("2026-01-01"), pd.Timestamp("2025-12-31"))
    assert Period.quarter("2026-Q1").previous().label == "2025Q4"
    assert Period.quarter("2026Q1").previous(4).label == "2025Q1"
    with pytest.raises(ValueError, match="2026Q3"):
        Period.quarter("Q3 2026")


def test_week_month_quarter_starts():
    d = pd.Series(pd.to_datetime(["2026-07-01", "2026-07-05", "2026-09-30"]))
    assert list(period_start(d, "week")) == list(pd.to_datetime(["2026-06-29", "2026-06-29", "2026-09-28"]))
    assert list(period_start(d, "month")) == list(pd.to_datetime(["2026-07-01", "2026-07-01", "2026-09-01"]))
    assert list(period_start(d, "quarter")) == list(pd.to_datetime(["2026-07-01"] * 3))
    assert label_of(pd.Timestamp("2026-06-29"), "week") == "2026-W27"
    assert period_of("2026-02-14", "month").end == pd.Timestamp("2026-03-01")


def test_periods_between_whole_periods_only():
    assert [p.label for p in periods_between("2026-01-15", "2026-04-01", "month")] == ["2026-02", "2026-03"]
    weeks = periods_between("2026-01-01", "2027-01-01", "week")
    # Mondays 2026-01-05 ... 2026-12-21; the week of 2026-12-28 ends in 2027, so it is not whole
    assert len(weeks) == 51 and weeks[0].start == pd.Timestamp("2026-01-05")
    assert weeks[-1].start == pd.Timestamp("2026-12-21")


def test_latest_complete_quarter():
    assert latest_complete_quarter("2026-09-30").label == "2026Q3"
    assert latest_complete_quarter("2026-10-15").label == "2026Q3"
    assert latest_complete_quarter("2026-09-29").label == "2026Q2"
