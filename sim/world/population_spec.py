"""How users are generated: attribute distributions, the initial base and daily arrivals.

Defaults and their provenance are in each field's description (``assumed`` unless a source
article is named); ``docs/MODEL.md`` §Population explains how they combine.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator, model_validator

from sim.world.params import PREFERENCES, Strict

CHANNELS = ("organic", "ads", "content", "live", "referral")
OCCUPATIONS = ("student", "early_career", "mid_career", "manager", "parent")


class OccupationSpec(Strict):
    share: float = Field(ge=0, description="assumed: share of users with this occupation")
    age_min: int = Field(ge=14, le=90, description="assumed: youngest age in this occupation")
    age_max: int = Field(ge=14, le=90, description="assumed: oldest age in this occupation")
    income_median: float = Field(
        gt=0, description="assumed: median monthly income in ¥ (tier-2 city)"
    )

    @model_validator(mode="after")
    def _ages(self) -> OccupationSpec:
        if self.age_min > self.age_max:
            raise ValueError("expected age_min <= age_max")
        return self


class ChannelSpec(Strict):
    engagement_logit_mean: float = Field(
        description="assumed: mean of logit(engagement) for users acquired here"
    )
    initial_trust: float = Field(ge=0, le=1, description="assumed: trust on arrival")
    need_logit_offset: float = Field(
        0.0,
        ge=-5,
        le=5,
        description="assumed: shift of logit(need) for users acquired here (a friend invited "
        "for a reward arrives with less need of their own: referral -0.5) [issue 15]",
    )


DEFAULT_OCCUPATIONS = {
    "student": OccupationSpec(share=0.15, age_min=18, age_max=24, income_median=2500),
    "early_career": OccupationSpec(share=0.30, age_min=22, age_max=30, income_median=8000),
    "mid_career": OccupationSpec(share=0.25, age_min=28, age_max=45, income_median=15000),
    "manager": OccupationSpec(share=0.10, age_min=32, age_max=55, income_median=30000),
    "parent": OccupationSpec(share=0.20, age_min=26, age_max=45, income_median=12000),
}
DEFAULT_CHANNELS = {
    "organic": ChannelSpec(engagement_logit_mean=-0.6, initial_trust=0.35),
    "ads": ChannelSpec(engagement_logit_mean=-1.3, initial_trust=0.25),
    "content": ChannelSpec(engagement_logit_mean=-0.8, initial_trust=0.35),
    "live": ChannelSpec(engagement_logit_mean=-0.9, initial_trust=0.30),
    "referral": ChannelSpec(engagement_logit_mean=-0.4, initial_trust=0.50, need_logit_offset=-0.5),
}


def _check_shares(v: dict[str, float], allowed: tuple[str, ...]) -> dict[str, float]:
    unknown = sorted(set(v) - set(allowed))
    if unknown:
        raise ValueError(f"unknown keys {unknown}; expected some of {list(allowed)}")
    if any(x < 0 for x in v.values()) or sum(v.values()) <= 0:
        raise ValueError("expected non-negative weights with a positive sum")
    return v


class PopulationSpec(Strict):
    initial_users: int = Field(
        50_000,
        ge=0,
        le=50_000_000,
        description="[000] the existing private-domain base at day 0 (case: 500k+)",
    )
    twin: Path | None = Field(
        None,
        description="calibrated to your data: take the initial base from this twin folder "
        "(written by `siyu twin fit`; a relative path is relative to the config file); "
        "initial_users and the drawn history are then ignored, attributes the data lacks are "
        "still drawn (docs/TWIN.md)",
    )
    initial_tenure_days: int = Field(
        365, ge=0, description="assumed: the base joined uniformly over this many days before day 0"
    )
    initial_channel_shares: dict[str, float] = Field(
        {"organic": 0.25, "ads": 0.35, "content": 0.2, "live": 0.1, "referral": 0.1},
        description="assumed: acquisition channel mix of the initial base",
    )
    arrivals_per_day: dict[str, float] = Field(
        {"organic": 30.0, "ads": 80.0, "content": 50.0, "live": 40.0},
        description="assumed: Poisson mean of new registrations per day per channel "
        "(referred arrivals come from shares, not from here)",
    )
    occupations: dict[str, OccupationSpec] = Field(
        DEFAULT_OCCUPATIONS, description="[000][001] occupation segments; shares assumed"
    )
    city_tier_shares: tuple[float, float, float, float] = Field(
        (0.2, 0.35, 0.3, 0.15), description="assumed: share of users in tier-1..4 cities"
    )
    city_tier_income_factor: tuple[float, float, float, float] = Field(
        (1.5, 1.0, 0.8, 0.65), description="assumed: income multiplier by city tier"
    )
    income_sigma: float = Field(0.4, ge=0, le=3, description="assumed: log-normal income spread")
    preference_shares: dict[str, float] = Field(
        {"career": 0.35, "growth": 0.2, "parenting": 0.15, "finance": 0.15, "tech": 0.15},
        description="[000] course categories; shares assumed (parents prefer parenting, below)",
    )
    parent_prefers_parenting: float = Field(
        0.6, ge=0, le=1, description="assumed: chance a parent's preference is parenting"
    )
    channels: dict[str, ChannelSpec] = Field(
        DEFAULT_CHANNELS, description="engagement and trust on arrival by channel"
    )
    engagement_logit_sd: float = Field(
        1.0, ge=0, le=5, description="assumed: spread of latent engagement (logit scale)"
    )
    price_sensitivity_reference_income: float = Field(
        5000.0,
        gt=0,
        description="calibrated: income (¥/month) at which price sensitivity is 1 and "
        "reference prices equal the list's (course demand elastic enough for an interior "
        "revenue-maximising price)",
    )
    price_sensitivity_income_exponent: float = Field(
        0.3,
        ge=0,
        description="calibrated: sensitivity = (reference / income) ** exponent (with the "
        "reference income above)",
    )
    price_sensitivity_bounds: tuple[float, float] = Field(
        (0.3, 3.0), description="assumed: clip range of price sensitivity"
    )
    need_logit_mean: float = Field(
        -1.0,
        description="assumed: mean of logit(need), the level a user's buying intent regrows to",
    )
    need_logit_sd: float = Field(
        1.0, ge=0, le=5, description="assumed: spread of logit(need) between users"
    )
    frailty_sigma: float = Field(
        0.8,
        ge=0,
        le=3,
        description="assumed: log-normal spread (mean 1) of each user's persistent propensity "
        "to lapse and to delete the account",
    )
    frailty_engagement: float = Field(
        0.5,
        ge=0,
        description="assumed: frailty x exp(-k x (engagement_logit - channel mean)), "
        "normalised to mean 1: the less engaged are the likelier to drift away",
    )
    initial_silence_scale_days: float = Field(
        8.0, gt=0, description="assumed: base users' days since last active ~ Exp(scale/engagement)"
    )
    initial_purchases_per_year: float = Field(
        2.0, ge=0, description="assumed: purchases per year of tenure at engagement 1 (base users)"
    )

    @field_validator("initial_channel_shares")
    @classmethod
    def _initial_channels(cls, v: dict[str, float]) -> dict[str, float]:
        return _check_shares(v, CHANNELS)

    @field_validator("arrivals_per_day")
    @classmethod
    def _arrival_channels(cls, v: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(v) - set(CHANNELS[:-1]))
        if unknown:
            raise ValueError(f"unknown channels {unknown}; expected some of {list(CHANNELS[:-1])}")
        if any(x < 0 for x in v.values()):
            raise ValueError("expected non-negative arrival rates")
        return v

    @field_validator("occupations")
    @classmethod
    def _occupations(cls, v: dict[str, OccupationSpec]) -> dict[str, OccupationSpec]:
        if set(v) != set(OCCUPATIONS):
            raise ValueError(f"expected exactly the occupations {list(OCCUPATIONS)}")
        if sum(o.share for o in v.values()) <= 0:
            raise ValueError("expected occupation shares with a positive sum")
        return v

    @field_validator("preference_shares")
    @classmethod
    def _preferences(cls, v: dict[str, float]) -> dict[str, float]:
        return _check_shares(v, PREFERENCES)

    @field_validator("channels")
    @classmethod
    def _channels(cls, v: dict[str, ChannelSpec]) -> dict[str, ChannelSpec]:
        if set(v) != set(CHANNELS):
            raise ValueError(f"expected exactly the channels {list(CHANNELS)}")
        return v

    @field_validator("city_tier_shares")
    @classmethod
    def _tiers(cls, v: tuple[float, ...]) -> tuple[float, ...]:
        if any(x < 0 for x in v) or sum(v) <= 0:
            raise ValueError("expected non-negative shares with a positive sum")
        return v

    @field_validator("price_sensitivity_bounds")
    @classmethod
    def _bounds(cls, v: tuple[float, float]) -> tuple[float, float]:
        if not 0 < v[0] <= v[1]:
            raise ValueError("expected 0 < low <= high")
        return v
