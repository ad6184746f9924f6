"""The experiment folder: its manifest (``experiment.json``) and index of runs (``index.parquet``).

Layout of an experiment folder::

    experiment.json          resolved config, cells, arms, seeds, status (running | complete)
    index.parquet, index.csv one row per run: cell, arm, replication, seed, status, error, path
    cells/<cell>/<arm>/rep-<r>/   one standard run folder per world (see sim/runs/folder.py)
    analysis/                comparison tables and plots (sim/experiment/analysis.py)

Both files are replaced atomically (write to a temporary file, then rename), so a reader never
sees half a file and a crash never corrupts the previous version.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any

import pandas as pd

from sim.experiment.plan import Cell, RunTask
from sim.experiment.spec import ExperimentSpec
from sim.io.atomic import write_text
from sim.io.outputs import write_frame
from sim.provenance import code_revision, package_versions

EXPERIMENT_FILE = "experiment.json"
INDEX_FILE = "index.parquet"
INDEX_CSV = "index.csv"
FORMAT = "siyu-experiment/1"

# keys that change what a run produces; the others (replications, description, analysis) may
# change on --resume without invalidating the runs already made
_RESULT_KEYS_EXCLUDED = ("replications", "description", "analysis")


def config_hash(spec: ExperimentSpec) -> str:
    data = spec.model_dump(mode="json", exclude=set(_RESULT_KEYS_EXCLUDED))
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def experiment_manifest(
    spec: ExperimentSpec, cells: list[Cell], source: str, status: str, started: float
) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "name": spec.name,
        "status": status,
        "config_source": source,
        "config_hash": config_hash(spec),
        "config": spec.model_dump(mode="json"),
        "arms": spec.arm_names,
        "labels": {arm: spec.label(arm) for arm in spec.arm_names},
        "replications": spec.replications,
        "cells": [{"cell": c.cell_id, "values": c.values} for c in cells],
        "versions": package_versions(),
        "code": code_revision(),
        "started": time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(started)),
        "elapsed_s": round(time.time() - started, 3),
    }


def write_manifest(folder: Path, manifest: dict[str, Any]) -> None:
    write_text(folder / EXPERIMENT_FILE, json.dumps(manifest, indent=2, default=str))


def read_manifest(folder: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((folder / EXPERIMENT_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("format") == FORMAT else None


def index_frame(
    tasks: list[RunTask], outcomes: dict[str, dict], labels: dict[str, str]
) -> pd.DataFrame:
    """One row per planned run with its status (pending until it has an outcome)."""
    rows = []
    for task in tasks:
        done = outcomes.get(task.run_id, {})
        row = {
            "run_id": task.run_id,
            "cell": task.cell_id,
            "arm": task.arm,
            "label": labels.get(task.arm, task.arm),
            "replication": task.replication,
            "seed": task.seed,
            "status": done.get("status", "pending"),
            "elapsed_s": done.get("elapsed_s", float("nan")),
            "error": done.get("error", ""),
            "path": task.relpath,
        }
        row.update({f"param:{k}": v for k, v in task.values.items()})
        rows.append(row)
    frame = pd.DataFrame(rows)
    return frame.astype({"seed": "uint64"}) if len(frame) else frame


def write_index(folder: Path, frame: pd.DataFrame) -> None:
    parquet_ready = frame.copy()
    for col in parquet_ready.columns:
        if col.startswith("param:") and parquet_ready[col].dtype == object:
            parquet_ready[col] = parquet_ready[col].map(json.dumps)
    write_frame(parquet_ready, folder / INDEX_FILE)
    write_frame(frame, folder / INDEX_CSV)


def read_index(folder: Path) -> pd.DataFrame:
    return pd.read_parquet(folder / INDEX_FILE)
