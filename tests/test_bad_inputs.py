"""A corpus of broken and hostile data folders: each gives a clear error, a counted exclusion, or is read.

The corpus is generated at test time: a tiny canonical company is written to a temporary folder,
and each case changes one thing in it (an encoding, a delimiter, a quote, a file, a config key).
Each case asserts its outcome class:

* ``error``: :func:`churnlab.sources.load` raises a ``DataValidationError`` (naming the table and,
  where there is one, the column) or a ``ConfigError``, whose message names the file or key and
  what to do;
* ``excluded``: the load succeeds and the findings count the rows concerned;
* ``accepted``: the load succeeds.

For every case that loads, the rows read from each file equal the records the case wrote.
"""
from __future__ import annotations

import codecs
import copy
import decimal
import csv
import io
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pandas as pd
import pytest

from churnlab import cli
from churnlab.config import ConfigError
from churnlab.schema import DataValidationError
from churnlab.sources import load

EXTRACTION = "2026-06-30"

# --------------------------------------------------------------------------- the canonical company

COMPANY = {
    "accounts": (["account_id", "signup_date", "churn_date", "cancel_date", "plan", "contract", "segment",
                  "industry", "mrr", "seats"],
                 [["A1", "2025-01-10", "", "", "Pro", "monthly", "SMB", "Retail", "100", "5"],
                  ["A2", "2025-02-01", "2025-09-15", "2025-08-20", "Pro", "monthly", "SMB", "Retail", "80", "3"],
                  ["A3", "2025-03-01", "2025-10-20", "", "Team", "annual", "Enterprise", "Media", "900", "20"],
                  ["A4", "2025-04-01", "", "", "Team", "annual", "Enterprise", "Media", "1200", "30"],
                  ["A5", "2025-05-01", "2025-06-30", "", "Pro", "monthly", "Mid-Market", "Retail", "300", "8"],
                  ["A6", "2025-06-01", "", "", "Pro", "monthly", "SMB", "Health", "50", "2"]]),
    "subscriptions": (["account_id", "month", "mrr"],
                      [["A1", "2025-01-01", "100"], ["A1", "2025-02-01", "100"], ["A2", "2025-02-01", "80"],
                       ["A3", "2025-03-01", "900"], ["A4", "2025-04-01", "1200"], ["A6", "2025-06-01", "50"]]),
    "users": (["user_id", "account_id", "created_at"],
              [["U1", "A1", "2025-01-10"], ["U2", "A1", "2025-01-11"], ["U3", "A2", "2025-02-01"],
               ["U4", "A3", "2025-03-02"], ["U5", "A4", "2025-04-02"]]),
    "events": (["account_id", "ts", "event", "user_id"],
               [["A1", "2025-03-01T10:00:00Z", "report_created", "U1"],
                ["A1", "2025-03-02 09:00:00", "login", "U2"],
                ["A2", "2025-04-01 08:00:00", "workflow_run", "U3"],
                ["A3", "2025-05-01 12:00:00", "report_created", "U4"],
                ["A4", "2025-06-01 12:00:00", "workflow_run", "U5"],
                ["A4", "2025-12-30 12:00:00", "login", "U5"]]),
    "exit_interviews": (["account_id", "invited_at", "completed_at", "format", "primary_reason", "recommend_score",
                         "verbatim"],
                        [["A2", "2025-09-16", "2025-09-20", "survey", "price_budget", "6", "Too expensive for us."],
                         ["A3", "2025-10-21", "", "email", "", "", ""],
                         ["A5", "2025-07-01", "2025-07-03", "call", "product_gap", "4", "Missing reports."]]),
    "roadmap": (["item", "secondary_reason", "shipped_at"], [["Faster exports", "performance", "2025-06-01"]]),
}
#: data_end of the unchanged company: its latest date is A4's last event on 2025-12-30.
BASE_END = pd.Timestamp("2025-12-30")

_RECORDS: dict[str, dict[str, int]] = {}


def records(folder) -> dict:
    """Records written per table in ``folder`` (what ``rows.read`` must equal)."""
    return _RECORDS.setdefault(str(folder), {})


def table(name):
    header, rows = COMPANY[name]
    return list(header), copy.deepcopy(rows)


def csv_text(header, rows, *, delimiter=",", newline="\n"):
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=delimiter, lineterminator=newline)
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()


def write(folder, name, header=None, rows=None, *, file=None, encoding="utf-8", bom=b"", n=None, text=None,
          **fmt):
    """Write table ``name`` as CSV (the company's, or ``header``/``rows``, or raw ``text``)."""
    if header is None and text is None:
        header, rows = table(name)
    text = text if text is not None else csv_text(header, rows, **fmt)
    data = text if isinstance(text, bytes) else text.encode(encoding)
    (folder / (file or f"{name}.csv")).write_bytes(bom + data)
    records(folder)[name] = n if n is not None else len(rows or [])


def write_parquet(folder, name, frame, n=None):
    (folder / f"{name}.parquet").unlink(missing_ok=True)
    (folder / f"{name}.csv").unlink(missing_ok=True)
    frame.to_parquet(folder / f"{name}.parquet", index=False)
    records(folder)[name] = len(frame) if n is None else n


def frame(name) -> pd.DataFrame:
    header, rows = table(name)
    return pd.DataFrame(rows, columns=header).replace({"": None})


def drop(folder, name):
    (folder / f"{name}.csv").unlink()
    records(folder).pop(name, None)


def config(folder, text) -> Path:
    (folder / "churnlab.yaml").write_text(text, encoding="utf-8")
    return folder / "churnlab.yaml"


def edit(name, fn, **fmt):
    """A mutation that rewrites table ``name`` after ``fn(header, rows)`` changed it in place."""
    def mutate(folder):
        header, rows = table(name)
        fn(header, rows)
        write(folder, name, header, rows, **fmt)
    return mutate


def cell(name, row, col, value):
    return edit(name, lambda h, r: r[row].__setitem__(h.index(col), value))


def company(folder):
    for name in COMPANY:
        write(folder, name)


# --------------------------------------------------------------------------- cases


@dataclass
class Case:
    id: str
    mutate: Callable  # folder -> config path or None
    outcome: str  # "error", "excluded" or "accepted"
    table: str = ""
    expect: tuple = ()  # error: texts in the message; excluded: texts of findings (problem) with their rows
    column: str | None = None
    rows: int | None = None  # excluded: rows counted under the finding
    check: Callable | None = None  # extra assertions on the loaded dataset
    data_end: bool = True  # the unchanged data_end must hold (future dates must not move it)
    extra: dict = field(default_factory=dict)


def m(*steps):
    """Several mutations in a row; the last config path returned wins."""
    def mutate(folder):
        out = None
        for step in steps:
            out = step(folder) or out
        return out
    return mutate


def raw(name, text, n, **kw):
    return lambda folder: write(folder, name, text=text, n=n, **kw)


def cfg(text):
    return lambda folder: config(folder, text)


def accounts_text(**fmt):
    return csv_text(*table("accounts"), **fmt)


def with_rows(name, extra_rows):
    return edit(name, lambda h, r: r.extend(extra_rows))


def accounts_with(**changes):
    """Accounts where account A1's columns take ``changes``."""
    def fn(h, r):
        for k, v in changes.items():
            r[0][h.index(k)] = v
    return edit("accounts", fn)


def rename_ids(mapping):
    """Rewrite every account id in every table (e.g. to zero-padded numbers)."""
    def mutate(folder):
        for name in COMPANY:
            header, rows = table(name)
            if "account_id" in header:
                i = header.index("account_id")
                for r in rows:
                    r[i] = mapping.get(r[i], r[i])
            write(folder, name, header, rows)
    return mutate


PADDED = {f"A{i}": f"00{i}00{i}" for i in range(1, 7)}
LONG = {f"A{i}": f"12345678901{i}" for i in range(1, 7)}


def strip_zeros(name):
    def fn(h, r):
        i = h.index("account_id")
        for row in r:
            row[i] = PADDED.get(row[i], row[i]).lstrip("0")
    return edit(name, fn)


def long_ids_in(name, sci):
    def fn(h, r):
        i = h.index("account_id")
        for row in r:
            row[i] = f"{int(LONG[row[i]]):.5E}".replace("E+", "E+") if sci else LONG[row[i]]
    return edit(name, fn)


def symlink(name, target):
    def mutate(folder):
        (folder / f"{name}.csv").unlink(missing_ok=True)
        os.symlink(target if target != "self" else folder / f"{name}.csv", folder / f"{name}.csv")
        records(folder).pop(name, None)
    return mutate


def directory(name):
    def mutate(folder):
        (folder / f"{name}.csv").unlink()
        (folder / f"{name}.csv").mkdir()
        records(folder).pop(name, None)
    return mutate


def japanese_interviews(encoding):
    def fn(h, r):
        r[0][h.index("verbatim")] = "価格が高すぎました。サポートは良かったです。"
    return edit("exit_interviews", fn, encoding=encoding)


def stray_quote_near_end(folder):
    # 15 accounts; a quote opened on the 5th-last record is never closed: 10 records would vanish
    header, rows = table("accounts")
    rows = [[f"B{i}", "2025-01-01", "", "", "Pro", "monthly", "SMB", "Retail", "10", "1"] for i in range(15)]
    text = csv_text(header, rows).splitlines(keepends=True)
    text[5] = text[5].replace(",Pro,", ',"Pro,')
    write(folder, "accounts", text="".join(text), n=15)
    for name in ("subscriptions", "users", "events", "exit_interviews"):
        drop(folder, name)


def two_stray_quotes(folder):
    header, rows = table("accounts")
    rows = [[f"B{i}", "2025-01-01", "", "", "Pro", "monthly", "SMB", "Retail", "10", "1"] for i in range(15)]
    lines = csv_text(header, rows).splitlines(keepends=True)
    lines[3] = lines[3].replace(",Pro,", ',"Pro,')
    lines[13] = lines[13].replace(",Pro,", ',Pro",')
    write(folder, "accounts", text="".join(lines), n=15)
    for name in ("subscriptions", "users", "events", "exit_interviews"):
        drop(folder, name)


def parquet(name, change=None):
    def mutate(folder):
        df = frame(name)
        if change:
            df = change(df)
        write_parquet(folder, name, df)
    return mutate


def epoch(df, col, unit):
    ts = pd.to_datetime(df[col], utc=True, format="ISO8601")
    scale = {"s": 10**9, "ms": 10**6, "us": 10**3}[unit]
    df[col] = ts.astype("int64") // scale
    return df


def parquet_parts(folder, name):
    """Table ``name`` as a Parquet dataset: a folder of two part files."""
    df = frame(name)
    (folder / f"{name}.parquet").mkdir()
    half = len(df) // 2
    df.iloc[:half].to_parquet(folder / f"{name}.parquet" / "part-0.parquet", index=False)
    df.iloc[half:].to_parquet(folder / f"{name}.parquet" / "part-1.parquet", index=False)
    records(folder)[name] = len(df)


def assert_epoch_events(ds):
    got = ds.events.order_by("ts").execute()
    assert got.ts.iloc[0] == pd.Timestamp("2025-03-01 10:00:00")
    assert "ts is stored as numbers: read as Unix epoch milliseconds (UTC)" in set(ds.findings.problem)


def finding(ds, text):
    f = ds.findings[ds.findings.problem.str.contains(text, regex=False)]
    assert len(f), f"no finding {text!r} in {list(ds.findings.problem)}"
    return f


ACC_HEADER = ",".join(COMPANY["accounts"][0])

CASES = [
    # ---- encodings and bytes
    Case("accounts-cp1252", edit("accounts", lambda h, r: r[0].__setitem__(6, "Café"), encoding="cp1252"),
         "error", "accounts", ("accounts.csv", "not UTF-8", "line 2", "tables.accounts.encoding: cp1252")),
    Case("accounts-shift-jis",
         edit("accounts", lambda h, r: r[0].__setitem__(7, "ソフトウェア小売"), encoding="cp932"),
         "error", "accounts", ("accounts.csv", "not UTF-8", "cp932", "tables.accounts.encoding")),
    Case("accounts-cp1252-with-encoding-key",
         m(edit("accounts", lambda h, r: r[0].__setitem__(6, "Café"), encoding="cp1252"),
           cfg("tables:\n  accounts:\n    encoding: cp1252\n")), "accepted",
         check=lambda ds: ds.accounts.segment[0] == "Café"),
    Case("interviews-shift-jis-with-encoding-key",
         m(japanese_interviews("shift_jis"), cfg("tables:\n  exit_interviews:\n    encoding: shift_jis\n")),
         "accepted", check=lambda ds: ds.exit_interviews.verbatim[0].startswith("価格が")),
    Case("interviews-shift-jis-without-key", japanese_interviews("cp932"), "error", "exit_interviews",
         ("exit_interviews.csv", "tables.exit_interviews.encoding: cp932")),
    Case("wrong-encoding-key",
         m(japanese_interviews("cp932"), cfg("tables:\n  exit_interviews:\n    encoding: utf-8\n")),
         "error", "exit_interviews", ("cannot be decoded as utf-8", "tables.exit_interviews.encoding")),
    Case("unknown-encoding-key", cfg("tables:\n  accounts:\n    encoding: klingon\n"), "error", "",
         ("tables.accounts.encoding", "klingon")),
    Case("events-cp1252", edit("events", lambda h, r: r[0].__setitem__(2, "rapport_créé"), encoding="cp1252"),
         "error", "events", ("events.csv", "not UTF-8", "tables.events.encoding")),
    Case("events-cp1252-after-the-first-mib",
         lambda f: write(f, "events", *(lambda h, r: (h, r * 6000 + [["A1", "2025-03-01 10:00:00", "café", "U1"]]))(
             *table("events")), encoding="cp1252"),
         "error", "events", ("not UTF-8", "tables.events.encoding")),
    Case("events-utf16-with-bom", lambda f: write(f, "events", *table("events"), encoding="utf-16"), "accepted",
         check=lambda ds: ds.events.count().execute() == 6 and len(finding(ds, "UTF-16"))),
    Case("events-utf16-over-1mib", lambda f: write(f, "events", *(lambda h, r: (h, r * 7000))(*table("events")),
                                                   encoding="utf-16"), "accepted",
         check=lambda ds: ds.events.count().execute() == 42000),
    Case("events-value-not-a-number",
         edit("events", lambda h, r: (h.append("value"),
                                      [row.append(v) for row, v in zip(r, ["1", "x", "", "2", "3", "4"])])),
         "excluded", "events", ("value not a number set to missing",), rows=1),
    Case("events-two-columns-mapped-to-ts",
         m(edit("events", lambda h, r: (h.append("when"), [row.append(row[1]) for row in r])),
           cfg("tables:\n  events:\n    columns: {when: ts}\n")),
         "error", "events", ("appears twice after mapping", "'when'"), column="ts"),
    Case("events-cp1252-with-encoding-key",
         m(edit("events", lambda h, r: r[0].__setitem__(2, "rapport_créé"), encoding="cp1252"),
           cfg("tables:\n  events:\n    encoding: cp1252\n")), "accepted",
         check=lambda ds: "rapport_créé" in set(ds.events.execute().event)),
    Case("accounts-utf16-with-bom", lambda f: write(f, "accounts", *table("accounts"), encoding="utf-16"),
         "accepted", check=lambda ds: finding(ds, "UTF-16") is not None and ds.accounts.account_id[0] == "A1"),
    Case("accounts-utf8-bom", lambda f: write(f, "accounts", *table("accounts"), bom=codecs.BOM_UTF8), "accepted",
         check=lambda ds: ds.accounts.account_id.tolist()[:2] == ["A1", "A2"]),
    Case("events-utf8-bom", lambda f: write(f, "events", *table("events"), bom=codecs.BOM_UTF8), "accepted"),
    Case("accounts-nul-bytes", raw("accounts", accounts_text().replace("Retail,80", "Re\x00tail,80"), 6),
         "error", "accounts", ("NUL bytes", "line 3", "accounts.csv")),
    Case("events-nul-bytes", raw("events", csv_text(*table("events")).replace("login", "lo\x00gin"), 6), "error",
         "events", ("NUL bytes", "events.csv")),
    # ---- field sizes, quotes, headers
    Case("verbatim-1mb", cell("exit_interviews", 0, "verbatim", "slow " * 210_000), "accepted",
         check=lambda ds: len(ds.exit_interviews.verbatim[0]) > 1_000_000),
    Case("long-line-200kb-industry", cell("accounts", 1, "industry", "x" * 200_000), "accepted"),
    Case("huge-header-name", raw("accounts", "account_id,signup_date," + "h" * 200_000 + "\nA1,2025-01-01,x\n", 1),
         "error", "accounts", ("header", "characters long")),
    Case("header-with-open-quote", raw("accounts", 'account_id,"signup_date\nA1,2025-01-01\n', 1), "error",
         "accounts", ("line 1 is never closed",)),
    Case("header-with-line-break", raw("accounts", 'account_id,"signup\ndate",mrr\nA1,2025-01-01,1\n', 1), "error",
         "accounts", ("header runs over lines 1-2",)),
    Case("early-stray-quote", raw("accounts", accounts_text().replace("A2,2025-02-01", 'A2,"2025-02-01'), 6),
         "error", "accounts", ("line 3", "never closed", "stray quote")),
    Case("stray-quote-near-end-swallows-10-records", stray_quote_near_end, "error", "accounts",
         ("line 6", "never closed", "10 of which look like records")),
    Case("two-stray-quotes-swallow-records", two_stray_quotes, "error", "accounts",
         ("line 4", "runs to line 14", "swallows 9 line(s)")),
    Case("quote-then-text",
         raw("accounts", accounts_text().replace(",Pro,monthly,SMB,Retail,80", ',"Pro"x,monthly,SMB,Retail,80'), 6),
         "error", "accounts", ("line 3", "quoted value is followed")),
    Case("events-stray-quote", raw("events", csv_text(*table("events")).replace(",login,", ',"login,'), 6), "error",
         "events", ("never closed",)),
    Case("events-two-stray-quotes",
         raw("events", csv_text(*table("events")).replace(",U2", ',"U2').replace(",U4", ',U4"'), 6), "error",
         "events", ("run over several lines, from line 3", "stray quote")),
    Case("duplicate-header", edit("accounts", lambda h, r: (h.__setitem__(9, "mrr"))), "error", "accounts",
         ("appears 2 times in the header", "columns 9, 10"), column="mrr"),
    Case("duplicate-header-events", edit("events", lambda h, r: h.__setitem__(3, "event")), "error", "events",
         ("appears 2 times",), column="event"),
    Case("duplicate-after-mapping", m(edit("accounts", lambda h, r: h.__setitem__(7, "Customer")),
                                      cfg("tables:\n  accounts:\n    columns: {Customer: account_id}\n")),
         "error", "accounts", ("appears twice after mapping", "Customer"), column="account_id"),
    # ---- paths
    Case("accounts-is-a-folder", directory("accounts"), "error", "accounts", ("is a folder",)),
    Case("events-is-a-folder", directory("events"), "error", "events", ("is a folder",)),
    Case("accounts-symlink-loop", symlink("accounts", "self"), "error", "accounts", ("symbolic link",)),
    Case("users-broken-symlink", symlink("users", "/nonexistent/users.csv"), "error", "users", ("symbolic link",)),
    Case("parquet-dataset-folders", m(lambda f: [drop(f, t) for t in ("users", "events")],
                                      lambda f: [parquet_parts(f, t) for t in ("users", "events")]), "accepted",
         check=lambda ds: len(ds.users) == 5 and ds.events.count().execute() == 6),
    Case("folder-without-parquet-parts", lambda f: (drop(f, "users"), (f / "users.parquet").mkdir()), "error", "users",
         ("is a folder",)),
    Case("accounts-under-another-name", lambda f: (f / "accounts.csv").rename(f / "Accounts.CSV"), "error", "accounts",
         ("accounts (accounts.csv or accounts.parquet): not found", "the folder has Accounts.CSV")),
    Case("users-under-another-name", lambda f: (drop(f, "users"), (f / "Users.xlsx").write_bytes(b"PK")), "accepted",
         check=lambda ds: ds.users is None and len(finding(ds, "looks like the users table but is not read"))),
    Case("accounts-csv-and-parquet", lambda f: frame("accounts").to_parquet(f / "accounts.parquet"), "error",
         "accounts", ("accounts.parquet and accounts.csv", "ambiguous", "tables.accounts.file")),
    Case("events-csv-and-parquet", lambda f: frame("events").to_parquet(f / "events.parquet"), "error", "events",
         ("ambiguous",)),
    # ---- Parquet
    Case("parquet-accounts", parquet("accounts", lambda d: d.astype({"mrr": float, "seats": float})), "accepted"),
    Case("parquet-categorical-text", parquet("accounts", lambda d: d.astype({"segment": "category", "plan": "category",
                                                                          "mrr": float})), "accepted",
         check=lambda ds: ds.accounts.segment[0] == "SMB"),
    Case("parquet-typed-columns",
         parquet("subscriptions", lambda d: d.assign(month=pd.to_datetime(d.month).dt.date,
                                                     mrr=[decimal.Decimal(v) for v in d.mrr],
                                                     seats=pd.array([1, None, 3, 4, 5, 6], dtype="Int64"))),
         "accepted", check=lambda ds: ds.subscriptions.month[0] == pd.Timestamp("2025-01-01")
         and ds.subscriptions.mrr.sum() == 2430 and ds.subscriptions.seats.isna().sum() == 1),
    Case("parquet-tz-aware-timestamps",
         parquet("users", lambda d: d.assign(created_at=pd.to_datetime(d.created_at).dt.tz_localize("Asia/Tokyo"))),
         "accepted", check=lambda ds: ds.users.created_at[0] == pd.Timestamp("2025-01-09 15:00")),
    Case("parquet-epoch-seconds", parquet("accounts", lambda d: epoch(d.astype({"mrr": float}), "signup_date", "s")),
         "accepted", check=lambda ds: ds.accounts.signup_date[0] == pd.Timestamp("2025-01-10")
         and len(finding(ds, "signup_date is stored as numbers: read as Unix epoch seconds"))),
    Case("parquet-events-epoch-ms", parquet("events", lambda d: epoch(d, "ts", "ms")), "accepted",
         check=assert_epoch_events),
    Case("parquet-epoch-out-of-range",
         parquet("accounts", lambda d: d.assign(signup_date=range(100_000, 100_006), mrr=d.mrr.astype(float))),
         "error", "accounts", ("stored as numbers", "1990-2100"), column="signup_date"),
    Case("parquet-events-epoch-out-of-range", parquet("events", lambda d: d.assign(ts=range(1, 7))), "error",
         "events", ("stored as numbers",), column="ts"),
    Case("corrupt-parquet", lambda f: (f / "accounts.csv").rename(f / "accounts.parquet"), "error", "accounts",
         ("cannot be read as Parquet", "accounts.parquet")),
    Case("corrupt-parquet-events", lambda f: (f / "events.csv").rename(f / "events.parquet"), "error", "events",
         ("cannot be read as Parquet", "events.parquet")),
    Case("zero-row-parquet-events", lambda f: (drop(f, "events"), write_parquet(f, "events", frame("events").iloc[:0])),
         "excluded", "events", ("treated as absent",), data_end=False, check=lambda ds: ds.events is None),
    Case("parquet-numeric-account-ids",
         m(rename_ids({f"A{i}": str(100 + i) for i in range(1, 7)}),
           lambda f: write_parquet(f, "accounts", frame("accounts").assign(account_id=range(101, 107),
                                                                           mrr=lambda d: d.mrr.astype(float)))),
         "accepted", check=lambda ds: ds.accounts.account_id[0] == "101"),
    Case("parquet-inf-mrr-subscriptions",
         parquet("subscriptions", lambda d: d.assign(mrr=[100.0, float("inf"), 80.0, 900.0, -float("inf"), 50.0])),
         "excluded", "subscriptions", ("mrr is not a finite number",), rows=2),
    Case("zero-byte-parquet-users", lambda f: (drop(f, "users"), (f / "users.parquet").write_bytes(b""),
                                               records(f).__setitem__("users", 0)),
         "excluded", "users", ("is empty",), check=lambda ds: ds.users is None),
    # ---- data config mistakes
    Case("date-format-%Q", cfg('tables:\n  accounts:\n    date_format: "%Q"\n'), "error", "",
         ("tables.accounts.date_format", "%Q is not a date directive")),
    Case("events-date-format-%Q", cfg('tables:\n  events:\n    date_format: "%Y-%Q"\n'), "error", "",
         ("tables.events.date_format",)),
    Case("taxonomy-missing", cfg("taxonomy: nowhere.yaml\n"), "error", "", ("taxonomy file", "nowhere.yaml")),
    Case("min-count-two", cfg("activity:\n  events: [report_created]\n  min_count: two\n"), "error", "",
         ("activity.min_count", "whole number", "'two'")),
    Case("mapping-target-not-canonical", cfg("tables:\n  accounts:\n    columns: {plan: tier}\n"), "error", "",
         ("tables.accounts.columns", "'tier'", "not a column of accounts")),
    Case("mapping-source-missing-from-file", cfg("tables:\n  accounts:\n    columns: {Customer ID: account_id}\n"),
         "error", "", ("tables.accounts.columns", "'Customer ID'", "accounts.csv has no such column")),
    Case("events-mapping-source-missing", cfg("tables:\n  events:\n    columns: {acct: account_id}\n"), "error", "",
         ("tables.events.columns", "'acct'", "events.csv")),
    Case("values-for-unknown-column", cfg("tables:\n  accounts:\n    values: {tier: {Small: SMB}}\n"), "error", "",
         ("tables.accounts.values", "'tier'", "not a column of accounts")),
    Case("values-for-column-not-in-file", cfg("tables:\n  accounts:\n    values: {region: {Europe: EMEA}}\n"),
         "error", "", ("tables.accounts.values.region", "no such column")),
    Case("two-names-mapped-to-one", cfg("tables:\n  accounts:\n    columns: {plan: segment, industry: segment}\n"),
         "error", "", ("maps both",)),
    Case("empty-config-file", cfg(""), "accepted"),
    Case("unknown-reasons-preset", cfg("tables:\n  exit_interviews:\n    reasons: zendesk\n"), "error", "",
         ("tables.exit_interviews.reasons", "'zendesk'")),
    Case("reasons-not-a-mapping", cfg("tables:\n  exit_interviews:\n    reasons: 5\n"), "error", "",
         ("tables.exit_interviews.reasons",)),
    Case("mapping-to-a-number", cfg("tables:\n  accounts:\n    columns: {plan: 7}\n"), "error", "",
         ("'7', which is not a column of accounts",)),
    Case("config-not-utf8", lambda f: (f / "churnlab.yaml").write_bytes("tables:\n  accounts:\n    file: caf\u00e9.csv\n"
                                                                          .encode("cp1252")) and f / "churnlab.yaml",
         "error", "", ("is not UTF-8 text",)),
    Case("config-is-a-list", cfg("- tables\n- accounts\n"), "error", "", ("expected a mapping at the top level",)),
    Case("config-unknown-table", cfg("tables:\n  customers: {file: x.csv}\n"), "error", "",
         ("tables.customers is not a churnlab table",)),
    Case("config-table-is-a-list", cfg("tables:\n  accounts: [a, b]\n"), "error", "",
         ("tables.accounts must be a mapping",)),
    Case("config-tables-is-a-list", cfg("tables: [accounts]\n"), "error", "", ("tables must map table names",)),
    Case("config-invalid-yaml", cfg("tables: {accounts: [\n"), "error", "", ("not valid YAML",)),
    Case("config-bad-delimiter", cfg("tables:\n  accounts:\n    delimiter: '::'\n"), "error", "",
         ("tables.accounts.delimiter",)),
    Case("config-unknown-table-key", cfg("tables:\n  accounts:\n    sheet: 1\n"), "error", "",
         ("unknown key(s) ['sheet']",)),
    Case("config-names-missing-file", cfg("tables:\n  users:\n    file: people.csv\n"), "error", "",
         ("people.csv", "does not exist")),
    Case("day-first-dates-with-date-format",
         m(edit("accounts", lambda h, r: [row.__setitem__(i, "/".join(reversed(row[i].split("-"))))
                                          for row in r for i in (1, 2, 3)]),
           cfg('tables:\n  accounts:\n    date_format: "%d/%m/%Y"\n')), "accepted",
         check=lambda ds: ds.accounts.signup_date[0] == pd.Timestamp("2025-01-10")),
    Case("events-date-format", m(edit("events", lambda h, r: [row.__setitem__(1, "01/03/2025 10:00") for row in r]),
                                 cfg('tables:\n  events:\n    date_format: "%d/%m/%Y %H:%M"\n')), "accepted",
         data_end=False, check=lambda ds: set(ds.events.execute().ts) == {pd.Timestamp("2025-03-01 10:00")}),
    Case("events-date-format-mismatch", m(cfg('tables:\n  events:\n    date_format: "%d/%m/%Y %H:%M"\n')), "error",
         "events", ("cannot be read as a timestamp", "tables.events.date_format"), column="ts"),
    # ---- rows that must not vanish uncounted
    Case("blank-signup-date", cell("accounts", 5, "signup_date", ""), "excluded", "accounts",
         ("missing signup_date",), rows=1),
    Case("blank-invited-at", cell("exit_interviews", 1, "invited_at", " "), "excluded", "exit_interviews",
         ("missing invited_at",), rows=1),
    Case("interview-of-account-that-never-churned",
         with_rows("exit_interviews", [["A1", "2025-08-01", "", "email", "", "", ""]]),
         "excluded", "exit_interviews", ("account has not churned",), rows=1),
    Case("all-interviews-of-active-accounts",
         edit("exit_interviews", lambda h, r: [row.__setitem__(0, "A1") or row.__setitem__(0, a)
                                               for row, a in zip(r, ["A1", "A4", "A6"])]),
         "excluded", "exit_interviews", ("account has not churned",), rows=3,
         check=lambda ds: ds.exit_interviews is None and len(finding(ds, "no usable rows: treated as absent"))),
    Case("every-account-unusable", edit("accounts", lambda h, r: [row.__setitem__(1, "") for row in r]), "error",
         "accounts", ("no usable rows: all 6 rows were excluded",)),
    Case("whitespace-only-account-id", cell("accounts", 5, "account_id", "   "), "excluded", "accounts",
         ("missing account_id",), rows=1),
    Case("duplicate-account-id",
         with_rows("accounts", [["A1", "2025-01-11", "", "", "Pro", "monthly", "SMB", "Retail", "1", "1"]]),
         "excluded", "accounts", ("duplicate account_id",), rows=1),
    Case("events-blank-account-id", with_rows("events", [["", "2025-03-01 10:00:00", "login", "U1"],
                                                          ["  ", "2025-03-01 10:00:00", "login", "U1"]]),
         "excluded", "events", ("missing account_id / ts / event",), rows=2),
    Case("unknown-account-in-users", with_rows("users", [["U9", "ZZ", "2025-01-01"]]), "excluded", "users",
         ("unknown account_id",), rows=1),
    # ---- wrong file or date range
    Case("future-signup-2031",
         with_rows("accounts", [["A7", "2031-01-01", "", "", "Pro", "monthly", "SMB", "Retail", "1", "1"]]),
         "excluded", "accounts", ("signup_date after the extraction date (2026-06-30)",), rows=1),
    Case("future-churn-date-2031", cell("accounts", 0, "churn_date", "2031-05-01"), "excluded", "accounts",
         ("churn_date after the extraction date",), rows=1,
         check=lambda ds: ds.accounts.churn_date[0] == pd.Timestamp("2031-05-01")),
    Case("future-event-2031", with_rows("events", [["A1", "2031-01-01 00:00:00", "login", "U1"]]), "excluded", "events",
         ("ts after the extraction date",), rows=1),
    Case("future-subscription-month", with_rows("subscriptions", [["A1", "2031-01-01", "100"]]), "excluded",
         "subscriptions", ("month after the extraction date",), rows=1),
    Case("future-interview", cell("exit_interviews", 0, "completed_at", "2031-01-01"), "excluded", "exit_interviews",
         ("completed_at after the extraction date",), rows=1),
    # ---- bad numbers and empty tables
    Case("accounts-mrr-inf", cell("accounts", 0, "mrr", "inf"), "excluded", "accounts",
         ("mrr not a finite number (inf / NaN) set to missing",), rows=1, check=lambda ds: pd.isna(ds.accounts.mrr[0])),
    Case("accounts-mrr-NaN-text", cell("accounts", 1, "mrr", "NaN"), "excluded", "accounts",
         ("mrr not a finite number",), rows=1),
    Case("subscriptions-mrr-Infinity", cell("subscriptions", 2, "mrr", "Infinity"), "excluded", "subscriptions",
         ("mrr is not a finite number (inf / NaN)",), rows=1,
         check=lambda ds: ds.subscriptions.mrr.sum() == 2350),
    Case("subscriptions-mrr-nan-and-overflow",
         edit("subscriptions", lambda h, r: (r[0].__setitem__(2, "nan"), r[1].__setitem__(2, "1e999"))),
         "excluded", "subscriptions", ("mrr is not a finite number",), rows=2),
    Case("subscriptions-blank-mrr", cell("subscriptions", 0, "mrr", ""), "excluded", "subscriptions",
         ("missing mrr",), rows=1),
    Case("negative-seats", cell("accounts", 2, "seats", "-4"), "excluded", "accounts",
         ("negative seats set to missing",), rows=1),
    Case("thousands-separator-mrr", cell("accounts", 0, "mrr", "1,200"), "error", "accounts", ("are not numbers",),
         column="mrr"),
    Case("header-only-accounts", raw("accounts", ACC_HEADER + "\n", 0), "error", "accounts",
         ("no rows", "accounts.csv")),
    Case("zero-byte-accounts", raw("accounts", "", 0), "error", "accounts", ("empty (0 bytes)", "accounts.csv")),
    Case("blank-lines-only-accounts", raw("accounts", "\n\n\r\n", 0), "error", "accounts",
         ("is empty (no header, only blank lines)",)),
    Case("header-only-users", raw("users", "user_id,account_id,created_at\n", 0), "excluded", "users",
         ("has a header but no rows: treated as absent",), check=lambda ds: ds.users is None),
    Case("zero-byte-users", raw("users", "", 0), "excluded", "users", ("is empty (0 bytes): treated as absent",),
         check=lambda ds: ds.users is None),
    Case("header-only-events", raw("events", "account_id,ts,event\n", 0), "excluded", "events",
         ("has a header but no rows",), data_end=False, check=lambda ds: ds.events is None),
    Case("zero-byte-events", raw("events", "", 0), "excluded", "events", ("is empty",), data_end=False,
         check=lambda ds: ds.events is None),
    Case("header-only-interviews", raw("exit_interviews", "account_id,invited_at\n", 0), "excluded",
         "exit_interviews", ("treated as absent",), check=lambda ds: not ds.has("exit_interviews")),
    # ---- mangled files
    Case("zero-padded-ids", rename_ids(PADDED), "accepted", check=lambda ds: ds.accounts.account_id[0] == "001001"),
    Case("leading-zeros-lost-in-users", m(rename_ids(PADDED), strip_zeros("users")), "error", "users",
         ("lost their leading zeros", "'1001' is '001001' in accounts.csv"), column="account_id"),
    Case("leading-zeros-lost-in-events", m(rename_ids(PADDED), strip_zeros("events")), "error", "events",
         ("lost their leading zeros",), column="account_id"),
    Case("leading-zeros-lost-in-accounts", m(rename_ids(PADDED), strip_zeros("accounts")), "error", "subscriptions",
         ("leading zeros that accounts.csv lost",), column="account_id"),
    Case("scientific-ids-in-events", m(rename_ids(LONG), long_ids_in("events", sci=True)), "error", "events",
         ("scientific notation", "1.23457E+11"), column="account_id"),
    Case("scientific-ids-in-interviews", m(rename_ids(LONG), long_ids_in("exit_interviews", sci=True)), "error",
         "exit_interviews", ("scientific notation",), column="account_id"),
    Case("scientific-ids-in-accounts", m(rename_ids(LONG), long_ids_in("accounts", sci=True)), "error", "accounts",
         ("scientific notation",), column="account_id"),
    Case("ids-written-as-decimals", m(rename_ids({f"A{i}": str(100 + i) for i in range(1, 7)}),
                                      edit("users", lambda h, r: [row.__setitem__(1, f"{100 + int(row[1][1:])}.0")
                                                                  for row in r])),
         "error", "users", ("written as decimal numbers", "'101.0' is '101'"), column="account_id"),
    Case("ids-in-lower-case", edit("exit_interviews", lambda h, r: [row.__setitem__(0, row[0].lower()) for row in r]),
         "error", "exit_interviews", ("only in upper / lower case", "'a2' is 'A2'"), column="account_id"),
    Case("events-of-another-company", edit("events", lambda h, r: [row.__setitem__(0, "C-" + row[0]) for row in r]),
         "error", "events", ("match no account in accounts.csv",), column="account_id"),
    Case("semicolon-accounts", edit("accounts", lambda h, r: None, delimiter=";"), "accepted",
         check=lambda ds: len(finding(ds, "read as semicolon-delimited"))),
    Case("tab-subscriptions", edit("subscriptions", lambda h, r: None, delimiter="\t"), "accepted"),
    Case("semicolon-events", edit("events", lambda h, r: None, delimiter=";"), "accepted",
         check=lambda ds: ds.events.count().execute() == 6),
    Case("pipe-with-delimiter-key", m(edit("users", lambda h, r: None, delimiter="|"),
                                      cfg("tables:\n  users:\n    delimiter: pipe\n")), "accepted"),
    Case("semicolon-key-on-comma-file", cfg("tables:\n  accounts:\n    delimiter: ';'\n"), "error", "accounts",
         ("header looks comma-delimited",), column="account_id"),
    Case("ragged-more-fields", raw("accounts", accounts_text().replace("Retail,80,3", "Retail,80,3,x"), 6),
         "error", "accounts", ("do not have the header's 10 fields", "line 3 has 11")),
    Case("ragged-fewer-fields", raw("accounts", accounts_text().replace("Media,900,20", "Media"), 6), "error",
         "accounts", ("line 4 has 8",)),
    Case("ragged-events", raw("events", csv_text(*table("events")).replace("login,U2", "login,U2,extra"), 6),
         "error", "events", ("line 3 has 5 fields, the header has 4",)),
    Case("trailing-empty-fields", raw("accounts", accounts_text().replace("\n", ",,\n"), 6), "accepted"),
    # ---- shapes real exports have
    Case("crlf-line-endings", lambda f: [write(f, t, *table(t), newline="\r\n") for t in COMPANY], "accepted"),
    Case("quoted-newlines", cell("exit_interviews", 0, "verbatim", "first line\nsecond, line\r\nthird"), "accepted",
         check=lambda ds: "second, line" in ds.exit_interviews.verbatim[0]),
    Case("trailing-blank-lines", raw("accounts", accounts_text() + "\n\n  \n", 6), "accepted"),
    Case("mixed-date-formats", cell("accounts", 3, "signup_date", "04/01/2025"), "error", "accounts",
         ("cannot be read as a date", "line 5"), column="signup_date"),
    Case("epoch-digits-in-csv-dates", cell("accounts", 3, "signup_date", "1743465600"), "error", "accounts",
         ("look like Unix epoch numbers",), column="signup_date"),
    Case("excel-date-serials", cell("accounts", 3, "signup_date", "45748"), "error", "accounts",
         ("spreadsheet date serials",), column="signup_date"),
    Case("decimal-comma-mrr", m(edit("accounts", lambda h, r: r[0].__setitem__(8, "100,50"), delimiter=";")), "error",
         "accounts", ("decimal commas",), column="mrr"),
    Case("header-case-differs", edit("accounts", lambda h, r: h.__setitem__(1, "Signup Date")), "error", "accounts",
         ("'Signup Date' is not 'signup_date'",), column="signup_date"),
    Case("excel-sep-line", raw("accounts", "sep=;\n" + accounts_text(delimiter=";"), 6), "accepted",
         check=lambda ds: ds.findings.empty and ds.accounts.account_id.tolist()[0] == "A1"),
    Case("excel-sep-line-events", raw("events", "sep=;\n" + csv_text(*table("events"), delimiter=";"), 6), "accepted",
         check=lambda ds: ds.events.count().execute() == 6),
    Case("leading-blank-lines",
         raw("accounts", "\n\n" + accounts_text().replace("A2,2025-02-01,2025-09-15", "A2,x,2025-09-15"), 6),
         "error", "accounts", ("line 5:",), column="signup_date"),
    Case("leading-blank-lines-events", raw("events", "\n" + csv_text(*table("events")).replace("yesterday", "")
                                           .replace("2025-03-02 09:00:00", "yesterday"), 6), "error", "events",
         ("line 4:",), column="ts"),
    Case("unicode-ids", rename_ids({"A1": "Å-1", "A2": "顧客2", "A3": "Ω3"}), "accepted",
         check=lambda ds: "顧客2" in set(ds.accounts.account_id)),
    Case("whitespace-only-optional-cells", cell("accounts", 0, "plan", "   "), "accepted",
         check=lambda ds: ds.accounts.plan[0] is None),
    Case("quoted-empty-event-user", with_rows("events", [["A1", "2025-03-03 10:00:00", "login", ""]]), "accepted"),
    Case("churn-before-signup", cell("accounts", 1, "churn_date", "2024-01-01"), "excluded", "accounts",
         ("churn_date before signup_date",), rows=1),
    Case("score-out-of-range", cell("exit_interviews", 0, "recommend_score", "11"), "excluded", "exit_interviews",
         ("recommend_score outside 0-10",), rows=1),
    Case("contract-term-unknown", cell("accounts", 0, "contract", "weekly"), "accepted",
         check=lambda ds: ds.accounts.contract[0] == "weekly" and pd.isna(ds.accounts.contract_months[0])
         and "'weekly'" in " ".join(ds.findings.problem)),
    Case("contract-terms-spelled-freely", cell("accounts", 0, "contract", "Two Year"), "accepted",
         check=lambda ds: ds.accounts.contract[0] == "two-year" and ds.accounts.contract_months[0] == 24),
    Case("missing-required-column", edit("accounts", lambda h, r: h.__setitem__(1, "created")), "error", "accounts",
         ("'signup_date'", "missing"), column="signup_date"),
    Case("events-unparseable-ts", cell("events", 1, "ts", "yesterday"), "error", "events", ("line 3", "yesterday"),
         column="ts"),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case, tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    _RECORDS.pop(str(folder), None)
    company(folder)
    config_path = case.mutate(folder)
    if not (isinstance(config_path, Path) and config_path.name == "churnlab.yaml"):
        config_path = None
    if case.outcome == "error":
        with pytest.raises((DataValidationError, ConfigError)) as e:
            load(folder, config_path, extraction_date=EXTRACTION)
        msg = str(e.value)
        for text in case.expect:
            assert text in msg, f"{text!r} not in: {msg}"
        if case.table:  # a data problem: a DataValidationError naming the table, file and column
            assert isinstance(e.value, DataValidationError), msg
            assert e.value.table == case.table and msg.startswith(case.table), msg
            assert e.value.file and (e.value.file.split(",")[0] in msg), msg
            assert e.value.column == case.column, (e.value.column, msg)
        else:  # a config problem: a ConfigError naming the config key or file
            assert isinstance(e.value, ConfigError), msg
        assert "Traceback" not in msg
        return
    ds = load(folder, config_path, extraction_date=EXTRACTION)
    rows = ds.rows.set_index("table")
    # every file: rows read = the records written; read = used + excluded
    assert rows.read.to_dict() == records(folder), (rows.read.to_dict(), records(folder))
    assert (rows.read == rows.used + rows.excluded).all()
    if case.outcome == "excluded":
        for text in case.expect:
            f = finding(ds, text)
            assert (f.table == case.table).all()
            if case.rows is not None:
                assert int(f.rows.sum()) == case.rows, f
    else:
        assert not ds.exclusions.rows.sum(), ds.exclusions
    if case.data_end:
        assert ds.data_end == BASE_END
    if case.check:
        assert case.check(ds) is not False


def test_corpus_is_large_and_covers_every_outcome():
    assert len(CASES) >= 60 and len({c.id for c in CASES}) == len(CASES)
    assert {c.outcome for c in CASES} == {"error", "excluded", "accepted"}


def test_unchanged_company_loads_whole(tmp_path):
    company(tmp_path)
    ds = load(tmp_path, extraction_date=EXTRACTION)
    assert ds.rows.set_index("table").read.to_dict() == records(tmp_path)
    assert ds.exclusions.empty and ds.data_end == BASE_END
    assert ds.exit_interviews.account_id.tolist() == ["A2", "A3", "A5"]


def test_default_extraction_date_is_today_unless_the_clock_is_before_the_data(tmp_path, monkeypatch):
    company(tmp_path)
    with_rows("events", [["A1", "2031-01-01 00:00:00", "login", "U1"]])(tmp_path)
    ds = load(tmp_path)  # today: the 2031 event is in the future
    assert ds.extraction_date == pd.Timestamp.now(tz="UTC").tz_localize(None).normalize()
    assert finding(ds, "ts after the extraction date").rows.sum() == 1 and ds.data_end == BASE_END
    # a computer clock set before the data: the data's own end, without the isolated 2031 event
    real = pd.Timestamp.now

    def clock(tz=None):
        return real(tz=tz).replace(year=2024) if tz else real().replace(year=2024)

    monkeypatch.setattr(pd.Timestamp, "now", clock)
    ds = load(tmp_path)
    assert ds.extraction_date == BASE_END and ds.data_end == BASE_END
    assert finding(ds, "ts after the extraction date (2025-12-30)").rows.sum() == 1
    assert len(finding(ds, "the computer's date (2024-"))


def test_extraction_date_caps_data_end(tmp_path):
    company(tmp_path)
    ds = load(tmp_path, extraction_date="2025-11-30")
    assert ds.data_end == pd.Timestamp("2025-10-20")  # A3's churn: the 2025-12-30 event is excluded
    assert finding(ds, "ts after the extraction date (2025-11-30)").rows.sum() == 1


# --------------------------------------------------------------------------- through the command line

CLI_CASES = {
    "cp1252": (edit("accounts", lambda h, r: r[0].__setitem__(6, "Café"), encoding="cp1252"), "accounts.csv"),
    "folder": (directory("events"), "is a folder"),
    "corrupt-parquet": (lambda f: (f / "users.csv").rename(f / "users.parquet"), "users.parquet"),
    "header-only": (raw("accounts", ACC_HEADER + "\n", 0), "no rows"),
    "stray-quote": (stray_quote_near_end, "line 6"),
    "missing-data-folder": (lambda f: None, "does not exist"),
}


@pytest.mark.parametrize("name", CLI_CASES)
def test_cli_exits_2_without_traceback(name, tmp_path, capsys):
    mutate, text = CLI_CASES[name]
    company(tmp_path)
    mutate(tmp_path)
    data = tmp_path / "nowhere" if name == "missing-data-folder" else tmp_path
    assert cli.main(["validate", "--data", str(data)]) == 2
    err = capsys.readouterr().err
    assert text in err and "Traceback" not in err


@pytest.mark.parametrize("quarter", ["2026-Q5", "2026Q5", "Q3", "abc", "2026Q0"])
def test_cli_rejects_malformed_quarter(quarter, tmp_path, capsys):
    company(tmp_path)
    assert cli.main(["review", "--data", str(tmp_path), "--quarter", quarter, "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert f"--quarter {quarter!r} is not a quarter" in err and "2026Q3" in err and "Traceback" not in err
    assert not (tmp_path / "r").exists()


def test_cli_review_with_bad_data_exits_2_before_any_notebook(tmp_path, capsys):
    company(tmp_path)
    raw("accounts", accounts_text().replace("Retail,80,3", "Retail,80,3,x"), 6)(tmp_path)
    assert cli.main(["review", "--data", str(tmp_path), "--out", str(tmp_path / "r"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "line 3 has 11" in err and "Traceback" not in err and not (tmp_path / "r" / "index.html").exists()


def test_cli_rejects_unknown_notebook(tmp_path, capsys):
    company(tmp_path)
    assert cli.main(["review", "--data", str(tmp_path), "--only", "10-attrtion", "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert "--only 10-attrtion: no such notebook" in err and "10-attrition" in err and "Traceback" not in err


def test_cli_bad_config_exits_2(tmp_path, capsys):
    company(tmp_path)
    config(tmp_path, "activity:\n  min_count: two\n")
    assert cli.main(["validate", "--data", str(tmp_path), "--config", str(tmp_path / "churnlab.yaml")]) == 2
    err = capsys.readouterr().err
    assert "min_count" in err and "Traceback" not in err


def test_cli_validate_prints_notes(tmp_path, capsys):
    company(tmp_path)
    write(tmp_path, "users", text="", n=0)
    assert cli.main(["validate", "--data", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "users (users.csv): note: is empty (0 bytes): treated as absent" in out
