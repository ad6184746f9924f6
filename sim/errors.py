"""Errors shared across layers. They live at the bottom so any layer can raise them.

:class:`ConfigError` is raised wherever a user's input (a config file, a strategy's parameters,
a rule expression, a referenced file) is wrong; its message names the file, the key and what
was expected, and the command line prints it without a traceback.
"""

from __future__ import annotations


class ConfigError(ValueError):
    """A config could not be read or validated; the message names the file and the key."""


class RunFolderError(Exception):
    """A run, experiment or report folder cannot be used (base class of the folder errors of
    :mod:`sim.runs.folder`, the analysis and the report); the command line prints it without a
    traceback."""


class SiyuWarning(UserWarning):
    """Something worth knowing that does not stop the command, said in the project's words
    (e.g. a library's convergence warning, translated); the command line prints it as one
    ``warning:`` line, and ``--quiet`` hides it."""


class OutputRefused(ValueError):
    """A destination may not be written: it is an input of the same command, or something that
    is not this kind of output (a folder holding other files, a folder where a file goes)."""


class OutputExists(OutputRefused, FileExistsError):
    """The destination holds an earlier output and ``--overwrite`` was not given."""
