"""Loading, mapping and validation of data folders; every row accounted for."""
import textwrap

import pandas as pd
import pytest

from churnlab.config import ConfigError
from churnlab.schema import DataValidationError
from churnlab.sources import coverage, load


def write(folder, name, text):
    (folder / name).write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")


ACCOUNTS = """
account_id,signup_date,churn_date,cancel_date,segment,contract,mrr,icp_fit
A1,2025-01-10,,,SMB,monthly,100,true
A2,2025-02-01,2025-09-15,2025-08-20,SMB,monthly,80,false
A3,2025-03-01,2025-01-01,,Enterprise,annual,900,yes
A4,2025-04-01,,,Enterprise,annual,1200,no
A4,2025-04-02,,,Enterprise,annual,1200,no
"""


@pytest.fixture
def folder(tmp_path):
    write(tmp_path, "accounts.csv", ACCOUNTS)
    return tmp_path


def test_accounts_only_folder_loads_with_accounting(folder):
    ds = load(folder)
    assert list(ds.accounts.account_id) == ["A1", "A2", "A4"]
    assert ds.accounts.signup_date.dtype == "datetime64[ns]" and pd.isna(ds.accounts.churn_date[0])
    assert list(ds.accounts.icp_fit) == [True, False, False]
    rows = ds.rows.set_index("table").loc["accounts"]
    assert (rows.read, rows.excluded, rows.used) == (5, 2, 3)
    reasons = dict(zip(ds.exclusions.reason, ds.exclusions.rows))
    assert reasons == {"duplicate account_id (first kept)": 1, "churn_date before signup_date": 1}
    # the finding points at the source line (header = line 1): A3 is on line 4, the duplicate A4 on line 6
    f = ds.findings.set_index("problem")
    assert "line 4: account_id=A3" in f.loc["churn_date before signup_date", "examples"]
    assert "line 6: account_id=A4" in f.loc["duplicate account_id (first kept)", "examples"]
    assert ds.events is None and ds.exit_interviews is None and not ds.has("users")
    assert ds.data_end == pd.Timestamp("2025-09-15")


def test_missing_required_column_is_one_clear_error(tmp_path):
    write(tmp_path, "accounts.csv", "account_id,created\nA1,2025-01-01\n")
    with pytest.raises(DataValidationError) as e:
        load(tmp_path)
    msg = str(e.value)
    assert "accounts (accounts.csv)" in msg and "'signup_date'" in msg and "missing" in msg
    assert "account_id, created" in msg and "tables.accounts.columns" in msg


def test_unparseable_date_names_file_column_rows_and_lines(tmp_path):
    write(tmp_path, "accounts.csv", """
        account_id,signup_date
        A1,2025-01-10
        A2,31/01/2025
        A3,2025-02-30
        A4,2025-03-01
        """)
    with pytest.raises(DataValidationError) as e:
        load(tmp_path)
    err = e.value
    assert (err.table, err.column, err.rows, err.file) == ("accounts", "signup_date", 2, "accounts.csv")
    msg = str(err)
    assert "2 rows cannot be read as a date" in msg
    assert "line 3: account_id='A2', signup_date='31/01/2025'" in msg
    assert "line 4: account_id='A3', signup_date='2025-02-30'" in msg


def test_at_most_five_examples(tmp_path):
    rows = "\n".join(f"A{i},not-a-date" for i in range(12))
    write(tmp_path, "accounts.csv", "account_id,signup_date\n" + rows + "\n")
    with pytest.raises(DataValidationError) as e:
        load(tmp_path)
    assert "12 rows" in str(e.value) and str(e.value).count("line ") == 5


def test_line_numbers_survive_multiline_quoted_text(folder):
    write(folder, "exit_interviews.csv", '''
        account_id,invited_at,completed_at,format,verbatim,recommend_score
        A2,2025-08-21,2025-08-25,survey,"first line
        second line",7
        A9,2025-08-21,,email,,
        ''')
    ds = load(folder)
    ex = ds.findings.set_index("problem").loc["unknown account_id", "examples"]
    assert ex.startswith("line 4: account_id=A9")


def test_unknown_accounts_and_out_of_range_scores_are_counted(folder):
    write(folder, "exit_interviews.csv", """
        account_id,invited_at,completed_at,format,primary_reason,recommend_score,would_return
        A2,2025-08-21,2025-08-25,call,price_budget,11,maybe
        ZZ,2025-08-21,,email,,,
        A3,2025-08-21,,email,,,
        """)
    ds = load(folder)
    r = ds.rows.set_index("table").loc["exit_interviews"]
    assert (r.read, r.excluded, r.used) == (3, 2, 1)
    assert dict(zip(ds.exclusions[ds.exclusions.table == "exit_interviews"].reason,
                    ds.exclusions[ds.exclusions.table == "exit_interviews"].rows)) == {
        "unknown account_id": 1, "account excluded from accounts": 1}
    assert pd.isna(ds.exit_interviews.recommend_score[0])
    assert "recommend_score outside 0-10 set to missing" in set(ds.findings.problem)


def test_values_outside_allowed_set_are_fatal(folder):
    write(folder, "exit_interviews.csv", "account_id,invited_at,format\nA2,2025-08-21,zoom\n")
    with pytest.raises(DataValidationError, match=r"format.*'zoom'.*tables.exit_interviews.values.format"):
        load(folder)


def test_reason_outside_taxonomy_is_fatal(folder):
    write(folder, "exit_interviews.csv", "account_id,invited_at,completed_at,primary_reason\n"
                                         "A2,2025-08-21,2025-08-22,too pricey\n")
    with pytest.raises(DataValidationError, match="too pricey"):
        load(folder)


def test_yaml_mapping_of_columns_values_and_dates(tmp_path):
    write(tmp_path, "crm.csv", """
        Customer,Start,End,Tier,Billing
        C-1,10/01/2025,,Small business,Monthly
        C-2,01/02/2025,15/09/2025,Large,Yearly
        """)
    write(tmp_path, "churnlab.yaml", """
        tables:
          accounts:
            file: crm.csv
            columns: {Customer: account_id, Start: signup_date, End: churn_date, Tier: segment, Billing: contract}
            values:
              segment: {Small business: SMB, Large: Enterprise}
              contract: {Monthly: monthly, Yearly: annual}
            date_format: "%d/%m/%Y"
        """)
    ds = load(tmp_path, tmp_path / "churnlab.yaml")
    assert list(ds.accounts.segment) == ["SMB", "Enterprise"]
    assert list(ds.accounts.contract) == ["monthly", "annual"]
    assert ds.accounts.signup_date.tolist() == [pd.Timestamp("2025-01-10"), pd.Timestamp("2025-02-01")]
    assert ds.rows.file[0] == "crm.csv"


def test_config_errors_name_the_key(tmp_path):
    write(tmp_path, "accounts.csv", ACCOUNTS)
    write(tmp_path, "bad.yaml", "tables:\n  acounts:\n    file: x.csv\n")
    with pytest.raises(ConfigError, match="acounts is not a churnlab table"):
        load(tmp_path, tmp_path / "bad.yaml")
    write(tmp_path, "bad2.yaml", "tables:\n  accounts:\n    file: missing.csv\n")
    with pytest.raises(ConfigError, match="missing.csv"):
        load(tmp_path, tmp_path / "bad2.yaml")


EVENTS = """
account_id,ts,event,user_id
A1,2025-03-01T10:00:00Z,report_created,u1
A1,2025-03-02 09:00:00+09:00,login,u1
A4,2025-05-01,workflow_run,u2
TEST,2025-05-01,workflow_run,u9
A3,2025-05-01,workflow_run,u3
,2025-05-01,login,u3
"""


def test_events_stay_in_the_engine_and_are_accounted(folder):
    write(folder, "events.csv", EVENTS)
    ds = load(folder)
    import ibis

    assert isinstance(ds.events, ibis.Table)
    got = ds.events.order_by("ts").execute()
    assert list(got.account_id) == ["A1", "A1", "A4"]
    # +09:00 is converted to UTC; Z is UTC
    assert got.ts.tolist()[:2] == [pd.Timestamp("2025-03-01 10:00"), pd.Timestamp("2025-03-02 00:00")]
    r = ds.rows.set_index("table").loc["events"]
    assert (r.read, r.excluded, r.used) == (6, 3, 3)
    ex = ds.exclusions[ds.exclusions.table == "events"].set_index("reason").rows.to_dict()
    assert ex == {"missing account_id / ts / event": 1, "unknown account_id": 1,
                  "account excluded from accounts": 1}
    assert ds.data_end == pd.Timestamp("2025-09-15")


def test_unparseable_event_timestamp_is_fatal(folder):
    write(folder, "events.csv", "account_id,ts,event\nA1,2025-03-01,login\nA1,yesterday,login\n")
    with pytest.raises(DataValidationError) as e:
        load(folder)
    assert e.value.column == "ts" and "line 3" in str(e.value) and "yesterday" in str(e.value)


def test_events_column_mapping(folder):
    write(folder, "events.csv", "acct,when,what\nA1,2025-03-01,report_created\n")
    write(folder, "c.yaml", "tables:\n  events:\n    columns: {acct: account_id, when: ts, what: event}\n")
    ds = load(folder, folder / "c.yaml")
    assert ds.events.count().execute() == 1


def test_coverage_table(folder):
    write(folder, "events.csv", EVENTS)
    cov = coverage(load(folder)).set_index("table")
    assert cov.loc["events", "rows"] == 3 and cov.loc["users", "present"] == "no"


def test_sample_loads_and_every_row_is_accounted_for(sample):
    rows = sample.rows.set_index("table")
    assert (rows.read == rows.used + rows.excluded).all()
    assert {"accounts", "subscriptions", "users", "events", "exit_interviews", "roadmap"} <= set(rows.index)
    assert rows.loc["events", "excluded"] > 0  # the sample's planted test-account events
    assert sample.data_end == pd.Timestamp("2026-09-30")


def test_customer_success_tables_are_mapped_and_validated(tmp_path):
    (tmp_path / "accounts.csv").write_text("account_id,signup_date\nA1,2025-01-01\nA2,2025-02-01\n")
    (tmp_path / "nps.csv").write_text("Customer,When,NPS,Comment\nA1,2025-03-01,9,Great\nA1,2025-06-01,12,Huh\n"
                                      "A2,2025-06-01,,\nA9,2025-06-01,3,Who\n")
    (tmp_path / "support_tickets.csv").write_text(
        "ticket_id,account_id,opened_at,resolved_at,priority,escalated,topic,text\n"
        "T1,A1,2025-03-01T10:00:00Z,2025-02-01T10:00:00Z,high,yes,bug,=cmd|' /C calc'!A0\n"
        "T1,A1,2025-03-02T10:00:00Z,,normal,no,bug,dup\n")
    (tmp_path / "health_scores.csv").write_text("account_id,scored_at,score,band\nA1,2025-03-01,55,yellow\n")
    (tmp_path / "churnlab.yaml").write_text(
        "tables:\n  nps_responses:\n    file: nps.csv\n"
        "    columns: {Customer: account_id, When: responded_at, NPS: score, Comment: comment}\n")
    ds = load(tmp_path)
    assert ds.nps_responses["score"].tolist() == [9.0]
    ex = ds.exclusions.set_index(["table", "reason"])["rows"]
    assert ex[("nps_responses", "score outside 0-10")] == 1 and ex[("nps_responses", "missing score")] == 1
    assert ex[("nps_responses", "unknown account_id")] == 1
    assert ex[("support_tickets", "duplicate ticket_id (first kept)")] == 1
    t = ds.support_tickets.iloc[0]
    assert pd.isna(t["resolved_at"]) and bool(t["escalated"]) is True
    assert "resolved_at before opened_at set to missing" in set(ds.findings["problem"])
    assert ds.has("health_scores") and not ds.has("touchpoints")
    assert set(coverage(ds)["table"]) >= {"nps_responses", "support_tickets", "health_scores"}
    (tmp_path / "touchpoints.csv").write_text("account_id,at,kind,outcome\nA1,2025-03-01,lunch,held\n")
    with pytest.raises(DataValidationError, match="kind"):
        load(tmp_path)


# ---------------------------------------------------------------- timestamps in UTC, built once

def test_utc_naive_matches_at_time_zone_for_timestamptz_and_text():
    import duckdb

    from churnlab.sources import utc_naive

    con = duckdb.connect()
    con.execute("SET TimeZone = 'Asia/Tokyo'")  # the session zone must not matter
    texts = ["2026-03-29 01:30:00.123456+02", "1969-12-31 23:59:59.999999", "2025-07-01T12:00:00-05:00",
             "2025-01-01 00:00:00Z", "2024-02-29 23:59:59", None]
    con.execute("CREATE TABLE t AS SELECT x AS raw, CAST(x AS TIMESTAMPTZ) AS tz FROM unnest(?) u(x)", [texts])
    old, new = con.execute(
        f"SELECT list(tz AT TIME ZONE 'UTC' ORDER BY raw), list({utc_naive('tz')} ORDER BY raw) FROM t").fetchone()
    assert old == new and len(new) == 6
    old, new = con.execute(
        f"SELECT list(TRY_CAST(raw AS TIMESTAMPTZ) AT TIME ZONE 'UTC' ORDER BY raw), "
        f"list({utc_naive('TRY_CAST(raw AS TIMESTAMPTZ)')} ORDER BY raw) FROM t").fetchone()
    assert old == new
    assert pd.Timestamp("2025-07-01 17:00") in new and pd.Timestamp("2026-03-28 23:30:00.123456") in new


def test_events_view_builds_utc_timestamps_without_time_zone_lookups(folder):
    import pyarrow as pa
    import pyarrow.parquet as pq

    stamps = pd.to_datetime(["2025-03-01 19:00:00.250+09:00", "2025-03-02 00:00:00.000+00:00"], utc=True)
    pq.write_table(pa.table({"account_id": ["A1", "A4"], "ts": pa.array(stamps, pa.timestamp("us", tz="UTC")),
                             "event": ["login", "report_created"]}), folder / "events.parquet")
    ds = load(folder)
    sql = ds.con.raw_sql("SELECT sql FROM duckdb_views() WHERE view_name = 'events_src'").fetchone()[0]
    assert "TIME ZONE" not in sql.upper() and "timezone(" not in sql.lower()
    got = ds.events.order_by("ts").execute()
    assert got.ts.tolist() == [pd.Timestamp("2025-03-01 10:00:00.250"), pd.Timestamp("2025-03-02 00:00")]


# ---------------------------------------------------------------- validated snapshot

def _same_dataset(a, b):
    from pandas.testing import assert_frame_equal

    for t in ("accounts", "subscriptions", "users", "exit_interviews", "roadmap", "rows", "exclusions", "findings"):
        x, y = getattr(a, t), getattr(b, t)
        assert (x is None) == (y is None), t
        if x is not None:
            assert_frame_equal(x, y, check_exact=True, obj=t)
    assert (a.data_end, a.extraction_date, a.taxonomy, a.config, a.source_dir) == \
        (b.data_end, b.extraction_date, b.taxonomy, b.config, b.source_dir)
    assert (a.events is None) == (b.events is None)
    if a.events is not None:
        assert a.events.schema() == b.events.schema()

        def digest(t):  # every row, summarised in the engine (the sample has millions)
            g = t.group_by(["account_id", "event", "user_id"]).aggregate(
                n=t.count(), ts_sum=t.ts.epoch_seconds().sum(), ts_min=t.ts.min(), ts_max=t.ts.max(),
                v=(t.value * 1000).round().cast("int64").sum(), nv=t.value.count())  # float sums vary in order
            return g.execute().sort_values(["account_id", "event", "user_id"]).reset_index(drop=True)

        assert_frame_equal(digest(a.events), digest(b.events), check_exact=True)


def test_snapshot_round_trip_is_the_fresh_load(folder, tmp_path_factory):
    from churnlab.sources import is_snapshot, open_snapshot, write_snapshot

    write(folder, "events.csv", EVENTS)
    fresh = load(folder)
    snap = write_snapshot(fresh, tmp_path_factory.mktemp("out") / ".snapshot")
    assert is_snapshot(snap) and not is_snapshot(folder)
    again = open_snapshot(snap)
    _same_dataset(fresh, again)
    assert list(again.rows.set_index("table").loc["events", ["read", "excluded", "used"]]) == [6, 3, 3]
    assert coverage(again).equals(coverage(fresh))
    _same_dataset(fresh, load(snap))  # a snapshot folder given as the data folder opens as one


def test_snapshot_of_the_sample_keeps_every_table_and_count(sample, tmp_path):
    from churnlab.sources import open_snapshot, write_snapshot

    _same_dataset(sample, open_snapshot(write_snapshot(sample, tmp_path / "snap")))


def test_load_opens_the_review_snapshot_only_for_its_own_data_and_config(folder, tmp_path_factory, monkeypatch):
    from churnlab.sources import SNAPSHOT_ENV, write_snapshot

    write(folder, "events.csv", EVENTS)
    snap = write_snapshot(load(folder), tmp_path_factory.mktemp("out") / ".snapshot")
    monkeypatch.setenv(SNAPSHOT_ENV, str(snap))
    # the events file changes after the snapshot: a load that opens the snapshot does not see it
    write(folder, "events.csv", EVENTS + "A1,2025-04-01T00:00:00Z,login,u1\n")
    assert load(folder).rows.set_index("table").loc["events", "read"] == 6
    assert load(folder, extraction_date="2025-12-31").rows.set_index("table").loc["events", "read"] == 7
    write(folder, "other.yaml", "activity:\n  min_count: 2\n")
    assert load(folder, folder / "other.yaml").rows.set_index("table").loc["events", "read"] == 7
    monkeypatch.delenv(SNAPSHOT_ENV)
    assert load(folder).rows.set_index("table").loc["events", "read"] == 7


MESSY_EVENTS = pd.DataFrame({
    "account_id": ["A1", " A1 ", "A4", "A4", "", None, "A9", "A3", "A1", "A1", "A4", "A4"],
    "ts": ["2025-03-01T10:00:00Z", "2025-03-02T00:00:00Z", "2025-04-01T00:00:00Z", None,
           "2025-04-02T00:00:00Z", "2025-04-03T00:00:00Z", "2025-04-04T00:00:00Z", "2025-04-05T00:00:00Z",
           "2031-01-01T00:00:00Z", "2025-05-01T00:00:00Z", "2025-05-02T00:00:00Z", "2025-05-03T00:00:00Z"],
    "event": ["login", "report_created ", "login", "login", "login", "login", "login", "login", "login",
              "  ", None, "\u3000export"],
    "user_id": ["u1", " u1", None, "u4", "u5", "u6", "u7", "u3", "u1", "u1", "u4", ""],
    "value": [1.0, None, 2.5, None, None, None, None, None, None, None, None, 3.0],
})


@pytest.mark.parametrize("ts_kind", ["timestamptz", "timestamp", "text"])
def test_parquet_events_are_accounted_exactly_as_the_same_csv(folder, tmp_path_factory, ts_kind):
    """The Parquet path checks ids and event names on their distinct values, not per row: the same
    rows as a CSV file (checked per row) give the same accounting, exclusions and events."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    csv_dir = tmp_path_factory.mktemp("csv")
    write(csv_dir, "accounts.csv", ACCOUNTS)
    MESSY_EVENTS.to_csv(csv_dir / "events.csv", index=False)
    stamps = pd.to_datetime(MESSY_EVENTS["ts"], utc=True)
    ts = {"timestamptz": pa.array(stamps, pa.timestamp("us", tz="UTC")),
          "timestamp": pa.array(stamps.dt.tz_localize(None), pa.timestamp("us")),
          "text": pa.array(MESSY_EVENTS["ts"], pa.string())}[ts_kind]
    pq.write_table(pa.table({"account_id": pa.array(MESSY_EVENTS["account_id"], pa.string()), "ts": ts,
                             "event": pa.array(MESSY_EVENTS["event"], pa.string()),
                             "user_id": pa.array(MESSY_EVENTS["user_id"], pa.string()),
                             "value": pa.array(MESSY_EVENTS["value"], pa.float64())}), folder / "events.parquet")
    a, b = load(csv_dir, extraction_date="2025-12-01"), load(folder, extraction_date="2025-12-01")
    pd.testing.assert_frame_equal(a.rows, b.rows.assign(file=a.rows.file.to_numpy()))
    ex_a = a.exclusions[a.exclusions.table == "events"].set_index("reason").rows.to_dict()
    ex_b = b.exclusions[b.exclusions.table == "events"].set_index("reason").rows.to_dict()
    assert ex_a == ex_b == {"missing account_id / ts / event": 5, "ts after the extraction date (2025-12-01)": 1,
                            "unknown account_id": 1, "account excluded from accounts": 1}
    cols = ["account_id", "ts", "event", "user_id", "value"]
    ga = a.events.execute()[cols].sort_values(["ts", "event"]).reset_index(drop=True)
    gb = b.events.execute()[cols].sort_values(["ts", "event"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(ga, gb)
    assert ga.account_id.tolist() == ["A1", "A1", "A4", "A4"]
    assert ga.event.tolist() == ["login", "report_created", "login", "export"]
    assert a.data_end == b.data_end


def test_parquet_events_with_tidy_ids_are_read_without_trimming_each_row(folder):
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"account_id": ["A1", "A4"], "ts": pa.array(pd.to_datetime(
        ["2025-03-01", "2025-03-02"], utc=True), pa.timestamp("us", tz="UTC")), "event": ["login", "export"]}),
        folder / "events.parquet")
    ds = load(folder)
    sql = ds.con.raw_sql("SELECT sql FROM duckdb_views() WHERE view_name = 'events_src'").fetchone()[0]
    assert "trim" not in sql.split(" AS user_id")[0].split(" AS event")[0].lower()
    write(folder, "events.csv", "account_id,ts,event\nA1,2025-03-01,login\n")
    (folder / "events.parquet").unlink()
    sql = load(folder).con.raw_sql("SELECT sql FROM duckdb_views() WHERE view_name = 'events_src'").fetchone()[0]
    assert "trim" in sql.split(" AS account_id")[0].lower()


@pytest.mark.parametrize("values", [
    ["2026-01-05", "2026-02-28", None, "1999-12-31"],
    ["2026-01-05 10:00:00", "2026-01-05T23:59:59.123456", "2026-01-05T10", None],
    ["2026-01-05T10:00:00Z", "2026-01-05 10:00:00+09:00", "2026-01-05T10:00:00-0530", "2026-01-05T10:00:00.5Z"],
    ["2026-01-05", "2026-01-05T10:00:00Z"],        # with and without a zone: pandas reads the column
    ["2026-1-5", "20260105", "2026-01"],           # ISO forms Arrow does not read: pandas reads them
])
def test_arrow_iso_dates_read_what_pandas_reads(values):
    from churnlab.sources import _arrow_iso_dates

    txt = pd.Series(pd.array(values, dtype="string[pyarrow]"))
    want = pd.to_datetime(txt, format="ISO8601", utc=True).dt.tz_localize(None).astype("datetime64[ns]")
    got = _arrow_iso_dates(txt)
    if got is not None:
        pd.testing.assert_series_equal(got, want)
    else:   # the load then parses with pandas: the mixed and the loose forms only
        assert values[0] in ("2026-01-05", "2026-1-5") and len(values) <= 3


def test_dates_arrow_cannot_read_still_name_the_rows(tmp_path):
    write(tmp_path, "accounts.csv", "account_id,signup_date\nA1,2025-01-10\nA2,2025-02-30\nA3,2025-1-5\n")
    with pytest.raises(DataValidationError) as e:
        load(tmp_path)
    assert e.value.column == "signup_date" and "line 3" in str(e.value) and "line 4" not in str(e.value)
    write(tmp_path, "accounts.csv", "account_id,signup_date\nA1,2025-01-10\nA2,2025-1-5T10:00:00+09:00\n")
    assert load(tmp_path).accounts.signup_date.tolist() == [pd.Timestamp("2025-01-10"), pd.Timestamp("2025-01-05")]


def test_uniqueness_counted_by_duckdb_agrees_with_pandas():
    import numpy as np

    from churnlab.sources import _all_distinct, _duplicated

    rng = np.random.default_rng(3)
    n = 120_000   # above the size where the count is done by DuckDB
    ids = pd.Series(pd.array([f"u{i}" for i in range(n)], dtype="string[pyarrow]"))
    days = pd.Series(pd.to_datetime("2025-01-01") + pd.to_timedelta(rng.integers(0, 9, n), unit="D"))
    assert _all_distinct(ids.to_frame("k")) and not _duplicated(ids.to_frame("k")).any()
    twice = ids.copy()
    twice[n - 1] = "u7"
    assert not _all_distinct(twice.to_frame("k"))
    assert _duplicated(twice.to_frame("k")).tolist() == pd.DataFrame({"k": twice}).duplicated().tolist()
    pair = pd.DataFrame({"a": pd.array([f"a{i % 1000}" for i in range(n)], dtype="string[pyarrow]"), "d": days})
    assert _duplicated(pair).tolist() == pair.astype({"a": object}).duplicated().tolist()
    blanks = pd.DataFrame({"k": pd.array([None, None] + [f"u{i}" for i in range(n)], dtype="string[pyarrow]")})
    assert not _all_distinct(blanks)   # missing keys count as one value, as in pandas
    assert _duplicated(blanks).sum() == 1


def test_rows_per_day_counts_every_date_once():
    from churnlab.sources import _days

    df = pd.DataFrame({"a": pd.to_datetime(["2026-01-05 10:00", "2026-01-05 23:59", None, "1969-12-31 23:00"]),
                       "b": pd.to_datetime([None] * 4), "c": pd.to_datetime(["2031-01-01"] * 4)})
    got = _days(df, ["a", "b", "c", "absent"]).groupby(level=0).sum().sort_index()
    assert got.to_dict() == {pd.Timestamp("1969-12-31"): 1, pd.Timestamp("2026-01-05"): 2,
                             pd.Timestamp("2031-01-01"): 4}


def test_events_pass_started_early_gives_the_accounting_of_a_late_one(folder, monkeypatch):
    """The events' pass starts before the extraction date is known, assuming today; when the data
    says otherwise (the computer's clock is before the data), the pass runs again for the real date."""
    import churnlab.sources as S

    write(folder, "events.csv", EVENTS)
    runs = []
    scan = S._events_scan
    monkeypatch.setattr(S, "_events_scan", lambda run, ev, extraction: runs.append(extraction) or scan(run, ev, extraction))
    today = load(folder)
    assert len(runs) == 1   # the early pass was used
    runs.clear()
    monkeypatch.setattr(S, "_likely_extraction", lambda given: pd.Timestamp("2025-03-01"))
    other = load(folder)
    assert runs == [pd.Timestamp("2025-03-01"), today.extraction_date]   # assumed, then the real date
    for name in ("rows", "exclusions", "findings"):
        pd.testing.assert_frame_equal(getattr(today, name), getattr(other, name))
    pd.testing.assert_frame_equal(today.events.order_by("ts").execute(), other.events.order_by("ts").execute())


def test_a_bad_table_is_reported_before_bad_events(folder):
    """The events are opened first, but a problem in an earlier table is still the one reported."""
    write(folder, "events.csv", "account_id,ts,event\nA1,2025-03-01,login\n")
    write(folder, "events.csv", "account_id,when,event\nA1,2025-03-01,login\n")   # no ts column
    write(folder, "subscriptions.csv", "account_id,month,mrr\nA1,2025-13-01,10\n")
    with pytest.raises(DataValidationError) as e:
        load(folder)
    assert e.value.table == "subscriptions"
    (folder / "subscriptions.csv").unlink()
    with pytest.raises(DataValidationError) as e:
        load(folder)
    assert e.value.table == "events" and e.value.column == "ts"


def test_rows_of_an_account_without_a_signup_date_are_of_an_excluded_account(folder):
    """An accounts row left out because its signup date is blank was in the file: its rows elsewhere
    belong to an excluded account, not to an unknown id (whose cause would be another export)."""
    write(folder, "accounts.csv", ACCOUNTS + "A5,,,,SMB,monthly,50,true\n")
    write(folder, "events.csv", "account_id,ts,event\nA1,2025-03-01,x\nA5,2025-03-02,x\nZZ,2025-03-02,x\n")
    write(folder, "users.csv", "user_id,account_id,created_at\nu1,A1,2025-02-01\nu5,A5,2025-02-01\n")
    ds = load(folder)
    for table, expected in (("events", {"account excluded from accounts": 1, "unknown account_id": 1}),
                            ("users", {"account excluded from accounts": 1})):
        got = ds.exclusions[ds.exclusions.table == table].set_index("reason").rows.to_dict()
        assert got == expected, table
