"""docs/MODEL.md stays in step with the code: generated tables, parameters, state columns."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import BaseModel

from sim.world import modeldoc
from sim.world.params import WorldParams
from sim.world.population import USER_COLUMNS
from sim.world.population_spec import PopulationSpec

DOC = Path(__file__).resolve().parents[2] / "docs" / "MODEL.md"
PROVENANCE = re.compile(r"\[0\d\d\]|\bassumed\b|\bcalibrated\b|\breference\b", re.IGNORECASE)


@pytest.fixture(scope="module")
def doc_text() -> str:
    return DOC.read_text(encoding="utf-8")


def _walk(model: type[BaseModel], prefix: str):
    """(path, field) of every field, descending into nested models (independent of modeldoc)."""
    for name, info in model.model_fields.items():
        path = f"{prefix}.{name}"
        yield path, info
        for candidate in (info.annotation, *getattr(info.annotation, "__args__", ())):
            if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                yield from _walk(candidate, path)


def _all_fields():
    yield from _walk(WorldParams, "world")
    yield from _walk(PopulationSpec, "population")


def _doc_path(path: str) -> str:
    """The MODEL.md spelling: items of containers are products[i].x, occupations.<occupation>.x."""
    path = path.replace(".products.", ".products[i].")
    path = path.replace(".occupations.", ".occupations.<occupation>.")
    path = path.replace(".campaigns.", ".campaigns[i].").replace(
        ".live_streams.", ".live_streams[i]."
    )
    return path.replace(".channels.", ".channels.<channel>.")


def _is_model(info) -> bool:
    return any(
        isinstance(c, type) and issubclass(c, BaseModel)
        for c in (info.annotation, *getattr(info.annotation, "__args__", ()))
    )


def test_generated_tables_are_up_to_date(doc_text: str) -> None:
    assert modeldoc.update_doc(doc_text) == doc_text, "run `python -m sim.world.modeldoc`"
    assert modeldoc.main(["--check"]) == 0


def test_check_detects_a_stale_doc(tmp_path: Path, doc_text: str) -> None:
    stale = tmp_path / "MODEL.md"
    stale.write_text(doc_text.replace("`world.behaviour.open_intercept`", "`x`", 1), "utf-8")
    assert modeldoc.main(["--check", "--path", str(stale)]) == 1
    assert modeldoc.main(["--path", str(stale)]) == 0
    assert stale.read_text("utf-8") == doc_text
    no_markers = tmp_path / "plain.md"
    no_markers.write_text("# no tables here\n", "utf-8")
    assert modeldoc.main(["--check", "--path", str(no_markers)]) == 1


def test_every_parameter_path_is_documented(doc_text: str) -> None:
    leaves = [path for path, info in _all_fields() if not _is_model(info)]
    assert len(leaves) > 60
    generated = set(modeldoc.parameter_paths())
    missing = []
    for path in map(_doc_path, leaves):
        if f"`{path}`" not in doc_text or path not in generated:
            missing.append(path)
    assert not missing, f"parameters missing from MODEL.md: {missing}"


def test_every_user_column_is_documented(doc_text: str) -> None:
    match = re.search(r"^## (?:\d+\. )?State variables$(.*?)^## ", doc_text, re.M | re.S)
    assert match, "MODEL.md needs a '## State variables' section"
    section = match.group(1)
    missing = [name for name in USER_COLUMNS if f"`{name}`" not in section]
    assert not missing, f"user columns not described in MODEL.md §State variables: {missing}"


def test_every_field_states_its_provenance() -> None:
    lacking = [
        _doc_path(path)
        for path, info in _all_fields()
        if not _is_model(info) and not PROVENANCE.search(info.description or "")
    ]
    assert not lacking, (
        "Field descriptions without a provenance marker ([0xx], assumed, calibrated or "
        f"reference): {lacking}"
    )


def test_ranges_come_from_field_constraints() -> None:
    fields = dict(modeldoc.leaf_parameters())
    assert modeldoc.allowed_range(
        "world.lifecycle.high_engagement_active_days_30",
        fields["world.lifecycle.high_engagement_active_days_30"],
    ).startswith("int [1, 30]")
    conv = "world.products[i].base_daily_conversion"
    assert modeldoc.allowed_range(conv, fields[conv]) == "float (0, 1)"
    intercept = "world.behaviour.open_intercept"
    assert modeldoc.allowed_range(intercept, fields[intercept]) == "float"
