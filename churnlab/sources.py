"""Load the canonical tables from a data folder, validate them and account for every row.

Small tables (accounts, subscriptions, users, exit interviews, roadmap) come back as pandas frames.
Events stay in the engine: they are exposed as a lazy Ibis table over DuckDB, validated with SQL, and
only ever aggregated there (see :mod:`churnlab.activity`).
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .config import Config, ConfigError, config_for
from .schema import LINE_COL, DataValidationError, TABLES, ExclusionLog

_TRUE = {"true", "t", "yes", "y", "1"}
_FALSE = {"false", "f", "no", "n", "0"}


@dataclass
class Dataset:
    """The validated tables of one data folder. See ``docs/developing.md`` for the attributes."""

    accounts: pd.DataFrame
    subscriptions: pd.DataFrame | None
    users: pd.DataFrame | None
    exit_interviews: pd.DataFrame | None
    roadmap: pd.DataFrame | None
    events: object | None  # ibis.Table
    con: object
    rows: pd.DataFrame
    exclusions: pd.DataFrame
    findings: pd.DataFrame
    data_end: pd.Timestamp
    taxonomy: dict
    source_dir: Path
    config: Config = field(default_factory=Config)

    def has(self, table: str) -> bool:
        """Whether the optional table ``table`` was present in the data folder."""
        return getattr(self, table) is not None


def find_file(data_dir, table: str, config: Config | None = None) -> Path | None:
    """The file holding ``table`` in ``data_dir``: the config's name, else ``<table>.parquet|csv``."""
    data_dir = Path(data_dir)
    name = (config or Config()).table(table).file
    if name:
        path = data_dir / name
        if not path.exists():
            raise ConfigError(f"data config names {path} for table {table}, but it does not exist")
        return path
    for ext in (".parquet", ".csv"):
        if (data_dir / f"{table}{ext}").exists():
            return data_dir / f"{table}{ext}"
    return None


def load(data_dir, config=None) -> Dataset:
    """Load, map and validate the tables in ``data_dir``.

    Parameters
    ----------
    data_dir : path
        Folder with ``accounts.csv|parquet`` and any of the optional tables.
    config : path, Config or None
        Optional YAML data config (see :mod:`churnlab.config`).

    Returns
    -------
    Dataset

    Raises
    ------
    DataValidationError
        For a fatal problem: a missing required column, an unparseable date or number, a value
        outside a column's allowed set, or a reason outside the taxonomy.

    Examples
    --------
    >>> ds = load("data/sample")                    # doctest: +SKIP
    >>> ds.rows[["table", "read", "used", "excluded"]]  # doctest: +SKIP
    """
    from . import reasons as _reasons

    cfg = config_for(data_dir, config)
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise ConfigError(f"data folder {data_dir} does not exist")
    log = ExclusionLog()
    taxonomy = _reasons.load_taxonomy(cfg.taxonomy)

    path = find_file(data_dir, "accounts", cfg)
    if path is None:
        raise DataValidationError("accounts", None, f"no accounts.csv or accounts.parquet in {data_dir} "
                                  "(accounts is the one required table)")
    accounts = _read_small(path, "accounts", cfg, log)
    raw_account_ids = set(accounts["account_id"].dropna())
    accounts = _check_accounts(accounts, path, log)
    known = set(accounts["account_id"])

    small = {}
    for table in ("subscriptions", "users", "exit_interviews", "roadmap"):
        p = find_file(data_dir, table, cfg)
        if p is None:
            small[table] = None
            continue
        df = _read_small(p, table, cfg, log)
        if "account_id" in TABLES[table].columns:
            df = _drop_unknown_accounts(df, table, p, known, raw_account_ids, log)
        if table == "exit_interviews":
            df = _reasons.normalise_reasons(df, taxonomy=taxonomy, mapping=cfg.table(table).reasons,
                                            file=p.name)
            df = _check_interviews(df, p, log)
        if table == "subscriptions":
            df = _exclude(df, df["mrr"] < 0, "subscriptions", p, "negative mrr", log)
        if table == "roadmap":
            _check_roadmap(df, p, taxonomy)
        log.used(table, len(df))
        small[table] = df.reset_index(drop=True)

    con, events, ev_end = _load_events(data_dir, cfg, accounts, raw_account_ids, log)

    ends = [accounts[c].max() for c in ("signup_date", "churn_date") if c in accounts]
    if small["subscriptions"] is not None and len(small["subscriptions"]):
        ends.append(small["subscriptions"]["month"].max() + pd.offsets.MonthEnd(0))
    if ev_end is not None:
        ends.append(ev_end)
    data_end = max(pd.Timestamp(e).normalize() for e in ends if pd.notna(e))

    return Dataset(accounts=accounts.reset_index(drop=True), subscriptions=small["subscriptions"],
                   users=small["users"], exit_interviews=small["exit_interviews"],
                   roadmap=small["roadmap"], events=events, con=con, rows=log.rows(),
                   exclusions=log.exclusions(), findings=log.findings(), data_end=data_end,
                   taxonomy=taxonomy, source_dir=data_dir, config=cfg)


# --------------------------------------------------------------------------- small tables


def _read_small(path: Path, table: str, cfg: Config, log: ExclusionLog) -> pd.DataFrame:
    spec = TABLES[table]
    tcfg = cfg.table(table)
    if path.suffix.lower() == ".parquet":
        raw = pd.read_parquet(path)
        raw[LINE_COL] = np.arange(1, len(raw) + 1)
        line_word = "row"
    else:
        raw = _read_csv_with_lines(path)
        line_word = "line"
    raw = raw.rename(columns={k: v for k, v in tcfg.columns.items()})
    missing = [c for c in spec.required if c not in raw.columns]
    if missing:
        have = ", ".join(c for c in raw.columns if c != LINE_COL)
        hint = " (map your column names in the data config: tables.%s.columns)" % table
        raise DataValidationError(table, missing[0], f"required column{'s' if len(missing) > 1 else ''} "
                                  f"{', '.join(repr(m) for m in missing)} missing; the file has: {have}{hint}",
                                  file=path.name)
    df = raw[[c for c in spec.columns if c in raw.columns] + [LINE_COL]].copy()
    log.read(table, path.name, len(df))
    df.attrs["line_word"] = line_word

    for col, mapping in tcfg.values.items():
        if col in df.columns and col not in ("primary_reason", "secondary_reason"):
            df[col] = df[col].map(lambda v, m=mapping: m.get(str(v), v) if pd.notna(v) else v)

    for col, kind in spec.columns.items():
        if col not in df.columns:
            continue
        df[col] = _parse(df, col, kind, table, path, tcfg.date_format)
    for col, allowed in spec.allowed.items():
        if col in df.columns:
            bad = df[col].notna() & ~df[col].isin(allowed)
            if bad.any():
                vals = sorted(df.loc[bad, col].astype(str).unique())
                raise DataValidationError(
                    table, col, f"have values outside {sorted(allowed)}: {', '.join(map(repr, vals[:10]))} "
                    f"(map them in the data config: tables.{table}.values.{col})",
                    file=path.name, rows=int(bad.sum()), examples=df.loc[bad, _example_cols(df, col)])

    key_missing = df[list(spec.key)].isna().any(axis=1) if spec.key else pd.Series(False, index=df.index)
    df = _exclude(df, key_missing, table, path, f"missing {' / '.join(spec.key)}", log)
    if spec.key:
        dup = df.duplicated(list(spec.key), keep="first")
        df = _exclude(df, dup, table, path, f"duplicate {' + '.join(spec.key)} (first kept)", log)
    return df


def _read_csv_with_lines(path: Path) -> pd.DataFrame:
    """Read a CSV as text, with each record's physical starting line in ``_line``."""
    text = path.read_text(encoding="utf-8-sig")
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except StopIteration:
        return pd.DataFrame({LINE_COL: []})
    rows, lines = [], []
    start = reader.line_num + 1
    for rec in reader:
        if rec:
            rows.append(rec + [""] * (len(header) - len(rec)) if len(rec) < len(header) else rec[:len(header)])
            lines.append(start)
        start = reader.line_num + 1
    df = pd.DataFrame(rows, columns=[h.strip() for h in header], dtype=object)
    df = df.replace({"": None})
    df[LINE_COL] = lines
    return df


def _parse(df, col, kind, table, path, date_format):
    s = df[col]
    if kind == "str" or s.dtype == object or pd.api.types.is_string_dtype(s):
        # text is trimmed in Arrow (vectorised), and blank text counts as missing
        text = s.astype("string[pyarrow]").str.strip() if not pd.api.types.is_datetime64_any_dtype(s) else None
        present = text.notna() & (text != "") if text is not None else s.notna()
        present = present.fillna(False).astype(bool)
    else:
        text, present = None, s.notna()
    if kind == "str":
        return text.astype(object).where(present, None)
    if kind in ("date", "timestamp"):
        if pd.api.types.is_datetime64_any_dtype(s):
            out = s.dt.tz_convert("UTC").dt.tz_localize(None) if getattr(s.dt, "tz", None) else s
        else:
            txt = text.where(present)
            fmt = date_format or "ISO8601"
            out = pd.to_datetime(txt, format=fmt, errors="coerce", utc=True).dt.tz_localize(None)
            bad = present & out.isna()
            if bad.any():
                want = f"dates like {date_format}" if date_format else "ISO dates (YYYY-MM-DD)"
                raise DataValidationError(
                    table, col, f"cannot be read as a date (expected {want}; set tables.{table}."
                    "date_format in the data config for another format)", file=path.name,
                    rows=int(bad.sum()), examples=df.loc[bad, _example_cols(df, col)])
        out = out.astype("datetime64[ns]")
        return out.dt.normalize() if kind == "date" else out
    if kind in ("float", "int"):
        out = pd.to_numeric((text.astype(object) if text is not None else s).where(present), errors="coerce")
        bad = present & out.isna()
        if bad.any():
            raise DataValidationError(table, col, "are not numbers", file=path.name, rows=int(bad.sum()),
                                      examples=df.loc[bad, _example_cols(df, col)])
        return out.astype("Int64") if kind == "int" and (out.dropna() % 1 == 0).all() else out.astype(float)
    if kind == "bool":
        if pd.api.types.is_bool_dtype(s):
            return s.astype("boolean")
        low = text.where(present).str.lower()
        out = pd.Series(pd.NA, index=s.index, dtype="boolean")
        out[low.isin(_TRUE).fillna(False).astype(bool)] = True
        out[low.isin(_FALSE).fillna(False).astype(bool)] = False
        bad = present & out.isna()
        if bad.any():
            raise DataValidationError(table, col, "are not true/false values", file=path.name,
                                      rows=int(bad.sum()), examples=df.loc[bad, _example_cols(df, col)])
        return out
    raise AssertionError(kind)


def _example_cols(df, col):
    cols = [LINE_COL] + [c for c in ("account_id", "user_id") if c in df.columns and c != col] + [col]
    return list(dict.fromkeys(cols))


def _exclude(df, mask, table, path, reason, log: ExclusionLog, extra_cols=()):
    mask = mask.fillna(False).astype(bool)
    if mask.any():
        cols = [c for c in [LINE_COL, *TABLES[table].key, *extra_cols] if c in df.columns]
        log.exclude(table, path.name, reason, int(mask.sum()), df.loc[mask, list(dict.fromkeys(cols))])
    return df.loc[~mask]


def _check_accounts(df, path, log):
    if "churn_date" in df:
        bad = df["churn_date"].notna() & (df["churn_date"] < df["signup_date"])
        df = _exclude(df, bad, "accounts", path, "churn_date before signup_date", log,
                      extra_cols=("signup_date", "churn_date"))
    if "mrr" in df:
        df = _exclude(df, df["mrr"] < 0, "accounts", path, "negative mrr", log, extra_cols=("mrr",))
    if "cancel_date" in df:
        bad = df["cancel_date"].notna() & (df["cancel_date"] < df["signup_date"])
        df = _exclude(df, bad, "accounts", path, "cancel_date before signup_date", log,
                      extra_cols=("signup_date", "cancel_date"))
    if "contract" in df:
        df = _normalise_contracts(df, path, log)
    log.used("accounts", len(df))
    return df


def _normalise_contracts(df, path, log):
    """Contract terms to normalised labels and ``contract_months``; unknown labels kept, with a finding."""
    from .contracts import normalise_contracts

    df = df.copy()
    labels, months, unknown = normalise_contracts(df["contract"])
    if unknown.any():
        vals = sorted(df.loc[unknown, "contract"].astype(str).unique())
        log.fix("accounts", path.name, "contract terms not recognised, kept as labels without a term length: "
                + ", ".join(map(repr, vals[:10])) + " (map them in tables.accounts.values.contract)",
                int(unknown.sum()), df.loc[unknown, [LINE_COL, "account_id", "contract"]], severity="kept")
    df["contract"] = labels
    df["contract_months"] = months
    return df


def _check_roadmap(df, path, taxonomy):
    known = {s for p in taxonomy["primary"].values() for s in p.get("secondary", {})}
    bad = df["secondary_reason"].notna() & ~df["secondary_reason"].isin(known)
    if bad.any():
        vals = sorted(df.loc[bad, "secondary_reason"].unique())
        raise DataValidationError("roadmap", "secondary_reason", "name reasons outside the taxonomy: "
                                  + ", ".join(map(repr, vals)), file=path.name, rows=int(bad.sum()),
                                  examples=df.loc[bad, [LINE_COL, "item", "secondary_reason"]])


def _drop_unknown_accounts(df, table, path, known, raw_ids, log):
    unknown = ~df["account_id"].isin(known)
    in_raw = df["account_id"].isin(raw_ids)
    df2 = _exclude(df, unknown & ~in_raw, table, path, "unknown account_id", log, ("account_id",))
    return _exclude(df2, ~df2["account_id"].isin(known), table, path,
                    "account excluded from accounts", log, ("account_id",))


def _check_interviews(df, path, log):
    if "recommend_score" in df:
        out = df["recommend_score"].notna() & ~df["recommend_score"].between(0, 10)
        if out.any():
            log.fix("exit_interviews", path.name, "recommend_score outside 0-10 set to missing",
                    int(out.sum()), df.loc[out, [LINE_COL, "account_id", "recommend_score"]])
            df = df.copy()
            df.loc[out, "recommend_score"] = np.nan
    if "completed_at" in df:
        bad = df["completed_at"].notna() & (df["completed_at"] < df["invited_at"])
        if bad.any():
            log.fix("exit_interviews", path.name, "completed_at before invited_at (kept as completed)",
                    int(bad.sum()), df.loc[bad, [LINE_COL, "account_id", "invited_at", "completed_at"]])
    return df


# --------------------------------------------------------------------------- events (engine)


def connect():
    """A fresh in-memory DuckDB connection through Ibis, with UTC as its time zone."""
    import ibis

    con = ibis.duckdb.connect()
    con.raw_sql("SET TimeZone = 'UTC'")
    return con


def register_frame(con, name: str, frame: pd.DataFrame):
    """Copy a pandas frame into the engine as table ``name`` (replacing it) and return it as Ibis."""
    tmp = f"_churnlab_{name}_df"
    con.con.register(tmp, frame)
    try:
        con.raw_sql(f"CREATE OR REPLACE TABLE {_q(name)} AS SELECT * FROM {_q(tmp)}")
    finally:
        con.con.unregister(tmp)
    return con.table(name)


def _q(name: str) -> str:
    return '"' + str(name).replace('"', '""') + '"'


def _lit(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def _load_events(data_dir, cfg, accounts, raw_ids, log):
    con = connect()
    acc_cols = [c for c in ("account_id", "signup_date", "churn_date", "cancel_date", "segment", "plan",
                            "contract", "contract_months", "industry", "region", "acquisition_channel", "seats", "mrr")
                if c in accounts.columns]
    register_frame(con, "accounts", accounts[acc_cols].astype({"account_id": str}))
    register_frame(con, "raw_account_ids", pd.DataFrame({"account_id": sorted(map(str, raw_ids))}))
    path = find_file(data_dir, "events", cfg)
    if path is None:
        return con, None, None
    spec = TABLES["events"]
    tcfg = cfg.table("events")
    if path.suffix.lower() == ".parquet":
        src = f"read_parquet({_lit(path.resolve())}, file_row_number = true)"
        line_expr = "file_row_number + 1"
        line_word = "row"
    else:
        src = f"read_csv({_lit(path.resolve())}, all_varchar = true, header = true)"
        line_expr = "row_number() OVER () + 1"
        line_word = "line"
    cols = [r[0] for r in con.raw_sql(f"DESCRIBE SELECT * FROM {src}").fetchall()]
    types = {r[0]: r[1] for r in con.raw_sql(f"DESCRIBE SELECT * FROM {src}").fetchall()}
    inv = {k: v for k, v in tcfg.columns.items()}
    canon = {inv.get(c, c): c for c in cols}
    missing = [c for c in spec.required if c not in canon]
    if missing:
        raise DataValidationError("events", missing[0], f"required column(s) {', '.join(map(repr, missing))} "
                                  f"missing; the file has: {', '.join(c for c in cols if c != 'file_row_number')}"
                                  " (map your column names in the data config: tables.events.columns)",
                                  file=path.name)
    ts_src, ts_type = _q(canon["ts"]), types[canon["ts"]].upper()
    if "TIME ZONE" in ts_type:
        ts_expr = f"({ts_src} AT TIME ZONE 'UTC')"
    elif ts_type.startswith("TIMESTAMP"):
        ts_expr = f"CAST({ts_src} AS TIMESTAMP)"
    elif ts_type == "DATE":
        ts_expr = f"CAST({ts_src} AS TIMESTAMP)"
    else:
        ts_expr = f"(TRY_CAST({ts_src} AS TIMESTAMPTZ) AT TIME ZONE 'UTC')"
    sel = [f"CAST({_q(canon['account_id'])} AS VARCHAR) AS account_id", f"{ts_expr} AS ts",
           f"CAST({_q(canon['event'])} AS VARCHAR) AS event"]
    sel.append(f"CAST({_q(canon['user_id'])} AS VARCHAR) AS user_id" if "user_id" in canon
               else "CAST(NULL AS VARCHAR) AS user_id")
    sel.append(f"TRY_CAST({_q(canon['value'])} AS DOUBLE) AS value" if "value" in canon
               else "CAST(NULL AS DOUBLE) AS value")
    raw_ts = f"{ts_src} AS ts_raw"
    con.raw_sql(f"CREATE OR REPLACE VIEW events_src AS SELECT {', '.join(sel)}, {raw_ts}, "
                f"{line_expr} AS _line FROM {src}")

    # One pass over the events, grouped by account: joining the (small) per-account result to the
    # account lists is far cheaper than joining every event row.
    con.raw_sql("""
        CREATE OR REPLACE TEMP TABLE _events_by_account AS
        SELECT account_id, count(*) AS n,
               count(*) FILTER (WHERE ts IS NULL AND ts_raw IS NOT NULL) AS bad_ts,
               count(*) FILTER (WHERE account_id IS NULL OR ts_raw IS NULL OR event IS NULL) AS missing,
               max(ts) AS ts_max
        FROM events_src GROUP BY account_id""")
    con.raw_sql("""
        CREATE OR REPLACE TEMP TABLE _events_by_account_status AS
        SELECT g.*, CASE WHEN g.account_id IS NULL THEN 'none'
                         WHEN r.account_id IS NULL THEN 'unknown account_id'
                         WHEN a.account_id IS NULL THEN 'account excluded from accounts'
                         ELSE 'ok' END AS status
        FROM _events_by_account g
        LEFT JOIN raw_account_ids r ON g.account_id = r.account_id
        LEFT JOIN (SELECT account_id FROM accounts) a ON g.account_id = a.account_id""")
    n, bad_ts, missing, ts_max = con.raw_sql(
        "SELECT sum(n), sum(bad_ts), sum(missing), max(ts_max) FROM _events_by_account").fetchone()
    n, bad_ts, missing = int(n or 0), int(bad_ts or 0), int(missing or 0)
    log.read("events", path.name, n)
    ts_text = "COALESCE(CAST(date_trunc('second', ts) AS VARCHAR), CAST(ts_raw AS VARCHAR)) AS ts"

    def examples(where):
        ex = con.raw_sql(f"SELECT _line, account_id, {ts_text}, event FROM events_src WHERE {where} "
                         "ORDER BY _line LIMIT 5").df()
        ex.attrs["line_word"] = line_word
        return ex

    if bad_ts:
        raise DataValidationError("events", "ts", "cannot be read as a timestamp (expected ISO 8601, "
                                  "UTC unless an offset is given)", file=path.name, rows=bad_ts,
                                  examples=examples("ts IS NULL AND ts_raw IS NOT NULL"))
    if missing:
        log.exclude("events", path.name, "missing account_id / ts / event", missing,
                    examples("account_id IS NULL OR ts_raw IS NULL OR event IS NULL"))
    for reason in ("unknown account_id", "account excluded from accounts"):
        k = con.raw_sql(f"SELECT sum(n - missing) FROM _events_by_account_status "
                        f"WHERE status = {_lit(reason)}").fetchone()[0]
        if k:
            ids = [r[0] for r in con.raw_sql(f"SELECT account_id FROM _events_by_account_status WHERE "
                                             f"status = {_lit(reason)} ORDER BY account_id LIMIT 5").fetchall()]
            where = (f"account_id IN ({', '.join(map(_lit, ids))}) AND ts_raw IS NOT NULL AND event IS NOT NULL")
            log.exclude("events", path.name, reason, int(k), examples(where))
    valid = "account_id IS NOT NULL AND ts IS NOT NULL AND event IS NOT NULL"
    excluded_ids = ("SELECT account_id FROM _events_by_account_status "
                    "WHERE status IN ('unknown account_id', 'account excluded from accounts')")
    con.raw_sql(f"CREATE OR REPLACE VIEW events AS SELECT account_id, ts, event, user_id, value "
                f"FROM events_src WHERE {valid} AND account_id NOT IN ({excluded_ids})")
    log.used("events", n - log.excluded_count("events"))
    return con, con.table("events"), (pd.Timestamp(ts_max) if ts_max is not None else None)


def coverage(dataset: Dataset) -> pd.DataFrame:
    """What each table covers: ``table, rows, first, last`` (dates of its main date column).

    Examples
    --------
    >>> coverage(load("data/sample"))             # doctest: +SKIP
    """
    out = []
    date_col = {"accounts": "signup_date", "subscriptions": "month", "users": "created_at",
                "exit_interviews": "invited_at", "roadmap": "shipped_at"}
    for table, col in date_col.items():
        df = getattr(dataset, table)
        if df is None:
            out.append({"table": table, "rows": None, "first": None, "last": None, "present": "no"})
            continue
        s = df[col] if col in df else pd.Series(dtype="datetime64[ns]")
        out.append({"table": table, "rows": len(df), "first": s.min(), "last": s.max(), "present": "yes"})
    if dataset.events is not None:
        t = dataset.events
        r = t.aggregate(n=t.count(), first=t.ts.min(), last=t.ts.max()).execute().iloc[0]
        out.append({"table": "events", "rows": int(r["n"]), "first": r["first"], "last": r["last"],
                    "present": "yes"})
    else:
        out.append({"table": "events", "rows": None, "first": None, "last": None, "present": "no"})
    df = pd.DataFrame(out)
    for c in ("first", "last"):
        df[c] = pd.to_datetime(df[c]).dt.date
    return df
