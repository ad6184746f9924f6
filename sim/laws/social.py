"""Laws 11 and 12, group composition (issue 15; docs/MODEL.md §6b).

11, pruning ([000][001] remove ad posters and trouble makers; DOMAIN.md §5 "Group pruning"):
pruning the members operators flag as disruptive raises the share of groups surviving 90 days
and ordinary members' retention; pruning as many members at random (a placebo) raises neither.
12, KOCs ([002][003]): groups whose recognised KOCs lead discussion speak more and survive
longer than the same groups under the same rewards without recognised KOCs.

Both are measured on groups run as the sources recommend (tiered content, law 6c's run), so
that groups live long enough for their composition to matter: under a promo a day most groups
die of the promos whoever is in them (law 6).
"""

from __future__ import annotations

import math

from sim.analysis.law_measures import MissingData
from sim.laws.groups import TIERED, death_share
from sim.laws.law import Band, Law, Measured, pct, points, times
from sim.laws.plan import Plan, Results, call, run_of

PRUNED = run_of(call("tiered_content"), call("group_pruning", remove="flagged"))
PLACEBO = run_of(call("tiered_content"), call("group_pruning", remove="random"))
KOC_LEAD = run_of(call("tiered_content"), call("koc_programme", lead=True))
KOC_REWARDS_ONLY = run_of(call("tiered_content"), call("koc_programme", lead=False))


def survival(results: Results, run) -> float:
    """Share of groups observed 90 days that lived through them."""
    return 1.0 - death_share(results, run)


def _gain(results: Results, run, metric: str) -> tuple[float, float, float]:
    """(treated − tiered, treated, tiered) of a per-run metric."""
    treated, base = results.metric(run, metric), results.metric(TIERED, metric)
    return treated - base, treated, base


def _survival_against_tiered(run, treated: str, base: str):
    """A law measure: 90-day group survival of ``run`` minus that of tiered content alone."""

    def measure(results: Results, plan: Plan) -> Measured:
        on, off = survival(results, run), survival(results, TIERED)
        return Measured(
            on - off, points(on - off), f"live 90 d: {treated} {pct(on)}, {base} {pct(off)}"
        )

    return measure


def _retention_against_tiered(run, treated: str, base: str):
    """A law measure: ordinary members' retention of ``run`` minus that of tiered content."""

    def measure(results: Results, plan: Plan) -> Measured:
        gain, on, off = _gain(results, run, "member_retention")
        return Measured(
            gain, points(gain), f"members retained: {treated} {pct(on)}, {base} {pct(off)}"
        )

    return measure


pruning_survival = _survival_against_tiered(PRUNED, "pruned", "not pruned")
pruning_retention = _retention_against_tiered(PRUNED, "pruned", "not pruned")
placebo_survival = _survival_against_tiered(PLACEBO, "random prune", "none")
placebo_retention = _retention_against_tiered(PLACEBO, "random prune", "none")


def koc_speaking(results: Results, plan: Plan) -> Measured:
    lead = results.metric(KOC_LEAD, "group_speaking_rate")
    rewards = results.metric(KOC_REWARDS_ONLY, "group_speaking_rate")
    if not rewards > 0:
        raise MissingData("group members who speak (a world with chat groups)")
    ratio = lead / rewards
    return Measured(ratio, times(ratio),
                    f"speaking rate: with KOCs {pct(lead, 2)}, rewards only "
                    f"{pct(rewards, 2)}")  # fmt: skip


def koc_survival(results: Results, plan: Plan) -> Measured:
    lead, rewards = survival(results, KOC_LEAD), survival(results, KOC_REWARDS_ONLY)
    return Measured(lead - rewards, points(lead - rewards),
                    f"live 90 d: with KOCs {pct(lead)}, rewards only {pct(rewards)}")  # fmt: skip


WHY_PRUNING = (
    "Ad posters and trolls make a group less worth reading and talking in; removing them helps "
    "the rest, removing ordinary members only shrinks the group and costs trust."
)
WHY_KOC = (
    "An engaged member who keeps the conversation going draws others in; the programme's "
    "rewards keep the KOC speaking."
)
LAWS = (
    Law("11a", "prune flagged: group survival",
        Band(0.0, math.inf, "> 0 pp", lo_open=True), "share difference",
        "[000][001] prune ad posters", WHY_PRUNING,
        lambda plan: [TIERED, PRUNED], pruning_survival),
    Law("11b", "prune flagged: retention",
        Band(0.0, math.inf, "> 0 pp", lo_open=True), "share difference",
        "[000][001] prune ad posters", WHY_PRUNING,
        lambda plan: [TIERED, PRUNED], pruning_retention),
    Law("11c", "prune at random: survival",
        Band(-math.inf, 0.0, "≤ 0 pp"), "share difference", "issue 15 (placebo)", WHY_PRUNING,
        lambda plan: [TIERED, PLACEBO], placebo_survival),
    Law("11d", "prune at random: retention",
        Band(-math.inf, 0.0, "≤ 0 pp"), "share difference", "issue 15 (placebo)", WHY_PRUNING,
        lambda plan: [TIERED, PLACEBO], placebo_retention),
    Law("12a", "KOCs: group speaking rate",
        Band(1.0, 1.5, "> 1×, ≤ 1.5×", lo_open=True), "ratio", "[002][003] KOC", WHY_KOC,
        lambda plan: [KOC_LEAD, KOC_REWARDS_ONLY], koc_speaking),
    Law("12b", "KOCs: group survival",
        Band(0.0, math.inf, "> 0 pp", lo_open=True), "share difference", "[002][003] KOC",
        WHY_KOC, lambda plan: [KOC_LEAD, KOC_REWARDS_ONLY], koc_survival),
)  # fmt: skip
