"""Small helpers the built-in strategies share: reading silence, cadences, per-user memory.

Nothing here acts on users; helpers only read ``ops`` views or keep a strategy's own learned
state (arrays ending in ``_`` that grow with the population).
"""

from __future__ import annotations

import numpy as np

from sim.actions import STAGE_TIER, Operations
from sim.lifecycle import NO_DAY

NEVER = int(NO_DAY)


def silence(ops: Operations, users: np.ndarray) -> np.ndarray:
    """Whole days since each user was last active (a very large number if never)."""
    last = ops.field("last_active")[users].astype(np.int64)
    return np.where(last == NEVER, 1_000_000, ops.day - last)


def is_due(day: int, every_days: int, offset: int = 0) -> bool:
    """True on ``offset``, ``offset + every_days``, ... (a fixed cadence)."""
    return day >= offset and (day - offset) % every_days == 0


def weekday(day: int) -> int:
    """Day of the week, with day 0 taken as a Monday (0 = Mon ... 6 = Sun)."""
    return day % 7


def stage_tiers(ops: Operations, users: np.ndarray) -> dict[str, np.ndarray]:
    """The users split by the content tier that fits their stage ([000][003] tiered content)."""
    stage = ops.field("stage")[users]
    out: dict[str, list[np.ndarray]] = {}
    for code, tier in STAGE_TIER.items():
        out.setdefault(tier, []).append(users[stage == code])
    return {tier: np.concatenate(parts) for tier, parts in out.items()}


def grown(arr: np.ndarray, n: int, fill: float) -> np.ndarray:
    """``arr`` extended to at least ``n`` slots with ``fill`` (a strategy's per-user memory)."""
    if arr.shape[0] >= n:
        return arr
    out = np.full(max(n, 2 * arr.shape[0]), fill, dtype=arr.dtype)
    out[: arr.shape[0]] = arr
    return out


def check_range(name: str, value: float, low: float, high: float) -> None:
    """Raise ``ValueError`` naming ``name`` unless ``low <= value <= high``."""
    if not low <= value <= high:
        raise ValueError(f"{name} must be in [{low}, {high}], got {value!r}")
