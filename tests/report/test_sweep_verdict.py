"""A sweep's verdict (the top of ``sweep.ipynb``): the best cell with its interval, how sure we
are, and whether returns saturate along each swept parameter. Synthetic tables, no simulation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from sim.report import ExperimentReport, returns_along, sweep_decision_table, sweep_verdicts

DISCOUNT = "arms.coupon.strategies.1.params.discount"


def test_returns_along_tells_a_peak_a_flattening_a_straight_line_and_noise():
    x = np.array([0.1, 0.3, 0.5, 0.7, 0.9])
    assert "peak at 0.5" in returns_along(x, -((x - 0.5) ** 2))
    assert "flattening" in returns_along(x, np.log(x) - np.log(0.1))
    assert "no saturation seen" in returns_along(x, 2.0 * x)
    assert "no clear trend" in returns_along(x, 2.0 * x, noise=10.0)
    assert "too few" in returns_along(x[:2], x[:2])
    # the order the cells come in does not matter
    assert returns_along(x[::-1], (2.0 * x)[::-1]) == returns_along(x, 2.0 * x)


def _sweep_report(effects: dict[float, float], half_width: float) -> ExperimentReport:
    cells = [{"cell": f"c{i:03d}", "values": {DISCOUNT: d}} for i, d in enumerate(effects)]
    rows = []
    for cell, effect in zip(cells, effects.values(), strict=True):
        for metric in ("net_value_per_user", "retention_d30", "churned_share"):
            low, high = effect - half_width, effect + half_width
            rows.append({"cell": cell["cell"], "arm": "coupon", "label": "+ coupon",
                         "metric": metric, "scope": "user", "difference": effect,
                         "ci_low": low, "ci_high": high, "p_adjusted": 0.01 if low > 0 else 0.5,
                         "significant": low > 0, "control_mean": 1.0,
                         "arm_mean": 1.0 + effect})  # fmt: skip
    manifest = {"arms": ["control", "coupon"], "cells": cells, "config": {"days": 60},
                "labels": {"control": "as usual", "coupon": "+ coupon"}}  # fmt: skip
    return ExperimentReport(Path("."), manifest, pd.DataFrame(), {"alpha": 0.05},
                            {"comparison": pd.DataFrame(rows)})  # fmt: skip


def test_the_sweep_verdict_names_the_best_setting_its_interval_and_the_saturation():
    report = _sweep_report({0.3: 1.0, 0.5: 3.0, 0.7: 2.0}, half_width=0.5)
    (sentence,) = sweep_verdicts(report).values()
    assert "discount=0.5" in sentence and "c001" in sentence
    assert "+¥3.00" in sentence and "(+¥2.50 to +¥3.50)" in sentence
    assert "significant" in sentence and "0 of the other 2 cells" in sentence
    assert "peak at 0.5" in sentence and "95%" in sentence


def test_a_sweep_whose_cells_are_within_noise_says_it_cannot_tell():
    report = _sweep_report({0.3: 0.1, 0.5: 0.3, 0.7: 0.2}, half_width=2.0)
    (sentence,) = sweep_verdicts(report).values()
    assert "not distinguishable from zero" in sentence
    assert "2 of the other 2 cells lie inside its interval" in sentence
    assert "no clear trend" in sentence


def test_the_sweep_decision_table_has_one_row_per_cell_with_its_values():
    report = _sweep_report({0.3: 1.0, 0.5: 3.0, 0.7: 2.0}, half_width=0.5)
    table = sweep_decision_table(report)
    assert list(table["cell"]) == ["c000", "c001", "c002"]
    assert list(table["discount"]) == ["0.3", "0.5", "0.7"]
    assert table.columns[:3].tolist() == ["cell", "discount", "arm"]
