"""Laws 3–5, money: a shallow ladder, money that follows the wallet, a camp that feeds the
course.

* 3 Ladder depth: under any single strategy at most 10% of users buy above the entry product
  (the ¥9.9 camp) within the run (issue 11; DOMAIN.md §1).
* 4 Wallet: revenue per user rises with income (terciles strictly increasing, the top third
  ≥ 1.5× the bottom third) under every strategy; raising the course's list price
  (×0.5 … ×2) sells strictly fewer courses and revenue peaks at an interior price.
* 5 Funnel: newcomers who buy the camp buy the course within 60 days at 5–20% (DOMAIN.md §1:
  the camp is the filter into the course; the band is assumed, see docs/LAWS.md); the
  newcomers' share of the run's revenue is reported.
"""

from __future__ import annotations

import math

from sim.analysis.law_measures import FUNNEL_WINDOW_DAYS, MissingData
from sim.laws.law import Band, Law, Measured, argmax_setting, number, pct, times, yuan
from sim.laws.plan import BASELINE, Plan, Results, Run, run_of
from sim.laws.strategy_space import strategy_sweep

PRICE_FACTORS = (0.5, 0.75, 1.0, 1.5, 2.0)
"""Multiples of the course's list price swept by law 4 (under the baseline)."""


# --------------------------------------------------------------------------- law 3


def ladder_depth(results: Results, plan: Plan) -> Measured:
    found = max(
        (results.metric(r, "above_entry_share"), r.label) for r in strategy_sweep(plan.quick)
    )
    return Measured(found[0], pct(found[0]), f"highest under {found[1]} (above {plan.entry})")


# --------------------------------------------------------------------------- law 4


def step_ratio(lower: float, higher: float) -> float:
    """``higher / lower`` for a rising sequence check: inf when only ``lower`` is 0, 0 when
    both are (no rise)."""
    if lower > 0:
        return higher / lower
    return math.inf if higher > 0 else 0.0


def tercile_steps(results: Results, plan: Plan) -> list[tuple[float, float, str]]:
    """Per swept run: the smaller of the two tercile step ratios, top/bottom, and the label."""
    rows = []
    for run in strategy_sweep(plan.quick):
        low, mid, top = results.metric(run, "tercile_revenue")
        rows.append((min(step_ratio(low, mid), step_ratio(mid, top)), step_ratio(low, top),
                     run.label))  # fmt: skip
    return rows


def terciles_rise(results: Results, plan: Plan) -> Measured:
    worst = min(tercile_steps(results, plan))
    return Measured(worst[0], times(worst[0]), f"smallest step under {worst[2]}")


def top_vs_bottom(results: Results, plan: Plan) -> Measured:
    worst = min(tercile_steps(results, plan), key=lambda row: row[1])
    return Measured(worst[1], times(worst[1]), f"lowest under {worst[2]}")


def priced(plan: Plan, factor: float) -> Run:
    """The baseline with the course's list price × ``factor`` (×1 is the baseline itself)."""
    if factor == 1.0:
        return BASELINE
    index = plan.products.index(plan.step)
    price = plan.config.world.products[index].price * factor
    return run_of(*BASELINE.strategies, world={f"products.{index}.price": price})


def price_runs(plan: Plan) -> list[Run]:
    try:
        return [priced(plan, f) for f in PRICE_FACTORS]
    except MissingData:
        return []


def courses_fall(results: Results, plan: Plan) -> Measured:
    sold = [results.metric(priced(plan, f), "units_sold")[plan.step] for f in PRICE_FACTORS]
    worst = max(step_ratio(a, b) for a, b in zip(sold, sold[1:], strict=False))
    sweep = ", ".join(f"×{number(f)} {n}" for f, n in zip(PRICE_FACTORS, sold, strict=True))
    return Measured(worst, times(worst), f"{plan.step}s sold by price: {sweep}")


def revenue_peak(results: Results, plan: Plan) -> Measured:
    revenue = [results.metric(priced(plan, f), "revenue_per_user") for f in PRICE_FACTORS]
    best = argmax_setting(PRICE_FACTORS, revenue)
    sweep = ", ".join(
        f"×{number(f)} {yuan(v)}" for f, v in zip(PRICE_FACTORS, revenue, strict=True)
    )
    return Measured(best, f"×{number(best)}", f"revenue per user by {plan.step} price: {sweep}")


# --------------------------------------------------------------------------- law 5


def camp_to_course(results: Results, plan: Plan) -> Measured:
    found = results.metric(BASELINE, "step_up")
    if found["n"] == 0:
        raise MissingData(
            f"no newcomer bought {plan.entry} {FUNNEL_WINDOW_DAYS} days before the end"
        )
    rate = found["rate"]
    return Measured(rate, pct(rate), f"{found['n']:,} newcomers bought {plan.entry}; "
                    f"{plan.step} within {FUNNEL_WINDOW_DAYS} days (blanket 1/day)")  # fmt: skip


def newcomer_share(results: Results, plan: Plan) -> Measured:
    share = results.metric(BASELINE, "newcomer_revenue_share")
    return Measured(share, pct(share), "users who arrived during the run (blanket 1/day)")


WHY_LADDER = (
    "A ¥9.9 camp is an impulse; a ¥2,000–5,000 course is a considered purchase few can afford "
    "or need at once, so each step of the ladder filters most buyers out."
)
WHY_WALLET = (
    "Willingness to pay follows income and the price asked: richer users buy the expensive "
    "steps more often, and a higher price sells fewer units."
)
WHY_FUNNEL = (
    "The camp is a time-boxed cohort whose end is the course offer: a share of campers convert "
    "soon after, which is why businesses sell camps at a loss."
)
LAWS = (
    Law("3", "buyers above entry product",
        Band(0.0, 0.10, "≤ 10%"), "share", "issue 11; DOMAIN.md §1", WHY_LADDER,
        lambda plan: strategy_sweep(plan.quick), ladder_depth),
    Law("4a", "revenue step by income third",
        Band(1.0, math.inf, "> 1×", lo_open=True), "ratio", "issue 11; DOMAIN.md §2",
        WHY_WALLET, lambda plan: strategy_sweep(plan.quick), terciles_rise),
    Law("4b", "revenue top/bottom third",
        Band(1.5, math.inf, "≥ 1.5×"), "ratio", "issue 11", WHY_WALLET,
        lambda plan: strategy_sweep(plan.quick), top_vs_bottom),
    Law("4c", "courses sold as price rises",
        Band(0.0, 1.0, "< 1× each step", hi_open=True), "ratio", "issue 11", WHY_WALLET,
        price_runs, courses_fall),
    Law("4d", "revenue-max course price",
        Band(PRICE_FACTORS[1], PRICE_FACTORS[-2], "interior ×0.75–1.5"), "× list price",
        "issue 11", WHY_WALLET, price_runs, revenue_peak),
    Law("5a", "camp→course within 60 days",
        Band(0.05, 0.20, "5–20%"), "share", "DOMAIN.md §1 (band assumed)", WHY_FUNNEL,
        lambda plan: [BASELINE], camp_to_course),
    Law("5b", "newcomers' revenue share", None, "share", "issue 11",
        WHY_FUNNEL, lambda plan: [BASELINE], newcomer_share),
)  # fmt: skip
