"""Tests of the synthetic sample company: contract, determinism and the planted effects."""
from __future__ import annotations

import filecmp

import duckdb
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from churnlab.sample import EVENT_NAMES, generate

END = pd.Timestamp("2026-09-30")

COLUMNS = {
    "accounts": ["account_id", "signup_date", "churn_date", "cancel_date", "plan", "contract",
                 "segment", "industry", "region", "acquisition_channel", "employees", "seats",
                 "mrr", "icp_fit"],
    "subscriptions": ["account_id", "month", "mrr", "seats"],
    "users": ["user_id", "account_id", "created_at", "deactivated_at", "role"],
    "events": ["account_id", "ts", "event", "user_id", "value"],
    "exit_interviews": ["account_id", "invited_at", "completed_at", "format", "primary_reason",
                        "secondary_reason", "competitor", "would_return", "recommend_score",
                        "liked", "verbatim", "language"],
    "roadmap": ["item", "secondary_reason", "shipped_at"],
}
FILES = ["accounts.csv", "subscriptions.parquet", "users.parquet", "events.parquet",
         "exit_interviews.csv", "roadmap.csv", "truth/accounts.csv", "truth/verbatims.csv",
         "truth/data_quality.csv"]
SUCCESS_FILES = ["health_scores.csv", "support_tickets.csv", "nps_responses.csv", "touchpoints.csv",
                 "truth/success.csv"]
SECONDARY = {"missing_feature", "performance", "integration_gap", "ux", "too_expensive",
             "budget_cut", "low_roi", "slow_setup", "low_adoption", "training", "slow_response",
             "unresolved_issue", "account_management", "better_features", "better_price",
             "better_service", "better_fit", "stack_consolidation", "in_house_build",
             "acquisition", "shutdown", "reorganisation", "payment_failure", "other"}
PRIMARY = {"product_gap", "price_budget", "poor_onboarding", "service_support",
           "competitive_loss", "integration_stack", "company_change", "involuntary", "other"}


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    out = tmp_path_factory.mktemp("sample")
    counts = generate(out)
    return out, counts


@pytest.fixture(scope="module")
def accounts(sample):
    out, _ = sample
    return pd.read_csv(out / "accounts.csv", parse_dates=["signup_date", "churn_date",
                                                          "cancel_date"])


@pytest.fixture(scope="module")
def truth(sample):
    out, _ = sample
    return pd.read_csv(out / "truth" / "accounts.csv")


@pytest.fixture(scope="module")
def interviews(sample):
    out, _ = sample
    ei = pd.read_csv(out / "exit_interviews.csv", keep_default_na=False, dtype=str)
    ei["quarter"] = pd.PeriodIndex(pd.to_datetime(ei["invited_at"]), freq="Q").astype(str)
    return ei


@pytest.fixture(scope="module")
def clean_accounts(accounts, truth):
    """Accounts without the planted churn-before-signup row."""
    bad = truth.loc[truth["dq_churn_before_signup"], "account_id"]
    return accounts[~accounts["account_id"].isin(bad)]


# -- contract and determinism ------------------------------------------------------------------

def test_same_seed_gives_identical_bytes(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    ca = generate(a, n_accounts=300)
    cb = generate(b, n_accounts=300)
    assert ca == cb
    for f in FILES + SUCCESS_FILES:
        assert filecmp.cmp(a / f, b / f, shallow=False), f


def test_customer_success_tables_are_new_files_only(tmp_path):
    """The customer-success tables use their own random streams: every other file is the same bytes as
    a company generated without them, but for the users' roles, where some members and viewers are
    champions (effect 12: who leaves and when is unchanged)."""
    from churnlab.sample import _write_company

    generate(tmp_path / "a", n_accounts=300, events=False)
    _write_company(tmp_path / "b", seed=7, n_accounts=300, start="2023-01-01", end="2026-09-30", events=False,
                   success=False)
    for f in FILES:
        if f not in ("events.parquet", "users.parquet"):
            assert filecmp.cmp(tmp_path / "a" / f, tmp_path / "b" / f, shallow=False), f
    ua, ub = (pd.read_parquet(tmp_path / x / "users.parquet") for x in "ab")
    pd.testing.assert_frame_equal(ua.drop(columns="role"), ub.drop(columns="role"))
    changed = ua["role"] != ub["role"]
    assert changed.any() and (ua.loc[changed, "role"] == "champion").all()
    assert ub["role"].isin(["admin", "member", "viewer"]).all()
    assert (ub.loc[changed, "role"] != "admin").all()
    for f in SUCCESS_FILES:
        assert (tmp_path / "a" / f).exists() and not (tmp_path / "b" / f).exists(), f


def test_other_seed_differs_and_events_flag_keeps_other_tables(tmp_path):
    generate(tmp_path / "a", n_accounts=300)
    generate(tmp_path / "b", n_accounts=300, seed=8)
    counts = generate(tmp_path / "c", n_accounts=300, events=False)
    assert not filecmp.cmp(tmp_path / "a" / "accounts.csv", tmp_path / "b" / "accounts.csv",
                           shallow=False)
    assert "events" not in counts
    assert not (tmp_path / "c" / "events.parquet").exists()
    for f in FILES:
        if f not in ("events.parquet", "truth/data_quality.csv"):
            assert filecmp.cmp(tmp_path / "a" / f, tmp_path / "c" / f, shallow=False), f
    dq = pd.read_csv(tmp_path / "c" / "truth" / "data_quality.csv")
    assert "events" not in set(dq["table"])


def test_columns_follow_the_contract(sample):
    out, _ = sample
    for table, cols in COLUMNS.items():
        if table in ("accounts", "exit_interviews", "roadmap"):
            got = list(pd.read_csv(out / f"{table}.csv", nrows=1).columns)
        else:
            got = pq.read_schema(out / f"{table}.parquet").names
        assert got == cols, table


def test_parquet_types(sample):
    out, _ = sample
    ev = pq.read_schema(out / "events.parquet")
    assert str(ev.field("ts").type) == "timestamp[us, tz=UTC]"
    assert str(ev.field("value").type) == "double"
    subs = pq.read_schema(out / "subscriptions.parquet")
    assert str(subs.field("month").type) == "date32[day]"
    assert str(subs.field("seats").type) == "int64"
    assert str(subs.field("mrr").type) == "double"


def test_row_counts(sample):
    out, counts = sample
    assert counts["accounts"] == 3000
    assert 35_000 <= counts["subscriptions"] <= 60_000
    assert 60_000 <= counts["users"] <= 150_000
    assert 3_000_000 <= counts["events"] <= 6_000_000
    assert 500 <= counts["exit_interviews"] <= 1_100
    assert 7 <= counts["roadmap"] <= 10
    assert pq.read_metadata(out / "events.parquet").num_rows == counts["events"]


def test_account_values(accounts):
    a = accounts
    assert a["account_id"].iloc[0] == "A00001" and a["account_id"].is_unique
    assert set(a["segment"]) == {"SMB", "Mid-Market", "Enterprise"}
    share = a["segment"].value_counts(normalize=True)
    assert abs(share["SMB"] - 0.6) < 0.04 and abs(share["Enterprise"] - 0.1) < 0.03
    assert abs((a["region"] == "Japan").mean() - 0.12) < 0.03
    assert set(a["contract"]) == {"monthly", "annual"}
    assert set(a["plan"]) == {"Starter", "Growth", "Scale"}
    assert set(a["icp_fit"]) == {True, False}
    assert a["signup_date"].min() >= pd.Timestamp("2023-01-01") and a["signup_date"].max() <= END
    assert a["churn_date"].max() <= END
    price = a["plan"].map({"Starter": 15.0, "Growth": 35.0, "Scale": 60.0})
    assert np.allclose(a["mrr"], a["seats"] * price)
    # growing signups
    per_year = a["signup_date"].dt.year.value_counts()
    assert per_year[2025] > per_year[2023]


def test_nothing_after_the_data_end(sample):
    out, _ = sample
    con = duckdb.connect()
    assert con.sql(f"select max(ts) from '{out}/events.parquet'").fetchone()[0].date() <= END.date()
    assert con.sql(f"select max(month) from '{out}/subscriptions.parquet'").fetchone()[0] \
        <= END.date()
    assert set(con.sql(f"select distinct event from '{out}/events.parquet'").df()["event"]) \
        == set(EVENT_NAMES)


# -- planted effects ---------------------------------------------------------------------------

def test_smb_and_monthly_churn_more(clean_accounts):
    a = clean_accounts.assign(churned=clean_accounts["churn_date"].notna())
    by_seg = a.groupby("segment")["churned"].mean()
    assert by_seg["SMB"] > by_seg["Mid-Market"] > by_seg["Enterprise"]
    by_contract = a.groupby("contract")["churned"].mean()
    assert by_contract["monthly"] > 1.5 * by_contract["annual"]
    by_icp = a.groupby("icp_fit")["churned"].mean()
    assert by_icp[False] > 1.2 * by_icp[True]


def test_annual_accounts_leave_only_at_renewal(clean_accounts):
    a = clean_accounts[(clean_accounts["contract"] == "annual")
                       & clean_accounts["churn_date"].notna()]
    months = ((a["churn_date"].dt.year - a["signup_date"].dt.year) * 12
              + a["churn_date"].dt.month - a["signup_date"].dt.month)
    assert len(a) > 50
    assert set(months) <= {12, 24, 36}


def test_onboarding_redesign_lowers_early_churn(clean_accounts):
    a = clean_accounts[(clean_accounts["contract"] == "monthly")
                       & (clean_accounts["signup_date"] <= END - pd.Timedelta(days=92))]
    early = a["churn_date"].notna() & ((a["churn_date"] - a["signup_date"]).dt.days < 92)
    post = a["signup_date"] >= pd.Timestamp("2025-01-01")
    assert early[post].mean() < 0.6 * early[~post].mean()


def test_heavy_workflow_users_churn_less(sample, accounts):
    out, _ = sample
    wf = duckdb.connect().sql(
        f"""select account_id, count(*) as n from '{out}/events.parquet'
            where event = 'workflow_run' and ts >= '2025-10-01' and ts < '2026-01-01'
            group by 1""").df()
    a = accounts[(accounts["signup_date"] < pd.Timestamp("2025-10-01"))
                 & (accounts["churn_date"].isna()
                    | (accounts["churn_date"] >= pd.Timestamp("2026-01-01")))]
    a = a.merge(wf, how="left").fillna({"n": 0})
    a["quartile"] = pd.qcut(a["n"].rank(method="first"), 4, labels=[1, 2, 3, 4])
    churn = (a["churn_date"].notna() & (a["churn_date"] < pd.Timestamp("2026-07-01")))
    rate = churn.groupby(a["quartile"], observed=True).mean()
    assert rate[4] < 0.6 * rate[1]


def test_users_and_activity_decline_before_churn(sample, clean_accounts):
    out, _ = sample
    ch = clean_accounts[clean_accounts["churn_date"].notna()
                        & (clean_accounts["churn_date"] - clean_accounts["signup_date"]
                           > pd.Timedelta(days=400))][["account_id", "churn_date"]]
    con = duckdb.connect()
    con.register("ch", ch)
    x = con.sql(f"""select datediff('month', date_trunc('month', e.ts::date),
                                   date_trunc('month', ch.churn_date)) as k, count(*) as n
                    from '{out}/events.parquet' e join ch using (account_id)
                    where e.event <> 'login' group by 1""").df().set_index("k")["n"]
    assert x[1] < 0.7 * x[10]
    users = pd.read_parquet(out / "users.parquet").merge(ch)

    def active(months):
        t = (users["churn_date"] - pd.DateOffset(months=months)).dt.tz_localize("UTC")
        return ((users["created_at"] <= t)
                & (users["deactivated_at"].isna() | (users["deactivated_at"] > t))).sum()

    assert active(1) < 0.85 * active(9)


def test_revenue_moves_and_stops_at_churn(sample, clean_accounts):
    out, _ = sample
    s = pd.read_parquet(out / "subscriptions.parquet").sort_values(["account_id", "month"])
    prev = s.groupby("account_id")["mrr"].shift()
    assert (s["mrr"] > prev).sum() > 500 and (s["mrr"] < prev).sum() > 500
    m = s.merge(clean_accounts[["account_id", "churn_date"]])
    churn_month = m["churn_date"].dt.to_period("M").dt.start_time.dt.date
    assert not (m["churn_date"].notna() & (m["month"] >= churn_month)).any()


def test_lapses_have_no_rows_and_no_events(sample, truth):
    out, _ = sample
    lapsed = truth[truth["lapse"]]
    assert 0.02 <= len(lapsed) / len(truth) <= 0.04
    s = pd.read_parquet(out / "subscriptions.parquet")
    s["month"] = pd.to_datetime(s["month"])
    gap = s.sort_values(["account_id", "month"]).groupby("account_id")["month"].diff()
    gapped = set(s.loc[gap > pd.Timedelta(days=32), "account_id"])
    assert gapped == set(lapsed["account_id"])
    n = duckdb.connect().sql(
        f"""select count(*) from '{out}/events.parquet' e
            join (select account_id, lapse_start_month::date as m, lapse_months as l
                  from '{out}/truth/accounts.csv' where lapse) t using (account_id)
            where e.ts::date >= t.m and e.ts::date < t.m + to_months(t.l)""").fetchone()[0]
    assert n == 0


def test_cancel_dates(clean_accounts):
    a = clean_accounts
    lead = (a["churn_date"] - a["cancel_date"]).dt.days.dropna()
    assert lead.between(0, 60).all()
    assert a["churn_date"].notna().sum() == len(lead)
    pending = a["cancel_date"].notna() & a["churn_date"].isna()
    assert 3 <= pending.sum() <= 60


def test_exit_interviews(interviews, accounts):
    ei = interviews
    done = ei[ei["completed_at"] != ""]
    assert 0.4 <= len(done) / len(ei) <= 0.6
    assert set(ei["format"]) == {"survey", "email", "call", "video"}
    assert set(done["primary_reason"]) - {""} <= PRIMARY
    assert set(done["secondary_reason"]) - {""} <= SECONDARY
    assert set(done["would_return"]) == {"yes", "maybe", "no"}
    assert set(done["language"]) == {"en", "ja", ""}
    assert (ei.loc[ei["completed_at"] == "", "verbatim"] == "").all()
    # invited 0-7 days after the cancellation request
    m = ei.merge(accounts[["account_id", "cancel_date"]])
    lag = (pd.to_datetime(m["invited_at"]) - m["cancel_date"]).dt.days
    assert lag.between(0, 7).mean() > 0.99
    # blank reasons with a verbatim exist, but only a few
    blank = done[(done["primary_reason"] == "") & (done["verbatim"] != "")]
    assert 1 <= len(blank) <= 20
    # Enterprise answers more often
    seg = ei.merge(accounts[["account_id", "segment"]])
    rate = (seg["completed_at"] != "").groupby(seg["segment"]).mean()
    assert rate["Enterprise"] > rate["SMB"]


def test_integration_gap_share_rises(interviews):
    done = interviews[(interviews["completed_at"] != "") & (interviews["primary_reason"] != "")]
    ig = done["secondary_reason"] == "integration_gap"
    year = done["quarter"].str[:4]
    assert ig[year == "2026"].mean() > ig[year == "2024"].mean() + 0.07
    assert ig[done["quarter"] == "2026Q3"].mean() > 0.15


def test_northwind_jump(interviews):
    nw = interviews["competitor"].str.lower().str.startswith("northwind")
    q = interviews.loc[nw, "quarter"]
    jump = q.isin(["2026Q2", "2026Q3"]).sum()
    assert jump >= 8
    assert jump >= 4 * (~q.isin(["2026Q2", "2026Q3"])).sum()
    assert len(set(interviews.loc[nw, "competitor"])) >= 3


def test_verbatims_languages_tone_and_personal_data(sample, interviews, accounts):
    out, _ = sample
    vt = pd.read_csv(out / "truth" / "verbatims.csv", keep_default_na=False)
    done = interviews[interviews["verbatim"] != ""].merge(accounts[["account_id", "region"]])
    ja = done["region"] == "Japan"
    assert done.loc[ja, "verbatim"].str.contains("[ぁ-んァ-ン]").all()
    assert not done.loc[~ja, "verbatim"].str.contains("[ぁ-んァ-ン]").any()
    assert 0.05 <= (done["language"] == "").mean() <= 0.16
    assert done["verbatim"].nunique() > 0.9 * len(done)
    assert len(vt) == len(done) - 2                       # minus the two duplicated rows
    share = vt["sentiment"].value_counts(normalize=True)
    assert share["negative"] > 0.5 and share["neutral"] > 0.1 and 0.03 < share["positive"] < 0.2
    frustrated = vt[vt["tone"] == "frustrated"]["would_return"].value_counts(normalize=True)
    assert frustrated["no"] > 0.6
    pii = vt["has_pii"].mean()
    assert 0.05 <= pii <= 0.16
    text = "\n".join(done["verbatim"])
    assert "@" in text and "https://" in text


def test_roadmap(sample):
    out, _ = sample
    r = pd.read_csv(out / "roadmap.csv", keep_default_na=False)
    assert set(r["secondary_reason"]) <= SECONDARY
    assert (r["shipped_at"] == "").sum() >= 2
    row = r[r["item"] == "Salesforce connector"].iloc[0]
    assert row["secondary_reason"] == "integration_gap" and row["shipped_at"] == "2026-05-15"


def test_planted_data_quality_problems(sample, accounts, interviews):
    out, _ = sample
    dq = pd.read_csv(out / "truth" / "data_quality.csv")
    assert dq["rows"].sum() == 55
    assert (accounts["churn_date"] < accounts["signup_date"]).sum() == 1
    assert interviews.drop(columns="quarter").duplicated().sum() == 2
    scores = pd.to_numeric(interviews["recommend_score"], errors="coerce")
    assert (scores > 10).sum() == 1
    s = pd.read_parquet(out / "subscriptions.parquet")
    assert (s["mrr"] < 0).sum() == 1
    n = duckdb.connect().sql(f"""select count(*) from '{out}/events.parquet'
                                 where account_id = 'TEST-0001'""").fetchone()[0]
    assert 40 <= n <= 60


def test_events_per_account_scales_events_only(tmp_path):
    from churnlab import cli

    base = generate(tmp_path / "a", n_accounts=300)
    assert cli.main(["sample", "--out", str(tmp_path / "b"), "--accounts", "300",
                     "--events-per-account", "260"]) == 0
    fewer = pq.ParquetFile(tmp_path / "b" / "events.parquet").metadata.num_rows
    # a quarter of the default rates: about a quarter of the events (Poisson draws), other tables unchanged
    assert 0.2 < fewer / base["events"] < 0.3
    for f in FILES:
        if f not in ("events.parquet",):
            assert filecmp.cmp(tmp_path / "a" / f, tmp_path / "b" / f, shallow=False), f
    with pytest.raises(ValueError, match="events_per_account"):
        generate(tmp_path / "c", n_accounts=300, events_per_account=0)
