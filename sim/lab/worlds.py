"""The worlds a strategist can test a policy on, bounded for interactive use, their summary and
their laws status.

A world is the default world (every documented default of docs/MODEL.md), a run config file or a
fitted twin folder (``siyu twin fit``) under the lab's root. Its policy (``strategies``,
``rules``) is dropped: the lab's control and arms bring theirs. The world's data goes through
the same validation as a config file (:func:`sim.config.parse_config`).

Laws status: :func:`check_laws` replays the behavioural laws (``siyu laws --quick``) on the
world and keeps the outcome under ``<root>/.lab/laws/``, keyed by the world's data, so the page
shows it again for the same world without re-running minutes of simulations.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sim.config import ExperimentConfig, parse_config, read_yaml, resolve_relative_paths
from sim.errors import ConfigError, TwinFolderError
from sim.experiment.spec import is_experiment
from sim.io.atomic import write_text
from sim.lab.paths import confine, relative_to_root
from sim.laws.plan import scaled
from sim.laws.runner import replay_laws, select
from sim.twin.identity import check_twin_folder

DEFAULT, CONFIG, TWIN = "default", "config", "twin"
MIN_USERS, MAX_USERS = 500, 200_000
MIN_DAYS, MAX_DAYS = 14, 365
DEFAULT_USERS, DEFAULT_DAYS = 20_000, 120
DEFAULT_SEED = 20261123
LAB_DIR = ".lab"  # the lab's own bookkeeping under the root (laws outcomes)
MAX_FILES = 500  # files looked at when listing worlds (a root is a project folder, not a disk)


@dataclass(frozen=True)
class WorldChoice:
    """Where a world comes from: ``kind`` default / config / twin and, for the last two, the
    path relative to the lab root."""

    kind: str = DEFAULT
    path: str = ""

    @property
    def key(self) -> str:
        return self.kind if self.kind == DEFAULT else f"{self.kind}:{self.path}"

    @classmethod
    def from_key(cls, key: str) -> WorldChoice:
        kind, _, path = key.partition(":")
        if kind not in (DEFAULT, CONFIG, TWIN) or (kind != DEFAULT and not path):
            raise ConfigError(f"world {key!r}: expected 'default', 'config:PATH' or 'twin:PATH'")
        return cls(kind, path)


def _candidates(root: Path) -> Iterator[Path]:
    seen = 0
    for path in sorted(root.rglob("*")):
        if any(part.startswith(".") for part in path.relative_to(root).parts):
            continue
        seen += 1
        if seen > MAX_FILES:
            return
        yield path


def _is_run_config(path: Path) -> bool:
    try:
        return not is_experiment(read_yaml(path))
    except ConfigError:
        return False


def _is_twin(path: Path) -> bool:
    try:
        check_twin_folder(path)
    except (TwinFolderError, OSError):
        return False
    return True


def list_worlds(root: Path) -> list[WorldChoice]:
    """The default world, then every run config (``*.yaml``) and twin folder under ``root``."""
    found = [WorldChoice()]
    for path in _candidates(root):
        rel = relative_to_root(root, path)
        if path.is_file() and path.suffix in (".yaml", ".yml") and _is_run_config(path):
            found.append(WorldChoice(CONFIG, rel))
        elif path.is_dir() and (path / "twin.json").is_file() and _is_twin(path):
            found.append(WorldChoice(TWIN, rel))
    return found


def _bounded(value: int, low: int, high: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigError(f"{what}: expected a whole number in [{low:,}, {high:,}], got {value!r}")
    return value


def world_data(
    root: Path, choice: WorldChoice, users: int, days: int, seed: int = DEFAULT_SEED
) -> dict[str, Any]:
    """The world's raw config data (no policy), validated like a config file. ``users`` (the
    initial base; ignored by a twin, whose base is its data) and ``days`` are bounded."""
    users = _bounded(users, MIN_USERS, MAX_USERS, "population")
    days = _bounded(days, MIN_DAYS, MAX_DAYS, "horizon (days)")
    if choice.kind == DEFAULT:
        data: dict[str, Any] = {}
        source = "default world"
    elif choice.kind == CONFIG:
        path = confine(root, choice.path)
        data = resolve_relative_paths(read_yaml(path), path)
        if is_experiment(data):
            raise ConfigError(f"{choice.path}: an experiment, not a world (a run config)")
        source = choice.path
    else:
        path = confine(root, choice.path)
        data = {"population": {"twin": str(path)}}
        source = choice.path
    data = {k: v for k, v in data.items() if k not in ("strategies", "rules", "name")}
    population = dict(data.get("population") or {})
    population["initial_users"] = users
    data.update(seed=seed, days=days, population=population)
    parse_config({**data, "name": "world"}, source)
    return data


def world_config(data: dict[str, Any]) -> ExperimentConfig:
    """The validated config of a world's data (no policy)."""
    return parse_config({**data, "name": "world"}, "world")


def expected_users(config: ExperimentConfig) -> int:
    """Initial users plus the expected arrivals over the horizon (referrals not counted)."""
    per_day = sum(config.population.arrivals_per_day.values())
    return int(round(config.population.initial_users + config.days * per_day))


def summary(config: ExperimentConfig, choice: WorldChoice) -> list[tuple[str, str]]:
    """(label key, value) rows describing the world; labels are :mod:`sim.lab.i18n` keys."""
    twin = config.population.twin
    per_day = sum(config.population.arrivals_per_day.values())
    rows = [
        ("world.source", choice.path or "—"),
        ("world.initial_users", "twin" if twin else f"{config.population.initial_users:,}"),
        ("world.arrivals", f"{per_day:,.0f}"),
        ("world.days", f"{config.days}"),
        ("world.expected_users", f"{expected_users(config):,}"),
        ("world.seed", f"{config.seed}"),
    ]
    if twin:
        rows.append(("world.twin", Path(twin).name))
    if config.churn_model:
        rows.append(("world.churn_model", Path(config.churn_model).name))
    return rows


# --------------------------------------------------------------------------- laws
def laws_key(data: dict[str, Any]) -> str:
    """A short hash of a world's data: the file name of its laws outcome."""
    text = json.dumps(data, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def laws_path(root: Path, data: dict[str, Any]) -> Path:
    return root / LAB_DIR / "laws" / f"{laws_key(data)}.json"


def read_laws(root: Path, data: dict[str, Any]) -> dict[str, Any] | None:
    """The stored laws outcome of this world, or None when never checked."""
    path = laws_path(root, data)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None


def check_laws(root: Path, data: dict[str, Any], only: list[str] | None = None) -> dict[str, Any]:
    """Replay the laws (quick mode: strategies at their defaults) on the world, one process,
    and store the outcome: ``{"passed", "held", "total", "laws": [...]}``."""
    config = scaled(world_config(data))
    outcomes = replay_laws(config, select(only), workers=1, progress=False,
                           source="siyu lab", quick=True)  # fmt: skip
    result = {
        "passed": all(o.passed for o in outcomes),
        "held": sum(o.passed for o in outcomes),
        "total": len(outcomes),
        "laws": [o.as_dict() for o in outcomes],
    }
    write_text(laws_path(root, data), json.dumps(result, indent=2, ensure_ascii=False))
    return result
