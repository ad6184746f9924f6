"""The handlers of ``siyu run``, ``validate``, ``strategies list|show`` and ``rules check``
(their flags are in :mod:`sim.cli.parsers`; :func:`sim.cli.main.main` dispatches here)."""

from __future__ import annotations

import argparse
import inspect
import re
import sys
from typing import Any

from rich import box
from rich.table import Table
from rich.text import Text

from sim import api
from sim.analysis.summary import print_summary
from sim.cli import experiment as experiment_cli
from sim.config import load_config, read_yaml
from sim.experiment.spec import is_experiment
from sim.runs.rules_check import check_rules
from sim.runs.single import console, default_out_dir
from sim.world.params import CostParams
from strategies.base import Strategy
from strategies.registry import available, get_strategy_class


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


def cmd_strategies(args: argparse.Namespace) -> int:
    out = console()
    if args.action == "list":
        table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
        table.add_column("name", no_wrap=True)
        table.add_column("summary", ratio=1, overflow="fold")
        table.add_column("source", ratio=1, overflow="fold")
        for name, cls in sorted(available().items()):
            table.add_row(name, Text(cls.summary), Text(cls.source))
        out.print(table)
        out.print(SOURCES_LINE)
        return 0
    cls = get_strategy_class(args.name)
    out.print(Text.assemble((cls.name, "bold"), f" — {cls.summary}"))
    out.print(Text(f"source: {cls.source}\ncost model: {cls.cost_model}"))
    amounts = cost_amounts(cls.cost_model)
    if amounts:
        out.print(Text(f"default costs: {amounts} (set them under costs: in a config)"))
    out.print(parameter_table(cls))
    module_doc = sys.modules[cls.__module__].__doc__
    if module_doc:
        out.print(reflowed(module_doc), markup=False)
    out.print(SOURCES_LINE)
    return 0


SOURCES_LINE = "sources: docs/SOURCES.md (what each tag [000] to [004] is)"


def cost_amounts(cost_model: str) -> str:
    """The default amount of every ``costs.<name>`` a cost model mentions (and the operator's
    hourly rate and minutes per contact when it books operator time)."""
    names = re.findall(r"costs\.(\w+)", cost_model)
    if "operator" in cost_model:
        names += ["operator_hourly", "contact_minutes"]
    fields = CostParams.model_fields
    shown = []
    for name in dict.fromkeys(n for n in names if n in fields):
        value = fields[name].default
        unit = "minutes" if name.endswith("minutes") else "¥"
        amount = f"{value:g} {unit}" if unit == "minutes" else f"¥{value:g}"
        shown.append(f"costs.{name} = {amount}")
    return "; ".join(shown)


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
    """A docstring with each paragraph (and bullet) on one line, for the terminal to wrap, and
    reStructuredText's literal marks (````name````) dropped."""
    blocks = []
    for block in inspect.cleandoc(doc).replace("``", "").split("\n\n"):
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
