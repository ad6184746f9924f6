"""The policy lab's page (NiceGUI): world → policies → run → verdict → export, and history.

One :class:`LabPage` per browser tab holds what the strategist has chosen; every decision and
every sentence is computed by the plain modules of :mod:`sim.lab` (this module only lays them
out), and long work — rules dry runs, the experiment, the analysis, the laws, the report — runs
off the event loop, so the page stays responsive. ``build_page(settings)`` is the root function
:func:`sim.lab.server.serve` (and the tests) hand to ``ui.run``.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nicegui import run, ui

from sim.errors import ConfigError
from sim.experiment.index import config_hash, read_manifest
from sim.experiment.spec import ExperimentSpec, read_experiment_spec
from sim.lab import history, jobs, policies, verdict, worlds
from sim.lab.charts import band_chart
from sim.lab.i18n import (
    allowed_text,
    param_meaning,
    strategy_label,
    strategy_text,
    tr,
    value_label,
)
from sim.lab.paths import OutsideRoot, confine, relative_to_root
from sim.plots.style import arm_colours
from sim.report import ReportError, render_report
from sim.runs.folder import RunFolderError

TABS = ("world", "policies", "run", "verdict", "export", "history")
BADGE_COLOURS = {verdict.SHIP: "positive", verdict.NO_SHIP: "negative",
                 verdict.INCONCLUSIVE: "warning"}  # fmt: skip
POLL_SECONDS = 0.5
SEGMENT_ROWS = 16
Message = tuple[str, dict[str, Any]]  # shown with tr(), so it follows the language switch


@dataclass(frozen=True)
class LabSettings:
    """What ``siyu lab`` was started with."""

    root: Path
    workers: int = 2


def _columns(lang: str, *keys: tuple[str, str]) -> list[dict[str, Any]]:
    return [{"name": f, "label": tr(k, lang), "field": f, "align": "left"} for f, k in keys]


def default_name() -> str:
    return time.strftime("lab-%Y%m%d-%H%M%S")


class LabPage:
    """One strategist's page: choices, the running job and the opened experiment."""

    def __init__(self, settings: LabSettings) -> None:
        self.settings = settings
        self.root = settings.root
        self.lang = "en"
        self.tab = "world"
        self.world_key = worlds.WorldChoice().key
        self.users, self.days = worlds.DEFAULT_USERS, worlds.DEFAULT_DAYS
        self.world: dict[str, Any] | None = None
        self.world_error: Message | None = None
        self.control = policies.PolicyDraft("blanket", [_strategy("blanket")])
        self.arms = [policies.PolicyDraft("tiered content", [_strategy("tiered_content")])]
        self.unit, self.replications, self.uplift = "user", 3, False
        self.name = default_name()
        self.check_message: Message | None = None
        self.check_ok = False
        self.rules_checks: dict[int, policies.RulesCheck] = {}
        self.job: jobs.LabJob | None = None
        self.run_error: Message | None = None
        self.folder: Path | None = None
        self.verdict: verdict.Verdict | None = None
        self.laws_running: dict[str, str] = {}
        self.report_path: Path | None = None
        self.report_state = ""
        self.zip_dir: Path | None = None
        self.apply_world(refresh=False)

    # ------------------------------------------------------------------ building
    def build(self) -> None:
        ui.add_head_html("<style>.lab-pre{white-space:pre-wrap;font-family:monospace}</style>")
        with ui.header().classes("items-center justify-between bg-slate-800"):
            with ui.column().classes("gap-0"):
                self.title = ui.label().classes("text-xl font-bold")
                self.subtitle = ui.label().classes("text-sm opacity-80")
            self.language = ui.button(on_click=self.toggle_language).props("flat color=white")
            self.language.mark("language")
        self.content = ui.refreshable(self._content)
        self.content()

    def refresh(self) -> None:
        self.content.refresh()

    def t(self, key: str, **values: Any) -> str:
        return tr(key, self.lang, **values)

    def say(self, message: Message) -> str:
        """A message kept as (key, values), in the page's current language."""
        return tr(message[0], self.lang, **message[1])

    def _content(self) -> None:
        self.title.text = self.t("app.title")
        self.subtitle.text = self.t("app.subtitle")
        self.language.text = self.t("app.language")
        ui.page_title(self.t("app.title"))
        with ui.tabs(value=self.tab, on_change=self._tab_changed).classes("w-full") as tabs:
            for name in TABS:
                ui.tab(name, self.t(f"tab.{name}")).mark(f"tab-{name}")
        with ui.tab_panels(tabs, value=self.tab).classes("w-full"):
            for name in TABS:
                with ui.tab_panel(name):
                    getattr(self, f"_{name}_panel")()
        ui.label(self.t("root", root=self.root)).classes("text-xs text-gray-500 px-4")

    def _tab_changed(self, e: Any) -> None:
        self.tab = e.value

    def go(self, tab: str) -> None:
        self.tab = tab
        self.refresh()

    def toggle_language(self) -> None:
        self.lang = "zh" if self.lang == "en" else "en"
        self.refresh()

    def error(self, message: str) -> None:
        ui.label(message).classes("text-negative lab-pre").mark("error")

    # ------------------------------------------------------------------ 1 world
    def apply_world(self, refresh: bool = True) -> None:
        try:
            choice = worlds.WorldChoice.from_key(self.world_key)
            self.world = worlds.world_data(self.root, choice, int(self.users), int(self.days))
            self.world_error = None
        except OutsideRoot as exc:
            self.world, self.world_error = None, ("error.path", {"error": str(exc)})
        except (ConfigError, ValueError, TypeError) as exc:
            self.world, self.world_error = None, ("error.generic", {"error": str(exc)})
        self.rules_checks.clear()
        if refresh:
            self.refresh()

    def _world_options(self) -> dict[str, str]:
        options = {}
        for w in worlds.list_worlds(self.root):
            key = "world.default" if w.kind == worlds.DEFAULT else f"world.{w.kind}"
            options[w.key] = self.t(key, path=w.path)
        if self.world_key not in options:  # a key typed or sent by hand: shown, then refused
            options[self.world_key] = self.world_key
        return options

    def _world_panel(self) -> None:
        ui.label(self.t("world.heading")).classes("text-lg font-bold")
        ui.select(self._world_options(), value=self.world_key, label=self.t("world.choice"),
                  on_change=lambda e: setattr(self, "world_key", e.value)).classes(
            "w-full max-w-xl").mark("world-choice")  # fmt: skip
        with ui.row():
            ui.number(self.t("world.users", low=worlds.MIN_USERS, high=worlds.MAX_USERS),
                      value=self.users, min=worlds.MIN_USERS, max=worlds.MAX_USERS, step=1000,
                      on_change=lambda e: setattr(self, "users", e.value)).classes(
                "w-64").mark("users")  # fmt: skip
            ui.number(self.t("world.days_input", low=worlds.MIN_DAYS, high=worlds.MAX_DAYS),
                      value=self.days, min=worlds.MIN_DAYS, max=worlds.MAX_DAYS, step=10,
                      on_change=lambda e: setattr(self, "days", e.value)).classes(
                "w-64").mark("days")  # fmt: skip
        ui.button(self.t("world.apply"), on_click=lambda: self.apply_world()).mark("apply-world")
        if self.world_error:
            self.error(self.say(self.world_error))
            return
        if self.world is None:
            return
        config = worlds.world_config(self.world)
        choice = worlds.WorldChoice.from_key(self.world_key)
        ui.label(self.t("world.ok")).classes("text-positive")
        ui.label(self.t("world.summary")).classes("text-md font-bold mt-2")
        rows = [{"what": self.t(k if k != "world.twin" else "world.twin_name", path=""),
                 "value": v} for k, v in worlds.summary(config, choice)]  # fmt: skip
        ui.table(columns=[{"name": "what", "label": "", "field": "what", "align": "left"},
                          {"name": "value", "label": "", "field": "value", "align": "right"}],
                 rows=rows).props("dense flat hide-header").mark("world-summary")  # fmt: skip
        self._laws_section(choice)

    def _laws_section(self, choice: worlds.WorldChoice) -> None:
        assert self.world is not None
        ui.label(self.t("laws.heading")).classes("text-md font-bold mt-2")
        key = worlds.laws_key(self.world)
        stored = worlds.read_laws(self.root, self.world)
        state = self.laws_running.get(key, "")
        if state == "running":
            ui.label(self.t("laws.checking")).mark("laws-status")
            ui.timer(1.0, self._laws_poll, once=False)
        elif state:
            self.error(self.t("laws.failed", error=state))
        if stored:
            ui.label(self.t("laws.result", held=stored["held"], total=stored["total"])).classes(
                "text-positive" if stored["passed"] else "text-negative"
            ).mark("laws-status")
            rows = [{"law": f"{r['key']} {r['title']}", "measured": r["shown"],
                     "band": r.get("band") or "—", "status": value_label(r["status"], self.lang)}
                    for r in stored["laws"]]  # fmt: skip
            ui.table(columns=_columns(self.lang, ("law", "laws.law"), ("measured", "laws.measured"),
                                      ("band", "laws.band"), ("status", "laws.status")),
                     rows=rows, pagination=8).props("dense flat")  # fmt: skip
        elif not state:
            unchecked = (
                "laws.unchecked" if choice.kind == worlds.DEFAULT else "laws.unchecked_other"
            )
            ui.label(self.t(unchecked)).mark("laws-status")
        if state != "running":
            ui.button(self.t("laws.check"), on_click=self.check_laws).props("outline").mark(
                "check-laws")  # fmt: skip

    def check_laws(self) -> None:
        if self.world is None:
            return
        data, key = self.world, worlds.laws_key(self.world)
        self.laws_running[key] = "running"

        def work() -> None:
            try:
                worlds.check_laws(self.root, data)
                self.laws_running.pop(key, None)
            except Exception as exc:  # shown on the page
                self.laws_running[key] = f"{type(exc).__name__}: {exc}"

        threading.Thread(target=work, daemon=True, name="lab-laws").start()
        self.refresh()

    def _laws_poll(self) -> None:
        if self.world is not None and self.laws_running.get(worlds.laws_key(self.world)) != (
            "running"
        ):
            self.refresh()

    # ------------------------------------------------------------------ 2 policies
    def _policies_panel(self) -> None:
        ui.label(self.t("pol.heading")).classes("text-lg font-bold")
        with ui.row().classes("w-full items-start gap-4"):
            self._policy_card(0, self.control, self.t("pol.control"))
            for i, arm in enumerate(self.arms, start=1):
                self._policy_card(i, arm, self.t("pol.arm", n=i))
            if len(self.arms) < policies.MAX_ARMS:
                ui.button(self.t("pol.add_arm"), icon="add", on_click=self.add_arm).props(
                    "outline").mark("add-arm")  # fmt: skip
        self._design_section()

    def _policy(self, index: int) -> policies.PolicyDraft:
        return self.control if index == 0 else self.arms[index - 1]

    def add_arm(self) -> None:
        if len(self.arms) < policies.MAX_ARMS:
            self.arms.append(policies.PolicyDraft(f"policy {len(self.arms) + 1}",
                                                  [_strategy("none")]))  # fmt: skip
            self._changed()

    def remove_arm(self, index: int) -> None:
        if len(self.arms) > 1:
            del self.arms[index - 1]
            self.rules_checks.clear()
            self._changed()

    def _changed(self) -> None:
        self.check_message, self.check_ok = None, False
        self.refresh()

    def _policy_card(self, index: int, draft: policies.PolicyDraft, title: str) -> None:
        colour = arm_colours(["control", *policies.ARM_KEYS])[
            (["control", *policies.ARM_KEYS])[index]
        ]
        with (
            ui.card()
            .classes("w-80 shrink-0")
            .style(f"border-top: 4px solid {colour}")
            .mark(f"policy-{index}")
        ):
            ui.label(title).classes("text-md font-bold")
            ui.input(self.t("pol.label"), value=draft.label,
                     on_change=lambda e: setattr(draft, "label", e.value)).classes(
                "w-full").mark(f"label-{index}")  # fmt: skip
            if not draft.strategies:
                ui.label(self.t("pol.no_strategy")).classes("text-sm text-gray-600")
            for j, strategy in enumerate(draft.strategies):
                self._strategy_form(index, j, draft, strategy)
            ui.button(self.t("pol.add_strategy"), icon="add",
                      on_click=lambda: (draft.strategies.append(_strategy("none")),
                                        self._changed())).props("flat dense").mark(
                f"add-strategy-{index}")  # fmt: skip
            self._rules_editor(index, draft)
            if index > 0 and len(self.arms) > 1:
                ui.button(self.t("pol.remove_arm"), on_click=lambda: self.remove_arm(index)).props(
                    "flat dense color=negative").mark(f"remove-arm-{index}")  # fmt: skip

    def _strategy_form(
        self, index: int, j: int, draft: policies.PolicyDraft, strategy: dict[str, Any]
    ) -> None:
        names = {n: strategy_label(n, self.lang) for n in policies.strategy_names()
                 if n != "rules"}  # fmt: skip

        def pick(e: Any) -> None:
            strategy.update(name=e.value, params=policies.default_params(e.value))
            self._changed()

        with ui.column().classes("w-full border rounded p-2 gap-1"):
            with ui.row().classes("w-full items-center no-wrap"):
                ui.select(
                    names, value=strategy["name"], label=self.t("pol.strategy"), on_change=pick
                ).classes("grow").mark(f"strategy-{index}-{j}")
                ui.button(icon="delete", on_click=lambda: (draft.strategies.pop(j),
                                                           self._changed())).props(
                    "flat dense round").tooltip(self.t("pol.remove"))  # fmt: skip
            english = policies.strategy_description(strategy["name"])
            ui.label(strategy_text(strategy["name"], english, self.lang)).classes(
                "text-xs text-gray-600")  # fmt: skip
            for f in policies.strategy_form(strategy["name"]):
                self._param_input(index, j, strategy, f)

    def _param_input(
        self, index: int, j: int, strategy: dict[str, Any], f: policies.FormField
    ) -> None:
        params = strategy.setdefault("params", {})
        value = params.get(f.name, f.default)
        name = strategy["name"]

        def problem(v: Any) -> str | None:
            return policies.check_params(name, {f.name: policies.read_field(f, v)}).get(f.name)

        def store(e: Any) -> None:
            params[f.name] = policies.read_field(f, e.value)
            self.check_message, self.check_ok = None, False

        shown = allowed_text(f.allowed, f.choices, self.lang)
        allowed = self.t("pol.allowed", allowed=shown) if f.allowed else ""
        hint = self.t("pol.param_hint", type=f.type_name, allowed=allowed, default=f.default)
        mark = f"param-{index}-{j}-{f.name}"
        if f.kind == "bool":
            ui.switch(f.name, value=bool(value), on_change=store).mark(mark)
        elif f.kind == "choice":
            ui.select(list(f.choices), value=value, label=f.name, on_change=store).classes(
                "w-full").mark(mark)  # fmt: skip
        elif f.kind in ("int", "float"):
            ui.number(f.name, value=value, min=f.low, max=f.high, on_change=store,
                      validation=problem).classes("w-full").mark(mark)  # fmt: skip
        else:
            shown = ", ".join(map(str, value)) if isinstance(value, list | tuple) else value
            ui.input(f.name, value="" if shown is None else str(shown), on_change=store,
                     validation=problem).classes("w-full").mark(mark)  # fmt: skip
        meaning = param_meaning(name, f.name, f.meaning, self.lang)
        ui.label(f"{meaning} — {hint}").classes("text-xs text-gray-600 -mt-1")

    def _rules_editor(self, index: int, draft: policies.PolicyDraft) -> None:
        ui.label(self.t("pol.rules")).classes("text-sm font-bold mt-2")
        ui.label(self.t("pol.rules_help")).classes("text-xs text-gray-600")
        result = ui.column().classes("w-full gap-1")

        async def changed(e: Any) -> None:
            draft.rules_text = e.value or ""
            self.check_message, self.check_ok = None, False
            world = self.world or {}
            self.rules_checks[index] = await run.io_bound(
                policies.check_rules_text, draft.rules_text, world)  # fmt: skip
            if result.is_deleted:  # the page was re-rendered meanwhile; it shows the new check
                return
            result.clear()
            with result:
                self._rules_result(index)

        ui.textarea(value=draft.rules_text, on_change=changed).props(
            "outlined autogrow debounce=400 input-class=font-mono").classes("w-full").mark(
            f"rules-{index}")  # fmt: skip
        with result:
            self._rules_result(index)

    def _rules_result(self, index: int) -> None:
        checked = self.rules_checks.get(index)
        if checked is None:
            return
        if not checked.ok:
            key = "pol.rules_error" if checked.line else "pol.rules_error_nopos"
            self.error(self.t(key, line=checked.line, column=checked.column, error=checked.error))
            return
        if not checked.counts:
            ui.label(self.t("pol.rules_empty")).classes("text-xs").mark(f"rules-ok-{index}")
            return
        ui.label(self.t("pol.rules_ok")).classes("text-positive text-xs").mark(f"rules-ok-{index}")
        rows = [{"rule": c.name, "schedule": c.schedule, "selected": f"{c.selected:,}",
                 "reachable": f"{c.reachable:,}", "warnings": "; ".join(c.warnings)}
                for c in checked.counts]  # fmt: skip
        ui.table(columns=_columns(self.lang, ("rule", "pol.rule"), ("schedule", "pol.schedule"),
                                  ("selected", "pol.selected"), ("reachable", "pol.reachable"),
                                  ("warnings", "pol.warnings")),
                 rows=rows).props("dense flat").classes("w-full text-xs")  # fmt: skip

    def _design_section(self) -> None:
        ui.label(self.t("pol.design")).classes("text-lg font-bold mt-4")
        with ui.row().classes("items-end gap-6"):
            ui.input(self.t("pol.name"), value=self.name,
                     on_change=lambda e: setattr(self, "name", e.value)).classes("w-72").mark(
                "name")  # fmt: skip
            ui.radio({u: self.t(f"pol.unit.{u}") for u in policies.UNITS}, value=self.unit,
                     on_change=lambda e: setattr(self, "unit", e.value)).props("inline").mark(
                "unit")  # fmt: skip
            ui.number(self.t("pol.replications", max=policies.MAX_REPLICATIONS),
                      value=self.replications, min=1, max=policies.MAX_REPLICATIONS, step=1,
                      on_change=lambda e: setattr(self, "replications", e.value)).classes(
                "w-48").mark("replications")  # fmt: skip
            ui.checkbox(
                self.t("pol.uplift"),
                value=self.uplift,
                on_change=lambda e: setattr(self, "uplift", e.value),
            ).mark("uplift")
        ui.button(self.t("pol.check"), on_click=self.check_experiment).mark("check")
        if self.check_message:
            css = "text-positive" if self.check_ok else "text-negative lab-pre"
            ui.label(self.say(self.check_message)).classes(css).mark("check-result")

    def experiment(self) -> tuple[dict[str, Any], ExperimentSpec]:
        """The experiment the page describes, validated as a file would be."""
        if self.world is None:
            raise ConfigError(self.say(self.world_error or ("run.need_world", {})))
        jobs.experiment_paths(self.root, self.name)  # the name is checked before anything
        reps = self.replications
        reps = int(reps) if isinstance(reps, int | float) and float(reps).is_integer() else reps
        data = policies.experiment_data(self.name, self.world, self.control, self.arms,
                                        self.unit, reps, bool(self.uplift))  # fmt: skip
        return data, policies.validate_experiment(data)

    def check_experiment(self) -> None:
        try:
            _, spec = self.experiment()
            n_arms = len(spec.arm_names)
            runs = n_arms * spec.replications
            self.check_message = ("pol.valid", {"runs": runs, "arms": n_arms,
                                                "reps": spec.replications})  # fmt: skip
            self.check_ok = True
        except (ConfigError, ValueError, TypeError) as exc:
            self.check_message, self.check_ok = ("pol.invalid", {"error": str(exc)}), False
        self.refresh()

    # ------------------------------------------------------------------ 3 run
    def _run_panel(self) -> None:
        ui.label(self.t("run.heading")).classes("text-lg font-bold")
        busy = self.job is not None and not self.job.finished
        with ui.row():
            ui.button(self.t("run.start"), icon="play_arrow", on_click=self.start_run).props(
                "color=primary" + (" disable" if busy else "")).mark("run")  # fmt: skip
            if busy:
                ui.button(self.t("run.cancel"), icon="stop", on_click=self.cancel_run).props(
                    "color=negative outline").mark("cancel")  # fmt: skip
        if self.run_error:
            self.error(self.say(self.run_error))
        if self.job is None:
            return
        self.overall = ui.label("").mark("run-overall")
        self.state_label = ui.label("").mark("run-state")
        self.bar = ui.linear_progress(value=0, show_value=False).classes("w-full")
        self.run_table = ui.table(
            columns=_columns(self.lang, ("run", "run.run"), ("arm", "run.policy"),
                             ("replication", "run.replication"), ("days", "run.days"),
                             ("status", "run.status"), ("error", "run.error")),
            rows=[], row_key="run",
        ).props("dense flat").classes("w-full").mark("run-table")  # fmt: skip
        ui.label(self.t("run.where", folder=self.job.folder)).classes("text-xs text-gray-600")
        self._show_progress()
        if busy:
            self.poller = ui.timer(POLL_SECONDS, self._poll)

    def start_run(self) -> None:
        if self.job is not None and not self.job.finished:
            return
        self.run_error = None
        try:
            data, _ = self.experiment()
            self.job = jobs.start_job(self.root, self.name, policies.experiment_yaml(data),
                                      self.settings.workers)  # fmt: skip
        except (ConfigError, ValueError, TypeError, OSError) as exc:
            self.run_error = ("run.state.failed", {"error": str(exc)})
        self.go("run")

    def cancel_run(self) -> None:
        if self.job is not None:
            self.job.cancel()

    def _show_progress(self) -> None:
        assert self.job is not None
        snap = self.job.snapshot()
        labels = {"control": self.control.label or "control"}
        labels.update({k: a.label or k for k, a in zip(policies.ARM_KEYS, self.arms, strict=False)})
        self.overall.text = self.t("run.overall", done=snap["finished_runs"],
                                   total=len(snap["runs"]), elapsed=snap["elapsed_s"])  # fmt: skip
        state = snap["state"]
        self.state_label.text = self.t(
            f"run.state.{state}",
            error=snap["error"],
            elapsed=snap["elapsed_s"],
            folder=snap["folder"],
        )
        self.state_label.classes(replace="text-negative lab-pre" if state == jobs.FAILED else "")
        self.bar.value = round(snap["fraction"], 3)
        self.run_table.rows = [{
            "run": r.run_id, "arm": labels.get(r.arm, r.arm), "replication": r.replication + 1,
            "days": f"{r.days} / {self.job.horizon}", "status": self.t(f"status.{r.status}"),
            "error": r.error,
        } for r in snap["runs"]]  # fmt: skip
        self.run_table.update()

    async def _poll(self) -> None:
        if self.job is None:
            return
        self._show_progress()
        if not self.job.finished:
            return
        self.poller.cancel()
        if self.job.state == jobs.DONE:
            await self.open_experiment(self.job.folder, tab="verdict")
        else:
            self.refresh()

    # ------------------------------------------------------------------ 4 verdict
    async def open_experiment(self, folder: Path, tab: str = "verdict") -> None:
        try:
            self.verdict = await run.io_bound(verdict.build_verdict, folder)
            self.folder = folder
            self.report_path, self.report_state = None, ""
        except (RunFolderError, OSError, ValueError, KeyError) as exc:
            self.run_error = ("error.generic", {"error": str(exc)})
            tab = "run"
        self.go(tab)

    def _verdict_panel(self) -> None:
        v = self.verdict
        if v is None:
            ui.label(self.t("verdict.none")).mark("verdict-none")
            return
        cfg = v.report.config
        unit = value_label(cfg.get("randomisation", {}).get("unit", "user"), self.lang)
        ui.label(self.t("verdict.experiment", name=v.report.manifest.get("name"), days=v.days,
                        reps=v.replications, unit=unit)).classes("text-lg font-bold")  # fmt: skip
        for a in v.arms:
            with (
                ui.card()
                .classes("w-full")
                .style(f"border-left: 6px solid {a.colour}")
                .mark(f"verdict-{a.arm}")
            ):
                with ui.row().classes("items-center gap-3"):
                    badge = ui.badge(self.t(f"badge.{a.decision}"), color=BADGE_COLOURS[a.decision])
                    badge.classes("text-md px-3 py-1").mark(f"badge-{a.arm}")
                    ui.label(a.label).classes("text-lg font-bold").style(f"color: {a.colour}")
                ui.label(verdict.sentence(v, a, self.lang)).mark(f"sentence-{a.arm}")
                ui.table(columns=_columns(self.lang, ("metric", "col.metric"),
                                          ("control", "col.control"), ("arm", "col.arm"),
                                          ("difference", "col.difference"), ("prob", "col.prob"),
                                          ("loss", "col.loss")),
                         rows=verdict.table_rows(a, self.lang)).props("dense flat").classes(
                    "w-full").mark(f"table-{a.arm}")  # fmt: skip
        ui.label(verdict.rule_text(v, self.lang)).classes("text-sm text-gray-700 mt-2").mark(
            "rule")  # fmt: skip
        labels = v.report.labels
        with ui.grid(columns=3).classes("w-full gap-2"):
            for name, key, percent in (("retention", "chart.retention", True),
                                       ("ltv", "chart.ltv", False),
                                       ("survival", "chart.survival", True)):  # fmt: skip
                options = band_chart(self.t(key), verdict.curve_bands(v, name), labels,
                                     v.colours, self.t("chart.day"), percent)  # fmt: skip
                ui.echart(options).classes("w-full h-80").mark(f"chart-{name}")
        ui.label(self.t("segments.heading")).classes("text-md font-bold mt-2")
        rows = verdict.segment_rows(v, self.lang)[:SEGMENT_ROWS]
        ui.table(columns=_columns(self.lang, ("arm", "col.arm"), ("segment", "col.segment"),
                                  ("value", "col.value"), ("users", "col.users"),
                                  ("difference", "col.effect"), ("interval", "col.interval")),
                 rows=rows).props("dense flat").classes("w-full").mark("segments")  # fmt: skip

    # ------------------------------------------------------------------ 5 export
    def experiment_text(self) -> tuple[str, str]:
        """(file name, YAML) of the opened experiment: the lab's own file when it is still the
        one the folder was run from, else the folder's full resolved config."""
        assert self.folder is not None
        manifest = read_manifest(self.folder) or {}
        name = str(manifest.get("name", self.folder.name))
        source = manifest.get("config_source", "")
        try:
            path = confine(self.root, source)
            if config_hash(read_experiment_spec(path)) == manifest.get("config_hash"):
                return f"{name}.yaml", path.read_text(encoding="utf-8")
        except (ConfigError, OSError):
            pass
        return f"{name}.yaml", policies.experiment_yaml(manifest.get("config", {}))

    def _export_panel(self) -> None:
        ui.label(self.t("export.heading")).classes("text-lg font-bold")
        if self.folder is None:
            ui.label(self.t("verdict.none"))
            return
        filename, text = self.experiment_text()
        ui.label(self.t("export.yaml")).classes("font-bold")
        ui.code(text, language="yaml").classes("w-full max-h-96 overflow-auto").mark("yaml")
        ui.button(self.t("export.download_yaml"), icon="download",
                  on_click=lambda: ui.download.content(text, filename)).mark(
            "download-yaml")  # fmt: skip
        rel = relative_to_root(self.root, self.folder)
        ui.label(self.t("export.command")).classes("mt-2")
        ui.label(f"siyu run {filename} --out {rel}-again").classes("lab-pre text-sm")
        ui.label(self.t("export.folder", folder=self.folder)).classes("mt-2").mark("folder")
        ui.button(
            self.t("export.download_folder"), icon="folder_zip", on_click=self.download_folder
        ).props("outline").mark("download-folder")
        with ui.row().classes("items-center mt-2"):
            ui.button(self.t("export.report"), icon="description",
                      on_click=self.make_report).props(
                "outline" + (" disable" if self.report_state == "making" else "")).mark(
                "make-report")  # fmt: skip
            if self.report_state == "making":
                ui.spinner()
                ui.label(self.t("export.report_making"))
        if self.report_state and self.report_state not in ("making", "ready"):
            self.error(self.t("error.generic", error=self.report_state))
        if self.report_path is not None:
            ui.label(self.t("export.report_ready", path=self.report_path)).mark("report")
            path = self.report_path
            ui.button(
                self.t("export.download_report"),
                icon="download",
                on_click=lambda: ui.download.file(path),
            ).props("outline")

    async def make_report(self) -> None:
        folder = self.folder
        if folder is None:
            return
        self.report_state = "making"
        self.refresh()
        try:
            self.report_path = await run.io_bound(render_report, folder, overwrite=True)
            self.report_state = "ready"
        except (ReportError, RunFolderError, OSError) as exc:
            self.report_state = str(exc) or type(exc).__name__
        self.refresh()

    def download_folder(self) -> None:
        assert self.folder is not None
        if self.zip_dir is not None:  # the previous archive of this page
            shutil.rmtree(self.zip_dir, ignore_errors=True)
        self.zip_dir = Path(tempfile.mkdtemp(prefix="siyu-lab-"))
        archive = shutil.make_archive(str(self.zip_dir / self.folder.name), "zip", self.folder)
        ui.download.file(archive, f"{self.folder.name}.zip")

    # ------------------------------------------------------------------ history
    def _history_panel(self) -> None:
        ui.label(self.t("history.heading")).classes("text-lg font-bold")
        past = history.list_experiments(self.root)
        if not past:
            ui.label(self.t("history.none")).mark("history-none")
            return
        for e in past:
            with (
                ui.row()
                .classes("w-full items-center border-b py-1 gap-4")
                .mark(f"history-{e.name}")
            ):
                ui.button(self.t("history.open"), on_click=lambda e=e: self.reopen(e.path)).props(
                    "dense outline" + ("" if e.analysed else " disable")).mark(
                    f"open-{e.name}")  # fmt: skip
                ui.label(e.name).classes("font-bold w-56")
                ui.label(e.started).classes("w-44 text-sm")
                ui.label(value_label(e.status, self.lang)).classes("w-32 text-sm")
                ui.label(" · ".join(e.arms)).classes("text-sm")
                ui.label(e.path).classes("text-xs text-gray-500")

    async def reopen(self, rel: str) -> None:
        try:
            folder = confine(self.root, rel)
            manifest = read_manifest(folder)
            if manifest is None:
                raise ConfigError(f"{rel}: not an experiment folder")
            spec = ExperimentSpec.model_validate(manifest["config"])
        except (ConfigError, ValueError) as exc:
            self.run_error = ("error.path", {"error": str(exc)})
            self.go("history")
            return
        self.control, self.arms = policies.drafts_from_spec(spec)
        self.arms = self.arms[: policies.MAX_ARMS]
        self.unit, self.replications = spec.randomisation.unit, spec.replications
        self.rules_checks.clear()
        await self.open_experiment(folder)
        ui.notify(self.t("history.opened", name=spec.name))


def _strategy(name: str) -> dict[str, Any]:
    return {"name": name, "params": policies.default_params(name)}


def build_page(settings: LabSettings) -> Any:
    """The root function for ``ui.run``: a fresh :class:`LabPage` per browser tab."""

    def root() -> None:
        LabPage(settings).build()

    return root
