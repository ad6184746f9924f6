r"""Cohort retention models for aggregate survivor tables: sBG and its generalisation BdW.

Both describe a cohort in discrete periods (months, years). Each customer has a per-period churn
probability :math:`\theta \sim \mathrm{Beta}(\alpha, \beta)` across customers, so the cohort's
retention rises over time as the likely churners leave (heterogeneity, not a changing individual).

* :class:`ShiftedBetaGeometric` (sBG; Fader & Hardie 2007): an individual survives period
  :math:`t` with the constant probability :math:`1-\theta`, so
  :math:`S(t) = B(\alpha, \beta+t) / B(\alpha, \beta)`.
* :class:`BetaDiscreteWeibull` (BdW; Fader, Hardie, Liu, Davin & Steenburgh 2018): an individual
  survives to :math:`t` with probability :math:`(1-\theta)^{t^c}`, adding duration dependence
  (:math:`c < 1`: a customer's own churn risk falls with tenure; :math:`c > 1`: it rises), so
  :math:`S(t) = B(\alpha, \beta+t^c) / B(\alpha, \beta)`. With :math:`c = 1` it *is* the sBG;
  its maximum likelihood is therefore never below the sBG's on the same data.

Both are fitted by maximum likelihood on log-parameters (scipy L-BFGS-B) from ``survivors[k]``,
the customers still active after period k (``survivors[0]`` = cohort size): the
:math:`n_{t-1} - n_t` customers lost in period t contribute :math:`P(T = t) = S(t-1) - S(t)`,
the :math:`n_K` still active contribute :math:`S(K)`.

References: P. S. Fader and B. G. S. Hardie (2007), "How to project customer retention",
*Journal of Interactive Marketing* 21(1), 76-90; P. S. Fader, B. G. S. Hardie, Y. Liu, J. Davin
and T. Steenburgh (2018), "'How to project customer retention' revisited: the role of duration
dependence", *Journal of Interactive Marketing* 43, 1-16.
"""

from __future__ import annotations

import numpy as np
import scipy  # submodules load on first use: a run that builds no twin needs none

from sim.twin.bgnbd import standard_errors

_LOG_BOUND = 20.0
_LOG_C_BOUND = 5.0  # c within [e^-5, e^5]


def check_survivors(survivors) -> np.ndarray:
    """Survivor counts as floats, checked: at least two periods, >= 0, non-increasing."""
    n = np.asarray(survivors, dtype=float)
    if n.ndim != 1 or len(n) < 2:
        raise ValueError("survivors: need the cohort size and at least one later period")
    if not np.all(np.isfinite(n)) or np.any(n < 0):
        raise ValueError("survivors: counts must be finite and >= 0")
    if n[0] <= 0:
        raise ValueError("survivors: survivors[0] is the cohort size and must be > 0")
    rises = np.flatnonzero(np.diff(n) > 0)
    if len(rises):
        k = int(rises[0]) + 1
        raise ValueError(
            f"survivors: must not increase; period {k} has {n[k]:g} after {n[k - 1]:g}"
        )
    return n


class _BetaSurvival:
    """Shared fitting and projection for beta-mixture survival models of cohort tables.

    Subclasses define ``names`` (parameter names), ``_start(survivors)`` and
    ``_log_survival(log_params, t)``: :math:`\\log S(t)` for integer periods ``t >= 0``.
    """

    names: tuple[str, ...] = ()

    def __init__(self, max_iter: int = 2000) -> None:
        self.max_iter = max_iter

    def _bounds(self) -> list[tuple[float, float]]:
        return [(-_LOG_BOUND, _LOG_BOUND)] * len(self.names)

    def _log_survival(self, log_params: np.ndarray, t: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _start(self, survivors: np.ndarray) -> list[np.ndarray]:
        raise NotImplementedError

    def _negative_log_likelihood(self, log_params: np.ndarray, survivors: np.ndarray) -> float:
        periods = np.arange(len(survivors))
        log_s = self._log_survival(log_params, periods)
        lost = survivors[:-1] - survivors[1:]
        with np.errstate(divide="ignore", invalid="ignore"):
            # log(S(t-1) - S(t)) without cancellation: log S(t-1) + log1p(-S(t)/S(t-1))
            log_p = log_s[:-1] + np.log1p(-np.exp(log_s[1:] - log_s[:-1]))
        terms = np.where(lost > 0, lost * log_p, 0.0)
        value = -(terms.sum() + survivors[-1] * log_s[-1])
        return float(value) if np.isfinite(value) else 1e300

    def fit(self, survivors):
        """Fit by maximum likelihood.

        Parameters
        ----------
        survivors
            ``survivors[k]`` = customers still active after period k, k = 0..K;
            ``survivors[0]`` is the cohort size.

        Returns
        -------
        self
        """
        n = check_survivors(survivors)
        best = None
        for start in self._start(n):
            result = scipy.optimize.minimize(
                self._negative_log_likelihood,
                start,
                args=(n,),
                method="L-BFGS-B",
                bounds=self._bounds(),
                options={"maxiter": self.max_iter, "ftol": 1e-14, "gtol": 1e-9},
            )
            if best is None or result.fun < best.fun:
                best = result
        self._set_fit(best, n)
        return self

    def _set_fit(self, result, survivors: np.ndarray) -> None:
        self._log_params = np.asarray(result.x, dtype=float)
        self.params_ = dict(zip(self.names, np.exp(self._log_params).tolist(), strict=True))
        self.log_likelihood_ = -float(result.fun)
        self.converged_ = bool(result.success)
        self.cohort_size_ = float(survivors[0])
        self.periods_fitted_ = len(survivors) - 1
        se, _ = standard_errors(
            lambda p: self._negative_log_likelihood(p, survivors), self._log_params
        )
        self.se_ = dict(zip(self.names, se.tolist(), strict=True))

    def _fitted(self) -> np.ndarray:
        if not hasattr(self, "params_"):
            raise RuntimeError(f"{type(self).__name__} is not fitted yet; call fit() first")
        return self._log_params

    def survival(self, t) -> np.ndarray:
        """:math:`S(t)`: the share of the cohort still active after period ``t`` (``t >= 0``)."""
        t = np.asarray(t, dtype=float)
        if np.any(t < 0):
            raise ValueError("survival: periods must be >= 0")
        return np.exp(self._log_survival(self._fitted(), t))

    def retention_rate(self, t) -> np.ndarray:
        """:math:`r(t) = S(t) / S(t-1)`: the share of period ``t-1``'s survivors kept in ``t``."""
        t = np.asarray(t, dtype=float)
        if np.any(t < 1):
            raise ValueError("retention_rate: periods must be >= 1")
        log_params = self._fitted()
        return np.exp(self._log_survival(log_params, t) - self._log_survival(log_params, t - 1))

    def project(self, periods: int) -> np.ndarray:
        """Expected survivors after periods 0..``periods`` for the fitted cohort's size."""
        if periods < 0:
            raise ValueError("project: periods must be >= 0")
        return self.cohort_size_ * self.survival(np.arange(periods + 1))


class ShiftedBetaGeometric(_BetaSurvival):
    r"""The shifted-beta-geometric (sBG) retention model (Fader & Hardie 2007).

    .. math::

        P(T = t) = \frac{B(\alpha+1, \beta+t-1)}{B(\alpha, \beta)}, \qquad
        S(t) = \frac{B(\alpha, \beta+t)}{B(\alpha, \beta)}, \qquad
        r(t) = \frac{\beta+t-1}{\alpha+\beta+t-1}.

    Fitted attributes: ``params_`` (alpha, beta), ``se_``, ``log_likelihood_``,
    ``cohort_size_``, ``periods_fitted_``, ``converged_``.
    """

    names = ("alpha", "beta")

    def _log_survival(self, log_params: np.ndarray, t: np.ndarray) -> np.ndarray:
        alpha, beta = np.exp(log_params)
        return scipy.special.betaln(alpha, beta + t) - scipy.special.betaln(alpha, beta)

    def _start(self, survivors: np.ndarray) -> list[np.ndarray]:
        churn = np.clip(1 - survivors[1] / survivors[0], 0.01, 0.99)  # mean theta ~ period 1
        return [np.log([churn, 1 - churn]), np.log([1.0, 1.0]), np.log([0.5, 3.0])]


class BetaDiscreteWeibull(_BetaSurvival):
    r"""The beta-discrete-Weibull (BdW) retention model (Fader et al. 2018).

    .. math::

        S(t) = \frac{B(\alpha, \beta+t^c)}{B(\alpha, \beta)}, \qquad
        P(T = t) = S(t-1) - S(t).

    ``c = 1`` is the sBG; ``c < 1`` adds negative duration dependence (each customer's churn
    risk falls with tenure), ``c > 1`` positive. The fit starts from the sBG optimum with
    ``c = 1`` (as well as from other points), so its log-likelihood is at least the sBG's.

    Fitted attributes: ``params_`` (alpha, beta, c), ``se_``, ``log_likelihood_``,
    ``cohort_size_``, ``periods_fitted_``, ``converged_``.
    """

    names = ("alpha", "beta", "c")

    def _bounds(self) -> list[tuple[float, float]]:
        return [(-_LOG_BOUND, _LOG_BOUND)] * 2 + [(-_LOG_C_BOUND, _LOG_C_BOUND)]

    def _log_survival(self, log_params: np.ndarray, t: np.ndarray) -> np.ndarray:
        alpha, beta, c = np.exp(log_params)
        return scipy.special.betaln(alpha, beta + t**c) - scipy.special.betaln(alpha, beta)

    def _start(self, survivors: np.ndarray) -> list[np.ndarray]:
        sbg = ShiftedBetaGeometric(self.max_iter).fit(survivors)
        nested = np.append(sbg._log_params, 0.0)
        return [nested, nested + np.array([0.0, 0.0, -0.5]), nested + np.array([0.0, 0.0, 0.5])]
