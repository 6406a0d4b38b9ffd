"""Attrition: how many customers, users and how much revenue did we lose in a period?

The textbook definition, used throughout:

    attrition = (active at start - of those, still active at end) / active at start

Customers acquired during the period are excluded from both counts, so the rate is never negative and
attrition + retention = 100%. A period is the half-open range ``[start, end)``; "at the end" means on
its last day.

What *active* means depends on the basis, and every function says which one it uses:

* **contract** (logos): ``signup_date <= day < churn_date`` (``churn_date`` is the first day without
  service; ``cancel_date`` can be used instead to count churn at the cancellation request);
* **billing** (logos and MRR): a subscription row for the month; the row of month *m* describes the
  customer at the close of *m*, so a period's start is the month before it and its end is its last
  month;
* **inferred** (event-only data): a spell of qualified activity, ended by a silence of more than
  ``inactivity_days``;
* **qualified activity** (users and accounts): at least ``min_count`` value-creating events in the
  period (:mod:`churnlab.activity`); the base is those active in the period before.

Customers who lapse and come back inside a period are retained. Customers who come back within
``reactivation_gap_days`` of leaving are *reactivated*, not new; both are counted.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .periods import Period, periods_between, periods_covering
from .stats import add_wilson, fill_blank, format_p, group_rare_levels, pct
from .presentation import level_word

#: Columns of :func:`logo_attrition` (``by`` columns follow ``period_end``).
ATTRITION_COLUMNS = ["period", "period_start", "period_end", "start_count", "churned", "retained",
                     "new", "reactivated", "left_in_period", "end_count", "attrition_rate",
                     "attrition_rate_lo", "attrition_rate_hi", "retention_rate"]

_SPELL_START, _SPELL_END = "spell_start", "spell_end"


def _grain_offset(grain: str, n: int = 1):
    return pd.Timedelta(days=7 * n) if grain == "week" else pd.DateOffset(months=n * (1 if grain == "month" else 3))


# --------------------------------------------------------------------------- spells


def account_spells(accounts: pd.DataFrame, *, signup_col: str = "signup_date", churn_col: str = "churn_date",
                   id_col: str = "account_id") -> pd.DataFrame:
    """Contract spells: one row per account, ``spell_start = signup``, ``spell_end = churn`` (NaT while active).

    When ``id_col`` names a customer column shared by several account rows (a customer who signs
    again under a new account), each row is one spell of that customer, so a return is seen as a
    reactivation. All other account columns are kept.

    Examples
    --------
    >>> acc = pd.DataFrame({"account_id": ["a"], "signup_date": pd.to_datetime(["2026-01-10"]),
    ...                     "churn_date": pd.to_datetime([None])})
    >>> account_spells(acc)[["account_id", "spell_start", "spell_end"]].astype(str).values.tolist()
    [['a', '2026-01-10', 'NaT']]
    """
    out = accounts.copy()
    out[_SPELL_START] = pd.to_datetime(out[signup_col])
    out[_SPELL_END] = pd.to_datetime(out[churn_col]) if churn_col in out else pd.NaT
    out[_SPELL_END] = out[_SPELL_END].where(out[_SPELL_END].isna() | (out[_SPELL_END] >= out[_SPELL_START]),
                                            out[_SPELL_START])
    out["basis"] = "contract" if churn_col == "churn_date" else f"contract ({churn_col})"
    return out.sort_values([id_col, _SPELL_START], kind="stable").reset_index(drop=True)


def subscription_spells(subscriptions: pd.DataFrame, *, accounts: pd.DataFrame | None = None,
                        id_col: str = "account_id", month_col: str = "month") -> pd.DataFrame:
    """Billing spells from monthly subscription rows: consecutive billed months form one spell.

    The row of month *m* stands for the customer's state at the close of *m*, so it covers the days
    from the last day of *m* to the day before the last day of the next month. A month without a
    row (a lapse) ends the spell; the next billed month starts a new one. Account columns of
    ``accounts`` are joined on.

    Returns ``id_col, spell_start, spell_end, months, basis, [account columns]``; the spell of an
    account billed in the last month of the data is still open (``spell_end`` NaT).

    Examples
    --------
    >>> sub = pd.DataFrame({"account_id": ["a"] * 3, "month": pd.to_datetime(["2026-01-01", "2026-02-01",
    ...                     "2026-05-01"])})
    >>> subscription_spells(sub)[["spell_start", "spell_end", "months"]].astype(str).values.tolist()
    [['2026-01-31', '2026-03-31', '2'], ['2026-05-31', 'NaT', '1']]
    """
    s = subscriptions[[id_col, month_col]].copy()
    s["m"] = pd.to_datetime(s[month_col]).dt.to_period("M")
    s = s.drop_duplicates([id_col, "m"]).sort_values([id_col, "m"])
    mi = s["m"].dt.year * 12 + s["m"].dt.month
    brk = (s[id_col] != s[id_col].shift()) | (mi - mi.shift() != 1)
    s["spell"] = brk.cumsum()
    g = s.groupby("spell").agg(**{id_col: (id_col, "first"), "first": ("m", "min"), "last": ("m", "max"),
                                  "months": ("m", "size")})
    last_month = s["m"].max()
    out = pd.DataFrame({
        id_col: g[id_col].to_numpy(),
        _SPELL_START: (g["first"].dt.to_timestamp(how="end").dt.normalize()).to_numpy(),
        _SPELL_END: ((g["last"] + 1).dt.to_timestamp(how="end").dt.normalize()).to_numpy(),
        "months": g["months"].to_numpy().astype("int64")})
    out.loc[g["last"].to_numpy() == last_month, _SPELL_END] = pd.NaT
    out["basis"] = "billing"
    if accounts is not None:
        extra = [c for c in accounts.columns if c not in out.columns]
        out = out.merge(accounts[[id_col, *extra]], on=id_col, how="left")
    return out.sort_values([id_col, _SPELL_START], kind="stable").reset_index(drop=True)


def inferred_spells(accounts: pd.DataFrame, activity: pd.DataFrame, *, inactivity_days: int = 60, data_end,
                    signup_col: str = "signup_date", id_col: str = "account_id") -> pd.DataFrame:
    """Spells of service inferred from usage, for data without churn dates.

    ``activity`` is :func:`churnlab.activity.activity_spells` (runs of days with qualified events,
    broken by silences longer than ``inactivity_days``). A spell runs from its first active day (the
    signup for the first spell) to the day after its last active day. The last spell is still open
    when the data end is at most ``inactivity_days`` after its last active day. An account with no
    qualified event at all has a spell of no days (it never started) unless it signed up within
    ``inactivity_days`` of the data end, in which case it is still open.

    Examples
    --------
    >>> acc = pd.DataFrame({"account_id": ["a", "b"], "signup_date": pd.to_datetime(["2026-01-01"] * 2)})
    >>> act = pd.DataFrame({"account_id": ["a"], "spell": [0], "first_day": pd.to_datetime(["2026-01-02"]),
    ...                     "last_day": pd.to_datetime(["2026-02-10"])})
    >>> inferred_spells(acc, act, inactivity_days=30, data_end="2026-06-30")[
    ...     ["account_id", "spell_start", "spell_end"]].astype(str).values.tolist()
    [['a', '2026-01-01', '2026-02-11'], ['b', '2026-01-01', '2026-01-01']]
    """
    data_end = pd.Timestamp(data_end)
    acc = accounts.copy()
    act = activity[[id_col, "spell", "first_day", "last_day"]].merge(acc[[id_col, signup_col]], on=id_col)
    act = act.sort_values([id_col, "spell"])
    first = act[id_col] != act[id_col].shift()
    start = act["first_day"].where(~first, np.minimum(act["first_day"], act[signup_col]))
    last = act[id_col] != act[id_col].shift(-1)
    end = act["last_day"] + pd.Timedelta(days=1)
    open_ = last & ((data_end - act["last_day"]).dt.days <= int(inactivity_days))
    sp = pd.DataFrame({id_col: act[id_col], _SPELL_START: start, _SPELL_END: end.where(~open_, pd.NaT)})
    none = acc[~acc[id_col].isin(act[id_col])]
    recent = (data_end - pd.to_datetime(none[signup_col])).dt.days <= int(inactivity_days)
    sp0 = pd.DataFrame({id_col: none[id_col], _SPELL_START: pd.to_datetime(none[signup_col]),
                        _SPELL_END: pd.to_datetime(none[signup_col]).where(~recent, pd.NaT)})
    sp = pd.concat([sp, sp0], ignore_index=True)
    sp["basis"] = f"inferred ({int(inactivity_days)} days without qualified activity)"
    extra = [c for c in acc.columns if c not in sp.columns]
    sp = sp.merge(acc[[id_col, *extra]], on=id_col, how="left")
    return sp.sort_values([id_col, _SPELL_START], kind="stable").reset_index(drop=True)


def infer_churn(accounts: pd.DataFrame, spells: pd.DataFrame, *, churn_col: str = "churn_date",
                id_col: str = "account_id") -> pd.DataFrame:
    """A copy of ``accounts`` with ``churn_col`` set to the end of each account's last spell.

    Used with :func:`inferred_spells` on event-only data; adds ``churn_inferred`` (bool).

    Examples
    --------
    >>> acc = pd.DataFrame({"account_id": ["a"], "signup_date": pd.to_datetime(["2026-01-01"])})
    >>> sp = pd.DataFrame({"account_id": ["a"], "spell_start": pd.to_datetime(["2026-01-01"]),
    ...                    "spell_end": pd.to_datetime(["2026-03-01"])})
    >>> str(infer_churn(acc, sp).churn_date[0].date())
    '2026-03-01'
    """
    last = spells.sort_values([id_col, _SPELL_START]).drop_duplicates(id_col, keep="last").set_index(id_col)[_SPELL_END]
    out = accounts.copy()
    out[churn_col] = out[id_col].map(last)
    out["churn_inferred"] = True
    return out


def has_churn_dates(accounts: pd.DataFrame, churn_col: str = "churn_date") -> bool:
    """Whether ``accounts`` records the end of service: the ``churn_col`` column is there (an empty
    value means the account is still a customer, so an all-empty column means nobody has churned).
    Without the column churn must be inferred from inactivity."""
    return churn_col in accounts


def logo_spells(accounts: pd.DataFrame, *, events=None, churn_col: str = "churn_date", data_end=None,
                inactivity_days: int = 60, qualified_events=None, signup_col: str = "signup_date",
                id_col: str = "account_id") -> pd.DataFrame:
    """The spells logo attrition is counted on: recorded churn dates when there are any, else
    churn inferred from inactivity in the events (computed in the engine).

    The ``basis`` column says which; :func:`describe_basis` turns it into a sentence for the report.

    Examples
    --------
    >>> acc = pd.DataFrame({"account_id": ["a"], "signup_date": pd.to_datetime(["2026-01-01"]),
    ...                     "churn_date": pd.to_datetime(["2026-03-01"])})
    >>> logo_spells(acc).basis[0]
    'contract'
    """
    if has_churn_dates(accounts, churn_col) and (churn_col == "churn_date" or accounts[churn_col].notna().any()):
        return account_spells(accounts, signup_col=signup_col, churn_col=churn_col, id_col=id_col)
    if has_churn_dates(accounts, "churn_date") and churn_col != "churn_date":
        return account_spells(accounts, signup_col=signup_col, churn_col="churn_date", id_col=id_col)
    if events is None:
        return account_spells(accounts, signup_col=signup_col, churn_col=churn_col, id_col=id_col)
    from .activity import activity_spells

    act = activity_spells(events, qualified_events=qualified_events,
                          inactivity_days=inactivity_days, by=id_col)
    acc = accounts.copy()
    acc[id_col] = acc[id_col].astype(str)
    return inferred_spells(acc, act, inactivity_days=inactivity_days, data_end=data_end, signup_col=signup_col,
                           id_col=id_col)


def accounts_with_churn(accounts: pd.DataFrame, spells: pd.DataFrame, *, churn_col: str = "churn_date",
                        id_col: str = "account_id") -> pd.DataFrame:
    """Accounts carrying the churn definition every analysis shares.

    When ``spells`` (from :func:`logo_spells`) are inferred from inactivity, ``churn_col`` is set to the
    end of each account's last spell (empty while it is still open), so survival, reasons and the
    rest count the same churn as attrition. Otherwise the accounts are returned as they are, with an
    empty ``churn_col`` added when the data has none.

    Examples
    --------
    >>> acc = pd.DataFrame({"account_id": ["a", "b"], "signup_date": pd.to_datetime(["2026-01-01"] * 2)})
    >>> sp = pd.DataFrame({"account_id": ["a", "b"], "spell_start": pd.to_datetime(["2026-01-01"] * 2),
    ...                    "spell_end": pd.to_datetime(["2026-03-01", None]),
    ...                    "basis": "inferred (60 days without qualified activity)"})
    >>> accounts_with_churn(acc, sp)["churn_date"].astype(str).tolist()
    ['2026-03-01', 'NaT']
    """
    basis = str(spells["basis"].iloc[0]) if len(spells) and "basis" in spells else "contract"
    if basis.startswith("inferred"):
        out = infer_churn(accounts.assign(**{id_col: accounts[id_col].astype(str)}), spells,
                          churn_col=churn_col, id_col=id_col)
        out[churn_col] = pd.to_datetime(out[churn_col])
        return out
    if churn_col not in accounts:
        return accounts.assign(**{churn_col: pd.NaT})
    return accounts


def review_accounts(dataset, settings, *, churn_col: str = "churn_date") -> pd.DataFrame:
    """The accounts of a review with the churn every analysis shares (see :func:`accounts_with_churn`):
    recorded churn dates, else churn inferred from inactivity in the events, with the review's
    qualified events and inactivity days (:func:`churnlab.settings.resolve`)."""
    spells = logo_spells(dataset.accounts, events=dataset.events, churn_col=churn_col, data_end=dataset.data_end,
                         inactivity_days=settings.inactivity_days, qualified_events=settings.qualified_events)
    return accounts_with_churn(dataset.accounts, spells, churn_col=churn_col)


def describe_basis(spells: pd.DataFrame, *, churn_col: str = "churn_date") -> str:
    """One sentence stating how churn was counted for the report.

    Examples
    --------
    >>> describe_basis(pd.DataFrame({"basis": ["contract"]}))
    'Churn is counted at the end of service (churn_date).'
    """
    basis = str(spells["basis"].iloc[0]) if len(spells) else "contract"
    if basis.startswith("inferred"):
        days = basis.split("(")[1].split(" ")[0]
        return (f"The data records no churn dates, so churn is inferred from inactivity: an account is "
                f"counted as lost on the day after its last qualified activity once {days} days pass "
                f"without any. The latest {days} days cannot show churn yet.")
    if "cancel_date" in basis:
        return "Churn is counted at the cancellation request (cancel_date), not at the end of service."
    if basis == "billing":
        return "Churn is counted on billing: a month without a subscription row."
    return "Churn is counted at the end of service (churn_date)."


# --------------------------------------------------------------------------- logo attrition


def spell_attrition(spells: pd.DataFrame, *, grain: str = "month", start=None, end=None, by=None,
                    reactivation_gap_days: int | None = 90, id_col: str = "account_id",
                    partial: bool = False) -> pd.DataFrame:
    """Attrition per period from spells of service (``id_col, spell_start, spell_end``).

    A customer is active on day *d* when one of its spells has ``spell_start <= d < spell_end``. The
    base is those active on the period's first day; *retained* are those of them still active when it
    ends (served on its last day and not leaving on the first day after it; a lapse and return inside
    the period does not count as churn). A churn date counts in exactly one period: the one with
    ``period_start < churn_date <= period_end``. Customers not in the base
    whose spell starts in the period are *reactivated* when a previous spell ended at most
    ``reactivation_gap_days`` earlier, otherwise *new*; both are excluded from the rate.
    ``left_in_period`` counts those of them gone again by the end, so ``end_count = retained + new +
    reactivated - left_in_period``.

    With ``partial=True`` the periods at the edges of ``[start, end)`` that stick out of it (weeks at a
    quarter's edges) are kept, clipped to the range and labelled with their length, so every day of
    the range is in exactly one period; otherwise only whole periods are shown.

    Returns the columns of :data:`ATTRITION_COLUMNS` (``by`` columns after ``period_end``).

    Examples
    --------
    A customer who left at the end of January and came back in March is reactivated in March:

    >>> sp = pd.DataFrame({"account_id": ["a", "a"], "spell_start": pd.to_datetime(["2025-06-01", "2026-03-10"]),
    ...                    "spell_end": pd.to_datetime(["2026-02-15", None])})
    >>> out = spell_attrition(sp, grain="month", start="2026-01-01", end="2026-04-01")
    >>> out[["period", "start_count", "churned", "new", "reactivated", "end_count"]]
        period  start_count  churned  new  reactivated  end_count
    0  2026-01            1        0    0            0          1
    1  2026-02            1        1    0            0          0
    2  2026-03            0        0    0            1          1
    """
    s = spells.sort_values([id_col, _SPELL_START], kind="stable").reset_index(drop=True)
    st = pd.to_datetime(s[_SPELL_START]).to_numpy("datetime64[ns]")
    en_s = pd.to_datetime(s[_SPELL_END])
    never = np.datetime64("2262-01-01")
    en = en_s.fillna(pd.Timestamp(never)).to_numpy("datetime64[ns]")
    codes, uniq = pd.factorize(s[id_col], sort=False)
    n_ids = len(uniq)
    first_pos = np.full(n_ids, -1)
    first_pos[codes[::-1]] = np.arange(len(codes))[::-1]
    # end of the previous spell of the same customer (max of earlier ends)
    # end of the previous spell of the same customer (spells are sorted by customer and start)
    prev_end = en_s.to_numpy("datetime64[ns]").copy()
    prev_end = np.concatenate([[np.datetime64("NaT", "ns")], prev_end[:-1]]) if len(s) else prev_end
    same = np.concatenate([[False], codes[1:] == codes[:-1]]) if len(s) else np.zeros(0, bool)
    prev_end[~same] = np.datetime64("NaT", "ns")
    gap_ok = ~np.isnat(prev_end)
    if reactivation_gap_days is None:
        gap_ok[:] = False
    else:
        gap_ok &= (st - prev_end) <= np.timedelta64(int(reactivation_gap_days), "D")
    by = [by] if isinstance(by, str) else list(by or [])
    if by:
        gframe = s.loc[first_pos, by].astype(object)
        gframe = gframe.apply(fill_blank)
        gcodes, glevels = pd.factorize(pd.MultiIndex.from_frame(gframe), sort=True)
    else:
        gcodes, glevels = np.zeros(n_ids, dtype=int), None
    n_groups = int(gcodes.max()) + 1 if n_ids else 0

    if start is None:
        start = pd.Timestamp(st.min()) if len(st) else pd.Timestamp("2000-01-01")
    if end is None:
        last = max([pd.Timestamp(x) for x in (st.max(), en_s.max()) if pd.notna(x)]) if len(st) else start
        end = last + pd.Timedelta(days=1)
    frames = []
    for p in (periods_covering if partial else periods_between)(start, end, grain):
        ps, pl, pe = (np.datetime64(x, "ns") for x in (p.start, p.last_day, p.end))
        act_s = np.zeros(n_ids, bool)
        act_s[codes[(st <= ps) & (en > ps)]] = True
        act_e = np.zeros(n_ids, bool)
        act_e[codes[(st <= pl) & (en > pe)]] = True
        ent = np.flatnonzero((st > ps) & (st <= pl))
        ent_codes, idx = np.unique(codes[ent], return_index=True)
        ent_spell = ent[idx]
        keep = ~act_s[ent_codes]
        ent_codes, ent_spell = ent_codes[keep], ent_spell[keep]
        react = np.zeros(n_ids, bool)
        react[ent_codes[gap_ok[ent_spell]]] = True
        new = np.zeros(n_ids, bool)
        new[ent_codes[~gap_ok[ent_spell]]] = True
        entered = new | react
        cols = {"start_count": act_s, "retained": act_s & act_e, "new": new, "reactivated": react,
                "left_in_period": entered & ~act_e, "end_count": act_e}
        agg = pd.DataFrame({k: np.bincount(gcodes, weights=v, minlength=n_groups).astype("int64")
                            for k, v in cols.items()})
        if by:
            lv = glevels.to_frame(index=False)
            lv.columns = by
            agg = pd.concat([lv, agg], axis=1)
        frames.append(_stamp_period(agg, p))
    order = ATTRITION_COLUMNS[:3] + by + ATTRITION_COLUMNS[3:]
    if not frames:
        return pd.DataFrame(columns=order)
    out = pd.concat(frames, ignore_index=True)
    out["churned"] = out["start_count"] - out["retained"]
    out = add_wilson(out, k_col="churned", n_col="start_count", name="attrition_rate")
    out["retention_rate"] = 1 - out["attrition_rate"]
    return out[order]


def logo_attrition(accounts: pd.DataFrame, *, grain: str = "month", start=None, end=None, by=None,
                   signup_col: str = "signup_date", churn_col: str = "churn_date",
                   reactivation_gap_days: int | None = 90, customer_col: str = "account_id") -> pd.DataFrame:
    """Logo (account) attrition per period on contracts, with new accounts of the period excluded.

    Parameters
    ----------
    accounts : DataFrame
        One row per account with ``signup_col`` and ``churn_col`` (NaT while active).
    grain : {"week", "month", "quarter"}
    start, end : date-like
        Whole periods with ``start <= period_start`` and ``period_end <= end`` are reported.
        Defaults: the first signup and the day after the last date in the data.
    by : str or list of str, optional
        Account columns to break the rates down by (segment, plan, ...).
    signup_col, churn_col : str
        Use ``churn_col="cancel_date"`` to count churn at the cancellation request.
    reactivation_gap_days : int or None
        With ``customer_col`` naming a customer shared by several account rows, a new account
        signed within this many days of the customer's previous one ending is a reactivation.
    customer_col : str
        The customer key (default: each account is its own customer).

    Returns
    -------
    DataFrame
        One row per period (and group): ``period, period_start, period_end, [by...], start_count,
        churned, retained, new, reactivated, left_in_period, end_count, attrition_rate,
        attrition_rate_lo, attrition_rate_hi, retention_rate``. ``period_end`` is exclusive.
        Intervals are 95% Wilson. See :func:`spell_attrition`.

    Examples
    --------
    Four accounts in January 2026: ``a`` leaves mid-month, ``b`` stays, ``c`` joins and leaves within
    the month (excluded: acquired in the period), ``d`` joins in the month and stays (excluded).

    >>> acc = pd.DataFrame({
    ...     "account_id": ["a", "b", "c", "d"],
    ...     "signup_date": pd.to_datetime(["2025-06-01", "2025-11-15", "2026-01-10", "2026-01-20"]),
    ...     "churn_date": pd.to_datetime(["2026-01-15", None, "2026-01-25", None])})
    >>> out = logo_attrition(acc, grain="month", start="2026-01-01", end="2026-02-01")
    >>> out[["period", "start_count", "churned", "retained", "new", "end_count", "attrition_rate"]]
        period  start_count  churned  retained  new  end_count  attrition_rate
    0  2026-01            2        1         1    2          2             0.5
    """
    spells = account_spells(accounts, signup_col=signup_col, churn_col=churn_col, id_col=customer_col)
    return spell_attrition(spells, grain=grain, start=start, end=end, by=by,
                           reactivation_gap_days=reactivation_gap_days, id_col=customer_col)


def _stamp_period(frame: pd.DataFrame, p) -> pd.DataFrame:
    """Put a period's ``period, period_start, period_end`` (exclusive) in front of ``frame``."""
    frame.insert(0, "period_end", p.end)
    frame.insert(0, "period_start", p.start)
    frame.insert(0, "period", p.label)
    return frame


def convert_rate(rate, *, periods: float):
    """Rate over ``periods`` consecutive periods at a constant per-period rate: 1 - (1 - c)^n.

    A monthly attrition of 2% compounds to about 5.9% a quarter, not 6%; a quarterly rate converts to
    a monthly one with ``periods=1/3``.

    Examples
    --------
    >>> round(convert_rate(0.02, periods=3), 6)
    0.058808
    >>> round(convert_rate(0.058808, periods=1/3), 4)
    0.02
    """
    return 1 - (1 - np.asarray(rate, dtype=float)) ** periods if np.ndim(rate) else \
        float(1 - (1 - float(rate)) ** periods)


def grain_comparison(spells: pd.DataFrame, *, period: Period, reactivation_gap_days: int | None = 90,
                     id_col: str = "account_id") -> pd.DataFrame:
    """Weekly, monthly and quarterly attrition of one quarter, measured and converted to the quarter.

    Returns one row per grain: ``grain, periods`` (the periods covering the quarter: the weeks at
    its edges are cut to the days inside it, so a churn on the quarter's first or last day counts),
    ``mean_rate`` (average of the measured rates of the whole periods), ``per_quarter`` (the number of
    whole periods in a quarter: days / 7 for weeks, 3 for months),
    ``converted_to_quarter = 1 - (1 - mean_rate)^per_quarter``, ``compounded = 1 - prod(1 - rate)`` over
    every period covering the quarter, and ``measured_quarter``, the quarterly rate measured directly. They differ because a quarterly base excludes customers acquired during the
    quarter and the conversion assumes a constant rate.

    Examples
    --------
    >>> sp = pd.DataFrame({"account_id": list("abcd"), "spell_start": pd.to_datetime(["2025-01-01"] * 4),
    ...                    "spell_end": pd.to_datetime(["2026-02-15", None, None, None])})
    >>> g = grain_comparison(sp, period=Period.quarter("2026Q1")).set_index("grain")
    >>> float(g.loc["quarter", "measured_quarter"]), round(float(g.loc["month", "compounded"]), 4)
    (0.25, 0.25)
    """
    q = spell_attrition(spells, grain="quarter", start=period.start, end=period.end,
                        reactivation_gap_days=reactivation_gap_days, id_col=id_col)
    measured = float(q["attrition_rate"].iloc[0]) if len(q) else np.nan
    days = (period.end - period.start).days
    rows = []
    for grain, n in (("week", days / 7), ("month", 3.0), ("quarter", 1.0)):
        d = spell_attrition(spells, grain=grain, start=period.start, end=period.end,
                            reactivation_gap_days=reactivation_gap_days, id_col=id_col, partial=True)
        r = d["attrition_rate"].astype(float).fillna(0.0)
        whole = r[~d["period"].astype(str).str.contains("days")]
        mean = float(whole.mean()) if len(whole) else np.nan
        rows.append({"grain": grain, "periods": len(d), "mean_rate": mean, "per_quarter": n,
                     "converted_to_quarter": convert_rate(mean, periods=n) if len(whole) else np.nan,
                     "compounded": float(1 - (1 - r).prod()) if len(r) else np.nan,
                     "measured_quarter": measured})
    return pd.DataFrame(rows)


def reconciliation(data: pd.DataFrame, *, measure: str = "logos") -> pd.DataFrame:
    """Long-form reconciliation of attrition output: start base -> churned -> retained -> new
    (excluded) -> end base, one row per period and step.

    ``data`` is the output of :func:`logo_attrition`, :func:`spell_attrition` or
    :func:`activity_attrition`. Returns ``measure, period, step, order, count, sign`` where ``sign`` is
    +1 / -1 for flows and 0 for the bases, so that each period's flows add up to the end base.

    Examples
    --------
    >>> d = pd.DataFrame({"period": ["2026Q1"], "start_count": [10], "churned": [2], "retained": [8],
    ...                   "new": [3], "reactivated": [1], "left_in_period": [1], "end_count": [11]})
    >>> reconciliation(d)[["step", "count", "sign"]].values.tolist()   # doctest: +NORMALIZE_WHITESPACE
    [['active at start', 10, 0], ['churned', 2, -1], ['retained', 8, 0], ['new (excluded)', 3, 1],
     ['reactivated (excluded)', 1, 1], ['joined and left in the period', 1, -1], ['active at end', 11, 0]]
    """
    steps = [("start_count", "active at start", 0), ("churned", "churned", -1), ("retained", "retained", 0),
             ("new", "new (excluded)", 1), ("reactivated", "reactivated (excluded)", 1),
             ("left_in_period", "joined and left in the period", -1), ("end_count", "active at end", 0)]
    rows = []
    for r in data.to_dict("records"):
        for i, (col, label, sign) in enumerate(steps):
            if col in r:
                rows.append({"measure": measure, "period": r["period"], "step": label, "order": i,
                             "count": int(r[col]), "sign": sign})
    return pd.DataFrame(rows, columns=["measure", "period", "step", "order", "count", "sign"])


# --------------------------------------------------------------------------- activity-based attrition


def activity_attrition(events, *, level: str = "user", grain: str = "quarter", start, end,
                       qualified_events=None, min_count: int = 1, reactivation_gap_days: int = 90,
                       groups: pd.DataFrame | None = None, by=None) -> pd.DataFrame:
    """User (or active-account) attrition on qualified activity, counted in the engine.

    The base of period *t* is everyone active in the period before (at least ``min_count``
    qualified events); retained are those also active in *t*. See
    :func:`churnlab.activity.activity_transitions` for new and reactivated.

    Returns the columns of :data:`ATTRITION_COLUMNS` (``left_in_period`` is always 0 on this basis).

    Examples
    --------
    >>> import ibis
    >>> ev = ibis.memtable(pd.DataFrame({
    ...     "account_id": ["a"] * 4, "user_id": ["u1", "u1", "u2", "u3"], "event": ["workflow_run"] * 4,
    ...     "ts": pd.to_datetime(["2026-01-05", "2026-04-03", "2026-01-09", "2026-04-10"])}))
    >>> out = activity_attrition(ev, grain="quarter", start="2026-04-01", end="2026-07-01")
    >>> out[["period", "start_count", "churned", "new", "attrition_rate"]].values.tolist()
    [['2026Q2', 2, 1, 1, 0.5]]
    """
    from .activity import activity_transitions
    from .periods import label_of

    by = [by] if isinstance(by, str) else list(by or [])
    t = activity_transitions(events, grain=grain, qualified_events=qualified_events,
                             min_count=min_count, level=level, start=start, end=end,
                             reactivation_gap_days=reactivation_gap_days, groups=groups, by=by)
    # every whole period in range, also those without any activity
    periods = periods_between(start, end, grain)
    frame = pd.DataFrame({"period_start": [p.start for p in periods], "period_end": [p.end for p in periods]})
    t = frame.merge(t, on="period_start", how="left") if not by else frame.merge(t, on="period_start", how="inner")
    for c in ("start_count", "retained", "churned", "new", "reactivated", "end_count"):
        t[c] = t[c].fillna(0).astype("int64")
    t.insert(0, "period", [label_of(s, grain) for s in t["period_start"]])
    t["left_in_period"] = 0
    t = add_wilson(t, k_col="churned", n_col="start_count", name="attrition_rate")
    t["retention_rate"] = 1 - t["attrition_rate"]
    return t[ATTRITION_COLUMNS[:3] + by + ATTRITION_COLUMNS[3:]].reset_index(drop=True)


# --------------------------------------------------------------------------- revenue attrition

#: Columns of :func:`mrr_movements` (``by`` columns follow ``period_end``).
MRR_COLUMNS = ["period", "period_start", "period_end", "start_mrr", "churned_mrr", "contraction_mrr",
               "expansion_mrr", "new_mrr", "reactivated_mrr", "end_mrr", "gross_mrr_churn", "net_mrr_churn",
               "start_accounts", "churned_accounts", "retained_accounts", "contraction_accounts",
               "contraction_account_rate", "start_seats", "seats_removed", "seats_added", "seat_contraction_rate"]


def mrr_movements(subscriptions: pd.DataFrame, *, grain: str = "month", start, end, by=None,
                  accounts: pd.DataFrame | None = None, reactivation_gap_days: int = 90,
                  id_col: str = "account_id", month_col: str = "month", mrr_col: str = "mrr",
                  seats_col: str = "seats") -> pd.DataFrame:
    """Revenue attrition per period from monthly subscriptions: the MRR bridge and seat contraction.

    The starting MRR of a period is the MRR billed in the month before it; the ending MRR is that of
    its last month. Accounts billed at the start but not at the end are *churned* MRR; accounts billed
    at both contribute their decrease to *contraction* and their increase to *expansion*. Accounts
    billed at the end but not at the start are *new*, or *reactivated* when they were billed within
    ``reactivation_gap_days`` before the period.

    * gross MRR churn = (churned + contraction) / starting MRR
    * net MRR churn = (churned + contraction - expansion) / starting MRR (negative when expansion
      outgrows the losses)
    * seat contraction (partial churn, a leading sign): seats removed by accounts billed at both ends
      / their starting seats, and the share of those accounts that removed seats.

    Parameters
    ----------
    subscriptions : DataFrame
        ``account_id, month, mrr, seats``, one row per billed account and month.
    grain : {"month", "quarter"}
    start, end : date-like
        Whole periods inside ``[start, end)``.
    by : str or list of str, optional
        Columns of ``accounts`` to break the bridge down by.

    Returns
    -------
    DataFrame
        The columns of :data:`MRR_COLUMNS`.

    Examples
    --------
    >>> sub = pd.DataFrame({"account_id": ["a", "a", "b", "c", "c"],
    ...     "month": pd.to_datetime(["2025-12-01", "2026-03-01", "2025-12-01", "2025-12-01", "2026-03-01"]),
    ...     "mrr": [100.0, 80.0, 50.0, 100.0, 130.0], "seats": [10, 8, 5, 10, 13]})
    >>> r = mrr_movements(sub, grain="quarter", start="2026-01-01", end="2026-04-01").iloc[0]
    >>> [float(x) for x in (r.start_mrr, r.churned_mrr, r.contraction_mrr, r.expansion_mrr)]
    [250.0, 50.0, 20.0, 30.0]
    >>> round(float(r.gross_mrr_churn), 4), round(float(r.net_mrr_churn), 4)
    (0.28, 0.16)
    """
    if grain not in ("month", "quarter"):
        raise ValueError("revenue attrition needs a grain of 'month' or 'quarter' (subscriptions are monthly)")
    by = [by] if isinstance(by, str) else list(by or [])
    cols = [id_col, month_col, mrr_col] + ([seats_col] if seats_col in subscriptions else [])
    sub = subscriptions[cols].copy()
    sub["m"] = pd.to_datetime(sub[month_col]).dt.to_period("M")
    if seats_col not in sub:
        sub[seats_col] = np.nan
    if by:
        if accounts is None:
            raise ValueError("accounts is needed to break revenue down by " + ", ".join(by))
        g = accounts[[id_col, *by]].drop_duplicates(id_col).copy()
        for c in by:
            g[c] = fill_blank(g[c])
        sub = sub.merge(g, on=id_col, how="left")
    frames = []
    for p in periods_between(start, end, grain):
        m0 = pd.Timestamp(p.start).to_period("M") - 1
        m1 = pd.Timestamp(p.last_day).to_period("M")
        s0 = sub[sub["m"] == m0].drop_duplicates(id_col)
        s1 = sub[sub["m"] == m1].drop_duplicates(id_col)
        keep0 = [id_col, mrr_col, seats_col, *by]
        j = s0[keep0].merge(s1[[id_col, mrr_col, seats_col, *by]], on=id_col, how="outer", suffixes=("_0", "_1"),
                            indicator=True)
        for c in by:
            j[c] = j[f"{c}_0"].where(j[f"{c}_0"].notna(), j[f"{c}_1"])
        both, left, right = (j["_merge"] == "both"), (j["_merge"] == "left_only"), (j["_merge"] == "right_only")
        gap_from = (m0 - int(np.ceil(reactivation_gap_days / 30.4375))).to_timestamp()
        before = sub[(sub["m"] < m0 + 1) & (sub["m"].dt.to_timestamp() >= gap_from)][id_col].unique()
        was_recent = j[id_col].isin(before)
        d_mrr = j[f"{mrr_col}_1"] - j[f"{mrr_col}_0"]
        d_seats = j[f"{seats_col}_1"] - j[f"{seats_col}_0"]
        f = pd.DataFrame({
            "start_mrr": j[f"{mrr_col}_0"].where(~right, 0.0),
            "churned_mrr": j[f"{mrr_col}_0"].where(left, 0.0),
            "contraction_mrr": (-d_mrr).clip(lower=0).where(both, 0.0),
            "expansion_mrr": d_mrr.clip(lower=0).where(both, 0.0),
            "new_mrr": j[f"{mrr_col}_1"].where(right & ~was_recent, 0.0),
            "reactivated_mrr": j[f"{mrr_col}_1"].where(right & was_recent, 0.0),
            "end_mrr": j[f"{mrr_col}_1"].where(~left, 0.0),
            "start_accounts": (~right).astype("int64"), "churned_accounts": left.astype("int64"),
            "retained_accounts": both.astype("int64"),
            "contraction_accounts": (both & (d_seats < 0)).astype("int64"),
            "retained_start_seats": j[f"{seats_col}_0"].where(both, 0.0),
            "start_seats": j[f"{seats_col}_0"].where(~right, 0.0),
            "seats_removed": (-d_seats).clip(lower=0).where(both, 0.0),
            "seats_added": d_seats.clip(lower=0).where(both, 0.0)}).fillna(0.0)
        for c in by:
            f[c] = j[c].to_numpy()
        agg = f.groupby(by, dropna=False).sum(numeric_only=True).reset_index() if by else f.sum().to_frame().T
        frames.append(_stamp_period(agg, p))
    order = MRR_COLUMNS[:3] + by + MRR_COLUMNS[3:]
    if not frames:
        return pd.DataFrame(columns=order)
    out = pd.concat(frames, ignore_index=True)
    for c in ("start_accounts", "churned_accounts", "retained_accounts", "contraction_accounts"):
        out[c] = out[c].astype("int64")
    with np.errstate(invalid="ignore", divide="ignore"):
        sm = out["start_mrr"].where(out["start_mrr"] > 0)
        out["gross_mrr_churn"] = (out["churned_mrr"] + out["contraction_mrr"]) / sm
        out["net_mrr_churn"] = (out["churned_mrr"] + out["contraction_mrr"] - out["expansion_mrr"]) / sm
        out["seat_contraction_rate"] = out["seats_removed"] / out["retained_start_seats"].where(
            out["retained_start_seats"] > 0)
        out["contraction_account_rate"] = out["contraction_accounts"] / out["retained_accounts"].where(
            out["retained_accounts"] > 0)
    return out[order]


def revenue_long(data: pd.DataFrame) -> pd.DataFrame:
    """Long form of :func:`mrr_movements` rates for plotting: ``period, period_start, measure, rate``.

    Examples
    --------
    >>> d = pd.DataFrame({"period": ["2026Q1"], "period_start": [pd.Timestamp("2026-01-01")],
    ...                   "gross_mrr_churn": [0.05], "net_mrr_churn": [0.01], "seat_contraction_rate": [0.02]})
    >>> revenue_long(d).measure.tolist()
    ['gross MRR churn', 'net MRR churn', 'seats removed (partial churn)']
    """
    names = {"gross_mrr_churn": "gross MRR churn", "net_mrr_churn": "net MRR churn",
             "seat_contraction_rate": "seats removed (partial churn)"}
    out = data.melt(id_vars=["period", "period_start"], value_vars=[c for c in names if c in data],
                    var_name="measure", value_name="rate")
    out["measure"] = out["measure"].map(names)
    return out


# --------------------------------------------------------------------------- outcomes, segments, tests


def attrition_outcomes(spells: pd.DataFrame, *, period: Period, id_col: str = "account_id") -> pd.DataFrame:
    """One row per customer in the period's base (active on its first day), with ``churned``.

    ``churned`` is 1 when the customer is no longer active on the period's last day (a lapse and
    return inside the period is retained). The customer's other columns (its first spell's) are kept,
    so the frame feeds :func:`segment_test`, :func:`group_effects` and :func:`usage_bands`.

    Examples
    --------
    >>> sp = pd.DataFrame({"account_id": ["a", "b", "c"], "segment": ["SMB", "SMB", "Enterprise"],
    ...     "spell_start": pd.to_datetime(["2025-01-01", "2025-01-01", "2026-02-01"]),
    ...     "spell_end": pd.to_datetime(["2026-02-01", None, None])})
    >>> attrition_outcomes(sp, period=Period.quarter("2026Q1"))[["account_id", "churned"]].values.tolist()
    [['a', 1], ['b', 0]]
    """
    ps, pl = period.start, period.last_day
    st = pd.to_datetime(spells[_SPELL_START])
    en = pd.to_datetime(spells[_SPELL_END])
    at_start = (st <= ps) & (en.isna() | (en > ps))
    at_end = (st <= pl) & (en.isna() | (en > period.end))
    flags = pd.DataFrame({id_col: spells[id_col], "s": at_start, "e": at_end}).groupby(id_col, sort=False).any()
    base = flags.index[flags["s"]]
    first = spells.drop_duplicates(id_col).set_index(id_col).loc[base]
    out = first.drop(columns=[c for c in (_SPELL_START, _SPELL_END) if c in first]).reset_index()
    out["churned"] = (~flags.loc[base, "e"].to_numpy()).astype("int64")
    out.insert(1, "period", period.label)
    return out.sort_values(id_col).reset_index(drop=True)


def size_band(accounts: pd.DataFrame, *, col: str = "employees", bins=(0, 50, 200, 1000, np.inf),
              labels=("1-50", "51-200", "201-1000", "1000+"), name: str = "size_band") -> pd.DataFrame:
    """A copy of ``accounts`` with ``name``: ``col`` cut into bands (right-closed).

    Examples
    --------
    >>> size_band(pd.DataFrame({"employees": [10, 120, 5000]})).size_band.astype(str).tolist()
    ['1-50', '51-200', '1000+']
    """
    out = accounts.copy()
    out[name] = pd.cut(pd.to_numeric(out[col], errors="coerce"), bins=list(bins), labels=list(labels))
    out[name] = fill_blank(out[name])
    return out


def _clean_levels(data, by, outcome_col=None):
    """``data`` with ``by`` ready for a test: blanks labelled, rare levels pooled as "Other"
    (:func:`churnlab.stats.group_rare_levels`), so a column with thousands of levels stays testable."""
    d = data.copy()
    d[by] = group_rare_levels(d[by], events=d[outcome_col] if outcome_col in d else None).to_numpy()
    return d


def _logit(data, by, outcome_col, reference):
    import statsmodels.formula.api as smf

    d = data[[by, outcome_col]].rename(columns={by: "g", outcome_col: "y"})
    ref = str(reference).replace("'", "\\'")
    try:
        res = smf.logit(f"y ~ C(g, Treatment(reference='{ref}'))", data=d).fit(disp=0, maxiter=200)
        return res
    except Exception:
        return None


def group_effects(outcomes: pd.DataFrame, *, by: str, reference=None, outcome_col: str = "churned",
                  alpha: float = 0.05) -> pd.DataFrame:
    """Attrition by group with Wilson intervals and odds ratios from a logistic regression.

    A statsmodels logit of ``outcome_col`` on ``C(by)`` (reference level ``reference``; default the
    largest group) gives each level's odds ratio against the reference with its interval and p-value.

    Returns
    -------
    DataFrame
        ``by, start_count, churned, attrition_rate, attrition_rate_lo, attrition_rate_hi,
        odds_ratio, odds_ratio_lo, odds_ratio_hi, p_value, reference`` (one row per level).

    Examples
    --------
    >>> o = pd.DataFrame({"plan": ["a"] * 100 + ["b"] * 100, "churned": [1] * 10 + [0] * 90 + [1] * 30 + [0] * 70})
    >>> g = group_effects(o, by="plan", reference="a").set_index("plan")
    >>> round(float(g.loc["b", "odds_ratio"]), 3), float(g.loc["a", "odds_ratio"])
    (3.857, 1.0)
    """
    d = _clean_levels(outcomes, by)
    agg = d.groupby(by).agg(start_count=(outcome_col, "size"), churned=(outcome_col, "sum")).reset_index()
    agg = add_wilson(agg, k_col="churned", n_col="start_count", name="attrition_rate", alpha=alpha)
    if reference is None:
        reference = agg.sort_values(["start_count", by], ascending=[False, True])[by].iloc[0]
    reference = str(reference)
    agg["odds_ratio"], agg["odds_ratio_lo"], agg["odds_ratio_hi"], agg["p_value"] = np.nan, np.nan, np.nan, np.nan
    res = _logit(d, by, outcome_col, reference) if agg[by].nunique() > 1 else None
    if res is not None:
        ci = res.conf_int(alpha=alpha)
        for i, lv in enumerate(agg[by]):
            if lv == reference:
                agg.loc[i, ["odds_ratio", "odds_ratio_lo", "odds_ratio_hi"]] = 1.0
                continue
            name = next((k for k in res.params.index if k.endswith(f"[T.{lv}]")), None)
            degenerate = agg.loc[i, "churned"] in (0, agg.loc[i, "start_count"])   # separation: no estimate
            ci_ok = name is not None and np.all(np.isfinite(np.exp(ci.loc[name].to_numpy(dtype=float))))
            if name is not None and not degenerate and ci_ok:
                agg.loc[i, "odds_ratio"] = float(np.exp(res.params[name]))
                agg.loc[i, "odds_ratio_lo"] = float(np.exp(ci.loc[name, 0]))
                agg.loc[i, "odds_ratio_hi"] = float(np.exp(ci.loc[name, 1]))
                agg.loc[i, "p_value"] = float(res.pvalues[name])
    agg["reference"] = reference
    return agg


def segment_test(outcomes: pd.DataFrame, *, by: str, outcome_col: str = "churned") -> pd.DataFrame:
    """Do the groups of ``by`` differ in attrition? Pearson chi-square and a logistic regression.

    The chi-square test of independence of group and outcome comes from statsmodels
    ``Table.test_nominal_association``; the logistic regression (``churned ~ C(by)``) gives a
    likelihood-ratio test against the intercept-only model.

    Returns
    -------
    DataFrame
        One row: ``by, levels, n, churned, chi2, chi2_df, chi2_p, lr_stat, lr_df, lr_p, highest,
        highest_rate, lowest, lowest_rate``.

    Examples
    --------
    >>> o = pd.DataFrame({"plan": ["a"] * 100 + ["b"] * 100, "churned": [1] * 10 + [0] * 90 + [1] * 30 + [0] * 70})
    >>> t = segment_test(o, by="plan").iloc[0]
    >>> round(float(t.chi2), 2), bool(t.chi2_p < 0.001), t.highest
    (12.5, True, 'b')
    """
    from statsmodels.stats.contingency_tables import Table

    raw_levels = fill_blank(outcomes[by]).astype(str).nunique()
    d = _clean_levels(outcomes, by, outcome_col)
    rates = d.groupby(by)[outcome_col].agg(["mean", "size"])
    pooled = int(raw_levels - len(rates) + (1 if raw_levels > len(rates) else 0))
    row = {"by": by, "levels": int(len(rates)), "pooled": pooled, "n": int(len(d)), "churned": int(d[outcome_col].sum()),
           "chi2": np.nan, "chi2_df": np.nan, "chi2_p": np.nan, "lr_stat": np.nan, "lr_df": np.nan, "lr_p": np.nan,
           "highest": rates["mean"].idxmax() if len(rates) else None,
           "highest_rate": float(rates["mean"].max()) if len(rates) else np.nan,
           "lowest": rates["mean"].idxmin() if len(rates) else None,
           "lowest_rate": float(rates["mean"].min()) if len(rates) else np.nan}
    ct = pd.crosstab(d[by], d[outcome_col])
    if ct.shape[0] > 1 and ct.shape[1] > 1:
        r = Table(ct).test_nominal_association()
        row.update(chi2=float(r.statistic), chi2_df=int(r.df), chi2_p=float(r.pvalue))
        ref = rates["size"].idxmax()
        res = _logit(d, by, outcome_col, ref)
        if res is not None:
            row.update(lr_stat=float(res.llr), lr_df=int(res.df_model), lr_p=float(res.llr_pvalue))
    return pd.DataFrame([row])


def describe_segment_test(test: pd.DataFrame, *, alpha: float = 0.05, what: str = "attrition") -> str:
    """A plain sentence from :func:`segment_test`.

    Examples
    --------
    >>> t = pd.DataFrame([{"by": "segment", "levels": 3, "n": 900, "chi2": 20.0, "chi2_df": 2, "chi2_p": 0.00004,
    ...     "lr_p": 0.0001, "highest": "SMB", "highest_rate": 0.06, "lowest": "Enterprise", "lowest_rate": 0.01}])
    >>> describe_segment_test(t)
    'Attrition differs by segment: highest in SMB (6.0%), lowest in Enterprise (1.0%); chi-square 20.0 with 2 degrees of freedom, p < 0.001; logistic regression p < 0.001.'
    """
    t = test.iloc[0]
    by = str(t["by"]).replace("_", " ")
    if not np.isfinite(t["chi2_p"]):
        return f"There are too few groups or churned customers to test whether {what} differs by {by}."
    dof = int(t['chi2_df'])
    stats_txt = (f"chi-square {t['chi2']:.1f} with {dof} degree{'' if dof == 1 else 's'} of freedom, {format_p(t['chi2_p'])}; "
                 f"logistic regression {format_p(t['lr_p'])}")
    spread = (f"highest in {level_word(t['highest'])} ({pct(t['highest_rate'])}), "
              f"lowest in {level_word(t['lowest'])} ({pct(t['lowest_rate'])})")
    pooled = int(t["pooled"]) if "pooled" in t and pd.notna(t["pooled"]) else 0
    note = f" The {pooled} smallest {by} values are pooled as \"Other\"." if pooled else ""
    if t["chi2_p"] < alpha:
        return f"{what.capitalize()} differs by {by}: {spread}; {stats_txt}.{note}"
    return (f"The {by} groups do not differ in {what} more than chance would explain ({spread}; {stats_txt}).{note}")


def regrettable_attrition(outcomes: pd.DataFrame, *, icp_col: str = "icp_fit",
                          outcome_col: str = "churned") -> pd.DataFrame:
    """Regrettable (ideal-customer-profile fit) vs. non-regrettable attrition.

    Returns one row per kind: ``kind, start_count, churned, attrition_rate, attrition_rate_lo,
    attrition_rate_hi, share_of_churned, contribution`` where ``contribution`` is the kind's churned
    accounts over the whole base (the two contributions add up to the overall attrition rate).

    Examples
    --------
    >>> o = pd.DataFrame({"icp_fit": [True, True, False, False], "churned": [1, 0, 1, 1]})
    >>> regrettable_attrition(o)[["kind", "churned", "share_of_churned", "contribution"]].values.tolist()
    [['regrettable (ICP fit)', 1, 0.3333333333333333, 0.25], ['non-regrettable (not ICP fit)', 2, 0.6666666666666666, 0.5]]
    """
    fit = outcomes[icp_col].astype("boolean")
    kinds = np.where(fit.fillna(False).to_numpy(bool), "regrettable (ICP fit)", "non-regrettable (not ICP fit)")
    kinds = np.where(fit.isna().to_numpy(), "unknown fit", kinds)
    d = pd.DataFrame({"kind": kinds, "y": outcomes[outcome_col].to_numpy()})
    agg = d.groupby("kind").agg(start_count=("y", "size"), churned=("y", "sum")).reset_index()
    order = {"regrettable (ICP fit)": 0, "non-regrettable (not ICP fit)": 1, "unknown fit": 2}
    agg = agg.sort_values("kind", key=lambda s: s.map(order)).reset_index(drop=True)
    agg = add_wilson(agg, k_col="churned", n_col="start_count", name="attrition_rate")
    total_churned, total = agg["churned"].sum(), agg["start_count"].sum()
    agg["share_of_churned"] = agg["churned"] / total_churned if total_churned else np.nan
    agg["contribution"] = agg["churned"] / total if total else np.nan
    return agg


# --------------------------------------------------------------------------- behavioural cohorts

USAGE_BANDS = ("bottom quartile", "middle two quartiles", "top quartile")


def usage_bands(outcomes: pd.DataFrame, usage: pd.DataFrame, *, usage_col: str = "n", id_col: str = "account_id",
                name: str = "usage_band") -> pd.DataFrame:
    """Split customers by usage into bottom quartile / middle two quartiles / top quartile.

    ``usage`` has ``id_col, usage_col`` (customers missing from it used the feature 0 times). Ties
    are broken by ``id_col`` so the split is deterministic and the quartiles have equal sizes.
    Returns a copy of ``outcomes`` with ``usage`` (the count) and ``name``.

    Examples
    --------
    >>> o = pd.DataFrame({"account_id": list("abcdefgh"), "churned": [1, 1, 0, 0, 0, 0, 0, 0]})
    >>> u = pd.DataFrame({"account_id": list("cdefgh"), "n": [3, 4, 5, 6, 7, 8]})
    >>> usage_bands(o, u).usage_band.tolist()[:3]
    ['bottom quartile', 'bottom quartile', 'middle two quartiles']
    """
    out = outcomes.copy()
    u = usage.set_index(id_col)[usage_col]
    out["usage"] = out[id_col].map(u).fillna(0).astype(float)
    order = out.sort_values(["usage", id_col], kind="stable").index
    rank = pd.Series(np.arange(1, len(out) + 1), index=order).reindex(out.index)
    q = rank / max(len(out), 1)
    out[name] = np.where(q <= 0.25, USAGE_BANDS[0], np.where(q > 0.75, USAGE_BANDS[2], USAGE_BANDS[1]))
    return out


def feature_cohorts(events, spells: pd.DataFrame, *, period: Period, feature_event, id_col: str = "account_id"):
    """Customers of ``period``'s base banded by their use of ``feature_event`` in the period before.

    Counts come from the engine (:func:`churnlab.activity.event_counts`); returns
    :func:`attrition_outcomes` with ``usage`` and ``usage_band`` (see :func:`usage_bands`).

    Examples
    --------
    >>> feature_cohorts(ds.events, spells, period=q, feature_event="workflow_run")  # doctest: +SKIP
    """
    from .activity import event_counts

    prior = period.previous()
    out = attrition_outcomes(spells, period=period, id_col=id_col)
    usage = event_counts(events, event=feature_event, start=prior.start, end=prior.end, by=id_col)
    return usage_bands(out, usage, id_col=id_col)


def describe_cohort_effect(effects: pd.DataFrame, *, by: str = "usage_band", feature: str = "the feature",
                           alpha: float = 0.05) -> str:
    """Plain sentence on top- vs. bottom-quartile users from :func:`group_effects` on usage bands.

    Examples
    --------
    >>> e = pd.DataFrame({"usage_band": list(USAGE_BANDS), "attrition_rate": [0.10, 0.05, 0.02],
    ...     "odds_ratio": [2.1, 1.0, 0.39], "odds_ratio_lo": [1.5, 1.0, 0.2], "odds_ratio_hi": [3.0, 1.0, 0.7],
    ...     "p_value": [0.0001, np.nan, 0.002], "reference": ["middle two quartiles"] * 3})
    >>> print(describe_cohort_effect(e, feature="workflow_runs"))
    Heaviest users of workflow runs (top quartile) lost 2.0% of accounts against 5.0% in the middle and 10.0% in the bottom quartile; the top quartile's odds of churning are 0.39 times the middle's (95% CI 0.20-0.70, p = 0.002), a significant difference.
    """
    feature = level_word(feature)   # an event code as words: "workflow_run" -> "workflow run"
    e = effects.set_index(by)
    if not all(b in e.index for b in USAGE_BANDS):
        return (f"Too few accounts used {feature} in the quarter before to split them into usage quartiles, so "
                "the behavioural cohorts cannot be compared.")
    bot, mid, top = (e.loc[b] for b in USAGE_BANDS)
    rates = (f"Heaviest users of {feature} (top quartile) lost {pct(top['attrition_rate'])} of accounts against "
             f"{pct(mid['attrition_rate'])} in the middle and {pct(bot['attrition_rate'])} in the bottom quartile")
    est = [top.get(k) for k in ("odds_ratio", "odds_ratio_lo", "odds_ratio_hi", "p_value")]
    if not all(v is not None and np.isfinite(v) for v in est):
        return rates + "; too few of them churned to estimate how the odds of churning differ."
    sig = "a significant difference" if top["p_value"] < alpha else "not a significant difference"
    return (rates + f"; the top quartile's odds of churning are {top['odds_ratio']:.2f} times the middle's (95% CI "
            f"{top['odds_ratio_lo']:.2f}-{top['odds_ratio_hi']:.2f}, {format_p(top['p_value'])}), {sig}.")


# --------------------------------------------------------------------------- leading indicator


def account_user_attrition(events, *, quarters, qualified_events=None, min_count: int = 1,
                           reactivation_gap_days: int = 90) -> pd.DataFrame:
    """Per-account user attrition in each of ``quarters`` (labels or Periods), counted in the engine.

    Returns ``account_id, period, users_start, users_churned, user_attrition``, one row per account
    with at least one active user in the quarter before.

    Examples
    --------
    >>> account_user_attrition(ds.events, quarters=["2026Q2"])      # doctest: +SKIP
    """
    from .activity import activity_transitions

    qs = sorted((q if isinstance(q, Period) else Period.quarter(q) for q in quarters), key=lambda p: p.start)
    t = activity_transitions(events, grain="quarter", qualified_events=qualified_events,
                             min_count=min_count, level="user", start=qs[0].start, end=qs[-1].end,
                             reactivation_gap_days=reactivation_gap_days, by="account_id")
    labels = {q.start: q.label for q in qs}
    t = t[t["period_start"].isin(list(labels)) & (t["start_count"] > 0)]
    out = pd.DataFrame({"account_id": t["account_id"].astype(str), "period": t["period_start"].map(labels),
                        "users_start": t["start_count"], "users_churned": t["churned"]})
    out["user_attrition"] = out["users_churned"] / out["users_start"]
    return out.sort_values(["period", "account_id"]).reset_index(drop=True)


def leading_indicator(user_attrition: pd.DataFrame, spells: pd.DataFrame, *, threshold: float = 0.3,
                      min_users: int = 3, id_col: str = "account_id") -> pd.DataFrame:
    """Pair each account's user attrition in a quarter with whether it churned as a logo in the next.

    ``user_attrition`` is :func:`account_user_attrition`; accounts with fewer than ``min_users``
    active users at the start are left out (one lost user out of two says little). Accounts in the
    next quarter's logo base are kept. Returns ``account_id, period, next_period, users_start,
    user_attrition, high_user_attrition, churned_next``.

    Examples
    --------
    >>> leading_indicator(account_user_attrition(ds.events, quarters=["2026Q2"]), spells)  # doctest: +SKIP
    """
    ua = user_attrition[user_attrition["users_start"] >= int(min_users)]
    frames = []
    for label, d in ua.groupby("period"):
        nxt = _next_quarter(label)
        o = attrition_outcomes(spells, period=nxt, id_col=id_col)[[id_col, "churned"]]
        o[id_col] = o[id_col].astype(str)
        m = d.merge(o, on=id_col, how="inner")
        m["next_period"] = nxt.label
        frames.append(m)
    if not frames:
        return pd.DataFrame(columns=[id_col, "period", "next_period", "users_start", "user_attrition",
                                     "high_user_attrition", "churned_next"])
    out = pd.concat(frames, ignore_index=True).rename(columns={"churned": "churned_next"})
    out["high_user_attrition"] = out["user_attrition"] >= float(threshold)
    return out[[id_col, "period", "next_period", "users_start", "user_attrition", "high_user_attrition",
                "churned_next"]]


def _next_quarter(label: str) -> Period:
    from .periods import period_of

    return period_of(Period.quarter(label).end, "quarter")


def indicator_lift(data: pd.DataFrame, *, flag_col: str = "high_user_attrition", outcome_col: str = "churned_next",
                   alpha: float = 0.05) -> pd.DataFrame:
    """How much more often flagged accounts churn: rates with Wilson intervals and the risk ratio.

    The lift is the risk ratio P(churn | flagged) / P(churn | not flagged) with its interval and
    p-value from statsmodels ``Table2x2``.

    Returns
    -------
    DataFrame
        One row: ``flagged, flagged_churned, flagged_rate, flagged_rate_lo, flagged_rate_hi, others,
        others_churned, others_rate, others_rate_lo, others_rate_hi, lift, lift_lo, lift_hi, p_value``.

    Examples
    --------
    >>> d = pd.DataFrame({"high_user_attrition": [True] * 50 + [False] * 200,
    ...                   "churned_next": [1] * 10 + [0] * 40 + [1] * 10 + [0] * 190})
    >>> r = indicator_lift(d).iloc[0]
    >>> round(float(r.lift), 2), bool(r.lift_lo > 1)
    (4.0, True)
    """
    from statsmodels.stats.contingency_tables import Table2x2

    f = data[flag_col].astype(bool)
    y = data[outcome_col].astype(int)
    a, b = int(y[f].sum()), int((1 - y[f]).sum())
    c, d = int(y[~f].sum()), int((1 - y[~f]).sum())
    row = {"flagged": a + b, "flagged_churned": a, "others": c + d, "others_churned": c}
    out = pd.DataFrame([row])
    out = add_wilson(out, k_col="flagged_churned", n_col="flagged", name="flagged_rate", alpha=alpha)
    out = add_wilson(out, k_col="others_churned", n_col="others", name="others_rate", alpha=alpha)
    lift = lo = hi = p = np.nan
    if min(a + b, c + d) > 0 and a > 0 and c > 0:
        t = Table2x2(np.array([[a, b], [c, d]]))
        lift = float(t.riskratio)
        lo, hi = (float(x) for x in t.riskratio_confint(alpha=alpha))
        p = float(t.riskratio_pvalue())
    out["lift"], out["lift_lo"], out["lift_hi"], out["p_value"] = lift, lo, hi, p
    return out


def describe_lift(lift: pd.DataFrame, *, threshold: float = 0.3, alpha: float = 0.05) -> str:
    """Plain sentence from :func:`indicator_lift`.

    Examples
    --------
    >>> l = pd.DataFrame([{"flagged": 50, "flagged_rate": 0.2, "others": 200, "others_rate": 0.05, "lift": 4.0,
    ...                    "lift_lo": 2.0, "lift_hi": 8.0, "p_value": 0.0001}])
    >>> describe_lift(l)
    'Accounts that lost at least 30% of their active users in a quarter lost the logo in the next quarter 4.0 times as often (20.0% vs 5.0%; 95% CI 2.0-8.0, p < 0.001; 50 such accounts).'
    """
    r = lift.iloc[0]
    if not np.isfinite(r["lift"]):
        return "Too few accounts churned to measure whether user attrition leads logo attrition."
    word = "" if r["p_value"] < alpha else " — not significant at this sample size"
    return (f"Accounts that lost at least {threshold:.0%} of their active users in a quarter lost the logo in the "
            f"next quarter {r['lift']:.1f} times as often ({pct(r['flagged_rate'])} vs {pct(r['others_rate'])}; "
            f"95% CI {r['lift_lo']:.1f}-{r['lift_hi']:.1f}, {format_p(r['p_value'])}; "
            f"{int(r['flagged']):,} such accounts){word}.")


def segment_summary(outcomes: pd.DataFrame, *, columns, alpha: float = 0.05) -> pd.DataFrame:
    """:func:`segment_test` for several account columns, with the plain sentence of each.

    Returns one row per column: ``by, levels, n, churned, chi2, chi2_df, chi2_p, lr_p, highest,
    highest_rate, lowest, lowest_rate, differs, sentence``; columns absent from ``outcomes`` are skipped.

    Examples
    --------
    >>> o = pd.DataFrame({"plan": ["a"] * 100 + ["b"] * 100, "churned": [1] * 10 + [0] * 90 + [1] * 30 + [0] * 70})
    >>> segment_summary(o, columns=["plan", "region"])[["by", "differs"]].values.tolist()
    [['plan', True]]
    """
    rows = []
    for c in ([columns] if isinstance(columns, str) else list(columns)):
        if c not in outcomes:
            continue
        t = segment_test(outcomes, by=c)
        t["differs"] = bool(np.isfinite(t["chi2_p"].iloc[0]) and t["chi2_p"].iloc[0] < alpha)
        t["sentence"] = describe_segment_test(t, alpha=alpha)
        rows.append(t)
    cols = ["by", "levels", "pooled", "n", "churned", "chi2", "chi2_df", "chi2_p", "lr_p", "highest", "highest_rate",
            "lowest", "lowest_rate", "differs", "sentence"]
    return pd.concat(rows, ignore_index=True)[cols] if rows else pd.DataFrame(columns=cols)


def _money(x, currency: str) -> str:
    if len(currency) == 3 and currency.isalpha():
        return f"{x:,.0f} {currency}"
    return f"{currency}{x:,.0f}"


def quarter_sentences(logos, users=None, revenue=None, *, currency: str = "") -> list[str]:
    """The reviewed quarter in plain sentences: logos, users and revenue.

    ``logos``, ``users`` and ``revenue`` are the quarter's rows of :func:`spell_attrition`,
    :func:`activity_attrition` and :func:`mrr_movements` (``users`` and ``revenue`` optional). A
    measure with an empty base says so instead of printing a rate of nothing.

    Examples
    --------
    >>> row = pd.Series({"period": "2026Q3", "start_count": 200, "churned": 10, "attrition_rate": 0.05,
    ...                  "attrition_rate_lo": 0.027, "attrition_rate_hi": 0.09, "new": 12})
    >>> quarter_sentences(row)[0]
    '2026Q3: 200 accounts active at the start, 10 lost, logo attrition 5.00% (95% CI 2.70%-9.00%); 12 accounts acquired in the quarter are not counted.'
    >>> quarter_sentences({**row, "start_count": 0, "churned": 0})[0]
    '2026Q3: no account was active at the start of the quarter, so there is no logo attrition to measure; 12 accounts acquired in the quarter are not counted.'
    """
    out = []
    new = f"{int(logos['new']):,} accounts acquired in the quarter are not counted."
    if int(logos["start_count"]) == 0:
        out.append(f"{logos['period']}: no account was active at the start of the quarter, so there is no "
                   f"logo attrition to measure; {new}")
    else:
        out.append(f"{logos['period']}: {int(logos['start_count']):,} accounts active at the start, "
                   f"{int(logos['churned']):,} lost, logo attrition {logos['attrition_rate']:.2%} (95% CI "
                   f"{logos['attrition_rate_lo']:.2%}-{logos['attrition_rate_hi']:.2%}); {new}")
    if users is not None:
        if int(users["start_count"]) == 0:
            out.append("Users: no user had qualified activity in the quarter before, so there is no user "
                       "attrition to measure.")
        else:
            out.append(f"Users: {int(users['start_count']):,} active in the quarter before, "
                       f"{int(users['churned']):,} not active again, user attrition {users['attrition_rate']:.2%}.")
    if revenue is not None:
        if not revenue["start_mrr"] > 0:
            out.append("Revenue: there was no MRR at the start of the quarter, so there is no revenue attrition "
                       "to measure.")
        else:
            seats = ""
            if pd.notna(revenue.get("seat_contraction_rate")):
                seats = (f"; {int(revenue['contraction_accounts']):,} retained accounts removed "
                         f"{revenue['seats_removed']:,.0f} seats ({revenue['seat_contraction_rate']:.2%})")
            out.append(f"Revenue: gross MRR churn {revenue['gross_mrr_churn']:.2%}, net MRR churn "
                       f"{revenue['net_mrr_churn']:.2%} of {_money(revenue['start_mrr'], currency)} starting MRR{seats}.")
    return out


def by_quarter(logos: pd.DataFrame, users: pd.DataFrame | None = None,
               revenue: pd.DataFrame | None = None) -> dict:
    """Each quarter's headline figures, for ``metrics.json`` and the executive summary's comparisons.

    ``logos``, ``users`` and ``revenue`` are quarterly :func:`spell_attrition`, :func:`activity_attrition`
    and :func:`mrr_movements` output. Returns ``{quarter: {logo_start, logo_churned,
    logo_attrition_rate, logo_attrition_rate_lo, logo_attrition_rate_hi, user_start, user_churned,
    user_attrition_rate, start_mrr, mrr_churned, grr, nrr}}``: ``mrr_churned`` is the MRR of the
    accounts lost, ``grr`` = 1 - gross MRR churn and ``nrr`` = 1 - net MRR churn. A rate with an empty
    base is ``None``.

    Examples
    --------
    >>> q = pd.DataFrame({"period": ["2026Q2"], "start_count": [10], "churned": [1], "attrition_rate": [0.1],
    ...                   "attrition_rate_lo": [0.02], "attrition_rate_hi": [0.4]})
    >>> by_quarter(q)["2026Q2"]["logo_attrition_rate"]
    0.1
    """
    def num(v):
        return None if v is None or pd.isna(v) else float(v)

    out: dict = {}
    for r in logos.itertuples():
        base = int(r.start_count)
        out.setdefault(str(r.period), {}).update(
            logo_start=base, logo_churned=int(r.churned),
            logo_attrition_rate=num(r.attrition_rate) if base else None,
            logo_attrition_rate_lo=num(r.attrition_rate_lo) if base else None,
            logo_attrition_rate_hi=num(r.attrition_rate_hi) if base else None)
    for r in (users.itertuples() if users is not None else []):
        base = int(r.start_count)
        out.setdefault(str(r.period), {}).update(user_start=base, user_churned=int(r.churned),
                                                 user_attrition_rate=num(r.attrition_rate) if base else None)
    for r in (revenue.itertuples() if revenue is not None else []):
        ok = bool(r.start_mrr > 0)
        out.setdefault(str(r.period), {}).update(
            start_mrr=num(r.start_mrr), mrr_churned=num(r.churned_mrr),
            grr=1 - float(r.gross_mrr_churn) if ok else None, nrr=1 - float(r.net_mrr_churn) if ok else None)
    return out


def compare_measures(logos, users=None, active=None) -> str:
    """One sentence comparing the quarter's user, active-account and logo attrition, from the data.

    Examples
    --------
    >>> compare_measures(pd.Series({"attrition_rate": 0.05, "start_count": 100}),
    ...                  pd.Series({"attrition_rate": 0.25, "start_count": 900}))
    'User attrition (25.0%) runs above logo attrition (5.0%): people stop using the product inside accounts that stay.'
    """
    def ok(r):
        return r is not None and int(r["start_count"]) > 0 and pd.notna(r["attrition_rate"])

    if not ok(logos) or not ok(users):
        return "User and logo attrition cannot both be measured for this quarter."
    u, lg = float(users["attrition_rate"]), float(logos["attrition_rate"])
    if u > lg * 1.1:
        return (f"User attrition ({u:.1%}) runs above logo attrition ({lg:.1%}): people stop using the product "
                "inside accounts that stay.")
    if u < lg * 0.9:
        return (f"User attrition ({u:.1%}) runs below logo attrition ({lg:.1%}): the accounts that leave take "
                "their users with them, while users of staying accounts stay active.")
    return f"User attrition ({u:.1%}) and logo attrition ({lg:.1%}) run at about the same level."


def describe_definitions(*, basis_sentence: str, qualified_events, min_count: int, reactivation_gap_days: int,
                         inactivity_days: int, grain_note: bool = True) -> str:
    """The definitions and parameters in force, as Markdown for the top of the report.

    Examples
    --------
    >>> print(describe_definitions(basis_sentence="Churn is counted at the end of service (churn_date).",
    ...       qualified_events=["workflow_run"], min_count=1, reactivation_gap_days=90,
    ...       inactivity_days=60).splitlines()[0])
    - **Attrition** for a period = (active at start − of those, still active at the end) ÷ active at start. Customers acquired during the period are excluded from both counts; retention = 1 − attrition.
    """
    ev = ", ".join(f"`{e}`" for e in qualified_events)
    lines = [
        "- **Attrition** for a period = (active at start − of those, still active at the end) ÷ active at start. "
        "Customers acquired during the period are excluded from both counts; retention = 1 − attrition.",
        f"- **Logos** (accounts) are active while their contract runs. {basis_sentence}",
        f"- **Qualified activity**: at least {int(min_count)} of {ev} in the period (a login alone is not "
        "activity). A user is in a quarter's base when active in the quarter before, and retained when active "
        "again in the quarter.",
        "- A customer who lapses and comes back inside the period is **retained**. One who comes back within "
        f"{int(reactivation_gap_days)} days of leaving is **reactivated**, not new; both are shown.",
        f"- Event-only data: when no churn dates are recorded, churn is inferred after {int(inactivity_days)} days "
        "without qualified activity.",
        "- **Revenue**: gross MRR churn = (churned + contraction MRR) ÷ starting MRR; net MRR churn also "
        "subtracts expansion. Starting MRR is the month before the period; ending MRR its last month.",
    ]
    if grain_note:
        lines.append("- Weekly, monthly and quarterly rates are labelled by their period; converting a rate c "
                     "over n periods uses 1 − (1 − c)^n.")
    return "\n".join(lines)
