"""Lifecycle stages and segments: the classification thresholds move users between stages in the
expected direction, final stages follow the documented rule, and the segment functions
(quadrant, group activity, churn depth) give the documented codes on hand-made arrays.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim.world.lifecycle import (
    CHURN_DEPTHS,
    GROUP_ACTIVITY,
    NO_DAY,
    QUADRANTS,
    bit_window,
    churn_depth,
    group_activity,
    quadrant,
)
from sim.world.params import LifecycleParams

P = LifecycleParams()


def final_counts(make_config, run_world, **lifecycle) -> dict[str, int]:
    config = make_config(days=60, world={"lifecycle": lifecycle})
    return run_world(config)["users"]["final_stage"].value_counts().to_dict()


def test_core_threshold_moves_users_between_new_and_core(make_config, run_world):
    c = {k: final_counts(make_config, run_world, core_min_purchases=k) for k in (1, 2, 3, 5)}
    core = [c[k]["core"] for k in (1, 2, 3, 5)]
    new = [c[k]["new"] for k in (1, 2, 3, 5)]
    assert core[0] > core[1] > core[2] >= core[3]
    assert new[0] == 0 and new[0] < new[1] < new[2] <= new[3]
    paying = [c[k]["core"] + c[k]["new"] for k in (1, 2, 3, 5)]
    assert max(paying) - min(paying) <= 0.02 * max(paying)  # a relabelling, not a new world


def test_dormancy_threshold_moves_users_into_dormant(make_config, run_world):
    dormant = [final_counts(make_config, run_world, dormant_after_days=d).get("dormant", 0)
               for d in (7, 30, 180)]  # fmt: skip
    assert dormant[0] > dormant[1] > dormant[2]


def test_final_stage_follows_the_documented_rule(runs):
    """potential / new / core by purchases to date (prior + in the run)."""
    for config, t in runs.values():
        lc = config.world.lifecycle
        users = t["users"]
        paid = users["purchases"] + users["prior_purchases"]
        stage = users["final_stage"]
        assert (paid[stage == "potential"] == 0).all()
        assert paid[stage == "new"].between(1, lc.core_min_purchases - 1).all()
        assert (paid[stage == "core"] >= lc.core_min_purchases).all()


def test_dormant_matches_silence_segment(make_config, run_world):
    """With dormant_after_days = shallow_churn_max_days, dormant ⇔ lapsing or deep silence."""
    config = make_config(days=60, world={"lifecycle": {"dormant_after_days": 30}})
    users = run_world(config)["users"]
    users = users[~users["churned"]]
    silent_long = users["churn_depth"].isin(["lapsing", "deep"])
    assert silent_long.any()
    assert ((users["final_stage"] == "dormant") == silent_long).all()


# -- segment functions on hand-made arrays ------------------------------------------------------


def bits(*days_ago: int) -> np.uint32:
    return np.uint32(sum(1 << d for d in days_ago))


def test_bit_window_counts_recent_days():
    b = np.array([bits(0, 1, 2), bits(6, 7), bits(31), bits(*range(32))], dtype=np.uint32)
    assert bit_window(b, 1).tolist() == [1, 0, 0, 1]
    assert bit_window(b, 7).tolist() == [3, 1, 0, 7]
    assert bit_window(b, 32).tolist() == [3, 2, 1, 32]


def test_quadrant_codes():
    eight, seven, old = bits(*range(8)), bits(*range(7)), bits(*range(30, 32), *range(6))
    value = np.array([P.high_value_revenue, P.high_value_revenue, 499.99, 0.0, 1e6])
    active = np.array([eight, seven, eight, old, old], dtype=np.uint32)
    got = [QUADRANTS[c] for c in quadrant(value, active, P)]
    assert got == [
        "high_value_high_engagement",
        "high_value_low_engagement",
        "low_value_high_engagement",
        "low_value_low_engagement",  # 8 active days, but two of them more than 30 days ago
        "high_value_low_engagement",
    ]


def test_group_activity_codes():
    day = 100
    group = np.array([3, 3, 3, 3, -1, 3])
    speak = np.array([bits(0, 3, 6), bits(0, 3), 0, 0, bits(0, 1, 2), bits(0, 1, 2)], np.uint32)
    claim = np.array([day, day, day - 5, NO_DAY, day, day - P.freeloader_window_days], np.int32)
    got = [GROUP_ACTIVITY[c] for c in group_activity(group, speak, claim, day, P)]
    # active beats freeloader; out of a group is "none"; an old claim is not freeloading
    assert got == ["active", "lurker", "freeloader", "lurker", "none", "active"]


def test_churn_depth_codes():
    silence = np.array([0, 6, 7, 30, 31, 59, 60, 10_000])
    got = [CHURN_DEPTHS[c] for c in churn_depth(silence, P)]
    assert got == ["none", "none", "shallow", "shallow", "lapsing", "lapsing", "deep", "deep"]


@given(
    shallow=st.integers(1, 40),
    extra=st.integers(0, 40),
    gap=st.integers(1, 60),
    silence=st.lists(st.integers(0, 400), min_size=1, max_size=50),
)
def test_churn_depth_is_monotone_in_silence(shallow, extra, gap, silence):
    p = LifecycleParams(
        shallow_churn_after_days=shallow,
        shallow_churn_max_days=shallow + extra,
        deep_churn_min_days=shallow + extra + gap,
    )
    s = np.sort(np.array(silence))
    depth = churn_depth(s, p)
    assert (np.diff(depth) >= 0).all()
    assert ((depth == 0) == (s < shallow)).all()
    assert ((depth == 3) == (s >= p.deep_churn_min_days)).all()


def test_lifecycle_thresholds_must_be_ordered():
    with pytest.raises(ValueError, match="shallow_churn_after_days"):
        LifecycleParams(shallow_churn_after_days=40, shallow_churn_max_days=30)
