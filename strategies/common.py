"""Small helpers the built-in strategies share: reading silence, cadences, stage tiers.

Nothing here acts on users; helpers only read ``ops`` views. A strategy's own per-user memory
(arrays ending in ``_``) grows with the population through :func:`sim.world.population.grow_array`.
"""

from __future__ import annotations

import numpy as np

from sim.world.actions import STAGE_TIER, Operations
from sim.world.lifecycle import NO_DAY, days_since

NEVER = int(NO_DAY)


def silence(ops: Operations, users: np.ndarray) -> np.ndarray:
    """Whole days since each user was last active (a very large number if never)."""
    return days_since(ops.field("last_active")[users], ops.day)


def is_due(day: int, every_days: int, offset: int = 0) -> bool:
    """True on ``offset``, ``offset + every_days``, ... (a fixed cadence)."""
    return day >= offset and (day - offset) % every_days == 0


def stage_tiers(ops: Operations, users: np.ndarray) -> dict[str, np.ndarray]:
    """The users split by the content tier that fits their stage ([000][003] tiered content)."""
    stage = ops.field("stage")[users]
    out: dict[str, list[np.ndarray]] = {}
    for code, tier in STAGE_TIER.items():
        out.setdefault(tier, []).append(users[stage == code])
    return {tier: np.concatenate(parts) for tier, parts in out.items()}
