"""The ``siyu`` command line.

    siyu run CONFIG [--out DIR] [--seed S] [--users N] [--days D] [--overwrite] [--quiet]
             [--workers N | --scheduler ADDRESS] [--resume] [--replications R]   (experiments)
    siyu analyse EXPERIMENT_DIR | compare EXPERIMENT_DIR | report EXPERIMENT_DIR
    siyu aa CONFIG [--repetitions N]
    siyu validate CONFIG
    siyu strategies list
    siyu strategies show NAME
    siyu rules check CONFIG [--seed S] [--users N] [--days D]
    siyu laws CONFIG [--users N] [--days D] [--seed S] [--json]   (exit 1 if a law breaks)

Errors in the user's input (config, flags, destination) print one clear message and exit with
status 2; nothing is written. ``rules check`` exits 0 when every rule is clean, 1 when there are
warnings (never fires, overlaps, unaffordable budget, never scheduled) and 2 on errors.
"""

from __future__ import annotations

import argparse
import inspect
import sys
from pathlib import Path

from rich.table import Table

from sim.analysis.summary import print_summary
from sim.cli import churn as churn_cli
from sim.cli import experiment as experiment_cli
from sim.cli import laws as laws_cli
from sim.cli import twin as twin_cli
from sim.config import load_config, read_yaml
from sim.errors import ConfigError
from sim.experiment.spec import is_experiment
from sim.runs.folder import RunFolderError
from sim.runs.rules_check import check_rules
from sim.runs.single import build_strategies, console, default_out_dir, run_to_folder
from strategies.registry import available, get_strategy_class

EXIT_USER_ERROR = 2
# modules with register(subparsers); dispatch via args.handler
_PLUGIN_COMMANDS = (churn_cli, twin_cli, laws_cli)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="siyu", description="Private-domain operations simulator")
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
    config = _load(args)  # run_to_folder builds (and so validates) the strategies first
    out = args.out or default_out_dir(config)
    out_con = console()
    path, result, manifest = run_to_folder(
        config, out, source=str(args.config), overwrite=args.overwrite,
        show_progress=not args.quiet,
    )  # fmt: skip
    print_summary(result.tables, manifest, console=out_con)
    out_con.print(f"run folder: [bold]{path}[/bold]")
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
    table = Table("parameter", "type", "default")
    for p in inspect.signature(cls.__init__).parameters.values():
        if p.name == "self":
            continue
        kind = "" if p.annotation is inspect.Parameter.empty else str(p.annotation)
        default = "(required)" if p.default is inspect.Parameter.empty else repr(p.default)
        table.add_row(p.name, kind, default)
    out.print(table)
    module_doc = sys.modules[cls.__module__].__doc__
    if module_doc:
        out.print(module_doc.strip(), markup=False)
    return 0


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
    args = _parser().parse_args(argv)
    handlers = {"run": cmd_run, "validate": cmd_validate, "strategies": cmd_strategies,
                "rules": cmd_rules, **experiment_cli.HANDLERS}  # fmt: skip
    try:
        handler = handlers.get(args.command) or args.handler
        return handler(args)
    except (ConfigError, RunFolderError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyError as exc:
        print(f"error: {exc.args[0]}", file=sys.stderr)
        return EXIT_USER_ERROR


if __name__ == "__main__":
    sys.exit(main())
