"""Laws 11 (pruning) and 12 (KOCs), docs/LAWS.md: their measurements on made-up runs with known
answers, their runs, and their place in the catalogue."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.analysis.law_measures import MissingData
from sim.config import load_config
from sim.laws import social
from sim.laws.groups import TIERED
from sim.laws.plan import Plan, Results
from sim.laws.runner import LAWS, evaluate, plan_jobs, select

QUICKSTART = Path(__file__).resolve().parents[2] / "experiments" / "quickstart.yaml"


def law(key: str):
    return next(x for x in LAWS if x.key == key)


def groups(share: float) -> dict:
    return {"group_death": {"share": share, "n_groups": 100}}


def run_values(death: float, retention: float, speaking: float = 0.02) -> dict:
    return {**groups(death), "member_retention": retention, "group_speaking_rate": speaking}


@pytest.fixture(scope="module")
def plan() -> Plan:
    return Plan(load_config(QUICKSTART))


def test_pruning_laws_hold_when_targeting_helps_and_the_placebo_does_not(plan) -> None:
    results = Results({
        TIERED: run_values(0.30, 0.600),
        social.PRUNED: run_values(0.20, 0.605),
        social.PLACEBO: run_values(0.33, 0.598),
    })  # fmt: skip
    found = {k: evaluate(law(k), results, plan) for k in ("11a", "11b", "11c", "11d")}
    assert found["11a"].value == pytest.approx(0.10)
    assert found["11b"].value == pytest.approx(0.005)
    assert found["11c"].value == pytest.approx(-0.03)
    assert all(o.status == "holds" for o in found.values())


def test_pruning_laws_break_when_random_pruning_helps_as_much(plan) -> None:
    results = Results({
        TIERED: run_values(0.30, 0.600),
        social.PRUNED: run_values(0.20, 0.605),
        social.PLACEBO: run_values(0.20, 0.605),
    })  # fmt: skip
    assert evaluate(law("11c"), results, plan).status == "violated"
    assert evaluate(law("11d"), results, plan).status == "violated"


def test_koc_laws_need_more_speaking_but_not_a_multiple(plan) -> None:
    base = run_values(0.30, 0.6, speaking=0.020)
    results = Results({social.KOC_LEAD: run_values(0.20, 0.6, speaking=0.024),
                       social.KOC_REWARDS_ONLY: base})  # fmt: skip
    assert evaluate(law("12a"), results, plan).value == pytest.approx(1.2)
    assert evaluate(law("12a"), results, plan).status == "holds"
    assert evaluate(law("12b"), results, plan).value == pytest.approx(0.10)
    results.values[social.KOC_LEAD] = run_values(0.20, 0.6, speaking=0.060)  # 3x: not credible
    assert evaluate(law("12a"), results, plan).status == "violated"


def test_a_world_without_groups_makes_the_laws_not_measurable(plan) -> None:
    missing = {"group_death": MissingData("no groups"), "group_speaking_rate": 0.0}
    results = Results({social.KOC_LEAD: missing, social.KOC_REWARDS_ONLY: missing})
    assert evaluate(law("12a"), results, plan).status == "not measurable"
    assert evaluate(law("12b"), results, plan).status == "not measurable"


def test_the_laws_are_in_the_catalogue_and_share_the_tiered_run(plan) -> None:
    assert [x.key for x in select(["11"])] == ["11a", "11b", "11c", "11d"]
    assert [x.key for x in select(["12"])] == ["12a", "12b"]
    jobs = plan_jobs(plan, select(["6", "11", "12"]))
    assert jobs.count(TIERED) == 1 and len(jobs) == len(set(jobs))
