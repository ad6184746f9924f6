"""The twin's individual-level model: who is still there, who still buys, how often, how much.

Days are opportunities, as in the simulator's daily step. User *i* is born on its first day
(:mod:`sim.twin.rfm`); on each later day, while it is still in the private domain (*present*)
and has not stopped buying (*buying*), it buys with probability p_i. Two clocks end this:

* it **leaves** the private domain (deletes or blocks the account) at the start of a day with
  probability θ_i — the simulator's churn; a share ρ of leaves is recorded as ``leave`` events;
* it **stops buying** for good while staying (a silent contact, 沉默用户) with probability ω_i.

On a present day without a purchase it is *seen* (active, open, message) with probability s_i::

    p ~ Beta(α, β)   ω ~ Beta(γ, δ)   θ ~ Beta(κ, λ)   s ~ Beta(ε, ζ)   independent

Without activity and leave events nothing tells leaving from stopping buying, the presence clock
is dropped and the model is exactly the BG/BB of Fader, Hardie & Shang (2010) with days as
opportunities (α, β, γ, δ). With them — evidence BG/NBD cannot use — the twin knows who left
(a recorded leave), who was certainly still there on day ``t_a`` (seen), and how unusual a
user's silence since then is given its own activity rate.

**Likelihood.** With ``x`` purchase days among ``n`` observed days, the last on day ``t_x``,
``y`` seen days without a purchase and the last sighting on ``t_a`` ≥ ``t_x``: let
A(m) = B(α+x, β+m−x)/B(α,β) (x purchases on m buying days), Ω(m) = B(γ, δ+m)/B(γ,δ) (still
buying after m days), Ω⁺(m) = B(γ+1, δ+m)/B(γ,δ) (stopped after exactly m), and likewise C, C⁺
for leaving with (κ, λ), Act(j) = B(ε+y, ζ+j−x−y)/B(ε,ζ). A user present for j days bought
according to Pur(j) = Σ_{m=t_x}^{j−1} A(m)·Ω⁺(m) + A(j)·Ω(j), and::

    L = C(n)·Act(n)·Pur(n)                                    present through n
        + Σ_{j=t_a}^{n−1} (1−ρ)·C⁺(j)·Act(j)·Pur(j)           left after day j, unrecorded

or ρ·C⁺(j)·Act(j)·Pur(j) alone when the leave was recorded on day j. The log-likelihood and its
gradient come from one compiled pass over the distinct (x, y, t_x, t_a, n, leave) histories,
weighted by how many users share each, with the recursions B(a, b+1) = B(a, b)·b/(a+b) and
ψ(z+1) = ψ(z) + 1/z along the days (cost ∝ n − t_x per history), so a million users fit in
minutes. Maximum likelihood on log-parameters (logit for ρ), L-BFGS-B; standard errors from the
inverse of the numerical Hessian (central differences of the analytic gradient), mapped by the
delta method; 95% intervals are the back-transformed ±1.96 SE intervals.

**Each user's state.** P(present) = (first term)/L; P(present and buying) =
C(n)·Act(n)·A(n)·Ω(n)/L; given both, p ~ Beta(α+x, β+n−x), ω ~ Beta(γ, δ+n),
θ ~ Beta(κ, λ+n), so purchases in the next h days have expectation
E[X(h)] = P(present and buying) · (α+x)/(α+β+n) · Σ_{k=1}^{h} E[(1−ω)^k]·E[(1−θ)^k].

**Spend per purchase day** — Gamma–Gamma (Fader, Hardie & Lee 2005, "RFM and CLV"): spend z ~
Gamma(shape p, rate ν_i), ν_i ~ Gamma(shape q, rate v), independent of the purchase process;
fitted on the mean spend of each buyer's counted purchase days (users with x > 0 and positive
spend). E[z | x, m̄] = p (v + x m̄) / (p x + q − 1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy  # submodules load on first use: a run that builds no twin needs none
from numba import njit, prange

from sim.errors import FitError
from sim.twin.bgnbd import hessian_from_values

Z95 = 1.959963984540054
BUY_PARAMS = ("alpha", "beta", "gamma", "delta")
PRESENCE_PARAMS = ("kappa", "lambda")
ACTIVITY_PARAMS = ("epsilon", "zeta")
LEAVE_PARAMS = ("rho",)
ALL_PARAMS = BUY_PARAMS + PRESENCE_PARAMS + ACTIVITY_PARAMS + LEAVE_PARAMS
SPEND_PARAMS = ("p", "q", "v")
KEY_COLUMNS = ("x", "y", "t_x", "t_a", "n", "dead_at")
_LOG_BOUNDS = (-12.0, 16.0)
_UNUSED = {"kappa": 1.0, "lambda": 1.0, "epsilon": 1.0, "zeta": 1.0, "rho": 0.5}


# --------------------------------------------------------------------------- compiled kernels


@njit(cache=True)
def _digamma(x: float) -> float:
    r = 0.0
    while x < 6.0:
        r -= 1.0 / x
        x += 1.0
    f = 1.0 / (x * x)
    tail = f * (1.0 / 12 - f * (1.0 / 120 - f * (1.0 / 252 - f * (1.0 / 240 - f / 132))))
    return r + math.log(x) - 0.5 / x - tail


@njit(cache=True)
def _lbeta(a: float, b: float) -> float:
    return math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)


@njit(cache=True)
def _constants(P):
    """log B and digammas of the population parameters, shared by every history."""
    a, b, g, d, k, lm, e, z = P[0], P[1], P[2], P[3], P[4], P[5], P[6], P[7]
    return np.array([
        _lbeta(a, b), _lbeta(g, d), _lbeta(k, lm), _lbeta(e, z),
        _digamma(a), _digamma(b), _digamma(a + b),
        _digamma(g), _digamma(d), _digamma(g + d),
        _digamma(k), _digamma(lm), _digamma(k + lm),
        _digamma(e), _digamma(z), _digamma(e + z),
    ])  # fmt: skip


@njit(cache=True)
def _one_history(P, C, presence, act, leaves, x, y, tx, ta, n, dead, want_grad, grad):
    """Log-likelihood of one history (returned); its gradient (natural parameters) into
    ``grad[0:9]``; P(present at the end) into grad[9] and P(present and buying) into grad[10]."""
    a, b, g, d, k, lm, e, z, rho = P[0], P[1], P[2], P[3], P[4], P[5], P[6], P[7], P[8]
    end = dead if dead >= 0 else n
    jx = float(tx)
    # purchase part, relative to its value at t_x: A(j) and Ω(j); cum = Σ A(m)·Ω⁺(m)
    base = _lbeta(a + x, b + jx - x) - C[0] + _lbeta(g, d + jx) - C[1]
    A = 1.0
    OA = 1.0
    da_a = da_b = do_g = do_d = 0.0
    if want_grad:
        s_ab = _digamma(a + b + jx)
        s_gd = _digamma(g + d + jx)
        da_a = _digamma(a + x) - s_ab - C[4] + C[6]
        da_b = _digamma(b + jx - x) - s_ab - C[5] + C[6]
        do_g = C[9] - s_gd
        do_d = _digamma(d + jx) - s_gd - C[8] + C[9]
    cum = 0.0
    dcum = np.zeros(4)
    dpur = np.zeros(4)
    # presence part (from t_a on), relative to its value at t_a: C(j)·Act(j)
    c = 1.0
    ac = 1.0
    dc_k = dc_l = dac_e = dac_z = 0.0
    S = 0.0
    dS = np.zeros(9)
    t_alive = 0.0
    t_buying = 0.0
    for jj in range(tx, end + 1):
        j = float(jj)
        pur = cum + A * OA
        if want_grad:
            w = A * OA
            dpur[0] = dcum[0] + w * da_a
            dpur[1] = dcum[1] + w * da_b
            dpur[2] = dcum[2] + w * do_g
            dpur[3] = dcum[3] + w * do_d
        if jj == ta:
            if presence:
                base += _lbeta(k, lm + j) - C[2]
                if want_grad:
                    s_kl = _digamma(k + lm + j)
                    dc_k = C[12] - s_kl
                    dc_l = _digamma(lm + j) - s_kl - C[11] + C[12]
            if act:
                base += _lbeta(e + y, z + j - x - y) - C[3]
                if want_grad:
                    s_ez = _digamma(e + z + j - x)
                    dac_e = _digamma(e + y) - s_ez - C[13] + C[15]
                    dac_z = _digamma(z + j - x - y) - s_ez - C[14] + C[15]
        if jj >= ta:
            if presence and (jj < end if dead < 0 else jj == end):  # left after day j
                i_kl = 1.0 / (k + lm + j)
                factor = 1.0
                if leaves:
                    factor = rho if dead >= 0 else 1.0 - rho
                scale = factor * c * k * i_kl * ac
                t = scale * pur
                S += t
                if want_grad:
                    for q in range(4):
                        dS[q] += scale * dpur[q]
                    dS[4] += t * (dc_k + 1.0 / k - i_kl)
                    dS[5] += t * (dc_l - i_kl)
                    dS[6] += t * dac_e
                    dS[7] += t * dac_z
                    if leaves:
                        dS[8] += t / rho if dead >= 0 else -t / (1.0 - rho)
            if jj == n and dead < 0:  # present through n
                scale = c * ac
                t = scale * pur
                S += t
                t_alive = t
                t_buying = scale * A * OA
                if want_grad:
                    for q in range(4):
                        dS[q] += scale * dpur[q]
                    dS[4] += t * dc_k
                    dS[5] += t * dc_l
                    dS[6] += t * dac_e
                    dS[7] += t * dac_z
        if jj == end:
            break
        # advance to day j+1
        i_gd = 1.0 / (g + d + j)
        w = A * OA * g * i_gd  # A(j)·Ω⁺(j)
        cum += w
        if want_grad:
            dcum[0] += w * da_a
            dcum[1] += w * da_b
            dcum[2] += w * (do_g + 1.0 / g - i_gd)
            dcum[3] += w * (do_d - i_gd)
        i_ab = 1.0 / (a + b + j)
        u_b = b + j - x
        A *= u_b * i_ab
        OA *= (d + j) * i_gd
        if want_grad:
            da_a -= i_ab
            da_b += 1.0 / u_b - i_ab
            do_g -= i_gd
            do_d += 1.0 / (d + j) - i_gd
        if jj >= ta:
            if presence:
                i_kl = 1.0 / (k + lm + j)
                c *= (lm + j) * i_kl
                if want_grad:
                    dc_k -= i_kl
                    dc_l += 1.0 / (lm + j) - i_kl
            if act:
                u_z = z + j - x - y
                i_ez = 1.0 / (e + z + j - x)
                ac *= u_z * i_ez
                if want_grad:
                    dac_e -= i_ez
                    dac_z += 1.0 / u_z - i_ez
    if want_grad:
        for q in range(9):
            grad[q] = dS[q] / S
    grad[9] = t_alive / S
    grad[10] = t_buying / S
    return base + math.log(S)


@njit(cache=True, parallel=True)
def _kernel(P, presence, act, leaves, x, y, tx, ta, n, dead, want_grad, ll, out):
    """Per history: log-likelihood into ``ll``; gradient, P(present), P(present and buying)
    into the rows of ``out`` (k × 11)."""
    C = _constants(P)
    for i in prange(x.shape[0]):
        ll[i] = _one_history(P, C, presence, act, leaves, float(x[i]), float(y[i]), tx[i],
                             ta[i], n[i], dead[i], want_grad, out[i])  # fmt: skip


# --------------------------------------------------------------------------- histories


@dataclass
class Patterns:
    """Distinct (x, y, t_x, t_a, n, dead_at) histories, their counts, and each user's row."""

    x: np.ndarray
    y: np.ndarray
    t_x: np.ndarray
    t_a: np.ndarray
    n: np.ndarray
    dead_at: np.ndarray
    weight: np.ndarray
    inverse: np.ndarray

    def __len__(self) -> int:
        return int(self.x.shape[0])


def patterns(stats: pd.DataFrame, activity: str = "rate", use_leave: bool = True) -> Patterns:
    """Deduplicate users by their sufficient statistics (after checking them).

    ``activity``: ``"rate"`` uses the seen days ``y`` and the last sighting ``t_a``;
    ``"bound"`` only ``t_a`` (present at least until then); ``"off"`` neither (``t_a`` =
    ``t_x``). ``use_leave=False`` ignores recorded leaves. ``"off"`` without leaves is BG/BB.
    """
    _check_activity(activity)
    cols = {}
    for name in KEY_COLUMNS:
        if name not in stats.columns:
            raise ValueError(f"statistics lack column {name!r} (see sim.twin.rfm.user_statistics)")
        cols[name] = stats[name].to_numpy(dtype=np.int64)
    x, t_x, n = cols["x"], cols["t_x"], cols["n"]
    y = cols["y"] if activity == "rate" else np.zeros_like(x)
    t_a = cols["t_a"] if activity != "off" else t_x.copy()
    dead = cols["dead_at"] if use_leave else np.full_like(x, -1)
    _check_patterns(x, y, t_x, t_a, n, dead)
    n = np.where(dead >= 0, dead, n)  # days after a recorded leave do not matter: merge them
    keys = pd.DataFrame({"x": x, "y": y, "t_x": t_x, "t_a": t_a, "n": n, "dead": dead})
    inverse = keys.groupby(list(keys.columns), sort=True).ngroup().to_numpy(np.int64)
    counts = np.bincount(inverse)
    first = np.zeros(counts.size, np.int64)
    first[inverse[::-1]] = np.arange(inverse.size - 1, -1, -1)  # first row of each history
    uniq = keys.to_numpy(np.int64)[first]
    return Patterns(
        *(np.ascontiguousarray(uniq[:, i]) for i in range(6)),
        weight=counts.astype(np.float64),
        inverse=inverse,
    )


ACTIVITY_MODES = ("rate", "bound", "off")


def _check_activity(activity: str) -> None:
    if activity not in ACTIVITY_MODES:
        raise ValueError(f"activity must be one of {ACTIVITY_MODES}; got {activity!r}")


def _check_patterns(x, y, t_x, t_a, n, dead) -> None:
    problems = {
        "x >= 0 and y >= 0": (x < 0) | (y < 0),
        "x <= t_x (one purchase a day)": x > t_x,
        "t_x <= t_a": t_x > t_a,
        "x + y <= t_a": x + y > t_a,
        "t_a <= n": t_a > n,
        "t_a <= dead_at <= n when a leave is recorded": (dead >= 0) & ((dead < t_a) | (dead > n)),
    }
    for rule, bad in problems.items():
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"inconsistent user statistics ({int(bad.sum())} rows break {rule}); first at "
                f"row {i}: x={x[i]}, y={y[i]}, t_x={t_x[i]}, t_a={t_a[i]}, n={n[i]}, "
                f"dead_at={dead[i]}"
            )


def _evaluate(params: np.ndarray, pat: Patterns, flags: tuple[bool, bool, bool],
              want_grad: bool = True):  # fmt: skip
    """(log-likelihood, gradient over the 9 natural parameters, P(present), P(present and
    buying)) — the last two per history."""
    presence, act, leaves = flags
    k = len(pat)
    ll = np.empty(k)
    out = np.zeros((k, 11))
    _kernel(np.asarray(params, np.float64), presence, act, leaves, pat.x, pat.y, pat.t_x,
            pat.t_a, pat.n, pat.dead_at, want_grad, ll, out)  # fmt: skip
    grad = pat.weight @ out[:, :9] if want_grad else np.zeros(9)
    return float(pat.weight @ ll), grad, out[:, 9].copy(), out[:, 10].copy()


# --------------------------------------------------------------------------- the purchase model


def hessian_from_gradient(grad_fn, theta: np.ndarray, step: float = 1e-4) -> np.ndarray:
    """Symmetrised central-difference Hessian from an analytic gradient function (first
    differences of the gradient; :func:`sim.twin.bgnbd.hessian_from_values` needs no gradient)."""
    k = theta.shape[0]
    hess = np.empty((k, k))
    for i in range(k):
        e = np.zeros(k)
        e[i] = step
        hess[:, i] = (grad_fn(theta + e) - grad_fn(theta - e)) / (2 * step)
    return 0.5 * (hess + hess.T)


def _covariance(hess: np.ndarray) -> np.ndarray:
    try:
        cov = np.linalg.inv(hess)
    except np.linalg.LinAlgError:
        cov = np.linalg.pinv(hess)
    if not np.all(np.isfinite(cov)) or np.any(np.diag(cov) < 0):
        return np.full_like(hess, np.nan)
    return cov


def _to_natural(free: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
    return np.array(
        [
            scipy.special.expit(v) if k == "rho" else np.exp(v)
            for k, v in zip(names, free, strict=True)
        ]
    )


def _interval_table(names, free: np.ndarray, cov: np.ndarray) -> dict[str, dict]:
    """Estimate, SE (delta method) and 95% interval of each parameter from its free value
    (log scale; logit scale for ρ) and the covariance of the free values."""
    diag = np.diag(cov) if cov.size else np.zeros(0)
    se_free = np.where(np.isfinite(diag) & (diag >= 0), np.sqrt(np.abs(diag)), np.nan)
    out = {}
    for i, name in enumerate(names):
        back = scipy.special.expit if name == "rho" else np.exp
        est = float(back(free[i]))
        slope = est * (1.0 - est) if name == "rho" else est
        lo, hi = back(free[i] - Z95 * se_free[i]), back(free[i] + Z95 * se_free[i])
        out[name] = {"estimate": est, "se": float(slope * se_free[i]),
                     "ci95": [float(lo), float(hi)]}  # fmt: skip
    return out


def _names(presence: bool, act: bool, leaves: bool) -> tuple[str, ...]:
    return (
        BUY_PARAMS
        + (PRESENCE_PARAMS if presence else ())
        + (ACTIVITY_PARAMS if act else ())
        + (LEAVE_PARAMS if leaves else ())
    )


class TwinModel:
    """The twin's purchase model: buying, stopping buying, leaving, being seen (module doc).

    Parameters
    ----------
    activity
        How days the user was seen are used (only if the log has such events): ``"rate"``
        models how often the user is seen while present (Beta(ε, ζ); a silence that is long
        for this user is evidence it left); ``"bound"`` only uses the last sighting (present
        at least until then); ``"off"`` ignores them.
    use_leave
        Use recorded ``leave`` events (a share ρ of leaves) — only if the log has them.

    Fitted attributes: ``params_`` (alpha, beta, gamma, delta; kappa, lambda when leaving is
    modelled; epsilon, zeta with the activity rate; rho with leaves), ``se_``, ``ci95_``,
    ``free_names_`` and ``cov_free_`` (covariance of the free parameters: logs, logit for ρ),
    ``activity_`` (the mode used), ``presence_``, ``leaves_``, ``log_likelihood_``,
    ``n_users_``, ``n_patterns_``, ``converged_``, ``at_bound_``.
    """

    def __init__(self, activity: str = "rate", use_leave: bool = True) -> None:
        self.activity = activity
        self.use_leave = use_leave

    # -- fitting ---------------------------------------------------------------------------
    def fit(self, stats: pd.DataFrame, with_se: bool = True) -> TwinModel:
        """Maximum-likelihood fit on per-user statistics (see :mod:`sim.twin.rfm`);
        ``with_se=False`` skips the standard errors (the model choice needs only forecasts)."""
        _check_activity(self.activity)
        seen = bool((stats["t_a"] > stats["t_x"]).any() or (stats["y"] > 0).any())
        activity = self.activity if seen else "off"
        leaves = self.use_leave and bool((stats["dead_at"] >= 0).any())
        self.activity_, self.leaves_ = activity, leaves
        flags = self.flags_
        pat = patterns(stats, activity, leaves)
        if len(pat) == 0:
            raise FitError("no users to fit")
        if (pat.weight * pat.x).sum() == 0:
            raise FitError("no repeat purchase days in the calibration period: nothing to fit")
        names = _names(*flags)
        index = np.array([ALL_PARAMS.index(k) for k in names])
        is_rho = index == ALL_PARAMS.index("rho")
        total = float(pat.weight.sum())

        def objective(free: np.ndarray) -> tuple[float, np.ndarray]:
            params = _full(free, names)
            ll, grad, *_ = _evaluate(params, pat, flags)
            slope = np.where(is_rho, params[index] * (1 - params[index]), params[index])
            return -ll / total, -grad[index] * slope / total

        result = scipy.optimize.minimize(
            objective, _start(pat, names), jac=True, method="L-BFGS-B",
            bounds=[_LOG_BOUNDS] * len(names),
            options={"maxiter": 1000, "ftol": 1e-12, "gtol": 1e-8},
        )  # fmt: skip
        size = len(names)
        cov = np.full((size, size), np.nan)
        if with_se:
            cov = _covariance(hessian_from_gradient(lambda t: objective(t)[1], result.x) * total)
        self.free_names_ = names
        self._set_free(result.x, cov)
        self.log_likelihood_ = float(-result.fun * total)
        self.n_users_ = int(total)
        self.n_patterns_ = len(pat)
        self.converged_ = bool(result.success)
        self.iterations_ = int(result.nit)
        lo, hi = _LOG_BOUNDS
        self.at_bound_ = bool(np.any((result.x <= lo + 1e-6) | (result.x >= hi - 1e-6)))
        return self

    @property
    def presence_(self) -> bool:
        """Whether the leaving clock is modelled (activity or leaves in the data)."""
        return self.activity_ != "off" or self.leaves_

    @property
    def flags_(self) -> tuple[bool, bool, bool]:
        """(presence clock, activity-rate factor, recorded leaves) for the kernel."""
        return self.presence_, self.activity_ == "rate", self.leaves_

    def _set_free(self, free: np.ndarray, cov: np.ndarray) -> None:
        self.free_ = np.asarray(free, np.float64)
        self.cov_free_ = np.asarray(cov, np.float64)
        table = _interval_table(self.free_names_, self.free_, self.cov_free_)
        self.params_ = {k: v["estimate"] for k, v in table.items()}
        self.se_ = {k: v["se"] for k, v in table.items()}
        self.ci95_ = {k: v["ci95"] for k, v in table.items()}

    @classmethod
    def from_params(
        cls,
        params: dict[str, float],
        cov_free: list | np.ndarray | None = None,
        activity: str = "rate",
    ) -> TwinModel:
        """A fitted model from stored parameters (a twin folder's ``twin.json``) and the
        activity mode it was fitted with; leaves are used exactly when ``rho`` is given."""
        _check_activity(activity)
        leaves = "rho" in params
        model = cls(activity=activity, use_leave=leaves)
        model.activity_, model.leaves_ = activity, leaves
        names = _names(*model.flags_)
        missing = [k for k in names if k not in params]
        if missing:
            raise ValueError(f"stored twin parameters lack {missing} for activity={activity!r}")
        model.free_names_ = names
        free = np.array(
            [scipy.special.logit(params[k]) if k == "rho" else np.log(params[k]) for k in names]
        )
        size = len(names)
        cov = np.full((size, size), np.nan) if cov_free is None else np.asarray(cov_free, float)
        model._set_free(free, cov)
        return model

    def _full_params(self, free: np.ndarray | None = None) -> np.ndarray:
        if not hasattr(self, "free_"):
            raise FitError("the model is not fitted yet; call fit() first")
        return _full(self.free_ if free is None else free, self.free_names_)

    def draw_params(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """Parameter sets from the asymptotic normal of the free parameters (shape (size, 9));
        the point estimate repeated when the covariance is unknown."""
        cov = self.cov_free_
        if not np.all(np.isfinite(cov)):
            return np.tile(self._full_params(), (size, 1))
        free = rng.multivariate_normal(self.free_, cov, size=size, method="eigh")
        return np.stack([self._full_params(f) for f in free])

    # -- summaries -------------------------------------------------------------------------
    def population_summary(self) -> dict[str, dict]:
        """Population means with delta-method 95% intervals: E[p] (daily purchase probability
        while buying), E[ω] (daily chance of stopping buying), E[θ] (daily chance of leaving)
        and E[s] (chance of being seen on a day without a purchase), when modelled."""
        out = {}
        pairs = [("mean_p", "alpha", "beta"), ("mean_stop_buying", "gamma", "delta")]
        if self.presence_:
            pairs.append(("mean_leave", "kappa", "lambda"))
        if self.activity_ == "rate":
            pairs.append(("mean_seen", "epsilon", "zeta"))
        for name, first, second in pairs:
            i, j = self.free_names_.index(first), self.free_names_.index(second)
            u, v = self.params_[first], self.params_[second]
            mean = u / (u + v)
            grad = np.zeros(len(self.free_names_))
            grad[i], grad[j] = u * v / (u + v) ** 2, -u * v / (u + v) ** 2
            var = grad @ self.cov_free_ @ grad
            se = float(np.sqrt(var)) if np.isfinite(var) and var >= 0 else float("nan")
            out[name] = {"estimate": float(mean), "se": se,
                         "ci95": [float(mean - Z95 * se), float(mean + Z95 * se)]}  # fmt: skip
        return out

    # -- each user -------------------------------------------------------------------------
    def _patterns(self, stats: pd.DataFrame) -> Patterns:
        return patterns(stats, self.activity_, self.leaves_)

    def posterior(self, stats: pd.DataFrame) -> pd.DataFrame:
        """Each user's state at the calibration end given its own history (rows of ``stats``).

        Columns: ``p_present`` (still in the private domain), ``p_buying`` (present and still
        buying), ``p_mean`` = E[p | buying], ``stop_mean`` = E[ω | buying], ``leave_mean`` =
        E[θ | present] (0 without a presence clock), ``seen_mean`` = E[s | present] (NaN without
        activity), and the Beta posteriors of a buying user: ``p_a``, ``p_b``.
        """
        params = self._full_params()
        a, b, g, d, k, lm, e, z, _ = params
        pat = self._patterns(stats)
        _, _, present, buying = _evaluate(params, pat, self.flags_, want_grad=False)
        inv = pat.inverse
        x = stats["x"].to_numpy(np.float64)
        n = stats["n"].to_numpy(np.float64)
        y = stats["y"].to_numpy(np.float64)
        rate = self.activity_ == "rate"
        seen = (e + y) / (e + z + n - x) if rate else np.full(x.shape, np.nan)
        leave = k / (k + lm + n) if self.presence_ else np.zeros(x.shape)
        return pd.DataFrame(
            {
                "p_present": present[inv],
                "p_buying": buying[inv],
                "p_mean": (a + x) / (a + b + n),
                "stop_mean": g / (g + d + n),
                "leave_mean": leave,
                "seen_mean": seen,
                "p_a": a + x,
                "p_b": b + n - x,
            }
        )

    def buying_probability(self, stats: pd.DataFrame, params: np.ndarray | None = None):
        """P(present and buying at the calibration end) per user, optionally under other
        parameters (a 9-vector, or several as rows: then one row per parameter set)."""
        pat = self._patterns(stats)
        use = self._full_params() if params is None else np.asarray(params, np.float64)
        rows = [_evaluate(p, pat, self.flags_, False)[3] for p in np.atleast_2d(use)]
        out = np.stack([r[pat.inverse] for r in rows])
        return out[0] if use.ndim == 1 else out

    def expected_purchases(self, horizon: int | np.ndarray, stats: pd.DataFrame) -> np.ndarray:
        """E[purchase days in the next ``horizon`` days] per user (rows of ``stats``); with an
        array of horizons, an array of shape (users, horizons)."""
        post = self.posterior(stats)
        return expected_purchases(
            self.params_, self.presence_, post["p_buying"].to_numpy(),
            post["p_mean"].to_numpy(), stats["n"].to_numpy(), horizon,
        )  # fmt: skip


def _full(free: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
    params = np.array([_UNUSED.get(k, 1.0) for k in ALL_PARAMS])
    params[[ALL_PARAMS.index(k) for k in names]] = _to_natural(free, names)
    return params


def _start(pat: Patterns, names: tuple[str, ...]) -> np.ndarray:
    """Start values: the mean purchase rate, rough dropout rates, modest spread (free scale)."""
    w = pat.weight
    days = max(float((w * np.maximum(pat.t_a, 1)).sum()), 1.0)
    rate = min(max(float((w * pat.x).sum()) / days, 1e-4), 0.5)
    silent = float(w[pat.t_x < pat.n / 2].sum())
    all_days = max(float((w * np.maximum(pat.n, 1)).sum()), 1.0)
    stop = min(max(silent / all_days, 1e-5), 0.5)
    leave = min(max(float(w[pat.dead_at >= 0].sum()) / all_days, 1e-5), 0.5)
    seen = min(max(float((w * pat.y).sum()) / days, 1e-4), 0.9)
    start = {
        "alpha": np.log(0.5), "beta": np.log(0.5 * (1 - rate) / rate),
        "gamma": np.log(0.5), "delta": np.log(0.5 * (1 - stop) / stop),
        "kappa": np.log(0.5), "lambda": np.log(0.5 * (1 - leave) / leave),
        "epsilon": np.log(0.5), "zeta": np.log(0.5 * (1 - seen) / seen),
        "rho": 0.0,
    }  # fmt: skip
    return np.array([start[k] for k in names])


def survival_sums(params: dict[str, float], presence: bool, n: np.ndarray,
                  horizons: np.ndarray) -> np.ndarray:  # fmt: skip
    """Σ_{k=1}^{h} E[(1−ω)^k]·E[(1−θ)^k] for a user buying after n days (ω ~ Beta(γ, δ+n),
    θ ~ Beta(κ, λ+n)): expected days still buying among the next h; shape (len(n), len(h))."""
    horizons = np.atleast_1d(np.asarray(horizons, np.int64))
    h_max = int(horizons.max()) if horizons.size else 0
    uniq, inv = np.unique(np.asarray(n, np.int64), return_inverse=True)
    k = np.arange(h_max, dtype=np.float64)[None, :]
    base = uniq[:, None].astype(np.float64) + k
    keep = (params["delta"] + base) / (params["gamma"] + params["delta"] + base)
    if presence:
        keep = keep * (params["lambda"] + base) / (params["kappa"] + params["lambda"] + base)
    surv = np.cumprod(keep, axis=1)
    cum = np.concatenate([np.zeros((uniq.size, 1)), np.cumsum(surv, axis=1)], axis=1)
    return cum[:, horizons][inv.reshape(-1)]


def expected_purchases(
    params: dict[str, float],
    presence: bool,
    p_buying: np.ndarray,
    p_mean: np.ndarray,
    n: np.ndarray,
    horizon: int | np.ndarray,
) -> np.ndarray:
    """E[X(h)] = P(present and buying) · E[p | buying] · :func:`survival_sums`."""
    scalar = np.ndim(horizon) == 0
    sums = survival_sums(params, presence, n, np.atleast_1d(horizon))
    out = (np.asarray(p_buying) * np.asarray(p_mean))[:, None] * sums
    return out[:, 0] if scalar else out


# --------------------------------------------------------------------------- spend


def _gg_loglik(theta: np.ndarray, x: np.ndarray, m: np.ndarray, w: np.ndarray):
    gammaln, psi = scipy.special.gammaln, scipy.special.psi
    p, q, v = np.exp(theta)
    px = p * x
    lvxm = np.log(v + x * m)
    ll = (
        gammaln(px + q) - gammaln(px) - gammaln(q) + q * np.log(v)
        + (px - 1) * np.log(m) + px * np.log(x) - (px + q) * lvxm
    )  # fmt: skip
    d_px_q = psi(px + q)
    gp = x * (d_px_q - psi(px) + np.log(m) + np.log(x) - lvxm)
    gq = d_px_q - psi(q) + np.log(v) - lvxm
    gv = q / v - (px + q) / (v + x * m)
    grad = np.array([(w * gp).sum() * p, (w * gq).sum() * q, (w * gv).sum() * v])
    return float((w * ll).sum()), grad


class GammaGamma:
    """Spend per purchase day: Gamma(p, ν_i) with ν_i ~ Gamma(q, v) (Fader, Hardie & Lee 2005).

    Maximum likelihood on the buyers' (x, m̄). The model's mean spend per purchase day,
    E[z] = p·v/(q − 1), must match the **observed mean** (the mean over repeat buyers of their
    mean spend per counted purchase day, ``observed_mean_``) within :data:`SPEND_MEAN_TOLERANCE`;
    when the free fit does not (a heavy tail or a price ladder can drive q toward 1, where the
    mean explodes or collapses) the model is refitted with the mean held at the observed one
    (v = m̄_obs·(q − 1)/p, p and q free, q > 1) and ``constrained_`` is True. ``warnings_``
    lists what a reader must know: the constraint, parameters at their search bounds, and
    unidentified parameters (a 95% interval spanning more than :data:`UNIDENTIFIED_RATIO`).

    Fitted attributes: ``params_`` (p, q, v), ``se_``, ``ci95_``, ``cov_log_``,
    ``log_likelihood_``, ``n_users_``, ``population_mean_`` (the purchase-day-weighted mean),
    ``observed_mean_``, ``constrained_``, ``warnings_``, ``fallback_`` (q ≤ 1: each user's own
    mean is used; cannot happen after a constrained refit).

    ``ladder_`` (set by :meth:`set_ladder`; None = flat) is the price ladder of
    :func:`sim.twin.rfm.price_ladder`: a user's k-th purchase day costs its Gamma–Gamma spend
    × level(k) / the level its own mean reflects (:meth:`ladder_factor`).
    """

    ladder_: dict | None = None
    constrained_: bool = False
    warnings_: tuple[str, ...] = ()
    observed_mean_: float = float("nan")

    def set_ladder(self, ladder: dict | None) -> GammaGamma:
        """Attach a price ladder (``{"starts", "levels", "days", "reference_level"}``) or None
        (a single step is no ladder)."""
        levels = None if ladder is None else np.asarray(ladder["levels"], np.float64)
        usable = levels is not None and levels.size > 1 and np.all(levels > 0)
        self.ladder_ = dict(ladder) if usable and ladder["reference_level"] > 0 else None
        return self

    def ladder_factor(self, order: np.ndarray, own_level: np.ndarray) -> np.ndarray:
        """Spend multiplier of purchase days of ``order`` (1 = a user's first purchase day) for
        users whose mean spend reflects ``own_level`` (NaN: the population's reference)."""
        order = np.asarray(order)
        if self.ladder_ is None:
            return np.ones(order.shape)
        levels = np.asarray(self.ladder_["levels"], np.float64)
        starts = np.asarray(self.ladder_["starts"], np.int64)
        step = np.searchsorted(starts, np.maximum(order, 1), side="right") - 1
        return levels[step] / self._own_level(own_level)

    def _own_level(self, own_level: np.ndarray) -> np.ndarray:
        own = np.asarray(own_level, np.float64)
        return np.where(np.isfinite(own) & (own > 0), own, self.ladder_["reference_level"])

    def ladder_sum(self, first: np.ndarray, count: np.ndarray, own_level: np.ndarray) -> np.ndarray:
        """Σ of :meth:`ladder_factor` over the orders first, …, first + count − 1 (``count`` ≥ 0,
        elementwise): the multiplier of the total spend of ``count`` purchase days."""
        first = np.maximum(np.asarray(first, np.int64), 1)
        count = np.asarray(count, np.int64)
        if self.ladder_ is None:
            return count.astype(np.float64)
        last = int((first + count).max(initial=1))
        orders = np.arange(1, last + 1)
        cum = np.r_[0.0, np.cumsum(self.ladder_factor(orders, np.ones(orders.size)))]
        return (cum[first + count - 1] - cum[first - 1]) / self._own_level(own_level)

    def fit(self, frequency: np.ndarray, mean_spend: np.ndarray) -> GammaGamma:
        x = np.asarray(frequency, np.float64)
        m = np.asarray(mean_spend, np.float64)
        use = (x > 0) & np.isfinite(m) & (m > 0)
        if use.sum() < 3:
            raise FitError("fewer than 3 users with repeat purchases and positive spend")
        (x, m), w = _collapse_spend(x[use], m[use])
        n = float(w.sum())
        self.population_mean_ = float((w * x * m).sum() / (w * x).sum())
        self.observed_mean_ = float((w * m).sum() / n)
        spread = max(float(np.var(m) / max(np.mean(m) ** 2, 1e-12)), 0.05)
        start = np.log([1.0 / spread, 3.0, 2.0 * self.observed_mean_ / spread])

        def objective(theta):
            ll, grad = _gg_loglik(theta, x, m, w)
            return -ll / n, -grad / n

        result = scipy.optimize.minimize(objective, start, jac=True, method="L-BFGS-B",
                          bounds=[_LOG_BOUNDS, _LOG_BOUNDS, (-12.0, 30.0)],
                          options={"maxiter": 500, "ftol": 1e-13, "gtol": 1e-9})  # fmt: skip
        theta, cov = result.x, _covariance(hessian_from_gradient(
            lambda t: objective(t)[1], result.x) * n)  # fmt: skip
        self.constrained_ = not _mean_matches(theta, self.observed_mean_)
        if self.constrained_:
            theta, cov, result = self._fit_constrained(x, m, w, n, theta)
        self.log_params_, self.cov_log_ = theta, cov
        self._set_tables()
        self.log_likelihood_ = float(_gg_loglik(theta, x, m, w)[0])
        self.n_users_ = int(n)
        self.converged_ = bool(result.success)
        self.warnings_ = self._warnings(theta)
        return self

    def _fit_constrained(self, x, m, w, n, free_theta):
        """ML of (log p, log(q − 1)) with v = observed mean·(q − 1)/p; covariance of
        (log p, log q, log v) by the delta method."""
        mean = self.observed_mean_

        def to_theta(u: np.ndarray) -> np.ndarray:
            p, q1 = np.exp(u)
            return np.log([p, 1.0 + q1, mean * q1 / p])

        def nll(u: np.ndarray) -> float:
            return -_gg_loglik(to_theta(u), x, m, w)[0] / n

        p0, q0 = np.exp(free_theta[:2])
        start = np.array([np.log(p0), np.log(max(q0 - 1.0, 0.5))])
        result = scipy.optimize.minimize(nll, start, method="L-BFGS-B", bounds=[_LOG_BOUNDS] * 2,
                          options={"maxiter": 500, "ftol": 1e-13, "gtol": 1e-9})  # fmt: skip
        u = result.x
        hess = hessian_from_values(nll, u) * n
        cov_u = _covariance(hess)
        p, q1 = np.exp(u)
        jac = np.array([[1.0, 0.0], [0.0, q1 / (1.0 + q1)], [-1.0, 1.0]])
        return to_theta(u), jac @ cov_u @ jac.T, result

    def _warnings(self, theta: np.ndarray) -> tuple[str, ...]:
        out = []
        if self.constrained_:
            out.append(
                "spend: the free Gamma-Gamma fit's mean did not match the observed mean spend "
                f"({_fmt_money(self.observed_mean_)}) within "
                f"{SPEND_MEAN_TOLERANCE:.0%}; refitted with the mean held at the observed one"
            )
        lo, hi = _LOG_BOUNDS
        for name, value in zip(SPEND_PARAMS, theta, strict=True):
            top = 30.0 if name == "v" else hi
            if value <= lo + 1e-6 or value >= top - 1e-6:
                out.append(f"spend {name} is at its search bound ({np.exp(value):.3g})")
        p = float(np.exp(theta[0]))
        if p > DEGENERATE_SHAPE:
            out.append(
                f"spend p = {p:.3g}: a buyer's purchase-day amounts barely vary around its own "
                "mean (the Gamma shape is at its limit); intervals of a buyer's spend are narrow"
            )
        for name in SPEND_PARAMS:
            low, high = self.ci95_[name]
            if not (np.isfinite(low) and np.isfinite(high)) or high > UNIDENTIFIED_RATIO * low:
                out.append(
                    f"spend {name} is not identified by the data: 95% interval "
                    f"[{low:.3g}, {high:.3g}]; only the model mean p·v/(q−1) is reliable"
                )
        return tuple(out)

    def _set_tables(self) -> None:
        table = _interval_table(SPEND_PARAMS, self.log_params_, self.cov_log_)
        self.params_ = {k: v["estimate"] for k, v in table.items()}
        self.se_ = {k: v["se"] for k, v in table.items()}
        self.ci95_ = {k: v["ci95"] for k, v in table.items()}
        self.fallback_ = self.params_["q"] <= 1.0

    @classmethod
    def from_params(
        cls, params: dict[str, float], population_mean: float, cov_log: np.ndarray | None = None
    ) -> GammaGamma:
        model = cls()
        model.log_params_ = np.log([float(params[k]) for k in SPEND_PARAMS])
        model.cov_log_ = np.full((3, 3), np.nan) if cov_log is None else np.asarray(cov_log)
        model.population_mean_ = float(population_mean)
        model._set_tables()
        return model

    def expected_spend(self, frequency: np.ndarray, mean_spend: np.ndarray) -> np.ndarray:
        """E[spend per purchase day | x, m̄]; the population mean p·v/(q−1) when x = 0."""
        p, q, v = (self.params_[k] for k in SPEND_PARAMS)
        x = np.asarray(frequency, np.float64)
        m = np.nan_to_num(np.asarray(mean_spend, np.float64), nan=0.0)
        x = np.where(m > 0, x, 0.0)
        if self.fallback_:
            return np.where(x > 0, m, self.population_mean_)
        return p * (v + x * m) / (p * x + q - 1.0)

    def population_summary(self) -> dict[str, float]:
        p, q, v = (self.params_[k] for k in SPEND_PARAMS)
        mean = p * v / (q - 1.0) if q > 1 else float("inf")
        return {"mean_spend_per_purchase_day": float(mean),
                "observed_mean": self.observed_mean_,
                "observed_mean_weighted_by_purchase_days": self.population_mean_}  # fmt: skip


SPEND_MEAN_TOLERANCE = 0.05
UNIDENTIFIED_RATIO = 1e4
DEGENERATE_SHAPE = 1e4


def _collapse_spend(x: np.ndarray, m: np.ndarray):
    frame = pd.DataFrame({"x": x, "m": m})
    counts = frame.groupby(["x", "m"], sort=True).size()
    return (
        (counts.index.get_level_values(0).to_numpy(np.float64),
         counts.index.get_level_values(1).to_numpy(np.float64)),
        counts.to_numpy(np.float64),
    )  # fmt: skip


def _mean_matches(theta: np.ndarray, observed: float) -> bool:
    p, q, v = np.exp(theta)
    if q <= 1.0:
        return False
    return abs(p * v / (q - 1.0) / observed - 1.0) <= SPEND_MEAN_TOLERANCE


def _fmt_money(value: float) -> str:
    return f"{value:,.2f}"


# --------------------------------------------------------------------------- model checks


def frequency_distribution(params: dict[str, float], presence: bool, n: np.ndarray,
                           max_x: int = 7) -> np.ndarray:  # fmt: skip
    """Model-expected number of users with x = 0 … max_x − 1 and ≥ max_x purchase days, given
    each user's observed days ``n``. With S(m) = P(still buying and present after m days):
    P(X(n) = x) = Σ_{m=x}^{n−1} [S(m) − S(m+1)]·C(m,x)·B(α+x, β+m−x)/B(α,β)
    + S(n)·C(n,x)·B(α+x, β+n−x)/B(α,β) (Fader, Hardie & Shang 2010 eq. 7 when S is BG)."""
    a, b = params["alpha"], params["beta"]
    uniq, counts = np.unique(np.asarray(n, np.int64), return_counts=True)
    top = max(int(uniq.max()), 1)
    m = np.arange(top + 1, dtype=np.float64)
    surv = survival_sums(params, presence, np.array([0]), np.arange(top + 2))[0]
    s = np.concatenate([[1.0], np.diff(surv)])[: top + 2]  # S(0) = 1, S(k) = Π keep
    stop = s[:-1] - s[1:]  # P(buying for exactly m days), m = 0 … top
    lb = _beta_ln(a, b)
    out = np.zeros(max_x + 1)
    for x in range(max_x):
        with np.errstate(invalid="ignore", divide="ignore"):
            pm = np.exp(_log_choose(m, x) + _beta_ln(a + x, b + m - x) - lb)
        pm = np.where(m >= x, pm, 0.0)
        cum = np.concatenate([[0.0], np.cumsum(stop * pm)])
        out[x] = float((counts * (cum[uniq] + s[uniq] * pm[uniq])).sum())
    out[max_x] = float(counts.sum()) - out[:max_x].sum()
    return out


def _beta_ln(a, b):
    return (
        scipy.special.gammaln(a)
        + scipy.special.gammaln(b)
        - scipy.special.gammaln(np.asarray(a) + b)
    )


def _log_choose(n, k: int):
    n = np.asarray(n, np.float64)
    with np.errstate(invalid="ignore"):
        return (
            scipy.special.gammaln(n + 1)
            - scipy.special.gammaln(k + 1)
            - scipy.special.gammaln(np.maximum(n - k, 0) + 1)
        )
