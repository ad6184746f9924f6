"""The population: users as columns.

One numpy array per attribute or state variable, one row per user slot. Slots are filled in
arrival order and never reused; a user's identity is its 64-bit ``uid`` (derived from the seed and
how the user arrived, see :mod:`sim.rng`), which is also the address of all its random draws.
Arrays are over-allocated and grown by a factor (``GROWTH``), or to the capacity the engine
foresees for the rest of the run, so appending arrivals is amortised O(1).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from sim.world.lifecycle import NO_DAY, POTENTIAL

# name -> (dtype, fill value for a fresh slot)
USER_COLUMNS: dict[str, tuple[type, float]] = {
    # identity and attributes (fixed at arrival)
    "uid": (np.uint64, 0),
    "join_day": (np.int32, 0),
    "channel": (np.int8, 0),
    "referrer": (np.int64, -1),
    "age": (np.int16, 0),
    "occupation": (np.int8, 0),
    "city_tier": (np.int8, 0),
    "income": (np.float32, 0),
    "price_sensitivity": (np.float32, 1),
    # individual propensities beyond the observed attributes (0 and 1 = the population's own;
    # a calibrated twin sets them from each real user's history)
    "buy_logit_offset": (np.float32, 0),
    "churn_multiplier": (np.float32, 1),
    # persistent propensity to lapse and delete (log-normal, mean 1, drawn at arrival)
    "frailty": (np.float32, 1),
    # the level buying intent regrows to (drawn at arrival) and ln(income / reference income)
    "need": (np.float32, 0.3),
    "log_income_ratio": (np.float32, 0),
    "preference": (np.int8, 0),
    "engagement": (np.float32, 0),
    "engagement_logit": (np.float32, 0),
    # experiment arm: True when the user's randomisation unit drew the treatment (fixed at
    # arrival: intention to treat)
    "assigned": (np.bool_, False),
    "arrival_group": (np.int32, -1),
    # lifecycle state
    "stage": (np.int8, POTENTIAL),
    "initial_stage": (np.int8, POTENTIAL),
    "initial_quadrant": (np.int8, 0),
    "last_active": (np.int32, NO_DAY),
    "last_touch": (np.int32, NO_DAY),
    "last_open": (np.int32, NO_DAY),
    "active_bits": (np.uint32, 0),
    "speak_bits": (np.uint32, 0),
    "churn_day": (np.int32, -1),
    # lapsed: silent but reachable and recallable; lapse_day = day of the latest lapse
    "lapsed": (np.bool_, False),
    "lapse_day": (np.int32, -1),
    "muted": (np.bool_, False),
    # purchasing
    "ladder": (np.int8, 0),
    "purchases": (np.int32, 0),
    "prior_purchases": (np.int32, 0),
    "prior_revenue": (np.float32, 0),
    "first_purchase": (np.int32, NO_DAY),
    "last_purchase": (np.int32, NO_DAY),
    "revenue": (np.float64, 0),
    "discount": (np.float64, 0),
    "coupon_discount": (np.float32, 0),
    "coupon_expiry": (np.int32, -1),
    "last_claim": (np.int32, NO_DAY),
    # buying intent (a need that regrows, is raised by relevant content, used up by buying)
    "intent": (np.float32, 0),
    # study, trust, fatigue, community
    "progress": (np.float32, 0),
    "completed": (np.int16, 0),
    "trust": (np.float32, 0),
    "fatigue": (np.float32, 0),
    "wear": (np.float32, 0),
    "group": (np.int32, -1),
    "points": (np.float32, 0),
    # group composition (issue 15): a disruptive member (ad poster, troll; hidden from
    # strategies, which see only sim.world.social.flag_disruptive's signals) and the last day a
    # KOC programme rewarded the user as a KOC
    "disruptive": (np.bool_, False),
    "koc_day": (np.int32, NO_DAY),
    "referrals": (np.int32, 0),
    # exposure funnel: days reached by any action, days something was opened, days an offer
    # (promotion) was opened
    "reached_days": (np.int32, 0),
    "open_days": (np.int32, 0),
    "offer_open_days": (np.int32, 0),
    # what operations cost on this user
    "cost": (np.float64, 0),
    "operator_hours": (np.float32, 0),
    # today's inbox, filled by actions and consumed by the behaviour step
    "inbox_promo": (np.uint8, 0),
    "inbox_content": (np.uint8, 0),
    "inbox_relevance": (np.float32, 0),
    "inbox_contact": (np.uint8, 0),
    "inbox_reward": (np.uint8, 0),
    "inbox_reward_value": (np.float32, 0),
    # sum of the timing fits of today's messages (sim.world.timing; 0 = sent at no set hour)
    "inbox_timing": (np.float32, 0),
    # a referral incentive running for this user: share-logit boost, last day it runs
    "share_boost": (np.float32, 0),
    "share_until": (np.int32, -1),
}


GROWTH = 1.25  # capacity factor when a column must grow: amortised O(1), little memory idle
PAGE = 4096  # bytes
LINE = 64  # bytes: a cache line
STAGGER_LINES = 5  # column k starts 5k lines past a page boundary (5 and 64 share no factor)


def staggered_full(size: int, fill: float, dtype: type, slot: int) -> np.ndarray:
    """``np.full(size, fill, dtype)`` whose first element lies ``STAGGER_LINES * slot`` cache
    lines past a page boundary (modulo the page).

    Large arrays all start at the same offset in a page, so a user's element of every 4-byte
    column falls in the same set of the L1 cache (and at addresses 4 KB apart, which the CPU
    mistakes for one another): the behaviour step, which reads some forty columns per user,
    lost most of them from L1 between users. Giving each column its own offset spread them
    (the step took 28% less CPU over a 200k-user year). Only where the data lies changes.
    """
    itemsize = np.dtype(dtype).itemsize
    buf = np.empty(size * itemsize + PAGE, np.uint8)
    start = (STAGGER_LINES * slot * LINE - buf.ctypes.data) % PAGE
    out = buf[start : start + size * itemsize].view(dtype)
    out.fill(fill)
    return out


def grow_array(
    arr: np.ndarray, n: int, fill: float = 0, capacity: int = 0, slot: int | None = None
) -> np.ndarray:
    """``arr`` with room for at least ``n`` slots, new slots set to ``fill``: ``capacity`` slots
    when the caller foresees that many (and they hold ``n``), else grown by GROWTH; placed by
    :func:`staggered_full` when a column ``slot`` is given.

    Returns ``arr`` itself when it is already big enough, else a copy.
    """
    if arr.shape[0] >= n:
        return arr
    size = capacity if capacity >= n else max(n, int(GROWTH * arr.shape[0]) + 16)
    if slot is None:
        out = np.full(size, fill, dtype=arr.dtype)
    else:
        out = staggered_full(size, fill, arr.dtype, slot)
    out[: arr.shape[0]] = arr
    return out


UserArrays = NamedTuple(  # noqa: UP014 - built from the column table so the two cannot drift
    "UserArrays", [(name, np.ndarray) for name in USER_COLUMNS]
)


class Population:
    """Columns of user state with amortised appends.

    ``pop.col("trust")`` is a view of the used rows; ``pop.arrays()`` hands the full buffers to
    the compiled behaviour step, which only touches rows below ``pop.n``.
    """

    def __init__(self, capacity: int = 1024) -> None:
        self.n = 0
        self._cols = {
            name: staggered_full(max(capacity, 16), fill, dtype, slot)
            for slot, (name, (dtype, fill)) in enumerate(USER_COLUMNS.items())
        }

    @property
    def capacity(self) -> int:
        return self._cols["uid"].shape[0]

    def col(self, name: str) -> np.ndarray:
        """The used rows of one column (a view: writes go to the population)."""
        return self._cols[name][: self.n]

    def arrays(self) -> UserArrays:
        return UserArrays(**self._cols)

    def reserve(self, extra: int, capacity: int = 0) -> None:
        """Make room for ``extra`` more users, growing capacity when needed: to ``capacity``
        when the caller foresees how many users will come (and it is enough), else by GROWTH.
        """
        need = self.n + extra
        if need <= self.capacity:
            return
        for slot, (name, (_, fill)) in enumerate(USER_COLUMNS.items()):
            # column by column: the old population is freed as we go
            self._cols[name] = grow_array(self._cols[name], need, fill, capacity, slot)

    def append(self, columns: dict[str, np.ndarray]) -> np.ndarray:
        """Append users given as columns (missing columns keep their fill value).

        Returns the slot indices of the new users.
        """
        count = len(columns["uid"])
        self.reserve(count)
        start, stop = self.n, self.n + count
        for name, values in columns.items():
            self._cols[name][start:stop] = values
        self.n = stop
        return np.arange(start, stop, dtype=np.int64)
