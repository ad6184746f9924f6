"""Who is treated in an experiment arm: keyed randomisation by user or by group (cluster).

Each randomisation unit draws one keyed uniform from (seed, ``Purpose.ASSIGNMENT``, unit id) and
is treated when it falls below ``share``. The unit is fixed when the user arrives (intention to
treat): a user later removed from a group, or invited into another, keeps its arm.

* ``unit: user`` — the unit is the user (its uid);
* ``unit: group`` — the unit is the group the user joined on arrival, so a whole group shares
  the arm (needed when a strategy acts on a group, or effects spill over between members).
  Users who joined no group are units of their own.

Because the draw depends only on the seed and the unit id, the same users are treated in every
arm's world of one replication (common random numbers), whatever else differs between arms.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field

from sim.rng import Purpose, uniforms
from sim.world.params import Strict

# the "day" slot of the assignment address: users and groups draw from separate streams
_USER_STREAM = 0
_GROUP_STREAM = 1


class Assignment(Strict):
    """How users are randomised between the control policy and an arm's treatment."""

    unit: Literal["user", "group"] = Field(
        "user", description="randomisation unit: each user, or each group (cluster) [assumed]"
    )
    share: float = Field(
        1.0,
        gt=0.0,
        le=1.0,
        description="share of units given the treatment in an arm's world; the rest keep the "
        "control policy. 1 = the whole population (a pure counterfactual comparison) [assumed]",
    )

    def draw(self, seed: int, uids: np.ndarray, groups: np.ndarray) -> np.ndarray:
        """True for users whose unit is treated. ``groups`` is each user's group on arrival
        (-1 for none)."""
        if self.share >= 1.0:
            return np.ones(uids.shape[0], np.bool_)
        by_user = uniforms(seed, Purpose.ASSIGNMENT, _USER_STREAM, uids.astype(np.uint64))
        if self.unit == "user":
            return by_user < self.share
        in_group = groups >= 0
        by_group = uniforms(
            seed, Purpose.ASSIGNMENT, _GROUP_STREAM, np.where(in_group, groups, 0).astype(np.uint64)
        )
        return np.where(in_group, by_group, by_user) < self.share

    def units(self, uids: np.ndarray, groups: np.ndarray) -> np.ndarray:
        """The randomisation-unit id of each user (for cluster-level statistics): the uid, or
        the arrival group as a negative id so the two kinds never collide."""
        if self.unit == "user":
            return uids.astype(np.int64)
        return np.where(groups >= 0, -1 - groups.astype(np.int64), uids.astype(np.int64))
