"""Keyed randomness: a draw is a pure function of its address (seed, purpose, day, uid), uniform,
independent across addresses, and a policy never changes the draws a user gets for other purposes
(common random numbers between the arms of an experiment).
"""

from __future__ import annotations

import random

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from sim.rng import (
    COMPILED_FROM,
    Purpose,
    derive_uids,
    draw_key,
    generator,
    hash_ids,
    mix64,
    uniforms,
)
from sim.world.behaviour import mix64 as compiled_mix64

uid_lists = st.lists(st.integers(0, 2**63 - 1), min_size=1, max_size=200, unique=True)
ATTRIBUTES = ["join_day", "channel", "age", "occupation", "city_tier", "income",
              "price_sensitivity", "preference", "engagement", "referrer_id"]  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(uids=uid_lists, seed=st.integers(0, 2**63 - 1), day=st.integers(-400, 4000),
       purpose=st.sampled_from(list(Purpose)), data=st.data())  # fmt: skip
def test_uniform_depends_only_on_its_address(uids, seed, day, purpose, data):
    uids = np.array(uids, dtype=np.uint64)
    values = uniforms(seed, purpose, day, uids)
    assert ((values >= 0) & (values < 1)).all()
    order = np.array(data.draw(st.permutations(range(len(uids)))))
    np.testing.assert_array_equal(uniforms(seed, purpose, day, uids[order]), values[order])
    subset = np.array(sorted(data.draw(st.sets(st.integers(0, len(uids) - 1)))), dtype=np.int64)
    np.testing.assert_array_equal(uniforms(seed, purpose, day, uids[subset]), values[subset])
    others = np.arange(50, dtype=np.uint64) * np.uint64(7919)
    joined = uniforms(seed, purpose, day, np.concatenate([others, uids]))
    np.testing.assert_array_equal(joined[50:], values)
    np.testing.assert_array_equal(
        [uniforms(seed, purpose, day, uids[i : i + 1])[0] for i in range(len(uids))], values
    )


def test_uniforms_are_uniform():
    draws = uniforms(1234, Purpose.ACTIVE, 17, np.arange(200_000, dtype=np.uint64))
    assert abs(draws.mean() - 0.5) < 0.005
    assert abs(draws.var() - 1 / 12) < 0.002
    assert stats.kstest(draws, "uniform").pvalue > 1e-4
    counts = np.bincount((draws * 20).astype(int), minlength=20)
    assert stats.chisquare(counts).pvalue > 1e-4


def test_draws_at_different_addresses_are_uncorrelated():
    uids = np.arange(200_000, dtype=np.uint64)
    base = uniforms(5, Purpose.PURCHASE, 10, uids)
    variants = {
        "purpose": uniforms(5, Purpose.CHURN, 10, uids),
        "day": uniforms(5, Purpose.PURCHASE, 11, uids),
        "seed": uniforms(6, Purpose.PURCHASE, 10, uids),
        "neighbour uid": uniforms(5, Purpose.PURCHASE, 10, uids + np.uint64(1)),
    }
    for name, other in variants.items():
        assert abs(np.corrcoef(base, other)[0, 1]) < 0.015, name
        assert not np.array_equal(base, other), name
    keys = {draw_key(s, p, d) for s in range(3) for p in Purpose for d in range(-2, 30)}
    assert len(keys) == 3 * len(Purpose) * 32


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**63 - 1), day=st.integers(0, 3650), count=st.integers(0, 5_000),
       salt=st.integers(0, 16))  # fmt: skip
def test_derive_uids_unique_and_non_negative(seed, day, count, salt):
    uids = derive_uids(seed, Purpose.ARRIVALS, day, count, salt=salt)
    assert uids.shape == (count,) and uids.dtype == np.uint64
    assert len(np.unique(uids)) == count
    assert (uids < np.uint64(2**63)).all()
    np.testing.assert_array_equal(derive_uids(seed, Purpose.ARRIVALS, day, count, salt=salt), uids)
    other_salt = derive_uids(seed, Purpose.ARRIVALS, day, count, salt=salt + 1)
    assert not set(uids.tolist()) & set(other_salt.tolist())


def test_derived_uids_prefix_stable_and_hash_deterministic():
    """The k-th user born at an address keeps its uid however many are born there."""
    few = derive_uids(3, Purpose.INITIAL_UID, 0, 100)
    many = derive_uids(3, Purpose.INITIAL_UID, 0, 10_000)
    np.testing.assert_array_equal(many[:100], few)
    values = np.arange(1000, dtype=np.uint64)
    np.testing.assert_array_equal(hash_ids(np.uint64(9), values), hash_ids(np.uint64(9), values))
    assert len(np.unique(hash_ids(np.uint64(9), values))) == 1000


def test_aggregate_generator_is_keyed():
    a = generator(1, Purpose.ARRIVALS, 3).poisson(50, 100)
    np.testing.assert_array_equal(a, generator(1, Purpose.ARRIVALS, 3).poisson(50, 100))
    assert not np.array_equal(a, generator(1, Purpose.ARRIVALS, 4).poisson(50, 100))
    assert not np.array_equal(a, generator(2, Purpose.ARRIVALS, 3).poisson(50, 100))


def test_global_random_state_untouched(make_config, run_world, make_blanket):
    np.random.seed(99)
    random.seed(99)
    before = (np.random.get_state()[1].copy(), random.getstate())
    run_world(make_config(days=10, users=500), [make_blanket()])
    after = (np.random.get_state()[1], random.getstate())
    np.testing.assert_array_equal(before[0], after[0])
    assert before[1] == after[1]


def exogenous(users: pd.DataFrame) -> pd.DataFrame:
    """Users who came from outside (the initial base and channel arrivals, not referrals)."""
    keep = (users["join_day"] < 0) | (users["channel"] != "referral")
    return users.loc[keep].set_index("user_id").sort_index()


def test_policy_does_not_change_exogenous_users(runs):
    """none vs blanket: same arrivals with the same uids and attributes."""
    none, blanket = runs["none"][1]["users"], runs["blanket"][1]["users"]
    a, b = exogenous(none), exogenous(blanket)
    assert a.index.equals(b.index)
    pd.testing.assert_frame_equal(a[ATTRIBUTES], b[ATTRIBUTES])
    pd.testing.assert_frame_equal(a[["initial_stage", "prior_purchases"]],
                                  b[["initial_stage", "prior_purchases"]])  # fmt: skip
    # the policy did change outcomes, so the equality above is not vacuous
    assert not a["trust"].equals(b["trust"])
    # a referred friend present in both arms is the same person
    both = none.merge(blanket, on="user_id", suffixes=("_n", "_b"))
    assert (both["channel_n"] == "referral").any()
    for col in ATTRIBUTES:
        assert (both[f"{col}_n"] == both[f"{col}_b"]).all(), col


def test_policy_that_does_nothing_changes_nothing(runs, run_world, make_blanket):
    """A strategy that sends no message leaves every draw, hence every table, as under none."""
    config, none = runs["none"]
    idle = run_world(config, [make_blanket(promos_per_day=0.0, content_per_day=0.0)])
    for name in none:
        pd.testing.assert_frame_equal(none[name], idle[name], obj=name)


def test_the_kernels_compiled_mix_is_the_same_function_as_the_vectorised_one():
    words = np.random.default_rng(3).integers(0, 2**63 - 1, 64, dtype=np.int64).astype(np.uint64)
    words[:3] = [0, 1, 2**64 - 1]
    expected = mix64(words)
    assert len(set(expected.tolist())) == len(words)  # a bijection: no collision
    assert [compiled_mix64(w) for w in words] == expected.tolist()


def test_large_columns_draw_the_same_bits_as_small_ones():
    """Columns of COMPILED_FROM values or more run a compiled loop: the same values."""
    uids = np.random.default_rng(5).integers(0, 2**63, COMPILED_FROM + 3, dtype=np.int64)
    uids = uids.astype(np.uint64)
    uids[:3] = [0, 2**63 - 1, 2**64 - 1]
    key = draw_key(11, Purpose.GROUP_JOIN, 3)
    small = np.concatenate(
        [uniforms(11, Purpose.GROUP_JOIN, 3, part) for part in (uids[:9], uids[9:])]
    )
    assert uniforms(11, Purpose.GROUP_JOIN, 3, uids).tobytes() == small.tobytes()
    ids = np.concatenate([hash_ids(key, part) for part in (uids[:9], uids[9:])])
    assert hash_ids(key, uids).tobytes() == ids.tobytes()
