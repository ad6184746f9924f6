"""The metric vocabulary: every metric an experiment compares, with its label, unit, direction
and display format. ``siyu compare``, the experiment plots and the report notebooks all read it
from here, so a metric means and looks the same everywhere.

A metric's *kind* fixes its unit and format: ``money`` (¥), ``share`` (a share of users or
groups in [0, 1], shown in % and its differences in percentage points), ``days`` and ``count``
(with the thing counted as unit). Its *direction* says which change is an improvement.

Per-user metrics are those of :data:`sim.analysis.outcomes.METRICS` plus ``rmst``; whole-world
metrics are :func:`sim.analysis.outcomes.world_metrics` with a ``world_`` prefix. To add a
metric, compute it there and describe it in :data:`METRICS` (a test checks that both agree).

Every label has a Chinese form in :data:`LABELS_ZH` (the policy lab's users are Chinese
operations teams): ``metric_name(key, "zh")``; a test checks that every metric has one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

HIGHER, LOWER, NEUTRAL = 1, -1, 0
"""Directions: an increase is an improvement, a decrease is, or neither."""

KINDS = {"money": "¥", "share": "%", "days": "days", "count": ""}
"""The kinds of metric and their unit (a count's unit is the thing it counts)."""


@dataclass(frozen=True)
class Metric:
    """One metric: its key in the analysis tables, a readable label, kind and direction."""

    key: str
    label: str
    kind: str
    direction: int = HIGHER
    counts: str = ""  # what a count metric counts: its unit
    activity: bool = False  # a step of the arm's own actions (reach, open, click)

    def unit(self, difference: bool = False) -> str:
        """¥, %, days, the counted thing; a difference of shares is in pp."""
        if self.kind == "share":
            return "pp" if difference else "%"
        return self.counts if self.kind == "count" else KINDS[self.kind]


def _world(key: str, kind: str, direction: int = HIGHER, counts: str = "") -> Metric:
    label = "world: " + key.replace("_", " ")
    return Metric(f"world_{key}", label, kind, direction, counts)


METRICS: dict[str, Metric] = {
    m.key: m
    for m in (
        Metric("net_value_per_user", "net value per user (revenue − cost)", "money"),
        Metric("revenue_per_user", "revenue per user", "money"),
        Metric("cost_per_user", "operating cost per user", "money", LOWER),
        Metric("discounted_net_value_per_user", "discounted net value per user", "money"),
        Metric("purchases_per_user", "purchases per user", "count", counts="purchases"),
        Metric("paying_share", "share of users who paid", "share"),
        Metric("churned_share", "share of users churned", "share", LOWER),
        Metric("retention_d1", "retained on day 1", "share"),
        Metric("retention_d7", "retained on day 7", "share"),
        Metric("retention_d30", "retained on day 30", "share"),
        Metric("retention_d90", "retained on day 90", "share"),
        Metric("reach_share", "share reached by an action", "share", NEUTRAL, activity=True),
        Metric("open_share", "share who opened a push", "share", activity=True),
        Metric("click_share", "share who opened an offer", "share", activity=True),
        Metric("pay_share", "share who paid (funnel)", "share"),
        Metric("mean_duration", "mean days before churn", "days"),
        Metric("rmst", "restricted mean survival (days)", "days"),
        _world("total_revenue", "money"),
        _world("total_cost", "money", LOWER),
        _world("total_net_value", "money"),
        _world("users_registered", "count", counts="users"),
        _world("arrivals", "count", counts="users"),
        _world("referred_arrivals", "count", counts="users"),
        _world("groups_alive_end", "count", counts="groups"),
        _world("group_members_end", "count", counts="members"),
        _world("group_speaking_rate_last30", "share"),
        _world("group_death_share_90d", "share", LOWER),
        _world("group_leaves_per_month", "count", LOWER, counts="leaves per month"),
    )
}
"""Every compared metric by key."""

KEY_METRICS = (
    "net_value_per_user", "revenue_per_user", "cost_per_user", "paying_share", "churned_share",
    "retention_d30", "rmst",
)  # fmt: skip
"""The metrics a report and the effects plot lead with, in this order."""

LABELS_ZH: dict[str, str] = {
    "net_value_per_user": "人均净价值（收入 − 成本）",
    "revenue_per_user": "人均收入",
    "cost_per_user": "人均运营成本",
    "discounted_net_value_per_user": "人均贴现净价值",
    "purchases_per_user": "人均购买次数",
    "paying_share": "付费用户占比",
    "churned_share": "流失用户占比",
    "retention_d1": "第 1 天留存",
    "retention_d7": "第 7 天留存",
    "retention_d30": "第 30 天留存",
    "retention_d90": "第 90 天留存",
    "reach_share": "被触达用户占比",
    "open_share": "打开推送的用户占比",
    "click_share": "打开优惠的用户占比",
    "pay_share": "付费用户占比（漏斗）",
    "mean_duration": "流失前平均天数",
    "rmst": "限制平均生存时间（天）",
    "world_total_revenue": "全局：总收入",
    "world_total_cost": "全局：总成本",
    "world_total_net_value": "全局：总净价值",
    "world_users_registered": "全局：注册用户数",
    "world_arrivals": "全局：新到用户数",
    "world_referred_arrivals": "全局：推荐带来的用户数",
    "world_groups_alive_end": "全局：期末存活社群数",
    "world_group_members_end": "全局：期末社群成员数",
    "world_group_speaking_rate_last30": "全局：近 30 天社群发言率",
    "world_group_death_share_90d": "全局：90 天内社群消亡占比",
    "world_group_leaves_per_month": "全局：每月退群人数",
}
"""The Chinese label of every metric in :data:`METRICS` (same keys)."""

UNITS_ZH = {"days": "天", "users": "人", "groups": "个社群", "members": "人", "purchases": "次",
            "leaves per month": "人/月"}  # fmt: skip
"""Units in Chinese (¥, %, pp are the same in both languages)."""

SHARE_METRICS = frozenset(k for k, m in METRICS.items() if m.kind == "share")
"""Metrics that are shares (shown in %, differences in percentage points)."""

DASH = "–"
"""Shown for a missing or infinite value."""


def metric(key: str) -> Metric:
    """The :class:`Metric` of ``key``; an unknown key reads as a neutral plain number."""
    found = METRICS.get(key)
    if found is not None:
        return found
    if key.startswith("world_"):
        return _world(key.removeprefix("world_"), "count", NEUTRAL)
    return Metric(key, key.replace("_", " "), "count", NEUTRAL)


def metric_name(key: str, lang: str = "en") -> str:
    """The readable label of a metric, in English or (``lang="zh"``) Chinese."""
    if lang == "zh" and key in LABELS_ZH:
        return LABELS_ZH[key]
    return metric(key).label


def metric_unit(key: str, difference: bool = False, lang: str = "en") -> str:
    """The unit of a metric (of its difference when ``difference``): ¥, %, pp, days …"""
    unit = metric(key).unit(difference)
    return UNITS_ZH.get(unit, unit) if lang == "zh" else unit


def verdict(key: str, difference: float) -> int:
    """+1 if ``difference`` moves the metric the good way, -1 the bad way, 0 for no change or a
    neutral metric."""
    if not np.isfinite(difference) or difference == 0:
        return 0
    return metric(key).direction * (1 if difference > 0 else -1)


def can_affect(key: str, control_mean: float, arm_mean: float) -> bool:
    """Whether a difference in ``key`` can count as the arm's gain or harm.

    Not when the metric is zero in both worlds (nothing happened), nor when it is a step of the
    arm's own actions (reach, open, click) that the arm never takes: an arm that sends no offers
    has no offer clicks by design, which is no harm.
    """
    both_zero = control_mean == 0 and arm_mean == 0
    never_acts = metric(key).activity and arm_mean == 0
    return not (both_zero or never_acts)


def format_p(p: float | None) -> str:
    """A p-value: ``< 0.001`` below a thousandth, else three decimals (``0.042``)."""
    if _missing(p):
        return DASH
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def format_percent(ratio: float | None) -> str:
    """A ratio as a signed percentage (``ROI −376%``): the one convention for ROI."""
    if _missing(ratio):
        return DASH
    sign = "−" if ratio < 0 else "+"
    return f"{sign}{100 * abs(ratio):,.0f}%"


def _missing(value: float | None) -> bool:
    return value is None or not np.isfinite(value)


def format_value(key: str, value: float | None, difference: bool = False) -> str:
    """A value as a report shows it: ``¥12.30``, ``45.1%``, ``3.2``; differences signed
    (``+1.2 pp``). Shares are multiplied by 100 (a difference of shares is in percentage points).
    """
    if _missing(value):
        return DASH
    sign = "−" if value < 0 else ("+" if difference and value > 0 else "")
    size = abs(float(value))
    kind = metric(key).kind
    if kind == "share":
        return f"{sign}{100 * size:.1f} pp" if difference else f"{sign}{100 * size:.1f}%"
    if kind == "money":
        return f"{sign}¥{size:,.2f}"
    return f"{sign}{size:,.3g}" if size < 1000 else f"{sign}{size:,.0f}"


def format_plain(key: str, value: float | None, difference: bool = False) -> str:
    """A value as a terminal table shows it: two decimals, shares in % (differences in pp),
    no currency sign; differences signed."""
    if _missing(value):
        return DASH
    if metric(key).kind == "share":
        return f"{100 * value:+.2f} pp" if difference else f"{100 * value:.2f}%"
    return f"{value:+,.2f}" if difference else f"{value:,.2f}"


def format_yuan(value: float) -> str:
    """A signed whole amount of money, e.g. ``+¥1,234`` or ``−¥56``."""
    if _missing(value):
        return DASH
    return f"{'−' if value < 0 else '+'}¥{abs(value):,.0f}"
