"""Stopping an experiment early: Ctrl-C leaves it 'interrupted' (never 'running') and resumable;
an experiment that never started leaves no folder; local workers end with their parent, so a
SIGKILLed experiment leaves no process writing more runs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from sim.config import read_yaml
from sim.errors import ConfigError
from sim.experiment import executor
from sim.experiment.executor import Execution, execute_experiment
from sim.experiment.plan import plan_cells
from sim.experiment.spec import read_experiment_spec
from sim.runs.folder import RunFolderExists

YAML = """
name: tiny
seed: 11
days: {days}
replications: {replications}
population:
  initial_users: {users}
  arrivals_per_day: {{organic: 4, ads: 4}}
control:
  strategies: [{{name: blanket}}]
arms:
  tiered:
    strategies: [{{name: tiered_content}}]
analysis: {{uplift: false}}
"""


def _config(tmp_path: Path, days: int = 20, replications: int = 2, users: int = 400) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(YAML.format(days=days, replications=replications, users=users))
    return path


def _execute(config: Path, out: Path, **kwargs):
    spec = read_experiment_spec(config)
    cells = plan_cells(spec, read_yaml(config), str(config))
    return execute_experiment(spec, cells, str(config), out, Execution(progress=False, **kwargs))


def _status(out: Path) -> str:
    return json.loads((out / "experiment.json").read_text(encoding="utf-8"))["status"]


def test_ctrl_c_leaves_an_interrupted_experiment_that_resumes(tmp_path, monkeypatch) -> None:
    config, out = _config(tmp_path), tmp_path / "exp"
    real, calls = executor.execute_task, []

    def interrupted_after_one(*args, **kwargs):
        calls.append(1)
        if len(calls) > 1:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(executor, "execute_task", interrupted_after_one)
    with pytest.raises(KeyboardInterrupt):
        _execute(config, out, workers=1)
    assert _status(out) == "interrupted"
    index = pd.read_parquet(out / "index.parquet")
    assert sorted(index["status"]) == ["done", "pending", "pending", "pending"]
    with pytest.raises(RunFolderExists, match="--resume"):
        _execute(config, out, workers=1)  # a plain rerun says how to continue

    monkeypatch.setattr(executor, "execute_task", real)
    result = _execute(config, out, workers=1, resume=True)
    assert (result.ran, result.skipped, result.failed) == (3, 1, 0)
    assert _status(out) == "complete"


def test_an_experiment_that_never_started_leaves_no_folder(tmp_path, monkeypatch) -> None:
    config, out = _config(tmp_path), tmp_path / "exp"

    def unreachable(*_args, **_kwargs):
        raise ConfigError("--scheduler tcp://nowhere:8786: cannot connect")

    monkeypatch.setattr(executor, "_run_dask", unreachable)
    with pytest.raises(ConfigError):
        _execute(config, out, scheduler="tcp://nowhere:8786")
    assert not out.exists()
    monkeypatch.undo()
    assert _execute(config, out, workers=1).failed == 0  # a plain rerun is not refused


def _alive(pids: list[int]) -> list[int]:
    """The pids still running (zombies, which write nothing, do not count)."""
    alive = []
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            alive.append(pid)
    return alive


def _group(pgid: int) -> list[int]:
    found = subprocess.run(["pgrep", "-g", str(pgid)], capture_output=True, text=True).stdout
    return [int(p) for p in found.split()]


def _runs(out: Path) -> set[str]:
    return {p.relative_to(out).as_posix() for p in out.glob("cells/*/*/rep-*")}


def _start(config: Path, out: Path, *extra: str) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "sim.cli.main", "run", str(config), "--out", str(out),
           "--quiet", "--no-analysis", *extra]  # fmt: skip
    return subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        start_new_session=True,  # its own process group: its workers are found and cleaned up
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip


def _wait_for_first_run(out: Path, proc: subprocess.Popen) -> None:
    deadline = time.time() + 300
    while not _runs(out) and proc.poll() is None and time.time() < deadline:
        time.sleep(0.1)
    assert proc.poll() is None, "the experiment should still be running"


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_a_sigkilled_experiment_leaves_no_worker_and_no_new_run(tmp_path) -> None:
    config, out = _config(tmp_path, days=40, replications=6, users=2000), tmp_path / "exp"
    proc = _start(config, out, "--workers", "2")
    try:
        _wait_for_first_run(out, proc)
        helpers = [p for p in _group(proc.pid) if p != proc.pid]
        assert helpers, "two workers should have been started"
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        deadline = time.time() + 20
        while _alive(helpers) and time.time() < deadline:
            time.sleep(0.2)
        assert _alive(helpers) == []
        after_kill = _runs(out)
        time.sleep(3)
        assert _runs(out) == after_kill and len(after_kill) < 12
    finally:
        for pid in _alive(_group(proc.pid)):
            os.kill(pid, signal.SIGKILL)


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_ctrl_c_stops_local_workers_and_the_experiment_resumes(tmp_path) -> None:
    config, out = _config(tmp_path, days=40, replications=6, users=2000), tmp_path / "exp"
    proc = _start(config, out, "--workers", "2")
    try:
        _wait_for_first_run(out, proc)
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 130 and "--resume" in err and "Traceback" not in err
        assert _status(out) == "interrupted" and len(_runs(out)) < 12
        assert _alive(_group(proc.pid)) == []
    finally:
        for pid in _alive(_group(proc.pid)):
            os.kill(pid, signal.SIGKILL)
    resumed = subprocess.run([sys.executable, "-m", "sim.cli.main", "run", str(config), "--out",
                              str(out), "--quiet", "--no-analysis", "--workers", "2", "--resume"],
                             capture_output=True, text=True, timeout=600)  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr
    assert _status(out) == "complete" and len(_runs(out)) == 12
