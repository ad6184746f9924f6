"""``group_pruning``: keep chat groups small and alive — cap their size, remove the long-silent.

Mechanism: every ``every_days`` days, members who have not spoken in the group for
``silent_days`` days (and have been in the private domain at least that long) are removed. Every
day, a group above ``max_size`` members loses its members who were silent longest (by days since
last active) until it is back at the cap. Removed users lose some trust (the engine's
``trust_loss_removed``); the remaining group's speaking rate — its vitality, which drives every
member's activity — rises.

Parameters: ``max_size`` (200, [000][001]; equal to the engine's default group capacity, so with
default worlds only the silence rule bites), ``silent_days`` (30, at most 32 — the speaking
history the engine keeps), ``every_days`` (7). Cost: none booked (removal is free; its cost is
the trust lost). Source: DOMAIN.md §5 "Group pruning" [000][001].
"""

from __future__ import annotations

import numpy as np

from sim.world.actions import Operations
from sim.world.lifecycle import bit_window
from strategies.base import Strategy
from strategies.common import is_due, silence
from strategies.params import param


class GroupPruning(Strategy):
    """Remove members silent in the group for ``silent_days``; cap groups at ``max_size``."""

    name = "group_pruning"
    summary = "cap group size, remove members silent in the group for N days"
    source = "[000][001] group pruning 清退: groups <= 200, remove long-silent members"
    cost_model = "nothing booked; removed members lose trust"

    max_size: int = param(200, "members a group may keep (users)", low=2, high=100_000)
    silent_days: int = param(30, "days without speaking before removal", low=1, high=32)
    every_days: int = param(7, "days between two silence sweeps", low=1, high=365)

    def on_day(self, ops: Operations) -> None:
        users = ops.reachable()
        members = users[ops.field("group")[users] >= 0]
        if is_due(ops.day, self.every_days):
            spoke = bit_window(ops.field("speak_bits")[members], self.silent_days) > 0
            settled = ops.day - ops.field("join_day")[members] >= self.silent_days
            silent = members[~spoke & settled]
            if silent.size:
                ops.remove_from_group(silent)
                members = np.setdiff1d(members, silent, assume_unique=True)
        over = self._over_cap(ops, members)
        if over.size:
            ops.remove_from_group(over)

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
