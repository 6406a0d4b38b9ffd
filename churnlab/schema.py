"""Canonical tables, their validation, and the accounting of every row.

A fatal problem raises :class:`DataValidationError`, whose message names the table, the source file,
the column, the problem, how many rows have it and up to five example rows with their line numbers in
the source file. A non-fatal problem excludes the rows concerned; each exclusion is counted in the
row-accounting table (``table, file, read, used, excluded, reason``) that the data-check report shows.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

#: Name of the column that carries each row's line number in its source file (header = line 1).
LINE_COL = "_line"


class DataValidationError(ValueError):
    """A problem in the input data that stops the review.

    Parameters
    ----------
    table : str
        Canonical table name (``accounts``, ``events`` ...).
    column : str or None
        The canonical column concerned (``None`` for a table-level problem).
    problem : str
        What is wrong, in words.
    file : str, optional
        The source file (or warehouse table) the rows came from.
    rows : int
        How many rows have the problem.
    examples : DataFrame, optional
        Example rows; at most five are shown, with their source line numbers when the frame has a
        ``_line`` column.

    Examples
    --------
    >>> ex = pd.DataFrame({"_line": [3], "account_id": ["A1"], "signup_date": ["2024-13-01"]})
    >>> err = DataValidationError("accounts", "signup_date", "is not a date (expected YYYY-MM-DD)",
    ...                           file="accounts.csv", rows=1, examples=ex)
    >>> print(err)
    accounts (accounts.csv), column 'signup_date': 1 row is not a date (expected YYYY-MM-DD).
      line 3: account_id='A1', signup_date='2024-13-01'
    """

    def __init__(self, table: str, column: str | None, problem: str, *, file: str | None = None,
                 rows: int = 0, examples: pd.DataFrame | None = None):
        self.table, self.column, self.problem = table, column, problem
        self.file, self.rows = file, int(rows)
        self.examples = None if examples is None else examples.head(5)
        super().__init__(self._message())

    def _message(self) -> str:
        where = f"{self.table} ({self.file})" if self.file else self.table
        if self.column:
            where += f", column '{self.column}'"
        if self.rows:
            head = f"{where}: {self.rows:,} row{'s' if self.rows != 1 else ''} {self.problem}."
        else:
            head = f"{where}: {self.problem}."
        return "\n".join([head] + [f"  {line}" for line in example_lines(self.examples, quote=True)])


def _short(v):
    if v is None or (isinstance(v, float) and pd.isna(v)) or v is pd.NaT:
        return ""
    if isinstance(v, pd.Timestamp):
        v = v.date() if v == v.normalize() else v.floor("s")
    s = str(v)
    return s if len(s) <= 60 else s[:57] + "..."


@dataclass(frozen=True)
class TableSpec:
    """Columns of a canonical table (name -> kind), which are required, its key and allowed values."""

    columns: dict
    required: tuple
    key: tuple = ()
    allowed: dict = field(default_factory=dict)


#: The canonical tables of the data contract. Kinds: str, date, timestamp, float, int, bool.
TABLES = {
    "accounts": TableSpec(
        columns={"account_id": "str", "signup_date": "date", "churn_date": "date", "cancel_date": "date",
                 "plan": "str", "contract": "str", "segment": "str", "industry": "str", "region": "str",
                 "acquisition_channel": "str", "employees": "float", "seats": "float", "mrr": "float",
                 "icp_fit": "bool"},
        required=("account_id", "signup_date"), key=("account_id",)),
    "subscriptions": TableSpec(
        columns={"account_id": "str", "month": "date", "mrr": "float", "seats": "float"},
        required=("account_id", "month", "mrr"), key=("account_id", "month")),
    "users": TableSpec(
        columns={"user_id": "str", "account_id": "str", "created_at": "timestamp",
                 "deactivated_at": "timestamp", "role": "str"},
        required=("user_id", "account_id", "created_at"), key=("user_id",)),
    "events": TableSpec(
        columns={"account_id": "str", "ts": "timestamp", "event": "str", "user_id": "str", "value": "float"},
        required=("account_id", "ts", "event")),
    "exit_interviews": TableSpec(
        columns={"account_id": "str", "invited_at": "timestamp", "completed_at": "timestamp",
                 "format": "str", "primary_reason": "str", "secondary_reason": "str", "competitor": "str",
                 "would_return": "str", "recommend_score": "float", "liked": "str", "verbatim": "str",
                 "language": "str"},
        required=("account_id", "invited_at"), key=("account_id",),
        allowed={"format": {"survey", "email", "call", "video"}, "would_return": {"yes", "maybe", "no"},
                 "language": {"en", "ja"}}),
    "roadmap": TableSpec(
        columns={"item": "str", "secondary_reason": "str", "shipped_at": "date"},
        required=("item", "secondary_reason")),
    # Customer-success tables (optional; the at-risk review uses whichever exist).
    "health_scores": TableSpec(
        columns={"account_id": "str", "scored_at": "date", "score": "float", "band": "str",
                 "usage_score": "float", "support_score": "float", "relationship_score": "float"},
        required=("account_id", "scored_at", "score"), key=("account_id", "scored_at"),
        allowed={"band": {"red", "yellow", "green"}}),
    "support_tickets": TableSpec(
        columns={"ticket_id": "str", "account_id": "str", "opened_at": "timestamp",
                 "resolved_at": "timestamp", "priority": "str", "escalated": "bool", "topic": "str",
                 "text": "str"},
        required=("ticket_id", "account_id", "opened_at"), key=("ticket_id",),
        allowed={"priority": {"low", "normal", "high", "urgent"}}),
    "nps_responses": TableSpec(
        columns={"account_id": "str", "user_id": "str", "responded_at": "timestamp", "score": "float",
                 "comment": "str"},
        required=("account_id", "responded_at", "score")),
    "touchpoints": TableSpec(
        columns={"account_id": "str", "at": "timestamp", "kind": "str", "outcome": "str"},
        required=("account_id", "at", "kind"),
        allowed={"kind": {"meeting", "call", "email", "qbr", "training"},
                 "outcome": {"held", "cancelled", "no-show"}}),
}
#: The optional customer-success tables of the at-risk review.
SUCCESS_TABLES = ("health_scores", "support_tickets", "nps_responses", "touchpoints")


class ExclusionLog:
    """Counts rows read, used and excluded (by reason) per table, with example rows."""

    def __init__(self):
        self._read, self._used, self._files = {}, {}, {}
        self._excl: list[dict] = []
        self._find: list[dict] = []
        #: ids of account rows excluded while the accounts table was read (a missing signup date):
        #: their rows in other tables are "account excluded from accounts", not unknown ids
        self.excluded_accounts: set = set()

    def read(self, table, file, n):
        self._read[table], self._files[table] = int(n), file

    def used(self, table, n):
        self._used[table] = int(n)

    def exclude(self, table, file, reason, n, examples=None):
        self._excl.append({"table": table, "reason": reason, "rows": int(n)})
        self._find.append({"table": table, "file": file, "severity": "excluded", "problem": reason,
                           "rows": int(n), "examples": _examples_text(examples)})

    def fix(self, table, file, problem, n, examples=None, *, severity: str = "value removed"):
        self._find.append({"table": table, "file": file, "severity": severity, "problem": problem,
                           "rows": int(n), "examples": _examples_text(examples)})

    def note(self, table, file, problem, n=0, examples=None, *, severity="note"):
        """A finding that excludes no row: a table read in another way, or treated as absent."""
        self._find.append({"table": table, "file": file, "severity": severity, "problem": problem,
                           "rows": int(n), "examples": _examples_text(examples)})

    def merge(self, other: "ExclusionLog"):
        """Add what ``other`` recorded, as if it had been recorded here, now."""
        for t, n in other._read.items():
            self.read(t, other._files[t], n)
        self._used.update(other._used)
        self._excl.extend(other._excl)
        self._find.extend(other._find)

    def excluded_count(self, table) -> int:
        return sum(e["rows"] for e in self._excl if e["table"] == table)

    def rows(self) -> pd.DataFrame:
        """One row per table: ``table, file, read, excluded, used`` (read = excluded + used)."""
        out = []
        for t in self._read:
            excluded = self.excluded_count(t)
            used = self._used.get(t, self._read[t] - excluded)
            if used + excluded != self._read[t]:
                raise AssertionError(f"row accounting of {t} does not add up: read {self._read[t]}, "
                                     f"used {used}, excluded {excluded}")
            out.append({"table": t, "file": self._files[t], "read": self._read[t],
                        "excluded": excluded, "used": used})
        return pd.DataFrame(out, columns=["table", "file", "read", "excluded", "used"])

    def exclusions(self) -> pd.DataFrame:
        """One row per table and reason: ``table, reason, rows``."""
        return pd.DataFrame(self._excl, columns=["table", "reason", "rows"])

    def findings(self) -> pd.DataFrame:
        """Every non-fatal finding: ``table, file, severity, problem, rows, examples``."""
        return pd.DataFrame(self._find, columns=["table", "file", "severity", "problem", "rows", "examples"])


def example_lines(examples: pd.DataFrame | None, *, limit: int = 5, quote: bool = False) -> list[str]:
    """Example rows as ``line 12: account_id=A1, signup_date=...`` (``row`` for Parquet sources)."""
    if examples is None or not len(examples):
        return []
    word = examples.attrs.get("line_word", "line")
    out = []
    for _, row in examples.head(limit).iterrows():
        cells = ", ".join(f"{c}={_short(v)!r}" if quote else f"{c}={_short(v)}"
                          for c, v in row.items() if c != LINE_COL)
        has_line = LINE_COL in row.index and pd.notna(row[LINE_COL])
        out.append(f"{word} {int(row[LINE_COL])}: {cells}" if has_line else cells)
    return out


def _examples_text(examples: pd.DataFrame | None) -> str:
    return "; ".join(example_lines(examples))
