"""Run and twin folders verify every listed file's sha256 on load and name the file that changed
(a same-size edit included); their description file carries a checksum of its own content."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.io.atomic import write_table
from sim.runs.folder import IncompleteRun, is_complete_run, load_run, write_run
from sim.twin.folder import (
    TWIN_FORMAT,
    TWIN_JSON,
    TwinFolderError,
    check_twin_folder,
    load_twin,
    write_folder,
)


def _users(n: int = 500) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    return pd.DataFrame({"user_id": np.arange(n), "p_mean": rng.random(n)})


def _twin(path: Path) -> Path:
    meta = {"calibration_end": "2024-06-30", "model": {"params": {"alpha": 0.5, "beta": 2.0}}}
    texts = {"fit_report.md": "# α = 0.5\n"}
    return write_folder(path, meta_name=TWIN_JSON, fmt=TWIN_FORMAT, meta=meta,
                        tables={"users": _users()}, texts=texts)  # fmt: skip


def _flip_a_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def test_an_edited_value_in_twin_json_is_refused(tmp_path) -> None:
    folder = _twin(tmp_path / "twin")
    meta = json.loads((folder / TWIN_JSON).read_text(encoding="utf-8"))
    meta["model"]["params"]["alpha"] *= 100
    (folder / TWIN_JSON).write_text(json.dumps(meta, indent=2), encoding="utf-8")
    with pytest.raises(TwinFolderError, match="twin.json was edited"):
        load_twin(folder)


def test_a_reformatted_but_unchanged_twin_json_is_not_an_edit(tmp_path) -> None:
    folder = _twin(tmp_path / "twin")
    meta = json.loads((folder / TWIN_JSON).read_text(encoding="utf-8"))
    (folder / TWIN_JSON).write_text(json.dumps(meta), encoding="utf-8")  # other whitespace
    check_twin_folder(folder, verify=True)


def test_a_permuted_users_table_is_refused_naming_it(tmp_path) -> None:
    folder = _twin(tmp_path / "twin")
    users = _users()
    users["p_mean"] = users["p_mean"].sample(frac=1, random_state=1).to_numpy()
    write_table(users, folder / "users.parquet")
    with pytest.raises(TwinFolderError, match="users.parquet"):
        load_twin(folder)


def test_a_same_size_edit_of_the_fit_report_is_refused_naming_it(tmp_path) -> None:
    folder = _twin(tmp_path / "twin")
    report = folder / "fit_report.md"
    report.write_text(report.read_text(encoding="utf-8").replace("0.5", "5.0"), encoding="utf-8")
    with pytest.raises(TwinFolderError, match="fit_report.md was changed"):
        load_twin(folder)


def test_run_folders_verify_every_file_and_their_manifest(tmp_path) -> None:
    out = write_run(tmp_path / "run", {"users": _users(), "daily": _users(30)}, {"seed": 1})
    load_run(out)
    _flip_a_byte(out / "daily.parquet")
    assert is_complete_run(out)  # the cheap check only compares sizes
    with pytest.raises(IncompleteRun, match="daily.parquet was changed"):
        load_run(out)

    again = write_run(tmp_path / "run2", {"users": _users()}, {"seed": 1})
    manifest = json.loads((again / "manifest.json").read_text(encoding="utf-8"))
    manifest["seed"] = 2
    (again / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(IncompleteRun, match="manifest.json was edited"):
        load_run(again)
