"""churnlab.plotting draws data labels literally: a "$", a backslash or "_^" never becomes mathtext.

Every plotting helper is drawn with a label taken from the data that holds a mathtext expression
with an unknown command (``$99 plan \\cost$``): parsed as math it would raise; drawn literally it is shown
as written. The test draws the figure (Agg) and checks the text that matplotlib renders.
"""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.text import Text  # noqa: E402

from churnlab import plotting  # noqa: E402
from churnlab.plotting import attrition as pa, reasons as pr, risk as prk, sentiment as ps, survival as psv  # noqa: E402

P = "$99 plan \\cost$ a_b^c"       # parsed as mathtext: ParseException (unknown symbol \cost)
Q = "Other \\plan"


def _attrition_trend():
    d = pd.DataFrame({"period": ["2026Q1", "2026Q2"] * 2, "period_start": pd.to_datetime(["2026-01-01", "2026-04-01"] * 2),
                      "attrition_rate": [0.1, 0.2, 0.15, 0.1], "attrition_rate_lo": 0.05, "attrition_rate_hi": 0.3,
                      "segment": [P, P, Q, Q]})
    return pa.plot_attrition_trend(d, hue="segment", title=P)


def _attrition_by_group():
    d = pd.DataFrame({"segment": [P, Q], "attrition_rate": [0.1, 0.2], "attrition_rate_lo": [0.05, 0.1],
                      "attrition_rate_hi": [0.2, 0.3], "start_count": [10, 20]})
    return pa.plot_attrition_by_group(d, group="segment", title=P)


def _reconciliation():
    d = pd.DataFrame({"period": "2026Q1", "order": [0, 1, 2], "sign": [0, -1, 0], "count": [10, 2, 8],
                      "step": [P, "churned", "end"], "measure": P})
    return pa.plot_reconciliation(d)


def _revenue():
    d = pd.DataFrame({"measure": [P, P], "period": ["2026Q1", "2026Q2"],
                      "period_start": pd.to_datetime(["2026-01-01", "2026-04-01"]), "rate": [0.01, 0.02]})
    return pa.plot_revenue_attrition(d, title=P)


def _reason_shares():
    d = pd.DataFrame({"label": [P, Q], "share": [0.6, 0.4], "share_lo": [0.4, 0.2], "share_hi": [0.8, 0.6],
                      "k": [6, 4], "mrr_share": [0.5, 0.5]})
    return pr.plot_reason_shares(d, title=P)


def _reason_trend():
    d = pd.DataFrame({"quarter": ["2026Q1", "2026Q2"] * 2, "reason": ["a", "a", "b", "b"], "label": [P, P, Q, Q],
                      "share": [0.5, 0.6, 0.5, 0.4], "share_lo": 0.1, "share_hi": 0.9, "k": [5, 6, 5, 4]})
    return pr.plot_reason_trend(d, title=P)


def _reason_heatmap():
    d = pd.DataFrame({"label": [P, Q, P, Q], "segment": [P, P, Q, Q], "share": [0.6, 0.4, 0.3, 0.7], "n": [10, 10, 5, 5]})
    return pr.plot_reason_heatmap(d, group="segment", title=P)


def _participation():
    d = pd.DataFrame({"format": [P, Q], "rate": [0.5, 0.4], "rate_lo": [0.3, 0.2], "rate_hi": [0.7, 0.6],
                      "k": [5, 4], "n": [10, 10], "target_lo": 0.4, "target_hi": 0.6})
    return pr.plot_participation(d, group="format", title=P)


def _reweighted():
    d = pd.DataFrame({"label": [P, Q], "share": [0.6, 0.4], "share_reweighted": [0.5, 0.5]})
    return pr.plot_reweighted_shares(d, title=P)


def _competitor_trend():
    d = pd.DataFrame({"quarter": ["2026Q1", "2026Q2"] * 2, "reason": [P, P, Q, Q], "k": [1, 2, 3, 1]})
    return pr.plot_competitor_trend(d, title=P)


def _sentiment_by_reason():
    d = pd.DataFrame({"primary_reason": ["a"] * 3 + ["b"] * 3, "sentiment_score": [-0.5, 0.1, 0.3, -0.9, -0.2, 0.5],
                      "sentiment_label": ["negative", "neutral", "positive"] * 2})
    return ps.plot_sentiment_by_reason(d, labels={"a": P, "b": Q}, title=P)


def _label_shares():
    d = pd.DataFrame({"primary_reason": ["a"] * 3, "sentiment_label": ["negative", "neutral", "positive"],
                      "share": [0.5, 0.3, 0.2], "verbatims": 10})
    return ps.plot_label_shares(d, labels={"a": P}, title=P)


def _tone_shares():
    d = pd.DataFrame({"segment": [P] * 3, "tone": ["frustrated", "respectful", "neutral"],
                      "share": [0.5, 0.3, 0.2], "verbatims": 10})
    return ps.plot_tone_shares(d, by="segment", title=P)


def _mentions():
    d = pd.DataFrame({"theme_en": [P, Q], "theme_ja": [P, Q], "share": [0.3, 0.2], "share_lo": [0.2, 0.1],
                      "share_hi": [0.4, 0.3], "mentions": [3, 2], "verbatims": 10})
    return ps.plot_mentions(d, title=P)


def _curves(group_cols):
    rows = []
    for keys in group_cols:
        for t, s in [(0, 1.0), (6, 0.8), (12, 0.6)]:
            rows.append({**keys, "time": t, "survival": s, "survival_lo": s - 0.1, "survival_hi": min(1, s + 0.1),
                         "at_risk": 10, "events": 1, "censored": 0})
    return pd.DataFrame(rows)


def _km():
    c = _curves([{"segment": P}, {"segment": Q}])
    ar = c[["segment", "time", "at_risk", "events", "censored"]]
    return psv.plot_km(c, at_risk=ar, title=P)


def _km_grid():
    c = _curves([{"segment": s, "era": e} for s in (P, Q) for e in (P + " before", "after")])
    return psv.plot_km_grid(c, col="segment", hue="era", at_risk=c[["segment", "era", "time", "at_risk", "events", "censored"]])


def _cohort_trend():
    d = pd.DataFrame({"cohort": [P, Q], "survival_12m": [0.8, 0.7], "survival_12m_lo": [0.7, 0.6],
                      "survival_12m_hi": [0.9, 0.8]})
    return psv.plot_cohort_trend(d, title=P, ylabel=P)


def _retention_heatmap():
    m = pd.DataFrame({"cohort": [P, P, Q], "months": [0, 1, 0], "retained": [1.0, 0.8, 1.0]})
    return psv.plot_retention_heatmap(m, title=P)


def _hazard_ratios():
    hr = pd.DataFrame({"covariate": [f"segment={P}"], "reference": [Q], "hazard_ratio": [2.0],
                       "hazard_ratio_lo": [1.5], "hazard_ratio_hi": [2.6]})
    return psv.plot_hazard_ratios(hr, title=P)


def _auc_trend():
    d = pd.DataFrame({"period": [P, Q], "auc": [0.7, 0.75], "auc_lo": [0.6, 0.65], "auc_hi": [0.8, 0.85]})
    return prk.plot_auc_trend(d, title=P)


CHARTS = [_attrition_trend, _attrition_by_group, _reconciliation, _revenue, _reason_shares, _reason_trend,
          _reason_heatmap, _participation, _reweighted, _competitor_trend, _sentiment_by_reason, _label_shares,
          _tone_shares, _mentions, _km, _km_grid, _cohort_trend, _retention_heatmap, _hazard_ratios, _auc_trend]


def _figure(out):
    return out.flat[0].figure if isinstance(out, np.ndarray) else out.figure


@pytest.mark.parametrize("chart", CHARTS, ids=lambda f: f.__name__.strip("_"))
def test_data_labels_are_drawn_literally(chart):
    matplotlib.rcdefaults()           # even when a session reset the style (parse_math True again)
    try:
        fig = _figure(chart())
        fig.canvas.draw()             # mathtext would raise here on "$\cost$"
        texts = [t for t in fig.findobj(Text) if t.get_visible() and t.get_text()]
        dollar = [t for t in texts if "$" in t.get_text()]
        assert dollar, "the data label was not drawn"
        assert any("$99" in t.get_text() and "\\cost" in t.get_text().replace("\n", " ") for t in texts)
        for t in dollar:
            # what the renderer draws: the text as written, not parsed as math
            assert t._preprocess_math(t.get_text()) == (t.get_text(), False), t.get_text()
    finally:
        plt.close("all")


def test_set_theme_turns_mathtext_and_usetex_off():
    matplotlib.rcdefaults()
    assert matplotlib.rcParams["text.parse_math"] is True
    plotting.set_theme()
    assert matplotlib.rcParams["text.parse_math"] is False and matplotlib.rcParams["text.usetex"] is False
    fig, ax = plt.subplots()
    try:
        ax.set_xticks([0, 1], [P, Q])          # plain matplotlib after set_theme draws literally too
        fig.canvas.draw()
        assert [t.get_text() for t in ax.get_xticklabels()] == [P, Q]
        assert all(t._preprocess_math(t.get_text())[1] is False for t in ax.get_xticklabels())
    finally:
        plt.close("all")


def test_unprotected_matplotlib_would_fail():
    """The payload is a real one: without literal text matplotlib cannot draw it."""
    with matplotlib.rc_context({"text.parse_math": True}):
        fig, ax = plt.subplots()
        try:
            ax.set_title(P)
            with pytest.raises(ValueError):
                fig.canvas.draw()
        finally:
            plt.close("all")


@pytest.mark.parametrize("n", [8, 26])
def test_auc_trend_labels_are_level_and_never_overlap(n):
    d = pd.DataFrame({"period": [f"20{20 + i // 4}Q{i % 4 + 1}" for i in range(n)], "auc": 0.7, "auc_lo": 0.6, "auc_hi": 0.8})
    try:
        plotting.set_theme()
        ax = prk.plot_auc_trend(d)
        ax.figure.canvas.draw()
        labels = ax.get_xticklabels()
        boxes = [t.get_window_extent() for t in labels]
        assert all(t.get_rotation() == 0 for t in labels)
        assert all(a.x1 < b.x0 for a, b in zip(boxes, boxes[1:])), "tick labels overlap"
        shown = [t.get_text() for t in labels]
        assert shown[0] == d["period"][0] and (n > 8 or shown == d["period"].tolist())   # 8 quarters: all shown
        assert ax.get_ylabel() == "ROC AUC (95% CI)"
    finally:
        plt.close("all")


def test_customer_labels_and_many_groups_cannot_blow_a_chart_up(tmp_path):
    """A 2,000-character segment name is drawn cut to MAX_LABEL characters, and a column of 800 groups
    shows its MAX_BARS largest, saying so; an empty bar's count is drawn beside it, in the text colour."""
    import matplotlib.pyplot as plt
    from PIL import Image

    from churnlab.plotting import attrition as pa
    from churnlab.plotting._style import MAX_LABEL

    d = pd.DataFrame({"seg": ["A" * 2000, "B", "C"], "attrition_rate": [0.1, 0.0, 0.3],
                      "attrition_rate_lo": [0.05, 0.0, 0.2], "attrition_rate_hi": [0.2, 0.1, 0.4],
                      "start_count": [10, 20, 30]})
    ax = pa.plot_attrition_by_group(d, group="seg", title="By segment")
    ax.figure.savefig(tmp_path / "long.png", bbox_inches="tight")
    assert max(len(t.get_text()) for t in ax.get_yticklabels()) == MAX_LABEL
    assert Image.open(tmp_path / "long.png").size[0] < 2000
    empty = [t for t in ax.texts if t.get_text().strip() == "n=20"][0]
    assert empty.get_color() != "white"
    plt.close("all")
    many = pd.DataFrame({"seg": [f"city {i}" for i in range(800)], "attrition_rate": 0.1, "attrition_rate_lo": 0.05,
                         "attrition_rate_hi": 0.2, "start_count": range(800)})
    ax = pa.plot_attrition_by_group(many, group="seg")
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert len(labels) == pa.MAX_BARS and "city 799" in labels and "city 0" not in labels
    assert "the 20 largest of 800 groups" in ax.get_xlabel()
    plt.close("all")
