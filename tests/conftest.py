"""Shared small worlds for the behavioural tests.

A *small world* is the default world scaled down (4,000 initial users, 20 arrivals a day, 90
days) so a run takes a fraction of a second once numba has compiled. Session-scoped fixtures run
a few reference policies once and share their tables:

* ``none`` — no operations;
* ``blanket`` — the default blanket baseline (one promo a day to everyone);
* ``busy`` — :class:`Busy`, a test-only strategy that uses every action of the vocabulary
  (content, promos, coupons, delayed 1v1 contacts, invites, removals, rewards), so the money and
  conservation invariants are checked on every code path.

The fixtures ``make_config`` (:func:`small_config`), ``run_world`` (:func:`simulate`),
``make_blanket`` and ``make_busy`` build and run further worlds; ``finished_sim`` hands a finished
:class:`~sim.engine.simulation.Simulation` to tests that call actions directly.
"""

from __future__ import annotations

import copy
from typing import Any

import pandas as pd
import pytest

from sim.config import ExperimentConfig, parse_config
from sim.engine.simulation import Simulation
from sim.world.actions import Operations
from strategies.base import Strategy
from strategies.params import param
from strategies.registry import make_strategy

SMALL_USERS = 4_000
SMALL_DAYS = 90
SMALL_ARRIVALS = {"organic": 4.0, "ads": 8.0, "content": 4.0, "live": 4.0}  # 20 a day
SEED = 20261123


def _merge(base: dict, extra: dict) -> dict:
    """Recursive dict merge (``extra`` wins), leaving both inputs untouched."""
    out = copy.deepcopy(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def small_config(
    seed: int = SEED,
    days: int = SMALL_DAYS,
    users: int = SMALL_USERS,
    arrivals: dict[str, float] | None = None,
    **extra: Any,
) -> ExperimentConfig:
    """A validated config for a small world; ``extra`` is merged into the raw config."""
    data = {
        "name": "small",
        "seed": seed,
        "days": days,
        "population": {
            "initial_users": users,
            "arrivals_per_day": SMALL_ARRIVALS if arrivals is None else arrivals,
        },
    }
    return parse_config(_merge(data, extra), "<test>")


def simulate(config: ExperimentConfig, strategies=()) -> dict[str, pd.DataFrame]:
    """Run a world and return its tables."""
    return Simulation(config, list(strategies)).run().tables


def blanket(**params: Any) -> Strategy:
    return make_strategy("blanket", params)


class Busy(Strategy):
    """Test-only strategy touching every action, on deterministic slices of the population."""

    name = "busy"
    summary = "every action, a little"

    coupon: float = param(0.3, "share off the price of its coupons", low=0.01, high=0.99)

    def start(self, ops: Operations) -> None:
        ops.after(3, self._follow_up)

    def _follow_up(self, ops: Operations) -> None:
        ops.contact_1v1(ops.reachable()[::40])
        ops.after(3, self._follow_up)

    def on_day(self, ops: Operations) -> None:
        users = ops.reachable()
        uid = ops.field("uid")[users]
        ops.push_content(users[uid % 3 == 0], "free")
        if ops.day % 2 == 0:
            ops.send_promo(users[uid % 5 == 1], count=2)
        if ops.day % 7 == 0:
            ops.give_coupon(users[uid % 4 == 2], self.coupon, valid_days=7)
        ops.reward(users[uid % 50 == 3], points=10, gift=1.0)
        if ops.day % 5 == 0:
            loose = users[ops.field("group")[users] < 0]
            ops.invite_to_group(loose[::3])
        if ops.day % 10 == 5:
            grouped = users[ops.field("group")[users] >= 0]
            ops.remove_from_group(grouped[::97])
        if ops.day % 14 == 1:
            ops.referral_incentive(users[uid % 20 == 7], value=5.0, days=7)


@pytest.fixture(scope="session")
def make_config():
    return small_config


@pytest.fixture(scope="session")
def run_world():
    return simulate


@pytest.fixture(scope="session")
def make_blanket():
    return blanket


@pytest.fixture(scope="session")
def make_busy():
    return Busy


@pytest.fixture(scope="session")
def runs() -> dict[str, tuple[ExperimentConfig, dict[str, pd.DataFrame]]]:
    """The reference runs (config, tables) by policy name, all with the same seed."""
    cfg_busy = small_config(world={"costs": {"coupon_issue": 0.5}})
    cfg = small_config()
    return {
        "none": (cfg, simulate(cfg)),
        "blanket": (cfg, simulate(cfg, [blanket()])),
        "busy": (cfg_busy, simulate(cfg_busy, [Busy()])),
    }


@pytest.fixture(scope="session", params=["none", "blanket", "busy"])
def any_run(request, runs) -> tuple[ExperimentConfig, dict[str, pd.DataFrame]]:
    """Each reference run in turn (for invariants that must hold under any policy)."""
    return runs[request.param]


@pytest.fixture
def finished_sim() -> Simulation:
    """A small world run to its end (30 days, so some users have churned); tests may act on it."""
    sim = Simulation(small_config(days=30, users=2_000, world={"costs": {"coupon_issue": 0.5}}))
    sim.run()
    assert (sim.pop.col("churn_day") >= 0).any(), "the fixture needs some churned users"
    return sim
