"""Law 1, saturation: pushing more stops paying. Net value per user peaks at an interior
setting of ``tiered_content``'s interval and of blanket's promos a day, and daily tiered content
earns at most twice the revenue of weekly ([003] A/B test; DOMAIN.md §3 message fatigue)."""

from __future__ import annotations

from sim.laws.law import Band, Law, Measured, argmax_setting, interior, number, times, yuan
from sim.laws.plan import Plan, Results, Run, call, run_of

TIERED_INTERVALS = (1, 2, 3, 7, 14)
"""``tiered_content.every_days`` swept (days between pushes)."""
BLANKET_RATES = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0)
"""``blanket.promos_per_day`` swept."""
DAILY, WEEKLY = 1, 7


def tiered(every_days: int) -> Run:
    return run_of(call("tiered_content", every_days=every_days))


def blanket(promos_per_day: float) -> Run:
    return run_of(call("blanket", promos_per_day=promos_per_day))


def _peak(results: Results, runs: list[Run], settings: tuple, unit: str) -> Measured:
    values = [results.metric(r, "net_value_per_user") for r in runs]
    best = argmax_setting(settings, values)
    sweep = ", ".join(f"{number(s)}{unit} {yuan(v)}" for s, v in zip(settings, values, strict=True))
    return Measured(best, f"{number(best)}{unit}", f"net value per user: {sweep}")


def tiered_peak(results: Results, plan: Plan) -> Measured:
    return _peak(results, [tiered(d) for d in TIERED_INTERVALS], TIERED_INTERVALS, " d")


def blanket_peak(results: Results, plan: Plan) -> Measured:
    return _peak(results, [blanket(r) for r in BLANKET_RATES], BLANKET_RATES, "/d")


def daily_vs_weekly(results: Results, plan: Plan) -> Measured:
    daily = results.metric(tiered(DAILY), "revenue_per_user")
    weekly = results.metric(tiered(WEEKLY), "revenue_per_user")
    ratio = daily / weekly if weekly > 0 else float("inf")
    return Measured(ratio, times(ratio), f"revenue per user: daily {yuan(daily)}, weekly "
                    f"{yuan(weekly)}")  # fmt: skip


WHY = (
    "Each extra message buys less attention and adds fatigue; buying needs an occasion that "
    "messages do not create, so beyond some frequency more contact costs more than it earns."
)
LAWS = (
    Law("1a", "tiered interval: inner peak",
        interior(TIERED_INTERVALS, " d"), "days", "[003] A/B test; DOMAIN.md §3", WHY,
        lambda plan: [tiered(d) for d in TIERED_INTERVALS], tiered_peak),
    Law("1b", "blanket promos: inner peak",
        interior(BLANKET_RATES, "/d"), "promos/day", "[003] A/B test; DOMAIN.md §3", WHY,
        lambda plan: [blanket(r) for r in BLANKET_RATES], blanket_peak),
    Law("1c", "revenue daily/weekly tiered",
        Band(0.0, 2.0, "≤ 2×"), "ratio", "issue 11 (measured 16–19× before)", WHY,
        lambda plan: [tiered(DAILY), tiered(WEEKLY)], daily_vs_weekly),
)  # fmt: skip
