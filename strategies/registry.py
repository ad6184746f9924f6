"""Finding strategies by name: the built-ins plus any installed through the entry-point group
``siyu.strategies`` (a third-party package declares ``name = "module:Class"`` there).

Parameters from a config are validated against the strategy's ``__init__`` signature with
pydantic (types from the annotations, unknown names rejected), so a typo is an error that names
the config key.
"""

from __future__ import annotations

import inspect
from importlib.metadata import entry_points
from typing import Any

from pydantic import ConfigDict, ValidationError, create_model

from sim.errors import ConfigError
from strategies.base import Strategy
from strategies.blanket import Blanket
from strategies.churn_warning import ChurnWarning
from strategies.content_calendar import ContentCalendar
from strategies.gamification import Gamification
from strategies.group_pruning import GroupPruning
from strategies.koc_programme import KocProgramme
from strategies.new_user_followup import NewUserFollowup
from strategies.none import NoOperations
from strategies.progress_nudge import ProgressNudge
from strategies.recall_coupon import RecallCoupon
from strategies.referral_rewards import ReferralRewards
from strategies.tiered_content import TieredContent
from strategies.value_paving import ValuePaving
from strategies.vip_club import VipClub

ENTRY_POINT_GROUP = "siyu.strategies"
BUILTIN: dict[str, type[Strategy]] = {
    cls.name: cls
    for cls in (
        NoOperations, Blanket, TieredContent, RecallCoupon, GroupPruning, NewUserFollowup,
        ProgressNudge, VipClub, KocProgramme, ReferralRewards, Gamification, ContentCalendar,
        ValuePaving, ChurnWarning,
    )
}  # fmt: skip


def available() -> dict[str, type[Strategy]]:
    """All strategies by name: built-ins first, then entry points (which cannot shadow them)."""
    found = dict(BUILTIN)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name in found:
            continue
        cls = ep.load()
        if not (isinstance(cls, type) and issubclass(cls, Strategy)):
            raise TypeError(f"entry point {ep.name!r} ({ep.value}) is not a Strategy subclass")
        found[ep.name] = cls
    return found


def get_strategy_class(name: str) -> type[Strategy]:
    known = available()
    if name not in known:
        raise KeyError(f"unknown strategy {name!r}; available: {', '.join(sorted(known))}")
    return known[name]


def _params_model(cls: type[Strategy]):
    fields: dict[str, Any] = {}
    for p in inspect.signature(cls.__init__).parameters.values():
        if p.name == "self":
            continue
        annotation = Any if p.annotation is inspect.Parameter.empty else p.annotation
        default = ... if p.default is inspect.Parameter.empty else p.default
        fields[p.name] = (annotation, default)
    return create_model(
        f"{cls.__name__}Params", __config__=ConfigDict(extra="forbid", strict=False), **fields
    )


def make_strategy(name: str, params: dict[str, Any], where: str = "strategies") -> Strategy:
    """Build a strategy from config data; errors name ``where`` (e.g. ``x.yaml: strategies.0``)."""
    try:
        cls = get_strategy_class(name)
    except KeyError as exc:
        raise ConfigError(f"{where}.name: {exc.args[0]}") from None
    try:
        checked = _params_model(cls).model_validate(params)
    except ValidationError as err:
        problems = []
        for e in err.errors():
            key = ".".join(str(p) for p in e["loc"])
            msg = (
                "unknown parameter"
                if e["type"] == "extra_forbid" or e["type"] == "extra_forbidden"
                else e["msg"]
            )
            problems.append(
                f"{where}.params.{key}: {msg}; parameters of {name!r}: {cls.param_names()}"
            )
        raise ConfigError("\n".join(problems)) from None
    strategy = cls(**checked.model_dump())
    try:
        strategy.validate_params()
    except ValueError as exc:
        raise ConfigError(f"{where}.params: {exc}") from None
    return strategy
