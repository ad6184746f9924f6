"""Churn prediction: behavioural features, training data from simulated worlds, a logistic model.

A *churn model* answers "how likely is this reachable user to leave the private domain within the
next ``window`` days?" from what operations can see today (DOMAIN.md §5 "Churn warning": a
model's risk score triggers outreach before the user is gone). It is used as the rule field
``churn_risk`` (:mod:`sim.rules.fields`), so a strategist can write ``churn_risk >= 0.6``.

* :func:`churn_features` computes :data:`CHURN_FEATURES` from population columns through a
  ``field(name)`` callable and the operations day. The *same* function serves training snapshots
  and the live rule field, so the model sees identical inputs in both places.
* :func:`build_dataset` runs a config's world for several seeds, snapshots the reachable users at
  the end of ``snapshot_day`` (features as operations see them the next morning, day
  ``snapshot_day + 1``) and labels each with whether it churned on a day in
  ``(snapshot_day, snapshot_day + window]``. Live, on day ``d`` the field predicts churn on days
  ``d .. d + window - 1``: the same horizon.
* :class:`ChurnModel` standardises the features and fits a logistic regression (scikit-learn);
  prediction is plain numpy from the stored numbers, and the model is saved and loaded as JSON
  (never pickle: a model file is user input). :func:`evaluate` reports ROC AUC, Brier score and a
  calibration table; :func:`train_and_evaluate` does everything and writes the JSON and a
  calibration plot.

Why logistic regression is deployed rather than gradient boosting: it is data (a few dozen
numbers) that a config can point at, inspect and diff, it loads without code, and its scores
are well calibrated. :func:`train_and_evaluate` also reports a HistGradientBoostingClassifier's
held-out AUC so the price of that choice is visible.

Known limit: the model is trained at one snapshot day. The population mix changes over a run
(tenure, stage shares), so scores on days far from ``snapshot_day`` are less well calibrated.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from sim.errors import ChurnModelError, ConfigError
from sim.io.atomic import write_text
from sim.world import lifecycle as lc

if TYPE_CHECKING:
    import pandas as pd

FieldGetter = Callable[[str], np.ndarray]
MODEL_FORMAT = "siyu-churn-model/1"
CAP_DAYS = 365  # "days since" beyond a year (or never) count as a year before the log transform
CALIBRATION_BINS = 10


# --------------------------------------------------------------------------- features


def _log_days(since: np.ndarray) -> np.ndarray:
    """log(1 + days), with days capped at CAP_DAYS (so NEVER_DAYS counts as a year)."""
    return np.log1p(np.minimum(since, CAP_DAYS).astype(np.float64))


def _since(f: FieldGetter, column: str, day: int) -> np.ndarray:
    return lc.days_since(f(column), day)


def _never(f: FieldGetter, column: str) -> np.ndarray:
    return f(column) == lc.NO_DAY


def _log1p(values: np.ndarray) -> np.ndarray:
    return np.log1p(np.maximum(values.astype(np.float64), 0.0))


# name -> how to compute it from (field, operations day); the order is the model's column order
_FEATURES: dict[str, Callable[[FieldGetter, int], np.ndarray]] = {
    "log_days_since_active": lambda f, d: _log_days(_since(f, "last_active", d)),
    "log_days_since_open": lambda f, d: _log_days(_since(f, "last_open", d)),
    "never_opened": lambda f, d: _never(f, "last_open"),
    "log_days_since_purchase": lambda f, d: _log_days(_since(f, "last_purchase", d)),
    "never_purchased": lambda f, d: _never(f, "last_purchase"),
    "log_days_since_touch": lambda f, d: _log_days(_since(f, "last_touch", d)),
    "never_touched": lambda f, d: _never(f, "last_touch"),
    "active_days_7": lambda f, d: lc.bit_window(f("active_bits"), 7),
    "active_days_30": lambda f, d: lc.bit_window(f("active_bits"), 30),
    "speak_days_7": lambda f, d: lc.bit_window(f("speak_bits"), 7),
    "speak_days_30": lambda f, d: lc.bit_window(f("speak_bits"), 30),
    "log_purchases": lambda f, d: _log1p(f("purchases")),
    "log_value_to_date": lambda f, d: _log1p(f("revenue") + f("prior_revenue")),
    "ladder_level": lambda f, d: f("ladder"),
    "trust": lambda f, d: f("trust"),
    "fatigue": lambda f, d: f("fatigue"),
    "course_progress": lambda f, d: f("progress"),
    "completed_courses": lambda f, d: f("completed"),
    "log_points": lambda f, d: _log1p(f("points")),
    "in_group": lambda f, d: f("group") >= 0,
    "muted": lambda f, d: f("muted"),
    "has_coupon": lambda f, d: (f("coupon_discount") > 0) & (f("coupon_expiry") >= d),
    "log_tenure": lambda f, d: _log1p(d - f("join_day").astype(np.int64)),
    "engagement": lambda f, d: f("engagement"),
    "price_sensitivity": lambda f, d: f("price_sensitivity"),
    "stage_new": lambda f, d: f("stage") == lc.NEW,
    "stage_core": lambda f, d: f("stage") == lc.CORE,
    "stage_dormant": lambda f, d: f("stage") == lc.DORMANT,
}
CHURN_FEATURES: tuple[str, ...] = tuple(_FEATURES)


def churn_features(field: FieldGetter, day: int) -> np.ndarray:
    """The :data:`CHURN_FEATURES` of every user ``field`` covers, as seen on day ``day``.

    Parameters
    ----------
    field : callable
        ``field(name)`` returns one population column (e.g. ``ops.field``), all of equal length.
    day : int
        The operations day: windows cover the days before ``day`` and ``days_since_*`` count
        to it (a snapshot taken after day ``t``'s behaviour uses ``day = t + 1``).

    Returns
    -------
    numpy.ndarray
        ``float64`` array of shape ``(n_users, len(CHURN_FEATURES))``.
    """
    columns = [np.asarray(compute(field, day), dtype=np.float64) for compute in _FEATURES.values()]
    return np.column_stack(columns) if columns[0].shape[0] else np.zeros((0, len(columns)))


def churn_risk(model: ChurnModel, field: FieldGetter, day: int) -> np.ndarray:
    """The model's churn probability for every reachable user slot (``nan`` for churned ones)."""
    reachable = np.flatnonzero(field("churn_day") < 0)
    out = np.full(field("churn_day").shape[0], np.nan)
    if reachable.shape[0]:
        rows = churn_features(lambda name: field(name)[reachable], day)
        out[reachable] = model.predict_proba(rows)[:, 1]
    return out


def feature_matrix(X: pd.DataFrame | np.ndarray) -> np.ndarray:
    """The feature columns of a dataset frame (or a ready array) as a float64 matrix."""
    if hasattr(X, "columns"):  # a DataFrame (pandas is not imported here: start-up time)
        missing = [c for c in CHURN_FEATURES if c not in X.columns]
        if missing:
            raise ChurnModelError(f"the dataset lacks feature columns: {', '.join(missing)}")
        X = X[list(CHURN_FEATURES)].to_numpy(np.float64)
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != len(CHURN_FEATURES):
        raise ChurnModelError(
            f"expected a matrix with {len(CHURN_FEATURES)} feature columns, got shape {X.shape}"
        )
    return X


# --------------------------------------------------------------------------- the model


class ChurnModel:
    """Standardised features + logistic regression, stored as data.

    Parameters
    ----------
    C : float
        Inverse L2 regularisation strength of the logistic regression.
    max_iter : int
        Iteration limit of the solver (lbfgs).
    random_state : int
        Passed to scikit-learn (lbfgs is deterministic; kept for completeness).

    Attributes
    ----------
    feature_names_ : tuple of str
        Always :data:`CHURN_FEATURES`.
    mean_, scale_ : numpy.ndarray
        Standardisation: ``z = (x - mean_) / scale_``.
    coef_ : numpy.ndarray
        Logistic coefficients on the standardised features.
    intercept_ : float
        ``P(churn) = 1 / (1 + exp(-(z @ coef_ + intercept_)))``.
    metadata_ : dict
        Training provenance (config, seeds, snapshot day, window, evaluation), saved with it.
    """

    def __init__(self, C: float = 1.0, max_iter: int = 2000, random_state: int = 0) -> None:
        self.C = C
        self.max_iter = max_iter
        self.random_state = random_state

    def fit(self, X: pd.DataFrame | np.ndarray, y: Sequence[bool] | np.ndarray) -> ChurnModel:
        """Fit scaler and logistic regression; returns ``self``."""
        X = feature_matrix(X)
        y = np.asarray(y, dtype=bool)
        if y.shape != (X.shape[0],) or y.all() or not y.any():
            raise ChurnModelError("fit needs one label per row and both churned and stayed users")
        # lazy: scikit-learn is heavy and only fitting needs it (scoring is plain numpy)
        from sklearn.linear_model import LogisticRegression
        from sklearn.preprocessing import StandardScaler

        scaler = StandardScaler().fit(X)
        logit = LogisticRegression(
            C=self.C, max_iter=self.max_iter, random_state=self.random_state
        ).fit(scaler.transform(X), y)
        self.feature_names_ = CHURN_FEATURES
        self.mean_ = scaler.mean_.astype(np.float64)
        self.scale_ = scaler.scale_.astype(np.float64)
        self.coef_ = logit.coef_[0].astype(np.float64)
        self.intercept_ = float(logit.intercept_[0])
        self.metadata_: dict[str, Any] = {}
        return self

    def decision_function(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        """The log-odds of churning for each row."""
        return ((feature_matrix(X) - self.mean_) / self.scale_) @ self.coef_ + self.intercept_

    def predict_proba(self, X: pd.DataFrame | np.ndarray) -> np.ndarray:
        """``(n, 2)`` array of [P(stay), P(churn)] (scikit-learn convention)."""
        # lazy: scipy is heavy, and validating a config that names a model never predicts
        from scipy.special import expit

        p = expit(self.decision_function(X))
        return np.column_stack([1.0 - p, p])

    # -- JSON ------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The fitted model as plain JSON-compatible data."""
        return {
            "format": MODEL_FORMAT,
            "kind": "standardised logistic regression: p = 1/(1+exp(-(((x-mean)/scale)@coef+b)))",
            "features": list(self.feature_names_),
            "scaler_mean": self.mean_.tolist(),
            "scaler_scale": self.scale_.tolist(),
            "coef": self.coef_.tolist(),
            "intercept": self.intercept_,
            "params": {"C": self.C, "max_iter": self.max_iter, "random_state": self.random_state},
            "metadata": self.metadata_,
        }

    def to_json(self, path: str | Path) -> Path:
        """Write the model to ``path`` (JSON, floats written exactly); returns the path."""
        text = json.dumps(self.to_dict(), indent=2, allow_nan=False)
        return write_text(path, text + "\n")

    @classmethod
    def from_json(cls, path: str | Path) -> ChurnModel:
        """Load and validate a model file; errors name the file and the problem."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc)
            raise ChurnModelError(f"{path}: cannot read the churn model ({reason})") from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ChurnModelError(
                f"{path}: not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
            ) from None
        try:
            return cls.from_dict(data)
        except ChurnModelError as exc:
            raise ChurnModelError(f"{path}: {exc}") from None

    @classmethod
    def from_dict(cls, data: Any) -> ChurnModel:
        """Build a fitted model from :meth:`to_dict` data, checking every field."""
        if not isinstance(data, dict):
            raise ChurnModelError(f"expected a JSON object, got {type(data).__name__}")
        if data.get("format") != MODEL_FORMAT:
            raise ChurnModelError(
                f"format: expected {MODEL_FORMAT!r} (a file from `siyu churn-model train`), "
                f"got {data.get('format')!r}"
            )
        _check_feature_names(data.get("features"))
        n = len(CHURN_FEATURES)
        params = data.get("params", {})
        if not (
            isinstance(params, dict)
            and set(params) <= {"C", "max_iter", "random_state"}
            and all(isinstance(v, int | float) and not isinstance(v, bool) for v in params.values())
        ):
            raise ChurnModelError("params: expected an object of numbers C, max_iter, random_state")
        model = cls(**params)
        model.feature_names_ = CHURN_FEATURES
        model.mean_ = _numbers(data, "scaler_mean", n)
        model.scale_ = _numbers(data, "scaler_scale", n)
        if (model.scale_ <= 0).any():
            raise ChurnModelError("scaler_scale: every scale must be > 0")
        model.coef_ = _numbers(data, "coef", n)
        model.intercept_ = float(
            _numbers({"intercept": [data.get("intercept")]}, "intercept", 1)[0]
        )
        metadata = data.get("metadata", {})
        if not isinstance(metadata, dict):
            raise ChurnModelError("metadata: expected an object")
        model.metadata_ = metadata
        return model


def _check_feature_names(names: Any) -> None:
    if not isinstance(names, list) or not all(isinstance(x, str) for x in names):
        raise ChurnModelError("features: expected a list of feature names")
    if tuple(names) == CHURN_FEATURES:
        return
    missing = [f for f in CHURN_FEATURES if f not in names]
    unknown = [f for f in names if f not in CHURN_FEATURES]
    detail = []
    if missing:
        detail.append(f"missing {', '.join(missing)}")
    if unknown:
        detail.append(f"unknown {', '.join(unknown)}")
    if not detail:
        detail.append("same names in another order")
    raise ChurnModelError(
        f"features: the model was trained on other features than this version computes "
        f"({'; '.join(detail)}); retrain it with `siyu churn-model train`"
    )


def _numbers(data: Mapping[str, Any], key: str, n: int) -> np.ndarray:
    values = data.get(key)
    ok = isinstance(values, list) and len(values) == n
    ok = ok and all(
        isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in values
    )
    if not ok:
        raise ChurnModelError(f"{key}: expected a list of {n} finite numbers")
    return np.asarray(values, dtype=np.float64)


def load_churn_model(path: str | Path | None, rules: Sequence[str], source: str) -> ChurnModel:
    """The model file a config names for its rules ``rules``, as a config error if unusable."""

    if path is None:
        names = ", ".join(repr(r) for r in rules)
        raise ConfigError(
            f"{source}: rule {names} uses churn_risk, which needs a churn model: set churn_model: "
            "(path to a model JSON from `siyu churn-model train`) at the top level of the config"
        )
    try:
        return ChurnModel.from_json(path)
    except ChurnModelError as exc:
        raise ConfigError(f"{source}: churn_model: {exc}") from None
