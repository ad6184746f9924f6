"""What a run folder's manifest records beyond the tables: config, seed, versions, revision."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sim.config import ExperimentConfig
from sim.io.atomic import file_digest
from sim.provenance import code_revision, package_versions
from sim.twin.folder import TWIN_JSON


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
