"""Calendar periods: quarters, months and weeks as half-open date ranges.

Every analysis in churnlab speaks of periods the same way: a period is the half-open range
``[start, end)`` of calendar days, where ``end`` is the first day of the next period. A customer is
active on day ``d`` when ``signup_date <= d < churn_date``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

GRAINS = ("week", "month", "quarter")
_FREQ = {"week": "W-MON", "month": "MS", "quarter": "QS"}


@dataclass(frozen=True)
class Period:
    """A labelled half-open range of days ``[start, end)``.

    Examples
    --------
    >>> q = Period.quarter("2026Q3")
    >>> q.start.date(), q.end.date(), q.last_day.date()
    (datetime.date(2026, 7, 1), datetime.date(2026, 10, 1), datetime.date(2026, 9, 30))
    """

    label: str
    start: pd.Timestamp
    end: pd.Timestamp
    grain: str

    @property
    def last_day(self) -> pd.Timestamp:
        return self.end - pd.Timedelta(days=1)

    @classmethod
    def quarter(cls, label: str) -> "Period":
        """Parse ``"2026Q3"`` (also ``"2026-Q3"``, ``"2026q3"``)."""
        m = re.fullmatch(r"\s*(\d{4})\s*-?\s*[Qq]([1-4])\s*", str(label))
        if not m:
            raise ValueError(f"quarter {label!r} is not of the form 2026Q3")
        year, q = int(m.group(1)), int(m.group(2))
        start = pd.Timestamp(year=year, month=3 * (q - 1) + 1, day=1)
        return cls(f"{year}Q{q}", start, start + pd.DateOffset(months=3), "quarter")

    def previous(self, n: int = 1) -> "Period":
        """The period ``n`` steps earlier at the same grain."""
        p = self
        for _ in range(n):
            p = period_of(p.start - pd.Timedelta(days=1), p.grain)
        return p


def period_start(dates, grain: str):
    """Start of the ``grain`` period containing each date (weeks start on Monday)."""
    _check_grain(grain)
    s = pd.to_datetime(pd.Series(dates) if not isinstance(dates, pd.Series) else dates)
    if grain == "week":
        return s.dt.normalize() - pd.to_timedelta(s.dt.weekday, unit="D")
    return s.dt.to_period("M" if grain == "month" else "Q").dt.start_time


def label_of(start: pd.Timestamp, grain: str) -> str:
    """Human label of a period that starts on ``start``: 2026-W27, 2026-07, 2026Q3."""
    start = pd.Timestamp(start)
    if grain == "week":
        iso = start.isocalendar()
        return f"{iso[0]}-W{iso[1]:02d}"
    if grain == "month":
        return start.strftime("%Y-%m")
    return f"{start.year}Q{(start.month - 1) // 3 + 1}"


def period_of(day, grain: str) -> Period:
    """The period of ``grain`` that contains ``day``."""
    start = pd.Timestamp(period_start(pd.Series([pd.Timestamp(day)]), grain).iloc[0])
    end = start + (pd.Timedelta(days=7) if grain == "week" else
                   pd.DateOffset(months=1 if grain == "month" else 3))
    return Period(label_of(start, grain), start, pd.Timestamp(end), grain)


def periods_between(start, end, grain: str) -> list[Period]:
    """All whole periods of ``grain`` with ``start <= period.start`` and ``period.end <= end``.

    Examples
    --------
    >>> [p.label for p in periods_between("2026-01-01", "2026-07-01", "quarter")]
    ['2026Q1', '2026Q2']
    """
    _check_grain(grain)
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    first = period_of(start, grain)
    if first.start < start:
        first = period_of(first.end, grain)
    out, p = [], first
    while p.end <= end:
        out.append(p)
        p = period_of(p.end, grain)
    return out


def periods_covering(start, end, grain: str) -> list[Period]:
    """Every period of ``grain`` that overlaps ``[start, end)``, clipped to it, so that together they
    cover every day of the range: weeks at a quarter's edges are cut to the days inside the quarter
    and labelled with their length.

    Examples
    --------
    >>> [(p.label, str(p.start.date())) for p in periods_covering("2026-07-01", "2026-10-01", "week")][:2]
    [('2026-W27 (5 days)', '2026-07-01'), ('2026-W28', '2026-07-06')]
    >>> periods_covering("2026-07-01", "2026-10-01", "week")[-1].label
    '2026-W40 (3 days)'
    """
    _check_grain(grain)
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    out, p = [], period_of(start, grain)
    while p.start < end:
        s, e = max(p.start, start), min(p.end, end)
        label = p.label if (s, e) == (p.start, p.end) else f"{p.label} ({(e - s).days} days)"
        out.append(Period(label, s, e, grain))
        p = period_of(p.end, grain)
    return out


def latest_complete_quarter(last_day_with_data) -> Period:
    """The latest quarter that ends on or before ``last_day_with_data`` (inclusive).

    Examples
    --------
    >>> latest_complete_quarter("2026-09-30").label
    '2026Q3'
    >>> latest_complete_quarter("2026-09-29").label
    '2026Q2'
    """
    day = pd.Timestamp(last_day_with_data)
    q = period_of(day, "quarter")
    return q if q.last_day <= day else q.previous()


def _check_grain(grain: str) -> None:
    if grain not in GRAINS:
        raise ValueError(f"grain must be one of {GRAINS}, not {grain!r}")
