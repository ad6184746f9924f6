"""Report notebooks: executed end to end on small real experiments, written as HTML.

The notebook tests need the ``notebooks`` extra (nbclient, nbformat, nbconvert, ipykernel) and
a ``python3`` Jupyter kernel; without them they fail with a message saying what to install.
"""

from __future__ import annotations

import ast
import json
import re
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.analysis.metrics import format_value
from sim.experiment.analysis import analyse_experiment
from sim.experiment.executor import Execution, execute_experiment
from sim.experiment.plan import plan_cells
from sim.experiment.spec import parse_experiment
from sim.report import (
    INJECTED_TAG,
    ReportError,
    arm_verdicts,
    decision_table,
    default_notebook,
    find_notebook,
    inject_parameters,
    load_report,
    numeric_axis,
    render_report,
)

TIERED = "arms.tiered.strategies.0.params."
REPORT_HEADINGS = (
    "Verdict", "What was compared", "Headline: each arm against the control",
    "Effects with their intervals",
    "Economics", "Retention", "Lifetime value", "Survival", "Cox proportional hazards",
    "The funnel", "Group health", "Who gains: segments", "Uplift", "How sure are we?",
    "Runs that did not finish",
)  # fmt: skip
SWEEP_HEADINGS = (
    "Sweep report", "The design", "Response surface", "The best cells",
    "Cost against incremental revenue", "Significance per cell",
)  # fmt: skip

pytestmark = pytest.mark.slow  # every test here executes a notebook


@pytest.fixture(scope="module")
def kernel() -> None:
    """Fail (not skip) with a clear message when notebooks cannot be executed here."""
    try:
        import nbclient  # noqa: F401
        import nbconvert  # noqa: F401
        from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
    except ImportError as err:
        pytest.fail(f"report tests need the notebooks extra (pip install -e '.[notebooks]'): {err}")
    try:
        KernelSpecManager().get_kernel_spec("python3")
    except NoSuchKernel:
        pytest.fail("no 'python3' Jupyter kernel: pip install ipykernel")


def _experiment(folder: Path, data: dict) -> Path:
    source = f"{data['name']}.yaml"
    spec = parse_experiment(data, source)
    cells = plan_cells(spec, data, source)
    execute_experiment(spec, cells, source, folder, Execution(workers=1, progress=False))
    analyse_experiment(folder, plots=False)
    return folder


@pytest.fixture(scope="module")
def single(tmp_path_factory) -> Path:
    """One cell: blanket control vs tiered content, 1,500 users x 60 days, 2 replications."""
    return _experiment(tmp_path_factory.mktemp("report") / "single", {
        "name": "single", "seed": 5, "days": 60, "replications": 2,
        "population": {"initial_users": 1500, "arrivals_per_day": {"organic": 5, "ads": 5}},
        "control": {"label": "blanket", "strategies": [{"name": "blanket"}]},
        "arms": {"tiered": {"label": "tiered content",
                            "strategies": [{"name": "tiered_content"}]}},
    })  # fmt: skip


@pytest.fixture(scope="module")
def sweep(tmp_path_factory) -> Path:
    """A 2 x 2 grid over the tiered arm's cadence and personalisation, one replication, no
    uplift export."""
    return _experiment(tmp_path_factory.mktemp("report") / "sweep", {
        "name": "sweep", "seed": 3, "days": 30, "replications": 1,
        "population": {"initial_users": 500, "arrivals_per_day": {"organic": 3, "ads": 3}},
        "control": {"label": "blanket", "strategies": [{"name": "blanket"}]},
        "arms": {"tiered": {"strategies": [{"name": "tiered_content"}]}},
        "analysis": {"uplift": False},
        "sweep": {"method": "grid", "parameters": {f"{TIERED}every_days": [3, 7],
                                                   f"{TIERED}personalised": [True, False]}},
    })  # fmt: skip


def _executed(html_path: Path):
    import nbformat

    return nbformat.read(html_path.with_suffix(".ipynb"), as_version=4)


def _figures(nb) -> int:
    return sum(
        "image/png" in o.get("data", {}) for c in nb.cells if c.cell_type == "code"
        for o in c.outputs
    )  # fmt: skip


def _notes(nb) -> list[str]:
    """The 'not shown' notes a notebook printed for absent tables."""
    return [
        o["data"]["text/markdown"] for c in nb.cells if c.cell_type == "code" for o in c.outputs
        if "not shown" in o.get("data", {}).get("text/markdown", "")
    ]  # fmt: skip


def _embedded_images(html: str) -> int:
    return len(re.findall(r"<img[^>]+src=\"data:image/png;base64,", html))


# --------------------------------------------------------------------------- end to end
def test_report_notebook_renders_every_section_of_a_full_analysis(kernel, single):
    html_path = render_report(single)
    assert html_path == single / "report.html"
    html = html_path.read_text(encoding="utf-8")
    nb = _executed(html_path)
    for heading in REPORT_HEADINGS:
        assert heading in html, heading
    # every table exists for this experiment, so every section draws its figure
    assert _notes(nb) == []
    figures = _figures(nb)
    assert figures >= 11  # forest, money, retention, LTV, KM, Cox, funnel, groups, segments, ...
    assert _embedded_images(html) == figures
    # the injected folder is what the notebook read, and its numbers reach the page
    assert str(single) in html
    comparison = pd.read_parquet(single / "analysis" / "comparison.parquet")
    net = comparison.set_index("metric").loc["net_value_per_user"]
    assert format_value("net_value_per_user", net["difference"], difference=True) in html
    assert "tiered content" in html and "blanket" in html
    assert not any(o.get("output_type") == "error" for c in nb.cells for o in c.get("outputs", []))


def _text(html: str) -> str:
    """The page's visible text, one space between words."""
    body = re.sub(r"<style.*?</style>|<script.*?</script>", " ", html, flags=re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", body).replace("&amp;", "&").split())


def test_the_report_opens_with_the_verdict_and_hides_its_code(kernel, single, tmp_path):
    hidden = render_report(single, out_html=tmp_path / "hidden.html").read_text(encoding="utf-8")
    shown = render_report(single, out_html=tmp_path / "shown.html", show_code=True)
    shown = shown.read_text(encoding="utf-8")
    for code in ("load_report", "arm_colours", "subplots"):
        assert code not in _text(hidden) and code in _text(shown), code
    text = _text(hidden)
    first_detail = text.index("What was compared")
    verdict = text[text.index("Verdict") : first_detail]
    assert text.index("Verdict") < first_detail
    manifest = json.loads((single / "experiment.json").read_text(encoding="utf-8"))
    for arm in manifest["arms"]:  # every arm, and the control, named in the verdict
        assert manifest["labels"][arm] in verdict
    assert "net value per user" in verdict and "¥" in verdict and " pp" in verdict
    assert "Decision table" in verdict and "ROI" in verdict
    # a single file that can be mailed: images inside, nothing fetched from the web
    assert not re.search(r"(src|href)=\"https?://", hidden)
    assert _embedded_images(hidden) > 0


def test_the_verdict_gives_each_arm_intervals_and_how_sure_we_are(single):
    report = load_report(single)
    sentences = arm_verdicts(report)
    assert list(sentences) == report.arms[1:]
    comparison = report.table("comparison")
    for arm, sentence in sentences.items():
        net = comparison[
            (comparison["arm"] == arm) & (comparison["metric"] == "net_value_per_user")
        ]
        low, high = (format_value("net_value_per_user", net.iloc[0][c], True)
                     for c in ("ci_low", "ci_high"))  # fmt: skip
        assert f"({low} to {high})" in sentence
        assert "significant" in sentence or "not distinguishable" in sentence
    table = decision_table(report)
    assert list(table["arm"]) == [report.labels[a] for a in report.arms[1:]]
    assert all(v.endswith("%") or v == "–" for v in table["ROI"])


def test_report_without_the_notebooks_extra_says_what_to_install(single, monkeypatch):
    monkeypatch.setitem(sys.modules, "nbformat", None)
    with pytest.raises(ReportError, match=re.escape('pip install -e ".[notebooks]"')) as err:
        render_report(single)
    assert "\n" not in str(err.value)


def test_sweep_notebook_is_chosen_for_several_cells_and_maps_the_surface(kernel, sweep):
    html_path = render_report(sweep, out_html=sweep / "out" / "sweep.html")
    html = html_path.read_text(encoding="utf-8")
    nb = _executed(html_path)
    for heading in SWEEP_HEADINGS:
        assert heading in html, heading
    assert "Experiment report" not in html  # the single-cell notebook was not picked
    figures = _figures(nb)
    assert figures >= 4  # surface, ranking, cost vs revenue, significance map
    assert _embedded_images(html) == figures
    for cell in ("c000", "c001", "c002", "c003"):
        assert cell in html
    assert "every_days" in html and "personalised" in html
    text = _text(html)  # opens with the verdict, code hidden
    assert text.index("Verdict") < text.index("The design")
    assert "best at" in text and "Decision table" in text and "load_report" not in text


def test_report_degrades_gracefully_on_absent_tables_and_failed_runs(kernel, sweep, tmp_path):
    folder = tmp_path / "damaged"
    shutil.copytree(sweep, folder, ignore=shutil.ignore_patterns("report.*", "out"))
    absent = {
        "cox": "Cox model", "survival": "Kaplan–Meier curves", "segments": "Segment breakdown",
        "funnel": "Funnel",
    }  # fmt: skip
    for table in absent:
        (folder / "analysis" / f"{table}.parquet").unlink()
    index = pd.read_parquet(folder / "index.parquet")
    index.loc[index.index[-1], ["status", "error"]] = ["failed", "ValueError: simulated failure"]
    index.to_parquet(folder / "index.parquet", index=False)
    html_path = render_report(folder, notebook="report", out_html=tmp_path / "r.html")
    html = html_path.read_text(encoding="utf-8")
    notes = " ".join(_notes(_executed(html_path)))
    for what in absent.values():  # the deleted tables
        assert what in notes, what
    assert "Qini curves" in notes and "Individual effects" in notes  # uplift: false
    assert f"1 of {len(index)} runs did not finish" in html and "simulated failure" in html
    assert "A single replication" in html  # one replication: the interval method is explained
    assert "c000" in html  # a multi-cell experiment reports its first cell


def test_a_failing_cell_is_named_and_leaves_the_earlier_report(kernel, single, tmp_path):
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# broken"),
        nbformat.v4.new_code_cell('EXPERIMENT_DIR = "x"', metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("from pathlib import Path\nassert Path(EXPERIMENT_DIR).is_dir()"),
        nbformat.v4.new_code_cell("raise RuntimeError('deliberate failure')"),
    ]
    broken = tmp_path / "broken.ipynb"
    nbformat.write(nb, broken)
    out = tmp_path / "site" / "report.html"
    out.parent.mkdir()
    out.write_text("EARLIER", encoding="utf-8")
    with pytest.raises(ReportError) as err:
        render_report(single, notebook=broken, out_html=out, overwrite=True)
    message = str(err.value)
    assert "broken.ipynb" in message and "deliberate failure" in message
    assert "cell 5" in message  # after the injected parameters cell
    assert out.read_text(encoding="utf-8") == "EARLIER"
    assert sorted(p.name for p in out.parent.iterdir()) == ["report.html"]
    with pytest.raises(FileExistsError, match="--overwrite"):  # refused before executing anything
        render_report(single, notebook=broken, out_html=out)


# --------------------------------------------------------------------------- the pieces
def _parameters_notebook():
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# title"),
        nbformat.v4.new_code_cell('EXPERIMENT_DIR = "default"', metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("print(EXPERIMENT_DIR)"),
    ]
    return nb


def test_parameters_are_injected_after_the_tagged_cell_as_literals():
    nb = _parameters_notebook()
    awkward = 'C:\\runs\\"quoted" dir\n; import os'
    inject_parameters(nb, {"EXPERIMENT_DIR": "first"})
    inject_parameters(nb, {"EXPERIMENT_DIR": awkward, "CELL": None})
    tags = [c.metadata.get("tags", []) for c in nb.cells]
    assert tags == [[], ["parameters"], [INJECTED_TAG], []]  # replaced, not stacked
    tree = ast.parse(nb.cells[2].source)
    assigned = {n.targets[0].id: ast.literal_eval(n.value) for n in tree.body}
    assert assigned == {"EXPERIMENT_DIR": awkward, "CELL": None}
    for bad in (object(), float("nan"), [1, {"k": object()}]):
        with pytest.raises(ReportError, match="parameter X"):
            inject_parameters(nb, {"X": bad})


def test_parameters_go_first_without_a_tagged_cell():
    nb = _parameters_notebook()
    nb.cells[1].metadata = {}
    inject_parameters(nb, {"EXPERIMENT_DIR": "x"})
    assert nb.cells[0].metadata["tags"] == [INJECTED_TAG]


def test_notebooks_are_found_by_name_or_path_and_missing_ones_say_where_they_looked(tmp_path):
    report, sweep = find_notebook("report"), find_notebook("sweep")
    assert report.name == "report.ipynb" and sweep.name == "sweep.ipynb"
    assert find_notebook("report.ipynb") == report
    assert find_notebook(report) == report
    with pytest.raises(ReportError, match="not found.*looked in"):
        find_notebook("no-such-report")
    with pytest.raises(ReportError, match="does not exist"):
        find_notebook(tmp_path / "missing.ipynb")
    assert default_notebook({"cells": [{"cell": "base", "values": {}}]}) == "report"
    assert default_notebook({"cells": [{"cell": "c000"}, {"cell": "c001"}]}) == "sweep"


def test_a_folder_that_is_not_an_analysed_experiment_gets_a_clear_error(tmp_path):
    with pytest.raises(ReportError, match="experiment.json is missing"):
        render_report(tmp_path)
    (tmp_path / "experiment.json").write_text(json.dumps({"arms": ["control", "a"]}))
    with pytest.raises(ReportError, match="siyu analyse"):
        render_report(tmp_path, analyse_if_missing=False)
    (tmp_path / "experiment.json").write_text("{not json")
    with pytest.raises(ReportError, match="experiment.json: not readable as JSON"):
        render_report(tmp_path)


def test_values_are_formatted_in_their_unit_with_the_sign_of_a_difference():
    assert format_value("net_value_per_user", -1234.5, difference=True) == "−¥1,234.50"
    assert format_value("revenue_per_user", 3.0) == "¥3.00"
    assert format_value("churned_share", 0.125) == "12.5%"
    assert format_value("churned_share", 0.012, difference=True) == "+1.2 pp"
    assert format_value("rmst", float("nan")) == "–"


def test_parameter_values_map_to_plot_positions():
    x, ticks = numeric_axis(pd.Series([7, 3, 7]))
    np.testing.assert_array_equal(x, [7, 3, 7])
    assert ticks is None
    x, ticks = numeric_axis(pd.Series(["career", "finance", "career"]))
    np.testing.assert_array_equal(x, [0, 1, 0])
    assert ticks == ["career", "finance"]
