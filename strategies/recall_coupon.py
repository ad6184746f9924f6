"""``recall_coupon``: win back churning users — coupons for the shallow, a call for the deep.

Mechanism: a reachable user silent for ``trigger_silence_days`` or more (and not recalled in
the last ``cooldown_days``) is recalled once:

* *shallow churn* (silent < ``deep_after_days``): a coupon of ``discount`` valid ``valid_days``
  days plus one piece of personalised ``comeback`` content (the missed highlights);
* *deep churn* (silent ≥ ``deep_after_days``): a 1v1 call (``call_minutes``, ``None`` = the
  world's default) plus the returning-user privilege: a coupon of ``deep_discount``.

Parameters: ``trigger_silence_days`` (7, the [000][003] trigger example), ``deep_after_days``
(60, [003] deep churn), ``discount`` (0.5, "returning users 50% off"), ``deep_discount`` (0.5),
``valid_days`` (14), ``cooldown_days`` (30), ``call_minutes`` (None).
Cost: ``costs.coupon_issue`` per coupon (the discount itself is revenue forgone, recorded as
``discount``), ``costs.message`` per content push, operator time per call.
Source: DOMAIN.md §5 "Recall coupons" [000][003].
"""

from __future__ import annotations

import numpy as np

from sim.world.actions import Operations
from sim.world.population import grow_array
from strategies.base import Strategy
from strategies.common import NEVER, silence
from strategies.params import param


class RecallCoupon(Strategy):
    """Shallow churn: coupon + missed highlights; deep churn: 1v1 call + comeback coupon."""

    name = "recall_coupon"
    summary = "shallow churn: coupon + missed highlights; deep churn: 1v1 call + privilege"
    source = "[000][003] recall coupons 召回券; trigger: 7 days silent; [003] churn depth"
    cost_model = "costs.coupon_issue per coupon + forgone discount; message; operator time"

    trigger_silence_days: int = param(7, "days of silence before a recall", low=1, high=365)
    deep_after_days: int = param(
        60, "days of silence from which churn is deep (a call)", low=1, high=3650
    )
    discount: float = param(0.5, "share off the price, shallow churn", low=0.01, high=0.99)
    deep_discount: float = param(0.5, "share off the price, deep churn", low=0.01, high=0.99)
    valid_days: int = param(14, "days a coupon stays valid", low=1, high=365)
    cooldown_days: int = param(30, "days before the same user is recalled again", low=1, high=3650)
    call_minutes: float | None = param(
        None, "minutes per call (None = world's default)", low=0.1, high=600
    )

    def check_params(self) -> None:
        if self.deep_after_days < self.trigger_silence_days:
            raise self.param_error(
                "deep_after_days",
                f"must be ≥ trigger_silence_days "
                f"({self.trigger_silence_days}), got {self.deep_after_days}",
            )

    def start(self, ops: Operations) -> None:
        self.recalled_day_ = np.full(ops.n_users, NEVER, np.int64)

    def on_day(self, ops: Operations) -> None:
        self.recalled_day_ = grow_array(self.recalled_day_, ops.n_users, NEVER)
        users = ops.reachable()
        quiet = silence(ops, users)
        cooled = ops.day - self.recalled_day_[users] >= self.cooldown_days
        due = (quiet >= self.trigger_silence_days) & cooled
        shallow = users[due & (quiet < self.deep_after_days)]
        deep = users[due & (quiet >= self.deep_after_days)]
        if shallow.size:
            ops.give_coupon(shallow, self.discount, self.valid_days)
            ops.push_content(shallow, "comeback")
        if deep.size:
            ops.contact_1v1(deep, self.call_minutes)
            ops.give_coupon(deep, self.deep_discount, self.valid_days)
        self.recalled_day_[shallow] = ops.day
        self.recalled_day_[deep] = ops.day
