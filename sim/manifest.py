"""What a run folder's manifest records beyond the tables: config, seed, versions, revision."""

from __future__ import annotations

import platform
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from sim.config import ExperimentConfig
from sim.runfolder import file_digest
from sim.twin.folder import TWIN_JSON

PACKAGES = ("siyu", "numpy", "numba", "pandas", "pyarrow", "simpy", "pydantic", "lifelines")


def package_versions() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "not installed"
    return found


def code_revision() -> dict[str, Any]:
    """The git commit of the code that ran, and whether the work tree had changes."""
    root = Path(__file__).resolve().parent.parent
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=5
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root, capture_output=True, text=True, timeout=5,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return {"commit": "unknown", "dirty": None}
    if rev.returncode != 0:
        return {"commit": "unknown", "dirty": None}
    return {"commit": rev.stdout.strip(), "dirty": bool(dirty.stdout.strip())}


def input_digests(config: ExperimentConfig) -> dict[str, Any]:
    """The files a config reads besides itself, so a manifest pins exactly what the run read:
    the churn model, and a twin folder's ``twin.json`` (which lists every file of the twin with
    its size and sha256). Both were read when the config was checked, so they exist."""
    inputs: dict[str, Any] = {}
    if config.churn_model is not None:
        inputs["churn_model"] = file_digest(config.churn_model)
    if config.population.twin is not None:
        inputs["twin"] = file_digest(Path(config.population.twin) / TWIN_JSON)
    return inputs


def build_manifest(
    config: ExperimentConfig, source: str | None, timings: dict[str, float]
) -> dict[str, Any]:
    return {
        "name": config.name,
        "seed": config.seed,
        "days": config.days,
        "config_source": source,
        "config": config.model_dump(mode="json"),
        "inputs": input_digests(config),
        "versions": package_versions(),
        "code": code_revision(),
        "timings": {k: round(v, 3) for k, v in timings.items()},
    }
