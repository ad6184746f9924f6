"""``siyu validate CONFIG``: check a run config or an experiment file without running it.

A module of its own so that validating imports only the config, the strategies and the
experiment planner — not the analysis, the plots or the report.
"""

from __future__ import annotations

import argparse

from rich.console import Console

from sim.config import load_config, read_yaml
from sim.engine.policy import build_strategies
from sim.experiment.plan import plan_experiment_file, validate_policies
from sim.experiment.spec import is_experiment


def cmd_validate(args: argparse.Namespace) -> int:
    """Check a config (a single run or an experiment) and say what it would run."""
    if is_experiment(read_yaml(args.config)):
        return cmd_validate_experiment(args)
    config = load_config(args.config, seed=args.seed, users=args.users, days=args.days)
    build_strategies(config, str(args.config))
    names = ", ".join(s.name for s in config.strategies) or "none"
    Console(highlight=False).print(
        f"{args.config}: OK — {config.population.initial_users:,} initial users, "
        f"{config.days} days, seed {config.seed}, strategies: {names}"
    )
    return 0


def cmd_validate_experiment(args: argparse.Namespace) -> int:
    """Check an experiment file: the spec, every sweep cell and every arm's strategies."""
    spec, cells = plan_experiment_file(args.config, seed=args.seed, users=args.users,
                                       days=args.days)  # fmt: skip
    validate_policies(cells, str(args.config))  # what `siyu run` checks before any run
    population = (
        f"the twin {spec.population.twin}"
        if spec.population.twin is not None
        else f"{spec.population.initial_users:,} initial users"
    )
    Console(highlight=False).print(
        f"{args.config}: OK — experiment {spec.name}: {len(cells)} cell(s) × "
        f"{len(spec.arm_names)} arms ({', '.join(spec.arm_names)}) × {spec.replications} "
        f"replication(s); {population}, {spec.days} days, base seed {spec.seed}, "
        f"randomised by {spec.randomisation.unit}"
    )
    return 0
