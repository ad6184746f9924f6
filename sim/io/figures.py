"""Figures without global state: a :class:`~matplotlib.figure.Figure` on its own Agg canvas,
saved to a file and freed. Every plot of the project is made through these two functions.

Nothing here touches ``pyplot``: no backend is switched (importing a plotting module inside a
notebook leaves its backend alone), nothing is shown and no figure stays in pyplot's registry.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

DPI = 110


def new_figure(
    nrows: int = 1, figsize: tuple[float, float] = (9.0, 5.0), ncols: int = 1
) -> tuple[Figure, list[Axes]]:
    """A figure with ``nrows`` × ``ncols`` axes (returned as a flat list, row by row)."""
    # lazy: matplotlib is heavy, and a command that draws nothing (validate) should not load it
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, dpi=DPI)
    FigureCanvasAgg(fig)
    axes = fig.subplots(nrows, ncols, squeeze=False)
    return fig, [ax for row in axes for ax in row]


def save_figure(fig: Figure, path: Path | str) -> Path:
    """Lay out, write ``path`` (creating its folder) and free the figure.

    The image is rendered in memory and then written in one call, so a full disk is an
    ``OSError`` naming ``path`` (writing through Pillow it surfaced as an ``AttributeError``).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    image = io.BytesIO()
    fig.savefig(image, format=path.suffix.lstrip(".").lower() or "png", dpi=DPI)
    fig.clear()
    path.write_bytes(image.getvalue())
    return path
