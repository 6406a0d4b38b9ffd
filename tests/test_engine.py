"""The engine section: DuckDB in memory, a DuckDB database file with table sources, and PySpark.

The Spark tests run the engine aggregations and the whole review of a small generated company on
Spark ``local[2]``, and again as a client of a Spark Connect server (``engine.remote``), and compare
them row for row with DuckDB. One Spark session serves the whole test session (starting one takes
seconds), and it is also the Connect server: its JVM runs Spark Connect's plugin on a free port, and
the Connect clients run in other processes (PySpark allows no Connect session in a process that has
a local one). They are skipped only when Java is absent; CI installs it.
"""
import copy
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from churnlab import activity, attrition, engine, risk
from churnlab.config import ConfigError, EngineConfig, config_for, load_config
from churnlab.sources import load

#: C1-compiled and with the serial collector, a JVM starts and runs small queries about twice as fast.
FAST_JVM = {"spark.driver.extraJavaOptions": "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"}
#: The test session's Spark; its JVM also serves Spark Connect, on a port the system picks.
CONNECT_SERVER = {"spark.plugins": "org.apache.spark.sql.connect.SparkConnectPlugin",
                  "spark.connect.grpc.binding.port": "0"}
SPARK = EngineConfig(backend="pyspark", master="local[2]", conf={**FAST_JVM, **CONNECT_SERVER})
NO_JAVA = shutil.which("java") is None and not engine._java_home()


@pytest.fixture(scope="session")
def company(tmp_path_factory) -> Path:
    """A small company (200 accounts) with its data config."""
    from churnlab.sample import generate

    out = tmp_path_factory.mktemp("small-company")
    generate(out, seed=7, n_accounts=200)
    return out


@pytest.fixture(scope="session")
def spark():
    """The Ibis pyspark backend on one local[2] session, shared by every test."""
    if NO_JAVA:
        pytest.skip("Spark needs Java 17 (apt-get install openjdk-17-jre-headless); .ci/run installs it")
    return engine.connect(SPARK)


@pytest.fixture(scope="session")
def connect_url(spark) -> str:
    """The Spark Connect URL of the test session's Spark (``sc://localhost:<port>``)."""
    service = getattr(spark._session._jvm.org.apache.spark.sql.connect.service, "SparkConnectService$")
    return f"sc://localhost:{getattr(service, 'MODULE$').localPort()}"


def _with_engine(cfg, eng, **tables):
    cfg = copy.deepcopy(cfg)
    cfg.engine = eng
    for name, source in tables.items():
        cfg.tables.setdefault(name, type(cfg.table(name))()).table = source
    return cfg


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# --------------------------------------------------------------------------- the config section


def test_engine_section_is_parsed_and_checked(tmp_path):
    assert load_config(_write(tmp_path / "a.yaml", "tables: {}\n")).engine == EngineConfig()
    cfg = load_config(_write(tmp_path / "b.yaml", 'engine: {backend: pyspark, master: "local[2]", '
                                                  "conf: {spark.executor.memory: 2g}}\n"))
    assert (cfg.engine.backend, cfg.engine.master, cfg.engine.conf) == ("pyspark", "local[2]",
                                                                       {"spark.executor.memory": "2g"})
    assert load_config(_write(tmp_path / "c.yaml", "engine: {backend: spark, remote: 'sc://h:15002'}\n")
                       ).engine.remote == "sc://h:15002"
    with pytest.raises(ConfigError, match=r"unknown key\(s\) \['mastr'\]"):
        load_config(_write(tmp_path / "d.yaml", "engine: {backend: pyspark, mastr: local}\n"))
    with pytest.raises(ConfigError, match=r"\['path'\] .*another backend"):
        load_config(_write(tmp_path / "e.yaml", "engine: {backend: pyspark, path: x.duckdb}\n"))
    with pytest.raises(ConfigError, match="'postgres' is not a backend"):
        load_config(_write(tmp_path / "f.yaml", "engine: {backend: postgres}\n"))
    with pytest.raises(ConfigError, match="database file .*missing.duckdb does not exist"):
        load_config(_write(tmp_path / "g.yaml", "engine: {path: missing.duckdb}\n"))
    with pytest.raises(ConfigError, match="not both"):
        load_config(_write(tmp_path / "h.yaml", "engine: {backend: pyspark, master: local, remote: 'sc://h'}\n"))
    with pytest.raises(ConfigError, match="engine holds no tables"):
        load_config(_write(tmp_path / "i.yaml", "tables: {events: {table: analytics.events}}\n"))
    with pytest.raises(ConfigError, match="both file and table"):
        load_config(_write(tmp_path / "j.yaml", "engine: {backend: pyspark}\n"
                                                "tables: {events: {table: ev, file: events.csv}}\n"))
    with pytest.raises(ConfigError, match="must name a table"):
        load_config(_write(tmp_path / "k.yaml", "engine: {backend: pyspark}\n"
                                                "tables: {events: {table: 'drop table; x'}}\n"))
    with pytest.raises(ConfigError, match=r"unknown key\(s\) \['engin'\]"):
        load_config(_write(tmp_path / "l.yaml", "engin: {backend: pyspark}\n"))


# --------------------------------------------------------------------------- a DuckDB database file


def _aggregations(events, qualified):
    """Every engine aggregation of a review, as pandas frames (only aggregates leave the engine)."""
    out = {}
    for grain in ("week", "month", "quarter"):
        for level in ("account", "user"):
            out[f"qualified {level} {grain}"] = activity.qualified_activity(
                events, grain=grain, qualified_events=qualified, level=level)
    out["user transitions"] = activity.activity_transitions(
        events, grain="quarter", qualified_events=qualified, level="user", start="2025-01-01", end="2026-07-01")
    out["account transitions by month"] = activity.activity_transitions(
        events, grain="month", qualified_events=qualified, level="account", start="2025-10-01", end="2026-07-01")
    out["user attrition per account"] = attrition.account_user_attrition(
        events, quarters=["2026Q1", "2026Q2"], qualified_events=qualified)
    out["spells"] = activity.activity_spells(events, qualified_events=qualified, inactivity_days=60)
    out["event counts"] = activity.event_counts(events, event=qualified[:2], start="2025-01-01", end="2026-01-01")
    out["last activity"] = activity.last_activity(events, qualified_events=qualified, end="2026-07-01")
    days = ["2026-01-01", "2026-04-01", "2026-07-01"]
    for day, frame in risk.event_signals_at(events, days, qualified_events=qualified).items():
        out[f"at-risk signals {day:%Y-%m-%d}"] = frame
    return out


def _assert_same(expected: dict, got: dict):
    assert expected.keys() == got.keys()
    for name, frame in expected.items():
        assert len(frame), name  # a comparison of two empty frames would prove nothing
        pd.testing.assert_frame_equal(got[name], frame, obj=name)


def test_tables_of_a_duckdb_file_are_mapped_and_validated_like_files(company, tmp_path):
    import duckdb

    cfg = config_for(company)
    db = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("CREATE SCHEMA analytics")
        # the company's own column names, an event without account and one of an unknown account
        con.execute(f"CREATE TABLE analytics.product_events AS SELECT account_id AS org, ts AS happened_at, "
                    f"event AS action, user_id, value FROM read_parquet('{company / 'events.parquet'}') "
                    "UNION ALL SELECT NULL, TIMESTAMP '2025-03-01 10:00', 'workflow_run', NULL, NULL "
                    "UNION ALL SELECT 'ZZ-404', TIMESTAMP '2025-03-01 10:00', 'workflow_run', NULL, NULL")
        con.execute(f"CREATE TABLE crm_accounts AS SELECT * FROM read_csv('{company / 'accounts.csv'}', "
                    "all_varchar = true)")
    text = (company / "churnlab.yaml").read_text() + (
        "engine: {backend: duckdb, path: warehouse.duckdb}\n"
        "tables:\n"
        "  accounts: {table: crm_accounts}\n"
        "  events:\n"
        "    table: analytics.product_events\n"
        "    columns: {org: account_id, happened_at: ts, action: event}\n")
    table_cfg = load_config(_write(tmp_path / "churnlab.yaml", text))
    files, tables = load(company, cfg), load(company, table_cfg)
    pd.testing.assert_frame_equal(tables.accounts.drop(columns="_line"), files.accounts.drop(columns="_line"))
    rows = tables.rows.set_index("table")
    assert rows.loc["events", "read"] == files.rows.set_index("table").loc["events", "read"] + 2
    assert rows.loc["events", "used"] == files.rows.set_index("table").loc["events", "used"]
    reasons = set(tables.exclusions.loc[tables.exclusions["table"] == "events", "reason"])
    assert {"missing account_id / ts / event", "unknown account_id"} <= reasons
    q = cfg.activity_events
    _assert_same(_aggregations(files.events, q), _aggregations(tables.events, q))


def test_a_table_source_with_a_missing_column_names_the_table(company, tmp_path):
    import duckdb

    db = tmp_path / "w.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("CREATE TABLE ev AS SELECT account_id, event FROM "
                    f"read_parquet('{company / 'events.parquet'}') LIMIT 10")
        con.execute("CREATE TABLE ev_text AS SELECT account_id, strftime(ts, '%Y-%m-%dT%H:%M:%S') AS ts, event "
                    f"FROM read_parquet('{company / 'events.parquet'}') ORDER BY ts LIMIT 1000")
        con.execute("CREATE TABLE ev_bad AS SELECT * FROM ev_text UNION ALL "
                    "(SELECT account_id, 'yesterday', event FROM ev_text LIMIT 1)")
    cfg = load_config(_write(tmp_path / "c.yaml", "engine: {path: w.duckdb}\ntables: {events: {table: ev}}\n"))
    from churnlab.schema import DataValidationError

    with pytest.raises(DataValidationError, match="'ts' missing; the table has: account_id, event"):
        load(company, cfg)
    cfg = load_config(_write(tmp_path / "d.yaml", "engine: {path: w.duckdb}\ntables: {events: {table: nope}}\n"))
    with pytest.raises(DataValidationError, match="the engine has no table nope"):
        load(company, cfg)
    # timestamps held as ISO text are read; one that is not a timestamp stops the load, shown
    cfg = load_config(_write(tmp_path / "e.yaml", "engine: {path: w.duckdb}\ntables: {events: {table: ev_text}}\n"))
    ds = load(company, cfg)
    assert ds.rows.set_index("table").loc["events", "read"] == 1000
    assert str(ds.events.ts.type()) == "timestamp" and ds.events.count().execute() > 900
    cfg = load_config(_write(tmp_path / "f.yaml", "engine: {path: w.duckdb}\ntables: {events: {table: ev_bad}}\n"))
    with pytest.raises(DataValidationError, match="cannot be read as a timestamp") as err:
        load(company, cfg)
    assert "yesterday" in err.value.examples["ts"].tolist()


# --------------------------------------------------------------------------- Spark


@pytest.fixture(scope="session")
def duck_and_spark(company, spark):
    cfg = config_for(company)
    return load(company, cfg), load(company, _with_engine(cfg, SPARK)), cfg


@pytest.fixture(scope="session")
def duck_aggregations(duck_and_spark):
    duck, _, cfg = duck_and_spark
    return _aggregations(duck.events, cfg.activity_events)


def test_engine_aggregations_on_spark_equal_duckdb_row_for_row(duck_and_spark, duck_aggregations, spark):
    duck, on_spark, cfg = duck_and_spark
    assert isinstance(on_spark.events, engine.LazyTable) and on_spark.events._table is None  # Spark not used yet
    assert engine.is_spark(on_spark.events.get_backend()) and not engine.is_spark(duck.events.get_backend())
    pd.testing.assert_frame_equal(on_spark.rows, duck.rows)
    _assert_same(duck_aggregations, _aggregations(on_spark.events, cfg.activity_events))


#: Run in another process (a Connect client cannot share a process with the local session): load the
#: company with ``engine.remote`` and pickle its row accounting, its aggregations and its session's type.
CONNECT_CLIENT = """
import pickle, sys
sys.path.insert(0, sys.argv[1])
from test_engine import _aggregations
from churnlab import engine
from churnlab.config import EngineConfig, config_for
from churnlab.sources import load
company, url, out = sys.argv[2:]
from pyspark.sql import SparkSession
# a server whose sessions start in another time zone: the review's session still counts in UTC (Ibis sets it)
SparkSession.builder.remote(url).getOrCreate().conf.set("spark.sql.session.timeZone", "Asia/Tokyo")
cfg = config_for(company)
cfg.engine = EngineConfig(backend="pyspark", remote=url)
ds = load(company, cfg)
backend = ds.events.get_backend()
session = type(backend._session)
aggregations = _aggregations(ds.events, cfg.activity_events)
from churnlab.config import ConfigError
try:  # a setting the server cannot take at run time is a config error, not a traceback
    engine.connect(EngineConfig(backend="pyspark", remote=url, conf={"spark.executor.memory": "1g"}))
    refused = None
except ConfigError as e:
    refused = str(e)
with open(out, "wb") as f:
    pickle.dump({"rows": ds.rows, "session": f"{session.__module__}.{session.__name__}", "refused": refused,
                 "time zone": backend._session.conf.get("spark.sql.session.timeZone"),
                 "spark": engine.is_spark(backend), "aggregations": aggregations}, f)
"""


def test_engine_aggregations_over_spark_connect_equal_duckdb_row_for_row(duck_and_spark, duck_aggregations,
                                                                         connect_url, company, tmp_path):
    import pickle
    import subprocess
    import sys

    duck = duck_and_spark[0]
    out = tmp_path / "connect.pickle"
    run = subprocess.run([sys.executable, "-c", CONNECT_CLIENT, str(Path(__file__).parent), str(company),
                          connect_url, str(out)], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    got = pickle.loads(out.read_bytes())
    # a Spark Connect client session, whose events were sent to the server as rows, not as a file path
    assert got["spark"] and got["session"] == "pyspark.sql.connect.session.SparkSession"
    assert got["time zone"] == "UTC"
    assert got["refused"].startswith(f"engine.conf: the Spark Connect server at {connect_url} does not take "
                                     "spark.executor.memory = 1g: "), got["refused"]
    pd.testing.assert_frame_equal(got["rows"], duck.rows)
    _assert_same(duck_aggregations, got["aggregations"])


def test_spark_tables_are_sources_with_the_same_mapping_and_checks(duck_and_spark, spark, company):
    duck, _, cfg = duck_and_spark
    session = spark._session
    frame = (session.read.parquet(str(company / "events.parquet"))
             .withColumnRenamed("account_id", "org").withColumnRenamed("ts", "at"))
    unknown = session.sql("SELECT 'ZZ-404' AS org, TIMESTAMP '2025-03-01 10:00:00' AS at, 'workflow_run' AS event")
    frame.unionByName(unknown, allowMissingColumns=True).createOrReplaceTempView("churnlab_test_events")
    cfg = _with_engine(cfg, SPARK, events="churnlab_test_events")
    cfg.tables["events"].columns = {"org": "account_id", "at": "ts"}
    ds = load(company, cfg)
    assert engine.is_spark(ds.events.get_backend())
    assert ds.rows.set_index("table").loc["events", "used"] == duck.rows.set_index("table").loc["events", "used"]
    assert "unknown account_id" in set(ds.exclusions["reason"])
    q = cfg.activity_events
    got = activity.activity_transitions(ds.events, grain="quarter", qualified_events=q, level="user",
                                        start="2025-01-01", end="2026-07-01")
    want = activity.activity_transitions(duck.events, grain="quarter", qualified_events=q, level="user",
                                         start="2025-01-01", end="2026-07-01")
    pd.testing.assert_frame_equal(got, want)


def test_the_whole_review_on_spark_gives_the_same_metrics(company, spark, connect_url, tmp_path):
    import subprocess
    import sys

    from churnlab.report import run_review

    # each notebook's Spark writes its event log: the proof that the notebooks aggregated on Spark
    logs_dir = tmp_path / "spark-events"
    logs_dir.mkdir()
    spark_cfg = _write(tmp_path / "spark.yaml", (company / "churnlab.yaml").read_text()
                       + 'engine: {backend: pyspark, master: "local[2]", conf: {spark.driver.extraJavaOptions: '
                       f'"{FAST_JVM["spark.driver.extraJavaOptions"]}", spark.eventLog.enabled: true, '
                       f'spark.eventLog.dir: "{logs_dir.as_uri()}"}}}}\n')
    connect_cfg = _write(tmp_path / "connect.yaml", (company / "churnlab.yaml").read_text()
                         + f"engine: {{backend: pyspark, remote: '{connect_url}'}}\n")

    def review(out, *extra):  # in another process: the CLI, as an analyst runs it
        return subprocess.Popen([sys.executable, "-c", "import sys; from churnlab.cli import main; sys.exit(main())",
                                 "review", "--data", str(company), "--out", str(tmp_path / out), "--quiet", *extra],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    # the DuckDB review and the review through Spark Connect (whose server is this process's Spark)
    # run beside the local Spark one: all mostly wait on kernels
    server = spark._session._jsparkSession.sharedState().statusStore()
    queries_before = server.executionsCount()  # the Connect review's queries run in this process's Spark
    others = {"duckdb": review("duckdb"), "connect": review("connect", "--config", str(connect_cfg))}
    try:
        on_spark = run_review(company, tmp_path / "spark", config=spark_cfg, progress=False, echo=lambda *a: None)
    finally:
        logs = {name: run.communicate(timeout=900)[0] for name, run in others.items()}
    for name, run in others.items():
        assert run.returncode == 0, logs[name][-2000:]
    assert on_spark.ok, [n.error for n in on_spark.notebooks if n.error]
    duck = json.loads((tmp_path / "duckdb" / "metrics.json").read_text())
    # figures of every notebook, those from events (user attrition, usage bands) among them
    for key in ("logo_attrition_rate", "user_attrition_rate", "usage_band_attrition", "survival_12m",
                "reason_shares", "share_negative", "rows"):
        assert duck.get(key) is not None, f"the review measured no {key} to compare"
    assert json.loads((tmp_path / "spark" / "metrics.json").read_text()) == duck
    assert json.loads((tmp_path / "connect" / "metrics.json").read_text()) == duck
    # the notebooks that read events (data check, attrition, at-risk) each ran their own Spark, and
    # the Connect review's queries ran on the server
    assert len(list(logs_dir.iterdir())) == 3, sorted(p.name for p in logs_dir.iterdir())
    assert server.executionsCount() - queries_before >= 3
