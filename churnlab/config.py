"""The optional YAML data config: where each table is, and how the user's names map to churnlab's.

A config is only needed when the data does not already use the canonical file names, column names
and values. Example (every key is optional)::

    tables:
      accounts:
        file: crm_accounts.csv          # default: accounts.parquet or accounts.csv
        columns:                        # your column name: canonical column name
          Customer ID: account_id
          Start Date: signup_date
          End Date: churn_date
          Tier: segment
        values:                         # per canonical column, your value: canonical value
          segment: {Small business: SMB, Mid market: Mid-Market, Large: Enterprise}
        date_format: "%d/%m/%Y"         # when dates are not ISO
      exit_interviews:
        file: cancellations.csv
        columns: {Customer ID: account_id, Asked: invited_at, Answered: completed_at,
                  Reason: primary_reason, Comment: verbatim}
        reasons: stripe                 # or a mapping, see below
        # reasons:
        #   primary_reason: {Too pricey: price_budget, "Switched to a competitor": competitive_loss}
        #   secondary_reason: {...}
    taxonomy: my-taxonomy.yaml          # replaces the shipped reason taxonomy (relative to this file)
    activity:                           # the qualified-activity rule of every analysis
      events: [project_created, invoice_sent]   # value-creating events (a login alone is not activity)
      min_count: 1                             # qualified events needed in a period to count as active
    analysis:                           # the company's own settings (each is optional)
      segment_col: segment              # account column of the main breakdown
      segment_cols: [segment, plan, region]    # account columns tested for differences
      drivers: [segment, contract, plan]       # account columns of the survival driver (Cox) model
      feature_event: invoice_sent      # event whose prior-quarter use splits the behavioural cohorts
      changes:                          # dated product or policy changes to compare before / after
        - {date: 2026-02-01, label: the new setup wizard}
      currency: USD                     # ISO code (USD, EUR, JPY, GBP ...) or a symbol of MRR amounts
      language: en                      # language of taxonomy labels in the reports: en or ja
      inactivity_days: 60               # without churn dates: days without qualified activity = churned

Paths inside the config are relative to the config file. When ``--config`` is not given, a file
named ``churnlab.yaml`` in the data folder is used as the data config.

Where a key is absent, the review derives the setting from the data (see
:func:`churnlab.settings.resolve`) and says so in the report.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

TABLE_NAMES = ("accounts", "subscriptions", "users", "events", "exit_interviews", "roadmap")
_TABLE_KEYS = {"file", "columns", "values", "date_format", "reasons"}
_TOP_KEYS = {"tables", "taxonomy", "activity", "analysis"}
#: Keys of the ``analysis:`` section and the kind of value each takes.
ANALYSIS_KEYS = {"segment_col": "column", "segment_cols": "columns", "drivers": "columns",
                 "feature_event": "text", "changes": "changes", "currency": "text", "language": "language",
                 "inactivity_days": "days"}
#: File name of the data config looked for in the data folder when none is given.
DEFAULT_CONFIG_NAME = "churnlab.yaml"


class ConfigError(ValueError):
    """The data config cannot be used; the message names the file and the key."""


@dataclass
class TableConfig:
    """How one canonical table is read."""

    file: str | None = None
    columns: dict[str, str] = field(default_factory=dict)
    values: dict[str, dict] = field(default_factory=dict)
    date_format: str | None = None
    reasons: object = None  # None, "stripe" or {"primary_reason": {...}, "secondary_reason": {...}}


@dataclass
class Config:
    """A parsed data config. ``Config()`` is the empty config (canonical names throughout)."""

    tables: dict[str, TableConfig] = field(default_factory=dict)
    taxonomy: Path | None = None
    activity_events: list[str] | None = None
    activity_min_count: int | None = None
    analysis: dict = field(default_factory=dict)
    path: Path | None = None

    def table(self, name: str) -> TableConfig:
        return self.tables.get(name, TableConfig())


def load_config(path=None) -> Config:
    """Read a YAML data config; ``None`` or ``""`` gives the empty config.

    Examples
    --------
    >>> load_config(None).table("accounts").columns
    {}
    """
    if path is None or str(path) == "":
        return Config()
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"data config {path} does not exist")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as e:
        raise ConfigError(f"data config {path} is not valid YAML: {e}") from None
    except ValueError as e:  # YAML reads 2025-13-01 as a date and fails on it
        raise ConfigError(f"data config {path} holds a date that does not exist ({e}); "
                          "write dates as YYYY-MM-DD") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"data config {path}: expected a mapping at the top level")
    unknown = set(raw) - _TOP_KEYS
    if unknown:
        raise ConfigError(f"data config {path}: unknown key(s) {sorted(unknown)}; "
                          f"allowed: {sorted(_TOP_KEYS)}")
    cfg = Config(path=path)
    for name, spec in (raw.get("tables") or {}).items():
        if name not in TABLE_NAMES:
            raise ConfigError(f"data config {path}: tables.{name} is not a churnlab table; "
                              f"tables are {', '.join(TABLE_NAMES)}")
        spec = spec or {}
        bad = set(spec) - _TABLE_KEYS
        if bad:
            raise ConfigError(f"data config {path}: tables.{name} has unknown key(s) {sorted(bad)}; "
                              f"allowed: {sorted(_TABLE_KEYS)}")
        columns = {str(k): str(v) for k, v in (spec.get("columns") or {}).items()}
        values = {str(k): {_key(a): b for a, b in (v or {}).items()}
                  for k, v in (spec.get("values") or {}).items()}
        cfg.tables[name] = TableConfig(file=spec.get("file"), columns=columns, values=values,
                                       date_format=spec.get("date_format"),
                                       reasons=spec.get("reasons"))
    if raw.get("taxonomy"):
        cfg.taxonomy = (path.parent / raw["taxonomy"]).resolve()
    act = raw.get("activity") or {}
    if act:
        unknown = set(act) - {"events", "min_count"}
        if unknown:
            raise ConfigError(f"data config {path}: activity has unknown key(s) {sorted(unknown)}")
        events = act.get("events", [])
        if isinstance(events, str):
            events = [events]
        if not isinstance(events, list) or not all(isinstance(e, (str, int)) for e in events):
            raise ConfigError(f"data config {path}: activity.events must be a list of event names, "
                              f"e.g. [project_created, invoice_sent]; got {events!r}")
        cfg.activity_events = [str(e) for e in events] or None
        if "min_count" in act:
            cfg.activity_min_count = _positive_int(act["min_count"], f"data config {path}: activity.min_count")
    cfg.analysis = _analysis(raw.get("analysis"), path)
    return cfg


def config_for(data_dir, config=None) -> Config:
    """The data config of a review: ``config`` (a path or a :class:`Config`) when given, else the
    ``churnlab.yaml`` in ``data_dir`` when there is one, else the empty config.

    Examples
    --------
    >>> config_for("/nonexistent-folder").path is None
    True
    """
    if isinstance(config, Config):
        return config
    if config is None or str(config) == "":
        default = Path(data_dir) / DEFAULT_CONFIG_NAME
        return load_config(default) if default.is_file() else Config()
    return load_config(config)


def _positive_int(v, where: str) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or v != int(v) or int(v) < 1:
        raise ConfigError(f"{where} must be a whole number of at least 1, e.g. 2; got {v!r}")
    return int(v)


def _analysis(section, path) -> dict:
    """Check the ``analysis:`` section and return it with normalised values."""
    if not section:
        return {}
    where = f"data config {path}: analysis"
    if not isinstance(section, dict):
        raise ConfigError(f"{where} must be a mapping of settings; allowed keys: {', '.join(ANALYSIS_KEYS)}")
    unknown = set(section) - set(ANALYSIS_KEYS)
    if unknown:
        raise ConfigError(f"{where} has unknown key(s) {sorted(map(str, unknown))}; "
                          f"allowed: {', '.join(ANALYSIS_KEYS)}")
    out = {}
    for key, value in section.items():
        kind = ANALYSIS_KEYS[key]
        if value is None:
            continue
        if kind in ("column", "text"):
            if not isinstance(value, (str, int, float)) or isinstance(value, bool) or not str(value).strip():
                raise ConfigError(f"{where}.{key} must be a single name; got {value!r}")
            out[key] = str(value).strip()
        elif kind == "columns":
            value = [value] if isinstance(value, str) else value
            if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
                raise ConfigError(f"{where}.{key} must be a list of account column names; got {value!r}")
            out[key] = [v.strip() for v in value]
        elif kind == "language":
            if str(value) not in ("en", "ja"):
                raise ConfigError(f"{where}.{key} must be en or ja; got {value!r}")
            out[key] = str(value)
        elif kind == "days":
            out[key] = _positive_int(value, f"{where}.{key}")
        elif kind == "changes":
            out[key] = _changes(value, f"{where}.{key}")
    return out


def _changes(value, where: str) -> list[dict]:
    import datetime as _dt

    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list):
        raise ConfigError(f"{where} must be a list of {{date: YYYY-MM-DD, label: ...}}; got {value!r}")
    out = []
    for i, item in enumerate(value):
        if not isinstance(item, dict) or set(item) - {"date", "label"} or "date" not in item:
            raise ConfigError(f"{where}[{i}] must be {{date: YYYY-MM-DD, label: what changed}}; got {item!r}")
        date = item["date"]
        if isinstance(date, (_dt.date, _dt.datetime)):
            date = date.isoformat()[:10]
        try:
            _dt.date.fromisoformat(str(date).strip())
        except ValueError:
            raise ConfigError(f"{where}[{i}].date is not a date of the form YYYY-MM-DD: {date!r}") from None
        label = str(item.get("label") or f"the change of {date}").strip()
        out.append({"date": str(date).strip(), "label": label})
    return sorted(out, key=lambda c: c["date"])


def _key(v):
    # YAML turns yes/no/true into booleans; value maps are matched on their text.
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)
