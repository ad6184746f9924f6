"""File choices confined to the lab's root folder: whatever a page sends, a path outside the
root (``..``, an absolute path elsewhere, a symbolic link leading out) is refused."""

from __future__ import annotations

import re
from pathlib import Path

from sim.errors import ConfigError

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
"""An experiment name: also a file and folder name under the root, so no separators or dots."""


class OutsideRoot(ConfigError):
    """A path that would leave the lab's root folder."""


def confine(root: Path, given: str | Path) -> Path:
    """The resolved path of ``given`` (relative to ``root``, or absolute) if it lies inside
    ``root``; :class:`OutsideRoot` otherwise. Links are resolved before the check."""
    text = str(given)
    if "\x00" in text:
        raise OutsideRoot(f"{text!r}: not a valid path")
    base = root.resolve()
    candidate = Path(text)
    resolved = (candidate if candidate.is_absolute() else base / candidate).resolve()
    if resolved != base and base not in resolved.parents:
        raise OutsideRoot(
            f"{text}: outside the lab's folder {base}; choose a file or folder under it"
        )
    return resolved


def relative_to_root(root: Path, path: Path) -> str:
    """``path`` as the page shows it: relative to the root, with forward slashes."""
    return path.resolve().relative_to(root.resolve()).as_posix()


def check_name(name: str) -> str:
    """An experiment name the lab may use as a file and folder name (ConfigError if not)."""
    if not NAME.match(name or ""):
        raise ConfigError(
            f"name {name!r}: use 1-64 letters, digits, '_' or '-', starting with a letter or digit"
        )
    return name
