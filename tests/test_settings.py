"""Company settings: notebook parameter, else data config, else derived from the data (and each key matters)."""
import ibis
import pandas as pd
import pytest

from churnlab import settings
from churnlab.config import Config, ConfigError, config_for, load_config

ACC = pd.DataFrame({"account_id": ["a", "b", "c"], "signup_date": pd.to_datetime(["2025-01-01"] * 3),
                    "segment": ["Starter", "Scale", None], "plan": ["x", "y", "x"], "region": ["n", "s", "n"]})
EV = ibis.memtable(pd.DataFrame({
    "account_id": ["a", "a", "b", "b", "b", "c"],
    "event": ["login", "invoice_sent", "project_created", "project_created", "session_start", "page_view"],
    "ts": pd.to_datetime(["2025-02-01"] * 6)}))


class DS:
    def __init__(self, cfg=None, accounts=ACC, events=EV):
        self.accounts, self.events, self.config = accounts, events, cfg or Config()


def _cfg(tmp_path, text):
    p = tmp_path / "c.yaml"
    p.write_text(text)
    return load_config(p)


def test_derived_settings_follow_the_documented_rules():
    s = settings.resolve(DS())
    assert s.qualified_events == ["project_created", "invoice_sent"]   # logins, sessions, page views left out
    assert s.feature_event == "project_created"                         # the most frequent qualified event
    assert s.segment_col == "segment" and s.segment_cols == ["segment", "plan", "region"]
    assert s.changes == [] and s.change is None and s.currency == "" and s.language == "en"
    assert (s.min_count, s.inactivity_days) == (1, 60)
    assert set(s.source.values()) == {"derived"}
    assert any("every event except sign-ins" in t for t in s.describe())


def test_without_a_segment_column_or_events():
    s = settings.resolve(DS(accounts=ACC.drop(columns=["segment"]), events=None))
    assert s.segment_col is None and s.qualified_events == [] and s.feature_event is None
    assert any("no segment column" in t for t in s.describe())
    only_logins = ibis.memtable(pd.DataFrame({"account_id": ["a"], "event": ["login"], "ts": pd.to_datetime(["2025-02-01"])}))
    assert settings.resolve(DS(events=only_logins)).qualified_events == ["login"]


def test_every_config_key_changes_the_settings(tmp_path):
    cfg = _cfg(tmp_path, """
activity: {events: [invoice_sent], min_count: 3}
analysis:
  segment_col: plan
  segment_cols: [region]
  drivers: [plan, region]
  feature_event: invoice_sent
  changes: [{date: 2025-06-01, label: the new pricing}]
  currency: EUR
  language: ja
  inactivity_days: 30
""")
    s = settings.resolve(DS(cfg))
    base = settings.resolve(DS())
    got = {k: getattr(s, k) for k in ("qualified_events", "min_count", "segment_col", "segment_cols", "drivers",
                                      "feature_event", "changes", "currency", "language", "inactivity_days")}
    assert got == {"qualified_events": ["invoice_sent"], "min_count": 3, "segment_col": "plan",
                   "segment_cols": ["region"], "drivers": ["plan", "region"], "feature_event": "invoice_sent",
                   "changes": [{"date": "2025-06-01", "label": "the new pricing"}], "currency": "€",
                   "language": "ja", "inactivity_days": 30}
    for k, v in got.items():
        assert getattr(base, k) != v, k
    assert set(s.source.values()) == {"data config"}
    # a notebook parameter wins over the config
    p = settings.resolve(DS(cfg), segment_col="region", min_count=2, change_date="2025-09-01", change_name="X")
    assert (p.segment_col, p.min_count, p.change) == ("region", 2, {"date": "2025-09-01", "label": "X"})


@pytest.mark.parametrize("text, words", [
    ("analysis: {segment: plan}", "unknown key(s) ['segment']"),
    ("analysis: {inactivity_days: soon}", "inactivity_days must be a whole number"),
    ("analysis: {language: fr}", "language must be en or ja"),
    ("analysis: {changes: [{date: 2025-13-01, label: x}]}", "a date that does not exist"),
    ("analysis: {changes: [{date: 'June 2025', label: x}]}", "not a date of the form YYYY-MM-DD"),
    ("analysis: {changes: [{when: 2025-01-01}]}", "must be {date"),
    ("analysis: {segment_cols: 3}", "list of account column names"),
    ("activity: {min_count: two}", "min_count must be a whole number"),
    ("activity: {events: {a: 1}}", "list of event names"),
    ("activity: {evnts: [a]}", "unknown key"),
    ("analysis: [a, b]", "must be a mapping"),
])
def test_config_mistakes_are_named(tmp_path, text, words):
    with pytest.raises(ConfigError) as e:
        _cfg(tmp_path, text)
    assert words in str(e.value)


def test_risk_section_of_the_config(tmp_path):
    cfg = _cfg(tmp_path, "risk: {high_value_mrr: 2000, low_value_mrr: 300, medium_risk: 0.05, high_risk: 0.15, "
                         "signals_to_act: 3}")
    assert cfg.risk == {"high_value_mrr": 2000.0, "low_value_mrr": 300.0, "medium_risk": 0.05, "high_risk": 0.15,
                        "signals_to_act": 3}
    for text, words in [("risk: {high_risk: 15}", "between 0 and 1"), ("risk: {low_value_mrr: -1}", "cannot be negative"),
                        ("risk: {medium_risk: 0.3, high_risk: 0.1}", "swap them"), ("risk: {tiers: 4}", "unknown key"),
                        ("risk: {signals_to_act: many}", "whole number"), ("risk: {high_value_mrr: lots}", "must be a number")]:
        with pytest.raises(ConfigError) as e:
            _cfg(tmp_path, text)
        assert words in str(e.value), text


def test_the_data_folder_config_is_found(tmp_path):
    assert config_for(tmp_path).path is None
    (tmp_path / "churnlab.yaml").write_text("analysis: {currency: JPY}\n")
    assert config_for(tmp_path).analysis == {"currency": "JPY"}
    other = tmp_path / "other.yaml"
    other.write_text("analysis: {currency: GBP}\n")
    assert config_for(tmp_path, other).analysis == {"currency": "GBP"}
    assert settings.currency_sign("JPY") == "¥" and settings.currency_sign("chf") == "chf"


def test_the_readme_configs_are_valid(tmp_path):
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    blocks = [b for b in re.findall(r"```yaml\n(.*?)```", text, re.S) if "tables:" in b or "analysis:" in b]
    with_settings = 0
    for i, b in enumerate(blocks):
        p = tmp_path / f"c{i}.yaml"
        p.write_text(b)
        cfg = load_config(p)                       # every documented config is valid
        with_settings += bool(cfg.analysis and cfg.activity_events)
    assert with_settings >= 2                      # the event-only and the B2B company configs


@pytest.mark.parametrize("yaml_text, given, says", [
    ("activity:\n  events: [invoice_sent, invoice_snet]\n", {}, "activity.events in the data config names invoice_snet"),
    ("analysis:\n  feature_event: nope\n", {}, "analysis.feature_event in the data config names nope"),
    ("analysis:\n  segment_col: tier\n", {}, "analysis.segment_col in the data config names tier"),
    ("", {"qualified_events": "invoice_sent,nope"}, "The qualified_events parameter names nope"),
    ("", {"segment_col": "tier"}, "The segment_col parameter names tier"),
])
def test_a_named_event_or_column_the_data_lacks_is_a_config_error(tmp_path, yaml_text, given, says):
    """A typo in an event or column name would otherwise analyse nothing under the analyst's name for it
    (accounts split by an event nobody used): it stops the review and names what the data has."""
    with pytest.raises(ConfigError) as e:
        settings.resolve(DS(_cfg(tmp_path, yaml_text) if yaml_text else None), check=True, **given)
    assert says in str(e.value)
    if "column" in says or "segment_col" in says:
        assert "segment, plan, region" in str(e.value) and "_line" not in str(e.value)
    else:
        assert "project_created, invoice_sent, login, page_view, session_start" in str(e.value)   # most frequent first


def test_named_settings_the_data_has_and_derived_columns_pass(tmp_path):
    s = settings.resolve(DS(_cfg(tmp_path, "activity:\n  events: [invoice_sent]\nanalysis:\n  feature_event: invoice_sent\n")),
                         check=True)
    assert s.qualified_events == ["invoice_sent"] and s.feature_event == "invoice_sent"
    with_size = ACC.assign(employees=[5, 50, 500])
    assert settings.resolve(DS(accounts=with_size), segment_col="size_band", check=True).segment_col is None
    assert settings.resolve(DS(events=None), qualified_events="anything", check=True).qualified_events == ["anything"]
    assert settings.resolve(DS(), qualified_events="nope").qualified_events == ["nope"]   # not checked: the CLI did
