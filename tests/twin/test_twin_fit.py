"""The twin's model: per-user statistics, likelihood, parameter recovery, posterior, spend.

Recovery tolerance (stated): on a log generated with known parameters, every fitted parameter is
within 3 standard errors of the truth (on the scale the fit works on: log, logit for ρ), and the
population means E[p], E[ω], E[θ], E[s] lie within their delta-method 3-SE intervals.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import betaln, logit

from sim.runs.sample_log import TruthParams, generate_log, to_event_frame
from sim.twin import model as tm
from sim.twin.forecast import forecast
from sim.twin.rfm import user_statistics

CAL = "2024-09-30"
UNTIL = "2024-12-31"


# --------------------------------------------------------------------------- statistics


def _frame(rows: list[tuple[str, str, str, float]]) -> pd.DataFrame:
    raw = pd.DataFrame(rows, columns=["user_id", "timestamp", "event", "amount"])
    return to_event_frame(raw)


def test_statistics_of_a_handmade_log() -> None:
    nan = np.nan
    events = _frame([
        ("a", "2024-01-01 09:00", "join", nan),
        ("a", "2024-01-03 10:00", "purchase", 10.0),
        ("a", "2024-01-03 18:00", "purchase", 5.0),  # same day: one purchase day, 15 spent
        ("a", "2024-01-05", "active", nan),
        ("a", "2024-01-07", "purchase", 20.0),
        ("a", "2024-01-08", "open", nan),
        ("a", "2024-01-12", "purchase", 7.0),  # after the calibration end: holdout only
        ("b", "2024-01-02", "purchase", 9.9),  # born with a purchase: not a repeat
        ("b", "2024-01-04", "active", nan),
        ("b", "2024-01-06", "leave", nan),
        ("c", "2024-01-02", "join", nan),
        ("c", "2024-01-03", "leave", nan),
        ("c", "2024-01-05", "message", nan),  # came back: the leave is not a death
        ("d", "2024-01-11", "join", nan),  # first seen after the calibration end
    ])  # fmt: skip
    stats = user_statistics(events, "2024-01-10", "2024-01-20").set_index("user_id")
    assert list(stats.index) == ["a", "b", "c"]
    a, b, c = stats.loc["a"], stats.loc["b"], stats.loc["c"]
    assert (a.n, a.x, a.t_x, a.t_a, a.y, a.dead_at) == (9, 2, 6, 7, 2, -1)
    assert a.purchases == 3 and a.purchase_days == 2 and a.spend == pytest.approx(35.0)
    assert a.mean_spend == pytest.approx(17.5)
    assert a.holdout_purchases == 1 and a.holdout_spend == pytest.approx(7.0)
    assert (b.n, b.x, b.t_x, b.t_a, b.dead_at, b.purchase_days) == (8, 0, 0, 2, 4, 1)
    assert np.isnan(b.mean_spend) and b.spend == pytest.approx(9.9)
    assert (c.x, c.t_a, c.dead_at, c.y) == (0, 3, -1, 1)
    assert a.recent_bits & (1 << 2) and a.recent_bits & (1 << 3)  # Jan 8 and Jan 7


def test_until_must_follow_the_calibration_end() -> None:
    events = _frame([("a", "2024-01-01", "join", np.nan)])
    with pytest.raises(ValueError, match="must be after the calibration end"):
        user_statistics(events, "2024-01-10", "2024-01-10")


# --------------------------------------------------------------------------- likelihood


def _brute_log_likelihood(P, x, y, tx, ta, n, dead, flags) -> float:
    """The likelihood of docs/TWIN.md written out term by term (no recursion)."""
    presence, act, leaves = flags
    a, b, g, d, k, lam, e, z, rho = P

    def pur(j):
        stopped = sum(
            np.exp(betaln(a + x, b + m - x) - betaln(a, b) + betaln(g + 1, d + m) - betaln(g, d))
            for m in range(tx, j)
        )
        buying = np.exp(betaln(a + x, b + j - x) - betaln(a, b) + betaln(g, d + j) - betaln(g, d))
        return stopped + buying, buying

    def seen(j):
        return np.exp(betaln(e + y, z + j - x - y) - betaln(e, z)) if act else 1.0

    def left_after(j):
        return np.exp(betaln(k + 1, lam + j) - betaln(k, lam))

    if dead >= 0:
        return np.log((rho if leaves else 1.0) * left_after(dead) * seen(dead) * pur(dead)[0])
    stay = np.exp(betaln(k, lam + n) - betaln(k, lam)) if presence else 1.0
    total = stay * seen(n) * pur(n)[0]
    if presence:
        total += sum((1 - rho if leaves else 1.0) * left_after(j) * seen(j) * pur(j)[0]
                     for j in range(ta, n))  # fmt: skip
    return np.log(total)


HISTORIES = [  # (x, y, t_x, t_a, n, dead_at)
    (2, 3, 10, 15, 30, -1), (0, 0, 0, 0, 20, -1), (0, 2, 0, 5, 20, -1), (3, 0, 12, 12, 12, -1),
    (1, 2, 4, 6, 6, 6), (1, 1, 3, 7, 50, 9), (0, 0, 0, 0, 0, -1),
]  # fmt: skip
PARAMS = np.array([0.6, 40.0, 0.8, 120.0, 0.5, 300.0, 2.0, 30.0, 0.7])


@pytest.mark.parametrize(
    "flags", [(False, False, False), (True, True, False), (True, False, True), (True, True, True)]
)
def test_likelihood_and_gradient_match_the_written_out_formula(flags) -> None:
    presence, act, leaves = flags
    rows = [
        (x, y if act else 0, tx, ta if act else tx, n if (dead < 0 or not leaves) else dead,
         dead if leaves else -1)
        for x, y, tx, ta, n, dead in HISTORIES
    ]  # fmt: skip
    arr = np.array(rows).T
    pat = tm.Patterns(*[np.ascontiguousarray(arr[i]) for i in range(6)],
                      weight=np.ones(arr.shape[1]), inverse=np.arange(arr.shape[1]))  # fmt: skip
    ll, grad, _, _ = tm._evaluate(PARAMS, pat, flags)

    def total(p):
        return sum(_brute_log_likelihood(p, *r, flags) for r in rows)

    assert ll == pytest.approx(total(PARAMS), rel=1e-10)
    for i in range(9):
        e = np.zeros(9)
        e[i] = 1e-6 * max(PARAMS[i], 1.0)
        numeric = (total(PARAMS + e) - total(PARAMS - e)) / (2 * e[i])
        assert grad[i] == pytest.approx(numeric, rel=1e-5, abs=1e-7)


def test_posterior_probabilities_match_the_written_out_formula() -> None:
    flags = (True, True, True)
    x, y, tx, ta, n = 2, 3, 10, 15, 30
    pat = tm.Patterns(*[np.array([v]) for v in (x, y, tx, ta, n, -1)], weight=np.ones(1),
                      inverse=np.zeros(1, np.int64))  # fmt: skip
    _, _, present, buying = tm._evaluate(PARAMS, pat, flags, want_grad=False)
    a, b, g, d, k, lam, e, z, _ = PARAMS
    total = np.exp(_brute_log_likelihood(PARAMS, x, y, tx, ta, n, -1, flags))
    stay = np.exp(betaln(k, lam + n) - betaln(k, lam) + betaln(e + y, z + n - x - y) - betaln(e, z))
    still_buying = np.exp(betaln(a + x, b + n - x) - betaln(a, b) + betaln(g, d + n) - betaln(g, d))
    no_leave = np.exp(_brute_log_likelihood(PARAMS, x, y, tx, n, n, -1, flags))  # sum empty
    assert present[0] == pytest.approx(no_leave / total, rel=1e-9)
    assert buying[0] == pytest.approx(stay * still_buying / total, rel=1e-9)
    assert 0 < buying[0] < present[0] < 1


# --------------------------------------------------------------------------- recovery


@pytest.fixture(scope="module")
def truth() -> TruthParams:
    return TruthParams()


@pytest.fixture(scope="module")
def stats(truth) -> pd.DataFrame:
    return user_statistics(to_event_frame(generate_log(12_000, truth, seed=11)), CAL, UNTIL)


@pytest.fixture(scope="module")
def fitted(stats) -> tm.TwinModel:
    return tm.TwinModel().fit(stats)


def _free(name: str, value: float) -> float:
    return float(logit(value) if name == "rho" else np.log(value))


@pytest.mark.slow
def test_parameters_are_recovered_within_three_standard_errors(fitted, truth) -> None:
    assert fitted.converged_ and not fitted.at_bound_
    true = truth.params()
    assert set(fitted.params_) == set(true)
    se = np.sqrt(np.diag(fitted.cov_free_))
    for i, name in enumerate(fitted.free_names_):
        gap = abs(fitted.free_[i] - _free(name, true[name]))
        assert gap <= 3 * se[i], f"{name}: {fitted.params_[name]:.4g} vs true {true[name]}"
        lo, hi = fitted.ci95_[name]
        assert lo < fitted.params_[name] < hi


def test_population_means_are_recovered(fitted, truth) -> None:
    means = fitted.population_summary()
    true = {"mean_p": truth.alpha / (truth.alpha + truth.beta),
            "mean_stop_buying": truth.gamma / (truth.gamma + truth.delta),
            "mean_leave": truth.kappa / (truth.kappa + truth.lam),
            "mean_seen": truth.epsilon / (truth.epsilon + truth.zeta)}  # fmt: skip
    for name, value in true.items():
        est, se = means[name]["estimate"], means[name]["se"]
        assert abs(est - value) <= 3 * se, f"{name}: {est:.5f} ± {se:.5f} vs {value:.5f}"


def test_plain_bgbb_is_recovered_without_activity_or_leaves() -> None:
    truth = TruthParams(kappa=None, epsilon=0.0, rho=0.0)
    stats = user_statistics(to_event_frame(generate_log(8_000, truth, seed=5)), CAL)
    model = tm.TwinModel().fit(stats)
    assert model.free_names_ == tm.BUY_PARAMS and not model.presence_
    se = np.sqrt(np.diag(model.cov_free_))
    for i, name in enumerate(model.free_names_):
        assert abs(model.free_[i] - np.log(truth.params()[name])) <= 3 * se[i], name


def test_more_data_narrows_the_intervals(fitted, truth) -> None:
    small = user_statistics(to_event_frame(generate_log(3_000, truth, seed=12)), CAL)
    few = tm.TwinModel().fit(small)
    for name in ("alpha", "beta", "epsilon"):
        assert few.se_[name] / few.params_[name] > fitted.se_[name] / fitted.params_[name]


def test_frequency_distribution_matches_the_generated_counts(fitted, stats, truth) -> None:
    expected = tm.frequency_distribution(truth.params(), True, stats["n"].to_numpy())
    observed = np.bincount(np.minimum(stats["x"], 7), minlength=8)
    assert expected.sum() == pytest.approx(len(stats))
    assert np.all(np.abs(observed - expected) <= 4 * np.sqrt(expected) + 5)


# --------------------------------------------------------------------------- each user


def test_posterior_orders_users_sensibly(fitted, stats) -> None:
    post = fitted.posterior(stats)
    assert np.all((post["p_buying"] <= post["p_present"] + 1e-12) & (post["p_present"] <= 1))
    left = stats["dead_at"].to_numpy() >= 0
    assert np.all(post["p_present"].to_numpy()[left] == 0)
    seen_today = (stats["t_a"] == stats["n"]).to_numpy() & ~left
    assert np.allclose(post["p_present"].to_numpy()[seen_today], 1.0)
    # a frequent recent buyer versus a one-time buyer long ago (same age)
    base = {"y": 0, "n": 200, "dead_at": -1}
    rows = pd.DataFrame([{**base, "x": 7, "t_x": 195, "t_a": 195},
                         {**base, "x": 1, "t_x": 10, "t_a": 10}])  # fmt: skip
    two = fitted.posterior(rows)
    assert two["p_buying"][0] > 2 * two["p_buying"][1]
    assert two["p_mean"][0] > 2 * two["p_mean"][1]
    h = fitted.expected_purchases(90, rows)
    assert h[0] > 10 * h[1]


def test_expected_purchases_agree_with_monte_carlo(fitted, stats) -> None:
    point = tm.TwinModel.from_params(fitted.params_, None, activity=fitted.activity_)
    sample = stats.iloc[:2000].reset_index(drop=True)
    fc = forecast(point, None, sample, 60, seed=3, draws=400)
    analytic = fc.weekly["expected_purchases"].iloc[-1]
    draws = fc.weekly[["purchases_lo95", "purchases_hi95"]].iloc[-1]
    assert draws["purchases_lo95"] < analytic < draws["purchases_hi95"]
    assert point.expected_purchases(60, sample).sum() == pytest.approx(analytic)


def test_no_repeat_purchases_cannot_be_fitted() -> None:
    events = _frame([("a", "2024-01-01", "join", np.nan), ("a", "2024-01-02", "active", np.nan)])
    with pytest.raises(tm.FitError, match="no repeat purchase"):
        tm.TwinModel().fit(user_statistics(events, "2024-01-10"))


def test_inconsistent_statistics_are_refused() -> None:
    bad = pd.DataFrame({"x": [3], "y": [0], "t_x": [2], "t_a": [2], "n": [5], "dead_at": [-1]})
    with pytest.raises(ValueError, match="one purchase a day"):
        tm.patterns(bad)


# --------------------------------------------------------------------------- spend


def test_spend_model_is_recovered(stats, truth) -> None:
    spend = tm.GammaGamma().fit(stats["x"], stats["mean_spend"])
    se = np.sqrt(np.diag(spend.cov_log_))
    for i, name in enumerate(tm.SPEND_PARAMS):
        assert abs(spend.log_params_[i] - np.log(truth.spend()[name])) <= 3 * se[i], name
    expected = spend.expected_spend(stats["x"], stats["mean_spend"])
    buyers = stats["x"].to_numpy() > 0
    # shrinkage: a buyer's expected spend lies between its own mean and the population mean
    own = stats["mean_spend"].to_numpy()[buyers]
    mean = spend.population_summary()["mean_spend_per_purchase_day"]
    lo, hi = np.minimum(own, mean), np.maximum(own, mean)
    assert np.all((expected[buyers] >= lo - 1e-6) & (expected[buyers] <= hi + 1e-6))
    assert np.allclose(expected[~buyers], mean)


# --------------------------------------------------------------------------- the price ladder


def test_price_ladder_splits_distinct_orders_and_pools_rare_and_equal_ones() -> None:
    from sim.twin.rfm import MIN_LADDER_DAYS, price_ladder

    rng = np.random.default_rng(0)
    # 60 users buy 3 times: 9.9, then ~1000 twice (same price level); 5 also a 4th time (rare)
    per_user = [3 + (u < 5) for u in range(60)]
    codes = np.repeat(np.arange(60), per_user)
    order = np.concatenate([np.arange(1, k + 1) for k in per_user])
    spend = np.where(order == 1, 9.9, rng.normal(1000.0, 50.0, order.size))
    counted = order > 1  # the first purchase was on the birth day
    ladder, level = price_ladder(codes, spend, counted)
    assert 5 < MIN_LADDER_DAYS <= 60
    assert ladder["starts"] == [1, 2] and ladder["days"] == [60, 125]
    assert ladder["levels"] == pytest.approx([9.9, spend[order > 1].mean()])
    assert ladder["reference_level"] == pytest.approx(level[counted].mean())
    assert price_ladder(np.zeros(0, np.int64), np.zeros(0), np.zeros(0, bool))[0] is None


def test_ladder_factor_prices_each_order_against_the_users_own_level() -> None:
    spend = tm.GammaGamma.from_params({"p": 5.0, "q": 4.0, "v": 30.0}, 40.0)
    assert np.all(spend.ladder_factor(np.array([1, 5]), np.array([np.nan, 2.0])) == 1.0)
    ladder = {
        "starts": [1, 2],
        "levels": [10.0, 1000.0],
        "days": [50, 40],
        "reference_level": 100.0,
    }
    spend.set_ladder(ladder)
    factor = spend.ladder_factor(np.array([1, 2, 7, 2]), np.array([10.0, 10.0, 1000.0, np.nan]))
    assert factor == pytest.approx([1.0, 100.0, 1.0, 10.0])
    one_step = {"starts": [1], "levels": [12.0], "days": [90], "reference_level": 12.0}
    assert spend.set_ladder(one_step).ladder_ is None  # a single level is no ladder


def test_a_flat_log_has_a_single_step_and_an_unchanged_spend_forecast(stats, fitted) -> None:
    ladder = stats.attrs["price_ladder"]  # the generated spend does not depend on the order
    assert ladder["starts"] == [1]
    spend = tm.GammaGamma().fit(stats["x"], stats["mean_spend"]).set_ladder(ladder)
    assert spend.ladder_ is None
    fc = forecast(fitted, spend, stats, 60, seed=3, draws=40)
    assert np.all(fc.users["ladder_factor"] == 1.0)
