"""Command-line handlers for experiments: ``run`` (of an experiment file), ``analyse``,
``compare``, ``aa`` and ``report``. Their flags are in :mod:`sim.cli.parsers`."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from sim import api
from sim.cli.progress import working
from sim.experiment.aa import run_aa
from sim.experiment.analysis import analyse_experiment
from sim.experiment.compare import print_comparison
from sim.experiment.executor import Execution, execute_experiment
from sim.experiment.plan import plan_experiment_file
from sim.experiment.spec import read_experiment_spec
from sim.io.outputs import write_frame
from sim.io.ownership import FOLDER, claim_output
from sim.report import render_report
from sim.runs.single import console


def cmd_run_experiment(args: argparse.Namespace) -> int:
    spec, cells = plan_experiment_file(args.config, seed=args.seed, users=args.users,
                                       days=args.days, replications=args.replications)  # fmt: skip
    out = args.out or Path("runs") / spec.name
    con = console()
    n_runs = len(cells) * len(spec.arm_names) * spec.replications
    where = f"Dask scheduler {args.scheduler}" if args.scheduler else "local processes"
    con.print(f"experiment [bold]{spec.name}[/bold]: {len(cells)} cell(s) × "
              f"{len(spec.arm_names)} arms × {spec.replications} replication(s) = {n_runs} runs "
              f"on {where} → {out}")  # fmt: skip
    execution = Execution(workers=args.workers, scheduler=args.scheduler, resume=args.resume,
                          overwrite=args.overwrite, progress=not args.quiet)  # fmt: skip
    result = execute_experiment(spec, cells, str(args.config), out, execution)
    con.print(f"{result.ran} run(s) executed, {result.skipped} already done, "
              f"{result.failed} failed, in {result.elapsed_s:.1f} s")  # fmt: skip
    if result.failed:
        con.print(f"[red]failed runs are listed in {out}/index.csv with their error; "
                  f"tracebacks in {out}/errors/[/red]")  # fmt: skip
    if not args.no_analysis:
        with working("analysing: comparisons, survival, uplift, figures", args.quiet):
            tables = analyse_experiment(out)
        print_comparison(
            tables, con, wide=args.wide, control=spec.label("control"), arms=spec.arm_names
        )
        con.print(f"analysis: [bold]{out}/analysis/[/bold] (tables and plots); "
                  f"report: siyu report {out}")  # fmt: skip
    return 1 if result.failed else 0


def cmd_analyse(args: argparse.Namespace) -> int:
    with working("analysing: comparisons, survival, uplift, figures", args.quiet):
        analyse_experiment(args.experiment)
    return _print_experiment(args, metrics=None, cell=None)


def cmd_compare(args: argparse.Namespace) -> int:
    return _print_experiment(args, metrics=args.metric, cell=args.cell)


def _print_experiment(args: argparse.Namespace, metrics, cell) -> int:
    result = api.load_experiment(args.experiment)
    print_comparison(result.tables, console(), metrics=metrics, cell=cell, wide=args.wide,
                     control=result.spec.label("control"), arms=result.spec.arm_names)  # fmt: skip
    return 0


AA_FILES = ("aa_pvalues.parquet", "aa_summary.parquet")


def is_aa_folder(path: Path) -> bool:
    """A folder holding nothing but an earlier ``siyu aa --out`` (replaceable with --overwrite)."""
    return {p.name for p in path.iterdir()} <= set(AA_FILES)


def cmd_aa(args: argparse.Namespace) -> int:
    from rich.table import Table

    spec = read_experiment_spec(args.config, seed=args.seed, users=args.users, days=args.days)
    if args.out:
        claim_output(args.out, inputs=[args.config], overwrite=args.overwrite, kind=FOLDER,
                     is_ours=is_aa_folder, what="siyu A/A output")  # fmt: skip
    con = console()
    columns = (TextColumn("[bold]A/A worlds"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())  # fmt: skip
    with Progress(*columns) as progress:
        task = progress.add_task("aa", total=args.repetitions)
        result = run_aa(spec, args.repetitions, str(args.config), args.workers,
                        on_done=lambda: progress.advance(task))  # fmt: skip
    t = Table(title=f"A/A: {args.repetitions} worlds, halves split by {spec.randomisation.unit}, "
                    f"α = {spec.analysis.alpha}")  # fmt: skip
    for name in ("metric", "false-positive rate", "99% interval", "consistent with α"):
        t.add_column(name)
    for _, r in result.summary.iterrows():
        t.add_row(r.metric, f"{r.rate:.3f}", f"[{r.ci_low:.3f}, {r.ci_high:.3f}]",
                  "yes" if r.consistent else "[red]NO[/red]")  # fmt: skip
    con.print(t)
    if args.out:
        write_frame(result.pvalues, args.out / AA_FILES[0])
        write_frame(result.summary, args.out / AA_FILES[1])
        con.print(f"written to {args.out}")
    return 0 if result.summary["consistent"].all() else 1


def cmd_report(args: argparse.Namespace) -> int:
    columns = (TextColumn("[bold]report cells"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())  # fmt: skip
    with Progress(*columns, console=console(), disable=args.quiet, transient=True) as progress:
        task = progress.add_task("report", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        path = render_report(args.experiment, notebook=args.notebook, out_html=args.out,
                             show_code=args.show_code, on_cell=advance,
                             overwrite=args.overwrite)  # fmt: skip
    console().print(f"report: [bold]{path}[/bold]")
    return 0
