"""A company whose exports use their own names runs through the whole review via its data config."""
import json
from pathlib import Path

from churnlab import report

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "other-company"


def test_other_company_review_end_to_end(tmp_path):
    res = report.run_review(EXAMPLE, tmp_path / "rep", config=EXAMPLE / "config.yaml", progress=False,
                            echo=lambda *a: None)
    failed = {n.name: n.error for n in res.notebooks if not n.ok}
    assert not failed, failed
    assert [n.name for n in res.notebooks if not n.skipped] == list(report.NOTEBOOKS)
    metrics = json.loads((tmp_path / "rep" / "metrics.json").read_text())
    assert metrics["rows"]["accounts"]["file"] == "customers.csv"
    assert metrics["rows"]["exit_interviews"]["file"] == "cancellation_survey.csv"
    assert 0 <= metrics["logo_attrition_rate"] <= 1 and 0 < metrics["participation_rate"] <= 1
    assert set(metrics["reason_shares"]) <= {"product_gap", "price_budget", "poor_onboarding",
                                             "service_support", "competitive_loss", "integration_stack",
                                             "company_change", "involuntary", "other", "no_reason"}
