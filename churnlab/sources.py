"""Load the canonical tables from a data folder, validate them and account for every row.

Small tables (accounts, subscriptions, users, exit interviews, roadmap) come back as pandas frames.
Events stay in the engine: they are exposed as a lazy Ibis table over DuckDB, validated with SQL, and
only ever aggregated there (see :mod:`churnlab.activity`).

Every file is read whole or not at all. A CSV is decoded (UTF-8 with or without BOM, UTF-16 with
BOM, or ``tables.<t>.encoding``), split on its delimiter (``tables.<t>.delimiter``, a spreadsheet's
``sep=`` line, or the one that splits the header best), and its records are checked against its
physical lines: a record with another number of fields than the header, a quoted field that never
closes, or one that swallows lines looking like records stops with the line numbers, so the rows
read are the file's records. Input that cannot be used raises :class:`DataValidationError` or
:class:`~churnlab.config.ConfigError`, never a bare library exception; every other problem is a
counted exclusion or a finding (see ``README.md``, "What happens to bad rows").
"""
from __future__ import annotations

import codecs
import csv
import io
import itertools
import os
import re
import stat
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from . import engine
from .config import Config, ConfigError, config_for
from .schema import LINE_COL, SUCCESS_TABLES, DataValidationError, TABLES, ExclusionLog

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
    extraction_date: pd.Timestamp | None = None  # rows dated later are excluded or flagged
    health_scores: pd.DataFrame | None = None      # customer-success tables (optional)
    support_tickets: pd.DataFrame | None = None
    nps_responses: pd.DataFrame | None = None
    touchpoints: pd.DataFrame | None = None

    def has(self, table: str) -> bool:
        """Whether the optional table ``table`` was present in the data folder."""
        return getattr(self, table) is not None


def find_file(data_dir, table: str, config: Config | None = None) -> Path | None:
    """The file holding ``table`` in ``data_dir``: the config's name, else ``<table>.parquet|csv``.

    Both ``<table>.csv`` and ``<table>.parquet`` present is an error (which one is current is
    ambiguous), and so is a path that is a folder or a symbolic link that cannot be followed.
    """
    data_dir = Path(data_dir)
    ref = engine.source(config or Config(), table)
    if ref is not None:  # a table of the engine (tables.<t>.table)
        return ref
    name = (config or Config()).table(table).file
    if name:
        path = data_dir / name
        if not os.path.lexists(path):
            raise ConfigError(f"data config names {path} for table {table} (tables.{table}.file), "
                              "but it does not exist")
        return _check_path(path, table)
    found = [data_dir / f"{table}{ext}" for ext in (".parquet", ".csv") if os.path.lexists(data_dir / f"{table}{ext}")]
    if len(found) > 1:
        raise DataValidationError(
            table, None, f"both {found[0].name} and {found[1].name} are in {data_dir}, and which one is "
            f"current is ambiguous: remove or rename the stale one, or name the file in the data config "
            f"(tables.{table}.file)", file=f"{found[0].name}, {found[1].name}")
    return _check_path(found[0], table) if found else None


def _near_files(data_dir: Path, table: str) -> list[str]:
    """Files in ``data_dir`` that look like ``table`` under another name (``Users.CSV``, ``users.xlsx``)."""
    stem = table.replace("_", "").lower()
    try:
        names = sorted(p.name for p in Path(data_dir).iterdir() if not p.name.startswith("."))
    except OSError:
        return []
    return [n for n in names if n.split(".")[0].replace("_", "").replace("-", "").replace(" ", "").lower() == stem
            and n not in (f"{table}.csv", f"{table}.parquet")]


def _note_near_files(data_dir, table, log):
    for name in _near_files(data_dir, table):
        log.note(table, name, f"looks like the {table} table but is not read (only {table}.csv or "
                 f"{table}.parquet are): rename it, or name it in tables.{table}.file; {table} is treated as "
                 "absent")


def _check_path(path: Path, table: str) -> Path:
    try:
        st = path.stat()
    except OSError as e:
        what = ("is a symbolic link that cannot be followed (a link loop or a missing target)"
                if path.is_symlink() else f"cannot be opened ({e.strerror or e})")
        raise DataValidationError(table, None, f"{path} {what}: replace it with the {table} file",
                                  file=path.name) from None
    if stat.S_ISDIR(st.st_mode):
        if path.suffix.lower() == ".parquet" and next(path.rglob("*.parquet"), None) is not None:
            return path  # a Parquet dataset: a folder of part files, read as one table
        raise DataValidationError(table, None, f"{path} is a folder, not a file: put the {table} table in "
                                  f"one CSV or Parquet file, or a folder of Parquet part files named "
                                  f"{table}.parquet (or name it in tables.{table}.file)", file=path.name)
    if not stat.S_ISREG(st.st_mode):
        raise DataValidationError(table, None, f"{path} is not a regular file", file=path.name)
    return path


def load(data_dir, config=None, *, extraction_date=None) -> Dataset:
    """Load, map and validate the tables in ``data_dir``.

    Parameters
    ----------
    data_dir : path
        Folder with ``accounts.csv|parquet`` and any of the optional tables.
    config : path, Config or None
        Optional YAML data config (see :mod:`churnlab.config`).
    extraction_date : date-like, optional
        When the data was exported; default today (UTC), or the data's own last day when the
        computer's clock is before much of the data (see :func:`estimate_extraction_date`). Nothing
        can have happened after it: rows
        dated later (a signup, a month, an event, an invitation) are excluded with a counted reason,
        and a later ``churn_date`` / ``deactivated_at`` is kept as a scheduled date but flagged. The
        end of the data (``data_end``) never goes past it.

    Returns
    -------
    Dataset

    Raises
    ------
    DataValidationError
        For a fatal problem: a file that cannot be read as CSV or Parquet (encoding, NUL bytes,
        ragged rows, a stray quote), a missing required column, an unparseable date or number, a
        value outside a column's allowed set, a reason outside the taxonomy, ids mangled by a
        spreadsheet, or an accounts table without rows.
    ConfigError
        For a mistake in the data config.

    Examples
    --------
    >>> ds = load("data/sample")                    # doctest: +SKIP
    >>> ds.rows[["table", "read", "used", "excluded"]]  # doctest: +SKIP
    """
    snapshot = _review_snapshot(data_dir, config, extraction_date)
    if snapshot is not None:  # validated once by ``churnlab review``: opened, not read again
        return open_snapshot(snapshot)
    cfg = config_for(data_dir, config)
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise ConfigError(f"data folder {data_dir} does not exist or is not a folder")
    log = ExclusionLog()
    taxonomy = _load_taxonomy(cfg)

    path = find_file(data_dir, "accounts", cfg)
    if path is None:
        near = _near_files(data_dir, "accounts")
        seen = f"; the folder has {', '.join(near)}: rename it, or name it in tables.accounts.file" if near else ""
        raise DataValidationError("accounts", None, f"not found in {data_dir} (accounts is the one required "
                                  f"table){seen}", file="accounts.csv or accounts.parquet")
    # The events file is opened first, and its one full pass starts on a background connection
    # while the small tables are read (DuckDB works on its own threads; reading the tables is mostly
    # single-threaded). What the events say and any error they raise still come after the tables.
    con = connect()
    ev_log, ev, ev_error = ExclusionLog(), None, None
    try:
        ev = _open_events(con, data_dir, cfg, ev_log)
    except (DataValidationError, ConfigError) as e:
        ev_error = e
    prescan = _EventsPrescan.start(ev, _likely_extraction(extraction_date))
    try:
        accounts = _text_as_objects(_read_small(path, "accounts", cfg, log), "accounts")
        raw = {}
        for table in ("subscriptions", "users", "exit_interviews", "roadmap", *SUCCESS_TABLES):
            p = find_file(data_dir, table, cfg)
            if p is None:
                _note_near_files(data_dir, table, log)
            raw[table] = (p, _read_small(p, table, cfg, log) if p is not None else None)
    except BaseException:
        prescan.cancel()
        raise
    log.merge(ev_log)
    if ev_error is not None:
        prescan.cancel()
        raise ev_error
    if ev is not None:
        ev["prescan"] = prescan
    if extraction_date is not None:
        extraction = pd.Timestamp(extraction_date).normalize()
    else:
        frames = {"accounts": accounts, **{t: df for t, (_, df) in raw.items()}}
        days = [_days(df, _HAPPENED.get(t, ())) for t, df in frames.items() if df is not None]
        days = [d for d in days if len(d)]
        extraction, clock = estimate_extraction_date(pd.concat(days) if days else pd.Series(dtype="int64"))
        if not clock and ev is not None:  # only then is the (full) pass over the events worth it
            days = [d for d in days + [_event_days(con, ev)] if len(d)]
            extraction, clock = estimate_extraction_date(pd.concat(days))
        if not clock:
            log.note("accounts", path.name, f"the computer's date ({pd.Timestamp.now(tz='UTC').date()}) is before "
                     f"much of the data, so the extraction date is the data's own last date ({extraction.date()})")

    # every id of the accounts file, those of rows excluded while it was read included
    raw_account_ids = _IdSet(accounts["account_id"].dropna())
    raw_account_ids.update(log.excluded_accounts)
    accounts = _check_accounts(accounts, path, log, extraction)
    known = _IdSet(accounts["account_id"])
    churned = (set(accounts.loc[accounts["churn_date"].notna(), "account_id"])
               if "churn_date" in accounts else set())

    small = {}
    for table, (p, df) in raw.items():
        if df is None:
            small[table] = None
            continue
        if "account_id" in TABLES[table].columns:
            df = _drop_unknown_accounts(df, table, p, known, raw_account_ids, log, accounts_file=path.name)
        df = _text_as_objects(_exclude_future(df, table, p, extraction, log), table)
        if table == "exit_interviews":
            # An interview belongs to the quarter of its account's churn_date: without one it would
            # be counted as read and used but appear in no analysis. When the accounts have no
            # churn_date column, churn is inferred from inactivity later, and every interview is kept.
            if "churn_date" in accounts:
                df = _exclude(df, ~df["account_id"].isin(churned), table, p,
                              "account has not churned (no churn_date in accounts)", log, ("account_id",))
            df = _normalise_reasons(df, taxonomy, cfg.table(table).reasons, p)
            df = _check_interviews(df, p, log)
        if table == "subscriptions":
            df = _exclude(df, df["mrr"] < 0, "subscriptions", p, "negative mrr", log, ("mrr",))
        if table == "roadmap":
            _check_roadmap(df, p, taxonomy)
        if table in SUCCESS_TABLES:
            df = _check_success(df, table, p, log)
        log.used(table, len(df))
        small[table] = _absent_if_unused(_fresh_index(df), table, p, log)

    try:
        events, ev_end = _load_events(con, ev, accounts, raw_account_ids, log, extraction, path.name)
    finally:
        prescan.cancel()
    events = engine.events_to_engine(cfg, events)

    ends = [accounts["signup_date"].max()]
    if "churn_date" in accounts:
        ends.append(accounts.loc[accounts["churn_date"] <= extraction, "churn_date"].max())
    if small["subscriptions"] is not None and len(small["subscriptions"]):
        ends.append(small["subscriptions"]["month"].max() + pd.offsets.MonthEnd(0))
    if ev_end is not None:
        ends.append(ev_end)
    data_end = min(max(pd.Timestamp(e).normalize() for e in ends if pd.notna(e)), extraction)

    return Dataset(accounts=_fresh_index(accounts), subscriptions=small["subscriptions"],
                   users=small["users"], exit_interviews=small["exit_interviews"],
                   roadmap=small["roadmap"], events=events, con=con, rows=log.rows(),
                   exclusions=log.exclusions(), findings=log.findings(), data_end=data_end,
                   taxonomy=taxonomy, source_dir=data_dir, config=cfg, extraction_date=extraction,
                   **{t: small[t] for t in SUCCESS_TABLES})


def _fresh_index(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` indexed 0..n-1 (copied only when rows were excluded)."""
    if df.index.equals(pd.RangeIndex(len(df))):
        return df
    # a frame the load made itself (rows taken out by ``_exclude``): the index is replaced without
    # copying every column, which ``reset_index`` would do
    return df.set_axis(pd.RangeIndex(len(df)), axis=0, copy=False)


def _days(df: pd.DataFrame, cols) -> pd.Series:
    """Rows per day in the date columns ``cols`` of ``df`` (index: the day; in no particular order)."""
    parts = []
    for c in cols:
        if c not in df or not df[c].notna().any():
            continue
        if df[c].dtype != "datetime64[ns]":
            parts.append(df[c].dropna().dt.normalize().value_counts())
            continue
        # counted on whole-day numbers: no per-row timestamp arithmetic in pandas
        ns = df[c].to_numpy()
        day = ns[~np.isnat(ns)].view("i8") // 86_400_000_000_000
        first = int(day.min())
        counts = np.bincount(day - first)
        seen = np.flatnonzero(counts)
        index = pd.DatetimeIndex((seen + first).astype("datetime64[D]").astype("datetime64[ns]"))
        parts.append(pd.Series(counts[seen].astype("int64"), index=index))
    return pd.concat(parts) if parts else pd.Series(dtype="int64")


def estimate_extraction_date(days: pd.Series, today=None) -> tuple[pd.Timestamp, bool]:
    """When the data was exported: today, unless the computer's clock is before much of the data.

    Parameters
    ----------
    days : Series
        Rows per day (index: day) of every date that records something that happened (signups,
        cancellations, subscription months, user creations, events, exit interviews).
    today : date-like, optional
        The computer's date; default today (UTC).

    Returns
    -------
    (Timestamp, bool)
        The extraction date, and whether it is the computer's date. It is today when at most 1%
        of the dated rows (or 5 rows) are later; otherwise the clock cannot be right, and it is the
        data's last day, ignoring a few rows (at most 1%, or 5) that lie 180 days or more beyond
        the rest (a 2031 typo in data that runs to 2026).

    Examples
    --------
    >>> d = pd.Series([100, 100, 1], index=pd.to_datetime(["2026-06-01", "2026-09-30", "2031-01-01"]))
    >>> estimate_extraction_date(d, today="2026-12-01")
    (Timestamp('2026-12-01 00:00:00'), True)
    >>> estimate_extraction_date(d, today="2025-01-01")
    (Timestamp('2026-09-30 00:00:00'), False)
    """
    today = (pd.Timestamp(today) if today is not None else pd.Timestamp.now(tz="UTC").tz_localize(None)).normalize()
    days = days.groupby(level=0).sum().sort_index() if len(days) else days
    few = max(5, 0.01 * float(days.sum())) if len(days) else 0
    if not len(days) or days[days.index > today].sum() <= few:
        return today, True
    end, tail = days.index[-1], 0
    for i in range(len(days) - 1, 0, -1):
        tail += days.iloc[i]
        if tail > few:
            break
        if (days.index[i] - days.index[i - 1]).days >= 180:
            end = days.index[i - 1]
    return pd.Timestamp(end).normalize(), False


def _load_taxonomy(cfg):
    from . import reasons as _reasons

    try:
        return _reasons.load_taxonomy(cfg.taxonomy)
    except (ValueError, OSError) as e:
        raise ConfigError(f"data config {cfg.path}: taxonomy: {e}") from None


def _normalise_reasons(df, taxonomy, mapping, path):
    from . import reasons as _reasons

    try:
        return _reasons.normalise_reasons(df, taxonomy=taxonomy, mapping=mapping, file=path.name)
    except DataValidationError:
        raise
    except ValueError as e:
        raise ConfigError(f"data config: tables.exit_interviews.reasons: {e}") from None


# --------------------------------------------------------------------------- small tables

#: Largest CSV field read (Python's csv stops at 128 KiB by default; a long verbatim is legitimate).
MAX_FIELD = 64 * 1024 * 1024
_MAX_NAME = 256  # a longer column name means the header is not a header
_DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
_NONFINITE = {"inf", "+inf", "-inf", "infinity", "+infinity", "-infinity", "nan", "+nan", "-nan"}
_SCIENTIFIC = re.compile(r"^[+-]?\d+(\.\d+)?[eE][+-]?\d+$")
#: Dates of things that happened: a row dated after the extraction date is excluded.
_HAPPENED = {"accounts": ("signup_date", "cancel_date"), "subscriptions": ("month",), "users": ("created_at",),
             "exit_interviews": ("invited_at", "completed_at"), "health_scores": ("scored_at",),
             "support_tickets": ("opened_at",), "nps_responses": ("responded_at",), "touchpoints": ("at",)}
#: Dates that may be scheduled (an annual contract ending later): kept, but flagged.
_SCHEDULED = {"accounts": ("churn_date",), "users": ("deactivated_at",)}


def _read_small(path: Path, table: str, cfg: Config, log: ExclusionLog) -> pd.DataFrame | None:
    """Read, map, parse and de-duplicate one small table; ``None`` when the file has no rows."""
    spec = TABLES[table]
    tcfg = cfg.table(table)
    if isinstance(path, engine.TableRef):
        raw = path.read()
        raw[LINE_COL] = np.arange(1, len(raw) + 1)
        line_word = "row"
    elif path.suffix.lower() == ".parquet":
        raw = _read_parquet(path, table)
        if raw is not None:
            raw[LINE_COL] = np.arange(1, len(raw) + 1)
        line_word = "row"
    else:
        raw = _read_csv_with_lines(path, table, tcfg, log)
        line_word = "line"
    if raw is None or not len(raw):
        what = ("has a header but no rows" if raw is not None else "is empty (0 bytes)"
                if path.stat().st_size == 0 else "is empty (no header, only blank lines)")
        if table == "accounts":
            raise DataValidationError("accounts", None, f"{what}: accounts is the one required table; "
                                      "export it again with its rows", file=path.name)
        log.read(table, path.name, 0)
        log.used(table, 0)
        log.note(table, path.name, f"{what}: treated as absent (analyses that need {table} skip themselves)")
        return None
    raw = _map_columns(raw, table, tcfg, path)
    missing = [c for c in spec.required if c not in raw.columns]
    if missing:
        have = [c for c in raw.columns if c != LINE_COL]
        hint = f" (map your column names in the data config: tables.{table}.columns)"
        near = {m: h for m in missing for h in have if _squash(h) == _squash(m)}
        if near:
            hint = (" (" + ", ".join(f"{h!r} is not {m!r}" for m, h in near.items()) + ": names must match "
                    f"exactly; rename the column, or map it in tables.{table}.columns)")
        if len(have) == 1 and any(d in have[0] for d in _DELIMITERS):
            d = next(d for d in _DELIMITERS if d in have[0])
            hint = (f" (the header looks {_DELIMITERS[d]}-delimited: set tables.{table}.delimiter in the "
                    "data config)")
        raise DataValidationError(table, missing[0], f"required column{'s' if len(missing) > 1 else ''} "
                                  f"{', '.join(repr(m) for m in missing)} missing; the file has: "
                                  f"{', '.join(have)}{hint}", file=path.name)
    # the table's columns, in the canonical order, sharing the read's arrays (no copy of every column)
    df = pd.DataFrame({c: raw[c] for c in [c for c in spec.columns if c in raw.columns] + [LINE_COL]}, copy=False)
    log.read(table, path.name, len(df))
    df.attrs["line_word"] = line_word

    for col, mapping in tcfg.values.items():
        if col not in df.columns:
            raise ConfigError(f"data config: tables.{table}.values.{col} maps values of {col!r}, but "
                              f"{path.name} has no such column (after tables.{table}.columns)")
        if col not in ("primary_reason", "secondary_reason"):
            df[col] = df[col].map(lambda v, m=mapping: m.get(str(v).strip(), v) if pd.notna(v) else v)

    nonfinite, raw_text = {}, {}
    parsed = {c: df[c] for c in df.columns}
    for col, kind in spec.columns.items():
        if col not in df.columns:
            continue
        # the table as parsed so far (its examples show parsed values), and the parsed columns go
        # in as they are: setting a column would copy it once more
        df = pd.DataFrame(parsed, copy=False)
        df.attrs["line_word"] = line_word
        raw_col = parsed[col]
        parsed[col], nonfinite[col] = _parse(df, col, kind, table, path, tcfg.date_format, log)
        if nonfinite[col] is not None and nonfinite[col].any():   # examples show what the file says ("inf")
            raw_text[col] = raw_col
    df = pd.DataFrame(parsed, copy=False)
    df.attrs["line_word"] = line_word
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
    for col in spec.required:
        if col in spec.key:
            continue
        nf = nonfinite.get(col)
        if nf is not None and nf.any():
            df = _exclude(_with_raw(df, raw_text, col), nf.reindex(df.index, fill_value=False), table, path,
                          f"{col} is not a finite number (inf / NaN)", log, (col,))
            if col in raw_text:   # the kept rows go on with the parsed values
                df = df.assign(**{col: parsed[col].reindex(df.index)})
        df = _exclude(df, df[col].isna(), table, path, f"missing {col}", log, (col,))
    for col, nf in nonfinite.items():
        if nf is not None and col not in spec.required and nf.reindex(df.index, fill_value=False).any():
            nf = nf.reindex(df.index, fill_value=False)
            log.fix(table, path.name, f"{col} not a finite number (inf / NaN) set to missing", int(nf.sum()),
                    _with_raw(df.loc[nf, _example_cols(df, col)], raw_text, col))
    if spec.key:
        dup = _duplicated(df[list(spec.key)])
        df = _exclude(df, dup, table, path, f"duplicate {' + '.join(spec.key)} (first kept)", log)
    return df


def _duplicated(keys: pd.DataFrame) -> pd.Series:
    """Rows of ``keys`` repeating an earlier row (the first is kept).

    The key columns are factorised (Arrow text hashes in C++, no Python string per value) and their
    codes combined into one integer per row, so millions of rows de-duplicate in a fraction of a
    second; when no code repeats, nothing is compared at all.
    """
    if len(keys) > 100_000 and _all_distinct(keys):
        return pd.Series(False, index=keys.index)
    code, levels = np.zeros(len(keys), dtype=np.int64), 1
    for i, c in enumerate(keys.columns):
        codes, uniques = pd.factorize(keys[c], use_na_sentinel=False)
        if i == 0:   # one key column: its codes are the row codes already
            code, levels = codes.astype(np.int64, copy=False), len(uniques)
            continue
        code, uniques = pd.factorize(code * (len(uniques) + 1) + codes)   # stays compact
        levels = len(uniques)
    if levels == len(keys):
        return pd.Series(False, index=keys.index)
    return pd.Series(pd.Series(code).duplicated(keep="first").to_numpy(), index=keys.index)


def _all_distinct(keys: pd.DataFrame) -> bool:
    """Whether no row of ``keys`` repeats another, counted by DuckDB on both cores (Arrow text is
    handed over without a copy); missing values count as a value, as in :func:`_duplicated`."""
    import pyarrow as pa

    cols = {}
    for c in keys.columns:
        arr = getattr(keys[c].array, "_pa_array", None)
        cols[f"k{len(cols)}"] = arr if arr is not None else pa.array(keys[c].to_numpy(), from_pandas=True)
    names = ", ".join(cols)
    con = _scratch()
    con.register("_keyframe", pa.table(cols))
    try:
        n = con.execute(f"SELECT count(*) FROM (SELECT DISTINCT {names} FROM _keyframe)").fetchone()[0]
    finally:
        con.unregister("_keyframe")
    return int(n) == len(keys)


_SCRATCH = threading.local()


def _scratch():
    """This thread's DuckDB connection for the load's own queries on files and frames (one per
    thread, opened once: opening and closing one per table costs more than some of the queries)."""
    import duckdb

    con = getattr(_SCRATCH, "con", None)
    if con is None:
        con = _SCRATCH.con = duckdb.connect()
    return con


class _IdSet(set):
    """A set of account ids that also keeps them as one Arrow array, built once for every table's check."""

    @property
    def arrow(self):
        if getattr(self, "_arrow", None) is None:
            import pyarrow as pa

            self._arrow = pa.array([str(v) for v in self], pa.string())
        return self._arrow


def _isin(s: pd.Series, values) -> pd.Series:
    """``s.isin(values)``; Arrow text is matched in Arrow (a hash set in C++, no Python string per row)."""
    if isinstance(s.dtype, pd.StringDtype) and s.dtype.storage == "pyarrow":
        import pyarrow as pa
        import pyarrow.compute as pc

        value_set = getattr(values, "arrow", None)
        if value_set is None:
            value_set = pa.array([str(v) for v in values], pa.string())
        hit = pc.is_in(s.array.__arrow_array__(), value_set=value_set)
        return pd.Series(hit.to_numpy(zero_copy_only=False), index=s.index).fillna(False).astype(bool)
    return s.isin(values)


def _as_objects(s: pd.Series) -> pd.Series:
    """Arrow text as Python strings, missing as None (what every analysis receives).

    A column that repeats its values (account ids, bands, plans) becomes one Python string per
    distinct value, shared by its rows: Arrow de-duplicates while converting, which is faster and
    smaller than a string per row. A column of mostly distinct values (user ids, free text) skips
    that hashing, which would only cost time.
    """
    if isinstance(s.dtype, pd.StringDtype) or isinstance(s.dtype, pd.ArrowDtype):
        arr = getattr(s.array, "_pa_array", None)
        if arr is not None and len(s) > 10_000:
            import pyarrow.compute as pc

            probe = arr.slice(0, 10_000)
            if pc.count_distinct(probe).as_py() * 2 < len(probe):
                values = arr.to_pandas(deduplicate_objects=True).to_numpy(dtype=object)
                return pd.Series(values, index=s.index, name=s.name)
        return pd.Series(s.to_numpy(dtype=object, na_value=None), index=s.index, name=s.name)
    return s


def _text_as_objects(df: pd.DataFrame | None, table: str) -> pd.DataFrame | None:
    """The text columns of a checked table as Python strings (``None`` = blank).

    :func:`_read_small` keeps text in Arrow, where trimming, de-duplicating and matching ids against
    the accounts cost a fraction of what Python strings cost on millions of rows; the tables handed
    to the analyses hold plain Python text.
    """
    if df is None:
        return None
    text = {col: _as_objects(df[col]) for col, kind in TABLES[table].columns.items()
            if kind == "str" and col in df.columns}
    if not text:
        return df
    # a new frame of the same columns (``assign`` or setting a column would copy every column)
    out = pd.DataFrame({c: text.get(c, df[c]) for c in df.columns}, copy=False)
    out.attrs = dict(df.attrs)
    return out


def _map_columns(raw: pd.DataFrame, table: str, tcfg, path: Path) -> pd.DataFrame:
    """Rename the file's columns to canonical ones; every name the config maps must be in the file."""
    have = [c for c in raw.columns if c != LINE_COL]
    absent = [src for src in tcfg.columns if src not in have]
    if absent:
        raise ConfigError(f"data config: tables.{table}.columns maps {', '.join(map(repr, absent))}, but "
                          f"{path.name} has no such column; it has: {', '.join(have)}")
    out = raw.rename(columns=dict(tcfg.columns), copy=False)
    dup = sorted({c for c in out.columns if list(out.columns).count(c) > 1})
    if dup:
        src = [k for k, v in tcfg.columns.items() if v in dup]
        raise DataValidationError(table, dup[0], f"appears twice after mapping: the file has {dup[0]!r} and "
                                  f"tables.{table}.columns maps {', '.join(map(repr, src))} onto it; "
                                  "drop one of them", file=path.name)
    return out


def _read_parquet(path: Path, table: str) -> pd.DataFrame | None:
    if path.is_file() and path.stat().st_size == 0:
        return None
    try:
        # text columns stay in Arrow (no Python string per value): they are trimmed and checked
        # there, and become Python strings once, at the end of the checks
        import pyarrow.parquet as pq

        raw = pq.read_table(path).to_pandas(types_mapper=_arrow_text, date_as_object=False)
    except Exception as e:  # pyarrow raises ArrowInvalid, ArrowTypeError, OSError ... on a bad file
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        if "Multiple matches for FieldRef" in str(e) or "Duplicate" in str(e):
            first = "a column name appears twice"
        raise DataValidationError(table, None, f"cannot be read as Parquet ({first}): export it again, "
                                  "or save it as CSV", file=path.name) from None
    names = [str(c).strip() for c in raw.columns]
    _check_header(names, table, path)
    raw.columns = names
    return raw


def _arrow_text(t):
    """pyarrow ``types_mapper``: text columns as Arrow-backed pandas strings."""
    import pyarrow as pa

    return pd.StringDtype("pyarrow") if pa.types.is_string(t) or pa.types.is_large_string(t) else None


def _read_csv_with_lines(path: Path, table: str = "", tcfg=None, log: ExclusionLog | None = None):
    """Read a CSV as text, with each record's physical starting line in ``_line``.

    Returns ``None`` for a file without a header (0 bytes or blank). The text is decoded (UTF-8 with
    or without BOM, UTF-16 with BOM, or ``tables.<t>.encoding``), the delimiter is
    ``tables.<t>.delimiter`` or detected from the header, and the records are counted against the
    physical lines: a record with a different number of fields than the header, a quoted field
    that never closes, or one that swallows lines that look like records is an error naming the
    lines, never a silent loss.
    """
    tcfg = tcfg if tcfg is not None else Config().table(table)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise DataValidationError(table, None, f"cannot be read ({e.strerror or e})", file=path.name) from None
    text = _decode(data, path, table, tcfg.encoding, log)
    if text is None or not text.strip():
        return None
    _check_nul(text, path, table)
    delim, skip = _delimiter(text, path, table, tcfg, log)
    # DuckDB's strict reader first (every file, so that every test of bad input runs through it too)
    fast = _fast_csv(path, text, delim, skip, tcfg)
    return fast if fast is not None else _parse_csv(text, delim, path, table, skip)


def _fast_csv(path: Path, text: str, delim: str, skip: int, tcfg) -> pd.DataFrame | None:
    """A large, well-formed UTF-8 CSV read by DuckDB's strict reader; ``None`` to read it the careful way.

    The result is the one :func:`_parse_csv` gives (text columns, blanks as missing, ``_line``), and
    only taken when every record is exactly one physical line: then the record's line number is its
    position. Anything else - a ragged or badly quoted record (DuckDB stops), a value over several
    lines, blank lines, old Mac line ends, another encoding - returns ``None``, and the careful reader
    reads the file and names the lines at fault. Columns stay Arrow text (no Python string per value).
    """
    import duckdb

    enc = (tcfg.encoding or "utf-8").replace("_", "-").lower()
    if enc not in ("utf-8", "utf8", "utf-8-sig") or ("\r" in text and text.count("\r") != text.count("\r\n")):
        return None
    head = list(itertools.islice(io.StringIO(_head(text, skip + 1), newline=""), skip + 1))
    if len(head) <= skip:
        return None
    try:
        names = [h.strip().lstrip("\ufeff").strip()
                 for h in next(csv.reader([head[skip].rstrip("\r\n")], delimiter=delim), [])]
    except csv.Error:
        return None
    if any(len(n) > _MAX_NAME for n in names):
        return None
    names = [n or f"_unnamed_{i + 1}" for i, n in enumerate(names)]
    end = len(text)
    while end and text[end - 1].isspace():   # (rstrip would copy the whole file)
        end -= 1
    body_lines = text.count("\n", 0, end) - skip  # physical lines after the header
    if not names or len(set(names)) != len(names) or body_lines <= 0:
        return None
    columns = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(len(names))) + "}"
    opts = (f"delim = {_lit(delim)}, quote = '\"', escape = '\"', header = true, auto_detect = false, "
            f"columns = {columns}, strict_mode = true, null_padding = false, max_line_size = {MAX_FIELD}, "
            f"skip = {skip}")
    try:
        tbl = _scratch().execute(f"SELECT * FROM read_csv({_lit(str(path.resolve()))}, {opts})").to_arrow_table()
    except duckdb.Error:
        return None
    if tbl.num_rows != body_lines:
        return None  # a value over several lines, or blank lines: the careful reader counts them
    import pyarrow as pa
    import pyarrow.compute as pc

    columns = {}
    for i, c in enumerate(names):   # quoted empty values are blanks too
        col = tbl.column(i)
        empty = pc.equal(col, "")
        if pc.any(empty).as_py():
            col = pc.if_else(empty, pa.scalar(None, col.type), col)
        columns[c] = col
    columns[LINE_COL] = pa.array(np.arange(skip + 2, skip + 2 + tbl.num_rows))
    return pa.table(columns).to_pandas(types_mapper=_arrow_text)


def _head(text: str, lines: int) -> str:
    """The first ``lines`` lines of ``text`` (all of it when it has fewer), without copying the whole text."""
    end = 0
    for _ in range(lines):
        nl = text.find("\n", end)
        if nl < 0:
            return text
        end = nl + 1
    return text[:end]


def _delimiter(text: str, path: Path, table: str, tcfg, log) -> tuple[str, int]:
    """The field delimiter and the number of lines before the header (blank lines, Excel's ``sep=``)."""
    lines = list(itertools.islice(io.StringIO(_head(text, 64), newline=""), 64))
    skip = next((i for i, ln in enumerate(lines) if ln.strip()), 0)
    first = lines[skip].rstrip("\r\n").lstrip("\ufeff") if lines else ""
    sep = re.fullmatch(r"\s*sep=(.)\s*", first)
    if sep:  # a spreadsheet's hint line: "sep=;" names the delimiter of the lines below
        skip += 1
        first = lines[skip].rstrip("\r\n") if len(lines) > skip else ""
        if not tcfg.delimiter:
            return sep.group(1), skip
    delim = tcfg.delimiter or _sniff_delimiter(first)
    if delim != "," and not tcfg.delimiter and log is not None:
        log.note(table, path.name, f"read as {_DELIMITERS[delim]}-delimited (detected from the header; "
                 f"set tables.{table}.delimiter in the data config to choose another)")
    return delim, skip


_NON_BLANK = re.compile(rb"[^ \t\r\n]")


def _decode(data: bytes, path: Path, table: str, encoding, log) -> str | None:
    content = _NON_BLANK.search(data)   # (stripping would copy the whole file)
    if content is None or (data.startswith(codecs.BOM_UTF8, content.start())
                           and _NON_BLANK.search(data, content.start() + len(codecs.BOM_UTF8)) is None):
        return None
    if encoding:
        try:
            return data.decode(encoding).lstrip("\ufeff")
        except UnicodeDecodeError as e:
            line = data.count(b"\n", 0, e.start) + 1
            raise DataValidationError(table, None, f"cannot be decoded as {encoding} (tables.{table}.encoding "
                                      f"in the data config): line {line} has the byte(s) "
                                      f"{data[e.start:e.end]!r}; check the file's encoding",
                                      file=path.name) from None
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError:
            raise DataValidationError(table, None, "starts with a UTF-16 byte-order mark but is not UTF-16 "
                                      "text: export it again as UTF-8", file=path.name) from None
        if log is not None:
            log.note(table, path.name, "read as UTF-16 (the file starts with its byte-order mark)")
        return text.lstrip("\ufeff")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        guess = _guess_encoding(data)
        looks = f"; it looks like {guess}" if guess else ""
        raise DataValidationError(
            table, None, f"is not UTF-8 text: line {line} has the byte(s) {data[e.start:e.end]!r}, which "
            f"are not UTF-8{looks}. Name the file's encoding in the data config (tables.{table}.encoding: "
            f"{guess or 'cp1252'}), or save the file as UTF-8", file=path.name) from None


def _squash(name: str) -> str:
    return re.sub(r"[\s_\-]+", "", str(name)).lower()


def _date_hint(values: pd.Series) -> str:
    """Why dates that cannot be read might look the way they do."""
    v = values.dropna()
    if len(v) and v.str.fullmatch(r"\d{5}(\.\d+)?").all() and v.astype(float).between(20000, 80000).all():
        return "; they look like spreadsheet date serials (days since 1899-12-30): export them as dates"
    if len(v) and v.str.fullmatch(r"\d{9,19}").all():
        return "; they look like Unix epoch numbers: write them as dates"
    return ""


def _guess_encoding(data: bytes) -> str | None:
    try:
        if re.search("[\u3040-\u30ff]", data.decode("cp932")):  # kana: Japanese text
            return "cp932"
    except UnicodeDecodeError:
        pass
    for enc in ("cp1252", "latin-1"):
        try:
            data.decode(enc)
            return enc
        except UnicodeDecodeError:
            continue
    return None


def _check_nul(text: str, path: Path, table: str):
    if "\x00" not in text:
        return
    lines = [i + 1 for i, ln in enumerate(text.split("\n")) if "\x00" in ln]
    shown = ", ".join(map(str, lines[:5])) + (" ..." if len(lines) > 5 else "")
    raise DataValidationError(
        table, None, f"contains NUL bytes (binary zeros) on {len(lines)} line(s) (line {shown}): the file is "
        f"damaged, truncated or not a text CSV (UTF-16 without a byte-order mark? then set "
        f"tables.{table}.encoding: utf-16). Export it again", file=path.name)


def _sniff_delimiter(first_line: str) -> str:
    """The delimiter that splits the header line into the most fields (comma on a tie)."""
    best, most = ",", 1
    for d in _DELIMITERS:
        try:
            n = len(next(csv.reader([first_line], delimiter=d)))
        except (csv.Error, StopIteration):
            continue
        if n > most:
            best, most = d, n
    return best


def _check_header(names: list, table: str, path: Path, line: int = 1):
    for i, name in enumerate(names):
        if len(name) > _MAX_NAME:
            raise DataValidationError(
                table, None, f"the header (line {line}) has a column name {len(name):,} characters long "
                f"(column {i + 1}: {name[:40]!r}...): the first line is not a header, or a quote in it is "
                "not closed", file=path.name)
    seen: dict = {}
    for i, name in enumerate(names):
        if name:
            seen.setdefault(name, []).append(i + 1)
    dup = {n: pos for n, pos in seen.items() if len(pos) > 1}
    if dup:
        n, pos = next(iter(dup.items()))
        raise DataValidationError(table, n, f"appears {len(pos)} times in the header (columns "
                                  f"{', '.join(map(str, pos))}); rename or remove the duplicates",
                                  file=path.name)


def _parse_csv(text: str, delim: str, path: Path, table: str, skip: int = 0) -> pd.DataFrame:
    old = csv.field_size_limit()
    csv.field_size_limit(MAX_FIELD)
    phys = None  # the physical lines, split as csv splits them; only built when a record spans lines
    start, header = 1, []
    try:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim, strict=True)
        for _ in range(skip):
            next(reader)
        start = skip + 1
        header = next(reader)
        if reader.line_num > start:
            raise DataValidationError(
                table, None, f"the header runs over lines {start}-{reader.line_num}: a quote in the header is "
                "not closed (or a column name holds a line break)", file=path.name)
        names = [h.strip().lstrip("\ufeff").strip() for h in header]
        _check_header(names, table, path, line=start)
        names = [n or f"_unnamed_{i + 1}" for i, n in enumerate(names)]
        width = len(names)
        rows, lines, ragged = [], [], []
        start = reader.line_num + 1
        for rec in reader:
            end = reader.line_num
            if not rec or (len(rec) == 1 and not rec[0].strip() and width > 1):
                start = end + 1
                continue  # a blank line is not a record
            if end > start:
                if phys is None:
                    phys = io.StringIO(text, newline="").readlines()
                _check_swallowed(phys, start, end, delim, width, path, table)
            if len(rec) != width:
                if len(rec) > width and not any(f.strip() for f in rec[width:]):
                    rec = rec[:width]  # trailing empty fields (a spreadsheet's extra commas)
                else:
                    ragged.append((start, len(rec)))
            rows.append(rec)
            lines.append(start)
            start = end + 1
    except csv.Error as e:
        raise _csv_error(e, text, start, delim, len(header), path, table) from None
    finally:
        csv.field_size_limit(old)
    if ragged:
        shown = ", ".join(f"line {ln} has {n}" for ln, n in ragged[:5]) + (" ..." if len(ragged) > 5 else "")
        raise DataValidationError(
            table, None, f"{len(ragged):,} record(s) do not have the header's {width} fields ({shown}): a value "
            f"holding a {_DELIMITERS.get(delim, repr(delim))} without quotes, or a missing field? Quote such "
            "values or fix those lines", file=path.name)
    df = pd.DataFrame(rows, columns=names, dtype=object)
    df = df.replace({"": None})
    df[LINE_COL] = lines
    return df


def _looks_like_record(line: str, delim: str, width: int) -> bool:
    line = line.rstrip("\r\n")
    if width < 2 or not line.strip() or line.count('"') % 2:
        return False
    try:
        return len(next(csv.reader([line], delimiter=delim))) == width
    except csv.Error:
        return False


def _check_swallowed(phys, start, end, delim, width, path, table):
    """A quoted field over several lines must not hold lines that look like whole records."""
    inner = [start + 1 + i for i, ln in enumerate(phys[start:end]) if _looks_like_record(ln, delim, width)]
    if inner:
        raise DataValidationError(
            table, None, f"a quoted field opened on line {start} runs to line {end} and swallows {len(inner)} "
            f"line(s) that look like records (line {', '.join(map(str, inner[:5]))}"
            f"{' ...' if len(inner) > 5 else ''}): a stray quote on line {start}? Remove it, or double it "
            '("") inside a quoted value', file=path.name, rows=0)


def _csv_error(e, text, start, delim, width, path, table):
    msg = str(e)
    if "unexpected end of data" in msg:
        phys = io.StringIO(text, newline="").readlines()
        after = sum(_looks_like_record(ln, delim, width) for ln in phys[start:])
        problem = (f"a quoted field opened on line {start} is never closed, so the {len(phys) - start + 1} "
                   f"line(s) to the end of the file ({after} of which look like records) would be lost: "
                   f"a stray quote on line {start}? Remove it, or double it (\"\") inside a quoted value")
    elif "field larger than field limit" in msg:
        problem = (f"a field starting on line {start} is longer than {MAX_FIELD // 2**20} MiB: a quote that "
                   "is not closed?")
    elif "expected after" in msg:
        problem = (f"line {start}: a quoted value is followed by more text before the next "
                   f"{_DELIMITERS.get(delim, repr(delim))} (like \"abc\"def); double the quotes inside "
                   "quoted values (\"\") or remove the stray quote")
    else:
        problem = f"line {start} cannot be read as CSV ({msg})"
    return DataValidationError(table, None, problem, file=path.name)


def _as_text(s: pd.Series) -> pd.Series:
    """Numbers (ids stored as numbers in Parquet) as text: 123.0 -> "123"."""
    if pd.api.types.is_float_dtype(s) and (s.dropna() % 1 == 0).all():
        s = s.astype("Int64")
    return s.astype("string").astype(object).where(s.notna(), None)


def _parse(df, col, kind, table, path, date_format, log=None):
    """Parse column ``col`` as ``kind``; returns ``(values, non-finite mask or None)``."""
    s = df[col]
    if isinstance(s.dtype, pd.CategoricalDtype):
        s = s.astype(object)
    numeric = pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)
    is_dt = pd.api.types.is_datetime64_any_dtype(s)
    if kind == "str" and not (s.dtype == object or pd.api.types.is_string_dtype(s)):
        s = _as_text(s)
    if (s.dtype == object or pd.api.types.is_string_dtype(s)) and not is_dt:
        # text is trimmed in Arrow (vectorised), and blank text counts as missing
        text = s.astype("string[pyarrow]").str.strip()
        present = (text.notna() & (text != "")).fillna(False).astype(bool)
    else:
        text, present = None, s.notna()
    if kind == "str":
        return text.where(present), None
    if kind in ("date", "timestamp"):
        if is_dt:
            out = s.dt.tz_convert("UTC").dt.tz_localize(None) if getattr(s.dt, "tz", None) else s
        elif numeric:
            out = _epoch(s, col, table, path, log)
        elif text is None:
            raise DataValidationError(table, col, f"are stored as {s.dtype}, not as dates", file=path.name,
                                      rows=int(present.sum()))
        else:
            txt = text.where(present)
            out = None if date_format else _arrow_iso_dates(txt)
            if out is None:
                fmt = date_format or "ISO8601"
                out = pd.to_datetime(txt, format=fmt, errors="coerce", utc=True).dt.tz_localize(None)
            bad = present & out.isna()
            if bad.any():
                want = f"dates like {date_format}" if date_format else "ISO dates (YYYY-MM-DD)"
                hint = _date_hint(txt[bad])
                raise DataValidationError(
                    table, col, f"cannot be read as a date (expected {want}; set tables.{table}."
                    f"date_format in the data config for another format{hint})", file=path.name,
                    rows=int(bad.sum()), examples=df.loc[bad, _example_cols(df, col)])
        out = out.astype("datetime64[ns]", copy=False)
        return (out.dt.normalize() if kind == "date" else out), None
    if kind in ("float", "int"):
        if text is None:
            out = s.astype(float)
            nonfinite = present & np.isinf(out)
        elif (fast := _arrow_floats(text, present)) is not None:
            out = fast
            nonfinite = present & ~np.isfinite(out.to_numpy())
        else:
            nonfinite = text.str.lower().isin(_NONFINITE).fillna(False).astype(bool) & present
            out = pd.to_numeric(text.astype(object).where(present & ~nonfinite), errors="coerce")
            bad = present & ~nonfinite & out.isna()
            if bad.any():  # 1e999 is a number too large for a float: inf
                huge = text[bad].map(_overflows).astype(bool)
                nonfinite = nonfinite | huge.reindex(s.index, fill_value=False)
                bad = bad & ~nonfinite
            if bad.any():
                decimal = text[bad].str.fullmatch(r"-?[\d.]*\d,\d{1,2}").fillna(False).all()
                hint = (" (decimal commas? Export numbers with a decimal point, like 1234.50)" if decimal else
                        " (thousands separators or currency signs? Export plain numbers, like 1234.50)")
                raise DataValidationError(table, col, "are not numbers" + hint, file=path.name,
                                          rows=int(bad.sum()), examples=df.loc[bad, _example_cols(df, col)])
            out = out.astype(float)
            nonfinite = nonfinite | (present & np.isinf(out))  # 1e999 overflows to inf
        out = out.where(~nonfinite)
        nonfinite = nonfinite.astype(bool)
        ints = kind == "int" and (out.dropna() % 1 == 0).all()
        return (out.astype("Int64") if ints else out.astype(float)), nonfinite
    if kind == "bool":
        if pd.api.types.is_bool_dtype(s):
            return s.astype("boolean"), None
        if text is None:
            text = s.astype("string[pyarrow]")
        low = text.where(present).str.lower()
        out = pd.Series(pd.NA, index=s.index, dtype="boolean")
        out[low.isin(_TRUE).fillna(False).astype(bool)] = True
        out[low.isin(_FALSE).fillna(False).astype(bool)] = False
        bad = present & out.isna()
        if bad.any():
            raise DataValidationError(table, col, "are not true/false values", file=path.name,
                                      rows=int(bad.sum()), examples=df.loc[bad, _example_cols(df, col)])
        return out, None
    raise AssertionError(kind)


_ZONE_SUFFIX = re.compile(r"[T ]\d\d(:\d\d(:\d\d([.,]\d+)?)?)?\s*(Z|[+-]\d\d(:?\d\d)?)$")


def _arrow_iso_dates(txt: pd.Series) -> pd.Series | None:
    """ISO dates and timestamps parsed by Arrow (UTC, without zone), or ``None`` to parse them with pandas.

    Arrow reads a strict subset of what ``pd.to_datetime(format="ISO8601", utc=True)`` reads
    (``2026-01-05``, ``2026-01-05 10:00:00.123``, ``2026-01-05T10:00:00Z``, ``...+09:00``) and gives
    the same instants, ten times faster. When a column mixes values with and without a zone, or has
    any value Arrow does not read (``2026-1-5``, ``2026-02-30``), pandas parses the whole column
    and names the rows it cannot read.
    """
    import pyarrow as pa

    try:
        arr = pa.array(txt.array)
        if not pa.types.is_string(arr.type) and not pa.types.is_large_string(arr.type):
            return None
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
        return None
    first = next(iter(arr.drop_null().slice(0, 1).to_pylist()), "")
    zoned = bool(_ZONE_SUFFIX.search(first))   # a failed cast costs a whole pass: try the likely one first
    for tz in (("UTC", None) if zoned else (None, "UTC")):
        # without a zone they are UTC already; with one, converted to UTC
        try:
            out = arr.cast(pa.timestamp("ns", tz=tz))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue
        if tz is not None:
            out = out.cast(pa.timestamp("ns"))
        return pd.Series(out.to_numpy(zero_copy_only=False), index=txt.index, dtype="datetime64[ns]")
    return None


def _arrow_floats(text: pd.Series, present: pd.Series) -> pd.Series | None:
    """Trimmed text as floats by Arrow's strict parser (missing where not ``present``), or ``None``
    when any present value is not a plain decimal number (the careful path then names the rows)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        arr = pa.array(text.where(present).array).cast(pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError, TypeError):
        return None
    if pc.any(pc.is_nan(arr)).as_py():
        return None   # "nan" spelt out: the careful path counts it as not a finite number
    return pd.Series(arr.to_numpy(zero_copy_only=False), index=text.index, dtype=float)


def _overflows(text) -> bool:
    try:
        return bool(np.isinf(float(text)))
    except (TypeError, ValueError):
        return False


#: Unix epoch units tried on dates stored as numbers, by the size of the largest value.
_EPOCH_UNITS = ((1e5, "D", "days"), (1e11, "s", "seconds"), (1e14, "ms", "milliseconds"),
                (1e17, "us", "microseconds"), (float("inf"), "ns", "nanoseconds"))


def epoch_unit(largest: float) -> tuple[str, str]:
    """The epoch unit of dates stored as numbers, from the largest absolute value.

    Values below 1e5 are days, below 1e11 seconds, below 1e14 milliseconds, below 1e17
    microseconds, else nanoseconds since 1970-01-01 UTC: for dates between 1990 and 2100 the ranges
    do not overlap.

    Examples
    --------
    >>> epoch_unit(1_719_792_000), epoch_unit(1_719_792_000_000)
    (('s', 'seconds'), ('ms', 'milliseconds'))
    """
    for limit, unit, words in _EPOCH_UNITS:
        if largest < limit:
            return unit, words
    raise AssertionError(largest)


def _epoch(s, col, table, path, log):
    v = s.astype(float)
    present = v.notna()
    if not present.any():
        return pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns]")
    unit, words = epoch_unit(float(v[present].abs().max()))
    out = pd.to_datetime(v, unit=unit, errors="coerce")
    if out[present].isna().any() or out.min() < pd.Timestamp("1990-01-01") or out.max() > pd.Timestamp("2100-01-01"):
        shown = ", ".join(str(x) for x in s[present].head(3))
        raise DataValidationError(
            table, col, f"are stored as numbers ({shown} ...) that do not read as dates: as Unix epoch "
            f"{words} they fall outside 1990-2100. Store them as Parquet dates / timestamps or as ISO text",
            file=path.name, rows=int(present.sum()))
    if log is not None:
        log.note(table, path.name, f"{col} is stored as numbers: read as Unix epoch {words} (UTC)",
                 int(present.sum()))
    return out


def _example_cols(df, col):
    cols = [LINE_COL] + [c for c in ("account_id", "user_id") if c in df.columns and c != col] + [col]
    return list(dict.fromkeys(cols))


def _with_raw(df, raw_text: dict, col):
    """``df`` with column ``col`` as the file wrote it (for the examples of a finding), when kept."""
    if col not in raw_text or col not in df.columns:
        return df
    return df.assign(**{col: raw_text[col].reindex(df.index)})


def _exclude(df, mask, table, path, reason, log: ExclusionLog, extra_cols=()):
    mask = mask.fillna(False).astype(bool)
    if mask.any():
        if table == "accounts" and "account_id" in df.columns:
            log.excluded_accounts.update(df.loc[mask, "account_id"].dropna())
        cols = [c for c in [LINE_COL, *TABLES[table].key, *extra_cols] if c in df.columns]
        log.exclude(table, path.name, reason, int(mask.sum()), df.loc[mask, list(dict.fromkeys(cols))])
        return df.loc[~mask]
    return df  # nothing excluded: no copy of a large table


def _absent_if_unused(df, table, path, log):
    """An optional table whose every row was excluded is treated as absent (and says so)."""
    if len(df):
        return df
    log.note(table, path.name, f"no usable rows: treated as absent (analyses that need {table} skip themselves)")
    return None


def _check_accounts(df, path, log, extraction):
    sci = df["account_id"].astype(str).str.match(_SCIENTIFIC)
    if sci.any():
        first = df.loc[sci, "account_id"].iloc[0]
        raise DataValidationError(
            "accounts", "account_id", f"are numbers in scientific notation (like {first!r}): a spreadsheet rounded "
            "long numeric ids, so they no longer identify accounts. Export the file again without opening it in "
            "a spreadsheet, or import the column as text", file=path.name, rows=int(sci.sum()),
            examples=df.loc[sci, [LINE_COL, "account_id"]])
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
    df = _exclude_future(df, "accounts", path, extraction, log)
    for col in ("seats", "employees"):
        if col in df and (df[col] < 0).any():
            neg = (df[col] < 0).fillna(False).astype(bool)
            log.fix("accounts", path.name, f"negative {col} set to missing", int(neg.sum()),
                    df.loc[neg, [LINE_COL, "account_id", col]])
            df = df.copy()
            df.loc[neg, col] = np.nan
    if not len(df):
        raise DataValidationError("accounts", None, f"no usable rows: all {log._read['accounts']:,} rows were "
                                  "excluded (see the reasons above in the row accounting); accounts is "
                                  "required", file=path.name)
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


def _exclude_future(df, table, path, extraction, log):
    stamp = extraction.date()
    for col in _HAPPENED.get(table, ()):
        if col in df:
            late = df[col].notna() & (df[col].dt.normalize() > extraction)
            df = _exclude(df, late, table, path, f"{col} after the extraction date ({stamp})", log, (col,))
    for col in _SCHEDULED.get(table, ()):
        if col in df:
            late = (df[col].notna() & (df[col].dt.normalize() > extraction)).fillna(False).astype(bool)
            if late.any():
                log.note(table, path.name, f"{col} after the extraction date ({stamp}): kept as a scheduled "
                         "date; it does not move the end of the data", int(late.sum()),
                         df.loc[late, _example_cols(df, col)], severity="flagged")
    return df


def _check_roadmap(df, path, taxonomy):
    known = {s for p in taxonomy["primary"].values() for s in p.get("secondary", {})}
    bad = df["secondary_reason"].notna() & ~df["secondary_reason"].isin(known)
    if bad.any():
        vals = sorted(df.loc[bad, "secondary_reason"].unique())
        raise DataValidationError("roadmap", "secondary_reason", "name reasons outside the taxonomy: "
                                  + ", ".join(map(repr, vals)), file=path.name, rows=int(bad.sum()),
                                  examples=df.loc[bad, [LINE_COL, "item", "secondary_reason"]])


def _check_success(df, table, path, log):
    """Range checks of the customer-success tables: NPS scores outside 0-10 are excluded, a ticket
    resolved before it was opened loses its resolution time (kept, with a finding)."""
    if table == "nps_responses":
        df = _exclude(df, ~df["score"].between(0, 10), table, path, "score outside 0-10", log, ("score",))
    if table == "support_tickets" and "resolved_at" in df:
        bad = (df["resolved_at"].notna() & (df["resolved_at"] < df["opened_at"])).fillna(False).astype(bool)
        if bad.any():
            log.fix(table, path.name, "resolved_at before opened_at set to missing", int(bad.sum()),
                    df.loc[bad, [LINE_COL, "ticket_id", "opened_at", "resolved_at"]])
            df = df.copy()
            df.loc[bad, "resolved_at"] = pd.NaT
    return df


def _drop_unknown_accounts(df, table, path, known, raw_ids, log, accounts_file="accounts"):
    unknown = ~_isin(df["account_id"], known)
    if not unknown.any():  # the usual case: one pass over the ids, no copy
        return df
    in_raw = _isin(df["account_id"], raw_ids)
    if (unknown & ~in_raw).any():
        ids = df.loc[unknown & ~in_raw, "account_id"]
        check_mangled_ids(table, path.name, ids.value_counts(), len(df), raw_ids, accounts_file,
                          examples=df.loc[unknown & ~in_raw, [LINE_COL, "account_id"]])
    first = unknown & ~in_raw
    df = _text_as_objects(df, table)   # rows are taken out: Python strings copy faster than Arrow text
    df2 = _exclude(df, first, table, path, "unknown account_id", log, ("account_id",))
    return _exclude(df2, (unknown & in_raw)[~first.to_numpy()], table, path,
                    "account excluded from accounts", log, ("account_id",))


def check_mangled_ids(table, file, unknown_counts: pd.Series, n_rows: int, raw_ids, accounts_file,
                      examples=None, n_unknown: int | None = None):
    """Stop when unknown account ids show how they were mangled, or when no row matches at all.

    ``unknown_counts`` maps each unknown id to its number of rows. Recognised: ids in scientific
    notation (a spreadsheet turned them into rounded numbers) and ids that lost (or gained) leading
    zeros against ``accounts``.
    """
    ids = [str(i) for i in unknown_counts.index]
    n_unknown = int(unknown_counts.sum()) if n_unknown is None else int(n_unknown)
    sci = [i for i in ids if _SCIENTIFIC.match(i)]
    if sci:
        raise DataValidationError(
            table, "account_id", f"are numbers in scientific notation (like {sci[0]!r}) that match no account in "
            f"{accounts_file}: a spreadsheet rounded the long numeric ids. Export the file again without "
            "opening it in a spreadsheet, or import the column as text",
            file=file, rows=int(unknown_counts[unknown_counts.index.isin(sci)].sum()), examples=examples)
    padded = {}
    for r in raw_ids:
        r = str(r)
        if r[:1] == "0" and r.lstrip("0"):
            padded.setdefault(r.lstrip("0"), r)
    lost = [i for i in ids if i in padded]
    if lost:
        raise DataValidationError(
            table, "account_id", f"lost their leading zeros ({lost[0]!r} is {padded[lost[0]]!r} in {accounts_file}): "
            "a spreadsheet read the ids as numbers. Export the file again without opening it in a "
            "spreadsheet, or import the column as text", file=file,
            rows=int(unknown_counts[unknown_counts.index.isin(lost)].sum()), examples=examples)
    raw_text = {str(r) for r in raw_ids}
    gained = [i for i in ids if i[:1] == "0" and i.lstrip("0") in raw_text]
    if gained:
        raise DataValidationError(
            table, "account_id", f"have leading zeros that {accounts_file} lost ({gained[0]!r} is "
            f"{gained[0].lstrip('0')!r} there): a spreadsheet read the account ids of {accounts_file} as "
            "numbers. Export it again without opening it in a spreadsheet", file=file,
            rows=int(unknown_counts[unknown_counts.index.isin(gained)].sum()), examples=examples)
    decimal = [i for i in ids if re.fullmatch(r"\d+\.0+", i) and i.split(".")[0] in raw_text]
    if decimal:
        raise DataValidationError(
            table, "account_id", f"were written as decimal numbers ({decimal[0]!r} is {decimal[0].split('.')[0]!r} in "
            f"{accounts_file}): export the ids as text or whole numbers", file=file,
            rows=int(unknown_counts[unknown_counts.index.isin(decimal)].sum()), examples=examples)
    folded = {r.casefold(): r for r in raw_text}
    case = [i for i in ids if i.casefold() in folded]
    if case and len(case) * 2 >= len(ids):
        raise DataValidationError(
            table, "account_id", f"differ from {accounts_file} only in upper / lower case ({case[0]!r} is "
            f"{folded[case[0].casefold()]!r} there): ids must match exactly; export them unchanged", file=file,
            rows=int(unknown_counts[unknown_counts.index.isin(case)].sum()), examples=examples)
    if n_unknown == n_rows and n_rows >= 3:
        have = ", ".join(repr(str(r)) for r in sorted(raw_text)[:3])
        raise DataValidationError(
            table, "account_id", f"match no account in {accounts_file} (ids like {ids[0]!r}; accounts has ids "
            f"like {have}): is this the export of another system or company, or are the ids formatted "
            "differently?", file=file, rows=n_unknown, examples=examples)


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


def _open_events(con, data_dir, cfg, log) -> dict | None:
    """Phase 1 of the events: find and check the file, and define the view ``events_src``."""
    import duckdb

    path = find_file(data_dir, "events", cfg)
    if path is None:
        _note_near_files(data_dir, "events", log)
        return None
    if isinstance(path, engine.TableRef):  # validated in its engine, see churnlab.engine
        return {"table": path}
    try:
        return _events_view(con, path, cfg.table("events"), log)
    except duckdb.Error as e:
        raise _engine_error(e, path) from None


def _event_days(con, ev) -> pd.Series:
    """Events per day (for the extraction date)."""
    import duckdb

    if ev is None or "table" in ev:
        return pd.Series(dtype="int64")
    try:
        df = con.raw_sql("SELECT CAST(ts AS DATE) AS d, count(*) AS n FROM events_src "
                         "WHERE ts IS NOT NULL GROUP BY 1").df()
    except duckdb.Error as e:
        raise _engine_error(e, ev["path"]) from None
    return pd.Series(df["n"].to_numpy(), index=pd.to_datetime(df["d"]))


def _load_events(con, ev, accounts, raw_ids, log, extraction, accounts_file="accounts"):
    """Phase 2 of the events: account for every row; returns ``(events table or None, last timestamp)``."""
    import duckdb

    acc_cols = [c for c in ("account_id", "signup_date", "churn_date", "cancel_date", "segment", "plan",
                            "contract", "contract_months", "industry", "region", "acquisition_channel", "seats", "mrr")
                if c in accounts.columns]
    register_frame(con, "accounts", accounts[acc_cols].astype({"account_id": str}))
    register_frame(con, "raw_account_ids", pd.DataFrame({"account_id": sorted(map(str, raw_ids))}))
    if ev is None:
        return None, None
    if "table" in ev:
        return engine.table_events(ev["table"], log, accounts["account_id"], raw_ids, extraction, accounts_file)
    try:
        return _events(con, ev, raw_ids, log, extraction, accounts_file)
    except duckdb.Error as e:
        raise _engine_error(e, ev["path"]) from None


def _events_source(con, path, tcfg, log):
    """The SQL source of the events file: ``(source, line expression, line word)``; None if no rows."""
    if path.suffix.lower() == ".parquet":
        if path.is_dir():  # a folder of part files
            return f"read_parquet({_lit(str(path.resolve() / '**' / '*.parquet'))})", "row_number() OVER ()", "row"
        if path.stat().st_size == 0:
            return None
        src = f"read_parquet({_lit(path.resolve())}, file_row_number = true)"
        return src, "file_row_number + 1", "row"
    with open(path, "rb") as fh:
        head = fh.read(1 << 20)
        more = bool(fh.read(1))
    wide = head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or (
        tcfg.encoding or "").replace("_", "-").lower().startswith(("utf-16", "utf-32"))
    if wide:  # UTF-16/32: the whole file is checked while it is copied to UTF-8 below
        text = head[:len(head) // 4 * 4].decode(tcfg.encoding or "utf-16", errors="replace").lstrip("\ufeff")
        if not tcfg.encoding:
            log.note("events", path.name, "read as UTF-16 (the file starts with its byte-order mark)")
        text = text if text.strip() else None
    else:
        if more and b"\n" in head:
            head = head[:head.rfind(b"\n") + 1]  # whole lines only (no multi-byte character cut in two)
        text = _decode(head, path, "events", tcfg.encoding, log)
    if text is None:
        return None
    _check_nul(text, path, "events")
    delim, skip = _delimiter(text, path, "events", tcfg, log)
    lines = io.StringIO(text, newline="").readlines()
    first = lines[skip].rstrip("\r\n") if len(lines) > skip else ""
    names = [h.strip().lstrip("\ufeff").strip() for h in next(csv.reader([first], delimiter=delim), [])]
    _check_header(names, "events", path, line=skip + 1)
    names = [n or f"_unnamed_{i + 1}" for i, n in enumerate(names)]
    if not more and not "".join(lines[skip + 1:]).strip():
        return None  # a header and no rows
    columns = "{" + ", ".join(f"{_lit(n)}: 'VARCHAR'" for n in names) + "}"
    opts = (f"delim = {_lit(delim)}, quote = '\"', escape = '\"', header = true, auto_detect = false, "
            f"columns = {columns}, strict_mode = true, null_padding = false, max_line_size = {MAX_FIELD}, "
            f"skip = {skip}")
    enc = tcfg.encoding or ("utf-16" if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) else None)
    if enc and codecs.lookup(enc).name not in ("utf-8", "utf-8-sig"):
        # DuckDB reads UTF-8 only: copy the text to a UTF-8 file, load it, and drop the copy.
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            copy = Path(tmp) / "events.csv"
            try:
                with open(path, encoding=enc, newline="") as fin, open(copy, "w", encoding="utf-8",
                                                                       newline="") as fout:
                    for chunk in iter(lambda: fin.read(1 << 20), ""):
                        fout.write(chunk)
            except UnicodeDecodeError as e:
                raise DataValidationError("events", None, f"cannot be decoded as {enc} (tables.events.encoding "
                                          f"in the data config): {e.reason}", file=path.name) from None
            con.raw_sql(f"CREATE OR REPLACE TABLE _events_file AS SELECT *, row_number() OVER () AS _row "
                        f"FROM read_csv({_lit(copy)}, {opts})")
        return "_events_file", f"_row + {1 + skip}", "line"
    return f"read_csv({_lit(path.resolve())}, {opts})", f"row_number() OVER () + {1 + skip}", "line"


def _engine_error(e, path) -> DataValidationError:
    """A DuckDB read error as a :class:`DataValidationError` naming the line and what is wrong."""
    msg = str(e)
    m = re.search(r"CSV Error on Line: (\d+)", msg)
    at = f"line {m.group(1)}" if m else "a line"
    cols = re.search(r"Expected Number of Columns: (\d+) Found: (\d+)", msg)
    if cols:
        problem = (f"{at} has {cols.group(2)} fields, the header has {cols.group(1)}: a value holding the "
                   "delimiter without quotes, or a missing field? Quote such values or fix the line")
    elif "unterminated quote" in msg:
        problem = (f"a quoted field opened on {at} is never closed: a stray quote? Remove it, or double it "
                   "(\"\") inside a quoted value")
    elif "Invalid unicode" in msg or "not utf-8" in msg.lower():
        problem = (f"is not UTF-8 text ({at}): name its encoding in the data config "
                   "(tables.events.encoding: cp1252, cp932, ...), or save it as UTF-8")
    elif "Maximum line size" in msg:
        problem = f"{at} is longer than {MAX_FIELD // 2**20} MiB: a quote that is not closed?"
    elif path.suffix.lower() == ".parquet":
        problem = f"cannot be read as Parquet ({msg.splitlines()[0]}): export it again, or save it as CSV"
    else:
        problem = f"cannot be read ({msg.splitlines()[0]})"
    return DataValidationError("events", None, problem, file=path.name)


_INTEGER_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
                  "UBIGINT", "FLOAT", "DOUBLE", "DECIMAL")


def _events_view(con, path, tcfg, log) -> dict | None:
    """Phase 1: the events file as the view ``events_src`` (canonical columns); None when it has no rows."""
    spec = TABLES["events"]
    source = _events_source(con, path, tcfg, log)
    if source is None:
        log.read("events", path.name, 0)
        log.used("events", 0)
        what = ("is empty" if path.is_dir() or path.stat().st_size == 0 or path.suffix.lower() == ".parquet"
            else "has a header but no rows")
        log.note("events", path.name, f"{what}: treated as absent (analyses that need events skip themselves)")
        return None
    src, line_expr, line_word = source
    described = con.raw_sql(f"DESCRIBE SELECT * FROM {src}").fetchall()
    cols = [r[0] for r in described if r[0] not in ("file_row_number", "_row")]
    types = {r[0]: r[1] for r in described}
    _check_header(cols, "events", path)
    absent = [c for c in tcfg.columns if c not in cols]
    if absent:
        raise ConfigError(f"data config: tables.events.columns maps {', '.join(map(repr, absent))}, but "
                          f"{path.name} has no such column; it has: {', '.join(cols)}")
    canon = {}
    for c in cols:
        target = tcfg.columns.get(c, c)
        if target in canon and target in spec.columns:
            raise DataValidationError("events", target, f"appears twice after mapping: {canon[target]!r} and {c!r} "
                                      "both give it; drop one of them or its mapping (tables.events.columns)",
                                      file=path.name)
        canon[target] = c
    missing = [c for c in spec.required if c not in canon]
    if missing:
        hint = " (map your column names in the data config: tables.events.columns)"
        if len(cols) == 1 and any(d in cols[0] for d in _DELIMITERS):
            hint = " (the header looks delimited by another character: set tables.events.delimiter)"
        raise DataValidationError("events", missing[0], f"required column(s) {', '.join(map(repr, missing))} "
                                  f"missing; the file has: {', '.join(cols)}{hint}", file=path.name)
    if "event" in tcfg.values:
        raise ConfigError("data config: tables.events.values is not supported for events; rename events in "
                          "the activity settings instead")

    def text(c):
        return f"NULLIF(trim(CAST({_q(canon[c])} AS VARCHAR)), '')"

    ts_src, ts_type = _q(canon["ts"]), types[canon["ts"]].upper()
    ts_raw = text("ts") if ts_type == "VARCHAR" else ts_src
    if "TIME ZONE" in ts_type:
        ts_expr = utc_naive(ts_src)
    elif ts_type.startswith("TIMESTAMP") or ts_type == "DATE":
        ts_expr = f"CAST({ts_src} AS TIMESTAMP)"
    elif ts_type.startswith(_INTEGER_TYPES):
        ts_expr = _epoch_sql(con, src, ts_src, path, log)
    elif tcfg.date_format:
        fmt = _lit(tcfg.date_format)
        ts_expr = (utc_naive(f"try_strptime({ts_raw}, {fmt})") if re.search("%[zZ]", tcfg.date_format)
                   else f"CAST(try_strptime({ts_raw}, {fmt}) AS TIMESTAMP)")
    else:
        ts_expr = utc_naive(f"TRY_CAST({ts_raw} AS TIMESTAMPTZ)")
    sel = [f"{text('account_id')} AS account_id", f"{ts_expr} AS ts", f"{text('event')} AS event",
           f"{text('user_id')} AS user_id" if "user_id" in canon else "CAST(NULL AS VARCHAR) AS user_id",
           f"TRY_CAST({_q(canon['value'])} AS DOUBLE) AS value" if "value" in canon
           else "CAST(NULL AS DOUBLE) AS value"]
    value_raw = text("value") if "value" in canon else "CAST(NULL AS VARCHAR)"
    rest = f"{ts_raw} AS ts_raw, {value_raw} AS value_raw, {line_expr} AS _line FROM {src}"
    con.raw_sql(f"CREATE OR REPLACE VIEW events_src AS SELECT {', '.join(sel)}, {rest}")

    # What the validation pass reads per row: the raw columns, with only the per-row work the
    # source needs (text timestamps and values are parsed; typed ones are compared as integers)
    def raw(c):
        t = types[canon[c]].upper()
        return _q(canon[c]) if t == "VARCHAR" else f"CAST({_q(canon[c])} AS VARCHAR)"

    text_ts = not ("TIME ZONE" in ts_type or ts_type.startswith("TIMESTAMP") or ts_type == "DATE"
                   or ts_type.startswith(_INTEGER_TYPES))
    text_value = "value" in canon and types[canon["value"]].upper() == "VARCHAR"
    csv_source = line_word == "line"
    return {"path": path, "line_word": line_word, "date_format": tcfg.date_format, "src": src,
            "account_raw": raw("account_id"), "event_raw": raw("event"),
            "ts_us": f"epoch_us({ts_src})" if "TIME ZONE" in ts_type else f"epoch_us({ts_expr})",
            "ts_missing": f"{ts_raw} IS NULL",
            "bad_ts": f"{ts_raw} IS NOT NULL AND {ts_expr} IS NULL" if text_ts else None,
            "bad_value": (f"{value_raw} IS NOT NULL AND TRY_CAST({_q(canon['value'])} AS DOUBLE) IS NULL"
                          if text_value else None),
            # a line break in a value is a stray quote's doing in a CSV file only
            "user_multi": f"contains({text('user_id')}, chr(10))" if csv_source and "user_id" in canon else None,
            "multiline": csv_source,
            # the canonical view with the ids as they are, used when no id needs trimming
            "plain_view": (f"CREATE OR REPLACE VIEW events_src AS SELECT {raw('account_id')} AS account_id, "
                           f"{ts_expr} AS ts, {raw('event')} AS event, {', '.join(sel[3:])}, {rest}")}


def utc_naive(tstz: str) -> str:
    """SQL turning the TIMESTAMPTZ expression ``tstz`` into a naive UTC ``TIMESTAMP``.

    ``make_timestamp(epoch_us(x))`` gives the same values as ``x AT TIME ZONE 'UTC'`` (both are the
    instant's UTC wall clock, to the microsecond; NULL stays NULL) but is plain integer arithmetic,
    where ``AT TIME ZONE`` looks the zone up for every row, several times faster on a large scan.
    """
    return f"make_timestamp(epoch_us({tstz}))"


def _likely_extraction(extraction_date) -> pd.Timestamp:
    """The extraction date the load will most likely settle on: the given one, else today (UTC)."""
    if extraction_date is not None:
        return pd.Timestamp(extraction_date).normalize()
    return pd.Timestamp.now(tz="UTC").tz_localize(None).normalize()


class _EventsPrescan:
    """The events' one full pass (:func:`_events_scan`), run on its own DuckDB connection while the
    small tables are read. Its result is used only for the extraction date it assumed."""

    def __init__(self, extraction=None):
        self.extraction, self._future, self._con = extraction, None, None

    @classmethod
    def start(cls, ev, extraction):
        job = cls(extraction)
        if ev is None or not str(ev.get("src", "")).startswith(("read_parquet(", "read_csv(")):
            return job   # (a table copied into the load's own database is read there)
        import concurrent.futures
        import duckdb

        job._con = duckdb.connect()
        job._con.execute("SET TimeZone = 'UTC'")
        pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="churnlab-events")
        job._future = pool.submit(_events_scan, job._con.execute, ev, extraction)
        pool.shutdown(wait=False)
        return job

    def result(self, extraction):
        """The pass for ``extraction``, or ``None`` (never started, or for another date)."""
        if self._future is None or extraction != self.extraction:
            return None
        try:
            return self._future.result()
        finally:
            self._close()

    def cancel(self):
        if self._future is not None and not self._future.done():
            self._con.interrupt()
            try:
                self._future.exception()
            except BaseException:   # noqa: BLE001 (cancelled: the outcome no longer matters)
                pass
        self._close()

    def _close(self):
        if self._con is not None:
            self._con.close()
        self._future, self._con = None, None


def _events_scan(run, ev, extraction):
    """The one full pass over the events: ``(distinct event names or None, rows per raw account id)``.

    ``run(sql)`` executes on a DuckDB connection; both results are fetched (the names as a frame,
    the per-account table as Arrow), so that any connection can compute them.

    The pass is grouped by the account id as it is in the file and reads only what each row must
    prove (its timestamp present, before the extraction date; a text value a number); ids and
    event names are trimmed and checked on their distinct values, not per row. Joining the (small)
    per-account result to the account lists is far cheaper than joining every event row.
    """
    src, acc, evr = ev["src"], ev["account_raw"], ev["event_raw"]
    cut_us = int((extraction + pd.Timedelta(days=1)).value // 1000)
    multiline_text = "(contains({x}, chr(10)) OR contains({x}, chr(13)))"
    if ev["multiline"]:
        # a CSV file: every query reads all of its columns (so that each value is checked as text,
        # and DuckDB's reader never skips a column it does not return); event names per row
        names = None
        ev_missing = f"NULLIF(trim({evr}), '') IS NULL"
        row_multi = " OR ".join([multiline_text.format(x=evr)] + ([ev["user_multi"]] if ev["user_multi"] else []))
    else:
        names = run(f"SELECT {evr} AS raw, NULLIF(trim({evr}), '') AS event, count(*) AS n FROM {src} "
                    "GROUP BY 1").df()
        blank = [r for r, e in zip(names["raw"], names["event"]) if pd.notna(r) and pd.isna(e)]
        ev_missing = f"{evr} IS NULL" + (f" OR {evr} IN ({', '.join(map(_lit, blank))})" if blank else "")
        row_multi = None
    row_missing = f"({ev['ts_missing']} OR {ev_missing})"

    def per_row(cond):
        return f"count(*) FILTER (WHERE {cond})" if cond else "0"

    by_raw = run(f"""
        SELECT {acc} AS account_raw, count(*) AS n,
               {per_row(ev['bad_ts'])} AS bad_ts,
               {per_row(row_missing)} AS missing,
               count(*) FILTER (WHERE NOT {row_missing} AND {ev['ts_us']} >= {cut_us}) AS future,
               {per_row(ev['bad_value'])} AS bad_value,
               {per_row(row_multi)} AS multiline,
               max({ev['ts_us']}) FILTER (WHERE {ev['ts_us']} < {cut_us}) AS ts_max_us
        FROM {src} GROUP BY 1""").fetch_arrow_table()
    return names, by_raw


def _events(con, ev, raw_ids, log, extraction, accounts_file):
    path, line_word = ev["path"], ev["line_word"]

    # One pass over the events, grouped by the account id as it is in the file, reading only what
    # each row must prove (its timestamp present, before the extraction date; a text value a
    # number); ids and event names are trimmed and checked on their distinct values, not per row.
    # Joining the (small) per-account result to the account lists is far cheaper than joining
    # every event row.
    multiline_text = "(contains({x}, chr(10)) OR contains({x}, chr(13)))"
    prescan = ev.get("prescan")
    scanned = prescan.result(extraction) if prescan is not None else None
    if scanned is None:   # not started, or the extraction date is another than it assumed
        scanned = _events_scan(con.con.execute, ev, extraction)
    names, by_raw = scanned
    con.con.register("_events_by_raw_account_scan", by_raw)
    con.raw_sql("CREATE OR REPLACE TEMP TABLE _events_by_raw_account AS SELECT * FROM _events_by_raw_account_scan")
    con.con.unregister("_events_by_raw_account_scan")
    account_multi = multiline_text.format(x="account_raw") if ev["multiline"] else "false"
    con.raw_sql(f"""
        CREATE OR REPLACE TEMP TABLE _events_by_account AS
        SELECT account_id, sum(n) AS n, sum(bad_ts) AS bad_ts, sum(missing) AS missing, sum(future) AS future,
               sum(bad_value) AS bad_value, sum(multiline) AS multiline,
               make_timestamp(max(ts_max_us)) AS ts_max
        FROM (SELECT NULLIF(trim(account_raw), '') AS account_id, n, bad_ts, bad_value,
                     CASE WHEN NULLIF(trim(account_raw), '') IS NULL THEN n ELSE missing END AS missing,
                     CASE WHEN NULLIF(trim(account_raw), '') IS NULL THEN 0 ELSE future END AS future,
                     CASE WHEN {account_multi} THEN n ELSE multiline END AS multiline, ts_max_us
              FROM _events_by_raw_account) GROUP BY account_id""")
    ids_as_they_are = names is not None and all(
        pd.isna(r) or r == e for r, e in zip(names["raw"], names["event"])) and not con.raw_sql(
        "SELECT count(*) FROM _events_by_raw_account WHERE account_raw IS DISTINCT FROM "
        "NULLIF(trim(account_raw), '')").fetchone()[0]
    if ids_as_they_are:   # the events view then reads the ids without trimming each row
        con.raw_sql(ev["plain_view"])
    incomplete = "account_id IS NULL OR ts_raw IS NULL OR event IS NULL"
    multiline = ("(contains(account_id, chr(10)) OR contains(event, chr(10)) OR contains(user_id, chr(10)) OR "
                 "contains(account_id, chr(13)) OR contains(event, chr(13)))")
    cut = f"TIMESTAMP {_lit((extraction + pd.Timedelta(days=1)).strftime('%Y-%m-%d'))}"
    con.raw_sql("""
        CREATE OR REPLACE TEMP TABLE _events_by_account_status AS
        SELECT g.*, CASE WHEN g.account_id IS NULL THEN 'none'
                         WHEN r.account_id IS NULL THEN 'unknown account_id'
                         WHEN a.account_id IS NULL THEN 'account excluded from accounts'
                         ELSE 'ok' END AS status
        FROM _events_by_account g
        LEFT JOIN raw_account_ids r ON g.account_id = r.account_id
        LEFT JOIN (SELECT account_id FROM accounts) a ON g.account_id = a.account_id""")
    n, bad_ts, missing, future, bad_value, multi = (int(v or 0) for v in con.raw_sql(
        "SELECT sum(n), sum(bad_ts), sum(missing), sum(future), sum(bad_value), sum(multiline) "
        "FROM _events_by_account").fetchone())
    ts_max = con.raw_sql("SELECT max(ts_max) FROM _events_by_account_status WHERE status = 'ok'").fetchone()[0]
    log.read("events", path.name, n)
    ts_text = "COALESCE(CAST(date_trunc('second', ts) AS VARCHAR), CAST(ts_raw AS VARCHAR)) AS ts"

    def examples(where):
        ex = con.raw_sql(f"SELECT _line, account_id, {ts_text}, event FROM events_src WHERE {where} "
                         "ORDER BY _line LIMIT 5").df()
        ex.attrs["line_word"] = line_word
        return ex

    if multi:  # ids and event names never hold a line break: a stray quote swallowed lines
        ex = examples(multiline)
        raise DataValidationError(
            "events", None, f"{multi:,} value(s) of account_id / event / user_id run over several lines, from "
            f"line {int(ex['_line'].iloc[0])} on: a stray quote swallowed the lines after it? Remove it, or "
            "double it (\"\") inside a quoted value", file=path.name, rows=0, examples=ex)
    if bad_ts:
        fmt = ev["date_format"]
        want = (f"dates like {fmt} (tables.events.date_format)" if fmt else
                "ISO 8601, UTC unless an offset is given; set tables.events.date_format for another format")
        raise DataValidationError("events", "ts", f"cannot be read as a timestamp (expected {want})",
                                  file=path.name, rows=bad_ts, examples=examples("ts IS NULL AND ts_raw IS NOT NULL"))
    if missing:
        log.exclude("events", path.name, "missing account_id / ts / event", missing, examples(incomplete))
    if bad_value:
        ex = con.raw_sql("SELECT _line, account_id, event, value_raw AS value FROM events_src WHERE value_raw IS NOT "
                         "NULL AND value IS NULL ORDER BY _line LIMIT 5").df()
        ex.attrs["line_word"] = line_word
        log.fix("events", path.name, "value not a number set to missing", bad_value, ex)
    if future:
        log.exclude("events", path.name, f"ts after the extraction date ({extraction.date()})", future,
                    examples(f"NOT ({incomplete}) AND ts >= {cut}"))
    unknown = con.raw_sql("SELECT account_id, n - missing - future AS k FROM _events_by_account_status "
                          "WHERE status = 'unknown account_id' AND n - missing - future > 0 "
                          "ORDER BY k DESC LIMIT 10000").df()
    if len(unknown):
        counts = pd.Series(unknown["k"].to_numpy(), index=unknown["account_id"].astype(str))
        total = n - missing - future
        n_unknown = int(con.raw_sql("SELECT sum(n - missing - future) FROM _events_by_account_status "
                                    "WHERE status = 'unknown account_id'").fetchone()[0] or 0)
        check_mangled_ids("events", path.name, counts, total, raw_ids, accounts_file, n_unknown=n_unknown,
                          examples=examples(f"account_id IN ({', '.join(map(_lit, counts.index[:5]))})"))
    for reason in ("unknown account_id", "account excluded from accounts"):
        k = con.raw_sql(f"SELECT sum(n - missing - future) FROM _events_by_account_status "
                        f"WHERE status = {_lit(reason)}").fetchone()[0]
        if k:
            ids = [r[0] for r in con.raw_sql(f"SELECT account_id FROM _events_by_account_status WHERE "
                                             f"status = {_lit(reason)} ORDER BY account_id LIMIT 5").fetchall()]
            where = (f"account_id IN ({', '.join(map(_lit, ids))}) AND NOT ({incomplete}) AND ts < {cut}")
            log.exclude("events", path.name, reason, int(k), examples(where))
    valid = f"account_id IS NOT NULL AND ts IS NOT NULL AND event IS NOT NULL AND ts < {cut}"
    excluded_ids = ("SELECT account_id FROM _events_by_account_status "
                    "WHERE status IN ('unknown account_id', 'account excluded from accounts')")
    con.raw_sql(f"CREATE OR REPLACE VIEW events AS SELECT account_id, ts, event, user_id, value "
                f"FROM events_src WHERE {valid} AND account_id NOT IN ({excluded_ids})")
    used = n - log.excluded_count("events")
    log.used("events", used)
    if not used:
        log.note("events", path.name, "no usable rows: treated as absent (analyses that need events skip "
                 "themselves)")
        return None, None
    return con.table("events"), (pd.Timestamp(ts_max) if ts_max is not None else None)


def _epoch_sql(con, src, col, path, log) -> str:
    """SQL reading event timestamps stored as numbers as Unix epoch values (see :func:`epoch_unit`)."""
    largest, count = con.raw_sql(f"SELECT max(abs(CAST({col} AS DOUBLE))), count({col}) FROM {src}").fetchone()
    if not count:
        return "CAST(NULL AS TIMESTAMP)"
    unit, words = epoch_unit(float(largest))
    x = f"CAST({col} AS DOUBLE)"
    expr = {"D": f"CAST(DATE '1970-01-01' + CAST({x} AS INTEGER) AS TIMESTAMP)",
            "s": f"make_timestamp(CAST({x} * 1e6 AS BIGINT))",
            "ms": f"make_timestamp(CAST({x} * 1e3 AS BIGINT))",
            "us": f"make_timestamp(CAST({x} AS BIGINT))",
            "ns": f"make_timestamp(CAST({x} / 1e3 AS BIGINT))"}[unit]
    lo, hi = con.raw_sql(f"SELECT min({expr}), max({expr}) FROM {src}").fetchone()
    if pd.Timestamp(lo) < pd.Timestamp("1990-01-01") or pd.Timestamp(hi) > pd.Timestamp("2100-01-01"):
        raise DataValidationError(
            "events", "ts", f"are stored as numbers that do not read as timestamps: as Unix epoch {words} "
            "they fall outside 1990-2100. Store them as Parquet timestamps or as ISO text", file=path.name,
            rows=int(count))
    log.note("events", path.name, f"ts is stored as numbers: read as Unix epoch {words} (UTC)", int(count))
    return expr


def coverage(dataset: Dataset) -> pd.DataFrame:
    """What each table covers: ``table, rows, first, last`` (dates of its main date column).

    Examples
    --------
    >>> coverage(load("data/sample"))             # doctest: +SKIP
    """
    out = []
    date_col = {"accounts": "signup_date", "subscriptions": "month", "users": "created_at",
                "exit_interviews": "invited_at", "roadmap": "shipped_at", "health_scores": "scored_at",
                "support_tickets": "opened_at", "nps_responses": "responded_at", "touchpoints": "at"}
    for table, col in date_col.items():
        df = getattr(dataset, table)
        if df is None and table in SUCCESS_TABLES:   # listed only when given (the at-risk review says)
            continue
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


# --------------------------------------------------------------------------- validated snapshot

#: Environment variable naming the validated snapshot of the review being run (set by ``churnlab review``
#: for its notebooks only): :func:`load` opens it instead of reading the data folder again.
SNAPSHOT_ENV = "CHURNLAB_SNAPSHOT"
SNAPSHOT_FORMAT = 1
_SNAPSHOT_META = "snapshot.json"
_SNAPSHOT_STATE = "dataset.pickle"
_SNAPSHOT_EVENTS = "events.parquet"


def write_snapshot(dataset: Dataset, folder) -> Path | None:
    """Save a validated :class:`Dataset` in ``folder``, for :func:`open_snapshot` to open without re-reading.

    The events go to one Parquet file, with their canonical columns and timestamps already in UTC
    (the validated ``events`` view, excluded rows left out). The small tables, the row accounting, the
    exclusions, findings, data end, extraction date, taxonomy and data config are pickled together
    (so they come back exactly, dtypes included), and ``snapshot.json`` says what the snapshot is in
    words. The snapshot is a private working copy of one review run, not an interchange format: it
    holds the customer data, so :func:`churnlab.report.run_review` deletes it when the review ends.

    Returns
    -------
    Path or None
        The snapshot folder; None when the events live in an engine other than DuckDB (the notebooks
        then load the data themselves).
    """
    import json
    import pickle
    import shutil

    if dataset.events is not None and getattr(dataset.con, "name", "duckdb") != "duckdb":
        return None
    folder = Path(folder)
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    if dataset.events is not None:
        dataset.con.raw_sql(f"COPY (SELECT account_id, ts, event, user_id, value FROM events) TO "
                            f"{_lit(folder / _SNAPSHOT_EVENTS)} (FORMAT parquet, COMPRESSION snappy)")
    state = {k: getattr(dataset, k) for k in dataset.__dataclass_fields__ if k not in ("events", "con")}
    for k in (*_SNAPSHOT_TABLES, *SUCCESS_TABLES):   # the tables as Parquet: no pickle memo of every value
        df = state.get(k)
        if isinstance(df, pd.DataFrame) and len(df) and _write_table(df, folder / f"{k}.parquet"):
            state[k] = _Stored(f"{k}.parquet", dict(df.attrs))
    with open(folder / _SNAPSHOT_STATE, "wb") as fh:
        pickle.dump(state, fh, protocol=pickle.HIGHEST_PROTOCOL)
    meta = {"format": SNAPSHOT_FORMAT, "source_dir": str(Path(dataset.source_dir).resolve()),
            "config": _config_key(dataset.config), "events": dataset.events is not None,
            "data_end": str(dataset.data_end.date()),
            "extraction_date": str(dataset.extraction_date.date()) if dataset.extraction_date is not None else None,
            "rows": dataset.rows.to_dict("records")}
    (folder / _SNAPSHOT_META).write_text(json.dumps(meta, indent=2, default=str), encoding="utf-8")
    return folder


#: Dataset tables a snapshot keeps as Parquet files (when their columns allow; else pickled).
_SNAPSHOT_TABLES = ("accounts", "subscriptions", "users", "exit_interviews", "roadmap")


@dataclass(frozen=True)
class _Stored:
    """A snapshot table kept in its own Parquet file (and its ``attrs``)."""

    file: str
    attrs: dict


def _write_table(df: pd.DataFrame, path: Path) -> bool:
    """``df`` as Parquet at ``path`` when it comes back identical (dtypes included); False otherwise."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pa.Table.from_pandas(df, preserve_index=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, TypeError, ValueError):
        return False   # a column of mixed Python types: pickled instead
    back = table.slice(0, 1000).to_pandas()   # the dtypes the types give back, on the first rows
    if list(back.dtypes) != list(df.dtypes) or not back.index.equals(df.index[:1000]):
        return False
    pq.write_table(table, path)
    return True


def is_snapshot(path) -> bool:
    """Whether ``path`` is a folder written by :func:`write_snapshot`."""
    return (Path(path) / _SNAPSHOT_META).is_file() and (Path(path) / _SNAPSHOT_STATE).is_file()


def open_snapshot(folder) -> Dataset:
    """The :class:`Dataset` saved by :func:`write_snapshot`, read-only and without validating again.

    Events are a lazy Ibis table over the snapshot's Parquet file, in the data config's engine (see
    :func:`churnlab.engine.events_to_engine`): a notebook that never touches them never scans them,
    nor starts Spark.
    """
    import json
    import pickle

    folder = Path(folder)
    meta = json.loads((folder / _SNAPSHOT_META).read_text(encoding="utf-8"))
    if meta.get("format") != SNAPSHOT_FORMAT:
        raise ConfigError(f"{folder} is a snapshot of another churnlab version: run the review again")
    with open(folder / _SNAPSHOT_STATE, "rb") as fh:
        state = pickle.load(fh)  # written by write_snapshot in this review's own report folder
    for k, v in state.items():
        if isinstance(v, _Stored):
            import pyarrow.parquet as pq

            df = pq.read_table(folder / v.file).to_pandas()
            df.attrs = dict(v.attrs)
            state[k] = df
    con = connect()
    acc_cols = [c for c in ("account_id", "signup_date", "churn_date", "cancel_date", "segment", "plan",
                            "contract", "contract_months", "industry", "region", "acquisition_channel", "seats", "mrr")
                if c in state["accounts"].columns]
    register_frame(con, "accounts", state["accounts"][acc_cols].astype({"account_id": str}))
    events = None
    if meta["events"]:
        con.raw_sql(f"CREATE OR REPLACE VIEW events AS SELECT account_id, ts, event, user_id, value "
                    f"FROM read_parquet({_lit((folder / _SNAPSHOT_EVENTS).resolve())})")
        # in the engine of the data config (on Spark: read from the snapshot when first used)
        events = engine.events_to_engine(state["config"], con.table("events"))
    return Dataset(events=events, con=con, **state)


def _config_key(cfg: Config) -> str | None:
    return str(Path(cfg.path).resolve()) if cfg.path is not None else None


def _review_snapshot(data_dir, config, extraction_date) -> Path | None:
    """The snapshot :func:`load` should open instead of ``data_dir``, if any.

    ``data_dir`` itself when it is a snapshot folder; else the snapshot named by :data:`SNAPSHOT_ENV`
    (set by ``churnlab review`` for its notebooks) when it was made from this data folder with this
    data config and no other extraction date was asked for. A notebook run by hand has no such
    variable and loads the data folder itself.
    """
    if is_snapshot(data_dir):
        return Path(data_dir)
    env = os.environ.get(SNAPSHOT_ENV)
    if not env or extraction_date is not None or not is_snapshot(env):
        return None
    import json

    try:
        meta = json.loads((Path(env) / _SNAPSHOT_META).read_text(encoding="utf-8"))
        same_dir = Path(meta["source_dir"]) == Path(data_dir).resolve()
        same_cfg = same_dir and meta["config"] == _config_key(config_for(data_dir, config))
    except (OSError, ValueError, KeyError):
        return None
    return Path(env) if same_dir and same_cfg else None
