"""The ``rules:`` section of an experiment config: operating rules as data (DESIGN.md point 6).

A rule says *whom* (``when``, a condition over :data:`sim.rules.fields.CATALOG`), *when*
(``on``: a schedule or a per-user trigger), *what* (``do``: one action of
:class:`~sim.world.actions.Operations` with its parameters) and *how much* (cooldown, per-user
maximum,
priority, exclusivity group, validity window, money/operator-hour budgets, a hold-out share)::

    rules:
      - name: recall_shallow
        when: 'churn_depth == "shallow" and group_messages_7d == 0'
        on: daily                      # or {weekday: mon}, {every_days: 7, start_day: 0},
                                       # {days_after: {event: join, days: 2}},
                                       # {progress_reached: 0.8}
        do: {action: give_coupon, params: {discount: 0.5, valid_days: 7}}
        cooldown_days: 14
        max_per_user: 2
        priority: 10
        exclusive_group: recall
        budget_money: 2000
        holdout: 0.1

Day 0 is a Monday. YAML 1.1 reads a bare ``on`` key as the boolean ``true``; it is accepted here
as ``on``. :func:`compile_rules` compiles the conditions once and turns a condition error into a
:class:`~sim.errors.ConfigError` naming the file, ``rules.<i>.when`` and the rule, with a caret.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import Field, ValidationError, create_model, model_validator

from sim.errors import ConfigError
from sim.rules.expression import Condition, compile_condition
from sim.rules.fields import CATALOG
from sim.rules.tokens import RuleSyntaxError
from sim.world.actions import Operations, reward_problem
from sim.world.params import Strict

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
RULE_ACTIONS = (
    "push_content", "send_promo", "give_coupon", "contact_1v1", "invite_to_group",
    "remove_from_group", "reward",
)  # fmt: skip


class OnWeekday(Strict):
    weekday: Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class OnEveryDays(Strict):
    every_days: int = Field(ge=1)
    start_day: int = Field(0, ge=0)


class DaysAfter(Strict):
    event: Literal["join", "purchase"]
    days: int = Field(ge=0)


class OnDaysAfter(Strict):
    days_after: DaysAfter


class OnProgress(Strict):
    progress_reached: float = Field(gt=0.0, le=1.0)


Schedule = Literal["daily"] | OnWeekday | OnEveryDays | OnDaysAfter | OnProgress


def _action_params_model(action: str) -> type[Strict]:
    """A model of the action's keyword parameters, built from the types of the
    :class:`~sim.world.actions.Operations` method (bounds included), on the :class:`Strict` base
    (finite numbers, booleans are not numbers)."""
    method = getattr(Operations, action)
    fields: dict[str, Any] = {}
    signature = inspect.signature(method, eval_str=True)
    for p in list(signature.parameters.values())[2:]:  # self, users
        annotation = Any if p.annotation is inspect.Parameter.empty else p.annotation
        default = ... if p.default is inspect.Parameter.empty else p.default
        fields[p.name] = (annotation, default)
    return create_model(f"{action}_params", __base__=Strict, **fields)


class Do(Strict):
    action: Literal[
        "push_content", "send_promo", "give_coupon", "contact_1v1", "invite_to_group",
        "remove_from_group", "reward",
    ]  # fmt: skip
    params: dict[str, Any] = Field({}, description="keyword arguments of the Operations method")

    @model_validator(mode="after")
    def _check_params(self) -> Do:
        model = _action_params_model(self.action)
        try:
            values = model.model_validate(self.params)
        except ValidationError as err:
            problems = "; ".join(
                f"{'.'.join(str(x) for x in e['loc'])}: "
                f"{'unknown parameter' if e['type'] == 'extra_forbidden' else e['msg']}"
                for e in err.errors()
            )
            names = list(model.model_fields)
            raise ValueError(f"params of {self.action}: {problems} (parameters: {names})") from None
        if self.action == "reward" and (problem := reward_problem(values.points, values.gift)):
            raise ValueError(f"params of reward: {problem}")
        return self


class Rule(Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", description="unique rule name")
    when: str = Field("true", description="condition over the rule fields")
    on: Schedule = Field("daily", description="schedule or per-user trigger")
    do: Do
    cooldown_days: int | None = Field(None, ge=1, description="days before a user can get it again")
    max_per_user: int | None = Field(None, ge=1, description="times a user can get it in a run")
    priority: int = Field(0, description="higher runs first")
    exclusive_group: str | None = Field(None, description="one rule of the group per user per day")
    valid_from_day: int = Field(0, ge=0)
    valid_until_day: int | None = Field(None, ge=0, description="last day the rule acts")
    budget_money: float | None = Field(None, ge=0, description="¥ over the run")
    budget_operator_hours: float | None = Field(
        None, ge=0, description="operator hours over the run"
    )
    holdout: float = Field(0.0, ge=0.0, lt=1.0, description="share of users never acted on")

    @model_validator(mode="before")
    @classmethod
    def _yaml_on(cls, data: Any) -> Any:
        if isinstance(data, dict) and True in data:  # YAML 1.1: `on:` parses as the key true
            data = dict(data)
            data.setdefault("on", data.pop(True))
        return data

    def schedule_text(self) -> str:
        on = self.on
        if isinstance(on, str):
            return on
        if isinstance(on, OnWeekday):
            return f"every {on.weekday}"
        if isinstance(on, OnEveryDays):
            return f"every {on.every_days} days from day {on.start_day}"
        if isinstance(on, OnDaysAfter):
            return f"{on.days_after.days} days after {on.days_after.event}"
        return f"progress reaches {on.progress_reached:g}"

    def fires_on(self, day: int, weekday: int | None = None) -> bool:
        """Whether the schedule (not a per-user trigger) and validity window allow ``day``;
        ``weekday`` is that day's real weekday (0 = Monday; default: day 0 is a Monday)."""
        if day < self.valid_from_day or (
            self.valid_until_day is not None and day > self.valid_until_day
        ):
            return False
        if isinstance(self.on, OnWeekday):
            today = day % 7 if weekday is None else weekday
            return today == WEEKDAYS.index(self.on.weekday)
        if isinstance(self.on, OnEveryDays):
            return day >= self.on.start_day and (day - self.on.start_day) % self.on.every_days == 0
        return True


def unique_rule_names(rules: tuple[Rule, ...]) -> tuple[Rule, ...]:
    """``rules`` unchanged if their names are unique; ValueError naming the repeated ones
    otherwise (the validator of every policy's ``rules`` list)."""
    names = [r.name for r in rules]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValueError(f"rule names must be unique; repeated: {', '.join(dup)}")
    return rules


def compile_rules(rules: Sequence[Rule], source: str = "<config>") -> list[Condition]:
    """Compile every rule's condition against the field catalog.

    Raises :class:`~sim.errors.ConfigError` ``SOURCE: rules.<i>.when: rule 'NAME': message``
    followed by the condition and a caret.
    """

    out = []
    for i, rule in enumerate(rules):
        try:
            out.append(compile_condition(rule.when, CATALOG))
        except RuleSyntaxError as err:
            raise ConfigError(f"{source}: rules.{i}.when: {err.with_context(rule.name)}") from None
    return out
