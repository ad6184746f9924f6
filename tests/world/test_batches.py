"""The compiled loops of the action vocabulary (:mod:`sim.world.batches`) compute what the numpy
expressions they replaced computed, to the last bit, and sort out batches they cannot take."""

from __future__ import annotations

import numpy as np
import pytest

from sim.world import batches

N = 1000


@pytest.fixture
def users() -> np.ndarray:
    return np.flatnonzero(np.random.default_rng(1).random(N) < 0.6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("value", [0.1, 7, np.float64(0.1), np.float32(0.3)])
def test_add_each_rounds_as_numpy_does(users, dtype, value):
    start = np.random.default_rng(2).random(N).astype(dtype) * 100
    expected, got = start.copy(), start.copy()
    expected[users] += value
    batches.add_each(got, users, value)
    assert got.dtype == dtype and got.tobytes() == expected.tobytes()


def test_add_each_to_both_adds_to_each_column(users):
    a, b = np.zeros(N, np.float32), np.ones(N)
    batches.add_each_to_both(a, b, users, 0.1)
    assert a[users].tolist() == [np.float32(0.1)] * users.size
    assert b[users].tolist() == [1.1] * users.size
    assert not a[np.setdiff1d(np.arange(N), users)].any()


def test_saturating_add_stops_at_255(users):
    inbox = np.full(N, 250, np.uint8)
    batches.saturating_add(inbox, users, 3)
    batches.saturating_add(inbox, users, 3)
    assert set(inbox[users].tolist()) == {255} and inbox.sum() == 250 * N + 5 * users.size


def test_deliver_and_charge_is_a_saturating_add_and_two_additions(users):
    inbox, cost, account = np.zeros(N, np.uint8), np.zeros(N), np.zeros(N)
    batches.deliver_and_charge(users, inbox, 2, cost, account, 0.5)
    batches.deliver_and_charge(users, None, 2, cost, account, 0.5)  # charge only
    batches.deliver_and_charge(users, inbox, 2, cost, None, 0.5)  # deliver only
    assert inbox[users].tolist() == [4] * users.size
    assert cost[users].tolist() == [1.0] * users.size and account.sum() == cost.sum()


def test_set_each_casts_like_numpy(users):
    expected, got = np.zeros(N, np.float32), np.zeros(N, np.float32)
    expected[users] = 0.3
    batches.set_each(got, users, 0.3)
    assert got.tobytes() == expected.tobytes()


def test_add_from_table_reads_the_users_codes(users):
    rows, cols = np.arange(N) % 5, np.arange(N) % 3
    table = np.arange(15, dtype=np.float32).reshape(5, 3)
    got = np.zeros(N, np.float32)
    batches.add_from_table(got, users, table, rows, cols)
    assert got[users].tolist() == table[rows[users], cols[users]].tolist()


def test_reachable_among_keeps_reachable_users_in_the_audience(users):
    churn_day = np.where(np.arange(N) % 4 == 0, 3, -1).astype(np.int32)
    assigned = np.arange(N) % 2 == 1
    for audience, in_audience in ((batches.EVERYONE, True), (1, assigned), (0, ~assigned)):
        kept, status = batches.reachable_among(users, churn_day, assigned, audience)
        wanted = users[(churn_day[users] < 0) & np.broadcast_to(in_audience, N)[users]]
        assert status == batches.IN_ORDER and kept.tolist() == wanted.tolist()


@pytest.mark.parametrize(
    ("batch", "status"),
    [([3, 2], batches.UNSORTED), ([2, 2], batches.UNSORTED), ([1, N], batches.OUT_OF_RANGE),
     ([-1, 2], batches.OUT_OF_RANGE)],
)  # fmt: skip
def test_reachable_among_refuses_what_it_cannot_take(batch, status):
    churn_day, assigned = np.full(N, -1, np.int32), np.zeros(N, bool)
    kept, found = batches.reachable_among(np.array(batch), churn_day, assigned, batches.EVERYONE)
    assert found == status and kept.size == 0


def test_under_caps_applies_the_day_and_week_caps():
    counts = np.zeros((7, 4), np.int32)
    counts[2] = [0, 1, 2, 0]  # today
    counts[5] = [0, 0, 0, 3]  # earlier this week
    users = np.arange(4)
    assert batches.under_caps(counts, 2, users, 1, 2, batches.NO_CAP).tolist() == [0, 1, 3]
    assert batches.under_caps(counts, 2, users, 1, batches.NO_CAP, 3).tolist() == [0, 1, 2]
    assert batches.under_caps(counts, 2, users, 1, 1, 3).tolist() == [0]
    assert batches.under_caps(counts, 2, users, 2, batches.NO_CAP, batches.NO_CAP).size == 4


@pytest.mark.parametrize("audience", [batches.EVERYONE, 0, 1])
def test_reachable_slots_is_flatnonzero_of_the_mask(audience):
    rng = np.random.default_rng(4)
    churn_day = np.where(rng.random(N) < 0.3, 5, -1).astype(np.int32)
    assigned = rng.random(N) < 0.5
    ok = churn_day < 0
    if audience != batches.EVERYONE:
        ok &= assigned == bool(audience)
    got = batches.reachable_slots(churn_day, assigned, audience, np.empty(N + 7, np.int64))
    assert got.dtype == np.int64 and got.tolist() == np.flatnonzero(ok).tolist()


def test_recycled_buffers_are_not_taken_while_in_use():
    pool = batches.Recycled()
    held = pool.take(10)[:4]  # a view keeps its buffer busy
    other = pool.take(10)
    assert other.base is not held.base and other is not held.base
    del held
    assert pool.take(10, 50).shape[0] >= 10  # a free buffer (or a new one) of enough slots
    assert pool.take(100, 200).shape[0] == 200
