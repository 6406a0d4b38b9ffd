"""Every notebook follows the project's conventions (the notebooks themselves run under nbval)."""
import json
import re
from pathlib import Path

import pytest
from papermill.translators import PythonTranslator

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
REQUIRED_PARAMETERS = {"quarter", "data_dir", "config", "out_dir"}


def _cells(path):
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def test_the_five_review_notebooks_exist():
    assert {p.stem for p in NOTEBOOKS} >= {"00-data-check", "10-attrition", "20-survival",
                                           "30-churn-reasons", "40-exit-sentiment"}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_conventions(path):
    cells = _cells(path)
    assert cells[0]["cell_type"] == "markdown" and "".join(cells[0]["source"]).lstrip().startswith("# ")
    params = [c for c in cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(params) == 1 and params[0] is cells[1], "one parameters cell, right after the title"
    src = "".join(params[0]["source"])
    parsed = PythonTranslator.inspect({"source": src})
    names = {p.name for p in parsed}
    assert REQUIRED_PARAMETERS <= names
    for line in src.splitlines():
        if line.strip():
            assert re.match(r"^\w+\s*=\s*\S.*#\s*\S", line), f"parameter without a comment: {line!r}"
            assert line.split("=", 1)[0].strip() in names, f"papermill cannot parse: {line!r}"
    for i, c in enumerate(cells):
        if c["cell_type"] != "code":
            continue
        code = "".join(c["source"])
        assert not re.search(r"^\s*(def|class)\s", code, re.M), f"cell {i} defines a function or class"
        if c.get("outputs"):
            assert "NBVAL_CHECK_OUTPUT" in code, f"cell {i} has stored output outside NBVAL_CHECK_OUTPUT"
