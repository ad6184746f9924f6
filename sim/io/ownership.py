"""One rule for every path the project writes (run, experiment, twin, backtest, forecast,
quarantine, A/A, report, sample log, churn model): :func:`claim_output`.

A destination is refused (:class:`~sim.errors.OutputRefused`, naming the path and the fix) when

- it is one of the command's inputs (the same file, by path or by inode, e.g. through a link);
- it exists and ``overwrite`` was not given;
- it exists and is not of the kind asked for: a folder where a file goes, a file where a folder
  goes, or a folder that ``is_ours`` does not recognise as an earlier output of this kind
  (never replaced, whatever ``overwrite`` says).

Claiming also removes what earlier crashed writes to the same target left behind: hidden
siblings ``.<name>.tmp-*``, ``.<name>.trash-*`` and ``.<name>.staging`` last modified before
this process started (a live writer keeps touching its own temporary files). The write itself
then goes through :func:`sim.io.atomic.replace_file` or :mod:`sim.io.folders`, which are atomic.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from sim.errors import OutputExists, OutputRefused

FILE, FOLDER = "file", "folder"
STALE_PATTERNS = (".{name}.tmp-*", ".{name}.trash-*", ".{name}.staging")
PROCESS_STARTED = time.time()  # temp files older than this belong to an earlier process


def same_path(a: Path, b: Path) -> bool:
    """True if ``a`` and ``b`` name the same file (resolved path, or same inode)."""
    if a.resolve() == b.resolve():
        return True
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def stale_siblings(path: Path, started: float = PROCESS_STARTED) -> list[Path]:
    """Hidden temporary siblings of ``path`` left by writes that died before ``started``."""
    parent = path.parent
    if not parent.is_dir():
        return []
    found = []
    for pattern in STALE_PATTERNS:
        for candidate in parent.glob(pattern.format(name=path.name)):
            try:
                if candidate.lstat().st_mtime < started:
                    found.append(candidate)
            except OSError:
                continue
    return sorted(found)


def remove_stale_siblings(path: Path, started: float = PROCESS_STARTED) -> list[Path]:
    """Delete :func:`stale_siblings` of ``path``; returns what was removed."""
    removed = []
    for stale in stale_siblings(path, started):
        if stale.is_dir() and not stale.is_symlink():
            shutil.rmtree(stale, ignore_errors=True)
        else:
            stale.unlink(missing_ok=True)
        removed.append(stale)
    return removed


def _refuse_inputs(path: Path, inputs: Iterable[Path | str | None], kind: str, flag: str) -> None:
    target = path.resolve()
    for source in inputs:
        if source is None:
            continue
        inside = kind == FOLDER and Path(source).resolve().is_relative_to(target)
        if inside or same_path(path, Path(source)):
            raise OutputRefused(
                f"{path}: {flag} would replace an input of this command ({source}); "
                f"choose another {flag}"
            )


def _refuse_existing(
    path: Path, kind: str, overwrite: bool, is_ours: Callable[[Path], bool], what: str, flag: str
) -> None:
    if not (path.exists() or path.is_symlink()):
        return
    if kind == FILE and (path.is_dir() or not (path.is_file() or path.is_symlink())):
        raise OutputRefused(f"{path} is a folder, not a file; give {flag} a file name")
    if kind == FOLDER and (path.is_symlink() or not path.is_dir()):
        raise OutputRefused(f"{path} exists and is not a folder; choose another {flag}")
    if kind == FOLDER and not any(path.iterdir()):
        return  # an empty folder may always be filled
    if kind == FOLDER and not is_ours(path):
        raise OutputRefused(
            f"{path} exists and is not a {what} (it holds other files); refusing to write into "
            f"it. Choose another {flag}"
        )
    if not overwrite:
        held = f"already holds a {what}" if kind == FOLDER else "already exists"
        raise OutputExists(f"{path} {held}; use --overwrite or another {flag}")


def claim_output(
    path: Path | str,
    *,
    inputs: Iterable[Path | str | None] = (),
    overwrite: bool = False,
    kind: str = FILE,
    is_ours: Callable[[Path], bool] | None = None,
    what: str = "siyu output of this kind",
    flag: str = "--out",
) -> Path:
    """Check that ``path`` may be written by this command (see the module docstring), clean the
    stale temporary siblings of earlier crashed writes to it, and return it.

    ``kind`` is :data:`FILE` or :data:`FOLDER`; for a folder, ``is_ours`` tells an earlier output
    of the same kind (replaceable with ``overwrite``) from anything else (never replaced);
    without it only an empty folder can be written into. ``what`` names the kind and ``flag``
    the option in messages. Raises :class:`~sim.errors.OutputExists` for an earlier output
    without ``overwrite`` and :class:`~sim.errors.OutputRefused` for everything else refused.
    """
    if kind not in (FILE, FOLDER):
        raise ValueError(f"kind must be {FILE!r} or {FOLDER!r}, got {kind!r}")
    path = Path(path)
    _refuse_inputs(path, inputs, kind, flag)
    _refuse_existing(path, kind, overwrite, is_ours or (lambda _p: False), what, flag)
    remove_stale_siblings(path)
    return path
