"""Run folders: atomic publication, refusal to clobber, deterministic bytes, completeness checks."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
import pytest

import sim.runs.folder as runfolder
from sim.runs.folder import (
    IncompleteRun,
    NotARunFolder,
    RunFolderExists,
    check_writable,
    is_complete_run,
    load_run,
    write_run,
)

STAGES = ["potential", "new", "core", "dormant", "churned"]


def make_frames(seed: int = 0, n: int = 200) -> dict[str, pd.DataFrame]:
    """Small frames with the dtypes a run carries: int32/int64, float32 with NaN, category, bool."""
    rng = np.random.default_rng(seed)
    income = rng.lognormal(9, 0.5, n).astype(np.float32)
    income[3] = np.nan
    users = pd.DataFrame(
        {
            "user_id": rng.permutation(n).astype(np.int64) * 3,
            "join_day": rng.integers(-100, 30, n).astype(np.int32),
            "channel": pd.Categorical(rng.choice(["ads", "organic"], n)),
            "final_stage": pd.Categorical(rng.choice(STAGES[:3], n), categories=STAGES),
            "income": income,
            "churned": rng.random(n) < 0.3,
        }
    )
    daily = pd.DataFrame(
        {
            "day": np.arange(30, dtype=np.int32),
            "revenue": rng.uniform(0, 1000, 30),
            "active": rng.integers(0, 100, 30),
        }
    )
    return {"daily": daily, "users": users}


def write_png(plot_dir):
    path = plot_dir / "a.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    return [str(path)]


def snapshot(root) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def siblings(tmp_path) -> list[str]:
    return sorted(p.name for p in tmp_path.iterdir())


def boom(_plot_dir):
    raise RuntimeError("plotting failed")


@pytest.fixture
def frames():
    return make_frames()


@pytest.fixture
def earlier_run(tmp_path, frames):
    out = write_run(tmp_path / "run", frames, {"seed": 1}, plots=write_png)
    return out, snapshot(out)


# --------------------------------------------------------------------------- a good write


def test_write_and_load_round_trip(tmp_path, frames):
    out = write_run(tmp_path / "run", frames, {"seed": 7, "config": {"days": 30}}, plots=write_png)
    assert out == tmp_path / "run" and is_complete_run(out)
    run = load_run(out)
    assert run.manifest["seed"] == 7 and run.manifest["complete"] is True
    assert run.table_names == ["daily", "users"]
    for name, frame in frames.items():
        pd.testing.assert_frame_equal(run.table(name), frame)
        assert run.tables[name] is run.table(name)  # loaded once, then cached
    assert run.verify() == []
    assert siblings(tmp_path) == ["run"]  # no temp folder left behind


def test_manifest_lists_every_file_with_hash_and_size(tmp_path, frames):
    given = {"seed": np.int64(3), "timings": {"total_s": 1.5}}
    out = write_run(tmp_path / "run", frames, given, plots=write_png)
    text = (out / "manifest.json").read_text(encoding="utf-8")
    manifest = json.loads(text)
    assert text == json.dumps(manifest, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
    files = {p for p in snapshot(out) if p != "manifest.json"}
    assert set(manifest["files"]) == files == {"daily.parquet", "users.parquet", "plots/a.png"}
    for rel, info in manifest["files"].items():
        data = (out / rel).read_bytes()
        assert info == {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
    assert manifest["seed"] == 3 and manifest["plots"] == ["plots/a.png"]
    assert manifest["tables"]["users"]["rows"] == len(frames["users"])
    assert given == {"seed": np.int64(3), "timings": {"total_s": 1.5}}  # caller's dict untouched


def test_identical_frames_give_identical_parquet_bytes(tmp_path, frames):
    a = write_run(tmp_path / "a", frames, {})
    b = write_run(tmp_path / "b", {k: v.copy(deep=True) for k, v in make_frames().items()}, {})
    for name in ("daily.parquet", "users.parquet"):
        assert (a / name).read_bytes() == (b / name).read_bytes()
    assert load_run(a).manifest["files"] == load_run(b).manifest["files"]
    c = write_run(tmp_path / "c", make_frames(seed=1), {})
    assert (c / "users.parquet").read_bytes() != (a / "users.parquet").read_bytes()


def test_an_empty_existing_folder_is_filled(tmp_path, frames):
    (tmp_path / "run").mkdir()
    assert is_complete_run(write_run(tmp_path / "run", frames, {}))


def test_parent_folders_are_created(tmp_path, frames):
    assert is_complete_run(write_run(tmp_path / "runs" / "deep" / "x", frames, {}))


# --------------------------------------------------------------------------- atomicity


def test_failure_in_plots_leaves_nothing(tmp_path, frames):
    with pytest.raises(RuntimeError, match="plotting failed"):
        write_run(tmp_path / "run", frames, {}, plots=boom)
    assert siblings(tmp_path) == []


def test_interrupt_leaves_nothing(tmp_path, frames):
    def interrupted(_plot_dir):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_run(tmp_path / "run", frames, {}, plots=interrupted)
    assert siblings(tmp_path) == []


def test_failed_overwrite_keeps_the_earlier_run_byte_for_byte(tmp_path, earlier_run):
    out, before = earlier_run
    with pytest.raises(RuntimeError):
        write_run(out, make_frames(seed=5), {"seed": 2}, plots=boom, overwrite=True)
    assert snapshot(out) == before
    assert siblings(tmp_path) == ["run"]


def test_unwritable_table_keeps_the_earlier_run(tmp_path, earlier_run):
    out, before = earlier_run
    bad = {"daily": make_frames()["daily"], "users": pd.DataFrame({"x": [object(), 1]})}
    with pytest.raises(Exception):  # noqa: B017 - whatever pyarrow raises, it must propagate
        write_run(out, bad, {}, overwrite=True)
    assert snapshot(out) == before
    assert siblings(tmp_path) == ["run"]


def test_disk_error_half_way_through_a_table(tmp_path, earlier_run, monkeypatch):
    out, before = earlier_run
    real_write = runfolder.write_arrow

    def failing_write(table, path):
        if path.name == "users.parquet":
            path.write_bytes(b"PAR1 partial")
            raise OSError(28, "No space left on device")
        real_write(table, path)

    monkeypatch.setattr(runfolder, "write_arrow", failing_write)
    with pytest.raises(OSError, match="No space"):
        write_run(out, make_frames(seed=9), {}, overwrite=True)
    assert snapshot(out) == before
    assert siblings(tmp_path) == ["run"]


def test_unserialisable_manifest_fails_before_writing(tmp_path, frames):
    calls = []
    with pytest.raises(TypeError, match="not JSON serialisable"):
        write_run(tmp_path / "run", frames, {"x": object()}, plots=calls.append)
    assert calls == [] and siblings(tmp_path) == []


# --------------------------------------------------------------------------- refusing


def test_refuses_to_overwrite_a_complete_run_before_doing_any_work(tmp_path, earlier_run):
    out, before = earlier_run
    with pytest.raises(RunFolderExists) as err:
        check_writable(out)
    assert str(out) in str(err.value) and "use --overwrite or a different --out" in str(err.value)
    calls = []
    with pytest.raises(RunFolderExists):
        write_run(out, make_frames(seed=2), {}, plots=calls.append)
    assert calls == []  # refused before the (expensive) plots were made
    assert snapshot(out) == before and siblings(tmp_path) == ["run"]


def test_overwrite_replaces_the_earlier_run(tmp_path, earlier_run):
    out, before = earlier_run
    check_writable(out, overwrite=True)
    write_run(out, make_frames(seed=4), {"seed": 2}, overwrite=True)
    run = load_run(out)
    assert run.manifest["seed"] == 2 and "plots/a.png" not in run.manifest["files"]
    pd.testing.assert_frame_equal(run.table("users"), make_frames(seed=4)["users"])
    assert snapshot(out) != before
    assert siblings(tmp_path) == ["run"]  # no trash or temp folder left


def test_an_incomplete_siyu_run_needs_overwrite_too(tmp_path, earlier_run):
    out, _ = earlier_run
    (out / "users.parquet").unlink()
    assert not is_complete_run(out)
    with pytest.raises(RunFolderExists, match="incomplete"):
        write_run(out, make_frames(), {})
    assert is_complete_run(write_run(out, make_frames(), {}, overwrite=True))


@pytest.mark.parametrize("overwrite", [False, True])
def test_never_replaces_a_folder_that_is_not_a_run(tmp_path, frames, overwrite):
    target = tmp_path / "mydata"
    target.mkdir()
    (target / "thesis.docx").write_bytes(b"precious")
    with pytest.raises(NotARunFolder, match="not a siyu run"):
        check_writable(target, overwrite)
    with pytest.raises(NotARunFolder):
        write_run(target, frames, {}, overwrite=overwrite)
    assert snapshot(target) == {"thesis.docx": b"precious"}
    assert siblings(tmp_path) == ["mydata"]


@pytest.mark.parametrize("overwrite", [False, True])
def test_never_replaces_a_file(tmp_path, frames, overwrite):
    target = tmp_path / "run"
    target.write_text("not a folder")
    with pytest.raises(NotARunFolder):
        write_run(target, frames, {}, overwrite=overwrite)
    assert target.read_text() == "not a folder" and siblings(tmp_path) == ["run"]


def test_a_run_that_appears_while_writing_is_not_clobbered(tmp_path, frames):
    out = tmp_path / "run"

    def competitor_finishes_first(plot_dir):
        write_run(out, make_frames(seed=8), {"seed": "competitor"})
        return []

    with pytest.raises(RunFolderExists):
        write_run(out, frames, {"seed": "mine"}, plots=competitor_finishes_first)
    assert load_run(out).manifest["seed"] == "competitor"
    assert siblings(tmp_path) == ["run"]


@pytest.mark.parametrize("name", ["../escape", "a/b", "", ".hidden", "manifest", "plots"])
def test_bad_table_names_are_rejected(tmp_path, frames, name):
    with pytest.raises(ValueError, match="invalid table name"):
        write_run(tmp_path / "run", {name: frames["daily"]}, {})
    assert siblings(tmp_path) == []


def test_a_named_index_is_not_silently_dropped(tmp_path, frames):
    with pytest.raises(ValueError, match="reset_index"):
        write_run(tmp_path / "run", {"daily": frames["daily"].set_index("day")}, {})


# --------------------------------------------------------------------------- completeness


def test_missing_listed_file_makes_a_run_incomplete(earlier_run):
    out, _ = earlier_run
    (out / "plots" / "a.png").unlink()
    assert not is_complete_run(out)
    with pytest.raises(IncompleteRun, match="plots/a.png is missing"):
        load_run(out)


def test_truncated_file_makes_a_run_incomplete(earlier_run):
    out, _ = earlier_run
    data = (out / "users.parquet").read_bytes()
    (out / "users.parquet").write_bytes(data[: len(data) // 2])
    assert not is_complete_run(out)
    with pytest.raises(IncompleteRun, match="users.parquet"):
        load_run(out)


def test_manifest_problems_make_a_run_incomplete(tmp_path, earlier_run):
    out, _ = earlier_run
    manifest = json.loads((out / "manifest.json").read_text())
    (out / "manifest.json").write_text(json.dumps({**manifest, "complete": False}))
    assert not is_complete_run(out)
    (out / "manifest.json").write_text("{ truncated")
    assert not is_complete_run(out)
    (out / "manifest.json").unlink()
    assert not is_complete_run(out)
    assert not is_complete_run(tmp_path / "nowhere")


def test_verify_detects_changed_bytes_of_the_same_size(earlier_run):
    out, _ = earlier_run
    path = out / "daily.parquet"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    assert is_complete_run(out)  # sizes still match: only the hash can tell
    with pytest.raises(IncompleteRun, match="daily.parquet was changed"):
        load_run(out)  # loading recomputes every hash and names the changed file


def test_unknown_table_name_says_what_exists(earlier_run):
    out, _ = earlier_run
    with pytest.raises(KeyError, match="daily"):
        load_run(out).table("nope")
