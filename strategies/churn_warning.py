"""``churn_warning``: 1v1 outreach when a behaviour combination signals churn risk.

Mechanism: each day, a reachable user triggers a warning when either

* they have been silent (not active) for exactly ``silent_days`` days — the day the signal
  appears, so each silent spell warns once; or
* they opened a message ``after_open_days`` days ago and have not been active since (opened a
  promotion, then no interaction) — the [000][003] "3 days no interaction after a promo click";

and were not contacted by this strategy in the last ``cooldown_days``. A warned user gets a 1v1
contact of ``minutes`` (None = the world's ``contact_minutes``), which raises trust and the
chance of being active that day — before the user is gone.

Parameters: ``silent_days`` (7), ``after_open_days`` (3), ``cooldown_days`` (14), ``minutes``
(None). Cost: operator minutes × ``costs.operator_hourly`` per contact.
Source: DOMAIN.md §5 "Churn warning" [000][003].
"""

from __future__ import annotations

import numpy as np

from sim.world.actions import Operations
from sim.world.population import grow_array
from strategies.base import Strategy
from strategies.common import NEVER, check_range, silence


class ChurnWarning(Strategy):
    """1v1 outreach on '7 days silent' or '3 days without interaction after an open'."""

    name = "churn_warning"
    summary = "7 days silent, or 3 days no interaction after a promo open -> 1v1 outreach"
    source = "[000][003] churn warning: behaviour-combination triggers before the user is gone"
    cost_model = "operator minutes × costs.operator_hourly per 1v1 contact"

    def __init__(
        self, silent_days: int = 7, after_open_days: int = 3, cooldown_days: int = 14,
        minutes: float | None = None,
    ) -> None:  # fmt: skip
        self.silent_days = silent_days
        self.after_open_days = after_open_days
        self.cooldown_days = cooldown_days
        self.minutes = minutes

    def validate_params(self) -> None:
        check_range("silent_days", self.silent_days, 1, 365)
        check_range("after_open_days", self.after_open_days, 1, 365)
        check_range("cooldown_days", self.cooldown_days, 1, 3650)
        if self.minutes is not None:
            check_range("minutes", self.minutes, 0.1, 600)

    def start(self, ops: Operations) -> None:
        self.warned_day_ = np.full(ops.n_users, NEVER, np.int64)

    def warned(self, ops: Operations) -> np.ndarray:
        """Slots of reachable users whose behaviour triggers a warning today."""
        users = ops.reachable()
        quiet = silence(ops, users)
        last_open = ops.field("last_open")[users].astype(np.int64)
        last_active = ops.field("last_active")[users].astype(np.int64)
        opened_then_silent = (
            (last_open != NEVER)
            & (ops.day - last_open == self.after_open_days)
            & (last_active <= last_open)
            & (quiet >= self.after_open_days)
        )
        trigger = (quiet == self.silent_days) | opened_then_silent
        cooled = ops.day - self.warned_day_[users] >= self.cooldown_days
        return users[trigger & cooled]

    def on_day(self, ops: Operations) -> None:
        self.warned_day_ = grow_array(self.warned_day_, ops.n_users, NEVER)
        due = self.warned(ops)
        if due.size:
            ops.contact_1v1(due, self.minutes)
            self.warned_day_[due] = ops.day
