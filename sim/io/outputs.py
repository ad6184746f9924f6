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
from sim.io.ownership import FILE, claim_output

TABLE_SUFFIXES = (".csv", ".parquet")


def check_table_path(path: Path, what: str = "the output") -> None:
    """ValueError unless ``path`` ends in one of :data:`TABLE_SUFFIXES`."""
    if Path(path).suffix.lower() not in TABLE_SUFFIXES:
        raise ValueError(f"{path}: {what} must end in .csv or .parquet")


def check_new_files(
    paths: Iterable[Path], overwrite: bool, inputs: Iterable[Path | str | None] = (),
    flag: str = "--out",
) -> None:  # fmt: skip
    """:func:`~sim.io.ownership.claim_output` each of ``paths`` as a file: refused if it is one
    of ``inputs``, exists without ``overwrite``, or is not a file (OutputExists is a
    FileExistsError)."""
    inputs = list(inputs)
    for path in map(Path, paths):
        claim_output(path, inputs=inputs, overwrite=overwrite, kind=FILE, flag=flag)


def write_frame(frame: pd.DataFrame, path: Path, **csv_options: Any) -> None:
    """Write a frame atomically: ``.parquet`` with the run folders' pinned settings (same frame,
    same bytes), anything else as CSV without the index, with ``csv_options`` for ``to_csv``."""
    path = Path(path)
    if path.suffix.lower() == ".parquet":
        replace_file(path, lambda tmp: write_table(frame, tmp))
    else:
        replace_file(path, lambda tmp: frame.to_csv(tmp, index=False, **csv_options))
