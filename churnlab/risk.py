"""At-risk accounts: validate the health score, measure early-warning signals, tier the save list.

Everything is computed *as of a date* ``d`` from data dated before ``d`` (the health score: on or
before ``d``), and compared with churn in the period that follows, so no figure looks ahead: a
quarter reviewed again on data that runs later gives the same numbers.

* Churn: an account churned in ``[start, end]`` when its ``churn_date`` falls there; the base is
  every account active at ``start`` (signed up before it, not churned before it).
* Health score: the latest score on or before the quarter start; a lower score means riskier. ROC
  AUC and PR AUC come from scikit-learn; their 95% intervals are *stratified percentile bootstrap*
  intervals (churners and stayers resampled separately, 400 resamples, fixed seed).
* Signals: booleans per account (:data:`SIGNALS`); event-based ones are aggregated in the engine
  (Ibis), the small tables in pandas. A signal's lift is the churn rate of accounts with it firing
  over the rate of those without, with a Katz log interval and Fisher's exact p.
* Risk model: a statsmodels logit of next-quarter churn on the signals, fit on earlier quarters
  (stacked account-quarters) and scored on a later one (out of time).
* Save list: every active account with its risk, MRR, signals, a likely root cause
  (:func:`root_causes`) and a tier (:func:`tiers`) with thresholds from the data config's ``risk:``
  section or derived from the data.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import engine, i18n
from .periods import Period
from .stats import wilson_interval

#: Early-warning signals: name -> (what it means, the table it needs, root-cause category).
SIGNALS = {
    "engagement_drop": ("qualified activity in the last 30 days below half of the 90 days before", "events",
                        "product fit"),
    "low_seat_use": ("active users in the last 30 days below 40% of paid seats", "events", "value perception"),
    "ticket_spike": ("2+ tickets in the last 30 days, over twice the account's usual monthly rate",
                     "support_tickets", "service experience"),
    "escalation": ("an escalated ticket in the last 90 days", "support_tickets", "service experience"),
    "long_resolution": ("tickets of the last 90 days took a median of more than 7 days to resolve",
                        "support_tickets", "service experience"),
    "repeated_topic": ("3+ tickets on one topic in the last 90 days", "support_tickets", "product fit"),
    "feature_requests": ("a feature request in the last 90 days", "support_tickets", "product fit"),
    "nps_fall": ("latest NPS answer (of the last 180 days) 2+ points below the account's earlier answers of the year",
                 "nps_responses",
                 "value perception"),
    "gone_quiet": ("answered NPS 2+ times in the half-year before, not in the last 180 days", "nps_responses",
                   "value perception"),
    "champion_left": ("an admin or champion user deactivated in the last 90 days", "users", "situational"),
    "skipped_meetings": ("a meeting, call or QBR cancelled or missed in the last 90 days", "touchpoints",
                         "service experience"),
    "silent": ("no touchpoint since onboarding (the first 45 days)", "touchpoints", "value perception"),
}
#: Signals as readers see them on a page, in tables and sentences.
SIGNAL_LABELS = {"engagement_drop": "Engagement drop", "low_seat_use": "Low seat use", "ticket_spike": "Ticket spike",
                 "escalation": "Escalated ticket", "long_resolution": "Slow ticket resolution",
                 "repeated_topic": "Repeated ticket topic", "feature_requests": "Feature request",
                 "nps_fall": "NPS fall", "gone_quiet": "Gone quiet on NPS", "champion_left": "Champion left",
                 "skipped_meetings": "Skipped meetings", "silent": "Silent since onboarding"}
#: Column headers of this module's tables (for :func:`churnlab.report.styled`'s ``headers``).
HEADERS = {"band": "Health band", "vs_ref": "Times the green rate", "mean_score": "Mean score", "decile": "Decile",
           "capture": "Share of those lost, cumulative", "top_decile_lift": "Lowest-tenth lift",
           "signal": "Signal", "meaning": "Fires when", "fired": "Accounts with it", "churned_fired": "Lost with it",
           "rate_fired": "Churn rate with it", "lead_days": "Lead time (days)", "signals": "Signals firing",
           "n_signals": "Signals firing", "risk": "Churn risk", "risk_level": "Risk level", "value": "Value",
           "tier": "Tier", "response": "Response", "timeline": "Timeline", "root_cause": "Likely root cause",
           "predicted": "Predicted churn", "risk_group": "Risk group (1 = lowest)", "observed": "Observed churn", "segment": "Segment",
           "odds_vs_predicted": "Odds vs predicted"}
#: Tiers of the save list: tier -> (accounts, response, timeline).
TIERS = {1: ("high value, low-to-medium risk", "full save effort, executives involved", "30-90 days"),
         2: ("medium value and risk", "CSM plus manager", "14-30 days"),
         3: ("low value or high risk", "CSM only, one conversation", "7-14 days"),
         4: ("low value and high risk", "graceful exit, learn from it", "")}
#: Root-cause categories, easiest to fix last.
CAUSES = ("product fit", "service experience", "value perception", "situational")
#: Exit-interview primary reasons (shipped taxonomy codes) -> root-cause category.
REASON_CAUSE = {"product_gap": "product fit", "integration_stack": "product fit", "competitive_loss": "product fit",
                "service_support": "service experience", "poor_onboarding": "service experience",
                "price_budget": "value perception", "company_change": "situational", "involuntary": "situational",
                "other": "situational"}
#: Ticket topics -> root-cause category (others count for nothing).
TOPIC_CAUSE = {"bug": "product fit", "performance": "product fit", "integration": "product fit",
               "feature_request": "product fit", "how_to": "service experience", "account": "service experience",
               "billing": "value perception"}
_BOOT = 400


# --------------------------------------------------------------------------- churn base


def active_base(accounts: pd.DataFrame, start, end) -> pd.DataFrame:
    """Accounts active at ``start`` with ``churned`` (churn_date in ``[start, end]``).

    Examples
    --------
    >>> acc = pd.DataFrame({"account_id": ["a", "b", "c"], "signup_date": pd.to_datetime(["2024-01-01"] * 2 + ["2024-05-01"]),
    ...                     "churn_date": pd.to_datetime(["2024-04-10", None, None])})
    >>> active_base(acc, "2024-04-01", "2024-06-30")[["account_id", "churned"]].values.tolist()
    [['a', True], ['b', False]]
    """
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    churn = accounts["churn_date"] if "churn_date" in accounts else pd.Series(pd.NaT, index=accounts.index)
    on = (accounts["signup_date"] < start) & (churn.isna() | (churn >= start))
    out = accounts.loc[on].copy()
    c = churn[on]
    out["churned"] = (c.notna() & (c <= end)).to_numpy()
    return out.reset_index(drop=True)


def latest_before(frame: pd.DataFrame, date_col: str, day, *, inclusive: bool = True) -> pd.DataFrame:
    """Each account's latest row of ``frame`` dated on (``inclusive``) or before ``day``."""
    day = pd.Timestamp(day)
    f = frame[frame[date_col] <= day] if inclusive else frame[frame[date_col] < day]
    return f.sort_values([date_col]).groupby("account_id", sort=False).tail(1)


def mrr_at(accounts: pd.DataFrame, subscriptions: pd.DataFrame | None, day) -> pd.Series:
    """MRR of each account (index ``account_id``) in its latest subscription month before ``day``;
    the accounts' ``mrr`` column (their current MRR, the only figure without a history) where there is none."""
    base = accounts.set_index("account_id")["mrr"] if "mrr" in accounts else pd.Series(dtype=float)
    if subscriptions is None or not len(subscriptions):
        return base.astype(float)
    last = latest_before(subscriptions, "month", pd.Timestamp(day), inclusive=False).set_index("account_id")["mrr"]
    return last.combine_first(base).astype(float)


# --------------------------------------------------------------------------- ranking metrics


def auc(y, risk, *, boot: int = _BOOT, seed: int = 0) -> dict:
    """ROC AUC and PR AUC (average precision) of ``risk`` for outcome ``y``, with 95% stratified
    percentile-bootstrap intervals.

    Returns ``{"auc", "auc_lo", "auc_hi", "pr_auc", "pr_auc_lo", "pr_auc_hi", "n", "positives", "base_rate"}``
    (``NaN`` figures when ``y`` has a single class).

    Examples
    --------
    >>> r = auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    >>> r["auc"], r["pr_auc"] > 0.8
    (0.75, True)
    """
    from sklearn.metrics import average_precision_score, roc_auc_score

    y = np.asarray(y, dtype=bool)
    risk = np.asarray(risk, dtype=float)
    out = {"n": int(y.size), "positives": int(y.sum()), "base_rate": float(y.mean()) if y.size else np.nan}
    keys = ("auc", "auc_lo", "auc_hi", "pr_auc", "pr_auc_lo", "pr_auc_hi")
    if y.sum() == 0 or y.sum() == y.size:
        return {**out, **{k: np.nan for k in keys}}
    out["auc"] = float(roc_auc_score(y, risk))
    out["pr_auc"] = float(average_precision_score(y, risk))
    a, p = _boot_auc(risk[y], risk[~y], boot, seed)
    out["auc_lo"], out["auc_hi"] = (float(v) for v in np.percentile(a, [2.5, 97.5]))
    out["pr_auc_lo"], out["pr_auc_hi"] = (float(v) for v in np.percentile(p, [2.5, 97.5]))
    return out


def _boot_auc(pos: np.ndarray, neg: np.ndarray, boot: int, seed: int):
    """ROC AUC and average precision of ``boot`` stratified resamples.

    A resample is a count of each distinct score among its positives and its negatives (one
    ``bincount`` each), so every resample costs O(n) instead of a sort of n values: the AUC is the
    Mann-Whitney count with mid-ranks for ties, in integers (the same figures, bit for bit, as
    ranking each resample), the average precision is summed over the distinct scores in descending
    order (tied scores are one threshold, as in scikit-learn). The draws are those of ``seed``.
    """
    rng = np.random.default_rng(seed)
    n1, n0 = pos.size, neg.size
    pos_draws = rng.integers(0, n1, (boot, n1))
    values, inv = np.unique(np.concatenate([pos, neg]), return_inverse=True)
    pu, nu, m = inv[:n1], inv[n1:], values.size
    auc_b, ap_b = np.empty(boot), np.empty(boot)
    for b in range(boot):
        pc = np.bincount(pu[pos_draws[b]], minlength=m)            # positives at each score (ascending)
        nc = np.bincount(nu[rng.integers(0, n0, n0)], minlength=m)  # negatives at each score
        below = np.cumsum(nc) - nc
        auc_b[b] = (int((pc * (2 * below + nc)).sum()) / 2) / (n1 * n0)
        pd_, tp, fp = pc[::-1], np.cumsum(pc[::-1]), np.cumsum(nc[::-1])
        hit = pd_ > 0
        ap_b[b] = (pd_[hit] * (tp[hit] / (tp[hit] + fp[hit]))).sum() / n1
    return auc_b, ap_b


def deciles(y, risk, *, n: int = 10) -> pd.DataFrame:
    """Decile table: ``decile`` (1 = riskiest tenth), ``accounts, churned, churn_rate, lift`` (rate over the
    overall rate), ``capture`` (cumulative share of churners in deciles 1..k). Ties are split by order.

    Examples
    --------
    >>> d = deciles([1, 0, 0, 0, 1, 0, 0, 0, 0, 0], [9, 8, 7, 6, 5, 4, 3, 2, 1, 0], n=2)
    >>> d["churned"].tolist(), d["lift"].tolist()
    ([2, 0], [2.0, 0.0])
    """
    y = np.asarray(y, dtype=float)
    risk = np.asarray(risk, dtype=float)
    order = pd.Series(-risk).rank(method="first").to_numpy() - 1
    dec = (order * n // max(len(y), 1)).astype(int) + 1
    t = pd.DataFrame({"decile": dec, "y": y}).groupby("decile")["y"].agg(["size", "sum"]).reset_index()
    t.columns = ["decile", "accounts", "churned"]
    t["churned"] = t["churned"].astype(int)
    t["churn_rate"] = t["churned"] / t["accounts"]
    base = y.mean() if y.size else np.nan
    t["lift"] = t["churn_rate"] / base if base else np.nan
    t["capture"] = t["churned"].cumsum() / max(y.sum(), 1)
    return t


def top_decile_lift(y, risk) -> float:
    """Churn rate of the riskiest tenth over the overall rate."""
    return float(deciles(y, risk)["lift"].iloc[0])


def band_table(base: pd.DataFrame, *, band_col: str = "band", ref: str = "green") -> pd.DataFrame:
    """Churn by band: ``band, accounts, churned, churn_rate, churn_rate_lo, churn_rate_hi`` (Wilson) and
    ``vs_ref`` (rate over the ``ref`` band's rate), bands ordered red, yellow, green, then others."""
    t = base.groupby(band_col)["churned"].agg(["size", "sum"]).reset_index()
    t.columns = ["band", "accounts", "churned"]
    t["churned"] = t["churned"].astype(int)
    t["churn_rate"] = t["churned"] / t["accounts"]
    t["churn_rate_lo"], t["churn_rate_hi"] = wilson_interval(t["churned"], t["accounts"])
    ref_rate = t.loc[t["band"] == ref, "churn_rate"]
    t["vs_ref"] = t["churn_rate"] / ref_rate.iloc[0] if len(ref_rate) and ref_rate.iloc[0] > 0 else np.nan
    order = {"red": 0, "yellow": 1, "green": 2}
    return t.sort_values("band", key=lambda s: s.map(order).fillna(9)).reset_index(drop=True)


def score_bands(score: pd.Series, cuts=(40.0, 65.0)) -> pd.Series:
    """Bands of a 0-100 score where the data has none: red below ``cuts[0]``, green from ``cuts[1]``."""
    return pd.Series(np.where(score < cuts[0], "red", np.where(score < cuts[1], "yellow", "green")),
                     index=score.index)


def calibration(y, prob, *, bins: int = 10) -> pd.DataFrame:
    """Predicted against observed churn by quantile bin of a probability (scikit-learn
    ``calibration_curve``): ``risk_group`` (1 = the lowest predicted risk), ``predicted, observed``."""
    from sklearn.calibration import calibration_curve

    obs, pred = calibration_curve(np.asarray(y, dtype=int), np.asarray(prob, dtype=float), n_bins=bins,
                                  strategy="quantile")
    return pd.DataFrame({"risk_group": np.arange(1, len(pred) + 1), "predicted": pred, "observed": obs})


def churn_probability(base: pd.DataFrame) -> np.ndarray:
    """The churn probability a health score stands for: ``1 - score`` when the score is a probability
    (within 0-1) of staying, else one statsmodels logit of ``churned`` on ``score`` over the whole base
    (the score's own scale, mapped once for every account)."""
    import statsmodels.api as sm

    score = base["score"].to_numpy(float)
    if base["score"].between(0, 1).all():
        return np.clip(1 - score, 1e-6, 1 - 1e-6)
    X = sm.add_constant(score, has_constant="add")
    fit = sm.Logit(base["churned"].to_numpy(float), X).fit(disp=0)
    return np.clip(np.asarray(fit.predict(X)), 1e-6, 1 - 1e-6)


def calibration_by_segment(base: pd.DataFrame, segment_col: str) -> pd.DataFrame:
    """Whether one reading of the score fits every segment: the churn the score predicts
    (:func:`churn_probability`) against the churn observed, per segment.

    Columns ``segment, accounts, churned, predicted`` (mean predicted churn), ``observed`` with its
    Wilson interval, and ``odds_vs_predicted`` with its 95% interval and ``p``: the calibration
    intercept (calibration-in-the-large) of the segment, a statsmodels binomial GLM of churn with the
    logit of the predicted churn as offset, as an odds ratio. Above 1, the segment churns more than its
    scores say (the score is too kind to it); below 1, less. ``NaN`` where the segment has no churn or
    only churn."""
    import statsmodels.api as sm

    y = base["churned"].to_numpy(float)
    pred = churn_probability(base)
    offset = np.log(pred / (1 - pred))
    rows = []
    for seg, idx in base.groupby(segment_col, observed=True).indices.items():
        yy = y[idx]
        k, n = int(yy.sum()), len(idx)
        row = {"segment": seg, "accounts": n, "churned": k, "predicted": float(pred[idx].mean()),
               "observed": k / n, "odds_vs_predicted": np.nan, "odds_vs_predicted_lo": np.nan,
               "odds_vs_predicted_hi": np.nan, "p": np.nan}
        lo, hi = wilson_interval(np.array([k]), np.array([n]))
        row["observed_lo"], row["observed_hi"] = float(np.asarray(lo)[0]), float(np.asarray(hi)[0])
        if 0 < k < n:
            r = sm.GLM(yy, np.ones((n, 1)), family=sm.families.Binomial(), offset=offset[idx]).fit()
            ci = np.asarray(r.conf_int())[0]
            row.update(odds_vs_predicted=float(np.exp(r.params[0])), odds_vs_predicted_lo=float(np.exp(ci[0])),
                       odds_vs_predicted_hi=float(np.exp(ci[1])), p=float(r.pvalues[0]))
        rows.append(row)
    cols = ["segment", "accounts", "churned", "predicted", "observed", "observed_lo", "observed_hi",
            "odds_vs_predicted", "odds_vs_predicted_lo", "odds_vs_predicted_hi", "p"]
    return pd.DataFrame(rows, columns=cols)


# --------------------------------------------------------------------------- health score


def health_base(accounts: pd.DataFrame, health: pd.DataFrame, period: Period) -> pd.DataFrame:
    """Accounts active at ``period.start`` with a score on or before it: ``account_id, score, band,
    churned`` and the account columns. A lower score means riskier."""
    base = active_base(accounts, period.start, period.end)
    last = latest_before(health, "scored_at", period.start)
    cols = ["account_id", "score"] + (["band"] if "band" in last else [])
    base = base.merge(last[cols], on="account_id", how="inner")
    if "band" not in base or base["band"].isna().all():
        base["band"] = score_bands(base["score"]) if base["score"].max() > 1 else \
            score_bands(base["score"] * 100)
    else:
        base["band"] = base["band"].fillna("unbanded")
    return base


def health_validation(base: pd.DataFrame, *, segment_col: str | None = None, boot: int = _BOOT) -> dict:
    """Validation figures of a :func:`health_base`: ``overall`` (:func:`auc`), ``deciles``, ``bands``,
    ``calibration`` (when scores are probabilities of staying, i.e. within 0-1; else ``None``) and, by
    segment (``None`` without ``segment_col``): ``segments`` (per segment: churn rate, mean score, ROC
    AUC and PR AUC with intervals, the lift of its lowest-scored tenth), ``segment_bands`` (churn by
    band within each segment, Wilson intervals) and ``segment_calibration``
    (:func:`calibration_by_segment`)."""
    risk = -base["score"].to_numpy(float)
    out = {"overall": auc(base["churned"], risk, boot=boot), "deciles": deciles(base["churned"], risk),
           "bands": band_table(base), "segments": None, "segment_bands": None, "segment_calibration": None,
           "calibration": None}
    if base["score"].between(0, 1).all():
        out["calibration"] = calibration(base["churned"], 1 - base["score"])
    if segment_col and segment_col in base:
        rows, bands = [], []
        for seg, g in base.groupby(segment_col, observed=True):
            r = auc(g["churned"], -g["score"].to_numpy(float), boot=boot)
            rows.append({"segment": seg, "accounts": r["n"], "churned": r["positives"], "churn_rate": r["base_rate"],
                         "mean_score": g["score"].mean(), "auc": r["auc"], "auc_lo": r["auc_lo"], "auc_hi": r["auc_hi"],
                         "pr_auc": r["pr_auc"], "pr_auc_lo": r["pr_auc_lo"], "pr_auc_hi": r["pr_auc_hi"],
                         "top_decile_lift": top_decile_lift(g["churned"], -g["score"].to_numpy(float))
                         if 0 < r["positives"] else np.nan})
            bands.append(band_table(g).drop(columns=["vs_ref"]).assign(segment=seg))
        out["segments"] = pd.DataFrame(rows)
        sb = pd.concat(bands, ignore_index=True)
        out["segment_bands"] = sb[["segment"] + [c for c in sb.columns if c != "segment"]]
        out["segment_calibration"] = calibration_by_segment(base, segment_col)
    return out


def auc_trend(accounts: pd.DataFrame, health: pd.DataFrame, quarters, *, boot: int = 200) -> pd.DataFrame:
    """Health-score AUC per quarter (``period, accounts, churned, auc, auc_lo, auc_hi``)."""
    rows = []
    for q in quarters:
        base = health_base(accounts, health, q)
        r = auc(base["churned"], -base["score"].to_numpy(float), boot=boot)
        rows.append({"period": q.label, "accounts": r["n"], "churned": r["positives"], "auc": r["auc"],
                     "auc_lo": r["auc_lo"], "auc_hi": r["auc_hi"]})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- signals


def available_signals(dataset) -> list[str]:
    """The signals the dataset's tables allow."""
    out = []
    for name, (_, table, _) in SIGNALS.items():
        if not dataset.has(table):
            continue
        if name == "champion_left" and ("role" not in dataset.users or "deactivated_at" not in dataset.users):
            continue
        if name == "low_seat_use" and "seats" not in dataset.accounts and not dataset.has("subscriptions"):
            continue
        if name in ("long_resolution",) and "resolved_at" not in dataset.support_tickets:
            continue
        if name in ("escalation",) and "escalated" not in dataset.support_tickets:
            continue
        if name in ("repeated_topic", "feature_requests") and "topic" not in dataset.support_tickets:
            continue
        if name == "skipped_meetings" and "outcome" not in dataset.touchpoints:
            continue
        out.append(name)
    return out


def event_signals(events, day, *, qualified_events=None) -> pd.DataFrame:
    """Engagement over the 120 days before ``day``, aggregated in the engine: ``account_id, recent``
    (qualified events in the last 30 days), ``prior`` (the 90 days before those) and ``users``
    (distinct users with a qualified event in the last 30 days)."""
    import ibis

    day = pd.Timestamp(day)
    lo, mid = (day - pd.Timedelta(days=120)).to_pydatetime(), (day - pd.Timedelta(days=30)).to_pydatetime()
    t = events.filter((events.ts >= ibis.literal(lo)) & (events.ts < ibis.literal(day.to_pydatetime())))
    if qualified_events:
        t = t.filter(t.event.isin(list(qualified_events)))
    recent = t.ts >= ibis.literal(mid)
    expr = t.group_by("account_id").aggregate(recent=recent.ifelse(1, 0).sum(), prior=(~recent).ifelse(1, 0).sum(),
                                              users=t.user_id.nunique(where=recent))
    return engine.fetch(expr.order_by("account_id"))  # in account order, whichever engine grouped them


def event_signals_at(events, days, *, qualified_events=None) -> dict:
    """:func:`event_signals` as of each of ``days`` in one pass over the events (one conditional
    aggregate per day), ``{day: frame}``; the same frames as one query per day."""
    import ibis

    days = [pd.Timestamp(d) for d in days]
    if not days:
        return {}
    t = events.filter((events.ts >= ibis.literal((min(days) - pd.Timedelta(days=120)).to_pydatetime()))
                      & (events.ts < ibis.literal(max(days).to_pydatetime())))
    if qualified_events:
        t = t.filter(t.event.isin(list(qualified_events)))
    aggs = {}
    for k, day in enumerate(days):
        lo, mid = ((day - pd.Timedelta(days=n)).to_pydatetime() for n in (120, 30))
        recent = (t.ts >= ibis.literal(mid)) & (t.ts < ibis.literal(day.to_pydatetime()))
        prior = (t.ts >= ibis.literal(lo)) & (t.ts < ibis.literal(mid))
        aggs.update({f"recent_{k}": recent.ifelse(1, 0).sum(), f"prior_{k}": prior.ifelse(1, 0).sum(),
                     f"users_{k}": t.user_id.nunique(where=recent)})
    wide = engine.fetch(t.group_by("account_id").aggregate(**aggs).order_by("account_id"))
    out = {}
    for k, day in enumerate(days):
        f = wide[["account_id", f"recent_{k}", f"prior_{k}", f"users_{k}"]].set_axis(
            ["account_id", "recent", "prior", "users"], axis=1)
        out[day] = f[(f["recent"] + f["prior"]) > 0].reset_index(drop=True)
    return out


def signals_at(dataset, day, *, qualified_events=None, accounts: pd.DataFrame | None = None,
               names=None, engagement: pd.DataFrame | None = None) -> pd.DataFrame:
    """Signals of every account active at ``day``, from data dated before ``day``.

    Returns one row per account: ``account_id`` and one boolean column per signal of ``names``
    (default :func:`available_signals`), plus ``n_signals``. ``engagement`` is :func:`event_signals`
    at ``day`` when it is already computed (see :func:`event_signals_at`).
    """
    day = pd.Timestamp(day)
    acc = dataset.accounts if accounts is None else accounts
    churn = acc["churn_date"] if "churn_date" in acc else pd.Series(pd.NaT, index=acc.index)
    act = acc.loc[(acc["signup_date"] < day) & (churn.isna() | (churn >= day))]
    out = pd.DataFrame({"account_id": act["account_id"].to_numpy()})
    names = list(available_signals(dataset) if names is None else names)
    ago = lambda d: day - pd.Timedelta(days=d)  # noqa: E731

    def put(name, ids):
        out[name] = out["account_id"].isin(set(ids))

    if {"engagement_drop", "low_seat_use"} & set(names):
        ev = (event_signals(dataset.events, day, qualified_events=qualified_events)
              if engagement is None else engagement)
        if "engagement_drop" in names:
            e = ev[(ev["prior"] > 0) & (ev["recent"] < 0.5 * ev["prior"] / 3)]
            put("engagement_drop", e["account_id"])
        if "low_seat_use" in names:
            # seats as of day from the subscriptions; the accounts' current seats only without that history
            if dataset.has("subscriptions") and "seats" in dataset.subscriptions:
                seats = latest_before(dataset.subscriptions, "month", day, inclusive=False).set_index("account_id")["seats"]
            else:
                seats = act.set_index("account_id")["seats"] if "seats" in act else pd.Series(dtype=float)
            users = ev.set_index("account_id")["users"].reindex(seats.index).fillna(0)
            put("low_seat_use", seats.index[(seats > 0) & (users < 0.4 * seats)])
    if dataset.has("support_tickets"):
        t = dataset.support_tickets
        t = t[(t["opened_at"] < day) & (t["opened_at"] >= ago(180))]
        last30, last90 = t[t["opened_at"] >= ago(30)], t[t["opened_at"] >= ago(90)]
        if "ticket_spike" in names:
            n30 = last30.groupby("account_id").size()
            before = t[t["opened_at"] < ago(30)].groupby("account_id").size().reindex(n30.index).fillna(0) / 5
            put("ticket_spike", n30.index[(n30 >= 2) & (n30 > 2 * before)])
        if "escalation" in names:
            put("escalation", last90.loc[last90["escalated"].fillna(False).astype(bool), "account_id"])
        if "long_resolution" in names:
            res = last90["resolved_at"].where(last90["resolved_at"] < day)   # not yet resolved at day: open
            days = (res.fillna(day) - last90["opened_at"]).dt.total_seconds() / 86400
            med = days.groupby(last90["account_id"]).median()
            put("long_resolution", med.index[med > 7])
        if "repeated_topic" in names:
            k = last90.dropna(subset=["topic"]).groupby(["account_id", "topic"]).size()
            put("repeated_topic", k[k >= 3].index.get_level_values(0))
        if "feature_requests" in names:
            put("feature_requests", last90.loc[last90["topic"] == "feature_request", "account_id"])
    if dataset.has("nps_responses"):
        r = dataset.nps_responses
        r = r[(r["responded_at"] < day) & (r["responded_at"] >= ago(365))].sort_values("responded_at")
        if "nps_fall" in names:
            g = r.groupby("account_id")
            last, n = g["score"].last(), g["score"].count()
            earlier = (g["score"].sum() - last) / (n - 1).where(n > 1)
            fell = (n > 1) & (earlier - last >= 2) & (g["responded_at"].last() >= ago(180))
            put("nps_fall", fell.index[fell])
        if "gone_quiet" in names:
            before = r[r["responded_at"] < ago(180)].groupby("account_id").size()
            recent = set(r.loc[r["responded_at"] >= ago(180), "account_id"])
            put("gone_quiet", [a for a in before.index[before >= 2] if a not in recent])
    if "champion_left" in names and dataset.has("users"):
        u = dataset.users
        left = u[u["role"].astype(str).str.lower().isin(["admin", "champion"]) & (u["deactivated_at"] < day)
                 & (u["deactivated_at"] >= ago(90))]
        put("champion_left", left["account_id"])
    if dataset.has("touchpoints"):
        tp = dataset.touchpoints
        tp = tp[tp["at"] < day]
        if "skipped_meetings" in names:
            s = tp[(tp["at"] >= ago(90)) & tp["outcome"].isin(["cancelled", "no-show"])]
            put("skipped_meetings", s["account_id"])
        if "silent" in names:
            signup = act.set_index("account_id")["signup_date"]
            tp = tp.assign(signup=tp["account_id"].map(signup))
            later = set(tp.loc[tp["at"] >= tp["signup"] + pd.Timedelta(days=45), "account_id"])
            old = signup.index[signup <= ago(120)]
            put("silent", [a for a in old if a not in later])
    for n in names:
        if n not in out:
            out[n] = False
    out["n_signals"] = out[names].sum(axis=1).astype(int)
    return out


def lift(fired, y) -> dict:
    """Churn rate with the signal over the rate without: ``lift, lift_lo, lift_hi`` (Katz log interval of
    statsmodels ``Table2x2``, 0.5 added to every cell when one is empty), ``p`` (Fisher's exact, two-sided), ``fired, churned_fired,
    rate_fired, rate_other``.

    Examples
    --------
    >>> r = lift([1, 1, 1, 1, 0, 0, 0, 0], [1, 1, 0, 0, 1, 0, 0, 0])
    >>> r["lift"], r["rate_fired"], r["rate_other"]
    (2.0, 0.5, 0.25)
    """
    from scipy.stats import fisher_exact
    from statsmodels.stats.contingency_tables import Table2x2

    f = np.asarray(fired, dtype=bool)
    y = np.asarray(y, dtype=bool)
    a, b = int((f & y).sum()), int((f & ~y).sum())
    c, d = int((~f & y).sum()), int((~f & ~y).sum())
    r1 = a / (a + b) if a + b else np.nan
    r0 = c / (c + d) if c + d else np.nan
    out = {"fired": a + b, "churned_fired": a, "rate_fired": r1, "rate_other": r0}
    if not (a + b) or not (c + d):
        return {**out, "lift": np.nan, "lift_lo": np.nan, "lift_hi": np.nan, "p": np.nan}
    lo, hi = Table2x2(np.array([[a, b], [c, d]], dtype=float), shift_zeros=True).riskratio_confint()
    return {**out, "lift": r1 / r0 if r0 else np.nan, "lift_lo": float(lo), "lift_hi": float(hi),
            "p": float(fisher_exact([[a, b], [c, d]])[1])}


def signal_table(panel: pd.DataFrame, names) -> pd.DataFrame:
    """Each signal's lift on churn (``churned``) in a panel of :func:`signals_at` rows, with its lead
    time: the longest of 90, 60 and 30 days before churn at which accounts with the signal still
    churned significantly more (lower bound of the lift above 1) in the window ``(lead - 30, lead]``
    days after the signal (``churn_day`` = days from the signal date to churn). Ranked by lift."""
    rows = []
    for n in names:
        r = lift(panel[n], panel["churned"])
        lead = np.nan
        if "churn_day" in panel:
            for days in (90, 60, 30):
                window = panel["churn_day"].between(days - 30, days - 1)
                keep = window | ~panel["churned"]
                w = lift(panel.loc[keep, n], window[keep])
                if w["lift_lo"] > 1:
                    lead = days
                    break
        rows.append({"signal": n, "meaning": SIGNALS[n][0], **r, "lead_days": lead})
    t = pd.DataFrame(rows)
    return t.sort_values("lift", ascending=False, na_position="last").reset_index(drop=True)


def signal_count_table(panel: pd.DataFrame, *, cap: int = 4) -> pd.DataFrame:
    """Churn rate by number of signals firing (``cap`` and more pooled), with Wilson intervals."""
    k = panel["n_signals"].clip(upper=cap)
    t = panel.groupby(k)["churned"].agg(["size", "sum"]).reset_index()
    t.columns = ["signals", "accounts", "churned"]
    t["churned"] = t["churned"].astype(int)
    t["churn_rate"] = t["churned"] / t["accounts"]
    t["churn_rate_lo"], t["churn_rate_hi"] = wilson_interval(t["churned"], t["accounts"])
    t["signals"] = t["signals"].map(lambda v: f"{v}+" if v == cap else str(v))
    return t


def signal_panel(dataset, quarters, *, qualified_events=None, names=None) -> pd.DataFrame:
    """Signals as of each quarter's start with churn in that quarter: stacked rows with ``period``,
    ``churned`` and ``churn_day`` (days from the quarter start to churn)."""
    parts = []
    names = list(available_signals(dataset) if names is None else names)
    engagement = (event_signals_at(dataset.events, [q.start for q in quarters], qualified_events=qualified_events)
                  if {"engagement_drop", "low_seat_use"} & set(names) else {})
    for q in quarters:
        s = signals_at(dataset, q.start, qualified_events=qualified_events, names=names,
                       engagement=engagement.get(pd.Timestamp(q.start)))
        base = active_base(dataset.accounts, q.start, q.end)[["account_id", "churned"] +
                                                                 (["churn_date"] if "churn_date" in dataset.accounts else [])]
        s = s.merge(base, on="account_id", how="left")
        s["churned"] = s["churned"].fillna(False).astype(bool)
        s["churn_day"] = ((s["churn_date"] - q.start).dt.days.where(s["churned"])
                          if "churn_date" in s else np.nan)
        s["period"] = q.label
        parts.append(s.drop(columns=["churn_date"], errors="ignore"))
    return pd.concat(parts, ignore_index=True)


# --------------------------------------------------------------------------- risk model


@dataclass
class RiskModel:
    """A fitted logit of churn on signals: ``names`` used, the statsmodels ``result``, ``base_rate``."""

    names: list
    result: object
    base_rate: float
    periods: list = field(default_factory=list)

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        import statsmodels.api as sm

        X = sm.add_constant(frame[self.names].astype(float), has_constant="add")
        return np.asarray(self.result.predict(X))

    def coefficients(self) -> pd.DataFrame:
        """Odds ratio of each signal with its 95% interval and p."""
        r = self.result
        ci = np.asarray(r.conf_int())
        t = pd.DataFrame({"signal": list(r.params.index), "coef": np.asarray(r.params), "lo": ci[:, 0],
                          "hi": ci[:, 1], "p": np.asarray(r.pvalues)})
        t = t[t["signal"] != "const"].copy()
        for c in ("coef", "lo", "hi"):
            t[c.replace("coef", "odds_ratio").replace("lo", "odds_ratio_lo").replace("hi", "odds_ratio_hi")] = np.exp(t[c])
        return t[["signal", "odds_ratio", "odds_ratio_lo", "odds_ratio_hi", "p"]].sort_values("odds_ratio", ascending=False)


def fit_risk_model(panel: pd.DataFrame, names) -> RiskModel | None:
    """Fit a logit of ``churned`` on the signals ``names`` that vary in ``panel``; ``None`` when the
    panel has no churn or no usable signal."""
    import statsmodels.api as sm

    names = [n for n in names if panel[n].nunique() > 1 and panel.loc[panel[n], "churned"].any()]
    y = panel["churned"].astype(float)
    if not names or y.sum() == 0 or y.sum() == len(y):
        return None
    X = sm.add_constant(panel[names].astype(float), has_constant="add")
    try:
        res = sm.Logit(y, X).fit(disp=0, maxiter=200)
    except Exception:  # separation: a lightly penalised fit keeps the estimates finite
        res = sm.Logit(y, X).fit_regularized(disp=0, alpha=0.01)
    return RiskModel(names=names, result=res, base_rate=float(y.mean()),
                     periods=sorted(panel["period"].unique()) if "period" in panel else [])


# --------------------------------------------------------------------------- save list


def thresholds(config_risk: dict, mrr: pd.Series, base_rate: float) -> dict:
    """The save list's thresholds: the data config's ``risk:`` values, else derived (high value: the top
    20% of MRR; low value: the bottom 40%; medium risk: 1.5x the base churn rate; high risk: 3x), with
    ``source`` saying which."""
    cfg = dict(config_risk or {})
    m = mrr.dropna()
    derived = {"high_value_mrr": float(m.quantile(0.8)) if len(m) else np.inf,
               "low_value_mrr": float(m.quantile(0.4)) if len(m) else 0.0,
               "medium_risk": float(min(1.5 * base_rate, 0.99)), "high_risk": float(min(3 * base_rate, 0.99)),
               "signals_to_act": 2}
    out = {k: cfg.get(k, v) for k, v in derived.items()}
    out["source"] = {k: "data config" if k in cfg else "derived" for k in derived}
    return out


def tiers(value_level: pd.Series, risk_level: pd.Series) -> pd.Series:
    """Tier by the value x risk matrix: 4 = low value and high risk; 3 = low value or high risk;
    1 = high value (risk low or medium); 2 = the rest (medium value, risk low or medium).

    Examples
    --------
    >>> tiers(pd.Series(["high", "medium", "low", "low", "high"]), pd.Series(["medium", "medium", "low", "high", "high"])).tolist()
    [1, 2, 3, 4, 3]
    """
    v, r = value_level.astype(str), risk_level.astype(str)
    return pd.Series(np.select([(v == "low") & (r == "high"), (v == "low") | (r == "high"), v == "high"],
                               [4, 3, 1], 2), index=value_level.index).astype(int)


def root_causes(signals: pd.DataFrame, names, *, topics: pd.Series | None = None,
                peer_cause: pd.Series | None = None) -> pd.Series:
    """A likely root cause per account (row of ``signals``): each firing signal counts one point for
    its category (:data:`SIGNALS`), the account's most frequent ticket topic of the last 90 days
    (``topics``, by account) one point (:data:`TOPIC_CAUSE`), and the most common category among the
    reasons of churned accounts of its segment (``peer_cause``, by account; :data:`REASON_CAUSE`)
    half a point. The category with most points wins; ties go to the similar churned accounts' category,
    then to the order of :data:`CAUSES`. With no point at all: ``""``.

    Examples
    --------
    >>> s = pd.DataFrame({"account_id": ["a", "b"], "escalation": [True, False], "silent": [False, False]})
    >>> root_causes(s, ["escalation", "silent"]).tolist()
    ['service experience', '']
    """
    idx = signals["account_id"]
    pts = pd.DataFrame(0.0, index=range(len(signals)), columns=list(CAUSES))
    for n in names:
        pts[SIGNALS[n][2]] += signals[n].to_numpy(dtype=float)
    if topics is not None:
        cat = idx.map(topics).map(TOPIC_CAUSE)
        for c in CAUSES:
            pts[c] += (cat == c).to_numpy(dtype=float)
    peer = idx.map(peer_cause) if peer_cause is not None else pd.Series(None, index=idx.index)
    for c in CAUSES:
        pts[c] += 0.5 * (peer == c).to_numpy(dtype=float)
        pts[c] += 0.01 * ((peer == c).to_numpy(dtype=float) * (pts.max(axis=1) > 0.5))  # tie-break
    best = pts.idxmax(axis=1)
    return pd.Series(np.where(pts.max(axis=1) > 0.5, best, ""), index=signals.index)


def peer_causes(accounts: pd.DataFrame, interviews: pd.DataFrame | None, day, *, segment_col=None,
                lookback_days: int = 365) -> pd.Series:
    """Most common root-cause category among the exit reasons of accounts that churned in the year
    before ``day``, per account of the same segment (index ``account_id``)."""
    if interviews is None or "primary_reason" not in interviews or "churn_date" not in accounts:
        return pd.Series(dtype=object)
    day = pd.Timestamp(day)
    left = accounts[(accounts["churn_date"] < day) & (accounts["churn_date"] >= day - pd.Timedelta(days=lookback_days))]
    r = interviews.merge(left, on="account_id")
    r = r.assign(cause=r["primary_reason"].map(REASON_CAUSE)).dropna(subset=["cause"])
    if not len(r):
        return pd.Series(dtype=object)
    if segment_col and segment_col in accounts:
        top = r.groupby(segment_col)["cause"].agg(lambda s: s.value_counts().index[0])
        return accounts.set_index("account_id")[segment_col].map(top)
    return pd.Series(r["cause"].value_counts().index[0], index=accounts["account_id"])


def top_topics(tickets: pd.DataFrame | None, day, days: int = 90) -> pd.Series | None:
    """Each account's most frequent ticket topic in the ``days`` before ``day``."""
    if tickets is None or "topic" not in tickets:
        return None
    day = pd.Timestamp(day)
    t = tickets[(tickets["opened_at"] < day) & (tickets["opened_at"] >= day - pd.Timedelta(days=days))]
    t = t.dropna(subset=["topic"])
    if not len(t):
        return None
    return t.groupby("account_id")["topic"].agg(lambda s: s.value_counts().index[0])


def save_list(signals: pd.DataFrame, names, risk: np.ndarray, mrr: pd.Series, limits: dict, *,
              causes: pd.Series | None = None, segment: pd.Series | None = None) -> pd.DataFrame:
    """Every active account (a row of ``signals``) with ``risk, mrr, signals`` (the firing ones), value
    and risk levels, ``flagged`` (risk at least medium, or ``signals_to_act`` signals firing), ``tier``,
    ``response``, ``timeline`` and ``root_cause``; flagged first, then by tier and expected MRR lost."""
    s = signals.reset_index(drop=True)
    out = pd.DataFrame({"account_id": s["account_id"]})
    if segment is not None:
        out["segment"] = s["account_id"].map(segment).to_numpy()
    out["risk"] = np.round(np.asarray(risk, dtype=float), 4)
    out["mrr"] = s["account_id"].map(mrr).to_numpy(dtype=float)
    firing = s[list(names)].to_numpy(dtype=bool)
    out["n_signals"] = firing.sum(axis=1)
    out["signals"] = [", ".join(n for n, f in zip(names, row) if f) for row in firing]
    out["value"] = np.where(out["mrr"] >= limits["high_value_mrr"], "high",
                            np.where(out["mrr"] < limits["low_value_mrr"], "low", "medium"))
    out["risk_level"] = np.where(out["risk"] >= limits["high_risk"], "high",
                                 np.where(out["risk"] >= limits["medium_risk"], "medium", "low"))
    out["flagged"] = (out["risk_level"] != "low") | (out["n_signals"] >= limits["signals_to_act"])
    out["tier"] = tiers(out["value"], out["risk_level"])
    out["response"] = out["tier"].map(lambda t: TIERS[t][1])
    out["timeline"] = out["tier"].map(lambda t: TIERS[t][2])
    out["root_cause"] = causes.to_numpy() if causes is not None else ""
    out["expected_loss"] = out["risk"] * out["mrr"].fillna(0)
    out = out.sort_values(["flagged", "tier", "expected_loss"], ascending=[False, True, False])
    return out.reset_index(drop=True)


def tier_summary(saves: pd.DataFrame) -> pd.DataFrame:
    """Flagged accounts and their MRR per tier (every tier listed)."""
    f = saves[saves["flagged"]]
    t = f.groupby("tier").agg(accounts=("account_id", "size"), mrr=("mrr", "sum")).reindex(list(TIERS), fill_value=0)
    t = t.reset_index()
    t["response"] = t["tier"].map(lambda k: TIERS[k][1])
    t["timeline"] = t["tier"].map(lambda k: TIERS[k][2])
    return t


def look_back(saves: pd.DataFrame, churned: pd.Series) -> dict:
    """How the save list made at a quarter's start fared: flagged accounts, how many churned and the
    MRR they carried, the share of churners flagged, and the miss rate (share of churners not flagged).
    ``churned`` is indexed by ``account_id``."""
    c = saves["account_id"].map(churned).fillna(False).astype(bool)
    f = saves["flagged"].astype(bool)
    n_churn = int(c.sum())
    return {"flagged": int(f.sum()), "flagged_churned": int((f & c).sum()),
            "flagged_churned_mrr": float(saves.loc[f & c, "mrr"].sum()),
            "flagged_churn_rate": float((f & c).sum() / f.sum()) if f.sum() else np.nan,
            "unflagged_churned": int((~f & c).sum()), "churned": n_churn,
            "caught": float((f & c).sum() / n_churn) if n_churn else np.nan,
            "miss_rate": float((~f & c).sum() / n_churn) if n_churn else np.nan}


# --------------------------------------------------------------------------- sentences


def _p(p) -> str:
    return "< 0.001" if p < 0.001 else f"= {p:.3f}" if p < 0.01 else f"= {p:.2f}"


def _label(name: str, *, start: bool = False) -> str:
    """A signal's label inside a sentence: "repeated ticket topic", "NPS fall" (capitalised at ``start``)."""
    label = SIGNAL_LABELS.get(name, str(name).replace("_", " "))
    if start or (len(label) > 1 and label[1].isupper()):
        return label
    return label[:1].lower() + label[1:]


def signal_labels(names) -> str:
    """Signal names, or a comma-separated text of them, as a readable list: "Champion left; Low seat use".

    Examples
    --------
    >>> signal_labels("low_seat_use, nps_fall"), signal_labels([])
    ('Low seat use; NPS fall', '')
    """
    if isinstance(names, str):
        names = [n.strip() for n in names.split(",") if n.strip()]
    sep = "; " if i18n.report_language() == "en" else "、"
    return sep.join(i18n.word(SIGNAL_LABELS.get(n, str(n).replace("_", " "))) for n in names)


def readable(table: pd.DataFrame) -> pd.DataFrame:
    """A table of this module as readers see it: signal names as labels (``signal``, ``signals``), bands,
    value and risk levels and root causes capitalised. Numbers are left to :func:`churnlab.report.styled`."""
    t = table.copy()
    if "signal" in t:
        t["signal"] = t["signal"].map(lambda n: i18n.word(SIGNAL_LABELS.get(n, n)))
    if "signals" in t and t["signals"].dtype == object and not t["signals"].astype(str).str.fullmatch(r"\d+\+?").all():
        t["signals"] = t["signals"].map(lambda v: signal_labels(v) if isinstance(v, str) else v)
    for c in ("band", "value", "risk_level", "root_cause", "response", "meaning"):
        if c in t:
            t[c] = t[c].map(lambda v: v[:1].upper() + v[1:] if isinstance(v, str) else v)
    return t


def save_view(saves: pd.DataFrame, n: int | None = None) -> pd.DataFrame:
    """The save list as shown on a page: the first ``n`` flagged accounts with their segment, MRR, risk,
    the signals firing, the likely root cause and the tier. The tier's response and timeline are the
    same for every account of a tier: the page shows them once (:func:`tier_summary`); the CSV keeps
    every column on every row."""
    t = saves[saves["flagged"]] if "flagged" in saves else saves
    t = t.head(n) if n else t
    cols = [c for c in ("account_id", "segment", "mrr", "risk", "signals", "root_cause", "tier") if c in t]
    return readable(t[cols]).reset_index(drop=True)


def _pct(v, d=0):
    return "–" if v is None or not np.isfinite(v) else f"{100 * v:.{d}f}%"


def health_sentences(val: dict, quarter: str) -> list[str]:
    """Plain sentences on a :func:`health_validation`, the weightiest first: the band ratio, the
    segment the score is miscalibrated for (when one is), the AUC, the weakest segment, and the churn
    of the miscalibrated segment's green accounts against other greens."""
    o = val["overall"]
    band, cal_lines, rest = [], [], []
    b = val["bands"].set_index("band")
    if {"red", "green"} <= set(b.index) and b.loc["green", "churn_rate"] > 0:
        band.append(f"Accounts scored red at the start of {quarter} churned {b.loc['red', 'vs_ref']:.1f}x as often "
                    f"as green ({_pct(b.loc['red', 'churn_rate'], 1)} vs {_pct(b.loc['green', 'churn_rate'], 1)}).")
    if np.isfinite(o["auc"]):
        rest.append(f"The health score ranks a churner above a stayer {_pct(o['auc'])} of the time "
                    f"(AUC {o['auc']:.2f}, 95% CI {o['auc_lo']:.2f}-{o['auc_hi']:.2f}; 0.50 is a coin toss), "
                    f"over {o['n']:,} accounts of which {o['positives']:,} churned.")
    seg = val.get("segments")
    if seg is not None and len(seg.dropna(subset=["auc"])) > 1:
        s = seg.dropna(subset=["auc"]).sort_values("auc")
        w, best = s.iloc[0], s.iloc[-1]
        rest.append(f"It is weakest for {w['segment']} (AUC {w['auc']:.2f}, {w['auc_lo']:.2f}-{w['auc_hi']:.2f}) "
                    f"and strongest for {best['segment']} ({best['auc']:.2f}).")
    cal = val.get("segment_calibration")
    if cal is not None and len(cal.dropna(subset=["p"])) > 1:
        off = cal[(cal["p"] < 0.05) & (cal["odds_vs_predicted_lo"] > 1)].sort_values("odds_vs_predicted", ascending=False)
        if len(off):
            r = off.iloc[0]
            cal_lines.append(f"The score is miscalibrated for {r['segment']}: at the same score its accounts churned at "
                             f"{r['odds_vs_predicted']:.1f}x the odds the score implies (95% CI "
                             f"{r['odds_vs_predicted_lo']:.1f}-{r['odds_vs_predicted_hi']:.1f}, p {_p(r['p'])}); "
                             f"{_pct(r['observed'], 1)} churned where {_pct(r['predicted'], 1)} was predicted.")
            sb = val.get("segment_bands")
            if sb is not None:
                g = sb[sb["band"] == "green"].set_index("segment")
                if r["segment"] in g.index and len(g) > 1:
                    others = g.drop(index=r["segment"])
                    k, n = int(others["churned"].sum()), int(others["accounts"].sum())
                    if n:
                        rest.append(f"{r['segment']} accounts scored green churned "
                                    f"{_pct(g.loc[r['segment'], 'churn_rate'], 1)}, other greens {_pct(k / n, 1)}: "
                                    f"a green {r['segment']} account is not a safe one.")
    return band + cal_lines + rest


def signal_sentences(table: pd.DataFrame, counts: pd.DataFrame | None = None) -> list[str]:
    """Sentences on a :func:`signal_table` (strongest signals, those that predict nothing) and on
    churn by number of signals firing."""
    out = []
    sig = table[(table["lift_lo"] > 1) & (table["p"] < 0.05)]
    if len(sig):
        top = sig.head(3)
        out.append("Strongest warning signals: " + "; ".join(
            f"{_label(r.signal)} ({r.lift:.1f}x the churn rate, "
            + (f"visible {int(r.lead_days)} days ahead)" if np.isfinite(r.lead_days) else "lead time unclear)")
            for r in top.itertuples()) + ".")
    null = table[~((table["lift_lo"] > 1) | (table["lift_hi"] < 1)) | (table["p"] >= 0.05)]
    if len(null):
        out.append("No clear effect on churn (interval includes 1): "
                   + ", ".join(_label(n) for n in null["signal"]) + ".")
    if counts is not None and len(counts) > 1:
        one, many = counts[counts["signals"] == "1"], counts[~counts["signals"].isin(["0", "1"])]
        if len(one) and len(many):
            k = int(many["churned"].sum())
            n = int(many["accounts"].sum())
            r1 = one["churn_rate"].iloc[0]
            rule = ("one signal, note it; several, act." if k / n >= 1.5 * r1 else
                    "here several signals at once add little to one.")
            out.append(f"One signal: {_pct(r1, 1)} churned; two or more: {_pct(k / n, 1)} ({k:,} of {n:,}): {rule}")
    return out


def look_back_sentences(lb: dict, quarter: str, currency: str = "") -> list[str]:
    """Sentences on a :func:`look_back`."""
    if not lb["churned"]:
        return [f"No account of the base churned in {quarter}."]
    return [f"At the start of {quarter} the method would have flagged {lb['flagged']:,} accounts; "
            f"{lb['flagged_churned']:,} of them churned, carrying {currency}{lb['flagged_churned_mrr']:,.0f} MRR, "
            f"{_pct(lb['caught'])} of the quarter's {lb['churned']:,} churned accounts. "
            f"It missed {lb['unflagged_churned']:,} (a miss rate of {_pct(lb['miss_rate'])})."]
