"""The action vocabulary (:class:`sim.world.actions.Operations`): each action's effect on the inbox
or
state, its cost booked per user and per strategy, churned users skipped for free, clear errors on
bad arguments, and read-only views for strategies.
"""

from __future__ import annotations

import numpy as np
import pytest

from sim.world.actions import ACTION_COLUMNS, Operations
from sim.world.lifecycle import POTENTIAL


def ledger_rows(sim, strategy: str) -> list:
    return [r for r in sim.ledger.rows if r[1] == strategy]


def everyone(sim) -> np.ndarray:
    return np.arange(sim.pop.n)


def check_booking(sim, strategy, action, users, money_each, hours_each=0.0, units_each=1):
    """The last ledger row of ``strategy`` books ``action`` on ``users`` at the given prices."""
    day, who, what, n, units, money, hours = ledger_rows(sim, strategy)[-1]
    assert (day, who, what) == (sim.day, strategy, action)
    assert n == len(users) and units == n * units_each
    assert money == pytest.approx(n * money_each)
    assert hours == pytest.approx(n * hours_each)


@pytest.fixture
def world(finished_sim):
    sim = finished_sim
    reachable = np.flatnonzero(sim.pop.col("churn_day") < 0)
    churned = np.flatnonzero(sim.pop.col("churn_day") >= 0)
    return sim, Operations(sim, "probe"), reachable, churned


ACTION_CALLS = {
    "push_content": lambda ops, u: ops.push_content(u, "free"),
    "send_promo": lambda ops, u: ops.send_promo(u, count=2),
    "give_coupon": lambda ops, u: ops.give_coupon(u, 0.2, valid_days=5),
    "contact_1v1": lambda ops, u: ops.contact_1v1(u),
    "reward": lambda ops, u: ops.reward(u, points=5, gift=2.0),
    "invite_to_group": lambda ops, u: ops.invite_to_group(u),
    "remove_from_group": lambda ops, u: ops.remove_from_group(u),
    "referral_incentive": lambda ops, u: ops.referral_incentive(u, value=20.0, days=21),
}


def test_every_action_is_covered():
    assert set(ACTION_CALLS) == set(ACTION_COLUMNS)


@pytest.mark.parametrize("action", list(ACTION_CALLS))
def test_churned_users_are_skipped_and_cost_nothing(world, action):
    sim, ops, reachable, churned = world
    cost_before = sim.pop.col("cost").copy()
    hours_before = sim.pop.col("operator_hours").copy()
    state_before = {c: sim.pop.col(c)[churned].copy()
                    for c in ("inbox_promo", "inbox_content", "inbox_contact", "inbox_reward",
                              "coupon_expiry", "group", "trust", "points", "inbox_timing",
                              "share_boost", "share_until")}  # fmt: skip
    assert ACTION_CALLS[action](ops, churned) == 0
    _, _, what, n, units, money, hours = ledger_rows(sim, "probe")[-1]
    assert (what, n, units, money, hours) == (action, 0, 0, 0.0, 0.0)
    assert (sim.pop.col("cost") == cost_before).all()
    assert (sim.pop.col("operator_hours") == hours_before).all()
    for column, before in state_before.items():
        assert (sim.pop.col(column)[churned] == before).all(), column
    # mixed with reachable users, only the reachable ones count
    mixed = np.concatenate([churned[:20], reachable[:20]])
    assert ACTION_CALLS[action](ops, mixed) <= 20
    assert (sim.pop.col("cost")[churned] == cost_before[churned]).all()


def test_push_content_relevance_and_cost(world):
    sim, ops, reachable, _ = world
    w = sim.world.behaviour.relevance_stage_weight
    potential = reachable[sim.pop.col("stage")[reachable] == POTENTIAL][:50]
    before = sim.pop.col("cost")[potential].copy()
    assert ops.push_content(np.concatenate([potential, potential]), "free") == len(potential)
    assert (sim.pop.col("inbox_content")[potential] == 1).all()  # duplicates count once
    np.testing.assert_allclose(sim.pop.col("inbox_relevance")[potential], 1.0)  # stage+own taste
    check_booking(sim, "probe", "push_content", potential, sim.world.costs.message)
    np.testing.assert_allclose(sim.pop.col("cost")[potential] - before, sim.world.costs.message)
    ops.push_content(potential, "member", "finance")
    likes_finance = sim.pop.col("preference")[potential] == 3
    np.testing.assert_allclose(sim.pop.col("inbox_relevance")[potential],
                               1.0 + np.where(likes_finance, 1 - w, 0.0), rtol=1e-6)  # fmt: skip


def test_send_promo_counts_messages(world):
    sim, ops, reachable, _ = world
    users = reachable[:100]
    assert ops.send_promo(users, count=3) == 100
    assert (sim.pop.col("inbox_promo")[users] == 3).all()
    check_booking(sim, "probe", "send_promo", users, 3 * sim.world.costs.message, units_each=3)
    ops.send_promo(users[:1], count=300)  # the inbox saturates instead of wrapping around
    assert sim.pop.col("inbox_promo")[users[0]] == 255


def test_a_timed_promo_adds_its_segment_fit_and_a_peak_beats_a_trough(world):
    sim, ops, reachable, _ = world
    users = reachable[:200]
    ops.send_promo(users, hour=-1)
    peak = sim.pop.col("inbox_timing")[users].copy()
    ops.send_promo(users, hour=-2)
    trough = sim.pop.col("inbox_timing")[users] - peak
    assert (peak > 0).all() and (trough < 0).all()
    np.testing.assert_allclose(peak, sim.hour_fit.max(axis=1)[sim.pop.col("occupation")[users]])
    before = sim.pop.col("inbox_timing")[users].copy()
    ops.send_promo(users)  # no hour: an average hour, fit 0
    np.testing.assert_array_equal(sim.pop.col("inbox_timing")[users], before)
    with pytest.raises(ValueError, match="hour must be 0-23"):
        ops.push_content(users, "free", hour=30)


def test_referral_incentive_boost_diminishes_with_value_and_ends(world):
    sim, ops, reachable, _ = world
    users = reachable[:30]
    ref = sim.world.referral
    boosts = []
    for value in (5.0, 20.0, 80.0):
        ops.referral_incentive(users, value=value, days=21)
        boosts.append(float(sim.pop.col("share_boost")[users[0]]))
    assert boosts[0] < boosts[1] < boosts[2] < ref.incentive_share_logit
    assert boosts[1] - boosts[0] > boosts[2] - boosts[1]  # diminishing returns
    assert (sim.pop.col("share_until")[users] == sim.day + 20).all()
    check_booking(sim, "probe", "referral_incentive", users, 0.0)
    ops.end_referral_incentive(users[:10])
    assert (sim.pop.col("share_until")[users[:10]] == -1).all()
    with pytest.raises(ValueError, match="value must be > 0"):
        ops.referral_incentive(users, value=0.0, days=5)


def test_give_coupon_sets_offer_and_cost(world):
    sim, ops, reachable, _ = world
    users = reachable[:80]
    assert ops.give_coupon(users, 0.25, valid_days=7) == 80
    np.testing.assert_allclose(sim.pop.col("coupon_discount")[users], 0.25)
    assert (sim.pop.col("coupon_expiry")[users] == sim.day + 6).all()
    check_booking(sim, "probe", "give_coupon", users, sim.world.costs.coupon_issue)
    ops.give_coupon(users[:10], 0.5, valid_days=1)  # a newer coupon replaces the older
    np.testing.assert_allclose(sim.pop.col("coupon_discount")[users[:10]], 0.5)
    assert (sim.pop.col("coupon_expiry")[users[:10]] == sim.day).all()


def test_contact_books_operator_time(world):
    sim, ops, reachable, _ = world
    users = reachable[:30]
    c = sim.world.costs
    hours_before = sim.pop.col("operator_hours")[users].copy()
    assert ops.contact_1v1(users) == 30
    assert (sim.pop.col("inbox_contact")[users] == 1).all()
    hours = c.contact_minutes / 60
    check_booking(sim, "probe", "contact_1v1", users, hours * c.operator_hourly, hours)
    np.testing.assert_allclose(sim.pop.col("operator_hours")[users] - hours_before, hours,
                               rtol=1e-6)  # fmt: skip
    ops.contact_1v1(users, minutes=30)
    check_booking(sim, "probe", "contact_1v1", users, 0.5 * c.operator_hourly, 0.5)


def test_reward_books_gift_and_points(world):
    sim, ops, reachable, _ = world
    users = reachable[:40]
    points_before = sim.pop.col("points")[users].copy()
    assert ops.reward(users, points=100, gift=3.0) == 40
    np.testing.assert_allclose(sim.pop.col("points")[users] - points_before, 100)
    assert (sim.pop.col("inbox_reward")[users] == 1).all()
    check_booking(sim, "probe", "reward", users, 3.0 + 100 * sim.world.costs.point_value)


def test_costs_are_booked_per_strategy(world):
    sim, _, reachable, _ = world
    a, b = Operations(sim, "a"), Operations(sim, "b")
    a.send_promo(reachable[:10])
    b.send_promo(reachable[:30], count=2)
    b.reward(reachable[:5], gift=1.0)
    assert [r[2:5] for r in ledger_rows(sim, "a")] == [("send_promo", 10, 10)]
    assert [r[2:5] for r in ledger_rows(sim, "b")] == [("send_promo", 30, 60), ("reward", 5, 5)]
    today = sim.ledger.close_day()
    assert today["messages_promo"] == 70 and today["rewards"] == 5
    assert today["cost_money"] == pytest.approx(70 * sim.world.costs.message + 5.0)


@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda ops, u: ops.push_content(u, "premium"), ValueError, "tier"),
        (lambda ops, u: ops.push_content(u, "free", "cooking"), ValueError, "category"),
        (lambda ops, u: ops.send_promo(u, count=0), ValueError, "count"),
        (lambda ops, u: ops.give_coupon(u, 0.0, 7), ValueError, "discount"),
        (lambda ops, u: ops.give_coupon(u, 1.0, 7), ValueError, "discount"),
        (lambda ops, u: ops.give_coupon(u, -0.2, 7), ValueError, "discount"),
        (lambda ops, u: ops.give_coupon(u, 1.5, 7), ValueError, "discount"),
        (lambda ops, u: ops.give_coupon(u, 0.5, 0), ValueError, "valid_days"),
        (lambda ops, u: ops.contact_1v1(u, minutes=0), ValueError, "minutes"),
        (lambda ops, u: ops.reward(u), ValueError, "points or gift"),
        (lambda ops, u: ops.reward(u, points=-1, gift=5), ValueError, "points or gift"),
        (lambda ops, u: ops.send_promo(np.array([-1])), IndexError, "out of range"),
        (lambda ops, u: ops.send_promo(np.array([0, ops.n_users])), IndexError, "out of range"),
        (lambda ops, u: ops.invite_to_group(np.array([ops.n_users + 5])), IndexError, "probe"),
    ],
)
def test_invalid_arguments_raise_clear_errors(world, call, error, words):
    sim, ops, reachable, _ = world
    rows = len(sim.ledger.rows)
    cost = sim.pop.col("cost").copy()
    with pytest.raises(error, match=words):
        call(ops, reachable[:10])
    assert len(sim.ledger.rows) == rows  # nothing booked
    assert (sim.pop.col("cost") == cost).all()


def test_fields_are_read_only_views(world):
    sim, ops, reachable, _ = world
    trust = ops.field("trust")
    assert trust.shape == (sim.pop.n,)
    with pytest.raises(ValueError, match="read-only"):
        trust[0] = 1.0
    with pytest.raises(ValueError, match="read-only"):
        trust += 0.1
    with pytest.raises(ValueError, match="read-only"):
        np.add(trust, 1, out=trust)
    with pytest.raises(ValueError):
        trust.flags.writeable = True
    # a view, not a snapshot: it shows what actions do
    uid_view = ops.field("inbox_promo")
    ops.send_promo(reachable[:3])
    assert (uid_view[reachable[:3]] == 1).all()
    assert set(ops.reachable()) == set(reachable)


def test_reachable_is_read_only_and_acts_as_a_copy_of_it_would(world):
    sim, ops, reachable, churned = world
    users = ops.reachable()
    assert users.tolist() == reachable.tolist()
    with pytest.raises(ValueError):
        users[0] = churned[0]
    with pytest.raises(ValueError):
        users.flags.writeable = True
    before = sim.pop.col("inbox_promo").copy()
    ops.send_promo(users)  # today's reachable array: taken as it is
    ops.send_promo(users.copy())  # any other array: checked slot by slot
    assert (sim.pop.col("inbox_promo") - before).tolist() == [
        2 if u in set(reachable.tolist()) else 0 for u in range(sim.pop.n)
    ]
    assert ops.last_users.tolist() == reachable.tolist()


def test_an_old_reachable_array_is_checked_again(world):
    sim, ops, reachable, churned = world
    users = ops.reachable()
    sim.pop.col("churn_day")[reachable[:5]] = sim.day  # churned since (as a later day would see)
    sim.day += 1
    try:
        assert ops.send_promo(users) == len(reachable) - 5
        assert not np.isin(ops.last_users, reachable[:5]).any()
    finally:
        sim.day -= 1
