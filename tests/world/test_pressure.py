"""Contact pressure: per-user caps across all strategies, operator capacity and the contact queue.

Checked against the per-user action rows the ledger keeps with ``keep_user_actions=True``.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from sim.config import parse_config
from sim.engine.policy import build_strategies
from sim.engine.simulation import Simulation
from sim.world.actions import Operations
from strategies.base import Strategy
from strategies.params import param


class Spammer(Strategy):
    """Test-only: ``promos`` promos (in ``batches`` calls) to everyone reachable every day."""

    name = "spammer"

    promos: int = param(1, "promos per call", low=0)
    batches: int = param(1, "calls per day", low=0)

    def on_day(self, ops: Operations) -> None:
        for _ in range(self.batches):
            ops.send_promo(ops.reachable(), count=self.promos)


class Caller(Strategy):
    """Test-only: on day 0 asks for 1v1 contacts with the first ``n`` reachable users."""

    name = "caller"

    n: int = param(30, "users to contact on day 0", low=0)

    def on_day(self, ops: Operations) -> None:
        if ops.day == 0:
            self.asked_ = ops.reachable()[: self.n]
            ops.contact_1v1(self.asked_)


def cfg(days: int = 21, **extra):
    data = {
        "name": "pressure-test", "seed": 3, "days": days,
        "population": {"initial_users": 800, "arrivals_per_day": {"organic": 5.0}},
        "output": {"groups": False, "plots": False}, **extra,
    }  # fmt: skip
    return parse_config(data, "test.yaml")


def run(config, strategies):
    sim = Simulation(config, strategies, keep_user_actions=True)
    return sim, sim.run().tables


def sent_per_user_day(sim: Simulation, action: str) -> dict[int, np.ndarray]:
    out: dict[int, np.ndarray] = defaultdict(lambda: np.zeros(sim.pop.n, np.int64))
    for day, _s, act, users, units in sim.ledger.user_rows:
        if act == action:
            np.add.at(out[day], users, units)
    return out


def test_caps_hold_across_strategies_per_day_and_week() -> None:
    config = cfg(pressure={"per_day": {"promo": 3}, "per_week": {"promo": 12}})
    strategies = [Spammer(promos=2), Spammer(promos=1, batches=2)]
    sim, tables = run(config, strategies)
    daily = sent_per_user_day(sim, "send_promo")
    grid = np.stack([daily[d] for d in range(config.days)])
    assert grid.max() == 3  # the cap binds and is never exceeded
    week = np.array([grid[max(0, d - 6) : d + 1].sum(axis=0) for d in range(config.days)])
    assert week.max() == 12
    assert tables["daily"]["capped_messages"].sum() > 0
    per_strategy = tables["pressure"].groupby("strategy")["capped_messages"].sum()
    assert per_strategy.sum() == tables["daily"]["capped_messages"].sum()


def test_default_pressure_changes_nothing() -> None:
    config = cfg(days=10, strategies=[{"name": "blanket", "params": {"promos_per_day": 2.0}}])
    sim, tables = run(config, build_strategies(config))
    assert "pressure" not in tables
    daily = tables["daily"]
    assert (daily[["capped_messages", "postponed_contacts", "dropped_contacts"]] == 0).all(None)
    join, churn = sim.pop.col("join_day"), sim.pop.col("churn_day")
    sent = sent_per_user_day(sim, "send_promo")
    for day in range(config.days):
        reachable = (join <= day) & ((churn < 0) | (churn >= day))
        assert np.array_equal(sent[day], 2 * reachable)


def test_operator_capacity_postpones_in_order_then_drops() -> None:
    config = cfg(days=6, pressure={"operators": 2, "contacts_per_operator_per_day": 5,
                                   "max_postpone_days": 1})  # fmt: skip
    sim, tables = run(config, [Caller(n=30)])
    asked = sim.strategies[0].asked_
    by_day = {d: u for d, _s, a, u, _n in sim.ledger.user_rows if a == "contact_1v1" and u.size}
    assert np.array_equal(by_day[0], asked[:10])
    assert np.array_equal(by_day[1], asked[10:20])  # postponed contacts come first, in order
    assert 2 not in by_day  # waited longer than max_postpone_days: dropped
    daily = tables["daily"].set_index("day")
    assert (daily["contacts_1v1"] <= 10).all()
    assert daily.loc[0, "postponed_contacts"] == 20 and daily.loc[1, "postponed_contacts"] == 10
    assert daily.loc[2, "dropped_contacts"] == 10


def test_postponed_contacts_all_happen_with_enough_patience() -> None:
    config = cfg(days=6, pressure={"operators": 1, "contacts_per_operator_per_day": 7,
                                   "max_postpone_days": 10})  # fmt: skip
    sim, tables = run(config, [Caller(n=30)])
    asked = sim.strategies[0].asked_
    rows = [(d, u) for d, _s, a, u, _n in sim.ledger.user_rows if a == "contact_1v1" and u.size]
    assert [d for d, _ in rows] == [0, 1, 2, 3, 4]
    done = np.concatenate([u for _, u in rows])
    alive = sim.pop.col("churn_day")[asked]
    assert set(done.tolist()) <= set(asked.tolist()) and len(done) <= 30
    assert (tables["daily"]["contacts_1v1"] <= 7).all()
    assert len(done) >= 30 - int((alive >= 0).sum())
