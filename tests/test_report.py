"""The review runner: papermill execution, HTML publishing, index and metrics."""
import json
import textwrap

import nbformat
import pandas as pd
import pytest

from churnlab import cli, report


def _nb(path, *cells):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    params = nbformat.v4.new_code_cell(
        'quarter = ""  # quarter\ndata_dir = ""  # data\nconfig = ""  # config\nout_dir = ""  # out')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_markdown_cell("# A report"), params] + \
        [nbformat.v4.new_code_cell(textwrap.dedent(c)) for c in cells]
    nbformat.write(nb, str(path))


@pytest.fixture
def data(tmp_path):
    d = tmp_path / "data"
    d.mkdir()
    (d / "accounts.csv").write_text("account_id,signup_date,churn_date\nA1,2025-01-01,\nA2,2025-02-01,2025-08-15\n"
                                    "A3,2025-03-01,2025-12-31\n")
    return d


@pytest.fixture
def notebooks(tmp_path):
    nbd = tmp_path / "nbs"
    nbd.mkdir()
    _nb(nbd / "10-attrition.ipynb",
        """
        import sys
        from churnlab import report
        print("quarter", quarter)
        print("secret warning", file=sys.stderr)
        report.save_metrics(out_dir, "attrition", {"logo_attrition_rate": 0.25, "logo_start": 4,
                                                   "logo_churned": 1, "logo_new_excluded": 0})
        """)
    _nb(nbd / "20-survival.ipynb", "x = 1", "raise ValueError('no lifetimes <b>here</b>')")
    _nb(nbd / "30-churn-reasons.ipynb", "print('reasons')")
    return nbd


def test_review_runs_every_notebook_and_reports_failures(data, notebooks, tmp_path):
    out = tmp_path / "rep"
    res = report.run_review(data, out, notebook_dir=notebooks, progress=False, echo=lambda *a: None,
                            notebooks=["10-attrition", "20-survival"])
    assert res.quarter == "2025Q4"  # data ends 2025-12-31: the latest complete quarter
    by = {n.name: n for n in res.notebooks}
    assert by["10-attrition"].ok and not by["20-survival"].ok
    assert "ValueError" in by["20-survival"].error and "cell In [4]" in by["20-survival"].error
    # executed notebooks are kept, HTML written for both (the failed one with a notice, no traceback)
    assert (out / "notebooks" / "10-attrition.ipynb").exists()
    ok_html = (out / "10-attrition.html").read_text()
    assert "quarter 2025Q4" in ok_html and "secret warning" not in ok_html and "save_metrics" not in ok_html
    bad_html = (out / "20-survival.html").read_text()
    assert "could not be completed" in bad_html and "Traceback" not in bad_html
    assert "<b>here</b>" not in bad_html and "&lt;b&gt;here&lt;/b&gt;" in bad_html
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["quarter"] == "2025Q4" and metrics["logo_attrition_rate"] == 0.25
    assert metrics["rows"]["accounts"] == {"file": "accounts.csv", "read": 3, "used": 3, "excluded": 0,
                                           "exclusions": {}}
    index = (out / "index.html").read_text()
    assert "25.0%" in index and "failed" in index and "href='10-attrition.html'" in index


def test_what_a_kernel_writes_past_the_notebook_goes_to_its_log_not_the_console(data, tmp_path, capfd):
    """Native code and a JVM write to the kernel's standard error directly (a Spark review's warnings):
    the review keeps it beside the executed notebook, personal data removed, and names it when the
    notebook fails; a kernel that wrote nothing leaves no file."""
    nbd = tmp_path / "nbs"
    nbd.mkdir()
    _nb(nbd / "10-attrition.ipynb", "import os\nos.write(2, b'WARN NativeCodeLoader: noise for ops@example.com\\n')")
    _nb(nbd / "20-survival.ipynb", "import os\nos.write(2, b'JVM: out of memory\\n')", "raise MemoryError('heap')")
    _nb(nbd / "30-churn-reasons.ipynb", "x = 1")
    lines = []
    out = tmp_path / "rep"
    for jobs in (1, 2):   # in this process, and in worker processes
        lines.clear()
        res = report.run_review(data, out, notebook_dir=nbd, progress=False, echo=lines.append, jobs=jobs,
                                notebooks=["10-attrition", "20-survival", "30-churn-reasons"])
        console = capfd.readouterr()
        assert "NativeCodeLoader" not in console.err + console.out and "JVM" not in console.err + console.out
        logs = out / "notebooks"
        kept = (logs / "10-attrition.kernel.log").read_text()
        assert "NativeCodeLoader: noise for" in kept and "ops@example.com" not in kept
        assert "JVM: out of memory" in (logs / "20-survival.kernel.log").read_text()
        assert not (logs / "30-churn-reasons.kernel.log").exists()
        assert [n.ok for n in res.notebooks] == [True, False, True]
        assert any(str(logs / "20-survival.kernel.log") in ln for ln in lines)
        assert not any("10-attrition.kernel.log" in ln for ln in lines)


def test_cli_review_exits_non_zero_naming_notebook_and_cell(data, notebooks, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(report, "default_notebook_dir", lambda: notebooks)
    code = cli.main(["review", "--data", str(data), "--out", str(tmp_path / "r"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 1 and "20-survival: cell In [4]: ValueError" in err


def test_cli_validate_and_fatal_errors(data, capsys):
    assert cli.main(["validate", "--data", str(data)]) == 0
    out = capsys.readouterr().out
    assert "accounts" in out and "No rows excluded" in out
    (data / "accounts.csv").write_text("account_id,signup\nA1,2025-01-01\n")
    assert cli.main(["validate", "--data", str(data)]) == 2
    err = capsys.readouterr().err
    assert "required column 'signup_date' missing" in err


def test_save_metrics_converts_numpy_and_skips_without_out_dir(tmp_path):
    import numpy as np

    assert report.save_metrics("", "x", {"a": 1}) is None
    report.save_metrics(tmp_path, "x", {"a": np.float64(0.5), "b": np.int64(3), "c": float("nan"),
                                        "d": {"e": pd.Timestamp("2026-01-01")}})
    p = report.metrics_path(tmp_path, "x")
    assert json.loads(p.read_text()) == {"a": 0.5, "b": 3, "c": None, "d": {"e": "2026-01-01T00:00:00"}}


def test_headline_cards_only_show_what_was_measured():
    from churnlab import summary

    cards = summary.kpis({"quarter": "2026Q3", "logo_attrition_rate": 0.031})
    assert [(c["label"], c["value"]) for c in cards] == [("Logo attrition", 0.031)]
    assert cards[0]["prev"] is None and cards[0]["prev_p"] is None   # no history saved: no change shown


def test_health_score_card_reads_as_an_auc_not_a_percentage():
    from churnlab import summary

    cards = summary.kpis({"quarter": "2026Q3", "health_score_auc": 0.7094, "health_score_auc_lo": 0.653,
                          "health_score_auc_hi": 0.761})
    card = [c for c in cards if c["key"] == "health_score_auc"][0]
    html = report._card_html(card, "$")
    assert "<div class='v'>0.71</div>" in html and "95% CI 0.65-0.76" in html and "70.9" not in html
    assert summary.change_text(dict(card, prev=0.7461), "prev") == "-0.04 vs 2026Q2"


def test_team_cards_leave_out_reasons_nobody_gave():
    from churnlab import summary

    teams = summary.audiences({"reason_shares": {"product_gap": 0.37, "integration_stack": 0.0},
                               "reason_labels": {"product_gap": "Product gap", "integration_stack": "Integration"}})
    assert "Product gap 37%" in teams[0]["text"] and "Integration" not in teams[0]["text"]


def test_styled_escapes_customer_text():
    html = report.styled(pd.DataFrame({"verbatim": ["<script>alert(1)</script>"]})).to_html()
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_cli_help_and_sample(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["--help"])
    assert e.value.code == 0 and "review" in capsys.readouterr().out
    assert cli.main(["sample", "--accounts", "60", "--out", str(tmp_path / "s")]) == 0
    out = capsys.readouterr().out
    assert "accounts" in out and "events" in out and (tmp_path / "s" / "accounts.csv").exists()
    assert cli.main(["validate", "--data", str(tmp_path / "s")]) == 0


def test_review_skips_notebooks_whose_tables_are_absent(data, notebooks, tmp_path):
    out = tmp_path / "rep"
    res = report.run_review(data, out, notebook_dir=notebooks, progress=False, echo=lambda *a: None,
                            notebooks=["30-churn-reasons"])
    n = res.notebooks[0]
    assert res.ok and n.skipped == "needs the exit_interviews table, which data does not have"
    (data / "exit_interviews.csv").write_text("account_id,invited_at\nA2,2025-08-16\n")
    res = report.run_review(data, tmp_path / "rep2", notebook_dir=notebooks, progress=False,
                            echo=lambda *a: None, notebooks=["40-exit-sentiment"])
    assert res.notebooks[0].skipped == "needs a verbatim column in exit_interviews, which data does not have"
    assert not (out / "30-churn-reasons.html").exists()
    assert "not run" in (out / "index.html").read_text()


def test_quarter_is_checked_against_the_data(data, notebooks, tmp_path):
    from churnlab.config import ConfigError

    run = dict(notebook_dir=notebooks, progress=False, echo=lambda *a: None, notebooks=["30-churn-reasons"])
    for q, words in [("2026Q1", "not complete in the data"), ("2024Q3", "ends before the first signup"),
                     ("2026-Q5", "is not a quarter"), ("Q3", "is not a quarter")]:
        with pytest.raises(ConfigError) as e:
            report.run_review(data, tmp_path / "r", quarter=q, **run)
        assert words in str(e.value) and "2025-01-01 to 2025-12-31" in str(e.value) and "2025Q1 to 2025Q4" in str(e.value)
    assert report.run_review(data, tmp_path / "r", quarter="2025Q1", **run).quarter == "2025Q1"
    assert cli.main(["review", "--data", str(data), "--quarter", "2027Q1", "--only", "30-churn-reasons"]) == 2


def test_parameters_are_checked_against_the_notebooks(data, notebooks, tmp_path):
    from churnlab.config import ConfigError

    assert report.parse_parameters(["min_count=2", "events=a, b"]) == {"min_count": 2, "events": "a, b"}
    with pytest.raises(ConfigError) as e:
        report.check_parameters({"min_cnt": 2}, notebooks)
    assert "unknown parameter 'min_cnt'" in str(e.value)
    with pytest.raises(ConfigError) as e:
        report.check_parameters({"quarter": "2025Q1"}, notebooks)
    assert "--quarter" in str(e.value)
    real = report.check_parameters({"min_count": 3, "segment_col": "plan", "qualified_events": "x, y"})
    assert real["10-attrition"] == {"min_count": 3, "segment_col": "plan", "qualified_events": ["x", "y"]}
    assert real["20-survival"] == {"segment_col": "plan"}
    with pytest.raises(ConfigError) as e:
        report.check_parameters({"min_count": "two"})
    assert "must be a number" in str(e.value)
    p = tmp_path / "p.yaml"
    p.write_text("trend_quarters: 4\nmin_count: 1\n")
    assert report.parse_parameters(["min_count=5"], [p]) == {"trend_quarters": 4, "min_count": 5}


def test_only_merges_with_the_reports_already_in_the_folder(data, notebooks, tmp_path):
    out = tmp_path / "rep"
    _nb(notebooks / "00-data-check.ipynb", """
        from churnlab import report
        report.save_metrics(out_dir, "data", {"participation_rate": 0.5})""")
    run = dict(notebook_dir=notebooks, progress=False, echo=lambda *a: None)
    report.run_review(data, out, notebooks=["10-attrition"], **run)
    res = report.run_review(data, out, notebooks=["00-data-check"], **run)
    assert [n.name for n in res.notebooks] == ["00-data-check", "10-attrition"]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["logo_attrition_rate"] == 0.25 and metrics["participation_rate"] == 0.5
    index = (out / "index.html").read_text()
    assert "10-attrition.html" in index and "00-data-check.html" in index and "25.0%" in index
    # a full run starts afresh
    res = report.run_review(data, out, **{**run, "notebook_dir": notebooks})
    assert "participation_rate" in json.loads((out / "metrics.json").read_text())


def test_index_page_escapes_errors_and_labels(tmp_path):
    res = report.ReviewResult(tmp_path, "2026Q3", [report.NotebookResult(
        "10-attrition", False, 1.0, error="ValueError: <img src=x onerror=alert(1)>")],
        metrics={"reason_shares": {"x": 0.5}, "reason_labels": {"x": "<script>alert(1)</script>"}})
    page = report.write_index(res).read_text(encoding="utf-8")
    assert "<img" not in page and "<script>" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page and "&lt;script&gt;" in page


class _Data:
    def __init__(self, **frames):
        self.__dict__.update(frames)


def test_personal_data_of_a_dataset():
    ds = _Data(exit_interviews=pd.DataFrame({"verbatim": ["Mail ｊａｎｅ＠ｅｘａｍｐｌｅ．ｃｏｍ or call x1234.",
                                                          "See bit.ly/3xYz and 212-555-0123.", None],
                                             "mrr": [1.0, 2.0, 3.0]}),
               accounts=pd.DataFrame({"account_id": ["1234567890"], "segment": ["SMB", "2026-08-03 11:48"][:1]}),
               findings=pd.DataFrame({"examples": ["line 3: account_id='0123456789', note='mail a.b@example.com'"]}),
               events=object())
    assert report.personal_data(ds) == ["ｊａｎｅ＠ｅｘａｍｐｌｅ．ｃｏｍ", "a.b@example.com", "212-555-0123",
                                        "bit.ly/3xYz", "x1234"]   # longest first; no ids, no numbers of findings


def test_redact_notebook_removes_personal_data_from_every_output(tmp_path):
    pii = ["jane@example.com", "212-555-0123"]
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("x")
    cell.outputs = [
        nbformat.v4.new_output("stream", name="stdout", text="quote: write to jane@example.com\n0.991  0.950  0.948\n"),
        nbformat.v4.new_output("stream", name="stderr", text="warning about +1 415 555 0147\n"),
        nbformat.v4.new_output("display_data", data={"text/html": "<td>call 212-555-0123 &amp; JANE@example.com</td>",
                                                     "text/plain": "212-555-0123"}),
        nbformat.v4.new_output("error", ename="ValueError", evalue="bad jane@example.com",
                               traceback=["line with 212-555-0123"]),
    ]
    nb.cells.append(cell)
    path = tmp_path / "nb.ipynb"
    nbformat.write(nb, str(path))
    assert report.redact_notebook(path, pii) == 4
    text = path.read_text(encoding="utf-8")
    assert "jane@" not in text.lower() and "555-0123" not in text and "555 0147" not in text
    assert "0.991  0.950  0.948" in text                    # figures are left as they are
    out = nbformat.read(str(path), as_version=4).cells[0].outputs
    assert out[0]["text"].startswith("quote: write to [redacted]")
    assert out[2]["data"]["text/html"] == "<td>call [redacted] &amp; [redacted]</td>"


def test_review_notebooks_open_the_validated_snapshot(data, tmp_path):
    import os

    from churnlab.sources import SNAPSHOT_ENV

    nbd = tmp_path / "nbs-snapshot"
    nbd.mkdir()
    _nb(nbd / "00-data-check.ipynb",
        """
        import os
        from pathlib import Path
        from churnlab import sources
        snap = Path(os.environ["CHURNLAB_SNAPSHOT"])
        # the data folder cannot be read any more: only the snapshot can give the dataset
        (Path(data_dir) / "accounts.csv").rename(Path(data_dir) / "gone.txt")
        try:
            ds = sources.load(data_dir, config or None)
        finally:
            (Path(data_dir) / "gone.txt").rename(Path(data_dir) / "accounts.csv")
        assert snap.parent == Path(out_dir) and sources.is_snapshot(snap)
        assert str(ds.source_dir) == data_dir and list(ds.accounts.account_id) == ["A1", "A2", "A3"]
        assert int(ds.rows.set_index("table").loc["accounts", "read"]) == 3
        """)
    out = tmp_path / "rep"
    res = report.run_review(data, out, notebook_dir=nbd, progress=False, echo=lambda *a: None)
    assert res.ok, res.notebooks[0].error
    assert not (out / ".snapshot").exists() and SNAPSHOT_ENV not in os.environ  # customer data not left behind


def test_long_tables_fold_and_link_their_csv(tmp_path, monkeypatch):
    """A table of more than FOLD_OVER rows shows its first FOLD_SHOW on the page, folds the rest behind
    "Show all N rows" (no script) and links its data twin, whose rows are the table's; a short table
    is left alone. Tables made by styled() and by the drill-down alike."""
    import re

    from churnlab import presentation, reasons

    out = tmp_path / "rep"
    monkeypatch.setenv(presentation.DATA_DIR_ENV, str(out / "data"))
    monkeypatch.setenv(presentation.PAGE_ENV, "p")
    monkeypatch.setattr(presentation, "_twins", {})
    n = presentation.FOLD_OVER + 12
    long = pd.DataFrame({"account_id": [f"A{i:03d}" for i in range(n)], "mrr": [10.0 * i for i in range(n)]})
    drill = pd.DataFrame({"account_id": [f"D{i:03d}" for i in range(n + 3)], "responded": True, "reason": "price_budget",
                          "reason_label": "Price / budget", "mrr": 5.0})
    outputs = [report.styled(long, money=["mrr"], caption="Win-back list").to_html(),
               report.styled(long.head(presentation.FOLD_OVER), money=["mrr"], caption="Short list").to_html(),
               reasons.drilldown_html(drill)]
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("")
    cell.outputs = [nbformat.v4.new_output("display_data", data={"text/html": h}) for h in outputs]
    nb.cells = [nbformat.v4.new_markdown_cell("# Page"), cell]
    nbformat.write(nb, str(tmp_path / "p.ipynb"))
    page = report.export_html(tmp_path / "p.ipynb", out / "p.html").read_text(encoding="utf-8")

    folds = re.findall(r'<div class="fold-table">(.*?)</div>', page, re.S)
    assert len(folds) == 2                                     # the win-back list and the drill-down, not the short one
    for fold, first, rows in zip(folds, ("A000", "D000"), (n, n + 3)):
        # details first (the CSS hides the rows of the table after it while closed), then the table, then the link
        assert fold.index("<details") < fold.index("<table") < fold.index('class="csv"')
        assert f"Show all {rows} rows" in fold and f"Download all {rows} rows (CSV)" in fold
        body = re.findall(r"<tr\b[^>]*>(?:(?!</tr>).)*<td", fold, re.S)
        assert len(body) == rows
        assert fold.count('<tr class="fold-more"') == rows - presentation.FOLD_SHOW
        href = re.search(r'<a\b[^>]*\bhref="([^"]+)"', fold).group(1)
        assert href.startswith("data/") and (out / href).is_file()
        twin = pd.read_csv(out / href)
        assert len(twin) == rows and twin["account_id"].iloc[0] == first
        shown = re.findall(r"<td[^>]*>\s*([AD]\d{3})\s*</td>", fold)
        assert shown == twin["account_id"].tolist()            # the same rows, in the same order
    short = page[page.index("Short list"):]
    short = short[:short.index("</table>")]
    assert "fold-more" not in short and "Show all" not in short
    assert "details.fold:not([open]) + table tr.fold-more" in report.stylesheet()
    # without its twin (a page published elsewhere) the table still folds, with no dead link
    for f in (out / "data").glob("p-win-back-list*.csv"):
        f.unlink()
    again = report.export_html(tmp_path / "p.ipynb", out / "p2.html").read_text(encoding="utf-8")
    assert again.count('<div class="fold-table">') == 2 and again.count('class="csv"><a') == 1


def test_an_account_id_that_is_an_email_address_is_personal_data(tmp_path):
    """B2C exports key accounts by e-mail address: it is removed from the executed notebooks (so from the
    pages) and from every published CSV; ids made of digits are not telephone numbers."""
    from types import SimpleNamespace

    from churnlab import presentation

    ds = SimpleNamespace(accounts=pd.DataFrame({"account_id": ["jane.doe273@corp.example", "09012345678", "A1"],
                                                "mrr": [1.0, 2.0, 3.0]}))
    assert report.personal_data(ds) == ["jane.doe273@corp.example"]
    path = presentation.write_csv(ds.accounts, tmp_path / "at-risk.csv")
    text = path.read_text(encoding="utf-8")
    assert "jane.doe273" not in text and "[email]" in text and "09012345678" in text and "A1" in text


def test_validate_and_review_stop_on_a_segment_column_the_accounts_lack(data, notebooks, tmp_path, capsys,
                                                                        monkeypatch):
    (data / "churnlab.yaml").write_text("analysis:\n  segment_col: tier\n")
    assert cli.main(["validate", "--data", str(data)]) == 2
    assert "analysis.segment_col in the data config names tier" in capsys.readouterr().err
    monkeypatch.setattr(report, "default_notebook_dir", lambda: notebooks)
    assert cli.main(["review", "--data", str(data), "--out", str(tmp_path / "r"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "analysis.segment_col in the data config names tier" in err and "Traceback" not in err
    assert not (tmp_path / "r" / "notebooks").exists()   # before any notebook ran
