"""Ground-truth uplift: every user's true effect of a treatment, a model's estimate, Qini curves.

A simulated experiment knows what no real one does. Randomness is keyed by (seed, purpose, day,
user), so a control run and an arm run with the same seed contain the same users with the same
luck, and each user's outcome under both policies is observed: the per-user difference is the
*true* individual effect (:func:`true_effects`). That makes it possible to grade uplift models
honestly:

* :func:`estimate_uplift` plays the real team: it sees each user in one world only (a keyed random
  half "treated", outcome from the arm world; the other half "control", outcome from the control
  world), fits a T-learner (one regressor per half, scikit-learn's
  HistGradientBoostingRegressor by default) and predicts every user's effect out of fold
  (cross-fitting, so no user is scored by a model that saw its outcome);
* :func:`qini_curve` targets users in descending score order and accumulates their *true* effects;
  :func:`qini_coefficient` is the area between that curve and random targeting. Targeting by the
  true effect (the oracle) bounds every score from above at every fraction targeted.

Users who exist in one world only — referred arrivals, created by the referrals of that world's
users — have no counterfactual and are left out (:func:`true_effects` reports how many).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from sim.io.figures import new_figure, save_figure
from sim.rng import Purpose, generator
from sim.world import lifecycle as lc
from sim.world.params import PREFERENCES
from sim.world.population_spec import CHANNELS, OCCUPATIONS

if TYPE_CHECKING:
    from sklearn.ensemble import HistGradientBoostingRegressor

EFFECT_METRICS = ("net_value", "revenue", "churned")
CATEGORICAL_FEATURES = {
    "initial_stage": lc.STAGES,
    "initial_quadrant": lc.QUADRANTS,
    "channel": CHANNELS,
    "occupation": OCCUPATIONS,
    "preference": PREFERENCES,
}
NUMERIC_FEATURES = (
    "age", "city_tier", "income", "price_sensitivity", "engagement", "prior_purchases",
    "join_day",
)  # fmt: skip
MAX_PLOT_POINTS = 2_000
_RANDOM_SCORE_DAY = 1  # the 'day' slot of the random-targeting draw (the A/B split uses 0)


# --------------------------------------------------------------------------- true effects


def _require(frame: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{what} lacks column(s) {', '.join(missing)}")
    if frame["user_id"].duplicated().any():
        raise ValueError(f"{what} has repeated user_id values")


def _not_referred(frame: pd.DataFrame) -> np.ndarray:
    """True for users who did not arrive through a referral (all, without ``referrer_id``)."""
    if "referrer_id" not in frame.columns:
        return np.ones(len(frame), dtype=bool)
    return frame["referrer_id"].to_numpy() < 0


def true_effects(
    control_users: pd.DataFrame,
    arm_users: pd.DataFrame,
    metrics: Sequence[str] = EFFECT_METRICS,
) -> pd.DataFrame:
    """Per-user true effect, arm minus control, for users present in both worlds.

    Parameters
    ----------
    control_users, arm_users : pandas.DataFrame
        Per-user outcome tables (e.g. the ``users`` table of each run) with ``user_id`` and the
        ``metrics`` columns; booleans count as 0/1.
    metrics : sequence of str
        Outcome columns to difference.

    Returns
    -------
    pandas.DataFrame
        ``user_id`` and ``effect_<metric>`` per metric, in the control table's row order (an
        inner join on ``user_id``). Referred arrivals (``referrer_id >= 0``) are excluded in both
        worlds: whether they exist at all depends on the policy. ``attrs`` holds the counts:
        ``users_compared``, ``referred_excluded_control``, ``referred_excluded_arm``,
        ``only_in_control``, ``only_in_arm``.
    """
    metrics = list(metrics)
    _require(control_users, ["user_id", *metrics], "control_users")
    _require(arm_users, ["user_id", *metrics], "arm_users")
    keep_c, keep_a = _not_referred(control_users), _not_referred(arm_users)
    control = control_users.loc[keep_c, ["user_id", *metrics]]
    arm = arm_users.loc[keep_a, ["user_id", *metrics]]
    both = control.merge(arm, on="user_id", how="inner", suffixes=("_c", "_a"), sort=False)
    out = pd.DataFrame({"user_id": both["user_id"].to_numpy(np.int64)})
    for m in metrics:
        out[f"effect_{m}"] = both[f"{m}_a"].to_numpy(np.float64) - both[f"{m}_c"].to_numpy(
            np.float64
        )
    out.attrs = {
        "users_compared": len(out),
        "referred_excluded_control": int((~keep_c).sum()),
        "referred_excluded_arm": int((~keep_a).sum()),
        "only_in_control": len(control) - len(out),
        "only_in_arm": len(arm) - len(out),
    }
    return out


def pretreatment_features(users: pd.DataFrame) -> pd.DataFrame:
    """Features known before any treatment, one row per user in the input order.

    One-hot columns ``<name>=<category>`` for :data:`CATEGORICAL_FEATURES` (initial stage and
    quadrant, channel, occupation, preference; every category always present) and the
    :data:`NUMERIC_FEATURES` (age, city tier, income, price sensitivity, engagement, purchases
    before day 0, join day). No outcome column is read. Indexed by ``user_id``.
    """
    _require(users, ["user_id", *CATEGORICAL_FEATURES, *NUMERIC_FEATURES], "users")
    parts = {name: users[name].to_numpy(np.float64) for name in NUMERIC_FEATURES}
    for name, categories in CATEGORICAL_FEATURES.items():
        values = users[name].astype(str).to_numpy()
        unknown = sorted(set(values) - set(categories))
        if unknown:
            raise ValueError(
                f"users.{name}: unknown value(s) {unknown}; expected one of {list(categories)}"
            )
        for category in categories:
            parts[f"{name}={category}"] = (values == category).astype(np.float64)
    index = pd.Index(users["user_id"].to_numpy(np.int64), name="user_id")
    return pd.DataFrame(parts, index=index)


# --------------------------------------------------------------------------- the estimate


def ab_split(n: int, seed: int, n_folds: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """The A/B test a team would run: (observed-treated mask, cross-fitting fold per user).

    Half the users at random are treated (keyed by ``seed``); folds are balanced.
    """
    rng = generator(seed, Purpose.MODEL, 0)
    treated = rng.random(n) < 0.5
    fold = np.empty(n, dtype=np.int64)
    fold[rng.permutation(n)] = np.arange(n) % n_folds
    return treated, fold


def default_regressor() -> HistGradientBoostingRegressor:
    """The T-learner's outcome model: gradient boosting with a fixed random state."""
    # lazy: scikit-learn is heavy (~25 MB) and a command that fits no model should not load it
    from sklearn.ensemble import HistGradientBoostingRegressor

    return HistGradientBoostingRegressor(
        learning_rate=0.05, max_iter=200, min_samples_leaf=50, random_state=0
    )


def estimate_uplift(
    features: pd.DataFrame | np.ndarray,
    y_treated_world: np.ndarray,
    y_control_world: np.ndarray,
    seed: int,
    n_folds: int = 2,
    regressor: Callable[[], Any] = default_regressor,
    n_threads: int | None = 1,
) -> np.ndarray:
    """Each user's effect as a T-learner estimates it from an A/B test, cross-fitted.

    Users are split at random (:func:`ab_split`): an observed-treated half, whose outcome is
    taken from ``y_treated_world``, and an observed-control half (``y_control_world``). In each
    fold, ``mu1`` is fitted on the treated users outside the fold and ``mu0`` on the control users
    outside it; users in the fold get ``mu1(x) - mu0(x)``. The unobserved outcome of each user
    is never read.

    Parameters
    ----------
    features : DataFrame or array, shape (n, p)
        Pre-treatment features (:func:`pretreatment_features`), rows aligned with the outcomes.
    y_treated_world, y_control_world : array, shape (n,)
        Each user's outcome in the arm world and in the control world.
    seed : int
        Keys the split and the folds.
    n_folds : int
        Cross-fitting folds (>= 2).
    regressor : callable
        Returns a fresh scikit-learn regressor.
    n_threads : int or None
        OpenMP/BLAS threads while fitting (``None`` = library default). One by default: runs of
        an experiment already occupy the cores, and oversubscribed OpenMP in gradient boosting
        is 10-30x slower on a busy machine.

    Returns
    -------
    numpy.ndarray
        Estimated effect per user, shape (n,).
    """
    X = np.asarray(features, dtype=np.float64)
    y1 = np.asarray(y_treated_world, dtype=np.float64)
    y0 = np.asarray(y_control_world, dtype=np.float64)
    n = X.shape[0]
    if y1.shape != (n,) or y0.shape != (n,):
        raise ValueError(f"outcomes must have one value per feature row ({n})")
    if n_folds < 2:
        raise ValueError(f"n_folds must be at least 2 (got {n_folds})")
    treated, fold = ab_split(n, seed, n_folds)
    observed = np.where(treated, y1, y0)
    estimate = np.empty(n)
    with threadpool_limits(limits=n_threads):
        for k in range(n_folds):
            held, train = fold == k, fold != k
            mu1 = regressor().fit(X[train & treated], observed[train & treated])
            mu0 = regressor().fit(X[train & ~treated], observed[train & ~treated])
            estimate[held] = mu1.predict(X[held]) - mu0.predict(X[held])
    return estimate


def random_score(n: int, seed: int) -> np.ndarray:
    """A keyed random score (random targeting)."""
    return generator(seed, Purpose.MODEL, _RANDOM_SCORE_DAY).random(n)


# --------------------------------------------------------------------------- Qini


def qini_curve(true_effect: np.ndarray, score: np.ndarray) -> pd.DataFrame:
    """Cumulative true gain per user of the population when targeting by descending ``score``.

    Point ``k`` targets the ``k`` highest-scored users: ``fraction_targeted = k / n`` and
    ``cumulative_gain`` = (sum of their true effects) / n, from (0, 0) to (1, mean effect). Users
    with equal scores are indistinguishable to the targeter, so inside a tie the curve is the
    straight line between the tie's ends (the expected gain of taking them in random order).

    Returns
    -------
    pandas.DataFrame
        ``fraction_targeted`` and ``cumulative_gain``, ``n + 1`` rows.
    """
    effect = np.asarray(true_effect, dtype=np.float64)
    score = np.asarray(score, dtype=np.float64)
    n = effect.shape[0]
    if score.shape != (n,) or effect.ndim != 1:
        raise ValueError(f"true_effect and score must be 1-D of equal length ({n}, {score.shape})")
    if not np.isfinite(score).all() or not np.isfinite(effect).all():
        raise ValueError("true_effect and score must be finite (no NaN or infinity)")
    order = np.argsort(-score, kind="stable")
    sorted_score = score[order]
    cum = np.concatenate([[0.0], np.cumsum(effect[order])])
    if n:
        new_tie = np.concatenate([[True], sorted_score[1:] != sorted_score[:-1]])
        starts = np.flatnonzero(new_tie)
        ends = np.append(starts[1:], n)
        tie = np.cumsum(new_tie) - 1  # tie index of each sorted position
        k = np.arange(1, n + 1)
        s, e = starts[tie], ends[tie]
        cum[1:] = cum[s] + (k - s) / (e - s) * (cum[e] - cum[s])
    gain = cum / n if n else cum
    fraction = np.arange(n + 1) / n if n else np.zeros(1)
    return pd.DataFrame({"fraction_targeted": fraction, "cumulative_gain": gain})


def qini_coefficient(curve: pd.DataFrame) -> float:
    """Area between the curve and random targeting (the line to the curve's end point)."""
    x = curve["fraction_targeted"].to_numpy(np.float64)
    y = curve["cumulative_gain"].to_numpy(np.float64)
    if x.shape[0] < 2:
        return 0.0
    return float(np.trapezoid(y - x * y[-1], x))


def uplift_curves(
    control_users: pd.DataFrame,
    arm_users: pd.DataFrame,
    metric: str = "net_value",
    seed: int = 0,
    n_folds: int = 2,
) -> dict[str, pd.DataFrame]:
    """Qini curves of one metric for targeting by true effect, by the T-learner, at random."""
    effects = true_effects(control_users, arm_users, [metric])
    ids = effects["user_id"]
    control = control_users.set_index("user_id").loc[ids]
    arm = arm_users.set_index("user_id").loc[ids]
    features = pretreatment_features(control.reset_index())
    estimate = estimate_uplift(
        features, arm[metric].to_numpy(np.float64), control[metric].to_numpy(np.float64), seed,
        n_folds,
    )  # fmt: skip
    effect = effects[f"effect_{metric}"].to_numpy()
    return {
        "by true effect": qini_curve(effect, effect),
        "by model estimate": qini_curve(effect, estimate),
        "random": qini_curve(effect, random_score(effect.shape[0], seed)),
    }


def _thin(curve: pd.DataFrame) -> pd.DataFrame:
    """At most MAX_PLOT_POINTS evenly spaced points, always keeping both ends."""
    n = len(curve)
    if n <= MAX_PLOT_POINTS:
        return curve
    rows = np.unique(np.linspace(0, n - 1, MAX_PLOT_POINTS).round().astype(np.int64))
    return curve.iloc[rows]


def plot_qini(
    curves: Mapping[str, pd.DataFrame],
    path: str | Path,
    title: str = "Qini curves: cumulative true gain by targeting",
    ylabel: str = "cumulative true effect per user of the population",
) -> Path:
    """One line per targeting strategy (with its Qini coefficient) and the random line; a PNG."""
    fig, (ax,) = new_figure(figsize=(8.0, 5.5))
    end = 0.0
    for name, curve in curves.items():
        shown = _thin(curve)
        label = f"{name} (Qini {qini_coefficient(curve):.4g})"
        ax.plot(shown["fraction_targeted"], shown["cumulative_gain"], label=label)
        end = float(curve["cumulative_gain"].iloc[-1])
    ax.plot([0, 1], [0, end], color="0.5", linestyle="--", linewidth=1, label="random (expected)")
    ax.axhline(0.0, color="0.8", linewidth=0.8)
    ax.set_xlabel("fraction of users targeted (highest score first)")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(loc="best")
    return save_figure(fig, path)
