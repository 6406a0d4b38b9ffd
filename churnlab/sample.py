"""The deterministic synthetic sample company.

Every notebook, analysis and test of churnlab runs on one fictional SaaS business: about 3,000
customer accounts signing up between 2023-01-01 and 2026-09-30, with their monthly subscriptions,
users, product events, exit interviews and the product roadmap. The tables follow the canonical
data contract exactly, and a small set of effects is *planted* in them with known magnitudes so
that each analysis has something real to find (see ``docs/sample-data.md``).

The generator is fully vectorised (numpy) and deterministic: the same seed and arguments give
byte-identical files. Events are generated and written in chunks of accounts, so the sample scales
to ``n_accounts=100_000`` (about a hundred million events) without holding them in memory.

A ``truth/`` sub-folder holds the latent traits behind the planted effects (per-account usage
trait, hazard multipliers, lapses, true churn reasons, intended verbatim sentiment and tone, planted
data-quality problems). It is not part of the data contract and loaders ignore it; tests use it to
check that analyses recover what was planted.

``generate(out, shape=NAME)`` writes instead one of the *zoo* companies (:data:`SHAPES`): small
companies unlike the sample (no churn dates, event-only purchases, no segments, blank categories,
Japanese labels, a first year, zero churn, ...), derived from a small sample-like company whose
names and dates are all its own, so that no report of a zoo company can show the sample's.
"""
from __future__ import annotations

import math
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

__all__ = ["generate", "SHAPES", "EVENT_NAMES", "VALUE_EVENTS", "REDESIGN_DATE"]

# --------------------------------------------------------------------------------------------
# Parameters of the company. Every planted magnitude lives here and is documented in
# docs/sample-data.md; change both together.
# --------------------------------------------------------------------------------------------

SEGMENTS = ["SMB", "Mid-Market", "Enterprise"]
SEGMENT_SHARE = [0.60, 0.30, 0.10]
SEAT_RANGE = [(2, 10), (10, 60), (50, 300)]              # initial seats, log-uniform
PLANS = ["Starter", "Growth", "Scale"]
PLAN_PRICE = np.array([15.0, 35.0, 60.0])               # per seat per month
PLAN_MIX = np.array([[0.65, 0.30, 0.05],                # rows: segment
                     [0.20, 0.60, 0.20],
                     [0.05, 0.35, 0.60]])
ANNUAL_SHARE = np.array([0.25, 0.55, 0.85])             # share of annual contracts by segment
INDUSTRIES = ["Software", "Retail", "Healthcare", "Financial Services", "Manufacturing",
              "Education", "Media"]
INDUSTRY_SHARE = [0.24, 0.14, 0.12, 0.13, 0.13, 0.12, 0.12]
INDUSTRY_ICP = np.array([0.82, 0.60, 0.70, 0.80, 0.62, 0.55, 0.65])  # P(icp_fit) by industry
REGIONS = ["North America", "EMEA", "APAC", "Japan", "LATAM"]
REGION_SHARE = [0.40, 0.26, 0.12, 0.12, 0.10]
REGION_UTC_OFFSET = np.array([-5.0, 1.0, 8.0, 9.0, -3.0])  # hours, for time of day of events
CHANNELS = ["organic", "paid_search", "partner", "outbound_sales", "referral"]
CHANNEL_MIX = np.array([[0.35, 0.30, 0.10, 0.05, 0.20],
                        [0.20, 0.15, 0.20, 0.30, 0.15],
                        [0.05, 0.05, 0.25, 0.55, 0.10]])
INTEGRATION_SHARE = np.array([0.45, 0.65, 0.85])        # accounts with a live integration

# Churn hazard (effect 1-4). Monthly hazard of a monthly-contract account:
#   BASE_HAZARD[segment] x ICP_MULT[icp_fit] x USAGE_MULT[usage quartile] x early multiplier
BASE_HAZARD = np.array([0.030, 0.015, 0.007])
ICP_MULT = {True: 0.85, False: 1.36}                     # ratio 1.6, mean ~1 over the mix
USAGE_MULT = np.array([1.5, 1.1, 0.85, 0.5])             # usage-trait quartile 1 (low) .. 4 (high)
EARLY_MONTHS = 3                                         # tenure months 0, 1, 2
EARLY_MULT = 1.5                                         # early hazard before the redesign
REDESIGN_DATE = "2025-01-01"                             # onboarding redesign
REDESIGN_MULT = 0.4                                      # early hazard x0.4 for later signups
ANNUAL_FACTOR = 0.6                                      # annual accounts: 1 - prod(1 - 0.6 h)
DECLINE_MONTHS = 6                                       # pre-churn decline window (effect 5)
DECLINE_FLOOR = 0.3                                      # activity in the last month of service
DECLINE_SHARE = 0.9                                      # voluntary churners that decline first
LAPSE_SHARE = 0.03

EVENT_NAMES = ["login", "report_created", "dashboard_shared", "workflow_run",
               "integration_synced", "export_created"]
VALUE_EVENTS = EVENT_NAMES[1:]

# Exit-interview reasons.
PRIMARY = ["product_gap", "price_budget", "poor_onboarding", "service_support",
           "competitive_loss", "integration_stack", "company_change", "involuntary", "other"]
SECONDARY = {
    "product_gap": (["missing_feature", "performance", "ux"], [0.5, 0.25, 0.25]),
    "price_budget": (["too_expensive", "budget_cut", "low_roi"], [0.45, 0.35, 0.20]),
    "poor_onboarding": (["slow_setup", "low_adoption", "training"], [0.35, 0.45, 0.20]),
    "service_support": (["slow_response", "unresolved_issue", "account_management"],
                        [0.45, 0.35, 0.20]),
    "competitive_loss": (["better_features", "better_price", "better_service", "better_fit"],
                         [0.35, 0.30, 0.15, 0.20]),
    "integration_stack": (["stack_consolidation", "in_house_build"], [0.6, 0.4]),
    "company_change": (["acquisition", "shutdown", "reorganisation"], [0.4, 0.25, 0.35]),
    "involuntary": (["payment_failure"], [1.0]),
    "other": (["other"], [1.0]),
}
# Primary-reason mix (other than product_gap/integration_gap) by segment.
REASON_MIX = np.array([
    # pg    price  onb   serv  comp  stack chg   invol other
    [0.08, 0.36, 0.12, 0.08, 0.08, 0.02, 0.08, 0.16, 0.02],   # SMB
    [0.20, 0.18, 0.10, 0.12, 0.14, 0.09, 0.08, 0.06, 0.03],   # Mid-Market
    [0.26, 0.12, 0.06, 0.12, 0.16, 0.14, 0.10, 0.02, 0.02],   # Enterprise
])
# Planted trend: P(product_gap / integration_gap) by segment, flat to 2024-12-31, then rising
# linearly to its 2026Q3 level.
INTEGRATION_GAP_FROM = np.array([0.04, 0.10, 0.12])
INTEGRATION_GAP_TO = np.array([0.28, 0.60, 0.65])
TREND_START, TREND_END = "2025-01-01", "2026-09-30"
# Planted competitor jump: from 2026-04-01 competitive losses are 3x as likely and mostly to
# Northwind.
JUMP_START = "2026-04-01"
COMPETITIVE_BOOST = 3.0
COMPETITORS = ["Northwind", "Acme Analytics", "Globex", "Initech"]
COMPETITOR_MIX_BEFORE = [0.10, 0.40, 0.30, 0.20]
COMPETITOR_MIX_JUMP = [0.75, 0.10, 0.08, 0.07]
NORTHWIND_SPELLINGS = ["Northwind", "northwind", "NorthWind Analytics", "Northwind Inc."]
NORTHWIND_SPELLING_MIX = [0.55, 0.15, 0.15, 0.15]

FORMATS = ["survey", "email", "call", "video"]
FORMAT_MIX = np.array([[0.60, 0.30, 0.07, 0.03],
                       [0.45, 0.25, 0.18, 0.12],
                       [0.20, 0.15, 0.35, 0.30]])
COMPLETION_BASE = 0.49
COMPLETION_SEGMENT = np.array([0.0, 0.05, 0.15])
COMPLETION_FORMAT = np.array([-0.04, 0.0, 0.18, 0.15])

ROADMAP = [
    ("Onboarding redesign", "slow_setup", "2025-01-01"),
    ("Card retry and dunning e-mails", "payment_failure", "2025-06-16"),
    ("24/7 support for Enterprise", "slow_response", "2025-09-01"),
    ("Faster dashboards", "performance", "2025-11-03"),
    ("Custom report builder", "missing_feature", "2026-02-10"),
    ("Salesforce connector", "integration_gap", "2026-05-15"),
    ("Navigation redesign", "ux", ""),
    ("Usage-based pricing tier", "too_expensive", ""),
    ("Customer academy", "training", ""),
]

EVENTS_ROW_GROUP = 500_000
SMALL_ROW_GROUP = 250_000
CHUNK_ACCOUNTS = 1000
US_PER_DAY = 86_400_000_000
US_PER_S = 1_000_000
NEVER = np.iinfo(np.int64).max // 4


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------

def _rng(seed: int, stream: str, *extra: int) -> np.random.Generator:
    """An independent random stream per component, so that one part can change without moving
    the numbers of the others."""
    return np.random.default_rng([int(seed), zlib.crc32(stream.encode()), *map(int, extra)])


def _day(s: str) -> int:
    return int(np.datetime64(s, "D").astype(np.int64))


def _month_of(days: np.ndarray) -> np.ndarray:
    """Month index (months since 1970-01) of day numbers."""
    return np.asarray(days, dtype=np.int64).astype("M8[D]").astype("M8[M]").astype(np.int64)


def _month_start(mi: np.ndarray) -> np.ndarray:
    """First day (day number) of month indices."""
    return np.asarray(mi, dtype=np.int64).astype("M8[M]").astype("M8[D]").astype(np.int64)


def _add_months(days: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Same day of month ``n`` months later (clipped to the month's last day)."""
    days = np.asarray(days, dtype=np.int64)
    mi = _month_of(days)
    dom = days - _month_start(mi)
    target = mi + np.asarray(n, dtype=np.int64)
    first = _month_start(target)
    dim = _month_start(target + 1) - first
    return first + np.minimum(dom, dim - 1)


def _choice(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """Vectorised categorical draw: one category per row of ``probs``."""
    probs = np.asarray(probs, dtype=float)
    cum = np.cumsum(probs, axis=-1)
    cum /= cum[..., -1:]
    u = rng.random(probs.shape[:-1])[..., None]
    return np.minimum((u > cum).sum(axis=-1), probs.shape[-1] - 1)


def _iso(days: np.ndarray, valid: np.ndarray | None = None) -> np.ndarray:
    """ISO date strings of day numbers ('' where not valid)."""
    days = np.asarray(days, dtype=np.int64)
    if valid is None:
        valid = np.ones(days.shape, bool)
    out = np.full(days.shape, "", dtype=object)
    out[valid] = np.datetime_as_string(days[valid].astype("M8[D]"), unit="D").astype(object)
    return out


def _ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    s = pc.utf8_lpad(pc.cast(pa.array(np.asarray(numbers, dtype=np.int64)), pa.string()),
                     width=width, padding="0")
    return pc.binary_join_element_wise(pa.scalar(prefix), s, "")


def _write_csv(df: pd.DataFrame, path: Path) -> None:
    df.to_csv(path, index=False, lineterminator="\n", float_format="%.2f", encoding="utf-8")


def _write_parquet(table: pa.Table, path: Path, row_group_size: int = SMALL_ROW_GROUP) -> None:
    pq.write_table(table, path, row_group_size=row_group_size, compression="zstd",
                   use_dictionary=True, write_statistics=True)


class _RowGroupWriter:
    """Write a Parquet file in fixed-size row groups from tables arriving in arbitrary sizes."""

    def __init__(self, path: Path, schema: pa.Schema, row_group_size: int):
        self._writer = pq.ParquetWriter(path, schema, compression="zstd", use_dictionary=True)
        self._size = row_group_size
        self._pending: list[pa.Table] = []
        self._n_pending = 0
        self.rows = 0

    def write(self, table: pa.Table) -> None:
        self._pending.append(table)
        self._n_pending += table.num_rows
        self.rows += table.num_rows
        if self._n_pending >= self._size:
            merged = pa.concat_tables(self._pending).combine_chunks()
            n_full = (merged.num_rows // self._size) * self._size
            self._writer.write_table(merged.slice(0, n_full), row_group_size=self._size)
            rest = merged.slice(n_full)
            self._pending, self._n_pending = [rest], rest.num_rows

    def close(self) -> None:
        if self._n_pending:
            merged = pa.concat_tables(self._pending).combine_chunks()
            self._writer.write_table(merged, row_group_size=self._size)
        self._writer.close()


# --------------------------------------------------------------------------------------------
# Accounts, churn and seats
# --------------------------------------------------------------------------------------------

def _accounts(seed: int, n: int, start_day: int, end_day: int) -> dict:
    rng = _rng(seed, "accounts")
    ndays = end_day - start_day + 1
    # signups grow over time: density proportional to 1 + 2x on [0, 1] (3x by the end)
    u = np.sort(rng.random(n))
    x = (-1.0 + np.sqrt(1.0 + 8.0 * u)) / 2.0
    signup = start_day + np.minimum((x * ndays).astype(np.int64), ndays - 1)
    seg = rng.choice(3, size=n, p=SEGMENT_SHARE)
    lo = np.array([r[0] for r in SEAT_RANGE], float)[seg]
    hi = np.array([r[1] for r in SEAT_RANGE], float)[seg]
    seats0 = np.rint(np.exp(rng.uniform(np.log(lo), np.log(hi)))).astype(np.int64)
    plan = _choice(rng, PLAN_MIX[seg])
    annual = rng.random(n) < ANNUAL_SHARE[seg]
    industry = rng.choice(len(INDUSTRIES), size=n, p=INDUSTRY_SHARE)
    region = rng.choice(len(REGIONS), size=n, p=REGION_SHARE)
    channel = _choice(rng, CHANNEL_MIX[seg])
    icp = rng.random(n) < INDUSTRY_ICP[industry]
    employees = np.maximum(
        np.rint(seats0 * np.exp(rng.normal(np.log(6.0), 0.6, n))).astype(np.int64), seats0 + 1)
    usage = rng.normal(0.0, 1.0, n)
    quartile = np.empty(n, np.int64)
    quartile[np.argsort(usage, kind="stable")] = (np.arange(n) * 4) // n + 1
    has_integration = rng.random(n) < INTEGRATION_SHARE[seg]
    return dict(n=n, signup=signup, seg=seg, seats0=seats0, plan=plan, annual=annual,
                industry=industry, region=region, channel=channel, icp=icp,
                employees=employees, usage=usage, quartile=quartile,
                has_integration=has_integration)


def _churn(seed: int, a: dict, start_day: int, end_day: int, n_grid: int,
           hazard_scale: float = 1.0) -> None:
    """Draw each account's intended end of service (possibly after the data end); every hazard is
    multiplied by ``hazard_scale`` (0: nobody ever leaves)."""
    rng = _rng(seed, "churn")
    n = a["n"]
    redesign = _day(REDESIGN_DATE)
    icp_mult = np.where(a["icp"], ICP_MULT[True], ICP_MULT[False])
    usage_mult = USAGE_MULT[a["quartile"] - 1]
    early = np.where(a["signup"] >= redesign, EARLY_MULT * REDESIGN_MULT, EARLY_MULT)
    h = (BASE_HAZARD[a["seg"]] * icp_mult * usage_mult)[:, None] * np.ones(n_grid)
    if hazard_scale != 1.0:
        h = h * float(hazard_scale)
    h[:, :EARLY_MONTHS] *= early[:, None]
    h = np.minimum(h, 0.95)
    # monthly contracts: leave at the end of tenure month m with probability h[m]
    hit = rng.random((n, n_grid)) < h
    k_monthly = np.where(hit.any(axis=1), hit.argmax(axis=1) + 1, NEVER)
    # annual contracts: leave only at an anniversary, with the year's compounded hazard
    n_years = n_grid // 12
    year_h = 1.0 - np.prod((1.0 - ANNUAL_FACTOR * h[:, : n_years * 12]).reshape(n, n_years, 12),
                           axis=2)
    hit_y = rng.random((n, n_years)) < year_h
    k_annual = np.where(hit_y.any(axis=1), (hit_y.argmax(axis=1) + 1) * 12, NEVER)
    K = np.where(a["annual"], k_annual, k_monthly)           # months of service (intended)
    finite = K < NEVER
    churn = np.full(n, NEVER, np.int64)
    churn[finite] = _add_months(a["signup"][finite], K[finite])
    a.update(K=K, churn_intended=churn, hazard_base=BASE_HAZARD[a["seg"]], icp_mult=icp_mult,
             usage_mult=usage_mult, early_mult=early)


def _reasons(seed: int, a: dict, end_day: int) -> None:
    """True churn reason of every account that intends to leave, cancel dates, decline flags."""
    rng = _rng(seed, "reasons")
    n = a["n"]
    K, churn = a["K"], a["churn_intended"]
    finite = K < NEVER
    # cancellation notice: monthly 0-30 days, annual 14-60 days; involuntary on the day itself
    lead = np.where(a["annual"], rng.integers(14, 61, n), rng.integers(0, 31, n))
    exit_day = np.where(finite, np.maximum(churn - lead, a["signup"]), NEVER)
    # reason mix depends on segment and on when the account left
    t0, t1 = _day(TREND_START), _day(TREND_END)
    ramp = np.clip((np.minimum(exit_day, t1) - t0) / (t1 - t0), 0.0, 1.0)
    seg = a["seg"]
    p_ig = INTEGRATION_GAP_FROM[seg] + (INTEGRATION_GAP_TO[seg] - INTEGRATION_GAP_FROM[seg]) * ramp
    jump = exit_day >= _day(JUMP_START)
    mix = REASON_MIX[seg].copy()
    mix[jump, 4] *= COMPETITIVE_BOOST
    mix /= mix.sum(axis=1, keepdims=True)
    is_ig = rng.random(n) < p_ig
    primary = _choice(rng, mix)
    primary[is_ig] = 0
    secondary = np.empty(n, dtype=object)
    u = rng.random(n)
    for pi, name in enumerate(PRIMARY):
        codes, w = SECONDARY[name]
        sel = primary == pi
        idx = np.minimum((u[sel, None] > np.cumsum(w)[None, :]).sum(axis=1), len(codes) - 1)
        secondary[sel] = np.array(codes, dtype=object)[idx]
    secondary[is_ig] = "integration_gap"
    involuntary = primary == PRIMARY.index("involuntary")
    exit_day = np.where(involuntary & finite, churn, exit_day)
    # named competitor: most competitive losses, a few product-gap losses
    comp_p = np.where(primary == PRIMARY.index("competitive_loss"), 0.92,
                      np.where(primary == 0, 0.10, 0.0))
    named = rng.random(n) < comp_p
    comp_idx = np.where(jump, _choice(rng, np.tile(COMPETITOR_MIX_JUMP, (n, 1))),
                        _choice(rng, np.tile(COMPETITOR_MIX_BEFORE, (n, 1))))
    spelling = _choice(rng, np.tile(NORTHWIND_SPELLING_MIX, (n, 1)))
    competitor = np.where(comp_idx == 0, np.array(NORTHWIND_SPELLINGS, dtype=object)[spelling],
                          np.array(COMPETITORS, dtype=object)[comp_idx])
    competitor = np.where(named & finite, competitor, "")
    decline = finite & ~involuntary & (rng.random(n) < DECLINE_SHARE)
    primary_s = np.where(finite, np.array(PRIMARY, dtype=object)[primary], "")
    secondary = np.where(finite, secondary, "")
    a.update(exit_day=exit_day, primary=primary_s, secondary=secondary, competitor=competitor,
             competitor_canonical=np.where(competitor != "", np.array(COMPETITORS, dtype=object)
                                           [comp_idx], ""),
             decline=decline)


def _service(a: dict, end_day: int) -> None:
    """Months of service inside the data window."""
    end_mi = _month_of(np.array([end_day]))[0]
    a["signup_mi"] = _month_of(a["signup"])
    a["m_data"] = end_mi - a["signup_mi"] + 1                 # tenure months starting <= end
    a["churned"] = a["churn_intended"] <= end_day
    a["cancelled"] = a["exit_day"] <= end_day
    a["k_svc"] = np.where(a["churned"], a["K"], a["m_data"])  # service months in the data


def _lapses(seed: int, a: dict) -> None:
    """~3% of accounts pause for 1-2 months (no subscription rows, no events) and come back."""
    rng = _rng(seed, "lapses")
    n = a["n"]
    eligible = np.flatnonzero(~a["annual"] & (a["k_svc"] >= 8))
    n_lapse = min(int(round(LAPSE_SHARE * n)), eligible.size)
    chosen = np.sort(rng.choice(eligible, size=n_lapse, replace=False)) if n_lapse else eligible[:0]
    length = rng.integers(1, 3, n_lapse)
    hi = a["k_svc"][chosen] - 3 - length            # resume >= 3 months before end of service
    start = 2 + np.floor(rng.random(n_lapse) * (hi - 2 + 1)).astype(np.int64)
    a["lapse_start"] = np.full(n, -1, np.int64)
    a["lapse_len"] = np.zeros(n, np.int64)
    a["lapse_start"][chosen] = start
    a["lapse_len"][chosen] = length


def _seats(seed: int, a: dict, n_grid: int) -> None:
    """Seat path per tenure month: expansions, contractions, pre-churn contraction."""
    rng = _rng(seed, "seats")
    n = a["n"]
    S = np.zeros((n, n_grid), np.int64)
    S[:, 0] = a["seats0"]
    p_exp = np.minimum(0.035 * np.exp(0.35 * a["usage"]), 0.15)
    for m in range(1, n_grid):
        s = S[:, m - 1]
        to_end = a["K"] - m                                   # 1 = last month of service
        in_decline = a["decline"] & (to_end >= 1) & (to_end <= DECLINE_MONTHS)
        p_con = np.where(in_decline, 0.30, 0.025)
        r1, r2, f1, f2 = rng.random((4, n))
        grow = (r1 < p_exp) & ~in_decline
        shrink = r2 < p_con
        inc = np.maximum(1, np.rint(s * (0.05 + 0.25 * f1))).astype(np.int64)
        dec = np.maximum(1, np.rint(s * np.where(in_decline, 0.10 + 0.25 * f2,
                                                 0.05 + 0.10 * f2))).astype(np.int64)
        S[:, m] = np.maximum(1, s + grow * inc - shrink * dec)
    a["S"] = S


def _activity(a: dict, rows: np.ndarray, n_grid: int) -> np.ndarray:
    """Relative activity of accounts ``rows`` per tenure month (1 = normal)."""
    m = np.arange(n_grid)[None, :]
    act = np.ones((rows.size, n_grid))
    act[:, 0] = 0.6
    act[:, 1] = 0.85
    to_end = a["K"][rows, None] - m
    ramp = DECLINE_FLOOR + (1.0 - DECLINE_FLOOR) * np.clip((to_end - 1) / DECLINE_MONTHS, 0, 1)
    act = np.where(a["decline"][rows, None], act * ramp, act)
    cal_month = (a["signup_mi"][rows, None] + m) % 12      # 0 = January
    season = np.where(cal_month == 11, 0.85, np.where(cal_month == 7, 0.9, 1.0))
    return act * season


# --------------------------------------------------------------------------------------------
# Subscriptions
# --------------------------------------------------------------------------------------------

def _service_mask(a: dict, rows: np.ndarray, n_grid: int, with_lapse: bool) -> np.ndarray:
    m = np.arange(n_grid)[None, :]
    mask = m < a["k_svc"][rows, None]
    if with_lapse:
        ls, ll = a["lapse_start"][rows, None], a["lapse_len"][rows, None]
        mask &= ~((m >= ls) & (m < ls + ll) & (ls >= 0))
    return mask


def _subscriptions(a: dict, n_grid: int, acct_ids: pa.Array) -> pa.Table:
    rows = np.arange(a["n"])
    mask = _service_mask(a, rows, n_grid, with_lapse=True)
    ai, mi = np.nonzero(mask)
    seats = a["S"][ai, mi]
    price = PLAN_PRICE[a["plan"][ai]]
    mrr = seats * price
    month = _month_start(a["signup_mi"][ai] + mi).astype(np.int32)
    # last billed month per account -> current seats and mrr on the account row
    last = np.full(a["n"], -1, np.int64)
    last[ai] = np.arange(ai.size)                            # ai ascending: last wins
    a["seats_now"] = np.where(last >= 0, seats[np.maximum(last, 0)], a["seats0"])
    a["mrr_now"] = a["seats_now"] * PLAN_PRICE[a["plan"]]
    return pa.table({
        "account_id": acct_ids.take(pa.array(ai)),
        "month": pa.array(month, pa.date32()),
        "mrr": pa.array(mrr.astype(np.float64)),
        "seats": pa.array(seats.astype(np.int64)),
    })


# --------------------------------------------------------------------------------------------
# Users and events, chunk by chunk
# --------------------------------------------------------------------------------------------

def _windows(a: dict, rows: np.ndarray, n_grid: int, end_day: int):
    """[start, end) of each tenure month in days (clipped to signup, churn and data end)."""
    m = np.arange(n_grid)[None, :]
    first = _month_start(a["signup_mi"][rows, None] + m)
    nxt = _month_start(a["signup_mi"][rows, None] + m + 1)
    ws = np.maximum(first, a["signup"][rows, None])
    stop = np.where(a["churned"][rows], a["churn_intended"][rows], end_day + 1)
    we = np.minimum(nxt, stop[:, None])
    return ws, we, nxt - first


def _users_chunk(seed: int, a: dict, rows: np.ndarray, n_grid: int, ws: np.ndarray,
                 we: np.ndarray, ci: int, champions: bool = False) -> dict:
    """Users as seat slots: slot j is filled while seats > j (last in, first out). A slot's run of
    months is one user; long runs are sometimes split (a person leaves and is replaced)."""
    rng = _rng(seed, "users", ci)
    na = rows.size
    mask = _service_mask(a, rows, n_grid, with_lapse=False)
    S = np.where(mask, a["S"][rows], 0)
    S = np.concatenate([np.zeros((na, 1), np.int64), S, np.zeros((na, 1), np.int64)], axis=1)
    d = np.diff(S, axis=1)                                   # column t: change into month t
    # starts: slots [S[t-1], S[t]) open at month t; ends: slots [S[t], S[t-1]) close at month t
    up = np.maximum(d, 0)
    dn = np.maximum(-d, 0)
    a_up, t_up = np.nonzero(up)
    cnt = up[a_up, t_up]
    s_acc = np.repeat(a_up, cnt)
    s_t = np.repeat(t_up, cnt)
    s_j = np.repeat(S[a_up, t_up], cnt) + _ranks(cnt)
    a_dn, t_dn = np.nonzero(dn)
    cnt = dn[a_dn, t_dn]
    e_acc = np.repeat(a_dn, cnt)
    e_t = np.repeat(t_dn, cnt)
    e_j = np.repeat(S[a_dn, t_dn + 1], cnt) + _ranks(cnt)
    so = np.lexsort((s_t, s_j, s_acc))
    eo = np.lexsort((e_t, e_j, e_acc))
    acc, j, m0 = s_acc[so], s_j[so], s_t[so]
    m1 = e_t[eo]                                             # first month without the user
    # turnover: a run of >= 4 months is split with probability 0.15
    split = ((m1 - m0) >= 4) & (rng.random(acc.size) < 0.15)
    at = m0 + 1 + np.floor(rng.random(acc.size) * (m1 - m0 - 2)).astype(np.int64)
    acc = np.concatenate([acc, acc[split]])
    j = np.concatenate([j, j[split]])
    new_m0 = np.concatenate([m0, at[split]])
    new_m1 = np.concatenate([np.where(split, at, m1), m1[split]])
    m0, m1 = new_m0, new_m1
    order = np.lexsort((m0, j, acc))
    acc, j, m0, m1 = acc[order], j[order], m0[order], m1[order]
    nu = acc.size
    # timestamps: created in the first part of its first month, deactivated in the second part of
    # its last month, or at the churn date, or never (still there at the data end)
    row = rows[acc]
    ws0, we0 = ws[acc, m0], we[acc, m0]
    span0 = (we0 - ws0) * US_PER_DAY
    created = ws0 * US_PER_DAY + (rng.random(nu) * 0.45 * span0).astype(np.int64)
    last = m1 - 1
    wsl, wel = ws[acc, last], we[acc, last]
    spanl = (wel - wsl) * US_PER_DAY
    deact = wsl * US_PER_DAY + ((0.55 + 0.45 * rng.random(nu)) * spanl).astype(np.int64)
    at_churn = a["churned"][row] & (m1 == a["K"][row])
    deact = np.where(at_churn, a["churn_intended"][row] * US_PER_DAY, deact)
    still = (~a["churned"][row]) & (m1 >= a["m_data"][row])
    deact = np.where(still, -1, deact)
    # roles: slot 0 admin, slot 1 admin in accounts of >= 10 seats, else 75% member / 25% viewer
    role = np.where(rng.random(nu) < 0.75, 1, 2)
    role = np.where((j == 0) | ((j == 1) & (a["seats0"][row] >= 10)), 0, role)
    planted = np.zeros(0, np.int64)
    if champions:
        role, planted = _champions(seed, a, row, deact, at_churn, role, ci)
    return dict(acc=acc, j=j, m0=m0, m1=m1, created=created, deact=deact, role=role,
                champion_left=planted)


def _champions(seed: int, a: dict, row: np.ndarray, deact: np.ndarray, at_churn: np.ndarray,
               role: np.ndarray, ci: int) -> tuple[np.ndarray, np.ndarray]:
    """Champions (role 3) among the members and viewers (effect 12): ``CHAMPION_P`` of them at random,
    and, in ``CHAMPION_LEAVE_SHARE`` of the voluntary churners, one of the users who left
    ``CHAMPION_LEAVE_DAYS`` before the account's churn. Only the role changes: who leaves and when is
    the users' own seat history, so every other column and table stays as it was. Returns the roles
    and the accounts (rows of ``a``) whose champion left before they churned."""
    rng = _rng(seed, "champions", ci)
    nu = role.size
    role = np.where((role != 0) & (rng.random(nu) < CHAMPION_P), 3, role)
    voluntary = (a["K"][row] < NEVER) & (a["primary"][row] != "involuntary")
    gap = a["churn_intended"][row] - deact // US_PER_DAY          # days from leaving to churn
    cand = voluntary & (deact >= 0) & ~at_churn & (role != 0) & (gap >= CHAMPION_LEAVE_DAYS[0]) \
        & (gap <= CHAMPION_LEAVE_DAYS[1])
    pick = rng.random(nu)
    idx = np.flatnonzero(cand)
    planted = np.zeros(0, np.int64)
    if idx.size:
        # one random candidate per account (the smallest draw), in a share of the accounts
        first = idx[np.lexsort((pick[idx], row[idx]))]
        first = first[np.r_[True, row[first][1:] != row[first][:-1]]]
        plant = rng.random(a["n"]) < CHAMPION_LEAVE_SHARE
        first = first[plant[row[first]]]
        role[first] = 3
        planted = row[first]
    return role, planted


def _ranks(cnt: np.ndarray) -> np.ndarray:
    """0..c-1 for each count c, concatenated."""
    total = int(cnt.sum())
    if total == 0:
        return np.zeros(0, np.int64)
    starts = np.repeat(np.cumsum(cnt) - cnt, cnt)
    return np.arange(total) - starts


def _events_chunk(seed: int, a: dict, rows: np.ndarray, n_grid: int, ws, we, dim,
                  users: dict, run_ids: np.ndarray, ci: int, acct_ids: pa.Array,
                  events_scale: float = 1.0) -> pa.Table:
    rng = _rng(seed, "events", ci)
    mask = _service_mask(a, rows, n_grid, with_lapse=True)
    act = _activity(a, rows, n_grid)
    S = a["S"][rows]
    ai, mi = np.nonzero(mask)
    U = S[ai, mi].astype(float)
    ac = act[ai, mi]
    frac = (we[ai, mi] - ws[ai, mi]) / dim[ai, mi]
    r = rows[ai]
    lam = np.stack([
        1.4 * U * np.sqrt(ac),                                           # login
        0.30 * U * ac,                                                   # report_created
        0.07 * U * ac,                                                   # dashboard_shared
        2.5 * np.exp(a["usage"][r]) * U ** 0.25 * ac,                    # workflow_run
        12.0 * a["has_integration"][r] * ac ** 0.3,                      # integration_synced
        0.09 * U * ac,                                                   # export_created
    ], axis=1) * frac[:, None]
    if events_scale != 1.0:
        lam = lam * events_scale
    counts = rng.poisson(lam).ravel()
    flat = np.repeat(np.arange(counts.size), counts)
    cell = flat // len(EVENT_NAMES)
    etype = flat % len(EVENT_NAMES)
    ne = cell.size
    la, lm = ai[cell], mi[cell]
    # time: a day in the window (weekends mostly redrawn), local working hours -> UTC
    w0, w1 = ws[la, lm], we[la, lm]
    nd = w1 - w0
    day = w0 + np.floor(rng.random(ne) * nd).astype(np.int64)
    weekend = ((day + 3) % 7) >= 5                                     # 1970-01-01 was a Thursday
    redraw = weekend & (rng.random(ne) < 0.8)
    day = np.where(redraw, w0 + np.floor(rng.random(ne) * nd).astype(np.int64), day)
    local_hour = np.clip(rng.normal(13.5, 2.6, ne), 0.0, 23.99)
    hour = local_hour - REGION_UTC_OFFSET[a["region"][rows[la]]]
    ts = day * US_PER_DAY + (hour * 3600 * US_PER_S).astype(np.int64)
    lo_ts, hi_ts = w0 * US_PER_DAY, w1 * US_PER_DAY - US_PER_S
    ts = np.clip(ts, lo_ts, hi_ts)
    # user: a filled seat slot of that month, skewed to the first slots (power users)
    n_slots = S[la, lm]
    j = np.floor(n_slots * rng.random(ne) ** 1.5).astype(np.int64)
    key_mult = int(users["j"].max() + 1) if users["j"].size else 1
    run_key = (users["acc"] * key_mult + users["j"]) * n_grid + users["m0"]
    ev_key = (la * key_mult + j) * n_grid + lm
    uidx = np.searchsorted(run_key, ev_key, side="right") - 1
    has_user = (etype != 4) & ~((etype == 3) & (rng.random(ne) < 0.3))
    created = users["created"][uidx]
    deact = users["deact"][uidx]
    ts = np.where(has_user, np.maximum(ts, created + US_PER_S), ts)
    ts = np.where(has_user & (deact >= 0), np.minimum(ts, deact - US_PER_S), ts)
    # values: null for login / report_created
    value = np.full(ne, np.nan)
    k = etype == 2
    value[k] = 1 + rng.poisson(3.0, k.sum())
    k = etype == 3
    value[k] = np.round(np.exp(rng.normal(3.5, 1.0, k.sum())), 1)
    k = etype == 4
    value[k] = np.rint(np.exp(rng.normal(6.0, 1.2, k.sum())))
    k = etype == 5
    value[k] = np.rint(np.exp(rng.normal(7.0, 1.5, k.sum())))
    order = np.lexsort((etype, ts, la))
    la, ts, etype, value = la[order], ts[order], etype[order], value[order]
    uid = np.where(has_user[order], run_ids[uidx[order]], 0)
    user_ids = _ids("U", uid, 6)
    user_ids = pc.if_else(pa.array(uid > 0), user_ids, pa.scalar(None, pa.string()))
    return pa.table({
        "account_id": acct_ids.take(pa.array(rows[la])),
        "ts": pa.array(ts, pa.timestamp("us", tz="UTC")),
        "event": pa.array(EVENT_NAMES, pa.string()).take(pa.array(etype)),
        "user_id": user_ids,
        "value": pa.array(value, pa.float64(), from_pandas=True),
    }, schema=EVENTS_SCHEMA)


EVENTS_SCHEMA = pa.schema([("account_id", pa.string()), ("ts", pa.timestamp("us", tz="UTC")),
                           ("event", pa.string()), ("user_id", pa.string()),
                           ("value", pa.float64())])
USERS_SCHEMA = pa.schema([("user_id", pa.string()), ("account_id", pa.string()),
                          ("created_at", pa.timestamp("us", tz="UTC")),
                          ("deactivated_at", pa.timestamp("us", tz="UTC")),
                          ("role", pa.string())])


# --------------------------------------------------------------------------------------------
# Exit interviews and verbatims
# --------------------------------------------------------------------------------------------

FEATURES = ["custom report formulas", "row-level permissions", "scheduled PDF exports",
            "multi-currency reporting", "a proper audit log", "cohort analysis"]
FEATURES_JA = ["カスタム集計式", "行単位の権限設定", "PDFの定期出力", "多通貨レポート", "監査ログ",
               "コホート分析"]
TOOLS = ["Salesforce", "Salesforce", "Salesforce", "HubSpot", "Snowflake", "NetSuite", "Zendesk"]
SUITES = ["Microsoft 365", "Google Workspace", "Salesforce", "SAP"]
MONTHS_EN = ["January", "February", "March", "April", "May", "June", "July", "August",
             "September", "October", "November", "December"]
NUM_WORDS = ["two", "three", "four", "five", "six"]

CLAUSES_EN = {
    "missing_feature": ["we needed {feature} and it still isn't there",
                        "the product lacks {feature}, which our team relies on",
                        "there was no way to get {feature} without workarounds"],
    "performance": ["dashboards took {secs} seconds to load on our data",
                    "the app slowed to a crawl once we passed {n} users",
                    "reports kept timing out at month end"],
    "integration_gap": ["the missing {tool} sync made it hard to justify",
                        "without a native {tool} connector we were copying data by hand",
                        "we could not get {tool} data in without a custom script"],
    "ux": ["the interface confused most of our team",
           "simple tasks took too many clicks",
           "people kept getting lost in the navigation"],
    "too_expensive": ["the per-seat price was more than we could justify",
                      "the renewal quote went up by {pct}%",
                      "it was simply too expensive for a team our size"],
    "budget_cut": ["our budget for tools was reduced for the rest of the year",
                   "finance paused all new tooling spend",
                   "we had to reduce software costs across the board"],
    "low_roi": ["we could not show enough value for the cost",
                "leadership didn't see a return on the spend",
                "the team used it too little to justify the price"],
    "slow_setup": ["setup took {weeks} weeks before we saw anything useful",
                   "getting our data connected took far longer than promised",
                   "onboarding dragged on for months"],
    "low_adoption": ["only a couple of people ever logged in",
                     "the team never really adopted it",
                     "usage dropped off after the first month"],
    "training": ["we never got proper training for the wider team",
                 "new hires had nobody to show them the ropes",
                 "the training material didn't cover our use case"],
    "slow_response": ["support took {days} days to answer a simple ticket",
                      "tickets sat without a reply for weeks",
                      "we waited {weeks_word} weeks for a response on a blocking issue"],
    "unresolved_issue": ["a sync bug we reported in {month} was never fixed",
                         "the same data error kept coming back",
                         "our main issue was still open when we left"],
    "account_management": ["we had {n_word} account managers in one year",
                           "nobody checked in with us after the sale",
                           "our account manager never followed up"],
    "better_features": ["{comp} simply does more of what we need",
                        "{comp} had the forecasting features we were missing",
                        "we found the features we needed at {comp}"],
    "better_price": ["{comp} offered us a much better price",
                     "{comp} came in at half the cost",
                     "we got a cheaper deal from {comp}"],
    "better_service": ["{comp} offered dedicated support",
                       "the service at {comp} is more hands-on",
                       "{comp} gave us a named support engineer"],
    "better_fit": ["{comp} fits our workflow better",
                   "{comp} is built for our industry",
                   "{comp} matched how our team works"],
    "stack_consolidation": ["we consolidated onto {suite} and dropped overlapping tools",
                            "IT decided to standardise on one vendor",
                            "we are reducing the number of tools we use"],
    "in_house_build": ["our data team built an in-house replacement",
                       "we moved reporting into our own warehouse",
                       "engineering built what we needed internally"],
    "acquisition": ["our company was acquired and we moved to the parent's tools",
                    "after the merger we switched to the parent company's stack",
                    "the acquiring company already had a contract with another vendor"],
    "shutdown": ["we are winding down the business",
                 "the company is closing this division",
                 "our startup shut down"],
    "reorganisation": ["the team that used the product was reorganised",
                       "our analytics group was dissolved in a reorg",
                       "the project owner left and the team was restructured"],
    "payment_failure": ["the card on file expired and the payment didn't go through",
                        "a billing mix-up on our side ended the subscription",
                        "the renewal payment did not go through and we didn't notice in time"],
    "other": ["our needs changed", "we are taking a break from this kind of tool",
              "the project ended"],
}
# (polite, plain) pairs
CLAUSES_JA = {
    "missing_feature": [("{feature}が必要でしたが、まだ対応していません", "{feature}が必要だったが、まだ対応していない"),
                        ("チームが必要とする{feature}がありませんでした", "チームが必要とする{feature}がなかった")],
    "performance": [("ダッシュボードの表示に{secs}秒もかかりました", "ダッシュボードの表示に{secs}秒もかかった"),
                    ("月末になるとレポートがタイムアウトしてしまいました", "月末になるとレポートがタイムアウトした"),
                    ("ユーザーが増えるにつれて動作がかなり重くなりました", "ユーザーが増えると動作がかなり重くなった")],
    "integration_gap": [("{tool}との連携がなく、手作業でデータを移す必要がありました",
                         "{tool}との連携がなく、手作業でデータを移すしかなかった"),
                        ("{tool}連携がないため、社内で導入の必要性を説明しきれませんでした",
                         "{tool}連携がないので、社内で導入を正当化できなかった"),
                        ("{tool}のデータを取り込むには独自のスクリプトが必要でした",
                         "{tool}のデータを取り込むのに独自スクリプトが必要だった")],
    "ux": [("画面が分かりにくく、多くのメンバーが戸惑っていました", "画面が分かりにくく、多くのメンバーが戸惑っていた"),
           ("簡単な作業にもクリック数が多すぎました", "簡単な作業でもクリック数が多すぎた")],
    "too_expensive": [("一人あたりの料金が高く、費用に見合いませんでした", "ユーザー単価が高く、費用に見合わなかった"),
                      ("更新時の見積もりが{pct}%も上がりました", "更新の見積もりが{pct}%も上がった")],
    "budget_cut": [("今年度の予算が削減されました", "今年度の予算が削られた"),
                   ("経理部門の判断で新しいツールへの支出が凍結されました", "新規ツールへの支出が凍結された")],
    "low_roi": [("費用に見合う効果を社内で示せませんでした", "費用に見合う効果を示せなかった"),
                ("経営陣が投資対効果を感じられませんでした", "経営陣が効果を実感できなかった")],
    "slow_setup": [("初期設定に{weeks}週間かかり、なかなか成果が出ませんでした", "初期設定に{weeks}週間もかかった"),
                   ("データ連携の準備が想定よりずっと長引きました", "データ連携の準備が想定以上に長引いた")],
    "low_adoption": [("結局、数人しかログインしませんでした", "結局、数人しか使わなかった"),
                     ("チームに定着しませんでした", "チームに定着しなかった")],
    "training": [("チーム全体へのトレーニングが十分ではありませんでした", "チーム向けのトレーニングが足りなかった"),
                 ("新しいメンバーに使い方を教えられる人がいませんでした", "新メンバーに使い方を教えられる人がいなかった")],
    "slow_response": [("簡単な問い合わせにも回答まで{days}日かかりました", "簡単な問い合わせにも返事まで{days}日かかった"),
                      ("問い合わせが何週間も放置されました", "問い合わせが何週間も放置された")],
    "unresolved_issue": [("{month}月に報告した同期の不具合が最後まで直りませんでした",
                          "{month}月に報告した同期の不具合が結局直らなかった"),
                         ("同じデータのエラーが何度も再発しました", "同じデータエラーが何度も再発した")],
    "account_management": [("一年で担当者が{n_small}回も変わりました", "一年で担当が{n_small}回も変わった"),
                           ("契約後、担当者から一度も連絡がありませんでした", "契約後、担当者から全く連絡がなかった")],
    "better_features": [("{comp}の方が必要な機能がそろっていました", "{comp}の方が機能が充実していた")],
    "better_price": [("{comp}からかなり安い見積もりをもらいました", "{comp}の方がずっと安かった")],
    "better_service": [("{comp}は専任のサポートを付けてくれました", "{comp}は専任サポートがついていた")],
    "better_fit": [("{comp}の方が私たちの業務に合っていました", "{comp}の方がうちの業務に合っていた")],
    "stack_consolidation": [("社内のツールを{suite}に統一することになりました", "ツールを{suite}に一本化することになった"),
                            ("情報システム部門がベンダーを一社に絞る方針を決めました", "情シスがベンダーを一社に絞ると決めた")],
    "in_house_build": [("データチームが社内で代替の仕組みを作りました", "データチームが社内で代わりの仕組みを作った")],
    "acquisition": [("会社が買収され、親会社のツールに移行しました", "会社が買収され、親会社のツールに移行した"),
                    ("合併に伴い、親会社のシステムに切り替えました", "合併で親会社のシステムに切り替えた")],
    "shutdown": [("事業を縮小することになりました", "事業をたたむことになった"),
                 ("この部門が閉鎖されることになりました", "部門が閉鎖された")],
    "reorganisation": [("組織再編で利用していたチームがなくなりました", "組織再編で使っていたチームがなくなった"),
                       ("担当者が退職し、体制が変わりました", "担当者が辞めて体制が変わった")],
    "payment_failure": [("カードの有効期限が切れていて、支払いが通りませんでした", "カードの期限が切れていて支払いが通らなかった"),
                        ("請求の手続きに行き違いがあり、契約が止まってしまいました", "請求の行き違いで契約が止まってしまった")],
    "other": [("社内のニーズが変わりました", "社内のニーズが変わった"),
              ("プロジェクトが終了しました", "プロジェクトが終わった")],
}

# reasons whose plain statement carries no complaint: a neutral-tone verbatim about them is neutral
FACTUAL_REASONS = ["budget_cut", "stack_consolidation", "in_house_build", "acquisition",
                   "shutdown", "reorganisation", "payment_failure", "other"]
ORG_REASONS = ["company_change", "integration_stack", "price_budget"]

FRUSTRATED_EN = ["Unacceptable.", "Very disappointing.", "Frankly a waste of money.",
                 "Not happy at all.", "This was a terrible experience.",
                 "Unacceptable for what we were paying.", "Really frustrating."]
FRUSTRATED_SUPPORT_EN = ["Support ignored us for three weeks. Unacceptable.",
                         "Nobody seemed to care about our problems.",
                         "The worst support experience we've had with any vendor."]
FRUSTRATED_OPEN_EN = ["Honestly, this was a frustrating experience.",
                      "I'm not going to sugarcoat it.", "We gave it more than a fair chance.",
                      "This has been a headache for months.", ""]
RESPECT_PREFIX_EN = ["We liked the team, but", "The product has real strengths, but",
                     "Your people were always kind, but", "We enjoyed working with you, but",
                     "The dashboards were nice, but"]
RESPECT_NEG_EN = ["Unfortunately it just didn't work for us.", "Sadly, that was a deal breaker.",
                  "A real shame, and disappointing for us.", "Unfortunately that was not acceptable.",
                  "Disappointing, because we had high hopes.", "Sadly it was not enough for us."]
POSITIVE_EN = ["Overall a great product and we would gladly come back.",
               "Thanks for a great experience, we'd love to return when this is fixed.",
               "We really enjoyed it and will happily recommend you.",
               "Great people, great product, wrong moment for us."]
NEUTRAL_OPEN_EN = ["", "", "Just for context:", "To summarise:"]
NEUTRAL_CLOSE_EN = ["", "", "That's the main reason.", "That is all from our side."]
NEUTRAL_CLOSE_ORG_EN = ["The decision was made at group level.",
                        "It was a company-wide decision."]

FRUSTRATED_JA = [("正直、かなり不満が残ります。", "正直、不満しかない。"), ("本当にがっかりしました。", "本当にがっかりした。"),
                 ("対応がひどすぎて困りました。", "対応がひどすぎて困った。"),
                 ("到底受け入れられず、失望しました。", "ありえない。失望した。"),
                 ("時間とお金の無駄で、本当に困りました。", "時間とお金の無駄だった。")]
FRUSTRATED_SUPPORT_JA = [("サポートから三週間も返事がありませんでした。ありえません。", "サポートから三週間も返事がなかった。ありえない。"),
                         ("誰も真剣に対応してくれませんでした。", "誰もまともに対応してくれなかった。")]
RESPECT_PREFIX_JA = [("チームの皆さんには感謝していますが、", "チームの皆さんには感謝しているが、"),
                     ("製品自体は気に入っていましたが、", "製品自体は気に入っていたが、"),
                     ("担当の方はとても親切でしたが、", "担当の人はとても親切だったが、")]
RESPECT_NEG_JA = [("当社には合わず、残念です。", "うちには合わなかった。残念だ。"),
                  ("苦渋の決断でしたが、残念です。", "苦渋の決断だった。残念だ。"),
                  ("期待していただけに、残念な結果になりました。", "期待していただけに、残念な結果になった。")]
POSITIVE_JA = [("全体としては素晴らしい製品なので、改善されればぜひ戻りたいです。", "全体的には素晴らしい製品なので、改善されたらまた使いたい。"),
               ("とても良い経験でした。ありがとうございました。", "とても良い経験だった。ありがとう。"),
               ("機会があればまたぜひ利用したいと思います。", "機会があればまた使いたいと思う。")]
NEUTRAL_CLOSE_JA = [("", ""), ("以上が主な理由です。", "以上が主な理由。"),
                    ("特にそれ以外の理由はありません。", "特にそれ以外の理由はない。")]
NEUTRAL_CLOSE_ORG_JA = [("会社の方針による判断です。", "会社の方針による判断だ。"),
                        ("グループ全体で決まったことです。", "グループ全体で決まったことだ。")]

LIKED_EN = ["the dashboards", "the support team in the first months", "ease of use",
            "the Slack alerts", "scheduled reports", "the onboarding calls", "workflow automation",
            "clean design", "the price", "our customer success manager"]
LIKED_JA = ["ダッシュボードの見やすさ", "サポートの丁寧さ", "使いやすさ", "レポートの自動配信",
            "ワークフローの自動化", "画面のデザイン", "価格", "担当者の対応"]

FIRST = ["jane", "tom", "maria", "kenji", "yuki", "david", "sara", "li", "ahmed", "emma"]
LAST = ["doe", "smith", "garcia", "tanaka", "suzuki", "brown", "chen", "khan", "muller", "rossi"]
DOMAINS = ["example.com", "example.org", "corp.example", "mail.example.net"]


def _pii(rng: np.random.Generator, ja: bool, polite: bool) -> tuple[str, str]:
    """A sentence with personal data, and its kind."""
    kind = ["email", "phone", "url"][int(rng.choice(3, p=[0.45, 0.4, 0.15]))]
    if kind == "email":
        val = f"{FIRST[rng.integers(10)]}.{LAST[rng.integers(10)]}@{DOMAINS[rng.integers(4)]}"
    elif kind == "url":
        val = f"https://intranet.{DOMAINS[rng.integers(4)]}/reviews/{rng.integers(100, 9999)}"
    elif ja:
        d = rng.integers(0, 10, 8)
        fmt = int(rng.integers(3))
        if fmt == 0:
            val = f"03-{''.join(map(str, d[:4]))}-{''.join(map(str, d[4:]))}"
        elif fmt == 1:
            val = f"090-{''.join(map(str, d[:4]))}-{''.join(map(str, d[4:]))}"
        else:
            val = f"+81 90 {''.join(map(str, d[:4]))} {''.join(map(str, d[4:]))}"
        kind = "phone_jp"
    else:
        area = ["415", "212", "646", "312"][rng.integers(4)]
        line = f"{rng.integers(100, 200):04d}"
        val = [f"({area}) 555-{line}", f"+1 {area} 555 {line}", f"{area}-555-{line}"][rng.integers(3)]
        kind = "phone_us"
    if ja:
        forms = {"email": ("詳しくは{v}までご連絡ください。", "詳細は{v}まで。"),
                 "url": ("社内の検討資料は{v}にあります。", "資料は{v}にある。"),
                 "phone_jp": ("担当の直通番号は{v}です。", "直通は{v}。")}[kind]
        return forms[0 if polite else 1].format(v=val), kind
    forms = {"email": ["You can reach me at {v}.", "Contact me at {v}."],
             "url": ["Our internal write-up is at {v}.", "Details in {v}."],
             "phone_us": ["Call me on {v} if you want details.", "My direct line is {v}."]}[kind]
    return forms[rng.integers(len(forms))].format(v=val), kind


def _fill(rng, text: str, comp: str, ja: bool) -> str:
    return text.format(
        feature=(FEATURES_JA if ja else FEATURES)[rng.integers(6)],
        tool=TOOLS[rng.integers(len(TOOLS))], suite=SUITES[rng.integers(len(SUITES))],
        secs=int(rng.integers(8, 40)), n=int(rng.choice([20, 50, 100])),
        pct=int(rng.choice([20, 25, 30, 40])), weeks=int(rng.integers(3, 10)),
        days=int(rng.integers(4, 15)), weeks_word=NUM_WORDS[rng.integers(1, 5)],
        month=(int(rng.integers(1, 13)) if ja else MONTHS_EN[rng.integers(12)]),
        n_word=NUM_WORDS[rng.integers(1, 4)], n_small=int(rng.integers(3, 5)),
        comp=comp or ("他社" if ja else "another vendor"))


def _cap(s: str) -> str:
    return s[:1].upper() + s[1:]


def _verbatim(rng, secondary: str, primary: str, tone: str, sentiment: str, comp: str,
              ja: bool, extra_comp: str) -> tuple[str, bool]:
    """Compose one verbatim; returns (text, polite)."""
    polite = bool(rng.random() < 0.6)
    p = 0 if polite else 1
    parts: list[str] = []
    if ja:
        opts = CLAUSES_JA[secondary]
        o = rng.permutation(len(opts))
        main = _fill(rng, opts[o[0]][p], comp, True) + "。"
        second = (_fill(rng, opts[o[1]][p], comp, True) + "。"
                  if len(opts) > 1 and primary != "competitive_loss" and rng.random() < 0.35
                  else "")
        if tone == "frustrated":
            pool = FRUSTRATED_SUPPORT_JA if primary == "service_support" and rng.random() < 0.6 \
                else FRUSTRATED_JA
            parts = [main, second, pool[rng.integers(len(pool))][p]]
            if rng.random() < 0.3:
                parts = [FRUSTRATED_JA[rng.integers(len(FRUSTRATED_JA))][p], main, second]
        elif tone == "respectful":
            pre = RESPECT_PREFIX_JA[rng.integers(len(RESPECT_PREFIX_JA))][p]
            close = (POSITIVE_JA[rng.integers(len(POSITIVE_JA))][p] if sentiment == "positive"
                     else RESPECT_NEG_JA[rng.integers(len(RESPECT_NEG_JA))][p])
            parts = [pre + main, second, close]
        else:
            pool = NEUTRAL_CLOSE_JA + (NEUTRAL_CLOSE_ORG_JA if primary in ORG_REASONS else [])
            parts = [main, second, pool[rng.integers(len(pool))][p]]
        if extra_comp:
            parts.insert(1, (f"{extra_comp}の方がずっと安かったです。" if polite
                             else f"{extra_comp}の方がずっと安かった。"))
        return "".join(x for x in parts if x), polite
    opts = CLAUSES_EN[secondary]
    o = rng.permutation(len(opts))
    main = _fill(rng, opts[o[0]], comp, False)
    second = (_cap(_fill(rng, opts[o[1]], comp, False)) + "."
              if primary != "competitive_loss" and rng.random() < 0.35 else "")
    if tone == "frustrated":
        pool = FRUSTRATED_SUPPORT_EN if primary == "service_support" and rng.random() < 0.6 \
            else FRUSTRATED_EN
        parts = [FRUSTRATED_OPEN_EN[rng.integers(len(FRUSTRATED_OPEN_EN))], _cap(main) + ".",
                 second, pool[rng.integers(len(pool))]]
    elif tone == "respectful":
        pre = RESPECT_PREFIX_EN[rng.integers(len(RESPECT_PREFIX_EN))]
        close = (POSITIVE_EN[rng.integers(len(POSITIVE_EN))] if sentiment == "positive"
                 else RESPECT_NEG_EN[rng.integers(len(RESPECT_NEG_EN))])
        parts = [f"{pre} {main}.", second, close]
    else:
        opener = NEUTRAL_OPEN_EN[rng.integers(len(NEUTRAL_OPEN_EN))]
        pool = NEUTRAL_CLOSE_EN + (NEUTRAL_CLOSE_ORG_EN if primary in ORG_REASONS else [])
        parts = [(opener + " " + main + ".") if opener else _cap(main) + ".", second,
                 pool[rng.integers(len(pool))]]
    if extra_comp:
        parts.insert(1, f"{extra_comp} offered us a better price.")
    return " ".join(x for x in parts if x), polite


def _exit_interviews(seed: int, a: dict, end_day: int,
                     verbatim_lang: str | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = _rng(seed, "interviews")
    n = a["n"]
    inv_idx = np.flatnonzero(a["cancelled"])
    m = inv_idx.size
    seg = a["seg"][inv_idx]
    invited = a["exit_day"][inv_idx] + rng.integers(0, 8, m)
    fmt = _choice(rng, FORMAT_MIX[seg])
    p_done = COMPLETION_BASE + COMPLETION_SEGMENT[seg] + COMPLETION_FORMAT[fmt]
    done = rng.random(m) < p_done
    completed = invited + np.floor(rng.exponential(4.0, m)).astype(np.int64)
    keep = invited <= end_day                                # not yet invited after the data end
    done &= completed <= end_day
    inv_idx, seg, invited, fmt, done, completed = (x[keep] for x in
                                                   (inv_idx, seg, invited, fmt, done, completed))
    m = inv_idx.size
    primary = a["primary"][inv_idx]
    secondary = a["secondary"][inv_idx]
    comp = a["competitor"][inv_idx]
    # tone by reason, intended sentiment by tone
    p_tone = np.tile([0.35, 0.45, 0.20], (m, 1))
    p_tone[primary == "service_support"] = [0.60, 0.30, 0.10]
    p_tone[primary == "price_budget"] = [0.30, 0.45, 0.25]
    p_tone[np.isin(primary, ["company_change", "involuntary"])] = [0.10, 0.20, 0.70]
    tone_i = _choice(rng, p_tone)
    tone = np.array(["frustrated", "respectful", "neutral"], dtype=object)[tone_i]
    positive = (tone_i == 1) & (rng.random(m) < 0.28)
    factual = np.isin(secondary, FACTUAL_REASONS)
    sentiment = np.where(tone_i == 0, "negative",
                         np.where(tone_i == 2, np.where(factual, "neutral", "negative"),
                                  np.where(positive, "positive", "negative"))).astype(object)
    wr_p = np.where((tone_i == 0)[:, None], [0.05, 0.20, 0.75],
                    np.where(positive[:, None], [0.55, 0.40, 0.05],
                             np.where((tone_i == 1)[:, None], [0.20, 0.45, 0.35],
                                      [0.25, 0.40, 0.35])))
    would = np.array(["yes", "maybe", "no"], dtype=object)[_choice(rng, wr_p)]
    lo = np.select([tone_i == 0, positive, tone_i == 1], [0, 7, 3], default=4)
    hi = np.select([tone_i == 0, positive, tone_i == 1], [4, 10, 7], default=8)
    score = lo + np.floor(rng.random(m) * (hi - lo + 1)).astype(np.int64)
    japan = a["region"][inv_idx] == REGIONS.index("Japan")
    if verbatim_lang is not None:                            # one language for every verbatim
        japan = np.full(m, verbatim_lang == "ja")
    # per-row pieces: blank reason (few), price_budget naming a competitor in the text (few)
    has_verbatim = done & (rng.random(m) < 0.92)
    blank_reason = done & has_verbatim & (rng.random(m) < 0.025)
    price_comp = done & has_verbatim & (primary == "price_budget") & (rng.random(m) < 0.07)
    pii = has_verbatim & (rng.random(m) < 0.10)
    lang_blank = has_verbatim & (rng.random(m) < 0.10)
    vrng = _rng(seed, "verbatims")
    texts = np.full(m, "", dtype=object)
    liked = np.full(m, "", dtype=object)
    pii_kind = np.full(m, "", dtype=object)
    extra = np.full(m, "", dtype=object)
    for i in np.flatnonzero(done):
        ja = bool(japan[i])
        if vrng.random() < 0.8:
            pool = LIKED_JA if ja else LIKED_EN
            liked[i] = pool[vrng.integers(len(pool))]
        if not has_verbatim[i]:
            continue
        if price_comp[i]:
            extra[i] = COMPETITORS[1 + vrng.integers(3)] if vrng.random() < 0.5 else "Northwind"
        text, polite = _verbatim(vrng, secondary[i], primary[i], tone[i], sentiment[i],
                                 comp[i], ja, extra[i])
        if pii[i]:
            sent, kind = _pii(vrng, ja, polite)
            text = text + ("" if ja else " ") + sent
            pii_kind[i] = kind
        texts[i] = text
    show = done & ~blank_reason
    df = pd.DataFrame({
        "account_id": a["acct_str"][inv_idx],
        "invited_at": _iso(invited),
        "completed_at": _iso(completed, done),
        "format": np.array(FORMATS, dtype=object)[fmt],
        "primary_reason": np.where(show, primary, ""),
        "secondary_reason": np.where(show, secondary, ""),
        "competitor": np.where(done, comp, ""),
        "would_return": np.where(done, would, ""),
        "recommend_score": pd.array(np.where(done, score, 0), dtype="Int64"),
        "liked": liked,
        "verbatim": texts,
        "language": np.where(has_verbatim & ~lang_blank, np.where(japan, "ja", "en"), ""),
    })
    df.loc[~done, "recommend_score"] = pd.NA
    truth = pd.DataFrame({
        "account_id": a["acct_str"][inv_idx],
        "invited_at": _iso(invited),
        "language": np.where(japan, "ja", "en"),
        "sentiment": sentiment,
        "tone": tone,
        "would_return": would,
        "primary_reason": primary,
        "secondary_reason": secondary,
        "blank_primary_reason": blank_reason,
        "competitor_in_text": np.where(extra != "", extra, a["competitor_canonical"][inv_idx]),
        "has_pii": pii_kind != "",
        "pii_kind": pii_kind,
    })[has_verbatim]
    order = np.lexsort((df["account_id"].to_numpy(), invited))
    df = df.iloc[order].reset_index(drop=True)
    truth = truth.sort_values(["invited_at", "account_id"], kind="stable").reset_index(drop=True)
    return df, truth


# --------------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------------

#: The sample company's data config, written beside its tables as ``churnlab.yaml`` (the review picks
#: it up from the data folder): its value-creating events, breakdowns, the dated change it made, its
#: currency. Another company states its own in its config; nothing here is built into the analyses.
SAMPLE_CONFIG = """\
# Data config of the churnlab sample company (written by `churnlab sample`).
activity:
  events: [report_created, dashboard_shared, workflow_run, integration_synced, export_created]
  min_count: 1
analysis:
  segment_col: segment
  segment_cols: [size_band, segment, plan, industry, region, acquisition_channel, contract, icp_fit]
  drivers: [segment, contract, icp_fit, acquisition_channel, region, plan]
  feature_event: workflow_run
  changes:
    - {date: 2025-01-01, label: the onboarding redesign}
  currency: USD
  language: en
  inactivity_days: 60
"""


#: Events per account of the default company (about; measured at seed 7 with 3,000 accounts).
EVENTS_PER_ACCOUNT = 1040


def generate(out, *, seed: int = 7, n_accounts: int | None = None, start: str | None = None,
             end: str | None = None, events: bool = True, shape: str = "sample",
             events_per_account: float | None = None) -> dict[str, int]:
    """Write the sample company's tables (or a zoo company's) into folder `out`; return
    {table_name: row_count}.

    Parameters
    ----------
    out : str or path-like
        Folder to write into (created if missing). Existing sample files are overwritten.
    seed : int, default 7
        Random seed; the same seed and arguments give byte-identical files.
    n_accounts : int, optional
        Number of customer accounts (events grow about linearly with it); default 3,000 for the
        sample, the shape's own size (a few hundred accounts) for a zoo shape.
    start, end : str, default "2023-01-01", "2026-09-30"
        First signup day and the last day covered by the data (nothing happens after `end`).
        Only for the sample: each zoo shape has its own dates.
    events : bool, default True
        Write ``events.parquet`` (the large table). With ``False`` every other table is still
        identical to a run with events, and a stale ``events.parquet`` in `out` is removed.
        Only for the sample.
    shape : str, default "sample"
        ``"sample"``: the sample company. Any other name of :data:`SHAPES`: a small company unlike
        the sample (no churn dates, event-only purchases, no segments, blank categories, Japanese
        labels, ...), derived from a small sample-like company with its own names and dates, with
        its data config ``churnlab.yaml`` when it needs one. See ``docs/sample-data.md``.
    events_per_account : float, optional
        About how many events each account has on average (default about
        :data:`EVENTS_PER_ACCOUNT`): every event rate is scaled by ``events_per_account /
        EVENTS_PER_ACCOUNT``, so a large company can be made with fewer events (100,000 accounts at
        500 give about 50 million events). The other tables do not change.

    Returns
    -------
    dict
        Row count per written table: ``accounts``, ``subscriptions``, ``users``, ``events`` (when
        written), ``exit_interviews``, ``roadmap`` (a zoo shape lists only the tables it has).

    Notes
    -----
    Writes ``accounts.csv``, ``subscriptions.parquet``, ``users.parquet``, ``events.parquet``,
    ``exit_interviews.csv``, ``roadmap.csv`` and the ``truth/`` folder (latent traits, true
    reasons, intended verbatim sentiment, planted data-quality problems; not part of the data
    contract). The planted effects and their magnitudes are described in ``docs/sample-data.md``.
    A zoo shape writes only its own tables (and ``churnlab.yaml``), no ``truth/``.

    Examples
    --------
    >>> import tempfile
    >>> from churnlab.sample import generate
    >>> counts = generate(tempfile.mkdtemp(), n_accounts=200, events=False)
    >>> counts["accounts"]
    200
    >>> sorted(generate(tempfile.mkdtemp(), shape="accounts-only"))
    ['accounts']
    """
    if shape == "sample":
        return _write_company(out, seed=seed, n_accounts=3000 if n_accounts is None else n_accounts,
                              start=start or "2023-01-01", end=end or "2026-09-30", events=events,
                              events_per_account=events_per_account)
    if shape not in SHAPES:
        raise ValueError(f"unknown shape {shape!r}; shapes: sample, {', '.join(SHAPES)}")
    if start is not None or end is not None or not events or events_per_account is not None:
        raise ValueError("start, end, events and events_per_account apply to the sample only; each zoo "
                         "shape has its own")
    return _zoo(out, shape, seed=seed, n_accounts=n_accounts)


def _write_company(out, *, seed: int, n_accounts: int, start: str, end: str, events: bool,
                   hazard_scale: float = 1.0, plant_problems: bool = True,
                   verbatim_lang: str | None = None, success: bool = True,
                   events_per_account: float | None = None) -> dict[str, int]:
    """The body of :func:`generate` for the sample company (see there); the zoo shapes also use
    ``hazard_scale`` (multiplies every churn hazard), ``plant_problems`` (``False``: none of the
    planted data-quality problems) and ``verbatim_lang`` (``"en"`` / ``"ja"``: one language for every
    verbatim instead of Japanese for the Japan region)."""
    out = Path(out)
    (out / "truth").mkdir(parents=True, exist_ok=True)
    n = int(n_accounts)
    if n < 20:
        raise ValueError("n_accounts must be at least 20")
    if events_per_account is not None and not (0 < float(events_per_account) < math.inf):
        raise ValueError("events_per_account must be a positive number")
    events_scale = 1.0 if events_per_account is None else float(events_per_account) / EVENTS_PER_ACCOUNT
    start_day, end_day = _day(start), _day(end)
    if end_day <= start_day:
        raise ValueError("end must be after start")
    n_months = int(_month_of(np.array([end_day]))[0] - _month_of(np.array([start_day]))[0]) + 1
    n_grid = 12 * math.ceil((n_months + 2) / 12)

    a = _accounts(seed, n, start_day, end_day)
    a["acct_str"] = np.array([f"A{i:05d}" for i in range(1, n + 1)], dtype=object)
    acct_ids = pa.array(a["acct_str"].tolist(), pa.string())
    _churn(seed, a, start_day, end_day, n_grid, hazard_scale)
    _reasons(seed, a, end_day)
    _service(a, end_day)
    _lapses(seed, a)
    _seats(seed, a, n_grid)
    counts: dict[str, int] = {}
    dq_rng = _rng(seed, "data_quality")
    dq: list[dict] = []

    # subscriptions (+ one negative mrr row)
    subs = _subscriptions(a, n_grid, acct_ids)
    if plant_problems:
        bad = int(dq_rng.integers(subs.num_rows))
        mrr = subs.column("mrr").to_numpy().copy()
        mrr[bad] = -mrr[bad]
        subs = subs.set_column(2, "mrr", pa.array(mrr))
        dq.append(dict(table="subscriptions", problem="negative mrr", rows=1,
                       key=f"{subs.column('account_id')[bad].as_py()} "
                           f"{subs.column('month')[bad].as_py().isoformat()}"))
    _write_parquet(subs, out / "subscriptions.parquet")
    counts["subscriptions"] = subs.num_rows
    del subs

    # accounts (+ one churn_date before signup_date)
    churn_shown = a["churned"]
    churn_col = _iso(a["churn_intended"], churn_shown)
    bad_acct = -1
    if plant_problems:
        churned_idx = np.flatnonzero(churn_shown)
        bad_acct = int(churned_idx[dq_rng.integers(churned_idx.size)])
        churn_col[bad_acct] = _iso(np.array([a["signup"][bad_acct] - 14]))[0]
        dq.append(dict(table="accounts", problem="churn_date before signup_date", rows=1,
                       key=a["acct_str"][bad_acct]))
    accounts = pd.DataFrame({
        "account_id": a["acct_str"],
        "signup_date": _iso(a["signup"]),
        "churn_date": churn_col,
        "cancel_date": _iso(a["exit_day"], a["cancelled"]),
        "plan": np.array(PLANS, dtype=object)[a["plan"]],
        "contract": np.where(a["annual"], "annual", "monthly"),
        "segment": np.array(SEGMENTS, dtype=object)[a["seg"]],
        "industry": np.array(INDUSTRIES, dtype=object)[a["industry"]],
        "region": np.array(REGIONS, dtype=object)[a["region"]],
        "acquisition_channel": np.array(CHANNELS, dtype=object)[a["channel"]],
        "employees": a["employees"],
        "seats": a["seats_now"],
        "mrr": a["mrr_now"].astype(float),
        "icp_fit": np.where(a["icp"], "true", "false"),
    })
    _write_csv(accounts, out / "accounts.csv")
    counts["accounts"] = len(accounts)

    # users and events, chunk by chunk of accounts
    events_path = out / "events.parquet"
    writer = _RowGroupWriter(events_path, EVENTS_SCHEMA, EVENTS_ROW_GROUP) if events else None
    if not events and events_path.exists():
        events_path.unlink()
    user_parts: list[pa.Table] = []
    champion_left = np.zeros(n, bool)
    user_offset = 0
    for ci, c0 in enumerate(range(0, n, CHUNK_ACCOUNTS)):
        rows = np.arange(c0, min(c0 + CHUNK_ACCOUNTS, n))
        ws, we, dim = _windows(a, rows, n_grid, end_day)
        u = _users_chunk(seed, a, rows, n_grid, ws, we, ci, champions=success)
        champion_left[u["champion_left"]] = True
        # user ids follow account, then creation time
        order = np.lexsort((u["j"], u["created"], u["acc"]))
        rank = np.empty(order.size, np.int64)
        rank[order] = np.arange(order.size)
        nu = order.size
        deact = u["deact"][order]
        user_parts.append(pa.table({
            "user_id": _ids("U", user_offset + np.arange(1, nu + 1), 6),
            "account_id": acct_ids.take(pa.array(rows[u["acc"][order]])),
            "created_at": pa.array(u["created"][order], pa.timestamp("us", tz="UTC")),
            "deactivated_at": pa.array(deact, pa.timestamp("us", tz="UTC"), mask=deact < 0),
            "role": pa.array(["admin", "member", "viewer", "champion"]).take(pa.array(u["role"][order])),
        }, schema=USERS_SCHEMA))
        if writer is not None:
            run_ids = user_offset + rank + 1                 # final number of each run
            writer.write(_events_chunk(seed, a, rows, n_grid, ws, we, dim, u, run_ids, ci,
                                       acct_ids, events_scale))
        user_offset += nu
    users = pa.concat_tables(user_parts).combine_chunks()
    _write_parquet(users, out / "users.parquet")
    counts["users"] = users.num_rows
    del users, user_parts

    if writer is not None and plant_problems:
        # ~50 events of an account that does not exist (a test account left in production)
        k = 50
        t_rng = _rng(seed, "dq_test_account")
        tsd = _day("2026-08-03") + t_rng.integers(0, 21, k)
        ts = np.sort(tsd * US_PER_DAY + t_rng.integers(9 * 3600, 17 * 3600, k) * US_PER_S)
        et = t_rng.choice([0, 1, 3], size=k, p=[0.5, 0.3, 0.2])
        writer.write(pa.table({
            "account_id": pa.array(["TEST-0001"] * k),
            "ts": pa.array(ts, pa.timestamp("us", tz="UTC")),
            "event": pa.array(EVENT_NAMES).take(pa.array(et)),
            "user_id": pa.nulls(k, pa.string()),
            "value": pa.array(np.where(et == 3, 1.0, np.nan), from_pandas=True),
        }, schema=EVENTS_SCHEMA))
        dq.append(dict(table="events", problem="events of unknown account", rows=k,
                       key="TEST-0001"))
    if writer is not None:
        writer.close()
        counts["events"] = writer.rows

    # exit interviews (+ 2 duplicated rows, 1 recommend_score of 11)
    interviews, verbatims = _exit_interviews(seed, a, end_day, verbatim_lang)
    if plant_problems:
        done_rows = np.flatnonzero(interviews["completed_at"].to_numpy() != "")
        picks = _rng(seed, "dq_interviews").choice(done_rows, size=3, replace=False)
        interviews.loc[picks[2], "recommend_score"] = 11
        dq.append(dict(table="exit_interviews", problem="recommend_score out of range (11)",
                       rows=1, key=interviews.loc[picks[2], "account_id"]))
        dup = np.sort(picks[:2])
        for d in dup:
            dq.append(dict(table="exit_interviews", problem="duplicated row", rows=1,
                           key=interviews.loc[d, "account_id"]))
        order = np.sort(np.concatenate([np.arange(len(interviews)), dup]), kind="stable")
        interviews = interviews.iloc[order].reset_index(drop=True)
    _write_csv(interviews, out / "exit_interviews.csv")
    counts["exit_interviews"] = len(interviews)

    roadmap = pd.DataFrame(ROADMAP, columns=["item", "secondary_reason", "shipped_at"])
    _write_csv(roadmap, out / "roadmap.csv")
    counts["roadmap"] = len(roadmap)

    if success:   # customer-success tables (new files only: the tables above are unchanged by them)
        cs = _success(seed, a, n_grid, end_day, acct_ids)
        for table in ("health_scores", "support_tickets", "nps_responses", "touchpoints"):
            _write_csv(cs[table], out / f"{table}.csv")
            counts[table] = len(cs[table])
        _write_csv(cs["truth"].assign(champion_left=np.where(champion_left, "true", "false")),
                   out / "truth" / "success.csv")

    # truth
    lapse = a["lapse_start"] >= 0
    lapse_month = np.where(lapse, _month_start(a["signup_mi"] + np.maximum(a["lapse_start"], 0)),
                           0)
    finite = a["K"] < NEVER
    truth = pd.DataFrame({
        "account_id": a["acct_str"],
        "usage_trait": np.round(a["usage"], 4),
        "usage_quartile": a["quartile"],
        "has_integration": a["has_integration"],
        "base_hazard": a["hazard_base"],
        "icp_hazard_mult": a["icp_mult"],
        "usage_hazard_mult": a["usage_mult"],
        "early_hazard_mult": a["early_mult"],
        "annual_factor": np.where(a["annual"], ANNUAL_FACTOR, 1.0),
        "intended_churn_date": _iso(a["churn_intended"], finite),
        "intended_cancel_date": _iso(a["exit_day"], finite),
        "churned": a["churned"],
        "cancel_requested_active": a["cancelled"] & ~a["churned"],
        "true_primary_reason": a["primary"],
        "true_secondary_reason": a["secondary"],
        "competitor": a["competitor_canonical"],
        "pre_churn_decline": a["decline"],
        "lapse": lapse,
        "lapse_start_month": _iso(lapse_month, lapse),
        "lapse_months": a["lapse_len"],
        "initial_seats": a["seats0"],
        "dq_churn_before_signup": np.arange(n) == bad_acct,
    })
    for c in ["has_integration", "churned", "cancel_requested_active", "pre_churn_decline",
              "lapse", "dq_churn_before_signup"]:
        truth[c] = np.where(truth[c], "true", "false")
    _write_csv(truth.assign(base_hazard=truth["base_hazard"].map("{:.4f}".format),
                            icp_hazard_mult=truth["icp_hazard_mult"].map("{:.2f}".format),
                            usage_hazard_mult=truth["usage_hazard_mult"].map("{:.2f}".format),
                            early_hazard_mult=truth["early_hazard_mult"].map("{:.2f}".format),
                            annual_factor=truth["annual_factor"].map("{:.2f}".format),
                            usage_trait=truth["usage_trait"].map("{:.4f}".format)),
               out / "truth" / "accounts.csv")
    for c in ["blank_primary_reason", "has_pii"]:
        verbatims[c] = np.where(verbatims[c], "true", "false")
    _write_csv(verbatims, out / "truth" / "verbatims.csv")
    _write_csv(pd.DataFrame(dq, columns=["table", "problem", "rows", "key"]),
               out / "truth" / "data_quality.csv")
    (out / "churnlab.yaml").write_text(SAMPLE_CONFIG, encoding="utf-8")
    return {k: counts[k] for k in ["accounts", "subscriptions", "users", "events",
                                   "exit_interviews", "roadmap", "health_scores", "support_tickets",
                                   "nps_responses", "touchpoints"] if k in counts}


# --------------------------------------------------------------------------------------------
# Customer-success tables: health scores, support tickets, NPS responses, touchpoints (effect 12)
# --------------------------------------------------------------------------------------------
# Each table has its own random stream, so the other tables are unchanged by it. The pre-churn
# effects key on months before the intended end of service (``to_end`` = 1 in the last month).

HEALTH_BASE, HEALTH_USAGE, HEALTH_NOISE = 70.0, 8.0, 9.0   # score = base + usage x trait + noise
HEALTH_DROP, HEALTH_DROP_MONTHS = 40.0, 6      # points lost, ramped over the last months before churn
HEALTH_BLIND_SEGMENT = 0                        # SMB: the score sees only part of the decline ...
HEALTH_BLIND_SHARE = 0.35                       # ... this share of it ...
HEALTH_BLIND_BONUS = 12.0                       # ... and is inflated by this many points
HEALTH_BANDS = (40.0, 65.0)                     # red < 40 <= yellow < 65 <= green
TICKET_RATE = 0.25                              # tickets per account-month
TICKET_SPIKE_SHARE, TICKET_SPIKE_MULT, TICKET_SPIKE_MONTHS = 0.55, 5.0, 3
ESCALATION_P, ESCALATION_SPIKE_P = 0.04, 0.35
RESOLUTION_DAYS, RESOLUTION_SLOW_DAYS = 1.5, 12.0  # mean; slow for service churners in the spike
TICKET_TOPICS = ["how_to", "bug", "billing", "feature_request", "integration", "account"]
TICKET_TOPIC_MIX = [0.30, 0.25, 0.12, 0.18, 0.10, 0.05]
SPIKE_TOPIC = {"product_gap": "bug", "service_support": "bug", "price_budget": "billing",
               "integration_stack": "integration", "poor_onboarding": "how_to"}
NPS_RESPONSE_P, NPS_QUIET_P = 0.45, 0.05        # response rate; of quiet churners in their last months
NPS_DROP_SHARE, NPS_QUIET_SHARE = 0.6, 0.3      # of voluntary churners: scores fall / they go quiet
NPS_DROP, NPS_MONTHS = 4.0, 9                   # points lost; months before churn it applies
NPS_QUIET_MONTHS = 7                            # months before churn quiet churners stop answering
SILENT_P_CHURNER, SILENT_P_STAYER = 0.35, 0.12  # no touchpoint after onboarding
TOUCH_P = 0.45                                  # touchpoint in a month (non-silent accounts)
TOUCH_KINDS, TOUCH_KIND_MIX = ["meeting", "call", "email", "qbr"], [0.35, 0.30, 0.20, 0.15]
SKIP_SHARE, SKIP_MONTHS = 0.6, 3                # churners that skip meetings before leaving
CHAMPION_P = 0.03                               # members and viewers who are the account's champion
CHAMPION_LEAVE_SHARE = 0.35                     # of voluntary churners: the champion left before them ...
CHAMPION_LEAVE_DAYS = (20, 150)                 # ... this many days before the churn date
OUTCOME_MIX, OUTCOME_MIX_SKIP = [0.85, 0.10, 0.05], [0.40, 0.35, 0.25]  # held, cancelled, no-show

_TICKET_TEXT = {
    "how_to": ["How do I set up {x} for the whole team?", "Where can I change the {x} settings?"],
    "bug": ["The {x} page shows an error since this morning.", "{x} fails with a timeout again."],
    "billing": ["Why did our invoice go up this month?", "Please explain the charge for {x}."],
    "feature_request": ["Could {x} support custom fields?", "We would love a dark mode in {x}."],
    "integration": ["The sync with our CRM stopped working.", "{x} does not import our contacts."],
    "account": ["Please add a new admin to our account.", "How do we transfer ownership of {x}?"],
}
_TICKET_OBJECTS = ["reports", "dashboards", "workflows", "exports", "the API"]
_NPS_COMMENT = {0: ["Too many issues lately.", "Not worth the price for us."],
                1: ["It does the job.", "Fine, some rough edges."],
                2: ["Great product, our team loves it.", "Support is quick and helpful."]}


def _success(seed: int, a: dict, n_grid: int, end_day: int, acct_ids) -> dict:
    """The four customer-success tables and their truth (see docs/sample-data.md, effect 12)."""
    n = a["n"]
    rows = np.arange(n)
    ws, we, _ = _windows(a, rows, n_grid, end_day)
    mask = _service_mask(a, rows, n_grid, with_lapse=False) & (we > ws)
    ai, mi = np.nonzero(mask)
    to_end = a["K"][ai] - mi                                  # 1 = last month of service
    start, stop = ws[ai, mi], we[ai, mi]
    ids = np.asarray(a["acct_str"], dtype=object)
    churner = a["K"] < NEVER
    voluntary = churner & (a["primary"] != "involuntary")
    out = {}

    # health scores: first day of each month after the signup month
    rng = _rng(seed, "health")
    trait = HEALTH_BASE + HEALTH_USAGE * a["usage"] + rng.normal(0, 4.0, n)
    blind = a["seg"] == HEALTH_BLIND_SEGMENT
    drop = HEALTH_DROP * np.clip((HEALTH_DROP_MONTHS + 1 - to_end) / HEALTH_DROP_MONTHS, 0, 1)
    drop = np.where(voluntary[ai], drop * np.where(blind[ai], HEALTH_BLIND_SHARE, 1.0), 0.0)
    month_start = _month_start(a["signup_mi"][ai] + mi)
    keep = (mi >= 1) & (month_start <= end_day)
    usage_c = np.clip(trait[ai] - drop + rng.normal(0, HEALTH_NOISE, ai.size), 0, 100)
    support_c = np.clip(rng.normal(70, 15, ai.size), 0, 100)          # predicts nothing
    relation_c = np.clip(rng.normal(70, 15, ai.size), 0, 100)         # predicts nothing
    score = np.clip(0.8 * usage_c + 0.1 * support_c + 0.1 * relation_c
                    + np.where(blind[ai], HEALTH_BLIND_BONUS, 0.0), 0, 100)
    band = np.where(score < HEALTH_BANDS[0], "red", np.where(score < HEALTH_BANDS[1], "yellow", "green"))
    out["health_scores"] = pd.DataFrame({
        "account_id": ids[ai[keep]], "scored_at": _iso(month_start[keep]),
        "score": np.round(score[keep], 1), "band": band[keep],
        "usage_score": np.round(usage_c[keep], 1), "support_score": np.round(support_c[keep], 1),
        "relationship_score": np.round(relation_c[keep], 1)})

    # support tickets
    rng = _rng(seed, "tickets")
    spiker = voluntary & (rng.random(n) < TICKET_SPIKE_SHARE)
    in_spike = spiker[ai] & (to_end >= 1) & (to_end <= TICKET_SPIKE_MONTHS)
    base = rng.poisson(TICKET_RATE, ai.size)
    extra = rng.poisson(np.where(in_spike, TICKET_RATE * (TICKET_SPIKE_MULT - 1), 0.0))
    cnt = base + extra
    t_row = np.repeat(np.arange(ai.size), cnt)
    is_extra = _ranks(cnt) >= np.repeat(base, cnt)
    k = t_row.size
    t_acc = ai[t_row]
    opened_us = (start[t_row] * US_PER_DAY
                 + (rng.random(k) * (stop[t_row] - start[t_row]) * US_PER_DAY).astype(np.int64))
    order = np.lexsort((opened_us, t_acc))
    t_row, is_extra, t_acc, opened_us = t_row[order], is_extra[order], t_acc[order], opened_us[order]
    topic = np.array(TICKET_TOPICS, dtype=object)[rng.choice(len(TICKET_TOPICS), size=k, p=TICKET_TOPIC_MIX)]
    spike_topic = np.array([SPIKE_TOPIC.get(r, "bug") for r in a["primary"]], dtype=object)
    topic = np.where(is_extra, spike_topic[t_acc], topic)
    escalated = rng.random(k) < np.where(is_extra, ESCALATION_SPIKE_P, ESCALATION_P)
    slow = is_extra & (a["primary"][t_acc] == "service_support")
    days = rng.exponential(np.where(slow, RESOLUTION_SLOW_DAYS, RESOLUTION_DAYS))
    resolved_us = opened_us + (days * US_PER_DAY).astype(np.int64)
    open_now = resolved_us >= (end_day + 1) * US_PER_DAY
    priority = np.array(["low", "normal", "high", "urgent"], dtype=object)[
        _choice(rng, np.where(is_extra[:, None], [[0.05, 0.35, 0.4, 0.2]], [[0.3, 0.55, 0.12, 0.03]]))]
    objects = np.array(_TICKET_OBJECTS, dtype=object)[rng.integers(0, len(_TICKET_OBJECTS), k)]
    pick = rng.integers(0, 2, k)
    text = [_TICKET_TEXT[t][p].format(x=o) for t, p, o in zip(topic, pick, objects)]
    text = [s[:1].upper() + s[1:] for s in text]
    stamp = lambda us: pd.to_datetime(us, unit="us", utc=True).strftime("%Y-%m-%dT%H:%M:%SZ")  # noqa: E731
    resolved_s = np.where(open_now, "", np.asarray(stamp(resolved_us), dtype=object))
    out["support_tickets"] = pd.DataFrame({
        "ticket_id": [f"T{i:07d}" for i in range(1, k + 1)], "account_id": ids[t_acc],
        "opened_at": np.asarray(stamp(opened_us), dtype=object), "resolved_at": resolved_s,
        "priority": priority, "escalated": np.where(escalated, "true", "false"), "topic": topic,
        "text": text})

    # NPS responses: one survey per account in the second month of each calendar quarter
    rng = _rng(seed, "nps")
    u = rng.random(n)
    dropper = voluntary & (u < NPS_DROP_SHARE)
    quieter = voluntary & (u >= NPS_DROP_SHARE) & (u < NPS_DROP_SHARE + NPS_QUIET_SHARE)
    level = 8.0 + 0.8 * a["usage"] + rng.normal(0, 0.8, n)
    cal = (a["signup_mi"][ai] + mi) % 12
    late = (to_end >= 1) & (to_end <= NPS_MONTHS)
    quiet = quieter[ai] & (to_end >= 1) & (to_end <= NPS_QUIET_MONTHS)
    answered = (mi >= 2) & (cal % 3 == 1) & (rng.random(ai.size) < np.where(quiet, NPS_QUIET_P, NPS_RESPONSE_P))
    fall = np.where(dropper[ai] & late, NPS_DROP, 0.0)
    nps = np.clip(np.rint(level[ai] - fall + rng.normal(0, 1.0, ai.size)), 0, 10)
    resp_us = (start * US_PER_DAY + (rng.random(ai.size) * (stop - start) * US_PER_DAY).astype(np.int64))
    sel = np.flatnonzero(answered)
    kind = np.where(nps[sel] <= 6, 0, np.where(nps[sel] <= 8, 1, 2))
    has_comment = rng.random(sel.size) < 0.5
    which = rng.integers(0, 2, sel.size)
    comment = np.array([_NPS_COMMENT[c][w] if h else "" for c, w, h in zip(kind, which, has_comment)],
                       dtype=object)
    out["nps_responses"] = pd.DataFrame({
        "account_id": ids[ai[sel]], "responded_at": np.asarray(stamp(resp_us[sel]), dtype=object),
        "score": nps[sel].astype(np.int64), "comment": comment})

    # touchpoints: onboarding (training, then a call), then regular contact unless silent
    rng = _rng(seed, "touchpoints")
    silent = rng.random(n) < np.where(churner, SILENT_P_CHURNER, SILENT_P_STAYER)
    skipper = voluntary & (rng.random(n) < SKIP_SHARE)
    onb = np.concatenate([a["signup"] + rng.integers(3, 11, n), a["signup"] + rng.integers(18, 31, n)])
    onb_acc = np.concatenate([rows, rows])
    onb_kind = np.array(["training"] * n + ["call"] * n, dtype=object)
    stop_acc = np.where(a["churned"], a["churn_intended"], end_day + 1)
    ok = onb < stop_acc[onb_acc]
    touch = (mi >= 2) & ~silent[ai] & (rng.random(ai.size) < TOUCH_P)
    sel = np.flatnonzero(touch)
    t_kind = np.array(TOUCH_KINDS, dtype=object)[rng.choice(len(TOUCH_KINDS), size=sel.size, p=TOUCH_KIND_MIX)]
    skipping = skipper[ai[sel]] & (to_end[sel] >= 1) & (to_end[sel] <= SKIP_MONTHS)
    outcome = np.array(["held", "cancelled", "no-show"], dtype=object)[
        _choice(rng, np.where(skipping[:, None], [OUTCOME_MIX_SKIP], [OUTCOME_MIX]))]
    outcome = np.where(t_kind == "email", "held", outcome)
    at_us = (start[sel] * US_PER_DAY + (rng.random(sel.size) * (stop[sel] - start[sel])
                                        * US_PER_DAY).astype(np.int64))
    tp = pd.DataFrame({
        "acc": np.concatenate([onb_acc[ok], ai[sel]]),
        "at": np.concatenate([onb[ok] * US_PER_DAY + 15 * 3600 * US_PER_S, at_us]),
        "kind": np.concatenate([onb_kind[ok], t_kind]),
        "outcome": np.concatenate([np.full(int(ok.sum()), "held", dtype=object), outcome])})
    tp = tp[tp["at"] < (end_day + 1) * US_PER_DAY].sort_values(["acc", "at"], kind="stable")
    out["touchpoints"] = pd.DataFrame({"account_id": ids[tp["acc"].to_numpy()],
                                       "at": np.asarray(stamp(tp["at"].to_numpy()), dtype=object),
                                       "kind": tp["kind"].to_numpy(), "outcome": tp["outcome"].to_numpy()})
    out["truth"] = pd.DataFrame({
        "account_id": ids, "health_blind": np.where(blind, "true", "false"),
        "ticket_spike": np.where(spiker, "true", "false"), "nps_drop": np.where(dropper, "true", "false"),
        "nps_quiet": np.where(quieter, "true", "false"),
        "silent": np.where(silent, "true", "false"), "skips_meetings": np.where(skipper, "true", "false")})
    return out



# --------------------------------------------------------------------------------------------
# The zoo: small companies unlike the sample
# --------------------------------------------------------------------------------------------
# Each shape starts from a small sample-like company (the machinery above, without the planted
# data-quality problems), renames everything the sample company owns (event names, segments,
# plans, regions, competitors, roadmap, dates) and then rewrites the tables into the shape. A
# review of any shape must never show a name of the sample company.

#: The zoo shapes of ``generate(shape=...)`` / ``churnlab sample --shape``: name -> what it is.
SHAPES = {
    "accounts-only": "accounts.csv only (churn and cancel dates, segments), no other table",
    "no-churn-column": "accounts without churn_date and cancel_date, plus users and events: "
                       "churn is inferred from inactivity",
    "b2c-events": "event-only B2C shop: customers with a signup date only, purchase and refund "
                  "events with a value in EUR, no user_id, churn inferred from inactivity",
    "no-segments": "no segment, plan or region column",
    "single-segment": "one segment value for every account",
    "messy-categories": "blank segment (15%), industry (10%), acquisition channel (5%) and "
                        "competitor values; a region column of 1,100+ city names",
    "no-user-id": "events without a user_id column",
    "all-respond": "every invited account completed its exit interview (100%)",
    "none-respond": "no invited account completed its exit interview (0%)",
    "no-competitors": "exit interviews without a competitor column",
    "japanese": "Japanese labels only: segments, plans, industries, regions, contract terms, "
                "interview formats and answers, reason labels (mapped in the config), verbatims",
    "first-year": "the company's first signups fall in the reviewed year (no earlier window)",
    "zero-churn": "no account ever churns or cancels (no exit interview at all)",
    "contracts": "real contract terms (Month-to-Month, quarterly, One Year, ANNUAL, Two Year) and "
                 "the company's own reason labels, \"Don't know\" meaning no reason",
}

ZOO_START, ZOO_END = "2021-04-01", "2024-06-30"          # reviewed quarter 2024Q2
FIRST_YEAR_START, FIRST_YEAR_END = "2022-02-14", "2022-09-30"   # reviewed quarter 2022Q3
ZOO_ACCOUNTS = 400
MESSY_ACCOUNTS = 1700                                    # enough for 1,100+ distinct cities
ZOO_EVENT_SHARE = 0.25                                   # share of the base events kept
ZOO_EVENTS = {"login": "sign_in", "report_created": "invoice_sent",
              "dashboard_shared": "quote_shared", "workflow_run": "ledger_synced",
              "integration_synced": "bank_feed_synced", "export_created": "tax_report_filed"}
ZOO_QUALIFIED = [ZOO_EVENTS[e] for e in VALUE_EVENTS]    # the zoo's value-creating events
ZOO_FEATURE = ZOO_EVENTS["workflow_run"]
ZOO_SEGMENTS = {"SMB": "Starter", "Mid-Market": "Scale", "Enterprise": "Corporate"}
ZOO_PLANS = {"Starter": "Basic", "Growth": "Plus", "Scale": "Premium"}
ZOO_REGIONS = {"North America": "Nordics", "EMEA": "DACH", "APAC": "Benelux", "Japan": "Iberia",
               "LATAM": "UK and Ireland"}
ZOO_COMPETITORS = {"NorthWind Analytics": "BlueFin Books", "Northwind Inc.": "Bluefin Inc.",
                   "Northwind": "Bluefin", "northwind": "bluefin", "Acme Analytics": "Kestrel Ledger",
                   "Globex": "Orbital", "Initech": "Pinecone"}
ZOO_ROADMAP = [("Guided setup", "slow_setup", "2022-03-01"),
               ("Card retry", "payment_failure", "2022-09-12"),
               ("Faster bank sync", "performance", "2023-05-02"),
               ("Accounting connector", "integration_gap", "2023-11-20"),
               ("Custom invoice fields", "missing_feature", "")]
# b2c-events
B2C_PURCHASE_SHARE = 0.12                                # value events of the base kept as purchases
B2C_REFUND_SHARE = 0.06
# messy-categories
CITY_HEADS = ["Ash", "Bel", "Cor", "Dun", "Els", "Fair", "Glen", "Hal", "Ivy", "Kel", "Lang",
              "Mar", "Nor", "Oak", "Pen", "Quin", "Red", "Stan", "Tor", "Ux", "Val", "Wex", "Yar",
              "Zel", "Brom", "Crag", "Dray", "Fen", "Gor", "Hollin"]
CITY_TAILS = ["ford", "ton", "bury", "wick", "dale", "mouth", "field", "stead", "ham", "by",
              "minster", "port", "bridge", "well", "moor", "cliff", "holm", "thorpe", "worth",
              "gate"]
CITY_EXTRAS = ["", " Green", " Cross", " Heath"]
# contracts
CONTRACT_MONTHLY = (["Month-to-Month", "quarterly"], [0.8, 0.2])
CONTRACT_ANNUAL = (["One Year", "ANNUAL", "Two Year"], [0.5, 0.25, 0.25])
CONTRACT_REASONS = {"product_gap": "Missing features", "price_budget": "Too expensive",
                    "poor_onboarding": "Hard to get started", "service_support": "Poor support",
                    "competitive_loss": "Switched to a competitor",
                    "integration_stack": "Consolidating tools", "company_change": "Business changes",
                    "involuntary": "Payment failed", "other": "Something else"}
DONT_KNOW = "Don't know"
DONT_KNOW_SHARE = 0.12
# japanese
JA_SEGMENTS = {"SMB": "小規模", "Mid-Market": "中規模", "Enterprise": "大企業"}
JA_PLANS = {"Starter": "ライト", "Growth": "スタンダード", "Scale": "プレミアム"}
JA_INDUSTRIES = {"Software": "ソフトウェア", "Retail": "小売", "Healthcare": "医療",
                 "Financial Services": "金融", "Manufacturing": "製造", "Education": "教育",
                 "Media": "メディア"}
JA_REGIONS = {"North America": "関東", "EMEA": "関西", "APAC": "中部", "Japan": "九州",
              "LATAM": "北海道"}
JA_CHANNELS = {"organic": "自然検索", "paid_search": "検索広告", "partner": "販売代理店",
               "outbound_sales": "法人営業", "referral": "紹介"}
JA_CONTRACTS = {"monthly": "月払い", "annual": "年払い"}
JA_FORMATS = {"survey": "アンケート", "email": "メール", "call": "電話", "video": "ビデオ通話"}
JA_WOULD_RETURN = {"yes": "はい", "maybe": "わからない", "no": "いいえ"}
JA_PRIMARY = {"product_gap": "機能が足りない", "price_budget": "料金・予算の問題",
              "poor_onboarding": "導入・定着がうまくいかなかった", "service_support": "サポートへの不満",
              "competitive_loss": "他社製品に乗り換えた", "integration_stack": "社内ツールの統合",
              "company_change": "会社の事情", "involuntary": "支払いができなかった",
              "other": "その他の理由"}
JA_COMPETITORS = {"NorthWind Analytics": "北斗アナリティクス", "Northwind Inc.": "北斗システム株式会社",
                  "Northwind": "北斗システム", "northwind": "北斗システム", "Acme Analytics": "青葉クラウド",
                  "Globex": "白鷺ソフト", "Initech": "若葉データ"}
JA_ROADMAP = [("導入ガイドの刷新", "slow_setup", "2022-03-01"),
              ("カード決済の再試行", "payment_failure", "2022-09-12"),
              ("同期の高速化", "performance", "2023-05-02"),
              ("会計ソフト連携", "integration_gap", "2023-11-20"),
              ("請求書の項目カスタマイズ", "missing_feature", "")]
JA_YEN_PER_UNIT = 150                                    # MRR in yen

_TABLE_FILES = {"accounts": "accounts.csv", "subscriptions": "subscriptions.parquet",
                "users": "users.parquet", "events": "events.parquet",
                "exit_interviews": "exit_interviews.csv", "roadmap": "roadmap.csv"}


def _replace_names(values: pd.Series, names: dict) -> pd.Series:
    """Replace every occurrence of the keys of ``names`` (longest first) inside the strings."""
    import re
    pattern = re.compile("|".join(re.escape(k) for k in sorted(names, key=len, reverse=True)))
    return values.map(lambda s: pattern.sub(lambda m: names[m.group(0)], s))


def _zoo_base(out: Path, seed: int, n: int, start: str, end: str, *, hazard_scale: float = 1.0,
              verbatim_lang: str | None = None) -> dict:
    """A small sample-like company without planted problems, read back as frames (truth kept
    apart, ``truth/`` removed), its events thinned to :data:`ZOO_EVENT_SHARE`."""
    import shutil

    _write_company(out, seed=seed, n_accounts=n, start=start, end=end, events=True,
                   hazard_scale=hazard_scale, plant_problems=False, verbatim_lang=verbatim_lang,
                   success=False)
    csv = dict(dtype=str, keep_default_na=False)
    t = {"accounts": pd.read_csv(out / "accounts.csv", **csv),
         "exit_interviews": pd.read_csv(out / "exit_interviews.csv", **csv),
         "truth": pd.read_csv(out / "truth" / "accounts.csv", **csv),
         "subscriptions": pq.read_table(out / "subscriptions.parquet"),
         "users": pq.read_table(out / "users.parquet")}
    ev = pq.read_table(out / "events.parquet")
    keep = _rng(seed, "zoo_events").random(ev.num_rows) < ZOO_EVENT_SHARE
    t["events_all"] = ev
    t["events"] = ev.filter(pa.array(keep))
    shutil.rmtree(out / "truth")
    return t


def _rename_events(ev: pa.Table, names: dict) -> pa.Table:
    renamed = pd.Series(ev.column("event").to_pylist(), dtype=object).map(names)
    return ev.set_column(ev.schema.get_field_index("event"), "event",
                         pa.array(renamed.tolist(), pa.string()))


def _zoo(out, shape: str, *, seed: int, n_accounts: int | None) -> dict[str, int]:
    """Write zoo company ``shape`` into ``out`` (see :data:`SHAPES` and docs/sample-data.md)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    n = n_accounts or (MESSY_ACCOUNTS if shape == "messy-categories" else ZOO_ACCOUNTS)
    start, end = (FIRST_YEAR_START, FIRST_YEAR_END) if shape == "first-year" else (ZOO_START, ZOO_END)
    t = _zoo_base(out, seed, n, start, end, hazard_scale=0.0 if shape == "zero-churn" else 1.0,
                  verbatim_lang="ja" if shape == "japanese" else "en")
    acc, iv, truth = t["accounts"], t["exit_interviews"], t["truth"]
    rng = _rng(seed, "zoo", zlib.crc32(shape.encode()))
    ja = shape == "japanese"
    # the zoo's own names for everything the sample company owns
    if ja:
        for col, names in [("segment", JA_SEGMENTS), ("plan", JA_PLANS), ("industry", JA_INDUSTRIES),
                           ("region", JA_REGIONS), ("acquisition_channel", JA_CHANNELS),
                           ("contract", JA_CONTRACTS)]:
            acc[col] = acc[col].map(names)
        acc["mrr"] = (acc["mrr"].astype(float) * JA_YEN_PER_UNIT).map("{:.0f}".format)
        subs = t["subscriptions"]
        t["subscriptions"] = subs.set_column(
            2, "mrr", pc.multiply(subs.column("mrr"), pa.scalar(float(JA_YEN_PER_UNIT))))
        comp_names = JA_COMPETITORS
    else:
        for col, names in [("segment", ZOO_SEGMENTS), ("plan", ZOO_PLANS), ("region", ZOO_REGIONS)]:
            acc[col] = acc[col].map(names)
        comp_names = ZOO_COMPETITORS
    iv["competitor"] = _replace_names(iv["competitor"], comp_names)
    iv["verbatim"] = _replace_names(iv["verbatim"], comp_names)
    truth["competitor"] = _replace_names(truth["competitor"], comp_names)
    t["events"] = _rename_events(t["events"], ZOO_EVENTS)
    roadmap = pd.DataFrame(JA_ROADMAP if ja else ZOO_ROADMAP,
                           columns=["item", "secondary_reason", "shipped_at"])
    roadmap.loc[roadmap["shipped_at"] > end, "shipped_at"] = ""    # not shipped yet at the data end
    t["roadmap"] = roadmap
    config: dict = {"activity": {"events": list(ZOO_QUALIFIED), "min_count": 1}}
    tables = ["accounts", "subscriptions", "users", "events", "exit_interviews", "roadmap"]

    if shape == "accounts-only":
        tables, config = ["accounts"], None
    elif shape == "no-churn-column":
        acc = acc.drop(columns=["churn_date", "cancel_date"])
        tables = ["accounts", "users", "events"]
        config["analysis"] = {"inactivity_days": 90, "feature_event": ZOO_FEATURE}
    elif shape == "b2c-events":
        acc, t["events"] = _b2c(t["events_all"], acc, rng, end)
        tables = ["accounts", "events"]
        config = {"activity": {"events": ["purchase"], "min_count": 1},
                  "analysis": {"currency": "EUR", "inactivity_days": 90, "feature_event": "purchase"}}
    elif shape == "no-segments":
        acc = acc.drop(columns=["segment", "plan", "region"])
    elif shape == "single-segment":
        acc["segment"] = "Scale"
    elif shape == "messy-categories":
        na = len(acc)
        for col, share in [("segment", 0.15), ("industry", 0.10), ("acquisition_channel", 0.05)]:
            acc.loc[rng.random(na) < share, col] = ""
        acc["region"] = _cities(rng, na)
        named = (iv["competitor"] != "").to_numpy()
        iv.loc[named & (rng.random(len(iv)) < 0.5), "competitor"] = ""
        tables = ["accounts", "subscriptions", "exit_interviews", "roadmap"]
    elif shape == "no-user-id":
        t["events"] = t["events"].drop(["user_id"])
    elif shape == "all-respond":
        iv = _all_respond(iv, truth, end)
    elif shape == "none-respond":
        for col in ["completed_at", "primary_reason", "secondary_reason", "competitor",
                    "would_return", "recommend_score", "liked", "verbatim", "language"]:
            iv[col] = ""
    elif shape == "no-competitors":
        iv = iv.drop(columns=["competitor"])
    elif shape == "japanese":
        iv["format"] = iv["format"].map(JA_FORMATS)
        iv["would_return"] = iv["would_return"].map(lambda v: JA_WOULD_RETURN.get(v, v))
        iv["primary_reason"] = iv["primary_reason"].map(lambda v: JA_PRIMARY.get(v, v))
        ja_sec = _taxonomy_secondary_labels("ja")
        iv["secondary_reason"] = iv["secondary_reason"].map(lambda v: ja_sec.get(v, v))
        config["tables"] = {
            "accounts": {"values": {"contract": {v: k for k, v in JA_CONTRACTS.items()}}},
            "exit_interviews": {
                "values": {"format": {v: k for k, v in JA_FORMATS.items()},
                           "would_return": {v: k for k, v in JA_WOULD_RETURN.items()}},
                "reasons": {"primary_reason": {v: k for k, v in JA_PRIMARY.items()}}}}
        config["analysis"] = {"currency": "JPY", "language": "ja", "feature_event": ZOO_FEATURE}
    elif shape == "contracts":
        monthly = (acc["contract"] == "monthly").to_numpy()
        m_terms, m_p = CONTRACT_MONTHLY
        a_terms, a_p = CONTRACT_ANNUAL
        m_pick = np.array(m_terms, dtype=object)[_choice(rng, np.tile(m_p, (len(acc), 1)))]
        a_pick = np.array(a_terms, dtype=object)[_choice(rng, np.tile(a_p, (len(acc), 1)))]
        acc["contract"] = np.where(monthly, m_pick, a_pick)
        done = (iv["completed_at"] != "").to_numpy()
        dont_know = done & (rng.random(len(iv)) < DONT_KNOW_SHARE)
        iv["primary_reason"] = np.where(dont_know, DONT_KNOW,
                                        iv["primary_reason"].map(lambda v: CONTRACT_REASONS.get(v, v)))
        iv = iv.drop(columns=["secondary_reason"])
        mapping = {v: k for k, v in CONTRACT_REASONS.items()}
        mapping[DONT_KNOW] = "no_reason"
        config["tables"] = {"exit_interviews": {"reasons": {"primary_reason": mapping}}}
        config["analysis"] = {"currency": "EUR"}

    t["accounts"], t["exit_interviews"] = acc, iv
    for name, file in _TABLE_FILES.items():
        (out / file).unlink(missing_ok=True)
    counts: dict[str, int] = {}
    for name in tables:
        frame = t[name]
        if isinstance(frame, pa.Table):
            _write_parquet(frame, out / _TABLE_FILES[name],
                           EVENTS_ROW_GROUP if name == "events" else SMALL_ROW_GROUP)
            counts[name] = frame.num_rows
        else:
            _write_csv(frame, out / _TABLE_FILES[name])
            counts[name] = len(frame)
    cfg_path = out / "churnlab.yaml"
    cfg_path.unlink(missing_ok=True)
    if config:
        import yaml
        cfg_path.write_text(f"# Data config of the zoo company {shape!r} (churnlab sample --shape {shape})\n"
                            + yaml.safe_dump(config, allow_unicode=True, sort_keys=False),
                            encoding="utf-8")
    return counts


def _b2c(events: pa.Table, acc: pd.DataFrame, rng: np.random.Generator, end: str):
    """Customers (id and signup date) and their purchase / refund events, from the base company's
    value-creating events: a share of them become purchases, a few purchases are refunded."""
    ev = events.select(["account_id", "ts", "event"]).to_pandas()
    ev = ev[ev["event"].isin(["report_created", "dashboard_shared", "workflow_run", "export_created"])]
    ev = ev[rng.random(len(ev)) < B2C_PURCHASE_SHARE].reset_index(drop=True)
    ev["event"] = "purchase"
    ev["value"] = np.round(np.exp(rng.normal(3.4, 0.6, len(ev))), 2)
    ref = ev[rng.random(len(ev)) < B2C_REFUND_SHARE].copy()
    ref["event"] = "refund"
    ref["ts"] = ref["ts"] + pd.to_timedelta(rng.integers(1, 15, len(ref)), unit="D")
    ref = ref[ref["ts"] < pd.Timestamp(end, tz="UTC") + pd.Timedelta(days=1)]
    ev = pd.concat([ev, ref]).sort_values(["account_id", "ts", "event"], kind="stable")
    ev["account_id"] = "C" + ev["account_id"].str[1:]
    customers = pd.DataFrame({"account_id": "C" + acc["account_id"].str[1:],
                              "signup_date": acc["signup_date"]})
    table = pa.table({"account_id": pa.array(ev["account_id"].tolist(), pa.string()),
                      "ts": pa.array(ev["ts"], pa.timestamp("us", tz="UTC")),
                      "event": pa.array(ev["event"].tolist(), pa.string()),
                      "value": pa.array(ev["value"].to_numpy(), pa.float64())})
    return customers, table


def _cities(rng: np.random.Generator, n: int) -> np.ndarray:
    """A city per account: 30% in ten large cities, every other account in a town of its own."""
    names = np.array([h + t + x for h in CITY_HEADS for t in CITY_TAILS for x in CITY_EXTRAS],
                     dtype=object)
    names = names[rng.permutation(names.size)]
    big, towns = names[:10], names[10:]
    town = towns[np.arange(n) % towns.size]
    return np.where(rng.random(n) < 0.30, big[rng.integers(0, 10, n)], town)


def _all_respond(iv: pd.DataFrame, truth: pd.DataFrame, end: str) -> pd.DataFrame:
    """Every invitation answered: the non-responders answer two days later with their true reason."""
    iv = iv.copy()
    todo = (iv["completed_at"] == "").to_numpy()
    t = truth.set_index("account_id")
    ids = iv.loc[todo, "account_id"]
    day = (pd.to_datetime(iv.loc[todo, "invited_at"]) + pd.Timedelta(days=2)).clip(upper=pd.Timestamp(end))
    iv.loc[todo, "completed_at"] = day.dt.strftime("%Y-%m-%d").to_numpy()
    iv.loc[todo, "primary_reason"] = t.loc[ids, "true_primary_reason"].to_numpy()
    iv.loc[todo, "secondary_reason"] = t.loc[ids, "true_secondary_reason"].to_numpy()
    iv.loc[todo, "competitor"] = t.loc[ids, "competitor"].to_numpy()
    iv.loc[todo, "would_return"] = "maybe"
    iv.loc[todo, "recommend_score"] = "5"
    return iv


def _taxonomy_secondary_labels(lang: str) -> dict:
    """Secondary reason code -> its label in the shipped taxonomy."""
    import yaml
    tax = yaml.safe_load((Path(__file__).parent / "taxonomy.yaml").read_text(encoding="utf-8"))
    return {s: lab[lang] for p in tax["primary"].values() for s, lab in p["secondary"].items()}
