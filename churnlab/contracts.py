"""Contract terms as companies write them, normalised to a few labels and a term length in months.

Exports spell contract terms many ways ("Month-to-Month", "One Year", "ANNUAL", "24 months"). The
accounts' ``contract`` column is normalised case-insensitively to :data:`TERMS` labels, and the term
length in months goes to ``contract_months`` for the renewal analyses. A label that is not a
recognisable term is kept as it is (with an empty term length), and the data check says so.
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

#: Normalised label -> term length in months (``NaN``: a multi-year term of unstated length).
TERMS = {"monthly": 1, "quarterly": 3, "semi-annual": 6, "annual": 12, "two-year": 24, "three-year": 36,
         "multi-year": np.nan}

_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "twelve": 12, "a": 1}
_ALIASES = {
    "monthly": "monthly", "month": "monthly", "month to month": "monthly", "mtm": "monthly", "m2m": "monthly",
    "per month": "monthly", "monthly rolling": "monthly", "rolling": "monthly", "pay as you go": "monthly",
    "quarterly": "quarterly", "quarter": "quarterly",
    "semi annual": "semi-annual", "semiannual": "semi-annual", "semi annually": "semi-annual",
    "half year": "semi-annual", "half yearly": "semi-annual", "biannual": "semi-annual",
    "annual": "annual", "annually": "annual", "yearly": "annual", "year": "annual", "per year": "annual",
    "yr": "annual", "1yr": "annual", "12m": "annual",
    "biennial": "two-year", "two yearly": "two-year",
    "multi year": "multi-year", "multiyear": "multi-year",
}
_TERM_RE = re.compile(r"^(\d+|one|two|three|four|five|six|twelve|a)\s*(years?|yrs?|y|months?|mos?|m)$")


def normalise_term(label) -> tuple[object, float]:
    """``(label, months)`` for one contract term; an unknown label is returned as given, months NaN.

    Examples
    --------
    >>> [normalise_term(x) for x in ["Month-to-Month", "One Year", "ANNUAL", "24 months", "2-year"]]
    [('monthly', 1.0), ('annual', 12.0), ('annual', 12.0), ('two-year', 24.0), ('two-year', 24.0)]
    >>> normalise_term("Evergreen")
    ('Evergreen', nan)
    """
    if label is None or (isinstance(label, float) and np.isnan(label)):
        return None, np.nan
    key = re.sub(r"[\s_\-/]+", " ", str(label).strip().lower()).strip()
    key = re.sub(r"\b(contract|term|plan|subscription|billing|billed|commitment)\b", "", key).strip()
    key = re.sub(r"\s+", " ", key)
    if key in _ALIASES:
        name = _ALIASES[key]
        return name, float(TERMS[name])
    m = _TERM_RE.match(key.replace(" ", ""))
    if m:
        n = int(m.group(1)) if m.group(1).isdigit() else _WORDS[m.group(1)]
        months = n * 12 if m.group(2).startswith("y") else n
        if months <= 0:
            return str(label), np.nan
        name = next((k for k, v in TERMS.items() if v == months), None)
        if name is None:
            name = f"{months // 12}-year" if months % 12 == 0 else f"{months}-month"
        return name, float(months)
    return str(label), np.nan


def normalise_contracts(values: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Normalise a ``contract`` column: ``(labels, months, unknown)``, ``unknown`` marking kept labels.

    Examples
    --------
    >>> lab, months, unknown = normalise_contracts(pd.Series(["Two Year", None, "Custom"]))
    >>> lab.tolist(), months.tolist()[0], unknown.tolist()
    (['two-year', None, 'Custom'], 24.0, [False, False, True])
    """
    uniq = {v: normalise_term(v) for v in pd.Series(values).dropna().unique()}
    labels = values.map(lambda v: uniq[v][0] if v in uniq else None).astype(object)
    months = values.map(lambda v: uniq[v][1] if v in uniq else np.nan).astype(float)
    unknown = values.notna() & months.isna() & (labels != "multi-year")
    return labels.where(values.notna(), None), months, unknown
