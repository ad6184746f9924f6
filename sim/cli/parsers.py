"""Every ``siyu`` sub-command's flags, and which function runs it — without importing it.

This module imports nothing but :mod:`argparse`, so ``siyu --help`` (and a mistyped flag) answer
at once. Each sub-command names its handler as ``"module:function"`` (``args.handler``);
:func:`sim.cli.main.main` imports that one module when the command runs, so a command pays only
for the libraries it uses.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from sim.cli.args import positive_int

COMMANDS = "sim.cli.commands"
EXPERIMENT = "sim.cli.experiment"
TWIN = "sim.cli.twin"
CHURN = "sim.cli.churn"
QUIET_HELP = "no progress bar, no warnings"


def build_parser() -> argparse.ArgumentParser:
    """The whole ``siyu`` parser."""
    p = argparse.ArgumentParser(prog="siyu", description="Private-domain operations simulator")
    p.add_argument(
        "--debug",
        action="store_true",
        help="print the traceback of a failure (anywhere on the line)",
    )
    sub = p.add_subparsers(dest="command", required=True)
    add_run_commands(sub)
    add_experiment_commands(sub)
    add_twin(sub)
    add_churn(sub)
    add_laws(sub)
    add_lab(sub)
    return p


def _config_overrides(p: argparse.ArgumentParser) -> None:
    p.add_argument("--seed", type=int, help="override the config's seed")
    p.add_argument("--users", type=int, help="override population.initial_users")
    p.add_argument("--days", type=int, help="override the horizon in days")


def add_run_commands(sub: argparse._SubParsersAction) -> None:
    """``run``, ``validate``, ``strategies list|show``, ``rules check``."""
    run = sub.add_parser("run", help="run an experiment config and write a run folder")
    run.add_argument("config", type=Path)
    run.add_argument("--out", type=Path, help="run folder (default runs/<name>-<hash>)")
    _config_overrides(run)
    run.add_argument("--overwrite", action="store_true", help="replace an existing run folder")
    run.add_argument("--quiet", action="store_true", help=QUIET_HELP)
    add_execution_flags(run)
    run.set_defaults(handler=f"{COMMANDS}:cmd_run")

    val = sub.add_parser("validate", help="check a config without running it")
    val.add_argument("config", type=Path)
    _config_overrides(val)
    val.set_defaults(handler="sim.cli.validate:cmd_validate")

    strat = sub.add_parser("strategies", help="list or describe the available strategies")
    strat_sub = strat.add_subparsers(dest="action", required=True)
    strat_sub.add_parser("list", help="list strategy names")
    show = strat_sub.add_parser("show", help="parameters and cost model of one strategy")
    show.add_argument("name")
    strat.set_defaults(handler=f"{COMMANDS}:cmd_strategies")

    rules = sub.add_parser("rules", help="lint and dry-run the rules of a config")
    rules_sub = rules.add_subparsers(dest="action", required=True)
    check = rules_sub.add_parser("check", help="lint rules and count whom they select on day 0")
    check.add_argument("config", type=Path)
    _config_overrides(check)
    rules.set_defaults(handler=f"{COMMANDS}:cmd_rules")


THREADS_HELP = "threads of the daily step (default: $SIYU_THREADS, else every core)"


def add_execution_flags(p: argparse.ArgumentParser) -> None:
    """The flags of ``siyu run`` on an experiment file."""
    p.add_argument(
        "--workers", type=positive_int, help="local worker processes (default: CPU count)"
    )
    p.add_argument("--threads", type=positive_int, help=THREADS_HELP)
    p.add_argument("--scheduler", help="Dask scheduler address (tcp://host:8786) to run on")
    p.add_argument("--resume", action="store_true", help="continue an interrupted experiment")
    p.add_argument("--replications", type=positive_int, help="override the number of replications")
    p.add_argument("--no-analysis", action="store_true", help="only run, do not analyse")
    p.add_argument("--wide", action="store_true", help="one full-width comparison table")


def add_experiment_commands(sub: argparse._SubParsersAction) -> None:
    """``analyse``, ``compare``, ``aa`` and ``report``."""
    an = sub.add_parser("analyse", help="(re)compute the comparison tables of an experiment")
    an.add_argument("experiment", type=Path)
    an.add_argument("--wide", action="store_true", help="one full-width comparison table")
    an.add_argument("--quiet", action="store_true", help=QUIET_HELP)
    an.set_defaults(handler=f"{EXPERIMENT}:cmd_analyse")

    cmp_ = sub.add_parser("compare", help="print the arm-vs-control table of an experiment")
    cmp_.add_argument("experiment", type=Path)
    cmp_.add_argument("--metric", action="append", help="metric(s) to show (repeatable)")
    cmp_.add_argument("--cell", help="sweep cell to show")
    cmp_.add_argument("--wide", action="store_true",
                      help="one table of every arm with the MDE, at full width (default: one "
                           "table per arm, fitting 80 columns)")  # fmt: skip
    cmp_.set_defaults(handler=f"{EXPERIMENT}:cmd_compare")

    aa = sub.add_parser("aa", help="A/A test: false-positive rate of the analysis")
    aa.add_argument("config", type=Path)
    aa.add_argument("--repetitions", type=positive_int, default=100)
    aa.add_argument("--users", type=int)
    aa.add_argument("--days", type=int)
    aa.add_argument("--seed", type=int)
    aa.add_argument("--workers", type=positive_int)
    aa.add_argument("--threads", type=positive_int, help=THREADS_HELP)
    aa.add_argument("--out", type=Path, help="write the p-values and summary here (Parquet)")
    aa.add_argument("--overwrite", action="store_true", help="replace an earlier A/A output")
    aa.set_defaults(handler=f"{EXPERIMENT}:cmd_aa")

    rep = sub.add_parser("report", help="execute the report notebook of an experiment to HTML")
    rep.add_argument("experiment", type=Path)
    rep.add_argument("--notebook", help="report (default) or sweep, or a notebook path")
    rep.add_argument("--out", type=Path, help="HTML file (default EXPERIMENT/report.html)")
    rep.add_argument("--overwrite", action="store_true", help="replace an existing report")
    rep.add_argument(
        "--show-code",
        action="store_true",
        help="include the notebook's code in the HTML (hidden by default)",
    )
    rep.add_argument("--quiet", action="store_true", help=QUIET_HELP)  # fmt: skip
    rep.set_defaults(handler=f"{EXPERIMENT}:cmd_report")


def add_twin(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """``twin fit|forecast|backtest|retention|sample-log``."""
    twin = subparsers.add_parser(
        "twin", help="digital twin: fit to a real event log, forecast, backtest, retention"
    )
    twin.set_defaults(handler=f"{TWIN}:run")
    sub = twin.add_subparsers(dest="twin_command", required=True)

    fit = sub.add_parser("fit", help="fit the twin on events up to the calibration end")
    _input_options(fit)
    fit.add_argument("--users", type=Path, help="optional users table (user_id + attributes)")
    fit.add_argument("--users-id-column", default="user_id", help="id column of --users")
    fit.add_argument("--out", type=Path, required=True, help="twin folder to write")
    fit.add_argument("--overwrite", action="store_true", help="replace an existing twin folder")

    fc = sub.add_parser("forecast", help="per-user purchases and spend after the calibration end")
    fc.add_argument("twin_dir", type=Path)
    fc.add_argument("--until", required=True, help="last day forecast (inclusive), YYYY-MM-DD")
    fc.add_argument("--out", type=Path, required=True, help="per-user file, .csv or .parquet")
    _mc_options(fc)
    fc.add_argument("--overwrite", action="store_true", help="replace existing output files")

    bt = sub.add_parser("backtest", help="fit, forecast the holdout, compare with what happened")
    _input_options(bt)
    bt.add_argument("--until", required=True, help="end of the holdout (inclusive)")
    bt.add_argument("--out", type=Path, required=True, help="backtest folder to write")
    _mc_options(bt)
    bt.add_argument("--overwrite", action="store_true", help="replace an existing backtest folder")

    ret = sub.add_parser("retention", help="fit sBG and the twin's BdW to a cohort table")
    ret.add_argument("table", type=Path, help="CSV with columns period, survivors")
    ret.add_argument("--fit-through", type=int, required=True, help="K: fit periods 0..K")
    ret.add_argument("--project-to", type=int, required=True, help="M: project to period M")
    ret.add_argument("--out", type=Path, help="write the projection (.csv or .parquet)")
    ret.add_argument("--overwrite", action="store_true", help="replace an existing projection")

    sample = sub.add_parser(
        "sample-log", help="simulate a business from a run config and write its event log"
    )
    sample.add_argument("config", type=Path, help="a run config, e.g. experiments/quickstart.yaml")
    sample.add_argument("--out", type=Path, required=True, help="event log, .csv or .parquet")
    sample.add_argument("--start-date", default="2024-01-01", help="the date of day 0")
    sample.add_argument("--users", type=int, help="override population.initial_users")
    sample.add_argument("--days", type=int, help="override the horizon in days")
    sample.add_argument("--seed", type=int, help="override the config's seed")
    sample.add_argument("--overwrite", action="store_true", help="replace an existing file")
    for p in (fit, fc, bt, sample):
        p.add_argument("--quiet", action="store_true", help=QUIET_HELP)
    return twin


def _input_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--events", type=Path, required=True, help="event log (.csv, .csv.gz, .parquet)")
    p.add_argument("--calibration-end", required=True, help="last calibration day, YYYY-MM-DD")
    p.add_argument("--merge-same-day", action="store_true", help="merge same-day purchases")
    p.add_argument("--quarantine", type=Path, help="write malformed rows here and go on")
    p.add_argument("--map", nargs="+", default=[], metavar="OURS=THEIRS",
                   help="column names: e.g. user_id=customer timestamp=order_date")  # fmt: skip
    p.add_argument("--activity", choices=("rate", "bound", "off"), default="rate",
                   help="how activity events are used (docs/TWIN.md; default rate)")  # fmt: skip


def _mc_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--seed", type=int, default=0, help="Monte-Carlo seed (default 0)")
    p.add_argument(
        "--draws", type=positive_int, default=200, help="Monte-Carlo draws (default 200)"
    )


def add_churn(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """``churn-model train``."""
    churn = subparsers.add_parser(
        "churn-model", help="train the churn-prediction model behind the rule field churn_risk"
    )
    actions = churn.add_subparsers(dest="action", required=True)
    train = actions.add_parser(
        "train", help="simulate, fit on training seeds, evaluate on held-out seeds, write JSON"
    )
    train.add_argument("config", type=Path, help="experiment config whose world is simulated")
    train.add_argument("--train-seeds", type=int, nargs="+", required=True, metavar="SEED")
    train.add_argument("--test-seeds", type=int, nargs="+", required=True, metavar="SEED")
    train.add_argument("--snapshot-day", type=int, default=60, help="snapshot after this day")
    train.add_argument("--window", type=int, default=30, help="days of churn predicted")
    train.add_argument("--users", type=int, help="override population.initial_users")
    train.add_argument("--out", type=Path, required=True, help="model JSON to write")
    train.add_argument("--overwrite", action="store_true", help="replace an existing model file")
    churn.set_defaults(handler=f"{CHURN}:run")
    return churn


def add_laws(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """``laws``: replay the behavioural laws (docs/LAWS.md) on a config's world."""
    p = subparsers.add_parser(
        "laws", help="replay the behavioural laws on a config's world (exit 1 if one breaks)"
    )
    p.add_argument("config", type=Path, help="run config whose world is measured")
    p.add_argument(
        "--users", type=int, metavar="N", help="initial users (daily arrivals scale with them)"
    )
    p.add_argument("--days", type=int, metavar="D", help="horizon in days (default: the config's)")
    p.add_argument("--seed", type=int, metavar="S", help="seed (default: the config's)")
    p.add_argument(
        "--only", metavar="KEYS", help="comma-separated laws or groups, e.g. 1,4b,8 (default all)"
    )
    p.add_argument(
        "--quick", action="store_true",
        help="laws over every strategy use each strategy's defaults only (no range ends)",
    )  # fmt: skip
    p.add_argument(
        "--workers", type=positive_int, default=1, metavar="W", help="local processes (default 1)"
    )
    p.add_argument("--threads", type=positive_int, metavar="T", help=THREADS_HELP)
    p.add_argument(
        "--json", nargs="?", const="-", metavar="FILE",
        help="print the results as JSON instead of the table; with FILE, write them there too",
    )  # fmt: skip
    p.add_argument("--details", action="store_true", help="a detail line for every law")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(handler="sim.cli.laws:run")
    return p


def add_lab(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """``lab``: the policy lab, a local web page to set up, run and judge an experiment."""
    p = subparsers.add_parser(
        "lab", help="start the policy lab: a local web page to test a policy (docs/LAB.md)"
    )
    p.add_argument("--port", type=positive_int, default=8765, help="port (default 8765)")
    p.add_argument(
        "--host", default="127.0.0.1",
        help="address to bind (default 127.0.0.1: this machine only; any other needs a token)",
    )  # fmt: skip
    p.add_argument(
        "--root", type=Path, default=Path("."),
        help="the lab's folder: worlds are chosen and experiments written under it (default .)",
    )  # fmt: skip
    p.add_argument(
        "--token", help="the access token (default: generated and printed when --host is not "
        "loopback; none on loopback)",
    )  # fmt: skip
    p.add_argument(
        "--workers", type=positive_int, default=2, help="local processes per experiment (default 2)"
    )
    p.set_defaults(handler="sim.cli.lab:run")
    return p
