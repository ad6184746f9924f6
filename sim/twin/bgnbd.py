r"""The BG/NBD model of repeat buying (Fader, Hardie & Lee 2005), the twin's reference forecast.

Each customer, while alive, buys as a Poisson process with rate :math:`\lambda`; after every
repeat purchase they drop out with probability :math:`p`. Across customers
:math:`\lambda \sim \mathrm{Gamma}(r, \alpha)` (shape :math:`r`, rate :math:`\alpha`) and
:math:`p \sim \mathrm{Beta}(a, b)`. A customer's calibration history is summarised by
:math:`x` (repeat purchases), :math:`t_x` (time of the last one, measured from the first purchase;
0 if :math:`x = 0`) and :math:`T` (time from the first purchase to the end of calibration), in any
one time unit (days, weeks).

:class:`BGNBD` fits :math:`(r, \alpha, a, b)` by maximum likelihood (eq. 6 of the paper) on the
log-parameters with L-BFGS-B and an analytic gradient; identical :math:`(x, t_x, T)` rows are
collapsed into weights first, so a million customers fit in seconds. Standard errors come from
the inverse of a numerical Hessian of the negative log-likelihood on the log scale, mapped back
by the delta method (:func:`standard_errors`, shared with the retention models).

Reference: P. S. Fader, B. G. S. Hardie and K. L. Lee (2005), "'Counting Your Customers' the Easy
Way: An Alternative to the Pareto/NBD Model", *Marketing Science* 24(2), 275-284; the CDNOW
sample estimates there are r = 0.243, alpha = 4.414, a = 0.793, b = 2.426 (time in weeks).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import scipy  # submodules load on first use: a run that builds no twin needs none

PARAMS = ("r", "alpha", "a", "b")
_LOG_BOUND = 20.0  # log-parameters are kept in [-20, 20]


def hessian_from_values(
    f: Callable[[np.ndarray], float], x: np.ndarray, step: float = 1e-4
) -> np.ndarray:
    """Central-difference Hessian of a scalar function from its values (second differences;
    :func:`sim.twin.model.hessian_from_gradient` differences an analytic gradient instead).

    Parameters
    ----------
    f
        The function (e.g. a negative log-likelihood of log-parameters).
    x
        Where to take the Hessian.
    step
        The difference step in each coordinate (absolute; use log-parameters for scale-free
        steps).

    Returns
    -------
    numpy.ndarray
        The symmetric ``len(x) x len(x)`` matrix of second derivatives.
    """
    x = np.asarray(x, dtype=float)
    n = len(x)
    hess = np.empty((n, n))
    f0 = f(x)
    for i in range(n):
        ei = np.zeros(n)
        ei[i] = step
        hess[i, i] = (f(x + ei) - 2 * f0 + f(x - ei)) / step**2
        for j in range(i):
            ej = np.zeros(n)
            ej[j] = step
            value = (f(x + ei + ej) - f(x + ei - ej) - f(x - ei + ej) + f(x - ei - ej)) / (
                4 * step**2
            )
            hess[i, j] = hess[j, i] = value
    return hess


def standard_errors(
    negative_log_likelihood: Callable[[np.ndarray], float], log_params: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Standard errors of the parameters and of their logs from the observed information.

    Returns ``(se, se_log)``: ``se_log`` from the inverse Hessian of the negative log-likelihood
    in the log-parameters, ``se = exp(log_params) * se_log`` (delta method). NaN where the
    Hessian is singular or not positive definite (a parameter the data cannot pin down).
    """
    hess = hessian_from_values(negative_log_likelihood, log_params)
    try:
        cov = np.linalg.inv(hess)
        variances = np.diag(cov)
    except np.linalg.LinAlgError:
        variances = np.full(len(log_params), np.nan)
    se_log = np.sqrt(np.where(variances > 0, variances, np.nan))
    return np.exp(log_params) * se_log, se_log


def collapse_rows(*columns: np.ndarray, weights: np.ndarray | None = None):
    """Identical rows merged: the unique rows (one array per column, sorted) and their weights."""
    frame = pd.DataFrame({k: np.asarray(c, dtype=float) for k, c in enumerate(columns)})
    frame["weight"] = 1.0 if weights is None else np.asarray(weights, dtype=float)
    totals = frame.groupby(list(range(len(columns))), sort=True)["weight"].sum()
    unique = [totals.index.get_level_values(k).to_numpy() for k in range(len(columns))]
    return unique, totals.to_numpy()


def _check_rfm(frequency, recency, T, weights=None):
    x = np.asarray(frequency, dtype=float)
    tx = np.asarray(recency, dtype=float)
    big_t = np.asarray(T, dtype=float)
    x, tx, big_t = np.broadcast_arrays(x, tx, big_t)
    problems = []
    if not np.all(np.isfinite(x) & np.isfinite(tx) & np.isfinite(big_t)):
        problems.append("frequency, recency and T must be finite")
    elif np.any(x < 0) or np.any(x != np.round(x)):
        problems.append("frequency must be a whole number >= 0 (repeat purchases)")
    elif np.any(tx < 0) or np.any(tx > big_t * (1 + 1e-12)):
        problems.append("recency must be within [0, T]")
    elif np.any((x == 0) & (tx != 0)):
        problems.append("recency must be 0 for customers with frequency 0")
    elif np.any(big_t <= 0):
        problems.append("T must be > 0")
    w = None
    if weights is not None:
        w = np.broadcast_to(np.asarray(weights, dtype=float), x.shape)
        if not np.all(np.isfinite(w) & (w >= 0)):
            problems.append("weights must be finite and >= 0")
    if problems:
        raise ValueError("BG/NBD: " + "; ".join(problems))
    return x, tx, big_t, w


def _log_likelihood_terms(log_params: np.ndarray, x, tx, big_t):
    """Per-row log-likelihood and the pieces the gradient needs."""
    r, alpha, a, b = np.exp(log_params)
    a1 = scipy.special.gammaln(r + x) - scipy.special.gammaln(r) + r * np.log(alpha)
    a2 = (
        scipy.special.gammaln(a + b)
        + scipy.special.gammaln(b + x)
        - scipy.special.gammaln(b)
        - scipy.special.gammaln(a + b + x)
    )
    a3 = -(r + x) * np.log(alpha + big_t)
    repeat = x > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        a4 = np.where(
            repeat,
            np.log(a) - np.log(np.where(repeat, b + x - 1, 1.0)) - (r + x) * np.log(alpha + tx),
            -np.inf,
        )
    ll = a1 + a2 + np.logaddexp(a3, a4)
    w4 = np.exp(a4 - np.logaddexp(a3, a4))  # share of the 'dropped out after t_x' term
    return ll, w4


def _negative_log_likelihood(log_params, x, tx, big_t, w) -> float:
    ll, _ = _log_likelihood_terms(log_params, x, tx, big_t)
    return -float(np.dot(w, ll))


def _negative_log_likelihood_and_gradient(log_params, x, tx, big_t, w):
    r, alpha, a, b = np.exp(log_params)
    ll, w4 = _log_likelihood_terms(log_params, x, tx, big_t)
    w3 = 1.0 - w4
    log_alpha_t = np.log(alpha + big_t)
    log_alpha_tx = np.log(alpha + tx)
    psi = scipy.special.digamma
    d_r = psi(r + x) - psi(r) + np.log(alpha) - w3 * log_alpha_t - w4 * log_alpha_tx
    d_alpha = r / alpha - (r + x) * (w3 / (alpha + big_t) + w4 / (alpha + tx))
    d_a = psi(a + b) - psi(a + b + x) + w4 / a
    with np.errstate(divide="ignore", invalid="ignore"):
        last = np.where(x > 0, w4 / np.where(x > 0, b + x - 1, 1.0), 0.0)
    d_b = psi(a + b) + psi(b + x) - psi(b) - psi(a + b + x) - last
    grad = np.array([np.dot(w, d) for d in (d_r, d_alpha, d_a, d_b)])
    grad *= np.array([r, alpha, a, b])  # chain rule to the log-parameters
    return -float(np.dot(w, ll)), -grad


def _start(x, tx, big_t, w) -> np.ndarray:
    """A scale-aware start: r = 1 and alpha from the mean repeat-purchase rate."""
    rate = max(np.dot(w, x) / max(np.dot(w, big_t), 1e-12), 1e-6)
    return np.log([1.0, 1.0 / rate, 1.0, 2.0])


class BGNBD:
    r"""The BG/NBD model, fitted by maximum likelihood.

    Parameters are learnt by :meth:`fit`; results are attributes ending in ``_``:
    ``params_`` (dict r, alpha, a, b), ``se_`` (their standard errors), ``log_likelihood_``,
    ``n_customers_``, ``converged_``.

    The likelihood of one customer (eq. 6 of Fader, Hardie & Lee 2005) is

    .. math::

        L = \frac{B(a, b+x)}{B(a, b)} \frac{\Gamma(r+x)\,\alpha^r}{\Gamma(r)\,(\alpha+T)^{r+x}}
          + \delta_{x>0} \frac{B(a+1, b+x-1)}{B(a, b)}
            \frac{\Gamma(r+x)\,\alpha^r}{\Gamma(r)\,(\alpha+t_x)^{r+x}} .

    Examples
    --------
    >>> model = BGNBD().fit([0, 2, 5], [0.0, 20.0, 35.0], [39.0, 39.0, 39.0])  # doctest: +SKIP
    >>> model.expected_purchases(52, 2, 20.0, 39.0)  # doctest: +SKIP
    """

    def __init__(self, tol: float = 1e-9, max_iter: int = 1000) -> None:
        self.tol = tol
        self.max_iter = max_iter

    # ------------------------------------------------------------------ fitting

    def fit(self, frequency, recency, T, weights=None, with_se: bool = True) -> BGNBD:
        """Fit by maximum likelihood.

        Parameters
        ----------
        frequency
            Repeat purchases in the calibration period, per customer.
        recency
            Time of the last repeat purchase since the first purchase (0 if none).
        T
            Time since the first purchase to the end of the calibration period.
        weights
            Optional count of customers with each ``(frequency, recency, T)``; rows are
            collapsed internally either way.

        Returns
        -------
        BGNBD
            ``self``, fitted.
        """
        x, tx, big_t, w = _check_rfm(frequency, recency, T, weights)
        (x, tx, big_t), w = collapse_rows(x.ravel(), tx.ravel(), big_t.ravel(), weights=w)
        keep = w > 0
        x, tx, big_t, w = x[keep], tx[keep], big_t[keep], w[keep]
        if not len(w):
            raise ValueError("BG/NBD: no customers to fit")
        args = (x, tx, big_t, w)
        result = scipy.optimize.minimize(
            _negative_log_likelihood_and_gradient,
            _start(*args),
            args=args,
            jac=True,
            method="L-BFGS-B",
            bounds=[(-_LOG_BOUND, _LOG_BOUND)] * 4,
            options={"maxiter": self.max_iter, "ftol": self.tol * 1e-3, "gtol": 1e-8},
        )
        self._set_fit(result, args, with_se)
        return self

    @classmethod
    def from_params(cls, r: float, alpha: float, a: float, b: float) -> BGNBD:
        """A model with given parameters (e.g. published or saved ones), for predictions only.

        Standard errors are NaN and ``log_likelihood_`` is None: nothing was fitted.
        """
        values = np.array([r, alpha, a, b], dtype=float)
        if not np.all(np.isfinite(values) & (values > 0)):
            raise ValueError(f"BG/NBD: r, alpha, a, b must be > 0; got {values.tolist()}")
        model = cls()
        model.params_ = dict(zip(PARAMS, values.tolist(), strict=True))
        model.se_ = dict.fromkeys(PARAMS, float("nan"))
        model.log_likelihood_ = None
        model.converged_ = True
        model.n_customers_ = 0.0
        model._log_params = np.log(values)
        model._se_log = np.full(4, np.nan)
        return model

    def _set_fit(self, result, args, with_se: bool = True) -> None:
        log_params = result.x
        self.params_ = dict(zip(PARAMS, np.exp(log_params).tolist(), strict=True))
        self.log_likelihood_ = -float(result.fun)
        self.converged_ = bool(result.success)
        self.n_customers_ = float(args[3].sum())
        if with_se:
            se, se_log = standard_errors(lambda p: _negative_log_likelihood(p, *args), log_params)
        else:  # not needed (the model choice): skip the numerical Hessian
            se = se_log = np.full(len(PARAMS), np.nan)
        self.se_ = dict(zip(PARAMS, se.tolist(), strict=True))
        self._log_params = log_params
        self._se_log = se_log

    def _params(self) -> tuple[float, float, float, float]:
        if not hasattr(self, "params_"):
            raise RuntimeError("BGNBD is not fitted yet; call fit() first")
        return tuple(self.params_[k] for k in PARAMS)

    # ------------------------------------------------------------------ predictions

    def probability_alive(self, frequency, recency, T) -> np.ndarray:
        r"""P(alive at T | x, t_x, T) (eq. 11 of the paper).

        .. math:: \left[1 + \delta_{x>0} \frac{a}{b+x-1}
                  \left(\frac{\alpha+T}{\alpha+t_x}\right)^{r+x}\right]^{-1}
        """
        r, alpha, a, b = self._params()
        x, tx, big_t, _ = _check_rfm(frequency, recency, T)
        return 1.0 / (1.0 + self._odds_dropped(x, tx, big_t, r, alpha, a, b))

    @staticmethod
    def _odds_dropped(x, tx, big_t, r, alpha, a, b) -> np.ndarray:
        repeat = x > 0
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            log_odds = (
                np.log(a)
                - np.log(np.where(repeat, b + x - 1, 1.0))
                + (r + x) * (np.log(alpha + big_t) - np.log(alpha + tx))
            )
        return np.where(repeat, np.exp(log_odds), 0.0)

    def expected_purchases(self, t, frequency, recency, T) -> np.ndarray:
        r"""Expected purchases in :math:`(T, T+t]` given the history (eq. 10 of the paper).

        .. math::

            E[Y(t) \mid x, t_x, T] = \frac{a+b+x-1}{a-1}
            \frac{1 - \left(\frac{\alpha+T}{\alpha+T+t}\right)^{r+x}
                      {}_2F_1\!\left(r+x, b+x; a+b+x-1; \frac{t}{\alpha+T+t}\right)}
                 {1 + \delta_{x>0} \frac{a}{b+x-1}
                      \left(\frac{\alpha+T}{\alpha+t_x}\right)^{r+x}}
        """
        r, alpha, a, b = self._params()
        x, tx, big_t, _ = _check_rfm(frequency, recency, T)
        t = np.broadcast_to(np.asarray(t, dtype=float), x.shape)
        if np.any(t < 0):
            raise ValueError("BG/NBD: the forecast horizon t must be >= 0")
        z = t / (alpha + big_t + t)
        with np.errstate(divide="ignore", invalid="ignore"):
            shrink = np.exp((r + x) * (np.log(alpha + big_t) - np.log(alpha + big_t + t)))
            hyp = scipy.special.hyp2f1(r + x, b + x, a + b + x - 1, z)
            numerator = (a + b + x - 1) / (a - 1) * (1 - shrink * hyp)
        value = numerator / (1.0 + self._odds_dropped(x, tx, big_t, r, alpha, a, b))
        return np.where(t == 0, 0.0, value)

    def expected_purchases_new(self, t) -> np.ndarray:
        r"""Unconditional expected purchases by a new customer in :math:`(0, t]` (eq. 9).

        .. math:: E[X(t)] = \frac{a+b-1}{a-1}\left[1 - \left(\frac{\alpha}{\alpha+t}\right)^r
                  {}_2F_1\!\left(r, b; a+b-1; \frac{t}{\alpha+t}\right)\right]
        """
        r, alpha, a, b = self._params()
        t = np.asarray(t, dtype=float)
        if np.any(t < 0):
            raise ValueError("BG/NBD: t must be >= 0")
        hyp = scipy.special.hyp2f1(r, b, a + b - 1, t / (alpha + t))
        return (a + b - 1) / (a - 1) * (1 - (alpha / (alpha + t)) ** r * hyp)

    # ------------------------------------------------------------------ reporting

    def summary(self) -> pd.DataFrame:
        """Estimates, standard errors and 95% intervals (from the log scale, so always > 0)."""
        self._params()
        lower = np.exp(self._log_params - 1.96 * self._se_log)
        upper = np.exp(self._log_params + 1.96 * self._se_log)
        return pd.DataFrame(
            {
                "estimate": [self.params_[k] for k in PARAMS],
                "se": [self.se_[k] for k in PARAMS],
                "lower_95": lower,
                "upper_95": upper,
            },
            index=pd.Index(PARAMS, name="parameter"),
        )

    def print_summary(self) -> None:
        """Print the estimates, their uncertainty and the fit statistics."""
        print("BG/NBD (Fader, Hardie & Lee 2005), maximum likelihood")
        ll = "n/a" if self.log_likelihood_ is None else f"{self.log_likelihood_:.3f}"
        print(f"customers: {self.n_customers_:.0f}   log-likelihood: {ll}")
        print(f"converged: {self.converged_}")
        print(self.summary().to_string(float_format=lambda v: f"{v:.4g}"))
