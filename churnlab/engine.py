"""The engine the events are aggregated in, chosen by the ``engine:`` section of the data config.

* DuckDB in memory (the default): files are read and validated by DuckDB, and events stay there.
* A DuckDB database file (``engine: {backend: duckdb, path: warehouse.duckdb}``): opened read-only;
  its tables can be named as sources (``tables.events.table: analytics.events``).
* PySpark (``engine: {backend: pyspark, master: "local[2]"}`` or ``remote: sc://host:15002``): the
  events are aggregated by Spark through Ibis's pyspark backend. Tables of the Spark catalog can be
  named as sources. Events read from a file are validated by DuckDB on this machine first, then
  handed to Spark: as a Parquet file for a local master, as rows sent to the cluster otherwise (a
  cluster's executors or a Spark Connect server cannot read this machine's files). For large event
  volumes on a cluster, name a table of the cluster instead of a file.

A table source goes through the same column mapping and the same checks as a file: small tables
are read whole and validated like a file; events are validated with Ibis expressions in the engine
(rows missing an id, timestamp or event, rows after the extraction date, and unknown or excluded
accounts are counted and excluded; a timestamp that cannot be read stops the load). Only the
per-account counts and a few example rows come back from the engine.
"""
from __future__ import annotations

import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .config import Config, ConfigError, EngineConfig
from .schema import TABLES, DataValidationError

_BACKENDS: dict = {}


def fetch(expr) -> pd.DataFrame:
    """The result of an Ibis expression of text, timestamp and number columns, as a pandas frame.

    It comes through Arrow: text as Python strings (one string per distinct value, shared by its
    rows), timestamps as ``datetime64``, counts as ``int64``. For results of millions of rows this
    is a third faster than ``expr.execute()``, which converts every column once more. Results with
    columns of other types (dates, nullable integers, booleans with blanks) convert differently
    through Arrow: fetch those with ``execute()``.
    """
    return expr.to_pyarrow().to_pandas()


def connect(config=None):
    """The Ibis backend of ``config`` (a :class:`~churnlab.config.Config` or its ``engine``).

    One backend per engine setting and process: the Spark session (slow to start) and an attached
    database file are shared by every load in the process.

    Examples
    --------
    >>> connect(None).name
    'duckdb'
    """
    eng = config.engine if isinstance(config, Config) else (config or EngineConfig())
    key = (eng.backend, str(eng.path), eng.master, eng.remote, tuple(sorted(eng.conf.items())))
    if key not in _BACKENDS:
        _BACKENDS[key] = _pyspark(eng) if eng.backend == "pyspark" else _duckdb(eng)
    return _BACKENDS[key]


def _duckdb(eng: EngineConfig):
    from .sources import _lit, _q, connect as duckdb_connect

    con = duckdb_connect()
    if eng.path is not None:  # attached read-only: the review never writes into the user's database
        con.raw_sql(f"ATTACH {_lit(eng.path)} AS {_q(eng.path.stem)} (READ_ONLY)")
    return con


def spark_session(eng: EngineConfig):
    """The Spark session of an ``engine: {backend: pyspark}`` setting (created or reused)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise ConfigError("engine.backend pyspark needs PySpark: pip install 'churnlab[spark]' (and Java 17 "
                          "for a local master)") from None
    if eng.remote:
        _check_reachable(eng.remote)
        builder = SparkSession.builder.remote(eng.remote)
    else:
        if shutil.which("java") is None and not _java_home():
            raise ConfigError("engine.backend pyspark with a local or cluster master needs Java 17 on this "
                              "machine (e.g. apt-get install openjdk-17-jre-headless), or use a Spark Connect "
                              "URL (engine.remote)")
        master = eng.master or "local[*]"
        builder = SparkSession.builder.master(master).appName("churnlab")
        defaults = {"spark.sql.session.timeZone": "UTC"}
        m = re.fullmatch(r"local\[(\d+|\*)\]|local", master)
        if m:  # one machine: as many shuffle partitions as cores (Spark's 200 are for clusters)
            cores = m.group(1) if m.group(1) and m.group(1) != "*" else str(os.cpu_count() or 2)
            defaults.update({"spark.ui.enabled": "false", "spark.ui.showConsoleProgress": "false", "spark.sql.shuffle.partitions": cores if master != "local" else "1"})
        for k, v in {**defaults, **eng.conf}.items():
            builder = builder.config(k, v)
    session = builder.getOrCreate()
    if eng.remote:  # a server's settings are set per session (Ibis sets the session's time zone to UTC)
        for k, v in eng.conf.items():
            try:
                session.conf.set(k, v)
            except Exception as e:  # noqa: BLE001 - the server says why (a static setting, a bad value)
                raise ConfigError(f"engine.conf: the Spark Connect server at {eng.remote} does not take "
                                  f"{k} = {v}: {str(e).splitlines()[0][:300]}") from None
    return session


def _check_reachable(url: str, timeout: float = 10.0) -> None:
    """Stop with a config error when nothing answers at a Spark Connect URL's host and port.

    The Connect client retries for ten minutes before giving up (to ride out a server restart during
    a review); a mistyped host or port should say so at once instead.

    >>> _check_reachable("sc://localhost:1")
    Traceback (most recent call last):
    ...
    churnlab.config.ConfigError: engine.remote: nothing answers at sc://localhost:1 (localhost, port 1: ...
    """
    import socket
    from urllib.parse import urlsplit

    where = urlsplit("//" + url[len("sc://"):].split("/", 1)[0].split(";", 1)[0])
    try:
        host, port = where.hostname, where.port or 15002
    except ValueError:
        raise ConfigError(f"engine.remote {url!r} has no valid port (sc://host:15002)") from None
    if not host:
        raise ConfigError(f"engine.remote {url!r} names no host (sc://host:15002)")
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except OSError as e:
        raise ConfigError(f"engine.remote: nothing answers at {url} ({host}, port {port}: "
                          f"{e.strerror or e}); check the URL and that the Spark Connect server runs") from None


def _local_master(eng: EngineConfig) -> bool:
    """Whether Spark runs on this machine (``local``, ``local[N]``, ``local[*]``), so reads this machine's files."""
    return not eng.remote and bool(re.fullmatch(r"local(\[(\d+|\*)(,\d+)?\])?", eng.master or "local[*]"))


def _java_home() -> bool:
    home = os.environ.get("JAVA_HOME")
    return bool(home) and (Path(home) / "bin" / "java").exists()


def _pyspark(eng: EngineConfig):
    import ibis

    return ibis.pyspark.connect(spark_session(eng))


def is_spark(con) -> bool:
    """Whether ``con`` is a Spark backend."""
    return getattr(con, "name", "") == "pyspark"


# --------------------------------------------------------------------------- table sources


@dataclass
class TableRef:
    """A table of the engine named as a source (``tables.<t>.table``); stands in for a file path."""

    table: str  # churnlab's table
    source: str  # as written: table, database.table or catalog.database.table
    config: Config

    @property
    def name(self) -> str:  # how messages name the source, like a file name
        return f"table {self.source}"

    suffix = ""

    def expr(self):
        """The source as an Ibis table of the engine."""
        con = connect(self.config)
        parts = self.source.split(".")
        if not is_spark(con):  # DuckDB: the attached file is the catalog
            catalog = self.config.engine.path.stem
            database = (catalog, parts[-2]) if len(parts) >= 2 else (catalog, "main")
            if len(parts) == 3:
                database = (parts[0], parts[1])
        else:
            database = tuple(parts[:-1]) if len(parts) == 3 else (parts[0] if len(parts) == 2 else None)
        try:
            return con.table(parts[-1], database=database)
        except Exception as e:  # noqa: BLE001 - each backend raises its own "not found"
            raise DataValidationError(self.table, None, f"the engine has no table {self.source} (tables."
                                      f"{self.table}.table in the data config): {str(e).splitlines()[0]}",
                                      file=self.name) from None

    def read(self) -> pd.DataFrame:
        """A small table, whole, as text columns (validated afterwards like a file)."""
        df = self.expr().to_pandas()
        return df.astype(object).where(df.notna(), None)


def source(config: Config, table: str) -> TableRef | None:
    """The table source of ``table`` when the config names one."""
    name = config.table(table).table
    return TableRef(table, name, config) if name else None


# --------------------------------------------------------------------------- events in the engine


class LazyTable:
    """An Ibis table made on first use: a notebook that never touches the events never starts Spark.

    Attribute access and indexing go to the table (``events.ts``, ``events.filter(...)``,
    ``events["event"]``), which is made once by ``make()``.
    """

    def __init__(self, make):
        self._make, self._table = make, None

    def table(self):
        """The Ibis table itself (made now if needed)."""
        if self._table is None:
            self._table = self._make()
        return self._table

    def __getattr__(self, name):
        if name in ("_make", "_table"):
            raise AttributeError(name)
        return getattr(self.table(), name)

    def __getitem__(self, key):
        return self.table()[key]

    def __repr__(self):
        return "<events, in the engine when first used>" if self._table is None else repr(self._table)


def events_to_engine(config: Config, events):
    """The validated events (an Ibis table over DuckDB) in the configured engine.

    For DuckDB, the table itself. For Spark, a :class:`LazyTable`: on first use, the events are
    written to a Parquet file, read and checkpointed by Spark, and the file removed.
    """
    if events is None or config.engine.backend != "pyspark" or is_spark(events.get_backend()):
        return events
    return LazyTable(lambda: _to_spark(config, events))


def _to_spark(config: Config, events):
    con = connect(config)
    folder = Path(tempfile.mkdtemp(prefix="churnlab-events-"))
    try:  # Spark keeps its own copy (checkpointed), so the file goes at once, even if the kernel is killed
        if _local_master(config.engine):
            path = folder / "events.parquet"
            events.to_parquet(path)
            frame = con._session.read.parquet(str(path))
        else:  # the cluster cannot read this machine's files: the rows are sent (Arrow batches)
            frame = con._session.createDataFrame(events.to_pyarrow())
        frame = frame.localCheckpoint(eager=True)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    name = f"churnlab_events_{folder.name.rsplit('-', 1)[-1]}"
    frame.createOrReplaceTempView(name)
    return con.table(name)


def table_events(ref: TableRef, log, accounts_ids, raw_ids, extraction, accounts_file):
    """Map and validate an events table of the engine; ``(events or None, last timestamp)``.

    The checks are those of an events file: required columns, timestamps that cannot be read (a
    stop), rows missing an id / timestamp / event, rows after the extraction date, values that are
    not numbers (set to missing), ids mangled by a spreadsheet, and unknown or excluded accounts.
    """
    import ibis

    from .sources import check_mangled_ids

    tcfg = ref.config.table("events")
    spec = TABLES["events"]
    t = ref.expr()
    cols = list(t.columns)
    absent = [c for c in tcfg.columns if c not in cols]
    if absent:
        raise ConfigError(f"data config: tables.events.columns maps {', '.join(map(repr, absent))}, but "
                          f"{ref.name} has no such column; it has: {', '.join(cols)}")
    canon = {}
    for c in cols:
        target = tcfg.columns.get(c, c)
        if target in canon and target in spec.columns:
            raise DataValidationError("events", target, f"appears twice after mapping: {canon[target]!r} and "
                                      f"{c!r} both give it; drop one of them or its mapping "
                                      "(tables.events.columns)", file=ref.name)
        canon[target] = c
    missing = [c for c in spec.required if c not in canon]
    if missing:
        raise DataValidationError("events", missing[0], f"required column(s) {', '.join(map(repr, missing))} "
                                  f"missing; the table has: {', '.join(cols)} (map your column names in the "
                                  "data config: tables.events.columns)", file=ref.name)
    if "event" in tcfg.values:
        raise ConfigError("data config: tables.events.values is not supported for events; rename events in "
                          "the activity settings instead")

    def text(c):
        s = t[canon[c]].cast("string").strip()
        return (s == "").ifelse(ibis.null("string"), s)

    ts_col = t[canon["ts"]]
    kind = ts_col.type()
    if kind.is_timestamp() or kind.is_date():
        ts, ts_raw = ts_col.cast("timestamp"), ts_col.cast("string")
        if kind.is_timestamp() and kind.timezone is not None:  # instants: their UTC time of day
            ts = ts_col.cast(ibis.dtype("timestamp('UTC')")).cast("timestamp")
    elif kind.is_string():
        if tcfg.date_format:
            raise ConfigError(f"data config: tables.events.date_format is for files; {ref.name} holds ts as "
                              "text: store it as a timestamp, or as ISO 8601 text without date_format")
        ts_raw = text("ts")
        ts = ts_raw.try_cast("timestamp")
    else:
        raise DataValidationError("events", "ts", f"is stored as {kind} in {ref.name}: store it as a timestamp "
                                  "(or ISO 8601 text)", file=ref.name)
    ev = t.select(account_id=text("account_id"), ts=ts, event=text("event"),
                  user_id=text("user_id") if "user_id" in canon else ibis.null("string"),
                  value=(t[canon["value"]].try_cast("float64") if "value" in canon else ibis.null("float64")),
                  ts_raw=ts_raw,
                  value_raw=(text("value") if "value" in canon else ibis.null("string")))
    cut = ibis.literal((extraction + pd.Timedelta(days=1)).to_pydatetime())
    incomplete = ev.account_id.isnull() | ev.ts_raw.isnull() | ev.event.isnull()
    future = ~incomplete & (ev.ts >= cut)
    bad_ts = ev.ts.isnull() & ev.ts_raw.notnull()
    bad_value = ev.value_raw.notnull() & ev.value.isnull()
    by = ev.group_by("account_id").aggregate(
        n=ev.count(), bad_ts=bad_ts.cast("int64").sum(), missing=incomplete.cast("int64").sum(),
        future=future.cast("int64").sum(), bad_value=bad_value.cast("int64").sum(),
        ts_max=ev.ts.max(where=ev.ts < cut)).to_pandas()
    for c in ("n", "bad_ts", "missing", "future", "bad_value"):
        by[c] = by[c].fillna(0).astype("int64")
    ids = by["account_id"]
    raw = set(map(str, raw_ids))
    kept = set(map(str, accounts_ids))
    by["status"] = "ok"
    by.loc[ids.notna() & ~ids.isin(kept), "status"] = "account excluded from accounts"
    by.loc[ids.notna() & ~ids.isin(raw), "status"] = "unknown account_id"
    by.loc[ids.isna(), "status"] = "none"
    n = int(by["n"].sum())
    log.read("events", ref.name, n)

    def examples(where):
        shown = ev.filter(where)
        shown = shown.mutate(ts=shown.ts.cast("string").fill_null(shown.ts_raw))
        ex = shown.select("account_id", "ts", "event").limit(5).to_pandas()
        ex.attrs["line_word"] = "row"
        return ex

    if int(by["bad_ts"].sum()):
        raise DataValidationError("events", "ts", "cannot be read as a timestamp (expected ISO 8601, UTC unless "
                                  "an offset is given)", file=ref.name, rows=int(by["bad_ts"].sum()),
                                  examples=examples(bad_ts))
    if int(by["missing"].sum()):
        log.exclude("events", ref.name, "missing account_id / ts / event", int(by["missing"].sum()),
                    examples(incomplete))
    if int(by["bad_value"].sum()):
        log.fix("events", ref.name, "value not a number set to missing", int(by["bad_value"].sum()),
                examples(bad_value))
    if int(by["future"].sum()):
        log.exclude("events", ref.name, f"ts after the extraction date ({extraction.date()})",
                    int(by["future"].sum()), examples(future))
    by["k"] = by["n"] - by["missing"] - by["future"]
    unknown = by[(by["status"] == "unknown account_id") & (by["k"] > 0)].sort_values("k", ascending=False)
    if len(unknown):
        counts = pd.Series(unknown["k"].to_numpy()[:10000], index=unknown["account_id"].astype(str)[:10000])
        check_mangled_ids("events", ref.name, counts, int(by["k"].sum()), raw_ids, accounts_file,
                          n_unknown=int(unknown["k"].sum()),
                          examples=examples(ev.account_id.isin(list(counts.index[:5]))))
    for reason in ("unknown account_id", "account excluded from accounts"):
        rows = by[by["status"] == reason]
        if int(rows["k"].sum()):
            some = sorted(rows["account_id"].astype(str))[:5]
            log.exclude("events", ref.name, reason, int(rows["k"].sum()),
                        examples(ev.account_id.isin(some) & ~incomplete & (ev.ts < cut)))
    used = n - log.excluded_count("events")
    log.used("events", used)
    if not used:
        log.note("events", ref.name, "no usable rows: treated as absent (analyses that need events skip "
                 "themselves)")
        return None, None
    ok = by.loc[by["status"] == "ok", "account_id"].astype(str)
    ids_t = ibis.memtable(pd.DataFrame({"account_id": sorted(ok)}))
    valid = ev.account_id.notnull() & ev.ts.notnull() & ev.event.notnull() & (ev.ts < cut)
    events = ev.filter(valid, ev.account_id.isin(ids_t.account_id)).select(
        "account_id", "ts", "event", "user_id", "value")
    ts_max = by.loc[by["status"] == "ok", "ts_max"].max()
    return events, (pd.Timestamp(ts_max) if pd.notna(ts_max) else None)
