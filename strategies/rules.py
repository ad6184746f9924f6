"""``rules``: run the experiment config's ``rules:`` (operating rules as data) every day.

Added automatically by :func:`sim.engine.policy.build_strategies` when a config has rules. Each day
the rules
are taken by priority (higher first; ties in listing order). For each rule whose schedule and
validity window allow today:

1. **selected** — reachable users meeting the condition (and the per-user trigger:
   ``days_after`` join/purchase exactly N days ago, ``progress_reached`` crossed since yesterday);
2. **suppressed** — already given a rule of the same ``exclusive_group`` today, inside the
   ``cooldown_days`` since this rule last reached them, or at ``max_per_user``;
3. **held_out** — the rule's keyed-random hold-out (same users in every arm: the draw depends only
   on seed, rule name and user id); they never get this rule's action;
4. **over_budget** — the part of the batch (in slot order) that the remaining ``budget_money`` /
   ``budget_operator_hours`` cannot pay for (costs from ``world.costs``; postponed 1v1 contacts are
   paid for when queued);
5. the action is called under the strategy name ``rules:<rule name>``; **acted** are the users it
   reached today, **postponed** 1v1 contacts queued for lack of operator capacity, **capped** the
   rest (contact-pressure caps, or the action did not apply, e.g. already in a group).

Held-out and reached (or queued) users take their place in the exclusivity group. Per-rule daily
counts are returned by :meth:`RuleSet.result_tables` as the ``rules`` table. Rules using the
field ``churn_risk`` read the model file ``churn_model`` (the config's ``churn_model:``), loaded
once per run when the rules start.
"""

from __future__ import annotations

import hashlib
import math
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

from sim.churn.model import ChurnModel, load_churn_model
from sim.rng import Purpose, uniforms
from sim.rules.expression import Condition
from sim.rules.fields import user_fields
from sim.rules.schema import OnDaysAfter, OnProgress, Rule, compile_rules
from sim.world.actions import Operations
from sim.world.lifecycle import NO_DAY
from strategies.base import Strategy
from strategies.params import param

RULE_COLUMNS = (
    "day", "rule", "selected", "suppressed", "held_out", "over_budget", "capped", "acted",
    "postponed",
)  # fmt: skip


def holdout_salt(rule_name: str) -> int:
    """A stable 32-bit salt per rule name (the 'day' slot of the hold-out draw address)."""
    return int.from_bytes(hashlib.blake2b(rule_name.encode(), digest_size=4).digest(), "little")


def holdout_mask(seed: int, rule: Rule, uids: np.ndarray) -> np.ndarray:
    """True for the users the rule holds out."""
    if rule.holdout <= 0:
        return np.zeros(uids.shape[0], dtype=bool)
    return uniforms(seed, Purpose.HOLDOUT, holdout_salt(rule.name), uids) < rule.holdout


def cost_per_user(rule: Rule, ops: Operations) -> tuple[float, float]:
    """(¥, operator hours) one user of the rule's action costs."""
    costs, p = ops.world.costs, rule.do.params
    action = rule.do.action
    if action == "push_content":
        return costs.message, 0.0
    if action == "send_promo":
        return p.get("count", 1) * costs.message, 0.0
    if action == "give_coupon":
        return costs.coupon_issue, 0.0
    if action == "contact_1v1":
        minutes = p.get("minutes")
        hours = (costs.contact_minutes if minutes is None else minutes) / 60.0
        return hours * costs.operator_hourly, hours
    if action == "reward":
        return p.get("gift", 0.0) + p.get("points", 0.0) * costs.point_value, 0.0
    return 0.0, 0.0


def trigger_mask(rule: Rule, ops: Operations, prev_progress: np.ndarray | None) -> np.ndarray:
    """The per-user trigger of ``days_after`` / ``progress_reached`` (all True otherwise)."""
    n = ops.n_users
    on = rule.on
    if isinstance(on, OnDaysAfter):
        column = "join_day" if on.days_after.event == "join" else "last_purchase"
        last = ops.field(column).astype(np.int64)
        return (last != NO_DAY) & (ops.day - last == on.days_after.days)
    if isinstance(on, OnProgress):
        now = ops.field("progress")
        prev = np.zeros(n, np.float32)
        if prev_progress is not None:
            prev[: prev_progress.shape[0]] = prev_progress[:n]
        return (prev < on.progress_reached) & (now >= on.progress_reached)
    return np.ones(n, dtype=bool)


def _fit(budget: float | None, spent: float, each: float) -> float:
    if budget is None or each <= 0:
        return math.inf
    return max(0, math.floor((budget - spent) / each + 1e-9))


class RuleSet(Strategy):
    """Runs a list of rules (the ``rules:`` of a config) through Operations only."""

    name = "rules"
    summary = "operating rules written as data in the config's rules: section"
    source = "DESIGN.md point 6; DOMAIN.md §5 recall coupons, progress nudges, churn warning"
    cost_model = "each rule's action costs, booked under 'rules:<rule name>'; per-rule budgets"

    rules: tuple[dict[str, Any], ...] = param(
        (), "the config's rules, as dicts (see RULES_LANGUAGE)"
    )
    config_source: str = param("<config>", "the config file named in error messages")
    churn_model: str | None = param(None, "model file behind churn_risk (None = no model)")

    def start(self, ops: Operations) -> None:
        self.rules_ = [Rule.model_validate(r) for r in self.rules]
        self.conditions_: list[Condition] = compile_rules(self.rules_, self.config_source)
        self.churn_model_ = self._load_churn_model()
        self.order_ = sorted(range(len(self.rules_)), key=lambda i: (-self.rules_[i].priority, i))
        self.ops_ = [ops.labelled(f"rules:{r.name}") for r in self.rules_]
        self.unit_cost_ = [cost_per_user(r, ops) for r in self.rules_]
        self.last_fired_ = [np.zeros(0, np.int64) for _ in self.rules_]
        self.times_ = [np.zeros(0, np.int32) for _ in self.rules_]
        self.spent_ = [[0.0, 0.0] for _ in self.rules_]
        self.progress_: np.ndarray | None = ops.field("progress").copy()
        self.records_: list[tuple] = []

    def _load_churn_model(self) -> ChurnModel | None:
        """The model behind ``churn_risk`` (loaded once per run), or None if no rule uses it."""
        rules = zip(self.rules_, self.conditions_, strict=True)
        users = [r.name for r, c in rules if "churn_risk" in c.fields]
        if not users:
            return None

        return load_churn_model(self.churn_model, users, self.config_source)

    def _grow(self, n: int) -> None:
        for i in range(len(self.rules_)):
            old = self.last_fired_[i].shape[0]
            if old < n:
                self.last_fired_[i] = np.concatenate(
                    [self.last_fired_[i], np.full(n - old, -(2**40), np.int64)]
                )
                self.times_[i] = np.concatenate([self.times_[i], np.zeros(n - old, np.int32)])

    def on_day(self, ops: Operations) -> None:
        day, n = ops.day, ops.n_users
        self._grow(n)
        today = [i for i in self.order_ if self.rules_[i].fires_on(day, ops.weekday)]
        needed = set().union(*(self.conditions_[i].fields for i in today)) if today else set()
        fields = user_fields(ops, needed, self.churn_model_)
        reachable = ops.field("churn_day") < 0
        uid = ops.field("uid")
        taken: dict[str, np.ndarray] = {}
        for i in today:
            rule = self.rules_[i]
            mask = self.conditions_[i].evaluate(fields, n=n) & reachable
            mask &= trigger_mask(rule, ops, self.progress_)
            selected = np.flatnonzero(mask)
            ok = np.ones(selected.shape[0], dtype=bool)
            group = rule.exclusive_group
            if group is not None:
                taken.setdefault(group, np.zeros(n, dtype=bool))
                ok &= ~taken[group][selected]
            if rule.cooldown_days is not None:
                ok &= day - self.last_fired_[i][selected] >= rule.cooldown_days
            if rule.max_per_user is not None:
                ok &= self.times_[i][selected] < rule.max_per_user
            candidates = selected[ok]
            held = holdout_mask(ops.seed, rule, uid[candidates])
            held_out, candidates = candidates[held], candidates[~held]
            money, hours = self.unit_cost_[i]
            spent = self.spent_[i]
            fit = min(
                _fit(rule.budget_money, spent[0], money),
                _fit(rule.budget_operator_hours, spent[1], hours),
            )
            batch = candidates if fit >= candidates.shape[0] else candidates[: int(fit)]
            acted, postponed = self._act(i, batch)
            reached = np.union1d(acted, postponed)
            spent[0] += reached.shape[0] * money
            spent[1] += reached.shape[0] * hours
            self.last_fired_[i][reached] = day
            self.times_[i][reached] += 1
            if group is not None:
                taken[group][held_out] = True
                taken[group][reached] = True
            self.records_.append((
                day, rule.name, selected.shape[0], int((~ok).sum()), held_out.shape[0],
                candidates.shape[0] - batch.shape[0], batch.shape[0] - reached.shape[0],
                acted.shape[0], postponed.shape[0],
            ))  # fmt: skip
        if self.progress_ is not None:
            self.progress_ = ops.field("progress").copy()

    def _act(self, i: int, users: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Run rule ``i``'s action on ``users``; return (reached today, postponed)."""
        ops, do = self.ops_[i], self.rules_[i].do
        if not users.shape[0]:
            return users, users
        ops.postponed = users[:0]
        getattr(ops, do.action)(users, **do.params)
        return ops.last_users, ops.postponed

    def result_tables(self) -> dict[str, pd.DataFrame]:
        """The ``rules`` table: per rule and day the rule could act, the counts above."""
        # lazy: pandas is heavy, and validating a config builds rule sets without running them
        import pandas as pd

        df = pd.DataFrame(self.records_, columns=list(RULE_COLUMNS))
        ints = {c: np.int64 for c in RULE_COLUMNS[2:]}
        return {"rules": df.astype({"day": np.int32, "rule": "string", **ints})}
