"""The one YAML loader refuses repeated keys, alias bombs and oversized documents, and error
messages show only a short excerpt of a value."""

from __future__ import annotations

import pytest

from sim.config import load_config
from sim.errors import ConfigError
from sim.io.yaml import EXCERPT_CHARS, MAX_BYTES, excerpt, parse_yaml


def alias_bomb(levels: int = 9) -> str:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 10) + "]")
    return "name: q\ndescription:\n  " + "\n  ".join(lines) + "\n"


def test_a_repeated_key_names_the_key_and_both_lines():
    with pytest.raises(
        ConfigError, match=r"x.yaml: line 3: key 'days' is repeated \(first at line 2\)"
    ):
        parse_yaml("name: q\ndays: 20\ndays: 5\n", "x.yaml")


def test_a_repeated_key_in_a_nested_flow_mapping_is_refused():
    with pytest.raises(ConfigError, match="key 'a' is repeated"):
        parse_yaml("x: {a: 1, a: 2}\n", "x.yaml")


def test_merge_keys_may_be_overridden():
    data = parse_yaml("base: &b {a: 1, b: 2}\nx:\n  <<: *b\n  a: 3\n", "x.yaml")
    assert data["x"] == {"a": 3, "b": 2}


def test_an_alias_bomb_is_refused_before_it_is_expanded(tmp_path):
    path = tmp_path / "bomb.yaml"
    path.write_text(alias_bomb())
    assert path.stat().st_size < 1000
    with pytest.raises(ConfigError, match="aliases .* expand to more than"):
        load_config(path)


def test_a_few_aliases_are_fine():
    data = parse_yaml("a: &x [1, 2]\nb: *x\n", "x.yaml")
    assert data["a"] == data["b"] == [1, 2]


def test_an_oversized_document_is_refused_naming_the_limit(tmp_path):
    path = tmp_path / "big.yaml"
    path.write_text("name: q\ndescription: " + "x" * (MAX_BYTES + 1) + "\n")
    with pytest.raises(ConfigError, match=f"at most {MAX_BYTES:,}"):
        load_config(path)


def test_a_non_utf8_config_names_the_file(tmp_path):
    path = tmp_path / "u16.yaml"
    path.write_text("name: q\n", encoding="utf-16")
    with pytest.raises(ConfigError, match="u16.yaml: not UTF-8"):
        load_config(path)


@pytest.mark.parametrize(
    "value", ["x" * 10_000, list(range(10_000)), {str(i): [i] * 100 for i in range(1000)}]
)
def test_an_excerpt_is_short_whatever_the_value(value):
    assert len(excerpt(value)) <= EXCERPT_CHARS + 10


def test_a_validation_error_shows_a_short_excerpt_of_a_long_value(tmp_path):
    path = tmp_path / "long.yaml"
    path.write_text("name: q\ndays: [" + ", ".join(["1"] * 5000) + "]\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert "days" in str(err.value) and len(str(err.value)) < 400
