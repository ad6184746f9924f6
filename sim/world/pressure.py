"""Contact pressure: per-user message caps and operator capacity, shared by all strategies.

One :class:`Pressure` object is owned by the :class:`~sim.engine.simulation.Simulation`; every
:class:`~sim.world.actions.Operations` consults it, so the limits hold for all strategies together.

* **Caps** (``pressure.per_day`` / ``pressure.per_week``): at most N items of a kind per user per
  day and per rolling 7 days (today and the 6 days before). Kinds: ``content`` (push_content),
  ``promo`` (send_promo, counted per message), ``contact_1v1``, ``coupon`` (give_coupon). A user
  whose allowance cannot take the whole send (e.g. ``count=3`` promos with 2 left) is dropped from
  the batch entirely; each dropped item counts in ``capped_messages``.
* **Operator capacity** (``operators`` × ``contacts_per_operator_per_day``): 1v1 contacts beyond
  the day's capacity are queued, in order, and tried first on the next day (before any strategy
  acts); a contact still waiting after ``max_postpone_days`` is dropped. Counted as
  ``postponed_contacts`` (each day a contact is pushed back) and ``dropped_contacts``.

The defaults (no caps, unlimited capacity) change nothing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from pydantic import Field

from sim.world import batches
from sim.world.params import Strict

KINDS = ("content", "promo", "contact_1v1", "coupon")
ACTION_KIND = {
    "push_content": "content",
    "send_promo": "promo",
    "contact_1v1": "contact_1v1",
    "give_coupon": "coupon",
}
PRESSURE_COLUMNS = ("capped_messages", "postponed_contacts", "dropped_contacts")
WEEK = 7


class KindCaps(Strict):
    """A cap per message kind; ``None`` = no cap."""

    content: int | None = Field(None, ge=0, description="content pushes per user")
    promo: int | None = Field(None, ge=0, description="promotional messages per user")
    contact_1v1: int | None = Field(None, ge=0, description="1v1 contacts per user")
    coupon: int | None = Field(None, ge=0, description="coupons per user")


class PressureSpec(Strict):
    """The ``pressure:`` section of an experiment config."""

    per_day: KindCaps = Field(KindCaps(), description="caps per user per day")
    per_week: KindCaps = Field(KindCaps(), description="caps per user per rolling 7 days")
    operators: int | None = Field(None, ge=0, description="operators doing 1v1 contacts")
    contacts_per_operator_per_day: int | None = Field(
        None, ge=0, description="1v1 contacts one operator can make per day"
    )
    max_postpone_days: int = Field(
        3, ge=0, description="a queued 1v1 contact is dropped after waiting this many days"
    )

    def capacity(self) -> int | None:
        """1v1 contacts per day, or ``None`` when unlimited."""
        if self.operators is None or self.contacts_per_operator_per_day is None:
            return None
        return self.operators * self.contacts_per_operator_per_day


@dataclass
class QueuedContact:
    """1v1 contacts waiting for operator capacity."""

    run: Callable[[np.ndarray], np.ndarray]  # performs the contact, returns users still waiting
    strategy: str
    users: np.ndarray
    first_day: int


class Pressure:
    """Per-user send counts over the last 7 days, operator capacity and the postponement queue."""

    def __init__(self, spec: PressureSpec) -> None:
        self.spec = spec
        self.kinds = tuple(
            k for k in KINDS
            if getattr(spec.per_day, k) is not None or getattr(spec.per_week, k) is not None
        )  # fmt: skip
        self._counts: dict[str, np.ndarray] = {k: np.zeros((WEEK, 0), np.int32) for k in self.kinds}
        self.day = 0
        self.capacity_left: int | None = spec.capacity()
        self.queue: list[QueuedContact] = []
        self.today: dict[tuple[str, str], int] = defaultdict(int)
        self.rows: list[tuple[int, str, int, int, int]] = []

    @property
    def active(self) -> bool:
        return bool(self.kinds) or self.spec.capacity() is not None

    # -- the day -----------------------------------------------------------------------------
    def start_day(self, day: int) -> None:
        self.day = day
        for counts in self._counts.values():
            counts[day % WEEK] = 0
        self.capacity_left = self.spec.capacity()

    def run_queue(self) -> None:
        """Try yesterday's postponed contacts first, in order; drop those waited too long."""
        waiting, self.queue = self.queue, []
        for entry in waiting:
            if self.day - entry.first_day > self.spec.max_postpone_days:
                self.count(entry.strategy, "dropped_contacts", int(entry.users.shape[0]))
                continue
            entry.users = entry.run(entry.users)
            if entry.users.shape[0]:
                self.count(entry.strategy, "postponed_contacts", int(entry.users.shape[0]))
                self.queue.append(entry)

    def close_day(self) -> dict[str, int]:
        """Totals of the day's counters (for the daily table); per strategy rows are kept."""
        totals = dict.fromkeys(PRESSURE_COLUMNS, 0)
        per_strategy: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(totals, 0))
        for (strategy, column), n in self.today.items():
            totals[column] += n
            per_strategy[strategy][column] += n
        for strategy in sorted(per_strategy):
            c = per_strategy[strategy]
            self.rows.append((self.day, strategy, *(c[k] for k in PRESSURE_COLUMNS)))
        self.today.clear()
        return totals

    def count(self, strategy: str, column: str, n: int) -> None:
        if n:
            self.today[(strategy, column)] += n

    # -- caps --------------------------------------------------------------------------------
    def _grow(self, n: int) -> None:
        for k, counts in self._counts.items():
            if counts.shape[1] < n:
                grown = np.zeros((WEEK, max(n, 2 * counts.shape[1])), np.int32)
                grown[:, : counts.shape[1]] = counts
                self._counts[k] = grown

    def admit(self, action: str, users: np.ndarray, units: int, strategy: str) -> np.ndarray:
        """The users (sorted slots) whose caps can take ``units`` more items of ``action``."""
        kind = ACTION_KIND.get(action)
        if kind not in self.kinds or not users.shape[0]:
            return users
        self._grow(int(users.max()) + 1)
        day_cap, week_cap = getattr(self.spec.per_day, kind), getattr(self.spec.per_week, kind)
        admitted = batches.under_caps(
            self._counts[kind], self.day % WEEK, users, units, _cap(day_cap), _cap(week_cap)
        )
        self.count(strategy, "capped_messages", (users.shape[0] - admitted.shape[0]) * units)
        return admitted

    def record(self, action: str, users: np.ndarray, units: int) -> None:
        """Count items actually sent."""
        kind = ACTION_KIND.get(action)
        if kind in self.kinds and users.shape[0]:
            self._grow(int(users.max()) + 1)
            batches.add_each(self._counts[kind][self.day % WEEK], users, units)

    # -- operator capacity -------------------------------------------------------------------
    def take_capacity(self, users: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Split a contact batch into (served today, over capacity), keeping its order."""
        if self.capacity_left is None:
            return users, users[:0]
        k = min(self.capacity_left, int(users.shape[0]))
        self.capacity_left -= k
        return users[:k], users[k:]

    def postpone(
        self, run: Callable[[np.ndarray], np.ndarray], strategy: str, users: np.ndarray
    ) -> None:
        if not users.shape[0]:
            return
        if self.spec.max_postpone_days == 0:
            self.count(strategy, "dropped_contacts", int(users.shape[0]))
            return
        self.count(strategy, "postponed_contacts", int(users.shape[0]))
        self.queue.append(QueuedContact(run, strategy, users, self.day))


def _cap(cap: int | None) -> int:
    return batches.NO_CAP if cap is None else cap
