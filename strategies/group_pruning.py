"""``group_pruning``: keep chat groups useful and alive — remove ad posters and trouble makers,
or the long-silent, and cap group size.

Mechanism: every ``every_days`` days a sweep removes, by ``remove``:

* ``flagged`` (default) — members the operators judge disruptive from what they see
  (:meth:`~sim.world.actions.Operations.flag_disruptive`: recent promo-like posts, reports; most
  ad posters who spoke recently are caught, and a few ordinary members are flagged by mistake);
* ``silent`` — members who have not spoken in the group for ``silent_days`` days (and have been
  in the private domain at least that long);
* ``random`` — a placebo: in each group as many members as ``flagged`` would remove, chosen at
  random (the control a pruning law compares against).

Every day, a group above ``max_size`` members loses its members who were silent longest (by days
since last active) until it is back at the cap. Removed users lose some trust (the engine's
``trust_loss_removed``); an ordinary member removed while speaking costs the rest of the group a
little trust (``world.social.group_trust_loss_per_innocent``). Removing disruptors lifts the
group's opening, speaking and staying (MODEL.md "Group composition"); removing the silent raises
the measured speaking rate.

Parameters: ``remove`` (flagged), ``max_size`` (200, [000][001]; equal to the engine's default
group capacity, so with default worlds only the sweep bites), ``silent_days`` (30, at most 32 —
the speaking history the engine keeps; used by ``silent``), ``every_days`` (7). Cost: none booked
(removal is free; its cost is the trust lost). Source: DOMAIN.md §5 "Group pruning" [000][001]:
remove long-silent members, ad posters and trouble makers.
"""

from __future__ import annotations

import numpy as np

from sim.world.actions import Operations
from sim.world.lifecycle import bit_window
from sim.world.social import random_members
from strategies.base import Strategy
from strategies.common import is_due, silence
from strategies.params import param

REMOVAL_RULES = ("flagged", "silent", "random")


class GroupPruning(Strategy):
    """Remove flagged disruptors (or the long-silent, or at random); cap groups at ``max_size``."""

    name = "group_pruning"
    summary = "remove members judged disruptive (or silent N days); cap group size"
    source = "[000][001] group pruning 清退: groups <= 200, remove ad posters, the long-silent"
    cost_model = "nothing booked; removed members lose trust"

    remove: str = param(
        "flagged", "whom a sweep removes: judged disruptive, silent, or at random (placebo)",
        choices=REMOVAL_RULES,
    )  # fmt: skip
    max_size: int = param(200, "members a group may keep (users)", low=2, high=100_000)
    silent_days: int = param(30, "days without speaking before removal", low=1, high=32)
    every_days: int = param(7, "days between two silence sweeps", low=1, high=365)

    def on_day(self, ops: Operations) -> None:
        users = ops.reachable()
        members = users[ops.field("group")[users] >= 0]
        if is_due(ops.day, self.every_days):
            swept = self._sweep(ops, members)
            if swept.size:
                ops.remove_from_group(swept)
                members = np.setdiff1d(members, swept, assume_unique=True)
        over = self._over_cap(ops, members)
        if over.size:
            ops.remove_from_group(over)

    def _sweep(self, ops: Operations, members: np.ndarray) -> np.ndarray:
        """The members this sweep removes (sorted slots), by ``remove``."""
        if self.remove == "silent":
            spoke = bit_window(ops.field("speak_bits")[members], self.silent_days) > 0
            settled = ops.day - ops.field("join_day")[members] >= self.silent_days
            return members[~spoke & settled]
        flagged = ops.flag_disruptive(members)
        if self.remove == "flagged" or not flagged.size:
            return flagged
        group = ops.field("group")
        quota = np.bincount(group[flagged])
        picked = random_members(
            ops.seed, ops.day, ops.field("uid")[members], group[members], quota
        )  # fmt: skip
        return members[picked]

    def _over_cap(self, ops: Operations, members: np.ndarray) -> np.ndarray:
        """Members beyond ``max_size`` in their group, the longest-silent first."""
        group = ops.field("group")[members]
        sizes = np.bincount(group)
        if sizes.size == 0 or sizes.max() <= self.max_size:
            return np.zeros(0, np.int64)
        # sort by group, then most active first (stable on slot for determinism)
        order = np.lexsort((members, silence(ops, members), group))
        sorted_group = group[order]
        starts = np.searchsorted(sorted_group, sorted_group, side="left")
        rank = np.arange(order.size) - starts
        return np.sort(members[order][rank >= self.max_size])
