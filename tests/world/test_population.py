"""Population columns: appends keep every user's values and growth goes where it is told; the
initial base's compiled draws compute what the numpy expressions they replaced computed."""

from __future__ import annotations

import numpy as np
import pytest

from sim.world import arrivals
from sim.world.population import (
    GROWTH,
    LINE,
    PAGE,
    USER_COLUMNS,
    Population,
    staggered_full,
)


def _users(first_uid: int, count: int) -> dict[str, np.ndarray]:
    uid = np.arange(first_uid, first_uid + count, dtype=np.uint64)
    return {"uid": uid, "age": (uid % 50 + 18).astype(np.int16)}


def test_growing_to_a_foreseen_capacity_keeps_users_and_fills_new_slots():
    pop = Population(capacity=100)
    pop.append(_users(0, 100))
    pop.reserve(50, capacity=1_000)
    assert pop.capacity == 1_000
    slots = pop.append(_users(100, 50))
    assert slots.tolist() == list(range(100, 150))
    np.testing.assert_array_equal(pop.col("uid"), np.arange(150, dtype=np.uint64))
    np.testing.assert_array_equal(pop.col("age"), (np.arange(150) % 50 + 18).astype(np.int16))
    for name, (_, fill) in USER_COLUMNS.items():
        if name not in ("uid", "age"):
            assert (pop.col(name) == fill).all(), name
    assert all(pop.arrays()._asdict()[name].shape[0] == 1_000 for name in USER_COLUMNS)


def test_a_capacity_too_small_for_the_arrivals_falls_back_to_the_growth_factor():
    pop = Population(capacity=100)
    pop.append(_users(0, 100))
    pop.reserve(10, capacity=105)  # less than the 110 needed
    assert pop.capacity >= max(110, int(GROWTH * 100))
    pop.reserve(5, capacity=10_000)  # there is room already: nothing moves
    assert pop.capacity < 10_000


@pytest.mark.parametrize("span", [1, 40, 10**7])
def test_join_order_is_a_stable_argsort(span):
    days = np.random.default_rng(span).integers(-span, 1, 5000).astype(np.int32)
    expected = np.argsort(days, kind="stable")
    assert arrivals.join_order(days).tolist() == expected.tolist()
    assert arrivals.join_order(days[:0]).tolist() == []


def test_categorical_draws_are_the_inverse_cdf():
    u = np.random.default_rng(3).random(20_000)
    u[:4] = [0.0, 0.2, 0.5, np.nextafter(1.0, 0.0)]  # on and next to the edges
    weights = [0.2, 0.0, 0.3, 0.5]
    cum = np.cumsum(weights) / np.sum(weights)
    expected = np.searchsorted(cum, u, side="right").astype(np.int8)
    assert arrivals._categorical(u, weights).tolist() == expected.tolist()


def test_poisson_counts_follow_the_inverse_cdf_term_by_term():
    rng = np.random.default_rng(4)
    u, lam = rng.random(20_000), rng.gamma(1.0, 3.0, 20_000)
    lam[:3] = [0.0, 1e-300, 40.0]
    k, p = np.zeros(u.shape, np.int64), np.exp(-lam)  # the terms added one at a time
    cdf = p.copy()
    for i in range(1, 60):
        below = u >= cdf
        k += below
        p = p * lam / i
        cdf = cdf + p
    assert arrivals._poisson_inverse(u, lam).tolist() == k.tolist()


def _page_offsets(pop: Population) -> set[int]:
    return {column.ctypes.data % PAGE for column in pop.arrays()}


def test_columns_start_at_different_places_in_a_page_before_and_after_growing():
    pop = Population(capacity=300_000)
    assert len(_page_offsets(pop)) == min(len(USER_COLUMNS), PAGE // LINE)
    pop.append(_users(0, 300_000))
    pop.reserve(1, capacity=400_000)
    assert len(_page_offsets(pop)) == min(len(USER_COLUMNS), PAGE // LINE)
    np.testing.assert_array_equal(pop.col("uid"), np.arange(300_000, dtype=np.uint64))


def test_a_staggered_column_is_the_full_array_it_replaces():
    for slot, (dtype, fill) in enumerate([(np.float32, 0.3), (np.int8, 2), (np.uint64, 7)]):
        column = staggered_full(1_000, fill, dtype, slot)
        np.testing.assert_array_equal(column, np.full(1_000, fill, dtype))
        assert column.dtype == np.dtype(dtype) and column.flags.c_contiguous
        assert column.ctypes.data % LINE == 0
