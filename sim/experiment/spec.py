"""The experiment config: a world, a control policy, treatment arms, replications, a sweep.

An experiment YAML has every key of a single-run config (``name``, ``seed``, ``days``,
``population``, ``world``, ``pressure``, ``output`` ...) except ``strategies``/``rules``, which move
into the arms::

    control:   {label: blanket, strategies: [...], rules: [...]}
    arms:
      coupon:  {strategies: [...], rules: [...]}
    replications: 5
    randomisation: {unit: user, share: 1.0}
    sweep:     {method: grid, parameters: {arms.coupon.strategies.0.params.discount: [0.3, 0.5]}}
    analysis:  {alpha: 0.05, correction: holm, power: 0.8, discount_rate: 0.0}

A file with ``control:`` or ``arms:`` is an experiment; anything else is a single run. Errors
name the file and the key path, like every config error.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from sim.config import (
    ExperimentConfig,
    StrategySpec,
    apply_overrides,
    check_churn_model,
    check_twin,
    format_validation_error,
    read_yaml,
    resolve_relative_paths,
)
from sim.errors import ConfigError
from sim.io.yaml import excerpt
from sim.rules.schema import Rule, compile_rules, unique_rule_names
from sim.world.assignment import Assignment
from sim.world.params import Strict

CONTROL = "control"
ARM_NAME = r"^[A-Za-z][A-Za-z0-9_-]*$"


class ArmSpec(Strict):
    """One policy: the strategies and rules applied to the users of an arm."""

    label: str = Field("", description="a readable name for reports (default: the arm's key)")
    strategies: tuple[StrategySpec, ...] = Field((), description="strategies of this policy")
    rules: tuple[Rule, ...] = Field((), description="rules of this policy (run by 'rules')")

    @field_validator("rules")
    @classmethod
    def _unique_rule_names(cls, v: tuple[Rule, ...]) -> tuple[Rule, ...]:
        return unique_rule_names(v)


class RangeSpec(Strict):
    """A continuous (or integer) range for random and Latin-hypercube sweeps."""

    low: float
    high: float
    log: bool = Field(False, description="sample uniformly on the log scale")
    integer: bool = Field(False, description="round samples to integers")

    @model_validator(mode="after")
    def _ordered(self) -> RangeSpec:
        if not self.high > self.low:
            raise ValueError(
                f"high must be greater than low (got low={self.low}, high={self.high})"
            )
        if self.log and self.low <= 0:
            raise ValueError("a log range needs low > 0")
        return self


class SweepSpec(Strict):
    """Parameters to vary: each cell of the sweep is a whole experiment (all arms, all reps)."""

    method: Literal["grid", "random", "lhs"] = Field(
        "grid", description="grid = every combination of listed values; random / lhs = samples"
    )
    samples: int | None = Field(
        None, ge=1, le=10_000, description="number of cells for random / lhs (required there)"
    )
    parameters: dict[str, Any] = Field(
        description="dotted config path -> list of values (grid) or {low, high} (random, lhs)"
    )

    @field_validator("parameters", mode="before")
    @classmethod
    def _values_or_range(cls, v: Any) -> Any:
        if not isinstance(v, dict):
            return v
        out = {}
        for path, values in v.items():
            if isinstance(values, dict):
                try:
                    values = RangeSpec.model_validate(values)
                except ValidationError as err:
                    problems = "; ".join(
                        f"{'.'.join(map(str, e['loc'])) or 'range'}: {e['msg']}"
                        for e in err.errors()
                    )
                    raise ValueError(
                        f"{path}: expected {{low, high, log, integer}}: {problems}"
                    ) from None
            elif not isinstance(values, list):
                raise ValueError(
                    f"{path}: expected a list of values or a range {{low, high}}, "
                    f"got {excerpt(values)}"
                )
            out[path] = values
        return out

    @model_validator(mode="after")
    def _consistent(self) -> SweepSpec:
        if not self.parameters:
            raise ValueError("a sweep needs at least one parameter")
        for path, values in self.parameters.items():
            if self.method == "grid" and not isinstance(values, list):
                raise ValueError(f"{path}: a grid sweep needs a list of values")
            if isinstance(values, list) and not values:
                raise ValueError(f"{path}: the list of values is empty")
            if path.split(".")[0] in ("sweep", "replications", "name", "analysis"):
                raise ValueError(f"{path}: this key cannot be swept")
        if self.method != "grid" and self.samples is None:
            raise ValueError(f"method {self.method!r} needs 'samples' (how many cells)")
        if self.method == "grid" and self.samples is not None:
            raise ValueError("'samples' is only for random and lhs sweeps")
        return self


class AnalysisSpec(Strict):
    """How arms are compared."""

    alpha: float = Field(0.05, gt=0, lt=0.5, description="two-sided significance level")
    correction: Literal["holm", "bh", "none"] = Field(
        "holm", description="multiple-testing correction across arms x metrics of a cell"
    )
    power: float = Field(0.8, gt=0, lt=1, description="power for the minimum detectable effect")
    discount_rate: float = Field(
        0.0, ge=0, lt=1, description="annual discount rate for discounted LTV"
    )
    rmst_days: int | None = Field(
        None, ge=1, description="horizon of the restricted mean survival time (default: days)"
    )
    cox_max_rows: int = Field(
        50_000, ge=1_000, description="Cox models are fitted on a random sample of this size"
    )
    uplift: bool = Field(True, description="export true per-user effects and Qini curves")


class ExperimentSpec(ExperimentConfig):
    """A run config plus arms: see the module docstring."""

    control: ArmSpec = Field(ArmSpec(), description="the policy every arm is compared against")
    arms: dict[str, ArmSpec] = Field(description="treatment arms by name")
    replications: int = Field(3, ge=1, le=1000, description="replications (seeds) per arm")
    randomisation: Assignment = Field(Assignment(), description="who receives an arm's policy")
    sweep: SweepSpec | None = None
    analysis: AnalysisSpec = AnalysisSpec()

    @field_validator("arms")
    @classmethod
    def _arm_names(cls, v: dict[str, ArmSpec]) -> dict[str, ArmSpec]:
        import re

        if not v:
            raise ValueError("an experiment needs at least one arm besides the control")
        for name in v:
            if name == CONTROL or not re.match(ARM_NAME, name):
                raise ValueError(
                    f"arm name {name!r}: use letters, digits, '_' or '-', starting with a letter, "
                    f"and not {CONTROL!r}"
                )
        return v

    @model_validator(mode="after")
    def _no_top_level_policy(self) -> ExperimentSpec:
        if self.strategies or self.rules:
            raise ValueError(
                "in an experiment, strategies and rules belong to 'control:' or an arm under "
                "'arms:', not to the top level"
            )
        return self

    @property
    def arm_names(self) -> list[str]:
        """Control first, then the arms in file order."""
        return [CONTROL, *self.arms]

    def policy(self, arm: str) -> ArmSpec:
        return self.control if arm == CONTROL else self.arms[arm]

    def label(self, arm: str) -> str:
        return self.policy(arm).label or arm

    def run_config(self, arm: str, seed: int) -> ExperimentConfig:
        """The single-run config of one world: the control policy, at ``seed``."""
        shared = {
            k: getattr(self, k) for k in ExperimentConfig.model_fields if k not in ("strategies",)
        }
        shared.update(seed=seed, name=f"{self.name}-{arm}", rules=self.control.rules)
        return ExperimentConfig(**shared, strategies=self.control.strategies)

    def treatment_config(self, arm: str, seed: int) -> ExperimentConfig:
        """The same world with the arm's policy (used to build the arm's strategies)."""
        policy = self.policy(arm)
        return self.run_config(arm, seed).model_copy(
            update={"strategies": policy.strategies, "rules": policy.rules}
        )


def is_experiment(data: dict[str, Any]) -> bool:
    """An experiment file names arms (or a control policy); a run config does not."""
    return "arms" in data or "control" in data


def parse_experiment(data: dict[str, Any], source: str = "<config>") -> ExperimentSpec:
    """Validate raw experiment data; every error names ``source`` and the key path."""
    try:
        spec = ExperimentSpec.model_validate(data)
    except ValidationError as err:
        raise ConfigError(format_validation_error(source, err, ExperimentSpec)) from None
    for arm in spec.arm_names:
        where = f"{source}: " + ("control" if arm == CONTROL else f"arms.{arm}")
        if spec.policy(arm).rules:
            compile_rules(spec.policy(arm).rules, where)
        check_churn_model(spec.treatment_config(arm, spec.seed), where)
    check_twin(spec.run_config(CONTROL, spec.seed), source)
    return spec


def load_experiment_data(path: str | Path, **overrides: Any) -> dict[str, Any]:
    """The raw data of an experiment file with overrides (seed, users, days, replications)
    applied and relative ``churn_model:`` / ``population.twin:`` paths made relative to the file."""
    path = Path(path)
    data = read_yaml(path)
    if not is_experiment(data):
        raise ConfigError(f"{path}: not an experiment (it has no 'arms:'); use `siyu run` on it")
    replications = overrides.pop("replications", None)
    data = apply_overrides(data, **overrides)
    if replications is not None:
        data["replications"] = replications
    return resolve_relative_paths(data, path)


def read_experiment_spec(path: str | Path, **overrides: Any) -> ExperimentSpec:
    """Read, override and validate an experiment file."""
    return parse_experiment(load_experiment_data(path, **overrides), str(path))
