"""Known-answer tests of the engine-side activity aggregations (Ibis over DuckDB)."""
import ibis
import pandas as pd

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
