"""Law 9, effect sizes: the best built-in programme (by net value per user) against blanket
1/day moves retention by +10…+60% and conversion (paying share) by +10…+100%, relative — tens
of percent, as the sources' cases report ([004] knowledge platform: retention +30%, conversion
+20%; e-commerce: +20% / +15%), not multiples.

Candidates: each built-in strategy alone at its defaults (except no operations and blanket, the
control) and :data:`PROGRAMME`, a combined programme. Retention: share of registered users still
reachable and not lapsed at the end of the run.

9c guards against multiples directly: every built-in strategy at its defaults, alone and added
to blanket 1/day, earns at most :data:`MAX_NET_RATIO` times the baseline's net value per user."""

from __future__ import annotations

import math

from sim.analysis.law_measures import MissingData
from sim.laws.law import Band, Law, Measured, pct, signed_pct, times, yuan
from sim.laws.plan import BASELINE, Plan, Results, Run, call, run_of
from sim.laws.strategy_space import defaults_of_each_strategy
from strategies.registry import BUILTIN

PROGRAMME = run_of(
    call("tiered_content"), call("new_user_followup"), call("recall_coupon"),
    call("churn_warning"),
)  # fmt: skip
"""Stage-tiered content, newcomer follow-up, recall coupons and churn warnings together."""
MAX_NET_RATIO = 3.0
"""9c's ceiling, from 9a/9b's upper bands: users converting up to +100% more and staying up to
+60% longer can earn about (1 + 1.0) × (1 + 0.6) = 3.2 times the money; rounded down."""


def candidates(plan: Plan | None = None) -> list[Run]:
    return [*defaults_of_each_strategy(skip=("none", "blanket")), PROGRAMME]


def best_programme(results: Results) -> Run:
    """The candidate with the highest net value per user."""
    return max(candidates(), key=lambda r: results.metric(r, "net_value_per_user"))


def _relative(results: Results, metric: str) -> Measured:
    best = best_programme(results)
    value, base = results.metric(best, metric), results.metric(BASELINE, metric)
    change = value / base - 1.0 if base else float("inf")
    net = results.metric(best, "net_value_per_user")
    detail = f"best: {best.label} (net {yuan(net)}/user); {pct(value)} vs {pct(base)}"
    return Measured(change, signed_pct(change), detail)


def operating_strategies() -> list[str]:
    """Built-in strategies that operate, other than the baseline's blanket."""
    return [name for name in BUILTIN if name not in ("none", "blanket")]


def with_blanket(name: str) -> Run:
    """Strategy ``name`` at its defaults added to the baseline (blanket 1/day)."""
    return run_of(*BASELINE.strategies, call(name))


def guard_runs(plan: Plan | None = None) -> list[Run]:
    names = operating_strategies()
    return [BASELINE, *(run_of(call(n)) for n in names), *(with_blanket(n) for n in names)]


def net_value_ratio(results: Results, plan: Plan) -> Measured:
    base = results.metric(BASELINE, "net_value_per_user")
    if base <= 0:
        raise MissingData(f"a positive net value per user under blanket 1/day (got {yuan(base)})")
    names = operating_strategies()
    runs = [(run_of(call(n)), f"{n} alone") for n in names]
    runs += [(with_blanket(n), f"blanket + {n}") for n in names]
    ratios = [(results.metric(r, "net_value_per_user") / base, label) for r, label in runs]
    top, low = max(ratios), min(ratios)
    detail = f"highest: {top[1]}; lowest {times(low[0])} ({low[1]})"
    return Measured(top[0], times(top[0]), detail)


def retention_lift(results: Results, plan: Plan) -> Measured:
    return _relative(results, "retention")


def conversion_lift(results: Results, plan: Plan) -> Measured:
    return _relative(results, "paying_share")


WHY = (
    "Operations shift behaviour at the margin: a good programme keeps and converts more users, "
    "but most users' needs and budgets do not change because the messages got better."
)
LAWS = (
    Law("9a", "best programme: retention",
        Band(0.10, 0.60, "+10…+60%"), "relative change", "[004] cases: +20…+30%", WHY,
        lambda plan: [BASELINE, *candidates()], retention_lift),
    Law("9b", "best programme: conversion",
        Band(0.10, 1.00, "+10…+100%"), "relative change", "[004] cases: +15…+20%", WHY,
        lambda plan: [BASELINE, *candidates()], conversion_lift),
    Law("9c", "strategy net value ÷ blanket",
        Band(-math.inf, MAX_NET_RATIO, "≤ 3×"), "ratio", "issue 11; [004] tens of percent", WHY,
        guard_runs, net_value_ratio),
)  # fmt: skip
