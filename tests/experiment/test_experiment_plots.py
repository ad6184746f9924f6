"""The experiment's figures: every arm drawn in its palette colour in every figure, the
control in grey, and each effect in its own panel and unit."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_rgb
from matplotlib.image import imread

from sim.experiment.plots import plot_analysis
from sim.experiment.spec import parse_experiment
from sim.plots.style import ARM_COLOURS, arm_colours

LABELS = {"control": "blanket 1/day", "tiered": "tiered content", "blanket8": "blanket 8/day"}
CURVES = ("retention.png", "ltv.png", "survival.png")


@pytest.fixture(scope="module")
def spec():
    return parse_experiment({
        "name": "colours", "days": 30,
        "control": {"label": LABELS["control"], "strategies": [{"name": "blanket"}]},
        "arms": {arm: {"label": LABELS[arm], "strategies": [{"name": "blanket"}]}
                 for arm in ("tiered", "blanket8")},
    }, "<test>")  # fmt: skip


def _per_arm(days: np.ndarray, arms, columns) -> pd.DataFrame:
    frames = []
    for arm in arms:
        i = list(LABELS).index(arm)  # an arm's data does not depend on the table's order
        frame = pd.DataFrame({"cell": "base", "arm": arm, "label": LABELS[arm], "day": days})
        for col, make in columns.items():
            frame[col] = make(days, i)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def _tables(arms) -> dict[str, pd.DataFrame]:
    days = np.arange(1, 31)
    treated = [a for a in arms if a != "control"]
    comparison = pd.DataFrame([
        {"cell": "base", "arm": arm, "label": LABELS[arm], "metric": key, "control_mean": 1.0,
         "difference": (-1) ** i * 0.5, "ci_low": (-1) ** i * 0.5 - 0.2,
         "ci_high": (-1) ** i * 0.5 + 0.2, "significant": i == 0}
        for i, arm in enumerate(treated)
        for key in ("net_value_per_user", "cost_per_user", "retention_d30")
    ])  # fmt: skip
    retention = _per_arm(days, arms, {"retained": lambda d, i: 1 - (i + 1) * 0.01 * d / 30})
    ltv = _per_arm(days, arms, {"gross": lambda d, i: (i + 1) * d, "net": lambda d, i: i * d})
    survival = _per_arm(days, arms, {
        "survival": lambda d, i: 1 - (i + 1) * 0.01 * d / 30,
        "ci_low": lambda d, i: 1 - (i + 1.2) * 0.01 * d / 30,
        "ci_high": lambda d, i: 1 - (i + 0.8) * 0.01 * d / 30,
    }).rename(columns={"day": "time"})  # fmt: skip
    return {"comparison": comparison, "retention": retention, "ltv": ltv, "survival": survival}


def _has_colour(png: Path, colour: str) -> bool:
    """Whether the image has a run of pixels of exactly this colour (a drawn line or dot)."""
    pixels = imread(png)[..., :3]
    target = np.array(to_rgb(colour))
    return int(np.all(np.abs(pixels - target) < 2 / 255, axis=-1).sum()) >= 20


def test_every_arm_has_its_palette_colour_in_every_figure(spec, tmp_path: Path) -> None:
    # the tables list the arms in another order than the experiment: colours must not follow it
    written = plot_analysis(_tables(["blanket8", "control", "tiered"]), spec, tmp_path)
    assert set(CURVES) | {"effects.png"} <= set(written)
    colours = arm_colours(spec.arm_names)
    unused = ARM_COLOURS[2]  # a third treated arm's colour: no such arm here
    for name in (*CURVES, "effects.png"):
        for arm in ("tiered", "blanket8"):
            assert _has_colour(tmp_path / name, colours[arm]), (name, arm)
        assert not _has_colour(tmp_path / name, unused), name
    for name in CURVES:  # the control, grey, in every curve figure
        assert _has_colour(tmp_path / name, colours["control"]), name


def test_the_same_arm_gets_the_same_colour_in_two_experiments_plots(spec, tmp_path) -> None:
    first = plot_analysis(_tables(["control", "tiered", "blanket8"]), spec, tmp_path / "a")
    second = plot_analysis(_tables(["tiered", "blanket8", "control"]), spec, tmp_path / "b")
    assert first == second
    for name in CURVES:
        assert np.array_equal(imread(tmp_path / "a" / name), imread(tmp_path / "b" / name))
