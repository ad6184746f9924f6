"""``siyu churn-model``: train the churn model behind the rule field ``churn_risk``.

    siyu churn-model train CONFIG --train-seeds 1 2 3 --test-seeds 4 5 \\
        [--snapshot-day 60] [--window 30] [--users N] --out PATH

Runs the config's world once per seed (:func:`sim.runs.churn_training.build_dataset`), fits the
logistic
model on the training seeds, evaluates it on the held-out test seeds and writes the model JSON to
``PATH`` and a calibration plot next to it (``<stem>_calibration.png``). Prints ROC AUC, Brier
score and the calibration table. :func:`register` adds the command to an argparse
sub-parser collection; :func:`run` executes parsed arguments (exit status 0, or 2 on bad input).
"""

from __future__ import annotations

import argparse
from typing import Any

from rich.console import Console
from rich.table import Table

from sim.cli.parsers import add_churn
from sim.config import load_config
from sim.io.ownership import claim_output
from sim.runs.churn_training import train_and_evaluate


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``churn-model train`` to ``subparsers`` (from ``add_subparsers``); returns its parser.
    The parsed namespace's ``handler`` names :func:`run` (see :mod:`sim.cli.parsers`)."""
    return add_churn(subparsers)


def run(args: argparse.Namespace, console: Console | None = None) -> int:
    """Execute ``churn-model train``; print the evaluation. Returns the exit status."""
    out = console or Console(highlight=False)

    claim_output(args.out, inputs=[args.config], overwrite=args.overwrite)
    config = load_config(args.config, users=args.users)
    report = train_and_evaluate(
        config, args.train_seeds, args.test_seeds, args.snapshot_day, args.window, args.out
    )
    print_report(report, args.window, out)
    return 0


def print_report(report: dict[str, Any], window: int, console: Console) -> None:
    """The evaluation as two rich tables (metrics, calibration) and the files written."""
    metrics = Table("held-out metric", "value", title=f"churn within {window} days")
    metrics.add_row("users (test seeds)", f"{report['n']:,}")
    metrics.add_row("users (train seeds)", f"{report['train_n']:,}")
    metrics.add_row("base rate (observed churn)", f"{report['base_rate']:.3%}")
    metrics.add_row("mean predicted", f"{report['mean_predicted']:.3%}")
    metrics.add_row("ROC AUC, logistic (deployed)", f"{report['auc']:.4f}")
    metrics.add_row("ROC AUC, gradient boosting (comparison)", f"{report['boosting_auc']:.4f}")
    metrics.add_row("Brier score", f"{report['brier']:.5f}")
    metrics.add_row("Brier score of the base rate", f"{report['brier_base_rate']:.5f}")
    console.print(metrics)
    for key, title in (
        ("calibration", "calibration, 10 equal-width bins"),
        ("calibration_deciles", "calibration, deciles of the prediction"),
    ):
        table = Table("predicted bin", "users", "mean predicted", "observed", title=title)
        for b in report[key]:
            table.add_row(
                f"{b['bin_low']:.3f}-{b['bin_high']:.3f}", f"{b['count']:,}",
                f"{b['mean_predicted']:.3f}", f"{b['observed_rate']:.3f}",
            )  # fmt: skip
        console.print(table)
    console.print(f"model: [bold]{report['model_path']}[/bold]")
    console.print(f"calibration plot: [bold]{report['plot_path']}[/bold]")
