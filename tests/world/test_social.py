"""Group composition (sim/world/social.py, docs/MODEL.md §6b): the draws and pressures on known
cases, the invariants of pruning (users conserved, a pruned member leaves once, group sizes
consistent), the cost of a wrongful removal, and the direction of each effect on small worlds."""

from __future__ import annotations

import numpy as np
import pytest

from sim.engine.simulation import Simulation
from sim.world.actions import Operations
from sim.world.params import SocialParams
from sim.world.social import (
    draw_disruptive,
    flag_disruptive,
    group_pressure,
    random_members,
    wrongly_removed_hit,
)
from strategies.registry import make_strategy

UIDS = np.arange(1, 200_001, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)


def test_disruptive_draw_has_the_share_and_is_the_same_user_whatever_the_order() -> None:
    flags = draw_disruptive(7, UIDS, 0.03)
    assert abs(flags.mean() - 0.03) < 0.002
    order = np.random.default_rng(0).permutation(UIDS.size)
    assert np.array_equal(draw_disruptive(7, UIDS[order], 0.03), flags[order])
    assert not draw_disruptive(7, UIDS, 0.0).any()


def test_flags_catch_recent_disruptive_speakers_far_more_than_ordinary_ones() -> None:
    social = SocialParams(flag_disruptive=0.7, flag_innocent=0.02)
    disruptive = np.arange(UIDS.size) % 10 == 0
    spoke = np.full(UIDS.size, 1, np.uint32)
    flagged = flag_disruptive(3, 5, UIDS, disruptive, spoke, social)
    assert abs(flagged[disruptive].mean() - 0.7) < 0.01
    assert abs(flagged[~disruptive].mean() - 0.02) < 0.002
    silent_long = np.full(UIDS.size, 1 << 20, np.uint32)  # spoke 20 days ago only
    assert not flag_disruptive(3, 5, UIDS, disruptive, silent_long, social).any()


def test_group_pressure_is_bounded_saturating_and_zero_for_dead_groups() -> None:
    social = SocialParams()
    posters = np.array([0, 1, 2, 4, 50, 3])
    kocs = np.array([0, 1, 2, 3, 9, 5])
    size = np.array([200, 200, 200, 200, 200, 200])
    alive = np.array([True] * 5 + [False])
    d, k = group_pressure(posters, kocs, size, alive, social)
    assert d[0] == 0.0 and k[0] == 0.0
    assert np.all(np.diff(d[:5]) > 0) and np.all(np.diff(k[:5]) > 0)
    assert np.all(d <= 1.0) and np.all(k <= 1.0) and d[3] < 1.0
    assert d[5] == 0.0 and k[5] == 0.0
    assert k[2] - k[1] < k[1] - k[0]  # the second KOC adds less than the first


def test_random_members_takes_the_quota_of_each_group() -> None:
    group = np.repeat(np.arange(4), 50)
    quota = np.array([3, 0, 50, 7])
    picked = random_members(11, 2, UIDS[: group.size], group, quota)
    assert np.array_equal(np.bincount(group[picked], minlength=4), quota)
    assert np.unique(picked).size == picked.size


def test_wrongful_removals_hit_only_their_own_groups_members() -> None:
    user_group = np.array([0, 0, 1, 1, -1])
    hit = wrongly_removed_hit(user_group, np.array([1, 1]), 2, 0.003)
    assert np.allclose(hit, [0.0, 0.0, 0.006, 0.006, 0.0])


# -- the world -------------------------------------------------------------------------------


def _ordinary_speaker(sim: Simulation) -> int:
    pop = sim.pop
    speaking = (pop.col("speak_bits") & 0x7F) != 0
    ordinary = ~pop.col("disruptive") & (pop.col("group") >= 0) & (pop.col("churn_day") < 0)
    return int(np.flatnonzero(speaking & ordinary)[0])


def test_removing_an_ordinary_speaker_costs_the_rest_of_its_group_trust(finished_sim) -> None:
    sim, pop = finished_sim, finished_sim.pop
    target = _ordinary_speaker(sim)
    group = pop.col("group")[target]
    mates = np.flatnonzero(pop.col("group") == group)
    mates = mates[(mates != target) & (pop.col("trust")[mates] > 0.01)]
    others = np.flatnonzero((pop.col("group") >= 0) & (pop.col("group") != group))
    before, before_others = pop.col("trust")[mates].copy(), pop.col("trust")[others].copy()
    Operations(sim, "test").remove_from_group(np.array([target]))
    loss = sim.world.social.group_trust_loss_per_innocent
    assert pop.col("group")[target] == -1
    assert np.allclose(before - pop.col("trust")[mates], loss, atol=1e-6)
    assert np.array_equal(pop.col("trust")[others], before_others)


def test_removing_a_disruptor_costs_the_group_nothing(finished_sim) -> None:
    pop = finished_sim.pop
    disruptors = np.flatnonzero(pop.col("disruptive") & (pop.col("group") >= 0))
    target = disruptors[0]
    mates = np.flatnonzero(pop.col("group") == pop.col("group")[target])
    mates = mates[mates != target]
    before = pop.col("trust")[mates].copy()
    Operations(finished_sim, "test").remove_from_group(np.array([target]))
    assert np.array_equal(pop.col("trust")[mates], before)


def test_strategies_cannot_read_who_is_disruptive(finished_sim) -> None:
    with pytest.raises(KeyError, match="hidden from strategies"):
        Operations(finished_sim, "test").field("disruptive")


def _pruned_world(make_config, remove: str, **world):
    cfg = make_config(days=60, users=4_000, world={"social": world} if world else {})
    sim = Simulation(cfg, [make_strategy("tiered_content", {}),
                           make_strategy("group_pruning", {"remove": remove})],
                     keep_user_actions=True)  # fmt: skip
    return sim, sim.run().tables


@pytest.fixture(scope="module")
def pruned(make_config):
    return {r: _pruned_world(make_config, r) for r in ("flagged", "random")}


def test_pruning_conserves_users_and_removes_each_member_once(pruned) -> None:
    sim, tables = pruned["flagged"]
    users = tables["users"]
    daily = tables["daily"]
    assert len(users) == sim.pop.n == users["user_id"].nunique()
    removed = np.concatenate(
        [
            slots
            for _d, _s, action, slots, _u in sim.ledger.user_rows
            if action == "remove_from_group"
        ]
    )
    assert removed.size > 0 and np.unique(removed).size == removed.size
    assert daily["group_removals"].sum() == removed.size
    group = sim.pop.col("group")
    sizes = np.bincount(group[group >= 0], minlength=sim.groups.n)
    alive = sim.groups.col("alive")
    assert np.array_equal(sizes[alive], sim.groups.col("size")[alive])
    assert np.all(sim.groups.col("size")[~alive] == 0)


def test_flagged_pruning_removes_mostly_disruptors_random_mostly_not(pruned) -> None:
    shares = {}
    for rule, (sim, _) in pruned.items():
        removed = np.concatenate(
            [s for _d, _s, a, s, _u in sim.ledger.user_rows if a == "remove_from_group"]
        )
        shares[rule] = sim.pop.col("disruptive")[removed].mean()
    assert shares["flagged"] > 0.5
    assert shares["random"] < 0.2


def test_flagged_pruning_lowers_disruption_more_than_random(pruned) -> None:
    posts = {
        rule: sim.groups.col("disruption")[sim.groups.col("alive")].mean()
        for rule, (sim, _) in pruned.items()
    }
    assert posts["flagged"] < posts["random"]


def test_disruptors_lower_speaking_and_a_world_without_them_speaks_more(make_config) -> None:
    def speaking(share: float) -> float:
        cfg = make_config(days=45, users=3_000, world={"social": {"disruptive_share": share}})
        g = Simulation(cfg, [make_strategy("tiered_content", {})]).run().tables["groups"]
        return g["speakers"].sum() / g["size"].sum()

    assert speaking(0.0) > speaking(0.06)


def _koc_world(make_config, lead: bool, fade_days: int = 28):
    cfg = make_config(days=60, users=4_000, world={"social": {"koc_fade_days": fade_days}})
    strategies = [make_strategy("tiered_content", {}),
                  make_strategy("koc_programme", {"lead": lead})]  # fmt: skip
    sim = Simulation(cfg, strategies)
    return sim, sim.run().tables


def test_recognised_kocs_raise_their_groups_speaking_over_rewards_alone(make_config) -> None:
    rates = {}
    for lead in (True, False):
        sim, tables = _koc_world(make_config, lead)
        g = tables["groups"]
        g = g[g["day"] >= 20]
        rates[lead] = g["speakers"].sum() / g["size"].sum()
        kocs = (sim.pop.col("koc_day") >= 0).sum()
        assert (kocs > 0) == lead
    assert rates[True] > rates[False]
    assert rates[True] < 1.5 * rates[False]  # tens of percent, not multiples


def test_an_unrewarded_koc_fades_back_to_an_ordinary_member(make_config) -> None:
    """With a one-day fade, a KOC rewarded weekly is fresh one day in seven: its group gains
    less than with a four-week fade."""
    rate = {}
    for fade in (1, 28):
        _, tables = _koc_world(make_config, True, fade)
        g = tables["groups"]
        rate[fade] = g["speakers"].sum() / g["size"].sum()
    assert rate[28] > rate[1]
