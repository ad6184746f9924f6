"""Law 6, groups as ad dumps ([003]: groups die because they are used as ad dumps; 68% of
chat groups live less than 90 days): at one promo a day at least as many groups die within
90 days as under no operations, at eight a day at least 68% do, and tiered content keeps more
groups alive than blanket promos."""

from __future__ import annotations

import math

from sim.analysis.law_measures import MissingData
from sim.laws.law import Band, Law, Measured, pct, points
from sim.laws.plan import BASELINE, Plan, Results, Run, call, run_of

NO_OPERATIONS = run_of()
PROMO8 = run_of(call("blanket", promos_per_day=8.0))
TIERED = run_of(call("tiered_content"))


def death_share(results: Results, run: Run) -> float:
    """Share of groups observed 90 days that died within them (MissingData if none was)."""
    found = results.metric(run, "group_death")
    if found["n_groups"] == 0 or math.isnan(found["share"]):
        raise MissingData("groups observed for 90 days (the run must last ≥ 90 days)")
    return found["share"]


def promo_kills_groups(results: Results, plan: Plan) -> Measured:
    one, none = death_share(results, BASELINE), death_share(results, NO_OPERATIONS)
    return Measured(one - none, points(one - none),
                    f"die < 90 d: 1 promo/day {pct(one)}, no operations {pct(none)}")  # fmt: skip


def promo8_deaths(results: Results, plan: Plan) -> Measured:
    share = death_share(results, PROMO8)
    return Measured(share, pct(share), "groups observed 90 days that died within them")


def tiered_keeps_groups(results: Results, plan: Plan) -> Measured:
    blanket, tiered = death_share(results, BASELINE), death_share(results, TIERED)
    return Measured(blanket - tiered, points(blanket - tiered),
                    f"die < 90 d: blanket 1/day {pct(blanket)}, tiered {pct(tiered)}")  # fmt: skip


WHY = (
    "A group lives on members talking to each other; promo-only traffic drowns the "
    "conversation, members mute or leave and the group goes silent."
)
LAWS = (
    Law("6a", "group deaths: 1/day − none",
        Band(0.0, math.inf, "≥ 0 pp"), "share difference", "[003] ad dumps", WHY,
        lambda plan: [BASELINE, NO_OPERATIONS], promo_kills_groups),
    Law("6b", "group deaths at 8 promos/day",
        Band(0.68, 1.0, "≥ 68%"), "share", "[003] 68% live < 90 days", WHY,
        lambda plan: [PROMO8], promo8_deaths),
    Law("6c", "group deaths: blanket−tiered",
        Band(0.0, math.inf, "> 0 pp", lo_open=True), "share difference", "[003] A/B test",
        WHY, lambda plan: [BASELINE, TIERED], tiered_keeps_groups),
)  # fmt: skip
