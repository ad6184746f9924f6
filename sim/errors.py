"""Errors shared across layers. They live at the bottom so any layer can raise them.

:class:`ConfigError` is raised wherever a user's input (a config file, a strategy's parameters,
a rule expression, a referenced file) is wrong; its message names the file, the key and what
was expected, and the command line prints it without a traceback.

Every error class the command line's error boundary (:mod:`sim.cli.failures`) catches is
defined here, so that importing the boundary loads no numerical library (start-up time).
"""

from __future__ import annotations


class ConfigError(ValueError):
    """A config could not be read or validated; the message names the file and the key."""


class RunFolderError(Exception):
    """A run, experiment or report folder cannot be used (base class of the folder errors of
    :mod:`sim.runs.folder`, the analysis and the report); the command line prints it without a
    traceback."""


class ChurnModelError(ValueError):
    """A churn model file or a training request is unusable; the message names the file/field
    (raised by :mod:`sim.churn.model`)."""


class EventFileError(ValueError):
    """An input file (event log, users table, retention table) that cannot be used as given
    (raised by :mod:`sim.twin.events`)."""


class TwinFolderError(Exception):
    """A twin or backtest folder cannot be written or read as asked (:mod:`sim.twin.folder`)."""


class FitError(RuntimeError):
    """The model could not be fitted to the data given (too little data, no convergence;
    :mod:`sim.twin.model`)."""


class SiyuWarning(UserWarning):
    """Something worth knowing that does not stop the command, said in the project's words
    (e.g. a library's convergence warning, translated); the command line prints it as one
    ``warning:`` line, and ``--quiet`` hides it."""


class OutputRefused(ValueError):
    """A destination may not be written: it is an input of the same command, or something that
    is not this kind of output (a folder holding other files, a folder where a file goes)."""


class OutputExists(OutputRefused, FileExistsError):
    """The destination holds an earlier output and ``--overwrite`` was not given."""
