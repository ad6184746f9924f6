"""Twin folders are recognised as complete only when their file listing stays inside the folder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sim.twin.folder import TWIN_FORMAT, TWIN_JSON, TwinFolderError, check_twin_folder, write_folder


def _small_twin_folder(path: Path) -> Path:
    return write_folder(
        path, meta_name=TWIN_JSON, fmt=TWIN_FORMAT, meta={"note": "test"},
        texts={"fit_report.md": "# report\n"},
    )  # fmt: skip


def _list_instead(folder: Path, listed: str, real: Path) -> None:
    """Rewrite twin.json so that it lists ``listed`` (with ``real``'s size) as its only file."""
    meta = json.loads((folder / TWIN_JSON).read_text(encoding="utf-8"))
    meta["files"] = {listed: {"sha256": "0" * 64, "size": real.stat().st_size}}
    (folder / TWIN_JSON).write_text(json.dumps(meta), encoding="utf-8")


def test_a_freshly_written_twin_folder_is_complete(tmp_path) -> None:
    check_twin_folder(_small_twin_folder(tmp_path / "twin"))


@pytest.mark.parametrize("outside", ["absolute", "parent"])
def test_a_listing_that_points_outside_the_folder_is_not_complete(tmp_path, outside) -> None:
    folder = _small_twin_folder(tmp_path / "twin")
    elsewhere = tmp_path / "elsewhere.md"
    elsewhere.write_text("# report\n", encoding="utf-8")  # exists, with the listed size
    listed = str(elsewhere) if outside == "absolute" else "../elsewhere.md"
    _list_instead(folder, listed, elsewhere)
    with pytest.raises(TwinFolderError, match="not a complete twin folder: bad file entry"):
        check_twin_folder(folder)
