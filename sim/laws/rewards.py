"""Law 7, rewards: a reward works through its value. Gamification whose points are worth
nothing (``costs.point_value`` 0, no gifts) changes net value per user by less than ±20%
against the same world without it; the effect of rewards on retention grows with their ¥ value
and saturates (increasing and concave over gift values 0, 3, 10, 30 ¥). Source: DOMAIN.md §5
gamification [003][004]; issue 11 (rewards were free trust)."""

from __future__ import annotations

import math

from sim.laws.law import Band, Law, Measured, number, points, signed_pct, yuan
from sim.laws.plan import BASELINE, Plan, Results, Run, call, run_of

GIFTS = (0.0, 3.0, 10.0, 30.0)
"""Gift values (¥, both the streak perk and the level badge gift) swept; points are free."""
FREE_POINTS = {"costs.point_value": 0.0}


def gamified(gift: float) -> Run:
    """The baseline plus gamification paying ``gift`` ¥ gifts and worthless points."""
    game = call("gamification", streak_gift=gift, level_gift=gift)
    return run_of(*BASELINE.strategies, game, world=FREE_POINTS)


def points_only(results: Results, plan: Plan) -> Measured:
    base = results.metric(BASELINE, "net_value_per_user")
    game = results.metric(gamified(0.0), "net_value_per_user")
    change = game / base - 1.0 if base else math.inf
    return Measured(change, signed_pct(change),
                    f"net value per user {yuan(game)} vs {yuan(base)} without")  # fmt: skip


def retention_effects(results: Results) -> list[float]:
    """Retention under each gift value minus retention without gamification."""
    base = results.metric(BASELINE, "retention")
    return [results.metric(gamified(g), "retention") - base for g in GIFTS]


def _sweep(effects: list[float]) -> str:
    return ", ".join(f"¥{number(g)} {points(e)}" for g, e in zip(GIFTS, effects, strict=True))


def effect_grows(results: Results, plan: Plan) -> Measured:
    effects = retention_effects(results)
    smallest = min(b - a for a, b in zip(effects, effects[1:], strict=False))
    return Measured(smallest, points(smallest), f"retention effect by gift: {_sweep(effects)}")


def effect_saturates(results: Results, plan: Plan) -> Measured:
    effects = retention_effects(results)
    slopes = [
        (effects[k + 1] - effects[k]) / (GIFTS[k + 1] - GIFTS[k]) for k in range(len(GIFTS) - 1)
    ]
    if min(slopes) <= 0:
        return Measured(math.inf, "n/a", "the effect does not grow (law 7b), so no saturation")
    ratio = max(b / a for a, b in zip(slopes, slopes[1:], strict=False))
    shown = ", ".join(f"{100 * s:.3f}" for s in slopes)
    return Measured(ratio, f"{ratio:.2f}", f"slopes (pp per ¥): {shown}")


WHY = (
    "A point worth nothing is not a reward; what moves a user is the value received, with "
    "diminishing returns — the tenth gift of the month means less than the first."
)
LAWS = (
    Law("7a", "free points: net value Δ",
        Band(-0.20, 0.20, "within ±20%", lo_open=True, hi_open=True), "relative change",
        "issue 11; DOMAIN.md §5", WHY, lambda plan: [BASELINE, gamified(0.0)], points_only),
    Law("7b", "reward effect rises with ¥",
        Band(0.0, math.inf, "each step > 0", lo_open=True), "pp", "issue 11", WHY,
        lambda plan: [BASELINE, *(gamified(g) for g in GIFTS)], effect_grows),
    Law("7c", "reward effect saturates",
        Band(0.0, 1.0, "< 1 (shrinking)", hi_open=True), "ratio", "issue 11", WHY,
        lambda plan: [BASELINE, *(gamified(g) for g in GIFTS)], effect_saturates),
)  # fmt: skip
