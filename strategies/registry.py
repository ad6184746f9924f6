"""Finding strategies by name: the built-ins plus any installed through the entry-point group
``siyu.strategies`` (a third-party package declares ``name = "module:Class"`` there).

Parameters from a config are checked against the strategy's declarations
(:mod:`strategies.params`) when it is built, so a typo or a value out of range is an error that
names the config key. A third-party strategy that declares nothing is still found and built (its
class warns when defined; see :mod:`strategies.base`); only its parameter names are checked.
"""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Any

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
from strategies.params import ParameterError, check_names
from strategies.progress_nudge import ProgressNudge
from strategies.recall_coupon import RecallCoupon
from strategies.referral_rewards import ReferralRewards
from strategies.tiered_content import TieredContent
from strategies.timed_offer import TimedOffer
from strategies.value_paving import ValuePaving
from strategies.vip_club import VipClub

ENTRY_POINT_GROUP = "siyu.strategies"
BUILTIN: dict[str, type[Strategy]] = {
    cls.name: cls
    for cls in (
        NoOperations, Blanket, TieredContent, RecallCoupon, GroupPruning, NewUserFollowup,
        ProgressNudge, VipClub, KocProgramme, ReferralRewards, Gamification, ContentCalendar,
        ValuePaving, ChurnWarning, TimedOffer,
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


def config_values(cls: type[Strategy], params: dict[str, Any]) -> dict[str, Any]:
    """``params`` from a config as keyword arguments of ``cls``: names checked (with a
    did-you-mean), lists made tuples and integers given for a float made floats."""
    check_names(cls.name, cls.parameters, params)
    declared = {p.name: p for p in cls.parameters}
    return {key: declared[key].from_config(value) for key, value in params.items()}


def make_strategy(name: str, params: dict[str, Any], where: str = "strategies") -> Strategy:
    """Build a strategy from config data; errors name ``where`` (e.g. ``x.yaml: strategies.0``)
    and the parameter's key under it."""
    try:
        cls = get_strategy_class(name)
    except KeyError as exc:
        raise ConfigError(f"{where}.name: {exc.args[0]}") from None
    try:
        return cls(**config_values(cls, params))
    except ParameterError as err:
        raise ConfigError(err.located(f"{where}.params")) from None
