"""Report notebooks: execute ``notebooks/report.ipynb`` (or ``sweep.ipynb``) on an experiment.

:func:`render_report` picks the notebook, injects the experiment folder as a parameter (a cell
after the one tagged ``parameters``, as papermill does), executes it with ``nbclient`` in a
``python3`` kernel and writes the executed notebook and a self-contained HTML page (figures
embedded), each atomically: a failed cell raises :class:`ReportError` naming the notebook and the
cell, and leaves any earlier report untouched.

The notebooks read the folder through :func:`load_report`, which gives every analysis table (an
empty frame when a table is absent, e.g. no uplift) with the experiment manifest and run index,
through the small helpers :func:`arm_verdicts` and :func:`decision_table` (the verdict the
report opens with; :func:`sweep_verdicts` and :func:`sweep_decision_table` give a sweep's, with
the same wording), :func:`policy_table`, :func:`sweep_design` and :func:`numeric_axis`;
they name and format metrics with the vocabulary of :mod:`sim.analysis.metrics`.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.analysis.metrics import (
    DASH,
    can_affect,
    format_p,
    format_percent,
    format_value,
    format_yuan,
    metric_name,
    verdict,
)
from sim.experiment.analysis import ANALYSIS_DIR, analyse_experiment
from sim.experiment.index import EXPERIMENT_FILE
from sim.io.atomic import write_text
from sim.io.outputs import check_new_files
from sim.runs.folder import RunFolderError

NOTEBOOKS = {"report": "report.ipynb", "sweep": "sweep.ipynb"}
PARAMETER = "EXPERIMENT_DIR"
INJECTED_TAG = "injected-parameters"
KERNEL = "python3"
NOTEBOOKS_ENV = "SIYU_NOTEBOOKS"
_REMOTE_SCRIPT = re.compile(r"<script[^>]*\ssrc=\"https?://[^\"]*\"[^>]*>\s*</script>\s*")
CellCallback = Callable[[int, int], None]
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class ReportError(RunFolderError):
    """A report could not be made: no notebook, no kernel, not an experiment, or a cell failed."""


# --------------------------------------------------------------------------- reading the folder
@dataclass
class ExperimentReport:
    """Everything a report notebook reads from an experiment folder.

    Attributes
    ----------
    folder : Path
        The experiment folder.
    manifest : dict
        ``experiment.json`` (name, resolved config, arms, labels, cells ...).
    index : pandas.DataFrame
        ``index.parquet``: one row per run with its status and error.
    meta : dict
        ``analysis/analysis.json`` (alpha, correction, power, discount rate, tau ...).
    tables : dict of str to pandas.DataFrame
        Every ``analysis/*.parquet`` by name.
    """

    folder: Path
    manifest: dict[str, Any]
    index: pd.DataFrame
    meta: dict[str, Any]
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)

    @property
    def config(self) -> dict[str, Any]:
        return self.manifest.get("config", {})

    @property
    def cells(self) -> list[str]:
        return [c["cell"] for c in self.manifest.get("cells", [])] or ["base"]

    @property
    def arms(self) -> list[str]:
        """Arm names, control first."""
        return list(self.manifest.get("arms", []))

    @property
    def labels(self) -> dict[str, str]:
        return {arm: self.manifest.get("labels", {}).get(arm, arm) for arm in self.arms}

    def table(self, name: str, cell: str | None = None) -> pd.DataFrame:
        """An analysis table (empty when absent), restricted to ``cell`` when given."""
        frame = self.tables.get(name, pd.DataFrame())
        if cell is not None and "cell" in frame.columns:
            frame = frame[frame["cell"] == cell]
        return frame.reset_index(drop=True)


def _checked_manifest(folder: Path) -> dict[str, Any]:
    """``experiment.json`` of ``folder``; a clear error when it is missing or unreadable."""
    path = folder / EXPERIMENT_FILE
    if not path.is_file():
        raise ReportError(
            f"{folder} is not a siyu experiment folder: {EXPERIMENT_FILE} is missing "
            "(make one with `siyu run EXPERIMENT.yaml --out DIR`)"
        )
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise ReportError(f"{path}: not readable as JSON ({err})") from None
    if not isinstance(manifest, dict) or "arms" not in manifest:
        raise ReportError(f"{path}: expected an experiment manifest with an 'arms' list")
    return manifest


def load_report(experiment_dir: str | Path) -> ExperimentReport:
    """Read an analysed experiment folder for a report.

    Parameters
    ----------
    experiment_dir : str or Path
        A folder written by ``siyu run EXPERIMENT.yaml`` and analysed (``analysis/`` present).

    Returns
    -------
    ExperimentReport
    """
    folder = Path(experiment_dir)
    manifest = _checked_manifest(folder)
    index_path = folder / "index.parquet"
    index = pd.read_parquet(index_path) if index_path.is_file() else pd.DataFrame()
    analysis = folder / ANALYSIS_DIR
    if not analysis.is_dir():
        raise ReportError(f"{folder}: no {ANALYSIS_DIR}/ folder; run `siyu analyse {folder}` first")
    meta_path = analysis / "analysis.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8")) if meta_path.is_file() else {}
    tables = {p.stem: pd.read_parquet(p) for p in sorted(analysis.glob("*.parquet"))}
    return ExperimentReport(folder, manifest, index, meta, tables)


def _describe_strategy(strategy: dict[str, Any]) -> str:
    params = strategy.get("params") or {}
    shown = ", ".join(f"{k}={v}" for k, v in params.items())
    return f"{strategy.get('name', '?')}({shown})"


def policy_table(report: ExperimentReport) -> pd.DataFrame:
    """One row per arm: its label, strategies (with parameters) and rules, from the config."""
    config = report.config
    rows = []
    for arm in report.arms:
        policy = config.get("control", {}) if arm == "control" else config.get("arms", {}).get(arm)
        policy = policy or {}
        rows.append({
            "arm": arm,
            "label": report.labels[arm],
            "strategies": "; ".join(_describe_strategy(s) for s in policy.get("strategies", []))
            or "none",
            "rules": ", ".join(r.get("name", "?") for r in policy.get("rules", [])) or "-",
        })  # fmt: skip
    return pd.DataFrame(rows)


def sweep_design(report: ExperimentReport) -> pd.DataFrame:
    """One row per cell with the swept parameters' values (no parameter columns without a
    sweep)."""
    cells = report.manifest.get("cells") or [{"cell": "base", "values": {}}]
    return pd.DataFrame([{"cell": c["cell"], **(c.get("values") or {})} for c in cells])


def numeric_axis(values: pd.Series) -> tuple[np.ndarray, list[str] | None]:
    """Positions to plot a parameter's values at, and tick labels when they are not numbers.

    Numbers (and booleans) are plotted as themselves; anything else (strategy names, lists)
    at 0, 1, 2 ... in order of first appearance, labelled with the value.
    """
    numeric = pd.to_numeric(values, errors="coerce")
    if numeric.notna().all():
        return numeric.to_numpy(float), None
    text = values.map(lambda v: json.dumps(v) if isinstance(v, list | dict) else str(v))
    order = list(dict.fromkeys(text))
    return text.map(order.index).to_numpy(float), order


# --------------------------------------------------------------------------- the verdict
RETENTION_DAYS = (90, 30, 7, 1)
"""The report's retention metric is the latest of these days observed within the horizon."""
ROLLOUT_USERS = 10_000
"""The verdict scales the per-user net value effect to a rollout of this many users."""


def _rows(report: ExperimentReport, cell: str | None) -> pd.DataFrame:
    comparison = report.table("comparison", cell)
    return comparison[comparison["scope"] == "user"] if len(comparison) else comparison


def _effect(rows: pd.DataFrame, arm: str, key: str) -> pd.Series | None:
    """The comparison row of ``arm`` on ``key`` when its difference is observable."""
    found = rows[(rows["arm"] == arm) & (rows["metric"] == key)]
    if found.empty or not np.isfinite(found.iloc[0]["difference"]):
        return None
    return found.iloc[0]


def retention_metric(report: ExperimentReport, cell: str | None = None) -> str:
    """``retention_dN`` for the latest day N observed within the horizon (day 30 of a 60-day
    run); ``retention_d1`` when none is."""
    rows = _rows(report, cell)
    for day in RETENTION_DAYS:
        key = f"retention_d{day}"
        if len(rows) and rows[rows["metric"] == key]["difference"].notna().any():
            return key
    return "retention_d1"


def _interval(r: pd.Series) -> str:
    key = r["metric"]
    low, high = (format_value(key, r[c], difference=True) for c in ("ci_low", "ci_high"))
    return f"{low} to {high}"


def _phrase(r: pd.Series | None, what: str) -> str:
    if r is None:
        return f"{what} not observable"
    return f"{what} **{format_value(r['metric'], r['difference'], True)}** ({_interval(r)})"


def _certainty(r: pd.Series | None, level: str) -> str:
    """How sure we are of a net value effect, in words."""
    if r is None:
        return "No net value difference could be measured."
    p = format_p(r["p_adjusted"])
    excludes_zero = r["ci_low"] > 0 or r["ci_high"] < 0
    if r["significant"]:
        direction = "gain" if r["difference"] > 0 else "loss"
        return f"The net value {direction} is significant (adjusted p {p})."
    if excludes_zero:
        return (
            f"The {level} interval excludes zero, but after correcting for the many tests it is "
            f"not significant (adjusted p {p}): a likely direction, not yet a finding — run more "
            "replications."
        )
    return f"The net value difference is not distinguishable from zero (adjusted p {p})."


def arm_verdicts(report: ExperimentReport, cell: str | None = None) -> dict[str, str]:
    """For each treated arm, one or two sentences (Markdown) on what it does to net value,
    retention and churn against the control, with units and intervals, and how sure we are."""
    rows = _rows(report, cell)
    level = f"{1 - float(report.meta.get('alpha', 0.05)):.0%}"
    days = int(report.config.get("days", 0))
    retention = retention_metric(report, cell)
    control = report.labels.get("control", "control")
    sentences = {}
    for arm in report.arms[1:]:
        net = _effect(rows, arm, "net_value_per_user")
        parts = [_phrase(net, f"net value per user over {days} days")]
        if net is not None:
            scaled = f"{format_yuan(ROLLOUT_USERS * net['difference'])}"
            parts[0] += f", about {scaled} for {ROLLOUT_USERS:,} users like these"
        parts.append(_phrase(_effect(rows, arm, retention), metric_name(retention)))
        parts.append(_phrase(_effect(rows, arm, "churned_share"), "share churned"))
        sentences[arm] = (
            f"**{report.labels[arm]}** against the control ({control}): "
            + "; ".join(parts)
            + f" ({level} intervals). "
            + _certainty(net, level)
        )
    return sentences


def _reading(r: pd.Series | None) -> str:
    if r is None:
        return "no measure"
    if r["significant"]:
        return (
            "better (significant)"
            if verdict(r["metric"], r["difference"]) > 0
            else ("worse (significant)")
        )
    if r["ci_low"] > 0:
        return "likely better, not significant"
    if r["ci_high"] < 0:
        return "likely worse, not significant"
    return "no clear difference"


def _cell_text(r: pd.Series | None) -> str:
    if r is None:
        return DASH
    return f"{format_value(r['metric'], r['difference'], True)} ({_interval(r)})"


def decision_table(report: ExperimentReport, cell: str | None = None) -> pd.DataFrame:
    """One row per treated arm: net value, retention, churn (difference and interval), ROI in
    percent and a reading of the net value effect, with readable column names and units."""
    rows = _rows(report, cell)
    econ = report.table("economics", cell)
    retention = retention_metric(report, cell)
    level = f"{1 - float(report.meta.get('alpha', 0.05)):.0%}"
    table = []
    for arm in report.arms[1:]:
        net = _effect(rows, arm, "net_value_per_user")
        roi = econ[econ["arm"] == arm]["roi"] if len(econ) else pd.Series(dtype=float)
        table.append({
            "arm": report.labels[arm],
            f"Δ net value / user ({level} interval)": _cell_text(net),
            f"Δ {metric_name(retention)}": _cell_text(_effect(rows, arm, retention)),
            "Δ share churned": _cell_text(_effect(rows, arm, "churned_share")),
            "ROI": format_percent(roi.iloc[0]) if len(roi) else DASH,
            "net value: reading": _reading(net),
        })  # fmt: skip
    return pd.DataFrame(table)


# --------------------------------------------------------------------------- a sweep's verdict
SATURATING = 0.5
"""Returns *flatten* when the last step of a swept parameter gains less per unit than this
share of the first step's gain per unit."""


def _swept_numbers(design: pd.DataFrame) -> list[str]:
    """The swept parameters whose values are all numbers (the ones returns can saturate along)."""
    params = [c for c in design.columns if c != "cell"]
    return [p for p in params if pd.to_numeric(design[p], errors="coerce").notna().all()]


def _setting(design: pd.DataFrame, cell: str) -> str:
    """``name=value, …`` of a cell, each parameter by the last part of its config path."""
    row = next(r for r in design.to_dict("records") if r["cell"] == cell)  # keeps ints ints
    return ", ".join(f"{p.split('.')[-1]}={row[p]}" for p in design.columns if p != "cell")


def returns_along(x: np.ndarray, y: np.ndarray, noise: float = 0.0) -> str:
    """In words, how an effect ``y`` changes along increasing values ``x`` of one parameter:
    no clear trend (``y`` spans less than ``noise``, e.g. a typical interval half-width), peaks
    inside the range, still rising but flattening (the last step gains less than
    :data:`SATURATING` of the first step per unit), or still rising (no saturation seen)."""
    order = np.argsort(x, kind="stable")
    x, y = np.asarray(x, float)[order], np.asarray(y, float)[order]
    if len(x) < 3 or not np.isfinite(y).all():
        return "too few values to tell whether returns saturate"
    if np.ptp(y) < noise:
        return (
            "no clear trend — its values change the effect by less than a cell's interval "
            "half-width, so whether returns saturate cannot be told from these runs"
        )
    best = int(np.argmax(y))
    if best < len(x) - 1:
        return f"returns peak at {x[best]:g} and fall beyond it (saturated within the range)"
    first = (y[1] - y[0]) / (x[1] - x[0])
    last = (y[-1] - y[-2]) / (x[-1] - x[-2])
    if first > 0 and last < SATURATING * first:
        return "still rising at the top of the range but flattening (diminishing returns)"
    return "still rising at the top of the range: no saturation seen (try larger values)"


def sweep_verdicts(report: ExperimentReport, metric: str = "net_value_per_user") -> dict[str, str]:
    """For each treated arm of a sweep, in Markdown: the best cell on ``metric`` with its
    interval and how sure we are (the single-experiment verdict's wording, :func:`arm_verdicts`),
    how many other cells are within its interval, and for each numeric swept parameter whether
    returns saturate (the effect averaged over the other parameters, :func:`returns_along`,
    judged against the cells' mean interval half-width)."""
    design = sweep_design(report)
    rows = _rows(report, None)
    rows = rows[rows["metric"] == metric] if len(rows) else rows
    level = f"{1 - float(report.meta.get('alpha', 0.05)):.0%}"
    control = report.labels.get("control", "control")
    out = {}
    for arm in report.arms[1:]:
        r = rows[(rows["arm"] == arm) & rows["difference"].notna()] if len(rows) else rows
        if r.empty:
            out[arm] = (
                f"**{report.labels[arm]}**: no cell could be compared on {metric_name(metric)}."
            )
            continue
        best = r.loc[
            r["difference"].idxmax() if verdict(metric, 1.0) > 0 else r["difference"].idxmin()
        ]
        near = r[(r["cell"] != best["cell"]) & (r["difference"] >= best["ci_low"])
                 & (r["difference"] <= best["ci_high"])]  # fmt: skip
        text = (
            f"**{report.labels[arm]}** against the control ({control}): best at "
            f"**{_setting(design, best['cell'])}** (cell {best['cell']}), "
            f"{_phrase(best, metric_name(metric))}. "
            + (_certainty(best, level) + " " if metric == "net_value_per_user" else "")
            + f"{len(near)} of the other {len(r) - 1} cells lie inside its interval"
            + (" — the best setting is not clearly better than those" if len(near) else "")
            + "; the top of a ranking is flattered by luck (see section 3)."
        )
        by_cell = r.merge(design, on="cell")
        noise = float(np.nanmean(r["ci_high"] - r["ci_low"]) / 2)
        for param in _swept_numbers(design):
            curve = by_cell.groupby(param)["difference"].mean()
            others = " (averaged over the other parameters)" if design.shape[1] > 2 else ""
            trend = returns_along(curve.index.to_numpy(float), curve.to_numpy(float), noise)
            text += f" Along {param.split('.')[-1]}{others}: {trend}."
        out[arm] = text + f" Intervals are {level}."
    return out


def _as_text(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def sweep_decision_table(report: ExperimentReport) -> pd.DataFrame:
    """:func:`decision_table` of every cell, one row per cell and arm, with the swept values
    (as text)."""
    design = sweep_design(report)
    frames = [
        decision_table(report, cell).assign(cell=cell)
        for cell in design["cell"]
        if len(report.table("comparison", cell))
    ]
    if not frames:
        return pd.DataFrame()
    params = [p for p in design.columns if p != "cell"]
    shown = design.assign(**{p: design[p].map(_as_text) for p in params})  # 0.3, not 0.300000
    table = pd.concat(frames, ignore_index=True).merge(shown, on="cell")
    table = table.rename(columns={p: p.split(".")[-1] for p in params})
    first = ["cell", *[p.split(".")[-1] for p in design.columns if p != "cell"]]
    return table[first + [c for c in table.columns if c not in first]]


def judged(row: pd.Series) -> bool:
    """Whether a comparison row may be shaded as a gain or a harm: significant, and on a metric
    the arm can affect (see :func:`sim.analysis.metrics.can_affect`)."""
    return bool(row["significant"]) and can_affect(
        row["metric"], row["control_mean"], row["arm_mean"]
    )


# --------------------------------------------------------------------------- finding notebooks
def notebook_folders() -> list[Path]:
    """Where report notebooks are looked for, in order: ``$SIYU_NOTEBOOKS``, the repository's
    ``notebooks/`` next to the ``sim`` package, ``./notebooks``."""
    folders = []
    if os.environ.get(NOTEBOOKS_ENV):
        folders.append(Path(os.environ[NOTEBOOKS_ENV]))
    folders.append(Path(__file__).resolve().parent.parent / "notebooks")
    folders.append(Path.cwd() / "notebooks")
    return folders


def find_notebook(notebook: str | Path) -> Path:
    """A notebook given by name (``report``, ``sweep``, ``report.ipynb``) or by path."""
    given = Path(notebook)
    if given.suffix == ".ipynb" and (given.is_absolute() or len(given.parts) > 1):
        if not given.is_file():
            raise ReportError(f"notebook {given} does not exist")
        return given
    filename = NOTEBOOKS.get(str(notebook), given.name)
    if not filename.endswith(".ipynb"):
        filename += ".ipynb"
    folders = notebook_folders()
    for folder in folders:
        if (folder / filename).is_file():
            return folder / filename
    if given.is_file():
        return given
    searched = ", ".join(str(f) for f in folders)
    raise ReportError(
        f"report notebook {filename!r} not found (looked in {searched}); give a path with "
        f"--notebook, set ${NOTEBOOKS_ENV}, or run from a siyu checkout "
        f"(known names: {', '.join(NOTEBOOKS)})"
    )


def default_notebook(manifest: dict[str, Any]) -> str:
    """``sweep`` for an experiment of several cells, else ``report``."""
    return "sweep" if len(manifest.get("cells") or []) > 1 else "report"


# --------------------------------------------------------------------------- executing
NOTEBOOKS_EXTRA = 'pip install -e ".[notebooks]"'
"""What installs the report's optional dependencies (nbformat, nbclient, nbconvert, ipykernel)."""


def notebook_extra() -> Any:
    """The ``nbformat`` module, or a one-line :class:`ReportError` naming the install command."""
    try:
        # lazy: a heavy optional dependency, only needed to make a report
        import nbclient  # noqa: F401
        import nbconvert  # noqa: F401
        import nbformat
    except ModuleNotFoundError as err:
        raise ReportError(
            f"siyu report needs the notebooks extra ({err.name} is not installed): "
            f"run {NOTEBOOKS_EXTRA} in the siyu checkout"
        ) from None
    return nbformat


def _check_literal(name: str, value: Any) -> None:
    """Only values whose ``repr`` is a Python literal can be injected as source code."""
    if not name.isidentifier():
        raise ReportError(f"parameter name {name!r} is not a Python identifier")
    if isinstance(value, list | tuple):
        for item in value:
            _check_literal(name, item)
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_literal(name, key)
            _check_literal(name, item)
    elif isinstance(value, float) and not np.isfinite(value):
        raise ReportError(f"parameter {name}: {value} cannot be written as a literal")
    elif not (value is None or isinstance(value, str | int | float | bool)):
        raise ReportError(f"parameter {name}: {type(value).__name__} is not a literal value")


def inject_parameters(nb: Any, parameters: dict[str, Any]) -> Any:
    """Add a cell setting ``parameters`` after the cell tagged ``parameters`` (at the top when
    there is none), replacing an earlier injected cell. Values are written as Python literals
    (strings, numbers, booleans, None, and lists or dicts of them)."""
    import nbformat

    for name, value in parameters.items():
        _check_literal(name, value)

    nb.cells = [c for c in nb.cells if INJECTED_TAG not in c.get("metadata", {}).get("tags", [])]
    source = "# Parameters injected by siyu report\n" + "\n".join(
        f"{name} = {value!r}" for name, value in parameters.items()
    )
    cell = nbformat.v4.new_code_cell(source, metadata={"tags": [INJECTED_TAG]})
    tagged = [
        i for i, c in enumerate(nb.cells) if "parameters" in c.get("metadata", {}).get("tags", [])
    ]
    nb.cells.insert(tagged[0] + 1 if tagged else 0, cell)
    return nb


def _failing_cell(nb: Any) -> tuple[int, str]:
    """(1-based cell number, first source line) of the cell whose output is an error."""
    for i, cell in enumerate(nb.cells, start=1):
        if any(o.get("output_type") == "error" for o in cell.get("outputs", [])):
            lines = [ln for ln in cell.source.splitlines() if ln.strip()]
            return i, (lines[0] if lines else "")
    return 0, ""


def execute_notebook(
    nb: Any, cwd: Path, timeout: int, name: str, on_cell: CellCallback | None = None
) -> Any:
    """Run every cell of ``nb`` in a fresh ``python3`` kernel with ``cwd`` as working folder;
    ``on_cell(done, total)`` is called after each code cell (for a progress bar).

    The kernel process's own log (not the cells' output, which stays in the notebook) goes to
    a temporary file and is shown only when the kernel dies or times out.
    """
    from jupyter_client.kernelspec import NoSuchKernel
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    total = sum(c.cell_type == "code" for c in nb.cells)
    done = iter(range(1, total + 1))

    def cell_executed(**_: Any) -> None:
        if on_cell is not None:
            on_cell(next(done, total), total)

    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name=KERNEL,
        resources={"metadata": {"path": str(cwd)}},
        on_cell_executed=cell_executed,
    )
    with tempfile.TemporaryFile() as kernel_log:
        try:
            client.execute(stderr=kernel_log)
        except NoSuchKernel:
            raise ReportError(
                f"no Jupyter kernel {KERNEL!r}: install the notebook extra "
                f"({NOTEBOOKS_EXTRA}, which brings ipykernel)"
            ) from None
        except CellExecutionError as err:
            number, first = _failing_cell(nb)
            raise ReportError(
                f"{name}: cell {number} ({first!r}) failed: {err.ename}: "
                f"{_ANSI.sub('', str(err.evalue))}"
            ) from None
        except (CellTimeoutError, DeadKernelError, RuntimeError) as err:
            kernel_log.seek(0)
            tail = kernel_log.read().decode("utf-8", "replace")[-2000:].strip()
            raise ReportError(
                f"{name}: {type(err).__name__}: {err}" + (f"\nkernel log:\n{tail}" if tail else "")
            ) from None
    return nb


def notebook_html(nb: Any, title: str, show_code: bool = True) -> str:
    """The executed notebook as one self-contained HTML page that can be mailed: figures
    embedded, styles inline, and no script fetched from the web (the template's require.js and
    MathJax are dropped: the report has no widgets and no formulas)."""
    from nbconvert import HTMLExporter

    exporter = HTMLExporter()
    exporter.exclude_input = not show_code
    exporter.exclude_input_prompt = True
    exporter.exclude_output_prompt = True
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": title}})
    return _REMOTE_SCRIPT.sub("", body)


def _ensure_analysis(folder: Path, analyse_if_missing: bool) -> None:
    if (folder / ANALYSIS_DIR).is_dir():
        return
    hint = f"run `siyu analyse {folder}` first"
    if not analyse_if_missing:
        raise ReportError(f"{folder}: no {ANALYSIS_DIR}/ folder; {hint}")
    analyse_experiment(folder)


def render_report(
    experiment_dir: str | Path,
    notebook: str | Path | None = None,
    out_html: str | Path | None = None,
    timeout: int = 600,
    *,
    show_code: bool = False,
    analyse_if_missing: bool = True,
    on_cell: CellCallback | None = None,
    overwrite: bool = False,
) -> Path:
    """Execute a report notebook on an experiment folder and write it as HTML.

    Parameters
    ----------
    experiment_dir : str or Path
        The experiment folder (``experiment.json``, ``index.parquet``, ``analysis/``).
    notebook : str or Path, optional
        ``"report"``, ``"sweep"``, a file name in the notebooks folder, or a path. Default:
        ``sweep`` when the experiment has more than one cell, else ``report``.
    out_html : str or Path, optional
        The HTML file (default ``<experiment>/report.html``); the executed notebook is written
        next to it with the suffix ``.ipynb``.
    timeout : int
        Seconds allowed per cell.
    show_code : bool
        Keep the code cells' input in the HTML (default: hidden, a reader sees text, tables
        and figures; the executed ``.ipynb`` always has the code).
    analyse_if_missing : bool
        Analyse the experiment first when ``analysis/`` is absent (else an error says how).
    on_cell : callable, optional
        Called as ``on_cell(cells_done, code_cells)`` after each executed code cell.
    overwrite : bool
        Replace an existing HTML file (and its ``.ipynb``); refused otherwise, before executing.

    Returns
    -------
    Path
        The HTML file written.

    Raises
    ------
    ReportError
        Not an experiment, no notebook or kernel, or a cell failed (nothing is written then).
    """
    nbformat = notebook_extra()
    if out_html is not None and Path(out_html).suffix == ".ipynb":
        raise ReportError(f"--out {out_html}: give an HTML file name (the .ipynb goes next to it)")
    folder = Path(experiment_dir).resolve()
    manifest = _checked_manifest(folder)
    _ensure_analysis(folder, analyse_if_missing)
    source = find_notebook(notebook or default_notebook(manifest))
    html_path = (Path(out_html) if out_html else folder / "report.html").resolve()
    check_new_files((html_path, html_path.with_suffix(".ipynb")), overwrite, inputs=[source])
    nb = nbformat.read(source, as_version=4)
    inject_parameters(nb, {PARAMETER: str(folder)})
    execute_notebook(nb, folder.parent, timeout, source.name, on_cell)
    html_path.parent.mkdir(parents=True, exist_ok=True)
    title = f"{manifest.get('name', folder.name)} — {source.stem}"
    html = notebook_html(nb, title, show_code)
    write_text(html_path.with_suffix(".ipynb"), nbformat.writes(nb))
    return write_text(html_path, html)
