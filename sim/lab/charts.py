"""Chart options (Apache ECharts, drawn by the browser from NiceGUI's bundled copy) for the
verdict's curves: each arm's mean curve in its colour (:mod:`sim.plots.style`, the same as in
every figure of the project) with a translucent band, stacked as "lower edge + width"."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

MAX_POINTS = 400  # a long Kaplan–Meier curve is thinned to this many points per arm


def _thin(frame: pd.DataFrame) -> pd.DataFrame:
    if len(frame) <= MAX_POINTS:
        return frame
    step = math.ceil(len(frame) / MAX_POINTS)
    return pd.concat([frame.iloc[::step], frame.iloc[[-1]]]).drop_duplicates()


def _clean(x: Any) -> float | None:
    x = float(x)
    return round(x, 6) if math.isfinite(x) else None


def band_chart(
    title: str, curves: dict[str, pd.DataFrame], labels: dict[str, str],
    colours: dict[str, str], x_name: str, percent: bool = False,
) -> dict[str, Any]:  # fmt: skip
    """ECharts options: per arm a line (``mean``) and a band (``low``..``high``)."""
    scale = 100.0 if percent else 1.0
    series: list[dict[str, Any]] = []
    for arm, frame in curves.items():
        frame = _thin(frame.reset_index(drop=True))
        colour, name = colours.get(arm, "#333333"), labels.get(arm, arm)
        xs = [_clean(x) for x in frame["x"]]
        low = [_clean(v * scale) for v in frame["low"]]
        width = [_clean((h - lo) * scale) for lo, h in zip(frame["low"], frame["high"],
                                                           strict=True)]  # fmt: skip
        has_band = any(w is not None for w in width)
        if has_band:
            series.append({"type": "line", "name": name, "stack": f"band-{arm}",
                           "data": [[x, y] for x, y in zip(xs, low, strict=True)],
                           "lineStyle": {"opacity": 0}, "symbol": "none", "silent": True,
                           "itemStyle": {"color": colour}, "tooltip": {"show": False}})  # fmt: skip
            series.append({"type": "line", "name": name, "stack": f"band-{arm}",
                           "data": [[x, y] for x, y in zip(xs, width, strict=True)],
                           "lineStyle": {"opacity": 0}, "symbol": "none", "silent": True,
                           "areaStyle": {"color": colour, "opacity": 0.18},
                           "itemStyle": {"color": colour},
                           "tooltip": {"show": False}})  # fmt: skip
        series.append({"type": "line", "name": name, "symbol": "none",
                       "data": [[x, _clean(v * scale)] for x, v in zip(xs, frame["mean"],
                                                                       strict=True)],
                       "lineStyle": {"color": colour, "width": 2},
                       "itemStyle": {"color": colour}})  # fmt: skip
    return {
        # the palette, series by series: legend symbols take their colour from it
        "color": [s["itemStyle"]["color"] for s in series],
        "title": {"text": title, "textStyle": {"fontSize": 12}},
        "animation": False,
        "tooltip": {"trigger": "axis"},
        "legend": {"top": 34, "data": [labels.get(a, a) for a in curves]},
        "grid": {"top": 72, "left": 56, "right": 16, "bottom": 36},
        "xAxis": {"type": "value", "name": x_name, "nameLocation": "middle", "nameGap": 24},
        "yAxis": {"type": "value", "scale": True,
                  "axisLabel": {"formatter": "{value}%" if percent else "{value}"}},
        "series": series,
    }  # fmt: skip
