"""Run the review notebooks and publish them as static HTML for stakeholders.

papermill executes each notebook with the review's parameters into the report folder (the executed
notebooks are kept); nbconvert's HTMLExporter, with code cells excluded, writes one HTML page per
notebook; an ``index.html`` shows the quarter's headline figures and links to every page, and
``metrics.json`` collects the figures each notebook saved with :func:`save_metrics`.
"""
from __future__ import annotations

import contextlib
import json
import math
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from . import presentation

NOTEBOOKS = ("00-data-check", "10-attrition", "20-survival", "30-churn-reasons", "40-exit-sentiment")
TITLES = {
    "00-data-check": "Data check",
    "10-attrition": "Attrition: how many did we lose?",
    "20-survival": "Survival: when do customers leave?",
    "30-churn-reasons": "Churn reasons: why do they leave?",
    "40-exit-sentiment": "Exit sentiment: how do they feel?",
}
#: What each notebook needs besides accounts: a table, or "table.column" with some non-empty values.
#: Without it the review skips the notebook and the index says why.
NEEDS = {"30-churn-reasons": ("exit_interviews",),
         "40-exit-sentiment": ("exit_interviews", "exit_interviews.verbatim")}


def missing_needs(dataset, name: str) -> list[str]:
    """What of :data:`NEEDS` notebook ``name`` lacks in ``dataset``, in words (empty: it can run)."""
    out = []
    for need in NEEDS.get(name, ()):
        table, _, column = need.partition(".")
        frame = getattr(dataset, table, None)
        if frame is None:
            if f"the {table} table" not in out:
                out.append(f"the {table} table")
        elif column and (column not in frame or not frame[column].notna().any()):
            out.append(f"a {column} column in {table}")
    return out


_METRICS_DIR = "metrics"


def default_notebook_dir() -> Path:
    """The ``notebooks/`` folder of the churnlab checkout."""
    return Path(__file__).resolve().parent.parent / "notebooks"


def metrics_path(out_dir, section: str) -> Path:
    """Where :func:`save_metrics` writes ``section`` inside the report folder ``out_dir``."""
    return Path(out_dir) / _METRICS_DIR / f"{section}.json"


def save_metrics(out_dir, section: str, values: dict) -> None:
    """Save a notebook's headline figures; ``churnlab review`` merges them into ``metrics.json``.

    Does nothing when ``out_dir`` is empty, so notebooks run interactively or under nbval write no
    files. numpy and pandas scalars are converted to plain JSON values. Returns ``None`` so that a
    notebook cell ending with it shows nothing.

    Examples
    --------
    >>> save_metrics("", "attrition", {"logo_attrition_rate": 0.031})
    """
    if not out_dir:
        return None
    path = metrics_path(out_dir, section)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(_plain(values), indent=2, ensure_ascii=False, sort_keys=True), encoding="utf-8")
    return None


def _plain(v):
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, pd.DataFrame):
        return _plain(v.to_dict("records"))
    if isinstance(v, (pd.Timestamp,)):
        return v.isoformat()
    if hasattr(v, "item") and not isinstance(v, (str, bytes)):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if v is pd.NA or v is pd.NaT:
        return None
    return v


@dataclass
class NotebookResult:
    name: str
    ok: bool
    seconds: float
    error: str = ""
    html: str = ""
    skipped: str = ""  # why the notebook was not run (a table it needs is absent)


@dataclass
class ReviewResult:
    """What :func:`run_review` did: the report folder, quarter, per-notebook results and metrics."""

    out_dir: Path
    quarter: str
    notebooks: list[NotebookResult] = field(default_factory=list)
    metrics: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(n.ok for n in self.notebooks)


def data_range(dataset) -> tuple[pd.Timestamp, pd.Timestamp]:
    """First and last day of the data: the earliest signup and the data's end."""
    first = pd.Timestamp(dataset.accounts["signup_date"].min()).normalize()
    return first, pd.Timestamp(dataset.data_end).normalize()


def resolve_quarter(dataset, quarter: str | None) -> str:
    """The quarter to review: the given one, or the latest complete quarter in the data.

    A quarter that cannot be reviewed on this data (malformed, not yet complete at the data's end, or
    ending before the first signup) raises :class:`churnlab.config.ConfigError` naming the data's range.
    """
    from .config import ConfigError
    from .periods import Period, latest_complete_quarter, period_of

    first, last = data_range(dataset)
    earliest = period_of(first, "quarter")
    latest = latest_complete_quarter(last)
    span = (f"the data runs from {first.date()} to {last.date()}, so the quarters that can be reviewed are "
            f"{earliest.label} to {latest.label}")
    if latest.end <= earliest.start:
        raise ConfigError(f"the data covers no complete quarter: it runs from {first.date()} to {last.date()}")
    if not quarter:
        return latest.label
    try:
        q = Period.quarter(quarter)
    except ValueError:
        raise ConfigError(f"--quarter {quarter!r} is not a quarter; write it as 2026Q3 (year, Q, 1-4); "
                          f"{span}") from None
    if q.last_day > last:
        raise ConfigError(f"quarter {q.label} is not complete in the data (it ends on {q.last_day.date()}); "
                          f"{span}")
    if q.end <= first:
        raise ConfigError(f"quarter {q.label} ends before the first signup; {span}")
    return q.label


#: Parameters every notebook takes from the review itself (set them with the review's own options).
REVIEW_PARAMETERS = {"quarter": "--quarter", "data_dir": "--data", "config": "--config", "out_dir": "--out"}


def notebook_parameters(notebook_dir=None, names=None) -> dict[str, dict]:
    """Each notebook's parameters: ``{notebook: {name: default value}}`` from its ``parameters`` cell."""
    import nbformat
    from papermill.translators import PythonTranslator

    nb_dir = Path(notebook_dir or default_notebook_dir())
    out = {}
    for name in names or [n for n in NOTEBOOKS if (nb_dir / f"{n}.ipynb").exists()]:
        if not (nb_dir / f"{name}.ipynb").exists():
            continue
        nb = nbformat.read(str(nb_dir / f"{name}.ipynb"), as_version=4)
        cell = next((c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])), None)
        params = {}
        if cell is not None:
            ns: dict = {}
            exec(compile(cell.source, f"{name} parameters", "exec"), {}, ns)  # literals only (tested)
            params = {p.name: ns.get(p.name) for p in PythonTranslator.inspect({"source": cell.source})}
        out[name] = params
    return out


def check_parameters(given: dict, notebook_dir=None, names=None) -> dict[str, dict]:
    """Check review parameters (``-p NAME=VALUE``, ``--params FILE``) against the notebooks'.

    Returns ``{notebook: {name: value}}``: each value goes to the notebooks that have that parameter,
    converted to the type of its default (a comma-separated text becomes a list where the default is
    a list). An unknown name, or a value of the wrong kind, raises
    :class:`churnlab.config.ConfigError` listing the valid names.
    """
    from .config import ConfigError

    defaults = notebook_parameters(notebook_dir, names)
    valid = sorted({k for d in defaults.values() for k in d} - set(REVIEW_PARAMETERS))
    out: dict[str, dict] = {n: {} for n in defaults}
    for key, value in (given or {}).items():
        if key in REVIEW_PARAMETERS:
            raise ConfigError(f"parameter {key!r} is set with the review's own option {REVIEW_PARAMETERS[key]}")
        if key not in valid:
            raise ConfigError(f"unknown parameter {key!r}; the notebooks take: {', '.join(valid)}")
        for nb, d in defaults.items():
            if key in d:
                out[nb][key] = _convert_parameter(key, value, d[key])
    return out


def _convert_parameter(key, value, default):
    from .config import ConfigError

    if isinstance(default, list) and isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
        raise ConfigError(f"parameter {key!r} must be true or false; got {value!r}")
    if isinstance(default, (int, float)) and not isinstance(default, bool):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return type(default)(value) if isinstance(default, float) or value == int(value) else value
        raise ConfigError(f"parameter {key!r} must be a number (like {default!r}); got {value!r}")
    if isinstance(default, list) and not isinstance(value, list):
        raise ConfigError(f"parameter {key!r} must be a list (like {default!r}); got {value!r}")
    if isinstance(default, str) and not isinstance(value, str):
        return str(value)
    return value


def parse_parameters(pairs=(), files=()) -> dict:
    """``-p NAME=VALUE`` pairs and ``--params FILE.yaml`` files as one mapping (pairs win).

    Values are read as YAML scalars: ``-p min_count=2`` gives the number 2, ``-p segment_col=plan`` text.

    Examples
    --------
    >>> parse_parameters(["min_count=2", "qualified_events=[a, b]", "segment_col=plan"])
    {'min_count': 2, 'qualified_events': ['a', 'b'], 'segment_col': 'plan'}
    """
    import yaml

    from .config import ConfigError

    out: dict = {}
    for f in files or ():
        path = Path(f)
        if not path.is_file():
            raise ConfigError(f"parameters file {path} does not exist")
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as e:
            raise ConfigError(f"parameters file {path} is not valid YAML: {e}") from None
        if not isinstance(data, dict):
            raise ConfigError(f"parameters file {path} must map parameter names to values")
        out.update({str(k): v for k, v in data.items()})
    for pair in pairs or ():
        key, sep, raw = str(pair).partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"-p {pair!r}: write a parameter as NAME=VALUE, e.g. -p min_count=2")
        try:
            value = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError:
            value = raw
        out[key.strip()] = value
    return out


def run_review(data_dir, out_dir=None, *, quarter: str | None = None, config=None, notebooks=None,
               notebook_dir=None, progress: bool = True, echo=print, parameters: dict | None = None
               ) -> ReviewResult:
    """Run the quarterly review: validate the data, execute each notebook, publish HTML.

    Parameters
    ----------
    data_dir : path
        Folder with the canonical tables.
    out_dir : path, optional
        Report folder; default ``reports/<quarter>``.
    quarter : str, optional
        ``"2026Q3"``; default the latest complete quarter in the data.
    config : path, optional
        YAML data config.
    notebooks : list of str, optional
        Notebook names to run (default all of :data:`NOTEBOOKS` found in ``notebook_dir``).
    notebook_dir : path, optional
        Where the notebooks are (default the checkout's ``notebooks/``).
    parameters : dict, optional
        Notebook parameters (``{name: value}``), checked by :func:`check_parameters`; each goes to the
        notebooks that take it.

    Returns
    -------
    ReviewResult
        A failed notebook does not stop the others; check ``result.ok``.

    Raises
    ------
    churnlab.schema.DataValidationError
        When the data cannot be used at all (nothing is run then).
    """
    from .sources import load

    from .config import ConfigError

    data_dir = Path(data_dir).resolve()
    nb_dir = Path(notebook_dir or default_notebook_dir()).resolve()
    available_names = [n for n in NOTEBOOKS if (nb_dir / f"{n}.ipynb").exists()]
    unknown = [n for n in (notebooks or []) if n not in NOTEBOOKS and not (nb_dir / f"{n}.ipynb").exists()]
    if unknown:
        raise ConfigError(f"--only {', '.join(unknown)}: no such report; the reports are "
                          f"{', '.join(available_names)}")
    names = list(notebooks or available_names)
    per_notebook = check_parameters(parameters or {}, nb_dir, names)
    dataset = load(data_dir, config)            # fatal data problems stop here, before any notebook
    q = resolve_quarter(dataset, quarter)
    out = Path(out_dir or Path("reports") / q).resolve()
    (out / "notebooks").mkdir(parents=True, exist_ok=True)
    mdir = out / _METRICS_DIR
    earlier = _earlier_results(out, q) if notebooks else {}
    if mdir.exists():
        for f in mdir.glob("*.json"):
            # a partial run (--only) keeps the other reports' figures of the same quarter
            if not earlier or f.stem in {_METRICS_SECTIONS.get(n, n) for n in names} or f.name == _STATUS_FILE:
                f.unlink()
    params = {"quarter": q, "data_dir": str(data_dir), "config": str(Path(config).resolve()) if config else "",
              "out_dir": str(out)}
    result = ReviewResult(out, q)
    pii = personal_data(dataset)   # removed from every executed notebook before it is published
    echo(f"churnlab review {q}: {len(names)} notebooks, data {data_dir}, reports in {out}")
    with _validated_snapshot(dataset, out):
        _run_notebooks(result, names, dataset, data_dir, nb_dir, out, params, per_notebook, pii, progress, echo)

    if earlier:
        ran = {n.name for n in result.notebooks}
        result.notebooks = sorted([*result.notebooks, *(r for n, r in earlier.items() if n not in ran)],
                                  key=lambda r: NOTEBOOKS.index(r.name) if r.name in NOTEBOOKS else 99)
    mdir.mkdir(parents=True, exist_ok=True)
    (mdir / _STATUS_FILE).write_text(json.dumps({"quarter": q, "notebooks": [vars(n) for n in result.notebooks]},
                                                indent=2, ensure_ascii=False), encoding="utf-8")
    result.metrics = merge_metrics(out, q, dataset)
    (out / "metrics.json").write_text(json.dumps(result.metrics, indent=2, ensure_ascii=False), encoding="utf-8")
    write_index(result, dataset)
    return result


@contextlib.contextmanager
def _validated_snapshot(dataset, out: Path):
    """While the notebooks run: the validated data in ``<out>/.snapshot``, named by ``CHURNLAB_SNAPSHOT``.

    Each notebook's ``sources.load(data_dir, config)`` then opens the snapshot (the same tables, row
    accounting and findings, events as Parquet with UTC timestamps) instead of reading, mapping and
    validating the data folder again; see :func:`churnlab.sources.write_snapshot`. The snapshot holds
    customer data, so it is deleted when the notebooks are done, and the variable restored.
    """
    import os
    import shutil

    from .sources import SNAPSHOT_ENV, write_snapshot

    folder = out / ".snapshot"
    before = os.environ.get(SNAPSHOT_ENV)
    try:
        made = write_snapshot(dataset, folder)
        if made is not None:
            os.environ[SNAPSHOT_ENV] = str(made)
        yield made
    finally:
        if before is None:
            os.environ.pop(SNAPSHOT_ENV, None)
        else:
            os.environ[SNAPSHOT_ENV] = before
        shutil.rmtree(folder, ignore_errors=True)


def _run_notebooks(result, names, dataset, data_dir, nb_dir, out, params, per_notebook, pii, progress, echo):
    """Execute, redact and export each notebook of ``names``, appending to ``result.notebooks``."""
    import papermill as pm

    for i, name in enumerate(names, 1):
        src, dst = nb_dir / f"{name}.ipynb", out / "notebooks" / f"{name}.ipynb"
        absent = missing_needs(dataset, name)
        if absent:
            why = f"needs {' and '.join(absent)}, which {data_dir.name} does not have"
            echo(f"[{i}/{len(names)}] {name} skipped: {why}")
            result.notebooks.append(NotebookResult(name, True, 0.0, skipped=why))
            continue
        echo(f"[{i}/{len(names)}] {name} ...")
        t0 = time.perf_counter()
        error = ""
        try:
            pm.execute_notebook(str(src), str(dst), parameters={**params, **per_notebook.get(name, {})}, cwd=str(nb_dir),
                                progress_bar=progress, report_mode=False)
        except pm.PapermillExecutionError as e:
            # the execution count is the In [n] prompt of the executed notebook kept in notebooks/
            error = f"cell In [{e.exec_count}]: {e.ename}: {_first_line(e.evalue)}"
        except Exception as e:  # kernel died, notebook missing, ...
            error = f"{type(e).__name__}: {_first_line(str(e))}"
        if error:   # an error message can quote customer text; it is shown on the index page
            from .sentiment import redact

            error = redact(error)
        secs = time.perf_counter() - t0
        if dst.exists():
            try:
                redact_notebook(dst, pii)
            except Exception as e:  # an unreadable notebook must not be published as it is
                dst.unlink()
                error = error or f"redaction failed: {type(e).__name__}: {_first_line(str(e))}"
        page = f"{name}.html"
        try:
            export_html(dst if dst.exists() else src, out / page, index_link="index.html", error=error)
        except Exception as e:
            error = error or f"HTML export failed: {type(e).__name__}: {_first_line(str(e))}"
            page = ""
        result.notebooks.append(NotebookResult(name, not error, secs, error, page))
        echo(f"    {'ok' if not error else 'FAILED ' + error} ({secs:.0f} s)")


#: The metrics section each notebook saves (``save_metrics(out_dir, SECTION, ...)``).
_METRICS_SECTIONS = {"10-attrition": "attrition", "20-survival": "survival", "30-churn-reasons": "reasons",
                     "40-exit-sentiment": "exit_sentiment", "00-data-check": "data"}
#: Per-notebook results of the last run into a report folder, so ``--only`` can merge with them.
_STATUS_FILE = "_notebooks.json"


def _earlier_results(out: Path, quarter: str) -> dict[str, NotebookResult]:
    """The notebook results of an earlier run of the same quarter into ``out`` (empty when none)."""
    path = out / _METRICS_DIR / _STATUS_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if data.get("quarter") != quarter:
        return {}
    return {d["name"]: NotebookResult(**d) for d in data.get("notebooks", []) if isinstance(d, dict)}


# --------------------------------------------------------------------------- personal data

#: What personal data in a notebook's output is replaced with.
REDACTED = "[redacted]"
_NUMBERS_ONLY = re.compile(r"[\d\s\-+().０-９＋－（）]+")


def personal_data(dataset) -> list[str]:
    """Every piece of personal data in the text columns of ``dataset``, longest first.

    "Personal data" is what :func:`churnlab.sentiment.redact` replaces (e-mail addresses, telephone
    numbers, URLs) in any text cell of the pandas tables of the dataset (verbatims, liked, comments,
    ...) other than identifiers (``id``, ``*_id``), and the addresses quoted in the findings. :func:`redact_notebook` removes exactly these strings from the executed notebooks, so
    customer text that reaches an output unredacted by any path is caught without touching figures.
    """
    from .sentiment import personal_data as pieces

    found: set[str] = set()
    for name, frame in vars(dataset).items():
        if not isinstance(frame, pd.DataFrame) or name in ("rows", "exclusions"):
            continue
        for c in frame.columns:
            col = frame[c]
            if pd.api.types.is_numeric_dtype(col) or pd.api.types.is_datetime64_any_dtype(col) \
                    or str(c) == "id" or str(c).endswith("_id"):
                continue    # identifiers are shown as they are (a numeric id is not a phone number)
            for v in col.dropna().unique():
                if isinstance(v, str) and any(ch.isdigit() or ch in "@＠/" for ch in v):
                    new = [p for p in pieces(v) if len(p) >= 4]
                    if name == "findings":   # our messages quote ids and numbers: addresses only
                        new = [p for p in new if not _NUMBERS_ONLY.fullmatch(p)]
                    found.update(new)
    return sorted(found, key=lambda t: (-len(t), t))


def _redact_terms(text: str, patterns) -> str:
    for pat in patterns:
        text = pat.sub(REDACTED, text)
    return text


def redact_notebook(path, terms) -> int:
    """Remove personal data from the outputs of an executed notebook, in place.

    ``terms`` (from :func:`personal_data`) are replaced, as written and HTML-escaped, in every text
    output (streams, ``text/plain``, ``text/html``, ``text/markdown``, errors); stderr streams and
    error tracebacks, which only the kept notebook shows, also go through
    :func:`churnlab.sentiment.redact`. Returns the number of outputs changed.
    """
    import html as _html
    import re

    import nbformat

    from .sentiment import redact

    forms = []
    for t in terms:
        forms += [t, _html.escape(t, quote=False), _html.escape(t, quote=True), presentation.escape(t)]
    patterns = [re.compile(re.escape(f), re.I) for f in sorted(set(forms), key=len, reverse=True)]

    def clean(text, full=False):
        if isinstance(text, list):
            text = "".join(text)
        out = _redact_terms(text, patterns)
        return redact(out) if full else out

    nb = nbformat.read(str(path), as_version=4)
    changed = 0
    for cell in nb.cells:
        for o in cell.get("outputs", []) if cell.cell_type == "code" else []:
            before = json.dumps(o, sort_keys=True)
            kind = o.get("output_type")
            if kind == "stream":
                o["text"] = clean(o.get("text", ""), full=o.get("name") == "stderr")
            elif kind in ("display_data", "execute_result"):
                for mime, value in list(o.get("data", {}).items()):
                    if mime.startswith("text/") and isinstance(value, (str, list)):
                        o["data"][mime] = clean(value)
            elif kind == "error":
                o["evalue"] = clean(o.get("evalue", ""), full=True)
                o["traceback"] = [clean(line, full=True) for line in o.get("traceback", [])]
            changed += json.dumps(o, sort_keys=True) != before
    nbformat.write(nb, str(path))
    return changed


def _first_line(text) -> str:
    text = str(text).strip()
    return text.splitlines()[0] if text else ""


def merge_metrics(out_dir, quarter: str, dataset=None) -> dict:
    """``metrics.json``: the quarter, the row accounting, and every section the notebooks saved."""
    merged: dict = {"quarter": quarter}
    for f in sorted((Path(out_dir) / _METRICS_DIR).glob("*.json")):
        if f.name != _STATUS_FILE:
            merged.update(json.loads(f.read_text(encoding="utf-8")))
    if dataset is not None:
        merged["rows"] = rows_summary(dataset)
    return merged


def rows_summary(dataset) -> dict:
    """Row accounting as plain data: ``{table: {file, read, used, excluded, exclusions: {reason: n}}}``."""
    out = {}
    for r in dataset.rows.itertuples(index=False):
        ex = dataset.exclusions[dataset.exclusions["table"] == r.table]
        out[r.table] = {"file": r.file, "read": int(r.read), "used": int(r.used), "excluded": int(r.excluded),
                        "exclusions": {str(k): int(v) for k, v in zip(ex["reason"], ex["rows"])}}
    return out


# --------------------------------------------------------------------------- HTML

_CSS = """
body { font-family: -apple-system, "Segoe UI", Roboto, "Noto Sans", "Noto Sans CJK JP", "IPAexGothic",
       Helvetica, Arial, sans-serif; color: #1f2933; margin: 0; background: #f5f7fa; }
.wrap { max-width: 1080px; margin: 0 auto; padding: 32px 24px 64px; }
h1 { font-size: 28px; margin: 0 0 4px; } .sub { color: #52606d; margin: 0 0 28px; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(220px, 1fr)); gap: 14px; }
.card { background: #fff; border-radius: 8px; padding: 16px 18px; box-shadow: 0 1px 3px rgba(0,0,0,.08); }
.card .v { font-size: 26px; font-weight: 600; } .card .k { color: #52606d; font-size: 13px; margin-top: 4px; }
table { border-collapse: collapse; width: 100%; background: #fff; border-radius: 8px; overflow: hidden;
        box-shadow: 0 1px 3px rgba(0,0,0,.08); margin-top: 8px; }
th, td { text-align: left; padding: 10px 14px; border-bottom: 1px solid #e4e7eb; font-size: 14px; }
th { background: #eef2f7; } .ok { color: #1b7f3b; font-weight: 600; } .skip { color: #7b8794; font-weight: 600; } .bad { color: #b42318; font-weight: 600; }
h2 { margin-top: 36px; font-size: 19px; } a { color: #1d4ed8; } .err { color: #b42318; font-size: 13px; }
.foot { color: #7b8794; font-size: 12px; margin-top: 40px; }
"""


_MATHJAX = re.compile(r"<script[^>]*src=\"[^\"]*mathjax[^\"]*\"[^>]*>\s*</script>\s*<!-- MathJax configuration -->"
                      r".*?<!-- End of mathjax configuration -->", re.S | re.I)


def export_html(notebook, html_path, *, index_link: str | None = None, error: str = "") -> Path:
    """Write a notebook as HTML for stakeholders: no code, no prompts, no tracebacks or warnings.

    Error outputs and stderr streams are removed; when ``error`` is given, a short notice replaces
    the failed section. The page loads no MathJax, so ``$`` in data text is shown as written.
    """
    import nbformat
    from nbconvert import HTMLExporter

    nb = nbformat.read(str(notebook), as_version=4)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        kept = []
        for o in cell.get("outputs", []):
            if o.get("output_type") == "error":
                kept.append(nbformat.v4.new_output(
                    "display_data", data={"text/html": "<p class='err'><b>This section could not be "
                                          "completed.</b> " + presentation.escape(error or "An error occurred.")
                                          + "</p>", "text/plain": "This section could not be completed."}))
            elif o.get("output_type") == "stream" and o.get("name") == "stderr":
                continue
            else:
                kept.append(o)
        cell["outputs"] = kept
    if index_link:
        nb.cells.insert(0, nbformat.v4.new_markdown_cell(f"[← All reports of this review]({index_link})"))
    exporter = HTMLExporter(template_name="lab")
    exporter.exclude_input = True
    exporter.exclude_input_prompt = True
    exporter.exclude_output_prompt = True
    body, _ = exporter.from_notebook_node(nb)
    title = TITLES.get(Path(notebook).stem, Path(notebook).stem)
    body = body.replace("<title>Notebook</title>", f"<title>{presentation.escape(title)}</title>", 1)
    # no MathJax: it would typeset "$99 plan ... $199 plan" in data text as mathematics
    body = _MATHJAX.sub("", body, count=1)
    body = body.replace("</head>", "<style>body{max-width:1100px;margin:0 auto;}"
                        ".jp-RenderedHTMLCommon table{font-size:13px}</style></head>", 1)
    Path(html_path).write_text(body, encoding="utf-8")
    return Path(html_path)


def _money(v, currency: str = "") -> str:
    """An amount with its currency: ``$1,200`` for a sign, ``1,200 CHF`` for a code, ``1,200`` for none."""
    if v is None or pd.isna(v):
        return "–"
    if len(currency) == 3 and currency.isalpha():
        return f"{v:,.0f} {currency}"
    return f"{currency}{v:,.0f}"


def _fmt_pct(v):
    return "n/a" if v is None else f"{100 * float(v):.1f}%"


def _fmt_num(v):
    return "n/a" if v is None else f"{float(v):,.0f}"


def headline_cards(metrics: dict) -> list[tuple[str, str]]:
    """(value, label) pairs for the index page, from whatever figures the notebooks saved."""
    cards = []
    m = metrics
    if "logo_attrition_rate" in m:
        cards.append((_fmt_pct(m["logo_attrition_rate"]), "logo attrition in the quarter"))
    if "logo_churned" in m and "logo_start" in m:
        cards.append((f"{_fmt_num(m['logo_churned'])} of {_fmt_num(m['logo_start'])}",
                      "accounts lost, of those active at the start"))
    if "logo_new_excluded" in m:
        cards.append((_fmt_num(m["logo_new_excluded"]), "new accounts in the quarter (not counted)"))
    if "user_attrition_rate" in m:
        cards.append((_fmt_pct(m["user_attrition_rate"]), "user attrition in the quarter"))
    if "gross_mrr_churn" in m:
        cards.append((_fmt_pct(m["gross_mrr_churn"]), "gross MRR churn"))
    if "net_mrr_churn" in m:
        cards.append((_fmt_pct(m["net_mrr_churn"]), "net MRR churn"))
    if "participation_rate" in m:
        cards.append((_fmt_pct(m["participation_rate"]), "exit-interview participation (target 40-60%)"))
    shares = m.get("reason_shares") or {}
    if shares:
        top = max(shares, key=lambda k: shares[k] or 0)
        label = (m.get("reason_labels") or {}).get(top, top.replace("_", " "))
        cards.append((_fmt_pct(shares[top]), f"of responding churned accounts cited {label}"))
    return cards


def write_index(result: ReviewResult, dataset=None) -> Path:
    """Write ``index.html``: headline figures, links to the reports, and their status."""
    e = presentation.escape
    rows = []
    for n in result.notebooks:
        title = e(TITLES.get(n.name, n.name))
        link = f"<a href='{e(n.html)}'>{title}</a>" if n.html else title
        if n.skipped:
            status = f"<span class='skip'>not run</span><div class='err'>{e(n.skipped)}</div>"
        elif n.ok:
            status = "<span class='ok'>ready</span>"
        else:
            status = f"<span class='bad'>failed</span><div class='err'>{e(n.error)}</div>"
        rows.append(f"<tr><td>{link}</td><td>{status}</td></tr>")
    cards = "".join(f"<div class='card'><div class='v'>{e(v)}</div><div class='k'>{e(k)}</div></div>"
                    for v, k in headline_cards(result.metrics))
    data_rows = ""
    if dataset is not None:
        data_rows = "".join(
            f"<tr><td>{e(r.table)}</td><td>{e(str(r.file))}</td><td>{r.read:,}</td><td>{r.excluded:,}</td>"
            f"<td>{r.used:,}</td></tr>" for r in dataset.rows.itertuples(index=False))
        data_rows = ("<h2>Data used</h2><table><tr><th>table</th><th>file</th><th>rows read</th>"
                     "<th>excluded</th><th>used</th></tr>" + data_rows +
                     "</table><p class='sub'>Every exclusion is explained in the data check.</p>")
    failed = [n for n in result.notebooks if not n.ok]
    warn = (f"<p class='bad'>{len(failed)} report(s) could not be completed; see below.</p>" if failed else "")
    page = f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Churn review {e(result.quarter)}</title><style>{_CSS}</style></head>
<body><div class="wrap">
<h1>Quarterly churn review · {e(result.quarter)}</h1>
<p class="sub">Headline figures of the quarter; open a report for the detail and the statistics behind them.</p>
{warn}<div class="cards">{cards}</div>
<h2>Reports</h2><table><tr><th>report</th><th>status</th></tr>{''.join(rows)}</table>
{data_rows}
<p class="foot">Generated by churnlab on {e(pd.Timestamp.now(tz="UTC").strftime("%Y-%m-%d %H:%M UTC"))}.
Figures: metrics.json in this folder.</p>
</div></body></html>"""
    path = result.out_dir / "index.html"
    path.write_text(page, encoding="utf-8")
    return path


def styled(frame: pd.DataFrame, *, percent=(), counts=(), money=(), decimals=(), pvalues=(),
           formats: dict | None = None, caption: str | None = None, currency: str = ""):
    """A pandas Styler for reports: hidden index, percentages, thousands separators, escaped text.

    ``pvalues`` columns read ``< 0.001`` below that and three decimals otherwise; ``formats`` maps
    other columns to a format string (``"{:.3g}"``) or a callable returning plain text.

    Every text shown - cells, column labels, caption - goes through :func:`churnlab.presentation.escape`
    (see :func:`churnlab.presentation.styler`).

    Examples
    --------
    >>> html_ = styled(pd.DataFrame({"rate": [0.125], "n": [1200]}), percent=["rate"], counts=["n"]).to_html()
    >>> "12.5%" in html_ and "1,200" in html_
    True
    >>> "&lt; 0.001" in styled(pd.DataFrame({"p": [1e-6]}), pvalues=["p"]).to_html()
    True
    """
    fmt = {}
    fmt.update({c: "{:.1%}" for c in percent if c in frame})
    fmt.update({c: "{:,.0f}" for c in counts if c in frame})
    fmt.update({c: (lambda v, cur=currency: _money(v, cur)) for c in money if c in frame})
    fmt.update({c: "{:.2f}" for c in decimals if c in frame})
    fmt.update({c: (lambda p: "< 0.001" if p < 0.001 else f"{p:.3f}") for c in pvalues if c in frame})
    fmt.update({c: f for c, f in (formats or {}).items() if c in frame})
    st = presentation.styler(frame, formats=fmt, na_rep="–", hide_index=True, caption=caption)
    st = st.set_table_styles([{"selector": "th", "props": "text-align: left; background: #eef2f7;"},
                              {"selector": "td", "props": "padding: 4px 10px;"}])
    text_cols = [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])
                 or pd.api.types.is_bool_dtype(frame[c])]
    if text_cols:
        st = st.set_properties(subset=text_cols, **{"text-align": "left"})
    return st


def available(dataset, *tables: str, columns=(), what: str = "This section") -> bool:
    """Whether a notebook section can run; if not, show readers a short note saying why.

    ``tables`` are optional tables the section needs; ``columns`` are account columns it needs.
    Use it to guard a section: ``if report.available(ds, "events", what="User attrition"): ...``.

    Examples
    --------
    >>> class D:  # a dataset without events
    ...     accounts = pd.DataFrame({"account_id": ["a"]})
    ...     def has(self, t): return False
    >>> available(D(), "events", what="User attrition")
    User attrition is not shown: it needs the events table, which this data does not have.
    False
    """
    missing = [f"the {t} table" for t in tables if not dataset.has(t)]
    missing += [f"the account column '{c}'" for c in columns if c not in dataset.accounts.columns]
    if not missing:
        return True
    return explain(False, f"{what} is not shown: it needs {' and '.join(missing)}, which this data does not have.")


def explain(condition: bool, sentence: str) -> bool:
    """Guard a notebook section on any condition: when it is false, show readers ``sentence`` (why the
    section is left out) and return ``False``.

    Examples
    --------
    >>> explain(False, "Behavioural cohorts are not shown: the data has no qualified events.")
    Behavioural cohorts are not shown: the data has no qualified events.
    False
    >>> explain(True, "never shown")
    True
    """
    if condition:
        return True
    from IPython import get_ipython
    from IPython.display import HTML, display

    if get_ipython() is not None:   # table, column and group names are data: escaped, never Markdown
        display(HTML(f"<p><em>{presentation.escape(sentence)}</em></p>"))
    else:
        print(sentence)
    return False
