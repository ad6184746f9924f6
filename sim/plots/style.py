"""One colour per arm, in every figure and the report: the control is always the same grey, the
treated arms take the distinct colours of matplotlib's ``tab10`` (without its grey) in the
experiment's arm order, so an arm keeps its colour from ``effects.png`` to the last report plot.
"""

from __future__ import annotations

from collections.abc import Sequence

CONTROL = "control"
CONTROL_GREY = "#6e6e6e"
"""The control's colour everywhere."""

ARM_COLOURS = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#bcbd22",
    "#17becf",
)  # fmt: skip
"""Treated arms' colours in order (tab10 without its grey)."""


def arm_colours(arms: Sequence[str], control: str = CONTROL) -> dict[str, str]:
    """The colour of every arm: ``control`` grey, the others in ``arms`` order (cycling).

    Pass the experiment's full arm list (control first, as in ``experiment.json``), not the
    arms one figure happens to show, so that a figure of a subset keeps everyone's colour.
    """
    treated = [arm for arm in arms if arm != control]
    colours = {arm: ARM_COLOURS[i % len(ARM_COLOURS)] for i, arm in enumerate(treated)}
    return {control: CONTROL_GREY, **colours} if control in arms else colours
