"""Running experiments: backends give identical tables, resume loses and repeats nothing, a
failed run is recorded and the others go on, existing results are never clobbered."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from sim.config import read_yaml
from sim.experiment.executor import Execution, execute_experiment
from sim.experiment.plan import plan_cells, replication_seed
from sim.experiment.spec import read_experiment_spec
from sim.runs.folder import RunFolderError, load_run

YAML = """
name: tiny
seed: 11
days: 30
replications: 2
population:
  initial_users: 800
  arrivals_per_day: {organic: 4, ads: 4}
control:
  strategies: [{name: blanket}]
arms:
  tiered:
    strategies: [{name: tiered_content}]
analysis: {uplift: false}
"""


def _config(tmp_path: Path, text: str = YAML, name: str = "tiny.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _execute(config: Path, out: Path, **kwargs):
    spec = read_experiment_spec(config)
    cells = plan_cells(spec, read_yaml(config), str(config))
    return execute_experiment(spec, cells, str(config), out, Execution(progress=False, **kwargs))


def _tables(folder: Path) -> dict[str, dict[str, pd.DataFrame]]:
    index = pd.read_parquet(folder / "index.parquet")
    return {
        row.run_id: {
            name: load_run(folder / row.path).table(name)
            for name in ("users", "daily", "purchases")
        }
        for row in index.itertuples()
    }


def _assert_same_runs(a: Path, b: Path) -> None:
    ta, tb = _tables(a), _tables(b)
    assert ta.keys() == tb.keys()
    for run_id in ta:
        for name in ta[run_id]:
            pd.testing.assert_frame_equal(
                ta[run_id][name], tb[run_id][name], obj=f"{run_id}/{name}"
            )


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("exp")
    config = _config(root)
    result = _execute(config, root / "ref", workers=1)
    assert result.failed == 0 and result.ran == 4
    return config, root / "ref"


def test_index_lists_every_run_done(reference):
    _, folder = reference
    index = pd.read_parquet(folder / "index.parquet")
    assert len(index) == 4
    assert set(index["status"]) == {"done"}
    assert index.groupby("replication")["seed"].nunique().eq(1).all()
    assert (folder / "index.csv").exists()


@pytest.mark.slow
def test_local_processes_give_identical_tables(reference, tmp_path):
    config, ref = reference
    _execute(config, tmp_path / "procs", workers=2)
    _assert_same_runs(ref, tmp_path / "procs")


@pytest.mark.slow
def test_dask_local_cluster_gives_identical_tables(reference, tmp_path):
    distributed = pytest.importorskip("distributed", reason="the test extra installs dask")
    config, ref = reference
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:  # fmt: skip
        result = _execute(config, tmp_path / "dask", scheduler=cluster.scheduler_address)
    assert result.failed == 0
    _assert_same_runs(ref, tmp_path / "dask")


def test_existing_experiment_is_not_clobbered(reference, tmp_path):
    config, ref = reference
    out = tmp_path / "again"
    _execute(config, out, workers=1)
    before = (out / "experiment.json").read_text()
    with pytest.raises(RunFolderError, match="--resume"):
        _execute(config, out, workers=1)
    assert (out / "experiment.json").read_text() == before
    changed = _config(tmp_path, YAML.replace("days: 30", "days: 25"), "changed.yaml")
    with pytest.raises(RunFolderError, match="different config"):
        _execute(changed, out, workers=1, resume=True)
    _assert_same_runs(ref, out)


def test_overwrite_replaces_only_when_the_new_experiment_finished(reference, tmp_path):
    config, _ = reference
    out = tmp_path / "ow"
    _execute(config, out, workers=1)
    changed = _config(tmp_path, YAML.replace("days: 30", "days: 25"), "changed.yaml")
    result = _execute(changed, out, workers=1, overwrite=True)
    assert result.ran == 4
    assert load_run(out / "cells/base/control/rep-0").manifest["days"] == 25
    assert not list(tmp_path.glob(".ow.*"))


def test_failed_run_is_recorded_and_the_others_go_on(reference, tmp_path, monkeypatch):
    config, _ = reference
    from strategies import registry
    from strategies.tiered_content import TieredContent

    class Exploding(TieredContent):
        def on_day(self, ops):
            if ops.day == 3 and ops.seed % 2 == 0:  # fails in some replications only
                raise RuntimeError("boom on day 3")
            super().on_day(ops)

    monkeypatch.setitem(registry.BUILTIN, "tiered_content", Exploding)
    spec = read_experiment_spec(config)
    seeds = {r: replication_seed(spec.seed, r) for r in range(2)}
    result = _execute(config, tmp_path / "fail", workers=1)
    index = result.index.set_index("run_id")
    expected_failures = [f"base/tiered/rep-{r}" for r, s in seeds.items() if s % 2 == 0]
    assert result.failed == len(expected_failures)
    for run_id in index.index:
        failed = run_id in expected_failures
        assert (index.loc[run_id, "status"] == "failed") == failed
        if failed:
            assert "boom on day 3" in index.loc[run_id, "error"]
            assert (tmp_path / "fail/errors" / (run_id.replace("/", "_") + ".txt")).exists()
    manifest = (tmp_path / "fail/experiment.json").read_text()
    assert ("complete-with-failures" in manifest) == bool(expected_failures)


@pytest.mark.slow
def test_resume_after_a_killed_sweep_loses_nothing_and_repeats_nothing(reference, tmp_path):
    config = _config(
        tmp_path,
        YAML.replace("replications: 2", "replications: 3")
        + (
            "sweep:\n  method: grid\n  parameters:\n"
            "    arms.tiered.strategies.0.params.every_days: [3, 7]\n"
        ),
        "sweep.yaml",
    )
    out = tmp_path / "sweep"
    cmd = [sys.executable, "-m", "sim.cli.main", "run", str(config), "--out", str(out),
           "--workers", "1", "--quiet", "--no-analysis"]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)  # fmt: skip
    deadline = time.time() + 300
    done: list[str] = []
    while time.time() < deadline:
        try:
            index = pd.read_parquet(out / "index.parquet")
            done = list(index.loc[index["status"] == "done", "run_id"])
        except (OSError, ValueError):
            pass
        if len(done) >= 3:
            break
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert 3 <= len(done) < 12, "the experiment should have been killed part-way"
    stamps = {r: (out / "cells" / r / "manifest.json").stat().st_mtime_ns for r in done}

    rc = subprocess.run([*cmd, "--resume"], capture_output=True, text=True, timeout=300)
    assert rc.returncode == 0, rc.stderr
    index = pd.read_parquet(out / "index.parquet")
    assert len(index) == 12 and set(index["status"]) == {"done"}
    for r, stamp in stamps.items():  # finished runs were not redone
        assert (out / "cells" / r / "manifest.json").stat().st_mtime_ns == stamp
    assert not list((out / "cells").glob("*/*/.rep-*"))  # no half-written leftovers

    fresh = tmp_path / "fresh"
    _execute(config, fresh, workers=1)
    _assert_same_runs(fresh, out)
