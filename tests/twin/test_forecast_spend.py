"""The forecast's spend draw: one Gamma(k·p, ν) per user and draw for its k purchases has the
analytic mean of k separate Gamma(p, ν) purchase spends (known case), and the ladder's
multipliers are summed exactly."""

from __future__ import annotations

import numpy as np

from sim.twin import forecast as fc
from sim.twin.model import GammaGamma


def _cols(users: int, x: float, mean_spend: float) -> dict[str, np.ndarray]:
    return {
        "x": np.full(users, x),
        "n": np.full(users, 100.0),
        "mean_spend": np.full(users, mean_spend),
        "purchase_days": np.full(users, int(x) + 1, np.int64),
        "ladder_level": np.full(users, np.nan),
    }


def test_a_draws_spend_has_the_gamma_gamma_mean_of_its_purchases() -> None:
    p, q, v, x, m, k = 3.0, 4.0, 20.0, 2.0, 10.0, 3
    users, draws, horizon = 20_000, 20, 28
    counts = np.full((users, draws), k, np.int64)
    days = np.full((users, draws), horizon, np.int64)
    weeks = fc.week_ends(horizon)
    weekly_purchases = np.zeros((draws, weeks.size))
    weekly_spend = np.zeros((draws, weeks.size))
    amounts, factor = fc._place_and_price(
        np.random.default_rng(7), counts, days, None, np.array([[p, q, v]]), _cols(users, x, m),
        np.searchsorted(weeks, np.arange(1, horizon + 1), side="left"),
        weekly_purchases, weekly_spend,
    )  # fmt: skip
    # each purchase: E[Gamma(p, ν)] = p·E[1/ν], ν ~ Gamma(q + p·x, rate v + x·m̄)
    per_purchase = p * (v + x * m) / (q + p * x - 1.0)
    assert abs(amounts.mean() / (k * per_purchase) - 1.0) < 0.01
    assert np.all(factor == 1.0)
    assert np.all(weekly_purchases.sum(axis=1) == users * k)
    np.testing.assert_allclose(weekly_spend.sum(axis=1), amounts.sum(axis=0))


def test_the_ladder_sum_is_the_sum_of_the_purchases_multipliers() -> None:
    ladder = {"starts": [1, 3, 6], "levels": [1.0, 2.0, 4.0], "days": [0, 0, 0]}
    spend = GammaGamma().set_ladder({**ladder, "reference_level": 2.0})
    first = np.array([1, 2, 5, 9, 4])
    count = np.array([0, 1, 3, 2, 6])
    own = np.array([np.nan, 1.0, 4.0, np.nan, 2.0])
    direct = [
        spend.ladder_factor(np.arange(f, f + c), np.full(c, o)).sum()
        for f, c, o in zip(first, count, own, strict=True)
    ]
    np.testing.assert_allclose(spend.ladder_sum(first, count, own), direct)
