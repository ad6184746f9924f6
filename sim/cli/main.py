"""The ``siyu`` command line.

    siyu run CONFIG [--out DIR] [--seed S] [--users N] [--days D] [--overwrite] [--quiet]
             [--workers N | --scheduler ADDRESS] [--resume] [--replications R]   (experiments)
    siyu analyse EXPERIMENT_DIR | compare EXPERIMENT_DIR | report EXPERIMENT_DIR
    siyu aa CONFIG [--repetitions N]
    siyu validate CONFIG
    siyu strategies list
    siyu strategies show NAME
    siyu rules check CONFIG [--seed S] [--users N] [--days D]
    siyu laws CONFIG [--users N] [--days D] [--seed S] [--json]   (exit 1 if a law breaks)

Errors in the user's input (config, flags, destination) print one clear message and exit with
status 2; nothing is written. Other expected failures (disk full, read-only, permissions) exit 1,
Ctrl-C exits 130; ``--debug`` adds the traceback (:mod:`sim.cli.failures`).
Warnings (a library's, translated into the project's words where it
matters, see :class:`sim.errors.SiyuWarning`) print as one ``warning:`` line each; ``--quiet``
hides them with the progress bars. ``rules check`` exits 0 when every rule is clean, 1 when
there are warnings (never fires, overlaps, unaffordable budget, never scheduled) and 2 on errors.

Start-up: this module imports only :mod:`sim.cli.parsers` (argparse) and :mod:`sim.errors`, so
``siyu --help`` answers at once; the module of the command asked for (``args.handler``, e.g.
``sim.cli.twin:run``) is imported by name with :mod:`importlib` when it runs, so each command
pays only for the libraries it uses. That is the one place the project imports a module by name:
every name is a ``sim.cli`` module (the top layer), so no layer or cycle is hidden by it.
"""

from __future__ import annotations

import atexit
import importlib
import os
import sys
import threading
import warnings

from sim.cli.parsers import build_parser


def show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """A warning as one ``warning:`` line on stderr (no source path and line)."""
    print(f"warning: {message}", file=sys.stderr)


def handler_of(spec: str):
    """The function ``"module:function"`` names (a ``sim.cli`` module, imported now)."""
    module, function = spec.split(":")
    return getattr(importlib.import_module(module), function)


def main(argv: list[str] | None = None) -> int:
    """Run ``siyu``: the exit status, with expected failures turned into one line by the one
    error boundary (:mod:`sim.cli.failures`; 2 input, 1 other, 130 Ctrl-C; ``--debug`` anywhere
    on the line adds the traceback)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    args = build_parser().parse_args([a for a in argv if a != "--debug"])
    if getattr(args, "threads", None):  # through the environment, so worker processes see it
        os.environ["SIYU_THREADS"] = str(args.threads)
    # the error boundary knows every layer's error classes, so it too is imported by name
    guarded = handler_of("sim.cli.failures:guarded")

    def call() -> int:
        handler = handler_of(args.handler)
        with warnings.catch_warnings():
            warnings.showwarning = show_warning
            if getattr(args, "quiet", False):
                warnings.simplefilter("ignore")
            return handler(args)

    return guarded(call, args, debug)


def console_main() -> None:
    """The ``siyu`` command (console script and ``python -m sim.cli.main``): :func:`main`, then
    a quick exit.

    After a million-user run, Python's own shutdown (clearing every module's objects: pandas,
    matplotlib, numba) takes ~0.5 s and does nothing a finished command needs. The exit
    handlers that may matter (multiprocessing, dask clients, logging, temporary folders) are
    run, the output is flushed, and the process ends. With another Python thread still alive
    (a command that left one running), it exits the usual way, which waits for that thread.
    """
    code = main()
    # CPython's (private, long-standing) runner of the atexit handlers; without it, or with
    # another thread alive, exit the usual way
    run_exit_handlers = getattr(atexit, "_run_exitfuncs", None)
    if run_exit_handlers is None or threading.active_count() > 1:
        sys.exit(code)
    run_exit_handlers()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    console_main()
