"""Run folders: write a finished run atomically, recognise complete runs and load them back.

A run is a folder (see DESIGN.md point 7)::

    runs/<name>/
        manifest.json      written last: config, seed, versions, timings, and the file list
        daily.parquet      one Parquet file per table
        users.parquet
        ...
        plots/*.png

Everything is written into a hidden sibling ``.<name>.tmp-<random>`` in the same parent folder
and only then renamed into place, so ``out_dir`` either does not exist or holds a complete run;
a reader never sees a half-written result. ``manifest.json`` lists every file with its sha256
and size and ends with ``"complete": true``; :func:`is_complete_run` checks exactly that.

Tables are written with fixed Parquet settings and no pandas index, so identical frames give
byte-identical files (the same seed gives the same bytes).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from sim.errors import OutputExists, OutputRefused, RunFolderError
from sim.io.atomic import (
    PLOTS_DIR,
    arrow_table,
    file_entry,
    sha256_file,
    to_json,
    write_arrow,
)
from sim.io.folders import (
    FOREIGN,
    OURS,
    finish_folder,
    folder_state,
    publish_folder,
    read_json_object,
    write_folder_atomically,
)
from sim.io.folders import completeness_problem as _folder_problem
from sim.io.ownership import FOLDER, claim_output

MANIFEST_NAME = "manifest.json"
RUN_FORMAT = "siyu-run/1"


class RunFolderExists(RunFolderError, FileExistsError):
    """``out_dir`` already holds a siyu run and overwriting was not asked for."""


class NotARunFolder(RunFolderError):
    """``out_dir`` exists but is not a siyu run (a file, or a folder with other content)."""


class IncompleteRun(RunFolderError):
    """A folder that should hold a run lacks a complete, consistent manifest."""


# --------------------------------------------------------------------------- inspecting folders


def _read_manifest(path: Path) -> dict | None:
    """The parsed manifest of ``path``, or None if it is missing or not a JSON object."""
    return read_json_object(path / MANIFEST_NAME)


def completeness_problem(path: Path | str, *, verify: bool = False) -> str | None:
    """Why ``path`` is not a complete run, or None if it is one.

    Complete means: ``manifest.json`` exists and parses, has ``"complete": true``, and every file
    it lists lies inside the folder and exists with the listed size; with ``verify`` (as
    :func:`load_run` does) every file's sha256 matches the manifest too.
    """
    return _folder_problem(Path(path), MANIFEST_NAME, verify=verify)


def is_complete_run(path: Path | str) -> bool:
    """True if ``path`` holds a complete run (see :func:`completeness_problem`)."""
    return completeness_problem(path) is None


def _looks_like_run(path: Path) -> bool:
    """A complete run, or a folder whose manifest says it was written by this module."""
    if is_complete_run(path):
        return True
    manifest = _read_manifest(path)
    return manifest is not None and manifest.get("format") == RUN_FORMAT


def _classify(out_dir: Path) -> str:
    """The :func:`~sim.io.folders.folder_state` of ``out_dir``, a run counting as ours."""
    return folder_state(out_dir, _looks_like_run)


def check_writable(
    out_dir: Path | str, overwrite: bool = False, inputs: Iterable[Path | str | None] = ()
) -> None:
    """Raise if :func:`write_run` could not publish to ``out_dir``; call before simulating.

    Raises :class:`RunFolderExists` for an existing run without ``overwrite`` and
    :class:`NotARunFolder` for anything that is not a siyu run (never replaced, whatever
    ``overwrite`` says) or that holds one of ``inputs``. A missing or empty folder is fine.
    The rule is :func:`sim.io.ownership.claim_output`'s (which also cleans stale temp folders).
    """
    out_dir = Path(out_dir)
    try:
        claim_output(out_dir, inputs=inputs, overwrite=overwrite, kind=FOLDER,
                     is_ours=_looks_like_run, what="siyu run")  # fmt: skip
    except OutputExists:
        pass  # said below, with whether the run is complete
    except OutputRefused as exc:
        raise NotARunFolder(str(exc)) from exc
    kind = _classify(out_dir)
    if kind == FOREIGN:
        what = "a file or link" if not out_dir.is_dir() or out_dir.is_symlink() else "a folder"
        raise NotARunFolder(
            f"{out_dir} exists and is {what} that is not a siyu run (no valid {MANIFEST_NAME}); "
            "refusing to replace it. Choose a different --out."
        )
    if kind == OURS and not overwrite:
        state = "a complete" if is_complete_run(out_dir) else "an incomplete"
        raise RunFolderExists(
            f"{out_dir} already holds {state} siyu run; use --overwrite or a different --out."
        )
    parent = out_dir.absolute().parent
    if parent.exists() and not parent.is_dir():
        raise NotARunFolder(f"{parent} is not a directory")


# --------------------------------------------------------------------------- writing


def _check_table_name(name: str) -> None:
    ok = name and name[0] not in "._" and all(c.isalnum() or c in "_-." for c in name)
    if not ok or name == Path(MANIFEST_NAME).stem or name == PLOTS_DIR:
        raise ValueError(f"invalid table name {name!r}: use letters, digits, '_', '-', '.'")


def _check_frame(name: str, frame: pd.DataFrame) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"table {name!r} is a {type(frame).__name__}, not a pandas DataFrame")
    if any(n is not None for n in frame.index.names):
        raise ValueError(
            f"table {name!r} has a named index {list(frame.index.names)} that would be dropped; "
            "call reset_index() first"
        )


def _write_contents(
    tmp: Path,
    tables: Mapping[str, pd.DataFrame],
    manifest: Mapping[str, Any],
    plots: Callable[[Path], list[str]] | None,
) -> None:
    table_info = {name: {"file": f"{name}.parquet", "rows": len(frame)}
                  for name, frame in tables.items()}  # fmt: skip
    # the tables are written on a second thread while the plots are drawn: Arrow's Parquet
    # writer, fsync and sha256 release the GIL, so on two cores the two overlap (~2 s at a
    # million users). The frames are turned into (immutable) Arrow tables here: pandas is read
    # by one thread only
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="siyu-parquet") as writer:
        jobs = {
            info["file"]: writer.submit(_write_file, arrow_table(tables[name]), tmp / info["file"])
            for name, info in table_info.items()
        }
        plot_names = _draw_plots(tmp, plots)
        written = {name: job.result() for name, job in jobs.items()}
    described = {
        **manifest,
        "format": RUN_FORMAT,
        "tables": table_info,
        "plots": sorted(plot_names),
    }
    finish_folder(tmp, MANIFEST_NAME, described, known=written)


def _write_file(table: pa.Table, path: Path) -> dict[str, Any]:
    """Write one table and return its file entry (fsynced and hashed while still cached)."""
    write_arrow(table, path)
    return file_entry(path)


def _draw_plots(tmp: Path, plots: Callable[[Path], list[str]] | None) -> list[str]:
    """Run ``plots`` on ``tmp/plots``; the written files, relative to ``tmp``."""
    if plots is None:
        return []
    plot_dir = tmp / PLOTS_DIR
    plot_dir.mkdir()
    names = []
    for produced in plots(plot_dir) or []:
        p = Path(produced)
        inside = p.is_absolute() and p.is_relative_to(tmp)
        names.append(p.relative_to(tmp).as_posix() if inside else f"{PLOTS_DIR}/{p.name}")
    return names


def _publish(tmp: Path, out_dir: Path, overwrite: bool) -> None:
    """Move the finished ``tmp`` to ``out_dir``; never leaves ``out_dir`` half-written."""
    check_writable(out_dir, overwrite)  # again: something may have appeared meanwhile

    def appeared() -> RunFolderExists:
        return RunFolderExists(
            f"{out_dir} appeared while the run was being written; "
            "use --overwrite or a different --out."
        )

    publish_folder(tmp, out_dir, _classify(out_dir), appeared)


def write_run(
    out_dir: Path | str,
    tables: Mapping[str, pd.DataFrame],
    manifest: dict,
    plots: Callable[[Path], list[str]] | None = None,
    overwrite: bool = False,
) -> Path:
    """Write a run folder atomically and return its path.

    Parameters
    ----------
    out_dir
        Target folder. Must be missing, empty, or (with ``overwrite``) an earlier siyu run.
    tables
        Table name -> frame; each becomes ``<name>.parquet`` (the index is not stored).
    manifest
        JSON-serialisable run description (config, seed, versions, timings...). Not modified;
        the written copy gains ``format``, ``tables``, ``plots``, ``files`` and ``complete``.
    plots
        Optional callable given the (temporary) ``plots/`` folder; returns the files it wrote.
    overwrite
        Replace an existing siyu run. Folders that are not siyu runs are never replaced.

    On any error the temporary folder is removed and an existing ``out_dir`` is left untouched.
    """
    out_dir = Path(out_dir).absolute()
    check_writable(out_dir, overwrite)
    for name, frame in tables.items():
        _check_table_name(name)
        _check_frame(name, frame)
    to_json(manifest)  # fail now, not after the expensive part, if it cannot be stored
    return write_folder_atomically(
        out_dir,
        fill=lambda tmp: _write_contents(tmp, tables, manifest, plots),
        publish=lambda tmp: _publish(tmp, out_dir, overwrite),
    )


# --------------------------------------------------------------------------- reading


class _LazyTables(Mapping[str, pd.DataFrame]):
    """Read-only mapping view of a run's tables that loads each one on first access."""

    def __init__(self, run: RunFolder) -> None:
        self._run = run

    def __getitem__(self, name: str) -> pd.DataFrame:
        return self._run.table(name)

    def __iter__(self) -> Iterator[str]:
        return iter(self._run.table_names)

    def __len__(self) -> int:
        return len(self._run.table_names)


@dataclass
class RunFolder:
    """A complete run on disk: its manifest and lazily loaded tables.

    ``table(name)`` reads ``<name>.parquet`` on first use and caches the frame (treat it as
    read-only); ``tables`` is a mapping view usable wherever a dict of frames is expected.
    """

    path: Path
    manifest: dict
    _cache: dict[str, pd.DataFrame] = field(default_factory=dict, repr=False, compare=False)

    @property
    def table_names(self) -> list[str]:
        listed = self.manifest.get("tables")
        if isinstance(listed, dict):
            return sorted(listed)
        files = self.manifest.get("files", {})
        return sorted(Path(f).stem for f in files if "/" not in f and f.endswith(".parquet"))

    @property
    def tables(self) -> Mapping[str, pd.DataFrame]:
        return _LazyTables(self)

    def table(self, name: str) -> pd.DataFrame:
        """The table ``name`` as a DataFrame (KeyError naming the available tables if unknown)."""
        if name not in self._cache:
            if name not in self.table_names:
                raise KeyError(f"run {self.path} has no table {name!r}; has {self.table_names}")
            self._cache[name] = pq.read_table(self.path / f"{name}.parquet").to_pandas()
        return self._cache[name]

    def verify(self) -> list[str]:
        """Recompute every listed file's sha256; returns the problems found (empty if none)."""
        problems = []
        for rel, info in self.manifest.get("files", {}).items():
            target = self.path / rel
            if not target.is_file():
                problems.append(f"{rel}: missing")
            elif sha256_file(target) != info.get("sha256"):
                problems.append(f"{rel}: sha256 differs from the manifest")
        return problems


def load_run(path: Path | str) -> RunFolder:
    """Open a complete run folder whose files all have the sha256 its manifest recorded;
    raises :class:`IncompleteRun` saying what is wrong (naming a changed file) otherwise."""
    path = Path(path)
    problem = completeness_problem(path, verify=True)
    if problem is not None:
        raise IncompleteRun(f"{path} is not a complete siyu run: {problem}")
    manifest = _read_manifest(path)
    assert manifest is not None  # guaranteed by completeness_problem
    return RunFolder(path=path, manifest=manifest)
