"""Running an experiment from the page, exactly as ``siyu run`` does, in a background thread.

The experiment's YAML is written first (``<root>/experiments/NAME.yaml``) and then run from that
file through the project's own executor (:func:`sim.experiment.plan.plan_experiment_file`,
:func:`sim.experiment.executor.execute_experiment` with local processes, then
:func:`sim.experiment.analysis.analyse_experiment`) into ``<root>/runs/NAME/``: the folder is
the one ``siyu run NAME.yaml --out runs/NAME`` writes, and the YAML reproduces it. The page
polls :meth:`LabJob.snapshot` (days simulated per run, runs finished) and may :meth:`cancel`.

Nothing is lost by a failure: a name whose folder exists is refused before anything is written,
a run that fails is recorded with its error while the others go on, and an error anywhere is
kept on the job for the page to show.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sim.errors import ConfigError
from sim.experiment.analysis import analyse_experiment
from sim.experiment.executor import Cancelled, Execution, execute_experiment
from sim.experiment.plan import plan_experiment_file, plan_runs
from sim.io.atomic import write_text
from sim.lab.paths import check_name, confine

EXPERIMENTS_DIR, RUNS_DIR = "experiments", "runs"
QUEUED, RUNNING, ANALYSING, DONE, FAILED, CANCELLED = (
    "queued", "running", "analysing", "done", "failed", "cancelled",
)  # fmt: skip
_log = logging.getLogger(__name__)


def experiment_paths(root: Path, name: str) -> tuple[Path, Path]:
    """(YAML file, experiment folder) of an experiment named ``name`` under ``root``."""
    check_name(name)
    return (confine(root, f"{EXPERIMENTS_DIR}/{name}.yaml"), confine(root, f"{RUNS_DIR}/{name}"))


def claim(root: Path, name: str, yaml_text: str) -> tuple[Path, Path]:
    """Write the experiment's YAML for a new experiment; ConfigError if ``name`` already has a
    folder (an earlier experiment is never replaced from the page)."""
    yaml_path, folder = experiment_paths(root, name)
    if folder.exists():
        raise ConfigError(f"an experiment named {name!r} exists already ({folder}); "
                          "choose another name (history keeps the earlier one)")  # fmt: skip
    write_text(yaml_path, yaml_text)
    return yaml_path, folder


@dataclass
class RunProgress:
    run_id: str
    arm: str
    replication: int
    days: int = 0
    status: str = QUEUED
    error: str = ""


@dataclass
class LabJob:
    """One experiment being run from the page."""

    name: str
    yaml_path: Path
    folder: Path
    workers: int = 2
    state: str = QUEUED
    error: str = ""
    horizon: int = 0
    runs: dict[str, RunProgress] = field(default_factory=dict)
    started: float = field(default_factory=time.time)
    elapsed_s: float = 0.0
    cancel_event: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _thread: threading.Thread | None = None

    def start(self) -> LabJob:
        self._thread = threading.Thread(target=self._work, name=f"lab-{self.name}", daemon=True)
        self._thread.start()
        return self

    def cancel(self) -> None:
        self.cancel_event.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the job ends (tests and scripts); True if it has."""
        if self._thread is not None:
            self._thread.join(timeout)
        return self.finished

    @property
    def finished(self) -> bool:
        return self.state in (DONE, FAILED, CANCELLED)

    def snapshot(self) -> dict[str, Any]:
        """A consistent copy for the page: state, error, overall fraction, runs."""
        with self._lock:
            runs = [RunProgress(**vars(r)) for r in self.runs.values()]
            elapsed = self.elapsed_s if self.finished else time.time() - self.started
        total = max(1, len(runs) * max(self.horizon, 1))
        done_days = sum(self.horizon if r.status in (DONE, FAILED) else r.days for r in runs)
        return {"state": self.state, "error": self.error, "fraction": done_days / total,
                "runs": runs, "elapsed_s": elapsed, "folder": self.folder,
                "finished_runs": sum(r.status in (DONE, FAILED) for r in runs)}  # fmt: skip

    # ------------------------------------------------------------------ the thread
    def _progress(self, run_id: str, days: int) -> None:
        with self._lock:
            run = self.runs.get(run_id)
            if run is not None:
                run.days, run.status = days, RUNNING

    def _run_done(self, outcome: dict[str, Any]) -> None:
        with self._lock:
            run = self.runs.get(outcome["run_id"])
            if run is not None:
                run.status = DONE if outcome["status"] == "done" else FAILED
                run.error = outcome.get("error", "")
                run.days = self.horizon

    def _work(self) -> None:
        try:
            spec, cells = plan_experiment_file(self.yaml_path)
            self.horizon = spec.days
            with self._lock:
                for t in plan_runs(cells, spec.replications, spec.seed):
                    self.runs[t.run_id] = RunProgress(t.run_id, t.arm, t.replication)
            self.state = RUNNING
            execution = Execution(workers=self.workers, progress=False,
                                  on_progress=self._progress, on_run_done=self._run_done,
                                  cancel=self.cancel_event)  # fmt: skip
            outcome = execute_experiment(spec, cells, str(self.yaml_path), self.folder, execution)
            self.state = ANALYSING
            analyse_experiment(self.folder)
            if outcome.failed:
                self.error = f"{outcome.failed} run(s) failed; their errors are in the run table"
            self.state = DONE
        except Cancelled:
            self.state = CANCELLED
        except Exception as exc:  # shown on the page; the folder keeps whatever finished
            _log.warning("lab experiment %s failed:\n%s", self.name, traceback.format_exc())
            self.error = f"{type(exc).__name__}: {exc}" if not isinstance(exc, ConfigError) else (
                str(exc))  # fmt: skip
            self.state = FAILED
        finally:
            self.elapsed_s = time.time() - self.started


def start_job(root: Path, name: str, yaml_text: str, workers: int = 2) -> LabJob:
    """Write the YAML of a new experiment and start running it."""
    yaml_path, folder = claim(root, name, yaml_text)
    return LabJob(name, yaml_path, folder, workers).start()
