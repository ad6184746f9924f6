"""Group composition (issue 15): disruptive members, what operators see of them, KOC presence.

* A share of users (``world.social.disruptive_share``) is *disruptive* — ad posters, trolls —
  drawn once at arrival from the seed (:func:`draw_disruptive`). Their posts are not group life
  (like promos, they do not count as speakers); instead each day's share of members posting
  disruptively sets the group's *disruption* D = 1 − exp(−share / scale) ∈ [0, 1), which lowers
  every member's opening and speaking and raises leaving the next day (bounded by D < 1).
* Operators cannot see who is disruptive; a pruning sweep sees *signals*
  (:func:`flag_disruptive`): a member who spoke recently is flagged with one chance if
  disruptive and a small false-positive chance if not.
* A KOC recognised by the programme and rewarded recently speaks more; a group's *KOC presence*
  K = 1 − exp(−KOC speakers / scale) raises its members' speaking and opening (saturating: a
  second KOC adds less than the first).

:func:`group_pressure` turns the day's counts into D and K (used by :mod:`sim.world.groups`).
"""

from __future__ import annotations

import numpy as np

from sim.rng import Purpose, uniforms
from sim.world.params import SocialParams

RECENT_SPEAKING_DAYS = 7
"""A member counts as seen speaking (and can be flagged, or missed when wrongly removed) if it
spoke in the group on any of this many last days."""
_RECENT_MASK = np.uint32((1 << RECENT_SPEAKING_DAYS) - 1)


def draw_disruptive(seed: int, uids: np.ndarray, share: float) -> np.ndarray:
    """Which of these users are disruptive: a keyed draw per uid, so it is the same user in
    every arm and does not depend on arrival order."""
    if share <= 0.0:
        return np.zeros(uids.shape[0], np.bool_)
    return uniforms(seed, Purpose.ATTR_DISRUPTIVE, 0, uids) < share


def spoke_recently(speak_bits: np.ndarray) -> np.ndarray:
    """Whether each member spoke in its group in the last RECENT_SPEAKING_DAYS days."""
    return (speak_bits & _RECENT_MASK) != 0


def flag_disruptive(
    seed: int,
    day: int,
    uids: np.ndarray,
    disruptive: np.ndarray,
    speak_bits: np.ndarray,
    social: SocialParams,
) -> np.ndarray:
    """The operators' judgement of these members today: flagged if they spoke recently and a
    keyed draw falls below ``flag_disruptive`` (disruptive) or ``flag_innocent`` (others)."""
    chance = np.where(disruptive, social.flag_disruptive, social.flag_innocent)
    u = uniforms(seed, Purpose.PRUNE_SIGNAL, day, uids)
    return spoke_recently(speak_bits) & (u < chance)


def random_members(
    seed: int, day: int, uids: np.ndarray, group: np.ndarray, per_group: np.ndarray
) -> np.ndarray:
    """Positions (into ``uids``) of ``per_group[g]`` members of each group g chosen at random by
    keyed draws: a placebo prune removing as many as another rule would, from the same groups."""
    if uids.size == 0:
        return np.zeros(0, np.int64)
    u = uniforms(seed, Purpose.PRUNE_RANDOM, day, uids)
    order = np.lexsort((u, group))
    sorted_group = group[order]
    rank = np.arange(order.size) - np.searchsorted(sorted_group, sorted_group, side="left")
    quota = np.zeros(int(group.max()) + 1, np.int64)
    quota[: per_group.shape[0]] = per_group[: quota.shape[0]]
    return np.sort(order[rank < quota[sorted_group]])


def group_pressure(
    disruptor_speakers: np.ndarray,
    koc_speakers: np.ndarray,
    size: np.ndarray,
    alive: np.ndarray,
    social: SocialParams,
) -> tuple[np.ndarray, np.ndarray]:
    """(disruption D, KOC presence K) of each group from today's counts; 0 for dead groups."""
    posting = np.divide(disruptor_speakers, size, out=np.zeros(size.shape[0]), where=size > 0)
    disruption = -np.expm1(-posting / social.disruption_scale)
    presence = -np.expm1(-koc_speakers / social.koc_scale)
    return np.where(alive, disruption, 0.0), np.where(alive, presence, 0.0)


def wrongly_removed_hit(
    user_group: np.ndarray, groups: np.ndarray, n_groups: int, per_innocent: float
) -> np.ndarray:
    """Trust each user loses because ordinary members seen speaking were removed from its group:
    ``per_innocent`` per such member (``groups``: the group each came from)."""
    if groups.size == 0 or per_innocent <= 0.0:
        return np.zeros(user_group.shape[0])
    per_group = np.bincount(groups, minlength=n_groups)[:n_groups] * per_innocent
    hit = np.zeros(user_group.shape[0])
    member = user_group >= 0
    hit[member] = per_group[user_group[member]]
    return hit
