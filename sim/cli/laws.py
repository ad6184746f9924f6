"""``siyu laws``: replay the behavioural laws (docs/LAWS.md) on a config's world.

    siyu laws CONFIG [--users N] [--days D] [--seed S] [--only KEYS] [--quick] [--workers W]
                     [--json [FILE]] [--details] [--quiet]

Runs the simulations the laws need on CONFIG's world (its population, world parameters, horizon
and seed; its strategies and rules are replaced by each law's policies), prints one row per law
— measured value, band, holds / violated — and exits 1 if any law is violated or not measurable,
0 if all hold, 2 on bad input. ``--users`` scales the daily arrivals with the initial users.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from sim.cli.parsers import add_laws
from sim.config import ExperimentConfig, load_config, read_yaml
from sim.errors import ConfigError
from sim.experiment.spec import is_experiment
from sim.laws.law import Outcome
from sim.laws.plan import scaled
from sim.laws.runner import replay_laws, select

EXIT_VIOLATED = 1
STATUS_STYLE = {"holds": "green", "violated": "bold red", "not measurable": "bold red",
                "reported": "cyan"}  # fmt: skip


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``laws`` to ``subparsers`` (flags in :mod:`sim.cli.parsers`; handler :func:`run`)."""
    return add_laws(subparsers)


def run(args: argparse.Namespace, console: Console | None = None) -> int:
    """Execute ``siyu laws``; returns the exit status."""
    if is_experiment(read_yaml(args.config)):
        raise ConfigError(f"{args.config}: siyu laws takes a run config (one world), not an "
                          "experiment with arms")  # fmt: skip
    if args.workers < 1:
        raise ConfigError(f"--workers must be at least 1, got {args.workers}")
    config = scaled(load_config(args.config), users=args.users, days=args.days, seed=args.seed)
    laws = select(args.only.split(",") if args.only else None)
    outcomes = replay_laws(
        config, laws, workers=args.workers, progress=not args.quiet,
        source=str(args.config), quick=args.quick,
    )  # fmt: skip
    scope = describe(args, config)
    if args.json:
        text = json.dumps(as_json(scope, outcomes), indent=2, ensure_ascii=False)
        if args.json == "-":
            print(text)
        else:
            Path(args.json).write_text(text + "\n", encoding="utf-8")
    if args.json != "-":
        print_table(scope, outcomes, args.details, console or Console())
    return 0 if all(o.passed for o in outcomes) else EXIT_VIOLATED


def describe(args: argparse.Namespace, config: ExperimentConfig) -> dict[str, Any]:
    """What was measured: the config file, the world's scale, seed and mode."""
    twin = config.population.twin
    return {
        "config": str(args.config),
        "initial_users": None if twin else config.population.initial_users,
        "twin": str(twin) if twin else None,
        "days": config.days,
        "seed": config.seed,
        "quick": bool(args.quick),
    }


def as_json(scope: dict[str, Any], outcomes: list[Outcome]) -> dict[str, Any]:
    return {**scope, "passed": all(o.passed for o in outcomes),
            "laws": [o.as_dict() for o in outcomes]}  # fmt: skip


def print_table(
    scope: dict[str, Any], outcomes: list[Outcome], details: bool, console: Console
) -> None:
    """The law table, then the detail of every law that did not hold (all with ``details``)."""
    users = f"twin {Path(scope['twin']).name}" if scope["twin"] else (
        f"{scope['initial_users']:,} users")  # fmt: skip
    quick = ", quick" if scope["quick"] else ""
    title = (f"laws on {Path(scope['config']).name}: {users}, {scope['days']} days, "
             f"seed {scope['seed']}{quick}")  # fmt: skip
    table = Table(title=title, title_justify="left", expand=False, pad_edge=False)
    table.add_column("law", overflow="fold", ratio=1)
    table.add_column("measured", justify="right", no_wrap=True)
    table.add_column("band", no_wrap=True)
    table.add_column("status", no_wrap=True)
    for o in outcomes:
        style = STATUS_STYLE[o.status]
        status = "violated" if o.status == "not measurable" else o.status
        measured = "n/a" if o.status == "not measurable" else o.shown
        band = o.law.band.text if o.law.band else "—"
        table.add_row(escape(f"{o.law.key} {o.law.title}"), escape(measured), escape(band),
                      f"[{style}]{status}[/]")  # fmt: skip
    console.print(table)
    for o in outcomes:
        if details or not o.passed:
            console.print(f"[bold]{o.law.key}[/] {escape(o.detail)}", overflow="fold",
                          highlight=False)  # fmt: skip
    held = sum(o.passed for o in outcomes)
    verdict = "every law holds" if held == len(outcomes) else f"{len(outcomes) - held} violated"
    console.print(f"{held} of {len(outcomes)} laws hold — {verdict}", highlight=False)
