"""BG/NBD (sim/twin/bgnbd.py): parameter recovery and expectations against Monte Carlo.

The CDNOW data are not available offline, so customers are simulated from the BG/NBD generative
process with the published CDNOW estimates (r = 0.243, alpha = 4.414, a = 0.793, b = 2.426; weeks)
and a seeded generator, with first purchases spread over 12 weeks as in CDNOW (T from 27 to 39
weeks) and a 39-week holdout. Tolerances:

* recovery: every estimate within 3.5 of its own standard errors of the truth; and the standard
  errors within a factor 2 of the spread of log-estimates over twelve replicate samples (a recovery
  test with an inflated SE would otherwise pass);
* expectations (eq. 9, 10, 11 with the true parameters): the model's mean prediction for each
  calibration-frequency group within 4 Monte-Carlo standard errors of the simulated mean.
"""

from __future__ import annotations

import numpy as np
import pytest

from sim.twin.bgnbd import BGNBD, collapse_rows, hessian_from_values

CDNOW = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
HOLDOUT = 39.0


def simulate_bgnbd(n, T, horizon, r, alpha, a, b, rng):
    """Calibration (x, t_x, T), holdout purchase counts and alive-at-T from the BG/NBD process.

    Each customer buys as a Poisson process with rate lambda ~ Gamma(r, rate alpha) from time 0
    (the first purchase) and drops out right after their L-th repeat purchase, L ~ Geometric(p),
    p ~ Beta(a, b).
    """
    T = np.broadcast_to(np.asarray(T, dtype=float), (n,))
    lam = rng.gamma(r, 1.0 / alpha, n)
    p = rng.beta(a, b, n)
    life = rng.geometric(p)
    span = T + horizon
    counts = rng.poisson(lam * span)
    owner = np.repeat(np.arange(n), counts)
    times = rng.uniform(0.0, 1.0, counts.sum()) * span[owner]
    order = np.lexsort((times, owner))
    owner, times = owner[order], times[order]
    rank = np.arange(len(owner)) - np.repeat(np.cumsum(counts) - counts, counts)
    made = rank < life[owner]
    owner, times = owner[made], times[made]
    in_calibration = times <= T[owner]
    x = np.bincount(owner[in_calibration], minlength=n)
    tx = np.zeros(n)
    np.maximum.at(tx, owner[in_calibration], times[in_calibration])
    holdout = np.bincount(owner[~in_calibration], minlength=n)
    return x, tx, T.copy(), holdout, life > x


@pytest.fixture(scope="module")
def cdnow_like():
    rng = np.random.default_rng(20050401)
    n = 20_000
    T = 39.0 - rng.uniform(0, 12, n)
    return simulate_bgnbd(n, T, HOLDOUT, **CDNOW, rng=rng)


@pytest.fixture(scope="module")
def fitted(cdnow_like):
    x, tx, T, _, _ = cdnow_like
    return BGNBD().fit(x, tx, T)


def test_recovers_cdnow_parameters(fitted):
    assert fitted.converged_
    for name, truth in CDNOW.items():
        estimate, se = fitted.params_[name], fitted.se_[name]
        assert abs(estimate - truth) < 3.5 * se, (name, estimate, se)


@pytest.mark.slow
def test_standard_errors_match_the_spread_of_replicate_fits():
    # twelve independent samples of 3,000: the spread of the log-estimates is what the SEs claim
    rng = np.random.default_rng(11)
    n = 3_000
    log_estimates, se_logs = [], []
    for _ in range(12):
        x, tx, T, _, _ = simulate_bgnbd(n, 39.0 - rng.uniform(0, 12, n), 0.0, **CDNOW, rng=rng)
        model = BGNBD().fit(x, tx, T)
        log_estimates.append(np.log([model.params_[k] for k in CDNOW]))
        se_logs.append([model.se_[k] / model.params_[k] for k in CDNOW])  # delta method back
    spread = np.std(log_estimates, axis=0, ddof=1)
    claimed = np.median(se_logs, axis=0)
    assert np.all((0.5 * claimed < spread) & (spread < 2.0 * claimed)), (spread, claimed)


def test_optimum_is_a_local_maximum(cdnow_like, fitted):
    x, tx, T, _, _ = cdnow_like
    base = fitted.log_likelihood_
    for name in CDNOW:
        for factor in (0.98, 1.02):
            moved = dict(fitted.params_, **{name: fitted.params_[name] * factor})
            nudged = BGNBD.from_params(**moved)
            assert _log_likelihood(nudged, x, tx, T) < base


def _log_likelihood(model, x, tx, T):
    from sim.twin.bgnbd import _negative_log_likelihood

    return -_negative_log_likelihood(model._log_params, x.astype(float), tx, T, np.ones(len(x)))


def _within_mc_error(predicted, observed, label):
    mc_se = observed.std(ddof=1) / np.sqrt(len(observed))
    assert abs(predicted.mean() - observed.mean()) < 4 * mc_se + 1e-9, (
        label,
        predicted.mean(),
        observed.mean(),
        mc_se,
    )


def test_conditional_expectation_matches_monte_carlo(cdnow_like):
    x, tx, T, holdout, _ = cdnow_like
    truth = BGNBD.from_params(**CDNOW)
    predicted = truth.expected_purchases(HOLDOUT, x, tx, T)
    _within_mc_error(predicted, holdout, "all")
    for k in range(6):
        group = x == k
        _within_mc_error(predicted[group], holdout[group], f"x={k}")
    group = x >= 6
    _within_mc_error(predicted[group], holdout[group], "x>=6")


def test_probability_alive_matches_monte_carlo(cdnow_like):
    x, tx, T, _, alive = cdnow_like
    truth = BGNBD.from_params(**CDNOW)
    p_alive = truth.probability_alive(x, tx, T)
    assert np.all(p_alive[x == 0] == 1.0)  # no repeat purchase, no chance to have dropped out
    for k in range(1, 6):
        group = x == k
        _within_mc_error(p_alive[group], alive[group].astype(float), f"x={k}")


def test_unconditional_expectation_matches_monte_carlo():
    rng = np.random.default_rng(7)
    n, t = 40_000, 52.0
    x, _, _, _, _ = simulate_bgnbd(n, t, 0.0, **CDNOW, rng=rng)
    truth = BGNBD.from_params(**CDNOW)
    _within_mc_error(np.atleast_1d(truth.expected_purchases_new(t)), x, "E[X(t)]")
    assert truth.expected_purchases_new(0.0) == 0.0


def test_expectations_move_the_right_way():
    model = BGNBD.from_params(**CDNOW)
    recent = model.expected_purchases(10, 5, 38.0, 39.0)
    stale = model.expected_purchases(10, 5, 5.0, 39.0)
    assert recent > stale  # same frequency, the recent buyer is more likely alive
    assert model.expected_purchases(20, 3, 30.0, 39.0) > model.expected_purchases(10, 3, 30.0, 39.0)
    assert model.expected_purchases(0, 3, 30.0, 39.0) == 0.0
    assert model.probability_alive(5, 38.0, 39.0) > model.probability_alive(5, 5.0, 39.0)


def test_weights_and_duplicates_give_the_same_fit(cdnow_like):
    x, tx, T, _, _ = cdnow_like
    # coarsen to whole weeks so there are many identical rows
    txw, Tw = np.floor(tx), np.floor(T)
    txw = np.where(x == 0, 0.0, txw)
    (ux, utx, uT), w = collapse_rows(x, txw, Tw)
    assert len(w) < len(x) / 3 and w.sum() == len(x)
    raw = BGNBD().fit(x, txw, Tw)
    weighted = BGNBD().fit(ux, utx, uT, weights=w)
    assert weighted.log_likelihood_ == pytest.approx(raw.log_likelihood_, rel=1e-9)
    for name in CDNOW:
        assert weighted.params_[name] == pytest.approx(raw.params_[name], rel=1e-4)


@pytest.mark.parametrize(
    ("frequency", "recency", "T", "message"),
    [
        ([1, -1], [1.0, 0.0], [5.0, 5.0], "frequency"),
        ([1.5], [1.0], [5.0], "frequency"),
        ([2], [6.0], [5.0], "recency"),
        ([0], [1.0], [5.0], "recency must be 0"),
        ([1], [0.0], [0.0], "T must be > 0"),
        ([1], [np.nan], [5.0], "finite"),
    ],
)
def test_bad_inputs_are_named(frequency, recency, T, message):
    with pytest.raises(ValueError, match=message):
        BGNBD().fit(frequency, recency, T)


def test_unfitted_model_says_so():
    with pytest.raises(RuntimeError, match="not fitted"):
        BGNBD().expected_purchases(1, 1, 1.0, 2.0)


def test_hessian_from_values_of_a_quadratic_is_exact():
    matrix = np.array([[2.0, 0.5], [0.5, 3.0]])
    hess = hessian_from_values(lambda v: 0.5 * v @ matrix @ v, np.array([0.3, -0.2]))
    np.testing.assert_allclose(hess, matrix, rtol=1e-6)
