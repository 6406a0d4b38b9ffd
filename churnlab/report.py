"""Run the review notebooks and publish them as static HTML for stakeholders.

papermill executes each notebook with the review's parameters into the report folder (the executed
notebooks are kept); nbconvert's HTMLExporter, with code cells excluded, writes one HTML page per
notebook; an ``index.html`` shows the quarter's headline figures and links to every page, and
``metrics.json`` collects the figures each notebook saved with :func:`save_metrics`.
"""
from __future__ import annotations

import contextlib
import json
import os
import math
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from . import i18n, presentation

NOTEBOOKS = ("00-data-check", "10-attrition", "20-survival", "30-churn-reasons", "40-exit-sentiment", "50-at-risk")
TITLES = {
    "00-data-check": "Data check",
    "10-attrition": "Attrition: how many did we lose?",
    "20-survival": "Survival: when do customers leave?",
    "30-churn-reasons": "Churn reasons: why do they leave?",
    "40-exit-sentiment": "Exit sentiment: how do they feel?",
    "50-at-risk": "At risk: who is likely to leave next?",
}
#: What each notebook needs besides accounts: a table, or "table.column" with some non-empty values.
#: A tuple of tables means any one of them. Without it the review skips the notebook and the index says why.
NEEDS = {"30-churn-reasons": ("exit_interviews",),
         "40-exit-sentiment": ("exit_interviews", "exit_interviews.verbatim"),
         "50-at-risk": (("health_scores", "support_tickets", "nps_responses", "touchpoints"),)}


def missing_needs(dataset, name: str) -> list[str]:
    """What of :data:`NEEDS` notebook ``name`` lacks in ``dataset``, in words (empty: it can run)."""
    out = []
    for need in NEEDS.get(name, ()):
        if isinstance(need, tuple):   # any one of these tables
            if all(getattr(dataset, t, None) is None for t in need):
                out.append("one of the " + ", ".join(need[:-1]) + f" or {need[-1]} tables")
            continue
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


def inferred_churn(dataset) -> bool:
    """Whether churn is inferred from inactivity: the accounts have no churn_date column, the events do."""
    return "churn_date" not in dataset.accounts and getattr(dataset, "events", None) is not None


def resolve_quarter(dataset, quarter: str | None) -> str:
    """The quarter to review: the given one, or the latest complete quarter in the data.

    When churn is inferred from inactivity (no churn dates), the default is the latest quarter that
    ended at least ``analysis.inactivity_days`` (60) before the data's end, since churn in the last
    days cannot be known yet. A quarter that cannot be reviewed on this data (malformed, not yet
    complete at the data's end, or ending before the first signup) raises :class:`churnlab.config.ConfigError` naming the data's range.
    """
    from .config import ConfigError
    from .periods import Period, latest_complete_quarter, period_of

    first, last = data_range(dataset)
    earliest = period_of(first, "quarter")
    latest = latest_complete_quarter(last)
    if not quarter and inferred_churn(dataset):
        # churn inferred after N silent days cannot show in the last N days: by default review the
        # latest quarter whose churn is settled
        gap = int((getattr(dataset.config, "analysis", {}) or {}).get("inactivity_days", 60))
        settled = latest_complete_quarter(last - pd.Timedelta(days=gap))
        if settled.end > earliest.start:
            latest = settled
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

    from .config import ConfigError, read_yaml

    out: dict = {}
    for f in files or ():
        path = Path(f)
        data = read_yaml(path, "parameters file")
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
               notebook_dir=None, progress: bool = True, echo=print, parameters: dict | None = None,
               jobs: int | None = None, lang: str = "en") -> ReviewResult:
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
    jobs : int, optional
        Notebooks run at the same time (each in its own kernel); default :func:`default_jobs`. With
        more than one, the per-cell progress bars are replaced by a line per finished notebook.
    lang : {"en", "ja"}
        The report language (:mod:`churnlab.i18n`): headings, sentences, table headers, chart labels,
        taxonomy labels and the index are written in it; the figures and ``metrics.json`` are the same.

    Returns
    -------
    ReviewResult
        A failed notebook does not stop the others; check ``result.ok``.

    Raises
    ------
    churnlab.schema.DataValidationError
        When the data cannot be used at all (nothing is run then).
    """
    with i18n.using(i18n.check_language(lang)):   # the kernels inherit the report language
        return _run_review(data_dir, out_dir, quarter=quarter, config=config, notebooks=notebooks,
                           notebook_dir=notebook_dir, progress=progress, echo=echo, parameters=parameters,
                           jobs=jobs)


def _run_review(data_dir, out_dir, *, quarter, config, notebooks, notebook_dir, progress, echo, parameters, jobs):
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
    # a setting naming an event or a column the data does not have stops here too, as a config error
    from . import settings

    named = {k: v for k, v in (parameters or {}).items() if k in ("qualified_events", "feature_event", "segment_col")}
    settings.resolve(dataset, check=True, **named)
    out = Path(out_dir or Path("reports") / q).resolve()
    (out / "notebooks").mkdir(parents=True, exist_ok=True)
    mdir = out / _METRICS_DIR
    earlier = _earlier_results(out, q) if notebooks else {}
    if mdir.exists():
        for f in mdir.glob("*.json"):
            # a partial run (--only) keeps the other reports' figures of the same quarter
            if not earlier or f.stem in {_METRICS_SECTIONS.get(n, n) for n in names} or f.name == _STATUS_FILE:
                f.unlink()
    _clear_twins(out / "data", None if not earlier else names)
    params = {"quarter": q, "data_dir": str(data_dir), "config": str(Path(config).resolve()) if config else "",
              "out_dir": str(out)}
    result = ReviewResult(out, q)
    pii = personal_data(dataset)   # removed from every executed notebook before it is published
    echo(f"churnlab review {q}: {len(names)} notebooks, data {data_dir}, reports in {out}")
    try:
        with _validated_snapshot(dataset, out):
            _run_notebooks(result, names, dataset, data_dir, nb_dir, out, params, per_notebook, pii, progress, echo,
                           default_jobs() if jobs is None else max(1, int(jobs)))
    finally:
        os.environ.pop(presentation.DATA_DIR_ENV, None)
        os.environ.pop(presentation.PAGE_ENV, None)

    if earlier:
        ran = {n.name for n in result.notebooks}
        result.notebooks = sorted([*result.notebooks, *(r for n, r in earlier.items() if n not in ran)],
                                  key=lambda r: NOTEBOOKS.index(r.name) if r.name in NOTEBOOKS else 99)
    write_manifest(out / "data")
    publish_pages(result, nb_dir)
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


#: Environment variable: how many notebooks a review runs at the same time (default 2, or 1 on one core).
JOBS_ENV = "CHURNLAB_JOBS"
#: The order notebooks start in when several run at once: the longest first (measured at 100k
#: accounts), so that the short ones fill the gaps; results are reported in the review's order.
_LONGEST_FIRST = ("20-survival", "10-attrition", "50-at-risk", "40-exit-sentiment", "30-churn-reasons",
                  "00-data-check")


def default_jobs() -> int:
    """Notebooks run at once: ``CHURNLAB_JOBS`` when set, else 2 (1 on a one-core machine)."""
    env = os.environ.get(JOBS_ENV, "").strip()
    if env.isdigit() and int(env) > 0:
        return int(env)
    return 2 if (os.cpu_count() or 1) > 1 else 1


def kernel_log(notebook) -> Path:
    """Where the kernel of an executed notebook wrote what bypassed the notebook (``<name>.kernel.log``)."""
    return Path(notebook).with_suffix(".kernel.log")


def _kernel_manager(log: Path):
    """A kernel manager whose kernel writes its standard error to ``log``, not to the analyst's console.

    What a kernel prints there never reaches the notebook: the JVM's warnings in a Spark review, a
    native library's messages, the kernel's own shutdown log. The review keeps the file only when
    it is not empty (personal data removed) and names it when the notebook fails.
    """
    from jupyter_client.manager import KernelManager

    class _LoggedKernelManager(KernelManager):
        async def _async_launch_kernel(self, kernel_cmd, **kw):
            Path(log).parent.mkdir(parents=True, exist_ok=True)
            with open(log, "wb") as f:   # the kernel process holds its own copy of the descriptor
                kw.setdefault("stderr", f)
                return await super()._async_launch_kernel(kernel_cmd, **kw)

    return _LoggedKernelManager


def _execute_notebook(src: str, dst: str, parameters: dict, cwd: str, progress: bool, env: dict) -> str:
    """Execute one notebook with papermill (in this process, or in a worker); returns the error, or ""."""
    import papermill as pm

    # the kernel inherits these: charts and tables save their data twins as data/<page>-<name>.csv
    os.environ.update(env)
    try:
        pm.execute_notebook(src, dst, parameters=parameters, cwd=cwd, progress_bar=progress, report_mode=False,
                            # the kernel's own start-up warnings are not the analyst's business
                            extra_arguments=["--log-level=ERROR"],
                            kernel_manager_class=_kernel_manager(kernel_log(dst)))
    except pm.PapermillExecutionError as e:
        # the execution count is the In [n] prompt of the executed notebook kept in notebooks/
        return f"cell In [{e.exec_count}]: {e.ename}: {_first_line(e.evalue)}"
    except Exception as e:  # kernel died, notebook missing, ...
        return f"{type(e).__name__}: {_first_line(str(e))}"
    return ""


def _timed_notebook(*args) -> tuple[str, float]:
    t0 = time.perf_counter()
    error = _execute_notebook(*args)
    return error, time.perf_counter() - t0


def _run_notebooks(result, names, dataset, data_dir, nb_dir, out, params, per_notebook, pii, progress, echo,
                   jobs: int = 1):
    """Execute, redact and export each notebook of ``names``, appending to ``result.notebooks``.

    With ``jobs`` > 1 the notebooks run in that many worker processes at once (each with its own
    kernel; the data is the review's snapshot, opened read-only), longest first.
    """
    done: dict[str, NotebookResult] = {}
    todo = []
    for i, name in enumerate(names, 1):
        absent = missing_needs(dataset, name)
        if absent:
            why = f"needs {' and '.join(absent)}, which {data_dir.name} does not have"
            echo(f"[{i}/{len(names)}] {name} skipped: {why}")
            done[name] = NotebookResult(name, True, 0.0, skipped=why)
            continue
        src, dst = nb_dir / f"{name}.ipynb", out / "notebooks" / f"{name}.ipynb"
        env = {presentation.DATA_DIR_ENV: str(out / "data"), presentation.PAGE_ENV: name}
        todo.append((i, name, (str(src), str(dst), {**params, **per_notebook.get(name, {})}, str(nb_dir),
                               progress and jobs == 1, env)))

    def finish(i, name, error, secs):
        dst = out / "notebooks" / f"{name}.ipynb"
        if error:   # an error message can quote customer text; it is shown on the index page
            from .sentiment import redact

            error = redact(error)
        if dst.exists():
            try:
                redact_notebook(dst, pii)
            except Exception as e:  # an unreadable notebook must not be published as it is
                dst.unlink()
                error = error or f"redaction failed: {type(e).__name__}: {_first_line(str(e))}"
        log = _keep_kernel_log(kernel_log(dst), pii)
        done[name] = NotebookResult(name, not error, secs, error, f"{name}.html")
        prefix = f"[{i}/{len(names)}] {name} " if jobs > 1 else "    "
        echo(f"{prefix}{'ok' if not error else 'FAILED ' + error} ({secs:.0f} s)")
        if error and log:
            echo(f"    the kernel's own messages are in {log}")

    if jobs <= 1 or len(todo) <= 1:
        for i, name, args in todo:
            echo(f"[{i}/{len(names)}] {name} ...")
            error, secs = _timed_notebook(*args)
            finish(i, name, error, secs)
    else:
        import concurrent.futures as cf
        import multiprocessing

        order = sorted(todo, key=lambda t: _LONGEST_FIRST.index(t[1]) if t[1] in _LONGEST_FIRST else -1)
        echo(f"running {len(todo)} notebooks, {min(jobs, len(todo))} at a time")
        with cf.ProcessPoolExecutor(max_workers=min(jobs, len(todo)),
                                    mp_context=multiprocessing.get_context("spawn")) as pool:
            futures = {pool.submit(_timed_notebook, *args): (i, name) for i, name, args in order}
            for fut in cf.as_completed(futures):
                i, name = futures[fut]
                try:
                    error, secs = fut.result()
                except Exception as e:  # a worker that died
                    error, secs = f"{type(e).__name__}: {_first_line(str(e))}", 0.0
                finish(i, name, error, secs)
    result.notebooks.extend(done[n] for n in names if n in done)


def _keep_kernel_log(log: Path, pii) -> Path | None:
    """The kernel's log with personal data removed, or ``None`` (and no file) when it is empty."""
    try:
        text = log.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    if not text.strip():
        log.unlink()
        return None
    from .sentiment import redact

    for piece in pii:
        text = text.replace(piece, REDACTED)
    log.write_text(redact(text), encoding="utf-8")
    return log


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
    ...), and the addresses (not the numbers) in identifiers (``id``, ``*_id``: an account id that is an
    e-mail address) and in the findings. :func:`redact_notebook` removes exactly these strings from the executed notebooks, so
    customer text that reaches an output unredacted by any path is caught without touching figures.
    """
    from .sentiment import personal_data as pieces

    found: set[str] = set()
    for name, frame in vars(dataset).items():
        if not isinstance(frame, pd.DataFrame) or name in ("rows", "exclusions"):
            continue
        for c in frame.columns:
            col = frame[c]
            if pd.api.types.is_numeric_dtype(col) or pd.api.types.is_datetime64_any_dtype(col):
                continue
            ident = str(c) == "id" or str(c).endswith("_id")
            values = col.dropna().unique()
            if ident:   # millions of user ids: only those that can hold an address are read
                values = [v for v in values if isinstance(v, str) and ("@" in v or "＠" in v or "/" in v)]
            for v in values:
                if isinstance(v, str) and any(ch.isdigit() or ch in "@＠/" for ch in v):
                    new = [p for p in pieces(v) if len(p) >= 4]
                    if name == "findings" or ident:   # our messages quote ids and numbers, and an id of
                        # digits is not a phone number: addresses only (an account id that is an e-mail)
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


def _clear_twins(folder: Path, pages) -> None:
    """Remove the data twins of ``pages`` (all of them when ``None``) before those pages run again."""
    folder = Path(folder)
    if not folder.exists():
        return
    manifest = folder / "manifest.jsonl"
    keep = []
    if pages is not None and manifest.exists():
        keep = [ln for ln in manifest.read_text(encoding="utf-8").splitlines()
                if ln.strip() and json.loads(ln).get("page") not in pages]
    for f in folder.glob("*.csv"):
        if pages is None or any(f.name.startswith(f"{p}-") for p in pages) or f.name == "manifest.csv":
            f.unlink()
    manifest.write_text("".join(ln + "\n" for ln in keep), encoding="utf-8")


def write_manifest(folder: Path) -> Path | None:
    """``data/manifest.csv``: one row per data twin (page, file, chart or table, title, rows, columns).

    ``manifest.jsonl``, which the notebooks append to as they run (two at a time), is rewritten in
    the same order, page and file, so that both are the same from one run to the next.
    """
    src = Path(folder) / "manifest.jsonl"
    if not src.exists():
        return None
    rows = [json.loads(line) for line in src.read_text(encoding="utf-8").splitlines() if line.strip()]
    latest = {r["file"]: r for r in rows}                                  # a page run again: its last entry
    src.write_text("".join(json.dumps(latest[f], ensure_ascii=False) + "\n"
                           for f in sorted(latest, key=lambda f: (latest[f]["page"], f))), encoding="utf-8")
    frame = pd.DataFrame(rows, columns=["page", "file", "kind", "title", "rows", "columns"])
    frame = frame.drop_duplicates("file", keep="last").assign(columns=lambda d: d["columns"].map(" | ".join))
    return presentation.write_csv(frame.sort_values(["page", "file"]), Path(folder) / "manifest.csv")


def publish_pages(result: ReviewResult, notebook_dir) -> None:
    """Write the HTML page of every notebook of ``result`` that ran, linked in review order."""
    pages = [n for n in result.notebooks if n.html and not n.skipped]
    for i, n in enumerate(pages):
        executed = result.out_dir / "notebooks" / f"{n.name}.ipynb"
        src = executed if executed.exists() else Path(notebook_dir) / f"{n.name}.ipynb"
        nav = {k: {"href": p.html, "title": title_of(p.name)} for k, p in
               (("prev", pages[i - 1] if i else None), ("next", pages[i + 1] if i + 1 < len(pages) else None)) if p}
        try:
            export_html(src, result.out_dir / n.html, error=n.error, nav=nav,
                        review=i18n.t("Churn review {quarter}", quarter=result.quarter))
        except Exception as e:
            n.error = n.error or f"HTML export failed: {type(e).__name__}: {_first_line(str(e))}"
            n.ok, n.html = False, ""


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
    from .summary import comparison_blocks, top_reason

    merged.update(top_reason(merged))
    merged.update(comparison_blocks(merged))
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





#: Folder of the page template (an nbconvert template) and the stylesheet shared with the index.
TEMPLATES = Path(__file__).resolve().parent / "templates"
#: What a page says where the notebook did not label a chart.
_CHART_ALT = "Chart"
_TOC_HEADING = re.compile(r'<h([23]) id="([^"]+)"[^>]*>(.*?)</h\1>', re.S)
_TAGS = re.compile(r"<[^>]+>")


def stylesheet() -> str:
    """The one stylesheet of the review's pages and index."""
    return (TEMPLATES / "churnlab.css").read_text(encoding="utf-8")


def _blocks(text: str) -> list[tuple[str, str]]:
    r"""Printed lines as ``("p", paragraph)`` and ``("table", lines)`` blocks: a line wrapped in the
    middle of a sentence joins its paragraph; lines laid out in columns (runs of spaces) stay a table.

    Examples
    --------
    >>> _blocks("Signed up in 2024Q4: 75.9% still active\nSigned up in 2025Q1: 83.2% still active")
    [('p', 'Signed up in 2024Q4: 75.9% still active'), ('p', 'Signed up in 2025Q1: 83.2% still active')]
    >>> _blocks("Integration gap rose from 12.7% to 30.8% of responding churned accounts (p = 0.004) and no\nother reason changed.")[0][0], len(_blocks("a b\nwent on."))
    ('p', 1)
    """
    blocks: list[list] = []
    last = ""   # the line before: a line of a wrapped paragraph is long, or the next one goes on in lower case
    for ln in [ln.rstrip() for ln in str(text).splitlines()]:
        if re.search(r"\S {2,}\S", ln) or (blocks and blocks[-1][0] == "table" and ln.startswith(" ") and ln.strip()):
            if blocks and blocks[-1][0] == "table":
                blocks[-1][1] += "\n" + ln
            else:
                blocks.append(["table", ln])
        elif ln.strip():
            whole = i18n.known(ln.strip())   # a sentence of its own in another language: its own paragraph
            wrapped = bool(blocks) and (not ln.strip()[:1].isupper() or len(last) >= 70)
            if blocks and blocks[-1][0] == "p" and not re.search(r"[.!?:;)]$", blocks[-1][1]) and not whole and wrapped:
                blocks[-1][1] += " " + ln.strip()
            else:
                blocks.append(["p", ln.strip()])
        last = ln
    return [(k, v) for k, v in blocks]


def _columns(body: str) -> list[list[str]] | None:
    r"""Lines printed in columns (padded with spaces) as rows of cells: a column ends where every line
    has a gap of two or more spaces. ``None`` when the lines do not line up into at least two columns.

    Examples
    --------
    >>> _columns("Product gap    n= 54  mean -0.88\nOther          n=  2  mean +0.69")
    [['Product gap', 'n= 54', 'mean -0.88'], ['Other', 'n=  2', 'mean +0.69']]
    >>> _columns("a  b\nccc d") is None
    True
    """
    lines = [ln.rstrip() for ln in body.splitlines() if ln.strip()]
    width = max((len(ln) for ln in lines), default=0)
    blank = [all(i >= len(ln) or ln[i] == " " for ln in lines) for i in range(width)]
    cuts, i = [], 0
    while i < width:   # runs of 2+ blank positions after some text are column gaps
        if blank[i]:
            j = i
            while j < width and blank[j]:
                j += 1
            if j - i >= 2 and i > 0 and j < width:
                cuts.append((i, j))
            i = j
        else:
            i += 1
    if not cuts:
        return None
    bounds = [0] + [b for c in cuts for b in c] + [width]
    rows = [[ln[bounds[k]:bounds[k + 1]].strip() for k in range(0, len(bounds), 2)] for ln in lines]
    return rows


def _prose_html(text: str, skip=()) -> str:
    """Printed lines as readable prose (escaped); paragraphs in ``skip`` (shown elsewhere) are left out;
    lines printed in columns become a table."""
    out = []
    e = presentation.escape
    for kind, body in _blocks(text):
        rows = _columns(body) if kind == "table" else None
        if rows:
            out.append("<table class='plain-table'>" + "".join(
                "<tr>" + "".join(f"<td>{e(c)}</td>" for c in r) + "</tr>" for r in rows) + "</table>")
        elif kind == "table":
            out.append("<pre class='plain-table'>" + presentation.escape(body) + "</pre>")
        elif " ".join(body.split()).lower() not in skip:
            out.append("<p>" + presentation.escape(i18n.translate(body)) + "</p>")
    return "<div class='prose'>" + "".join(out) + "</div>" if out else ""


def _page_outputs(nb, error: str, csv_href=None):
    """Outputs as stakeholders see them: no errors or warnings, printed lines as prose, charts with
    alt text, long tables folded with a link to their data (``csv_href``, see
    :func:`churnlab.presentation.fold_long_tables`); returns the key findings (outputs marked by
    :func:`findings`) taken out of the flow."""
    import nbformat

    found = []
    said = {" ".join(line.split()).lower() for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", [])
            if (o.get("metadata") or {}).get("churnlab", {}).get("finding")
            for line in [*str((o.get("data") or {}).get("text/plain", "")).splitlines(),
                         *(o.get("metadata") or {}).get("churnlab", {}).get("english", [])]}
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        kept = []
        for o in cell.get("outputs", []):
            kind = o.get("output_type")
            if kind == "error":
                kept.append(nbformat.v4.new_output(
                    "display_data", data={"text/html": "<p class='err'><b>" + presentation.escape(i18n.t(
                        "This section could not be completed.")) + "</b> " + presentation.escape(
                        error or i18n.t("An error occurred.")) + "</p>",
                        "text/plain": "This section could not be completed."}))
            elif kind == "stream":
                # printed lines that are also key findings are shown once, at the top
                prose = _prose_html(o.get("text", ""), skip=said) if o.get("name") == "stdout" else ""
                if prose:
                    kept.append(nbformat.v4.new_output("display_data", data={
                        "text/html": prose, "text/plain": str(o.get("text", ""))}))
            elif (o.get("metadata") or {}).get("churnlab", {}).get("finding"):
                found.append(o["data"]["text/html"].replace("<ul class='findings-here'>", "").replace("</ul>", ""))
            else:
                data = o.get("data") or {}
                if "image/png" in data:
                    data["image/png"] = _smaller_png(data["image/png"])
                for mime in ("image/png", "image/svg+xml"):
                    if mime in data:
                        alt = str(data.get("text/plain", ""))
                        if not alt or alt.startswith("<Figure"):
                            alt = i18n.t(_CHART_ALT)
                        o.setdefault("metadata", {}).setdefault(mime, {})["alt"] = alt
                if "text/plain" in data and len(data) == 1:
                    continue   # a bare repr (a list, a dict, None) is not for readers
                if "text/html" in data:
                    html_ = data["text/html"]
                    html_ = "".join(html_) if isinstance(html_, list) else html_
                    data["text/html"] = presentation.fold_long_tables(html_, csv_href=csv_href)
                kept.append(o)
        cell["outputs"] = kept
    return found


def _smaller_png(b64: str) -> str:
    """A chart PNG with an adaptive 256-colour palette: the same picture at a fraction of the bytes,
    so a page of sharp (2x) charts stays small. Returns the input when that does not help."""
    import base64
    import io

    try:
        from PIL import Image

        raw = base64.b64decode(b64)
        img = Image.open(io.BytesIO(raw)).convert("RGB")
        out = io.BytesIO()
        img.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(
            out, format="PNG", optimize=True)
        small = out.getvalue()
        return base64.b64encode(small).decode("ascii") if len(small) < len(raw) else b64
    except Exception:   # an unreadable image is published as it is
        return b64


def _toc(body: str) -> str:
    items = []
    for level, anchor, text in _TOC_HEADING.findall(body):
        label = _TAGS.sub("", text).replace("¶", "").strip()
        if label:
            items.append(f"<a class='h{level}' href='#{anchor}'>{label}</a>")
    return (f"<b>{presentation.escape(i18n.t('Contents'))}</b>" + "".join(items)) if items else ""


def _twin_href(folder: Path, name: str) -> str | None:
    """The link from a page in ``folder`` to its data twin ``name`` in ``folder/data``, if that file exists."""
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*\.csv", name or "") or not (Path(folder) / "data" / name).is_file():
        return None
    return f"data/{name}"


def export_html(notebook, html_path, *, error: str = "", nav=None,
                review: str = "Churn review") -> Path:
    """Write a notebook as a report page for stakeholders, with churnlab's page template.

    No code, prompts, tracebacks or warnings; printed lines become prose; the key findings the
    notebook marked (:func:`findings`) come first; cells tagged ``methods`` are folded, and so are the
    rows of long tables, which link to their data twin in ``data/`` beside the page; a contents
    list and previous / next links (``nav = {"prev": {"href", "title"}, "next": ...}``) frame the page,
    which shares the index's stylesheet and loads nothing from elsewhere. When ``error`` is given, a
    short notice replaces the failed section.
    """
    import nbformat
    from nbconvert import HTMLExporter

    nb = nbformat.read(str(notebook), as_version=4)
    found = _page_outputs(nb, error, csv_href=lambda name: _twin_href(Path(html_path).parent, name))
    title = title_of(Path(notebook).stem)
    for cell in nb.cells:   # headings and prose in the report language (see churnlab.i18n)
        if cell.cell_type == "markdown":
            cell.source = i18n.translate_markdown(cell.source)
    if found:
        first = next((i for i, c in enumerate(nb.cells) if c.cell_type == "markdown"), -1)
        cell = nbformat.v4.new_code_cell("")
        cell.outputs = [nbformat.v4.new_output("display_data", data={"text/html": (
            f"<div class='findings'><h2 id='key-findings'>{presentation.escape(i18n.t('Key findings'))}</h2><ul>"
            + "".join(found) + "</ul></div>")})]
        nb.cells.insert(first + 1, cell)
    exporter = HTMLExporter(template_name="churnlab_page", extra_template_basedirs=[str(TEMPLATES)])
    exporter.exclude_input = True
    exporter.exclude_input_prompt = True
    exporter.exclude_output_prompt = True
    resources = {"churnlab": {"title": title, "review": review, "css": stylesheet(), "lang": i18n.html_lang(),
                              "prev": (nav or {}).get("prev"), "next": (nav or {}).get("next"),
                              "methods_label": i18n.t("Methods and definitions"), "chart_alt": i18n.t(_CHART_ALT),
                              "summary_label": i18n.t("Executive summary"), "contents_label": i18n.t("Contents")}}
    body, _ = exporter.from_notebook_node(nb, resources=resources)
    body = body.replace("<!--churnlab:toc-->", _toc(body), 1)
    Path(html_path).write_text(body, encoding="utf-8")
    return Path(html_path)


def title_of(name: str) -> str:
    """A report's title (:data:`TITLES`) in the report language."""
    return i18n.t(TITLES[name]) if name in TITLES else name


def findings(sentences) -> None:
    """Mark plain sentences as the page's key findings: published, they come first on the page, as
    bullets (escaped). In JupyterLab they show where the cell is. Returns ``None``.

    Examples
    --------
    >>> findings(["Logo attrition was 4.9% in 2026Q3."])
    - Logo attrition was 4.9% in 2026Q3.
    """
    items = [str(s).strip() for s in sentences if s and str(s).strip()]
    items = [s[:1].upper() + s[1:] for s in items]
    if not items:
        return None
    english = items
    items = [i18n.translate(s) for s in items]   # in the report language (unchanged in English)
    html_ = "".join(f"<li>{presentation.escape(s)}</li>" for s in items)
    from IPython import get_ipython
    from IPython.display import display

    if get_ipython() is None:
        print("\n".join(f"- {s}" for s in items))
        return None
    display({"text/html": f"<ul class='findings-here'>{html_}</ul>", "text/plain": "\n".join(items)},
            raw=True, metadata={"churnlab": {"finding": True, "english": english}})
    return None


def _money(v, currency: str = "") -> str:
    """An amount with its currency: ``$1,200`` for a sign, ``1,200 CHF`` for a code, ``1,200`` for none."""
    if v is None or pd.isna(v):
        return "–"
    if len(currency) == 3 and currency.isalpha():
        return f"{v:,.0f} {currency}"
    return f"{currency}{v:,.0f}"


def _spark(values, *, width: int = 120, height: int = 28) -> str:
    """A sparkline of up to 8 quarters as inline SVG (numbers only; gaps where a value is unknown)."""
    pts = [(i, v) for i, v in enumerate(values) if v is not None]
    if len(pts) < 2:
        return ""
    lo, hi = min(v for _, v in pts), max(v for _, v in pts)
    span = (hi - lo) or 1.0
    n = max(len(values) - 1, 1)
    xy = [(2 + i * (width - 4) / n, height - 3 - (v - lo) / span * (height - 6)) for i, v in pts]
    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in xy)
    last = xy[-1]
    return (f"<svg width='{width}' height='{height}' viewBox='0 0 {width} {height}' role='img' "
            f"aria-label='{presentation.escape(i18n.t('trend over the last {n} quarters', n=len(values)))}'><polyline fill='none' stroke='#4c78a8' "
            f"stroke-width='1.6' points='{line}'/><circle cx='{last[0]:.1f}' cy='{last[1]:.1f}' r='2.6' "
            "fill='#102a43'/></svg>")


#: The tables of the data contract as readers name them (the index's "Data used").
TABLE_NAMES = {"accounts": "Accounts", "subscriptions": "Subscriptions", "users": "Users",
               "exit_interviews": "Exit interviews", "roadmap": "Roadmap", "health_scores": "Health scores",
               "support_tickets": "Support tickets", "nps_responses": "NPS responses", "touchpoints": "Touchpoints",
               "events": "Events"}


def _card_html(card: dict, currency: str) -> str:
    from . import summary as sm

    e = presentation.escape
    value = sm.figure(card["value"], card["kind"], currency)
    ci = (f"<div class='ci'>{e(i18n.t('95% CI {lo}-{hi}', lo=sm.figure(card['lo'], card['kind']), hi=sm.figure(card['hi'], card['kind'])))}</div>"
          if card.get("lo") is not None and card.get("hi") is not None else "")
    deltas = []
    for which in ("prev", "year"):
        text = sm.change_text(card, which)
        if not text:
            continue
        then = card[which]
        way = "up" if card["value"] > then else "down" if card["value"] < then else "flat"
        arrow = {"up": "&#9650;", "down": "&#9660;", "flat": "&#9644;"}[way]
        cls = "flat" if way == "flat" or not card.get("better") else (
            f"{way}-good" if way == card["better"] else f"{way}-bad")
        deltas.append(f"<div class='d {cls}'>{arrow} {e(text)}</div>")
    return (f"<a class='card' href='{e(card['page'])}' style='text-decoration:none;color:inherit'>"
            f"<div class='k'>{e(card['label'])}</div><div class='v'>{e(value)}</div>"
            f"<div class='w'>{e(card['window'])}</div>{ci}{''.join(deltas)}{_spark(card['spark'])}</a>")


def _labels_in_report_language(m: dict, dataset) -> dict:
    """``m`` with its taxonomy labels (English in ``metrics.json``) in the report language, for the index."""
    if i18n.report_language() == "en" or dataset is None or getattr(dataset, "taxonomy", None) is None:
        return m
    from .reasons import reason_label

    tax, lang = dataset.taxonomy, i18n.report_language()

    def label(code, level="primary", fallback=None):
        try:
            return reason_label(code, tax, lang=lang, level=level)
        except (KeyError, ValueError):
            return fallback if fallback is not None else code
    m = dict(m)
    m["reason_labels"] = {c: label(c, fallback=v) for c, v in (m.get("reason_labels") or {}).items()}
    if m.get("top_reason"):
        m["top_reason_label"] = label(m["top_reason"], fallback=m.get("top_reason_label"))
    m["top_reason_changes"] = [
        {**c, "label": c.get("label") if c.get("level") == "competitor"
         else label(c.get("reason"), c.get("level") or "primary", c.get("label"))}
        for c in m.get("top_reason_changes") or []]
    return m


def write_index(result: ReviewResult, dataset=None) -> Path:
    """Write ``index.html``, the executive summary: sentences on the quarter, cards with the change
    against the previous quarter and a year ago, actions, a section per audience, and the reports."""
    from . import summary as sm

    e = presentation.escape
    t = i18n.t
    m = {"quarter": result.quarter, **result.metrics}
    if "top_reason" not in m:
        m.update(sm.top_reason(m))
    m = _labels_in_report_language(m, dataset)
    currency = m.get("currency") or ""
    cards = sm.kpis(m) if m.get("quarter") else []
    rows = []
    for n in result.notebooks:
        title = e(title_of(n.name))
        link = f"<a href='{e(n.html)}'>{title}</a>" if n.html else title
        if n.skipped:
            status = f"<span class='skip'>{e(t('not run'))}</span><div class='err'>{e(i18n.translate(n.skipped))}</div>"
        elif n.ok:
            status = f"<span class='ok'>{e(t('ready'))}</span>"
        else:
            status = f"<span class='bad'>{e(t('failed'))}</span><div class='err'>{e(n.error)}</div>"
        rows.append(f"<tr><td>{link}</td><td>{status}</td></tr>")
    said = sm.sentences(m, cards)
    summary_html = ("<ul class='summary'>" + "".join(f"<li>{e(t)}</li>" for t in said) + "</ul>") if said else ""
    acts = sm.actions(m)
    actions_html = (f"<h2>{e(t('Actions'))}</h2><ul>" + "".join(f"<li><a href='{e(a['href'])}'>{e(a['text'])}</a></li>"
                                                     for a in acts) + "</ul>") if acts else ""
    aud = sm.audiences(m) if m.get("reason_shares") else []
    aud_html = (f"<h2>{e(t('For each team'))}</h2><div class='cols'>" + "".join(
        f"<div class='box'><h3>{e(a['title'])}</h3><p>{e(a['text'])}</p><p><a href='{e(a['href'])}'>"
        f"{e(t('Open the report'))}</a></p></div>" for a in aud) + "</div>") if aud else ""
    data_rows = ""
    if dataset is not None:
        data_rows = "".join(
            f"<tr><td>{e(TABLE_NAMES.get(r.table) and t(TABLE_NAMES[r.table]) or r.table)}</td><td>{e(str(r.file))}</td>"
            f"<td class='num'>{r.read:,}</td>"
            f"<td class='num'>{r.excluded:,}</td><td class='num'>{r.used:,}</td></tr>"
            for r in dataset.rows.itertuples(index=False))
        data_rows = (f"<h2>{e(t('Data used'))}</h2><table><tr><th>{e(t('Table'))}</th><th>{e(t('File'))}</th>"
                     f"<th class='num'>{e(t('Rows read'))}</th><th class='num'>{e(t('Excluded'))}</th>"
                     f"<th class='num'>{e(t('Used'))}</th></tr>" + data_rows +
                     f"</table><p class='note'>{e(t('Every exclusion is explained in the data check.'))}</p>")
    failed = [n for n in result.notebooks if not n.ok]
    warn = (f"<p class='bad'>{e(t('{n} report(s) could not be completed; see below.', n=len(failed)))}</p>"
            if failed else "")
    cards_html = "".join(_card_html(c, currency) for c in cards)
    review = e(t("Churn review {quarter}", quarter=result.quarter))
    sub = e(t("Executive summary: what happened this quarter, how it compares with the previous quarter and "
              "the same quarter a year ago, and what to do. Each card opens the report behind it."))
    foot = e(t("Generated by churnlab on {when}. Every figure is in metrics.json in this folder. Changes marked "
               "with p are tested (two-proportion z-test); a change without p has no test.",
               when=pd.Timestamp.now(tz="UTC").strftime("%Y-%m-%d %H:%M UTC")))
    page = f"""<!doctype html><html lang="{e(i18n.html_lang())}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{review}</title><style>{stylesheet()}</style></head>
<body><header class="bar"><div class="wrap"><span class="home">{review}</span></div></header>
<div class="wrap">
<div class="hero"><h1>{e(t("Quarterly churn review · {quarter}", quarter=result.quarter))}</h1>
<p class="sub">{sub}</p></div>
{warn}{summary_html}
<div class="cards">{cards_html}</div>
{actions_html}
{aud_html}
<h2>{e(t("Reports"))}</h2><table><tr><th>{e(t("Report"))}</th><th>{e(t("Status"))}</th></tr>{''.join(rows)}</table>
{data_rows}
<p class="foot">{foot}</p>
</div></body></html>"""
    path = result.out_dir / "index.html"
    path.write_text(page, encoding="utf-8")
    return path


HEADERS, readable_header = presentation.HEADERS, presentation.readable_header


def _with_interval(frame: pd.DataFrame, col: str, fmt) -> pd.Series:
    lo, hi = frame[f"{col}_lo"], frame[f"{col}_hi"]

    def one(v, a, b):
        if v is None or pd.isna(v):
            return None
        if a is None or b is None or pd.isna(a) or pd.isna(b) or a == b:   # no interval (a reference group's 1.00)
            return fmt(v)
        return f"{fmt(v)} ({fmt(a)}-{fmt(b)})"
    return pd.Series([one(v, a, b) for v, a, b in zip(frame[col], lo, hi)], index=frame.index, dtype=object)


_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def styled(frame: pd.DataFrame, *, percent=(), counts=(), money=(), decimals=(), pvalues=(),
           formats: dict | None = None, caption: str | None = None, currency: str = "", headers: dict | None = None,
           name: str | None = None):
    """A report table: readable headers, each value with its interval in one cell, percentages,
    thousands separators, money with its currency, p-values as ``< 0.001``, blanks and booleans as
    words, every text escaped; returns a pandas Styler with the index hidden.

    A column ``x`` with ``x_lo`` and ``x_hi`` beside it is shown as one cell "4.9% (4.0-5.9%)" under
    "x (95% CI)". Headers come from :data:`HEADERS` (or ``headers``), other names are turned into
    words. ``formats`` maps other columns to a format string or a callable returning plain text.
    ``name`` says what a table without a caption shows (a heading above it names it on the page):
    it names the table's data twin in the published review. Every text shown goes through :func:`churnlab.presentation.escape` (see
    :func:`churnlab.presentation.styler`).

    Examples
    --------
    >>> html_ = styled(pd.DataFrame({"rate": [0.125], "n": [1200]}), percent=["rate"], counts=["n"]).to_html()
    >>> "12.5%" in html_ and "1,200" in html_ and "Accounts" in html_
    True
    >>> "&lt; 0.001" in styled(pd.DataFrame({"p": [1e-6]}), pvalues=["p"]).to_html()
    True
    >>> t = styled(pd.DataFrame({"attrition_rate": [0.049], "attrition_rate_lo": [0.04], "attrition_rate_hi": [0.059]}),
    ...            percent=["attrition_rate", "attrition_rate_lo", "attrition_rate_hi"]).to_html()
    >>> "4.9% (4.0%-5.9%)" in t and "Attrition rate (95% CI)" in t and "rate_lo" not in t
    True
    """
    pct_fmt = "{:.1%}".format
    dec_fmt = "{:.2f}".format
    data = frame.copy()
    for c in presentation.LABEL_COLUMNS & set(data.columns):   # "green", "month" in the report language
        data[c] = data[c].map(lambda v: i18n.word(v) if isinstance(v, str) else v)
    names = {k: i18n.translate(v) for k, v in dict(HEADERS, **(headers or {})).items() if k in frame.columns}
    fmt: dict = {}
    text: set = set()
    for c in list(data.columns):
        if f"{c}_lo" in data and f"{c}_hi" in data and (c in percent or c in decimals):
            data[c] = _with_interval(data, c, pct_fmt if c in percent else dec_fmt)
            data = data.drop(columns=[f"{c}_lo", f"{c}_hi"])
            names[c] = i18n.t("{header} (95% CI)", header=(names[c] if c in names else readable_header(c)))
            text.add(c)
    for c in data.columns:
        if c in text:
            continue
        if c in percent:
            fmt[c] = "{:.1%}"
        elif c in counts:
            fmt[c] = "{:,.0f}"
        elif c in money:
            fmt[c] = (lambda v, cur=currency: _money(v, cur))
        elif c in decimals:
            fmt[c] = "{:.2f}"
        elif c in pvalues:
            fmt[c] = (lambda p: "< 0.001" if p < 0.001 else f"{p:.3f}" if p < 0.01 else f"{p:.2f}")
        elif pd.api.types.is_bool_dtype(data[c]) or any(isinstance(v, (bool, np.bool_)) or v in ("True", "False")
                                                        for v in data[c] if not isinstance(v, (list, dict))):
            # booleans, also a group named after one ("True" as the highest group of a yes / no trait)
            data[c] = data[c].map(lambda v: presentation.level_word(v)
                                  if isinstance(v, (bool, np.bool_)) or v in ("True", "False") else v)
        elif pd.api.types.is_datetime64_any_dtype(data[c]):
            data[c] = data[c].dt.strftime("%Y-%m-%d")
            text.add(c)
        elif data[c].dtype == object and len(data[c].dropna()) and \
                data[c].dropna().map(lambda v: isinstance(v, str) and bool(_ISO_DAY.fullmatch(v))).all():
            text.add(c)   # dates as text: kept on one line like the other figures
        elif c in presentation.WORD_COLUMNS and i18n.report_language() != "en":
            # churnlab's own words (a signal's meaning, a tier's response) in the report language
            # a list of them ("Champion left; Low seat use") item by item
            data[c] = data[c].map(lambda v: "; ".join(i18n.translate(p, record=False) for p in v.split("; "))
                                  if isinstance(v, str) else v)
    fmt.update({c: f for c, f in (formats or {}).items() if c in data})
    numeric = [c for c in data.columns if c in fmt and c not in text]
    data = data.rename(columns={c: (names[c] if c in names else readable_header(c)) for c in data.columns})
    fmt = {(names[c] if c in names else readable_header(c)): f for c, f in fmt.items()}
    numeric = [(names[c] if c in names else readable_header(c)) for c in numeric]
    twin = presentation.save_twin(frame, caption or name or "table")   # the table's data twin in the published review
    st = presentation.styler(data, formats=fmt, na_rep="–", hide_index=True,
                             caption=i18n.translate(caption) if caption else caption)
    if twin is not None:   # a long table links to it on the page (presentation.fold_long_tables)
        st = st.set_table_attributes(f'{presentation.CSV_ATTR}="{presentation.escape(twin.name)}"')
    st = st.set_table_styles([{"selector": "th", "props": "text-align: left; background: #eef2f7;"},
                              {"selector": "td", "props": "padding: 4px 10px;"}])
    if numeric:
        st = st.set_properties(subset=numeric, **{"text-align": "right", "font-variant-numeric": "tabular-nums",
                                                  "white-space": "nowrap"})
    intervals = [(names[c] if c in names else readable_header(c)) for c in text]
    if intervals:   # "4.9% (4.0%-5.9%)", dates and "< 0.001" are read as one figure: never broken over lines
        st = st.set_properties(subset=intervals, **{"white-space": "nowrap"})
    others = [c for c in data.columns if c not in numeric]
    if others:
        st = st.set_properties(subset=others, **{"text-align": "left"})
    return st


def points(v) -> str:
    """A change of a share in percentage points: ``0.181 -> '+18.1 pts'`` (for ``styled(formats=...)``).

    Examples
    --------
    >>> points(0.181), points(-0.0474)
    ('+18.1 pts', '-4.7 pts')
    """
    return i18n.t("{d} pts", d=f"{100 * float(v):+.1f}")


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
    User attrition: not shown, because it needs the events table, which this data does not have.
    False
    """
    missing = [f"the {t} table" for t in tables if not dataset.has(t)]
    missing += [f"the account column '{c}'" for c in columns if c not in dataset.accounts.columns]
    if not missing:
        return True
    return explain(False, f"{what}: not shown, because it needs {' and '.join(missing)}, which this data does not have.")


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
    sentence = i18n.translate(sentence)
    from IPython import get_ipython
    from IPython.display import HTML, display

    if get_ipython() is not None:   # table, column and group names are data: escaped, never Markdown
        display(HTML(f"<p><em>{presentation.escape(sentence)}</em></p>"))
    else:
        print(sentence)
    return False
