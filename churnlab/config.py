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
        date_format: "%d/%m/%Y"         # when dates are not ISO (Python strptime directives)
        encoding: cp1252                # CSV text encoding when not UTF-8 (e.g. cp1252, cp932 /
                                        # shift_jis, utf-16); default UTF-8, with or without a BOM
        delimiter: ";"                  # CSV field separator: one character, or comma / semicolon /
                                        # tab / pipe; default: detected from the header line
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
    risk:                               # the at-risk save list (each key optional; default from the data)
      high_value_mrr: 2000              # MRR at or above which an account is of high value (default: top 20%)
      low_value_mrr: 300                # MRR below which an account is of low value (default: bottom 40%)
      medium_risk: 0.05                 # churn risk next quarter from which risk is medium (default: 1.5x
                                        # the base rate)
      high_risk: 0.15                   # ... and high (default: 3x the base rate)
      signals_to_act: 2                 # signals firing at once that flag an account (default 2)
    engine:                             # where the events are aggregated (default: DuckDB in memory)
      backend: duckdb                   # duckdb or pyspark
      path: warehouse.duckdb            # duckdb only: a database file (opened read-only) holding tables
      # backend: pyspark
      # master: "local[2]"              # a Spark master URL (local[N], spark://host:7077, yarn ...), or
      # remote: sc://host:15002         # a Spark Connect URL (one of master / remote)
      # conf: {spark.executor.memory: 4g}   # extra Spark settings

With an ``engine`` whose tables hold the data, a table is named instead of a file:
``tables.events.table: analytics.events`` (``catalog.database.table``, ``database.table`` or
``table``). A table source has the same ``columns`` and ``values`` mapping and goes through the same
validation as a file; see :mod:`churnlab.engine`.

Paths inside the config are relative to the config file. When ``--config`` is not given, a file
named ``churnlab.yaml`` in the data folder is used as the data config.

Where a key is absent, the review derives the setting from the data (see
:func:`churnlab.settings.resolve`) and says so in the report.

Mistakes stop with a :class:`ConfigError` naming the file and the key: an unknown table or key, a
``columns`` target that is not a canonical column of the table (or two names mapped onto one), a
``values`` mapping for a column the table does not have, a ``date_format`` with a directive that is
not a date directive (``%Q``), an unknown ``engine`` key or backend, a ``table`` source without
an ``engine`` holding tables (or with ``file`` as well), an unknown ``encoding``, a ``delimiter`` longer than one character, a
missing ``taxonomy`` file, or a ``min_count`` that is not a whole number.
"""
from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

TABLE_NAMES = ("accounts", "subscriptions", "users", "events", "exit_interviews", "roadmap",
               "health_scores", "support_tickets", "nps_responses", "touchpoints")
_TABLE_KEYS = {"file", "table", "columns", "values", "date_format", "reasons", "encoding", "delimiter"}
#: strptime directives accepted in ``date_format`` (Python's, which pandas and DuckDB share).
_DATE_DIRECTIVES = set("aAbBcdfGHIjmMpSuUVwWxXyYzZ%")
_DELIMITER_NAMES = {"comma": ",", "semicolon": ";", "tab": "\t", "pipe": "|"}
_TOP_KEYS = {"tables", "taxonomy", "activity", "analysis", "risk", "engine"}
#: Keys of the ``risk:`` section (the at-risk save list) and the kind of value each takes.
RISK_KEYS = {"high_value_mrr": "amount", "low_value_mrr": "amount", "medium_risk": "share",
             "high_risk": "share", "signals_to_act": "count"}
#: Backends of the ``engine:`` section and the keys each accepts.
ENGINE_KEYS = {"duckdb": {"backend", "path"}, "pyspark": {"backend", "master", "remote", "conf"}}
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
    encoding: str | None = None  # CSV text encoding; None = UTF-8 (BOM or not)
    delimiter: str | None = None  # CSV field separator; None = detected from the header
    table: str | None = None  # a table of the engine (``db.table``) instead of a file


@dataclass
class EngineConfig:
    """The ``engine:`` section: the Ibis backend the events are aggregated in."""

    backend: str = "duckdb"  # duckdb or pyspark
    path: Path | None = None  # duckdb: database file holding tables (None = in memory)
    master: str | None = None  # pyspark: master URL (default local[*])
    remote: str | None = None  # pyspark: Spark Connect URL (sc://host:15002)
    conf: dict = field(default_factory=dict)  # pyspark: extra Spark settings

    @property
    def has_tables(self) -> bool:
        """Whether tables (``tables.<t>.table``) can be read from this engine."""
        return self.backend == "pyspark" or self.path is not None


@dataclass
class Config:
    """A parsed data config. ``Config()`` is the empty config (canonical names throughout)."""

    tables: dict[str, TableConfig] = field(default_factory=dict)
    taxonomy: Path | None = None
    activity_events: list[str] | None = None
    activity_min_count: int | None = None
    analysis: dict = field(default_factory=dict)
    path: Path | None = None
    risk: dict = field(default_factory=dict)
    engine: EngineConfig = field(default_factory=EngineConfig)

    def table(self, name: str) -> TableConfig:
        return self.tables.get(name, TableConfig())


def read_yaml(path, what: str = "data config"):
    """A YAML file's content (``{}`` when empty); any problem reading it is a :class:`ConfigError`
    naming ``what`` and the file."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{what} {path} does not exist")
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8-sig")) or {}
    except yaml.YAMLError as e:
        raise ConfigError(f"{what} {path} is not valid YAML: {e}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{what} {path} is not UTF-8 text; save it as UTF-8") from None
    except ValueError as e:  # YAML reads 2025-13-01 as a date and fails on it
        raise ConfigError(f"{what} {path} holds a date that does not exist ({e}); "
                          "write dates as YYYY-MM-DD") from None
    except OSError as e:
        raise ConfigError(f"{what} {path} cannot be read: {e.strerror or e}") from None


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
    raw = read_yaml(path, "data config")
    if not isinstance(raw, dict):
        raise ConfigError(f"data config {path}: expected a mapping at the top level "
                          f"(keys {', '.join(sorted(_TOP_KEYS))}), not a {type(raw).__name__}")
    unknown = set(raw) - _TOP_KEYS
    if unknown:
        raise ConfigError(f"data config {path}: unknown key(s) {sorted(map(str, unknown))}; "
                          f"allowed: {sorted(_TOP_KEYS)}")
    cfg = Config(path=path)
    tables = raw.get("tables") or {}
    if not isinstance(tables, dict):
        raise ConfigError(f"data config {path}: tables must map table names ({', '.join(TABLE_NAMES)}) "
                          f"to their settings, not be a {type(tables).__name__}")
    for name, spec in tables.items():
        cfg.tables[str(name)] = table_config(path, str(name), spec)
    if raw.get("taxonomy"):
        cfg.taxonomy = _taxonomy_path(path, raw["taxonomy"])
    act = raw.get("activity") or {}
    if act:
        if not isinstance(act, dict):
            raise ConfigError(f"data config {path}: activity must be a mapping (events, min_count)")
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
            cfg.activity_min_count = whole_number(path, "activity.min_count", act["min_count"], minimum=1)
    cfg.analysis = _analysis(raw.get("analysis"), path)
    cfg.risk = _risk(raw.get("risk"), path)
    cfg.engine = engine_config(path, raw.get("engine"))
    for name, t in cfg.tables.items():
        if t.table and not cfg.engine.has_tables:
            raise ConfigError(f"data config {path}: tables.{name}.table names a table ({t.table}), but the "
                              "engine holds no tables: set engine.path (a DuckDB database file) or "
                              "engine.backend: pyspark, or name a file (tables.{name}.file)".replace("{name}", name))
    return cfg


def _check_section(where: str, section, allowed) -> None:
    """A config section must be a mapping of known keys; otherwise a :class:`ConfigError` names them."""
    if not isinstance(section, dict):
        raise ConfigError(f"{where} must be a mapping of settings; allowed keys: {', '.join(allowed)}")
    unknown = set(section) - set(allowed)
    if unknown:
        raise ConfigError(f"{where} has unknown key(s) {sorted(map(str, unknown))}; "
                          f"allowed: {', '.join(allowed)}")


def _risk(section, path) -> dict:
    """Check the ``risk:`` section (thresholds of the at-risk save list) and return it."""
    if not section:
        return {}
    where = f"data config {path}: risk"
    _check_section(where, section, RISK_KEYS)
    out = {}
    for key, value in section.items():
        if value is None:
            continue
        kind = RISK_KEYS[key]
        if kind == "count":
            out[key] = whole_number(path, f"risk.{key}", value, minimum=1)
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where}.{key} must be a number; got {value!r}")
        value = float(value)
        if kind == "share" and not 0 < value < 1:
            raise ConfigError(f"{where}.{key} is a churn probability between 0 and 1 (0.1 = 10%); got {value!r}")
        if kind == "amount" and value < 0:
            raise ConfigError(f"{where}.{key} is an MRR amount and cannot be negative; got {value!r}")
        out[key] = value
    for lo, hi in (("low_value_mrr", "high_value_mrr"), ("medium_risk", "high_risk")):
        if lo in out and hi in out and out[lo] > out[hi]:
            raise ConfigError(f"{where}.{lo} ({out[lo]:g}) is above {hi} ({out[hi]:g}); swap them")
    return out


def engine_config(path, section) -> EngineConfig:
    """Check the ``engine:`` section of the config at ``path`` and return its settings.

    Examples
    --------
    >>> engine_config("c.yaml", {"backend": "pyspark", "master": "local[2]"}).master
    'local[2]'
    >>> engine_config("c.yaml", {"backend": "postgres"})
    Traceback (most recent call last):
    ...
    churnlab.config.ConfigError: data config c.yaml: engine.backend 'postgres' is not a backend; ...
    """
    where = f"data config {path}: engine"
    if section is None:
        return EngineConfig()
    if isinstance(section, str):
        section = {"backend": section}
    if not isinstance(section, dict):
        raise ConfigError(f"{where} must be a mapping (backend: duckdb or pyspark, and its settings), "
                          f"not a {type(section).__name__}: {section!r}")
    backend = str(section.get("backend", "duckdb")).strip().lower()
    backend = {"spark": "pyspark"}.get(backend, backend)
    if backend not in ENGINE_KEYS:
        raise ConfigError(f"{where}.backend {section.get('backend')!r} is not a backend; use one of "
                          f"{', '.join(ENGINE_KEYS)}")
    allowed = ENGINE_KEYS[backend]
    unknown = set(section) - allowed
    if unknown:
        other = {k for k in unknown if any(k in keys for keys in ENGINE_KEYS.values())}
        hint = f" ({', '.join(sorted(map(str, other)))} belong(s) to another backend)" if other else ""
        raise ConfigError(f"{where} has unknown key(s) {sorted(map(str, unknown))} for backend {backend}"
                          f"{hint}; allowed: {sorted(allowed)}")

    def text(key):
        value = section.get(key)
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"{where}.{key} must be a text, not {value!r}")
        return value.strip()

    out = EngineConfig(backend=backend)
    if backend == "duckdb":
        db = text("path")
        if db is not None:
            out.path = (Path(path).parent / db).resolve() if path is not None else Path(db).resolve()
            if not out.path.is_file():
                raise ConfigError(f"{where}.path: the DuckDB database file {out.path} does not exist (the path "
                                  "is relative to the config file)")
        return out
    out.master, out.remote = text("master"), text("remote")
    if out.master and out.remote:
        raise ConfigError(f"{where}: give master (a Spark master URL) or remote (a Spark Connect URL), "
                          "not both")
    if out.remote and not out.remote.startswith("sc://"):
        raise ConfigError(f"{where}.remote {out.remote!r} is not a Spark Connect URL (sc://host:15002)")
    conf = section.get("conf") or {}
    if not isinstance(conf, dict):
        raise ConfigError(f"{where}.conf must be a mapping of Spark settings (spark.x.y: value), not {conf!r}")
    out.conf = {str(k): str(v).lower() if isinstance(v, bool) else str(v) for k, v in conf.items()}
    return out


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


def _analysis(section, path) -> dict:
    """Check the ``analysis:`` section and return it with normalised values."""
    if not section:
        return {}
    where = f"data config {path}: analysis"
    _check_section(where, section, ANALYSIS_KEYS)
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
            out[key] = whole_number(path, f"analysis.{key}", value, minimum=1)
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


def table_config(path, name: str, spec) -> TableConfig:
    """Validate the ``tables.<name>`` section of the config at ``path`` and return its settings."""
    from .schema import TABLES

    where = f"data config {path}: tables.{name}"
    if name not in TABLE_NAMES:
        raise ConfigError(f"data config {path}: tables.{name} is not a churnlab table; "
                          f"tables are {', '.join(TABLE_NAMES)}")
    spec = spec or {}
    if not isinstance(spec, dict):
        raise ConfigError(f"{where} must be a mapping of settings ({', '.join(sorted(_TABLE_KEYS))}), "
                          f"not a {type(spec).__name__}")
    bad = set(spec) - _TABLE_KEYS
    if bad:
        raise ConfigError(f"{where} has unknown key(s) {sorted(map(str, bad))}; "
                          f"allowed: {sorted(_TABLE_KEYS)}")
    canonical = list(TABLES[name].columns)
    columns = _mapping(where, "columns", spec.get("columns"))
    columns = {str(k).strip(): str(v).strip() for k, v in columns.items()}
    seen: dict[str, str] = {}
    for src, target in columns.items():
        if target not in canonical:
            raise ConfigError(f"{where}.columns maps {src!r} to {target!r}, which is not a column of {name}; "
                              f"its columns are {', '.join(canonical)}")
        if target in seen:
            raise ConfigError(f"{where}.columns maps both {seen[target]!r} and {src!r} to {target!r}; "
                              "map only one of them")
        seen[target] = src
    values = {}
    for col, mapping in _mapping(where, "values", spec.get("values")).items():
        col = str(col).strip()
        if col not in canonical:
            hint = f" (the canonical name of {col!r} is {columns[col]!r})" if col in columns else ""
            raise ConfigError(f"{where}.values has a mapping for {col!r}, which is not a column of {name}"
                              f"{hint}; values are mapped per canonical column: {', '.join(canonical)}")
        values[col] = {_key(a): b for a, b in _mapping(f"{where}.values", col, mapping).items()}
    file = spec.get("file")
    if file is not None and (not isinstance(file, str) or not file.strip()):
        raise ConfigError(f"{where}.file must be a file name, not {file!r}")
    source = spec.get("table")
    if source is not None:
        if not isinstance(source, str) or not re.fullmatch(r"[A-Za-z0-9_]+(\.[A-Za-z0-9_]+){0,2}", source.strip()):
            raise ConfigError(f"{where}.table must name a table of the engine as table, database.table or "
                              f"catalog.database.table (letters, digits, _), not {source!r}")
        if file is not None:
            raise ConfigError(f"{where} has both file and table; name one source")
        source = source.strip()
    return TableConfig(file=file, table=source, columns=columns, values=values,
                       date_format=date_format(where, spec.get("date_format")),
                       reasons=spec.get("reasons"), encoding=_encoding(where, spec.get("encoding")),
                       delimiter=_delimiter(where, spec.get("delimiter")))


def _mapping(where, key, value) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"{where}.{key} must be a mapping (your name: canonical name), "
                          f"not a {type(value).__name__}: {value!r}")
    return value


def date_format(where: str, fmt) -> str | None:
    """Check a ``date_format``: text whose ``%`` directives are strptime date/time directives.

    Examples
    --------
    >>> date_format("tables.accounts", "%d/%m/%Y")
    '%d/%m/%Y'
    >>> date_format("tables.accounts", "%Q")
    Traceback (most recent call last):
    ...
    churnlab.config.ConfigError: tables.accounts.date_format '%Q': %Q is not a date directive; ...
    """
    if fmt is None:
        return None
    if not isinstance(fmt, str) or not fmt.strip():
        raise ConfigError(f"{where}.date_format must be a text such as \"%d/%m/%Y\", not {fmt!r}")
    for m in re.finditer(r"%(.?)", fmt.replace("%%", "")):
        if m.group(1) not in _DATE_DIRECTIVES:
            raise ConfigError(f"{where}.date_format {fmt!r}: %{m.group(1)} is not a date directive; "
                              "use strptime directives such as %Y-%m-%d, %d/%m/%Y or %m/%d/%Y %H:%M")
    if not re.search(r"%[djUWVaAcx]|%[yYG]", fmt):
        raise ConfigError(f"{where}.date_format {fmt!r} has no year or day directive (%Y, %d, ...)")
    return fmt


def _encoding(where, enc) -> str | None:
    if enc is None:
        return None
    try:
        return codecs.lookup(str(enc)).name
    except LookupError:
        raise ConfigError(f"{where}.encoding {enc!r} is not a known text encoding; e.g. utf-8, cp1252, "
                          "latin-1, cp932 (Shift-JIS), utf-16") from None


def _delimiter(where, delim) -> str | None:
    if delim is None:
        return None
    d = _DELIMITER_NAMES.get(str(delim).strip().lower(), str(delim))
    if len(d) != 1 or d in "\"\r\n":
        raise ConfigError(f"{where}.delimiter {delim!r} must be one character (e.g. \";\" or \"|\") or one "
                          f"of {', '.join(_DELIMITER_NAMES)}")
    return d


def _taxonomy_path(path: Path, value) -> Path:
    tax = (path.parent / str(value)).resolve()
    if not tax.is_file():
        raise ConfigError(f"data config {path}: taxonomy file {tax} does not exist (the path is relative to "
                          "the config file)")
    return tax


def whole_number(path, key: str, value, *, minimum: int | None = None) -> int:
    """A config value that must be a whole number (``min_count: two`` is a :class:`ConfigError`)."""
    ok = isinstance(value, int) and not isinstance(value, bool)
    if isinstance(value, float) and value.is_integer():
        value, ok = int(value), True
    if not ok or (minimum is not None and value < minimum):
        floor = f" of at least {minimum}" if minimum is not None else ""
        raise ConfigError(f"data config {path}: {key} must be a whole number{floor}, not {value!r}")
    return int(value)


def _key(v):
    # YAML turns yes/no/true into booleans; value maps are matched on their text.
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)
