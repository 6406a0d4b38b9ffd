"""Product events -> activity per account or user and period, aggregated in the engine.

Events are never pulled whole into pandas: each function builds an Ibis expression over the events
table (DuckDB by default; any Ibis backend works), and only the aggregated result, one row per
account (or user) and period, comes back as a pandas frame.

The expressions are kept to what every engine runs the same way, so that Spark gives DuckDB's
figures row for row (``tests/test_engine.py``): periods come from ``truncate`` (weeks start on Monday
in both; no ``TimestampBucket``, which Spark lacks), every window function has an ``ORDER BY`` (Spark
requires one for ``lag`` and running sums), and timestamps are handed back at microsecond precision.

*Qualified activity* is the playbook's notion of being active: at least ``min_count`` events from a
list of value-creating events in the period. A login alone is not activity.
"""
from __future__ import annotations

import pandas as pd

from . import engine
from .periods import GRAINS
from .stats import fill_blank

#: ``qualified_events=None`` means every event counts; reviews pass the company's own list, resolved
#: by :func:`churnlab.settings.resolve` from the data config or the data.

_TRUNC = {"week": "W", "month": "M", "quarter": "Q"}


def _window(events, start, end):
    import ibis

    t = events
    if start is not None:
        t = t.filter(t.ts >= ibis.literal(pd.Timestamp(start).to_pydatetime()))
    if end is not None:
        t = t.filter(t.ts < ibis.literal(pd.Timestamp(end).to_pydatetime()))
    return t


def qualified_activity_expr(events, *, grain: str = "month", qualified_events=None,
                            level: str = "account", start=None, end=None, as_date: bool = True):
    """The Ibis expression behind :func:`qualified_activity` (for other backends or further SQL).

    ``period_start`` is a date; with ``as_date=False`` it is the period's first instant (a
    timestamp at midnight), which pandas receives without converting millions of dates.
    """
    if grain not in GRAINS:
        raise ValueError(f"grain must be one of {GRAINS}, not {grain!r}")
    keys = ["account_id"] if level == "account" else ["account_id", "user_id"]
    if level not in ("account", "user"):
        raise ValueError("level must be 'account' or 'user'")
    t = _window(events, start, end)
    if qualified_events is not None:
        t = t.filter(t.event.isin(list(qualified_events)))
    if level == "user":
        t = t.filter(t.user_id.notnull())
    start_of = t.ts.truncate(_TRUNC[grain])
    t = t.mutate(period_start=start_of.cast("date") if as_date else start_of)
    return t.group_by([*keys, "period_start"]).aggregate(n_events=t.count())


def qualified_activity(events, *, grain: str = "month", qualified_events=None,
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
    ...     "event": ["login", "invoice_sent", "project_created", "invoice_sent"],
    ...     "ts": pd.to_datetime(["2026-01-05", "2026-01-06", "2026-02-01", "2026-01-09"])}))
    >>> qualified_activity(ev, grain="month", qualified_events=["invoice_sent", "project_created"],
    ...                    min_count=1).sort_values(["account_id", "period_start"])
      account_id period_start  n_events  active
    0          a   2026-01-01         1    True
    1          a   2026-02-01         1    True
    2          b   2026-01-01         1    True
    """
    expr = qualified_activity_expr(events, grain=grain, qualified_events=qualified_events, level=level,
                                   start=start, end=end, as_date=False)
    keys = ["account_id"] if level == "account" else ["account_id", "user_id"]
    # sorted in the engine (unique keys, so the same order as pandas' sort, without sorting strings in Python)
    df = engine.fetch(expr.order_by([*keys, "period_start"]))
    df["period_start"] = pd.to_datetime(df["period_start"]).astype("datetime64[ns]")
    df["n_events"] = df["n_events"].astype("int64")
    df["active"] = df["n_events"] >= int(min_count)
    return df.reset_index(drop=True)


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
    df = engine.fetch(t.group_by(by).aggregate(n=t.count()).order_by(by))
    df["n"] = df["n"].astype("int64")
    return df.reset_index(drop=True)


def last_activity(events, *, qualified_events=None, end=None,
                  by: str = "account_id") -> pd.DataFrame:
    """Day of the first and last qualified event per ``by`` before ``end``: ``by, first_ts, last_ts, n``.

    Used to infer churn from inactivity when the data has no churn dates.
    """
    t = _window(events, None, end)
    if qualified_events is not None:
        t = t.filter(t.event.isin(list(qualified_events)))
    df = t.group_by(by).aggregate(first_ts=t.ts.min(), last_ts=t.ts.max(), n=t.count()).execute()
    for c in ("first_ts", "last_ts"):  # microseconds, as engines store them (Spark hands back ns)
        df[c] = pd.to_datetime(df[c]).astype("datetime64[us]")
    return df.sort_values(by).reset_index(drop=True)


# --------------------------------------------------------------------------- period transitions

def _offset(grain: str, n: int = 1):
    return pd.Timedelta(days=7 * n) if grain == "week" else pd.DateOffset(months=n * (1 if grain == "month" else 3))


def _period_number(start, grain: str):
    """Ibis: consecutive integers for consecutive periods, from a period's first day (a date)."""
    import ibis

    if grain == "week":   # weeks start on Monday; 1970-01-05 was one
        return start.delta(ibis.date(1970, 1, 5), unit="day") // 7
    if grain == "month":
        return start.year() * 12 + start.month() - 1
    return start.year() * 4 + (start.month() - 1) // 3


def _period_start_of(number, grain: str):
    """Ibis: the first day of the month or quarter numbered ``number`` (see :func:`_period_number`)."""
    import ibis

    months = number * (1 if grain == "month" else 3)
    return ibis.date(months // 12, months % 12 + 1, 1)


def active_periods_expr(events, *, grain: str = "month", qualified_events=None,
                        min_count: int = 1, level: str = "account", start=None, end=None):
    """Ibis expression of the periods in which each account (or user) meets the activity rule.

    One row per key and period with ``n_events >= min_count``: ``account_id, [user_id,]
    period_start, n_events``. Nothing is executed.
    """
    expr = qualified_activity_expr(events, grain=grain, qualified_events=qualified_events, level=level,
                                   start=start, end=end)
    return expr.filter(expr.n_events >= int(min_count))


def activity_transitions(events, *, grain: str = "month", qualified_events=None,
                         min_count: int = 1, level: str = "user", start, end, reactivation_gap_days: int = 90,
                         groups: pd.DataFrame | None = None, by=None) -> pd.DataFrame:
    """Period-to-period flows of active accounts (or users), counted in the engine.

    An account or user is *active in a period* when it has at least ``min_count`` qualified events
    in it. For each period ``t`` in ``[start, end)``, the base is those active in the period before
    ``t``; of them, ``retained`` are active again in ``t``. Those active in ``t`` but not in the
    period before are ``reactivated`` when their previous active period ended at most
    ``reactivation_gap_days`` before ``t`` starts, and ``new`` otherwise (first activity, or back
    after a longer absence).

    Parameters
    ----------
    events : ibis.Table
        Canonical events.
    grain : {"week", "month", "quarter"}
    qualified_events, min_count
        The activity rule.
    level : {"user", "account"}
    start, end : date-like
        Periods starting in ``[start, end)`` are reported; events from one period and one gap
        earlier are read so that the first reported period has its base and its reactivations.
    reactivation_gap_days : int
        Longest absence after which a return still counts as a reactivation.
    groups : DataFrame, optional
        ``account_id`` plus the columns named in ``by`` (one row per account), joined in the engine.
    by : str or list of str, optional
        Group columns: columns of ``groups``, or ``"account_id"`` for one row per account.

    Returns
    -------
    DataFrame
        One row per period (and group): ``period_start, [by...], start_count, retained, churned,
        new, reactivated, end_count``, where ``end_count = start_count - churned + new +
        reactivated``. Only aggregated counts leave the engine.

    Examples
    --------
    >>> import ibis
    >>> ev = ibis.memtable(pd.DataFrame({
    ...     "account_id": ["a"] * 4, "user_id": ["u1", "u1", "u2", "u3"], "event": ["workflow_run"] * 4,
    ...     "ts": pd.to_datetime(["2026-01-05", "2026-02-03", "2026-01-09", "2026-02-10"])}))
    >>> activity_transitions(ev, grain="month", start="2026-02-01", end="2026-03-01")[
    ...     ["start_count", "retained", "churned", "new", "reactivated", "end_count"]].to_dict("records")
    [{'start_count': 2, 'retained': 1, 'churned': 1, 'new': 1, 'reactivated': 0, 'end_count': 2}]
    """
    import ibis

    if level not in ("user", "account"):
        raise ValueError("level must be 'user' or 'account'")
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    by = [by] if isinstance(by, str) else list(by or [])
    keys = ["account_id"] if level == "account" else ["account_id", "user_id"]
    read_from = start - _offset(grain, 2) - pd.Timedelta(days=int(reactivation_gap_days))
    group_cols = [c for c in by if c != "account_id"]
    g = None
    if group_cols:
        if groups is None:
            raise ValueError("groups (a frame of account columns) is needed to group by " + ", ".join(group_cols))
        g = groups[["account_id", *group_cols]].drop_duplicates("account_id").copy()
        g["account_id"] = g["account_id"].astype(str)
        for c in group_cols:
            g[c] = fill_blank(g[c]).astype(str)
        g = ibis.memtable(g)
    first = (start - _offset(grain)).date()   # the period before the first reported one is its base
    counted = dict(events=events, grain=grain, qualified_events=qualified_events, min_count=min_count,
                   keys=keys, read_from=read_from, end=end, first=first, gap_days=int(reactivation_gap_days),
                   groups=g, by=by)
    span = _number_of(end - pd.Timedelta(microseconds=1), grain) - _number_of(read_from, grain) + 1
    df = _flows_by_mask(**counted) if span <= _MASK_BITS else _flows_by_window(**counted)
    df["period_start"] = pd.to_datetime(df["period_start"]).astype("datetime64[ns]")
    for c in ("active", "retained", "reactivated"):
        df[c] = df[c].astype("int64")
    df["new"] = df["active"] - df["retained"] - df["reactivated"]
    base = df[["period_start", *by, "active"]].rename(columns={"active": "start_count"})
    base["period_start"] = base["period_start"] + _offset(grain)
    out = df.rename(columns={"active": "end_count"}).merge(base, on=["period_start", *by], how="outer")
    for c in ("end_count", "retained", "reactivated", "new", "start_count"):
        out[c] = out[c].fillna(0).astype("int64")
    out = out[(out.period_start >= start) & (out.period_start < end)]
    out["churned"] = out["start_count"] - out["retained"]
    cols = ["period_start", *by, "start_count", "retained", "churned", "new", "reactivated", "end_count"]
    return out[cols].sort_values(["period_start", *by]).reset_index(drop=True)


#: Periods a 64-bit activity mask holds (one bit each, the sign bit left alone).
_MASK_BITS = 62


def _number_of(day, grain: str) -> int:
    """The number (see :func:`_period_number`) of the period holding ``day``, in Python."""
    day = pd.Timestamp(day)
    if grain == "week":
        return (day.normalize() - pd.Timestamp("1970-01-05")).days // 7
    return day.year * 12 + day.month - 1 if grain == "month" else day.year * 4 + (day.month - 1) // 3


def _start_of_number(number: int, grain: str) -> pd.Timestamp:
    """The first day of the period numbered ``number``, in Python (see :func:`_period_start_of`)."""
    if grain == "week":
        return pd.Timestamp("1970-01-05") + pd.Timedelta(days=7 * number)
    months = number * (1 if grain == "month" else 3)
    return pd.Timestamp(year=months // 12, month=months % 12 + 1, day=1)


def _bit_or(x):
    """Ibis: the bitwise OR of an integer column (``bit_or`` in DuckDB and in Spark SQL)."""
    import ibis

    @ibis.udf.agg.builtin(name="bit_or")
    def bit_or(arg: int) -> int:  # noqa: ARG001 - the engine's own aggregate (int is int64)
        ...

    return bit_or(x)


def _flows_by_mask(*, events, grain, qualified_events, min_count, keys, read_from, end, first, gap_days, groups, by):
    """Per period from ``first`` (and group): ``period_start, [by...], active, retained, reactivated``.

    One pass over the events: each account (or user) gets a 64-bit mask of the periods it was
    active in (bit ``k`` for the ``k``-th period from ``read_from``'s), grouped by its key alone,
    which is far cheaper than numbering every active period with a window. The flows are then
    bit tests summed over the keys: *retained* in ``k`` is bits ``k`` and ``k-1``; *reactivated*
    is bit ``k``, no bit ``k-1``, and any bit among the earlier periods that ended at most
    ``gap_days`` before ``k`` starts (the latest earlier period is the nearest, so one is enough).
    Only rows with active keys are returned, as a grouping of active periods would give them.
    """
    import ibis

    base = _number_of(read_from, grain)
    t = _window(events, read_from, end)
    if qualified_events is not None:
        t = t.filter(t.event.isin(list(qualified_events)))
    if "user_id" in keys:
        t = t.filter(t.user_id.notnull())
    if grain == "week":
        number = _period_number(t.ts.truncate(_TRUNC[grain]).cast("date"), grain)
    elif grain == "month":
        number = t.ts.year() * 12 + t.ts.month() - 1
    else:
        number = t.ts.year() * 4 + t.ts.quarter() - 1
    k = (number - base).cast("int64")
    one = ibis.literal(1, "int64")
    if min_count <= 1:
        m = t.group_by(keys).aggregate(mask=_bit_or(one << k))
    else:  # periods with enough events first; each (key, period) once, so a sum of bits is their OR
        tk = t.mutate(k=k)
        per = tk.group_by([*keys, "k"]).aggregate(n=tk.count())
        per = per.filter(per.n >= int(min_count))
        m = per.group_by(keys).aggregate(mask=(one << per.k).sum())
    if groups is not None:
        m = m.inner_join(groups, "account_id")
    last = _number_of(end - pd.Timedelta(microseconds=1), grain) - base
    periods = [i for i in range(last + 1) if _start_of_number(base + i, grain).date() >= first]
    aggs = {}
    for i in periods:
        bit, prev = (m.mask >> i) & 1, (m.mask >> (i - 1)) & 1 if i else ibis.literal(0, "int64")
        aggs[f"active_{i}"] = bit.sum()
        aggs[f"retained_{i}"] = (bit & prev).sum()
        starts = _start_of_number(base + i, grain)
        near = sum(1 << j for j in range(i - 1) if (starts - _start_of_number(base + j + 1, grain)).days <= gap_days)
        react = (bit == 1) & (prev == 0) & ((m.mask & ibis.literal(near, "int64")) != 0) if near else None
        aggs[f"reactivated_{i}"] = react.ifelse(1, 0).sum() if react is not None else (bit & 0).sum()
    if not aggs:
        return pd.DataFrame(columns=["period_start", *by, "active", "retained", "reactivated"])
    wide = (m.group_by(by).aggregate(**aggs) if by else m.aggregate(**aggs)).execute()
    parts = []
    for i in periods:
        part = wide[by].copy()
        part.insert(0, "period_start", _start_of_number(base + i, grain))
        for c in ("active", "retained", "reactivated"):
            part[c] = pd.to_numeric(wide[f"{c}_{i}"]).fillna(0).astype("int64").to_numpy()
        parts.append(part[part["active"] > 0])
    return pd.concat(parts, ignore_index=True)


def _flows_by_window(*, events, grain, qualified_events, min_count, keys, read_from, end, first, gap_days, groups,
                     by):
    """:func:`_flows_by_mask` for spans longer than a mask holds: each active period's previous
    one by a window over the key's active periods."""
    import ibis

    a = active_periods_expr(events, grain=grain, qualified_events=qualified_events, min_count=min_count,
                            level="user" if "user_id" in keys else "account", start=read_from, end=end)
    # Periods are numbered (consecutive periods, consecutive numbers), so that "the period before"
    # is integer arithmetic, not calendar arithmetic on every row; the calendar is used only for
    # the gap of a possible reactivation.
    a = a.mutate(pidx=_period_number(a.period_start, grain))
    w = ibis.window(group_by=keys, order_by=a.pidx)
    a = a.mutate(prev_idx=a.pidx.lag().over(w))
    # days from the end of the previous active period to this one's start (computed only for
    # the rows that skipped a period)
    if grain == "week":
        gap = (a.pidx - a.prev_idx - 1) * 7
    else:
        gap = a.period_start.delta(_period_start_of(a.prev_idx + 1, grain), unit="day")
    skipped = a.prev_idx < a.pidx - 1
    a = a.mutate(is_ret=(a.prev_idx == a.pidx - 1).fill_null(False),
                 is_react=ibis.ifelse(skipped.fill_null(False), gap <= gap_days, False))
    a = a.filter(a.period_start >= ibis.literal(first))
    if groups is not None:
        a = a.inner_join(groups, "account_id")
    agg = a.group_by(["period_start", *by]).aggregate(
        active=a.count(), retained=a.is_ret.cast("int64").sum(), reactivated=a.is_react.cast("int64").sum())
    return agg.execute()


def activity_spells(events, *, qualified_events=None, inactivity_days: int = 60,
                    end=None, by: str = "account_id") -> pd.DataFrame:
    """Spells of continuous use per ``by``, computed in the engine, for data without churn dates.

    Days with a qualified event are chained; a silence of more than ``inactivity_days`` days ends a
    spell. Returns ``by, spell, first_day, last_day, active_days`` (``last_day`` is the last day with a
    qualified event; whether the last spell is over depends on the data end, see
    :func:`churnlab.attrition.infer_churn`).

    Examples
    --------
    >>> import ibis
    >>> ev = ibis.memtable(pd.DataFrame({"account_id": ["a"] * 3, "event": ["workflow_run"] * 3,
    ...     "ts": pd.to_datetime(["2026-01-01", "2026-01-20", "2026-06-01"])}))
    >>> activity_spells(ev, inactivity_days=60)[["spell", "first_day", "last_day"]].astype(str).values.tolist()
    [['0', '2026-01-01', '2026-01-20'], ['1', '2026-06-01', '2026-06-01']]
    """
    import ibis

    t = _window(events, None, end)
    if qualified_events is not None:
        t = t.filter(t.event.isin(list(qualified_events)))
    d = t.select(t[by], day=t.ts.cast("date")).distinct()
    w = ibis.window(group_by=by, order_by=d.day)
    d = d.mutate(prev=d.day.lag().over(w))
    d = d.mutate(brk=ibis.ifelse(d.prev.isnull() | (d.day.delta(d.prev, unit="day") > int(inactivity_days)), 1, 0))
    cw = ibis.cumulative_window(group_by=by, order_by=d.day)
    d = d.mutate(spell=d.brk.sum().over(cw) - 1)
    df = d.group_by([by, "spell"]).aggregate(first_day=d.day.min(), last_day=d.day.max(),
                                             active_days=d.count()).execute()
    for c in ("first_day", "last_day"):
        df[c] = pd.to_datetime(df[c])
    df["spell"] = df["spell"].astype("int64")
    df["active_days"] = df["active_days"].astype("int64")
    return df.sort_values([by, "spell"]).reset_index(drop=True)


def has_user_ids(events) -> bool:
    """Whether any event carries a user id (user-level analyses need them), checked in the engine."""
    if events is None:
        return False
    t = events
    return bool(t.filter(t.user_id.notnull()).limit(1).count().execute())
