r"""Pareto/NBD and MBG/CNBD-k: two more buy-till-you-die processes for the twin's model choice.

Both take a customer's calibration summary (``x`` repeat purchases, ``t_x`` the time of the last
one, ``T`` the time observed, all from the customer's first event, in one time unit — weeks in
the twin), are fitted by maximum likelihood on the log-parameters with L-BFGS-B over identical
rows collapsed into weights, and give P(alive at T) and the expected purchases in (T, T+t].
Written here (numpy/scipy) rather than taken from a library: ``lifetimes`` is archived,
``btyd`` is a 2022 beta, and PyMC-Marketing's CLV module brings PyMC/PyTensor for what is a
four-parameter maximum-likelihood fit (docs/TWIN.md §3.7). Each likelihood is tested against
published estimates (tests/twin/test_btyd_processes.py).

**Pareto/NBD** (Schmittlein, Morrison & Colombo 1987; Fader, Hardie & Lee 2005b): purchases
Poisson(λ) while alive, lifetime Exponential(μ); λ ~ Gamma(r, α), μ ~ Gamma(s, β). With
C = Γ(r+x) α^r / Γ(r),

.. math::

    L = C \beta^s \left[ \frac{1}{(\beta+T)^s(\alpha+T)^{r+x}}
        + s \int_{t_x}^{T} \frac{d\tau}{(\beta+\tau)^{s+1}(\alpha+\tau)^{r+x}} \right]

(alive at T, or died at τ in (t_x, T]). The integral is computed exactly up to quadrature
error by substituting w = (α+τ)^{-(r+x+s)}, which leaves the smooth bounded integrand
((α+τ)/(β+τ))^{s+1} (24-point Gauss–Legendre; no Gauss hypergeometric function, whose series
fails for some parameter values). Given alive, λ ~ Gamma(r+x, α+T), μ ~ Gamma(s, β+T) and
E[X(t) | alive] = (r+x)(β+T) / ((α+T)(s−1)) · [1 − ((β+T)/(β+T+t))^{s−1}].

**MBG/CNBD-k** (Platzer & Reutterer 2016): inter-purchase times Erlang-k with rate λ per stage
(regular buyers for k > 1; k = 1 is the MBG/NBD of Batislam, Denizel & Filiztekin 2007); after
every purchase, including the first, the customer drops out with probability p;
λ ~ Gamma(r, α), p ~ Beta(a, b). With ``litt`` = Σ log(inter-purchase time) over the x repeat
purchases and Δ = T − t_x,

.. math::

    L = \frac{e^{(k-1)\,\mathrm{litt}}}{((k-1)!)^x}
        \frac{\Gamma(r+kx)\,\alpha^r}{\Gamma(r)}
        \Big[ \frac{B(a+1, b+x)}{B(a,b)} (\alpha+t_x)^{-(r+kx)}
        + \frac{B(a, b+x+1)}{B(a,b)} (\alpha+T)^{-(r+kx)}
          \sum_{j=0}^{k-1} \frac{\Gamma(r+kx+j)}{\Gamma(r+kx)\, j!}
          \Big(\frac{\Delta}{\alpha+T}\Big)^j \Big]

(dropped after the last purchase, or alive and the next Erlang-k gap longer than Δ). k is
chosen by maximum likelihood over 1 … ``max_k``. The forecast given alive treats the remaining
purchases as BG/NBD-like with rate λ/k, λ ~ Gamma(r+kx, α+T) and p ~ Beta(a, b+x+1): exact for
k = 1, an approximation for k > 1 (it ignores the regular timing of the *next* purchase and the
small effect of the survival sum on λ's posterior).
"""

from __future__ import annotations

import math

import numpy as np
import scipy  # submodules load on first use: a run that builds no twin needs none

from sim.twin.bgnbd import collapse_rows, standard_errors

PARETO_PARAMS = ("r", "alpha", "s", "beta")
MBG_PARAMS = ("r", "alpha", "a", "b")
_LOG_BOUND = 15.0
_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(24)


class ProcessFitError(RuntimeError):
    """A process could not be fitted to the data (no customers, no repeat purchases)."""


def _summary_rows(x, tx, big_t, extra=None):
    x = np.asarray(x, np.float64)
    tx = np.asarray(tx, np.float64)
    big_t = np.asarray(big_t, np.float64)
    if not (np.all(x >= 0) and np.all(tx >= 0) and np.all(tx <= big_t * (1 + 1e-12))):
        raise ValueError("need x >= 0 and 0 <= t_x <= T for every customer")
    cols = [x, tx, big_t] + ([] if extra is None else [np.asarray(extra, np.float64)])
    unique, w = collapse_rows(*cols)
    if not w.size or float((w * unique[0]).sum()) == 0:
        raise ProcessFitError("no repeat purchases in the calibration data: nothing to fit")
    return unique, w


def _minimise(nll, start: np.ndarray, jac: bool = False) -> scipy.optimize.OptimizeResult:
    return scipy.optimize.minimize(
        nll, start, jac=jac, method="L-BFGS-B", bounds=[(-_LOG_BOUND, _LOG_BOUND)] * len(start),
        options={"maxiter": 500, "ftol": 1e-13, "gtol": 1e-7},
    )  # fmt: skip


def _start(x, big_t, w) -> np.ndarray:
    rate = max(float(np.dot(w, x)) / max(float(np.dot(w, big_t)), 1e-12), 1e-6)
    return np.log([0.5, 0.5 / rate, 1.0, 2.0])


class _Fitted:
    """Shared bookkeeping: parameters, standard errors, log-likelihood, boundary flag."""

    names: tuple[str, ...] = ()

    def _set(self, log_params: np.ndarray, ll: float, nll, converged: bool, n: float) -> None:
        self.log_params_ = np.asarray(log_params, np.float64)
        self.params_ = dict(zip(self.names, np.exp(self.log_params_).tolist(), strict=True))
        self.log_likelihood_ = float(ll)
        self.converged_ = bool(converged)
        self.n_customers_ = float(n)
        self.at_bound_ = bool(np.any(np.abs(self.log_params_) >= _LOG_BOUND - 1e-6))
        if nll is None:
            se = np.full(len(self.names), np.nan)
        else:
            se, _ = standard_errors(nll, self.log_params_)
        self.se_ = dict(zip(self.names, se.tolist(), strict=True))

    def _values(self) -> tuple[float, ...]:
        if not hasattr(self, "params_"):
            raise ProcessFitError(f"{type(self).__name__} is not fitted yet; call fit() first")
        return tuple(self.params_[k] for k in self.names)


# --------------------------------------------------------------------------- Pareto/NBD


def _pareto_log_terms(log_params: np.ndarray, x, tx, big_t, want_grad: bool = False):
    """(log C·β^s, log of the alive term, log of the died-in-(t_x, T] term) per row; with
    ``want_grad`` also the died term's derivatives in (r, α, s, β), as the integral's weighted
    means of the integrand's log-derivatives (the same quadrature nodes)."""
    r, alpha, s, beta = np.exp(log_params)
    rx = r + x
    m = rx + s
    log_c = (
        scipy.special.gammaln(rx) - scipy.special.gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    )
    alive = -s * np.log(beta + big_t) - rx * np.log(alpha + big_t)
    # ∫_{t_x}^{T} (β+τ)^{-(s+1)} (α+τ)^{-(r+x)} dτ with w' = ((α+t_x)/(α+τ))^m ∈ [ρ, 1]
    log_rho = m * (np.log(alpha + tx) - np.log(alpha + big_t))
    rho = np.exp(log_rho)[:, None]
    u = rho + (1 - rho) * (_NODES[None, :] + 1) / 2  # nodes mapped to [ρ, 1]
    tau = (alpha + tx)[:, None] * u ** (-1.0 / m[:, None]) - alpha
    log_a, log_b = np.log(alpha + tau), np.log(beta + tau)
    g = (s + 1) * (log_a - log_b)
    top = g.max(axis=1, keepdims=True)
    weight = np.exp(g - top) * _WEIGHTS[None, :]
    quad = weight.sum(axis=1) / 2
    with np.errstate(divide="ignore"):
        log_int = (
            -m * np.log(alpha + tx) - np.log(m) + np.log1p(-np.exp(log_rho)) + top[:, 0]
            + np.log(quad)
        )  # fmt: skip
    died = np.where(big_t > tx, np.log(s) + log_int, -np.inf)
    if not want_grad:
        return log_c, alive, died
    share = weight / np.maximum(weight.sum(axis=1, keepdims=True), 1e-300)

    def mean(h: np.ndarray) -> np.ndarray:
        return (share * h).sum(axis=1)

    d_died = np.stack([
        -mean(log_a), -rx * mean(1.0 / (alpha + tau)), 1.0 / s - mean(log_b),
        -(s + 1) * mean(1.0 / (beta + tau)),
    ])  # fmt: skip
    d_alive = np.stack([
        -np.log(alpha + big_t), -rx / (alpha + big_t), -np.log(beta + big_t), -s / (beta + big_t),
    ])  # fmt: skip
    d_c = np.stack([
        scipy.special.digamma(rx) - scipy.special.digamma(r) + np.log(alpha), r / alpha + 0 * x,
        np.log(beta) + 0 * x, s / beta + 0 * x,
    ])  # fmt: skip
    return log_c, alive, died, d_c, d_alive, d_died


def pareto_log_likelihood(log_params: np.ndarray, x, tx, big_t) -> np.ndarray:
    """Per-customer Pareto/NBD log-likelihood at log-parameters (log r, log α, log s, log β)."""
    log_c, alive, died = _pareto_log_terms(
        np.asarray(log_params, np.float64), *(np.asarray(v, np.float64) for v in (x, tx, big_t))
    )
    return log_c + np.logaddexp(alive, died)


def _pareto_nll_and_grad(log_params, x, tx, big_t, w) -> tuple[float, np.ndarray]:
    log_c, alive, died, d_c, d_alive, d_died = _pareto_log_terms(
        log_params, x, tx, big_t, want_grad=True
    )
    total = np.logaddexp(alive, died)
    share_alive = np.exp(alive - total)
    d_died = np.where(np.isfinite(died), d_died, 0.0)
    grad = d_c + share_alive * d_alive + (1 - share_alive) * d_died
    grad = (grad * w).sum(axis=1) * np.exp(log_params)
    return -float(np.dot(w, log_c + total)), -grad


class ParetoNBD(_Fitted):
    """The Pareto/NBD model (module doc): ``fit``, ``probability_alive``,
    ``expected_purchases``; attributes ``params_`` (r, alpha, s, beta), ``se_``,
    ``log_likelihood_``, ``converged_``, ``at_bound_``."""

    names = PARETO_PARAMS

    def fit(self, x, tx, big_t, with_se: bool = True) -> ParetoNBD:
        """Maximum likelihood; ``with_se=False`` skips the standard errors (a numerical
        Hessian), e.g. for the model choice, which only needs the forecasts."""
        (x, tx, big_t), w = _summary_rows(x, tx, big_t)

        def nll(theta: np.ndarray) -> float:
            return -float(np.dot(w, pareto_log_likelihood(theta, x, tx, big_t)))

        def scaled(theta: np.ndarray) -> tuple[float, np.ndarray]:
            value, grad = _pareto_nll_and_grad(theta, x, tx, big_t, w)
            return value / total, grad / total

        total = float(w.sum())
        result = _minimise(scaled, _start(x, big_t, w), jac=True)
        self._set(result.x, -nll(result.x), nll if with_se else None, result.success, total)
        return self

    @classmethod
    def from_params(cls, params: dict[str, float]) -> ParetoNBD:
        model = cls()
        model._set(np.log([params[k] for k in PARETO_PARAMS]), float("nan"), None, True, 0.0)
        return model

    def probability_alive(self, x, tx, big_t) -> np.ndarray:
        _, alive, died = _pareto_log_terms(self.log_params_, *_floats(x, tx, big_t))
        return np.exp(alive - np.logaddexp(alive, died))

    def expected_purchases(self, t, x, tx, big_t) -> np.ndarray:
        """E[purchases in (T, T+t] | x, t_x, T]."""
        r, alpha, s, beta = self._values()
        x, tx, big_t = _floats(x, tx, big_t)
        t = np.asarray(t, np.float64)
        ratio = np.log(beta + big_t) - np.log(beta + big_t + t)
        tail = -ratio if abs(s - 1) < 1e-8 else -np.expm1((s - 1) * ratio) / (s - 1)
        given_alive = (r + x) * (beta + big_t) / (alpha + big_t) * tail
        return self.probability_alive(x, tx, big_t) * given_alive

    def alive_posterior(self, x, big_t) -> dict[str, np.ndarray]:
        """Given alive at T: λ ~ Gamma(shape, rate), μ ~ Gamma(shape, rate)."""
        r, alpha, s, beta = self._values()
        x, big_t = _floats(x, big_t)
        return {"rate_shape": r + x, "rate_rate": alpha + big_t,
                "death_shape": np.full(x.shape, s), "death_rate": beta + big_t}  # fmt: skip


def _floats(*arrays):
    return tuple(np.asarray(a, np.float64) for a in arrays)


# --------------------------------------------------------------------------- MBG/CNBD-k


def mbgcnbd_log_likelihood(log_params: np.ndarray, k: int, x, tx, big_t, litt) -> np.ndarray:
    """Per-customer MBG/CNBD-k log-likelihood at (log r, log α, log a, log b)."""
    r, alpha, a, b = np.exp(np.asarray(log_params, np.float64))
    x, tx, big_t, litt = _floats(x, tx, big_t, litt)
    rk = r + k * x
    head = (
        (k - 1) * litt - x * math.lgamma(k) + scipy.special.gammaln(rk) - scipy.special.gammaln(r)
        + r * np.log(alpha) - scipy.special.betaln(a, b)
    )  # fmt: skip
    dropped = scipy.special.betaln(a + 1, b + x) - rk * np.log(alpha + tx)
    ratio = (big_t - tx) / (alpha + big_t)
    term = np.ones_like(x)
    total = np.ones_like(x)
    for j in range(1, k):
        term = term * (rk + j - 1) / j * ratio
        total = total + term
    alive = scipy.special.betaln(a, b + x + 1) - rk * np.log(alpha + big_t) + np.log(total)
    return head + np.logaddexp(dropped, alive)


def _mbg_alive_share(log_params, k, x, tx, big_t) -> np.ndarray:
    r, alpha, a, b = np.exp(np.asarray(log_params, np.float64))
    rk = r + k * x
    ratio = (big_t - tx) / (alpha + big_t)
    term = np.ones_like(x)
    total = np.ones_like(x)
    for j in range(1, k):
        term = term * (rk + j - 1) / j * ratio
        total = total + term
    dropped = scipy.special.betaln(a + 1, b + x) - rk * np.log(alpha + tx)
    alive = scipy.special.betaln(a, b + x + 1) - rk * np.log(alpha + big_t) + np.log(total)
    return np.exp(alive - np.logaddexp(dropped, alive))


class MBGCNBD(_Fitted):
    """The MBG/CNBD-k model (module doc). ``fit(x, tx, T, litt)`` chooses k in 1 … ``max_k``
    by likelihood (or uses ``k``); attributes ``k_``, ``params_`` (r, alpha, a, b), ``se_``,
    ``log_likelihood_``, ``log_likelihood_by_k_``."""

    names = MBG_PARAMS

    def __init__(self, k: int | None = None, max_k: int = 6) -> None:
        self.k = k
        self.max_k = max_k

    def fit(self, x, tx, big_t, litt, with_se: bool = True) -> MBGCNBD:
        (x, tx, big_t, litt), w = _summary_rows(x, tx, big_t, litt)
        total = float(w.sum())
        best = None
        self.log_likelihood_by_k_ = {}
        for k in [self.k] if self.k else range(1, self.max_k + 1):

            def nll(theta, k=k):
                return -float(np.dot(w, mbgcnbd_log_likelihood(theta, k, x, tx, big_t, litt)))

            result = _minimise(lambda t, f=nll: f(t) / total, _start(x, big_t, w))
            ll = -nll(result.x)
            self.log_likelihood_by_k_[k] = ll
            if best is None or ll > best[0]:
                best = (ll, k, result, nll)
            elif self.k is None and ll < best[0] - 5:
                break  # past the best k by a clear margin
        ll, k, result, nll = best
        self.k_ = int(k)
        self._set(result.x, ll, nll if with_se else None, result.success, total)
        return self

    @classmethod
    def from_params(cls, params: dict[str, float], k: int) -> MBGCNBD:
        model = cls(k=k)
        model.k_ = int(k)
        model._set(np.log([params[n] for n in MBG_PARAMS]), float("nan"), None, True, 0.0)
        return model

    def probability_alive(self, x, tx, big_t) -> np.ndarray:
        self._values()
        return _mbg_alive_share(self.log_params_, self.k_, *_floats(x, tx, big_t))

    def expected_purchases(self, t, x, tx, big_t) -> np.ndarray:
        """E[purchases in (T, T+t] | history] (exact for k = 1; module doc)."""
        r, alpha, a, b = self._values()
        x, tx, big_t = _floats(x, tx, big_t)
        given_alive = bg_expected_new(t, r + self.k_ * x, self.k_ * (alpha + big_t), a, b + x + 1)
        return self.probability_alive(x, tx, big_t) * given_alive

    def alive_posterior(self, x, big_t) -> dict[str, np.ndarray]:
        """Given alive at T (approximately, for k > 1): the purchase rate λ/k ~ Gamma(shape,
        rate) and the dropout chance after each purchase ~ Beta(drop_a, drop_b)."""
        r, alpha, a, b = self._values()
        x, big_t = _floats(x, big_t)
        return {"rate_shape": r + self.k_ * x, "rate_rate": self.k_ * (alpha + big_t),
                "drop_a": np.full(x.shape, a), "drop_b": b + x + 1}  # fmt: skip


def bg_expected_new(t, r, alpha, a, b) -> np.ndarray:
    """BG/NBD's E[X(t)] for a customer alive at time 0 with λ ~ Gamma(r, α), p ~ Beta(a, b)
    (Fader, Hardie & Lee 2005 eq. 9), elementwise."""
    t, r, alpha, a, b = np.broadcast_arrays(*_floats(t, r, alpha, a, b))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        hyp = scipy.special.hyp2f1(r, b, a + b - 1, t / (alpha + t))
        out = (a + b - 1) / (a - 1) * (1 - np.exp(r * (np.log(alpha) - np.log(alpha + t))) * hyp)
    return np.where(t > 0, np.nan_to_num(out), 0.0)
