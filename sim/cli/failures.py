"""The command line's one error boundary: an expected failure becomes one line and an exit code.

=====================================================  ====
failure                                                exit
=====================================================  ====
wrong input: the project's error classes (config, rules, event log, twin or run folder,
refused destination), ``ValueError``/``KeyError`` from validation, a missing file, a file
that is not UTF-8, a corrupt Parquet file                2
the machine: disk full (ENOSPC), read-only file system (EROFS), permission denied
(EACCES/EPERM), other ``OSError``                        1
Ctrl-C (``KeyboardInterrupt``)                           130
=====================================================  ====

Each message names the file (the exception's, else the command's input files) and the fix.
The traceback is printed only with ``--debug``; anything not listed here is a bug and keeps
its traceback.
"""

from __future__ import annotations

import argparse
import errno
import re
import sys
import traceback
from collections.abc import Callable
from pathlib import Path

from sim.errors import (
    ChurnModelError,
    ConfigError,
    EventFileError,
    FitError,
    OutputRefused,
    RunFolderError,
    TwinFolderError,
)

EXIT_FAILURE, EXIT_USER_ERROR, EXIT_INTERRUPTED = 1, 2, 130
INPUT_ERRORS = (ConfigError, OutputRefused, RunFolderError, TwinFolderError, EventFileError,
                FitError, ChurnModelError, FileExistsError)  # fmt: skip
MISSING_PATH = (FileNotFoundError, IsADirectoryError, NotADirectoryError)
OS_FIXES = {
    errno.ENOSPC: "no space left on the device; free some space or write elsewhere (--out) — "
    "nothing half-written was published and earlier results are intact",
    errno.EROFS: "the file system is read-only; write elsewhere (--out)",
    errno.EACCES: "permission denied; check the permissions or write elsewhere (--out)",
    errno.EPERM: "operation not permitted; check the permissions or write elsewhere (--out)",
}
if hasattr(errno, "EDQUOT"):  # not on every platform
    OS_FIXES[errno.EDQUOT] = "disk quota exceeded; free some space or write elsewhere (--out)"


def _is_arrow_error(exc: BaseException) -> bool:
    """Whether ``exc`` is one of pyarrow's errors. pyarrow is not imported for this (it is heavy
    and ``siyu validate`` never loads it): if it was never loaded, nothing raised its errors."""
    pyarrow = sys.modules.get("pyarrow")
    return pyarrow is not None and isinstance(exc, pyarrow.ArrowException)


def input_files(args: argparse.Namespace) -> list[str]:
    """The existing files among the parsed arguments (named when an error does not say which)."""
    values = [v for v in vars(args).values() if isinstance(v, Path)]
    return [str(v) for v in values if v.is_file()]


def _which(args: argparse.Namespace) -> str:
    files = input_files(args)
    return ", ".join(files) if files else "an input file"


def published_name(filename: str) -> str:
    """The target a hidden temporary sibling ``.NAME.tmp-*`` / ``.NAME.trash-*`` stands for."""
    path = Path(filename)
    match = re.fullmatch(r"\.(.+)\.(?:tmp|trash)-[0-9a-f]+", path.name)
    return str(path.with_name(match.group(1))) if match else filename


def _os_message(exc: OSError) -> str:
    where = published_name(str(exc.filename)) if exc.filename else ""
    fix = OS_FIXES.get(exc.errno or -1)
    if fix is None:
        return f"{where}: {exc.strerror or exc}" if where else str(exc)
    return f"{where}: {fix}" if where else f"{fix} ({exc})"


def describe(exc: BaseException, args: argparse.Namespace) -> tuple[int, str] | None:
    """(exit code, one-line message) for an expected failure, None for a bug."""
    if isinstance(exc, KeyboardInterrupt):
        hint = " Continue an experiment with --resume." if args.command == "run" else ""
        return EXIT_INTERRUPTED, f"interrupted; nothing half-written was published.{hint}"
    if isinstance(exc, UnicodeDecodeError):
        return EXIT_USER_ERROR, (f"{_which(args)}: not {exc.encoding} text ({exc.reason} at "
                                 f"byte {exc.start}); save it as UTF-8")  # fmt: skip
    if _is_arrow_error(exc):  # ArrowInvalid & co; Arrow's I/O errors are OSError
        return EXIT_USER_ERROR, (f"{_which(args)}: cannot be read ({exc}); the file is corrupt, "
                                 "truncated or not of its suffix's format")  # fmt: skip
    if isinstance(exc, INPUT_ERRORS):
        return EXIT_USER_ERROR, str(exc)
    if isinstance(exc, MISSING_PATH):
        return EXIT_USER_ERROR, f"{exc.filename or exc}: {exc.strerror or 'not found'}"
    if isinstance(exc, OSError):
        return EXIT_FAILURE, _os_message(exc)
    if isinstance(exc, KeyError):
        return EXIT_USER_ERROR, str(exc.args[0]) if exc.args else repr(exc)
    if isinstance(exc, ValueError):
        return EXIT_USER_ERROR, str(exc)
    return None


def guarded(call: Callable[[], int], args: argparse.Namespace, debug: bool = False) -> int:
    """``call()``'s exit status, or an expected failure's (one line on stderr; the traceback
    too with ``debug``). A bug propagates with its traceback."""
    try:
        return call()
    except (Exception, KeyboardInterrupt) as exc:
        described = describe(exc, args)
        if described is None:
            raise
        if debug:
            traceback.print_exc()
        code, message = described
        print(f"error: {message}", file=sys.stderr)
        return code
