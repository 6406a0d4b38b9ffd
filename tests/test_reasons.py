"""Tests of churnlab.reasons: taxonomy, mapping, shares, intervals, re-weighting, trends, win-back."""
from __future__ import annotations

import pandas as pd
import pytest

from churnlab import reasons as R
from churnlab.schema import DataValidationError

TAX = R.load_taxonomy()


# ---------------------------------------------------------------- taxonomy

def test_shipped_taxonomy_has_design_codes_and_both_languages():
    expected = {
        "product_gap": {"missing_feature", "performance", "integration_gap", "ux"},
        "price_budget": {"too_expensive", "budget_cut", "low_roi"},
        "poor_onboarding": {"slow_setup", "low_adoption", "training"},
        "service_support": {"slow_response", "unresolved_issue", "account_management"},
        "competitive_loss": {"better_features", "better_price", "better_service", "better_fit"},
        "integration_stack": {"stack_consolidation", "in_house_build"},
        "company_change": {"acquisition", "shutdown", "reorganisation"},
        "involuntary": {"payment_failure"},
        "other": {"other"},
    }
    assert {p: set(n["secondary"]) for p, n in TAX["primary"].items()} == expected
    for p, node in TAX["primary"].items():
        assert node["en"] and node["ja"] and node["ja"] != node["en"] or p == "other"
        for s in node["secondary"].values():
            assert s["en"] and s["ja"]
    assert TAX["no_reason"]["en"] == "No reason given"


def test_user_taxonomy_replaces_shipped(tmp_path):
    f = tmp_path / "tax.yaml"
    f.write_text("primary:\n  cost:\n    en: Cost\n    secondary:\n      high: {en: High}\n", encoding="utf-8")
    tax = R.load_taxonomy(f)
    assert list(tax["primary"]) == ["cost"]
    assert tax["primary"]["cost"]["ja"] == "Cost"          # falls back to English
    assert "stripe" not in tax["vocabularies"]              # its codes do not exist here


def test_invalid_taxonomy_is_a_clear_error(tmp_path):
    f = tmp_path / "tax.yaml"
    f.write_text("primary:\n  Cost:\n    en: Cost\n", encoding="utf-8")
    with pytest.raises(ValueError, match="lower_snake_case"):
        R.load_taxonomy(f)


# ---------------------------------------------------------------- mapping

def _iv(primary, secondary=None):
    n = len(primary)
    return pd.DataFrame({"_line": range(2, n + 2), "account_id": [f"A{i}" for i in range(n)],
                         "primary_reason": primary,
                         "secondary_reason": secondary if secondary is not None else [None] * n})


def _codes(df):
    return [[None if pd.isna(v) else v for v in row]
            for row in df[["primary_reason", "secondary_reason"]].astype(object).values.tolist()]


def test_canonical_codes_and_labels_in_both_languages_case_insensitive():
    df = _iv(["product_gap", "PRICE / BUDGET", "競合への乗り換え", "  other "],
             ["Integration gap", "budget_cut", "better_fit", None])
    out = R.normalise_reasons(df, taxonomy=TAX)
    assert _codes(out) == [["product_gap", "integration_gap"], ["price_budget", "budget_cut"],
                           ["competitive_loss", "better_fit"], ["other", None]]
    assert list(out["_line"]) == [2, 3, 4, 5]
    assert df["primary_reason"].iloc[1] == "PRICE / BUDGET"           # input untouched


def test_stripe_codes_out_of_the_box():
    stripe = ["too_expensive", "missing_features", "switched_service", "unused",
              "customer_service", "too_complex", "low_quality", "other"]
    out = R.normalise_reasons(_iv(stripe), taxonomy=TAX, mapping="stripe")
    assert _codes(out) == [["price_budget", "too_expensive"], ["product_gap", "missing_feature"],
                           ["competitive_loss", None], ["poor_onboarding", "low_adoption"],
                           ["service_support", None], ["product_gap", "ux"],
                           ["product_gap", "performance"], ["other", None]]


def test_blank_reasons_stay_missing_not_other():
    out = R.normalise_reasons(_iv(["", None, "   ", float("nan")]), taxonomy=TAX)
    assert out["primary_reason"].isna().all() and out["secondary_reason"].isna().all()


def test_config_mapping_with_pairs_fills_blank_secondary():
    mapping = {"primary_reason": {"Too pricey": "price_budget", "No API": "product_gap/integration_gap"},
               "secondary_reason": {"Cheaper rival": "competitive_loss/better_price"}}
    df = _iv(["too pricey", "No API", "No API", "Competition"], [None, None, "ux", "Cheaper rival"])
    mapping["primary_reason"]["Competition"] = "competitive_loss"
    out = R.normalise_reasons(df, taxonomy=TAX, mapping=mapping)
    assert _codes(out) == [["price_budget", None], ["product_gap", "integration_gap"],
                           ["product_gap", "ux"], ["competitive_loss", "better_price"]]


def test_unmapped_values_are_listed_never_other():
    df = _iv(["Too pricey", "product_gap", "Bad vibes", "Too pricey"])
    with pytest.raises(DataValidationError) as exc:
        R.normalise_reasons(df, taxonomy=TAX, file="exits.csv")
    err = exc.value
    assert err.column == "primary_reason" and err.rows == 3 and err.file == "exits.csv"
    assert "'Bad vibes', 'Too pricey'" in str(err)
    assert "line 2:" in str(err) and "line 4:" in str(err)


def test_unmapped_secondary_and_inconsistent_pair_are_errors():
    with pytest.raises(DataValidationError, match="'Vague'") as exc:
        R.normalise_reasons(_iv(["product_gap"], ["Vague"]), taxonomy=TAX)
    assert exc.value.column == "secondary_reason"
    with pytest.raises(DataValidationError, match="does not belong") as exc:
        R.normalise_reasons(_iv(["price_budget", "product_gap"], ["better_price", "ux"]), taxonomy=TAX)
    assert exc.value.rows == 1


def test_mapping_to_unknown_code_is_a_config_error():
    with pytest.raises(ValueError, match="not a reason of the taxonomy"):
        R.normalise_reasons(_iv(["x"]), taxonomy=TAX, mapping={"primary_reason": {"x": "pricing"}})
    with pytest.raises(ValueError, match="preset"):
        R.normalise_reasons(_iv(["x"]), taxonomy=TAX, mapping="chargebee")
