"""The built-in strategies: each passes ``check_strategy``, each moves the world in its documented
direction against ``none`` on the same seed, the checker catches misbehaving strategies, and a
third-party strategy installed through the ``siyu.strategies`` entry point runs.

Direction tests compare paired runs (same seed, so base users keep their identity and their luck)
on the users a strategy acted on (recorded with ``keep_user_actions``), over two seeds.
"""

from __future__ import annotations

import functools
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.config import ConfigError
from sim.engine.simulation import Simulation
from sim.runs.check_strategy import check_config, check_strategy
from strategies.base import Strategy, UndeclaredParametersWarning
from strategies.params import param
from strategies.registry import BUILTIN, available, make_strategy
from strategies.value_paving import ValuePaving

SEEDS = (1, 2)
USERS, DAYS = 4_000, 60
NEW_STRATEGIES = (
    "tiered_content", "recall_coupon", "group_pruning", "new_user_followup", "progress_nudge",
    "vip_club", "koc_programme", "referral_rewards", "gamification", "content_calendar",
    "value_paving", "churn_warning",
)  # fmt: skip


class Run:
    """Tables of one run plus the user ids each action touched."""

    def __init__(self, tables: dict[str, pd.DataFrame], touched: dict[str, np.ndarray]) -> None:
        self.tables = tables
        self.touched = touched
        self.users = tables["users"].set_index("user_id")
        self.daily = tables["daily"]

    def all_touched(self) -> np.ndarray:
        if not self.touched:
            return np.zeros(0, np.int64)
        return np.unique(np.concatenate(list(self.touched.values())))


def run_strategies(strategies: list[Strategy], seed: int, **world) -> Run:
    config = check_config(users=USERS, days=DAYS, seed=seed)
    if world:
        config = config.model_copy(update={"world": config.world.model_validate(world)})
    sim = Simulation(config, strategies, keep_user_actions=True)
    tables = sim.run().tables
    uid = sim.pop.col("uid").astype(np.int64)
    parts: dict[str, list[np.ndarray]] = {}
    for _day, _strategy, action, slots, _units in sim.ledger.user_rows:
        parts.setdefault(action, []).append(uid[slots])
    return Run(tables, {a: np.unique(np.concatenate(v)) for a, v in parts.items()})


@functools.cache
def run(name: str, seed: int, **params) -> Run:
    strategies = [] if name == "none" else [make_strategy(name, params)]
    return run_strategies(strategies, seed)


def paired(name: str, seed: int, column: str, who: np.ndarray | None = None, **params):
    """(strategy, none) means of a users-table column over ``who`` (default: users touched)."""
    treated, base = run(name, seed, **params), run("none", seed)
    who = treated.all_touched() if who is None else who
    who = np.intersect1d(who, base.users.index.to_numpy())
    assert who.size > 0, f"{name} touched no base user"
    return treated.users.loc[who, column].mean(), base.users.loc[who, column].mean()


# -- conformance -----------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(BUILTIN))
def test_builtin_passes_check_strategy(name: str) -> None:
    tables = check_strategy(BUILTIN[name])
    if name not in ("none", "referral_rewards"):  # referrals to reward are rare in 30 days
        assert not tables["costs"].empty, f"{name} booked no action in the check world"


def test_every_new_strategy_is_registered_and_documented() -> None:
    for name in NEW_STRATEGIES:
        cls = available()[name]
        module = sys.modules[cls.__module__]
        doc = module.__doc__ or ""
        assert "Mechanism" in doc and "Parameters" in doc and "Cost" in doc, name
        assert "[00" in doc and "[00" in cls.source, name


def test_make_strategy_validates_ranges() -> None:
    with pytest.raises(ConfigError, match="discount"):
        make_strategy("recall_coupon", {"discount": 1.5})
    with pytest.raises(ConfigError, match="silent_days"):
        make_strategy("group_pruning", {"silent_days": 40})
    assert make_strategy("gamification", {"levels": [10, 20]}).levels == (10, 20)


class _Writes(Strategy):
    name, summary, source, cost_model = "writes", "x", "x", "x"

    delay: int = param(0, "days before the direct write", low=0)

    def on_day(self, ops) -> None:
        ops.after(self.delay, lambda o: o._sim.pop.col("trust").__setitem__(0, 1.0))


class _Stateful(Strategy):
    name, summary, source, cost_model = "stateful", "x", "x", "x"

    k: int = param(1, "unused")

    def __post_init__(self) -> None:
        super().__post_init__()
        self.seen_ = 0  # learned state before start: what the clone check catches


class _Global(Strategy):
    name, summary, source, cost_model = "global", "x", "x", "x"

    def on_day(self, ops) -> None:
        users = ops.reachable()
        ops.push_content(users[np.random.rand(users.size) < 0.1], "free")


@pytest.mark.parametrize(
    "bad, check", [(_Writes, "read-only"), (_Stateful, "clone"), (_Global, "global-rng")]
)
def test_check_strategy_catches_misbehaviour(bad: type[Strategy], check: str) -> None:
    with pytest.raises(AssertionError, match=rf"check_strategy\[{check}\]"):
        check_strategy(bad)


# -- directions against `none` ---------------------------------------------------------------
@pytest.mark.parametrize("seed", SEEDS)
def test_tiered_content_raises_trust_and_activity(seed: int) -> None:
    treated, base = run("tiered_content", seed), run("none", seed)
    assert treated.daily["trust_mean"].iloc[-1] > base.daily["trust_mean"].iloc[-1] + 0.05
    assert treated.daily["active"].sum() > 1.2 * base.daily["active"].sum()

    # users it keeps stay engaged: fewer lapse or delete (deletion alone barely moves: its base
    # hazard is not about content, and two small worlds can tie on it)
    def disengaged(r: Run) -> int:
        return int(r.daily["churned_today"].sum() + r.daily["lapses"].sum())

    assert disengaged(treated) < disengaged(base)


@pytest.mark.parametrize("seed", SEEDS)
def test_recall_coupon_issues_coupons_and_lifts_purchases_of_the_recalled(seed: int) -> None:
    treated = run("recall_coupon", seed)
    assert treated.daily["coupons_issued"].sum() > 0
    assert treated.tables["purchases"]["discount"].gt(0).any()
    shallow = np.setdiff1d(treated.touched["give_coupon"], treated.touched["contact_1v1"])
    bought, bought_none = paired("recall_coupon", seed, "purchases", shallow)
    assert bought > 1.1 * bought_none
    churned, churned_none = paired("recall_coupon", seed, "churned")
    assert churned < churned_none


@pytest.mark.parametrize("seed", SEEDS)
def test_group_pruning_caps_groups_and_raises_speaking_rate(seed: int) -> None:
    world = {"groups": {"capacity": 400}}
    treated = run_strategies([make_strategy("group_pruning", {"max_size": 150})], seed, **world)
    base = run_strategies([], seed, **world)
    assert base.tables["groups"]["size"].max() > 150
    assert treated.tables["groups"]["size"].max() <= 150
    tail = slice(DAYS - 30, DAYS)
    assert (
        treated.daily["group_speaking_rate"].iloc[tail].mean()
        > base.daily["group_speaking_rate"].iloc[tail].mean() + 0.005
    )
    removed = treated.touched["remove_from_group"]
    assert treated.users.loc[removed, "group_id"].lt(0).mean() > 0.8


@pytest.mark.parametrize("seed", SEEDS)
def test_new_user_followup_contacts_first_payers_and_raises_their_trust(seed: int) -> None:
    treated = run("new_user_followup", seed)
    contacted = treated.touched["contact_1v1"]
    first = treated.users.loc[contacted, "first_purchase_day"]
    assert (first >= 0).all() and treated.daily["operator_hours"].sum() > 0
    trust, trust_none = paired("new_user_followup", seed, "trust", contacted)
    assert trust > trust_none + 0.02


@pytest.mark.parametrize("seed", SEEDS)
def test_progress_nudge_rewards_learners_and_raises_their_trust(seed: int) -> None:
    treated = run("progress_nudge", seed)
    assert treated.daily["rewards"].sum() > 0
    trust, trust_none = paired("progress_nudge", seed, "trust", treated.touched["reward"])
    assert trust > trust_none + 0.03


@pytest.mark.parametrize("seed", SEEDS)
def test_vip_club_spends_operator_hours_and_raises_core_trust(seed: int) -> None:
    treated = run("vip_club", seed)
    members = treated.touched["push_content"]
    assert (treated.users.loc[members, "purchases"] + treated.users.loc[members, "prior_purchases"]
            >= 3).all()  # fmt: skip
    assert treated.daily["operator_hours"].sum() > run("none", seed).daily["operator_hours"].sum()
    trust, trust_none = paired("vip_club", seed, "trust", members)
    assert trust > trust_none + 0.1


@pytest.mark.parametrize("seed", SEEDS)
def test_koc_programme_rewards_engaged_low_value_users(seed: int) -> None:
    treated = run("koc_programme", seed)
    kocs = treated.touched["reward"]
    assert kocs.size > 50
    trust, trust_none = paired("koc_programme", seed, "trust", kocs)
    assert trust > trust_none + 0.015  # small rewards: trust grows with their ¥ value


@pytest.mark.parametrize("seed", SEEDS)
def test_referral_drive_brings_friends_and_pays_the_unlockers(seed: int) -> None:
    treated, base = run("referral_rewards", seed), run("none", seed)
    assert treated.daily["arrivals_referred"].sum() > 1.5 * base.daily["arrivals_referred"].sum()
    unlocked = treated.touched["reward"]
    assert unlocked.size > 0
    assert (treated.users.loc[unlocked, "referrals_made"] >= 3).all()  # the goal, default 3
    # each reward is booked: ¥20 per unlocker, nothing more
    assert treated.daily["cost_money"].sum() == pytest.approx(20.0 * unlocked.size)


@pytest.mark.parametrize("seed", SEEDS)
def test_gamification_raises_activity_and_points(seed: int) -> None:
    treated, base = run("gamification", seed), run("none", seed)
    assert treated.daily["active"].sum() > 1.03 * base.daily["active"].sum()
    assert treated.users["points"].sum() > base.users["points"].sum()
    # points are worth ¥0.01 each: their trust effect is small by design (MODEL.md §5.3, law 7)
    trust, trust_none = paired("gamification", seed, "trust")
    assert trust > trust_none


@pytest.mark.parametrize("seed", SEEDS)
def test_content_calendar_sells_more_than_none_with_less_fatigue_than_daily_promos(
    seed: int,
) -> None:
    treated, base = run("content_calendar", seed), run("none", seed)
    daily_promo = run("blanket", seed)
    assert treated.daily["purchases"].sum() > 1.5 * base.daily["purchases"].sum()
    assert treated.daily["fatigue_mean"].mean() < daily_promo.daily["fatigue_mean"].mean()
    assert treated.daily["churned_today"].sum() < daily_promo.daily["churned_today"].sum()


class _RecordingPaving(ValuePaving):
    """Value paving that records the trust of users at their first pitch."""

    def start(self, ops) -> None:
        self.pitched_trust_: list[float] = []
        self.pitched_: set[int] = set()

    def pitch(self, ops, users: np.ndarray) -> None:
        first = np.array([u for u in users.tolist() if u not in self.pitched_], np.int64)
        self.pitched_.update(first.tolist())
        self.pitched_trust_.extend(ops.field("trust")[first].tolist())
        super().pitch(ops, users)


def _first_pitch_trust(paving_days: int, seed: int) -> float:
    config = check_config(users=USERS, days=DAYS, seed=seed)
    sim = Simulation(config, [_RecordingPaving(paving_days=paving_days)])
    sim.run()
    return float(np.mean(sim.strategies[0].pitched_trust_))


@pytest.mark.parametrize("seed", SEEDS)
def test_value_paving_raises_trust_before_the_first_promo(seed: int) -> None:
    paved, hard_sell = _first_pitch_trust(7, seed), _first_pitch_trust(0, seed)
    assert paved > hard_sell + 0.02  # daily content wears out: each push adds less
    trust, trust_none = paired("value_paving", seed, "trust")
    assert trust > trust_none + 0.02  # newcomers only, and content wears out


@pytest.mark.parametrize("seed", SEEDS)
def test_churn_warning_contacts_at_risk_users_and_keeps_more_of_them(seed: int) -> None:
    treated = run("churn_warning", seed)
    assert treated.daily["operator_hours"].sum() > 0
    churned, churned_none = paired("churn_warning", seed, "churned")
    assert churned < churned_none
    trust, trust_none = paired("churn_warning", seed, "trust")
    assert trust > trust_none + 0.05


# -- third-party plugins ---------------------------------------------------------------------
PLUGIN = '''
"""A third-party strategy: a weekly free push to everyone."""
from strategies.base import Strategy
from strategies.params import param


class Weekly(Strategy):
    name = "weekly_plugin"
    summary = "a weekly free push"
    source = "test plugin"
    cost_model = "costs.message per push"

    weekday: int = param(0, "day of the week of the push (0 = Monday)", low=0, high=6)

    def on_day(self, ops) -> None:
        if ops.day % 7 == self.weekday:
            ops.push_content(ops.reachable(), "free")
'''


UNDECLARED_PLUGIN = '''
"""An older third-party strategy that writes its own __init__ and declares nothing."""
from strategies.base import Strategy


class Daily(Strategy):
    name = "daily_plugin"
    summary = "a daily free push"
    source = "test plugin"
    cost_model = "costs.message per push"

    def __init__(self, tier: str = "free") -> None:
        self.tier = tier

    def on_day(self, ops) -> None:
        ops.push_content(ops.reachable(), self.tier)
'''


def install_plugin(tmp_path: Path, monkeypatch, name: str, source: str, cls: str) -> None:
    """Install module ``siyu_<name>`` as a distribution with a ``siyu.strategies`` entry point."""
    (tmp_path / f"siyu_{name}.py").write_text(textwrap.dedent(source))
    dist = tmp_path / f"siyu_{name}-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: siyu-{name}\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(f"[siyu.strategies]\n{name} = siyu_{name}:{cls}\n")
    monkeypatch.syspath_prepend(str(tmp_path))


def test_entry_point_strategy_is_discovered_and_runs(tmp_path: Path, monkeypatch) -> None:
    install_plugin(tmp_path, monkeypatch, "weekly_plugin", PLUGIN, "Weekly")
    assert "weekly_plugin" in available()
    strategy = make_strategy("weekly_plugin", {"weekday": 2})
    tables = check_strategy(strategy)
    assert set(tables["costs"]["day"] % 7) == {2}
    assert tables["daily"]["messages_content"].sum() > 0
    with pytest.raises(ConfigError, match=r"weekday \(weekly_plugin\) must be an int in \[0, 6\]"):
        make_strategy("weekly_plugin", {"weekday": 7})


def test_undeclared_plugin_runs_with_a_warning_but_fails_the_check(tmp_path, monkeypatch) -> None:
    install_plugin(tmp_path, monkeypatch, "daily_plugin", UNDECLARED_PLUGIN, "Daily")
    with pytest.warns(UndeclaredParametersWarning, match="Daily"):
        assert "daily_plugin" in available()
    strategy = make_strategy("daily_plugin", {"tier": "camp"})
    assert strategy.get_params() == {"tier": "camp"}
    with pytest.raises(ConfigError, match="tierr.*did you mean 'tier'"):
        make_strategy("daily_plugin", {"tierr": "camp"})
    with pytest.raises(AssertionError, match=r"explicit-params.*without a param\(\) declaration"):
        check_strategy(strategy)
