"""The one YAML loader: every YAML file siyu reads (configs, experiments, rules) goes through it.

``yaml.safe_load`` alone is not enough for files a user writes:

- a repeated key silently keeps the last value (``days: 20`` then ``days: 5`` → 5 days); here it
  is an error naming the key and both lines;
- nine levels of aliases expand 700 bytes into 10⁹ values (a "billion laughs"): anything that
  walks the value (validation, an error message) hangs. The expanded size is counted on the node
  graph before any Python object is built, and capped;
- a document is capped in bytes, so a 50 MB value is refused before it is parsed.

Errors are :class:`~sim.errors.ConfigError` with the file, line and column. :func:`excerpt` is the
bounded ``repr`` every error message uses to show a user's value.
"""

from __future__ import annotations

import reprlib
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from sim.errors import ConfigError

MAX_BYTES = 1_000_000  # a config of a thousand rules is ~200 kB
MAX_NODES = 100_000  # values after alias expansion
EXCERPT_CHARS = 60

_MERGE_TAG = "tag:yaml.org,2002:merge"

_repr = reprlib.Repr()
_repr.maxstring = EXCERPT_CHARS
_repr.maxother = EXCERPT_CHARS
_repr.maxlist = _repr.maxtuple = _repr.maxdict = _repr.maxset = 6
_repr.maxlevel = 3


def excerpt(value: Any, limit: int = EXCERPT_CHARS) -> str:
    """A short ``repr`` of ``value`` (at most ~``limit`` characters, whatever its size or depth)."""
    text = _repr.repr(value)
    return text if len(text) <= limit + 10 else text[:limit] + "..."


class _Loader(yaml.SafeLoader):
    """SafeLoader that refuses repeated keys in a mapping."""

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == _MERGE_TAG:
                continue  # `<<: *base` then overriding a key is what merges are for
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            try:
                first = seen.get(key)
            except TypeError:
                continue  # an unhashable key: SafeLoader reports it
            if first is not None:
                raise ConfigError(
                    f"line {line}: key {excerpt(key)} is repeated (first at line {first}); "
                    "each key may appear once"
                )
            seen[key] = line
        return super().construct_mapping(node, deep=deep)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _Loader.construct_mapping)
# dates stay text: the config's date fields parse them, so `start_date: 2026-02-30` is an error
# naming the key (world.calendar.start_date) instead of YAML's "day is out of range for month"
_Loader.add_constructor("tag:yaml.org,2002:timestamp", _Loader.construct_yaml_str)


def _expanded_size(node: Node, sizes: dict[int, int]) -> int:
    """How many values ``node`` stands for once every alias is expanded (memoised per node, so
    counting is linear in the file even when the expansion is not)."""
    known = sizes.get(id(node))
    if known is not None:
        return known
    sizes[id(node)] = 1  # a recursive alias counts once here; SafeLoader builds it as a cycle
    if isinstance(node, ScalarNode):
        total = 1
    elif isinstance(node, SequenceNode):
        total = 1 + sum(_expanded_size(child, sizes) for child in node.value)
    elif isinstance(node, MappingNode):
        total = 1 + sum(_expanded_size(k, sizes) + _expanded_size(v, sizes) for k, v in node.value)
    else:
        total = 1
    total = min(total, MAX_NODES + 1)
    sizes[id(node)] = total
    return total


def parse_yaml(text: str, source: str) -> Any:
    """Parse one YAML document; :class:`ConfigError` naming ``source`` if it is invalid, has a
    repeated key, or is too large (in bytes or after alias expansion)."""
    if len(text) > MAX_BYTES:
        raise ConfigError(
            f"{source}: {len(text):,} characters; a config may have at most {MAX_BYTES:,}"
        )
    loader = None
    try:
        loader = _Loader(text)  # reads the stream: non-printable characters fail here
        node = loader.get_single_node()
        if node is None:
            return None
        size = _expanded_size(node, {})
        if size > MAX_NODES:
            raise ConfigError(
                f"{source}: the aliases (*name) expand to more than {MAX_NODES:,} values; "
                "write the values out or use fewer nested aliases"
            )
        return loader.construct_document(node)
    except ConfigError as exc:
        message = str(exc)
        raise ConfigError(
            message if message.startswith(source) else f"{source}: {message}"
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{source}: invalid YAML{where}: {problem}") from None
    finally:
        if loader is not None:
            loader.dispose()


def read_yaml_file(path: Path) -> Any:
    """Read and parse a YAML file with :func:`parse_yaml`; unreadable, oversized or non-UTF-8
    files are a :class:`ConfigError` naming the file."""
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise ConfigError(f"{path}: {size:,} bytes; a config may have at most {MAX_BYTES:,}")
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path}: not UTF-8 text (byte {exc.start}); save the file as UTF-8"
        ) from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the file ({exc.strerror})") from None
    return parse_yaml(text, str(path))
