"""What makes a folder a twin folder, checked cheaply: the file and format names and
:func:`check_twin_folder`.

Apart from :mod:`sim.twin.folder` (which writes and reads twins and needs the fitted model's
numerical libraries) so that checking a config that names a twin (``siyu validate``) loads
neither numba nor pandas.
"""

from __future__ import annotations

from pathlib import Path

from sim.errors import TwinFolderError
from sim.io.folders import completeness_problem

TWIN_JSON = "twin.json"
TWIN_FORMAT = "siyu-twin/1"


def check_twin_folder(path: Path | str, *, verify: bool = False) -> None:
    """:class:`TwinFolderError` unless ``path`` is a complete twin folder (cheap: reads twin.json
    and checks the listed files' sizes, loads nothing; ``verify`` also recomputes every listed
    file's sha256 and names a file changed since the fit)."""
    path = Path(path)
    if not path.is_dir():
        raise TwinFolderError(f"{path} is not a twin folder (no such directory)")
    problem = completeness_problem(path, TWIN_JSON, TWIN_FORMAT, verify=verify)
    if problem is not None:
        raise TwinFolderError(f"{path} is not a complete twin folder: {problem}")
