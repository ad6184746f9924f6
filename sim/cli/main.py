"""The ``siyu`` command line.

    siyu run CONFIG [--out DIR] [--seed S] [--users N] [--days D] [--overwrite] [--quiet]
             [--workers N | --scheduler ADDRESS] [--resume] [--replications R]   (experiments)
    siyu analyse EXPERIMENT_DIR | compare EXPERIMENT_DIR | report EXPERIMENT_DIR
    siyu aa CONFIG [--repetitions N]
    siyu validate CONFIG
    siyu strategies list
    siyu strategies show NAME
    siyu rules check CONFIG [--seed S] [--users N] [--days D]

Errors in the user's input (config, flags, destination) print one clear message and exit with
status 2; nothing is written. Other expected failures (disk full, read-only, permissions) exit 1,
Ctrl-C exits 130; ``--debug`` adds the traceback (:mod:`sim.cli.failures`).
``rules check`` exits 0 when every rule is clean, 1 when there are
warnings (never fires, overlaps, unaffordable budget, never scheduled) and 2 on errors.
"""

from __future__ import annotations

import argparse
import inspect
import re
import sys
from pathlib import Path
from typing import Any

from rich import box
from rich.table import Table
from rich.text import Text

from sim import api
from sim.analysis.summary import print_summary
from sim.cli import churn as churn_cli
from sim.cli import experiment as experiment_cli
from sim.cli import twin as twin_cli
from sim.cli.failures import guarded
from sim.config import load_config, read_yaml
from sim.engine.policy import build_strategies
from sim.experiment.spec import is_experiment
from sim.runs.rules_check import check_rules
from sim.runs.single import console, default_out_dir
from strategies.base import Strategy
from strategies.registry import available, get_strategy_class

# modules with register(subparsers); dispatch via args.handler
_PLUGIN_COMMANDS = (churn_cli, twin_cli)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="siyu", description="Private-domain operations simulator")
    p.add_argument("--debug", action="store_true", help="print the traceback of a failure")
    sub = p.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run an experiment config and write a run folder")
    run.add_argument("config", type=Path)
    run.add_argument("--out", type=Path, help="run folder (default runs/<name>-<hash>)")
    run.add_argument("--seed", type=int, help="override the config's seed")
    run.add_argument("--users", type=int, help="override population.initial_users")
    run.add_argument("--days", type=int, help="override the horizon in days")
    run.add_argument("--overwrite", action="store_true", help="replace an existing run folder")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    experiment_cli.add_execution_flags(run)

    val = sub.add_parser("validate", help="check a config without running it")
    val.add_argument("config", type=Path)
    val.add_argument("--seed", type=int)
    val.add_argument("--users", type=int)
    val.add_argument("--days", type=int)

    strat = sub.add_parser("strategies", help="list or describe the available strategies")
    strat_sub = strat.add_subparsers(dest="action", required=True)
    strat_sub.add_parser("list", help="list strategy names")
    show = strat_sub.add_parser("show", help="parameters and cost model of one strategy")
    show.add_argument("name")

    rules = sub.add_parser("rules", help="lint and dry-run the rules of a config")
    rules_sub = rules.add_subparsers(dest="action", required=True)
    check = rules_sub.add_parser("check", help="lint rules and count whom they select on day 0")
    check.add_argument("config", type=Path)
    check.add_argument("--seed", type=int)
    check.add_argument("--users", type=int)
    check.add_argument("--days", type=int)
    experiment_cli.register(sub)
    for module in _PLUGIN_COMMANDS:
        module.register(sub)
    return p


def _load(args: argparse.Namespace):
    return load_config(args.config, seed=args.seed, users=args.users, days=args.days)


def cmd_run(args: argparse.Namespace) -> int:
    if is_experiment(read_yaml(args.config)):
        return experiment_cli.cmd_run_experiment(args)
    config, source = api.resolve_config(args.config, users=args.users, days=args.days,
                                        seed=args.seed)  # fmt: skip
    out = args.out or default_out_dir(config)
    out_con = console()
    # api.run builds (and so validates) the strategies before checking or writing anything
    result = api.run(config, out=out, overwrite=args.overwrite, progress=not args.quiet,
                     source=source)  # fmt: skip
    print_summary(result.tables, result.manifest, console=out_con)
    out_con.print(f"run folder: [bold]{result.folder}[/bold]")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    if is_experiment(read_yaml(args.config)):
        return experiment_cli.cmd_validate_experiment(args)
    config = _load(args)
    build_strategies(config, str(args.config))
    names = ", ".join(s.name for s in config.strategies) or "none"
    console().print(
        f"{args.config}: OK — {config.population.initial_users:,} initial users, "
        f"{config.days} days, seed {config.seed}, strategies: {names}"
    )
    return 0


def cmd_strategies(args: argparse.Namespace) -> int:
    out = console()
    if args.action == "list":
        table = Table("name", "summary", "source")
        for name, cls in sorted(available().items()):
            table.add_row(name, cls.summary, cls.source)
        out.print(table)
        return 0
    cls = get_strategy_class(args.name)
    out.print(f"[bold]{cls.name}[/bold] — {cls.summary}")
    out.print(f"source: {cls.source}\ncost model: {cls.cost_model}")
    out.print(parameter_table(cls))
    module_doc = sys.modules[cls.__module__].__doc__
    if module_doc:
        out.print(reflowed(module_doc), markup=False)
    return 0


def parameter_table(cls: type[Strategy]) -> Table:
    """A strategy's declared parameters: name, type, allowed values, default and meaning."""
    table = Table(title="parameters", box=box.SIMPLE_HEAD, collapse_padding=True, pad_edge=False)
    table.add_column("parameter", no_wrap=True)
    for header in ("type", "allowed", "default"):
        table.add_column(header, max_width=16)
    table.add_column("meaning", ratio=1)
    for p in cls.parameters:
        cells = (p.name, p.type_name, p.allowed or "-", shown(p.default), p.meaning)
        table.add_row(*(Text(cell) for cell in cells))
    if not cls.parameters:
        table.add_row("(none)", "", "", "", "")
    return table


def shown(value: Any) -> str:
    """A default as a short text: numbers in ``g`` format, tuples as their items."""
    if isinstance(value, tuple):
        return "(" + ", ".join(shown(v) for v in value) + ")"
    if isinstance(value, float):
        return f"{value:g}"
    return repr(value) if isinstance(value, str) else str(value)


def reflowed(doc: str) -> str:
    """A docstring with each paragraph (and bullet) on one line, for the terminal to wrap."""
    blocks = []
    for block in inspect.cleandoc(doc).split("\n\n"):
        items = re.split(r"\n(?=[*-] )", block)
        blocks.append("\n".join(" ".join(line.strip() for line in item.splitlines())
                                for item in items))  # fmt: skip
    return "\n\n".join(blocks)


def cmd_rules(args: argparse.Namespace) -> int:

    config = load_config(args.config, seed=args.seed, users=args.users, days=args.days)
    out = console()
    if not config.rules:
        out.print(f"{args.config}: no rules")
        return 0
    reports = check_rules(config, str(args.config))
    table = Table("rule", "schedule", "users selected", "share", "warnings",
                  title=f"rules of {args.config} on the initial population (day 0)")  # fmt: skip
    for r in reports:
        table.add_row(r.name, r.schedule, f"{r.selected:,}", f"{r.share:.1%}",
                      "\n".join(r.warnings) or "-")  # fmt: skip
    out.print(table)
    warnings = sum(len(r.warnings) for r in reports)
    out.print(f"{len(reports)} rule(s), {warnings} warning(s)")
    return 1 if warnings else 0


def main(argv: list[str] | None = None) -> int:
    """Run ``siyu``: the exit status, with expected failures turned into one line by the one
    error boundary (:mod:`sim.cli.failures`; 2 input, 1 other, 130 Ctrl-C; ``--debug`` anywhere
    on the line adds the traceback)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    args = _parser().parse_args(["--debug"] * debug + [a for a in argv if a != "--debug"])
    handlers = {"run": cmd_run, "validate": cmd_validate, "strategies": cmd_strategies,
                "rules": cmd_rules, **experiment_cli.HANDLERS}  # fmt: skip
    handler = handlers.get(args.command) or args.handler
    return guarded(lambda: handler(args), args, debug)


if __name__ == "__main__":
    sys.exit(main())
