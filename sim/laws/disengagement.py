"""Law 8, disengagement (the sources' 流失): users silent two weeks lapse within 30 days at
3.5–7× the rate of users active in the last week ([003]: 5×); lapsed users can be recalled,
deleted ones cannot; the churn model, trained on "lapsed or deleted within 30 days", reaches a
held-out ROC AUC ≥ 0.70 on the baseline world."""

from __future__ import annotations

import math

from sim.laws.law import Band, Law, Measured, number, pct, times
from sim.laws.plan import BASELINE, Plan, Results, call, run_of
from sim.laws.strategy_space import strategy_sweep

RECALL = run_of(call("recall_coupon"))


def silent_vs_active(results: Results, plan: Plan) -> Measured:
    r = results.metric(BASELINE, "exit_ratio")
    return Measured(r["ratio"], times(r["ratio"]),
                    f"exit within 30 d after day {plan.snapshot_day}: silent ≥ 14 d "
                    f"{pct(r['rate_silent'])} of {r['n_silent']:,}, active ≤ 7 d "
                    f"{pct(r['rate_active'])} of {r['n_active']:,}")  # fmt: skip


def recalls(results: Results, plan: Plan) -> Measured:
    n = results.metric(RECALL, "recall_events")
    return Measured(float(n), f"{n:,}", "recall events under recall_coupon")


def no_return_after_deletion(results: Results, plan: Plan) -> Measured:
    runs = [BASELINE, *strategy_sweep(plan.quick)]
    found = max((results.metric(r, "active_after_deletion"), r.label) for r in runs)
    detail = f"most under {found[1]}" if found[0] else f"none in {len(runs)} runs"
    return Measured(float(found[0]), number(found[0]), detail)


def churn_model_auc(results: Results, plan: Plan) -> Measured:
    report = results.job(plan.churn_model_job())
    auc = report["auc"]
    return Measured(auc, f"{auc:.3f}", f"held out: {report['n']:,} users, base rate "
                    f"{pct(report['base_rate'])}; trained on {report['train_n']:,}")  # fmt: skip


WHY = (
    "Disengagement comes before deletion: a user who stopped reading is already leaving, and a "
    "lasting per-user propensity makes past silence predict future exit; silence is reversible "
    "(a good offer recalls), deletion is not."
)
LAWS = (
    Law("8a", "silent/active exit ratio",
        Band(3.5, 7.0, "3.5–7×"), "ratio", "[003] 5×", WHY,
        lambda plan: [BASELINE], silent_vs_active),
    Law("8b", "recalls of lapsed users",
        Band(1.0, math.inf, "≥ 1"), "events", "issue 11; DOMAIN.md §4", WHY,
        lambda plan: [RECALL], recalls),
    Law("8c", "active after deletion",
        Band(0.0, 0.0, "0"), "users", "issue 11", WHY,
        lambda plan: [BASELINE, *strategy_sweep(plan.quick)], no_return_after_deletion),
    Law("8d", "churn model held-out AUC",
        Band(0.70, 1.0, "≥ 0.70"), "AUC", "issue 11 (0.58 before)", WHY,
        lambda plan: [plan.churn_model_job()], churn_model_auc),
)  # fmt: skip
