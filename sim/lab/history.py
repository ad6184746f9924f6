"""Past experiments under the lab's root: every folder with an ``experiment.json`` (written by
the lab or by ``siyu run``), newest first, to reopen as they were."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sim.experiment.analysis import ANALYSIS_DIR
from sim.experiment.index import EXPERIMENT_FILE, read_manifest
from sim.lab.paths import relative_to_root

MAX_DEPTH = 3


@dataclass(frozen=True)
class PastExperiment:
    path: str  # relative to the root
    name: str
    status: str
    started: str
    arms: tuple[str, ...]
    analysed: bool
    source: str


def list_experiments(root: Path) -> list[PastExperiment]:
    """Experiments up to three folders deep under ``root``, newest first."""
    found = []
    base = root.resolve()
    for depth in range(1, MAX_DEPTH + 1):
        for manifest_path in base.glob("/".join(["*"] * depth) + f"/{EXPERIMENT_FILE}"):
            folder = manifest_path.parent
            if any(p.startswith(".") for p in folder.relative_to(base).parts):
                continue
            manifest = read_manifest(folder)
            if manifest is None:
                continue
            labels = manifest.get("labels") or {}
            found.append(PastExperiment(
                relative_to_root(base, folder), str(manifest.get("name", folder.name)),
                str(manifest.get("status", "?")), str(manifest.get("started", "")),
                tuple(labels.get(a, a) for a in manifest.get("arms", [])),
                (folder / ANALYSIS_DIR / "comparison.parquet").is_file(),
                str(manifest.get("config_source", "")),
            ))  # fmt: skip
    return sorted(found, key=lambda e: e.started, reverse=True)
