"""The metric vocabulary covers every compared metric and formats each by its kind."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.analysis import outcomes as oc
from sim.analysis.metrics import (
    HIGHER,
    KEY_METRICS,
    LOWER,
    METRICS,
    SHARE_METRICS,
    can_affect,
    format_p,
    format_percent,
    format_plain,
    format_value,
    metric_name,
    metric_unit,
    verdict,
)
from sim.experiment.compare import DEFAULT_METRICS


def _world_metric_keys() -> set[str]:
    days = 3
    daily = pd.DataFrame({column: np.ones(days) for column in oc.WORLD_DAILY_COLUMNS})
    daily["day"] = np.arange(days)
    return {f"world_{k}" for k in oc.world_metrics({"daily": daily}, days)}


def test_every_compared_metric_is_described_and_nothing_else() -> None:
    compared = set(oc.METRICS) | {"rmst"} | _world_metric_keys()
    assert compared == set(METRICS)
    assert set(KEY_METRICS) <= compared and set(DEFAULT_METRICS) <= compared


def test_shares_are_percent_and_their_differences_percentage_points() -> None:
    for key in SHARE_METRICS:
        assert metric_unit(key) == "%" and metric_unit(key, difference=True) == "pp"
        assert format_value(key, 0.5).endswith("%") and format_plain(key, 0.5) == "50.00%"
        assert format_plain(key, -0.01, difference=True) == "-1.00 pp"
    assert "world_group_death_share_90d" in SHARE_METRICS  # a share even though it is a world one


def test_direction_decides_whether_a_change_is_better() -> None:
    assert verdict("net_value_per_user", 1.0) == 1 and verdict("net_value_per_user", -1.0) == -1
    assert verdict("cost_per_user", 1.0) == -1 and verdict("churned_share", -0.1) == 1
    assert verdict("reach_share", 0.2) == 0 and verdict("rmst", float("nan")) == 0
    assert {m.direction for m in METRICS.values()} >= {HIGHER, LOWER}


def test_unknown_metrics_still_read_and_format() -> None:
    assert metric_name("world_something_new") == "world: something new"
    assert metric_name("brand_new_metric") == "brand new metric"
    assert format_plain("brand_new_metric", 1234.5) == "1,234.50"
    assert format_value("brand_new_metric", None) == "–" and verdict("brand_new_metric", 3.0) == 0


def test_p_values_never_print_as_zero() -> None:
    assert format_p(0.0) == "< 0.001" and format_p(1e-9) == "< 0.001"
    assert format_p(0.0421) == "0.042" and format_p(float("nan")) == "–"


def test_roi_is_one_signed_percentage() -> None:
    assert format_percent(-3.763) == "−376%" and format_percent(0.25) == "+25%"
    assert format_percent(float("nan")) == "–"


def test_an_action_the_arm_never_takes_is_no_gain_or_harm() -> None:
    # an arm that sends no offers has no offer clicks: not a harm
    assert not can_affect("click_share", control_mean=0.95, arm_mean=0.0)
    # the same drop on an outcome, or an activity the arm does take, is judged
    assert can_affect("paying_share", control_mean=0.05, arm_mean=0.0)
    assert can_affect("click_share", control_mean=0.95, arm_mean=0.4)
    # nothing happened in either world: nothing to judge
    assert not can_affect("world_group_death_share_90d", control_mean=0.0, arm_mean=0.0)


def test_every_metric_has_a_chinese_label_and_english_stays_the_default():
    from sim.analysis.metrics import LABELS_ZH

    assert set(LABELS_ZH) == set(METRICS)
    for key in METRICS:
        assert metric_name(key) == METRICS[key].label
        zh = metric_name(key, "zh")
        assert zh and zh != METRICS[key].label
    assert metric_unit("mean_duration", lang="zh") == "天"
    assert metric_unit("retention_d30", difference=True, lang="zh") == "pp"
