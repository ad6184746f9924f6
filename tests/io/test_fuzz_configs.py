"""Fuzzing configs (hypothesis): valid and broken YAML — wrong types, NaN/inf, huge numbers,
booleans, unknown keys, repeated keys, alias bombs, rule conditions and action parameters.

Every case ends in either a :class:`ConfigError` whose message starts with the file's name, or a
validated config; a validated config runs on a tiny world with users conserved and revenue equal
to the sum of purchases. No other exception, no hang (:func:`no_hang`), the input file unchanged.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

import sim
from sim.config import ExperimentConfig, load_config
from sim.errors import ConfigError
from tests.io.fuzz import no_hang

TINY = {
    "name": "fuzz",
    "seed": 1,
    "days": 4,
    "population": {"initial_users": 60, "arrivals_per_day": {"organic": 3.0}},
    "strategies": [{"name": "blanket", "params": {"promos_per_day": 1.0}}],
    "output": {"plots": False},
}


def numeric_paths(model: type[BaseModel], prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Dotted paths of every number field of the config schema (nested models followed)."""
    out = []
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            out += numeric_paths(annotation, (*prefix, name))
        elif annotation in (int, float):
            out.append((*prefix, name))
    return out


PATHS = numeric_paths(ExperimentConfig)
WEIRD = st.one_of(
    st.sampled_from([math.nan, math.inf, -math.inf, True, False, None, "", "12", "nan", "1e3"]),
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)
RULE_TEXT = st.one_of(
    st.text(max_size=40),
    st.lists(
        st.sampled_from(
            ["stage", "==", '"new"', "and", "or", "not", "(", ")", "revenue", ">=", "500", "+",
             "__import__('os')", "days_since_open", "1e999", "/", "0", "churn_depth", '"shallow"',
             "in", "[", "]", ",", "muted", "-"]
        ),
        max_size=12,
    ).map(" ".join),
)  # fmt: skip
ACTIONS = st.sampled_from(
    ["give_coupon", "send_promo", "contact_1v1", "push_content", "reward", "invite_to_group"]
)
PARAMS = st.dictionaries(
    st.sampled_from(["discount", "valid_days", "count", "minutes", "tier", "points", "gift", "x"]),
    WEIRD | st.floats(0, 2) | st.integers(-2, 10) | st.sampled_from(["free", "camp"]),
    max_size=3,
)


def set_path(data: dict, path: tuple[str, ...], value: Any) -> None:
    for key in path[:-1]:
        data = data.setdefault(key, {}) if isinstance(data.get(key, {}), dict) else {}
    data[path[-1]] = value


@st.composite
def config_texts(draw, mutations: int = 3, text_kinds=("plain", "plain", "duplicate", "bomb",
                 "garbage"), values=WEIRD) -> str:  # fmt: skip
    """YAML text of a config: a tiny valid one, then up to ``mutations`` changes of values and
    one of ``text_kinds`` (a repeated key, an alias bomb, inserted garbage)."""
    data = yaml.safe_load(yaml.safe_dump(TINY))
    for _ in range(draw(st.integers(0, mutations))):
        kind = draw(st.sampled_from(["number", "unknown", "rule", "arrivals", "days"]))
        if kind == "number":
            set_path(data, draw(st.sampled_from(PATHS)), draw(values))
        elif kind == "unknown":
            set_path(data, (draw(st.sampled_from(["", "world", "population"])) or "x", "zz"), 1)
        elif kind == "rule":
            rule = {"name": "r", "when": draw(RULE_TEXT),
                    "do": {"action": draw(ACTIONS), "params": draw(PARAMS)}}  # fmt: skip
            data["rules"] = [rule]
        elif kind == "arrivals":
            data["population"]["arrivals_per_day"] = {"ads": draw(WEIRD | st.floats(0, 1e13))}
        else:
            data["days"] = draw(WEIRD | st.integers(-5, 5000))
    try:
        text = yaml.safe_dump(data, allow_unicode=True)
    except yaml.YAMLError:
        text = "name: fuzz\n"
    text_kind = draw(st.sampled_from(text_kinds))
    if text_kind == "duplicate":
        text += "days: 3\n" if "days:" in text else "name: again\n"
    elif text_kind == "bomb":
        levels = draw(st.integers(2, 9))
        lines = ['l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
        lines += [f"l{i}: &l{i} [" + ",".join([f"*l{i - 1}"] * 10) + "]" for i in range(1, levels)]
        text = text.replace("name: fuzz", "description:\n  " + "\n  ".join(lines) + "\nname: fuzz")
    elif text_kind == "garbage":
        cut = draw(st.integers(0, len(text)))
        text = text[:cut] + draw(st.text(max_size=20)) + text[cut:]
    return text


def load_or_refuse(tmp_path: Path, text: str) -> ExperimentConfig | None:
    """The config, or None after checking the refusal is a ConfigError naming the file."""
    path = tmp_path / "fuzz.yaml"
    path.write_text(text, encoding="utf-8")
    before = path.read_bytes()
    try:
        with no_hang():
            return load_config(path)
    except ConfigError as err:
        assert str(err).startswith(str(path)), str(err)[:200]
        event("refused")
        return None
    finally:
        assert path.read_bytes() == before


SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                HealthCheck.too_slow])  # fmt: skip


@settings(max_examples=400, **SETTINGS)
@given(text=config_texts())
def test_a_config_is_read_or_refused_cleanly(tmp_path, text):
    load_or_refuse(tmp_path, text)


def check_run_invariants(config: ExperimentConfig) -> None:
    tables = sim.run(config).tables
    daily, users, purchases = tables["daily"], tables["users"], tables["purchases"]
    stages = daily[[c for c in daily.columns if c.startswith("stage_")]].sum(axis=1)
    assert (stages == daily["users_registered"]).all()  # users conserved
    assert len(users) == daily["users_registered"].iloc[-1]
    assert np.isclose(purchases["price_paid"].sum(), daily["revenue"].sum())
    assert np.isfinite(daily["revenue"]).all()


@pytest.mark.slow
@settings(max_examples=60, **SETTINGS)
@given(text=config_texts(2, ("plain",), st.floats(0, 1) | st.integers(0, 30)))
def test_a_valid_fuzzed_config_runs_with_its_invariants(tmp_path, text):
    config = load_or_refuse(tmp_path, text)
    if (
        config is None
        or config.days
        * (config.population.initial_users + 10 * sum(config.population.arrivals_per_day.values()))
        > 200_000
    ):
        return  # refused, or not a tiny world: loading was the test
    event("ran")
    with no_hang(120):
        check_run_invariants(config)
