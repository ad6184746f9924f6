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
from strategies.common import NEVER, silence
from strategies.params import param


class ChurnWarning(Strategy):
    """1v1 outreach on '7 days silent' or '3 days without interaction after an open'."""

    name = "churn_warning"
    summary = "7 days silent, or 3 days no interaction after a promo open -> 1v1 outreach"
    source = "[000][003] churn warning: behaviour-combination triggers before the user is gone"
    cost_model = "operator minutes × costs.operator_hourly per 1v1 contact"

    silent_days: int = param(7, "days of silence that trigger a warning", low=1, high=365)
    after_open_days: int = param(
        3, "days inactive after an opened message that trigger one", low=1, high=365
    )
    cooldown_days: int = param(
        14, "days before the same user can be warned again", low=1, high=3650
    )
    minutes: float | None = param(
        None, "minutes per 1v1 (None = world's contact_minutes)", low=0.1, high=600
    )

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
