"""Generate the parameter tables of ``docs/MODEL.md`` from the pydantic models.

The tables between the marker comments ``<!-- params:begin -->`` and ``<!-- params:end -->`` are
written by this module, never by hand: one row per parameter with its config key path (as written
in an experiment YAML, e.g. ``world.behaviour.open_intercept``), its default, the allowed range
(from the ``Field`` constraints ``ge``/``le``/``gt``/``lt``) and its provenance and description
(the ``Field`` description, which starts with ``[000]``-style source tags, ``assumed`` or
``calibrated``). The default product ladder, occupations and channels are also shown as tables.

    python -m sim.world.modeldoc            # rewrite the tables in docs/MODEL.md
    python -m sim.world.modeldoc --check    # exit 1 if docs/MODEL.md is out of date
"""

from __future__ import annotations

import argparse
import sys
import types
import typing
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from sim.world.params import CONTENT_TIERS, PREFERENCES, WorldParams
from sim.world.population_spec import CHANNELS, OCCUPATIONS, PopulationSpec

BEGIN = "<!-- params:begin -->"
END = "<!-- params:end -->"
DOC_PATH = Path(__file__).resolve().parents[2] / "docs" / "MODEL.md"

# Constraints that live in validators rather than in Field(ge=..., le=...): stated here from the
# same constants the validators use, so they cannot drift.
VALIDATOR_RANGES: dict[str, str] = {
    "world.products[i].content_tier": "one of " + ", ".join(CONTENT_TIERS),
    "world.products[i].name": "unique in the ladder",
    "population.initial_channel_shares": "keys ⊆ {" + ", ".join(CHANNELS) + "}; ≥ 0, sum > 0",
    "population.arrivals_per_day": "keys ⊆ {" + ", ".join(CHANNELS[:-1]) + "}; each ≥ 0",
    "population.occupations": "exactly {" + ", ".join(OCCUPATIONS) + "}",
    "population.occupations.<occupation>.age_max": "≥ age_min",
    "population.channels": "exactly {" + ", ".join(CHANNELS) + "}",
    "population.preference_shares": "keys ⊆ {" + ", ".join(PREFERENCES) + "}; ≥ 0, sum > 0",
    "population.city_tier_shares": "each ≥ 0, sum > 0",
    "population.price_sensitivity_bounds": "0 < low ≤ high",
    "world.lifecycle.shallow_churn_max_days": "≥ shallow_churn_after_days, < deep_churn_min_days",
}


class ParamRow(NamedTuple):
    """One row of a parameter table."""

    path: str
    default: str
    allowed: str
    description: str


# -- introspection --------------------------------------------------------------------------------
def _model_of(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model a field holds, directly or as the items of a tuple or dict."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
    return None


def _item_prefix(path: str, annotation: Any) -> str:
    """How an item of a container field is addressed in a key path."""
    if typing.get_origin(annotation) is dict:
        return f"{path}.<{_item_name(path)}>"
    if typing.get_origin(annotation) in (tuple, list):
        return f"{path}[i]"
    return path


def _item_name(path: str) -> str:
    last = path.rsplit(".", 1)[-1]
    return last[:-1] if last.endswith("s") else last


def iter_parameters(model: type[BaseModel], prefix: str) -> Iterator[tuple[str, FieldInfo]]:
    """Every field of ``model`` and of the models nested in it, with its config key path.

    Container fields (a nested model, or a tuple/dict of models) are yielded themselves and then
    their items' fields, addressed as ``products[i].price`` or ``occupations.<occupation>.share``.
    """
    for name, info in model.model_fields.items():
        path = f"{prefix}.{name}"
        nested = _model_of(info.annotation)
        if nested is None:
            yield path, info
            continue
        if nested is not info.annotation:  # a tuple or dict of models: a parameter itself
            yield path, info
        yield from iter_parameters(nested, _item_prefix(path, info.annotation))


def leaf_parameters() -> list[tuple[str, FieldInfo]]:
    """All parameters of WorldParams and PopulationSpec whose value is not a model."""
    out = []
    for model, prefix in ((WorldParams, "world"), (PopulationSpec, "population")):
        out += [
            (p, f) for p, f in iter_parameters(model, prefix) if _model_of(f.annotation) is None
        ]
    return out


def parameter_paths() -> list[str]:
    """Config key paths of every parameter (containers included) of the world and population."""
    paths = []
    for model, prefix in ((WorldParams, "world"), (PopulationSpec, "population")):
        paths += [p for p, _ in iter_parameters(model, prefix)]
    return paths


# -- formatting -----------------------------------------------------------------------------------
def _type_name(annotation: Any) -> str:
    if isinstance(annotation, type) and not isinstance(annotation, types.GenericAlias):
        return annotation.__name__
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is None:
        return str(annotation)
    if origin in (typing.Union, types.UnionType):  # X | None → "X or none"
        return " or ".join("none" if a is type(None) else _type_name(a) for a in args)
    inner = ", ".join("..." if a is Ellipsis else _type_name(a) for a in args)
    return f"{origin.__name__}[{inner}]"


def format_yaml_value(value: Any) -> str:
    """A default value as it would be written in a YAML config (flow style)."""
    if isinstance(value, BaseModel):
        return type(value).__name__
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, tuple | list):
        if value and isinstance(value[0], BaseModel):
            return f"{len(value)} items (own table)"
        return "[" + ", ".join(format_yaml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        if value and isinstance(next(iter(value.values())), BaseModel):
            return f"{len(value)} entries (own table)"
        return "{" + ", ".join(f"{k}: {format_yaml_value(v)}" for k, v in value.items()) + "}"
    return str(value)


def _bound(value: Any) -> str:
    if isinstance(value, int) and value >= 2**20 and (value & (value - 1)) == 0:
        return f"2^{value.bit_length() - 1}"
    return format_yaml_value(value)


def allowed_range(path: str, info: FieldInfo) -> str:
    """The allowed range from the Field constraints (and known validator rules), with the type."""
    lo = hi = None
    lo_open = hi_open = False
    extra: list[str] = []
    for m in info.metadata:
        if getattr(m, "ge", None) is not None:
            lo = m.ge
        if getattr(m, "gt", None) is not None:
            lo, lo_open = m.gt, True
        if getattr(m, "le", None) is not None:
            hi = m.le
        if getattr(m, "lt", None) is not None:
            hi, hi_open = m.lt, True
        if getattr(m, "min_length", None) is not None:
            extra.append(f"≥ {m.min_length} item(s)")
        if getattr(m, "pattern", None) is not None:
            extra.append(f"matches `{m.pattern}`")
    if lo is not None and hi is not None:
        interval = f"{'(' if lo_open else '['}{_bound(lo)}, {_bound(hi)}{')' if hi_open else ']'}"
    elif lo is not None:
        interval = f"{'>' if lo_open else '≥'} {_bound(lo)}"
    elif hi is not None:
        interval = f"{'<' if hi_open else '≤'} {_bound(hi)}"
    else:
        interval = ""
    if path in VALIDATOR_RANGES:
        extra.append(VALIDATOR_RANGES[path])
    kind = _type_name(info.annotation)
    if _model_of(info.annotation) is not None:
        kind = "list" if typing.get_origin(info.annotation) is tuple else "mapping"
    return "; ".join(x for x in (f"{kind} {interval}".strip(), *extra) if x)


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _default(info: FieldInfo) -> str:
    return "required" if info.is_required() else format_yaml_value(info.default)


def _row(path: str, info: FieldInfo) -> ParamRow:
    return ParamRow(path, _default(info), allowed_range(path, info), info.description or "")


def parameter_rows(model: type[BaseModel], prefix: str) -> list[ParamRow]:
    """Rows for the fields of ``model`` itself (not descending into nested models)."""
    return [_row(f"{prefix}.{name}", info) for name, info in model.model_fields.items()]


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def params_table(rows: Sequence[ParamRow]) -> str:
    return markdown_table(
        ("config key", "default", "allowed", "provenance — description"),
        [(f"`{r.path}`", f"`{r.default}`", r.allowed, r.description) for r in rows],
    )


# -- the generated section ------------------------------------------------------------------------
def _section(title: str, intro: str, body: str) -> str:
    return f"### {title}\n\n{intro}\n\n{body}\n"


def _ladder_table(world: WorldParams) -> str:
    rows = [
        (
            str(i + 1),
            f"`{p.name}`",
            format_yaml_value(p.price),
            format_yaml_value(p.reference_price),
            format_yaml_value(p.base_daily_conversion),
            str(p.min_gap_days),
            format_yaml_value(p.study_per_active_day),
            p.content_tier,
        )
        for i, p in enumerate(world.products)
    ]
    header = (
        "step", "name", "price ¥", "reference price ¥", "base daily conversion",
        "min gap (days)", "study per active day", "tier",
    )  # fmt: skip
    return markdown_table(header, rows)


def _occupation_table(spec: PopulationSpec) -> str:
    rows = [
        (f"`{name}`", format_yaml_value(o.share), str(o.age_min), str(o.age_max),
         format_yaml_value(o.income_median))
        for name, o in spec.occupations.items()
    ]  # fmt: skip
    return markdown_table(("occupation", "share", "age min", "age max", "income median ¥"), rows)


def _channel_table(spec: PopulationSpec) -> str:
    rows = [
        (
            f"`{name}`",
            format_yaml_value(c.engagement_logit_mean),
            format_yaml_value(c.initial_trust),
            format_yaml_value(spec.initial_channel_shares.get(name, 0.0)),
            format_yaml_value(spec.arrivals_per_day.get(name, 0.0)),
        )
        for name, c in spec.channels.items()
    ]
    header = (
        "channel", "engagement logit mean", "initial trust", "share of initial base",
        "arrivals per day",
    )  # fmt: skip
    return markdown_table(header, rows)


def render_tables() -> str:
    """The generated Markdown between the markers (without the markers)."""
    world, spec = WorldParams(), PopulationSpec()
    w = WorldParams.model_fields
    parts = [
        "_Generated by `python -m sim.world.modeldoc` from `sim/world/params.py` and "
        "`sim/world/population_spec.py`; do not edit by hand._\n",
    ]
    for key, title in (
        ("lifecycle", "Lifecycle thresholds"),
        ("behaviour", "Behaviour"),
        ("groups", "Groups"),
        ("social", "Group composition"),
        ("costs", "Costs"),
        ("calendar", "Calendar and timing (issue 15)"),
        ("referral", "Referral incentives (issue 15)"),
    ):
        model = w[key].annotation
        parts.append(
            _section(
                f"{title} — `world.{key}`",
                f"`{model.__name__}`.",
                params_table(parameter_rows(model, f"world.{key}")),
            )
        )
    cal = w["calendar"].annotation.model_fields
    for key, title in (("campaigns", "Campaign seasons"), ("live_streams", "Live-stream sessions")):
        item = _model_of(cal[key].annotation)
        parts.append(
            _section(
                f"{title} — `world.calendar.{key}[i]`",
                f"The fields of one entry of the list (`{item.__name__}`).",
                params_table(parameter_rows(item, f"world.calendar.{key}[i]")),
            )
        )
    product_model = _model_of(w["products"].annotation)
    parts.append(
        _section(
            "Product ladder — `world.products`",
            "The default ladder (a list in YAML; replacing it replaces the whole ladder), "
            "then the fields of one product.",
            _ladder_table(world)
            + "\n\n"
            + params_table(
                [_row("world.products", w["products"])]
                + parameter_rows(product_model, "world.products[i]")
            ),
        )
    )
    spec_rows = parameter_rows(PopulationSpec, "population")
    parts.append(
        _section(
            "Population — `population`",
            "`PopulationSpec`.",
            params_table(spec_rows),
        )
    )
    occ_model = _model_of(PopulationSpec.model_fields["occupations"].annotation)
    parts.append(
        _section(
            "Occupations — `population.occupations`",
            "Default occupations, then the fields of one entry.",
            _occupation_table(spec)
            + "\n\n"
            + params_table(parameter_rows(occ_model, "population.occupations.<occupation>")),
        )
    )
    ch_model = _model_of(PopulationSpec.model_fields["channels"].annotation)
    parts.append(
        _section(
            "Acquisition channels — `population.channels`",
            "Default channels (with their share of the initial base and daily arrival rate from "
            "the table above; referred users arrive through shares, not at a fixed rate), then "
            "the fields of one entry.",
            _channel_table(spec)
            + "\n\n"
            + params_table(parameter_rows(ch_model, "population.channels.<channel>")),
        )
    )
    return "\n".join(parts)


def update_doc(text: str) -> str:
    """``text`` with the block between the markers replaced by freshly generated tables."""
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < 0 or end < start:
        raise ValueError(f"expected the markers {BEGIN} … {END} in the document")
    return text[: start + len(BEGIN)] + "\n\n" + render_tables() + "\n" + text[end:]


def is_up_to_date(path: Path = DOC_PATH) -> bool:
    """Whether the tables in ``path`` match what the models generate now."""
    text = path.read_text(encoding="utf-8")
    return update_doc(text) == text


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sim.world.modeldoc",
        description="Regenerate the parameter tables of MODEL.md.",
    )
    parser.add_argument("--check", action="store_true", help="exit 1 if the doc is out of date")
    parser.add_argument("--path", type=Path, default=DOC_PATH, help="the document (MODEL.md)")
    args = parser.parse_args(argv)
    try:
        text = args.path.read_text(encoding="utf-8")
        fresh = update_doc(text)
    except (OSError, ValueError) as exc:
        print(f"{args.path}: {exc}", file=sys.stderr)
        return 1
    if args.check:
        if fresh != text:
            print(
                f"{args.path}: parameter tables are out of date; run `python -m sim.world.modeldoc`"
            )
            return 1
        print(f"{args.path}: parameter tables are up to date")
        return 0
    if fresh != text:
        args.path.write_text(fresh, encoding="utf-8")
        print(f"{args.path}: parameter tables regenerated")
    else:
        print(f"{args.path}: already up to date")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
