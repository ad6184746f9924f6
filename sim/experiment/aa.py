"""A/A tests: does the analysis reject a true null as often as it claims, and no more?

Under common random numbers two identical arms give *identical* worlds, so their paired
difference is exactly zero and can never be significant — true, but it checks nothing. An A/A
test therefore asks what a real experiment in one world would see: in each repetition the control
policy runs on a fresh world (its own seed), its users (or groups) are split at random in two
halves by the experiment's randomisation unit, and every per-user metric is compared between the
halves with the experiment's within-world test (cluster-robust for group randomisation). Over
many repetitions the share of p < α must sit near α.
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from typing import Any

import numpy as np
import pandas as pd

from sim.analysis import outcomes as oc
from sim.analysis import stats
from sim.experiment.plan import RunTask, replication_seed
from sim.experiment.spec import CONTROL, ExperimentSpec
from sim.experiment.worker import build_simulation
from sim.world.assignment import Assignment
from sim.world.threads import one_thread_per_worker

AA_METRICS = ("revenue", "net_value", "purchases", "paid", "churned", "retained_d30", "opened")
# the A/A replications use seeds of their own, apart from the experiment's replications
AA_SEED_OFFSET = 1_000_000


@dataclass
class AAResult:
    pvalues: pd.DataFrame  # repetition, metric, estimate, p_value
    summary: pd.DataFrame  # metric, rate, ci_low, ci_high, nominal, consistent, n


def one_repetition(spec_data: dict[str, Any], repetition: int, source: str) -> list[dict]:
    """Simulate one control world with a 50/50 split and test each metric between halves."""
    spec = ExperimentSpec.model_validate(spec_data)
    split = Assignment(unit=spec.randomisation.unit, share=0.5)
    spec = spec.model_copy(update={"randomisation": split})
    seed = replication_seed(spec.seed, AA_SEED_OFFSET + repetition)
    sim = build_simulation(spec, RunTask("aa", CONTROL, repetition, seed), source)
    tables = sim.run().tables
    users = tables["users"]
    out = oc.user_outcomes(tables, spec.days)
    keep = users["referrer_id"].to_numpy() < 0
    out, users = out[keep], users[keep]
    clusters = None
    if split.unit == "group":
        clusters = split.units(users["user_id"].to_numpy(), users["arrival_group"].to_numpy())
    rows = []
    for metric in AA_METRICS:
        values = out[metric].astype(float).to_numpy()
        ok = np.isfinite(values)
        est = stats.within_world_difference(
            values[ok], out["assigned"].to_numpy()[ok],
            None if clusters is None else clusters[ok], alpha=spec.analysis.alpha,
        )  # fmt: skip
        rows.append({"repetition": repetition, "metric": metric, "estimate": est.estimate,
                     "p_value": est.p_value, "method": est.method})  # fmt: skip
    return rows


def run_aa(
    spec: ExperimentSpec, repetitions: int, source: str, workers: int | None = None,
    on_done=None,
) -> AAResult:  # fmt: skip
    """Run ``repetitions`` A/A worlds (in parallel processes when ``workers`` > 1)."""
    data = spec.model_dump(mode="json")
    workers = workers or os.cpu_count() or 1
    rows: list[dict] = []
    if workers <= 1:
        for k in range(repetitions):
            rows += one_repetition(data, k, source)
            if on_done:
                on_done()
    else:
        with ProcessPoolExecutor(
            workers, mp_context=get_context("spawn"), initializer=one_thread_per_worker
        ) as pool:
            futures = [pool.submit(one_repetition, data, k, source) for k in range(repetitions)]
            for f in futures:
                rows += f.result()
                if on_done:
                    on_done()
    pvalues = pd.DataFrame(rows)
    summary = []
    for metric, g in pvalues.groupby("metric", sort=False):
        fpr = stats.false_positive_rate(g["p_value"].dropna().to_numpy(), spec.analysis.alpha)
        summary.append({"metric": metric, **fpr})
    return AAResult(pvalues, pd.DataFrame(summary))
