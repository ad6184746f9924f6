"""Experiment configs: the YAML schema, loading, command-line overrides and readable errors.

A config is validated strictly by pydantic: unknown keys and out-of-range values are errors. Every
error is reported as ``FILE: key.path: what was expected (got ...)`` so a user can find it.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any, get_args, get_origin

from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from sim.churn.model import load_churn_model
from sim.errors import ConfigError, TwinFolderError
from sim.io.yaml import excerpt, read_yaml_file
from sim.rules.schema import Rule, compile_rules, unique_rule_names
from sim.twin.identity import check_twin_folder
from sim.world.params import Strict, WorldParams
from sim.world.population_spec import PopulationSpec
from sim.world.pressure import PressureSpec
from strategies.registry import make_strategy

# users a run may hold: the initial base plus every arrival (population.initial_users' own limit)
MAX_USERS = 50_000_000


class StrategySpec(Strict):
    name: str = Field(description="a registered strategy name (`siyu strategies list`)")
    params: dict[str, Any] = Field({}, description="keyword parameters of the strategy")


class OutputSpec(Strict):
    purchases: bool = Field(True, description="write purchases.parquet (one row per purchase)")
    groups: bool = Field(True, description="write groups.parquet (one row per group per day)")
    plots: bool = Field(True, description="draw the PNG plots")


class ExperimentConfig(Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", description="run name")
    description: str = ""
    seed: int = Field(0, ge=0, lt=2**63, description="the root of every random draw")
    days: int = Field(180, ge=1, le=3650, description="simulated horizon in days")
    population: PopulationSpec = PopulationSpec()
    world: WorldParams = WorldParams()
    strategies: tuple[StrategySpec, ...] = Field(
        (), description="operating strategies active in this run; empty = no operations"
    )
    output: OutputSpec = OutputSpec()
    rules: tuple[Rule, ...] = Field(
        (), description="operating rules as data (docs/RULES_LANGUAGE.md); run by strategy 'rules'"
    )
    pressure: PressureSpec = Field(
        PressureSpec(), description="contact pressure: per-user caps, operator capacity"
    )
    churn_model: Path | None = Field(
        None,
        description="churn model JSON (`siyu churn-model train`) behind the rule field churn_risk;"
        " a relative path is relative to the config file",
    )

    @field_validator("rules")
    @classmethod
    def _unique_rule_names(cls, v: tuple[Rule, ...]) -> tuple[Rule, ...]:
        return unique_rule_names(v)

    @model_validator(mode="after")
    def _population_fits_in_memory(self) -> ExperimentConfig:
        per_day = sum(self.population.arrivals_per_day.values())
        users = self.population.initial_users + self.days * per_day
        if users > MAX_USERS:
            raise ValueError(
                f"population.arrivals_per_day: {per_day:,.0f} arrivals a day for {self.days} days "
                f"plus {self.population.initial_users:,} initial users make ~{users:,.0f} users; "
                f"a run may hold at most {MAX_USERS:,}"
            )
        return self


def format_validation_error(
    source: str, err: ValidationError, root: type[BaseModel] | None = None
) -> str:
    """One line per problem: ``source: key.path: message (got value)``. ``root`` is the model
    that was validated (default :class:`ExperimentConfig`), for the 'did you mean' hints."""
    lines = [f"{source}: {err.error_count()} problem(s) in the config"]
    for e in err.errors():
        path = ".".join(str(p) for p in e["loc"]) or "(top level)"
        msg = e["msg"].removeprefix("Value error, ")  # pydantic's wrapper of our ValueErrors
        if e["type"] == "extra_forbidden":
            msg = _unknown_key_message(e["loc"], root or ExperimentConfig)
        hidden = e["type"] in ("missing", "extra_forbidden")
        shown = "" if hidden else f" (got {excerpt(e.get('input'))})"
        lines.append(f"  {path}: {msg}{shown}")
    return "\n".join(lines)


def _unknown_key_message(loc: tuple, root: type[BaseModel]) -> str:
    """'unknown key', with the keys allowed at that place and the closest match."""
    model: Any = root
    skip_key = False  # the next part is a key of a dict of models (e.g. an arm's name)
    for part in loc[:-1]:
        if isinstance(part, int) or model is None:
            continue
        if skip_key:
            skip_key = False
            continue
        field = model.model_fields.get(part) if hasattr(model, "model_fields") else None
        if field is None:
            model = None
            break
        skip_key = get_origin(field.annotation) is dict
        model = _model_of(field.annotation)
    if model is None or not hasattr(model, "model_fields"):
        return "unknown key"
    allowed = sorted(model.model_fields)
    close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown key{hint}; expected one of: {', '.join(allowed)}"


def _model_of(annotation: Any) -> Any:
    """The pydantic model inside an annotation such as ``Model`` or ``tuple[Model, ...]``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _model_of(arg)
        if found is not None:
            return found
    return None


def read_yaml(path: Path) -> dict[str, Any]:
    """Parse a YAML mapping with the one YAML loader (:mod:`sim.io.yaml`: repeated keys, alias
    bombs and oversized files refused), as a ConfigError with file, line and column."""
    data = read_yaml_file(path)
    if not isinstance(data, dict):
        raise ConfigError(
            f"{path}: expected a mapping of keys at the top level, got {excerpt(data)}"
        )
    return data


def apply_overrides(data: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    """Apply command-line overrides (seed, users, days) to raw config data."""
    data = dict(data)
    if overrides.get("seed") is not None:
        data["seed"] = overrides["seed"]
    if overrides.get("days") is not None:
        data["days"] = overrides["days"]
    if overrides.get("users") is not None:
        population = dict(data.get("population") or {})
        population["initial_users"] = overrides["users"]
        data["population"] = population
    return data


def parse_config(data: dict[str, Any], source: str = "<config>") -> ExperimentConfig:
    """Validate raw config data, with errors naming ``source``."""
    try:
        config = ExperimentConfig.model_validate(data)
    except ValidationError as err:
        raise ConfigError(format_validation_error(source, err)) from None
    if config.rules:
        compile_rules(config.rules, source)
    check_strategies(config, source)
    check_churn_model(config, source)
    check_twin(config, source)
    return config


def check_strategies(config: ExperimentConfig, source: str = "<config>") -> None:
    """ConfigError naming ``strategies.N.params.KEY`` if a strategy or a parameter is bad
    (each strategy is built once, which checks its parameters against their declarations)."""
    for i, spec in enumerate(config.strategies):
        make_strategy(spec.name, spec.params, where=f"{source}: strategies.{i}")


def check_twin(config: ExperimentConfig, source: str = "<config>") -> None:
    """ConfigError if ``population.twin`` names no complete twin folder."""
    if config.population.twin is None:
        return

    try:
        check_twin_folder(config.population.twin)
    except TwinFolderError as exc:
        raise ConfigError(
            f"{source}: population.twin: {exc} (write one with `siyu twin fit --events FILE "
            f"--calibration-end DATE --out {config.population.twin}`; docs/TWIN.md)"
        ) from None


def check_churn_model(config: ExperimentConfig, source: str = "<config>") -> None:
    """ConfigError if a rule uses ``churn_risk`` without ``churn_model:``, or the file is bad."""
    conditions = compile_rules(config.rules, source)
    users = [
        r.name for r, c in zip(config.rules, conditions, strict=True) if "churn_risk" in c.fields
    ]
    if config.churn_model is None and not users:
        return

    load_churn_model(config.churn_model, users, source)


def resolve_relative_paths(data: dict[str, Any], config_path: Path) -> dict[str, Any]:
    """Make relative ``churn_model:`` and ``population.twin:`` paths relative to the config
    file's folder (so a config means the same files wherever siyu is started)."""

    def absolute(value: Any) -> Any:
        if isinstance(value, str) and value and not Path(value).is_absolute():
            return str((config_path.parent / value).resolve())
        return value

    data = dict(data)
    if "churn_model" in data:
        data["churn_model"] = absolute(data["churn_model"])
    population = data.get("population")
    if isinstance(population, dict) and "twin" in population:
        data["population"] = {**population, "twin": absolute(population["twin"])}
    return data


def load_config(path: str | Path, **overrides: Any) -> ExperimentConfig:
    """Read, override and validate an experiment config file.

    Relative ``churn_model:`` and ``population.twin:`` paths are taken relative to the config
    file (and made absolute).
    """
    path = Path(path)
    data = resolve_relative_paths(apply_overrides(read_yaml(path), **overrides), path)
    return parse_config(data, str(path))
