"""The field catalog of rule conditions and its vectorised computation from the population.

:data:`CATALOG` lists every field a condition in an experiment config may use, each a
:class:`~sim.rules.FieldSpec` with its kind and meaning. :func:`user_fields` computes the fields a
set of conditions needs, for all user slots at once, from ``ops.field(...)`` and ``ops.day``
(read at operations time, i.e. before today's behaviour: windows such as ``active_days_7`` cover
the 7 days before today). :func:`fields_markdown` renders the catalog for
``docs/RULES_LANGUAGE.md`` (kept in sync by a test).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

from sim.churn.model import ChurnModel, churn_risk
from sim.rules.evaluate import FieldSpec
from sim.world import lifecycle as lc
from sim.world.actions import Operations
from sim.world.lifecycle import NEVER_DAYS
from sim.world.params import PREFERENCES
from sim.world.population_spec import CHANNELS, OCCUPATIONS

_SPECS = (
    FieldSpec("stage", "category", lc.STAGES, "lifecycle stage"),
    FieldSpec("quadrant", "category", lc.QUADRANTS, "value x engagement quadrant [002]"),
    FieldSpec("group_activity", "category", lc.GROUP_ACTIVITY, "group activity type [003]"),
    FieldSpec("churn_depth", "category", lc.CHURN_DEPTHS, "churn depth by days of silence [003]"),
    FieldSpec("occupation", "category", OCCUPATIONS, "occupation segment"),
    FieldSpec("channel", "category", CHANNELS, "acquisition channel"),
    FieldSpec("preference", "category", PREFERENCES, "preferred content category"),
    FieldSpec("city_tier", "number", (), "city tier (1 = largest cities)"),
    FieldSpec("age", "number", (), "age in years"),
    FieldSpec("income", "number", (), "monthly income (¥)"),
    FieldSpec("price_sensitivity", "number", (), "price sensitivity (1 = average)"),
    FieldSpec("engagement", "number", (), "innate engagement propensity (0..1)"),
    FieldSpec("trust", "number", (), "trust in the brand (0..1)"),
    FieldSpec("fatigue", "number", (), "message fatigue (messages per day, smoothed)"),
    FieldSpec("purchases", "number", (), "purchases in total, including before day 0"),
    FieldSpec("revenue", "number", (), "revenue to date (¥), including before day 0"),
    FieldSpec("ladder_level", "number", (), "highest product-ladder step bought (0 = none)"),
    FieldSpec("days_since_join", "number", (), "days since the user joined"),
    FieldSpec("days_since_active", "number", (), f"days since last active ({NEVER_DAYS} = never)"),
    FieldSpec(
        "days_since_open",
        "number",
        (),
        f"days since last opened a message/course ({NEVER_DAYS} = never)",
    ),  # fmt: skip
    FieldSpec(
        "days_since_purchase", "number", (), f"days since last purchase ({NEVER_DAYS} = never)"
    ),  # fmt: skip
    FieldSpec(
        "days_since_touch",
        "number",
        (),
        f"days since operations last reached the user ({NEVER_DAYS} = never)",
    ),  # fmt: skip
    FieldSpec("active_days_7", "number", (), "active days among the last 7"),
    FieldSpec("active_days_30", "number", (), "active days among the last 30"),
    FieldSpec("group_messages_7d", "number", (), "days with messages in the group, last 7"),
    FieldSpec("course_progress", "number", (), "progress in the current course (0..1)"),
    FieldSpec("completed_courses", "number", (), "courses completed"),
    FieldSpec("points", "number", (), "reward points held"),
    FieldSpec("referrals", "number", (), "friends referred so far"),
    FieldSpec("muted", "bool", (), "has muted the account's messages"),
    FieldSpec("in_group", "bool", (), "is a member of a group"),
    FieldSpec("has_coupon", "bool", (), "holds an unexpired coupon"),
    FieldSpec("churned", "bool", (), "has left the private domain (unreachable)"),
    FieldSpec(
        "churn_risk",
        "number",
        (),
        "predicted probability of churning in the next N days (N = the model's window), from "
        "the model in `churn_model:`; nan for churned users",
    ),  # fmt: skip
)
CATALOG: dict[str, FieldSpec] = {spec.name: spec for spec in _SPECS}

# plain columns under another name
_COLUMNS = {
    "stage": "stage", "occupation": "occupation", "channel": "channel",
    "preference": "preference", "city_tier": "city_tier", "age": "age", "income": "income",
    "price_sensitivity": "price_sensitivity", "engagement": "engagement", "trust": "trust",
    "fatigue": "fatigue", "purchases": "purchases", "ladder_level": "ladder",
    "course_progress": "progress", "completed_courses": "completed", "points": "points",
    "referrals": "referrals", "muted": "muted",
}  # fmt: skip
_SINCE = {
    "days_since_active": "last_active",
    "days_since_open": "last_open",
    "days_since_purchase": "last_purchase",
    "days_since_touch": "last_touch",
}


def _since(ops: Operations, column: str) -> np.ndarray:
    return lc.days_since(ops.field(column), ops.day)


def _churn_risk(ops: Operations, model: ChurnModel | None) -> np.ndarray:
    """The model's churn probabilities; all ``nan`` (no comparison is true) without a model.

    Configs whose rules use ``churn_risk`` without ``churn_model:`` are rejected when loaded
    (:func:`sim.config.parse_config`) and when the rules start, so ``nan`` is never silent there.
    """
    if model is None:
        return np.full(ops.n_users, np.nan)

    return churn_risk(model, ops.field, ops.day)


def _derived(
    ops: Operations, churn_model: ChurnModel | None
) -> dict[str, Callable[[], np.ndarray]]:
    p = ops.world.lifecycle
    f = ops.field
    return {
        "quadrant": lambda: lc.quadrant(f("revenue") + f("prior_revenue"), f("active_bits"), p),
        "group_activity": lambda: lc.group_activity(
            f("group"), f("speak_bits"), f("last_claim"), ops.day, p
        ),
        "churn_depth": lambda: lc.churn_depth(_since(ops, "last_active"), p),
        "revenue": lambda: f("revenue") + f("prior_revenue"),
        "days_since_join": lambda: ops.day - f("join_day").astype(np.int64),
        "active_days_7": lambda: lc.bit_window(f("active_bits"), 7),
        "active_days_30": lambda: lc.bit_window(f("active_bits"), 30),
        "group_messages_7d": lambda: lc.bit_window(f("speak_bits"), 7),
        "in_group": lambda: f("group") >= 0,
        "has_coupon": lambda: (f("coupon_discount") > 0) & (f("coupon_expiry") >= ops.day),
        "churned": lambda: f("churn_day") >= 0,
        "churn_risk": lambda: _churn_risk(ops, churn_model),
    }


def user_fields(
    ops: Operations, needed: Iterable[str], churn_model: ChurnModel | None = None
) -> dict[str, np.ndarray]:
    """The ``needed`` catalog fields for every user slot (only those are computed).

    ``churn_model`` (:class:`sim.churn.model.ChurnModel`) is used only for ``churn_risk``.
    """
    needed = set(needed)
    unknown = needed - CATALOG.keys()
    if unknown:
        raise KeyError(f"unknown rule fields: {sorted(unknown)}")
    derived = _derived(ops, churn_model)
    out: dict[str, np.ndarray] = {}
    for name in sorted(needed):
        if name in _COLUMNS:
            out[name] = ops.field(_COLUMNS[name])
        elif name in _SINCE:
            out[name] = _since(ops, _SINCE[name])
        else:
            out[name] = derived[name]()
    return out


def fields_markdown() -> str:
    """The catalog as a Markdown table (the ``Fields`` section of docs/RULES_LANGUAGE.md)."""
    lines = ["| field | kind | meaning | values |", "|---|---|---|---|"]
    for spec in _SPECS:
        values = ", ".join(f"`{c}`" for c in spec.categories)
        if spec.kind == "bool":
            values = "`true` / `false`"
        lines.append(f"| `{spec.name}` | {spec.kind} | {spec.doc} | {values} |")
    return "\n".join(lines)
