"""Statistics for experiments: differences with intervals, multiple testing, power, calibration.

Pure functions on numpy arrays; nothing here runs the simulator. An experiment compares arms
against a control over R replications, and replication r of every arm uses the same seed
(common random numbers, CRN), so arm and control outcomes of one replication are *paired*.

* :class:`Estimate` — one estimated difference with its standard error, interval and p-value.
* :func:`paired_difference` — replication-level paired t (the default under CRN).
* :func:`paired_difference_band`, :func:`mean_band` — the same for every day of a curve at once.
* :func:`unpaired_difference` — Welch's t, for arms that do not share seeds.
* :func:`within_world_difference` — what a real A/B test sees in *one* world: treated minus
  untreated users, user-level (Welch) or cluster-robust (CR1) when users share groups.
* :func:`paired_user_difference` — the same users seen in two CRN worlds of one replication.
* :func:`adjust_pvalues` — Holm / Benjamini–Hochberg / none, NaN passing through.
* :func:`mde`, :func:`power_of`, :func:`replications_needed` — design arithmetic.
* :func:`false_positive_rate`, :func:`detection_rate` — calibration checks with exact
  (Clopper–Pearson) intervals.

Conventions shared by every estimator: fewer than two observations (or clusters) give a NaN
standard error, interval and p-value rather than an exception; a standard error of exactly zero
(every difference identical, as for two identical arms under CRN) gives the degenerate interval
``[estimate, estimate]`` and ``p = 1`` when the estimate is 0, ``p = 0`` otherwise. Inputs must be
finite: a NaN or infinite value is an error naming the argument and the first bad positions.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from types import ModuleType

PVALUE_METHODS = ("holm", "bh", "none")
_MULTIPLETESTS_NAME = {"holm": "holm", "bh": "fdr_bh"}
_NAN = float("nan")


# lazy: scipy.stats and statsmodels (~85 MB, ~1 s to import) are loaded when a statistic is
# computed, not by every command that imports the analysis (``siyu run`` of one config uses none)
def _stats() -> ModuleType:
    from scipy import stats

    return stats


def _optimize() -> ModuleType:
    from scipy import optimize

    return optimize


def _sm() -> ModuleType:
    import statsmodels.api as sm

    return sm


@dataclass(frozen=True)
class Estimate:
    """One estimated difference (treatment minus control).

    Attributes
    ----------
    estimate : float
        Point estimate of the difference.
    se : float
        Standard error of ``estimate`` (NaN when it cannot be estimated).
    ci_low, ci_high : float
        Two-sided ``1 - alpha`` confidence interval, ``estimate ± q · se`` with ``q`` the
        ``1 - alpha/2`` quantile of Student's t with ``df`` degrees of freedom.
    p_value : float
        Two-sided p-value of the null "difference = 0".
    n : int
        Number of observations behind the estimate (pairs, replications or users).
    df : float
        Degrees of freedom of the reference t distribution (NaN when undefined).
    method : str
        Short name of the procedure, e.g. ``"paired t"`` or ``"cluster-robust OLS (CR1)"``.
    """

    estimate: float
    se: float
    ci_low: float
    ci_high: float
    p_value: float
    n: int
    df: float
    method: str

    def to_dict(self) -> dict[str, Any]:
        """The fields as a plain dict of Python scalars (JSON- and DataFrame-friendly)."""
        return asdict(self)


# --- input checks ----------------------------------------------------------------------------


def _check_alpha(alpha: float, name: str = "alpha") -> float:
    """``alpha`` as a float strictly between 0 and 1, else a ValueError naming it."""
    value = float(alpha)
    if not 0.0 < value < 1.0:
        raise ValueError(f"{name} must be strictly between 0 and 1, got {alpha!r}")
    return value


def _finite_vector(values: Any, name: str) -> np.ndarray:
    """``values`` as a 1-D float array with only finite entries, else a ValueError naming it."""
    array = np.asarray(values, dtype=float)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}")
    bad = np.flatnonzero(~np.isfinite(array))
    if bad.size:
        raise ValueError(
            f"{name} must be finite; {bad.size} NaN/infinite value(s) at positions "
            f"{bad[:5].tolist()}{' ...' if bad.size > 5 else ''}"
        )
    return array


def _same_length(first: np.ndarray, second: np.ndarray, names: str) -> None:
    """Raise a ValueError when two per-observation arrays differ in length."""
    if first.shape[0] != second.shape[0]:
        raise ValueError(
            f"{names} must have the same length, got {first.shape[0]} and {second.shape[0]}"
        )


def _treated_mask(treated: Any, n: int) -> np.ndarray:
    """``treated`` as a boolean mask of length ``n`` (booleans or 0/1 values accepted)."""
    array = np.asarray(treated)
    if array.ndim != 1 or array.shape[0] != n:
        raise ValueError(f"treated must be a 1-D array of length {n}, got shape {array.shape}")
    if array.dtype == bool:
        return array
    if not np.isin(array, (0, 1)).all():
        raise ValueError("treated must hold booleans or 0/1 values")
    return array.astype(bool)


def _cluster_codes(clusters: Any, n: int) -> np.ndarray:
    """Integer codes 0..G-1 for arbitrary cluster labels; missing labels are an error."""
    array = np.asarray(clusters)
    if array.ndim != 1 or array.shape[0] != n:
        raise ValueError(f"clusters must be a 1-D array of length {n}, got shape {array.shape}")
    codes, _ = pd.factorize(array)
    missing = np.flatnonzero(codes < 0)
    if missing.size:
        raise ValueError(
            f"clusters has {missing.size} missing label(s) at positions {missing[:5].tolist()}; "
            "give every observation a cluster (a user in no group can be its own cluster)"
        )
    return codes


# --- building an Estimate --------------------------------------------------------------------


def _t_estimate(
    estimate: float, se: float, df: float, n: int, alpha: float, method: str
) -> Estimate:
    """An :class:`Estimate` with a t interval and two-sided t p-value from (estimate, se, df).

    A NaN ``se`` or ``df`` gives NaN interval and p-value; ``se == 0`` gives the degenerate
    interval ``[estimate, estimate]`` and ``p = 1`` if ``estimate == 0`` else ``p = 0``.
    """
    if not (np.isfinite(se) and np.isfinite(df)) or not np.isfinite(estimate):
        return Estimate(float(estimate), float(se), _NAN, _NAN, _NAN, int(n), float(df), method)
    if se == 0.0:
        p_value = 1.0 if estimate == 0.0 else 0.0
        return Estimate(
            float(estimate),
            0.0,
            float(estimate),
            float(estimate),
            p_value,
            int(n),
            float(df),
            method,
        )
    quantile = float(_stats().t.ppf(1.0 - alpha / 2.0, df))
    p_value = float(2.0 * _stats().t.sf(abs(estimate / se), df))
    return Estimate(
        float(estimate),
        float(se),
        float(estimate - quantile * se),
        float(estimate + quantile * se),
        p_value,
        int(n),
        float(df),
        method,
    )


def _one_sample_mean(values: np.ndarray, alpha: float, method: str) -> Estimate:
    """Mean of ``values`` with se = sd/√n (ddof 1) and a t(n−1) interval; NaN se when n < 2."""
    n = values.shape[0]
    estimate = float(values.mean()) if n else _NAN
    if n < 2:
        return _t_estimate(estimate, _NAN, _NAN, n, alpha, method)
    se = 0.0 if np.ptp(values) == 0.0 else float(values.std(ddof=1) / math.sqrt(n))
    return _t_estimate(estimate, se, float(n - 1), n, alpha, method)


# --- replication-level comparisons ------------------------------------------------------------


def paired_difference(treatment: Any, control: Any, alpha: float = 0.05) -> Estimate:
    r"""Paired t comparison of per-replication outcomes under common random numbers.

    With :math:`d_r = y^T_r - y^C_r` for replications :math:`r = 1..n`,

    .. math::

        \hat\Delta = \bar d, \qquad
        \widehat{se} = s_d / \sqrt{n}, \qquad
        \hat\Delta \pm t_{1-\alpha/2,\, n-1}\,\widehat{se}, \qquad
        p = 2\,P(T_{n-1} > |\hat\Delta| / \widehat{se}),

    with :math:`s_d` the sample standard deviation (ddof 1) of the differences. Pairing removes
    the luck shared by both arms of a replication, so the interval is narrower than the
    unpaired one whenever the arms are positively correlated across seeds.

    Parameters
    ----------
    treatment, control : array_like, shape (n,)
        Outcome of each replication in the arm and in the control; element r of both comes
        from the same seed. Must be finite.
    alpha : float
        Two-sided level: the interval has coverage ``1 - alpha``.

    Returns
    -------
    Estimate
        ``method="paired t"``, ``n`` = number of pairs, ``df = n - 1``. With n < 2 the standard
        error, interval and p-value are NaN (the estimate is the single difference, or NaN for
        n = 0). When every difference is exactly equal — in particular two identical arms under
        CRN, where every difference is 0 — the standard error is 0, the interval is
        ``[estimate, estimate]`` and ``p = 1`` for a zero estimate (``p = 0`` otherwise).
    """
    alpha = _check_alpha(alpha)
    treatment = _finite_vector(treatment, "treatment")
    control = _finite_vector(control, "control")
    _same_length(treatment, control, "treatment and control")
    return _one_sample_mean(treatment - control, alpha, "paired t")


def unpaired_difference(treatment: Any, control: Any, alpha: float = 0.05) -> Estimate:
    r"""Welch's unequal-variance t comparison of two independent samples.

    With sample means :math:`\bar y_T, \bar y_C`, variances :math:`s^2_T, s^2_C` (ddof 1) and
    :math:`v_k = s^2_k / n_k`,

    .. math::

        \hat\Delta = \bar y_T - \bar y_C, \qquad
        \widehat{se} = \sqrt{v_T + v_C}, \qquad
        \nu = \frac{(v_T + v_C)^2}{v_T^2/(n_T - 1) + v_C^2/(n_C - 1)}

    (Welch–Satterthwaite), interval :math:`\hat\Delta \pm t_{1-\alpha/2,\nu}\,\widehat{se}` and
    :math:`p = 2\,P(T_\nu > |\hat\Delta| / \widehat{se})`.

    Parameters
    ----------
    treatment, control : array_like
        Finite outcomes of each sample; the lengths may differ.
    alpha : float
        Two-sided level.

    Returns
    -------
    Estimate
        ``method="welch t"``, ``n = n_T + n_C``. If either sample has fewer than two values the
        standard error, interval and p-value are NaN. If both samples are constant the standard
        error is 0 (``df = n_T + n_C - 2``) and the degenerate conventions of
        :func:`paired_difference` apply.
    """
    alpha = _check_alpha(alpha)
    treatment = _finite_vector(treatment, "treatment")
    control = _finite_vector(control, "control")
    return _welch(treatment, control, alpha, "welch t")


def _welch(treatment: np.ndarray, control: np.ndarray, alpha: float, method: str) -> Estimate:
    """Welch's t on two validated samples (see :func:`unpaired_difference`)."""
    n_t, n_c = treatment.shape[0], control.shape[0]
    n = n_t + n_c
    estimate = float(treatment.mean() - control.mean()) if n_t and n_c else _NAN
    if n_t < 2 or n_c < 2:
        return _t_estimate(estimate, _NAN, _NAN, n, alpha, method)
    v_t = 0.0 if np.ptp(treatment) == 0.0 else float(treatment.var(ddof=1) / n_t)
    v_c = 0.0 if np.ptp(control) == 0.0 else float(control.var(ddof=1) / n_c)
    if v_t + v_c == 0.0:
        return _t_estimate(estimate, 0.0, float(n - 2), n, alpha, method)
    df = (v_t + v_c) ** 2 / (v_t**2 / (n_t - 1) + v_c**2 / (n_c - 1))
    return _t_estimate(estimate, math.sqrt(v_t + v_c), df, n, alpha, method)


# --- user-level comparisons in one replication ------------------------------------------------


# --- curves: one comparison per column (e.g. per day) ------------------------------------------


@dataclass(frozen=True)
class Band:
    """Column-wise estimates with their intervals (arrays of one length): a curve's band."""

    estimate: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    n: np.ndarray


def mean_band(values: Any, alpha: float = 0.05) -> Band:
    r"""Mean of every column of ``values`` (rows = replications) with its t interval.

    Column by column this is the one-sample mean behind :func:`paired_difference`:
    :math:`\bar y \pm t_{1-\alpha/2,\,n-1}\, s/\sqrt n` (ddof 1), computed for all columns
    at once. Unlike the scalar estimators a NaN entry is allowed and means *not observed*
    (a curve that stops early in one replication): it is left out of its column, so ``n``
    may differ by column. Fewer than two observations give a NaN interval; identical values a
    degenerate ``[mean, mean]``.
    """
    alpha = _check_alpha(alpha)
    v = np.asarray(values, dtype=float)
    if v.ndim != 2:
        raise ValueError(f"values must be a 2-D array (replications × columns), got {v.ndim}-D")
    ok = np.isfinite(v)
    n = ok.sum(axis=0)
    filled = np.where(ok, v, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(n > 0, filled.sum(axis=0) / np.maximum(n, 1), _NAN)
        dev = np.where(ok, v - mean, 0.0)
        se = np.sqrt((dev**2).sum(axis=0) / np.maximum(n - 1, 1) / np.maximum(n, 1))
    spread = np.where(ok, v, -np.inf).max(axis=0) - np.where(ok, v, np.inf).min(axis=0)
    se = np.where(spread == 0.0, 0.0, se)
    quantile = np.where(n >= 2, _stats().t.ppf(1.0 - alpha / 2.0, np.maximum(n - 1, 1)), _NAN)
    return Band(mean, mean - quantile * se, mean + quantile * se, n)


def paired_difference_band(treatment: Any, control: Any, alpha: float = 0.05) -> Band:
    """:func:`paired_difference` of every column at once (rows = replications, paired by row).

    A column's estimate and interval equal ``paired_difference(treatment[:, j], control[:, j])``
    over the rows where both are observed (NaN = not observed, see :func:`mean_band`).
    """
    t = np.asarray(treatment, dtype=float)
    c = np.asarray(control, dtype=float)
    if t.shape != c.shape:
        raise ValueError(f"treatment and control must have one shape, got {t.shape} and {c.shape}")
    return mean_band(t - c, alpha)


def within_world_difference(
    values: Any, treated: Any, clusters: Any = None, alpha: float = 0.05
) -> Estimate:
    r"""Treated minus untreated users in ONE world: what a real A/B test can see.

    The estimate is :math:`\bar y_{T} - \bar y_{C}`, the slope :math:`\beta` of the OLS fit
    :math:`y_i = \alpha + \beta\,\mathbb 1[i \text{ treated}] + \varepsilon_i`.

    * Without ``clusters`` users are taken as independent and the comparison is Welch's t
      (see :func:`unpaired_difference`), asymptotically the same as the HC1 robust OLS
      standard error but with a better small-sample reference distribution.
    * With ``clusters`` the standard error is cluster-robust (sandwich) with the CR1
      small-sample factor, from statsmodels ``OLS(...).fit(cov_type="cluster")``:

      .. math::

          \hat V = \frac{G}{G-1}\,\frac{N-1}{N-2}\,(X^\top X)^{-1}
              \Big(\sum_g X_g^\top \hat u_g \hat u_g^\top X_g\Big)(X^\top X)^{-1},

      and the reference distribution is :math:`t_{G-1}` with :math:`G` the number of
      clusters. Use it when outcomes of users sharing a group (or any unit of assignment) are
      correlated; ignoring such correlation makes the user-level test anti-conservative.

    Parameters
    ----------
    values : array_like, shape (N,)
        Finite per-user outcomes.
    treated : array_like of bool or 0/1, shape (N,)
        Whether each user was treated.
    clusters : array_like, shape (N,), optional
        Any labels (ints, strings); users with the same label form one cluster. Every user
        needs a label: give a user who belongs to no group a label of their own.
    alpha : float
        Two-sided level.

    Returns
    -------
    Estimate
        ``method`` is ``"welch t (users)"`` or ``"cluster-robust OLS (CR1)"``; ``n`` = N users.
        An empty arm gives an all-NaN estimate; fewer than two clusters a NaN standard error.
    """
    alpha = _check_alpha(alpha)
    values = _finite_vector(values, "values")
    mask = _treated_mask(treated, values.shape[0])
    if clusters is None:
        return _welch(values[mask], values[~mask], alpha, "welch t (users)")
    codes = _cluster_codes(clusters, values.shape[0])
    return _cluster_robust_difference(values, mask, codes, alpha)


def _cluster_robust_difference(
    values: np.ndarray, mask: np.ndarray, codes: np.ndarray, alpha: float
) -> Estimate:
    """Difference in means with a CR1 cluster-robust standard error and t(G−1) reference."""
    method = "cluster-robust OLS (CR1)"
    n, n_treated = values.shape[0], int(mask.sum())
    if n_treated == 0 or n_treated == n:
        return _t_estimate(_NAN, _NAN, _NAN, n, alpha, method)
    estimate = float(values[mask].mean() - values[~mask].mean())
    n_clusters = int(codes.max()) + 1
    if n_clusters < 2:
        return _t_estimate(estimate, _NAN, _NAN, n, alpha, method)
    if np.ptp(values[mask]) == 0.0 and np.ptp(values[~mask]) == 0.0:
        return _t_estimate(estimate, 0.0, float(n_clusters - 1), n, alpha, method)  # exact fit
    design = np.column_stack([np.ones(n), mask.astype(float)])
    fit = _sm().OLS(values, design).fit(cov_type="cluster", cov_kwds={"groups": codes})
    se = float(fit.bse[1])
    return _t_estimate(estimate, se, float(n_clusters - 1), n, alpha, method)


def paired_user_difference(
    y_treatment: Any, y_control: Any, clusters: Any = None, alpha: float = 0.05
) -> Estimate:
    r"""Mean per-user difference between two CRN worlds of one replication.

    Each user :math:`i` exists in both worlds (same seed, same luck), so
    :math:`d_i = y^T_i - y^C_i` is that user's difference.

    * Without ``clusters``: paired t on the :math:`d_i` (as :func:`paired_difference`).
    * With ``clusters`` (users of one group influence each other, so their differences are
      correlated): with :math:`D_g = \sum_{i \in g} d_i`, :math:`n_g` users in cluster g,
      :math:`N = \sum_g n_g`, the ratio (mean) estimator and its linearised between-cluster
      variance are

      .. math::

          \hat\Delta = \frac{\sum_g D_g}{N}, \qquad
          \widehat{se}^2 = \frac{G}{G-1}\,\frac{1}{N^2}\sum_g (D_g - \hat\Delta\, n_g)^2,

      with a :math:`t_{G-1}` reference — the CR1 cluster-robust standard error of a mean.

    Parameters
    ----------
    y_treatment, y_control : array_like, shape (N,)
        Finite outcome of each user in the arm's world and in the control's world, aligned by
        user.
    clusters : array_like, shape (N,), optional
        Cluster label of each user (see :func:`within_world_difference`).
    alpha : float
        Two-sided level.

    Returns
    -------
    Estimate
        ``method`` is ``"paired t (users)"`` or ``"cluster-robust paired mean (CR1)"``;
        ``n`` = N users; NaN standard error with fewer than two users (or clusters); the
        identical-worlds case (all differences 0) gives se 0, interval [0, 0] and p = 1.
    """
    alpha = _check_alpha(alpha)
    y_treatment = _finite_vector(y_treatment, "y_treatment")
    y_control = _finite_vector(y_control, "y_control")
    _same_length(y_treatment, y_control, "y_treatment and y_control")
    differences = y_treatment - y_control
    if clusters is None:
        return _one_sample_mean(differences, alpha, "paired t (users)")
    codes = _cluster_codes(clusters, differences.shape[0])
    return _cluster_robust_mean(differences, codes, alpha)


def _cluster_robust_mean(values: np.ndarray, codes: np.ndarray, alpha: float) -> Estimate:
    """Mean of ``values`` with the CR1 between-cluster standard error and t(G−1) reference."""
    method = "cluster-robust paired mean (CR1)"
    n = values.shape[0]
    if n == 0:
        return _t_estimate(_NAN, _NAN, _NAN, 0, alpha, method)
    estimate = float(values.mean())
    n_clusters = int(codes.max()) + 1
    if n_clusters < 2:
        return _t_estimate(estimate, _NAN, _NAN, n, alpha, method)
    if np.ptp(values) == 0.0:
        return _t_estimate(estimate, 0.0, float(n_clusters - 1), n, alpha, method)
    cluster_sums = np.bincount(codes, weights=values, minlength=n_clusters)
    cluster_sizes = np.bincount(codes, minlength=n_clusters)
    residual_sums = cluster_sums - estimate * cluster_sizes
    variance = n_clusters / (n_clusters - 1) * float(np.sum(residual_sums**2)) / n**2
    return _t_estimate(estimate, math.sqrt(variance), float(n_clusters - 1), n, alpha, method)


# --- multiple testing -------------------------------------------------------------------------


def adjust_pvalues(pvalues: Any, method: str) -> np.ndarray:
    r"""Adjust a family of p-values for multiple testing.

    For the m finite p-values sorted as :math:`p_{(1)} \le \dots \le p_{(m)}`:

    * ``"holm"`` (family-wise error rate, Holm 1979):
      :math:`\tilde p_{(k)} = \max_{j \le k} \min\{1, (m - j + 1)\,p_{(j)}\}`;
    * ``"bh"`` (false discovery rate, Benjamini–Hochberg 1995):
      :math:`\tilde p_{(k)} = \min_{j \ge k} \min\{1, m\,p_{(j)} / j\}`;
    * ``"none"``: the p-values unchanged.

    Computed with statsmodels ``multipletests``. NaN p-values (comparisons that could not be
    tested) stay NaN and do not count in the family size m.

    Parameters
    ----------
    pvalues : array_like
        P-values in [0, 1] or NaN, any shape.
    method : {"holm", "bh", "none"}
        Correction.

    Returns
    -------
    numpy.ndarray
        Adjusted p-values, same shape as ``pvalues``.
    """
    if method not in PVALUE_METHODS:
        raise ValueError(
            f"unknown p-value adjustment method {method!r}; expected one of {list(PVALUE_METHODS)}"
        )
    array = np.array(pvalues, dtype=float)
    finite = ~np.isnan(array)
    outside = finite & ((array < 0.0) | (array > 1.0))
    if outside.any():
        raise ValueError(f"pvalues must lie in [0, 1] or be NaN; got {array[outside][:5].tolist()}")
    if method == "none" or not finite.any():
        return array
    from statsmodels.stats.multitest import multipletests  # lazy: see _stats

    array[finite] = multipletests(array[finite], method=_MULTIPLETESTS_NAME[method])[1]
    return array


# --- power and design -------------------------------------------------------------------------


def _check_se(se: float) -> float:
    """A standard error as a float; negative or infinite values are errors, NaN passes."""
    value = float(se)
    if value < 0.0 or value == math.inf:
        raise ValueError(f"se must be a finite non-negative number, got {se!r}")
    return value


def _check_df(df: float | None) -> float | None:
    """Degrees of freedom as a positive float, or None for the normal reference."""
    if df is None:
        return None
    value = float(df)
    if not value > 0.0:
        raise ValueError(f"df must be positive (or None for the normal approximation), got {df!r}")
    return value


def _power_at_ratio(ratio: float, alpha: float, df: float | None) -> float:
    """Two-sided rejection probability when the true effect is ``ratio`` standard errors."""
    if df is None:
        critical = _stats().norm.ppf(1.0 - alpha / 2.0)
        return float(_stats().norm.sf(critical - ratio) + _stats().norm.cdf(-critical - ratio))
    critical = _stats().t.ppf(1.0 - alpha / 2.0, df)
    # P(T < -c | λ) = P(T > c | -λ); scipy's nct.sf is stable far in the tail where cdf is not
    return float(_stats().nct.sf(critical, df, ratio) + _stats().nct.sf(critical, df, -ratio))


def power_of(effect: float, se: float, alpha: float = 0.05, df: float | None = None) -> float:
    r"""Two-sided power of a test of "difference = 0" when the true difference is ``effect``.

    With :math:`\lambda = \text{effect} / se`:

    * normal reference (``df=None``):
      :math:`1 - \Phi(z_{1-\alpha/2} - \lambda) + \Phi(-z_{1-\alpha/2} - \lambda)`;
    * t reference: the studentised statistic follows a noncentral t with ``df`` degrees of
      freedom and noncentrality :math:`\lambda`, so the power is
      :math:`P(|T_{df,\lambda}| > t_{1-\alpha/2,df})`. This is exact for the paired t-test when
      ``se`` is the *true* standard error :math:`\sigma_d/\sqrt n` and ``df = n - 1``.

    Parameters
    ----------
    effect : float
        True difference (sign does not matter: the test is two-sided).
    se : float
        Standard error of the estimated difference; NaN gives NaN.
    alpha : float
        Two-sided level.
    df : float, optional
        Degrees of freedom of the t reference; None for the normal approximation.

    Returns
    -------
    float
        Power in [alpha, 1]; 1 when ``se == 0`` and ``effect != 0``.
    """
    alpha = _check_alpha(alpha)
    se = _check_se(se)
    df = _check_df(df)
    effect = float(effect)
    if math.isnan(se) or math.isnan(effect):
        return _NAN
    if se == 0.0:
        return alpha if effect == 0.0 else 1.0
    return _power_at_ratio(abs(effect) / se, alpha, df)


def _ratio_for_power(power: float, alpha: float, df: float | None) -> float:
    """Effect, in standard errors, at which the two-sided test has the given power."""
    upper = float(_stats().norm.ppf(1.0 - alpha / 2.0) + _stats().norm.ppf(power)) + 1.0
    while _power_at_ratio(upper, alpha, df) < power:
        upper *= 2.0
    return float(
        _optimize().brentq(lambda r: _power_at_ratio(r, alpha, df) - power, 0.0, upper, xtol=1e-10)
    )


def mde(se: float, alpha: float = 0.05, power: float = 0.8, df: float | None = None) -> float:
    r"""Minimum detectable effect: the true difference detected with probability ``power``.

    Solves :func:`power_of` ``(mde, se, alpha, df) = power`` for the (positive) effect, so the
    two functions are exact inverses. For a normal reference this is, up to the negligible
    far-tail term, the textbook :math:`(z_{1-\alpha/2} + z_{power})\, se`; with a t reference
    (noncentral t) it is a little larger than :math:`(t_{1-\alpha/2,df} + t_{power,df})\, se`.

    Parameters
    ----------
    se : float
        Standard error of the estimated difference (e.g. ``Estimate.se``); NaN gives NaN.
    alpha : float
        Two-sided level.
    power : float
        Target power, strictly between ``alpha`` and 1.
    df : float, optional
        Degrees of freedom of the t reference (e.g. ``Estimate.df``); None for normal.

    Returns
    -------
    float
        The minimum detectable effect, in the units of ``se`` (0 when ``se == 0``).
    """
    alpha = _check_alpha(alpha)
    power = _check_alpha(power, "power")
    if power <= alpha:
        raise ValueError(f"power must exceed alpha ({alpha}), got {power}")
    se = _check_se(se)
    df = _check_df(df)
    if math.isnan(se):
        return _NAN
    if se == 0.0:
        return 0.0
    return se * _ratio_for_power(power, alpha, df)


def replications_needed(
    effect: float, sd_of_differences: float, alpha: float = 0.05, power: float = 0.8
) -> int:
    r"""Smallest number of paired replications whose paired t-test reaches ``power``.

    The paired t-test on n replications has standard error :math:`\sigma_d/\sqrt n` and
    :math:`n - 1` degrees of freedom, so n is the smallest integer :math:`\ge 2` with
    ``power_of(effect, sd / sqrt(n), alpha, df=n - 1) >= power``. The search starts at the
    normal-theory :math:`n_0 = \lceil ((z_{1-\alpha/2} + z_{power})\,\sigma_d/\text{effect})^2
    \rceil` and iterates on the t degrees of freedom (the t answer is a few replications more
    for small n).

    Parameters
    ----------
    effect : float
        Difference to detect (non-zero).
    sd_of_differences : float
        Standard deviation :math:`\sigma_d` of the per-replication paired differences (e.g.
        from a pilot: ``Estimate.se * sqrt(Estimate.n)`` of :func:`paired_difference`).
    alpha : float
        Two-sided level.
    power : float
        Target power, strictly between ``alpha`` and 1.

    Returns
    -------
    int
        Replications needed (at least 2, the fewest a paired t-test can use).
    """
    alpha = _check_alpha(alpha)
    power = _check_alpha(power, "power")
    if power <= alpha:
        raise ValueError(f"power must exceed alpha ({alpha}), got {power}")
    effect, sd = float(effect), float(sd_of_differences)
    if not math.isfinite(effect) or effect == 0.0:
        raise ValueError(f"effect must be finite and non-zero, got {effect!r}")
    if not math.isfinite(sd) or sd < 0.0:
        raise ValueError(f"sd_of_differences must be finite and non-negative, got {sd!r}")

    def reaches(n: int) -> bool:
        return power_of(effect, sd / math.sqrt(n), alpha, df=n - 1) >= power

    if sd == 0.0:
        return 2
    z_sum = _stats().norm.ppf(1.0 - alpha / 2.0) + _stats().norm.ppf(power)
    n = max(2, math.ceil((z_sum * sd / abs(effect)) ** 2))
    while not reaches(n):
        n += 1
    while n > 2 and reaches(n - 1):
        n -= 1
    return n


# --- calibration checks -----------------------------------------------------------------------


def _rejection_rate(
    pvalues: Any, alpha: float, nominal: float, tolerance_level: float
) -> dict[str, Any]:
    """Share of finite p-values below ``alpha`` with a Clopper–Pearson interval vs ``nominal``."""
    alpha = _check_alpha(alpha)
    tolerance_level = _check_alpha(tolerance_level, "tolerance_level")
    array = np.asarray(pvalues, dtype=float).ravel()
    array = array[~np.isnan(array)]
    n = int(array.shape[0])
    if n == 0:
        return {
            "rate": _NAN,
            "n": 0,
            "ci_low": _NAN,
            "ci_high": _NAN,
            "nominal": nominal,
            "consistent": False,
        }
    rejections = int(np.sum(array < alpha))
    interval = (
        _stats()
        .binomtest(rejections, n)
        .proportion_ci(confidence_level=tolerance_level, method="exact")
    )
    low, high = float(interval.low), float(interval.high)
    return {
        "rate": rejections / n,
        "n": n,
        "ci_low": low,
        "ci_high": high,
        "nominal": float(nominal),
        "consistent": bool(low <= nominal <= high),
    }


def false_positive_rate(
    pvalues: Any, alpha: float = 0.05, tolerance_level: float = 0.99
) -> dict[str, Any]:
    r"""Share of null experiments rejected at ``alpha``, checked against the nominal ``alpha``.

    Of the n finite p-values (NaN are ignored), k fall below ``alpha``; the rate is k/n with
    the exact Clopper–Pearson interval at ``tolerance_level``:

    .. math::

        \big[\,B^{-1}(\tfrac{1-\gamma}{2};\, k,\, n-k+1),\;
              B^{-1}(\tfrac{1+\gamma}{2};\, k+1,\, n-k)\,\big],

    :math:`B^{-1}` the beta quantile and :math:`\gamma` the tolerance level. A calibrated test
    has ``consistent = True``: the nominal alpha lies inside that interval.

    Parameters
    ----------
    pvalues : array_like
        P-values of experiments in which the null hypothesis is true.
    alpha : float
        Level at which each experiment is tested (and the nominal rate).
    tolerance_level : float
        Confidence level of the Clopper–Pearson interval.

    Returns
    -------
    dict
        ``rate``, ``n``, ``ci_low``, ``ci_high``, ``nominal`` (= alpha), ``consistent``.
        With no finite p-value the rate and interval are NaN and ``consistent`` is False.
    """
    return _rejection_rate(pvalues, alpha, float(alpha), tolerance_level)


def detection_rate(
    pvalues: Any, alpha: float = 0.05, power: float = 0.8, tolerance_level: float = 0.99
) -> dict[str, Any]:
    """Share of experiments with a planted effect rejected at ``alpha``, against the power.

    The same computation as :func:`false_positive_rate` (exact Clopper–Pearson interval at
    ``tolerance_level``), but the nominal rate is the stated ``power`` — for example the power
    promised by :func:`mde` for an effect planted at the minimum detectable effect.

    Parameters
    ----------
    pvalues : array_like
        P-values of experiments in which the planted effect is present.
    alpha : float
        Level at which each experiment is tested.
    power : float
        Stated power: the rate the detections should be consistent with.
    tolerance_level : float
        Confidence level of the Clopper–Pearson interval.

    Returns
    -------
    dict
        ``rate``, ``n``, ``ci_low``, ``ci_high``, ``nominal`` (= power), ``consistent``.
    """
    power = _check_alpha(power, "power")
    return _rejection_rate(pvalues, alpha, power, tolerance_level)
