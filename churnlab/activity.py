"""Product events -> activity per account or user and period, aggregated in the engine.

Events are never pulled whole into pandas: each function builds an Ibis expression over the events
table (DuckDB by default; any Ibis backend works), and only the aggregated result, one row per
account (or user) and period, comes back as a pandas frame.

*Qualified activity* is the playbook's notion of being active: at least ``min_count`` events from a
list of value-creating events in the period. A login alone is not activity.
"""
from __future__ import annotations

import pandas as pd

from .periods import GRAINS

#: Value-creating events of the sample company; pass your own list for your data.
DEFAULT_QUALIFIED_EVENTS = ("report_created", "dashboard_shared", "workflow_run", "integration_synced",
                            "export_created")

_TRUNC = {"week": "W", "month": "M", "quarter": "Q"}


def _window(events, start, end):
    import ibis

    t = events
    if start is not None:
        t = t.filter(t.ts >= ibis.literal(pd.Timestamp(start).to_pydatetime()))
    if end is not None:
        t = t.filter(t.ts < ibis.literal(pd.Timestamp(end).to_pydatetime()))
    return t


def qualified_activity_expr(events, *, grain: str = "month", qualified_events=DEFAULT_QUALIFIED_EVENTS,
                            level: str = "account", start=None, end=None):
    """The Ibis expression behind :func:`qualified_activity` (for other backends or further SQL)."""
    if grain not in GRAINS:
        raise ValueError(f"grain must be one of {GRAINS}, not {grain!r}")
    keys = ["account_id"] if level == "account" else ["account_id", "user_id"]
    if level not in ("account", "user"):
        raise ValueError("level must be 'account' or 'user'")
    t = _window(events, start, end)
    t = t.filter(t.event.isin(list(qualified_events)))
    if level == "user":
        t = t.filter(t.user_id.notnull())
    t = t.mutate(period_start=t.ts.truncate(_TRUNC[grain]).cast("date"))
    return t.group_by([*keys, "period_start"]).aggregate(n_events=t.count())


def qualified_activity(events, *, grain: str = "month", qualified_events=DEFAULT_QUALIFIED_EVENTS,
                       min_count: int = 1, level: str = "account", start=None, end=None) -> pd.DataFrame:
    """Qualified events per account (or user) and period, computed in the engine.

    Parameters
    ----------
    events : ibis.Table
        Canonical events (``account_id, ts, event, user_id``), e.g. ``Dataset.events``.
    grain : {"week", "month", "quarter"}
        Period length; weeks start on Monday.
    qualified_events : sequence of str
        The value-creating events that count as activity (a login should not be among them).
    min_count : int
        Minimum number of qualified events in the period to count as active.
    level : {"account", "user"}
        Aggregate per account or per user (``account_id, user_id``).
    start, end : date-like, optional
        Only events with ``start <= ts < end``.

    Returns
    -------
    DataFrame
        One row per account (or user) and period with at least one qualified event:
        ``account_id, [user_id,] period_start, n_events, active`` (``active = n_events >= min_count``).

    Examples
    --------
    >>> import ibis
    >>> ev = ibis.memtable(pd.DataFrame({
    ...     "account_id": ["a", "a", "a", "b"], "user_id": ["u1", "u1", "u2", "u3"],
    ...     "event": ["login", "report_created", "workflow_run", "report_created"],
    ...     "ts": pd.to_datetime(["2026-01-05", "2026-01-06", "2026-02-01", "2026-01-09"])}))
    >>> qualified_activity(ev, grain="month", min_count=1).sort_values(["account_id", "period_start"])
      account_id period_start  n_events  active
    0          a   2026-01-01         1    True
    1          a   2026-02-01         1    True
    2          b   2026-01-01         1    True
    """
    expr = qualified_activity_expr(events, grain=grain, qualified_events=qualified_events, level=level,
                                   start=start, end=end)
    df = expr.execute()
    keys = ["account_id"] if level == "account" else ["account_id", "user_id"]
    df["period_start"] = pd.to_datetime(df["period_start"])
    df["n_events"] = df["n_events"].astype("int64")
    df["active"] = df["n_events"] >= int(min_count)
    return df.sort_values([*keys, "period_start"]).reset_index(drop=True)


def event_counts(events, *, event, start=None, end=None, by: str = "account_id") -> pd.DataFrame:
    """Number of ``event`` events per ``by`` in ``[start, end)``, computed in the engine.

    ``event`` may be one name or a list. Returns ``by, n`` for the keys that have at least one event;
    join onto your own key list and fill zeros for the rest.

    Examples
    --------
    >>> import ibis
    >>> ev = ibis.memtable(pd.DataFrame({"account_id": ["a", "a", "b"], "event": ["x", "x", "y"],
    ...                                  "ts": pd.to_datetime(["2026-01-01"] * 3)}))
    >>> event_counts(ev, event="x").to_dict("records")
    [{'account_id': 'a', 'n': 2}]
    """
    names = [event] if isinstance(event, str) else list(event)
    t = _window(events, start, end)
    t = t.filter(t.event.isin(names))
    df = t.group_by(by).aggregate(n=t.count()).execute()
    df["n"] = df["n"].astype("int64")
    return df.sort_values(by).reset_index(drop=True)


def last_activity(events, *, qualified_events=DEFAULT_QUALIFIED_EVENTS, end=None,
                  by: str = "account_id") -> pd.DataFrame:
    """Day of the first and last qualified event per ``by`` before ``end``: ``by, first_ts, last_ts, n``.

    Used to infer churn from inactivity when the data has no churn dates.
    """
    t = _window(events, None, end)
    t = t.filter(t.event.isin(list(qualified_events)))
    df = t.group_by(by).aggregate(first_ts=t.ts.min(), last_ts=t.ts.max(), n=t.count()).execute()
    for c in ("first_ts", "last_ts"):
        df[c] = pd.to_datetime(df[c])
    return df.sort_values(by).reset_index(drop=True)
