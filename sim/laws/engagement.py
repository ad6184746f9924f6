"""Law 2, engagement ceilings: under every built-in strategy, at its defaults and at the ends
of its parameter ranges, at most 30% of reachable users are active on a mean day and at most
40% of the users delivered pushed content open it ([003] sets ≥ 30% open rate as a growth-stage
*target*, so 40% is a ceiling with room above the target)."""

from __future__ import annotations

import math

from sim.laws.law import Band, Law, Measured, pct
from sim.laws.plan import Plan, Results
from sim.laws.strategy_space import strategy_sweep

WHY = (
    "Attention is limited: reading a message is not a visit, and most private-domain contacts "
    "are silent on any given day; an open rate is a share of people, capped by their time."
)


def highest(results: Results, plan: Plan, metric: str) -> tuple[float, str]:
    """The largest finite ``metric`` over the strategy sweep and the run that gave it."""
    found = [(results.metric(r, metric), r.label) for r in strategy_sweep(plan.quick)]
    found = [(v, label) for v, label in found if math.isfinite(v)]
    if not found:
        return math.nan, "no run has a value"
    return max(found)


def active_ceiling(results: Results, plan: Plan) -> Measured:
    value, label = highest(results, plan, "active_share")
    return Measured(value, pct(value), f"highest under {label}")


def open_ceiling(results: Results, plan: Plan) -> Measured:
    value, label = highest(results, plan, "open_rate")
    return Measured(value, pct(value), f"highest under {label}")


LAWS = (
    Law("2a", "active share of reachable",
        Band(0.0, 0.30, "≤ 30%"), "share", "issue 11; DOMAIN.md §3", WHY,
        lambda plan: strategy_sweep(plan.quick), active_ceiling),
    Law("2b", "open rate of pushed content",
        Band(0.0, 0.40, "≤ 40%"), "share", "[003] ≥ 30% is a growth-stage target", WHY,
        lambda plan: strategy_sweep(plan.quick), open_ceiling),
)  # fmt: skip
