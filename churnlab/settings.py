"""The company-specific settings of a review, resolved once: notebook parameter, else data config,
else derived from the data.

Nothing about one company is built into the analyses: which events are value-creating, which account
column is the main breakdown, which feature splits the behavioural cohorts, which dated changes to
compare, the currency. Each notebook passes its parameters (empty means "not given") to
:func:`resolve`, which fills every setting from, in order,

1. the notebook parameter (``churnlab review -p NAME=VALUE`` or ``--params FILE.yaml``),
2. the data config (``activity:`` and ``analysis:`` sections, see :mod:`churnlab.config`),
3. the data itself (documented rules below), or a documented default,

and records where each came from, so the report can say so.

Derivation rules:

- ``qualified_events``: every event name in the data except sign-in and page-view noise (names
  matching :data:`NOISE_EVENTS`, such as ``login``, ``session_start``, ``page_view``); when every
  event looks like noise, all of them.
- ``feature_event``: the most frequent qualified event.
- ``segment_col``: ``segment`` when the accounts have that column; otherwise none, and the sections
  that break attrition down by segment are left out with a sentence.
- ``segment_cols``: the categorical account columns present, in the order of :data:`GROUP_COLUMNS`.
- ``drivers``: the same columns as ``segment_cols``.
- ``changes``: none (the before / after comparison is left out with a sentence).
- ``currency``: none (amounts are written without a currency sign).
- ``language`` (of the taxonomy labels): ``en``; in a Japanese review (``churnlab review --lang ja``,
  :mod:`churnlab.i18n`) ``ja`` unless the notebook parameter says otherwise, whatever the data config
  says. ``min_count``: 1; ``inactivity_days``: 60.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import pandas as pd

#: Event names that are not value-creating activity (a login alone is not activity).
NOISE_EVENTS = re.compile(
    r"(^|[_\-\s.:/])(log_?in|log_?on|sign_?in|signed_?in|log_?out|sign_?out|session(_start|_end)?|"
    r"page_?view(ed)?|screen_?view|heartbeat|ping|app_?open(ed)?|visit)($|[_\-\s.:/])", re.I)

#: Categorical account columns that can split customers into groups, in report order.
GROUP_COLUMNS = ("size_band", "segment", "plan", "industry", "region", "acquisition_channel", "contract",
                 "icp_fit")

#: Currency codes written as a sign.
CURRENCY_SIGNS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "CNY": "¥", "INR": "₹", "KRW": "₩"}

DEFAULTS = {"min_count": 1, "inactivity_days": 60, "language": "en"}


@dataclass
class Settings:
    """Resolved settings of one review; ``source`` says where each came from."""

    qualified_events: list = field(default_factory=list)
    min_count: int = 1
    inactivity_days: int = 60
    feature_event: str | None = None
    segment_col: str | None = None
    segment_cols: list = field(default_factory=list)
    drivers: list = field(default_factory=list)
    changes: list = field(default_factory=list)
    currency: str = ""
    language: str = "en"
    source: dict = field(default_factory=dict)

    @property
    def change(self) -> dict | None:
        """The latest dated change (``{"date", "label"}``), or ``None``."""
        return self.changes[-1] if self.changes else None

    def describe(self) -> list[str]:
        """Plain sentences on the settings that were derived rather than given."""
        out = []
        if self.source.get("qualified_events") == "derived":
            out.append("Qualified activity: no list of value-creating events was given (activity.events "
                       "in the data config), so every event except sign-ins and page views counts: "
                       + ", ".join(self.qualified_events) + ".")
        if self.source.get("segment_col") == "derived" and not self.segment_col:
            out.append("The accounts have no segment column, so attrition is not broken down by segment "
                       "(the data config can name another account column as the segment).")
        if self.source.get("feature_event") == "derived" and self.feature_event:
            out.append(f"Behavioural cohorts use the most frequent qualified event, {self.feature_event} "
                       "(set analysis.feature_event in the data config to choose another).")
        return out


def _given(v) -> bool:
    if v is None:
        return False
    if isinstance(v, str):
        return bool(v.strip())
    if isinstance(v, (list, tuple, dict)):
        return len(v) > 0
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return v > 0
    return True


def currency_sign(code: str | None) -> str:
    """The sign for a currency code (``USD`` -> ``$``); other codes and signs are kept as given.

    Examples
    --------
    >>> currency_sign("EUR"), currency_sign("CHF"), currency_sign("$"), currency_sign(None)
    ('€', 'CHF', '$', '')
    """
    if not code:
        return ""
    code = str(code).strip()
    return CURRENCY_SIGNS.get(code.upper(), code)


def event_names(events) -> pd.DataFrame:
    """Event names and their counts, most frequent first (``event, n``), counted in the engine."""
    if events is None:
        return pd.DataFrame({"event": [], "n": []})
    t = events
    out = t.group_by("event").aggregate(n=t.count()).execute()
    return out.sort_values(["n", "event"], ascending=[False, True], kind="stable").reset_index(drop=True)


def resolve(dataset, *, qualified_events=None, min_count=None, inactivity_days=None, feature_event=None,
            segment_col=None, segment_cols=None, drivers=None, change_date=None, change_name=None,
            currency=None, language=None, accounts: pd.DataFrame | None = None, check: bool = False) -> Settings:
    """Resolve a review's settings: the given values, else the data config, else the data.

    Parameters
    ----------
    dataset : churnlab.sources.Dataset
    qualified_events, min_count, ... : optional
        Notebook parameters; empty values (``""``, ``[]``, ``0``, ``None``) mean "not given".
    accounts : DataFrame, optional
        The accounts the analysis uses when they differ from ``dataset.accounts`` (e.g. with a derived
        ``size_band`` column), for choosing the group columns.
    check : bool
        Check that the events and the segment column named by the data config or the parameters
        exist in the data (:class:`~churnlab.config.ConfigError` otherwise). ``churnlab validate``
        and ``churnlab review`` check once, before any notebook runs; the notebooks then need not
        (a notebook that never reads events does not scan them).

    Returns
    -------
    Settings

    Examples
    --------
    >>> class D:
    ...     accounts = pd.DataFrame({"account_id": ["a"], "plan": ["Pro"]})
    ...     events = None
    ...     class config:
    ...         analysis = {"currency": "EUR"}
    ...         activity_events, activity_min_count = ["purchase"], None
    >>> s = resolve(D(), inactivity_days=90)
    >>> s.qualified_events, s.currency, s.inactivity_days, s.segment_col, s.segment_cols
    (['purchase'], '€', 90, None, ['plan'])
    >>> s.source["qualified_events"], s.source["inactivity_days"]
    ('data config', 'parameter')
    """
    cfg = dataset.config
    an = dict(getattr(cfg, "analysis", {}) or {})
    acc = dataset.accounts if accounts is None else accounts
    s = Settings()
    src = s.source

    def pick(name, given, from_config, derive):
        if _given(given):
            src[name] = "parameter"
            return given
        if _given(from_config):
            src[name] = "data config"
            return from_config
        src[name] = "derived"
        return derive()

    counts = None

    def names():
        nonlocal counts
        if counts is None:
            counts = event_names(dataset.events)
        return counts

    def derive_events():
        ev = names()["event"].astype(str).tolist()
        kept = [e for e in ev if not NOISE_EVENTS.search(e)]
        return kept or ev

    s.qualified_events = [str(e) for e in pick("qualified_events", _as_list(qualified_events),
                                               cfg.activity_events, derive_events)]
    s.min_count = int(pick("min_count", min_count, cfg.activity_min_count, lambda: DEFAULTS["min_count"]))
    s.inactivity_days = int(pick("inactivity_days", inactivity_days, an.get("inactivity_days"),
                                 lambda: DEFAULTS["inactivity_days"]))

    def derive_feature():
        c = names()
        c = c[c["event"].astype(str).isin(s.qualified_events)]
        return str(c["event"].iloc[0]) if len(c) else None

    s.feature_event = pick("feature_event", feature_event, an.get("feature_event"), derive_feature)
    s.segment_col = pick("segment_col", segment_col, an.get("segment_col"),
                         lambda: "segment" if "segment" in acc.columns else None)
    groups = [c for c in GROUP_COLUMNS if c in acc.columns]
    s.segment_cols = [c for c in pick("segment_cols", _as_list(segment_cols), an.get("segment_cols"),
                                      lambda: groups) if c in acc.columns]
    s.drivers = [c for c in pick("drivers", _as_list(drivers), an.get("drivers"), lambda: list(groups))
                 if c in acc.columns]
    if check:
        _check_named(s, names if dataset.events is not None else None, acc)
    if s.segment_col and s.segment_col not in acc.columns:
        s.segment_col = None
    if _given(change_date):
        src["changes"] = "parameter"
        s.changes = [{"date": str(change_date), "label": change_name or f"the change of {change_date}"}]
    else:
        s.changes = pick("changes", None, an.get("changes"), list)
    s.currency = currency_sign(pick("currency", currency, an.get("currency"), lambda: ""))
    s.language = pick("language", language, an.get("language"), lambda: DEFAULTS["language"])
    from .i18n import report_language

    if report_language() != "en" and not _given(language):   # a Japanese review: Japanese taxonomy labels
        s.language, src["language"] = report_language(), "report language"
    return s


#: Where a setting given by name comes from, as the analyst wrote it.
_WHERE = {("qualified_events", "data config"): "activity.events in the data config",
          ("qualified_events", "parameter"): "The qualified_events parameter",
          ("feature_event", "data config"): "analysis.feature_event in the data config",
          ("feature_event", "parameter"): "The feature_event parameter",
          ("segment_col", "data config"): "analysis.segment_col in the data config",
          ("segment_col", "parameter"): "The segment_col parameter"}


def _check_named(s: Settings, names, accounts: pd.DataFrame) -> None:
    """A setting that names an event the events never have, or an account column that does not exist, is
    a :class:`~churnlab.config.ConfigError` naming it and what the data has: a typo would otherwise
    give analyses of nothing (accounts split by an event nobody used) under the name the analyst
    chose."""
    from .config import ConfigError

    def listing(values, limit=15):
        values = [str(v) for v in values]
        more = f" and {len(values) - limit:,} more" if len(values) > limit else ""
        return ", ".join(values[:limit]) + more

    if names is not None:
        counts = names()
        known = set(counts["event"].astype(str))
        for key, wanted in (("qualified_events", s.qualified_events),
                            ("feature_event", [s.feature_event] if s.feature_event else [])):
            if s.source.get(key) == "derived":
                continue
            unknown = [e for e in wanted if e not in known]
            if unknown:
                raise ConfigError(f"{_WHERE[key, s.source[key]]} names {listing(unknown)}, which the events never "
                                  f"have. The events have: {listing(counts['event'])} (most frequent first).")
    columns = set(accounts.columns) | ({"size_band"} if "employees" in accounts.columns else set())   # derived
    if s.source.get("segment_col") != "derived" and s.segment_col and s.segment_col not in columns:
        raise ConfigError(f"{_WHERE['segment_col', s.source['segment_col']]} names {s.segment_col}, which the "
                          f"accounts do not have. Their columns are: "
                          f"{listing([c for c in accounts.columns if not str(c).startswith('_')], 40)}.")


def _as_list(v):
    if v is None:
        return None
    if isinstance(v, str):
        return [x.strip() for x in v.split(",") if x.strip()]
    return list(v)
