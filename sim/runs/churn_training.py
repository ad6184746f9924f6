"""Training and evaluating the churn model: snapshots of simulated worlds labelled with who
disengaged (流失: lapsed — fell silent — or deleted/blocked the account), held-out ROC AUC,
Brier score, a calibration table and plot (see :mod:`sim.churn.model` for the features and the
stored model). It lives above the engine because it runs worlds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.calibration import calibration_curve
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import brier_score_loss, roc_auc_score
from threadpoolctl import threadpool_limits

from sim.churn.model import (
    CALIBRATION_BINS,
    CHURN_FEATURES,
    ChurnModel,
    ChurnModelError,
    churn_features,
    feature_matrix,
)
from sim.config import ExperimentConfig
from sim.engine.policy import build_strategies
from sim.engine.simulation import Simulation
from sim.io.figures import new_figure, save_figure

# --------------------------------------------------------------------------- training data


def check_horizon(days: int, snapshot_day: int, window: int) -> None:
    """Raise :class:`ChurnModelError` unless a ``days``-day run covers snapshot and window."""
    if snapshot_day < 0 or window < 1:
        raise ChurnModelError(
            f"snapshot_day must be >= 0 and window >= 1 (got {snapshot_day}, {window})"
        )
    if days < snapshot_day + window + 1:
        raise ChurnModelError(
            f"the config's days: {days} is too short for snapshot_day {snapshot_day} + window "
            f"{window}: the run needs at least {snapshot_day + window + 1} days (days 0 .. "
            f"{snapshot_day + window})"
        )


def _snapshot_of_one_run(
    config: ExperimentConfig, seed: int, snapshot_day: int, window: int
) -> pd.DataFrame:

    cfg = config.model_copy(update={"seed": int(seed), "days": snapshot_day + window + 1})
    taken: dict[str, np.ndarray] = {}

    def take_snapshot(day: int) -> None:
        if day != snapshot_day:
            return
        pop = sim.pop
        # the users who can still disengage: reachable and not lapsed
        rows = np.flatnonzero((pop.col("churn_day") < 0) & ~pop.col("lapsed"))
        taken["rows"] = rows
        taken["X"] = churn_features(lambda name: pop.col(name)[rows], day + 1)

    sim = Simulation(cfg, build_strategies(cfg, f"<{config.name}, seed {seed}>"), take_snapshot)
    sim.run()
    rows = taken["rows"]
    churn_day = sim.pop.col("churn_day")[rows]
    lapse_day = sim.pop.col("lapse_day")[rows]  # the latest lapse; the run ends with the window
    frame = pd.DataFrame(taken["X"], columns=list(CHURN_FEATURES))
    frame.insert(0, "user_id", sim.pop.col("uid")[rows].astype(np.int64))
    frame.insert(0, "seed", np.int64(seed))
    deleted = (churn_day > snapshot_day) & (churn_day <= snapshot_day + window)
    lapsed = (lapse_day > snapshot_day) & (lapse_day <= snapshot_day + window)
    frame["churned"] = deleted | lapsed
    return frame


def build_dataset(
    config: ExperimentConfig, seeds: Sequence[int], snapshot_day: int, window: int = 30
) -> pd.DataFrame:
    """Snapshots of engaged users and their disengagement in the next ``window`` days, per seed.

    Each seed runs ``config``'s world and strategies (days ``0 .. snapshot_day + window``; the
    rest of the horizon cannot change the label). Users reachable and not lapsed at the end of
    ``snapshot_day`` get their features as operations see them on day ``snapshot_day + 1``;
    the label ``churned`` is true if they lapsed or deleted the account in the window.

    Parameters
    ----------
    config : ExperimentConfig
        The world; its ``days`` must be at least ``snapshot_day + window + 1``.
    seeds : sequence of int
        One run per seed.
    snapshot_day, window : int
        Snapshot after this day's behaviour; label = lapsed or deleted on a day in
        ``(snapshot_day, snapshot_day + window]``.

    Returns
    -------
    pandas.DataFrame
        ``seed``, ``user_id``, the :data:`CHURN_FEATURES` and the boolean label ``churned``.
    """
    check_horizon(config.days, snapshot_day, window)
    if not seeds:
        raise ChurnModelError("build_dataset needs at least one seed")
    frames = [_snapshot_of_one_run(config, s, snapshot_day, window) for s in seeds]
    return pd.concat(frames, ignore_index=True)


# --------------------------------------------------------------------------- evaluation


def calibration_table(
    y: np.ndarray, p: np.ndarray, n_bins: int = CALIBRATION_BINS, strategy: str = "uniform"
) -> list[dict]:
    """Observed churn rate vs mean prediction per bin (non-empty bins only).

    ``strategy`` is that of :func:`sklearn.calibration.calibration_curve`: ``"uniform"`` =
    equal-width bins on [0, 1]; ``"quantile"`` = equal-count bins (deciles for 10 bins), more
    informative when every prediction is small.
    """
    observed, predicted = calibration_curve(y, p, n_bins=n_bins, strategy=strategy)
    if strategy == "quantile":
        edges = np.percentile(p, np.linspace(0.0, 100.0, n_bins + 1))
    else:
        edges = np.linspace(0.0, 1.0, n_bins + 1)
    ids = np.searchsorted(edges[1:-1], p)  # the binning calibration_curve uses
    counts = np.bincount(ids, minlength=n_bins)
    used = np.flatnonzero(counts)
    return [
        {
            "bin_low": float(edges[b]),
            "bin_high": float(edges[b + 1]),
            "count": int(counts[b]),
            "mean_predicted": float(predicted[k]),
            "observed_rate": float(observed[k]),
        }
        for k, b in enumerate(used)
    ]


def evaluate(model: ChurnModel, X: pd.DataFrame | np.ndarray, y: np.ndarray) -> dict[str, Any]:
    """Held-out quality of ``model``: ROC AUC, Brier score, base rate and calibration table.

    Returns
    -------
    dict
        ``n``, ``base_rate``, ``mean_predicted``, ``auc``, ``brier``, ``brier_base_rate`` (the
        Brier score of always predicting the base rate), ``calibration`` (10 equal-width bins,
        see :func:`calibration_table`) and ``calibration_deciles`` (10 equal-count bins).
    """
    y = np.asarray(y, dtype=bool)
    p = model.predict_proba(X)[:, 1]
    base = float(y.mean())
    return {
        "n": int(y.shape[0]),
        "base_rate": base,
        "mean_predicted": float(p.mean()),
        "auc": float(roc_auc_score(y, p)),
        "brier": float(brier_score_loss(y, p)),
        "brier_base_rate": base * (1.0 - base),
        "calibration": calibration_table(y, p),
        "calibration_deciles": calibration_table(y, p, strategy="quantile"),
    }


def boosting_auc(
    X_train: np.ndarray, y_train: np.ndarray, X_test: np.ndarray, y_test: np.ndarray
) -> float:
    """Held-out AUC of a HistGradientBoostingClassifier (the comparison, not deployed).

    Fitted on one thread: oversubscribed OpenMP is many times slower on a busy machine.
    """
    with threadpool_limits(limits=1):
        hgb = HistGradientBoostingClassifier(random_state=0).fit(X_train, y_train)
        return float(roc_auc_score(y_test, hgb.predict_proba(X_test)[:, 1]))


def plot_calibration(report: Mapping[str, Any], path: str | Path, title: str = "") -> Path:
    """Reliability diagram: observed vs mean predicted churn per decile of the predictions
    (with the users per bin) and per equal-width bin; a PNG. Axes zoom to the data."""
    fig, (ax,) = new_figure(figsize=(6.0, 5.5))
    deciles, uniform = report["calibration_deciles"], report["calibration"]
    top = max(b[k] for b in deciles + uniform for k in ("mean_predicted", "observed_rate"))
    top = min(1.0, 1.15 * top) if top > 0 else 1.0
    ax.plot([0, top], [0, top], color="0.6", linestyle="--", label="perfect calibration")
    for bins, style, label in (
        (deciles, {"marker": "o"}, "deciles of the prediction"),
        (uniform, {"marker": "s", "linestyle": ":"}, "equal-width bins (0.1)"),
    ):
        x = [b["mean_predicted"] for b in bins]
        ax.plot(x, [b["observed_rate"] for b in bins], label=label, **style)
    for b in deciles:
        where = (b["mean_predicted"], b["observed_rate"])
        ax.annotate(
            f"{b['count']:,}", where, textcoords="offset points", xytext=(4, -10), fontsize=7,
            color="0.4",
        )  # fmt: skip
    ax.set_xlim(0, top)
    ax.set_ylim(0, top)
    ax.set_xlabel("predicted probability of churning")
    ax.set_ylabel("observed churn rate (held-out seeds)")
    ax.set_title(title or f"AUC {report['auc']:.3f}, Brier {report['brier']:.4f}")
    ax.legend(loc="upper left")
    return save_figure(fig, path)


def calibration_plot_path(model_path: str | Path) -> Path:
    """Where :func:`train_and_evaluate` puts the calibration PNG: next to the model JSON."""
    model_path = Path(model_path)
    return model_path.with_name(f"{model_path.stem}_calibration.png")


def train_and_evaluate(
    config: ExperimentConfig,
    train_seeds: Sequence[int],
    test_seeds: Sequence[int],
    snapshot_day: int,
    window: int,
    out_path: str | Path,
) -> dict[str, Any]:
    """Train on ``train_seeds``, evaluate on held-out ``test_seeds``, write JSON and plot.

    Returns
    -------
    dict
        The evaluation of :func:`evaluate` on the test seeds plus ``train_n``,
        ``train_base_rate``, ``boosting_auc`` (comparison), ``model_path`` and ``plot_path``.
    """
    overlap = sorted(set(train_seeds) & set(test_seeds))
    if overlap:
        raise ChurnModelError(f"train and test seeds must differ; both have {overlap}")
    check_horizon(config.days, snapshot_day, window)
    train = build_dataset(config, train_seeds, snapshot_day, window)
    test = build_dataset(config, test_seeds, snapshot_day, window)
    model = ChurnModel().fit(train, train["churned"])
    report = evaluate(model, test, test["churned"])
    report["boosting_auc"] = boosting_auc(
        feature_matrix(train), train["churned"].to_numpy(), feature_matrix(test),
        test["churned"].to_numpy(),
    )  # fmt: skip
    report["train_n"] = len(train)
    report["train_base_rate"] = float(train["churned"].mean())
    model.metadata_ = {
        "config": config.name,
        "initial_users": config.population.initial_users,
        "strategies": [s.name for s in config.strategies],
        "train_seeds": [int(s) for s in train_seeds],
        "test_seeds": [int(s) for s in test_seeds],
        "snapshot_day": snapshot_day,
        "window": window,
        "deployed": "logistic regression (exportable as data; boosting AUC shown for comparison)",
        "evaluation": dict(report),
    }
    report["model_path"] = str(model.to_json(out_path))
    report["plot_path"] = str(
        plot_calibration(report, calibration_plot_path(out_path), f"churn in {window} days, "
                         f"{config.name}: AUC {report['auc']:.3f}")
    )  # fmt: skip
    return report
