"""Survival of users per arm: Kaplan–Meier curves, the log-rank test, RMST and Cox hazard ratios.

Durations are days from a user's observation start (``max(join_day, 0)``) to churn (event) or to
the end of the run (censored): the ``duration``/``event`` columns of
:func:`sim.analysis.outcomes.user_outcomes` (``duration``/``churned`` in the users table).
The fitting is lifelines' (:func:`~lifelines.statistics.logrank_test`,
:func:`~lifelines.utils.restricted_mean_survival_time`, :class:`~lifelines.CoxPHFitter`), except
the Kaplan–Meier curve, which is computed here with lifelines' arithmetic (:func:`km_curve`);
this module validates inputs and returns plain frames and dicts.

Independence: every test here treats the two groups as independent samples. Arms of an
experiment run with common random numbers are *not* independent (the same user meets the same
luck in both), so the experiment layer compares arms by paired replications (e.g. the RMST
difference computed per replication); the functions here are for a single run or for
independent groups within one run (e.g. treated vs untreated users of one world).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from sim.errors import SiyuWarning

DEFAULT_PENALIZER = 1e-3
"""Ridge penalty of :func:`cox_hazard_ratios` (lifelines scales it by the rows): enough to keep
the Newton steps stable with separable or rare covariates, too small to move a hazard ratio
estimated on thousands of users by more than a fraction of a percent."""

ArrayLike = Sequence[float] | np.ndarray | pd.Series


# --------------------------------------------------------------------------- input checks


def _durations_events(
    durations: ArrayLike, events: ArrayLike, name: str = ""
) -> tuple[np.ndarray, np.ndarray]:
    """Validated float durations (finite, >= 0) and boolean events of equal, non-zero length."""
    label = f" ({name})" if name else ""
    d = np.asarray(durations, dtype=float)
    e = np.asarray(events)
    if d.ndim != 1 or e.ndim != 1 or len(d) != len(e):
        raise ValueError(
            f"durations and events{label} must be 1-d and of equal length, "
            f"got shapes {d.shape} and {e.shape}"
        )
    if len(d) == 0:
        raise ValueError(f"no durations{label}: survival needs at least one user")
    if not np.all(np.isfinite(d)) or d.min() < 0:
        raise ValueError(f"durations{label} must be finite and >= 0")
    if e.dtype != np.bool_:
        if not np.isin(e, (0, 1)).all():
            raise ValueError(f"events{label} must be booleans or 0/1 (1 = churned)")
        e = e.astype(bool)
    return d, e


def _check_alpha(alpha: float) -> float:
    if not 0.0 < float(alpha) < 1.0:
        raise ValueError(f"alpha must lie in (0, 1), got {alpha!r}")
    return float(alpha)


def _fit_km(durations: np.ndarray, events: np.ndarray, alpha: float = 0.05, label: str = "km"):
    from lifelines import KaplanMeierFitter

    return KaplanMeierFitter(alpha=alpha, label=label).fit(durations, event_observed=events)


# --------------------------------------------------------------------------- Kaplan–Meier


def km_curve(
    durations: ArrayLike, events: ArrayLike, label: str | None = None, alpha: float = 0.05
) -> pd.DataFrame:
    """Kaplan–Meier estimate of the survival function with its (1 − alpha) confidence band.

    .. math:: \\hat S(t) = \\prod_{t_i \\le t} \\left(1 - \\frac{d_i}{n_i}\\right)

    Parameters
    ----------
    durations, events
        Days to churn or censoring, and whether churn was observed (True/1) or censored.
    label
        Stored in the ``label`` column (convenient when stacking curves of several arms).
    alpha
        1 − confidence level of the band (the exponential Greenwood interval).

    Returns
    -------
    DataFrame
        time (0 and every distinct duration), survival, ci_low, ci_high, at_risk (users with
        duration >= time); plus ``label`` when given.

    The numbers are lifelines' :class:`~lifelines.KaplanMeierFitter`'s to the last bit (the same
    operations in the same order; ``tests/analysis/test_survival.py``), computed here because
    importing lifelines takes ~0.8 s, more than a million users' curve: every ``siyu run``
    draws one.
    """
    d, e = _durations_events(durations, events)
    time, survival, ci_low, ci_high, at_risk = _product_limit(d, e, _check_alpha(alpha))
    out = pd.DataFrame(
        {
            "time": time,
            "survival": survival,
            "ci_low": ci_low,
            "ci_high": ci_high,
            "at_risk": at_risk.astype(np.int64),
        }
    )
    if label is not None:
        out["label"] = label
    return out


def _product_limit(d: np.ndarray, e: np.ndarray, alpha: float) -> tuple[np.ndarray, ...]:
    """(time, survival, ci_low, ci_high, at_risk) of the Kaplan–Meier estimate, written as
    lifelines computes it: survival = exp(cumsum(log(n − d) − log(n))), the Greenwood sum
    cumsum(d / (n (n − d))) (0 where everyone at risk churned) and the exponential Greenwood
    band exp(−exp(log(−log S) ∓ z √V / log S)), 1 where that is undefined (S = 1 or 0)."""
    from scipy.special import ndtri  # lazy: scipy is heavy, and most commands draw no curve

    times, index = np.unique(d, return_inverse=True)
    removed = np.bincount(index, minlength=times.size)
    deaths = np.bincount(index, weights=e.astype(np.float64), minlength=times.size)
    if times[0] != 0:  # the curve starts at time 0 with everyone at risk
        times = np.concatenate(([0.0], times))
        removed = np.concatenate(([0], removed))
        deaths = np.concatenate(([0.0], deaths))
    at_risk = d.size - np.concatenate(([0.0], np.cumsum(removed)[:-1].astype(np.float64)))
    z = ndtri(1 - alpha / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        survival = np.exp(np.cumsum(np.log(at_risk - deaths) - np.log(at_risk)))
        n = at_risk.astype(np.uint64)
        greenwood = deaths / (n * (n - deaths.astype(np.uint64)))
        greenwood[np.isinf(greenwood)] = 0.0
        spread = z * np.sqrt(np.cumsum(greenwood))
        log_s = np.log(survival)
        ci_low = np.exp(-np.exp(np.log(-log_s) - spread / log_s))
        ci_high = np.exp(-np.exp(np.log(-log_s) + spread / log_s))
    ci_low[np.isnan(ci_low)] = 1.0
    ci_high[np.isnan(ci_high)] = 1.0
    return times, survival, ci_low, ci_high, at_risk


def logrank(
    durations_a: ArrayLike, events_a: ArrayLike, durations_b: ArrayLike, events_b: ArrayLike
) -> dict[str, float]:
    """Log-rank test of equal hazards in two independent groups: ``{statistic, p_value}``.

    The statistic is chi-square with one degree of freedom under the null hypothesis.
    """
    from lifelines.statistics import logrank_test

    da, ea = _durations_events(durations_a, events_a, "group a")
    db, eb = _durations_events(durations_b, events_b, "group b")
    result = logrank_test(da, db, event_observed_A=ea, event_observed_B=eb)
    return {"statistic": float(result.test_statistic), "p_value": float(result.p_value)}


# --------------------------------------------------------------------------- RMST


def _rmst_variance(kmf, tau: float) -> float:
    """Greenwood-type variance of the Kaplan–Meier RMST estimate up to ``tau``.

    .. math:: \\widehat{Var} = \\sum_{t_i \\le \\tau} A_i^2 \\frac{d_i}{n_i (n_i - d_i)},
              \\quad A_i = \\int_{t_i}^{\\tau} \\hat S(u)\\,du

    (Klein & Moeschberger, *Survival Analysis*, §4.5). Terms with n_i = d_i have A_i = 0.
    """
    survival = kmf.survival_function_.iloc[:, 0]
    times = survival.index.to_numpy(float)
    keep = times <= tau
    times, values = times[keep], survival.to_numpy(float)[keep]
    widths = np.diff(np.append(times, tau))
    area_after = np.cumsum((values * widths)[::-1])[::-1]  # integral of S from t_i to tau
    table = kmf.event_table.reindex(survival.index[keep])
    deaths = table["observed"].to_numpy(float)
    at_risk = table["at_risk"].to_numpy(float)
    denom = at_risk * (at_risk - deaths)
    terms = np.zeros(len(times))
    np.divide(area_after**2 * deaths, denom, out=terms, where=denom > 0)
    return float(terms.sum())


def _rmst(durations: np.ndarray, events: np.ndarray, tau: float) -> tuple[float, float]:
    """(RMST up to tau, variance of the estimate) for one group."""
    from lifelines.utils import restricted_mean_survival_time

    kmf = _fit_km(durations, events)
    return float(restricted_mean_survival_time(kmf, t=tau)), _rmst_variance(kmf, tau)


def rmst_difference(
    d_a: ArrayLike,
    e_a: ArrayLike,
    d_b: ArrayLike,
    e_b: ArrayLike,
    tau: float,
    alpha: float = 0.05,
) -> dict[str, float]:
    """Restricted mean survival time of two independent groups up to ``tau`` and its difference.

    .. math:: \\mathrm{RMST}(\\tau) = \\int_0^\\tau \\hat S(t)\\,dt

    is the expected number of days, out of the first ``tau``, that a user stays (area under the
    Kaplan–Meier curve; lifelines' :func:`~lifelines.utils.restricted_mean_survival_time`).
    The standard error of each estimate is the Greenwood-type one (:func:`_rmst_variance`; note
    that lifelines' ``return_variance`` is the variance of min(T, tau) among users, not of the
    estimate); the difference a − b gets a normal (Wald) interval and two-sided p-value,
    assuming **independent** groups.

    Paired arms: with common random numbers two arms of an experiment are not independent and
    this interval is too wide. The experiment layer computes the difference per replication and
    compares replications pairwise; use this function for the single-run case.

    Returns
    -------
    dict
        rmst_a, rmst_b, difference (a − b), se, ci_low, ci_high, p_value.
    """
    da, ea = _durations_events(d_a, e_a, "group a")
    db, eb = _durations_events(d_b, e_b, "group b")
    alpha = _check_alpha(alpha)
    if not np.isfinite(tau) or tau <= 0:
        raise ValueError(f"tau must be a positive number of days, got {tau!r}")
    rmst_a, var_a = _rmst(da, ea, float(tau))
    rmst_b, var_b = _rmst(db, eb, float(tau))
    difference = rmst_a - rmst_b
    se = float(np.sqrt(var_a + var_b))
    from scipy import stats  # lazy: scipy.stats is heavy (~45 MB) and only this test uses it

    z = float(stats.norm.ppf(1.0 - alpha / 2.0))
    p_value = float(2.0 * stats.norm.sf(abs(difference) / se)) if se > 0 else float("nan")
    return {
        "rmst_a": rmst_a,
        "rmst_b": rmst_b,
        "difference": difference,
        "se": se,
        "ci_low": difference - z * se,
        "ci_high": difference + z * se,
        "p_value": p_value,
    }


# --------------------------------------------------------------------------- Cox


def _sample_rows(frame: pd.DataFrame, max_rows: int, seed: int) -> pd.DataFrame:
    """All rows, or ``max_rows`` of them drawn without replacement (seeded), in frame order."""
    if max_rows < 1:
        raise ValueError(f"max_rows must be >= 1, got {max_rows!r}")
    if len(frame) <= max_rows:
        return frame
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(len(frame), size=max_rows, replace=False))
    return frame.iloc[rows]


def _design_matrix(
    frame: pd.DataFrame, covariates: Sequence[str], categorical: Sequence[str]
) -> pd.DataFrame:
    """Numeric covariates as floats; categorical ones (listed, or of a non-numeric dtype)
    one-hot encoded with the first level dropped (column ``name[level]``)."""
    parts = []
    for name in covariates:
        column = frame[name]
        if column.isna().any():
            raise ValueError(f"covariate {name!r} has missing values (NaN) in the rows used")
        is_numeric = pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column)
        if name in categorical or not is_numeric:
            levels = column.astype("category")
            levels = levels.cat.remove_unused_categories()
            dummies = pd.get_dummies(levels, prefix=name, prefix_sep="[", drop_first=True)
            dummies.columns = [f"{c}]" for c in dummies.columns]
            parts.append(dummies.astype(float))
        else:
            parts.append(column.astype(float).rename(name).to_frame())
    return pd.concat(parts, axis=1) if parts else pd.DataFrame(index=frame.index)


def _report_fit_warnings(caught: list[warnings.WarningMessage], rows: int) -> None:
    """Say lifelines' convergence warnings once, in the project's words; pass others on."""
    from lifelines.exceptions import ConvergenceWarning  # lazy: lifelines is heavy

    poor = [w for w in caught if issubclass(w.category, ConvergenceWarning)]
    if poor:
        warnings.warn(
            SiyuWarning(
                f"Cox model ({rows:,} users): the fit converged poorly (lifelines: "
                f"{str(poor[0].message).split('.')[0].strip()}); its hazard ratios may be "
                "unstable — the log-rank test and RMST do not depend on it"
            ),
            stacklevel=3,
        )
    for w in caught:
        if not issubclass(w.category, ConvergenceWarning):
            warnings.warn(w.message, w.category, stacklevel=3)


def cox_hazard_ratios(
    frame: pd.DataFrame,
    duration_col: str,
    event_col: str,
    covariates: Sequence[str],
    max_rows: int = 50_000,
    seed: int = 0,
    categorical: Sequence[str] = (),
    penalizer: float = DEFAULT_PENALIZER,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Hazard ratios of churn for covariates from a Cox proportional-hazards model.

    .. math:: h(t \\mid x) = h_0(t)\\, e^{\\beta^\\top x}, \\qquad \\mathrm{HR}_j = e^{\\beta_j}

    Parameters
    ----------
    frame
        One row per user, e.g. :func:`~sim.analysis.outcomes.user_outcomes`.
    duration_col, event_col
        Days to churn/censoring and whether churn was observed.
    covariates
        Columns to explain the hazard with. Booleans count as 0/1.
    max_rows
        Bigger frames are fitted on ``max_rows`` rows drawn without replacement with
        ``np.random.default_rng(seed)`` (the Cox fit grows faster than linearly in rows).
    seed
        Seed of that sample.
    categorical
        Covariates to one-hot encode (first level dropped: it is the reference); non-numeric
        columns are encoded anyway. Dummy rows are named ``name[level]``.
    penalizer
        Small ridge penalty (see :data:`DEFAULT_PENALIZER`) against convergence failures.
    alpha
        1 − confidence level of the intervals.

    Returns
    -------
    DataFrame
        covariate, hazard_ratio, ci_low, ci_high, p_value, n_used (rows fitted). A column that
        is constant in the rows used carries no information and is reported with NaN.
    """
    from lifelines import CoxPHFitter

    covariates = list(covariates)
    wanted = [duration_col, event_col, *covariates]
    missing = [c for c in dict.fromkeys(wanted) if c not in frame.columns]
    if missing:
        raise ValueError(f"cox_hazard_ratios: frame lacks column(s) {missing}")
    if not covariates:
        raise ValueError("cox_hazard_ratios: give at least one covariate")
    unknown = [c for c in categorical if c not in covariates]
    if unknown:
        raise ValueError(f"categorical column(s) {unknown} are not among the covariates")
    used = _sample_rows(frame[list(dict.fromkeys(wanted))], int(max_rows), seed)
    durations, events = _durations_events(used[duration_col], used[event_col], duration_col)
    design = _design_matrix(used, covariates, list(categorical))
    constant = [c for c in design.columns if design[c].nunique() <= 1]
    fit_columns = [c for c in design.columns if c not in constant]
    if not fit_columns:
        raise ValueError("cox_hazard_ratios: every covariate is constant in the rows used")
    data = design[fit_columns].assign(_duration=durations, _event=events.astype(float))
    cph = CoxPHFitter(penalizer=penalizer, alpha=_check_alpha(alpha))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cph.fit(data, duration_col="_duration", event_col="_event")
    _report_fit_warnings(caught, len(used))
    summary = cph.summary
    low, high = (c for c in summary.columns if c.startswith("exp(coef) ") and "%" in c)
    out = pd.DataFrame(
        {
            "covariate": fit_columns,
            "hazard_ratio": summary.loc[fit_columns, "exp(coef)"].to_numpy(float),
            "ci_low": summary.loc[fit_columns, low].to_numpy(float),
            "ci_high": summary.loc[fit_columns, high].to_numpy(float),
            "p_value": summary.loc[fit_columns, "p"].to_numpy(float),
        }
    )
    if constant:
        out = pd.concat([out, pd.DataFrame({"covariate": constant})], ignore_index=True)
        order = {c: i for i, c in enumerate(design.columns)}
        out = out.sort_values("covariate", key=lambda s: s.map(order), ignore_index=True)
    out["n_used"] = len(used)
    return out
