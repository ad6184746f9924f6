"""Declared strategy parameters: every built-in's defaults validate; a bad value (out of range,
wrong type, bool for int, NaN/inf, unknown name, broken cross-parameter rule) gives one clear
error naming strategy, parameter, what was expected and what was given — from Python and from a
config file alike; ``siyu strategies show`` lists every declared parameter within 80 columns."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import yaml
from rich.cells import cell_len

from sim.cli.main import main
from sim.config import load_config
from sim.errors import ConfigError
from strategies.base import Strategy
from strategies.params import ParameterError, param
from strategies.registry import BUILTIN, get_strategy_class, make_strategy
from strategies.rules import RuleSet

ALL_CLASSES = [*BUILTIN.values(), RuleSet]

# (strategy, parameter, bad value, words the message must contain)
BAD_VALUES = [
    ("tiered_content", "every_days", 0, "an int in [1, 365]"),
    ("recall_coupon", "discount", 1.5, "a finite number in [0.01, 0.99]"),
    ("group_pruning", "silent_days", "30", "an int in [1, 32]"),
    ("tiered_content", "offset_days", True, "an int in [0, 365]"),
    ("blanket", "promos_per_day", math.nan, "a finite number in [0, 50]"),
    ("vip_club", "gift", math.inf, "a finite number in [0, 100000]"),
    ("churn_warning", "minutes", 0.0, "[0.1, 600] or None"),
    ("koc_programme", "invite", 1, "true or false"),
    ("new_user_followup", "welcome_tier", "vip", "one of: free, camp"),
    ("gamification", "levels", (300.0, -1.0), "each a finite number > 0"),
]
CROSS_RULES = [
    ("recall_coupon", {"trigger_silence_days": 30, "deep_after_days": 10}, "deep_after_days"),
    ("gamification", {"levels": (1000.0, 300.0)}, "levels"),
    ("koc_programme", {"points": 0.0, "gift": 0.0}, "gift"),
]


def config_file(tmp_path: Path, name: str, params: dict[str, Any]) -> Path:
    """A config running strategy ``name`` with ``params`` (tuples written as YAML lists)."""
    plain = {k: list(v) if isinstance(v, tuple) else v for k, v in params.items()}
    data = {"name": "bad", "days": 5, "population": {"initial_users": 100},
            "strategies": [{"name": "none"}, {"name": name, "params": plain}]}  # fmt: skip
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize("cls", ALL_CLASSES, ids=lambda c: c.name)
def test_every_builtin_declares_its_keywords_and_its_defaults_validate(cls) -> None:
    assert [p.name for p in cls.parameters] == cls.param_names()
    for p in cls.parameters:
        assert p.declared and p.meaning.strip(), p.name
        assert p.problem(p.default) is None, p.name
    built = cls()
    assert built.get_params() == {p.name: p.default for p in cls.parameters}
    assert type(built.clone()) is cls


@pytest.mark.parametrize("name", sorted(BUILTIN))
def test_every_builtin_builds_from_an_empty_config(name: str) -> None:
    assert make_strategy(name, {}).get_params() == BUILTIN[name]().get_params()


@pytest.mark.parametrize("name, key, value, words", BAD_VALUES)
def test_bad_value_from_python_names_strategy_parameter_range_and_value(name, key, value, words):
    with pytest.raises(ParameterError) as caught:
        get_strategy_class(name)(**{key: value})
    message = str(caught.value)
    assert message.startswith(f"{name}.{key} must be ") and words in message
    assert repr(value) in message


@pytest.mark.parametrize("name, key, value, words", BAD_VALUES)
def test_bad_value_from_a_config_file_names_the_location(tmp_path, name, key, value, words):
    path = config_file(tmp_path, name, {key: value})
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: strategies.1.params.{key} ({name}) must be ")
    assert words in message


def test_unknown_name_lists_the_parameters_with_a_did_you_mean(tmp_path) -> None:
    with pytest.raises(ParameterError, match=r"every_day is an unknown parameter; did you mean "
                       r"'every_days'\? parameters: every_days, offset_days"):  # fmt: skip
        get_strategy_class("tiered_content")(every_day=3)
    path = config_file(tmp_path, "tiered_content", {"every_day": 3})
    with pytest.raises(ConfigError, match=r"strategies.1.params.every_day \(tiered_content\) is "
                       r"an unknown parameter; did you mean 'every_days'"):  # fmt: skip
        load_config(path)


@pytest.mark.parametrize("name, params, key", CROSS_RULES)
def test_rules_between_parameters_are_checked_both_ways(tmp_path, name, params, key) -> None:
    with pytest.raises(ParameterError, match=rf"^{name}\.{key} "):
        get_strategy_class(name)(**params)
    with pytest.raises(ConfigError, match=rf"strategies.1.params.{key} \({name}\)"):
        load_config(config_file(tmp_path, name, params))


def test_every_bad_value_of_a_config_is_reported_at_once() -> None:
    with pytest.raises(ConfigError) as caught:
        make_strategy("recall_coupon", {"discount": 0, "valid_days": 0}, where="x.yaml: s.0")
    lines = str(caught.value).splitlines()
    assert [line.split(" (")[0] for line in lines] == [
        "x.yaml: s.0.params.discount", "x.yaml: s.0.params.valid_days",
    ]  # fmt: skip


def test_config_numbers_become_the_declared_type_and_python_values_stay_as_given() -> None:
    from_config = make_strategy("gamification", {"levels": [10, 20], "level_gift": 5})
    assert from_config.levels == (10.0, 20.0) and isinstance(from_config.levels, tuple)
    assert isinstance(from_config.level_gift, float)
    assert get_strategy_class("gamification")(level_gift=5).level_gift == 5


def test_declaring_and_writing_init_or_an_unsupported_type_is_refused() -> None:
    with pytest.raises(TypeError, match="remove __init__"):

        class Both(Strategy):
            x: int = param(1, "a count")

            def __init__(self, x: int = 1) -> None:
                self.x = x

    with pytest.raises(TypeError, match="int, float, bool, str or tuple"):

        class Complex(Strategy):
            z: complex = param(1j, "a complex number")


@pytest.mark.parametrize("name", sorted(BUILTIN))
def test_show_lists_every_declared_parameter_within_80_columns(name, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    assert main(["strategies", "show", name]) == 0
    shown = capsys.readouterr().out
    for p in BUILTIN[name].parameters:
        assert p.name in shown
        assert p.allowed.split(",")[0] in shown
    assert max(cell_len(line) for line in shown.splitlines()) <= 80
