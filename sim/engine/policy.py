"""A config's policy as strategy objects: its ``strategies:`` plus its ``rules:``.

:func:`build_strategies` is the one place a config's policy is turned into the strategies the
engine runs; :class:`~sim.engine.simulation.Simulation` calls it when given no strategies, and
single runs, experiment arms, fact replays and event logs call it too.
"""

from __future__ import annotations

from sim.config import ExperimentConfig
from sim.rules.schema import compile_rules
from strategies.base import Strategy
from strategies.registry import make_strategy
from strategies.rules import RuleSet


def build_strategies(config: ExperimentConfig, source: str = "<config>") -> list[Strategy]:
    """Instantiate (and validate) the strategies a config names, plus ``rules`` if it has any.

    Errors are :class:`~sim.errors.ConfigError` naming ``source`` and the strategy's key path.
    """
    strategies = [
        make_strategy(spec.name, spec.params, where=f"{source}: strategies.{i}")
        for i, spec in enumerate(config.strategies)
    ]
    if config.rules:
        compile_rules(config.rules, source)
        strategies.append(
            RuleSet(
                rules=tuple(r.model_dump() for r in config.rules),
                config_source=source,
                churn_model=str(config.churn_model) if config.churn_model else None,
            )
        )
    return strategies
