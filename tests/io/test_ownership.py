"""The one output rule (sim.io.ownership.claim_output): never an input, never an existing file or
foreign folder without --overwrite, stale temporary siblings of crashed writes cleaned."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pandas as pd
import pytest

from sim.errors import OutputExists, OutputRefused
from sim.io.outputs import check_new_files
from sim.io.ownership import FILE, FOLDER, PROCESS_STARTED, claim_output, stale_siblings


def _file(path: Path, text: str = "keep me\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_an_input_of_the_same_command_is_never_an_output(tmp_path) -> None:
    events = _file(tmp_path / "ev.csv")
    for overwrite in (False, True):
        with pytest.raises(OutputRefused, match="input of this command"):
            claim_output(events, inputs=[events], overwrite=overwrite, flag="--quarantine")
    assert events.read_text() == "keep me\n"


def test_an_input_reached_another_way_is_recognised(tmp_path) -> None:
    events = _file(tmp_path / "ev.csv")
    os.link(events, tmp_path / "hard.csv")
    (tmp_path / "soft.csv").symlink_to(events)
    for alias in ("hard.csv", "soft.csv", "sub/../ev.csv"):
        with pytest.raises(OutputRefused, match="input"):
            claim_output(tmp_path / alias, inputs=[events], overwrite=True)


def test_a_folder_output_may_not_hold_an_input(tmp_path) -> None:
    config = _file(tmp_path / "out" / "config.yaml")
    with pytest.raises(OutputRefused, match="input"):
        claim_output(tmp_path / "out", inputs=[config], kind=FOLDER, overwrite=True,
                     is_ours=lambda _p: True)  # fmt: skip


def test_an_existing_file_is_replaced_only_with_overwrite(tmp_path) -> None:
    notes = _file(tmp_path / "notes.csv")
    with pytest.raises(OutputExists, match="--overwrite") as caught:
        claim_output(notes)
    assert isinstance(caught.value, FileExistsError)
    assert claim_output(notes, overwrite=True) == notes


def test_kinds_are_not_confused(tmp_path) -> None:
    folder = tmp_path / "dir"
    folder.mkdir()
    with pytest.raises(OutputRefused, match="is a folder"):
        claim_output(folder, kind=FILE, overwrite=True, flag="--quarantine")
    with pytest.raises(OutputRefused, match="not a folder"):
        claim_output(_file(tmp_path / "f"), kind=FOLDER, overwrite=True)


def test_a_foreign_folder_is_refused_even_with_overwrite(tmp_path) -> None:
    out = tmp_path / "out"
    _file(out / "mine.txt")
    with pytest.raises(OutputRefused, match="holds other files"):
        claim_output(out, kind=FOLDER, overwrite=True, is_ours=lambda _p: False)
    assert (out / "mine.txt").read_text() == "keep me\n"


def test_an_earlier_output_of_the_kind_needs_overwrite_and_an_empty_folder_does_not(tmp_path):
    out = tmp_path / "out"
    _file(out / "result.parquet")
    with pytest.raises(OutputExists):
        claim_output(out, kind=FOLDER, is_ours=lambda _p: True)
    claim_output(out, kind=FOLDER, overwrite=True, is_ours=lambda _p: True)
    empty = tmp_path / "empty"
    empty.mkdir()
    claim_output(empty, kind=FOLDER)


def test_stale_temporaries_of_crashed_writes_are_cleaned_fresh_ones_kept(tmp_path) -> None:
    target = tmp_path / "run"
    old = time.time() - 3600
    assert old < PROCESS_STARTED
    stale_dir = tmp_path / ".run.tmp-0123ab"
    _file(stale_dir / "daily.parquet")
    stale_file = _file(tmp_path / ".run.trash-99ff00")
    for p in (stale_dir / "daily.parquet", stale_dir, stale_file):
        os.utime(p, (old, old))
    live = _file(tmp_path / ".run.tmp-livewriter")  # written by a process running now
    other = _file(tmp_path / ".other.tmp-0123ab")  # another target's
    os.utime(other, (old, old))
    assert set(stale_siblings(target)) == {stale_dir, stale_file}
    claim_output(target, kind=FOLDER)
    assert not stale_dir.exists() and not stale_file.exists()
    assert live.exists() and other.exists()


def test_table_outputs_follow_the_rule(tmp_path) -> None:
    table = tmp_path / "in.csv"
    pd.DataFrame({"a": [1]}).to_csv(table, index=False)
    with pytest.raises(OutputRefused, match="input"):
        check_new_files([table], overwrite=True, inputs=[table])
    with pytest.raises(FileExistsError):
        check_new_files([table], overwrite=False)
