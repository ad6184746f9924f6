"""Lifecycle stages and the segments operators read off them.

Stages (DOMAIN.md §3, thresholds in :class:`sim.world.params.LifecycleParams`):

* ``potential`` — registered, never paid;
* ``new`` — paid at least once, fewer than ``core_min_purchases`` times;
* ``core`` — paid at least ``core_min_purchases`` times;
* ``dormant`` — still reachable but silent for more than ``dormant_after_days``;
* ``churned`` — left the private domain (deleted or blocked the account); absorbing.

Segments are computed on demand from the state columns (vectorised numpy), never stored:
value × engagement quadrant [002], group activity type [003] and churn depth [003].
"""

from __future__ import annotations

import numpy as np

from sim.world.params import LifecycleParams

STAGES = ("potential", "new", "core", "dormant", "churned")
POTENTIAL, NEW, CORE, DORMANT, CHURNED = range(5)

QUADRANTS = (
    "high_value_high_engagement",
    "high_value_low_engagement",
    "low_value_high_engagement",
    "low_value_low_engagement",
)
GROUP_ACTIVITY = ("none", "active", "lurker", "freeloader")
CHURN_DEPTHS = ("none", "shallow", "lapsing", "deep")

NO_DAY = np.int32(-(2**31) + 1)  # "never happened" for day columns
NEVER_DAYS = 100_000  # "days since" something that never happened: beyond every threshold


def days_since(last: np.ndarray, day: int) -> np.ndarray:
    """Whole days from each ``last`` day column entry to ``day`` (NEVER_DAYS if never)."""
    last = np.asarray(last).astype(np.int64)
    return np.where(last == NO_DAY, NEVER_DAYS, day - last)


def bit_window(bits: np.ndarray, days: int) -> np.ndarray:
    """How many of the last ``days`` days (today included) have their bit set."""
    mask = np.uint32((1 << days) - 1) if days < 32 else np.uint32(0xFFFFFFFF)
    return np.bitwise_count(bits & mask).astype(np.int8)


def quadrant(value_to_date: np.ndarray, active_bits: np.ndarray, p: LifecycleParams) -> np.ndarray:
    """Value × engagement quadrant code (index into QUADRANTS)."""
    high_value = value_to_date >= p.high_value_revenue
    high_engagement = bit_window(active_bits, 30) >= p.high_engagement_active_days_30
    return (2 * ~high_value + ~high_engagement).astype(np.int8)


def group_activity(
    group: np.ndarray,
    speak_bits: np.ndarray,
    last_claim: np.ndarray,
    day: int,
    p: LifecycleParams,
) -> np.ndarray:
    """Group activity type code (index into GROUP_ACTIVITY) [003]."""
    in_group = group >= 0
    spoke_7 = bit_window(speak_bits, 7)
    spoke_window = bit_window(speak_bits, p.freeloader_window_days)
    claimed = (day - last_claim.astype(np.int64)) < p.freeloader_window_days
    out = np.full(group.shape, 2, dtype=np.int8)  # lurker
    out[claimed & (spoke_window == 0)] = 3
    out[spoke_7 >= p.active_speaker_days_7] = 1
    out[~in_group] = 0
    return out


def churn_depth(silence_days: np.ndarray, p: LifecycleParams) -> np.ndarray:
    """Churn depth code (index into CHURN_DEPTHS) from days of silence [003]."""
    out = np.zeros(silence_days.shape, dtype=np.int8)
    out[silence_days >= p.shallow_churn_after_days] = 1
    out[silence_days > p.shallow_churn_max_days] = 2
    out[silence_days >= p.deep_churn_min_days] = 3
    return out
