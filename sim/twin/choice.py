"""Choosing the twin's purchase process by out-of-sample skill inside the calibration period.

The calibration period [first day of the log, c] is split at c' = c − v, v = a third of its
length (at least 7 days): every candidate of :mod:`sim.twin.processes` is fitted on the events
up to c' and forecasts the users' purchase days in (c', c] — still calibration data; the
backtest's holdout is never looked at. Each candidate is scored by

    score = per-user mean squared error (purchase days²)

— a proper scoring rule for a forecast of the expected count (it includes the bias of the
total). The per-user mean absolute error is *not* used to choose: for sparse counts it rewards
forecasting the median, zero, so it prefers a process that writes off the customers who have
not repeated (BG/BB on days chose that way on a BG/NBD-generated log and then lost the holdout
total, correlation and frequency groups). MAE, total error, correlation and the frequency
profile are reported alongside.

BG/NBD is the reference: a candidate may replace it only if its mean squared error is lower
by more than :data:`CLEAR_MARGIN` standard errors of the paired per-user difference of squared
errors (otherwise the gain is within selection noise and the standard is kept); the lowest
score among those wins. The winner is
refitted on the whole calibration period. The per-user correlation and the share of frequency
groups x = 0 … 6 forecast within ±30% are reported alongside. Logs with more than
:data:`MAX_CHOICE_USERS` users are scored on a deterministic hash-sample of users (the choice
is about the process, which a few hundred thousand users pin down).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from sim.errors import FitError
from sim.twin.btyd import ProcessFitError
from sim.twin.processes import CANDIDATES, LABELS, Process, has_activity, make_process
from sim.twin.rfm import from_day, to_day, user_statistics

MAX_CHOICE_USERS = 100_000
VALIDATION_SHARE = 1 / 3
MIN_VALIDATION_DAYS = 7
BUCKET_TOLERANCE = 0.30
REFERENCE = "bgnbd"
CLEAR_MARGIN = 2.0


@dataclass
class Choice:
    """The validation split, each candidate's scores and the winner."""

    split_day: pd.Timestamp
    calibration_end: pd.Timestamp
    users: int
    sampled: bool
    table: pd.DataFrame  # one row per candidate: process, label, mae, total_error_pct, ...
    chosen: str
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {
            "split_day": self.split_day.strftime("%Y-%m-%d"),
            "calibration_end": self.calibration_end.strftime("%Y-%m-%d"),
            "validation_days": int((self.calibration_end - self.split_day).days),
            "users": self.users,
            "sampled": self.sampled,
            "chosen": self.chosen,
            "reason": self.reason,
            "candidates": self.table.to_dict(orient="records"),
        }


def split_day(events: pd.DataFrame, calibration_end: object) -> int:
    """c' = c − max(7, a third of (c − the log's first day)), as a day number."""
    cal = to_day(calibration_end)
    first = to_day(events["date"].min())
    return cal - max(MIN_VALIDATION_DAYS, int(round((cal - first) * VALIDATION_SHARE)))


def _sample(events: pd.DataFrame, limit: int) -> tuple[pd.DataFrame, bool]:
    ids = events["user_id"].astype("string")
    users = ids.nunique()
    if users <= limit:
        return events, False
    hashed = pd.util.hash_pandas_object(ids, index=False).to_numpy() % np.uint64(users)
    return events[hashed < np.uint64(limit)], True


def validation_scores(forecast: np.ndarray, actual: np.ndarray, x: np.ndarray) -> dict[str, float]:
    """Scores of one candidate's forecast of the validation window (see the module doc)."""
    n = max(actual.size, 1)
    total, real = float(forecast.sum()), float(actual.sum())
    mae = float(np.abs(forecast - actual).mean())
    corr = float(np.corrcoef(forecast, actual)[0, 1]) if forecast.std() > 0 else float("nan")
    groups = np.minimum(x, 7)
    profile = 0.0
    for g in np.unique(groups):
        rows = groups == g
        profile += rows.sum() * abs(forecast[rows].mean() - actual[rows].mean())
    profile /= n
    within = []
    for g in range(7):
        rows = groups == g
        if rows.sum() and actual[rows].sum() > 0:
            within.append(abs(forecast[rows].sum() / actual[rows].sum() - 1) <= BUCKET_TOLERANCE)
    return {
        "score": float(((forecast - actual) ** 2).mean()),
        "mae": mae,
        "profile_error": profile,
        "total_error_pct": (total - real) / max(real, 1e-12) * 100,
        "correlation": corr,
        "groups_within_30pct": float(np.mean(within)) if within else float("nan"),
    }


def choose_process(
    events: pd.DataFrame, calibration_end: object, activity: str = "rate",
    candidates: tuple[str, ...] = CANDIDATES,
) -> Choice:  # fmt: skip
    """Fit every candidate before the split, score its forecast of (split, calibration end]."""
    cut = split_day(events, calibration_end)
    cal = to_day(calibration_end)
    sample, sampled = _sample(events[events["date"] <= from_day(cal)], MAX_CHOICE_USERS)
    stats = user_statistics(sample, from_day(cut), from_day(cal))
    if stats.empty or stats["x"].sum() == 0:
        raise FitError(
            f"no repeat purchases before {from_day(cut):%Y-%m-%d} (the validation split of the "
            "calibration period): the process cannot be chosen; use a longer calibration period"
        )
    names = [c for c in candidates if c != "twin" or (activity != "off" and has_activity(stats))]
    actual = stats["holdout_purchases"].to_numpy(np.float64)
    x = stats["x"].to_numpy(np.int64)
    rows = []
    errors: dict[str, np.ndarray] = {}
    for name in names:
        row = {"process": name, "label": LABELS[name]}
        try:
            process = make_process(name, activity).fit(stats, with_se=False)
        except (FitError, ProcessFitError, ValueError, FloatingPointError) as exc:
            rows.append({**row, "score": float("inf"), "note": f"not fitted: {exc}"})
            continue
        fc = process.expected(stats, np.array([cal - cut]))[:, 0]
        errors[name] = (fc - actual) ** 2
        note = "parameter at a search bound" if process.at_bound_ else ""
        rows.append({**row, **validation_scores(fc, actual, x),
                     "log_likelihood": process.log_likelihood_, "note": note})  # fmt: skip
    table = pd.DataFrame(rows)
    table["margin_se"] = [_paired_se(errors, name) for name in table["process"]]
    chosen, reason = _winner(table, float(actual.sum()))
    return Choice(from_day(cut), from_day(cal), len(stats), sampled, table, chosen, reason)


def _paired_se(errors: dict[str, np.ndarray], name: str) -> float:
    """Standard error of the mean per-user squared-error difference from the reference."""
    if name not in errors or REFERENCE not in errors or name == REFERENCE:
        return float("nan")
    diff = errors[name] - errors[REFERENCE]
    return float(diff.std(ddof=1) / np.sqrt(max(diff.size, 2)))


def _winner(table: pd.DataFrame, actual_total: float) -> tuple[str, str]:
    scores = table["score"].to_numpy(np.float64)
    if not np.isfinite(scores).any():
        raise FitError("no candidate process could be fitted to the validation split")
    ref = table.index[(table["process"] == REFERENCE) & np.isfinite(scores)]
    if len(ref):
        r = table.loc[ref[0]]
        clear = r["score"] - table["score"] > CLEAR_MARGIN * table["margin_se"]
        eligible = table[clear | (table["process"] == REFERENCE)]
    else:
        eligible = table[np.isfinite(scores)]
    row = eligible.loc[eligible["score"].idxmin()]
    best = table.loc[table["score"].idxmin()]
    reason = (
        f"{row['label']} forecast the last part of the calibration period with mean squared "
        f"error {row['score']:.4f} (MAE {row['mae']:.4f}, total {row['total_error_pct']:+.1f}% "
        f"of {actual_total:,.0f} purchase days)"
    )
    if row["process"] != REFERENCE and len(ref):
        reason += f"; better than {REFERENCE} by more than {CLEAR_MARGIN:g} standard errors"
    elif best["process"] != row["process"]:
        reason += (
            f"; {best['process']} scored lower ({best['score']:.4f}) but not by more than "
            f"{CLEAR_MARGIN:g} standard errors of the paired difference, so the reference is kept"
        )
    return str(row["process"]), reason


def fit_chosen(choice: Choice, stats: pd.DataFrame, activity: str = "rate") -> Process:
    """The chosen process refitted on the whole calibration period."""
    return make_process(choice.chosen, activity).fit(stats)
