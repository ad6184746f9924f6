"""``siyu rules check``: lint a config's rules and dry-run them on the initial population.

Findings per rule: conditions that can never fire (:func:`sim.rules.never_true`), budgets that
cannot pay for a single user, schedules that never fall inside the horizon, and overlaps inside
an exclusivity group (two rules that can fire on a common day and whose conditions both select
some user of the initial population; priority then decides). Syntax and unknown-field errors are
raised as :class:`~sim.config.ConfigError` by :func:`sim.rules.schema.compile_rules`.

Counts are for day 0 of the initial population: reachable users meeting the condition and, for
``days_after`` rules, the trigger (``progress_reached`` cannot trigger on day 0; its count is the
condition alone).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np

from sim.calendar import weekday_of
from sim.churn.model import ChurnModel
from sim.config import ExperimentConfig
from sim.engine.simulation import Simulation
from sim.rules.expression import never_true
from sim.rules.fields import CATALOG, user_fields
from sim.rules.schema import OnProgress, compile_rules
from strategies.rules import cost_per_user, trigger_mask


@dataclass
class RuleReport:
    """What ``rules check`` says about one rule."""

    name: str
    schedule: str
    selected: int
    reachable: int
    warnings: list[str] = field(default_factory=list)

    @property
    def share(self) -> float:
        return self.selected / self.reachable if self.reachable else 0.0


def check_rules(config: ExperimentConfig, source: str = "<config>") -> list[RuleReport]:
    """Lint and dry-run every rule of ``config`` (raises ConfigError on condition errors)."""
    conditions = compile_rules(config.rules, source)
    ops = Simulation(config, []).initial_view()
    model = None
    if config.churn_model is not None:
        model = ChurnModel.from_json(config.churn_model)
    needed = set().union(*(c.fields for c in conditions)) if conditions else ()
    fields = user_fields(ops, needed, churn_model=model)
    reachable = ops.field("churn_day") < 0
    n_reach = int(reachable.sum())
    masks, reports = [], []
    for rule, cond in zip(config.rules, conditions, strict=True):
        mask = cond.evaluate(fields, n=ops.n_users) & reachable
        if not isinstance(rule.on, OnProgress):
            mask &= trigger_mask(rule, ops, None)
        masks.append(mask)
        report = RuleReport(rule.name, rule.schedule_text(), int(mask.sum()), n_reach)
        if reason := never_true(cond.ast, CATALOG):
            report.warnings.append(f"can never fire: {reason}")
        money, hours = cost_per_user(rule, ops)
        if rule.budget_money is not None and money > rule.budget_money:
            report.warnings.append(
                f"budget_money {rule.budget_money:g} cannot pay for one user (¥{money:g} each)"
            )
        if rule.budget_operator_hours is not None and hours > rule.budget_operator_hours:
            report.warnings.append(
                f"budget_operator_hours {rule.budget_operator_hours:g} cannot pay for one user "
                f"({hours:g} h each)"
            )
        if not _fire_days(rule, config.days, config.world.calendar.start_date):
            report.warnings.append(f"never scheduled within the {config.days}-day horizon")
        reports.append(report)
    _overlaps(config, masks, reports)
    return reports


def _fire_days(rule, days: int, start: dt.date) -> set[int]:
    return {d for d in range(days) if rule.fires_on(d, weekday_of(start, d))}


def _overlaps(config: ExperimentConfig, masks: list[np.ndarray], reports: list[RuleReport]) -> None:
    rules = config.rules
    for i in range(len(rules)):
        for j in range(i + 1, len(rules)):
            a, b = rules[i], rules[j]
            if a.exclusive_group is None or a.exclusive_group != b.exclusive_group:
                continue
            start = config.world.calendar.start_date
            if not _fire_days(a, config.days, start) & _fire_days(b, config.days, start):
                continue
            both = int((masks[i] & masks[j]).sum())
            if both:
                first, second = (a, b) if (-a.priority, i) <= (-b.priority, j) else (b, a)
                msg = (
                    f"overlaps {{other}} in exclusive_group {a.exclusive_group!r} on {both} "
                    f"users; {first.name!r} wins by priority"
                )
                reports[i].warnings.append(msg.format(other=repr(b.name)))
                reports[j].warnings.append(msg.format(other=repr(a.name)))
