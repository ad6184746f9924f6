"""Chat groups: capacity, opening a new group when the open one is full, death of silent or tiny
groups (members lose the group), and the invite/remove actions.
"""

from __future__ import annotations

import numpy as np
import pytest

from sim.world.actions import Operations
from sim.world.groups import Groups
from sim.world.params import GroupParams


def member_counts(sim) -> np.ndarray:
    group = sim.pop.col("group")
    return np.bincount(group[group >= 0], minlength=sim.groups.n)


def test_assign_fills_groups_in_order_up_to_capacity():
    groups = Groups(GroupParams(capacity=20), capacity=2)  # also exercises growing the table
    user_group = np.full(60, -1, np.int32)
    groups.assign(user_group, np.arange(45), day=0)
    assert groups.col("size").tolist() == [20, 20, 5]
    assert user_group[:45].tolist() == [0] * 20 + [1] * 20 + [2] * 5
    groups.remove(user_group, np.array([0, 1, 2]))  # room in group 0, but it is not refilled
    groups.assign(user_group, np.arange(45, 60), day=1)
    assert groups.col("size").tolist() == [17, 20, 20]
    assert (user_group[45:] == 2).all()
    assert groups.col("joins").tolist() == [20, 20, 20]
    assert groups.col("leaves").tolist() == [3, 0, 0]
    assert groups.col("born").tolist() == [0, 0, 0]


def test_remove_ignores_users_in_no_group():
    groups = Groups(GroupParams(capacity=5))
    user_group = np.full(8, -1, np.int32)
    groups.assign(user_group, np.arange(6), day=0)
    assert groups.remove(user_group, np.array([0, 5, 6, 7])) == 2
    assert groups.col("size").tolist() == [4, 0]
    assert (user_group[[0, 5, 6, 7]] == -1).all()


def test_silent_and_tiny_groups_die_and_release_members():
    p = GroupParams(capacity=4, death_silent_days=3, death_min_members=2)
    groups = Groups(p)
    user_group = np.full(9, -1, np.int32)
    groups.assign(user_group, np.arange(9), day=0)  # sizes 4, 4, 1
    groups.reset_counters()
    for day in range(3):
        groups.buffer("speakers")[0] = 1  # only group 0 keeps talking
        rows = groups.end_of_day(day, user_group)
        expect_alive = [True, True, True] if day < 2 else [True, False, False]
        assert rows["alive"].tolist() == expect_alive, day
    assert (user_group[:4] == 0).all()
    assert (user_group[4:] == -1).all()
    assert groups.col("size").tolist() == [4, 0, 0]
    assert len(groups.end_of_day(3, user_group)["group_id"]) == 1  # dead groups are not reported


def test_small_capacity_in_a_run(make_config, run_world):
    capacity = 25
    config = make_config(days=40, users=1_500, world={"groups": {"capacity": capacity}})
    t = run_world(config)
    groups = t["groups"]
    assert groups["size"].max() == capacity  # groups do fill up...
    assert (groups["size"] <= capacity).all()  # ...but never beyond
    joined = groups["joins"].sum() + (groups[groups["day"] == 0]["size"]
                                      - groups[groups["day"] == 0]["joins"]).sum()  # fmt: skip
    assert groups["group_id"].nunique() >= joined / capacity


def test_silent_world_groups_all_die(make_config, run_world):
    silent = 6
    config = make_config(
        days=silent + 4,
        users=2_000,
        arrivals={},
        world={"behaviour": {"speak_intercept": -40.0}, "groups": {"death_silent_days": silent}},
    )
    t = run_world(config)
    daily, groups, users = t["daily"], t["groups"], t["users"]
    assert (daily["spoke"] == 0).all()
    born = groups.groupby("group_id")["day"].min()  # reported from the day a group opens
    died = groups[~groups["alive"]].set_index("group_id")["day"]
    due = born[born + silent - 1 < config.days]
    assert len(due) > 1 and (born.loc[died.index] == 0).any()
    assert died.index.equals(due.index)  # every silent group dies when due, no other one
    assert (died == due + silent - 1).all()  # after `silent` days without a speaker
    survivors = set(born.index) - set(died.index)
    assert set(users.loc[users["group_id"] >= 0, "group_id"]) <= survivors
    base_groups = born[born == 0].index
    assert not users["group_id"].isin(base_groups).any()


def test_talking_world_keeps_groups_alive(make_config, run_world):
    """The control for the test above: with the default speaking rate groups survive longer."""
    config = make_config(
        days=10, users=2_000, arrivals={}, world={"groups": {"death_silent_days": 6}}
    )
    t = run_world(config)
    assert t["daily"]["spoke"].sum() > 0
    assert t["daily"]["groups_alive"].iloc[-1] > 0


def test_invite_and_remove_change_sizes(finished_sim):
    sim = finished_sim
    ops = Operations(sim, "probe")
    assert (member_counts(sim) == sim.groups.col("size")).all()
    reachable = ops.reachable()
    group = sim.pop.col("group")
    loose = reachable[group[reachable] < 0][:300]
    members = reachable[group[reachable] >= 0][:40]
    joins_before = int(sim.groups.col("joins").sum())

    assert ops.invite_to_group(np.concatenate([loose, members])) == len(loose)
    assert (group[loose] >= 0).all()
    assert (member_counts(sim) == sim.groups.col("size")).all()
    assert sim.groups.col("size").max() <= sim.world.groups.capacity
    assert int(sim.groups.col("joins").sum()) - joins_before == len(loose)

    trust_before = sim.pop.col("trust")[members].copy()
    sizes_before = sim.groups.col("size").copy()
    expected = sizes_before - np.bincount(group[members], minlength=sim.groups.n)
    assert ops.remove_from_group(members) == len(members)
    assert (group[members] == -1).all()
    assert (sim.groups.col("size") == expected).all()
    assert (member_counts(sim) == sim.groups.col("size")).all()
    loss = sim.world.behaviour.trust_loss_removed
    np.testing.assert_allclose(
        sim.pop.col("trust")[members], np.maximum(0, trust_before - loss), atol=1e-6
    )
    assert ops.remove_from_group(members) == 0  # already out: nothing happens
    assert (sim.groups.col("size") == expected).all()


@pytest.mark.parametrize("capacity", [2, 7])
def test_invites_open_new_groups_when_full(make_config, capacity):
    from sim.engine.simulation import Simulation

    groups = {"capacity": capacity, "join_probability": 0.0}
    config = make_config(days=3, users=300, world={"groups": groups})
    sim = Simulation(config)
    sim.run()
    ops = Operations(sim, "probe")
    assert sim.groups.n == 0
    invited = ops.invite_to_group(ops.reachable())
    assert invited == len(ops.reachable()) > capacity
    assert sim.groups.n == -(-invited // capacity)
    assert (sim.groups.col("size")[:-1] == capacity).all()
