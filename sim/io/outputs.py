"""Single-file table outputs — ``.csv`` or ``.parquet`` — checked before the work that produces
them and written atomically (:func:`sim.io.atomic.replace_file`), so a failed
or interrupted write never leaves half a file and an earlier result is replaced only on request.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from sim.io.atomic import replace_file, write_table

TABLE_SUFFIXES = (".csv", ".parquet")


def check_table_path(path: Path, what: str = "the output") -> None:
    """ValueError unless ``path`` ends in one of :data:`TABLE_SUFFIXES`."""
    if Path(path).suffix.lower() not in TABLE_SUFFIXES:
        raise ValueError(f"{path}: {what} must end in .csv or .parquet")


def check_new_files(paths: Iterable[Path], overwrite: bool) -> None:
    """FileExistsError if one of ``paths`` exists and may not (or, not being a file, cannot)
    be replaced."""
    for path in map(Path, paths):
        if path.exists() and not overwrite:
            raise FileExistsError(f"{path} already exists; use --overwrite or another --out")
        if path.exists() and not path.is_file():
            raise FileExistsError(f"{path} exists and is not a file; refusing to replace it")


def write_frame(frame: pd.DataFrame, path: Path, **csv_options: Any) -> None:
    """Write a frame atomically: ``.parquet`` with the run folders' pinned settings (same frame,
    same bytes), anything else as CSV without the index, with ``csv_options`` for ``to_csv``."""
    path = Path(path)
    if path.suffix.lower() == ".parquet":
        replace_file(path, lambda tmp: write_table(frame, tmp))
    else:
        replace_file(path, lambda tmp: frame.to_csv(tmp, index=False, **csv_options))
