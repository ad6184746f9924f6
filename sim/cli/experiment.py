"""Command-line handlers for experiments: ``run`` (of an experiment file), ``analyse``,
``compare``, ``aa`` and ``report``. :func:`register` adds them to the ``siyu`` parser."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from sim import api
from sim.experiment.aa import run_aa
from sim.experiment.analysis import analyse_experiment
from sim.experiment.compare import print_comparison
from sim.experiment.executor import Execution, execute_experiment, validate_policies
from sim.experiment.plan import plan_experiment_file
from sim.experiment.spec import read_experiment_spec
from sim.io.outputs import write_frame
from sim.io.ownership import FOLDER, claim_output
from sim.report import render_report
from sim.runs.single import console


def positive_int(text: str) -> int:
    """An argparse type: a whole number ≥ 1 (``--workers -1`` or ``--repetitions 0`` refused)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return value


def add_execution_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--workers", type=positive_int,
                   help="local worker processes (default: CPU count)")  # fmt: skip
    p.add_argument("--scheduler", help="Dask scheduler address (tcp://host:8786) to run on")
    p.add_argument("--resume", action="store_true", help="continue an interrupted experiment")
    p.add_argument("--replications", type=int, help="override the number of replications")
    p.add_argument("--no-analysis", action="store_true", help="only run, do not analyse")


def register(sub: argparse._SubParsersAction) -> None:
    an = sub.add_parser("analyse", help="(re)compute the comparison tables of an experiment")
    an.add_argument("experiment", type=Path)

    cmp_ = sub.add_parser("compare", help="print the arm-vs-control table of an experiment")
    cmp_.add_argument("experiment", type=Path)
    cmp_.add_argument("--metric", action="append", help="metric(s) to show (repeatable)")
    cmp_.add_argument("--cell", help="sweep cell to show")

    aa = sub.add_parser("aa", help="A/A test: false-positive rate of the analysis")
    aa.add_argument("config", type=Path)
    aa.add_argument("--repetitions", type=positive_int, default=100)
    aa.add_argument("--users", type=int)
    aa.add_argument("--days", type=int)
    aa.add_argument("--seed", type=int)
    aa.add_argument("--workers", type=positive_int)
    aa.add_argument("--out", type=Path, help="write the p-values and summary here (Parquet)")
    aa.add_argument("--overwrite", action="store_true", help="replace an earlier A/A output")

    rep = sub.add_parser("report", help="execute the report notebook of an experiment to HTML")
    rep.add_argument("experiment", type=Path)
    rep.add_argument("--notebook", help="report (default) or sweep, or a notebook path")
    rep.add_argument("--out", type=Path, help="HTML file (default EXPERIMENT/report.html)")
    rep.add_argument("--overwrite", action="store_true", help="replace an existing report")


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
        tables = analyse_experiment(out)
        print_comparison(tables, con)
        con.print(f"analysis: [bold]{out}/analysis/[/bold] (tables and plots); "
                  f"report: siyu report {out}")  # fmt: skip
    return 1 if result.failed else 0


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
    console().print(
        f"{args.config}: OK — experiment {spec.name}: {len(cells)} cell(s) × "
        f"{len(spec.arm_names)} arms ({', '.join(spec.arm_names)}) × {spec.replications} "
        f"replication(s); {population}, {spec.days} days, base seed {spec.seed}, "
        f"randomised by {spec.randomisation.unit}"
    )
    return 0


def cmd_analyse(args: argparse.Namespace) -> int:
    tables = analyse_experiment(args.experiment)
    print_comparison(tables, console())
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    tables = api.load_experiment(args.experiment).tables
    print_comparison(tables, console(), metrics=args.metric, cell=args.cell)
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
    path = render_report(args.experiment, notebook=args.notebook, out_html=args.out,
                         overwrite=args.overwrite)  # fmt: skip
    console().print(f"report: [bold]{path}[/bold]")
    return 0


HANDLERS = {"analyse": cmd_analyse, "compare": cmd_compare, "aa": cmd_aa, "report": cmd_report}
