"""Atomic writing: tables with pinned Parquet settings, fsync, hashed file lists, hidden
temporary siblings, the one single-file writer (:func:`replace_file`) and the swap that replaces
a folder in one rename.

Every file the project publishes on its own (outputs, reports, model files) goes through
:func:`replace_file`; run, experiment, twin and backtest folders are published with these
helpers through :mod:`sim.io.folders`: everything is written into a hidden sibling
``.<name>.tmp-<random>`` and renamed into place, so a reader never sees a half-written result.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

HASH_CHUNK = 1 << 20
PLOTS_DIR = "plots"  # the sub-folder of a run or twin folder that holds its figures

# Pinned so that the bytes depend only on the data (and the pyarrow version), never on defaults.
PARQUET_OPTIONS: dict[str, Any] = {
    "compression": "zstd",
    "compression_level": 3,
    "use_dictionary": True,
    "write_statistics": True,
    "row_group_size": 1 << 20,
    "version": "2.6",
    "data_page_version": "1.0",
    "store_schema": True,
}


def is_safe_relpath(rel: str) -> bool:
    parts = Path(rel).parts
    return bool(parts) and not Path(rel).is_absolute() and ".." not in parts


def json_default(obj: Any) -> Any:
    """JSON for the few non-JSON types a manifest tends to carry (numpy scalars, paths, sets)."""
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, set | frozenset):
        return sorted(obj)
    raise TypeError(f"manifest value of type {type(obj).__name__} is not JSON serialisable")


def strict_json(value: Any) -> Any:
    """``value`` with NaN and infinities replaced by None and numpy scalars by Python numbers,
    recursively through dicts, lists and tuples, so that it dumps as strict JSON."""
    if isinstance(value, dict):
        return {k: strict_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [strict_json(v) for v in value]
    if isinstance(value, float | np.floating) and not np.isfinite(value):
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value


def to_json(manifest: Mapping[str, Any]) -> str:
    text = json.dumps(manifest, sort_keys=True, indent=2, ensure_ascii=False, default=json_default)
    return text + "\n"


def write_table(frame: pd.DataFrame, path: Path) -> None:
    """Write one frame as Parquet with pinned settings and no index (deterministic bytes)."""
    write_arrow(arrow_table(frame), path)


def arrow_table(frame: pd.DataFrame) -> pa.Table:
    """``frame`` as the Arrow table :func:`write_table` writes (no index; numeric columns are
    not copied). Arrow tables are immutable: safe to write from another thread."""
    import pyarrow as pa  # lazy: pyarrow is heavy, and validate writes no table

    return pa.Table.from_pandas(frame, preserve_index=False)


def write_arrow(table: pa.Table, path: Path) -> None:
    """Write an :func:`arrow_table` as Parquet with the pinned settings (releases the GIL)."""
    import pyarrow as pa  # lazy: see arrow_table
    import pyarrow.parquet as pq

    pq.write_table(table, path, **PARQUET_OPTIONS)
    # the writer's encoding buffers (~60 MB for a million users) would otherwise stay with
    # Arrow's allocator while the next table is written and the plots are drawn
    pa.default_memory_pool().release_unused()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError:  # some filesystems cannot fsync a directory; nothing to do then
        pass
    finally:
        os.close(fd)


def list_files(root: Path) -> list[str]:
    """Relative POSIX paths of every regular file under ``root``, sorted."""
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def file_entry(path: Path) -> dict[str, Any]:
    """sha256 and size of ``path``, fsynced first: its line in a folder's file list."""
    fsync(path)
    return {"sha256": sha256_file(path), "size": path.stat().st_size}


def file_entries(
    root: Path, skip: str, known: Mapping[str, dict[str, Any]] | None = None
) -> dict[str, dict[str, Any]]:
    """:func:`file_entry` of every file under ``root`` but ``skip``; those in ``known`` (relative
    path -> entry, made by whoever wrote the file, right after writing it) are not read again."""
    known = known or {}
    return {
        rel: known[rel] if rel in known else file_entry(root / rel)
        for rel in list_files(root)
        if rel != skip
    }


def file_digest(path: Path | str) -> dict[str, Any]:
    """Path, size and sha256 of an input file (recorded in manifests and twin folders)."""
    path = Path(path)
    return {"path": str(path), "size": path.stat().st_size, "sha256": sha256_file(path)}


def replace_file(path: Path | str, write: Callable[[Path], object]) -> Path:
    """Write ``path`` atomically: ``write`` fills a hidden temporary sibling, which is fsynced
    and renamed over ``path`` (its folder is created if needed). On failure the temporary file
    is removed and an earlier ``path`` is left as it was. Returns ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{secrets.token_hex(6)}")
    try:
        write(tmp)
        fsync(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    fsync(path.parent)
    return path


def write_text(path: Path | str, text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically (see :func:`replace_file`)."""
    return replace_file(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def make_tmp_dir(parent: Path, name: str) -> Path:
    """A fresh hidden sibling of the target (``os.mkdir`` honours the umask, unlike mkdtemp)."""
    parent.mkdir(parents=True, exist_ok=True)
    for _ in range(100):
        tmp = parent / f".{name}.tmp-{secrets.token_hex(6)}"
        try:
            os.mkdir(tmp)
        except FileExistsError:
            continue
        return tmp
    raise OSError(f"could not create a temporary folder in {parent}")


def swap_in(new: Path, dest: Path) -> None:
    """Replace the folder ``dest`` by the finished folder ``new`` (a sibling): ``dest`` is
    renamed aside, ``new`` renamed into place (``dest`` is restored if that fails), and the old
    folder deleted — a failure to delete only warns, the new folder is already in place."""
    trash = dest.parent / f".{dest.name}.trash-{secrets.token_hex(6)}"
    os.rename(dest, trash)
    try:
        os.rename(new, dest)
    except BaseException:
        os.rename(trash, dest)
        raise
    try:
        shutil.rmtree(trash)
    except OSError as exc:
        warnings.warn(f"could not fully delete the replaced folder {trash}: {exc}", stacklevel=2)
