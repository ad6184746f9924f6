"""The verdict of an experiment, as the lab shows it: per arm a decision badge, a sentence and
a table, and the curves with their bands.

For each compared metric the difference arm − control has, from the paired replications, an
estimate and standard error (``analysis/comparison``). Read as a posterior for the true
difference — Student's t with (replications − 1) degrees of freedom around the estimate, the
flat-prior posterior of a mean of paired differences; normal with one replication, where the
interval comes from paired users — it gives:

* **chance to beat the control**: the posterior probability that the difference moves the
  metric the good way (:data:`sim.analysis.metrics` direction);
* **expected loss**: the mean harm if the arm is shipped, ``E[max(0, −direction · δ)]``, in the
  metric's unit (GrowthBook's "risk"). For t with ν > 1 degrees of freedom,
  ``E[(T − z)⁺] = (ν + z²)/(ν − 1) · f_ν(z) − z · (1 − F_ν(z))``; with ν ≤ 1 (two
  replications) it is infinite, and said so.

The decision (:func:`decide`, its rule stated on the page by :func:`rule_text`): **ship** when
net value per user beats the control with probability ≥ 95 %, the expected loss is below 1 % of
the control's net value per user, and no guardrail (retention, share churned) is significantly
worse; **do not ship** when that probability is ≤ 5 % or a guardrail is significantly worse;
**inconclusive** otherwise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as st

from sim.analysis.metrics import format_value, metric, metric_name, verdict
from sim.lab.i18n import tr, value_label
from sim.plots.style import arm_colours
from sim.report import ExperimentReport, load_report, retention_metric

SHIP, NO_SHIP, INCONCLUSIVE = "ship", "no_ship", "inconclusive"
SHIP_PROBABILITY = 0.95
LOSS_SHARE = 0.01  # expected loss tolerated, as a share of the control's |net value per user|
NET = "net_value_per_user"
CHURN = "churned_share"
COST = "cost_per_user"


# --------------------------------------------------------------------------- the posterior
def _degrees(n_replications: int, method: str) -> float:
    return float(n_replications - 1) if method == "paired replications" else math.inf


def prob_better(difference: float, se: float, df: float, direction: int) -> float:
    """Posterior probability that the true difference moves the metric the good way."""
    if not math.isfinite(difference) or direction == 0:
        return float("nan")
    if not (math.isfinite(se) and se > 0):
        return 1.0 if direction * difference > 0 else (0.0 if difference else 0.5)
    z = direction * difference / se
    return float(st.norm.cdf(z) if math.isinf(df) else st.t.cdf(z, df))


def expected_loss(difference: float, se: float, df: float, direction: int) -> float:
    """Posterior mean of the harm of shipping, ``E[max(0, −direction · δ)]`` (metric units);
    infinite for t with at most one degree of freedom."""
    if not math.isfinite(difference) or direction == 0:
        return float("nan")
    if not (math.isfinite(se) and se > 0):
        return max(0.0, -direction * difference)
    z = direction * difference / se  # the good-way effect in standard errors
    if math.isinf(df):
        return float(se * (st.norm.pdf(z) - z * st.norm.sf(z)))
    if df <= 1:
        return math.inf
    return float(se * ((df + z * z) / (df - 1) * st.t.pdf(z, df) - z * st.t.sf(z, df)))


# --------------------------------------------------------------------------- per arm
@dataclass
class Row:
    """One metric of one arm against the control."""

    metric: str
    control: float
    arm: float
    difference: float
    ci_low: float
    ci_high: float
    p_adjusted: float
    significant: bool
    prob_better: float
    expected_loss: float

    @property
    def harmful(self) -> bool:
        """Significantly worse than the control."""
        return self.significant and verdict(self.metric, self.difference) < 0


@dataclass
class ArmVerdict:
    arm: str
    label: str
    colour: str
    decision: str
    rows: list[Row] = field(default_factory=list)
    loss_tolerance: float = float("nan")

    def row(self, key: str) -> Row | None:
        return next((r for r in self.rows if r.metric == key), None)


def _row(found: pd.Series) -> Row:
    key = found["metric"]
    direction = metric(key).direction
    df = _degrees(int(found["n_replications"]), str(found["method"]))
    diff, se = float(found["difference"]), float(found["se"])
    return Row(key, float(found["control_mean"]), float(found["arm_mean"]), diff,
               float(found["ci_low"]), float(found["ci_high"]), float(found["p_adjusted"]),
               bool(found["significant"]), prob_better(diff, se, df, direction),
               expected_loss(diff, se, df, direction))  # fmt: skip


def decide(net: Row | None, guardrails: list[Row], tolerance: float) -> str:
    """The badge: see the module docstring (and :func:`rule_text`)."""
    if any(g.harmful for g in guardrails):
        return NO_SHIP
    if net is None or not math.isfinite(net.prob_better):
        return INCONCLUSIVE
    if net.prob_better <= 1 - SHIP_PROBABILITY:
        return NO_SHIP
    if net.prob_better >= SHIP_PROBABILITY and net.expected_loss < tolerance:
        return SHIP
    return INCONCLUSIVE


@dataclass
class Verdict:
    """Everything the verdict page shows of one experiment (its first cell)."""

    report: ExperimentReport
    retention: str
    arms: list[ArmVerdict]
    colours: dict[str, str]

    @property
    def metrics(self) -> list[str]:
        return [NET, self.retention, CHURN, COST]

    @property
    def days(self) -> int:
        return int(self.report.config.get("days", 0))

    @property
    def replications(self) -> int:
        return int(self.report.config.get("replications", 0))


def _user_rows(report: ExperimentReport, cell: str) -> pd.DataFrame:
    comparison = report.table("comparison", cell)
    return comparison[comparison["scope"] == "user"] if len(comparison) else comparison


def build_verdict(folder: str | Path) -> Verdict:
    """Read an analysed experiment folder and judge every arm against the control."""
    report = load_report(folder)
    cell = report.cells[0]
    retention = retention_metric(report, cell)
    rows = _user_rows(report, cell)
    colours = arm_colours(report.arms)
    arms = []
    for arm in report.arms[1:]:
        mine = rows[rows["arm"] == arm]
        judged = [_row(r) for key in (NET, retention, CHURN, COST)
                  for _, r in mine[mine["metric"] == key].iterrows()
                  if math.isfinite(r["difference"])]  # fmt: skip
        net = next((r for r in judged if r.metric == NET), None)
        tolerance = LOSS_SHARE * abs(net.control) if net else float("nan")
        guardrails = [r for r in judged if r.metric in (retention, CHURN)]
        arms.append(ArmVerdict(arm, report.labels[arm], colours[arm],
                               decide(net, guardrails, tolerance), judged, tolerance))  # fmt: skip
    return Verdict(report, retention, arms, colours)


# --------------------------------------------------------------------------- words
def percent(p: float) -> str:
    return "–" if not math.isfinite(p) else f"{100 * p:.0f}%"


def loss_text(key: str, loss: float) -> str:
    if math.isinf(loss):
        return "∞"
    return format_value(key, loss).replace("%", " pp") if metric(key).kind == "share" else (
        format_value(key, loss))  # fmt: skip


def interval_text(r: Row) -> str:
    low, high = (format_value(r.metric, x, difference=True) for x in (r.ci_low, r.ci_high))
    return f"{low} … {high}"


def rule_text(v: Verdict, lang: str) -> str:
    """The decision rule in words, with the thresholds this experiment used."""
    tolerance = next((a.loss_tolerance for a in v.arms if math.isfinite(a.loss_tolerance)), 0.0)
    return tr("verdict.rule", lang, p=percent(SHIP_PROBABILITY), low=percent(1 - SHIP_PROBABILITY),
              share=percent(LOSS_SHARE), loss=format_value(NET, tolerance),
              retention=metric_name(v.retention, lang), churn=metric_name(CHURN, lang),
              alpha=v.report.meta.get("alpha", 0.05))  # fmt: skip


def sentence(v: Verdict, a: ArmVerdict, lang: str) -> str:
    """One sentence per arm: the net value effect with its interval, the chance it beats the
    control, the expected loss, the guardrails and the decision."""
    net, ret, churn = a.row(NET), a.row(v.retention), a.row(CHURN)
    control = v.report.labels.get("control", "control")
    if net is None:
        return tr("verdict.no_net", lang, arm=a.label, control=control)
    parts = tr("verdict.sentence", lang, arm=a.label, control=control, days=v.days,
               diff=format_value(NET, net.difference, True), ci=interval_text(net),
               p=percent(net.prob_better), loss=loss_text(NET, net.expected_loss),
               reps=v.replications)  # fmt: skip
    guards = []
    for r in (ret, churn):
        if r is not None:
            shown = format_value(r.metric, r.difference, True)
            guards.append(f"{metric_name(r.metric, lang)} {shown} ({interval_text(r)})")
    if guards:
        parts += tr("verdict.guards", lang, guards=("；" if lang == "zh" else "; ").join(guards))
    return parts + tr(f"verdict.then.{a.decision}", lang)


def table_rows(a: ArmVerdict, lang: str) -> list[dict[str, str]]:
    """The arm's table: metric, control, arm, difference [interval], chance to beat control,
    expected loss."""
    return [{
        "metric": metric_name(r.metric, lang),
        "control": format_value(r.metric, r.control),
        "arm": format_value(r.metric, r.arm),
        "difference": f"{format_value(r.metric, r.difference, True)} [{interval_text(r)}]",
        "prob": percent(r.prob_better),
        "loss": loss_text(r.metric, r.expected_loss),
    } for r in a.rows]  # fmt: skip


# --------------------------------------------------------------------------- curves
def curve_bands(v: Verdict, name: str) -> dict[str, pd.DataFrame]:
    """arm -> curve (``x``, ``mean``, ``low``, ``high``): ``retention`` (share retained by days
    since joining) and ``ltv`` (net value per user by day), with the analysis's band across
    replications (the t interval of the mean; none with one replication, nor in a folder
    analysed before bands were kept), and ``survival`` (pooled Kaplan–Meier with its Greenwood
    band)."""
    cell = v.report.cells[0]
    if name == "survival":
        table, x, y, low, high = "survival", "time", "survival", "ci_low", "ci_high"
    elif name == "retention":
        table, x, y, low, high = "retention", "day", "retained", "retained_low", "retained_high"
    else:
        table, x, y, low, high = "ltv", "day", "net", "net_low", "net_high"
    frame = v.report.table(table, cell)
    out = {}
    for arm in v.report.arms:
        mine = frame[frame["arm"] == arm] if len(frame) else frame
        if len(mine):
            out[arm] = pd.DataFrame({
                "x": mine[x].to_numpy(), "mean": mine[y].to_numpy(),
                "low": mine[low].to_numpy() if low in mine else np.nan,
                "high": mine[high].to_numpy() if high in mine else np.nan,
            })  # fmt: skip
    return out


def segment_rows(v: Verdict, lang: str, key: str = NET) -> list[dict[str, Any]]:
    """Net value effect by segment (stage, quadrant, channel, occupation at the start), per
    arm, with its paired interval; the segments where the arm helps or harms most first."""
    seg = v.report.table("segments", v.report.cells[0])
    if seg.empty:
        return []
    seg = seg[seg["metric"] == key]
    rows = []
    for r in seg.sort_values("difference", key=abs, ascending=False).itertuples():
        rows.append({
            "arm": v.report.labels.get(r.arm, r.arm),
            "segment": tr(f"segment.{r.segment}", lang), "value": value_label(str(r.value), lang),
            "users": f"{int(r.n_users):,}",
            "difference": format_value(key, r.difference, True),
            "interval": f"{format_value(key, r.ci_low, True)} … "
                        f"{format_value(key, r.ci_high, True)}",
        })  # fmt: skip
    return rows
