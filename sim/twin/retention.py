"""Aggregate retention tables: read a cohort's survivors, fit sBG and the twin's BdW, project.

Behind ``siyu twin retention TABLE.csv --fit-through K --project-to M [--out FILE]``. The table
(documented in ``docs/DATA.md``) has one row per period: ``period`` (0, 1, 2, ... consecutive) and
``survivors`` (customers still active after that period; row 0 is the cohort size). Both models
are fitted to periods 0..K and project expected survivors to period M:

* the reference, the shifted-beta-geometric (sBG, Fader & Hardie 2007);
* the twin's model, the beta-discrete-Weibull (BdW, Fader et al. 2018), which nests the sBG
  (``c = 1``) and so fits at least as well; it frees ``c`` only when there are at least three
  fitted periods (one more than the sBG's two parameters; with fewer, ``c`` is not identified
  and the twin is the sBG).

Where the table has actual survivors beyond K, each model's projection error is reported as the
mean absolute percentage error (MAPE) over those periods (up to M).
"""

from __future__ import annotations

import csv
import gzip
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from sim.io.atomic import write_text
from sim.io.outputs import check_new_files, check_table_path, write_frame
from sim.twin.events import EventFileError
from sim.twin.forecast import CSV_OPTIONS
from sim.twin.sbg import BetaDiscreteWeibull, ShiftedBetaGeometric

COUNT_COLUMNS = ("survivors", "customers", "active")
MIN_FIT_PERIODS = 2  # the sBG has two parameters
MIN_FREE_C_PERIODS = 3  # BdW's c is identified with one more fitted period
_MAX_SHOWN = 20


@dataclass
class RetentionFit:
    """Both models fitted to one table: the projection ``table`` and the ``summary`` dict."""

    table: pd.DataFrame
    summary: dict
    sbg: ShiftedBetaGeometric = field(repr=False)
    twin: BetaDiscreteWeibull | ShiftedBetaGeometric = field(repr=False)


# ----------------------------------------------------------------------------- reading


def read_retention_table(path: str | Path) -> pd.DataFrame:
    """Read and check a retention table.

    Parameters
    ----------
    path
        A CSV (optionally ``.csv.gz``) with a header row; columns ``period`` and ``survivors``
        (``customers`` or ``active`` are accepted for the count), other columns ignored. Lines
        starting with ``#`` and blank lines are skipped (line numbers still count them).

    Returns
    -------
    pandas.DataFrame
        Columns ``period`` and ``survivors`` (int64), periods 0..N.

    Raises
    ------
    EventFileError
        Unreadable file, wrong columns, or rows that are not consecutive whole periods from 0
        with whole, non-increasing survivor counts (each with its line number).
    """
    path = Path(path)
    lines = _read_lines(path)
    if not lines:
        raise EventFileError(f"{path}: empty table; expected a header 'period,survivors'")
    header = [name.lower() for name in lines[0][1]]
    period_col, count_col = _count_columns(path, header)
    periods, counts, problems = [], [], []
    for number, row in lines[1:]:
        if len(row) != len(header):
            problems.append(f"line {number}: expected {len(header)} fields, got {len(row)}")
            continue
        period = _whole(row[period_col], "period", number, problems)
        count = _whole(row[count_col], header[count_col], number, problems)
        if period is None or count is None:
            continue
        problems.extend(_sequence_problems(number, period, count, periods, counts, header))
        periods.append(period)
        counts.append(count)
    if not problems and len(periods) < 2:
        problems.append("need at least periods 0 and 1 (the cohort size and one later count)")
    if problems:
        raise EventFileError(_problems_message(path, problems))
    return pd.DataFrame(
        {"period": np.array(periods, dtype=np.int64), "survivors": np.array(counts, np.int64)}
    )


def _read_lines(path: Path) -> list[tuple[int, list[str]]]:
    """(line number, fields) of every non-blank, non-comment line."""
    name = path.name.lower()
    if not (name.endswith(".csv") or name.endswith(".csv.gz")):
        raise EventFileError(f"{path}: unsupported file type; expected .csv or .csv.gz")
    opener = gzip.open if name.endswith(".gz") else open
    try:
        with opener(path, "rt", encoding="utf-8-sig", newline="") as handle:
            text = handle.read().splitlines()
    except FileNotFoundError as exc:
        raise EventFileError(f"{path}: file not found") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise EventFileError(f"{path}: cannot read: {exc}") from exc
    out = []
    for number, line in enumerate(text, start=1):
        if line.strip() and not line.lstrip().startswith("#"):
            out.append((number, [cell.strip() for cell in next(csv.reader([line]))]))
    return out


def _count_columns(path: Path, header: list[str]) -> tuple[int, int]:
    counts = [name for name in COUNT_COLUMNS if name in header]
    if "period" not in header or len(counts) != 1:
        found = ", ".join(header) or "(none)"
        what = "more than one count column" if len(counts) > 1 else "wrong columns"
        raise EventFileError(
            f"{path}: {what}; expected 'period' and one of {', '.join(COUNT_COLUMNS)} "
            f"(customers still active after each period); found: {found}"
        )
    return header.index("period"), header.index(counts[0])


def _whole(text: str, name: str, number: int, problems: list[str]) -> int | None:
    try:
        value = float(text)
    except ValueError:
        value = np.nan
    if not np.isfinite(value) or value != round(value) or value < 0:
        problems.append(f"line {number}: {name} must be a whole number >= 0 (got {text!r})")
        return None
    return int(value)


def _sequence_problems(number, period, count, periods, counts, header) -> list[str]:
    expected = len(periods)
    out = []
    if period != expected:
        out.append(
            f"line {number}: periods must run 0, 1, 2, ... without gaps; expected {expected} "
            f"(got {period})"
        )
    if expected == 0 and count == 0:
        out.append(f"line {number}: period 0 is the cohort size and must be > 0")
    if counts and count > counts[-1]:
        out.append(
            f"line {number}: survivors must not increase; {count} after {counts[-1]} "
            f"in period {period - 1}"
        )
    return out


def _problems_message(path: Path, problems: list[str]) -> str:
    body = [f"  {p}" for p in problems[:_MAX_SHOWN]]
    if len(problems) > _MAX_SHOWN:
        body.append(f"  ... and {len(problems) - _MAX_SHOWN} more")
    return "\n".join([f"{path}: {len(problems)} problem(s) in the retention table:", *body])


# ----------------------------------------------------------------------------- fitting


def _check_horizons(table: pd.DataFrame, fit_through: int, project_to: int) -> None:
    last = int(table["period"].iloc[-1])
    if not isinstance(fit_through, int | np.integer) or not (
        MIN_FIT_PERIODS <= fit_through <= last
    ):
        raise ValueError(
            f"fit_through must be a whole number of periods from {MIN_FIT_PERIODS} (the sBG "
            f"has two parameters) to the table's last period {last}; got {fit_through!r}"
        )
    if not isinstance(project_to, int | np.integer) or project_to < 1:
        raise ValueError(f"project_to must be a whole number of periods >= 1; got {project_to!r}")


def fit_retention(table: pd.DataFrame, fit_through: int, project_to: int) -> RetentionFit:
    """Fit sBG and the twin's BdW to periods 0..``fit_through`` and project to ``project_to``.

    Parameters
    ----------
    table
        Columns ``period`` (0..N) and ``survivors``, as from :func:`read_retention_table`.
    fit_through
        K: the last period used for fitting (2 <= K <= N).
    project_to
        M: the last period projected.

    Returns
    -------
    RetentionFit
        ``table`` with rows 0..M: ``period``, ``actual`` (NaN beyond the data), ``sbg``,
        ``twin`` (expected survivors); ``summary`` as :func:`retention_summary`.
    """
    _check_horizons(table, fit_through, project_to)
    survivors = table["survivors"].to_numpy(dtype=float)
    fitted = survivors[: fit_through + 1]
    sbg = ShiftedBetaGeometric().fit(fitted)
    twin = BetaDiscreteWeibull().fit(fitted) if fit_through >= MIN_FREE_C_PERIODS else sbg
    actual = np.full(project_to + 1, np.nan)
    shown = min(project_to, len(survivors) - 1)
    actual[: shown + 1] = survivors[: shown + 1]
    out = pd.DataFrame(
        {
            "period": np.arange(project_to + 1, dtype=np.int64),
            "actual": actual,
            "sbg": sbg.project(project_to),
            "twin": twin.project(project_to),
        }
    )
    summary = _summary(out, sbg, twin, fit_through, project_to)
    out.attrs["summary"] = summary
    return RetentionFit(table=out, summary=summary, sbg=sbg, twin=twin)


def _model_summary(model, name: str) -> dict:
    params = {k: float(v) for k, v in model.params_.items()}
    if "c" not in params:
        params["c"] = 1.0
    return {
        "model": name,
        **params,
        "se": {k: float(v) for k, v in model.se_.items()},
        "log_likelihood": float(model.log_likelihood_),
    }


def _mape(predicted: np.ndarray, actual: np.ndarray) -> float:
    usable = actual > 0
    return float(np.mean(np.abs(predicted[usable] - actual[usable]) / actual[usable]) * 100)


def _summary(out: pd.DataFrame, sbg, twin, fit_through: int, project_to: int) -> dict:
    free_c = twin is not sbg
    statistic = max(2 * (twin.log_likelihood_ - sbg.log_likelihood_), 0.0)
    holdout = out[(out["period"] > fit_through) & out["actual"].notna() & (out["actual"] > 0)]
    mape = None
    if len(holdout):
        actual = holdout["actual"].to_numpy()
        mape = {
            "sbg": _mape(holdout["sbg"].to_numpy(), actual),
            "twin": _mape(holdout["twin"].to_numpy(), actual),
        }
    return {
        "cohort_size": float(sbg.cohort_size_),
        "fit_through": int(fit_through),
        "project_to": int(project_to),
        "sbg": _model_summary(sbg, "sBG"),
        "twin": {
            **_model_summary(twin, "BdW" if free_c else "BdW with c = 1 (sBG)"),
            "duration_dependence_fitted": free_c,
        },
        "lr_test_c_equals_1": {
            "statistic": float(statistic),
            "p_value": float(stats.chi2.sf(statistic, 1)) if free_c else None,
        },
        "holdout_periods": holdout["period"].astype(int).tolist(),
        "mape_percent": mape,
    }


# ----------------------------------------------------------------------------- entry points


def retention_summary(table_path: str | Path, fit_through: int, project_to: int) -> dict:
    """The fitted parameters (with standard errors), log-likelihoods and holdout MAPEs.

    Keys: ``cohort_size``, ``fit_through``, ``project_to``, ``sbg`` and ``twin`` (each
    ``model``, ``alpha``, ``beta``, ``c``, ``se``, ``log_likelihood``; the twin also
    ``duration_dependence_fitted``), ``lr_test_c_equals_1`` (statistic, p-value), and
    ``holdout_periods`` / ``mape_percent`` (``{"sbg": ..., "twin": ...}``, or None when the
    table has no actuals beyond ``fit_through``). JSON-serialisable.
    """
    table = read_retention_table(table_path)
    return fit_retention(table, fit_through, project_to).summary


def run_retention(
    table_path: str | Path,
    fit_through: int,
    project_to: int,
    out_path: str | Path | None = None,
    overwrite: bool = False,
) -> pd.DataFrame:
    """Read a retention table, fit both models, project; optionally write the result (an
    existing output is replaced only with ``overwrite``; files are written atomically).

    Parameters
    ----------
    table_path
        The retention table (see :func:`read_retention_table`).
    fit_through
        K: fit to periods 0..K.
    project_to
        M: project survivors to period M.
    out_path
        If given, the table is written there (``.csv`` or ``.parquet``) and the summary next to
        it as ``<stem>.summary.json``.

    Returns
    -------
    pandas.DataFrame
        Rows 0..M: ``period``, ``actual`` (NaN beyond the data), ``sbg``, ``twin``; the
        summary dict (:func:`retention_summary`) is in ``.attrs["summary"]``.
    """
    if out_path is not None:
        _check_output(Path(out_path), overwrite, table_path)
    fit = fit_retention(read_retention_table(table_path), fit_through, project_to)
    fit.summary["table"] = str(table_path)
    if out_path is not None:
        _write(fit, Path(out_path))
    return fit.table


def _sidecar(out_path: Path) -> Path:
    return out_path.with_name(out_path.name.rsplit(".", 1)[0] + ".summary.json")


def _check_output(out_path: Path, overwrite: bool, table_path: str | Path) -> None:
    check_table_path(out_path)
    check_new_files((out_path, _sidecar(out_path)), overwrite, inputs=[table_path])


def _write(fit: RetentionFit, out_path: Path) -> None:
    write_frame(fit.table, out_path, **CSV_OPTIONS)
    write_text(_sidecar(out_path), json.dumps(fit.summary, indent=2) + "\n")
