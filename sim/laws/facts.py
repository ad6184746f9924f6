"""Law 10: every stylised fact of docs/FACTS.md replayed (``sim.runs.facts.replay_facts``) on
the config's world at the laws' scale — the arms of ``experiments/facts/*.yaml`` with the
config's population, world parameters, horizon and seed; the law holds when every asserted fact
is inside its band.
"""

from __future__ import annotations

from sim.laws.law import Band, Law, Measured
from sim.laws.plan import Plan, Results


def facts_out_of_band(results: Results, plan: Plan) -> Measured:
    rows = results.job(plan.facts_job())
    asserted = [r for r in rows if r["within_band"] is not None]
    out = [r for r in asserted if not r["within_band"]]
    names = "; ".join(r["fact"].split(":")[0] for r in out)
    detail = f"out of band: {names}" if out else f"all {len(asserted)} asserted facts in band"
    return Measured(float(len(out)), f"{len(out)} of {len(asserted)}", detail)


LAWS = (
    Law("10", "FACTS.md facts out of band",
        Band(0.0, 0.0, "0"), "facts", "docs/FACTS.md",
        "The articles' reported experiments are the evidence the world is calibrated to.",
        lambda plan: [plan.facts_job()], facts_out_of_band),
)  # fmt: skip
