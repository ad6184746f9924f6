"""The terminal comparison: readable at 80 columns without a cut cell, full with ``wide``."""

from __future__ import annotations

import numpy as np
import pandas as pd
from rich.console import Console

from sim.analysis.metrics import metric_name
from sim.experiment.compare import DEFAULT_METRICS, print_comparison

ARMS = {"tiered": "tiered content, personalised weekly", "blanket8": "blanket 8 promos a day"}


def _comparison(discount_equal: bool = True) -> pd.DataFrame:
    """Every default metric for two arms, with large values and wide intervals."""
    rng = np.random.default_rng(3)
    rows = []
    for arm, label in ARMS.items():
        for key in DEFAULT_METRICS:
            share = "share" in key or key.startswith("retention")
            scale = 1.0 if share else 123_456.0
            control, diff = rng.uniform(0, 1) * scale, rng.normal(0, 0.2) * scale
            rows.append({
                "cell": "base", "arm": arm, "label": label, "metric": key,
                "scope": "world" if key.startswith("world_") else "user",
                "control_mean": control, "arm_mean": control + diff, "difference": diff,
                "ci_low": diff - 0.3 * scale, "ci_high": diff + 0.3 * scale,
                "p_adjusted": 1e-6, "significant": True, "mde": 0.1 * scale,
                "n_replications": 5, "method": "paired replications",
            })  # fmt: skip
    frame = pd.DataFrame(rows)
    if discount_equal:
        net = frame["metric"] == "net_value_per_user"
        disc = frame["metric"] == "discounted_net_value_per_user"
        for col in ("control_mean", "arm_mean", "difference", "ci_low", "ci_high"):
            frame.loc[disc, col] = frame.loc[net, col].to_numpy()
    return frame


def _economics() -> pd.DataFrame:
    return pd.DataFrame({
        "cell": "base", "arm": list(ARMS), "label": list(ARMS.values()),
        "incremental_revenue_per_user": [1234.5, -2.6], "incremental_cost_per_user": [-0.3, 2.1],
        "incremental_net_per_user": [1234.8, -4.7], "roi": [np.nan, -3.763],
    })  # fmt: skip


def _printed(comparison: pd.DataFrame, width: int = 80, **kwargs) -> str:
    console = Console(width=width, record=True)
    tables = {"comparison": comparison, "economics": _economics()}
    print_comparison(tables, console, control="blanket 1/day", **kwargs)
    return console.export_text()


def test_every_table_fits_80_columns_without_a_cut_cell() -> None:
    text = _printed(_comparison(discount_equal=False))
    assert "…" not in text
    assert max(len(line) for line in text.splitlines()) <= 80
    flat = " ".join(text.split())
    for label in ARMS.values():  # titles name the arm and the control
        assert f"{label} vs control (blanket 1/day)" in flat
    for key in ("net_value_per_user", "retention_d30", "world_groups_alive_end"):
        # readable labels (wrapped within their column), not the keys
        assert all(word.strip("()") in text for word in metric_name(key).split())
        assert key not in text


def test_values_carry_their_units_and_p_values_and_roi_read_plainly() -> None:
    flat = " ".join(_printed(_comparison()).split())
    assert "¥" in flat and " pp " in flat and "%" in flat
    assert "< 0.001" in flat and "0.000" not in flat
    assert "−376%" in flat  # ROI in percent, as in the report


def test_discounted_net_value_is_shown_once_when_it_equals_net_value() -> None:
    equal = _printed(_comparison(discount_equal=True))
    assert equal.count("discounted") == 1 and "shown once" in equal  # the note only
    different = _printed(_comparison(discount_equal=False))
    assert different.count("discounted") == len(ARMS) and "shown once" not in different


def test_wide_gives_one_full_table_with_the_mde() -> None:
    text = _printed(_comparison(), width=80, wide=True)
    assert "MDE" in text and "…" not in text
    assert max(len(line) for line in text.splitlines()) > 80  # not squeezed into the terminal


def test_arms_follow_the_experiment_order() -> None:
    text = _printed(_comparison(), arms=["control", "tiered", "blanket8"])
    assert text.index("tiered content") < text.index("blanket 8 promos")
    text = _printed(_comparison(), arms=["control", "blanket8", "tiered"])
    assert text.index("blanket 8 promos") < text.index("tiered content")
