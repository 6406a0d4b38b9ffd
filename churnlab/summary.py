"""The executive summary: the quarter's headline figures compared with the previous quarter and the
same quarter a year ago, in cards and plain sentences, with the actions they call for.

Everything here is computed from ``metrics.json`` (the figures the notebooks saved), so the index
page never says anything the reports do not show. Functions return plain data and plain text; the
page itself is written by :mod:`churnlab.report` through the one escaping function.
"""
from __future__ import annotations

import math

from .i18n import t
from .periods import Period


def _num(v):
    try:
        v = float(v)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def quarters_before(quarter: str, n: int) -> list[str]:
    """The ``n`` quarters ending with ``quarter``, oldest first.

    Examples
    --------
    >>> quarters_before("2026Q1", 3)
    ['2025Q3', '2025Q4', '2026Q1']
    """
    q = Period.quarter(quarter)
    return [q.previous(i).label for i in range(n - 1, -1, -1)]


def two_proportion_p(k1, n1, k2, n2):
    """p-value of a two-sided two-proportion z-test (statsmodels); ``None`` when it does not apply.

    Examples
    --------
    >>> round(two_proportion_p(30, 300, 15, 300), 4)
    0.0201
    >>> two_proportion_p(0, 0, 1, 10) is None
    True
    """
    from statsmodels.stats.proportion import proportions_ztest

    if not n1 or not n2 or k1 is None or k2 is None or (k1 + k2) in (0, n1 + n2):
        return None
    _, p = proportions_ztest([k1, k2], [n1, n2])
    return float(p) if math.isfinite(p) else None


#: The headline measures: key, label, kind (rate, money, or score: a number between 0 and 1 read as
#: such, like an AUC), which way is better, where to read more.
KPIS = [
    ("logo_attrition_rate", "Logo attrition", "rate", "down", "10-attrition.html"),
    ("user_attrition_rate", "User attrition", "rate", "down", "10-attrition.html"),
    ("nrr", "Net revenue retention", "rate", "up", "10-attrition.html"),
    ("grr", "Gross revenue retention", "rate", "up", "10-attrition.html"),
    ("mrr_churned", "MRR lost with churned accounts", "money", "down", "10-attrition.html"),
    ("survival_12m", "Still customers after 12 months", "rate", "up", "20-survival.html"),
    ("participation_rate", "Exit-interview participation", "rate", "up", "30-churn-reasons.html"),
    ("top_reason_share", "Top exit reason", "rate", None, "30-churn-reasons.html"),
    ("health_score_auc", "Health score accuracy (AUC)", "score", "up", "50-at-risk.html"),
    ("at_risk_tier1_mrr", "MRR held by tier-1 accounts to save", "money", None, "50-at-risk.html"),
]


def top_reason(metrics: dict) -> dict:
    """``{"top_reason", "top_reason_label"}``: the most common exit reason of the quarter (no reason
    given left out), from ``reason_shares``; empty when there is none.

    Examples
    --------
    >>> top_reason({"reason_shares": {"no_reason": 0.5, "price": 0.3, "fit": 0.2}, "reason_labels": {"price": "Price"}})
    {'top_reason': 'price', 'top_reason_label': 'Price'}
    """
    shares = {k: v for k, v in (metrics.get("reason_shares") or {}).items() if k != "no_reason" and v is not None}
    if not shares:
        return {}
    code = max(sorted(shares), key=lambda k: shares[k])
    return {"top_reason": code,
            "top_reason_label": (metrics.get("reason_labels") or {}).get(code, code.replace("_", " "))}


def series(metrics: dict, quarters: list[str]) -> dict[str, dict[str, float | None]]:
    """Each headline measure per quarter (``{key: {quarter: value}}``) from ``metrics.json``.

    12-month survival is indexed by the review quarter whose latest mature cohort it describes: the
    cohort four quarters before it.
    """
    out: dict = {k: {} for k, *_ in KPIS}
    att = metrics.get("attrition_by_quarter") or {}
    rea = metrics.get("reasons_by_quarter") or {}
    s12 = metrics.get("survival_12m_by_cohort") or {}
    top = metrics.get("top_reason")
    for q in quarters:
        a = att.get(q) or {}
        for k in ("logo_attrition_rate", "user_attrition_rate", "nrr", "grr", "mrr_churned"):
            out[k][q] = _num(a.get(k))
        r = rea.get(q) or {}
        out["participation_rate"][q] = _num(r.get("participation_rate"))
        out["top_reason_share"][q] = _num((r.get("reason_shares") or {}).get(top)) if top else None
        out["survival_12m"][q] = _num(s12.get(Period.quarter(q).previous(4).label))
    return out


def _counts(metrics: dict, key: str, quarter: str):
    """(events, base) behind a rate in ``quarter``, for a test of change; ``(None, None)`` if unknown."""
    a = (metrics.get("attrition_by_quarter") or {}).get(quarter) or {}
    r = (metrics.get("reasons_by_quarter") or {}).get(quarter) or {}
    if key == "logo_attrition_rate":
        return a.get("logo_churned"), a.get("logo_start")
    if key == "user_attrition_rate":
        return a.get("user_churned"), a.get("user_start")
    if key == "participation_rate":
        return r.get("completed"), r.get("invited")
    if key == "top_reason_share" and metrics.get("top_reason"):
        return (r.get("reason_counts") or {}).get(metrics["top_reason"], 0), r.get("responders")
    return None, None


def kpis(metrics: dict) -> list[dict]:
    """The cards of the executive summary: one per measure the review could compute.

    Each card: ``key, label, kind, better, page, value, lo, hi, window, prev, prev_quarter, prev_p,
    year, year_quarter, year_p, spark`` (the last 8 quarters' values, oldest first). ``prev`` and
    ``year`` are the values a quarter and a year earlier; ``*_p`` the p-value of the change where a
    test applies (two-proportion z-test on the counts behind a rate).
    """
    quarter = metrics.get("quarter")
    if not quarter:
        return []
    qs = quarters_before(quarter, 8)
    prev_q, year_q = Period.quarter(quarter).previous(1).label, Period.quarter(quarter).previous(4).label
    ser = series(metrics, qs)
    cards = []
    for key, label, kind, better, page in KPIS:
        value = ser[key].get(quarter)
        if value is None and key in metrics:       # a review without the per-quarter figures
            value = _num(metrics.get(key))
        if value is None and key == "top_reason_share" and metrics.get("top_reason"):
            value = _num((metrics.get("reason_shares") or {}).get(metrics["top_reason"]))
        if key == "survival_12m":
            value = _num(metrics.get("survival_12m_latest"))
        if value is None:
            continue
        card = {"key": key, "label": t(label), "kind": kind, "better": better, "page": page, "value": value,
                "lo": None, "hi": None, "window": quarter, "prev": ser[key].get(prev_q), "prev_quarter": prev_q,
                "year": ser[key].get(year_q), "year_quarter": year_q, "prev_p": None, "year_p": None,
                "spark": [ser[key].get(q) for q in qs]}
        if key == "logo_attrition_rate":
            card["lo"], card["hi"] = _num(metrics.get("logo_attrition_rate_lo")), _num(metrics.get("logo_attrition_rate_hi"))
        if key == "survival_12m":
            card["window"] = t("customers who signed up in {cohort}", cohort=metrics.get('survival_12m_latest_cohort'))
            card["lo"], card["hi"] = _num(metrics.get("survival_12m_latest_lo")), _num(metrics.get("survival_12m_latest_hi"))
            card["prev_quarter"] = Period.quarter(metrics["survival_12m_latest_cohort"]).previous(1).label \
                if metrics.get("survival_12m_latest_cohort") else None
            card["year_quarter"] = Period.quarter(metrics["survival_12m_latest_cohort"]).previous(4).label \
                if metrics.get("survival_12m_latest_cohort") else None
        if key == "top_reason_share":
            card["label"] = t("Top exit reason: {label}", label=metrics.get('top_reason_label', ''))
            card["window"] = t("{quarter}, share of responding churned accounts", quarter=quarter)
        if key == "mrr_churned":
            card["window"] = t("{quarter}, accounts lost", quarter=quarter)
        if key == "health_score_auc":
            card["lo"], card["hi"] = _num(metrics.get("health_score_auc_lo")), _num(metrics.get("health_score_auc_hi"))
            card["window"] = t("{quarter}, score at the quarter start vs churn in it", quarter=quarter)
        if key == "at_risk_tier1_mrr":
            n = _num(metrics.get("at_risk_tier1_accounts")) or 0
            card["window"] = (t("all the MRR of {n} flagged high-value accounts, not the MRR expected to churn", n=f"{int(n):,}")
                              if n != 1 else t("all the MRR of 1 flagged high-value account, not the MRR expected to churn"))
        if kind == "rate":
            k, n = _counts(metrics, key, quarter)
            for which, q in (("prev_p", prev_q), ("year_p", year_q)):
                k0, n0 = _counts(metrics, key, q)
                card[which] = two_proportion_p(k, n, k0, n0) if None not in (k, n, k0, n0) else None
        cards.append(card)
    return cards


def pct(v, digits: int = 1) -> str:
    """``0.0487 -> '4.9%'``."""
    return f"{100 * v:.{digits}f}%"


def figure(v, kind: str, currency: str = "") -> str:
    """A card's value as its kind reads: a rate as a percentage, money with its currency, a score
    (an AUC) with two decimals.

    Examples
    --------
    >>> figure(0.0487, "rate"), figure(0.7094, "score"), figure(34350, "money", "$")
    ('4.9%', '0.71', '$34.4k')
    """
    if kind == "rate":
        return pct(v)
    if kind == "score":
        return f"{v:.2f}"
    return money(v, currency)


def money(v, currency: str = "") -> str:
    """An amount with its currency, shortened above ten thousand: ``$34.4k``, ``1.2M EUR``.

    Examples
    --------
    >>> money(34350, "$"), money(1234567, "EUR"), money(950, "")
    ('$34.4k', '1.2M EUR', '950')
    """
    v = float(v)
    text = (f"{v / 1e6:,.1f}M" if abs(v) >= 1e6 else f"{v / 1e3:,.1f}k" if abs(v) >= 1e4 else f"{v:,.0f}")
    if len(currency) == 3 and currency.isalpha():
        return f"{text} {currency}"
    return f"{currency}{text}"


def fmt_p(p) -> str:
    """``p < 0.001``, ``p = 0.02``."""
    if p is None:
        return ""
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}" if p < 0.01 else f"p = {p:.2f}"


def change_text(card: dict, which: str) -> str:
    """The change of a card against the previous quarter (``which="prev"``) or a year ago, in words.

    Examples
    --------
    >>> change_text({"kind": "rate", "value": 0.06, "prev": 0.04, "prev_p": 0.03, "prev_quarter": "2026Q2"}, "prev")
    '+2.0 pts vs 2026Q2 (p = 0.03)'

    A change is the difference of the figures as shown, so that it adds up for the reader: 4.1% to
    4.9% is +0.8 pts, even when the unrounded rates (4.14% and 4.87%) differ by 0.73.

    >>> change_text({"kind": "rate", "value": 0.04874, "prev": 0.04136, "prev_quarter": "2026Q2"}, "prev")
    '+0.8 pts vs 2026Q2'
    """
    then = card.get(which)
    if then is None:
        return ""
    if card["kind"] == "rate":
        d = round(float(f"{100 * card['value']:.1f}") - float(f"{100 * then:.1f}"), 1)
        text = t("{d} pts", d=f"{d:+.1f}") if abs(d) >= 0.05 else t("no change")
    elif card["kind"] == "score":
        d = round(float(f"{card['value']:.2f}") - float(f"{then:.2f}"), 2)
        text = f"{d:+.2f}" if abs(d) >= 0.005 else t("no change")
    else:
        if not then:
            return ""
        d = (card["value"] - then) / abs(then)
        text = f"{100 * d:+.0f}%" if abs(d) >= 0.005 else t("no change")
    p = card.get(f"{which}_p")
    label = card.get(f"{which}_quarter") or ""
    return t("{change} vs {quarter}", change=text, quarter=label) + (f" ({fmt_p(p)})" if p is not None else "")


def _direction(value, then) -> str:
    return "up" if value > then else "down" if value < then else "flat"


def sentences(metrics: dict, cards: list[dict]) -> list[str]:
    """3-6 plain sentences: what happened, what changed against the previous quarter and a year
    ago (with the test where one applies), and what to do."""
    by = {c["key"]: c for c in cards}
    q = metrics.get("quarter", "")
    cur = metrics.get("currency") or ""
    out = []
    logo = by.get("logo_attrition_rate")
    if logo:
        s = t("In {quarter} we lost {lost} of the {start} accounts active at the start of the quarter: logo "
              "attrition {rate}", quarter=q, lost=f"{int(metrics.get('logo_churned') or 0):,}",
              start=f"{int(metrics.get('logo_start') or 0):,}", rate=pct(logo['value']))
        if logo["lo"] is not None:
            s += t(" (95% CI {lo}-{hi})", lo=pct(logo['lo']), hi=pct(logo['hi']))
        parts = []
        for which in ("prev", "year"):
            then = logo.get(which)
            if then is None:
                continue
            p = logo.get(f"{which}_p")
            word = _direction(logo["value"], then)
            sig = "" if p is None else (t(" (a significant change, {p})", p=fmt_p(p)) if p < 0.05
                                        else t(" (within chance, {p})", p=fmt_p(p)))
            way = {"up": "up", "down": "down"}.get(word, "unchanged")
            template = {("up", "prev"): "up from {then} the previous quarter{sig}",
                        ("down", "prev"): "down from {then} the previous quarter{sig}",
                        ("unchanged", "prev"): "unchanged from {then} the previous quarter{sig}",
                        ("up", "year"): "up from {then} a year earlier{sig}",
                        ("down", "year"): "down from {then} a year earlier{sig}",
                        ("unchanged", "year"): "unchanged from {then} a year earlier{sig}"}[(way, which)]
            parts.append(t(template, then=pct(then), sig=sig))
        out.append(s + (t("; ") + t("; ").join(parts) if parts else "") + t("."))
    elif "logo_start" in metrics and not metrics.get("logo_start"):
        out.append(t("No account was active at the start of {quarter}, so there is no logo attrition to report.", quarter=q))
    nrr, grr, lost = by.get("nrr"), by.get("grr"), by.get("mrr_churned")
    if nrr and grr:
        s = t("Net revenue retention was {nrr} and gross revenue retention {grr}", nrr=pct(nrr['value']), grr=pct(grr['value']))
        if lost:
            s += t("; the accounts lost took {money} of MRR", money=money(lost['value'], cur))
        if nrr.get("year") is not None:
            s += t(" (net retention was {rate} a year earlier)", rate=pct(nrr['year']))
        out.append(s + t("."))
    user = by.get("user_attrition_rate")
    if user:
        out.append(t("User attrition was {rate}: of the users active in the quarter before, that share "
                     "did no qualified activity in this one.", rate=pct(user['value'])))
    top = by.get("top_reason_share")
    if top:
        s = t("The most common exit reason was {label}, given by {share} of responding churned accounts",
              label=metrics.get('top_reason_label'), share=pct(top['value'], 0))
        rising = [c for c in metrics.get("top_reason_changes") or [] if (c.get("change") or 0) > 0]
        if rising:
            r = max(rising, key=lambda c: c.get("change") or 0)
            s += t("; {label} rose from {share_then} to {share_now} ({then} to {now}, {p} after adjustment)",
                   label=r.get('label'), share_then=pct(r['from'], 0), share_now=pct(r['to'], 0), then=r.get('then'),
                   now=r.get('now'), p=fmt_p(r.get('p_adj')))
        out.append(s + t("."))
    surv = by.get("survival_12m")
    if surv:
        s = t("Of the customers who signed up in {cohort}, {rate} were still customers 12 months later",
              cohort=metrics.get('survival_12m_latest_cohort'), rate=pct(surv['value']))
        if surv.get("year") is not None:
            s += t(", against {rate} for the cohort a year before", rate=pct(surv['year']))
        out.append(s + t("."))
    if metrics.get("winback_accounts"):
        n, mrr = f"{int(metrics['winback_accounts']):,}", money(metrics.get('winback_mrr') or 0, cur)
        if metrics.get("winback_since"):   # the list reaches back beyond this quarter's churn
            out.append(t("Act: {n} accounts that churned since {since}, worth {money} of MRR, are on the win-back "
                         "list, because a fix they asked for has shipped or they said they would return.",
                         n=n, since=metrics["winback_since"], money=mrr))
        else:
            out.append(t("Act: {n} churned accounts worth {money} of MRR are on the win-back list, because a fix "
                         "they asked for has shipped or they said they would return.", n=n, money=mrr))
    return out[:6]


def actions(metrics: dict) -> list[dict]:
    """What the figures call for, each with a link: ``{"text", "href"}``."""
    cur = metrics.get("currency") or ""
    out = []
    if metrics.get("winback_accounts"):
        n, mrr = f"{int(metrics['winback_accounts']):,}", money(metrics.get('winback_mrr') or 0, cur)
        out.append({"text": t("Win back {n} accounts that churned since {since} ({money} MRR): the win-back list",
                              n=n, since=metrics["winback_since"], money=mrr) if metrics.get("winback_since") else
                    t("Win back {n} accounts ({money} MRR): the win-back list", n=n, money=mrr),
                    "href": "30-churn-reasons.html#Win-back-list"})
    if metrics.get("at_risk_tier1_accounts"):
        out.append({"text": t("Save {n} tier-1 accounts ({money} MRR): the save list",
                              n=f"{int(metrics['at_risk_tier1_accounts']):,}",
                              money=money(metrics.get('at_risk_tier1_mrr') or 0, cur)),
                    "href": "50-at-risk.html#Save-list"})
    for c in metrics.get("top_reason_changes") or []:
        if (c.get("change") or 0) > 0:
            what = "competitor" if c.get("level") == "competitor" else "reason"
            template = "Rising competitor: {label} ({then} to {now})" if what == "competitor" else \
                "Rising reason: {label} ({then} to {now})"
            out.append({"text": t(template, label=c.get('label'), then=pct(c['from'], 0), now=pct(c['to'], 0)),
                        "href": "30-churn-reasons.html#What-changed" if what == "reason"
                        else "30-churn-reasons.html#Competitors"})
    return out[:6]


#: Primary reasons each audience of the exit-interview playbook acts on.
AUDIENCES = [
    ("Product", ("product_gap", "integration_stack"), "30-churn-reasons.html",
     "reasons that are product gaps, with the roadmap items that address them"),
    ("Customer success", ("poor_onboarding", "service_support"), "20-survival.html",
     "onboarding and support reasons, early-life survival and the accounts to save"),
    ("Sales", ("competitive_loss", "price_budget"), "30-churn-reasons.html#Competitors",
     "competitors, fit and pricing"),
]


def audiences(metrics: dict) -> list[dict]:
    """A few sentences for each audience: ``{"title", "text", "href"}``."""
    shares = metrics.get("reason_shares") or {}
    labels = metrics.get("reason_labels") or {}
    out = []
    for title, codes, href, about in AUDIENCES:
        bits = [f"{labels.get(c, c.replace('_', ' '))} {pct(shares[c], 0)}" for c in codes if shares.get(c)]   # a reason nobody gave is not news
        text = t("Read: {about}.", about=t(about))
        if bits:
            text = t("Share of responding churned accounts: {shares}.", shares=t(", ").join(bits)) + t(" ") + text
        out.append({"title": t(title), "text": text, "href": href})
    return out


def comparison_blocks(metrics: dict) -> dict:
    """``previous_quarter`` and ``year_ago`` blocks for ``metrics.json``: each headline measure of the
    quarter before and of the same quarter a year earlier."""
    quarter = metrics.get("quarter")
    if not quarter:
        return {}
    q = Period.quarter(quarter)
    out = {}
    for name, other in (("previous_quarter", q.previous(1).label), ("year_ago", q.previous(4).label)):
        ser = series(metrics, [other])
        block = {"quarter": other}
        block.update({k: v.get(other) for k, v in ser.items()})
        cohort = metrics.get("survival_12m_latest_cohort")
        if cohort:
            shift = 1 if name == "previous_quarter" else 4
            c = Period.quarter(cohort).previous(shift).label
            block["survival_12m"] = _num((metrics.get("survival_12m_by_cohort") or {}).get(c))
            block["survival_12m_cohort"] = c
        out[name] = block
    return out
