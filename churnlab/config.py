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
    activity:                           # the default qualified-activity rule of the notebooks
      events: [report_created, workflow_run]
      min_count: 1

Paths inside the config are relative to the config file.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

TABLE_NAMES = ("accounts", "subscriptions", "users", "events", "exit_interviews", "roadmap")
_TABLE_KEYS = {"file", "columns", "values", "date_format", "reasons"}
_TOP_KEYS = {"tables", "taxonomy", "activity"}


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
        cfg.activity_events = [str(e) for e in act.get("events", [])] or None
        cfg.activity_min_count = int(act["min_count"]) if "min_count" in act else None
    return cfg


def _key(v):
    # YAML turns yes/no/true into booleans; value maps are matched on their text.
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)
