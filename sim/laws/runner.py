"""Replaying the laws: every law of the catalogue (:data:`LAWS`), the jobs they need planned
once each (a run several laws share — the blanket 1/day baseline, the strategy sweep — is
simulated once), run, and each law evaluated against its band.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from sim.analysis.law_measures import MissingData
from sim.config import ExperimentConfig
from sim.laws import (
    disengagement,
    effects,
    engagement,
    facts,
    groups,
    money,
    rewards,
    saturation,
    social,
    timing,
)
from sim.laws.execute import run_jobs
from sim.laws.law import Law, Outcome
from sim.laws.plan import Job, Plan, Results

LAWS: tuple[Law, ...] = (
    *saturation.LAWS, *engagement.LAWS, *money.LAWS, *groups.LAWS, *rewards.LAWS,
    *disengagement.LAWS, *effects.LAWS, *facts.LAWS, *social.LAWS, *timing.LAWS,
)  # fmt: skip
"""Every law, in the issue's order."""


def select(keys: Sequence[str] | None) -> tuple[Law, ...]:
    """The laws whose key or group (the number before the letter: "4" → 4a … 4d) is listed;
    all laws when ``keys`` is empty. KeyError naming the unknown keys."""
    if not keys:
        return LAWS
    wanted = {k.strip() for k in keys if k.strip()}
    chosen = tuple(law for law in LAWS if law.key in wanted or law.key.rstrip("abcd") in wanted)
    known = {law.key for law in LAWS} | {law.key.rstrip("abcd") for law in LAWS}
    unknown = sorted(wanted - known)
    if unknown:
        known_keys = ", ".join(sorted(known, key=lambda k: (int(k.rstrip("abcd")), k)))
        raise KeyError(f"unknown law(s) {', '.join(unknown)}; known: {known_keys}")
    return chosen


def plan_jobs(plan: Plan, laws: Sequence[Law]) -> list[Job]:
    """The distinct jobs ``laws`` need, in first-needed order."""
    return list(dict.fromkeys(job for law in laws for job in law.needs(plan)))


def evaluate(law: Law, results: Results, plan: Plan) -> Outcome:
    """One law's outcome: holds / violated against its band, reported if it has none, and
    not measurable (violated) when its data is missing."""
    try:
        found = law.measure(results, plan)
    except MissingData as exc:
        return Outcome(law, math.nan, "not measurable", "not measurable", f"missing: {exc}")
    if law.band is None:
        return Outcome(law, found.value, found.shown, "reported", found.detail)
    status = "holds" if law.band.contains(found.value) else "violated"
    return Outcome(law, found.value, found.shown, status, found.detail)


def replay_laws(
    config: ExperimentConfig,
    laws: Sequence[Law] = LAWS,
    workers: int = 1,
    progress: bool = True,
    source: str = "<config>",
    quick: bool = False,
) -> list[Outcome]:
    """Measure ``laws`` on ``config``'s world (at its own scale: apply
    :func:`~sim.laws.plan.scaled` first to change it); ``quick`` runs each strategy at its
    defaults only where a law asks for every strategy."""
    plan = Plan(config, source, quick)
    jobs = plan_jobs(plan, laws)
    results = Results(run_jobs(plan, jobs, workers=workers, progress=progress))
    return [evaluate(law, results, plan) for law in laws]
