"""Known-answer tests of the engine-side activity aggregations (Ibis over DuckDB)."""
import ibis
import pandas as pd
import pytest

from churnlab import activity


def _ev(rows):
    df = pd.DataFrame(rows, columns=["account_id", "user_id", "event", "ts"])
    df["ts"] = pd.to_datetime(df["ts"])
    return ibis.memtable(df)


EV = _ev([
    ("a", "u1", "login", "2026-01-02"),            # not activity
    ("a", "u1", "report_created", "2026-01-03"),
    ("a", "u1", "report_created", "2026-01-20"),
    ("a", "u2", "workflow_run", "2026-02-01"),
    ("b", None, "integration_synced", "2026-01-09"),
    ("b", "u3", "login", "2026-02-09"),
])


#: the value-creating events of this test company (a login is not one)
Q = ["report_created", "workflow_run", "integration_synced"]


def test_qualified_activity_excludes_logins_and_applies_min_count():
    acc = activity.qualified_activity(EV, grain="month", qualified_events=Q, min_count=2)
    assert acc[["account_id", "n_events", "active"]].values.tolist() == [
        ["a", 2, True], ["a", 1, False], ["b", 1, False]]
    users = activity.qualified_activity(EV, grain="month", qualified_events=Q, level="user")
    assert users.user_id.tolist() == ["u1", "u2"]              # events without a user are not user activity


def test_active_periods_expr_is_lazy_and_filtered():
    expr = activity.active_periods_expr(EV, grain="month", qualified_events=Q, min_count=2)
    assert isinstance(expr, ibis.Table)
    assert expr.execute()[["account_id", "n_events"]].values.tolist() == [["a", 2]]


def test_transitions_by_account_and_custom_events():
    t = activity.activity_transitions(EV, grain="month", level="user", start="2026-02-01", end="2026-03-01",
                                      qualified_events=Q, by="account_id")
    a = t.set_index("account_id").loc["a"]
    assert (a.start_count, a.retained, a.churned, a.new, a.end_count) == (1, 0, 1, 1, 1)
    # with logins counted as activity, u3 becomes a new active user of b
    t2 = activity.activity_transitions(EV, grain="month", level="user", start="2026-02-01", end="2026-03-01",
                                       qualified_events=["login", "workflow_run"], by="account_id")
    assert t2.set_index("account_id").loc["b", "new"] == 1


def test_weekly_grain_starts_monday():
    df = activity.qualified_activity(EV, grain="week", qualified_events=Q)
    assert (df.period_start.dt.weekday == 0).all()


def test_activity_spells_split_on_silence():
    ev = _ev([("a", "u1", "workflow_run", d) for d in ("2026-01-01", "2026-01-31", "2026-04-01", "2026-04-02")])
    sp = activity.activity_spells(ev, inactivity_days=30)
    assert sp[["spell", "active_days"]].values.tolist() == [[0, 2], [1, 2]]
    assert len(activity.activity_spells(ev, inactivity_days=90)) == 1


def test_event_counts_and_last_activity():
    assert activity.event_counts(EV, event="report_created").n.tolist() == [2]
    la = activity.last_activity(EV, qualified_events=Q)
    assert la.set_index("account_id").loc["a", "n"] == 3


def test_no_list_means_every_event_counts():
    acc = activity.qualified_activity(EV, grain="month")
    assert acc.groupby("account_id").n_events.sum().to_dict() == {"a": 4, "b": 2}


@pytest.mark.parametrize("mask_bits", [activity._MASK_BITS, 0], ids=["activity mask", "window"])
def test_reactivation_gap_is_measured_from_the_end_of_the_last_active_period(mask_bits, monkeypatch):
    monkeypatch.setattr(activity, "_MASK_BITS", mask_bits)
    # quarters: 2026Q1 has 90 days, Q2 91. A user active in Q4 2025, absent in Q1, back in Q2 was
    # away 90 days (Jan 1 - Apr 1); one active in Q1, absent in Q2, back in Q3 was away 91 days.
    ev = _ev([("a", "u1", "report_created", "2025-11-10"), ("a", "u1", "report_created", "2026-05-02"),
              ("a", "u2", "report_created", "2026-02-03"), ("a", "u2", "report_created", "2026-08-20"),
              ("a", "u3", "report_created", "2025-03-01"), ("a", "u3", "report_created", "2026-05-05"),
              ("a", "u4", "report_created", "2026-03-30"), ("a", "u4", "report_created", "2026-04-02")])

    def flows(gap, **kw):
        t = activity.activity_transitions(ev, grain="quarter", start="2026-04-01", end="2026-10-01",
                                          qualified_events=Q, reactivation_gap_days=gap, **kw)
        return t.set_index(t.period_start.dt.strftime("%Y-%m"))[["start_count", "retained", "new", "reactivated"]]

    f = flows(90)
    # Q2: u4 retained; u1 back after exactly 90 days: reactivated; u3 after a year: new
    assert f.loc["2026-04"].tolist() == [2, 1, 1, 1]
    # Q3: u2 back after 91 days: new at a 90-day gap, reactivated at 91
    assert f.loc["2026-07"].tolist() == [3, 0, 1, 0]
    assert flows(91).loc["2026-07"].tolist() == [3, 0, 0, 1]
    assert flows(89).loc["2026-04"].tolist() == [2, 1, 2, 0]


def test_transitions_by_activity_mask_equal_the_window_over_active_periods(sample):
    """The one-pass mask (spans up to 62 periods) and the window over each key's active periods
    (longer spans) give the same flows: every grain, level, gap, grouping and activity rule."""
    import itertools

    from churnlab import settings

    q = list(settings.resolve(sample).qualified_events)
    spans = {"week": ("2026-04-06", "2026-07-06"), "month": ("2025-10-15", "2026-06-20"),
             "quarter": ("2025-01-01", "2026-07-01")}
    cases = [dict(grain=g, level=lv, reactivation_gap_days=gap, start=spans[g][0], end=spans[g][1])
             for g, lv, gap in itertools.product(spans, ["user", "account"], [0, 45, 90, 200])]
    cases += [dict(grain="quarter", level="user", min_count=3, start="2025-01-01", end="2026-07-01"),
              dict(grain="month", level="account", min_count=5, start="2025-06-01", end="2026-07-01"),
              dict(grain="quarter", level="user", start="2025-01-01", end="2026-07-01", groups=sample.accounts,
                   by=["segment", "plan"]),
              dict(grain="month", level="user", start="2026-01-01", end="2026-07-01", by="account_id")]
    reactivated = 0
    for kw in cases:
        by_mask = activity.activity_transitions(sample.events, qualified_events=q, **kw)
        assert len(by_mask), kw
        reactivated += by_mask["reactivated"].sum()
        original = activity._MASK_BITS
        activity._MASK_BITS = 0   # every span is longer than that: the window
        try:
            by_window = activity.activity_transitions(sample.events, qualified_events=q, **kw)
        finally:
            activity._MASK_BITS = original
        pd.testing.assert_frame_equal(by_mask, by_window, obj=str({k: v for k, v in kw.items() if k != "groups"}))
    assert reactivated > 0   # the comparison covered returns, not only retention
