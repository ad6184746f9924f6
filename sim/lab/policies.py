"""Policies as the page edits them, and the experiment they make.

* **Strategy forms** — :func:`strategy_form` turns a strategy's ``param(...)`` declarations
  (:mod:`strategies.params`) into form fields: type, range or choices, default and meaning.
  :func:`read_field` turns what a form sends back into the value the declaration checks.
* **Rules** — :func:`check_rules_text` checks a rules editor's YAML as the strategist types:
  the one YAML loader, the rules schema and the condition compiler (each error with its line
  and column), then the dry run of ``siyu rules check`` (selected users on day 0).
* **The experiment** — :func:`experiment_data` assembles world, control, arms, randomisation
  and replications; :func:`validate_experiment` puts it through exactly what a file goes
  through (:func:`sim.experiment.spec.parse_experiment`, then every policy built); and
  :func:`experiment_yaml` writes the YAML that ``siyu run`` runs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from sim.config import parse_config
from sim.engine.policy import build_strategies
from sim.errors import ConfigError
from sim.experiment.spec import CONTROL, ExperimentSpec, parse_experiment
from sim.io.yaml import parse_yaml
from sim.rules.expression import compile_condition
from sim.rules.fields import CATALOG
from sim.rules.tokens import RuleSyntaxError
from sim.runs.rules_check import check_rules
from strategies.params import Param
from strategies.registry import available

MAX_ARMS = 3
ARM_KEYS = ("arm_a", "arm_b", "arm_c")
MAX_REPLICATIONS = 20
UNITS = ("user", "group")
_WHERE = re.compile(r"line (\d+), column (\d+)")


# --------------------------------------------------------------------------- strategy forms
@dataclass(frozen=True)
class FormField:
    """One input of a strategy's form, read off its parameter declaration."""

    name: str
    kind: str  # int | float | bool | choice | str | list
    default: Any
    meaning: str
    type_name: str
    allowed: str
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()
    optional: bool = False


def _kind(p: Param) -> str:
    if p.item is not None:
        return "list"
    if p.choices is not None:
        return "choice"
    return {int: "int", float: "float", bool: "bool"}.get(p.kind, "str")


def strategy_names() -> list[str]:
    """Every registered strategy (built-ins, then installed ones), by name."""
    return list(available())


def strategy_description(name: str) -> str:
    """The first line of a strategy's docstring."""
    doc = (available()[name].__doc__ or "").strip()
    return doc.splitlines()[0].replace("``", "") if doc else ""


def strategy_form(name: str) -> list[FormField]:
    """The form of a strategy: one field per declared parameter, in declaration order."""
    return [
        FormField(
            p.name,
            _kind(p),
            p.default,
            p.meaning,
            p.type_name,
            p.allowed,
            p.low,
            p.high,
            p.choices or (),
            p.optional,
        )  # fmt: skip
        for p in available()[name].parameters
        if p.declared
    ]


def default_params(name: str) -> dict[str, Any]:
    """A strategy's parameters at their defaults, as YAML writes them (tuples as lists)."""
    return {f.name: list(f.default) if isinstance(f.default, tuple) else f.default
            for f in strategy_form(name)}  # fmt: skip


def read_field(f: FormField, raw: Any) -> Any:
    """What a form sends for ``f`` as a config value: numbers from text or numbers, a list from
    comma-separated text, ``None`` from an empty optional field. Out-of-range values are left
    to the declaration's check (:func:`check_params`), which words the error."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None if f.optional else f.default
    if f.kind == "list":
        items = raw if isinstance(raw, list | tuple) else str(raw).split(",")
        return [_number(x) for x in items]
    if f.kind in ("int", "float"):
        value = _number(raw)
        if f.kind == "int" and isinstance(value, float) and value.is_integer():
            return int(value)
        return value
    return raw


def _number(raw: Any) -> Any:
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        return raw
    text = str(raw).strip()
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text  # the declaration's check says "must be a finite number, got 'x'"


def check_params(name: str, params: dict[str, Any]) -> dict[str, str]:
    """Parameter -> problem for every value its declaration refuses (empty when all pass)."""
    declared = {p.name: p for p in available()[name].parameters}
    problems = {}
    for key, value in params.items():
        p = declared.get(key)
        if p is None:
            problems[key] = "is not a parameter of this strategy"
        elif msg := p.problem(p.from_config(value)):
            problems[key] = msg
    return problems


# --------------------------------------------------------------------------- rules
@dataclass
class RuleCount:
    """A rule's dry run: users it selects on day 0 among those reachable, and warnings."""

    name: str
    schedule: str
    selected: int
    reachable: int
    warnings: list[str] = field(default_factory=list)


@dataclass
class RulesCheck:
    """The rules editor's state: ``rules`` when valid, else ``error`` with its position."""

    rules: list[dict[str, Any]] = field(default_factory=list)
    error: str = ""
    line: int | None = None
    column: int | None = None
    counts: list[RuleCount] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.error


def _located(message: str, text: str, needle: str | None = None, offset: int = 0) -> RulesCheck:
    """An error with a line and column: from the message (YAML), or where ``needle`` (a
    condition) sits in ``text`` plus ``offset`` characters into it."""
    found = _WHERE.search(message)
    if found:
        return RulesCheck(error=message, line=int(found[1]), column=int(found[2]))
    at = text.find(needle) if needle else -1
    if at < 0:
        return RulesCheck(error=message)
    at += offset
    line = text.count("\n", 0, at) + 1
    return RulesCheck(error=message, line=line, column=at - (text.rfind("\n", 0, at) + 1) + 1)


def parse_rules_text(text: str, source: str = "rules") -> RulesCheck:
    """Parse and validate rules YAML (a list of rules) without simulating anything."""
    if not text.strip():
        return RulesCheck()
    try:
        rules = parse_yaml(text, source)
    except ConfigError as exc:
        return _located(str(exc), text)
    if rules is None:
        return RulesCheck()
    if not isinstance(rules, list):
        return RulesCheck(error=f"{source}: expected a list of rules (each starting with '- ')",
                          line=1, column=1)  # fmt: skip
    # YAML 1.1 reads a bare ``on:`` key as true; the rule schema accepts both, the YAML the lab
    # writes says ``on``
    rules = [{("on" if k is True else k): v for k, v in r.items()} if isinstance(r, dict) else r
             for r in rules]  # fmt: skip
    for i, rule in enumerate(rules):
        when = rule.get("when") if isinstance(rule, dict) else None
        if isinstance(when, str):
            try:
                compile_condition(when, CATALOG)
            except RuleSyntaxError as err:
                return _located(f"{source}.{i}.when: {err}", text, when, err.position)
    try:
        parse_config({"name": "rules", "rules": rules}, source)
    except ConfigError as exc:
        return RulesCheck(error=str(exc))
    return RulesCheck(rules=rules)


def check_rules_text(text: str, world: dict[str, Any], source: str = "rules") -> RulesCheck:
    """:func:`parse_rules_text`, then the dry run on the world's initial population."""
    checked = parse_rules_text(text, source)
    if not checked.ok or not checked.rules:
        return checked
    config = parse_config({**world, "name": "rules", "rules": checked.rules}, source)
    try:
        reports = check_rules(config, source)
    except ConfigError as exc:
        return RulesCheck(error=str(exc))
    checked.counts = [RuleCount(r.name, r.schedule, r.selected, r.reachable, r.warnings)
                      for r in reports]  # fmt: skip
    return checked


# --------------------------------------------------------------------------- the experiment
@dataclass
class PolicyDraft:
    """One policy as the page holds it: a label, strategies (name, params) and rules YAML."""

    label: str = ""
    strategies: list[dict[str, Any]] = field(default_factory=list)
    rules_text: str = ""

    def as_data(self, source: str) -> dict[str, Any]:
        rules = parse_rules_text(self.rules_text, f"{source}.rules")
        if not rules.ok:
            raise ConfigError(rules.error)
        data: dict[str, Any] = {"label": self.label} if self.label else {}
        data["strategies"] = [{"name": s["name"], "params": dict(s.get("params") or {})}
                              for s in self.strategies]  # fmt: skip
        if rules.rules:
            data["rules"] = rules.rules
        return data


def experiment_data(
    name: str,
    world: dict[str, Any],
    control: PolicyDraft,
    arms: list[PolicyDraft],
    unit: str = "user",
    replications: int = 3,
    uplift: bool = False,
) -> dict[str, Any]:
    """The raw experiment: the world's keys, the control, arms ``arm_a`` … (at most three),
    randomisation, replications and the analysis options."""
    if not 1 <= len(arms) <= MAX_ARMS:
        raise ConfigError(f"arms: between 1 and {MAX_ARMS} policies besides the control")
    if unit not in UNITS:
        raise ConfigError(f"randomisation.unit: expected one of {', '.join(UNITS)}, got {unit!r}")
    if isinstance(replications, bool) or not 1 <= int(replications) <= MAX_REPLICATIONS:
        raise ConfigError(f"replications: expected 1 to {MAX_REPLICATIONS}, got {replications!r}")
    data = {k: v for k, v in world.items() if k not in ("strategies", "rules")}
    data = {"name": name, "description": "made in the policy lab (siyu lab)", **data}
    data["control"] = control.as_data(CONTROL)
    keys = ARM_KEYS[: len(arms)]
    data["arms"] = {key: arm.as_data(f"arms.{key}") for key, arm in zip(keys, arms, strict=True)}
    data["replications"] = int(replications)
    data["randomisation"] = {"unit": unit}
    data["analysis"] = {"uplift": bool(uplift)}
    return data


def validate_experiment(data: dict[str, Any], source: str = "siyu lab") -> ExperimentSpec:
    """Everything a file goes through before it runs: the schema, every rule's condition, the
    churn model and twin, and every arm's strategies built with their parameters checked."""
    spec = parse_experiment(data, source)
    for arm in spec.arm_names:
        where = f"{source}: " + ("control" if arm == CONTROL else f"arms.{arm}")
        build_strategies(spec.treatment_config(arm, spec.seed), where)
    return spec


def _plain(value: Any) -> Any:
    """Data YAML can write: tuples as lists, paths as text."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def experiment_yaml(data: dict[str, Any]) -> str:
    """The experiment as YAML (keys in the page's order; Chinese labels kept readable)."""
    head = "# made in the policy lab (siyu lab); run it again with: siyu run THIS.yaml --out DIR\n"
    return head + yaml.safe_dump(_plain(data), sort_keys=False, allow_unicode=True, width=100)


def drafts_from_spec(spec: ExperimentSpec) -> tuple[PolicyDraft, list[PolicyDraft]]:
    """The page's policies of an experiment read back (history): control, then the arms."""

    def draft(arm: str) -> PolicyDraft:
        policy = spec.policy(arm)
        rules = [r.model_dump(mode="json", exclude_defaults=True) for r in policy.rules]
        text = experiment_yaml(rules).split("\n", 1)[1] if rules else ""
        strategies = [{"name": s.name, "params": dict(s.params)} for s in policy.strategies]
        return PolicyDraft(policy.label, strategies, text)

    return draft(CONTROL), [draft(arm) for arm in spec.arms]
