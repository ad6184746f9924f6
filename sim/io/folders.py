"""Atomic result folders: the one writer behind run, twin, backtest and experiment-analysis folders.

A result folder is written into a hidden sibling ``.<name>.tmp-<random>`` (:func:`make_tmp_dir`)
and only then moved into place by :func:`publish_folder`, so the target either does not exist or
holds a finished folder. Its description file (``manifest.json``, ``twin.json``, …) is written
last by :func:`finish_folder`: it lists every other file with its sha256 and size and ends with
``"complete": true``. :func:`completeness_problem` checks exactly that, and refuses listed paths
that are absolute or climb out of the folder.

What differs between folder kinds — which file describes them, how an existing folder is
recognised as one of theirs, their error classes and messages — stays with each kind
(:mod:`sim.runs.folder`, :mod:`sim.twin.folder`); the mechanics live here once.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from sim.io.atomic import (
    file_entries,
    fsync,
    is_safe_relpath,
    make_tmp_dir,
    sha256_file,
    swap_in,
    to_json,
)

MISSING, EMPTY, OURS, FOREIGN = "missing", "empty", "ours", "foreign"
META_SHA256 = "meta_sha256"  # a description file's checksum of its own other entries
"""The states of a target folder (see :func:`folder_state`)."""


def read_json_object(path: Path) -> dict | None:
    """The JSON object in ``path``, or None if it is missing, unreadable or not an object."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def folder_state(path: Path, is_ours: Callable[[Path], bool]) -> str:
    """:data:`MISSING`, :data:`EMPTY`, :data:`OURS` (a non-empty folder ``is_ours`` accepts) or
    :data:`FOREIGN` (anything else: a file, a link, a folder with other content)."""
    if path.is_symlink() or (path.exists() and not path.is_dir()):
        return FOREIGN
    if not path.exists():
        return MISSING
    if not any(path.iterdir()):
        return EMPTY
    return OURS if is_ours(path) else FOREIGN


def listed_files_problem(path: Path, meta_name: str, files: Any) -> str | None:
    """Why the ``files`` listing of ``path / meta_name`` does not match the folder, or None.

    Every entry must be a relative path inside the folder (not absolute, no ``..``) naming an
    existing file of the listed size (hashes are not recomputed here).
    """
    if not isinstance(files, dict):
        return f"{path / meta_name} has no 'files' listing"
    for rel, info in files.items():
        if not is_safe_relpath(rel) or not isinstance(info, dict):
            return f"bad file entry {rel!r} in {path / meta_name}"
        target = path / rel
        if not target.is_file():
            return f"listed file {rel} is missing"
        size = target.stat().st_size
        if size != info.get("size"):
            return f"listed file {rel} has {size} bytes, {meta_name} says {info.get('size')}"
    return None


def changed_file_problem(path: Path, meta_name: str, files: Mapping[str, Any]) -> str | None:
    """The first listed file whose sha256 differs from the one ``meta_name`` recorded (each file
    read once), as a message naming it; None if every file is as written."""
    for rel, info in files.items():
        if sha256_file(path / rel) != info.get("sha256"):
            return (
                f"{path / rel} was changed after {meta_name} was written (its sha256 differs "
                f"from the one recorded); restore the file or write the folder again"
            )
    return None


def completeness_problem(
    path: Path, meta_name: str, fmt: str | None = None, *, verify: bool = False
) -> str | None:
    """Why ``path`` is not a complete folder described by ``meta_name``, or None if it is one.

    Complete: ``meta_name`` parses as a JSON object, has ``"format": fmt`` (when ``fmt`` is
    given) and ``"complete": true``, and its file listing passes :func:`listed_files_problem`.
    With ``verify`` every listed file's sha256 is recomputed too (:func:`changed_file_problem`);
    without, only sizes are compared (cheap, for recognising a folder).
    """
    if not path.is_dir():
        return f"{path} is not a directory"
    meta = read_json_object(path / meta_name)
    if meta is None:
        return f"{path / meta_name} is missing or is not a JSON object"
    if fmt is not None and meta.get("format") != fmt:
        return f"{path / meta_name} does not say format: {fmt}"
    if meta.get("complete") is not True:
        return f"{path / meta_name} does not say complete: true"
    problem = listed_files_problem(path, meta_name, meta.get("files"))
    if problem is None and verify:
        problem = meta_problem(path, meta_name, meta) or changed_file_problem(
            path, meta_name, meta["files"]
        )
    return problem


def meta_digest(meta: Mapping[str, Any]) -> str:
    """sha256 of a description's canonical JSON without its own :data:`META_SHA256` entry (the
    same after a JSON round trip, so an edited value is caught whatever the formatting)."""
    body = {k: v for k, v in meta.items() if k != META_SHA256}
    return hashlib.sha256(to_json(body).encode("utf-8")).hexdigest()


def meta_problem(path: Path, meta_name: str, meta: Mapping[str, Any]) -> str | None:
    """Why the description ``meta`` (read from ``path / meta_name``) was edited since it was
    written, or None. Folders written before the checksum existed carry none and pass."""
    recorded = meta.get(META_SHA256)
    if recorded is None or recorded == meta_digest(meta):
        return None
    return (
        f"{path / meta_name} was edited after it was written (its content no longer matches its "
        f"{META_SHA256}); restore the file or write the folder again"
    )


def finish_folder(
    tmp: Path,
    meta_name: str,
    meta: Mapping[str, Any],
    known: Mapping[str, dict[str, Any]] | None = None,
) -> None:
    """Write ``meta_name`` last: ``meta`` plus the hashed list of every other file,
    ``"complete": true`` and the checksum of all that (:func:`meta_digest`); all fsynced.
    ``known``: entries already made for some files (:func:`~sim.io.atomic.file_entries`)."""
    full = {**meta, "files": file_entries(tmp, skip=meta_name, known=known), "complete": True}
    full[META_SHA256] = meta_digest(full)
    (tmp / meta_name).write_text(to_json(full), encoding="utf-8")
    fsync(tmp / meta_name)
    fsync(tmp)


def publish_folder(tmp: Path, out_dir: Path, state: str, appeared: Callable[[], Exception]) -> None:
    """Move the finished ``tmp`` to ``out_dir``, whose :func:`folder_state` is ``state``.

    An empty folder is replaced, one of ours swapped out (:func:`swap_in`); anything else must
    not exist. If ``out_dir`` appears between the check and the rename, ``appeared()`` is raised.
    """
    if state == FOREIGN:
        raise ValueError(f"refusing to publish over {out_dir}: it is not a folder of this kind")
    if state == EMPTY:
        out_dir.rmdir()
    if state == OURS:
        swap_in(tmp, out_dir)
    else:
        try:
            os.rename(tmp, out_dir)
        except OSError as exc:
            if out_dir.exists():
                raise appeared() from exc
            raise
    fsync(out_dir.parent)


def write_folder_atomically(
    out_dir: Path, fill: Callable[[Path], None], publish: Callable[[Path], None]
) -> Path:
    """Make a hidden sibling of ``out_dir``, ``fill`` it, then ``publish`` it (e.g. with
    :func:`publish_folder`). On any error the sibling is removed and ``out_dir`` left as it was."""
    tmp = make_tmp_dir(out_dir.parent, out_dir.name)
    try:
        fill(tmp)
        publish(tmp)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir
